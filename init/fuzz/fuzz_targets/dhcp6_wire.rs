//! DHCPv6 codec: untrusted bytes never panic (the packet, and every typed
//! accessor a client uses on it), what parses survives emit → parse
//! unchanged, and an IA_NA that parses survives its own emit → parse.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/dhcp6/wire.rs"]
mod wire;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = wire::Packet::new_checked(data) else {
        return;
    };
    let Ok(r) = wire::Repr::parse(&p) else {
        return;
    };
    let _ = (
        r.client_id(),
        r.server_id(),
        r.oro(),
        r.preference(),
        r.status(),
        r.dns_servers(),
        r.domain_list(),
        r.bootfile_url(),
        r.bootfile_params(),
        r.rapid_commit(),
    );
    let bytes = r.to_vec();
    assert_eq!(bytes.len(), r.buffer_len());
    // Our own emit is the input again: options are kept raw and in order.
    assert_eq!(bytes, data);
    let back = wire::Repr::parse(&wire::Packet::new_checked(&bytes[..]).expect("own packet"))
        .expect("own packet parses");
    assert_eq!(r, back);
    for (code, d) in &r.options {
        if *code == wire::opt::IA_NA {
            if let Ok(ia) = wire::IaNa::parse(d) {
                let _ = ia.usable();
                let again = wire::IaNa::parse(&ia.to_vec()).expect("own IA_NA parses");
                assert_eq!(ia, again);
            }
        }
    }
});

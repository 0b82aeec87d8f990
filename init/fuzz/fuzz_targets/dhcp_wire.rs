//! DHCP codec: untrusted bytes never panic, and what parses survives
//! emit → parse unchanged (the Repr is already normalised: options joined,
//! overload resolved).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../src/dhcp/wire.rs"]
mod wire;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = wire::Packet::new_checked(data) else {
        return;
    };
    let Ok(r) = wire::Repr::parse(&p) else {
        return;
    };
    // Names longer than the fixed fields are cut on emit; skip those.
    if r.sname.len() > 63 || r.file.len() > 127 || r.sname.contains('\0') || r.file.contains('\0') {
        return;
    }
    let bytes = r.to_vec();
    assert_eq!(bytes.len(), r.buffer_len());
    let back = wire::Repr::parse(&wire::Packet::new_checked(&bytes[..]).expect("own packet"))
        .expect("own packet parses");
    let mut r = r;
    // Overload (option 52) is consumed by the first parse, emitted as is.
    r.options.remove(&wire::opt::OVERLOAD);
    let mut back = back;
    back.options.remove(&wire::opt::OVERLOAD);
    assert_eq!(r, back);
});

//! TFTP codec: untrusted bytes never panic, and what parses survives
//! emit → parse unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/tftp/wire.rs"]
mod wire;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = wire::Packet::new_checked(data) else {
        return;
    };
    let Ok(r) = wire::Repr::parse(&p) else {
        return;
    };
    let mut buf = vec![0u8; r.buffer_len()];
    r.emit(&mut wire::Packet::new_unchecked(&mut buf[..]));
    let back = wire::Repr::parse(&wire::Packet::new_checked(&buf[..]).expect("own packet"))
        .expect("own packet parses");
    assert_eq!(r, back);
});

//! minisign public keys: any text → netboot-image's
//! `trust::parse_public_key` (what `netboot-image build --trust-key`
//! checks) and pxeinit's `verify::Trust::add` (what the PID 1 trusts)
//! never panic, and agree: a key the image builder accepts is a key
//! pxeinit can use, under the same id. Round trip: 40 bytes from the input
//! as a key ("Ed", id, Ed25519 key) → base64 → `minisign -G`'s file format
//! (and a bare key line) → parsed back to the same id, trusted under
//! `key_id_hex(id)`, which reads back as the little-endian id.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netboot_image::trust as keyfmt;

#[allow(dead_code)]
#[path = "../../src/verify.rs"]
mod verify;

fn base64(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = c.iter().enumerate().fold(0u32, |n, (i, &x)| n | (x as u32) << (16 - 8 * i));
        for i in 0..4 {
            s.push(if i <= c.len() { A[(n >> (18 - 6 * i)) as usize & 63] as char } else { '=' });
        }
    }
    s
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = keyfmt::parse_public_key(&text);
    let mut t = verify::Trust::default();
    let added = t.add(&text);
    match (&parsed, &added) {
        (Ok(k), Ok(())) => assert_eq!(t.ids(), [keyfmt::key_id_hex(&k.id)]),
        (Err(_), Err(_)) => assert!(!t.is_on()),
        _ => panic!("netboot-image {parsed:?}, pxeinit {added:?}"),
    }

    // Round trip.
    let Some(raw) = data.first_chunk::<40>() else {
        return;
    };
    let mut key = b"Ed".to_vec();
    key.extend_from_slice(raw);
    let id: [u8; 8] = raw[..8].try_into().unwrap();
    let hex = keyfmt::key_id_hex(&id);
    assert_eq!(u64::from_str_radix(&hex, 16).unwrap().to_le_bytes(), id);
    let line = base64(&key);
    for text in [
        format!("untrusted comment: minisign public key {hex}\n{line}\n"),
        format!("\r\n  {line}  \r\n"),
    ] {
        let k = keyfmt::parse_public_key(&text).unwrap();
        assert_eq!((k.id, k.base64.as_str()), (id, line.as_str()));
        let mut t = verify::Trust::default();
        t.add(&text).unwrap();
        t.add(&text).unwrap();
        assert_eq!(t.ids(), [hex.clone()]);
    }
    // "ED" (the prehashed signature algorithm) is not a public key.
    key[1] = b'D';
    assert!(keyfmt::parse_public_key(&base64(&key)).is_err());
});

//! HTTP chunked bodies (`http::Chunked`): any bytes, read through reads of
//! a size taken from the input under a limit taken from the input, never
//! panic, never yield more than the limit, and stay at end once ended.
//! Round trip: a body and a chunking generated from the input (chunk
//! sizes, leading zeros and upper-case hex, extensions, trailers; one size
//! line and one trailer up to ~6,000 bytes) encode → decode to the same
//! body, or to an error when a line is longer than the decoder takes;
//! never to other bytes. A limit
//! one byte below the body is refused.
#![no_main]
use std::io::{self, Cursor, Read};

use libfuzzer_sys::fuzz_target;

/// `dns::resolve_a` (never called here) draws its query ids from this.
mod dhcp {
    pub fn random_u32(_mix: &[u8]) -> u32 {
        0
    }
}

/// The boot interface's scope for link-local servers (none here).
mod net6 {
    pub fn scoped(addr: std::net::SocketAddr) -> std::net::SocketAddr {
        addr
    }
}

#[allow(dead_code)]
#[path = "../../src/dns.rs"]
mod dns;

#[allow(dead_code)]
#[path = "../../src/http.rs"]
mod http;

/// The longest chunk-size or trailer line, with its CRLF, that the decoder
/// must take.
const LINE: usize = 4096;

/// Decode `wire` with reads of at most `step` bytes.
fn decode(wire: &[u8], limit: u64, step: usize) -> io::Result<Vec<u8>> {
    let mut c = http::Chunked::with_limit(Cursor::new(wire), limit);
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        match c.read(&mut buf)? {
            0 => break,
            n => {
                assert!(n <= step);
                out.extend_from_slice(&buf[..n]);
                assert!(out.len() as u64 <= limit, "more than the limit");
            }
        }
    }
    // Ended stays ended.
    assert_eq!(c.read(&mut buf).unwrap(), 0);
    Ok(out)
}

/// Filler text of `n` bytes (visible ASCII but `;`, cycled from `src`).
fn filler(src: &[u8], n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| {
            let b = src.get(i % src.len().max(1)).copied().unwrap_or(0);
            match 0x21 + b.wrapping_add(i as u8) % 94 {
                b';' => b'x',
                c => c,
            }
        })
        .collect()
}

/// A body and its chunked encoding, from the input; and whether every
/// line fits in [`LINE`]. The parameters are the last 4 bytes (the first
/// ones are the raw decode's). One size line (chosen by the input, the
/// last chunk's included) and the first trailer are long: up to ~6,000
/// bytes of leading zeros and extension, or of value, past [`LINE`] or
/// not; the other lines are short.
fn generated(data: &[u8]) -> Option<(Vec<u8>, Vec<u8>, bool)> {
    let (rest, &[ncs, ext, zeros, flags]) = data.split_last_chunk::<4>()?;
    let chunks = (ncs % 16) as usize;
    let long = (ncs >> 4) as usize;
    let mut wire = Vec::new();
    let mut body = Vec::new();
    let mut fits = true;
    let mut at = 0;
    let line = |wire: &mut Vec<u8>, size: usize, i: usize, long: bool| {
        let start = wire.len();
        let z = if long { zeros as usize * 24 } else { zeros as usize % 4 };
        wire.extend(std::iter::repeat_n(b'0', z));
        let hex = if flags & 1 != 0 {
            format!("{size:X}")
        } else {
            format!("{size:x}")
        };
        wire.extend_from_slice(hex.as_bytes());
        if ext & 0x80 != 0 && (long || i % 2 == 0) {
            wire.push(b';');
            let e = if long { (ext & 0x7f) as usize * 48 } else { ext as usize % 8 };
            wire.extend(filler(rest, e));
        }
        wire.extend_from_slice(b"\r\n");
        wire.len() - start <= LINE
    };
    let mut i = 0;
    while i < chunks {
        let size = rest.get(i).copied().unwrap_or(1).max(1) as usize;
        let chunk = rest.get(at..(at + size).min(rest.len())).unwrap_or_default();
        if chunk.is_empty() {
            break;
        }
        at += chunk.len();
        fits &= line(&mut wire, chunk.len(), i, i == long);
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
        body.extend_from_slice(chunk);
        i += 1;
    }
    fits &= line(&mut wire, 0, i, long >= i);
    for t in 0..(flags >> 5) as usize {
        let start = wire.len();
        wire.extend_from_slice(format!("X-Trailer-{t}: v").as_bytes());
        if t == 0 {
            wire.extend(filler(rest, (flags as usize & 0x1e) * 200));
        }
        wire.extend_from_slice(b"\r\n");
        fits &= wire.len() - start <= LINE;
    }
    wire.extend_from_slice(b"\r\n");
    Some((body, wire, fits))
}

fuzz_target!(|data: &[u8]| {
    // Raw: [step, limit lo, limit hi] then the wire bytes.
    if let Some((&[step, lo, hi], wire)) = data.split_first_chunk::<3>() {
        let limit = match u16::from_le_bytes([lo, hi]) {
            u16::MAX => u64::MAX,
            l => l as u64,
        };
        let _ = decode(wire, limit, step.max(1) as usize);
    }
    // Round trip.
    if let Some((body, wire, fits)) = generated(data) {
        let step = (data[0] as usize % 61) + 1;
        match decode(&wire, u64::MAX, step) {
            Ok(back) => assert_eq!(back, body, "decoded other bytes"),
            Err(e) => assert!(!fits, "own encoding refused: {e}"),
        }
        if fits {
            assert_eq!(decode(&wire, body.len() as u64, 4096).unwrap(), body);
            if !body.is_empty() {
                assert!(decode(&wire, body.len() as u64 - 1, 4096).is_err());
            }
        }
    }
});

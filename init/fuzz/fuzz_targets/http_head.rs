//! HTTP response head: any bytes → `http::read_head` (what `get` does with
//! what a server sends before the body) never panics and, when it parses,
//! stops exactly after the first empty line; the body behind it, framed as
//! `get` frames it (chunked, or `Content-Length`), reads without a panic
//! and within the limit; a parsed `Head` survives emit → parse unchanged.
//! The same emit → parse for a `Head` generated from the input, with long
//! reasons and `Location`s (up to 9,000 bytes, past one 8 KiB read), which
//! raw inputs rarely reach.
#![no_main]
use std::io::{Cursor, Read};

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

use http::Head;

const LIMIT: u64 = 1 << 20;
const MAX_HEAD: usize = 64 * 1024;

/// The offset just after the first empty line (`\n` or `\r\n`), if any.
fn first_empty_line_end(data: &[u8]) -> Option<usize> {
    let mut start = 0;
    while start < data.len() {
        let nl = start + data[start..].iter().position(|&b| b == b'\n')?;
        if matches!(&data[start..nl], b"" | b"\r") {
            return Some(nl + 1);
        }
        start = nl + 1;
    }
    None
}

fn emit(h: &Head) -> Vec<u8> {
    let mut s = format!("HTTP/1.1 {} {}\r\n", h.status, h.reason);
    if let Some(n) = h.content_length {
        s += &format!("Content-Length: {n}\r\n");
    }
    if h.chunked {
        s += "Transfer-Encoding: chunked\r\n";
    }
    if let Some(l) = &h.location {
        s += &format!("Location: {l}\r\n");
    }
    if let Some(r) = h.retry_after {
        s += &format!("Retry-After: {r}\r\n");
    }
    s += "\r\n";
    s.into_bytes()
}

/// emit → read_head gives `h` back and stops at the end of the head.
fn round_trip(h: &Head) {
    let text = emit(h);
    let mut r = Cursor::new(&text[..]);
    match http::read_head(&mut r) {
        Ok(back) => {
            assert_eq!(&back, h);
            assert_eq!(r.position() as usize, text.len(), "head ends at its empty line");
        }
        Err(e) => assert!(text.len() > MAX_HEAD, "own head refused: {e}"),
    }
}

/// Read the body as `get` does (without the network).
fn body(h: &Head, r: Cursor<&[u8]>) {
    let mut buf = [0u8; 4096];
    let mut got = 0u64;
    if h.chunked {
        let mut c = http::Chunked::with_limit(r, LIMIT);
        loop {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n as u64,
            }
            assert!(got <= LIMIT);
        }
    } else if let Some(len) = h.content_length {
        let mut t = r.take(len);
        while let Ok(n @ 1..) = t.read(&mut buf) {
            got += n as u64;
        }
        assert!(got <= len);
    }
}

/// A `Head` from the input bytes (None when there are too few). The
/// parameters are the last 16 bytes: the first ones are a raw head's.
fn generated(data: &[u8]) -> Option<Head> {
    let (rest, p) = data.split_last_chunk::<16>()?;
    let status = 100 + u16::from_le_bytes([p[0], p[1]]) % 900;
    let reason_len = p[2] as usize;
    let location_len = u16::from_le_bytes([p[3], p[4]]) as usize % 9_000;
    let flags = p[5];
    let content_length = u64::from_le_bytes(p[6..14].try_into().unwrap());
    // Visible ASCII (no spaces: a reason or Location is trimmed), cycled.
    let text = |n: usize, salt: u8| -> String {
        (0..n)
            .map(|i| {
                let b = rest.get(i % rest.len().max(1)).copied().unwrap_or(0);
                (0x21 + (b ^ salt).wrapping_add(i as u8) % 94) as char
            })
            .collect()
    };
    Some(Head {
        status,
        reason: text(reason_len, p[14]),
        content_length: (flags & 1 != 0).then_some(content_length),
        chunked: flags & 2 != 0,
        location: (flags & 4 != 0).then(|| text(location_len, p[15])),
        retry_after: (flags & 8 != 0).then_some(content_length >> 8),
    })
}

fuzz_target!(|data: &[u8]| {
    let mut r = Cursor::new(data);
    if let Ok(h) = http::read_head(&mut r) {
        assert_eq!(
            Some(r.position() as usize),
            first_empty_line_end(data),
            "the head ends at the first empty line"
        );
        assert!((100..1000).contains(&h.status));
        body(&h, r);
        round_trip(&h);
    }
    if let Some(h) = generated(data) {
        round_trip(&h);
    }
});

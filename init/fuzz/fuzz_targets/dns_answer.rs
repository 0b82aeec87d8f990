//! DNS responses (`dns::parse_answer`, `dns::parse_answer_aaaa`): any
//! bytes never panic, and a response is never taken for another query id.
//! Round trip, for A and for AAAA: a name generated from the input gives a
//! query exactly when it is a valid host name (labels of 1 to 63 letters,
//! digits, `-`, `_`; at most 253 bytes); that query turned into a response
//! (other records first: a CNAME, a record of the other family, one of the
//! asked type but class CH; the answer's owner compressed or not) parses
//! to the answer's address (NOERROR), to NotFound (NXDOMAIN) or to nothing
//! (other rcodes), and no truncation of it parses to an address.
#![no_main]
use std::net::{Ipv4Addr, Ipv6Addr};

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

use dns::{Answer, Answer6};

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

/// A name from the input, and whether it is a valid host name.
fn name(flags: u8, rest: &[u8]) -> (String, bool) {
    let mut labels = Vec::new();
    let mut at = 0;
    let mut next = || {
        let b = rest.get(at).copied().unwrap_or(0);
        at += 1;
        b
    };
    for _ in 0..(next() % 8) + 1 {
        let len = match next() {
            l @ 0..=239 => 1 + l as usize % 63,
            l => (l as usize - 240) * 4, // 0 (invalid) to 60
        };
        // One label too long.
        let len = if flags & 0x40 != 0 && labels.is_empty() { 64 } else { len };
        let mut label = String::new();
        for _ in 0..len {
            let b = next();
            if flags & 1 != 0 && b == 0xff {
                label.push(['.', ' ', '*', 'é'][len % 4]);
            } else {
                label.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
        labels.push(label);
    }
    let mut name = labels.join(".");
    if flags & 2 != 0 {
        name.push('.');
    }
    // Trailing dots (an absolute name) are dropped.
    let t = name.trim_end_matches('.');
    let valid = !t.is_empty()
        && t.len() <= 253
        && t.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    (name, valid)
}

fn u16_at(b: &mut Vec<u8>, at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fuzz_target!(|data: &[u8]| {
    // Raw: the response's own id, and another.
    if data.len() >= 2 {
        let id = u16::from_be_bytes([data[0], data[1]]);
        let _ = dns::parse_answer(id, data);
        let _ = dns::parse_answer_aaaa(id, data);
        assert_eq!(dns::parse_answer(id.wrapping_add(1), data), None);
        assert_eq!(dns::parse_answer_aaaa(id.wrapping_add(1), data), None);
    }

    // Round trip, with parameters from the last 8 bytes (the first ones
    // are the raw response's header).
    let Some((rest, &[i0, i1, flags, rcode, a, b, c, d])) = data.split_last_chunk::<8>() else {
        return;
    };
    let id = u16::from_be_bytes([i0, i1]);
    let v6 = flags & 0x20 != 0;
    let ip4 = [a, b, c, d];
    let ip6: [u8; 16] = std::array::from_fn(|i| ip4[i % 4] ^ i as u8);
    let (name, valid) = name(flags, rest);
    let q = if v6 {
        dns::query_aaaa(id, &name)
    } else {
        dns::query(id, &name)
    };
    assert_eq!(q.is_some(), valid, "{name:?}");
    let Some(q) = q else { return };
    let wire_name = &q[12..q.len() - 4];
    assert_eq!(wire_name.len(), name.trim_end_matches('.').len() + 2);
    let (ty, other): (u8, u8) = if v6 { (28, 1) } else { (1, 28) };
    assert_eq!(&q[q.len() - 4..], &[0, ty, 0, 1]);

    let mut r = q.clone();
    let rcode = rcode % 6;
    r[2] |= 0x80;
    r[3] = 0x80 | rcode;
    let others = (flags >> 2) & 3;
    u16_at(&mut r, 6, others as u16 + 1);
    let owner = |r: &mut Vec<u8>, compressed: bool| {
        if compressed {
            r.extend_from_slice(&[0xc0, 12]);
        } else {
            r.extend_from_slice(wire_name);
        }
    };
    // type, class, TTL, length and data of a record.
    let record = |r: &mut Vec<u8>, ty: u8, class: u8, data: &[u8]| {
        r.extend_from_slice(&[0, ty, 0, class, 0, 0, 0, 60, 0, data.len() as u8]);
        r.extend_from_slice(data);
    };
    let addr = |ty: u8| if ty == 28 { &ip6[..] } else { &ip4[..] };
    for i in 0..others {
        owner(&mut r, i % 2 == 0);
        match i {
            0 => record(&mut r, 5, 1, &[1, b'w', 0xc0, 12]),
            1 => record(&mut r, other, 1, addr(other)),
            _ => record(&mut r, ty, 3, addr(ty)),
        }
    }
    owner(&mut r, flags & 0x10 != 0);
    record(&mut r, ty, 1, addr(ty));

    let parse = |b: &[u8]| -> Option<Option<std::net::IpAddr>> {
        if v6 {
            dns::parse_answer_aaaa(id, b).map(|a| match a {
                Answer6::Address(a) => Some(a.into()),
                Answer6::NotFound => None,
            })
        } else {
            dns::parse_answer(id, b).map(|a| match a {
                Answer::Address(a) => Some(a.into()),
                Answer::NotFound => None,
            })
        }
    };
    let ip: std::net::IpAddr = if v6 {
        Ipv6Addr::from(ip6).into()
    } else {
        Ipv4Addr::from(ip4).into()
    };
    let want = match rcode {
        0 => Some(Some(ip)),
        3 => Some(None),
        _ => None,
    };
    assert_eq!(parse(&r), want);
    if rcode == 0 {
        let cut = 12 + (flags as usize * 7 + rest.len()) % (r.len() - 12);
        for n in [r.len() - 1, r.len() - 4, r.len() - 13, cut] {
            assert_ne!(parse(&r[..n]), Some(Some(ip)), "cut at {n}");
        }
    }
});

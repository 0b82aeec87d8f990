//! A stub resolver for A records (RFC 1035), asking the name servers of
//! the DHCP lease (option 6) over UDP, and for AAAA records (RFC 3596)
//! through the IPv6 lease's (DHCPv6 option 23, or the router's RDNSS).
//! Enough to fetch `http://host/...` paths; no caching, no TCP fallback,
//! no search domains.
//!
//! [`query`], [`query_aaaa`], [`parse_answer`] and [`parse_answer_aaaa`]
//! are the pure codec; [`resolve_a`] and [`resolve_aaaa`] the I/O.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A failed lookup.
#[derive(Debug)]
pub enum DnsError {
    /// No name server known.
    NoServers(String),
    /// The name is not a valid host name.
    BadName(String),
    /// The server said the name does not exist, or gave no A record.
    NotFound(String),
    /// No answer in time.
    Timeout(String),
    /// Socket failure.
    Io(io::Error),
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::NoServers(n) => write!(f, "{n}: no DNS server (DHCP option 6) known"),
            DnsError::BadName(n) => write!(f, "{n:?} is not a host name"),
            DnsError::NotFound(n) => write!(f, "{n}: no such host (no A record)"),
            DnsError::Timeout(n) => write!(f, "{n}: no answer from the DNS servers"),
            DnsError::Io(e) => write!(f, "DNS: {e}"),
        }
    }
}

impl std::error::Error for DnsError {}

/// A query for `name` (type A, class IN, recursion desired).
pub fn query(id: u16, name: &str) -> Option<Vec<u8>> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    let name = name.trim_end_matches('.');
    if name.is_empty() || name.len() > 253 {
        return None;
    }
    for label in name.split('.') {
        if label.is_empty()
            || label.len() > 63
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    Some(q)
}

/// Record type AAAA (RFC 3596).
pub const AAAA: u16 = 28;

/// A query for the AAAA records of `name` (class IN, recursion desired).
pub fn query_aaaa(id: u16, name: &str) -> Option<Vec<u8>> {
    let mut q = query(id, name)?;
    let n = q.len();
    q[n - 4..n - 2].copy_from_slice(&AAAA.to_be_bytes());
    Some(q)
}

/// What a response to an AAAA query says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer6 {
    /// The first AAAA record.
    Address(Ipv6Addr),
    /// NXDOMAIN, or no AAAA record in the answer.
    NotFound,
}

/// Parse a response to AAAA query `id`, as [`parse_answer`] does for A.
pub fn parse_answer_aaaa(id: u16, b: &[u8]) -> Option<Answer6> {
    match first_record(id, b, AAAA, 16)? {
        Some(d) => <[u8; 16]>::try_from(d)
            .ok()
            .map(|a| Answer6::Address(Ipv6Addr::from(a))),
        None => Some(Answer6::NotFound),
    }
}

/// The data of the first answer record of type `qtype`, class IN and
/// length `len` in a response to query `id`: `Some(None)` for NXDOMAIN or
/// no such record, `None` when `b` is not such a response (wrong id, not
/// a response, another error, truncated, malformed).
fn first_record(id: u16, b: &[u8], qtype: u16, len: usize) -> Option<Option<&[u8]>> {
    if b.len() < 12 || u16::from_be_bytes([b[0], b[1]]) != id || b[2] & 0x80 == 0 {
        return None;
    }
    let rcode = b[3] & 0x0f;
    if rcode == 3 {
        return Some(None);
    }
    if rcode != 0 {
        return None;
    }
    let qd = u16::from_be_bytes([b[4], b[5]]);
    let an = u16::from_be_bytes([b[6], b[7]]);
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(b, at)? + 4;
    }
    for _ in 0..an {
        at = skip_name(b, at)?;
        let h = b.get(at..at + 10)?;
        let (ty, class) = (
            u16::from_be_bytes([h[0], h[1]]),
            u16::from_be_bytes([h[2], h[3]]),
        );
        let n = u16::from_be_bytes([h[8], h[9]]) as usize;
        let data = b.get(at + 10..at + 10 + n)?;
        if ty == qtype && class == 1 && n == len {
            return Some(Some(data));
        }
        at += 10 + n;
    }
    Some(None)
}

/// Skip a (possibly compressed) name starting at `at`; returns the offset after it.
fn skip_name(b: &[u8], mut at: usize) -> Option<usize> {
    for _ in 0..128 {
        let len = *b.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => {
                b.get(at + 1)?;
                return Some(at + 2);
            }
            l if l & 0xc0 == 0 => at += 1 + l as usize,
            _ => return None,
        }
    }
    None
}

/// What a response says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The first A record.
    Address(Ipv4Addr),
    /// NXDOMAIN, or no A record in the answer.
    NotFound,
}

/// Parse a response to query `id`; `None` when it is not one (wrong id,
/// not a response, truncated, malformed).
pub fn parse_answer(id: u16, b: &[u8]) -> Option<Answer> {
    match first_record(id, b, 1, 4)? {
        Some(d) => Some(Answer::Address(Ipv4Addr::new(d[0], d[1], d[2], d[3]))),
        None => Some(Answer::NotFound),
    }
}

/// Resolve `name` to an IPv6 address (its AAAA record), asking `servers`
/// (the IPv6 lease's) in turn with retransmission, within `limit`.
pub fn resolve_aaaa(
    name: &str,
    servers: &[Ipv6Addr],
    limit: Duration,
) -> Result<Ipv6Addr, DnsError> {
    if servers.is_empty() {
        return Err(DnsError::NoServers(name.to_string()));
    }
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let id =
        (crate::dhcp::random_u32(name.as_bytes()) ^ NEXT.fetch_add(1, Ordering::Relaxed)) as u16;
    let q = query_aaaa(id, name).ok_or_else(|| DnsError::BadName(name.to_string()))?;
    let to: Vec<SocketAddr> = servers
        .iter()
        .map(|s| crate::net6::scoped(SocketAddr::new(IpAddr::V6(*s), 53)))
        .collect();
    let sock = UdpSocket::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0))
        .map_err(DnsError::Io)?;
    let start = Instant::now();
    let mut wait = Duration::from_millis(500);
    let mut buf = [0u8; 1500];
    while start.elapsed() < limit {
        for s in &to {
            let _ = sock.send_to(&q, s);
        }
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sock.set_read_timeout(Some(left)).map_err(DnsError::Io)?;
            match sock.recv_from(&mut buf) {
                Ok((n, from)) if to.iter().any(|s| s.ip() == from.ip()) => {
                    match parse_answer_aaaa(id, &buf[..n]) {
                        Some(Answer6::Address(a)) => return Ok(a),
                        Some(Answer6::NotFound) => {
                            return Err(DnsError::NotFound(name.to_string()))
                        }
                        None => continue,
                    }
                }
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    break
                }
                Err(e) => return Err(DnsError::Io(e)),
            }
        }
        wait = (wait * 2).min(Duration::from_secs(4));
    }
    Err(DnsError::Timeout(name.to_string()))
}

/// Resolve `name` to an IPv4 address, asking `servers` (the lease's) in
/// turn with retransmission, within `limit`.
pub fn resolve_a(name: &str, servers: &[Ipv4Addr], limit: Duration) -> Result<Ipv4Addr, DnsError> {
    if servers.is_empty() {
        return Err(DnsError::NoServers(name.to_string()));
    }
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let id =
        (crate::dhcp::random_u32(name.as_bytes()) ^ NEXT.fetch_add(1, Ordering::Relaxed)) as u16;
    let q = query(id, name).ok_or_else(|| DnsError::BadName(name.to_string()))?;
    let sock =
        UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)).map_err(DnsError::Io)?;
    let start = Instant::now();
    let mut wait = Duration::from_millis(500);
    let mut buf = [0u8; 1500];
    while start.elapsed() < limit {
        for s in servers {
            let _ = sock.send_to(&q, SocketAddrV4::new(*s, 53));
        }
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sock.set_read_timeout(Some(left)).map_err(DnsError::Io)?;
            match sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    if !servers
                        .iter()
                        .any(|s| from.ip() == std::net::IpAddr::V4(*s))
                    {
                        continue;
                    }
                    match parse_answer(id, &buf[..n]) {
                        Some(Answer::Address(a)) => return Ok(a),
                        Some(Answer::NotFound) => return Err(DnsError::NotFound(name.to_string())),
                        None => continue,
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    break
                }
                Err(e) => return Err(DnsError::Io(e)),
            }
        }
        wait = (wait * 2).min(Duration::from_secs(4));
    }
    Err(DnsError::Timeout(name.to_string()))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn query_bytes() {
        let q = query(0x1234, "boot.example").unwrap();
        assert_eq!(
            q,
            [
                0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, b'b', b'o', b'o', b't', 7, b'e', b'x',
                b'a', b'm', b'p', b'l', b'e', 0, 0, 1, 0, 1
            ]
        );
        assert!(query(1, "a..b").is_none());
        assert!(query(1, "a b").is_none());
        assert!(query(1, &"x".repeat(64)).is_none());
    }

    fn response(id: u16, rcode: u8, answers: &[&[u8]]) -> Vec<u8> {
        let mut r = query(id, "boot.example").unwrap();
        r[2] = 0x81;
        r[3] = 0x80 | rcode;
        r[7] = answers.len() as u8;
        for a in answers {
            r.extend_from_slice(a);
        }
        r
    }

    #[test]
    fn answers() {
        // CNAME (compressed owner), then A.
        let cname: &[u8] = &[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 2, b'w', 0xc0, 12];
        let a: &[u8] = &[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7];
        let r = response(7, 0, &[cname, a]);
        assert_eq!(
            parse_answer(7, &r),
            Some(Answer::Address(Ipv4Addr::new(10, 0, 0, 7)))
        );
        assert_eq!(parse_answer(8, &r), None, "wrong id");
        assert_eq!(
            parse_answer(7, &response(7, 3, &[])),
            Some(Answer::NotFound)
        );
        assert_eq!(
            parse_answer(7, &response(7, 0, &[cname])),
            Some(Answer::NotFound)
        );
        assert_eq!(
            parse_answer(7, &response(7, 2, &[])),
            None,
            "SERVFAIL: try another"
        );
        for n in 0..r.len() {
            let _ = parse_answer(7, &r[..n]);
        }
        let mut loop_ptr = response(7, 0, &[]);
        loop_ptr[7] = 1;
        loop_ptr.extend_from_slice(&[0xc0]);
        assert_eq!(parse_answer(7, &loop_ptr), None);
    }

    #[test]
    fn aaaa_answers() {
        let mut r = query_aaaa(9, "boot.example").unwrap();
        assert_eq!(&r[r.len() - 4..], &[0, 28, 0, 1]);
        r[2] = 0x81;
        r[3] = 0x80;
        r[7] = 2;
        // An A record first (the wrong type), then the AAAA.
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7]);
        r.extend_from_slice(&[0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16]);
        r.extend_from_slice(&"fd77::1".parse::<Ipv6Addr>().unwrap().octets());
        assert_eq!(
            parse_answer_aaaa(9, &r),
            Some(Answer6::Address("fd77::1".parse().unwrap()))
        );
        assert_eq!(
            parse_answer(9, &r),
            Some(Answer::Address(Ipv4Addr::new(10, 0, 0, 7)))
        );
        assert_eq!(parse_answer_aaaa(10, &r), None, "wrong id");
        for n in 0..r.len() {
            assert_ne!(
                parse_answer_aaaa(9, &r[..n]),
                Some(Answer6::Address("fd77::1".parse().unwrap()))
            );
        }
    }

    #[test]
    fn no_servers() {
        assert!(matches!(
            resolve_a("x.example", &[], Duration::from_millis(10)),
            Err(DnsError::NoServers(_)) | Err(DnsError::Timeout(_))
        ));
    }
}

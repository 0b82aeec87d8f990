//! Router solicitation and advertisement (RFC 4861 §4.1, §4.2, §4.6;
//! RFC 8106 RDNSS): the codec is pure and never panics; [`Listener`] is
//! the I/O, a raw ICMPv6 socket on one interface.
//!
//! The kernel processes the same advertisements itself (SLAAC address,
//! on-link prefix, default route: `accept_ra`, `autoconf`); pxeinit reads
//! them for what the kernel does not expose: the M and O flags (whether
//! addresses come from DHCPv6) and the prefixes offered for SLAAC. An
//! advertisement counts only from a link-local source with hop limit 255
//! (RFC 4861 §6.1.2).

use std::io::{self, IoSliceMut};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockProtocol, SockType};

/// ICMPv6 types.
pub const ROUTER_SOLICITATION: u8 = 133;
/// ICMPv6 types.
pub const ROUTER_ADVERTISEMENT: u8 = 134;

/// All-routers multicast (ff02::2).
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// A malformed router advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error;

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("malformed router advertisement")
    }
}

impl std::error::Error for Error {}

/// A Prefix Information option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    /// The prefix.
    pub prefix: Ipv6Addr,
    /// Its length.
    pub len: u8,
    /// L: on-link.
    pub on_link: bool,
    /// A: use for SLAAC.
    pub autonomous: bool,
    /// Valid lifetime, seconds.
    pub valid: u32,
    /// Preferred lifetime, seconds.
    pub preferred: u32,
}

/// A router advertisement, as far as a boot client cares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Advert {
    /// M: addresses come from DHCPv6.
    pub managed: bool,
    /// O: other configuration comes from DHCPv6.
    pub other: bool,
    /// Router lifetime in seconds (0: not a default router).
    pub lifetime: u16,
    /// Prefix Information options.
    pub prefixes: Vec<Prefix>,
    /// The link MTU option, if any.
    pub mtu: Option<u32>,
    /// Recursive DNS servers (RFC 8106).
    pub dns: Vec<Ipv6Addr>,
}

impl Advert {
    /// A prefix offered for SLAAC (A flag, a /64, still valid).
    pub fn slaac_prefix(&self) -> Option<&Prefix> {
        self.prefixes
            .iter()
            .find(|p| p.autonomous && p.len == 64 && p.valid > 0)
    }

    /// Parse an ICMPv6 message (from the type byte on).
    pub fn parse(b: &[u8]) -> Result<Advert, Error> {
        let h = b.get(..16).ok_or(Error)?;
        if h[0] != ROUTER_ADVERTISEMENT || h[1] != 0 {
            return Err(Error);
        }
        let mut ra = Advert {
            managed: h[5] & 0x80 != 0,
            other: h[5] & 0x40 != 0,
            lifetime: u16::from_be_bytes([h[6], h[7]]),
            ..Advert::default()
        };
        let mut o = &b[16..];
        while !o.is_empty() {
            let (&ty, rest) = o.split_first().ok_or(Error)?;
            let len = usize::from(*rest.first().ok_or(Error)?) * 8;
            // A zero length is invalid and would never end (§4.6).
            if len == 0 {
                return Err(Error);
            }
            let d = o.get(..len).ok_or(Error)?;
            let u32_at = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
            match ty {
                3 if len == 32 => {
                    let p: [u8; 16] = d[16..32].try_into().map_err(|_| Error)?;
                    ra.prefixes.push(Prefix {
                        prefix: Ipv6Addr::from(p),
                        len: d[2],
                        on_link: d[3] & 0x80 != 0,
                        autonomous: d[3] & 0x40 != 0,
                        valid: u32_at(4),
                        preferred: u32_at(8),
                    });
                }
                5 if len == 8 => ra.mtu = Some(u32_at(4)),
                25 if len >= 24 => {
                    ra.dns.extend(crate::dhcp6::wire::addrs(&d[8..]));
                }
                _ => {}
            }
            o = &o[len..];
        }
        Ok(ra)
    }
}

/// A router solicitation, with the source link-layer address option when
/// the sender has an address (RFC 4861 §4.1: not from ::). The checksum is
/// left zero: the kernel computes it for ICMPv6 raw sockets.
pub fn solicitation(mac: Option<&[u8; 6]>) -> Vec<u8> {
    let mut v = vec![ROUTER_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
    if let Some(m) = mac {
        v.extend_from_slice(&[1, 1]);
        v.extend_from_slice(m);
    }
    v
}

/// A raw ICMPv6 socket on one interface that sends solicitations and
/// receives advertisements.
pub struct Listener {
    fd: OwnedFd,
    ifindex: u32,
}

impl Listener {
    /// Open on `iface` (index `ifindex`). Needs CAP_NET_RAW.
    pub fn open(iface: &str, ifindex: u32) -> io::Result<Listener> {
        let fd = socket::socket(
            AddressFamily::Inet6,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::IcmpV6,
        )?;
        socket::setsockopt(&fd, sockopt::BindToDevice, &std::ffi::OsString::from(iface))?;
        socket::setsockopt(&fd, sockopt::Ipv6MulticastHops, &255)?;
        socket::setsockopt(&fd, sockopt::Ipv6RecvHopLimit, &true)?;
        Ok(Listener { fd, ifindex })
    }

    /// Send a solicitation to all routers.
    pub fn solicit(&self, mac: Option<&[u8; 6]>) -> io::Result<()> {
        let dst = socket::SockaddrIn6::from(SocketAddrV6::new(ALL_ROUTERS, 0, 0, self.ifindex));
        socket::sendto(
            self.fd.as_raw_fd(),
            &solicitation(mac),
            &dst,
            socket::MsgFlags::empty(),
        )?;
        Ok(())
    }

    /// The next valid advertisement and its router, before `deadline`.
    pub fn recv(&self, deadline: Instant) -> io::Result<Option<(Ipv6Addr, Advert)>> {
        let mut buf = [0u8; 1500];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let ms = left.as_millis().clamp(1, 60_000) as u16;
            let mut fds = [nix::poll::PollFd::new(
                std::os::fd::AsFd::as_fd(&self.fd),
                nix::poll::PollFlags::POLLIN,
            )];
            match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let mut cmsg = nix::cmsg_space!(libc::c_int);
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = match socket::recvmsg::<socket::SockaddrIn6>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                socket::MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(m) => m,
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            };
            let hops = msg.cmsgs().ok().and_then(|mut c| {
                c.find_map(|m| match m {
                    socket::ControlMessageOwned::Ipv6HopLimit(h) => Some(h),
                    _ => None,
                })
            });
            let from = msg.address.map(|a| a.ip());
            let n = msg.bytes;
            let (Some(from), Some(255)) = (from, hops) else {
                continue;
            };
            if !from.is_unicast_link_local() {
                continue;
            }
            let Some(data) = iov[0].get(..n) else {
                continue;
            };
            if let Ok(ra) = Advert::parse(data) {
                return Ok(Some((from, ra)));
            }
        }
    }
}

/// Solicit on `l` and wait for the first advertisement within `limit`,
/// sending a solicitation again every `interval` (RFC 4861 §6.3.7 waits 4 s;
/// a boot client asks sooner).
pub fn solicit(
    l: &Listener,
    mac: Option<&[u8; 6]>,
    limit: Duration,
    interval: Duration,
) -> io::Result<Option<(Ipv6Addr, Advert)>> {
    let end = Instant::now() + limit;
    loop {
        let now = Instant::now();
        if now >= end {
            return Ok(None);
        }
        l.solicit(mac)?;
        if let Some(got) = l.recv((now + interval).min(end))? {
            return Ok(Some(got));
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// slirp's advertisement (libslirp `ndp_send_ra`): M=0, O=0, prefix
    /// fec0::/64 with L and A, RDNSS fec0::3.
    fn slirp_ra() -> Vec<u8> {
        let mut v = vec![134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
        v.extend_from_slice(&[1, 1, 0x52, 0x56, 0, 0, 0, 2]);
        let mut p = vec![
            3, 4, 64, 0xc0, 0, 0, 0x0e, 0x10, 0, 0, 0x07, 0x08, 0, 0, 0, 0,
        ];
        p.extend_from_slice(&"fec0::".parse::<Ipv6Addr>().unwrap().octets());
        v.extend_from_slice(&p);
        v.extend_from_slice(&[25, 3, 0, 0, 0, 0, 0x07, 0x08]);
        v.extend_from_slice(&"fec0::3".parse::<Ipv6Addr>().unwrap().octets());
        v.extend_from_slice(&[5, 1, 0, 0, 0, 0, 0x05, 0xdc]);
        v
    }

    #[test]
    fn parses_slirps_advertisement() {
        let ra = Advert::parse(&slirp_ra()).unwrap();
        assert!(!ra.managed && !ra.other);
        assert_eq!(ra.lifetime, 1800);
        let p = ra.slaac_prefix().unwrap();
        assert_eq!(p.prefix, "fec0::".parse::<Ipv6Addr>().unwrap());
        assert!(p.on_link && p.autonomous);
        assert_eq!((p.valid, p.preferred), (3600, 1800));
        assert_eq!(ra.dns, ["fec0::3".parse::<Ipv6Addr>().unwrap()]);
        assert_eq!(ra.mtu, Some(1500));
    }

    #[test]
    fn managed_flag_and_no_slaac() {
        let mut b = slirp_ra();
        b[5] = 0xc0;
        b[27] = 0x80; // prefix: on-link only
        let ra = Advert::parse(&b).unwrap();
        assert!(ra.managed && ra.other);
        assert!(ra.slaac_prefix().is_none());
    }

    #[test]
    fn malformed_never_panics() {
        let b = slirp_ra();
        for n in 0..b.len() {
            let _ = Advert::parse(&b[..n]);
        }
        let mut zero = b.clone();
        zero[17] = 0;
        assert_eq!(Advert::parse(&zero), Err(Error));
        assert!(Advert::parse(&solicitation(None)).is_err());
        let mut x = 7u32;
        for _ in 0..3000 {
            let mut g = b.clone();
            for byte in g.iter_mut().skip(16) {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if x >> 28 == 0 {
                    *byte = (x >> 16) as u8;
                }
            }
            let _ = Advert::parse(&g);
        }
    }

    #[test]
    fn solicitation_bytes() {
        assert_eq!(solicitation(None), [133, 0, 0, 0, 0, 0, 0, 0]);
        let m = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
        assert_eq!(
            solicitation(Some(&m)),
            [133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56]
        );
    }
}

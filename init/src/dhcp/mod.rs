//! DHCPv4 client for an interface that has no address yet (RFC 2131).
//!
//! Transport: a UDP socket bound to 0.0.0.0:68 with `SO_BINDTODEVICE` and
//! `SO_BROADCAST`, sending to 255.255.255.255:67 with the broadcast flag
//! set, so that servers answer by broadcast: QEMU slirp always does, and
//! dnsmasq, which otherwise unicasts the OFFER at link level to the offered
//! address, honours the flag. Linux delivers limited-broadcast datagrams to
//! a socket bound to the device even before the device has an address.
//!
//! Retransmission follows RFC 2131 §4.1: 4, 8, 16, 32, 64 s, each ±1 s
//! (uniform, drawn per client from [`crate::rng`]), until the caller's
//! overall limit; the first DISCOVER waits a random delay below
//! [`Config::initial_delay`] (RFC 2131 §4.4.1), so that guests powered on
//! together neither start nor retransmit in step. Replies are accepted only when `op`,
//! `xid` and `chaddr` match. Several OFFERs are collected for a short
//! window and one carrying boot information is preferred. A NAK restarts at
//! DISCOVER.
//!
//! Which server holds the boot files: option 66 (an IPv4 address, or a
//! host name that `boot.rs` resolves with the lease's name servers), else
//! `siaddr` ("next server") when non-zero, else the server identifier
//! (option 54). This is the order PXE ROMs and PXELINUX use in practice.

pub mod wire;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::rng::Rng;
use log::{debug, info, warn};
use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};
use wire::{opt, MessageType, Repr, FLAG_BROADCAST};

/// Client System Architecture (option 93) for s390x: 0x1F ("s390 Basic").
pub const ARCH_S390X: u16 = 0x001f;

/// What the client asks for and how long it tries.
#[derive(Debug, Clone)]
pub struct Config {
    /// Give up after this long in total.
    pub limit: Duration,
    /// Machine UUID sent as option 97, when known.
    pub uuid: Option<[u8; 16]>,
    /// How long to keep collecting OFFERs after the first one without boot
    /// information.
    pub offer_window: Duration,
    /// The first DISCOVER waits a random time below this. RFC 2131 §4.4.1
    /// asks for one to ten seconds, which would be most of a guest's boot;
    /// half a second spreads the DISCOVERs of guests started together.
    pub initial_delay: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limit: Duration::from_secs(60),
            uuid: None,
            offer_window: Duration::from_millis(500),
            initial_delay: Duration::from_millis(500),
        }
    }
}

/// A bound lease with everything a PXE client uses from it.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The interface it was obtained on.
    pub interface: String,
    /// Our address (`yiaddr`).
    pub address: Ipv4Addr,
    /// Subnet mask (option 1); classful default when absent.
    pub netmask: Ipv4Addr,
    /// Routers (option 3).
    pub routers: Vec<Ipv4Addr>,
    /// DNS servers (option 6).
    pub dns: Vec<Ipv4Addr>,
    /// The DHCP server (option 54).
    pub server_id: Option<Ipv4Addr>,
    /// `siaddr`, the "next server".
    pub siaddr: Ipv4Addr,
    /// Boot file name (option 67, else the `file` field).
    pub bootfile: Option<String>,
    /// TFTP server name (option 66).
    pub tftp_server_name: Option<String>,
    /// PXELINUX config file (option 209).
    pub config_file: Option<String>,
    /// PXELINUX path prefix (option 210).
    pub path_prefix: Option<String>,
    /// PXELINUX reboot time in seconds (option 211).
    pub reboot_time: Option<u32>,
    /// Lease time in seconds (option 51).
    pub lease_time: Option<u32>,
    /// Host name (option 12).
    pub hostname: Option<String>,
    /// Domain name (option 15).
    pub domain: Option<String>,
    /// Client machine UUID echoed in option 97, lowercase 8-4-4-4-12.
    pub uuid: Option<String>,
    /// Time taken from first DISCOVER to ACK.
    pub elapsed: Duration,
}

impl Lease {
    /// The server to fetch boot files from (see the module doc for the order).
    pub fn boot_server(&self) -> Option<Ipv4Addr> {
        if let Some(ip) = self
            .tftp_server_name
            .as_deref()
            .and_then(|s| s.parse::<Ipv4Addr>().ok())
        {
            return Some(ip);
        }
        if !self.siaddr.is_unspecified() {
            return Some(self.siaddr);
        }
        self.server_id
    }

    /// The first router, if any.
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.routers.first().copied()
    }

    /// The lease as JSON (for `boot --dry-run`).
    pub fn to_json(&self) -> serde_json::Value {
        let s = |v: &Option<String>| v.clone().map(serde_json::Value::String);
        serde_json::json!({
            "interface": self.interface,
            "address": self.address.to_string(),
            "netmask": self.netmask.to_string(),
            "routers": self.routers.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "dns": self.dns.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "server_id": self.server_id.map(|a| a.to_string()),
            "next_server": self.siaddr.to_string(),
            "boot_server": self.boot_server().map(|a| a.to_string()),
            "bootfile": s(&self.bootfile),
            "tftp_server_name": s(&self.tftp_server_name),
            "config_file": s(&self.config_file),
            "path_prefix": s(&self.path_prefix),
            "reboot_time": self.reboot_time,
            "lease_time": self.lease_time,
            "hostname": s(&self.hostname),
            "domain": s(&self.domain),
            "uuid": s(&self.uuid),
            "seconds": self.elapsed.as_secs_f64(),
        })
    }

    fn from_ack(interface: &str, ack: &Repr, elapsed: Duration) -> Lease {
        let netmask = ack
            .opt_ip(opt::SUBNET_MASK)
            .unwrap_or_else(|| classful_mask(ack.yiaddr));
        Lease {
            interface: interface.to_string(),
            address: ack.yiaddr,
            netmask,
            routers: ack.opt_ips(opt::ROUTER),
            dns: ack.opt_ips(opt::DNS),
            server_id: ack.opt_ip(opt::SERVER_ID),
            siaddr: ack.siaddr,
            bootfile: ack
                .opt_str(opt::BOOTFILE)
                .or_else(|| (!ack.file.is_empty()).then(|| ack.file.clone())),
            tftp_server_name: ack
                .opt_str(opt::TFTP_SERVER)
                .or_else(|| (!ack.sname.is_empty()).then(|| ack.sname.clone())),
            config_file: ack.opt_str(opt::PXELINUX_CONFIGFILE),
            path_prefix: ack.opt_str(opt::PXELINUX_PATHPREFIX),
            reboot_time: ack.opt_u32(opt::PXELINUX_REBOOTTIME),
            lease_time: ack.opt_u32(opt::LEASE_TIME),
            hostname: ack.opt_str(opt::HOSTNAME),
            domain: ack.opt_str(opt::DOMAIN_NAME),
            uuid: ack.opt_uuid(),
            elapsed,
        }
    }
}

fn classful_mask(a: Ipv4Addr) -> Ipv4Addr {
    match a.octets()[0] {
        0..=127 => Ipv4Addr::new(255, 0, 0, 0),
        128..=191 => Ipv4Addr::new(255, 255, 0, 0),
        _ => Ipv4Addr::new(255, 255, 255, 0),
    }
}

/// Why no lease was obtained.
#[derive(Debug)]
pub enum DhcpError {
    /// No usable OFFER/ACK within the limit.
    NoLease {
        /// Interface used.
        interface: String,
        /// Time spent.
        after: Duration,
        /// DISCOVERs sent.
        discovers: u32,
    },
    /// A socket call failed.
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        err: io::Error,
    },
}

impl fmt::Display for DhcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DhcpError::NoLease {
                interface,
                after,
                discovers,
            } => write!(
                f,
                "no DHCP lease on {interface}: no usable answer to {discovers} DISCOVERs in {:.1} s",
                after.as_secs_f64()
            ),
            DhcpError::Io { what, err } => write!(f, "DHCP: {what}: {err}"),
        }
    }
}

impl std::error::Error for DhcpError {}

fn io_err(what: &'static str) -> impl FnOnce(nix::Error) -> DhcpError {
    move |e| DhcpError::Io {
        what,
        err: io::Error::from(e),
    }
}

/// A random u32 that never blocks, even before the entropy pool is
/// ready ([`crate::rng::u64_mixed`]; `mix` feeds its fallback).
pub fn random_u32(mix: &[u8]) -> u32 {
    (crate::rng::u64_mixed(mix) >> 32) as u32
}

/// Open the client socket on `interface`.
fn open_socket(interface: &str) -> Result<UdpSocket, DhcpError> {
    let fd = socket::socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(io_err("socket"))?;
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(io_err("SO_REUSEADDR"))?;
    socket::setsockopt(&fd, sockopt::Broadcast, &true).map_err(io_err("SO_BROADCAST"))?;
    socket::setsockopt(
        &fd,
        sockopt::BindToDevice,
        &std::ffi::OsString::from(interface),
    )
    .map_err(io_err("SO_BINDTODEVICE"))?;
    let addr = SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68));
    socket::bind(fd.as_raw_fd(), &addr).map_err(io_err("bind to port 68"))?;
    Ok(UdpSocket::from(fd))
}

struct Exchange<'a> {
    sock: UdpSocket,
    mac: [u8; 6],
    xid: u32,
    start: Instant,
    cfg: &'a Config,
    rng: Rng,
}

impl Exchange<'_> {
    fn request_repr(&self, kind: MessageType) -> Repr {
        let mut r = Repr {
            op: 1,
            xid: self.xid,
            secs: self.start.elapsed().as_secs().min(u16::MAX as u64) as u16,
            flags: FLAG_BROADCAST,
            chaddr: self.mac,
            ..Default::default()
        };
        let o = &mut r.options;
        o.insert(opt::MESSAGE_TYPE, vec![kind.into()]);
        o.insert(
            opt::PARAMETER_LIST,
            vec![
                opt::SUBNET_MASK,
                opt::ROUTER,
                opt::DNS,
                opt::HOSTNAME,
                opt::DOMAIN_NAME,
                opt::BROADCAST,
                opt::VENDOR,
                opt::LEASE_TIME,
                opt::SERVER_ID,
                opt::CLASS_ID,
                opt::TFTP_SERVER,
                opt::BOOTFILE,
                opt::CLIENT_UUID,
                opt::PXELINUX_CONFIGFILE,
                opt::PXELINUX_PATHPREFIX,
                opt::PXELINUX_REBOOTTIME,
            ],
        );
        o.insert(opt::MAX_SIZE, 1500u16.to_be_bytes().to_vec());
        o.insert(
            opt::CLASS_ID,
            format!("PXEClient:Arch:{ARCH_S390X:05}:UNDI:003016").into_bytes(),
        );
        let mut cid = vec![1u8];
        cid.extend_from_slice(&self.mac);
        o.insert(opt::CLIENT_ID, cid);
        o.insert(opt::CLIENT_ARCH, ARCH_S390X.to_be_bytes().to_vec());
        // UNDI, major 3, minor 16 (RFC 4578 §2.2).
        o.insert(opt::CLIENT_NDI, vec![1, 3, 16]);
        if let Some(u) = self.cfg.uuid {
            let mut v = vec![0u8];
            v.extend_from_slice(&u);
            o.insert(opt::CLIENT_UUID, v);
        }
        r
    }

    fn send(&self, r: &Repr) -> Result<(), DhcpError> {
        let dst = SocketAddrV4::new(Ipv4Addr::BROADCAST, 67);
        self.sock
            .send_to(&r.to_vec(), dst)
            .map_err(|err| DhcpError::Io {
                what: "send to 255.255.255.255:67",
                err,
            })?;
        Ok(())
    }

    /// Receive one matching reply before `deadline`.
    fn recv(&self, deadline: Instant) -> Result<Option<Repr>, DhcpError> {
        let mut buf = [0u8; 1500];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            self.sock
                .set_read_timeout(Some(deadline - now))
                .map_err(|err| DhcpError::Io {
                    what: "set timeout",
                    err,
                })?;
            match self.sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let Ok(p) = wire::Packet::new_checked(&buf[..n]) else {
                        debug!("dhcp: ignoring malformed packet from {from}");
                        continue;
                    };
                    let Ok(r) = Repr::parse(&p) else {
                        debug!("dhcp: ignoring unparsable packet from {from}");
                        continue;
                    };
                    if r.op != 2 || r.xid != self.xid || r.chaddr != self.mac {
                        continue;
                    }
                    return Ok(Some(r));
                }
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut
                        || e.kind() == io::ErrorKind::Interrupted =>
                {
                    continue
                }
                Err(err) => {
                    return Err(DhcpError::Io {
                        what: "receive",
                        err,
                    })
                }
            }
        }
    }

    fn over(&self) -> bool {
        self.start.elapsed() >= self.cfg.limit
    }

    fn clamp(&self, t: Instant) -> Instant {
        clamp_to_limit(t, self.start, self.cfg.limit)
    }
}

/// `t`, but no later than `start + limit`; a limit too large for the
/// clock (a huge `pxe.timeout=`) does not overflow, it bounds nothing.
fn clamp_to_limit(t: Instant, start: Instant, limit: Duration) -> Instant {
    match start.checked_add(limit) {
        Some(end) => t.min(end),
        None => t,
    }
}

/// RFC 2131 §4.1 backoff: 4, 8, 16, 32, 64 s, randomised by ±1 s
/// (`rnd`: uniform over the 2001 milliseconds from -1000 to +1000).
pub fn backoff(attempt: u32, rnd: u32) -> Duration {
    let base = 4u64 << attempt.min(4);
    let jitter = i64::from(rnd % 2001) - 1000;
    Duration::from_millis((base as i64 * 1000 + jitter) as u64)
}

/// [`backoff`] drawn from `rng`: one client's retransmission schedule.
fn jittered(rng: &mut Rng, attempt: u32) -> Duration {
    backoff(attempt, rng.below(2001) as u32)
}

impl Exchange<'_> {
    /// [`backoff`] with this client's generator.
    fn backoff(&mut self, attempt: u32) -> Duration {
        jittered(&mut self.rng, attempt)
    }
}

fn has_boot_info(r: &Repr) -> bool {
    !r.file.is_empty()
        || !r.siaddr.is_unspecified()
        || [
            opt::BOOTFILE,
            opt::TFTP_SERVER,
            opt::PXELINUX_CONFIGFILE,
            opt::PXELINUX_PATHPREFIX,
        ]
        .iter()
        .any(|c| r.options.contains_key(c))
}

/// Obtain a lease on `interface` (which must be up) for hardware address `mac`.
pub fn lease(interface: &str, mac: [u8; 6], cfg: &Config) -> Result<Lease, DhcpError> {
    let sock = open_socket(interface)?;
    let start = Instant::now();
    let mut rng = Rng::new(&mac);
    let mut ex = Exchange {
        sock,
        mac,
        xid: rng.next_u64() as u32,
        start,
        cfg,
        rng,
    };
    let delay = ex.rng.duration_below(cfg.initial_delay.min(cfg.limit));
    debug!("dhcp: waiting {delay:?} before the first DISCOVER on {interface}");
    std::thread::sleep(delay);
    let mut discovers = 0u32;
    let mut attempt = 0u32;
    while !ex.over() {
        // DISCOVER, collect OFFERs.
        let discover = ex.request_repr(MessageType::Discover);
        ex.send(&discover)?;
        discovers += 1;
        debug!("dhcp: DISCOVER xid {:08x} on {interface}", ex.xid);
        let wait = ex.backoff(attempt);
        let deadline = ex.clamp(Instant::now() + wait);
        let mut best: Option<Repr> = None;
        let mut window_end = deadline;
        while let Some(r) = ex.recv(window_end)? {
            if r.message_type() != Some(MessageType::Offer) || r.yiaddr.is_unspecified() {
                continue;
            }
            let boot = has_boot_info(&r);
            debug!(
                "dhcp: OFFER {} from {:?} (boot info: {boot})",
                r.yiaddr,
                r.opt_ip(opt::SERVER_ID)
            );
            let better = match &best {
                None => true,
                Some(b) => boot && !has_boot_info(b),
            };
            if better {
                best = Some(r);
            }
            if boot {
                break;
            }
            window_end = window_end.min(Instant::now() + cfg.offer_window);
        }
        let Some(offer) = best else {
            attempt += 1;
            continue;
        };
        // REQUEST, wait for ACK/NAK.
        let mut req = ex.request_repr(MessageType::Request);
        req.options
            .insert(opt::REQUESTED_IP, offer.yiaddr.octets().to_vec());
        if let Some(sid) = offer.opt_ip(opt::SERVER_ID) {
            req.options.insert(opt::SERVER_ID, sid.octets().to_vec());
        }
        let mut nak = false;
        for req_attempt in 0..4u32 {
            if ex.over() {
                break;
            }
            ex.send(&req)?;
            let wait = ex.backoff(req_attempt);
            let deadline = ex.clamp(Instant::now() + wait);
            while let Some(r) = ex.recv(deadline)? {
                match r.message_type() {
                    Some(MessageType::Ack) if !r.yiaddr.is_unspecified() => {
                        let lease = Lease::from_ack(interface, &r, start.elapsed());
                        info!(
                            "dhcp: lease {}/{} on {interface} from {}",
                            lease.address,
                            lease.netmask,
                            lease
                                .server_id
                                .map(|s| s.to_string())
                                .unwrap_or_else(|| "?".into())
                        );
                        return Ok(lease);
                    }
                    Some(MessageType::Nak) => {
                        let msg = r.opt_str(opt::MESSAGE).unwrap_or_default();
                        warn!("dhcp: NAK for {} ({msg}); starting over", offer.yiaddr);
                        nak = true;
                        break;
                    }
                    _ => continue,
                }
            }
            if nak {
                break;
            }
        }
        // A fresh transaction after a NAK or an unanswered REQUEST.
        ex.xid = ex.rng.next_u64() as u32;
        if !nak {
            attempt += 1;
        }
    }
    Err(DhcpError::NoLease {
        interface: interface.to_string(),
        after: start.elapsed(),
        discovers,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    /// A huge limit (`pxe.timeout=18446744073709551615`) used to overflow
    /// `Instant + Duration` and panic PID 1.
    #[test]
    fn a_huge_limit_does_not_overflow() {
        let now = Instant::now();
        let t = now + Duration::from_secs(4);
        assert_eq!(clamp_to_limit(t, now, Duration::MAX), t);
        assert_eq!(clamp_to_limit(t, now, Duration::from_secs(u64::MAX)), t);
        assert_eq!(
            clamp_to_limit(t, now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
    }

    #[test]
    fn backoff_follows_rfc2131() {
        for (attempt, base) in [(0, 4), (1, 8), (2, 16), (3, 32), (4, 64), (9, 64)] {
            for rnd in [0u32, 1000, 2000, 12345] {
                let d = backoff(attempt, rnd).as_millis() as i64;
                assert!((d - base * 1000).abs() <= 1000, "{attempt} {rnd} {d}");
            }
        }
    }

    /// 200 clients started together: their first retransmissions are
    /// spread uniformly over 3-5 s (RFC 2131 §4.1), not in step, and so
    /// are their start delays.
    #[test]
    fn clients_retransmit_out_of_step() {
        let mut first = Vec::new();
        let mut delays = Vec::new();
        for i in 0..200u8 {
            let mut rng = Rng::new(&[0x52, 0x54, 0, 0, 0, i]);
            delays.push(rng.duration_below(Config::default().initial_delay));
            first.push(jittered(&mut rng, 0).as_millis());
            let second = jittered(&mut rng, 1).as_millis();
            assert!((7000..=9000).contains(&second), "{second}");
        }
        assert!(first.iter().all(|ms| (3000..=5000).contains(ms)));
        let buckets: std::collections::HashSet<u128> = first.iter().map(|ms| ms / 100).collect();
        assert!(
            buckets.len() >= 18,
            "{} of 21 100-ms buckets used",
            buckets.len()
        );
        let (lo, hi) = (delays.iter().min().unwrap(), delays.iter().max().unwrap());
        assert!(*hi < Duration::from_millis(500));
        assert!(*hi - *lo > Duration::from_millis(400), "{lo:?}..{hi:?}");
    }

    #[test]
    fn boot_server_order() {
        let mut l = Lease::from_ack("eth0", &Repr::default(), Duration::ZERO);
        assert_eq!(l.boot_server(), None);
        l.server_id = Some(Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(l.boot_server(), Some(Ipv4Addr::new(10, 0, 0, 1)));
        l.siaddr = Ipv4Addr::new(10, 0, 0, 2);
        assert_eq!(l.boot_server(), Some(Ipv4Addr::new(10, 0, 0, 2)));
        l.tftp_server_name = Some("10.0.0.3".into());
        assert_eq!(l.boot_server(), Some(Ipv4Addr::new(10, 0, 0, 3)));
        l.tftp_server_name = Some("boot.example".into());
        assert_eq!(l.boot_server(), Some(Ipv4Addr::new(10, 0, 0, 2)));
    }
}

//! IPv6 for a network boot: router solicitation, SLAAC or DHCPv6
//! addresses, and the boot file URL (RFC 8415, RFC 5970).
//!
//! [`lease`] does it all on one interface, as QEMU's s390-ccw firmware and
//! iPXE do:
//!
//! 1. wait for the link-local address (DAD done), solicit a router
//!    advertisement ([`crate::ra`]);
//! 2. an advertisement with a SLAAC prefix and M=0: the kernel makes the
//!    address itself (`accept_ra`, `autoconf`); pxeinit sends a stateless
//!    INFORMATION-REQUEST for the boot file URL (option 59), its
//!    parameters (60) and the name servers (23, 24), whatever the O flag
//!    says (QEMU's slirp answers one although its advertisement has O=0),
//!    then waits for the kernel's address and default route;
//! 3. M=1, no SLAAC prefix, or no advertisement: stateful DHCPv6, SOLICIT
//!    with Rapid Commit, ADVERTISE, REQUEST, REPLY; the address from the
//!    IA_NA is added to the interface with the length of the on-link
//!    prefix that holds it (else /64). A failed stateful exchange falls
//!    back to SLAAC when there is a SLAAC prefix.
//!
//! Client identifier: DUID-UUID (type 4, RFC 6355) from the machine UUID
//! when known, else DUID-LL (type 3) from the MAC. Every message carries
//! the Elapsed Time, an ORO (23, 24, 59, 60 and the SOL_MAX_RT or
//! INF_MAX_RT and Information Refresh Time options RFC 8415 §18.2 asks
//! for), the client architecture (option 61: 0x001f, s390 Basic) and the
//! network interface identifier (62: UNDI 3.16). Retransmission follows
//! RFC 8415 §15 with its ±10% randomisation ([`Retrans`]). Replies count
//! only with our transaction id and our Client ID; an ADVERTISE or a
//! stateful REPLY also needs a Server ID, which a stateless REPLY may lack
//! (slirp sends none).
//!
//! Sockets: UDP [::]:546 bound to the interface (`SO_BINDTODEVICE`),
//! sending to ff02::1:2 port 547 on that link; the advertisement through
//! a raw ICMPv6 socket.

pub mod wire;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn6};
use wire::{opt, MessageType, Repr};

use crate::cmdline::{StaticIp6, V6Method};
use crate::{net6, ra};

/// The DHCPv6 client port.
pub const CLIENT_PORT: u16 = 546;
/// The DHCPv6 server and relay port.
pub const SERVER_PORT: u16 = 547;
/// All_DHCP_Relay_Agents_and_Servers (ff02::1:2).
pub const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// RFC 8415 §7.6 transmission parameters.
pub mod timing {
    use std::time::Duration;
    /// Solicit: initial timeout.
    pub const SOL_TIMEOUT: Duration = Duration::from_secs(1);
    /// Solicit: largest timeout.
    pub const SOL_MAX_RT: Duration = Duration::from_secs(3600);
    /// Request: initial timeout.
    pub const REQ_TIMEOUT: Duration = Duration::from_secs(1);
    /// Request: largest timeout.
    pub const REQ_MAX_RT: Duration = Duration::from_secs(30);
    /// Request: transmissions.
    pub const REQ_MAX_RC: u32 = 10;
    /// Information-request: initial timeout.
    pub const INF_TIMEOUT: Duration = Duration::from_secs(1);
    /// Information-request: largest timeout.
    pub const INF_MAX_RT: Duration = Duration::from_secs(3600);
}

/// How long to wait for the link-local address (DAD of one probe takes
/// 1 to 2 s).
const LINK_LOCAL_WAIT: Duration = Duration::from_secs(10);
/// How long to solicit a router advertisement.
const RA_WAIT: Duration = Duration::from_secs(3);
/// Between two solicitations.
const RS_INTERVAL: Duration = Duration::from_secs(1);
/// How long to ask for the boot URL when the advertisement does not say
/// (O=0) that DHCPv6 has information: then the SLAAC lease goes on
/// without it.
const INFORM_WITHOUT_O: Duration = Duration::from_secs(8);
/// How long the kernel may take to make the SLAAC address and route, or
/// to finish DAD on the DHCPv6 one.
const ADDRESS_WAIT: Duration = Duration::from_secs(10);

/// Client System Architecture (option 61) for s390x, as in DHCPv4.
pub const ARCH_S390X: u16 = crate::dhcp::ARCH_S390X;

/// What the client sends and how long it tries.
#[derive(Debug, Clone)]
pub struct Config {
    /// Give up after this long in total.
    pub limit: Duration,
    /// Machine UUID: the DUID is DUID-UUID when known.
    pub uuid: Option<[u8; 16]>,
    /// SLAAC or DHCPv6 as the advertisement says, or one of them
    /// (`ip=auto6`, `ip=dhcp6`).
    pub method: V6Method,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limit: Duration::from_secs(60),
            uuid: None,
            method: V6Method::Auto,
        }
    }
}

/// How the address was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Stateless autoconfiguration from the router's prefix (the kernel's).
    Slaac,
    /// A DHCPv6 IA_NA address.
    Dhcpv6,
    /// `ip=[ADDR]:...` on the command line.
    Static,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Slaac => "slaac",
            Method::Dhcpv6 => "dhcpv6",
            Method::Static => "static",
        }
    }
}

/// An IPv6 address and what DHCPv6 and the router said.
#[derive(Debug, Clone)]
pub struct Lease6 {
    /// The interface.
    pub interface: String,
    /// Our routable address.
    pub address: Ipv6Addr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// SLAAC or DHCPv6.
    pub method: Method,
    /// Default routers (the kernel's routes from the advertisement).
    pub routers: Vec<Ipv6Addr>,
    /// Name servers: DHCPv6 option 23, else the advertisement's RDNSS.
    pub dns: Vec<Ipv6Addr>,
    /// Search domains (option 24).
    pub domains: Vec<String>,
    /// The DHCPv6 server's DUID, when it sent one.
    pub server_id: Option<Vec<u8>>,
    /// Our DUID.
    pub client_id: Vec<u8>,
    /// The boot file URL (option 59).
    pub bootfile_url: Option<String>,
    /// Boot file parameters (option 60).
    pub bootfile_params: Vec<String>,
    /// The boot server from `ip=` (static addressing; over DHCPv6 it is
    /// option 59's host).
    pub server: Option<Ipv6Addr>,
    /// The advertisement's M and O flags, when one came.
    pub ra_flags: Option<(bool, bool)>,
    /// Time from the start to the usable address.
    pub elapsed: Duration,
}

/// The boot server and file named by option 59.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootUrl {
    /// `tftp`, `http` or `https` (lowercase).
    pub scheme: String,
    /// The host, without brackets.
    pub host: String,
    /// The host as an address, when it is one.
    pub ip: Option<IpAddr>,
    /// The port, when given.
    pub port: Option<u16>,
    /// The path, starting with `/`.
    pub path: String,
}

impl BootUrl {
    /// Parse option 59: `tftp://[ADDR]/path`, `http://[ADDR]:PORT/path`,
    /// `tftp://NAME/path`... The reason, one line, when it is not such a
    /// URL.
    pub fn parse(url: &str) -> Result<BootUrl, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} is not a URL"))?;
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "tftp" | "http" | "https") {
            return Err(format!(
                "{url:?}: scheme {scheme}:// is not supported (tftp, http, https)"
            ));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url:?}: unclosed [ in the host"))?;
            // A zone (RFC 6874, `fe80::1%25eth0`) is left out: a
            // link-local server is reached on the lease's interface.
            let h = h.split_once('%').map_or(h, |(a, _)| a);
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{url:?}: bad port {p:?}"))?,
            ),
            None => None,
        };
        let ip = host.parse::<IpAddr>().ok();
        let name_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if ip.is_none() && !name_ok {
            return Err(format!("{url:?}: {host:?} is not an address or host name"));
        }
        Ok(BootUrl {
            scheme,
            host: host.to_string(),
            ip,
            port,
            path: path.to_string(),
        })
    }

    /// The host as a URL writes it (an IPv6 address in brackets, shortest
    /// form).
    pub fn authority(&self) -> String {
        let h = match self.ip {
            Some(IpAddr::V6(a)) => format!("[{a}]"),
            Some(IpAddr::V4(a)) => a.to_string(),
            None => self.host.clone(),
        };
        match self.port {
            Some(p) => format!("{h}:{p}"),
            None => h,
        }
    }

    /// What pxeinit boots from: the boot server and the boot file for the
    /// PXELINUX lookup. `tftp://ADDR/DIR/FILE` on port 69 is the boot
    /// server `ADDR` and the file `DIR/FILE` on it (so that the lookup
    /// works in relative names, `DIR/pxelinux.cfg/...`, as with DHCPv4's
    /// next-server and file); anything else stays a URL (its directory is
    /// the path prefix), with the server when the host is an address.
    pub fn boot(&self) -> (Option<IpAddr>, String) {
        let file = self.path.trim_start_matches('/');
        if self.scheme == "tftp" && self.ip.is_some() && self.port.is_none_or(|p| p == 69) {
            return (self.ip, file.to_string());
        }
        (
            self.ip,
            format!("{}://{}{}", self.scheme, self.authority(), self.path),
        )
    }
}

impl Lease6 {
    /// The boot server named by option 59, if its host is an address,
    /// else the one from `ip=`.
    pub fn boot_server(&self) -> Option<IpAddr> {
        self.boot_url()
            .and_then(|u| u.ip)
            .or(self.server.map(IpAddr::V6))
    }

    /// Option 59 parsed, when it is a URL pxeinit can use.
    pub fn boot_url(&self) -> Option<BootUrl> {
        BootUrl::parse(self.bootfile_url.as_deref()?).ok()
    }

    /// The lease as JSON (`lease6` of `boot --dry-run`).
    pub fn to_json(&self) -> serde_json::Value {
        let strs = |v: &[Ipv6Addr]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        serde_json::json!({
            "interface": self.interface,
            "address": self.address.to_string(),
            "prefix_len": self.prefix_len,
            "method": self.method.name(),
            "routers": strs(&self.routers),
            "dns": strs(&self.dns),
            "domains": self.domains,
            "client_id": wire::format_duid(&self.client_id),
            "server_id": self.server_id.as_deref().map(wire::format_duid),
            "bootfile_url": self.bootfile_url,
            "bootfile_params": self.bootfile_params,
            "boot_server": self.boot_server().map(|a| a.to_string()),
            "ra": self.ra_flags.map(|(m, o)| serde_json::json!({"managed": m, "other": o})),
            "seconds": self.elapsed.as_secs_f64(),
        })
    }
}

/// Why IPv6 gave no lease, in one line naming the interface.
#[derive(Debug)]
pub enum Dhcp6Error {
    /// The link-local address did not become usable.
    NoLinkLocal {
        /// Interface.
        interface: String,
        /// Time waited.
        after: Duration,
    },
    /// No DHCPv6 server answered.
    NoAnswer {
        /// Interface.
        interface: String,
        /// SOLICIT or INFORMATION-REQUEST.
        what: MessageType,
        /// Messages sent.
        sent: u32,
        /// Time spent.
        after: Duration,
        /// Whether a router advertisement came.
        ra: bool,
    },
    /// No usable address came (SLAAC or DHCPv6).
    NoAddress {
        /// Interface.
        interface: String,
        /// Why.
        why: String,
    },
    /// A socket or interface call failed.
    Io {
        /// Interface.
        interface: String,
        /// What was being done.
        what: &'static str,
        /// The error.
        err: io::Error,
    },
}

impl fmt::Display for Dhcp6Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dhcp6Error::NoLinkLocal { interface, after } => write!(
                f,
                "no IPv6 on {interface}: no usable link-local address after {:.1} s",
                after.as_secs_f64()
            ),
            Dhcp6Error::NoAnswer {
                interface,
                what,
                sent,
                after,
                ra,
            } => write!(
                f,
                "no IPv6 lease on {interface}: {} router advertisement, no DHCPv6 answer to {sent} {what}s in {:.1} s",
                if *ra { "a" } else { "no" },
                after.as_secs_f64()
            ),
            Dhcp6Error::NoAddress { interface, why } => {
                write!(f, "no IPv6 address on {interface}: {why}")
            }
            Dhcp6Error::Io {
                interface,
                what,
                err,
            } => write!(f, "IPv6 on {interface}: {what}: {err}"),
        }
    }
}

impl std::error::Error for Dhcp6Error {}

/// RFC 8415 §15 retransmission: the first timeout is IRT ± 10%, each next
/// one twice the last ± 10%, capped at MRT ± 10%, for at most MRC
/// transmissions (0: no limit; the caller's deadline is MRD).
#[derive(Debug, Clone)]
pub struct Retrans {
    irt: Duration,
    mrt: Duration,
    mrc: u32,
    /// The first timeout only above IRT (Solicit, §18.2.1).
    first_above: bool,
    rt: Duration,
    sent: u32,
}

impl Retrans {
    /// The schedule for IRT, MRT, MRC.
    pub fn new(irt: Duration, mrt: Duration, mrc: u32) -> Retrans {
        Retrans {
            irt,
            mrt,
            mrc,
            first_above: false,
            rt: Duration::ZERO,
            sent: 0,
        }
    }

    /// Solicit's schedule: the first RAND strictly positive.
    pub fn solicit() -> Retrans {
        Retrans {
            first_above: true,
            ..Retrans::new(timing::SOL_TIMEOUT, timing::SOL_MAX_RT, 0)
        }
    }

    /// Messages sent so far.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// Count one transmission; the time to wait for its answer, drawn
    /// with `rnd`; `None` when MRC transmissions have been made.
    pub fn next(&mut self, rnd: u32) -> Option<Duration> {
        if self.mrc > 0 && self.sent >= self.mrc {
            return None;
        }
        // RAND in [-0.1, +0.1], in thousandths.
        let mut r = i64::from(rnd % 201) - 100;
        let vary = |base: Duration, r: i64| {
            let ms = base.as_millis() as i64;
            Duration::from_millis((ms + ms * r / 1000).max(1) as u64)
        };
        self.rt = if self.sent == 0 {
            if self.first_above {
                r = i64::from(rnd % 100) + 1;
            }
            vary(self.irt, r)
        } else {
            // RT = 2 * RTprev + RAND * RTprev.
            let prev = self.rt.as_millis() as i64;
            let rt = Duration::from_millis((2 * prev + prev * r / 1000).max(1) as u64);
            if !self.mrt.is_zero() && rt > self.mrt {
                vary(self.mrt, r)
            } else {
                rt
            }
        };
        self.sent += 1;
        Some(self.rt)
    }
}

/// The Client ID: DUID-UUID from the machine UUID, else DUID-LL.
pub fn duid(uuid: Option<&[u8; 16]>, mac: &[u8; 6]) -> Vec<u8> {
    match uuid {
        Some(u) => wire::duid_uuid(u),
        None => wire::duid_ll(mac),
    }
}

/// What a message of type `t` asks for (ORO, RFC 8415 §18.2.1, §18.2.6).
pub fn oro(t: MessageType) -> Vec<u16> {
    let mut v = vec![
        opt::DNS_SERVERS,
        opt::DOMAIN_LIST,
        opt::BOOTFILE_URL,
        opt::BOOTFILE_PARAM,
    ];
    match t {
        MessageType::InformationRequest => {
            v.extend([opt::INFORMATION_REFRESH_TIME, opt::INF_MAX_RT]);
        }
        _ => v.push(opt::SOL_MAX_RT),
    }
    v
}

/// A client message: Client ID, Elapsed Time (hundredths of a second,
/// capped), ORO, architecture, interface identifier.
pub fn message(t: MessageType, xid: u32, client_id: &[u8], elapsed: Duration) -> Repr {
    let mut r = Repr::new(t, xid);
    let cs = (elapsed.as_millis() / 10).min(0xffff) as u16;
    r.push(opt::CLIENTID, client_id)
        .push(opt::ELAPSED_TIME, cs.to_be_bytes())
        .push(opt::ORO, wire::u16_data(&oro(t)))
        .push(opt::CLIENT_ARCH_TYPE, ARCH_S390X.to_be_bytes())
        .push(opt::NII, [1u8, 3, 16]);
    r
}

/// Whether `r` answers our message `xid` as a `want` (RFC 8415 §16):
/// the type, the transaction id, our Client ID; a Server ID unless
/// `server_id_optional`.
pub fn accept(r: &Repr, want: MessageType, xid: u32, client_id: &[u8], sid_optional: bool) -> bool {
    r.msg_type == want
        && r.xid == xid & 0x00ff_ffff
        && r.client_id() == Some(client_id)
        && (sid_optional || r.server_id().is_some_and(|s| !s.is_empty()))
}

/// The better of two ADVERTISEs (RFC 8415 §18.2.9: the higher
/// preference; then one with a boot URL).
fn rank(r: &Repr) -> (u8, bool) {
    (r.preference(), r.bootfile_url().is_some())
}

/// A random transaction id (24 bits), or a draw for [`Retrans::next`].
fn random24(mix: &[u8]) -> u32 {
    (crate::rng::u64_mixed(mix) & 0x00ff_ffff) as u32
}

/// The DHCPv6 side of one interface.
struct Client {
    sock: UdpSocket,
    interface: String,
    ifindex: u32,
    duid: Vec<u8>,
}

impl Client {
    fn open(interface: &str, ifindex: u32, duid: Vec<u8>) -> Result<Client, Dhcp6Error> {
        let e = |what: &'static str| {
            let interface = interface.to_string();
            move |err: nix::Error| Dhcp6Error::Io {
                interface,
                what,
                err: io::Error::from(err),
            }
        };
        let fd = socket::socket(
            AddressFamily::Inet6,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(e("socket"))?;
        socket::setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(e("SO_REUSEADDR"))?;
        socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true).map_err(e("IPV6_V6ONLY"))?;
        socket::setsockopt(
            &fd,
            sockopt::BindToDevice,
            &std::ffi::OsString::from(interface),
        )
        .map_err(e("SO_BINDTODEVICE"))?;
        let addr = SockaddrIn6::from(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, CLIENT_PORT, 0, 0));
        socket::bind(fd.as_raw_fd(), &addr).map_err(e("bind to port 546"))?;
        Ok(Client {
            sock: UdpSocket::from(fd),
            interface: interface.to_string(),
            ifindex,
            duid,
        })
    }

    fn io(&self, what: &'static str) -> impl FnOnce(io::Error) -> Dhcp6Error + '_ {
        move |err| Dhcp6Error::Io {
            interface: self.interface.clone(),
            what,
            err,
        }
    }

    fn send(&self, r: &Repr) -> Result<(), Dhcp6Error> {
        let dst = SocketAddrV6::new(ALL_SERVERS, SERVER_PORT, 0, self.ifindex);
        debug!(
            "dhcp6: {} xid {:06x} on {}",
            r.msg_type, r.xid, self.interface
        );
        self.sock
            .send_to(&r.to_vec(), dst)
            .map_err(self.io("send to ff02::1:2 port 547"))?;
        Ok(())
    }

    /// The next well-formed message before `deadline`.
    fn recv(&self, deadline: Instant) -> Result<Option<Repr>, Dhcp6Error> {
        let mut buf = [0u8; 1500];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.sock
                .set_read_timeout(Some(left))
                .map_err(self.io("set timeout"))?;
            match self.sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let parsed = wire::Packet::new_checked(&buf[..n]).and_then(|p| Repr::parse(&p));
                    match parsed {
                        Ok(r) => return Ok(Some(r)),
                        Err(_) => debug!("dhcp6: ignoring a malformed packet from {from}"),
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
                    continue
                }
                Err(e) => return Err(self.io("receive")(e)),
            }
        }
    }

    fn no_answer(&self, what: MessageType, sent: u32, start: Instant, ra: bool) -> Dhcp6Error {
        Dhcp6Error::NoAnswer {
            interface: self.interface.clone(),
            what,
            sent,
            after: start.elapsed(),
            ra,
        }
    }

    /// Stateless: INFORMATION-REQUEST until a REPLY or `until`.
    fn inform(&self, until: Instant, ra: bool) -> Result<Repr, Dhcp6Error> {
        let start = Instant::now();
        let xid = random24(&self.duid);
        let mut rt = Retrans::new(timing::INF_TIMEOUT, timing::INF_MAX_RT, 0);
        let t = MessageType::InformationRequest;
        loop {
            if Instant::now() >= until {
                return Err(self.no_answer(t, rt.sent(), start, ra));
            }
            self.send(&message(t, xid, &self.duid, start.elapsed()))?;
            let wait = rt
                .next(random24(&xid.to_be_bytes()))
                .unwrap_or(timing::INF_TIMEOUT);
            let deadline = (Instant::now() + wait).min(until);
            while let Some(r) = self.recv(deadline)? {
                if accept(&r, MessageType::Reply, xid, &self.duid, true) {
                    return Ok(r);
                }
                debug!("dhcp6: ignoring {} xid {:06x}", r.msg_type, r.xid);
            }
        }
    }

    /// Stateful: SOLICIT (Rapid Commit), ADVERTISE, REQUEST, REPLY with
    /// a usable address, until `until`.
    fn solicit(&self, until: Instant, ra: bool) -> Result<Repr, Dhcp6Error> {
        let start = Instant::now();
        let iaid = u32::from_be_bytes(
            self.duid[self.duid.len().saturating_sub(4)..]
                .try_into()
                .unwrap_or([0, 0, 0, 1]),
        );
        let mut solicits = 0;
        'again: loop {
            let xid = random24(&self.duid);
            let ia = wire::IaNa {
                iaid,
                ..Default::default()
            };
            let mut rt = Retrans::solicit();
            let mut best: Option<Repr> = None;
            let mut first_rt_over = false;
            let advert = loop {
                if Instant::now() >= until {
                    return Err(self.no_answer(MessageType::Solicit, solicits, start, ra));
                }
                let mut m = message(MessageType::Solicit, xid, &self.duid, start.elapsed());
                m.push(opt::RAPID_COMMIT, vec![])
                    .push(opt::IA_NA, ia.to_vec());
                self.send(&m)?;
                solicits += 1;
                let wait = rt
                    .next(random24(&m.xid.to_be_bytes()))
                    .unwrap_or(timing::SOL_TIMEOUT);
                let deadline = (Instant::now() + wait).min(until);
                while let Some(r) = self.recv(deadline)? {
                    if accept(&r, MessageType::Reply, xid, &self.duid, false) && r.rapid_commit() {
                        if r.ia_na().as_ref().and_then(wire::IaNa::usable).is_some() {
                            return Ok(r);
                        }
                        warn!("dhcp6: REPLY without a usable address ({})", ia_status(&r));
                        continue;
                    }
                    if !accept(&r, MessageType::Advertise, xid, &self.duid, false) {
                        continue;
                    }
                    if r.ia_na().as_ref().and_then(wire::IaNa::usable).is_none() {
                        debug!("dhcp6: ADVERTISE without an address ({})", ia_status(&r));
                        continue;
                    }
                    let pref = r.preference();
                    if best.as_ref().is_none_or(|b| rank(&r) > rank(b)) {
                        best = Some(r);
                    }
                    if pref == 255 || first_rt_over {
                        break;
                    }
                }
                first_rt_over = true;
                if let Some(b) = best.take() {
                    break b;
                }
            };
            let Some(addr) = advert.ia_na().and_then(|i| i.usable().cloned()) else {
                continue 'again;
            };
            let sid = advert.server_id().unwrap_or_default().to_vec();
            info!(
                "dhcp6: ADVERTISE of {} from server {}",
                addr.addr,
                wire::format_duid(&sid)
            );
            let req_ia = wire::IaNa {
                iaid,
                addrs: vec![wire::IaAddr {
                    preferred: 0,
                    valid: 0,
                    ..addr
                }],
                ..Default::default()
            };
            let xid = random24(&sid);
            let rstart = Instant::now();
            let mut rt = Retrans::new(timing::REQ_TIMEOUT, timing::REQ_MAX_RT, timing::REQ_MAX_RC);
            while let Some(wait) = rt.next(random24(&xid.to_be_bytes())) {
                if Instant::now() >= until {
                    break;
                }
                let mut m = message(MessageType::Request, xid, &self.duid, rstart.elapsed());
                m.push(opt::SERVERID, sid.clone())
                    .push(opt::IA_NA, req_ia.to_vec());
                self.send(&m)?;
                let deadline = (Instant::now() + wait).min(until);
                while let Some(r) = self.recv(deadline)? {
                    if !accept(&r, MessageType::Reply, xid, &self.duid, false) {
                        continue;
                    }
                    if r.ia_na().as_ref().and_then(wire::IaNa::usable).is_some() {
                        return Ok(r);
                    }
                    warn!(
                        "dhcp6: REPLY to REQUEST without an address ({}); soliciting again",
                        ia_status(&r)
                    );
                    continue 'again;
                }
            }
            warn!("dhcp6: no REPLY to REQUEST; soliciting again");
        }
    }
}

/// The status of a message and its IA, for a log line.
fn ia_status(r: &Repr) -> String {
    match r.ia_na().and_then(|i| i.status) {
        Some(s) => s.to_string(),
        None => r.status().to_string(),
    }
}

/// Obtain IPv6 on `interface` (which must be up) with hardware address
/// `mac`; see the module doc.
pub fn lease(interface: &str, mac: [u8; 6], cfg: &Config) -> Result<Lease6, Dhcp6Error> {
    let start = Instant::now();
    let until = start + cfg.limit.min(Duration::from_secs(86_400 * 7));
    let io = |what: &'static str| {
        move |err: io::Error| Dhcp6Error::Io {
            interface: interface.to_string(),
            what,
            err,
        }
    };
    let ifindex = net6::ifindex(interface).ok_or_else(|| {
        io("ifindex")(io::Error::new(io::ErrorKind::NotFound, "no such interface"))
    })?;
    // Open before the link-local address is ready: the advertisement
    // answering the kernel's own solicitation is seen too.
    let listener = match ra::Listener::open(interface, ifindex) {
        Ok(l) => Some(l),
        Err(e) => {
            warn!("{interface}: cannot listen for router advertisements ({e}); going on without");
            None
        }
    };
    // Every wait stays within the caller's limit.
    let within = |d: Duration| d.min(until.saturating_duration_since(Instant::now()));
    let Some(ll) = net6::wait_for(within(LINK_LOCAL_WAIT), || net6::link_local(interface)) else {
        return Err(Dhcp6Error::NoLinkLocal {
            interface: interface.to_string(),
            after: start.elapsed(),
        });
    };
    debug!(
        "{interface}: link-local {ll} after {:.2} s",
        start.elapsed().as_secs_f64()
    );
    let advert = match &listener {
        Some(l) => ra::solicit(l, Some(&mac), within(RA_WAIT), RS_INTERVAL)
            .map_err(io("router solicitation"))?,
        None => None,
    };
    drop(listener);
    match &advert {
        Some((from, a)) => info!(
            "{interface}: router advertisement from {from}: M={} O={}, prefixes {}",
            u8::from(a.managed),
            u8::from(a.other),
            a.prefixes
                .iter()
                .map(|p| format!(
                    "{}/{}{}",
                    p.prefix,
                    p.len,
                    if p.autonomous { " (SLAAC)" } else { "" }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => info!(
            "{interface}: no router advertisement in {} s",
            RA_WAIT.as_secs()
        ),
    }
    let ra = advert.as_ref().map(|(_, a)| a);
    let client = Client::open(interface, ifindex, duid(cfg.uuid.as_ref(), &mac))?;
    let slaac = ra.and_then(ra::Advert::slaac_prefix).cloned();
    let managed = match cfg.method {
        V6Method::Auto => ra.is_none_or(|a| a.managed) || slaac.is_none(),
        V6Method::Dhcp6 => true,
        V6Method::Slaac => false,
    };
    let mut lease = if managed {
        match stateful(&client, ra, until) {
            Ok(l) => Some(l),
            Err(e) if slaac.is_some() && cfg.method == V6Method::Auto => {
                warn!("{e}; using the SLAAC address instead");
                None
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    if lease.is_none() {
        let Some(prefix) = &slaac else {
            return Err(Dhcp6Error::NoAddress {
                interface: interface.to_string(),
                why: "no SLAAC prefix and no DHCPv6 address".into(),
            });
        };
        lease = Some(stateless(&client, ra, prefix, &mac, until)?);
    }
    let Some(mut lease) = lease else {
        return Err(Dhcp6Error::NoAddress {
            interface: interface.to_string(),
            why: "no address".into(),
        });
    };
    if ra.is_some_and(|a| a.lifetime > 0) {
        lease.routers = net6::wait_for(Duration::from_secs(2), || {
            Some(net6::default_routers(interface)).filter(|r| !r.is_empty())
        })
        .unwrap_or_else(|| advert.iter().map(|(f, _)| *f).collect());
    }
    if lease.dns.is_empty() {
        lease.dns = ra.map(|a| a.dns.clone()).unwrap_or_default();
    }
    lease.ra_flags = ra.map(|a| (a.managed, a.other));
    lease.elapsed = start.elapsed();
    info!(
        "dhcp6: {} {}/{} on {interface}{}",
        match lease.method {
            Method::Slaac => "SLAAC address",
            Method::Dhcpv6 | Method::Static => "lease",
        },
        lease.address,
        lease.prefix_len,
        match &lease.bootfile_url {
            Some(u) => format!(", boot file URL {u}"),
            None => ", no boot file URL (option 59)".into(),
        }
    );
    Ok(lease)
}

fn from_reply(interface: &str, r: Option<&Repr>, client_id: &[u8], method: Method) -> Lease6 {
    Lease6 {
        interface: interface.to_string(),
        address: Ipv6Addr::UNSPECIFIED,
        prefix_len: 64,
        method,
        routers: vec![],
        dns: r.map(Repr::dns_servers).unwrap_or_default(),
        domains: r.map(Repr::domain_list).unwrap_or_default(),
        server_id: r.and_then(|r| r.server_id()).map(<[u8]>::to_vec),
        client_id: client_id.to_vec(),
        bootfile_url: r.and_then(Repr::bootfile_url),
        bootfile_params: r.map(Repr::bootfile_params).unwrap_or_default(),
        server: None,
        ra_flags: None,
        elapsed: Duration::ZERO,
    }
}

/// The lease `ip=[ADDR]:[SERVER]:[GW]:PREFIXLEN:...` stands for on
/// `interface`.
pub fn static_lease(interface: &str, ip: &StaticIp6) -> Lease6 {
    Lease6 {
        address: ip.client,
        prefix_len: ip.prefix_len,
        routers: ip.gateway.into_iter().collect(),
        server: ip.server,
        ..from_reply(interface, None, &[], Method::Static)
    }
}

/// Put a static lease on its interface: the address, and the default
/// route through its gateway; then wait for duplicate address detection.
pub fn configure_static(l: &Lease6) -> Result<(), Dhcp6Error> {
    let iface = &l.interface;
    let io = |what: &'static str| {
        move |e: crate::net::NetError| Dhcp6Error::Io {
            interface: iface.clone(),
            what,
            err: e.err,
        }
    };
    net6::add_address(iface, l.address, l.prefix_len).map_err(io("add the ip= address"))?;
    wait_usable(iface, l.address)?;
    for gw in &l.routers {
        net6::add_default_route(iface, *gw).map_err(io("add the ip= default route"))?;
    }
    Ok(())
}

/// The stateful exchange, then the address on the interface.
fn stateful(c: &Client, ra: Option<&ra::Advert>, until: Instant) -> Result<Lease6, Dhcp6Error> {
    let reply = c.solicit(until, ra.is_some())?;
    let Some(a) = reply.ia_na().and_then(|i| i.usable().cloned()) else {
        return Err(Dhcp6Error::NoAddress {
            interface: c.interface.clone(),
            why: "the REPLY has no usable address".into(),
        });
    };
    let plen = ra
        .into_iter()
        .flat_map(|ra| ra.prefixes.iter())
        .find(|p| p.on_link && net6::in_prefix(a.addr, p.prefix, p.len))
        .map_or(64, |p| p.len);
    net6::add_address(&c.interface, a.addr, plen).map_err(|e| Dhcp6Error::Io {
        interface: c.interface.clone(),
        what: "add the DHCPv6 address",
        err: e.err,
    })?;
    wait_usable(&c.interface, a.addr)?;
    let mut l = from_reply(&c.interface, Some(&reply), &c.duid, Method::Dhcpv6);
    l.address = a.addr;
    l.prefix_len = plen;
    Ok(l)
}

/// The stateless exchange (bounded when O=0) and the kernel's SLAAC
/// address in `prefix`.
fn stateless(
    c: &Client,
    ra: Option<&ra::Advert>,
    prefix: &ra::Prefix,
    mac: &[u8; 6],
    until: Instant,
) -> Result<Lease6, Dhcp6Error> {
    let other = ra.is_some_and(|a| a.other);
    let inform_until = if other {
        until
    } else {
        until.min(Instant::now() + INFORM_WITHOUT_O)
    };
    let reply = match c.inform(inform_until, ra.is_some()) {
        Ok(r) => Some(r),
        Err(e @ Dhcp6Error::NoAnswer { .. }) => {
            warn!("{e}; going on with SLAAC only");
            None
        }
        Err(e) => return Err(e),
    };
    let iface = &c.interface;
    let mine =
        |a: &net6::Addr6| a.is_routable() && net6::in_prefix(a.addr, prefix.prefix, prefix.len);
    let addr = match net6::no_slaac_reason(iface) {
        // The kernel will not: the address from the prefix and the EUI-64
        // of the MAC, as it would have made it.
        Some(why) => {
            let mut o = prefix.prefix.octets();
            o[8..].copy_from_slice(&net6::eui64(mac));
            let a = Ipv6Addr::from(o);
            info!("{why}: adding the SLAAC address {a}/64 itself");
            net6::add_address(iface, a, 64).map_err(|e| Dhcp6Error::Io {
                interface: iface.clone(),
                what: "add the SLAAC address",
                err: e.err,
            })?;
            wait_usable(iface, a)?;
            a
        }
        // The kernel's own (not one added by hand, such as an earlier
        // attempt's DHCPv6 address in the same prefix).
        None => net6::wait_for(ADDRESS_WAIT, || {
            net6::addresses(iface)
                .into_iter()
                .filter(|a| mine(a) && a.usable())
                .min_by_key(|a| a.flags & net6::flags::PERMANENT != 0)
                .map(|a| a.addr)
        })
        .ok_or_else(|| Dhcp6Error::NoAddress {
            interface: iface.clone(),
            why: format!(
                "the kernel made no usable SLAAC address in {}/{} within {} s",
                prefix.prefix,
                prefix.len,
                ADDRESS_WAIT.as_secs()
            ),
        })?,
    };
    let mut l = from_reply(iface, reply.as_ref(), &c.duid, Method::Slaac);
    l.address = addr;
    l.prefix_len = prefix.len;
    Ok(l)
}

/// Wait until DAD has finished on `addr`.
fn wait_usable(iface: &str, addr: Ipv6Addr) -> Result<(), Dhcp6Error> {
    let ok = net6::wait_for(ADDRESS_WAIT, || {
        net6::addresses(iface)
            .into_iter()
            .find(|a| a.addr == addr)
            .filter(|a| a.usable())
    });
    match ok {
        Some(_) => Ok(()),
        None => Err(Dhcp6Error::NoAddress {
            interface: iface.to_string(),
            why: format!(
                "{addr} did not become usable in {} s (duplicate address detection failed?)",
                ADDRESS_WAIT.as_secs()
            ),
        }),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn retransmission_follows_rfc8415() {
        // INF: 1 s ± 10%, then doubling ± 10%.
        for rnd in [0u32, 50, 100, 150, 200, 12345] {
            let mut r = Retrans::new(timing::INF_TIMEOUT, timing::INF_MAX_RT, 0);
            let first = r.next(rnd).unwrap().as_millis() as i64;
            assert!((900..=1100).contains(&first), "{first}");
            let second = r.next(rnd).unwrap().as_millis() as i64;
            assert!(
                (first * 2 * 9 / 10..=first * 2 * 11 / 10).contains(&second),
                "{second}"
            );
        }
        // Solicit: the first RAND strictly positive.
        for rnd in 0..300u32 {
            let t = Retrans::solicit().next(rnd).unwrap();
            assert!(
                t > timing::SOL_TIMEOUT && t <= Duration::from_millis(1100),
                "{t:?}"
            );
        }
        // MRT caps, MRC ends.
        let mut r = Retrans::new(timing::REQ_TIMEOUT, timing::REQ_MAX_RT, timing::REQ_MAX_RC);
        let all: Vec<Duration> = std::iter::from_fn(|| r.next(7)).collect();
        assert_eq!(all.len(), 10);
        assert!(
            all.iter().all(|t| *t <= Duration::from_millis(33_000)),
            "{all:?}"
        );
        assert!(
            *all.last().unwrap() >= Duration::from_millis(27_000),
            "{all:?}"
        );
        // Randomisation differs between draws.
        let a = Retrans::new(timing::INF_TIMEOUT, timing::INF_MAX_RT, 0).next(3);
        let b = Retrans::new(timing::INF_TIMEOUT, timing::INF_MAX_RT, 0).next(170);
        assert_ne!(a, b);
    }

    #[test]
    fn messages_carry_what_rfc8415_asks() {
        let mac = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
        let id = duid(None, &mac);
        let m = message(
            MessageType::InformationRequest,
            0x12_3456,
            &id,
            Duration::from_secs(2),
        );
        let b = m.to_vec();
        let r = Repr::parse(&wire::Packet::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(r.client_id(), Some(&id[..]));
        assert_eq!(r.get(opt::ELAPSED_TIME), Some(&[0u8, 200][..]));
        assert_eq!(r.oro(), [23, 24, 59, 60, 32, 83]);
        assert_eq!(r.get(opt::CLIENT_ARCH_TYPE), Some(&[0u8, 0x1f][..]));
        assert!(!r.has(opt::IA_NA), "no IA in an INFORMATION-REQUEST");
        let s = message(MessageType::Solicit, 1, &id, Duration::from_secs(1000));
        assert_eq!(s.oro(), [23, 24, 59, 60, 82]);
        assert_eq!(s.get(opt::ELAPSED_TIME), Some(&[0xffu8, 0xff][..]));
        let uuid = [7u8; 16];
        assert_eq!(duid(Some(&uuid), &mac)[..2], [0, 4]);
    }

    #[test]
    fn replies_are_checked() {
        let mac = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
        let id = duid(None, &mac);
        let mut r = Repr::new(MessageType::Reply, 0x42);
        r.push(opt::CLIENTID, id.clone());
        assert!(
            accept(&r, MessageType::Reply, 0x42, &id, true),
            "slirp: no Server ID"
        );
        assert!(!accept(&r, MessageType::Reply, 0x42, &id, false));
        assert!(
            !accept(&r, MessageType::Reply, 0x43, &id, true),
            "wrong xid"
        );
        assert!(!accept(&r, MessageType::Advertise, 0x42, &id, true));
        let other = duid(Some(&[1; 16]), &mac);
        assert!(
            !accept(&r, MessageType::Reply, 0x42, &other, true),
            "wrong Client ID"
        );
        let mut no_cid = Repr::new(MessageType::Reply, 0x42);
        no_cid.push(opt::SERVERID, vec![0, 1]);
        assert!(!accept(&no_cid, MessageType::Reply, 0x42, &id, true));
        r.push(opt::SERVERID, vec![0, 3, 0, 1, 1, 2, 3, 4, 5, 6]);
        assert!(accept(&r, MessageType::Reply, 0x42, &id, false));
    }

    #[test]
    fn boot_urls() {
        let u =
            BootUrl::parse("tftp://[fec0:0000:0000:0000:0000:0000:0000:0002]/pxelinux.0").unwrap();
        assert_eq!(u.ip, Some("fec0::2".parse().unwrap()));
        assert_eq!(u.boot(), (u.ip, "pxelinux.0".to_string()));
        let u = BootUrl::parse("tftp://[2001:db8::1]/s390x/pxelinux.0").unwrap();
        assert_eq!(u.boot().1, "s390x/pxelinux.0");
        let u = BootUrl::parse("TFTP://[2001:db8::1]:6969/s390x/pxelinux.0").unwrap();
        assert_eq!(u.boot().1, "tftp://[2001:db8::1]:6969/s390x/pxelinux.0");
        let u = BootUrl::parse("http://[2001:db8:0::1]:8080/boot/pxelinux.0").unwrap();
        assert_eq!(u.port, Some(8080));
        assert_eq!(
            u.boot(),
            (
                Some("2001:db8::1".parse().unwrap()),
                "http://[2001:db8::1]:8080/boot/pxelinux.0".to_string()
            )
        );
        let u = BootUrl::parse("tftp://boot.example/pxelinux.0").unwrap();
        assert_eq!(
            u.boot(),
            (None, "tftp://boot.example/pxelinux.0".to_string())
        );
        // A link-local server: the zone is left out (the lease's
        // interface is the scope).
        for url in [
            "tftp://[fe80::1%25eth0]/pxelinux.0",
            "tftp://[fe80::1%eth0]/pxelinux.0",
            "tftp://[fe80::1]/pxelinux.0",
        ] {
            let u = BootUrl::parse(url).unwrap();
            assert_eq!(
                u.boot(),
                (Some("fe80::1".parse().unwrap()), "pxelinux.0".into())
            );
        }
        let u = BootUrl::parse("http://[fe80::1%25eth0]:8080/b/pxelinux.0").unwrap();
        assert_eq!(u.boot().1, "http://[fe80::1]:8080/b/pxelinux.0");
        for bad in [
            "pxelinux.0",
            "ftp://[::1]/x",
            "tftp://[::1/x",
            "tftp://[::1]:0/x",
            "tftp://[::1]:x/x",
            "tftp:///x",
            "tftp://a b/x",
        ] {
            assert!(BootUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lease_json() {
        let mut l = from_reply("eth0", None, &[0, 3, 0, 1, 1, 2, 3, 4, 5, 6], Method::Slaac);
        l.address = "fec0::5254:ff:fe12:3456".parse().unwrap();
        l.bootfile_url = Some("tftp://[fec0::2]/pxelinux.0".into());
        let j = l.to_json();
        assert_eq!(j["method"], "slaac");
        assert_eq!(j["boot_server"], "fec0::2");
        assert_eq!(j["client_id"], "00:03:00:01:01:02:03:04:05:06");
        assert_eq!(j["server_id"], serde_json::Value::Null);
    }
}

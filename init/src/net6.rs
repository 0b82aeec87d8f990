//! IPv6 on an interface, as the kernel sees it: addresses from
//! /proc/net/if_inet6, routes from /proc/net/ipv6_route (pure parsers,
//! tested), waiting for a usable (DAD-completed) address, and adding an
//! address by the classic `SIOCSIFADDR` ioctl on an `AF_INET6` socket (a
//! DHCPv6-assigned or static address; SLAAC addresses the kernel makes
//! itself) and a default route by `SIOCADDRT` (a static gateway).
//!
//! Every `unsafe` block here says why it is sound (`SAFETY:`).

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::fs;
use std::io;
use std::net::{Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::net::NetError;

/// Address flags of /proc/net/if_inet6 (`IFA_F_*`, linux/if_addr.h).
pub mod flags {
    /// Optimistic DAD (RFC 4429): usable while DAD runs.
    pub const OPTIMISTIC: u32 = 0x04;
    /// DAD found a duplicate.
    pub const DADFAILED: u32 = 0x08;
    /// DAD has not finished.
    pub const TENTATIVE: u32 = 0x40;
    /// Added by hand (an ioctl, `ip addr add`), not by SLAAC.
    pub const PERMANENT: u32 = 0x80;
}

/// Address scopes of /proc/net/if_inet6 (`IPV6_ADDR_*` scope bits).
pub mod scope {
    /// ::1
    pub const HOST: u32 = 0x10;
    /// fe80::/10
    pub const LINK: u32 = 0x20;
}

/// One line of /proc/net/if_inet6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr6 {
    /// The address.
    pub addr: Ipv6Addr,
    /// Interface index.
    pub ifindex: u32,
    /// Prefix length.
    pub prefix_len: u8,
    /// Scope bits ([`scope`]; 0 is global, 0x40 site-local).
    pub scope: u32,
    /// `IFA_F_*` flags ([`flags`]).
    pub flags: u32,
    /// Interface name.
    pub dev: String,
}

impl Addr6 {
    /// DAD has completed (or is optimistic) and did not fail.
    pub fn usable(&self) -> bool {
        self.flags & flags::DADFAILED == 0
            && (self.flags & flags::TENTATIVE == 0 || self.flags & flags::OPTIMISTIC != 0)
    }

    /// Link-local (fe80::/10).
    pub fn is_link_local(&self) -> bool {
        self.scope == scope::LINK
    }

    /// Neither link-local nor loopback: an address a server off the link
    /// can answer (global, unique local, or slirp's site-local fec0::/64).
    pub fn is_routable(&self) -> bool {
        self.scope != scope::LINK && self.scope != scope::HOST
    }
}

fn hex_addr(s: &str) -> Option<Ipv6Addr> {
    if s.len() != 32 {
        return None;
    }
    let n = u128::from_str_radix(s, 16).ok()?;
    s.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then_some(Ipv6Addr::from(n))
}

fn hex_u32(s: &str) -> Option<u32> {
    u32::from_str_radix(s, 16).ok()
}

/// Parse /proc/net/if_inet6: `ADDR IFINDEX PLEN SCOPE FLAGS NAME`, all
/// hex but the name; lines that do not parse are left out.
pub fn parse_if_inet6(text: &str) -> Vec<Addr6> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [a, i, p, s, fl, dev] = f.as_slice() else {
                return None;
            };
            Some(Addr6 {
                addr: hex_addr(a)?,
                ifindex: hex_u32(i)?,
                prefix_len: u8::try_from(hex_u32(p)?).ok()?,
                scope: hex_u32(s)?,
                flags: hex_u32(fl)?,
                dev: dev.to_string(),
            })
        })
        .collect()
}

/// One line of /proc/net/ipv6_route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route6 {
    /// Destination.
    pub dest: Ipv6Addr,
    /// Destination prefix length.
    pub dest_len: u8,
    /// Next hop (:: for on-link routes).
    pub next_hop: Ipv6Addr,
    /// Metric.
    pub metric: u32,
    /// `RTF_*` flags.
    pub flags: u32,
    /// Interface name.
    pub dev: String,
}

impl Route6 {
    /// A default route through a router.
    pub fn is_default(&self) -> bool {
        self.dest_len == 0 && !self.next_hop.is_unspecified()
    }
}

/// Parse /proc/net/ipv6_route: `DEST DLEN SRC SLEN NEXTHOP METRIC REFCNT
/// USE FLAGS DEV`; lines that do not parse are left out.
pub fn parse_ipv6_route(text: &str) -> Vec<Route6> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [d, dl, _, _, nh, m, _, _, fl, dev] = f.as_slice() else {
                return None;
            };
            Some(Route6 {
                dest: hex_addr(d)?,
                dest_len: u8::try_from(hex_u32(dl)?).ok()?,
                next_hop: hex_addr(nh)?,
                metric: hex_u32(m)?,
                flags: hex_u32(fl)?,
                dev: dev.to_string(),
            })
        })
        .collect()
}

/// The IPv6 addresses of interface `name` (none when IPv6 is off).
pub fn addresses(name: &str) -> Vec<Addr6> {
    let t = fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
    parse_if_inet6(&t)
        .into_iter()
        .filter(|a| a.dev == name)
        .collect()
}

/// The routers of the default routes on `name`, lowest metric first.
pub fn default_routers(name: &str) -> Vec<Ipv6Addr> {
    let t = fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    let mut r: Vec<Route6> = parse_ipv6_route(&t)
        .into_iter()
        .filter(|r| r.dev == name && r.is_default())
        .collect();
    r.sort_by_key(|r| r.metric);
    r.into_iter().map(|r| r.next_hop).collect()
}

/// The usable link-local address of `name`, if it has one yet.
pub fn link_local(name: &str) -> Option<Ipv6Addr> {
    addresses(name)
        .into_iter()
        .find(|a| a.is_link_local() && a.usable())
        .map(|a| a.addr)
}

/// Call `f` every 20 ms until it gives something or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The interface index of `name` (sysfs).
pub fn ifindex(name: &str) -> Option<u32> {
    fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `net.ipv6.conf.NAME.KEY`, if readable.
pub fn sysctl(name: &str, key: &str) -> Option<String> {
    fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{name}/{key}"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Why the kernel will not make a SLAAC address on `name` by itself, if
/// it will not: IPv6 off, router advertisements or autoconfiguration off.
pub fn no_slaac_reason(name: &str) -> Option<String> {
    let on = |k: &str, ok: &[&str]| sysctl(name, k).is_some_and(|v| ok.contains(&v.as_str()));
    if sysctl(name, "disable_ipv6").as_deref() == Some("1") {
        return Some(format!("IPv6 is disabled on {name} (disable_ipv6=1)"));
    }
    if sysctl(name, "accept_ra").is_some() && !on("accept_ra", &["1", "2"]) {
        return Some(format!(
            "{name} does not accept router advertisements (accept_ra=0)"
        ));
    }
    if sysctl(name, "autoconf").is_some() && !on("autoconf", &["1"]) {
        return Some(format!("{name} has autoconf=0"));
    }
    None
}

/// Skip duplicate address detection on `name` (`accept_dad=0`,
/// `dad_transmits=0`), as the s390-ccw firmware and iPXE do: otherwise
/// the link-local address, then the SLAAC address each wait a random
/// delay and a DAD round (1 to 2 s under TCG). Optimistic DAD (RFC 4429)
/// is no cure: neighbour discovery from an optimistic link-local address
/// costs a retransmission (1 s) of the first TFTP request, and
/// `dad_transmits=0` alone still waits the random delay (up to
/// `rtr_solicit_delay`, 1 s). Set before the link comes up (the
/// link-local address is made then). For the PID 1 only: on a running
/// Linux the sysctls are the administrator's. Failure is harmless (DAD
/// runs).
pub fn skip_dad(name: &str) {
    for (key, v) in [("accept_dad", "0"), ("dad_transmits", "0")] {
        let _ = fs::write(format!("/proc/sys/net/ipv6/conf/{name}/{key}"), v);
    }
}

/// Ignore router advertisements on `name` (`accept_ra=0`): with a static
/// IPv6 address (`ip=[...]`) the kernel neither makes a SLAAC address
/// nor takes a default route beside the static ones while files come
/// (as a static configuration means elsewhere, e.g. NetworkManager's
/// `ipv6.method=manual`). For the PID 1 only, as [`skip_dad`].
pub fn ignore_ra(name: &str) {
    let _ = fs::write(format!("/proc/sys/net/ipv6/conf/{name}/accept_ra"), "0");
}

/// Run the ioctl `request` on an `AF_INET6` datagram socket, its
/// argument made by `arg` from `name`'s interface index; `EEXIST` (the
/// address or route is already there) is not an error. `what` names the
/// call in the error.
///
/// # Safety
///
/// `request` must take a pointer to a `T` that `arg` initialises fully
/// and that holds no pointers.
unsafe fn inet6_ioctl<T>(
    name: &str,
    request: libc::c_ulong,
    what: &'static str,
    arg: impl FnOnce(libc::c_int) -> T,
) -> Result<(), NetError> {
    let err = |what: &'static str| {
        move |err: io::Error| NetError {
            interface: name.to_string(),
            what,
            err,
        }
    };
    let index = ifindex(name).ok_or_else(|| {
        err("ifindex")(io::Error::new(io::ErrorKind::NotFound, "no such interface"))
    })?;
    let fd = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet6,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| err("socket")(io::Error::from(e)))?;
    let mut arg = arg(index as libc::c_int);
    // SAFETY: the caller promises that `request` takes a `T`; `arg` is
    // one, fully initialised, and lives across the call.
    let r = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            request as _,
            (&mut arg as *mut T).cast::<libc::c_void>(),
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(err(what)(e));
        }
    }
    Ok(())
}

/// Add `addr/prefix_len` to `name` (`SIOCSIFADDR` on an `AF_INET6`
/// socket). An address that is already there is not an error.
pub fn add_address(name: &str, addr: Ipv6Addr, prefix_len: u8) -> Result<(), NetError> {
    // SAFETY: SIOCSIFADDR on an AF_INET6 socket takes a struct in6_ifreq,
    // which holds no pointers.
    unsafe {
        inet6_ioctl(
            name,
            libc::SIOCSIFADDR as libc::c_ulong,
            "SIOCSIFADDR (IPv6 address)",
            |index| libc::in6_ifreq {
                ifr6_addr: libc::in6_addr {
                    s6_addr: addr.octets(),
                },
                ifr6_prefixlen: u32::from(prefix_len),
                ifr6_ifindex: index,
            },
        )
    }
}

/// `struct in6_rtmsg` (linux/ipv6_route.h), the argument of `SIOCADDRT`
/// on an `AF_INET6` socket (the libc crate's has private fields).
#[repr(C)]
struct In6Rtmsg {
    dst: libc::in6_addr,
    src: libc::in6_addr,
    gateway: libc::in6_addr,
    kind: u32,
    dst_len: u16,
    src_len: u16,
    metric: u32,
    info: libc::c_ulong,
    flags: u32,
    ifindex: libc::c_int,
}

/// Add a default route through `gateway` on `name` (`SIOCADDRT` on an
/// `AF_INET6` socket; a link-local gateway is reached on `name`). A route
/// that is already there is not an error.
pub fn add_default_route(name: &str, gateway: Ipv6Addr) -> Result<(), NetError> {
    let any = libc::in6_addr { s6_addr: [0; 16] };
    // SAFETY: SIOCADDRT on an AF_INET6 socket takes a struct in6_rtmsg;
    // `In6Rtmsg` has its layout (repr(C), the same fields in the same
    // order) and holds no pointers.
    unsafe {
        inet6_ioctl(
            name,
            libc::SIOCADDRT as libc::c_ulong,
            "SIOCADDRT (IPv6 default route)",
            |index| In6Rtmsg {
                dst: any,
                src: any,
                gateway: libc::in6_addr {
                    s6_addr: gateway.octets(),
                },
                kind: 0,
                dst_len: 0,
                src_len: 0,
                metric: 1,
                info: 0,
                flags: u32::from(libc::RTF_UP | libc::RTF_GATEWAY),
                ifindex: index,
            },
        )
    }
}

/// The interface index link-local addresses without a scope are reached
/// through ([`set_link_scope`]); 0 until a lease is taken.
static LINK_SCOPE: AtomicU32 = AtomicU32::new(0);

/// From now on, reach link-local addresses (fe80::/10) that come
/// without a scope (in option 59, a config's URL, the name servers)
/// through `name`: the interface the lease came on.
pub fn set_link_scope(name: &str) {
    if let Some(i) = ifindex(name) {
        LINK_SCOPE.store(i, Ordering::Relaxed);
    }
}

/// Whether `a` is link-local (fe80::/10), which a socket reaches only
/// with a scope (the interface).
pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// `addr` with scope `scope` when it is a link-local IPv6 address
/// without one; any other address as it is.
pub fn with_scope(addr: SocketAddr, scope: u32) -> SocketAddr {
    match addr {
        SocketAddr::V6(mut a) if a.scope_id() == 0 && is_link_local(a.ip()) => {
            a.set_scope_id(scope);
            SocketAddr::V6(a)
        }
        a => a,
    }
}

/// `addr` reached through the boot interface when it is link-local
/// ([`set_link_scope`], [`with_scope`]).
pub fn scoped(addr: SocketAddr) -> SocketAddr {
    with_scope(addr, LINK_SCOPE.load(Ordering::Relaxed))
}

/// The EUI-64 interface identifier of `mac` (RFC 4291 appendix A).
pub fn eui64(mac: &[u8; 6]) -> [u8; 8] {
    [
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ]
}

/// Whether `a` lies in `prefix/len`.
pub fn in_prefix(a: Ipv6Addr, prefix: Ipv6Addr, len: u8) -> bool {
    let len = u32::from(len.min(128));
    if len == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - len);
    u128::from(a) & mask == u128::from(prefix) & mask
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn link_local_addresses_get_the_scope() {
        let ll: SocketAddr = "[fe80::1]:69".parse().unwrap();
        let SocketAddr::V6(a) = with_scope(ll, 3) else {
            panic!()
        };
        assert_eq!((a.scope_id(), a.port()), (3, 69));
        // A scope already given stays; other addresses have none.
        let given: SocketAddr = "[fe80::1%7]:69".parse().unwrap();
        assert_eq!(with_scope(given, 3), given);
        for a in [
            "[fd77::1]:69",
            "[febf::1]:80",
            "10.0.0.1:69",
            "[fec0::2]:69",
        ] {
            let a: SocketAddr = a.parse().unwrap();
            let want = if a.to_string().starts_with("[febf") {
                let SocketAddr::V6(mut v) = a else { panic!() };
                v.set_scope_id(3);
                SocketAddr::V6(v)
            } else {
                a
            };
            assert_eq!(with_scope(a, 3), want, "{a}");
        }
        assert!(is_link_local(&"fe80::5054:ff:fe12:3456".parse().unwrap()));
        assert!(!is_link_local(&"fec0::2".parse().unwrap()));
    }

    #[test]
    fn if_inet6() {
        let t = "\
fec0000000000000525400fffe123456 02 40 40 40     eth0
fe80000000000000505400fffe123456 02 40 20 80     eth0
00000000000000000000000000000001 01 80 10 80       lo
fe80000000000000505400fffe123456 02 40 20 c4     eth0
garbage line
fe80000000000000505400fffe12345 02 40 20 80     eth0
";
        let a = parse_if_inet6(t);
        assert_eq!(a.len(), 4);
        let global = &a[0];
        assert_eq!(
            global.addr,
            "fec0::5254:ff:fe12:3456".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!((global.ifindex, global.prefix_len), (2, 64));
        assert!(global.is_routable() && !global.usable(), "tentative");
        assert!(a[1].is_link_local() && a[1].usable());
        assert!(!a[2].is_routable());
        // Tentative but optimistic: usable.
        assert!(a[3].usable());
    }

    #[test]
    fn ipv6_route() {
        let t = "\
fec00000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000002 00000400 00000001 00000000 00450003     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
";
        let r = parse_ipv6_route(t);
        assert_eq!(r.len(), 3);
        assert!(!r[0].is_default());
        assert!(r[1].is_default());
        assert_eq!(r[1].next_hop, "fe80::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(r[1].metric, 1024);
        assert!(!r[2].is_default(), "the reject route of lo");
    }

    #[test]
    fn prefixes_and_eui64() {
        let p: Ipv6Addr = "2001:db8:1::".parse().unwrap();
        assert!(in_prefix("2001:db8:1::42".parse().unwrap(), p, 64));
        assert!(!in_prefix("2001:db8:2::42".parse().unwrap(), p, 64));
        assert!(in_prefix("::1".parse().unwrap(), p, 0));
        assert!(in_prefix(p, p, 200));
        assert_eq!(
            eui64(&[0x52, 0x54, 0, 0x12, 0x34, 0x56]),
            [0x50, 0x54, 0, 0xff, 0xfe, 0x12, 0x34, 0x56]
        );
    }
}

//! Interfaces: discovery through /sys/class/net, link up, carrier wait,
//! and IPv4 address and default route through the classic ioctls
//! (`SIOCSIFFLAGS`, `SIOCSIFADDR`, `SIOCSIFNETMASK`, `SIOCADDRT`), which
//! need no netlink codec and exist on every Linux.
//!
//! Every `unsafe` block here says why it is sound (`SAFETY:`); the lints
//! below make a missing justification a build error under clippy.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::fmt;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// An Ethernet interface found in sysfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Kernel name, e.g. `enc1` or `eth0`.
    pub name: String,
    /// Hardware address.
    pub mac: [u8; 6],
}

pub use pxecfg::parse_mac;

/// Format as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// All Ethernet interfaces (ARPHRD_ETHER), sorted by name.
pub fn ethernet_interfaces() -> Vec<Interface> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir("/sys/class/net") else {
        return out;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let p = e.path();
        let ty = fs::read_to_string(p.join("type")).unwrap_or_default();
        if ty.trim() != "1" || name == "lo" {
            continue;
        }
        let Some(mac) = fs::read_to_string(p.join("address"))
            .ok()
            .and_then(|a| parse_mac(&a))
        else {
            continue;
        };
        if mac == [0; 6] {
            continue;
        }
        out.push(Interface { name, mac });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A failed interface operation, naming the interface and the call.
#[derive(Debug)]
pub struct NetError {
    /// Interface.
    pub interface: String,
    /// Operation.
    pub what: &'static str,
    /// Cause.
    pub err: io::Error,
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.interface, self.what, self.err)
    }
}

impl std::error::Error for NetError {}

fn ctl_socket() -> io::Result<OwnedFd> {
    nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(io::Error::from)
}

fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut r: libc::ifreq = unsafe { std::mem::zeroed() };
    let b = name.as_bytes();
    if b.is_empty() || b.len() >= r.ifr_name.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad interface name",
        ));
    }
    for (d, s) in r.ifr_name.iter_mut().zip(b) {
        *d = *s as libc::c_char;
    }
    Ok(r)
}

fn sockaddr_in(a: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(a.octets()),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr have the same size (16 bytes) and
    // sockaddr_in is a valid bit pattern for sockaddr.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

/// `ioctl(2)` on `fd`, the error as an `io::Error`.
///
/// # Safety
///
/// `arg` must point to an initialised value of the type that `req`
/// expects (`ifreq` for the `SIOC*IF*` requests, `rtentry` for
/// `SIOCADDRT`), valid for reads and writes of that type for the whole
/// call, and every pointer inside it (such as `rtentry::rt_dev`) must be
/// valid for what the kernel reads through it.
unsafe fn ioctl(fd: &OwnedFd, req: libc::c_ulong, arg: *mut libc::c_void) -> io::Result<()> {
    // SAFETY: the caller upholds this function's contract for `req` and
    // `arg`; `fd` is an open socket for as long as it is borrowed.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req as _, arg) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn wrap<'a>(interface: &'a str, what: &'static str) -> impl FnOnce(io::Error) -> NetError + 'a {
    move |err| NetError {
        interface: interface.to_string(),
        what,
        err,
    }
}

/// Set IFF_UP on `name` (and on `lo`, which local tools expect).
pub fn link_up(name: &str) -> Result<(), NetError> {
    let fd = ctl_socket().map_err(wrap(name, "socket"))?;
    let mut r = ifreq(name).map_err(wrap(name, "name"))?;
    // SAFETY: SIOCGIFFLAGS takes an ifreq; `r` is one, initialised by
    // ifreq() with the interface name, and lives across the call.
    unsafe { ioctl(&fd, libc::SIOCGIFFLAGS, (&mut r as *mut libc::ifreq).cast()) }
        .map_err(wrap(name, "SIOCGIFFLAGS"))?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    unsafe {
        r.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    }
    // SAFETY: SIOCSIFFLAGS takes an ifreq; `r` holds the name and the
    // flags read above, and lives across the call.
    unsafe { ioctl(&fd, libc::SIOCSIFFLAGS, (&mut r as *mut libc::ifreq).cast()) }
        .map_err(wrap(name, "SIOCSIFFLAGS (link up)"))
}

/// Wait until /sys/class/net/NAME/carrier reads 1, or `limit` passes.
/// Returns whether carrier came up.
pub fn wait_carrier(name: &str, limit: Duration) -> bool {
    let start = Instant::now();
    let path = format!("/sys/class/net/{name}/carrier");
    loop {
        if fs::read_to_string(&path)
            .map(|s| s.trim() == "1")
            .unwrap_or(false)
        {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The interface MTU (1500 when unknown).
pub fn mtu(name: &str) -> u32 {
    fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1500)
}

/// Assign `addr/netmask` to `name` and, when given, add a default route via `gateway`.
pub fn configure(
    name: &str,
    addr: Ipv4Addr,
    netmask: Ipv4Addr,
    gateway: Option<Ipv4Addr>,
) -> Result<(), NetError> {
    let fd = ctl_socket().map_err(wrap(name, "socket"))?;
    let mut r = ifreq(name).map_err(wrap(name, "name"))?;
    r.ifr_ifru.ifru_addr = sockaddr_in(addr);
    // SAFETY: SIOCSIFADDR takes an ifreq; `r` holds the name and an
    // AF_INET address, and lives across the call.
    unsafe { ioctl(&fd, libc::SIOCSIFADDR, (&mut r as *mut libc::ifreq).cast()) }
        .map_err(wrap(name, "SIOCSIFADDR"))?;
    r.ifr_ifru.ifru_netmask = sockaddr_in(netmask);
    // SAFETY: SIOCSIFNETMASK takes an ifreq; `r` holds the name and an
    // AF_INET netmask, and lives across the call.
    unsafe {
        ioctl(
            &fd,
            libc::SIOCSIFNETMASK,
            (&mut r as *mut libc::ifreq).cast(),
        )
    }
    .map_err(wrap(name, "SIOCSIFNETMASK"))?;
    if let Some(gw) = gateway {
        if gw.is_unspecified() {
            return Ok(());
        }
        // SAFETY: rtentry is plain old data; all-zero is valid.
        let mut rt: libc::rtentry = unsafe { std::mem::zeroed() };
        rt.rt_dst = sockaddr_in(Ipv4Addr::UNSPECIFIED);
        rt.rt_genmask = sockaddr_in(Ipv4Addr::UNSPECIFIED);
        rt.rt_gateway = sockaddr_in(gw);
        rt.rt_flags = libc::RTF_UP | libc::RTF_GATEWAY;
        let mut dev: Vec<u8> = name.as_bytes().to_vec();
        dev.push(0);
        rt.rt_dev = dev.as_mut_ptr().cast();
        // SAFETY: SIOCADDRT takes an rtentry; `rt` is fully initialised
        // (zeroed, then the fields above), and `rt.rt_dev` points into
        // `dev`, a NUL-terminated buffer that outlives the call.
        let added = unsafe { ioctl(&fd, libc::SIOCADDRT, (&mut rt as *mut libc::rtentry).cast()) };
        match added {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(wrap(name, "SIOCADDRT (default route)")(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn mac_parse_format() {
        let m = parse_mac("88:99:AA:bb:cc:dd\n").unwrap();
        assert_eq!(m, [0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd]);
        assert_eq!(format_mac(&m), "88:99:aa:bb:cc:dd");
        assert_eq!(parse_mac("88-99-aa-bb-cc-dd"), Some(m));
        assert!(parse_mac("88:99:aa:bb:cc").is_none());
        assert!(parse_mac("88:99:aa:bb:cc:dd:ee").is_none());
        assert!(parse_mac("zz:99:aa:bb:cc:dd").is_none());
    }
}

/// The interface's received and transmitted packet counters (sysfs
/// `statistics/rx_packets`, `tx_packets`).
pub fn packet_counters(name: &str) -> Option<(u64, u64)> {
    let read = |c: &str| -> Option<u64> {
        fs::read_to_string(format!("/sys/class/net/{name}/statistics/{c}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some((read("rx_packets")?, read("tx_packets")?))
}

/// Watches the boot interface for a receive side that has stopped while
/// the transmit side goes on (QEMU 7.2's TCG virtio-ccw path loses a
/// receive notification now and then, after which the guest driver never
/// looks at its receive ring again: docs/virtio-net-rx-wedge.md), and
/// heals it in place: the device is reset by rebinding its driver and the
/// address and default route are configured again, while the download
/// goes on. A TCP connection survives that (its segments are
/// retransmitted); a TFTP transfer does when the server resends within
/// its own timeout. Sampled every 250 ms on a thread of its own; stopped
/// on drop.
pub struct RxWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    state: std::sync::Arc<std::sync::Mutex<WatchState>>,
}

/// What the watch has seen and done.
#[derive(Debug, Clone)]
pub struct WatchState {
    /// The interface now (its name can change with a reset).
    pub iface: Interface,
    /// Device resets done.
    pub resets: u32,
    /// Why the last reset failed, if it did.
    pub failed: Option<String>,
}

/// The address to configure again after a reset.
#[derive(Debug, Clone, Copy)]
pub struct Addressing {
    /// Our IPv4 address (unspecified when the boot is over IPv6).
    pub address: Ipv4Addr,
    /// Its netmask.
    pub netmask: Ipv4Addr,
    /// The default route, if any.
    pub gateway: Option<Ipv4Addr>,
    /// An IPv6 address pxeinit added (DHCPv6, `ip=[...]`) and its prefix
    /// length; a SLAAC address the kernel makes again by itself.
    pub v6: Option<(std::net::Ipv6Addr, u8)>,
    /// An IPv6 default route pxeinit added (`ip=[...]`); a router's the
    /// kernel learns again from its advertisement.
    pub gateway6: Option<std::net::Ipv6Addr>,
}

impl fmt::Display for Addressing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.v6 {
            Some((a, len)) if self.address.is_unspecified() => write!(f, "{a}/{len}"),
            _ if self.address.is_unspecified() => f.write_str("the IPv6 address (SLAAC)"),
            _ => write!(f, "{}", self.address),
        }
    }
}

impl RxWatch {
    /// Packets sent into silence before the receive side counts as stuck.
    pub const MIN_SENT: u64 = 3;
    /// How long the receive counter must stand still while those go out.
    pub const STUCK: Duration = Duration::from_millis(1500);
    /// Resets per watch (a device that wedges again at once is left to
    /// the caller's retry).
    pub const MAX_RESETS: u32 = 8;

    /// Start watching `iface`, configured with `addr`. Only a virtio_net
    /// device is watched (the wedge is the virtio device's; another
    /// driver's NIC is never reset).
    pub fn start(iface: &Interface, addr: Addressing) -> RxWatch {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(WatchState {
            iface: iface.clone(),
            resets: 0,
            failed: None,
        }));
        if driver(&iface.name).as_deref() != Some("virtio_net") {
            return RxWatch { stop, state };
        }
        let (stop2, state2) = (stop.clone(), state.clone());
        let mut iface = iface.clone();
        std::thread::spawn(move || {
            let mut last = packet_counters(&iface.name);
            let mut since = Instant::now();
            let mut resets = 0;
            while !stop2.load(Ordering::Relaxed) && resets < Self::MAX_RESETS {
                std::thread::sleep(Duration::from_millis(250));
                let now = packet_counters(&iface.name);
                let stuck = match (last, now) {
                    (Some((rx0, tx0)), Some((rx, tx))) => {
                        rx == rx0 && tx >= tx0 + Self::MIN_SENT && since.elapsed() >= Self::STUCK
                    }
                    _ => false,
                };
                if !stuck {
                    if now.map(|c| c.0) != last.map(|c| c.0) {
                        last = now;
                        since = Instant::now();
                    }
                    continue;
                }
                let (rx, tx) = now.unwrap_or_default();
                let sent = tx - last.map(|c| c.1).unwrap_or(tx);
                log::warn!(
                    "{}: received nothing for {:.1} s while sending {sent} packets (rx_packets stuck at {rx}): resetting the device",
                    iface.name,
                    since.elapsed().as_secs_f64()
                );
                resets += 1;
                let t0 = Instant::now();
                let result = reset(&iface, addr);
                let mut st = state2.lock().unwrap_or_else(|e| e.into_inner());
                st.resets = resets;
                match result {
                    Ok(i) => {
                        log::info!(
                            "{}: device reset, {} configured again in {:.2} s; carrying on",
                            i.name,
                            addr,
                            t0.elapsed().as_secs_f64()
                        );
                        iface = i;
                        st.iface = iface.clone();
                        st.failed = None;
                    }
                    Err(e) => {
                        log::error!("device reset failed: {e}");
                        st.failed = Some(e.to_string());
                    }
                }
                drop(st);
                last = packet_counters(&iface.name);
                since = Instant::now();
            }
        });
        RxWatch { stop, state }
    }

    /// What the watch has seen and done so far.
    pub fn state(&self) -> WatchState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for RxWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The name of the driver bound to the interface's device (`virtio_net`),
/// if it has one (a veth or bridge has none).
pub fn driver(name: &str) -> Option<String> {
    let d = fs::canonicalize(format!("/sys/class/net/{name}/device/driver")).ok()?;
    Some(d.file_name()?.to_string_lossy().into_owned())
}

/// Reset `iface` ([`rebind`]), bring it up and configure `addr` again.
pub fn reset(iface: &Interface, addr: Addressing) -> Result<Interface, NetError> {
    let i = rebind(iface)?;
    if std::process::id() == 1 {
        // The device comes back with the default sysctls: DAD (1 to 2 s
        // under TCG, during which the address cannot be used and the
        // receive watch would reset the device again) is skipped again.
        crate::net6::skip_dad(&i.name);
        if addr.gateway6.is_some() {
            crate::net6::ignore_ra(&i.name);
        }
    }
    link_up(&i.name)?;
    if !wait_carrier(&i.name, Duration::from_secs(10)) {
        log::warn!("{}: no carrier 10 s after the device reset", i.name);
    }
    if !addr.address.is_unspecified() {
        configure(&i.name, addr.address, addr.netmask, addr.gateway)?;
    }
    if let Some((a, len)) = addr.v6 {
        crate::net6::add_address(&i.name, a, len)?;
    }
    if let Some(gw) = addr.gateway6 {
        crate::net6::add_default_route(&i.name, gw)?;
    }
    // The device comes back with another interface index.
    crate::net6::set_link_scope(&i.name);
    Ok(i)
}

/// Unbind the interface's device from its driver and bind it again (sysfs
/// `driver/unbind`, `driver/bind`): the driver resets the device and sets
/// up fresh queues. Returns the interface that comes back with the same
/// MAC (its name may differ), within 10 s.
pub fn rebind(iface: &Interface) -> Result<Interface, NetError> {
    let dev_link = format!("/sys/class/net/{}/device", iface.name);
    let sysfs = |what: &'static str| wrap(&iface.name, what);
    let dev = fs::canonicalize(&dev_link).map_err(sysfs("sysfs device"))?;
    let driver = fs::canonicalize(dev.join("driver")).map_err(sysfs("sysfs driver"))?;
    let id = dev
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            sysfs("sysfs device")(io::Error::new(io::ErrorKind::NotFound, "no device name"))
        })?;
    fs::write(driver.join("unbind"), &id).map_err(sysfs("driver unbind"))?;
    fs::write(driver.join("bind"), &id).map_err(sysfs("driver bind"))?;
    let start = Instant::now();
    loop {
        if let Some(i) = ethernet_interfaces()
            .into_iter()
            .find(|i| i.mac == iface.mac)
        {
            return Ok(i);
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err(sysfs("driver bind")(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no interface with MAC {} 10 s after binding {id}",
                    format_mac(&iface.mac)
                ),
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

//! The boot pipeline: interface → lease → config lookup → label →
//! downloads → kexec load (or LOCALBOOT), each phase timed.
//!
//! [`prepare`] does everything up to and including `kexec_load` (or stops
//! before it for a dry run) and returns a [`Prepared`] plan; the caller
//! decides when to execute it. Nothing here exits or reboots.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use log::{info, warn};

use crate::cmdline::Settings;
use crate::dhcp::{self, Lease};
use crate::fetch::{self, ConfigFetcher, Downloader, FetchError, Transfer};
use crate::kexec;
use crate::net;

/// A failed boot attempt: one line saying what failed, from where, why.
#[derive(Debug)]
pub enum BootError {
    /// No Ethernet interface (or not the one asked for).
    NoInterface(String),
    /// Interface setup failed.
    Net(net::NetError),
    /// DHCP failed on every interface.
    Dhcp(Vec<dhcp::DhcpError>),
    /// No config file found.
    NoConfig {
        /// Server asked.
        server: String,
        /// Names tried, in order.
        tried: Vec<String>,
    },
    /// The config lookup failed.
    Config(String),
    /// The config chooses nothing bootable.
    NothingToBoot(String),
    /// A download failed.
    Fetch(FetchError),
    /// kexec failed.
    Kexec(kexec::KexecError),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::NoInterface(s) => write!(f, "no network interface: {s}"),
            BootError::Net(e) => write!(f, "network setup failed: {e}"),
            BootError::Dhcp(es) => {
                let v: Vec<String> = es.iter().map(|e| e.to_string()).collect();
                f.write_str(&v.join("; "))
            }
            BootError::NoConfig { server, tried } => write!(
                f,
                "no PXELINUX config on {server}: tried {} ({} names)",
                tried.join(", "),
                tried.len()
            ),
            BootError::Config(s) => write!(f, "config: {s}"),
            BootError::NothingToBoot(s) => write!(f, "nothing to boot: {s}"),
            BootError::Fetch(e) => write!(f, "download failed: {e}"),
            BootError::Kexec(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BootError {}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Settings from the kernel command line (PID 1) or the CLI.
    pub settings: Settings,
    /// Stop before kexec_load; print the plan.
    pub dry_run: bool,
    /// Machine UUID for `pxelinux.cfg/<uuid>` and option 97.
    pub uuid: Option<String>,
    /// DHCP overall limit.
    pub dhcp_limit: Option<Duration>,
    /// Show the config's prompt on the console and read the answer
    /// (PID 1); otherwise boot the unattended choice.
    pub interactive: bool,
}

/// What to do next.
#[derive(Debug)]
pub enum Next {
    /// A kernel is loaded: call [`kexec::execute`].
    Kexec,
    /// Re-IPL from this CCW device.
    LocalBoot(String),
    /// Dry run: nothing loaded.
    DryRun,
}

/// The outcome of [`prepare`], with everything the dry-run JSON shows.
pub struct Prepared {
    /// Next step.
    pub next: Next,
    /// The lease.
    pub lease: Lease,
    /// Config lookup.
    pub resolution: pxecfg::Resolution,
    /// Downloads (config files and payloads), path → transfer.
    pub downloads: Vec<(String, Transfer)>,
    /// Phase timings.
    pub phases: Vec<(&'static str, f64)>,
}

impl Prepared {
    /// The dry-run plan as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let r = self.resolution.to_json();
        let get = |k: &str| r.get(k).cloned().unwrap_or(serde_json::Value::Null);
        serde_json::json!({
            "lease": self.lease.to_json(),
            "tried": get("tried"),
            "config": get("config"),
            "label": get("label"),
            "action": get("action"),
            "kernel": get("kernel"),
            "initrd": get("initrd"),
            "append": get("append"),
            "localboot": get("localboot"),
            "warnings": get("warnings"),
            "downloads": self.downloads.iter().map(|(p, t)| t.to_json(p)).collect::<Vec<_>>(),
            "phases": self.phases.iter().map(|(n, s)| serde_json::json!({"phase": n, "seconds": s})).collect::<Vec<_>>(),
            "next": match &self.next {
                Next::Kexec => "kexec".to_string(),
                Next::LocalBoot(d) => format!("localboot {d}"),
                Next::DryRun => "dry-run".to_string(),
            },
        })
    }
}

/// DHCP option 211 (PXELINUX reboot time, seconds) from the last lease; 0
/// when none was given. The PID 1 failure policy reads it.
pub static REBOOT_TIME: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

struct Phases {
    start: Instant,
    list: Vec<(&'static str, f64)>,
}

impl Phases {
    fn done(&mut self, name: &'static str) {
        let s = self.start.elapsed().as_secs_f64();
        info!("phase {name} done in {s:.3} s");
        self.list.push((name, s));
        self.start = Instant::now();
    }
}

/// Option 66 as a host name (not an address): resolved with the lease's
/// name servers, as PXE ROMs do. None when it is an address (then
/// [`Lease::boot_server`] uses it), absent, or cannot be resolved (logged).
fn named_server(lease: &Lease) -> Option<Ipv4Addr> {
    let name = lease.tftp_server_name.as_deref()?;
    if name.parse::<Ipv4Addr>().is_ok() {
        return None;
    }
    match crate::dns::resolve_a(name, &lease.dns, Duration::from_secs(5)) {
        Ok(a) => {
            info!("boot server {name} is {a} (option 66)");
            Some(a)
        }
        Err(e) => {
            warn!("option 66 names {name}: {e}; using next-server instead");
            None
        }
    }
}

/// Read the machine UUID: /proc/sysinfo on s390x (QEMU's `-uuid`, as the
/// netboot firmware uses it), DMI elsewhere.
pub fn machine_uuid() -> Option<String> {
    if let Ok(t) = std::fs::read_to_string("/proc/sysinfo") {
        for line in t.lines() {
            if let Some((k, v)) = line.split_once(':') {
                let v = v.trim();
                if k.contains("UUID") && crate::dhcp::wire::parse_uuid(v).is_some() {
                    return Some(v.to_ascii_lowercase());
                }
            }
        }
    }
    let v = std::fs::read_to_string("/sys/class/dmi/id/product_uuid").ok()?;
    let v = v.trim();
    crate::dhcp::wire::parse_uuid(v).map(|_| v.to_ascii_lowercase())
}

fn pick_interfaces(
    s: &Settings,
    cli_iface: Option<&str>,
) -> Result<Vec<net::Interface>, BootError> {
    let all = net::ethernet_interfaces();
    let want = cli_iface.map(str::to_string).or_else(|| s.iface.clone());
    let chosen: Vec<net::Interface> = if let Some(name) = &want {
        all.iter().filter(|i| &i.name == name).cloned().collect()
    } else if let Some(mac) = s.bootif {
        all.iter().filter(|i| i.mac == mac).cloned().collect()
    } else if let Some(dev) = s.ip.as_ref().and_then(|i| i.device.clone()) {
        all.iter().filter(|i| i.name == dev).cloned().collect()
    } else {
        all.clone()
    };
    if chosen.is_empty() {
        let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
        return Err(BootError::NoInterface(match (&want, s.bootif) {
            (Some(n), _) => format!("{n} not found (have: {})", names.join(", ")),
            (None, Some(m)) => format!(
                "no interface with BOOTIF MAC {} (have: {})",
                net::format_mac(&m),
                names.join(", ")
            ),
            _ => "no Ethernet interface found (is virtio_net loaded?)".into(),
        }));
    }
    Ok(chosen)
}

/// Bring up the interfaces and get a lease on the first that answers
/// (DHCP runs on all of them in parallel), or use `ip=`.
fn get_lease(
    ifaces: &[net::Interface],
    opts: &Options,
) -> Result<(Lease, net::Interface), BootError> {
    let s = &opts.settings;
    let _ = net::link_up("lo");
    for i in ifaces {
        net::link_up(&i.name).map_err(BootError::Net)?;
    }
    if let Some(ip) = &s.ip {
        let i = ifaces[0].clone();
        net::wait_carrier(&i.name, Duration::from_secs(5));
        let lease = Lease {
            interface: i.name.clone(),
            address: ip.client,
            netmask: ip.netmask.unwrap_or(Ipv4Addr::new(255, 255, 255, 0)),
            routers: ip.gateway.into_iter().collect(),
            dns: vec![],
            server_id: ip.server,
            siaddr: ip.server.unwrap_or(Ipv4Addr::UNSPECIFIED),
            bootfile: None,
            tftp_server_name: None,
            config_file: None,
            path_prefix: None,
            reboot_time: None,
            lease_time: None,
            hostname: None,
            domain: None,
            uuid: None,
            elapsed: Duration::ZERO,
        };
        return Ok((lease, i));
    }
    let mut cfg = dhcp::Config::default();
    if let Some(l) = opts.dhcp_limit {
        cfg.limit = l;
    }
    if let Some(t) = s.timeout {
        cfg.limit = Duration::from_secs(t.max(1));
    }
    cfg.uuid = opts.uuid.as_deref().and_then(dhcp::wire::parse_uuid);
    let (tx, rx) = mpsc::channel();
    for i in ifaces.iter().cloned() {
        let tx = tx.clone();
        let cfg = cfg.clone();
        std::thread::spawn(move || {
            if !net::wait_carrier(&i.name, Duration::from_secs(10)) {
                warn!("{}: no carrier after 10 s; trying DHCP anyway", i.name);
            }
            let r = dhcp::lease(&i.name, i.mac, &cfg);
            let _ = tx.send((i, r));
        });
    }
    drop(tx);
    let mut errors = Vec::new();
    for (i, r) in rx {
        match r {
            Ok(l) => return Ok((l, i)),
            Err(e) => errors.push(e),
        }
    }
    Err(BootError::Dhcp(errors))
}

/// Run the pipeline up to kexec_load (or the dry-run stop).
pub fn prepare(opts: &Options, cli_iface: Option<&str>) -> Result<Prepared, BootError> {
    let s = &opts.settings;
    let mut ph = Phases {
        start: Instant::now(),
        list: vec![],
    };
    let ifaces = pick_interfaces(s, cli_iface)?;
    let (lease, iface) = get_lease(&ifaces, opts)?;
    if let Some(t) = lease.reboot_time {
        REBOOT_TIME.store(t, std::sync::atomic::Ordering::Relaxed);
    }
    net::configure(&iface.name, lease.address, lease.netmask, lease.gateway())
        .map_err(BootError::Net)?;
    ph.done("dhcp");

    let server = s
        .server
        .or_else(|| named_server(&lease))
        .or_else(|| lease.boot_server());
    let mut dl = Downloader::new(server, net::mtu(&iface.name));
    dl.dns = lease.dns.clone();
    dl.sha256 = opts.dry_run;
    dl.ca_bundle = s.ca_bundle.clone().map(Into::into);
    let info = pxecfg::ClientInfo {
        mac: Some(iface.mac),
        ip: Some(lease.address),
        uuid: opts.uuid.clone().or_else(|| lease.uuid.clone()),
        bootfile: lease.bootfile.clone(),
        config_file: s.config.clone().or_else(|| lease.config_file.clone()),
        path_prefix: lease.path_prefix.clone(),
        server,
        gateway: lease.gateway(),
        netmask: Some(lease.netmask),
    };
    let mut fetcher = ConfigFetcher {
        dl: &dl,
        log: vec![],
        only: None,
        failed: None,
    };
    if let Some(c) = &s.config {
        // pxe.config=: this file and nothing else (no lookup); it is also
        // option 209, so the probe list starts with it.
        fetcher.only = pxecfg::probe_paths(&info).into_iter().next();
        info!("config from pxe.config={c}");
    }
    let only = fetcher.only.clone();
    let ropts = pxecfg::ResolveOptions {
        label: s.label.clone(),
    };
    let server_name = || {
        server
            .map(|a| a.to_string())
            .unwrap_or_else(|| "(no server)".into())
    };
    let mut resolution = match pxecfg::resolve(&info, &mut fetcher, &ropts) {
        Ok(r) => r,
        Err(e) => {
            for w in e.warnings() {
                warn!("config: {w}");
            }
            return Err(match e.kind() {
                pxecfg::ResolveErrorKind::NoConfig => BootError::NoConfig {
                    server: server_name(),
                    tried: e
                        .tried()
                        .iter()
                        .filter(|p| only.as_ref().is_none_or(|o| o == *p))
                        .cloned()
                        .collect(),
                },
                _ => BootError::Config(e.to_string()),
            });
        }
    };
    if let Some(o) = &only {
        // Only that name was requested from the server.
        resolution.tried.retain(|p| p == o);
    }
    for w in &resolution.warnings {
        warn!("config: {w}");
    }
    let config = resolution.config.clone().unwrap_or_default();
    if opts.interactive && s.label.is_none() {
        if let Some(parsed) = resolution.parsed.clone() {
            if parsed.prompt_shown() {
                resolution = ask(&parsed, resolution, &info, &mut fetcher);
            } else {
                for l in &parsed.say {
                    info!("{l}");
                }
            }
        }
    }
    let mut downloads = std::mem::take(&mut fetcher.log);
    info!(
        "config {config}, label {}",
        resolution.label.as_deref().unwrap_or("(command line)")
    );
    ph.done("config");

    // ONERROR (syslinux wiki, Config): when the chosen kernel cannot be
    // loaded, boot this command instead; tried once.
    let mut tried_onerror = false;
    let next = loop {
        let result = match &resolution.action {
            pxecfg::Action::None => Err(BootError::NothingToBoot(format!(
                "{config} names no label to boot"
            ))),
            pxecfg::Action::LocalBoot(n) => s
                .localboot_device
                .clone()
                .or_else(crate::reipl::detect_disk)
                .map(Next::LocalBoot)
                .ok_or_else(|| {
                    BootError::NothingToBoot(format!(
                        "LOCALBOOT {n}: no disk given (rd.chreipl=/pxe.localboot=) and no virtio block device found"
                    ))
                }),
            pxecfg::Action::Boot {
                kernel,
                initrd,
                append,
            } => load_payload(&dl, kernel, initrd, append, opts, &mut downloads, &mut ph),
        };
        match result {
            Ok(next) => break next,
            Err(e @ (BootError::Fetch(_) | BootError::Kexec(_))) if !tried_onerror => {
                tried_onerror = true;
                let Some(parsed) = resolution.parsed.clone() else {
                    return Err(e);
                };
                let Some(cmd) = parsed.on_error.clone() else {
                    return Err(e);
                };
                warn!("{e}; ONERROR {cmd}");
                match pxecfg::resolve_choice(&parsed, &cmd, &info, &mut fetcher) {
                    Ok(r) if r.action != pxecfg::Action::None => {
                        resolution.action = r.action;
                        resolution.label = r.label;
                        resolution.warnings.extend(r.warnings);
                    }
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    };
    Ok(Prepared {
        next,
        lease,
        resolution,
        downloads,
        phases: ph.list,
    })
}

/// Download `kernel` and `initrd` (concatenated, 4-byte aligned) into
/// memfds and `kexec_load` them (or, for a dry run, check them).
fn load_payload(
    dl: &Downloader,
    kernel: &str,
    initrd: &[String],
    append: &str,
    opts: &Options,
    downloads: &mut Vec<(String, Transfer)>,
    ph: &mut Phases,
) -> Result<Next, BootError> {
    info!("kernel {kernel}");
    let mut kfile = fetch::memfile("kernel").map_err(|e| BootError::Fetch(FetchError::Local(e)))?;
    let t = dl
        .fetch_to_file(kernel, &mut kfile)
        .map_err(BootError::Fetch)?;
    info!("kernel: {} bytes in {:.2} s", t.bytes, t.seconds);
    downloads.push((kernel.to_string(), t));
    let mut ifile = None;
    if !initrd.is_empty() {
        let mut f = fetch::memfile("initrd").map_err(|e| BootError::Fetch(FetchError::Local(e)))?;
        let mut total = 0u64;
        for p in initrd {
            info!("initrd {p}");
            // The kernel unpacks concatenated archives; keep each
            // one 4-byte aligned.
            let pad = (4 - total % 4) % 4;
            f.write_all(&vec![0u8; pad as usize])
                .map_err(|e| BootError::Fetch(FetchError::Local(e)))?;
            let t = dl.fetch_to_file(p, &mut f).map_err(BootError::Fetch)?;
            info!("initrd: {} bytes in {:.2} s", t.bytes, t.seconds);
            total += pad + t.bytes;
            downloads.push((p.clone(), t));
        }
        ifile = Some((f, total));
    }
    ph.done("download");
    let ilen = ifile.as_ref().map(|(_, n)| *n).unwrap_or(0);
    if opts.dry_run {
        check_kernel(&kfile, ilen, append)?;
        Ok(Next::DryRun)
    } else {
        info!("kexec: command line {append:?}");
        let m = kexec::load(&kfile, ifile.as_ref().map(|(f, _)| f), append)
            .map_err(BootError::Kexec)?;
        info!("kexec: loaded ({m:?})");
        ph.done("kexec-load");
        Ok(Next::Kexec)
    }
}

/// Show the prompt until the operator picks something bootable or a
/// timeout expires (then the unattended `resolution` stands).
fn ask(
    parsed: &pxecfg::Config,
    resolution: pxecfg::Resolution,
    info: &pxecfg::ClientInfo,
    fetcher: &mut ConfigFetcher<'_>,
) -> pxecfg::Resolution {
    let stdin = std::io::stdin();
    let mut out = std::io::stderr();
    loop {
        match crate::menu::prompt(parsed, std::os::fd::AsFd::as_fd(&stdin), &mut out) {
            crate::menu::Answer::Timeout => {
                info!(
                    "prompt: timeout, booting {}",
                    resolution.label.as_deref().unwrap_or("the default")
                );
                return resolution;
            }
            crate::menu::Answer::Typed(t) => {
                let input = if t.is_empty() {
                    parsed.enter_choice().unwrap_or_default()
                } else {
                    t
                };
                match pxecfg::resolve_choice(parsed, &input, info, fetcher) {
                    Ok(r) if r.action != pxecfg::Action::None => {
                        for w in &r.warnings {
                            warn!("config: {w}");
                        }
                        let mut r = r;
                        r.tried = resolution.tried.clone();
                        return r;
                    }
                    Ok(r) => warn!("{input:?}: nothing to boot ({})", r.warnings.join("; ")),
                    Err(e) => warn!("{input:?}: {e}"),
                }
            }
        }
    }
}

/// In a dry run, check an s390x kernel's layout (other kernels are left to
/// kexec_file_load, which checks them itself).
fn check_kernel(k: &File, initrd_len: u64, append: &str) -> Result<(), BootError> {
    match kexec::check(k, initrd_len, append) {
        Ok(()) => Ok(()),
        Err(kexec::KexecError::Layout(
            kexec::s390::LayoutError::NotS390Image | kexec::s390::LayoutError::TooShort { .. },
        )) if !cfg!(target_arch = "s390x") => Ok(()),
        Err(e) => Err(BootError::Kexec(e)),
    }
}

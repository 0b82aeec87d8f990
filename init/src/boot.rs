//! The boot pipeline, in named stages with narrow inputs and outputs:
//!
//! 1. [`choose_interfaces`]: the settings and the interfaces present →
//!    the candidates.
//! 2. [`Network::lease`]: the candidates → a lease, configured on one of
//!    them.
//! 3. [`BootContext::new`]: the lease and the settings → the boot server,
//!    the downloader and the client facts the lookup uses.
//! 4. [`find_config`]: the context and a config source → the
//!    [`pxecfg::Resolution`] (with `pxe.config=`, that file only); or,
//!    with `pxe.location=`/`pxe.kernel=`, [`find_tree`]: the install tree
//!    there, detected, as the resolution to boot (no config at all).
//! 5. [`choose`]: the resolution and the [`Console`] → what the operator
//!    picked at the prompt, or the unattended choice (not for a tree).
//! 6. [`load`]: the chosen action and the [`Fetcher`] → the [`Next`] step,
//!    falling back to the config's ONERROR once when the kernel cannot be
//!    downloaded or loaded.
//!
//! [`run`] strings the stages together behind three small traits: the
//! [`Network`] (interfaces and leases), the [`Fetcher`] (configs and
//! payloads) and the [`Console`] (the prompt). [`System`] is the real
//! implementation of all three; the unit tests drive the pipeline with
//! fakes, without root. [`Prepared::execute`] carries out the result, for
//! the PID 1 and the CLI alike. Nothing here exits.

use std::fmt;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use log::{info, warn};

use crate::cmdline::Settings;
use crate::dhcp::{self, Lease};
use crate::dhcp6::{self, Lease6};
use crate::fetch::{self, Downloader, FetchError, Transfer};
use crate::kexec;
use crate::net;

/// A failed boot attempt: one line saying what failed, from where, why.
#[derive(Debug)]
pub enum BootError {
    /// No Ethernet interface (or not the one asked for).
    NoInterface(String),
    /// Interface setup failed.
    Net(net::NetError),
    /// DHCP (and IPv6) failed on every interface: each failure, one line.
    Dhcp(Vec<String>),
    /// No config file found.
    NoConfig {
        /// Server asked.
        server: String,
        /// Names tried, in order.
        tried: Vec<String>,
    },
    /// The config lookup failed.
    Config(String),
    /// The config lookup stopped at a server that does not serve: it
    /// never answered, stayed busy, or cannot be reached (not a missing
    /// config: no other name was asked of it).
    ConfigServer(String),
    /// The config chooses nothing bootable.
    NothingToBoot(String),
    /// A download failed.
    Fetch(FetchError),
    /// The install tree of `pxe.location=` is not found or is refused.
    Tree(crate::tree::TreeError),
    /// kexec failed.
    Kexec(kexec::KexecError),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::NoInterface(s) => write!(f, "no network interface: {s}"),
            BootError::Net(e) => write!(f, "network setup failed: {e}"),
            BootError::Dhcp(es) => f.write_str(&es.join("; ")),
            BootError::NoConfig { server, tried } => write!(
                f,
                "no PXELINUX config on {server}: tried {} ({} names)",
                tried.join(", "),
                tried.len()
            ),
            BootError::Config(s) => write!(f, "config: {s}"),
            BootError::ConfigServer(s) => write!(f, "config lookup failed: {s}"),
            BootError::NothingToBoot(s) => write!(f, "nothing to boot: {s}"),
            BootError::Fetch(e) => write!(f, "download failed: {e}"),
            BootError::Tree(e) => write!(f, "install tree {e}"),
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
    /// The interface named on the CLI (`--interface`).
    pub interface: Option<String>,
    /// This is a retry: reset the network devices first (a receive side
    /// that stopped in the previous attempt stays stopped otherwise).
    pub reset_devices: bool,
    /// Trusted signing keys: with any, every config and payload must be
    /// signed by one of them.
    pub trust: crate::verify::Trust,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A kernel is loaded: call [`kexec::execute`].
    Kexec,
    /// Re-IPL from this CCW device.
    LocalBoot(String),
    /// Dry run: nothing loaded.
    DryRun,
}

/// The outcome of [`run`], with everything the dry-run JSON shows.
#[derive(Debug)]
pub struct Prepared {
    /// Next step.
    pub next: Next,
    /// The lease (IPv4, IPv6, which led).
    pub lease: Leases,
    /// Config lookup.
    pub resolution: pxecfg::Resolution,
    /// Downloads (config files and payloads), path → transfer.
    pub downloads: Vec<(String, Transfer)>,
    /// Phase timings.
    pub phases: Vec<(&'static str, f64)>,
    /// DHCP option 211 (PXELINUX reboot time, seconds), for the failure
    /// policy of later attempts.
    pub reboot_time: Option<u32>,
    /// The install tree booted (`pxe.location=`), as `pxeinit tree`
    /// prints it.
    pub tree: Option<serde_json::Value>,
}

impl Prepared {
    /// The dry-run plan as JSON: the resolution as `pxecfg resolve` prints
    /// it (`tried`, `config`, `label`, `action`, `kernel`, `initrd`,
    /// `append`, `localboot`, `warnings`), plus `lease` (IPv4, `null` when
    /// the boot went over IPv6 alone), `lease6`, `family` (`ipv4` or
    /// `ipv6`: the one that led), `tree` (the install tree of
    /// `pxe.location=`, else `null`), `downloads`, `phases` and `next`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = self.resolution.to_json();
        if let Some(o) = v.as_object_mut() {
            o.insert("tree".into(), self.tree.clone().into());
            let l = &self.lease;
            o.insert("lease".into(), l.v4.as_ref().map(Lease::to_json).into());
            o.insert("lease6".into(), l.v6.as_ref().map(Lease6::to_json).into());
            o.insert("family".into(), l.led.name().into());
            o.insert(
                "downloads".into(),
                self.downloads.iter().map(|(p, t)| t.to_json(p)).collect(),
            );
            o.insert(
                "phases".into(),
                self.phases
                    .iter()
                    .map(|(n, s)| serde_json::json!({"phase": n, "seconds": s}))
                    .collect(),
            );
            o.insert(
                "next".into(),
                match &self.next {
                    Next::Kexec => "kexec".to_string(),
                    Next::LocalBoot(d) => format!("localboot {d}"),
                    Next::DryRun => "dry-run".to_string(),
                }
                .into(),
            );
        }
        v
    }

    /// Carry out [`Prepared::next`]: kexec into the loaded kernel or re-IPL
    /// from the disk. Returns only when that failed (or for a dry run,
    /// with `None`).
    pub fn execute(&self) -> Option<String> {
        match &self.next {
            Next::Kexec => {
                info!("kexec: booting the new kernel");
                Some(kexec::execute().to_string())
            }
            Next::LocalBoot(dev) => {
                info!("LOCALBOOT: re-IPL from CCW device {dev}");
                Some(match crate::reipl::set_ccw(dev, "") {
                    Ok(()) => crate::reipl::reboot().to_string(),
                    Err(e) => e.to_string(),
                })
            }
            Next::DryRun => None,
        }
    }
}

/// The network: which interfaces there are, and a lease on one of them.
pub trait Network {
    /// The Ethernet interfaces present.
    fn interfaces(&self) -> Vec<net::Interface>;
    /// Bring up `candidates`, get a lease on the first that answers (or
    /// use `ip=`), and configure it.
    fn lease(
        &mut self,
        candidates: &[net::Interface],
        opts: &Options,
    ) -> Result<(Leases, net::Interface), BootError>;
    /// Resolve a host name (option 66) with the lease's name servers.
    fn resolve(&self, name: &str, dns: &[Ipv4Addr]) -> Option<Ipv4Addr>;
}

/// Configs and payloads.
pub trait Fetcher {
    /// One config file.
    fn config(&mut self, ctx: &BootContext, path: &str) -> Result<(Vec<u8>, Transfer), FetchError>;
    /// The boot file, when it is at most [`BOOT_FILE_CONFIG_MAX`] bytes
    /// (a boot image is refused on its announced size, or cut there), to
    /// see whether it is a PXELINUX config ([`boot_file_config`]); `None`
    /// when it is larger or cannot be fetched.
    fn boot_file_head(&mut self, ctx: &BootContext, path: &str) -> Option<Vec<u8>> {
        self.config(ctx, path).ok().map(|(v, _)| v)
    }
    /// Download the kernel and initrds; each download is appended to
    /// `downloads`.
    fn download(
        &mut self,
        ctx: &BootContext,
        payload: &Payload<'_>,
        downloads: &mut Vec<(String, Transfer)>,
    ) -> Result<Files, BootError>;
    /// `kexec_load` the downloaded files (or, for a dry run, check them).
    fn kexec_load(&mut self, files: &Files, append: &str, dry_run: bool) -> Result<(), BootError>;
    /// A small file of an install tree (a treeinfo, parm or `.ins` file),
    /// at most `max` bytes.
    fn tree_file(
        &mut self,
        ctx: &BootContext,
        url: &str,
        max: u64,
    ) -> Result<(Vec<u8>, Transfer), FetchError>;
    /// Whether a file of an install tree exists (its download starts).
    fn tree_probe(&mut self, ctx: &BootContext, url: &str) -> Result<bool, FetchError>;
}

/// Downloaded payload files (memfds): the kernel, and the initrds
/// concatenated with their total length.
#[derive(Debug)]
pub struct Files {
    /// The kernel image.
    pub kernel: File,
    /// The initrds, concatenated (4-byte aligned), and their length.
    pub initrd: Option<(File, u64)>,
}

/// The operator's console.
pub trait Console {
    /// Show `config`'s prompt and read the answer.
    fn prompt(&mut self, config: &pxecfg::Config) -> crate::menu::Answer;
}

/// A kernel to boot.
#[derive(Debug, Clone, Copy)]
pub struct Payload<'a> {
    /// Kernel path.
    pub kernel: &'a str,
    /// Initrd paths, concatenated in this order.
    pub initrd: &'a [String],
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// DHCPv4.
    V4,
    /// SLAAC or DHCPv6.
    V6,
}

impl Family {
    /// `ipv4` or `ipv6`.
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }
}

/// Stage 2's output: the lease of the family that led, and the other
/// family's when it had answered on the same interface by then.
#[derive(Debug, Clone)]
pub struct Leases {
    /// The DHCPv4 lease.
    pub v4: Option<Lease>,
    /// The IPv6 lease.
    pub v6: Option<Lease6>,
    /// The family whose lease the boot uses.
    pub led: Family,
}

impl From<Lease> for Leases {
    fn from(l: Lease) -> Leases {
        Leases {
            v4: Some(l),
            v6: None,
            led: Family::V4,
        }
    }
}

impl From<Lease6> for Leases {
    fn from(l: Lease6) -> Leases {
        Leases {
            v4: None,
            v6: Some(l),
            led: Family::V6,
        }
    }
}

impl Leases {
    /// The IPv4 lease, if IPv4 led.
    pub fn leading_v4(&self) -> Option<&Lease> {
        self.v4.as_ref().filter(|_| self.led == Family::V4)
    }

    /// The IPv6 lease, if IPv6 led.
    pub fn leading_v6(&self) -> Option<&Lease6> {
        self.v6.as_ref().filter(|_| self.led == Family::V6)
    }
}

/// IPv6's header is 20 bytes longer than IPv4's: TFTP blocks over IPv6
/// are that much smaller to fit the MTU unfragmented.
const IPV6_EXTRA_HEADER: u32 = 20;

/// How long an IPv6 lease with a boot server waits for an IPv4 one before
/// it leads: when both families answer at about the same time, IPv4 leads.
pub const IPV4_GRACE: Duration = Duration::from_millis(500);

/// Stage 3's output: everything the later stages need from the network.
#[derive(Debug, Clone)]
pub struct BootContext {
    /// The leases.
    pub lease: Leases,
    /// The interface it is on.
    pub iface: net::Interface,
    /// The boot server for relative paths.
    pub server: Option<IpAddr>,
    /// The downloader (TFTP/HTTP settings for this server and link).
    pub downloader: Downloader,
    /// What the config lookup and IPAPPEND/SYSAPPEND know of the client.
    pub info: pxecfg::ClientInfo,
}

impl BootContext {
    /// The boot server is `pxe.server=`, else, over IPv4, option 66 (a
    /// name resolved through `net`), else the lease's next-server or DHCP
    /// server; over IPv6, the host of DHCPv6 option 59 (the boot file
    /// URL), whose path is the boot file (its directory the prefix).
    pub fn new(
        lease: Leases,
        iface: net::Interface,
        mtu: u32,
        opts: &Options,
        net: &dyn Network,
    ) -> BootContext {
        let s = &opts.settings;
        let v4 = lease.leading_v4();
        let named = v4
            .and_then(|l| l.tftp_server_name.as_deref().map(|n| (n, &l.dns)))
            .filter(|(n, _)| n.parse::<Ipv4Addr>().is_err())
            .and_then(|(name, dns)| {
                let a = net.resolve(name, dns);
                match a {
                    Some(a) => info!("boot server {name} is {a} (option 66)"),
                    None => warn!(
                        "option 66 names {name}, which does not resolve; using next-server instead"
                    ),
                }
                a
            });
        let url = lease.leading_v6().and_then(|l| {
            let u = l.bootfile_url.as_deref()?;
            dhcp6::BootUrl::parse(u)
                .map_err(|why| warn!("DHCPv6 option 59: {why}; no boot server from it"))
                .ok()
        });
        let (url_server, url_file) = match url.map(|u| u.boot()) {
            Some((ip, file)) => (ip, Some(file)),
            None => (None, None),
        };
        let server = s
            .server
            .or(named.map(IpAddr::V4))
            .or_else(|| v4.and_then(Lease::boot_server).map(IpAddr::V4))
            .or(url_server)
            .or(lease.leading_v6().and_then(|l| l.server).map(IpAddr::V6));
        let mtu = match lease.led {
            Family::V4 => mtu,
            Family::V6 => mtu.saturating_sub(IPV6_EXTRA_HEADER),
        };
        let mut dl = Downloader::new(server, mtu);
        dl.apply_settings(s);
        dl.dns = v4.map(|l| l.dns.clone()).unwrap_or_default();
        dl.dns6 = lease
            .leading_v6()
            .map(|l| l.dns.clone())
            .unwrap_or_default();
        dl.sha256 = opts.dry_run;
        dl.ca_bundle = s.ca_bundle.clone().map(Into::into);
        dl.trust = opts.trust.clone();
        // The DHCP server has just answered: should it be the boot server
        // too and fall silent, it is busy (a boot storm), not gone.
        if let Some(sid) = v4.and_then(|l| l.server_id) {
            dl.mark_up(IpAddr::V4(sid));
        }
        let info = pxecfg::ClientInfo {
            mac: Some(iface.mac),
            // Over IPv6 there are no hex-IP names to look up.
            ip: v4.map(|l| l.address),
            uuid: opts
                .uuid
                .clone()
                .or_else(|| v4.and_then(|l| l.uuid.clone())),
            bootfile: v4.and_then(|l| l.bootfile.clone()).or(url_file),
            config_file: s
                .config
                .clone()
                .or_else(|| v4.and_then(|l| l.config_file.clone())),
            path_prefix: v4.and_then(|l| l.path_prefix.clone()),
            server: match server {
                Some(IpAddr::V4(a)) => Some(a),
                _ => None,
            },
            gateway: v4.and_then(Lease::gateway),
            netmask: v4.map(|l| l.netmask),
            ip6: lease.leading_v6().map(|l| (l.address, l.prefix_len)),
            server6: match server {
                Some(IpAddr::V6(a)) => Some(a),
                _ => None,
            },
            gateway6: lease.leading_v6().and_then(|l| l.routers.first().copied()),
        };
        BootContext {
            lease,
            iface,
            server,
            downloader: dl,
            info,
        }
    }

    fn server_name(&self) -> String {
        self.server
            .map(|a| a.to_string())
            .unwrap_or_else(|| "(no server)".into())
    }
}

/// Phase timings, logged as each phase ends.
#[derive(Debug)]
pub struct Phases {
    start: Instant,
    list: Vec<(&'static str, f64)>,
}

impl Phases {
    /// Start timing the first phase.
    pub fn start() -> Phases {
        Phases {
            start: Instant::now(),
            list: vec![],
        }
    }

    fn done(&mut self, name: &'static str) {
        let s = self.start.elapsed().as_secs_f64();
        info!("phase {name} done in {s:.3} s");
        self.list.push((name, s));
        self.start = Instant::now();
    }
}

/// Stage 1: the interfaces to try. `--interface`/`pxe.iface=` name one;
/// else `BOOTIF=` gives its MAC; else `ip=...:DEV:` names one; else all.
pub fn choose_interfaces(
    s: &Settings,
    cli_iface: Option<&str>,
    all: &[net::Interface],
) -> Result<Vec<net::Interface>, BootError> {
    let want = cli_iface.map(str::to_string).or_else(|| s.iface.clone());
    let chosen: Vec<net::Interface> = if let Some(name) = &want {
        all.iter().filter(|i| &i.name == name).cloned().collect()
    } else if let Some(mac) = s.bootif {
        all.iter().filter(|i| i.mac == mac).cloned().collect()
    } else if let Some(dev) = (s.ip.as_ref().and_then(|i| i.device.clone()))
        .or_else(|| s.ip6.as_ref().and_then(|i| i.device.clone()))
    {
        all.iter().filter(|i| i.name == dev).cloned().collect()
    } else {
        all.to_vec()
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

/// A config source for pxecfg: fetches through the [`Fetcher`], records
/// each transfer, answers only `only` (`pxe.config=`) until a file is
/// found, and stops asking a server that did not answer (it would cost its
/// full timeout once per name).
struct Lookup<'a> {
    fetcher: &'a mut dyn Fetcher,
    ctx: &'a BootContext,
    log: Vec<(String, Transfer)>,
    only: Option<String>,
    failed: Option<String>,
    /// The first file refused by its signature: nothing more is fetched,
    /// and the attempt fails with it (never a config with a refused
    /// include, nor a lookup that goes on past a refused file).
    refused: Option<FetchError>,
}

impl pxecfg::Fetch for Lookup<'_> {
    fn fetch(&mut self, path: &str) -> Result<Vec<u8>, pxecfg::FetchError> {
        if self.only.as_deref().is_some_and(|o| o != path) {
            return Err(pxecfg::FetchError::NotFound);
        }
        if let Some(f) = &self.failed {
            return Err(pxecfg::FetchError::Other(format!("not tried after: {f}")));
        }
        match self.fetcher.config(self.ctx, path) {
            Ok((v, t)) => {
                self.only = None;
                self.log.push((path.to_string(), t));
                Ok(v)
            }
            Err(FetchError::NotFound(_)) => Err(pxecfg::FetchError::NotFound),
            Err(e @ (FetchError::Unreachable { .. } | FetchError::NoServer(_))) => {
                self.failed = Some(e.to_string());
                Err(pxecfg::FetchError::Other(e.to_string()))
            }
            Err(e @ FetchError::Refused { .. }) => {
                self.failed = Some(e.to_string());
                let why = e.to_string();
                self.refused.get_or_insert(e);
                Err(pxecfg::FetchError::Other(why))
            }
            Err(e) => Err(pxecfg::FetchError::Other(e.to_string())),
        }
    }
}

/// The init's command-line keys DHCPv6 option 60 may set: what to boot
/// and how to download it. Addressing, the interface, the family, the
/// failure policy and the trust settings (`pxe.verify=`, `pxe.cacert=`)
/// stay the image's and its command line's: the network cannot turn
/// signature checks off.
pub const OPTION_60_KEYS: [&str; 7] = [
    "pxe.label",
    "pxe.config",
    "pxe.server",
    "pxe.maxsize",
    "pxe.minrate",
    "pxe.stalltime",
    "pxe.busywait",
];

/// DHCPv6 option 60, the boot file's parameters, of the leading IPv6
/// lease: pxeinit is the boot file, so each parameter is one more word of
/// its command line, after the command line's own (a parameter may hold
/// spaces: `pxe.label=install auto=1`). Only [`OPTION_60_KEYS`] are
/// taken; any other parameter is one warning. The options with them, or
/// `None` when the lease has none.
pub fn with_boot_file_params(opts: &Options, lease: &Leases) -> Option<Options> {
    let params = &lease.leading_v6()?.bootfile_params;
    if params.is_empty() {
        return None;
    }
    let mut o = opts.clone();
    let s = &mut o.settings;
    for p in params {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        if !OPTION_60_KEYS.contains(&k) {
            warn!("DHCPv6 option 60: {p:?} is not a setting the network may give pxeinit; ignored");
            continue;
        }
        info!("DHCPv6 option 60: {p}");
        let one = crate::cmdline::parse(&format!("{k}={}", v.replace(char::is_whitespace, "_")));
        for w in &one.warnings {
            warn!("DHCPv6 option 60: {w}");
        }
        match k {
            "pxe.label" => s.label = Some(v.to_string()).filter(|v| !v.is_empty()),
            "pxe.config" => s.config = Some(v.to_string()).filter(|v| !v.is_empty()),
            "pxe.server" => s.server = one.server.or(s.server),
            "pxe.maxsize" => s.max_size = one.max_size.or(s.max_size),
            "pxe.minrate" => s.min_rate = one.min_rate.or(s.min_rate),
            "pxe.stalltime" => s.stall_time = one.stall_time.or(s.stall_time),
            _ => s.busy_wait = one.busy_wait.or(s.busy_wait),
        }
    }
    Some(o)
}

/// The largest boot file (option 59) that is looked at as a possible
/// PXELINUX config: configs are small, boot images are megabytes.
pub const BOOT_FILE_CONFIG_MAX: u64 = 64 * 1024;

/// Whether IPv6's boot file (option 59) is a PXELINUX config rather than
/// a boot image: its first line starts with `# pxelinux`, as the s390-ccw
/// firmware checks before it loads a boot file. Then it is the config,
/// and no lookup is made (as with `pxe.config=`): the name to give
/// [`pxecfg::ClientInfo::config_file`], relative to the path prefix (the
/// file's directory) or a full URL.
pub fn boot_file_config(ctx: &BootContext, fetcher: &mut dyn Fetcher) -> Option<String> {
    ctx.lease.leading_v6()?.bootfile_url.as_ref()?;
    let file = ctx.info.bootfile.as_deref()?;
    let head = fetcher.boot_file_head(ctx, file)?;
    if !head.starts_with(b"# pxelinux") {
        return None;
    }
    info!("option 59 names a PXELINUX config (its first line is # pxelinux): {file}, no lookup");
    Some(match pxecfg::is_url(file) {
        true => file.to_string(),
        false => file.rsplit('/').next().unwrap_or(file).to_string(),
    })
}

/// Stage 4: the config lookup. With `pxe.config=`, that file and nothing
/// else (it is also option 209, so the probe list starts with it).
pub fn find_config(
    ctx: &BootContext,
    settings: &Settings,
    fetcher: &mut dyn Fetcher,
    downloads: &mut Vec<(String, Transfer)>,
) -> Result<pxecfg::Resolution, BootError> {
    let boot_cfg = match settings.config {
        Some(_) => None,
        None => boot_file_config(ctx, fetcher),
    };
    let with_boot_cfg;
    let info = match &boot_cfg {
        Some(name) => {
            with_boot_cfg = pxecfg::ClientInfo {
                config_file: Some(name.clone()),
                ..ctx.info.clone()
            };
            &with_boot_cfg
        }
        None => &ctx.info,
    };
    let only = (settings.config.is_some() || boot_cfg.is_some())
        .then(|| pxecfg::probe_paths(info).into_iter().next())
        .flatten();
    if let Some(c) = &settings.config {
        info!("config from pxe.config={c}");
    }
    let mut lookup = Lookup {
        fetcher,
        ctx,
        log: vec![],
        only: only.clone(),
        failed: None,
        refused: None,
    };
    let ropts = pxecfg::ResolveOptions {
        label: settings.label.clone(),
    };
    let result = pxecfg::resolve(info, &mut lookup, &ropts);
    downloads.append(&mut lookup.log);
    if let Some(e) = lookup.refused.take() {
        return Err(BootError::Fetch(e));
    }
    let mut resolution = match result {
        Ok(r) => r,
        Err(e) => {
            for w in e.warnings() {
                warn!("config: {w}");
            }
            return Err(match e.kind() {
                pxecfg::ResolveErrorKind::NoConfig if lookup.failed.is_some() => {
                    BootError::ConfigServer(lookup.failed.take().unwrap_or_default())
                }
                pxecfg::ResolveErrorKind::NoConfig => BootError::NoConfig {
                    server: ctx.server_name(),
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
    Ok(resolution)
}

/// A location of `pxe.location=`, `pxe.kernel=` or `pxe.initrd=` as the
/// downloader fetches it: a URL as it is; a path resolved as a config's
/// paths are (the path prefix, option 210 or the boot file's directory,
/// in front of a relative one: [`pxecfg::join_path`]), and a path that is
/// then still on the boot server made a `tftp://SERVER/` URL, so that the
/// tree's location is a full one (for the installer's argument and the
/// messages).
pub fn resolve_location(ctx: &BootContext, l: &str) -> String {
    let on_server = |s: &str| {
        matches!(
            locations::Location::parse(s),
            Ok(locations::Location {
                source: locations::Source::Local { .. },
                ..
            })
        ) && !s.get(..5).is_some_and(|h| h.eq_ignore_ascii_case("file:"))
    };
    if !on_server(l) {
        return l.to_string();
    }
    let joined = pxecfg::join_path(&pxecfg::path_prefix(&ctx.info), l);
    if !on_server(&joined) {
        return joined;
    }
    match ctx.server {
        Some(IpAddr::V4(a)) => format!("tftp://{a}/{joined}"),
        Some(IpAddr::V6(a)) => format!("tftp://[{a}]/{joined}"),
        None => joined,
    }
}

/// A file of `pxe.kernel=`/`pxe.initrd=`: a URL as it is, else joined
/// with the location as xenpvnetboot joins them ([`locations::join`]),
/// then resolved ([`resolve_location`]).
fn tree_relative(ctx: &BootContext, location: Option<&str>, file: &str) -> String {
    let is_url = !matches!(
        locations::Location::parse(file),
        Ok(locations::Location {
            source: locations::Source::Local { .. },
            ..
        })
    ) || file
        .get(..5)
        .is_some_and(|h| h.eq_ignore_ascii_case("file:"));
    match (is_url, location) {
        (false, Some(l)) if !file.starts_with('/') => locations::join(l, file),
        _ => resolve_location(ctx, file),
    }
}

/// The tree files of stage 4 through the [`Fetcher`], each transfer
/// recorded.
struct Via<'a> {
    fetcher: &'a mut dyn Fetcher,
    ctx: &'a BootContext,
    log: &'a mut Vec<(String, Transfer)>,
}

impl crate::tree::Source for Via<'_> {
    fn read(&mut self, url: &str, max: u64) -> Result<(Vec<u8>, Transfer), FetchError> {
        let (v, t) = self.fetcher.tree_file(self.ctx, url, max)?;
        self.log.push((url.to_string(), t.clone()));
        Ok((v, t))
    }

    fn exists(&mut self, url: &str) -> Result<bool, FetchError> {
        self.fetcher.tree_probe(self.ctx, url)
    }
}

/// Stage 4 without a config (`pxe.location=L`, `pxe.kernel=K`,
/// `pxe.initrd=R`, `pxe.args=A`): with a location and no kernel, the
/// install tree there is detected as `pxeinit tree` detects it (one
/// implementation, [`crate::tree::detect`]) and boots its kernel and
/// initrds (`pxe.initrd=` replacing them) with its command line (the parm
/// file's and the installer's source argument) followed by `A`. With a
/// kernel, nothing is detected: `K` and `R` (joined with `L` when given)
/// boot with `A`. The resolution has no config; the tree comes with it.
pub fn find_tree(
    ctx: &BootContext,
    settings: &Settings,
    fetcher: &mut dyn Fetcher,
    downloads: &mut Vec<(String, Transfer)>,
) -> Result<(pxecfg::Resolution, Option<crate::tree::Found>), BootError> {
    let location = settings
        .location
        .as_deref()
        .map(|l| (l, resolve_location(ctx, l)));
    let mut warnings = Vec::new();
    for (set, key) in [
        (settings.config.is_some(), "pxe.config="),
        (settings.label.is_some(), "pxe.label="),
    ] {
        if set {
            let w = format!("{key} is ignored: pxe.location=/pxe.kernel= boot without a config");
            warn!("{w}");
            warnings.push(w);
        }
    }
    let args = settings.args.as_deref().unwrap_or_default();
    let join = |a: &str, b: &str| match (a.is_empty(), b.is_empty()) {
        (_, true) => a.to_string(),
        (true, _) => b.to_string(),
        _ => format!("{a} {b}"),
    };
    let root = location.as_ref().map(|(_, u)| u.as_str());
    let initrd: Vec<String> = settings
        .initrd
        .iter()
        .map(|r| tree_relative(ctx, root, r))
        .collect();
    let (kernel, initrd, append, found) = match (&settings.kernel, &location) {
        (Some(k), _) => (tree_relative(ctx, root, k), initrd, args.to_string(), None),
        (None, Some((given, url))) => {
            info!("install tree at {url}");
            let mut via = Via {
                fetcher,
                ctx,
                log: downloads,
            };
            let found = crate::tree::detect(&mut via, given, url, &Default::default())
                .map_err(BootError::Tree)?;
            info!(
                "install tree: {} ({}), kernel {}, initrds {}",
                found.tree.family.name(),
                found.tree.found_by,
                found.kernel,
                found.initrds.join(" ")
            );
            let initrd = match initrd.is_empty() {
                true => found.initrds.clone(),
                false => initrd,
            };
            let append = join(&found.command_line(), args);
            (found.kernel.clone(), initrd, append, Some(found))
        }
        (None, None) => {
            return Err(BootError::NothingToBoot(
                "pxe.initrd=/pxe.args= without pxe.location= or pxe.kernel=".into(),
            ))
        }
    };
    let resolution = pxecfg::Resolution {
        tried: vec![],
        config: None,
        label: None,
        action: pxecfg::Action::Boot {
            kernel,
            initrd,
            append,
        },
        warnings,
        parsed: None,
    };
    Ok((resolution, found))
}

/// Stage 5: when the config shows a prompt (and no `pxe.label=` decided),
/// ask until the operator picks something bootable or a timeout expires
/// (then the unattended choice stands). Config files that a choice pulls
/// in (CONFIG, includes) are fetched through `fetcher`.
pub fn choose(
    ctx: &BootContext,
    resolution: pxecfg::Resolution,
    console: &mut dyn Console,
    fetcher: &mut dyn Fetcher,
    downloads: &mut Vec<(String, Transfer)>,
) -> pxecfg::Resolution {
    let Some(parsed) = resolution.parsed.clone() else {
        return resolution;
    };
    if !parsed.prompt_shown() {
        for l in &parsed.say {
            info!("{l}");
        }
        return resolution;
    }
    let mut lookup = Lookup {
        fetcher,
        ctx,
        log: vec![],
        only: None,
        failed: None,
        refused: None,
    };
    let chosen = loop {
        match console.prompt(&parsed) {
            crate::menu::Answer::Timeout => {
                info!(
                    "prompt: timeout, booting {}",
                    resolution.label.as_deref().unwrap_or("the default")
                );
                break resolution;
            }
            crate::menu::Answer::Typed(t) => {
                let input = if t.is_empty() {
                    parsed.enter_choice().unwrap_or_default()
                } else {
                    t
                };
                match pxecfg::resolve_choice(&parsed, &input, &ctx.info, &mut lookup) {
                    _ if lookup.refused.is_some() => {
                        let e = lookup.refused.take();
                        lookup.failed = None;
                        warn!(
                            "{input:?}: {}",
                            e.map(|e| e.to_string()).unwrap_or_default()
                        );
                    }
                    Ok(mut r) if r.action != pxecfg::Action::None => {
                        for w in &r.warnings {
                            warn!("config: {w}");
                        }
                        r.tried = resolution.tried.clone();
                        break r;
                    }
                    Ok(r) => warn!("{input:?}: nothing to boot ({})", r.warnings.join("; ")),
                    Err(e) => warn!("{input:?}: {e}"),
                }
            }
        }
    };
    downloads.append(&mut lookup.log);
    chosen
}

/// Stage 6: carry the chosen action as far as [`Next`]; when the kernel
/// cannot be downloaded or loaded, boot the config's ONERROR command
/// instead, once (syslinux wiki, Config).
pub fn load(
    ctx: &BootContext,
    resolution: &mut pxecfg::Resolution,
    tree: Option<&crate::tree::Found>,
    opts: &Options,
    fetcher: &mut dyn Fetcher,
    downloads: &mut Vec<(String, Transfer)>,
    ph: &mut Phases,
) -> Result<Next, BootError> {
    let mut tried_onerror = false;
    loop {
        let result = match &resolution.action {
            pxecfg::Action::None => Err(BootError::NothingToBoot(format!(
                "{} names no label to boot",
                resolution.config.as_deref().unwrap_or("the config")
            ))),
            pxecfg::Action::LocalBoot(n) => opts
                .settings
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
            } => {
                let p = Payload { kernel, initrd };
                fetcher.download(ctx, &p, downloads).and_then(|files| {
                    ph.done("download");
                    if let Some(found) = tree {
                        crate::tree::check_downloads(found, downloads).map_err(BootError::Tree)?;
                    }
                    fetcher.kexec_load(&files, append, opts.dry_run)?;
                    if opts.dry_run {
                        Ok(Next::DryRun)
                    } else {
                        ph.done("kexec-load");
                        Ok(Next::Kexec)
                    }
                })
            }
        };
        match result {
            Ok(next) => return Ok(next),
            Err(e @ (BootError::Fetch(_) | BootError::Kexec(_))) if !tried_onerror => {
                tried_onerror = true;
                let Some(cmd) = resolution.parsed.as_ref().and_then(|p| p.on_error.clone()) else {
                    return Err(e);
                };
                warn!("{e}; ONERROR {cmd}");
                let Some(parsed) = resolution.parsed.clone() else {
                    return Err(e);
                };
                let mut lookup = Lookup {
                    fetcher: &mut *fetcher,
                    ctx,
                    log: vec![],
                    only: None,
                    failed: None,
                    refused: None,
                };
                let chosen = pxecfg::resolve_choice(&parsed, &cmd, &ctx.info, &mut lookup);
                downloads.append(&mut lookup.log);
                match chosen {
                    _ if lookup.refused.is_some() => return Err(e),
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
    }
}

/// The whole pipeline.
pub fn run(
    opts: &Options,
    net: &mut dyn Network,
    fetcher: &mut dyn Fetcher,
    console: &mut dyn Console,
) -> Result<Prepared, BootError> {
    let mut ph = Phases::start();
    let s = &opts.settings;
    let candidates = choose_interfaces(s, opts.interface.as_deref(), &net.interfaces())?;
    let (lease, iface) = net.lease(&candidates, opts)?;
    ph.done("dhcp");
    let with_option_60 = with_boot_file_params(opts, &lease);
    let opts = with_option_60.as_ref().unwrap_or(opts);
    let s = &opts.settings;
    let mtu = net::mtu(&iface.name);
    let mut ctx = BootContext::new(lease, iface, mtu, opts, &*net);
    let mut downloads = Vec::new();
    let (mut resolution, found) = if s.location.is_some() || s.kernel.is_some() {
        let (resolution, found) = find_tree(&ctx, s, fetcher, &mut downloads)?;
        ph.done("tree");
        (resolution, found)
    } else {
        let mut resolution = find_config(&ctx, s, fetcher, &mut downloads)?;
        if opts.interactive && s.label.is_none() {
            resolution = choose(&ctx, resolution, console, fetcher, &mut downloads);
        }
        info!(
            "config {}, label {}",
            resolution.config.as_deref().unwrap_or(""),
            resolution.label.as_deref().unwrap_or("(command line)")
        );
        ph.done("config");
        (resolution, None)
    };
    if found.as_ref().is_some_and(crate::tree::has_checksums) {
        // The tree's sha256 sums are checked as the payload streams in.
        ctx.downloader.sha256 = true;
    }
    let next = load(
        &ctx,
        &mut resolution,
        found.as_ref(),
        opts,
        fetcher,
        &mut downloads,
        &mut ph,
    )?;
    let tree = found.as_ref().map(|f| {
        let checked = crate::tree::check_downloads(f, &downloads).unwrap_or_default();
        crate::tree::to_json(f, Some(&checked))
    });
    Ok(Prepared {
        tree,
        next,
        reboot_time: ctx.lease.v4.as_ref().and_then(|l| l.reboot_time),
        lease: ctx.lease,
        resolution,
        downloads,
        phases: ph.list,
    })
}

/// How long a boot waits at its end for a busy TFTP server to answer the
/// copies of requests still queued there (none without a boot storm): a
/// copy answered after the client has gone would hold one of dnsmasq's
/// transfer slots for 30 s.
pub const SETTLE: Duration = Duration::from_secs(10);

/// The real network, fetcher and console.
#[derive(Debug, Default)]
pub struct System;

impl System {
    /// Run the pipeline on this machine. Before returning (to kexec, to
    /// print the plan, or to retry), give a busy TFTP server up to
    /// [`SETTLE`] to answer the copies of requests it still holds
    /// ([`crate::tftp::settle`]).
    pub fn prepare(opts: &Options) -> Result<Prepared, BootError> {
        let mut sys = System;
        let mut net = System;
        let mut con = System;
        let r = run(opts, &mut net, &mut sys, &mut con);
        crate::tftp::settle(SETTLE);
        r
    }
}

impl Network for System {
    fn interfaces(&self) -> Vec<net::Interface> {
        net::ethernet_interfaces()
    }

    fn lease(
        &mut self,
        candidates: &[net::Interface],
        opts: &Options,
    ) -> Result<(Leases, net::Interface), BootError> {
        let mut candidates = candidates.to_vec();
        if opts.reset_devices {
            let virtio = |i: &net::Interface| net::driver(&i.name).as_deref() == Some("virtio_net");
            for i in candidates.iter_mut().filter(|i| virtio(i)) {
                match net::rebind(i) {
                    Ok(n) => {
                        info!("{}: device reset for the retry (driver rebound)", n.name);
                        *i = n;
                    }
                    Err(e) => warn!("{e} (retrying without a device reset)"),
                }
            }
        }
        let (lease, iface) = get_lease(&candidates, opts)?;
        // Link-local servers (in option 59, configs, name servers) are on
        // the interface the lease came on.
        crate::net6::set_link_scope(&iface.name);
        if let Some(l) = lease.leading_v4() {
            net::configure(&iface.name, l.address, l.netmask, l.gateway())
                .map_err(BootError::Net)?;
        }
        // An IPv6 address is on the interface already (the kernel's SLAAC,
        // or added by the DHCPv6 client).
        Ok((lease, iface))
    }

    fn resolve(&self, name: &str, dns: &[Ipv4Addr]) -> Option<Ipv4Addr> {
        match crate::dns::resolve_a(name, dns, Duration::from_secs(5)) {
            Ok(a) => Some(a),
            Err(e) => {
                warn!("{name}: {e}");
                None
            }
        }
    }
}

impl Fetcher for System {
    fn config(&mut self, ctx: &BootContext, path: &str) -> Result<(Vec<u8>, Transfer), FetchError> {
        ctx.downloader.fetch_vec(path)
    }

    fn boot_file_head(&mut self, ctx: &BootContext, path: &str) -> Option<Vec<u8>> {
        let mut dl = ctx.downloader.clone();
        dl.limits.max_size = Some(BOOT_FILE_CONFIG_MAX);
        dl.sha256 = false;
        let mut v = Vec::new();
        match dl.fetch_into(path, &mut v) {
            Ok(_) => Some(v),
            Err(e) => {
                log::debug!("boot file {path} is not a config: {e}");
                None
            }
        }
    }

    fn download(
        &mut self,
        ctx: &BootContext,
        p: &Payload<'_>,
        downloads: &mut Vec<(String, Transfer)>,
    ) -> Result<Files, BootError> {
        let local = |e| BootError::Fetch(FetchError::Local(e));
        let mut link = Link::new(ctx);
        info!("kernel {}", p.kernel);
        let mut kernel = fetch::memfile("kernel").map_err(local)?;
        let t = link.fetch(p.kernel, &mut kernel, false)?;
        info!("kernel: {} bytes in {:.2} s", t.bytes, t.seconds);
        downloads.push((p.kernel.to_string(), t));
        let mut initrd = None;
        if !p.initrd.is_empty() {
            let mut f = fetch::memfile("initrd").map_err(local)?;
            let mut total = 0u64;
            for path in p.initrd {
                info!("initrd {path}");
                // The kernel unpacks concatenated archives; keep each
                // one 4-byte aligned.
                let pad = (4 - total % 4) % 4;
                f.write_all(&vec![0u8; pad as usize]).map_err(local)?;
                let t = link.fetch(path, &mut f, p.initrd.len() > 1)?;
                info!("initrd: {} bytes in {:.2} s", t.bytes, t.seconds);
                total += pad + t.bytes;
                downloads.push((path.clone(), t));
            }
            if p.initrd.len() > 1 && ctx.downloader.trust.is_on() {
                // Verified parts: sealed now that the last one is in.
                fetch::seal(&f).map_err(local)?;
            }
            initrd = Some((f, total));
        }
        Ok(Files { kernel, initrd })
    }

    fn kexec_load(&mut self, files: &Files, append: &str, dry_run: bool) -> Result<(), BootError> {
        let ilen = files.initrd.as_ref().map(|(_, n)| *n).unwrap_or(0);
        if dry_run {
            return check_kernel(&files.kernel, ilen, append);
        }
        info!("kexec: command line {append:?}");
        let m = kexec::load(&files.kernel, files.initrd.as_ref().map(|(f, _)| f), append)
            .map_err(BootError::Kexec)?;
        info!("kexec: loaded ({m:?})");
        Ok(())
    }

    fn tree_file(
        &mut self,
        ctx: &BootContext,
        url: &str,
        max: u64,
    ) -> Result<(Vec<u8>, Transfer), FetchError> {
        crate::tree::Source::read(&mut crate::tree::DlSource(&ctx.downloader), url, max)
    }

    fn tree_probe(&mut self, ctx: &BootContext, url: &str) -> Result<bool, FetchError> {
        crate::tree::Source::exists(&mut crate::tree::DlSource(&ctx.downloader), url)
    }
}

impl Console for System {
    fn prompt(&mut self, config: &pxecfg::Config) -> crate::menu::Answer {
        let stdin = std::io::stdin();
        crate::menu::prompt(
            config,
            std::os::fd::AsFd::as_fd(&stdin),
            &mut std::io::stderr(),
        )
    }
}

/// The boot interface during payload downloads: a receive watch
/// ([`net::RxWatch`]) resets a device whose receive side stopped while the
/// download goes on; a download that failed all the same after such a
/// reset is made again from the start (TFTP cannot resume).
struct Link {
    dl: Downloader,
    watch: net::RxWatch,
    restarts: u32,
}

impl Link {
    /// Downloads made again per boot attempt.
    const MAX_RESTARTS: u32 = 3;

    fn new(ctx: &BootContext) -> Link {
        let addr = match (ctx.lease.leading_v4(), ctx.lease.leading_v6()) {
            (Some(l), _) => net::Addressing {
                address: l.address,
                netmask: l.netmask,
                gateway: l.gateway(),
                v6: None,
                gateway6: None,
            },
            (None, l6) => net::Addressing {
                address: Ipv4Addr::UNSPECIFIED,
                netmask: Ipv4Addr::UNSPECIFIED,
                gateway: None,
                v6: l6
                    .filter(|l| l.method != dhcp6::Method::Slaac)
                    .map(|l| (l.address, l.prefix_len)),
                gateway6: l6
                    .filter(|l| l.method == dhcp6::Method::Static)
                    .and_then(|l| l.routers.first().copied()),
            },
        };
        Link {
            dl: ctx.downloader.clone(),
            watch: net::RxWatch::start(&ctx.iface, addr),
            restarts: 0,
        }
    }

    /// Append `path` to `file` (as one `part` of several concatenated
    /// files: [`Downloader::fetch_part`]), again from the start when it
    /// failed after the watch reset the device.
    fn fetch(&mut self, path: &str, file: &mut File, part: bool) -> Result<Transfer, BootError> {
        let local = |e| BootError::Fetch(FetchError::Local(e));
        let start = file.stream_position().map_err(local)?;
        loop {
            let before = self.watch.state().resets;
            let got = match part {
                true => self.dl.fetch_part(path, file),
                false => self.dl.fetch_to_file(path, file),
            };
            let err = match got {
                Ok(t) => return Ok(t),
                Err(e) => e,
            };
            let st = self.watch.state();
            let reset_during = st.resets > before && st.failed.is_none();
            if matches!(err, FetchError::NotFound(_) | FetchError::Local(_))
                || !reset_during
                || self.restarts >= Self::MAX_RESTARTS
            {
                return Err(BootError::Fetch(err));
            }
            self.restarts += 1;
            warn!(
                "{err}; the device was reset during the download: downloading {path} again ({}/{})",
                self.restarts,
                Self::MAX_RESTARTS
            );
            file.set_len(start).map_err(local)?;
            file.seek(SeekFrom::Start(start)).map_err(local)?;
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

/// A lease of either family, as the per-interface threads report them.
#[derive(Debug)]
pub enum Got {
    /// DHCPv4.
    V4(Lease),
    /// SLAAC or DHCPv6.
    V6(Lease6),
}

impl Got {
    /// Whether it names a boot server (or `forced`: `pxe.server=`).
    fn has_boot_server(&self, forced: bool) -> bool {
        forced
            || match self {
                Got::V4(l) => l.boot_server().is_some(),
                Got::V6(l) => l.boot_url().is_some(),
            }
    }
}

/// Bring up the interfaces and get a lease (or use `ip=`): on every
/// interface DHCPv4 and IPv6 run in parallel (`pxe.ipv6=` can leave one
/// out), and [`choose_lease`] takes the first that answers.
fn get_lease(
    ifaces: &[net::Interface],
    opts: &Options,
) -> Result<(Leases, net::Interface), BootError> {
    let s = &opts.settings;
    let _ = net::link_up("lo");
    for i in ifaces {
        if std::process::id() == 1 && s.ipv6.v6() {
            crate::net6::skip_dad(&i.name);
        }
        net::link_up(&i.name).map_err(BootError::Net)?;
    }
    if s.ip.is_some() || s.ip6.is_some() {
        let i = ifaces[0].clone();
        net::wait_carrier(&i.name, Duration::from_secs(5));
        let leases = static_leases(&i, s);
        if let Some(l6) = &leases.v6 {
            if std::process::id() == 1 {
                crate::net6::ignore_ra(&i.name);
            }
            dhcp6::configure_static(l6).map_err(|e| BootError::Dhcp(vec![e.to_string()]))?;
        }
        info!("{}", leads_line(&leases, &i));
        return Ok((leases, i));
    }
    let mut cfg = dhcp::Config::default();
    if let Some(l) = opts.dhcp_limit {
        cfg.limit = l;
    }
    if let Some(t) = s.timeout {
        cfg.limit = Duration::from_secs(t.max(1));
    }
    cfg.uuid = opts.uuid.as_deref().and_then(dhcp::wire::parse_uuid);
    let cfg6 = dhcp6::Config {
        limit: cfg.limit,
        uuid: cfg.uuid,
        method: s.v6_method,
    };
    let mode = s.ipv6;
    let (tx, rx) = mpsc::channel();
    for i in ifaces.iter().cloned() {
        let tx = tx.clone();
        let cfg = cfg.clone();
        let cfg6 = cfg6.clone();
        std::thread::spawn(move || {
            if !net::wait_carrier(&i.name, Duration::from_secs(10)) {
                warn!("{}: no carrier after 10 s; trying DHCP anyway", i.name);
            }
            if mode.v6() {
                let (tx, i) = (tx.clone(), i.clone());
                std::thread::spawn(move || {
                    let r = dhcp6::lease(&i.name, i.mac, &cfg6);
                    let _ = tx.send((i, r.map(Got::V6).map_err(|e| e.to_string())));
                });
            }
            if mode.v4() {
                let r = dhcp::lease(&i.name, i.mac, &cfg);
                let _ = tx.send((i, r.map(Got::V4).map_err(|e| e.to_string())));
            }
        });
    }
    drop(tx);
    let (lease, iface) = choose_lease(&rx, s.server.is_some(), IPV4_GRACE)?;
    info!("{}", leads_line(&lease, &iface));
    Ok((lease, iface))
}

/// The console line saying which family leads.
fn leads_line(l: &Leases, iface: &net::Interface) -> String {
    match (l.leading_v4(), l.leading_v6()) {
        (Some(v4), _) => format!(
            "network: IPv4 leads on {} ({}{})",
            iface.name,
            v4.address,
            if l.v6.is_some() {
                "; IPv6 answered too"
            } else {
                ""
            }
        ),
        (None, Some(v6)) => format!(
            "network: IPv6 leads on {} ({} {}/{}, boot server {})",
            iface.name,
            match v6.method {
                dhcp6::Method::Slaac => "SLAAC",
                dhcp6::Method::Dhcpv6 => "DHCPv6",
                dhcp6::Method::Static => "static",
            },
            v6.address,
            v6.prefix_len,
            v6.boot_server()
                .map(|a| a.to_string())
                .or_else(|| v6.bootfile_url.clone())
                .unwrap_or_else(|| "none from DHCPv6".into())
        ),
        (None, None) => format!("network: no lease on {}", iface.name),
    }
}

/// Stage 2's choice among the leases as they arrive on `rx`: the first
/// with a boot server leads (every lease has one with `forced`,
/// `pxe.server=`), except that an IPv6 lease waits `grace` for an IPv4
/// one, which then leads (the deterministic preference when both answer
/// at about the same time). Leases without a boot server are kept until
/// every answer is in: the first of them leads then. The errors, each a
/// line, when nothing answered.
pub fn choose_lease(
    rx: &mpsc::Receiver<(net::Interface, Result<Got, String>)>,
    forced: bool,
    grace: Duration,
) -> Result<(Leases, net::Interface), BootError> {
    let mut pending6: Option<(Lease6, net::Interface)> = None;
    let mut grace_end: Option<Instant> = None;
    let mut fallback: Option<(Got, net::Interface)> = None;
    let mut errors = Vec::new();
    loop {
        let got = match grace_end {
            Some(end) => match rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
                Ok(m) => m,
                Err(_) => break,
            },
            None => match rx.recv() {
                Ok(m) => m,
                Err(_) => break,
            },
        };
        match got {
            (i, Ok(g)) if g.has_boot_server(forced) => match g {
                Got::V4(l) => {
                    let v6 = pending6
                        .take()
                        .filter(|(_, i6)| i6.name == i.name)
                        .map(|(l6, _)| l6);
                    let leases = Leases {
                        v4: Some(l),
                        v6,
                        led: Family::V4,
                    };
                    return Ok((leases, i));
                }
                Got::V6(l) => {
                    if pending6.is_none() {
                        pending6 = Some((l, i));
                        grace_end = Some(Instant::now() + grace);
                    }
                }
            },
            (i, Ok(g)) => {
                fallback.get_or_insert((g, i));
            }
            (_, Err(e)) => errors.push(e),
        }
    }
    if let Some((l, i)) = pending6 {
        return Ok((l.into(), i));
    }
    match fallback {
        Some((Got::V4(l), i)) => Ok((l.into(), i)),
        Some((Got::V6(l), i)) => Ok((l.into(), i)),
        None => Err(BootError::Dhcp(errors)),
    }
}

/// The leases `ip=` stands for (IPv4, `ip=[...]` IPv6, or both: then
/// IPv4 leads, as when both families answer DHCP at once).
pub fn static_leases(i: &net::Interface, s: &Settings) -> Leases {
    let v4 = s.ip.as_ref().map(|ip| static_lease(i, ip));
    Leases {
        led: if v4.is_some() { Family::V4 } else { Family::V6 },
        v4,
        v6: s.ip6.as_ref().map(|ip| dhcp6::static_lease(&i.name, ip)),
    }
}

/// The lease `ip=client:server:gw:mask:...` stands for.
pub fn static_lease(i: &net::Interface, ip: &crate::cmdline::StaticIp) -> Lease {
    Lease {
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

#[cfg(test)]
mod test;

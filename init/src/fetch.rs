//! Downloads: a path from a PXELINUX config becomes a TFTP transfer from
//! the boot server or an HTTP request, streamed into memory (configs) or
//! into a memfd (kernels and initrds), hashed on the way when asked (the
//! dry-run plan shows sha256; a real boot skips it: software sha256 under
//! QEMU TCG costs seconds for a large initrd).
//!
//! With trusted keys ([`Downloader::trust`]) every file must come with a
//! valid minisign signature (see [`crate::verify`]): configs are checked in
//! memory ([`Downloader::fetch_vec`]); kernels and initrds are hashed
//! while they stream into their memfd, which is sealed before the check
//! ([`Downloader::fetch_to_file`]).

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use sha2::{Digest, Sha256};

use crate::tftp;
use crate::verify::{self, Expected, Refusal, Verified};

/// Where a path is fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// TFTP from `server`.
    Tftp {
        /// Server address (IPv4 or IPv6) and port.
        server: SocketAddr,
        /// File name as requested.
        path: String,
    },
    /// HTTP(S) URL.
    Http(String),
    /// `ftp://`, `file://`: fetched by [`crate::sources`].
    Url(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Tftp { server, path } => {
                if server.port() != 69 {
                    write!(f, "tftp://{server}/{path}")
                } else if server.is_ipv6() {
                    write!(f, "tftp://[{}]/{}", server.ip(), path)
                } else {
                    write!(f, "tftp://{}/{}", server.ip(), path)
                }
            }
            Location::Http(u) => f.write_str(u),
            Location::Url(u) => f.write_str(&crate::sources::shown(u)),
        }
    }
}

/// A download that failed, naming what and from where.
#[derive(Debug)]
pub enum FetchError {
    /// The server says the file does not exist.
    NotFound(Location),
    /// Any other failure.
    Failed {
        /// What was fetched.
        from: Location,
        /// Why it failed.
        why: String,
    },
    /// The server did not answer or cannot be reached: asking it for
    /// another file would fail the same way after the same wait.
    Unreachable {
        /// What was fetched.
        from: Location,
        /// Why it failed.
        why: String,
    },
    /// No server to fetch a relative path from.
    NoServer(String),
    /// Writing the local copy failed.
    Local(io::Error),
    /// A URL scheme pxeinit does not fetch (`ftp://`, `nfs:`...).
    Unsupported(String),
    /// The host name of a `tftp://NAME/` path cannot be resolved.
    Resolve {
        /// The path as given.
        path: String,
        /// Why.
        why: String,
    },
    /// Downloaded, but its signature does not let it through.
    Refused {
        /// What was fetched.
        from: Location,
        /// Why it is refused.
        why: Refusal,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::NotFound(l) => write!(f, "{l}: file not found"),
            FetchError::Failed { from, why } | FetchError::Unreachable { from, why } => {
                write!(f, "{from}: {why}")
            }
            FetchError::NoServer(p) => write!(
                f,
                "{p}: no boot server known (no DHCP next-server/option 66 and no pxe.server=)"
            ),
            FetchError::Local(e) => write!(f, "local copy failed: {e}"),
            FetchError::Unsupported(p) => write!(
                f,
                "{p}: not supported: pxeinit fetches tftp://, http://, https://, ftp://, nfs: (nfs://, nfs+iso:) and file:// URLs and paths on the boot server"
            ),
            FetchError::Resolve { path, why } => write!(f, "{path}: {why}"),
            FetchError::Refused { from, why } => write!(f, "{from}: refused: {why}"),
        }
    }
}

impl std::error::Error for FetchError {}

/// A path's target, before a host name is resolved.
enum Target {
    Loc(Location),
    /// `tftp://NAME[:PORT]/FILE`: resolved at fetch time
    /// ([`Downloader::locate`]).
    TftpName {
        host: String,
        port: u16,
        path: String,
    },
}

/// URL schemes that are not fetched: a clear error instead of a TFTP
/// request for a file named `ftp://...` (any other `SCHEME://` is refused
/// too).
const UNSUPPORTED: &[&str] = &[
    "ftp", "ftps", "sftp", "scp", "nfs", "nfs+iso", "file", "smb", "cifs", "iscsi", "nbd",
];

/// The URL scheme of `path` (as written): `SCHEME://...`, or one of
/// [`UNSUPPORTED`] followed by `:`. PXELINUX's `host::path` and file names
/// with a colon further in are not schemes.
fn scheme(path: &str) -> Option<&str> {
    let (s, rest) = path.split_once(':')?;
    let name = s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let known = UNSUPPORTED.iter().any(|u| s.eq_ignore_ascii_case(u));
    (name && (rest.starts_with("//") || known)).then_some(s)
}

/// The address of a `tftp://` URL's host: `A.B.C.D[:PORT]`,
/// `[IPV6][:PORT]` (a bare IPv6 address too, on port 69).
fn tftp_host_addr(host: &str) -> Option<SocketAddr> {
    if let Ok(a) = host.parse::<SocketAddr>() {
        return Some(a);
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<Ipv6Addr>() {
        return Some(SocketAddr::new(ip.into(), 69));
    }
    host.parse::<Ipv4Addr>()
        .ok()
        .map(|ip| SocketAddr::new(ip.into(), 69))
}

fn target(path: &str, server: Option<IpAddr>) -> Result<Target, FetchError> {
    let Some(scheme) = scheme(path) else {
        return match server {
            Some(ip) => Ok(Target::Loc(Location::Tftp {
                server: SocketAddr::new(ip, 69),
                path: path.to_string(),
            })),
            None => Err(FetchError::NoServer(path.to_string())),
        };
    };
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" if !crate::sources::claims(path) => {
            Ok(Target::Loc(Location::Http(path.to_string())))
        }
        "http" | "https" | "file" | "ftp" | "nfs" | "nfs+iso" => {
            Ok(Target::Loc(Location::Url(path.to_string())))
        }
        "tftp" => {
            // scheme() saw "tftp" and "//": seven ASCII bytes.
            let rest = path.get(7..).unwrap_or_default();
            let (host, file) = rest.split_once('/').unwrap_or((rest, ""));
            if let Some(server) = tftp_host_addr(host) {
                return Ok(Target::Loc(Location::Tftp {
                    server,
                    path: file.to_string(),
                }));
            }
            let (name, port) = match host.rsplit_once(':') {
                Some((n, p)) => (n, p.parse::<u16>().ok().filter(|p| *p > 0)),
                None => (host, Some(69)),
            };
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            match port {
                Some(port) if valid => Ok(Target::TftpName {
                    host: name.to_string(),
                    port,
                    path: file.to_string(),
                }),
                _ => Err(FetchError::Resolve {
                    path: path.to_string(),
                    why: format!(
                        "{host:?} is not a host name, IPv4 address, [IPv6 address] or either with :port"
                    ),
                }),
            }
        }
        _ => Err(FetchError::Unsupported(path.to_string())),
    }
}

/// Turn a config path into a location. A `tftp://NAME/` host name is an
/// error here; [`Downloader::locate`] resolves it.
pub fn locate(path: &str, server: Option<IpAddr>) -> Result<Location, FetchError> {
    match target(path, server)? {
        Target::Loc(l) => Ok(l),
        Target::TftpName { host, .. } => Err(FetchError::Resolve {
            path: path.to_string(),
            why: format!("{host} is a host name: resolving it needs the lease's DNS servers"),
        }),
    }
}

/// How long resolving a `tftp://NAME/` host may take.
const DNS_LIMIT: Duration = Duration::from_secs(5);

/// Why a host name did not resolve, without repeating the name (the
/// error names the path).
fn dns_reason(e: &crate::dns::DnsError) -> String {
    use crate::dns::DnsError;
    let why = match e {
        DnsError::NoServers(_) => "no DNS server known (DHCP option 6)".to_string(),
        DnsError::BadName(_) => "not a valid host name".to_string(),
        DnsError::NotFound(_) => "no such host (no A record)".to_string(),
        DnsError::Timeout(_) => "no answer from the DNS servers".to_string(),
        DnsError::Io(e) => e.to_string(),
    };
    format!("cannot resolve the host name: {why}")
}

/// What one download did.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Where from.
    pub from: String,
    /// Bytes received.
    pub bytes: u64,
    /// sha256, lowercase hex (empty when not computed).
    pub sha256: String,
    /// Wall time.
    pub seconds: f64,
    /// The signature check it passed (None: not verified).
    pub verified: Option<Verified>,
    /// For TFTP: block and window size, `tsize`, retransmissions, RTT.
    pub tftp: Option<tftp::Stats>,
}

impl Transfer {
    /// As JSON.
    pub fn to_json(&self, path: &str) -> serde_json::Value {
        let sha = (!self.sha256.is_empty()).then(|| self.sha256.clone());
        serde_json::json!({
            "path": path, "from": self.from, "bytes": self.bytes,
            "sha256": sha, "seconds": self.seconds,
            "verified": self.verified.as_ref().map(Verified::to_json),
            "tftp": self.tftp.as_ref().map(|t| serde_json::json!({
                "blksize": t.blksize,
                "windowsize": t.windowsize,
                "tsize": t.tsize,
                "retransmits": t.retransmits,
                "srtt_ms": t.srtt.map(|d| d.as_secs_f64() * 1e3),
                "rttvar_ms": t.rttvar.map(|d| d.as_secs_f64() * 1e3),
                "utimeout_ms": t.utimeout.map(|d| d.as_secs_f64() * 1e3),
                "requests": t.requests,
                "refusals": t.refusals,
                "waited": t.waited.as_secs_f64(),
                "duplicates": t.duplicates,
            })),
        })
    }
}

/// A writer that hashes, counts and reports progress.
struct Tee<'a> {
    inner: &'a mut dyn Write,
    hash: Option<Sha256>,
    bytes: u64,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(h) = &mut self.hash {
            h.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Console progress for long transfers: at most one line per second,
/// only for transfers over 1 MiB, no cursor tricks (a serial line).
pub struct Progress {
    name: String,
    start: Instant,
    last: Instant,
    /// The clock is read again only past this many bytes: a TFTP
    /// transfer reports every block, and under TCG each clock read shows.
    next_look: u64,
}

/// Bytes between two looks at the clock in [`Progress::update`].
const PROGRESS_STRIDE: u64 = 64 << 10;

impl Progress {
    fn new(name: &str) -> Progress {
        let now = Instant::now();
        Progress {
            name: name.to_string(),
            start: now,
            last: now,
            next_look: 0,
        }
    }

    fn update(&mut self, got: u64, total: Option<u64>) {
        if got < self.next_look {
            return;
        }
        self.next_look = got.saturating_add(PROGRESS_STRIDE);
        if self.last.elapsed() < Duration::from_secs(1) {
            return;
        }
        if total.map(|t| t <= 1 << 20).unwrap_or(got <= 1 << 20) {
            return;
        }
        self.last = Instant::now();
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let rate = got as f64 / secs;
        match total {
            Some(t) if t > 0 => {
                let eta = (t.saturating_sub(got)) as f64 / rate.max(1.0);
                info!(
                    "{}: {:.1}/{:.1} MiB {:.0}% {:.1} MiB/s ETA {:.0} s",
                    self.name,
                    got as f64 / 1048576.0,
                    t as f64 / 1048576.0,
                    got as f64 * 100.0 / t as f64,
                    rate / 1048576.0,
                    eta
                )
            }
            _ => info!(
                "{}: {:.1} MiB {:.1} MiB/s",
                self.name,
                got as f64 / 1048576.0,
                rate / 1048576.0
            ),
        }
    }
}

/// The largest config file (each PXELINUX config, include and CONFIG
/// target).
pub const CONFIG_MAX: u64 = 4 << 20;
/// The most config bytes one [`Downloader`] (one boot attempt) reads in all.
pub const CONFIG_TOTAL_MAX: u64 = 16 << 20;
/// Memory left aside besides a payload and its kexec copy by
/// [`memory_limit`].
pub const MEMORY_RESERVE: u64 = 64 << 20;

/// The default size limit of a kernel or initrd: half of `MemAvailable`
/// (/proc/meminfo) after [`MEMORY_RESERVE`], since `kexec_load` copies the
/// payload into kernel memory and it is held twice until the reboot.
/// Read at the start of each download, so that the memfds filled before
/// count. No limit (`u64::MAX`) when /proc/meminfo cannot be read.
pub fn memory_limit() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| mem_available(&t))
        .map_or(u64::MAX, |a| a.saturating_sub(MEMORY_RESERVE) / 2)
}

/// `MemAvailable` from the text of /proc/meminfo, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let kb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .strip_suffix("kB")?
        .trim();
    kb.parse::<u64>().ok()?.checked_mul(1024)
}

/// Bounds on every download, whatever the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest kernel or initrd (`pxe.maxsize=`, `--max-size`); `None`:
    /// [`memory_limit`]. Configs are also capped at [`CONFIG_MAX`].
    pub max_size: Option<u64>,
    /// The minimum rate in bytes per second (`pxe.minrate=`,
    /// `--speed-limit`), 0 for none: a download bringing less over
    /// `stall_time` is aborted (as curl's `--speed-limit`).
    pub min_rate: u64,
    /// The window of `min_rate` (`pxe.stalltime=`, `--speed-time`).
    pub stall_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_size: None,
            min_rate: 1024,
            stall_time: Duration::from_secs(30),
        }
    }
}

/// What a download is, for its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Config,
    Payload,
}

/// The minimum-rate rule: less than `min_rate` bytes per second over any
/// `window` of the transfer aborts it. The window starts at the first
/// byte; until then the transports' own timeouts bound the wait, as they
/// bound a complete silence later (the rule is checked as data arrives).
#[derive(Debug)]
pub struct RateRule {
    min_rate: u64,
    window: Duration,
    /// (when, bytes so far), at least `window / 16` apart; the first is
    /// the newest at least a window old once there is one.
    samples: VecDeque<(Instant, u64)>,
}

impl RateRule {
    /// The rule for `min_rate` bytes per second over `window` (off when
    /// either is zero).
    pub fn new(min_rate: u64, window: Duration) -> RateRule {
        RateRule {
            min_rate,
            window,
            samples: VecDeque::new(),
        }
    }

    /// Record that `bytes` have arrived in all by `now`. The reason, one
    /// line, when the last window brought too little.
    pub fn check(&mut self, now: Instant, bytes: u64) -> Result<(), String> {
        if self.min_rate == 0 || self.window.is_zero() {
            return Ok(());
        }
        let Some(&(first, _)) = self.samples.front() else {
            self.samples.push_back((now, 0));
            return Ok(());
        };
        while self.samples.len() >= 2
            && now.saturating_duration_since(self.samples[1].0) >= self.window
        {
            self.samples.pop_front();
        }
        let (t0, b0) = self.samples.front().copied().unwrap_or((first, 0));
        let age = now.saturating_duration_since(t0);
        if age >= self.window {
            let got = bytes.saturating_sub(b0);
            if (got as f64) < self.min_rate as f64 * self.window.as_secs_f64() {
                return Err(format!(
                    "too slow: {got} bytes in the last {:.1} s ({:.1} B/s), below the minimum of {} B/s over {} s; {bytes} bytes received",
                    age.as_secs_f64(),
                    got as f64 / age.as_secs_f64(),
                    self.min_rate,
                    self.window.as_secs_f64()
                ));
            }
        }
        let last = self.samples.back().map_or(t0, |s| s.0);
        if now.saturating_duration_since(last) >= self.window / 16 {
            self.samples.push_back((now, bytes));
        }
        Ok(())
    }
}

/// A writer enforcing [`Limits`] on what the transport delivers: a write
/// past the size limit, or one finding the rate too low, fails, and the
/// reason is left in `tripped` (the transport reports its own error).
struct Guard<'a> {
    inner: &'a mut dyn Write,
    limit: u64,
    kind: Kind,
    bytes: u64,
    rate: RateRule,
    tripped: &'a Cell<Option<String>>,
}

impl Guard<'_> {
    fn trip(&self, why: String) -> io::Error {
        let e = io::Error::other(why.clone());
        self.tripped.set(Some(why));
        e
    }
}

impl Write for Guard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.limit.saturating_sub(self.bytes);
        if !buf.is_empty() && room == 0 {
            let what = match self.kind {
                Kind::Config => format!(
                    "the size limit of {} bytes for config files ({} MiB each, {} MiB in all)",
                    self.limit,
                    CONFIG_MAX >> 20,
                    CONFIG_TOTAL_MAX >> 20
                ),
                Kind::Payload => format!("the size limit of {} bytes", self.limit),
            };
            return Err(self.trip(format!(
                "larger than {what}; stopped after {} bytes",
                self.bytes
            )));
        }
        // What fits; the next write finds no room.
        let fits = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.write(&buf[..fits])?;
        self.bytes += n as u64;
        if let Err(why) = self.rate.check(Instant::now(), self.bytes) {
            return Err(self.trip(why));
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Fetches paths from one boot server.
#[derive(Debug, Clone)]
pub struct Downloader {
    /// The boot server for relative paths (IPv4 or IPv6).
    pub server: Option<IpAddr>,
    /// TFTP tuning.
    pub tftp: tftp::Options,
    /// HTTP timeout.
    pub http_timeout: Duration,
    /// Name servers for HTTP host names (DHCP option 6).
    pub dns: Vec<Ipv4Addr>,
    /// IPv6 name servers (DHCPv6 option 23, the router's RDNSS): when
    /// there are any, host names resolve to AAAA records through them.
    pub dns6: Vec<Ipv6Addr>,
    /// CA certificates for https:// (feature `https`).
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Compute the sha256 of each download.
    pub sha256: bool,
    /// Size and rate bounds ([`Downloader::apply_settings`]).
    pub limits: Limits,
    /// Config bytes read so far (against [`CONFIG_TOTAL_MAX`]).
    config_bytes: Arc<AtomicU64>,
    /// Trusted minisign keys: when on, nothing is returned unverified.
    pub trust: verify::Trust,
    /// How long one file may wait on a server at its limit
    /// (`pxe.busywait=`, `--busy-wait`; zero: not at all): a TFTP server
    /// that refuses as busy or, once known to be up, does not answer
    /// ([`tftp::Options::busy_wait`]); an HTTP server answering 429, 502,
    /// 503 or 504, or, once known to be up, refusing or not accepting
    /// the connection. Asked again on a jittered exponential backoff
    /// (0.5, 1, 2 … 30 s, ±50 %), never reported as a missing file.
    pub busy_wait: Duration,
    /// What earlier downloads learnt about the servers.
    servers: Arc<Mutex<Servers>>,
}

/// How often [`Downloader::fetch_to_file`] downloads a file again whose
/// TFTP server gave the transfer up part way.
const MAX_RESTARTS: u32 = 2;

/// The default of [`Downloader::busy_wait`]: long enough to outlast a boot
/// storm of a few hundred guests against one dnsmasq.
pub const BUSY_WAIT: Duration = Duration::from_secs(300);

/// What a [`Downloader`] knows of the servers it talked to.
#[derive(Debug, Default)]
struct Servers {
    /// Hosts that answered this client (or gave it its lease): silence
    /// from them means busy, not gone.
    up: Vec<IpAddr>,
    /// The round trip of the last TFTP transfer from each host that
    /// measured one (SRTT, RTTVAR) and the longest gap between its blocks
    /// seen so far, for `utimeout`.
    rtt: Vec<(IpAddr, Duration, Duration, Duration)>,
    /// TFTP transfers whose server gave up part way (its transfer port
    /// closed: tftpd-hpa after its timer ran out), for
    /// [`Downloader::fetch_file`] to download again.
    gave_up: u64,
    /// How long each host's last TFTP answer took to come: a busy server's
    /// queue, which the next request's copies wait out.
    waited: Vec<(IpAddr, Duration)>,
}

impl Downloader {
    /// A downloader for `server` on an interface with `mtu`.
    pub fn new(server: Option<IpAddr>, mtu: u32) -> Downloader {
        Downloader {
            server,
            tftp: tftp::Options::for_mtu(mtu),
            http_timeout: Duration::from_secs(30),
            dns: Vec::new(),
            dns6: Vec::new(),
            ca_bundle: None,
            sha256: true,
            limits: Limits::default(),
            config_bytes: Arc::default(),
            trust: verify::Trust::default(),
            busy_wait: BUSY_WAIT,
            servers: Arc::default(),
        }
    }

    /// `host` is up (it answered this client, or gave it its lease): if it
    /// falls silent it is busy, and is waited for ([`Self::busy_wait`]).
    pub fn mark_up(&self, host: IpAddr) {
        let mut s = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        if !s.up.contains(&host) {
            s.up.push(host);
        }
    }

    fn is_up(&self, host: IpAddr) -> bool {
        let s = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        s.up.contains(&host)
    }

    /// The round trip measured on the last TFTP transfer from `host`, and
    /// the longest gap between blocks seen from it.
    fn rtt(&self, host: IpAddr) -> Option<(Duration, Duration, Duration)> {
        let s = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        s.rtt
            .iter()
            .find(|(h, ..)| *h == host)
            .map(|&(_, srtt, rttvar, gap)| (srtt, rttvar, gap))
    }

    fn record_rtt(&self, host: IpAddr, stats: &tftp::Stats) {
        let (Some(srtt), Some(rttvar)) = (stats.srtt, stats.rttvar) else {
            return;
        };
        let mut s = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        let gap = s
            .rtt
            .iter()
            .find(|(h, ..)| *h == host)
            .map_or(Duration::ZERO, |&(.., g)| g)
            .max(stats.max_gap);
        s.rtt.retain(|(h, ..)| *h != host);
        s.rtt.push((host, srtt, rttvar, gap));
    }

    fn gave_up(&self) -> u64 {
        self.servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .gave_up
    }

    /// The TFTP options for one download from `host`: the size limit,
    /// whether the server is known to be up, the busy wait, and the
    /// `utimeout` from the round trip measured on earlier transfers from
    /// it ([`tftp::utimeout_for`]; the configured default until one is
    /// measured).
    fn tftp_options(&self, host: IpAddr, limit: u64) -> tftp::Options {
        let mut opts = tftp::Options {
            max_size: Some(limit),
            known_up: self.is_up(host),
            busy_wait: self.busy_wait,
            ..self.tftp.clone()
        };
        if let (Some(_), Some((srtt, rttvar, gap))) = (opts.utimeout, self.rtt(host)) {
            // Above the round trip, and long enough that tftpd-hpa waits
            // out the longest stall seen instead of abandoning the file.
            let u = tftp::utimeout_for(srtt, rttvar).max(tftp::utimeout_tolerating(gap));
            opts.utimeout = Some(u.min(tftp::MAX_UTIMEOUT));
        }
        // A server whose queue kept the last request waiting: the next
        // one's first copy goes no sooner than twice that wait (a copy it
        // queues too is one more transfer for it to serve).
        let waited = {
            let s = self.servers.lock().unwrap_or_else(|e| e.into_inner());
            s.waited.iter().find(|(h, _)| *h == host).map(|&(_, w)| w)
        };
        if let Some(w) = waited {
            opts.patient_rto = w
                .saturating_mul(2)
                .clamp(opts.patient_rto, tftp::MAX_REQUEST_INTERVAL);
        }
        opts
    }

    fn record_wait(&self, host: IpAddr, waited: Duration) {
        let mut s = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        s.waited.retain(|(h, _)| *h != host);
        s.waited.push((host, waited));
    }

    /// Stream `path` into `sink`. This does not verify: the verifying
    /// fetches are [`Self::fetch_vec`], [`Self::fetch_to_file`] and
    /// [`Self::fetch_part`].
    pub fn fetch_into(&self, path: &str, sink: &mut dyn Write) -> Result<Transfer, FetchError> {
        self.fetch_limited(path, sink, Kind::Payload)
    }

    /// Take the download bounds of the init's command line or the CLI
    /// (`pxe.maxsize=`, `pxe.minrate=`, `pxe.stalltime=`, `pxe.busywait=`);
    /// unset ones keep their defaults.
    pub fn apply_settings(&mut self, s: &crate::cmdline::Settings) {
        if let Some(m) = s.max_size {
            self.limits.max_size = Some(m);
        }
        if let Some(r) = s.min_rate {
            self.limits.min_rate = r;
        }
        if let Some(t) = s.stall_time {
            self.limits.stall_time = Duration::from_secs(t);
        }
        if let Some(t) = s.busy_wait {
            self.busy_wait = Duration::from_secs(t);
        }
    }

    /// [`locate`], resolving the host name of a `tftp://NAME/` path with
    /// the lease's name servers ([`Self::dns`], A records; over IPv6
    /// [`Self::dns6`], AAAA records).
    pub fn locate(&self, path: &str) -> Result<Location, FetchError> {
        match target(path, self.server)? {
            Target::Loc(l) => Ok(l),
            Target::TftpName {
                host,
                port,
                path: file,
            } => {
                let resolved = match self.dns6.is_empty() {
                    true => crate::dns::resolve_a(&host, &self.dns, DNS_LIMIT).map(IpAddr::V4),
                    false => crate::dns::resolve_aaaa(&host, &self.dns6, DNS_LIMIT).map(IpAddr::V6),
                };
                let ip = resolved.map_err(|e| FetchError::Resolve {
                    path: path.to_string(),
                    why: dns_reason(&e),
                })?;
                info!("{host} is {ip}");
                Ok(Location::Tftp {
                    server: SocketAddr::new(ip, port),
                    path: file,
                })
            }
        }
    }

    /// The size limit of a download of `kind`.
    fn size_limit(&self, kind: Kind) -> u64 {
        let payload = self.limits.max_size.unwrap_or_else(memory_limit);
        match kind {
            Kind::Payload => payload,
            Kind::Config => {
                let used = self.config_bytes.load(Ordering::Relaxed);
                CONFIG_MAX
                    .min(CONFIG_TOTAL_MAX.saturating_sub(used))
                    .min(payload)
            }
        }
    }

    /// Stream `path` into `sink` within the [`Limits`] for `kind`.
    fn fetch_limited(
        &self,
        path: &str,
        sink: &mut dyn Write,
        kind: Kind,
    ) -> Result<Transfer, FetchError> {
        let loc = self.locate(path)?;
        let limit = self.size_limit(kind);
        let tripped = Cell::new(None);
        let mut guard = Guard {
            inner: sink,
            limit,
            kind,
            bytes: 0,
            rate: RateRule::new(self.limits.min_rate, self.limits.stall_time),
            tripped: &tripped,
        };
        let start = Instant::now();
        let mut tee = Tee {
            inner: &mut guard,
            hash: self.sha256.then(Sha256::new),
            bytes: 0,
        };
        let mut progress = Progress::new(&crate::sources::shown(path));
        let tftp_stats = match self.transfer(&loc, &mut tee, &mut progress, limit) {
            Ok(s) => s,
            Err(e) => {
                return Err(match tripped.take() {
                    Some(why) => FetchError::Failed { from: loc, why },
                    None => e,
                })
            }
        };
        if kind == Kind::Config {
            self.config_bytes.fetch_add(tee.bytes, Ordering::Relaxed);
        }
        let sha256 = tee
            .hash
            .map(|h| h.finalize().iter().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_default();
        Ok(Transfer {
            from: loc.to_string(),
            bytes: tee.bytes,
            sha256,
            seconds: start.elapsed().as_secs_f64(),
            verified: None,
            tftp: tftp_stats,
        })
    }

    /// One download from `loc` into `sink` by its transport, refusing an
    /// announced size above `limit`; for TFTP, the transfer's statistics.
    fn transfer(
        &self,
        loc: &Location,
        sink: &mut dyn Write,
        progress: &mut Progress,
        limit: u64,
    ) -> Result<Option<tftp::Stats>, FetchError> {
        match loc {
            Location::Tftp { server, path: file } => {
                let host = server.ip();
                let opts = self.tftp_options(host, limit);
                if let Some(u) = opts.utimeout {
                    debug!("{loc}: asking for utimeout {} ms", u.as_millis());
                }
                let asked = Instant::now();
                let r = tftp::fetch(*server, file, sink, &opts, &mut |got, total| {
                    progress.update(got, total)
                });
                match &r {
                    Ok(stats) => self.record_wait(host, stats.waited),
                    // An answer that ends the fetch comes as the first.
                    Err(tftp::TftpError::NotFound { .. } | tftp::TftpError::Server { .. }) => {
                        self.record_wait(host, asked.elapsed())
                    }
                    Err(_) => {}
                }
                if let Err(tftp::TftpError::Unreachable { received, .. }) = &r {
                    if *received > 0 {
                        let mut s = self.servers.lock().unwrap_or_else(|e| e.into_inner());
                        s.gave_up += 1;
                    }
                }
                // Any answer, an error too, shows the server is there.
                let answered = match &r {
                    Ok(_) => true,
                    Err(tftp::TftpError::NoAnswer { busy, .. }) => busy.is_some(),
                    Err(
                        tftp::TftpError::Timeout { received, .. }
                        | tftp::TftpError::Unreachable { received, .. },
                    ) => *received > 0,
                    Err(tftp::TftpError::Io { .. } | tftp::TftpError::InvalidRequest { .. }) => {
                        false
                    }
                    Err(_) => true,
                };
                if answered {
                    self.mark_up(host);
                }
                match r {
                    Ok(stats) => {
                        self.record_rtt(host, &stats);
                        Ok(Some(stats))
                    }
                    Err(e) if e.is_not_found() => Err(FetchError::NotFound(loc.clone())),
                    Err(
                        e @ (tftp::TftpError::Timeout { .. }
                        | tftp::TftpError::Unreachable { .. }
                        | tftp::TftpError::NoAnswer { .. }),
                    ) => Err(FetchError::Unreachable {
                        from: loc.clone(),
                        why: e.reason().to_string(),
                    }),
                    Err(e) => Err(FetchError::Failed {
                        from: loc.clone(),
                        why: e.reason().to_string(),
                    }),
                }
            }
            Location::Url(url) => {
                crate::sources::fetch(self, loc, url, sink, limit, &mut |got, total| {
                    progress.update(got, total)
                })
                .map(|()| None)
            }
            Location::Http(url) => self
                .http(url, sink, progress, limit)
                .map(|()| None)
                .map_err(|e| match e {
                    HttpFail::NotFound => FetchError::NotFound(loc.clone()),
                    HttpFail::Unreachable(why) => FetchError::Unreachable {
                        from: loc.clone(),
                        why,
                    },
                    HttpFail::Other(why) => FetchError::Failed {
                        from: loc.clone(),
                        why,
                    },
                }),
        }
    }

    /// GET `url` into `sink`; while the server is busy (and nothing was
    /// received yet), again on the backoff for up to [`Self::busy_wait`].
    fn http(
        &self,
        url: &str,
        sink: &mut dyn Write,
        progress: &mut Progress,
        limit: u64,
    ) -> Result<(), HttpFail> {
        use crate::http::HttpError;
        let opts = crate::http::Options {
            timeout: self.http_timeout,
            dns: self.dns.clone(),
            dns6: self.dns6.clone(),
            ca_bundle: self.ca_bundle.clone(),
            max_size: Some(limit),
        };
        let host = crate::http::Url::parse(url)
            .ok()
            .and_then(|u| u.host.parse::<IpAddr>().ok());
        let mut wait = BusyWait::new(self.busy_wait, url.as_bytes());
        loop {
            let mut counted = Counted {
                inner: &mut *sink,
                bytes: 0,
            };
            let r = crate::http::get(url, &opts, &mut counted, &mut |got, total| {
                progress.update(got, total)
            });
            let received = counted.bytes;
            let e = match r {
                Ok(_) => {
                    if let Some(h) = host {
                        self.mark_up(h);
                    }
                    return Ok(());
                }
                Err(e) => e,
            };
            // A status line came back: the server is there.
            let answered = !matches!(
                e,
                HttpError::Resolve(_)
                    | HttpError::Connect(_)
                    | HttpError::Io(_)
                    | HttpError::BadUrl(_)
            );
            if let (true, Some(h)) = (answered, host) {
                self.mark_up(h);
            }
            // At its limit: says so (429 Too Many Requests; 502, 503, 504
            // from the server or a proxy in front of it), or, known to be
            // up, refuses, drops or does not accept the connection (a
            // full backlog) before anything arrived.
            let (busy, retry_after) = match &e {
                HttpError::Busy(_, _, after) => (true, after.map(Duration::from_secs)),
                HttpError::Connect(_) | HttpError::Io(_) => {
                    (received == 0 && host.is_some_and(|h| self.is_up(h)), None)
                }
                _ => (false, None),
            };
            if !busy {
                return Err(match e {
                    HttpError::NotFound => HttpFail::NotFound,
                    e @ (HttpError::Resolve(_) | HttpError::Connect(_)) => {
                        HttpFail::Unreachable(e.to_string())
                    }
                    e => HttpFail::Other(e.to_string()),
                });
            }
            match wait.next(retry_after) {
                Some(d) => info!(
                    "{url}: the server is busy ({e}); asking again in {:.1} s",
                    d.as_secs_f64()
                ),
                None => {
                    let (n, secs) = (wait.attempts, wait.elapsed().as_secs_f64());
                    return Err(HttpFail::Unreachable(match (answered, retry_after) {
                        (true, Some(r)) if r > wait.left() => format!(
                            "the HTTP server is busy ({e}) and asks to be asked again in {} s, beyond the {:.0} s left of pxe.busywait",
                            r.as_secs(),
                            wait.left().as_secs_f64()
                        ),
                        (true, _) => format!(
                            "the HTTP server stayed busy: {n} requests over {secs:.0} s, the last answered {e}"
                        ),
                        (false, _) => format!(
                            "the HTTP server never served the request: {n} attempts over {secs:.0} s, the last: {e}"
                        ),
                    }));
                }
            }
        }
    }

    /// Fetch `path` into memory (configs). With trusted keys, then its
    /// signature, and check it (a missing file stays
    /// [`FetchError::NotFound`], so that a config lookup goes on).
    pub fn fetch_vec(&self, path: &str) -> Result<(Vec<u8>, Transfer), FetchError> {
        let mut v = Vec::new();
        let mut t = self.fetch_limited(path, &mut v, Kind::Config)?;
        if self.trust.is_on() {
            let e = self.expect(path)?;
            e.check_bytes(&v).map_err(|why| self.refused(path, why))?;
            info!("{path}: signature by key {} verified", e.key_id());
            t.verified = Some(e.verified());
        }
        Ok((v, t))
    }

    /// Append `path` to `file` (a memfd from [`memfile`]), returning the
    /// transfer.
    ///
    /// With trusted keys, `path` is the whole file (a kernel, an only
    /// initrd): its signature is fetched and pre-checked first (a missing
    /// one costs no download), the BLAKE2b-512 of a prehashed signature
    /// is computed as the bytes go into the memfd, the memfd is sealed
    /// (`F_SEAL_WRITE|F_SEAL_SHRINK|F_SEAL_GROW`: a file that cannot be
    /// sealed is refused), and only then is the file checked: the
    /// streamed hash, or for a legacy signature the bytes read back from
    /// the sealed memfd (a second pass and a copy in memory). For one of
    /// several concatenated files use [`Self::fetch_part`].
    pub fn fetch_to_file(&self, path: &str, file: &mut File) -> Result<Transfer, FetchError> {
        self.fetch_file(path, file, true)
    }

    /// Like [`Self::fetch_to_file`], for one of several files concatenated
    /// into `file` (initrds): checked as soon as it is in, without sealing;
    /// the caller seals `file` with [`seal`] after the last part.
    pub fn fetch_part(&self, path: &str, file: &mut File) -> Result<Transfer, FetchError> {
        self.fetch_file(path, file, false)
    }

    fn fetch_file(&self, path: &str, file: &mut File, whole: bool) -> Result<Transfer, FetchError> {
        let expected = match self.trust.is_on() {
            true => Some(self.expect(path)?),
            false => None,
        };
        let start = std::io::Seek::stream_position(file).map_err(FetchError::Local)?;
        let mut restarts = 0;
        let (mut t, stream) = loop {
            let mut stream = expected.as_ref().and_then(Expected::stream);
            let gave_up = self.gave_up();
            let mut w = Hashing {
                inner: io::BufWriter::with_capacity(256 * 1024, &mut *file),
                stream: stream.as_mut(),
            };
            let r = self.fetch_into(path, &mut w);
            let flushed = w.inner.flush().map_err(FetchError::Local);
            drop(w);
            match r {
                Ok(t) => {
                    flushed?;
                    break (t, stream);
                }
                // The server gave up the transfer part way (tftpd-hpa
                // after its timer ran out, the client having stalled):
                // TFTP cannot resume, so from the start, twice at most.
                Err(e) if self.gave_up() > gave_up && restarts < MAX_RESTARTS => {
                    restarts += 1;
                    warn!(
                        "{e}; downloading {path} again from the start ({restarts}/{MAX_RESTARTS})"
                    );
                    file.set_len(start).map_err(FetchError::Local)?;
                    std::io::Seek::seek(file, io::SeekFrom::Start(start))
                        .map_err(FetchError::Local)?;
                }
                Err(e) => return Err(e),
            }
        };
        let Some(e) = expected.as_ref() else {
            return Ok(t);
        };
        if whole {
            seal(file).map_err(|err| self.refused(path, Refusal::NotSealed(err.to_string())))?;
        }
        let r = match stream {
            Some(s) => e.finish(s),
            None => {
                use std::os::unix::fs::FileExt;
                let mut data = vec![0u8; t.bytes as usize];
                file.read_exact_at(&mut data, start)
                    .map_err(FetchError::Local)?;
                e.check_bytes(&data)
            }
        };
        r.map_err(|why| self.refused(path, why))?;
        info!(
            "{path}: signature by key {} verified ({} bytes)",
            e.key_id(),
            t.bytes
        );
        t.verified = Some(e.verified());
        Ok(t)
    }

    /// Fetch and pre-check the signature of `path`.
    fn expect(&self, path: &str) -> Result<Expected, FetchError> {
        let sig = verify::signature_path(path);
        let mut v = Capped {
            data: Vec::new(),
            max: verify::MAX_SIGNATURE,
        };
        match self.fetch_into(&sig, &mut v) {
            Ok(_) => {}
            Err(FetchError::NotFound(_)) => return Err(self.refused(path, Refusal::NoSignature)),
            Err(e) => return Err(e),
        }
        self.trust
            .expect(&v.data, path)
            .map_err(|why| self.refused(path, why))
    }

    fn refused(&self, path: &str, why: Refusal) -> FetchError {
        let from = locate(path, self.server).unwrap_or_else(|_| Location::Http(path.to_string()));
        FetchError::Refused { from, why }
    }
}

/// A writer that feeds what it writes to a signature's stream hash.
struct Hashing<'a, 'k, W: Write> {
    inner: W,
    stream: Option<&'a mut minisign_verify::StreamVerifier<'k>>,
}

impl<W: Write> Write for Hashing<'_, '_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(s) = &mut self.stream {
            s.update(&buf[..n]);
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A `Vec` that refuses to grow past `max` bytes.
struct Capped {
    data: Vec<u8>,
    max: usize,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.data.len() + buf.len() > self.max {
            return Err(io::Error::other(format!(
                "larger than {} bytes, not a signature",
                self.max
            )));
        }
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum HttpFail {
    NotFound,
    Unreachable(String),
    Other(String),
}

/// A writer that counts what passes through.
struct Counted<'a> {
    inner: &'a mut dyn Write,
    bytes: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Waiting on a busy server: [`crate::rng::backoff`] from 0.5 s to 30 s,
/// within a budget counted from the first attempt.
struct BusyWait {
    start: Instant,
    budget: Duration,
    /// Attempts made so far (the first included).
    attempts: u32,
    rng: crate::rng::Rng,
}

impl BusyWait {
    fn new(budget: Duration, mix: &[u8]) -> BusyWait {
        BusyWait {
            start: Instant::now(),
            budget,
            attempts: 1,
            rng: crate::rng::Rng::new(mix),
        }
    }

    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// What is left of the budget.
    fn left(&self) -> Duration {
        self.budget.saturating_sub(self.elapsed())
    }

    /// Sleep the next backoff, at least the server's `Retry-After` (RFC
    /// 9110 §10.2.3: the client waits that long), and count one more
    /// attempt; `None` when the budget is spent (the wait never runs past
    /// it) or the server asks to wait beyond it.
    fn next(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        let left = self.budget.checked_sub(self.elapsed())?;
        if left.is_zero() || retry_after.is_some_and(|r| r > left) {
            return None;
        }
        let d = self.delay(left).max(retry_after.unwrap_or_default());
        std::thread::sleep(d);
        self.attempts += 1;
        Some(d)
    }

    fn delay(&mut self, left: Duration) -> Duration {
        crate::rng::backoff(
            &mut self.rng,
            self.attempts - 1,
            Duration::from_millis(500),
            tftp::MAX_REQUEST_INTERVAL,
        )
        .min(left)
    }
}

/// An anonymous in-memory file (memfd, sealable: see [`seal`]), falling
/// back to an unlinked file in /run (which cannot be sealed).
pub fn memfile(name: &str) -> io::Result<File> {
    use nix::sys::memfd::MFdFlags;
    let cname = std::ffi::CString::new(name).unwrap_or_default();
    match nix::sys::memfd::memfd_create(
        cname.as_c_str(),
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    ) {
        Ok(fd) => Ok(File::from(fd)),
        Err(_) => {
            let p = std::env::temp_dir().join(format!("pxeinit-{name}-{}", std::process::id()));
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&p)?;
            let _ = std::fs::remove_file(&p);
            Ok(f)
        }
    }
}

/// Make a memfd immutable: no write, no shrinking, no growing, through
/// any descriptor or shared mapping, for as long as it exists (private
/// copy-on-write mappings, as kexec's, still work).
pub fn seal(file: &File) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, SealFlag};
    let seals = SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW;
    fcntl(file, FcntlArg::F_ADD_SEALS(seals)).map_err(io::Error::from)?;
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn locations() {
        let s = Some(IpAddr::from(Ipv4Addr::new(10, 0, 2, 2)));
        assert_eq!(
            locate("pxelinux.cfg/default", s).unwrap(),
            Location::Tftp {
                server: "10.0.2.2:69".parse().unwrap(),
                path: "pxelinux.cfg/default".into()
            }
        );
        assert_eq!(
            locate("tftp://10.1.1.1/boot/vmlinuz", s)
                .unwrap()
                .to_string(),
            "tftp://10.1.1.1/boot/vmlinuz"
        );
        assert_eq!(
            locate("tftp://10.1.1.1:6969/x", None).unwrap().to_string(),
            "tftp://10.1.1.1:6969/x"
        );
        assert_eq!(
            locate("HTTP://h/x", None).unwrap(),
            Location::Http("HTTP://h/x".into())
        );
        assert!(matches!(locate("x", None), Err(FetchError::NoServer(_))));
        assert!(locate("tftp://name.example/x", None).is_err());
        // PXELINUX's host::path and colons inside names are not schemes.
        assert!(matches!(
            locate("10.0.0.1::kernel", s).unwrap(),
            Location::Tftp { .. }
        ));
        assert!(matches!(
            locate("images/a:b", s).unwrap(),
            Location::Tftp { .. }
        ));
    }

    /// IPv6 boot servers: relative paths, bracketed literals in
    /// `tftp://` URLs (slirp writes the address out in full), a port.
    #[test]
    fn ipv6_locations() {
        let s = Some(IpAddr::from("fec0::2".parse::<Ipv6Addr>().unwrap()));
        let l = locate("pxelinux.cfg/default", s).unwrap();
        assert_eq!(l.to_string(), "tftp://[fec0::2]/pxelinux.cfg/default");
        for (url, want) in [
            (
                "tftp://[fec0:0000:0000:0000:0000:0000:0000:0002]/pxelinux.0",
                "tftp://[fec0::2]/pxelinux.0",
            ),
            (
                "tftp://[2001:db8::1]:6969/a/b",
                "tftp://[2001:db8::1]:6969/a/b",
            ),
            ("tftp://[2001:db8::1]:69/a", "tftp://[2001:db8::1]/a"),
        ] {
            assert_eq!(locate(url, None).unwrap().to_string(), want, "{url}");
        }
        let Location::Tftp { server, .. } = locate("tftp://[2001:db8::1]/x", None).unwrap() else {
            panic!()
        };
        assert_eq!(server, "[2001:db8::1]:69".parse().unwrap());
        assert!(matches!(
            locate("tftp://[2001:db8::1/x", None),
            Err(FetchError::Resolve { .. })
        ));
    }

    /// `smb://` and any other unknown scheme: "not supported", not a TFTP
    /// request for a file of that name; `nfs:` forms go to the sources.
    #[test]
    fn other_schemes_are_not_supported() {
        let s = Some(IpAddr::from(Ipv4Addr::new(10, 0, 2, 2)));
        for p in ["nfs:10.0.0.1:/srv/k", "nfs://h/k", "nfs+iso:h:/srv/x.iso/k"] {
            assert!(
                matches!(locate(p, s), Ok(Location::Url(ref u)) if u == p),
                "{p}"
            );
        }
        for p in ["smb://h/share/k", "gopher://h/k"] {
            let e = locate(p, s).unwrap_err();
            assert!(matches!(e, FetchError::Unsupported(_)), "{p}: {e:?}");
            assert_eq!(
                e.to_string(),
                format!("{p}: not supported: pxeinit fetches tftp://, http://, https://, ftp://, nfs: (nfs://, nfs+iso:) and file:// URLs and paths on the boot server")
            );
        }
    }

    /// `tftp://NAME[:PORT]/FILE` waits for DNS; a bad host is one clear line.
    #[test]
    fn tftp_host_names() {
        match target("tftp://boot.example:6969/images/k", None) {
            Ok(Target::TftpName { host, port, path }) => {
                assert_eq!(
                    (host.as_str(), port, path.as_str()),
                    ("boot.example", 6969, "images/k")
                )
            }
            _ => panic!("not a TftpName"),
        }
        assert!(matches!(
            target("tftp://boot/k", None),
            Ok(Target::TftpName { port: 69, .. })
        ));
        for bad in [
            "tftp://boot:0/k",
            "tftp://boot:x/k",
            "tftp:///k",
            "tftp://",
            "tftp://a b/k",
        ] {
            let e = target(bad, None).err().unwrap();
            assert!(e.to_string().starts_with(&format!("{bad}: ")), "{e}");
        }
        // No name server: the error names the path once and says why.
        let mut dl = Downloader::new(None, 1500);
        dl.dns = vec![];
        let e = dl.locate("tftp://boot.invalid/k").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("tftp://boot.invalid/k: cannot resolve the host name: "),
            "{e}"
        );
    }

    #[test]
    fn rate_rule() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // A trickle of 1 byte per second, 1 KiB/s over 3 s required.
        let mut r = RateRule::new(1024, Duration::from_secs(3));
        let mut failed = None;
        for s in 0..10u64 {
            if let Err(why) = r.check(at(s * 1000), s + 1) {
                failed = Some((s, why));
                break;
            }
        }
        let (s, why) = failed.expect("a trickle passed");
        assert_eq!(s, 3, "{why}");
        assert!(why.starts_with("too slow: 4 bytes in the last 3.0 s (1.3 B/s), below the minimum of 1024 B/s over 3 s; 4 bytes received"), "{why}");
        // Steady 2 KiB every 100 ms for a minute: fine, and few samples.
        let mut r = RateRule::new(1024, Duration::from_secs(3));
        for i in 0..600u64 {
            r.check(at(i * 100), i * 2048).unwrap();
        }
        assert!(r.samples.len() <= 20, "{} samples", r.samples.len());
        // Fast, then a stall fed by one byte a second: caught within a
        // window and a sixteenth of the drop.
        let mut r = RateRule::new(1024, Duration::from_secs(16));
        let mut bytes = 0;
        for i in 0..100u64 {
            bytes += 100_000;
            r.check(at(i * 100), bytes).unwrap();
        }
        let drop = 10_000;
        let caught = (0..60u64)
            .find(|s| {
                bytes += 1;
                r.check(at(drop + s * 1000), bytes).is_err()
            })
            .expect("the stall passed");
        assert!(
            (16..=18).contains(&caught),
            "caught {caught} s after the drop"
        );
        // Off.
        let mut r = RateRule::new(0, Duration::from_secs(1));
        assert!(r.check(at(0), 0).is_ok() && r.check(at(100_000), 0).is_ok());
    }

    #[test]
    fn meminfo() {
        let text = "MemTotal:        1004548 kB\nMemFree:          120000 kB\nMemAvailable:     800000 kB\n";
        assert_eq!(mem_available(text), Some(800_000 * 1024));
        assert_eq!(mem_available("MemFree: 1 kB\n"), None);
        assert_eq!(mem_available("MemAvailable: lots\n"), None);
        assert_eq!(
            mem_available("MemAvailable: 99999999999999999999 kB\n"),
            None
        );
        // On this machine it is something, and below MemAvailable.
        assert!(memory_limit() > 0);
    }

    /// An HTTP server on loopback answering every request with `head`
    /// and then `body` bytes written by `body` (until it returns false).
    fn http_server(head: &'static str, body: fn(&mut std::net::TcpStream, usize) -> bool) -> u16 {
        use std::io::Read;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                std::thread::spawn(move || {
                    let mut req = Vec::new();
                    let mut byte = [0u8; 1];
                    while !req.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                        req.push(byte[0]);
                    }
                    if s.write_all(head.as_bytes()).is_err() {
                        return;
                    }
                    let mut i = 0;
                    while body(&mut s, i) {
                        i += 1;
                    }
                });
            }
        });
        port
    }

    fn downloader(max_size: Option<u64>) -> Downloader {
        let mut dl = Downloader::new(None, 1500);
        dl.sha256 = false;
        dl.http_timeout = Duration::from_secs(5);
        dl.limits.max_size = max_size;
        dl
    }

    /// An endless body without a length stops at the size limit, with
    /// one line naming the URL and the limit.
    #[test]
    fn an_endless_body_stops_at_the_limit() {
        let port = http_server("HTTP/1.1 200 OK\r\n\r\n", |s, _| {
            s.write_all(&[0u8; 65536]).is_ok()
        });
        let url = format!("http://127.0.0.1:{port}/endless");
        let mut out = Vec::new();
        let e = downloader(Some(1 << 20))
            .fetch_into(&url, &mut out)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{url}: larger than the size limit of 1048576 bytes; stopped after 1048576 bytes"
            )
        );
        assert_eq!(out.len(), 1 << 20);
        // A config: 4 MiB at most, whatever the payload limit.
        let e = downloader(None).fetch_vec(&url).unwrap_err();
        assert!(
            e.to_string()
                .contains("larger than the size limit of 4194304 bytes for config files"),
            "{e}"
        );
    }

    /// The configs one downloader reads are capped in all too.
    #[test]
    fn config_bytes_are_capped_in_all() {
        let port = http_server(
            "HTTP/1.1 200 OK\r\nContent-Length: 3145728\r\n\r\n",
            |s, i| i < 48 && s.write_all(&[b'#'; 65536]).is_ok(),
        );
        let url = format!("http://127.0.0.1:{port}/big.cfg");
        let dl = downloader(None);
        for _ in 0..5 {
            assert_eq!(dl.fetch_vec(&url).unwrap().0.len(), 3 << 20);
        }
        // 15 MiB read; a 3 MiB file announced is more than the 1 MiB left.
        let e = dl.fetch_vec(&url).unwrap_err();
        assert!(
            e.to_string()
                .contains("more than the size limit of 1048576 bytes"),
            "{e}"
        );
        // Payloads are not counted.
        dl.fetch_into(&url, &mut io::sink()).unwrap();
    }

    /// A trickle is aborted by the rate rule: one line with the URL, the
    /// bytes and the rate.
    #[test]
    fn a_trickle_is_aborted() {
        let port = http_server("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", |s, _| {
            std::thread::sleep(Duration::from_millis(200));
            s.write_all(b"x").is_ok()
        });
        let url = format!("http://127.0.0.1:{port}/trickle");
        let mut dl = downloader(None);
        dl.limits.stall_time = Duration::from_secs(1);
        let started = Instant::now();
        let e = dl.fetch_into(&url, &mut io::sink()).unwrap_err();
        let took = started.elapsed();
        let text = e.to_string();
        assert!(text.starts_with(&format!("{url}: too slow: ")), "{text}");
        assert!(
            text.contains("B/s), below the minimum of 1024 B/s over 1 s"),
            "{text}"
        );
        assert!(took < Duration::from_millis(2500), "took {took:?}");
    }

    /// An HTTP server on loopback answering its requests with `heads` in
    /// turn (the last one again and again), each followed by `body`;
    /// returns the port and the count of requests.
    fn http_seq(heads: Vec<&'static str>, body: &'static [u8]) -> (u16, Arc<AtomicU64>) {
        use std::io::Read;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let n = c.fetch_add(1, Ordering::SeqCst) as usize;
                let mut req = Vec::new();
                let mut byte = [0u8; 1];
                while !req.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                    req.push(byte[0]);
                }
                let head = heads[n.min(heads.len() - 1)];
                let _ = s.write_all(head.as_bytes());
                if head.starts_with("HTTP/1.1 200") {
                    let _ = s.write_all(body);
                }
            }
        });
        (port, count)
    }

    const BUSY: &str = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    const OK5: &str = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";

    /// 503 twice, then the file: asked again on the backoff (0.5 s, 1 s,
    /// each ±50 %), never a missing file.
    #[test]
    fn a_busy_http_server_is_asked_again() {
        let (port, count) = http_seq(vec![BUSY, BUSY, OK5], b"hello");
        let url = format!("http://127.0.0.1:{port}/k");
        let started = Instant::now();
        let (data, _) = downloader(None).fetch_vec(&url).unwrap();
        let took = started.elapsed();
        assert_eq!(data, b"hello");
        assert_eq!(count.load(Ordering::SeqCst), 3);
        assert!(
            took >= Duration::from_millis(750) && took < Duration::from_secs(4),
            "{took:?}"
        );
        // 429 and 502/504 are busy too; 500 is an error at once.
        let (port, count) = http_seq(
            vec![
                "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n",
                OK5,
            ],
            b"hello",
        );
        let url = format!("http://127.0.0.1:{port}/k");
        assert_eq!(downloader(None).fetch_vec(&url).unwrap().0, b"hello");
        assert_eq!(count.load(Ordering::SeqCst), 2);
        let (port, count) = http_seq(
            vec![
                "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
                OK5,
            ],
            b"hello",
        );
        let url = format!("http://127.0.0.1:{port}/k");
        let e = downloader(None).fetch_vec(&url).unwrap_err();
        assert!(matches!(e, FetchError::Failed { .. }), "{e}");
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    /// `Retry-After` (RFC 9110 §10.2.3) is the least wait before asking
    /// again (the backoff alone would ask after 0.25-0.75 s); one beyond
    /// what is left of the busy wait ends the fetch at once, saying so.
    #[test]
    fn retry_after_is_waited_for() {
        const AFTER2: &str =
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n";
        let (port, count) = http_seq(vec![AFTER2, OK5], b"hello");
        let url = format!("http://127.0.0.1:{port}/k");
        let started = Instant::now();
        assert_eq!(downloader(None).fetch_vec(&url).unwrap().0, b"hello");
        let took = started.elapsed();
        assert_eq!(count.load(Ordering::SeqCst), 2);
        assert!(
            took >= Duration::from_secs(2) && took < Duration::from_secs(3),
            "{took:?}"
        );
        const AFTER600: &str =
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 600\r\nContent-Length: 0\r\n\r\n";
        let (port, count) = http_seq(vec![AFTER600, OK5], b"hello");
        let url = format!("http://127.0.0.1:{port}/k");
        let mut dl = downloader(None);
        dl.busy_wait = Duration::from_secs(30);
        let started = Instant::now();
        let e = dl.fetch_vec(&url).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(matches!(e, FetchError::Unreachable { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("{url}: the HTTP server is busy (HTTP 429 Too Many Requests) and asks to be asked again in 600 s, beyond the 30 s left of pxe.busywait")
        );
    }

    /// A server that stays busy: after the busy wait, one line naming the
    /// URL and saying it stayed busy; the lookup treats it as a server that
    /// does not serve (Unreachable), not as a missing file.
    #[test]
    fn an_http_server_that_stays_busy_fails_naming_it() {
        let (port, count) = http_seq(vec![BUSY], b"");
        let url = format!("http://127.0.0.1:{port}/pxelinux.cfg/default");
        let mut dl = downloader(None);
        dl.busy_wait = Duration::from_millis(1500);
        let started = Instant::now();
        let e = dl.fetch_vec(&url).unwrap_err();
        let took = started.elapsed();
        assert!(matches!(e, FetchError::Unreachable { .. }), "{e:?}");
        let n = count.load(Ordering::SeqCst);
        assert_eq!(
            e.to_string(),
            format!("{url}: the HTTP server stayed busy: {n} requests over 2 s, the last answered HTTP 503 Service Unavailable")
        );
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_millis(2500),
            "{took:?}"
        );
    }

    /// A refused connection: at once for a server nothing is known of (a
    /// dead server is reported without delay); waited for when it answered
    /// before (its backlog is full, it restarts).
    #[test]
    fn a_refused_connection_is_waited_for_only_when_the_server_was_up() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/k");
        let started = Instant::now();
        let e = downloader(None).fetch_vec(&url).unwrap_err();
        assert!(matches!(e, FetchError::Unreachable { .. }), "{e:?}");
        assert!(e.to_string().contains("cannot connect"), "{e}");
        assert!(started.elapsed() < Duration::from_millis(500));

        let mut dl = downloader(None);
        dl.mark_up("127.0.0.1".parse().unwrap());
        dl.busy_wait = Duration::from_millis(1200);
        let started = Instant::now();
        let e = dl.fetch_vec(&url).unwrap_err();
        let took = started.elapsed();
        assert!(
            e.to_string().starts_with(&format!(
                "{url}: the HTTP server never served the request: "
            )),
            "{e}"
        );
        assert!(
            took >= Duration::from_millis(1200) && took < Duration::from_secs(2),
            "{took:?}"
        );

        // It comes back after a second: served.
        dl.busy_wait = Duration::from_secs(20);
        let server = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(1));
            let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
            let (mut s, _) = l.accept().unwrap();
            let mut req = [0u8; 1024];
            let _ = std::io::Read::read(&mut s, &mut req);
            s.write_all(OK5.as_bytes()).unwrap();
            s.write_all(b"hello").unwrap();
        });
        assert_eq!(dl.fetch_vec(&url).unwrap().0, b"hello");
        server.join().unwrap();
    }

    /// A TFTP server that gives a transfer up part way (its port closes,
    /// as tftpd-hpa's does when its timer runs out): the file is
    /// downloaded again from the start, and the memfd holds it once.
    #[test]
    fn a_transfer_the_server_gave_up_is_made_again() {
        use std::net::UdpSocket;
        let listen = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = listen.local_addr().unwrap().port();
        let body: Vec<u8> = (0..700u32).map(|i| i as u8).collect();
        let b = body.clone();
        let server = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let data = |block: u16, d: &[u8]| {
                let mut p = vec![0, 3];
                p.extend_from_slice(&block.to_be_bytes());
                p.extend_from_slice(d);
                p
            };
            // First request: one block, its ACK, then the port closes.
            let (_, peer) = listen.recv_from(&mut buf).unwrap();
            let t = UdpSocket::bind("127.0.0.1:0").unwrap();
            t.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            t.send_to(&data(1, &b[..512]), peer).unwrap();
            t.recv_from(&mut buf).unwrap();
            drop(t);
            // The second: the whole file.
            let (_, peer) = listen.recv_from(&mut buf).unwrap();
            let t = UdpSocket::bind("127.0.0.1:0").unwrap();
            t.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            t.send_to(&data(1, &b[..512]), peer).unwrap();
            t.recv_from(&mut buf).unwrap();
            t.send_to(&data(2, &b[512..]), peer).unwrap();
            t.recv_from(&mut buf).unwrap();
        });
        let mut dl = downloader(None);
        dl.tftp.initial_rto = Duration::from_millis(50);
        let mut f = memfile("restart").unwrap();
        f.write_all(b"head").unwrap();
        let url = format!("tftp://127.0.0.1:{port}/k");
        let t = dl.fetch_to_file(&url, &mut f).unwrap();
        server.join().unwrap();
        assert_eq!(t.bytes, 700);
        use std::io::{Read, Seek};
        f.rewind().unwrap();
        let mut all = Vec::new();
        f.read_to_end(&mut all).unwrap();
        assert_eq!(&all[..4], b"head");
        assert_eq!(&all[4..], &body[..]);
    }

    /// `utimeout` comes from the round trip of the server's last transfer.
    #[test]
    fn utimeout_follows_the_measured_round_trip() {
        let dl = downloader(None);
        let host: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(
            dl.tftp_options(host, 1).utimeout,
            Some(Duration::from_millis(100))
        );
        assert!(!dl.tftp_options(host, 1).known_up);
        let stats = tftp::Stats {
            bytes: 0,
            tsize: None,
            blksize: 512,
            windowsize: 1,
            elapsed: Duration::ZERO,
            retransmits: 0,
            srtt: Some(Duration::from_millis(5)),
            rttvar: Some(Duration::from_millis(3)),
            requests: 1,
            refusals: 0,
            waited: Duration::ZERO,
            duplicates: 0,
            utimeout: None,
            max_gap: Duration::ZERO,
        };
        dl.record_rtt(host, &stats);
        dl.mark_up(host);
        let o = dl.tftp_options(host, 1);
        assert_eq!(o.utimeout, Some(Duration::from_millis(34)));
        assert!(o.known_up);
        assert_eq!(o.busy_wait, BUSY_WAIT);
        // Another server keeps the default; no utimeout asked stays none.
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(
            dl.tftp_options(other, 1).utimeout,
            Some(Duration::from_millis(100))
        );
        let mut dl = dl.clone();
        dl.tftp.utimeout = None;
        assert_eq!(dl.tftp_options(host, 1).utimeout, None);
        // A server whose last answer waited in its queue: the next
        // request's copies wait twice that, from 1 s to 20 s.
        assert_eq!(dl.tftp_options(host, 1).patient_rto, Duration::from_secs(1));
        for (waited, rto) in [(100, 1000), (3000, 6000), (30_000, 20_000)] {
            dl.record_wait(host, Duration::from_millis(waited));
            assert_eq!(
                dl.tftp_options(host, 1).patient_rto,
                Duration::from_millis(rto)
            );
        }
        // A transfer in which the client stalled for 1.6 s: tftpd-hpa
        // must not give up within twice that (51 ms), and stays so.
        dl.tftp.utimeout = Some(Duration::from_millis(100));
        dl.record_rtt(
            host,
            &tftp::Stats {
                max_gap: Duration::from_millis(1600),
                ..stats.clone()
            },
        );
        dl.record_rtt(host, &stats);
        assert_eq!(
            dl.tftp_options(host, 1).utimeout,
            Some(Duration::from_millis(51))
        );
    }

    /// The announced size is checked before any data: TFTP's tsize (the
    /// transport's own error, named once) and HTTP's Content-Length.
    #[test]
    fn announced_sizes_are_refused_up_front() {
        let port = http_server(
            "HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n",
            |_, _| {
                std::thread::sleep(Duration::from_secs(5));
                false
            },
        );
        let url = format!("http://127.0.0.1:{port}/big");
        let started = Instant::now();
        let e = downloader(Some(1 << 20))
            .fetch_into(&url, &mut io::sink())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{url}: the server announces 5000000 bytes (Content-Length), more than the size limit of 1048576 bytes")
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    /// A sealed memfd cannot be written, shrunk or grown, and still reads
    /// and maps privately (as kexec maps the kernel to patch its parm area).
    #[test]
    fn sealed_memfd_is_immutable() {
        use std::io::{Read, Seek};
        let mut f = memfile("sealtest").unwrap();
        f.write_all(b"kernel").unwrap();
        seal(&f).unwrap();
        assert!(f.write_all(b"x").is_err());
        assert!(f.set_len(3).is_err());
        assert!(f.set_len(100).is_err());
        f.rewind().unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "kernel");
        // Mapped fine: the layout check then finds no s390x kernel.
        let r = crate::kexec::check(&f, 0, "");
        assert!(
            !matches!(r, Err(crate::kexec::KexecError::Sys { .. })),
            "{r:?}"
        );
        // A file that is not a memfd cannot be sealed.
        let p = std::env::temp_dir().join(format!("pxeinit-seal-{}", std::process::id()));
        let plain = std::fs::File::create(&p).unwrap();
        assert!(seal(&plain).is_err());
        let _ = std::fs::remove_file(&p);
    }
}

//! Downloads: a path from a PXELINUX config becomes a TFTP transfer from
//! the boot server or an HTTP request, streamed into memory (configs) or
//! into a memfd (kernels and initrds), hashed on the way when asked (the
//! dry-run plan shows sha256; a real boot skips it: software sha256 under
//! QEMU TCG costs seconds for a large initrd).

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use log::info;
use sha2::{Digest, Sha256};

use crate::tftp;

/// Where a path is fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// TFTP from `server`.
    Tftp {
        /// Server address and port.
        server: SocketAddrV4,
        /// File name as requested.
        path: String,
    },
    /// HTTP(S) URL.
    Http(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Tftp { server, path } => {
                if server.port() == 69 {
                    write!(f, "tftp://{}/{}", server.ip(), path)
                } else {
                    write!(f, "tftp://{server}/{path}")
                }
            }
            Location::Http(u) => f.write_str(u),
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
        }
    }
}

impl std::error::Error for FetchError {}

/// Turn a config path into a location.
pub fn locate(path: &str, server: Option<Ipv4Addr>) -> Result<Location, FetchError> {
    let lower = path.get(..8).unwrap_or(path).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(Location::Http(path.to_string()));
    }
    if lower.starts_with("tftp://") {
        let rest = &path[7..];
        let (host, file) = rest.split_once('/').unwrap_or((rest, ""));
        let server = match host.parse::<SocketAddrV4>() {
            Ok(s) => s,
            Err(_) => match host.parse::<Ipv4Addr>() {
                Ok(ip) => SocketAddrV4::new(ip, 69),
                Err(_) => {
                    return Err(FetchError::Failed {
                        from: Location::Http(path.to_string()),
                        why: format!("{host} is not an IPv4 address (no DNS in pxeinit)"),
                    })
                }
            },
        };
        return Ok(Location::Tftp {
            server,
            path: file.to_string(),
        });
    }
    match server {
        Some(ip) => Ok(Location::Tftp {
            server: SocketAddrV4::new(ip, 69),
            path: path.to_string(),
        }),
        None => Err(FetchError::NoServer(path.to_string())),
    }
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
}

impl Transfer {
    /// As JSON.
    pub fn to_json(&self, path: &str) -> serde_json::Value {
        let sha = (!self.sha256.is_empty()).then(|| self.sha256.clone());
        serde_json::json!({
            "path": path, "from": self.from, "bytes": self.bytes,
            "sha256": sha, "seconds": self.seconds,
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
}

impl Progress {
    fn new(name: &str) -> Progress {
        let now = Instant::now();
        Progress {
            name: name.to_string(),
            start: now,
            last: now,
        }
    }

    fn update(&mut self, got: u64, total: Option<u64>) {
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

/// Fetches paths from one boot server.
#[derive(Debug, Clone)]
pub struct Downloader {
    /// The boot server for relative paths.
    pub server: Option<Ipv4Addr>,
    /// TFTP tuning.
    pub tftp: tftp::Options,
    /// HTTP timeout.
    pub http_timeout: Duration,
    /// Name servers for HTTP host names (DHCP option 6).
    pub dns: Vec<Ipv4Addr>,
    /// CA certificates for https:// (feature `https`).
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Compute the sha256 of each download.
    pub sha256: bool,
}

impl Downloader {
    /// A downloader for `server` on an interface with `mtu`.
    pub fn new(server: Option<Ipv4Addr>, mtu: u32) -> Downloader {
        Downloader {
            server,
            tftp: tftp::Options::for_mtu(mtu),
            http_timeout: Duration::from_secs(30),
            dns: Vec::new(),
            ca_bundle: None,
            sha256: true,
        }
    }

    /// Stream `path` into `sink`.
    pub fn fetch_into(&self, path: &str, sink: &mut dyn Write) -> Result<Transfer, FetchError> {
        let loc = locate(path, self.server)?;
        let start = Instant::now();
        let mut tee = Tee {
            inner: sink,
            hash: self.sha256.then(Sha256::new),
            bytes: 0,
        };
        let mut progress = Progress::new(path);
        match &loc {
            Location::Tftp { server, path: file } => {
                let r = tftp::fetch(
                    SocketAddr::V4(*server),
                    file,
                    &mut tee,
                    &self.tftp,
                    &mut |got, total| progress.update(got, total),
                );
                match r {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => return Err(FetchError::NotFound(loc)),
                    Err(
                        e @ (tftp::TftpError::Timeout { .. } | tftp::TftpError::Unreachable { .. }),
                    ) => {
                        return Err(FetchError::Unreachable {
                            from: loc.clone(),
                            why: e.to_string(),
                        })
                    }
                    Err(e) => {
                        return Err(FetchError::Failed {
                            from: loc.clone(),
                            why: e.to_string(),
                        })
                    }
                }
            }
            Location::Http(url) => {
                self.http(url, &mut tee, &mut progress)
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
                    })?;
            }
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
        })
    }

    fn http(
        &self,
        url: &str,
        sink: &mut dyn Write,
        progress: &mut Progress,
    ) -> Result<(), HttpFail> {
        let opts = crate::http::Options {
            timeout: self.http_timeout,
            dns: self.dns.clone(),
            ca_bundle: self.ca_bundle.clone(),
        };
        match crate::http::get(url, &opts, sink, &mut |got, total| {
            progress.update(got, total)
        }) {
            Ok(_) => Ok(()),
            Err(crate::http::HttpError::NotFound) => Err(HttpFail::NotFound),
            Err(e @ (crate::http::HttpError::Resolve(_) | crate::http::HttpError::Connect(_))) => {
                Err(HttpFail::Unreachable(e.to_string()))
            }
            Err(e) => Err(HttpFail::Other(e.to_string())),
        }
    }

    /// Fetch `path` into memory (configs).
    pub fn fetch_vec(&self, path: &str) -> Result<(Vec<u8>, Transfer), FetchError> {
        let mut v = Vec::new();
        let t = self.fetch_into(path, &mut v)?;
        Ok((v, t))
    }

    /// Append `path` to `file` (a memfd), returning the transfer.
    pub fn fetch_to_file(&self, path: &str, file: &mut File) -> Result<Transfer, FetchError> {
        let mut w = io::BufWriter::with_capacity(256 * 1024, &mut *file);
        let t = self.fetch_into(path, &mut w)?;
        w.flush().map_err(FetchError::Local)?;
        Ok(t)
    }
}

enum HttpFail {
    NotFound,
    Unreachable(String),
    Other(String),
}

/// An anonymous in-memory file (memfd), falling back to an unlinked file in /run.
pub fn memfile(name: &str) -> io::Result<File> {
    let cname = std::ffi::CString::new(name).unwrap_or_default();
    match nix::sys::memfd::memfd_create(cname.as_c_str(), nix::sys::memfd::MFdFlags::MFD_CLOEXEC) {
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

/// Adapter: the pxecfg crate's config lookup fetches through TFTP/HTTP,
/// recording each transfer.
pub struct ConfigFetcher<'a> {
    /// The downloader.
    pub dl: &'a Downloader,
    /// Transfers made.
    pub log: Vec<(String, Transfer)>,
    /// Until a first file is found, answer NotFound for every other path
    /// (`pxe.config=`: no lookup).
    pub only: Option<String>,
    /// The first failure other than "not found": a server that times out
    /// or is unreachable would cost its full timeout for each of the
    /// twelve names, so the rest of the lookup is skipped.
    pub failed: Option<String>,
}

impl pxecfg::Fetch for ConfigFetcher<'_> {
    fn fetch(&mut self, path: &str) -> Result<Vec<u8>, pxecfg::FetchError> {
        if self.only.as_deref().is_some_and(|o| o != path) {
            return Err(pxecfg::FetchError::NotFound);
        }
        if let Some(f) = &self.failed {
            return Err(pxecfg::FetchError::Other(format!("not tried after: {f}")));
        }
        match self.dl.fetch_vec(path) {
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
            Err(e) => Err(pxecfg::FetchError::Other(e.to_string())),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn locations() {
        let s = Some(Ipv4Addr::new(10, 0, 2, 2));
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
    }
}

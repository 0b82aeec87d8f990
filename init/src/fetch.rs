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

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use log::info;
use sha2::{Digest, Sha256};

use crate::tftp;
use crate::verify::{self, Expected, Refusal, Verified};

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
            FetchError::Refused { from, why } => write!(f, "{from}: refused: {why}"),
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
    /// The signature check it passed (None: not verified).
    pub verified: Option<Verified>,
}

impl Transfer {
    /// As JSON.
    pub fn to_json(&self, path: &str) -> serde_json::Value {
        let sha = (!self.sha256.is_empty()).then(|| self.sha256.clone());
        serde_json::json!({
            "path": path, "from": self.from, "bytes": self.bytes,
            "sha256": sha, "seconds": self.seconds,
            "verified": self.verified.as_ref().map(Verified::to_json),
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
    /// Trusted minisign keys: when on, nothing is returned unverified.
    pub trust: verify::Trust,
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
            trust: verify::Trust::default(),
        }
    }

    /// Stream `path` into `sink`. This does not verify: the verifying
    /// fetches are [`Self::fetch_vec`], [`Self::fetch_to_file`] and
    /// [`Self::fetch_part`].
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
            verified: None,
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

    /// Fetch `path` into memory (configs). With trusted keys, then its
    /// signature, and check it (a missing file stays
    /// [`FetchError::NotFound`], so that a config lookup goes on).
    pub fn fetch_vec(&self, path: &str) -> Result<(Vec<u8>, Transfer), FetchError> {
        let mut v = Vec::new();
        let mut t = self.fetch_into(path, &mut v)?;
        if self.trust.is_on() {
            let e = self.expect(path)?;
            e.check_bytes(&v).map_err(|why| self.refused(path, why))?;
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
        let mut stream = expected.as_ref().and_then(Expected::stream);
        let mut w = Hashing {
            inner: io::BufWriter::with_capacity(256 * 1024, &mut *file),
            stream: stream.as_mut(),
        };
        let mut t = self.fetch_into(path, &mut w)?;
        w.inner.flush().map_err(FetchError::Local)?;
        drop(w);
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

//! A small HTTP/1.1 client for `http://` kernel, initrd and config paths:
//! GET with `Content-Length` or `chunked` bodies, up to 5 redirects,
//! connect and read timeouts, the body streamed into a writer.
//!
//! Bounds: a body that ends before its `Content-Length` or its last chunk
//! is an error; a body with neither (delimited by the server closing the
//! connection, which a cut connection looks like too) is accepted with a
//! warning naming the URL; a `Content-Length` or a chunk size above
//! [`Options::max_size`] is refused before it is read; trailers are
//! bounded like headers; an `https://` URL is never redirected to
//! `http://`.
//!
//! Host names are resolved by [`crate::dns`] against the DHCP lease's name
//! servers, not by the C library: a static glibc pulls in its whole
//! resolver and locale machinery for `getaddrinfo` (170 KB, measured),
//! and in an initramfs there is no /etc/resolv.conf for it anyway.
//!
//! The parsing ([`Url::parse`], [`read_head`], [`parse_head`], [`Chunked`])
//! is pure and unit-tested; [`get`] does the I/O.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use log::warn;

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;
const MAX_HEAD: usize = 64 * 1024;

/// An `http://` or `https://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `https://`.
    pub tls: bool,
    /// Host name or address literal (IPv6 without brackets).
    pub host: String,
    /// Port (80 by default).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// A failed HTTP request, naming the URL.
#[derive(Debug)]
pub enum HttpError {
    /// The URL is not `http://...` or is malformed.
    BadUrl(String),
    /// The server answered 404 or 410.
    NotFound,
    /// Any other non-2xx status.
    Status(u16, String),
    /// The server or a proxy is at its limit (429, 502, 503, 504), with
    /// its `Retry-After` in seconds if it gave one.
    Busy(u16, String, Option<u64>),
    /// The response is not valid HTTP/1.x.
    Protocol(String),
    /// Too many redirects; the last target.
    TooManyRedirects(String),
    /// An `https://` URL redirected to `http://` (the target).
    Downgrade(String),
    /// The server announces (`Content-Length` or a chunk size) more than
    /// [`Options::max_size`].
    TooLarge {
        /// What was announced.
        what: &'static str,
        /// Bytes announced (for a chunk: the body so far plus the chunk,
        /// saturating).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The host name could not be resolved.
    Resolve(String),
    /// The TCP connection could not be made.
    Connect(io::Error),
    /// Connecting, reading or writing failed.
    Io(io::Error),
    /// Storing the body failed (the caller's sink refused it: a size or
    /// rate limit, a full disk): nothing the server did.
    Sink(io::Error),
    /// `https://` needs the `https` feature.
    NoTls,
    /// TLS setup or handshake failed.
    #[cfg_attr(not(feature = "https"), allow(dead_code))]
    Tls(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::BadUrl(u) => write!(f, "bad URL {u:?}"),
            HttpError::NotFound => f.write_str("HTTP 404 not found"),
            HttpError::Status(c, r) | HttpError::Busy(c, r, _) => write!(f, "HTTP {c} {r}"),
            HttpError::Protocol(m) => write!(f, "bad HTTP response: {m}"),
            HttpError::TooManyRedirects(last) => write!(
                f,
                "more than {MAX_REDIRECTS} redirects (a redirect loop?), the last to {last}"
            ),
            HttpError::Downgrade(to) => write!(
                f,
                "refused a redirect from https:// to {to} (redirect scheme downgrade)"
            ),
            HttpError::TooLarge { what, size, limit } => write!(
                f,
                "the server announces {size} bytes ({what}), more than the size limit of {limit} bytes"
            ),
            HttpError::Resolve(m) => write!(f, "cannot resolve host: {m}"),
            HttpError::Connect(e) => write!(f, "cannot connect: {e}"),
            HttpError::Io(e) | HttpError::Sink(e) => write!(f, "{e}"),
            HttpError::NoTls => {
                f.write_str("https:// URLs need pxeinit built with the `https` feature")
            }
            HttpError::Tls(m) => write!(f, "TLS: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<io::Error> for HttpError {
    /// A TLS failure (rustls reports it through the stream as an I/O
    /// error: a certificate not trusted, a handshake refused) stays a TLS
    /// error: it is the server's answer, not a dropped connection, and
    /// asking again would get the same.
    fn from(e: io::Error) -> Self {
        #[cfg(feature = "https")]
        if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
            return HttpError::Tls(e.to_string());
        }
        HttpError::Io(e)
    }
}

impl Url {
    /// Parse an absolute `http://` or `https://` URL.
    pub fn parse(s: &str) -> Result<Url, HttpError> {
        let bad = || HttpError::BadUrl(s.to_string());
        let scheme_end = s.find("://").ok_or_else(bad)?;
        let scheme = s[..scheme_end].to_ascii_lowercase();
        let tls = match scheme.as_str() {
            "http" => false,
            "https" if cfg!(feature = "https") => true,
            "https" => return Err(HttpError::NoTls),
            _ => return Err(bad()),
        };
        let rest = &s[scheme_end + 3..];
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or_else(bad)?;
            let port = v6[end + 1..].strip_prefix(':');
            (v6[..end].to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if tls => 443,
            None => 80,
        };
        if host.is_empty() {
            return Err(bad());
        }
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Ok(Url {
            tls,
            host,
            port,
            path,
        })
    }

    /// Resolve `location` (a redirect target) against this URL.
    pub fn join(&self, location: &str) -> Result<Url, HttpError> {
        if location.contains("://") {
            return Url::parse(location);
        }
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let path = if location.starts_with('/') {
            location.to_string()
        } else {
            let dir = self.path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            format!("{dir}/{location}")
        };
        let scheme = if self.tls { "https" } else { "http" };
        Url::parse(&format!("{scheme}://{host}:{}{path}", self.port))
    }

    /// The target of a redirect from this URL to `location`: [`Url::join`],
    /// refusing `https://` → `http://` (what TLS protected would then
    /// travel in clear, open to substitution).
    pub fn redirect(&self, location: &str) -> Result<Url, HttpError> {
        let to = self.join(location)?;
        if self.tls && !to.tls {
            return Err(HttpError::Downgrade(to.to_string()));
        }
        Ok(to)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        let default_port = if self.tls { 443 } else { 80 };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]", self.host)?;
        } else {
            write!(f, "{scheme}://{}", self.host)?;
        }
        if self.port != default_port {
            write!(f, ":{}", self.port)?;
        }
        f.write_str(&self.path)
    }
}

/// The status line and the headers this client uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// `Content-Length`, if given.
    pub content_length: Option<u64>,
    /// `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// `Location`, if given.
    pub location: Option<String>,
    /// `Retry-After` in seconds (RFC 9110 §10.2.3), if given as a number
    /// (an HTTP-date is ignored: the init has no trustworthy wall clock).
    pub retry_after: Option<u64>,
}

/// Parse a response head (status line and headers, without the final empty line).
pub fn parse_head(text: &str) -> Result<Head, HttpError> {
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Protocol(format!("status line {status_line:?}")));
    }
    let status = parts
        .next()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (100..1000).contains(c))
        .ok_or_else(|| HttpError::Protocol(format!("status line {status_line:?}")))?;
    let mut head = Head {
        status,
        reason: parts.next().unwrap_or_default().trim().to_string(),
        ..Head::default()
    };
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                let n = v
                    .parse()
                    .map_err(|_| HttpError::Protocol(format!("Content-Length {v:?}")))?;
                if head.content_length.is_some_and(|m| m != n) {
                    return Err(HttpError::Protocol(
                        "two different Content-Length headers".into(),
                    ));
                }
                head.content_length = Some(n)
            }
            "transfer-encoding" => {
                head.chunked = v
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("chunked"))
            }
            "location" => head.location = Some(v.to_string()),
            "retry-after" => head.retry_after = v.parse().ok(),
            _ => {}
        }
    }
    Ok(head)
}

/// Read a response head from `r` up to and including its empty line (at
/// most 64 KiB) and parse it; `r` is left at the first byte of the body.
pub fn read_head<R: BufRead>(r: &mut R) -> Result<Head, HttpError> {
    let mut head = Vec::new();
    // Where the current line starts: a read ends at 8 KiB, inside a longer
    // line, and the rest of that line is not a line of its own.
    let mut line_start = 0;
    loop {
        let n = (&mut *r).take(8192).read_until(b'\n', &mut head)?;
        if n == 0 {
            return Err(HttpError::Protocol(
                "connection closed before the headers ended".into(),
            ));
        }
        if head.len() > MAX_HEAD {
            return Err(HttpError::Protocol("headers larger than 64 KiB".into()));
        }
        if head.ends_with(b"\n") {
            let line = &head[line_start..];
            if line == b"\r\n" || line == b"\n" {
                break;
            }
            line_start = head.len();
        }
    }
    parse_head(String::from_utf8_lossy(&head).trim_end())
}

/// A reader that removes `chunked` framing (RFC 9112 §7.1); trailers are
/// skipped (at most 64 KiB of them). A chunk whose size would take the
/// body past the limit is refused when its size line is read, before any
/// of it.
pub struct Chunked<R> {
    inner: R,
    left: u64,
    done: bool,
    /// Body bytes announced by the chunk sizes so far.
    total: u64,
    limit: u64,
}

impl<R: BufRead> Chunked<R> {
    /// Decode the chunked body read from `inner`, without a size limit.
    #[cfg(test)]
    pub fn new(inner: R) -> Self {
        Chunked::with_limit(inner, u64::MAX)
    }

    /// Decode the chunked body read from `inner`, refusing a body larger
    /// than `limit` bytes (an [`io::ErrorKind::InvalidData`] error whose
    /// inner error is an [`HttpError::TooLarge`]).
    pub fn with_limit(inner: R, limit: u64) -> Self {
        Chunked {
            inner,
            left: 0,
            done: false,
            total: 0,
            limit,
        }
    }

    fn line(&mut self) -> io::Result<String> {
        let mut l = Vec::new();
        let n = (&mut self.inner).take(4096).read_until(b'\n', &mut l)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunked body",
            ));
        }
        // A longer line is refused, not cut: its rest would be read as
        // the next line or as chunk data.
        if n == 4096 && !l.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunk size or trailer line longer than 4 KiB",
            ));
        }
        Ok(String::from_utf8_lossy(&l).trim().to_string())
    }
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let l = self.line()?;
            let size = l.split(';').next().unwrap_or_default().trim();
            let bad =
                || io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {l:?}"));
            if size.is_empty() || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            self.left = u64::from_str_radix(size, 16).map_err(|_| bad())?;
            if self.left > self.limit.saturating_sub(self.total) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    HttpError::TooLarge {
                        what: "chunk size",
                        size: self.total.saturating_add(self.left),
                        limit: self.limit,
                    },
                ));
            }
            self.total += self.left;
            if self.left == 0 {
                // Trailers up to the empty line, bounded like the headers.
                let mut trailers = 0;
                loop {
                    let l = self.line()?;
                    if l.is_empty() {
                        break;
                    }
                    trailers += l.len() + 2;
                    if trailers > MAX_HEAD {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "trailers larger than 64 KiB",
                        ));
                    }
                }
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunk",
            ));
        }
        self.left -= n as u64;
        if self.left == 0 {
            let l = self.line()?;
            if !l.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "chunk not followed by CRLF",
                ));
            }
        }
        Ok(n)
    }
}

/// Settings for [`get`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Connect and per-read timeout.
    pub timeout: Duration,
    /// Name servers for host names (A records).
    pub dns: Vec<Ipv4Addr>,
    /// IPv6 name servers: when there are any (the boot went over IPv6),
    /// host names resolve to their AAAA records through them.
    pub dns6: Vec<Ipv6Addr>,
    /// PEM file of trusted CA certificates for `https://` (feature
    /// `https`); default /etc/ssl/certs/ca-certificates.crt.
    #[cfg_attr(not(feature = "https"), allow(dead_code))]
    pub ca_bundle: Option<std::path::PathBuf>,
    /// The largest body accepted: a `Content-Length` or chunk size taking
    /// it past this is refused before the body is read
    /// ([`HttpError::TooLarge`]). `None`: no limit here (the caller's sink
    /// may still refuse the bytes).
    pub max_size: Option<u64>,
}

/// A connection: plain TCP, or TLS over it.
trait Conn: Read + Write {}
impl<T: Read + Write> Conn for T {}

fn connect(url: &Url, opts: &Options) -> Result<Box<dyn Conn>, HttpError> {
    let tcp = connect_tcp(url, opts)?;
    if !url.tls {
        return Ok(Box::new(tcp));
    }
    #[cfg(feature = "https")]
    {
        tls::wrap(tcp, url, opts)
    }
    #[cfg(not(feature = "https"))]
    {
        Err(HttpError::NoTls)
    }
}

fn connect_tcp(url: &Url, opts: &Options) -> Result<TcpStream, HttpError> {
    let ip: IpAddr = match url.host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) if !opts.dns6.is_empty() => IpAddr::V6(
            crate::dns::resolve_aaaa(&url.host, &opts.dns6, opts.timeout)
                .map_err(|e| HttpError::Resolve(e.to_string()))?,
        ),
        Err(_) => IpAddr::V4(
            crate::dns::resolve_a(&url.host, &opts.dns, opts.timeout)
                .map_err(|e| HttpError::Resolve(e.to_string()))?,
        ),
    };
    let to = crate::net6::scoped(SocketAddr::new(ip, url.port));
    let s = TcpStream::connect_timeout(&to, opts.timeout).map_err(HttpError::Connect)?;
    s.set_read_timeout(Some(opts.timeout))?;
    s.set_write_timeout(Some(opts.timeout))?;
    let _ = s.set_nodelay(true);
    Ok(s)
}

/// GET `url` into `sink`, following redirects; `progress(got, total)` is
/// called as data arrives. Returns the bytes written.
pub fn get(
    url: &str,
    opts: &Options,
    sink: &mut dyn Write,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<u64, HttpError> {
    let mut url = Url::parse(url)?;
    for _ in 0..=MAX_REDIRECTS {
        let mut stream = connect(&url, opts)?;
        // An IPv6 literal in brackets (RFC 9110 §7.2, RFC 3986 §3.2.2).
        let name = match url.host.contains(':') {
            true => format!("[{}]", url.host),
            false => url.host.clone(),
        };
        let host = if url.port == 80 {
            name
        } else {
            format!("{name}:{}", url.port)
        };
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: pxeinit/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            url.path,
            env!("CARGO_PKG_VERSION")
        );
        stream.write_all(req.as_bytes())?;
        stream.flush()?;
        let mut r = BufReader::with_capacity(
            256 * 1024,
            Deadline {
                inner: stream,
                until: Instant::now().checked_add(opts.timeout),
                timeout: opts.timeout,
            },
        );
        let h = read_head(&mut r)?;
        // The body has the rate rule of the caller's sink instead.
        r.get_mut().until = None;
        match h.status {
            200..=299 => {}
            301 | 302 | 303 | 307 | 308 => {
                let loc = h
                    .location
                    .ok_or_else(|| HttpError::Protocol(format!("{} without Location", h.status)))?;
                url = url.redirect(&loc)?;
                continue;
            }
            404 | 410 => return Err(HttpError::NotFound),
            s @ (429 | 502 | 503 | 504) => return Err(HttpError::Busy(s, h.reason, h.retry_after)),
            s => return Err(HttpError::Status(s, h.reason)),
        }
        let limit = opts.max_size.unwrap_or(u64::MAX);
        let total = if h.chunked { None } else { h.content_length };
        if let Some(size) = total.filter(|&n| n > limit) {
            return Err(HttpError::TooLarge {
                what: "Content-Length",
                size,
                limit,
            });
        }
        let mut body: Box<dyn Read> = if h.chunked {
            Box::new(Chunked::with_limit(r, limit))
        } else if let Some(len) = h.content_length {
            Box::new(r.take(len))
        } else {
            // RFC 9112 §6.3: the body ends when the server closes the
            // connection. Nothing tells that end from a cut connection.
            warn!(
                "{url}: the server sent neither Content-Length nor chunked encoding; \
                 the body ends where the connection closes, and a cut would go unnoticed"
            );
            Box::new(r)
        };
        let mut buf = vec![0u8; 128 * 1024];
        let mut got = 0u64;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(unwrap_io(e)),
            };
            sink.write_all(&buf[..n]).map_err(HttpError::Sink)?;
            got += n as u64;
            progress(got, total);
        }
        if let Some(t) = total {
            if got != t {
                return Err(HttpError::Protocol(format!(
                    "connection closed after {got} of {t} bytes"
                )));
            }
        }
        return Ok(got);
    }
    Err(HttpError::TooManyRedirects(url.to_string()))
}

/// A reader that fails once `until` has passed: the connection setup (TLS)
/// and the response head must be complete within one timeout, however
/// slowly a server trickles them (each read alone would be within it).
struct Deadline<R> {
    inner: R,
    until: Option<Instant>,
    timeout: Duration,
}

impl<R: Read> Read for Deadline<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.until.is_some_and(|u| Instant::now() >= u) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no complete response head within {} s",
                    self.timeout.as_secs_f64()
                ),
            ));
        }
        self.inner.read(buf)
    }
}

/// An I/O error from the body reader: the [`HttpError`] it carries
/// ([`Chunked`]'s limit), or the I/O error itself.
fn unwrap_io(e: io::Error) -> HttpError {
    if e.get_ref().is_some_and(|inner| inner.is::<HttpError>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(h) = inner.downcast::<HttpError>() {
                return *h;
            }
        }
        return HttpError::Protocol("body".into());
    }
    HttpError::from(e)
}

/// TLS through rustls (ring provider), trusting the certificates of a PEM
/// bundle.
#[cfg(feature = "https")]
mod tls {
    use super::{HttpError, Options, Url};
    use rustls_pki_types::pem::PemObject;
    use std::net::TcpStream;
    use std::sync::Arc;

    /// The trust roots: the PEM bundle given (`pxe.cacert=`,
    /// `--ca-bundle`), for a private CA, and nothing else; without one, the
    /// Mozilla roots built into the binary (`webpki-roots`), as a browser
    /// would trust.
    fn roots(opts: &Options) -> Result<rustls::RootCertStore, HttpError> {
        let Some(path) = &opts.ca_bundle else {
            return Ok(rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            });
        };
        let mut roots = rustls::RootCertStore::empty();
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| HttpError::Tls(format!("CA bundle {}: {e}", path.display())))?;
        for c in certs.flatten() {
            let _ = roots.add(c);
        }
        if roots.is_empty() {
            return Err(HttpError::Tls(format!(
                "CA bundle {}: no certificates",
                path.display()
            )));
        }
        Ok(roots)
    }

    pub(super) fn wrap(
        tcp: TcpStream,
        url: &Url,
        opts: &Options,
    ) -> Result<Box<dyn super::Conn>, HttpError> {
        let roots = roots(opts)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls_pki_types::ServerName::try_from(url.host.clone())
            .map_err(|e| HttpError::Tls(format!("{}: {e}", url.host)))?;
        let conn = rustls::ClientConnection::new(Arc::new(config), name)
            .map_err(|e| HttpError::Tls(e.to_string()))?;
        Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("http://10.0.0.1/boot/vmlinuz").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("10.0.0.1", 80, "/boot/vmlinuz")
        );
        let u = Url::parse("HTTP://user@boot.example:8080?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("boot.example", 8080, "/?x=1")
        );
        let u = Url::parse("http://[fd00::1]:81/a").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("fd00::1", 81));
        if cfg!(feature = "https") {
            assert_eq!(Url::parse("https://x/").unwrap().port, 443);
        } else {
            assert!(matches!(Url::parse("https://x/"), Err(HttpError::NoTls)));
        }
        assert!(Url::parse("ftp://x/").is_err());
        assert!(Url::parse("http://:80/").is_err());
        assert!(Url::parse("http://h:99999/").is_err());
        let j = u.join("/b/c").unwrap();
        assert_eq!(
            (j.host.as_str(), j.port, j.path.as_str()),
            ("fd00::1", 81, "/b/c")
        );
        let base = Url::parse("http://h/d/e/f").unwrap();
        assert_eq!(base.join("g").unwrap().path, "/d/e/g");
        assert_eq!(base.join("http://o:1/x").unwrap().host, "o");
    }

    #[test]
    fn heads() {
        let h = parse_head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX: y").unwrap();
        assert_eq!(
            (h.status, h.content_length, h.chunked),
            (200, Some(12), false)
        );
        let h =
            parse_head("HTTP/1.1 302 Found\r\ntransfer-encoding: gzip, Chunked\r\nLocation: /x")
                .unwrap();
        assert!(h.chunked);
        assert_eq!(h.location.as_deref(), Some("/x"));
        assert!(parse_head("SSH-2.0-OpenSSH").is_err());
        assert!(parse_head("HTTP/1.1 abc").is_err());
        assert!(parse_head("HTTP/1.1 200 OK\r\nContent-Length: -1").is_err());
    }

    /// Found by the `http_head` fuzz target (init/fuzz): a header line of
    /// 8191 or 8192 bytes before its CRLF (one read) left a lone `\n` or
    /// `\r\n` that was taken for the empty line ending the head; the
    /// headers after it became the body.
    #[test]
    fn a_long_header_line_does_not_end_the_head() {
        for len in [8190, 8191, 8192, 16383, 16384] {
            let loc = "a".repeat(len - "Location: /".len());
            let text =
                format!("HTTP/1.1 200 OK\r\nLocation: /{loc}\r\nContent-Length: 3\r\n\r\nabc");
            let mut r = io::Cursor::new(text.as_bytes());
            let h = read_head(&mut r).unwrap();
            assert_eq!(h.location.as_deref().map(str::len), Some(len - 10), "{len}");
            assert_eq!(h.content_length, Some(3), "{len}");
            let mut body = String::new();
            r.read_to_string(&mut body).unwrap();
            assert_eq!(body, "abc", "{len}");
        }
    }

    /// Found by the `http_chunked` fuzz target (init/fuzz): a chunk-size
    /// line longer than the 4 KiB the decoder reads was cut there, so its
    /// first 4 KiB of leading zeros read as the last chunk: the body ended
    /// early and was taken as complete.
    #[test]
    fn a_chunk_line_longer_than_4_kib_is_refused() {
        let mut out = Vec::new();
        let long = format!("5\r\nhello\r\n{}6\r\n world\r\n0\r\n\r\n", "0".repeat(4096));
        let e = Chunked::new(long.as_bytes())
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        let ext = format!("5;{}\r\nhello\r\n0\r\nX: {}\r\n\r\n", "x".repeat(5000), "y");
        assert!(Chunked::new(ext.as_bytes()).read_to_end(&mut out).is_err());
        // Up to 4 KiB with its CRLF is one line.
        let fits = format!("{}5\r\nhello\r\n0\r\n\r\n", "0".repeat(4096 - 3));
        out.clear();
        Chunked::new(fits.as_bytes()).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello");
    }

    #[test]
    fn retry_after_in_seconds() {
        let h = parse_head("HTTP/1.1 503 Busy\r\nRetry-After: 120\r\n").unwrap();
        assert_eq!(h.retry_after, Some(120));
        let h = parse_head("HTTP/1.1 503 Busy\r\nretry-after: Fri, 31 Dec 1999 23:59:59 GMT\r\n")
            .unwrap();
        assert_eq!(h.retry_after, None);
    }

    #[test]
    fn chunked() {
        let body =
            b"4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n";
        let mut out = String::new();
        Chunked::new(&body[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, "Wikipedia in \r\n\r\nchunks.");
        for bad in [&b"zz\r\n"[..], b"5\r\nab", b"2\r\nabXY", b"3\r\nabc\r\n"] {
            let mut out = Vec::new();
            assert!(Chunked::new(bad).read_to_end(&mut out).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chunk_sizes_are_checked_before_reading() {
        // ffffffffffffffff: refused at its size line, no overflow, nothing read.
        let body = b"ffffffffffffffff\r\nabc";
        let mut out = Vec::new();
        let e = Chunked::with_limit(&body[..], 1 << 20)
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(out.is_empty());
        assert!(matches!(
            unwrap_io(e),
            HttpError::TooLarge {
                what: "chunk size",
                size: u64::MAX,
                limit: 1048576
            }
        ),);
        // The sizes add up: the second chunk takes the body over the limit.
        let body = b"8\r\n12345678\r\n9\r\n123456789\r\n0\r\n\r\n";
        let mut out = Vec::new();
        let e = Chunked::with_limit(&body[..], 16)
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(out, b"12345678");
        assert!(unwrap_io(e)
            .to_string()
            .contains("more than the size limit of 16 bytes"));
        // Without a limit, sizes summing past u64::MAX do not overflow.
        let body = b"8000000000000000\r\n";
        let mut c = Chunked::new(&body[..]);
        c.total = 1 << 63;
        assert!(c.read(&mut [0u8; 16]).is_err());
        // Signs, spaces inside and 17 digits are not chunk sizes.
        for bad in [
            &b"+5\r\nabcde\r\n"[..],
            b"1 0\r\n",
            b"10000000000000000\r\n",
        ] {
            assert!(Chunked::new(bad).read_to_end(&mut Vec::new()).is_err());
        }
        // Endless trailers are cut at 64 KiB.
        let mut body = b"0\r\n".to_vec();
        while body.len() < 200_000 {
            body.extend_from_slice(b"X-Trailer: yes\r\n");
        }
        let e = Chunked::new(&body[..])
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("trailers"), "{e}");
    }

    #[test]
    fn redirects_never_downgrade_https() {
        let https = Url {
            tls: true,
            host: "boot.example".into(),
            port: 443,
            path: "/pxelinux.cfg/default".into(),
        };
        let e = https.redirect("http://boot.example/evil").unwrap_err();
        assert!(matches!(e, HttpError::Downgrade(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "refused a redirect from https:// to http://boot.example/evil (redirect scheme downgrade)"
        );
        // Relative targets keep https; http → http is fine.
        if cfg!(feature = "https") {
            assert!(https.redirect("/other").unwrap().tls);
        }
        let http = Url::parse("http://h/a").unwrap();
        assert_eq!(
            http.redirect("http://o/b").unwrap().to_string(),
            "http://o/b"
        );
        assert_eq!(
            Url::parse("http://h:8080/x?y").unwrap().to_string(),
            "http://h:8080/x?y"
        );
    }

    fn opts(timeout: Duration, max_size: Option<u64>) -> Options {
        Options {
            timeout,
            dns: vec![],
            dns6: vec![],
            ca_bundle: None,
            max_size,
        }
    }

    /// A server on loopback: for each connection, after the request head,
    /// `answer(connection number, stream)`.
    fn server(answer: impl Fn(usize, std::net::TcpStream) + Send + 'static) -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for (i, s) in l.incoming().enumerate() {
                let Ok(mut s) = s else { return };
                let mut req = Vec::new();
                let mut byte = [0u8; 1];
                while !req.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                    req.push(byte[0]);
                }
                answer(i, s);
            }
        });
        port
    }

    #[test]
    fn body_framing() {
        // Cut before Content-Length: an error.
        let port = server(|_, mut s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        });
        let o = opts(Duration::from_secs(5), None);
        let e = get(
            &format!("http://127.0.0.1:{port}/k"),
            &o,
            &mut Vec::new(),
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("closed after 3 of 10 bytes"), "{e}");
        // Cut before the last chunk: an error.
        let port = server(|_, mut s| {
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
        });
        let e = get(
            &format!("http://127.0.0.1:{port}/k"),
            &o,
            &mut Vec::new(),
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("chunked body"), "{e}");
        // Neither: accepted (with a warning naming the URL).
        let port = server(|_, mut s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\nabc");
        });
        let mut out = Vec::new();
        get(
            &format!("http://127.0.0.1:{port}/k"),
            &o,
            &mut out,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(out, b"abc");
        // Two different lengths: refused.
        assert!(parse_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4").is_err());
        assert!(parse_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3").is_ok());
    }

    /// A Content-Length above the limit is refused at once, before the
    /// body (the server sends none and keeps the connection open).
    #[test]
    fn a_content_length_above_the_limit_is_refused_before_the_body() {
        let port = server(|_, mut s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\n");
            std::thread::sleep(Duration::from_secs(10));
        });
        let started = Instant::now();
        let e = get(
            &format!("http://127.0.0.1:{port}/k"),
            &opts(Duration::from_secs(5), Some(1 << 20)),
            &mut Vec::new(),
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                HttpError::TooLarge {
                    size: 1099511627776,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_redirect_loop_ends_with_a_clear_error() {
        let port = server(|i, mut s| {
            let _ = write!(
                s,
                "HTTP/1.1 302 Found\r\nLocation: /loop{}\r\nContent-Length: 0\r\n\r\n",
                i % 2
            );
        });
        let e = get(
            &format!("http://127.0.0.1:{port}/start"),
            &opts(Duration::from_secs(5), None),
            &mut Vec::new(),
            &mut |_, _| {},
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("more than 5 redirects (a redirect loop?), the last to http://127.0.0.1:{port}/loop1")
        );
    }

    /// A head trickled a byte at a time, each within the read timeout,
    /// still ends at the timeout.
    #[test]
    fn a_trickled_head_times_out() {
        let port = server(|_, mut s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ");
            for _ in 0..100 {
                if s.write_all(b"z").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let started = Instant::now();
        let e = get(
            &format!("http://127.0.0.1:{port}/k"),
            &opts(Duration::from_millis(500), None),
            &mut Vec::new(),
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("no complete response head within 0.5 s"),
            "{e}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
    }

    /// Against a real socket: a tiny server thread speaking chunked after a redirect.
    #[test]
    fn get_follows_redirect_and_decodes_chunked() {
        use std::net::TcpListener;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for (i, s) in l.incoming().take(2).enumerate() {
                let mut s = s.unwrap();
                let mut req = Vec::new();
                let mut byte = [0u8; 1];
                while !req.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                    req.push(byte[0]);
                }
                let resp: &[u8] = if i == 0 {
                    b"HTTP/1.1 301 Moved\r\nLocation: /real\r\nContent-Length: 0\r\n\r\n"
                } else {
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                };
                s.write_all(resp).unwrap();
            }
        });
        let mut out = Vec::new();
        let opts = opts(Duration::from_secs(5), None);
        let n = get(
            &format!("http://127.0.0.1:{port}/start"),
            &opts,
            &mut out,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(n, 5);
        assert_eq!(out, b"abcde");
    }
}

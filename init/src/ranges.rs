//! Random access over HTTP: `Range: bytes=A-B` requests on one kept-alive
//! connection (reopened when the server closes it), each answer required
//! to be `206 Partial Content` with exactly the bytes asked for. A server
//! that answers `200` (no Range support) gets a clear error instead of
//! a download of the whole image. `http://` only: the TLS connection of
//! [`crate::http`] is not reusable from here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use locations::iso9660::{ReadAt, ReadError};

use crate::http::{parse_head, Head, Url};

/// The response head: lines up to the empty one (64 KiB at most).
fn read_head<R: BufRead>(r: &mut R) -> Result<Head, String> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let n = (&mut *r)
            .take(8192)
            .read_until(b'\n', &mut head)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the headers ended".into());
        }
        if head.len() > 64 * 1024 {
            return Err("headers larger than 64 KiB".into());
        }
        if matches!(&head[before..], b"\r\n" | b"\n") {
            break;
        }
    }
    parse_head(String::from_utf8_lossy(&head).trim_end()).map_err(|e| e.to_string())
}

/// An `http://` URL read in ranges.
pub struct HttpRanges {
    url: Url,
    timeout: Duration,
    dns: Vec<std::net::Ipv4Addr>,
    conn: Option<BufReader<TcpStream>>,
    /// Body bytes received so far.
    pub fetched: u64,
}

impl HttpRanges {
    /// Ranges of `url` (must be `http://`).
    pub fn new(
        url: &str,
        timeout: Duration,
        dns: Vec<std::net::Ipv4Addr>,
    ) -> Result<HttpRanges, String> {
        let url = Url::parse(url).map_err(|e| e.to_string())?;
        if url.tls {
            return Err("images over https:// are not read (Range requests need http://)".into());
        }
        Ok(HttpRanges {
            url,
            timeout,
            dns,
            conn: None,
            fetched: 0,
        })
    }

    fn connect(&self) -> Result<BufReader<TcpStream>, String> {
        let ip: IpAddr = match self.url.host.parse() {
            Ok(ip) => ip,
            Err(_) => IpAddr::V4(
                crate::dns::resolve_a(&self.url.host, &self.dns, self.timeout)
                    .map_err(|e| format!("cannot resolve the host name: {e}"))?,
            ),
        };
        let to = crate::net6::scoped(SocketAddr::new(ip, self.url.port));
        let s = TcpStream::connect_timeout(&to, self.timeout)
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = s.set_read_timeout(Some(self.timeout));
        let _ = s.set_write_timeout(Some(self.timeout));
        let _ = s.set_nodelay(true);
        Ok(BufReader::with_capacity(64 * 1024, s))
    }

    /// One request on the current connection; `Ok(false)`: the connection
    /// was closed before an answer (try a new one).
    fn once(&mut self, offset: u64, buf: &mut [u8]) -> Result<bool, ReadError> {
        let other = ReadError::Other;
        let conn = match self.conn.take() {
            Some(c) => c,
            None => self.connect().map_err(other)?,
        };
        let mut conn = conn;
        let host = match (self.url.host.contains(':'), self.url.port) {
            (true, 80) => format!("[{}]", self.url.host),
            (true, p) => format!("[{}]:{p}", self.url.host),
            (false, 80) => self.url.host.clone(),
            (false, p) => format!("{}:{p}", self.url.host),
        };
        let end = offset + buf.len() as u64 - 1;
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nRange: bytes={offset}-{end}\r\nUser-Agent: pxeinit\r\nConnection: keep-alive\r\n\r\n",
            self.url.path
        );
        if conn.get_mut().write_all(req.as_bytes()).is_err() {
            return Ok(false);
        }
        let head = match read_head(&mut conn) {
            Ok(h) => h,
            Err(_) if !buf.is_empty() => return Ok(false),
            Err(e) => return Err(other(e)),
        };
        match head.status {
            206 => {}
            200 => {
                return Err(other(
                    "the server does not support Range requests (it answered 200 to a Range request), which reading inside an image needs".into(),
                ))
            }
            404 | 410 => return Err(other("file not found (HTTP 404)".into())),
            416 => return Err(ReadError::Eof),
            s => return Err(other(format!("HTTP {s} {} to a Range request", head.reason))),
        }
        if head.chunked || head.content_length != Some(buf.len() as u64) {
            return Err(other(format!(
                "the server answered {} bytes to a Range request for {}",
                head.content_length
                    .map_or("an unknown number of".into(), |n| n.to_string()),
                buf.len()
            )));
        }
        conn.read_exact(buf)
            .map_err(|e| other(format!("reading a range: {e}")))?;
        self.fetched += buf.len() as u64;
        self.conn = Some(conn);
        Ok(true)
    }
}

impl ReadAt for HttpRanges {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        if buf.is_empty() {
            return Ok(());
        }
        let kept = self.conn.is_some();
        if self.once(offset, buf)? {
            return Ok(());
        }
        // A kept-alive connection the server closed: once more, anew.
        if kept && self.once(offset, buf)? {
            return Ok(());
        }
        Err(ReadError::Other(
            "the server closed the connection before answering a Range request".into(),
        ))
    }
}

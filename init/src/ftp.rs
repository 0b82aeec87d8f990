//! A small FTP client for `ftp://[user[:password]@]host[:port]/path`
//! (RFC 959, RFC 2428, RFC 3659): log in (anonymous unless a user is
//! given), `TYPE I`, `SIZE` for the size (refused before the download when
//! above the limit), a passive data connection (`EPSV`, else `PASV`, whose
//! address is ignored: the data connection goes to the control
//! connection's address, as curl does by default), `RETR`, and the final
//! reply. The data stream goes into the caller's sink, which is the
//! downloader's guarded path ([`crate::sources`]). A data connection that
//! ends before `SIZE` bytes, or without the server's 226, is an error.
//!
//! The path is sent as it is after percent-decoding (no `CWD` per
//! segment), relative to the login directory as RFC 1738 says.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// Why an FTP download failed.
#[derive(Debug)]
pub enum FtpError {
    /// The file does not exist (550 to `SIZE` or `RETR`).
    NotFound,
    /// The server cannot be reached.
    Unreachable(String),
    /// Anything else, one line.
    Failed(String),
}

/// One reply: its code and its text (the lines joined by spaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text after the code.
    pub text: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// The longest reply line read, and the most lines in one reply.
const MAX_LINE: usize = 4096;
const MAX_LINES: usize = 200;

/// The code of a reply line: three digits then ` ` (last line) or `-`.
fn line_code(line: &str) -> Option<(u16, bool)> {
    let b = line.as_bytes();
    if b.len() < 3 || !b[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = line[..3].parse().ok()?;
    match b.get(3) {
        None | Some(b' ') => Some((code, true)),
        Some(b'-') => Some((code, false)),
        _ => None,
    }
}

/// Read one reply (RFC 959 §4.2: a multi-line reply starts `NNN-` and
/// ends with a line starting `NNN `).
pub fn read_reply<R: BufRead>(r: &mut R) -> io::Result<Reply> {
    let mut first: Option<u16> = None;
    let mut text = Vec::new();
    for _ in 0..MAX_LINES {
        let mut line = Vec::new();
        let n = r
            .by_ref()
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the control connection",
            ));
        }
        if line.last() != Some(&b'\n') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "reply line too long",
            ));
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        match (line_code(line), first) {
            (Some((code, last)), None) => {
                text.push(line.get(4..).unwrap_or_default().to_string());
                if last {
                    return Ok(Reply {
                        code,
                        text: text.join(" "),
                    });
                }
                first = Some(code);
            }
            (Some((code, true)), Some(f)) if code == f => {
                text.push(line.get(4..).unwrap_or_default().to_string());
                return Ok(Reply {
                    code,
                    text: text.join(" "),
                });
            }
            (_, Some(_)) => text.push(line.trim().to_string()),
            (None, None) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("not an FTP reply: {line:?}"),
                ))
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "reply longer than 200 lines",
    ))
}

/// The port of a 229 reply: `(|||PORT|)` (RFC 2428 §3; any delimiter).
pub fn parse_epsv(text: &str) -> Option<u16> {
    let open = text.find('(')?;
    let inner = &text[open + 1..text[open..].find(')')? + open];
    let d = inner.chars().next()?;
    let parts: Vec<&str> = inner.split(d).collect();
    if parts.len() != 5 || !parts[1].is_empty() || !parts[2].is_empty() {
        return None;
    }
    parts[3].parse().ok().filter(|p| *p > 0)
}

/// The port of a 227 reply: `h1,h2,h3,h4,p1,p2` somewhere in the text (the
/// address is not used).
pub fn parse_pasv(text: &str) -> Option<u16> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let nums: Vec<u16> = text[start..]
        .split(|c: char| !c.is_ascii_digit())
        .take(6)
        .map(|n| n.parse::<u16>().ok().filter(|n| *n <= 255))
        .collect::<Option<Vec<u16>>>()?;
    if nums.len() != 6 {
        return None;
    }
    Some(nums[4] * 256 + nums[5]).filter(|p| *p > 0)
}

/// What to fetch and how.
pub struct Request<'a> {
    /// Server address.
    pub addr: SocketAddr,
    /// User (`None`: `anonymous`).
    pub user: Option<&'a str>,
    /// Password (`None`: empty for a user, `pxeinit@` for anonymous).
    pub password: Option<&'a str>,
    /// Path on the server.
    pub path: &'a str,
    /// Connect and read timeout.
    pub timeout: Duration,
    /// The largest file taken.
    pub limit: u64,
}

struct Control {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Control {
    fn send(&mut self, cmd: &str) -> Result<Reply, FtpError> {
        if cmd.contains(['\r', '\n']) {
            return Err(FtpError::Failed("line break in an FTP command".into()));
        }
        self.w
            .write_all(format!("{cmd}\r\n").as_bytes())
            .map_err(|e| FtpError::Failed(format!("sending {}: {e}", verb(cmd))))?;
        self.reply(cmd)
    }

    fn reply(&mut self, cmd: &str) -> Result<Reply, FtpError> {
        read_reply(&mut self.r).map_err(|e| FtpError::Failed(format!("{}: {e}", verb(cmd))))
    }
}

/// The command's verb, for messages (never the password).
fn verb(cmd: &str) -> &str {
    cmd.split(' ').next().unwrap_or(cmd)
}

fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&crate::net6::scoped(addr), timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    Ok(s)
}

fn unexpected(cmd: &str, r: &Reply) -> FtpError {
    FtpError::Failed(format!("{} answered {r}", verb(cmd)))
}

/// Download `req.path` into `sink`; `progress(got, size)` as data
/// arrives. The bytes received.
pub fn fetch(
    req: &Request,
    sink: &mut dyn Write,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<u64, FtpError> {
    let tcp = connect(req.addr, req.timeout)
        .map_err(|e| FtpError::Unreachable(format!("cannot connect: {e}")))?;
    let w = tcp
        .try_clone()
        .map_err(|e| FtpError::Failed(e.to_string()))?;
    let mut c = Control {
        r: BufReader::new(tcp),
        w,
    };
    let hello = c.reply("greeting")?;
    if hello.code != 220 {
        return Err(FtpError::Failed(format!("the server greets with {hello}")));
    }
    let user = req.user.unwrap_or("anonymous");
    let r = c.send(&format!("USER {user}"))?;
    let r = match r.code {
        230 => r,
        331 | 332 => {
            let pass = match (req.user, req.password) {
                (_, Some(p)) => p,
                (None, None) => "pxeinit@",
                (Some(_), None) => "",
            };
            c.send(&format!("PASS {pass}"))?
        }
        _ => {
            return Err(FtpError::Failed(format!(
                "login refused: USER answered {r}"
            )))
        }
    };
    if r.code != 230 && r.code != 202 {
        return Err(FtpError::Failed(format!(
            "login refused: PASS answered {r}"
        )));
    }
    let r = c.send("TYPE I")?;
    if r.code != 200 {
        return Err(unexpected("TYPE I", &r));
    }
    let size = {
        let r = c.send(&format!("SIZE {}", req.path))?;
        match r.code {
            213 => r.text.trim().parse::<u64>().ok(),
            550 => return Err(FtpError::NotFound),
            // Not implemented or not allowed: the size is not known.
            _ => None,
        }
    };
    if let Some(s) = size.filter(|s| *s > req.limit) {
        return Err(FtpError::Failed(format!(
            "{s} bytes (SIZE), larger than the size limit of {} bytes",
            req.limit
        )));
    }
    let r = c.send("EPSV")?;
    let port = match r.code {
        229 => parse_epsv(&r.text).ok_or_else(|| unexpected("EPSV", &r))?,
        _ if req.addr.is_ipv4() => {
            let r = c.send("PASV")?;
            match r.code {
                227 => parse_pasv(&r.text).ok_or_else(|| unexpected("PASV", &r))?,
                _ => return Err(unexpected("PASV", &r)),
            }
        }
        _ => return Err(unexpected("EPSV", &r)),
    };
    let data_addr = SocketAddr::new(req.addr.ip(), port);
    let mut data = connect(data_addr, req.timeout).map_err(|e| {
        FtpError::Failed(format!(
            "cannot open the data connection to {data_addr}: {e}"
        ))
    })?;
    let r = c.send(&format!("RETR {}", req.path))?;
    match r.code {
        125 | 150 => {}
        550 => return Err(FtpError::NotFound),
        _ => return Err(unexpected("RETR", &r)),
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0u64;
    loop {
        let n = match data.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(FtpError::Failed(format!(
                    "the data connection failed after {got} bytes: {e}"
                )))
            }
        };
        sink.write_all(&buf[..n])
            .map_err(|e| FtpError::Failed(format!("writing the copy: {e}")))?;
        got += n as u64;
        progress(got, size);
    }
    drop(data);
    if let Some(s) = size.filter(|s| got != *s) {
        return Err(FtpError::Failed(format!(
            "the data connection closed after {got} of {s} bytes"
        )));
    }
    let r = c.reply("RETR")?;
    if r.code != 226 && r.code != 250 {
        return Err(FtpError::Failed(format!(
            "the transfer ended with {r} after {got} bytes"
        )));
    }
    let _ = c.w.write_all(b"QUIT\r\n");
    Ok(got)
}

/// The address of `host` (an IP literal, else an A record from `dns`).
pub fn resolve(
    host: &str,
    port: u16,
    dns: &[std::net::Ipv4Addr],
    timeout: Duration,
) -> Result<SocketAddr, FtpError> {
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) if host.eq_ignore_ascii_case("localhost") => IpAddr::from([127, 0, 0, 1]),
        Err(_) => IpAddr::V4(
            crate::dns::resolve_a(host, dns, timeout)
                .map_err(|e| FtpError::Unreachable(format!("cannot resolve the host name: {e}")))?,
        ),
    };
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod test {
    use super::*;

    fn reply(text: &str) -> io::Result<Reply> {
        read_reply(&mut io::Cursor::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn replies() {
        assert_eq!(
            reply("220 (vsFTPd 3.0.3)\r\n").unwrap(),
            Reply {
                code: 220,
                text: "(vsFTPd 3.0.3)".into()
            }
        );
        let r = reply("230-Welcome\r\n  to the server\r\n230 Login successful.\r\n").unwrap();
        assert_eq!(
            (r.code, r.text.as_str()),
            (230, "Welcome to the server Login successful.")
        );
        // A line starting with another code inside a multi-line reply.
        let r = reply("211-Features:\r\n EPSV\r\n200 x\r\n211 End\r\n").unwrap();
        assert_eq!(r.code, 211);
        assert!(reply("hello\r\n").is_err());
        assert!(reply("220-never ends\r\n").is_err());
        assert!(reply("").is_err());
        let long = format!("220 {}\r\n", "x".repeat(5000));
        assert!(reply(&long).is_err());
    }

    #[test]
    fn passive_ports() {
        assert_eq!(
            parse_epsv("Entering Extended Passive Mode (|||40123|)"),
            Some(40123)
        );
        assert_eq!(parse_epsv("Extended (!!!21!)"), Some(21));
        assert_eq!(parse_epsv("(|1|10.0.0.1|5|)"), None);
        assert_eq!(parse_epsv("no parens"), None);
        assert_eq!(parse_epsv("(|||0|)"), None);
        assert_eq!(
            parse_pasv("Entering Passive Mode (192,168,77,1,156,65)."),
            Some(156 * 256 + 65)
        );
        assert_eq!(parse_pasv("=192,168,77,1,4,1"), Some(1025));
        assert_eq!(parse_pasv("(1,2,3,4,999,1)"), None);
        assert_eq!(parse_pasv("(1,2,3)"), None);
    }
}

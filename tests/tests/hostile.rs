//! Hostile and broken servers: `pxeinit fetch` (and `pxeinit boot
//! --dry-run`) against a small scripted server per bad behaviour, each a
//! thread in the lab's server namespace speaking raw TFTP or HTTP.
//!
//! Each test asserts that pxeinit ends within a stated bound (the process
//! is killed at twice that), exits with status 2, that its last line names
//! the server and the file and says why, and that nothing is left as a
//! finished download: with `-o FILE`, pxeinit writes `FILE.part` and renames
//! it only when the download is complete, so after a failure neither
//! `FILE` nor `FILE.part` exists.
//!
//! | test | the server | bound |
//! |---|---|---|
//! | `tftp_oack_to_every_request` | answers every RRQ, with options or without, with an OACK it must refuse | 5 s, exactly 2 requests |
//! | `tftp_wrong_block_numbers_forever` | DATA 1, then DATA 1 and DATA 40000 every 2 ms, forever | 16 s no-progress bound (+ slack) |
//! | `tftp_tsize_lies` | announces 10 GiB with `--max-size 1M`; announces 1000 bytes and sends 5000 | 3 s each |
//! | `tftp_trickle` | a 512-byte block every second (512 B/s) with `--speed-time 3` | 6 s |
//! | `http_endless_body_without_length` | neither Content-Length nor chunked, zeros forever, `--max-size 8M` (a short such body is accepted with a warning naming the URL) | 10 s |
//! | `http_chunk_size_ffffffffffffffff` | chunk size `ffffffffffffffff`, then zeros forever | 3 s |
//! | `http_body_cut_before_content_length` | Content-Length 1000000, 1000 bytes, close; and a chunked body cut before its last chunk | 3 s |
//! | `http_redirect_loop` | 302 /a → /b → /c → /b ... | 3 s, 6 requests |
//! | `http_trickle` | 1 byte per second with `--speed-time 3` | 6 s |
//! | `tftp_host_names_and_other_schemes` | dnsmasq DNS + TFTP: `tftp://NAME/` resolved with the lease's DNS; `ftp://` refused | 30 s |
//!
//! An `https://` → `http://` redirect is refused by `http::Url::redirect`,
//! unit-tested in init/src/http.rs (this suite's pxeinit is built without
//! the `https` feature).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use pxeinit_tests::*;

/// The client's address: `pxeinit fetch` runs without DHCP.
const CLIENT_ADDR: &str = "192.168.77.50/24";

/// A lab whose client interface has an address.
fn lab(name: &str) -> Option<Lab> {
    let lab = Lab::new(name, &[])?;
    sh(&[
        "ip",
        "-n",
        &lab.cli_ns,
        "addr",
        "add",
        CLIENT_ADDR,
        "dev",
        CLIENT_IF,
    ]);
    Some(lab)
}

/// How a `pxeinit` run ended.
struct Outcome {
    code: Option<i32>,
    killed: bool,
    secs: f64,
    stderr: String,
}

impl Outcome {
    fn last_line(&self) -> &str {
        self.stderr.lines().last().unwrap_or_default()
    }
}

/// `pxeinit ARGS` in the client namespace; killed after `limit`.
fn pxeinit(lab: &Lab, args: &[&str], limit: Duration) -> Outcome {
    // Built (once per test process, possibly minutes on a loaded host)
    // before the clock starts: the bound is on pxeinit, not on cargo.
    let bin = pxeinit_bin();
    let start = Instant::now();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &lab.cli_ns])
        .arg(bin)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start pxeinit");
    let err = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
        }
        let _ = tx.send(all);
    });
    let mut killed = false;
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st;
        }
        if start.elapsed() >= limit {
            killed = true;
            let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let secs = start.elapsed().as_secs_f64();
    let stderr = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    Outcome {
        code: status.code(),
        killed,
        secs,
        stderr,
    }
}

/// `pxeinit fetch URL -o FILE ARGS`; asserts the failure: within `bound`
/// seconds, exit 2, the last line names `url` once and contains `why`, and
/// neither FILE nor FILE.part exists. Returns the outcome.
fn fetch_fails(lab: &Lab, url: &str, args: &[&str], bound: f64, why: &str) -> Outcome {
    let out: PathBuf = lab.dir.join("out.bin");
    let out_s = out.to_string_lossy().into_owned();
    let mut all = vec!["fetch", url, "-o", &out_s];
    all.extend_from_slice(args);
    let o = pxeinit(lab, &all, Duration::from_secs_f64(bound * 2.0));
    assert!(
        !o.killed,
        "{}: pxeinit still running after {:.1} s (bound {bound} s); log:\n{}",
        lab.name, o.secs, o.stderr
    );
    assert_eq!(
        o.code,
        Some(2),
        "{}: exit status; log:\n{}",
        lab.name,
        o.stderr
    );
    let line = o.last_line();
    assert!(
        line.starts_with(&format!("pxeinit: {url}: ")),
        "{}: the failure line does not name {url} first: {line}",
        lab.name
    );
    assert_eq!(line.matches(url).count(), 1, "{}: {line}", lab.name);
    assert!(
        line.contains(why),
        "{}: expected {why:?} in: {line}",
        lab.name
    );
    assert!(
        o.secs < bound,
        "{}: took {:.1} s, bound {bound} s: {line}",
        lab.name,
        o.secs
    );
    assert!(!out.exists(), "{}: {} left behind", lab.name, out.display());
    assert!(
        !Path::new(&format!("{out_s}.part")).exists(),
        "{}: {out_s}.part left behind",
        lab.name
    );
    eprintln!("{}: ended after {:.2} s: {line}", lab.name, o.secs);
    o
}

// ----- TFTP ------------------------------------------------------------------

/// A request, as the scripted TFTP server saw it.
#[derive(Debug, Clone)]
struct Rrq {
    from: SocketAddr,
    file: String,
    /// Option names and values.
    options: Vec<(String, String)>,
}

fn parse_rrq(b: &[u8], from: SocketAddr) -> Option<Rrq> {
    if b.len() < 4 || b[..2] != [0, 1] {
        return None;
    }
    let fields: Vec<String> = b[2..]
        .split(|c| *c == 0)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let file = fields.first()?.clone();
    let options = fields
        .get(2..)
        .unwrap_or_default()
        .chunks(2)
        .filter(|c| c.len() == 2 && !c[0].is_empty())
        .map(|c| (c[0].to_ascii_lowercase(), c[1].clone()))
        .collect();
    Some(Rrq {
        from,
        file,
        options,
    })
}

fn oack(options: &[(&str, &str)]) -> Vec<u8> {
    let mut p = vec![0, 6];
    for (k, v) in options {
        p.extend_from_slice(k.as_bytes());
        p.push(0);
        p.extend_from_slice(v.as_bytes());
        p.push(0);
    }
    p
}

fn data(block: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0, 3];
    p.extend_from_slice(&block.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// What the scripted TFTP server saw.
#[derive(Debug, Default)]
struct TftpLog {
    requests: Vec<Rrq>,
    /// (opcode, block or error code) of every packet from the client on a
    /// transfer port.
    replies: Vec<(u16, u16)>,
}

fn record(log: &Mutex<TftpLog>, b: &[u8]) {
    if b.len() >= 4 {
        let op = u16::from_be_bytes([b[0], b[1]]);
        let n = u16::from_be_bytes([b[2], b[3]]);
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .replies
            .push((op, n));
    }
}

/// A TFTP server on SERVER:69 in the lab's server namespace: for each RRQ,
/// `session(transfer socket, request, stop, log)` on the listening thread.
fn tftp_server(
    lab: &Lab,
    session: impl Fn(&UdpSocket, &Rrq, &AtomicBool, &Mutex<TftpLog>) + Send + 'static,
) -> Arc<Mutex<TftpLog>> {
    let log = Arc::new(Mutex::new(TftpLog::default()));
    let l = log.clone();
    lab.thread_in_server_ns(move |stop| {
        let listen = UdpSocket::bind((SERVER, 69)).expect("bind :69");
        listen
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::SeqCst) {
            let Ok((n, from)) = listen.recv_from(&mut buf) else {
                continue;
            };
            let Some(rrq) = parse_rrq(&buf[..n], from) else {
                continue;
            };
            l.lock()
                .unwrap_or_else(|e| e.into_inner())
                .requests
                .push(rrq.clone());
            let s = UdpSocket::bind((SERVER, 0)).expect("bind transfer port");
            s.set_read_timeout(Some(Duration::from_millis(20)))
                .expect("timeout");
            session(&s, &rrq, &stop, &l);
        }
    });
    lab.wait_port("udp", 69);
    log
}

/// Wait up to `d` for packets on `s`, recording them; true if an ERROR came.
fn drain(s: &UdpSocket, d: Duration, log: &Mutex<TftpLog>) -> bool {
    let end = Instant::now() + d;
    let mut buf = [0u8; 2048];
    let mut error = false;
    while Instant::now() < end {
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            record(log, &buf[..n]);
            error |= buf[..n].starts_with(&[0, 5]);
        }
    }
    error
}

/// Every request, the one without options too, gets an OACK the client
/// must refuse (blksize above the 1468 asked for): pxeinit retries once
/// without options, answers that OACK with ERROR 8 and fails. It used to
/// ask again forever, opening a socket per turn.
#[test]
fn tftp_oack_to_every_request() {
    let Some(lab) = lab("tftp_oack_to_every_request") else {
        return;
    };
    let log = tftp_server(&lab, |s, rrq, _, log| {
        let _ = s.send_to(&oack(&[("blksize", "65464")]), rrq.from);
        drain(s, Duration::from_millis(100), log);
    });
    let url = format!("tftp://{SERVER}/hostile/oack");
    fetch_fails(
        &lab,
        &url,
        &[],
        5.0,
        "the server answered a request without options with an OACK",
    );
    std::thread::sleep(Duration::from_millis(500));
    let log = log.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(log.requests.len(), 2, "requests: {:?}", log.requests);
    assert!(!log.requests[0].options.is_empty());
    assert!(log.requests[1].options.is_empty(), "{:?}", log.requests[1]);
    let errors: Vec<u16> = log
        .replies
        .iter()
        .filter(|(op, _)| *op == 5)
        .map(|(_, c)| *c)
        .collect();
    assert_eq!(errors, [8, 8], "replies: {:?}", log.replies);
}

/// DATA 1, then DATA 1 again and DATA 40000, every 2 ms, forever: nothing
/// in order after block 1. The flood keeps the retransmission timer from
/// expiring; the no-progress bound ((retries + 1) × timeout = 16 s with
/// `pxeinit fetch`'s defaults) ends it.
#[test]
fn tftp_wrong_block_numbers_forever() {
    let Some(lab) = lab("tftp_wrong_block_numbers_forever") else {
        return;
    };
    let log = tftp_server(&lab, |s, rrq, stop, log| {
        let block = [0x5au8; 512];
        let mut buf = [0u8; 2048];
        let mut i = 0u32;
        while !stop.load(Ordering::SeqCst) {
            let n = if i.is_multiple_of(2) { 1 } else { 40000 };
            let _ = s.send_to(&data(n, &block), rrq.from);
            i += 1;
            if let Ok((n, _)) = s.recv_from(&mut buf) {
                record(log, &buf[..n]);
                if buf[..n].starts_with(&[0, 5]) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let url = format!("tftp://{SERVER}/hostile/blocks");
    fetch_fails(&lab, &url, &[], 30.0, "no progress for");
    // The client's ERROR is its last packet: the server's thread reads it
    // a moment after the client has exited.
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(2)
        && !log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replies
            .iter()
            .any(|(op, _)| *op == 5)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let log = log.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(log.requests.len(), 1);
    assert!(
        log.replies.iter().any(|(op, _)| *op == 5),
        "no ERROR sent to the server: {:?}",
        &log.replies[log.replies.len().saturating_sub(5)..]
    );
}

/// `tsize` lies. Announced above `--max-size`: refused with ERROR 3 before
/// ACK 0, nothing downloaded. Announced below what is sent: the transfer
/// stops at the first block past it.
#[test]
fn tftp_tsize_lies() {
    let Some(lab) = lab("tftp_tsize_lies") else {
        return;
    };
    let log = tftp_server(&lab, |s, rrq, _, log| {
        let big = rrq.file.ends_with("big");
        let tsize = if big { "10737418240" } else { "1000" };
        let blksize = rrq
            .options
            .iter()
            .find(|(k, _)| k == "blksize")
            .map_or("512".to_string(), |(_, v)| v.clone());
        let _ = s.send_to(&oack(&[("tsize", tsize), ("blksize", &blksize)]), rrq.from);
        if drain(s, Duration::from_millis(300), log) || big {
            return;
        }
        let size: usize = blksize.parse().unwrap_or(512);
        for block in 1..=4u16 {
            let _ = s.send_to(&data(block, &vec![1u8; size]), rrq.from);
            if drain(s, Duration::from_millis(100), log) {
                return;
            }
        }
    });
    let url = format!("tftp://{SERVER}/hostile/big");
    fetch_fails(
        &lab,
        &url,
        &["--max-size", "1M"],
        3.0,
        "the server announces 10737418240 bytes (tsize), more than the size limit of 1048576 bytes",
    );
    std::thread::sleep(Duration::from_millis(400));
    {
        let log = log.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(log.replies, [(5, 3)], "ERROR 3 and nothing else");
    }
    let url = format!("tftp://{SERVER}/hostile/small");
    fetch_fails(
        &lab,
        &url,
        &[],
        3.0,
        "the server announced 1000 bytes (tsize) but sent",
    );
}

/// One 512-byte block a second: 512 B/s, below the 1 KiB/s minimum; with
/// `--speed-time 3` the download ends after about 3 s.
#[test]
fn tftp_trickle() {
    let Some(lab) = lab("tftp_trickle") else {
        return;
    };
    tftp_server(&lab, |s, rrq, stop, log| {
        let block = [7u8; 512];
        let mut n = 1u16;
        while !stop.load(Ordering::SeqCst) {
            let _ = s.send_to(&data(n, &block), rrq.from);
            if drain(s, Duration::from_secs(1), log) {
                return;
            }
            n = n.wrapping_add(1);
        }
    });
    let url = format!("tftp://{SERVER}/hostile/trickle");
    let o = fetch_fails(
        &lab,
        &url,
        &["--speed-time", "3", "--no-tsize", "--blksize", "512"],
        6.0,
        "too slow: ",
    );
    assert!(o
        .last_line()
        .contains("below the minimum of 1024 B/s over 3 s"));
}

// ----- HTTP ------------------------------------------------------------------

/// An HTTP server on SERVER:8080 in the lab's server namespace: for each
/// connection (numbered from 0), after the request head,
/// `answer(n, request line, stream, stop)` on its own thread. Returns the
/// number of connections so far.
fn http_server(
    lab: &Lab,
    answer: impl Fn(usize, &str, &mut TcpStream, &AtomicBool) + Send + Sync + 'static,
) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let answer = Arc::new(answer);
    lab.thread_in_server_ns(move |stop| {
        let l = TcpListener::bind((SERVER, 8080)).expect("bind :8080");
        l.set_nonblocking(true).expect("nonblocking");
        let mut handlers = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let Ok((mut s, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let n = c.fetch_add(1, Ordering::SeqCst);
            let (answer, stop) = (answer.clone(), stop.clone());
            handlers.push(std::thread::spawn(move || {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut req = Vec::new();
                let mut byte = [0u8; 1];
                while !req.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                    req.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&req).into_owned();
                let line = text.lines().next().unwrap_or_default().to_string();
                answer(n, &line, &mut s, &stop);
            }));
        }
        for h in handlers {
            let _ = h.join();
        }
    });
    lab.wait_port("tcp", 8080);
    count
}

/// Write `chunk` again and again until the client goes or the test ends.
fn forever(s: &mut TcpStream, stop: &AtomicBool, chunk: &[u8]) {
    let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
    while !stop.load(Ordering::SeqCst) {
        match s.write(chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return,
        }
    }
}

/// Neither Content-Length nor chunked, and zeros without end: the size
/// limit stops it (nothing could tell its end from a cut).
#[test]
fn http_endless_body_without_length() {
    let Some(lab) = lab("http_endless_body_without_length") else {
        return;
    };
    http_server(&lab, |_, line, s, stop| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        if line.contains("/short") {
            let _ = s.write_all(b"a short body");
            return;
        }
        forever(s, stop, &[0u8; 65536]);
    });
    // A short one is accepted (nothing tells its end from a cut), with a
    // warning naming the URL.
    let short = format!("http://{SERVER}:8080/hostile/short");
    let o = pxeinit(&lab, &["fetch", &short], Duration::from_secs(10));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!(
            "{short}: the server sent neither Content-Length nor chunked encoding"
        )),
        "{}",
        o.stderr
    );
    let url = format!("http://{SERVER}:8080/hostile/endless");
    fetch_fails(
        &lab,
        &url,
        &["--max-size", "8M"],
        10.0,
        "larger than the size limit of 8388608 bytes; stopped after 8388608 bytes",
    );
}

/// A chunk size of 2^64 - 1, then zeros without end: refused at the size
/// line (with the default limit, from MemAvailable), before any of it.
#[test]
fn http_chunk_size_ffffffffffffffff() {
    let Some(lab) = lab("http_chunk_size_ffffffffffffffff") else {
        return;
    };
    http_server(&lab, |_, _, s, stop| {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
        );
        forever(s, stop, &[0u8; 65536]);
    });
    let url = format!("http://{SERVER}:8080/hostile/chunk");
    fetch_fails(
        &lab,
        &url,
        &[],
        3.0,
        "the server announces 18446744073709551615 bytes (chunk size), more than the size limit",
    );
}

/// A body cut before its Content-Length, and a chunked body cut before
/// its last chunk: errors, no file.
#[test]
fn http_body_cut_before_content_length() {
    let Some(lab) = lab("http_body_cut_before_content_length") else {
        return;
    };
    http_server(&lab, |_, line, s, _| {
        if line.contains("/chunked") {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n");
            let _ = s.write_all(&[3u8; 1024]);
            let _ = s.write_all(b"\r\n");
        } else {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
            let _ = s.write_all(&[3u8; 1000]);
        }
        // Closed here: the connection is cut.
    });
    let url = format!("http://{SERVER}:8080/hostile/cut");
    fetch_fails(
        &lab,
        &url,
        &[],
        3.0,
        "connection closed after 1000 of 1000000 bytes",
    );
    let url = format!("http://{SERVER}:8080/hostile/chunked");
    fetch_fails(
        &lab,
        &url,
        &[],
        3.0,
        "connection closed inside a chunked body",
    );
}

/// 302 /a → /b → /c → /b ...: at most 5 redirects followed, then one line that
/// names the loop.
#[test]
fn http_redirect_loop() {
    let Some(lab) = lab("http_redirect_loop") else {
        return;
    };
    let count = http_server(&lab, |n, _, s, _| {
        let to = if n.is_multiple_of(2) {
            "/hostile/b"
        } else {
            "/hostile/c"
        };
        let _ = write!(
            s,
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n"
        );
    });
    let url = format!("http://{SERVER}:8080/hostile/a");
    fetch_fails(
        &lab,
        &url,
        &[],
        3.0,
        &format!(
            "more than 5 redirects (a redirect loop?), the last to http://{SERVER}:8080/hostile/"
        ),
    );
    assert_eq!(count.load(Ordering::SeqCst), 6, "requests made");
}

/// One byte a second (a Content-Length of 100000 that would take a day):
/// with `--speed-time 3` it ends after about 3 s, one line with the bytes,
/// the rate and the URL.
#[test]
fn http_trickle() {
    let Some(lab) = lab("http_trickle") else {
        return;
    };
    http_server(&lab, |_, _, s, stop| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        while !stop.load(Ordering::SeqCst) {
            if s.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let url = format!("http://{SERVER}:8080/hostile/trickle");
    let o = fetch_fails(&lab, &url, &["--speed-time", "3"], 6.0, "too slow: ");
    let line = o.last_line();
    assert!(
        line.contains("B/s), below the minimum of 1024 B/s over 3 s"),
        "{line}"
    );
    assert!(line.contains("bytes received"), "{line}");
}

// ----- names and schemes -----------------------------------------------------

/// `KERNEL tftp://NAME/...` is resolved with the lease's DNS server (dnsmasq
/// answers for boot.pxt.test; tftpd-hpa serves the config and the kernel on
/// that address, the next server); a config
/// naming `smb://` fails with "not supported" instead of asking TFTP for a
/// file of that name.
#[test]
fn tftp_host_names_and_other_schemes() {
    let Some(lab) = Lab::new(
        "tftp_host_names_and_other_schemes",
        &["dnsmasq", "in.tftpd"],
    ) else {
        return;
    };
    let sha = lab.put_random("images/k", 40_000, 11);
    lab.put(
        CLIENT_MAC_CFG,
        "DEFAULT k\nLABEL k\n  KERNEL tftp://boot.pxt.test/images/k\n",
    );
    lab.tftpd_hpa(SERVER2);
    lab.dnsmasq(
        false,
        &[
            "--port=53",
            "--no-resolv",
            "--no-hosts",
            "--address=/boot.pxt.test/192.168.77.2",
            "--dhcp-option=option:dns-server,192.168.77.1",
            "--dhcp-boot=pxelinux.0,,192.168.77.2",
        ],
    );
    let run = lab.pxeinit(&["--timeout", "20"], Duration::from_secs(60));
    let d = run.download("tftp://boot.pxt.test/images/k");
    assert_eq!(d["sha256"], sha.as_str(), "{}", run.stdout);
    assert_eq!(d["from"], "tftp://192.168.77.2/images/k", "{}", run.stdout);

    lab.put(
        CLIENT_MAC_CFG,
        "DEFAULT k\nLABEL k\n  KERNEL smb://192.168.77.1/images/k\n",
    );
    let run = lab.pxeinit(&["--timeout", "20"], Duration::from_secs(60));
    let err = run.error();
    assert!(
        err.contains("smb://192.168.77.1/images/k: not supported"),
        "{err}\n{}",
        run.stderr
    );
    assert!(run.secs < 30.0);
}

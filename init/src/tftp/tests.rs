//! Protocol tests of [`fetch`] against a scripted in-process server on
//! loopback: fallback, negotiation, rollover, loss, duplicates, wrong TIDs
//! and the Sorcerer's Apprentice. They need no external server; the tests
//! against tftpd-hpa, dnsmasq and an RFC 7440 server live in the `tests`
//! crate (`tests/tests/netboot.rs`; `docs/tftp-servers.md`).

use super::wire::{ErrorCode, Packet, Repr, TransferOptions};
use super::*;

use std::collections::HashSet;
use std::net::UdpSocket;
use std::thread;

/// How the scripted server answers a request.
#[derive(Clone, Debug)]
enum Answer {
    /// RFC 2347: OACK the requested options as they are.
    Honour,
    /// RFC 1350 only: DATA 1 with 512-octet blocks, lockstep.
    Ignore,
    /// Send these bytes as the reply to a request with options (then serve
    /// the retry without options normally).
    RawOack(Vec<u8>),
    /// Refuse a request with options with this error (then serve the retry
    /// without options normally).
    Refuse(ErrorCode),
    /// Answer every request with this error.
    Error(ErrorCode, &'static str),
    /// Answer every request, with options or without, with these bytes
    /// (an OACK), for at most 5 requests; then stop answering.
    OackAlways(Vec<u8>),
}

/// What the scripted server does. Block numbers are absolute (from 1).
#[derive(Clone, Debug)]
struct Script {
    file: Vec<u8>,
    answer: Answer,
    /// Blocks whose first transmission is lost.
    drop_data: Vec<u64>,
    /// Block numbers whose first ACK is lost.
    drop_ack: Vec<u16>,
    /// Send every DATA twice (network duplication).
    duplicate: bool,
    /// Before the first transmission of this block, stall this long.
    stall: Option<(u64, Duration)>,
    /// After the first transmission of this block, send a DATA from another
    /// port (a wrong TID) and record the answer.
    stray_after: Option<u64>,
    /// Announce this tsize instead of the file's size.
    tsize: Option<u64>,
    /// Send this block one octet longer than the block size.
    oversize: Option<u64>,
    /// The server's retransmission timeout.
    timeout: Duration,
    /// After the first transmission of this block, close the transfer port
    /// (the server process dies).
    die_after: Option<u64>,
    /// Answer this many requests first with ERROR 0 "too many transfers"
    /// (a server at its limit).
    busy_first: usize,
    /// Read this many requests first and answer none (dnsmasq beyond
    /// `--tftp-max`).
    ignore_first: usize,
}

impl Script {
    fn new(file: Vec<u8>) -> Script {
        Script {
            file,
            answer: Answer::Honour,
            drop_data: Vec::new(),
            drop_ack: Vec::new(),
            duplicate: false,
            stall: None,
            stray_after: None,
            tsize: None,
            oversize: None,
            timeout: Duration::from_secs(5),
            die_after: None,
            busy_first: 0,
            ignore_first: 0,
        }
    }
}

/// What the scripted server saw and did.
#[derive(Debug, Default)]
struct Log {
    /// Options of each request.
    requests: Vec<TransferOptions>,
    /// When each request arrived, and from where.
    request_times: Vec<(Instant, SocketAddr)>,
    /// DATA packets sent.
    data_sent: u64,
    /// ACK block numbers received, in order.
    acks: Vec<u16>,
    /// ERRORs received from the client.
    errors: Vec<(ErrorCode, String)>,
    /// The client's answer to the stray packet.
    stray_reply: Option<Vec<u8>>,
}

/// Starts the scripted server; the handle returns its log once the transfer
/// is over (or after 2 s without a request).
fn serve(script: Script) -> (SocketAddr, thread::JoinHandle<Log>) {
    let listen = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = listen.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let mut log = Log::default();
        listen
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut buf = vec![0; 70000];
        let mut server = Server {
            script,
            dropped: HashSet::new(),
            dropped_acks: HashSet::new(),
        };
        while let Ok((len, peer)) = listen.recv_from(&mut buf) {
            let Ok(Repr::Rrq { options, .. }) =
                Repr::parse(&Packet::new_checked(&buf[..len]).unwrap())
            else {
                continue;
            };
            log.requests.push(options);
            log.request_times.push((Instant::now(), peer));
            let n = log.requests.len();
            if n <= server.script.ignore_first {
                continue;
            }
            if n <= server.script.ignore_first + server.script.busy_first {
                let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
                let busy = Repr::Error {
                    code: ErrorCode::NotDefined,
                    msg: "too many transfers",
                };
                send(&socket, peer, &busy);
                continue;
            }
            if server.transfer(peer, options, &mut log) {
                break;
            }
        }
        log
    });
    (addr, handle)
}

struct Server {
    script: Script,
    dropped: HashSet<u64>,
    dropped_acks: HashSet<u16>,
}

fn send(socket: &UdpSocket, to: SocketAddr, repr: &Repr<'_>) {
    let mut bytes = vec![0; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut bytes[..]));
    socket.send_to(&bytes, to).unwrap();
}

impl Server {
    /// Serves one request from a new port; true if the test's transfer is
    /// over.
    fn transfer(&mut self, peer: SocketAddr, options: TransferOptions, log: &mut Log) -> bool {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(self.script.timeout)).unwrap();
        let with_options = !options.is_empty();
        let (blksize, windowsize, oack) = match self.script.answer.clone() {
            Answer::Error(code, msg) => {
                send(&socket, peer, &Repr::Error { code, msg });
                return true;
            }
            Answer::Refuse(code) if with_options => {
                send(
                    &socket,
                    peer,
                    &Repr::Error {
                        code,
                        msg: "no options",
                    },
                );
                return false;
            }
            Answer::OackAlways(bytes) => {
                if log.requests.len() > 5 {
                    return true;
                }
                socket.send_to(&bytes, peer).unwrap();
                self.wait_ack0(&socket, log);
                return false;
            }
            Answer::RawOack(bytes) if with_options => {
                socket.send_to(&bytes, peer).unwrap();
                self.wait_ack0(&socket, log);
                return false;
            }
            Answer::Honour if with_options => {
                let oack = TransferOptions {
                    tsize: options
                        .tsize
                        .map(|_| self.script.tsize.unwrap_or(self.script.file.len() as u64)),
                    ..options
                };
                (
                    options.blksize.unwrap_or(512),
                    options.windowsize.unwrap_or(1),
                    Some(oack),
                )
            }
            _ => (512, 1, None),
        };
        if let Some(options) = oack {
            let mut tries = 0;
            loop {
                send(&socket, peer, &Repr::Oack { options });
                match self.wait_ack0(&socket, log) {
                    Some(true) => break,
                    Some(false) => return true,
                    None if tries < 5 => tries += 1,
                    None => return true,
                }
            }
        }
        self.send_file(&socket, peer, blksize, windowsize, log);
        true
    }

    /// Waits for ACK 0: Some(true) on ACK 0, Some(false) on ERROR, None on
    /// timeout.
    fn wait_ack0(&mut self, socket: &UdpSocket, log: &mut Log) -> Option<bool> {
        let mut buf = [0; 1024];
        loop {
            let (len, _) = socket.recv_from(&mut buf).ok()?;
            match Repr::parse(&Packet::new_checked(&buf[..len]).ok()?) {
                Ok(Repr::Ack { block: 0 }) => {
                    log.acks.push(0);
                    return Some(true);
                }
                Ok(Repr::Error { code, msg }) => {
                    log.errors.push((code, msg.to_owned()));
                    return Some(false);
                }
                _ => {}
            }
        }
    }

    /// Go-back-N sender: sends the window after the last ACK, and again
    /// after every ACK in or just before it (like tftpd-hpa, a repeated ACK
    /// of the block before the window resends the window; this is the
    /// classic behaviour the client must not trigger twice).
    fn send_file(
        &mut self,
        socket: &UdpSocket,
        peer: SocketAddr,
        blksize: u16,
        windowsize: u16,
        log: &mut Log,
    ) {
        let blksize = usize::from(blksize);
        let blocks = (self.script.file.len() / blksize + 1) as u64;
        let mut base = 0u64;
        let mut buf = [0; 1024];
        let mut timeouts = 0;
        loop {
            let end = (base + u64::from(windowsize)).min(blocks);
            for block in base + 1..=end {
                self.send_block(socket, peer, block, blksize, log);
                if self.script.die_after == Some(block) {
                    return;
                }
            }
            loop {
                let Ok((len, from)) = socket.recv_from(&mut buf) else {
                    timeouts += 1;
                    if timeouts > 10 {
                        return;
                    }
                    break;
                };
                assert_eq!(from, peer, "the client changed its TID");
                match Repr::parse(&Packet::new_checked(&buf[..len]).unwrap()) {
                    Ok(Repr::Ack { block }) => {
                        log.acks.push(block);
                        if self.script.drop_ack.contains(&block) && self.dropped_acks.insert(block)
                        {
                            continue;
                        }
                        let advance = u64::from(block.wrapping_sub(base as u16));
                        if advance <= u64::from(windowsize) {
                            base += advance;
                            timeouts = 0;
                            if base == blocks {
                                return;
                            }
                            break;
                        }
                    }
                    Ok(Repr::Error { code, msg }) => {
                        log.errors.push((code, msg.to_owned()));
                        return;
                    }
                    other => panic!("unexpected {:?}", other),
                }
            }
        }
    }

    fn send_block(
        &mut self,
        socket: &UdpSocket,
        peer: SocketAddr,
        block: u64,
        blksize: usize,
        log: &mut Log,
    ) {
        let file = &self.script.file;
        let start = ((block - 1) as usize * blksize).min(file.len());
        let end = (start + blksize).min(file.len());
        let mut data = file[start..end].to_vec();
        if self.script.oversize == Some(block) {
            data.resize(blksize + 1, 0);
        }
        let first = self.dropped.insert(block);
        if first {
            if let Some((_, stall)) = self.script.stall.filter(|&(b, _)| b == block) {
                thread::sleep(stall);
            }
            if self.script.drop_data.contains(&block) {
                return;
            }
        }
        let repr = Repr::Data {
            block: block as u16,
            data: &data,
        };
        for _ in 0..if self.script.duplicate { 2 } else { 1 } {
            send(socket, peer, &repr);
            log.data_sent += 1;
        }
        if first && self.script.stray_after == Some(block) {
            let stray = UdpSocket::bind("127.0.0.1:0").unwrap();
            stray
                .set_read_timeout(Some(Duration::from_secs(1)))
                .unwrap();
            send(
                &stray,
                peer,
                &Repr::Data {
                    block: (block + 1) as u16,
                    data: b"junk",
                },
            );
            let mut buf = [0; 1024];
            if let Ok((len, _)) = stray.recv_from(&mut buf) {
                log.stray_reply = Some(buf[..len].to_vec());
            }
        }
    }
}

/// Deterministic test data.
fn file(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn options(blksize: u16, windowsize: u16) -> Options {
    Options {
        blksize,
        windowsize,
        ..Options::default()
    }
}

/// Fetches from a scripted server into memory.
fn run(script: Script, opts: &Options) -> (Result<Stats, TftpError>, Vec<u8>, Log) {
    let (addr, server) = serve(script);
    let mut sink = Vec::new();
    let result = fetch(addr, "test/file", &mut sink, opts, &mut |_, _| {});
    let log = server.join().unwrap();
    (result, sink, log)
}

#[test]
fn sizes_around_block_boundaries() {
    for (blksize, windowsize) in [(512, 1), (100, 1), (100, 4), (100, 16)] {
        for len in [0, 1, 99, 100, 101, 511, 512, 513, 1024, 1025, 1600, 1601] {
            let data = file(len);
            let (result, got, _) = run(Script::new(data.clone()), &options(blksize, windowsize));
            let stats = result.unwrap();
            assert_eq!(
                got, data,
                "len {} blksize {} windowsize {}",
                len, blksize, windowsize
            );
            assert_eq!(stats.bytes, len as u64);
            assert_eq!(stats.tsize, Some(len as u64));
            assert_eq!((stats.blksize, stats.windowsize), (blksize, windowsize));
            assert_eq!(stats.retransmits, 0);
        }
    }
}

#[test]
fn falls_back_when_the_server_ignores_options() {
    let data = file(1500);
    let script = Script {
        answer: Answer::Ignore,
        ..Script::new(data.clone())
    };
    let (result, got, log) = run(script, &Options::default());
    let stats = result.unwrap();
    assert_eq!(got, data);
    assert_eq!(
        (stats.blksize, stats.windowsize, stats.tsize),
        (512, 1, None)
    );
    assert_eq!(log.requests.len(), 1);
    assert_eq!(log.acks, [1, 2, 3]);
}

#[test]
fn oack_is_acknowledged_with_ack_0() {
    let (result, _, log) = run(Script::new(file(10)), &Options::default());
    result.unwrap();
    assert_eq!(log.acks, [0, 1]);
}

#[test]
fn retries_without_options_after_error_8() {
    let data = file(600);
    let script = Script {
        answer: Answer::Refuse(ErrorCode::OptionNegotiation),
        ..Script::new(data.clone())
    };
    let (result, got, log) = run(script, &Options::default());
    assert_eq!(result.unwrap().blksize, 512);
    assert_eq!(got, data);
    assert_eq!(log.requests.len(), 2);
    assert!(log.requests[1].is_empty());
}

#[test]
fn refuses_a_larger_blksize_with_error_8() {
    let data = file(600);
    let script = Script {
        answer: Answer::RawOack(b"\x00\x06blksize\x002000\x00".to_vec()),
        ..Script::new(data.clone())
    };
    let (result, got, log) = run(script, &Options::default());
    assert_eq!(got, data);
    assert_eq!(result.unwrap().blksize, 512);
    assert_eq!(log.errors.len(), 1);
    assert_eq!(log.errors[0].0, ErrorCode::OptionNegotiation);
    assert_eq!(log.requests.len(), 2);
}

#[test]
fn refuses_a_malformed_oack() {
    let data = file(600);
    let script = Script {
        answer: Answer::RawOack(b"\x00\x06blksize\x00abc\x00".to_vec()),
        ..Script::new(data.clone())
    };
    let (result, got, log) = run(script, &Options::default());
    assert_eq!(got, data);
    assert_eq!(result.unwrap().blksize, 512);
    assert_eq!(log.errors[0].0, ErrorCode::OptionNegotiation);
}

#[test]
fn refuses_an_unrequested_option() {
    let script = Script {
        answer: Answer::RawOack(b"\x00\x06windowsize\x008\x00".to_vec()),
        ..Script::new(file(10))
    };
    let (result, _, log) = run(script, &options(1468, 1));
    result.unwrap();
    assert_eq!(log.errors[0].0, ErrorCode::OptionNegotiation);
}

/// A server answering every request with an OACK, the request without
/// options too: one retry without options, then ERROR 8 and a clear
/// failure (it used to ask again forever).
#[test]
fn an_oack_to_a_request_without_options_fails_the_file() {
    for oack in [
        &b"\x00\x06blksize\x002000\x00"[..],
        b"\x00\x06blksize\x00abc\x00",
    ] {
        let script = Script {
            answer: Answer::OackAlways(oack.to_vec()),
            ..Script::new(file(600))
        };
        let (addr, server) = serve(script);
        let mut got = Vec::new();
        let started = Instant::now();
        let result = fetch(addr, "f", &mut got, &Options::default(), &mut |_, _| {});
        let took = started.elapsed();
        let log = server.join().unwrap();
        let err = result.unwrap_err();
        assert!(
            matches!(err, TftpError::Protocol { .. }),
            "{oack:?}: {err:?}"
        );
        assert!(
            err.to_string()
                .contains("request without options with an OACK"),
            "{err}"
        );
        assert!(got.is_empty());
        assert_eq!(
            log.requests.len(),
            2,
            "{oack:?}: requests {:?}",
            log.requests
        );
        assert!(!log.requests[0].is_empty() && log.requests[1].is_empty());
        let codes: Vec<_> = log.errors.iter().map(|e| e.0).collect();
        assert_eq!(
            codes,
            [ErrorCode::OptionNegotiation, ErrorCode::OptionNegotiation],
            "{oack:?}"
        );
        assert!(took < Duration::from_secs(1), "took {took:?}");
    }
}

/// Without options requested at all (a long name, or `Options` at the RFC
/// 1350 defaults), an OACK fails the file at once: no retry.
#[test]
fn an_oack_to_a_plain_request_is_not_retried() {
    let script = Script {
        answer: Answer::OackAlways(b"\x00\x06tsize\x00600\x00".to_vec()),
        ..Script::new(file(600))
    };
    let plain = Options {
        blksize: 512,
        windowsize: 1,
        tsize: false,
        utimeout: None,
        ..Options::default()
    };
    // `timeout` is always requested; a long name leaves no room for it.
    let name = "n".repeat(500);
    let (addr, server) = serve(script);
    let err = fetch(addr, &name, &mut Vec::new(), &plain, &mut |_, _| {}).unwrap_err();
    let log = server.join().unwrap();
    assert!(matches!(err, TftpError::Protocol { .. }), "{err:?}");
    assert_eq!(log.requests.len(), 1);
    assert_eq!(log.errors[0].0, ErrorCode::OptionNegotiation);
}

/// A `tsize` above `max_size` is refused with ERROR 3 before ACK 0.
#[test]
fn a_tsize_above_the_limit_is_refused_before_any_data() {
    for (tsize, file_len) in [(None, 5000), (Some(1 << 40), 100)] {
        let script = Script {
            tsize,
            ..Script::new(file(file_len))
        };
        let opts = Options {
            max_size: Some(4096),
            ..options(100, 4)
        };
        let (result, got, log) = run(script, &opts);
        let err = result.unwrap_err();
        assert!(
            matches!(err, TftpError::TooLarge { limit: 4096, .. }),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .contains("more than the size limit of 4096 bytes"));
        assert!(got.is_empty());
        assert!(log.acks.is_empty(), "ACKs {:?}", log.acks);
        assert_eq!(log.errors[0].0, ErrorCode::DiskFull);
    }
}

/// A server repeating a block the client has already acknowledged, without
/// pause and forever: the client re-ACKs it now and then (it looks like the
/// server's retransmission), but gives up after the no-progress bound
/// instead of staying forever.
#[test]
fn wrong_block_numbers_forever_end_the_transfer() {
    let listen = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = listen.local_addr().unwrap();
    let server = thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let (_, peer) = listen.recv_from(&mut buf).unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let block = [7u8; 512];
        let started = Instant::now();
        let mut sent = 0u32;
        // DATA 1, then DATA 1 again and again (and a wrong number now and
        // then), for at most 20 s.
        while started.elapsed() < Duration::from_secs(20) {
            let n = if sent % 10 == 9 { 9999 } else { 1 };
            send(
                &socket,
                peer,
                &Repr::Data {
                    block: n,
                    data: &block,
                },
            );
            sent += 1;
            if let Ok((len, _)) = socket.recv_from(&mut buf) {
                if let Ok(Repr::Error { code, .. }) =
                    Repr::parse(&Packet::new_checked(&buf[..len]).unwrap())
                {
                    return (sent, Some(code));
                }
            }
            thread::sleep(Duration::from_millis(2));
        }
        (sent, None)
    });
    let opts = Options {
        timeout: Duration::from_millis(100),
        retries: 3,
        ..Options::default()
    };
    let started = Instant::now();
    let err = fetch(addr, "f", &mut Vec::new(), &opts, &mut |_, _| {}).unwrap_err();
    let took = started.elapsed();
    let (sent, code) = server.join().unwrap();
    assert!(matches!(err, TftpError::Protocol { .. }), "{err:?}");
    assert!(err.to_string().contains("no progress"), "{err}");
    assert!(err.to_string().contains("block 2"), "{err}");
    // The bound is (retries + 1) × timeout = 400 ms.
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert!(sent > 20, "the server sent only {sent} packets");
    assert_eq!(code, Some(ErrorCode::NotDefined));
}

#[test]
fn not_found_returns_at_once() {
    let script = Script {
        answer: Answer::Error(ErrorCode::FileNotFound, "File not found"),
        ..Script::new(Vec::new())
    };
    let started = Instant::now();
    let (result, _, log) = run(script, &Options::default());
    let err = result.unwrap_err();
    assert!(err.is_not_found(), "{:?}", err);
    assert!(started.elapsed() < Duration::from_millis(200));
    assert_eq!(log.requests.len(), 1);
    let text = err.to_string();
    assert!(text.contains("127.0.0.1"), "{}", text);
    assert!(text.contains("test/file"), "{}", text);
    assert!(text.contains("File not found"), "{}", text);
}

#[test]
fn other_server_errors_keep_code_and_message() {
    let script = Script {
        answer: Answer::Error(ErrorCode::AccessViolation, "Permission denied"),
        ..Script::new(Vec::new())
    };
    let (result, _, _) = run(script, &Options::default());
    match result {
        Err(TftpError::Server { code, message, .. }) => {
            assert_eq!(code, ErrorCode::AccessViolation);
            assert_eq!(message, "Permission denied");
        }
        other => panic!("{:?}", other),
    }
}

#[test]
fn block_numbers_wrap_to_0() {
    // 65536 + 3 blocks of 8 octets, last one short.
    let data = file(8 * 65538 + 5);
    let (result, got, _) = run(Script::new(data.clone()), &options(8, 64));
    assert_eq!(result.unwrap().bytes, data.len() as u64);
    assert!(got == data, "content differs after the rollover");
}

#[test]
fn a_lost_block_costs_milliseconds() {
    // The server would retransmit only after 5 s: the client's timer
    // must recover, in lockstep and in a window.
    for windowsize in [1, 8] {
        for lost in [1, 5, 8, 9] {
            let data = file(20 * 100);
            let script = Script {
                drop_data: vec![lost],
                ..Script::new(data.clone())
            };
            let started = Instant::now();
            let (result, got, _) = run(script, &options(100, windowsize));
            assert_eq!(got, data);
            assert!(result.unwrap().retransmits >= 1);
            assert!(
                started.elapsed() < Duration::from_millis(1000),
                "windowsize {} lost block {} took {:?}",
                windowsize,
                lost,
                started.elapsed()
            );
        }
    }
}

#[test]
fn a_lost_ack_costs_milliseconds() {
    let data = file(20 * 100);
    let script = Script {
        drop_ack: vec![0, 3, 16],
        ..Script::new(data.clone())
    };
    let started = Instant::now();
    let (result, got, _) = run(script, &options(100, 8));
    assert_eq!(got, data);
    result.unwrap();
    assert!(started.elapsed() < Duration::from_millis(1000));
}

#[test]
fn a_gap_in_a_window_is_acked_once() {
    let data = file(16 * 100);
    let script = Script {
        drop_data: vec![3],
        ..Script::new(data.clone())
    };
    let (result, got, log) = run(script, &options(100, 16));
    assert_eq!(got, data);
    assert_eq!(result.unwrap().retransmits, 1);
    // ACK 0 (OACK), one ACK 2 for the gap, then the final block of the
    // window resent from 3.
    assert_eq!(log.acks, [0, 2, 17]);
}

#[test]
fn duplicated_packets_are_ignored() {
    let data = file(50 * 100);
    for windowsize in [1, 4] {
        let script = Script {
            duplicate: true,
            ..Script::new(data.clone())
        };
        let (result, got, log) = run(script, &options(100, windowsize));
        assert_eq!(got, data);
        assert_eq!(result.unwrap().retransmits, 0);
        // One ACK per window: duplicates got no answer.
        assert_eq!(
            log.acks.len(),
            1 + 51usize.div_ceil(usize::from(windowsize))
        );
    }
}

#[test]
fn no_sorcerers_apprentice() {
    // The server stalls before block 10 for longer than the client's RTO,
    // so the client retransmits ACK 9; this server answers every repeated
    // ACK with the block again. The duplicates of block 10 must not be
    // acknowledged, or every following block would be sent twice.
    let data = file(100 * 100);
    let script = Script {
        stall: Some((10, Duration::from_millis(150))),
        ..Script::new(data.clone())
    };
    let (result, got, log) = run(script, &options(100, 1));
    assert_eq!(got, data);
    let stats = result.unwrap();
    assert!(stats.retransmits >= 1, "{:?}", stats);
    assert!(
        log.data_sent <= 101 + 6,
        "{} DATA packets for 101 blocks",
        log.data_sent
    );
}

#[test]
fn a_wrong_tid_gets_error_5() {
    let data = file(10 * 100);
    let script = Script {
        stray_after: Some(3),
        ..Script::new(data.clone())
    };
    let (result, got, log) = run(script, &options(100, 1));
    result.unwrap();
    assert_eq!(got, data);
    let reply = log.stray_reply.expect("no answer to the stray packet");
    assert_eq!(
        Repr::parse(&Packet::new_checked(&reply[..]).unwrap()),
        Ok(Repr::Error {
            code: ErrorCode::UnknownTid,
            msg: "Unknown transfer ID"
        })
    );
}

#[test]
fn tsize_is_checked() {
    let script = Script {
        tsize: Some(1001),
        ..Script::new(file(1000))
    };
    match run(script, &options(100, 4)).0 {
        Err(TftpError::TsizeMismatch {
            expected: 1001,
            got: 1000,
            ..
        }) => {}
        other => panic!("{:?}", other),
    }
    let script = Script {
        tsize: Some(999),
        ..Script::new(file(1000))
    };
    let (result, got, log) = run(script, &options(100, 4));
    assert!(matches!(
        result,
        Err(TftpError::TsizeMismatch { expected: 999, .. })
    ));
    assert!(got.len() <= 1000);
    assert_eq!(log.errors.len(), 1);
}

#[test]
fn an_oversized_block_is_a_protocol_error() {
    let script = Script {
        oversize: Some(2),
        ..Script::new(file(1000))
    };
    let (result, _, log) = run(script, &options(100, 1));
    assert!(
        matches!(result, Err(TftpError::Protocol { .. })),
        "{:?}",
        result
    );
    assert_eq!(log.errors[0].0, ErrorCode::IllegalOperation);
}

#[test]
fn a_failing_sink_sends_error_3() {
    struct Full(usize);
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 < buf.len() {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "tmpfs is full"));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let (addr, server) = serve(Script::new(file(1000)));
    let result = fetch(addr, "f", &mut Full(250), &options(100, 1), &mut |_, _| {});
    let log = server.join().unwrap();
    assert!(
        matches!(result, Err(TftpError::Sink { .. })),
        "{:?}",
        result
    );
    assert_eq!(log.errors[0].0, ErrorCode::DiskFull);
}

#[test]
fn a_missing_server_is_reported_at_once() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let started = Instant::now();
    let err = fetch(
        port,
        "f",
        &mut Vec::new(),
        &Options::default(),
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, TftpError::Unreachable { received: 0, .. }),
        "{:?}",
        err
    );
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[test]
fn a_server_dying_mid_transfer_is_reported_at_once() {
    let script = Script {
        die_after: Some(5),
        ..Script::new(file(20 * 100))
    };
    let started = Instant::now();
    let (result, _, _) = run(script, &options(100, 1));
    assert!(
        matches!(result, Err(TftpError::Unreachable { received: 500, .. })),
        "{:?}",
        result
    );
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[test]
fn a_silent_server_times_out() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let opts = Options {
        timeout: Duration::from_millis(40),
        initial_rto: Duration::from_millis(10),
        retries: 3,
        ..Options::default()
    };
    let started = Instant::now();
    let err = fetch(
        silent.local_addr().unwrap(),
        "pxelinux.cfg/default",
        &mut Vec::new(),
        &opts,
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, TftpError::Timeout { received: 0, .. }),
        "{:?}",
        err
    );
    assert!(started.elapsed() < Duration::from_millis(500));
    // The RRQ was sent 1 + 3 times.
    let mut buf = [0; 600];
    silent.set_nonblocking(true).unwrap();
    let mut requests = 0;
    while silent.recv_from(&mut buf).is_ok() {
        requests += 1;
    }
    assert_eq!(requests, 4);
    assert!(err.to_string().contains("pxelinux.cfg/default"));
}

#[test]
fn progress_reports_every_block() {
    let (addr, server) = serve(Script::new(file(250)));
    let mut calls = Vec::new();
    fetch(
        addr,
        "f",
        &mut Vec::new(),
        &options(100, 1),
        &mut |bytes, tsize| calls.push((bytes, tsize)),
    )
    .unwrap();
    server.join().unwrap();
    let tsize = Some(250);
    assert_eq!(
        calls,
        [(0, tsize), (100, tsize), (200, tsize), (250, tsize)]
    );
}

#[test]
fn a_long_name_is_requested_without_options() {
    let name = "x".repeat(490);
    let (addr, server) = serve(Script::new(file(700)));
    let stats = fetch(
        addr,
        &name,
        &mut Vec::new(),
        &Options::default(),
        &mut |_, _| {},
    )
    .unwrap();
    let log = server.join().unwrap();
    assert!(log.requests[0].is_empty());
    assert_eq!((stats.blksize, stats.bytes), (512, 700));
}

#[test]
fn invalid_requests_are_refused_locally() {
    let addr: SocketAddr = "127.0.0.1:69".parse().unwrap();
    for path in ["", "a\0b", &"x".repeat(600)] {
        let err = fetch(
            addr,
            path,
            &mut Vec::new(),
            &Options::default(),
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(err, TftpError::InvalidRequest { .. }), "{:?}", err);
    }
}

#[test]
fn options_for_mtu() {
    assert_eq!(Options::for_mtu(1500).blksize, 1468);
    assert_eq!(Options::for_mtu(9000).blksize, 8968);
    assert_eq!(Options::for_mtu(65536).blksize, 65464);
    assert_eq!(Options::for_mtu(576).blksize, 544);
    assert_eq!(Options::for_mtu(100).blksize, 512);
}

#[test]
fn requested_options() {
    let opts = Options::default();
    assert_eq!(
        opts.requested(),
        TransferOptions {
            blksize: Some(1468),
            timeout: Some(1),
            tsize: Some(0),
            windowsize: Some(16),
            utimeout: Some(100_000),
        }
    );
    let opts = Options {
        blksize: 512,
        windowsize: 1,
        tsize: false,
        timeout: Duration::from_millis(2500),
        utimeout: None,
        ..Options::default()
    };
    assert_eq!(
        opts.requested(),
        TransferOptions {
            timeout: Some(3),
            ..TransferOptions::default()
        }
    );
}

#[test]
fn rto_follows_rfc_6298() {
    let mut rto = RtoEstimator::new(Duration::from_millis(500), Duration::from_secs(1));
    assert_eq!(rto.rto(), Duration::from_millis(500));
    rto.sample(Duration::from_millis(100));
    // SRTT 100, RTTVAR 50: RTO = 100 + 200.
    assert_eq!(rto.rto(), Duration::from_millis(300));
    rto.sample(Duration::from_millis(100));
    // RTTVAR = 3/4·50 + 1/4·0 = 37.5; RTO = 100 + 150.
    assert_eq!(rto.rto(), Duration::from_millis(250));
    rto.back_off();
    assert_eq!(rto.rto(), Duration::from_millis(500));
    rto.back_off();
    rto.back_off();
    assert_eq!(rto.rto(), Duration::from_secs(1), "capped by the maximum");
    rto.progress();
    // A LAN: the floor applies.
    for _ in 0..100 {
        rto.sample(Duration::from_micros(200));
    }
    assert_eq!(rto.rto(), MIN_RTO);
    // A maximum below the floor wins.
    let rto = RtoEstimator::new(Duration::from_millis(500), Duration::from_millis(5));
    assert_eq!(rto.rto(), Duration::from_millis(5));
}

/// Options for the busy-server tests: fast timers, `busy_wait` as given.
fn busy_options(busy_wait: Duration, known_up: bool) -> Options {
    Options {
        initial_rto: Duration::from_millis(20),
        timeout: Duration::from_millis(100),
        retries: 2,
        busy_wait,
        known_up,
        patient_rto: Duration::from_millis(20),
        ..options(100, 1)
    }
}

/// A server at its limit answers ERROR 0 "too many transfers": the
/// request goes again from the same port on a growing, jittered backoff
/// until it is served.
#[test]
fn a_busy_server_is_asked_again_until_it_serves() {
    let data = file(1000);
    let script = Script {
        busy_first: 4,
        ..Script::new(data.clone())
    };
    let opts = busy_options(Duration::from_secs(20), false);
    let (result, got, log) = run(script, &opts);
    let stats = result.unwrap();
    assert_eq!(got, data);
    assert_eq!((stats.requests, stats.refusals), (5, 4));
    assert_eq!(log.requests.len(), 5);
    let ports: HashSet<SocketAddr> = log.request_times.iter().map(|(_, p)| *p).collect();
    assert_eq!(ports.len(), 1, "the requests came from several ports");
    // Intervals: nominally 20, 40, 80, 160 ms, each within ±50 % (and
    // some scheduling delay on a loaded machine).
    let t: Vec<Instant> = log.request_times.iter().map(|(t, _)| *t).collect();
    for (i, w) in t.windows(2).enumerate() {
        let gap = w[1] - w[0];
        let nominal = 20u64 << i;
        assert!(
            gap >= Duration::from_millis(nominal / 2)
                && gap < Duration::from_millis(nominal * 3 / 2 + 60),
            "request {}: {gap:?} after the one before (nominal {nominal} ms)",
            i + 2
        );
    }
    assert!(stats.waited >= t[4] - t[0]);
}

/// A server known to be up that reads requests but answers none for a
/// while (dnsmasq beyond `--tftp-max`) is asked again on the backoff, not
/// given up after `retries`, and the first answer to any copy counts.
#[test]
fn a_silent_server_known_up_is_waited_for() {
    let data = file(300);
    let script = Script {
        ignore_first: 6,
        ..Script::new(data.clone())
    };
    let opts = Options {
        retries: 2,
        ..busy_options(Duration::from_secs(20), true)
    };
    let (result, got, log) = run(script, &opts);
    let stats = result.unwrap();
    assert_eq!(got, data);
    assert_eq!(stats.requests, 7);
    assert_eq!(stats.refusals, 0);
    assert_eq!(log.requests.len(), 7);
    // Not known to be up: the same server is given up after 1 + 2 requests.
    let script = Script {
        ignore_first: 6,
        ..Script::new(data)
    };
    let started = Instant::now();
    let (result, _, log) = run(
        script,
        &Options {
            retries: 2,
            ..busy_options(Duration::from_secs(20), false)
        },
    );
    let err = result.unwrap_err();
    assert!(
        matches!(err, TftpError::Timeout { received: 0, .. }),
        "{err:?}"
    );
    assert_eq!(log.requests.len(), 3);
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// A server that stays busy, or stays silent while known to be up: the
/// fetch ends after `busy_wait` with one line naming the server and the
/// file and saying it never served the request (not "file not found").
#[test]
fn a_server_that_stays_busy_fails_after_busy_wait() {
    let script = Script {
        busy_first: 1000,
        ..Script::new(file(10))
    };
    let opts = busy_options(Duration::from_millis(600), false);
    let started = Instant::now();
    let (addr, server) = serve(script);
    let err = fetch(
        addr,
        "pxelinux.cfg/default",
        &mut Vec::new(),
        &opts,
        &mut |_, _| {},
    )
    .unwrap_err();
    let took = started.elapsed();
    drop(server);
    assert!(!err.is_not_found());
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "tftp://{addr}/pxelinux.cfg/default: the TFTP server stayed busy: "
        )),
        "{text}"
    );
    assert!(text.contains("\"too many transfers\""), "{text}");
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_millis(1500),
        "{took:?}"
    );

    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let opts = busy_options(Duration::from_millis(700), true);
    let started = Instant::now();
    let err = fetch(addr, "k", &mut Vec::new(), &opts, &mut |_, _| {}).unwrap_err();
    let took = started.elapsed();
    let TftpError::NoAnswer {
        requests,
        busy: None,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    // 20, 40, 80, 160, 320 ms nominal: 5 or 6 requests in 700 ms.
    assert!((4..=7).contains(requests), "{requests} requests");
    assert!(
        err.to_string().starts_with(&format!(
            "tftp://{addr}/k: the TFTP server never answered: {requests} requests over 1 s"
        )),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_millis(1200),
        "{took:?}"
    );
}

/// With `busy_wait` zero a busy ERROR is an error like any other.
#[test]
fn busy_wait_zero_fails_at_once() {
    let script = Script {
        busy_first: 1000,
        ..Script::new(file(10))
    };
    let opts = busy_options(Duration::ZERO, true);
    let started = Instant::now();
    let (addr, server) = serve(script);
    let err = fetch(addr, "f", &mut Vec::new(), &opts, &mut |_, _| {}).unwrap_err();
    drop(server);
    assert!(
        matches!(
            err,
            TftpError::Server {
                code: ErrorCode::NotDefined,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[test]
fn busy_errors() {
    for (code, msg) in [
        (ErrorCode::NotDefined, "too many transfers"),
        (ErrorCode::NotDefined, "Server busy, try again later"),
        (ErrorCode::NotDefined, "Maximum number of sessions reached"),
        (ErrorCode::NotDefined, "out of memory"),
        (ErrorCode::DiskFull, ""),
        (ErrorCode::DiskFull, "Disk full or allocation exceeded"),
    ] {
        assert!(is_busy(code, msg), "{code} {msg:?}");
    }
    for (code, msg) in [
        (ErrorCode::NotDefined, ""),
        (ErrorCode::NotDefined, "Only octet mode supported"),
        (ErrorCode::FileNotFound, "too many transfers"),
        (ErrorCode::AccessViolation, "Permission denied"),
        (ErrorCode::OptionNegotiation, "busy"),
    ] {
        assert!(!is_busy(code, msg), "{code} {msg:?}");
    }
}

#[test]
fn utimeout_from_the_round_trip() {
    let ms = Duration::from_millis;
    let us = Duration::from_micros;
    // A LAN: the floor.
    assert_eq!(utimeout_for(us(80), us(40)), MIN_UTIMEOUT);
    // A TCG guest at 0.4 ms per round trip, little jitter: still the floor.
    assert_eq!(utimeout_for(us(400), us(200)), MIN_UTIMEOUT);
    // A guest answering in 5 ms with 3 ms of jitter: 2 × (5 + 12) ms.
    assert_eq!(utimeout_for(ms(5), ms(3)), ms(34));
    // Rounded up to the millisecond; at most 100 ms, the unmeasured
    // default (a round trip measured under load must not slow every loss).
    assert_eq!(utimeout_for(us(5001), ms(3)), ms(35));
    assert_eq!(utimeout_for(ms(40), ms(20)), MAX_UTIMEOUT);
    assert_eq!(utimeout_for(ms(400), ms(300)), MAX_UTIMEOUT);
    // A client seen to stall 700 ms: tftpd-hpa must wait out 1.4 s in
    // its 63 intervals, so at least 23 ms.
    assert_eq!(utimeout_tolerating(ms(700)), ms(23));
    assert_eq!(utimeout_tolerating(ms(20)), ms(1));
    assert_eq!(utimeout_tolerating(Duration::ZERO), Duration::ZERO);
}

/// A busy server serves a later copy of a request and then, late, the
/// first copy too: the socket lingers after the transfer and answers that
/// OACK with ERROR 5, so the server frees its slot at once.
#[test]
fn late_answers_to_request_copies_get_error_5() {
    let listen = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = listen.local_addr().unwrap();
    let server = thread::spawn(move || {
        listen
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut buf = [0; 600];
        // The first copy is read and left unanswered; the second is served.
        let (_, first) = listen.recv_from(&mut buf).unwrap();
        let (_, second) = listen.recv_from(&mut buf).unwrap();
        assert_eq!(first, second, "the copies came from different ports");
        // Served late, as from a queue (an answer right after the last
        // copy would say the first copy was lost instead).
        thread::sleep(Duration::from_millis(150));
        let t = UdpSocket::bind("127.0.0.1:0").unwrap();
        t.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        send(
            &t,
            second,
            &Repr::Data {
                block: 1,
                data: b"hello",
            },
        );
        let (n, _) = t.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &[0, 4, 0, 1]);
        thread::sleep(Duration::from_millis(100));
        let late = UdpSocket::bind("127.0.0.1:0").unwrap();
        late.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let options = TransferOptions {
            tsize: Some(5),
            ..TransferOptions::default()
        };
        send(&late, first, &Repr::Oack { options });
        let (n, _) = late.recv_from(&mut buf).unwrap();
        buf[..n].to_vec()
    });
    let opts = Options {
        patient_rto: Duration::from_millis(300),
        ..busy_options(Duration::from_secs(5), true)
    };
    let mut got = Vec::new();
    let stats = fetch(addr, "f", &mut got, &opts, &mut |_, _| {}).unwrap();
    assert_eq!(got, b"hello");
    assert_eq!(stats.requests, 2);
    // The pipeline's end waits for that late answer (other tests' copies
    // may be outstanding too: only bounded here).
    let started = Instant::now();
    settle(Duration::from_millis(500));
    assert!(started.elapsed() < Duration::from_secs(1));
    let reply = server.join().unwrap();
    assert!(reply.starts_with(&[0, 5, 0, 5]), "{reply:?}");
}

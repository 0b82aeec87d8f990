//! TFTP client for boot files: RFC 1350 with options (RFC 2347), `blksize`
//! (RFC 2348), `timeout` and `tsize` (RFC 2349) and `windowsize` (RFC 7440).
//!
//! [`fetch`] downloads one file in octet mode and streams every block into a
//! [`std::io::Write`] as it arrives; nothing is buffered beyond one datagram.
//! The packet codec lives in [`wire`] and does no I/O.
//!
//! # Protocol
//!
//! - **Request** (RFC 1350 §4, RFC 2347 §2): one RRQ, sent again from the
//!   same port on a jittered exponential backoff from
//!   [`Options::initial_rto`] until the first reply: up to
//!   [`Options::timeout`] apart and [`Options::retries`] times for a server
//!   nothing is known of, up to [`MAX_REQUEST_INTERVAL`] apart for
//!   [`Options::busy_wait`] for one that is busy (a busy-sounding ERROR,
//!   [`is_busy`]) or known to be up ([`Options::known_up`]: dnsmasq beyond
//!   `--tftp-max` reads no requests at all). A socket that sent several
//!   copies lingers after the transfer and answers late replies to them
//!   with ERROR 5, which frees the server's slot. The RRQ asks for `blksize`
//!   ([`Options::blksize`], derived from the MTU by [`Options::for_mtu`]),
//!   `timeout`, `tsize=0` and `windowsize` unless they equal the RFC 1350
//!   defaults, and for tftpd-hpa's `utimeout` ([`Options::utimeout`]).
//!   Requests are at most 512 octets (RFC 2347 §2).
//! - **Transfer ID** (RFC 1350 §4): the first OACK, DATA 1 or ERROR from the
//!   server's address fixes the server's TID (its port). Later packets from
//!   another port get ERROR 5 and are otherwise ignored, so a second server
//!   process started by a retransmitted RRQ is told to stop.
//! - **Negotiation** (RFC 2347 §2, RFC 2348, RFC 2349, RFC 7440 §3): an OACK is
//!   checked against the request and acknowledged with ACK 0. A value larger
//!   than requested (or an option that was not requested) is refused with
//!   ERROR 8, and the fetch then starts over without options. A server that
//!   ignores options answers with DATA 1: the transfer continues with
//!   blksize 512 and windowsize 1 (lockstep), without `tsize`. A server that
//!   rejects the request with ERROR 8 or ERROR 4 is asked again without
//!   options. That retry happens at most once per file: an OACK (valid or
//!   malformed) answering the request without options gets ERROR 8 and
//!   fails the file, since asking again would get the same answer. A
//!   `tsize` above [`Options::max_size`] gets ERROR 3 and fails the file
//!   before any data is acknowledged.
//! - **Blocks**: block numbers are 16 bits; the client counts blocks in 64
//!   bits and expects block 0 after 65535 (the rollover of tftpd-hpa, dnsmasq
//!   and most servers). A block shorter than the block size ends the
//!   transfer; its ACK is sent once and the client does not dally.
//! - **Windows** (RFC 7440 §4): the client acknowledges the last block of
//!   each window. When a block arrives ahead of the next expected one, a
//!   block was lost: the client at once acknowledges the last block it has
//!   in order, once per gap, so the server resends from there (go-back-N).
//!   Windowsize 1 is plain lockstep.
//! - **Errors** (RFC 1350 §7): a server ERROR ends the fetch at once with the
//!   server's message and no retry; ERROR 1 becomes
//!   [`TftpError::NotFound`], which a configuration lookup that tries many
//!   names can skip quickly. `tsize` is checked against the bytes received.
//!
//! # Retransmission
//!
//! The client's timer is TCP's RTO (RFC 6298 §2): the round trip is
//! measured from an ACK that ends a window (or from the RRQ) to the first
//! block of the next window, smoothed into SRTT and RTTVAR, and
//! RTO = SRTT + max(1 ms, 4·RTTVAR), bounded below by [`MIN_RTO`] (20 ms) and
//! above by [`Options::timeout`]. Samples are taken only from packets sent
//! once (Karn's algorithm, RFC 6298 §3). When no block arrives in order for
//! one RTO after the last ACK or the last block in order, the client resends
//! its last ACK (or the RRQ) and doubles the RTO (RFC 6298 §5.5); progress
//! resets the backoff. After [`Options::retries`] timeouts in a row the
//! fetch fails with [`TftpError::Timeout`]. On a LAN the RTO sits at its
//! floor, so a lost ACK costs about 20 ms. Packets that do not advance the
//! transfer (wrong block numbers, strangers) do not hold it open: without
//! a block in order for `retries + 1` times [`Options::timeout`] the fetch
//! fails with [`TftpError::Protocol`] however many packets arrive.
//!
//! A lost DATA packet is another matter: servers ignore a repeated ACK of
//! the block before (RFC 1123 §4.2.3.1; tftpd-hpa, dnsmasq, rs-tftpd and
//! async-tftp all do), so only the server's own timer resends it. In a
//! window, a loss after the first block is repaired at once by the gap ACK;
//! otherwise the cost is the server's timeout, which the client lowers with
//! `utimeout` where it is understood: the caller asks for [`utimeout_for`]
//! the round trip it measured on earlier transfers from the server (10 ms
//! on a LAN), 100 ms before anything is measured, instead of 1 s;
//! dnsmasq's timers tick in whole seconds (2 s, 3 s, 5 s...).
//!
//! An ICMP port unreachable for the request (no server listening) or for
//! the server's transfer port (the server process died) ends the fetch at
//! once with [`TftpError::Unreachable`] (via `IP_RECVERR`); other ICMP
//! errors are only logged.
//!
//! # Duplicates and the Sorcerer's Apprentice
//!
//! Duplicate and late packets are dropped without an answer. The one
//! exception is the standard re-ACK when the server itself retransmits
//! (because our ACK was lost): a block that our last ACK already covers,
//! arriving at least RTO/2 after that ACK, gets the last ACK once more. A
//! network duplicate arrives right after the original, and a duplicate
//! provoked by our own retransmitted ACK arrives within a round trip of it;
//! both are ignored. So a server that answers every ACK (the Sorcerer's
//! Apprentice bug, RFC 1123 §4.2.3.1) cannot be driven into sending every
//! block twice, and duplication on the path costs nothing.
//!
//! # Tests
//!
//! `wire` has codec tests over captured packets and fuzz loops. `tests.rs`
//! runs [`fetch`] against a scripted server on loopback (fallback,
//! negotiation, rollover, loss, duplicates, wrong TIDs, SAS). Tests against
//! tftpd-hpa, dnsmasq and an RFC 7440 server run in `tests/` (network
//! namespaces); how each server behaves is in `docs/tftp-servers.md`.

pub mod wire;

#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::fmt;
use std::io::{self, IoSliceMut, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use log::{debug, info, trace, warn};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
};

use crate::rng::Rng;
use wire::{limits, ErrorCode, Mode, Packet, Repr, TransferOptions};

/// Lower bound of the retransmission timeout.
///
/// Above the scheduling and disk-read jitter of a loaded server, far below
/// the one second of RFC 6298 §2.4: a lost packet on a LAN costs this much.
pub const MIN_RTO: Duration = Duration::from_millis(20);

/// Clock granularity `G` of RFC 6298 §2: `poll` waits in milliseconds.
const CLOCK_GRANULARITY: Duration = Duration::from_millis(1);

/// IPv4 + UDP + TFTP DATA headers: the block size for an MTU is `mtu - 32`.
const HEADERS_V4: u32 = 20 + 8 + 4;

/// What [`fetch`] asks the server for, and how hard it tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Requested block size (RFC 2348), 8..=65464; 512 sends no `blksize`
    /// option. The default, 1468, fills a 1500-octet Ethernet frame; use
    /// [`Options::for_mtu`] for the interface's MTU. Larger blocks than the
    /// path MTU are fragmented, and a lost fragment loses the whole block.
    pub blksize: u16,
    /// Requested window size (RFC 7440); 1 is lockstep and sends no option.
    ///
    /// The default is 16: with 1468-octet blocks a window is 23 KiB, which
    /// amortises the round trip over 16 blocks (RFC 7440 §5 measured most of
    /// the gain by 16) while a loss resends at most 15 blocks and a burst
    /// fits the default 208 KiB socket buffer and switch queues even when
    /// many guests boot at once.
    pub windowsize: u16,
    /// Ask for the transfer size (RFC 2349 `tsize`), to report progress and
    /// to check the size received.
    pub tsize: bool,
    /// Upper bound of the retransmission timeout; also sent as the `timeout`
    /// option (RFC 2349, whole seconds, at least 1) so that the server's own
    /// retransmission interval matches.
    pub timeout: Duration,
    /// The server's retransmission timeout to ask for with `utimeout`, an
    /// extension of tftpd-hpa (also understood by rs-tftpd; other servers
    /// ignore it), within 10 ms..=255 s; `None` sends no `utimeout`.
    ///
    /// Servers ignore a repeated ACK of the previous block (RFC 1123
    /// §4.2.3.1), so a lost DATA packet (in lockstep, or the first of a
    /// window) is only resent on the server's timer: 1 s with `timeout`,
    /// this with `utimeout`. The default of 100 ms is 100 times a LAN round
    /// trip; tftpd-hpa gives up after 63 times it (6.3 s) without an ACK.
    pub utimeout: Option<Duration>,
    /// How many retransmissions in a row, without any progress, before the
    /// fetch gives up with [`TftpError::Timeout`]. The default, 15, waits
    /// about 11 s after the last progress (15.5 s for the request): longer
    /// than the servers' own backoff (dnsmasq resends after 2, 3 and 5 s).
    pub retries: u32,
    /// Retransmission timeout before the first round trip is measured, that
    /// is for the RRQ (RFC 6298 §2.1 uses 1 s; a boot LAN answers in
    /// microseconds, so the default is 500 ms).
    pub initial_rto: Duration,
    /// Interface to bind the socket to (`SO_BINDTODEVICE`), so that requests
    /// leave through the interface that got the DHCP lease.
    pub bind_device: Option<String>,
    /// The largest file accepted: a `tsize` announcing more is refused
    /// with ERROR 3 before any data is acknowledged
    /// ([`TftpError::TooLarge`]). `None` accepts any size (the caller's
    /// sink may still refuse the bytes).
    pub max_size: Option<u64>,
    /// How long, from the first request, to keep asking a server that is
    /// at its limit: one that refuses the request with a busy-sounding
    /// ERROR ([`is_busy`]), or, when [`Options::known_up`], one that does
    /// not answer at all (dnsmasq beyond `--tftp-max` reads no requests).
    /// The request is sent again from the same port on a jittered
    /// exponential backoff ([`crate::rng::backoff`]: 0.5, 1, 2 … 30 s,
    /// ±50 %), so that an answer to any copy of it counts and clients
    /// turned away together come back spread out. After it, the fetch
    /// fails with [`TftpError::NoAnswer`]. Zero: a busy ERROR fails at
    /// once like any other.
    pub busy_wait: Duration,
    /// The server has answered this client before (or is the DHCP server
    /// that just gave the lease): silence then means busy, not gone, and
    /// an unanswered request is asked again for [`Options::busy_wait`]
    /// instead of failing after [`Options::retries`]. A server nothing is
    /// known of keeps the bound of [`Options::retries`].
    pub known_up: bool,
    /// The first interval of the request backoff for a server known to
    /// be up (default 1 s, then 2, 4 … [`MAX_REQUEST_INTERVAL`]): a busy
    /// dnsmasq serves every copy of a request it has queued, and a copy
    /// it serves after the client has gone holds one of its transfer
    /// slots for half a minute, so copies are sent sparingly.
    pub patient_rto: Duration,
}

/// The largest interval between two requests to a busy server (before
/// the ±50 % jitter).
pub const MAX_REQUEST_INTERVAL: Duration = Duration::from_secs(20);

/// The smallest `utimeout` tftpd-hpa accepts.
pub const MIN_UTIMEOUT: Duration = Duration::from_millis(10);

/// The `utimeout` to ask a server for, given the round trip measured on
/// earlier transfers from it (RFC 6298's SRTT and RTTVAR): twice the
/// retransmission timeout that measurement gives, `2·(SRTT + 4·RTTVAR)`,
/// rounded up to the millisecond, within [`MIN_UTIMEOUT`]..=100 ms (what
/// is asked before anything was measured: a round trip measured on a
/// loaded host, hundreds of milliseconds of scheduling delay, would
/// otherwise make every lost block cost that long; seen: 4 MiB through
/// 10 % loss took over 180 s instead of 11 s). Twice,
/// so that a server resending a block the client has not lost (its
/// answer merely late: a slow or loaded guest, whose scheduling delay is
/// part of every sample) stays rare; the variance term grows with the
/// jitter such a guest shows. On a LAN this is the floor, 10 ms, instead
/// of the 100 ms asked for before anything was measured.
pub fn utimeout_for(srtt: Duration, rttvar: Duration) -> Duration {
    let rto = srtt.saturating_add(rttvar.saturating_mul(4));
    let ms = rto.saturating_mul(2).as_micros().div_ceil(1000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)).clamp(MIN_UTIMEOUT, MAX_UTIMEOUT)
}

/// The most [`utimeout_for`] asks for.
pub const MAX_UTIMEOUT: Duration = Duration::from_millis(100);

/// The `utimeout` at which tftpd-hpa, which gives up a transfer after its
/// timer doubled six times without an ACK (63 intervals), would wait out
/// twice `stall`: the longest the client was seen not to answer (a guest
/// descheduled on a loaded host, [`Stats::max_gap`]). A lower timer
/// would have the server abandon the transfer in the next such stall.
pub fn utimeout_tolerating(stall: Duration) -> Duration {
    let ms = stall.saturating_mul(2).as_micros().div_ceil(63_000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// Whether a server's ERROR to a request says it is at its limit for
/// now rather than refusing the file: ERROR 3 ("disk full or allocation
/// exceeded", which a read request cannot mean literally), or ERROR 0
/// with a message such as "too many transfers", "server busy", "try again
/// later", "out of memory".
pub fn is_busy(code: ErrorCode, message: &str) -> bool {
    const WORDS: &[&str] = &[
        "busy",
        "too many",
        "try again",
        "later",
        "overload",
        "limit",
        "exceed",
        "full",
        "resource",
        "unavailable",
        "capacity",
        "maximum",
        "memory",
        "transfers",
        "connections",
        "sessions",
        "throttl",
    ];
    match code {
        ErrorCode::DiskFull => true,
        ErrorCode::NotDefined => {
            let m = message.to_ascii_lowercase();
            WORDS.iter().any(|w| m.contains(w))
        }
        _ => false,
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            blksize: 1468,
            windowsize: 16,
            tsize: true,
            timeout: Duration::from_secs(1),
            utimeout: Some(Duration::from_millis(100)),
            retries: 15,
            initial_rto: Duration::from_millis(500),
            bind_device: None,
            max_size: None,
            busy_wait: Duration::from_secs(300),
            known_up: false,
            patient_rto: Duration::from_secs(1),
        }
    }
}

impl Options {
    /// The default options with the largest block size that fits an IPv4
    /// packet of `mtu` octets unfragmented: `mtu - 32`, within 512..=65464.
    pub fn for_mtu(mtu: u32) -> Options {
        let blksize = mtu.saturating_sub(HEADERS_V4).clamp(
            u32::from(limits::BLKSIZE_DEFAULT),
            u32::from(limits::BLKSIZE_MAX),
        );
        Options {
            blksize: u16::try_from(blksize).unwrap_or(limits::BLKSIZE_MAX),
            ..Options::default()
        }
    }

    /// The options an RRQ carries; empty if everything is at its RFC 1350
    /// default.
    fn requested(&self) -> TransferOptions {
        let blksize = self.blksize.clamp(limits::BLKSIZE_MIN, limits::BLKSIZE_MAX);
        let timeout_secs = self.timeout.as_secs() + u64::from(self.timeout.subsec_nanos() > 0);
        TransferOptions {
            blksize: (blksize != limits::BLKSIZE_DEFAULT).then_some(blksize),
            timeout: Some(u8::try_from(timeout_secs.max(1)).unwrap_or(u8::MAX)),
            tsize: self.tsize.then_some(0),
            windowsize: (self.windowsize > 1).then_some(self.windowsize),
            utimeout: self.utimeout.map(|utimeout| {
                let micros = utimeout.as_micros().clamp(10_000, 255_000_000);
                u32::try_from(micros).unwrap_or(255_000_000)
            }),
        }
    }
}

/// What a finished [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Octets written to the sink.
    pub bytes: u64,
    /// The size the server announced (`tsize`), if it did.
    pub tsize: Option<u64>,
    /// The block size used: negotiated, or 512 without options.
    pub blksize: u16,
    /// The window size used: negotiated, or 1 without options.
    pub windowsize: u16,
    /// Time from the first RRQ to the last block.
    pub elapsed: Duration,
    /// Packets sent again: RRQs and ACKs on timeout, ACKs for gaps in a
    /// window and ACKs answering a server's retransmission.
    pub retransmits: u32,
    /// The smoothed round-trip time at the end, if one was measured.
    pub srtt: Option<Duration>,
    /// Its variation (RFC 6298 RTTVAR), with `srtt`.
    pub rttvar: Option<Duration>,
    /// Requests sent (RRQs, the first included).
    pub requests: u32,
    /// Requests the server refused as busy before one was served.
    pub refusals: u32,
    /// Time from the first request to the server's first answer.
    pub waited: Duration,
    /// Blocks that arrived again after they were received (the server's
    /// retransmissions, and duplicates on the path).
    pub duplicates: u32,
    /// The server's retransmission timeout, if it acknowledged `utimeout`.
    pub utimeout: Option<Duration>,
    /// The longest time between two blocks in order (loss recovery, or
    /// the client or the server not running).
    pub max_gap: Duration,
}

/// Why [`fetch`] failed. Every variant names the server and the file; the
/// `Display` form reads `tftp://SERVER/PATH: what happened`.
#[derive(Debug)]
#[non_exhaustive]
pub enum TftpError {
    /// The server answered ERROR 1, file not found.
    NotFound {
        /// The server's request address.
        server: SocketAddr,
        /// The requested file.
        path: String,
        /// The server's message.
        message: String,
    },
    /// The server ended the transfer with another ERROR.
    Server {
        /// The server's request address.
        server: SocketAddr,
        /// The requested file.
        path: String,
        /// The server's error code.
        code: ErrorCode,
        /// The server's message.
        message: String,
    },
    /// No answer, or no progress, through [`Options::retries`]
    /// retransmissions.
    Timeout {
        /// The server's request address.
        server: SocketAddr,
        /// The requested file.
        path: String,
        /// Time since the request was sent or the last block arrived.
        after: Duration,
        /// Octets received before the stall.
        received: u64,
    },
    /// A server known to be up ([`Options::known_up`]) never answered the
    /// request, or kept refusing it as busy, for [`Options::busy_wait`].
    NoAnswer {
        /// The server's request address.
        server: SocketAddr,
        /// The requested file.
        path: String,
        /// Time since the first request.
        after: Duration,
        /// Requests sent.
        requests: u32,
        /// The last busy refusal (code and message), if it refused.
        busy: Option<(ErrorCode, String)>,
    },
    /// The server sent a different number of octets than its `tsize`.
    TsizeMismatch {
        /// The server's request address.
        server: SocketAddr,
        /// The requested file.
        path: String,
        /// The size announced in the OACK.
        expected: u64,
        /// The octets received (so far, if more than expected).
        got: u64,
    },
    /// Nothing listens on the server's port: an ICMP port unreachable
    /// answered the request, or the server's transfer port closed mid-way
    /// (the server process ended).
    Unreachable {
        /// The server's request address.
        server: SocketAddr,
        /// The requested file.
        path: String,
        /// The port that was unreachable.
        port: SocketAddr,
        /// Octets received before.
        received: u64,
    },
    /// The server broke the protocol (for example a block larger than the
    /// negotiated block size).
    Protocol {
        /// The server's request address.
        server: SocketAddr,
        /// The requested file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The request cannot be sent (file name with NUL, or too long).
    InvalidRequest {
        /// The server's request address.
        server: SocketAddr,
        /// The requested file.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A socket operation failed.
    Io {
        /// The server's request address.
        server: SocketAddr,
        /// The requested file.
        path: String,
        /// The failed operation, for example `bind` or `sendto`.
        op: &'static str,
        /// The error.
        source: io::Error,
    },
    /// The server announced (`tsize`) more than [`Options::max_size`];
    /// it was sent ERROR 3 before any data was acknowledged.
    TooLarge {
        /// The server's request address.
        server: SocketAddr,
        /// The requested file.
        path: String,
        /// The size announced.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Writing to the sink failed; the server was sent ERROR 3.
    Sink {
        /// The server's request address.
        server: SocketAddr,
        /// The requested file.
        path: String,
        /// The error.
        source: io::Error,
    },
}

impl TftpError {
    /// True for [`TftpError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, TftpError::NotFound { .. })
    }

    fn target(&self) -> Target<'_> {
        let (server, path) = match self {
            TftpError::NotFound { server, path, .. }
            | TftpError::Server { server, path, .. }
            | TftpError::Timeout { server, path, .. }
            | TftpError::NoAnswer { server, path, .. }
            | TftpError::TsizeMismatch { server, path, .. }
            | TftpError::Unreachable { server, path, .. }
            | TftpError::Protocol { server, path, .. }
            | TftpError::InvalidRequest { server, path, .. }
            | TftpError::Io { server, path, .. }
            | TftpError::TooLarge { server, path, .. }
            | TftpError::Sink { server, path, .. } => (server, path),
        };
        Target { server, path }
    }
}

/// Displays `tftp://SERVER/PATH`.
struct Target<'a> {
    server: &'a SocketAddr,
    path: &'a str,
}

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slash = if self.path.starts_with('/') { "" } else { "/" };
        write!(f, "tftp://{}{}{}", self.server, slash, self.path)
    }
}

impl TftpError {
    /// What happened, without the `tftp://SERVER/PATH: ` that the
    /// `Display` form starts with (for a caller that names the file
    /// itself).
    pub fn reason(&self) -> impl fmt::Display + '_ {
        Reason(self)
    }
}

impl fmt::Display for TftpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.target(), self.reason())
    }
}

/// [`TftpError::reason`].
struct Reason<'a>(&'a TftpError);

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            TftpError::NotFound { message, .. } => {
                write!(f, "file not found (server said {:?})", message)
            }
            TftpError::Server { code, message, .. } => {
                write!(
                    f,
                    "the server refused: {} (server said {:?})",
                    code, message
                )
            }
            TftpError::Timeout {
                after, received: 0, ..
            } => write!(f, "no answer from the TFTP server within {:.1?}", after),
            TftpError::Timeout {
                after, received, ..
            } => write!(
                f,
                "transfer stalled: nothing from the server for {:.1?} after {} bytes",
                after, received
            ),
            TftpError::NoAnswer {
                after,
                requests,
                busy: None,
                ..
            } => write!(
                f,
                "the TFTP server never answered: {} requests over {:.0} s (the host answered before: busy, or gone since)",
                requests,
                after.as_secs_f64()
            ),
            TftpError::NoAnswer {
                after,
                requests,
                busy: Some((code, message)),
                ..
            } => write!(
                f,
                "the TFTP server stayed busy: {} requests over {:.0} s, refused with {} (server said {:?})",
                requests,
                after.as_secs_f64(),
                code,
                message
            ),
            TftpError::TsizeMismatch { expected, got, .. } => write!(
                f,
                "the server announced {} bytes (tsize) but sent {}",
                expected, got
            ),
            TftpError::Unreachable {
                port, received: 0, ..
            } => write!(
                f,
                "no TFTP server is listening there ({} answered ICMP port unreachable)",
                port
            ),
            TftpError::Unreachable { port, received, .. } => write!(
                f,
                "the server's transfer port {} closed after {} bytes (server process ended?)",
                port, received
            ),
            TftpError::Protocol { reason, .. } => write!(f, "protocol error: {}", reason),
            TftpError::InvalidRequest { reason, .. } => write!(f, "invalid request: {}", reason),
            TftpError::Io { op, source, .. } => write!(f, "{} failed: {}", op, source),
            TftpError::TooLarge { size, limit, .. } => write!(
                f,
                "the server announces {} bytes (tsize), more than the size limit of {} bytes",
                size, limit
            ),
            TftpError::Sink { source, .. } => write!(f, "cannot store the file: {}", source),
        }
    }
}

impl std::error::Error for TftpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TftpError::Io { source, .. } | TftpError::Sink { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Downloads `path` from the TFTP server at `server` (normally port 69) into
/// `sink`, in octet mode.
///
/// Blocks are written to `sink` in order as they arrive. `progress` is called
/// with (octets so far, `tsize` if known) once the transfer starts and after
/// every block; rate-limit any output it makes. On error, `sink` may hold a
/// partial file.
///
/// # Errors
///
/// A server ERROR at once ([`TftpError::NotFound`] for ERROR 1), a silent
/// server after the retransmissions ([`TftpError::Timeout`]), a size other
/// than the announced `tsize`, a protocol violation, a socket error, or a
/// failed write to `sink` (the server is sent ERROR 3).
pub fn fetch(
    server: SocketAddr,
    path: &str,
    sink: &mut dyn Write,
    opts: &Options,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Stats, TftpError> {
    let started = Instant::now();
    let mut requested = opts.requested();
    // A link-local server is on the boot interface.
    let server = crate::net6::scoped(server);
    loop {
        let mut transfer = Transfer::new(server, path, opts, requested, started)?;
        match transfer.run(sink, progress)? {
            Outcome::Done(stats) => return Ok(stats),
            // One retry without options per file, never more: a server
            // that refuses the plain request too would otherwise be asked
            // again forever.
            Outcome::RetryWithoutOptions if transfer.requested.is_empty() => {
                return Err(TftpError::Protocol {
                    server,
                    path: path.to_owned(),
                    reason: "the server refused the request without options too".to_owned(),
                })
            }
            Outcome::RetryWithoutOptions => {
                warn!(
                    "{}: the server refused TFTP options; retrying without them (512-byte blocks)",
                    Target {
                        server: &server,
                        path
                    }
                );
                requested = TransferOptions::default();
            }
        }
    }
}

/// Copies of a request may still be queued at the server when the
/// transfer is over (a busy dnsmasq reads its requests late), and each it
/// answers then would hold one of its transfer slots for half a minute of
/// retransmissions into a closed port. So a socket that sent more than one
/// request is kept open, for [`Options::busy_wait`], by one background
/// thread, which answers whatever the server sends it with ERROR 5: the
/// server ends that transfer at once.
struct Lingering {
    socket: UdpSocket,
    server: std::net::IpAddr,
    until: Instant,
    /// Copies of the request not answered yet.
    outstanding: u32,
    /// Whether they count for [`settle`]: the server served one copy, so
    /// it is queueing the others (a server that never answered is not
    /// waited for).
    counted: bool,
    /// The server's TIDs that answered a copy.
    seen: Vec<SocketAddr>,
}

/// Copies of requests that lingering sockets still wait for, in all.
static OUTSTANDING: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Wait, at most `limit`, until the server has answered (and been told
/// ERROR 5 for) every copy of a request still queued at it, so that a
/// client about to go away (kexec, the end of a dry run) leaves a busy
/// server no transfer to time out. Returns how many are still missing
/// (copies lost on the way are never answered). Returns at once when
/// no request was sent twice.
pub fn settle(limit: Duration) -> u32 {
    use std::sync::atomic::Ordering;
    let start = Instant::now();
    let first = OUTSTANDING.load(Ordering::SeqCst);
    if first > 0 {
        info!(
            "tftp: waiting up to {:.0} s for the server to answer {first} copies of requests still queued there",
            limit.as_secs_f64()
        );
    }
    loop {
        let n = OUTSTANDING.load(Ordering::SeqCst);
        if n == 0 || start.elapsed() >= limit {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn linger(l: Lingering) {
    use std::sync::{mpsc, Mutex, OnceLock};
    if l.counted {
        OUTSTANDING.fetch_add(l.outstanding, std::sync::atomic::Ordering::SeqCst);
    }
    static LINGER: OnceLock<Mutex<mpsc::Sender<Lingering>>> = OnceLock::new();
    let tx = LINGER.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        let _ = std::thread::Builder::new()
            .name("tftp-linger".into())
            .spawn(move || lingerer(rx));
        Mutex::new(tx)
    });
    let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(l);
}

/// The lingering sockets' thread: answers late OACKs and DATA with ERROR
/// 5 until each socket's time is up.
fn lingerer(rx: std::sync::mpsc::Receiver<Lingering>) {
    let mut socks: Vec<Lingering> = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        if socks.is_empty() {
            match rx.recv() {
                Ok(l) => socks.push(l),
                Err(_) => return,
            }
        }
        socks.extend(rx.try_iter());
        let now = Instant::now();
        socks.retain(|l| {
            let keep = l.until > now && l.outstanding > 0;
            if !keep && l.counted {
                OUTSTANDING.fetch_sub(l.outstanding, std::sync::atomic::Ordering::SeqCst);
            }
            keep
        });
        if socks.is_empty() {
            continue;
        }
        let mut fds: Vec<PollFd> = socks
            .iter()
            .map(|l| PollFd::new(l.socket.as_fd(), PollFlags::POLLIN))
            .collect();
        if poll(&mut fds, PollTimeout::from(200u16)).unwrap_or(0) == 0 {
            continue;
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some()).collect();
        drop(fds);
        for (l, _) in socks.iter_mut().zip(ready).filter(|(_, r)| *r) {
            drain_error_queue(&l.socket);
            while let Ok((n, from)) = l.socket.recv_from(&mut buf) {
                let Ok(p) = Packet::new_checked(&buf[..n]) else {
                    continue;
                };
                if from.ip() != l.server {
                    continue;
                }
                if !l.seen.contains(&from) && l.outstanding > 0 {
                    l.seen.push(from);
                    l.outstanding -= 1;
                    if l.counted {
                        OUTSTANDING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                if matches!(p.opcode(), wire::OpCode::Oack | wire::OpCode::Data) {
                    trace!("tftp: a late answer from {from} to a request already served: ERROR 5");
                    let repr = Repr::Error {
                        code: ErrorCode::UnknownTid,
                        msg: "request already served",
                    };
                    let mut bytes = vec![0; repr.buffer_len()];
                    repr.emit(&mut Packet::new_unchecked(&mut bytes[..]));
                    let _ = l.socket.send_to(&bytes, from);
                }
            }
        }
    }
}

/// Empties a socket's `IP_RECVERR` queue without looking at it.
fn drain_error_queue(socket: &UdpSocket) {
    loop {
        let mut data = [0u8; 64];
        let mut iov = [IoSliceMut::new(&mut data)];
        let mut cmsg = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in6);
        if recvmsg::<SockaddrStorage>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
        )
        .is_err()
        {
            return;
        }
    }
}

/// An answer this soon after the last copy of a request answers that
/// copy: the earlier ones were lost on the way, not queued.
const ANSWERS_LAST_COPY: Duration = Duration::from_millis(100);

impl Drop for Transfer<'_> {
    fn drop(&mut self) {
        // Copies that may still be queued at the server: none when the
        // answer came right after the last copy (a lost request, the
        // common case off a storm); else those the server has not
        // answered from a TID of its own yet.
        let lost = self
            .answered
            .is_some_and(|a| a.saturating_duration_since(self.last_request) < ANSWERS_LAST_COPY);
        let outstanding = match lost {
            true => 0,
            false => self.requests.saturating_sub(self.tids.len() as u32),
        };
        if outstanding == 0 || self.opts.busy_wait.is_zero() {
            return;
        }
        if let Ok(socket) = self.socket.try_clone() {
            // The lingering thread polls and drains without blocking.
            if socket.set_nonblocking(true).is_err() {
                return;
            }
            linger(Lingering {
                socket,
                server: self.server.ip(),
                until: Instant::now() + self.opts.busy_wait.min(Duration::from_secs(600)),
                outstanding,
                counted: self.answered.is_some(),
                seen: std::mem::take(&mut self.tids),
            });
        }
    }
}

/// How one attempt ended, when it did not fail.
enum Outcome {
    Done(Stats),
    /// The server refused our options before sending any data.
    RetryWithoutOptions,
}

/// The retransmission timer of RFC 6298 §2, with a configurable floor and
/// ceiling.
#[derive(Debug, Clone)]
struct RtoEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    initial: Duration,
    min: Duration,
    max: Duration,
    /// Doublings since the last progress (RFC 6298 §5.5).
    backoff: u32,
    /// [`RtoEstimator::rto`], computed when an input changes (it is read
    /// for every block).
    rto: Duration,
}

impl RtoEstimator {
    fn new(initial: Duration, max: Duration) -> Self {
        let max = max.max(CLOCK_GRANULARITY);
        RtoEstimator {
            srtt: None,
            rttvar: Duration::ZERO,
            initial: initial.min(max),
            min: MIN_RTO.min(max),
            max,
            backoff: 0,
            rto: Duration::ZERO,
        }
        .updated()
    }

    fn updated(mut self) -> Self {
        self.update();
        self
    }

    fn update(&mut self) {
        let base = match self.srtt {
            Some(srtt) => srtt + (self.rttvar * 4).max(CLOCK_GRANULARITY),
            None => self.initial,
        };
        let base = base.clamp(self.min, self.max);
        self.rto = base.saturating_mul(1 << self.backoff.min(16)).min(self.max);
    }

    /// RFC 6298 §2.2 and §2.3.
    fn sample(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(rtt);
                self.rttvar = (self.rttvar * 3 + delta) / 4;
                self.srtt = Some((srtt * 7 + rtt) / 8);
            }
        }
        self.update();
    }

    fn rto(&self) -> Duration {
        self.rto
    }

    fn back_off(&mut self) {
        self.backoff = self.backoff.saturating_add(1);
        self.update();
    }

    fn progress(&mut self) {
        if self.backoff != 0 {
            self.backoff = 0;
            self.update();
        }
    }
}

/// One attempt: one socket, one RRQ, one server TID.
struct Transfer<'a> {
    server: SocketAddr,
    path: &'a str,
    opts: &'a Options,
    socket: UdpSocket,
    /// The options in the RRQ; empty for a plain RFC 1350 request.
    requested: TransferOptions,
    /// The RRQ as sent.
    request: Vec<u8>,
    /// The server's TID, once its first reply arrived.
    peer: Option<SocketAddr>,
    blksize: u16,
    windowsize: u16,
    tsize: Option<u64>,
    rto: RtoEstimator,
    /// Number of the last block received in order, counted from 1 without
    /// wrapping; 0 before DATA 1.
    last: u64,
    /// The block last acknowledged; the server sends the window after it.
    acked: u64,
    bytes: u64,
    /// When the RRQ or an ACK was last sent.
    last_tx: Instant,
    /// When the transfer last advanced (request sent, OACK or block in
    /// order).
    last_progress: Instant,
    /// When the packet whose answer would be the next progress was sent, if
    /// it was sent only once (Karn's algorithm).
    rtt_probe: Option<Instant>,
    /// An ACK was already sent for the current gap in the window.
    gap_acked: bool,
    /// The socket's `SO_RCVTIMEO` (None: not set yet).
    rcvtimeo: Option<Duration>,
    timeouts: u32,
    /// Packets received since the last progress that did not advance
    /// the transfer.
    idle_packets: u32,
    retransmits: u32,
    started: Instant,
    /// Requests sent.
    requests: u32,
    /// How long after the last request the next one goes out.
    request_interval: Duration,
    /// Busy refusals, and the last one.
    refusals: u32,
    busy: Option<(ErrorCode, String)>,
    /// When the server first answered.
    answered: Option<Instant>,
    duplicates: u32,
    /// The `utimeout` the server acknowledged.
    utimeout: Option<Duration>,
    /// The server's TIDs seen: one per copy of the request it answered.
    tids: Vec<SocketAddr>,
    /// When the last copy of the request was sent.
    last_request: Instant,
    /// See [`Stats::max_gap`].
    max_gap: Duration,
    /// The request backoff's jitter.
    rng: Rng,
}

impl<'a> Transfer<'a> {
    fn new(
        server: SocketAddr,
        path: &'a str,
        opts: &'a Options,
        requested: TransferOptions,
        started: Instant,
    ) -> Result<Self, TftpError> {
        let invalid = |reason| TftpError::InvalidRequest {
            server,
            path: path.to_owned(),
            reason,
        };
        if path.is_empty() {
            return Err(invalid("empty file name"));
        }
        if path.contains('\0') {
            return Err(invalid("file name contains a NUL character"));
        }
        let rrq = |options| Repr::Rrq {
            filename: path,
            mode: Mode::Octet,
            options,
        };
        let fits = |options| rrq(options).buffer_len() <= limits::REQUEST_MAX;
        // A long name leaves no room for options: ask without them.
        let requested = if fits(requested) {
            requested
        } else {
            TransferOptions::default()
        };
        if !fits(requested) {
            return Err(invalid(
                "file name too long for a TFTP request (512 octets)",
            ));
        }
        let rrq = rrq(requested);
        let mut request = vec![0; rrq.buffer_len()];
        rrq.emit(&mut Packet::new_unchecked(&mut request[..]));

        let io_error = |op, source| TftpError::Io {
            server,
            path: path.to_owned(),
            op,
            source,
        };
        let local: SocketAddr = match server {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(local).map_err(|e| io_error("bind", e))?;
        if let Some(device) = &opts.bind_device {
            setsockopt(&socket, sockopt::BindToDevice, &OsString::from(device))
                .map_err(|e| io_error("SO_BINDTODEVICE", e.into()))?;
        }
        // Queue ICMP errors for our datagrams, so that a missing server is
        // reported at once instead of after every retransmission. Optional.
        let _ = match server {
            SocketAddr::V4(_) => setsockopt(&socket, sockopt::Ipv4RecvErr, &true),
            SocketAddr::V6(_) => setsockopt(&socket, sockopt::Ipv6RecvErr, &true),
        };
        if let Some(windowsize) = requested.windowsize {
            // A window of large blocks can exceed the default receive buffer
            // (208 KiB); room for two windows keeps bursts from being dropped.
            // SO_RCVBUFFORCE (root, as PID 1) may exceed rmem_max.
            let blksize = usize::from(requested.blksize.unwrap_or(limits::BLKSIZE_DEFAULT));
            let want = (2 * usize::from(windowsize) * (blksize + 64)).min(16 << 20);
            if want > 200 << 10 && setsockopt(&socket, sockopt::RcvBufForce, &want).is_err() {
                let _ = setsockopt(&socket, sockopt::RcvBuf, &want);
            }
        }

        let now = Instant::now();
        Ok(Transfer {
            server,
            path,
            opts,
            socket,
            requested,
            request,
            peer: None,
            blksize: limits::BLKSIZE_DEFAULT,
            windowsize: 1,
            tsize: None,
            rto: RtoEstimator::new(opts.initial_rto, opts.timeout),
            last: 0,
            acked: 0,
            bytes: 0,
            last_tx: now,
            last_progress: now,
            rtt_probe: None,
            gap_acked: false,
            rcvtimeo: None,
            timeouts: 0,
            idle_packets: 0,
            retransmits: 0,
            started,
            requests: 0,
            request_interval: opts.initial_rto,
            refusals: 0,
            busy: None,
            answered: None,
            duplicates: 0,
            utimeout: None,
            tids: Vec::new(),
            last_request: now,
            max_gap: Duration::ZERO,
            rng: Rng::new(path.as_bytes()),
        })
    }

    fn target(&self) -> Target<'_> {
        Target {
            server: &self.server,
            path: self.path,
        }
    }

    fn io_error(&self, op: &'static str, source: io::Error) -> TftpError {
        TftpError::Io {
            server: self.server,
            path: self.path.to_owned(),
            op,
            source,
        }
    }

    fn protocol_error(&self, reason: String) -> TftpError {
        TftpError::Protocol {
            server: self.server,
            path: self.path.to_owned(),
            reason,
        }
    }

    fn run(
        &mut self,
        sink: &mut dyn Write,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Outcome, TftpError> {
        self.send_request(false)?;
        // Room for the largest block we may accept plus one octet, so that an
        // oversized block is seen as such rather than silently truncated.
        let blksize = usize::from(self.requested.blksize.unwrap_or(limits::BLKSIZE_DEFAULT));
        let mut buf = vec![0u8; (blksize + 5).max(2048)];
        loop {
            // The deadline counts from the last packet sent or progress
            // made, the time known without asking the clock again.
            let since = self.last_tx.max(self.last_progress);
            let deadline = match self.peer {
                None => self.request_deadline(),
                Some(_) => since + self.rto.rto(),
            };
            let Some((len, from)) = self.recv(&mut buf, deadline, since)? else {
                self.on_timeout()?;
                continue;
            };
            let now = Instant::now();
            let Ok(packet) = Packet::new_checked(&buf[..len]) else {
                trace!(
                    "{}: ignoring a {}-octet runt from {}",
                    self.target(),
                    len,
                    from
                );
                continue;
            };
            let repr = Repr::parse(&packet);
            if from.ip() == self.server.ip() && !self.tids.contains(&from) {
                self.tids.push(from);
            }
            let outcome = match self.peer {
                None if from.ip() != self.server.ip() => {
                    debug!(
                        "{}: ignoring a packet from stranger {}",
                        self.target(),
                        from
                    );
                    None
                }
                None => {
                    let outcome = self.on_first_reply(from, repr, &packet, now, sink, progress)?;
                    if self.peer.is_some() {
                        self.answered.get_or_insert(now);
                    }
                    outcome
                }
                Some(peer) if peer != from => {
                    self.reject_tid(from, &packet)?;
                    None
                }
                Some(_) => self.on_reply(repr, &packet, now, sink, progress)?,
            };
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }
            self.check_progress(now)?;
        }
    }

    /// How long the transfer may go without a block in order while
    /// packets keep arriving: as long as [`Options::retries`] timeouts of
    /// [`Options::timeout`] would take. Without this bound a server sending
    /// wrong block numbers (or a stranger spraying packets) without pause
    /// would never let the retransmission timer expire.
    fn no_progress_limit(&self) -> Duration {
        self.opts
            .timeout
            .max(MIN_RTO)
            .saturating_mul(self.opts.retries.saturating_add(1))
    }

    /// Whether silence or a busy refusal means "ask again later": the
    /// server is known to be up, or has said it is busy.
    fn patient(&self) -> bool {
        !self.opts.busy_wait.is_zero() && (self.opts.known_up || self.refusals > 0)
    }

    /// How long after the first request the server may take to answer:
    /// [`Options::busy_wait`] when [`Transfer::patient`] (even if shorter),
    /// else [`Transfer::no_progress_limit`].
    fn request_limit(&self) -> Duration {
        match self.patient() {
            true => self.opts.busy_wait,
            false => self.no_progress_limit(),
        }
    }

    /// When to send the request again (or give up): the backoff after
    /// the last one, but no later than the request limit.
    fn request_deadline(&self) -> Instant {
        let next = self.last_tx + self.request_interval;
        match self.started.checked_add(self.request_limit()) {
            Some(end) => next.min(end),
            None => next,
        }
    }

    /// Fails the transfer when packets arrive but none advances it for
    /// [`Transfer::no_progress_limit`].
    fn check_progress(&mut self, now: Instant) -> Result<(), TftpError> {
        if self.last_progress >= now {
            return Ok(());
        }
        self.idle_packets = self.idle_packets.saturating_add(1);
        let idle = now.saturating_duration_since(self.last_progress);
        let limit = match self.peer {
            // Busy refusals and strangers before the first answer: as
            // long as the request may wait.
            None => self.request_limit(),
            Some(_) => self.no_progress_limit(),
        };
        if idle <= limit {
            return Ok(());
        }
        self.send_error_to_peer(ErrorCode::NotDefined, "no progress");
        Err(self.protocol_error(format!(
            "no progress for {:.1?}: {} packets arrived but none was block {} (after {} bytes)",
            idle,
            self.idle_packets,
            (self.last + 1) as u16,
            self.bytes
        )))
    }

    /// Handles the first packet from the server's address: it fixes the TID.
    fn on_first_reply(
        &mut self,
        from: SocketAddr,
        repr: wire::Result<Repr<'_>>,
        packet: &Packet<&[u8]>,
        now: Instant,
        sink: &mut dyn Write,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Option<Outcome>, TftpError> {
        match repr {
            Ok(Repr::Error { code, msg })
                if !self.opts.busy_wait.is_zero() && is_busy(code, msg) =>
            {
                self.refusals += 1;
                self.busy = Some((code, msg.to_owned()));
                if now.saturating_duration_since(self.started) >= self.opts.busy_wait {
                    return Err(self.no_answer(now));
                }
                let wait = self.request_deadline().saturating_duration_since(now);
                info!(
                    "{}: the server is busy ({} {:?}); asking again in {:.1} s",
                    self.target(),
                    code,
                    msg,
                    wait.as_secs_f64()
                );
                Ok(None)
            }
            Ok(Repr::Error { code, msg }) => {
                if !self.requested.is_empty()
                    && matches!(
                        code,
                        ErrorCode::OptionNegotiation | ErrorCode::IllegalOperation
                    )
                {
                    debug!(
                        "{}: request with options refused: {} {:?}",
                        self.target(),
                        code,
                        msg
                    );
                    return Ok(Some(Outcome::RetryWithoutOptions));
                }
                Err(self.server_error(code, msg))
            }
            // RFC 2347 §2: an OACK answers only a request with options.
            // Asked without them (already the retry), the server is told
            // (ERROR 8) and the file fails: another request would get the
            // same answer.
            _ if packet.opcode() == wire::OpCode::Oack && self.requested.is_empty() => {
                self.peer = Some(from);
                self.send_error(
                    from,
                    ErrorCode::OptionNegotiation,
                    "OACK to a request without options",
                );
                Err(self.protocol_error(
                    "the server answered a request without options with an OACK (RFC 2347 §2); \
                     sent ERROR 8"
                        .to_owned(),
                ))
            }
            Ok(Repr::Oack { options }) => {
                self.peer = Some(from);
                if let Err(reason) = self.accept_oack(&options) {
                    warn!("{}: refusing the server's OACK: {}", self.target(), reason);
                    self.send_error(from, ErrorCode::OptionNegotiation, &reason);
                    return Ok(Some(Outcome::RetryWithoutOptions));
                }
                debug!(
                    "{}: server {} negotiated blksize {} windowsize {} tsize {:?}",
                    self.target(),
                    from,
                    self.blksize,
                    self.windowsize,
                    self.tsize
                );
                if let (Some(size), Some(limit)) = (self.tsize, self.opts.max_size) {
                    if size > limit {
                        self.send_error(from, ErrorCode::DiskFull, "file larger than allowed");
                        return Err(TftpError::TooLarge {
                            server: self.server,
                            path: self.path.to_owned(),
                            size,
                            limit,
                        });
                    }
                }
                self.advanced(now);
                progress(0, self.tsize);
                self.send_ack(false)?;
                Ok(None)
            }
            Err(_) if packet.opcode() == wire::OpCode::Oack => {
                self.peer = Some(from);
                let options: Vec<_> = packet
                    .options()
                    .map(|(name, value)| {
                        let text = |bytes| String::from_utf8_lossy(bytes).into_owned();
                        (text(name), text(value))
                    })
                    .collect();
                warn!("{}: refusing a malformed OACK {:?}", self.target(), options);
                self.send_error(from, ErrorCode::OptionNegotiation, "malformed OACK");
                Ok(Some(Outcome::RetryWithoutOptions))
            }
            Ok(Repr::Data { block: 1, data }) => {
                self.peer = Some(from);
                if !self.requested.is_empty() {
                    debug!(
                        "{}: server {} ignored the options: 512-octet blocks in lockstep",
                        self.target(),
                        from
                    );
                }
                self.on_data(1, data, now, sink, progress)
            }
            _ => {
                debug!(
                    "{}: ignoring {:?} before the transfer started",
                    self.target(),
                    repr
                );
                Ok(None)
            }
        }
    }

    /// Handles a packet from the server's TID.
    fn on_reply(
        &mut self,
        repr: wire::Result<Repr<'_>>,
        packet: &Packet<&[u8]>,
        now: Instant,
        sink: &mut dyn Write,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Option<Outcome>, TftpError> {
        match repr {
            Ok(Repr::Data { block, data }) => self.on_data(block, data, now, sink, progress),
            Ok(Repr::Error { code, msg }) => Err(self.server_error(code, msg)),
            // A repeated OACK: the server did not get ACK 0.
            _ if packet.opcode() == wire::OpCode::Oack && self.last == 0 => {
                self.on_duplicate(0, now)?;
                Ok(None)
            }
            _ => {
                trace!("{}: ignoring {:?}", self.target(), repr);
                Ok(None)
            }
        }
    }

    /// Checks an OACK against the request (RFC 2347 §2: the server may only
    /// acknowledge requested options, with values no larger than requested)
    /// and adopts its values.
    fn accept_oack(&mut self, oack: &TransferOptions) -> Result<(), String> {
        fn check<V: PartialOrd + fmt::Display + Copy>(
            name: &str,
            requested: Option<V>,
            acked: Option<V>,
        ) -> Result<Option<V>, String> {
            match (requested, acked) {
                (_, None) => Ok(None),
                (None, Some(_)) => Err(format!("{} was not requested", name)),
                (Some(asked), Some(got)) if got > asked => Err(format!(
                    "{} {} is larger than the {} requested",
                    name, got, asked
                )),
                (Some(_), Some(got)) => Ok(Some(got)),
            }
        }
        let blksize = check("blksize", self.requested.blksize, oack.blksize)?;
        let windowsize = check("windowsize", self.requested.windowsize, oack.windowsize)?;
        let timeout = check("timeout", self.requested.timeout, oack.timeout)?;
        let utimeout = check("utimeout", self.requested.utimeout, oack.utimeout)?;
        self.utimeout = utimeout.map(|us| Duration::from_micros(us.into()));
        if oack.tsize.is_some() && self.requested.tsize.is_none() {
            return Err("tsize was not requested".to_owned());
        }
        self.blksize = blksize.unwrap_or(limits::BLKSIZE_DEFAULT);
        self.windowsize = windowsize.unwrap_or(1);
        self.tsize = oack.tsize;
        if let Some(seconds) = timeout {
            // Honour the negotiated interval: never wait longer than it.
            let max = Duration::from_secs(seconds.into()).min(self.opts.timeout);
            self.rto.max = max.max(CLOCK_GRANULARITY);
            self.rto.min = self.rto.min.min(self.rto.max);
        }
        Ok(())
    }

    /// Handles DATA `block` from the server's TID.
    fn on_data(
        &mut self,
        block: u16,
        data: &[u8],
        now: Instant,
        sink: &mut dyn Write,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Option<Outcome>, TftpError> {
        // Distance from the next expected block, modulo 2^16; block numbers
        // wrap from 65535 to 0.
        let ahead = block.wrapping_sub((self.last + 1) as u16);
        if ahead == 0 {
            return self.on_block_in_order(data, now, sink, progress);
        }
        if ahead < self.windowsize {
            // A block of the current window beyond the expected one: the
            // expected one was lost. Ask for a resend from there, once per
            // gap (RFC 7440 §4).
            if !self.gap_acked {
                trace!(
                    "{}: block {} arrived while expecting {}: ACK {}",
                    self.target(),
                    block,
                    (self.last + 1) as u16,
                    self.last as u16
                );
                self.gap_acked = true;
                self.retransmits += 1;
                self.send_ack(true)?;
            }
            return Ok(None);
        }
        self.on_duplicate(block, now)?;
        Ok(None)
    }

    fn on_block_in_order(
        &mut self,
        data: &[u8],
        now: Instant,
        sink: &mut dyn Write,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Option<Outcome>, TftpError> {
        if data.len() > usize::from(self.blksize) {
            let reason = format!(
                "block {} has {} octets, more than the block size {}",
                self.last + 1,
                data.len(),
                self.blksize
            );
            self.send_error_to_peer(ErrorCode::IllegalOperation, "block larger than blksize");
            return Err(self.protocol_error(reason));
        }
        if self.last > 0 {
            self.max_gap = self
                .max_gap
                .max(now.saturating_duration_since(self.last_progress));
        }
        self.last += 1;
        self.bytes += data.len() as u64;
        self.advanced(now);
        if let Some(expected) = self.tsize.filter(|&tsize| self.bytes > tsize) {
            self.send_error_to_peer(ErrorCode::NotDefined, "more data than tsize");
            return Err(self.tsize_mismatch(expected));
        }
        let last_block = data.len() < usize::from(self.blksize);
        // ACK before storing the block, so that the server sends the next
        // one while we copy this one (in lockstep the copy would otherwise
        // sit inside every round trip). If storing then fails, the server
        // gets ERROR 3 and the fetch ends.
        let window_end = self.last - self.acked >= u64::from(self.windowsize);
        if last_block || window_end {
            // The last block's ACK is sent once: if it is lost the server
            // retransmits into a closed port and gives up, harmlessly.
            // Sent microseconds after `now`, which stands for its time.
            self.send_ack_at(false, now)?;
        }
        if let Err(source) = sink.write_all(data) {
            self.send_error_to_peer(ErrorCode::DiskFull, "client cannot store the file");
            return Err(TftpError::Sink {
                server: self.server,
                path: self.path.to_owned(),
                source,
            });
        }
        progress(self.bytes, self.tsize);

        if last_block {
            if let Some(expected) = self.tsize.filter(|&tsize| self.bytes != tsize) {
                return Err(self.tsize_mismatch(expected));
            }
            let stats = Stats {
                bytes: self.bytes,
                tsize: self.tsize,
                blksize: self.blksize,
                windowsize: self.windowsize,
                elapsed: self.started.elapsed(),
                retransmits: self.retransmits,
                srtt: self.rto.srtt,
                rttvar: self.rto.srtt.map(|_| self.rto.rttvar),
                requests: self.requests,
                refusals: self.refusals,
                waited: self.answered.map_or(Duration::ZERO, |a| {
                    a.saturating_duration_since(self.started)
                }),
                duplicates: self.duplicates,
                utimeout: self.utimeout,
                max_gap: self.max_gap,
            };
            debug!("{}: done: {:?}", self.target(), stats);
            return Ok(Some(Outcome::Done(stats)));
        }
        Ok(None)
    }

    /// Bookkeeping for progress: the OACK or a block in order arrived.
    fn advanced(&mut self, now: Instant) {
        if let Some(sent) = self.rtt_probe.take() {
            self.rto.sample(now.saturating_duration_since(sent));
        }
        self.rto.progress();
        self.timeouts = 0;
        self.idle_packets = 0;
        self.gap_acked = false;
        self.last_progress = now;
    }

    /// A duplicate or late DATA `block` (0 for a repeated OACK). Answered
    /// with the last ACK only if it looks like the server's own
    /// retransmission (see the module documentation): a block the last ACK
    /// covers, arriving at least RTO/2 after that ACK. Network duplicates
    /// arrive sooner, duplicates provoked by our own retransmitted ACK
    /// arrive sooner, and blocks after the last ACK are never retransmitted
    /// by a server that has not timed out.
    fn on_duplicate(&mut self, block: u16, now: Instant) -> Result<(), TftpError> {
        self.duplicates = self.duplicates.saturating_add(1);
        let behind = (self.acked as u16).wrapping_sub(block);
        let since_ack = now.saturating_duration_since(self.last_tx);
        if behind < 0x8000 && since_ack >= self.rto.rto() / 2 {
            trace!(
                "{}: block {} again {:?} after our ACK {}: re-ACK",
                self.target(),
                block,
                since_ack,
                self.acked as u16
            );
            self.retransmits += 1;
            self.send_ack(true)?;
        }
        Ok(())
    }

    fn on_timeout(&mut self) -> Result<(), TftpError> {
        self.timeouts += 1;
        let now = Instant::now();
        if self.peer.is_none() {
            return self.on_request_timeout(now);
        }
        if self.timeouts > self.opts.retries {
            if self.peer.is_some() {
                self.send_error_to_peer(ErrorCode::NotDefined, "timed out");
            }
            return Err(TftpError::Timeout {
                server: self.server,
                path: self.path.to_owned(),
                after: now.saturating_duration_since(self.last_progress),
                received: self.bytes,
            });
        }
        self.retransmits += 1;
        self.rto.back_off();
        trace!(
            "{}: timeout {} at block {}; RTO now {:?}",
            self.target(),
            self.timeouts,
            self.last,
            self.rto.rto()
        );
        match self.peer {
            None => self.send_request(true),
            Some(_) => self.send_ack(true),
        }
    }

    /// No answer to the request in time: send it again on the backoff, or
    /// give up ([`TftpError::Timeout`] after [`Options::retries`] for a
    /// server nothing is known of, [`TftpError::NoAnswer`] after
    /// [`Options::busy_wait`] for one that is up or busy).
    fn on_request_timeout(&mut self, now: Instant) -> Result<(), TftpError> {
        let elapsed = now.saturating_duration_since(self.started);
        let patient = self.patient();
        if elapsed >= self.request_limit() || (!patient && self.timeouts > self.opts.retries) {
            return Err(match patient {
                true => self.no_answer(now),
                false => TftpError::Timeout {
                    server: self.server,
                    path: self.path.to_owned(),
                    after: now.saturating_duration_since(self.last_progress),
                    received: 0,
                },
            });
        }
        self.retransmits += 1;
        self.send_request(true)?;
        if patient && self.requests >= 3 && self.refusals == 0 {
            info!(
                "{}: no answer yet (the server is busy?); request {} sent, the next in {:.1} s ({:.0} of {:.0} s)",
                self.target(),
                self.requests,
                self.request_interval.as_secs_f64(),
                elapsed.as_secs_f64(),
                self.request_limit().as_secs_f64()
            );
        }
        Ok(())
    }

    fn no_answer(&self, now: Instant) -> TftpError {
        TftpError::NoAnswer {
            server: self.server,
            path: self.path.to_owned(),
            after: now.saturating_duration_since(self.started),
            requests: self.requests,
            busy: self.busy.clone(),
        }
    }

    fn send_request(&mut self, again: bool) -> Result<(), TftpError> {
        self.send(self.server, &self.request)?;
        // The next one after the backoff: doubling from the initial RTO,
        // jittered, up to the retransmission ceiling; for a server that
        // said it is busy up to MAX_REQUEST_INTERVAL; for one known to be
        // up that is silent, from the patient RTO (each copy may be
        // queued there and served later).
        let (base, cap) = match (self.patient(), self.refusals) {
            (false, _) => (self.opts.initial_rto, self.opts.timeout),
            (true, 0) => (self.opts.patient_rto, MAX_REQUEST_INTERVAL),
            (true, _) => (self.opts.initial_rto, MAX_REQUEST_INTERVAL),
        };
        self.request_interval =
            crate::rng::backoff(&mut self.rng, self.requests, base, cap.max(base));
        self.requests = self.requests.saturating_add(1);
        let now = Instant::now();
        self.last_tx = now;
        self.last_request = now;
        self.rtt_probe = if again { None } else { Some(now) };
        if !again {
            self.last_progress = now;
        }
        Ok(())
    }

    /// Acknowledges the last block in order (or the OACK, as block 0).
    fn send_ack(&mut self, again: bool) -> Result<(), TftpError> {
        self.send_ack_at(again, Instant::now())
    }

    /// [`Transfer::send_ack`], sent at `now`.
    fn send_ack_at(&mut self, again: bool, now: Instant) -> Result<(), TftpError> {
        let Some(peer) = self.peer else {
            return Ok(());
        };
        let mut ack = [0u8; 4];
        Repr::Ack {
            block: self.last as u16,
        }
        .emit(&mut Packet::new_unchecked(&mut ack[..]));
        self.send(peer, &ack)?;
        self.acked = self.last;
        self.last_tx = now;
        self.rtt_probe = if again { None } else { Some(now) };
        Ok(())
    }

    /// Answers a packet from a wrong TID with ERROR 5 (RFC 1350 §4), unless
    /// it is itself an ERROR.
    fn reject_tid(&mut self, from: SocketAddr, packet: &Packet<&[u8]>) -> Result<(), TftpError> {
        debug!(
            "{}: {:?} from unknown TID {}: ERROR 5",
            self.target(),
            packet.opcode(),
            from
        );
        if packet.opcode() != wire::OpCode::Error {
            self.send_error(from, ErrorCode::UnknownTid, "Unknown transfer ID");
        }
        Ok(())
    }

    fn send_error_to_peer(&self, code: ErrorCode, msg: &str) {
        if let Some(peer) = self.peer {
            self.send_error(peer, code, msg);
        }
    }

    /// Sends an ERROR, best effort: the transfer is over or unaffected.
    fn send_error(&self, to: SocketAddr, code: ErrorCode, msg: &str) {
        let repr = Repr::Error { code, msg };
        let mut bytes = vec![0; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut bytes[..]));
        let _ = self.socket.send_to(&bytes, to);
    }

    fn send(&self, to: SocketAddr, bytes: &[u8]) -> Result<(), TftpError> {
        match self.socket.send_to(bytes, to) {
            Ok(_) => Ok(()),
            // Treated as a lost packet: the timer sends it again.
            Err(e) if is_transient(&e) => {
                debug!("{}: sendto {}: {}", self.target(), to, e);
                Ok(())
            }
            Err(e) => Err(self.io_error("sendto", e)),
        }
    }

    /// Receives one datagram, or `None` at `deadline`.
    ///
    /// One blocking `recvfrom` with `SO_RCVTIMEO` waits and receives: in
    /// lockstep every system call costs a full TLB flush under QEMU TCG
    /// (Linux switches the address space on every entry and exit, and
    /// TCG's `lctlg` flushes), so no `poll` before it (see BENCHMARKS.md,
    /// "Where a TFTP block's time goes"). The timeout is set again only
    /// when it would overshoot the deadline or is under half the wait.
    /// The first wait counts from `since` (a moment just past, so the
    /// timeout may be late by the time since then), later ones from the
    /// clock.
    fn recv(
        &mut self,
        buf: &mut [u8],
        deadline: Instant,
        since: Instant,
    ) -> Result<Option<(usize, SocketAddr)>, TftpError> {
        let mut now = since;
        loop {
            if now >= deadline {
                return Ok(None);
            }
            // Round up to the millisecond: waking before the deadline
            // would only wait again. (u64 arithmetic: a u128 division
            // per block shows in a TCG profile.)
            let left = deadline - now;
            let millis = left.as_secs().saturating_mul(1000)
                + u64::from(left.subsec_nanos().div_ceil(1_000_000));
            let wait = Duration::from_millis(millis.max(1));
            if !self.rcvtimeo.is_some_and(|t| t <= wait && t >= wait / 2) {
                self.socket
                    .set_read_timeout(Some(wait))
                    .map_err(|e| self.io_error("SO_RCVTIMEO", e))?;
                self.rcvtimeo = Some(wait);
            }
            match self.socket.recv_from(buf) {
                Ok(received) => return Ok(Some(received)),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                // An ICMP error for a datagram we sent (IP_RECVERR).
                Err(e) if is_icmp_error(&e) => self.check_icmp_errors()?,
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(self.io_error("recvfrom", e)),
            }
            now = Instant::now();
        }
    }

    /// Empties the socket's error queue. An ICMP port unreachable for the
    /// port we are talking to (the request port before the first reply, the
    /// server's TID after it) ends the fetch; other errors (for example for
    /// an ERROR 5 sent to a stray port, or a transient host unreachable) are
    /// only logged, and the timer carries on.
    fn check_icmp_errors(&self) -> Result<(), TftpError> {
        let current = self.peer.unwrap_or(self.server);
        let mut unreachable = false;
        loop {
            let mut data = [0u8; 64];
            let mut iov = [IoSliceMut::new(&mut data)];
            let mut cmsg = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in6);
            let Ok(msg) = recvmsg::<SockaddrStorage>(
                self.socket.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
            ) else {
                break;
            };
            let destination = msg.address.as_ref().and_then(socket_addr);
            let Ok(cmsgs) = msg.cmsgs() else {
                continue;
            };
            for cmsg in cmsgs {
                let (ControlMessageOwned::Ipv4RecvErr(err, _)
                | ControlMessageOwned::Ipv6RecvErr(err, _)) = cmsg
                else {
                    continue;
                };
                let errno = i32::try_from(err.ee_errno).unwrap_or(0);
                debug!(
                    "{}: ICMP error for a datagram to {:?}: {}",
                    self.target(),
                    destination,
                    io::Error::from_raw_os_error(errno)
                );
                if errno == libc::ECONNREFUSED && destination == Some(current) {
                    unreachable = true;
                }
            }
        }
        if unreachable {
            return Err(TftpError::Unreachable {
                server: self.server,
                path: self.path.to_owned(),
                port: current,
                received: self.bytes,
            });
        }
        Ok(())
    }

    fn server_error(&self, code: ErrorCode, msg: &str) -> TftpError {
        let (server, path, message) = (self.server, self.path.to_owned(), msg.to_owned());
        match code {
            ErrorCode::FileNotFound => TftpError::NotFound {
                server,
                path,
                message,
            },
            _ => TftpError::Server {
                server,
                path,
                code,
                message,
            },
        }
    }

    fn tsize_mismatch(&self, expected: u64) -> TftpError {
        TftpError::TsizeMismatch {
            server: self.server,
            path: self.path.to_owned(),
            expected,
            got: self.bytes,
        }
    }
}

/// Errors after which the operation is simply tried again later: signals,
/// full buffers, and ICMP errors reported for earlier datagrams.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    ) || matches!(
        e.raw_os_error(),
        // ENOBUFS: a full queue. The others: the interface is being reset
        // (net::RxWatch) and has no address or route for a moment.
        Some(
            libc::ENOBUFS | libc::ENETDOWN | libc::ENETUNREACH | libc::ENODEV | libc::EADDRNOTAVAIL
        )
    ) || is_icmp_error(e)
}

/// Errors that `IP_RECVERR` reports on a socket call for an ICMP error
/// that arrived for an earlier datagram.
fn is_icmp_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNREFUSED
                | libc::EHOSTUNREACH
                | libc::ENETUNREACH
                | libc::EHOSTDOWN
                | libc::EPROTO
                | libc::EMSGSIZE
        )
    )
}

fn socket_addr(addr: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    addr.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}

//! TFTP packet codec: RFC 1350 packets with RFC 2347 options.
//!
//! This module does no I/O and allocates nothing. It follows the smoltcp
//! `wire` contract:
//!
//! - [`Packet`] is a view over a byte buffer. [`Packet::new_checked`] is for
//!   untrusted input (everything that arrives from the network); after it
//!   succeeds, no accessor can panic. [`Packet::new_unchecked`] is for
//!   buffers we fill ourselves.
//! - [`Repr`] is the parsed, high-level form. [`Repr::parse`] never panics on
//!   a checked packet, whatever its bytes, and [`Repr::emit`] never panics
//!   into a buffer of exactly [`Repr::buffer_len`] bytes.
//! - Every failure is the zero-sized [`Error`]: a malformed packet is dropped
//!   or answered the same way whatever is wrong with it.
//!
//! # Packet layouts (RFC 1350 §5, RFC 2347 §2)
//!
//! ```text
//!  RRQ    | 01 | filename | 0 | mode | 0 | opt1 | 0 | value1 | 0 | ...
//!  DATA   | 03 | block #  | data (0..=blksize octets)            |
//!  ACK    | 04 | block #  |
//!  ERROR  | 05 | code     | message | 0 |
//!  OACK   | 06 | opt1 | 0 | value1 | 0 | opt2 | 0 | value2 | 0 | ...
//!          2 B    2 B (opcode and numbers are big-endian u16)
//! ```
//!
//! Option names are compared case-insensitively (RFC 2347 §2) and values are
//! ASCII decimal. [`TransferOptions`] keeps only the options a PXE client
//! negotiates: `blksize` (RFC 2348), `timeout` and `tsize` (RFC 2349),
//! `windowsize` (RFC 7440) and `utimeout` (an extension of tftpd-hpa, also
//! known to rs-tftpd: `timeout` in microseconds). Unknown options are
//! skipped by [`Repr::parse`]; [`Packet::options`] iterates over all of
//! them.
//!
//! WRQ (opcode 2) is recognised by [`OpCode`] but has no [`Repr`]: a boot
//! client never writes.

use core::fmt;

/// A malformed or truncated TFTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed TFTP packet")
    }
}

impl std::error::Error for Error {}

/// The result type of this module.
pub type Result<T> = core::result::Result<T, Error>;

/// Declares a `u16` code enum with an `Unknown(u16)` variant so that any code
/// seen on the wire round-trips (smoltcp's `enum_with_unknown!`).
macro_rules! enum_with_unknown {
    (
        $(#[$enum_attr:meta])*
        pub enum $name:ident {
            $( $(#[$variant_attr:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$enum_attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$variant_attr])* $variant ),+,
            /// A code this module does not know; kept so that it round-trips.
            Unknown(u16),
        }

        impl From<u16> for $name {
            fn from(value: u16) -> Self {
                match value {
                    $( $value => $name::$variant ),+,
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for u16 {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value ),+,
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

enum_with_unknown! {
    /// TFTP opcodes (RFC 1350 §5, RFC 2347 §2).
    pub enum OpCode {
        /// Read request.
        Rrq = 1,
        /// Write request (never sent by this client).
        Wrq = 2,
        /// Data block.
        Data = 3,
        /// Acknowledgement.
        Ack = 4,
        /// Error.
        Error = 5,
        /// Option acknowledgement (RFC 2347).
        Oack = 6,
    }
}

enum_with_unknown! {
    /// TFTP error codes (RFC 1350 appendix, RFC 2347 §2 for code 8).
    pub enum ErrorCode {
        /// "Not defined, see error message (if any)."
        NotDefined = 0,
        /// "File not found."
        FileNotFound = 1,
        /// "Access violation."
        AccessViolation = 2,
        /// "Disk full or allocation exceeded."
        DiskFull = 3,
        /// "Illegal TFTP operation."
        IllegalOperation = 4,
        /// "Unknown transfer ID."
        UnknownTid = 5,
        /// "File already exists."
        FileExists = 6,
        /// "No such user."
        NoSuchUser = 7,
        /// Option negotiation refused (RFC 2347).
        OptionNegotiation = 8,
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            ErrorCode::NotDefined => "error",
            ErrorCode::FileNotFound => "file not found",
            ErrorCode::AccessViolation => "access violation",
            ErrorCode::DiskFull => "disk full or allocation exceeded",
            ErrorCode::IllegalOperation => "illegal TFTP operation",
            ErrorCode::UnknownTid => "unknown transfer ID",
            ErrorCode::FileExists => "file already exists",
            ErrorCode::NoSuchUser => "no such user",
            ErrorCode::OptionNegotiation => "option negotiation refused",
            ErrorCode::Unknown(_) => "unknown error",
        };
        write!(f, "{} (code {})", text, u16::from(*self))
    }
}

/// Transfer mode of a request (RFC 1350 §5). Only [`Mode::Octet`] is used for
/// boot files; the others are parsed so that requests round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `netascii`: 8-bit ASCII with CR LF line ends.
    NetAscii,
    /// `octet`: raw bytes.
    Octet,
    /// `mail`: obsolete.
    Mail,
}

impl Mode {
    /// The name as it is sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::NetAscii => "netascii",
            Mode::Octet => "octet",
            Mode::Mail => "mail",
        }
    }

    fn parse(name: &[u8]) -> Result<Mode> {
        [Mode::NetAscii, Mode::Octet, Mode::Mail]
            .into_iter()
            .find(|mode| name.eq_ignore_ascii_case(mode.as_str().as_bytes()))
            .ok_or(Error)
    }
}

/// Limits of the option values, from their RFCs.
pub mod limits {
    /// Smallest `blksize` (RFC 2348 §2).
    pub const BLKSIZE_MIN: u16 = 8;
    /// Largest `blksize` (RFC 2348 §2).
    pub const BLKSIZE_MAX: u16 = 65464;
    /// Block size without options (RFC 1350 §2).
    pub const BLKSIZE_DEFAULT: u16 = 512;
    /// Smallest `timeout`, seconds (RFC 2349 §2).
    pub const TIMEOUT_MIN: u8 = 1;
    /// Smallest `windowsize` (RFC 7440 §3); the largest is `u16::MAX`.
    pub const WINDOWSIZE_MIN: u16 = 1;
    /// Largest request a server must accept (RFC 2347 §2: "the request
    /// packet ... must not exceed 512 octets").
    pub const REQUEST_MAX: usize = 512;
}

/// The options of an RRQ or OACK that this codec understands.
///
/// `None` means the option is absent. In an RRQ, `tsize` is sent as 0 to ask
/// for the size (RFC 2349 §4); in an OACK it is the file size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransferOptions {
    /// `blksize` (RFC 2348): octets per DATA block, 8..=65464.
    pub blksize: Option<u16>,
    /// `timeout` (RFC 2349): retransmission timeout in seconds, 1..=255.
    pub timeout: Option<u8>,
    /// `tsize` (RFC 2349): transfer size in octets.
    pub tsize: Option<u64>,
    /// `windowsize` (RFC 7440): blocks per window, 1..=65535.
    pub windowsize: Option<u16>,
    /// `utimeout` (tftpd-hpa extension, no RFC): retransmission timeout in
    /// microseconds, at least 1. tftpd-hpa accepts 10000..=255000000.
    pub utimeout: Option<u32>,
}

mod option_name {
    pub const BLKSIZE: &str = "blksize";
    pub const TIMEOUT: &str = "timeout";
    pub const TSIZE: &str = "tsize";
    pub const WINDOWSIZE: &str = "windowsize";
    pub const UTIMEOUT: &str = "utimeout";
}

impl TransferOptions {
    /// True if no option is set.
    pub fn is_empty(&self) -> bool {
        *self == TransferOptions::default()
    }

    /// Sets the option `name` from its wire value. Unknown names are ignored;
    /// a repeated, non-numeric or out-of-range value is an error.
    fn set(&mut self, name: &[u8], value: &[u8]) -> Result<()> {
        fn put<V>(slot: &mut Option<V>, value: Option<V>) -> Result<()> {
            match (slot.is_some(), value) {
                (false, Some(value)) => {
                    *slot = Some(value);
                    Ok(())
                }
                _ => Err(Error),
            }
        }
        let number = parse_decimal(value);
        let is = |known: &str| name.eq_ignore_ascii_case(known.as_bytes());
        if is(option_name::BLKSIZE) {
            let blksize = number
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| (limits::BLKSIZE_MIN..=limits::BLKSIZE_MAX).contains(n));
            put(&mut self.blksize, blksize)
        } else if is(option_name::TIMEOUT) {
            let timeout = number
                .and_then(|n| u8::try_from(n).ok())
                .filter(|&n| n >= limits::TIMEOUT_MIN);
            put(&mut self.timeout, timeout)
        } else if is(option_name::TSIZE) {
            put(&mut self.tsize, number)
        } else if is(option_name::WINDOWSIZE) {
            let windowsize = number
                .and_then(|n| u16::try_from(n).ok())
                .filter(|&n| n >= limits::WINDOWSIZE_MIN);
            put(&mut self.windowsize, windowsize)
        } else if is(option_name::UTIMEOUT) {
            let utimeout = number
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n >= 1);
            put(&mut self.utimeout, utimeout)
        } else {
            Ok(())
        }
    }

    /// The options as `(name, value)` pairs, in the order they are emitted.
    /// `utimeout` follows `timeout`: servers apply options in order, so the
    /// finer value wins where both are understood.
    fn pairs(&self) -> impl Iterator<Item = (&'static str, u64)> {
        [
            (option_name::BLKSIZE, self.blksize.map(u64::from)),
            (option_name::TIMEOUT, self.timeout.map(u64::from)),
            (option_name::TSIZE, self.tsize),
            (option_name::WINDOWSIZE, self.windowsize.map(u64::from)),
            (option_name::UTIMEOUT, self.utimeout.map(u64::from)),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| (name, value)))
    }

    fn buffer_len(&self) -> usize {
        self.pairs()
            .map(|(name, value)| name.len() + 1 + decimal_len(value) + 1)
            .sum()
    }

    fn emit(&self, out: &mut Writer<'_>) {
        let mut digits = [0u8; 20];
        for (name, value) in self.pairs() {
            out.put_cstr(name.as_bytes());
            out.put_cstr(format_decimal(value, &mut digits));
        }
    }

    /// Parses all option pairs of `bytes` strictly: every name and value must
    /// be NUL-terminated.
    fn parse(bytes: &[u8]) -> Result<TransferOptions> {
        let mut options = TransferOptions::default();
        let mut iter = OptionIter { rest: bytes };
        for (name, value) in &mut iter {
            options.set(name, value)?;
        }
        match iter.rest {
            [] => Ok(options),
            _ => Err(Error),
        }
    }
}

/// Iterator over the raw `(name, value)` option pairs of an RRQ or OACK.
///
/// It stops at the first pair that is not completely NUL-terminated, so a
/// truncated packet yields only its complete pairs.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (name, after_name) = split_cstr(self.rest)?;
        let (value, rest) = split_cstr(after_name)?;
        self.rest = rest;
        Some((name, value))
    }
}

/// Field offsets. Everything after the fixed header is variable-length and
/// parsed by [`Repr::parse`].
mod field {
    pub type Field = core::ops::Range<usize>;
    pub type Rest = core::ops::RangeFrom<usize>;

    /// Opcode of every packet.
    pub const OPCODE: Field = 0..2;
    /// Block number of DATA and ACK.
    pub const BLOCK: Field = 2..4;
    /// Error code of ERROR.
    pub const ERROR_CODE: Field = 2..4;
    /// DATA payload.
    pub const DATA: Rest = 4..;
    /// ERROR message.
    pub const ERROR_MSG: Rest = 4..;
    /// RRQ/WRQ strings or OACK options.
    pub const STRINGS: Rest = 2..;
}

/// A read/write view of a TFTP packet in a byte buffer.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking its length. Use it only for buffers
    /// you are about to fill; received bytes go through
    /// [`Packet::new_checked`].
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps received bytes: [`Packet::new_unchecked`] followed by
    /// [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed fields of its opcode: 2 octets
    /// for every packet, 4 for DATA, ACK and ERROR. After it succeeds no
    /// accessor panics. [`Packet::set_opcode`] can invalidate this check.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        let needed = match self.opcode_checked() {
            None => return Err(Error),
            Some(OpCode::Data | OpCode::Ack | OpCode::Error) => field::BLOCK.end,
            Some(_) => field::OPCODE.end,
        };
        if len < needed {
            Err(Error)
        } else {
            Ok(())
        }
    }

    fn opcode_checked(&self) -> Option<OpCode> {
        let bytes = self.buffer.as_ref().get(field::OPCODE)?;
        Some(OpCode::from(u16::from_be_bytes([bytes[0], bytes[1]])))
    }

    fn u16_at(&self, range: field::Field) -> u16 {
        let bytes = &self.buffer.as_ref()[range];
        u16::from_be_bytes([bytes[0], bytes[1]])
    }

    /// The opcode.
    pub fn opcode(&self) -> OpCode {
        OpCode::from(self.u16_at(field::OPCODE))
    }

    /// The block number of a DATA or ACK packet.
    pub fn block(&self) -> u16 {
        self.u16_at(field::BLOCK)
    }

    /// The error code of an ERROR packet.
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::from(self.u16_at(field::ERROR_CODE))
    }

    /// The option pairs of an OACK, or of an RRQ/WRQ after its file name and
    /// mode. Empty for other opcodes.
    pub fn options(&self) -> OptionIter<'_> {
        let strings = &self.buffer.as_ref()[field::STRINGS];
        let rest = match self.opcode() {
            OpCode::Oack => strings,
            OpCode::Rrq | OpCode::Wrq => split_cstr(strings)
                .and_then(|(_filename, rest)| split_cstr(rest))
                .map_or(&[][..], |(_mode, rest)| rest),
            _ => &[],
        };
        OptionIter { rest }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u16_at(&mut self, range: field::Field, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the opcode.
    pub fn set_opcode(&mut self, opcode: OpCode) {
        self.set_u16_at(field::OPCODE, opcode.into());
    }

    /// Sets the block number of a DATA or ACK packet.
    pub fn set_block(&mut self, block: u16) {
        self.set_u16_at(field::BLOCK, block);
    }

    /// Sets the error code of an ERROR packet.
    pub fn set_error_code(&mut self, code: ErrorCode) {
        self.set_u16_at(field::ERROR_CODE, code.into());
    }

    /// The mutable payload of a DATA packet.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA]
    }
}

/// A parsed TFTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// Read request (RFC 1350 §5, options RFC 2347 §2).
    Rrq {
        /// The file name, without its NUL.
        filename: &'a str,
        /// The transfer mode.
        mode: Mode,
        /// The options this codec understands.
        options: TransferOptions,
    },
    /// A block of data. Blocks are numbered from 1 and wrap after 65535.
    Data {
        /// The block number.
        block: u16,
        /// The payload; shorter than the block size in the last block.
        data: &'a [u8],
    },
    /// Acknowledgement of a DATA block, or of an OACK as block 0.
    Ack {
        /// The acknowledged block number.
        block: u16,
    },
    /// Error; it ends the transfer (RFC 1350 §7).
    Error {
        /// The error code.
        code: ErrorCode,
        /// The message. On receipt it is the text up to the first NUL (or
        /// the end of the packet if a sloppy server omits the NUL), cut at the
        /// first invalid UTF-8 sequence.
        msg: &'a str,
    },
    /// Option acknowledgement (RFC 2347 §2).
    Oack {
        /// The acknowledged options this codec understands.
        options: TransferOptions,
    },
}

impl<'a> Repr<'a> {
    /// Parses a checked packet. Fails on WRQ, unknown opcodes, strings
    /// without their NUL, non-UTF-8 file names, unknown modes, and repeated,
    /// non-numeric or out-of-range values of known options.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        packet.check_len()?;
        let buffer: &'a T = packet.buffer;
        let buffer: &'a [u8] = buffer.as_ref();
        match packet.opcode() {
            OpCode::Rrq => {
                let (filename, rest) = split_cstr(&buffer[field::STRINGS]).ok_or(Error)?;
                let (mode, rest) = split_cstr(rest).ok_or(Error)?;
                Ok(Repr::Rrq {
                    filename: core::str::from_utf8(filename).map_err(|_| Error)?,
                    mode: Mode::parse(mode)?,
                    options: TransferOptions::parse(rest)?,
                })
            }
            OpCode::Data => Ok(Repr::Data {
                block: packet.block(),
                data: &buffer[field::DATA],
            }),
            OpCode::Ack => Ok(Repr::Ack {
                block: packet.block(),
            }),
            OpCode::Error => {
                let msg = &buffer[field::ERROR_MSG];
                let msg = split_cstr(msg).map_or(msg, |(msg, _)| msg);
                Ok(Repr::Error {
                    code: packet.error_code(),
                    msg: utf8_prefix(msg),
                })
            }
            OpCode::Oack => Ok(Repr::Oack {
                options: TransferOptions::parse(&buffer[field::STRINGS])?,
            }),
            OpCode::Wrq | OpCode::Unknown(_) => Err(Error),
        }
    }

    /// The length of the emitted packet.
    pub fn buffer_len(&self) -> usize {
        field::OPCODE.end
            + match self {
                Repr::Rrq {
                    filename,
                    mode,
                    options,
                } => filename.len() + 1 + mode.as_str().len() + 1 + options.buffer_len(),
                Repr::Data { data, .. } => 2 + data.len(),
                Repr::Ack { .. } => 2,
                Repr::Error { msg, .. } => 2 + msg.len() + 1,
                Repr::Oack { options } => options.buffer_len(),
            }
    }

    /// The opcode of this packet.
    pub fn opcode(&self) -> OpCode {
        match self {
            Repr::Rrq { .. } => OpCode::Rrq,
            Repr::Data { .. } => OpCode::Data,
            Repr::Ack { .. } => OpCode::Ack,
            Repr::Error { .. } => OpCode::Error,
            Repr::Oack { .. } => OpCode::Oack,
        }
    }

    /// Writes the packet into the first [`Repr::buffer_len`] octets of
    /// `packet`.
    ///
    /// A file name or message containing NUL produces a packet that parses
    /// differently; callers reject such names before building a request.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_opcode(self.opcode());
        match *self {
            Repr::Rrq {
                filename,
                mode,
                ref options,
            } => {
                let mut out = Writer::new(&mut packet.buffer.as_mut()[field::STRINGS]);
                out.put_cstr(filename.as_bytes());
                out.put_cstr(mode.as_str().as_bytes());
                options.emit(&mut out);
            }
            Repr::Data { block, data } => {
                packet.set_block(block);
                packet.data_mut()[..data.len()].copy_from_slice(data);
            }
            Repr::Ack { block } => packet.set_block(block),
            Repr::Error { code, msg } => {
                packet.set_error_code(code);
                Writer::new(&mut packet.buffer.as_mut()[field::ERROR_MSG]).put_cstr(msg.as_bytes());
            }
            Repr::Oack { ref options } => {
                options.emit(&mut Writer::new(
                    &mut packet.buffer.as_mut()[field::STRINGS],
                ));
            }
        }
    }
}

impl fmt::Display for Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repr::Rrq {
                filename,
                mode,
                options,
            } => write!(f, "RRQ {:?} {} {:?}", filename, mode.as_str(), options),
            Repr::Data { block, data } => write!(f, "DATA block={} len={}", block, data.len()),
            Repr::Ack { block } => write!(f, "ACK block={}", block),
            Repr::Error { code, msg } => write!(f, "ERROR {} {:?}", code, msg),
            Repr::Oack { options } => write!(f, "OACK {:?}", options),
        }
    }
}

/// Sequential writer into an emit buffer.
struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> Writer<'b> {
    fn new(buf: &'b mut [u8]) -> Writer<'b> {
        Writer { buf, pos: 0 }
    }

    /// Writes `bytes` and a terminating NUL.
    fn put_cstr(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        self.buf[self.pos..end].copy_from_slice(bytes);
        self.buf[end] = 0;
        self.pos = end + 1;
    }
}

/// Splits `bytes` at its first NUL into (string, rest after the NUL).
fn split_cstr(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let nul = bytes.iter().position(|&b| b == 0)?;
    Some((&bytes[..nul], &bytes[nul + 1..]))
}

/// The longest valid UTF-8 prefix of `bytes`.
fn utf8_prefix(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(text) => text,
        // `valid_up_to` is a char boundary, so this cannot fail.
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// Parses a non-empty ASCII decimal number without sign, spaces or overflow.
fn parse_decimal(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|&d| d < 10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

fn decimal_len(mut value: u64) -> usize {
    let mut len = 1;
    while value >= 10 {
        value /= 10;
        len += 1;
    }
    len
}

fn format_decimal(mut value: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    &digits[start..]
}

#[cfg(test)]
mod test {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Repr<'_>> {
        Repr::parse(&Packet::new_checked(bytes)?)
    }

    fn emit(repr: &Repr<'_>) -> Vec<u8> {
        let mut bytes = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut bytes[..]));
        bytes
    }

    // Captured on loopback: `curl 7.88.1 tftp://127.0.0.1:PORT/hello.txt`.
    static CURL_RRQ: &[u8] =
        b"\x00\x01hello.txt\x00octet\x00tsize\x000\x00blksize\x00512\x00timeout\x006\x00";

    // Captured: `busybox tftp -g -b 1468 -r hello.txt 127.0.0.1 PORT` (1.35.0).
    static BUSYBOX_RRQ: &[u8] = b"\x00\x01hello.txt\x00octet\x00blksize\x001468\x00tsize\x000\x00";

    // The RRQ pxeinit sends by default, for a 513-octet file.
    static PXEINIT_RRQ: &[u8] = b"\x00\x01f513\x00octet\x00blksize\x001468\x00timeout\x001\x00tsize\x000\x00windowsize\x0016\x00utimeout\x00100000\x00";

    // Captured: tftpd-hpa 5.2 answering PXEINIT_RRQ (no windowsize support).
    static HPA_OACK: &[u8] =
        b"\x00\x06blksize\x001468\x00timeout\x001\x00tsize\x00513\x00utimeout\x00100000\x00";

    // Captured: rs-tftpd 1.0.0 (`cargo install tftpd`) answering PXEINIT_RRQ.
    static RS_TFTPD_OACK: &[u8] = b"\x00\x06blksize\x001468\x00timeout\x001\x00tsize\x00513\x00windowsize\x0016\x00utimeout\x00100000\x00";

    // Captured: dnsmasq 2.90 answering PXEINIT_RRQ (no timeout, no windowsize).
    static DNSMASQ_OACK: &[u8] = b"\x00\x06blksize\x001468\x00tsize\x00513\x00";

    // Captured: tftpd-hpa 5.2, missing file.
    static HPA_NOT_FOUND: &[u8] = b"\x00\x05\x00\x01File not found\x00";

    // Captured: dnsmasq 2.90, missing file.
    static DNSMASQ_NOT_FOUND: &[u8] =
        b"\x00\x05\x00\x01file /tmp/tftproot/missing not found for 127.0.0.1\x00";

    #[test]
    fn rrq_from_curl() {
        assert_eq!(
            parse(CURL_RRQ),
            Ok(Repr::Rrq {
                filename: "hello.txt",
                mode: Mode::Octet,
                options: TransferOptions {
                    blksize: Some(512),
                    timeout: Some(6),
                    tsize: Some(0),
                    ..TransferOptions::default()
                },
            })
        );
        let packet = Packet::new_checked(CURL_RRQ).unwrap();
        let names: Vec<&[u8]> = packet.options().map(|(name, _)| name).collect();
        assert_eq!(names, [&b"tsize"[..], b"blksize", b"timeout"]);
    }

    #[test]
    fn rrq_from_busybox() {
        let Ok(Repr::Rrq { options, .. }) = parse(BUSYBOX_RRQ) else {
            panic!("not an RRQ")
        };
        assert_eq!(options.blksize, Some(1468));
        assert_eq!(options.tsize, Some(0));
    }

    #[test]
    fn rrq_emit_exact_bytes() {
        let repr = Repr::Rrq {
            filename: "f513",
            mode: Mode::Octet,
            options: TransferOptions {
                blksize: Some(1468),
                timeout: Some(1),
                tsize: Some(0),
                windowsize: Some(16),
                utimeout: Some(100_000),
            },
        };
        assert_eq!(emit(&repr), PXEINIT_RRQ);
        assert_eq!(parse(PXEINIT_RRQ), Ok(repr));
    }

    #[test]
    fn oack_from_tftpd_hpa() {
        assert_eq!(
            parse(HPA_OACK),
            Ok(Repr::Oack {
                options: TransferOptions {
                    blksize: Some(1468),
                    timeout: Some(1),
                    tsize: Some(513),
                    utimeout: Some(100_000),
                    windowsize: None,
                },
            })
        );
    }

    #[test]
    fn oack_from_rs_tftpd() {
        assert_eq!(
            parse(RS_TFTPD_OACK),
            Ok(Repr::Oack {
                options: TransferOptions {
                    blksize: Some(1468),
                    timeout: Some(1),
                    tsize: Some(513),
                    windowsize: Some(16),
                    utimeout: Some(100_000),
                },
            })
        );
    }

    #[test]
    fn oack_from_dnsmasq() {
        assert_eq!(
            parse(DNSMASQ_OACK),
            Ok(Repr::Oack {
                options: TransferOptions {
                    blksize: Some(1468),
                    tsize: Some(513),
                    ..TransferOptions::default()
                },
            })
        );
    }

    #[test]
    fn errors_from_servers() {
        assert_eq!(
            parse(HPA_NOT_FOUND),
            Ok(Repr::Error {
                code: ErrorCode::FileNotFound,
                msg: "File not found"
            })
        );
        assert_eq!(
            parse(DNSMASQ_NOT_FOUND),
            Ok(Repr::Error {
                code: ErrorCode::FileNotFound,
                msg: "file /tmp/tftproot/missing not found for 127.0.0.1"
            })
        );
    }

    #[test]
    fn error_leniency() {
        // No NUL terminator, invalid UTF-8 tail, unknown code.
        assert_eq!(
            parse(b"\x00\x05\x00\x63bad \xff\xfe"),
            Ok(Repr::Error {
                code: ErrorCode::Unknown(99),
                msg: "bad "
            })
        );
        assert_eq!(
            parse(b"\x00\x05\x00\x00"),
            Ok(Repr::Error {
                code: ErrorCode::NotDefined,
                msg: ""
            })
        );
    }

    #[test]
    fn data_and_ack() {
        assert_eq!(
            parse(b"\x00\x03\xff\xffabc"),
            Ok(Repr::Data {
                block: 65535,
                data: b"abc"
            })
        );
        assert_eq!(
            parse(b"\x00\x03\x00\x00"),
            Ok(Repr::Data {
                block: 0,
                data: b""
            })
        );
        assert_eq!(parse(b"\x00\x04\x01\x02"), Ok(Repr::Ack { block: 0x0102 }));
        assert_eq!(emit(&Repr::Ack { block: 0x0102 }), b"\x00\x04\x01\x02");
        let data = Repr::Data {
            block: 7,
            data: b"xyz",
        };
        assert_eq!(emit(&data), b"\x00\x03\x00\x07xyz");
    }

    #[test]
    fn option_names_are_case_insensitive() {
        let Ok(Repr::Oack { options }) =
            parse(b"\x00\x06BlkSize\x001024\x00WINDOWSIZE\x004\x00TSize\x009\x00")
        else {
            panic!("not an OACK")
        };
        assert_eq!(options.blksize, Some(1024));
        assert_eq!(options.windowsize, Some(4));
        assert_eq!(options.tsize, Some(9));
    }

    #[test]
    fn unknown_options_are_skipped() {
        assert_eq!(
            parse(b"\x00\x06rollover\x000\x00blksize\x00512\x00"),
            Ok(Repr::Oack {
                options: TransferOptions {
                    blksize: Some(512),
                    ..TransferOptions::default()
                }
            })
        );
    }

    #[test]
    fn bad_options_are_rejected() {
        for bad in [
            &b"\x00\x06blksize\x007\x00"[..],                // below 8
            b"\x00\x06blksize\x0065465\x00",                 // above 65464
            b"\x00\x06blksize\x00\x00",                      // empty value
            b"\x00\x06blksize\x00+512\x00",                  // sign
            b"\x00\x06blksize\x00 512\x00",                  // space
            b"\x00\x06timeout\x000\x00",                     // below 1
            b"\x00\x06timeout\x00256\x00",                   // above 255
            b"\x00\x06windowsize\x000\x00",                  // below 1
            b"\x00\x06tsize\x0018446744073709551616\x00",    // u64 overflow
            b"\x00\x06blksize\x00512\x00blksize\x00512\x00", // repeated
            b"\x00\x06blksize\x00512",                       // value without NUL
            b"\x00\x06blksize\x00512\x00tsize",              // dangling name
        ] {
            assert_eq!(parse(bad), Err(Error), "{:?}", bad);
        }
        assert_eq!(
            parse(b"\x00\x06tsize\x0018446744073709551615\x00"),
            Ok(Repr::Oack {
                options: TransferOptions {
                    tsize: Some(u64::MAX),
                    ..TransferOptions::default()
                }
            })
        );
    }

    #[test]
    fn truncated_and_unknown_packets() {
        for bad in [
            &b""[..],
            b"\x00",
            b"\x00\x03\x00",
            b"\x00\x04",
            b"\x00\x05\x00",
            b"\x00\x02file\x00octet\x00",  // WRQ
            b"\x00\x07\x00\x01",           // unknown opcode
            b"\x00\x01file",               // RRQ without NUL
            b"\x00\x01file\x00octet",      // mode without NUL
            b"\x00\x01file\x00binary\x00", // unknown mode
            b"\x00\x01\xff\x00octet\x00",  // non-UTF-8 file name
        ] {
            assert_eq!(parse(bad), Err(Error), "{:?}", bad);
        }
        // The empty OACK is legal.
        assert_eq!(
            parse(b"\x00\x06"),
            Ok(Repr::Oack {
                options: TransferOptions::default()
            })
        );
        assert_eq!(
            Packet::new_checked(&b"\x00\x07"[..]).map(|p| p.opcode()),
            Ok(OpCode::Unknown(7))
        );
    }

    #[test]
    fn option_iter_stops_on_truncation() {
        let packet = Packet::new_checked(&b"\x00\x06tsize\x00513\x00blksize\x00146"[..]).unwrap();
        assert_eq!(packet.options().count(), 1);
    }

    #[test]
    fn decimal_round_trip() {
        let mut digits = [0u8; 20];
        for value in [0, 1, 9, 10, 99, 100, 65464, u64::MAX] {
            let text = format_decimal(value, &mut digits);
            assert_eq!(text.len(), decimal_len(value));
            assert_eq!(parse_decimal(text), Some(value));
        }
    }

    /// xorshift64*: a dependency-free pseudo-random generator for the fuzz
    /// loops below.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn byte(&mut self) -> u8 {
            (self.next() >> 56) as u8
        }
    }

    /// Parse must not panic on anything, and whatever parses must re-emit to
    /// bytes that parse to the same `Repr` (parse → emit → parse).
    fn check_round_trip(bytes: &[u8]) {
        let Ok(packet) = Packet::new_checked(bytes) else {
            return;
        };
        let _ = (packet.opcode(), packet.options().count());
        let Ok(repr) = Repr::parse(&packet) else {
            return;
        };
        let emitted = emit(&repr);
        let packet = Packet::new_checked(&emitted[..]).expect("emitted packet checks");
        assert_eq!(Repr::parse(&packet), Ok(repr), "round trip of {:?}", bytes);
    }

    #[test]
    fn fuzz_random_bytes() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Bias towards valid opcodes, NULs, digits and option names so that
        // the interesting paths are reached, not only the opcode check.
        let alphabet: &[u8] =
            b"\x00\x00\x00\x01\x03\x04\x05\x0609blksizetimeoutwindowsizetsizeoctet\xff";
        for _ in 0..200_000 {
            let len = (rng.next() % 48) as usize;
            let mut bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.next().is_multiple_of(4) {
                        rng.byte()
                    } else {
                        alphabet[rng.next() as usize % alphabet.len()]
                    }
                })
                .collect();
            if len >= 2 && rng.next().is_multiple_of(2) {
                bytes[0] = 0;
                bytes[1] = (rng.next() % 8) as u8;
            }
            check_round_trip(&bytes);
        }
    }

    #[test]
    fn fuzz_truncations_and_bit_flips() {
        let seeds = [
            CURL_RRQ,
            BUSYBOX_RRQ,
            PXEINIT_RRQ,
            HPA_OACK,
            RS_TFTPD_OACK,
            DNSMASQ_OACK,
            HPA_NOT_FOUND,
            DNSMASQ_NOT_FOUND,
            b"\x00\x03\x00\x01hello",
            b"\x00\x04\xff\xff",
        ];
        for seed in seeds {
            for len in 0..=seed.len() {
                check_round_trip(&seed[..len]);
            }
            for bit in 0..seed.len() * 8 {
                let mut flipped = seed.to_vec();
                flipped[bit / 8] ^= 1 << (bit % 8);
                check_round_trip(&flipped);
            }
        }
    }
}

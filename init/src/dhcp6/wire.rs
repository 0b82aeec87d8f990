//! DHCPv6 wire format (RFC 8415 §8, §21; RFC 5970; RFC 3646): a pure
//! codec, no I/O.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +---------------+-----------------------------------------------+
//! |    msg-type   |               transaction-id                  |
//! +---------------+-----------------------------------------------+
//! |          option-code          |           option-len          |
//! +-------------------------------+-------------------------------+
//! |                 option-data (option-len octets)  ...          |
//! +---------------------------------------------------------------+
//! ```
//!
//! [`Packet::new_checked`] is for untrusted input; [`Repr::parse`] then
//! cannot panic, and refuses a packet whose options do not add up (an
//! option running past the end, a trailing fragment). [`Repr::emit`] writes
//! exactly [`Repr::buffer_len`] bytes. The [`Repr`] keeps the options as
//! raw bytes in the order they came (DHCPv6 options may repeat: several
//! IA_NA, several IAADDR inside one), with typed accessors for what a
//! network boot client uses; the encapsulated options of IA_NA are parsed
//! by [`IaNa::parse`] with the same rules.

use std::fmt;
use std::net::Ipv6Addr;

/// Option codes pxeinit uses (RFC 8415 §21, RFC 3646, RFC 5970).
#[allow(missing_docs)]
pub mod opt {
    pub const CLIENTID: u16 = 1;
    pub const SERVERID: u16 = 2;
    pub const IA_NA: u16 = 3;
    pub const IAADDR: u16 = 5;
    pub const ORO: u16 = 6;
    pub const PREFERENCE: u16 = 7;
    pub const ELAPSED_TIME: u16 = 8;
    pub const STATUS_CODE: u16 = 13;
    pub const RAPID_COMMIT: u16 = 14;
    pub const DNS_SERVERS: u16 = 23;
    pub const DOMAIN_LIST: u16 = 24;
    pub const INFORMATION_REFRESH_TIME: u16 = 32;
    pub const BOOTFILE_URL: u16 = 59;
    pub const BOOTFILE_PARAM: u16 = 60;
    pub const CLIENT_ARCH_TYPE: u16 = 61;
    pub const NII: u16 = 62;
    pub const SOL_MAX_RT: u16 = 82;
    pub const INF_MAX_RT: u16 = 83;
}

/// Status codes (RFC 8415 §21.13).
#[allow(missing_docs)]
pub mod status {
    pub const SUCCESS: u16 = 0;
    pub const UNSPEC_FAIL: u16 = 1;
    pub const NO_ADDRS_AVAIL: u16 = 2;
    pub const NO_BINDING: u16 = 3;
    pub const NOT_ON_LINK: u16 = 4;
    pub const USE_MULTICAST: u16 = 5;
}

/// A malformed DHCPv6 packet or option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed DHCPv6 packet")
    }
}

impl std::error::Error for Error {}

/// DHCPv6 message types (RFC 8415 §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum MessageType {
    Solicit,
    Advertise,
    Request,
    Confirm,
    Renew,
    Rebind,
    Reply,
    Release,
    Decline,
    Reconfigure,
    InformationRequest,
    RelayForw,
    RelayRepl,
    Unknown(u8),
}

impl From<u8> for MessageType {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::Solicit,
            2 => Self::Advertise,
            3 => Self::Request,
            4 => Self::Confirm,
            5 => Self::Renew,
            6 => Self::Rebind,
            7 => Self::Reply,
            8 => Self::Release,
            9 => Self::Decline,
            10 => Self::Reconfigure,
            11 => Self::InformationRequest,
            12 => Self::RelayForw,
            13 => Self::RelayRepl,
            x => Self::Unknown(x),
        }
    }
}

impl From<MessageType> for u8 {
    fn from(v: MessageType) -> u8 {
        match v {
            MessageType::Solicit => 1,
            MessageType::Advertise => 2,
            MessageType::Request => 3,
            MessageType::Confirm => 4,
            MessageType::Renew => 5,
            MessageType::Rebind => 6,
            MessageType::Reply => 7,
            MessageType::Release => 8,
            MessageType::Decline => 9,
            MessageType::Reconfigure => 10,
            MessageType::InformationRequest => 11,
            MessageType::RelayForw => 12,
            MessageType::RelayRepl => 13,
            MessageType::Unknown(x) => x,
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            MessageType::Solicit => "SOLICIT",
            MessageType::Advertise => "ADVERTISE",
            MessageType::Request => "REQUEST",
            MessageType::Confirm => "CONFIRM",
            MessageType::Renew => "RENEW",
            MessageType::Rebind => "REBIND",
            MessageType::Reply => "REPLY",
            MessageType::Release => "RELEASE",
            MessageType::Decline => "DECLINE",
            MessageType::Reconfigure => "RECONFIGURE",
            MessageType::InformationRequest => "INFORMATION-REQUEST",
            MessageType::RelayForw => "RELAY-FORW",
            MessageType::RelayRepl => "RELAY-REPL",
            MessageType::Unknown(x) => return write!(f, "message type {x}"),
        };
        f.write_str(s)
    }
}

/// The fixed header: message type and transaction id.
const HEADER_LEN: usize = 4;
/// An option's code and length.
const OPTION_HEADER_LEN: usize = 4;

/// A read-only view of a DHCPv6 client/server message in a buffer.
#[derive(Debug)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wrap untrusted input: checks that the header is present.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Ensure the header is within the buffer.
    pub fn check_len(&self) -> Result<(), Error> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error);
        }
        Ok(())
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The message type.
    pub fn msg_type(&self) -> MessageType {
        MessageType::from(self.b()[0])
    }

    /// The 24-bit transaction id.
    pub fn transaction_id(&self) -> u32 {
        let b = self.b();
        u32::from_be_bytes([0, b[1], b[2], b[3]])
    }

    /// The options area.
    pub fn options(&self) -> &[u8] {
        &self.b()[HEADER_LEN..]
    }
}

/// One option: its code and its data, undecoded.
pub type RawOption = (u16, Vec<u8>);

/// Split an options area (the message's, or an IA_NA's encapsulated
/// options) into code and data, in order. An option longer than what is
/// left, or a fragment shorter than an option header, is an error.
pub fn parse_options(mut b: &[u8]) -> Result<Vec<RawOption>, Error> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let h = b.get(..OPTION_HEADER_LEN).ok_or(Error)?;
        let code = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let data = b
            .get(OPTION_HEADER_LEN..OPTION_HEADER_LEN + len)
            .ok_or(Error)?;
        out.push((code, data.to_vec()));
        b = &b[OPTION_HEADER_LEN + len..];
    }
    Ok(out)
}

/// The bytes of `options` as an options area (data longer than 65535
/// bytes is cut there: an option cannot say more).
pub fn emit_options(options: &[RawOption], out: &mut Vec<u8>) {
    for (code, data) in options {
        let data = &data[..data.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&code.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
    }
}

fn options_len(options: &[RawOption]) -> usize {
    options
        .iter()
        .map(|(_, d)| OPTION_HEADER_LEN + d.len().min(usize::from(u16::MAX)))
        .sum()
}

/// A DHCPv6 message as pxeinit uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr {
    /// The message type.
    pub msg_type: MessageType,
    /// The transaction id (24 bits; higher bits are not emitted).
    pub xid: u32,
    /// The options, in order.
    pub options: Vec<RawOption>,
}

impl Repr {
    /// A message with no options.
    pub fn new(msg_type: MessageType, xid: u32) -> Repr {
        Repr {
            msg_type,
            xid: xid & 0x00ff_ffff,
            options: Vec::new(),
        }
    }

    /// Parse a checked packet. Cannot panic after [`Packet::new_checked`].
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, Error> {
        p.check_len()?;
        Ok(Repr {
            msg_type: p.msg_type(),
            xid: p.transaction_id(),
            options: parse_options(p.options())?,
        })
    }

    /// Bytes [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + options_len(&self.options)
    }

    /// Emit into `buf`, which must be at least [`buffer_len`](Self::buffer_len) long.
    pub fn emit(&self, buf: &mut [u8]) {
        let mut v = Vec::with_capacity(self.buffer_len());
        v.push(self.msg_type.into());
        v.extend_from_slice(&self.xid.to_be_bytes()[1..]);
        emit_options(&self.options, &mut v);
        buf[..v.len()].copy_from_slice(&v);
    }

    /// Emit into a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len()];
        self.emit(&mut v);
        v
    }

    /// Append an option.
    pub fn push(&mut self, code: u16, data: impl Into<Vec<u8>>) -> &mut Self {
        self.options.push((code, data.into()));
        self
    }

    /// The data of the first option `code`.
    pub fn get(&self, code: u16) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, d)| d.as_slice())
    }

    /// Whether option `code` is present.
    pub fn has(&self, code: u16) -> bool {
        self.get(code).is_some()
    }

    /// The Client Identifier (a DUID).
    pub fn client_id(&self) -> Option<&[u8]> {
        self.get(opt::CLIENTID)
    }

    /// The Server Identifier (a DUID).
    pub fn server_id(&self) -> Option<&[u8]> {
        self.get(opt::SERVERID)
    }

    /// The Option Request option's codes (what a server sees; the tests
    /// and the fuzz target read it).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn oro(&self) -> Vec<u16> {
        self.get(opt::ORO).map(u16s).unwrap_or_default()
    }

    /// The server's preference (0 when absent, RFC 8415 §18.2.9).
    pub fn preference(&self) -> u8 {
        self.get(opt::PREFERENCE)
            .and_then(|d| d.first().copied())
            .unwrap_or(0)
    }

    /// The top-level Status Code (success when absent).
    pub fn status(&self) -> Status {
        self.get(opt::STATUS_CODE)
            .and_then(Status::parse)
            .unwrap_or_default()
    }

    /// The first IA_NA that parses.
    pub fn ia_na(&self) -> Option<IaNa> {
        self.options
            .iter()
            .filter(|(c, _)| *c == opt::IA_NA)
            .find_map(|(_, d)| IaNa::parse(d).ok())
    }

    /// DNS recursive name servers (option 23).
    pub fn dns_servers(&self) -> Vec<Ipv6Addr> {
        self.get(opt::DNS_SERVERS).map(addrs).unwrap_or_default()
    }

    /// The domain search list (option 24), each name dotted, without the
    /// final dot; names that do not decode are left out.
    pub fn domain_list(&self) -> Vec<String> {
        self.get(opt::DOMAIN_LIST)
            .map(domain_names)
            .unwrap_or_default()
    }

    /// The boot file URL (option 59), trimmed of NULs and spaces.
    pub fn bootfile_url(&self) -> Option<String> {
        let d = self.get(opt::BOOTFILE_URL)?;
        let end = d.iter().position(|&c| c == 0).unwrap_or(d.len());
        let s = String::from_utf8_lossy(&d[..end]).trim().to_string();
        (!s.is_empty()).then_some(s)
    }

    /// The boot file parameters (option 60): each a 16-bit length and the
    /// text; a parameter running past the end ends the list.
    pub fn bootfile_params(&self) -> Vec<String> {
        let Some(mut d) = self.get(opt::BOOTFILE_PARAM) else {
            return vec![];
        };
        let mut out = Vec::new();
        while let Some(h) = d.get(..2) {
            let n = usize::from(u16::from_be_bytes([h[0], h[1]]));
            let Some(p) = d.get(2..2 + n) else { break };
            out.push(String::from_utf8_lossy(p).into_owned());
            d = &d[2 + n..];
        }
        out
    }

    /// Whether the Rapid Commit option is present.
    pub fn rapid_commit(&self) -> bool {
        self.has(opt::RAPID_COMMIT)
    }
}

/// A list of big-endian u16 (ORO, option 61); an odd byte is left out.
#[cfg_attr(not(test), allow(dead_code))]
pub fn u16s(d: &[u8]) -> Vec<u16> {
    d.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// A list of IPv6 addresses; a partial one at the end is left out.
pub fn addrs(d: &[u8]) -> Vec<Ipv6Addr> {
    d.chunks_exact(16)
        .filter_map(|c| <[u8; 16]>::try_from(c).ok())
        .map(Ipv6Addr::from)
        .collect()
}

/// A u16 list option's data.
pub fn u16_data(codes: &[u16]) -> Vec<u8> {
    codes.iter().flat_map(|c| c.to_be_bytes()).collect()
}

/// Decode a list of uncompressed DNS names (RFC 8415 §10, RFC 1035 §3.1).
pub fn domain_names(mut d: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    'names: while !d.is_empty() {
        let mut labels: Vec<String> = Vec::new();
        loop {
            let Some((&n, rest)) = d.split_first() else {
                break 'names;
            };
            let n = usize::from(n);
            if n == 0 {
                d = rest;
                break;
            }
            // Compression is not allowed here; a pointer ends the list.
            let Some(label) = rest.get(..n).filter(|_| n <= 63) else {
                break 'names;
            };
            labels.push(String::from_utf8_lossy(label).into_owned());
            d = &rest[n..];
        }
        if !labels.is_empty() {
            out.push(labels.join("."));
        }
    }
    out
}

/// A Status Code option: code and message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    /// The status code ([`status`]).
    pub code: u16,
    /// The message, for people.
    pub message: String,
}

impl Status {
    /// Parse a Status Code option's data.
    pub fn parse(d: &[u8]) -> Option<Status> {
        let h = d.get(..2)?;
        Some(Status {
            code: u16::from_be_bytes([h[0], h[1]]),
            message: String::from_utf8_lossy(&d[2..]).trim().to_string(),
        })
    }

    /// Option data.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = self.code.to_be_bytes().to_vec();
        v.extend_from_slice(self.message.as_bytes());
        v
    }

    /// Whether this is Success.
    pub fn is_success(&self) -> bool {
        self.code == status::SUCCESS
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.code {
            status::SUCCESS => "Success",
            status::UNSPEC_FAIL => "UnspecFail",
            status::NO_ADDRS_AVAIL => "NoAddrsAvail",
            status::NO_BINDING => "NoBinding",
            status::NOT_ON_LINK => "NotOnLink",
            status::USE_MULTICAST => "UseMulticast",
            _ => "status",
        };
        write!(f, "{name} ({})", self.code)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// An IA Address option (RFC 8415 §21.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaAddr {
    /// The address.
    pub addr: Ipv6Addr,
    /// Preferred lifetime, seconds.
    pub preferred: u32,
    /// Valid lifetime, seconds.
    pub valid: u32,
    /// Its Status Code, if any.
    pub status: Option<Status>,
}

impl IaAddr {
    /// Parse an IAADDR option's data.
    pub fn parse(d: &[u8]) -> Result<IaAddr, Error> {
        let h = d.get(..24).ok_or(Error)?;
        let a: [u8; 16] = h[..16].try_into().map_err(|_| Error)?;
        let u = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let inner = parse_options(&d[24..])?;
        Ok(IaAddr {
            addr: Ipv6Addr::from(a),
            preferred: u(16),
            valid: u(20),
            status: inner
                .iter()
                .find(|(c, _)| *c == opt::STATUS_CODE)
                .and_then(|(_, d)| Status::parse(d)),
        })
    }

    /// Option data.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = self.addr.octets().to_vec();
        v.extend_from_slice(&self.preferred.to_be_bytes());
        v.extend_from_slice(&self.valid.to_be_bytes());
        if let Some(s) = &self.status {
            emit_options(&[(opt::STATUS_CODE, s.to_vec())], &mut v);
        }
        v
    }
}

/// An Identity Association for Non-temporary Addresses (RFC 8415 §21.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IaNa {
    /// The client's IAID.
    pub iaid: u32,
    /// T1, seconds.
    pub t1: u32,
    /// T2, seconds.
    pub t2: u32,
    /// The addresses (IAADDR options that parse).
    pub addrs: Vec<IaAddr>,
    /// The IA's Status Code, if any.
    pub status: Option<Status>,
}

impl IaNa {
    /// Parse an IA_NA option's data.
    pub fn parse(d: &[u8]) -> Result<IaNa, Error> {
        let h = d.get(..12).ok_or(Error)?;
        let u = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let inner = parse_options(&d[12..])?;
        let mut ia = IaNa {
            iaid: u(0),
            t1: u(4),
            t2: u(8),
            ..IaNa::default()
        };
        for (c, d) in &inner {
            match *c {
                opt::IAADDR => {
                    if let Ok(a) = IaAddr::parse(d) {
                        ia.addrs.push(a)
                    }
                }
                opt::STATUS_CODE if ia.status.is_none() => ia.status = Status::parse(d),
                _ => {}
            }
        }
        Ok(ia)
    }

    /// Option data.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(12);
        v.extend_from_slice(&self.iaid.to_be_bytes());
        v.extend_from_slice(&self.t1.to_be_bytes());
        v.extend_from_slice(&self.t2.to_be_bytes());
        let mut inner: Vec<RawOption> = self
            .addrs
            .iter()
            .map(|a| (opt::IAADDR, a.to_vec()))
            .collect();
        if let Some(s) = &self.status {
            inner.push((opt::STATUS_CODE, s.to_vec()));
        }
        emit_options(&inner, &mut v);
        v
    }

    /// The first address usable: valid lifetime above zero and no failed
    /// status of its own.
    pub fn usable(&self) -> Option<&IaAddr> {
        self.addrs
            .iter()
            .find(|a| a.valid > 0 && a.status.as_ref().is_none_or(Status::is_success))
    }
}

/// DUID-LL (RFC 8415 §11.4): type 3, hardware type 1 (Ethernet), the MAC.
pub fn duid_ll(mac: &[u8; 6]) -> Vec<u8> {
    let mut v = vec![0, 3, 0, 1];
    v.extend_from_slice(mac);
    v
}

/// DUID-UUID (RFC 6355): type 4 and the 16 bytes of the machine UUID.
pub fn duid_uuid(uuid: &[u8; 16]) -> Vec<u8> {
    let mut v = vec![0, 4];
    v.extend_from_slice(uuid);
    v
}

/// A DUID as lowercase hex with colons (how dnsmasq and Kea print them).
pub fn format_duid(d: &[u8]) -> String {
    d.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod test {
    use super::*;
    use dhcproto::v6;
    use dhcproto::{Decodable, Decoder, Encodable};

    const MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];

    /// Encode names as a DNS name list (labels over 63 bytes are cut).
    pub fn encode_domain_names(names: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        for n in names {
            for l in n.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
                let l = &l.as_bytes()[..l.len().min(63)];
                v.push(l.len() as u8);
                v.extend_from_slice(l);
            }
            v.push(0);
        }
        v
    }

    fn solicit() -> Repr {
        let mut r = Repr::new(MessageType::Solicit, 0x00ab_cdef);
        r.push(opt::CLIENTID, duid_ll(&MAC))
            .push(opt::ELAPSED_TIME, 0u16.to_be_bytes())
            .push(opt::ORO, u16_data(&[23, 24, 59, 60, 82]))
            .push(opt::RAPID_COMMIT, vec![])
            .push(opt::CLIENT_ARCH_TYPE, 0x1fu16.to_be_bytes())
            .push(
                opt::IA_NA,
                IaNa {
                    iaid: 0x1234_5678,
                    ..IaNa::default()
                }
                .to_vec(),
            );
        r
    }

    #[test]
    fn round_trip() {
        let r = solicit();
        let b = r.to_vec();
        assert_eq!(b.len(), r.buffer_len());
        assert_eq!(&b[..4], &[1, 0xab, 0xcd, 0xef]);
        let back = Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.oro(), [23, 24, 59, 60, 82]);
        assert!(back.rapid_commit());
        assert_eq!(back.ia_na().unwrap().iaid, 0x1234_5678);
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf);
        assert_eq!(buf, b);
    }

    /// Our encoder checked by an independent decoder (dhcproto).
    #[test]
    fn dhcproto_reads_what_we_write() {
        let b = solicit().to_vec();
        let m = v6::Message::decode(&mut Decoder::new(&b)).unwrap();
        assert_eq!(m.msg_type(), v6::MessageType::Solicit);
        assert_eq!(m.xid_num(), 0x00ab_cdef);
        let mut saw = 0;
        for o in m.opts().iter() {
            match o {
                v6::DhcpOption::ClientId(d) => {
                    assert_eq!(d, &duid_ll(&MAC));
                    saw |= 1;
                }
                v6::DhcpOption::ElapsedTime(0) => saw |= 2,
                v6::DhcpOption::ORO(oro) => {
                    assert_eq!(oro.opts.len(), 5);
                    saw |= 4;
                }
                v6::DhcpOption::RapidCommit => saw |= 8,
                v6::DhcpOption::IANA(ia) => {
                    assert_eq!(ia.id, 0x1234_5678);
                    saw |= 16;
                }
                v6::DhcpOption::ClientArchType(a) => {
                    assert_eq!(a.len(), 1);
                    saw |= 32;
                }
                _ => {}
            }
        }
        assert_eq!(saw, 63, "options dhcproto found: {:?}", m.opts());
    }

    /// An independent encoder (dhcproto) checked by our decoder: a stateful
    /// REPLY with an address, name servers, a search list and a boot URL.
    #[test]
    fn we_read_what_dhcproto_writes() {
        let addr: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let dns: Ipv6Addr = "2001:db8::53".parse().unwrap();
        let mut m = v6::Message::new_with_id(v6::MessageType::Reply, [1, 2, 3]);
        let o = m.opts_mut();
        o.insert(v6::DhcpOption::ClientId(duid_ll(&MAC)));
        o.insert(v6::DhcpOption::ServerId(vec![0, 1, 0, 1, 9, 9, 9, 9]));
        o.insert(v6::DhcpOption::Preference(200));
        let mut ia_opts = v6::DhcpOptions::new();
        ia_opts.insert(v6::DhcpOption::IAAddr(v6::IAAddr {
            addr,
            preferred_life: 3600,
            valid_life: 7200,
            opts: v6::DhcpOptions::new(),
        }));
        o.insert(v6::DhcpOption::IANA(v6::IANA {
            id: 7,
            t1: 1800,
            t2: 2880,
            opts: ia_opts,
        }));
        o.insert(v6::DhcpOption::DomainNameServers(vec![dns]));
        o.insert(v6::DhcpOption::DomainSearchList(vec!["lab.example."
            .parse()
            .unwrap()]));
        o.insert(v6::DhcpOption::Unknown(v6::UnknownOption::new(
            v6::OptionCode::from(59),
            b"tftp://[2001:db8::1]/boot/pxelinux.0".to_vec(),
        )));
        o.insert(v6::DhcpOption::RapidCommit);
        let b = m.to_vec().unwrap();
        let r = Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(r.msg_type, MessageType::Reply);
        assert_eq!(r.xid, 0x010203);
        assert_eq!(r.client_id(), Some(&duid_ll(&MAC)[..]));
        assert_eq!(r.server_id(), Some(&[0, 1, 0, 1, 9, 9, 9, 9][..]));
        assert_eq!(r.preference(), 200);
        assert!(r.rapid_commit());
        let ia = r.ia_na().unwrap();
        assert_eq!((ia.iaid, ia.t1, ia.t2), (7, 1800, 2880));
        let a = ia.usable().unwrap();
        assert_eq!((a.addr, a.preferred, a.valid), (addr, 3600, 7200));
        assert_eq!(r.dns_servers(), [dns]);
        assert_eq!(r.domain_list(), ["lab.example"]);
        assert_eq!(
            r.bootfile_url().as_deref(),
            Some("tftp://[2001:db8::1]/boot/pxelinux.0")
        );
    }

    /// What QEMU's slirp answers to an INFORMATION-REQUEST (libslirp
    /// `dhcpv6.c`): the echoed Client ID, DNS, the boot URL with the
    /// address written out in full, and no Server Identifier.
    #[test]
    fn slirp_reply() {
        let url = b"tftp://[fec0:0000:0000:0000:0000:0000:0000:0002]/pxelinux.0";
        let mut b = vec![7, 0x11, 0x22, 0x33];
        emit_options(
            &[
                (opt::CLIENTID, duid_ll(&MAC)),
                (
                    opt::DNS_SERVERS,
                    "fec0::3".parse::<Ipv6Addr>().unwrap().octets().to_vec(),
                ),
                (opt::BOOTFILE_URL, url.to_vec()),
            ],
            &mut b,
        );
        let r = Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(r.msg_type, MessageType::Reply);
        assert_eq!(r.xid, 0x112233);
        assert_eq!(r.server_id(), None);
        assert_eq!(r.dns_servers(), ["fec0::3".parse::<Ipv6Addr>().unwrap()]);
        assert_eq!(r.bootfile_url().unwrap().as_bytes(), url);
    }

    #[test]
    fn status_and_params() {
        let mut r = Repr::new(MessageType::Advertise, 1);
        r.push(
            opt::STATUS_CODE,
            Status {
                code: status::NO_ADDRS_AVAIL,
                message: "no addresses".into(),
            }
            .to_vec(),
        );
        let mut p = Vec::new();
        for s in ["console=ttysclp0", "", "auto=true"] {
            p.extend_from_slice(&(s.len() as u16).to_be_bytes());
            p.extend_from_slice(s.as_bytes());
        }
        p.extend_from_slice(&[0, 9, b'x']);
        r.push(opt::BOOTFILE_PARAM, p);
        let r = Repr::parse(&Packet::new_checked(&r.to_vec()[..]).unwrap()).unwrap();
        assert_eq!(r.status().code, status::NO_ADDRS_AVAIL);
        assert_eq!(r.status().to_string(), "NoAddrsAvail (2): no addresses");
        assert_eq!(r.bootfile_params(), ["console=ttysclp0", "", "auto=true"]);
        assert!(Repr::new(MessageType::Reply, 1).status().is_success());
    }

    #[test]
    fn ia_with_failed_address_is_not_usable() {
        let ia = IaNa {
            iaid: 1,
            addrs: vec![
                IaAddr {
                    addr: "2001:db8::1".parse().unwrap(),
                    preferred: 0,
                    valid: 0,
                    status: None,
                },
                IaAddr {
                    addr: "2001:db8::2".parse().unwrap(),
                    preferred: 1,
                    valid: 1,
                    status: Some(Status {
                        code: status::NOT_ON_LINK,
                        message: String::new(),
                    }),
                },
            ],
            ..IaNa::default()
        };
        let back = IaNa::parse(&ia.to_vec()).unwrap();
        assert_eq!(back, ia);
        assert!(back.usable().is_none());
    }

    #[test]
    fn domain_name_codec() {
        let v = encode_domain_names(&["lab.example.", "example"]);
        assert_eq!(domain_names(&v), ["lab.example", "example"]);
        // A compression pointer or a label past the end ends the list.
        assert_eq!(domain_names(&[3, b'a', b'b', b'c', 0, 0xc0, 0]), ["abc"]);
        assert!(domain_names(&[9, b'a']).is_empty());
    }

    #[test]
    fn malformed_is_refused_and_nothing_panics() {
        assert!(Packet::new_checked(&[7u8, 0, 0][..]).is_err());
        // An option claiming more than there is.
        let bad = [7u8, 0, 0, 1, 0, 1, 0, 9, 1, 2];
        assert!(Repr::parse(&Packet::new_checked(&bad[..]).unwrap()).is_err());
        // A trailing fragment shorter than an option header.
        let bad = [7u8, 0, 0, 1, 0, 14, 0, 0, 1];
        assert!(Repr::parse(&Packet::new_checked(&bad[..]).unwrap()).is_err());
        let b = solicit().to_vec();
        for n in 0..b.len() {
            if let Ok(p) = Packet::new_checked(&b[..n]) {
                if let Ok(r) = Repr::parse(&p) {
                    let _ = (r.ia_na(), r.domain_list(), r.bootfile_params());
                }
            }
        }
        let mut x: u32 = 99;
        for _ in 0..5000 {
            let mut g = b.clone();
            for byte in g.iter_mut().skip(4) {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if x >> 29 == 0 {
                    *byte = (x >> 16) as u8;
                }
            }
            if let Ok(r) = Repr::parse(&Packet::new_checked(&g[..]).unwrap()) {
                let _ = (
                    r.ia_na(),
                    r.domain_list(),
                    r.bootfile_params(),
                    r.bootfile_url(),
                    r.status(),
                    r.dns_servers(),
                );
            }
        }
    }

    #[test]
    fn duids() {
        assert_eq!(duid_ll(&MAC), [0, 3, 0, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        let u = [0x11u8; 16];
        let d = duid_uuid(&u);
        assert_eq!(&d[..2], &[0, 4]);
        assert_eq!(d.len(), 18);
        assert_eq!(format_duid(&[0, 3, 0xab]), "00:03:ab");
        // dhcproto decodes a DUID-UUID Client ID unchanged.
        let mut r = Repr::new(MessageType::InformationRequest, 5);
        r.push(opt::CLIENTID, d.clone());
        let m = v6::Message::decode(&mut Decoder::new(&r.to_vec())).unwrap();
        assert!(m
            .opts()
            .iter()
            .any(|o| matches!(o, v6::DhcpOption::ClientId(x) if *x == d)));
    }
}

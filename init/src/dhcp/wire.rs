//! DHCPv4 wire format (RFC 2131 §2, RFC 2132): a pure codec, no I/O.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +---------------+---------------+---------------+---------------+
//! |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
//! +---------------+---------------+---------------+---------------+
//! |                            xid (4)                            |
//! +-------------------------------+-------------------------------+
//! |           secs (2)            |           flags (2)           |
//! +-------------------------------+-------------------------------+
//! |              ciaddr, yiaddr, siaddr, giaddr (4 each)          |
//! +---------------------------------------------------------------+
//! |     chaddr (16)  |  sname (64)  |  file (128)  | magic (4)    |
//! +---------------------------------------------------------------+
//! |                       options (variable)                      |
//! +---------------------------------------------------------------+
//! ```
//!
//! [`Packet::new_checked`] is for untrusted input; [`Repr::parse`] then
//! cannot panic. [`Repr::emit`] writes exactly [`Repr::buffer_len`] bytes.
//! The [`Repr`] keeps the fixed fields pxeinit needs and the options as raw
//! bytes keyed by code (repeated options are concatenated, RFC 3396), with
//! typed accessors for the ones a PXE client uses. Option overload (option
//! 52) is honoured when parsing.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

mod field {
    use std::ops::Range;
    pub const OP: usize = 0;
    pub const HTYPE: usize = 1;
    pub const HLEN: usize = 2;
    pub const XID: Range<usize> = 4..8;
    pub const SECS: Range<usize> = 8..10;
    pub const FLAGS: Range<usize> = 10..12;
    pub const CIADDR: Range<usize> = 12..16;
    pub const YIADDR: Range<usize> = 16..20;
    pub const SIADDR: Range<usize> = 20..24;
    pub const GIADDR: Range<usize> = 24..28;
    pub const CHADDR: Range<usize> = 28..44;
    pub const SNAME: Range<usize> = 44..108;
    pub const FILE: Range<usize> = 108..236;
    pub const MAGIC: Range<usize> = 236..240;
    pub const OPTIONS: usize = 240;
}

/// The magic cookie that starts the options (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// The broadcast bit of the flags field (RFC 2131 §2, figure 2).
pub const FLAG_BROADCAST: u16 = 0x8000;

/// Option codes pxeinit uses (RFC 2132, RFC 4578, RFC 5071).
#[allow(missing_docs)]
pub mod opt {
    pub const PAD: u8 = 0;
    pub const SUBNET_MASK: u8 = 1;
    pub const ROUTER: u8 = 3;
    pub const DNS: u8 = 6;
    pub const HOSTNAME: u8 = 12;
    pub const DOMAIN_NAME: u8 = 15;
    pub const BROADCAST: u8 = 28;
    pub const VENDOR: u8 = 43;
    pub const REQUESTED_IP: u8 = 50;
    pub const LEASE_TIME: u8 = 51;
    pub const OVERLOAD: u8 = 52;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const SERVER_ID: u8 = 54;
    pub const PARAMETER_LIST: u8 = 55;
    pub const MESSAGE: u8 = 56;
    pub const MAX_SIZE: u8 = 57;
    pub const CLASS_ID: u8 = 60;
    pub const CLIENT_ID: u8 = 61;
    pub const TFTP_SERVER: u8 = 66;
    pub const BOOTFILE: u8 = 67;
    pub const CLIENT_ARCH: u8 = 93;
    pub const CLIENT_NDI: u8 = 94;
    pub const CLIENT_UUID: u8 = 97;
    pub const PXELINUX_CONFIGFILE: u8 = 209;
    pub const PXELINUX_PATHPREFIX: u8 = 210;
    pub const PXELINUX_REBOOTTIME: u8 = 211;
    pub const END: u8 = 255;
}

/// A malformed DHCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed DHCP packet")
    }
}

impl std::error::Error for Error {}

/// DHCP message types (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum MessageType {
    Discover,
    Offer,
    Request,
    Decline,
    Ack,
    Nak,
    Release,
    Inform,
    Unknown(u8),
}

impl From<u8> for MessageType {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::Discover,
            2 => Self::Offer,
            3 => Self::Request,
            4 => Self::Decline,
            5 => Self::Ack,
            6 => Self::Nak,
            7 => Self::Release,
            8 => Self::Inform,
            x => Self::Unknown(x),
        }
    }
}

impl From<MessageType> for u8 {
    fn from(v: MessageType) -> u8 {
        match v {
            MessageType::Discover => 1,
            MessageType::Offer => 2,
            MessageType::Request => 3,
            MessageType::Decline => 4,
            MessageType::Ack => 5,
            MessageType::Nak => 6,
            MessageType::Release => 7,
            MessageType::Inform => 8,
            MessageType::Unknown(x) => x,
        }
    }
}

/// A read-only view of a DHCP packet in a buffer.
#[derive(Debug)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wrap untrusted input: checks that the fixed header and the magic
    /// cookie are present.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Ensure the fixed part and the cookie are within the buffer.
    pub fn check_len(&self) -> Result<(), Error> {
        let b = self.buffer.as_ref();
        if b.len() < field::OPTIONS || b[field::MAGIC] != MAGIC_COOKIE {
            return Err(Error);
        }
        Ok(())
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn ip(&self, r: std::ops::Range<usize>) -> Ipv4Addr {
        let b = &self.b()[r];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// `op`: 1 BOOTREQUEST, 2 BOOTREPLY.
    pub fn op(&self) -> u8 {
        self.b()[field::OP]
    }

    /// `xid`, the transaction id chosen by the client.
    pub fn xid(&self) -> u32 {
        let b = &self.b()[field::XID];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
}

/// Options as raw bytes keyed by code, in the order they will be emitted.
pub type Options = BTreeMap<u8, Vec<u8>>;

/// A high-level representation of the DHCP message fields pxeinit uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr {
    /// `op`: 1 BOOTREQUEST, 2 BOOTREPLY.
    pub op: u8,
    /// `xid`: transaction id.
    pub xid: u32,
    /// `secs`: seconds since the client began.
    pub secs: u16,
    /// `flags` (the broadcast bit is [`FLAG_BROADCAST`]).
    pub flags: u16,
    /// `ciaddr`: client address when renewing.
    pub ciaddr: Ipv4Addr,
    /// `yiaddr`: "your" (offered) address.
    pub yiaddr: Ipv4Addr,
    /// `siaddr`: the next server (boot server) address.
    pub siaddr: Ipv4Addr,
    /// `giaddr`: relay agent address.
    pub giaddr: Ipv4Addr,
    /// `chaddr`: client hardware (Ethernet) address.
    pub chaddr: [u8; 6],
    /// `sname`: server host name (NUL-terminated in the packet).
    pub sname: String,
    /// `file`: boot file name (NUL-terminated in the packet).
    pub file: String,
    /// Options by code; message type (53) included.
    pub options: Options,
}

impl Default for Repr {
    fn default() -> Self {
        Repr {
            op: 1,
            xid: 0,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: [0; 6],
            sname: String::new(),
            file: String::new(),
            options: Options::new(),
        }
    }
}

fn cstr_field(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Parse an options area into `out`, concatenating repeated codes
/// (RFC 3396). Stops at END or at the first truncated option.
fn parse_options(mut b: &[u8], out: &mut Options) {
    while let Some((&code, rest)) = b.split_first() {
        match code {
            opt::PAD => b = rest,
            opt::END => return,
            _ => {
                let Some((&len, rest)) = rest.split_first() else {
                    return;
                };
                let len = len as usize;
                if rest.len() < len {
                    return;
                }
                out.entry(code).or_default().extend_from_slice(&rest[..len]);
                b = &rest[len..];
            }
        }
    }
}

impl Repr {
    /// Parse a checked packet. Cannot panic after
    /// [`Packet::new_checked`].
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, Error> {
        p.check_len()?;
        let b = p.b();
        if b[field::HTYPE] != 1 || b[field::HLEN] != 6 {
            return Err(Error);
        }
        let mut options = Options::new();
        parse_options(&b[field::OPTIONS..], &mut options);
        let overload = options
            .get(&opt::OVERLOAD)
            .and_then(|v| v.first())
            .copied()
            .unwrap_or(0);
        let mut file = cstr_field(&b[field::FILE]);
        let mut sname = cstr_field(&b[field::SNAME]);
        if overload & 1 != 0 {
            parse_options(&b[field::FILE], &mut options);
            file.clear();
        }
        if overload & 2 != 0 {
            parse_options(&b[field::SNAME], &mut options);
            sname.clear();
        }
        let mut chaddr = [0u8; 6];
        chaddr.copy_from_slice(&b[field::CHADDR][..6]);
        let secs = &b[field::SECS];
        let flags = &b[field::FLAGS];
        Ok(Repr {
            op: p.op(),
            xid: p.xid(),
            secs: u16::from_be_bytes([secs[0], secs[1]]),
            flags: u16::from_be_bytes([flags[0], flags[1]]),
            ciaddr: p.ip(field::CIADDR),
            yiaddr: p.ip(field::YIADDR),
            siaddr: p.ip(field::SIADDR),
            giaddr: p.ip(field::GIADDR),
            chaddr,
            sname,
            file,
            options,
        })
    }

    /// Bytes [`emit`](Self::emit) writes: the fixed part, each option split
    /// in 255-byte pieces, END, padded to the BOOTP minimum of 300 bytes.
    pub fn buffer_len(&self) -> usize {
        let opts: usize = self
            .options
            .values()
            .map(|v| v.len() + 2 * v.len().div_ceil(255).max(1))
            .sum();
        (field::OPTIONS + opts + 1).max(300)
    }

    /// Emit into `buf`, which must be at least [`buffer_len`](Self::buffer_len) long.
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        buf.fill(0);
        buf[field::OP] = self.op;
        buf[field::HTYPE] = 1;
        buf[field::HLEN] = 6;
        buf[field::XID].copy_from_slice(&self.xid.to_be_bytes());
        buf[field::SECS].copy_from_slice(&self.secs.to_be_bytes());
        buf[field::FLAGS].copy_from_slice(&self.flags.to_be_bytes());
        buf[field::CIADDR].copy_from_slice(&self.ciaddr.octets());
        buf[field::YIADDR].copy_from_slice(&self.yiaddr.octets());
        buf[field::SIADDR].copy_from_slice(&self.siaddr.octets());
        buf[field::GIADDR].copy_from_slice(&self.giaddr.octets());
        buf[field::CHADDR][..6].copy_from_slice(&self.chaddr);
        let sname = self.sname.as_bytes();
        let n = sname.len().min(63);
        buf[field::SNAME][..n].copy_from_slice(&sname[..n]);
        let file = self.file.as_bytes();
        let n = file.len().min(127);
        buf[field::FILE][..n].copy_from_slice(&file[..n]);
        buf[field::MAGIC].copy_from_slice(&MAGIC_COOKIE);
        let mut at = field::OPTIONS;
        for (&code, value) in &self.options {
            let mut chunks: Vec<&[u8]> = value.chunks(255).collect();
            if chunks.is_empty() {
                chunks.push(&[]);
            }
            for c in chunks {
                buf[at] = code;
                buf[at + 1] = c.len() as u8;
                buf[at + 2..at + 2 + c.len()].copy_from_slice(c);
                at += 2 + c.len();
            }
        }
        buf[at] = opt::END;
    }

    /// Emit into a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len()];
        self.emit(&mut v);
        v
    }

    /// Option 53, if present.
    pub fn message_type(&self) -> Option<MessageType> {
        self.options
            .get(&opt::MESSAGE_TYPE)
            .and_then(|v| v.first())
            .map(|&t| MessageType::from(t))
    }

    /// An option holding one IPv4 address.
    pub fn opt_ip(&self, code: u8) -> Option<Ipv4Addr> {
        let v = self.options.get(&code)?;
        let b: [u8; 4] = v.get(..4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// An option holding a list of IPv4 addresses.
    pub fn opt_ips(&self, code: u8) -> Vec<Ipv4Addr> {
        self.options
            .get(&code)
            .map(|v| {
                v.chunks_exact(4)
                    .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An option holding a big-endian u32.
    pub fn opt_u32(&self, code: u8) -> Option<u32> {
        let v = self.options.get(&code)?;
        let b: [u8; 4] = v.get(..4)?.try_into().ok()?;
        Some(u32::from_be_bytes(b))
    }

    /// An option holding text, without trailing NULs (some servers add one).
    pub fn opt_str(&self, code: u8) -> Option<String> {
        let v = self.options.get(&code)?;
        let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
        let s = String::from_utf8_lossy(&v[..end]).trim().to_string();
        (!s.is_empty()).then_some(s)
    }

    /// The client machine UUID from option 97 (type 0 followed by 16 bytes,
    /// RFC 4578 §2.5), formatted 8-4-4-4-12 in lowercase.
    pub fn opt_uuid(&self) -> Option<String> {
        let v = self.options.get(&opt::CLIENT_UUID)?;
        let (&kind, id) = v.split_first()?;
        if kind != 0 || id.len() != 16 {
            return None;
        }
        Some(format_uuid(id))
    }
}

/// Format 16 bytes as a lowercase 8-4-4-4-12 UUID.
pub fn format_uuid(id: &[u8]) -> String {
    let h: Vec<String> = id.iter().map(|b| format!("{b:02x}")).collect();
    let h = h.concat();
    if h.len() != 32 {
        return h;
    }
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub use pxecfg::parse_uuid;

#[cfg(test)]
mod test {
    use super::*;
    use dhcproto::{Decodable, Encodable};

    fn sample() -> Repr {
        let mut options = Options::new();
        options.insert(opt::MESSAGE_TYPE, vec![1]);
        options.insert(opt::PARAMETER_LIST, vec![1, 3, 6, 66, 67, 209, 210]);
        options.insert(opt::CLASS_ID, b"PXEClient:Arch:00031:UNDI:003016".to_vec());
        options.insert(opt::CLIENT_ARCH, vec![0x00, 0x1f]);
        Repr {
            op: 1,
            xid: 0xdead_beef,
            secs: 3,
            flags: FLAG_BROADCAST,
            chaddr: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            options,
            ..Default::default()
        }
    }

    #[test]
    fn round_trip() {
        let r = sample();
        let bytes = r.to_vec();
        assert_eq!(bytes.len(), 300);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), r);
    }

    /// Our encoder checked by an independent decoder (dhcproto).
    #[test]
    fn dhcproto_reads_what_we_write() {
        let bytes = sample().to_vec();
        let m = dhcproto::v4::Message::decode(&mut dhcproto::Decoder::new(&bytes)).unwrap();
        assert_eq!(m.xid(), 0xdead_beef);
        assert!(m.flags().broadcast());
        assert_eq!(&m.chaddr()[..6], &[0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        assert_eq!(
            m.opts().msg_type(),
            Some(dhcproto::v4::MessageType::Discover)
        );
    }

    /// An independent encoder (dhcproto) checked by our decoder.
    #[test]
    fn we_read_what_dhcproto_writes() {
        use dhcproto::v4::{DhcpOption, Message, MessageType as M};
        let mut m = Message::new_with_id(
            7,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::new(10, 0, 2, 15),
            Ipv4Addr::new(10, 0, 2, 2),
            Ipv4Addr::UNSPECIFIED,
            &[1, 2, 3, 4, 5, 6],
        );
        m.set_opcode(dhcproto::v4::Opcode::BootReply);
        m.set_fname_str("pxelinux.0");
        m.opts_mut().insert(DhcpOption::MessageType(M::Offer));
        m.opts_mut()
            .insert(DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)));
        m.opts_mut()
            .insert(DhcpOption::Router(vec![Ipv4Addr::new(10, 0, 2, 2)]));
        m.opts_mut()
            .insert(DhcpOption::ServerIdentifier(Ipv4Addr::new(10, 0, 2, 2)));
        let bytes = m.to_vec().unwrap();
        let r = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(r.op, 2);
        assert_eq!(r.xid, 7);
        assert_eq!(r.message_type(), Some(MessageType::Offer));
        assert_eq!(r.yiaddr, Ipv4Addr::new(10, 0, 2, 15));
        assert_eq!(r.file, "pxelinux.0");
        assert_eq!(r.opt_ip(opt::ROUTER), Some(Ipv4Addr::new(10, 0, 2, 2)));
        assert_eq!(
            r.opt_ip(opt::SUBNET_MASK),
            Some(Ipv4Addr::new(255, 255, 255, 0))
        );
    }

    #[test]
    fn long_option_is_split_and_joined() {
        let mut r = sample();
        r.options.insert(opt::PXELINUX_CONFIGFILE, vec![b'a'; 600]);
        let bytes = r.to_vec();
        let back = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(back.options[&opt::PXELINUX_CONFIGFILE].len(), 600);
    }

    #[test]
    fn overload_moves_options_into_file_field() {
        let mut bytes = sample().to_vec();
        // Put option 67 into the `file` field and announce overload = 1.
        let file = &mut bytes[field::FILE];
        file.fill(0);
        file[..6].copy_from_slice(&[67, 3, b'a', b'/', b'b', 255]);
        let end = bytes[field::OPTIONS..]
            .iter()
            .position(|&b| b == 255)
            .unwrap();
        let at = field::OPTIONS + end;
        bytes[at..at + 4].copy_from_slice(&[52, 1, 1, 255]);
        let r = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(r.opt_str(opt::BOOTFILE).as_deref(), Some("a/b"));
        assert_eq!(r.file, "");
    }

    #[test]
    fn truncated_and_garbage_never_panic() {
        let bytes = sample().to_vec();
        for n in 0..bytes.len() {
            if let Ok(p) = Packet::new_checked(&bytes[..n]) {
                let _ = Repr::parse(&p);
            }
        }
        // Deterministic pseudo-random garbage after a valid header.
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            let mut b = bytes.clone();
            for byte in b.iter_mut().skip(field::OPTIONS) {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *byte = (x >> 16) as u8;
            }
            let _ = Repr::parse(&Packet::new_checked(&b[..]).unwrap());
        }
        assert!(Packet::new_checked(&[0u8; 239][..]).is_err());
    }

    #[test]
    fn uuid_format_and_parse() {
        let s = "b8945908-d6a6-41a9-611d-74a6ab80b83d";
        let b = parse_uuid(s).unwrap();
        assert_eq!(format_uuid(&b), s);
        assert!(parse_uuid("xyz").is_none());
    }
}

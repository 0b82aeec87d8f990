//! ONC RPC (RFC 5531) calls and replies over TCP record marking, with
//! AUTH_SYS credentials, and the messages of the three programs a
//! read-only NFSv3 client needs: the portmapper v2 (RFC 1833 `GETPORT`),
//! MOUNT v3 (`MNT`, `UMNT`, `EXPORT`) and NFSv3 (RFC 1813: `GETATTR`, `LOOKUP`,
//! `READLINK`, `READ`, `FSINFO`).
//!
//! This module does no I/O and uses nothing but `core`/`alloc`: encoders
//! build calls, and [`Dec`] reads replies with every length checked
//! against what is left and against a cap, so no server bytes can make
//! it panic or allocate much (fuzzed: `init/fuzz`, target `nfs_reply`).
//!
//! ```text
//!  record mark  | last (1 bit) | fragment length (31 bits) |
//!  call         | xid | 0 | rpcvers=2 | prog | vers | proc | cred | verf | args
//!  reply        | xid | 1 | 0 accepted: verf | accept_stat | results
//!                          | 1 denied:   reject_stat | mismatch or auth_stat
//! ```

use core::fmt;

/// The portmapper.
pub const PMAP_PROG: u32 = 100_000;
/// Its version 2 (every portmapper and rpcbind answers it).
pub const PMAP_VERS: u32 = 2;
/// `PMAPPROC_GETPORT`.
pub const PMAPPROC_GETPORT: u32 = 3;
/// The MOUNT program.
pub const MOUNT_PROG: u32 = 100_005;
/// MOUNT version 3 (the one for NFSv3).
pub const MOUNT_VERS: u32 = 3;
/// `MOUNTPROC3_MNT`.
pub const MOUNTPROC3_MNT: u32 = 1;
/// `MOUNTPROC3_UMNT`.
pub const MOUNTPROC3_UMNT: u32 = 3;
/// `MOUNTPROC3_EXPORT`.
pub const MOUNTPROC3_EXPORT: u32 = 5;
/// The NFS program.
pub const NFS_PROG: u32 = 100_003;
/// NFS version 3.
pub const NFS_VERS: u32 = 3;
/// `NFSPROC3_GETATTR`.
pub const NFSPROC3_GETATTR: u32 = 1;
/// `NFSPROC3_LOOKUP`.
pub const NFSPROC3_LOOKUP: u32 = 3;
/// `NFSPROC3_READLINK`.
pub const NFSPROC3_READLINK: u32 = 5;
/// `NFSPROC3_READ`.
pub const NFSPROC3_READ: u32 = 6;
/// `NFSPROC3_FSINFO`.
pub const NFSPROC3_FSINFO: u32 = 19;
/// `IPPROTO_TCP`, for `GETPORT`.
pub const IPPROTO_TCP: u32 = 6;

/// The largest reply record taken (a 1 MiB READ and its headers fit).
pub const MAX_RECORD: usize = (1 << 20) + 64 * 1024;
/// The largest NFSv3 file handle (`NFS3_FHSIZE`).
pub const MAX_FH: usize = 64;
/// The longest export path (`MNTPATHLEN`).
pub const MAX_PATH: usize = 1024;
/// The longest symbolic link target taken.
pub const MAX_LINK: usize = 4096;
/// The most exports (and groups of one export) read from an `EXPORT`
/// reply.
pub const MAX_EXPORTS: usize = 1024;
/// The longest AUTH_SYS machine name (RFC 5531: 255).
pub const MAX_MACHINE: usize = 255;

/// `NF3DIR`.
pub const NF3DIR: u32 = 2;
/// `NF3REG`.
pub const NF3REG: u32 = 1;
/// `NF3LNK`.
pub const NF3LNK: u32 = 5;

/// A reply that does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// It ends inside a field.
    Short,
    /// A length above the field's cap.
    TooLong(&'static str),
    /// A value the protocol does not have here.
    Bad(&'static str),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Short => f.write_str("truncated reply"),
            WireError::TooLong(what) => write!(f, "{what} too long in the reply"),
            WireError::Bad(what) => write!(f, "invalid {what} in the reply"),
        }
    }
}

/// An XDR decoder over untrusted bytes: every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

impl<'a> Dec<'a> {
    /// Decode `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Dec<'a> {
        Dec { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.remaining() {
            return Err(WireError::Short);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// An unsigned 32-bit integer.
    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An unsigned 64-bit integer.
    pub fn u64(&mut self) -> Result<u64, WireError> {
        Ok((u64::from(self.u32()?) << 32) | u64::from(self.u32()?))
    }

    /// A boolean (0 or 1; anything else is an error).
    pub fn bool(&mut self) -> Result<bool, WireError> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WireError::Bad("boolean")),
        }
    }

    /// `n` bytes of fixed-length opaque data and their padding.
    pub fn fixed(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let s = self.take(n)?;
        self.take(pad4(n))?;
        Ok(s)
    }

    /// Variable-length opaque data of at most `max` bytes.
    pub fn opaque(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(WireError::TooLong(what));
        }
        self.fixed(n)
    }

    /// A string of at most `max` bytes (not UTF-8: replaced lossily).
    pub fn string(&mut self, max: usize, what: &'static str) -> Result<String, WireError> {
        Ok(String::from_utf8_lossy(self.opaque(max, what)?).into_owned())
    }
}

/// An XDR encoder.
#[derive(Debug, Clone, Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    /// An unsigned 32-bit integer.
    pub fn u32(&mut self, v: u32) -> &mut Enc {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// An unsigned 64-bit integer.
    pub fn u64(&mut self, v: u64) -> &mut Enc {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Variable-length opaque data (the caller keeps it within the
    /// protocol's cap).
    pub fn opaque(&mut self, b: &[u8]) -> &mut Enc {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
        self.0.resize(self.0.len() + pad4(b.len()), 0);
        self
    }
}

/// AUTH_SYS credentials (RFC 5531 appendix A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSys {
    /// An arbitrary stamp.
    pub stamp: u32,
    /// The caller's host name (cut to 255 bytes).
    pub machine: String,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl AuthSys {
    fn body(&self) -> Vec<u8> {
        let mut m = self.machine.as_bytes();
        if m.len() > MAX_MACHINE {
            m = &m[..MAX_MACHINE];
        }
        let mut e = Enc::default();
        e.u32(self.stamp)
            .opaque(m)
            .u32(self.uid)
            .u32(self.gid)
            .u32(0);
        e.0
    }
}

/// `AUTH_SYS`.
const AUTH_SYS: u32 = 1;

/// A call as one last fragment: record mark, header, `args`.
pub fn call(xid: u32, prog: u32, vers: u32, proc_: u32, cred: &AuthSys, args: &[u8]) -> Vec<u8> {
    let mut e = Enc::default();
    e.u32(0); // the record mark, set below
    e.u32(xid).u32(0).u32(2).u32(prog).u32(vers).u32(proc_);
    e.u32(AUTH_SYS).opaque(&cred.body());
    e.u32(0).u32(0); // AUTH_NONE verifier
    e.0.extend_from_slice(args);
    let len = (e.0.len() - 4) as u32;
    e.0[..4].copy_from_slice(&(len | 0x8000_0000).to_be_bytes());
    e.0
}

/// A record mark: whether this is the last fragment, and its length.
pub fn record_mark(b: [u8; 4]) -> (bool, usize) {
    let v = u32::from_be_bytes(b);
    (v & 0x8000_0000 != 0, (v & 0x7fff_ffff) as usize)
}

/// A reply that carries no results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcError {
    /// Not a reply, or not well formed.
    Wire(WireError),
    /// A reply to another call.
    Xid(u32),
    /// RPC version 2 refused (`RPC_MISMATCH`).
    RpcMismatch,
    /// The credentials are refused (`AUTH_ERROR`, with its `auth_stat`).
    Auth(u32),
    /// The program is not served (`PROG_UNAVAIL`).
    ProgUnavail,
    /// The version is not served (`PROG_MISMATCH`, versions low..=high).
    ProgMismatch(u32, u32),
    /// `PROC_UNAVAIL`.
    ProcUnavail,
    /// `GARBAGE_ARGS`.
    GarbageArgs,
    /// `SYSTEM_ERR` or an unknown `accept_stat`.
    System(u32),
}

impl From<WireError> for RpcError {
    fn from(e: WireError) -> RpcError {
        RpcError::Wire(e)
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::Wire(e) => e.fmt(f),
            RpcError::Xid(x) => write!(f, "a reply to another call (xid {x:#x})"),
            RpcError::RpcMismatch => f.write_str("RPC version 2 refused (RPC_MISMATCH)"),
            RpcError::Auth(s) => {
                let (name, why) = match s {
                    1 => ("AUTH_BADCRED", "bad credentials"),
                    2 => ("AUTH_REJECTEDCRED", "credentials rejected"),
                    3 => ("AUTH_BADVERF", "bad verifier"),
                    4 => ("AUTH_REJECTEDVERF", "verifier rejected"),
                    5 => ("AUTH_TOOWEAK", "AUTH_SYS is too weak for it"),
                    _ => ("AUTH_ERROR", "authentication refused"),
                };
                write!(f, "{why} ({name})")
            }
            RpcError::ProgUnavail => f.write_str("program not served (PROG_UNAVAIL)"),
            RpcError::ProgMismatch(lo, hi) => {
                write!(f, "version not served, only {lo} to {hi} (PROG_MISMATCH)")
            }
            RpcError::ProcUnavail => f.write_str("procedure not served (PROC_UNAVAIL)"),
            RpcError::GarbageArgs => f.write_str("arguments not understood (GARBAGE_ARGS)"),
            RpcError::System(_) => f.write_str("server error (SYSTEM_ERR)"),
        }
    }
}

/// The results of the reply `msg` (a whole record, without marks) to
/// call `xid`.
pub fn reply(xid: u32, msg: &[u8]) -> Result<Dec<'_>, RpcError> {
    let mut d = Dec::new(msg);
    let got = d.u32()?;
    if d.u32()? != 1 {
        return Err(WireError::Bad("message type").into());
    }
    if got != xid {
        return Err(RpcError::Xid(got));
    }
    match d.u32()? {
        0 => {
            d.u32()?; // verifier flavour
            d.opaque(400, "verifier")?;
            match d.u32()? {
                0 => Ok(d),
                1 => Err(RpcError::ProgUnavail),
                2 => Err(RpcError::ProgMismatch(d.u32()?, d.u32()?)),
                3 => Err(RpcError::ProcUnavail),
                4 => Err(RpcError::GarbageArgs),
                s => Err(RpcError::System(s)),
            }
        }
        1 => match d.u32()? {
            0 => Err(RpcError::RpcMismatch),
            1 => Err(RpcError::Auth(d.u32()?)),
            _ => Err(WireError::Bad("reject status").into()),
        },
        _ => Err(WireError::Bad("reply status").into()),
    }
}

/// `GETPORT` arguments: `prog`, `vers` over TCP.
pub fn getport_args(prog: u32, vers: u32) -> Vec<u8> {
    let mut e = Enc::default();
    e.u32(prog).u32(vers).u32(IPPROTO_TCP).u32(0);
    e.0
}

/// The port of a `GETPORT` reply (0: not registered).
pub fn parse_getport(d: &mut Dec) -> Result<u16, WireError> {
    u16::try_from(d.u32()?).map_err(|_| WireError::Bad("port"))
}

/// `MNT` arguments.
pub fn mnt_args(path: &str) -> Vec<u8> {
    let mut e = Enc::default();
    e.opaque(path.as_bytes());
    e.0
}

/// A `MNT` reply: the root file handle, or the `mountstat3`.
pub fn parse_mnt(d: &mut Dec) -> Result<Result<Vec<u8>, u32>, WireError> {
    match d.u32()? {
        0 => {
            let fh = d.opaque(MAX_FH, "file handle")?.to_vec();
            // The auth flavours: checked for shape, not used (AUTH_SYS is
            // what we have).
            let n = d.u32()? as usize;
            if n > MAX_EXPORTS {
                return Err(WireError::TooLong("flavour list"));
            }
            for _ in 0..n {
                d.u32()?;
            }
            Ok(Ok(fh))
        }
        s => Ok(Err(s)),
    }
}

/// An `EXPORT` reply: the exported directories (their groups skipped).
pub fn parse_exports(d: &mut Dec) -> Result<Vec<String>, WireError> {
    let mut out = Vec::new();
    while d.bool()? {
        if out.len() == MAX_EXPORTS {
            return Err(WireError::TooLong("export list"));
        }
        out.push(d.string(MAX_PATH, "export path")?);
        let mut groups = 0;
        while d.bool()? {
            groups += 1;
            if groups > MAX_EXPORTS {
                return Err(WireError::TooLong("group list"));
            }
            d.opaque(MAX_PATH, "group name")?;
        }
    }
    Ok(out)
}

/// The name and meaning of a `mountstat3`.
pub fn mountstat(s: u32) -> (&'static str, &'static str) {
    match s {
        1 => ("MNT3ERR_PERM", "not owner"),
        2 => ("MNT3ERR_NOENT", "no such file or directory"),
        5 => ("MNT3ERR_IO", "I/O error"),
        13 => ("MNT3ERR_ACCES", "permission denied"),
        20 => ("MNT3ERR_NOTDIR", "not a directory"),
        22 => ("MNT3ERR_INVAL", "invalid argument"),
        63 => ("MNT3ERR_NAMETOOLONG", "name too long"),
        10004 => ("MNT3ERR_NOTSUPP", "operation not supported"),
        10006 => ("MNT3ERR_SERVERFAULT", "server fault"),
        _ => ("MNT3ERR_?", "unknown error"),
    }
}

/// The name and meaning of an `nfsstat3`.
pub fn nfsstat(s: u32) -> (&'static str, &'static str) {
    match s {
        1 => ("NFS3ERR_PERM", "not owner"),
        2 => ("NFS3ERR_NOENT", "no such file or directory"),
        5 => ("NFS3ERR_IO", "I/O error"),
        6 => ("NFS3ERR_NXIO", "no such device or address"),
        13 => ("NFS3ERR_ACCES", "permission denied"),
        20 => ("NFS3ERR_NOTDIR", "not a directory"),
        21 => ("NFS3ERR_ISDIR", "is a directory"),
        22 => ("NFS3ERR_INVAL", "invalid argument"),
        27 => ("NFS3ERR_FBIG", "file too large"),
        63 => ("NFS3ERR_NAMETOOLONG", "name too long"),
        70 => ("NFS3ERR_STALE", "stale file handle"),
        71 => ("NFS3ERR_REMOTE", "too many levels of remote in path"),
        10001 => ("NFS3ERR_BADHANDLE", "illegal file handle"),
        10004 => ("NFS3ERR_NOTSUPP", "operation not supported"),
        10005 => ("NFS3ERR_TOOSMALL", "buffer or request too small"),
        10006 => ("NFS3ERR_SERVERFAULT", "server fault"),
        10007 => ("NFS3ERR_BADTYPE", "type not supported"),
        10008 => ("NFS3ERR_JUKEBOX", "not available yet, try again"),
        _ => ("NFS3ERR_?", "unknown error"),
    }
}

/// The attributes a reader uses (`fattr3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    /// `ftype3`: [`NF3REG`], [`NF3DIR`], [`NF3LNK`]...
    pub kind: u32,
    /// Size in bytes.
    pub size: u64,
}

fn fattr3(d: &mut Dec) -> Result<Attr, WireError> {
    let kind = d.u32()?;
    if !(1..=7).contains(&kind) {
        return Err(WireError::Bad("file type"));
    }
    d.fixed(16)?; // mode, nlink, uid, gid
    let size = d.u64()?;
    d.fixed(84 - 28)?; // used, rdev, fsid, fileid, atime, mtime, ctime
    Ok(Attr { kind, size })
}

fn post_op_attr(d: &mut Dec) -> Result<Option<Attr>, WireError> {
    match d.bool()? {
        true => Ok(Some(fattr3(d)?)),
        false => Ok(None),
    }
}

/// Arguments of the calls that take just a file handle (`GETATTR`,
/// `READLINK`, `FSINFO`).
pub fn fh_args(fh: &[u8]) -> Vec<u8> {
    let mut e = Enc::default();
    e.opaque(fh);
    e.0
}

/// `LOOKUP` arguments: `name` in directory `dir`.
pub fn lookup_args(dir: &[u8], name: &str) -> Vec<u8> {
    let mut e = Enc::default();
    e.opaque(dir).opaque(name.as_bytes());
    e.0
}

/// `READ` arguments.
pub fn read_args(fh: &[u8], offset: u64, count: u32) -> Vec<u8> {
    let mut e = Enc::default();
    e.opaque(fh).u64(offset).u32(count);
    e.0
}

/// A `GETATTR` reply: the attributes, or the `nfsstat3`.
pub fn parse_getattr(d: &mut Dec) -> Result<Result<Attr, u32>, WireError> {
    match d.u32()? {
        0 => Ok(Ok(fattr3(d)?)),
        s => Ok(Err(s)),
    }
}

/// A found object: its file handle and (when sent) attributes.
pub type Found = (Vec<u8>, Option<Attr>);

/// A `LOOKUP` reply: the object's handle and attributes.
pub fn parse_lookup(d: &mut Dec) -> Result<Result<Found, u32>, WireError> {
    match d.u32()? {
        0 => {
            let fh = d.opaque(MAX_FH, "file handle")?.to_vec();
            let attr = post_op_attr(d)?;
            post_op_attr(d)?; // the directory's
            Ok(Ok((fh, attr)))
        }
        s => Ok(Err(s)),
    }
}

/// A `READLINK` reply: the link's target.
pub fn parse_readlink(d: &mut Dec) -> Result<Result<String, u32>, WireError> {
    match d.u32()? {
        0 => {
            post_op_attr(d)?;
            Ok(Ok(d.string(MAX_LINK, "link target")?))
        }
        s => Ok(Err(s)),
    }
}

/// A successful `READ`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read<'a> {
    /// The file's attributes after the read, when sent.
    pub attr: Option<Attr>,
    /// Whether the data reaches the end of the file.
    pub eof: bool,
    /// The bytes read.
    pub data: &'a [u8],
}

/// A `READ` reply to a request for at most `asked` bytes: more data than
/// asked, or a count that disagrees with the data, is an error.
pub fn parse_read<'a>(d: &mut Dec<'a>, asked: u32) -> Result<Result<Read<'a>, u32>, WireError> {
    match d.u32()? {
        0 => {
            let attr = post_op_attr(d)?;
            let count = d.u32()?;
            let eof = d.bool()?;
            let data = d.opaque(asked as usize, "READ data")?;
            if data.len() != count as usize {
                return Err(WireError::Bad("READ count"));
            }
            Ok(Ok(Read { attr, eof, data }))
        }
        s => Ok(Err(s)),
    }
}

/// What `FSINFO` says about reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsInfo {
    /// The largest READ the server serves.
    pub rtmax: u32,
    /// The READ size it prefers.
    pub rtpref: u32,
}

/// An `FSINFO` reply.
pub fn parse_fsinfo(d: &mut Dec) -> Result<Result<FsInfo, u32>, WireError> {
    match d.u32()? {
        0 => {
            post_op_attr(d)?;
            let rtmax = d.u32()?;
            let rtpref = d.u32()?;
            Ok(Ok(FsInfo { rtmax, rtpref }))
        }
        s => Ok(Err(s)),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn accepted(xid: u32, results: &[u8]) -> Vec<u8> {
        let mut e = Enc::default();
        e.u32(xid).u32(1).u32(0).u32(0).u32(0).u32(0);
        e.0.extend_from_slice(results);
        e.0
    }

    fn attr(e: &mut Enc, kind: u32, size: u64) {
        e.u32(kind)
            .u32(0o644)
            .u32(1)
            .u32(0)
            .u32(0)
            .u64(size)
            .u64(size);
        e.u32(0).u32(0).u64(7).u64(42);
        for _ in 0..6 {
            e.u32(0);
        }
    }

    #[test]
    fn calls_are_one_marked_fragment() {
        let cred = AuthSys {
            stamp: 1,
            machine: "zguest".into(),
            uid: 0,
            gid: 0,
        };
        let c = call(
            0x1234,
            NFS_PROG,
            NFS_VERS,
            NFSPROC3_READ,
            &cred,
            &[9, 9, 9, 9],
        );
        let (last, len) = record_mark([c[0], c[1], c[2], c[3]]);
        assert!(last);
        assert_eq!(len, c.len() - 4);
        let mut d = Dec::new(&c[4..]);
        let head: Vec<u32> = (0..6).map(|_| d.u32().unwrap()).collect();
        assert_eq!(head, [0x1234, 0, 2, NFS_PROG, NFS_VERS, NFSPROC3_READ]);
        assert_eq!(d.u32().unwrap(), 1);
        let body = d.opaque(400, "cred").unwrap();
        // stamp, "zguest" (6 bytes + 2 padding), uid, gid, no groups.
        assert_eq!(body.len(), 4 + 4 + 8 + 12);
        assert_eq!(&body[8..14], b"zguest");
        assert_eq!((d.u32().unwrap(), d.u32().unwrap()), (0, 0));
        assert_eq!(d.fixed(4).unwrap(), [9, 9, 9, 9]);
        assert_eq!(d.remaining(), 0);
        let long = AuthSys {
            machine: "m".repeat(300),
            ..cred
        };
        let c = call(1, 1, 1, 1, &long, &[]);
        let mut d = Dec::new(&c[4..]);
        d.fixed(24).unwrap();
        d.u32().unwrap();
        let body = d.opaque(400, "cred").unwrap();
        assert_eq!(Dec::new(&body[4..]).u32().unwrap(), 255);
    }

    #[test]
    fn replies() {
        let m = accepted(7, &[0, 0, 8, 1]);
        let mut d = reply(7, &m).unwrap();
        assert_eq!(parse_getport(&mut d), Ok(2049));
        assert_eq!(reply(8, &m).unwrap_err(), RpcError::Xid(7));
        let mut e = Enc::default();
        e.u32(7).u32(1).u32(1).u32(1).u32(5);
        assert_eq!(reply(7, &e.0).unwrap_err(), RpcError::Auth(5));
        assert_eq!(
            RpcError::Auth(5).to_string(),
            "AUTH_SYS is too weak for it (AUTH_TOOWEAK)"
        );
        let mut e = Enc::default();
        e.u32(7).u32(1).u32(0).u32(0).u32(0).u32(2).u32(4).u32(4);
        assert_eq!(reply(7, &e.0).unwrap_err(), RpcError::ProgMismatch(4, 4));
        let mut e = Enc::default();
        e.u32(7).u32(0);
        assert!(matches!(reply(7, &e.0), Err(RpcError::Wire(_))));
        for n in 0..m.len() {
            assert!(reply(7, &m[..n]).is_err() || n >= 24);
        }
        // A verifier longer than the cap.
        let mut e = Enc::default();
        e.u32(7).u32(1).u32(0).u32(0).u32(1000);
        assert_eq!(
            reply(7, &e.0).unwrap_err(),
            RpcError::Wire(WireError::TooLong("verifier"))
        );
    }

    #[test]
    fn mount_replies() {
        let mut e = Enc::default();
        e.u32(0).opaque(&[1; 28]).u32(2).u32(1).u32(390003);
        assert_eq!(parse_mnt(&mut Dec::new(&e.0)), Ok(Ok(vec![1; 28])));
        let mut e = Enc::default();
        e.u32(13);
        assert_eq!(parse_mnt(&mut Dec::new(&e.0)), Ok(Err(13)));
        assert_eq!(mountstat(13), ("MNT3ERR_ACCES", "permission denied"));
        let mut e = Enc::default();
        e.u32(0).opaque(&[1; 65]);
        assert_eq!(
            parse_mnt(&mut Dec::new(&e.0)),
            Err(WireError::TooLong("file handle"))
        );
        let mut e = Enc::default();
        e.u32(1).opaque(b"/srv/nfs").u32(1).opaque(b"*").u32(0);
        e.u32(1).opaque(b"/x").u32(0).u32(0);
        assert_eq!(
            parse_exports(&mut Dec::new(&e.0)),
            Ok(vec!["/srv/nfs".to_string(), "/x".to_string()])
        );
        assert_eq!(
            parse_exports(&mut Dec::new(&e.0[..20])),
            Err(WireError::Short)
        );
    }

    #[test]
    fn nfs_replies() {
        let mut e = Enc::default();
        e.u32(0).opaque(&[3; 32]).u32(1);
        attr(&mut e, NF3REG, 5000);
        e.u32(0);
        let (fh, a) = parse_lookup(&mut Dec::new(&e.0)).unwrap().unwrap();
        assert_eq!(fh, [3; 32]);
        assert_eq!(
            a,
            Some(Attr {
                kind: NF3REG,
                size: 5000
            })
        );
        let mut e = Enc::default();
        e.u32(2).u32(0);
        assert_eq!(parse_lookup(&mut Dec::new(&e.0)), Ok(Err(2)));

        let mut e = Enc::default();
        e.u32(0).u32(0).u32(5).u32(1).opaque(b"hello");
        let r = parse_read(&mut Dec::new(&e.0), 8).unwrap().unwrap();
        assert_eq!((r.data, r.eof, r.attr), (&b"hello"[..], true, None));
        // More than asked, or a count that is not the data's length.
        assert_eq!(
            parse_read(&mut Dec::new(&e.0), 4),
            Err(WireError::TooLong("READ data"))
        );
        let mut e = Enc::default();
        e.u32(0).u32(0).u32(4).u32(0).opaque(b"hello");
        assert_eq!(
            parse_read(&mut Dec::new(&e.0), 8),
            Err(WireError::Bad("READ count"))
        );
        let mut e = Enc::default();
        e.u32(0).u32(0).u32(5).u32(2).opaque(b"hello");
        assert_eq!(
            parse_read(&mut Dec::new(&e.0), 8),
            Err(WireError::Bad("boolean"))
        );

        let mut e = Enc::default();
        e.u32(0).u32(1);
        attr(&mut e, NF3DIR, 4096);
        e.u32(1 << 20).u32(1 << 20);
        assert_eq!(
            parse_fsinfo(&mut Dec::new(&e.0)),
            Ok(Ok(FsInfo {
                rtmax: 1 << 20,
                rtpref: 1 << 20
            }))
        );
        let mut e = Enc::default();
        e.u32(0).u32(0).opaque(b"../images");
        assert_eq!(
            parse_readlink(&mut Dec::new(&e.0)),
            Ok(Ok("../images".to_string()))
        );
        let mut e = Enc::default();
        attr(&mut e, 9, 0);
        assert_eq!(
            fattr3(&mut Dec::new(&e.0)),
            Err(WireError::Bad("file type"))
        );
        assert_eq!(nfsstat(70).0, "NFS3ERR_STALE");
    }
}

//! A read-only NFSv3 client in user space, for `nfs:host:/path`,
//! `nfs://host[:port]/path` and `nfs+iso:` (neither the PID 1 nor the CI
//! host needs an NFS client in the kernel): ONC RPC over TCP with AUTH_SYS
//! ([`wire`]), the portmapper for the MOUNT port (and the NFS port unless
//! the location gives one), MOUNT v3 `EXPORT` to find the export the path
//! is in and `MNT` for its root handle (then `UMNT`: v3 handles outlive
//! the mount), then NFSv3 `LOOKUP` component by
//! component (symbolic links followed inside the export), `FSINFO` for
//! the server's largest read, and `READ` in chunks of up to 1 MiB. A
//! [`File`] is read in order ([`File::copy`], into the downloader's
//! guarded sink: [`crate::sources`]) or at any offset (an ISO image on
//! NFS through `locations::iso9660`).
//!
//! As root each connection comes from a reserved port (below 1024), which
//! servers that insist on one (Linux nfsd's `secure`, ganesha's
//! `PrivilegedPort`) require; otherwise, or when none is free, from any
//! port. Credentials are uid and gid 0 as root, else 65534 (nobody).

pub mod wire;

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use wire::{AuthSys, Dec, RpcError};

/// Why an NFS read failed.
#[derive(Debug)]
pub enum NfsError {
    /// The file (or a directory on its path) does not exist.
    NotFound,
    /// The server cannot be reached.
    Unreachable(String),
    /// Anything else, one line.
    Failed(String),
}

/// The largest READ asked for, whatever the server allows.
const MAX_READ: u32 = 1 << 20;
/// The READ size when `FSINFO` says nothing usable.
const DEFAULT_READ: u32 = 64 << 10;
/// Symbolic links followed on one path.
const MAX_LINKS: usize = 40;

/// One RPC connection to one program of a server.
struct Conn {
    s: TcpStream,
    xid: u32,
    cred: AuthSys,
    /// For messages: "the portmapper", "mountd", "nfsd".
    what: &'static str,
    host: String,
}

/// A TCP connection to `addr` within `timeout`, from a reserved port
/// when we may bind one.
fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = match nix::unistd::geteuid().is_root() {
        true => match reserved(addr, timeout)? {
            Some(s) => s,
            None => TcpStream::connect_timeout(&addr, timeout)?,
        },
        false => TcpStream::connect_timeout(&addr, timeout)?,
    };
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Connect from a port in 600..1024 (ports below 600 are left to
/// services); `None` when none could be bound.
fn reserved(addr: SocketAddr, timeout: Duration) -> io::Result<Option<TcpStream>> {
    use nix::errno::Errno;
    use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrStorage};
    let mut rng = crate::rng::Rng::new(addr.to_string().as_bytes());
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    for _ in 0..32 {
        let port = 600 + (rng.next_u64() % 424) as u16;
        let fd: OwnedFd = socket::socket(
            family,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )?;
        let local = SocketAddr::new(
            match addr {
                SocketAddr::V4(_) => IpAddr::from([0, 0, 0, 0]),
                SocketAddr::V6(_) => IpAddr::from([0u16; 8]),
            },
            port,
        );
        match socket::bind(fd.as_raw_fd(), &SockaddrStorage::from(local)) {
            Ok(()) => {}
            Err(Errno::EADDRINUSE) => continue,
            Err(Errno::EACCES | Errno::EPERM) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        match socket::connect(fd.as_raw_fd(), &SockaddrStorage::from(addr)) {
            Ok(()) | Err(Errno::EINPROGRESS) => {}
            // The same local port to the same server still in TIME_WAIT.
            Err(Errno::EADDRNOTAVAIL | Errno::EADDRINUSE) => continue,
            Err(e) => return Err(e.into()),
        }
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        let mut fds = [nix::poll::PollFd::new(
            fd.as_fd(),
            nix::poll::PollFlags::POLLOUT,
        )];
        let ready = loop {
            match nix::poll::poll(
                &mut fds,
                nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::MAX),
            ) {
                Err(Errno::EINTR) => continue,
                r => break r?,
            }
        };
        if ready == 0 {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection timed out",
            ));
        }
        match socket::getsockopt(&fd, socket::sockopt::SocketError)? {
            0 => {}
            e if e == libc::EADDRNOTAVAIL || e == libc::EADDRINUSE => continue,
            e => return Err(io::Error::from_raw_os_error(e)),
        }
        let s = TcpStream::from(fd);
        s.set_nonblocking(false)?;
        return Ok(Some(s));
    }
    Ok(None)
}

fn credentials() -> AuthSys {
    let machine = nix::sys::utsname::uname()
        .map(|u| u.nodename().to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = match nix::unistd::geteuid().is_root() {
        true => 0,
        false => 65534,
    };
    AuthSys {
        stamp: crate::rng::u64_mixed(machine.as_bytes()) as u32,
        machine,
        uid: id,
        gid: id,
    }
}

/// A reply record and where its results start.
struct Reply {
    buf: Vec<u8>,
    at: usize,
}

impl Reply {
    fn dec(&self) -> Dec<'_> {
        Dec::new(&self.buf[self.at..])
    }
}

impl Conn {
    fn open(
        host: &str,
        addr: SocketAddr,
        what: &'static str,
        timeout: Duration,
    ) -> Result<Conn, NfsError> {
        let s = connect(addr, timeout).map_err(|e| {
            NfsError::Unreachable(format!(
                "NFS server {host}: cannot reach {what} (port {}): {e}",
                addr.port()
            ))
        })?;
        Ok(Conn {
            s,
            xid: crate::rng::u64_mixed(host.as_bytes()) as u32,
            cred: credentials(),
            what,
            host: host.to_string(),
        })
    }

    fn failed(&self, why: impl std::fmt::Display) -> NfsError {
        NfsError::Failed(format!("NFS server {} ({}): {why}", self.host, self.what))
    }

    /// Read one record (all its fragments), at most [`wire::MAX_RECORD`]
    /// bytes in at most 1024 fragments.
    fn record(&mut self) -> Result<Vec<u8>, NfsError> {
        let mut out = Vec::new();
        for _ in 0..1024 {
            let mut mark = [0u8; 4];
            self.s.read_exact(&mut mark).map_err(|e| self.io(e))?;
            let (last, len) = wire::record_mark(mark);
            if len > wire::MAX_RECORD - out.len() {
                return Err(self.failed("reply record longer than 1 MiB and 64 KiB"));
            }
            let start = out.len();
            out.resize(start + len, 0);
            self.s
                .read_exact(&mut out[start..])
                .map_err(|e| self.io(e))?;
            if last {
                return Ok(out);
            }
        }
        Err(self.failed("reply record in more than 1024 fragments"))
    }

    fn io(&self, e: io::Error) -> NfsError {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => self.failed("the server closed the connection"),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                self.failed("no answer within the timeout")
            }
            _ => self.failed(e),
        }
    }

    /// Call `proc_` of `prog` version `vers`; the reply's results.
    fn call(&mut self, prog: u32, vers: u32, proc_: u32, args: &[u8]) -> Result<Reply, NfsError> {
        match self.try_call(prog, vers, proc_, args)? {
            Ok(r) => Ok(r),
            Err(RpcError::Auth(5)) if self.s.local_addr().is_ok_and(|a| a.port() >= 1024) => {
                let port = self.s.local_addr().map(|a| a.port()).unwrap_or_default();
                Err(self.failed(format!(
                    "AUTH_SYS from port {port} refused as too weak (AUTH_TOOWEAK): it takes only reserved source ports (below 1024), which need root"
                )))
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    /// [`Conn::call`], with a well-formed refusal (`PROC_UNAVAIL`,
    /// `AUTH_ERROR`...) told apart from a broken connection or reply.
    fn try_call(
        &mut self,
        prog: u32,
        vers: u32,
        proc_: u32,
        args: &[u8],
    ) -> Result<Result<Reply, RpcError>, NfsError> {
        self.xid = self.xid.wrapping_add(1);
        let msg = wire::call(self.xid, prog, vers, proc_, &self.cred, args);
        self.s.write_all(&msg).map_err(|e| self.io(e))?;
        // A reply to an earlier call (one that timed out) is skipped.
        for _ in 0..8 {
            let buf = self.record()?;
            let at = match wire::reply(self.xid, &buf) {
                Ok(d) => buf.len() - d.remaining(),
                Err(RpcError::Xid(_)) => continue,
                Err(e @ RpcError::Wire(_)) => return Err(self.failed(e)),
                Err(e) => return Ok(Err(e)),
            };
            return Ok(Ok(Reply { buf, at }));
        }
        Err(self.failed("replies to other calls only"))
    }
}

/// The port `prog` version `vers` is registered on over TCP.
fn getport(pm: &mut Conn, prog: u32, vers: u32, name: &str) -> Result<u16, NfsError> {
    let r = pm.call(
        wire::PMAP_PROG,
        wire::PMAP_VERS,
        wire::PMAPPROC_GETPORT,
        &wire::getport_args(prog, vers),
    )?;
    match wire::parse_getport(&mut r.dec()) {
        Ok(0) => Err(NfsError::Failed(format!(
            "NFS server {}: {name} over TCP is not registered with its portmapper",
            pm.host
        ))),
        Ok(p) => Ok(p),
        Err(e) => Err(pm.failed(e)),
    }
}

/// Where an NFS file is.
pub struct Server<'a> {
    /// The host as written (for messages).
    pub host: &'a str,
    /// Its address.
    pub ip: IpAddr,
    /// The NFS port (`None`: ask the portmapper).
    pub port: Option<u16>,
    /// Connect and reply timeout.
    pub timeout: Duration,
}

/// An open NFS file.
pub struct File {
    nfs: Conn,
    fh: Vec<u8>,
    /// Its size (from the attributes `LOOKUP` or `GETATTR` returned).
    pub size: u64,
    /// Whether it is a directory.
    pub dir: bool,
    chunk: u32,
}

/// `path` without empty and `.` components, `..` taking one away.
fn components(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether export `e` (normalised components) contains path `p`.
fn contains(e: &[&str], p: &[&str]) -> bool {
    p.len() >= e.len() && p[..e.len()] == *e
}

/// Open `path` on `srv`.
pub fn open(srv: &Server, path: &str) -> Result<File, NfsError> {
    let host = srv.host;
    let pm_addr = SocketAddr::new(srv.ip, 111);
    let mut pm = Conn::open(host, pm_addr, "the portmapper", srv.timeout)?;
    let mount_port = getport(&mut pm, wire::MOUNT_PROG, wire::MOUNT_VERS, "MOUNT v3")?;
    let nfs_port = match srv.port {
        Some(p) => p,
        None => getport(&mut pm, wire::NFS_PROG, wire::NFS_VERS, "NFS v3")?,
    };
    drop(pm);
    let mut mnt = Conn::open(
        host,
        SocketAddr::new(srv.ip, mount_port),
        "mountd",
        srv.timeout,
    )?;
    let want = components(path);
    let shown = format!("/{}", want.join("/"));
    // The export list, when the server gives one.
    let r = mnt.try_call(
        wire::MOUNT_PROG,
        wire::MOUNT_VERS,
        wire::MOUNTPROC3_EXPORT,
        &[],
    )?;
    let listed = match r {
        Ok(r) => Some(wire::parse_exports(&mut r.dec()).map_err(|e| mnt.failed(e))?),
        // Not served, or not to us: no list.
        Err(_) => None,
    };
    // The listed exports that contain the path, longest first (nested
    // exports: the next when one refuses); without one (a server may
    // mount by other names), each directory on the path from the longest.
    let mut candidates: Vec<usize> = listed
        .iter()
        .flatten()
        .map(|e| components(e))
        .filter(|e| contains(e, &want))
        .map(|e| e.len())
        .collect();
    candidates.sort_unstable_by(|a, b| b.cmp(a));
    candidates.dedup();
    let from_list = !candidates.is_empty();
    if !from_list {
        candidates = (0..=want.len()).rev().collect();
    }
    let mut root = None;
    // The first refusal: the export asked and the mountstat3.
    let mut refused: Option<(String, u32)> = None;
    for n in candidates {
        let export = format!("/{}", want[..n].join("/"));
        let r = mnt.call(
            wire::MOUNT_PROG,
            wire::MOUNT_VERS,
            wire::MOUNTPROC3_MNT,
            &wire::mnt_args(&export),
        )?;
        match wire::parse_mnt(&mut r.dec()).map_err(|e| mnt.failed(e))? {
            Ok(fh) => {
                // NFSv3 handles do not depend on the mount: unmounted at
                // once, so that the server's list of mounts (Linux's
                // rmtab) does not grow with every download.
                let _ = mnt.call(
                    wire::MOUNT_PROG,
                    wire::MOUNT_VERS,
                    wire::MOUNTPROC3_UMNT,
                    &wire::mnt_args(&export),
                );
                root = Some((n, fh));
                break;
            }
            Err(s) => {
                if refused.as_ref().is_none_or(|(_, f)| *f == 2) {
                    refused = Some((export, s));
                }
            }
        }
    }
    drop(mnt);
    let Some((depth, root)) = root else {
        return Err(NfsError::Failed(mount_failure(
            host,
            &shown,
            listed.as_deref(),
            from_list,
            refused,
        )));
    };
    let mut nfs = Conn::open(host, SocketAddr::new(srv.ip, nfs_port), "nfsd", srv.timeout)?;
    let chunk = fsinfo(&mut nfs, &root)?;
    let (fh, attr) = walk(&mut nfs, root, &want[depth..])?;
    if attr.kind != wire::NF3REG && attr.kind != wire::NF3DIR {
        return Err(nfs.failed(format!("{shown}: not a regular file or directory")));
    }
    Ok(File {
        nfs,
        fh,
        size: attr.size,
        dir: attr.kind == wire::NF3DIR,
        chunk,
    })
}

/// Why no export could be mounted for `path`: an export that contains
/// it refused (`from_list`), or none is listed for it (or there is no
/// list) and each directory on the path was refused (`refused`: the first
/// status other than `MNT3ERR_NOENT`, else the first).
fn mount_failure(
    host: &str,
    path: &str,
    listed: Option<&[String]>,
    from_list: bool,
    refused: Option<(String, u32)>,
) -> String {
    let status = |s: u32| {
        let (name, why) = wire::mountstat(s);
        format!("{why} ({name})")
    };
    match (listed, refused) {
        (_, Some((export, s))) if from_list => {
            format!("NFS server {host} refused export {export}: {}", status(s))
        }
        (Some(list), r) => {
            let all = match list.is_empty() {
                true => "none".to_string(),
                false => list.join(", "),
            };
            let why = r
                .map(|(_, s)| wire::mountstat(s).0)
                .unwrap_or("MNT3ERR_NOENT");
            format!("NFS server {host} does not export {path} to us ({why}; its exports: {all})")
        }
        (None, Some((_, s))) => format!(
            "NFS server {host} refused to mount {path} and each directory above it: {}",
            status(s)
        ),
        (None, None) => format!("NFS server {host} does not export {path}"),
    }
}

/// The READ size: the server's `rtmax`, at most [`MAX_READ`].
fn fsinfo(nfs: &mut Conn, root: &[u8]) -> Result<u32, NfsError> {
    let r = nfs.call(
        wire::NFS_PROG,
        wire::NFS_VERS,
        wire::NFSPROC3_FSINFO,
        &wire::fh_args(root),
    )?;
    Ok(
        match wire::parse_fsinfo(&mut r.dec()).map_err(|e| nfs.failed(e))? {
            Ok(i) if i.rtmax >= 4096 => i.rtmax.min(MAX_READ) & !4095,
            _ => DEFAULT_READ,
        },
    )
}

fn nfs_status(nfs: &Conn, op: &str, s: u32) -> NfsError {
    match s {
        2 => NfsError::NotFound,
        s => {
            let (name, why) = wire::nfsstat(s);
            nfs.failed(format!("{op}: {why} ({name})"))
        }
    }
}

fn getattr(nfs: &mut Conn, fh: &[u8]) -> Result<wire::Attr, NfsError> {
    let r = nfs.call(
        wire::NFS_PROG,
        wire::NFS_VERS,
        wire::NFSPROC3_GETATTR,
        &wire::fh_args(fh),
    )?;
    match wire::parse_getattr(&mut r.dec()).map_err(|e| nfs.failed(e))? {
        Ok(a) => Ok(a),
        Err(s) => Err(nfs_status(nfs, "GETATTR", s)),
    }
}

/// Look `rest` up from the export's root handle, following symbolic
/// links that stay inside the export.
fn walk(nfs: &mut Conn, root: Vec<u8>, rest: &[&str]) -> Result<(Vec<u8>, wire::Attr), NfsError> {
    let mut todo: Vec<String> = rest.iter().rev().map(|s| s.to_string()).collect();
    // The handles from the root down to the current directory.
    let mut stack = vec![root];
    let mut attr = None;
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            attr = None;
            continue;
        }
        let dir = stack.last().cloned().unwrap_or_default();
        let r = nfs.call(
            wire::NFS_PROG,
            wire::NFS_VERS,
            wire::NFSPROC3_LOOKUP,
            &wire::lookup_args(&dir, &name),
        )?;
        let (fh, a) = match wire::parse_lookup(&mut r.dec()).map_err(|e| nfs.failed(e))? {
            Ok(x) => x,
            Err(20) => return Err(NfsError::NotFound),
            Err(s) => return Err(nfs_status(nfs, "LOOKUP", s)),
        };
        let a = match a {
            Some(a) => a,
            None => getattr(nfs, &fh)?,
        };
        if a.kind != wire::NF3LNK {
            stack.push(fh);
            attr = Some(a);
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(nfs.failed("too many levels of symbolic links"));
        }
        let r = nfs.call(
            wire::NFS_PROG,
            wire::NFS_VERS,
            wire::NFSPROC3_READLINK,
            &wire::fh_args(&fh),
        )?;
        let target = match wire::parse_readlink(&mut r.dec()).map_err(|e| nfs.failed(e))? {
            Ok(t) => t,
            Err(s) => return Err(nfs_status(nfs, "READLINK", s)),
        };
        if target.starts_with('/') {
            return Err(nfs.failed(format!(
                "{name} is a symbolic link to {target}, outside what this client follows (relative links only)"
            )));
        }
        for c in target.rsplit('/').filter(|c| !c.is_empty() && *c != ".") {
            todo.push(c.to_string());
        }
    }
    let fh = stack.pop().unwrap_or_default();
    let attr = match attr {
        Some(a) => a,
        None => getattr(nfs, &fh)?,
    };
    Ok((fh, attr))
}

impl File {
    /// Read up to `buf.len()` bytes (one READ of at most the server's
    /// largest) at `offset`; 0 at the end of the file.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, NfsError> {
        let asked = buf.len().min(self.chunk as usize) as u32;
        let r = self.nfs.call(
            wire::NFS_PROG,
            wire::NFS_VERS,
            wire::NFSPROC3_READ,
            &wire::read_args(&self.fh, offset, asked),
        )?;
        let mut d = r.dec();
        match wire::parse_read(&mut d, asked).map_err(|e| self.nfs.failed(e))? {
            Ok(rd) => {
                let n = rd.data.len();
                buf[..n].copy_from_slice(rd.data);
                if n == 0 && !rd.eof && asked > 0 {
                    return Err(self.nfs.failed("READ returned no data before the end"));
                }
                Ok(n)
            }
            Err(s) => Err(nfs_status(&self.nfs, "READ", s)),
        }
    }

    /// Fill `buf` from `offset`; the end of the file first is
    /// [`NfsError::Failed`] naming it.
    pub fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), NfsError> {
        let mut got = 0;
        while got < buf.len() {
            let n = self.read_at(offset + got as u64, &mut buf[got..])?;
            if n == 0 {
                return Err(NfsError::Failed(format!(
                    "the file ends at {} bytes, before {}",
                    offset + got as u64,
                    offset + buf.len() as u64
                )));
            }
            got += n;
        }
        Ok(())
    }

    /// The whole file into `sink`, refusing one larger than `limit`;
    /// `progress(got, size)` after each chunk. The bytes copied.
    pub fn copy(
        &mut self,
        sink: &mut dyn Write,
        limit: u64,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<u64, NfsError> {
        if self.dir {
            return Err(NfsError::Failed("is a directory".into()));
        }
        if self.size > limit {
            return Err(NfsError::Failed(format!(
                "{} bytes, larger than the size limit of {limit} bytes",
                self.size
            )));
        }
        let mut buf = vec![0u8; self.chunk as usize];
        let mut got = 0u64;
        while got < self.size {
            let want = (self.size - got).min(buf.len() as u64) as usize;
            let n = self.read_at(got, &mut buf[..want])?;
            if n == 0 {
                return Err(NfsError::Failed(format!(
                    "the file ended after {got} of {} bytes",
                    self.size
                )));
            }
            sink.write_all(&buf[..n])
                .map_err(|e| NfsError::Failed(format!("writing the copy: {e}")))?;
            got += n as u64;
            progress(got, Some(self.size));
        }
        Ok(got)
    }
}

impl locations::iso9660::ReadAt for File {
    fn read_exact_at(
        &mut self,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), locations::iso9660::ReadError> {
        use locations::iso9660::ReadError;
        if offset.saturating_add(buf.len() as u64) > self.size {
            return Err(ReadError::Eof);
        }
        File::read_exact_at(self, offset, buf).map_err(|e| match e {
            NfsError::NotFound => ReadError::Other("the image is gone from the server".into()),
            NfsError::Unreachable(w) | NfsError::Failed(w) => ReadError::Other(w),
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn paths_and_exports() {
        assert_eq!(components("/srv//nfs/./a/../b/"), ["srv", "nfs", "b"]);
        assert_eq!(components("/"), Vec::<&str>::new());
        let p = components("/srv/nfs/f");
        assert!(contains(&components("/srv/nfs"), &p));
        assert!(contains(&components("/"), &p));
        assert!(contains(&components("/srv/nfs/f"), &p));
        assert!(!contains(&components("/srv/nf"), &p));
        assert!(!contains(&components("/srv/nfs/f/g"), &p));
    }

    #[test]
    fn mount_failures() {
        let list = ["/srv".to_string(), "/x".to_string()];
        assert_eq!(
            mount_failure("h", "/srv/k", Some(&list), true, Some(("/srv".into(), 13))),
            "NFS server h refused export /srv: permission denied (MNT3ERR_ACCES)"
        );
        assert_eq!(
            mount_failure("h", "/y/k", Some(&list), false, Some(("/y/k".into(), 13))),
            "NFS server h does not export /y/k to us (MNT3ERR_ACCES; its exports: /srv, /x)"
        );
        assert_eq!(
            mount_failure("h", "/y/k", Some(&[]), false, None),
            "NFS server h does not export /y/k to us (MNT3ERR_NOENT; its exports: none)"
        );
        assert_eq!(
            mount_failure("h", "/y/k", None, false, Some(("/y".into(), 1))),
            "NFS server h refused to mount /y/k and each directory above it: not owner (MNT3ERR_PERM)"
        );
    }
}

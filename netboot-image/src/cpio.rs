//! The cpio "newc" format: a reproducible writer ([`Archive`]) and a reader
//! that never panics on garbage ([`Reader`]).
//!
//! This is the format the Linux kernel unpacks into its initial rootfs
//! (`Documentation/driver-api/early-userspace/buffer-format.rst`). Each entry
//! is a 110-byte ASCII header, the NUL-terminated name padded so that header
//! and name together are a multiple of 4 bytes, then the data padded to a
//! multiple of 4. The archive ends with an entry named `TRAILER!!!`.
//!
//! ```text
//!  offset  size  field       (each field: 8 hex digits, unless noted)
//!  0       6     c_magic     "070701" (newc), "070702" (crc) is read too
//!  6       8     c_ino
//!  14      8     c_mode      file type (S_IFMT bits) | permissions
//!  22      8     c_uid
//!  30      8     c_gid
//!  38      8     c_nlink
//!  46      8     c_mtime
//!  54      8     c_filesize  data length (symlink: target length)
//!  62      8     c_devmajor
//!  70      8     c_devminor
//!  78      8     c_rdevmajor device number of a char/block special file
//!  86      8     c_rdevminor
//!  94      8     c_namesize  name length including its NUL
//!  102     8     c_check     0 for newc
//!  110           name, NUL, zero padding to a multiple of 4
//!                data, zero padding to a multiple of 4
//! ```
//!
//! [`Packet`] is a view of one header and [`Repr`] its parsed form:
//! `Repr::parse` can't panic after [`Packet::new_checked`], and
//! [`Repr::emit`] can't panic into a buffer of [`Repr::buffer_len`] bytes.
//!
//! # Example
//!
//! ```
//! use netboot_image::cpio::{Archive, Reader};
//!
//! let mut archive = Archive::with_mtime(0);
//! archive.add_file("/bin/hello", 0o755, b"hi\n".to_vec());
//! archive.add_char_dev("/dev/console", 0o600, 5, 1);
//! let bytes = archive.to_bytes();
//!
//! let names: Vec<String> = Reader::new(&bytes)
//!     .map(|e| e.map(|e| e.name_lossy().into_owned()))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(names, ["bin", "bin/hello", "dev", "dev/console"]);
//! # Ok::<(), netboot_image::cpio::Error>(())
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// Length of a newc header, before the name.
pub const HEADER_LEN: usize = 110;
/// The newc magic.
pub const MAGIC: &[u8; 6] = b"070701";
/// The magic of the "crc" variant, which differs only in `c_check`.
pub const MAGIC_CRC: &[u8; 6] = b"070702";
/// The name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";

/// File type bits of `c_mode` (`S_IFMT`).
pub const S_IFMT: u32 = 0o170000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// Block device.
pub const S_IFBLK: u32 = 0o060000;
/// FIFO.
pub const S_IFIFO: u32 = 0o010000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140000;

mod field {
    use std::ops::Range;

    pub const MAGIC: Range<usize> = 0..6;
    pub const INO: Range<usize> = 6..14;
    pub const MODE: Range<usize> = 14..22;
    pub const UID: Range<usize> = 22..30;
    pub const GID: Range<usize> = 30..38;
    pub const NLINK: Range<usize> = 38..46;
    pub const MTIME: Range<usize> = 46..54;
    pub const FILESIZE: Range<usize> = 54..62;
    pub const DEVMAJOR: Range<usize> = 62..70;
    pub const DEVMINOR: Range<usize> = 70..78;
    pub const RDEVMAJOR: Range<usize> = 78..86;
    pub const RDEVMINOR: Range<usize> = 86..94;
    pub const NAMESIZE: Range<usize> = 94..102;
    pub const CHECK: Range<usize> = 102..110;
    pub const NAME: usize = 110;

    /// Every 8-digit field, in header order.
    pub const NUMBERS: [Range<usize>; 13] = [
        INO, MODE, UID, GID, NLINK, MTIME, FILESIZE, DEVMAJOR, DEVMINOR, RDEVMAJOR, RDEVMINOR,
        NAMESIZE, CHECK,
    ];
}

/// Rounds `n` up to a multiple of 4.
const fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// An error while reading an archive: what went wrong and at which offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    offset: usize,
    kind: ErrorKind,
}

/// What went wrong while reading an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ends inside a header, a name or file data.
    Truncated,
    /// The header does not start with `070701` or `070702`.
    BadMagic,
    /// A header field is not 8 hexadecimal digits.
    BadNumber,
    /// `c_namesize` is 0 or the name is not NUL-terminated there.
    BadName,
}

impl Error {
    /// The byte offset of the entry header where reading failed.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::Truncated => "archive is truncated",
            ErrorKind::BadMagic => "not a cpio newc header (magic is not 070701)",
            ErrorKind::BadNumber => "header field is not 8 hex digits",
            ErrorKind::BadName => "entry name is empty or not NUL-terminated",
        };
        write!(f, "cpio: {what} at offset {:#x}", self.offset)
    }
}

impl std::error::Error for Error {}

/// Parses 8 ASCII hex digits (either case).
fn parse_hex(digits: &[u8]) -> Option<u32> {
    if digits.len() != 8 {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &c| {
        let d = (c as char).to_digit(16)?;
        Some((acc << 4) | d)
    })
}

/// Writes `value` as 8 upper-case hex digits (like the kernel's
/// `usr/gen_init_cpio.c`) into `out`, which must be 8 bytes long.
fn write_hex(out: &mut [u8], value: u32) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for (i, b) in out.iter_mut().enumerate() {
        *b = DIGITS[((value >> (28 - 4 * i)) & 0xf) as usize];
    }
}

/// A read/write view of one newc entry header (and the name after it).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. Getters on a buffer that
    /// [`check_len`](Self::check_len) would refuse may panic.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps untrusted input: [`new_unchecked`](Self::new_unchecked) plus
    /// [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, ErrorKind> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds a whole header with a valid magic and
    /// valid numbers, and the whole NUL-terminated name. After this, every
    /// getter returns a meaningful value and [`Repr::parse`] can't fail.
    /// [`set_namesize`](Self::set_namesize) can invalidate it.
    pub fn check_len(&self) -> Result<(), ErrorKind> {
        let data = self.buffer.as_ref();
        if data.len() < field::MAGIC.end {
            return Err(ErrorKind::Truncated);
        }
        let magic = &data[field::MAGIC];
        if magic != MAGIC && magic != MAGIC_CRC {
            return Err(ErrorKind::BadMagic);
        }
        if data.len() < HEADER_LEN {
            return Err(ErrorKind::Truncated);
        }
        for range in field::NUMBERS {
            parse_hex(&data[range]).ok_or(ErrorKind::BadNumber)?;
        }
        let namesize = self.namesize() as usize;
        if namesize == 0 {
            return Err(ErrorKind::BadName);
        }
        let name_end = field::NAME
            .checked_add(namesize)
            .ok_or(ErrorKind::Truncated)?;
        if data.len() < name_end {
            return Err(ErrorKind::Truncated);
        }
        if data[name_end - 1] != 0 {
            return Err(ErrorKind::BadName);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn number(&self, range: std::ops::Range<usize>) -> u32 {
        parse_hex(&self.buffer.as_ref()[range]).unwrap_or(0)
    }

    /// The magic, `070701` or `070702`.
    pub fn magic(&self) -> &[u8] {
        &self.buffer.as_ref()[field::MAGIC]
    }
    /// `c_ino`.
    pub fn ino(&self) -> u32 {
        self.number(field::INO)
    }
    /// `c_mode`: file type and permissions.
    pub fn mode(&self) -> u32 {
        self.number(field::MODE)
    }
    /// `c_uid`.
    pub fn uid(&self) -> u32 {
        self.number(field::UID)
    }
    /// `c_gid`.
    pub fn gid(&self) -> u32 {
        self.number(field::GID)
    }
    /// `c_nlink`.
    pub fn nlink(&self) -> u32 {
        self.number(field::NLINK)
    }
    /// `c_mtime`, seconds since the epoch.
    pub fn mtime(&self) -> u32 {
        self.number(field::MTIME)
    }
    /// `c_filesize`: the length of the data after the name.
    pub fn filesize(&self) -> u32 {
        self.number(field::FILESIZE)
    }
    /// `c_devmajor`.
    pub fn dev_major(&self) -> u32 {
        self.number(field::DEVMAJOR)
    }
    /// `c_devminor`.
    pub fn dev_minor(&self) -> u32 {
        self.number(field::DEVMINOR)
    }
    /// `c_rdevmajor`: the major number of a device special file.
    pub fn rdev_major(&self) -> u32 {
        self.number(field::RDEVMAJOR)
    }
    /// `c_rdevminor`: the minor number of a device special file.
    pub fn rdev_minor(&self) -> u32 {
        self.number(field::RDEVMINOR)
    }
    /// `c_namesize`: name length including the NUL.
    pub fn namesize(&self) -> u32 {
        self.number(field::NAMESIZE)
    }
    /// `c_check`.
    pub fn check(&self) -> u32 {
        self.number(field::CHECK)
    }
    /// The name without its NUL.
    pub fn name(&self) -> &[u8] {
        let size = self.namesize() as usize;
        &self.buffer.as_ref()[field::NAME..field::NAME + size.saturating_sub(1)]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_number(&mut self, range: std::ops::Range<usize>, value: u32) {
        write_hex(&mut self.buffer.as_mut()[range], value)
    }
    /// Sets the magic to `070701`.
    pub fn set_magic(&mut self) {
        self.buffer.as_mut()[field::MAGIC].copy_from_slice(MAGIC)
    }
    /// Sets `c_ino`.
    pub fn set_ino(&mut self, value: u32) {
        self.set_number(field::INO, value)
    }
    /// Sets `c_mode`.
    pub fn set_mode(&mut self, value: u32) {
        self.set_number(field::MODE, value)
    }
    /// Sets `c_uid`.
    pub fn set_uid(&mut self, value: u32) {
        self.set_number(field::UID, value)
    }
    /// Sets `c_gid`.
    pub fn set_gid(&mut self, value: u32) {
        self.set_number(field::GID, value)
    }
    /// Sets `c_nlink`.
    pub fn set_nlink(&mut self, value: u32) {
        self.set_number(field::NLINK, value)
    }
    /// Sets `c_mtime`.
    pub fn set_mtime(&mut self, value: u32) {
        self.set_number(field::MTIME, value)
    }
    /// Sets `c_filesize`.
    pub fn set_filesize(&mut self, value: u32) {
        self.set_number(field::FILESIZE, value)
    }
    /// Sets `c_devmajor`.
    pub fn set_dev_major(&mut self, value: u32) {
        self.set_number(field::DEVMAJOR, value)
    }
    /// Sets `c_devminor`.
    pub fn set_dev_minor(&mut self, value: u32) {
        self.set_number(field::DEVMINOR, value)
    }
    /// Sets `c_rdevmajor`.
    pub fn set_rdev_major(&mut self, value: u32) {
        self.set_number(field::RDEVMAJOR, value)
    }
    /// Sets `c_rdevminor`.
    pub fn set_rdev_minor(&mut self, value: u32) {
        self.set_number(field::RDEVMINOR, value)
    }
    /// Sets `c_namesize`. Changing it invalidates [`check_len`](Packet::check_len).
    pub fn set_namesize(&mut self, value: u32) {
        self.set_number(field::NAMESIZE, value)
    }
    /// Sets `c_check`.
    pub fn set_check(&mut self, value: u32) {
        self.set_number(field::CHECK, value)
    }
    /// Writes the name, its NUL and the zero padding after it; `c_namesize`
    /// must already be `name.len() + 1`.
    pub fn set_name(&mut self, name: &[u8]) {
        let data = self.buffer.as_mut();
        let end = field::NAME + name.len();
        data[field::NAME..end].copy_from_slice(name);
        let padded = pad4(end + 1);
        data[end..padded].fill(0);
    }
}

/// The parsed form of one entry header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr<'a> {
    /// `c_ino`.
    pub ino: u32,
    /// `c_mode`: file type and permissions.
    pub mode: u32,
    /// `c_uid`.
    pub uid: u32,
    /// `c_gid`.
    pub gid: u32,
    /// `c_nlink`.
    pub nlink: u32,
    /// `c_mtime`.
    pub mtime: u32,
    /// `c_filesize`.
    pub filesize: u32,
    /// `c_devmajor`.
    pub dev_major: u32,
    /// `c_devminor`.
    pub dev_minor: u32,
    /// `c_rdevmajor`.
    pub rdev_major: u32,
    /// `c_rdevminor`.
    pub rdev_minor: u32,
    /// The name, without its NUL and without a leading `/`.
    pub name: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses a header that [`Packet::check_len`] accepted.
    pub fn parse(packet: &Packet<&'a [u8]>) -> Result<Repr<'a>, ErrorKind> {
        packet.check_len()?;
        let buffer: &'a [u8] = packet.buffer;
        let name_len = (packet.namesize() as usize).saturating_sub(1);
        Ok(Repr {
            ino: packet.ino(),
            mode: packet.mode(),
            uid: packet.uid(),
            gid: packet.gid(),
            nlink: packet.nlink(),
            mtime: packet.mtime(),
            filesize: packet.filesize(),
            dev_major: packet.dev_major(),
            dev_minor: packet.dev_minor(),
            rdev_major: packet.rdev_major(),
            rdev_minor: packet.rdev_minor(),
            name: &buffer[field::NAME..field::NAME + name_len],
        })
    }

    /// Bytes taken by the header and the padded name (not the data).
    pub const fn buffer_len(&self) -> usize {
        pad4(HEADER_LEN + self.name.len() + 1)
    }

    /// Writes the header and the padded name into `packet`, whose buffer
    /// must be at least [`buffer_len`](Self::buffer_len) bytes long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_magic();
        packet.set_ino(self.ino);
        packet.set_mode(self.mode);
        packet.set_uid(self.uid);
        packet.set_gid(self.gid);
        packet.set_nlink(self.nlink);
        packet.set_mtime(self.mtime);
        packet.set_filesize(self.filesize);
        packet.set_dev_major(self.dev_major);
        packet.set_dev_minor(self.dev_minor);
        packet.set_rdev_major(self.rdev_major);
        packet.set_rdev_minor(self.rdev_minor);
        // A name longer than u32::MAX can't reach here: `Archive` holds
        // `String`s that fit in memory next to their archive.
        packet.set_namesize((self.name.len() + 1) as u32);
        packet.set_check(0);
        packet.set_name(self.name);
    }

    /// The file type bits of `mode`.
    pub const fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }
}

/// One entry of an archive being read: its header and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Byte offset of the header in the input.
    pub offset: usize,
    /// The header.
    pub header: Repr<'a>,
    /// The data (for a symlink: the target).
    pub data: &'a [u8],
}

impl Entry<'_> {
    /// The name, with invalid UTF-8 replaced.
    pub fn name_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.header.name)
    }

    /// The file type as one letter, like `ls -l`: `-`, `d`, `l`, `c`, `b`,
    /// `p`, `s`, or `?`.
    pub fn type_char(&self) -> char {
        match self.header.file_type() {
            S_IFREG => '-',
            S_IFDIR => 'd',
            S_IFLNK => 'l',
            S_IFCHR => 'c',
            S_IFBLK => 'b',
            S_IFIFO => 'p',
            S_IFSOCK => 's',
            _ => '?',
        }
    }
}

/// Reads the entries of a newc archive, stopping after `TRAILER!!!`.
///
/// The iterator yields at most one error and then ends, so a garbage input
/// can't make it loop or panic. After the trailer, [`end`](Self::end) is
/// where the next concatenated archive (or padding) would start.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
    trailer_seen: bool,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `data`.
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            done: false,
            trailer_seen: false,
        }
    }

    /// The offset just past the last entry read (padding included).
    pub fn end(&self) -> usize {
        self.pos.min(self.data.len())
    }

    /// Whether the `TRAILER!!!` entry was reached.
    pub fn trailer_seen(&self) -> bool {
        self.trailer_seen
    }

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, Error> {
        let offset = self.pos;
        let fail = |kind| Error { offset, kind };
        let rest = self.data.get(offset..).ok_or(fail(ErrorKind::Truncated))?;
        let packet = Packet::new_checked(rest).map_err(fail)?;
        let header = Repr::parse(&packet).map_err(fail)?;
        let name_end = offset + header.buffer_len();
        let data_len = header.filesize as usize;
        let data_end = name_end
            .checked_add(data_len)
            .ok_or(fail(ErrorKind::Truncated))?;
        let data = self
            .data
            .get(name_end..data_end)
            .ok_or(fail(ErrorKind::Truncated))?;
        // The name's own padding may be missing at the very end of a
        // truncated input; `get` above already refused that case for data.
        if name_end > self.data.len() {
            return Err(fail(ErrorKind::Truncated));
        }
        self.pos = pad4(data_end);
        let name = header.name.strip_prefix(b"/").unwrap_or(header.name);
        let header = Repr { name, ..header };
        if header.name == TRAILER.as_bytes() {
            self.trailer_seen = true;
            return Ok(None);
        }
        Ok(Some(Entry {
            offset,
            header,
            data,
        }))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }
}

/// What a path in an [`Archive`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir { mode: u32, implicit: bool },
    File { mode: u32, data: Vec<u8> },
    CharDev { mode: u32, major: u32, minor: u32 },
    Symlink { target: String },
}

/// Why a path can't go into an archive (see [`normalize_path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    path: String,
    reason: &'static str,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid archive path {:?}: {}", self.path, self.reason)
    }
}

impl std::error::Error for PathError {}

/// Normalizes an archive path the way [`Archive`] stores it: no leading
/// `/`, no empty or `.` components. Refuses `..`, NUL bytes and paths that
/// name the root or the trailer.
///
/// Use it to validate untrusted paths before calling the `add_*` methods,
/// which do the same normalization but silently drop `..` components.
pub fn normalize_path(path: &str) -> Result<String, PathError> {
    let fail = |reason| PathError {
        path: path.to_string(),
        reason,
    };
    if path.contains('\0') {
        return Err(fail("contains a NUL byte"));
    }
    if path.split('/').any(|c| c == "..") {
        return Err(fail("contains a `..` component"));
    }
    let normalized = lenient_normalize(path);
    if normalized.is_empty() {
        return Err(fail("names the archive root"));
    }
    if normalized == TRAILER {
        return Err(fail("is the cpio trailer name"));
    }
    Ok(normalized)
}

fn lenient_normalize(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
        .map(|c| c.replace('\0', ""))
        .collect::<Vec<_>>()
        .join("/")
}

/// A reproducible newc archive under construction.
///
/// Entries are written sorted by path (so a directory always precedes its
/// contents), all owned by uid/gid 0, all with the same mtime, with inode
/// numbers counted from 1 in that order. Parent directories are created
/// implicitly (mode 0755) unless added explicitly. Adding a path twice keeps
/// the last one. Paths are normalized (leading `/`, empty, `.` and `..`
/// components dropped); validate untrusted ones with [`normalize_path`].
///
/// ```text
/// entry 1 .. n   header | name NUL pad4 | data pad4    (sorted by path)
/// trailer        header (nlink 1, all else 0) | "TRAILER!!!" NUL pad4
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    entries: BTreeMap<String, Node>,
    mtime: u32,
}

impl Default for Archive {
    fn default() -> Self {
        Self::new()
    }
}

/// The mtime given by `SOURCE_DATE_EPOCH`, or `None` when it is unset.
/// An unparsable or out-of-range value (newc stores 32 bits) is an error
/// message naming the value.
pub fn source_date_epoch() -> Result<Option<u32>, String> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => {
            Err(format!("SOURCE_DATE_EPOCH={v:?} is not a number"))
        }
        Ok(v) => v.trim().parse::<u32>().map(Some).map_err(|_| {
            format!(
                "SOURCE_DATE_EPOCH={v:?} is not a number of seconds between 0 and {}",
                u32::MAX
            )
        }),
    }
}

impl Archive {
    /// An empty archive whose entries get the mtime from `SOURCE_DATE_EPOCH`
    /// (<https://reproducible-builds.org/specs/source-date-epoch/>), or 0 when
    /// it is unset or invalid (check it first with [`source_date_epoch`] to
    /// report an invalid value).
    pub fn new() -> Self {
        Self::with_mtime(source_date_epoch().ok().flatten().unwrap_or(0))
    }

    /// An empty archive whose entries all get `mtime`.
    pub fn with_mtime(mtime: u32) -> Self {
        Archive {
            entries: BTreeMap::new(),
            mtime,
        }
    }

    /// The mtime every entry gets.
    pub fn mtime(&self) -> u32 {
        self.mtime
    }

    /// Whether `path` (normalized) has an entry, explicit or implicit.
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(&lenient_normalize(path))
    }

    /// Whether `path` (normalized) is a directory, explicit or implicit.
    pub fn is_dir(&self, path: &str) -> bool {
        matches!(
            self.entries.get(&lenient_normalize(path)),
            Some(Node::Dir { .. })
        )
    }

    /// The number of entries, implicit directories included, trailer excluded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the archive has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, path: &str, node: Node) {
        let path = lenient_normalize(path);
        if path.is_empty() || path == TRAILER {
            return;
        }
        let mut parent = String::new();
        let mut components = path.split('/').peekable();
        while let Some(c) = components.next() {
            if components.peek().is_none() {
                break;
            }
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(c);
            match self.entries.get(&parent) {
                Some(Node::Dir { .. }) => {}
                // A non-directory on the way is replaced: the last add wins.
                _ => {
                    self.entries.insert(
                        parent.clone(),
                        Node::Dir {
                            mode: 0o755,
                            implicit: true,
                        },
                    );
                }
            }
        }
        self.entries.insert(path, node);
    }

    /// Adds a directory with permissions `mode & 0o7777`.
    pub fn add_dir(&mut self, path: &str, mode: u32) {
        self.insert(
            path,
            Node::Dir {
                mode: mode & 0o7777,
                implicit: false,
            },
        );
    }

    /// Adds a regular file with permissions `mode & 0o7777`.
    pub fn add_file(&mut self, path: &str, mode: u32, data: Vec<u8>) {
        self.insert(
            path,
            Node::File {
                mode: mode & 0o7777,
                data,
            },
        );
    }

    /// Adds a character device node, e.g. `/dev/console` is `(5, 1)`.
    pub fn add_char_dev(&mut self, path: &str, mode: u32, major: u32, minor: u32) {
        self.insert(
            path,
            Node::CharDev {
                mode: mode & 0o7777,
                major,
                minor,
            },
        );
    }

    /// Adds a symbolic link (mode 0777) pointing at `target`.
    pub fn add_symlink(&mut self, path: &str, target: &str) {
        self.insert(
            path,
            Node::Symlink {
                target: target.to_string(),
            },
        );
    }

    /// The archive's bytes: the sorted entries and the trailer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (index, (path, node)) in self.entries.iter().enumerate() {
            let (mode, nlink, rdev, data): (u32, u32, (u32, u32), &[u8]) = match node {
                Node::Dir { mode, .. } => (S_IFDIR | mode, 2, (0, 0), &[]),
                Node::File { mode, data } => (S_IFREG | mode, 1, (0, 0), data),
                Node::CharDev { mode, major, minor } => (S_IFCHR | mode, 1, (*major, *minor), &[]),
                Node::Symlink { target } => (S_IFLNK | 0o777, 1, (0, 0), target.as_bytes()),
            };
            let repr = Repr {
                ino: (index + 1) as u32,
                mode,
                uid: 0,
                gid: 0,
                nlink,
                mtime: self.mtime,
                filesize: data.len() as u32,
                dev_major: 0,
                dev_minor: 0,
                rdev_major: rdev.0,
                rdev_minor: rdev.1,
                name: path.as_bytes(),
            };
            emit_entry(&mut out, &repr, data);
        }
        let trailer = Repr {
            ino: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            nlink: 1,
            mtime: 0,
            filesize: 0,
            dev_major: 0,
            dev_minor: 0,
            rdev_major: 0,
            rdev_minor: 0,
            name: TRAILER.as_bytes(),
        };
        emit_entry(&mut out, &trailer, &[]);
        out
    }
}

/// Appends one entry (header, padded name, padded data) to `out`.
fn emit_entry(out: &mut Vec<u8>, repr: &Repr<'_>, data: &[u8]) {
    let start = out.len();
    out.resize(start + repr.buffer_len(), 0);
    repr.emit(&mut Packet::new_unchecked(&mut out[start..]));
    out.extend_from_slice(data);
    out.resize(pad4(out.len()), 0);
}

#[cfg(test)]
mod test {
    use super::*;

    /// One header as the text it is, for readable goldens.
    fn header(fields: [u32; 13], name: &str) -> Vec<u8> {
        let mut out = b"070701".to_vec();
        for f in fields {
            out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out
    }

    #[test]
    fn golden_empty_archive_is_just_the_trailer() {
        // 110 + 11 = 121 -> padded to 124.
        let mut expected = b"070701".to_vec();
        expected.extend_from_slice(b"00000000"); // ino
        expected.extend_from_slice(b"00000000"); // mode
        expected.extend_from_slice(b"00000000"); // uid
        expected.extend_from_slice(b"00000000"); // gid
        expected.extend_from_slice(b"00000001"); // nlink
        expected.extend_from_slice(b"00000000"); // mtime
        expected.extend_from_slice(b"00000000"); // filesize
        expected.extend_from_slice(b"00000000"); // devmajor
        expected.extend_from_slice(b"00000000"); // devminor
        expected.extend_from_slice(b"00000000"); // rdevmajor
        expected.extend_from_slice(b"00000000"); // rdevminor
        expected.extend_from_slice(b"0000000B"); // namesize: 10 + NUL
        expected.extend_from_slice(b"00000000"); // check
        expected.extend_from_slice(b"TRAILER!!!\0\0\0\0");
        assert_eq!(expected.len(), 124);
        assert_eq!(Archive::with_mtime(0).to_bytes(), expected);
    }

    #[test]
    fn golden_small_archive() {
        let mut a = Archive::with_mtime(0x5f5e100);
        a.add_file("/init", 0o755, b"#!x\n\x00".to_vec());
        a.add_char_dev("/dev/console", 0o600, 5, 1);
        a.add_symlink("bin/sh", "busybox");
        let got = a.to_bytes();

        let t = 0x5f5e100;
        let mut want = Vec::new();
        // bin: implicit dir, ino 1, 040755, nlink 2, namesize 4 -> 114 -> 116
        want.extend(header([1, 0o40755, 0, 0, 2, t, 0, 0, 0, 0, 0, 4, 0], "bin"));
        assert_eq!(want.len(), 116);
        // bin/sh: symlink, 0120777, filesize 7 ("busybox"), data padded to 8
        want.extend(header(
            [2, 0o120777, 0, 0, 1, t, 7, 0, 0, 0, 0, 7, 0],
            "bin/sh",
        ));
        want.extend_from_slice(b"busybox\0");
        // dev: implicit dir
        want.extend(header([3, 0o40755, 0, 0, 2, t, 0, 0, 0, 0, 0, 4, 0], "dev"));
        // dev/console: c 5 1, 020600
        want.extend(header(
            [4, 0o20600, 0, 0, 1, t, 0, 0, 0, 5, 1, 12, 0],
            "dev/console",
        ));
        // init: 0100755, 5 bytes of data padded to 8
        want.extend(header(
            [5, 0o100755, 0, 0, 1, t, 5, 0, 0, 0, 0, 5, 0],
            "init",
        ));
        want.extend_from_slice(b"#!x\n\x00\0\0\0");
        want.extend(header(
            [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11, 0],
            "TRAILER!!!",
        ));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want)
        );
        assert_eq!(got, want);
        // Spot-check the literal text of one header, independent of `header()`.
        let dev_console = &got[116 + 120 + 8 + 116..][..HEADER_LEN];
        let literal = concat!(
            "070701", "00000004", "00002180", "00000000", "00000000", "00000001", "05F5E100",
            "00000000", "00000000", "00000000", "00000005", "00000001", "0000000C", "00000000",
        );
        assert_eq!(dev_console, literal.as_bytes());
    }

    #[test]
    fn sorted_parents_first_and_explicit_dir_mode_wins() {
        let mut a = Archive::with_mtime(0);
        a.add_file("a/b/c", 0o644, vec![1]);
        a.add_dir("a", 0o700);
        a.add_file("a-b", 0o644, vec![]);
        let bytes = a.to_bytes();
        let entries: Vec<_> = Reader::new(&bytes).collect::<Result<_, _>>().unwrap();
        let names: Vec<_> = entries
            .iter()
            .map(|e| e.name_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a", "a-b", "a/b", "a/b/c"]);
        assert_eq!(entries[0].header.mode, 0o40700);
        assert_eq!(entries[2].header.mode, 0o40755);
    }

    #[test]
    fn round_trip() {
        let mut a = Archive::with_mtime(1234);
        a.add_file("x/data", 0o640, (0..=255u8).collect());
        a.add_file("empty", 0o600, vec![]);
        a.add_symlink("x/link", "../empty");
        a.add_char_dev("dev/console", 0o600, 5, 1);
        let bytes = a.to_bytes();
        let mut reader = Reader::new(&bytes);
        let entries: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        assert!(reader.trailer_seen());
        assert_eq!(reader.end(), bytes.len());
        let find = |n: &str| {
            entries
                .iter()
                .find(|e| e.header.name == n.as_bytes())
                .unwrap()
        };
        assert_eq!(find("x/data").data, (0..=255u8).collect::<Vec<_>>());
        assert_eq!(find("x/data").header.mode, S_IFREG | 0o640);
        assert_eq!(find("x/data").header.mtime, 1234);
        assert_eq!(find("x/link").data, b"../empty");
        assert_eq!(find("x/link").type_char(), 'l');
        let console = find("dev/console");
        assert_eq!(
            (console.header.rdev_major, console.header.rdev_minor),
            (5, 1)
        );
        assert_eq!(console.type_char(), 'c');
        assert!(entries
            .iter()
            .all(|e| e.header.uid == 0 && e.header.gid == 0));
    }

    #[test]
    fn normalization() {
        assert_eq!(
            normalize_path("/lib//modules/./x.ko").unwrap(),
            "lib/modules/x.ko"
        );
        assert!(normalize_path("/").is_err());
        assert!(normalize_path("a/../b").is_err());
        assert!(normalize_path("TRAILER!!!").is_err());
        let mut a = Archive::with_mtime(0);
        a.add_file("/../etc/x", 0o644, vec![]);
        assert!(a.contains("etc/x"));
    }

    #[test]
    fn last_add_wins() {
        let mut a = Archive::with_mtime(0);
        a.add_file("f", 0o644, vec![1]);
        a.add_file("f", 0o600, vec![2, 3]);
        let bytes = a.to_bytes();
        let entries: Vec<_> = Reader::new(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].data, [2, 3]);
    }

    #[test]
    fn reader_errors_have_kinds() {
        let bytes = Archive::with_mtime(0).to_bytes();
        let mut bad = bytes.clone();
        bad[0] = b'x';
        let err = Reader::new(&bad).next().unwrap().unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::BadMagic);
        let mut bad = bytes.clone();
        bad[10] = b'g';
        assert_eq!(
            Reader::new(&bad).next().unwrap().unwrap_err().kind(),
            &ErrorKind::BadNumber
        );
        let err = Reader::new(&bytes[..50]).next().unwrap().unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Truncated);
        assert_eq!(
            Reader::new(&[]).next().unwrap().unwrap_err().kind(),
            &ErrorKind::Truncated
        );
    }

    #[test]
    fn reader_accepts_lower_case_and_crc_magic() {
        let mut a = Archive::with_mtime(0);
        a.add_file("f", 0o644, b"abc".to_vec());
        let mut bytes = a.to_bytes();
        bytes[5] = b'2';
        let text = String::from_utf8_lossy(&bytes[..HEADER_LEN]).to_lowercase();
        bytes[..HEADER_LEN].copy_from_slice(text.as_bytes());
        let entries: Vec<_> = Reader::new(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries[0].data, b"abc");
    }

    #[test]
    fn reader_never_panics_on_garbage() {
        // Deterministic pseudo-random mutations of a valid archive, plus
        // every truncation of it.
        let mut a = Archive::with_mtime(7);
        a.add_file("a/b", 0o644, b"hello world".to_vec());
        a.add_symlink("l", "a/b");
        let good = a.to_bytes();
        for len in 0..good.len() {
            for entry in Reader::new(&good[..len]) {
                let _ = entry;
            }
        }
        let mut state = 0x2545F4914F6CDD1Du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bad = good.clone();
            let pos = (state % bad.len() as u64) as usize;
            bad[pos] = (state >> 32) as u8;
            if state & 1 == 0 {
                // Plausible but huge numbers in a random field.
                let f = field::NUMBERS[(state >> 8) as usize % 13].clone();
                bad[f].copy_from_slice(b"FFFFFFFF");
            }
            let count = Reader::new(&bad).take(100).count();
            assert!(count <= 5, "3 entries, a renamed trailer, an error");
        }
    }
}

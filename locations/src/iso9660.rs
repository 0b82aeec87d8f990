//! ISO 9660 images (ECMA-119) with Rock Ridge (RRIP over SUSP, IEEE P1282)
//! and Joliet names, read with random access through [`ReadAt`]: opening
//! an image reads its volume descriptors, a lookup reads only the
//! directory extents on the path (each once: they are cached), and a file
//! is an extent the caller reads in the ranges it wants. Over HTTP with
//! Range requests that is a few sectors plus the files themselves.
//!
//! Names: Rock Ridge `NM` names when the root directory's `.` record
//! carries SUSP's `SP` entry (exact match), else Joliet's UCS-2 names
//! when a Joliet supplementary descriptor exists (exact, then ignoring
//! case), else the ISO 9660 names (ignoring case, `;1` and a trailing
//! `.` dropped). Bounds: 64 volume descriptors, directories up to 16 MiB,
//! 16 `CE` continuation areas per record; every offset and length is
//! checked against the image and the record.

use std::collections::HashMap;
use std::fmt;

/// The sector (logical block) size this reader supports.
pub const SECTOR: u64 = 2048;
const MAX_DESCRIPTORS: u64 = 64;
const MAX_DIR: u64 = 16 << 20;
const MAX_CE: usize = 16;

/// Why a [`ReadAt`] read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The image ends before the range.
    Eof,
    /// Anything else, one line.
    Other(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Eof => write!(f, "the image ends before the data it records"),
            ReadError::Other(w) => f.write_str(w),
        }
    }
}

/// Random-access reads of an image: a local file, a block device, HTTP
/// Range requests, or a file inside another image.
pub trait ReadAt {
    /// Fill `buf` from `offset`.
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError>;
}

impl ReadAt for &[u8] {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let start = usize::try_from(offset).map_err(|_| ReadError::Eof)?;
        let end = start
            .checked_add(buf.len())
            .filter(|e| *e <= self.len())
            .ok_or(ReadError::Eof)?;
        buf.copy_from_slice(&self[start..end]);
        Ok(())
    }
}

/// Why an image cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IsoError {
    /// No `CD001` primary volume descriptor.
    NotIso,
    /// A block size other than 2048.
    BlockSize(u16),
    /// A malformed directory record or descriptor (what, where).
    Corrupt(String),
    /// A path component that is not there.
    NotFound(String),
    /// A path component that is a file, not a directory.
    NotADirectory(String),
    /// A directory larger than this reader takes.
    TooLarge(String),
    /// A file recorded in several extents (over 4 GiB).
    MultiExtent(String),
    /// The [`ReadAt`] failed.
    Read(String),
}

impl fmt::Display for IsoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IsoError::NotIso => write!(
                f,
                "not an ISO 9660 image (no CD001 primary volume descriptor)"
            ),
            IsoError::BlockSize(b) => write!(f, "ISO 9660 block size {b} (only 2048 is read)"),
            IsoError::Corrupt(w) => write!(f, "corrupt ISO 9660 image: {w}"),
            IsoError::NotFound(p) => write!(f, "{p}: not found in the image"),
            IsoError::NotADirectory(p) => write!(f, "{p}: not a directory in the image"),
            IsoError::TooLarge(p) => write!(f, "{p}: directory larger than 16 MiB"),
            IsoError::MultiExtent(p) => {
                write!(
                    f,
                    "{p}: recorded in several extents (over 4 GiB), not supported"
                )
            }
            IsoError::Read(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for IsoError {}

/// Which names the image is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Rock Ridge `NM` entries.
    RockRidge,
    /// Joliet (UCS-2 big-endian).
    Joliet,
    /// ISO 9660 names.
    Iso9660,
}

/// A file or directory of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name (as [`Names`] gives it).
    pub name: String,
    /// Byte offset of its data in the image.
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Whether it is a directory.
    pub dir: bool,
    multi: bool,
}

/// An open image.
pub struct Iso<R: ReadAt> {
    r: R,
    /// Which names are used.
    pub names: Names,
    /// The image size from the primary descriptor, in bytes.
    pub volume_size: u64,
    root: Entry,
    /// SUSP bytes to skip in each record (`SP`'s `LEN_SKP`).
    skip: usize,
    dirs: HashMap<u64, Vec<Entry>>,
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn corrupt(w: impl Into<String>) -> IsoError {
    IsoError::Corrupt(w.into())
}

/// One directory record at the start of `b`: (record, its length).
fn record(b: &[u8]) -> Result<(&[u8], usize), IsoError> {
    let len = *b
        .first()
        .ok_or_else(|| corrupt("truncated directory record"))? as usize;
    if len < 34 || len > b.len() {
        return Err(corrupt(format!("directory record of length {len}")));
    }
    let rec = &b[..len];
    let name_len = rec[32] as usize;
    if 33 + name_len > len {
        return Err(corrupt("directory record name past its end"));
    }
    Ok((rec, len))
}

impl<R: ReadAt> Iso<R> {
    /// Open an image: read its volume descriptors and pick the names.
    pub fn open(mut r: R) -> Result<Iso<R>, IsoError> {
        let mut primary: Option<Vec<u8>> = None;
        let mut joliet: Option<Vec<u8>> = None;
        for i in 0..MAX_DESCRIPTORS {
            let mut d = vec![0u8; SECTOR as usize];
            match r.read_exact_at((16 + i) * SECTOR, &mut d) {
                Ok(()) => {}
                Err(ReadError::Eof) if i == 0 => return Err(IsoError::NotIso),
                Err(ReadError::Other(e)) => return Err(IsoError::Read(e)),
                Err(ReadError::Eof) => break,
            }
            if &d[1..6] != b"CD001" {
                if i == 0 {
                    return Err(IsoError::NotIso);
                }
                break;
            }
            match d[0] {
                1 if primary.is_none() => primary = Some(d),
                2 if matches!(&d[88..91], b"%/@" | b"%/C" | b"%/E") && joliet.is_none() => {
                    joliet = Some(d)
                }
                255 => break,
                _ => {}
            }
        }
        let p = primary.ok_or(IsoError::NotIso)?;
        let block = u16::from_le_bytes([p[128], p[129]]);
        if u64::from(block) != SECTOR {
            return Err(IsoError::BlockSize(block));
        }
        let volume_size = u64::from(le32(&p, 80)) * SECTOR;
        let mut iso = Iso {
            r,
            names: Names::Iso9660,
            volume_size,
            root: Entry {
                name: String::new(),
                offset: 0,
                size: 0,
                dir: true,
                multi: false,
            },
            skip: 0,
            dirs: HashMap::new(),
        };
        let root = iso.entry(&p[156..190], Names::Iso9660)?;
        iso.root = root;
        // Rock Ridge: SUSP's SP entry in the root's "." record.
        let first = iso.read_dir_raw(&iso.root.clone())?;
        let rr = record(&first).ok().and_then(|(rec, _)| {
            let name_len = rec[32] as usize;
            let su = rec
                .get(33 + name_len + (1 - name_len % 2)..)
                .unwrap_or_default();
            (su.len() >= 7 && &su[0..2] == b"SP" && su[4] == 0xBE && su[5] == 0xEF)
                .then(|| su[6] as usize)
        });
        if let Some(skip) = rr {
            iso.names = Names::RockRidge;
            iso.skip = skip;
        } else if let Some(j) = joliet {
            iso.names = Names::Joliet;
            let root = iso.entry(&j[156..190], Names::Joliet)?;
            iso.root = root;
        }
        Ok(iso)
    }

    /// A directory record as an entry (names not read for `.` and `..`).
    fn entry(&mut self, rec: &[u8], names: Names) -> Result<Entry, IsoError> {
        if rec.len() < 34 {
            return Err(corrupt("short directory record"));
        }
        let lba = u64::from(le32(rec, 2));
        let size = u64::from(le32(rec, 10));
        let flags = rec[25];
        let name_len = rec[32] as usize;
        let raw = rec
            .get(33..33 + name_len)
            .ok_or_else(|| corrupt("directory record name past its end"))?;
        let offset = lba * SECTOR;
        if offset
            .checked_add(size)
            .is_none_or(|e| e > self.volume_size.max(SECTOR * 17))
        {
            return Err(corrupt(format!(
                "extent at block {lba} of {size} bytes lies outside the {} byte volume",
                self.volume_size
            )));
        }
        let name = match names {
            _ if raw == [0] || raw == [1] => String::new(),
            Names::Joliet => {
                let units: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                let n = String::from_utf16_lossy(&units);
                n.split(';').next().unwrap_or_default().to_string()
            }
            Names::RockRidge => {
                let pad = 1 - name_len % 2;
                let su = rec.get(33 + name_len + pad..).unwrap_or_default();
                match self.rr_name(su)? {
                    Some(n) => n,
                    None => iso_name(raw),
                }
            }
            Names::Iso9660 => iso_name(raw),
        };
        Ok(Entry {
            name,
            offset,
            size,
            dir: flags & 2 != 0,
            multi: flags & 0x80 != 0,
        })
    }

    /// The Rock Ridge name in a system use area (following `CE`).
    fn rr_name(&mut self, su: &[u8]) -> Result<Option<String>, IsoError> {
        let mut name: Option<Vec<u8>> = None;
        let mut area = su.get(self.skip..).unwrap_or_default().to_vec();
        for _ in 0..=MAX_CE {
            let mut next = None;
            let mut i = 0;
            while i + 4 <= area.len() {
                let (sig, len) = (&area[i..i + 2], area[i + 2] as usize);
                if len < 4 || i + len > area.len() {
                    break;
                }
                let data = &area[i + 4..i + len];
                match sig {
                    // Flags: 1 continue, 2 current, 4 parent.
                    b"NM" if !data.is_empty() && data[0] & 6 == 0 => {
                        name.get_or_insert_with(Vec::new)
                            .extend_from_slice(&data[1..]);
                    }
                    b"CE" if data.len() >= 24 => {
                        let lba = u64::from(le32(data, 0));
                        let off = u64::from(le32(data, 8));
                        let l = u64::from(le32(data, 16));
                        next = Some((lba * SECTOR + off, l));
                    }
                    b"ST" => break,
                    _ => {}
                }
                i += len;
            }
            let Some((at, l)) = next else { break };
            if l > SECTOR || at.saturating_add(l) > self.volume_size {
                return Err(corrupt("Rock Ridge continuation area outside the volume"));
            }
            let mut buf = vec![0u8; l as usize];
            self.r.read_exact_at(at, &mut buf).map_err(read_error)?;
            area = buf;
        }
        Ok(name.map(|n| String::from_utf8_lossy(&n).into_owned()))
    }

    fn read_dir_raw(&mut self, dir: &Entry) -> Result<Vec<u8>, IsoError> {
        if dir.size > MAX_DIR {
            return Err(IsoError::TooLarge(dir.name.clone()));
        }
        let mut buf = vec![0u8; dir.size as usize];
        self.r
            .read_exact_at(dir.offset, &mut buf)
            .map_err(read_error)?;
        Ok(buf)
    }

    /// The entries of a directory (without `.` and `..`).
    pub fn list(&mut self, dir: &Entry) -> Result<Vec<Entry>, IsoError> {
        if let Some(v) = self.dirs.get(&dir.offset) {
            return Ok(v.clone());
        }
        let raw = self.read_dir_raw(dir)?;
        let mut out = Vec::new();
        let mut i = 0usize;
        while i < raw.len() {
            if raw[i] == 0 {
                // Records do not cross sectors: on to the next one.
                i = (i / SECTOR as usize + 1) * SECTOR as usize;
                continue;
            }
            let (rec, len) = record(&raw[i..])?;
            let e = self.entry(rec, self.names)?;
            if !e.name.is_empty() {
                out.push(e);
            }
            i += len;
        }
        self.dirs.insert(dir.offset, out.clone());
        Ok(out)
    }

    /// The root directory.
    pub fn root(&self) -> Entry {
        self.root.clone()
    }

    /// The entry at `path` (`/`-separated, relative to the root; empty:
    /// the root).
    pub fn lookup(&mut self, path: &str) -> Result<Entry, IsoError> {
        let mut cur = self.root.clone();
        let mut walked = String::new();
        for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(comp);
            if !cur.dir {
                return Err(IsoError::NotADirectory(walked));
            }
            let entries = self.list(&cur)?;
            let exact = entries.iter().find(|e| e.name == comp);
            let found = match (exact, self.names) {
                (Some(e), _) => Some(e),
                (None, Names::RockRidge) => None,
                (None, _) => entries.iter().find(|e| e.name.eq_ignore_ascii_case(comp)),
            };
            cur = found
                .cloned()
                .ok_or_else(|| IsoError::NotFound(walked.clone()))?;
            if cur.multi {
                return Err(IsoError::MultiExtent(walked));
            }
        }
        Ok(cur)
    }

    /// Read `buf.len()` bytes of a file from `at` (within the file).
    pub fn read_at(&mut self, file: &Entry, at: u64, buf: &mut [u8]) -> Result<(), IsoError> {
        if at.saturating_add(buf.len() as u64) > file.size {
            return Err(corrupt("read past the end of a file"));
        }
        self.r
            .read_exact_at(file.offset + at, buf)
            .map_err(read_error)
    }

    /// The reader, back.
    pub fn into_inner(self) -> R {
        self.r
    }
}

fn read_error(e: ReadError) -> IsoError {
    IsoError::Read(e.to_string())
}

/// An ISO 9660 name: version (`;1`) and a trailing `.` dropped.
fn iso_name(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let s = s.split(';').next().unwrap_or_default();
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// A file inside an image as a [`ReadAt`] (for images inside images).
pub struct Slice<R: ReadAt> {
    inner: R,
    base: u64,
    len: u64,
}

impl<R: ReadAt> Slice<R> {
    /// `len` bytes of `inner` from `base`.
    pub fn new(inner: R, base: u64, len: u64) -> Slice<R> {
        Slice { inner, base, len }
    }
}

impl<R: ReadAt> ReadAt for Slice<R> {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        if offset.saturating_add(buf.len() as u64) > self.len {
            return Err(ReadError::Eof);
        }
        self.inner.read_exact_at(self.base + offset, buf)
    }
}

impl<R: ReadAt + ?Sized> ReadAt for Box<R> {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        (**self).read_exact_at(offset, buf)
    }
}

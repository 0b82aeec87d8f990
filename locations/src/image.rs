//! A path inside an image, whichever file system the image holds: ISO
//! 9660 ([`crate::iso9660`]) or ext2/3/4 (read with the `ext4-view`
//! crate: superblock, 32- and 64-bit group descriptors, extents and
//! indirect blocks, linear and htree directories), told apart by their
//! magic numbers (`CD001` at byte 32769, `0xEF53` at byte 1080). Both are
//! read through the same [`ReadAt`]: a local file, a block device, HTTP
//! Range requests or a file inside another image. Every other file
//! system (XFS, squashfs, ...) is refused here, naming it when its magic
//! is known: pxeinit leaves those to the kernel's mount.

use std::fmt;

use crate::iso9660::{Iso, IsoError, ReadAt, ReadError, Slice};

/// The file systems this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ISO 9660 (with Rock Ridge and Joliet names).
    Iso9660,
    /// ext2, ext3 or ext4.
    Ext,
}

/// Why a path inside an image cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageError {
    /// The path is not in the image.
    NotFound(String),
    /// The path is a directory.
    Directory(String),
    /// Neither ISO 9660 nor ext2/3/4 (the file system, when known).
    Unknown(Option<&'static str>),
    /// The ISO 9660 reader's error.
    Iso(IsoError),
    /// The ext2/3/4 reader's error (one line).
    Ext(String),
    /// The [`ReadAt`] failed.
    Read(String),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::NotFound(p) => write!(f, "{p}: not found in the image"),
            ImageError::Directory(p) => write!(f, "{p}: a directory in the image"),
            ImageError::Unknown(Some(fs)) => write!(
                f,
                "a {fs} image: only ISO 9660 and ext2/3/4 are read in user space"
            ),
            ImageError::Unknown(None) => {
                write!(
                    f,
                    "not an ISO 9660 or ext2/3/4 image (no CD001 or 0xEF53 magic)"
                )
            }
            ImageError::Iso(e) => write!(f, "{e}"),
            ImageError::Ext(why) => write!(f, "ext2/3/4 image: {why}"),
            ImageError::Read(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ImageError {}

/// The magic numbers of other file systems, for the error message.
const OTHERS: &[(u64, &[u8], &str)] = &[
    (0, b"XFSB", "XFS"),
    (0, b"hsqs", "squashfs"),
    (1024, &[0xe2, 0xe1, 0xf5, 0xe0], "EROFS"),
    (65600, b"_BHRfS_M", "Btrfs"),
];

/// Which file system `r` holds.
pub fn kind(r: &mut dyn ReadAt) -> Result<Kind, ImageError> {
    let mut m = [0u8; 2];
    let got = |r: &mut dyn ReadAt, at: u64, buf: &mut [u8]| match r.read_exact_at(at, buf) {
        Ok(()) => Ok(true),
        Err(ReadError::Eof) => Ok(false),
        Err(ReadError::Other(why)) => Err(ImageError::Read(why)),
    };
    if got(r, 1080, &mut m)? && m == [0x53, 0xef] {
        return Ok(Kind::Ext);
    }
    let mut cd = [0u8; 5];
    if got(r, 32769, &mut cd)? && &cd == b"CD001" {
        return Ok(Kind::Iso9660);
    }
    for (at, magic, name) in OTHERS {
        let mut b = vec![0u8; magic.len()];
        if got(r, *at, &mut b)? && b == *magic {
            return Err(ImageError::Unknown(Some(name)));
        }
    }
    Err(ImageError::Unknown(None))
}

/// A file inside an image, read with random access (a [`ReadAt`] itself,
/// for images inside images).
pub struct File {
    inner: Inner,
    size: u64,
}

enum Inner {
    Iso(Slice<Box<dyn ReadAt>>),
    /// The file, and whether its block walk agrees with its position
    /// (false after a failed seek or read, which can leave them apart).
    /// ext4-view seeks by walking
    /// the file's blocks from the first, so a read that starts where the
    /// last ended (a file streamed in chunks) must not seek: that made
    /// streaming quadratic in the file's length.
    Ext(Box<ext4_view::File>, bool),
}

impl File {
    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl ReadAt for File {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        if offset.saturating_add(buf.len() as u64) > self.size {
            return Err(ReadError::Eof);
        }
        match &mut self.inner {
            Inner::Iso(s) => s.read_exact_at(offset, buf),
            Inner::Ext(f, in_step) => {
                if !*in_step || f.position() != offset {
                    *in_step = false;
                    f.seek_to(offset)
                        .map_err(|e| ReadError::Other(ext_reason(&e)))?;
                    *in_step = true;
                }
                let mut done = 0;
                while done < buf.len() {
                    match f.read_bytes(&mut buf[done..]) {
                        Ok(0) => {
                            *in_step = false;
                            return Err(ReadError::Eof);
                        }
                        Ok(n) => done += n,
                        Err(e) => {
                            *in_step = false;
                            return Err(ReadError::Other(ext_reason(&e)));
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

/// An ext4-view error as one line.
fn ext_reason(e: &ext4_view::Ext4Error) -> String {
    let s = e.to_string();
    s.lines().next().unwrap_or_default().to_string()
}

/// [`ReadAt`] as ext4-view's reader.
struct ExtReader(Box<dyn ReadAt>);

/// A [`ReadError`] as the error ext4-view's reader returns.
#[derive(Debug)]
struct ExtReadError(ReadError);

impl fmt::Display for ExtReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for ExtReadError {}

impl ext4_view::Ext4Read for ExtReader {
    fn read(
        &mut self,
        start_byte: u64,
        dst: &mut [u8],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        self.0
            .read_exact_at(start_byte, dst)
            .map_err(|e| Box::new(ExtReadError(e)) as _)
    }
}

/// Open the file at `path` (relative to the image's root, `/`-separated)
/// inside the image `r` holds.
pub fn open(mut r: Box<dyn ReadAt>, path: &str) -> Result<File, ImageError> {
    match kind(&mut *r)? {
        Kind::Iso9660 => {
            let mut iso = Iso::open(r).map_err(iso_error)?;
            let e = iso.lookup(path).map_err(iso_error)?;
            if e.dir {
                return Err(ImageError::Directory(path.to_string()));
            }
            Ok(File {
                inner: Inner::Iso(Slice::new(iso.into_inner(), e.offset, e.size)),
                size: e.size,
            })
        }
        Kind::Ext => {
            vet_superblock(&mut *r)?;
            let fs = ext4_view::Ext4::load(Box::new(ExtReader(r)))
                .map_err(|e| ImageError::Ext(ext_reason(&e)))?;
            let abs = format!("/{}", path.trim_start_matches('/'));
            let err = |e: ext4_view::Ext4Error| match e {
                ext4_view::Ext4Error::NotFound => ImageError::NotFound(path.to_string()),
                ext4_view::Ext4Error::IsADirectory => ImageError::Directory(path.to_string()),
                e => ImageError::Ext(format!("{path}: {}", ext_reason(&e))),
            };
            let f = fs.open(abs.as_str()).map_err(err)?;
            let size = f.metadata().len();
            Ok(File {
                inner: Inner::Ext(Box::new(f), true),
                size,
            })
        }
    }
}

/// The most block groups an ext image may claim: ext4-view allocates its
/// descriptor table (16 bytes each) before reading it, so a superblock
/// claiming 2^32 groups would take 64 GiB. 2^20 groups are 128 TiB of
/// 4 KiB blocks, and 16 MiB of table.
pub const MAX_BLOCK_GROUPS: u64 = 1 << 20;

/// Refuse what ext4-view 0.9.3 does not survive (found by fuzzing
/// `fuzz/fuzz_targets/ext.rs`, or read in it after that): blocks over
/// 64 KiB (a block cache of 2 GiB blocks), zero blocks per group (a division by
/// zero), a 64-bit file system with group descriptors shorter than 64
/// bytes (a slice index past their end) and more than
/// [`MAX_BLOCK_GROUPS`] groups (an allocation the size of the claim). A superblock the image is too short for is left to
/// ext4-view, which reports it.
fn vet_superblock(r: &mut dyn ReadAt) -> Result<(), ImageError> {
    let mut sb = [0u8; 1024];
    match r.read_exact_at(1024, &mut sb) {
        Ok(()) => {}
        Err(ReadError::Eof) => return Ok(()),
        Err(ReadError::Other(why)) => return Err(ImageError::Read(why)),
    }
    let u32_at = |o: usize| u32::from_le_bytes([sb[o], sb[o + 1], sb[o + 2], sb[o + 3]]);
    // The kernel reads blocks of 1 to 64 KiB; ext4-view takes up to
    // 2 GiB and allocates its block cache in blocks of that size.
    let log = u32_at(0x18);
    if log > 6 {
        return Err(ImageError::Ext(format!(
            "corrupt filesystem: block size 2^{} bytes (at most 64 KiB)",
            u64::from(log).saturating_add(10)
        )));
    }
    let per_group = u64::from(u32_at(0x20));
    if per_group == 0 {
        return Err(ImageError::Ext(
            "corrupt filesystem: zero blocks per group".into(),
        ));
    }
    let blocks = (u64::from(u32_at(0x150)) << 32) | u64::from(u32_at(0x4));
    let groups = blocks
        .saturating_sub(u64::from(u32_at(0x14)))
        .div_ceil(per_group);
    // With 64-bit block numbers the descriptors are s_desc_size bytes,
    // which the kernel requires to be a power of two from 64 to 1024;
    // ext4-view reads their 64-bit fields past a shorter one.
    let incompat = u32_at(0x60);
    let desc = u16::from_le_bytes([sb[0xfe], sb[0xff]]);
    if incompat & 0x80 != 0 && !(desc.is_power_of_two() && (64..=1024).contains(&desc)) {
        return Err(ImageError::Ext(format!(
            "corrupt filesystem: group descriptor size {desc} with 64-bit block numbers (expected a power of two from 64 to 1024)"
        )));
    }
    if groups > MAX_BLOCK_GROUPS {
        return Err(ImageError::Ext(format!(
            "corrupt filesystem: {groups} block groups (at most {MAX_BLOCK_GROUPS} are read)"
        )));
    }
    Ok(())
}

fn iso_error(e: IsoError) -> ImageError {
    match e {
        IsoError::NotFound(p) => ImageError::NotFound(p),
        e => ImageError::Iso(e),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    struct Bytes(Vec<u8>);

    impl ReadAt for Bytes {
        fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
            (&self.0[..]).read_exact_at(offset, buf)
        }
    }

    fn open_bytes(b: Vec<u8>, path: &str) -> Result<File, ImageError> {
        open(Box::new(Bytes(b)), path)
    }

    #[test]
    fn unknown_images_are_named() {
        let mut xfs = vec![0u8; 70_000];
        xfs[..4].copy_from_slice(b"XFSB");
        let e = open_bytes(xfs, "boot/vmlinuz").err().unwrap();
        assert_eq!(
            e.to_string(),
            "a XFS image: only ISO 9660 and ext2/3/4 are read in user space"
        );
        let e = open_bytes(vec![0u8; 100], "x").err().unwrap();
        assert_eq!(e, ImageError::Unknown(None));
    }

    /// A superblock magic with nothing sensible around it is refused, not
    /// a panic; so is every truncation of it.
    #[test]
    fn corrupt_ext_is_an_error() {
        let mut b = vec![0u8; 4096];
        b[1080] = 0x53;
        b[1081] = 0xef;
        for len in [1082, 2048, 4096] {
            let e = open_bytes(b[..len].to_vec(), "boot/vmlinuz").err().unwrap();
            assert!(matches!(e, ImageError::Ext(_)), "{e}");
            assert!(!e.to_string().contains('\n'));
        }
        // The fuzzer's findings in ext4-view 0.9.3: zero blocks per
        // group (a division by zero) and 2^32 block groups (a 64 GiB
        // allocation) are refused first.
        let mut sb = vec![0u8; 4096];
        sb[1080] = 0x53;
        sb[1081] = 0xef;
        sb[1024 + 4..1024 + 8].copy_from_slice(&1000u32.to_le_bytes());
        let e = open_bytes(sb.clone(), "x").err().unwrap();
        assert_eq!(
            e.to_string(),
            "ext2/3/4 image: corrupt filesystem: zero blocks per group"
        );
        sb[1024 + 0x20] = 1;
        sb[1024 + 0x150..1024 + 0x154].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = open_bytes(sb.clone(), "x").err().unwrap();
        assert!(
            e.to_string().contains("block groups (at most 1048576"),
            "{e}"
        );
        sb[1024 + 0x150..1024 + 0x154].copy_from_slice(&0u32.to_le_bytes());
        sb[1024 + 0x60] = 0x80;
        for desc in [0u16, 32, 48, 96, 2048] {
            sb[1024 + 0xfe..1024 + 0x100].copy_from_slice(&desc.to_le_bytes());
            let e = open_bytes(sb.clone(), "x").err().unwrap();
            assert!(
                e.to_string()
                    .contains(&format!("group descriptor size {desc} with 64-bit")),
                "{e}"
            );
        }
        let mut big = vec![0u8; 4096];
        big[1080] = 0x53;
        big[1081] = 0xef;
        big[1024 + 0x18] = 21;
        let e = open_bytes(big, "x").err().unwrap();
        assert_eq!(
            e.to_string(),
            "ext2/3/4 image: corrupt filesystem: block size 2^31 bytes (at most 64 KiB)"
        );
        // The fuzzer's third finding, kept as an input: an inode whose
        // size its extents do not cover made ext4-view's File::read_bytes
        // unwrap a None (patched in third_party/ext4-view).
        let mut img = vec![0u8; 1024];
        img.extend_from_slice(include_bytes!("../tests/testdata/ext/fuzz-short-extents"));
        img[1080] = 0x53;
        img[1081] = 0xef;
        for p in ["boot/s390x/linux", "many/file-0007", "a", "lost+found/x"] {
            if let Ok(mut f) = open_bytes(img.clone(), p) {
                let mut buf = vec![0u8; f.size().min(64 << 10) as usize];
                let _ = f.read_exact_at(0, &mut buf);
            }
        }
        // Random superblocks: errors, never panics.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            for byte in &mut b[1024..2048] {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *byte = x as u8;
            }
            b[1080] = 0x53;
            b[1081] = 0xef;
            let _ = open_bytes(b.clone(), "a/b");
        }
    }
}

//! The s390x Linux kernel image layout: validating a kernel, reading its
//! version and command line, and combining it with initrds into one
//! bootable file (what `mk-s390image` does).
//!
//! This module has no dependencies and does no IO, so the PID 1 crate can use
//! [`ParmArea`] (with `default-features = false`) to fill in the parameter
//! area of a kernel it loads with `kexec_load`.
//!
//! # Layout
//!
//! Offsets are in the image file, which is loaded at address 0 (so file
//! offsets equal memory addresses). All numbers are big-endian.
//!
//! ```text
//!  0x00000  IPL PSW and low-core part of the image
//!  0x10000  entry point (`PSW` points here)
//!  0x10008  "S390EP" magic                               (6 bytes)
//!  0x10400  parm area (struct parmarea, arch/s390/include/asm/setup.h):
//!    +0x00  0x10400  ipl_device                          u64
//!    +0x08  0x10408  initrd_start                        u64
//!    +0x10  0x10410  initrd_size                         u64
//!    +0x18  0x10418  oldmem_base                         u64
//!    +0x20  0x10420  oldmem_size                         u64
//!    +0x28  0x10428  kernel_version: offset of the       u64
//!                    NUL-terminated version string
//!    +0x30  0x10430  max_command_line_size (0: 896)      u64
//!    +0x80  0x10480  command_line, NUL-terminated, at most
//!                    max_command_line_size bytes with the NUL
//!  ...      rest of the kernel image
//!  align 4 KiB, zero filled
//!  initrd_start      initrd 1, zero padding to 4 bytes
//!                    initrd 2, zero padding to 4 bytes ...
//!  initrd_start + initrd_size = end of file
//! ```
//!
//! Several initrds are simply concatenated: the kernel unpacks one cpio
//! archive (compressed or not) after the other and skips the zero padding
//! between them (`init/initramfs.c`, `unpack_to_rootfs`).

use std::fmt;

/// File offset (and load address) of the kernel entry point.
pub const ENTRY: usize = 0x10000;
/// File offset (and load address) of the parm area.
pub const PARM_AREA_OFFSET: usize = 0x10400;
/// The command line limit of kernels whose `max_command_line_size` is 0.
pub const LEGACY_COMMAND_LINE_SIZE: u64 = 896;
/// Alignment of the initrd in a combined image.
pub const INITRD_ALIGN: usize = 4096;
/// The `S390EP` magic at [`MAGIC_OFFSET`].
pub const MAGIC: &[u8; 6] = b"S390EP";
/// File offset of [`MAGIC`].
pub const MAGIC_OFFSET: usize = 0x10008;

mod field {
    use std::ops::Range;

    /// In the image file.
    pub const MAGIC: Range<usize> = super::MAGIC_OFFSET..super::MAGIC_OFFSET + 6;

    // Relative to the start of the parm area.
    pub const IPL_DEVICE: Range<usize> = 0x00..0x08;
    pub const INITRD_START: Range<usize> = 0x08..0x10;
    pub const INITRD_SIZE: Range<usize> = 0x10..0x18;
    pub const OLDMEM_BASE: Range<usize> = 0x18..0x20;
    pub const OLDMEM_SIZE: Range<usize> = 0x20..0x28;
    pub const KERNEL_VERSION: Range<usize> = 0x28..0x30;
    pub const MAX_COMMAND_LINE_SIZE: Range<usize> = 0x30..0x38;
    pub const COMMAND_LINE: usize = 0x80;
}

/// Why a kernel image or command line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The data is too short to hold the parm area.
    TooShort {
        /// The data length.
        len: usize,
        /// The minimum length.
        need: usize,
    },
    /// There is no `S390EP` at 0x10008.
    NotS390Image,
    /// The command line doesn't fit: `len` bytes plus the NUL exceed `limit`.
    CmdlineTooLong {
        /// The command line length without the NUL.
        len: usize,
        /// The kernel's limit, NUL included.
        limit: u64,
    },
    /// The command line contains a NUL byte.
    CmdlineHasNul,
    /// The command line area the kernel declares goes past the image.
    CmdlineAreaOutOfImage {
        /// The declared limit.
        limit: u64,
        /// The image length.
        image_len: usize,
    },
    /// The kernel image already carries an initrd (it is a combined image).
    AlreadyCombined {
        /// Its `initrd_start`.
        initrd_start: u64,
        /// Its `initrd_size`.
        initrd_size: u64,
    },
    /// The combined image would exceed 2^64 bytes (can't happen in practice).
    TooLarge,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooShort { len, need } => write!(
                f,
                "not an s390x kernel image: {len} bytes, shorter than its parm area ({need} bytes)"
            ),
            Error::NotS390Image => {
                write!(f, "not an s390x kernel image: no \"S390EP\" magic at offset {MAGIC_OFFSET:#x}")
            }
            Error::CmdlineTooLong { len, limit } => write!(
                f,
                "command line is {len} bytes, but this kernel accepts at most {} (limit {limit} with the NUL)",
                limit.saturating_sub(1)
            ),
            Error::CmdlineHasNul => write!(f, "command line contains a NUL byte"),
            Error::CmdlineAreaOutOfImage { limit, image_len } => write!(
                f,
                "kernel declares a {limit}-byte command line area at {:#x}, past the end of the {image_len}-byte image",
                PARM_AREA_OFFSET + field::COMMAND_LINE
            ),
            Error::AlreadyCombined { initrd_start, initrd_size } => write!(
                f,
                "kernel image already carries an initrd ({initrd_size} bytes at {initrd_start:#x}); use the bare kernel"
            ),
            Error::TooLarge => write!(f, "combined image too large"),
        }
    }
}

impl std::error::Error for Error {}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(b)
}

/// A view of the kernel parm area (see the [module docs](self) for the
/// layout). The buffer starts at the parm area itself: file offset
/// [`PARM_AREA_OFFSET`] of an image, or offset 0x400 of the segment a
/// `kexec_load` places at [`ENTRY`].
#[derive(Debug, Clone)]
pub struct ParmArea<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ParmArea<T> {
    /// Wraps a buffer without checking it; getters may panic if
    /// [`check_len`](Self::check_len) would fail.
    pub const fn new_unchecked(buffer: T) -> ParmArea<T> {
        ParmArea { buffer }
    }

    /// Wraps untrusted input: [`new_unchecked`](Self::new_unchecked) plus
    /// [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<ParmArea<T>, Error> {
        let area = Self::new_unchecked(buffer);
        area.check_len()?;
        Ok(area)
    }

    /// Checks that the buffer holds the fixed fields and the whole command
    /// line area that `max_command_line_size` declares.
    /// [`set_max_command_line_size`](Self::set_max_command_line_size) can
    /// invalidate it.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        let need = field::COMMAND_LINE;
        if len < need {
            return Err(Error::TooShort {
                len: PARM_AREA_OFFSET + len,
                need: PARM_AREA_OFFSET + need,
            });
        }
        let limit = self.command_line_limit();
        let fits = (field::COMMAND_LINE as u64)
            .checked_add(limit)
            .is_some_and(|end| end <= len as u64);
        if !fits {
            return Err(Error::CmdlineAreaOutOfImage {
                limit,
                image_len: PARM_AREA_OFFSET + len,
            });
        }
        Ok(())
    }

    /// `ipl_device`.
    pub fn ipl_device(&self) -> u64 {
        be_u64(&self.buffer.as_ref()[field::IPL_DEVICE])
    }
    /// `initrd_start`: the initrd's address (in a combined image, its offset).
    pub fn initrd_start(&self) -> u64 {
        be_u64(&self.buffer.as_ref()[field::INITRD_START])
    }
    /// `initrd_size`.
    pub fn initrd_size(&self) -> u64 {
        be_u64(&self.buffer.as_ref()[field::INITRD_SIZE])
    }
    /// `oldmem_base` (kdump).
    pub fn oldmem_base(&self) -> u64 {
        be_u64(&self.buffer.as_ref()[field::OLDMEM_BASE])
    }
    /// `oldmem_size` (kdump).
    pub fn oldmem_size(&self) -> u64 {
        be_u64(&self.buffer.as_ref()[field::OLDMEM_SIZE])
    }
    /// `kernel_version`: the image offset of the version string, 0 if none.
    pub fn kernel_version_offset(&self) -> u64 {
        be_u64(&self.buffer.as_ref()[field::KERNEL_VERSION])
    }
    /// `max_command_line_size` as stored (0 on old kernels).
    pub fn max_command_line_size(&self) -> u64 {
        be_u64(&self.buffer.as_ref()[field::MAX_COMMAND_LINE_SIZE])
    }
    /// The command line limit in bytes, NUL included: `max_command_line_size`,
    /// or [`LEGACY_COMMAND_LINE_SIZE`] when that is 0.
    pub fn command_line_limit(&self) -> u64 {
        match self.max_command_line_size() {
            0 => LEGACY_COMMAND_LINE_SIZE,
            n => n,
        }
    }
    /// The command line bytes, up to the first NUL or the limit.
    pub fn command_line(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        let start = field::COMMAND_LINE.min(data.len());
        let limit = usize::try_from(self.command_line_limit()).unwrap_or(usize::MAX);
        let end = start.saturating_add(limit).min(data.len());
        let area = &data[start..end];
        let len = area.iter().position(|&b| b == 0).unwrap_or(area.len());
        &area[..len]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ParmArea<T> {
    fn set(&mut self, range: std::ops::Range<usize>, value: u64) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes())
    }
    /// Sets `initrd_start`.
    pub fn set_initrd_start(&mut self, value: u64) {
        self.set(field::INITRD_START, value)
    }
    /// Sets `initrd_size`.
    pub fn set_initrd_size(&mut self, value: u64) {
        self.set(field::INITRD_SIZE, value)
    }
    /// Sets `max_command_line_size`; this can invalidate
    /// [`check_len`](ParmArea::check_len).
    pub fn set_max_command_line_size(&mut self, value: u64) {
        self.set(field::MAX_COMMAND_LINE_SIZE, value)
    }
    /// Writes `cmdline` NUL-terminated and zeroes the rest of the command
    /// line area. Refuses NUL bytes and a command line that doesn't fit
    /// [`command_line_limit`](ParmArea::command_line_limit). Needs
    /// [`check_len`](ParmArea::check_len) to have passed.
    pub fn set_command_line(&mut self, cmdline: &[u8]) -> Result<(), Error> {
        check_cmdline(cmdline, self.command_line_limit())?;
        let limit = self.command_line_limit() as usize;
        let area = &mut self.buffer.as_mut()[field::COMMAND_LINE..field::COMMAND_LINE + limit];
        area.fill(0);
        area[..cmdline.len()].copy_from_slice(cmdline);
        Ok(())
    }
}

/// Checks that `cmdline` has no NUL and fits `limit` bytes with its NUL.
pub fn check_cmdline(cmdline: &[u8], limit: u64) -> Result<(), Error> {
    if cmdline.contains(&0) {
        return Err(Error::CmdlineHasNul);
    }
    if cmdline.len() as u64 >= limit {
        return Err(Error::CmdlineTooLong {
            len: cmdline.len(),
            limit,
        });
    }
    Ok(())
}

/// A validated s390x kernel image, possibly a combined one.
#[derive(Debug, Clone, Copy)]
pub struct KernelImage<'a> {
    data: &'a [u8],
}

impl<'a> KernelImage<'a> {
    /// Validates `data` as an s390x kernel image: long enough, `S390EP` at
    /// 0x10008, and a command line area inside the image.
    pub fn parse(data: &'a [u8]) -> Result<KernelImage<'a>, Error> {
        let need = PARM_AREA_OFFSET + field::COMMAND_LINE;
        if data.len() < need {
            if data.len() >= field::MAGIC.end && &data[field::MAGIC] != MAGIC {
                return Err(Error::NotS390Image);
            }
            return Err(Error::TooShort {
                len: data.len(),
                need,
            });
        }
        if &data[field::MAGIC] != MAGIC {
            return Err(Error::NotS390Image);
        }
        ParmArea::new_checked(&data[PARM_AREA_OFFSET..])?;
        Ok(KernelImage { data })
    }

    /// The whole file.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The parm area.
    pub fn parm_area(&self) -> ParmArea<&'a [u8]> {
        ParmArea::new_unchecked(&self.data[PARM_AREA_OFFSET..])
    }

    /// The version string (`6.1.0-50-s390x (debian-kernel@...) #1 SMP ...`),
    /// if the kernel records one (at most 512 bytes, invalid UTF-8 replaced).
    pub fn version(&self) -> Option<String> {
        let offset = usize::try_from(self.parm_area().kernel_version_offset()).ok()?;
        if offset == 0 {
            return None;
        }
        let rest = self.data.get(offset..)?;
        let rest = &rest[..rest.len().min(512)];
        let len = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..len]).into_owned())
    }

    /// The release, the version string up to its first space
    /// (`6.1.0-50-s390x`): the name of the kernel's `/lib/modules` directory.
    pub fn release(&self) -> Option<String> {
        let version = self.version()?;
        version.split_whitespace().next().map(str::to_string)
    }

    /// The command line limit in bytes, NUL included (0 in the image means 896).
    pub fn cmdline_limit(&self) -> u64 {
        self.parm_area().command_line_limit()
    }

    /// The embedded command line (invalid UTF-8 replaced).
    pub fn cmdline(&self) -> String {
        String::from_utf8_lossy(self.parm_area().command_line()).into_owned()
    }

    /// The initrd inside this file, as `(offset, size)`, when this is a
    /// combined image whose initrd lies within the file after the parm area.
    pub fn initrd(&self) -> Option<(u64, u64)> {
        let area = self.parm_area();
        let (start, size) = (area.initrd_start(), area.initrd_size());
        let end = start.checked_add(size)?;
        let inside = start >= (PARM_AREA_OFFSET + field::COMMAND_LINE) as u64
            && end <= self.data.len() as u64;
        (start != 0 && inside).then_some((start, size))
    }

    /// The initrd bytes of a combined image.
    pub fn initrd_data(&self) -> Option<&'a [u8]> {
        let (start, size) = self.initrd()?;
        // `initrd` checked both bounds against the data length.
        self.data.get(start as usize..(start + size) as usize)
    }

    /// The length of the kernel part: the whole file, or for a combined
    /// image everything before the initrd.
    pub fn image_size(&self) -> usize {
        match self.initrd() {
            Some((start, _)) => start as usize,
            None => self.data.len(),
        }
    }
}

/// Combines a bare s390x kernel with `initrds` (concatenated, each padded to
/// 4 bytes, starting at the first 4 KiB boundary after the kernel) and
/// optionally replaces its command line. With no initrd, only the command
/// line changes.
///
/// Refuses a non-s390x image, a kernel that already carries an initrd, and a
/// command line with a NUL or longer than the kernel's limit.
///
/// # Example
///
/// ```
/// use netboot_image::s390;
/// # let mut kernel = vec![0u8; 0x11000];
/// # kernel[0x10008..0x1000e].copy_from_slice(b"S390EP");
/// let image = s390::combine(&kernel, &[b"initrd"], Some("console=ttysclp0"))?;
/// let parsed = s390::KernelImage::parse(&image)?;
/// assert_eq!(parsed.initrd(), Some((0x11000, 8)));
/// assert_eq!(parsed.cmdline(), "console=ttysclp0");
/// # Ok::<(), s390::Error>(())
/// ```
pub fn combine(kernel: &[u8], initrds: &[&[u8]], cmdline: Option<&str>) -> Result<Vec<u8>, Error> {
    let image = KernelImage::parse(kernel)?;
    let area = image.parm_area();
    if area.initrd_start() != 0 || area.initrd_size() != 0 {
        return Err(Error::AlreadyCombined {
            initrd_start: area.initrd_start(),
            initrd_size: area.initrd_size(),
        });
    }
    if let Some(cmdline) = cmdline {
        check_cmdline(cmdline.as_bytes(), image.cmdline_limit())?;
    }

    let mut out = kernel.to_vec();
    if !initrds.is_empty() {
        let start = kernel
            .len()
            .checked_next_multiple_of(INITRD_ALIGN)
            .ok_or(Error::TooLarge)?;
        out.resize(start, 0);
        for initrd in initrds {
            out.extend_from_slice(initrd);
            out.resize(
                out.len()
                    .checked_next_multiple_of(4)
                    .ok_or(Error::TooLarge)?,
                0,
            );
        }
        let size = out.len() - start;
        let mut area = ParmArea::new_unchecked(&mut out[PARM_AREA_OFFSET..]);
        area.set_initrd_start(start as u64);
        area.set_initrd_size(size as u64);
    }
    if let Some(cmdline) = cmdline {
        ParmArea::new_unchecked(&mut out[PARM_AREA_OFFSET..])
            .set_command_line(cmdline.as_bytes())?;
    }
    Ok(out)
}

#[cfg(test)]
mod test {
    use super::*;

    /// A minimal fake kernel: magic, version string, limit, command line.
    fn fake_kernel(len: usize, max_cmdline: u64) -> Vec<u8> {
        let mut k = vec![0u8; len];
        k[0x10008..0x1000e].copy_from_slice(MAGIC);
        k[0x10428..0x10430].copy_from_slice(&0x10100u64.to_be_bytes());
        k[0x10100..0x10100 + 12].copy_from_slice(b"6.1.0-test x");
        k[0x10430..0x10438].copy_from_slice(&max_cmdline.to_be_bytes());
        k[0x10480..0x10480 + 14].copy_from_slice(b"root=/dev/ram0");
        k
    }

    #[test]
    fn parse_fields() {
        let k = fake_kernel(0x12345, 4096);
        let img = KernelImage::parse(&k).unwrap();
        assert_eq!(img.version().as_deref(), Some("6.1.0-test x"));
        assert_eq!(img.release().as_deref(), Some("6.1.0-test"));
        assert_eq!(img.cmdline_limit(), 4096);
        assert_eq!(img.cmdline(), "root=/dev/ram0");
        assert_eq!(img.initrd(), None);
        assert_eq!(img.image_size(), 0x12345);
    }

    #[test]
    fn legacy_limit_is_896() {
        let k = fake_kernel(0x11000, 0);
        let img = KernelImage::parse(&k).unwrap();
        assert_eq!(img.cmdline_limit(), 896);
        assert!(combine(&k, &[], Some(&"x".repeat(895))).is_ok());
        assert_eq!(
            combine(&k, &[], Some(&"x".repeat(896))).unwrap_err(),
            Error::CmdlineTooLong {
                len: 896,
                limit: 896
            }
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            KernelImage::parse(&[0; 100]).unwrap_err(),
            Error::TooShort {
                len: 100,
                need: 0x10480
            }
        );
        assert_eq!(
            KernelImage::parse(&vec![0; 0x20000]).unwrap_err(),
            Error::NotS390Image
        );
        // Limit pointing past the image.
        let k = fake_kernel(0x10600, 4096);
        assert!(matches!(
            KernelImage::parse(&k).unwrap_err(),
            Error::CmdlineAreaOutOfImage { limit: 4096, .. }
        ));
        let k = fake_kernel(0x12000, 4096);
        assert_eq!(
            combine(&k, &[], Some("a\0b")).unwrap_err(),
            Error::CmdlineHasNul
        );
        let combined = combine(&k, &[b"x"], None).unwrap();
        assert_eq!(
            combine(&combined, &[b"y"], None).unwrap_err(),
            Error::AlreadyCombined {
                initrd_start: 0x12000,
                initrd_size: 4
            }
        );
    }

    #[test]
    fn combine_layout_golden() {
        let k = fake_kernel(0x12001, 4096);
        let out = combine(&k, &[b"abcde", b"fg"], Some("console=ttysclp0")).unwrap();
        // Kernel rounded up to 0x13000, then "abcde" + 3 pad + "fg" + 2 pad.
        assert_eq!(out.len(), 0x13000 + 12);
        assert_eq!(&out[..0x10400], &k[..0x10400]);
        assert_eq!(
            &out[0x10408..0x10418],
            &[0, 0, 0, 0, 0, 1, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 12]
        );
        assert_eq!(&out[0x10480..0x10491], b"console=ttysclp0\0");
        // The old, longer command line is wiped.
        assert!(out[0x10491..0x10480 + 4096].iter().all(|&b| b == 0));
        assert!(out[0x12001..0x13000].iter().all(|&b| b == 0));
        assert_eq!(&out[0x13000..], b"abcde\0\0\0fg\0\0");
        let img = KernelImage::parse(&out).unwrap();
        assert_eq!(img.initrd(), Some((0x13000, 12)));
        assert_eq!(img.initrd_data(), Some(&b"abcde\0\0\0fg\0\0"[..]));
        assert_eq!(img.image_size(), 0x13000);
    }

    #[test]
    fn aligned_kernel_gets_no_padding_and_none_keeps_cmdline() {
        let k = fake_kernel(0x12000, 4096);
        let out = combine(&k, &[b"abcd"], None).unwrap();
        assert_eq!(out.len(), 0x12004);
        assert_eq!(
            KernelImage::parse(&out).unwrap().cmdline(),
            "root=/dev/ram0"
        );
    }

    #[test]
    fn parm_area_view_for_kexec() {
        // The segment kexec loads at 0x10000: the image minus its first 64 KiB.
        let k = fake_kernel(0x12000, 0);
        let mut segment = k[ENTRY..].to_vec();
        let mut area = ParmArea::new_checked(&mut segment[PARM_AREA_OFFSET - ENTRY..]).unwrap();
        area.set_initrd_start(0x800000);
        area.set_initrd_size(0x1234);
        area.set_command_line(b"quiet").unwrap();
        assert_eq!(area.command_line(), b"quiet");
        assert_eq!(&segment[0x408..0x410], &0x800000u64.to_be_bytes());
        assert_eq!(&segment[0x410..0x418], &0x1234u64.to_be_bytes());
        assert_eq!(&segment[0x480..0x486], b"quiet\0");
    }

    #[test]
    fn garbage_never_panics() {
        let mut k = fake_kernel(0x10600, 0);
        for v in [0u64, 1, 0x10400, u64::MAX, 0x10600, 0x105ff] {
            k[0x10428..0x10430].copy_from_slice(&v.to_be_bytes());
            k[0x10408..0x10410].copy_from_slice(&v.to_be_bytes());
            k[0x10410..0x10418].copy_from_slice(&v.to_be_bytes());
            if let Ok(img) = KernelImage::parse(&k) {
                let _ = (
                    img.version(),
                    img.cmdline(),
                    img.initrd(),
                    img.initrd_data(),
                    img.image_size(),
                );
            }
            k[0x10430..0x10438].copy_from_slice(&v.to_be_bytes());
            let _ = KernelImage::parse(&k).map(|i| i.cmdline());
            k[0x10430..0x10438].copy_from_slice(&0u64.to_be_bytes());
        }
    }

    /// Against the real Debian kernel (`cargo xtask kernel` unpacks it).
    #[test]
    fn real_debian_kernel() {
        let Some(k) = crate::testenv::kernel("real_debian_kernel") else {
            return;
        };
        let kernel = std::fs::read(&k.vmlinuz).unwrap();
        let img = KernelImage::parse(&kernel).unwrap();
        assert!(img
            .version()
            .unwrap()
            .starts_with(&format!("{} ", k.release)));
        assert_eq!(img.release(), Some(k.release.clone()));
        assert_eq!(img.cmdline_limit(), 4096);
        let out = combine(&kernel, &[b"0707"], Some("console=ttysclp0 quiet")).unwrap();
        let img = KernelImage::parse(&out).unwrap();
        assert_eq!(
            img.initrd(),
            Some((kernel.len().next_multiple_of(4096) as u64, 4))
        );
        assert_eq!(img.cmdline(), "console=ttysclp0 quiet");
        let too_long = "x".repeat(4096);
        assert_eq!(
            combine(&kernel, &[], Some(&too_long)).unwrap_err(),
            Error::CmdlineTooLong {
                len: 4096,
                limit: 4096
            }
        );
    }
}

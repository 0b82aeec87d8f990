//! The s390x `kexec_load` layout, as a pure plan (no I/O, no unsafe).
//!
//! kexec-tools' `kexec/arch/s390/kexec-image.c` is the reference. An s390x
//! kernel image file is loaded at address 0 by an IPL; the first 64 KiB
//! hold the IPL code, which kexec skips:
//!
//! ```text
//!  file offset / memory address
//!  0x00000  IPL text, lowcore template      (not loaded by kexec)
//!  0x10000  startup (entry point)           <- kernel segment starts here
//!  0x10008  "S390EP" magic
//!  0x10408  u64 initrd start   \
//!  0x10410  u64 initrd size     | parm area, patched in the loaded copy
//!  0x10430  u64 command line limit (0 = 896)
//!  0x10480  command line, NUL terminated   /
//!  image_len                 decompressor heap (_end, 64 KiB + margin)
//!  image_len + 128 KiB ↑4 KiB   stub segment (one page) = kexec entry
//!  max(8 MiB, stub end) ↑1 MiB  initrd segment
//! ```
//!
//! The stub exists for QEMU TCG. The kexec copy (MVCLE) does not
//! invalidate QEMU's translations of the old kernel's code, so pages that
//! held translated code and now hold the new image or the decompressor
//! heap stay marked as code; a store there that misses the stale
//! translated bytes takes QEMU's slow path and leaves the page marked, so
//! the decompressor's partial writes to its heap stay slow (50 s measured
//! without the stub, 10 s with a stub that cleared only the heap). The
//! stub rewrites every word from 0x10000 up to itself with its own value
//! using ordinary 4-byte stores: each stale translation is overlapped by
//! some store and dropped, and the pages become plain data again. Measured:
//! the target's "Linux version" line at 3.0 s of its own clock after
//! kexec (direct boot: 1.6 s). On real hardware or KVM it costs a few
//! milliseconds. The initrd is above the stub and is not touched (the
//! kernel only reads it).

use std::fmt;

/// Where the kernel segment starts in the file and in memory.
pub const KERNEL_OFFSET: u64 = 0x10000;
/// Offsets of the parm-area fields in the image file.
pub mod field {
    /// `S390EP` magic.
    pub const MAGIC: usize = 0x10008;
    /// u64 initrd start address.
    pub const INITRD_START: usize = 0x10408;
    /// u64 initrd size.
    pub const INITRD_SIZE: usize = 0x10410;
    /// u64 maximum command line size (0 means 896).
    pub const CMDLINE_LIMIT: usize = 0x10430;
    /// The command line.
    pub const CMDLINE: usize = 0x10480;
}
/// The command line limit when the image says 0 (older kernels).
pub const DEFAULT_CMDLINE_LIMIT: u64 = 896;
/// The lowest initrd address kexec-tools uses.
pub const INITRD_MIN: u64 = 8 << 20;
/// Room left after the image end for the decompressor heap (64 KiB) plus
/// a margin for a decompressor BSS that extends beyond the file.
pub const HEAP_CLEAR: u64 = 0x20000;
const PAGE: u64 = 4096;

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

/// The image is not something `kexec_load` on s390x can start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// No `S390EP` at 0x10008.
    NotS390Image {
        /// File length.
        len: usize,
    },
    /// The command line does not fit the kernel's limit.
    CmdlineTooLong {
        /// Length in bytes (without NUL).
        len: usize,
        /// The kernel's limit (including the NUL).
        limit: u64,
    },
    /// The command line contains a NUL byte.
    CmdlineNul,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::NotS390Image { len } => write!(
                f,
                "not an s390x kernel image: no S390EP signature at 0x10008 ({len} bytes; is it a vmlinuz for s390x?)"
            ),
            LayoutError::CmdlineTooLong { len, limit } => write!(
                f,
                "kernel command line is {len} bytes, the target kernel accepts at most {}",
                limit.saturating_sub(1)
            ),
            LayoutError::CmdlineNul => f.write_str("kernel command line contains a NUL byte"),
        }
    }
}

impl std::error::Error for LayoutError {}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Check the magic and return the command line limit (including the NUL).
pub fn check_image(kernel: &[u8]) -> Result<u64, LayoutError> {
    if kernel.get(field::MAGIC..field::MAGIC + 6) != Some(b"S390EP")
        || kernel.len() < field::CMDLINE + 1
    {
        return Err(LayoutError::NotS390Image { len: kernel.len() });
    }
    let limit = be64(kernel, field::CMDLINE_LIMIT).unwrap_or(0);
    Ok(if limit == 0 {
        DEFAULT_CMDLINE_LIMIT
    } else {
        limit
    })
}

/// One segment to hand to `kexec_load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentPlan {
    /// Physical destination.
    pub mem: u64,
    /// Destination size (page multiple; the rest is zero-filled).
    pub memsz: u64,
    /// Bytes taken from the source buffer.
    pub bufsz: u64,
}

/// Where everything goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Kernel segment (source: image from offset 0x10000).
    pub kernel: SegmentPlan,
    /// Initrd segment, if any.
    pub initrd: Option<SegmentPlan>,
    /// Stub segment (source: [`Plan::stub`]), just below the initrd.
    pub stub_seg: SegmentPlan,
    /// The stub's bytes.
    pub stub: Vec<u8>,
    /// The kexec entry (the stub's address).
    pub entry: u64,
    /// The parm area patch: (file offset, bytes) pairs to apply to the
    /// kernel image before loading.
    pub patches: Vec<(usize, Vec<u8>)>,
}

/// Lay out `kernel` (the whole image file), an initrd of `initrd_len` bytes
/// (0 for none) and `cmdline`.
pub fn plan(kernel: &[u8], initrd_len: u64, cmdline: &str) -> Result<Plan, LayoutError> {
    let limit = check_image(kernel)?;
    if cmdline.contains('\0') {
        return Err(LayoutError::CmdlineNul);
    }
    if cmdline.len() as u64 + 1 > limit {
        return Err(LayoutError::CmdlineTooLong {
            len: cmdline.len(),
            limit,
        });
    }
    let image_len = kernel.len() as u64;
    let kbytes = image_len - KERNEL_OFFSET;
    let kernel_seg = SegmentPlan {
        mem: KERNEL_OFFSET,
        memsz: align_up(kbytes, PAGE),
        bufsz: kbytes,
    };
    // The stub page sits right after the decompressor heap; the initrd
    // above both, 1 MiB aligned and at least at 8 MiB (kexec-tools' rule).
    let stub_addr = align_up(image_len + HEAP_CLEAR, PAGE);
    let initrd_addr = align_up(INITRD_MIN.max(stub_addr + PAGE), 1 << 20);
    let initrd = (initrd_len > 0).then_some(SegmentPlan {
        mem: initrd_addr,
        memsz: align_up(initrd_len, PAGE),
        bufsz: initrd_len,
    });
    let stub = stub(KERNEL_OFFSET, stub_addr, KERNEL_OFFSET);
    let stub_seg = SegmentPlan {
        mem: stub_addr,
        memsz: PAGE,
        bufsz: stub.len() as u64,
    };
    // The parm area: initrd start and size, and the command line with the
    // rest of the old one (an embedded default) cleared up to the limit.
    let (istart, isize) = match initrd {
        Some(s) => (s.mem, initrd_len),
        None => (0, 0),
    };
    let room = (limit as usize).min(kernel.len() - field::CMDLINE);
    let mut line = vec![0u8; room];
    line[..cmdline.len()].copy_from_slice(cmdline.as_bytes());
    let patches = vec![
        (field::INITRD_START, istart.to_be_bytes().to_vec()),
        (field::INITRD_SIZE, isize.to_be_bytes().to_vec()),
        (field::CMDLINE, line),
    ];
    Ok(Plan {
        kernel: kernel_seg,
        initrd,
        stub_seg,
        stub,
        entry: stub_addr,
        patches,
    })
}

/// The stub: rewrite every 4-byte word of `[start, end)` with its own
/// value, then branch to `entry`. It runs in ESA/390 31-bit mode (the PSW
/// that `relocate_kernel` loads has the 31-bit addressing bit set), so it
/// uses only ESA/390 instructions.
///
/// ```text
/// off  bytes         instruction             meaning
/// 0x00 0d d0         basr %r13,0             r13 = 0x02 (base)
/// 0x02 58 20 d0 1e   l    %r2,0x1e(%r13)     r2 = start   (word at 0x20)
/// 0x06 58 30 d0 22   l    %r3,0x22(%r13)     r3 = count   (word at 0x24)
/// 0x0a 58 40 20 00   l    %r4,0(%r2)         loop: r4 = *r2
/// 0x0e 50 40 20 00   st   %r4,0(%r2)               *r2 = r4
/// 0x12 41 20 20 04   la   %r2,4(%r2)               r2 += 4
/// 0x16 46 30 d0 08   bct  %r3,0x08(%r13)     if --r3 != 0 goto loop (0x0a)
/// 0x1a 58 10 d0 26   l    %r1,0x26(%r13)     r1 = entry   (word at 0x28)
/// 0x1e 07 f1         br   %r1                jump to the kernel
/// 0x20 start, 0x24 count (words), 0x28 entry: big-endian u32
/// ```
pub fn stub(start: u64, end: u64, entry: u64) -> Vec<u8> {
    let count = ((end.saturating_sub(start)) / 4).max(1) as u32;
    let mut s = vec![
        0x0d, 0xd0, // basr %r13,0
        0x58, 0x20, 0xd0, 0x1e, // l %r2,0x1e(%r13)
        0x58, 0x30, 0xd0, 0x22, // l %r3,0x22(%r13)
        0x58, 0x40, 0x20, 0x00, // l %r4,0(%r2)
        0x50, 0x40, 0x20, 0x00, // st %r4,0(%r2)
        0x41, 0x20, 0x20, 0x04, // la %r2,4(%r2)
        0x46, 0x30, 0xd0, 0x08, // bct %r3,0x08(%r13)
        0x58, 0x10, 0xd0, 0x26, // l %r1,0x26(%r13)
        0x07, 0xf1, // br %r1
    ];
    s.extend_from_slice(&(start as u32).to_be_bytes());
    s.extend_from_slice(&count.to_be_bytes());
    s.extend_from_slice(&(entry as u32).to_be_bytes());
    s
}

#[cfg(test)]
mod test {
    use super::*;

    fn fake_kernel(len: usize, limit: u64) -> Vec<u8> {
        let mut k = vec![0u8; len];
        k[field::MAGIC..field::MAGIC + 6].copy_from_slice(b"S390EP");
        k[field::CMDLINE_LIMIT..field::CMDLINE_LIMIT + 8].copy_from_slice(&limit.to_be_bytes());
        k[field::CMDLINE..field::CMDLINE + 17].copy_from_slice(b"root=/dev/ram0 ro");
        k
    }

    #[test]
    fn layout_of_a_5mb_kernel() {
        let k = fake_kernel(5_066_752, 4096);
        let p = plan(&k, 3_000_001, "console=ttysclp0 x=1").unwrap();
        assert_eq!(p.kernel.mem, 0x10000);
        assert_eq!(p.kernel.bufsz, 5_066_752 - 0x10000);
        assert_eq!(p.kernel.memsz % 4096, 0);
        let i = p.initrd.unwrap();
        assert_eq!(i.mem, 8 << 20);
        assert_eq!(i.bufsz, 3_000_001);
        assert_eq!(i.memsz, 3_002_368);
        assert_eq!(p.entry, p.stub_seg.mem);
        assert_eq!(
            p.stub_seg.mem, 0x4f5000,
            "image end + 128 KiB, page aligned"
        );
        // No overlaps, all page aligned.
        let segs = [p.kernel, p.stub_seg, i];
        for w in segs.windows(2) {
            assert!(w[0].mem + w[0].memsz <= w[1].mem);
        }
        for s in segs {
            assert_eq!(s.mem % 4096, 0);
            assert_eq!(s.memsz % 4096, 0);
            assert!(s.bufsz <= s.memsz);
        }
        // Parm area patches.
        assert_eq!(p.patches[0], (0x10408, (8u64 << 20).to_be_bytes().to_vec()));
        assert_eq!(p.patches[1], (0x10410, 3_000_001u64.to_be_bytes().to_vec()));
        let (at, line) = &p.patches[2];
        assert_eq!(*at, 0x10480);
        assert_eq!(line.len(), 4096);
        assert!(line.starts_with(b"console=ttysclp0 x=1\0"));
        assert!(
            line[20..].iter().all(|&b| b == 0),
            "old command line cleared"
        );
    }

    #[test]
    fn big_kernel_pushes_initrd_up() {
        let k = fake_kernel(9 << 20, 0);
        let p = plan(&k, 10, "").unwrap();
        let i = p.initrd.unwrap();
        assert_eq!(i.mem, 10 << 20, "above image end + heap, 1 MiB aligned");
        assert!(i.mem >= (9 << 20) + HEAP_CLEAR);
    }

    #[test]
    fn no_initrd() {
        let k = fake_kernel(5 << 20, 0);
        let p = plan(&k, 0, "a").unwrap();
        assert!(p.initrd.is_none());
        assert_eq!(p.patches[0].1, vec![0; 8]);
        assert_eq!(p.patches[1].1, vec![0; 8]);
        assert!(p.stub_seg.mem >= (5 << 20) + HEAP_CLEAR);
    }

    #[test]
    fn cmdline_limit() {
        let k = fake_kernel(1 << 20, 0);
        assert!(plan(&k, 0, &"x".repeat(895)).is_ok());
        assert_eq!(
            plan(&k, 0, &"x".repeat(896)),
            Err(LayoutError::CmdlineTooLong {
                len: 896,
                limit: 896
            })
        );
        let k = fake_kernel(1 << 20, 4096);
        assert!(plan(&k, 0, &"x".repeat(4095)).is_ok());
        assert!(plan(&k, 0, &"x".repeat(4096)).is_err());
        assert_eq!(plan(&k, 0, "a\0b"), Err(LayoutError::CmdlineNul));
    }

    #[test]
    fn refuses_non_s390_images() {
        assert_eq!(
            plan(b"\x7fELF", 0, ""),
            Err(LayoutError::NotS390Image { len: 4 })
        );
        let mut k = fake_kernel(1 << 20, 0);
        k[field::MAGIC] = b'X';
        assert!(matches!(
            plan(&k, 0, ""),
            Err(LayoutError::NotS390Image { .. })
        ));
    }

    #[test]
    fn stub_encoding() {
        let s = stub(0x10000, 0x4f5000, 0x10000);
        assert_eq!(s.len(), 0x2c);
        let expect: [u8; 0x2c] = [
            0x0d, 0xd0, 0x58, 0x20, 0xd0, 0x1e, 0x58, 0x30, 0xd0, 0x22, 0x58, 0x40, 0x20, 0x00,
            0x50, 0x40, 0x20, 0x00, 0x41, 0x20, 0x20, 0x04, 0x46, 0x30, 0xd0, 0x08, 0x58, 0x10,
            0xd0, 0x26, 0x07, 0xf1, 0x00, 0x01, 0x00, 0x00, 0x00, 0x13, 0x94, 0x00, 0x00, 0x01,
            0x00, 0x00,
        ];
        assert_eq!(s, expect);
        // The displacements point at the data words and the loop head,
        // relative to the base (0x02) that basr sets.
        let base = 2usize;
        assert_eq!(&s[0x20..0x24], &0x10000u32.to_be_bytes());
        assert_eq!(s[2 + 3] as usize + base, 0x20);
        assert_eq!(s[6 + 3] as usize + base, 0x24);
        assert_eq!(s[0x1a + 3] as usize + base, 0x28);
        assert_eq!(s[0x16 + 3] as usize + base, 0x0a);
    }

    #[test]
    fn stub_covers_kernel_and_heap_not_initrd() {
        let k = fake_kernel(5_066_752, 0);
        let p = plan(&k, 1 << 20, "").unwrap();
        let word = |at: usize| u32::from_be_bytes(p.stub[at..at + 4].try_into().unwrap()) as u64;
        let (start, count) = (word(0x20), word(0x24));
        assert_eq!(start, KERNEL_OFFSET);
        assert_eq!(start + 4 * count, p.stub_seg.mem, "up to the stub itself");
        assert!(start + 4 * count >= 5_066_752 + 0x10000, "covers the heap");
        assert!(p.initrd.unwrap().mem >= p.stub_seg.mem + 4096);
        assert_eq!(word(0x28), KERNEL_OFFSET);
    }

    /// Cross-check the hand-assembled bytes with GNU as for s390, when the
    /// cross binutils are installed (they are in CI: gcc-s390x-linux-gnu).
    #[test]
    fn stub_matches_gnu_as() {
        let as_bin = "s390x-linux-gnu-as";
        let objcopy = "s390x-linux-gnu-objcopy";
        if std::process::Command::new(as_bin)
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipping: {as_bin} not installed");
            return;
        }
        let dir = std::env::temp_dir().join(format!("pxeinit-stub-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("stub.s");
        std::fs::write(
            &src,
            "\t.text\n\t.machine \"g5\"\n0:\tbasr %r13,0\n1:\tl %r2,(s-1b)(%r13)\n\tl %r3,(c-1b)(%r13)\n2:\tl %r4,0(%r2)\n\tst %r4,0(%r2)\n\tla %r2,4(%r2)\n\tbct %r3,(2b-1b)(%r13)\n\tl %r1,(e-1b)(%r13)\n\tbr %r1\ns:\t.long 0x10000\nc:\t.long 0x139400\ne:\t.long 0x10000\n",
        )
        .unwrap();
        let obj = dir.join("stub.o");
        let bin = dir.join("stub.bin");
        let ok = std::process::Command::new(as_bin)
            .args(["-m31", "-o"])
            .arg(&obj)
            .arg(&src)
            .status()
            .unwrap()
            .success();
        assert!(ok, "as failed");
        let ok = std::process::Command::new(objcopy)
            .args(["-O", "binary", "-j", ".text"])
            .arg(&obj)
            .arg(&bin)
            .status()
            .unwrap()
            .success();
        assert!(ok, "objcopy failed");
        let got = std::fs::read(&bin).unwrap();
        assert_eq!(got, stub(0x10000, 0x4f5000, 0x10000));
    }
}

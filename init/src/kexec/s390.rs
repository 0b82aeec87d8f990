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
//! The parm area itself (magic, fields, command line limit) is
//! `netboot_image::s390`'s: one definition of the image layout for the
//! image builder and for kexec.
//!
//! The stub exists for QEMU TCG. The kexec copy (MVCLE) does not
//! invalidate QEMU's translations of the old kernel's code, so pages that
//! held translated code and now hold the new image or the decompressor
//! heap stay marked as code; a store there that misses the stale
//! translated bytes takes QEMU's slow path and leaves the page marked, so
//! the decompressor's partial writes to its heap stay slow (50 s measured
//! without the stub, 10 s with a stub that cleared only the heap). Worse,
//! a translation whose virtual address and physical page match new code
//! is executed instead of it: a target's static /init at 0x1000000 ran
//! pxeinit's stale code and crashed. The stub therefore rewrites, with
//! ordinary 4-byte stores of each word's own value, the new image and its
//! heap, the running kernel's image and pxeinit's own code pages (the
//! ranges [`plan`] is given): each stale translation is overlapped by some
//! store and dropped. Measured: the target's "Linux version" line at 1.8 s
//! of its own clock after kexec (direct boot: 1.6 s). On real hardware or
//! KVM it costs a few milliseconds. The initrd is not touched (the kernel
//! only reads it).

use netboot_image::s390::{self as image, KernelImage, ParmArea};

/// The image is not something `kexec_load` on s390x can start (not an
/// s390x image, or the command line does not fit).
pub type LayoutError = image::Error;

/// Where the kernel segment starts in the file and in memory.
pub const KERNEL_OFFSET: u64 = image::ENTRY as u64;
/// The lowest initrd address kexec-tools uses.
pub const INITRD_MIN: u64 = 8 << 20;
/// Room left after the image end for the decompressor heap (64 KiB) plus
/// a margin for a decompressor BSS that extends beyond the file.
pub const HEAP_CLEAR: u64 = 0x20000;
const PAGE: u64 = 4096;

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
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
    /// The initrd's address for the parm area (0 without initrd).
    pub initrd_start: u64,
    /// The initrd's size for the parm area.
    pub initrd_size: u64,
}

impl Plan {
    /// Write the initrd location and `cmdline` into the parm area of
    /// `kernel` (a private copy of the whole image file); the rest of the
    /// old command line (an embedded default) is cleared up to the limit.
    #[cfg_attr(not(target_arch = "s390x"), allow(dead_code))]
    pub fn patch(&self, kernel: &mut [u8], cmdline: &str) -> Result<(), LayoutError> {
        let area = kernel
            .get_mut(image::PARM_AREA_OFFSET..)
            .ok_or(LayoutError::NotS390Image)?;
        let mut p = ParmArea::new_checked(area)?;
        p.set_initrd_start(self.initrd_start);
        p.set_initrd_size(self.initrd_size);
        p.set_command_line(cmdline.as_bytes())
    }
}

/// Lay out `kernel` (the whole image file), an initrd of `initrd_len` bytes
/// (0 for none) and `cmdline`. The stub rewrites `[0x10000, stub)` (the
/// new image and its decompressor heap) and the `extra` `[start, end)`
/// ranges: where the running kernel and pxeinit have executed code (see
/// [`kernel_end`] and the page lists `kexec::load` collects). `ram_end` is
/// the end of memory, when known (the initrd must fit below it).
pub fn plan(
    kernel: &[u8],
    initrd_len: u64,
    cmdline: &str,
    extra: &[(u64, u64)],
    ram_end: Option<u64>,
) -> Result<Plan, LayoutError> {
    let limit = KernelImage::parse(kernel)?.parm_area().command_line_limit();
    image::check_cmdline(cmdline.as_bytes(), limit)?;
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
    let low = align_up(INITRD_MIN.max(stub_addr + PAGE), 1 << 20);
    let high = align_up(low.max(initrd_floor(image_len)), 1 << 20);
    let fits = |at: u64| ram_end.is_none_or(|end| at + align_up(initrd_len, PAGE) <= end);
    let initrd_addr = if fits(high) { high } else { low };
    let initrd = (initrd_len > 0).then_some(SegmentPlan {
        mem: initrd_addr,
        memsz: align_up(initrd_len, PAGE),
        bufsz: initrd_len,
    });
    let stub = stub(&purge_ranges(extra, stub_addr), KERNEL_OFFSET);
    let stub_seg = SegmentPlan {
        mem: stub_addr,
        memsz: PAGE,
        bufsz: stub.len() as u64,
    };
    let (initrd_start, initrd_size) = match initrd {
        Some(s) => (s.mem, initrd_len),
        None => (0, 0),
    };
    Ok(Plan {
        kernel: kernel_seg,
        initrd,
        stub_seg,
        stub,
        entry: stub_addr,
        initrd_start,
        initrd_size,
    })
}

/// The highest address the stub can reach: it runs with 31-bit addressing.
pub const STUB_REACH: u64 = 1 << 31;

/// Where the initrd should start so that the new kernel does not have to
/// move it: the decompressor checks whether the initrd overlaps the
/// decompressed kernel and, if so, copies it above (`rescue_initrd`), which
/// for a 64 MiB initrd costs 0.8 s under TCG (measured). The decompressed
/// size is not recorded in the image, so this is six times the compressed
/// image (XZ shrinks s390x kernels about 3.5 to 4 times; the Debian 6.1
/// kernel: 5 MB file, 19 MB decompressed), at most 256 MiB. When that does
/// not fit in memory, [`plan`] falls back to kexec-tools' 8 MiB.
pub fn initrd_floor(image_len: u64) -> u64 {
    (6 * image_len).min(256 << 20)
}

/// Most ranges the stub's table holds (it must fit its page).
pub const MAX_RANGES: usize = (PAGE as usize - STUB_CODE) / 8 - 1;

/// The `[start, end)` ranges the stub rewrites: `[0x10000, stub)` plus
/// `extra`, clipped to `[0x10000, 2 GiB)`, without the stub's own page,
/// word aligned, sorted and merged; if there are more than
/// [`MAX_RANGES`], the closest neighbours are joined (rewriting the gap
/// too, which is harmless).
pub fn purge_ranges(extra: &[(u64, u64)], stub_addr: u64) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = Vec::new();
    let mut push = |a: u64, b: u64| {
        let (a, b) = (align_up(a.max(KERNEL_OFFSET), 4), b.min(STUB_REACH) & !3);
        if a < b {
            v.push((a, b));
        }
    };
    push(KERNEL_OFFSET, stub_addr);
    for &(a, b) in extra {
        push(a, b.min(stub_addr));
        push(a.max(stub_addr + PAGE), b);
    }
    v.sort();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    while out.len() > MAX_RANGES {
        // Join the pair with the smallest gap, unless it spans the stub.
        let i = (0..out.len() - 1)
            .filter(|&i| !(out[i].1 <= stub_addr && out[i + 1].0 > stub_addr))
            .min_by_key(|&i| out[i + 1].0 - out[i].1)
            .unwrap_or(0);
        out[i].1 = out[i + 1].1;
        out.remove(i + 1);
    }
    out
}

/// The end of memory: the highest "System RAM" line of /proc/iomem;
/// `None` when not readable (not root: zeros).
#[cfg_attr(not(target_arch = "s390x"), allow(dead_code))]
pub fn ram_end(iomem: &str) -> Option<u64> {
    iomem
        .lines()
        .filter(|l| !l.starts_with(' ') && l.ends_with(" : System RAM"))
        .filter_map(|l| u64::from_str_radix(l.split_once('-')?.1.split_once(' ')?.0, 16).ok())
        .filter(|&e| e > 0)
        .map(|e| e + 1)
        .max()
}

/// The end of the running kernel's image (code, data, bss) from the
/// indented lines of /proc/iomem; `None` when they are not there (not
/// root: the kernel shows zeros).
pub fn kernel_end(iomem: &str) -> Option<u64> {
    iomem
        .lines()
        .filter(|l| l.starts_with(' '))
        .filter_map(|l| {
            let (range, what) = l.trim().split_once(" : ")?;
            if !what.trim().starts_with("Kernel ") {
                return None;
            }
            let end = u64::from_str_radix(range.split_once('-')?.1.trim(), 16).ok()?;
            (end > 0).then_some(end + 1)
        })
        .max()
}

/// Bytes of code before the table; see [`stub`].
const STUB_CODE: usize = 0x38;

/// The stub: rewrite every 4-byte word of each `[start, end)` range with
/// its own value, then branch to `entry`. It runs in ESA/390 31-bit mode
/// (the PSW that `relocate_kernel` loads has the 31-bit addressing bit set),
/// so it uses only ESA/390 instructions. The ranges follow the code as a
/// table of big-endian (start, word count) pairs ending with (0, 0).
///
/// ```text
/// off  bytes         instruction              meaning
/// 0x00 0d d0         basr %r13,0              r13 = 0x02 (base)
/// 0x02 41 50 d0 36   la   %r5,0x36(%r13)      r5 = table (0x38)
/// 0x06 58 20 50 00   l    %r2,0(%r5)          next: r2 = start
/// 0x0a 58 30 50 04   l    %r3,4(%r5)                r3 = word count
/// 0x0e 12 33         ltr  %r3,%r3
/// 0x10 47 80 d0 2a   bc   8,0x2a(%r13)        if r3 == 0 goto done (0x2c)
/// 0x14 58 40 20 00   l    %r4,0(%r2)          loop: r4 = *r2
/// 0x18 50 40 20 00   st   %r4,0(%r2)                *r2 = r4
/// 0x1c 41 20 20 04   la   %r2,4(%r2)                r2 += 4
/// 0x20 46 30 d0 12   bct  %r3,0x12(%r13)      if --r3 != 0 goto loop (0x14)
/// 0x24 41 50 50 08   la   %r5,8(%r5)          r5 += 8
/// 0x28 47 f0 d0 04   bc   15,0x04(%r13)       goto next (0x06)
/// 0x2c 58 10 d0 32   l    %r1,0x32(%r13)      done: r1 = entry (word at 0x34)
/// 0x30 07 f1         br   %r1                 jump to the kernel
/// 0x32 07 00         nopr                     padding
/// 0x34 entry, 0x38 table
/// ```
///
/// A range is at most 2^32 - 1 words; longer ones are split.
pub fn stub(ranges: &[(u64, u64)], entry: u64) -> Vec<u8> {
    let mut s = vec![
        0x0d, 0xd0, // basr %r13,0
        0x41, 0x50, 0xd0, 0x36, // la %r5,0x36(%r13)
        0x58, 0x20, 0x50, 0x00, // l %r2,0(%r5)
        0x58, 0x30, 0x50, 0x04, // l %r3,4(%r5)
        0x12, 0x33, // ltr %r3,%r3
        0x47, 0x80, 0xd0, 0x2a, // bc 8,0x2a(%r13)
        0x58, 0x40, 0x20, 0x00, // l %r4,0(%r2)
        0x50, 0x40, 0x20, 0x00, // st %r4,0(%r2)
        0x41, 0x20, 0x20, 0x04, // la %r2,4(%r2)
        0x46, 0x30, 0xd0, 0x12, // bct %r3,0x12(%r13)
        0x41, 0x50, 0x50, 0x08, // la %r5,8(%r5)
        0x47, 0xf0, 0xd0, 0x04, // bc 15,0x04(%r13)
        0x58, 0x10, 0xd0, 0x32, // l %r1,0x32(%r13)
        0x07, 0xf1, // br %r1
        0x07, 0x00, // nopr
    ];
    s.extend_from_slice(&(entry as u32).to_be_bytes());
    debug_assert_eq!(s.len(), STUB_CODE);
    let max_entries = MAX_RANGES;
    let mut n = 0;
    for &(a, b) in ranges {
        let mut start = a;
        while start + 4 <= b && n < max_entries {
            let words = ((b - start) / 4).min(u64::from(u32::MAX));
            s.extend_from_slice(&(start as u32).to_be_bytes());
            s.extend_from_slice(&(words as u32).to_be_bytes());
            start += words * 4;
            n += 1;
        }
    }
    s.extend_from_slice(&[0; 8]);
    s
}

#[cfg(test)]
mod test {
    use super::*;

    fn fake_kernel(len: usize, limit: u64) -> Vec<u8> {
        let mut k = vec![0u8; len];
        k[0x10008..0x1000e].copy_from_slice(b"S390EP");
        k[0x10430..0x10438].copy_from_slice(&limit.to_be_bytes());
        k[0x10480..0x10480 + 17].copy_from_slice(b"root=/dev/ram0 ro");
        k
    }

    #[test]
    fn layout_of_a_5mb_kernel() {
        let k = fake_kernel(5_066_752, 4096);
        let p = plan(&k, 3_000_001, "console=ttysclp0 x=1", &[], None).unwrap();
        assert_eq!(p.kernel.mem, 0x10000);
        assert_eq!(p.kernel.bufsz, 5_066_752 - 0x10000);
        assert_eq!(p.kernel.memsz % 4096, 0);
        let i = p.initrd.unwrap();
        assert_eq!(i.mem, 29 << 20, "above 6 x the image, 1 MiB aligned");
        // Without room for that, kexec-tools' 8 MiB.
        let small = plan(&k, 3_000_001, "", &[], Some(24 << 20)).unwrap();
        assert_eq!(small.initrd.unwrap().mem, 8 << 20);
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
        // The parm area, patched in a copy, read back by offset.
        let mut img = k.clone();
        p.patch(&mut img, "console=ttysclp0 x=1").unwrap();
        let be = |at: usize| u64::from_be_bytes(img[at..at + 8].try_into().unwrap());
        assert_eq!(be(0x10408), 29 << 20);
        assert_eq!(be(0x10410), 3_000_001);
        assert!(img[0x10480..].starts_with(b"console=ttysclp0 x=1\0"));
        assert!(
            img[0x10480 + 20..0x10480 + 4096].iter().all(|&b| b == 0),
            "old command line cleared"
        );
    }

    #[test]
    fn big_kernel_pushes_initrd_up() {
        let k = fake_kernel(9 << 20, 0);
        let p = plan(&k, 10, "", &[], Some(16 << 20)).unwrap();
        let i = p.initrd.unwrap();
        assert_eq!(i.mem, 10 << 20, "above image end + heap, 1 MiB aligned");
        assert!(i.mem >= (9 << 20) + HEAP_CLEAR);
    }

    #[test]
    fn no_initrd() {
        let k = fake_kernel(5 << 20, 0);
        let p = plan(&k, 0, "a", &[], None).unwrap();
        assert!(p.initrd.is_none());
        assert_eq!((p.initrd_start, p.initrd_size), (0, 0));
        assert!(p.stub_seg.mem >= (5 << 20) + HEAP_CLEAR);
    }

    #[test]
    fn cmdline_limit() {
        let k = fake_kernel(1 << 20, 0);
        assert!(plan(&k, 0, &"x".repeat(895), &[], None).is_ok());
        assert!(matches!(
            plan(&k, 0, &"x".repeat(896), &[], None),
            Err(LayoutError::CmdlineTooLong {
                len: 896,
                limit: 896
            })
        ));
        let k = fake_kernel(1 << 20, 4096);
        assert!(plan(&k, 0, &"x".repeat(4095), &[], None).is_ok());
        assert!(plan(&k, 0, &"x".repeat(4096), &[], None).is_err());
        assert!(matches!(
            plan(&k, 0, "a\0b", &[], None),
            Err(LayoutError::CmdlineHasNul)
        ));
    }

    #[test]
    fn refuses_non_s390_images() {
        assert!(matches!(
            plan(b"\x7fELF", 0, "", &[], None),
            Err(LayoutError::TooShort { .. })
        ));
        let mut k = fake_kernel(1 << 20, 0);
        k[0x10008] = b'X';
        assert!(matches!(
            plan(&k, 0, "", &[], None),
            Err(LayoutError::NotS390Image)
        ));
    }

    #[test]
    fn stub_encoding() {
        let s = stub(&[(0x10000, 0x4f5000), (0x4f6000, 0x800000)], 0x10000);
        let expect: [u8; 0x38] = [
            0x0d, 0xd0, 0x41, 0x50, 0xd0, 0x36, 0x58, 0x20, 0x50, 0x00, 0x58, 0x30, 0x50, 0x04,
            0x12, 0x33, 0x47, 0x80, 0xd0, 0x2a, 0x58, 0x40, 0x20, 0x00, 0x50, 0x40, 0x20, 0x00,
            0x41, 0x20, 0x20, 0x04, 0x46, 0x30, 0xd0, 0x12, 0x41, 0x50, 0x50, 0x08, 0x47, 0xf0,
            0xd0, 0x04, 0x58, 0x10, 0xd0, 0x32, 0x07, 0xf1, 0x07, 0x00, 0x00, 0x01, 0x00, 0x00,
        ];
        assert_eq!(&s[..0x38], &expect);
        let words: Vec<u32> = s[0x38..]
            .chunks(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(words, [0x10000, 0x139400, 0x4f6000, 0xc2800, 0, 0]);
        // Displacements (relative to the base 0x02 that basr sets) point at
        // the table, `done`, the entry word, the loop head and `next`.
        let disp = |at: usize| s[at + 3] as usize + 2;
        assert_eq!(disp(0x02), 0x38);
        assert_eq!(disp(0x10), 0x2c);
        assert_eq!(disp(0x2c), 0x34);
        assert_eq!(disp(0x20), 0x14);
        assert_eq!(disp(0x28), 0x06);
    }

    #[test]
    fn purge_ranges_merge_skip_stub_and_clip() {
        let stub = 0x4f5000;
        // Kernel area up to 14 MiB, two pxeinit text pages, one beyond 2 GiB.
        let extra = [
            (0x10000, 0xe00000),
            (0x3000_0000, 0x3000_1000),
            (0x3000_1000, 0x3000_2000),
            (0x9000_0000, 0x9000_1000),
        ];
        assert_eq!(
            purge_ranges(&extra, stub),
            [
                (0x10000, stub),
                (stub + 4096, 0xe00000),
                (0x3000_0000, 0x3000_2000)
            ]
        );
        assert_eq!(purge_ranges(&[], stub), [(0x10000, stub)]);
        // Too many scattered pages: neighbours are joined until they fit.
        let many: Vec<(u64, u64)> = (0..2000u64)
            .map(|i| (0x1000_0000 + i * 0x3000, 0x1000_1000 + i * 0x3000))
            .collect();
        let r = purge_ranges(&many, stub);
        assert!(r.len() <= MAX_RANGES);
        for (a, b) in &many {
            assert!(
                r.iter().any(|(x, y)| x <= a && b <= y),
                "{a:#x} not covered"
            );
        }
        assert!(
            r.iter().all(|&(a, b)| b <= stub || a >= stub + 4096),
            "stub page never rewritten"
        );
        let k = fake_kernel(5_066_752, 0);
        assert!(plan(&k, 0, "", &many, None).unwrap().stub.len() <= 4096);
    }

    #[test]
    fn iomem_kernel_end() {
        let t = "00000000-3fffffff : System RAM\n  00100000-00b8ffff : Kernel code\n  00b90000-00d0ffff : Kernel data\n  00d10000-00dfffff : Kernel bss\n";
        assert_eq!(kernel_end(t), Some(0xe00000));
        assert_eq!(ram_end(t), Some(0x4000_0000));
        assert_eq!(ram_end("00000000-00000000 : System RAM\n"), None);
        assert_eq!(
            kernel_end("00000000-00000000 : System RAM\n  00000000-00000000 : Kernel code\n"),
            None
        );
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
            "\t.text\n\t.machine \"g5\"\n0:\tbasr %r13,0\n1:\tla %r5,(t-1b)(%r13)\nn:\tl %r2,0(%r5)\n\tl %r3,4(%r5)\n\tltr %r3,%r3\n\tbc 8,(d-1b)(%r13)\nl:\tl %r4,0(%r2)\n\tst %r4,0(%r2)\n\tla %r2,4(%r2)\n\tbct %r3,(l-1b)(%r13)\n\tla %r5,8(%r5)\n\tbc 15,(n-1b)(%r13)\nd:\tl %r1,(e-1b)(%r13)\n\tbr %r1\n\tnopr\ne:\t.long 0x10000\nt:\t.long 0x10000,0x139400,0x4f6000,0xc2800,0,0\n",
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
        assert_eq!(
            got,
            stub(&[(0x10000, 0x4f5000), (0x4f6000, 0x800000)], 0x10000)
        );
    }
}

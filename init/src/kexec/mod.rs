//! `kexec`—load a new kernel and boot into it. The only module with
//! `unsafe` syscalls besides a few ioctls in `net`.
//!
//! [`load`] tries `kexec_file_load(2)` first; when the running kernel lacks
//! it (`ENOSYS`: the Debian s390x kernel has no `CONFIG_KEXEC_FILE`) it
//! falls back to `kexec_load(2)` with the architecture's segment layout
//! (s390x: [`s390`]). Loading and executing are separate steps, so a dry
//! run can stop after the checks and a failed load leaves the system as it
//! was. [`execute`] is `reboot(LINUX_REBOOT_CMD_KEXEC)`.
//!
//! # References
//! - <https://man7.org/linux/man-pages/man2/kexec_load.2.html>
//! - kexec-tools `kexec/arch/s390/kexec-image.c`

pub mod s390;

use std::ffi::CString;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// A failed kexec step, naming the syscall.
#[derive(Debug)]
pub enum KexecError {
    /// The image or command line is unusable.
    Layout(s390::LayoutError),
    /// A syscall failed.
    Sys {
        /// The call and its main arguments.
        call: String,
        /// The error.
        err: io::Error,
    },
    /// Neither kexec_file_load nor a kexec_load layout is available.
    #[cfg_attr(target_arch = "s390x", allow(dead_code))]
    Unsupported(String),
}

impl fmt::Display for KexecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KexecError::Layout(e) => write!(f, "kexec: {e}"),
            KexecError::Sys { call, err } => write!(f, "kexec: {call} failed: {err}"),
            KexecError::Unsupported(s) => write!(f, "kexec: {s}"),
        }
    }
}

impl std::error::Error for KexecError {}

impl From<s390::LayoutError> for KexecError {
    fn from(e: s390::LayoutError) -> Self {
        KexecError::Layout(e)
    }
}

/// How the image was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `kexec_file_load(2)`.
    FileLoad,
    /// `kexec_load(2)` with the s390x layout and the TCG stub.
    #[cfg_attr(not(target_arch = "s390x"), allow(dead_code))]
    S390Segments,
}

#[cfg(target_arch = "s390x")]
const SYS_KEXEC_FILE_LOAD: libc::c_long = 381;
#[cfg(target_arch = "s390x")]
const SYS_KEXEC_LOAD: libc::c_long = 277;
#[cfg(target_arch = "x86_64")]
const SYS_KEXEC_FILE_LOAD: libc::c_long = 320;
#[cfg(target_arch = "aarch64")]
const SYS_KEXEC_FILE_LOAD: libc::c_long = 294;
#[cfg(not(any(target_arch = "s390x", target_arch = "x86_64", target_arch = "aarch64")))]
const SYS_KEXEC_FILE_LOAD: libc::c_long = -1;

const KEXEC_FILE_NO_INITRAMFS: libc::c_ulong = 4;

/// `kexec_file_load`—load `kernel` and `initrd` with `cmdline`.
pub fn kexec_file_load(
    kernel: &File,
    initrd: Option<&File>,
    cmdline: &str,
) -> Result<(), KexecError> {
    let c = CString::new(cmdline).map_err(|_| s390::LayoutError::CmdlineHasNul)?;
    let (ifd, flags) = match initrd {
        Some(f) => (f.as_raw_fd(), 0),
        None => (-1, KEXEC_FILE_NO_INITRAMFS),
    };
    if SYS_KEXEC_FILE_LOAD < 0 {
        return Err(KexecError::Sys {
            call: "kexec_file_load".into(),
            err: io::Error::from_raw_os_error(libc::ENOSYS),
        });
    }
    // SAFETY: the fds are open for the duration of the call, the command
    // line pointer and its length (including the NUL, as the syscall
    // requires) come from a live CString.
    let r = unsafe {
        libc::syscall(
            SYS_KEXEC_FILE_LOAD,
            kernel.as_raw_fd(),
            ifd,
            c.as_bytes_with_nul().len() as libc::c_ulong,
            c.as_ptr(),
            flags,
        )
    };
    if r != 0 {
        return Err(KexecError::Sys {
            call: format!(
                "kexec_file_load(kernel fd {}, initrd fd {ifd}, {} byte command line)",
                kernel.as_raw_fd(),
                c.as_bytes_with_nul().len()
            ),
            err: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// Load `kernel` + `initrd` for the next [`execute`]: `kexec_file_load`,
/// falling back to `kexec_load` on s390x when the former is missing.
pub fn load(kernel: &File, initrd: Option<&File>, cmdline: &str) -> Result<Method, KexecError> {
    match kexec_file_load(kernel, initrd, cmdline) {
        Ok(()) => Ok(Method::FileLoad),
        Err(KexecError::Sys { err, .. }) if err.raw_os_error() == Some(libc::ENOSYS) => {
            load_segments(kernel, initrd, cmdline)
        }
        Err(e) => Err(e),
    }
}

/// A read-only (copy-on-write) mapping of a file.
struct Map {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Map {
    /// Map `f` private and writable: writes (the parm-area patch) stay in
    /// our copy of the touched page; the rest is shared with the page cache.
    fn new(f: &File, what: &str) -> Result<Map, KexecError> {
        let len = f
            .metadata()
            .map_err(|err| KexecError::Sys {
                call: format!("fstat({what})"),
                err,
            })?
            .len() as usize;
        if len == 0 {
            return Ok(Map {
                ptr: std::ptr::null_mut(),
                len,
            });
        }
        // SAFETY: mapping a regular file we hold open; MAP_PRIVATE keeps our
        // writes out of the file. The mapping lives until Drop.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE,
                f.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(KexecError::Sys {
                call: format!("mmap({what}, {len} bytes)"),
                err: io::Error::last_os_error(),
            });
        }
        Ok(Map { ptr, len })
    }

    fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: ptr/len describe a live mapping owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.cast(), self.len) }
    }

    #[cfg_attr(not(target_arch = "s390x"), allow(dead_code))]
    fn bytes_mut(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: ptr/len describe a live, writable mapping owned by self,
        // and &mut self guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.cast(), self.len) }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unmapping the region mapped in new().
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}

/// Compute the s390x plan for the given files without loading anything
/// (used by dry runs to check the image and the command line).
pub fn check(kernel: &File, initrd_len: u64, cmdline: &str) -> Result<(), KexecError> {
    let k = Map::new(kernel, "kernel")?;
    s390::plan(k.bytes(), initrd_len, cmdline, &[], None)?;
    Ok(())
}

#[repr(C)]
struct KexecSegment {
    buf: *const libc::c_void,
    bufsz: libc::size_t,
    mem: libc::c_ulong,
    memsz: libc::size_t,
}

/// Physical ranges where code has run and QEMU TCG may keep translations
/// the new kernel must not see (see `s390.rs`): the running kernel's image
/// (from /proc/iomem) and the pages of our own executable mappings (from
/// /proc/self/pagemap; static pxeinit and the target's static binaries
/// both load at 0x1000000, so a stale translation would be found at the
/// same address). Both files need root, as kexec_load does.
#[cfg_attr(not(target_arch = "s390x"), allow(dead_code))]
fn executed_ranges(iomem: &str) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if let Some(end) = s390::kernel_end(iomem) {
        out.push((s390::KERNEL_OFFSET, end));
    }
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let Ok(pagemap) = File::open("/proc/self/pagemap") else {
        return out;
    };
    for (start, end) in exec_mappings(&maps) {
        let mut va = start;
        while va < end {
            let mut e = [0u8; 8];
            if std::os::unix::fs::FileExt::read_exact_at(&pagemap, &mut e, va / 4096 * 8).is_ok() {
                let v = u64::from_ne_bytes(e);
                let pfn = v & ((1 << 55) - 1);
                if v >> 63 == 1 && pfn != 0 {
                    out.push((pfn * 4096, pfn * 4096 + 4096));
                }
            }
            va += 4096;
        }
    }
    out
}

/// `[start, end)` of the executable mappings in a /proc/PID/maps text.
#[cfg_attr(not(target_arch = "s390x"), allow(dead_code))]
fn exec_mappings(maps: &str) -> Vec<(u64, u64)> {
    maps.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (range, perms) = (f.next()?, f.next()?);
            if perms.as_bytes().get(2) != Some(&b'x') {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            Some((
                u64::from_str_radix(a, 16).ok()?,
                u64::from_str_radix(b, 16).ok()?,
            ))
        })
        .collect()
}

/// `kexec_load` with the s390x layout of [`s390::plan`].
#[cfg(target_arch = "s390x")]
fn load_segments(
    kernel: &File,
    initrd: Option<&File>,
    cmdline: &str,
) -> Result<Method, KexecError> {
    let mut k = Map::new(kernel, "kernel")?;
    let i = match initrd {
        Some(f) => Some(Map::new(f, "initrd")?),
        None => None,
    };
    let ilen = i.as_ref().map(|m| m.len as u64).unwrap_or(0);
    let iomem = std::fs::read_to_string("/proc/iomem").unwrap_or_default();
    let plan = s390::plan(
        k.bytes(),
        ilen,
        cmdline,
        &executed_ranges(&iomem),
        s390::ram_end(&iomem),
    )?;
    let kb = k.bytes_mut();
    plan.patch(kb, cmdline)?;
    let mut segs = vec![KexecSegment {
        buf: k.bytes()[s390::KERNEL_OFFSET as usize..].as_ptr().cast(),
        bufsz: plan.kernel.bufsz as usize,
        mem: plan.kernel.mem as libc::c_ulong,
        memsz: plan.kernel.memsz as usize,
    }];
    if let (Some(seg), Some(m)) = (plan.initrd, i.as_ref()) {
        segs.push(KexecSegment {
            buf: m.bytes().as_ptr().cast(),
            bufsz: seg.bufsz as usize,
            mem: seg.mem as libc::c_ulong,
            memsz: seg.memsz as usize,
        });
    }
    segs.push(KexecSegment {
        buf: plan.stub.as_ptr().cast(),
        bufsz: plan.stub_seg.bufsz as usize,
        mem: plan.stub_seg.mem as libc::c_ulong,
        memsz: plan.stub_seg.memsz as usize,
    });
    // SAFETY: each segment's buffer points into a mapping or vector that
    // lives until after the call, with at least bufsz bytes; the kernel
    // copies them. KEXEC_ARCH_DEFAULT (0) flags.
    let r = unsafe {
        libc::syscall(
            SYS_KEXEC_LOAD,
            plan.entry as libc::c_ulong,
            segs.len() as libc::c_ulong,
            segs.as_ptr(),
            0 as libc::c_ulong,
        )
    };
    if r != 0 {
        return Err(KexecError::Sys {
            call: format!(
                "kexec_load(entry {:#x}, {} segments: kernel {:#x}+{:#x}, initrd {}, stub {:#x})",
                plan.entry,
                segs.len(),
                plan.kernel.mem,
                plan.kernel.memsz,
                plan.initrd
                    .map(|s| format!("{:#x}+{:#x}", s.mem, s.memsz))
                    .unwrap_or_else(|| "none".into()),
                plan.stub_seg.mem
            ),
            err: io::Error::last_os_error(),
        });
    }
    Ok(Method::S390Segments)
}

#[cfg(not(target_arch = "s390x"))]
fn load_segments(_: &File, _: Option<&File>, _: &str) -> Result<Method, KexecError> {
    let _ = std::mem::size_of::<KexecSegment>();
    Err(KexecError::Unsupported(format!(
        "kexec_file_load is not available and pxeinit has no kexec_load layout for {}",
        std::env::consts::ARCH
    )))
}

/// Boot the loaded kernel: `reboot(LINUX_REBOOT_CMD_KEXEC)`. Returns only
/// on failure.
pub fn execute() -> KexecError {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    match nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_KEXEC) {
        Ok(never) => match never {},
        Err(e) => KexecError::Sys {
            call: "reboot(LINUX_REBOOT_CMD_KEXEC)".into(),
            err: io::Error::from(e),
        },
    }
}

#[cfg(test)]
mod test {
    #[test]
    fn exec_mappings() {
        let m = "01000000-01150000 r-xp 00000000 00:02 7 /init\n01160000-01170000 rw-p 00150000 00:02 7 /init\n3ffe0000-3ffe2000 r-xp 00000000 00:00 0 [vdso]\nbad line\n";
        assert_eq!(
            super::exec_mappings(m),
            [(0x1000000, 0x1150000), (0x3ffe0000, 0x3ffe2000)]
        );
    }
}

//! Shared fixtures for the end-to-end boots in `tests/`: the image is
//! built once per test binary, and QEMU runs one at a time (TCG is CPU
//! bound; parallel guests would distort the timing assertions).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

pub use xtask::qemu::{Console, Guest};

/// The first-stage command line used by the tests.
pub const CMDLINE: &str = "console=ttysclp0 quiet";

/// `pxelinux.0`, built once (from this checkout) per test binary.
pub fn pxelinux0() -> PathBuf {
    static IMG: OnceLock<PathBuf> = OnceLock::new();
    IMG.get_or_init(|| {
        let dir = xtask::target_dir().join("qemu-tests/image");
        xtask::image(&dir, CMDLINE).unwrap_or_else(|e| panic!("building pxelinux.0: {e}"))
    })
    .clone()
}

/// Serialise QEMU runs.
pub fn qemu_lock() -> MutexGuard<'static, ()> {
    static L: Mutex<()> = Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh TFTP root named `name` holding `pxelinux.0`.
pub fn tftp_root(name: &str) -> PathBuf {
    let root = xtask::target_dir().join("qemu-tests").join(name);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("pxelinux.cfg")).expect("mkdir");
    std::fs::copy(pxelinux0(), root.join("pxelinux.0")).expect("copy pxelinux.0");
    root
}

/// Write `content` to `root/rel`, creating directories.
pub fn put(root: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = root.join(rel);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(&p, content).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

/// The Debian s390x kernel image.
pub fn debian_kernel() -> Vec<u8> {
    let k = xtask::kernel::ensure().unwrap_or_else(|e| panic!("kernel: {e}"));
    std::fs::read(&k.vmlinuz).expect("read vmlinuz")
}

/// A target initrd: Debian's busybox runs a script that prints `marker`,
/// the command line, and powers off.
pub fn busybox_target(marker: &str) -> Vec<u8> {
    let script = format!(
        "/bin/busybox mount -t proc proc /proc 2>/dev/null || (/bin/busybox mkdir -p /proc && /bin/busybox mount -t proc proc /proc)\n\
         echo \"{marker}\"\n\
         echo \"TARGET-CMDLINE: $(/bin/busybox cat /proc/cmdline)\"\n\
         /bin/busybox poweroff -f\n"
    );
    xtask::payload::busybox_initrd(&script).unwrap_or_else(|e| panic!("busybox payload: {e}"))
}

/// The printk timestamp (seconds, the kernel's own clock) of a console
/// line like `[    2.990000] Linux version ...`.
pub fn printk_time(line: &str) -> Option<f64> {
    let rest = &line[line.find('[')? + 1..];
    rest[..rest.find(']')?].trim().parse().ok()
}

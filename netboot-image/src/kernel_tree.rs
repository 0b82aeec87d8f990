//! An unpacked kernel package: `boot/vmlinuz-<release>` beside
//! `lib/modules/<release>/`, as `dpkg-deb -x linux-image-*.deb DIR` (or an
//! installed system's `/`) lays it out. `cargo xtask` unpacks the Debian
//! s390x kernel into `target/kernel/root/` and builds images from it; the
//! tests that need a real kernel find it with [`crate::testenv::kernel`].

use std::path::{Path, PathBuf};

/// A kernel image and its modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelTree {
    /// The release, e.g. `6.1.0-50-s390x` (the `vmlinuz-` suffix).
    pub release: String,
    /// `boot/vmlinuz-<release>`.
    pub vmlinuz: PathBuf,
    /// `lib/modules/<release>`.
    pub modules_dir: PathBuf,
}

impl KernelTree {
    /// The kernel under `root`, if `root/boot` holds exactly the files of
    /// one release with its modules (the first in name order otherwise).
    pub fn find(root: &Path) -> Option<KernelTree> {
        let boot = root.join("boot");
        let mut releases: Vec<String> = std::fs::read_dir(&boot)
            .ok()?
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_prefix("vmlinuz-")
                    .map(str::to_string)
            })
            .collect();
        releases.sort();
        releases.into_iter().find_map(|release| {
            let modules_dir = root.join("lib/modules").join(&release);
            modules_dir.is_dir().then(|| KernelTree {
                vmlinuz: boot.join(format!("vmlinuz-{release}")),
                modules_dir,
                release,
            })
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn finds_the_release_with_modules() {
        let root = std::env::temp_dir().join(format!("nbi-ktree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("boot")).unwrap();
        std::fs::create_dir_all(root.join("lib/modules/2.0-b")).unwrap();
        std::fs::write(root.join("boot/vmlinuz-1.0-a"), b"").unwrap();
        std::fs::write(root.join("boot/vmlinuz-2.0-b"), b"").unwrap();
        std::fs::write(root.join("boot/config-2.0-b"), b"").unwrap();
        let k = KernelTree::find(&root).unwrap();
        assert_eq!(k.release, "2.0-b");
        assert_eq!(k.vmlinuz, root.join("boot/vmlinuz-2.0-b"));
        assert_eq!(k.modules_dir, root.join("lib/modules/2.0-b"));
        assert_eq!(KernelTree::find(&root.join("nothing")), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}

//! Kernel module loading without modprobe: [`netboot_image::modules`]
//! resolves the names and their dependencies into load order (from
//! `modules.dep`, or each module's `.modinfo` when there is none; the same
//! resolver that put them into the initramfs), and each file goes to
//! `finit_module(2)`. Modules built into the kernel are skipped; one that
//! is already loaded (`EEXIST`) is fine.

use std::ffi::CString;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use log::debug;
use netboot_image::modules::Resolver;

/// A module could not be found or loaded.
#[derive(Debug)]
pub enum ModuleError {
    /// Resolving the names failed (no such module, unreadable directory).
    Resolve(netboot_image::modules::Error),
    /// `finit_module` failed.
    Load {
        /// The module file.
        path: PathBuf,
        /// The cause.
        err: io::Error,
    },
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleError::Resolve(e) => write!(f, "{e}"),
            ModuleError::Load { path, err } => {
                write!(f, "loading module {} failed: {err}", path.display())
            }
        }
    }
}

impl std::error::Error for ModuleError {}

/// `/lib/modules/$(uname -r)`.
pub fn modules_dir() -> PathBuf {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    Path::new("/lib/modules").join(release)
}

/// Load `names` and their dependencies from `dir`, in dependency order.
/// Returns the names of the modules loaded.
pub fn load(dir: &Path, names: &[&str]) -> Result<Vec<String>, ModuleError> {
    let resolver = Resolver::open(dir).map_err(ModuleError::Resolve)?;
    let res = resolver.resolve(names).map_err(ModuleError::Resolve)?;
    let mut loaded = Vec::new();
    for m in res.modules {
        let f = File::open(&m.path).map_err(|err| ModuleError::Load {
            path: m.path.clone(),
            err,
        })?;
        let params = CString::default();
        match nix::kmod::finit_module(&f, &params, nix::kmod::ModuleInitFlags::empty()) {
            Ok(()) => {
                debug!("loaded {}", m.rel_path);
                loaded.push(m.name);
            }
            Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => {
                return Err(ModuleError::Load {
                    path: m.path,
                    err: io::Error::from(e),
                })
            }
        }
    }
    Ok(loaded)
}

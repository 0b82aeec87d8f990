//! Kernel module loading without modprobe: `modules.dep` is parsed here,
//! dependencies are loaded first, each with `finit_module(2)`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use log::debug;

/// `modules.dep`: module path → dependency paths (relative to the modules dir).
#[derive(Debug, Default, Clone)]
pub struct DepMap {
    deps: BTreeMap<String, Vec<String>>,
}

/// A module's canonical name from its path: file stem before `.ko`, with
/// `-` as `_` (the kernel treats them alike).
pub fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split(".ko").next().unwrap_or(file);
    stem.replace('-', "_")
}

impl DepMap {
    /// Parse the text of `modules.dep` (`path: dep dep ...` per line).
    /// Malformed lines are skipped.
    pub fn parse(text: &str) -> DepMap {
        let mut deps = BTreeMap::new();
        for line in text.lines() {
            let Some((m, d)) = line.split_once(':') else {
                continue;
            };
            let m = m.trim();
            if m.is_empty() {
                continue;
            }
            deps.insert(
                m.to_string(),
                d.split_whitespace().map(str::to_string).collect(),
            );
        }
        DepMap { deps }
    }

    fn path_of(&self, name: &str) -> Option<&String> {
        let want = name.replace('-', "_");
        self.deps.keys().find(|p| module_name(p) == want)
    }

    /// The load order for `names`: every dependency before its user, each
    /// module once. Unknown names are returned in the error list.
    pub fn load_order(&self, names: &[&str]) -> (Vec<String>, Vec<String>) {
        let mut order = Vec::new();
        let mut seen = BTreeSet::new();
        let mut missing = Vec::new();
        for n in names {
            match self.path_of(n) {
                Some(p) => self.visit(p, &mut seen, &mut order, 0),
                None => missing.push(n.to_string()),
            }
        }
        (order, missing)
    }

    fn visit(&self, p: &str, seen: &mut BTreeSet<String>, order: &mut Vec<String>, depth: u32) {
        if depth > 64 || !seen.insert(p.to_string()) {
            return;
        }
        // modules.dep lists all transitive dependencies; the last one is
        // loaded first (as modprobe does), and recursing keeps this right
        // for hand-written files that list only direct ones.
        if let Some(ds) = self.deps.get(p) {
            for d in ds.iter().rev() {
                self.visit(d, seen, order, depth + 1);
            }
        }
        order.push(p.to_string());
    }
}

/// A module that could not be loaded.
#[derive(Debug)]
pub enum ModuleError {
    /// `modules.dep` unreadable.
    NoDepFile {
        /// Its path.
        path: PathBuf,
        /// Why.
        err: io::Error,
    },
    /// A name not in `modules.dep`.
    Unknown(String),
    /// finit_module or open failed.
    Load {
        /// Module file.
        path: PathBuf,
        /// Why.
        err: io::Error,
    },
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleError::NoDepFile { path, err } => {
                write!(f, "cannot read {}: {err}", path.display())
            }
            ModuleError::Unknown(n) => write!(f, "module {n} is not in modules.dep"),
            ModuleError::Load { path, err } => {
                write!(f, "loading module {} failed: {err}", path.display())
            }
        }
    }
}

impl std::error::Error for ModuleError {}

/// The modules directory of the running kernel.
pub fn modules_dir() -> PathBuf {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    Path::new("/lib/modules").join(release)
}

/// Load `names` and their dependencies from `dir`. Already loaded or
/// built-in modules are fine. Returns the modules loaded.
pub fn load(dir: &Path, names: &[&str]) -> Result<Vec<String>, ModuleError> {
    let dep_path = dir.join("modules.dep");
    let text = std::fs::read_to_string(&dep_path).map_err(|err| ModuleError::NoDepFile {
        path: dep_path.clone(),
        err,
    })?;
    let map = DepMap::parse(&text);
    let (order, missing) = map.load_order(names);
    if let Some(m) = missing.first() {
        if !builtin(dir, m) {
            return Err(ModuleError::Unknown(m.clone()));
        }
    }
    let mut loaded = Vec::new();
    for rel in order {
        let path = dir.join(&rel);
        let f = File::open(&path).map_err(|err| ModuleError::Load {
            path: path.clone(),
            err,
        })?;
        let params = CString::default();
        match nix::kmod::finit_module(&f, &params, nix::kmod::ModuleInitFlags::empty()) {
            Ok(()) => {
                debug!("loaded {}", rel);
                loaded.push(module_name(&rel));
            }
            Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => {
                return Err(ModuleError::Load {
                    path,
                    err: io::Error::from(e),
                })
            }
        }
    }
    Ok(loaded)
}

fn builtin(dir: &Path, name: &str) -> bool {
    let want = name.replace('-', "_");
    std::fs::read_to_string(dir.join("modules.builtin"))
        .map(|t| t.lines().any(|l| module_name(l) == want))
        .unwrap_or(false)
}

#[cfg(test)]
mod test {
    use super::*;

    const DEP: &str = "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko\n\
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n\
kernel/net/core/failover.ko:\n\
kernel/drivers/block/virtio_blk.ko:\n\
garbage line\n";

    #[test]
    fn order_puts_dependencies_first() {
        let m = DepMap::parse(DEP);
        let (order, missing) = m.load_order(&["virtio_net", "virtio-blk", "nope"]);
        assert_eq!(
            order,
            [
                "kernel/net/core/failover.ko",
                "kernel/drivers/net/net_failover.ko",
                "kernel/drivers/net/virtio_net.ko",
                "kernel/drivers/block/virtio_blk.ko"
            ]
        );
        assert_eq!(missing, ["nope"]);
    }

    #[test]
    fn names() {
        assert_eq!(module_name("kernel/a/virtio-net.ko.xz"), "virtio_net");
        assert_eq!(module_name("x.ko"), "x");
    }

    #[test]
    fn cycles_terminate() {
        let m = DepMap::parse("a.ko: b.ko\nb.ko: a.ko\n");
        let (order, _) = m.load_order(&["a"]);
        assert_eq!(order, ["b.ko", "a.ko"]);
    }
}

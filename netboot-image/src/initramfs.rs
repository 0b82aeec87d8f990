//! Assembling the first-stage initramfs: the init program, kernel modules
//! with their `modules.dep`, a console device and extra files, as one
//! (compressed) cpio archive.
//!
//! ```text
//! /dev/                                  0755
//! /dev/console                           c 5 1, 0600
//! /init                                  0755, the init program
//! /lib/modules/VER/modules.dep           0644, for the modules below
//! /lib/modules/VER/kernel/.../NAME.ko    0644, decompressed
//! /proc/ /run/ /sys/                     0755, mount points
//! DEST                                   each `add` entry
//! ```
//!
//! `VER` is the name of [`Spec::modules_dir`] (`/lib/modules/6.1.0-50-s390x`
//! gives `6.1.0-50-s390x`), which must match the kernel's release for
//! `uname -r`-based lookups to find the modules.

use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::compress::Compression;
use crate::cpio::{self, Archive};
use crate::modules::{self, Resolver};

/// What to put into an initramfs.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// The init program, stored as `/init` with mode 0755.
    pub init: Vec<u8>,
    /// The kernel's modules directory, `/lib/modules/VER`. Needed when
    /// `modules` is not empty.
    pub modules_dir: Option<PathBuf>,
    /// Modules to include, by name; their dependencies are added.
    pub modules: Vec<String>,
    /// Extra files `(source, destination in the archive)`. A source
    /// directory is added recursively. A file's mode is 0755 if any execute
    /// bit is set on the source, else 0644; directories get 0755.
    pub add: Vec<(PathBuf, String)>,
    /// How to compress the archive.
    pub compression: Compression,
}

/// Why an initramfs could not be built. Each variant names its input.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Resolving or reading modules failed.
    Modules(modules::Error),
    /// Modules were requested without a modules directory.
    NoModulesDir,
    /// The modules directory has no usable name to use as `VER`.
    BadModulesDir(PathBuf),
    /// Reading an `add` source failed.
    Io {
        /// The source.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An `add` destination is not a valid archive path.
    BadDest(cpio::PathError),
    /// An `add` destination collides with a generated entry or another `add`.
    DestConflict {
        /// The normalized destination.
        dest: String,
    },
    /// A file is too large for cpio newc (4 GiB).
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// Compression failed.
    Compress(crate::compress::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Modules(e) => e.fmt(f),
            Error::NoModulesDir => write!(
                f,
                "modules were requested but no modules directory was given"
            ),
            Error::BadModulesDir(p) => write!(
                f,
                "{}: cannot tell the kernel release from this directory name",
                p.display()
            ),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::BadDest(e) => e.fmt(f),
            Error::DestConflict { dest } => write!(f, "/{dest} is already in the initramfs"),
            Error::TooLarge { path } => write!(
                f,
                "{}: larger than the 4 GiB a cpio newc entry can hold",
                path.display()
            ),
            Error::Compress(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Modules(e) => Some(e),
            Error::Io { source, .. } => Some(source),
            Error::BadDest(e) => Some(e),
            Error::Compress(e) => Some(e),
            _ => None,
        }
    }
}

impl From<modules::Error> for Error {
    fn from(e: modules::Error) -> Self {
        Error::Modules(e)
    }
}

/// The uncompressed archive for `spec`, and what went into it.
#[derive(Debug, Clone)]
pub struct Built {
    /// The cpio archive, not yet compressed.
    pub archive: Archive,
    /// The modules included, in load order.
    pub modules: Vec<modules::Module>,
    /// Requested modules that are built into the kernel (not included).
    pub builtin: Vec<String>,
}

/// Builds the uncompressed archive for `spec` (see [`build`]).
pub fn assemble(spec: &Spec) -> Result<Built, Error> {
    let mut archive = Archive::new();
    for dir in ["dev", "proc", "sys", "run"] {
        archive.add_dir(dir, 0o755);
    }
    archive.add_char_dev("dev/console", 0o600, 5, 1);
    archive.add_file("init", 0o755, spec.init.clone());

    let mut resolution = modules::Resolution::default();
    match &spec.modules_dir {
        None if !spec.modules.is_empty() => return Err(Error::NoModulesDir),
        None => {}
        Some(dir) => {
            let version = dir
                .file_name()
                .and_then(|n| n.to_str())
                .filter(|n| !n.is_empty() && *n != "." && *n != "..")
                .ok_or_else(|| Error::BadModulesDir(dir.clone()))?;
            let base = format!("lib/modules/{version}");
            if !spec.modules.is_empty() {
                resolution = Resolver::open(dir)?.resolve(&spec.modules)?;
            }
            for module in &resolution.modules {
                let data = modules::read_module(&module.path)?;
                check_size(&module.path, data.len())?;
                archive.add_file(
                    &format!("{base}/{}", modules::stored_path(&module.rel_path)),
                    0o644,
                    data,
                );
            }
            archive.add_file(
                &format!("{base}/modules.dep"),
                0o644,
                modules::write_modules_dep(&resolution.modules).into_bytes(),
            );
        }
    }

    for (src, dest) in &spec.add {
        let dest = cpio::normalize_path(dest).map_err(Error::BadDest)?;
        add_path(&mut archive, src, &dest)?;
    }
    Ok(Built {
        archive,
        modules: resolution.modules,
        builtin: resolution.builtin,
    })
}

/// Builds the initramfs for `spec`: the (compressed) cpio archive bytes.
/// The same spec and inputs give the same bytes (see [`cpio::Archive`]).
///
/// Whether the kernel can unpack `spec.compression` is the caller's check
/// ([`crate::compress::check_kernel_config`]), since the spec has no kernel.
pub fn build(spec: &Spec) -> Result<Vec<u8>, Error> {
    let built = assemble(spec)?;
    crate::compress::compress(&built.archive.to_bytes(), spec.compression).map_err(Error::Compress)
}

fn check_size(path: &Path, len: usize) -> Result<(), Error> {
    if u32::try_from(len).is_err() {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Adds a file, symlink or directory tree at `src` as `dest`.
fn add_path(archive: &mut Archive, src: &Path, dest: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| Error::Io {
        path: src.to_path_buf(),
        source,
    };
    // Follow a symlink given on the command line; inside trees, keep links.
    let meta = std::fs::metadata(src).map_err(io)?;
    // A directory may be merged into an existing one; nothing else overlaps.
    let merge = meta.is_dir() && archive.is_dir(dest);
    if archive.contains(dest) && !merge {
        return Err(Error::DestConflict {
            dest: dest.to_string(),
        });
    }
    if meta.is_dir() {
        if !merge {
            archive.add_dir(dest, 0o755);
        }
        add_tree(archive, src, dest)
    } else {
        let data = std::fs::read(src).map_err(io)?;
        check_size(src, data.len())?;
        let mode = if meta.permissions().mode() & 0o111 != 0 {
            0o755
        } else {
            0o644
        };
        archive.add_file(dest, mode, data);
        Ok(())
    }
}

fn add_tree(archive: &mut Archive, dir: &Path, dest: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io(dir))?;
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return Err(Error::Io {
                path: path.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "file name is not UTF-8",
                ),
            });
        };
        let target = format!("{dest}/{name}");
        let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(&path).map_err(io(&path))?;
            let link = link.to_str().ok_or_else(|| Error::Io {
                path: path.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "link target is not UTF-8",
                ),
            })?;
            archive.add_symlink(&target, link);
        } else if meta.is_dir() {
            archive.add_dir(&target, 0o755);
            add_tree(archive, &path, &target)?;
        } else if meta.is_file() {
            let data = std::fs::read(&path).map_err(io(&path))?;
            check_size(&path, data.len())?;
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            archive.add_file(&target, mode, data);
        }
        // Sockets, FIFOs and devices in a source tree are skipped.
    }
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::cpio::Reader;

    fn listing(archive: &[u8]) -> Vec<(String, u32, usize)> {
        Reader::new(archive)
            .map(|e| e.map(|e| (e.name_lossy().into_owned(), e.header.mode, e.data.len())))
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nbi-initramfs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn minimal_layout() {
        let spec = Spec {
            init: b"INIT".to_vec(),
            compression: Compression::None,
            ..Spec::default()
        };
        let list = listing(&build(&spec).unwrap());
        assert_eq!(
            list,
            [
                ("dev".to_string(), 0o40755, 0),
                ("dev/console".to_string(), 0o20600, 0),
                ("init".to_string(), 0o100755, 4),
                ("proc".to_string(), 0o40755, 0),
                ("run".to_string(), 0o40755, 0),
                ("sys".to_string(), 0o40755, 0),
            ]
        );
    }

    #[test]
    fn add_files_trees_and_errors() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("add");
        std::fs::write(dir.join("tool"), b"#!").unwrap();
        std::fs::set_permissions(dir.join("tool"), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::create_dir_all(dir.join("tree/sub")).unwrap();
        std::fs::write(dir.join("tree/sub/conf"), b"x=1").unwrap();
        std::os::unix::fs::symlink("sub/conf", dir.join("tree/link")).unwrap();
        let spec = Spec {
            init: vec![],
            add: vec![
                (dir.join("tool"), "/bin/tool".into()),
                (dir.join("tree"), "etc/t".into()),
            ],
            compression: Compression::None,
            ..Spec::default()
        };
        let list = listing(&build(&spec).unwrap());
        assert!(list.contains(&("bin/tool".into(), 0o100755, 2)));
        assert!(list.contains(&("etc/t/sub/conf".into(), 0o100644, 3)));
        assert!(list.contains(&("etc/t/link".into(), 0o120777, 8)));

        let conflict = Spec {
            add: vec![(dir.join("tool"), "/init".into())],
            ..spec.clone()
        };
        assert!(
            matches!(build(&conflict).unwrap_err(), Error::DestConflict { dest } if dest == "init")
        );
        let merged = Spec {
            add: vec![(dir.join("tree"), "/dev".into())],
            ..spec.clone()
        };
        let list = listing(&build(&merged).unwrap());
        assert!(list.contains(&("dev/sub/conf".into(), 0o100644, 3)));
        assert!(list.contains(&("dev/console".into(), 0o20600, 0)));
        let bad = Spec {
            add: vec![(dir.join("tool"), "../x".into())],
            ..spec.clone()
        };
        assert!(matches!(build(&bad).unwrap_err(), Error::BadDest(_)));
        let missing = Spec {
            add: vec![(dir.join("nope"), "x".into())],
            ..spec.clone()
        };
        let err = build(&missing).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn modules_need_a_dir() {
        let spec = Spec {
            modules: vec!["x".into()],
            ..Spec::default()
        };
        assert!(matches!(build(&spec).unwrap_err(), Error::NoModulesDir));
    }

    #[test]
    fn compressed_modules_are_stored_plain() {
        let dir = temp_dir("ko").join("9.9.9-test");
        std::fs::create_dir_all(dir.join("kernel")).unwrap();
        let base = crate::modules::test::fake_module("base", "");
        let top = crate::modules::test::fake_module("top", "base");
        let gz = crate::compress::compress(&base, Compression::Gzip).unwrap();
        let zst = crate::compress::compress(&top, Compression::Zstd).unwrap();
        std::fs::write(dir.join("kernel/base.ko.gz"), gz).unwrap();
        std::fs::write(dir.join("kernel/top.ko.zst"), zst).unwrap();
        let spec = Spec {
            init: vec![],
            modules_dir: Some(dir.clone()),
            modules: vec!["top".into()],
            compression: Compression::None,
            ..Spec::default()
        };
        let archive = build(&spec).unwrap();
        let entries: Vec<_> = Reader::new(&archive).collect::<Result<_, _>>().unwrap();
        let get = |n: &str| {
            entries
                .iter()
                .find(|e| e.header.name == n.as_bytes())
                .map(|e| e.data)
        };
        assert_eq!(
            get("lib/modules/9.9.9-test/kernel/base.ko"),
            Some(&base[..])
        );
        assert_eq!(get("lib/modules/9.9.9-test/kernel/top.ko"), Some(&top[..]));
        assert_eq!(
            get("lib/modules/9.9.9-test/modules.dep"),
            Some(&b"kernel/base.ko:\nkernel/top.ko: kernel/base.ko\n"[..])
        );
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn real_modules_and_reproducible() {
        let Some(k) = crate::testenv::kernel("real_modules_and_reproducible") else {
            return;
        };
        let spec = Spec {
            init: b"\x7fELF-not-really".to_vec(),
            modules_dir: Some(k.modules_dir.clone()),
            modules: vec!["virtio_net".into()],
            add: vec![],
            compression: Compression::Gzip,
        };
        let a = build(&spec).unwrap();
        let b = build(&spec).unwrap();
        assert_eq!(a, b, "same inputs, same bytes");
        let (plain, _) = crate::compress::decompress(crate::compress::Format::Gzip, &a).unwrap();
        let names: Vec<_> = listing(&plain).into_iter().map(|(n, _, _)| n).collect();
        for file in [
            "kernel/net/core/failover.ko",
            "kernel/drivers/net/net_failover.ko",
            "kernel/drivers/net/virtio_net.ko",
            "modules.dep",
        ] {
            let want = format!("lib/modules/{}/{file}", k.release);
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
    }
}

//! Kernel modules: finding them under `/lib/modules/VER`, resolving their
//! dependencies into load order, and writing `modules.dep`.
//!
//! Module names are compared with `-` and `_` treated alike, as modprobe
//! does. Dependencies come from `modules.dep` when the directory has one
//! (depmod's output, authoritative), otherwise from each module's ELF
//! `.modinfo` section (`depends=a,b`), which is what depmod itself reads.
//! Modules listed in `modules.builtin` are built into the kernel: they are
//! reported, not loaded.
//!
//! Compressed modules (`.ko.gz`, `.ko.xz`, `.ko.zst`) are found like plain
//! ones. [`read_module`] decompresses them (feature `compress`), so an
//! initramfs stores every module as a plain `.ko`: `finit_module` takes a
//! compressed module only from kernels built with `CONFIG_MODULE_DECOMPRESS`
//! (and then with the `MODULE_INIT_COMPRESSED_FILE` flag), while a plain one
//! loads everywhere; the initramfs is compressed as a whole anyway.
//!
//! `modules.dep` format, as written by [`write_modules_dep`] and depmod:
//! one line per module, paths relative to the modules directory, and the
//! module's whole dependency closure, the last listed to be loaded first:
//!
//! ```text
//! kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// File name suffixes of modules, with the compression each implies.
pub const SUFFIXES: [(&str, ModuleCompression); 4] = [
    (".ko", ModuleCompression::None),
    (".ko.gz", ModuleCompression::Gzip),
    (".ko.xz", ModuleCompression::Xz),
    (".ko.zst", ModuleCompression::Zstd),
];

/// How a module file is compressed, from its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModuleCompression {
    /// `.ko`
    None,
    /// `.ko.gz`
    Gzip,
    /// `.ko.xz`
    Xz,
    /// `.ko.zst`
    Zstd,
}

/// A module resolution or reading error. Each names the file or module.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file or directory failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No module of this name exists in the directory (nor is it built in).
    NotFound {
        /// The requested name.
        name: String,
        /// The modules directory.
        dir: PathBuf,
        /// The module that depends on it, if it was a dependency.
        needed_by: Option<String>,
    },
    /// The module file is not an ELF file with sections.
    BadElf {
        /// The module file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// A line of `modules.dep` is not `path: dep dep ...`.
    BadModulesDep {
        /// The `modules.dep` file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// Modules depend on each other in a cycle.
    Cycle {
        /// The names along the cycle.
        chain: Vec<String>,
    },
    /// Decompressing a module failed.
    Decompress {
        /// The module file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// The module is compressed and the crate was built without the
    /// `compress` feature.
    CompressionUnsupported {
        /// The module file.
        path: PathBuf,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::NotFound {
                name,
                dir,
                needed_by: None,
            } => {
                write!(f, "module {name:?} not found in {}", dir.display())
            }
            Error::NotFound {
                name,
                dir,
                needed_by: Some(by),
            } => {
                write!(
                    f,
                    "module {name:?} (needed by {by:?}) not found in {}",
                    dir.display()
                )
            }
            Error::BadElf { path, reason } => {
                write!(f, "{}: not a kernel module: {reason}", path.display())
            }
            Error::BadModulesDep { path, line } => {
                write!(
                    f,
                    "{}:{line}: expected `module.ko: dependency.ko ...`",
                    path.display()
                )
            }
            Error::Cycle { chain } => write!(f, "module dependency cycle: {}", chain.join(" -> ")),
            Error::Decompress { path, message } => {
                write!(f, "{}: cannot decompress module: {message}", path.display())
            }
            Error::CompressionUnsupported { path } => write!(
                f,
                "{}: compressed module, but netboot-image was built without the `compress` feature",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The canonical form of a module name: `-` replaced by `_`.
pub fn normalize_name(name: &str) -> String {
    name.replace('-', "_")
}

/// Splits a module path into its canonical name and compression, or `None`
/// if the file name has no module suffix.
pub fn module_name(path: &str) -> Option<(String, ModuleCompression)> {
    let file = path.rsplit('/').next()?;
    // The longest suffix first, so `x.ko.xz` is not taken for `x.ko` + ".xz".
    SUFFIXES.iter().rev().find_map(|(suffix, c)| {
        file.strip_suffix(suffix)
            .filter(|s| !s.is_empty())
            .map(|stem| (normalize_name(stem), *c))
    })
}

/// The path a module gets in an initramfs: its compression suffix removed.
pub fn stored_path(rel_path: &str) -> String {
    for (suffix, c) in SUFFIXES.iter().rev() {
        if *c != ModuleCompression::None {
            if let Some(stem) = rel_path.strip_suffix(suffix) {
                return format!("{stem}.ko");
            }
        }
    }
    rel_path.to_string()
}

/// One resolved module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Canonical name (`virtio_net`).
    pub name: String,
    /// Path relative to the modules directory, as found
    /// (`kernel/drivers/net/virtio_net.ko`).
    pub rel_path: String,
    /// Absolute path of the file.
    pub path: PathBuf,
    /// Compression of the file.
    pub compression: ModuleCompression,
    /// Canonical names of its direct dependencies (built-in ones excluded).
    pub deps: Vec<String>,
}

/// The result of [`Resolver::resolve`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// The modules in load order: every module after its dependencies.
    pub modules: Vec<Module>,
    /// Requested or depended-on names that are built into the kernel.
    pub builtin: Vec<String>,
}

/// Where dependency information comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepSource {
    /// The directory's `modules.dep`.
    ModulesDep,
    /// Each module's `.modinfo` section.
    Modinfo,
}

/// Finds modules in one `/lib/modules/VER` directory.
#[derive(Debug, Clone)]
pub struct Resolver {
    dir: PathBuf,
    /// Canonical name -> path relative to `dir`.
    files: BTreeMap<String, String>,
    /// From `modules.dep`: relative path -> dependency relative paths.
    dep_lines: Option<HashMap<String, Vec<String>>>,
    builtin: BTreeSet<String>,
}

impl Resolver {
    /// Indexes `dir`: reads `modules.dep` and `modules.builtin` when present,
    /// else walks the tree for `*.ko*` files (not following symlinks, so the
    /// `build` and `source` links are skipped). When a name occurs twice,
    /// `updates/` wins over `extra/`, which wins over the rest, as in
    /// depmod's default search order.
    pub fn open(dir: &Path) -> Result<Resolver, Error> {
        let meta = std::fs::metadata(dir).map_err(io_error(dir))?;
        if !meta.is_dir() {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let mut resolver = Resolver {
            dir: dir.to_path_buf(),
            files: BTreeMap::new(),
            dep_lines: None,
            builtin: BTreeSet::new(),
        };

        let builtin_path = dir.join("modules.builtin");
        match std::fs::read_to_string(&builtin_path) {
            Ok(text) => {
                resolver.builtin = text
                    .lines()
                    .filter_map(|l| module_name(l.trim()))
                    .map(|(n, _)| n)
                    .collect();
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&builtin_path)(e)),
        }

        let dep_path = dir.join("modules.dep");
        match std::fs::read_to_string(&dep_path) {
            Ok(text) => {
                let lines = parse_modules_dep(&text).map_err(|line| Error::BadModulesDep {
                    path: dep_path,
                    line,
                })?;
                let mut paths: Vec<&String> = lines.keys().collect();
                paths.sort();
                for rel in paths {
                    resolver.add_file(rel);
                }
                resolver.dep_lines = Some(lines);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut found = Vec::new();
                walk(dir, "", &mut found)?;
                found.sort();
                for rel in &found {
                    resolver.add_file(rel);
                }
            }
            Err(e) => return Err(io_error(&dep_path)(e)),
        }
        Ok(resolver)
    }

    fn add_file(&mut self, rel: &str) {
        fn priority(rel: &str) -> u8 {
            if rel.starts_with("updates/") {
                0
            } else if rel.starts_with("extra/") {
                1
            } else {
                2
            }
        }
        let Some((name, _)) = module_name(rel) else {
            return;
        };
        match self.files.get(&name) {
            Some(old) if priority(old) <= priority(rel) => {}
            _ => {
                self.files.insert(name, rel.to_string());
            }
        }
    }

    /// The directory this resolver reads.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where dependencies come from.
    pub fn dep_source(&self) -> DepSource {
        if self.dep_lines.is_some() {
            DepSource::ModulesDep
        } else {
            DepSource::Modinfo
        }
    }

    /// Whether `name` is listed in `modules.builtin`.
    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin.contains(&normalize_name(name))
    }

    /// The relative path of module `name`, if the directory has it.
    pub fn find(&self, name: &str) -> Option<&str> {
        self.files.get(&normalize_name(name)).map(String::as_str)
    }

    /// Direct dependencies of the module at `rel`, as canonical names.
    fn direct_deps(&self, rel: &str) -> Result<Vec<String>, Error> {
        if let Some(lines) = &self.dep_lines {
            // modules.dep lists the whole closure; a topological walk over
            // it gives the same order as over the direct dependencies.
            let deps = lines.get(rel).map(Vec::as_slice).unwrap_or_default();
            return Ok(deps
                .iter()
                .filter_map(|d| module_name(d))
                .map(|(n, _)| n)
                .collect());
        }
        let path = self.dir.join(rel);
        let data = read_module(&path)?;
        let info = modinfo(&data).map_err(|reason| Error::BadElf {
            path: path.clone(),
            reason,
        })?;
        Ok(info
            .iter()
            .filter(|(k, _)| *k == "depends")
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(normalize_name)
            .collect())
    }

    /// Resolves `names` and all their dependencies into load order
    /// (dependencies first; otherwise in the order requested). Each module
    /// appears once.
    pub fn resolve<S: AsRef<str>>(&self, names: &[S]) -> Result<Resolution, Error> {
        #[derive(PartialEq)]
        enum State {
            Visiting,
            Done,
        }
        struct Walk<'r> {
            resolver: &'r Resolver,
            state: HashMap<String, State>,
            stack: Vec<String>,
            out: Resolution,
        }
        impl Walk<'_> {
            fn visit(&mut self, name: &str, needed_by: Option<&str>) -> Result<(), Error> {
                match self.state.get(name) {
                    Some(State::Done) => return Ok(()),
                    Some(State::Visiting) => {
                        let start = self.stack.iter().position(|n| n == name).unwrap_or(0);
                        let mut chain = self.stack[start..].to_vec();
                        chain.push(name.to_string());
                        return Err(Error::Cycle { chain });
                    }
                    None => {}
                }
                let Some(rel) = self.resolver.files.get(name).cloned() else {
                    if self.resolver.builtin.contains(name) {
                        self.state.insert(name.to_string(), State::Done);
                        self.out.builtin.push(name.to_string());
                        return Ok(());
                    }
                    return Err(Error::NotFound {
                        name: name.to_string(),
                        dir: self.resolver.dir.clone(),
                        needed_by: needed_by.map(str::to_string),
                    });
                };
                self.state.insert(name.to_string(), State::Visiting);
                self.stack.push(name.to_string());
                let deps = self.resolver.direct_deps(&rel)?;
                for dep in &deps {
                    self.visit(dep, Some(name))?;
                }
                self.stack.pop();
                self.state.insert(name.to_string(), State::Done);
                let deps = deps
                    .into_iter()
                    .filter(|d| {
                        !self.resolver.builtin.contains(d) || self.resolver.files.contains_key(d)
                    })
                    .collect();
                let compression = module_name(&rel).map_or(ModuleCompression::None, |(_, c)| c);
                self.out.modules.push(Module {
                    name: name.to_string(),
                    path: self.resolver.dir.join(&rel),
                    rel_path: rel,
                    compression,
                    deps,
                });
                Ok(())
            }
        }
        let mut walk = Walk {
            resolver: self,
            state: HashMap::new(),
            stack: Vec::new(),
            out: Resolution::default(),
        };
        for name in names {
            walk.visit(&normalize_name(name.as_ref()), None)?;
        }
        Ok(walk.out)
    }
}

/// Collects the relative paths of module files under `dir`.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(io_error(dir))?;
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let file_type = entry.file_type().map_err(io_error(&entry.path()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if file_type.is_dir() {
            walk(&entry.path(), &rel, out)?;
        } else if file_type.is_file() && module_name(&name).is_some() {
            out.push(rel);
        }
    }
    Ok(())
}

/// Parses `modules.dep` into `path -> dependency paths`; a bad line's
/// 1-based number is the error. Blank lines and `#` comments are skipped.
pub fn parse_modules_dep(text: &str) -> Result<HashMap<String, Vec<String>>, usize> {
    let mut map = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (module, deps) = line.split_once(':').ok_or(i + 1)?;
        let module = module.trim();
        if module_name(module).is_none() {
            return Err(i + 1);
        }
        map.insert(
            module.to_string(),
            deps.split_whitespace().map(str::to_string).collect(),
        );
    }
    Ok(map)
}

/// Writes a `modules.dep` for `modules` (in load order, as
/// [`Resolver::resolve`] returns them), with each module at its
/// [`stored_path`]: for each, its whole dependency closure, the module to
/// load last first, as depmod writes it.
pub fn write_modules_dep(modules: &[Module]) -> String {
    let index: HashMap<&str, usize> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name.as_str(), i))
        .collect();
    let mut out = String::new();
    for module in modules {
        // Closure of dependencies, then ordered by load position.
        let mut closure = BTreeSet::new();
        let mut todo: Vec<&str> = module.deps.iter().map(String::as_str).collect();
        while let Some(dep) = todo.pop() {
            if let Some(&i) = index.get(dep) {
                if closure.insert(i) {
                    todo.extend(modules[i].deps.iter().map(String::as_str));
                }
            }
        }
        out.push_str(&stored_path(&module.rel_path));
        out.push(':');
        for &i in closure.iter().rev() {
            out.push(' ');
            out.push_str(&stored_path(&modules[i].rel_path));
        }
        out.push('\n');
    }
    out
}

/// Reads a module file, decompressing `.ko.gz`, `.ko.xz` and `.ko.zst`.
pub fn read_module(path: &Path) -> Result<Vec<u8>, Error> {
    let data = std::fs::read(path).map_err(io_error(path))?;
    let compression = path
        .to_str()
        .and_then(module_name)
        .map_or(ModuleCompression::None, |(_, c)| c);
    decompress_module(path, data, compression)
}

#[cfg(feature = "compress")]
fn decompress_module(
    path: &Path,
    data: Vec<u8>,
    compression: ModuleCompression,
) -> Result<Vec<u8>, Error> {
    use crate::compress::Format;
    let format = match compression {
        ModuleCompression::None => return Ok(data),
        ModuleCompression::Gzip => Format::Gzip,
        ModuleCompression::Xz => Format::Xz,
        ModuleCompression::Zstd => Format::Zstd,
    };
    crate::compress::decompress(format, &data)
        .map(|(out, _)| out)
        .map_err(|e| Error::Decompress {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

#[cfg(not(feature = "compress"))]
fn decompress_module(
    path: &Path,
    data: Vec<u8>,
    compression: ModuleCompression,
) -> Result<Vec<u8>, Error> {
    match compression {
        ModuleCompression::None => Ok(data),
        _ => Err(Error::CompressionUnsupported {
            path: path.to_path_buf(),
        }),
    }
}

/// The `key=value` strings of an ELF file's `.modinfo` section (32 or
/// 64-bit, either byte order). Never panics on malformed input.
pub fn modinfo(elf: &[u8]) -> Result<Vec<(&str, &str)>, &'static str> {
    let section = elf_section(elf, b".modinfo")?.ok_or("no .modinfo section")?;
    Ok(section
        .split(|&b| b == 0)
        .filter_map(|s| std::str::from_utf8(s).ok())
        .filter_map(|s| s.split_once('='))
        .collect())
}

/// Finds a section by name in an ELF file.
fn elf_section<'a>(elf: &'a [u8], wanted: &[u8]) -> Result<Option<&'a [u8]>, &'static str> {
    if elf.get(..4) != Some(b"\x7fELF") {
        return Err("no ELF magic");
    }
    let is64 = match elf.get(4) {
        Some(1) => false,
        Some(2) => true,
        _ => return Err("unknown ELF class"),
    };
    let big = match elf.get(5) {
        Some(1) => false,
        Some(2) => true,
        _ => return Err("unknown ELF byte order"),
    };
    let num = |off: usize, len: usize| -> Result<u64, &'static str> {
        let b = elf.get(off..off + len).ok_or("truncated ELF file")?;
        Ok(b.iter().enumerate().fold(0u64, |acc, (i, &x)| {
            if big {
                (acc << 8) | x as u64
            } else {
                acc | (x as u64) << (8 * i)
            }
        }))
    };
    let word = if is64 { 8 } else { 4 };
    let (shoff, shentsize, shnum, shstrndx) = if is64 {
        (num(0x28, 8)?, num(0x3a, 2)?, num(0x3c, 2)?, num(0x3e, 2)?)
    } else {
        (num(0x20, 4)?, num(0x2e, 2)?, num(0x30, 2)?, num(0x32, 2)?)
    };
    let min_entsize = if is64 { 0x40 } else { 0x28 };
    if shentsize < min_entsize {
        return Err("bad section header size");
    }
    let header = |i: u64| -> Result<(u64, u64, u64), &'static str> {
        let base = i
            .checked_mul(shentsize)
            .and_then(|o| o.checked_add(shoff))
            .ok_or("bad section table")?;
        let base = usize::try_from(base).map_err(|_| "bad section table")?;
        let name = num(base, 4)?;
        let offset = num(base + 8 + 2 * word, word)?;
        let size = num(base + 8 + 3 * word, word)?;
        Ok((name, offset, size))
    };
    let bytes = |offset: u64, size: u64| -> Result<&'a [u8], &'static str> {
        let start = usize::try_from(offset).map_err(|_| "section out of file")?;
        let end = offset
            .checked_add(size)
            .and_then(|e| usize::try_from(e).ok())
            .ok_or("section out of file")?;
        elf.get(start..end).ok_or("section out of file")
    };
    if shstrndx >= shnum {
        return Err("bad section name table index");
    }
    let (_, strtab_off, strtab_size) = header(shstrndx)?;
    let strtab = bytes(strtab_off, strtab_size)?;
    for i in 0..shnum {
        let (name, offset, size) = header(i)?;
        let name = strtab.get(name as usize..).unwrap_or_default();
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        if name == wanted {
            return bytes(offset, size).map(Some);
        }
    }
    Ok(None)
}

#[cfg(test)]
pub(crate) mod test {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            module_name("kernel/a/virtio-net.ko"),
            Some(("virtio_net".into(), ModuleCompression::None))
        );
        assert_eq!(
            module_name("x.ko.xz"),
            Some(("x".into(), ModuleCompression::Xz))
        );
        assert_eq!(
            module_name("x.ko.zst"),
            Some(("x".into(), ModuleCompression::Zstd))
        );
        assert_eq!(
            module_name("x.ko.gz"),
            Some(("x".into(), ModuleCompression::Gzip))
        );
        assert_eq!(module_name(".ko"), None);
        assert_eq!(module_name("x.o"), None);
        assert_eq!(stored_path("kernel/x.ko.zst"), "kernel/x.ko");
        assert_eq!(stored_path("kernel/x.ko"), "kernel/x.ko");
    }

    /// A tiny big-endian ELF64 with one `.modinfo` section, like s390x's.
    pub(crate) fn fake_module(name: &str, depends: &str) -> Vec<u8> {
        let modinfo = format!("license=GPL\0depends={depends}\0name={name}\0");
        let shstrtab = b"\0.modinfo\0.shstrtab\0";
        let mut elf = vec![0u8; 0x40];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x02");
        let modinfo_off = elf.len();
        elf.extend_from_slice(modinfo.as_bytes());
        let strtab_off = elf.len();
        elf.extend_from_slice(shstrtab);
        while !elf.len().is_multiple_of(8) {
            elf.push(0);
        }
        let shoff = elf.len();
        let mut sh = |name: u32, off: usize, size: usize| {
            let mut h = vec![0u8; 0x40];
            h[0..4].copy_from_slice(&name.to_be_bytes());
            h[0x18..0x20].copy_from_slice(&(off as u64).to_be_bytes());
            h[0x20..0x28].copy_from_slice(&(size as u64).to_be_bytes());
            elf.extend_from_slice(&h);
        };
        sh(0, 0, 0);
        sh(1, modinfo_off, modinfo.len());
        sh(10, strtab_off, shstrtab.len());
        elf[0x28..0x30].copy_from_slice(&(shoff as u64).to_be_bytes());
        elf[0x3a..0x3c].copy_from_slice(&0x40u16.to_be_bytes());
        elf[0x3c..0x3e].copy_from_slice(&3u16.to_be_bytes());
        elf[0x3e..0x40].copy_from_slice(&2u16.to_be_bytes());
        elf
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nbi-modules-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn modinfo_of_fake_module() {
        let elf = fake_module("a_b", "c,d");
        let info = modinfo(&elf).unwrap();
        assert!(info.contains(&("depends", "c,d")));
        assert!(info.contains(&("name", "a_b")));
    }

    #[test]
    fn modinfo_never_panics_on_garbage() {
        let good = fake_module("m", "x");
        for len in 0..good.len() {
            let _ = modinfo(&good[..len]);
        }
        for i in 0..good.len() {
            for v in [0u8, 0xff, 0x7f, 0x40] {
                let mut bad = good.clone();
                bad[i] = v;
                let _ = modinfo(&bad);
            }
        }
    }

    #[test]
    fn resolve_from_modinfo_with_dash_names_cycles_and_builtins() {
        let dir = temp_dir("modinfo");
        std::fs::create_dir_all(dir.join("kernel/net")).unwrap();
        std::fs::write(
            dir.join("kernel/net/top-mod.ko"),
            fake_module("top_mod", "mid,builtin_one"),
        )
        .unwrap();
        std::fs::write(dir.join("kernel/net/mid.ko"), fake_module("mid", "base")).unwrap();
        std::fs::write(dir.join("kernel/base.ko"), fake_module("base", "")).unwrap();
        std::fs::write(dir.join("kernel/cyc_a.ko"), fake_module("cyc_a", "cyc_b")).unwrap();
        std::fs::write(dir.join("kernel/cyc_b.ko"), fake_module("cyc_b", "cyc_a")).unwrap();
        std::fs::write(dir.join("modules.builtin"), "kernel/builtin-one.ko\n").unwrap();
        let r = Resolver::open(&dir).unwrap();
        assert_eq!(r.dep_source(), DepSource::Modinfo);
        let res = r.resolve(&["top_mod", "base"]).unwrap();
        let names: Vec<_> = res.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["base", "mid", "top_mod"]);
        assert_eq!(res.builtin, ["builtin_one"]);
        assert_eq!(
            write_modules_dep(&res.modules),
            "kernel/base.ko:\nkernel/net/mid.ko: kernel/base.ko\nkernel/net/top-mod.ko: kernel/net/mid.ko kernel/base.ko\n"
        );
        match r.resolve(&["cyc-a"]).unwrap_err() {
            Error::Cycle { chain } => assert_eq!(chain, ["cyc_a", "cyc_b", "cyc_a"]),
            e => panic!("{e}"),
        }
        match r.resolve(&["nope"]).unwrap_err() {
            e @ Error::NotFound { .. } => assert!(e.to_string().contains("\"nope\" not found")),
            e => panic!("{e}"),
        }
        // A modules.dep takes precedence over .modinfo.
        std::fs::write(
            dir.join("modules.dep"),
            "kernel/base.ko:\nkernel/net/mid.ko:\n",
        )
        .unwrap();
        let r = Resolver::open(&dir).unwrap();
        assert_eq!(r.dep_source(), DepSource::ModulesDep);
        let names: Vec<_> = r
            .resolve(&["mid"])
            .unwrap()
            .modules
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["mid"]);
        std::fs::write(dir.join("modules.dep"), "garbage line\n").unwrap();
        assert!(matches!(
            Resolver::open(&dir).unwrap_err(),
            Error::BadModulesDep { line: 1, .. }
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn real_virtio_net_resolves_to_failover_net_failover_virtio_net() {
        let Some(k) =
            crate::testenv::kernel("real_virtio_net_resolves_to_failover_net_failover_virtio_net")
        else {
            return;
        };
        let r = Resolver::open(&k.modules_dir).unwrap();
        let res = r.resolve(&["virtio-net"]).unwrap();
        let names: Vec<_> = res.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["failover", "net_failover", "virtio_net"]);
        let dep = write_modules_dep(&res.modules);
        assert!(
            dep.contains(
                "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko\n"
            ),
            "{dep}"
        );
        // What `build` puts in by default.
        let res = r.resolve(&["virtio_net", "virtio_blk"]).unwrap();
        assert!(res.modules.iter().any(|m| m.name == "virtio_blk"));
    }
}

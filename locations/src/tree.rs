//! Install tree detection: which kernel, initrds and command line a
//! distribution tree boots on s390x.

use std::collections::BTreeMap;
use std::fmt;

use crate::location::{Location, Source};
use crate::s390::{self, InsError};
use crate::treeinfo::{Checksum, ChecksumMismatch, Treeinfo, TreeinfoError};

/// Why a file of the tree could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// It does not exist: detection tries the next candidate.
    NotFound,
    /// Anything else (the reason, one line): detection stops, except
    /// for `.treeinfo`, which some mirrors refuse to serve (dot files),
    /// where it goes on with `treeinfo`.
    Other(String),
}

/// The files of a tree, relative to its root (`images/kernel.img`).
pub trait Files {
    /// The whole of a small file (a treeinfo, parm or `.ins` file), at
    /// most `max` bytes (a larger one is an error).
    fn read(&mut self, path: &str, max: u64) -> Result<Vec<u8>, FileError>;
    /// Whether a file exists, without reading it all (a kernel, an initrd).
    fn exists(&mut self, path: &str) -> Result<bool, FileError>;
}

/// The largest treeinfo, parm or `.ins` file detection reads.
pub const SMALL_FILE_MAX: u64 = 1 << 20;

/// A distribution family: what the installer is told about its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Family {
    /// Fedora, RHEL, CentOS Stream and rebuilds (anaconda).
    RedHat,
    /// SUSE Linux Enterprise, openSUSE (linuxrc).
    Suse,
    /// Debian (debian-installer).
    Debian,
    /// Ubuntu (debian-installer on older releases, subiquity on newer).
    Ubuntu,
    /// Not known.
    Unknown,
}

impl Family {
    /// The lowercase name (`redhat`, `suse`, `debian`, `ubuntu`, `unknown`).
    pub fn name(self) -> &'static str {
        match self {
            Family::RedHat => "redhat",
            Family::Suse => "suse",
            Family::Debian => "debian",
            Family::Ubuntu => "ubuntu",
            Family::Unknown => "unknown",
        }
    }

    /// The family a product name belongs to (`[release] name`/`short` or
    /// `[general] family` of a treeinfo).
    pub fn from_product(name: &str) -> Family {
        let n = name.to_ascii_lowercase();
        let any = |words: &[&str]| words.iter().any(|w| n.contains(w));
        if any(&["suse", "sles", "sled"]) {
            Family::Suse
        } else if any(&["ubuntu"]) {
            Family::Ubuntu
        } else if any(&["debian"]) {
            Family::Debian
        } else if any(&[
            "fedora",
            "red hat",
            "redhat",
            "rhel",
            "centos",
            "alma",
            "rocky",
            "oracle",
            "scientific",
            "circle",
            "navy",
            "eurolinux",
        ]) {
            Family::RedHat
        } else {
            Family::Unknown
        }
    }

    /// The argument that tells this family's installer where the rest of
    /// the tree is, for a tree at `location`, as virt-install adds it:
    /// `inst.repo=` for the Red Hat family (anaconda), `install=` for SUSE
    /// (linuxrc). Debian and Ubuntu get none: their installer reads
    /// nothing more from the tree (debian-installer asks for a mirror, or
    /// takes `mirror/http/hostname=`/`mirror/http/directory=` from a
    /// preseed; subiquity uses its own ISO or an autoinstall source).
    ///
    /// Only locations the installed guest can reach itself get one:
    /// `http(s)://`, `ftp://` and NFS trees (for Red Hat also an ISO on NFS,
    /// which anaconda mounts); not TFTP, local paths or ISOs over HTTP.
    pub fn installer_arg(self, location: &Location) -> Option<String> {
        let key = match self {
            Family::RedHat => "inst.repo",
            Family::Suse => "install",
            _ => return None,
        };
        let image = !location.inside.is_empty();
        let value = match &location.source {
            Source::Http { .. } | Source::Ftp { .. } if !image => {
                let s = location.to_string();
                match &location.source {
                    // Keep the real password, not Display's ***.
                    Source::Ftp {
                        user: Some(u),
                        password: Some(p),
                        host,
                        port,
                        path,
                    } => {
                        let h = match host.contains(':') {
                            true => format!("[{host}]"),
                            false => host.clone(),
                        };
                        let port = match *port {
                            21 => String::new(),
                            p => format!(":{p}"),
                        };
                        format!("ftp://{u}:{p}@{h}{port}/{path}")
                    }
                    _ => s,
                }
            }
            Source::Nfs { host, port, path } => {
                let inner_image = location.inside.len() > 1
                    || location.inside.first().is_some_and(|p| !p.is_empty());
                if inner_image || (image && self != Family::RedHat) {
                    return None;
                }
                let h = match host.contains(':') {
                    true => format!("[{host}]"),
                    false => host.clone(),
                };
                match (self, port) {
                    (Family::RedHat, None) => format!("nfs:{h}:{path}"),
                    (Family::RedHat, Some(p)) => format!("nfs:port={p}:{h}:{path}"),
                    (_, None) => format!("nfs://{h}{path}"),
                    (_, Some(p)) => format!("nfs://{h}:{p}{path}"),
                }
            }
            _ => return None,
        };
        Some(format!("{key}={}", value.trim_end_matches('/')))
    }
}

/// How a tree was recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoundBy {
    /// Its treeinfo (`.treeinfo` or `treeinfo`).
    Treeinfo(String),
    /// A known layout, by the layout's name (`fedora`, `suse`...).
    Layout(&'static str),
    /// An `.ins` file.
    Ins(String),
}

impl fmt::Display for FoundBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FoundBy::Treeinfo(p) | FoundBy::Ins(p) => f.write_str(p),
            FoundBy::Layout(l) => write!(f, "layout {l}"),
        }
    }
}

/// A detected tree: paths relative to its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// The distribution family.
    pub family: Family,
    /// How it was found.
    pub found_by: FoundBy,
    /// Product name and version, when the treeinfo says.
    pub name: Option<String>,
    /// Version, when the treeinfo says.
    pub version: Option<String>,
    /// The kernel.
    pub kernel: String,
    /// The initrds, in load order.
    pub initrds: Vec<String>,
    /// The parm file.
    pub parm: Option<String>,
    /// The parm file's command line ([`s390::parm_cmdline`]).
    pub cmdline: String,
    /// Checksums the treeinfo lists for the kernel, initrds and parm file:
    /// the parm file's is verified during detection; the kernel's and
    /// initrds' are for the caller to check as it downloads them.
    pub checksums: BTreeMap<String, Checksum>,
}

impl Tree {
    /// The kernel command line for the tree at `location`: the parm
    /// file's, then the installer's source argument
    /// ([`Family::installer_arg`]) unless the parm file has it already.
    pub fn command_line(&self, location: &Location) -> String {
        let mut c = self.cmdline.clone();
        if let Some(arg) = self.family.installer_arg(location) {
            let key = arg.split('=').next().unwrap_or_default();
            let has = c
                .split_whitespace()
                .any(|w| w.split('=').next() == Some(key));
            if !has {
                if !c.is_empty() {
                    c.push(' ');
                }
                c.push_str(&arg);
            }
        }
        c
    }
}

/// Why no tree was found, or why the one found is refused. Paths are
/// relative to the tree; the caller names the location once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DetectError {
    /// The treeinfo does not parse.
    Treeinfo {
        /// Which file.
        file: String,
        /// Why.
        error: TreeinfoError,
    },
    /// The treeinfo lists no kernel for the platform.
    NoImages {
        /// Which file.
        file: String,
        /// The platform looked for.
        platform: String,
        /// The platforms it has images for.
        has: Vec<String>,
    },
    /// A file does not match the treeinfo's checksum.
    Checksum {
        /// Which file.
        file: String,
        /// Why.
        why: ChecksumMismatch,
    },
    /// An `.ins` file does not parse.
    Ins {
        /// Which file.
        file: String,
        /// Why.
        error: InsError,
    },
    /// A file the description names is missing.
    Missing {
        /// The description (treeinfo or `.ins`).
        by: String,
        /// The missing file.
        file: String,
    },
    /// Reading a file failed.
    Read {
        /// Which file.
        file: String,
        /// Why.
        why: String,
    },
    /// Nothing recognisable.
    NotFound {
        /// Every file looked for, in order.
        tried: Vec<String>,
    },
}

impl fmt::Display for DetectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DetectError::Treeinfo { file, error } => write!(f, "{file}: {error}"),
            DetectError::NoImages {
                file,
                platform,
                has,
            } => write!(
                f,
                "{file}: no [images-{platform}] kernel (images for: {})",
                match has.is_empty() {
                    true => "none".to_string(),
                    false => has.join(", "),
                }
            ),
            DetectError::Checksum { file, why } => write!(f, "{file}: refused: {why}"),
            DetectError::Ins { file, error } => write!(f, "{file}: {error}"),
            DetectError::Missing { by, file } => write!(f, "{file}: not found (named by {by})"),
            DetectError::Read { file, why } => write!(f, "{file}: {why}"),
            DetectError::NotFound { tried } => write!(
                f,
                "no install tree found: no .treeinfo, no known s390x layout, no .ins file ({} files tried)",
                tried.len()
            ),
        }
    }
}

impl std::error::Error for DetectError {}

/// A known s390x layout: kernel, initrd and parm file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Its name in [`FoundBy::Layout`].
    pub name: &'static str,
    /// Whose.
    pub family: Family,
    /// Paths relative to the tree.
    pub kernel: &'static str,
    /// The initrd.
    pub initrd: &'static str,
    /// The parm file.
    pub parm: &'static str,
}

const fn layout(
    name: &'static str,
    family: Family,
    kernel: &'static str,
    initrd: &'static str,
    parm: &'static str,
) -> Layout {
    Layout {
        name,
        family,
        kernel,
        initrd,
        parm,
    }
}

/// The known s390x layouts, in the order they are tried: Fedora/RHEL/CentOS
/// (lorax), SUSE, the Ubuntu ISO, then debian-installer's `images/generic/`
/// for Debian and Ubuntu, seen from the directory itself, `images/`, the
/// `current/` directory and `installer-s390x/`.
pub const LAYOUTS: &[Layout] = &[
    layout(
        "fedora",
        Family::RedHat,
        "images/kernel.img",
        "images/initrd.img",
        "images/generic.prm",
    ),
    layout(
        "suse",
        Family::Suse,
        "boot/s390x/linux",
        "boot/s390x/initrd",
        "boot/s390x/parmfile",
    ),
    layout(
        "ubuntu-iso",
        Family::Ubuntu,
        "boot/kernel.ubuntu",
        "boot/initrd.ubuntu",
        "boot/parmfile.ubuntu",
    ),
    layout(
        "debian",
        Family::Debian,
        "current/images/generic/kernel.debian",
        "current/images/generic/initrd.debian",
        "current/images/generic/parmfile.debian",
    ),
    layout(
        "debian",
        Family::Debian,
        "images/generic/kernel.debian",
        "images/generic/initrd.debian",
        "images/generic/parmfile.debian",
    ),
    layout(
        "debian",
        Family::Debian,
        "generic/kernel.debian",
        "generic/initrd.debian",
        "generic/parmfile.debian",
    ),
    layout(
        "debian",
        Family::Debian,
        "kernel.debian",
        "initrd.debian",
        "parmfile.debian",
    ),
    layout(
        "ubuntu",
        Family::Ubuntu,
        "current/images/generic/kernel.ubuntu",
        "current/images/generic/initrd.ubuntu",
        "current/images/generic/parmfile.ubuntu",
    ),
    layout(
        "ubuntu",
        Family::Ubuntu,
        "images/generic/kernel.ubuntu",
        "images/generic/initrd.ubuntu",
        "images/generic/parmfile.ubuntu",
    ),
    layout(
        "ubuntu",
        Family::Ubuntu,
        "generic/kernel.ubuntu",
        "generic/initrd.ubuntu",
        "generic/parmfile.ubuntu",
    ),
    layout(
        "ubuntu",
        Family::Ubuntu,
        "kernel.ubuntu",
        "initrd.ubuntu",
        "parmfile.ubuntu",
    ),
];

/// The `.ins` files tried after the layouts, with their family.
pub const INS_FILES: &[(&str, Family)] = &[
    ("generic.ins", Family::RedHat),
    ("ubuntu.ins", Family::Ubuntu),
    ("boot/s390x/suse.ins", Family::Suse),
    ("suse.ins", Family::Suse),
];

/// The treeinfo names, in virt-install's order (some mirrors do not serve
/// dot files).
pub const TREEINFO_FILES: &[&str] = &[".treeinfo", "treeinfo"];

/// What to detect.
#[derive(Debug, Clone)]
pub struct DetectOptions {
    /// The treeinfo platform (`[images-PLATFORM]`), `s390x`.
    pub platform: String,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            platform: "s390x".into(),
        }
    }
}

/// Find the tree in `files`: its treeinfo (`.treeinfo`, then `treeinfo`),
/// else the first of [`LAYOUTS`] whose parm file, kernel and initrd exist,
/// else the first of [`INS_FILES`] whose kernel exists. The parm file is
/// read and, when the treeinfo lists a checksum for it, verified.
pub fn detect(files: &mut dyn Files, opts: &DetectOptions) -> Result<Tree, DetectError> {
    let mut tried = Vec::new();
    for name in TREEINFO_FILES {
        tried.push(name.to_string());
        match files.read(name, SMALL_FILE_MAX) {
            Ok(bytes) => return from_treeinfo(files, name, &bytes, opts),
            Err(FileError::NotFound) => {}
            Err(FileError::Other(_)) if *name == ".treeinfo" => {}
            Err(FileError::Other(why)) => {
                return Err(DetectError::Read {
                    file: name.to_string(),
                    why,
                })
            }
        }
    }
    for l in LAYOUTS {
        tried.push(l.parm.to_string());
        let parm = match read_opt(files, l.parm)? {
            Some(p) => p,
            None => continue,
        };
        if !exists(files, l.kernel)? || !exists(files, l.initrd)? {
            continue;
        }
        return Ok(Tree {
            family: l.family,
            found_by: FoundBy::Layout(l.name),
            name: None,
            version: None,
            kernel: l.kernel.into(),
            initrds: vec![l.initrd.into()],
            parm: Some(l.parm.into()),
            cmdline: s390::parm_cmdline(&parm),
            checksums: BTreeMap::new(),
        });
    }
    for (ins, family) in INS_FILES {
        tried.push(ins.to_string());
        let bytes = match read_opt(files, ins)? {
            Some(b) => b,
            None => continue,
        };
        let bad = |error| DetectError::Ins {
            file: ins.to_string(),
            error,
        };
        let boot = s390::parse_ins(&bytes)
            .and_then(|l| s390::ins_boot(&l))
            .map_err(bad)?;
        let dir = match ins.rfind('/') {
            Some(i) => &ins[..=i],
            None => "",
        };
        let rel = |p: &str| format!("{dir}{p}");
        let kernel = rel(&boot.kernel);
        if !exists(files, &kernel)? {
            return Err(DetectError::Missing {
                by: ins.to_string(),
                file: kernel,
            });
        }
        let parm = boot.parm.as_deref().map(rel);
        let cmdline = match &parm {
            Some(p) => s390::parm_cmdline(&read_named(files, p, ins)?),
            None => String::new(),
        };
        return Ok(Tree {
            family: *family,
            found_by: FoundBy::Ins(ins.to_string()),
            name: None,
            version: None,
            kernel,
            initrds: boot.initrds.iter().map(|p| rel(p)).collect(),
            parm,
            cmdline,
            checksums: BTreeMap::new(),
        });
    }
    Err(DetectError::NotFound { tried })
}

fn read_opt(files: &mut dyn Files, path: &str) -> Result<Option<Vec<u8>>, DetectError> {
    match files.read(path, SMALL_FILE_MAX) {
        Ok(b) => Ok(Some(b)),
        Err(FileError::NotFound) => Ok(None),
        Err(FileError::Other(why)) => Err(DetectError::Read {
            file: path.into(),
            why,
        }),
    }
}

/// A file a description names: missing is an error.
fn read_named(files: &mut dyn Files, path: &str, by: &str) -> Result<Vec<u8>, DetectError> {
    read_opt(files, path)?.ok_or_else(|| DetectError::Missing {
        by: by.into(),
        file: path.into(),
    })
}

fn exists(files: &mut dyn Files, path: &str) -> Result<bool, DetectError> {
    files.exists(path).map_err(|e| match e {
        FileError::NotFound => DetectError::Missing {
            by: "detection".into(),
            file: path.into(),
        },
        FileError::Other(why) => DetectError::Read {
            file: path.into(),
            why,
        },
    })
}

fn from_treeinfo(
    files: &mut dyn Files,
    name: &str,
    bytes: &[u8],
    opts: &DetectOptions,
) -> Result<Tree, DetectError> {
    let ti = Treeinfo::parse(bytes).map_err(|error| DetectError::Treeinfo {
        file: name.into(),
        error,
    })?;
    let images = ti.images.get(&opts.platform);
    let Some(kernel) = images.and_then(|m| m.get("kernel")) else {
        return Err(DetectError::NoImages {
            file: name.into(),
            platform: opts.platform.clone(),
            has: ti.images.keys().cloned().collect(),
        });
    };
    let images = images.cloned().unwrap_or_default();
    let initrds: Vec<String> = images.get("initrd").into_iter().cloned().collect();
    // lorax names the parm file generic.prm; fall back to the layout's.
    let parm = images.get("generic.prm").cloned().or_else(|| {
        ti.checksums
            .contains_key("images/generic.prm")
            .then(|| "images/generic.prm".into())
    });
    let family = ti
        .name
        .iter()
        .chain(ti.short.iter())
        .map(|n| Family::from_product(n))
        .find(|f| *f != Family::Unknown)
        .unwrap_or(Family::Unknown);
    let mut checksums = BTreeMap::new();
    for p in std::iter::once(kernel).chain(&initrds).chain(parm.iter()) {
        if let Some(c) = ti.checksums.get(p) {
            checksums.insert(p.clone(), c.clone());
        }
    }
    if !exists(files, kernel)? {
        return Err(DetectError::Missing {
            by: name.into(),
            file: kernel.clone(),
        });
    }
    let cmdline = match &parm {
        Some(p) => {
            let b = read_named(files, p, name)?;
            if let Some(c) = checksums.get(p) {
                c.check(&b).map_err(|why| DetectError::Checksum {
                    file: p.clone(),
                    why,
                })?;
            }
            s390::parm_cmdline(&b)
        }
        None => String::new(),
    };
    Ok(Tree {
        family,
        found_by: FoundBy::Treeinfo(name.into()),
        name: ti.name.clone(),
        version: ti.version.clone(),
        kernel: kernel.clone(),
        initrds,
        parm,
        cmdline,
        checksums,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    fn loc(s: &str) -> Location {
        Location::parse(s).unwrap()
    }

    #[test]
    fn families() {
        assert_eq!(Family::from_product("Fedora"), Family::RedHat);
        assert_eq!(
            Family::from_product("Red Hat Enterprise Linux"),
            Family::RedHat
        );
        assert_eq!(Family::from_product("CentOS Stream"), Family::RedHat);
        assert_eq!(Family::from_product("openSUSE Leap"), Family::Suse);
        assert_eq!(Family::from_product("Gentoo"), Family::Unknown);
    }

    /// virt-install's source arguments, and none where the guest could not
    /// reach the tree.
    #[test]
    fn installer_arguments() {
        let r = Family::RedHat;
        assert_eq!(
            r.installer_arg(&loc("http://h/fedora/s390x/os/")),
            Some("inst.repo=http://h/fedora/s390x/os".into())
        );
        assert_eq!(
            r.installer_arg(&loc("nfs:10.0.0.1:/srv/f")),
            Some("inst.repo=nfs:10.0.0.1:/srv/f".into())
        );
        assert_eq!(
            r.installer_arg(&loc("nfs+iso:10.0.0.1:/srv/F.iso")),
            Some("inst.repo=nfs:10.0.0.1:/srv/F.iso".into())
        );
        assert_eq!(
            r.installer_arg(&loc("ftp://u:p@h/pub/f")),
            Some("inst.repo=ftp://u:p@h/pub/f".into())
        );
        assert_eq!(r.installer_arg(&loc("tftp://h/f")), None);
        assert_eq!(r.installer_arg(&loc("/srv/f")), None);
        assert_eq!(r.installer_arg(&loc("http://h/F.iso").into_root()), None);
        let s = Family::Suse;
        assert_eq!(
            s.installer_arg(&loc("http://h/leap")),
            Some("install=http://h/leap".into())
        );
        assert_eq!(
            s.installer_arg(&loc("nfs://h/srv/leap")),
            Some("install=nfs://h/srv/leap".into())
        );
        assert_eq!(s.installer_arg(&loc("nfs+iso:h:/srv/L.iso")), None);
        assert_eq!(Family::Debian.installer_arg(&loc("http://h/d")), None);
        assert_eq!(Family::Ubuntu.installer_arg(&loc("http://h/d")), None);
    }
}

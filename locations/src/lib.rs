//! Boot locations and install trees: the one grammar for everything
//! pxeinit reads, and what a distribution tree boots on s390x.
//!
//! The crate does no I/O. [`Location::parse`] says what a string names;
//! [`join`] is xenpvnetboot's rule for combining a location with a file;
//! [`detect`] finds a tree's kernel, initrds and command line through the
//! [`Files`] trait, which pxeinit implements over its downloader (TFTP,
//! HTTP(S), FTP, local files) and the tests over a directory or a map.
//!
//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use locations::{detect, DetectOptions, Family, FileError, Files, Location};
//!
//! struct Map(HashMap<&'static str, &'static [u8]>);
//! impl Files for Map {
//!     fn read(&mut self, path: &str, _max: u64) -> Result<Vec<u8>, FileError> {
//!         self.0.get(path).map(|b| b.to_vec()).ok_or(FileError::NotFound)
//!     }
//!     fn exists(&mut self, path: &str) -> Result<bool, FileError> {
//!         Ok(self.0.contains_key(path))
//!     }
//! }
//!
//! let mut suse = Map(HashMap::from([
//!     ("boot/s390x/linux", &b"kernel"[..]),
//!     ("boot/s390x/initrd", b"initrd"),
//!     ("boot/s390x/parmfile", b"linuxrcstderr=/dev/console\n"),
//! ]));
//! let tree = detect(&mut suse, &DetectOptions::default())?;
//! assert_eq!(tree.family, Family::Suse);
//! assert_eq!(tree.kernel, "boot/s390x/linux");
//! let at = Location::parse("http://10.0.0.1/leap/15.6")?;
//! assert_eq!(
//!     tree.command_line(&at),
//!     "linuxrcstderr=/dev/console install=http://10.0.0.1/leap/15.6"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Grammar
//!
//! Exactly xenpvnetboot's list (its usage text), plus RFC 2224's `nfs://`:
//!
//! | form | [`Source`] |
//! |---|---|
//! | `http://host[:port]/path`, `https://...` | `Http` (the URL as written) |
//! | `ftp://[user[:password]@]host[:port]/path` | `Ftp` (RFC 1738: user, password and path percent-decoded; anonymous without a user) |
//! | `file:///path` (or `file://localhost/path`) | `Local` |
//! | `tftp://host[:port]/path` | `Tftp` |
//! | `nfs:host:/path` | `Nfs` |
//! | `nfs://host[:port]/path` | `Nfs` (absolute path `/path`) |
//! | `nfs+iso:host:/path/file.iso`, `...filesystem.img` | `Nfs`, the file opened as an image |
//! | `/path`, `relative/path` | `Local`: a directory, a file, an image or a block device |
//!
//! Hosts are names, IPv4 addresses or bracketed IPv6 addresses. Any other
//! `SCHEME://` (and `nfs`-like `SCHEME:` forms) is
//! [`LocationErrorKind::UnknownScheme`]; a string with a colon that is no
//! scheme (`images/a:b`, PXELINUX's `host::file`) is a path.
//!
//! **Paths into images.** A path component ending in `.iso` or `.img` (any
//! case) that has more path after it is opened as an image, and the rest
//! of the path is read inside it: `http://h/Fedora-s390x.iso/images/kernel.img`
//! reads `images/kernel.img` from the ISO fetched piecewise over HTTP;
//! images nest (`a.iso/disk.img/boot/vmlinuz`). For a local path,
//! `/dev/NAME` followed by more path is a block device opened the same way.
//! A trailing image component names the file itself (so an ISO can be
//! downloaded); used as the root of a tree it is opened
//! ([`Location::into_root`]), and a caller that finds a local path to be a
//! block device or an image file of another name does the same with
//! [`Location::open_as_image`], as xenpvnetboot mounts "an existing
//! non-directory".
//!
//! **Joining** ([`join`]) is Python's `os.path.join`, as xenpvnetboot does
//! it: an empty location leaves the file as is, a file starting with `/`
//! replaces the location, else one `/` goes between them.
//!
//! # Tree detection
//!
//! [`detect`] tries, in order (virt-install's approach, with the s390x
//! layouts the distributions publish):
//!
//! 1. `.treeinfo`, then `treeinfo` ([`Treeinfo`], productmd's INI):
//!    `[images-s390x]` `kernel` and `initrd`, the parm file `generic.prm`;
//!    the product name gives the [`Family`]. Every file `[checksums]` lists
//!    is checked: the parm file here, the kernel and initrds by the caller
//!    as it downloads them ([`Tree::checksums`], [`Checksum`]).
//! 2. the layouts of [`LAYOUTS`]: Fedora/RHEL/CentOS `images/kernel.img`,
//!    `images/initrd.img`, `images/generic.prm`; SUSE `boot/s390x/linux`,
//!    `initrd`, `parmfile`; the Ubuntu ISO `boot/kernel.ubuntu`,
//!    `initrd.ubuntu`, `parmfile.ubuntu`; debian-installer's
//!    `images/generic/kernel.debian`, `initrd.debian`, `parmfile.debian`
//!    (and the `.ubuntu` names) seen from several directories of a mirror;
//! 3. the `.ins` files of [`INS_FILES`] ([`s390::parse_ins`]: `FILE
//!    ADDRESS` lines, the kernel at 0, the parm file at 0x10480).
//!
//! The parm file's lines are joined without spaces
//! ([`s390::parm_cmdline`]); [`Tree::command_line`] adds the installer's
//! source argument ([`Family::installer_arg`]): `inst.repo=` for the Red
//! Hat family, `install=` for SUSE, nothing for Debian and Ubuntu.
//!
//! xenpvnetboot's own search list and output formats are in [`xen`].
//!
//! # Images
//!
//! [`iso9660`] reads ISO 9660 images (Rock Ridge and Joliet names) with
//! random access over a [`iso9660::ReadAt`]: the volume descriptors, the
//! directory extents on the path, then only the ranges of the files
//! wanted. [`image`] opens a path inside an image of either ISO 9660 or
//! ext2/3/4 (the `ext4-view` crate), told apart by their magic numbers.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod image;
pub mod iso9660;
mod location;
pub mod s390;
mod tree;
mod treeinfo;
pub mod xen;

pub use location::{
    basename, is_image_name, join, Location, LocationError, LocationErrorKind, Source,
};
pub use tree::{
    detect, DetectError, DetectOptions, Family, FileError, Files, FoundBy, Layout, Tree, INS_FILES,
    LAYOUTS, SMALL_FILE_MAX, TREEINFO_FILES,
};
pub use treeinfo::{
    is_safe_path, parse_ini, sha256_hex, Checksum, ChecksumMismatch, Ini, Treeinfo, TreeinfoError,
    TreeinfoErrorKind,
};

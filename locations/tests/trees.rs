//! Tree detection over the fixtures of `testdata/` (laid out as the
//! distributions publish them; see `testdata/README.md`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use locations::{
    detect, DetectError, DetectOptions, Family, FileError, Files, FoundBy, Location, Tree,
};

/// A tree directory, with files replaced or removed for a test, and the
/// paths asked for, in order.
struct Dir {
    root: PathBuf,
    over: HashMap<String, Option<Vec<u8>>>,
    asked: Vec<String>,
}

impl Dir {
    fn new(name: &str) -> Dir {
        Dir {
            root: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/testdata")
                .join(name),
            over: HashMap::new(),
            asked: Vec::new(),
        }
    }

    fn get(&mut self, path: &str) -> Option<Vec<u8>> {
        self.asked.push(path.to_string());
        match self.over.get(path) {
            Some(v) => v.clone(),
            None => std::fs::read(self.root.join(path)).ok(),
        }
    }
}

impl Files for Dir {
    fn read(&mut self, path: &str, max: u64) -> Result<Vec<u8>, FileError> {
        let b = self.get(path).ok_or(FileError::NotFound)?;
        match b.len() as u64 > max {
            true => Err(FileError::Other("too large".into())),
            false => Ok(b),
        }
    }
    fn exists(&mut self, path: &str) -> Result<bool, FileError> {
        Ok(self.get(path).is_some())
    }
}

fn tree(dir: &mut Dir) -> Tree {
    detect(dir, &DetectOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", dir.root.display()))
}

#[test]
fn fedora_by_treeinfo() {
    let mut d = Dir::new("fedora-39-s390x");
    let t = tree(&mut d);
    assert_eq!(t.family, Family::RedHat);
    assert_eq!(t.found_by, FoundBy::Treeinfo(".treeinfo".into()));
    assert_eq!(
        (t.name.as_deref(), t.version.as_deref()),
        (Some("Fedora"), Some("39"))
    );
    assert_eq!(t.kernel, "images/kernel.img");
    assert_eq!(t.initrds, ["images/initrd.img"]);
    assert_eq!(t.parm.as_deref(), Some("images/generic.prm"));
    assert_eq!(t.cmdline, "ro ramdisk_size=40000 cio_ignore=all,!condev");
    // The kernel's and initrd's checksums are handed to the caller.
    let keys: Vec<&str> = t.checksums.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "images/generic.prm",
            "images/initrd.img",
            "images/kernel.img"
        ]
    );
    let k = std::fs::read(d.root.join("images/kernel.img")).unwrap();
    assert_eq!(t.checksums["images/kernel.img"].check(&k), Ok(()));
    assert_eq!(
        t.command_line(&Location::parse("http://10.0.0.1/fedora/39/s390x/os/").unwrap()),
        "ro ramdisk_size=40000 cio_ignore=all,!condev inst.repo=http://10.0.0.1/fedora/39/s390x/os"
    );
    assert_eq!(
        d.asked,
        [".treeinfo", "images/kernel.img", "images/generic.prm"]
    );
}

/// A mirror that does not serve dot files: `treeinfo`.
#[test]
fn fedora_by_treeinfo_without_dot() {
    let mut d = Dir::new("fedora-39-s390x");
    let ti = std::fs::read(d.root.join(".treeinfo")).unwrap();
    d.over.insert(".treeinfo".into(), None);
    d.over.insert("treeinfo".into(), Some(ti));
    assert_eq!(tree(&mut d).found_by, FoundBy::Treeinfo("treeinfo".into()));
}

/// A parm file that does not match `[checksums]` refuses the tree.
#[test]
fn fedora_tampered_parm_file_is_refused() {
    let mut d = Dir::new("fedora-39-s390x");
    d.over.insert(
        "images/generic.prm".into(),
        Some(b"ro init=/bin/sh\n".to_vec()),
    );
    let e = detect(&mut d, &DetectOptions::default()).unwrap_err();
    assert!(
        matches!(&e, DetectError::Checksum { file, .. } if file == "images/generic.prm"),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("images/generic.prm: refused: checksum mismatch: .treeinfo says sha256:"),
        "{e}"
    );
}

/// Without its treeinfo, the Fedora tree is still the lorax layout.
#[test]
fn fedora_by_layout() {
    let mut d = Dir::new("fedora-39-s390x");
    d.over.insert(".treeinfo".into(), None);
    let t = tree(&mut d);
    assert_eq!(
        (t.family, t.found_by.clone()),
        (Family::RedHat, FoundBy::Layout("fedora"))
    );
    assert!(t.checksums.is_empty());
}

#[test]
fn treeinfo_for_another_platform() {
    let mut d = Dir::new("fedora-39-s390x");
    d.over.insert(
        ".treeinfo".into(),
        Some(b"[header]\ntype = productmd.treeinfo\nversion = 1.2\n[images-x86_64]\nkernel = images/pxeboot/vmlinuz\n".to_vec()),
    );
    let e = detect(&mut d, &DetectOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        ".treeinfo: no [images-s390x] kernel (images for: x86_64)"
    );
    // An HTML error page served as .treeinfo.
    d.over.insert(
        ".treeinfo".into(),
        Some(b"<html><body>Not Found</body></html>\n".to_vec()),
    );
    let e = detect(&mut d, &DetectOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        ".treeinfo: line 1: not an INI line (no [section], key = value or comment)"
    );
}

#[test]
fn debian_installer_directory() {
    let mut d = Dir::new("debian-12-installer-s390x");
    let t = tree(&mut d);
    assert_eq!(
        (t.family, t.found_by.clone()),
        (Family::Debian, FoundBy::Layout("debian"))
    );
    assert_eq!(t.kernel, "current/images/generic/kernel.debian");
    assert_eq!(t.initrds, ["current/images/generic/initrd.debian"]);
    assert_eq!(t.cmdline, "--- quiet");
    // Debian gets no installer argument.
    assert_eq!(
        t.command_line(
            &Location::parse("http://deb.example/debian/dists/bookworm/main/installer-s390x/")
                .unwrap()
        ),
        "--- quiet"
    );
    // The same tree seen from images/generic/ itself.
    let mut d = Dir::new("debian-12-installer-s390x/current/images/generic");
    assert_eq!(tree(&mut d).kernel, "kernel.debian");
}

#[test]
fn opensuse_leap() {
    let mut d = Dir::new("opensuse-leap-15.6-s390x");
    let t = tree(&mut d);
    assert_eq!(
        (t.family, t.found_by.clone()),
        (Family::Suse, FoundBy::Layout("suse"))
    );
    assert_eq!(
        (t.kernel.as_str(), t.initrds.as_slice(), t.parm.as_deref()),
        (
            "boot/s390x/linux",
            &["boot/s390x/initrd".to_string()][..],
            Some("boot/s390x/parmfile")
        )
    );
    assert_eq!(
        t.command_line(&Location::parse("nfs:10.0.0.1:/srv/leap").unwrap()),
        "linuxrcstderr=/dev/console install=nfs://10.0.0.1/srv/leap"
    );
    // Only suse.ins left to go by.
    d.over.insert("boot/s390x/parmfile".into(), None);
    d.over.insert(
        "boot/s390x/parmfile.renamed".into(),
        Some(b"x=1\n".to_vec()),
    );
    d.over.insert(
        "boot/s390x/suse.ins".into(),
        Some(b"linux 0x0\ninitrd 0x1000000\nparmfile.renamed 0x10480\n".to_vec()),
    );
    let t = tree(&mut d);
    assert_eq!(t.found_by, FoundBy::Ins("boot/s390x/suse.ins".into()));
    assert_eq!(
        (t.kernel.as_str(), t.cmdline.as_str()),
        ("boot/s390x/linux", "x=1")
    );
}

#[test]
fn ubuntu_iso_tree() {
    let mut d = Dir::new("ubuntu-22.04-iso");
    let t = tree(&mut d);
    assert_eq!(
        (t.family, t.found_by.clone()),
        (Family::Ubuntu, FoundBy::Layout("ubuntu-iso"))
    );
    assert_eq!(t.kernel, "boot/kernel.ubuntu");
    assert_eq!(t.cmdline, "quiet ---");
}

#[test]
fn ins_file_only() {
    let mut d = Dir::new("ins-only");
    let t = tree(&mut d);
    assert_eq!(t.found_by, FoundBy::Ins("generic.ins".into()));
    assert_eq!(
        (t.kernel.as_str(), t.initrds.as_slice(), t.cmdline.as_str()),
        (
            "boot/vmlinuz",
            &["boot/ramdisk.gz".to_string()][..],
            "root=/dev/ram0 ro"
        )
    );
    // An .ins file naming a kernel that is not there.
    d.over.insert("boot/vmlinuz".into(), None);
    let e = detect(&mut d, &DetectOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "boot/vmlinuz: not found (named by generic.ins)"
    );
}

#[test]
fn nothing_there() {
    let mut d = Dir::new("no-such-tree");
    let e = detect(&mut d, &DetectOptions::default()).unwrap_err();
    let DetectError::NotFound { tried } = &e else {
        panic!("{e}")
    };
    assert_eq!(
        tried.len(),
        2 + locations::LAYOUTS.len() + locations::INS_FILES.len()
    );
    assert_eq!(d.asked, *tried);
}

/// A transport failure stops detection with the file it was reading.
#[test]
fn read_errors_stop_detection() {
    struct Down;
    impl Files for Down {
        fn read(&mut self, _: &str, _: u64) -> Result<Vec<u8>, FileError> {
            Err(FileError::Other("connection refused".into()))
        }
        fn exists(&mut self, _: &str) -> Result<bool, FileError> {
            Err(FileError::Other("connection refused".into()))
        }
    }
    let e = detect(&mut Down, &DetectOptions::default()).unwrap_err();
    assert_eq!(e.to_string(), "treeinfo: connection refused");
}

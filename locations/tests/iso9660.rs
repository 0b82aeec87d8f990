//! The ISO 9660 reader over images made by `xorriso -as mkisofs` with
//! Rock Ridge and Joliet (`-R -J`), Joliet only (`-J`) and neither. The
//! images are kept packed in `testdata/iso/*.pack` (their non-zero
//! sectors); `PXEINIT_REGEN_ISO=1 cargo test -p locations --test iso9660
//! regenerate` makes them again with xorriso.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use locations::iso9660::{Iso, IsoError, Names, ReadAt, ReadError};
use locations::{detect, DetectOptions, Family, FileError, Files};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/iso")
}

/// The files of the source tree, as the images hold them.
fn source() -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    m.insert("boot/s390x/linux".into(), b"kernel\n".to_vec());
    m.insert("boot/s390x/initrd".into(), vec![0xA5; 5000]);
    m.insert(
        "boot/s390x/parmfile".into(),
        b"linuxrcstderr=/dev/console\n".to_vec(),
    );
    m.insert(
        "images/A Long File-Name.with.many.dots.txt".into(),
        b"long name\n".to_vec(),
    );
    m.insert("deep/a/b/c/d/e/f/g/file".into(), b"deep\n".to_vec());
    for i in 0..120 {
        m.insert(
            format!("many/entry-number-{i:03}"),
            format!("{i}\n").into_bytes(),
        );
    }
    m
}

const MAGIC: &[u8; 8] = b"ISOPACK1";

/// Non-zero sectors: MAGIC, u32 sector count, then (u32 sector, u16
/// length, bytes) with each sector's trailing zeros cut.
fn pack(iso: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&((iso.len() / 2048) as u32).to_le_bytes());
    for (i, s) in iso.chunks(2048).enumerate() {
        let len = s.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
        if len > 0 {
            out.extend_from_slice(&(i as u32).to_le_bytes());
            out.extend_from_slice(&(len as u16).to_le_bytes());
            out.extend_from_slice(&s[..len]);
        }
    }
    out
}

fn unpack(p: &[u8]) -> Vec<u8> {
    assert_eq!(&p[..8], MAGIC);
    let n = u32::from_le_bytes(p[8..12].try_into().unwrap()) as usize;
    let mut iso = vec![0u8; n * 2048];
    let mut i = 12;
    while i < p.len() {
        let s = u32::from_le_bytes(p[i..i + 4].try_into().unwrap()) as usize;
        let l = u16::from_le_bytes(p[i + 4..i + 6].try_into().unwrap()) as usize;
        iso[s * 2048..s * 2048 + l].copy_from_slice(&p[i + 6..i + 6 + l]);
        i += 6 + l;
    }
    iso
}

fn image(name: &str) -> Vec<u8> {
    let p = dir().join(format!("{name}.pack"));
    unpack(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

fn read(iso: &mut Iso<&[u8]>, path: &str) -> Result<Vec<u8>, IsoError> {
    let e = iso.lookup(path)?;
    let mut buf = vec![0u8; e.size as usize];
    iso.read_at(&e, 0, &mut buf)?;
    Ok(buf)
}

#[test]
fn regenerate() {
    if std::env::var_os("PXEINIT_REGEN_ISO").is_none() {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("locations-iso-{}", std::process::id()));
    let src = tmp.join("src");
    for (p, c) in source() {
        let f = src.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, c).unwrap();
    }
    for (name, flags) in [
        ("rrj", &["-R", "-J"][..]),
        ("joliet", &["-J", "--norock"]),
        ("plain", &["--norock"]),
    ] {
        let out = tmp.join(format!("{name}.iso"));
        let st = std::process::Command::new("xorriso")
            .args(["-as", "mkisofs", "-quiet"])
            .args(flags)
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .status()
            .expect("xorriso");
        assert!(st.success());
        let iso = std::fs::read(&out).unwrap();
        std::fs::write(dir().join(format!("{name}.pack")), pack(&iso)).unwrap();
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn rock_ridge_and_joliet() {
    let img = image("rrj");
    let mut iso = Iso::open(&img[..]).unwrap();
    assert_eq!(iso.names, Names::RockRidge);
    assert_eq!(iso.volume_size, img.len() as u64);
    for (p, c) in source() {
        assert_eq!(read(&mut iso, &p).unwrap(), c, "{p}");
    }
    // Rock Ridge names are exact.
    assert_eq!(
        read(&mut iso, "BOOT/S390X/LINUX").unwrap_err(),
        IsoError::NotFound("BOOT".into())
    );
    let root = iso.root();
    let names: Vec<String> = iso
        .list(&root)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["boot", "deep", "images", "many"]);
    let many = iso.lookup("many").unwrap();
    assert!(many.dir && many.size > 2048, "the directory spans sectors");
    assert_eq!(iso.list(&many).unwrap().len(), 120);
}

#[test]
fn joliet_only() {
    let img = image("joliet");
    let mut iso = Iso::open(&img[..]).unwrap();
    assert_eq!(iso.names, Names::Joliet);
    for (p, c) in source() {
        assert_eq!(read(&mut iso, &p).unwrap(), c, "{p}");
    }
    assert_eq!(read(&mut iso, "boot/S390X/Linux").unwrap(), b"kernel\n");
}

#[test]
fn plain_iso9660_names() {
    let img = image("plain");
    let mut iso = Iso::open(&img[..]).unwrap();
    assert_eq!(iso.names, Names::Iso9660);
    assert_eq!(read(&mut iso, "boot/s390x/linux").unwrap(), b"kernel\n");
    assert_eq!(
        read(&mut iso, "BOOT/S390X/PARMFILE").unwrap(),
        source()["boot/s390x/parmfile"]
    );
}

#[test]
fn errors() {
    let img = image("rrj");
    let mut iso = Iso::open(&img[..]).unwrap();
    assert_eq!(
        iso.lookup("boot/s390x/linux/x").unwrap_err(),
        IsoError::NotADirectory("boot/s390x/linux/x".into())
    );
    assert_eq!(
        iso.lookup("boot/nope").unwrap_err().to_string(),
        "boot/nope: not found in the image"
    );
    let mut bad = img.clone();
    bad[16 * 2048 + 1] = b'X';
    assert_eq!(Iso::open(&bad[..]).err(), Some(IsoError::NotIso));
    assert_eq!(Iso::open(&img[..1000]).err(), Some(IsoError::NotIso));
    // The root directory's extent pointed past the volume.
    let mut bad = img.clone();
    bad[16 * 2048 + 156 + 2..16 * 2048 + 156 + 6].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    assert!(matches!(Iso::open(&bad[..]), Err(IsoError::Corrupt(_))));
    // Every byte of the directory sectors garbled, one at a time: errors,
    // never a panic.
    let root = iso.root();
    for i in 0..root.size as usize {
        let mut bad = img.clone();
        bad[root.offset as usize + i] ^= 0xff;
        if let Ok(mut iso) = Iso::open(&bad[..]) {
            let _ = iso.lookup("boot/s390x/linux");
            let r = iso.root();
            let _ = iso.list(&r);
        }
    }
}

/// Tree detection inside an image, as pxeinit does it for an ISO location.
#[test]
fn detect_inside_an_image() {
    struct InIso<'a>(Iso<&'a [u8]>);
    impl Files for InIso<'_> {
        fn read(&mut self, path: &str, _max: u64) -> Result<Vec<u8>, FileError> {
            match read(&mut self.0, path) {
                Ok(b) => Ok(b),
                Err(IsoError::NotFound(_)) => Err(FileError::NotFound),
                Err(e) => Err(FileError::Other(e.to_string())),
            }
        }
        fn exists(&mut self, path: &str) -> Result<bool, FileError> {
            Ok(self.0.lookup(path).is_ok())
        }
    }
    let img = image("rrj");
    let mut f = InIso(Iso::open(&img[..]).unwrap());
    let t = detect(&mut f, &DetectOptions::default()).unwrap();
    assert_eq!(
        (t.family, t.kernel.as_str()),
        (Family::Suse, "boot/s390x/linux")
    );
}

/// Reads are counted: a lookup reads the descriptors and the directories
/// on its path, once each.
#[test]
fn lookups_read_little() {
    struct Counting<'a>(&'a [u8], u64);
    impl ReadAt for Counting<'_> {
        fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
            self.1 += buf.len() as u64;
            self.0.read_exact_at(offset, buf)
        }
    }
    let img = image("rrj");
    let mut iso = Iso::open(Counting(&img[..], 0)).unwrap();
    iso.lookup("boot/s390x/linux").unwrap();
    iso.lookup("boot/s390x/initrd").unwrap();
    let n = iso.into_inner().1;
    assert!(n <= 10 * 2048, "{n} bytes read");
}

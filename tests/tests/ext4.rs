//! Paths into ext2/3/4 images, read in user space: images made by
//! `mke2fs -d` (ext4 with extents and, after `e2fsck -D`, htree
//! directories; ext2 with 1 KiB blocks, so that a 3 MiB file needs double
//! indirect blocks), fetched byte-identical from a local file (also out
//! of an ISO stored on the file system) and over HTTP with Range requests
//! (nginx), a tree detected inside one, a missing file, and a corrupt
//! image refused in one line.

use std::path::Path;
use std::process::Command;

use pxeinit_tests::*;

struct Out {
    code: Option<i32>,
    json: serde_json::Value,
    stderr: String,
}

impl Out {
    fn last_line(&self) -> &str {
        self.stderr.lines().last().unwrap_or_default()
    }
}

fn run(cmd: &mut Command) -> Out {
    let o = cmd.env_remove("RUST_LOG").output().expect("pxeinit");
    Out {
        code: o.status.code(),
        json: serde_json::from_slice(&o.stdout).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `pxeinit fetch LOCATION -o OUT` on the host; the sha256 of OUT.
fn fetch_local(loc: &str, out: &Path) -> String {
    let o = run(Command::new(pxeinit_bin()).args(["fetch", loc, "-o", &out.to_string_lossy()]));
    assert_eq!(o.code, Some(0), "{loc}: {}", o.stderr);
    sha256_file(out)
}

#[test]
fn ext_images_read_in_user_space() {
    let Some(lab) = Lab::new(
        "ext_images_read_in_user_space",
        &["nginx", "mke2fs", "e2fsck", "losetup", "timeout", "xorriso"],
    ) else {
        return;
    };
    sh(&[
        "ip",
        "-n",
        &lab.cli_ns,
        "addr",
        "add",
        "192.168.77.50/24",
        "dev",
        CLIENT_IF,
    ]);
    // A SUSE-style tree, and a directory of 600 names (htree once indexed).
    let src = lab.dir.join("src");
    let put = |rel: &str, data: &[u8]| {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        sha256_file(&p)
    };
    let ksha = put("boot/s390x/linux", &pattern(1 << 20, 31));
    let isha = put("boot/s390x/initrd", &pattern(3 << 20, 32));
    put("boot/s390x/parmfile", b"linuxrcstderr=/dev/console\n");
    for i in 0..600 {
        put(&format!("many/file-{i:04}"), format!("{i}\n").as_bytes());
    }
    // An ISO on the file system (an image inside an image): the ISO
    // reader reads the file out of order (volume descriptors, directory
    // records, then the extent, behind 2 MiB of other files).
    let dvd = lab.dir.join("dvd");
    for (rel, data) in [
        ("a/filler", pattern(2 << 20, 33)),
        ("images/kernel.img", pattern(1 << 20, 34)),
    ] {
        let p = dvd.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
    }
    let dvd_ksha = sha256_file(&dvd.join("images/kernel.img"));
    std::fs::create_dir_all(src.join("media")).unwrap();
    make_iso(&dvd, &src.join("media/dvd.iso"));
    let root = lab.root();
    let ext4 = root.join("disk.img");
    let ext2 = root.join("old.img");
    let s = src.to_string_lossy();
    sh(&[
        "mke2fs",
        "-q",
        "-F",
        "-t",
        "ext4",
        "-d",
        &s,
        &ext4.to_string_lossy(),
        "32M",
    ]);
    // Index the directories (htree), as a file system in use has them.
    let _ = Command::new("e2fsck")
        .args(["-fyD", &ext4.to_string_lossy()])
        .output()
        .expect("e2fsck");
    sh(&[
        "mke2fs",
        "-q",
        "-F",
        "-t",
        "ext2",
        "-b",
        "1024",
        "-d",
        &s,
        &ext2.to_string_lossy(),
        "32M",
    ]);

    // Local images: byte-identical, ext4 and ext2; a name in the htree.
    for img in [&ext4, &ext2] {
        let d = img.display();
        let out = lab.dir.join("out");
        assert_eq!(fetch_local(&format!("{d}/boot/s390x/linux"), &out), ksha);
        assert_eq!(
            fetch_local(&format!("file://{d}/boot/s390x/initrd"), &out),
            isha
        );
        assert_eq!(
            fetch_local(&format!("{d}/many/file-0599"), &out),
            sha256_file(&src.join("many/file-0599"))
        );
        assert_eq!(
            fetch_local(&format!("{d}/media/dvd.iso/images/kernel.img"), &out),
            dvd_ksha
        );
        let o = run(Command::new(pxeinit_bin()).args(["tree", &img.to_string_lossy()]));
        assert_eq!(o.code, Some(0), "{}", o.stderr);
        assert_eq!(o.json["family"], "suse");
        let o = run(Command::new(pxeinit_bin()).args(["fetch", &format!("{d}/boot/nope")]));
        assert_eq!(o.code, Some(2));
        assert_eq!(
            o.last_line(),
            format!("pxeinit: file://{d}/boot/nope: file not found")
        );
    }

    // A block device: the ext4 image on a read-only loop device, read as
    // /dev/loopN/PATH (the kernel's ext4 is not involved: nothing is
    // mounted).
    let dev = Command::new("losetup")
        .args(["--find", "--show", "--read-only", &ext4.to_string_lossy()])
        .output()
        .expect("losetup");
    if dev.status.success() {
        let dev = String::from_utf8_lossy(&dev.stdout).trim().to_string();
        let out = lab.dir.join("out.dev");
        let got = run(Command::new(pxeinit_bin()).args([
            "fetch",
            &format!("{dev}/boot/s390x/initrd"),
            "-o",
            &out.to_string_lossy(),
        ]));
        let _ = Command::new("losetup").args(["-d", &dev]).status();
        assert_eq!(got.code, Some(0), "{dev}: {}", got.stderr);
        assert_eq!(sha256_file(&out), isha);
    } else {
        eprintln!(
            "no loop device here ({}): block devices not checked",
            String::from_utf8_lossy(&dev.stderr).trim()
        );
    }

    // As xenpvnetboot: an image as the location (an existing
    // non-directory), the kernel and ramdisk joined with it.
    let xen = lab.dir.join("xenpvnetboot");
    std::os::unix::fs::symlink(pxeinit_bin(), &xen).expect("symlink");
    let outdir = lab.dir.join("xen-out");
    std::fs::create_dir_all(&outdir).unwrap();
    let o = Command::new(&xen)
        .arg(format!("--location={}", ext2.display()))
        .args(["--kernel=boot/s390x/linux", "--ramdisk=boot/s390x/initrd"])
        .arg(format!("--output-directory={}", outdir.display()))
        .args(["--output-format=simple", "-q"])
        .output()
        .expect("xenpvnetboot");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut lines = text.lines();
    let k = lines
        .next()
        .and_then(|l| l.strip_prefix("kernel "))
        .unwrap();
    let r = lines
        .next()
        .and_then(|l| l.strip_prefix("ramdisk "))
        .unwrap();
    assert_eq!(
        (sha256_file(Path::new(k)), sha256_file(Path::new(r))),
        (ksha.clone(), isha.clone())
    );

    // Over HTTP with Range requests: only what the path needs.
    lab.nginx();
    let url = "http://192.168.77.1:8080/disk.img/boot/s390x/initrd";
    let out = lab.dir.join("initrd.http");
    let o = run(Command::new("timeout")
        .arg("120")
        .args(["ip", "netns", "exec", &lab.cli_ns])
        .arg(pxeinit_bin())
        .args(["fetch", url, "-o", &out.to_string_lossy()]));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(sha256_file(&out), isha);
    assert_eq!(o.json["bytes"], 3 << 20);
    let log = std::fs::read_to_string(lab.dir.join("nginx-access.log")).unwrap_or_default();
    let served: u64 = log
        .lines()
        .filter_map(|l| l.split('"').nth(2))
        .filter_map(|rest| rest.split_whitespace().nth(1))
        .filter_map(|b| b.parse::<u64>().ok())
        .sum();
    let image = std::fs::metadata(&ext4).unwrap().len();
    eprintln!(
        "3 MiB from a {image}-byte ext4 image over HTTP: {} range requests, {served} bytes served",
        log.lines().count()
    );
    assert!(served < image / 2, "{served} of {image}");

    // Corrupt images: the group descriptors overwritten (their checksums
    // no longer match), and a block size out of range in the superblock:
    // one line naming the location, exit 2, no panic.
    let good = std::fs::read(&ext4).unwrap();
    let mut gdt = good.clone();
    for b in &mut gdt[2048..8192] {
        *b = 0xa5;
    }
    let mut bsize = good;
    bsize[1024 + 24] = 0x40;
    for (name, bytes) in [("gdt.img", gdt), ("bsize.img", bsize)] {
        let p = root.join(name);
        std::fs::write(&p, &bytes).unwrap();
        let loc = format!("{}/boot/s390x/linux", p.display());
        let o = run(Command::new(pxeinit_bin()).args(["fetch", &loc]));
        assert_eq!(o.code, Some(2), "{name}: {}", o.stderr);
        let line = o.last_line();
        assert!(
            line.starts_with(&format!("pxeinit: file://{loc}: ext2/3/4 image: ")),
            "{name}: {}",
            o.stderr
        );
        eprintln!("{name}: {line}");
        assert_eq!(o.stderr.matches(&loc).count(), 1, "{}", o.stderr);
        assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    }
}

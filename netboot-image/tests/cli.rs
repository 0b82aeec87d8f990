//! Runs the `netboot-image` binary: build, combine and inspect, error exits,
//! and the archive checked by the host's `bsdtar` and `cpio` when present.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use netboot_image::compress::{self, Compression, Format};
use netboot_image::cpio::Archive;

use netboot_image::kernel_tree::KernelTree;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netboot-image"));
    cmd.env_remove("SOURCE_DATE_EPOCH");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run netboot-image");
    eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nbi-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fake s390x kernel beside a config, like `/boot` has them.
fn fake_kernel(dir: &Path, rd_options: &str) -> PathBuf {
    let mut k = vec![0u8; 0x12000];
    k[0x10008..0x1000e].copy_from_slice(b"S390EP");
    k[0x10428..0x10430].copy_from_slice(&0x10100u64.to_be_bytes());
    k[0x10100..0x10110].copy_from_slice(b"9.9.9-fake #1 x\0");
    let path = dir.join("vmlinuz-9.9.9-fake");
    std::fs::write(&path, k).unwrap();
    std::fs::write(dir.join("config-9.9.9-fake"), rd_options).unwrap();
    path
}

/// The Debian s390x kernel that `cargo xtask kernel` unpacked.
fn real_kernel(test: &str) -> Option<KernelTree> {
    netboot_image::testenv::kernel(test)
}

fn inspect_json(path: &Path) -> serde_json::Value {
    let out = run(bin().arg("inspect").arg(path).arg("--json"));
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn build_real_kernel_then_inspect_shows_what_went_in() {
    let Some(k) = real_kernel("build_real_kernel_then_inspect_shows_what_went_in") else {
        return;
    };
    let kernel = &k.vmlinuz;
    let dir = scratch("build");
    std::fs::write(dir.join("init"), b"\x7fELF fake init").unwrap();
    std::fs::write(dir.join("motd"), b"hello\n").unwrap();
    let out_path = dir.join("pxelinux.0");
    let out = run(bin()
        .args(["build", "--kernel"])
        .arg(kernel)
        .arg("--modules-dir")
        .arg(&k.modules_dir)
        .arg("--init")
        .arg(dir.join("init"))
        .args([
            "--module",
            "virtio-net",
            "--cmdline",
            "console=ttysclp0 pxeinit.debug",
            "--add",
        ])
        .arg(format!("{}:/etc/motd", dir.join("motd").display()))
        .arg("-o")
        .arg(&out_path));
    assert!(out.status.success());
    assert!(stderr(&out).contains("wrote"));

    let json = inspect_json(&out_path);
    assert_eq!(json["format"], 1);
    assert_eq!(json["kind"], "combined-image");
    let kernel_len = std::fs::metadata(kernel).unwrap().len();
    assert_eq!(
        json["kernel"]["image_size"],
        kernel_len.next_multiple_of(4096)
    );
    assert_eq!(json["kernel"]["release"], k.release.as_str());
    assert_eq!(json["kernel"]["cmdline"], "console=ttysclp0 pxeinit.debug");
    assert_eq!(json["kernel"]["cmdline_limit"], 4096);
    assert_eq!(json["initrd"]["offset"], kernel_len.next_multiple_of(4096));
    assert_eq!(json["initrd"]["segments"][0]["compression"], "gzip");
    assert_eq!(json["initrd"]["error"], serde_json::Value::Null);
    let entries = json["initrd"]["entries"].as_array().unwrap();
    let find = |name: &str| {
        entries
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(find("init")["mode"], "0755");
    assert_eq!(find("init")["size"], 14);
    assert_eq!(find("dev/console")["rdev"], "5:1");
    assert_eq!(find("etc/motd")["mode"], "0644");
    let modules: Vec<_> = entries
        .iter()
        .filter_map(|e| e["name"].as_str())
        .filter(|n| n.ends_with(".ko"))
        .map(|n| n.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(modules, ["net_failover.ko", "virtio_net.ko", "failover.ko"]);
    assert_eq!(json["warnings"], serde_json::json!([]));

    // Reproducible: a second build gives the same bytes.
    let again = dir.join("again.0");
    let mut cmd = bin();
    cmd.args(["build", "--kernel"])
        .arg(kernel)
        .arg("--modules-dir")
        .arg(&k.modules_dir);
    cmd.arg("--init")
        .arg(dir.join("init"))
        .args(["--module", "virtio_net", "--cmdline"]);
    cmd.arg("console=ttysclp0 pxeinit.debug").arg("--add");
    cmd.arg(format!("{}:etc/motd", dir.join("motd").display()))
        .arg("-o")
        .arg(&again);
    assert!(run(&mut cmd).status.success());
    assert_eq!(
        std::fs::read(&out_path).unwrap(),
        std::fs::read(&again).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn build_defaults_to_virtio_net_and_virtio_blk() {
    let Some(k) = real_kernel("build_defaults_to_virtio_net_and_virtio_blk") else {
        return;
    };
    let kernel = &k.vmlinuz;
    let dir = scratch("defaults");
    std::fs::write(dir.join("init"), b"x").unwrap();
    let out = run(bin()
        .args(["build", "--compress", "xz", "--kernel"])
        .arg(kernel)
        .arg("--modules-dir")
        .arg(&k.modules_dir)
        .arg("--init")
        .arg(dir.join("init"))
        .arg("-o")
        .arg(dir.join("out")));
    assert!(out.status.success());
    let json = inspect_json(&dir.join("out"));
    assert_eq!(json["initrd"]["segments"][0]["compression"], "xz");
    let names: Vec<_> = json["initrd"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("/virtio_blk.ko")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.ends_with("/virtio_net.ko")),
        "{names:?}"
    );
    // The embedded command line is the kernel's own when --cmdline is absent.
    assert_eq!(json["kernel"]["cmdline"], "root=/dev/ram0 ro");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn build_refuses_a_compression_the_kernel_config_lacks() {
    let dir = scratch("config");
    let kernel = fake_kernel(&dir, "CONFIG_RD_GZIP=y\n# CONFIG_RD_ZSTD is not set\n");
    std::fs::write(dir.join("init"), b"x").unwrap();
    let mut cmd = bin();
    cmd.args(["build", "--compress", "zstd", "--kernel"])
        .arg(&kernel);
    cmd.arg("--init")
        .arg(dir.join("init"))
        .arg("-o")
        .arg(dir.join("out"));
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("CONFIG_RD_ZSTD is not set in") && err.contains("config-9.9.9-fake"),
        "{err}"
    );
    assert!(!dir.join("out").exists());
    // gzip is fine, with SOURCE_DATE_EPOCH honoured.
    let mut cmd = bin();
    cmd.env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["build", "--kernel"])
        .arg(&kernel);
    cmd.arg("--init")
        .arg(dir.join("init"))
        .arg("-o")
        .arg(dir.join("out"));
    assert!(run(&mut cmd).status.success());
    let image = std::fs::read(dir.join("out")).unwrap();
    let initrd = &image[0x12000..];
    let (cpio, _) = compress::decompress(Format::Gzip, initrd).unwrap();
    let mtime = format!("{:08X}", 1_700_000_000u32);
    assert_eq!(&cpio[46..54], mtime.as_bytes());
    // A bad SOURCE_DATE_EPOCH is refused.
    let mut cmd = bin();
    cmd.env("SOURCE_DATE_EPOCH", "yesterday")
        .args(["build", "--kernel"])
        .arg(&kernel);
    cmd.arg("--init")
        .arg(dir.join("init"))
        .arg("-o")
        .arg(dir.join("out2"));
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("SOURCE_DATE_EPOCH"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--trust-key`: each minisign public key lands as
/// `etc/pxeinit/trust/KEYID.pub` (where pxeinit reads them), once; a file
/// that is not a minisign public key is refused naming it.
#[test]
fn build_with_trust_keys() {
    // Written by Debian's minisign 0.11 (`minisign -G -W`).
    const PUB: &str = "untrusted comment: minisign public key E4512F1A8B96285E\n\
                       RWReKJaLGi9R5K8ZHFJHxKmdZyuPvb9uZ0I5C+PCtVd7+OdJqjTH6oxR\n";
    let dir = scratch("trust");
    let kernel = fake_kernel(&dir, "CONFIG_RD_GZIP=y\n");
    std::fs::write(dir.join("init"), b"x").unwrap();
    std::fs::write(dir.join("ops.pub"), PUB).unwrap();
    std::fs::write(dir.join("junk.pub"), "untrusted comment: x\nnot a key\n").unwrap();
    let build = |keys: &[&str], out: &str| {
        let mut cmd = bin();
        cmd.args(["build", "--kernel"]).arg(&kernel);
        cmd.arg("--init").arg(dir.join("init"));
        for k in keys {
            cmd.arg("--trust-key").arg(dir.join(k));
        }
        run(cmd.arg("-o").arg(dir.join(out)))
    };
    let out = build(&["ops.pub", "ops.pub"], "img");
    assert!(out.status.success(), "{}", stderr(&out));
    let json = inspect_json(&dir.join("img"));
    let keys: Vec<_> = json["initrd"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["name"]
                .as_str()
                .unwrap()
                .starts_with("etc/pxeinit/trust/")
        })
        .map(|e| (e["name"].as_str().unwrap().to_string(), e["size"].clone()))
        .collect();
    assert_eq!(
        keys,
        [(
            "etc/pxeinit/trust/E4512F1A8B96285E.pub".to_string(),
            serde_json::json!(PUB.len())
        )]
    );

    let out = build(&["junk.pub"], "bad");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("junk.pub: the key line is not base64"),
        "{err}"
    );
    assert!(!dir.join("bad").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn combine_several_initrds_with_parmfile() {
    let dir = scratch("combine");
    let kernel = fake_kernel(&dir, "");
    let mut a = Archive::with_mtime(0);
    a.add_file("early/ucode", 0o644, vec![1, 2, 3]);
    std::fs::write(dir.join("a.cpio"), a.to_bytes()).unwrap();
    let mut b = Archive::with_mtime(0);
    b.add_file("init", 0o755, b"main".to_vec());
    let b = compress::compress(&b.to_bytes(), Compression::Zstd).unwrap();
    std::fs::write(dir.join("b.zst"), &b).unwrap();
    std::fs::write(
        dir.join("parm"),
        "ro  ramdisk_size=40000\n  console=ttysclp0 \n\n",
    )
    .unwrap();
    let out = run(bin()
        .args(["combine", "--kernel"])
        .arg(&kernel)
        .arg("--initrd")
        .arg(dir.join("a.cpio"))
        .arg("--initrd")
        .arg(dir.join("b.zst"))
        .arg("--parmfile")
        .arg(dir.join("parm"))
        .arg("-o")
        .arg(dir.join("out")));
    assert!(out.status.success());
    let json = inspect_json(&dir.join("out"));
    assert_eq!(
        json["kernel"]["cmdline"],
        "ro  ramdisk_size=40000 console=ttysclp0"
    );
    assert_eq!(json["kernel"]["version"], "9.9.9-fake #1 x");
    assert_eq!(json["kernel"]["cmdline_limit"], 896);
    assert_eq!(json["initrd"]["offset"], 0x12000);
    let segments: Vec<_> = json["initrd"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["compression"].clone())
        .collect();
    assert_eq!(segments, ["none", "zstd"]);
    let names: Vec<_> = json["initrd"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, ["early", "early/ucode", "init"]);

    // Text output too, and a bare compressed initrd.
    let out = run(bin().arg("inspect").arg(dir.join("out")));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("-0755          4 /init"), "{text}");
    let json = inspect_json(&dir.join("b.zst"));
    assert_eq!(json["kind"], "initrd");
    assert_eq!(json["kernel"], serde_json::Value::Null);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = scratch("bad");
    let kernel = fake_kernel(&dir, "");
    std::fs::write(dir.join("junk"), b"this is not a kernel").unwrap();
    std::fs::write(dir.join("rd"), b"0707").unwrap();
    let long = "x".repeat(896);
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (vec!["frobnicate".into()], "unknown command"),
        (vec![], "missing command"),
        (
            vec!["combine".into(), "--kernel".into(), kernel.clone().into()],
            "missing -o",
        ),
        (
            vec![
                "combine".into(),
                "--kernel".into(),
                dir.join("junk").into(),
                "--initrd".into(),
                dir.join("rd").into(),
                "-o".into(),
                dir.join("o").into(),
            ],
            "junk: not an s390x kernel image",
        ),
        (
            vec![
                "combine".into(),
                "--kernel".into(),
                kernel.clone().into(),
                "--initrd".into(),
                dir.join("nope").into(),
                "-o".into(),
                dir.join("o").into(),
            ],
            "initrd",
        ),
        (
            vec![
                "combine".into(),
                "--kernel".into(),
                kernel.clone().into(),
                "--initrd".into(),
                dir.join("rd").into(),
                "--cmdline".into(),
                long.into(),
                "-o".into(),
                dir.join("o").into(),
            ],
            "command line is 896 bytes, but this kernel accepts at most 895",
        ),
        (
            vec![
                "combine".into(),
                "--kernel".into(),
                kernel.clone().into(),
                "--initrd".into(),
                dir.join("rd").into(),
                "--cmdline".into(),
                "a".into(),
                "--parmfile".into(),
                "p".into(),
                "-o".into(),
                dir.join("o").into(),
            ],
            "mutually exclusive",
        ),
        (
            vec!["build".into(), "--compress".into(), "lz4".into()],
            "unknown compression \"lz4\"",
        ),
        (
            vec!["build".into(), "--add".into(), "nocolon".into()],
            "expected SRC:DEST",
        ),
        (
            vec!["inspect".into(), dir.join("junk").into()],
            "not an s390x kernel image, a cpio archive or a compressed initrd",
        ),
        (
            vec!["inspect".into(), dir.join("missing").into()],
            "missing",
        ),
        (vec!["inspect".into(), "--bogus".into()], "--bogus"),
    ];
    for (args, want) in cases {
        let out = run(bin().args(&args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
        assert!(!err.contains("panicked"));
    }
    assert!(!dir.join("o").exists());
    // An image whose initrd is truncated: listing, then exit 2.
    let image = netboot_image::s390::combine(
        &std::fs::read(&kernel).unwrap(),
        &[&Archive::with_mtime(0).to_bytes()[..100]],
        None,
    )
    .unwrap();
    std::fs::write(dir.join("trunc"), image).unwrap();
    let out = run(bin().arg("inspect").arg(dir.join("trunc")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("truncated"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_and_version() {
    let out = run(bin().arg("--help"));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in ["build", "combine", "inspect"] {
        assert!(text.contains(&format!("netboot-image {cmd}")));
    }
    assert!(run(bin().arg("--version")).status.success());
}

/// The host's `bsdtar` and GNU `cpio` list our archive as we wrote it.
#[test]
fn host_tools_list_the_archive() {
    let have = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let dir = scratch("tools");
    let mut a = Archive::with_mtime(1_600_000_000);
    a.add_file("/init", 0o755, b"#!/bin/sh\n".to_vec());
    a.add_char_dev("/dev/console", 0o600, 5, 1);
    a.add_symlink("/bin/sh", "busybox");
    a.add_file("lib/modules/v/modules.dep", 0o644, b"x.ko:\n".to_vec());
    let path = dir.join("a.cpio");
    std::fs::write(&path, a.to_bytes()).unwrap();
    let names = [
        "bin",
        "bin/sh",
        "dev",
        "dev/console",
        "init",
        "lib",
        "lib/modules",
        "lib/modules/v",
        "lib/modules/v/modules.dep",
    ];
    let mut checked = 0;
    if have("cpio") {
        let out = Command::new("cpio")
            .arg("-it")
            .arg("--quiet")
            .stdin(std::fs::File::open(&path).unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Vec<_> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(listed, names);
        let out = Command::new("cpio")
            .arg("-itv")
            .arg("--quiet")
            .stdin(std::fs::File::open(&path).unwrap())
            .output()
            .unwrap();
        let verbose = String::from_utf8(out.stdout).unwrap();
        let console = verbose
            .lines()
            .find(|l| l.ends_with("dev/console"))
            .unwrap();
        assert!(console.starts_with("crw-------"), "{console}");
        assert!(
            console.contains("5,") && console.contains(" 1 "),
            "{console}"
        );
        assert!(
            verbose
                .lines()
                .any(|l| l.starts_with("lrwxrwxrwx") && l.ends_with("bin/sh -> busybox")),
            "{verbose}"
        );
        checked += 1;
    } else {
        eprintln!("skipped: no cpio on this host");
    }
    if have("bsdtar") {
        let out = Command::new("bsdtar")
            .arg("-tf")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Vec<_> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(listed, names);
        let out = Command::new("bsdtar")
            .arg("-tvf")
            .arg(&path)
            .output()
            .unwrap();
        let verbose = String::from_utf8(out.stdout).unwrap();
        let init = verbose.lines().find(|l| l.ends_with(" init")).unwrap();
        assert!(
            init.starts_with("-rwxr-xr-x") && init.contains(" 0 ") && init.contains(" 10 "),
            "{init}"
        );
        // bsdtar also reads it through gzip, as the kernel does.
        let gz = compress::compress(&std::fs::read(&path).unwrap(), Compression::Gzip).unwrap();
        std::fs::write(dir.join("a.cpio.gz"), gz).unwrap();
        let out = Command::new("bsdtar")
            .arg("-tf")
            .arg(dir.join("a.cpio.gz"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().lines().count(),
            names.len()
        );
        checked += 1;
    } else {
        eprintln!("skipped: no bsdtar on this host");
    }
    eprintln!("checked with {checked} host tools");
    std::fs::remove_dir_all(&dir).unwrap();
}

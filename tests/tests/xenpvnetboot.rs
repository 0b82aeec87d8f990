//! pxeinit as a drop-in `xenpvnetboot` (a symlink of that name): libxl's
//! exact calling convention against nginx and tftpd-hpa, the result read
//! back with libxl's parse rule, xenpvnetboot's output formats byte for
//! byte, its join and search rules, and its exit statuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pxeinit_tests::*;

/// A symlink named `xenpvnetboot` to the pxeinit binary, in `dir`.
fn xenpvnetboot(dir: &Path) -> PathBuf {
    let link = dir.join("xenpvnetboot");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(pxeinit_bin(), &link).expect("symlink");
    link
}

/// libxl's `parse_bootloader_result`: NUL-terminated items; an item counts
/// when it starts with `kernel`, `ramdisk` or `args` and whitespace (the
/// value's leading whitespace skipped); empty items are ignored, items of
/// 2 × PATH_MAX bytes or more skipped, anything else warned about.
fn libxl_parse(buf: &[u8]) -> (Option<String>, Option<String>, Option<String>, Vec<String>) {
    const PATH_MAX: usize = 4096;
    let (mut k, mut r, mut a, mut unknown) = (None, None, None, Vec::new());
    for item in buf.split(|b| *b == 0) {
        if item.is_empty() || item.len() >= 2 * PATH_MAX {
            continue;
        }
        let s = String::from_utf8_lossy(item).into_owned();
        let field = |key: &str| {
            let rest = s.strip_prefix(key)?;
            rest.starts_with(|c: char| c.is_ascii_whitespace())
                .then(|| rest.trim_start().to_string())
        };
        if let Some(v) = field("kernel") {
            k = Some(v);
        } else if let Some(v) = field("ramdisk") {
            r = Some(v);
        } else if let Some(v) = field("args") {
            a = Some(v);
        } else {
            unknown.push(s);
        }
    }
    (k, r, a, unknown)
}

/// xenpvnetboot's `format_sxp`, transcribed.
fn format_sxp(kernel: &str, ramdisk: Option<&str>, args: Option<&str>) -> String {
    let mut s = format!("linux (kernel {kernel})");
    if let Some(r) = ramdisk {
        s += &format!("(ramdisk {r})");
    }
    if let Some(a) = args {
        s += &format!("(args \"{a}\")");
    }
    s
}

/// `xenpvboot.BASENAME.XXXXXX` in `dir`, six distinct ASCII letters.
fn assert_output_name(path: &str, dir: &Path, base: &str) {
    let p = Path::new(path);
    assert_eq!(p.parent(), Some(dir), "{path}");
    let name = p.file_name().unwrap().to_string_lossy();
    let suffix = name
        .strip_prefix(&format!("xenpvboot.{base}."))
        .unwrap_or_else(|| panic!("{name}: not xenpvboot.{base}.XXXXXX"));
    assert_eq!(suffix.len(), 6, "{name}");
    assert!(suffix.bytes().all(|b| b.is_ascii_alphabetic()), "{name}");
    let mut letters: Vec<u8> = suffix.bytes().collect();
    letters.sort_unstable();
    letters.dedup();
    assert_eq!(letters.len(), 6, "{name}: letters repeat");
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// libxl's invocation, in its argument order, under the name
/// `xenpvnetboot`, against nginx and tftpd-hpa: the files land in the
/// output directory, the simple0 result in the existing output file is
/// what libxl's parser accepts; the seed's four equivalent configurations
/// fetch the same kernel; the default search list finds
/// `images/pxeboot/`.
#[test]
fn libxl_invocation() {
    let Some(lab) = Lab::new("libxl_invocation", &["nginx", "in.tftpd", "timeout"]) else {
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
    let ksha = lab.put_random("OL6/images/pxeboot/vmlinuz", 1 << 20, 1);
    let rsha = lab.put_random("OL6/images/pxeboot/initrd.img", 3 << 20, 2);
    lab.nginx();
    lab.tftpd_hpa(SERVER);
    let bin = xenpvnetboot(&lab.dir);
    let run = |argv: &[&str]| -> Output {
        Command::new("timeout")
            .arg("60")
            .args(["ip", "netns", "exec", &lab.cli_ns])
            .arg(&bin)
            .args(argv)
            .env_remove("RUST_LOG")
            .output()
            .expect("xenpvnetboot")
    };
    let http = "http://192.168.77.1:8080";
    for (n, location) in [
        (7, format!("{http}/OL6")),
        (8, "tftp://192.168.77.1/OL6".into()),
    ] {
        // What libxl does: XEN_LIB_DIR/bootloader.DOMID.out created first,
        // then the bootloader run with its arguments and the user's.
        let out = lab.dir.join(format!("bootloader.{n}.out"));
        std::fs::write(&out, b"").unwrap();
        let outdir = lab.dir.join(format!("bootloader.{n}.d"));
        let o = run(&[
            "--kernel=images/pxeboot/vmlinuz",
            "--ramdisk=images/pxeboot/initrd.img",
            "--args=console=hvc0 inst.ks=http://192.168.77.1/ks.cfg",
            &format!("--output={}", out.display()),
            "--output-format=simple0",
            &format!("--output-directory={}", outdir.display()),
            &format!("--location={location}"),
            "/var/lib/xen/images/guest.img",
        ]);
        assert!(o.status.success(), "{location}: {}", text(&o.stderr));
        assert!(o.stdout.is_empty(), "{}", text(&o.stdout));
        let result = std::fs::read(&out).unwrap();
        let (k, r, a, unknown) = libxl_parse(&result);
        let (k, r) = (k.expect("kernel"), r.expect("ramdisk"));
        assert_eq!(
            a.as_deref(),
            Some("console=hvc0 inst.ks=http://192.168.77.1/ks.cfg")
        );
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(
            result,
            format!(
                "kernel {k}\0ramdisk {r}\0args console=hvc0 inst.ks=http://192.168.77.1/ks.cfg\0\0"
            )
            .into_bytes()
        );
        assert_output_name(&k, &outdir, "vmlinuz");
        assert_output_name(&r, &outdir, "initrd.img");
        assert_eq!(sha256_file(Path::new(&k)), ksha, "{location}");
        assert_eq!(sha256_file(Path::new(&r)), rsha, "{location}");
        assert_eq!(files_in(&outdir).len(), 2);
    }

    // The seed's four equivalent configurations, and the search list.
    let outdir = lab.dir.join("four");
    let d = format!("--output-directory={}", outdir.display());
    let kurl = format!("{http}/OL6/images/pxeboot/vmlinuz");
    let rurl = format!("{http}/OL6/images/pxeboot/initrd.img");
    let loc_root = format!("--location={http}/");
    let loc_ol6 = format!("{http}/OL6");
    let configs: [Vec<&str>; 5] = [
        vec![
            &loc_root,
            "--kernel=OL6/images/pxeboot/vmlinuz",
            "--ramdisk=OL6/images/pxeboot/initrd.img",
        ],
        vec![
            "--location",
            &loc_ol6,
            "--kernel=images/pxeboot/vmlinuz",
            "--ramdisk=images/pxeboot/initrd.img",
        ],
        vec!["--kernel", &kurl, "--ramdisk", &rurl],
        vec![
            "--location",
            &loc_ol6,
            "--kernel",
            "images/pxeboot/vmlinuz",
            "--ramdisk",
            "images/pxeboot/initrd.img",
        ],
        vec!["--location", &loc_ol6],
    ];
    for c in configs {
        let _ = std::fs::remove_dir_all(&outdir);
        let mut argv = c.clone();
        argv.extend(["--output-format=simple", "-q", d.as_str()]);
        let o = run(&argv);
        assert!(o.status.success(), "{c:?}: {}", text(&o.stderr));
        assert!(o.stderr.is_empty(), "-q: {}", text(&o.stderr));
        let out = text(&o.stdout);
        let mut lines = out.lines();
        let k = lines
            .next()
            .and_then(|l| l.strip_prefix("kernel "))
            .unwrap();
        let r = lines
            .next()
            .and_then(|l| l.strip_prefix("ramdisk "))
            .unwrap();
        assert!(out.ends_with("\n\n"), "{out:?}");
        assert_eq!(sha256_file(Path::new(k)), ksha, "{c:?}");
        assert_eq!(sha256_file(Path::new(r)), rsha, "{c:?}");
    }
}

/// The sxp default byte for byte, on stdout; the search list tried in
/// order (each miss reported unless `-q`); `isolinux/` found last.
#[test]
fn sxp_default_and_search_list() {
    let dir = std::env::temp_dir().join(format!("pxt-xen-sxp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("isolinux")).unwrap();
    std::fs::write(tree.join("isolinux/vmlinuz"), pattern(5000, 3)).unwrap();
    std::fs::write(tree.join("isolinux/initrd.img"), pattern(7000, 4)).unwrap();
    let bin = xenpvnetboot(&dir);
    let outdir = dir.join("out");
    let o = Command::new(&bin)
        .arg(format!("--location={}", tree.display()))
        .arg(format!("--output-directory={}", outdir.display()))
        .arg("--args=root=/dev/xvda1 ro")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let names = files_in(&outdir);
    assert_eq!(names.len(), 2, "{names:?}");
    let find = |base: &str| {
        let n = names
            .iter()
            .find(|n| n.starts_with(&format!("xenpvboot.{base}.")));
        outdir.join(n.expect(base)).to_string_lossy().into_owned()
    };
    let (k, r) = (find("vmlinuz"), find("initrd.img"));
    assert_eq!(
        text(&o.stdout),
        format_sxp(&k, Some(&r), Some("root=/dev/xvda1 ro"))
    );
    assert_eq!(std::fs::read(&k).unwrap(), pattern(5000, 3));
    // Five kernel and five ramdisk paths missed before isolinux/, one
    // line each.
    let err = text(&o.stderr);
    let misses: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("Cannot get file "))
        .collect();
    assert_eq!(misses.len(), 10, "{err}");
    assert!(
        misses[0].contains("/tree/images/xen/vmlinuz: file not found"),
        "{err}"
    );
    assert!(
        misses[5].contains("/tree/images/xen/initrd.img: file not found"),
        "{err}"
    );
    // No ramdisk anywhere is not fatal: sxp without (ramdisk ...).
    std::fs::remove_file(tree.join("isolinux/initrd.img")).unwrap();
    let o = Command::new(&bin)
        .args(["-q", &format!("--location=file://{}", tree.display())])
        .arg(format!("--output-directory={}", outdir.display()))
        .output()
        .unwrap();
    assert!(o.status.success());
    let out = text(&o.stdout);
    assert!(out.starts_with("linux (kernel ") && out.ends_with(')') && !out.contains("ramdisk"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// xenpvnetboot's exit statuses: 1 for nothing asked, an unsupported
/// location, a missing kernel, an output file that does not exist, an
/// unknown format; 2 for an option optparse does not know. No files are
/// left behind by a failure.
#[test]
fn exit_statuses() {
    let dir = std::env::temp_dir().join(format!("pxt-xen-exit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tree/images/pxeboot")).unwrap();
    std::fs::write(dir.join("tree/images/pxeboot/vmlinuz"), b"k").unwrap();
    let bin = xenpvnetboot(&dir);
    let outdir = dir.join("out");
    let od = format!("--output-directory={}", outdir.display());
    let tree = format!("--location={}", dir.join("tree").display());
    let run = |args: &[&str]| Command::new(&bin).args(args).output().unwrap();
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).starts_with("You should at least specify a location or kernel/ramdisk.")
    );
    assert!(run(&["-q"]).stderr.is_empty());
    let o = run(&["--runas=0", &tree]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).ends_with("xenpvnetboot: error: no such option: --runas\n"));
    let o = run(&["--location=gopher://h/x", &od]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr), "Unsupported location: gopher://h/x\n");
    let o = run(&[&tree, "--kernel=images/nope", &od]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("/tree/images/nope: file not found"),
        "{}",
        text(&o.stderr)
    );
    let o = run(&[&tree, "--ramdisk=nope", &od]);
    assert_eq!(o.status.code(), Some(1));
    let missing = dir.join("no-such.out");
    let o = run(&[&tree, &od, &format!("--output={}", missing.display())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!missing.exists(), "the output file was created");
    let o = run(&[&tree, &od, "--output-format=json"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr), "Unknown output format: json\n");
    assert_eq!(files_in(&outdir), Vec::<String>::new());
    // --output=- is stdout; an existing output file is not truncated
    // (libxl creates it empty; xenpvnetboot writes from its start).
    let o = run(&[&tree, &od, "--output=-", "-q"]);
    assert!(o.status.success() && text(&o.stdout).starts_with("linux (kernel "));
    let out = dir.join("result");
    std::fs::write(&out, vec![b'#'; 4096]).unwrap();
    let o = run(&[&tree, &od, &format!("--output={}", out.display())]);
    assert!(o.status.success());
    let r = std::fs::read(&out).unwrap();
    assert_eq!(r.len(), 4096);
    assert!(r.starts_with(b"linux (kernel ") && r.ends_with(b"#"));
    let _ = std::fs::remove_dir_all(&dir);
}

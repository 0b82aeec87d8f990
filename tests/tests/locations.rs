//! Locations and install trees: `pxeinit tree` over nginx, tftpd-hpa
//! and directories with the fixtures of `locations/tests/testdata` (laid
//! out as Fedora, Debian and openSUSE publish them), and a tree whose
//! `.treeinfo` checksum does not match.

use std::path::{Path, PathBuf};
use std::process::Command;

use pxeinit_tests::*;

/// The fixture trees.
fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../locations/tests/testdata")
}

/// Copy a directory tree (dot files too).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let e = e.expect("dir entry");
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest)
                .unwrap_or_else(|err| panic!("{}: {err}", dest.display()));
        }
    }
}

/// How `pxeinit` ended.
struct Out {
    ok: bool,
    code: Option<i32>,
    json: serde_json::Value,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> &serde_json::Value {
        assert!(self.ok, "pxeinit failed: {}", self.stderr);
        &self.json
    }
    fn last_line(&self) -> &str {
        self.stderr.lines().last().unwrap_or_default()
    }
}

fn run(cmd: &mut Command) -> Out {
    let out = cmd.env_remove("RUST_LOG").output().expect("pxeinit");
    Out {
        ok: out.status.success(),
        code: out.status.code(),
        json: serde_json::from_slice(&out.stdout).unwrap_or_default(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `pxeinit ARGS` on the host.
fn host(args: &[&str]) -> Out {
    run(Command::new(pxeinit_bin()).args(args))
}

/// `pxeinit ARGS` in the lab's client namespace (bounded by `timeout`).
fn client(lab: &Lab, args: &[&str]) -> Out {
    run(Command::new("timeout")
        .arg("60")
        .args(["ip", "netns", "exec", &lab.cli_ns])
        .arg(pxeinit_bin())
        .args(args))
}

/// A lab with nginx and tftpd-hpa serving the fixture trees, and an
/// address on the client side.
fn tree_lab(name: &str) -> Option<Lab> {
    let lab = Lab::new(name, &["nginx", "in.tftpd", "timeout"])?;
    copy_tree(&testdata(), &lab.root());
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
    lab.nginx();
    lab.tftpd_hpa(SERVER);
    Some(lab)
}

fn assert_fedora(j: &serde_json::Value, base: &str, repo: Option<&str>) {
    assert_eq!(j["family"], "redhat", "{j:#}");
    assert_eq!(j["found_by"], ".treeinfo");
    assert_eq!(j["kernel"], format!("{base}/images/kernel.img"));
    assert_eq!(
        j["initrds"],
        serde_json::json!([format!("{base}/images/initrd.img")])
    );
    assert_eq!(j["parm_file"], format!("{base}/images/generic.prm"));
    let parm = "ro ramdisk_size=40000 cio_ignore=all,!condev";
    assert_eq!(j["parm_cmdline"], parm);
    match repo {
        Some(r) => {
            assert_eq!(
                j["extra_args"],
                serde_json::json!([format!("inst.repo={r}")])
            );
            assert_eq!(j["cmdline"], format!("{parm} inst.repo={r}"));
        }
        None => assert_eq!(j["cmdline"], parm),
    }
    let sums = j["checksums"].as_array().expect("checksums");
    let files: Vec<&str> = sums.iter().filter_map(|c| c["file"].as_str()).collect();
    assert_eq!(
        files,
        [
            "images/generic.prm",
            "images/initrd.img",
            "images/kernel.img"
        ]
    );
    assert!(sums.iter().all(|c| c["verified"] == true), "{j:#}");
    assert_eq!(j["downloads"].as_array().map(Vec::len), Some(2));
}

/// The Fedora tree (by its .treeinfo, checksums verified), the Debian
/// installer directory and the openSUSE tree, over HTTP and TFTP.
#[test]
fn tree_over_http_and_tftp() {
    let Some(lab) = tree_lab("tree_over_http_and_tftp") else {
        return;
    };
    let http = "http://192.168.77.1:8080";
    let f = client(&lab, &["tree", &format!("{http}/fedora-39-s390x/")]);
    let base = format!("{http}/fedora-39-s390x");
    assert_fedora(f.json(), &base, Some(&base));
    let f = client(&lab, &["tree", "tftp://192.168.77.1/fedora-39-s390x"]);
    assert_fedora(f.json(), "tftp://192.168.77.1/fedora-39-s390x", None);

    let d = client(
        &lab,
        &["tree", "tftp://192.168.77.1/debian-12-installer-s390x"],
    );
    let j = d.json();
    assert_eq!(
        (j["family"].as_str(), j["found_by"].as_str()),
        (Some("debian"), Some("layout debian"))
    );
    assert_eq!(
        j["kernel"],
        "tftp://192.168.77.1/debian-12-installer-s390x/current/images/generic/kernel.debian"
    );
    assert_eq!(j["cmdline"], "--- quiet");
    assert_eq!(j["extra_args"], serde_json::json!([]));

    let s = client(&lab, &["tree", &format!("{http}/opensuse-leap-15.6-s390x")]);
    let j = s.json();
    assert_eq!(j["family"], "suse");
    assert_eq!(
        j["kernel"],
        format!("{http}/opensuse-leap-15.6-s390x/boot/s390x/linux")
    );
    assert_eq!(
        j["cmdline"],
        format!("linuxrcstderr=/dev/console install={http}/opensuse-leap-15.6-s390x")
    );
    assert_eq!(j["checksums"], serde_json::json!([]));

    // Nothing there: one line naming the location, exit 2.
    let n = client(&lab, &["tree", &format!("{http}/nothing/")]);
    assert_eq!(n.code, Some(2), "{}", n.stdout);
    assert_eq!(
        n.last_line(),
        format!("pxeinit: {http}/nothing/: no install tree found: no .treeinfo, no known s390x layout, no .ins file (17 files tried)")
    );
}

/// A kernel that does not match the `.treeinfo` sha256 refuses the tree,
/// over HTTP and from a directory; `--no-fetch` reports the tree without
/// checking the kernel.
#[test]
fn tree_with_a_bad_checksum_is_refused() {
    let Some(lab) = tree_lab("tree_with_a_bad_checksum_is_refused") else {
        return;
    };
    let bad = lab.root().join("fedora-bad");
    copy_tree(&lab.root().join("fedora-39-s390x"), &bad);
    std::fs::write(
        bad.join("images/kernel.img"),
        b"not the kernel .treeinfo lists\n",
    )
    .unwrap();
    let want_tail = "images/kernel.img: refused: checksum mismatch: .treeinfo says sha256:dc548906aabeffa146de7ec4a73c6a93161082435905b392d54cf30ea93a2ad7, the file has sha256:";
    let url = "http://192.168.77.1:8080/fedora-bad";
    let o = client(&lab, &["tree", url]);
    assert_eq!(o.code, Some(2), "{}", o.stdout);
    assert!(o.stdout.is_empty(), "{}", o.stdout);
    assert!(
        o.last_line()
            .starts_with(&format!("pxeinit: {url}: {want_tail}")),
        "{}",
        o.stderr
    );
    let dir = bad.to_string_lossy().into_owned();
    let o = host(&["tree", &dir]);
    assert_eq!(o.code, Some(2));
    assert!(
        o.last_line()
            .starts_with(&format!("pxeinit: {dir}: {want_tail}")),
        "{}",
        o.stderr
    );
    let o = host(&["tree", "--no-fetch", &dir]);
    let sums = o.json()["checksums"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let kernel = sums
        .iter()
        .find(|c| c["file"] == "images/kernel.img")
        .expect("kernel sum");
    assert_eq!(kernel["verified"], serde_json::Value::Null);
    // A tampered parm file is caught during detection, even with --no-fetch.
    std::fs::write(bad.join("images/generic.prm"), b"ro init=/bin/sh\n").unwrap();
    let o = host(&["tree", "--no-fetch", &dir]);
    assert!(
        o.last_line().starts_with(&format!(
            "pxeinit: {dir}: images/generic.prm: refused: checksum mismatch"
        )),
        "{}",
        o.stderr
    );
}

/// Directories and `file://` URLs need no network and no root.
#[test]
fn tree_from_directories() {
    let t = testdata();
    let fedora = t.join("fedora-39-s390x").to_string_lossy().into_owned();
    let j = host(&["tree", &fedora]);
    let base = format!("file://{fedora}");
    // No inst.repo= for a local tree: the installer could not reach it.
    assert_fedora(j.json(), &base, None);
    let j = host(&["tree", &format!("file://{fedora}")]);
    assert_fedora(j.json(), &base, None);
    let ubuntu = t.join("ubuntu-22.04-iso").to_string_lossy().into_owned();
    let j = host(&["tree", &ubuntu]);
    assert_eq!(j.json()["family"], "ubuntu");
    assert_eq!(j.json()["cmdline"], "quiet ---");
    let ins = t.join("ins-only").to_string_lossy().into_owned();
    let j = host(&["tree", &ins]);
    assert_eq!(j.json()["found_by"], "generic.ins");
    assert_eq!(j.json()["kernel"], format!("file://{ins}/boot/vmlinuz"));
    for (loc, why) in [
        (
            "gopher://h/x",
            "gopher://h/x: unsupported location (scheme \"gopher\"",
        ),
        ("nfs:host", "nfs:host: expected nfs:HOST:/PATH"),
    ] {
        let o = host(&["tree", loc]);
        assert_eq!(o.code, Some(2));
        assert!(
            o.last_line().starts_with(&format!("pxeinit: {why}")),
            "{}",
            o.stderr
        );
    }
}

/// `pxeinit boot --location` with no config on the server: after the
/// lease (dnsmasq), the Fedora tree over HTTP is detected and its kernel
/// and initrd downloaded (the `.treeinfo` sums checked), the command line
/// the parm file's, `inst.repo=` and `--args`; a relative location is on
/// the boot server (TFTP). And a config whose KERNEL is inside an ISO over
/// HTTP and whose INITRD is a `file://` path into the same image boots
/// byte-identical files.
#[test]
fn boot_a_location_and_config_payloads_anywhere() {
    let Some(lab) = Lab::new(
        "boot_a_location_and_config_payloads_anywhere",
        &["nginx", "dnsmasq", "xorriso", "timeout"],
    ) else {
        return;
    };
    copy_tree(&testdata(), &lab.root());
    std::fs::remove_dir_all(lab.root().join("pxelinux.cfg")).ok();
    lab.nginx();
    lab.dnsmasq(true, &[]);
    let limit = std::time::Duration::from_secs(60);
    let http = "http://192.168.77.1:8080";
    let base = format!("{http}/fedora-39-s390x");
    let r = lab.pxeinit(
        &["--location", &format!("{base}/"), "--args", "inst.text"],
        limit,
    );
    let j = r.json.clone().unwrap_or_else(|| panic!("{}", r.stderr));
    assert_eq!(j["config"], serde_json::Value::Null, "{j:#}");
    assert_eq!(j["tried"], serde_json::json!([]));
    assert_eq!(j["kernel"], format!("{base}/images/kernel.img"));
    assert_eq!(
        j["append"],
        format!("ro ramdisk_size=40000 cio_ignore=all,!condev inst.repo={base} inst.text")
    );
    assert_fedora(&j["tree"], &base, Some(&base));
    let fixture = testdata().join("fedora-39-s390x/images");
    let sha = |d: &serde_json::Value, path: &str| {
        d["downloads"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["path"] == path))
            .map(|x| x["sha256"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("no download of {path}: {d:#}"))
    };
    assert_eq!(
        sha(&j, &format!("{base}/images/kernel.img")),
        sha256_file(&fixture.join("kernel.img"))
    );

    // Relative: on the boot server (dnsmasq's TFTP), as configs' paths.
    let r = lab.pxeinit(&["--location", "opensuse-leap-15.6-s390x"], limit);
    let j = r.json.clone().unwrap_or_else(|| panic!("{}", r.stderr));
    let suse = "tftp://192.168.77.1/opensuse-leap-15.6-s390x";
    assert_eq!(j["kernel"], format!("{suse}/boot/s390x/linux"));
    assert_eq!(
        j["initrd"],
        serde_json::json!([format!("{suse}/boot/s390x/initrd")])
    );
    assert_eq!(j["append"], "linuxrcstderr=/dev/console");
    assert_eq!(j["tree"]["family"], "suse");

    // A checksum that does not match refuses the boot, one line.
    let bad = lab.root().join("fedora-bad");
    copy_tree(&testdata().join("fedora-39-s390x"), &bad);
    std::fs::write(bad.join("images/kernel.img"), b"not the kernel\n").unwrap();
    let r = lab.pxeinit(&["--location", &format!("{http}/fedora-bad")], limit);
    assert!(!r.status.success());
    let last = r.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "pxeinit: install tree {http}/fedora-bad: images/kernel.img: refused: checksum mismatch"
        )),
        "{}",
        r.stderr
    );

    // KERNEL and INITRD inside an ISO: over HTTP (Range) and file://.
    let src = lab.dir.join("iso-src");
    copy_tree(&testdata().join("opensuse-leap-15.6-s390x"), &src);
    let iso = lab.root().join("leap.iso");
    make_iso(&src, &iso);
    let kernel = format!("{http}/leap.iso/boot/s390x/linux");
    let initrd = format!("file://{}/boot/s390x/initrd", iso.display());
    lab.put(
        "pxelinux.cfg/default",
        format!("DEFAULT iso\nLABEL iso\n KERNEL {kernel}\n INITRD {initrd}\n APPEND from=iso\n"),
    );
    let r = lab.pxeinit(&[], limit);
    let j = r.json.clone().unwrap_or_else(|| panic!("{}", r.stderr));
    assert_eq!(j["config"], "pxelinux.cfg/default", "{j:#}");
    assert_eq!(j["tree"], serde_json::Value::Null);
    let leap = testdata().join("opensuse-leap-15.6-s390x/boot/s390x");
    assert_eq!(sha(&j, &kernel), sha256_file(&leap.join("linux")));
    assert_eq!(sha(&j, &initrd), sha256_file(&leap.join("initrd")));
    assert_eq!(j["append"], "from=iso");
}

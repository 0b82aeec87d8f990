//! Signed boots: `pxelinux.0` built with a trusted minisign key
//! (`xtask::image_with_keys`, as `cargo xtask image --trust-key`), files
//! signed by the real `minisign` at test time.
//!
//! `QEMU_ECHO=1 cargo test -p qemu-tests --test verify -- --nocapture`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use qemu_tests::*;

fn minisign(dir: &Path, args: &[&str]) {
    let out = Command::new("minisign")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("minisign");
    assert!(
        out.status.success(),
        "minisign {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh key pair in `target/qemu-tests/keys-NAME/`; the key directory.
fn keys(name: &str) -> PathBuf {
    let dir = xtask::target_dir().join(format!("qemu-tests/keys-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    minisign(&dir, &["-G", "-W", "-p", "ops.pub", "-s", "ops.key"]);
    dir
}

/// Sign `root/rel` with the key in `keys` (writes `rel.minisig`).
fn sign(keys: &Path, root: &Path, rel: &str) {
    let key = keys.join("ops.key");
    let file = root.join(rel);
    minisign(
        keys,
        &[
            "-S",
            "-s",
            key.to_str().unwrap(),
            "-m",
            file.to_str().unwrap(),
        ],
    );
}

fn minisig(root: &Path, rel: &str) -> PathBuf {
    root.join(format!("{rel}.minisig"))
}

/// One guest, four boot attempts (pxeinit retries after each refusal;
/// the test changes the TFTP root at each "retrying in"): a flipped byte
/// in the initrd, a kernel without `.minisig`, a kernel whose valid
/// signature names another file are each refused on the console, naming
/// the file, with nothing kexec'd; then the signed config, kernel and
/// initrd boot.
#[test]
fn signed_boot_refuses_then_boots() {
    if !need("signed_boot_refuses_then_boots", &["minisign"]) {
        return;
    }
    let mac = "52:54:00:6d:ac:51";
    let k = keys("signed");
    let image = xtask::image_with_keys(
        &xtask::target_dir().join("qemu-tests/image-signed"),
        CMDLINE,
        &[k.join("ops.pub")],
    )
    .unwrap_or_else(|e| panic!("building pxelinux.0 with a trust key: {e}"));
    let root = tftp_root_with("verify-signed", &image);
    let kernel = debian_kernel();
    put(&root, "images/linux", &kernel);
    put(&root, "images/old-linux", &kernel);
    let initrd = busybox_target("SIGNED-TARGET-OK");
    put(&root, "images/initrd.gz", &initrd);
    put(
        &root,
        "pxelinux.cfg/default",
        "DEFAULT signed\nLABEL signed\n  KERNEL images/linux\n  INITRD images/initrd.gz\n  APPEND console=ttysclp0 signed=yes\n",
    );
    for f in [
        "pxelinux.cfg/default",
        "images/linux",
        "images/old-linux",
        "images/initrd.gz",
    ] {
        sign(&k, &root, f);
    }
    let good_kernel_sig = std::fs::read(minisig(&root, "images/linux")).unwrap();
    // Attempt 1: one byte of the initrd flipped after signing.
    let mut bad = initrd.clone();
    bad[initrd.len() / 2] ^= 1;
    put(&root, "images/initrd.gz", &bad);

    let _l = qemu_lock();
    let g = Guest {
        tftp_root: Some(root.clone()),
        mac: Some(mac.into()),
        echo: echo(),
        ..Default::default()
    };
    let mut retries = 0;
    let mut step = |line: &str| {
        if !line.contains("retrying in") {
            return;
        }
        retries += 1;
        match retries {
            // Attempt 2: the initrd is good again, the kernel unsigned.
            1 => {
                put(&root, "images/initrd.gz", &initrd);
                std::fs::remove_file(minisig(&root, "images/linux")).unwrap();
            }
            // Attempt 3: the kernel with old-linux's valid signature.
            2 => {
                std::fs::copy(
                    minisig(&root, "images/old-linux"),
                    minisig(&root, "images/linux"),
                )
                .unwrap();
            }
            // Attempt 4: everything as signed.
            _ => put(&root, "images/linux.minisig", &good_kernel_sig),
        }
    };
    let con = g
        .run_with(&["TARGET-CMDLINE"], Duration::from_secs(420), &mut step)
        .expect("qemu");
    report("signed_boot_refuses_then_boots", &con);
    assert_in_order(
        &con,
        &[
            "verification on: trusted keys",
            "pxelinux.cfg/default: signature by key",
            "images/linux: signature by key",
            "tftp://10.0.2.2/images/initrd.gz: refused: bad signature",
            "retrying in",
            "tftp://10.0.2.2/images/linux: refused: no signature",
            "retrying in",
            "tftp://10.0.2.2/images/linux: refused: signed for another file (file:old-linux, not linux)",
            "retrying in",
            "images/initrd.gz: signature by key",
            "booting the new kernel",
            "SIGNED-TARGET-OK",
            "TARGET-CMDLINE: console=ttysclp0 signed=yes",
        ],
    );
    // Nothing was loaded before the last attempt.
    let kexec = con
        .lines
        .iter()
        .filter(|(_, l)| l.contains("kexec: loaded"))
        .count();
    assert_eq!(kexec, 1, "{}", con.text());
    assert_absent(&con, "Kernel panic");
}

/// What verification costs under TCG: the same 64 MiB initrd over HTTP
/// (the host's loopback through slirp), once from an image without keys
/// and once signed from an image with a key, best of three each; printed
/// from pxeinit's own "initrd: N bytes in S s" lines (the download
/// including the hashing).
#[test]
fn verify_cost_64mib_http() {
    if !need("verify_cost_64mib_http", &["minisign"]) {
        return;
    }
    const MIB: usize = 1 << 20;
    let k = keys("cost");
    let signed_image = xtask::image_with_keys(
        &xtask::target_dir().join("qemu-tests/image-cost"),
        CMDLINE,
        &[k.join("ops.pub")],
    )
    .unwrap_or_else(|e| panic!("building pxelinux.0 with a trust key: {e}"));
    let mut secs = [f64::MAX; 2];
    let images = [("plain", pxelinux0()), ("signed", signed_image)];
    // Three rounds, alternating, the best of each (the host is shared).
    for (i, (name, image)) in images.iter().cycle().take(6).enumerate() {
        let root = tftp_root_with(&format!("verify-cost-{name}"), image);
        put(&root, "images/linux", debian_kernel());
        let big = xtask::payload::target_initrd("BIG", 64 * MIB).expect("initrd");
        put(&root, "images/big.cpio", &big);
        let port = xtask::bench::httpd::serve(&root).expect("httpd");
        let base = format!("http://10.0.2.2:{port}");
        put(
            &root,
            "pxelinux.cfg/default",
            format!("DEFAULT big\nLABEL big\n  KERNEL {base}/images/linux\n  INITRD {base}/images/big.cpio\n  APPEND console=ttysclp0\n"),
        );
        for f in ["pxelinux.cfg/default", "images/linux", "images/big.cpio"] {
            sign(&k, &root, f);
        }
        let _l = qemu_lock();
        let g = Guest {
            tftp_root: Some(root.clone()),
            mac: Some("52:54:00:6d:ac:52".into()),
            memory_mb: 1536,
            echo: echo(),
            ..Default::default()
        };
        let con = g
            .run(
                &["phase download done", "retrying in"],
                Duration::from_secs(300),
            )
            .expect("qemu");
        report(&format!("verify_cost_64mib_http ({name})"), &con);
        let want = format!("initrd: {} bytes in ", big.len());
        let (_, line) = con
            .find(&want)
            .unwrap_or_else(|| panic!("{name}: no initrd download:\n{}", con.text()));
        let s: f64 = line[line.find(&want).unwrap() + want.len()..]
            .trim_end_matches(" s")
            .parse()
            .unwrap_or_else(|_| panic!("{line}"));
        if *name == "signed" {
            assert!(
                con.find("images/big.cpio: signature by key").is_some(),
                "{}",
                con.text()
            );
        }
        secs[i % 2] = secs[i % 2].min(s);
    }
    eprintln!(
        "64 MiB initrd over HTTP under TCG: {:.2} s plain, {:.2} s verified (+{:.0}%)",
        secs[0],
        secs[1],
        (secs[1] / secs[0] - 1.0) * 100.0
    );
}

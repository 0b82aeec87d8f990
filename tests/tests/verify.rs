//! Signed configs and payloads (`--trust-key`): signatures made by the
//! real `minisign` (Debian's package) at test time, served by tftpd-hpa,
//! nginx and dnsmasq's TFTP server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pxeinit_tests::*;

const MIB: usize = 1 << 20;

/// A minisign key pair in `dir` (`NAME.pub`, `NAME.key`, no password);
/// returns the key id minisign prints, as pxeinit writes it (16 digits).
fn keygen(dir: &Path, name: &str) -> String {
    minisign(
        dir,
        &[
            "-G",
            "-W",
            "-p",
            &format!("{name}.pub"),
            "-s",
            &format!("{name}.key"),
        ],
    );
    let text = std::fs::read_to_string(dir.join(format!("{name}.pub"))).expect("pub");
    let id = text
        .lines()
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .expect("key id");
    // minisign prints the id without leading zeros (`%PRIX64`); pxeinit
    // always gives its 16 digits.
    format!("{:016X}", u64::from_str_radix(id, 16).expect("hex key id"))
}

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

/// Sign `file` (writes `file.minisig`) with `key` (a path without
/// `.key`); `legacy` makes a legacy (`-l`) signature.
fn sign(file: &Path, key: &Path, legacy: bool) {
    let key = key.with_extension("key");
    let mut args = vec![
        "-S",
        "-s",
        key.to_str().unwrap(),
        "-m",
        file.to_str().unwrap(),
    ];
    if legacy {
        args.push("-l");
    }
    minisign(file.parent().unwrap(), &args);
}

fn sig_of(p: &Path) -> PathBuf {
    PathBuf::from(format!("{}.minisig", p.display()))
}

struct Fetched {
    ok: bool,
    json: serde_json::Value,
    stderr: String,
    secs: f64,
}

/// `pxeinit fetch ARGS` in the client namespace.
fn fetch(lab: &Lab, args: &[&str]) -> Fetched {
    let t = Instant::now();
    let out = Command::new("timeout")
        .arg("60")
        .args(["ip", "netns", "exec", &lab.cli_ns])
        .arg(pxeinit_bin())
        .arg("fetch")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("pxeinit fetch");
    Fetched {
        ok: out.status.success(),
        json: serde_json::from_slice(&out.stdout).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        secs: t.elapsed().as_secs_f64(),
    }
}

/// The client namespace needs an address to reach the servers.
fn address_client(lab: &Lab) {
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
}

/// `pxeinit fetch --trust-key` over TFTP and HTTP: a good prehashed and a
/// good legacy signature pass (and `verified` names the key); a tampered
/// file, a missing signature, a signature made for another file name and
/// one by an untrusted key are each refused with exit 2, one line naming
/// the URL and the reason, and no output file.
#[test]
fn fetch_with_trust_key() {
    let Some(lab) = Lab::new("fetch_with_trust_key", &["minisign", "in.tftpd", "nginx"]) else {
        return;
    };
    let d = lab.dir.clone();
    let id = keygen(&d, "ops");
    keygen(&d, "other");
    let ops = d.join("ops");
    let root = lab.root();
    let good = lab.put_random("images/good", 3 * MIB + 5, 1);
    sign(&root.join("images/good"), &ops, false);
    let legacy = lab.put_random("images/legacy", 200_001, 2);
    sign(&root.join("images/legacy"), &ops, true);
    // One flipped byte after signing.
    let p = root.join("images/tampered");
    lab.put_random("images/tampered", MIB, 3);
    sign(&p, &ops, false);
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[MIB / 2] ^= 0x40;
    std::fs::write(&p, bytes).unwrap();
    lab.put_random("images/nosig", 1000, 4);
    // The same bytes as `good`, with good's valid signature beside them.
    std::fs::copy(root.join("images/good"), root.join("images/renamed")).unwrap();
    std::fs::copy(
        sig_of(&root.join("images/good")),
        sig_of(&root.join("images/renamed")),
    )
    .unwrap();
    lab.put_random("images/untrusted", 1000, 5);
    sign(&root.join("images/untrusted"), &d.join("other"), false);

    lab.tftpd_hpa(SERVER);
    lab.nginx();
    address_client(&lab);
    let key = d.join("ops.pub");
    let key = key.to_str().unwrap();
    for base in ["tftp://192.168.77.1", "http://192.168.77.1:8080"] {
        for (name, sha, len, kind) in [
            ("good", &good, 3 * MIB + 5, "prehashed"),
            ("legacy", &legacy, 200_001, "legacy"),
        ] {
            let url = format!("{base}/images/{name}");
            let out = d.join(format!("out-{name}"));
            let r = fetch(
                &lab,
                &["--trust-key", key, &url, "-o", out.to_str().unwrap()],
            );
            assert!(r.ok, "{url}: {}", r.stderr);
            assert_eq!(r.json["bytes"], len, "{url}");
            assert_eq!(
                r.json["verified"],
                serde_json::json!({"key": id, "signature": kind}),
                "{url}"
            );
            assert_eq!(&sha256_file(&out), sha, "{url}");
        }
        for (name, why) in [
            ("tampered", "refused: bad signature"),
            ("nosig", "refused: no signature"),
            (
                "renamed",
                "refused: signed for another file (file:good, not renamed)",
            ),
            ("untrusted", "refused: untrusted key"),
        ] {
            let url = format!("{base}/images/{name}");
            let out = d.join(format!("out-{name}"));
            let r = fetch(
                &lab,
                &["--trust-key", key, &url, "-o", out.to_str().unwrap()],
            );
            assert!(!r.ok, "{url} was accepted: {}", r.json);
            let line = r.stderr.trim_end();
            assert_eq!(line.lines().count(), 1, "{url}: {line}");
            assert!(
                line.starts_with(&format!("pxeinit: {url}: {why}")),
                "{url}: {line}"
            );
            assert_eq!(line.matches(&url).count(), 1, "{line}");
            assert!(
                !out.exists(),
                "{url}: refused, but {} was written",
                out.display()
            );
        }
        // Without a trusted key nothing is checked, and JSON says so.
        let url = format!("{base}/images/tampered");
        let r = fetch(&lab, &[&url]);
        assert!(r.ok, "{}", r.stderr);
        assert_eq!(r.json["verified"], serde_json::Value::Null);
    }
    // A key file that is not a key: exit 2, naming it.
    let bad = lab.file("bad.pub", "untrusted comment: x\nnope\n");
    let r = fetch(
        &lab,
        &[
            "--trust-key",
            bad.to_str().unwrap(),
            "tftp://192.168.77.1/images/good",
        ],
    );
    assert!(!r.ok);
    assert!(
        r.stderr.contains(&format!("{}: ", bad.display())),
        "{}",
        r.stderr
    );
}

/// What verification costs: the same 64 MiB over HTTP with and without
/// `--trust-key` (printed; run with a release `PXEINIT_BIN` for numbers).
#[test]
fn fetch_64mib_verified_cost() {
    let Some(lab) = Lab::new("fetch_64mib_verified_cost", &["minisign", "nginx"]) else {
        return;
    };
    let d = lab.dir.clone();
    keygen(&d, "ops");
    let sha = lab.put_random("big", 64 * MIB, 9);
    sign(&lab.root().join("big"), &d.join("ops"), false);
    lab.nginx();
    address_client(&lab);
    let key = d.join("ops.pub");
    let url = "http://192.168.77.1:8080/big";
    let mut best = [f64::MAX; 2];
    for _ in 0..3 {
        for (i, verified) in [false, true].into_iter().enumerate() {
            // Both into memory: plain into a tmpfs file, verified into
            // its memfd (without -o).
            let out = format!("/dev/shm/{}-big", lab.srv_ns);
            let mut args = vec!["--no-sha256", url, "-o", &out];
            if verified {
                args = vec!["--no-sha256", "--trust-key", key.to_str().unwrap(), url];
            }
            let r = fetch(&lab, &args);
            assert!(r.ok, "{}", r.stderr);
            assert_eq!(r.json["verified"].is_null(), !verified);
            best[i] = best[i].min(r.secs);
            let _ = std::fs::remove_file(&out);
        }
    }
    eprintln!(
        "64 MiB over HTTP: {:.3} s plain, {:.3} s verified (+{:.0}%) with {}",
        best[0],
        best[1],
        (best[1] / best[0] - 1.0) * 100.0,
        pxeinit_bin().display()
    );
    let _ = sha;
}

/// `pxeinit boot --trust-key --dry-run` against dnsmasq: a signed config
/// (with a signed INCLUDE), kernel and two initrds are all verified; an
/// unsigned include, a tampered second initrd and a kernel signed under
/// another name each fail the boot with one line naming the file.
#[test]
fn boot_with_trust_key() {
    let Some(lab) = Lab::new("boot_with_trust_key", &["minisign", "dnsmasq"]) else {
        return;
    };
    let d = lab.dir.clone();
    let id = keygen(&d, "ops");
    let ops = d.join("ops");
    let root = lab.root();
    let signed = |rel: &str, data: &[u8]| {
        let p = lab.put(rel, data);
        sign(&p, &ops, false);
    };
    let k = pattern(2 * MIB + 3, 11);
    signed("images/linux", &k);
    signed("images/initrd.gz", &pattern(MIB + 1, 12));
    signed("images/extra.cpio", &pattern(4099, 13));
    signed(
        "pxelinux.cfg/menu.inc",
        b"LABEL other\n  KERNEL images/linux\n",
    );
    let config = "INCLUDE pxelinux.cfg/menu.inc\nDEFAULT install\nLABEL install\n  KERNEL images/linux\n  INITRD images/initrd.gz,images/extra.cpio\n  APPEND signed=yes\n";
    signed(CLIENT_MAC_CFG, config.as_bytes());
    lab.dnsmasq(true, &["--dhcp-boot=pxelinux.0"]);
    let key = d.join("ops.pub");
    let args = ["--timeout", "20", "--trust-key", key.to_str().unwrap()];

    let run = lab.pxeinit(&args, Duration::from_secs(60));
    let plan = run.plan();
    assert_eq!(plan["append"], "signed=yes");
    for path in [
        CLIENT_MAC_CFG,
        "pxelinux.cfg/menu.inc",
        "images/linux",
        "images/initrd.gz",
        "images/extra.cpio",
    ] {
        assert_eq!(
            run.download(path)["verified"]["key"],
            id.as_str(),
            "{path}: {}",
            run.stdout
        );
    }

    // An include changed after signing: the boot fails, naming it.
    let inc = root.join("pxelinux.cfg/menu.inc");
    std::fs::write(&inc, "LABEL other\n  KERNEL images/evil\n").unwrap();
    let err = lab.pxeinit(&args, Duration::from_secs(60)).error();
    assert!(
        err.contains("tftp://192.168.77.1/pxelinux.cfg/menu.inc: refused: bad signature"),
        "{err}"
    );
    sign(&inc, &ops, false);

    // The second initrd tampered with.
    let p = root.join("images/extra.cpio");
    let mut b = std::fs::read(&p).unwrap();
    b[7] ^= 1;
    std::fs::write(&p, b).unwrap();
    let err = lab.pxeinit(&args, Duration::from_secs(60)).error();
    assert!(
        err.contains("tftp://192.168.77.1/images/extra.cpio: refused: bad signature"),
        "{err}"
    );
    sign(&p, &ops, false);

    // A validly signed kernel served under another name.
    signed("images/old-linux", &k);
    std::fs::copy(
        root.join("images/old-linux.minisig"),
        root.join("images/linux.minisig"),
    )
    .unwrap();
    let err = lab.pxeinit(&args, Duration::from_secs(60)).error();
    assert!(
        err.contains("tftp://192.168.77.1/images/linux: refused: signed for another file (file:old-linux, not linux)"),
        "{err}"
    );
    sign(&root.join("images/linux"), &ops, false);

    // pxe.verify=off: the unsigned config boots, and nothing says verified.
    std::fs::remove_file(sig_of(&root.join(CLIENT_MAC_CFG))).unwrap();
    let err = lab.pxeinit(&args, Duration::from_secs(60)).error();
    assert!(
        err.contains("refused: no signature"),
        "an unsigned config was not refused: {err}"
    );
    let mut off = args.to_vec();
    off.extend(["--append-cmdline", "pxe.verify=off"]);
    let run = lab.pxeinit(&off, Duration::from_secs(60));
    assert_eq!(run.plan()["append"], "signed=yes");
    assert!(run.download(CLIENT_MAC_CFG)["verified"].is_null());
    assert!(run.stderr.contains("pxe.verify=off"), "{}", run.stderr);
}

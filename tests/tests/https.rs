//! HTTPS (on by default in pxeinit) against nginx with a certificate from
//! a test CA: trusted through `--ca-bundle`, refused with another bundle
//! and without one (the built-in Mozilla roots do not have the test CA); a
//! redirect from `https://` to `http://` is refused.

use std::path::Path;
use std::process::Command;

use pxeinit_tests::*;

fn openssl(dir: &Path, args: &[&str]) {
    let st = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        st.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

fn fetch(lab: &Lab, bin: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.cli_ns])
        .arg(bin)
        .arg("fetch")
        .args(args)
        .output()
        .expect("pxeinit fetch");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn https_with_a_ca_bundle() {
    let Some(lab) = Lab::new("https_with_a_ca_bundle", &["nginx", "openssl"]) else {
        return;
    };
    let d = lab.dir.clone();
    // A test CA and a server certificate for the server's address.
    openssl(
        &d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=pxeinit test CA",
            "-days",
            "2",
        ],
    );
    openssl(
        &d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "srv.key",
            "-out",
            "srv.csr",
            "-subj",
            "/CN=boot server",
        ],
    );
    std::fs::write(d.join("san.ext"), format!("subjectAltName=IP:{SERVER}\n")).expect("san.ext");
    openssl(
        &d,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
    let sha = lab.put_random("images/initrd.img", 3 << 20, 7);
    let ds = d.display();
    lab.nginx_server(
        &format!(
            "    listen {SERVER}:8443 ssl;\n    ssl_certificate {ds}/srv.pem;\n    ssl_certificate_key {ds}/srv.key;\n    root {root};\n\
             location /down/ {{ return 302 http://{SERVER}:8443/images/initrd.img; }}\n",
            root = lab.root().display()
        ),
        8443,
    );
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

    let bin = pxeinit_bin();
    let url = format!("https://{SERVER}:8443/images/initrd.img");
    let ca = d.join("ca.pem").to_string_lossy().into_owned();
    let (ok, out, err) = fetch(&lab, &bin, &[&url, "--ca-bundle", &ca]);
    assert!(ok, "https fetch failed: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["sha256"], sha.as_str(), "{out}");
    assert_eq!(v["bytes"], 3 << 20);

    // A redirect to http:// (a scheme downgrade) is refused, naming the URL.
    let down = format!("https://{SERVER}:8443/down/initrd.img");
    let (ok, _, err) = fetch(&lab, &bin, &[&down, "--ca-bundle", &ca]);
    assert!(!ok, "an https -> http redirect was followed");
    assert!(
        err.contains(&format!(
            "{down}: refused a redirect from https:// to http://{SERVER}:8443/images/initrd.img (redirect scheme downgrade)"
        )),
        "{err}"
    );

    // Not trusted without the test CA (Debian's bundle does not have it).
    let bundle = d.join("other.pem");
    std::fs::copy(d.join("srv.pem"), &bundle).expect("copy");
    let (ok, _, err) = fetch(
        &lab,
        &bin,
        &[&url, "--ca-bundle", &bundle.to_string_lossy()],
    );
    assert!(!ok, "a server signed by an untrusted CA was accepted");
    assert!(err.contains("certificate") || err.contains("TLS"), "{err}");

    // The default build without --ca-bundle trusts only the Mozilla roots
    // built into it: the test CA is not among them.
    let (ok, _, err) = fetch(&lab, &pxeinit_bin(), &[&url]);
    assert!(!ok, "a server signed by the test CA was trusted without it");
    assert!(
        err.contains(&format!(
            "{url}: TLS: invalid peer certificate: UnknownIssuer"
        )),
        "{err}"
    );
}

//! Files inside an ISO 9660 image made by `xorriso -as mkisofs -R -J`:
//! over HTTP with Range requests from nginx (counting the bytes nginx
//! served), from a local file, a server without Range support, a missing
//! file inside the image and a file that is not an image.

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

/// Body bytes nginx sent, from its access log (`combined` format: the
/// field after the status).
fn served(lab: &Lab) -> (u64, usize) {
    let log = std::fs::read_to_string(lab.dir.join("nginx-access.log")).unwrap_or_default();
    let bytes = log
        .lines()
        .filter_map(|l| l.split('"').nth(2))
        .filter_map(|rest| rest.split_whitespace().nth(1))
        .filter_map(|b| b.parse::<u64>().ok())
        .sum();
    (bytes, log.lines().count())
}

#[test]
fn iso_over_http_ranges_and_local() {
    let Some(lab) = Lab::new(
        "iso_over_http_ranges_and_local",
        &["nginx", "xorriso", "timeout"],
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
    // An openSUSE-style tree: 1 MiB kernel and 2 MiB initrd in a 150 MiB
    // image (2 %).
    let src = lab.dir.join("src");
    let put = |rel: &str, data: &[u8]| {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        sha256_file(&p)
    };
    let ksha = put("boot/s390x/linux", &pattern(1 << 20, 21));
    let isha = put("boot/s390x/initrd", &pattern(2 << 20, 22));
    put("boot/s390x/parmfile", b"linuxrcstderr=/dev/console\n");
    put("suse/noarch/README", b"packages\n");
    let filler = std::fs::File::create(src.join("suse/noarch/filler.rpm")).unwrap();
    filler.set_len(147 << 20).unwrap();
    drop(filler);
    let iso = lab.root().join("dvd.iso");
    make_iso(&src, &iso);
    let iso_size = std::fs::metadata(&iso).unwrap().len();
    lab.put("bad.iso", pattern(100_000, 23));
    let root = lab.root();
    lab.nginx_server(
        &format!(
            "    listen {SERVER}:8080;\n    root {r};\n    location /norange/ {{ alias {r}/; max_ranges 0; }}\n",
            r = root.display()
        ),
        8080,
    );
    let client = |args: &[&str]| {
        run(Command::new("timeout")
            .arg("120")
            .args(["ip", "netns", "exec", &lab.cli_ns])
            .arg(pxeinit_bin())
            .args(args))
    };
    let base = "http://192.168.77.1:8080/dvd.iso";
    let out = lab.dir.join("linux");
    let o = client(&[
        "fetch",
        &format!("{base}/boot/s390x/linux"),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(sha256_file(&out), ksha);
    assert_eq!(o.json["bytes"], 1 << 20);

    let o = client(&["tree", base]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.json["family"], "suse");
    assert_eq!(o.json["kernel"], format!("{base}/boot/s390x/linux"));
    let downloads = o.json["downloads"].as_array().cloned().unwrap_or_default();
    assert_eq!(downloads[1]["sha256"], isha.as_str());
    // An ISO over HTTP is not a tree the installer could use: no install=.
    assert_eq!(o.json["cmdline"], "linuxrcstderr=/dev/console");

    // Kernel once with fetch, kernel and initrd with tree (plus the
    // probes of detection): 4 MiB of files out of 150 MiB.
    let (bytes, requests) = served(&lab);
    let files = 4u64 << 20;
    eprintln!(
        "ISO {iso_size} bytes; nginx served {bytes} bytes in {requests} requests ({:.2} % of the ISO; the files read are {:.2} %)",
        bytes as f64 * 100.0 / iso_size as f64,
        files as f64 * 100.0 / iso_size as f64
    );
    assert!(
        (bytes as f64) < 0.05 * iso_size as f64,
        "{bytes} bytes of {iso_size}"
    );
    assert!(bytes >= files);

    let o = client(&["fetch", &format!("{base}/boot/nope")]);
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.last_line(),
        format!("pxeinit: {base}/boot/nope: file not found")
    );
    let o = client(&[
        "fetch",
        "http://192.168.77.1:8080/norange/dvd.iso/boot/s390x/linux",
    ]);
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.last_line(),
        "pxeinit: http://192.168.77.1:8080/norange/dvd.iso/boot/s390x/linux: the server does not support Range requests (it answered 200 to a Range request), which reading inside an image needs"
    );
    let o = client(&["fetch", "http://192.168.77.1:8080/bad.iso/boot/x"]);
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.last_line(),
        "pxeinit: http://192.168.77.1:8080/bad.iso/boot/x: not an ISO 9660 or ext2/3/4 image (no CD001 or 0xEF53 magic)"
    );

    // The same image as a local file.
    let local = format!("{}/boot/s390x/initrd", iso.display());
    let out = lab.dir.join("initrd");
    let o = run(Command::new(pxeinit_bin()).args(["fetch", &local, "-o", &out.to_string_lossy()]));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(sha256_file(Path::new(&out)), isha);
    let o = run(Command::new(pxeinit_bin()).args(["tree", &iso.to_string_lossy()]));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.json["family"], "suse");
}

//! `ftp://` against vsftpd (anonymous, and `user:password@`), through the
//! downloader's path (size limit from `SIZE`, sha256, missing files), tree
//! detection over FTP, and a scripted server that drops the data
//! connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pxeinit_tests::*;

struct Out {
    code: Option<i32>,
    json: serde_json::Value,
    stdout: String,
    stderr: String,
}

fn pxeinit(lab: &Lab, args: &[&str]) -> Out {
    let o = Command::new("timeout")
        .arg("60")
        .args(["ip", "netns", "exec", &lab.cli_ns])
        .arg(pxeinit_bin())
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("pxeinit");
    Out {
        code: o.status.code(),
        json: serde_json::from_slice(&o.stdout).unwrap_or_default(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn ftp_lab(name: &str, needs: &[&str]) -> Option<Lab> {
    let mut all = vec!["timeout"];
    all.extend_from_slice(needs);
    let lab = Lab::new(name, &all)?;
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
    Some(lab)
}

/// vsftpd in the foreground on SERVER:21, anonymous, serving the lab root.
fn vsftpd(lab: &Lab) {
    let conf = lab.file(
        "vsftpd.conf",
        format!(
            "listen=YES\nlisten_ipv6=NO\nlisten_address={SERVER}\nbackground=NO\n\
             anonymous_enable=YES\nno_anon_password=NO\nanon_root={root}\nlocal_enable=NO\n\
             write_enable=NO\npasv_enable=YES\nseccomp_sandbox=NO\nisolate_network=NO\n\
             xferlog_enable=YES\nvsftpd_log_file={d}/vsftpd-xfer.log\n\
             secure_chroot_dir=/var/run/vsftpd/empty\n",
            root = lab.root().display(),
            d = lab.dir.display()
        ),
    );
    std::fs::create_dir_all("/var/run/vsftpd/empty").expect("vsftpd's empty dir");
    lab.spawn("vsftpd", &["vsftpd", &conf.to_string_lossy()]);
    lab.wait_port("tcp", 21);
}

/// Downloads from vsftpd: anonymous and with a user and password
/// (byte-identical, the password never shown), a missing file, a file
/// above `--max-size` (refused from its `SIZE`), and a tree.
#[test]
fn ftp_against_vsftpd() {
    let Some(lab) = ftp_lab("ftp_against_vsftpd", &["vsftpd"]) else {
        return;
    };
    let sha = lab.put_random("images/k", 3 << 20, 5);
    let suse = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../locations/tests/testdata/opensuse-leap-15.6-s390x/boot/s390x");
    for f in ["linux", "initrd", "parmfile"] {
        lab.put(
            &format!("leap/boot/s390x/{f}"),
            std::fs::read(suse.join(f)).unwrap(),
        );
    }
    vsftpd(&lab);
    let url = "ftp://192.168.77.1/images/k";
    let o = pxeinit(&lab, &["fetch", url]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.json["sha256"], sha.as_str());
    assert_eq!(o.json["bytes"], 3 << 20);
    assert_eq!(o.json["from"], url);

    let secret = "ftp://anonymous:s3cr%40t@192.168.77.1/images/k";
    let out = lab.dir.join("k.copy");
    let o = pxeinit(&lab, &["fetch", secret, "-o", &out.to_string_lossy()]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(sha256_file(&out), sha);
    assert_eq!(o.json["from"], "ftp://anonymous:***@192.168.77.1/images/k");
    assert!(!o.stdout.contains("s3cr") && !o.stderr.contains("s3cr"));

    let o = pxeinit(&lab, &["fetch", "ftp://192.168.77.1/images/nope"]);
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.stderr.lines().last().unwrap_or_default(),
        "pxeinit: ftp://192.168.77.1/images/nope: file not found"
    );
    let o = pxeinit(&lab, &["fetch", url, "--max-size", "1M"]);
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.stderr.lines().last().unwrap_or_default(),
        format!(
            "pxeinit: {url}: 3145728 bytes (SIZE), larger than the size limit of 1048576 bytes"
        )
    );
    // Refused from SIZE: vsftpd sent nothing of it.
    let xfer = std::fs::read_to_string(lab.dir.join("vsftpd-xfer.log")).unwrap_or_default();
    let downloads = xfer.lines().filter(|l| l.contains("DOWNLOAD")).count();
    assert_eq!(downloads, 2, "{xfer}");

    let o = pxeinit(&lab, &["tree", "ftp://192.168.77.1/leap"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.json["family"], "suse");
    assert_eq!(
        o.json["cmdline"],
        "linuxrcstderr=/dev/console install=ftp://192.168.77.1/leap"
    );
}

/// A server that drops the data connection: after `SIZE` announced
/// 100000 bytes and 1000 came, and (without `SIZE`) with a 426 reply.
#[test]
fn ftp_data_connection_dropped() {
    let Some(lab) = ftp_lab("ftp_data_connection_dropped", &[]) else {
        return;
    };
    lab.thread_in_server_ns(|stop| {
        let ctl = TcpListener::bind((SERVER, 21)).expect("bind 21");
        let data = TcpListener::bind((SERVER, 2121)).expect("bind 2121");
        ctl.set_nonblocking(true).unwrap();
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            let Ok((s, _)) = ctl.accept() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            n += 1;
            s.set_nonblocking(false).unwrap();
            // Sessions on their own threads: pxeinit leaves without QUIT.
            let data = data.try_clone().expect("dup listener");
            std::thread::spawn(move || session(s, &data, n == 1));
        }
    });
    lab.wait_port("tcp", 21);
    let url = "ftp://192.168.77.1/k";
    let o = pxeinit(&lab, &["fetch", url]);
    assert_eq!(o.code, Some(2), "{}", o.stdout);
    assert_eq!(
        o.stderr.lines().last().unwrap_or_default(),
        format!("pxeinit: {url}: the data connection closed after 1000 of 100000 bytes")
    );
    let o = pxeinit(&lab, &["fetch", url]);
    assert_eq!(o.code, Some(2), "{}", o.stdout);
    assert_eq!(
        o.stderr.lines().last().unwrap_or_default(),
        format!("pxeinit: {url}: the transfer ended with 426 Connection closed; transfer aborted. after 1000 bytes")
    );
}

/// One scripted control session: 1000 bytes of a file, then the data
/// connection closed; `size` says whether SIZE is answered.
fn session(s: TcpStream, data: &TcpListener, size: bool) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut w = s.try_clone()?;
    let mut r = BufReader::new(s);
    w.write_all(b"220 scripted\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let verb = cmd.split(' ').next().unwrap_or_default();
        match verb {
            "USER" => w.write_all(b"331 password please\r\n")?,
            "PASS" => w.write_all(b"230 in\r\n")?,
            "TYPE" => w.write_all(b"200 binary\r\n")?,
            "SIZE" if size => w.write_all(b"213 100000\r\n")?,
            "SIZE" => w.write_all(b"502 no SIZE here\r\n")?,
            "EPSV" => w.write_all(b"229 Entering Extended Passive Mode (|||2121|)\r\n")?,
            "RETR" => {
                let (mut d, _) = data.accept()?;
                w.write_all(b"150 here it comes\r\n")?;
                d.write_all(&[7u8; 1000])?;
                drop(d);
                w.write_all(b"426 Connection closed; transfer aborted.\r\n")?;
            }
            "QUIT" => return Ok(()),
            _ => w.write_all(b"500 what\r\n")?,
        }
    }
}

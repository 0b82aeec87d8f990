//! `https://` in the default image: a guest boots a kernel and initrd from
//! nginx over TLS (a test CA, added to the initramfs and named by
//! `pxe.cacert=`), and without `pxe.cacert=` the same server is refused,
//! because the image trusts only the Mozilla roots built into it. nginx
//! listens on the host's loopback, which slirp shows the guest as 10.0.2.2.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use qemu_tests::*;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for 10.0.2.2 signed by it, in `dir`.
fn certificates(dir: &Path) {
    openssl(
        dir,
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
        dir,
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
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:10.0.2.2\n").expect("san.ext");
    openssl(
        dir,
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
}

/// nginx serving `root` over TLS on 127.0.0.1:`port`; killed on drop.
struct Nginx(Child);

impl Nginx {
    fn start(dir: &Path, root: &Path, port: u16) -> Nginx {
        let d = dir.display();
        let conf = dir.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "daemon off;\nmaster_process off;\nworker_processes 1;\nuser root;\npid {d}/nginx.pid;\n\
                 error_log {d}/nginx-error.log info;\nevents {{ worker_connections 64; }}\n\
                 http {{\n  access_log {d}/nginx-access.log;\n  client_body_temp_path {d}/ngx-body;\n\
                 proxy_temp_path {d}/ngx-proxy;\n  fastcgi_temp_path {d}/ngx-fcgi;\n\
                 uwsgi_temp_path {d}/ngx-uwsgi;\n  scgi_temp_path {d}/ngx-scgi;\n\
                 default_type application/octet-stream;\n\
                 server {{\n    listen 127.0.0.1:{port} ssl;\n    ssl_certificate {d}/srv.pem;\n\
                 ssl_certificate_key {d}/srv.key;\n    root {root};\n  }}\n}}\n",
                root = root.display()
            ),
        )
        .expect("nginx.conf");
        let _ = std::fs::remove_file(dir.join("nginx.pid"));
        let mut child = Command::new("nginx")
            .arg("-p")
            .arg(format!("{d}/"))
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.join("nginx-error.log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("start nginx");
        wait_nginx(&mut child, dir, port);
        Nginx(child)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn https_payloads_with_a_private_ca_and_refused_without() {
    let test = "https_payloads_with_a_private_ca_and_refused_without";
    if !need(test, &["openssl", "nginx"]) {
        return;
    }
    let work = xtask::target_dir().join("qemu-tests/https");
    let _ = std::fs::remove_dir_all(&work);
    let www = work.join("www");
    std::fs::create_dir_all(&www).expect("mkdir");
    certificates(&work);
    std::fs::write(www.join("linux"), debian_kernel()).expect("kernel");
    std::fs::write(www.join("initrd.gz"), busybox_target("HTTPS-TARGET-UP")).expect("initrd");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let _nginx = Nginx::start(&work, &www, port);
    let config = format!(
        "DEFAULT web\nLABEL web\n  KERNEL https://10.0.2.2:{port}/linux\n  \
         INITRD https://10.0.2.2:{port}/initrd.gz\n  APPEND console=ttysclp0 via=https\n"
    );

    // With the CA in the image and pxe.cacert= naming it: the boot.
    let img = xtask::image_with(
        &work.join("image"),
        &format!("{CMDLINE} pxe.cacert=/etc/pxeinit/ca.pem"),
        &[],
        &[(work.join("ca.pem"), "/etc/pxeinit/ca.pem".into())],
    )
    .unwrap_or_else(|e| panic!("image: {e}"));
    let root = tftp_root_with("https-ca", &img);
    put(&root, "pxelinux.cfg/default", &config);
    let _l = qemu_lock();
    let g = Guest {
        tftp_root: Some(root),
        echo: echo(),
        ..Default::default()
    };
    let con = g
        .run(&["TARGET-CMDLINE", "retrying in"], Duration::from_secs(240))
        .expect("qemu");
    report(test, &con);
    assert_in_order(
        &con,
        &[
            &format!("pxeinit: kernel https://10.0.2.2:{port}/linux"),
            &format!("pxeinit: initrd https://10.0.2.2:{port}/initrd.gz"),
            "booting the new kernel",
            "HTTPS-TARGET-UP",
            "TARGET-CMDLINE: console=ttysclp0 via=https",
        ],
    );

    // The default image (no pxe.cacert=): the built-in roots do not know
    // the test CA, so the kernel is refused, naming it.
    let root = tftp_root("https-default");
    put(&root, "pxelinux.cfg/default", &config);
    let g = Guest {
        tftp_root: Some(root),
        echo: echo(),
        ..Default::default()
    };
    let con = g
        .run(&["retrying in", "TARGET-CMDLINE"], Duration::from_secs(240))
        .expect("qemu");
    report(test, &con);
    let (_, line) = con
        .find("boot failed")
        .unwrap_or_else(|| panic!("the untrusted server was not refused:\n{}", con.text()));
    assert!(
        line.contains(&format!("https://10.0.2.2:{port}/linux")) && line.contains("UnknownIssuer"),
        "{line}"
    );
    assert!(con.find("TARGET-CMDLINE").is_none());
}

//! Boot locations end to end: a guest whose first-stage command line says
//! `pxe.location=` boots the Fedora-style install tree nginx serves (no
//! `pxelinux.cfg` at all), with the parm file's command line and
//! `inst.repo=`; and a config whose KERNEL and INITRD are inside an ISO
//! image read over HTTP with Range requests. nginx listens on the host's
//! loopback, which slirp shows the guest as 10.0.2.2.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use qemu_tests::*;

/// nginx serving `root` over plain HTTP (Range requests are on by
/// default) on 127.0.0.1:`port`; killed on drop.
struct Nginx(Child);

impl Nginx {
    fn start(dir: &Path, root: &Path) -> (Nginx, u16) {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
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
                 server {{\n    listen 127.0.0.1:{port};\n    root {root};\n  }}\n}}\n",
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
        (Nginx(child), port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sha256(b: &[u8]) -> String {
    locations::sha256_hex(b)
}

/// `pxe.location=http://10.0.2.2:PORT/f39/` on the first stage's command
/// line, `pxe.args=` with a space in it, and no config anywhere: the
/// guest detects the tree by its `.treeinfo` (lorax's layout, with the
/// Debian kernel and a busybox initrd as kernel.img and initrd.img), checks
/// their sha256 sums, and the target runs with the parm file's command
/// line, `inst.repo=` and the args.
#[test]
fn pxe_location_boots_a_tree_over_http() {
    let test = "pxe_location_boots_a_tree_over_http";
    if !need(test, &["nginx"]) {
        return;
    }
    let work = xtask::target_dir().join("qemu-tests/location-tree");
    let _ = std::fs::remove_dir_all(&work);
    let www = work.join("www");
    let kernel = debian_kernel();
    let initrd = busybox_target("TREE-TARGET-UP");
    let prm = "ro ramdisk_size=40000 console=ttysclp0\n";
    let treeinfo = format!(
        "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n\
         [release]\nname = Fedora\nshort = Fedora\nversion = 39\n\n\
         [tree]\narch = s390x\nplatforms = s390x\n\n\
         [images-s390x]\nkernel = images/kernel.img\ninitrd = images/initrd.img\n\
         generic.prm = images/generic.prm\n\n\
         [checksums]\nimages/kernel.img = sha256:{}\nimages/initrd.img = sha256:{}\n\
         images/generic.prm = sha256:{}\n",
        sha256(&kernel),
        sha256(&initrd),
        sha256(prm.as_bytes())
    );
    put(&www, "f39/.treeinfo", treeinfo);
    put(&www, "f39/images/kernel.img", &kernel);
    put(&www, "f39/images/initrd.img", &initrd);
    put(&www, "f39/images/generic.prm", prm);
    let (_nginx, port) = Nginx::start(&work, &www);
    let tree = format!("http://10.0.2.2:{port}/f39");
    let img = xtask::image(
        &work.join("image"),
        &format!("{CMDLINE} pxe.location={tree}/ pxe.args=\"inst.text inst.sshd\""),
    )
    .unwrap_or_else(|e| panic!("image: {e}"));
    let root = tftp_root_with("location-tree-tftp", &img);
    let _l = qemu_lock();
    let g = Guest {
        tftp_root: Some(root),
        echo: echo(),
        ..Default::default()
    };
    let con = g
        .run(&["TARGET-CMDLINE", "retrying in"], Duration::from_secs(300))
        .expect("qemu");
    report(test, &con);
    assert_in_order(
        &con,
        &[
            &format!("pxeinit: install tree at {tree}/"),
            "pxeinit: install tree: redhat (.treeinfo)",
            &format!("pxeinit: kernel {tree}/images/kernel.img"),
            &format!("pxeinit: initrd {tree}/images/initrd.img"),
            "booting the new kernel",
            "TREE-TARGET-UP",
            &format!(
                "TARGET-CMDLINE: ro ramdisk_size=40000 console=ttysclp0 inst.repo={tree} inst.text inst.sshd"
            ),
        ],
    );
    assert_absent(&con, "pxelinux.cfg");
}

/// A config whose KERNEL and INITRD are paths inside an ISO 9660 image
/// (`xorriso -as mkisofs -R -J`) on an HTTP server: pxeinit reads them
/// with Range requests, and the target runs with the config's APPEND.
/// nginx's log shows the image was not downloaded whole.
#[test]
fn kernel_and_initrd_inside_an_iso_over_http() {
    let test = "kernel_and_initrd_inside_an_iso_over_http";
    if !need(test, &["nginx", "xorriso"]) {
        return;
    }
    let work = xtask::target_dir().join("qemu-tests/location-iso");
    let _ = std::fs::remove_dir_all(&work);
    let src = work.join("iso");
    put(&src, "images/kernel.img", debian_kernel());
    put(&src, "images/initrd.img", busybox_target("ISO-TARGET-UP"));
    // Filler, so that reading the whole image would show in the log.
    let filler = std::fs::File::create(src.join("images/install.img")).expect("filler");
    filler.set_len(64 << 20).expect("filler size");
    drop(filler);
    let www = work.join("www");
    std::fs::create_dir_all(&www).expect("mkdir");
    let iso = www.join("Fedora-s390x-dvd.iso");
    let st = Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-R", "-J", "-o"])
        .arg(&iso)
        .arg(&src)
        .status()
        .expect("xorriso");
    assert!(st.success(), "xorriso: {st}");
    let iso_size = std::fs::metadata(&iso).expect("iso").len();
    let (_nginx, port) = Nginx::start(&work, &www);
    let base = format!("http://10.0.2.2:{port}/Fedora-s390x-dvd.iso");
    let root = tftp_root("location-iso-tftp");
    put(
        &root,
        "pxelinux.cfg/default",
        format!(
            "DEFAULT dvd\nLABEL dvd\n  KERNEL {base}/images/kernel.img\n  \
             INITRD {base}/images/initrd.img\n  APPEND console=ttysclp0 from=iso\n"
        ),
    );
    let _l = qemu_lock();
    let g = Guest {
        tftp_root: Some(root),
        echo: echo(),
        ..Default::default()
    };
    let con = g
        .run(&["TARGET-CMDLINE", "retrying in"], Duration::from_secs(300))
        .expect("qemu");
    report(test, &con);
    assert_in_order(
        &con,
        &[
            &format!("pxeinit: kernel {base}/images/kernel.img"),
            &format!("pxeinit: initrd {base}/images/initrd.img"),
            "booting the new kernel",
            "ISO-TARGET-UP",
            "TARGET-CMDLINE: console=ttysclp0 from=iso",
        ],
    );
    let log = std::fs::read_to_string(work.join("nginx-access.log")).unwrap_or_default();
    let served: u64 = log
        .lines()
        .filter_map(|l| l.split('"').nth(2))
        .filter_map(|rest| rest.split_whitespace().nth(1))
        .filter_map(|b| b.parse::<u64>().ok())
        .sum();
    eprintln!("{test}: nginx served {served} bytes of a {iso_size}-byte image");
    assert!(served < iso_size / 2, "{served} of {iso_size} bytes");
    assert!(log.lines().all(|l| l.contains(" 206 ")), "{log}");
}

//! NFS from the PID 1: a guest whose first-stage command line says
//! `pxe.location=nfs:10.0.2.2:/...` detects and boots a Fedora-style tree
//! that nfs-ganesha exports. QEMU runs in a network namespace of its own
//! (slirp's 10.0.2.2 is that namespace's loopback), where rpcbind and
//! ganesha listen, in a mount namespace with a private /run.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qemu_tests::*;

/// The VFS backend ganesha loads (Debian's `nfs-ganesha-vfs`).
const FSAL_VFS: &str = "/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so";

/// A network namespace with rpcbind and ganesha exporting `export`
/// read-only over NFSv3; all of it removed on drop.
struct Nfsd {
    ns: String,
    child: Child,
}

impl Nfsd {
    fn start(dir: &Path, export: &Path) -> Nfsd {
        let ns = format!("pxq{}nfs", std::process::id());
        let ip = |args: &[&str]| {
            let st = Command::new("ip").args(args).status().expect("ip");
            assert!(st.success(), "ip {args:?}: {st}");
        };
        let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        ip(&["netns", "add", &ns]);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        let d = dir.display();
        std::fs::create_dir_all(dir.join("recovery")).expect("mkdir");
        let conf = dir.join("ganesha.conf");
        std::fs::write(
            &conf,
            format!(
                "NFS_CORE_PARAM {{ Protocols = 3; NFS_Port = 2049; MNT_Port = 20048;\n\
                 Enable_NLM = false; Enable_RQUOTA = false; }}\n\
                 NFSv4 {{ Graceless = true; RecoveryRoot = {d}/recovery; }}\n\
                 EXPORT {{ Export_Id = 1; Path = {e}; Pseudo = /trees; Access_Type = RO;\n\
                 Squash = No_Root_Squash; Protocols = 3; Transports = TCP; SecType = sys;\n\
                 FSAL {{ Name = VFS; }} }}\n\
                 LOG {{ Default_Log_Level = EVENT; }}\n",
                e = export.display()
            ),
        )
        .expect("ganesha.conf");
        let log = std::fs::File::create(dir.join("ganesha.log")).expect("log");
        let script = xtask::ganesha_script(&conf, dir);
        let child = Command::new("ip")
            .args(["netns", "exec", &ns, "unshare", "-m", "--propagation"])
            .args(["private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start ganesha");
        let n = Nfsd { ns, child };
        // ganesha's dual-stack sockets are in /proc/net/tcp6, rpcbind's
        // IPv4 one in /proc/net/tcp.
        let t0 = Instant::now();
        for (proto, port) in [("tcp", 111), ("tcp6", 2049), ("tcp6", 20048)] {
            let want = format!(":{port:04X} ");
            loop {
                let out = Command::new("ip")
                    .args(["netns", "exec", &n.ns, "cat"])
                    .arg(format!("/proc/net/{proto}"))
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                if out.lines().skip(1).any(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() > 3 && format!("{} ", f[1]).contains(&want) && f[3] == "0A"
                }) {
                    break;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(20),
                    "nothing listens on {proto} port {port}: {}",
                    std::fs::read_to_string(dir.join("ganesha.log")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        n
    }
}

impl Drop for Nfsd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// `pxe.location=nfs:10.0.2.2:/.../f39/` and no config anywhere: the
/// guest's pxeinit asks the portmapper, mounts the export, detects the
/// tree by its `.treeinfo`, reads kernel and initrd over NFSv3 (from a
/// reserved port: it is root), checks their sha256 sums, and the target
/// runs with the parm file's command line and `inst.repo=nfs:`.
#[test]
fn pxe_location_boots_a_tree_over_nfs() {
    let test = "pxe_location_boots_a_tree_over_nfs";
    if !need(
        test,
        &[
            "ip",
            "ganesha.nfsd",
            FSAL_VFS,
            "rpcbind",
            "unshare",
            "mount",
            "kill",
        ],
    ) {
        return;
    }
    let work = xtask::target_dir().join("qemu-tests/location-nfs");
    let _ = std::fs::remove_dir_all(&work);
    let export = work.join("export");
    let kernel = debian_kernel();
    let initrd = busybox_target("NFS-TARGET-UP");
    let prm = "ro ramdisk_size=40000 console=ttysclp0\n";
    let sha = locations::sha256_hex;
    let treeinfo = format!(
        "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n\
         [release]\nname = Fedora\nshort = Fedora\nversion = 39\n\n\
         [tree]\narch = s390x\nplatforms = s390x\n\n\
         [images-s390x]\nkernel = images/kernel.img\ninitrd = images/initrd.img\n\
         generic.prm = images/generic.prm\n\n\
         [checksums]\nimages/kernel.img = sha256:{}\nimages/initrd.img = sha256:{}\n\
         images/generic.prm = sha256:{}\n",
        sha(&kernel),
        sha(&initrd),
        sha(prm.as_bytes())
    );
    put(&export, "f39/.treeinfo", treeinfo);
    put(&export, "f39/images/kernel.img", &kernel);
    put(&export, "f39/images/initrd.img", &initrd);
    put(&export, "f39/images/generic.prm", prm);
    let nfsd = Nfsd::start(&work, &export);
    let tree = format!("nfs:10.0.2.2:{}/f39", export.display());
    let img = xtask::image(
        &work.join("image"),
        &format!("{CMDLINE} pxe.location={tree}/"),
    )
    .unwrap_or_else(|e| panic!("image: {e}"));
    let root = tftp_root_with("location-nfs-tftp", &img);
    let _l = qemu_lock();
    let g = Guest {
        tftp_root: Some(root),
        echo: echo(),
        netns: Some(nfsd.ns.clone()),
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
            "NFS-TARGET-UP",
            &format!("TARGET-CMDLINE: ro ramdisk_size=40000 console=ttysclp0 inst.repo={tree}"),
        ],
    );
    assert_absent(&con, "pxelinux.cfg");
}

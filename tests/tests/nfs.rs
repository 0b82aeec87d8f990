//! NFS locations against nfs-ganesha (NFSv3 over TCP, with rpcbind, in the
//! server namespace and a mount namespace of their own): `nfs:host:/path`,
//! `nfs://host/path` and `nfs://host:port/path` byte-identical (over IPv4
//! and IPv6), files inside an ISO and an ext4 image on NFS (`nfs+iso:`,
//! `nfs:.../disk.img/...`), a relative symbolic link on the path, tree
//! detection, the boot pipeline, the xenpvnetboot drop-in, reserved source
//! ports, and the failures: a path no export contains, an export that
//! refuses us, a missing file, a file above the size limit, hostile
//! replies, and a server that is not running.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use pxeinit_tests::*;

/// The VFS backend ganesha loads (Debian's `nfs-ganesha-vfs`).
const FSAL_VFS: &str = "/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so";

struct Out {
    code: Option<i32>,
    json: serde_json::Value,
    stderr: String,
    took: Duration,
}

impl Out {
    fn last_line(&self) -> &str {
        self.stderr.lines().last().unwrap_or_default()
    }
}

fn pxeinit(lab: &Lab, args: &[&str]) -> Out {
    let t = Instant::now();
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
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        took: t.elapsed(),
    }
}

fn nfs_lab(name: &str, needs: &[&str]) -> Option<Lab> {
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

/// rpcbind and ganesha.nfsd in the server namespace, in a mount namespace
/// with a private /run (rpcbind's socket and lock; ganesha registers
/// through the socket), exporting the lab root read-only over NFSv3/TCP
/// to everyone (from reserved ports only when `privileged`) and
/// `private/` to 10.9.9.9 only.
fn ganesha(lab: &Lab) {
    ganesha_with(lab, false)
}

fn ganesha_with(lab: &Lab, privileged: bool) {
    let root = lab.root();
    let private = lab.dir.join("private");
    std::fs::create_dir_all(&private).unwrap();
    std::fs::create_dir_all(lab.dir.join("recovery")).unwrap();
    let conf = lab.file(
        "ganesha.conf",
        format!(
            "NFS_CORE_PARAM {{ Protocols = 3; NFS_Port = 2049; MNT_Port = 20048;\n\
             Enable_NLM = false; Enable_RQUOTA = false; }}\n\
             NFSv4 {{ Graceless = true; RecoveryRoot = {rec}; }}\n\
             EXPORT {{ Export_Id = 1; Path = {root}; Pseudo = /root; Access_Type = RO;\n\
             PrivilegedPort = {privileged}; Squash = No_Root_Squash; Protocols = 3; Transports = TCP; SecType = sys;\n\
             FSAL {{ Name = VFS; }} }}\n\
             EXPORT {{ Export_Id = 2; Path = {private}; Pseudo = /private; Access_Type = None;\n\
             Protocols = 3; Transports = TCP; SecType = sys;\n\
             CLIENT {{ Clients = 10.9.9.9; Access_Type = RO; }}\n\
             FSAL {{ Name = VFS; }} }}\n\
             LOG {{ Default_Log_Level = EVENT; }}\n",
            rec = lab.dir.join("recovery").display(),
            root = root.display(),
            private = private.display(),
            privileged = match privileged {
                true => "true",
                false => "false",
            },
        ),
    );
    let script = xtask::ganesha_script(&conf, &lab.dir);
    lab.spawn(
        "ganesha",
        &[
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ],
    );
    lab.wait_port("tcp", 111);
    // ganesha listens on dual-stack sockets: /proc/net/tcp6.
    lab.wait_port("tcp6", 2049);
    lab.wait_port("tcp6", 20048);
}

/// `fetch` of `loc` succeeds with `sha`.
fn fetched(lab: &Lab, loc: &str, sha: &str, bytes: u64) -> Out {
    let o = pxeinit(lab, &["fetch", loc]);
    assert_eq!(o.code, Some(0), "{loc}: {}", o.stderr);
    assert_eq!(o.json["sha256"], sha, "{loc}");
    assert_eq!(o.json["bytes"], bytes, "{loc}");
    assert_eq!(o.json["from"], loc);
    o
}

/// Every location form against ganesha, byte-identical; an ISO on NFS;
/// a symbolic link; tree detection; the failures a server can give; and
/// 64 MiB over NFS against the same over HTTP from nginx.
#[test]
fn nfs_against_ganesha() {
    let Some(lab) = nfs_lab(
        "nfs_against_ganesha",
        &[
            "ganesha.nfsd",
            FSAL_VFS,
            "rpcbind",
            "unshare",
            "mount",
            "xorriso",
            "mke2fs",
            "nginx",
        ],
    ) else {
        return;
    };
    let root = lab.root();
    let r = root.display().to_string();
    let ksha = lab.put_random("images/kernel.img", 3 << 20, 31);
    // Not a multiple of any read size.
    let isha = lab.put_random("images/initrd.img", (5 << 20) + 4321, 32);
    std::os::unix::fs::symlink("images", root.join("current")).unwrap();
    let suse = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../locations/tests/testdata/opensuse-leap-15.6-s390x/boot/s390x");
    let src = lab.dir.join("iso-src");
    for f in ["linux", "initrd", "parmfile"] {
        let data = std::fs::read(suse.join(f)).unwrap();
        lab.put(&format!("leap/boot/s390x/{f}"), &data);
        let p = src.join("boot/s390x").join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let p = src.join("images/big-initrd.img");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, pattern((2 << 20) + 77, 33)).unwrap();
    let big_sha = sha256_file(&p);
    let iso = root.join("dvd.iso");
    sh(&[
        "xorriso",
        "-as",
        "mkisofs",
        "-R",
        "-J",
        "-V",
        "PXEINIT_NFS",
        "-o",
        &iso.to_string_lossy(),
        &src.to_string_lossy(),
    ]);
    // An ext4 image with the same tree (read through the same image
    // code as an ISO).
    sh(&[
        "mke2fs",
        "-q",
        "-F",
        "-t",
        "ext4",
        "-d",
        &src.to_string_lossy(),
        &root.join("disk.img").to_string_lossy(),
        "16M",
    ]);
    let bsha = lab.put_random("big", 64 << 20, 34);
    ganesha(&lab);
    lab.nginx();

    let h = "192.168.77.1";
    fetched(
        &lab,
        &format!("nfs:{h}:{r}/images/kernel.img"),
        &ksha,
        3 << 20,
    );
    fetched(
        &lab,
        &format!("nfs://{h}{r}/images/initrd.img"),
        &isha,
        (5 << 20) + 4321,
    );
    fetched(
        &lab,
        &format!("nfs://{h}:2049{r}/images/kernel.img"),
        &ksha,
        3 << 20,
    );
    // Over IPv6: rpcbind and ganesha listen on both.
    for (ns, dev, a) in [
        (&lab.srv_ns, SERVER_IF, "fd00:77::1/64"),
        (&lab.cli_ns, CLIENT_IF, "fd00:77::50/64"),
    ] {
        sh(&["ip", "-n", ns, "addr", "add", a, "dev", dev, "nodad"]);
    }
    for loc in [
        format!("nfs:[fd00:77::1]:{r}/images/kernel.img"),
        format!("nfs://[fd00:77::1]{r}/images/kernel.img"),
    ] {
        fetched(&lab, &loc, &ksha, 3 << 20);
    }
    // A relative symbolic link on the path, and `..` through it.
    fetched(
        &lab,
        &format!("nfs:{h}:{r}/current/kernel.img"),
        &ksha,
        3 << 20,
    );
    fetched(
        &lab,
        &format!("nfs:{h}:{r}/current/../images/kernel.img"),
        &ksha,
        3 << 20,
    );
    // Inside an ISO on NFS: nfs+iso:, and an .iso component in nfs:.
    fetched(
        &lab,
        &format!("nfs+iso:{h}:{r}/dvd.iso/images/big-initrd.img"),
        &big_sha,
        (2 << 20) + 77,
    );
    fetched(
        &lab,
        &format!("nfs:{h}:{r}/dvd.iso/images/big-initrd.img"),
        &big_sha,
        (2 << 20) + 77,
    );

    fetched(
        &lab,
        &format!("nfs:{h}:{r}/disk.img/images/big-initrd.img"),
        &big_sha,
        (2 << 20) + 77,
    );

    let o = pxeinit(&lab, &["tree", &format!("nfs:{h}:{r}/leap")]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.json["family"], "suse");
    assert_eq!(
        o.json["cmdline"],
        format!("linuxrcstderr=/dev/console install=nfs://{h}{r}/leap")
    );
    let o = pxeinit(&lab, &["tree", &format!("nfs+iso:{h}:{r}/dvd.iso")]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.json["family"], "suse", "{}", o.json);

    // Failures: one line each, naming the location once.
    let loc = format!("nfs:{h}:{r}/images/nope");
    let o = pxeinit(&lab, &["fetch", &loc]);
    assert_eq!(o.code, Some(2));
    assert_eq!(o.last_line(), format!("pxeinit: {loc}: file not found"));
    let loc = format!("nfs+iso:{h}:{r}/dvd.iso/images/nope");
    let o = pxeinit(&lab, &["fetch", &loc]);
    assert_eq!(o.code, Some(2));
    assert_eq!(o.last_line(), format!("pxeinit: {loc}: file not found"));
    // ganesha lists only the exports this client may mount, and answers
    // MNT3ERR_ACCES for any other path.
    let loc = format!("nfs:{h}:/srv/elsewhere/kernel.img");
    let o = pxeinit(&lab, &["fetch", &loc]);
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.last_line(),
        format!(
            "pxeinit: {loc}: NFS server {h} does not export /srv/elsewhere/kernel.img to us (MNT3ERR_ACCES; its exports: {r})"
        )
    );
    let private = lab.dir.join("private").display().to_string();
    let loc = format!("nfs:{h}:{private}/kernel.img");
    let o = pxeinit(&lab, &["fetch", &loc]);
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.last_line(),
        format!(
            "pxeinit: {loc}: NFS server {h} does not export {private}/kernel.img to us (MNT3ERR_ACCES; its exports: {r})"
        )
    );
    let loc = format!("nfs:{h}:{r}/images/kernel.img");
    let o = pxeinit(&lab, &["fetch", &loc, "--max-size", "1M"]);
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.last_line(),
        format!("pxeinit: {loc}: 3145728 bytes, larger than the size limit of 1048576 bytes")
    );
    let loc = format!("nfs:{h}:{r}/images");
    let o = pxeinit(&lab, &["fetch", &loc]);
    assert_eq!(o.code, Some(2));
    assert_eq!(o.last_line(), format!("pxeinit: {loc}: is a directory"));

    // 64 MiB over NFS and over HTTP (the numbers say something with
    // PXEINIT_BIN set to a release build).
    let seconds = |loc: &str| {
        fetched(&lab, loc, &bsha, 64 << 20).json["seconds"]
            .as_f64()
            .unwrap()
    };
    let nfs = seconds(&format!("nfs:{h}:{r}/big"));
    let http = seconds(&format!("http://{h}:8080/big"));
    eprintln!(
        "64 MiB: NFS {nfs:.3} s ({:.0} MiB/s), HTTP {http:.3} s ({:.0} MiB/s)",
        64.0 / nfs,
        64.0 / http
    );
}

/// pxeinit as `xenpvnetboot` with `--location=nfs:` (its MountedFetcher)
/// and `nfs+iso:` (its NFSISOFetcher): the files land in the output
/// directory, byte-identical.
#[test]
fn xenpvnetboot_nfs_locations() {
    let Some(lab) = nfs_lab(
        "xenpvnetboot_nfs_locations",
        &[
            "ganesha.nfsd",
            FSAL_VFS,
            "rpcbind",
            "unshare",
            "mount",
            "xorriso",
        ],
    ) else {
        return;
    };
    let r = lab.root().display().to_string();
    let ksha = lab.put_random("OL6/images/pxeboot/vmlinuz", 1 << 20, 41);
    let rsha = lab.put_random("OL6/images/pxeboot/initrd.img", 2 << 20, 42);
    make_iso(&lab.root().join("OL6"), &lab.root().join("OL6.iso"));
    ganesha(&lab);
    let link = lab.dir.join("xenpvnetboot");
    std::os::unix::fs::symlink(pxeinit_bin(), &link).unwrap();
    for (n, location) in [
        (1, format!("nfs:192.168.77.1:{r}/OL6")),
        (2, format!("nfs+iso:192.168.77.1:{r}/OL6.iso")),
    ] {
        let out = lab.dir.join(format!("bootloader.{n}.out"));
        std::fs::write(&out, b"").unwrap();
        let outdir = lab.dir.join(format!("bootloader.{n}.d"));
        let o = Command::new("timeout")
            .arg("60")
            .args(["ip", "netns", "exec", &lab.cli_ns])
            .arg(&link)
            .args([
                "--args=console=hvc0",
                &format!("--output={}", out.display()),
                "--output-format=simple0",
                &format!("--output-directory={}", outdir.display()),
                &format!("--location={location}"),
                "/var/lib/xen/images/guest.img",
            ])
            .env_remove("RUST_LOG")
            .output()
            .expect("xenpvnetboot");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{location}: {err}");
        let result = String::from_utf8(std::fs::read(&out).unwrap()).unwrap();
        let items: Vec<&str> = result.split('\0').collect();
        let k = items[0].strip_prefix("kernel ").expect("kernel");
        let rd = items[1].strip_prefix("ramdisk ").expect("ramdisk");
        assert_eq!(items[2..], ["args console=hvc0", "", ""], "{result:?}");
        assert_eq!(sha256_file(Path::new(k)), ksha, "{location}");
        assert_eq!(sha256_file(Path::new(rd)), rsha, "{location}");
    }
}

/// No NFS server at the address: one line, at once (the portmapper's
/// connection is refused), for each location form.
#[test]
fn nfs_server_not_running() {
    let Some(lab) = nfs_lab("nfs_server_not_running", &[]) else {
        return;
    };
    for (loc, port) in [
        ("nfs:192.168.77.1:/srv/images/kernel.img", 111),
        ("nfs://192.168.77.1:2049/srv/images/kernel.img", 111),
        ("nfs+iso:192.168.77.1:/srv/dvd.iso/images/kernel.img", 111),
    ] {
        let o = pxeinit(&lab, &["fetch", loc]);
        assert_eq!(o.code, Some(2), "{loc}");
        assert_eq!(
            o.last_line(),
            format!(
                "pxeinit: {loc}: NFS server 192.168.77.1: cannot reach the portmapper (port {port}): Connection refused (os error 111)"
            )
        );
        assert!(o.took < Duration::from_secs(5), "{loc}: {:?}", o.took);
    }
}

/// XDR of a reply to `xid`: accepted, AUTH_NONE verifier, SUCCESS, then
/// `results` (u32 words), as one last fragment.
fn rpc_reply(xid: u32, results: &[u32]) -> Vec<u8> {
    let words: Vec<u32> = [xid, 1, 0, 0, 0, 0]
        .iter()
        .chain(results)
        .copied()
        .collect();
    let mut out = ((words.len() * 4) as u32 | 0x8000_0000)
        .to_be_bytes()
        .to_vec();
    for w in words {
        out.extend_from_slice(&w.to_be_bytes());
    }
    out
}

/// A scripted portmapper (port 111) and mountd (port 20048) that list
/// `/srv` and answer every `MNT` with `status`; `hostile` 1 makes mountd
/// announce a 2 GiB reply instead, 2 send empty fragments without end.
/// Returns when `stop` is set.
fn scripted_rpc(stop: std::sync::Arc<std::sync::atomic::AtomicBool>, status: u32, hostile: u8) {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::Ordering;
    let pm = TcpListener::bind((SERVER, 111)).expect("bind 111");
    let mnt = TcpListener::bind((SERVER, 20048)).expect("bind 20048");
    pm.set_nonblocking(true).unwrap();
    mnt.set_nonblocking(true).unwrap();
    while !stop.load(Ordering::SeqCst) {
        for (l, is_pm) in [(&pm, true), (&mnt, false)] {
            let Ok((mut s, _)) = l.accept() else {
                continue;
            };
            std::thread::spawn(move || {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                loop {
                    let mut mark = [0u8; 4];
                    if s.read_exact(&mut mark).is_err() {
                        return;
                    }
                    let len = (u32::from_be_bytes(mark) & 0x7fff_ffff) as usize;
                    let mut call = vec![0u8; len];
                    if s.read_exact(&mut call).is_err() {
                        return;
                    }
                    let word =
                        |i: usize| u32::from_be_bytes(call[i * 4..i * 4 + 4].try_into().unwrap());
                    let (xid, prog, proc_) = (word(0), word(3), word(5));
                    let reply = match (is_pm, prog, proc_) {
                        // GETPORT: mountd here, NFS on 2049 (never reached).
                        (true, _, 3) => {
                            let port = match word(word(7) as usize / 4 + 10) {
                                100005 => 20048,
                                _ => 2049,
                            };
                            rpc_reply(xid, &[port])
                        }
                        (false, _, _) if hostile == 1 => 0xffff_ffffu32.to_be_bytes().to_vec(),
                        (false, _, _) if hostile == 2 => [0u8; 4].repeat(5000),
                        // EXPORT: /srv to *.
                        (false, _, 5) => rpc_reply(
                            xid,
                            &[
                                1,
                                4,
                                u32::from_be_bytes(*b"/srv"),
                                1,
                                1,
                                u32::from_be_bytes(*b"*\0\0\0"),
                                0,
                                0,
                            ],
                        ),
                        (false, _, 1) => rpc_reply(xid, &[status]),
                        _ => rpc_reply(xid, &[]),
                    };
                    if s.write_all(&reply).is_err() {
                        return;
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A mountd that lists `/srv` and refuses it (as Linux's nfsd refuses a
/// client its exports do not name): the export and the status, one line;
/// one that announces a 2 GiB reply, and one that sends empty fragments
/// without end: refused, no allocation, no hang.
#[test]
fn nfs_export_refused_and_hostile_mountd() {
    let Some(lab) = nfs_lab("nfs_export_refused_and_hostile_mountd", &[]) else {
        return;
    };
    lab.thread_in_server_ns(|stop| scripted_rpc(stop, 13, 0));
    lab.wait_port("tcp", 20048);
    let loc = "nfs:192.168.77.1:/srv/images/kernel.img";
    let o = pxeinit(&lab, &["fetch", loc]);
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.last_line(),
        format!("pxeinit: {loc}: NFS server 192.168.77.1 refused export /srv: permission denied (MNT3ERR_ACCES)")
    );
    drop(lab);

    let Some(lab) = nfs_lab("nfs_export_refused_and_hostile_mountd", &[]) else {
        return;
    };
    lab.thread_in_server_ns(|stop| scripted_rpc(stop, 0, 1));
    lab.wait_port("tcp", 20048);
    let o = pxeinit(&lab, &["fetch", loc]);
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.last_line(),
        format!("pxeinit: {loc}: NFS server 192.168.77.1 (mountd): reply record longer than 1 MiB and 64 KiB")
    );
    assert!(o.took < Duration::from_secs(5), "{:?}", o.took);
    drop(lab);

    let Some(lab) = nfs_lab("nfs_export_refused_and_hostile_mountd", &[]) else {
        return;
    };
    lab.thread_in_server_ns(|stop| scripted_rpc(stop, 0, 2));
    lab.wait_port("tcp", 20048);
    let o = pxeinit(&lab, &["fetch", loc]);
    assert_eq!(o.code, Some(2));
    assert_eq!(
        o.last_line(),
        format!("pxeinit: {loc}: NFS server 192.168.77.1 (mountd): reply record in more than 1024 fragments")
    );
}

/// Copy a directory tree (dot files too).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        match e.path().is_dir() {
            true => copy_tree(&e.path(), &dest),
            false => {
                std::fs::copy(e.path(), &dest).unwrap();
            }
        }
    }
}

/// The boot pipeline (DHCP from dnsmasq, then `pxeinit boot --dry-run`)
/// with NFS: `--location nfs:` boots a Fedora tree (detected, checked
/// against its `.treeinfo`, `inst.repo=nfs:`), and a config whose KERNEL
/// is on NFS and whose INITRD is inside an ISO on NFS.
#[test]
fn boot_from_nfs() {
    let Some(lab) = Lab::new(
        "boot_from_nfs",
        &[
            "ganesha.nfsd",
            FSAL_VFS,
            "rpcbind",
            "unshare",
            "mount",
            "xorriso",
            "dnsmasq",
            "timeout",
        ],
    ) else {
        return;
    };
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../locations/tests/testdata");
    copy_tree(
        &testdata.join("fedora-39-s390x"),
        &lab.root().join("fedora"),
    );
    let src = lab.dir.join("iso-src");
    copy_tree(&testdata.join("opensuse-leap-15.6-s390x"), &src);
    make_iso(&src, &lab.root().join("leap.iso"));
    let r = lab.root().display().to_string();
    let nfs = format!("nfs:192.168.77.1:{r}");
    lab.put(
        "pxelinux.cfg/default",
        format!(
            "DEFAULT x\nLABEL x\n  KERNEL {nfs}/fedora/images/kernel.img\n  \
             INITRD nfs+iso:192.168.77.1:{r}/leap.iso/boot/s390x/initrd\n  APPEND quiet\n"
        ),
    );
    ganesha(&lab);
    lab.dnsmasq(true, &[]);
    let limit = Duration::from_secs(60);
    let sha = |d: &serde_json::Value, path: &str| {
        d["downloads"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["path"] == path))
            .map(|x| x["sha256"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("no download of {path}: {d:#}"))
    };
    let kernel = testdata.join("fedora-39-s390x/images/kernel.img");

    let run = lab.pxeinit(&["--location", &format!("{nfs}/fedora")], limit);
    let j = run.json.clone().unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(
        j["kernel"],
        format!("{nfs}/fedora/images/kernel.img"),
        "{j:#}"
    );
    assert_eq!(
        j["append"],
        format!("ro ramdisk_size=40000 cio_ignore=all,!condev inst.repo={nfs}/fedora")
    );
    assert_eq!(j["tree"]["family"], "redhat");
    assert_eq!(
        sha(&j, &format!("{nfs}/fedora/images/kernel.img")),
        sha256_file(&kernel)
    );

    let run = lab.pxeinit(&[], limit);
    let j = run.json.clone().unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(j["label"], "x", "{j:#}");
    assert_eq!(
        sha(&j, &format!("{nfs}/fedora/images/kernel.img")),
        sha256_file(&kernel)
    );
    assert_eq!(
        sha(
            &j,
            &format!("nfs+iso:192.168.77.1:{r}/leap.iso/boot/s390x/initrd")
        ),
        sha256_file(&src.join("boot/s390x/initrd"))
    );
}

/// An export that takes reserved source ports only (as Linux's nfsd
/// `secure`, its default): root (the PID 1) connects from one; a user who
/// cannot bind one gets one line that says so.
#[test]
fn nfs_reserved_source_port() {
    let Some(lab) = nfs_lab(
        "nfs_reserved_source_port",
        &[
            "ganesha.nfsd",
            FSAL_VFS,
            "rpcbind",
            "unshare",
            "mount",
            "setpriv",
        ],
    ) else {
        return;
    };
    let sha = lab.put_random("k", 1 << 20, 51);
    ganesha_with(&lab, true);
    let loc = format!("nfs:192.168.77.1:{}/k", lab.root().display());
    fetched(&lab, &loc, &sha, 1 << 20);
    let o = Command::new("timeout")
        .arg("60")
        .args(["ip", "netns", "exec", &lab.cli_ns])
        .args([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .arg(pxeinit_bin())
        .args(["fetch", &loc])
        .env_remove("RUST_LOG")
        .output()
        .expect("pxeinit");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let last = err.lines().last().unwrap_or_default();
    let (head, tail) = last.split_once(" refused as too weak ").unwrap_or_default();
    assert!(
        head.starts_with(&format!(
            "pxeinit: {loc}: NFS server 192.168.77.1 (nfsd): AUTH_SYS from port "
        )),
        "{last}"
    );
    assert_eq!(
        tail, "(AUTH_TOOWEAK): it takes only reserved source ports (below 1024), which need root",
        "{last}"
    );
}

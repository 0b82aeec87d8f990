//! A real libvirt for the tests: `virtlogd` and `libvirtd` (root, its QEMU
//! and network drivers) started inside a fresh network namespace, with
//! their own configuration, runtime, state, log and cache directories, and
//! driven with `virsh` only, as a user drives it.
//!
//! ```text
//! ip netns NS ──┬─ virtlogd, libvirtd   (/etc/libvirt, /run/libvirt, /var/lib/libvirt,
//!               │                        /var/log/libvirt, /var/cache/libvirt bind-mounted
//!               │                        from target/qemu-tests/libvirt/NAME/ in their own
//!               │                        mount namespace; nothing of the host's is used)
//!               ├─ virbr0 ── vnet0 ── qemu-system-s390x (the domain)
//!               └─ dnsmasq (libvirt's: DHCP + TFTP of the isolated network)
//! virsh -c 'qemu:///system?socket=target/.../run/libvirt-sock'   (from the host)
//! ```
//!
//! The network and domain come from `qemu-tests/libvirt/*.xml`, the
//! README's XML, with [`PLACEHOLDERS`] filled in. The configuration
//! directory holds no network, so libvirt's default NAT network does not
//! exist here; [`Libvirt::assert_isolated`] checks that the network has no
//! forward mode and that the namespace has no way out. Everything (domains,
//! networks, daemons, their leftover processes, the namespace) is torn
//! down on drop, also when the test panics.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Console;

/// The network's XML file (the README's), relative to the workspace root.
pub const NETWORK_XML: &str = "qemu-tests/libvirt/netboot-network.xml";
/// [`NETWORK_XML`] with IPv6 too (DHCPv6 and option 59), the README's
/// IPv6 section.
pub const NETWORK6_XML: &str = "qemu-tests/libvirt/netboot-network-ipv6.xml";
/// The host's IPv6 address on [`NETWORK6_XML`].
pub const HOST_IP6: &str = "2001:db8:122::1";
/// The domain's XML file (the README's).
pub const DOMAIN_XML: &str = "qemu-tests/libvirt/s390x-domain.xml";
/// The network's name in [`NETWORK_XML`].
pub const NETWORK: &str = "netboot";
/// The domain's name in [`DOMAIN_XML`].
pub const DOMAIN: &str = "zguest1";
/// The host side of the network (the bridge's address, libvirt's dnsmasq).
pub const HOST_IP: &str = "192.168.122.1";

/// The placeholders of the XML files and the example values the README
/// shows in their place.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("@TFTP_ROOT@", "/srv/tftp"),
    ("@DISK@", "/var/lib/libvirt/images/zguest1.img"),
    ("@CONSOLE_LOG@", "/var/log/libvirt/qemu/zguest1-console.log"),
];

/// The `virsh` commands the README gives, in its order, with the XML files
/// under the names it uses. [`Libvirt`] runs exactly these (the files
/// being the filled-in copies), and the README test checks it lists them.
pub const README_COMMANDS: &[&str] = &[
    "virsh net-define netboot-network.xml",
    "virsh net-start netboot",
    "virsh define s390x-domain.xml",
    "virsh domiflist zguest1",
    "virsh domuuid zguest1",
    "virsh start zguest1",
];

/// The README's `virt-install` command (after `virt-install`, before the
/// `--connect` the tests add), the same domain as [`DOMAIN_XML`]:
/// `--import --boot network,hd` keeps the network first for every boot.
/// (`--pxe` would netboot the first boot only, then boot the disk alone.)
pub const VIRT_INSTALL: &[&str] = &[
    "--name",
    "zguest1",
    "--arch",
    "s390x",
    "--machine",
    "s390-ccw-virtio",
    "--virt-type",
    "qemu",
    "--memory",
    "1024",
    "--osinfo",
    "generic",
    "--import",
    "--boot",
    "network,hd",
    "--network",
    "network=netboot,model=virtio",
    "--xml",
    "./devices/interface/driver/@event_idx=off",
    "--disk",
    "path=@DISK@,format=raw,bus=virtio",
    "--graphics",
    "none",
    "--console",
    "pty,target.type=sclp,log.file=@CONSOLE_LOG@",
    "--noautoconsole",
];

/// The programs a libvirt test needs (for [`crate::need`]).
pub const PROGRAMS: &[&str] = &[
    "ip",
    "virsh",
    "libvirtd",
    "virtlogd",
    // the QEMU driver (its package has no daemon of its own)
    "virt-qemu-run",
    "dnsmasq",
    "iptables",
    "useradd",
    "groupadd",
];

/// The directories libvirtd (as root) and virtlogd use, each replaced by a
/// private one: (path in the daemons' view, name of the private directory).
const DIRS: &[(&str, &str)] = &[
    ("/etc/libvirt", "etc"),
    ("/run/libvirt", "run"),
    ("/var/lib/libvirt", "lib"),
    ("/var/log/libvirt", "log"),
    ("/var/cache/libvirt", "cache"),
];

/// libvirtd.conf: the unix sockets only, root only, no authentication.
const LIBVIRTD_CONF: &str = "\
listen_tls = 0
listen_tcp = 0
unix_sock_group = \"root\"
unix_sock_ro_perms = \"0700\"
unix_sock_rw_perms = \"0700\"
auth_unix_ro = \"none\"
auth_unix_rw = \"none\"
log_outputs = \"3:file:/var/log/libvirt/libvirtd.log\"
";

/// qemu.conf: QEMU runs as root without confinement, cgroups or a private
/// /dev, and touches no file's ownership (the test's files stay as they
/// are); its stdio and the console log go through virtlogd (the default).
const QEMU_CONF: &str = "\
user = \"root\"
group = \"root\"
dynamic_ownership = 0
remember_owner = 0
security_driver = \"none\"
cgroup_controllers = [ ]
namespaces = [ ]
";

/// Whether the libvirt tests can run here: the programs (listed in
/// `xtask/packages.txt`, installed) and root. Else the test skips, or
/// fails under `PXEINIT_REQUIRE_ROOT_TESTS=1`.
pub fn available(test: &str) -> bool {
    if !crate::need(test, PROGRAMS) {
        return false;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !root {
        netboot_image::testenv::skip_or_fail(
            test,
            "needs root (network namespace, libvirtd as root, bridge and TAP devices)",
            netboot_image::testenv::REQUIRE_ROOT_VAR,
        );
        return false;
    }
    true
}

/// Run `cmd`; its stdout, or a panic naming it with its stderr.
fn sh(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `libvirt-qemu` user, the `libvirt-qemu` group (Debian builds
/// libvirt with both as its QEMU defaults) and the `kvm` group, which
/// libvirtd looks up at start (before it reads qemu.conf). Debian's
/// `libvirt-daemon-system` would create them; the tests do without that
/// package (it wants systemd and would start the system daemons).
fn ensure_accounts() {
    let has = |db: &str, name: &str| {
        Command::new("getent")
            .args([db, name])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    for group in ["kvm", "libvirt-qemu"] {
        if !has("group", group) {
            sh(Command::new("groupadd").args(["--system", group]));
        }
    }
    if !has("passwd", "libvirt-qemu") {
        sh(Command::new("useradd").args([
            "--system",
            "--no-create-home",
            "--home-dir",
            "/var/lib/libvirt",
            "--shell",
            "/usr/sbin/nologin",
            "--gid",
            "libvirt-qemu",
            "--groups",
            "kvm",
            "libvirt-qemu",
        ]));
    }
}

/// A libvirt of the test's own in a network namespace of its own.
pub struct Libvirt {
    /// The network namespace.
    pub ns: String,
    /// `target/qemu-tests/libvirt/NAME/`: the private directories, the
    /// daemons' output, the filled-in XML files.
    pub dir: PathBuf,
    uri: String,
    daemons: Vec<(&'static str, Child)>,
    networks: Mutex<Vec<String>>,
    domains: Mutex<Vec<String>>,
    commands: Mutex<Vec<String>>,
    boots: AtomicUsize,
}

impl Libvirt {
    /// Create the namespace and start `virtlogd` and `libvirtd` in it; wait
    /// until `virsh` answers.
    pub fn start(name: &str) -> Libvirt {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        ensure_accounts();
        let ns = format!(
            "pxeinit-lv-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let dir = xtask::target_dir().join("qemu-tests/libvirt").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        for (_, d) in DIRS {
            std::fs::create_dir_all(dir.join(d)).expect("mkdir");
        }
        // No networks (so no "default"), no domains: libvirt starts empty.
        std::fs::create_dir_all(dir.join("etc/qemu/networks")).expect("mkdir");
        std::fs::write(dir.join("etc/libvirtd.conf"), LIBVIRTD_CONF).expect("libvirtd.conf");
        std::fs::write(dir.join("etc/qemu.conf"), QEMU_CONF).expect("qemu.conf");
        std::fs::write(dir.join("etc/virtlogd.conf"), "").expect("virtlogd.conf");
        // Mount points for the private directories, in the host's tree.
        for (p, _) in DIRS {
            std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {p}: {e}"));
        }
        let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        sh(Command::new("ip").args(["netns", "add", &ns]));
        let mut lv = Libvirt {
            uri: format!(
                "qemu:///system?socket={}",
                dir.join("run/libvirt-sock").display()
            ),
            ns,
            dir,
            daemons: vec![],
            networks: Mutex::new(vec![]),
            domains: Mutex::new(vec![]),
            commands: Mutex::new(vec![]),
            boots: AtomicUsize::new(0),
        };
        lv.netns(&["ip", "link", "set", "lo", "up"]);
        lv.spawn("virtlogd", &["-p", "/run/libvirt/virtlogd.pid"]);
        lv.wait_for_file("run/virtlogd-sock", "virtlogd");
        lv.spawn("libvirtd", &["-p", "/run/libvirt/libvirtd.pid"]);
        let t0 = Instant::now();
        loop {
            if lv.try_virsh(&["list", "--all"]).is_ok() {
                break;
            }
            lv.check_daemons();
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "libvirtd does not answer:\n{}",
                lv.daemon_logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        lv
    }

    /// `ip netns exec NS args...`, which must succeed; its stdout.
    pub fn netns(&self, args: &[&str]) -> String {
        sh(Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .args(args))
    }

    /// Start `daemon` in the namespace, in a mount namespace of its own
    /// (`ip netns exec` makes one, a slave of the host's) where the
    /// private directories hide the host's.
    fn spawn(&mut self, daemon: &'static str, args: &[&str]) {
        let mut script = String::from("set -e\n");
        for (path, d) in DIRS {
            script.push_str(&format!(
                "mount --bind '{}' '{path}'\n",
                self.dir.join(d).display()
            ));
        }
        script.push_str("exec \"$@\"\n");
        let out = std::fs::File::create(self.dir.join(format!("{daemon}.out"))).expect("log");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, "sh", "-c", &script, "sh", daemon])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {daemon}: {e}"));
        self.daemons.push((daemon, child));
    }

    fn wait_for_file(&mut self, rel: &str, who: &str) {
        let t0 = Instant::now();
        while !self.dir.join(rel).exists() {
            self.check_daemons();
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "{who} did not create {rel}:\n{}",
                self.daemon_logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn check_daemons(&mut self) {
        for (name, c) in &mut self.daemons {
            if let Ok(Some(st)) = c.try_wait() {
                let name = *name;
                panic!("{name} exited ({st}):\n{}", self.daemon_logs());
            }
        }
    }

    /// What the daemons printed and libvirtd logged (warnings and errors).
    pub fn daemon_logs(&self) -> String {
        ["virtlogd.out", "libvirtd.out", "log/libvirtd.log"]
            .iter()
            .map(|f| {
                let t = std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
                let tail: Vec<&str> = t.lines().rev().take(30).collect();
                format!(
                    "--- {f}\n{}\n",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect()
    }

    /// The connection URI (`qemu:///system` on this libvirtd's socket).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// `virsh -c URI args...`: its stdout, or its error.
    pub fn try_virsh(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("virsh")
            .args(["-q", "-c", &self.uri])
            .args(args)
            .output()
            .map_err(|e| format!("cannot run virsh: {e}"))?;
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("virsh {}", args.join(" ")));
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "virsh {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `virsh -c URI args...`, which must succeed.
    pub fn virsh(&self, args: &[&str]) -> String {
        self.try_virsh(args)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.daemon_logs()))
    }

    /// Every `virsh` command run so far, without the `-c` option.
    pub fn commands(&self) -> Vec<String> {
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The `virsh` commands run so far as a user types them: the XML files
    /// by their names in the work directory (compare [`README_COMMANDS`]).
    pub fn user_commands(&self) -> Vec<String> {
        let dir = format!("{}/", self.dir.display());
        self.commands()
            .into_iter()
            .map(|c| c.replace(&dir, ""))
            .collect()
    }

    /// Write `xml` as `file` in the work directory; its path.
    fn xml_file(&self, file: &str, xml: &str) -> String {
        let p = self.dir.join(file);
        std::fs::write(&p, xml).expect("write xml");
        p.display().to_string()
    }

    /// `virsh net-define` [`NETWORK_XML`] with its TFTP root at `tftp_root`,
    /// `virsh net-start`.
    pub fn start_network(&self, tftp_root: &Path) {
        self.start_network_from(NETWORK_XML, tftp_root)
    }

    /// [`start_network`](Self::start_network) from the network XML file
    /// `rel` ([`NETWORK_XML`] or [`NETWORK6_XML`]).
    pub fn start_network_from(&self, rel: &str, tftp_root: &Path) {
        let xml = fill(&read_xml(rel), &[("@TFTP_ROOT@", tftp_root)]);
        let f = self.xml_file("netboot-network.xml", &xml);
        self.virsh(&["net-define", &f]);
        self.networks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(NETWORK.into());
        self.virsh(&["net-start", NETWORK]);
    }

    /// `virsh define` a domain from `xml` (the filled-in [`DOMAIN_XML`],
    /// maybe with more devices: see [`domain_xml`]); its MAC address (from
    /// `virsh domiflist`) and UUID (`virsh domuuid`), as the user reads
    /// them to name `pxelinux.cfg/01-<mac>` and `pxelinux.cfg/<uuid>`.
    pub fn define(&self, xml: &str) -> Domain {
        let f = self.xml_file("s390x-domain.xml", xml);
        self.virsh(&["define", &f]);
        self.domains
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(DOMAIN.into());
        self.domain(DOMAIN)
    }

    /// `virt-install` [`VIRT_INSTALL`] (the README's command) with the disk
    /// at `disk` and the console logged to `console_log`: it defines the
    /// domain and starts it. The domain, with its MAC and UUID.
    pub fn virt_install(&self, disk: &Path, console_log: &Path) -> Domain {
        let args: Vec<String> = VIRT_INSTALL
            .iter()
            .map(|a| {
                a.replace("@DISK@", &disk.display().to_string())
                    .replace("@CONSOLE_LOG@", &console_log.display().to_string())
            })
            .collect();
        let out = Command::new("virt-install")
            .args(["--connect", &self.uri])
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run virt-install: {e}"));
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("virt-install {}", args.join(" ")));
        self.domains
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(DOMAIN.into());
        assert!(
            out.status.success(),
            "virt-install failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.daemon_logs()
        );
        self.domain(DOMAIN)
    }

    /// The defined domain `name`: its MAC (`virsh domiflist`) and UUID
    /// (`virsh domuuid`).
    fn domain(&self, name: &str) -> Domain {
        let ifs = self.virsh(&["domiflist", name]);
        let mac = ifs
            .split_whitespace()
            .find(|w| w.len() == 17 && w.matches(':').count() == 5)
            .unwrap_or_else(|| panic!("no MAC in virsh domiflist:\n{ifs}"))
            .to_string();
        let uuid = self.virsh(&["domuuid", name]).trim().to_string();
        Domain {
            name: name.into(),
            mac,
            uuid,
        }
    }

    /// The domain's state (`virsh domstate`): "running", "shut off", ...
    pub fn state(&self, dom: &Domain) -> String {
        self.virsh(&["domstate", &dom.name]).trim().to_string()
    }

    /// Wait up to `limit` for the domain to be shut off; whether it is.
    pub fn wait_shut_off(&self, dom: &Domain, limit: Duration) -> bool {
        let t0 = Instant::now();
        loop {
            if self.state(dom) == "shut off" {
                return true;
            }
            if t0.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Stop the domain if it still runs (`virsh destroy`).
    pub fn stop(&self, dom: &Domain) {
        if self.state(dom) != "shut off" {
            let _ = self.try_virsh(&["destroy", &dom.name]);
        }
    }

    /// `virsh start` the domain and read its console log (the console's
    /// `<log file>`) until a line contains one of `until`, the domain shuts
    /// off, or `limit` passes. `on_line` sees each line as it comes, with
    /// the seconds since `virsh start` was called. The console's times
    /// count from that call too; it is also written to `dir/boot-N.log`.
    pub fn boot(
        &self,
        dom: &Domain,
        log: &Path,
        until: &[&str],
        limit: Duration,
        on_line: &mut dyn FnMut(&str, f64),
    ) -> Console {
        let _ = std::fs::remove_file(log);
        let t0 = Instant::now();
        self.virsh(&["start", &dom.name]);
        self.watch(dom, log, t0, until, limit, on_line)
    }

    /// [`Libvirt::boot`] of a domain already started at `t0` (by
    /// `virt-install`, say): read its console log until a line contains one
    /// of `until`, the domain shuts off, or `limit` passes.
    pub fn watch(
        &self,
        dom: &Domain,
        log: &Path,
        t0: Instant,
        until: &[&str],
        limit: Duration,
        on_line: &mut dyn FnMut(&str, f64),
    ) -> Console {
        let mut tail = Tail::new(log);
        let mut con = Console::default();
        let mut last_state = Instant::now();
        loop {
            let lines = tail.poll();
            let t = t0.elapsed().as_secs_f64();
            let mut hit = false;
            for l in lines {
                if crate::echo() {
                    eprintln!("[{t:7.3}] {l}");
                }
                on_line(&l, t);
                hit |= until.iter().any(|u| l.contains(u));
                con.lines.push((t, l));
            }
            if hit {
                break;
            }
            if last_state.elapsed() > Duration::from_secs(1) {
                last_state = Instant::now();
                if self.state(dom) == "shut off" {
                    // What the guest wrote last.
                    let t = t0.elapsed().as_secs_f64();
                    for l in tail.poll().into_iter().chain(tail.rest()) {
                        con.lines.push((t, l));
                    }
                    con.exited = true;
                    break;
                }
            }
            if t0.elapsed() > limit {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Kept for a look afterwards: the log itself starts afresh at the
        // next `virsh start`.
        let n = self.boots.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = std::fs::write(self.dir.join(format!("boot-{n}.log")), con.text());
        con
    }

    /// The network has no forward mode (`virsh net-dumpxml`), the namespace
    /// routes nothing beyond the bridge (no default route, no forwarding),
    /// and its only links are the loopback, bridges and TAP devices (no
    /// veth or other way to the host). Panics otherwise.
    pub fn assert_isolated(&self) {
        let xml = self.virsh(&["net-dumpxml", NETWORK]);
        assert!(
            !xml.contains("<forward"),
            "the network has a forward mode:\n{xml}"
        );
        assert!(xml.contains("<bridge name='"), "no bridge:\n{xml}");
        for fam in ["-4", "-6"] {
            let routes = self.netns(&["ip", fam, "route", "show", "table", "all"]);
            for r in routes.lines() {
                let ok = !r.starts_with("default")
                    && (r.contains(" dev lo ")
                        || r.contains(" dev virbr")
                        || r.contains(" dev vnet"));
                assert!(ok, "route beyond the bridge in {}: {r}\n{routes}", self.ns);
            }
        }
        for k in [
            "/proc/sys/net/ipv4/ip_forward",
            "/proc/sys/net/ipv6/conf/all/forwarding",
        ] {
            let got = self.netns(&["cat", k]);
            assert_eq!(got.trim(), "0", "{k} in {}", self.ns);
        }
        let links = self.netns(&["ip", "-d", "-o", "link", "show"]);
        for l in links.lines() {
            let name = l
                .split(": ")
                .nth(1)
                .unwrap_or("")
                .split('@')
                .next()
                .unwrap_or("");
            let kind_ok = name == "lo" || l.contains(" bridge ") || l.contains(" tun ");
            assert!(
                kind_ok,
                "link {name:?} in {} is neither bridge nor TAP: {l}",
                self.ns
            );
        }
    }
}

impl Drop for Libvirt {
    fn drop(&mut self) {
        let domains = std::mem::take(&mut *self.domains.lock().unwrap_or_else(|e| e.into_inner()));
        for d in domains {
            let _ = self.try_virsh(&["destroy", &d]);
            let _ = self.try_virsh(&["undefine", &d]);
        }
        let nets = std::mem::take(&mut *self.networks.lock().unwrap_or_else(|e| e.into_inner()));
        for n in nets {
            let _ = self.try_virsh(&["net-destroy", &n]);
            let _ = self.try_virsh(&["net-undefine", &n]);
        }
        for (_, c) in self.daemons.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Whatever libvirtd left in the namespace (its dnsmasq, a QEMU).
        for _ in 0..20 {
            let pids = Command::new("ip")
                .args(["netns", "pids", &self.ns])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let pids: Vec<&str> = pids.split_whitespace().collect();
            if pids.is_empty() {
                break;
            }
            let _ = Command::new("kill").arg("-9").args(&pids).output();
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

/// A defined domain.
#[derive(Debug, Clone)]
pub struct Domain {
    /// Its name.
    pub name: String,
    /// Its interface's MAC address, as libvirt generated it.
    pub mac: String,
    /// Its UUID, as libvirt generated it.
    pub uuid: String,
}

/// The text of `rel` (relative to the workspace root).
pub fn read_xml(rel: &str) -> String {
    let p = xtask::root().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `xml` with each placeholder replaced by its path; panics if one is
/// left.
pub fn fill(xml: &str, values: &[(&str, &Path)]) -> String {
    let mut s = xml.to_string();
    for (k, v) in values {
        s = s.replace(k, &v.display().to_string());
    }
    assert!(!s.contains('@'), "unfilled placeholder in:\n{s}");
    s
}

/// [`DOMAIN_XML`] with its disk at `disk` and its console logged to
/// `console_log`; `extra_devices` go after the README's devices.
pub fn domain_xml(disk: &Path, console_log: &Path, extra_devices: &str) -> String {
    let xml = fill(
        &read_xml(DOMAIN_XML),
        &[("@DISK@", disk), ("@CONSOLE_LOG@", console_log)],
    );
    xml.replacen("  </devices>", &format!("{extra_devices}  </devices>"), 1)
}

/// The device number (`0.0.XXXX`) libvirt gave the disk `target`
/// (`vda`, ...), from `virsh dumpxml`.
pub fn disk_devno(lv: &Libvirt, dom: &Domain, target: &str) -> String {
    let xml = lv.virsh(&["dumpxml", &dom.name]);
    let disk = xml
        .split("<disk ")
        .skip(1)
        .find(|d| d.contains(&format!("<target dev='{target}'")))
        .unwrap_or_else(|| panic!("no disk {target} in:\n{xml}"));
    let devno = disk
        .split("devno='0x")
        .nth(1)
        .and_then(|s| s.get(..4))
        .unwrap_or_else(|| panic!("disk {target} has no CCW address:\n{xml}"));
    format!("0.0.{devno}")
}

/// Reads a growing file line by line.
struct Tail {
    path: PathBuf,
    pos: usize,
    partial: Vec<u8>,
}

impl Tail {
    fn new(path: &Path) -> Tail {
        Tail {
            path: path.to_path_buf(),
            pos: 0,
            partial: vec![],
        }
    }

    /// The complete lines added since the last call.
    fn poll(&mut self) -> Vec<String> {
        let data = std::fs::read(&self.path).unwrap_or_default();
        if data.len() < self.pos {
            // Truncated (a new start): read it again from the beginning.
            self.pos = 0;
            self.partial.clear();
        }
        self.partial.extend_from_slice(&data[self.pos..]);
        self.pos = data.len();
        let mut lines = vec![];
        while let Some(i) = self.partial.iter().position(|&b| b == b'\n') {
            let l: Vec<u8> = self.partial.drain(..=i).collect();
            lines.push(
                String::from_utf8_lossy(&l)
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            );
        }
        lines
    }

    /// A last line without its newline.
    fn rest(&mut self) -> Option<String> {
        let l = std::mem::take(&mut self.partial);
        (!l.is_empty()).then(|| String::from_utf8_lossy(&l).trim_end().to_string())
    }
}

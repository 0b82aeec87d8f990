//! Host integration tests for `pxeinit`: the real binary against real
//! DHCP, TFTP and HTTP servers, each test in its own pair of network
//! namespaces.
//!
//! A [`Lab`] is one test's network: a server namespace holding `srv0`
//! (192.168.77.1/24 and .2/24) and a client namespace holding `pxc0` (MAC
//! [`CLIENT_MAC`], no address), joined by a veth pair. Servers run inside
//! the server namespace through `ip netns exec`, each in its own process
//! group; `pxeinit boot --interface pxc0 --dry-run` runs in the client
//! namespace and its JSON plan is parsed. Dropping the `Lab` (also while a
//! test panics) kills the servers, stops the helper threads, deletes both
//! namespaces and prints the server logs of a failed test.
//!
//! Impairments: [`Lab::loss`] installs nftables `numgen random` drops at the
//! ingress of both veth ends (so no sender sees an error, as on a real
//! link); [`Relay`] is a UDP relay for TFTP that duplicates, reorders and
//! injects truncated or garbage packets from the server's TID; [`Junk`]
//! sprays garbage and truncated DHCP replies at the client's port 68 and at
//! every UDP port the client has open.
//!
//! Tests need root, `ip` and `nft`. Without them a test prints `SKIP` and
//! passes, unless `PXEINIT_REQUIRE_ROOT_TESTS=1` (set by CI), where it
//! fails.

pub mod farm;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The server's address on the test link.
pub const SERVER: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 1);
/// A second server address, used by the [`Relay`].
pub const SERVER2: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 2);
/// The client's MAC address.
pub const CLIENT_MAC: &str = "52:54:00:12:34:56";
/// The PXELINUX config name for [`CLIENT_MAC`].
pub const CLIENT_MAC_CFG: &str = "pxelinux.cfg/01-52-54-00-12-34-56";
/// The client interface in the client namespace.
pub const CLIENT_IF: &str = "pxc0";
/// The server interface in the server namespace.
pub const SERVER_IF: &str = "srv0";

/// Search PATH, /usr/sbin and /sbin for `bin`.
pub fn which(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Skip a test (print and record why) or, with
/// `PXEINIT_REQUIRE_ROOT_TESTS=1`, fail it.
pub fn skip(test: &str, why: &str) {
    netboot_image::testenv::skip_or_fail(test, why, netboot_image::testenv::REQUIRE_ROOT_VAR);
}

/// The host `pxeinit` binary, built once per test process with the same
/// cargo and profile as the tests (`$PXEINIT_BIN` overrides).
pub fn pxeinit_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("PXEINIT_BIN") {
            return PathBuf::from(p);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let release = std::env::current_exe()
            .map(|p| p.components().any(|c| c.as_os_str() == "release"))
            .unwrap_or(false);
        let mut c = Command::new(&cargo);
        c.current_dir(&root).args([
            "build",
            "--quiet",
            "-p",
            "pxeinit",
            "--bin",
            "pxeinit",
            "--message-format=json-render-diagnostics",
        ]);
        if release {
            c.arg("--release");
        }
        let out = c
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cargo} build -p pxeinit: {e}"));
        assert!(
            out.status.success(),
            "cargo build -p pxeinit failed: {}",
            out.status
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["target"]["name"] == "pxeinit")
            .filter_map(|v| v["executable"].as_str().map(PathBuf::from))
            .next_back()
            .expect("cargo build -p pxeinit reported no executable")
    })
    .clone()
}

/// The RFC 7440 server helper (`pxt-rfc7440d`, a binary of this package).
pub fn rfc7440d_bin() -> PathBuf {
    // Cargo builds a package's binaries before its integration tests, into
    // the directory above the test executable's deps/.
    std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("pxt-rfc7440d")))
        .filter(|p| p.is_file())
        .expect("pxt-rfc7440d not built (it is a [[bin]] of pxeinit-tests)")
}

/// Deterministic pseudo-random content (xorshift64*), `len` bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    v.truncate(len);
    v
}

/// sha256 of a file, lowercase hex (coreutils `sha256sum`: fast even in
/// a debug build of the tests).
pub fn sha256_file(p: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(p)
        .output()
        .unwrap_or_else(|e| panic!("sha256sum: {e}"));
    assert!(out.status.success(), "sha256sum {} failed", p.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Make the ISO 9660 image `out` of the directory `src` the way the
/// tests' images are made: `xorriso -as mkisofs -R -J` (Rock Ridge and
/// Joliet names).
pub fn make_iso(src: &Path, out: &Path) {
    sh(&[
        "xorriso",
        "-as",
        "mkisofs",
        "-quiet",
        "-R",
        "-J",
        "-o",
        &out.to_string_lossy(),
        &src.to_string_lossy(),
    ]);
}

/// Run a command, panicking with its output if it fails.
pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run `f` on a new thread inside network namespace `ns`.
fn spawn_in_ns<F: FnOnce() + Send + 'static>(ns: &str, f: F) -> JoinHandle<()> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        nix::sched::setns(fd.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns {path}: {e}"));
        f()
    })
}

struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

/// One test's network: two namespaces, a veth pair, servers and helpers.
pub struct Lab {
    /// Test name (for messages).
    pub name: String,
    /// Server namespace.
    pub srv_ns: String,
    /// Client namespace.
    pub cli_ns: String,
    /// Scratch directory (configs, logs, leases, TFTP root).
    pub dir: PathBuf,
    procs: Mutex<Vec<Proc>>,
    stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Lab {
    /// Set up a lab for test `name`, or `None` (test skipped) when not root
    /// or when one of `needs` (server binaries) is missing.
    pub fn new(name: &str, needs: &[&str]) -> Option<Lab> {
        if !is_root() {
            skip(name, "needs root (network namespaces); run as root");
            return None;
        }
        for b in ["ip", "nft", "sha256sum"].iter().chain(needs) {
            assert!(
                xtask::deps::listed(b),
                "{name} needs {b}, which xtask/packages.txt does not list (so `cargo xtask test` would not install it)"
            );
            if which(b).is_none() {
                skip(
                    name,
                    &format!("{b} not installed (cargo xtask test installs it)"),
                );
                return None;
            }
        }
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let tag = format!("pxt{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(&tag);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("root/pxelinux.cfg")).expect("mkdir");
        let lab = Lab {
            name: name.into(),
            srv_ns: format!("{tag}s"),
            cli_ns: format!("{tag}c"),
            dir,
            procs: Mutex::new(vec![]),
            stop: Arc::new(AtomicBool::new(false)),
            threads: Mutex::new(vec![]),
        };
        let (s, c) = (lab.srv_ns.as_str(), lab.cli_ns.as_str());
        sh(&["ip", "netns", "add", s]);
        sh(&["ip", "netns", "add", c]);
        sh(&[
            "ip", "-n", s, "link", "add", SERVER_IF, "type", "veth", "peer", "name", CLIENT_IF,
            "netns", c,
        ]);
        sh(&[
            "ip",
            "-n",
            s,
            "addr",
            "add",
            &format!("{SERVER}/24"),
            "dev",
            SERVER_IF,
        ]);
        sh(&[
            "ip",
            "-n",
            s,
            "addr",
            "add",
            &format!("{SERVER2}/24"),
            "dev",
            SERVER_IF,
        ]);
        sh(&["ip", "-n", s, "link", "set", "lo", "up"]);
        sh(&["ip", "-n", s, "link", "set", SERVER_IF, "up"]);
        sh(&[
            "ip", "-n", c, "link", "set", CLIENT_IF, "address", CLIENT_MAC,
        ]);
        sh(&["ip", "-n", c, "link", "set", "lo", "up"]);
        // The client link is up as a switch port would be (Kea opens no
        // socket on an interface without carrier); pxeinit sets it up too.
        sh(&["ip", "-n", c, "link", "set", CLIENT_IF, "up"]);
        Some(lab)
    }

    /// The TFTP/HTTP root directory.
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// Write `content` to `root/rel`; returns its path.
    pub fn put(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.root().join(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).expect("mkdir");
        }
        fs::write(&p, content).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p
    }

    /// Write a pseudo-random file of `len` bytes to `root/rel`; returns its sha256.
    pub fn put_random(&self, rel: &str, len: usize, seed: u64) -> String {
        let p = self.put(rel, pattern(len, seed));
        sha256_file(&p)
    }

    /// Write a file into the scratch directory; returns its path.
    pub fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.join(name);
        fs::write(&p, content).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p
    }

    /// Start `argv` in the server namespace as a new process group, output
    /// to `<dir>/<name>.log`.
    pub fn spawn(&self, name: &str, argv: &[&str]) {
        self.spawn_env(name, argv, &[])
    }

    /// [`Lab::spawn`] with environment variables.
    pub fn spawn_env(&self, name: &str, argv: &[&str], env: &[(&str, &str)]) {
        let log = self.dir.join(format!("{name}.log"));
        let f = File::create(&log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.srv_ns])
            .args(argv)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(f.try_clone().expect("dup"))
            .stderr(f)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {argv:?}: {e}"));
        self.procs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Proc {
                name: name.into(),
                child,
                log,
            });
    }

    /// The log of server `name` so far.
    pub fn log(&self, name: &str) -> String {
        fs::read(self.dir.join(format!("{name}.log")))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Kill server `name` (its whole process group) now.
    pub fn kill(&self, name: &str) {
        let mut procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        for p in procs.iter_mut().filter(|p| p.name == name) {
            kill_group(&mut p.child);
        }
    }

    fn check_alive(&self) {
        let mut procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        for p in procs.iter_mut() {
            if let Ok(Some(st)) = p.child.try_wait() {
                let log = fs::read_to_string(&p.log).unwrap_or_default();
                panic!(
                    "{}: server {} exited early ({st}):\n{log}",
                    self.name, p.name
                );
            }
        }
    }

    /// Wait until something listens on `port` (`udp` or `tcp`) in the
    /// server namespace, failing if a server died.
    pub fn wait_port(&self, proto: &str, port: u16) {
        let want = format!(":{port:04X} ");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.srv_ns,
                    "cat",
                    &format!("/proc/net/{proto}"),
                ])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            // local_address is the second column: "0100A8C0:0045 ".
            if out.lines().skip(1).any(|l| {
                l.split_whitespace()
                    .nth(1)
                    .map(|a| format!("{a} ").contains(&want))
                    .unwrap_or(false)
                    && (proto == "udp" || l.split_whitespace().nth(3) == Some("0A"))
            }) {
                return;
            }
            self.check_alive();
            assert!(
                Instant::now() < deadline,
                "{}: nothing listens on {proto} port {port} after 15 s",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Drop `pct` percent of UDP packets (nftables `numgen random`) at the
    /// ingress of both veth ends, i.e. in both directions; DHCP (ports 67
    /// and 68) too unless `spare_dhcp`.
    pub fn loss(&self, pct: u32, spare_dhcp: bool) {
        let filter = if spare_dhcp {
            "udp dport != { 67, 68 } "
        } else {
            "meta l4proto udp "
        };
        for (ns, dev) in [(&self.srv_ns, SERVER_IF), (&self.cli_ns, CLIENT_IF)] {
            let rules = format!(
                "table netdev pxt_loss {{\n  chain in {{\n    type filter hook ingress device \"{dev}\" priority 0; policy accept;\n    {filter}numgen random mod 100 < {pct} counter drop\n  }}\n}}\n"
            );
            self.nft(ns, &rules);
        }
    }

    /// Load an nftables ruleset into namespace `ns`.
    pub fn nft(&self, ns: &str, rules: &str) {
        let f = self.file(&format!("nft-{}.conf", rules.len()), rules);
        sh(&["ip", "netns", "exec", ns, "nft", "-f", &f.to_string_lossy()]);
    }

    /// `nft list ruleset` in `ns`, for counters in failure messages.
    pub fn nft_list(&self, ns: &str) -> String {
        Command::new("ip")
            .args(["netns", "exec", ns, "nft", "list", "ruleset"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Start pxeinit in the client namespace: `pxeinit boot --interface
    /// pxc0 --dry-run` followed by `args`.
    pub fn start_pxeinit(&self, args: &[&str]) -> Running {
        let mut all = vec!["--interface", CLIENT_IF];
        all.extend_from_slice(args);
        self.start_pxeinit_any(&all)
    }

    /// Start `pxeinit boot --dry-run` followed by `args` in the client
    /// namespace, without choosing an interface (pxeinit tries them all).
    pub fn start_pxeinit_any(&self, args: &[&str]) -> Running {
        let bin = pxeinit_bin();
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.cli_ns])
            .arg(&bin)
            .args(["boot", "--dry-run"])
            .args(args)
            .args(std::env::var_os("PXEINIT_TEST_DEBUG").map(|_| "--debug"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        let (tx, rx) = mpsc::channel();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        Running {
            child,
            start: Instant::now(),
            stdout: Some(stdout),
            stderr: Some(stderr),
            lines: rx,
        }
    }

    /// Run pxeinit (see [`Lab::start_pxeinit`]) to its end, killing it after
    /// `limit`.
    pub fn pxeinit(&self, args: &[&str], limit: Duration) -> Run {
        self.start_pxeinit(args).wait(limit)
    }

    /// Run `f` on a helper thread inside the server namespace; it should
    /// return when [`Lab::stopping`]'s flag is set.
    pub fn thread_in_server_ns<F: FnOnce(Arc<AtomicBool>) + Send + 'static>(&self, f: F) {
        let stop = self.stop.clone();
        let h = spawn_in_ns(&self.srv_ns, move || f(stop));
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(h);
    }

    // ----- servers -------------------------------------------------------

    /// dnsmasq as DHCP server (range .100–.120, no DNS), with its TFTP
    /// server on the lab root when `tftp`; `extra` adds options.
    pub fn dnsmasq(&self, tftp: bool, extra: &[&str]) {
        let d = self.dir.display();
        let mut argv: Vec<String> = vec![
            "dnsmasq".into(),
            "--no-daemon".into(),
            "--conf-file=/dev/null".into(),
            "--port=0".into(),
            format!("--pid-file={d}/dnsmasq.pid"),
            format!("--dhcp-leasefile={d}/dnsmasq.leases"),
            format!("--interface={SERVER_IF}"),
            "--bind-interfaces".into(),
            "--except-interface=lo".into(),
            "--dhcp-range=192.168.77.100,192.168.77.120,255.255.255.0,1h".into(),
            "--dhcp-option=option:router,192.168.77.1".into(),
            "--no-ping".into(),
            "--log-dhcp".into(),
            "--user=root".into(),
            "--group=root".into(),
        ];
        if tftp {
            argv.push("--enable-tftp".into());
            argv.push(format!("--tftp-root={}", self.root().display()));
        }
        // DNS is off unless `extra` sets a port (dnsmasq refuses a repeated flag).
        if extra.iter().any(|e| e.starts_with("--port=")) {
            argv.retain(|a| a != "--port=0");
        }
        argv.extend(extra.iter().map(|s| s.to_string()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.spawn("dnsmasq", &argv);
        self.wait_port("udp", 67);
        if tftp {
            self.wait_port("udp", 69);
        }
    }

    /// ISC Kea (`kea-dhcp4`) with the `Dhcp4` object `dhcp4` (JSON text).
    pub fn kea(&self, dhcp4: &str) {
        let conf = self.file("kea-dhcp4.conf", format!("{{ \"Dhcp4\": {dhcp4} }}"));
        let d = self.dir.to_string_lossy().into_owned();
        self.spawn_env(
            "kea",
            &["kea-dhcp4", "-c", &conf.to_string_lossy()],
            &[
                ("KEA_PIDFILE_DIR", &d),
                ("KEA_LOCKFILE_DIR", &d),
                ("KEA_LOGGER_DESTINATION", "stdout"),
            ],
        );
        self.wait_port("udp", 67);
    }

    /// busybox's `udhcpd` applet (Debian's `busybox-static` has no
    /// `udhcpd` binary) with the config text `conf` (interface, range and
    /// files are added).
    pub fn udhcpd(&self, conf: &str) {
        let d = self.dir.display();
        let conf = self.file(
            "udhcpd.conf",
            format!(
                "interface {SERVER_IF}\nstart 192.168.77.100\nend 192.168.77.120\n\
                 lease_file {d}/udhcpd.leases\npidfile {d}/udhcpd.pid\n\
                 opt subnet 255.255.255.0\nopt router 192.168.77.1\nopt lease 3600\n{conf}\n"
            ),
        );
        self.file("udhcpd.leases", "");
        let mut argv = vec!["busybox", "udhcpd"];
        let c = conf.to_string_lossy().into_owned();
        argv.extend(["-f", c.as_str()]);
        self.spawn("udhcpd", &argv);
        self.wait_port("udp", 67);
    }

    /// tftpd-hpa on `addr`:69 serving the lab root.
    pub fn tftpd_hpa(&self, addr: Ipv4Addr) {
        let root = self.root().to_string_lossy().into_owned();
        self.spawn(
            "tftpd-hpa",
            &[
                "in.tftpd",
                "--foreground",
                "--listen",
                "--address",
                &format!("{addr}:69"),
                "--user",
                "root",
                "--secure",
                &root,
            ],
        );
        self.wait_port("udp", 69);
    }

    /// The `async-tftp` RFC 7440 server on `addr`:69 serving the lab root.
    pub fn rfc7440d(&self, addr: Ipv4Addr) {
        let bin = rfc7440d_bin().to_string_lossy().into_owned();
        let root = self.root().to_string_lossy().into_owned();
        self.spawn("rfc7440d", &[&bin, &root, &format!("{addr}:69")]);
        self.wait_port("udp", 69);
    }

    /// nginx on `SERVER:8080` serving the lab root; `/redir/X` redirects
    /// (302) to `/X`, `/chunked/X` serves `X` with chunked encoding.
    pub fn nginx(&self) {
        let root = self.root();
        self.nginx_server(
            &format!(
                "    listen {SERVER}:8080;\n    root {root};\n\
                 location /redir/ {{ rewrite ^/redir/(.*)$ /$1 redirect; }}\n\
                 location /chunked/ {{ alias {root}/; sub_filter_types *; sub_filter 'never-in-the-data-7f3a' 'x'; }}\n",
                root = root.display()
            ),
            8080,
        );
    }

    /// nginx with one `server { ... }` whose body is `server_body`, in
    /// the foreground in the server namespace, logs in the lab directory;
    /// returns once `port` accepts connections.
    pub fn nginx_server(&self, server_body: &str, port: u16) {
        let d = self.dir.display();
        let conf = self.file(
            "nginx.conf",
            format!(
                "daemon off;\nmaster_process off;\nworker_processes 1;\nuser root;\npid {d}/nginx.pid;\n\
                 error_log {d}/nginx-error.log info;\nevents {{ worker_connections 64; }}\n\
                 http {{\n  access_log {d}/nginx-access.log;\n  client_body_temp_path {d}/ngx-body;\n\
                 proxy_temp_path {d}/ngx-proxy;\n  fastcgi_temp_path {d}/ngx-fcgi;\n  uwsgi_temp_path {d}/ngx-uwsgi;\n\
                 scgi_temp_path {d}/ngx-scgi;\n  default_type application/octet-stream;\n\
                 server {{\n{server_body}  }}\n}}\n"
            ),
        );
        let c = conf.to_string_lossy().into_owned();
        let p = format!("{d}/");
        self.spawn(
            "nginx",
            &[
                "nginx",
                "-p",
                &p,
                "-c",
                &c,
                "-e",
                &format!("{d}/nginx-error.log"),
            ],
        );
        self.wait_port("tcp", port);
    }
}

fn kill_group(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
    }
    let _ = child.wait();
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let mut procs = std::mem::take(&mut *self.procs.lock().unwrap_or_else(|e| e.into_inner()));
        for p in procs.iter_mut() {
            kill_group(&mut p.child);
        }
        for h in std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner())) {
            let _ = h.join();
        }
        let failed = std::thread::panicking();
        if failed {
            for p in &procs {
                let log = fs::read_to_string(&p.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("---- {} log (last 40 lines) ----", p.name);
                for l in tail.iter().rev() {
                    eprintln!("{l}");
                }
            }
            eprintln!("---- nft (client) ----\n{}", self.nft_list(&self.cli_ns));
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.cli_ns])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.srv_ns])
            .status();
        if failed && std::env::var_os("PXEINIT_KEEP_LAB").is_some() {
            eprintln!("kept {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A pxeinit process in the client namespace.
pub struct Running {
    child: Child,
    start: Instant,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    lines: mpsc::Receiver<String>,
}

impl Running {
    /// pxeinit's process id (also its process group).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait for a stderr line matching `pred`, up to `limit`; returns it.
    pub fn wait_line(&mut self, limit: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(l) if pred(&l) => return Some(l),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Wait for the end, killing pxeinit after `limit` (then the run counts
    /// as `killed`).
    pub fn wait(mut self, limit: Duration) -> Run {
        let deadline = self.start + limit;
        let mut killed = false;
        let status = loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                break st;
            }
            if Instant::now() >= deadline {
                killed = true;
                kill_group(&mut self.child);
                break self.child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let secs = self.start.elapsed().as_secs_f64();
        let stdout = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let json = serde_json::from_str(&stdout).ok();
        Run {
            status,
            killed,
            secs,
            stdout,
            stderr,
            json,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// A finished pxeinit run.
#[derive(Debug)]
pub struct Run {
    /// Exit status.
    pub status: ExitStatus,
    /// Killed at the time limit.
    pub killed: bool,
    /// Wall time.
    pub secs: f64,
    /// Standard output (the JSON plan on success).
    pub stdout: String,
    /// Standard error (the log).
    pub stderr: String,
    /// The parsed plan.
    pub json: Option<serde_json::Value>,
}

impl Run {
    /// The plan, panicking with the log if pxeinit failed.
    pub fn plan(&self) -> &serde_json::Value {
        assert!(
            !self.killed,
            "pxeinit did not finish in time ({:.1} s); log:\n{}",
            self.secs, self.stderr
        );
        assert!(
            self.status.success(),
            "pxeinit failed ({}); log:\n{}",
            self.status,
            self.stderr
        );
        self.json.as_ref().unwrap_or_else(|| {
            panic!(
                "pxeinit printed no JSON plan:\n{}\nlog:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The failure message (last stderr line), panicking if pxeinit succeeded.
    pub fn error(&self) -> String {
        assert!(
            !self.killed,
            "pxeinit did not finish in time ({:.1} s); log:\n{}",
            self.secs, self.stderr
        );
        assert!(
            !self.status.success(),
            "pxeinit should have failed but succeeded; plan:\n{}\nlog:\n{}",
            self.stdout,
            self.stderr
        );
        self.stderr.lines().last().unwrap_or_default().to_string()
    }

    /// The download record for `path` in the plan.
    pub fn download(&self, path: &str) -> &serde_json::Value {
        let plan = self.plan();
        plan["downloads"]
            .as_array()
            .and_then(|a| a.iter().find(|d| d["path"] == path))
            .unwrap_or_else(|| panic!("no download of {path} in the plan:\n{}", self.stdout))
    }

    /// Assert that `path` was downloaded with sha256 `sha` and `bytes` bytes.
    pub fn assert_download(&self, path: &str, sha: &str, bytes: u64) {
        let d = self.download(path);
        assert_eq!(
            d["bytes"].as_u64(),
            Some(bytes),
            "{path}: size; plan:\n{}",
            self.stdout
        );
        assert_eq!(
            d["sha256"].as_str(),
            Some(sha),
            "{path}: sha256 differs; log:\n{}",
            self.stderr
        );
    }
}

// ----- impairment relay ------------------------------------------------------

/// What the [`Relay`] does to packets, in percent per packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Impair {
    /// Send a packet twice (both directions).
    pub dup: u32,
    /// Hold a packet back and send it after the next one in the same
    /// direction (both directions; a held packet is flushed after 30 ms).
    pub reorder: u32,
    /// Before a server packet, send the client a truncated copy of it or a
    /// garbage datagram from the server's TID.
    pub junk: u32,
}

/// Counters of what the relay did.
#[derive(Debug, Default, Clone, Copy)]
pub struct RelayStats {
    /// Packets forwarded client → server.
    pub up: u64,
    /// Packets forwarded server → client.
    pub down: u64,
    /// Duplicates sent.
    pub dups: u64,
    /// Packets reordered.
    pub reordered: u64,
    /// Junk packets sent to the client.
    pub junk: u64,
}

/// A TFTP relay with impairments, in the server namespace: clients send
/// their RRQ to `listen`:69; the relay forwards it to `upstream`:69 from a
/// per-client socket, learns the server's TID from its first reply, and
/// relays each client's session from its own client-facing socket (the
/// TID the client sees), so TFTP's port change after the RRQ works.
pub struct Relay {
    /// What it did.
    pub stats: Arc<Mutex<RelayStats>>,
}

struct Session {
    client: SocketAddr,
    down: UdpSocket,
    up: UdpSocket,
    server_tid: Option<SocketAddr>,
    held_up: Option<(Vec<u8>, Instant)>,
    held_down: Option<(Vec<u8>, Instant)>,
    last: Instant,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pct(&mut self, p: u32) -> bool {
        p > 0 && (self.next() % 100) < u64::from(p)
    }
}

impl Relay {
    /// Start a relay on `listen`:69 towards `upstream`:69 in `lab`'s server
    /// namespace.
    pub fn start(lab: &Lab, listen: Ipv4Addr, upstream: Ipv4Addr, imp: Impair) -> Relay {
        let stats = Arc::new(Mutex::new(RelayStats::default()));
        let st = stats.clone();
        let (ready_tx, ready_rx) = mpsc::channel();
        lab.thread_in_server_ns(move |stop| {
            let l = UdpSocket::bind(SocketAddrV4::new(listen, 69)).expect("relay: bind :69");
            let _ = ready_tx.send(());
            relay_loop(
                l,
                SocketAddr::V4(SocketAddrV4::new(upstream, 69)),
                imp,
                &stop,
                &st,
            );
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("relay did not start");
        Relay { stats }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RelayStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn relay_loop(
    l: UdpSocket,
    upstream: SocketAddr,
    imp: Impair,
    stop: &AtomicBool,
    st: &Mutex<RelayStats>,
) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut sessions: HashMap<SocketAddr, Session> = HashMap::new();
    let mut buf = vec![0u8; 65536];
    let listen_ip = match l.local_addr() {
        Ok(SocketAddr::V4(a)) => *a.ip(),
        _ => Ipv4Addr::UNSPECIFIED,
    };
    while !stop.load(Ordering::SeqCst) {
        // Which socket is readable.
        let keys: Vec<SocketAddr> = sessions.keys().copied().collect();
        let mut ready: Vec<(usize, bool)> = vec![];
        {
            let mut fds = vec![PollFd::new(l.as_fd(), PollFlags::POLLIN)];
            for k in &keys {
                let s = &sessions[k];
                fds.push(PollFd::new(s.down.as_fd(), PollFlags::POLLIN));
                fds.push(PollFd::new(s.up.as_fd(), PollFlags::POLLIN));
            }
            if poll(&mut fds, PollTimeout::from(5u8)).is_err() {
                continue;
            }
            for (i, f) in fds.iter().enumerate() {
                if f.revents()
                    .map(|r| r.contains(PollFlags::POLLIN))
                    .unwrap_or(false)
                {
                    ready.push((i, true));
                }
            }
        }
        for (i, _) in ready {
            if i == 0 {
                let Ok((n, from)) = l.recv_from(&mut buf) else {
                    continue;
                };
                let s = sessions.entry(from).or_insert_with(|| Session {
                    client: from,
                    down: UdpSocket::bind(SocketAddrV4::new(listen_ip, 0))
                        .expect("relay: bind down"),
                    up: UdpSocket::bind("0.0.0.0:0").expect("relay: bind up"),
                    server_tid: None,
                    held_up: None,
                    held_down: None,
                    last: Instant::now(),
                });
                s.last = Instant::now();
                let _ = s.up.send_to(&buf[..n], upstream);
                st.lock().unwrap_or_else(|e| e.into_inner()).up += 1;
                continue;
            }
            let k = keys[(i - 1) / 2];
            let from_client = (i - 1) % 2 == 0;
            let Some(s) = sessions.get_mut(&k) else {
                continue;
            };
            s.last = Instant::now();
            let mut stats = st.lock().unwrap_or_else(|e| e.into_inner());
            if from_client {
                let Ok((n, from)) = s.down.recv_from(&mut buf) else {
                    continue;
                };
                if from != s.client {
                    continue;
                }
                let dst = s.server_tid.unwrap_or(upstream);
                let pkt = buf[..n].to_vec();
                forward(
                    &s.up,
                    dst,
                    pkt,
                    &mut s.held_up,
                    imp,
                    &mut rng,
                    &mut stats,
                    false,
                );
                stats.up += 1;
            } else {
                let Ok((n, from)) = s.up.recv_from(&mut buf) else {
                    continue;
                };
                if s.server_tid.is_none() {
                    s.server_tid = Some(from);
                }
                let pkt = buf[..n].to_vec();
                if rng.pct(imp.junk) {
                    let junk = junk_from(&pkt, &mut rng);
                    let _ = s.down.send_to(&junk, s.client);
                    stats.junk += 1;
                }
                let client = s.client;
                forward(
                    &s.down,
                    client,
                    pkt,
                    &mut s.held_down,
                    imp,
                    &mut rng,
                    &mut stats,
                    true,
                );
                stats.down += 1;
            }
        }
        // Flush packets held too long; forget idle sessions.
        let now = Instant::now();
        for s in sessions.values_mut() {
            let dst = s.server_tid.unwrap_or(upstream);
            if let Some((p, t)) = s.held_up.take() {
                if now - t > Duration::from_millis(30) {
                    let _ = s.up.send_to(&p, dst);
                } else {
                    s.held_up = Some((p, t));
                }
            }
            if let Some((p, t)) = s.held_down.take() {
                if now - t > Duration::from_millis(30) {
                    let _ = s.down.send_to(&p, s.client);
                } else {
                    s.held_down = Some((p, t));
                }
            }
        }
        sessions.retain(|_, s| now - s.last < Duration::from_secs(30));
    }
}

#[allow(clippy::too_many_arguments)]
fn forward(
    sock: &UdpSocket,
    dst: SocketAddr,
    pkt: Vec<u8>,
    held: &mut Option<(Vec<u8>, Instant)>,
    imp: Impair,
    rng: &mut Rng,
    stats: &mut RelayStats,
    _down: bool,
) {
    if held.is_none() && rng.pct(imp.reorder) {
        *held = Some((pkt, Instant::now()));
        stats.reordered += 1;
        return;
    }
    let _ = sock.send_to(&pkt, dst);
    if rng.pct(imp.dup) {
        let _ = sock.send_to(&pkt, dst);
        stats.dups += 1;
    }
    if let Some((p, _)) = held.take() {
        let _ = sock.send_to(&p, dst);
    }
}

/// Junk that a correct client must ignore, sent from the server's TID:
/// a packet cut inside its 4-byte header, a DATA header for a long-gone
/// block cut after a few bytes, random bytes with an unknown opcode, or
/// the packet with its opcode replaced by an unknown one. (A short copy of
/// the *expected* DATA block is not junk: it is a valid last block.)
fn junk_from(pkt: &[u8], rng: &mut Rng) -> Vec<u8> {
    match rng.next() % 4 {
        0 => pkt[..(rng.next() as usize % 4).min(pkt.len())].to_vec(),
        1 if pkt.len() >= 4 && pkt[..2] == [0, 3] => {
            let old =
                u16::from_be_bytes([pkt[2], pkt[3]]).wrapping_sub(100 + (rng.next() % 100) as u16);
            let mut v = vec![0, 3];
            v.extend_from_slice(&old.to_be_bytes());
            v.extend_from_slice(&pkt[4..pkt.len().min(4 + (rng.next() % 64) as usize)]);
            v
        }
        2 => {
            let mut v: Vec<u8> = (0..1 + (rng.next() % 600) as usize)
                .map(|_| rng.next() as u8)
                .collect();
            v[0] = 1 + (rng.next() % 255) as u8; // opcode >= 256: none
            v
        }
        _ => {
            let mut v = pkt.to_vec();
            if v.len() >= 2 {
                v[0] = 0;
                v[1] = 9 + (rng.next() % 200) as u8;
            }
            v
        }
    }
}

// ----- junk sprayer ----------------------------------------------------------

/// Sprays garbage from the server namespace, about 300 packets a second:
/// truncated and malformed DHCP replies (BOOTREPLY headers cut short,
/// option lengths running past the end, random bytes, OFFERs for our MAC
/// with a wrong xid) to 255.255.255.255:68 on `srv0`, and, once
/// [`Junk::target`] names the pxeinit process, random datagrams to every
/// UDP port open in the client namespace, from a port that is not the
/// server's TID.
pub struct Junk {
    /// Packets sent.
    pub sent: Arc<AtomicU32>,
    pid: Arc<AtomicU32>,
}

impl Junk {
    /// Start spraying.
    pub fn start(lab: &Lab) -> Junk {
        let sent = Arc::new(AtomicU32::new(0));
        let pid = Arc::new(AtomicU32::new(0));
        let (s2, p2) = (sent.clone(), pid.clone());
        lab.thread_in_server_ns(move |stop| {
            let Ok(bc) = UdpSocket::bind(SocketAddrV4::new(SERVER, 0)) else {
                return;
            };
            let _ = bc.set_broadcast(true);
            let _ = nix::sys::socket::setsockopt(
                &bc,
                nix::sys::socket::sockopt::BindToDevice,
                &std::ffi::OsString::from(SERVER_IF),
            );
            let uni = UdpSocket::bind(SocketAddrV4::new(SERVER, 0)).expect("junk: bind");
            let _ = uni.set_nonblocking(true);
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
            while !stop.load(Ordering::SeqCst) {
                let pkt = junk_dhcp(&mut rng);
                if bc.send_to(&pkt, "255.255.255.255:68").is_ok() {
                    s2.fetch_add(1, Ordering::Relaxed);
                }
                let pid = p2.load(Ordering::Relaxed);
                if pid != 0 {
                    for (ip, port) in udp_ports(pid) {
                        if port == 68 || port == 0 {
                            continue;
                        }
                        let dst = if ip.is_unspecified() {
                            Ipv4Addr::new(192, 168, 77, 255)
                        } else {
                            ip
                        };
                        let len = (rng.next() % 1500) as usize;
                        let p: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                        if uni.send_to(&p, SocketAddrV4::new(dst, port)).is_ok() {
                            s2.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                // Drain the client's ERROR 5 answers.
                let mut b = [0u8; 1500];
                while uni.recv_from(&mut b).is_ok() {}
                std::thread::sleep(Duration::from_millis(3));
            }
        });
        Junk { sent, pid }
    }

    /// Also spray the UDP ports of process `pid` (pxeinit).
    pub fn target(&self, pid: u32) {
        self.pid.store(pid, Ordering::Relaxed);
    }
}

/// UDP sockets of process `pid`: (local address, port) from /proc/PID/net/udp.
fn udp_ports(pid: u32) -> Vec<(Ipv4Addr, u16)> {
    let t = fs::read_to_string(format!("/proc/{pid}/net/udp")).unwrap_or_default();
    t.lines()
        .skip(1)
        .filter_map(|l| {
            let a = l.split_whitespace().nth(1)?;
            let (ip, port) = a.split_once(':')?;
            let ip = u32::from_str_radix(ip, 16).ok()?;
            let port = u16::from_str_radix(port, 16).ok()?;
            Some((Ipv4Addr::from(ip.swap_bytes()), port))
        })
        .collect()
}

fn junk_dhcp(rng: &mut Rng) -> Vec<u8> {
    let mut p = vec![0u8; 300];
    p[0] = 2; // BOOTREPLY
    p[1] = 1;
    p[2] = 6;
    for b in &mut p[4..8] {
        *b = rng.next() as u8; // xid
    }
    let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    p[28..34].copy_from_slice(&mac);
    p[16..20].copy_from_slice(&[192, 168, 77, 150]);
    p[236..240].copy_from_slice(&[99, 130, 83, 99]);
    match rng.next() % 5 {
        // Truncated header.
        0 => p.truncate((rng.next() % 240) as usize),
        // Option 53 whose length runs past the end.
        1 => {
            p[240..243].copy_from_slice(&[53, 200, 2]);
            p.truncate(245);
        }
        // No end option, options cut mid-way.
        2 => {
            p[240..246].copy_from_slice(&[53, 1, 2, 54, 4, 192]);
            p.truncate(246);
        }
        // Random garbage.
        3 => {
            let len = (rng.next() % 600) as usize;
            p = (0..len).map(|_| rng.next() as u8).collect();
        }
        // A well-formed OFFER with a wrong xid for our MAC.
        _ => {
            p[240..252].copy_from_slice(&[53, 1, 2, 54, 4, 192, 168, 77, 9, 1, 4, 255]);
            p[252..256].copy_from_slice(&[255, 255, 0, 255]);
        }
    }
    p
}

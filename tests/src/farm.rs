//! A [`Farm`]: many clients booting at once against one server, as a site
//! netboots a rack. One server namespace holds a bridge, `br0`
//! ([`FARM_SERVER`]/16), and the servers; each client has its own
//! namespace whose `pxc0` (MAC [`Farm::mac`]) is a veth into that bridge.
//! Namespaces and links are made with two `ip -batch` runs (a few hundred
//! clients take a fraction of a second); dropping the farm kills the
//! servers and clients and deletes every namespace.

use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{pxeinit_bin, sh, skip, which, CLIENT_IF};

/// The server's address on the farm's bridge.
pub const FARM_SERVER: &str = "10.90.0.1";

/// One farm: a server namespace with a bridge and `n` client namespaces.
pub struct Farm {
    /// Test name (for messages).
    pub name: String,
    /// Server namespace.
    pub srv_ns: String,
    /// Client namespaces, in order.
    pub clients: Vec<String>,
    /// Scratch directory (TFTP/HTTP root, logs, the clients' output).
    pub dir: PathBuf,
    servers: Mutex<Vec<(String, Child)>>,
}

/// One client's finished `pxeinit boot --dry-run`.
#[derive(Debug)]
pub struct FarmRun {
    /// Client number.
    pub client: usize,
    /// Exit status (`None`: killed at the limit).
    pub status: Option<ExitStatus>,
    /// Wall time from the start of all clients to this one's end.
    pub secs: f64,
    /// The log (standard error).
    pub stderr: String,
    /// The plan, if it printed one.
    pub json: Option<serde_json::Value>,
}

impl FarmRun {
    /// The failure line (last line of the log).
    pub fn last_line(&self) -> &str {
        self.stderr.lines().last().unwrap_or_default()
    }
}

fn kill_group(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
    }
    let _ = child.wait();
}

impl Farm {
    /// Set up a farm of `n` clients for test `name`, or `None` (skipped)
    /// without root or without one of `needs`.
    pub fn new(name: &str, n: usize, needs: &[&str]) -> Option<Farm> {
        if !nix::unistd::geteuid().is_root() {
            skip(name, "needs root (network namespaces); run as root");
            return None;
        }
        for b in ["ip", "sha256sum"].iter().chain(needs) {
            assert!(
                xtask::deps::listed(b),
                "{name} needs {b}, which xtask/packages.txt does not list"
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
        let tag = format!(
            "pxf{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let dir = std::env::temp_dir().join(&tag);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("root/pxelinux.cfg")).expect("mkdir");
        fs::create_dir_all(dir.join("out")).expect("mkdir");
        let farm = Farm {
            name: name.into(),
            srv_ns: format!("{tag}s"),
            clients: (0..n).map(|i| format!("{tag}c{i}")).collect(),
            dir,
            servers: Mutex::new(vec![]),
        };
        let mut add = format!("netns add {}\n", farm.srv_ns);
        for c in &farm.clients {
            add.push_str(&format!("netns add {c}\n"));
        }
        let mut links = format!(
            "link set lo up\nlink add br0 type bridge\nlink set br0 up\naddr add {FARM_SERVER}/16 dev br0\n"
        );
        for (i, c) in farm.clients.iter().enumerate() {
            links.push_str(&format!(
                "link add v{i} type veth peer name {CLIENT_IF} address {} netns {c}\nlink set v{i} master br0 up\n",
                Farm::mac(i)
            ));
        }
        let (a, l) = (
            farm.file("netns.batch", add),
            farm.file("links.batch", links),
        );
        sh(&["ip", "-batch", &a.to_string_lossy()]);
        sh(&["ip", "-n", &farm.srv_ns, "-batch", &l.to_string_lossy()]);
        Some(farm)
    }

    /// Client `i`'s MAC address.
    pub fn mac(i: usize) -> String {
        format!("52:54:00:5e:{:02x}:{:02x}", i >> 8, i & 0xff)
    }

    /// The TFTP/HTTP root.
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// Write `content` to `root/rel`.
    pub fn put(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.root().join(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).expect("mkdir");
        }
        fs::write(&p, content).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p
    }

    fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.join(name);
        fs::write(&p, content).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p
    }

    /// Start `argv` in the server namespace (its own process group; output
    /// to `<dir>/<name>.log`).
    pub fn spawn(&self, name: &str, argv: &[&str]) {
        let log = File::create(self.dir.join(format!("{name}.log"))).expect("log");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.srv_ns])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {argv:?}: {e}"));
        self.servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.into(), child));
    }

    /// Server `name`'s log so far.
    pub fn log(&self, name: &str) -> String {
        fs::read(self.dir.join(format!("{name}.log")))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Wait (15 s at most) until something listens on `port` (`udp` or
    /// `tcp`) in the server namespace.
    pub fn wait_port(&self, proto: &str, port: u16) {
        let want = format!(":{port:04X}");
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
            let found = out.lines().skip(1).any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.get(1).is_some_and(|a| a.ends_with(&want))
                    && (proto == "udp" || f.get(3) == Some(&"0A"))
            });
            if found {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: nothing listens on {proto} port {port} after 15 s",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// dnsmasq on `br0`: DHCP for all clients (boot file `pxelinux.0`,
    /// next server this host), its TFTP server on the root when `tftp`;
    /// `extra` adds options.
    pub fn dnsmasq(&self, tftp: bool, extra: &[&str]) {
        let d = self.dir.display();
        let mut argv: Vec<String> = vec![
            "dnsmasq".into(),
            "--no-daemon".into(),
            "--conf-file=/dev/null".into(),
            "--port=0".into(),
            format!("--pid-file={d}/dnsmasq.pid"),
            format!("--dhcp-leasefile={d}/dnsmasq.leases"),
            "--interface=br0".into(),
            "--bind-interfaces".into(),
            "--dhcp-range=10.90.1.0,10.90.3.250,255.255.0.0,1h".into(),
            "--dhcp-boot=pxelinux.0".into(),
            "--no-ping".into(),
            "--user=root".into(),
            "--group=root".into(),
        ];
        if tftp {
            argv.push("--enable-tftp".into());
            argv.push(format!("--tftp-root={}", self.root().display()));
        }
        argv.extend(extra.iter().map(|s| s.to_string()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.spawn("dnsmasq", &argv);
        self.wait_port("udp", 67);
        if tftp {
            self.wait_port("udp", 69);
        }
    }

    /// `pxeinit boot --interface pxc0 --dry-run ARGS` in every client
    /// namespace at once (client `i` with UUID `...-0000000000ii`), each
    /// killed after `limit`; the runs in client order.
    pub fn boot_all(&self, args: &[&str], limit: Duration) -> Vec<FarmRun> {
        let bin = pxeinit_bin();
        let start = Instant::now();
        let mut children: Vec<(Child, Option<(ExitStatus, f64)>)> = self
            .clients
            .iter()
            .enumerate()
            .map(|(i, ns)| {
                let out = File::create(self.out(i, "json")).expect("out");
                let err = File::create(self.out(i, "log")).expect("log");
                let uuid = format!("00000000-0000-4000-8000-{i:012x}");
                let child = Command::new("ip")
                    .args(["netns", "exec", ns])
                    .arg(&bin)
                    .args([
                        "boot",
                        "--interface",
                        CLIENT_IF,
                        "--dry-run",
                        "--uuid",
                        &uuid,
                    ])
                    .args(args)
                    .env_remove("RUST_LOG")
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(err)
                    .process_group(0)
                    .spawn()
                    .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
                (child, None)
            })
            .collect();
        loop {
            let mut running = 0;
            for (c, done) in children.iter_mut().filter(|(_, d)| d.is_none()) {
                match c.try_wait() {
                    Ok(Some(st)) => *done = Some((st, start.elapsed().as_secs_f64())),
                    _ => running += 1,
                }
            }
            if running == 0 || start.elapsed() >= limit {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        children
            .into_iter()
            .enumerate()
            .map(|(i, (mut c, done))| {
                if done.is_none() {
                    kill_group(&mut c);
                }
                let stdout = fs::read_to_string(self.out(i, "json")).unwrap_or_default();
                FarmRun {
                    client: i,
                    status: done.map(|(st, _)| st),
                    secs: done.map_or(f64::INFINITY, |(_, s)| s),
                    stderr: fs::read_to_string(self.out(i, "log")).unwrap_or_default(),
                    json: serde_json::from_str(&stdout).ok(),
                }
            })
            .collect()
    }

    fn out(&self, i: usize, ext: &str) -> PathBuf {
        self.dir.join(format!("out/c{i}.{ext}"))
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        for (_, c) in self
            .servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter_mut()
        {
            kill_group(c);
        }
        let failed = std::thread::panicking();
        if failed {
            for (name, _) in self
                .servers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
            {
                let log = self.log(name);
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                eprintln!("---- {name} log (last 30 lines) ----");
                for l in tail.iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
        // Anything still running in the namespaces (a client that outlived
        // its limit), then the namespaces.
        for ns in self.clients.iter().chain([&self.srv_ns]) {
            if let Ok(o) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    if let Ok(p) = pid.parse::<i32>() {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(p),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
            }
        }
        let del: String = self
            .clients
            .iter()
            .chain([&self.srv_ns])
            .map(|ns| format!("netns del {ns}\n"))
            .collect();
        let batch = self.dir.join("del.batch");
        if fs::write(&batch, del).is_ok() {
            let _ = Command::new("ip")
                .args(["-force", "-batch"])
                .arg(&batch)
                .stderr(Stdio::null())
                .status();
        }
        if !(failed && std::env::var_os("PXEINIT_KEEP_LAB").is_some()) {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The sha256 of `path` under the farm's root.
pub fn sha256_of(farm: &Farm, rel: &str) -> String {
    crate::sha256_file(&farm.root().join(Path::new(rel)))
}

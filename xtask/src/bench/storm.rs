//! `cargo xtask bench --only storm`: a boot storm (issue 10). Many guests
//! netboot at once, as a site powers on a rack: [`Options::clients`]
//! (default 200) `pxeinit boot --dry-run` at the same moment, each in its
//! own network namespace whose `pxc0` is a veth into one bridge in the
//! server namespace, against
//!
//! 1. one dnsmasq serving DHCP and TFTP with its defaults (`--tftp-max`
//!    50: beyond it dnsmasq reads no requests at all),
//! 2. dnsmasq for DHCP and tftpd-hpa for TFTP (a process per transfer,
//!    no limit),
//! 3. dnsmasq for DHCP, nginx over HTTP (option 210 `http://...`: the
//!    config lookup and the downloads over HTTP).
//!
//! Each client looks up its config (its UUID, `01-MAC`, the hex-IP names,
//! then `default`, which exists) and downloads a kernel and an initrd; its
//! plan's sha256 of both must match the files. The comparison: as many
//! `curl` processes on the same namespaces, with static addresses, each
//! fetching the same config, kernel and initrd (TFTP with the block size
//! pxeinit uses), their outputs hashed. Reported per server: clients that
//! finished, time until the last finished, bytes moved, and pxeinit's
//! requests per file and longest wait for a first answer; the ratio is
//! curl's time to all-done over pxeinit's, from this one run.
//!
//! Needs root. Namespaces, servers and files are removed on return (and,
//! when a killed run left some, by the next one).

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::json::Json;
use super::{Options, Section};
use crate::{output, root, run as run_cmd, target_dir, Result};

/// The server's address on the bridge.
pub const SERVER_IP: &str = "10.90.0.1";
/// Kernel and initrd sizes.
pub const KERNEL: u64 = 4 << 20;
/// See [`KERNEL`].
pub const INITRD: u64 = 12 << 20;
/// pxeinit's block size on a 1500-byte MTU, asked of curl too.
pub const BLKSIZE: u16 = 1468;
/// A run (all clients) is stopped after this long.
pub const CAP: Duration = Duration::from_secs(300);
const HTTP_PORT: u16 = 8080;
const PREFIX: &str = "pxs";

/// The three servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Dnsmasq,
    TftpdHpa,
    Nginx,
}

impl Setup {
    const ALL: [Setup; 3] = [Setup::Dnsmasq, Setup::TftpdHpa, Setup::Nginx];

    fn key(self) -> &'static str {
        match self {
            Setup::Dnsmasq => "dnsmasq",
            Setup::TftpdHpa => "tftpd-hpa",
            Setup::Nginx => "nginx",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Setup::Dnsmasq => "dnsmasq 2.90 DHCP + TFTP, defaults (`--tftp-max` 50)",
            Setup::TftpdHpa => "dnsmasq DHCP + tftpd-hpa (`--listen --secure`)",
            Setup::Nginx => "dnsmasq DHCP (option 210 `http://`) + nginx (`worker_processes auto`, 1024 connections)",
        }
    }

    fn url(self, path: &str) -> String {
        match self {
            Setup::Nginx => format!("http://{SERVER_IP}:{HTTP_PORT}/{path}"),
            _ => format!("tftp://{SERVER_IP}/{path}"),
        }
    }
}

/// One client's run.
#[derive(Debug, Clone)]
struct ClientRun {
    ok: bool,
    secs: f64,
    bytes: u64,
    /// pxeinit: requests sent and files fetched (configs included).
    requests: u64,
    files: u64,
    /// pxeinit: the longest wait for a server's first answer.
    waited: f64,
    why: String,
}

/// All clients of one kind against one server.
#[derive(Debug, Clone)]
struct Result1 {
    setup: Setup,
    client: &'static str,
    runs: Vec<ClientRun>,
    /// Wall time until the last client finished (or the cap).
    all_done: f64,
    /// dnsmasq's "failed sending" lines: transfers it gave up on.
    server_gave_up: Option<usize>,
}

impl Result1 {
    fn completed(&self) -> usize {
        self.runs.iter().filter(|r| r.ok).count()
    }

    fn bytes(&self) -> u64 {
        self.runs.iter().filter(|r| r.ok).map(|r| r.bytes).sum()
    }

    fn quantile(&self, q: f64) -> f64 {
        let mut t: Vec<f64> = self.runs.iter().filter(|r| r.ok).map(|r| r.secs).collect();
        t.sort_by(f64::total_cmp);
        if t.is_empty() {
            return f64::NAN;
        }
        t[((t.len() - 1) as f64 * q).round() as usize]
    }

    fn json(&self) -> Json {
        let sum = |f: fn(&ClientRun) -> u64| self.runs.iter().map(f).sum::<u64>() as f64;
        let failures: Vec<Json> = self
            .runs
            .iter()
            .filter(|r| !r.ok)
            .take(20)
            .map(|r| Json::str(r.why.clone()))
            .collect();
        Json::obj([
            ("server", Json::str(self.setup.key())),
            ("client", Json::str(self.client)),
            ("clients", Json::Num(self.runs.len() as f64)),
            ("completed", Json::Num(self.completed() as f64)),
            ("all_done_seconds", Json::Num(self.all_done)),
            ("median_seconds", Json::Num(self.quantile(0.5))),
            ("p90_seconds", Json::Num(self.quantile(0.9))),
            ("bytes", Json::Num(self.bytes() as f64)),
            ("requests", Json::Num(sum(|r| r.requests))),
            ("files", Json::Num(sum(|r| r.files))),
            (
                "longest_wait_seconds",
                Json::Num(self.runs.iter().map(|r| r.waited).fold(0.0, f64::max)),
            ),
            (
                "server_gave_up",
                Json::opt(self.server_gave_up.map(|n| n as f64)),
            ),
            ("failures", Json::Arr(failures)),
        ])
    }
}

/// Run the storm benchmark.
pub fn run(opts: &Options) -> Result<Section> {
    let started = Instant::now();
    if output(Command::new("id").arg("-u"))?.trim() != "0" {
        return Err("bench storm: needs root (network namespaces)".into());
    }
    crate::deps::ensure(crate::deps::Set::Bench)?;
    let pxeinit = build()?;
    let n = opts.clients;
    let mut lab = Lab::new(n)?;
    let mut results = vec![];
    for setup in Setup::ALL {
        lab.start(setup)?;
        lab.wait_ready(setup)?;
        results.push(lab.run_pxeinit(setup, &pxeinit)?);
        results.push(lab.run_curl(setup)?);
        lab.stop_servers();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let versions = versions();
    drop(lab);
    let date = super::today();
    let md = markdown(&date, n, &versions, &results, elapsed);
    let json = Json::obj([
        ("date", Json::str(date)),
        ("host_cpus", Json::Num(super::cpus() as f64)),
        ("clients", Json::Num(n as f64)),
        ("kernel_bytes", Json::Num(KERNEL as f64)),
        ("initrd_bytes", Json::Num(INITRD as f64)),
        (
            "versions",
            Json::obj(versions.iter().map(|(k, v)| (*k, Json::str(v.clone())))),
        ),
        (
            "runs",
            Json::Arr(results.iter().map(Result1::json).collect()),
        ),
        ("bench_seconds", Json::Num(elapsed)),
    ]);
    let dir = target_dir().join("bench");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, text) in [("storm.json", json.pretty()), ("storm.md", md.clone())] {
        let p = dir.join(name);
        fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(Section {
        key: "storm",
        json,
        markdown: md,
    })
}

/// The host `pxeinit`, release profile (as the image's).
pub(super) fn build() -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_cmd(Command::new(&cargo).current_dir(root()).args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "pxeinit",
        "--bin",
        "pxeinit",
    ]))?;
    Ok(target_dir().join("release/pxeinit"))
}

fn versions() -> Vec<(&'static str, String)> {
    let first = |cmd: &mut Command| -> String {
        cmd.output()
            .ok()
            .map(|o| {
                let t = if o.stdout.is_empty() {
                    o.stderr
                } else {
                    o.stdout
                };
                String::from_utf8_lossy(&t)
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .unwrap_or_else(|| "unknown".into())
    };
    vec![
        ("dnsmasq", first(Command::new("dnsmasq").arg("--version"))),
        (
            "tftpd-hpa",
            first(Command::new("/usr/sbin/in.tftpd").arg("-V")),
        ),
        ("nginx", first(Command::new("nginx").arg("-v"))),
        ("curl", first(Command::new("curl").arg("--version"))),
    ]
}

// ---------------------------------------------------------------- the lab

struct Lab {
    server_ns: String,
    clients: Vec<String>,
    dir: PathBuf,
    servers: Vec<(&'static str, Child)>,
    kernel_sha: String,
    initrd_sha: String,
}

fn tmp_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Namespaces and directories of earlier runs whose process is gone.
fn remove_stale() {
    let alive = |pid: &str| Path::new("/proc").join(pid).exists();
    let Ok(list) = output(Command::new("ip").args(["netns", "list"])) else {
        return;
    };
    let mut batch = String::new();
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if pid.is_empty() || alive(&pid) {
            continue;
        }
        if let Ok(pids) = output(Command::new("ip").args(["netns", "pids", name])) {
            for p in pids.split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", p]).status();
            }
        }
        batch.push_str(&format!("netns del {name}\n"));
    }
    if !batch.is_empty() {
        eprintln!("bench storm: removing namespaces of an earlier run");
        let _ = Command::new("ip")
            .args(["-force", "-batch", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().map(|mut s| s.write_all(batch.as_bytes()));
                c.wait()
            });
    }
    if let Ok(entries) = fs::read_dir(tmp_base()) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("pxeinit-storm-") {
                if !alive(pid) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }
}

fn ip_batch(ns: Option<&str>, batch: &str) -> Result<()> {
    use std::io::Write;
    let mut c = Command::new("ip");
    if let Some(ns) = ns {
        c.args(["-n", ns]);
    }
    let mut child = c
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("ip -batch: {e}"))?;
    if let Some(mut s) = child.stdin.take() {
        s.write_all(batch.as_bytes())
            .map_err(|e| format!("ip -batch: {e}"))?;
    }
    let st = child.wait().map_err(|e| e.to_string())?;
    match st.success() {
        true => Ok(()),
        false => Err(format!("ip -batch failed ({st})")),
    }
}

fn sha256(path: &Path) -> Result<String> {
    let out = output(Command::new("sha256sum").arg(path))?;
    out.split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| format!("sha256sum {}: no output", path.display()))
}

impl Lab {
    fn new(n: usize) -> Result<Lab> {
        remove_stale();
        let pid = std::process::id();
        let server_ns = format!("{PREFIX}{pid}s");
        let dir = tmp_base().join(format!("pxeinit-storm-{pid}"));
        let mut lab = Lab {
            server_ns,
            clients: (0..n).map(|i| format!("{PREFIX}{pid}c{i}")).collect(),
            dir,
            servers: vec![],
            kernel_sha: String::new(),
            initrd_sha: String::new(),
        };
        let root = lab.root();
        fs::create_dir_all(root.join("pxelinux.cfg")).map_err(|e| e.to_string())?;
        fs::create_dir_all(root.join("images")).map_err(|e| e.to_string())?;
        fs::create_dir_all(lab.dir.join("out")).map_err(|e| e.to_string())?;
        let mut urandom = File::open("/dev/urandom").map_err(|e| format!("/dev/urandom: {e}"))?;
        for (name, len) in [("images/kernel", KERNEL), ("images/initrd", INITRD)] {
            let mut data = Vec::with_capacity(len as usize);
            (&mut urandom)
                .take(len)
                .read_to_end(&mut data)
                .map_err(|e| e.to_string())?;
            fs::write(root.join(name), &data).map_err(|e| e.to_string())?;
        }
        fs::write(
            root.join("pxelinux.cfg/default"),
            "DEFAULT storm\nLABEL storm\n  KERNEL images/kernel\n  INITRD images/initrd\n  APPEND storm=1\n",
        )
        .map_err(|e| e.to_string())?;
        lab.kernel_sha = sha256(&root.join("images/kernel"))?;
        lab.initrd_sha = sha256(&root.join("images/initrd"))?;
        // From here on drop cleans up.
        let mut add = format!("netns add {}\n", lab.server_ns);
        for c in &lab.clients {
            add.push_str(&format!("netns add {c}\n"));
        }
        ip_batch(None, &add)?;
        let mut links = format!(
            "link set lo up\nlink add br0 type bridge\nlink set br0 up\naddr add {SERVER_IP}/16 dev br0\n"
        );
        for (i, c) in lab.clients.iter().enumerate() {
            links.push_str(&format!(
                "link add v{i} type veth peer name pxc0 address 52:54:00:5f:{:02x}:{:02x} netns {c}\n\
                 link set v{i} master br0 up\n",
                i >> 8,
                i & 0xff
            ));
        }
        ip_batch(Some(&lab.server_ns), &links)?;
        Ok(lab)
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn spawn(&mut self, name: &'static str, argv: &[String]) -> Result<()> {
        let log = self.dir.join(format!("{name}.log"));
        let f = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let f2 = f.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.server_ns])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        self.servers.push((name, child));
        Ok(())
    }

    fn stop_servers(&mut self) {
        for (_, c) in &mut self.servers {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.servers.clear();
    }

    fn start(&mut self, setup: Setup) -> Result<()> {
        let d = self.dir.display().to_string();
        let mut dnsmasq: Vec<String> = [
            "dnsmasq",
            "--no-daemon",
            "--conf-file=/dev/null",
            "--port=0",
            "--interface=br0",
            "--bind-interfaces",
            "--dhcp-range=10.90.1.0,10.90.3.250,255.255.0.0,1h",
            "--no-ping",
            "--user=root",
            "--group=root",
        ]
        .map(String::from)
        .into();
        dnsmasq.push(format!("--pid-file={d}/dnsmasq.pid"));
        // A fresh lease file per server: addresses are handed out anew.
        dnsmasq.push(format!(
            "--dhcp-leasefile={d}/dnsmasq-{}.leases",
            setup.key()
        ));
        let root = self.root().display().to_string();
        match setup {
            Setup::Dnsmasq => {
                dnsmasq.push("--dhcp-boot=pxelinux.0".into());
                dnsmasq.push("--enable-tftp".into());
                dnsmasq.push(format!("--tftp-root={root}"));
            }
            Setup::TftpdHpa => {
                dnsmasq.push(format!("--dhcp-boot=pxelinux.0,,{SERVER_IP}"));
            }
            Setup::Nginx => {
                dnsmasq.push(format!("--dhcp-boot=pxelinux.0,,{SERVER_IP}"));
                dnsmasq.push(format!(
                    "--dhcp-option-force=210,http://{SERVER_IP}:{HTTP_PORT}/"
                ));
            }
        }
        self.spawn("dnsmasq", &dnsmasq)?;
        match setup {
            Setup::Dnsmasq => {}
            Setup::TftpdHpa => {
                let argv = [
                    "/usr/sbin/in.tftpd".to_string(),
                    "--listen".into(),
                    "--foreground".into(),
                    "--secure".into(),
                    "--address".into(),
                    format!("{SERVER_IP}:69"),
                    root,
                ];
                self.spawn("tftpd-hpa", &argv)?;
            }
            Setup::Nginx => {
                let prefix = self.dir.join("nginx");
                let tmp = prefix.join("tmp");
                fs::create_dir_all(prefix.join("logs")).map_err(|e| e.to_string())?;
                fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
                let t = tmp.display();
                let conf = format!(
                    "daemon off;\nworker_processes auto;\nuser root;\n\
                     pid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n\
                     events {{ worker_connections 1024; }}\n\
                     http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n\
                     \x20 default_type application/octet-stream;\n\
                     \x20 client_body_temp_path {t}; proxy_temp_path {t}; fastcgi_temp_path {t};\n\
                     \x20 uwsgi_temp_path {t}; scgi_temp_path {t};\n\
                     \x20 server {{ listen {SERVER_IP}:{HTTP_PORT}; root {root}; }}\n}}\n",
                    p = prefix.display(),
                );
                let path = prefix.join("nginx.conf");
                fs::write(&path, conf).map_err(|e| e.to_string())?;
                let argv = [
                    "nginx".to_string(),
                    "-p".into(),
                    prefix.display().to_string(),
                    "-c".into(),
                    path.display().to_string(),
                ];
                self.spawn("nginx", &argv)?;
            }
        }
        Ok(())
    }

    /// Wait (10 s at most) until the server listens on its port.
    fn wait_ready(&mut self, setup: Setup) -> Result<()> {
        let (proto, port) = match setup {
            Setup::Nginx => ("tcp", HTTP_PORT),
            _ => ("udp", 69),
        };
        let want = format!(":{port:04X}");
        let t0 = Instant::now();
        loop {
            let text = output(Command::new("ip").args([
                "netns",
                "exec",
                &self.server_ns,
                "cat",
                &format!("/proc/net/{proto}"),
            ]))
            .unwrap_or_default();
            let up = text.lines().skip(1).any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.get(1).is_some_and(|a| a.ends_with(&want))
                    && (proto == "udp" || f.get(3) == Some(&"0A"))
            });
            let dhcp = output(Command::new("ip").args([
                "netns",
                "exec",
                &self.server_ns,
                "cat",
                "/proc/net/udp",
            ]))
            .unwrap_or_default()
            .contains(":0043 ");
            if up && dhcp {
                return Ok(());
            }
            for (name, c) in &mut self.servers {
                if let Ok(Some(st)) = c.try_wait() {
                    return Err(format!(
                        "bench storm: {name} exited: {st} (log in {})",
                        self.dir.display()
                    ));
                }
            }
            if t0.elapsed() > Duration::from_secs(10) {
                return Err(format!("bench storm: {} not up after 10 s", setup.key()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Set the clients' addresses: none (pxeinit takes a lease) or the
    /// static ones curl runs with.
    fn addresses(&self, static_ip: bool) -> Result<()> {
        let mut children = vec![];
        for (i, c) in self.clients.iter().enumerate() {
            let mut batch = "addr flush dev pxc0\n".to_string();
            if static_ip {
                batch.push_str(&format!(
                    "addr add 10.90.{}.{}/16 dev pxc0\nlink set pxc0 up\nlink set lo up\n",
                    8 + i / 250,
                    1 + i % 250
                ));
            }
            let mut child = Command::new("ip")
                .args(["-n", c, "-batch", "-"])
                .stdin(Stdio::piped())
                .spawn()
                .map_err(|e| format!("ip -batch: {e}"))?;
            if let Some(mut s) = child.stdin.take() {
                use std::io::Write;
                let _ = s.write_all(batch.as_bytes());
            }
            children.push(child);
        }
        for mut c in children {
            let _ = c.wait();
        }
        if static_ip {
            // Until duplicate address detection is done and the bridge
            // learnt the ports.
            std::thread::sleep(Duration::from_secs(2));
        }
        Ok(())
    }

    fn out(&self, i: usize, ext: &str) -> PathBuf {
        self.dir.join(format!("out/c{i}.{ext}"))
    }

    /// Where a run's client `i` writes `stdout`/`stderr`.
    fn log(&self, tag: &str, i: usize, ext: &str) -> PathBuf {
        self.dir.join(format!("out/{tag}-c{i}.{ext}"))
    }

    /// Start `argv(i)` in every client namespace at once; wait for all
    /// (or the cap); the exit status and time of each.
    fn storm(
        &self,
        tag: &str,
        argv: impl Fn(usize) -> Vec<String>,
    ) -> Result<(Vec<(bool, f64)>, f64)> {
        let start = Instant::now();
        let mut children = vec![];
        for (i, ns) in self.clients.iter().enumerate() {
            let so = File::create(self.log(tag, i, "stdout")).map_err(|e| e.to_string())?;
            let se = File::create(self.log(tag, i, "stderr")).map_err(|e| e.to_string())?;
            let child = Command::new("ip")
                .args(["netns", "exec", ns])
                .args(argv(i))
                .env_remove("RUST_LOG")
                .stdin(Stdio::null())
                .stdout(so)
                .stderr(se)
                .spawn()
                .map_err(|e| format!("cannot start a client: {e}"))?;
            children.push((child, None::<(bool, f64)>));
        }
        loop {
            let mut running = 0;
            for (c, done) in children.iter_mut().filter(|(_, d)| d.is_none()) {
                match c.try_wait() {
                    Ok(Some(st)) => *done = Some((st.success(), start.elapsed().as_secs_f64())),
                    _ => running += 1,
                }
            }
            if running == 0 || start.elapsed() >= CAP {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut out = vec![];
        for (mut c, done) in children {
            if done.is_none() {
                let _ = c.kill();
                let _ = c.wait();
            }
            out.push(done.unwrap_or((false, f64::INFINITY)));
        }
        let all = out
            .iter()
            .map(|(_, s)| *s)
            .fold(0.0, f64::max)
            .min(CAP.as_secs_f64());
        Ok((out, all))
    }

    fn run_pxeinit(&self, setup: Setup, pxeinit: &Path) -> Result<Result1> {
        self.addresses(false)?;
        eprintln!(
            "bench storm: {} × pxeinit boot --dry-run against {}",
            self.clients.len(),
            setup.key()
        );
        let bin = pxeinit.display().to_string();
        let tag = format!("{}-pxeinit", setup.key());
        let (status, all_done) = self.storm(&tag, |i| {
            [
                bin.as_str(),
                "boot",
                "--interface",
                "pxc0",
                "--dry-run",
                "--timeout",
                "120",
                "--uuid",
                &format!("00000000-0000-4000-8000-{i:012x}"),
            ]
            .map(String::from)
            .into()
        })?;
        let mut runs = vec![];
        for (i, (ok, secs)) in status.into_iter().enumerate() {
            let stdout = fs::read_to_string(self.log(&tag, i, "stdout")).unwrap_or_default();
            let stderr = fs::read_to_string(self.log(&tag, i, "stderr")).unwrap_or_default();
            let plan = Json::parse(&stdout).unwrap_or(Json::Null);
            let d = plan.get("downloads").items();
            let sha = |p: &str| {
                d.iter()
                    .find(|x| x.get("path").as_str().is_some_and(|q| q.ends_with(p)))
                    .and_then(|x| x.get("sha256").as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let digests =
                sha("images/kernel") == self.kernel_sha && sha("images/initrd") == self.initrd_sha;
            let mut r = ClientRun {
                ok: ok && digests,
                secs,
                bytes: d
                    .iter()
                    .filter_map(|x| x.get("bytes").as_f64())
                    .sum::<f64>() as u64,
                requests: d
                    .iter()
                    .filter_map(|x| x.get("tftp").get("requests").as_f64())
                    .sum::<f64>() as u64,
                files: d.len() as u64,
                waited: d
                    .iter()
                    .filter_map(|x| x.get("tftp").get("waited").as_f64())
                    .fold(0.0, f64::max),
                why: String::new(),
            };
            if !r.ok {
                let last = stderr.lines().last().unwrap_or("(no output)");
                r.why = match (ok, digests) {
                    (true, false) => format!("client {i}: sha256 mismatch"),
                    _ if secs.is_infinite() => {
                        format!("client {i}: still running at the cap: {last}")
                    }
                    _ => format!("client {i}: {last}"),
                };
            }
            runs.push(r);
        }
        let server_gave_up = (setup == Setup::Dnsmasq).then(|| {
            fs::read_to_string(self.dir.join("dnsmasq.log"))
                .unwrap_or_default()
                .matches("failed sending")
                .count()
        });
        let r = Result1 {
            setup,
            client: "pxeinit",
            runs,
            all_done,
            server_gave_up,
        };
        eprintln!(
            "bench storm: {} pxeinit: {} of {} in {:.1} s",
            setup.key(),
            r.completed(),
            r.runs.len(),
            r.all_done
        );
        Ok(r)
    }

    fn run_curl(&self, setup: Setup) -> Result<Result1> {
        self.addresses(true)?;
        eprintln!(
            "bench storm: {} × curl against {}",
            self.clients.len(),
            setup.key()
        );
        let files = ["pxelinux.cfg/default", "images/kernel", "images/initrd"];
        let tag = format!("{}-curl", setup.key());
        let (status, all_done) = self.storm(&tag, |i| {
            let mut a: Vec<String> = vec!["curl".into(), "-s".into(), "-S".into(), "-f".into()];
            if setup != Setup::Nginx {
                a.extend(["--tftp-blksize".into(), BLKSIZE.to_string()]);
            }
            for (k, f) in files.iter().enumerate() {
                a.push("-o".into());
                a.push(self.out(i, &format!("f{k}")).display().to_string());
                a.push(setup.url(f));
            }
            a
        })?;
        let expected = [
            sha256(&self.root().join(files[0]))?,
            self.kernel_sha.clone(),
            self.initrd_sha.clone(),
        ];
        let mut runs = vec![];
        for (i, (ok, secs)) in status.into_iter().enumerate() {
            let mut bytes = 0;
            let mut digests = true;
            for (k, want) in expected.iter().enumerate() {
                let p = self.out(i, &format!("f{k}"));
                bytes += fs::metadata(&p).map_or(0, |m| m.len());
                digests &= ok && sha256(&p).is_ok_and(|s| &s == want);
                let _ = fs::remove_file(&p);
            }
            let why = match (ok, digests) {
                (true, true) => String::new(),
                (true, false) => format!("client {i}: sha256 mismatch"),
                _ if secs.is_infinite() => format!("client {i}: still running at the cap"),
                _ => format!(
                    "client {i}: curl failed: {}",
                    fs::read_to_string(self.log(&tag, i, "stderr"))
                        .unwrap_or_default()
                        .trim()
                ),
            };
            runs.push(ClientRun {
                ok: ok && digests,
                secs,
                bytes,
                requests: 0,
                files: 3,
                waited: 0.0,
                why,
            });
        }
        let r = Result1 {
            setup,
            client: "curl",
            runs,
            all_done,
            server_gave_up: None,
        };
        eprintln!(
            "bench storm: {} curl: {} of {} in {:.1} s",
            setup.key(),
            r.completed(),
            r.runs.len(),
            r.all_done
        );
        Ok(r)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop_servers();
        let mut batch = String::new();
        for ns in self.clients.iter().chain([&self.server_ns]) {
            if let Ok(pids) = output(Command::new("ip").args(["netns", "pids", ns])) {
                for p in pids.split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", p]).status();
                }
            }
            batch.push_str(&format!("netns del {ns}\n"));
        }
        let _ = Command::new("ip")
            .args(["-force", "-batch", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().map(|mut s| s.write_all(batch.as_bytes()));
                c.wait()
            });
        if std::env::var_os("PXEINIT_KEEP_LAB").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

// ---------------------------------------------------------------- report

fn markdown(
    date: &str,
    n: usize,
    versions: &[(&str, String)],
    results: &[Result1],
    elapsed: f64,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Measured {date} on a {}-core host shared with other work; one run of \
         `cargo xtask bench --only storm` ({elapsed:.0} s).\n",
        super::cpus()
    );
    let _ = writeln!(
        s,
        "Setup: {n} client network namespaces, each `pxc0` a veth into one bridge in the \
         server namespace ({SERVER_IP}/16); all clients started at once. pxeinit: the host \
         build of the release profile, `pxeinit boot --interface pxc0 --dry-run --uuid U` \
         (DHCP, the lookup of its UUID, `01-MAC` and hex-IP names, then \
         `pxelinux.cfg/default`, which names a {} MiB kernel and a {} MiB initrd; the plan's \
         sha256 of both checked). curl: the same namespaces with static addresses, one `curl` \
         per client fetching the config, kernel and initrd (TFTP at `--tftp-blksize {BLKSIZE}`, \
         pxeinit's block size), outputs checked with sha256sum. \"all done\": from the start \
         of the first client to the end of the last, capped at {} s; MB/s = bytes of the \
         clients that finished ÷ all done (10^6 B/s). Versions: {}.\n",
        KERNEL >> 20,
        INITRD >> 20,
        CAP.as_secs(),
        versions
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let _ = writeln!(
        s,
        "| server | client | finished | all done | median / p90 client | bytes | MB/s | TFTP requests / files | longest first-answer wait |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---|---:|---:|---|---:|");
    for r in results {
        let reqs: u64 = r.runs.iter().map(|x| x.requests).sum();
        let files: u64 = r.runs.iter().map(|x| x.files).sum();
        let tftp = match (r.client, r.setup) {
            ("pxeinit", Setup::Nginx) | ("curl", _) => "—".to_string(),
            _ => format!("{reqs} / {files}"),
        };
        let wait = match r.client {
            "pxeinit" => format!(
                "{:.1} s",
                r.runs.iter().map(|x| x.waited).fold(0.0, f64::max)
            ),
            _ => "—".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} of {} | **{:.1} s** | {:.1} / {:.1} s | {} | {:.0} | {tftp} | {wait} |",
            r.setup.key(),
            r.client,
            r.completed(),
            r.runs.len(),
            r.all_done,
            r.quantile(0.5),
            r.quantile(0.9),
            r.bytes(),
            r.bytes() as f64 / r.all_done / 1e6,
        );
    }
    let _ = writeln!(
        s,
        "\nRatios from this run (curl's time to all done ÷ pxeinit's, same server; above 1: \
         pxeinit's clients were all done sooner):\n"
    );
    let _ = writeln!(s, "| server | pxeinit | curl | ratio |");
    let _ = writeln!(s, "|---|---|---|---:|");
    for setup in Setup::ALL {
        let get = |c: &str| results.iter().find(|r| r.setup == setup && r.client == c);
        if let (Some(p), Some(c)) = (get("pxeinit"), get("curl")) {
            let all = p.completed() == p.runs.len() && c.completed() == c.runs.len();
            let _ = writeln!(
                s,
                "| {} | {} of {} in {:.1} s | {} of {} in {:.1} s | **{:.2}×**{} |",
                setup.describe(),
                p.completed(),
                p.runs.len(),
                p.all_done,
                c.completed(),
                c.runs.len(),
                c.all_done,
                c.all_done / p.all_done,
                if all { "" } else { " (not all finished)" }
            );
        }
    }
    if let Some(p) = results
        .iter()
        .find(|r| r.setup == Setup::Dnsmasq && r.client == "pxeinit")
    {
        if let Some(n) = p.server_gave_up {
            let _ = writeln!(
                s,
                "\ndnsmasq gave up on {n} transfers during the pxeinit run (\"failed sending\": \
                 a copy of a request it served after the client had gone)."
            );
        }
    }
    let failures: Vec<&str> = results
        .iter()
        .flat_map(|r| r.runs.iter().filter(|x| !x.ok).map(|x| x.why.as_str()))
        .take(5)
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(s, "\nFirst failures: {}", failures.join("; "));
    }
    s
}

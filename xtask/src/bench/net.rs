//! Network benchmarks (issue 4): pxeinit's TFTP and HTTP clients against
//! curl and busybox, on the same files from the same servers.
//!
//! # Setup
//!
//! Two network namespaces joined by a veth pair (MTU 1500): the servers
//! run in one ([`SERVER_IP`]), the clients in the other ([`CLIENT_IP`]),
//! each started with `ip netns exec`. The servers: tftpd-hpa (no
//! windowsize), the tests crate's `pxt-rfc7440d` (async-tftp, RFC 7440),
//! rs-tftpd (RFC 7440 and `utimeout`; installed into
//! `target/bench-tools/` with `cargo install` when missing, skipped when
//! that fails) and nginx. The files are random, on tmpfs; every client
//! writes to a file on tmpfs, whose sha256 is checked after each run (a
//! mismatch fails the bench).
//!
//! # What is measured
//!
//! Every server and client is pinned to one CPU ([`pinned_cpu`]; see
//! there why).
//!
//! - Throughput: 64 MiB, every client configuration [`REPS`] times in
//!   interleaved rounds (so background load hits all alike); the median
//!   wall time of the client process, `ip netns exec` and process start
//!   included, for pxeinit as for the others.
//! - Ratios from that run (pxeinit's throughput over the other client's),
//!   against the goals of issue 4: windowsize ≥ 3× curl, lockstep ≥ 1×
//!   curl, HTTP ≥ 0.9× curl.
//! - Recovery from loss: 4 MiB with nftables dropping [`LOSS_PERCENT`] % of
//!   UDP packets at random (`numgen random`) on the input hook of both
//!   namespaces (so DATA and ACKs are lost, and no sender sees an error
//!   from its own `sendto`, which an output-hook drop would cause), the
//!   dropped packets counted by the rules' counters. The cost per lost
//!   packet is the extra time over the median loss-free run divided by the
//!   packets dropped. curl and busybox wait seconds per loss, so they run
//!   once, capped at [`LOSS_CAP`]; a capped run is costed on the part of
//!   the file it received.
//!
//! Outputs: the [`Section`] for BENCHMARKS.md, and `target/bench/net.json`
//! and `target/bench/net.md`. Needs root. Namespaces, servers and files are
//! removed on return (also on error); namespaces left by a killed run are
//! removed by the next one.

use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::json::Json;
use super::{Options, Section};
use crate::{output, root, run as run_cmd, target_dir, Result};

/// The server namespace's address.
pub const SERVER_IP: &str = "10.77.0.1";
/// The client namespace's address.
pub const CLIENT_IP: &str = "10.77.0.2";
/// Size of the throughput file.
pub const BIG: u64 = 64 << 20;
/// Size of the loss file.
pub const SMALL: u64 = 4 << 20;
/// Runs per configuration.
pub const REPS: usize = 3;
/// Packets dropped per hundred, each direction, in the loss runs.
pub const LOSS_PERCENT: u32 = 1;
/// pxeinit's block size for a 1500-byte MTU (1500 − 32).
pub const BLKSIZE: u16 = 1468;
/// Cap of one throughput run.
pub const CAP: Duration = Duration::from_secs(60);
/// Cap of one curl or busybox run under loss.
pub const LOSS_CAP: Duration = Duration::from_secs(20);

const PORT_RFC7440D: u16 = 6970;
const PORT_RS_TFTPD: u16 = 6971;
const PORT_HTTP: u16 = 8080;
const NFT_TABLE: &str = "pxbloss";

/// Run the network benchmark.
pub fn run(_opts: &Options) -> Result<Section> {
    let started = Instant::now();
    if output(Command::new("id").arg("-u"))?.trim() != "0" {
        return Err("bench net: needs root (network namespaces, nftables)".into());
    }
    crate::deps::ensure(crate::deps::Set::Bench)?;
    let bins = build()?;
    let lab = Lab::new()?;
    let versions = versions(&bins);
    let mut servers = vec![];
    lab.start_tftpd_hpa()?;
    servers.push("tftpd-hpa");
    match &bins.rfc7440d {
        Ok(bin) => {
            lab.start_rfc7440d(bin)?;
            servers.push("pxt-rfc7440d");
        }
        Err(why) => eprintln!("bench net: skipping pxt-rfc7440d: {why}"),
    }
    match &bins.rs_tftpd {
        Ok(bin) => {
            lab.start_rs_tftpd(bin)?;
            servers.push("rs-tftpd");
        }
        Err(why) => eprintln!("bench net: skipping rs-tftpd: {why}"),
    }
    lab.start_nginx()?;
    servers.push("nginx");
    for s in &servers {
        lab.wait_ready(&bins.pxeinit, s)?;
    }

    let cases = throughput_cases(&lab, &bins.pxeinit, &servers);
    let through = measure_throughput(&lab, &cases)?;
    let loss = measure_loss(&lab, &bins.pxeinit, &servers)?;
    let ratios = ratios(&through);
    let elapsed = started.elapsed().as_secs_f64();
    drop(lab);

    let date = super::today();
    let md = markdown(&date, &versions, &through, &ratios, &loss, elapsed);
    let json = Json::obj([
        ("date", Json::str(date)),
        ("host_cpus", Json::Num(super::cpus() as f64)),
        ("server_ip", Json::str(SERVER_IP)),
        ("client_ip", Json::str(CLIENT_IP)),
        ("file_bytes", Json::Num(BIG as f64)),
        ("loss_file_bytes", Json::Num(SMALL as f64)),
        ("loss_percent_each_way", Json::Num(f64::from(LOSS_PERCENT))),
        ("reps", Json::Num(REPS as f64)),
        (
            "versions",
            Json::obj(versions.iter().map(|(k, v)| (*k, Json::str(v.clone())))),
        ),
        (
            "throughput",
            Json::Arr(through.iter().map(Measured::json).collect()),
        ),
        (
            "ratios",
            Json::Arr(ratios.iter().map(Ratio::json).collect()),
        ),
        (
            "loss",
            Json::Arr(loss.iter().map(LossResult::json).collect()),
        ),
        ("bench_seconds", Json::Num(elapsed)),
    ]);
    let dir = target_dir().join("bench");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, text) in [("net.json", json.pretty()), ("net.md", md.clone())] {
        let p = dir.join(name);
        fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    eprintln!(
        "bench net: {elapsed:.0} s; results in {}",
        dir.join("net.json").display()
    );
    Ok(Section {
        key: "net",
        json,
        markdown: md,
    })
}

// ---------------------------------------------------------------- binaries

struct Bins {
    pxeinit: PathBuf,
    rfc7440d: std::result::Result<PathBuf, String>,
    rs_tftpd: std::result::Result<PathBuf, String>,
}

/// Build the host `pxeinit` and `pxt-rfc7440d` (release profile, as the
/// image's), and find or install rs-tftpd.
fn build() -> Result<Bins> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let release = target_dir().join("release");
    run_cmd(Command::new(&cargo).current_dir(root()).args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "pxeinit",
        "--bin",
        "pxeinit",
    ]))?;
    let rfc7440d = run_cmd(Command::new(&cargo).current_dir(root()).args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "pxeinit-tests",
        "--bin",
        "pxt-rfc7440d",
    ]))
    .map(|()| release.join("pxt-rfc7440d"));
    let tools = target_dir().join("bench-tools");
    let rs = tools.join("bin/tftpd");
    let rs_tftpd = if rs.exists() {
        Ok(rs)
    } else {
        eprintln!(
            "bench net: cargo install tftpd (rs-tftpd) into {}",
            tools.display()
        );
        run_cmd(
            Command::new(&cargo)
                .args([
                    "install",
                    "--quiet",
                    "--locked",
                    "tftpd",
                    "--version",
                    "1.0.0",
                ])
                .arg("--root")
                .arg(&tools),
        )
        .map(|()| rs)
    };
    Ok(Bins {
        pxeinit: release.join("pxeinit"),
        rfc7440d,
        rs_tftpd,
    })
}

fn versions(bins: &Bins) -> Vec<(&'static str, String)> {
    let first_line = |cmd: &mut Command| -> String {
        cmd.output()
            .ok()
            .map(|o| {
                let text = if o.stdout.is_empty() {
                    o.stderr
                } else {
                    o.stdout
                };
                String::from_utf8_lossy(&text)
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .unwrap_or_else(|| "unknown".into())
    };
    let mut v = vec![
        ("curl", first_line(Command::new("curl").arg("--version"))),
        ("busybox", first_line(&mut Command::new("busybox"))),
        (
            "tftpd-hpa",
            first_line(Command::new("/usr/sbin/in.tftpd").arg("-V")),
        ),
        ("nginx", first_line(Command::new("nginx").arg("-v"))),
    ];
    if let Ok(rs) = &bins.rs_tftpd {
        v.push(("rs-tftpd", first_line(Command::new(rs).arg("-V"))));
    }
    v
}

// ---------------------------------------------------------------- the lab

/// Two namespaces, a veth pair, the servers and the files; all removed on
/// drop. (Also the lab of [`super::loss`].)
pub(super) struct Lab {
    pub(super) server_ns: String,
    pub(super) client_ns: String,
    /// On tmpfs: `root/` (served), `out` (client output), logs, configs.
    pub(super) dir: PathBuf,
    servers: std::cell::RefCell<Vec<Server>>,
    /// sha256 of `root/<name>` by name.
    sha: Vec<(String, String)>,
}

struct Server {
    name: &'static str,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PREFIX: &str = "pxb";

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
    if let Ok(list) = output(Command::new("ip").args(["netns", "list"])) {
        for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
            let Some(pid) = name
                .strip_prefix(PREFIX)
                .and_then(|r| r.strip_suffix('s').or_else(|| r.strip_suffix('c')))
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            if alive(pid) {
                continue;
            }
            eprintln!("bench net: removing namespace {name} of an earlier run");
            // Servers of that run, if any are left.
            if let Ok(pids) = output(Command::new("ip").args(["netns", "pids", name])) {
                for p in pids.split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", p]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
    if let Ok(entries) = fs::read_dir(tmp_base()) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("pxeinit-netbench-") {
                if !alive(pid) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }
}

impl Lab {
    pub(super) fn new() -> Result<Lab> {
        remove_stale();
        let pid = std::process::id();
        let server_ns = format!("{PREFIX}{pid}s");
        let client_ns = format!("{PREFIX}{pid}c");
        let dir = tmp_base().join(format!("pxeinit-netbench-{pid}"));
        // From here on, drop cleans up whatever was made.
        let mut lab = Lab {
            server_ns: server_ns.clone(),
            client_ns: client_ns.clone(),
            dir: dir.clone(),
            servers: Default::default(),
            sha: vec![],
        };
        let ip = |args: &[&str]| run_cmd(Command::new("ip").args(args));
        ip(&["netns", "add", &server_ns])?;
        ip(&["netns", "add", &client_ns])?;
        // Interface names = namespace names (at most 15 bytes).
        ip(&[
            "link", "add", &server_ns, "type", "veth", "peer", "name", &client_ns,
        ])?;
        for (ns, addr) in [(&server_ns, SERVER_IP), (&client_ns, CLIENT_IP)] {
            ip(&["link", "set", ns, "netns", ns])?;
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", ns])?;
            ip(&["-n", ns, "link", "set", ns, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        let files = dir.join("root");
        fs::create_dir_all(&files).map_err(|e| format!("{}: {e}", files.display()))?;
        let mut urandom =
            fs::File::open("/dev/urandom").map_err(|e| format!("/dev/urandom: {e}"))?;
        for (name, len) in [("f64m", BIG), ("f4m", SMALL), ("ready", 1)] {
            let mut data = Vec::with_capacity(len as usize);
            (&mut urandom)
                .take(len)
                .read_to_end(&mut data)
                .map_err(|e| format!("/dev/urandom: {e}"))?;
            let p = files.join(name);
            fs::write(&p, &data).map_err(|e| format!("{}: {e}", p.display()))?;
            let sum = sha256(&p)?;
            lab.sha.push((name.to_string(), sum));
        }
        Ok(lab)
    }

    pub(super) fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn out(&self) -> PathBuf {
        self.dir.join("out")
    }

    fn expected_sha(&self, name: &str) -> &str {
        self.sha
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, s)| s.as_str())
    }

    /// `argv` in namespace `ns`, pinned to [`pinned_cpu`].
    pub(super) fn in_ns(ns: &str, argv: &[String]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, "taskset", "-c"])
            .arg(pinned_cpu().to_string())
            .args(argv);
        c
    }

    fn spawn_server(&self, name: &'static str, argv: &[String]) -> Result<()> {
        let log = self.dir.join(format!("{name}.log"));
        let f = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let f2 = f.try_clone().map_err(|e| e.to_string())?;
        let child = Lab::in_ns(&self.server_ns, argv)
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        self.servers.borrow_mut().push(Server { name, child });
        Ok(())
    }

    pub(super) fn start_tftpd_hpa(&self) -> Result<()> {
        let argv = [
            "/usr/sbin/in.tftpd".to_string(),
            "--listen".into(),
            "--foreground".into(),
            "--secure".into(),
            "--address".into(),
            format!("{SERVER_IP}:69"),
            self.root().display().to_string(),
        ];
        self.spawn_server("tftpd-hpa", &argv)
    }

    fn start_rfc7440d(&self, bin: &Path) -> Result<()> {
        let argv = [
            bin.display().to_string(),
            self.root().display().to_string(),
            format!("{SERVER_IP}:{PORT_RFC7440D}"),
        ];
        self.spawn_server("pxt-rfc7440d", &argv)
    }

    fn start_rs_tftpd(&self, bin: &Path) -> Result<()> {
        // -m: rs-tftpd counts retries over the whole transfer and gives up
        // after 6 by default, which any lossy run reaches.
        let argv = [
            bin.display().to_string(),
            "-i".into(),
            SERVER_IP.into(),
            "-p".into(),
            PORT_RS_TFTPD.to_string(),
            "-d".into(),
            self.root().display().to_string(),
            "-r".into(),
            "-q".into(),
            "-q".into(),
            "-m".into(),
            "100000".into(),
        ];
        self.spawn_server("rs-tftpd", &argv)
    }

    fn start_nginx(&self) -> Result<()> {
        let prefix = self.dir.join("nginx");
        let tmp = prefix.join("tmp");
        fs::create_dir_all(prefix.join("logs")).map_err(|e| e.to_string())?;
        fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
        let t = tmp.display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\n\
             pid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n\
             \x20 default_type application/octet-stream;\n\
             \x20 client_body_temp_path {t}; proxy_temp_path {t}; fastcgi_temp_path {t};\n\
             \x20 uwsgi_temp_path {t}; scgi_temp_path {t};\n\
             \x20 server {{ listen {SERVER_IP}:{PORT_HTTP}; root {r}; }}\n}}\n",
            p = prefix.display(),
            r = self.root().display(),
        );
        let path = prefix.join("nginx.conf");
        fs::write(&path, conf).map_err(|e| format!("{}: {e}", path.display()))?;
        let argv = [
            "nginx".to_string(),
            "-p".into(),
            prefix.display().to_string(),
            "-c".into(),
            path.display().to_string(),
        ];
        self.spawn_server("nginx", &argv)
    }

    /// Wait until `server` serves the one-byte file `ready` (5 s at most).
    pub(super) fn wait_ready(&self, pxeinit: &Path, server: &str) -> Result<()> {
        let url = url_of(server, "ready");
        let argv = [pxeinit.display().to_string(), "fetch".into(), url.clone()];
        let t0 = Instant::now();
        loop {
            let ok = Lab::in_ns(&self.client_ns, &argv)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
            let died =
                self.servers
                    .borrow_mut()
                    .iter_mut()
                    .find_map(|s| match s.child.try_wait() {
                        Ok(Some(st)) => Some(format!("{} exited: {st}", s.name)),
                        _ => None,
                    });
            if let Some(why) = died {
                return Err(format!("bench net: {why} (log in {})", self.dir.display()));
            }
            if t0.elapsed() > Duration::from_secs(5) {
                return Err(format!(
                    "bench net: {server} does not serve {url} after 5 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// nftables: drop [`LOSS_PERCENT`] % of UDP on input in both
    /// namespaces, with fresh counters.
    fn loss_on(&self) -> Result<()> {
        self.loss_on_pct(LOSS_PERCENT)
    }

    /// nftables: drop `pct` % of UDP on input in both namespaces, with
    /// fresh counters.
    pub(super) fn loss_on_pct(&self, pct: u32) -> Result<()> {
        self.loss_off();
        let rules = format!(
            "table inet {NFT_TABLE} {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    \
             meta l4proto udp numgen random mod 100 < {pct} counter drop\n  }}\n}}\n"
        );
        let path = self.dir.join("loss.nft");
        fs::write(&path, rules).map_err(|e| format!("{}: {e}", path.display()))?;
        for ns in [&self.server_ns, &self.client_ns] {
            run_cmd(
                Command::new("ip")
                    .args(["netns", "exec", ns, "nft", "-f"])
                    .arg(&path),
            )?;
        }
        Ok(())
    }

    pub(super) fn loss_off(&self) {
        for ns in [&self.server_ns, &self.client_ns] {
            let _ = Command::new("ip")
                .args([
                    "netns", "exec", ns, "nft", "delete", "table", "inet", NFT_TABLE,
                ])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Packets dropped so far: (towards the client, towards the server).
    pub(super) fn dropped(&self) -> Result<(u64, u64)> {
        let count = |ns: &str| -> Result<u64> {
            let text = output(Command::new("ip").args([
                "netns", "exec", ns, "nft", "list", "table", "inet", NFT_TABLE,
            ]))?;
            text.split("counter packets ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("bench net: no counter in nft output of {ns}: {text}"))
        };
        Ok((count(&self.client_ns)?, count(&self.server_ns)?))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.servers.borrow_mut().clear();
        for ns in [&self.server_ns, &self.client_ns] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The CPU that every server and client runs on: the last one.
///
/// Unpinned, a lockstep transfer over veth is a chain of cross-CPU
/// wake-ups whose latency depends on what else the host runs (idle cores
/// sleep): on this shared host the same client's 64 MiB took from 0.5 s
/// to 3.6 s, and the ratios between clients swung by 2×. On one CPU,
/// server and client alternate without wake-up latency, and the times
/// measure the CPU each side spends per packet, alike for every client.
pub(super) fn pinned_cpu() -> usize {
    super::cpus().max(1) - 1
}

pub(super) fn sha256(path: &Path) -> Result<String> {
    let out = output(Command::new("sha256sum").arg(path))?;
    out.split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| format!("sha256sum {}: no output", path.display()))
}

/// Host, port and scheme of each server.
fn url_of(server: &str, file: &str) -> String {
    match server {
        "pxt-rfc7440d" => format!("tftp://{SERVER_IP}:{PORT_RFC7440D}/{file}"),
        "rs-tftpd" => format!("tftp://{SERVER_IP}:{PORT_RS_TFTPD}/{file}"),
        "nginx" => format!("http://{SERVER_IP}:{PORT_HTTP}/{file}"),
        _ => format!("tftp://{SERVER_IP}/{file}"),
    }
}

fn tftp_port(server: &str) -> u16 {
    match server {
        "pxt-rfc7440d" => PORT_RFC7440D,
        "rs-tftpd" => PORT_RS_TFTPD,
        _ => 69,
    }
}

// ---------------------------------------------------------------- clients

/// One client configuration against one server.
#[derive(Debug, Clone)]
struct Case {
    /// Stable id, e.g. `tftpd-hpa/pxeinit/w1/1468`.
    key: String,
    server: &'static str,
    client: &'static str,
    /// What the client was asked for, in words.
    config: String,
    argv: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
enum Tftp {
    /// blksize (None: the client's default) and windowsize.
    Pxeinit(Option<u16>, u16),
    /// `--tftp-blksize` (None: curl's default, 512).
    Curl(Option<u16>),
    /// `-b` (None: busybox's default, 512).
    Busybox(Option<u16>),
}

impl Case {
    /// The fields every result reports about its case.
    fn json_fields(&self) -> Vec<(&'static str, Json)> {
        vec![
            ("key", Json::str(self.key.clone())),
            ("server", Json::str(self.server)),
            ("client", Json::str(self.client)),
            ("config", Json::str(self.config.clone())),
            ("command", Json::str(self.argv.join(" "))),
        ]
    }
}

fn tftp_case(pxeinit: &Path, server: &'static str, file: &str, out: &Path, t: Tftp) -> Case {
    let out_s = out.display().to_string();
    let url = url_of(server, file);
    let blk = |b: Option<u16>| b.map_or("default".to_string(), |b| b.to_string());
    let (client, config, tag, argv) = match t {
        Tftp::Pxeinit(b, w) => {
            let mut argv = vec![
                pxeinit.display().to_string(),
                "fetch".into(),
                url,
                "-o".into(),
                out_s,
                "--no-sha256".into(),
                "--windowsize".into(),
                w.to_string(),
            ];
            if let Some(b) = b {
                argv.extend(["--blksize".into(), b.to_string()]);
            }
            let b = b.unwrap_or(BLKSIZE);
            let config = if w == 1 {
                format!("lockstep, blksize {b}")
            } else {
                format!("windowsize {w}, blksize {b}")
            };
            ("pxeinit", config, format!("w{w}/{b}"), argv)
        }
        Tftp::Curl(b) => {
            let mut argv = vec!["curl".to_string(), "-s".into(), "-o".into(), out_s];
            if let Some(b) = b {
                argv.extend(["--tftp-blksize".into(), b.to_string()]);
            }
            argv.push(url);
            let config = match b {
                None => "default (blksize 512)".to_string(),
                Some(b) => format!("blksize {b}"),
            };
            ("curl", config, blk(b), argv)
        }
        Tftp::Busybox(b) => {
            let mut argv = vec![
                "busybox".to_string(),
                "tftp".into(),
                "-g".into(),
                "-r".into(),
                file.into(),
                "-l".into(),
                out_s,
            ];
            if let Some(b) = b {
                argv.extend(["-b".into(), b.to_string()]);
            }
            argv.extend([SERVER_IP.into(), tftp_port(server).to_string()]);
            let config = match b {
                None => "default (blksize 512)".to_string(),
                Some(b) => format!("blksize {b}"),
            };
            ("busybox", config, blk(b), argv)
        }
    };
    Case {
        key: format!("{server}/{client}/{tag}"),
        server,
        client,
        config,
        argv,
    }
}

fn http_case(pxeinit: &Path, file: &str, out: &Path, curl: bool) -> Case {
    let url = url_of("nginx", file);
    let out = out.display().to_string();
    let (client, argv) = if curl {
        (
            "curl",
            vec!["curl".into(), "-s".into(), "-o".into(), out, url],
        )
    } else {
        (
            "pxeinit",
            vec![
                pxeinit.display().to_string(),
                "fetch".into(),
                url,
                "-o".into(),
                out,
                "--no-sha256".into(),
            ],
        )
    };
    Case {
        key: format!("nginx/{client}/http"),
        server: "nginx",
        client,
        config: "HTTP/1.1".into(),
        argv,
    }
}

fn throughput_cases(lab: &Lab, pxeinit: &Path, servers: &[&str]) -> Vec<Case> {
    let out = lab.out();
    let f = "f64m";
    let mut cases = vec![];
    let b = Some(BLKSIZE);
    let p = pxeinit;
    // tftpd-hpa has no windowsize: pxeinit runs lockstep there.
    cases.push(tftp_case(p, "tftpd-hpa", f, &out, Tftp::Pxeinit(b, 1)));
    cases.push(tftp_case(
        p,
        "tftpd-hpa",
        f,
        &out,
        Tftp::Pxeinit(Some(512), 1),
    ));
    cases.push(tftp_case(p, "tftpd-hpa", f, &out, Tftp::Curl(None)));
    cases.push(tftp_case(p, "tftpd-hpa", f, &out, Tftp::Curl(b)));
    cases.push(tftp_case(p, "tftpd-hpa", f, &out, Tftp::Busybox(None)));
    cases.push(tftp_case(p, "tftpd-hpa", f, &out, Tftp::Busybox(b)));
    for s in ["pxt-rfc7440d", "rs-tftpd"] {
        if servers.contains(&s) {
            cases.push(tftp_case(p, s, f, &out, Tftp::Pxeinit(b, 16)));
            cases.push(tftp_case(p, s, f, &out, Tftp::Pxeinit(b, 1)));
            cases.push(tftp_case(p, s, f, &out, Tftp::Curl(None)));
            cases.push(tftp_case(p, s, f, &out, Tftp::Curl(b)));
        }
    }
    cases.push(http_case(p, f, &out, false));
    cases.push(http_case(p, f, &out, true));
    cases
}

/// One run of a client.
#[derive(Debug, Clone)]
struct Run {
    seconds: f64,
    /// Bytes in the output file.
    bytes: u64,
    /// Stopped at the cap.
    capped: bool,
    /// pxeinit's own `seconds` (its JSON), without process start.
    inner_seconds: Option<f64>,
    /// Packets dropped (towards the client, towards the server), loss runs.
    dropped: Option<(u64, u64)>,
}

impl Run {
    fn json(&self) -> Json {
        let mut v = vec![
            ("seconds", Json::Num(self.seconds)),
            ("bytes", Json::Num(self.bytes as f64)),
            ("capped", Json::Bool(self.capped)),
        ];
        if let Some(s) = self.inner_seconds {
            v.push(("pxeinit_seconds", Json::Num(s)));
        }
        if let Some((c, s)) = self.dropped {
            v.push(("dropped_to_client", Json::Num(c as f64)));
            v.push(("dropped_to_server", Json::Num(s as f64)));
        }
        Json::obj(v)
    }
}

/// Run `case` once in the client namespace; the file must arrive with
/// the right sha256 unless the run may be capped and was.
fn run_case(lab: &Lab, case: &Case, file: &str, cap: Duration, may_cap: bool) -> Result<Run> {
    let out = lab.out();
    let _ = fs::remove_file(&out);
    let stdout_p = lab.dir.join("client.stdout");
    let stderr_p = lab.dir.join("client.stderr");
    let so = fs::File::create(&stdout_p).map_err(|e| e.to_string())?;
    let se = fs::File::create(&stderr_p).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut child = Lab::in_ns(&lab.client_ns, &case.argv)
        .stdin(Stdio::null())
        .stdout(so)
        .stderr(se)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", case.key))?;
    // Polling at 1 ms: the resolution of these times.
    let (status, capped) = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break (Some(st), false);
        }
        if t0.elapsed() > cap {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let seconds = t0.elapsed().as_secs_f64();
    let bytes = fs::metadata(&out).map_or(0, |m| m.len());
    let stderr = fs::read_to_string(&stderr_p).unwrap_or_default();
    if capped && !may_cap {
        return Err(format!(
            "bench net: {} did not finish in {} s ({bytes} bytes)",
            case.key,
            cap.as_secs()
        ));
    }
    if let Some(st) = status.filter(|s| !s.success()) {
        return Err(format!(
            "bench net: {} failed ({st}): {}",
            case.key,
            stderr.trim()
        ));
    }
    if !capped {
        let got = sha256(&out)?;
        if got != lab.expected_sha(file) {
            return Err(format!(
                "bench net: {}: sha256 mismatch: {got}, expected {} ({bytes} bytes)",
                case.key,
                lab.expected_sha(file)
            ));
        }
    }
    let inner_seconds = fs::read_to_string(&stdout_p).ok().and_then(|s| {
        let rest = s.split("\"seconds\"").nth(1)?;
        let num: String = rest
            .trim_start_matches([':', ' '])
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '-')
            .collect();
        num.parse().ok()
    });
    Ok(Run {
        seconds,
        bytes,
        capped,
        inner_seconds,
        dropped: None,
    })
}

fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

// ---------------------------------------------------------------- throughput

#[derive(Debug, Clone)]
struct Measured {
    case: Case,
    runs: Vec<Run>,
}

impl Measured {
    fn median(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.seconds).collect::<Vec<_>>())
    }

    fn mbps(&self) -> f64 {
        BIG as f64 / self.median() / 1e6
    }

    fn json(&self) -> Json {
        Json::obj(self.case.json_fields().into_iter().chain([
            ("median_seconds", Json::Num(self.median())),
            ("mb_per_s", Json::Num(self.mbps())),
            ("runs", Json::Arr(self.runs.iter().map(Run::json).collect())),
        ]))
    }
}

fn measure_throughput(lab: &Lab, cases: &[Case]) -> Result<Vec<Measured>> {
    let mut m: Vec<Measured> = cases
        .iter()
        .map(|c| Measured {
            case: c.clone(),
            runs: vec![],
        })
        .collect();
    for round in 1..=REPS {
        for x in m.iter_mut() {
            let r = run_case(lab, &x.case, "f64m", CAP, false)?;
            eprintln!(
                "bench net: round {round}: {:40} {:7.3} s {:7.1} MB/s",
                x.case.key,
                r.seconds,
                BIG as f64 / r.seconds / 1e6
            );
            x.runs.push(r);
        }
    }
    Ok(m)
}

/// pxeinit's throughput over another client's.
#[derive(Debug, Clone)]
struct Ratio {
    what: String,
    pxeinit: String,
    other: String,
    ratio: f64,
    goal: Option<f64>,
}

impl Ratio {
    fn met(&self) -> Option<bool> {
        self.goal.map(|g| self.ratio >= g)
    }

    fn json(&self) -> Json {
        Json::obj([
            ("what", Json::str(self.what.clone())),
            ("pxeinit", Json::str(self.pxeinit.clone())),
            ("other", Json::str(self.other.clone())),
            ("ratio", Json::Num(self.ratio)),
            ("goal", Json::opt(self.goal)),
            ("met", self.met().map_or(Json::Null, Json::Bool)),
        ])
    }
}

fn ratios(m: &[Measured]) -> Vec<Ratio> {
    let get = |k: &str| m.iter().find(|x| x.case.key == k);
    let mut out = vec![];
    let mut add = |what: &str, a: &str, b: &str, goal: Option<f64>| {
        if let (Some(x), Some(y)) = (get(a), get(b)) {
            out.push(Ratio {
                what: what.into(),
                pxeinit: a.into(),
                other: b.into(),
                ratio: y.median() / x.median(),
                goal,
            });
        }
    };
    let b = BLKSIZE;
    for s in ["pxt-rfc7440d", "rs-tftpd"] {
        add(
            &format!("windowsize 16 vs curl's defaults, {s}"),
            &format!("{s}/pxeinit/w16/{b}"),
            &format!("{s}/curl/default"),
            Some(3.0),
        );
        add(
            &format!("windowsize 16 vs curl, same blksize, {s}"),
            &format!("{s}/pxeinit/w16/{b}"),
            &format!("{s}/curl/{b}"),
            Some(3.0),
        );
    }
    let h = "tftpd-hpa";
    add(
        "lockstep vs curl, same blksize",
        &format!("{h}/pxeinit/w1/{b}"),
        &format!("{h}/curl/{b}"),
        Some(1.0),
    );
    add(
        "lockstep vs curl, both at blksize 512",
        &format!("{h}/pxeinit/w1/512"),
        &format!("{h}/curl/default"),
        Some(1.0),
    );
    add(
        "lockstep vs curl's defaults",
        &format!("{h}/pxeinit/w1/{b}"),
        &format!("{h}/curl/default"),
        Some(1.0),
    );
    add(
        "lockstep vs busybox, same blksize",
        &format!("{h}/pxeinit/w1/{b}"),
        &format!("{h}/busybox/{b}"),
        None,
    );
    add(
        "lockstep vs busybox, both at blksize 512",
        &format!("{h}/pxeinit/w1/512"),
        &format!("{h}/busybox/default"),
        None,
    );
    add(
        "HTTP vs curl",
        "nginx/pxeinit/http",
        "nginx/curl/http",
        Some(0.9),
    );
    out
}

// ---------------------------------------------------------------- loss

#[derive(Debug, Clone)]
struct LossResult {
    case: Case,
    /// Loss-free runs.
    base: Vec<Run>,
    /// Runs under loss.
    lossy: Vec<Run>,
}

impl LossResult {
    fn base_median(&self) -> f64 {
        median(&self.base.iter().map(|r| r.seconds).collect::<Vec<_>>())
    }

    fn lossy_median(&self) -> f64 {
        median(&self.lossy.iter().map(|r| r.seconds).collect::<Vec<_>>())
    }

    /// Extra seconds per dropped packet, per run: the run's time minus
    /// what its bytes take without loss, over the packets dropped.
    fn costs(&self) -> Vec<f64> {
        let base = self.base_median();
        self.lossy
            .iter()
            .filter_map(|r| {
                let (c, s) = r.dropped?;
                let n = c + s;
                (n > 0)
                    .then(|| (r.seconds - base * r.bytes as f64 / SMALL as f64).max(0.0) / n as f64)
            })
            .collect()
    }

    fn cost(&self) -> f64 {
        median(&self.costs())
    }

    /// Packets of a loss-free transfer (DATA + ACKs + request), for the
    /// expected number of drops.
    fn packets(&self) -> f64 {
        let blksize = if self.case.config.contains("512") {
            512.0
        } else {
            f64::from(BLKSIZE)
        };
        let blocks = (SMALL as f64 / blksize).floor() + 1.0;
        let window = if self.case.config.starts_with("windowsize 16") {
            16.0
        } else {
            1.0
        };
        blocks + (blocks / window).ceil() + 2.0
    }

    fn json(&self) -> Json {
        Json::obj(self.case.json_fields().into_iter().chain([
            ("no_loss_median_seconds", Json::Num(self.base_median())),
            ("loss_median_seconds", Json::Num(self.lossy_median())),
            (
                "expected_drops",
                Json::Num(self.packets() * f64::from(LOSS_PERCENT) / 100.0),
            ),
            ("seconds_per_lost_packet", Json::Num(self.cost())),
            (
                "no_loss_runs",
                Json::Arr(self.base.iter().map(Run::json).collect()),
            ),
            (
                "loss_runs",
                Json::Arr(self.lossy.iter().map(Run::json).collect()),
            ),
        ]))
    }
}

fn measure_loss(lab: &Lab, pxeinit: &Path, servers: &[&str]) -> Result<Vec<LossResult>> {
    let out = lab.out();
    let f = "f4m";
    let b = Some(BLKSIZE);
    // (case, runs under loss; 1 = capped one-off)
    let mut plan = vec![(
        tftp_case(pxeinit, "tftpd-hpa", f, &out, Tftp::Pxeinit(b, 1)),
        REPS,
    )];
    for s in ["pxt-rfc7440d", "rs-tftpd"] {
        if servers.contains(&s) {
            plan.push((tftp_case(pxeinit, s, f, &out, Tftp::Pxeinit(b, 16)), REPS));
        }
    }
    plan.push((tftp_case(pxeinit, "tftpd-hpa", f, &out, Tftp::Curl(b)), 1));
    plan.push((
        tftp_case(pxeinit, "tftpd-hpa", f, &out, Tftp::Busybox(b)),
        1,
    ));

    let mut results = vec![];
    lab.loss_off();
    for (case, _) in &plan {
        let mut base = vec![];
        for _ in 0..REPS {
            base.push(run_case(lab, case, f, CAP, false)?);
        }
        results.push(LossResult {
            case: case.clone(),
            base,
            lossy: vec![],
        });
    }
    for (i, (case, reps)) in plan.iter().enumerate() {
        for _ in 0..*reps {
            lab.loss_on()?;
            let capped_ok = *reps == 1;
            let cap = if capped_ok { LOSS_CAP } else { CAP };
            let r = run_case(lab, case, f, cap, capped_ok);
            let dropped = lab.dropped();
            lab.loss_off();
            let mut r = r?;
            r.dropped = Some(dropped?);
            eprintln!(
                "bench net: {LOSS_PERCENT}% loss: {:32} {:7.3} s{} dropped {:?}",
                case.key,
                r.seconds,
                if r.capped { " (capped)" } else { "" },
                r.dropped.unwrap_or_default()
            );
            results[i].lossy.push(r);
        }
    }
    Ok(results)
}

// ---------------------------------------------------------------- report

fn markdown(
    date: &str,
    versions: &[(&str, String)],
    through: &[Measured],
    ratios: &[Ratio],
    loss: &[LossResult],
    elapsed: f64,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Measured {date} on a {}-core host shared with other work; one run of \
         `cargo xtask bench --only net` ({elapsed:.0} s).\n",
        super::cpus()
    );
    let _ = writeln!(
        s,
        "Setup: two network namespaces joined by a veth pair (MTU 1500), the servers \
         in one ({SERVER_IP}), the clients in the other ({CLIENT_IP}), started with \
         `ip netns exec`, all pinned to one CPU (`taskset -c {}`: unpinned, lockstep \
         times are cross-CPU wake-up latencies that vary 5× with the host's load). \
         Random files on tmpfs; each client writes to tmpfs and the \
         sha256 of every download is checked. Time: wall clock of the client process \
         (`ip netns exec` and process start included), median of {REPS} runs in \
         interleaved rounds; MB/s = 10^6 B/s. pxeinit is the host build of the \
         release profile (opt-level z, as in the image), `pxeinit fetch URL -o FILE \
         --no-sha256` (like curl and busybox it does not hash; the bench hashes the \
         output files afterwards, as a booting pxeinit does not hash either). \
         Versions: {}.\n",
        pinned_cpu(),
        versions
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let _ = writeln!(s, "Throughput, {} MiB:\n", BIG >> 20);
    let _ = writeln!(
        s,
        "| server | client | configuration | median | MB/s | runs (s) |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---|");
    for m in through {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.3} s | {:.1} | {} |",
            m.case.server,
            m.case.client,
            m.case.config,
            m.median(),
            m.mbps(),
            m.runs
                .iter()
                .map(|r| format!("{:.3}", r.seconds))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(
        s,
        "\nRatios from this run (pxeinit's throughput ÷ the other client's, same server):\n"
    );
    let _ = writeln!(
        s,
        "| comparison | pxeinit | other | ratio | goal | status |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---|---|");
    for r in ratios {
        let _ = writeln!(
            s,
            "| {} | `{}` | `{}` | **{:.2}×** | {} | {} |",
            r.what,
            r.pxeinit,
            r.other,
            r.ratio,
            r.goal.map_or("—".into(), |g| format!("≥ {g}×")),
            match r.met() {
                Some(true) => "met",
                Some(false) => "**not met**",
                None => "",
            }
        );
    }
    let _ = writeln!(
        s,
        "\nRecovery from loss: {} MiB with nftables dropping {LOSS_PERCENT} % of UDP \
         packets at random on input in both namespaces (`numgen random mod 100 < \
         {LOSS_PERCENT} drop`); drops counted by the rules' counters. Cost = (time under \
         loss − loss-free median scaled to the bytes received) ÷ packets dropped, median \
         over runs. curl and busybox run once, capped at {} s.\n",
        SMALL >> 20,
        LOSS_CAP.as_secs()
    );
    let _ = writeln!(
        s,
        "| server | client | configuration | no loss | {LOSS_PERCENT} % loss (runs) | dropped to client / to server | per lost packet |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---|---|---:|");
    for l in loss {
        let runs = l
            .lossy
            .iter()
            .map(|r| {
                if r.capped {
                    format!(
                        "> {:.0} s (capped, {:.1} of {} MiB)",
                        r.seconds,
                        r.bytes as f64 / 1048576.0,
                        SMALL >> 20
                    )
                } else {
                    format!("{:.3} s", r.seconds)
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let dropped = l
            .lossy
            .iter()
            .filter_map(|r| r.dropped.map(|(c, s)| format!("{c}/{s}")))
            .collect::<Vec<_>>()
            .join(", ");
        let cost = l.cost();
        let cost = if cost >= 1.0 {
            format!("{cost:.2} s")
        } else {
            format!("{:.0} ms", cost * 1000.0)
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.3} s | {runs} | {dropped} | **{cost}** |",
            l.case.server,
            l.case.client,
            l.case.config,
            l.base_median(),
        );
    }
    s
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn urls_and_cases() {
        assert_eq!(url_of("tftpd-hpa", "f"), "tftp://10.77.0.1/f");
        assert_eq!(url_of("nginx", "f"), "http://10.77.0.1:8080/f");
        let c = tftp_case(
            Path::new("/p"),
            "rs-tftpd",
            "f",
            Path::new("/o"),
            Tftp::Busybox(Some(1468)),
        );
        assert_eq!(c.key, "rs-tftpd/busybox/1468");
        assert_eq!(
            c.argv.join(" "),
            "busybox tftp -g -r f -l /o -b 1468 10.77.0.1 6971"
        );
        let c = tftp_case(
            Path::new("/p"),
            "tftpd-hpa",
            "f",
            Path::new("/o"),
            Tftp::Pxeinit(Some(1468), 1),
        );
        assert_eq!(c.key, "tftpd-hpa/pxeinit/w1/1468");
        assert_eq!(c.config, "lockstep, blksize 1468");
    }

    #[test]
    fn loss_cost_scales_capped_runs() {
        let case = tftp_case(
            Path::new("/p"),
            "tftpd-hpa",
            "f4m",
            Path::new("/o"),
            Tftp::Curl(Some(1468)),
        );
        let run = |seconds, bytes, dropped| Run {
            seconds,
            bytes,
            capped: false,
            inner_seconds: None,
            dropped,
        };
        let l = LossResult {
            case,
            base: vec![run(0.1, SMALL, None); 3],
            // Half the file in 10.05 s with 10 drops: (10.05 - 0.05) / 10.
            lossy: vec![run(10.05, SMALL / 2, Some((6, 4)))],
        };
        assert!((l.cost() - 1.0).abs() < 1e-9);
    }
}

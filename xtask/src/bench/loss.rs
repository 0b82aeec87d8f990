//! `cargo xtask bench --only loss`: loss that costs what it must (issue
//! 10): [`FILE`] bytes from tftpd-hpa through [`LOSS_PERCENT`] % loss
//! each way, pxeinit against curl and busybox on the same server, one run
//! each, side by side, on the lab of [`super::net`] (two namespaces, a
//! veth pair, every process pinned to one CPU; loss on arrival, nftables
//! `numgen random` in the input hook of both namespaces, so no sender
//! sees an error from its own `sendto`).
//!
//! A lost DATA packet in lockstep is resent only on the server's timer,
//! which tftpd-hpa takes from `utimeout` (down to 10 ms). pxeinit asks
//! for it from the round trip it measured on the server's earlier
//! transfers (`tftp::utimeout_for`); the `pxeinit boot` row is that
//! pipeline (a static address, the config lookup from the same server,
//! then the file as the kernel), the `pxeinit fetch` row a single
//! transfer with nothing measured yet (100 ms). curl and busybox wait
//! their own timeouts per loss; they are capped at [`CAP`], and a capped
//! run is costed on what it received. Cost per lost packet = (time under
//! loss − the loss-free time scaled to the bytes received) ÷ packets
//! dropped.

use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::json::Json;
use super::net::{pinned_cpu, sha256, Lab, BLKSIZE, CLIENT_IP, SERVER_IP};
use super::{Options, Section};
use crate::{output, Result};

/// The file's size.
pub const FILE: u64 = 8 << 20;
/// Packets dropped per hundred, each way.
pub const LOSS_PERCENT: u32 = 5;
/// Cap of a curl or busybox run under loss.
pub const CAP: Duration = Duration::from_secs(120);

/// One client configuration.
struct Case {
    key: &'static str,
    client: &'static str,
    config: &'static str,
    argv: Vec<String>,
    /// pxeinit boot: the plan is on stdout, the file is not written.
    plan: bool,
}

/// One run of a case.
#[derive(Debug, Clone, Default)]
struct Run {
    seconds: f64,
    /// The transfer's own time (pxeinit's plan or fetch JSON).
    transfer_seconds: Option<f64>,
    bytes: u64,
    capped: bool,
    dropped: (u64, u64),
    utimeout_ms: Option<f64>,
    retransmits: Option<f64>,
    duplicates: Option<f64>,
}

impl Run {
    fn json(&self) -> Json {
        Json::obj([
            ("seconds", Json::Num(self.seconds)),
            ("transfer_seconds", Json::opt(self.transfer_seconds)),
            ("bytes", Json::Num(self.bytes as f64)),
            ("capped", Json::Bool(self.capped)),
            ("dropped_to_client", Json::Num(self.dropped.0 as f64)),
            ("dropped_to_server", Json::Num(self.dropped.1 as f64)),
            ("utimeout_ms", Json::opt(self.utimeout_ms)),
            ("retransmits", Json::opt(self.retransmits)),
            ("duplicates", Json::opt(self.duplicates)),
        ])
    }

    /// The time that counts: the transfer's own when known.
    fn time(&self) -> f64 {
        self.transfer_seconds.unwrap_or(self.seconds)
    }
}

/// Run the loss benchmark.
pub fn run(_opts: &Options) -> Result<Section> {
    let started = Instant::now();
    if output(std::process::Command::new("id").arg("-u"))?.trim() != "0" {
        return Err("bench loss: needs root (network namespaces, nftables)".into());
    }
    crate::deps::ensure(crate::deps::Set::Bench)?;
    let pxeinit = super::storm::build()?;
    let lab = Lab::new()?;
    let root = lab.root();
    let mut data = Vec::with_capacity(FILE as usize);
    fs::File::open("/dev/urandom")
        .and_then(|f| f.take(FILE).read_to_end(&mut data))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    fs::write(root.join("f8m"), &data).map_err(|e| e.to_string())?;
    fs::create_dir_all(root.join("pxelinux.cfg")).map_err(|e| e.to_string())?;
    fs::write(
        root.join("pxelinux.cfg/default"),
        "DEFAULT l\nLABEL l\n  KERNEL f8m\n  APPEND loss=1\n",
    )
    .map_err(|e| e.to_string())?;
    let want = sha256(&root.join("f8m"))?;
    lab.start_tftpd_hpa()?;
    lab.wait_ready(&pxeinit, "tftpd-hpa")?;

    let out = lab.dir.join("out");
    let o = out.display().to_string();
    let p = pxeinit.display().to_string();
    let iface = lab.client_ns.clone();
    let url = format!("tftp://{SERVER_IP}/f8m");
    let cases = [
        Case {
            key: "pxeinit-boot",
            client: "pxeinit boot",
            config: "lockstep, blksize 1468, utimeout from the measured round trip",
            argv: vec![
                p.clone(),
                "boot".into(),
                "--interface".into(),
                iface.clone(),
                "--dry-run".into(),
                "--append-cmdline".into(),
                format!("ip={CLIENT_IP}:{SERVER_IP}::255.255.255.0::{iface}:none"),
                "--uuid".into(),
                "00000000-0000-4000-8000-000000000001".into(),
            ],
            plan: true,
        },
        Case {
            key: "pxeinit-fetch",
            client: "pxeinit fetch",
            config: "lockstep, blksize 1468, utimeout 100 ms (nothing measured)",
            argv: vec![
                p.clone(),
                "fetch".into(),
                url.clone(),
                "-o".into(),
                o.clone(),
                "--no-sha256".into(),
                "--windowsize".into(),
                "1".into(),
            ],
            plan: false,
        },
        Case {
            key: "curl",
            client: "curl",
            config: "blksize 1468",
            argv: vec![
                "curl".into(),
                "-s".into(),
                "--tftp-blksize".into(),
                BLKSIZE.to_string(),
                "-o".into(),
                o.clone(),
                url,
            ],
            plan: false,
        },
        Case {
            key: "busybox",
            client: "busybox tftp",
            config: "blksize 1468",
            argv: vec![
                "busybox".into(),
                "tftp".into(),
                "-g".into(),
                "-r".into(),
                "f8m".into(),
                "-l".into(),
                o.clone(),
                "-b".into(),
                BLKSIZE.to_string(),
                SERVER_IP.into(),
            ],
            plan: false,
        },
    ];
    let mut rows = vec![];
    for c in &cases {
        lab.loss_off();
        let base = run_case(&lab, c, &out, &want, Duration::from_secs(60), false)?;
        lab.loss_on_pct(LOSS_PERCENT)?;
        let lossy = run_case(&lab, c, &out, &want, CAP, true);
        let dropped = lab.dropped();
        lab.loss_off();
        let mut lossy = lossy?;
        lossy.dropped = dropped?;
        eprintln!(
            "bench loss: {:14} no loss {:.3} s, {LOSS_PERCENT}% loss {:.3} s{} ({} bytes), dropped {:?}",
            c.key,
            base.time(),
            lossy.time(),
            if lossy.capped { " (capped)" } else { "" },
            lossy.bytes,
            lossy.dropped
        );
        rows.push((c, base, lossy));
    }
    let elapsed = started.elapsed().as_secs_f64();
    drop(lab);
    let date = super::today();
    let md = markdown(&date, &rows, elapsed);
    let json = Json::obj([
        ("date", Json::str(date)),
        ("file_bytes", Json::Num(FILE as f64)),
        ("loss_percent_each_way", Json::Num(f64::from(LOSS_PERCENT))),
        (
            "runs",
            Json::Arr(
                rows.iter()
                    .map(|(c, b, l)| {
                        Json::obj([
                            ("key", Json::str(c.key)),
                            ("client", Json::str(c.client)),
                            ("config", Json::str(c.config)),
                            ("command", Json::str(c.argv.join(" "))),
                            ("no_loss", b.json()),
                            ("loss", l.json()),
                            ("seconds_per_lost_packet", Json::Num(cost(b, l))),
                        ])
                    })
                    .collect(),
            ),
        ),
        ("bench_seconds", Json::Num(elapsed)),
    ]);
    let dir = crate::target_dir().join("bench");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, text) in [("loss.json", json.pretty()), ("loss.md", md.clone())] {
        let p = dir.join(name);
        fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(Section {
        key: "loss",
        json,
        markdown: md,
    })
}

/// Extra seconds per dropped packet.
fn cost(base: &Run, lossy: &Run) -> f64 {
    let n = lossy.dropped.0 + lossy.dropped.1;
    let scaled = base.time() * lossy.bytes as f64 / FILE as f64;
    (lossy.time() - scaled).max(0.0) / n.max(1) as f64
}

fn run_case(
    lab: &Lab,
    c: &Case,
    out: &Path,
    want: &str,
    cap: Duration,
    may_cap: bool,
) -> Result<Run> {
    let _ = fs::remove_file(out);
    let so = lab.dir.join("client.stdout");
    let se = lab.dir.join("client.stderr");
    let t0 = Instant::now();
    let mut child = Lab::in_ns(&lab.client_ns, &c.argv)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&so).map_err(|e| e.to_string())?)
        .stderr(fs::File::create(&se).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", c.key))?;
    let (status, capped) = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break (Some(st), false);
        }
        if t0.elapsed() > cap {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let seconds = t0.elapsed().as_secs_f64();
    let stderr = fs::read_to_string(&se).unwrap_or_default();
    if capped && !may_cap {
        return Err(format!(
            "bench loss: {} did not finish in {} s",
            c.key,
            cap.as_secs()
        ));
    }
    if let Some(st) = status.filter(|s| !s.success()) {
        return Err(format!(
            "bench loss: {} failed ({st}): {}",
            c.key,
            stderr.trim()
        ));
    }
    let json = Json::parse(&fs::read_to_string(&so).unwrap_or_default()).unwrap_or(Json::Null);
    // pxeinit boot: the kernel's record in the plan; pxeinit fetch: its
    // one record.
    let rec = match c.plan {
        true => json
            .get("downloads")
            .items()
            .iter()
            .find(|d| d.get("path").as_str() == Some("f8m"))
            .cloned()
            .unwrap_or(Json::Null),
        false => json.clone(),
    };
    let bytes = match c.plan {
        true => rec.get("bytes").as_f64().unwrap_or(0.0) as u64,
        false => fs::metadata(out).map_or(0, |m| m.len()),
    };
    if !capped {
        let got = match c.plan {
            true => rec.get("sha256").as_str().unwrap_or("").to_string(),
            false => sha256(out)?,
        };
        if got != want {
            return Err(format!(
                "bench loss: {}: sha256 {got}, expected {want}",
                c.key
            ));
        }
    }
    let t = rec.get("tftp");
    Ok(Run {
        seconds,
        transfer_seconds: rec.get("seconds").as_f64(),
        bytes,
        capped,
        dropped: (0, 0),
        utimeout_ms: t.get("utimeout_ms").as_f64(),
        retransmits: t.get("retransmits").as_f64(),
        duplicates: t.get("duplicates").as_f64(),
    })
}

fn markdown(date: &str, rows: &[(&Case, Run, Run)], elapsed: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Measured {date} on a {}-core host shared with other work; one run of \
         `cargo xtask bench --only loss` ({elapsed:.0} s).\n",
        super::cpus()
    );
    let _ = writeln!(
        s,
        "{} MiB from tftpd-hpa (lockstep: it has no windowsize) through {LOSS_PERCENT} % loss \
         each way: nftables `numgen random mod 100 < {LOSS_PERCENT} drop` on the input hook of \
         both namespaces (the lab of the network benchmark, every process on CPU {}), drops \
         counted by the rules' counters. One run per client without loss, one with. Time: \
         pxeinit's own transfer time (its JSON), else the client process's wall time; curl \
         and busybox capped at {} s. Cost = (time under loss − loss-free time scaled to the \
         bytes received) ÷ packets dropped.\n",
        FILE >> 20,
        pinned_cpu(),
        CAP.as_secs()
    );
    let _ = writeln!(
        s,
        "| client | configuration | no loss | {LOSS_PERCENT} % loss | MB/s under loss | dropped to client / to server | per lost packet | server timer | retransmits / duplicates |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---|---:|---|---|");
    for (c, b, l) in rows {
        let lossy = if l.capped {
            format!(
                "> {:.0} s (capped, {:.1} of {} MiB)",
                l.time(),
                l.bytes as f64 / 1048576.0,
                FILE >> 20
            )
        } else {
            format!("**{:.2} s**", l.time())
        };
        let k = cost(b, l);
        let k = if k >= 1.0 {
            format!("{k:.2} s")
        } else {
            format!("{:.1} ms", k * 1e3)
        };
        let timer = match (c.client, l.utimeout_ms) {
            (_, Some(u)) => format!("utimeout {u:.0} ms"),
            ("curl" | "busybox tftp", _) => "server default (1 s)".into(),
            _ => "—".into(),
        };
        let rd = match (l.retransmits, l.duplicates) {
            (Some(r), Some(d)) => format!("{r:.0} / {d:.0}"),
            _ => "—".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} s | {lossy} | {:.2} | {} / {} | **{k}** | {timer} | {rd} |",
            c.client,
            c.config,
            b.time(),
            l.bytes as f64 / l.time() / 1e6,
            l.dropped.0,
            l.dropped.1,
        );
    }
    let get = |k: &str| rows.iter().find(|(c, ..)| c.key == k).map(|(_, _, l)| l);
    if let Some(p) = get("pxeinit-boot") {
        let _ = writeln!(
            s,
            "\nRatios from this run (pxeinit boot's throughput under loss ÷ the other's; a \
             capped run counts with the part it received):\n"
        );
        let rate = |r: &Run| r.bytes as f64 / r.time();
        for k in ["pxeinit-fetch", "curl", "busybox"] {
            if let Some(o) = get(k) {
                let _ = writeln!(
                    s,
                    "- vs {}: **{:.1}×**{}",
                    rows.iter()
                        .find(|(c, ..)| c.key == k)
                        .map_or(k, |(c, ..)| c.client),
                    rate(p) / rate(o),
                    if o.capped { " (capped)" } else { "" }
                );
            }
        }
    }
    s
}

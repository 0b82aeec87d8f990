//! The boot benchmark: power-on to the target's `/init` with a 64 MiB
//! initrd, for pxeinit, (a) the firmware alone and (b) the s390-tools
//! approach, one after the other in one invocation, from one TFTP root:
//!
//! ```text
//! target/bench/tftp/
//!   pxelinux.0               kernel + pxeinit initramfs (xtask::image)
//!   s390-tools.0             kernel + busybox/kexec-tools initramfs (b)
//!   firmware.cfg             "# pxelinux" + the config below (a)
//!   pxelinux.cfg/default     DEFAULT bench: KERNEL, INITRD, APPEND
//!   target/vmlinuz           the Debian s390x kernel
//!   target/initrd.img        64 MiB uncompressed cpio: /init + filler
//! ```
//!
//! Each system gets slirp's DHCP with its own boot file and 2 GiB of
//! memory; the console is read until the target's `TARGET-DONE` line, the
//! guest powering off, or the cap. See [`super::timeline`] for how the
//! phases are read from the console.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::json::Json;
use super::timeline::{System, Timeline, PHASES};
use super::Options;
use crate::{kernel, payload, qemu, target_dir, Result};

/// The target's APPEND: the target kernel prints its boot (not `quiet`)
/// so that its "Linux version" line and its clock can be read.
pub const TARGET_APPEND: &str = "console=ttysclp0 pxebench=1";

/// The banner of the target /init.
const BANNER: &str = "bench";

/// The TFTP root and what is in it.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The TFTP root.
    pub root: PathBuf,
    /// The kernel release.
    pub release: String,
    /// Target kernel size.
    pub kernel_bytes: u64,
    /// Target initrd size.
    pub initrd_bytes: u64,
    /// pxeinit's `pxelinux.0` size.
    pub pxelinux0_bytes: u64,
    /// (b)'s boot image size, if built.
    pub s390tools_bytes: Option<u64>,
}

/// The target initrd of exactly `size` bytes (rounded to the cpio's 4-byte
/// alignment): an uncompressed cpio with the target /init and
/// incompressible filler.
pub fn target_initrd(size: usize) -> Result<Vec<u8>> {
    // The archive is the filler plus a fixed overhead (init, headers,
    // padding): measure the overhead with a small filler, then size it.
    let probe = payload::target_initrd(BANNER, 4096)?;
    let overhead = probe
        .len()
        .checked_sub(4096)
        .ok_or("target_initrd: the archive is smaller than its filler")?;
    let extra = size
        .checked_sub(overhead)
        .ok_or_else(|| format!("an initrd of {size} bytes cannot hold the target /init"))?;
    let img = payload::target_initrd(BANNER, extra)?;
    // The filler must make the archive what it says (uncompressed cpio).
    if img.get(..6) != Some(b"070701".as_slice()) {
        return Err("target_initrd: the big initrd is not an uncompressed newc cpio".into());
    }
    if img.len().abs_diff(size) > 4 {
        return Err(format!(
            "target_initrd: asked for {size} bytes, got {}",
            img.len()
        ));
    }
    Ok(img)
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(path, data).map_err(|e| format!("{}: {e}", path.display()))
}

fn len(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The config all three systems boot (the firmware's copy starts with the
/// `# pxelinux` magic line).
fn config() -> String {
    format!(
        "DEFAULT bench\n\
         LABEL bench\n\
         \x20 KERNEL target/vmlinuz\n\
         \x20 INITRD target/initrd.img\n\
         \x20 APPEND {TARGET_APPEND}\n"
    )
}

/// Build the TFTP root for `systems`.
pub fn prepare(opts: &Options) -> Result<Setup> {
    let k = kernel::ensure()?;
    let bench = target_dir().join("bench");
    let root = bench.join("tftp");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    eprintln!("xtask bench: building the payload and the boot images");
    let kernel = std::fs::read(&k.vmlinuz).map_err(|e| format!("{}: {e}", k.vmlinuz.display()))?;
    write(&root.join("target/vmlinuz"), &kernel)?;
    let initrd = target_initrd(opts.initrd_mib << 20)?;
    write(&root.join("target/initrd.img"), &initrd)?;
    write(
        &root.join("pxelinux.cfg/default"),
        format!("# pxeinit boot benchmark\n{}", config()).as_bytes(),
    )?;
    write(
        &root.join(System::Firmware.bootfile()),
        format!(
            "# pxelinux (read by QEMU's netboot firmware itself)\n{}",
            config()
        )
        .as_bytes(),
    )?;
    let img = crate::image(&bench.join("image"), crate::DEFAULT_CMDLINE)?;
    let pxelinux0 = root.join(System::Pxeinit.bootfile());
    std::fs::copy(&img, &pxelinux0).map_err(|e| format!("{}: {e}", img.display()))?;
    if opts.systems.contains(&System::PxeinitHttp) {
        let port = super::httpd::serve(&root)?;
        write(
            &root.join("pxelinux.cfg/http"),
            format!(
                "# pxeinit boot benchmark, payload over HTTP\n{}",
                config()
                    .replace(
                        "KERNEL target/",
                        &format!("KERNEL http://10.0.2.2:{port}/target/")
                    )
                    .replace(
                        "INITRD target/",
                        &format!("INITRD http://10.0.2.2:{port}/target/")
                    )
            )
            .as_bytes(),
        )?;
        let img = crate::image(
            &bench.join("image-http"),
            &format!("{} pxe.config=pxelinux.cfg/http", crate::DEFAULT_CMDLINE),
        )?;
        std::fs::copy(&img, root.join(System::PxeinitHttp.bootfile()))
            .map_err(|e| format!("{}: {e}", img.display()))?;
    }
    let s390tools_bytes = if opts.systems.contains(&System::S390Tools) {
        let out = root.join(System::S390Tools.bootfile());
        let b = super::s390tools::image(&k, &out, crate::DEFAULT_CMDLINE)?;
        eprintln!(
            "xtask bench: (b) initramfs {} bytes, from Debian: {}",
            b.initramfs_bytes,
            b.from_packages.join(" ")
        );
        Some(len(&out)?)
    } else {
        None
    };
    Ok(Setup {
        release: k.release,
        kernel_bytes: kernel.len() as u64,
        initrd_bytes: initrd.len() as u64,
        pxelinux0_bytes: len(&pxelinux0)?,
        s390tools_bytes,
        root,
    })
}

/// One system's run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Which.
    pub system: System,
    /// Its phases.
    pub timeline: Timeline,
    /// The cap the run had.
    pub cap: f64,
    /// Host load average (1 min) when it started.
    pub load_before: Option<f64>,
    /// Where the console transcript is.
    pub console_log: PathBuf,
    /// QEMU exited (the guest stopped) before the target's `/init`.
    pub failed: bool,
}

impl Run {
    /// Power-on to the target's `/init`, if it got there.
    pub fn total(&self) -> Option<f64> {
        self.timeline.total()
    }

    /// The total as table text: `12.3 s`, or `> 240 s` for a run stopped
    /// by the cap.
    pub fn total_text(&self) -> String {
        match self.total() {
            Some(t) => format!("{t:.1} s"),
            None if self.failed => "failed".into(),
            None => format!("> {:.0} s", self.cap),
        }
    }

    /// The total, or for a run stopped by the cap the cap (a lower bound);
    /// None for a failed run.
    pub fn lower_bound(&self) -> Option<f64> {
        match self.total() {
            Some(t) => Some(t),
            None if self.failed => None,
            None => Some(self.cap),
        }
    }

    /// As JSON.
    pub fn json(&self) -> Json {
        let t = &self.timeline;
        Json::obj([
            ("system", Json::str(self.system.key())),
            ("title", Json::str(self.system.title())),
            ("finished", Json::Bool(t.unfinished.is_none())),
            ("failed", Json::Bool(self.failed)),
            ("total_s", Json::opt(t.total())),
            ("cap_s", Json::Num(self.cap)),
            (
                "stopped_in_phase",
                t.unfinished.map_or(Json::Null, Json::str),
            ),
            ("last_console_line_s", Json::Num(t.last_line)),
            ("host_loadavg_1min_at_start", Json::opt(self.load_before)),
            (
                "phases",
                Json::Arr(
                    t.phases
                        .iter()
                        .map(|p| {
                            Json::obj([
                                ("phase", Json::str(p.name)),
                                ("start_s", Json::Num(p.start)),
                                ("end_s", Json::Num(p.end)),
                                ("seconds", Json::Num(p.secs())),
                                ("marked_by", Json::str(p.line.trim())),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "target_kernel",
                Json::obj([
                    ("clock_zero_wall_s", Json::opt(t.target_zero)),
                    ("uptime_at_init_s", Json::opt(t.target_uptime)),
                    (
                        "linux_version_own_clock_s",
                        Json::opt(t.target_linux_version),
                    ),
                    ("run_init_own_clock_s", Json::opt(t.target_run_init)),
                ]),
            ),
            (
                "console_log",
                Json::str(self.console_log.display().to_string()),
            ),
        ])
    }
}

fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Boot `system` from `setup.root` and read its phases.
pub fn run(setup: &Setup, system: System, opts: &Options) -> Result<Run> {
    let g = qemu::Guest {
        tftp_root: Some(setup.root.clone()),
        bootfile: system.bootfile().into(),
        memory_mb: 2048,
        echo: opts.echo,
        ..Default::default()
    };
    let load_before = loadavg();
    eprintln!(
        "xtask bench: booting {} (cap {} s, load {:.2})",
        system.title(),
        opts.cap.as_secs(),
        load_before.unwrap_or(f64::NAN)
    );
    let started = Instant::now();
    let con = g.run(&["TARGET-DONE"], opts.cap)?;
    let log = target_dir().join(format!("bench/console-{}.log", system.key()));
    write(&log, con.text().as_bytes())?;
    let timeline = Timeline::read(&con, system.rules());
    let timeline_unfinished = timeline.unfinished.is_some();
    if let Some(l) = con.lines.iter().find(|(_, l)| l.contains("FAILED")) {
        eprintln!("xtask bench: {}: {}", system.title(), l.1);
    }
    let r = Run {
        system,
        timeline,
        cap: opts.cap.as_secs_f64(),
        load_before,
        console_log: log,
        failed: con.exited && timeline_unfinished,
    };
    eprintln!(
        "xtask bench: {}: {} ({:.1} s wall{})",
        system.title(),
        r.total_text(),
        started.elapsed().as_secs_f64(),
        match r.timeline.unfinished {
            Some(p) => format!(", stopped in phase {p}"),
            None => String::new(),
        }
    );
    Ok(r)
}

/// All runs of one invocation and what they booted.
#[derive(Debug, Clone)]
pub struct Report {
    /// The setup.
    pub setup: Setup,
    /// The runs, in [`System::ALL`] order.
    pub runs: Vec<Run>,
}

impl Report {
    fn get(&self, s: System) -> Option<&Run> {
        self.runs.iter().find(|r| r.system == s)
    }

    /// The fastest pxeinit run (TFTP or HTTP), the one the goals judge.
    fn best_pxeinit(&self) -> Option<&Run> {
        [System::Pxeinit, System::PxeinitHttp]
            .into_iter()
            .filter_map(|s| self.get(s))
            .filter(|r| r.total().is_some())
            .min_by(|a, b| {
                a.total()
                    .partial_cmp(&b.total())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    }

    /// Goal 1: pxeinit at most (a) + 5 s. `(pxeinit - a, met)`.
    pub fn goal_vs_firmware(&self) -> Option<(f64, bool)> {
        let p = self.best_pxeinit()?.total()?;
        let a = self.get(System::Firmware)?.total()?;
        Some((p - a, p <= a + 5.0))
    }

    /// Goal 2: (b) at least 10× pxeinit. `(ratio or its lower bound,
    /// exact, met)`; `met` is None when only a lower bound below 10 is known.
    pub fn goal_vs_s390tools(&self) -> Option<(f64, bool, Option<bool>)> {
        let p = self.best_pxeinit()?.total()?;
        let b = self.get(System::S390Tools)?;
        let ratio = b.lower_bound()? / p;
        match b.total() {
            Some(_) => Some((ratio, true, Some(ratio >= 10.0))),
            None if ratio >= 10.0 => Some((ratio, false, Some(true))),
            None => Some((ratio, false, None)),
        }
    }

    /// As JSON.
    pub fn json(&self) -> Json {
        let s = &self.setup;
        let g1 = self.goal_vs_firmware();
        let g2 = self.goal_vs_s390tools();
        Json::obj([
            (
                "payload",
                Json::obj([
                    ("kernel_release", Json::str(s.release.clone())),
                    ("kernel_bytes", Json::Num(s.kernel_bytes as f64)),
                    ("initrd_bytes", Json::Num(s.initrd_bytes as f64)),
                    ("append", Json::str(TARGET_APPEND)),
                    ("pxelinux0_bytes", Json::Num(s.pxelinux0_bytes as f64)),
                    (
                        "s390tools_image_bytes",
                        Json::opt(s.s390tools_bytes.map(|b| b as f64)),
                    ),
                ]),
            ),
            ("guest_memory_mib", Json::Num(2048.0)),
            ("runs", Json::Arr(self.runs.iter().map(Run::json).collect())),
            (
                "goals",
                Json::obj([
                    ("pxeinit_minus_firmware_s", Json::opt(g1.map(|g| g.0))),
                    (
                        "pxeinit_at_most_firmware_plus_5s",
                        g1.map_or(Json::Null, |g| Json::Bool(g.1)),
                    ),
                    ("s390tools_over_pxeinit", Json::opt(g2.map(|g| g.0))),
                    (
                        "s390tools_ratio_is_lower_bound",
                        g2.map_or(Json::Null, |g| Json::Bool(!g.1)),
                    ),
                    (
                        "s390tools_at_least_10x",
                        g2.and_then(|g| g.2).map_or(Json::Null, Json::Bool),
                    ),
                ]),
            ),
        ])
    }

    /// The BENCHMARKS.md section.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let s = &self.setup;
        md.push_str(&format!(
            "Payload: Debian kernel {} ({} bytes) and a {} MiB uncompressed initramfs \
             ({} bytes: the target `/init` and incompressible filler), APPEND `{}`; \
             guest `-m 2048`, slirp networking (DHCP and TFTP from QEMU itself). \
             Wall clock from QEMU's start (power-on) to the console line that ends \
             each phase; seconds.\n\n",
            s.release,
            s.kernel_bytes,
            s.initrd_bytes >> 20,
            s.initrd_bytes,
            TARGET_APPEND
        ));
        md.push_str("| system | power-on → target /init |");
        for p in PHASES {
            md.push_str(&format!(" {p} |"));
        }
        md.push_str("\n|---|---:|");
        for _ in PHASES {
            md.push_str("---:|");
        }
        md.push('\n');
        for r in &self.runs {
            md.push_str(&format!(
                "| {} | **{}** |",
                r.system.title(),
                r.total_text()
            ));
            let names: Vec<_> = r.system.rules().iter().map(|x| x.phase).collect();
            for p in PHASES {
                let cell = match r.timeline.phase(p) {
                    Some(v) => format!("{v:.2}"),
                    None if r.timeline.unfinished == Some(p) && r.failed => "failed".into(),
                    None if r.timeline.unfinished == Some(p) => {
                        let start = r.timeline.phases.last().map_or(0.0, |x| x.end);
                        format!("> {:.0} (cap)", (r.cap - start).floor())
                    }
                    None if names.contains(&p) => "not reached".into(),
                    None => "—".into(),
                };
                md.push_str(&format!(" {cell} |"));
            }
            md.push('\n');
        }
        let best = self.best_pxeinit().map_or("pxeinit", |r| r.system.title());
        md.push_str(&format!(
            "\nGoals (issue 6), from this run, judged on the faster pxeinit row ({best}):\n\n| goal | measured | status |\n|---|---|---|\n"
        ));
        match self.goal_vs_firmware() {
            Some((d, met)) => md.push_str(&format!(
                "| pxeinit ≤ (a) + 5 s | pxeinit − (a) = {d:+.1} s | {} |\n",
                if met { "met" } else { "**not met**" }
            )),
            None => md.push_str("| pxeinit ≤ (a) + 5 s | not measured in this run | — |\n"),
        }
        match self.goal_vs_s390tools() {
            Some((ratio, exact, met)) => md.push_str(&format!(
                "| (b) ≥ 10 × pxeinit | (b) / pxeinit {}{ratio:.1}× | {} |\n",
                if exact { "= " } else { "≥ " },
                match met {
                    Some(true) => "met",
                    Some(false) => "**not met**",
                    None => "undetermined ((b) hit the cap)",
                }
            )),
            None => md.push_str("| (b) ≥ 10 × pxeinit | not measured in this run | — |\n"),
        }
        md.push_str("\nTarget kernel, its own clock (printk time of \"Linux version\", `/proc/uptime` at `/init`):\n\n");
        md.push_str("| system | \"Linux version\" | /init |\n|---|---:|---:|\n");
        for r in &self.runs {
            let f = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2} s"));
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                r.system.title(),
                f(r.timeline.target_linux_version),
                f(r.timeline.target_uptime)
            ));
        }
        let bytes = (s.kernel_bytes + s.initrd_bytes) as f64;
        let rates: Vec<String> = self
            .runs
            .iter()
            .filter_map(|r| {
                r.timeline
                    .phase("download")
                    .map(|d| format!("{} {:.1} MiB/s", r.system.title(), bytes / d / 1048576.0))
            })
            .collect();
        if !rates.is_empty() {
            md.push_str(&format!(
                "\nTFTP throughput of the download phase (kernel + initrd, {:.1} MiB, \
                 through slirp; HTTP for the pxeinit (HTTP) row): {}.\n",
                bytes / 1048576.0,
                rates.join("; ")
            ));
        }
        md
    }
}

/// Prepare and run every system of `opts`.
pub fn bench(opts: &Options) -> Result<Report> {
    let setup = prepare(opts)?;
    let mut runs = vec![];
    for s in System::ALL {
        if opts.systems.contains(&s) {
            runs.push(run(&setup, s, opts)?);
        }
    }
    Ok(Report { setup, runs })
}

/// How long a system may run by default.
pub const DEFAULT_CAP: Duration = Duration::from_secs(240);

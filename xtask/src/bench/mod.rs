//! `cargo xtask bench`: the numbers in BENCHMARKS.md.
//!
//! Parts, each a module that returns a [`Section`] (its JSON and its
//! Markdown):
//!
//! - [`boot`] (`--only boot`): power-on to the target's `/init` with a
//!   64 MiB initrd, split into phases, for pxeinit, (a) QEMU's firmware
//!   alone and (b) the s390-tools approach ([`s390tools`]), read from the
//!   console by [`timeline`], pictured by [`svg`].
//! - [`size`] (`--only size`): the `pxeinit` binary and `pxelinux.0` minus
//!   the kernel.
//! - [`net`] (`--only net`): TFTP/HTTP clients against curl and busybox
//!   (a slot: not measured yet).
//! - [`storm`] (`--only storm`): a boot storm, [`Options::clients`]
//!   guests at once against dnsmasq, tftpd-hpa and nginx, and as many curl
//!   clients.
//! - [`loss`] (`--only loss`): 8 MiB from tftpd-hpa through 5 % loss each
//!   way, pxeinit (utimeout from the measured round trip) against curl and
//!   busybox.
//! - [`tcg`] (`--only tcg`): one lockstep TFTP block over slirp under TCG,
//!   pxeinit and the firmware against busybox `tftp` and `tftp-floor`.
//!
//! Outputs: `target/bench/results.json` (and `--out FILE`), the console
//! transcripts `target/bench/console-<system>.log`, `docs/boot-timeline.svg`,
//! and the generated sections of BENCHMARKS.md, which sit between
//! `<!-- bench:<part>:begin -->` and `<!-- bench:<part>:end -->` lines; the
//! rest of the file is left alone. Only the parts that ran are rewritten.

pub mod boot;
pub mod httpd;
pub mod json;
pub mod loss;
pub mod net;
pub mod s390tools;
pub mod size;
pub mod storm;
pub mod svg;
pub mod tcg;
pub mod timeline;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use json::Json;
use timeline::System;

use crate::{output, root, target_dir, Result};

/// Usage of `cargo xtask bench`.
pub const USAGE: &str = "\
cargo xtask bench [options]

  --only PART[,PART]     boot, size, net, storm, loss, tcg (default: all); may be
                         repeated
  --systems S[,S]        boot: pxeinit, pxeinit-http, firmware, s390-tools
                         (default: all)
  --cap SECONDS          boot: stop a system that has not reached the target
                         after this long (default 240)
  --initrd-mib N         boot: size of the target initrd (default 64)
  --clients N            storm: clients booting at once (default 200)
  --out FILE             also write the results JSON to FILE
  --echo                 show the guests' consoles
  --no-md                do not rewrite BENCHMARKS.md and docs/boot-timeline.svg
";

/// A part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The boot benchmark.
    Boot,
    /// The size table.
    Size,
    /// The network benchmarks.
    Net,
    /// The boot storm.
    Storm,
    /// TFTP through heavy loss.
    Loss,
    /// One lockstep TFTP block under TCG against the floors.
    Tcg,
}

impl Part {
    const ALL: [Part; 6] = [
        Part::Boot,
        Part::Size,
        Part::Net,
        Part::Storm,
        Part::Loss,
        Part::Tcg,
    ];

    fn key(self) -> &'static str {
        match self {
            Part::Boot => "boot",
            Part::Size => "size",
            Part::Net => "net",
            Part::Storm => "storm",
            Part::Loss => "loss",
            Part::Tcg => "tcg",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Part::Boot => "Boot: power-on to the target's /init",
            Part::Size => "Sizes",
            Part::Net => "Network: TFTP and HTTP clients",
            Part::Storm => "Boot storm: many guests at once",
            Part::Loss => "Loss: TFTP through 5 % loss each way",
            Part::Tcg => "TCG: one lockstep TFTP block over slirp",
        }
    }
}

/// Command-line options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Parts to run.
    pub parts: Vec<Part>,
    /// Systems to boot.
    pub systems: Vec<System>,
    /// Per-system cap.
    pub cap: Duration,
    /// Target initrd size in MiB.
    pub initrd_mib: usize,
    /// Storm: clients at once.
    pub clients: usize,
    /// Extra copy of the JSON.
    pub out: Option<PathBuf>,
    /// Echo consoles.
    pub echo: bool,
    /// Rewrite BENCHMARKS.md and the SVG.
    pub write_md: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            parts: Part::ALL.to_vec(),
            systems: System::ALL.to_vec(),
            cap: boot::DEFAULT_CAP,
            initrd_mib: 64,
            clients: 200,
            out: None,
            echo: false,
            write_md: true,
        }
    }
}

impl Options {
    /// Parse `cargo xtask bench` arguments.
    pub fn parse(args: &[String]) -> Result<Options> {
        use lexopt::prelude::*;
        let mut o = Options::default();
        let mut parts: Vec<Part> = vec![];
        let mut systems: Vec<System> = vec![];
        let mut p = lexopt::Parser::from_args(args.iter().cloned());
        let str_of = |v: std::ffi::OsString, what: &str| {
            v.into_string()
                .map_err(|v| format!("{what}: {v:?} is not UTF-8"))
        };
        while let Some(arg) = p.next().map_err(|e| e.to_string())? {
            match arg {
                Long("only") => {
                    let v = str_of(p.value().map_err(|e| e.to_string())?, "--only")?;
                    for name in v.split(',').filter(|s| !s.is_empty()) {
                        let part =
                            Part::ALL
                                .into_iter()
                                .find(|x| x.key() == name)
                                .ok_or_else(|| {
                                    format!(
                                    "--only: unknown part {name:?} (boot, size, net, storm, loss, tcg)"
                                )
                                })?;
                        parts.push(part);
                    }
                }
                Long("systems") => {
                    let v = str_of(p.value().map_err(|e| e.to_string())?, "--systems")?;
                    for name in v.split(',').filter(|s| !s.is_empty()) {
                        let s = System::ALL
                            .into_iter()
                            .find(|x| x.key() == name)
                            .ok_or_else(|| {
                                format!("--systems: unknown system {name:?} (pxeinit, firmware, s390-tools)")
                            })?;
                        systems.push(s);
                    }
                }
                Long("cap") => {
                    let v = str_of(p.value().map_err(|e| e.to_string())?, "--cap")?;
                    let secs: u64 = v
                        .parse()
                        .ok()
                        .filter(|s| *s > 0)
                        .ok_or_else(|| format!("--cap: {v:?} is not a number of seconds"))?;
                    o.cap = Duration::from_secs(secs);
                }
                Long("initrd-mib") => {
                    let v = str_of(p.value().map_err(|e| e.to_string())?, "--initrd-mib")?;
                    o.initrd_mib = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=512).contains(n))
                        .ok_or_else(|| {
                            format!("--initrd-mib: {v:?} is not a size from 1 to 512")
                        })?;
                }
                Long("clients") => {
                    let v = str_of(p.value().map_err(|e| e.to_string())?, "--clients")?;
                    o.clients = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=1000).contains(n))
                        .ok_or_else(|| {
                            format!("--clients: {v:?} is not a number from 1 to 1000")
                        })?;
                }
                Long("out") => o.out = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?)),
                Long("echo") => o.echo = true,
                Long("no-md") => o.write_md = false,
                Short('h') | Long("help") => return Err(USAGE.into()),
                _ => return Err(format!("{}\n{USAGE}", arg.unexpected())),
            }
        }
        if !parts.is_empty() {
            o.parts = Part::ALL
                .into_iter()
                .filter(|x| parts.contains(x))
                .collect();
        }
        if !systems.is_empty() {
            o.systems = System::ALL
                .into_iter()
                .filter(|x| systems.contains(x))
                .collect();
        }
        Ok(o)
    }
}

/// One part's results.
#[derive(Debug, Clone)]
pub struct Section {
    /// `boot`, `size`, `net`.
    pub key: &'static str,
    /// The raw results.
    pub json: Json,
    /// The text between its markers in BENCHMARKS.md.
    pub markdown: String,
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_date((secs / 86400) as i64)
}

/// Days since 1970-01-01 to `YYYY-MM-DD` (Howard Hinnant's algorithm).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The first line of `qemu-system-s390x --version`.
pub fn qemu_version() -> String {
    output(Command::new("qemu-system-s390x").arg("--version"))
        .ok()
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| "qemu-system-s390x: version unknown".into())
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// Replace the text between `<!-- bench:KEY:begin -->` and
/// `<!-- bench:KEY:end -->` in `md` with `body`; append a new section
/// titled `title` when the markers are missing.
pub fn replace_section(md: &str, key: &str, title: &str, body: &str) -> String {
    let begin = format!("<!-- bench:{key}:begin -->");
    let end = format!("<!-- bench:{key}:end -->");
    let body = body.trim_end();
    match (md.find(&begin), md.find(&end)) {
        (Some(b), Some(e)) if b < e => format!("{}{begin}\n{body}\n{}", &md[..b], &md[e..]),
        _ => format!(
            "{}\n\n## {title}\n\n{begin}\n{body}\n{end}\n",
            md.trim_end()
        ),
    }
}

fn write(path: &Path, data: &str) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(path, data).map_err(|e| format!("{}: {e}", path.display()))
}

/// `cargo xtask bench ARGS`.
pub fn main(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(());
    }
    let opts = Options::parse(args)?;
    crate::deps::ensure(crate::deps::Set::Bench)?;
    let date = today();
    let qemu = qemu_version();
    let stamp = format!(
        "Measured {date} with {qemu}, TCG, on a {}-core host shared with other work; one run.",
        cpus()
    );
    let mut sections = vec![];
    for part in &opts.parts {
        let s = match part {
            Part::Boot => {
                let report = boot::bench(&opts)?;
                if opts.write_md {
                    let svg = svg::timeline(&report.runs, &format!("{date}, {qemu}, TCG, one run"));
                    write(&root().join("docs/boot-timeline.svg"), &svg)?;
                }
                Section {
                    key: "boot",
                    json: report.json(),
                    markdown: format!(
                        "{stamp} Command: `cargo xtask bench --only boot`.\n\n{}\n\
                         ![phase timeline](docs/boot-timeline.svg)\n",
                        report.markdown()
                    ),
                }
            }
            Part::Size => {
                let sizes = size::measure()?;
                Section {
                    key: "size",
                    json: sizes.json(),
                    markdown: format!(
                        "Measured {date}. Command: `cargo xtask bench --only size`.\n\n{}",
                        sizes.markdown()
                    ),
                }
            }
            Part::Net => net::run(&opts)?,
            Part::Storm => storm::run(&opts)?,
            Part::Loss => loss::run(&opts)?,
            Part::Tcg => tcg::run_part(&opts, &stamp)?,
        };
        println!("\n## {}\n\n{}", part.title(), s.markdown);
        sections.push((*part, s));
    }
    let results = Json::obj(
        [
            ("date", Json::str(date.clone())),
            ("qemu", Json::str(qemu.clone())),
            ("host_cpus", Json::Num(cpus() as f64)),
        ]
        .into_iter()
        .chain(sections.iter().map(|(_, s)| (s.key, s.json.clone()))),
    );
    let text = results.pretty();
    let raw = target_dir().join("bench/results.json");
    write(&raw, &text)?;
    write(
        &target_dir().join(format!("bench/results-{date}.json")),
        &text,
    )?;
    eprintln!("xtask bench: results in {}", raw.display());
    if let Some(out) = &opts.out {
        write(out, &text)?;
    }
    if opts.write_md {
        let path = root().join("BENCHMARKS.md");
        let mut md =
            std::fs::read_to_string(&path).unwrap_or_else(|_| "# pxeinit benchmarks\n".into());
        for (part, s) in &sections {
            md = replace_section(&md, s.key, part.title(), &s.markdown);
        }
        write(&path, &md)?;
        eprintln!("xtask bench: updated {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn options() {
        let o = Options::parse(&args(
            "--only size,boot --systems firmware --cap 30 --out x.json",
        ))
        .expect("valid options");
        assert_eq!(o.parts, [Part::Boot, Part::Size]);
        assert_eq!(o.systems, [System::Firmware]);
        assert_eq!(o.cap, Duration::from_secs(30));
        assert_eq!(o.out, Some(PathBuf::from("x.json")));
        let d = Options::parse(&[]).expect("no options");
        assert_eq!(d.parts.len(), 6);
        assert_eq!(d.clients, 200);
        let o = Options::parse(&args("--only storm --clients 60")).expect("storm");
        assert_eq!(
            (o.parts.as_slice(), o.clients),
            ([Part::Storm].as_slice(), 60)
        );
        assert!(Options::parse(&args("--clients 0")).is_err());
        assert_eq!(d.initrd_mib, 64);
        assert!(Options::parse(&args("--only disk")).is_err());
        assert!(Options::parse(&args("--cap 0")).is_err());
        assert!(Options::parse(&args("--bogus")).is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
        assert_eq!(civil_date(20_454), "2026-01-01");
    }

    #[test]
    fn sections_are_replaced_or_appended() {
        let md = "# B\n\nintro\n<!-- bench:size:begin -->\nold\n<!-- bench:size:end -->\ntail\n";
        let out = replace_section(md, "size", "Sizes", "new\n");
        assert_eq!(
            out,
            "# B\n\nintro\n<!-- bench:size:begin -->\nnew\n<!-- bench:size:end -->\ntail\n"
        );
        let out = replace_section(&out, "net", "Net", "none");
        assert!(out.ends_with(
            "tail\n\n## Net\n\n<!-- bench:net:begin -->\nnone\n<!-- bench:net:end -->\n"
        ));
        // Idempotent.
        assert_eq!(replace_section(&out, "net", "Net", "none"), out);
    }
}

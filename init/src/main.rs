//! `pxeinit`: PXELINUX-style network boot for s390x KVM guests.
//!
//! As PID 1 (in the initramfs of `pxelinux.0`) it mounts the early file
//! systems, loads the network drivers, obtains a DHCP lease, finds the
//! PXELINUX config, downloads the chosen kernel and initrd and kexecs into
//! them ([`pid1`]). On a running Linux it is a normal command:
//! `pxeinit boot --interface IF [--dry-run]` runs the same pipeline.
//! See ARCHITECTURE.md for the map.

mod boot;
mod cmdline;
mod dhcp;
mod dhcp6;
mod dns;
mod fetch;
mod ftp;
mod http;
mod kexec;
mod logging;
mod menu;
mod modules;
mod net;
mod net6;
mod nfs;
mod pid1;
mod ra;
mod ranges;
mod reipl;
mod rng;
mod sources;
mod tftp;
mod tree;
mod verify;
mod xenpv;

use std::process::ExitCode;

const USAGE: &str = "\
pxeinit: PXELINUX-style network boot (PID 1 of pxelinux.0, or a command)

USAGE:
  pxeinit boot [--interface IF] [--dry-run] [--label L] [--server ADDR]
               [--config PATH|URL] [--uuid UUID] [--timeout SECONDS]
               [--ca-bundle PEM] [--trust-key KEY.pub ...]
               [--max-size SIZE] [--speed-limit N --speed-time S]
               [--busy-wait S] [--ipv6 off|only]
               [--location L [--kernel K] [--ramdisk R ...] [--args A]]
               [--append-cmdline 'pxe.* settings']
      DHCP on IF (all Ethernet interfaces if omitted), PXELINUX config
      lookup, download of kernel and initrd, then kexec. DHCPv4 and IPv6
      (SLAAC/DHCPv6, option 59) run in parallel unless --ipv6 says off
      (IPv4 only) or only (IPv6 only); the dry-run JSON says which led
      (`family`). --server takes an IPv4 or IPv6 address. With --dry-run,
      print the plan as JSON instead of loading it. With --trust-key
      (minisign public key, repeatable), every config, kernel and initrd
      must have a PATH.minisig by a trusted key that names the file.
      With --location (pxe.location=), no config is looked up: the install
      tree at L is detected as `pxeinit tree` does and its kernel and
      initrds boot with its command line (parm file, inst.repo= or
      install=) and A; --kernel (pxe.kernel=) boots K, joined with L,
      without detection; --ramdisk (pxe.initrd=, repeatable) replaces the
      initrds. A relative L, K or R is on the boot server, as a config's
      paths are. The dry-run JSON then has the tree (`tree`).
      The flags win over the same settings in --append-cmdline.
  pxeinit fetch URL [-o FILE] [--blksize N] [--windowsize N] [--no-tsize]
                [--ca-bundle PEM] [--no-sha256] [--trust-key KEY.pub ...]
                [--max-size SIZE] [--speed-limit N --speed-time S]
                [--busy-wait S]
      Download one tftp://HOST[:PORT]/PATH, http(s)://HOST[:PORT]/PATH,
      ftp://[USER[:PASS]@]HOST[:PORT]/PATH, nfs:HOST:/PATH or
      file:///PATH (a path going into an ISO 9660 or ext2/3/4 image,
      IMAGE.iso/..., IMAGE.img/..., /dev/BLOCKDEV/..., is read inside it) with
      pxeinit's clients (into FILE, or nowhere) and print bytes, sha256,
      seconds and TFTP statistics as JSON. For checking a server and for
      benchmarks. With --trust-key, URL.minisig must verify (else exit 2
      and nothing is written to FILE); `verified` names the key. FILE is
      written as FILE.part and renamed when the download is complete: a
      failed download exits 2 and leaves no FILE (an existing one is kept).

  Bounds (both commands; as pxe.maxsize=, pxe.minrate=, pxe.stalltime=):
      --max-size SIZE   refuse a file larger than SIZE bytes (suffixes K, M,
                        G): at once when the server announces more (TFTP
                        tsize, HTTP Content-Length), else when it is reached.
                        Default: half of MemAvailable less 64 MiB (the kexec
                        copy); configs at most 4 MiB each, 16 MiB in all.
      --speed-limit N   abort a download slower than N bytes/s (suffixes K,
      --speed-time S    M) over S seconds; default 1K over 30 s, 0 = off.
      --busy-wait S     wait up to S seconds for a file from a server at its
                        limit (TFTP ERROR \"too many transfers\", silence from
                        a server that answered before, HTTP 503), asking
                        again on a jittered backoff; default 300, 0 = off
                        (as pxe.busywait=).

  pxeinit tree LOCATION [--no-fetch] [--platform s390x] [--ca-bundle PEM]
                [--max-size SIZE] [--speed-limit N --speed-time S]
      Detect the install tree at LOCATION (http(s)://, tftp://, ftp://,
      nfs:, file://, a directory, an ISO 9660 or ext2/3/4 image or a block
      device): .treeinfo or treeinfo, else the known s390x
      layouts (Fedora/RHEL, SUSE, Debian, Ubuntu), else an .ins file.
      Print kernel, initrds, parm file, command line (with inst.repo= or
      install=), family and checksums as JSON. The kernel and initrds are
      downloaded to check the sha256 sums .treeinfo lists (not with
      --no-fetch); a mismatch exits 2 with one line.

  pxeinit version
  pxeinit help

As PID 1 it reads its settings from the kernel command line (pxe.*,
BOOTIF=, ip=, rd.chreipl=); see README.md.
";

fn main() -> ExitCode {
    if std::process::id() == 1 {
        pid1::main();
    }
    if xenpv::invoked_as() {
        return xenpv::main();
    }
    match cli() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pxeinit: {e}");
            ExitCode::from(2)
        }
    }
}

fn cli() -> Result<ExitCode, String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let cmd = match p.next().map_err(|e| e.to_string())? {
        Some(Value(v)) => v.to_string_lossy().into_owned(),
        Some(Long("help")) | Some(Short('h')) | None => {
            print!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Some(Long("version")) => "version".into(),
        Some(a) => return Err(a.unexpected().to_string()),
    };
    match cmd.as_str() {
        "help" => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        "version" => {
            println!("pxeinit {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        "boot" => boot_cmd(p),
        "fetch" => fetch_cmd(p),
        "tree" => tree::cmd(p),
        other => Err(format!("unknown command {other:?}; try `pxeinit help`")),
    }
}

fn fetch_cmd(mut p: lexopt::Parser) -> Result<ExitCode, String> {
    use lexopt::prelude::*;
    let mut url = None;
    let mut out: Option<String> = None;
    let mut dl = fetch::Downloader::new(None, 1500);
    while let Some(a) = p.next().map_err(|e| e.to_string())? {
        let num = |p: &mut lexopt::Parser, name: &str| -> Result<u16, String> {
            let v = p.value().map_err(|e| e.to_string())?;
            let v = v.to_string_lossy();
            v.parse::<u16>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name} {v}: expected a number from 1 to 65535"))
        };
        match a {
            Long("help") | Short('h') => {
                print!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            Value(v) if url.is_none() => url = Some(v.to_string_lossy().into_owned()),
            Short('o') | Long("output") => {
                out = Some(
                    p.value()
                        .map_err(|e| e.to_string())?
                        .to_string_lossy()
                        .into_owned(),
                )
            }
            Long("blksize") => dl.tftp.blksize = num(&mut p, "--blksize")?,
            Long("windowsize") => dl.tftp.windowsize = num(&mut p, "--windowsize")?,
            Long("no-tsize") => dl.tftp.tsize = false,
            Long("no-sha256") => dl.sha256 = false,
            Long("max-size") => dl.limits.max_size = Some(size_arg(&mut p, "--max-size")?),
            Long("speed-limit") => dl.limits.min_rate = rate_arg(&mut p)?,
            Long("speed-time") => {
                dl.limits.stall_time = std::time::Duration::from_secs(stall_arg(&mut p)?)
            }
            Long("busy-wait") => dl.busy_wait = std::time::Duration::from_secs(busy_arg(&mut p)?),
            Long("ca-bundle") => {
                dl.ca_bundle = Some(p.value().map_err(|e| e.to_string())?.into());
            }
            Long("trust-key") => {
                let k = p.value().map_err(|e| e.to_string())?;
                dl.trust.add_file(std::path::Path::new(&k))?;
            }
            Long("debug") | Short('v') => std::env::set_var("RUST_LOG", "debug"),
            _ => return Err(a.unexpected().to_string()),
        }
    }
    logging::init(false);
    let url = url.ok_or("fetch: a tftp:// or http:// URL is required")?;
    // A local path (an image, a file): file://, not a TFTP path.
    let url = sources::cli_location(&url);
    let t = match &out {
        // Verified: into a sealed memfd first, so that a refused download
        // leaves no FILE behind.
        _ if dl.trust.is_on() => fetch_verified(&dl, &url, out.as_deref()),
        Some(path) => fetch_to_path(&dl, &url, path),
        None => dl.fetch_into(&url, &mut std::io::sink()),
    }
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&t.to_json(&sources::shown(&url))).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

fn fetch_verified(
    dl: &fetch::Downloader,
    url: &str,
    out: Option<&str>,
) -> Result<fetch::Transfer, fetch::FetchError> {
    use std::io::Seek;
    let mut m = fetch::memfile("fetch").map_err(fetch::FetchError::Local)?;
    let t = dl.fetch_to_file(url, &mut m)?;
    if let Some(path) = out {
        // Verified; then written as fetch_to_path writes: PATH.part, renamed.
        let part = format!("{path}.part");
        let copy = |m: &mut std::fs::File| -> std::io::Result<()> {
            m.rewind()?;
            std::io::copy(m, &mut std::fs::File::create(&part)?)?;
            std::fs::rename(&part, path)
        };
        copy(&mut m).map_err(|e| {
            let _ = std::fs::remove_file(&part);
            fetch::FetchError::Local(std::io::Error::new(e.kind(), format!("{path}: {e}")))
        })?;
    }
    Ok(t)
}

/// Download `url` to `path` through `path.part`, renamed when complete;
/// the partial file is removed on failure. A `path` that exists and is not
/// a regular file (`/dev/null`, a FIFO) is written directly.
fn fetch_to_path(
    dl: &fetch::Downloader,
    url: &str,
    path: &str,
) -> Result<fetch::Transfer, fetch::FetchError> {
    let local = |e: std::io::Error, p: &str| {
        fetch::FetchError::Local(std::io::Error::new(e.kind(), format!("{p}: {e}")))
    };
    let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file());
    if special {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| local(e, path))?;
        return dl.fetch_to_file(url, &mut f);
    }
    let part = format!("{path}.part");
    let mut f = std::fs::File::create(&part).map_err(|e| local(e, &part))?;
    match dl.fetch_to_file(url, &mut f) {
        Ok(t) => {
            drop(f);
            std::fs::rename(&part, path).map_err(|e| local(e, path))?;
            Ok(t)
        }
        Err(e) => {
            drop(f);
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

/// The value of `--max-size`: a size in bytes (suffixes K, M, G, T).
fn size_arg(p: &mut lexopt::Parser, name: &str) -> Result<u64, String> {
    let v = p.value().map_err(|e| e.to_string())?;
    let v = v.to_string_lossy();
    cmdline::parse_size(&v)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{name} {v}: expected a size in bytes, optionally with K, M or G"))
}

/// The value of `--speed-limit`: bytes per second (suffixes K, M), 0 = off.
fn rate_arg(p: &mut lexopt::Parser) -> Result<u64, String> {
    let v = p.value().map_err(|e| e.to_string())?;
    let v = v.to_string_lossy();
    cmdline::parse_size(&v)
        .filter(|n| *n <= cmdline::MAX_MIN_RATE)
        .ok_or_else(|| {
            format!("--speed-limit {v}: expected bytes per second (K, M suffixes), up to 1G")
        })
}

/// The value of `--speed-time`: seconds.
fn stall_arg(p: &mut lexopt::Parser) -> Result<u64, String> {
    let v = p.value().map_err(|e| e.to_string())?;
    let v = v.to_string_lossy();
    v.parse::<u64>()
        .ok()
        .filter(|n| (1..=cmdline::MAX_STALL_TIME).contains(n))
        .ok_or_else(|| {
            format!(
                "--speed-time {v}: expected seconds from 1 to {}",
                cmdline::MAX_STALL_TIME
            )
        })
}

/// The value of `--busy-wait`: seconds.
fn busy_arg(p: &mut lexopt::Parser) -> Result<u64, String> {
    let v = p.value().map_err(|e| e.to_string())?;
    let v = v.to_string_lossy();
    v.parse::<u64>()
        .ok()
        .filter(|n| *n <= cmdline::MAX_TIMEOUT)
        .ok_or_else(|| {
            format!(
                "--busy-wait {v}: expected seconds from 0 to {}",
                cmdline::MAX_TIMEOUT
            )
        })
}

/// What `pxeinit boot` was asked besides [`boot::Options`].
#[derive(Debug, Default)]
struct BootCli {
    iface: Option<String>,
    uuid: Option<String>,
    timeout: Option<u64>,
    help: bool,
}

/// Parse `pxeinit boot`'s arguments into `opts`. The flags become
/// settings directly (a value with spaces stays whole: `--label 'install
/// foo=1'`), on top of what `--append-cmdline` sets, whatever the order.
fn parse_boot_args(p: &mut lexopt::Parser, opts: &mut boot::Options) -> Result<BootCli, String> {
    use lexopt::prelude::*;
    let mut cli = BootCli::default();
    let mut extra = String::new();
    let mut flags = cmdline::Settings::default();
    let mut ipv6 = None;
    while let Some(a) = p.next().map_err(|e| e.to_string())? {
        let val = |p: &mut lexopt::Parser| -> Result<String, String> {
            p.value()
                .map_err(|e| e.to_string())
                .map(|v| v.to_string_lossy().into_owned())
        };
        match a {
            Long("help") | Short('h') => {
                cli.help = true;
                return Ok(cli);
            }
            Long("interface") | Short('i') => cli.iface = Some(val(p)?),
            Long("dry-run") | Short('n') => opts.dry_run = true,
            Long("label") => flags.label = Some(val(p)?),
            Long("server") => {
                let v = val(p)?;
                let a = v
                    .parse()
                    .map_err(|_| format!("--server {v}: not an IPv4 or IPv6 address"))?;
                flags.server = Some(a);
            }
            Long("ipv6") => {
                let v = val(p)?;
                ipv6 = Some(
                    cmdline::Ipv6Mode::parse(&v)
                        .ok_or_else(|| format!("--ipv6 {v}: expected off or only"))?,
                );
            }
            Long("config") => flags.config = Some(val(p)?),
            Long("location") => flags.location = Some(val(p)?),
            Long("kernel") => flags.kernel = Some(val(p)?),
            Long("ramdisk") | Long("initrd") => flags.initrd.push(val(p)?),
            Long("args") => {
                let a = flags.args.get_or_insert_with(String::new);
                if !a.is_empty() {
                    a.push(' ');
                }
                a.push_str(&val(p)?);
            }
            Long("uuid") => cli.uuid = Some(val(p)?),
            Long("timeout") => {
                let v = val(p)?;
                cli.timeout = Some(
                    v.parse::<u64>()
                        .ok()
                        .filter(|t| (1..=cmdline::MAX_TIMEOUT).contains(t))
                        .ok_or_else(|| {
                            format!(
                                "--timeout {v}: expected seconds from 1 to {}",
                                cmdline::MAX_TIMEOUT
                            )
                        })?,
                );
            }
            Long("ca-bundle") => flags.ca_bundle = Some(val(p)?),
            Long("trust-key") => opts.trust.add_file(std::path::Path::new(&val(p)?))?,
            Long("max-size") => flags.max_size = Some(size_arg(p, "--max-size")?),
            Long("speed-limit") => flags.min_rate = Some(rate_arg(p)?),
            Long("speed-time") => flags.stall_time = Some(stall_arg(p)?),
            Long("busy-wait") => flags.busy_wait = Some(busy_arg(p)?),
            Long("append-cmdline") => {
                extra.push(' ');
                extra.push_str(&val(p)?);
            }
            Long("debug") | Short('v') => flags.debug = true,
            _ => return Err(a.unexpected().to_string()),
        }
    }
    let mut s = cmdline::parse(&extra);
    s.label = flags.label.or(s.label);
    s.server = flags.server.or(s.server);
    s.ipv6 = ipv6.unwrap_or(s.ipv6);
    s.config = flags.config.or(s.config);
    s.location = flags.location.or(s.location);
    s.kernel = flags.kernel.or(s.kernel);
    if !flags.initrd.is_empty() {
        s.initrd = flags.initrd;
    }
    s.args = flags.args.or(s.args);
    s.ca_bundle = flags.ca_bundle.or(s.ca_bundle);
    s.max_size = flags.max_size.or(s.max_size);
    s.min_rate = flags.min_rate.or(s.min_rate);
    s.stall_time = flags.stall_time.or(s.stall_time);
    s.busy_wait = flags.busy_wait.or(s.busy_wait);
    s.debug |= flags.debug;
    opts.settings = s;
    Ok(cli)
}

fn boot_cmd(mut p: lexopt::Parser) -> Result<ExitCode, String> {
    let mut opts = boot::Options::default();
    let BootCli {
        iface,
        uuid,
        timeout,
        help,
    } = parse_boot_args(&mut p, &mut opts)?;
    if help {
        print!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    logging::init(opts.settings.debug);
    opts.trust = opts.trust.unless_off(opts.settings.verify_off);
    for w in &opts.settings.warnings {
        log::warn!("{w}");
    }
    if let Some(u) = &uuid {
        if dhcp::wire::parse_uuid(u).is_none() {
            return Err(format!("--uuid {u}: expected 8-4-4-4-12 hex digits"));
        }
    }
    opts.uuid = uuid
        .map(|u| u.to_ascii_lowercase())
        .or_else(boot::machine_uuid);
    opts.dhcp_limit = timeout.map(std::time::Duration::from_secs);
    opts.interface = iface;
    match boot::System::prepare(&opts) {
        Ok(prep) => {
            if opts.dry_run {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&prep.to_json()).unwrap_or_default()
                );
                return Ok(ExitCode::SUCCESS);
            }
            match prep.execute() {
                Some(e) => Err(e),
                None => Ok(ExitCode::SUCCESS),
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn boot_args(args: &[&str]) -> Result<(boot::Options, BootCli), String> {
        let mut p = lexopt::Parser::from_args(args.iter().copied());
        let mut opts = boot::Options::default();
        let cli = parse_boot_args(&mut p, &mut opts)?;
        Ok((opts, cli))
    }

    /// `--label 'install foo=1'` used to be re-joined into a command line
    /// and split on whitespace: `foo=1` was lost.
    #[test]
    fn boot_flags_keep_their_values_whole() {
        let (o, cli) = boot_args(&[
            "--label",
            "install foo=1",
            "--config",
            "http://h/a b.cfg",
            "--append-cmdline",
            "pxe.label=other pxe.timeout=9 pxe.minrate=0",
            "--server",
            "10.0.0.1",
            "--max-size",
            "64M",
            "--speed-time",
            "5",
            "--interface",
            "eth1",
            "--timeout",
            "7",
            "-v",
        ])
        .unwrap();
        let s = &o.settings;
        assert_eq!(s.label.as_deref(), Some("install foo=1"));
        assert_eq!(s.config.as_deref(), Some("http://h/a b.cfg"));
        assert_eq!(s.server, Some(std::net::Ipv4Addr::new(10, 0, 0, 1).into()));
        assert_eq!(s.timeout, Some(9));
        assert_eq!(
            (s.max_size, s.min_rate, s.stall_time),
            (Some(64 << 20), Some(0), Some(5))
        );
        assert!(s.debug);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!((cli.iface.as_deref(), cli.timeout), (Some("eth1"), Some(7)));
        // --append-cmdline alone still works, warnings and all.
        let (o, _) = boot_args(&["--append-cmdline", "pxe.label=x pxe.maxsize=1Q"]).unwrap();
        assert_eq!(o.settings.label.as_deref(), Some("x"));
        assert_eq!(o.settings.warnings.len(), 1);
    }

    /// `--location`, `--kernel`, `--ramdisk` (repeatable), `--args` are
    /// `pxe.location=`, `pxe.kernel=`, `pxe.initrd=`, `pxe.args=`.
    #[test]
    fn location_flags() {
        let (o, _) = boot_args(&[
            "--append-cmdline",
            "pxe.location=old pxe.args=a",
            "--location",
            "http://h/f39/",
            "--ramdisk",
            "i1",
            "--initrd",
            "i2",
            "--args",
            "x y",
            "--dry-run",
        ])
        .unwrap();
        let s = &o.settings;
        assert_eq!(s.location.as_deref(), Some("http://h/f39/"));
        assert_eq!(s.initrd, ["i1", "i2"]);
        assert_eq!(s.args.as_deref(), Some("x y"));
        assert_eq!(s.kernel, None);
        assert!(o.dry_run);
    }

    /// `--busy-wait` wins over `pxe.busywait=`; 0 turns the wait off.
    #[test]
    fn busy_wait_flag() {
        let (o, _) =
            boot_args(&["--append-cmdline", "pxe.busywait=60", "--busy-wait", "0"]).unwrap();
        assert_eq!(o.settings.busy_wait, Some(0));
        let (o, _) = boot_args(&["--append-cmdline", "pxe.busywait=60"]).unwrap();
        assert_eq!(o.settings.busy_wait, Some(60));
    }

    #[test]
    fn bad_boot_flags_are_errors() {
        for args in [
            &["--max-size", "12X"][..],
            &["--max-size", "0"],
            &["--speed-limit", "fast"],
            &["--speed-time", "0"],
            &["--speed-time", "99999999999999999999"],
            &["--timeout", "18446744073709551615"],
            &["--server", "boot.example"],
            &["--busy-wait", "soon"],
            &["--busy-wait", "86401"],
        ] {
            let e = boot_args(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} accepted"));
            assert!(e.starts_with(args[0]), "{args:?}: {e}");
        }
    }
}

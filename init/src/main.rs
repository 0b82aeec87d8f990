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
mod dns;
mod fetch;
mod http;
mod kexec;
mod logging;
mod menu;
mod modules;
mod net;
mod pid1;
mod reipl;
mod tftp;
mod verify;

use std::process::ExitCode;

const USAGE: &str = "\
pxeinit: PXELINUX-style network boot (PID 1 of pxelinux.0, or a command)

USAGE:
  pxeinit boot [--interface IF] [--dry-run] [--label L] [--server ADDR]
               [--config PATH|URL] [--uuid UUID] [--timeout SECONDS]
               [--ca-bundle PEM] [--trust-key KEY.pub ...]
               [--append-cmdline 'pxe.* settings']
      DHCP on IF (all Ethernet interfaces if omitted), PXELINUX config
      lookup, download of kernel and initrd, then kexec. With --dry-run,
      print the plan as JSON instead of loading it. With --trust-key
      (minisign public key, repeatable), every config, kernel and initrd
      must have a PATH.minisig by a trusted key that names the file.
  pxeinit fetch URL [-o FILE] [--blksize N] [--windowsize N] [--no-tsize]
                [--ca-bundle PEM] [--no-sha256] [--trust-key KEY.pub ...]
      Download one tftp://HOST[:PORT]/PATH or http://HOST[:PORT]/PATH with
      pxeinit's clients (into FILE, or nowhere) and print bytes, sha256,
      seconds and TFTP statistics as JSON. For checking a server and for
      benchmarks. With --trust-key, URL.minisig must verify (else exit 2
      and nothing is written to FILE); `verified` names the key.
  pxeinit version
  pxeinit help

As PID 1 it reads its settings from the kernel command line (pxe.*,
BOOTIF=, ip=, rd.chreipl=); see README.md.
";

fn main() -> ExitCode {
    if std::process::id() == 1 {
        pid1::main();
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
    let t = match &out {
        // Verified: into a sealed memfd first, so that a refused download
        // leaves no FILE behind.
        _ if dl.trust.is_on() => fetch_verified(&dl, &url, out.as_deref()),
        Some(path) => {
            let mut f = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
            dl.fetch_to_file(&url, &mut f)
        }
        None => dl.fetch_into(&url, &mut std::io::sink()),
    }
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&t.to_json(&url)).unwrap_or_default()
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
        let copy = |m: &mut std::fs::File| -> std::io::Result<()> {
            m.rewind()?;
            std::io::copy(m, &mut std::fs::File::create(path)?)?;
            Ok(())
        };
        copy(&mut m).map_err(|e| {
            fetch::FetchError::Local(std::io::Error::new(e.kind(), format!("{path}: {e}")))
        })?;
    }
    Ok(t)
}

fn boot_cmd(mut p: lexopt::Parser) -> Result<ExitCode, String> {
    use lexopt::prelude::*;
    let mut iface = None;
    let mut extra = String::new();
    let mut opts = boot::Options::default();
    let mut uuid = None;
    let mut timeout = None;
    while let Some(a) = p.next().map_err(|e| e.to_string())? {
        let val = |p: &mut lexopt::Parser| -> Result<String, String> {
            p.value()
                .map_err(|e| e.to_string())
                .map(|v| v.to_string_lossy().into_owned())
        };
        match a {
            Long("interface") | Short('i') => iface = Some(val(&mut p)?),
            Long("dry-run") | Short('n') => opts.dry_run = true,
            Long("label") => extra.push_str(&format!(" pxe.label={}", val(&mut p)?)),
            Long("server") => extra.push_str(&format!(" pxe.server={}", val(&mut p)?)),
            Long("config") => extra.push_str(&format!(" pxe.config={}", val(&mut p)?)),
            Long("uuid") => uuid = Some(val(&mut p)?),
            Long("timeout") => {
                let v = val(&mut p)?;
                timeout = Some(
                    v.parse::<u64>()
                        .map_err(|_| format!("--timeout {v}: not a number of seconds"))?,
                );
            }
            Long("ca-bundle") => extra.push_str(&format!(" pxe.cacert={}", val(&mut p)?)),
            Long("trust-key") => opts.trust.add_file(std::path::Path::new(&val(&mut p)?))?,
            Long("append-cmdline") => {
                extra.push(' ');
                extra.push_str(&val(&mut p)?);
            }
            Long("debug") | Short('v') => extra.push_str(" pxe.debug"),
            _ => return Err(a.unexpected().to_string()),
        }
    }
    opts.settings = cmdline::parse(&extra);
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

//! `pxecfg`: check what PXELINUX (and pxeinit) would boot from a TFTP tree.
//!
//! ```text
//! pxecfg resolve --root DIR [--bootfile P] [--mac M] [--ip A | --ip6 A6]
//!        [--uuid U] [--config-file F] [--path-prefix P] [--server A]
//!        [--gateway A] [--netmask M] [--label L]
//! ```
//!
//! Prints one JSON object (see [`pxecfg::Resolution::to_json`]). Exit status
//! 0 when an entry was chosen, 2 (with a message on stderr) otherwise, 1 for
//! usage errors.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use pxecfg::{resolve, Action, ClientInfo, Fetch, FetchError, ResolveOptions};

const USAGE: &str = "usage: pxecfg resolve --root DIR [--bootfile P] [--mac M] [--ip A | --ip6 A6]
                      [--uuid U] [--config-file F] [--path-prefix P] [--server A]
                      [--gateway A] [--netmask M] [--label L]

Prints, as JSON, what PXELINUX would boot from the TFTP root DIR for a client
with this lease. Paths are what would be requested from the server. With
--ip6 the client booted over IPv6 (the boot file from DHCPv6 option 59 as
--bootfile): the lookup is UUID, 01-<mac>, default, without hex-IP names.";

/// A TFTP root on disk: a path `p` (or `/p`) is the file `DIR/p`.
struct DirFetch {
    root: PathBuf,
}

impl Fetch for DirFetch {
    fn fetch(&mut self, path: &str) -> Result<Vec<u8>, FetchError> {
        if pxecfg::is_url(path) {
            return Err(FetchError::Other(format!(
                "{path}: URLs cannot be read from a --root directory"
            )));
        }
        let relative = Path::new(path.trim_start_matches('/'));
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(FetchError::Other(format!(
                "{path}: `..` is not allowed in a TFTP path"
            )));
        }
        let file = self.root.join(relative);
        match std::fs::read(&file) {
            Ok(data) => Ok(data),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(FetchError::NotFound),
            // A directory where a file is expected is "not found" for TFTP too.
            Err(_) if file.is_dir() => Err(FetchError::NotFound),
            Err(e) => Err(FetchError::Other(format!("{}: {e}", file.display()))),
        }
    }
}

struct Args {
    root: PathBuf,
    info: ClientInfo,
    label: Option<String>,
}

fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    pxecfg::parse_mac(s).ok_or_else(|| {
        format!(
            "invalid MAC address `{}` (expected six hex bytes like 52:54:00:12:34:56)",
            s.trim()
        )
    })
}

fn parse_ip(flag: &str, s: &str) -> Result<Ipv4Addr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{flag}: invalid IPv4 address `{s}`"))
}

fn parse_ip6(s: &str) -> Result<Ipv6Addr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("--ip6: invalid IPv6 address `{s}`"))
}

fn parse_args() -> Result<Args, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut root = None;
    let mut info = ClientInfo::default();
    let mut label = None;
    let mut command = None;
    let mut ip6 = None;
    let err = |e: lexopt::Error| e.to_string();
    while let Some(arg) = parser.next().map_err(err)? {
        let value = |p: &mut lexopt::Parser| -> Result<String, String> {
            p.value()
                .map_err(err)?
                .into_string()
                .map_err(|_| "argument is not valid UTF-8".to_string())
        };
        match arg {
            Short('h') | Long("help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Value(v) if command.is_none() => command = Some(v.string().map_err(err)?),
            Long("root") => root = Some(PathBuf::from(parser.value().map_err(err)?)),
            Long("bootfile") => info.bootfile = Some(value(&mut parser)?),
            Long("mac") => info.mac = Some(parse_mac(&value(&mut parser)?)?),
            Long("ip") => info.ip = Some(parse_ip("--ip", &value(&mut parser)?)?),
            Long("ip6") => ip6 = Some(parse_ip6(&value(&mut parser)?)?),
            Long("uuid") => info.uuid = Some(value(&mut parser)?),
            Long("config-file") => info.config_file = Some(value(&mut parser)?),
            Long("path-prefix") => info.path_prefix = Some(value(&mut parser)?),
            Long("server") => info.server = Some(parse_ip("--server", &value(&mut parser)?)?),
            Long("gateway") => info.gateway = Some(parse_ip("--gateway", &value(&mut parser)?)?),
            Long("netmask") => info.netmask = Some(parse_ip("--netmask", &value(&mut parser)?)?),
            Long("label") => label = Some(value(&mut parser)?),
            other => return Err(other.unexpected().to_string()),
        }
    }
    match command.as_deref() {
        Some("resolve") => {}
        Some(other) => return Err(format!("unknown command `{other}`")),
        None => return Err("missing command `resolve`".into()),
    }
    if ip6.is_some() && info.ip.is_some() {
        return Err("--ip and --ip6 exclude each other: a boot goes over one family".into());
    }
    let root = root.ok_or("missing --root DIR")?;
    if !root.is_dir() {
        return Err(format!("--root {}: not a directory", root.display()));
    }
    Ok(Args { root, info, label })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("pxecfg: {e}\n\n{USAGE}");
            return ExitCode::from(1);
        }
    };
    let mut fetch = DirFetch { root: args.root };
    let opts = ResolveOptions { label: args.label };
    match resolve(&args.info, &mut fetch, &opts) {
        Ok(resolution) => {
            println!("{:#}", resolution.to_json());
            if resolution.action == Action::None {
                let why = resolution
                    .warnings
                    .last()
                    .map_or("no reason given", String::as_str);
                eprintln!("pxecfg: nothing to boot: {why}");
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            println!("{:#}", e.to_json());
            eprintln!("pxecfg: {e}");
            ExitCode::from(2)
        }
    }
}

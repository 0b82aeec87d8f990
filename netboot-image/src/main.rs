//! `netboot-image`: build, combine and inspect s390x network boot images.
//!
//! Exit status: 0 on success, 2 on bad input or usage (one line on stderr),
//! 1 when writing the output fails.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lexopt::prelude::*;
use netboot_image::compress::{self, Compression};
use netboot_image::inspect::{self, QEMU_NETBOOT_MAX_SIZE};
use netboot_image::{cpio, initramfs, s390};

const USAGE: &str = "\
netboot-image: build, combine and inspect s390x network boot images (pxelinux.0)

USAGE:
    netboot-image build --kernel VMLINUZ --init PATH -o OUT [--modules-dir /lib/modules/VER]
                        [--module NAME ...] [--cmdline STR] [--add SRC:DEST ...]
                        [--trust-key KEY.pub ...] [--compress gzip|xz|zstd|none]
        Make an initramfs (/init, /dev/console, the modules with their dependencies
        and modules.dep, the --add files) and combine it with the kernel.
        Modules default to virtio_net and virtio_blk when --modules-dir is given.
        --trust-key (minisign public key, repeatable) is stored as
        /etc/pxeinit/trust/KEYID.pub: pxeinit then boots only signed files.

    netboot-image combine --kernel K --initrd I [--initrd I2 ...] [--cmdline STR | --parmfile F] -o OUT
        Append initrds (concatenated) to a kernel and set its command line.

    netboot-image inspect FILE [--json]
        Show the kernel version, layout, command line and initramfs listing of a
        combined image, a kernel, a cpio archive or a compressed initrd.

Reproducible: entries sorted, uid/gid 0, mtime from SOURCE_DATE_EPOCH (else 0).
";

/// An error for the user: the message, and whether it is bad input (exit 2)
/// or a failure to write the output (exit 1).
struct Failure {
    message: String,
    code: u8,
}

fn bad(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        code: 2,
    }
}

impl From<lexopt::Error> for Failure {
    fn from(e: lexopt::Error) -> Self {
        bad(format!("{e} (see --help)"))
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("netboot-image: error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run() -> Result<(), Failure> {
    let mut parser = lexopt::Parser::from_env();
    match parser.next()? {
        Some(Value(cmd)) => match cmd.to_str() {
            Some("build") => build(parser),
            Some("combine") => combine(parser),
            Some("inspect") => inspect_cmd(parser),
            Some("help") => print_stdout(USAGE),
            _ => Err(bad(format!(
                "unknown command {:?}: expected build, combine or inspect (see --help)",
                cmd
            ))),
        },
        Some(Long("help")) | Some(Short('h')) => print_stdout(USAGE),
        Some(Long("version")) | Some(Short('V')) => {
            print_stdout(&format!("netboot-image {}\n", env!("CARGO_PKG_VERSION")))
        }
        Some(arg) => Err(arg.unexpected().into()),
        None => Err(bad(
            "missing command: build, combine or inspect (see --help)",
        )),
    }
}

/// Prints to stdout; a closed pipe (`| head`) is not an error.
fn print_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure {
            message: format!("writing to stdout: {e}"),
            code: 1,
        }),
        _ => Ok(()),
    }
}

fn warn(message: &str) {
    eprintln!("netboot-image: warning: {message}");
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| bad(format!("{what} {}: {e}", path.display())))
}

/// Writes `data` to `path` through a temporary file in the same directory.
fn write_output(path: &Path, data: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure {
        message: format!("writing {}: {e}", path.display()),
        code: 1,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, data).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

fn required(value: Option<PathBuf>, flag: &str) -> Result<PathBuf, Failure> {
    value.ok_or_else(|| bad(format!("missing {flag} (see --help)")))
}

/// Combines and writes, with the summary line and the size warning.
fn finish(
    kernel_path: &Path,
    kernel: &[u8],
    initrds: &[&[u8]],
    cmdline: Option<&str>,
    out: &Path,
) -> Result<(), Failure> {
    let image = s390::combine(kernel, initrds, cmdline)
        .map_err(|e| bad(format!("{}: {e}", kernel_path.display())))?;
    write_output(out, &image)?;
    let initrd_size: usize = image.len()
        - s390::KernelImage::parse(&image)
            .map(|k| k.image_size())
            .unwrap_or(image.len());
    eprintln!(
        "netboot-image: wrote {}: {} bytes (kernel {} bytes, initrd {} bytes)",
        out.display(),
        image.len(),
        kernel.len(),
        initrd_size
    );
    if image.len() as u64 > QEMU_NETBOOT_MAX_SIZE {
        warn(&inspect::netboot_size_warning(image.len() as u64));
    }
    Ok(())
}

fn check_kernel(path: &Path, data: &[u8]) -> Result<(), Failure> {
    s390::KernelImage::parse(data)
        .map(|_| ())
        .map_err(|e| bad(format!("{}: {e}", path.display())))
}

fn build(mut parser: lexopt::Parser) -> Result<(), Failure> {
    let (mut kernel, mut modules_dir, mut init, mut out, mut cmdline) =
        (None, None, None, None, None);
    let mut modules = Vec::new();
    let mut add = Vec::new();
    let mut compression = Compression::default();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("kernel") => kernel = Some(PathBuf::from(parser.value()?)),
            Long("modules-dir") => modules_dir = Some(PathBuf::from(parser.value()?)),
            Long("init") => init = Some(PathBuf::from(parser.value()?)),
            Long("module") => {
                let value = parser.value()?.string()?;
                modules.extend(
                    value
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
            }
            Long("cmdline") => cmdline = Some(parser.value()?.string()?),
            Long("add") => {
                let value = parser.value()?.string()?;
                let (src, dest) = value
                    .rsplit_once(':')
                    .filter(|(s, d)| !s.is_empty() && !d.is_empty())
                    .ok_or_else(|| bad(format!("--add {value:?}: expected SRC:DEST")))?;
                add.push((PathBuf::from(src), dest.to_string()));
            }
            Long("trust-key") => {
                let key = PathBuf::from(parser.value()?);
                let entry = netboot_image::trust::entry(&key).map_err(bad)?;
                if !add.contains(&entry) {
                    add.push(entry);
                }
            }
            Long("compress") => compression = parser.value()?.string()?.parse().map_err(bad)?,
            Short('o') | Long("output") => out = Some(PathBuf::from(parser.value()?)),
            Long("help") | Short('h') => return print_stdout(USAGE),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let kernel_path = required(kernel, "--kernel")?;
    let init_path = required(init, "--init")?;
    let out = required(out, "-o OUT")?;
    cpio::source_date_epoch().map_err(bad)?;

    let kernel = read(&kernel_path, "kernel")?;
    check_kernel(&kernel_path, &kernel)?;
    if let Some(config) = compress::kernel_config_beside(&kernel_path) {
        compress::check_kernel_config(&config, compression).map_err(|e| bad(e.to_string()))?;
    }
    if let Some(dir) = &modules_dir {
        if modules.is_empty() {
            modules = vec!["virtio_net".into(), "virtio_blk".into()];
        }
        let release = s390::KernelImage::parse(&kernel)
            .ok()
            .and_then(|k| k.release());
        let dir_name = dir.file_name().and_then(|n| n.to_str());
        if let (Some(release), Some(dir_name)) = (release, dir_name) {
            if release != dir_name {
                warn(&format!(
                    "modules directory {} does not match the kernel release {release}: `uname -r` lookups will miss the modules",
                    dir.display()
                ));
            }
        }
    } else if !modules.is_empty() {
        return Err(bad("--module needs --modules-dir"));
    }

    let spec = initramfs::Spec {
        init: read(&init_path, "init")?,
        modules_dir,
        modules,
        add,
        compression,
    };
    let built = initramfs::assemble(&spec).map_err(|e| bad(e.to_string()))?;
    for name in &built.builtin {
        eprintln!("netboot-image: module {name} is built into the kernel, not included");
    }
    let initrd = compress::compress(&built.archive.to_bytes(), compression)
        .map_err(|e| bad(e.to_string()))?;
    finish(&kernel_path, &kernel, &[&initrd], cmdline.as_deref(), &out)
}

/// Reads a parmfile: its lines, trimmed, joined with single spaces.
fn parmfile(path: &Path) -> Result<String, Failure> {
    let data = read(path, "parmfile")?;
    let text = String::from_utf8(data)
        .map_err(|_| bad(format!("parmfile {}: not UTF-8 text", path.display())))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" "))
}

fn combine(mut parser: lexopt::Parser) -> Result<(), Failure> {
    let (mut kernel, mut out, mut cmdline, mut parm) = (None, None, None, None);
    let mut initrds = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("kernel") => kernel = Some(PathBuf::from(parser.value()?)),
            Long("initrd") => initrds.push(PathBuf::from(parser.value()?)),
            Long("cmdline") => cmdline = Some(parser.value()?.string()?),
            Long("parmfile") => parm = Some(PathBuf::from(parser.value()?)),
            Short('o') | Long("output") => out = Some(PathBuf::from(parser.value()?)),
            Long("help") | Short('h') => return print_stdout(USAGE),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let kernel_path = required(kernel, "--kernel")?;
    let out = required(out, "-o OUT")?;
    if initrds.is_empty() {
        return Err(bad("missing --initrd (see --help)"));
    }
    let cmdline = match (cmdline, parm) {
        (Some(_), Some(_)) => return Err(bad("--cmdline and --parmfile are mutually exclusive")),
        (Some(c), None) => Some(c),
        (None, Some(p)) => Some(parmfile(&p)?),
        (None, None) => None,
    };
    let kernel = read(&kernel_path, "kernel")?;
    check_kernel(&kernel_path, &kernel)?;
    let data = initrds
        .iter()
        .map(|p| read(p, "initrd"))
        .collect::<Result<Vec<_>, _>>()?;
    let slices: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    finish(&kernel_path, &kernel, &slices, cmdline.as_deref(), &out)
}

fn inspect_cmd(mut parser: lexopt::Parser) -> Result<(), Failure> {
    let (mut file, mut json) = (None, false);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("json") => json = true,
            Value(v) if file.is_none() => file = Some(PathBuf::from(v)),
            Long("help") | Short('h') => return print_stdout(USAGE),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let path = required(file, "FILE")?;
    let data = read(&path, "file")?;
    let report = inspect::inspect(&data).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    let text = if json {
        let mut text = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
        text.push('\n');
        text
    } else {
        report.to_text()
    };
    print_stdout(&text)?;
    match report.initrd.as_ref().and_then(|i| i.error.as_ref()) {
        Some(err) => Err(bad(format!("{}: initrd: {err}", path.display()))),
        None => Ok(()),
    }
}

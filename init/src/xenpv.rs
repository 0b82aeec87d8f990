//! A drop-in `xenpvnetboot`: invoked under that name (a symlink to
//! pxeinit), pxeinit takes exactly xenpvnetboot's options the way
//! Python's `optparse` read them (`--opt=V` or `--opt V`, unique prefixes
//! of long options, `-q`, positional arguments ignored: libxl passes the
//! boot disk last), fetches kernel and ramdisk into the output directory
//! as `xenpvboot.BASENAME.XXXXXX`, and writes the result in the requested
//! format to `--output` or stdout; exit status 0, 1 for every failure
//! xenpvnetboot exited 1 on, 2 for a usage error (optparse's).
//!
//! Locations are dispatched in xenpvnetboot's order: empty, `http://`,
//! `https://`, `ftp://`, `file://` or an existing directory are joined
//! with the file ([`locations::join`]); `nfs:`, `nfs+iso:` and an existing
//! non-directory (an image or block device) are read inside; `tftp://`
//! joins the file with the location's directory on that host; anything
//! else is "Unsupported location". Every download goes through the
//! downloader, as pxeinit's own do.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::process::ExitCode;

use locations::xen::{Format, XEN_PATHS};

use crate::fetch::Downloader;

/// The program name pxeinit answers as.
pub const NAME: &str = "xenpvnetboot";

const USAGE: &str = "\
Usage: xenpvnetboot [option]

Get boot images from the given location and prepare for Xen to use.

Supported locations:

 - http://host/path
 - https://host/path
 - ftp://host/path
 - file:///path
 - tftp://host/path
 - nfs:host:/path
 - /path
 - /path/file.iso
 - /path/filesystem.img
 - /dev/sda1
 - nfs+iso:host:/path/file.iso
 - nfs+iso:host:/path/filesystem.img

Options:
  --version             show program's version number and exit
  -h, --help            show this help message and exit
  --location=LOCATION   The base url for kernel and ramdisk files.
  --kernel=KERNEL       The kernel image file.
  --ramdisk=RAMDISK     The initial ramdisk file.
  --args=ARGS           Arguments pass to the kernel.
  --output=OUTPUT       Redirect output to this file instead of stdout.
  --output-directory=OUTPUT_DIRECTORY
                        Output directory.
  --output-format=OUTPUT_FORMAT
                        Output format: sxp, simple or simple0.
  -q, --quiet           Be quiet.
";

/// Whether pxeinit was started as `xenpvnetboot`.
pub fn invoked_as() -> bool {
    std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().rsplit('/').next() == Some(NAME))
        .unwrap_or(false)
}

/// xenpvnetboot's options.
#[derive(Debug, Default, PartialEq, Eq)]
struct Opts {
    location: Option<String>,
    kernel: Option<String>,
    ramdisk: Option<String>,
    args: Option<String>,
    output: Option<String>,
    output_directory: Option<String>,
    output_format: Option<String>,
    quiet: bool,
    help: bool,
    version: bool,
}

/// The long options, as `optparse` knows them (`true`: takes a value).
const LONG: &[(&str, bool)] = &[
    ("location", true),
    ("kernel", true),
    ("ramdisk", true),
    ("args", true),
    ("output", true),
    ("output-directory", true),
    ("output-format", true),
    ("quiet", false),
    ("help", false),
    ("version", false),
];

/// Parse as `optparse` does: `--name=value` or `--name value`, a unique
/// prefix of a long name (an exact name wins), `-q`/`-h` (bundled too),
/// `--` ends the options, other arguments are positional (ignored). The
/// error is optparse's message after `xenpvnetboot: error: `.
fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let matches: Vec<&(&str, bool)> = match LONG.iter().find(|(n, _)| *n == name) {
                Some(exact) => vec![exact],
                None => LONG.iter().filter(|(n, _)| n.starts_with(name)).collect(),
            };
            let (full, takes) = match matches.as_slice() {
                [one] => **one,
                [] => return Err(format!("no such option: --{name}")),
                many => {
                    let names: Vec<String> = many.iter().map(|(n, _)| format!("--{n}")).collect();
                    return Err(format!(
                        "ambiguous option: --{name} ({}?)",
                        names.join(", ")
                    ));
                }
            };
            let value = match (takes, inline) {
                (true, Some(v)) => Some(v),
                (true, None) => match args.get(i) {
                    Some(v) => {
                        i += 1;
                        Some(v.clone())
                    }
                    None => return Err(format!("--{full} option requires an argument")),
                },
                (false, Some(_)) => return Err(format!("--{full} option does not take a value")),
                (false, None) => None,
            };
            match full {
                "location" => o.location = value,
                "kernel" => o.kernel = value,
                "ramdisk" => o.ramdisk = value,
                "args" => o.args = value,
                "output" => o.output = value,
                "output-directory" => o.output_directory = value,
                "output-format" => o.output_format = value,
                "quiet" => o.quiet = true,
                "help" => o.help = true,
                _ => o.version = true,
            }
        } else if a.len() > 1 && a.starts_with('-') {
            for c in a[1..].chars() {
                match c {
                    'q' => o.quiet = true,
                    'h' => o.help = true,
                    c => return Err(format!("no such option: -{c}")),
                }
            }
        }
        // Anything else is positional: libxl's disk path, ignored.
    }
    Ok(o)
}

/// How files are fetched for a location (xenpvnetboot's fetchers).
#[derive(Debug, PartialEq, Eq)]
enum Fetcher {
    /// `Fetcher`: `os.path.join(location, file)`.
    Join(String),
    /// `MountedFetcher` and `NFSISOFetcher`: the location is an image or
    /// an NFS export, read inside.
    Inside(String),
    /// `TFTPFetcher`: `host[:port]` and the directory on it.
    Tftp { host: String, dir: String },
}

/// xenpvnetboot's dispatch, in its order (`is_dir`/`exists` ask the
/// file system).
fn fetcher(
    location: &str,
    is_dir: &dyn Fn(&str) -> bool,
    exists: &dyn Fn(&str) -> bool,
) -> Option<Fetcher> {
    let plain = ["http://", "https://", "ftp://", "file://"];
    if location.is_empty()
        || plain.iter().any(|p| location.starts_with(p))
        || (exists(location) && is_dir(location))
    {
        Some(Fetcher::Join(location.to_string()))
    } else if location.starts_with("nfs:")
        || (exists(location) && !is_dir(location))
        || location.starts_with("nfs+iso:")
    {
        // MountedFetcher, then NFSISOFetcher: both read inside.
        Some(Fetcher::Inside(location.to_string()))
    } else if let Some(rest) = location.strip_prefix("tftp://") {
        let (host, dir) = rest.split_once('/').unwrap_or((rest, ""));
        Some(Fetcher::Tftp {
            host: host.to_string(),
            dir: dir.to_string(),
        })
    } else {
        None
    }
}

impl Fetcher {
    /// Where `file` is fetched from, as a location pxeinit's downloader
    /// reads.
    fn url(&self, file: &str) -> String {
        match self {
            Fetcher::Join(loc) => crate::sources::cli_location(&locations::join(loc, file)),
            Fetcher::Inside(loc) => {
                // A file starting with / leaves the image, as the Python
                // os.path.join(mountpoint, file) did.
                if file.starts_with('/') {
                    return crate::sources::cli_location(file);
                }
                let l = match locations::is_image_name(locations::basename(loc))
                    || loc.starts_with("nfs:")
                    || loc.starts_with("nfs+iso:")
                {
                    true => loc.to_string(),
                    // An image or block device whose name does not say so.
                    false => format!("{loc}/"),
                };
                crate::sources::cli_location(&locations::join(&l, file))
            }
            Fetcher::Tftp { host, dir } => {
                format!("tftp://{host}/{}", locations::join(dir, file))
            }
        }
    }
}

/// Run as `xenpvnetboot` with `args` (without argv\[0\]).
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    run(&args)
}

fn run(args: &[String]) -> ExitCode {
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprint!("{USAGE}\n{NAME}: error: {e}\n");
            return ExitCode::from(2);
        }
    };
    if o.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if o.version {
        println!("{NAME} version 0.1 (pxeinit {})", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let say = |msg: &str| {
        if !o.quiet {
            eprintln!("{msg}");
        }
    };
    if o.location.is_none() && o.kernel.is_none() && o.ramdisk.is_none() {
        if !o.quiet {
            eprintln!("You should at least specify a location or kernel/ramdisk.");
            eprint!("{USAGE}");
        }
        return ExitCode::from(1);
    }
    // The output first, as xenpvnetboot opens it: an existing file,
    // write-only, neither created nor truncated.
    let mut out: Box<dyn Write> = match o.output.as_deref() {
        None | Some("-") => Box::new(std::io::stdout()),
        Some(path) => match OpenOptions::new().write(true).open(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::from(1);
            }
        },
    };
    let format = match Format::parse(o.output_format.as_deref().unwrap_or("sxp")) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let location = o.location.clone().unwrap_or_default();
    let is_dir = |p: &str| std::fs::metadata(p).is_ok_and(|m| m.is_dir());
    let exists = |p: &str| std::fs::metadata(p).is_ok();
    let Some(fetcher) = fetcher(&location, &is_dir, &exists) else {
        say(&format!("Unsupported location: {location}"));
        return ExitCode::from(1);
    };
    let outdir = o
        .output_directory
        .clone()
        .unwrap_or_else(|| "/var/run/libxl".into());
    if !is_dir(&outdir) {
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(&outdir)
        {
            say(&format!("{outdir}: {e}"));
            return ExitCode::from(1);
        }
    }
    if !o.quiet {
        crate::logging::init(false);
    }
    let mut dl = Downloader::new(None, 1500);
    // Into files, not memory: bounded at 4 GiB rather than by MemAvailable.
    dl.limits.max_size = Some(4 << 30);
    dl.sha256 = false;
    let mut rng = crate::rng::Rng::new(outdir.as_bytes());
    let mut get =
        |file: &str| -> Result<String, String> { get_file(&dl, &fetcher, &outdir, file, &mut rng) };
    let kernel = match &o.kernel {
        Some(k) => match get(k) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(1);
            }
        },
        None => {
            let found = XEN_PATHS.iter().find_map(|(k, _)| match get(k) {
                Ok(p) => Some(p),
                Err(e) => {
                    say(&e);
                    None
                }
            });
            match found {
                Some(p) => p,
                None => {
                    say(&format!("Cannot get kernel from location: {location}"));
                    return ExitCode::from(1);
                }
            }
        }
    };
    let ramdisk = match &o.ramdisk {
        Some(r) => match get(r) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("{e}");
                let _ = std::fs::remove_file(&kernel);
                return ExitCode::from(1);
            }
        },
        None => XEN_PATHS.iter().find_map(|(_, r)| match get(r) {
            Ok(p) => Some(p),
            Err(e) => {
                say(&e);
                None
            }
        }),
    };
    let result = format.render(&kernel, ramdisk.as_deref(), o.args.as_deref());
    // One write, as os.write(fd, output).
    if let Err(e) = out.write_all(&result).and_then(|()| out.flush()) {
        eprintln!("writing the result: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Fetch `file` into `outdir/xenpvboot.BASENAME.XXXXXX`; the local path,
/// or the one-line reason (naming where it came from).
fn get_file(
    dl: &Downloader,
    fetcher: &Fetcher,
    outdir: &str,
    file: &str,
    rng: &mut crate::rng::Rng,
) -> Result<String, String> {
    let url = fetcher.url(file);
    let (path, mut f) = create_output(outdir, file, rng)
        .map_err(|e| format!("Cannot get file {url}: {outdir}: {e}"))?;
    match dl.fetch_to_file(&url, &mut f) {
        Ok(_) => Ok(path),
        Err(e) => {
            drop(f);
            let _ = std::fs::remove_file(&path);
            Err(format!("Cannot get file {e}"))
        }
    }
}

/// A new file `outdir/xenpvboot.BASENAME.XXXXXX` (six distinct letters, as
/// `random.sample(string.ascii_letters, 6)`), created exclusively.
fn create_output(
    outdir: &str,
    file: &str,
    rng: &mut crate::rng::Rng,
) -> std::io::Result<(String, File)> {
    loop {
        let name = locations::xen::output_name(file, &mut |n| rng.below(n as u64) as usize);
        let path = locations::join(outdir, &name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn p(args: &[&str]) -> Result<Opts, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    /// libxl's argument order, with a user's `bootloader_args` and the
    /// disk last.
    #[test]
    fn libxl_arguments() {
        let o = p(&[
            "--kernel=images/pxeboot/vmlinuz",
            "--ramdisk=images/pxeboot/initrd.img",
            "--args=console=hvc0 ks=http://h/ks.cfg",
            "--output=/var/lib/xen/bootloader.7.out",
            "--output-format=simple0",
            "--output-directory=/var/lib/xen/bootloader.7.d",
            "--location",
            "http://10.0.0.1/OL6",
            "/dev/vg/guest-disk",
        ])
        .unwrap();
        assert_eq!(o.kernel.as_deref(), Some("images/pxeboot/vmlinuz"));
        assert_eq!(o.args.as_deref(), Some("console=hvc0 ks=http://h/ks.cfg"));
        assert_eq!(o.output_format.as_deref(), Some("simple0"));
        assert_eq!(o.location.as_deref(), Some("http://10.0.0.1/OL6"));
        assert!(!o.quiet);
    }

    /// optparse's rules: prefixes, an exact name beating a longer one,
    /// bundled short options, `--`, errors.
    #[test]
    fn optparse_rules() {
        let o = p(&["--loc=x", "--output", "o", "-qh", "--", "--kernel=k"]).unwrap();
        assert_eq!(
            (o.location.as_deref(), o.output.as_deref(), o.quiet, o.help),
            (Some("x"), Some("o"), true, true)
        );
        assert_eq!(o.kernel, None);
        assert_eq!(
            p(&["--output-f=sxp"]).unwrap().output_format.as_deref(),
            Some("sxp")
        );
        assert_eq!(
            p(&["--outp=x"]).unwrap_err(),
            "ambiguous option: --outp (--output, --output-directory, --output-format?)"
        );
        assert_eq!(p(&["--runas=0"]).unwrap_err(), "no such option: --runas");
        assert_eq!(
            p(&["--kernel"]).unwrap_err(),
            "--kernel option requires an argument"
        );
        assert_eq!(
            p(&["--quiet=1"]).unwrap_err(),
            "--quiet option does not take a value"
        );
        assert_eq!(p(&["-x"]).unwrap_err(), "no such option: -x");
    }

    /// The dispatch order and each fetcher's join.
    #[test]
    fn dispatch() {
        let dir = |p: &str| p == "/srv/tree";
        let exists = |p: &str| matches!(p, "/srv/tree" | "/srv/F.iso" | "/dev/sda1");
        let f = |l: &str| fetcher(l, &dir, &exists);
        assert_eq!(f(""), Some(Fetcher::Join("".into())));
        assert_eq!(
            f("http://h/OL6").unwrap().url("images/pxeboot/vmlinuz"),
            "http://h/OL6/images/pxeboot/vmlinuz"
        );
        assert_eq!(f("").unwrap().url("http://h/k"), "http://h/k");
        assert_eq!(f("/srv/tree").unwrap().url("k"), "file:///srv/tree/k");
        assert_eq!(
            f("/srv/F.iso").unwrap().url("images/k"),
            "file:///srv/F.iso/images/k"
        );
        assert_eq!(
            f("/dev/sda1").unwrap().url("boot/k"),
            "file:///dev/sda1/boot/k"
        );
        assert_eq!(
            f("nfs:h:/srv/x").unwrap(),
            Fetcher::Inside("nfs:h:/srv/x".into())
        );
        assert_eq!(
            f("nfs+iso:h:/srv/F.iso").unwrap().url("images/k"),
            "nfs+iso:h:/srv/F.iso/images/k"
        );
        let t = f("tftp://10.0.0.1:6969/fedora").unwrap();
        assert_eq!(t.url("images/k"), "tftp://10.0.0.1:6969/fedora/images/k");
        // An absolute file stays on the TFTP host (os.path.join(basedir, file)).
        assert_eq!(t.url("/images/k"), "tftp://10.0.0.1:6969//images/k");
        assert_eq!(f("tftp://h").unwrap().url("k"), "tftp://h/k");
        assert_eq!(f("gopher://h/x"), None);
        assert_eq!(f("/srv/missing"), None);
    }
}

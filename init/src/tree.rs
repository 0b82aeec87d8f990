//! Install trees at a location: `pxeinit tree LOCATION` detects the tree
//! with the `locations` crate ([`locations::detect`]) through the
//! downloader, so every transport it has (TFTP, HTTP(S), `file://` and
//! local paths) serves tree detection too, within the same limits. The
//! kernel and initrds are then downloaded to check the sha256 sums the
//! tree's `.treeinfo` lists; a mismatch refuses the tree.

use std::cell::Cell;
use std::io::{self, Write};

use locations::{DetectOptions, FileError, Files, Location, Tree};

use crate::fetch::{Downloader, FetchError, Transfer};

/// The reason of a download error without its location (the tree error
/// names the location once).
fn reason(e: &FetchError) -> String {
    match e {
        FetchError::Failed { why, .. } | FetchError::Unreachable { why, .. } => why.clone(),
        FetchError::NotFound(_) => "file not found".into(),
        FetchError::Refused { why, .. } => format!("refused: {why}"),
        other => other.to_string(),
    }
}

/// Where the files of a tree come from: the downloader itself
/// ([`DlSource`], `pxeinit tree`) or the boot pipeline's fetcher
/// (`pxe.location=`), so that detection is the same code for both.
pub trait Source {
    /// The whole of a small file (a treeinfo, parm or `.ins` file), at
    /// most `max` bytes.
    fn read(&mut self, url: &str, max: u64) -> Result<(Vec<u8>, Transfer), FetchError>;
    /// Whether a file exists: its download starts.
    fn exists(&mut self, url: &str) -> Result<bool, FetchError>;
}

/// A [`Source`] over a downloader: within its limits, and verified as
/// its configs are when it trusts keys.
pub struct DlSource<'a>(pub &'a Downloader);

impl Source for DlSource<'_> {
    fn read(&mut self, url: &str, max: u64) -> Result<(Vec<u8>, Transfer), FetchError> {
        let mut dl = self.0.clone();
        dl.limits.max_size = Some(max.min(dl.limits.max_size.unwrap_or(u64::MAX)));
        dl.fetch_vec(url)
    }

    fn exists(&mut self, url: &str) -> Result<bool, FetchError> {
        let seen = Cell::new(false);
        let mut dl = self.0.clone();
        dl.sha256 = false;
        match dl.fetch_into(url, &mut Probe(&seen)) {
            Ok(_) => Ok(true),
            Err(FetchError::NotFound(_)) => Ok(false),
            Err(_) if seen.get() => Ok(true),
            Err(e) => Err(e),
        }
    }
}

/// The files of the tree at `root`, through a [`Source`].
pub struct TreeFiles<'a> {
    src: &'a mut dyn Source,
    root: String,
}

impl<'a> TreeFiles<'a> {
    /// The tree at `root` (a location `src` fetches from).
    pub fn new(src: &'a mut dyn Source, root: &str) -> TreeFiles<'a> {
        TreeFiles {
            src,
            root: root.to_string(),
        }
    }

    /// Where `path` of the tree is fetched from.
    pub fn url(&self, path: &str) -> String {
        locations::join(&self.root, path)
    }
}

/// A writer that takes the first bytes and refuses the next: a download
/// that starts is enough to know the file is there. (The first write
/// succeeds so that the transport has received something: a download
/// that fails before any byte may be taken for a busy server.)
struct Probe<'a>(&'a Cell<bool>);

impl Write for Probe<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.0.replace(true) {
            return Err(io::Error::other("the file exists (probe)"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Files for TreeFiles<'_> {
    fn read(&mut self, path: &str, max: u64) -> Result<Vec<u8>, FileError> {
        let url = self.url(path);
        match self.src.read(&url, max) {
            Ok((v, _)) => Ok(v),
            Err(FetchError::NotFound(_)) => Err(FileError::NotFound),
            Err(e) => Err(FileError::Other(reason(&e))),
        }
    }

    fn exists(&mut self, path: &str) -> Result<bool, FileError> {
        let url = self.url(path);
        self.src
            .exists(&url)
            .map_err(|e| FileError::Other(reason(&e)))
    }
}

/// Why a location's tree is not used: one line naming the location once.
#[derive(Debug)]
pub struct TreeError {
    /// The location as given.
    pub location: String,
    /// Why.
    pub why: String,
}

impl std::fmt::Display for TreeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.why)
    }
}

/// A detected tree and where its files are.
pub struct Found {
    /// The location as given.
    pub location: String,
    /// The root, parsed.
    pub root: Location,
    /// What was detected.
    pub tree: Tree,
    /// Where the kernel is fetched from.
    pub kernel: String,
    /// Where the initrds are fetched from.
    pub initrds: Vec<String>,
    /// Where the parm file is.
    pub parm: Option<String>,
}

impl Found {
    /// The command line for the target: the parm file's and the
    /// installer's source argument.
    pub fn command_line(&self) -> String {
        self.tree.command_line(&self.root)
    }
}

/// Detect the tree at `location` (as the user wrote it; named in
/// errors), fetched from `url` (the same location made absolute: a
/// `file://` URL for a local path, a `tftp://` URL for one on the boot
/// server).
pub fn detect(
    src: &mut dyn Source,
    location: &str,
    url: &str,
    opts: &DetectOptions,
) -> Result<Found, TreeError> {
    let err = |why: String| TreeError {
        location: location.to_string(),
        why,
    };
    let root = Location::parse(url)
        .map_err(|e| err(e.to_string().replacen(&format!("{url}: "), "", 1)))?
        .into_root();
    if let locations::Source::Local { path } = &root.source {
        if root.inside.is_empty() && std::fs::metadata(path).is_ok_and(|m| !m.is_dir()) {
            return Err(err(
                "not a directory (images are opened when their name ends in .iso or .img)".into(),
            ));
        }
    }
    let mut files = TreeFiles::new(src, url);
    let tree = locations::detect(&mut files, opts).map_err(|e| err(e.to_string()))?;
    Ok(Found {
        location: location.to_string(),
        kernel: files.url(&tree.kernel),
        initrds: tree.initrds.iter().map(|p| files.url(p)).collect(),
        parm: tree.parm.as_ref().map(|p| files.url(p)),
        root,
        tree,
    })
}

/// The tree's relative paths of the kernel and initrds, with the URLs
/// they are fetched from.
fn payload_paths(found: &Found) -> impl Iterator<Item = (&String, &String)> {
    let rel = std::iter::once(&found.tree.kernel).chain(&found.tree.initrds);
    let urls = std::iter::once(&found.kernel).chain(&found.initrds);
    rel.zip(urls)
}

/// Check one downloaded file of the tree (`path` relative to it) against
/// the sha256 sum its treeinfo lists, if any.
fn check(found: &Found, path: &str, t: &Transfer) -> Result<(), TreeError> {
    match found.tree.checksums.get(path) {
        Some(c) => c.check_sha256_hex(&t.sha256).map_err(|why| TreeError {
            location: found.location.clone(),
            why: format!("{path}: refused: {why}"),
        }),
        None => Ok(()),
    }
}

/// Whether any file the boot downloads has a checksum to check (then the
/// downloads must compute their sha256).
pub fn has_checksums(found: &Found) -> bool {
    payload_paths(found).any(|(p, _)| found.tree.checksums.contains_key(p))
}

/// Check the payload downloads of a boot (URL → transfer) that are the
/// tree's kernel and initrds against its checksums: the checked files by
/// their paths in the tree, or the first mismatch. Downloads of other
/// files (`pxe.initrd=` given) are not the tree's and are not checked.
pub fn check_downloads(
    found: &Found,
    downloads: &[(String, Transfer)],
) -> Result<Vec<(String, Transfer)>, TreeError> {
    let mut out = Vec::new();
    for (path, url) in payload_paths(found) {
        if let Some((_, t)) = downloads.iter().rev().find(|(u, _)| u == url) {
            check(found, path, t)?;
            out.push((path.clone(), t.clone()));
        }
    }
    Ok(out)
}

/// Download the kernel and initrds of `found` (into nothing) and check
/// the sha256 sums its treeinfo lists; the transfers, or the first
/// mismatch.
pub fn verify(dl: &Downloader, found: &Found) -> Result<Vec<(String, Transfer)>, TreeError> {
    let mut dl = dl.clone();
    dl.sha256 = true;
    let mut out = Vec::new();
    for (path, url) in payload_paths(found) {
        let t = dl.fetch_into(url, &mut io::sink()).map_err(|e| TreeError {
            location: found.location.clone(),
            why: format!("{path}: {}", reason(&e)),
        })?;
        check(found, path, &t)?;
        out.push((path.clone(), t));
    }
    Ok(out)
}

/// The tree as JSON: `verified` is true for each file whose listed
/// checksum was checked (the parm file during detection; kernel and
/// initrds when `downloads` has them), null when not checked.
pub fn to_json(found: &Found, downloads: Option<&[(String, Transfer)]>) -> serde_json::Value {
    let t = &found.tree;
    let extra: Vec<String> = t.family.installer_arg(&found.root).into_iter().collect();
    let checksums: Vec<serde_json::Value> = t
        .checksums
        .iter()
        .map(|(path, c)| {
            let checked = Some(path) == t.parm.as_ref()
                || downloads.is_some_and(|d| d.iter().any(|(p, _)| p == path));
            serde_json::json!({
                "file": path,
                "expected": format!("{}:{}", c.algo, c.hex),
                "verified": checked.then_some(true),
            })
        })
        .collect();
    serde_json::json!({
        "location": found.location,
        "family": t.family.name(),
        "found_by": t.found_by.to_string(),
        "name": t.name,
        "version": t.version,
        "kernel": found.kernel,
        "initrds": found.initrds,
        "parm_file": found.parm,
        "parm_cmdline": t.cmdline,
        "extra_args": extra,
        "cmdline": found.command_line(),
        "checksums": checksums,
        "downloads": downloads.map(|d| d.iter().map(|(_, t)| {
            let from = t.from.clone();
            t.to_json(&from)
        }).collect::<Vec<_>>()),
    })
}

/// `pxeinit tree LOCATION [--no-fetch] [--platform P] [--ca-bundle PEM]
/// [bounds]`: print the tree as JSON; exit 2 with one line when there is
/// none or it is refused.
pub fn cmd(mut p: lexopt::Parser) -> Result<std::process::ExitCode, String> {
    use lexopt::prelude::*;
    let mut location = None;
    let mut fetch = true;
    let mut opts = DetectOptions::default();
    let mut dl = Downloader::new(None, 1500);
    while let Some(a) = p.next().map_err(|e| e.to_string())? {
        match a {
            Long("help") | Short('h') => {
                print!("{}", crate::USAGE);
                return Ok(std::process::ExitCode::SUCCESS);
            }
            Value(v) if location.is_none() => location = Some(v.to_string_lossy().into_owned()),
            Long("no-fetch") => fetch = false,
            Long("platform") => {
                opts.platform = p
                    .value()
                    .map_err(|e| e.to_string())?
                    .to_string_lossy()
                    .into_owned()
            }
            Long("ca-bundle") => dl.ca_bundle = Some(p.value().map_err(|e| e.to_string())?.into()),
            Long("max-size") => dl.limits.max_size = Some(crate::size_arg(&mut p, "--max-size")?),
            Long("speed-limit") => dl.limits.min_rate = crate::rate_arg(&mut p)?,
            Long("speed-time") => {
                dl.limits.stall_time = std::time::Duration::from_secs(crate::stall_arg(&mut p)?)
            }
            Long("debug") | Short('v') => std::env::set_var("RUST_LOG", "debug"),
            _ => return Err(a.unexpected().to_string()),
        }
    }
    crate::logging::init(false);
    let location = location.ok_or("tree: a LOCATION is required")?;
    let url = crate::sources::cli_location(&location);
    let found = detect(&mut DlSource(&dl), &location, &url, &opts).map_err(|e| e.to_string())?;
    let downloads = match fetch {
        true => Some(verify(&dl, &found).map_err(|e| e.to_string())?),
        false => None,
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&to_json(&found, downloads.as_deref())).unwrap_or_default()
    );
    Ok(std::process::ExitCode::SUCCESS)
}

//! The transports beyond TFTP and HTTP: `ftp://` ([`crate::ftp`]),
//! `nfs:host:/path`, `nfs://host[:port]/path` and `nfs+iso:`
//! ([`crate::nfs`]), `file://` (and the local paths the CLI turns into
//! `file://` URLs), and paths into ISO 9660 images
//! (`.../dvd.iso/images/kernel.img`), read with random access from a
//! local file or block device, over NFS, or over `http://` with Range
//! requests ([`crate::ranges`]): only the volume
//! descriptors, the directories on the path and the file itself. [`crate::fetch`] hands these
//! locations (`fetch::Location::Url`) here from inside its download path,
//! so the size and rate limits, hashing, progress and signature checks
//! apply as to every other download. The grammar is the `locations`
//! crate's.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use locations::image::{self, ImageError};
use locations::iso9660::{ReadAt, ReadError};
use locations::{Location, Source};

use crate::fetch::{self, Downloader, FetchError};

/// Whether `url` (an `http(s)://` or `file://` URL) is fetched here
/// rather than by the HTTP client.
pub fn claims(url: &str) -> bool {
    match Location::parse(url) {
        Ok(l) => matches!(l.source, Source::Local { .. }) || !l.inside.is_empty(),
        Err(_) => false,
    }
}

/// `url` as shown in messages: an FTP password as `***`.
pub fn shown(url: &str) -> String {
    match Location::parse(url) {
        Ok(
            l @ Location {
                source: Source::Ftp {
                    password: Some(_), ..
                },
                ..
            },
        ) => l.to_string(),
        _ => url.to_string(),
    }
}

/// A local path as a `file://` URL (absolute; `%` encoded), for the
/// downloader, which reads plain paths from the boot server. Other
/// locations are returned as they are.
pub fn cli_location(s: &str) -> String {
    let local = matches!(
        Location::parse(s),
        Ok(Location {
            source: Source::Local { .. },
            ..
        })
    );
    if !local || s.starts_with("file:") {
        return s.to_string();
    }
    let abs = match s.starts_with('/') {
        true => s.to_string(),
        false => std::env::current_dir()
            .map(|d| locations::join(&d.to_string_lossy(), s))
            .unwrap_or_else(|_| s.to_string()),
    };
    format!("file://{}", abs.replace('%', "%25"))
}

/// Stream `url` into `sink`, refusing more than `limit` bytes; `progress`
/// is told the bytes so far and the size.
pub fn fetch(
    dl: &Downloader,
    loc: &fetch::Location,
    url: &str,
    sink: &mut dyn Write,
    limit: u64,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(), FetchError> {
    let failed = |why: String| FetchError::Failed {
        from: loc.clone(),
        why,
    };
    let parsed = Location::parse(url).map_err(|e| failed(reason_of(&e)))?;
    if !parsed.inside.is_empty() {
        return image(dl, loc, &parsed, sink, limit, progress);
    }
    match &parsed.source {
        Source::Local { path } => local(loc, path, sink, limit, progress),
        Source::Ftp {
            user,
            password,
            host,
            port,
            path,
        } => {
            let addr = crate::ftp::resolve(host, *port, &dl.dns, dl.http_timeout)
                .map_err(|e| ftp_error(loc, e))?;
            let req = crate::ftp::Request {
                addr,
                user: user.as_deref(),
                password: password.as_deref(),
                path,
                timeout: dl.http_timeout,
                limit,
            };
            crate::ftp::fetch(&req, sink, progress)
                .map(|_| ())
                .map_err(|e| ftp_error(loc, e))
        }
        Source::Nfs { host, port, path } => {
            let mut f = nfs_open(dl, loc, host, *port, path)?;
            f.copy(sink, limit, progress)
                .map(|_| ())
                .map_err(|e| nfs_error(loc, e))
        }
        _ => Err(FetchError::Unsupported(url.to_string())),
    }
}

/// Open an NFS file (a host name resolved with the lease's DNS).
fn nfs_open(
    dl: &Downloader,
    loc: &fetch::Location,
    host: &str,
    port: Option<u16>,
    path: &str,
) -> Result<crate::nfs::File, FetchError> {
    let addr =
        crate::ftp::resolve(host, 0, &dl.dns, dl.http_timeout).map_err(|e| ftp_error(loc, e))?;
    let srv = crate::nfs::Server {
        host,
        ip: addr.ip(),
        port,
        timeout: dl.http_timeout,
    };
    crate::nfs::open(&srv, path).map_err(|e| nfs_error(loc, e))
}

fn nfs_error(loc: &fetch::Location, e: crate::nfs::NfsError) -> FetchError {
    use crate::nfs::NfsError;
    match e {
        NfsError::NotFound => FetchError::NotFound(loc.clone()),
        NfsError::Unreachable(why) => FetchError::Unreachable {
            from: loc.clone(),
            why,
        },
        NfsError::Failed(why) => FetchError::Failed {
            from: loc.clone(),
            why,
        },
    }
}

fn ftp_error(loc: &fetch::Location, e: crate::ftp::FtpError) -> FetchError {
    use crate::ftp::FtpError;
    match e {
        FtpError::NotFound => FetchError::NotFound(loc.clone()),
        FtpError::Unreachable(why) => FetchError::Unreachable {
            from: loc.clone(),
            why,
        },
        FtpError::Failed(why) => FetchError::Failed {
            from: loc.clone(),
            why,
        },
    }
}

/// A local image file or block device.
struct LocalImage(File);

impl ReadAt for LocalImage {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        use std::os::unix::fs::FileExt;
        self.0
            .read_exact_at(buf, offset)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => ReadError::Eof,
                _ => ReadError::Other(e.to_string()),
            })
    }
}

/// Read the file `parsed` names inside its image(s) into `sink`.
fn image(
    dl: &Downloader,
    loc: &fetch::Location,
    parsed: &Location,
    sink: &mut dyn Write,
    limit: u64,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(), FetchError> {
    let failed = |why: String| FetchError::Failed {
        from: loc.clone(),
        why,
    };
    let img_err = |e: ImageError| match e {
        ImageError::NotFound(_) => FetchError::NotFound(loc.clone()),
        e => failed(e.to_string()),
    };
    let mut r: Box<dyn ReadAt> = match &parsed.source {
        Source::Local { path } => match File::open(path) {
            Ok(f) => Box::new(LocalImage(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(FetchError::NotFound(loc.clone()))
            }
            Err(e) => return Err(failed(format!("{path}: {e}"))),
        },
        Source::Http { url } => Box::new(
            crate::ranges::HttpRanges::new(url, dl.http_timeout, dl.dns.clone())
                .map_err(failed)?,
        ),
        Source::Nfs { host, port, path } => {
            let f = nfs_open(dl, loc, host, *port, path)?;
            if f.dir {
                return Err(failed(format!("{path}: a directory, not an image")));
            }
            Box::new(f)
        }
        _ => {
            return Err(failed(
                "images are read from local files, block devices, NFS and http:// (random access), not over this transport".into(),
            ))
        }
    };
    let (last, outer) = parsed
        .inside
        .split_last()
        .unwrap_or((&parsed.inside[0], &[]));
    for inner in outer {
        r = Box::new(image::open(r, inner).map_err(|e| match e {
            ImageError::Directory(p) => {
                failed(format!("{p}: a directory in the image, not an image"))
            }
            e => img_err(e),
        })?);
    }
    let mut file = image::open(r, last).map_err(img_err)?;
    let size = file.size();
    if size > limit {
        return Err(failed(format!(
            "{size} bytes, larger than the size limit of {limit} bytes"
        )));
    }
    // Ranges from 64 KiB doubling to 1 MiB: a caller that stops after the
    // first bytes (a probe for the file) has cost little.
    let mut buf = vec![0u8; 1 << 20];
    let mut chunk = 64 << 10;
    let mut got = 0u64;
    while got < size {
        let n = (size - got).min(chunk) as usize;
        chunk = (chunk * 2).min(buf.len() as u64);
        file.read_exact_at(got, &mut buf[..n])
            .map_err(|e| failed(e.to_string()))?;
        sink.write_all(&buf[..n])
            .map_err(|e| failed(format!("writing the copy: {e}")))?;
        got += n as u64;
        progress(got, Some(size));
    }
    Ok(())
}

/// The reason of a location error, without the location (the caller's
/// error names it).
fn reason_of(e: &locations::LocationError) -> String {
    let s = e.to_string();
    s.strip_prefix(&format!("{}: ", e.input()))
        .unwrap_or(&s)
        .to_string()
}

/// The size of an open file or block device.
fn size_of(f: &mut File) -> io::Result<u64> {
    let m = f.metadata()?;
    if m.is_file() {
        return Ok(m.len());
    }
    let end = f.seek(SeekFrom::End(0))?;
    f.seek(SeekFrom::Start(0))?;
    Ok(end)
}

fn local(
    loc: &fetch::Location,
    path: &str,
    sink: &mut dyn Write,
    limit: u64,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(), FetchError> {
    let failed = |why: String| FetchError::Failed {
        from: loc.clone(),
        why,
    };
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(FetchError::NotFound(loc.clone()))
        }
        Err(e) => return Err(failed(e.to_string())),
    };
    if f.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(failed("is a directory".into()));
    }
    let size = size_of(&mut f).map_err(|e| failed(e.to_string()))?;
    if size > limit {
        return Err(failed(format!(
            "{size} bytes, larger than the size limit of {limit} bytes"
        )));
    }
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(format!("reading: {e}"))),
        };
        sink.write_all(&buf[..n])
            .map_err(|e| failed(format!("writing the copy: {e}")))?;
        got += n as u64;
        progress(got, Some(size));
    }
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn local_paths_become_file_urls() {
        assert_eq!(cli_location("/srv/tree"), "file:///srv/tree");
        assert_eq!(cli_location("/srv/100%"), "file:///srv/100%25");
        assert_eq!(cli_location("file:///x"), "file:///x");
        assert_eq!(cli_location("http://h/x"), "http://h/x");
        assert_eq!(cli_location("tftp://h/x"), "tftp://h/x");
        let rel = cli_location("tree");
        assert!(
            rel.starts_with("file:///") && rel.ends_with("/tree"),
            "{rel}"
        );
        assert!(claims("file:///x") && !claims("http://h/x"));
        // A config's relative path into an image, behind an http:// path
        // prefix (option 210), is read here, in ranges.
        let p = pxecfg::join_path("http://h/boot/", "dvd.iso/images/kernel.img");
        assert_eq!(p, "http://h/boot/dvd.iso/images/kernel.img");
        assert!(claims(&p));
        assert_eq!(shown("ftp://u:secret@h/x"), "ftp://u:***@h/x");
        assert_eq!(shown("ftp://h/x"), "ftp://h/x");
    }

    #[test]
    fn local_reads() {
        let dir = std::env::temp_dir().join(format!("pxeinit-sources-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("k");
        std::fs::write(&p, b"kernel bytes").unwrap();
        let url = format!("file://{}", p.display());
        let loc = fetch::Location::Url(url.clone());
        let mut out = Vec::new();
        let mut calls = 0;
        let dl = Downloader::new(None, 1500);
        fetch(&dl, &loc, &url, &mut out, 1 << 20, &mut |_, t| {
            calls += 1;
            assert_eq!(t, Some(12));
        })
        .unwrap();
        assert_eq!((out.as_slice(), calls), (&b"kernel bytes"[..], 1));
        let e = fetch(&dl, &loc, &url, &mut Vec::new(), 5, &mut |_, _| {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{url}: 12 bytes, larger than the size limit of 5 bytes")
        );
        let missing = format!("file://{}/nope", dir.display());
        let e = fetch(
            &dl,
            &fetch::Location::Url(missing.clone()),
            &missing,
            &mut Vec::new(),
            5,
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(e, FetchError::NotFound(_)), "{e}");
        let d = format!("file://{}", dir.display());
        let e = fetch(
            &dl,
            &fetch::Location::Url(d.clone()),
            &d,
            &mut Vec::new(),
            5,
            &mut |_, _| {},
        )
        .unwrap_err();
        assert_eq!(e.to_string(), format!("{d}: is a directory"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

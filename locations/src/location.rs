//! The location grammar: what a string names, and xenpvnetboot's join rule.

use std::fmt;

/// Where the bytes of a [`Location`] come from, before any image is
/// opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// `http://` or `https://`: the URL as written, up to the first image
    /// component.
    Http {
        /// The URL.
        url: String,
    },
    /// `ftp://[user[:password]@]host[:port]/path` (RFC 1738; the user,
    /// password and path percent-decoded).
    Ftp {
        /// User name (`None`: anonymous).
        user: Option<String>,
        /// Password (`None`: none given).
        password: Option<String>,
        /// Host name or address (an IPv6 address without brackets).
        host: String,
        /// Port (21 unless given).
        port: u16,
        /// Path on the server, without the leading `/` of the URL (RFC
        /// 1738: relative to the login directory).
        path: String,
    },
    /// `tftp://host[:port]/path`.
    Tftp {
        /// Host name or address (an IPv6 address without brackets).
        host: String,
        /// Port (69 unless given).
        port: u16,
        /// File name as requested (without the `/` after the host).
        path: String,
    },
    /// `nfs:host:/path` (xenpvnetboot, anaconda), `nfs://host/path` (RFC
    /// 2224) or the NFS part of `nfs+iso:host:/path/file.iso`.
    Nfs {
        /// Server (an IPv6 address without brackets).
        host: String,
        /// Port of `nfs://host:port/` (`None`: ask the portmapper).
        port: Option<u16>,
        /// Absolute path on the server.
        path: String,
    },
    /// A local path, absolute or relative (`file:///path` or as written):
    /// a directory, a file, an image or a block device.
    Local {
        /// The path.
        path: String,
    },
}

/// A parsed location: a [`Source`], and the path inside each image the
/// source's path goes into.
///
/// `inside` is empty for a plain file or directory. Otherwise `source`
/// names an image file; `inside[0]` is a path inside it, and when there
/// are more elements each but the last names an image inside the one
/// before. The last element is the path that is read (`""`: the image's
/// root directory). Paths inside images are relative, without `.` or
/// empty components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Where the outermost bytes come from.
    pub source: Source,
    /// Paths inside images, outermost first.
    pub inside: Vec<String>,
}

/// Why a string is not a location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationError {
    input: String,
    kind: LocationErrorKind,
}

/// What is wrong with a location.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocationErrorKind {
    /// The empty string.
    Empty,
    /// A `SCHEME://` or `SCHEME:` this grammar does not have.
    UnknownScheme(String),
    /// A URL without a host (`http:///x`, `tftp:///x`).
    NoHost,
    /// A port that is not a number from 1 to 65535.
    BadPort(String),
    /// A host that is not a name, an IPv4 address or a bracketed IPv6
    /// address.
    BadHost(String),
    /// `nfs:` or `nfs+iso:` without `host:/path`.
    BadNfs,
    /// `nfs+iso:` naming no file.
    NoImage,
    /// `file://HOST/` with a host other than `localhost`.
    RemoteFile(String),
    /// A `%` not followed by two hex digits where percent-decoding applies.
    BadPercent,
    /// A NUL byte or a line break.
    BadByte,
    /// `..` inside an image (there is no parent to go to).
    ParentInImage,
}

impl LocationError {
    fn new(input: &str, kind: LocationErrorKind) -> LocationError {
        LocationError {
            input: input.to_string(),
            kind,
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> &LocationErrorKind {
        &self.kind
    }

    /// The location as given.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for LocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use LocationErrorKind as K;
        write!(f, "{}: ", self.input)?;
        match &self.kind {
            K::Empty => write!(f, "empty location"),
            K::UnknownScheme(s) => write!(
                f,
                "unsupported location (scheme {s:?}; known: http://, https://, ftp://, file://, tftp://, nfs:, nfs://, nfs+iso:, local paths)"
            ),
            K::NoHost => write!(f, "no host in the URL"),
            K::BadPort(p) => write!(f, "bad port {p:?} (expected 1 to 65535)"),
            K::BadHost(h) => write!(f, "bad host {h:?}"),
            K::BadNfs => write!(f, "expected nfs:HOST:/PATH"),
            K::NoImage => write!(f, "expected nfs+iso:HOST:/PATH/FILE.iso"),
            K::RemoteFile(h) => write!(f, "file:// URL on another host ({h})"),
            K::BadPercent => write!(f, "bad percent-encoding"),
            K::BadByte => write!(f, "NUL or line break in the location"),
            K::ParentInImage => write!(f, "\"..\" inside an image"),
        }
    }
}

impl std::error::Error for LocationError {}

/// Whether a path component names an image that a longer path goes into:
/// it ends in `.iso` or `.img` (any case).
pub fn is_image_name(component: &str) -> bool {
    let lower = component.to_ascii_lowercase();
    component.len() > 4 && (lower.ends_with(".iso") || lower.ends_with(".img"))
}

/// xenpvnetboot's join: Python's `os.path.join(location, file)`. An empty
/// location leaves `file` as it is (so a full URL can be the kernel); a
/// `file` starting with `/` replaces the location; otherwise a `/` is put
/// between them unless the location ends in one.
///
/// ```
/// use locations::join;
/// assert_eq!(join("http://h/OL6", "images/pxeboot/vmlinuz"), "http://h/OL6/images/pxeboot/vmlinuz");
/// assert_eq!(join("http://h/", "OL6/vmlinuz"), "http://h/OL6/vmlinuz");
/// assert_eq!(join("", "http://h/OL6/vmlinuz"), "http://h/OL6/vmlinuz");
/// assert_eq!(join("http://h/OL6", "/boot/vmlinuz"), "/boot/vmlinuz");
/// ```
pub fn join(location: &str, file: &str) -> String {
    if file.starts_with('/') || location.is_empty() {
        file.to_string()
    } else if location.ends_with('/') {
        format!("{location}{file}")
    } else {
        format!("{location}/{file}")
    }
}

/// The last component of `path` (Python's `os.path.basename`: empty for a
/// path ending in `/`).
pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The scheme of `s` as this grammar sees it: letters, digits, `+`, `-`,
/// `.` before a `:` that is followed by `//`, or `nfs`/`nfs+iso` before
/// any `:`.
fn scheme(s: &str) -> Option<(&str, &str)> {
    let (name, rest) = s.split_once(':')?;
    let valid = name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let bare = ["nfs", "nfs+iso"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n));
    (valid && (rest.starts_with("//") || bare)).then_some((name, rest))
}

/// `%XX` decoding.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Split `host[:port]` (an IPv6 address in brackets) into the host
/// (without brackets) and the port text.
fn host_port(authority: &str) -> Result<(&str, Option<&str>), LocationErrorKind> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| LocationErrorKind::BadHost(authority.to_string()))?;
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(LocationErrorKind::BadHost(authority.to_string()));
        }
        return match after {
            "" => Ok((h, None)),
            p => match p.strip_prefix(':') {
                Some(port) => Ok((h, Some(port))),
                None => Err(LocationErrorKind::BadHost(authority.to_string())),
            },
        };
    }
    let (h, p) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if h.is_empty() {
        return Err(LocationErrorKind::NoHost);
    }
    let ok = h
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !ok {
        return Err(LocationErrorKind::BadHost(h.to_string()));
    }
    Ok((h, p))
}

fn port(p: Option<&str>, default: u16) -> Result<u16, LocationErrorKind> {
    match p {
        None => Ok(default),
        Some(t) => t
            .parse::<u16>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| LocationErrorKind::BadPort(t.to_string())),
    }
}

/// Split a path at its image components: the part up to and including
/// the first image component that has more after it, then the paths
/// inside each image. `always_image` makes the first component ending in
/// `.iso`/`.img` an image even when it is last (`nfs+iso:`), and the
/// whole path one when none does. `dev` makes `/dev/NAME` an image (a
/// block device) when more follows.
fn split_images(
    path: &str,
    always_image: bool,
    dev: bool,
) -> Result<(String, Vec<String>), LocationErrorKind> {
    let comps: Vec<&str> = path.split('/').collect();
    // Indices of components that open an image.
    let mut cuts = Vec::new();
    for (i, c) in comps.iter().enumerate() {
        let more = comps[i + 1..].iter().any(|c| !c.is_empty() && *c != ".");
        let is_dev = dev && i == 2 && comps[0].is_empty() && comps[1] == "dev" && !c.is_empty();
        if (is_image_name(c) || is_dev) && (more || (always_image && cuts.is_empty())) {
            cuts.push(i);
        }
    }
    if always_image && cuts.is_empty() {
        return Ok((path.to_string(), vec![String::new()]));
    }
    let Some(&first) = cuts.first() else {
        return Ok((path.to_string(), Vec::new()));
    };
    let outer = comps[..=first].join("/");
    let mut inside = Vec::new();
    let mut bounds: Vec<usize> = cuts.clone();
    bounds.push(comps.len() - 1);
    for w in bounds.windows(2) {
        let mut parts = Vec::new();
        for c in &comps[w[0] + 1..=w[1]] {
            match *c {
                "" | "." => {}
                ".." => return Err(LocationErrorKind::ParentInImage),
                c => parts.push(c),
            }
        }
        inside.push(parts.join("/"));
    }
    if inside.is_empty() {
        inside.push(String::new());
    }
    Ok((outer, inside))
}

impl Location {
    /// Parse a location.
    ///
    /// ```
    /// use locations::{Location, Source};
    /// let l = Location::parse("nfs:10.0.0.1:/srv/fedora")?;
    /// assert_eq!(l.source, Source::Nfs { host: "10.0.0.1".into(), port: None, path: "/srv/fedora".into() });
    /// let l = Location::parse("http://h/Fedora-s390x.iso/images/kernel.img")?;
    /// assert_eq!(l.source, Source::Http { url: "http://h/Fedora-s390x.iso".into() });
    /// assert_eq!(l.inside, ["images/kernel.img"]);
    /// # Ok::<(), locations::LocationError>(())
    /// ```
    pub fn parse(s: &str) -> Result<Location, LocationError> {
        Self::parse_inner(s).map_err(|k| LocationError::new(s, k))
    }

    fn parse_inner(s: &str) -> Result<Location, LocationErrorKind> {
        use LocationErrorKind as K;
        if s.is_empty() {
            return Err(K::Empty);
        }
        if s.bytes().any(|b| matches!(b, 0 | b'\n' | b'\r')) {
            return Err(K::BadByte);
        }
        let Some((name, rest)) = scheme(s) else {
            let (path, inside) = split_images(s, false, true)?;
            return Ok(Location {
                source: Source::Local { path },
                inside,
            });
        };
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "http" | "https" => {
                let after = &rest[2..];
                let (authority, _) = after.split_once('/').unwrap_or((after, ""));
                let authority = authority.split(['?', '#']).next().unwrap_or_default();
                let hostport = authority.rsplit('@').next().unwrap_or_default();
                let (_, p) = host_port(hostport)?;
                port(p, 80)?;
                // Images are split in the path only, before any query.
                let path_start = name.len() + 3 + authority.len();
                let (path, query) = match s[path_start..].find(['?', '#']) {
                    Some(q) => s[path_start..].split_at(q),
                    None => (&s[path_start..], ""),
                };
                let (outer, inside) = split_images(path, false, false)?;
                let url = match inside.is_empty() {
                    true => s.to_string(),
                    false => format!("{}{outer}{query}", &s[..path_start]),
                };
                Ok(Location {
                    source: Source::Http { url },
                    inside,
                })
            }
            "ftp" => {
                let after = &rest[2..];
                let (authority, path) = after.split_once('/').unwrap_or((after, ""));
                let (userinfo, hostport) = match authority.rsplit_once('@') {
                    Some((u, h)) => (Some(u), h),
                    None => (None, authority),
                };
                let (host, p) = host_port(hostport)?;
                let port = port(p, 21)?;
                let (user, password) = match userinfo {
                    None => (None, None),
                    Some(u) => {
                        let (user, pass) = match u.split_once(':') {
                            Some((a, b)) => (a, Some(b)),
                            None => (u, None),
                        };
                        let user = percent_decode(user).ok_or(K::BadPercent)?;
                        let pass = match pass {
                            Some(p) => Some(percent_decode(p).ok_or(K::BadPercent)?),
                            None => None,
                        };
                        (Some(user), pass)
                    }
                };
                let path = percent_decode(path).ok_or(K::BadPercent)?;
                let (path, inside) = split_images(&path, false, false)?;
                Ok(Location {
                    source: Source::Ftp {
                        user,
                        password,
                        host: host.to_string(),
                        port,
                        path,
                    },
                    inside,
                })
            }
            "tftp" => {
                let after = &rest[2..];
                let (authority, path) = after.split_once('/').unwrap_or((after, ""));
                let (host, p) = host_port(authority)?;
                let port = port(p, 69)?;
                let (path, inside) = split_images(path, false, false)?;
                Ok(Location {
                    source: Source::Tftp {
                        host: host.to_string(),
                        port,
                        path,
                    },
                    inside,
                })
            }
            "file" => {
                let after = &rest[2..];
                let (host, path) = match after.find('/') {
                    Some(i) => after.split_at(i),
                    None => (after, ""),
                };
                if !host.is_empty() && !host.eq_ignore_ascii_case("localhost") {
                    return Err(K::RemoteFile(host.to_string()));
                }
                let path = percent_decode(path).ok_or(K::BadPercent)?;
                let path = if path.is_empty() { "/".into() } else { path };
                let (path, inside) = split_images(&path, false, true)?;
                Ok(Location {
                    source: Source::Local { path },
                    inside,
                })
            }
            "nfs" if rest.starts_with("//") => {
                let after = &rest[2..];
                let (authority, path) = after.split_once('/').unwrap_or((after, ""));
                let (host, p) = host_port(authority)?;
                let port = match p {
                    Some(_) => Some(port(p, 2049)?),
                    None => None,
                };
                let path = percent_decode(&format!("/{path}")).ok_or(K::BadPercent)?;
                let (path, inside) = split_images(&path, false, false)?;
                Ok(Location {
                    source: Source::Nfs {
                        host: host.to_string(),
                        port,
                        path,
                    },
                    inside,
                })
            }
            "nfs" | "nfs+iso" => {
                let (host, path) = nfs_host_path(rest).ok_or(K::BadNfs)?;
                let iso = lower == "nfs+iso";
                if iso && path.trim_end_matches('/').is_empty() {
                    return Err(K::NoImage);
                }
                let (path, inside) = split_images(path, iso, false)?;
                Ok(Location {
                    source: Source::Nfs {
                        host: host.to_string(),
                        port: None,
                        path,
                    },
                    inside,
                })
            }
            _ => Err(K::UnknownScheme(name.to_string())),
        }
    }

    /// Whether the location names an image file itself (its last component
    /// ends in `.iso` or `.img`): used as a tree root, the image is opened
    /// ([`Location::into_root`]).
    pub fn is_image_file(&self) -> bool {
        let last = match self.inside.last() {
            Some(p) => basename(p),
            None => match &self.source {
                Source::Http { url } => basename(url.split(['?', '#']).next().unwrap_or_default()),
                Source::Ftp { path, .. }
                | Source::Tftp { path, .. }
                | Source::Nfs { path, .. }
                | Source::Local { path } => basename(path),
            },
        };
        is_image_name(last)
    }

    /// This location as the root of a tree: a trailing image is opened
    /// (its root directory is the tree). A caller that knows a local path
    /// is a block device or another file to open does the same with
    /// [`Location::open_as_image`].
    pub fn into_root(self) -> Location {
        match self.is_image_file() {
            true => self.open_as_image(),
            false => self,
        }
    }

    /// Read the last file named as an image: its root directory.
    pub fn open_as_image(mut self) -> Location {
        self.inside.push(String::new());
        self
    }
}

/// `host:/path` of `nfs:` (the host may be a bracketed IPv6 address).
fn nfs_host_path(rest: &str) -> Option<(&str, &str)> {
    let (host, path) = if let Some(r) = rest.strip_prefix('[') {
        let (h, after) = r.split_once(']')?;
        h.parse::<std::net::Ipv6Addr>().ok()?;
        (h, after.strip_prefix(':')?)
    } else {
        rest.split_once(':')?
    };
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    (ok && path.starts_with('/')).then_some((host, path))
}

impl fmt::Display for Location {
    /// The location in the grammar's own notation (passwords as `***`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bracket = |h: &str| match h.contains(':') {
            true => format!("[{h}]"),
            false => h.to_string(),
        };
        match &self.source {
            Source::Http { url } => f.write_str(url)?,
            Source::Ftp {
                user,
                password,
                host,
                port,
                path,
            } => {
                f.write_str("ftp://")?;
                if let Some(u) = user {
                    f.write_str(u)?;
                    if password.is_some() {
                        f.write_str(":***")?;
                    }
                    f.write_str("@")?;
                }
                f.write_str(&bracket(host))?;
                if *port != 21 {
                    write!(f, ":{port}")?;
                }
                write!(f, "/{path}")?;
            }
            Source::Tftp { host, port, path } => {
                write!(f, "tftp://{}", bracket(host))?;
                if *port != 69 {
                    write!(f, ":{port}")?;
                }
                write!(f, "/{path}")?;
            }
            Source::Nfs { host, port, path } => match port {
                // An image whose name does not say so: nfs+iso:.
                None if !self.inside.is_empty() && !is_image_name(basename(path)) => {
                    write!(f, "nfs+iso:{}:{path}", bracket(host))?
                }
                None => write!(f, "nfs:{}:{path}", bracket(host))?,
                Some(p) => write!(f, "nfs://{}:{p}{path}", bracket(host))?,
            },
            Source::Local { path } => f.write_str(path)?,
        }
        for p in self.inside.iter().filter(|p| !p.is_empty()) {
            write!(f, "/{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use LocationErrorKind as K;

    fn src(s: &str) -> Source {
        let l = Location::parse(s).unwrap_or_else(|e| panic!("{e}"));
        assert!(l.inside.is_empty(), "{s}: {:?}", l.inside);
        l.source
    }

    fn kind(s: &str) -> LocationErrorKind {
        Location::parse(s)
            .err()
            .unwrap_or_else(|| panic!("{s} accepted"))
            .kind
    }

    /// Every form of xenpvnetboot's list (its usage text, in that order),
    /// plus `nfs://` (RFC 2224) and `tftp://host:port/`.
    #[test]
    fn the_seed_list() {
        assert_eq!(
            src("http://host/path"),
            Source::Http {
                url: "http://host/path".into()
            }
        );
        assert_eq!(
            src("https://host/path"),
            Source::Http {
                url: "https://host/path".into()
            }
        );
        assert_eq!(
            src("ftp://host/path"),
            Source::Ftp {
                user: None,
                password: None,
                host: "host".into(),
                port: 21,
                path: "path".into()
            }
        );
        assert_eq!(
            src("file:///path"),
            Source::Local {
                path: "/path".into()
            }
        );
        assert_eq!(
            src("tftp://host/path"),
            Source::Tftp {
                host: "host".into(),
                port: 69,
                path: "path".into()
            }
        );
        assert_eq!(
            src("nfs:host:/path"),
            Source::Nfs {
                host: "host".into(),
                port: None,
                path: "/path".into()
            }
        );
        assert_eq!(
            src("/path"),
            Source::Local {
                path: "/path".into()
            }
        );
        for p in ["/path/file.iso", "/path/filesystem.img", "/dev/sda1"] {
            assert_eq!(src(p), Source::Local { path: p.into() });
        }
        let l = Location::parse("nfs+iso:host:/path/file.iso").unwrap();
        assert_eq!(
            l.source,
            Source::Nfs {
                host: "host".into(),
                port: None,
                path: "/path/file.iso".into()
            }
        );
        assert_eq!(l.inside, [""]);
        let l = Location::parse("nfs+iso:host:/path/filesystem.img").unwrap();
        assert_eq!(l.inside, [""]);
        assert_eq!(
            src("nfs://host/path"),
            Source::Nfs {
                host: "host".into(),
                port: None,
                path: "/path".into()
            }
        );
        assert_eq!(
            src("nfs://host:2049/srv/x"),
            Source::Nfs {
                host: "host".into(),
                port: Some(2049),
                path: "/srv/x".into()
            }
        );
        assert_eq!(
            src("tftp://10.0.0.1:6969/boot/x"),
            Source::Tftp {
                host: "10.0.0.1".into(),
                port: 6969,
                path: "boot/x".into()
            }
        );
    }

    #[test]
    fn ftp_users_and_ipv6() {
        assert_eq!(
            src("ftp://anna:s%40cret@[fd00::1]:2121/pub/f%20x"),
            Source::Ftp {
                user: Some("anna".into()),
                password: Some("s@cret".into()),
                host: "fd00::1".into(),
                port: 2121,
                path: "pub/f x".into()
            }
        );
        assert_eq!(
            Location::parse("ftp://anna:pw@h/x").unwrap().to_string(),
            "ftp://anna:***@h/x"
        );
        assert_eq!(
            src("nfs:[fd00::2]:/export"),
            Source::Nfs {
                host: "fd00::2".into(),
                port: None,
                path: "/export".into()
            }
        );
    }

    /// A component ending in `.iso`/`.img` with more after it is opened.
    #[test]
    fn paths_into_images() {
        let l = Location::parse("http://h/d/F.iso/images/kernel.img?x=1").unwrap();
        assert_eq!(
            l.source,
            Source::Http {
                url: "http://h/d/F.iso?x=1".into()
            }
        );
        assert_eq!(l.inside, ["images/kernel.img"]);
        let l = Location::parse("/srv/dvd.ISO/./boot//s390x/linux").unwrap();
        assert_eq!(
            l.source,
            Source::Local {
                path: "/srv/dvd.ISO".into()
            }
        );
        assert_eq!(l.inside, ["boot/s390x/linux"]);
        // Nested: an ext4 image inside an ISO.
        let l = Location::parse("tftp://h/a.iso/disk.img/boot/vmlinuz").unwrap();
        assert_eq!(l.inside, ["disk.img", "boot/vmlinuz"]);
        // A block device.
        let l = Location::parse("/dev/vda1/boot/vmlinuz").unwrap();
        assert_eq!(
            l.source,
            Source::Local {
                path: "/dev/vda1".into()
            }
        );
        assert_eq!(l.inside, ["boot/vmlinuz"]);
        let l = Location::parse("file:///dev/vda1/boot").unwrap();
        assert_eq!(l.inside, ["boot"]);
        // nfs+iso: the file is an image, ending in .iso or not.
        let l = Location::parse("nfs+iso:h:/srv/F.iso/images/kernel.img").unwrap();
        assert_eq!(
            l.source,
            Source::Nfs {
                host: "h".into(),
                port: None,
                path: "/srv/F.iso".into()
            }
        );
        assert_eq!(l.inside, ["images/kernel.img"]);
        let l = Location::parse("nfs+iso:h:/srv/disk.raw").unwrap();
        assert_eq!(l.inside, [""]);
        // A trailing image is the file itself, until used as a root.
        let l = Location::parse("http://h/boot.iso").unwrap();
        assert!(l.inside.is_empty() && l.is_image_file());
        assert_eq!(l.into_root().inside, [""]);
        assert_eq!(kind("/x.iso/../etc/passwd"), K::ParentInImage);
        assert_eq!(
            Location::parse("http://h/F.iso/images/kernel.img")
                .unwrap()
                .to_string(),
            "http://h/F.iso/images/kernel.img"
        );
    }

    #[test]
    fn bad_locations() {
        assert_eq!(kind(""), K::Empty);
        assert_eq!(kind("gopher://h/x"), K::UnknownScheme("gopher".into()));
        assert_eq!(kind("smb://h/x"), K::UnknownScheme("smb".into()));
        assert_eq!(kind("http:///x"), K::NoHost);
        assert_eq!(kind("tftp://:69/x"), K::NoHost);
        assert_eq!(kind("tftp://h:0/x"), K::BadPort("0".into()));
        assert_eq!(kind("ftp://h:99999/x"), K::BadPort("99999".into()));
        assert_eq!(kind("http://h:x/"), K::BadPort("x".into()));
        assert_eq!(kind("tftp://h$/x"), K::BadHost("h$".into()));
        assert_eq!(kind("nfs:host"), K::BadNfs);
        assert_eq!(kind("nfs:host:relative"), K::BadNfs);
        assert_eq!(kind("nfs+iso:h:/"), K::NoImage);
        assert_eq!(
            kind("file://elsewhere/x"),
            K::RemoteFile("elsewhere".into())
        );
        assert_eq!(kind("ftp://h/%zz"), K::BadPercent);
        assert_eq!(kind("/a\nb"), K::BadByte);
        let e = Location::parse("gopher://h/x").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("gopher://h/x: unsupported location"));
        // Not schemes: PXELINUX's host::path, a colon in a file name.
        assert!(matches!(src("images/a:b"), Source::Local { .. }));
        assert!(matches!(src("10.0.0.1::kernel"), Source::Local { .. }));
    }

    /// Python's `os.path.join` and `os.path.basename`, as xenpvnetboot
    /// uses them (the seed's four equivalent configurations).
    #[test]
    fn joins() {
        let want = "http://192.168.0.1/OL6/images/pxeboot/vmlinuz";
        assert_eq!(
            join("http://192.168.0.1/", "OL6/images/pxeboot/vmlinuz"),
            want
        );
        assert_eq!(
            join("http://192.168.0.1/OL6", "images/pxeboot/vmlinuz"),
            want
        );
        assert_eq!(join("", want), want);
        assert_eq!(join("/srv", "/etc/x"), "/etc/x");
        assert_eq!(join("a", ""), "a/");
        assert_eq!(basename("images/pxeboot/vmlinuz"), "vmlinuz");
        assert_eq!(basename("http://h/x/initrd.img"), "initrd.img");
        assert_eq!(basename("dir/"), "");
        assert_eq!(basename("vmlinuz"), "vmlinuz");
    }

    /// Display gives back what parse reads.
    #[test]
    fn display_round_trips() {
        for s in [
            "http://h/a/b",
            "https://h:8443/F.iso/images/kernel.img",
            "ftp://u@h:2121/pub/x",
            "tftp://h:6969/a",
            "tftp://[fd00::1]/a",
            "nfs:h:/srv/x",
            "nfs://h:2049/srv/x",
            "nfs:h:/srv/F.iso/images/x",
            "nfs+iso:h:/srv/disk.raw",
            "/srv/tree",
            "/dev/vda1/boot/x",
        ] {
            let l = Location::parse(s).unwrap();
            assert_eq!(Location::parse(&l.to_string()).unwrap(), l, "{s}");
        }
    }
}

//! `.treeinfo`: productmd's INI description of an install tree.
//!
//! The INI dialect is Python's `configparser` as productmd reads it:
//! `[section]` headers, `key = value` or `key: value` (keys lowercased,
//! both sides trimmed), full-line comments starting with `#` or `;`, and
//! continuation lines (indented) appended to the previous value with a
//! line break. A later duplicate key or section wins. productmd
//! `treeinfo-1.2` sections used here: `[header]`, `[release]` (`name`,
//! `short`, `version`), `[tree]` (`arch`, `platforms`), `[images-PLATFORM]`,
//! `[checksums]` (`path = ALGO:HEX`), and the legacy `[general]` (`family`,
//! `version`, `arch`) of older trees.

use std::collections::BTreeMap;
use std::fmt;

/// A parsed INI file: section → key → value, in name order.
pub type Ini = BTreeMap<String, BTreeMap<String, String>>;

/// Why a `.treeinfo` does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeinfoError {
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub kind: TreeinfoErrorKind,
}

/// What is wrong with a `.treeinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TreeinfoErrorKind {
    /// Not UTF-8 text.
    NotText,
    /// A key before any `[section]`.
    NoSection,
    /// A line that is no section, key, comment or continuation.
    NotIni,
    /// A `[section` without its `]`.
    BadSection,
    /// Neither `[header]` nor `[general]`: not a treeinfo.
    NotTreeinfo,
    /// A `[checksums]` value that is not `ALGO:HEX`.
    BadChecksum(String),
    /// A path that leaves the tree (absolute, or with `..`).
    UnsafePath(String),
}

impl fmt::Display for TreeinfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TreeinfoErrorKind as K;
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        match &self.kind {
            K::NotText => write!(f, "not UTF-8 text"),
            K::NoSection => write!(f, "key before any [section]"),
            K::NotIni => write!(f, "not an INI line (no [section], key = value or comment)"),
            K::BadSection => write!(f, "section header without \"]\""),
            K::NotTreeinfo => write!(f, "no [header] or [general] section: not a treeinfo"),
            K::BadChecksum(v) => write!(f, "checksum {v:?} is not ALGO:HEX"),
            K::UnsafePath(p) => write!(f, "path {p:?} leaves the tree"),
        }
    }
}

impl std::error::Error for TreeinfoError {}

fn err(line: usize, kind: TreeinfoErrorKind) -> TreeinfoError {
    TreeinfoError { line, kind }
}

/// Parse INI text (see the module doc).
pub fn parse_ini(bytes: &[u8]) -> Result<Ini, TreeinfoError> {
    let text = std::str::from_utf8(bytes).map_err(|_| err(0, TreeinfoErrorKind::NotText))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut ini = Ini::new();
    let mut section: Option<String> = None;
    let mut last_key: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            // configparser ends a value at an empty line only for comments;
            // an empty line keeps the key open for continuations, which we
            // do not need: values of treeinfo files are one line.
            continue;
        }
        let indented = line.len() != trimmed.len();
        if indented {
            if let (Some(s), Some(k)) = (&section, &last_key) {
                if let Some(v) = ini.get_mut(s).and_then(|m| m.get_mut(k)) {
                    v.push('\n');
                    v.push_str(trimmed);
                    continue;
                }
            }
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let name = rest
                .split_once(']')
                .map(|(n, _)| n)
                .ok_or_else(|| err(n, TreeinfoErrorKind::BadSection))?;
            ini.entry(name.to_string()).or_default();
            section = Some(name.to_string());
            last_key = None;
            continue;
        }
        let cut = trimmed.find(['=', ':']);
        let (key, value) = match cut {
            Some(c) => (&trimmed[..c], &trimmed[c + 1..]),
            None => return Err(err(n, TreeinfoErrorKind::NotIni)),
        };
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() {
            return Err(err(n, TreeinfoErrorKind::NotIni));
        }
        let s = section
            .as_ref()
            .ok_or_else(|| err(n, TreeinfoErrorKind::NoSection))?;
        ini.entry(s.clone())
            .or_default()
            .insert(key.clone(), value.trim().to_string());
        last_key = Some(key);
    }
    Ok(ini)
}

/// A checksum listed in `[checksums]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// The algorithm, lowercase (`sha256`, `sha1`, `md5`...).
    pub algo: String,
    /// The digest, lowercase hex.
    pub hex: String,
}

impl Checksum {
    /// Parse `ALGO:HEX`.
    pub fn parse(v: &str) -> Option<Checksum> {
        let (algo, hex) = v.split_once(':')?;
        let hex = hex.trim();
        let ok = !algo.is_empty()
            && !hex.is_empty()
            && hex.len().is_multiple_of(2)
            && hex.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| Checksum {
            algo: algo.trim().to_ascii_lowercase(),
            hex: hex.to_ascii_lowercase(),
        })
    }

    /// Whether this can be checked here (sha256).
    pub fn is_sha256(&self) -> bool {
        self.algo == "sha256" && self.hex.len() == 64
    }

    /// Check a sha256 computed by the caller (hex, any case): `Ok` when it
    /// matches, `Err` with the reason when it does not or when the
    /// algorithm is not sha256.
    pub fn check_sha256_hex(&self, got: &str) -> Result<(), ChecksumMismatch> {
        if !self.is_sha256() {
            return Err(ChecksumMismatch::Unsupported(self.algo.clone()));
        }
        match self.hex.eq_ignore_ascii_case(got) {
            true => Ok(()),
            false => Err(ChecksumMismatch::Differs {
                expected: self.hex.clone(),
                got: got.to_ascii_lowercase(),
            }),
        }
    }

    /// Check bytes against a sha256 checksum.
    pub fn check(&self, bytes: &[u8]) -> Result<(), ChecksumMismatch> {
        self.check_sha256_hex(&sha256_hex(bytes))
    }
}

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a checksum does not let a file through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksumMismatch {
    /// The digests differ.
    Differs {
        /// From `[checksums]`.
        expected: String,
        /// Of the bytes read.
        got: String,
    },
    /// The algorithm is not sha256.
    Unsupported(String),
}

impl fmt::Display for ChecksumMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChecksumMismatch::Differs { expected, got } => {
                write!(
                    f,
                    "checksum mismatch: .treeinfo says sha256:{expected}, the file has sha256:{got}"
                )
            }
            ChecksumMismatch::Unsupported(a) => {
                write!(f, "checksum algorithm {a} is not supported (sha256 is)")
            }
        }
    }
}

/// What a `.treeinfo` says about a tree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Treeinfo {
    /// `[release] name`, else `[general] family` ("Fedora", "openSUSE").
    pub name: Option<String>,
    /// `[release] short` ("Fedora", "RHEL").
    pub short: Option<String>,
    /// `[release] version`, else `[general] version`.
    pub version: Option<String>,
    /// `[tree] arch`, else `[general] arch`.
    pub arch: Option<String>,
    /// `[tree] platforms` (comma separated).
    pub platforms: Vec<String>,
    /// `[images-PLATFORM]` sections: platform → image key → path.
    pub images: BTreeMap<String, BTreeMap<String, String>>,
    /// `[checksums]`: path → checksum.
    pub checksums: BTreeMap<String, Checksum>,
    /// The whole INI, for anything else.
    pub ini: Ini,
}

/// Whether a tree-relative path stays in the tree.
pub fn is_safe_path(p: &str) -> bool {
    !p.is_empty() && !p.starts_with('/') && !p.split('/').any(|c| c == "..")
}

impl Treeinfo {
    /// Parse a `.treeinfo`.
    pub fn parse(bytes: &[u8]) -> Result<Treeinfo, TreeinfoError> {
        let ini = parse_ini(bytes)?;
        if !ini.contains_key("header") && !ini.contains_key("general") {
            return Err(err(0, TreeinfoErrorKind::NotTreeinfo));
        }
        let get = |s: &str, k: &str| ini.get(s).and_then(|m| m.get(k)).cloned();
        let mut t = Treeinfo {
            name: get("release", "name").or_else(|| get("general", "family")),
            short: get("release", "short"),
            version: get("release", "version").or_else(|| get("general", "version")),
            arch: get("tree", "arch").or_else(|| get("general", "arch")),
            platforms: get("tree", "platforms")
                .map(|p| {
                    p.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            ..Treeinfo::default()
        };
        for (name, keys) in &ini {
            if let Some(platform) = name.strip_prefix("images-") {
                for p in keys.values() {
                    if !is_safe_path(p) {
                        return Err(err(0, TreeinfoErrorKind::UnsafePath(p.clone())));
                    }
                }
                t.images.insert(platform.to_string(), keys.clone());
            }
        }
        if let Some(sums) = ini.get("checksums") {
            for (path, v) in sums {
                let c = Checksum::parse(v)
                    .ok_or_else(|| err(0, TreeinfoErrorKind::BadChecksum(v.clone())))?;
                t.checksums.insert(path.clone(), c);
            }
        }
        t.ini = ini;
        Ok(t)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn ini_dialect() {
        let ini = parse_ini(
            b"\xef\xbb\xbf# comment\n; also\n[a]\nKey = v 1 \nx: y=z\nlong = one\n  two\n\n[b]\nk=\n[a]\nkey = again\n",
        )
        .unwrap();
        assert_eq!(ini["a"]["key"], "again");
        assert_eq!(ini["a"]["x"], "y=z");
        assert_eq!(ini["a"]["long"], "one\ntwo");
        assert_eq!(ini["b"]["k"], "");
        let e = |t: &[u8]| parse_ini(t).unwrap_err();
        assert_eq!(e(b"k = v\n").kind, TreeinfoErrorKind::NoSection);
        assert_eq!(e(b"[a\n").kind, TreeinfoErrorKind::BadSection);
        assert_eq!(
            e(b"[a]\n<html>\n"),
            TreeinfoError {
                line: 2,
                kind: TreeinfoErrorKind::NotIni
            }
        );
        assert_eq!(e(b"\xff").kind, TreeinfoErrorKind::NotText);
    }

    #[test]
    fn checksums() {
        let c = Checksum::parse("SHA256:ABcd").unwrap();
        assert_eq!((c.algo.as_str(), c.hex.as_str()), ("sha256", "abcd"));
        assert!(!c.is_sha256());
        assert!(Checksum::parse("sha256:xyz").is_none());
        assert!(Checksum::parse("abc").is_none());
        let good = Checksum::parse(&format!("sha256:{}", sha256_hex(b"x"))).unwrap();
        assert_eq!(good.check(b"x"), Ok(()));
        assert!(matches!(
            good.check(b"y"),
            Err(ChecksumMismatch::Differs { .. })
        ));
        let md5 = Checksum::parse("md5:9dd4e461268c8034f5c8564e155c67a6").unwrap();
        assert_eq!(
            md5.check(b"x"),
            Err(ChecksumMismatch::Unsupported("md5".into()))
        );
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for p in ["/etc/passwd", "../x", "images/../../x"] {
            let t = format!("[header]\nversion = 1.2\n[images-s390x]\nkernel = {p}\n");
            assert_eq!(
                Treeinfo::parse(t.as_bytes()).unwrap_err().kind,
                TreeinfoErrorKind::UnsafePath(p.into())
            );
        }
        assert_eq!(
            Treeinfo::parse(b"[foo]\na=b\n").unwrap_err().kind,
            TreeinfoErrorKind::NotTreeinfo
        );
    }
}

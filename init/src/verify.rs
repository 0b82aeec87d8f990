//! Detached minisign signatures for everything pxeinit boots.
//!
//! With at least one trusted key ([`Trust`]: built into the image under
//! `/etc/pxeinit/trust/`, or `--trust-key` on the CLI), every config file
//! and every kernel and initrd must have `PATH.minisig` beside it on the
//! same server, made by a trusted key, whose trusted comment names the
//! file: its `file:` field (minisign writes `timestamp:T\tfile:NAME` and,
//! for the default prehashed kind, `\thashed`) must equal the basename of
//! the path requested, so that a signed file cannot be served in place of
//! another. Otherwise the file is refused ([`Refusal`]).
//!
//! For one file ([`crate::fetch::Downloader`] drives this):
//! 1. fetch `PATH.minisig` (at most [`MAX_SIGNATURE`] bytes) and check
//!    what can be checked before the download ([`Trust::expect`]): the
//!    signature parses, its key is trusted, it names this file;
//! 2. stream the file into its memfd; for a prehashed (`ED`) signature the
//!    BLAKE2b-512 that minisign signs is computed on the way
//!    ([`Expected::stream`]), so the check costs no second pass;
//! 3. seal the memfd (`F_SEAL_WRITE|F_SEAL_SHRINK|F_SEAL_GROW`);
//! 4. check: the streamed hash ([`Expected::finish`]), or, for a legacy
//!    (`Ed`) signature, Ed25519 over the whole file read back from the
//!    sealed memfd ([`Expected::check_bytes`]). The kernel is then loaded
//!    from that memfd: the bytes verified are the bytes booted.
//!
//! Configs are verified the same way from memory (`fetch_vec`).

use std::fmt;
use std::path::Path;

use log::{error, info, warn};
use minisign_verify::{PublicKey, Signature, StreamVerifier};
use netboot_image::trust as keyfmt;

/// What is appended to a path to name its signature.
pub const SUFFIX: &str = ".minisig";

/// The largest signature file accepted (minisign caps the trusted comment
/// at 8 KiB).
pub const MAX_SIGNATURE: usize = 16 << 10;

/// Where the image keeps its trusted keys (`netboot-image build
/// --trust-key`).
pub fn image_dir() -> std::path::PathBuf {
    Path::new("/").join(keyfmt::DIR)
}

/// One trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    id: [u8; 8],
    key: PublicKey,
}

/// The trusted keys. Verification is on when any key was given, even one
/// that could not be read (then nothing verifies: fail closed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    keys: Vec<Key>,
    broken: Vec<String>,
}

impl Trust {
    /// Is verification on?
    pub fn is_on(&self) -> bool {
        !self.keys.is_empty() || !self.broken.is_empty()
    }

    /// The trusted key ids, as minisign prints them.
    pub fn ids(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| keyfmt::key_id_hex(&k.id))
            .collect()
    }

    /// Trust the minisign public key in `text` (`minisign -G` output or a
    /// bare base64 key).
    pub fn add(&mut self, text: &str) -> Result<(), String> {
        let parsed = keyfmt::parse_public_key(text).map_err(|e| e.to_string())?;
        let key = PublicKey::from_base64(&parsed.base64).map_err(|e| e.to_string())?;
        if !self.keys.iter().any(|k| k.id == parsed.id) {
            self.keys.push(Key { id: parsed.id, key });
        }
        Ok(())
    }

    /// Trust the key file at `path`; the error names it.
    pub fn add_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.add(&text)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The `*.pub` keys in `dir` (none when it does not exist). A key that
    /// cannot be read is logged and keeps verification on.
    pub fn load_dir(dir: &Path) -> Trust {
        let mut t = Trust::default();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return t,
            Err(e) => {
                t.broken.push(format!("{}: {e}", dir.display()));
                error!("trusted keys: {}: {e}; nothing will verify", dir.display());
                return t;
            }
        };
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pub"))
            .collect();
        paths.sort();
        for p in paths {
            if let Err(e) = t.add_file(&p) {
                error!("trusted key {e}; files signed by it will not verify");
                t.broken.push(e);
            }
        }
        t
    }

    /// The image's keys ([`image_dir`]), logged.
    pub fn image() -> Trust {
        let t = Trust::load_dir(&image_dir());
        if t.is_on() {
            info!(
                "verification on: trusted keys {} ({})",
                t.ids().join(", "),
                image_dir().display()
            );
        }
        t
    }

    /// These keys, or none when `off` (`pxe.verify=off`), saying so.
    pub fn unless_off(&self, off: bool) -> Trust {
        if off && self.is_on() {
            warn!(
                "pxe.verify=off: downloads are not verified (trusted keys {} ignored)",
                self.ids().join(", ")
            );
            return Trust::default();
        }
        self.clone()
    }

    /// Step 1: check the signature file `sig` (the bytes of
    /// `PATH.minisig`) for the file `requested` (the path as configured)
    /// before downloading it.
    pub fn expect(&self, sig: &[u8], requested: &str) -> Result<Expected, Refusal> {
        let text = std::str::from_utf8(sig).map_err(|_| Refusal::Unreadable("not text".into()))?;
        let signature = Signature::decode(text)
            .map_err(|e| Refusal::Unreadable(format!("not a minisign signature ({e})")))?;
        let id = keyfmt::signature_key_id(text)
            .ok_or_else(|| Refusal::Unreadable("not a minisign signature".into()))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| Refusal::UntrustedKey {
                key: keyfmt::key_id_hex(&id),
                trusted: self.ids(),
            })?;
        let want = basename(requested);
        match signed_name(signature.trusted_comment()) {
            Some(n) if n == want => {}
            other => {
                return Err(Refusal::OtherFile {
                    signed: other.map(str::to_string),
                    requested: want,
                })
            }
        }
        // The signature's algorithm bytes: "ED" prehashed, "Ed" legacy.
        let prehashed = key.key.verify_stream(&signature).is_ok();
        Ok(Expected {
            key: key.key.clone(),
            id: keyfmt::key_id_hex(&key.id),
            signature,
            prehashed,
        })
    }
}

/// A signature checked as far as it can be without the file.
#[derive(Clone)]
pub struct Expected {
    key: PublicKey,
    id: String,
    signature: Signature,
    prehashed: bool,
}

impl fmt::Debug for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expected({}, prehashed: {})", self.id, self.prehashed)
    }
}

impl Expected {
    /// The signing key's id.
    pub fn key_id(&self) -> &str {
        &self.id
    }

    /// What the download reports once the check passed.
    pub fn verified(&self) -> Verified {
        Verified {
            key: self.id.clone(),
            prehashed: self.prehashed,
        }
    }

    /// Step 2: the hasher to feed the file's bytes to (prehashed only).
    pub fn stream(&self) -> Option<StreamVerifier<'_>> {
        self.key.verify_stream(&self.signature).ok()
    }

    /// Step 4 for a prehashed signature: the streamed hash.
    pub fn finish(&self, mut stream: StreamVerifier<'_>) -> Result<(), Refusal> {
        stream.finalize().map_err(|_| Refusal::BadSignature)
    }

    /// Step 4 from the whole file (configs; legacy signatures).
    pub fn check_bytes(&self, data: &[u8]) -> Result<(), Refusal> {
        self.key
            .verify(data, &self.signature, true)
            .map_err(|_| Refusal::BadSignature)
    }
}

/// How a download was verified (the dry-run JSON's `verified`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key id.
    pub key: String,
    /// Prehashed (BLAKE2b-512 while streaming) or legacy signature.
    pub prehashed: bool,
}

impl Verified {
    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "key": self.key,
            "signature": if self.prehashed { "prehashed" } else { "legacy" },
        })
    }
}

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `PATH.minisig` on the server.
    NoSignature,
    /// `PATH.minisig` is not a minisign signature.
    Unreadable(String),
    /// Signed by a key the image does not trust.
    UntrustedKey {
        /// The signature's key id.
        key: String,
        /// The trusted ones.
        trusted: Vec<String>,
    },
    /// The file (or the trusted comment) does not match the signature.
    BadSignature,
    /// The memfd could not be sealed, so the check would not hold.
    NotSealed(String),
    /// The signature's `file:` names another file (or none).
    OtherFile {
        /// The signed name.
        signed: Option<String>,
        /// The basename requested.
        requested: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoSignature => write!(f, "no signature (no {SUFFIX} beside it)"),
            Refusal::Unreadable(why) => write!(f, "bad signature ({SUFFIX} {why})"),
            Refusal::UntrustedKey { key, trusted } if trusted.is_empty() => {
                write!(f, "untrusted key {key} (no trusted key could be read)")
            }
            Refusal::UntrustedKey { key, trusted } => {
                write!(f, "untrusted key {key} (trusted: {})", trusted.join(", "))
            }
            Refusal::BadSignature => {
                write!(f, "bad signature (the bytes do not match its {SUFFIX})")
            }
            Refusal::NotSealed(why) => write!(f, "cannot seal its copy in memory ({why})"),
            Refusal::OtherFile {
                signed: Some(s),
                requested,
            } => write!(f, "signed for another file (file:{s}, not {requested})"),
            Refusal::OtherFile {
                signed: None,
                requested,
            } => write!(
                f,
                "signed for another file (the trusted comment has no file:{requested})"
            ),
        }
    }
}

/// The signature beside `path`: `PATH.minisig` (for a URL, before its
/// `?query`).
pub fn signature_path(path: &str) -> String {
    if is_url(path) {
        if let Some(q) = path.find(['?', '#']) {
            return format!("{}{SUFFIX}{}", &path[..q], &path[q..]);
        }
    }
    format!("{path}{SUFFIX}")
}

fn is_url(path: &str) -> bool {
    let l = path.get(..8).unwrap_or(path).to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// The name a signature must give for `path`: the last component, for a
/// URL without `?query` and percent-decoded.
pub fn basename(path: &str) -> String {
    let p = if is_url(path) {
        let p = path.split(['?', '#']).next().unwrap_or(path);
        percent_decode(p)
    } else {
        path.to_string()
    };
    p.rsplit('/').next().unwrap_or(&p).to_string()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `file:` field of a trusted comment (fields separated by tabs, as
/// minisign writes them, or spaces).
fn signed_name(trusted_comment: &str) -> Option<&str> {
    trusted_comment
        .split(['\t', ' '])
        .find_map(|f| f.strip_prefix("file:"))
}

#[cfg(test)]
mod test {
    use super::*;
    use std::process::Command;

    #[test]
    fn names() {
        assert_eq!(signature_path("images/linux"), "images/linux.minisig");
        assert_eq!(
            signature_path("http://h/a/initrd.gz?v=2"),
            "http://h/a/initrd.gz.minisig?v=2"
        );
        assert_eq!(
            signature_path("tftp://10.0.0.1/a?b"),
            "tftp://10.0.0.1/a?b.minisig"
        );
        assert_eq!(basename("images/debian/linux"), "linux");
        assert_eq!(basename("linux"), "linux");
        assert_eq!(basename("tftp://10.0.0.1:69/x/vmlinuz"), "vmlinuz");
        assert_eq!(basename("HTTP://h/a/init%2Drd.gz?x=1#f"), "init-rd.gz");
        assert_eq!(basename("http://h/a/100%"), "100%");
        assert_eq!(basename("http://h/a/%4"), "%4");
        assert_eq!(
            signed_name("timestamp:1796118161\tfile:f\thashed"),
            Some("f")
        );
        assert_eq!(signed_name("file:g"), Some("g"));
        assert_eq!(signed_name("made by ops"), None);
    }

    /// A key pair and signatures made by the real `minisign` (Debian's
    /// package; `cargo xtask test` installs it). Without it the tests that
    /// need it fail, naming the package.
    struct Signer {
        dir: std::path::PathBuf,
    }

    impl Signer {
        fn new(tag: &str) -> Signer {
            let dir =
                std::env::temp_dir().join(format!("pxeinit-verify-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let s = Signer { dir };
            s.run(&["-G", "-W", "-p", "k.pub", "-s", "k.key"]);
            s
        }

        fn run(&self, args: &[&str]) {
            let out = Command::new("minisign")
                .args(args)
                .current_dir(&self.dir)
                .output()
                .unwrap_or_else(|e| panic!("minisign (apt-get install minisign): {e}"));
            assert!(out.status.success(), "minisign {args:?}: {out:?}");
        }

        fn public(&self) -> String {
            std::fs::read_to_string(self.dir.join("k.pub")).unwrap()
        }

        /// Sign `data` as file `name` (`legacy`: `-l`); the .minisig text.
        fn sign(&self, name: &str, data: &[u8], legacy: bool) -> Vec<u8> {
            std::fs::write(self.dir.join(name), data).unwrap();
            let mut args = vec!["-S", "-s", "k.key", "-m", name];
            if legacy {
                args.push("-l");
            }
            self.run(&args);
            std::fs::read(self.dir.join(format!("{name}.minisig"))).unwrap()
        }
    }

    impl Drop for Signer {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn trust(s: &Signer) -> Trust {
        let mut t = Trust::default();
        t.add(&s.public()).unwrap();
        assert!(t.is_on());
        t
    }

    fn stream_check(e: &Expected, data: &[u8]) -> Result<(), Refusal> {
        let mut s = e.stream().expect("prehashed");
        for chunk in data.chunks(1000) {
            s.update(chunk);
        }
        e.finish(s)
    }

    #[test]
    fn prehashed_from_the_stream() {
        let s = Signer::new("pre");
        let t = trust(&s);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        let sig = s.sign("initrd.gz", &data, false);
        let text = String::from_utf8_lossy(&sig);
        assert!(text.contains("\tfile:initrd.gz\thashed"), "{text}");
        let e = t.expect(&sig, "images/initrd.gz").unwrap();
        assert!(e.verified().prehashed);
        assert_eq!(e.key_id(), t.ids()[0]);
        stream_check(&e, &data).unwrap();
        e.check_bytes(&data).unwrap();
        let mut bad = data.clone();
        bad[54_321] ^= 1;
        assert_eq!(stream_check(&e, &bad), Err(Refusal::BadSignature));
        assert_eq!(e.check_bytes(&bad), Err(Refusal::BadSignature));
        assert_eq!(
            stream_check(&e, &data[..data.len() - 1]),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            e.verified().to_json(),
            serde_json::json!({"key": t.ids()[0], "signature": "prehashed"})
        );
    }

    #[test]
    fn legacy_from_the_bytes() {
        let s = Signer::new("legacy");
        let t = trust(&s);
        let data = b"DEFAULT linux\nLABEL linux\n  KERNEL linux\n".to_vec();
        let sig = s.sign("default", &data, true);
        let e = t.expect(&sig, "pxelinux.cfg/default").unwrap();
        assert!(!e.verified().prehashed);
        assert!(e.stream().is_none());
        e.check_bytes(&data).unwrap();
        assert_eq!(
            e.check_bytes(b"DEFAULT linux\nLABEL linux\n  KERNEL evil\n"),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn refusals() {
        let s = Signer::new("refuse");
        let other = Signer::new("refuse-other");
        let t = trust(&s);
        let data = b"kernel bytes".to_vec();

        // Signed as another file: refused before the download.
        let sig = s.sign("vmlinuz-old", &data, false);
        let e = t.expect(&sig, "boot/vmlinuz").unwrap_err();
        assert_eq!(
            e.to_string(),
            "signed for another file (file:vmlinuz-old, not vmlinuz)"
        );

        // Another key.
        let sig = other.sign("vmlinuz", &data, false);
        let e = t.expect(&sig, "vmlinuz").unwrap_err();
        assert!(
            matches!(&e, Refusal::UntrustedKey { key, .. } if *key == trust(&other).ids()[0]),
            "{e}"
        );
        assert!(e.to_string().starts_with("untrusted key "), "{e}");

        // Garbage and truncated signatures.
        for junk in [&b"hello"[..], &sig[..40], &[0xff, 0xfe][..]] {
            let e = t.expect(junk, "vmlinuz").unwrap_err();
            assert!(matches!(e, Refusal::Unreadable(_)), "{e}");
            assert!(e.to_string().starts_with("bad signature"), "{e}");
        }

        // A trusted comment edited to name this file: the global signature
        // no longer matches.
        let sig = s.sign("vmlinuz-old", &data, false);
        let forged = String::from_utf8(sig)
            .unwrap()
            .replace("file:vmlinuz-old", "file:vmlinuz");
        let e = t.expect(forged.as_bytes(), "vmlinuz").unwrap();
        assert_eq!(stream_check(&e, &data), Err(Refusal::BadSignature));

        // A custom trusted comment without file:.
        std::fs::write(s.dir.join("x"), &data).unwrap();
        s.run(&["-S", "-s", "k.key", "-m", "x", "-t", "made by ops"]);
        let sig = std::fs::read(s.dir.join("x.minisig")).unwrap();
        let e = t.expect(&sig, "x").unwrap_err();
        assert!(e.to_string().starts_with("signed for another file"), "{e}");
    }

    #[test]
    fn keys_and_dirs() {
        let s = Signer::new("keys");
        let dir = s.dir.join("trust");
        std::fs::create_dir_all(&dir).unwrap();
        assert!(!Trust::load_dir(&dir).is_on());
        assert!(!Trust::load_dir(&dir.join("absent")).is_on());
        std::fs::write(dir.join("a.pub"), s.public()).unwrap();
        std::fs::write(dir.join("README"), "not a key").unwrap();
        let t = Trust::load_dir(&dir);
        assert_eq!(t.ids().len(), 1);
        assert!(t.broken.is_empty());
        assert!(!t.unless_off(true).is_on());
        assert_eq!(t.unless_off(false), t);

        // A broken key keeps verification on, and nothing verifies with it.
        std::fs::write(dir.join("a.pub"), "untrusted comment: x\nbroken\n").unwrap();
        let t = Trust::load_dir(&dir);
        assert!(t.is_on());
        assert!(t.ids().is_empty());
        let sig = s.sign("f", b"x", false);
        let e = t.expect(&sig, "f").unwrap_err();
        assert!(
            e.to_string().contains("no trusted key could be read"),
            "{e}"
        );

        let mut t = Trust::default();
        let e = t.add_file(&dir.join("a.pub")).unwrap_err();
        assert!(
            e.starts_with(&dir.join("a.pub").display().to_string()),
            "{e}"
        );
        // The same key twice is one key.
        t.add(&s.public()).unwrap();
        t.add(&s.public()).unwrap();
        assert_eq!(t.ids().len(), 1);
    }
}

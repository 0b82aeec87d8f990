//! Trusted minisign public keys in the initramfs: where the image builder
//! puts them and where pxeinit reads them ([`DIR`]), and the little of
//! minisign's formats both sides need to name a key (its key id). No
//! dependencies; signatures themselves are verified by pxeinit.
//!
//! A public key file, as `minisign -G` writes it:
//!
//! ```text
//! untrusted comment: minisign public key E4512F1A8B96285E
//! RWReKJaLGi9R5K8ZHFJHxKmdZyuPvb9uZ0I5C+PCtVd7+OdJqjTH6oxR
//! ```
//!
//! The second line is base64 of `"Ed"`, the 8-byte key id and the 32-byte
//! Ed25519 key. minisign prints the id as the little-endian 64-bit number
//! in upper-case hex (`E4512F1A8B96285E` above); so does [`key_id_hex`].

use std::fmt;
use std::path::{Path, PathBuf};

/// Where trusted keys live in the initramfs (no leading `/`): one
/// `KEYID.pub` file per key.
pub const DIR: &str = "etc/pxeinit/trust";

/// A minisign public key, parsed far enough to name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyText {
    /// The key id (bytes 2..10 of the decoded key).
    pub id: [u8; 8],
    /// The base64 line, as found.
    pub base64: String,
}

/// Why a text is not a minisign public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

/// Parse a minisign public key file (`untrusted comment:` line, then the
/// base64 line) or a bare base64 key as `minisign -P` takes it.
pub fn parse_public_key(text: &str) -> Result<KeyText, KeyError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .ok_or_else(|| KeyError("empty, not a minisign public key".into()))?;
    let b64 = if first.starts_with("untrusted comment:") {
        lines
            .next()
            .ok_or_else(|| KeyError("no key line after the comment".into()))?
    } else {
        first
    };
    let bin = base64_decode(b64).ok_or_else(|| {
        KeyError("the key line is not base64 (expected `minisign -G` output)".into())
    })?;
    if bin.len() != 42 || &bin[..2] != b"Ed" {
        return Err(KeyError(
            "not a minisign Ed25519 public key (expected 42 bytes starting with \"Ed\")".into(),
        ));
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&bin[2..10]);
    Ok(KeyText {
        id,
        base64: b64.to_string(),
    })
}

/// The key id of a minisign signature file (`FILE.minisig`): bytes 2..10
/// of its second line. None when the text is not shaped like a signature.
pub fn signature_key_id(text: &str) -> Option<[u8; 8]> {
    let line = text.lines().nth(1)?.trim();
    let bin = base64_decode(line)?;
    if bin.len() != 74 {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&bin[2..10]);
    Some(id)
}

/// A key id as minisign prints it.
pub fn key_id_hex(id: &[u8; 8]) -> String {
    format!("{:016X}", u64::from_le_bytes(*id))
}

/// Check the key file at `path` and give its initramfs entry
/// `(path, "etc/pxeinit/trust/KEYID.pub")`, for an `add` list.
pub fn entry(path: &Path) -> Result<(PathBuf, String), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let key = parse_public_key(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((
        path.to_path_buf(),
        format!("{DIR}/{}.pub", key_id_hex(&key.id)),
    ))
}

/// Standard base64 with optional `=` padding; None on any other byte.
/// Padding, when present, must complete the last group of four, as
/// minisign-verify (pxeinit's verifier) requires.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let data = s.trim_end_matches('=');
    let pad = s.len() - data.len();
    if pad > 2 || (pad > 0 && !s.len().is_multiple_of(4)) {
        return None;
    }
    let s = data;
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be the zero padding of the last character.
    (bits < 6 && acc == 0).then_some(out)
}

#[cfg(test)]
mod test {
    use super::*;

    // Written by Debian's minisign 0.11 (`minisign -G -W`).
    const PUB: &str = "untrusted comment: minisign public key E4512F1A8B96285E\n\
                       RWReKJaLGi9R5K8ZHFJHxKmdZyuPvb9uZ0I5C+PCtVd7+OdJqjTH6oxR\n";
    const SIG: &str = "untrusted comment: signature from minisign secret key\n\
        RUReKJaLGi9R5JObCHbpR4OxXfO9GIY6zZuv5nMmBRFQ11zHiRZxkVML+KdIQiQviCFB+pPtV30VJEg/zmNv3YyRqQb1BI46VAA=\n\
        trusted comment: timestamp:1796118161\tfile:f\thashed\n\
        GUMdWcecqtKm0AboiA2bX9Buw1dlTpHl/gxpZTrFuUThvcOfQV0nYo+Y+p7nqz9r00JtqxyyTS4bj7lgPU6cAw==\n";

    #[test]
    fn key_ids_as_minisign_prints_them() {
        let k = parse_public_key(PUB).unwrap();
        assert_eq!(key_id_hex(&k.id), "E4512F1A8B96285E");
        let bare =
            parse_public_key("RWReKJaLGi9R5K8ZHFJHxKmdZyuPvb9uZ0I5C+PCtVd7+OdJqjTH6oxR").unwrap();
        assert_eq!(bare.id, k.id);
        assert_eq!(signature_key_id(SIG), Some(k.id));
    }

    #[test]
    fn not_keys() {
        for bad in [
            "",
            "untrusted comment: x\n",
            "untrusted comment: x\nnot base64!\n",
            "untrusted comment: x\naGVsbG8=\n",
            // A signature line is not a key.
            "RUReKJaLGi9R5JObCHbpR4OxXfO9GIY6zZuv5nMmBRFQ11zHiRZxkVML+KdIQiQviCFB+pPtV30VJEg/zmNv3YyRqQb1BI46VAA=",
        ] {
            assert!(parse_public_key(bad).is_err(), "{bad:?}");
        }
        assert_eq!(signature_key_id("one line"), None);
        assert_eq!(signature_key_id(PUB), None);
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("aGVsbG9").is_none());
        assert!(base64_decode("a b").is_none());
        assert!(base64_decode("aGVsbG8==").is_none());
        assert!(base64_decode("aGVsbA===").is_none());
    }

    /// Found by the `minisign_key` fuzz target (init/fuzz): a key line
    /// with `=` after it was accepted here, so `netboot-image build
    /// --trust-key` took a key that pxeinit (minisign-verify) refuses, and
    /// nothing would verify at boot.
    #[test]
    fn padding_after_a_key_is_refused() {
        for pad in ["=", "==", "==========="] {
            let line = format!("RWReKJaLGi9R5K8ZHFJHxKmdZyuPvb9uZ0I5C+PCtVd7+OdJqjTH6oxR{pad}");
            assert!(parse_public_key(&line).is_err(), "{line}");
        }
    }

    #[test]
    fn entries_are_named_by_key_id() {
        let dir = std::env::temp_dir().join(format!("nbi-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("ops.pub");
        std::fs::write(&good, PUB).unwrap();
        let (src, dest) = entry(&good).unwrap();
        assert_eq!(src, good);
        assert_eq!(dest, "etc/pxeinit/trust/E4512F1A8B96285E.pub");
        let bad = dir.join("bad.pub");
        std::fs::write(&bad, "hello\n").unwrap();
        let e = entry(&bad).unwrap_err();
        assert!(e.starts_with(&bad.display().to_string()), "{e}");
        assert!(entry(&dir.join("missing.pub")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

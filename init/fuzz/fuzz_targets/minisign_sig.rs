//! minisign signatures, the whole pre-download and post-download check of
//! `verify::Trust` with one trusted key (made for this target; its secret
//! key was thrown away after signing `DATA` as `signed.cfg`, prehashed and
//! legacy). Three kinds of input, by the first byte:
//!
//! - raw: `SIG \0 REQUESTED \0 FILE`;
//! - the two real signatures for a requested path and file bytes from the
//!   input, one byte of the signature optionally changed;
//! - a signature file assembled from the input (algorithm, key id,
//!   signatures, comments, `file:` field, LF or CRLF), which
//!   minisign-verify must decode (the round trip of this emitter).
//!
//! Always: no panic; `Trust::expect` accepts only the trusted key id and
//! only a signature whose trusted comment's `file:` field is the requested
//! basename (checked against the rule for assembled signatures); the
//! streamed check agrees with the whole-file one; and nothing but `DATA`,
//! requested as `signed.cfg`, ever verifies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use minisign_verify::Signature;

#[allow(dead_code)]
#[path = "../../src/verify.rs"]
mod verify;

use verify::{Refusal, Trust};

const PUB: &str = "untrusted comment: minisign public key E9DAEF891528501B\n\
                   RWQbUCgVie/a6Yem141O7oveQ86zksJCYe4V4br4YXC7GWcSGC1RA0JY\n";
const ID: &str = "E9DAEF891528501B";
const DATA: &[u8] = b"LABEL fuzz\n  KERNEL vmlinuz\n";
const NAME: &str = "signed.cfg";
const PRE: &str = "untrusted comment: signature from minisign secret key\n\
    RUQbUCgVie/a6TmyW+eHjMrNaJCGsB7/jUCpiw7G4ojxAiiqT5wHSFXybp0MXMmBO7ZhFGTO4BiVup5xTJqyWmfzB+qdMGTtoAU=\n\
    trusted comment: timestamp:1796120494\tfile:signed.cfg\thashed\n\
    L49jzY+Z6lmH5Slgw/X5EKGB+M+O81W5b+pykVV4ImAAzBgQzNePObd90OXpWARNHSsiS4l4OS1XVEvHYc7MCA==\n";
const LEGACY: &str = "untrusted comment: signature from minisign secret key\n\
    RWQbUCgVie/a6akzYLqkXRiDYzIInNKCvvsnFfnpndXR2DW1ipGimMYGai7knMsg/933m+3BphuDVPHE+0jA3Ga2Xufkd0k0RQM=\n\
    trusted comment: timestamp:1796120494\tfile:signed.cfg\n\
    vYZS8hOWIZX8kotWFAlBgX6Nl2TLmO9M10R3V8s1FAFQgmh9NpcEQoQ4I9k0UlLThmd8nlVkimwH5vpydePxDA==\n";

fn trust() -> Trust {
    let mut t = Trust::default();
    t.add(PUB).unwrap();
    assert_eq!(t.ids(), [ID]);
    t
}

fn base64(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = c.iter().enumerate().fold(0u32, |n, (i, &x)| n | (x as u32) << (16 - 8 * i));
        for i in 0..4 {
            s.push(if i <= c.len() { A[(n >> (18 - 6 * i)) as usize & 63] as char } else { '=' });
        }
    }
    s
}

fn base64_decode(s: &str) -> Vec<u8> {
    let v = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let s = s.trim_end_matches('=').as_bytes();
    let (mut acc, mut bits, mut out) = (0u32, 0, Vec::new());
    for &c in s {
        acc = acc << 6 | v(c) as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The documented rule: the first `file:` field (tab- or space-separated).
fn signed_name(trusted_comment: &str) -> Option<&str> {
    trusted_comment
        .split(['\t', ' '])
        .find_map(|f| f.strip_prefix("file:"))
}

/// Run the whole check; Some(verified) when `expect` accepted the signature.
fn check(t: &Trust, sig: &[u8], requested: &str, file: &[u8], step: usize) -> Option<bool> {
    let _ = verify::signature_path(requested);
    let want = verify::basename(requested);
    match t.expect(sig, requested) {
        Ok(e) => {
            assert_eq!(e.key_id(), ID);
            let text = std::str::from_utf8(sig).unwrap();
            let decoded = Signature::decode(text).unwrap();
            assert_eq!(signed_name(decoded.trusted_comment()), Some(want.as_str()));
            let v = e.verified();
            assert_eq!(v.key, ID);
            let _ = v.to_json();
            let whole = e.check_bytes(file).is_ok();
            match e.stream() {
                Some(mut s) => {
                    assert!(v.prehashed);
                    for c in file.chunks(step) {
                        s.update(c);
                    }
                    assert_eq!(e.finish(s).is_ok(), whole, "streamed and whole-file checks differ");
                }
                None => assert!(!v.prehashed),
            }
            if whole {
                assert_eq!((file, want.as_str()), (DATA, NAME), "verified other bytes");
            }
            Some(whole)
        }
        Err(r) => {
            let _ = r.to_string();
            None
        }
    }
}

/// Split at the first zero byte.
fn field(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == 0) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[]),
    }
}

/// Visible ASCII from `b` (a comment or a file name).
fn visible(b: &[u8]) -> String {
    b.iter().map(|&c| (0x21 + c % 94) as char).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let t = trust();
    let step = (mode as usize >> 2) + 1;
    match mode % 3 {
        0 => {
            let (sig, rest) = field(rest);
            let (requested, file) = field(rest);
            check(&t, sig, &String::from_utf8_lossy(requested), file, step);
        }
        1 => {
            let Some((&[which, flip, at_lo, at_hi], rest)) = rest.split_first_chunk::<4>() else {
                return;
            };
            let real = if which & 1 == 0 { PRE } else { LEGACY };
            let mut sig = real.as_bytes().to_vec();
            let at = u16::from_le_bytes([at_lo, at_hi]) as usize % sig.len();
            sig[at] ^= flip;
            let (requested, file) = field(rest);
            let requested = String::from_utf8_lossy(requested);
            let r = check(&t, &sig, &requested, file, step);
            if flip == 0 {
                assert_eq!(r.is_some(), verify::basename(&requested) == NAME, "{r:?}");
                if r.is_some() {
                    assert_eq!(r, Some(file == DATA));
                }
            }
        }
        _ => {
            let Some((p, rest)) = rest.split_first_chunk::<4>() else {
                return;
            };
            let flags = p[0];
            let (untrusted, rest) = field(rest);
            let (timestamp, rest) = field(rest);
            let (name, rest) = field(rest);
            let (requested, rest) = field(rest);
            let requested = String::from_utf8_lossy(requested);
            let (sigs, file) = rest.split_at(rest.len().min(136));
            let mut bin1 = if flags & 1 != 0 { b"ED".to_vec() } else { b"Ed".to_vec() };
            let real = base64_decode(PRE.lines().nth(1).unwrap());
            let id = if flags & 2 != 0 { &real[2..10] } else { sigs.get(..8).unwrap_or(&[0; 8]) };
            bin1.extend_from_slice(id);
            let mut sig = [0u8; 128];
            sig[..sigs.len().saturating_sub(8)].copy_from_slice(sigs.get(8..).unwrap_or_default());
            if flags & 4 != 0 {
                sig[..64].copy_from_slice(&real[10..74]);
            }
            bin1.extend_from_slice(&sig[..64]);
            let sep = if flags & 8 != 0 { " " } else { "\t" };
            // The requested file's own name, when it fits on the line (a
            // CR or LF in it would end the trusted comment early).
            let base = verify::basename(&requested);
            let fits = !base.contains(['\r', '\n']);
            let name = if flags & 16 != 0 && fits { base } else { visible(name) };
            let tc = format!(
                "{}{sep}file:{name}{}",
                visible(timestamp),
                if flags & 32 != 0 { "\thashed" } else { "" }
            );
            let nl = if flags & 64 != 0 { "\r\n" } else { "\n" };
            let text = format!(
                "untrusted comment: {}{nl}{}{nl}trusted comment: {tc}{nl}{}{nl}",
                visible(untrusted),
                base64(&bin1),
                base64(&sig[64..])
            );
            let decoded = Signature::decode(&text).expect("own signature decodes");
            assert_eq!(decoded.trusted_comment(), tc);
            let r = t.expect(text.as_bytes(), &requested);
            let trusted = id == &real[2..10];
            let named = signed_name(&tc) == Some(verify::basename(&requested).as_str());
            match &r {
                Ok(_) => assert!(trusted && named),
                Err(Refusal::UntrustedKey { .. }) => assert!(!trusted),
                Err(Refusal::OtherFile { .. }) => assert!(trusted && !named),
                Err(e) => panic!("{e}"),
            }
            check(&t, text.as_bytes(), &requested, file, step);
        }
    }
});

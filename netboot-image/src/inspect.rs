//! What an image contains: [`inspect`] reads a combined image, a bare
//! kernel, a cpio archive or a compressed initrd, and [`Report`] renders it
//! as text or as the stable JSON documented in the crate's README.
//!
//! The initrd is walked the way the kernel's `unpack_to_rootfs` walks it:
//! zero bytes are skipped, a `0707` magic starts a cpio archive, a
//! compression magic starts a compressed stream whose output is itself read
//! as cpio archives, one after the other.

use serde_json::{json, Value};

use crate::compress::{self, Format};
use crate::cpio;
use crate::s390::{self, KernelImage};

/// The largest file QEMU's s390x netboot firmware can load, in bytes.
///
/// `pc-bios/s390-ccw/netmain.c` loads a direct TFTP boot file at 0x2000 with
/// a limit of `KERNEL_MAX_SIZE - 0x2000`, where `KERNEL_MAX_SIZE` is the
/// firmware's own `_start`; `pc-bios/s390-ccw/netboot.mak` links
/// `s390-netboot.img` with `-Ttext=0x7800000` (QEMU up to 9.1, e.g. Debian
/// 12's 7.2). So: 0x7800000 - 0x2000 = 125 820 928 bytes (120 MiB - 8 KiB).
/// Newer QEMU links the netboot code into `s390-ccw.img`, relocated below
/// the top of guest memory, so its limit grows with guest RAM; this is the
/// conservative bound.
pub const QEMU_NETBOOT_MAX_SIZE: u64 = 0x780_0000 - 0x2000;

/// What kind of file was inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A kernel image with an initrd inside.
    CombinedImage,
    /// A kernel image without an initrd.
    KernelImage,
    /// A cpio archive or compressed initrd on its own.
    Initrd,
}

impl Kind {
    /// The name used in the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Kind::CombinedImage => "combined-image",
            Kind::KernelImage => "kernel-image",
            Kind::Initrd => "initrd",
        }
    }
}

/// The kernel part of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelInfo {
    /// The version string, if recorded.
    pub version: Option<String>,
    /// Its first word (`6.1.0-50-s390x`).
    pub release: Option<String>,
    /// Size of the kernel part (offset 0).
    pub image_size: u64,
    /// The embedded command line.
    pub cmdline: String,
    /// The command line limit with its NUL.
    pub cmdline_limit: u64,
}

/// One stream inside an initrd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Offset within the initrd.
    pub offset: u64,
    /// `none` for a plain cpio archive, else the compression format.
    pub compression: &'static str,
    /// Bytes of the initrd this segment takes.
    pub stored_size: u64,
    /// Bytes after decompression.
    pub size: u64,
    /// Number of entries (trailers excluded).
    pub entries: u64,
}

/// One file of an initrd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// The path, without a leading `/`.
    pub name: String,
    /// `file`, `dir`, `symlink`, `char`, `block`, `fifo`, `socket`, `unknown`.
    pub kind: &'static str,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
    /// Data size.
    pub size: u64,
    /// A symlink's target.
    pub target: Option<String>,
    /// A device's `(major, minor)`.
    pub rdev: Option<(u32, u32)>,
    /// Index of the segment holding it.
    pub segment: usize,
}

/// The initrd part of an image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InitrdInfo {
    /// Offset in the inspected file.
    pub offset: u64,
    /// Size in the inspected file.
    pub size: u64,
    /// The streams found.
    pub segments: Vec<Segment>,
    /// All entries, in archive order.
    pub entries: Vec<EntryInfo>,
    /// Why the walk stopped early, if it did.
    pub error: Option<String>,
}

/// The result of [`inspect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// File size.
    pub size: u64,
    /// What the file is.
    pub kind: Kind,
    /// The kernel part, for kernel and combined images.
    pub kernel: Option<KernelInfo>,
    /// The initrd part, for combined images and initrds.
    pub initrd: Option<InitrdInfo>,
    /// Things worth knowing (e.g. the image is too large for QEMU netboot).
    pub warnings: Vec<String>,
}

/// Why a file could not be inspected at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRecognized;

impl std::fmt::Display for NotRecognized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not an s390x kernel image, a cpio archive or a compressed initrd"
        )
    }
}

impl std::error::Error for NotRecognized {}

/// Inspects `data`. Never panics; a damaged initrd gives a partial listing
/// with [`InitrdInfo::error`] set.
pub fn inspect(data: &[u8]) -> Result<Report, NotRecognized> {
    let size = data.len() as u64;
    let mut warnings = Vec::new();
    let (kind, kernel, initrd) = match KernelImage::parse(data) {
        Ok(image) => {
            let kernel = KernelInfo {
                version: image.version(),
                release: image.release(),
                image_size: image.image_size() as u64,
                cmdline: image.cmdline(),
                cmdline_limit: image.cmdline_limit(),
            };
            let area = image.parm_area();
            match (image.initrd(), image.initrd_data()) {
                (Some((offset, size)), Some(bytes)) => (
                    Kind::CombinedImage,
                    Some(kernel),
                    Some(walk_initrd(bytes, offset, size)),
                ),
                _ => {
                    if area.initrd_start() != 0 {
                        warnings.push(format!(
                            "parm area names an initrd of {} bytes at {:#x}, outside this file",
                            area.initrd_size(),
                            area.initrd_start()
                        ));
                    }
                    (Kind::KernelImage, Some(kernel), None)
                }
            }
        }
        Err(s390::Error::NotS390Image) | Err(s390::Error::TooShort { .. }) => {
            let start = data.iter().position(|&b| b != 0).unwrap_or(data.len());
            let rest = &data[start..];
            if !rest.starts_with(b"0707") && Format::detect(rest).is_none() {
                return Err(NotRecognized);
            }
            (Kind::Initrd, None, Some(walk_initrd(data, 0, size)))
        }
        Err(e) => {
            // An s390x image whose parm area is damaged: report what we can.
            warnings.push(format!("damaged kernel image: {e}"));
            (Kind::KernelImage, None, None)
        }
    };
    if kind != Kind::Initrd && size > QEMU_NETBOOT_MAX_SIZE {
        warnings.push(netboot_size_warning(size));
    }
    Ok(Report {
        size,
        kind,
        kernel,
        initrd,
        warnings,
    })
}

/// The warning for an image larger than [`QEMU_NETBOOT_MAX_SIZE`].
pub fn netboot_size_warning(size: u64) -> String {
    format!(
        "image is {size} bytes, more than the {QEMU_NETBOOT_MAX_SIZE} bytes QEMU's s390-netboot firmware can load \
         (pc-bios/s390-ccw/netmain.c: below its load address 0x7800000, from 0x2000)"
    )
}

/// Walks an initrd the way the kernel unpacks it.
pub fn walk_initrd(data: &[u8], offset: u64, size: u64) -> InitrdInfo {
    let mut info = InitrdInfo {
        offset,
        size,
        ..InitrdInfo::default()
    };
    let mut pos = 0;
    while pos < data.len() {
        let rest = &data[pos..];
        if rest[0] == 0 {
            pos += 1;
            continue;
        }
        let segment = info.segments.len();
        if rest.starts_with(b"0707") {
            let (used, count, error) = read_archives(rest, segment, &mut info.entries, pos);
            info.segments.push(Segment {
                offset: pos as u64,
                compression: "none",
                stored_size: used as u64,
                size: used as u64,
                entries: count,
            });
            if let Some(error) = error {
                info.error = Some(error);
                break;
            }
            pos += used.max(1);
        } else if let Some(format) = Format::detect(rest) {
            match compress::decompress(format, rest) {
                Ok((out, used)) => {
                    let (_, count, error) = read_archives(&out, segment, &mut info.entries, 0);
                    info.segments.push(Segment {
                        offset: pos as u64,
                        compression: format.name(),
                        stored_size: used as u64,
                        size: out.len() as u64,
                        entries: count,
                    });
                    if let Some(error) = error {
                        info.error = Some(format!(
                            "in the {format} stream at offset {pos:#x}: {error}"
                        ));
                        break;
                    }
                    pos += used.max(1);
                }
                Err(e) => {
                    info.error = Some(format!("at offset {pos:#x}: {e}"));
                    break;
                }
            }
        } else {
            info.error = Some(format!(
                "at offset {pos:#x}: neither a cpio archive nor a known compression"
            ));
            break;
        }
    }
    info
}

/// Reads consecutive cpio archives (with zero padding between) from the
/// start of `data`; returns the bytes used, the entry count and an error
/// that stopped it. `base` is added to error offsets.
fn read_archives(
    data: &[u8],
    segment: usize,
    out: &mut Vec<EntryInfo>,
    base: usize,
) -> (usize, u64, Option<String>) {
    let mut pos = 0;
    let mut count = 0;
    loop {
        while data.get(pos) == Some(&0) {
            pos += 1;
        }
        if pos >= data.len() || !data[pos..].starts_with(b"0707") {
            return (pos, count, None);
        }
        let mut reader = cpio::Reader::new(&data[pos..]);
        for entry in reader.by_ref() {
            match entry {
                Ok(entry) => {
                    count += 1;
                    out.push(entry_info(&entry, segment));
                }
                Err(e) => {
                    return (
                        pos,
                        count,
                        Some(format!(
                            "cpio entry at offset {:#x}: {e}",
                            base + pos + e.offset()
                        )),
                    );
                }
            }
        }
        if !reader.trailer_seen() {
            return (
                pos,
                count,
                Some(format!(
                    "cpio archive at offset {:#x} has no trailer",
                    base + pos
                )),
            );
        }
        pos += reader.end().max(1);
    }
}

fn entry_info(entry: &cpio::Entry<'_>, segment: usize) -> EntryInfo {
    let kind = match entry.type_char() {
        '-' => "file",
        'd' => "dir",
        'l' => "symlink",
        'c' => "char",
        'b' => "block",
        'p' => "fifo",
        's' => "socket",
        _ => "unknown",
    };
    EntryInfo {
        name: entry.name_lossy().into_owned(),
        kind,
        mode: entry.header.mode & 0o7777,
        size: entry.data.len() as u64,
        target: (kind == "symlink").then(|| String::from_utf8_lossy(entry.data).into_owned()),
        rdev: matches!(kind, "char" | "block")
            .then_some((entry.header.rdev_major, entry.header.rdev_minor)),
        segment,
    }
}

impl Report {
    /// The stable JSON form (see the crate README).
    pub fn to_json(&self) -> Value {
        let kernel = self.kernel.as_ref().map(|k| {
            json!({
                "version": k.version,
                "release": k.release,
                "image_offset": 0,
                "image_size": k.image_size,
                "cmdline": k.cmdline,
                "cmdline_limit": k.cmdline_limit,
            })
        });
        let initrd = self.initrd.as_ref().map(|i| {
            json!({
                "offset": i.offset,
                "size": i.size,
                "segments": i.segments.iter().map(|s| json!({
                    "offset": s.offset,
                    "compression": s.compression,
                    "stored_size": s.stored_size,
                    "size": s.size,
                    "entries": s.entries,
                })).collect::<Vec<_>>(),
                "entries": i.entries.iter().map(|e| json!({
                    "name": e.name,
                    "type": e.kind,
                    "mode": format!("{:04o}", e.mode),
                    "size": e.size,
                    "target": e.target,
                    "rdev": e.rdev.map(|(a, b)| format!("{a}:{b}")),
                    "segment": e.segment,
                })).collect::<Vec<_>>(),
                "error": i.error,
            })
        });
        json!({
            "format": 1,
            "kind": self.kind.name(),
            "size": self.size,
            "netboot_max_size": QEMU_NETBOOT_MAX_SIZE,
            "kernel": kernel,
            "initrd": initrd,
            "warnings": self.warnings,
        })
    }

    /// A human-readable rendering.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "kind:           {}", self.kind.name());
        let _ = writeln!(s, "size:           {} bytes", self.size);
        if let Some(k) = &self.kernel {
            let _ = writeln!(
                s,
                "kernel version: {}",
                k.version.as_deref().unwrap_or("(none)")
            );
            let _ = writeln!(s, "kernel image:   offset 0, {} bytes", k.image_size);
            let _ = writeln!(s, "cmdline:        {:?}", k.cmdline);
            let _ = writeln!(s, "cmdline limit:  {} bytes (with NUL)", k.cmdline_limit);
        }
        if let Some(i) = &self.initrd {
            let _ = writeln!(
                s,
                "initrd:         offset {:#x}, {} bytes",
                i.offset, i.size
            );
            for (n, seg) in i.segments.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "  segment {n}:    +{:#x} {}, {} bytes stored, {} bytes, {} entries",
                    seg.offset, seg.compression, seg.stored_size, seg.size, seg.entries
                );
            }
            for e in &i.entries {
                let type_char = match e.kind {
                    "file" => '-',
                    "dir" => 'd',
                    "symlink" => 'l',
                    "char" => 'c',
                    "block" => 'b',
                    "fifo" => 'p',
                    "socket" => 's',
                    _ => '?',
                };
                let size = match e.rdev {
                    Some((a, b)) => format!("{a}, {b}"),
                    None => e.size.to_string(),
                };
                let _ = write!(s, "  {type_char}{:04o} {size:>10} /{}", e.mode, e.name);
                if let Some(t) = &e.target {
                    let _ = write!(s, " -> {t}");
                }
                s.push('\n');
            }
            if let Some(err) = &i.error {
                let _ = writeln!(s, "initrd error:   {err}");
            }
        }
        for w in &self.warnings {
            let _ = writeln!(s, "warning:        {w}");
        }
        s
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::compress::Compression;
    use crate::cpio::Archive;

    fn fake_kernel() -> Vec<u8> {
        let mut k = vec![0u8; 0x12000];
        k[0x10008..0x1000e].copy_from_slice(b"S390EP");
        k[0x10428..0x10430].copy_from_slice(&0x10100u64.to_be_bytes());
        k[0x10100..0x10108].copy_from_slice(b"6.1.0-t ");
        k
    }

    fn archive(name: &str) -> Vec<u8> {
        let mut a = Archive::with_mtime(0);
        a.add_file(name, 0o644, b"data".to_vec());
        a.add_symlink("lnk", name);
        a.add_char_dev("dev/console", 0o600, 5, 1);
        a.to_bytes()
    }

    #[test]
    fn combined_image_with_several_segments() {
        let plain = archive("early");
        let gz = compress::compress(&archive("main"), Compression::Gzip).unwrap();
        let xz = compress::compress(&archive("more"), Compression::Xz).unwrap();
        let image = s390::combine(
            &fake_kernel(),
            &[&plain, &gz, &xz],
            Some("console=ttysclp0"),
        )
        .unwrap();
        let report = inspect(&image).unwrap();
        assert_eq!(report.kind, Kind::CombinedImage);
        let k = report.kernel.as_ref().unwrap();
        assert_eq!(k.release.as_deref(), Some("6.1.0-t"));
        assert_eq!(k.cmdline, "console=ttysclp0");
        assert_eq!(k.cmdline_limit, 896);
        let i = report.initrd.as_ref().unwrap();
        assert_eq!(i.error, None);
        let kinds: Vec<_> = i.segments.iter().map(|s| s.compression).collect();
        assert_eq!(kinds, ["none", "gzip", "xz"]);
        assert!(i.segments.iter().all(|s| s.entries == 4));
        assert_eq!(i.segments[1].offset, plain.len() as u64);
        assert_eq!(i.segments[1].stored_size, gz.len() as u64);
        let console = i.entries.iter().find(|e| e.name == "dev/console").unwrap();
        assert_eq!(
            (console.kind, console.mode, console.rdev),
            ("char", 0o600, Some((5, 1)))
        );
        let json = report.to_json();
        assert_eq!(json["kind"], "combined-image");
        assert_eq!(json["initrd"]["entries"][1]["rdev"], "5:1");
        assert_eq!(json["initrd"]["entries"][0]["mode"], "0755");
        assert!(report.to_text().contains("c0600       5, 1 /dev/console"));
    }

    #[test]
    fn bare_initrd_and_garbage() {
        let zst = compress::compress(&archive("x"), Compression::Zstd).unwrap();
        let report = inspect(&zst).unwrap();
        assert_eq!(report.kind, Kind::Initrd);
        assert_eq!(report.initrd.unwrap().entries.len(), 4);
        assert_eq!(inspect(b"hello world").unwrap_err(), NotRecognized);
        let mut bad = archive("x");
        let len = bad.len();
        bad.truncate(len - 20);
        let report = inspect(&bad).unwrap();
        assert!(report.initrd.unwrap().error.unwrap().contains("truncated"));
        let mut junk = archive("x");
        junk.extend_from_slice(b"junk");
        let report = inspect(&junk).unwrap();
        assert!(report
            .initrd
            .unwrap()
            .error
            .unwrap()
            .contains("neither a cpio archive"));
    }

    #[test]
    fn never_panics_on_mutations() {
        let gz = compress::compress(&archive("main"), Compression::Gzip).unwrap();
        let image = s390::combine(&fake_kernel(), &[&gz], Some("x")).unwrap();
        let mut state = 0x9E3779B97F4A7C15u64;
        for _ in 0..300 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bad = image.clone();
            let pos = 0x10400 + (state % (bad.len() as u64 - 0x10400)) as usize;
            bad[pos] ^= (state >> 40) as u8 | 1;
            let _ = inspect(&bad).map(|r| (r.to_json(), r.to_text()));
        }
    }
}

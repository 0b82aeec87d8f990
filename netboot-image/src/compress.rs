//! Compression of initramfs images and decompression for inspection and
//! compressed modules, all through pure-Rust codecs.
//!
//! What the kernel's initramfs unpacker accepts is set by `CONFIG_RD_*`;
//! [`check_kernel_config`] refuses a compression the kernel can't unpack.
//! Streams are written so the kernel's decoders take them: xz with a CRC32
//! check (the kernel's XZ Embedded decoder supports only none and CRC32,
//! `Documentation/staging/xz.rst`), zstd as a single frame.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A compression `build` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// A plain cpio archive.
    None,
    /// gzip, level 9 (`CONFIG_RD_GZIP`). The default: every kernel has it.
    #[default]
    Gzip,
    /// xz, preset 6 with a CRC32 check (`CONFIG_RD_XZ`).
    Xz,
    /// zstd, ruzstd's "fastest" level (`CONFIG_RD_ZSTD`).
    Zstd,
}

impl Compression {
    /// All compressions, in the order `--help` lists them.
    pub const ALL: [Compression; 4] = [
        Compression::Gzip,
        Compression::Xz,
        Compression::Zstd,
        Compression::None,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        }
    }

    /// The kernel config option that enables unpacking it, if any is needed.
    pub fn config_option(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("CONFIG_RD_GZIP"),
            Compression::Xz => Some("CONFIG_RD_XZ"),
            Compression::Zstd => Some("CONFIG_RD_ZSTD"),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Compression {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Compression::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown compression {s:?}: expected gzip, xz, zstd or none"))
    }
}

/// A compressed stream format recognized by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// gzip (`1f 8b`).
    Gzip,
    /// xz (`fd 37 7a 58 5a 00`).
    Xz,
    /// zstd (`28 b5 2f fd`).
    Zstd,
    /// bzip2 (`BZh`); recognized, not decoded.
    Bzip2,
    /// legacy lzma (`5d 00 00`); recognized, not decoded.
    Lzma,
    /// lzop (`89 4c 5a 4f`); recognized, not decoded.
    Lzo,
    /// lz4 legacy (`02 21 4c 18`); recognized, not decoded.
    Lz4,
}

impl Format {
    /// Recognizes the format from the start of `data`, like the kernel's
    /// `decompress_method`.
    pub fn detect(data: &[u8]) -> Option<Format> {
        const MAGICS: [(&[u8], Format); 7] = [
            (b"\x1f\x8b", Format::Gzip),
            (b"\xfd7zXZ\x00", Format::Xz),
            (b"\x28\xb5\x2f\xfd", Format::Zstd),
            (b"BZh", Format::Bzip2),
            (b"\x5d\x00\x00", Format::Lzma),
            (b"\x89LZO", Format::Lzo),
            (b"\x02\x21\x4c\x18", Format::Lz4),
        ];
        MAGICS
            .iter()
            .find(|(m, _)| data.starts_with(m))
            .map(|(_, f)| *f)
    }

    /// The name, as `file` or the kernel would say it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
            Format::Bzip2 => "bzip2",
            Format::Lzma => "lzma",
            Format::Lzo => "lzo",
            Format::Lz4 => "lz4",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A compression or decompression error.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The codec failed (corrupt input, for decompression).
    Codec {
        /// The format.
        format: &'static str,
        /// The codec's message.
        message: String,
    },
    /// The format is recognized but this crate doesn't decode it.
    Unsupported(Format),
    /// Decompressed data would exceed the output limit.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The kernel config does not enable the compression.
    KernelCantUnpack {
        /// The compression asked for.
        compression: Compression,
        /// The config file read.
        config: PathBuf,
        /// The compressions that config enables.
        supported: Vec<Compression>,
    },
    /// The kernel config could not be read.
    Io {
        /// The config file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Codec { format, message } => write!(f, "{format}: {message}"),
            Error::Unsupported(format) => write!(f, "{format}-compressed data is not supported"),
            Error::TooLarge { limit } => write!(f, "decompressed data exceeds {limit} bytes"),
            Error::KernelCantUnpack {
                compression,
                config,
                supported,
            } => {
                let names: Vec<&str> = supported.iter().map(|c| c.name()).collect();
                write!(
                    f,
                    "the kernel can't unpack a {compression} initramfs: {} is not set in {} (supported: {})",
                    compression.config_option().unwrap_or("?"),
                    config.display(),
                    names.join(", ")
                )
            }
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {}

/// The largest output [`decompress`] produces: 4 GiB, far beyond any
/// initramfs, so a decompression bomb stops instead of exhausting memory.
pub const MAX_DECOMPRESSED: u64 = 4 << 30;

/// Compresses `data`. Deterministic: gzip headers carry no name and mtime 0.
pub fn compress(data: &[u8], compression: Compression) -> Result<Vec<u8>, Error> {
    use std::io::Write;
    let codec = |format: &'static str| {
        move |e: std::io::Error| Error::Codec {
            format,
            message: e.to_string(),
        }
    };
    match compression {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::best());
            enc.write_all(data).map_err(codec("gzip"))?;
            enc.finish().map_err(codec("gzip"))
        }
        Compression::Xz => {
            let mut options = lzma_rust2::XzOptions::with_preset(6);
            options.set_check_sum_type(lzma_rust2::CheckType::Crc32);
            let mut enc = lzma_rust2::XzWriter::new(Vec::new(), options).map_err(codec("xz"))?;
            enc.write_all(data).map_err(codec("xz"))?;
            enc.finish().map_err(codec("xz"))
        }
        Compression::Zstd => Ok(ruzstd::encoding::compress_to_vec(
            data,
            ruzstd::encoding::CompressionLevel::Fastest,
        )),
    }
}

/// Decompresses one stream of `format` at the start of `data`; returns the
/// output and how many input bytes the stream took (the rest may be padding
/// or another archive, as in a concatenated initramfs).
pub fn decompress(format: Format, data: &[u8]) -> Result<(Vec<u8>, usize), Error> {
    let codec = |format: &'static str| {
        move |e: std::io::Error| Error::Codec {
            format,
            message: e.to_string(),
        }
    };
    let mut rest = data;
    let mut out = Vec::new();
    match format {
        Format::Gzip => {
            let dec = flate2::bufread::GzDecoder::new(&mut rest);
            read_limited(dec, &mut out).map_err(codec("gzip"))?;
        }
        Format::Xz => {
            let dec = lzma_rust2::XzReader::new(&mut rest, false);
            read_limited(dec, &mut out).map_err(codec("xz"))?;
        }
        Format::Zstd => {
            let dec =
                ruzstd::decoding::StreamingDecoder::new(&mut rest).map_err(|e| Error::Codec {
                    format: "zstd",
                    message: e.to_string(),
                })?;
            read_limited(dec, &mut out).map_err(codec("zstd"))?;
        }
        other => return Err(Error::Unsupported(other)),
    }
    Ok((out, data.len() - rest.len()))
}

fn read_limited(reader: impl Read, out: &mut Vec<u8>) -> std::io::Result<()> {
    let n = reader.take(MAX_DECOMPRESSED + 1).read_to_end(out)?;
    if n as u64 > MAX_DECOMPRESSED {
        return Err(std::io::Error::other(format!(
            "output exceeds {MAX_DECOMPRESSED} bytes"
        )));
    }
    Ok(())
}

/// The `config-VER` file beside a `vmlinuz-VER` (or `vmlinux-VER`,
/// `image-VER`) kernel, if it exists.
pub fn kernel_config_beside(kernel: &Path) -> Option<PathBuf> {
    let name = kernel.file_name()?.to_str()?;
    let (_, version) = name.split_once('-')?;
    let config = kernel.with_file_name(format!("config-{version}"));
    config.is_file().then_some(config)
}

/// The compressions a kernel config text enables (`None` always).
pub fn supported_by_config(config: &str) -> Vec<Compression> {
    let enabled = |option: &str| {
        config.lines().any(|l| {
            l.trim()
                .strip_prefix(option)
                .and_then(|r| r.strip_prefix('='))
                .is_some_and(|v| v == "y")
        })
    };
    Compression::ALL
        .into_iter()
        .filter(|c| c.config_option().is_none_or(enabled))
        .collect()
}

/// Refuses `compression` unless the kernel config file at `config` enables
/// it (`CONFIG_RD_GZIP=y` and so on).
pub fn check_kernel_config(config: &Path, compression: Compression) -> Result<(), Error> {
    let text = std::fs::read_to_string(config).map_err(|source| Error::Io {
        path: config.to_path_buf(),
        source,
    })?;
    let supported = supported_by_config(&text);
    if supported.contains(&compression) {
        Ok(())
    } else {
        Err(Error::KernelCantUnpack {
            compression,
            config: config.to_path_buf(),
            supported,
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn round_trips_and_consumed_length() {
        let data = sample();
        for c in [Compression::Gzip, Compression::Xz, Compression::Zstd] {
            let packed = compress(&data, c).unwrap();
            assert!(packed.len() < data.len() / 2, "{c}: {}", packed.len());
            let format = Format::detect(&packed).unwrap();
            assert_eq!(format.name(), c.name());
            let mut with_tail = packed.clone();
            with_tail.extend_from_slice(&[0, 0, 0, 0]);
            with_tail.extend_from_slice(b"070701");
            let (out, used) = decompress(format, &with_tail).unwrap();
            assert_eq!(out, data, "{c}");
            assert_eq!(used, packed.len(), "{c}");
            // Deterministic.
            assert_eq!(compress(&data, c).unwrap(), packed);
        }
    }

    #[test]
    fn xz_uses_crc32_check() {
        let packed = compress(b"hello", Compression::Xz).unwrap();
        // Stream flags: byte 7 is the check type, 0x01 = CRC32.
        assert_eq!(packed[6..8], [0x00, 0x01]);
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        let packed = compress(&sample(), Compression::Gzip).unwrap();
        for c in [Compression::Gzip, Compression::Xz, Compression::Zstd] {
            let packed2 = compress(&sample(), c).unwrap();
            let format = Format::detect(&packed2).unwrap();
            for cut in [4, packed2.len() / 2, packed2.len() - 1] {
                assert!(
                    decompress(format, &packed2[..cut]).is_err(),
                    "{c} cut at {cut}"
                );
            }
        }
        let mut bad = packed.clone();
        bad[20] ^= 0xff;
        assert!(decompress(Format::Gzip, &bad).is_err());
        assert!(matches!(
            decompress(Format::Lz4, b"x"),
            Err(Error::Unsupported(Format::Lz4))
        ));
    }

    #[test]
    fn config_check() {
        let text = "CONFIG_RD_GZIP=y\n# CONFIG_RD_XZ is not set\nCONFIG_RD_ZSTD=m\n";
        assert_eq!(
            supported_by_config(text),
            [Compression::Gzip, Compression::None]
        );
        let dir = std::env::temp_dir().join(format!("nbi-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kernel = dir.join("vmlinuz-1.2.3-x");
        let config = dir.join("config-1.2.3-x");
        std::fs::write(&kernel, b"").unwrap();
        assert_eq!(kernel_config_beside(&kernel), None);
        std::fs::write(&config, text).unwrap();
        assert_eq!(kernel_config_beside(&kernel), Some(config.clone()));
        assert!(check_kernel_config(&config, Compression::Gzip).is_ok());
        let err = check_kernel_config(&config, Compression::Xz).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the kernel can't unpack a xz initramfs: CONFIG_RD_XZ is not set in {} (supported: gzip, none)",
                config.display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

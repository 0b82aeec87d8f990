//! The size table: the static `pxeinit` binary (with HTTPS, as in the
//! image, and without it), and what `pxelinux.0` adds to the bare kernel,
//! beside the s390-tools style image.

use std::process::Command;

use super::json::Json;
use crate::{kernel, output, target_dir, Result};

/// 1.5 MiB, the goal for what `pxelinux.0` adds to the kernel.
pub const GOAL: u64 = 1536 * 1024;
/// 2 MiB, the budget for the init with HTTPS (rustls, ring, the Mozilla
/// roots) built in.
pub const INIT_GOAL: u64 = 2048 * 1024;

/// The measured sizes.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// `pxeinit`, as built for the image (release profile, stripped).
    pub init_bytes: u64,
    /// What `file` says about it (None: `file` is not installed).
    pub init_file: Option<String>,
    /// The same without HTTPS (`--no-default-features`), or why not built.
    pub init_no_https: std::result::Result<u64, String>,
    /// The bare kernel image.
    pub kernel_bytes: u64,
    /// `pxelinux.0`.
    pub image_bytes: u64,
    /// Its initramfs (gzip).
    pub initramfs_bytes: u64,
    /// (b)'s image, or why it was not built.
    pub s390tools_image: std::result::Result<(u64, u64), String>,
}

impl Sizes {
    /// `pxelinux.0` minus the bare kernel.
    pub fn overhead(&self) -> u64 {
        self.image_bytes.saturating_sub(self.kernel_bytes)
    }

    /// Whether `file` calls the binary static (None if unknown).
    pub fn init_static(&self) -> Option<bool> {
        self.init_file
            .as_ref()
            .map(|f| f.contains("statically linked") || f.contains("static-pie"))
    }

    /// As JSON.
    pub fn json(&self) -> Json {
        Json::obj([
            ("goal_bytes", Json::Num(GOAL as f64)),
            ("pxeinit_bytes", Json::Num(self.init_bytes as f64)),
            (
                "pxeinit_file",
                self.init_file.clone().map_or(Json::Null, Json::Str),
            ),
            (
                "pxeinit_static",
                self.init_static().map_or(Json::Null, Json::Bool),
            ),
            ("pxeinit_goal_bytes", Json::Num(INIT_GOAL as f64)),
            ("pxeinit_goal_met", Json::Bool(self.init_bytes <= INIT_GOAL)),
            (
                "pxeinit_without_https_bytes",
                match &self.init_no_https {
                    Ok(b) => Json::Num(*b as f64),
                    Err(e) => Json::str(format!("not built: {e}")),
                },
            ),
            ("kernel_bytes", Json::Num(self.kernel_bytes as f64)),
            ("pxelinux0_bytes", Json::Num(self.image_bytes as f64)),
            (
                "pxelinux0_initramfs_bytes",
                Json::Num(self.initramfs_bytes as f64),
            ),
            (
                "pxelinux0_minus_kernel_bytes",
                Json::Num(self.overhead() as f64),
            ),
            ("pxelinux0_goal_met", Json::Bool(self.overhead() <= GOAL)),
            (
                "s390tools_image_minus_kernel_bytes",
                match &self.s390tools_image {
                    Ok((img, _)) => Json::Num(img.saturating_sub(self.kernel_bytes) as f64),
                    Err(e) => Json::str(format!("not built: {e}")),
                },
            ),
        ])
    }

    /// The BENCHMARKS.md section.
    pub fn markdown(&self) -> String {
        let n = |v: u64| {
            let s = v.to_string();
            let groups: Vec<&str> = s
                .as_bytes()
                .rchunks(3)
                .rev()
                .map(|g| std::str::from_utf8(g).unwrap_or("?"))
                .collect();
            groups.join(",")
        };
        let mib = |v: u64| format!("{:.2} MiB", v as f64 / 1048576.0);
        let status = |v: u64, goal: u64| {
            let g = if goal == INIT_GOAL {
                "≤ 2 MiB"
            } else {
                "≤ 1.5 MiB"
            };
            if v <= goal {
                format!("{g}: met")
            } else {
                format!("{g}: **not met**")
            }
        };
        let mut md = String::from("| artefact | bytes | | goal |\n|---|---:|---:|---|\n");
        md.push_str(&format!(
            "| `pxeinit` static s390x binary with HTTPS (the image's), stripped{} | {} | {} | {} |\n",
            match self.init_static() {
                Some(true) => " (`file`: statically linked)",
                Some(false) => " (`file`: **not** statically linked)",
                None => "",
            },
            n(self.init_bytes),
            mib(self.init_bytes),
            status(self.init_bytes, INIT_GOAL)
        ));
        match &self.init_no_https {
            Ok(b) => md.push_str(&format!(
                "| the same without HTTPS (`--no-default-features`) | {} | {} | |\n",
                n(*b),
                mib(*b)
            )),
            Err(e) => md.push_str(&format!(
                "| the same without HTTPS | not built: {e} | | |\n"
            )),
        }
        md.push_str(&format!(
            "| `pxelinux.0` minus the bare kernel ({} − {}; the gzip initramfs is {}) | {} | {} | {} |\n",
            n(self.image_bytes),
            n(self.kernel_bytes),
            n(self.initramfs_bytes),
            n(self.overhead()),
            mib(self.overhead()),
            status(self.overhead(), GOAL)
        ));
        match &self.s390tools_image {
            Ok((img, initramfs)) => md.push_str(&format!(
                "| for comparison: (b)'s s390-tools style image minus the kernel \
                 (busybox, kexec-tools, glibc; gzip initramfs {}) | {} | {} | |\n",
                n(*initramfs),
                n(img.saturating_sub(self.kernel_bytes)),
                mib(img.saturating_sub(self.kernel_bytes))
            )),
            Err(e) => md.push_str(&format!("\n(b)'s image was not built: {e}\n")),
        }
        md
    }
}

/// Build and measure.
pub fn measure() -> Result<Sizes> {
    let k = kernel::ensure()?;
    let init = crate::build_init()?;
    let init_bytes = std::fs::metadata(&init)
        .map_err(|e| format!("{}: {e}", init.display()))?
        .len();
    let init_file = output(Command::new("file").arg("-b").arg(&init)).ok();
    let no_https_dir = target_dir().join("bench/size-no-https");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let init_no_https = crate::run(
        Command::new(cargo)
            .current_dir(crate::root())
            .env("CARGO_TARGET_DIR", &no_https_dir)
            .args([
                "build",
                "--quiet",
                "--release",
                "-p",
                "pxeinit",
                "--no-default-features",
            ])
            .args(["--target", crate::TARGET]),
    )
    .and_then(|()| {
        let p = no_https_dir.join(crate::TARGET).join("release/pxeinit");
        Ok(std::fs::metadata(&p)
            .map_err(|e| format!("{}: {e}", p.display()))?
            .len())
    });
    let dir = target_dir().join("bench/size");
    let img = crate::image(&dir, crate::DEFAULT_CMDLINE)?;
    let data = std::fs::read(&img).map_err(|e| format!("{}: {e}", img.display()))?;
    let parsed = netboot_image::s390::KernelImage::parse(&data).map_err(|e| e.to_string())?;
    let initramfs_bytes = parsed.initrd().map_or(0, |(_, size)| size);
    let kernel_bytes = std::fs::metadata(&k.vmlinuz)
        .map_err(|e| format!("{}: {e}", k.vmlinuz.display()))?
        .len();
    let s390tools_image =
        super::s390tools::image(&k, &dir.join("s390-tools.0"), crate::DEFAULT_CMDLINE).and_then(
            |b| {
                let len = std::fs::metadata(&b.image)
                    .map_err(|e| format!("{}: {e}", b.image.display()))?
                    .len();
                Ok((len, b.initramfs_bytes as u64))
            },
        );
    Ok(Sizes {
        init_bytes,
        init_file,
        init_no_https,
        kernel_bytes,
        image_bytes: data.len() as u64,
        initramfs_bytes,
        s390tools_image,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn overhead_and_goals() {
        let s = Sizes {
            init_bytes: INIT_GOAL + 1,
            init_no_https: Ok(GOAL),
            init_file: Some(
                "ELF 64-bit MSB executable, IBM S/390, statically linked, stripped".into(),
            ),
            kernel_bytes: 5_000_000,
            image_bytes: 6_000_000,
            initramfs_bytes: 999_000,
            s390tools_image: Err("offline".into()),
        };
        assert_eq!(s.overhead(), 1_000_000);
        assert_eq!(s.init_static(), Some(true));
        let md = s.markdown();
        assert!(
            md.contains("| 2,097,153 | 2.00 MiB | ≤ 2 MiB: **not met** |"),
            "{md}"
        );
        assert!(
            md.contains("without HTTPS (`--no-default-features`) | 1,572,864 | 1.50 MiB |"),
            "{md}"
        );
        assert!(
            md.contains("| 1,000,000 | 0.95 MiB | ≤ 1.5 MiB: met |"),
            "{md}"
        );
        assert!(md.contains("not built: offline"), "{md}");
    }
}

//! A bootable "local disk" for LOCALBOOT tests: an ISO-9660 image whose
//! El Torito boot entry is a combined kernel+initrd image.
//!
//! QEMU's s390-ccw firmware IPLs a virtio-blk-ccw (or virtio-scsi CD) disk
//! holding such an ISO: it reads the boot catalog, loads the no-emulation
//! entry whole and starts it like a combined image from the network, with
//! the command line embedded in the image (see
//! `../shared/notes/s390x-qemu-facts.md`). That makes a cheap stand-in for
//! an installed system's disk: attach it with
//!
//! ```text
//! -drive file=disk.iso,if=none,id=d0,format=raw,readonly=on
//! -device virtio-blk-ccw,drive=d0,devno=fe.0.0005
//! ```
//!
//! and a re-IPL from CCW device `0.0.0005` boots it.
//!
//! ```text
//! disk.iso (ISO-9660, xorriso -as mkisofs)
//! ├── boot catalog ── entry: no emulation, load images/cdboot.img
//! └── images/cdboot.img = kernel (S390EP at 0x10008)
//!                         + command line in the parm area at 0x10480
//!                         + initrd (offset and size at 0x10408/0x10410)
//! ```

use std::path::Path;
use std::process::Command;

use crate::{output, Result};

/// The El Torito boot image's path inside the ISO.
pub const BOOT_IMAGE: &str = "images/cdboot.img";

/// Write to `out` an ISO-9660 image that QEMU's s390-ccw firmware boots:
/// `kernel` (an s390x image) combined with `initrd` and `cmdline`, placed
/// as [`BOOT_IMAGE`] and named by the El Torito boot catalog
/// (`xorriso -as mkisofs -b images/cdboot.img -no-emul-boot`).
pub fn bootable_iso(out: &Path, kernel: &[u8], initrd: &[u8], cmdline: &str) -> Result<()> {
    let img = netboot_image::s390::combine(kernel, &[initrd], Some(cmdline))
        .map_err(|e| format!("combining the disk's boot image: {e}"))?;
    let name = out
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", out.display()))?
        .to_string_lossy()
        .into_owned();
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    // The ISO's contents are staged beside the output, then removed; the
    // ISO is written beside it too and renamed onto it, so that a test
    // building the same disk at the same time never sees half of one.
    let stage = crate::staging(&parent.join(format!(".{name}.tree")));
    let boot = stage.join(BOOT_IMAGE);
    if let Some(d) = boot.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(&boot, &img).map_err(|e| format!("{}: {e}", boot.display()))?;
    let iso = crate::staging(out);
    let r = output(
        Command::new("xorriso")
            .args(["-as", "mkisofs", "-quiet", "-V", "PXEINIT_LOCAL", "-R"])
            .args(["-b", BOOT_IMAGE, "-no-emul-boot"])
            .arg("-o")
            .arg(&iso)
            .arg(&stage),
    )
    .map_err(|e| format!("{e} (is xorriso installed? apt-get install xorriso)"));
    let _ = std::fs::remove_dir_all(&stage);
    if let Err(e) = r {
        let _ = std::fs::remove_file(&iso);
        return Err(e);
    }
    std::fs::rename(&iso, out).map_err(|e| format!("{}: {e}", out.display()))
}

/// The marker and command line of [`marker_disk`]'s kernel.
pub const DEFAULT_MARKER: &str = "LOCAL-DISK-BOOTED";

/// Write to `out` a local disk whose kernel (Debian's) runs a busybox
/// /init that prints `marker`, `DISK-CMDLINE: <its /proc/cmdline>`, and
/// powers the guest off.
pub fn marker_disk(out: &Path, marker: &str, cmdline: &str) -> Result<()> {
    let k = crate::kernel::ensure()?;
    let kernel = std::fs::read(&k.vmlinuz).map_err(|e| format!("{}: {e}", k.vmlinuz.display()))?;
    let script = format!(
        "/bin/busybox mkdir -p /proc\n\
         /bin/busybox mount -t proc proc /proc\n\
         echo \"{marker}\"\n\
         echo \"DISK-CMDLINE: $(/bin/busybox cat /proc/cmdline)\"\n\
         halt_now poweroff\n"
    );
    let initrd = crate::payload::busybox_initrd(&script)?;
    bootable_iso(out, &kernel, &initrd, cmdline)
}

#[cfg(test)]
mod test {
    use super::*;

    /// A fake "kernel" big enough to hold the s390 parm area, with the
    /// `S390EP` signature at 0x10008.
    fn fake_kernel() -> Vec<u8> {
        let mut k = vec![0u8; 0x11000];
        k[0x10008..0x1000e].copy_from_slice(b"S390EP");
        k
    }

    #[test]
    fn iso_has_el_torito_entry_and_the_image() {
        if Command::new("xorriso").arg("-version").output().is_err() {
            netboot_image::testenv::skip_or_fail(
                "iso_has_el_torito_entry_and_the_image",
                "xorriso not installed (cargo xtask test installs it)",
                netboot_image::testenv::REQUIRE_ROOT_VAR,
            );
            return;
        }
        let dir = crate::target_dir().join("tmp/disk-test");
        let _ = std::fs::remove_dir_all(&dir);
        let iso = dir.join("d.iso");
        bootable_iso(&iso, &fake_kernel(), b"INITRD", "console=ttysclp0 x=1").expect("iso");
        let data = std::fs::read(&iso).expect("read iso");
        // ISO-9660 primary volume descriptor at sector 16, El Torito boot
        // record at sector 17.
        assert_eq!(&data[0x8001..0x8006], b"CD001");
        assert_eq!(&data[0x8801..0x8806], b"CD001");
        assert_eq!(&data[0x8807..0x8807 + 23], b"EL TORITO SPECIFICATION");
        // The boot catalog's default entry: bootable (0x88), no emulation
        // (0), its load RBA pointing at our combined image.
        let cat =
            u32::from_le_bytes(data[0x8847..0x884b].try_into().expect("4 bytes")) as usize * 2048;
        let entry = &data[cat + 32..cat + 64];
        assert_eq!(entry[0], 0x88);
        assert_eq!(entry[1], 0);
        let rba = u32::from_le_bytes(entry[8..12].try_into().expect("4 bytes")) as usize * 2048;
        assert_eq!(&data[rba + 0x10008..rba + 0x1000e], b"S390EP");
        let img = netboot_image::s390::KernelImage::parse(&data[rba..]).expect("parse image");
        assert!(
            img.cmdline().starts_with("console=ttysclp0 x=1"),
            "{:?}",
            img.cmdline()
        );
        let left: Vec<_> = std::fs::read_dir(&dir)
            .expect("read dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["d.iso"], "staging files left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

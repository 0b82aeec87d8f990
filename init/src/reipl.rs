//! LOCALBOOT on s390x: set the re-IPL device and reboot, as `chreipl ccw`
//! does, through /sys/firmware/reipl.
//!
//! `ccw/clear` is set to 1: with 0 the kernel re-IPLs with DIAG 308
//! subcode 4, which QEMU 7.2 rejects (the guest stops in a disabled wait);
//! subcode 3 (clear) works on QEMU and on LPAR/z/VM alike.

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

const REIPL: &str = "/sys/firmware/reipl";

/// Why the re-IPL could not be set up.
#[derive(Debug)]
pub struct ReiplError {
    /// What failed (file or step).
    pub what: String,
    /// Cause.
    pub err: io::Error,
}

impl fmt::Display for ReiplError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LOCALBOOT: {}: {}", self.what, self.err)
    }
}

impl std::error::Error for ReiplError {}

/// The first virtio block device on the CCW bus (virtio device id 2),
/// found through sysfs; works before the virtio_blk driver is loaded.
pub fn detect_disk() -> Option<String> {
    let mut found = Vec::new();
    for e in fs::read_dir("/sys/bus/ccw/devices").ok()?.flatten() {
        let bus_id = e.file_name().to_string_lossy().into_owned();
        let Ok(sub) = fs::read_dir(e.path()) else {
            continue;
        };
        for s in sub.flatten() {
            if !s.file_name().to_string_lossy().starts_with("virtio") {
                continue;
            }
            let id = fs::read_to_string(s.path().join("device")).unwrap_or_default();
            if u32::from_str_radix(id.trim().trim_start_matches("0x"), 16) == Ok(2) {
                found.push(bus_id.clone());
            }
        }
    }
    found.sort();
    found.into_iter().next()
}

fn write(rel: &str, value: &str) -> Result<(), ReiplError> {
    let p = Path::new(REIPL).join(rel);
    fs::write(&p, value).map_err(|err| ReiplError {
        what: format!("writing {value:?} to {}", p.display()),
        err,
    })
}

/// Point the re-IPL at CCW device `busid` (e.g. `0.0.0005`) with `loadparm`.
pub fn set_ccw(busid: &str, loadparm: &str) -> Result<(), ReiplError> {
    write("ccw/device", busid)?;
    if Path::new(REIPL).join("ccw/loadparm").exists() {
        write("ccw/loadparm", loadparm)?;
    }
    if Path::new(REIPL).join("ccw/clear").exists() {
        write("ccw/clear", "1")?;
    }
    write("reipl_type", "ccw")
}

/// Reboot into the configured re-IPL. Returns only on failure.
pub fn reboot() -> ReiplError {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    match nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_AUTOBOOT) {
        Ok(never) => match never {},
        Err(e) => ReiplError {
            what: "reboot(RB_AUTOBOOT)".into(),
            err: io::Error::from(e),
        },
    }
}

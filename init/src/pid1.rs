//! Running as PID 1: early mounts, console, modules, then the boot loop
//! with the failure policy. Nothing here returns: PID 1 exiting panics the
//! kernel. A Rust panic (the release build aborts on panic) is caught by a
//! hook that reports it and re-executes pxeinit, which applies the same
//! retry policy from a clean state.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use log::{error, info, warn};
use nix::mount::{mount, MsFlags};

use crate::boot::{self, Next};
use crate::cmdline::{self, OnFail, Settings};

/// Modules the network boot needs (dependencies come from modules.dep).
pub const MODULES: &[&str] = &["virtio_net"];

fn mount_one(src: &str, target: &str, fstype: &str, flags: MsFlags, data: Option<&str>) {
    let _ = std::fs::create_dir_all(target);
    match mount(Some(src), target, Some(fstype), flags, data) {
        Ok(()) => {}
        Err(nix::errno::Errno::EBUSY) => {}
        Err(e) => eprintln!("pxeinit: mount {fstype} on {target} failed: {e}"),
    }
}

fn early_mounts() {
    let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    mount_one(
        "devtmpfs",
        "/dev",
        "devtmpfs",
        MsFlags::MS_NOSUID,
        Some("mode=0755"),
    );
    mount_one("proc", "/proc", "proc", nosuid, None);
    mount_one("sysfs", "/sys", "sysfs", nosuid, None);
    mount_one(
        "tmpfs",
        "/run",
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0755"),
    );
}

/// Make /dev/console our stdin, stdout and stderr.
fn console() {
    if let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/console")
    {
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors, which we own as PID 1.
            unsafe { libc::dup2(f.as_raw_fd(), fd) };
        }
    }
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("pxeinit: internal error: {info}");
        eprintln!("pxeinit: restarting in 5 s");
        std::thread::sleep(Duration::from_secs(5));
        restart();
    }));
}

/// Re-execute ourselves (keeps PID 1).
fn restart() {
    let exe = CString::new("/proc/self/exe").unwrap_or_default();
    let arg0 = CString::new("/init").unwrap_or_default();
    let _ = nix::unistd::execv(&exe, &[arg0]);
    // If exec fails there is nothing better to do than wait for an operator.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn power(mode: nix::sys::reboot::RebootMode) -> ! {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    let Err(e) = nix::sys::reboot::reboot(mode);
    error!("reboot({mode:?}) failed: {e}");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn shell() {
    for sh in ["/bin/sh", "/bin/busybox"] {
        if Path::new(sh).exists() {
            warn!("starting {sh}; exit it to retry the boot");
            let _ = std::process::Command::new(sh).status();
            return;
        }
    }
    warn!("pxe.onfail=shell but no /bin/sh in the initramfs; retrying");
}

/// Retry delay: 5, 10, 20, 40, then 60 s.
pub fn retry_delay(attempt: u32) -> Duration {
    Duration::from_secs((5u64 << attempt.min(4)).min(60))
}

/// The PID 1 entry point.
pub fn main() -> ! {
    early_mounts();
    console();
    let line = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let settings = cmdline::parse(&line);
    crate::logging::init(settings.debug);
    install_panic_hook();
    info!("pxeinit {} starting", env!("CARGO_PKG_VERSION"));
    for w in &settings.warnings {
        warn!("kernel command line: {w}");
    }
    let dir = crate::modules::modules_dir();
    match crate::modules::load(&dir, MODULES) {
        Ok(l) => info!("phase modules done: loaded {}", l.join(", ")),
        Err(e) => warn!("modules: {e} (continuing: the drivers may be built in)"),
    }
    run(settings)
}

fn run(settings: Settings) -> ! {
    let uuid = boot::machine_uuid();
    if let Some(u) = &uuid {
        info!("machine UUID {u}");
    }
    let opts = boot::Options {
        settings: settings.clone(),
        dry_run: false,
        uuid,
        dhcp_limit: None,
        interactive: true,
    };
    let mut attempt = 0u32;
    let first_failure = std::time::Instant::now();
    loop {
        match boot::prepare(&opts, None) {
            Ok(p) => match p.next {
                Next::Kexec => {
                    info!("kexec: booting the new kernel");
                    let e = crate::kexec::execute();
                    error!("{e}");
                }
                Next::LocalBoot(dev) => {
                    info!("LOCALBOOT: re-IPL from CCW device {dev}");
                    match crate::reipl::set_ccw(&dev, "") {
                        Ok(()) => {
                            let e = crate::reipl::reboot();
                            error!("{e}");
                        }
                        Err(e) => error!("{e}"),
                    }
                }
                Next::DryRun => {}
            },
            Err(e) => error!("boot failed: {e}"),
        }
        attempt += 1;
        let limit = settings.retries.unwrap_or(0);
        let exhausted = limit > 0 && attempt >= limit;
        match settings.onfail {
            OnFail::Reboot if exhausted || limit == 0 => {
                error!("pxe.onfail=reboot: rebooting");
                power(nix::sys::reboot::RebootMode::RB_AUTOBOOT)
            }
            OnFail::Poweroff if exhausted || limit == 0 => {
                error!("pxe.onfail=poweroff: powering off");
                power(nix::sys::reboot::RebootMode::RB_POWER_OFF)
            }
            OnFail::Shell => shell(),
            _ => {}
        }
        // DHCP option 211, as PXELINUX: give up and reboot (re-IPL from the
        // network) after that many seconds of failing.
        let reboot_time = boot::REBOOT_TIME.load(std::sync::atomic::Ordering::Relaxed);
        if reboot_time > 0 && first_failure.elapsed().as_secs() >= u64::from(reboot_time) {
            error!("failing for {reboot_time} s (DHCP option 211): rebooting");
            power(nix::sys::reboot::RebootMode::RB_AUTOBOOT)
        }
        let d = retry_delay(attempt - 1);
        error!("retrying in {} s (attempt {})", d.as_secs(), attempt + 1);
        std::thread::sleep(d);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn delays() {
        let v: Vec<u64> = (0..7).map(|a| retry_delay(a).as_secs()).collect();
        assert_eq!(v, [5, 10, 20, 40, 60, 60, 60]);
    }
}

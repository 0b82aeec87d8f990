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

use crate::boot;
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

/// What the failure policy says after a failed boot attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Wait, then try again.
    Retry(Duration),
    /// Reboot (re-IPL from the network), saying why.
    Reboot(&'static str),
    /// Power off.
    Poweroff,
    /// Start a shell, then try again.
    Shell,
}

/// The failure policy, after `failed` attempts (1 or more) that have been
/// failing for `failing_for`:
///
/// - DHCP option 211 (`reboot_time`, seconds), as PXELINUX: after that
///   long, reboot, whatever `pxe.onfail` says.
/// - `pxe.onfail=retry` (default): retry for ever.
/// - `pxe.onfail=reboot|poweroff|shell`: applies once `pxe.retries`
///   attempts have failed; `pxe.retries` defaults to 1 (the first failure)
///   and `pxe.retries=0` means never (retry for ever).
/// - Retries wait 5, 10, 20, 40, then 60 s.
pub fn after_failure(
    onfail: OnFail,
    retries: Option<u32>,
    failed: u32,
    failing_for: Duration,
    reboot_time: Option<u32>,
) -> Verdict {
    if let Some(t) = reboot_time.filter(|t| *t > 0) {
        if failing_for >= Duration::from_secs(u64::from(t)) {
            return Verdict::Reboot("failing for longer than DHCP option 211 allows");
        }
    }
    let limit = retries.unwrap_or(1);
    let exhausted = limit > 0 && failed >= limit;
    match onfail {
        OnFail::Reboot if exhausted => Verdict::Reboot("pxe.onfail=reboot"),
        OnFail::Poweroff if exhausted => Verdict::Poweroff,
        OnFail::Shell if exhausted => Verdict::Shell,
        _ => Verdict::Retry(retry_delay(failed.saturating_sub(1))),
    }
}

fn run(settings: Settings) -> ! {
    let uuid = boot::machine_uuid();
    if let Some(u) = &uuid {
        info!("machine UUID {u}");
    }
    let mut opts = boot::Options {
        settings: settings.clone(),
        dry_run: false,
        uuid,
        dhcp_limit: None,
        interactive: true,
        interface: None,
        reset_devices: false,
        trust: crate::verify::Trust::image().unless_off(settings.verify_off),
    };
    let mut failed = 0u32;
    let mut reboot_time = None;
    let first_failure = std::time::Instant::now();
    loop {
        match boot::System::prepare(&opts) {
            Ok(p) => {
                reboot_time = p.reboot_time.or(reboot_time);
                if let Some(e) = p.execute() {
                    error!("{e}");
                }
            }
            Err(e) => error!("boot failed: {e}"),
        }
        failed += 1;
        opts.reset_devices = true;
        match after_failure(
            settings.onfail,
            settings.retries,
            failed,
            first_failure.elapsed(),
            reboot_time,
        ) {
            Verdict::Reboot(why) => {
                error!("{why}: rebooting");
                power(nix::sys::reboot::RebootMode::RB_AUTOBOOT)
            }
            Verdict::Poweroff => {
                error!("pxe.onfail=poweroff: powering off");
                power(nix::sys::reboot::RebootMode::RB_POWER_OFF)
            }
            Verdict::Shell => shell(),
            Verdict::Retry(d) => {
                error!("retrying in {} s (attempt {})", d.as_secs(), failed + 1);
                std::thread::sleep(d);
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// The policy matrix: onfail × retries × option 211.
    #[test]
    fn failure_policy_matrix() {
        use OnFail::*;
        let min = Duration::from_secs(60);
        let r = |a: u32| Verdict::Retry(retry_delay(a - 1));
        type Case = (OnFail, Option<u32>, u32, Duration, Option<u32>, Verdict);
        let cases: &[Case] = &[
            // retry: for ever, with backoff.
            (Retry, None, 1, min, None, r(1)),
            (Retry, Some(3), 5, min, None, r(5)),
            (Retry, Some(0), 9, min, None, r(9)),
            // reboot: after the first failure by default ...
            (
                Reboot,
                None,
                1,
                min,
                None,
                Verdict::Reboot("pxe.onfail=reboot"),
            ),
            // ... after N with pxe.retries=N ...
            (Reboot, Some(3), 1, min, None, r(1)),
            (Reboot, Some(3), 2, min, None, r(2)),
            (
                Reboot,
                Some(3),
                3,
                min,
                None,
                Verdict::Reboot("pxe.onfail=reboot"),
            ),
            // ... never with pxe.retries=0 (documented as "forever").
            (Reboot, Some(0), 1, min, None, r(1)),
            (Reboot, Some(0), 100, min, None, r(100)),
            (Poweroff, None, 1, min, None, Verdict::Poweroff),
            (Poweroff, Some(2), 1, min, None, r(1)),
            (Poweroff, Some(2), 2, min, None, Verdict::Poweroff),
            (Shell, None, 1, min, None, Verdict::Shell),
            (Shell, Some(0), 4, min, None, r(4)),
            // option 211 overrides everything once exceeded ...
            (
                Retry,
                None,
                1,
                min,
                Some(30),
                Verdict::Reboot("failing for longer than DHCP option 211 allows"),
            ),
            (
                Poweroff,
                Some(0),
                1,
                min,
                Some(60),
                Verdict::Reboot("failing for longer than DHCP option 211 allows"),
            ),
            // ... and not before; 0 means no limit.
            (Retry, None, 1, min, Some(61), r(1)),
            (Retry, None, 1, min, Some(0), r(1)),
        ];
        for &(onfail, retries, failed, t, opt211, want) in cases {
            assert_eq!(
                after_failure(onfail, retries, failed, t, opt211),
                want,
                "onfail={onfail:?} retries={retries:?} failed={failed} t={t:?} 211={opt211:?}"
            );
        }
    }

    #[test]
    fn delays() {
        let v: Vec<u64> = (0..7).map(|a| retry_delay(a).as_secs()).collect();
        assert_eq!(v, [5, 10, 20, 40, 60, 60, 60]);
    }
}

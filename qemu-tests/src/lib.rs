//! Shared fixtures for the end-to-end boots in `tests/`: the image is
//! built once per test binary, and QEMU runs one at a time (TCG is CPU
//! bound; parallel guests would distort the timing assertions).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

pub use xtask::qemu::{Console, Guest};

pub mod libvirt;

/// The first-stage command line used by the tests.
pub const CMDLINE: &str = "console=ttysclp0 quiet";

/// `pxelinux.0`, built once (from this checkout) per test binary.
pub fn pxelinux0() -> PathBuf {
    static IMG: OnceLock<PathBuf> = OnceLock::new();
    IMG.get_or_init(|| {
        let dir = xtask::target_dir().join("qemu-tests/image");
        xtask::image(&dir, CMDLINE).unwrap_or_else(|e| panic!("building pxelinux.0: {e}"))
    })
    .clone()
}

/// Whether `test` can run: every program it names must be listed in
/// `xtask/packages.txt` (so `cargo xtask test` installs it; a test naming
/// one that is not fails) and installed (else the test skips, or fails
/// under `PXEINIT_REQUIRE_ROOT_TESTS=1`).
pub fn need(test: &str, programs: &[&str]) -> bool {
    for p in ["qemu-system-s390x"].iter().chain(programs) {
        assert!(
            xtask::deps::listed(p),
            "{test} needs {p}, which xtask/packages.txt does not list"
        );
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .any(|d| d.join(p).is_file());
        if !found {
            netboot_image::testenv::skip_or_fail(
                test,
                &format!("{p} not installed (cargo xtask test installs it)"),
                netboot_image::testenv::REQUIRE_ROOT_VAR,
            );
            return false;
        }
    }
    true
}

/// Serialise QEMU runs.
pub fn qemu_lock() -> MutexGuard<'static, ()> {
    static L: Mutex<()> = Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh TFTP root named `name` holding `pxelinux.0`.
pub fn tftp_root(name: &str) -> PathBuf {
    let root = xtask::target_dir().join("qemu-tests").join(name);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("pxelinux.cfg")).expect("mkdir");
    std::fs::copy(pxelinux0(), root.join("pxelinux.0")).expect("copy pxelinux.0");
    root
}

/// Write `content` to `root/rel`, creating directories.
pub fn put(root: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = root.join(rel);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(&p, content).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

/// The Debian s390x kernel image.
pub fn debian_kernel() -> Vec<u8> {
    let k = xtask::kernel::ensure().unwrap_or_else(|e| panic!("kernel: {e}"));
    std::fs::read(&k.vmlinuz).expect("read vmlinuz")
}

/// A target initrd: Debian's busybox runs a script that prints `marker`,
/// the command line, and powers off.
pub fn busybox_target(marker: &str) -> Vec<u8> {
    let script = format!(
        "/bin/busybox mount -t proc proc /proc 2>/dev/null || (/bin/busybox mkdir -p /proc && /bin/busybox mount -t proc proc /proc)\n\
         echo \"{marker}\"\n\
         echo \"TARGET-CMDLINE: $(/bin/busybox cat /proc/cmdline)\"\n\
         halt_now poweroff\n"
    );
    xtask::payload::busybox_initrd(&script).unwrap_or_else(|e| panic!("busybox payload: {e}"))
}

/// The printk timestamp (seconds, the kernel's own clock) of a console
/// line like `[    2.990000] Linux version ...`.
pub fn printk_time(line: &str) -> Option<f64> {
    let rest = &line[line.find('[')? + 1..];
    rest[..rest.find(']')?].trim().parse().ok()
}

/// `pxelinux.0` built with the first-stage command line `cmdline` into
/// its own directory `target/qemu-tests/image-<name>/` (for tests of
/// command-line keys such as `pxe.label=`; [`pxelinux0`] is the usual one).
pub fn pxelinux0_with(name: &str, cmdline: &str) -> PathBuf {
    let dir = xtask::target_dir().join(format!("qemu-tests/image-{name}"));
    xtask::image(&dir, cmdline).unwrap_or_else(|e| panic!("building pxelinux.0 ({cmdline:?}): {e}"))
}

/// A fresh TFTP root named `name` holding `image` as `pxelinux.0` and an
/// empty `pxelinux.cfg/`.
pub fn tftp_root_with(name: &str, image: &Path) -> PathBuf {
    let root = xtask::target_dir().join("qemu-tests").join(name);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("pxelinux.cfg")).expect("mkdir");
    std::fs::copy(image, root.join("pxelinux.0")).expect("copy pxelinux.0");
    root
}

/// A bootable "local disk" (ISO-9660 with a combined kernel+initrd as its
/// El Torito entry, see `xtask::disk`) whose busybox /init prints `marker`
/// and `DISK-CMDLINE: ...`, then powers off. Built once per marker.
pub fn local_disk(marker: &str) -> PathBuf {
    let p = xtask::target_dir().join(format!(
        "qemu-tests/disks/{}.iso",
        marker.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ));
    xtask::disk::marker_disk(&p, marker, "console=ttysclp0 quiet local.disk=1")
        .unwrap_or_else(|e| panic!("building the local disk: {e}"));
    p
}

/// QEMU arguments that attach `iso` read-only as a virtio-blk-ccw disk at
/// device number `0.0.<devno>` (e.g. `"0005"`).
pub fn disk_args(iso: &Path, devno: &str) -> Vec<String> {
    vec![
        "-drive".into(),
        format!(
            "file={},if=none,id=d0,format=raw,readonly=on",
            iso.display()
        ),
        "-device".into(),
        format!("virtio-blk-ccw,drive=d0,devno=fe.0.{devno}"),
    ]
}

/// The `netboot-image` CLI binary, built (once per test binary) from this
/// checkout into the shared target directory.
pub fn netboot_image_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = std::process::Command::new(cargo)
            .current_dir(xtask::root())
            .args([
                "build",
                "--quiet",
                "-p",
                "netboot-image",
                "--bin",
                "netboot-image",
            ])
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
        assert!(st.success(), "cargo build -p netboot-image failed: {st}");
        xtask::target_dir().join("debug/netboot-image")
    })
    .clone()
}

/// Assert that the console shows every string of `need`, in this order.
/// The message starts with how the run ended, the lines that led to a
/// kernel panic if there was one, and the console's last lines (a long
/// console is cut in the middle by CI logs), then the whole console.
pub fn assert_in_order(con: &Console, need: &[&str]) {
    let text = con.text();
    let mut from = 0usize;
    for n in need {
        match con.lines[from..].iter().position(|(_, l)| l.contains(n)) {
            Some(i) => from += i + 1,
            None => {
                let anywhere = text.contains(n);
                let show = |lines: &[(f64, String)]| {
                    lines
                        .iter()
                        .map(|(t, l)| format!("  [{t:7.3}] {l}\n"))
                        .collect::<String>()
                };
                let tail = show(&con.lines[con.lines.len().saturating_sub(12)..]);
                panic!(
                    "console lacks {n:?}{}; {}; {}its last lines:\n{tail}the whole console:\n{text}",
                    if anywhere {
                        " after the lines before it"
                    } else {
                        ""
                    },
                    ending(con),
                    panic_lines(con)
                        .map(|p| format!("the kernel panicked:\n{}", show(p)))
                        .unwrap_or_default(),
                )
            }
        }
    }
}

/// The lines that lead to the console's first kernel panic: the fault
/// report a dying process leaves (s390's "User process fault", its PSW and
/// registers) comes up to 24 lines before "Kernel panic".
fn panic_lines(con: &Console) -> Option<&[(f64, String)]> {
    let at = con
        .lines
        .iter()
        .position(|(_, l)| l.contains("Kernel panic"))?;
    let start = con.lines[..at]
        .iter()
        .rposition(|(_, l)| l.contains("User process fault") || l.contains("Oops"))
        .filter(|&s| at - s <= 24)
        .unwrap_or(at.saturating_sub(8));
    Some(&con.lines[start..(at + 2).min(con.lines.len())])
}

/// How a run ended, in words.
fn ending(con: &Console) -> String {
    let last = con.lines.last().map(|l| l.0).unwrap_or(0.0);
    if con.exited {
        format!("QEMU exited by itself, last line at {last:.1} s")
    } else {
        format!(
            "QEMU was stopped (a line awaited came, or the time limit), last line at {last:.1} s"
        )
    }
}

/// Wait until the nginx `child`, started with `pid DIR/nginx.pid` and
/// `-e DIR/nginx-error.log`, serves 127.0.0.1:`port`. The port answering
/// is not enough: it was free when picked, and something could have taken
/// it before nginx bound it. nginx writes its pid file only once it has
/// bound its port. Panics with nginx's error log if it exits, or after 10 s.
pub fn wait_nginx(child: &mut std::process::Child, dir: &Path, port: u16) {
    let t0 = std::time::Instant::now();
    let limit = std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < limit, "nginx did not listen on {port}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    while !dir.join("nginx.pid").exists() {
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "nginx exited ({st}) after port {port} answered: {}",
                std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default()
            );
        }
        assert!(t0.elapsed() < limit, "nginx wrote no pid file");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Assert that no console line contains `bad`.
pub fn assert_absent(con: &Console, bad: &str) {
    if let Some((t, l)) = con.find(bad) {
        panic!("console shows {bad:?} at {t:.1} s ({l}):\n{}", con.text());
    }
}

/// The TFTP root's `pxelinux.cfg/01-<mac>` name for `mac` (`52:54:00:...`).
pub fn mac_file(mac: &str) -> String {
    format!(
        "pxelinux.cfg/01-{}",
        mac.to_ascii_lowercase().replace(':', "-")
    )
}

/// Print how long a scenario took (visible with `--nocapture`).
pub fn report(name: &str, con: &Console) {
    eprintln!("{name}: {}, {} console lines", ending(con), con.lines.len());
}

/// Whether to print the console as it comes (`QEMU_ECHO=1`).
pub fn echo() -> bool {
    std::env::var_os("QEMU_ECHO").is_some_and(|v| v != "0")
}

/// Boot `pxelinux.0` from `root` over slirp with `mac` (and `uuid`), until
/// a line contains one of `until` or a boot attempt fails (pxeinit's
/// "retrying in" line), within `secs` seconds.
pub fn netboot(root: &Path, mac: &str, uuid: Option<&str>, until: &[&str], secs: u64) -> Console {
    let mut stop: Vec<&str> = until.to_vec();
    stop.push("retrying in");
    let g = Guest {
        tftp_root: Some(root.to_path_buf()),
        mac: Some(mac.into()),
        uuid: uuid.map(str::to_string),
        echo: echo(),
        ..Default::default()
    };
    g.run(&stop, std::time::Duration::from_secs(secs))
        .expect("qemu")
}

#[cfg(test)]
mod test {
    use super::*;

    /// A missing line names itself, how QEMU ended and the console's last
    /// lines before the whole console.
    #[test]
    fn a_missing_line_says_how_the_run_ended() {
        let con = Console {
            lines: (0..30)
                .map(|i| (f64::from(i), format!("line {i}")))
                .collect(),
            exited: true,
        };
        assert_in_order(&con, &["line 3", "line 29"]);
        let e = std::panic::catch_unwind(|| assert_in_order(&con, &["line 5", "line 4"]))
            .expect_err("line 4 is not after line 5");
        let msg = e.downcast_ref::<String>().expect("a message");
        let (head, whole) = msg.split_once("the whole console:\n").expect("both parts");
        assert!(
            head.starts_with(
                "console lacks \"line 4\" after the lines before it; QEMU exited by itself, \
                 last line at 29.0 s; its last lines:\n"
            ),
            "{head}"
        );
        assert_eq!(head.lines().count(), 13, "{head}");
        assert!(head.contains("[ 18.000] line 18\n") && !head.contains("line 17\n"));
        assert!(whole.contains("line 0") && whole.contains("line 29"));
    }

    /// A panic's lead-up (from the fault report) comes before the last
    /// lines, which hold only its call trace.
    #[test]
    fn a_kernel_panic_shows_what_led_to_it() {
        let mut lines: Vec<String> = (0..40).map(|i| format!("line {i}")).collect();
        lines[20] =
            "User process fault: interruption code 0011 ilc:3 in init[1000000+1ff000]".into();
        lines[21] = "Failing address: 0000000001234000 TEID: 0000000001234800".into();
        lines[26] =
            "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b".into();
        let con = Console {
            lines: lines
                .into_iter()
                .enumerate()
                .map(|(i, l)| (i as f64, l))
                .collect(),
            exited: true,
        };
        let e = std::panic::catch_unwind(|| assert_in_order(&con, &["TARGET-UP"]))
            .expect_err("no TARGET-UP");
        let msg = e.downcast_ref::<String>().expect("a message");
        let head = msg.split_once("its last lines:").expect("the tail").0;
        let lead = head
            .split_once("the kernel panicked:\n")
            .expect("the panic")
            .1;
        assert!(lead.starts_with("  [ 20.000] User process fault"), "{lead}");
        assert!(lead.contains("Failing address") && lead.contains("line 27\n"));
        assert!(
            !lead.contains("line 19\n") && !lead.contains("line 28\n"),
            "{lead}"
        );
    }
}

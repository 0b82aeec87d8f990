//! The real kernel unpacks what `build` writes, for every compression:
//! boots the Debian s390x kernel in `qemu-system-s390x` (TCG, about 15 s
//! each) with an `/init` it can't execute, and expects the kernel to find it
//! there. The kernel is the one `cargo xtask kernel` unpacked
//! (`testenv::kernel`); `cargo xtask test` requires it and QEMU.

use std::process::{Command, Stdio};
use std::time::Duration;

use netboot_image::testenv;

fn boot(compression: &str) -> Option<String> {
    // One guest at a time: TCG is CPU bound and the deadline is wall time.
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let test = format!("kernel_unpacks_{compression}");
    let k = testenv::kernel(&test)?;
    let qemu_ok = Command::new("qemu-system-s390x")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !qemu_ok {
        testenv::skip_or_fail(
            &test,
            "qemu-system-s390x not installed",
            testenv::REQUIRE_KERNEL_VAR,
        );
        return None;
    }
    let dir = std::env::temp_dir().join(format!("nbi-unpack-{compression}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Not ELF and not `#!`: execve fails with ENOEXEC (-8), after the kernel
    // found /init in the unpacked rootfs.
    std::fs::write(dir.join("init"), b"not a program").unwrap();
    let image = dir.join("pxelinux.0");
    let status = Command::new(env!("CARGO_BIN_EXE_netboot-image"))
        .args(["build", "--compress", compression, "--kernel"])
        .arg(&k.vmlinuz)
        .arg("--modules-dir")
        .arg(&k.modules_dir)
        .args(["--init"])
        .arg(dir.join("init"))
        .arg("-o")
        .arg(&image)
        .status()
        .unwrap();
    assert!(status.success());
    let log = dir.join("console.log");
    let mut child = Command::new("qemu-system-s390x")
        .args([
            "-M",
            "s390-ccw-virtio",
            "-m",
            "512",
            "-nographic",
            "-nodefaults",
            "-no-reboot",
        ])
        .args(["-device", "sclpconsole,chardev=c0", "-chardev"])
        .arg(format!("file,id=c0,path={}", log.display()))
        .arg("-kernel")
        .arg(&image)
        // `-kernel` replaces the embedded command line with this one.
        .args(["-append", "console=ttysclp0 panic=-1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Kernel panic") || std::time::Instant::now() > deadline {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    Some(text)
}

fn check(compression: &str) {
    let Some(log) = boot(compression) else { return };
    assert!(!log.contains("Initramfs unpacking failed"), "{log}");
    assert!(
        log.contains("Trying to unpack rootfs image as initramfs"),
        "{log}"
    );
    assert!(
        log.contains("Failed to execute /init (error -8)"),
        "{compression}: /init not found:\n{log}"
    );
}

#[test]
fn kernel_unpacks_gzip() {
    check("gzip");
}

#[test]
fn kernel_unpacks_xz() {
    check("xz");
}

#[test]
fn kernel_unpacks_zstd() {
    check("zstd");
}

#[test]
fn kernel_unpacks_none() {
    check("none");
}

//! Images made by the `netboot-image` CLI (the binary, run as a user runs
//! it) from Debian's s390x kernel and modules boot in qemu-system-s390x:
//!
//! - `build`, booted through QEMU's netboot firmware as `pxelinux.0`: the
//!   command line given to `--cmdline` reaches the kernel, and the modules
//!   it packed (with modules.dep) load with busybox's modprobe;
//! - `combine` with two initrds, booted with `-kernel IMG -append ...`
//!   (QEMU writes `-append` over the embedded command line): both initrds
//!   are unpacked.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use qemu_tests::*;

fn run_cli(args: &[&std::ffi::OsStr]) -> String {
    let bin = netboot_image_bin();
    let out = Command::new(&bin)
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "netboot-image {args:?} failed ({}):\n{text}",
        out.status
    );
    text
}

fn write(p: &Path, data: impl AsRef<[u8]>) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(p, data).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

/// `netboot-image build` → firmware netboot: the embedded `--cmdline`
/// reaches the kernel; the default modules (virtio_net, virtio_blk) and
/// their dependencies are in the image and load.
#[test]
fn cli_build_boots_through_firmware_with_embedded_cmdline() {
    let k = xtask::kernel::ensure().unwrap_or_else(|e| panic!("kernel: {e}"));
    xtask::payload::busybox().unwrap_or_else(|e| panic!("busybox: {e}"));
    let busybox = xtask::target_dir().join("busybox/root/bin/busybox");
    let work = xtask::target_dir().join("qemu-tests/cli-build");
    let _ = std::fs::remove_dir_all(&work);
    let init = work.join("init.sh");
    write(
        &init,
        format!(
            "#!/bin/busybox sh\n{}{}",
            xtask::payload::BUSYBOX_PREAMBLE,
            "/bin/busybox mkdir -p /proc /sys\n\
         /bin/busybox mount -t proc proc /proc\n\
         /bin/busybox mount -t sysfs sysfs /sys\n\
         echo \"CLI-BUILD-INIT-UP\"\n\
         echo \"CLI-CMDLINE: $(/bin/busybox cat /proc/cmdline)\"\n\
         /bin/busybox modprobe virtio_net && echo \"CLI-MODPROBE: virtio_net ok\"\n\
         /bin/busybox modprobe virtio_blk && echo \"CLI-MODPROBE: virtio_blk ok\"\n\
         echo \"CLI-NET: $(/bin/busybox ls /sys/class/net | /bin/busybox tr '\\n' ' ')\"\n\
         echo \"CLI-DONE\"\n\
         halt_now poweroff\n"
        ),
    );
    let root = work.join("tftp");
    let img = root.join("pxelinux.0");
    std::fs::create_dir_all(&root).expect("mkdir");
    let cmdline = "console=ttysclp0 quiet netboot-image.test=build-firmware";
    let out = run_cli(&[
        "build".as_ref(),
        "--kernel".as_ref(),
        k.vmlinuz.as_os_str(),
        "--modules-dir".as_ref(),
        k.modules_dir.as_os_str(),
        "--init".as_ref(),
        init.as_os_str(),
        "--add".as_ref(),
        format!("{}:/bin/busybox", busybox.display()).as_ref(),
        "--cmdline".as_ref(),
        cmdline.as_ref(),
        "-o".as_ref(),
        img.as_os_str(),
    ]);
    eprintln!("netboot-image build: {}", out.trim());
    let _l = qemu_lock();
    let g = Guest {
        tftp_root: Some(root),
        echo: echo(),
        ..Default::default()
    };
    let con = g
        .run(&["CLI-DONE"], Duration::from_secs(180))
        .expect("qemu");
    report(
        "cli_build_boots_through_firmware_with_embedded_cmdline",
        &con,
    );
    assert_in_order(
        &con,
        &[
            "TFTP: Received pxelinux.0",
            "CLI-BUILD-INIT-UP",
            &format!("CLI-CMDLINE: {cmdline}"),
            "CLI-MODPROBE: virtio_net ok",
            "CLI-MODPROBE: virtio_blk ok",
            "CLI-DONE",
        ],
    );
    let (_, net) = con.find("CLI-NET:").expect("CLI-NET line");
    assert!(net.contains("eth0"), "virtio_net loaded but no eth0: {net}");
}

/// `netboot-image combine` with two initrds → `-kernel IMG -append ...`:
/// QEMU's command line reaches the kernel, and the second initrd's file is
/// there beside the first one's /init.
#[test]
fn cli_combine_boots_with_qemu_kernel_and_append() {
    let k = xtask::kernel::ensure().unwrap_or_else(|e| panic!("kernel: {e}"));
    let work = xtask::target_dir().join("qemu-tests/cli-combine");
    let _ = std::fs::remove_dir_all(&work);
    let first = work.join("initrd-busybox.gz");
    write(
        &first,
        xtask::payload::busybox_initrd(
            "/bin/busybox mkdir -p /proc\n\
             /bin/busybox mount -t proc proc /proc\n\
             echo \"CLI-COMBINE-INIT-UP\"\n\
             echo \"CLI-SECOND: $(/bin/busybox cat /etc/second-initrd.txt)\"\n\
             echo \"CLI-CMDLINE: $(/bin/busybox cat /proc/cmdline)\"\n\
             echo \"CLI-DONE\"\n\
             halt_now poweroff\n",
        )
        .unwrap_or_else(|e| panic!("busybox initrd: {e}")),
    );
    let mut second = netboot_image::cpio::Archive::new();
    second.add_file(
        "/etc/second-initrd.txt",
        0o644,
        b"unpacked from the second initrd\n".to_vec(),
    );
    let second_path = work.join("initrd-extra.cpio");
    write(&second_path, second.to_bytes());
    let img = work.join("combined.img");
    let out = run_cli(&[
        "combine".as_ref(),
        "--kernel".as_ref(),
        k.vmlinuz.as_os_str(),
        "--initrd".as_ref(),
        first.as_os_str(),
        "--initrd".as_ref(),
        second_path.as_os_str(),
        "--cmdline".as_ref(),
        "console=ttysclp0 embedded=overwritten-by-append".as_ref(),
        "-o".as_ref(),
        img.as_os_str(),
    ]);
    eprintln!("netboot-image combine: {}", out.trim());
    let append = "console=ttysclp0 quiet netboot-image.test=combine-kernel";
    let _l = qemu_lock();
    let g = Guest {
        extra: vec![
            "-kernel".into(),
            img.display().to_string(),
            "-append".into(),
            append.into(),
        ],
        echo: echo(),
        ..Default::default()
    };
    let con = g
        .run(&["CLI-DONE"], Duration::from_secs(180))
        .expect("qemu");
    report("cli_combine_boots_with_qemu_kernel_and_append", &con);
    assert_in_order(
        &con,
        &[
            "CLI-COMBINE-INIT-UP",
            "CLI-SECOND: unpacked from the second initrd",
            &format!("CLI-CMDLINE: {append}"),
            "CLI-DONE",
        ],
    );
}

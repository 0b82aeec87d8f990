//! The walking skeleton: firmware → pxelinux.0 → pxeinit → kexec → target.

use std::time::Duration;

use qemu_tests::*;

/// A MAC-specific config (written as an admin would, with a `default` that
/// must lose) boots the Debian kernel with a busybox initrd, and the
/// target sees the config's APPEND.
#[test]
fn netboot_mac_config_reaches_target() {
    let root = tftp_root("skeleton");
    put(&root, "images/debian/linux", debian_kernel());
    put(
        &root,
        "images/debian/initrd.gz",
        busybox_target("BUSYBOX-TARGET-UP"),
    );
    put(
        &root,
        "pxelinux.cfg/default",
        "DEFAULT wrong\nLABEL wrong\n  KERNEL images/none\n",
    );
    put(
        &root,
        "pxelinux.cfg/01-52-54-00-a1-b2-c3",
        "# generated for host a1b2c3\r\n\
         DEFAULT install\r\n\
         LABEL install\r\n\
         \tKERNEL images/debian/linux\r\n\
         \tINITRD images/debian/initrd.gz\r\n\
         \tAPPEND console=ttysclp0 auto=true priority=critical url=http://10.0.2.2/preseed.cfg\r\n",
    );
    let _l = qemu_lock();
    let g = Guest {
        tftp_root: Some(root),
        mac: Some("52:54:00:a1:b2:c3".into()),
        ..Default::default()
    };
    let con = g
        .run(&["TARGET-CMDLINE"], Duration::from_secs(240))
        .expect("qemu");
    let text = con.text();
    let need = [
        "pxelinux.0",
        "pxeinit: dhcp: lease 10.0.2.15",
        "pxeinit: config pxelinux.cfg/01-52-54-00-a1-b2-c3, label install",
        "pxeinit: kernel: 5066752 bytes",
        "pxeinit: initrd: ",
        "pxeinit: kexec: booting the new kernel",
        "Linux version",
        "BUSYBOX-TARGET-UP",
        "TARGET-CMDLINE: console=ttysclp0 auto=true priority=critical url=http://10.0.2.2/preseed.cfg",
    ];
    for n in need {
        assert!(text.contains(n), "console lacks {n:?}:\n{text}");
    }
    // Order: kexec happens before the target's banner.
    let kexec = con
        .find("booting the new kernel")
        .map(|l| l.0)
        .unwrap_or(0.0);
    let target = con.find("BUSYBOX-TARGET-UP").map(|l| l.0).unwrap_or(0.0);
    assert!(kexec < target, "{text}");
    // The target's decompressor starts its clock at kexec: "Linux version"
    // must come within 5 s of it (the TCG stall would make it ~50 s).
    let (_, lv) = con
        .lines
        .iter()
        .rev()
        .find(|(_, l)| l.contains("Linux version"))
        .expect("Linux version");
    let t = printk_time(lv).expect("timestamp");
    eprintln!("target 'Linux version' at {t:.3} s of its own clock after kexec");
    assert!(
        t <= 5.0,
        "target kernel took {t} s to print Linux version:\n{text}"
    );
}

//! LOCALBOOT: the config says "boot the local disk", and pxeinit re-IPLs
//! the guest from its virtio-blk-ccw disk at device number 0.0.0005 (set
//! through /sys/firmware/reipl, `ccw/clear` = 1, then reboot). The disk is
//! an ISO-9660 image built by `xtask::disk` whose kernel (Debian's, with a
//! busybox /init) prints a marker: seeing the marker proves QEMU's firmware
//! IPL'd the disk after pxeinit asked for it.
//!
//! The NIC has `bootindex=1` and the disk none, so the first IPL is from
//! the network and only the re-IPL reaches the disk.

use std::time::Duration;

use qemu_tests::*;

const DISK_MARKER: &str = "LOCAL-DISK-BOOTED-0005";

fn boot_to_disk(root: std::path::PathBuf, mac: &str) -> Console {
    let disk = local_disk(DISK_MARKER);
    let g = Guest {
        tftp_root: Some(root),
        mac: Some(mac.into()),
        extra: disk_args(&disk, "0005"),
        echo: echo(),
        ..Default::default()
    };
    g.run(&["DISK-CMDLINE", "retrying in"], Duration::from_secs(300))
        .expect("qemu")
}

fn assert_reipl_to_disk(con: &Console) {
    assert_in_order(
        con,
        &[
            "pxeinit: dhcp: lease 10.0.2.15",
            "LOCALBOOT",
            // QEMU's firmware, IPLing again, now from the disk.
            "Using virtio-blk.",
            DISK_MARKER,
            "DISK-CMDLINE: console=ttysclp0 quiet local.disk=1",
        ],
    );
    let (_, line) = con.find("LOCALBOOT").expect("LOCALBOOT line");
    assert!(
        line.contains("0.0.0005"),
        "the re-IPL device is not 0.0.0005: {line}"
    );
    assert_absent(con, "booting the new kernel");
    assert_absent(con, "retrying in");
}

/// LOCALBOOT 0 from Foreman's "PXELinux global default" template, rendered
/// with the "Default PXE global template entry" setting left at `local`
/// (as Foreman writes `pxelinux.cfg/default` for hosts it does not know):
/// `UI menu.c32`, `TIMEOUT 200`, `ONTIMEOUT local`, the chainload and
/// discovery entries. Nobody types, so after 20 s `local` (LOCALBOOT 0)
/// runs, and the disk is found by pxeinit itself (no `rd.chreipl=`).
#[test]
fn localboot_0_reipls_disk_0005_foreman_default() {
    let mac = "52:54:00:10:ca:05";
    let root = tftp_root("localboot-foreman");
    put(
        &root,
        "pxelinux.cfg/default",
        "\n\
         UI menu.c32\n\
         MENU TITLE Booting unknown host (ESC to stop)\n\
         TIMEOUT 200\n\
         ONTIMEOUT local\n\
         DEFAULT local\n\
         \n\
         LABEL local\n  \
           MENU LABEL Default local boot\n  \
           LOCALBOOT 0\n\
         \n\
         LABEL local_primary\n  \
           MENU LABEL Default local boot from primary hard drive\n  \
           LOCALBOOT 0x80\n\
         \n\
         LABEL local_skip\n  \
           MENU LABEL Boot from the next BIOS device\n  \
           LOCALBOOT -1\n\
         \n\
         LABEL local_chain_hd0\n  \
           MENU LABEL Chainload the first hard drive (hd0)\n  \
           COM32 chain.c32\n  \
           APPEND hd0\n\
         \n\
         LABEL local_chain_hd1\n  \
           MENU LABEL Chainload the second hard drive (hd1)\n  \
           COM32 chain.c32\n  \
           APPEND hd1\n\
         \n\
         \n\
         LABEL discovery\n  \
           MENU LABEL Foreman Discovery Image\n  \
           KERNEL boot/fdi-image/vmlinuz0\n  \
           APPEND initrd=boot/fdi-image/initrd0.img rootflags=loop root=live:/fdi.iso rootfstype=auto ro rd.live.image acpi=force rd.luks=0 rd.md=0 rd.dm=0 rd.lvm=0 rd.bootif=0 rd.neednet=0 nokaslr nomodeset proxy.url=https://foreman.example.com proxy.type=foreman\n  \
           IPAPPEND 2\n\
         \n\
         \n",
    );
    let _l = qemu_lock();
    let con = boot_to_disk(root, mac);
    report("localboot_0_reipls_disk_0005_foreman_default", &con);
    assert_in_order(&con, &["Booting unknown host", "Default local boot"]);
    assert_reipl_to_disk(&con);
    // The menu waited TIMEOUT 200 (20 s) for an operator.
    let menu = con.find("Default local boot").map(|l| l.0).unwrap_or(0.0);
    let reipl = con.find("LOCALBOOT").map(|l| l.0).unwrap_or(0.0);
    eprintln!("menu at {menu:.1} s, LOCALBOOT at {reipl:.1} s (wall)");
    assert!(
        reipl - menu >= 18.0,
        "TIMEOUT 200 should hold the menu about 20 s, LOCALBOOT came {:.1} s after it:\n{}",
        reipl - menu,
        con.text()
    );
}

/// LOCALBOOT -1 from Cobbler's `pxelocal.template` (what Cobbler writes as
/// `pxelinux.cfg/01-<mac>` for a system whose netboot is disabled: install
/// done, boot the disk), with the device named on the first stage's
/// command line the way the seed's dracut module takes it.
#[test]
fn localboot_minus1_cobbler_system_file() {
    let mac = "52:54:00:10:ca:06";
    let img = pxelinux0_with(
        "chreipl-0005",
        "console=ttysclp0 quiet rd.chreipl=ccw rd.chreipl=0.0.0005",
    );
    let root = tftp_root_with("localboot-cobbler", &img);
    put(
        &root,
        "pxelinux.cfg/default",
        "DEFAULT menu\nPROMPT 0\nTIMEOUT 200\n",
    );
    put(
        &root,
        &mac_file(mac),
        "DEFAULT local\n\
         PROMPT 0\n\
         TIMEOUT 0\n\
         TOTALTIMEOUT 0\n\
         ONTIMEOUT local\n\
         \n\
         LABEL local\n        \
                 LOCALBOOT -1\n\
         \n",
    );
    let _l = qemu_lock();
    let con = boot_to_disk(root, mac);
    report("localboot_minus1_cobbler_system_file", &con);
    assert_reipl_to_disk(&con);
}

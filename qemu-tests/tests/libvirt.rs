//! The deployment as users run it: a real libvirtd (QEMU and network
//! drivers), the README's isolated network with libvirt's own dnsmasq
//! serving DHCP and TFTP, the README's s390x domain, driven with `virsh`
//! only (see `qemu_tests::libvirt` for the harness: a network namespace of
//! the test's own, private libvirt directories, teardown on drop).
//!
//! The workflow is seed 002's (the dracut "reboot s390x" module): the
//! domain always boots from the network first (interface `<boot
//! order='1'/>`, disk `<boot order='2'/>`), and the PXELINUX file of its MAC
//! decides between the installer and the local disk, flipped between boots
//! the way Foreman flips it.
//!
//! Needs root. Without it (or without libvirt) a test skips, unless
//! `PXEINIT_REQUIRE_ROOT_TESTS=1`, which makes it fail.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use qemu_tests::libvirt::{self, Domain, Libvirt};
use qemu_tests::*;

/// What the installer (a busybox /init) prints first.
const INSTALLER: &str = "INSTALLER-REACHED";
/// What it prints just before it reboots (with `install.reboot=1`).
const REBOOTING: &str = "INSTALLER: done, rebooting";
/// The local disk's system.
const DISK: &str = "LIBVIRT-LOCAL-DISK";

/// The installer stand-in: prints [`INSTALLER`] and its command line; with
/// `install.reboot=1` it then reboots the guest, as an installer does when
/// it is done, else it powers off. Before the reboot it sets
/// `/sys/firmware/reipl/ccw/clear` to 1: with 0 (the kernel's default) the
/// re-IPL uses DIAG 308 subcode 4, which QEMU 7.2 does not accept (the
/// domain crashes in a disabled wait).
fn installer_initrd() -> Vec<u8> {
    let script = format!(
        "/bin/busybox mkdir -p /proc /sys\n\
         /bin/busybox mount -t proc proc /proc\n\
         /bin/busybox mount -t sysfs sysfs /sys\n\
         echo \"{INSTALLER}\"\n\
         echo \"TARGET-CMDLINE: $(/bin/busybox cat /proc/cmdline)\"\n\
         case \" $(/bin/busybox cat /proc/cmdline) \" in\n\
         *' install.reboot=1 '*)\n\
           echo 1 > /sys/firmware/reipl/ccw/clear\n\
           /bin/busybox sleep 2\n\
           echo \"{REBOOTING}\"\n\
           halt_now reboot ;;\n\
         esac\n\
         halt_now poweroff\n"
    );
    xtask::payload::busybox_initrd(&script).unwrap_or_else(|e| panic!("installer initrd: {e}"))
}

/// The install label (Foreman's "install" template in miniature).
fn install_cfg(append: &str) -> String {
    format!(
        "DEFAULT install\n\
         LABEL install\n  \
           KERNEL images/debian/linux\n  \
           INITRD images/debian/installer.gz\n  \
           APPEND console=ttysclp0 {append}\n"
    )
}

/// What Foreman writes for a built host: boot the local disk.
const LOCALBOOT_CFG: &str = "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n";

/// A TFTP root `target/qemu-tests/NAME/tftp` holding `image` as
/// `pxelinux.0`, the Debian kernel, the installer, and a `default` that
/// must never be chosen.
fn tftp_tree(name: &str, image: &Path) -> PathBuf {
    let root = tftp_root_with(&format!("{name}/tftp"), image);
    put(&root, "images/debian/linux", debian_kernel());
    put(&root, "images/debian/installer.gz", installer_initrd());
    put(
        &root,
        "pxelinux.cfg/default",
        "DEFAULT wrong\nLABEL wrong\n  KERNEL images/none\n",
    );
    root
}

/// The seconds of the first line containing `needle` at or after `from`.
fn time_of(con: &Console, needle: &str, from: f64) -> f64 {
    con.lines
        .iter()
        .find(|(t, l)| *t >= from && l.contains(needle))
        .map(|l| l.0)
        .unwrap_or_else(|| panic!("console lacks {needle:?}:\n{}", con.text()))
}

fn assert_no_failure(con: &Console, lv: &Libvirt) {
    for bad in ["retrying in", "boot failed", "Kernel panic"] {
        if let Some((t, l)) = con.find(bad) {
            panic!(
                "console shows {bad:?} at {t:.1} s ({l}):\n{}\n{}",
                con.text(),
                lv.daemon_logs()
            );
        }
    }
}

/// The guest's lease came from libvirt's dnsmasq (`virsh net-dhcp-leases`).
fn assert_leased(lv: &Libvirt, dom: &Domain) {
    let leases = lv.virsh(&["net-dhcp-leases", libvirt::NETWORK]);
    assert!(
        leases.contains(&dom.mac),
        "libvirt's dnsmasq has no lease for {}:\n{leases}",
        dom.mac
    );
}

/// Seed 002's provisioning cycle under `virsh`:
/// 1. `01-<mac>` says install; `virsh start`: the installer runs with its
///    APPEND, finishes and reboots the guest itself; meanwhile the test
///    switches `01-<mac>` to `LOCALBOOT 0` (Foreman does so when the
///    installer reports "built").
/// 2. The reboot netboots again (libvirt keeps the interface first), and
///    pxeinit re-IPLs from the disk libvirt attached: the disk's system
///    runs, and powers off.
/// 3. `01-<mac>` switched back to install; `virsh start`: the installer
///    again.
///
/// Each boot's console is checked and its wall time printed.
#[test]
fn libvirt_provisioning_cycle_install_localboot_install() {
    let test = "libvirt_provisioning_cycle_install_localboot_install";
    if !libvirt::available(test) {
        return;
    }
    let root = tftp_tree("libvirt-cycle", &pxelinux0());
    let disk = local_disk(DISK);
    let _l = qemu_lock();
    let lv = Libvirt::start("cycle");
    lv.start_network(&root);
    lv.assert_isolated();
    let log = lv.dir.join("zguest1-console.log");
    let dom = lv.define(&libvirt::domain_xml(&disk, &log, ""));
    let devno = libvirt::disk_devno(&lv, &dom, "vda");
    let mac_cfg = mac_file(&dom.mac);
    eprintln!(
        "{test}: domain {} MAC {} UUID {}, disk at {devno}",
        dom.name, dom.mac, dom.uuid
    );
    put(&root, &mac_cfg, install_cfg("cycle=1 install.reboot=1"));

    // Boots 1 and 2: one `virsh start`, the guest reboots by itself.
    let mut switched = None;
    let mut isolated_checked = false;
    let t_start = Instant::now();
    let con = lv.boot(
        &dom,
        &log,
        &["DISK-CMDLINE", "retrying in", "boot failed"],
        Duration::from_secs(400),
        &mut |line, t| {
            if !isolated_checked && line.contains("Network boot starting") {
                // The guest's TAP device exists now: check again.
                lv.assert_isolated();
                isolated_checked = true;
            }
            if switched.is_none() && line.contains(INSTALLER) {
                put(&root, &mac_cfg, LOCALBOOT_CFG);
                switched = Some(t);
            }
        },
    );
    report(test, &con);
    assert_no_failure(&con, &lv);
    assert!(
        isolated_checked,
        "the firmware never started:\n{}",
        con.text()
    );
    assert_in_order(
        &con,
        &[
            // Boot 1: the installer.
            "Network boot starting",
            &format!("Using TFTP server: {}", libvirt::HOST_IP),
            "Bootfile name: 'pxelinux.0'",
            "pxeinit: dhcp: lease 192.168.122.",
            &format!("config {mac_cfg}, label install"),
            "booting the new kernel",
            INSTALLER,
            "TARGET-CMDLINE: console=ttysclp0 cycle=1 install.reboot=1",
            REBOOTING,
            // Boot 2: the network again, then the disk.
            "Network boot starting",
            "Bootfile name: 'pxelinux.0'",
            &format!("config {mac_cfg}, label local"),
            "LOCALBOOT",
            "Using virtio-blk.",
            DISK,
            "DISK-CMDLINE: console=ttysclp0 quiet local.disk=1",
        ],
    );
    let t_install1 = time_of(&con, INSTALLER, 0.0);
    let t_reboot = time_of(&con, REBOOTING, t_install1);
    let (_, reipl) = con
        .lines
        .iter()
        .find(|(t, l)| *t >= t_reboot && l.contains("LOCALBOOT"))
        .expect("LOCALBOOT line");
    assert!(
        reipl.contains(&devno),
        "LOCALBOOT did not re-IPL the disk libvirt attached ({devno}): {reipl}"
    );
    let t_localboot = time_of(&con, "LOCALBOOT", t_reboot);
    let t_disk = time_of(&con, DISK, t_reboot);
    let boot1 = t_install1;
    let boot2 = t_disk - t_reboot;
    assert!(
        lv.wait_shut_off(&dom, Duration::from_secs(60)),
        "the disk's system did not power off:\n{}",
        con.text()
    );
    assert_leased(&lv, &dom);

    // Boot 3: switched back, installs again.
    put(&root, &mac_cfg, install_cfg("cycle=3"));
    let con3 = lv.boot(
        &dom,
        &log,
        &["TARGET-CMDLINE", "retrying in", "boot failed"],
        Duration::from_secs(300),
        &mut |_, _| {},
    );
    report(test, &con3);
    assert_no_failure(&con3, &lv);
    assert_in_order(
        &con3,
        &[
            "Network boot starting",
            &format!("config {mac_cfg}, label install"),
            "booting the new kernel",
            INSTALLER,
            "TARGET-CMDLINE: console=ttysclp0 cycle=3",
        ],
    );
    assert_absent(&con3, "LOCALBOOT");
    assert_absent(&con3, DISK);
    let boot3 = time_of(&con3, INSTALLER, 0.0);
    assert!(
        lv.wait_shut_off(&dom, Duration::from_secs(60)),
        "the installer did not power off"
    );
    lv.assert_isolated();

    // The README's commands are the ones run here.
    let ran = lv.user_commands();
    for c in libvirt::README_COMMANDS {
        assert!(
            ran.iter().any(|r| r == c),
            "the test never ran {c:?}: {ran:?}"
        );
    }
    eprintln!(
        "{test}: boot 1 (virsh start -> installer) {boot1:.1} s; \
         boot 2 (installer's reboot -> netboot -> LOCALBOOT -> disk's system) {boot2:.1} s \
         (LOCALBOOT {:.1} s after the reboot); \
         boot 3 (virsh start -> installer) {boot3:.1} s; config switched {:.1} s before the reboot; \
         whole cycle {:.1} s",
        t_localboot - t_reboot,
        t_reboot - switched.unwrap_or(t_reboot),
        t_start.elapsed().as_secs_f64()
    );
}

/// The UUID libvirt gave the domain names its config
/// (`pxelinux.cfg/<uuid>`, looked up before `01-<mac>`), and
/// `rd.chreipl=ccw rd.chreipl=0.0.0005` on the first stage's command line
/// (the form in seed 002's dracut module) picks the LOCALBOOT disk: of two
/// disks, the one at 0.0.0005, not the first one.
#[test]
fn libvirt_uuid_config_and_rd_chreipl() {
    let test = "libvirt_uuid_config_and_rd_chreipl";
    if !libvirt::available(test) {
        return;
    }
    let image = pxelinux0_with(
        "chreipl-0005",
        "console=ttysclp0 quiet rd.chreipl=ccw rd.chreipl=0.0.0005",
    );
    let root = tftp_tree("libvirt-uuid", &image);
    let first = local_disk("LIBVIRT-DISK-FIRST");
    let second = local_disk("LIBVIRT-DISK-0005");
    let _l = qemu_lock();
    let lv = Libvirt::start("uuid");
    lv.start_network(&root);
    let log = lv.dir.join("zguest1-console.log");
    let extra = format!(
        "    <disk type='file' device='disk'>\n\
         \x20     <driver name='qemu' type='raw'/>\n\
         \x20     <source file='{}'/>\n\
         \x20     <target dev='vdb' bus='virtio'/>\n\
         \x20     <address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0005'/>\n\
         \x20   </disk>\n",
        second.display()
    );
    let dom = lv.define(&libvirt::domain_xml(&first, &log, &extra));
    let vda = libvirt::disk_devno(&lv, &dom, "vda");
    assert_eq!(libvirt::disk_devno(&lv, &dom, "vdb"), "0.0.0005");
    assert_ne!(vda, "0.0.0005");
    let uuid_cfg = format!("pxelinux.cfg/{}", dom.uuid.to_ascii_lowercase());
    eprintln!(
        "{test}: UUID {} MAC {}, disks {vda} and 0.0.0005",
        dom.uuid, dom.mac
    );
    // The MAC file must lose to the UUID file.
    put(&root, &mac_file(&dom.mac), LOCALBOOT_CFG);
    put(&root, &uuid_cfg, install_cfg("by=uuid"));

    let con = lv.boot(
        &dom,
        &log,
        &["TARGET-CMDLINE", "retrying in", "boot failed"],
        Duration::from_secs(300),
        &mut |_, _| {},
    );
    report(test, &con);
    assert_no_failure(&con, &lv);
    assert_in_order(
        &con,
        &[
            &format!("machine UUID {}", dom.uuid),
            &format!("config {uuid_cfg}, label install"),
            INSTALLER,
            "TARGET-CMDLINE: console=ttysclp0 by=uuid",
        ],
    );
    let boot_a = time_of(&con, INSTALLER, 0.0);
    assert!(lv.wait_shut_off(&dom, Duration::from_secs(60)));

    put(&root, &uuid_cfg, LOCALBOOT_CFG);
    let con = lv.boot(
        &dom,
        &log,
        &["DISK-CMDLINE", "retrying in", "boot failed"],
        Duration::from_secs(300),
        &mut |_, _| {},
    );
    report(test, &con);
    assert_no_failure(&con, &lv);
    assert_in_order(
        &con,
        &[
            &format!("config {uuid_cfg}, label local"),
            "LOCALBOOT: re-IPL from CCW device 0.0.0005",
            "Using virtio-blk.",
            "LIBVIRT-DISK-0005",
            "DISK-CMDLINE:",
        ],
    );
    assert_absent(&con, "LIBVIRT-DISK-FIRST");
    let boot_b = time_of(&con, "LIBVIRT-DISK-0005", 0.0);
    eprintln!(
        "{test}: UUID config -> installer {boot_a:.1} s; LOCALBOOT -> disk 0.0.0005 {boot_b:.1} s"
    );
}

/// The README's IPv6 libvirt network ([`libvirt::NETWORK6_XML`]: the IPv4
/// network plus an IPv6 `<ip>` with a DHCPv6 range and option 59 as a
/// dnsmasq option): with `pxe.ipv6=only`, pxeinit takes its address from
/// libvirt's dnsmasq by stateful DHCPv6 (dnsmasq's own router
/// advertisement has M=1), its boot server from the boot file URL, and
/// fetches the MAC's config, the kernel and the initrd over TFTP on IPv6
/// from the same dnsmasq. The firmware loads `pxelinux.0` over IPv4.
#[test]
fn libvirt_ipv6_network_dhcpv6_and_tftp_over_ipv6() {
    let test = "libvirt_ipv6_network_dhcpv6_and_tftp_over_ipv6";
    if !libvirt::available(test) {
        return;
    }
    let image = pxelinux0_with("libvirt-ipv6", "console=ttysclp0 quiet pxe.ipv6=only");
    let root = tftp_tree("libvirt-ipv6", &image);
    let disk = local_disk(DISK);
    let _l = qemu_lock();
    let lv = Libvirt::start("ipv6");
    lv.start_network_from(libvirt::NETWORK6_XML, &root);
    lv.assert_isolated();
    let log = lv.dir.join("zguest1-console.log");
    let dom = lv.define(&libvirt::domain_xml(&disk, &log, ""));
    let mac_cfg = mac_file(&dom.mac);
    put(&root, &mac_cfg, install_cfg("via=ipv6"));
    let con = lv.boot(
        &dom,
        &log,
        &["TARGET-CMDLINE", "retrying in", "boot failed"],
        Duration::from_secs(300),
        &mut |_, _| {},
    );
    report(test, &con);
    assert_no_failure(&con, &lv);
    let host6 = libvirt::HOST_IP6;
    assert_in_order(
        &con,
        &[
            // The network answers DHCPv6 only for pxeinit (option 61), so
            // the firmware stays on IPv4.
            &format!("Using TFTP server: {}", libvirt::HOST_IP),
            "Bootfile name: 'pxelinux.0'",
            &format!("boot file URL tftp://[{host6}]/pxelinux.0"),
            "network: IPv6 leads on eth0 (DHCPv6 2001:db8:122::",
            &format!("config {mac_cfg}, label install"),
            "booting the new kernel",
            INSTALLER,
            "TARGET-CMDLINE: console=ttysclp0 via=ipv6",
        ],
    );
    assert_absent(&con, "dhcp: lease 192.168.122.");
    // libvirt's dnsmasq leased the IPv6 address (`virsh net-dhcp-leases`
    // lists the DHCPv6 lease by the client's DUID, with its address).
    let leases = lv.virsh(&["net-dhcp-leases", libvirt::NETWORK]);
    let (_, line) = con.find("leads on eth0 (DHCPv6 ").expect("the lease line");
    assert!(
        line.ends_with(&format!("boot server {host6})")),
        "the boot server is not libvirt's dnsmasq: {line}"
    );
    let addr = line
        .split("DHCPv6 ")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("an address");
    assert!(
        leases.contains("ipv6") && leases.contains(addr),
        "libvirt's dnsmasq lists no IPv6 lease for {addr}:\n{leases}"
    );
    let t = time_of(&con, INSTALLER, 0.0);
    eprintln!("{test}: pxeinit: DHCPv6 lease {addr}; installer at {t:.1} s");
}

/// A 64 MiB initrd over the libvirt network's own TFTP server (its
/// dnsmasq, `<tftp root>`), five boots in a row, each to the target's
/// /init. Prints each boot's wall time, the initrd's download time and any
/// receive stall pxeinit recovered from.
#[test]
fn libvirt_64mib_initrd_over_network_tftp_5_times() {
    let test = "libvirt_64mib_initrd_over_network_tftp_5_times";
    if !libvirt::available(test) {
        return;
    }
    const SIZE: usize = 64 << 20;
    let root = tftp_tree("libvirt-64m", &pxelinux0());
    let initrd = xtask::payload::target_initrd("LIBVIRT-64M", SIZE)
        .unwrap_or_else(|e| panic!("64 MiB initrd: {e}"));
    put(&root, "images/big.img", &initrd);
    let disk = local_disk(DISK);
    let _l = qemu_lock();
    let lv = Libvirt::start("big");
    lv.start_network(&root);
    lv.assert_isolated();
    let log = lv.dir.join("zguest1-console.log");
    let dom = lv.define(&libvirt::domain_xml(&disk, &log, ""));
    let mut rows = vec![];
    for n in 1..=5 {
        put(
            &root,
            &mac_file(&dom.mac),
            format!(
                "DEFAULT big\nLABEL big\n  KERNEL images/debian/linux\n  \
                 INITRD images/big.img\n  APPEND console=ttysclp0 big.boot={n}\n"
            ),
        );
        let con = lv.boot(
            &dom,
            &log,
            &["TARGET-DONE", "retrying in", "boot failed"],
            Duration::from_secs(400),
            &mut |_, _| {},
        );
        report(test, &con);
        assert_no_failure(&con, &lv);
        assert_in_order(
            &con,
            &[
                &format!("Using TFTP server: {}", libvirt::HOST_IP),
                "pxeinit: initrd images/big.img",
                &format!("pxeinit: initrd: {} bytes in", initrd.len()),
                "booting the new kernel",
                "TARGET-INIT: hello from the netbooted target (LIBVIRT-64M)",
                &format!("TARGET-CMDLINE: console=ttysclp0 big.boot={n}"),
            ],
        );
        let wall = time_of(&con, "TARGET-INIT", 0.0);
        let (_, dl) = con.find("pxeinit: initrd: ").expect("initrd line");
        let secs: f64 = dl
            .split(" in ")
            .nth(1)
            .and_then(|s| s.trim_end_matches(" s").trim().parse().ok())
            .unwrap_or(f64::NAN);
        let stalls: Vec<String> = con
            .lines
            .iter()
            .filter(|(_, l)| l.contains("received nothing for") || l.contains("configured again"))
            .map(|(t, l)| format!("\n  [{t:6.1}] {l}"))
            .collect();
        let resets = con
            .lines
            .iter()
            .filter(|(_, l)| l.contains("resetting the device"))
            .count();
        eprintln!(
            "{test}: boot {n}: {wall:.1} s to the target's /init, initrd {:.1} s ({:.2} MB/s), {resets} receive stalls recovered{}",
            secs,
            initrd.len() as f64 / secs / 1e6,
            stalls.concat()
        );
        rows.push((wall, secs, resets));
        assert!(lv.wait_shut_off(&dom, Duration::from_secs(60)));
    }
    assert_leased(&lv, &dom);
    eprintln!(
        "{test}: walls {:?} s, initrd downloads {:?} s, stalls {:?}",
        rows.iter()
            .map(|r| format!("{:.1}", r.0))
            .collect::<Vec<_>>(),
        rows.iter()
            .map(|r| format!("{:.1}", r.1))
            .collect::<Vec<_>>(),
        rows.iter().map(|r| r.2).collect::<Vec<_>>()
    );
}

/// The README's `virt-install` command (Debian's virtinst) makes the same
/// domain: its first boot netboots (here `pxelinux.cfg/default`, as the
/// MAC is not known before), the definition it leaves keeps the network
/// before the disk, and the next `virsh start` netboots again and
/// LOCALBOOT (now in `01-<mac>`) re-IPLs the disk.
#[test]
fn libvirt_virt_install_import_boots_network_first() {
    let test = "libvirt_virt_install_import_boots_network_first";
    if !libvirt::available(test) || !need(test, &["virt-install"]) {
        return;
    }
    let root = tftp_tree("libvirt-virtinst", &pxelinux0());
    put(
        &root,
        "pxelinux.cfg/default",
        install_cfg("via=virt-install"),
    );
    let disk = local_disk(DISK);
    let _l = qemu_lock();
    let lv = Libvirt::start("virtinst");
    lv.start_network(&root);
    lv.assert_isolated();
    let log = lv.dir.join("zguest1-console.log");
    let _ = std::fs::remove_file(&log);
    let t0 = Instant::now();
    let dom = lv.virt_install(&disk, &log);
    let con = lv.watch(
        &dom,
        &log,
        t0,
        &["TARGET-CMDLINE", "retrying in", "boot failed"],
        Duration::from_secs(300),
        &mut |_, _| {},
    );
    report(test, &con);
    assert_no_failure(&con, &lv);
    assert_in_order(
        &con,
        &[
            "Network boot starting",
            "config pxelinux.cfg/default, label install",
            INSTALLER,
            "TARGET-CMDLINE: console=ttysclp0 via=virt-install",
        ],
    );
    let boot1 = time_of(&con, INSTALLER, 0.0);
    assert!(lv.wait_shut_off(&dom, Duration::from_secs(60)));
    let xml = lv.virsh(&["dumpxml", &dom.name]);
    let net = xml.find("<boot dev='network'/>");
    let hd = xml.find("<boot dev='hd'/>");
    assert!(
        matches!((net, hd), (Some(n), Some(h)) if n < h),
        "virt-install's domain does not boot the network first:\n{xml}"
    );
    assert!(
        xml.contains("event_idx='off'"),
        "no event_idx='off':\n{xml}"
    );

    let mac_cfg = mac_file(&dom.mac);
    put(&root, &mac_cfg, LOCALBOOT_CFG);
    let con = lv.boot(
        &dom,
        &log,
        &["DISK-CMDLINE", "retrying in", "boot failed"],
        Duration::from_secs(300),
        &mut |_, _| {},
    );
    report(test, &con);
    assert_no_failure(&con, &lv);
    assert_in_order(
        &con,
        &[
            "Network boot starting",
            &format!("config {mac_cfg}, label local"),
            "LOCALBOOT",
            "Using virtio-blk.",
            DISK,
        ],
    );
    let boot2 = time_of(&con, DISK, 0.0);
    eprintln!(
        "{test}: virt-install -> installer {boot1:.1} s; virsh start -> LOCALBOOT -> disk {boot2:.1} s"
    );
}

/// The README's libvirt section shows the XML files the tests define (the
/// placeholders as the README's example paths), and exactly the `virsh`
/// commands the harness runs. No root needed.
#[test]
fn readme_libvirt_section_is_the_tested_xml() {
    let readme = std::fs::read_to_string(xtask::root().join("README.md")).expect("README.md");
    let start = readme
        .find("**libvirt:**")
        .expect("README has no **libvirt:** section");
    let end = readme[start..]
        .find("**QEMU directly:**")
        .map(|i| start + i)
        .expect("README: no **QEMU directly:** after the libvirt section");
    let section = &readme[start..end];
    let blocks = |lang: &str| -> Vec<String> {
        let fence = format!("```{lang}\n");
        section
            .split(&fence)
            .skip(1)
            .map(|b| b.split("```").next().unwrap_or("").to_string())
            .collect()
    };
    let readme_values: Vec<(&str, PathBuf)> = libvirt::PLACEHOLDERS
        .iter()
        .map(|(k, v)| (*k, PathBuf::from(v)))
        .collect();
    let values: Vec<(&str, &Path)> = readme_values
        .iter()
        .map(|(k, v)| (*k, v.as_path()))
        .collect();
    let want: Vec<String> = [libvirt::NETWORK_XML, libvirt::DOMAIN_XML]
        .iter()
        .map(|f| {
            let xml = libvirt::read_xml(f);
            let used: Vec<(&str, &Path)> = values
                .iter()
                .filter(|(k, _)| xml.contains(k))
                .copied()
                .collect();
            libvirt::fill(&xml, &used)
        })
        .collect();
    let got = blocks("xml");
    assert_eq!(
        got.len(),
        want.len(),
        "the README's libvirt section should show {} XML blocks ({} and {}), it shows {}",
        want.len(),
        libvirt::NETWORK_XML,
        libvirt::DOMAIN_XML,
        got.len()
    );
    for (g, (w, f)) in got
        .iter()
        .zip(want.iter().zip([libvirt::NETWORK_XML, libvirt::DOMAIN_XML]))
    {
        assert_eq!(
            g,
            w,
            "the README's XML differs from {f} (with {:?} for its placeholders)",
            libvirt::PLACEHOLDERS
        );
    }
    let cmds: Vec<String> = blocks("sh")
        .iter()
        .flat_map(|b| b.lines().map(str::to_string).collect::<Vec<_>>())
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| l.starts_with("virsh "))
        .collect();
    assert_eq!(
        cmds,
        libvirt::README_COMMANDS,
        "the README's virsh commands are not the ones the tests run"
    );
    let vi: Vec<String> = blocks("sh")
        .iter()
        .filter(|b| b.starts_with("virt-install "))
        .map(|b| b.replace("\\\n", " "))
        .flat_map(|b| b.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let want: Vec<String> = std::iter::once("virt-install".to_string())
        .chain(libvirt::VIRT_INSTALL.iter().map(|a| {
            libvirt::PLACEHOLDERS
                .iter()
                .fold(a.to_string(), |a, (k, v)| a.replace(k, v))
        }))
        .collect();
    assert_eq!(
        vi, want,
        "the README's virt-install command is not the one the tests run"
    );
}

/// The README's IPv6 section shows [`libvirt::NETWORK6_XML`], the network
/// `libvirt_ipv6_network_dhcpv6_and_tftp_over_ipv6` defines. No root
/// needed.
#[test]
fn readme_ipv6_libvirt_network_is_the_tested_xml() {
    let readme = std::fs::read_to_string(xtask::root().join("README.md")).expect("README.md");
    let ipv6 = &readme[readme
        .find("\n## IPv6\n")
        .expect("README has no IPv6 section")..];
    let ipv6 = &ipv6[..ipv6[1..].find("\n## ").map(|i| i + 1).unwrap_or(ipv6.len())];
    let at = ipv6
        .find("**libvirt:**")
        .expect("the IPv6 section has no **libvirt:** paragraph");
    let block = ipv6[at..]
        .split("```xml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("no XML block after it");
    let want = libvirt::fill(
        &libvirt::read_xml(libvirt::NETWORK6_XML),
        &[("@TFTP_ROOT@", Path::new("/srv/tftp"))],
    );
    assert_eq!(
        block,
        want,
        "the README's IPv6 libvirt network differs from {}",
        libvirt::NETWORK6_XML
    );
}

/// The IPv6 network is the IPv4 one ([`libvirt::NETWORK_XML`]) with the
/// IPv6 `<ip>`, the dnsmasq options and their namespace added, nothing
/// else changed. No root needed.
#[test]
fn the_ipv6_network_is_the_ipv4_one_plus_ipv6() {
    let v4 = libvirt::read_xml(libvirt::NETWORK_XML);
    let v6 = libvirt::read_xml(libvirt::NETWORK6_XML);
    let v6 = v6.replacen(
        "<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>",
        "<network>",
        1,
    );
    let from = v6.find("  <ip family='ipv6'").expect("an IPv6 <ip>");
    let to =
        v6.find("</dnsmasq:options>\n").expect("dnsmasq options") + "</dnsmasq:options>\n".len();
    let stripped = format!("{}{}", &v6[..from], &v6[to..]);
    assert_eq!(
        stripped,
        v4,
        "{} is not {} plus IPv6",
        libvirt::NETWORK6_XML,
        libvirt::NETWORK_XML
    );
}

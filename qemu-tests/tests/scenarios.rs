//! The QEMU scenario suite: how pxeinit chooses a config and what the
//! target receives, one boot per test, each with its own TFTP root (slirp).
//!
//! The configs are written as the tools that generate them in the field
//! write them (Foreman's and Cobbler's PXELinux templates, rendered; an
//! admin's hand-written files with CRLF line ends, tabs and comments), and
//! the payloads are third-party: Debian's s390x kernel with Debian's
//! busybox as the target's /init ([`busybox_target`]).
//!
//! Run one with its console: `QEMU_ECHO=1 cargo test -p qemu-tests --test
//! scenarios -- --nocapture config_by_uuid_file`.

use std::time::Duration;

use qemu_tests::*;

/// Join `lines` with CRLF, as a config edited on Windows or written by a
/// tool that emits DOS line ends.
fn crlf(lines: &[&str]) -> String {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s
}

/// A config that must not be chosen: its kernel does not exist, so
/// choosing it fails the boot (and the test) with pxeinit's error line.
fn decoy(name: &str) -> String {
    crlf(&[
        &format!("# {name}: must not be chosen by this host"),
        "DEFAULT wrong",
        "LABEL wrong",
        &format!("\tKERNEL images/not-for-this-host/{name}"),
    ])
}

/// The config with `name` was chosen and the label `label` booted.
fn config_line(name: &str, label: &str) -> String {
    format!("config pxelinux.cfg/{name}, label {label}")
}

/// Config chosen by MAC: Foreman's "Preseed default PXELinux" template,
/// rendered for a Debian host (Foreman writes `pxelinux.cfg/01-<mac>`,
/// LF line ends, four-space indent, the initrd inside APPEND, IPAPPEND 2).
#[test]
fn config_by_mac_file() {
    let mac = "52:54:00:6d:ac:01";
    let root = tftp_root("scenario-mac");
    put(&root, "boot/debian-mirror-s390x-linux", debian_kernel());
    put(
        &root,
        "boot/debian-mirror-s390x-initrd.gz",
        busybox_target("SCENARIO-MAC-OK"),
    );
    put(&root, "pxelinux.cfg/default", decoy("default"));
    put(&root, "pxelinux.cfg/0A00020F", decoy("0A00020F"));
    put(
        &root,
        &mac_file(mac),
        "#\n\
         # This file was deployed via 'Preseed default PXELinux' template\n\
         #\n\
         # Supported host/hostgroup parameters:\n\
         #\n\
         # blacklist = module1, module2\n\
         #   Blacklisted kernel modules\n\
         #\n\
         # lang = en_US\n\
         #   System locale\n\
         #\n\
         \n\
         DEFAULT linux\n\
         \n\
         LABEL linux\n    \
             KERNEL boot/debian-mirror-s390x-linux\n    \
             APPEND initrd=boot/debian-mirror-s390x-initrd.gz interface=auto url=http://foreman.example.com/unattended/provision ramdisk_size=10800 root=/dev/rd/0 rw auto hostname=zguest01.example.com auto=true domain=example.com locale=en_US console=ttysclp0\n    \
             IPAPPEND 2\n\
         \n\
         \n",
    );
    let _l = qemu_lock();
    let con = netboot(&root, mac, None, &["TARGET-CMDLINE"], 240);
    report("config_by_mac_file", &con);
    assert_in_order(
        &con,
        &[
            "pxeinit: dhcp: lease 10.0.2.15",
            &config_line("01-52-54-00-6d-ac-01", "linux"),
            "booting the new kernel",
            "SCENARIO-MAC-OK",
            "url=http://foreman.example.com/unattended/provision",
        ],
    );
    let (_, cmd) = con.find("TARGET-CMDLINE").expect("target command line");
    assert!(
        cmd.contains("BOOTIF=01-52-54-00-6d-ac-01"),
        "IPAPPEND 2 lost: {cmd}"
    );
}

/// Config chosen by UUID (QEMU `-uuid`; the guest sees it as `VM00 UUID`
/// in /proc/sysinfo): PXELINUX tries the UUID file before the MAC file, so
/// the MAC, hex-IP and default files present here must all lose. Written
/// by a provisioning script: CRLF, tabs, comments.
#[test]
fn config_by_uuid_file() {
    let mac = "52:54:00:6d:ac:02";
    let uuid = "5a1f0b3c-8d2e-4f61-9a7b-0c1d2e3f4a5b";
    let root = tftp_root("scenario-uuid");
    put(&root, "debian/linux", debian_kernel());
    put(
        &root,
        "debian/initrd.gz",
        busybox_target("SCENARIO-UUID-OK"),
    );
    put(&root, "pxelinux.cfg/default", decoy("default"));
    put(&root, "pxelinux.cfg/0A00020F", decoy("0A00020F"));
    put(&root, &mac_file(mac), decoy("mac"));
    put(
        &root,
        &format!("pxelinux.cfg/{uuid}"),
        crlf(&[
            &format!("# zguest07 (uuid {uuid})"),
            "# written by provision-zvm.sh -- regenerated nightly, do not edit",
            "DEFAULT\tinstall",
            "PROMPT\t0",
            "",
            "LABEL install",
            "\tKERNEL\tdebian/linux",
            "\tINITRD\tdebian/initrd.gz",
            "\tAPPEND\tconsole=ttysclp0 auto=true hostname=zguest07 chosen-by=uuid",
        ]),
    );
    let _l = qemu_lock();
    let con = netboot(&root, mac, Some(uuid), &["TARGET-CMDLINE"], 240);
    report("config_by_uuid_file", &con);
    assert_in_order(
        &con,
        &[
            &format!("machine UUID {uuid}"),
            &config_line(uuid, "install"),
            "booting the new kernel",
            "SCENARIO-UUID-OK",
            "TARGET-CMDLINE: console=ttysclp0 auto=true hostname=zguest07 chosen-by=uuid",
        ],
    );
}

/// Config chosen by a hex-IP prefix: slirp leases 10.0.2.15 (`0A00020F`);
/// only `0A00` (this /16) and `0A` (this /8) exist, and PXELINUX drops one
/// hex digit at a time, so `0A00` must win over `0A` and `default`; a file
/// for another host (`0A000210`) is not a prefix and must be ignored.
#[test]
fn config_by_hex_ip_prefix() {
    let mac = "52:54:00:6d:ac:03";
    let root = tftp_root("scenario-hexip");
    put(&root, "images/debian/linux", debian_kernel());
    put(
        &root,
        "images/debian/initrd.gz",
        busybox_target("SCENARIO-HEXIP-OK"),
    );
    put(&root, "pxelinux.cfg/default", decoy("default"));
    put(&root, "pxelinux.cfg/0A", decoy("0A"));
    put(&root, "pxelinux.cfg/0A000210", decoy("0A000210"));
    put(
        &root,
        "pxelinux.cfg/0A00",
        crlf(&[
            "# pxelinux.cfg/0A00 -- every host in 10.0.0.0/16 (lab zone B)",
            "# maintained by netops, see OPS-1234",
            "default debian",
            "",
            "label debian",
            "\tmenu label Debian s390x installer (lab zone B)",
            "\tkernel images/debian/linux",
            "\tappend initrd=images/debian/initrd.gz console=ttysclp0 priority=critical zone=lab-b",
        ]),
    );
    let _l = qemu_lock();
    let con = netboot(&root, mac, None, &["TARGET-CMDLINE"], 240);
    report("config_by_hex_ip_prefix", &con);
    assert_in_order(
        &con,
        &[
            "pxeinit: dhcp: lease 10.0.2.15",
            &config_line("0A00", "debian"),
            "booting the new kernel",
            "SCENARIO-HEXIP-OK",
            "zone=lab-b",
        ],
    );
}

/// Config chosen by `default`: files for other hosts (MAC, UUID, another
/// subnet) are present and must not match.
#[test]
fn config_by_default() {
    let mac = "52:54:00:6d:ac:04";
    let root = tftp_root("scenario-default");
    put(&root, "images/debian/linux", debian_kernel());
    put(
        &root,
        "images/debian/initrd.gz",
        busybox_target("SCENARIO-DEFAULT-OK"),
    );
    put(
        &root,
        "pxelinux.cfg/01-52-54-00-99-99-99",
        decoy("other-mac"),
    );
    put(&root, "pxelinux.cfg/C0A80105", decoy("other-subnet"));
    put(&root, "pxelinux.cfg/0B", decoy("other-net"));
    put(
        &root,
        "pxelinux.cfg/d4e1c2b0-0000-4000-8000-000000000001",
        decoy("other-uuid"),
    );
    put(
        &root,
        "pxelinux.cfg/default",
        crlf(&[
            "# /srv/tftp/pxelinux.cfg/default",
            "# Fallback for hosts without a file of their own: the Debian installer.",
            "DEFAULT debian-installer",
            "TIMEOUT 0",
            "",
            "LABEL debian-installer",
            "\tKERNEL images/debian/linux",
            "\tINITRD images/debian/initrd.gz",
            "\tAPPEND console=ttysclp0 fallback=default --- quiet",
        ]),
    );
    let _l = qemu_lock();
    let con = netboot(&root, mac, None, &["TARGET-CMDLINE"], 240);
    report("config_by_default", &con);
    assert_in_order(
        &con,
        &[
            &config_line("default", "debian-installer"),
            "booting the new kernel",
            "SCENARIO-DEFAULT-OK",
            "fallback=default",
        ],
    );
}

/// IPAPPEND 2 reaches the target's /proc/cmdline as `BOOTIF=01-<mac>`:
/// Cobbler's `pxesystem.template`, rendered for a system record
/// (lowercase directives, eight-space indent, absolute paths, `ipappend 2`
/// before `append`).
#[test]
fn ipappend_2_reaches_target() {
    let mac = "52:54:00:6d:ac:05";
    let root = tftp_root("scenario-ipappend");
    put(&root, "images/debian12-s390x/linux", debian_kernel());
    put(
        &root,
        "images/debian12-s390x/initrd.gz",
        busybox_target("SCENARIO-IPAPPEND-OK"),
    );
    put(
        &root,
        &mac_file(mac),
        "default linux\n\
         prompt 0\n\
         timeout 1\n\
         label linux\n        \
                 kernel /images/debian12-s390x/linux\n        \
                 ipappend 2\n        \
                 append initrd=/images/debian12-s390x/initrd.gz console=ttysclp0 auto-install/enable=true netcfg/choose_interface=auto url=http://10.0.2.2/cblr/svc/op/autoinstall/system/zguest05 hostname=zguest05 domain=local.lan suite=bookworm\n",
    );
    let _l = qemu_lock();
    let con = netboot(&root, mac, None, &["TARGET-CMDLINE"], 240);
    report("ipappend_2_reaches_target", &con);
    assert_in_order(
        &con,
        &[
            &config_line("01-52-54-00-6d-ac-05", "linux"),
            "SCENARIO-IPAPPEND-OK",
            "TARGET-CMDLINE",
        ],
    );
    let (_, cmd) = con.find("TARGET-CMDLINE").expect("target command line");
    let words: Vec<&str> = cmd.split_whitespace().collect();
    assert!(
        words.contains(&"BOOTIF=01-52-54-00-6d-ac-05"),
        "the target's /proc/cmdline lacks BOOTIF=01-52-54-00-6d-ac-05: {cmd}"
    );
    assert!(words.contains(&"hostname=zguest05"), "{cmd}");
}

/// PROMPT 1 with TIMEOUT 20 (2 s): the console shows the SAY line and the
/// labels, nobody types (QEMU's stdin is /dev/null), and after about 2 s
/// ONTIMEOUT boots, not DEFAULT.
#[test]
fn prompt_timeout_boots_ontimeout() {
    let mac = "52:54:00:6d:ac:06";
    let root = tftp_root("scenario-prompt");
    put(&root, "images/debian/linux", debian_kernel());
    put(
        &root,
        "images/debian/install.gz",
        busybox_target("SCENARIO-ONTIMEOUT-INSTALL"),
    );
    put(
        &root,
        "images/debian/rescue.gz",
        busybox_target("SCENARIO-WRONG-RESCUE"),
    );
    let say = "Lab s390x netboot: type a label and press ENTER; in 2 s the installer starts.";
    put(
        &root,
        "pxelinux.cfg/default",
        crlf(&[
            "# pxelinux.cfg/default -- s390x lab, hand-maintained",
            &format!("SAY {say}"),
            "PROMPT 1",
            "TIMEOUT 20",
            "DEFAULT rescue",
            "ONTIMEOUT install",
            "",
            "LABEL install",
            "\tMENU LABEL ^Install Debian 12 (automated)",
            "\tKERNEL images/debian/linux",
            "\tINITRD images/debian/install.gz",
            "\tAPPEND console=ttysclp0 auto=true priority=critical",
            "",
            "LABEL rescue",
            "\tMENU LABEL ^Rescue shell",
            "\tKERNEL images/debian/linux",
            "\tINITRD images/debian/rescue.gz",
            "\tAPPEND console=ttysclp0 rescue/enable=true",
        ]),
    );
    let _l = qemu_lock();
    let con = netboot(&root, mac, None, &["TARGET-CMDLINE"], 240);
    report("prompt_timeout_boots_ontimeout", &con);
    assert_in_order(
        &con,
        &[
            say,
            "Install Debian 12 (automated)",
            "Rescue shell",
            "booting the new kernel",
            "SCENARIO-ONTIMEOUT-INSTALL",
            "TARGET-CMDLINE: console=ttysclp0 auto=true priority=critical",
        ],
    );
    assert_absent(&con, "SCENARIO-WRONG-RESCUE");
    // The wait: from the last menu line to pxeinit's word that the prompt
    // timed out (other lines, the IPv6 side's say, may come in between).
    let i = con
        .lines
        .iter()
        .position(|(_, l)| l.contains("Rescue shell"))
        .expect("menu line");
    let shown = con.lines[i].0;
    let (next, line) = con.lines[i + 1..]
        .iter()
        .find(|(_, l)| l.contains("pxeinit: prompt: timeout"))
        .cloned()
        .expect("the prompt's timeout after the menu");
    let waited = next - shown;
    eprintln!("prompt: waited {waited:.2} s after the menu (next: {line})");
    assert!(
        (1.5..=5.0).contains(&waited),
        "TIMEOUT 20 should wait about 2 s after the menu, waited {waited:.2} s:\n{}",
        con.text()
    );
}

/// `pxe.label=rescue` on the first stage's command line (baked into this
/// test's own pxelinux.0) boots `rescue` although DEFAULT says `install`.
#[test]
fn pxe_label_overrides_default() {
    let mac = "52:54:00:6d:ac:07";
    let img = pxelinux0_with("label-rescue", "console=ttysclp0 quiet pxe.label=rescue");
    let root = tftp_root_with("scenario-label", &img);
    put(&root, "images/debian/linux", debian_kernel());
    put(
        &root,
        "images/debian/install.gz",
        busybox_target("SCENARIO-WRONG-INSTALL"),
    );
    put(
        &root,
        "images/debian/rescue.gz",
        busybox_target("SCENARIO-LABEL-RESCUE"),
    );
    put(
        &root,
        &mac_file(mac),
        crlf(&[
            "# zguest08 -- reinstall scheduled",
            "DEFAULT install",
            "PROMPT 0",
            "",
            "LABEL install",
            "\tKERNEL images/debian/linux",
            "\tINITRD images/debian/install.gz",
            "\tAPPEND console=ttysclp0 auto=true",
            "",
            "LABEL rescue",
            "\tKERNEL images/debian/linux",
            "\tINITRD images/debian/rescue.gz",
            "\tAPPEND console=ttysclp0 rescue/enable=true",
        ]),
    );
    let _l = qemu_lock();
    let con = netboot(&root, mac, None, &["TARGET-CMDLINE"], 240);
    report("pxe_label_overrides_default", &con);
    assert_in_order(
        &con,
        &[
            &config_line("01-52-54-00-6d-ac-07", "rescue"),
            "booting the new kernel",
            "SCENARIO-LABEL-RESCUE",
            "TARGET-CMDLINE: console=ttysclp0 rescue/enable=true",
        ],
    );
    assert_absent(&con, "SCENARIO-WRONG-INSTALL");
}

/// A 64 MiB (incompressible) initrd boots: downloaded, kexec'd, and the
/// target kernel unpacks it and runs its /init.
#[test]
fn big_initrd_64mib_boots() {
    const MIB: usize = 1 << 20;
    let mac = "52:54:00:6d:ac:08";
    let root = tftp_root("scenario-64mib");
    put(&root, "images/debian/linux", debian_kernel());
    let initrd = xtask::payload::target_initrd("BIG-INITRD-64MIB", 64 * MIB)
        .unwrap_or_else(|e| panic!("target initrd: {e}"));
    assert!(initrd.len() >= 64 * MIB, "initrd is {} bytes", initrd.len());
    put(&root, "images/debian/big.cpio", &initrd);
    put(
        &root,
        "pxelinux.cfg/default",
        crlf(&[
            "# live image with the whole root file system in the initrd",
            "DEFAULT live",
            "LABEL live",
            "\tKERNEL images/debian/linux",
            "\tINITRD images/debian/big.cpio",
            "\tAPPEND console=ttysclp0 boot=live big=64M",
        ]),
    );
    let _l = qemu_lock();
    let g = Guest {
        tftp_root: Some(root),
        mac: Some(mac.into()),
        memory_mb: 1536,
        echo: echo(),
        ..Default::default()
    };
    let con = g
        .run(&["TARGET-CMDLINE", "retrying in"], Duration::from_secs(300))
        .expect("qemu");
    report("big_initrd_64mib_boots", &con);
    assert_in_order(
        &con,
        &[
            &format!("initrd: {} bytes", initrd.len()),
            "booting the new kernel",
            "BIG-INITRD-64MIB",
            "TARGET-CMDLINE: console=ttysclp0 boot=live big=64M",
        ],
    );
    let t0 = con
        .find("booting the new kernel")
        .map(|l| l.0)
        .unwrap_or(0.0);
    let t1 = con.find("TARGET-CMDLINE").map(|l| l.0).unwrap_or(0.0);
    eprintln!("64 MiB: kexec at {t0:.1} s, target /init at {t1:.1} s (wall)");
}

/// No config anywhere (no MAC, UUID, hex-IP or default file): one clear
/// line naming the server and what was tried, then the retry message. The
/// test kills QEMU at the retry message.
#[test]
fn no_config_shows_retry() {
    let mac = "52:54:00:6d:ac:09";
    let root = tftp_root("scenario-noconfig");
    let _l = qemu_lock();
    let con = netboot(&root, mac, None, &[], 240);
    report("no_config_shows_retry", &con);
    assert_in_order(
        &con,
        &[
            "pxeinit: dhcp: lease 10.0.2.15",
            "no PXELINUX config on 10.0.2.2",
            "retrying in",
        ],
    );
    let (_, line) = con.find("no PXELINUX config").expect("error line");
    for tried in [
        "pxelinux.cfg/01-52-54-00-6d-ac-09",
        "pxelinux.cfg/0A00020F",
        "pxelinux.cfg/0A",
        "pxelinux.cfg/default",
    ] {
        assert!(
            line.contains(tried),
            "the error line does not name {tried}: {line}"
        );
    }
    assert_absent(&con, "booting the new kernel");
    assert_absent(&con, "Kernel panic");
}

//! Netboots over IPv6 through QEMU's slirp: the firmware loads
//! `pxelinux.0` over TFTP/IPv6, pxeinit gets its address by SLAAC, the
//! boot server and file from DHCPv6 option 59 (slirp answers a stateless
//! INFORMATION-REQUEST with `tftp://[fec0:0000:...:0002]/pxelinux.0`), and
//! reads the config, kernel and initrd from fec0::2; then the same on a
//! dual-stack network, where the console says which family led.
//!
//! Run one with its console: `QEMU_ECHO=1 cargo test -p qemu-tests --test
//! ipv6 -- --nocapture ipv6_only_slirp`.

use std::path::Path;
use std::time::Duration;

use qemu_tests::*;

/// A TFTP root for `mac`: its `01-<mac>` config boots a busybox target
/// printing `marker` with `append`; `default` must not be chosen.
fn root_for(name: &str, mac: &str, marker: &str, append: &str) -> std::path::PathBuf {
    let root = tftp_root(name);
    put(&root, "images/debian/linux", debian_kernel());
    put(&root, "images/debian/initrd.gz", busybox_target(marker));
    put(
        &root,
        "pxelinux.cfg/default",
        "DEFAULT wrong\nLABEL wrong\n KERNEL images/not-for-this-host/default\n",
    );
    put(
        &root,
        &mac_file(mac),
        format!(
            "# {mac}, over IPv6 or IPv4 alike\n\
             DEFAULT install\n\
             LABEL install\n  \
               KERNEL images/debian/linux\n  \
               INITRD images/debian/initrd.gz\n  \
               APPEND {append}\n"
        ),
    );
    root
}

fn boot(root: &Path, mac: &str, netdev_options: &str) -> Console {
    let g = Guest {
        tftp_root: Some(root.to_path_buf()),
        mac: Some(mac.into()),
        netdev_options: netdev_options.into(),
        echo: echo(),
        ..Default::default()
    };
    g.run(&["TARGET-CMDLINE", "retrying in"], Duration::from_secs(240))
        .expect("qemu")
}

/// The seconds between the first console line containing `a` and the
/// first containing `b` after it (pxeinit's own clock stamps).
fn between(con: &Console, a: &str, b: &str) -> Option<f64> {
    let i = con.lines.iter().position(|(_, l)| l.contains(a))?;
    let j = i + con.lines[i..].iter().position(|(_, l)| l.contains(b))?;
    Some(con.lines[j].0 - con.lines[i].0)
}

/// IPv6 only (`ipv4=off,ipv6=on`): no DHCPv4 answers at all.
#[test]
fn ipv6_only_slirp() {
    if !need("ipv6_only_slirp", &[]) {
        return;
    }
    let mac = "52:54:00:6d:ac:61";
    let append = "console=ttysclp0 chosen-over=ipv6 hostname=zguest61";
    let root = root_for("ipv6-only", mac, "IPV6-ONLY-OK", append);
    let _l = qemu_lock();
    let con = boot(&root, mac, ",ipv4=off,ipv6=on");
    report("ipv6_only_slirp", &con);
    assert_in_order(
        &con,
        &[
            // The firmware: DHCPv4 gets nothing, it falls back to IPv6.
            "Using IPv6 address: fec0::",
            "Using TFTP server: fec0::2",
            "pxeinit: dhcp6: SLAAC address fec0::5054:ff:fe6d:ac61/64 on eth0, \
             boot file URL tftp://[fec0:0000:0000:0000:0000:0000:0000:0002]/pxelinux.0",
            "network: IPv6 leads on",
            "config pxelinux.cfg/01-52-54-00-6d-ac-61, label install",
            "booting the new kernel",
            "IPV6-ONLY-OK",
            &format!("TARGET-CMDLINE: {append}"),
        ],
    );
    assert_absent(&con, "retrying in");
    if let Some(s) = between(&con, "pxeinit: ", "network: IPv6 leads") {
        eprintln!("ipv6_only_slirp: pxeinit start to IPv6 lease: {s:.1} s (host wall clock)");
    }
}

/// Dual stack (`ipv4=on,ipv6=on`): both families answer; IPv4 leads (its
/// lease comes first, or within the grace window), and the console says
/// so.
#[test]
fn dual_stack_slirp_says_which_family_led() {
    if !need("dual_stack_slirp_says_which_family_led", &[]) {
        return;
    }
    let mac = "52:54:00:6d:ac:62";
    let append = "console=ttysclp0 chosen-over=dual-stack";
    let root = root_for("ipv6-dual", mac, "DUAL-STACK-OK", append);
    let _l = qemu_lock();
    let con = boot(&root, mac, ",ipv4=on,ipv6=on");
    report("dual_stack_slirp_says_which_family_led", &con);
    assert_in_order(
        &con,
        &[
            "pxeinit: dhcp: lease 10.0.2.15",
            "network: IPv4 leads on",
            "config pxelinux.cfg/01-52-54-00-6d-ac-62, label install",
            "DUAL-STACK-OK",
            &format!("TARGET-CMDLINE: {append}"),
        ],
    );
    assert_absent(&con, "network: IPv6 leads");
}

/// A static IPv6 address on the first-stage command line, dracut's
/// bracket form (`ip=[fec0::15]:[fec0::2]:[fec0::2]:64::eth0:none`), on
/// slirp's IPv6-only network: no DHCP, the boot server from the second
/// field, and `IPAPPEND 1` hands the same addresses to the target.
#[test]
fn static_ipv6_on_the_command_line() {
    if !need("static_ipv6_on_the_command_line", &[]) {
        return;
    }
    let mac = "52:54:00:6d:ac:63";
    let ip = "ip=[fec0::15]:[fec0::2]:[fec0::2]:64::eth0:none";
    let img = pxelinux0_with(
        "static-ipv6",
        &format!("console=ttysclp0 quiet init_on_alloc=0 {ip}"),
    );
    let root = tftp_root_with("ipv6-static", &img);
    put(&root, "images/debian/linux", debian_kernel());
    put(
        &root,
        "images/debian/initrd.gz",
        busybox_target("STATIC-IPV6-OK"),
    );
    put(
        &root,
        &mac_file(mac),
        "DEFAULT install\nLABEL install\n  KERNEL images/debian/linux\n  \
         INITRD images/debian/initrd.gz\n  APPEND console=ttysclp0 static6\n  IPAPPEND 1\n",
    );
    let _l = qemu_lock();
    let con = boot(&root, mac, ",ipv4=off,ipv6=on");
    report("static_ipv6_on_the_command_line", &con);
    assert_in_order(
        &con,
        &[
            "network: IPv6 leads on eth0 (static fec0::15/64, boot server fec0::2)",
            "config pxelinux.cfg/01-52-54-00-6d-ac-63, label install",
            "STATIC-IPV6-OK",
            "TARGET-CMDLINE: console=ttysclp0 static6 ip=[fec0::15]:[fec0::2]:[fec0::2]:64:::none",
        ],
    );
    assert_absent(&con, "dhcp6:");
    assert_absent(&con, "retrying in");
}

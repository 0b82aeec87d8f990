//! `pxeinit boot --interface pxc0 --dry-run` against real servers in
//! network namespaces: see tests/README.md for what each test proves.

use std::time::{Duration, Instant};

use pxeinit_tests::*;

/// A one-label PXELINUX config.
fn cfg(label: &str, kernel: &str, initrd: &str, append: &str) -> String {
    format!(
        "DEFAULT {label}\nLABEL {label}\n  KERNEL {kernel}\n  INITRD {initrd}\n  APPEND {append}\n"
    )
}

/// The usual layout: a MAC-specific config naming `kernel` and `initrd`,
/// and a `default` config naming files that do not exist (so picking the
/// wrong config fails the test). Returns the two sha256s.
fn mac_config(lab: &Lab, kernel_len: usize, initrd_len: usize) -> (String, String) {
    let k = lab.put_random("images/kernel", kernel_len, 1);
    let i = lab.put_random("images/initrd", initrd_len, 2);
    lab.put(
        CLIENT_MAC_CFG,
        cfg(
            "mac",
            "images/kernel",
            "images/initrd",
            "console=ttysclp0 mac",
        ),
    );
    lab.put(
        "pxelinux.cfg/default",
        cfg("wrong", "no-such-kernel", "no-such-initrd", "default"),
    );
    (k, i)
}

fn assert_mac_plan(run: &Run, k: &str, klen: usize, i: &str, ilen: usize) {
    let plan = run.plan();
    assert_eq!(
        plan["config"], CLIENT_MAC_CFG,
        "config; plan:\n{}",
        run.stdout
    );
    assert_eq!(plan["label"], "mac");
    assert_eq!(plan["kernel"], "images/kernel");
    assert_eq!(plan["initrd"][0], "images/initrd");
    assert_eq!(plan["append"], "console=ttysclp0 mac");
    assert_eq!(plan["next"], "dry-run");
    assert_eq!(plan["lease"]["interface"], CLIENT_IF);
    let addr = plan["lease"]["address"].as_str().unwrap_or_default();
    assert!(addr.starts_with("192.168.77."), "lease address {addr}");
    run.assert_download("images/kernel", k, klen as u64);
    run.assert_download("images/initrd", i, ilen as u64);
}

const MIB: usize = 1 << 20;

/// Must show: dnsmasq (DHCP + TFTP), 5% loss both ways on every UDP
/// packet (DHCP included), MAC-specific config, kernel and initrd sha256.
#[test]
fn dnsmasq_mac_config_under_5pct_loss() {
    let Some(lab) = Lab::new("dnsmasq_mac_config_under_5pct_loss", &["dnsmasq"]) else {
        return;
    };
    // dnsmasq 2.90's TFTP is lockstep only (no windowsize), ignores
    // duplicate ACKs and resends a lost block only on its own timer, 2 s
    // after sending it: each lost DATA costs 2 s whatever the client does.
    // At 5% loss that is about 0.1 s per block, so the files are small.
    let (klen, ilen) = (256 * 1024 + 123, 128 * 1024 + 7);
    let (k, i) = mac_config(&lab, klen, ilen);
    lab.dnsmasq(true, &["--dhcp-boot=pxelinux.0"]);
    lab.loss(5, false);
    let run = lab.pxeinit(&["--timeout", "60"], Duration::from_secs(150));
    assert_mac_plan(&run, &k, klen, &i, ilen);
    assert_eq!(run.plan()["lease"]["boot_server"], "192.168.77.1");
    assert!(
        lab.nft_list(&lab.cli_ns).contains("counter packets"),
        "no loss counters"
    );
    eprintln!("dnsmasq 5% loss: {:.1} s", run.secs);
}

/// ISC Kea: next-server, boot-file-name and the PXELINUX options 209
/// (config file) and 210 (path prefix), files from tftpd-hpa.
#[test]
fn kea_options_209_210_with_tftpd_hpa() {
    let Some(lab) = Lab::new(
        "kea_options_209_210_with_tftpd_hpa",
        &["kea-dhcp4", "in.tftpd"],
    ) else {
        return;
    };
    let k = lab.put_random("s390x/images/kernel", MIB + 5, 3);
    let i = lab.put_random("s390x/images/initrd", 700_000, 4);
    lab.put(
        "s390x/configs/kea.cfg",
        cfg("kea", "images/kernel", "images/initrd", "from=kea"),
    );
    lab.put(
        &format!("s390x/{CLIENT_MAC_CFG}"),
        cfg("wrong", "x", "y", "wrong"),
    );
    lab.tftpd_hpa(SERVER);
    lab.kea(
        r#"{
          "interfaces-config": { "interfaces": [ "srv0" ] },
          "lease-database": { "type": "memfile", "persist": false },
          "valid-lifetime": 3600,
          "option-def": [
            { "name": "pxelinux-configfile", "code": 209, "type": "string", "space": "dhcp4" },
            { "name": "pxelinux-pathprefix", "code": 210, "type": "string", "space": "dhcp4" }
          ],
          "subnet4": [ {
            "id": 1, "subnet": "192.168.77.0/24",
            "pools": [ { "pool": "192.168.77.100 - 192.168.77.120" } ],
            "next-server": "192.168.77.1", "boot-file-name": "s390x/pxelinux.0",
            "option-data": [
              { "name": "routers", "data": "192.168.77.1" },
              { "name": "pxelinux-configfile", "data": "configs/kea.cfg", "always-send": true },
              { "name": "pxelinux-pathprefix", "data": "s390x/", "always-send": true }
            ]
          } ],
          "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "stdout" } ], "severity": "INFO" } ]
        }"#,
    );
    let run = lab.pxeinit(&["--timeout", "30"], Duration::from_secs(60));
    let plan = run.plan();
    assert_eq!(
        plan["lease"]["config_file"], "configs/kea.cfg",
        "{}",
        run.stdout
    );
    assert_eq!(plan["lease"]["path_prefix"], "s390x/");
    assert_eq!(plan["lease"]["next_server"], "192.168.77.1");
    assert_eq!(plan["lease"]["bootfile"], "s390x/pxelinux.0");
    assert_eq!(plan["label"], "kea");
    assert_eq!(plan["append"], "from=kea");
    let kd = plan["downloads"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["bytes"] == MIB as u64 + 5))
        .unwrap_or_else(|| panic!("kernel download missing:\n{}", run.stdout));
    assert_eq!(kd["sha256"], k.as_str());
    assert!(
        kd["from"]
            .as_str()
            .unwrap_or_default()
            .ends_with("s390x/images/kernel"),
        "{kd}"
    );
    let id = plan["downloads"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["bytes"] == 700_000u64))
        .unwrap_or_else(|| panic!("initrd download missing:\n{}", run.stdout));
    assert_eq!(id["sha256"], i.as_str());
}

/// busybox udhcpd (siaddr + boot_file) with the RFC 7440 server: 64 MiB
/// under 2% loss both ways, windowsize negotiated.
#[test]
fn udhcpd_rfc7440_64mib_under_2pct_loss() {
    let Some(lab) = Lab::new("udhcpd_rfc7440_64mib_under_2pct_loss", &["busybox"]) else {
        return;
    };
    let (k, i) = mac_config(&lab, 64 * MIB, 1000);
    lab.udhcpd("siaddr 192.168.77.1\nboot_file pxelinux.0\n");
    lab.rfc7440d(SERVER);
    lab.loss(2, true);
    let run = lab.pxeinit(&["--timeout", "30"], Duration::from_secs(240));
    assert_mac_plan(&run, &k, 64 * MIB, &i, 1000);
    let log = lab.log("rfc7440d");
    assert!(
        log.contains("window_size: Some(16)"),
        "the RFC 7440 server did not acknowledge windowsize 16:\n{}",
        log.lines()
            .filter(|l| l.contains("OACK"))
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "rfc7440 64 MiB 2% loss: kernel {:.1} s, total {:.1} s",
        run.download("images/kernel")["seconds"]
            .as_f64()
            .unwrap_or(0.0),
        run.secs
    );
}

/// tftpd-hpa in lockstep, 4 MiB under 10% loss both ways (DHCP spared).
///
/// Not 30%: in lockstep a lost DATA block is resent only on the server's
/// timer, and tftpd-hpa gives up after 6 unanswered retransmissions; at
/// 30% loss that happens about once per 3000 blocks whatever the client
/// does, so a 4 MiB transfer would fail about half the time.
#[test]
fn tftpd_hpa_4mib_under_10pct_loss() {
    let Some(lab) = Lab::new("tftpd_hpa_4mib_under_10pct_loss", &["dnsmasq", "in.tftpd"]) else {
        return;
    };
    let (k, i) = mac_config(&lab, 4 * MIB, 1000);
    lab.dnsmasq(false, &["--dhcp-boot=pxelinux.0,,192.168.77.1"]);
    lab.tftpd_hpa(SERVER);
    lab.loss(10, true);
    let run = lab.pxeinit(&["--timeout", "30"], Duration::from_secs(180));
    assert_mac_plan(&run, &k, 4 * MIB, &i, 1000);
    // The transfer's TFTP statistics are in the plan: what was negotiated
    // with tftpd-hpa (no windowsize), and the losses repaired.
    let t = &run.download("images/kernel")["tftp"];
    assert_eq!(t["blksize"], 1468, "{t}");
    assert_eq!(t["windowsize"], 1, "{t}");
    assert_eq!(t["tsize"], 4 * MIB, "{t}");
    assert!(
        t["retransmits"].as_u64().is_some_and(|r| r > 0),
        "10% loss and no retransmits: {t}"
    );
    assert!(t["srtt_ms"].as_f64().is_some_and(|r| r > 0.0), "{t}");
    eprintln!("tftpd-hpa 4 MiB 10% loss: {:.1} s, {t}", run.secs);
}

/// The RFC 7440 server with windowsize under 30% loss both ways.
///
/// 256 KiB, not 4 MiB: async-tftp ignores an ACK of the block before its
/// window (what a client sends when the window's first block is lost) and
/// resends only after its timeout (the client's `timeout` option, at
/// least 1 s), so at 30% loss each window costs about 0.3 s.
#[test]
fn rfc7440_under_30pct_loss() {
    let Some(lab) = Lab::new("rfc7440_under_30pct_loss", &["dnsmasq"]) else {
        return;
    };
    let (k, i) = mac_config(&lab, 256 * 1024, 1000);
    lab.dnsmasq(false, &["--dhcp-boot=pxelinux.0,,192.168.77.1"]);
    lab.rfc7440d(SERVER);
    lab.loss(30, true);
    let run = lab.pxeinit(&["--timeout", "30"], Duration::from_secs(180));
    assert_mac_plan(&run, &k, 256 * 1024, &i, 1000);
    eprintln!("rfc7440 256 KiB 30% loss: {:.1} s", run.secs);
}

fn relay_test(name: &str, rfc7440: bool, klen: usize, imp: Impair) {
    let need: &[&str] = if rfc7440 {
        &["dnsmasq"]
    } else {
        &["dnsmasq", "in.tftpd"]
    };
    let Some(lab) = Lab::new(name, need) else {
        return;
    };
    let (k, i) = mac_config(&lab, klen, 300_001);
    // DHCP names the relay (.2) as next server; the real server is on .1.
    lab.dnsmasq(false, &["--dhcp-boot=pxelinux.0,,192.168.77.2"]);
    if rfc7440 {
        lab.rfc7440d(SERVER);
    } else {
        lab.tftpd_hpa(SERVER);
    }
    let relay = Relay::start(&lab, SERVER2, SERVER, imp);
    let run = lab.pxeinit(&["--timeout", "30"], Duration::from_secs(180));
    assert_mac_plan(&run, &k, klen, &i, 300_001);
    assert_eq!(run.plan()["lease"]["boot_server"], "192.168.77.2");
    let st = relay.stats();
    eprintln!("{name}: {st:?}, {:.1} s", run.secs);
    assert!(
        st.down as usize > klen / 1468,
        "the relay carried too little: {st:?}"
    );
    if imp.dup > 0 {
        assert!(st.dups > 100, "too few duplicates: {st:?}");
    }
    if imp.reorder > 0 {
        assert!(st.reordered > 100, "too few reorderings: {st:?}");
    }
    if imp.junk > 0 {
        assert!(st.junk > 100, "too little junk: {st:?}");
    }
}

/// Duplication and reordering (relay), tftpd-hpa in lockstep. (In
/// lockstep a held packet has no successor to overtake it, so it is
/// delayed 30 ms instead; 2 MiB keeps that affordable.)
#[test]
fn tftpd_hpa_duplication_and_reordering() {
    relay_test(
        "tftpd_hpa_duplication_and_reordering",
        false,
        2 * MIB + 1,
        Impair {
            dup: 10,
            reorder: 10,
            junk: 0,
        },
    );
}

/// Duplication and reordering (relay), RFC 7440 server with windows.
#[test]
fn rfc7440_duplication_and_reordering() {
    relay_test(
        "rfc7440_duplication_and_reordering",
        true,
        8 * MIB + 1,
        Impair {
            dup: 10,
            reorder: 10,
            junk: 0,
        },
    );
}

/// Garbage and truncated packets: junk DHCP replies broadcast while the
/// client waits for an OFFER (its first DISCOVER is dropped, so it waits
/// 4 s in the flood), random datagrams to every client port (wrong TID),
/// and truncated or garbage packets from the server's own TID (relay).
#[test]
fn garbage_and_truncated_packets() {
    let Some(lab) = Lab::new("garbage_and_truncated_packets", &["dnsmasq"]) else {
        return;
    };
    let (k, i) = mac_config(&lab, 16 * MIB + 3, 100_000);
    lab.dnsmasq(false, &["--dhcp-boot=pxelinux.0,,192.168.77.2"]);
    lab.rfc7440d(SERVER);
    lab.nft(
        &lab.srv_ns,
        "table netdev pxt_first {\n  chain in {\n    type filter hook ingress device \"srv0\" priority 0; policy accept;\n    \
         udp dport 67 limit rate 1/hour burst 1 packets counter drop\n  }\n}\n",
    );
    let relay = Relay::start(
        &lab,
        SERVER2,
        SERVER,
        Impair {
            dup: 0,
            reorder: 0,
            junk: 10,
        },
    );
    let junk = Junk::start(&lab);
    let running = lab.start_pxeinit(&["--timeout", "30"]);
    junk.target(running.pid());
    let run = running.wait(Duration::from_secs(120));
    assert_mac_plan(&run, &k, 16 * MIB + 3, &i, 100_000);
    let st = relay.stats();
    let sprayed = junk.sent.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "garbage: relay {st:?}, sprayed {sprayed}, {:.1} s",
        run.secs
    );
    assert!(st.junk > 500, "too little junk from the server TID: {st:?}");
    assert!(sprayed > 500, "the sprayer sent only {sprayed} packets");
    assert!(
        run.plan()["lease"]["seconds"].as_f64().unwrap_or(0.0) > 3.0,
        "the first DISCOVER was not dropped"
    );
}

/// HTTP from nginx: Content-Length, chunked encoding and a 302 redirect,
/// the config itself from dnsmasq's TFTP.
#[test]
fn nginx_http_downloads() {
    let Some(lab) = Lab::new("nginx_http_downloads", &["dnsmasq", "nginx"]) else {
        return;
    };
    let k = lab.put_random("images/kernel", 5 * MIB + 11, 5);
    let i1 = lab.put_random("images/initrd", 2 * MIB + 1, 6);
    let i2 = lab.put_random("images/extra", 100_003, 7);
    let base = "http://192.168.77.1:8080";
    lab.put(
        CLIENT_MAC_CFG,
        format!(
            "DEFAULT http\nLABEL http\n  KERNEL {base}/images/kernel\n  INITRD {base}/chunked/images/initrd,{base}/redir/images/extra\n  APPEND via=http\n"
        ),
    );
    lab.dnsmasq(true, &["--dhcp-boot=pxelinux.0"]);
    lab.nginx();
    let run = lab.pxeinit(&["--timeout", "30"], Duration::from_secs(60));
    let plan = run.plan();
    assert_eq!(plan["append"], "via=http");
    run.assert_download(&format!("{base}/images/kernel"), &k, 5 * MIB as u64 + 11);
    run.assert_download(
        &format!("{base}/chunked/images/initrd"),
        &i1,
        2 * MIB as u64 + 1,
    );
    run.assert_download(&format!("{base}/redir/images/extra"), &i2, 100_003);
    let access = std::fs::read_to_string(lab.dir.join("nginx-access.log")).unwrap_or_default();
    assert!(
        access.contains("\"GET /redir/images/extra HTTP/1.1\" 302"),
        "no redirect in the access log:\n{access}"
    );
    assert!(
        access.contains("\"GET /images/extra HTTP/1.1\" 200"),
        "redirect not followed:\n{access}"
    );
    // nginx marks the sub_filter response chunked: no Content-Length.
    assert!(
        access.contains("\"GET /chunked/images/initrd HTTP/1.1\" 200"),
        "{access}"
    );
}

/// No DHCP server: pxeinit gives up within its --timeout with a clear error.
#[test]
fn no_dhcp_server_fails_in_bounded_time() {
    let Some(lab) = Lab::new("no_dhcp_server_fails_in_bounded_time", &[]) else {
        return;
    };
    let run = lab.pxeinit(&["--timeout", "3"], Duration::from_secs(30));
    let err = run.error();
    assert!(
        err.contains("no DHCP lease on pxc0"),
        "unclear error: {err}\n{}",
        run.stderr
    );
    assert!(run.secs < 8.0, "took {:.1} s for --timeout 3", run.secs);
}

/// A NAK restarts DHCP: dnsmasq (authoritative) NAKs the first REQUEST,
/// whose requested address nftables rewrites to one outside the range.
#[test]
fn dhcp_nak_restarts() {
    let Some(lab) = Lab::new("dhcp_nak_restarts", &["dnsmasq"]) else {
        return;
    };
    let (k, i) = mac_config(&lab, 100_000, 1000);
    lab.dnsmasq(true, &["--dhcp-boot=pxelinux.0", "--dhcp-authoritative"]);
    // pxeinit's REQUEST starts its options with 50 (requested address) at
    // UDP payload offset 240 and 53 (message type 3) at 246. Rewrite the
    // address of the first REQUEST to .200 (outside the range) and zero
    // the UDP checksum (allowed for IPv4) so the change stays valid.
    lab.nft(
        &lab.srv_ns,
        "table netdev pxt_nak {\n  chain in {\n    type filter hook ingress device \"srv0\" priority 0; policy accept;\n    \
         udp dport 67 @th,2032,24 0x350103 limit rate 1/hour burst 1 packets counter @th,2000,32 set 0xc0a84dc8 @th,48,16 set 0\n  }\n}\n",
    );
    let run = lab.pxeinit(&["--timeout", "40"], Duration::from_secs(60));
    let dlog = lab.log("dnsmasq");
    assert!(
        dlog.contains("DHCPNAK"),
        "dnsmasq sent no NAK:\n{dlog}\n{}",
        lab.nft_list(&lab.srv_ns)
    );
    assert!(
        run.stderr.contains("NAK"),
        "pxeinit did not report the NAK:\n{}",
        run.stderr
    );
    assert_mac_plan(&run, &k, 100_000, &i, 1000);
}

/// File not found: no config at all (all probe names fail fast), and a
/// config whose kernel is missing.
#[test]
fn file_not_found_is_fast_and_clear() {
    let Some(lab) = Lab::new("file_not_found_is_fast_and_clear", &["dnsmasq"]) else {
        return;
    };
    lab.dnsmasq(true, &["--dhcp-boot=pxelinux.0"]);
    let run = lab.pxeinit(&["--timeout", "20"], Duration::from_secs(60));
    let err = run.error();
    assert!(
        err.contains("no PXELINUX config on 192.168.77.1"),
        "{err}\n{}",
        run.stderr
    );
    assert!(err.contains("pxelinux.cfg/default"), "{err}");
    assert!(
        run.secs < 5.0,
        "config lookup with no config took {:.1} s",
        run.secs
    );

    lab.put(
        CLIENT_MAC_CFG,
        cfg("missing", "images/nope", "images/nope2", ""),
    );
    let run = lab.pxeinit(&["--timeout", "20"], Duration::from_secs(60));
    let err = run.error();
    assert!(
        err.contains("tftp://192.168.77.1/images/nope") && err.contains("not found"),
        "unclear error: {err}\n{}",
        run.stderr
    );
    assert!(run.secs < 5.0, "missing kernel took {:.1} s", run.secs);
}

/// A 64 MiB kernel from tftpd-hpa, with pxeinit's progress shown: the
/// transfer is under way.
fn transfer_under_way(lab: &Lab) -> Running {
    mac_config(lab, 64 * MIB, 1000);
    lab.dnsmasq(false, &["--dhcp-boot=pxelinux.0,,192.168.77.1"]);
    lab.tftpd_hpa(SERVER);
    let mut running = lab.start_pxeinit(&["--timeout", "20"]);
    // Progress lines appear once per second for files over 1 MiB.
    let line = running.wait_line(Duration::from_secs(60), |l| {
        l.contains("images/kernel:") && l.contains("MiB")
    });
    assert!(
        line.is_some(),
        "no progress line from pxeinit (transfer finished too fast or never started)"
    );
    running
}

/// pxeinit ends with an error naming the file within `limit` seconds of
/// `since`.
fn gives_up(running: Running, since: Instant, limit: f64, what: &str) {
    let run = running.wait(Duration::from_secs(90));
    let err = run.error();
    assert!(
        err.contains("tftp://192.168.77.1/images/kernel"),
        "error does not name the file: {err}"
    );
    let after = since.elapsed().as_secs_f64();
    eprintln!("{what}: pxeinit gave up {after:.1} s later: {err}");
    assert!(
        after < limit,
        "{what}: pxeinit took {after:.1} s to give up"
    );
}

/// tftpd-hpa is killed mid-transfer: the kernel reports the closed port
/// (ICMP) and pxeinit stops at once with a clear error.
#[test]
fn server_killed_mid_transfer() {
    let Some(lab) = Lab::new("server_killed_mid_transfer", &["dnsmasq", "in.tftpd"]) else {
        return;
    };
    let running = transfer_under_way(&lab);
    lab.kill("tftpd-hpa");
    gives_up(running, Instant::now(), 30.0, "server killed");
}

/// The server vanishes mid-transfer without a word (every packet to the
/// client, ICMP included, dropped from then on): pxeinit gives up on its
/// own retransmission limit, in bounded time.
#[test]
fn server_vanishes_mid_transfer() {
    let Some(lab) = Lab::new("server_vanishes_mid_transfer", &["dnsmasq", "in.tftpd"]) else {
        return;
    };
    let running = transfer_under_way(&lab);
    lab.nft(
        &lab.cli_ns,
        "table netdev pxt_cut {\n  chain in {\n    type filter hook ingress device \"pxc0\" priority 0; policy accept;\n    \
         drop\n  }\n}\n",
    );
    gives_up(running, Instant::now(), 40.0, "server vanished");
}

/// ONERROR: the chosen kernel is missing on the server, so the ONERROR
/// command (a label) boots instead, as syslinux does.
#[test]
fn onerror_boots_the_fallback() {
    let Some(lab) = Lab::new("onerror_boots_the_fallback", &["dnsmasq"]) else {
        return;
    };
    lab.dnsmasq(true, &["--dhcp-boot=pxelinux.0"]);
    let sha = lab.put_random("images/rescue/linux", 100_000, 3);
    lab.put(
        CLIENT_MAC_CFG,
        "DEFAULT install\nONERROR rescue\nLABEL install\n  KERNEL images/gone/linux\nLABEL rescue\n  KERNEL images/rescue/linux\n  APPEND rescue=1\n",
    );
    let run = lab.pxeinit(&["--timeout", "20"], Duration::from_secs(60));
    let plan = run.plan();
    assert_eq!(plan["label"], "rescue", "{}", run.stderr);
    assert_eq!(plan["append"], "rescue=1");
    run.assert_download("images/rescue/linux", &sha, 100_000);
    assert!(run.stderr.contains("ONERROR rescue"), "{}", run.stderr);
}

/// `--config` (the CLI form of `pxe.config=`): that file is fetched and
/// nothing else is tried, even when a MAC file exists.
#[test]
fn explicit_config_skips_the_lookup() {
    let Some(lab) = Lab::new("explicit_config_skips_the_lookup", &["dnsmasq"]) else {
        return;
    };
    lab.dnsmasq(true, &["--dhcp-boot=pxelinux.0"]);
    let sha = lab.put_random("images/a/linux", 50_000, 5);
    lab.put(
        CLIENT_MAC_CFG,
        "DEFAULT wrong\nLABEL wrong\n  KERNEL images/none\n",
    );
    lab.put(
        "configs/host-a.cfg",
        "DEFAULT a\nLABEL a\n  KERNEL images/a/linux\n  APPEND host=a\n",
    );
    let run = lab.pxeinit(
        &["--timeout", "20", "--config", "configs/host-a.cfg"],
        Duration::from_secs(60),
    );
    let plan = run.plan();
    assert_eq!(plan["config"], "configs/host-a.cfg", "{}", run.stderr);
    assert_eq!(plan["tried"], serde_json::json!(["configs/host-a.cfg"]));
    assert_eq!(plan["append"], "host=a");
    run.assert_download("images/a/linux", &sha, 50_000);

    let run = lab.pxeinit(
        &["--timeout", "20", "--config", "configs/missing.cfg"],
        Duration::from_secs(60),
    );
    let err = run.error();
    assert!(err.contains("configs/missing.cfg"), "{err}");
    assert!(!err.contains(CLIENT_MAC_CFG), "looked further: {err}");
}

/// Option 66 naming the boot server by host name: pxeinit resolves it
/// with the lease's DNS server (dnsmasq) and fetches from that address,
/// not from next-server (where no TFTP server runs).
#[test]
fn option_66_host_name_is_resolved() {
    let Some(lab) = Lab::new("option_66_host_name_is_resolved", &["dnsmasq", "in.tftpd"]) else {
        return;
    };
    let sha = lab.put_random("images/k", 30_000, 9);
    lab.put(CLIENT_MAC_CFG, "DEFAULT k\nLABEL k\n  KERNEL images/k\n");
    lab.tftpd_hpa(SERVER2);
    lab.dnsmasq(
        false,
        &[
            "--port=53",
            "--no-resolv",
            "--no-hosts",
            "--address=/boot.pxt.test/192.168.77.2",
            "--dhcp-option=option:dns-server,192.168.77.1",
            "--dhcp-option=66,boot.pxt.test",
            "--dhcp-boot=pxelinux.0",
        ],
    );
    let run = lab.pxeinit(&["--timeout", "20"], Duration::from_secs(60));
    let plan = run.plan();
    assert_eq!(
        plan["lease"]["tftp_server_name"], "boot.pxt.test",
        "{}",
        run.stderr
    );
    run.assert_download("images/k", &sha, 30_000);
    assert!(
        plan["downloads"][1]["from"]
            .as_str()
            .unwrap_or_default()
            .starts_with("tftp://192.168.77.2/"),
        "{}",
        plan["downloads"]
    );
}

/// Without `--interface`, DHCP runs on every Ethernet interface at once:
/// a second interface whose link has no DHCP server (created first, so it
/// sorts first) does not delay or break the boot on the one that has one.
#[test]
fn all_interfaces_in_parallel() {
    let Some(lab) = Lab::new("all_interfaces_in_parallel", &["dnsmasq"]) else {
        return;
    };
    lab.dnsmasq(true, &["--dhcp-boot=pxelinux.0"]);
    let sha = lab.put_random("images/k", 20_000, 11);
    lab.put(CLIENT_MAC_CFG, "DEFAULT k\nLABEL k\n  KERNEL images/k\n");
    // A dead link: veth pair inside the client namespace, peer up, no server.
    sh(&[
        "ip",
        "-n",
        &lab.cli_ns,
        "link",
        "add",
        "pxa0",
        "type",
        "veth",
        "peer",
        "name",
        "pxa1",
    ]);
    sh(&["ip", "-n", &lab.cli_ns, "link", "set", "pxa1", "up"]);
    let run = lab
        .start_pxeinit_any(&["--timeout", "20"])
        .wait(Duration::from_secs(60));
    let plan = run.plan();
    assert_eq!(plan["lease"]["interface"], CLIENT_IF, "{}", run.stderr);
    run.assert_download("images/k", &sha, 20_000);
    assert!(run.secs < 10.0, "took {:.1} s", run.secs);
}

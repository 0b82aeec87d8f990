//! `pxeinit boot --dry-run` over IPv6 against real servers in network
//! namespaces: dnsmasq's router advertisements with stateless DHCPv6
//! (`ra-stateless`) and stateful DHCPv6 ranges, both with
//! `option6:bootfile-url`; radvd with ISC Kea's DHCPv6 server (stateful
//! with Rapid Commit, and stateless), Kea's `bootfile-url`; tftpd-hpa and
//! nginx listening on IPv6; an IPv6-only network where DHCPv4 is dead. Each ends with the MAC config
//! chosen and the kernel and initrd byte-identical (sha256).

use std::process::Command;
use std::time::{Duration, Instant};

use pxeinit_tests::*;

/// The server's IPv6 address on the test link (a unique local prefix).
const SERVER6: &str = "fd77::1";

/// Give the server its IPv6 address and wait until its link-local address
/// has passed DAD (dnsmasq sends advertisements from it).
fn server_ipv6(lab: &Lab) {
    sh(&[
        "ip",
        "-n",
        &lab.srv_ns,
        "addr",
        "add",
        &format!("{SERVER6}/64"),
        "dev",
        SERVER_IF,
        "nodad",
    ]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = Command::new("ip")
            .args(["-n", &lab.srv_ns, "-6", "addr", "show", "dev", SERVER_IF])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if out.contains("scope link") && !out.contains("tentative") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: srv0's link-local address still tentative:\n{out}",
            lab.name
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait until something listens on UDP/IPv6 `port` in the server namespace.
fn wait_udp6(lab: &Lab, port: u16) {
    let want = format!(":{port:04X} ");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = Command::new("ip")
            .args(["netns", "exec", &lab.srv_ns, "cat", "/proc/net/udp6"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let listening = out.lines().skip(1).any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| format!("{a} ").contains(&want))
        });
        if listening {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: nothing listens on UDP/IPv6 port {port} after 15 s",
            lab.name
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The usual layout (MAC config with a random kernel and initrd; a
/// `default` naming files that do not exist); the two sha256s.
fn mac_config(lab: &Lab, klen: usize, ilen: usize) -> (String, String) {
    let k = lab.put_random("images/kernel", klen, 11);
    let i = lab.put_random("images/initrd", ilen, 12);
    lab.put(
        CLIENT_MAC_CFG,
        "DEFAULT mac\nLABEL mac\n  KERNEL images/kernel\n  INITRD images/initrd\n  APPEND console=ttysclp0 mac\n",
    );
    lab.put(
        "pxelinux.cfg/default",
        "DEFAULT wrong\nLABEL wrong\n  KERNEL no-such-kernel\n",
    );
    (k, i)
}

/// dnsmasq with router advertisements and DHCPv6 (`range6`, e.g.
/// `::,constructor:srv0,ra-stateless`), the boot file URL `url`, its TFTP
/// server on the lab root when `tftp`; DHCPv4 too unless `no_v4`; `extra`
/// adds options (a `--port=` turns its DNS on).
fn dnsmasq6(lab: &Lab, range6: &str, url: &str, tftp: bool, no_v4: bool, extra: &[&str]) {
    let d = lab.dir.display();
    let mut argv: Vec<String> = vec![
        "dnsmasq".into(),
        "--no-daemon".into(),
        "--conf-file=/dev/null".into(),
        "--port=0".into(),
        format!("--pid-file={d}/dnsmasq.pid"),
        format!("--dhcp-leasefile={d}/dnsmasq.leases"),
        format!("--interface={SERVER_IF}"),
        "--bind-interfaces".into(),
        "--except-interface=lo".into(),
        "--enable-ra".into(),
        format!("--dhcp-range={range6}"),
        format!("--dhcp-option=option6:bootfile-url,{url}"),
        format!("--dhcp-option=option6:dns-server,[{SERVER6}]"),
        "--log-dhcp".into(),
        "--user=root".into(),
        "--group=root".into(),
    ];
    if !no_v4 {
        argv.push("--dhcp-range=192.168.77.100,192.168.77.120,255.255.255.0,1h".into());
        argv.push("--dhcp-boot=pxelinux.0".into());
    }
    if tftp {
        argv.push("--enable-tftp".into());
        argv.push(format!("--tftp-root={}", lab.root().display()));
    }
    if extra.iter().any(|e| e.starts_with("--port=")) {
        argv.retain(|a| a != "--port=0");
    }
    argv.extend(extra.iter().map(|e| e.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    lab.spawn("dnsmasq", &argv);
    wait_udp6(lab, 547);
}

fn assert_mac_plan_v6(run: &Run, k: &str, klen: usize, i: &str, ilen: usize, method: &str) {
    let plan = run.plan();
    assert_eq!(plan["family"], "ipv6", "family; plan:\n{}", run.stdout);
    assert_eq!(
        plan["config"], CLIENT_MAC_CFG,
        "config; plan:\n{}",
        run.stdout
    );
    assert_eq!(plan["label"], "mac");
    let l6 = &plan["lease6"];
    assert_eq!(l6["interface"], CLIENT_IF);
    assert_eq!(l6["method"], method, "plan:\n{}", run.stdout);
    let addr = l6["address"].as_str().unwrap_or_default();
    assert!(addr.starts_with("fd77::"), "IPv6 address {addr}");
    // No hex-IP names over IPv6: the MAC config is the first name asked.
    assert_eq!(plan["tried"][0], CLIENT_MAC_CFG, "plan:\n{}", run.stdout);
    run.assert_download("images/kernel", k, klen as u64);
    run.assert_download("images/initrd", i, ilen as u64);
}

/// Must show: dnsmasq `enable-ra` with `ra-stateless` (SLAAC plus a
/// stateless DHCPv6 server) and `option6:bootfile-url`; its TFTP over
/// IPv6; IPv6 only (`--ipv6 only`).
#[test]
fn dnsmasq_ra_stateless_tftp() {
    let Some(lab) = Lab::new("dnsmasq_ra_stateless_tftp", &["dnsmasq"]) else {
        return;
    };
    let (klen, ilen) = (3 * 1024 * 1024 + 17, 700 * 1024 + 3);
    let (k, i) = mac_config(&lab, klen, ilen);
    // The boot file is a boot image (8 MiB): looked at as a possible
    // config, it is refused on its announced size, not downloaded.
    lab.put("pxelinux.0", pattern(8 << 20, 5));
    server_ipv6(&lab);
    dnsmasq6(
        &lab,
        "::,constructor:srv0,ra-stateless,64,1h",
        &format!("tftp://[{SERVER6}]/pxelinux.0"),
        true,
        false,
        &[],
    );
    let run = lab.pxeinit(
        &["--ipv6", "only", "--timeout", "30", "--debug"],
        Duration::from_secs(90),
    );
    assert_mac_plan_v6(&run, &k, klen, &i, ilen, "slaac");
    let plan = run.plan();
    assert_eq!(plan["lease"], serde_json::Value::Null);
    assert_eq!(plan["lease6"]["boot_server"], SERVER6);
    assert_eq!(plan["lease6"]["ra"]["other"], true);
    assert_eq!(plan["lease6"]["dns"][0], SERVER6);
    assert!(
        plan["lease6"]["server_id"].is_string(),
        "dnsmasq sends its DUID"
    );
    let from = run.download("images/kernel")["from"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(from, format!("tftp://[{SERVER6}]/images/kernel"));
    assert!(
        run.stderr.contains("boot file pxelinux.0 is not a config")
            && run.stderr.contains("announces 8388608 bytes (tsize)"),
        "the 8 MiB pxelinux.0 was not refused on its size:\n{}",
        run.stderr
    );
    eprintln!("dnsmasq ra-stateless over TFTP/IPv6: {:.1} s", run.secs);
}

/// Must show: stateful DHCPv6 (a dnsmasq address range: the RA has M=1
/// and no SLAAC prefix): SOLICIT, ADVERTISE, REQUEST, REPLY; the leased
/// address on the interface; TFTP over IPv6 from tftpd-hpa.
#[test]
fn dnsmasq_stateful_tftpd_hpa() {
    let Some(lab) = Lab::new("dnsmasq_stateful_tftpd_hpa", &["dnsmasq", "in.tftpd"]) else {
        return;
    };
    let (klen, ilen) = (2 * 1024 * 1024 + 5, 300 * 1024);
    let (k, i) = mac_config(&lab, klen, ilen);
    server_ipv6(&lab);
    let root = lab.root().to_string_lossy().into_owned();
    lab.spawn(
        "tftpd-hpa",
        &[
            "in.tftpd",
            "--foreground",
            "--listen",
            "--ipv6",
            "--address",
            &format!("[{SERVER6}]:69"),
            "--user",
            "root",
            "--secure",
            &root,
        ],
    );
    wait_udp6(&lab, 69);
    dnsmasq6(
        &lab,
        "fd77::100,fd77::1ff,64,1h",
        &format!("tftp://[{SERVER6}]/pxelinux.0"),
        false,
        false,
        &[],
    );
    let run = lab.pxeinit(
        &["--ipv6", "only", "--timeout", "30"],
        Duration::from_secs(90),
    );
    assert_mac_plan_v6(&run, &k, klen, &i, ilen, "dhcpv6");
    let l6 = &run.plan()["lease6"];
    let addr = l6["address"].as_str().unwrap_or_default().to_string();
    let n = u32::from_str_radix(addr.trim_start_matches("fd77::"), 16).unwrap_or(0);
    assert!(
        (0x100..=0x1ff).contains(&n),
        "address {addr} outside the range"
    );
    assert_eq!(l6["ra"]["managed"], true);
    // The address is on the client's interface, and dnsmasq leased it.
    let shown = Command::new("ip")
        .args(["-n", &lab.cli_ns, "-6", "addr", "show", "dev", CLIENT_IF])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(shown.contains(&addr), "{addr} not on {CLIENT_IF}:\n{shown}");
    assert!(
        lab.log("dnsmasq")
            .contains(&format!("DHCPREPLY({SERVER_IF}) {addr}")),
        "dnsmasq log:\n{}",
        lab.log("dnsmasq")
    );
    eprintln!(
        "dnsmasq stateful DHCPv6, tftpd-hpa over IPv6: {:.1} s",
        run.secs
    );
}

/// Must show: option 59 as an HTTP URL with a bracketed literal and a
/// port: the config and payloads come from nginx over IPv6 (the `Host:`
/// header carries the brackets).
#[test]
fn dnsmasq_ra_stateless_nginx_http() {
    let Some(lab) = Lab::new("dnsmasq_ra_stateless_nginx_http", &["dnsmasq", "nginx"]) else {
        return;
    };
    let (klen, ilen) = (5 * 1024 * 1024 + 1, 1024 * 1024 + 9);
    let (k, i) = mac_config(&lab, klen, ilen);
    server_ipv6(&lab);
    let root = lab.root();
    // A request whose Host header is not the bracketed literal and port
    // is refused (RFC 9110 §7.2).
    lab.nginx_server(
        &format!(
            "    listen [{SERVER6}]:8080;\n    listen 127.0.0.1:8080;\n    root {};\n    \
             if ($http_host != \"[{SERVER6}]:8080\") {{ return 421; }}\n",
            root.display()
        ),
        8080,
    );
    let base = format!("http://[{SERVER6}]:8080");
    dnsmasq6(
        &lab,
        "::,constructor:srv0,ra-stateless,64,1h",
        &format!("{base}/pxelinux.0"),
        false,
        false,
        &[],
    );
    let run = lab.pxeinit(
        &["--ipv6", "only", "--timeout", "30"],
        Duration::from_secs(90),
    );
    let plan = run.plan();
    assert_eq!(plan["family"], "ipv6", "plan:\n{}", run.stdout);
    let mac_url = format!("{base}/{CLIENT_MAC_CFG}");
    assert_eq!(plan["config"], mac_url.as_str(), "plan:\n{}", run.stdout);
    run.assert_download(&format!("{base}/images/kernel"), &k, klen as u64);
    run.assert_download(&format!("{base}/images/initrd"), &i, ilen as u64);
    eprintln!("option 59 http:// over IPv6 from nginx: {:.1} s", run.secs);
}

/// Must show: an IPv6-only network where DHCPv4 is dead (nothing answers
/// it) and pxeinit runs both families, as by default: IPv6 leads, and the
/// dead DHCPv4 adds no more than a second over the IPv6 exchange (the
/// grace window IPv4 gets is 500 ms).
#[test]
fn ipv6_only_network_dead_dhcpv4_costs_under_a_second() {
    let Some(lab) = Lab::new("ipv6_only_network_dead_dhcpv4", &["dnsmasq"]) else {
        return;
    };
    let (klen, ilen) = (64 * 1024, 32 * 1024 + 1);
    let (k, i) = mac_config(&lab, klen, ilen);
    server_ipv6(&lab);
    dnsmasq6(
        &lab,
        "::,constructor:srv0,ra-stateless,64,1h",
        &format!("tftp://[{SERVER6}]/pxelinux.0"),
        true,
        true,
        &[],
    );
    let run = lab.pxeinit(&["--timeout", "30"], Duration::from_secs(90));
    assert_mac_plan_v6(&run, &k, klen, &i, ilen, "slaac");
    let plan = run.plan();
    let lease6 = plan["lease6"]["seconds"].as_f64().unwrap_or(f64::MAX);
    let dhcp = plan["phases"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["phase"] == "dhcp"))
        .and_then(|p| p["seconds"].as_f64())
        .unwrap_or(f64::MAX);
    assert!(
        dhcp - lease6 <= 1.0,
        "the lease phase took {dhcp:.2} s, the IPv6 exchange {lease6:.2} s; log:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("network: IPv6 leads on pxc0"),
        "{}",
        run.stderr
    );
    eprintln!("IPv6-only network, DHCPv4 dead: IPv6 {lease6:.2} s, lease phase {dhcp:.2} s");
}

/// Must show: host names over IPv6. Option 59 is
/// `http://boot.lab:8080/pxelinux.0` and the config's kernel is
/// `tftp://boot.lab/...`: both resolve to the name's AAAA record through
/// the DHCPv6 name server (option 23, dnsmasq's DNS); nginx refuses any
/// `Host:` but `boot.lab:8080`.
#[test]
fn host_names_resolve_to_aaaa_records() {
    let Some(lab) = Lab::new("host_names_resolve_to_aaaa_records", &["dnsmasq", "nginx"]) else {
        return;
    };
    let k = lab.put_random("images/kernel", 1024 * 1024 + 3, 21);
    let i = lab.put_random("images/initrd", 200 * 1024 + 1, 22);
    lab.put(
        CLIENT_MAC_CFG,
        "DEFAULT mac\nLABEL mac\n  KERNEL tftp://boot.lab/images/kernel\n  INITRD images/initrd\n  APPEND mac\n",
    );
    server_ipv6(&lab);
    let root = lab.root();
    lab.nginx_server(
        &format!(
            "    listen [{SERVER6}]:8080;\n    listen 127.0.0.1:8080;\n    root {};\n    \
             if ($http_host != \"boot.lab:8080\") {{ return 421; }}\n",
            root.display()
        ),
        8080,
    );
    dnsmasq6(
        &lab,
        "::,constructor:srv0,ra-stateless,64,1h",
        "http://boot.lab:8080/pxelinux.0",
        true,
        false,
        &["--port=53", &format!("--host-record=boot.lab,{SERVER6}")],
    );
    let run = lab.pxeinit(
        &["--ipv6", "only", "--timeout", "30"],
        Duration::from_secs(90),
    );
    let plan = run.plan();
    assert_eq!(plan["family"], "ipv6", "plan:\n{}", run.stdout);
    assert_eq!(
        plan["config"],
        format!("http://boot.lab:8080/{CLIENT_MAC_CFG}").as_str()
    );
    run.assert_download("tftp://boot.lab/images/kernel", &k, 1024 * 1024 + 3);
    run.assert_download("http://boot.lab:8080/images/initrd", &i, 200 * 1024 + 1);
    let from = run.download("tftp://boot.lab/images/kernel")["from"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(from, format!("tftp://[{SERVER6}]/images/kernel"));
    assert!(
        run.stderr.contains(&format!("boot.lab is {SERVER6}")),
        "{}",
        run.stderr
    );
}

/// radvd on `srv0` advertising `fd77::/64` (on-link; SLAAC when
/// `autonomous`) with the M flag `managed` and O=1, and a default router
/// lifetime (IPv6 forwarding on in the server namespace, as on a router).
fn radvd(lab: &Lab, managed: bool, autonomous: bool) {
    let onoff = |b: bool| if b { "on" } else { "off" };
    sh(&[
        "ip",
        "netns",
        "exec",
        &lab.srv_ns,
        "sysctl",
        "-q",
        "-w",
        "net.ipv6.conf.all.forwarding=1",
    ]);
    let conf = lab.file(
        "radvd.conf",
        format!(
            "interface {SERVER_IF} {{\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 10;\n  \
             AdvManagedFlag {};\n  AdvOtherConfigFlag on;\n  AdvDefaultLifetime 600;\n  \
             prefix fd77::/64 {{\n    AdvOnLink on;\n    AdvAutonomous {};\n  }};\n}};\n",
            onoff(managed),
            onoff(autonomous)
        ),
    );
    let d = lab.dir.display();
    lab.spawn(
        "radvd",
        &[
            "radvd",
            "--nodaemon",
            "--config",
            &conf.to_string_lossy(),
            "--pidfile",
            &format!("{d}/radvd.pid"),
            "--logmethod",
            "stderr",
            "--debug",
            "1",
        ],
    );
    // radvd joins ff02::2 (all routers) on srv0 once it runs.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !Command::new("ip")
        .args(["-n", &lab.srv_ns, "-6", "maddr", "show", "dev", SERVER_IF])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("ff02::2"))
        .unwrap_or(false)
    {
        assert!(
            Instant::now() < deadline,
            "{}: radvd did not join ff02::2 in 15 s:\n{}",
            lab.name,
            lab.log("radvd")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// ISC Kea's DHCPv6 server (`kea-dhcp6`) on `srv0` with the `Dhcp6`
/// members `body` (JSON text, without braces); its leases (in memory),
/// server DUID, pid and lock files under the lab directory.
fn kea6(lab: &Lab, body: &str) {
    let d = lab.dir.to_string_lossy().into_owned();
    let conf = lab.file(
        "kea-dhcp6.conf",
        format!(
            r#"{{ "Dhcp6": {{
              "interfaces-config": {{ "interfaces": [ "{SERVER_IF}" ] }},
              "lease-database": {{ "type": "memfile", "persist": false }},
              "server-id": {{ "type": "LL", "persist": false }},
              "data-directory": "{d}",
              "preferred-lifetime": 1800, "valid-lifetime": 3600,
              "loggers": [ {{ "name": "kea-dhcp6", "output_options": [ {{ "output": "stdout" }} ], "severity": "INFO" }} ],
              {body}
            }} }}"#
        ),
    );
    lab.spawn_env(
        "kea",
        &["kea-dhcp6", "-c", &conf.to_string_lossy()],
        &[
            ("KEA_PIDFILE_DIR", &d),
            ("KEA_LOCKFILE_DIR", &d),
            ("KEA_LOGGER_DESTINATION", "stdout"),
        ],
    );
    wait_udp6(lab, 547);
}

/// Must show: ISC Kea's DHCPv6 server with radvd as the router. radvd
/// advertises fd77::/64 with M=1 and no SLAAC (A=0), so pxeinit asks Kea
/// for an address: SOLICIT with Rapid Commit, which Kea's subnet allows,
/// so its REPLY comes at once (two messages); Kea's `bootfile-url` names
/// tftpd-hpa on `[fd77::1]:69`.
#[test]
fn kea_dhcp6_radvd_managed_tftpd_hpa() {
    let Some(lab) = Lab::new(
        "kea_dhcp6_radvd_managed_tftpd_hpa",
        &["kea-dhcp6", "radvd", "in.tftpd"],
    ) else {
        return;
    };
    let (klen, ilen) = (2 * 1024 * 1024 + 7, 500 * 1024 + 1);
    let (k, i) = mac_config(&lab, klen, ilen);
    server_ipv6(&lab);
    let root = lab.root().to_string_lossy().into_owned();
    lab.spawn(
        "tftpd-hpa",
        &[
            "in.tftpd",
            "--foreground",
            "--listen",
            "--ipv6",
            "--address",
            &format!("[{SERVER6}]:69"),
            "--user",
            "root",
            "--secure",
            &root,
        ],
    );
    wait_udp6(&lab, 69);
    radvd(&lab, true, false);
    kea6(
        &lab,
        &format!(
            r#""subnet6": [ {{
                "id": 1, "subnet": "fd77::/64", "interface": "{SERVER_IF}", "rapid-commit": true,
                "pools": [ {{ "pool": "fd77::200 - fd77::2ff" }} ],
                "option-data": [
                  {{ "name": "bootfile-url", "data": "tftp://[{SERVER6}]/pxelinux.0" }},
                  {{ "name": "dns-servers", "data": "{SERVER6}" }}
                ]
            }} ]"#
        ),
    );
    let run = lab.pxeinit(
        &["--ipv6", "only", "--timeout", "30"],
        Duration::from_secs(90),
    );
    assert_mac_plan_v6(&run, &k, klen, &i, ilen, "dhcpv6");
    let l6 = &run.plan()["lease6"];
    assert_eq!(l6["ra"]["managed"], true, "radvd's M flag");
    assert_eq!(l6["boot_server"], SERVER6);
    assert_eq!(l6["dns"][0], SERVER6);
    assert_eq!(l6["prefix_len"], 64);
    let addr = l6["address"].as_str().unwrap_or_default().to_string();
    let n = u32::from_str_radix(addr.trim_start_matches("fd77::"), 16).unwrap_or(0);
    assert!(
        (0x200..=0x2ff).contains(&n),
        "address {addr} outside Kea's pool"
    );
    // The default route through radvd's link-local address.
    let router = l6["routers"][0].as_str().unwrap_or_default();
    assert!(router.starts_with("fe80::"), "routers: {}", l6["routers"]);
    // Rapid Commit: Kea answered the SOLICIT with its REPLY, no ADVERTISE.
    let kea = lab.log("kea");
    assert!(
        kea.contains(&addr) && !run.stderr.contains("ADVERTISE of"),
        "kea log:\n{kea}\npxeinit log:\n{}",
        run.stderr
    );
    let from = run.download("images/kernel")["from"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(from, format!("tftp://[{SERVER6}]/images/kernel"));
    eprintln!(
        "Kea DHCPv6 (rapid commit) + radvd M=1, tftpd-hpa over IPv6: IPv6 {:.2} s, run {:.1} s",
        l6["seconds"].as_f64().unwrap_or(0.0),
        run.secs
    );
}

/// Must show: radvd with a SLAAC prefix, M=0 and O=1, and Kea answering
/// the stateless INFORMATION-REQUEST with a `bootfile-url` naming nginx on
/// `[fd77::1]:8080`: the configs and payloads come over HTTP/IPv6. Kea's
/// `bootfile-param` (option 60) names the label, as a first-stage
/// argument; its `pxe.verify=off` is refused.
#[test]
fn kea_dhcp6_radvd_stateless_nginx() {
    let Some(lab) = Lab::new(
        "kea_dhcp6_radvd_stateless_nginx",
        &["kea-dhcp6", "radvd", "nginx"],
    ) else {
        return;
    };
    let (klen, ilen) = (3 * 1024 * 1024 + 1, 900 * 1024 + 5);
    let (k, i) = mac_config(&lab, klen, ilen);
    // Option 60 chooses the label (and may not turn verification off).
    lab.put(
        CLIENT_MAC_CFG,
        "DEFAULT wrong\nLABEL wrong\n  KERNEL no-such-kernel\n\
         LABEL kea60\n  KERNEL images/kernel\n  INITRD images/initrd\n  APPEND from=kea60\n",
    );
    server_ipv6(&lab);
    lab.nginx_server(
        &format!(
            "    listen [{SERVER6}]:8080;\n    listen 127.0.0.1:8080;\n    root {};\n",
            lab.root().display()
        ),
        8080,
    );
    radvd(&lab, false, true);
    let base = format!("http://[{SERVER6}]:8080");
    kea6(
        &lab,
        &format!(
            r#""option-data": [
                {{ "name": "bootfile-url", "data": "{base}/pxelinux.0" }},
                {{ "name": "bootfile-param", "data": "pxe.label=kea60, pxe.verify=off" }},
                {{ "name": "dns-servers", "data": "{SERVER6}" }}
              ],
              "subnet6": [ {{ "id": 1, "subnet": "fd77::/64", "interface": "{SERVER_IF}" }} ]"#
        ),
    );
    let run = lab.pxeinit(
        &["--ipv6", "only", "--timeout", "30"],
        Duration::from_secs(90),
    );
    let plan = run.plan();
    assert_eq!(plan["family"], "ipv6", "plan:\n{}", run.stdout);
    let l6 = &plan["lease6"];
    assert_eq!(l6["method"], "slaac", "plan:\n{}", run.stdout);
    assert_eq!(l6["ra"]["managed"], false);
    assert_eq!(l6["ra"]["other"], true);
    assert_eq!(l6["bootfile_url"], format!("{base}/pxelinux.0").as_str());
    assert!(l6["server_id"].is_string(), "Kea sends its DUID");
    let addr = l6["address"].as_str().unwrap_or_default();
    assert!(
        addr.starts_with("fd77::") && addr.ends_with(":ff:fe12:3456"),
        "SLAAC address {addr}"
    );
    assert_eq!(
        plan["config"],
        format!("{base}/{CLIENT_MAC_CFG}").as_str(),
        "plan:\n{}",
        run.stdout
    );
    assert_eq!(
        plan["tried"][0],
        format!("{base}/{CLIENT_MAC_CFG}").as_str(),
        "no hex-IP names over IPv6; plan:\n{}",
        run.stdout
    );
    run.assert_download(&format!("{base}/images/kernel"), &k, klen as u64);
    run.assert_download(&format!("{base}/images/initrd"), &i, ilen as u64);
    assert_eq!(
        l6["bootfile_params"],
        serde_json::json!(["pxe.label=kea60", "pxe.verify=off"])
    );
    assert_eq!(plan["label"], "kea60", "option 60; plan:\n{}", run.stdout);
    assert_eq!(plan["append"], "from=kea60");
    assert!(
        run.stderr.contains(
            "DHCPv6 option 60: \"pxe.verify=off\" is not a setting the network may give pxeinit; ignored"
        ),
        "{}",
        run.stderr
    );
    eprintln!(
        "Kea stateless DHCPv6 + radvd SLAAC, nginx over IPv6: IPv6 {:.2} s, run {:.1} s",
        l6["seconds"].as_f64().unwrap_or(0.0),
        run.secs
    );
}

/// A static IPv6 address on the command line in dracut's bracket form,
/// `ip=[fd77::10]:[fd77::1]:[fd77::1]:64::pxc0:none`: no DHCP server
/// at all; the address and the default route on `pxc0`, the boot server
/// from the second field, tftpd-hpa over IPv6.
#[test]
fn static_ipv6_from_the_command_line() {
    let Some(lab) = Lab::new("static_ipv6_from_the_command_line", &["in.tftpd"]) else {
        return;
    };
    let (klen, ilen) = (1024 * 1024 + 3, 100 * 1024 + 7);
    let (k, i) = mac_config(&lab, klen, ilen);
    server_ipv6(&lab);
    let root = lab.root().to_string_lossy().into_owned();
    lab.spawn(
        "tftpd-hpa",
        &[
            "in.tftpd",
            "--foreground",
            "--listen",
            "--ipv6",
            "--address",
            &format!("[{SERVER6}]:69"),
            "--user",
            "root",
            "--secure",
            &root,
        ],
    );
    wait_udp6(&lab, 69);
    let run = lab.pxeinit(
        &[
            "--append-cmdline",
            &format!("ip=[fd77::10]:[{SERVER6}]:[{SERVER6}]:64::{CLIENT_IF}:none"),
            "--timeout",
            "30",
        ],
        Duration::from_secs(60),
    );
    assert_mac_plan_v6(&run, &k, klen, &i, ilen, "static");
    let plan = run.plan();
    assert_eq!(plan["lease"], serde_json::Value::Null);
    assert_eq!(plan["lease6"]["address"], "fd77::10");
    assert_eq!(plan["lease6"]["boot_server"], SERVER6);
    let routes = Command::new("ip")
        .args(["-n", &lab.cli_ns, "-6", "route", "show", "default"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        routes.contains(&format!("default via {SERVER6} dev {CLIENT_IF}")),
        "routes: {routes}"
    );
    let dhcp = plan["phases"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["phase"] == "dhcp"))
        .and_then(|p| p["seconds"].as_f64())
        .unwrap_or(f64::MAX);
    assert!(dhcp < 5.0, "the address took {dhcp:.2} s");
    eprintln!(
        "static IPv6 from ip=[...]: address in {dhcp:.2} s (DAD), run {:.1} s",
        run.secs
    );
}

/// Must show: option 59 naming a PXELINUX config rather than a boot
/// image (`tftp://[fd77::1]/s390x/boot.cfg`, whose first line is
/// `# pxelinux`, as the s390-ccw firmware checks): that file is the
/// config, no lookup is made, and its relative paths are under its
/// directory `s390x/`.
#[test]
fn option_59_naming_a_pxelinux_config() {
    let Some(lab) = Lab::new("option_59_naming_a_pxelinux_config", &["dnsmasq"]) else {
        return;
    };
    let (klen, ilen) = (1024 * 1024 + 1, 64 * 1024 + 3);
    let k = lab.put_random("s390x/images/kernel", klen, 31);
    let i = lab.put_random("s390x/images/initrd", ilen, 32);
    lab.put(
        "s390x/boot.cfg",
        "# pxelinux\nDEFAULT cfg59\nLABEL cfg59\n  KERNEL images/kernel\n  INITRD images/initrd\n  APPEND from=option59\n",
    );
    lab.put(
        &format!("s390x/{CLIENT_MAC_CFG}"),
        "DEFAULT wrong\nLABEL wrong\n  KERNEL no-such-kernel\n",
    );
    server_ipv6(&lab);
    dnsmasq6(
        &lab,
        "::,constructor:srv0,ra-stateless,64,1h",
        &format!("tftp://[{SERVER6}]/s390x/boot.cfg"),
        true,
        false,
        &[],
    );
    let run = lab.pxeinit(
        &["--ipv6", "only", "--timeout", "30"],
        Duration::from_secs(90),
    );
    let plan = run.plan();
    assert_eq!(plan["family"], "ipv6", "plan:\n{}", run.stdout);
    assert_eq!(plan["config"], "s390x/boot.cfg", "plan:\n{}", run.stdout);
    assert_eq!(plan["tried"], serde_json::json!(["s390x/boot.cfg"]));
    assert_eq!(plan["label"], "cfg59");
    assert_eq!(plan["append"], "from=option59");
    run.assert_download("s390x/images/kernel", &k, klen as u64);
    run.assert_download("s390x/images/initrd", &i, ilen as u64);
    assert!(
        run.stderr.contains("option 59 names a PXELINUX config"),
        "{}",
        run.stderr
    );
    eprintln!("option 59 naming a config: {:.1} s", run.secs);
}

/// srv0's link-local address (fe80::...), once it is usable.
fn server_link_local(lab: &Lab) -> String {
    let out = sh(&[
        "ip",
        "-n",
        &lab.srv_ns,
        "-6",
        "addr",
        "show",
        "dev",
        SERVER_IF,
        "scope",
        "link",
    ]);
    out.split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .unwrap_or_else(|| panic!("no link-local address on srv0:\n{out}"))
        .to_string()
}

/// Link-local servers: option 59 names srv0's link-local address with a
/// zone (`http://[fe80::...%25pxc0]:8080/pxelinux.0`, the zone left out),
/// the config's kernel `tftp://[fe80::...]/...` without one: both are
/// reached through the interface the lease came on (its index as the
/// scope id), from nginx on `[::]:8080` and tftpd-hpa on `[::]:69`.
#[test]
fn link_local_boot_server() {
    let Some(lab) = Lab::new("link_local_boot_server", &["dnsmasq", "nginx", "in.tftpd"]) else {
        return;
    };
    server_ipv6(&lab);
    let ll = server_link_local(&lab);
    let (klen, ilen) = (1024 * 1024 + 11, 300 * 1024 + 13);
    let k = lab.put_random("images/kernel", klen, 41);
    let i = lab.put_random("images/initrd", ilen, 42);
    lab.put(
        CLIENT_MAC_CFG,
        format!(
            "DEFAULT ll\nLABEL ll\n  KERNEL tftp://[{ll}]/images/kernel\n  INITRD images/initrd\n  APPEND ll\n"
        ),
    );
    lab.nginx_server(
        &format!(
            "    listen [::]:8080;\n    listen 127.0.0.1:8080;\n    root {};\n",
            lab.root().display()
        ),
        8080,
    );
    // dnsmasq's TFTP does not answer on link-local addresses: tftpd-hpa
    // on [::]:69 does.
    let root = lab.root().to_string_lossy().into_owned();
    lab.spawn(
        "tftpd-hpa",
        &[
            "in.tftpd",
            "--foreground",
            "--listen",
            "--ipv6",
            "--address",
            "[::]:69",
            "--user",
            "root",
            "--secure",
            &root,
        ],
    );
    wait_udp6(&lab, 69);
    dnsmasq6(
        &lab,
        "::,constructor:srv0,ra-stateless,64,1h",
        &format!("http://[{ll}%25{CLIENT_IF}]:8080/pxelinux.0"),
        false,
        false,
        &[],
    );
    let run = lab.pxeinit(
        &["--ipv6", "only", "--timeout", "30"],
        Duration::from_secs(90),
    );
    let plan = run.plan();
    assert_eq!(plan["family"], "ipv6", "plan:\n{}", run.stdout);
    let base = format!("http://[{ll}]:8080");
    assert_eq!(
        plan["config"],
        format!("{base}/{CLIENT_MAC_CFG}").as_str(),
        "plan:\n{}",
        run.stdout
    );
    assert_eq!(plan["lease6"]["boot_server"], ll.as_str());
    run.assert_download(&format!("tftp://[{ll}]/images/kernel"), &k, klen as u64);
    run.assert_download(&format!("{base}/images/initrd"), &i, ilen as u64);
    eprintln!("link-local boot server {ll}: {:.1} s", run.secs);
}

/// `ip=dhcp6` and `ip=auto6` override what the advertisement says.
/// radvd with a SLAAC prefix and M=0 beside Kea with an address pool: by
/// default pxeinit takes the SLAAC address, with `ip=dhcp6` a stateful
/// lease from Kea's pool. dnsmasq's `slaac` range (M=1 and a SLAAC
/// prefix): by default a DHCPv6 address, with `ip=auto6` the SLAAC one.
#[test]
fn ip_dhcp6_and_auto6_override_the_advertisement() {
    let Some(lab) = Lab::new(
        "ip_dhcp6_and_auto6_override_the_advertisement",
        &["kea-dhcp6", "radvd", "dnsmasq"],
    ) else {
        return;
    };
    let (klen, ilen) = (256 * 1024 + 1, 64 * 1024 + 5);
    let (k, i) = mac_config(&lab, klen, ilen);
    server_ipv6(&lab);
    let root = lab.root().to_string_lossy().into_owned();
    lab.spawn(
        "tftpd-hpa",
        &[
            "in.tftpd",
            "--foreground",
            "--listen",
            "--ipv6",
            "--address",
            &format!("[{SERVER6}]:69"),
            "--user",
            "root",
            "--secure",
            &root,
        ],
    );
    wait_udp6(&lab, 69);
    radvd(&lab, false, true);
    kea6(
        &lab,
        &format!(
            r#""subnet6": [ {{
                "id": 1, "subnet": "fd77::/64", "interface": "{SERVER_IF}",
                "pools": [ {{ "pool": "fd77::200 - fd77::2ff" }} ],
                "option-data": [ {{ "name": "bootfile-url", "data": "tftp://[{SERVER6}]/pxelinux.0" }} ]
            }} ]"#
        ),
    );
    let method = |args: &[&str]| {
        let mut all = vec!["--timeout", "30"];
        all.extend_from_slice(args);
        let run = lab.pxeinit(&all, Duration::from_secs(90));
        let l6 = run.plan()["lease6"].clone();
        assert_eq!(run.plan()["family"], "ipv6", "plan:\n{}", run.stdout);
        run.assert_download("images/kernel", &k, klen as u64);
        run.assert_download("images/initrd", &i, ilen as u64);
        (
            l6["method"].as_str().unwrap_or_default().to_string(),
            l6["address"].as_str().unwrap_or_default().to_string(),
            l6["ra"]["managed"].clone(),
        )
    };
    let (m, a, managed) = method(&["--ipv6", "only"]);
    assert_eq!((m.as_str(), managed), ("slaac", serde_json::json!(false)));
    assert!(a.ends_with(":ff:fe12:3456"), "SLAAC address {a}");
    let (m, a, _) = method(&["--append-cmdline", "ip=dhcp6"]);
    assert_eq!(m, "dhcpv6");
    let n = u32::from_str_radix(a.trim_start_matches("fd77::"), 16).unwrap_or(0);
    assert!((0x200..=0x2ff).contains(&n), "{a} outside Kea's pool");
    // dnsmasq's slaac mode instead: M=1 beside the SLAAC prefix.
    lab.kill("kea");
    lab.kill("radvd");
    dnsmasq6(
        &lab,
        "fd77::100,fd77::1ff,slaac,64,1h",
        &format!("tftp://[{SERVER6}]/pxelinux.0"),
        false,
        true,
        &[],
    );
    let (m, a, managed) = method(&["--ipv6", "only"]);
    assert_eq!((m.as_str(), managed), ("dhcpv6", serde_json::json!(true)));
    assert!(a.starts_with("fd77::1"), "{a} outside dnsmasq's range");
    let (m, a, _) = method(&["--append-cmdline", "ip=auto6"]);
    assert_eq!(m, "slaac");
    assert!(a.ends_with(":ff:fe12:3456"), "SLAAC address {a}");
}

//! The pipeline's stages against fakes: no root, no interface, no server.

use std::collections::HashMap;

use super::*;
use crate::cmdline::StaticIp;
use crate::menu::Answer;

const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const MAC_CFG: &str = "pxelinux.cfg/01-52-54-00-12-34-56";

fn iface() -> net::Interface {
    net::Interface {
        name: "eth0".into(),
        mac: MAC,
    }
}

/// Interfaces and a lease (or a DHCP failure).
struct FakeNet {
    ifaces: Vec<net::Interface>,
    dhcp_fails: bool,
    /// Lease over IPv6 with this option 59 instead.
    v6_url: Option<&'static str>,
}

impl Network for FakeNet {
    fn interfaces(&self) -> Vec<net::Interface> {
        self.ifaces.clone()
    }
    fn lease(
        &mut self,
        candidates: &[net::Interface],
        o: &Options,
    ) -> Result<(Leases, net::Interface), BootError> {
        if self.dhcp_fails {
            return Err(BootError::Dhcp(vec![]));
        }
        if let Some(url) = self.v6_url {
            return Ok((lease6(url).into(), candidates[0].clone()));
        }
        if o.settings.ip.is_some() || o.settings.ip6.is_some() {
            return Ok((
                static_leases(&candidates[0], &o.settings),
                candidates[0].clone(),
            ));
        }
        let ip = StaticIp {
            client: Ipv4Addr::new(10, 0, 2, 15),
            server: Some(Ipv4Addr::new(10, 0, 2, 2)),
            gateway: None,
            netmask: None,
            device: None,
        };
        Ok((
            static_lease(&candidates[0], &ip).into(),
            candidates[0].clone(),
        ))
    }
    fn resolve(&self, _: &str, _: &[Ipv4Addr]) -> Option<Ipv4Addr> {
        None
    }
}

/// A server's files; kernels named `missing*` fail to download. Records
/// what was asked and what was loaded.
#[derive(Default)]
struct FakeServer {
    files: HashMap<String, Vec<u8>>,
    asked: Vec<String>,
    loaded: Vec<(String, String)>,
    /// Never answers (a server at its limit, after the busy wait).
    silent: bool,
}

impl FakeServer {
    fn with(files: &[(&str, &str)]) -> FakeServer {
        FakeServer {
            files: files
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
            ..FakeServer::default()
        }
    }
}

fn transfer(path: &str, bytes: usize) -> Transfer {
    Transfer {
        from: format!("tftp://10.0.2.2/{path}"),
        bytes: bytes as u64,
        sha256: String::new(),
        seconds: 0.0,
        verified: None,
        tftp: None,
    }
}

fn not_found(path: &str) -> FetchError {
    FetchError::NotFound(fetch::locate(path, Some(Ipv4Addr::new(10, 0, 2, 2).into())).unwrap())
}

impl Fetcher for FakeServer {
    fn config(&mut self, _: &BootContext, path: &str) -> Result<(Vec<u8>, Transfer), FetchError> {
        self.asked.push(path.to_string());
        if self.silent {
            let FetchError::NotFound(from) = not_found(path) else {
                unreachable!()
            };
            return Err(FetchError::Unreachable {
                from,
                why: "the TFTP server never answered: 14 requests over 300 s".into(),
            });
        }
        match self.files.get(path) {
            Some(v) => Ok((v.clone(), transfer(path, v.len()))),
            None => Err(not_found(path)),
        }
    }
    fn download(
        &mut self,
        _: &BootContext,
        p: &Payload<'_>,
        downloads: &mut Vec<(String, Transfer)>,
    ) -> Result<Files, BootError> {
        self.asked.push(p.kernel.to_string());
        if p.kernel.starts_with("missing") {
            return Err(BootError::Fetch(not_found(p.kernel)));
        }
        // A file the server has is downloaded with its sha256 (as in a
        // dry run); any other kernel is its own name.
        let served = |path: &str| {
            let mut t = transfer(path, 1);
            if let Some(v) = self.files.get(path) {
                t.sha256 = locations::sha256_hex(v);
                t.bytes = v.len() as u64;
            }
            (path.to_string(), t)
        };
        downloads.push(served(p.kernel));
        for i in p.initrd {
            self.asked.push(i.clone());
            downloads.push(served(i));
        }
        let mut kernel = fetch::memfile("kernel").unwrap();
        kernel.write_all(p.kernel.as_bytes()).unwrap();
        Ok(Files {
            kernel,
            initrd: None,
        })
    }
    fn kexec_load(&mut self, files: &Files, append: &str, _: bool) -> Result<(), BootError> {
        let mut k = String::new();
        let mut f = &files.kernel;
        f.seek(SeekFrom::Start(0)).unwrap();
        std::io::Read::read_to_string(&mut f, &mut k).unwrap();
        self.loaded.push((k, append.to_string()));
        Ok(())
    }
    fn tree_file(
        &mut self,
        ctx: &BootContext,
        url: &str,
        _: u64,
    ) -> Result<(Vec<u8>, Transfer), FetchError> {
        self.config(ctx, url)
    }
    fn tree_probe(&mut self, _: &BootContext, url: &str) -> Result<bool, FetchError> {
        self.asked.push(format!("probe {url}"));
        Ok(self.files.contains_key(url))
    }
}

/// Typed answers, then timeouts.
struct FakeConsole(Vec<&'static str>);

impl Console for FakeConsole {
    fn prompt(&mut self, _: &pxecfg::Config) -> Answer {
        if self.0.is_empty() {
            Answer::Timeout
        } else {
            Answer::Typed(self.0.remove(0).to_string())
        }
    }
}

fn opts() -> Options {
    Options {
        interactive: true,
        ..Options::default()
    }
}

fn net_ok() -> FakeNet {
    FakeNet {
        ifaces: vec![iface()],
        dhcp_fails: false,
        v6_url: None,
    }
}

/// slirp's IPv6: a SLAAC address and option 59.
fn lease6(url: &str) -> Lease6 {
    Lease6 {
        interface: "eth0".into(),
        address: "fec0::5254:ff:fe12:3456".parse().unwrap(),
        prefix_len: 64,
        method: dhcp6::Method::Slaac,
        routers: vec!["fe80::2".parse().unwrap()],
        dns: vec!["fec0::3".parse().unwrap()],
        domains: vec![],
        server_id: None,
        client_id: dhcp6::wire::duid_ll(&MAC),
        bootfile_url: Some(url.into()),
        bootfile_params: vec![],
        server: None,
        ra_flags: Some((false, false)),
        elapsed: Duration::from_millis(1500),
    }
}

fn net_v6(url: &'static str) -> FakeNet {
    FakeNet {
        v6_url: Some(url),
        ..net_ok()
    }
}

fn boot(
    o: &Options,
    net: &mut FakeNet,
    srv: &mut FakeServer,
    answers: Vec<&'static str>,
) -> Result<Prepared, BootError> {
    run(o, net, srv, &mut FakeConsole(answers))
}

#[test]
fn no_interface() {
    let mut net = FakeNet {
        ifaces: vec![],
        dhcp_fails: false,
        v6_url: None,
    };
    let e = boot(&opts(), &mut net, &mut FakeServer::default(), vec![]).unwrap_err();
    assert!(matches!(e, BootError::NoInterface(_)), "{e}");
    let mut o = opts();
    o.interface = Some("eth9".into());
    let e = boot(&o, &mut net_ok(), &mut FakeServer::default(), vec![]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no network interface: eth9 not found (have: eth0)"
    );
}

#[test]
fn no_lease() {
    let mut net = FakeNet {
        ifaces: vec![iface()],
        dhcp_fails: true,
        v6_url: None,
    };
    let mut srv = FakeServer::default();
    let e = boot(&opts(), &mut net, &mut srv, vec![]).unwrap_err();
    assert!(matches!(e, BootError::Dhcp(_)), "{e}");
    assert!(srv.asked.is_empty());
}

#[test]
fn no_config_names_the_server_and_every_name_tried() {
    let mut srv = FakeServer::default();
    let e = boot(&opts(), &mut net_ok(), &mut srv, vec![]).unwrap_err();
    let BootError::NoConfig { server, tried } = &e else {
        panic!("{e}")
    };
    assert_eq!(server, "10.0.2.2");
    assert_eq!(tried.len(), 10, "{tried:?}");
    assert_eq!(tried[0], MAC_CFG);
    assert_eq!(tried[1], "pxelinux.cfg/0A00020F");
    assert_eq!(tried.last().unwrap(), "pxelinux.cfg/default");
    assert_eq!(&srv.asked, tried);
}

#[test]
fn boots_the_mac_config_and_reports_the_plan() {
    let mut srv = FakeServer::with(&[
        (
            MAC_CFG,
            "DEFAULT linux\nLABEL linux\n KERNEL vmlinuz\n APPEND console=ttysclp0\n",
        ),
        (
            "pxelinux.cfg/default",
            "DEFAULT wrong\nLABEL wrong\n KERNEL wrong\n",
        ),
    ]);
    let mut o = opts();
    o.dry_run = true;
    let p = boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap();
    assert_eq!(p.next, Next::DryRun);
    assert_eq!(srv.loaded, [("vmlinuz".into(), "console=ttysclp0".into())]);
    let j = p.to_json();
    assert_eq!(j["config"], MAC_CFG);
    assert_eq!(j["label"], "linux");
    assert_eq!(j["action"], "boot");
    assert_eq!(j["kernel"], "vmlinuz");
    assert_eq!(j["next"], "dry-run");
    assert_eq!(j["lease"]["address"], "10.0.2.15");
    let paths: Vec<_> = j["downloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths, [MAC_CFG, "vmlinuz"]);
    let phases: Vec<_> = j["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["phase"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(phases, ["dhcp", "config", "download"]);
}

#[test]
fn onerror_boots_the_fallback_once() {
    let cfg = "DEFAULT broken\nONERROR rescue\n\
               LABEL broken\n KERNEL missing-kernel\n\
               LABEL rescue\n KERNEL rescue-kernel\n APPEND rescue=1\n";
    let mut srv = FakeServer::with(&[("pxelinux.cfg/default", cfg)]);
    let p = boot(&opts(), &mut net_ok(), &mut srv, vec![]).unwrap();
    assert_eq!(p.next, Next::Kexec);
    assert_eq!(p.resolution.label.as_deref(), Some("rescue"));
    assert_eq!(srv.loaded, [("rescue-kernel".into(), "rescue=1".into())]);
    // An ONERROR that fails too ends the attempt with its own error; it
    // is not tried twice.
    let cfg = "DEFAULT a\nONERROR b\nLABEL a\n KERNEL missing-a\nLABEL b\n KERNEL missing-b\n";
    let mut srv = FakeServer::with(&[("pxelinux.cfg/default", cfg)]);
    let e = boot(&opts(), &mut net_ok(), &mut srv, vec![]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "download failed: tftp://10.0.2.2/missing-b: file not found"
    );
    assert_eq!(
        srv.asked
            .iter()
            .filter(|p| p.starts_with("missing"))
            .count(),
        2
    );
}

#[test]
fn a_label_with_options_keeps_the_options() {
    let cfg = "DEFAULT local\nLABEL local\n LOCALBOOT 0\n\
               LABEL install\n KERNEL vmlinuz\n APPEND auto=true\n";
    let mut srv = FakeServer::with(&[("pxelinux.cfg/default", cfg)]);
    let mut o = opts();
    o.settings.label = Some("install foo=1".into());
    let p = boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap();
    assert_eq!(p.resolution.label.as_deref(), Some("install"));
    assert_eq!(srv.loaded.len(), 1);
    assert!(
        srv.loaded[0].1.contains("auto=true") && srv.loaded[0].1.contains("foo=1"),
        "{:?}",
        srv.loaded
    );
}

#[test]
fn a_forced_config_is_the_only_name_asked() {
    let mut srv = FakeServer::with(&[
        (MAC_CFG, "DEFAULT wrong\nLABEL wrong\n KERNEL wrong\n"),
        ("custom.cfg", "DEFAULT x\nLABEL x\n KERNEL right\n"),
    ]);
    let mut o = opts();
    o.settings.config = Some("custom.cfg".into());
    let p = boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap();
    assert_eq!(p.resolution.tried, ["custom.cfg"]);
    assert_eq!(srv.asked, ["custom.cfg", "right"]);
    // Missing: the error names that file only.
    let mut srv = FakeServer::with(&[(MAC_CFG, "DEFAULT wrong\n")]);
    let e = boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no PXELINUX config on 10.0.2.2: tried custom.cfg (1 names)"
    );
    assert_eq!(srv.asked, ["custom.cfg"]);
}

#[test]
fn the_prompt_takes_the_operators_choice() {
    let cfg = "PROMPT 1\nTIMEOUT 50\nDEFAULT a\n\
               LABEL a\n KERNEL ka\nLABEL b\n KERNEL kb\n APPEND b=1\n";
    let mut srv = FakeServer::with(&[("pxelinux.cfg/default", cfg)]);
    // A label the config lacks is refused and asked again (here: a
    // number past the menu); then "b" is booted.
    let p = boot(&opts(), &mut net_ok(), &mut srv, vec!["9", "b"]).unwrap();
    assert_eq!(p.resolution.label.as_deref(), Some("b"));
    assert_eq!(srv.loaded, [("kb".into(), "b=1".into())]);
    // A timeout boots the default; not interactive: no prompt at all.
    let mut srv = FakeServer::with(&[("pxelinux.cfg/default", cfg)]);
    let p = boot(&opts(), &mut net_ok(), &mut srv, vec![]).unwrap();
    assert_eq!(p.resolution.label.as_deref(), Some("a"));
    let mut o = opts();
    o.interactive = false;
    let mut srv = FakeServer::with(&[("pxelinux.cfg/default", cfg)]);
    let p = boot(&o, &mut net_ok(), &mut srv, vec!["b"]).unwrap();
    assert_eq!(p.resolution.label.as_deref(), Some("a"));
}

#[test]
fn localboot_without_a_disk_is_nothing_to_boot() {
    let mut srv =
        FakeServer::with(&[("pxelinux.cfg/default", "DEFAULT l\nLABEL l\n LOCALBOOT 0\n")]);
    let mut o = opts();
    o.settings.localboot_device = Some("0.0.0005".into());
    let p = boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap();
    assert_eq!(p.next, Next::LocalBoot("0.0.0005".into()));
    assert_eq!(p.to_json()["next"], "localboot 0.0.0005");
}

/// Over IPv6 the boot server and the boot file come from option 59; the
/// lookup is UUID, 01-<mac>, default (no hex-IP names); the plan says
/// IPv6 led.
#[test]
fn ipv6_lease_from_option_59() {
    let url = "tftp://[fec0:0000:0000:0000:0000:0000:0000:0002]/pxelinux.0";
    let mut srv = FakeServer::default();
    let mut o = opts();
    o.uuid = Some("5a1f0b3c-8d2e-4f61-9a7b-0c1d2e3f4a5b".into());
    let e = boot(&o, &mut net_v6(url), &mut srv, vec![]).unwrap_err();
    let BootError::NoConfig { server, tried } = &e else {
        panic!("{e}")
    };
    assert_eq!(server, "fec0::2");
    assert_eq!(
        tried,
        &[
            "pxelinux.cfg/5a1f0b3c-8d2e-4f61-9a7b-0c1d2e3f4a5b",
            MAC_CFG,
            "pxelinux.cfg/default"
        ]
    );
    let mut srv = FakeServer::with(&[(
        MAC_CFG,
        "DEFAULT l\nLABEL l\n KERNEL linux\n APPEND console=ttysclp0\n",
    )]);
    let mut o = opts();
    o.dry_run = true;
    let net = net_v6(url);
    let p = boot(&o, &mut { net }, &mut srv, vec![]).unwrap();
    let j = p.to_json();
    assert_eq!(j["family"], "ipv6");
    assert_eq!(j["lease"], serde_json::Value::Null);
    assert_eq!(j["lease6"]["address"], "fec0::5254:ff:fe12:3456");
    assert_eq!(j["lease6"]["boot_server"], "fec0::2");
    assert_eq!(j["config"], MAC_CFG);
    assert_eq!(srv.loaded, [("linux".into(), "console=ttysclp0".into())]);
}

/// The directory of option 59 is the path prefix; an HTTP URL keeps
/// its scheme and port; something that is not a URL names no server.
#[test]
fn option_59_paths() {
    let ctx = |url: &'static str| {
        let (l, i) = net_v6(url).lease(&[iface()], &opts()).unwrap();
        BootContext::new(l, i, 1500, &opts(), &net_ok())
    };
    let c = ctx("tftp://[2001:db8::1]/s390x/pxelinux.0");
    assert_eq!(c.server, Some("2001:db8::1".parse().unwrap()));
    assert_eq!(
        pxecfg::probe_paths(&c.info),
        [
            "s390x/pxelinux.cfg/01-52-54-00-12-34-56",
            "s390x/pxelinux.cfg/default"
        ]
    );
    // TFTP blocks fit an IPv6 packet into the MTU: 1500 - 40 - 8 - 4.
    assert_eq!(c.downloader.tftp.blksize, 1448);
    let c = ctx("http://[2001:db8::1]:8080/boot/pxelinux.0");
    assert_eq!(
        pxecfg::probe_paths(&c.info)[0],
        "http://[2001:db8::1]:8080/boot/pxelinux.cfg/01-52-54-00-12-34-56"
    );
    let c = ctx("pxelinux.0");
    assert_eq!(c.server, None);
    assert_eq!(c.info.ip, None);
}

/// IPAPPEND 1 over IPv6: the target gets dracut's bracket form.
#[test]
fn ipappend_1_over_ipv6_reaches_the_target() {
    let url = "tftp://[fec0::2]/pxelinux.0";
    let mut srv = FakeServer::with(&[(
        MAC_CFG,
        "DEFAULT l\nLABEL l\n KERNEL linux\n APPEND console=ttysclp0\n IPAPPEND 3\n",
    )]);
    boot(&opts(), &mut net_v6(url), &mut srv, vec![]).unwrap();
    assert_eq!(
        srv.loaded[0].1,
        "console=ttysclp0 ip=[fec0::5254:ff:fe12:3456]:[fec0::2]:[fe80::2]:64:::none \
         BOOTIF=01-52-54-00-12-34-56"
    );
}

/// `ip=[ADDR]:[SERVER]:[GW]:PREFIXLEN:HOST:DEV:none` on the command
/// line: a static IPv6 lease whose boot server is the second field (or
/// `pxe.server=`); the lookup has no hex-IP names; IPAPPEND 1 passes the
/// same addresses on. With an IPv4 `ip=` too, IPv4 leads.
#[test]
fn static_ipv6_from_the_command_line() {
    let mut o = opts();
    o.settings =
        crate::cmdline::parse("ip=[2001:db8::10]:[2001:db8::2]:[2001:db8::1]:64:host:eth0:none");
    let l = static_leases(&iface(), &o.settings);
    assert_eq!(l.led, Family::V6);
    assert!(l.v4.is_none());
    let c = BootContext::new(l, iface(), 1500, &o, &net_ok());
    assert_eq!(c.server, Some("2001:db8::2".parse().unwrap()));
    assert_eq!(
        pxecfg::probe_paths(&c.info),
        [MAC_CFG, "pxelinux.cfg/default"]
    );
    assert_eq!(c.info.gateway6, Some("2001:db8::1".parse().unwrap()));
    assert_eq!(c.downloader.tftp.blksize, 1448);
    let j = c.lease.v6.as_ref().unwrap().to_json();
    assert_eq!(j["method"], "static");
    assert_eq!(j["boot_server"], "2001:db8::2");
    assert_eq!(j["address"], "2001:db8::10");
    assert_eq!(j["routers"][0], "2001:db8::1");
    // The whole pipeline: the config from that server, IPAPPEND 1.
    let mut srv = FakeServer::with(&[(
        MAC_CFG,
        "DEFAULT l\nLABEL l\n KERNEL linux\n APPEND console=ttysclp0\n IPAPPEND 1\n",
    )]);
    let p = boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap();
    assert_eq!(p.to_json()["family"], "ipv6");
    assert_eq!(
        srv.loaded[0].1,
        "console=ttysclp0 ip=[2001:db8::10]:[2001:db8::2]:[2001:db8::1]:64:::none"
    );
    // No server field: pxe.server= names it; without either, only full
    // URLs (a pxe.config= URL) can be fetched.
    o.settings = crate::cmdline::parse("ip=[2001:db8::10]::::eth0:none pxe.server=2001:db8::5");
    let c = BootContext::new(
        static_leases(&iface(), &o.settings),
        iface(),
        1500,
        &o,
        &net_ok(),
    );
    assert_eq!(c.server, Some("2001:db8::5".parse().unwrap()));
    o.settings = crate::cmdline::parse(
        "ip=[2001:db8::10] pxe.config=http://[2001:db8::7]:8080/s390x/boot.cfg",
    );
    let c = BootContext::new(
        static_leases(&iface(), &o.settings),
        iface(),
        1500,
        &o,
        &net_ok(),
    );
    assert_eq!(c.server, None);
    assert_eq!(
        pxecfg::probe_paths(&c.info)[0],
        "http://[2001:db8::7]:8080/s390x/boot.cfg"
    );
    // Both families static: IPv4 leads, the IPv6 lease comes along.
    o.settings = crate::cmdline::parse(
        "ip=10.0.0.5:10.0.0.1::255.255.255.0::eth0:none ip=[2001:db8::10]:[2001:db8::2]",
    );
    let l = static_leases(&iface(), &o.settings);
    assert_eq!(l.led, Family::V4);
    assert!(l.v6.is_some());
    let c = BootContext::new(l, iface(), 1500, &o, &net_ok());
    assert_eq!(c.server, Some(Ipv4Addr::new(10, 0, 0, 1).into()));
}

/// Option 59 naming a PXELINUX config (first line `# pxelinux`, as the
/// firmware checks) rather than a boot image: that file is the config,
/// no lookup; relative paths in it are under its directory. A boot file
/// that is not a config, `pxe.config=`, or an IPv4 lease: the usual
/// lookup.
#[test]
fn option_59_naming_a_config_is_the_config() {
    let cfg = "# pxelinux\nDEFAULT l\nLABEL l\n KERNEL images/linux\n APPEND from=59\n";
    let wrong = "DEFAULT w\nLABEL w\n KERNEL wrong\n";
    let files = [
        ("s390x/boot.cfg", cfg),
        ("s390x/pxelinux.0", "\x7fELF not a config"),
        ("s390x/pxelinux.cfg/01-52-54-00-12-34-56", wrong),
        (MAC_CFG, wrong),
    ];
    let mut o = opts();
    o.dry_run = true;
    let mut srv = FakeServer::with(&files);
    let url = "tftp://[2001:db8::1]/s390x/boot.cfg";
    let p = boot(&o, &mut net_v6(url), &mut srv, vec![]).unwrap();
    assert_eq!(p.resolution.config.as_deref(), Some("s390x/boot.cfg"));
    assert_eq!(p.resolution.tried, ["s390x/boot.cfg"]);
    assert_eq!(
        srv.loaded,
        [("s390x/images/linux".into(), "from=59".into())]
    );
    assert_eq!(
        srv.asked,
        ["s390x/boot.cfg", "s390x/boot.cfg", "s390x/images/linux"]
    );
    // Over HTTP the config is the URL; its directory is the prefix.
    let url = "http://[2001:db8::1]:8080/s390x/boot.cfg";
    let mut srv = FakeServer::with(&[(url, cfg)]);
    let p = boot(&o, &mut net_v6(url), &mut srv, vec![]).unwrap();
    assert_eq!(p.resolution.config.as_deref(), Some(url));
    assert_eq!(
        srv.loaded[0].0,
        "http://[2001:db8::1]:8080/s390x/images/linux"
    );
    // A boot image: the lookup as usual, under its directory.
    let mut srv = FakeServer::with(&files);
    let url = "tftp://[2001:db8::1]/s390x/pxelinux.0";
    let p = boot(&o, &mut net_v6(url), &mut srv, vec![]).unwrap();
    assert_eq!(
        p.resolution.config.as_deref(),
        Some("s390x/pxelinux.cfg/01-52-54-00-12-34-56")
    );
    assert_eq!(srv.asked[0], "s390x/pxelinux.0");
    // pxe.config= decides: the boot file is not looked at.
    let mut srv = FakeServer::with(&[("s390x/boot.cfg", cfg), ("s390x/other.cfg", wrong)]);
    let mut o2 = o.clone();
    o2.settings.config = Some("other.cfg".into());
    let url = "tftp://[2001:db8::1]/s390x/boot.cfg";
    let p = boot(&o2, &mut net_v6(url), &mut srv, vec![]).unwrap();
    assert_eq!(p.resolution.config.as_deref(), Some("s390x/other.cfg"));
    assert_eq!(srv.asked[0], "s390x/other.cfg");
    // Over IPv4 the boot file is never looked at.
    let mut srv = FakeServer::with(&[(MAC_CFG, cfg)]);
    boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap();
    assert_eq!(srv.asked[0], MAC_CFG);
}

/// DHCPv6 option 60 as more words of the init's command line: the
/// label and download settings are taken, each with its own checks;
/// anything else (`pxe.verify=off`, addressing, other words) is a warning
/// and changes nothing.
#[test]
fn option_60_parameters_are_first_stage_arguments() {
    struct WithParams(FakeNet, Vec<String>);
    impl Network for WithParams {
        fn interfaces(&self) -> Vec<net::Interface> {
            self.0.interfaces()
        }
        fn lease(
            &mut self,
            c: &[net::Interface],
            o: &Options,
        ) -> Result<(Leases, net::Interface), BootError> {
            let (mut l, i) = self.0.lease(c, o)?;
            if let Some(l6) = l.v6.as_mut() {
                l6.bootfile_params = self.1.clone();
            }
            Ok((l, i))
        }
        fn resolve(&self, n: &str, d: &[Ipv4Addr]) -> Option<Ipv4Addr> {
            self.0.resolve(n, d)
        }
    }
    let params: Vec<String> = [
        "pxe.label=install auto=1",
        "pxe.busywait=5",
        "pxe.maxsize=lots",
        "pxe.verify=off",
        "ip=[2001:db8::66]",
        "quiet",
    ]
    .map(String::from)
    .to_vec();
    let mut o = opts();
    o.settings.max_size = Some(1 << 30);
    let leases: Leases = Lease6 {
        bootfile_params: params.clone(),
        ..lease6("tftp://[fec0::2]/pxelinux.0")
    }
    .into();
    let w = with_boot_file_params(&o, &leases).unwrap();
    assert_eq!(w.settings.label.as_deref(), Some("install auto=1"));
    assert_eq!(w.settings.busy_wait, Some(5));
    // A value that does not parse keeps what was set before.
    assert_eq!(w.settings.max_size, Some(1 << 30));
    assert!(!w.settings.verify_off);
    assert_eq!(
        (w.settings.ip6.as_ref(), w.settings.ip.as_ref()),
        (None, None)
    );
    assert!(with_boot_file_params(&o, &lease6("tftp://[fec0::2]/x").into()).is_none());
    // Over IPv4 (even with an IPv6 lease beside it) nothing is taken.
    let both = Leases {
        v4: Some(v4_lease()),
        led: Family::V4,
        ..leases.clone()
    };
    assert!(with_boot_file_params(&o, &both).is_none());
    // The whole pipeline boots the label option 60 names.
    let cfg = "DEFAULT l\nLABEL l\n KERNEL wrong\nLABEL install\n KERNEL right\n APPEND x=1\n";
    let mut srv = FakeServer::with(&[(MAC_CFG, cfg)]);
    let mut net = WithParams(net_v6("tftp://[fec0::2]/pxelinux.0"), params);
    let p = run(&opts(), &mut net, &mut srv, &mut FakeConsole(vec![])).unwrap();
    assert_eq!(p.resolution.label.as_deref(), Some("install"));
    assert_eq!(srv.loaded, [("right".into(), "x=1 auto=1".into())]);
}

fn v4_lease() -> Lease {
    let ip = StaticIp {
        client: Ipv4Addr::new(10, 0, 2, 15),
        server: Some(Ipv4Addr::new(10, 0, 2, 2)),
        gateway: None,
        netmask: None,
        device: None,
    };
    static_lease(&iface(), &ip)
}

/// Stage 2's choice: the first lease with a boot server leads, IPv4 when
/// it comes within the grace window after IPv6; a lease without a boot
/// server only when nothing better comes; every error when nothing does.
#[test]
fn the_first_family_with_a_boot_server_leads() {
    let grace = Duration::from_millis(300);
    let url = "tftp://[fec0::2]/pxelinux.0";
    let run = |script: Vec<(u64, Result<Got, String>)>, forced: bool| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for (ms, g) in script {
                std::thread::sleep(Duration::from_millis(ms));
                let _ = tx.send((iface(), g));
            }
        });
        let t = Instant::now();
        let r = choose_lease(&rx, forced, grace);
        (r, t.elapsed())
    };
    // IPv6 first, IPv4 within the window: IPv4 leads, IPv6 recorded.
    let (r, _) = run(
        vec![
            (0, Ok(Got::V6(lease6(url)))),
            (100, Ok(Got::V4(v4_lease()))),
        ],
        false,
    );
    let (l, _) = r.unwrap();
    assert_eq!(l.led, Family::V4);
    assert!(l.v6.is_some());
    // IPv4 after the window: IPv6 has led by then.
    let (r, took) = run(
        vec![
            (0, Ok(Got::V6(lease6(url)))),
            (600, Ok(Got::V4(v4_lease()))),
        ],
        false,
    );
    assert_eq!(r.unwrap().0.led, Family::V6);
    assert!(took < Duration::from_millis(550), "{took:?}");
    // IPv6 without option 59 waits for the IPv4 lease, however late.
    let mut bare = lease6(url);
    bare.bootfile_url = None;
    let (r, _) = run(
        vec![
            (0, Ok(Got::V6(bare.clone()))),
            (500, Ok(Got::V4(v4_lease()))),
        ],
        false,
    );
    assert_eq!(r.unwrap().0.led, Family::V4);
    // ... and leads when DHCPv4 fails; with pxe.server= it leads at once.
    let (r, _) = run(
        vec![
            (0, Ok(Got::V6(bare.clone()))),
            (10, Err("no DHCP lease".into())),
        ],
        false,
    );
    assert_eq!(r.unwrap().0.led, Family::V6);
    let (r, took) = run(
        vec![(0, Ok(Got::V6(bare))), (2000, Ok(Got::V4(v4_lease())))],
        true,
    );
    assert_eq!(r.unwrap().0.led, Family::V6);
    assert!(took < Duration::from_millis(1500), "{took:?}");
    // Nothing: both errors, one line.
    let (r, _) = run(
        vec![
            (0, Err("no DHCP lease on eth0".into())),
            (0, Err("no IPv6 lease on eth0".into())),
        ],
        false,
    );
    assert_eq!(
        r.unwrap_err().to_string(),
        "no DHCP lease on eth0; no IPv6 lease on eth0"
    );
}

/// A server that never answers (or stays busy past the busy wait) is not
/// a missing config: the error names it and says so, and the lookup does
/// not go through the other names.
#[test]
fn a_server_that_never_answers_is_not_a_missing_config() {
    let mut srv = FakeServer {
        silent: true,
        ..FakeServer::default()
    };
    let e = boot(&opts(), &mut net_ok(), &mut srv, vec![]).unwrap_err();
    assert!(matches!(e, BootError::ConfigServer(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("config lookup failed: tftp://10.0.2.2/{MAC_CFG}: the TFTP server never answered: 14 requests over 300 s")
    );
    assert_eq!(srv.asked, [MAC_CFG]);
}

/// A Fedora-style tree at `base`: `.treeinfo` with the sha256 sums of the
/// kernel (`kernel` its content) and the parm file.
fn fedora_tree(base: &str, kernel: &str) -> Vec<(String, String)> {
    let prm = "ro ramdisk_size=40000 cio_ignore=all,!condev\n";
    let treeinfo = format!(
        "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\
         [release]\nname = Fedora\nshort = Fedora\nversion = 39\n\
         [images-s390x]\nkernel = images/kernel.img\ninitrd = images/initrd.img\n\
         generic.prm = images/generic.prm\n\
         [checksums]\nimages/kernel.img = sha256:{}\nimages/generic.prm = sha256:{}\n",
        locations::sha256_hex(kernel.as_bytes()),
        locations::sha256_hex(prm.as_bytes()),
    );
    [
        (".treeinfo", treeinfo.as_str()),
        ("images/kernel.img", kernel),
        ("images/initrd.img", "initrd"),
        ("images/generic.prm", prm),
    ]
    .iter()
    .map(|(p, c)| (format!("{base}{p}"), c.to_string()))
    .collect()
}

fn server(files: &[(String, String)]) -> FakeServer {
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    FakeServer::with(&pairs)
}

/// `pxe.location=` boots the tree there without looking for a config:
/// the kernel and initrd its `.treeinfo` names, the parm file's command
/// line, `inst.repo=` and `pxe.args=`; the kernel is checked against the
/// treeinfo's sha256, and the plan shows the tree.
#[test]
fn a_location_boots_its_tree_without_a_config() {
    let base = "http://10.0.2.2/f39/";
    let mut srv = server(&fedora_tree(base, "fedora kernel"));
    let mut o = opts();
    o.dry_run = true;
    o.settings.location = Some(base.into());
    o.settings.args = Some("rd.debug".into());
    let p = boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap();
    assert!(
        !srv.asked.iter().any(|a| a.contains("pxelinux.cfg")),
        "{:?}",
        srv.asked
    );
    let kernel = format!("{base}images/kernel.img");
    assert_eq!(
        srv.loaded,
        [(
            kernel.clone(),
            "ro ramdisk_size=40000 cio_ignore=all,!condev inst.repo=http://10.0.2.2/f39 rd.debug"
                .into()
        )]
    );
    let j = p.to_json();
    assert_eq!(j["config"], serde_json::Value::Null);
    assert_eq!(j["kernel"], kernel);
    assert_eq!(j["initrd"][0], format!("{base}images/initrd.img"));
    assert_eq!(j["tree"]["family"], "redhat");
    assert_eq!(j["tree"]["found_by"], ".treeinfo");
    let verified: Vec<_> = j["tree"]["checksums"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["file"].as_str().unwrap(), c["verified"].as_bool()))
        .collect();
    assert_eq!(
        verified,
        [
            ("images/generic.prm", Some(true)),
            ("images/kernel.img", Some(true))
        ]
    );
    let phases: Vec<_> = j["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["phase"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(phases, ["dhcp", "tree", "download"]);
}

/// A kernel that does not match the treeinfo's sum refuses the tree, in
/// one line naming the location and the file.
#[test]
fn a_tree_whose_kernel_does_not_match_is_refused() {
    let base = "http://10.0.2.2/f39/";
    let mut files = fedora_tree(base, "fedora kernel");
    files[1].1 = "another kernel".into();
    let mut srv = server(&files);
    let mut o = opts();
    o.settings.location = Some(base.into());
    let e = boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap_err();
    let line = e.to_string();
    assert!(
        line.starts_with(&format!(
            "install tree {base}: images/kernel.img: refused: checksum mismatch"
        )),
        "{line}"
    );
    assert!(srv.loaded.is_empty());
    // No tree at all: one line naming the location and what was tried.
    let mut srv = FakeServer::default();
    let e = boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap_err();
    assert!(matches!(e, BootError::Tree(_)), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("install tree {base}: no install tree found")),
        "{e}"
    );
}

/// A relative location is on the boot server, as configs' paths are:
/// with the boot file's directory in front, as a `tftp://` URL (no
/// installer argument: the installer cannot read a tree over TFTP).
#[test]
fn a_relative_location_is_on_the_boot_server() {
    let base = "tftp://10.0.2.2/s390x/trees/leap/";
    let files: Vec<(String, String)> = [
        ("boot/s390x/linux", "suse kernel"),
        ("boot/s390x/initrd", "suse initrd"),
        ("boot/s390x/parmfile", "linuxrcstderr=/dev/console\n"),
    ]
    .iter()
    .map(|(p, c)| (format!("{base}{p}"), c.to_string()))
    .collect();
    let mut srv = server(&files);
    let mut o = opts();
    o.settings.location = Some("trees/leap".into());
    let mut net = net_ok();
    let (lease, i) = net.lease(&[iface()], &o).unwrap();
    let mut lease = lease;
    if let Some(l) = lease.v4.as_mut() {
        l.bootfile = Some("s390x/pxelinux.0".into());
    }
    let ctx = BootContext::new(lease, i, 1500, &o, &net);
    assert_eq!(
        resolve_location(&ctx, "trees/leap"),
        "tftp://10.0.2.2/s390x/trees/leap"
    );
    assert_eq!(
        resolve_location(&ctx, "/srv/leap"),
        "tftp://10.0.2.2//srv/leap"
    );
    assert_eq!(resolve_location(&ctx, "http://h/leap"), "http://h/leap");
    assert_eq!(resolve_location(&ctx, "file:///leap"), "file:///leap");
    let mut downloads = vec![];
    let (r, found) = find_tree(&ctx, &o.settings, &mut srv, &mut downloads).unwrap();
    let found = found.unwrap();
    assert_eq!(found.tree.family, locations::Family::Suse);
    assert_eq!(
        r.action,
        pxecfg::Action::Boot {
            kernel: format!("{base}boot/s390x/linux"),
            initrd: vec![format!("{base}boot/s390x/initrd")],
            append: "linuxrcstderr=/dev/console".into(),
        }
    );
    // The files read are recorded (the parm file; .treeinfo is missing).
    let read: Vec<&str> = downloads.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(read, [format!("{base}boot/s390x/parmfile")]);
    assert_eq!(srv.asked[0], format!("{base}.treeinfo"));
}

/// `pxe.kernel=` boots that kernel with no detection: joined with the
/// location as xenpvnetboot joins (a URL or `/path` as it is), with
/// `pxe.initrd=` and `pxe.args=` alone; without a location it is a full
/// location or a path on the boot server.
#[test]
fn a_kernel_with_or_without_a_location() {
    let mut o = opts();
    o.settings.location = Some("http://10.0.2.2/os".into());
    o.settings.kernel = Some("images/pxeboot/vmlinuz".into());
    o.settings.initrd = vec![
        "images/pxeboot/initrd.img".into(),
        "http://h/extra.cpio".into(),
    ];
    o.settings.args = Some("console=ttysclp0".into());
    let mut srv = FakeServer::default();
    let p = boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap();
    assert_eq!(
        p.resolution.action,
        pxecfg::Action::Boot {
            kernel: "http://10.0.2.2/os/images/pxeboot/vmlinuz".into(),
            initrd: vec![
                "http://10.0.2.2/os/images/pxeboot/initrd.img".into(),
                "http://h/extra.cpio".into()
            ],
            append: "console=ttysclp0".into(),
        }
    );
    assert!(p.tree.is_none());
    assert!(!srv.asked.iter().any(|a| a.contains(".treeinfo")));
    o.settings.location = None;
    o.settings.kernel = Some("images/linux".into());
    o.settings.initrd = vec![];
    o.settings.config = Some("ignored.cfg".into());
    let mut srv = FakeServer::default();
    let p = boot(&o, &mut net_ok(), &mut srv, vec![]).unwrap();
    assert_eq!(srv.loaded[0].0, "tftp://10.0.2.2/images/linux");
    assert_eq!(
        p.resolution.warnings.len(),
        1,
        "{:?}",
        p.resolution.warnings
    );
    assert_eq!(srv.asked, ["tftp://10.0.2.2/images/linux"]);
}

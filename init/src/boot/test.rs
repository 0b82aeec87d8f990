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
}

impl Network for FakeNet {
    fn interfaces(&self) -> Vec<net::Interface> {
        self.ifaces.clone()
    }
    fn lease(
        &mut self,
        candidates: &[net::Interface],
        _: &Options,
    ) -> Result<(Lease, net::Interface), BootError> {
        if self.dhcp_fails {
            return Err(BootError::Dhcp(vec![]));
        }
        let ip = StaticIp {
            client: Ipv4Addr::new(10, 0, 2, 15),
            server: Some(Ipv4Addr::new(10, 0, 2, 2)),
            gateway: None,
            netmask: None,
            device: None,
        };
        Ok((static_lease(&candidates[0], &ip), candidates[0].clone()))
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
    FetchError::NotFound(fetch::locate(path, Some(Ipv4Addr::new(10, 0, 2, 2))).unwrap())
}

impl Fetcher for FakeServer {
    fn config(&mut self, _: &BootContext, path: &str) -> Result<(Vec<u8>, Transfer), FetchError> {
        self.asked.push(path.to_string());
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
        downloads.push((p.kernel.to_string(), transfer(p.kernel, 1)));
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

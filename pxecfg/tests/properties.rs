//! Property tests: the parser and the resolver never panic, and parsing is
//! deterministic.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use pxecfg::{resolve, ClientInfo, Config, Fetch, FetchError, ResolveOptions};

/// Directive fragments, so that generated lines reach deep into the parser.
const WORDS: &[&str] = &[
    "LABEL",
    "label",
    "KERNEL",
    "LINUX",
    "LOCALBOOT",
    "CONFIG",
    "COM32",
    "PXE",
    "INITRD",
    "APPEND",
    "APPEND -",
    "IPAPPEND",
    "SYSAPPEND",
    "INCLUDE",
    "MENU",
    "MENU BEGIN",
    "MENU END",
    "MENU LABEL",
    "MENU DEFAULT",
    "MENU HIDE",
    "MENU TITLE",
    "MENU INCLUDE",
    "MENU SEPARATOR",
    "MENU DISABLE",
    "MENU EXIT",
    "TEXT HELP",
    "ENDTEXT",
    "TIMEOUT",
    "TOTALTIMEOUT",
    "ONTIMEOUT",
    "ONERROR",
    "PROMPT",
    "UI",
    "SAY",
    "PATH",
    "DEFAULT",
    "menu.c32",
    "vesamenu.c32",
    "initrd=",
    "initrd=a,b",
    "::",
    "host::f",
    "http://h/x",
    "/abs",
    "-1",
    "0",
    "1",
    "2",
    "4",
    "7",
    "0x",
    "99999999999999999999",
    "a",
    "b",
    "c",
    "#",
    "\t",
    " ",
    "\r",
    "é",
    "\u{0}",
    "^",
    ",",
    ":",
];

fn line() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 0..6).prop_map(|w| w.join(" "))
}

fn config_text() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..40).prop_map(|l| l.join("\n"))
}

/// Every path exists and holds the same config: includes and CONFIG hops
/// always succeed, so the bounds are what stops them.
struct Everything(Vec<u8>);

impl Fetch for Everything {
    fn fetch(&mut self, _path: &str) -> Result<Vec<u8>, FetchError> {
        Ok(self.0.clone())
    }
}

fn info() -> ClientInfo {
    ClientInfo {
        mac: Some([2, 0, 0, 0, 0, 1]),
        ip: Some(Ipv4Addr::new(10, 0, 0, 1)),
        uuid: Some("b8945908-d6a6-41a9-611d-74a6ab80b83d".into()),
        bootfile: Some("d/pxelinux.0".into()),
        ..ClientInfo::default()
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let cfg = Config::parse(&bytes, "fuzz");
        let _ = cfg.menu_lines();
        let _ = cfg.unattended();
    }

    #[test]
    fn parse_is_deterministic(text in config_text()) {
        prop_assert_eq!(Config::parse(text.as_bytes(), "a"), Config::parse(text.as_bytes(), "a"));
    }

    #[test]
    fn directive_soup_never_panics(text in config_text(), input in line()) {
        let cfg = Config::parse(text.as_bytes(), "soup");
        for n in ["1", "2", "99"] {
            let _ = cfg.choose(n, &info());
        }
        let _ = cfg.choose(&input, &info());
        if let Some(cmd) = cfg.unattended() {
            let _ = cfg.choose(&cmd, &info());
        }
    }

    #[test]
    fn resolve_never_panics_and_is_deterministic(text in config_text(), label in prop::option::of(line())) {
        let opts = ResolveOptions { label };
        let a = resolve(&info(), &mut Everything(text.clone().into_bytes()), &opts);
        let b = resolve(&info(), &mut Everything(text.into_bytes()), &opts);
        match (a, b) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a.to_json(), b.to_json()),
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            _ => prop_assert!(false, "resolve is not deterministic"),
        }
    }

    #[test]
    fn arbitrary_client_info_never_panics(
        uuid in ".{0,40}",
        bootfile in ".{0,40}",
        prefix in prop::option::of(".{0,20}"),
        config_file in prop::option::of(".{0,20}"),
    ) {
        let info = ClientInfo { uuid: Some(uuid), bootfile: Some(bootfile), path_prefix: prefix, config_file, ..info() };
        let paths = pxecfg::probe_paths(&info);
        prop_assert!(paths.last().is_some_and(|p| p.ends_with("pxelinux.cfg/default")));
    }
}

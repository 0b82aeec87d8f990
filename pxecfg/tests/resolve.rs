//! `resolve` against an in-memory server: probing, fetch errors, includes,
//! forced labels, CONFIG hops and the console-menu API.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use pxecfg::{
    resolve, resolve_choice, Action, ClientInfo, DiagnosticKind, Fetch, FetchError, MenuLine,
    ResolveErrorKind, ResolveOptions, MAX_INCLUDE_DEPTH,
};

/// Files by path; `requests` records every fetch in order.
#[derive(Default)]
struct Server {
    files: HashMap<String, Result<String, String>>,
    requests: Vec<String>,
}

impl Server {
    fn with(files: &[(&str, &str)]) -> Self {
        let files = files
            .iter()
            .map(|(p, t)| (p.to_string(), Ok(t.to_string())))
            .collect();
        Server {
            files,
            requests: Vec::new(),
        }
    }
}

impl Fetch for Server {
    fn fetch(&mut self, path: &str) -> Result<Vec<u8>, FetchError> {
        self.requests.push(path.to_string());
        match self.files.get(path) {
            Some(Ok(text)) => Ok(text.clone().into_bytes()),
            Some(Err(e)) => Err(FetchError::Other(e.clone())),
            None => Err(FetchError::NotFound),
        }
    }
}

fn client() -> ClientInfo {
    ClientInfo {
        mac: Some([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
        ip: Some(Ipv4Addr::new(10, 0, 2, 15)),
        bootfile: Some("s390x/pxelinux.0".into()),
        ..ClientInfo::default()
    }
}

fn opts(label: Option<&str>) -> ResolveOptions {
    ResolveOptions {
        label: label.map(String::from),
    }
}

#[test]
fn fetch_errors_are_warnings_and_probing_goes_on() {
    let mut server = Server::with(&[(
        "s390x/pxelinux.cfg/default",
        "default local\nlabel local\nlocalboot 0\n",
    )]);
    server.files.insert(
        "s390x/pxelinux.cfg/01-52-54-00-12-34-56".into(),
        Err("TFTP error 2: access violation".into()),
    );
    let r = resolve(&client(), &mut server, &opts(None)).unwrap();
    assert_eq!(r.action, Action::LocalBoot(0));
    assert_eq!(r.tried.len(), 10);
    assert_eq!(
        r.warnings,
        ["s390x/pxelinux.cfg/01-52-54-00-12-34-56: TFTP error 2: access violation"]
    );
}

#[test]
fn option_209_falls_back_to_the_normal_search() {
    let mut info = client();
    info.config_file = Some("missing.cfg".into());
    let mut server = Server::with(&[("s390x/pxelinux.cfg/0A00", "default x\n")]);
    let r = resolve(&info, &mut server, &opts(None)).unwrap();
    assert_eq!(
        r.tried.first().map(String::as_str),
        Some("s390x/missing.cfg")
    );
    assert_eq!(r.config.as_deref(), Some("s390x/pxelinux.cfg/0A00"));
    assert_eq!(server.requests, r.tried);
}

#[test]
fn bad_uuid_is_reported_and_skipped() {
    let mut info = client();
    info.uuid = Some("not-a-uuid".into());
    let mut server = Server::with(&[("s390x/pxelinux.cfg/default", "default k\n")]);
    let r = resolve(&info, &mut server, &opts(None)).unwrap();
    assert!(r.warnings[0].contains("not-a-uuid"), "{:?}", r.warnings);
    assert_eq!(r.tried.len(), 10);
}

#[test]
fn includes_are_relative_to_the_prefix_and_bounded() {
    // a0 includes a1 … a30: only MAX_INCLUDE_DEPTH levels are followed.
    let mut files: Vec<(String, String)> = (0..30)
        .map(|i| {
            (
                format!("s390x/a{i}"),
                format!("include a{}\nlabel l{i}\n", i + 1),
            )
        })
        .collect();
    files.push(("s390x/pxelinux.cfg/default".into(), "include a0\n".into()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let mut server = Server::with(&refs);
    let r = resolve(&client(), &mut server, &opts(None)).unwrap();
    let cfg = r.parsed.unwrap();
    assert_eq!(cfg.includes.len(), MAX_INCLUDE_DEPTH);
    assert!(cfg
        .diagnostics
        .iter()
        .any(|d| matches!(d.kind, DiagnosticKind::IncludeLimit(_))));
    // The deepest file read ends the unattended choice: no DEFAULT, first label.
    assert_eq!(
        r.label.as_deref(),
        Some(format!("l{}", MAX_INCLUDE_DEPTH - 1).as_str())
    );
}

#[test]
fn diamond_includes_are_bounded_in_total() {
    // Each file includes the next one twice: 2^20 paths without a total bound.
    let mut files: Vec<(String, String)> = (0..20)
        .map(|i| {
            (
                format!("s390x/d{i}"),
                format!("include d{0}\ninclude d{0}\n", i + 1),
            )
        })
        .collect();
    files.push((
        "s390x/pxelinux.cfg/default".into(),
        "include d0\ndefault k\n".into(),
    ));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let mut server = Server::with(&refs);
    let r = resolve(&client(), &mut server, &opts(None)).unwrap();
    assert!(
        server.requests.len() < 300,
        "{} requests",
        server.requests.len()
    );
    assert!(matches!(r.action, Action::Boot { .. }));
}

#[test]
fn label_state_continues_across_include() {
    // syslinux parses includes as if their text stood in place.
    let mut server = Server::with(&[
        (
            "s390x/pxelinux.cfg/default",
            "default a\nlabel a\ninclude kernel.cfg\nappend x=1\n",
        ),
        ("s390x/kernel.cfg", "kernel images/vmlinuz\n"),
    ]);
    let r = resolve(&client(), &mut server, &opts(None)).unwrap();
    assert_eq!(
        r.action,
        Action::Boot {
            kernel: "s390x/images/vmlinuz".into(),
            initrd: vec![],
            append: "x=1".into()
        }
    );
}

#[test]
fn forced_label_by_name_number_and_with_options() {
    let cfg = "default a\nlabel a\nkernel ka\nlabel b\nkernel kb\nappend q\nmenu begin sub\nlabel c\nlocalboot 0\nmenu end\n";
    let mut server = Server::with(&[("s390x/pxelinux.cfg/default", cfg)]);
    let boot = |k: &str, a: &str| Action::Boot {
        kernel: k.into(),
        initrd: vec![],
        append: a.into(),
    };
    let run = |server: &mut Server, l| resolve(&client(), server, &opts(Some(l)));
    assert_eq!(run(&mut server, "b").unwrap().action, boot("s390x/kb", "q"));
    assert_eq!(
        run(&mut server, "b single").unwrap().action,
        boot("s390x/kb", "q single")
    );
    assert_eq!(run(&mut server, "c").unwrap().action, Action::LocalBoot(0));
    assert_eq!(run(&mut server, "3").unwrap().label.as_deref(), Some("c"));
    let e = run(&mut server, "4").unwrap_err();
    assert_eq!(
        e.kind(),
        &ResolveErrorKind::NoSuchNumber {
            number: 4,
            max: 3,
            config: "s390x/pxelinux.cfg/default".into()
        }
    );
    let e = run(&mut server, "vmlinuz").unwrap_err();
    assert!(matches!(e.kind(), ResolveErrorKind::UnknownLabel { label, .. } if label == "vmlinuz"));
    assert_eq!(
        e.to_string(),
        "label `vmlinuz` is not defined in s390x/pxelinux.cfg/default"
    );
}

#[test]
fn no_config_error_lists_what_was_tried() {
    let mut server = Server::default();
    let e = resolve(&client(), &mut server, &opts(None)).unwrap_err();
    assert_eq!(e.kind(), &ResolveErrorKind::NoConfig);
    assert_eq!(e.tried().len(), 10);
    assert!(e
        .to_string()
        .starts_with("no PXELINUX config found; tried s390x/pxelinux.cfg/01-52-54-00-12-34-56, "));
    assert_eq!(e.to_json()["config"], serde_json::Value::Null);
}

#[test]
fn config_hops_are_bounded_and_missing_targets_fail() {
    let mut server = Server::with(&[(
        "s390x/pxelinux.cfg/default",
        "default a\nlabel a\nconfig pxelinux.cfg/default\n",
    )]);
    let e = resolve(&client(), &mut server, &opts(None)).unwrap_err();
    assert!(matches!(e.kind(), ResolveErrorKind::ChainTooLong { .. }));

    let mut server = Server::with(&[(
        "s390x/pxelinux.cfg/default",
        "default a\nlabel a\nconfig gone.cfg\n",
    )]);
    let e = resolve(&client(), &mut server, &opts(None)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config s390x/gone.cfg (named in s390x/pxelinux.cfg/default) could not be loaded: not found"
    );
}

#[test]
fn menu_module_with_a_config_argument_shows_that_menu() {
    let mut server = Server::with(&[
        (
            "s390x/pxelinux.cfg/default",
            "default sub\nlabel sub\nkernel vesamenu.c32\nappend sub.cfg\n",
        ),
        (
            "s390x/sub.cfg",
            "timeout 10\nontimeout disk\nlabel inst\nkernel k\nlabel disk\nlocalboot 0\n",
        ),
    ]);
    let r = resolve(&client(), &mut server, &opts(None)).unwrap();
    assert_eq!(r.action, Action::LocalBoot(0));
    let parsed = r.parsed.unwrap();
    assert!(parsed.forced_menu && parsed.prompt_shown());
    assert_eq!(parsed.source, "s390x/sub.cfg");
}

/// What the console menu of issue 6 does with a parsed config.
#[test]
fn console_menu_api() {
    let cfg = "\
SAY Welcome to the s390x install server
UI menu.c32
MENU TITLE Install menu
TIMEOUT 50
TOTALTIMEOUT 600
ONTIMEOUT local
LABEL local
  MENU LABEL Boot from ^disk
  LOCALBOOT 0
LABEL hidden
  MENU HIDE
  KERNEL secret
MENU BEGIN more
  MENU TITLE More choices
  LABEL rescue
    MENU LABEL ^Rescue
    KERNEL linux
    APPEND rescue
    IPAPPEND 2
  LABEL chain
    CONFIG other.cfg
MENU END
";
    let mut server = Server::with(&[
        ("s390x/pxelinux.cfg/default", cfg),
        (
            "s390x/other.cfg",
            "default x\nlabel x\nkernel other-kernel\n",
        ),
    ]);
    let info = client();
    let r = resolve(&info, &mut server, &opts(None)).unwrap();
    let parsed = r.parsed.expect("parsed config");
    assert!(parsed.prompt_shown());
    assert_eq!((parsed.timeout, parsed.total_timeout), (50, 600));
    assert_eq!(parsed.on_timeout.as_deref(), Some("local"));
    assert_eq!(parsed.say, ["Welcome to the s390x install server"]);
    assert_eq!(parsed.menu.title.as_deref(), Some("Install menu"));
    let lines: Vec<String> = parsed
        .menu_lines()
        .iter()
        .map(|l| match l {
            MenuLine::Entry {
                number,
                depth,
                label,
            } => format!("{depth} {number} {} {}", label.name, label.display()),
            MenuLine::Submenu { depth, title } => format!("{depth} [{title}]"),
            MenuLine::Inactive { depth, label } => format!("{depth} - {}", label.name),
            MenuLine::Separator { depth } => format!("{depth} ---"),
        })
        .collect();
    assert_eq!(
        lines,
        [
            "0 1 local Boot from disk",
            "0 [More choices]",
            "1 2 rescue Rescue",
            "1 3 chain chain"
        ]
    );
    // A typed number and a typed name, with IPAPPEND applied.
    let rescue = parsed.choose("2", &info).unwrap();
    assert_eq!(rescue.label.as_deref(), Some("rescue"));
    assert_eq!(
        rescue.action,
        Action::Boot {
            kernel: "s390x/linux".into(),
            initrd: vec![],
            append: "rescue BOOTIF=01-52-54-00-12-34-56".into()
        }
    );
    assert_eq!(
        parsed.choose("hidden", &info).unwrap().action,
        Action::Boot {
            kernel: "s390x/secret".into(),
            initrd: vec![],
            append: String::new()
        }
    );
    // CONFIG needs a fetch: choose says so, resolve_choice does it.
    assert!(parsed.choose("chain", &info).is_err());
    let r = resolve_choice(&parsed, "3", &info, &mut server).unwrap();
    assert_eq!(r.label.as_deref(), Some("x"));
    assert_eq!(
        r.action,
        Action::Boot {
            kernel: "s390x/other-kernel".into(),
            initrd: vec![],
            append: String::new()
        }
    );
}

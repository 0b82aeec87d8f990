//! The `pxecfg` binary: JSON on stdout, exit codes, messages on stderr.

mod common;

use std::process::{Command, Output};

use common::{golden, load_case, testdata};

fn pxecfg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pxecfg"))
        .args(args)
        .output()
        .expect("run pxecfg")
}

/// Run the CLI on a testdata case; its stdout must be the case's golden.
fn run_case(case: &str) -> Output {
    let c = load_case(case);
    let root = c.root.to_str().unwrap().to_string();
    let mut args = vec!["resolve", "--root", root.as_str()];
    args.extend(c.args.iter().map(String::as_str));
    let out = pxecfg(&args);
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    golden(&testdata().join(format!("{case}.expected")), &stdout);
    out
}

#[test]
fn boot_exits_0_with_the_golden_json() {
    let out = run_case("foreman-build");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["action"], "boot");
    assert_eq!(json["label"], "installer");
}

#[test]
fn localboot_exits_0() {
    let out = run_case("prompt-timeout");
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["localboot"], 0);
}

#[test]
fn forced_label_in_a_submenu() {
    let out = run_case("debian-submenu-label");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn no_config_exits_2_with_a_message() {
    let out = run_case("no-config");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("pxecfg: no PXELINUX config found; tried pxelinux.cfg/"),
        "{stderr}"
    );
}

#[test]
fn unknown_label_and_nothing_to_boot_exit_2() {
    for case in ["unknown-label", "nothing-to-boot"] {
        let out = run_case(case);
        assert_eq!(out.status.code(), Some(2), "{case}");
        assert!(!out.stderr.is_empty(), "{case}");
    }
}

#[test]
fn usage_errors_exit_1() {
    let root = testdata().join("cobbler");
    let root = root.to_str().unwrap();
    for args in [
        vec![],
        vec!["resolve"],
        vec!["frobnicate", "--root", root],
        vec!["resolve", "--root", root, "--mac", "52:54:00"],
        vec!["resolve", "--root", root, "--ip", "10.0.0.300"],
        vec!["resolve", "--root", root, "--ip6", "fd77::1::2"],
        vec![
            "resolve", "--root", root, "--ip", "10.0.0.3", "--ip6", "fd77::3",
        ],
        vec!["resolve", "--root", root, "--bogus"],
        vec!["resolve", "--root", "/nonexistent/tftp/root"],
    ] {
        let out = pxecfg(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("usage: pxecfg resolve"),
            "{args:?}"
        );
    }
}

#[test]
fn mac_in_pxelinux_form_and_uppercase() {
    let root = testdata().join("foreman-build");
    let root = root.to_str().unwrap();
    for mac in [
        "52:54:00:12:34:56",
        "52-54-00-12-34-56",
        "01-52-54-00-12-34-56",
        "52:54:00:12:34:56".to_uppercase().as_str(),
    ] {
        let out = pxecfg(&[
            "resolve",
            "--root",
            root,
            "--bootfile",
            "pxelinux.0",
            "--mac",
            mac,
        ]);
        assert_eq!(out.status.code(), Some(0), "{mac}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["config"], "pxelinux.cfg/01-52-54-00-12-34-56", "{mac}");
    }
}

#[test]
fn help_exits_0() {
    let out = pxecfg(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--root DIR"));
}

/// Over IPv6 (`--ip6`) the lookup has no hex-IP names: UUID, 01-<mac>,
/// default.
#[test]
fn ipv6_lookup_lists_no_hex_ip_names() {
    let root = std::env::temp_dir().join(format!("pxecfg-ip6-{}", std::process::id()));
    std::fs::create_dir_all(root.join("pxelinux.cfg")).unwrap();
    let r = root.to_str().unwrap();
    let args = [
        "resolve",
        "--root",
        r,
        "--ip6",
        "fd77::10",
        "--mac",
        "52:54:00:12:34:56",
        "--uuid",
        "5a1f0b3c-8d2e-4f61-9a7b-0c1d2e3f4a5b",
    ];
    let out = pxecfg(&args);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "tried pxelinux.cfg/5a1f0b3c-8d2e-4f61-9a7b-0c1d2e3f4a5b, \
             pxelinux.cfg/01-52-54-00-12-34-56, pxelinux.cfg/default"
        ),
        "{stderr}"
    );
    std::fs::write(
        root.join("pxelinux.cfg/01-52-54-00-12-34-56"),
        "DEFAULT l\nLABEL l\n KERNEL linux\n",
    )
    .unwrap();
    let out = pxecfg(&args);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["config"], "pxelinux.cfg/01-52-54-00-12-34-56");
    assert_eq!(json["tried"].as_array().map(Vec::len), Some(2));
    let _ = std::fs::remove_dir_all(&root);
}

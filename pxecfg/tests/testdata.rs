//! Data-driven tests: each `tests/testdata/<case>/` is a TFTP root, each
//! `<case>.client` the client's lease (and forced label), and each
//! `<case>.expected` the JSON object that `pxecfg resolve` prints for it.
//! `PXECFG_BLESS=1 cargo test -p pxecfg --test testdata` rewrites the goldens.

mod common;

use common::{golden, load_case, testdata, DirFetch};
use pxecfg::{resolve, ResolveOptions};

fn check(case: &str) {
    let c = load_case(case);
    let mut fetch = DirFetch(c.root);
    let json = match resolve(&c.info, &mut fetch, &ResolveOptions { label: c.label }) {
        Ok(resolution) => resolution.to_json(),
        Err(e) => e.to_json(),
    };
    let got = serde_json::to_string_pretty(&json).unwrap() + "\n";
    golden(&testdata().join(format!("{case}.expected")), &got);
}

macro_rules! cases {
    ($($name:ident => $case:literal,)*) => {
        $(#[test] fn $name() { check($case) })*
        const CASES: &[&str] = &[$($case),*];
    };
}

cases! {
    foreman_build => "foreman-build",
    foreman_default => "foreman-default",
    cobbler => "cobbler",
    cobbler_label => "cobbler-label",
    debian => "debian",
    debian_submenu_label => "debian-submenu-label",
    debian_help_config => "debian-help-config",
    rhel_hexip => "rhel-hexip",
    xcat_uuid => "xcat-uuid",
    prompt_timeout => "prompt-timeout",
    dhcp_options => "dhcp-options",
    include_cycle => "include-cycle",
    config_chain => "config-chain",
    default_cmdline => "default-cmdline",
    no_config => "no-config",
    unknown_label => "unknown-label",
    nothing_to_boot => "nothing-to-boot",
}

/// Every `<case>.client` has a test above, so no case is silently skipped.
#[test]
fn every_case_is_checked() {
    let mut found: Vec<String> = std::fs::read_dir(testdata())
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .into_string()
                .ok()?
                .strip_suffix(".client")
                .map(String::from)
        })
        .collect();
    found.sort();
    let mut listed: Vec<&str> = CASES.to_vec();
    listed.sort();
    assert_eq!(found, listed);
}

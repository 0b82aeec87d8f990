//! The `pxeinit` command line: every subcommand answers `--help`, and bad
//! input gets one line and exit code 2.

use std::process::Command;

fn pxeinit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pxeinit"))
        .args(args)
        .output()
        .expect("run pxeinit")
}

#[test]
fn every_subcommand_answers_help() {
    for args in [
        &["--help"][..],
        &["help"],
        &["boot", "--help"],
        &["boot", "-h"],
        &["fetch", "--help"],
        &["fetch", "tftp://10.0.0.1/x", "--help"],
    ] {
        let out = pxeinit(args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "pxeinit {args:?}: {}", out.status);
        assert!(
            text.contains("pxeinit boot") && text.contains("pxeinit fetch"),
            "pxeinit {args:?} printed:\n{text}"
        );
    }
    let out = pxeinit(&["version"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("pxeinit "));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["fetch", "--bogus"],
        &["boot", "--uuid", "nope"],
    ] {
        let out = pxeinit(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "pxeinit {args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "pxeinit {args:?}: {err}");
        assert!(err.starts_with("pxeinit: "), "{err}");
    }
}

//! What the workspace's test suites share about their environment: where
//! the real kernel is, and what a test does when something it needs is
//! missing. `cargo xtask test` sets the variables below; a plain
//! `cargo test` leaves them unset, and then such a test skips (saying why)
//! instead of failing.
//!
//! - `PXEINIT_KERNEL_DIR`: an unpacked kernel package ([`KernelTree`]);
//!   default `target/kernel/root` of this workspace.
//! - `PXEINIT_REQUIRE_KERNEL_TESTS=1`: a missing kernel or QEMU fails the test.
//! - `PXEINIT_REQUIRE_ROOT_TESTS=1`: a missing root, namespace or server
//!   program fails the test.
//! - `PXEINIT_SKIP_LOG=FILE`: every skip appends `test: why` to FILE, so the
//!   end-of-run summary can count them (cargo hides a passing test's output).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::kernel_tree::KernelTree;

/// Names an unpacked kernel package.
pub const KERNEL_DIR_VAR: &str = "PXEINIT_KERNEL_DIR";
/// `1`: kernel (and QEMU) tests must run.
pub const REQUIRE_KERNEL_VAR: &str = "PXEINIT_REQUIRE_KERNEL_TESTS";
/// `1`: root tests must run.
pub const REQUIRE_ROOT_VAR: &str = "PXEINIT_REQUIRE_ROOT_TESTS";
/// Where skips are recorded.
pub const SKIP_LOG_VAR: &str = "PXEINIT_SKIP_LOG";

/// Skip `test` because of `why`: print it and record it in the skip log,
/// or, when `require_var` is `1`, panic (the test fails).
///
/// # Panics
///
/// When `require_var` is set to `1`.
pub fn skip_or_fail(test: &str, why: &str, require_var: &str) {
    if std::env::var(require_var).as_deref() == Ok("1") {
        panic!("{test}: cannot run: {why} ({require_var}=1 forbids skipping)");
    }
    eprintln!("SKIP {test}: {why}");
    if let Some(log) = std::env::var_os(SKIP_LOG_VAR) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{test}: {why}");
        }
    }
}

/// The real kernel for `test`: `$PXEINIT_KERNEL_DIR`, else
/// `target/kernel/root` (where `cargo xtask kernel` unpacks it). `None`
/// when there is none: the test should return (it was skipped).
///
/// # Panics
///
/// When the kernel is missing and `PXEINIT_REQUIRE_KERNEL_TESTS=1`.
pub fn kernel(test: &str) -> Option<KernelTree> {
    let dir = std::env::var_os(KERNEL_DIR_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap_or(Path::new("."))
                .join("target/kernel/root")
        });
    let found = KernelTree::find(&dir);
    if found.is_none() {
        skip_or_fail(
            test,
            &format!(
                "no unpacked kernel in {} (run `cargo xtask kernel`, or set {KERNEL_DIR_VAR})",
                dir.display()
            ),
            REQUIRE_KERNEL_VAR,
        );
    }
    found
}

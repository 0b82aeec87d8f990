//! Running `cargo test` and summing up what it printed: one row per suite
//! (a test binary or a crate's doc tests) with passed, failed and ignored
//! counts, plus the tests that skipped (from `PXEINIT_SKIP_LOG`, since
//! cargo hides a passing test's output).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::Result;

/// One suite's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suite {
    /// What cargo called it (`unittests src/lib.rs (pxecfg)`, `tests/cli.rs`, `Doc-tests pxecfg`).
    pub name: String,
    /// Passed tests.
    pub passed: u32,
    /// Failed tests.
    pub failed: u32,
    /// Ignored tests.
    pub ignored: u32,
    /// Whether a `test result:` line was seen (a binary that crashed or
    /// failed to build has none).
    pub finished: bool,
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Suites in the order cargo ran them.
    pub suites: Vec<Suite>,
    /// `test: why` for each skip.
    pub skipped: Vec<String>,
    /// cargo's exit status was success.
    pub status_ok: bool,
}

impl Summary {
    /// Parse cargo test's combined stdout and stderr.
    pub fn parse(text: &str) -> Summary {
        let mut s = Summary::default();
        for line in text.lines() {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("Running ") {
                // `unittests src/lib.rs (target/debug/deps/pxecfg-0123abcd)`
                let name = match rest.rsplit_once(" (") {
                    Some((what, path)) => {
                        let bin = path.trim_end_matches(')').rsplit('/').next().unwrap_or("");
                        let bin = bin.rsplit_once('-').map(|(b, _)| b).unwrap_or(bin);
                        format!("{what} ({bin})")
                    }
                    None => rest.to_string(),
                };
                s.suites.push(Suite {
                    name,
                    ..Suite::default()
                });
            } else if let Some(krate) = t.strip_prefix("Doc-tests ") {
                s.suites.push(Suite {
                    name: format!("doc-tests {krate}"),
                    ..Suite::default()
                });
            } else if let Some(rest) = t.strip_prefix("test result: ") {
                let num = |key: &str| -> u32 {
                    rest.split(';')
                        .find_map(|f| {
                            let f = f
                                .trim()
                                .trim_start_matches("ok. ")
                                .trim_start_matches("FAILED. ");
                            f.strip_suffix(key)?.trim().parse().ok()
                        })
                        .unwrap_or(0)
                };
                if let Some(suite) = s.suites.last_mut() {
                    suite.passed = num("passed");
                    suite.failed = num("failed");
                    suite.ignored = num("ignored");
                    suite.finished = true;
                }
            }
        }
        s
    }

    /// Nothing failed, every suite finished, cargo succeeded.
    pub fn ok(&self) -> bool {
        self.status_ok && self.suites.iter().all(|s| s.finished && s.failed == 0)
    }

    /// `N passed, N failed, N ignored, N skipped`.
    pub fn totals(&self) -> String {
        let sum = |f: fn(&Suite) -> u32| self.suites.iter().map(f).sum::<u32>();
        let unfinished = self.suites.iter().filter(|s| !s.finished).count();
        let mut t = format!(
            "{} passed, {} failed, {} ignored, {} skipped",
            sum(|s| s.passed),
            sum(|s| s.failed),
            sum(|s| s.ignored),
            self.skipped.len()
        );
        if unfinished > 0 {
            t += &format!(", {unfinished} suites did not finish");
        }
        t
    }

    /// The end-of-run table.
    pub fn table(&self) -> String {
        let mut out = String::from("xtask: test summary\n");
        let w = self.suites.iter().map(|s| s.name.len()).max().unwrap_or(5);
        out += &format!(
            "  {:w$}  {:>6} {:>6} {:>7}\n",
            "suite", "passed", "failed", "ignored"
        );
        for s in &self.suites {
            out += &format!(
                "  {:w$}  {:>6} {:>6} {:>7}{}\n",
                s.name,
                s.passed,
                s.failed,
                s.ignored,
                if s.finished { "" } else { "  (did not finish)" }
            );
        }
        for k in &self.skipped {
            out += &format!("  skipped: {k}\n");
        }
        out += &format!("  total: {}\n", self.totals());
        out
    }
}

/// Run `cmd` (a `cargo test`), echo its output to `out` as it comes, and
/// sum it up. Skips are collected through `PXEINIT_SKIP_LOG`, which this
/// sets to `skip_log` (emptied first).
pub fn run(cmd: &mut Command, out: &mut dyn Write, skip_log: &std::path::Path) -> Result<Summary> {
    let _ = std::fs::remove_file(skip_log);
    if let Some(d) = skip_log.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    cmd.env(netboot_image::testenv::SKIP_LOG_VAR, skip_log);
    let (reader, writer) = std::io::pipe().map_err(|e| format!("pipe: {e}"))?;
    let writer2 = writer.try_clone().map_err(|e| format!("pipe: {e}"))?;
    let mut child = cmd
        .stdout(Stdio::from(writer))
        .stderr(Stdio::from(writer2))
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    // Our copies of the write end live in `cmd` until replaced: close them,
    // or the pipe never ends.
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    // Lines come through a thread: a daemon a test left behind may hold
    // the pipe open after cargo has exited.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut text = String::new();
    let mut exited_at: Option<std::time::Instant> = None;
    let status = loop {
        match rx.recv_timeout(std::time::Duration::from_millis(200)) {
            Ok(line) => {
                let _ = writeln!(out, "{line}");
                text.push_str(&line);
                text.push('\n');
                continue;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                break child.wait().map_err(|e| format!("cargo test: {e}"))?;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        match exited_at {
            Some(t) if t.elapsed() > std::time::Duration::from_secs(2) => {
                break child.wait().map_err(|e| format!("cargo test: {e}"))?;
            }
            Some(_) => {}
            None => {
                if child.try_wait().ok().flatten().is_some() {
                    exited_at = Some(std::time::Instant::now());
                }
            }
        }
    };

    let mut s = Summary::parse(&text);
    s.status_ok = status.success();
    s.skipped = std::fs::read_to_string(skip_log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    Ok(s)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn parses_cargo_test_output() {
        let text = "\
   Compiling pxecfg v0.1.0
     Running unittests src/lib.rs (target/debug/deps/pxecfg-0123abcd)

running 2 tests
test a ... ok
test b ... ignored
test result: ok. 1 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s

     Running tests/cli.rs (target/debug/deps/cli-89ab)
test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s

     Running tests/crash.rs (target/debug/deps/crash-77)
   Doc-tests netboot_image
test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.20s
";
        let s = Summary::parse(text);
        let rows: Vec<_> = s
            .suites
            .iter()
            .map(|x| (x.name.as_str(), x.passed, x.failed, x.ignored, x.finished))
            .collect();
        assert_eq!(
            rows,
            [
                ("unittests src/lib.rs (pxecfg)", 1, 0, 1, true),
                ("tests/cli.rs (cli)", 3, 2, 0, true),
                ("tests/crash.rs (crash)", 0, 0, 0, false),
                ("doc-tests netboot_image", 4, 0, 0, true),
            ]
        );
        assert_eq!(
            s.totals(),
            "8 passed, 2 failed, 1 ignored, 0 skipped, 1 suites did not finish"
        );
        assert!(!s.ok());
    }

    #[test]
    fn ends_when_cargo_ends_though_a_daemon_holds_the_output() {
        let t0 = std::time::Instant::now();
        let s = run(Command::new("sh").args([
            "-c",
            "echo '     Running tests/a.rs (target/debug/deps/a-1)'; \
             echo 'test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s'; \
             sleep 30 & exit 0",
        ]), &mut std::io::sink(), &std::env::temp_dir().join(format!("testlog-{}.skips", std::process::id())))
        .unwrap();
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            t0.elapsed()
        );
        assert!(s.ok(), "{s:?}");
        assert_eq!(s.suites.len(), 1);
        assert_eq!((s.suites[0].passed, s.suites[0].ignored), (2, 1));
    }
}

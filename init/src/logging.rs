//! Console logging: one plain line per event on stderr (the console),
//! prefixed with the time since boot (CLOCK_BOOTTIME, the kernel's own
//! `[    1.234]` clock), no colour (the SCLP console is a serial line).
//!
//! A dozen lines instead of `env_logger`: the PID 1 needs one format and
//! one level switch (`pxe.debug`, or `RUST_LOG=debug` for the CLI), and
//! the saved bytes count against the 1.5 MiB goal of the init binary.

use std::io::Write;

/// Seconds since boot.
pub fn uptime() -> f64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
        .map(|t| t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9)
        .unwrap_or(0.0)
}

struct Console;

impl log::Log for Console {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, rec: &log::Record<'_>) {
        if !self.enabled(rec.metadata()) {
            return;
        }
        let lvl = match rec.level() {
            log::Level::Error => "ERROR: ",
            log::Level::Warn => "warning: ",
            _ => "",
        };
        // One write per line, so lines from DHCP threads do not interleave.
        let line = format!("[{:>11.6}] pxeinit: {lvl}{}\n", uptime(), rec.args());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Install the logger: info, or debug with `debug` or `RUST_LOG=debug`/`trace`.
pub fn init(debug: bool) {
    let env = std::env::var("RUST_LOG").unwrap_or_default();
    let level = match env.as_str() {
        "trace" => log::LevelFilter::Trace,
        "debug" => log::LevelFilter::Debug,
        "warn" => log::LevelFilter::Warn,
        "error" => log::LevelFilter::Error,
        _ if debug => log::LevelFilter::Debug,
        _ => log::LevelFilter::Info,
    };
    if log::set_logger(&Console).is_ok() {
        log::set_max_level(level);
    }
}

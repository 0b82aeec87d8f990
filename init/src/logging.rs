//! Console logging: one plain line per event, prefixed with the time since
//! boot (CLOCK_BOOTTIME, the kernel's own `[    1.234]` clock), no colour
//! (the SCLP console is a serial line).

use std::io::Write;

/// Seconds since boot.
pub fn uptime() -> f64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
        .map(|t| t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9)
        .unwrap_or(0.0)
}

/// Install the logger; `RUST_LOG` overrides the level.
pub fn init(debug: bool) {
    let level = if debug {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    };
    let mut b = env_logger::Builder::new();
    b.filter_level(level)
        .parse_default_env()
        .target(env_logger::Target::Stderr)
        .format(|buf, rec| {
            let lvl = match rec.level() {
                log::Level::Error => "ERROR: ",
                log::Level::Warn => "warning: ",
                _ => "",
            };
            writeln!(buf, "[{:>11.6}] pxeinit: {lvl}{}", uptime(), rec.args())
        });
    let _ = b.try_init();
}

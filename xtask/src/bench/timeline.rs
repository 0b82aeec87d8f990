//! Turning a console transcript into boot phases.
//!
//! # Method
//!
//! The common clock is the host's wall clock: [`crate::qemu::Guest::run`]
//! stamps each console line with the seconds since QEMU was started
//! (t = 0 is power-on). A phase ends at the first console line that marks
//! it (searched in order, each after the previous mark) and starts where
//! the previous phase ended, so the phases of one system add up to its
//! total, power-on to the target's `/init`.
//!
//! Only lines that are written to the console the moment they happen are
//! used as marks: the firmware's own lines, the lines of pxeinit and of the
//! s390-tools scripts (both run after the console is registered) and the
//! target `/init`'s marker. Kernel printk lines are not marks: with
//! `console=ttysclp0` the kernel buffers everything printed before its
//! console is registered and flushes it later (the first 3 s of a boot
//! arrive in one burst). Kernel-internal points are placed instead by
//! their printk timestamp (the kernel's own clock) added to that kernel's
//! clock zero on the wall clock, which is anchored by a line printed on
//! time together with the uptime it was printed at: the target `/init`
//! prints `TARGET-UPTIME: <seconds>` from `/proc/uptime`.

use crate::qemu::Console;

/// A system measured by the boot benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// `pxelinux.0` = kernel + pxeinit.
    Pxeinit,
    /// The same pxeinit with a config whose KERNEL and INITRD are
    /// `http://` URLs (a host HTTP server reached through slirp).
    PxeinitHttp,
    /// (a) QEMU's netboot firmware loading kernel and initrd itself from a
    /// `# pxelinux` boot file: no second stage.
    Firmware,
    /// (b) `pxelinux.0` = kernel + the s390-tools style busybox initramfs
    /// (udhcpc, busybox tftp, kexec-tools).
    S390Tools,
}

impl System {
    /// All systems, in table order.
    pub const ALL: [System; 4] = [
        System::Pxeinit,
        System::PxeinitHttp,
        System::Firmware,
        System::S390Tools,
    ];

    /// The key used in JSON and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            System::Pxeinit => "pxeinit",
            System::PxeinitHttp => "pxeinit-http",
            System::Firmware => "firmware",
            System::S390Tools => "s390-tools",
        }
    }

    /// A short name for tables and the picture.
    pub fn title(self) -> &'static str {
        match self {
            System::Pxeinit => "pxeinit (TFTP)",
            System::PxeinitHttp => "pxeinit (HTTP)",
            System::Firmware => "(a) firmware only",
            System::S390Tools => "(b) s390-tools style",
        }
    }

    /// The boot file slirp's DHCP offers for this system.
    pub fn bootfile(self) -> &'static str {
        match self {
            System::Pxeinit => "pxelinux.0",
            System::PxeinitHttp => "pxelinux-http.0",
            System::Firmware => "firmware.cfg",
            System::S390Tools => "s390-tools.0",
        }
    }

    /// The rules that mark the end of each phase, in order.
    pub fn rules(self) -> &'static [Rule] {
        match self {
            System::Pxeinit | System::PxeinitHttp => PXEINIT,
            System::Firmware => FIRMWARE,
            System::S390Tools => S390TOOLS,
        }
    }
}

/// The phase columns, in order. A system has a subset of them.
pub const PHASES: [&str; 8] = [
    "firmware",
    "first kernel",
    "modules",
    "dhcp",
    "config",
    "download",
    "kexec",
    "target kernel",
];

/// The end of one phase: the first console line that `matches`.
#[derive(Debug)]
pub struct Rule {
    /// The phase column.
    pub phase: &'static str,
    /// The text the marking line contains.
    pub needle: &'static str,
}

const fn rule(phase: &'static str, needle: &'static str) -> Rule {
    Rule { phase, needle }
}

/// The firmware's last line before it jumps to the loaded kernel.
pub const FIRMWARE_DONE: &str = "Network loading done, starting kernel";
/// The target `/init`'s first line (xtask/assets/target-init.c).
pub const TARGET_MARKER: &str = "TARGET-INIT:";

const PXEINIT: &[Rule] = &[
    rule("firmware", FIRMWARE_DONE),
    // pxeinit's first line, whatever it says.
    rule("first kernel", "pxeinit:"),
    rule("modules", "pxeinit: phase modules done"),
    rule("dhcp", "pxeinit: phase dhcp done"),
    rule("config", "pxeinit: phase config done"),
    rule("download", "pxeinit: phase download done"),
    rule("kexec", "pxeinit: kexec: booting the new kernel"),
    rule("target kernel", TARGET_MARKER),
];

const FIRMWARE: &[Rule] = &[
    rule("firmware", "Loading pxelinux.cfg entry"),
    rule("download", FIRMWARE_DONE),
    rule("target kernel", TARGET_MARKER),
];

const S390TOOLS: &[Rule] = &[
    rule("firmware", FIRMWARE_DONE),
    rule("first kernel", "s390-tools: init started"),
    rule("modules", "s390-tools: phase modules done"),
    rule("dhcp", "s390-tools: phase dhcp done"),
    rule("config", "s390-tools: phase config done"),
    rule("download", "s390-tools: phase download done"),
    rule("kexec", "s390-tools: kexec -e"),
    rule("target kernel", TARGET_MARKER),
];

/// One measured phase, wall-clock seconds since power-on.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// The phase column.
    pub name: &'static str,
    /// Start.
    pub start: f64,
    /// End.
    pub end: f64,
    /// The console line that ended it.
    pub line: String,
}

impl Phase {
    /// Its length in seconds.
    pub fn secs(&self) -> f64 {
        self.end - self.start
    }
}

/// The phases read from one console.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// The phases whose end was seen, in order.
    pub phases: Vec<Phase>,
    /// The first phase whose end was not seen (None: the boot finished).
    pub unfinished: Option<&'static str>,
    /// Wall time of the last console line.
    pub last_line: f64,
    /// Wall time at which the target kernel's clock read zero.
    pub target_zero: Option<f64>,
    /// The target's `/proc/uptime` at its `/init`.
    pub target_uptime: Option<f64>,
    /// The target kernel's "Linux version" line, its own clock.
    pub target_linux_version: Option<f64>,
    /// The target kernel's "Run /init as init process", its own clock.
    pub target_run_init: Option<f64>,
}

impl Timeline {
    /// Power-on to the target's `/init`, if it got there.
    pub fn total(&self) -> Option<f64> {
        match self.unfinished {
            None => self.phases.last().map(|p| p.end),
            Some(_) => None,
        }
    }

    /// The length of phase `name`, if measured.
    pub fn phase(&self, name: &str) -> Option<f64> {
        self.phases.iter().find(|p| p.name == name).map(Phase::secs)
    }

    /// Read `console` with `rules`.
    pub fn read(console: &Console, rules: &[Rule]) -> Timeline {
        let lines = &console.lines;
        let mut t = Timeline {
            last_line: lines.last().map_or(0.0, |l| l.0),
            ..Default::default()
        };
        let mut from = 0;
        let mut start = 0.0;
        for r in rules {
            match lines[from..].iter().position(|(_, l)| l.contains(r.needle)) {
                Some(i) => {
                    let (end, line) = &lines[from + i];
                    t.phases.push(Phase {
                        name: r.phase,
                        start,
                        end: *end,
                        line: line.clone(),
                    });
                    start = *end;
                    from += i + 1;
                }
                None => {
                    t.unfinished = Some(r.phase);
                    break;
                }
            }
        }
        // The target kernel: its clock zero from /init's uptime line, and
        // the last "Linux version" / "Run /init" (with a `quiet` first
        // stage, or none, the last ones are the target's).
        if let Some((at, line)) = console.find("TARGET-UPTIME:") {
            let up = line
                .split_once("TARGET-UPTIME:")
                .and_then(|(_, r)| r.split_whitespace().next())
                .and_then(|s| s.parse::<f64>().ok());
            t.target_uptime = up;
            t.target_zero = up.map(|u| at - u);
        }
        let last_stamp = |needle: &str| {
            lines
                .iter()
                .rev()
                .find(|(_, l)| l.contains(needle))
                .and_then(|(_, l)| printk_time(l))
        };
        t.target_linux_version = last_stamp("Linux version");
        t.target_run_init = last_stamp("Run /init as init process");
        t
    }
}

/// The printk timestamp (the kernel's own clock, seconds) of a console
/// line like `[    2.990000] Linux version ...`, the first bracket pair
/// whose content is a number (Guest lines carry no prefix of their own).
pub fn printk_time(line: &str) -> Option<f64> {
    let rest = &line[line.find('[')? + 1..];
    rest[..rest.find(']')?].trim().parse().ok()
}

#[cfg(test)]
mod test {
    use super::*;

    fn console(text: &str) -> Console {
        Console {
            lines: text
                .lines()
                .map(|l| {
                    let (t, rest) = l.split_once(' ').unwrap_or((l, ""));
                    (t.parse().unwrap_or(-1.0), rest.to_string())
                })
                .collect(),
            exited: true,
        }
    }

    // Captured from `cargo xtask demo` (trimmed), the wall clock first.
    const PXEINIT_RUN: &str = "\
0.044   Bootfile name: 'pxelinux.0'
0.547   TFTP: Received pxelinux.0 (5707 KBytes)
0.604 Network loading done, starting kernel...
0.613 KASLR disabled: CPU has no PRNG
3.829 [   3.221539] pxeinit: pxeinit 0.1.0 starting
3.893 [   3.287706] pxeinit: phase modules done: loaded failover, net_failover, virtio_net
3.983 [   3.377750] pxeinit: phase dhcp done in 0.087 s
4.021 [   3.415988] pxeinit: phase config done in 0.038 s
5.727 [   5.122026] pxeinit: phase download done in 1.706 s
5.757 [   5.151507] pxeinit: phase kexec-load done in 0.029 s
5.763 [   5.157476] pxeinit: kexec: booting the new kernel
6.007 KASLR disabled: CPU has no PRNG
9.218 [    2.955280] Linux version 6.1.0-50-s390x (debian-kernel@lists.debian.org)
10.233 [    4.188165] Run /init as init process
10.233 
10.234 TARGET-INIT: hello from the netbooted target (demo)
10.237 TARGET-UPTIME: 4.23 0.00
10.240 TARGET-DONE: powering off";

    #[test]
    fn pxeinit_phases_add_up() {
        let t = Timeline::read(&console(PXEINIT_RUN), System::Pxeinit.rules());
        assert_eq!(t.unfinished, None);
        let names: Vec<_> = t.phases.iter().map(|p| p.name).collect();
        assert_eq!(names, PHASES);
        assert_eq!(t.total(), Some(10.234));
        assert_eq!(t.phase("firmware"), Some(0.604));
        assert!((t.phase("first kernel").unwrap_or(0.0) - 3.225).abs() < 1e-9);
        assert!((t.phase("download").unwrap_or(0.0) - 1.706).abs() < 1e-9);
        assert!((t.phase("target kernel").unwrap_or(0.0) - 4.471).abs() < 1e-9);
        let sum: f64 = t.phases.iter().map(Phase::secs).sum();
        assert!((sum - 10.234).abs() < 1e-9);
        assert_eq!(t.target_uptime, Some(4.23));
        assert!((t.target_zero.unwrap_or(0.0) - 6.007).abs() < 1e-9);
        assert_eq!(t.target_linux_version, Some(2.95528));
        assert_eq!(t.target_run_init, Some(4.188165));
    }

    #[test]
    fn a_missing_mark_leaves_the_boot_unfinished() {
        let cut: String = PXEINIT_RUN
            .lines()
            .filter(|l| !l.contains("phase download done"))
            .map(|l| format!("{l}\n"))
            .collect();
        let t = Timeline::read(&console(&cut), System::Pxeinit.rules());
        assert_eq!(t.unfinished, Some("download"));
        assert_eq!(t.total(), None);
        assert_eq!(t.phases.len(), 5);
        assert_eq!(t.last_line, 10.24);
    }

    #[test]
    fn marks_must_come_in_order() {
        // The target marker before pxeinit's lines does not end the boot.
        let text = "0.5 Network loading done, starting kernel...\n1.0 TARGET-INIT: x\n";
        let t = Timeline::read(&console(text), System::Pxeinit.rules());
        assert_eq!(t.unfinished, Some("first kernel"));
    }

    #[test]
    fn firmware_only_phases() {
        let text = "\
0.289   Bootfile name: 'firmware.cfg'
0.297 Loading pxelinux.cfg entry 't'
4.595 Network loading done, starting kernel...
9.695 TARGET-INIT: hello from the netbooted target (bench)
9.699 TARGET-UPTIME: 5.10 0.00";
        let t = Timeline::read(&console(text), System::Firmware.rules());
        assert_eq!(t.total(), Some(9.695));
        assert_eq!(t.phase("firmware"), Some(0.297));
        assert_eq!(t.phase("dhcp"), None);
        assert!((t.phase("download").unwrap_or(0.0) - 4.298).abs() < 1e-9);
    }

    #[test]
    fn printk_stamps() {
        assert_eq!(printk_time("[    2.955280] Linux version"), Some(2.95528));
        assert_eq!(printk_time("Linux version"), None);
        assert_eq!(printk_time("[ x ] y"), None);
    }
}

//! The console prompt, as PXELINUX shows it on a serial line: SAY lines,
//! the menu entries with their numbers and MENU LABELs, and a `boot:`
//! prompt that takes a label name, a menu number or a kernel command line.
//!
//! Timeouts follow the syslinux wiki (Config): TIMEOUT (tenths of a second)
//! runs until the first key is typed; TOTALTIMEOUT runs regardless of
//! typing. When either expires, the unattended choice (ONTIMEOUT, else
//! DEFAULT) boots. With neither, PXELINUX waits for an operator, and so do
//! we. The menu module's graphics are not drawn: the entries are listed one
//! per line, which is what an operator on a 3270 or SCLP line console can use.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use pxecfg::{Config, MenuLine};

/// What happened at the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A timeout expired (or the console has no input): boot the unattended choice.
    Timeout,
    /// The operator typed this line (ENTER alone gives an empty string).
    Typed(String),
}

/// The lines to print before the prompt: SAY text, the title, the entries.
pub fn render(cfg: &Config) -> Vec<String> {
    let mut out: Vec<String> = cfg.say.clone();
    if cfg.menu_shown() || !cfg.labels.is_empty() {
        if let Some(t) = &cfg.menu.title {
            out.push(t.replace('^', ""));
        }
        for line in cfg.menu_lines() {
            match line {
                MenuLine::Entry {
                    number,
                    depth,
                    label,
                } => {
                    let text = label
                        .menu_label
                        .as_deref()
                        .map(|m| m.replace('^', ""))
                        .unwrap_or_else(|| label.name.clone());
                    let mark = if label.menu_default { '*' } else { ' ' };
                    out.push(format!(
                        "{}{mark}{number:>2}) {:<16} {text}",
                        "  ".repeat(depth + 1),
                        label.name
                    ));
                }
                MenuLine::Inactive { depth, label } => out.push(format!(
                    "{}     {}",
                    "  ".repeat(depth + 1),
                    label.menu_label.as_deref().unwrap_or(&label.name)
                )),
                MenuLine::Submenu { depth, title } => {
                    out.push(format!("{}{title}:", "  ".repeat(depth + 1)))
                }
                MenuLine::Separator { .. } => out.push(String::new()),
            }
        }
    }
    out
}

fn tenths(t: u32) -> Option<Duration> {
    (t > 0).then(|| Duration::from_millis(u64::from(t) * 100))
}

/// Print the menu and read one line from `input` (the console), honouring
/// TIMEOUT and TOTALTIMEOUT of `cfg`.
pub fn prompt(cfg: &Config, input: BorrowedFd<'_>, out: &mut dyn Write) -> Answer {
    for l in render(cfg) {
        let _ = writeln!(out, "{l}");
    }
    let unattended = cfg.unattended().unwrap_or_default();
    match (tenths(cfg.timeout), tenths(cfg.total_timeout)) {
        (None, None) => {
            let _ = writeln!(
                out,
                "boot: (type a label or number; ENTER boots {unattended:?})"
            );
        }
        (t, tt) => {
            let secs = t.or(tt).map(|d| d.as_secs_f64()).unwrap_or(0.0);
            let _ = writeln!(
                out,
                "boot: (type a label or number; {unattended:?} boots in {secs:.1} s)"
            );
        }
    }
    let _ = out.flush();
    read_line(input, tenths(cfg.timeout), tenths(cfg.total_timeout))
}

/// Read a line with an idle timeout (cancelled by the first byte) and a
/// total timeout.
pub fn read_line(input: BorrowedFd<'_>, idle: Option<Duration>, total: Option<Duration>) -> Answer {
    let start = Instant::now();
    let mut line = Vec::new();
    let mut typed = false;
    loop {
        let mut deadline: Option<Instant> = total.map(|t| start + t);
        if !typed {
            if let Some(i) = idle {
                let d = start + i;
                deadline = Some(deadline.map_or(d, |x| x.min(d)));
            }
        }
        let wait = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Answer::Timeout;
                }
                PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
                    .unwrap_or(PollTimeout::MAX)
            }
            None => PollTimeout::NONE,
        };
        let mut fds = [PollFd::new(input, PollFlags::POLLIN)];
        match poll(&mut fds, wait) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return Answer::Timeout,
        }
        let revents = fds[0].revents().unwrap_or(PollFlags::empty());
        if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
            && !revents.contains(PollFlags::POLLIN)
        {
            // No usable console input: behave as if nobody typed, but
            // still honour the timeouts.
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match left {
                Some(l) => {
                    std::thread::sleep(l);
                    return Answer::Timeout;
                }
                None => return Answer::Timeout,
            }
        }
        let mut buf = [0u8; 256];
        let n = match nix::unistd::read(input, &mut buf) {
            Ok(0) => {
                // EOF: nobody can type.
                if let Some(d) = deadline {
                    std::thread::sleep(d.saturating_duration_since(Instant::now()));
                }
                return Answer::Timeout;
            }
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => continue,
            Err(_) => return Answer::Timeout,
        };
        typed = true;
        for &b in &buf[..n] {
            match b {
                b'\r' | b'\n' => {
                    return Answer::Typed(String::from_utf8_lossy(&line).trim().to_string())
                }
                0x08 | 0x7f => {
                    line.pop();
                }
                _ => line.push(b),
            }
        }
    }
}

/// Read stdin (for tests with a pipe).
#[allow(dead_code)]
fn _assert_read<R: Read + AsFd>(_: &R) {}

#[cfg(test)]
mod test {
    use super::*;
    use std::os::fd::AsFd;

    fn cfg(text: &str) -> Config {
        Config::parse(text.as_bytes(), "pxelinux.cfg/default")
    }

    #[test]
    fn renders_say_title_and_numbered_entries() {
        let c = cfg("SAY Welcome to the farm\nPROMPT 1\nTIMEOUT 30\nMENU TITLE Boot ^Menu\nLABEL install\n MENU LABEL ^Install Debian\n KERNEL k\nLABEL local\n MENU DEFAULT\n LOCALBOOT 0\nLABEL secret\n MENU HIDE\n KERNEL x\n");
        let r = render(&c);
        assert_eq!(r[0], "Welcome to the farm");
        assert_eq!(r[1], "Boot Menu");
        assert!(
            r[2].contains(" 1) install") && r[2].contains("Install Debian"),
            "{r:?}"
        );
        assert!(r[3].contains("* 2) local"), "{r:?}");
        assert_eq!(r.len(), 4, "hidden label not shown: {r:?}");
    }

    #[test]
    fn timeout_when_nobody_types() {
        let (rd, _wr) = nix::unistd::pipe().unwrap();
        let t = Instant::now();
        let a = read_line(rd.as_fd(), Some(Duration::from_millis(200)), None);
        assert_eq!(a, Answer::Timeout);
        let e = t.elapsed();
        assert!(
            e >= Duration::from_millis(190) && e < Duration::from_secs(2),
            "{e:?}"
        );
    }

    #[test]
    fn typing_cancels_timeout_but_not_totaltimeout() {
        let (rd, wr) = nix::unistd::pipe().unwrap();
        nix::unistd::write(&wr, b"ins").unwrap();
        let t = Instant::now();
        // Idle timeout 100 ms is cancelled by typing; the total of 400 ms is not.
        let a = read_line(
            rd.as_fd(),
            Some(Duration::from_millis(100)),
            Some(Duration::from_millis(400)),
        );
        assert_eq!(a, Answer::Timeout);
        assert!(t.elapsed() >= Duration::from_millis(390));
    }

    #[test]
    fn reads_a_line_with_backspace() {
        let (rd, wr) = nix::unistd::pipe().unwrap();
        nix::unistd::write(&wr, b"rescux\x7fe single\r\n").unwrap();
        let a = read_line(rd.as_fd(), Some(Duration::from_secs(5)), None);
        assert_eq!(a, Answer::Typed("rescue single".into()));
    }

    #[test]
    fn eof_waits_for_the_timeout() {
        let (rd, wr) = nix::unistd::pipe().unwrap();
        drop(wr);
        let t = Instant::now();
        let a = read_line(rd.as_fd(), Some(Duration::from_millis(150)), None);
        assert_eq!(a, Answer::Timeout);
        assert!(t.elapsed() >= Duration::from_millis(140));
    }
}

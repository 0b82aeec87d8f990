//! Running `qemu-system-s390x` and reading its SCLP console line by line,
//! each line stamped with the host's wall clock since QEMU started.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::Result;

/// The options every virtio-net-ccw NIC of ours gets: QEMU 7.2 under TCG
/// loses a receive notification now and then when the event index feature
/// is on, and the guest then receives nothing more
/// (docs/virtio-net-rx-wedge.md). pxeinit recovers from that by itself;
/// the one test that keeps the default device proves it.
pub const NIC_OPTIONS: &str = "event_idx=off";

/// A guest to start.
#[derive(Debug, Clone)]
pub struct Guest {
    /// TFTP root for the slirp netdev (None: no slirp).
    pub tftp_root: Option<PathBuf>,
    /// Boot file offered by slirp's DHCP.
    pub bootfile: String,
    /// More options of the slirp netdev, each `,key=value` (for example
    /// `,ipv4=off,ipv6=on` for an IPv6-only network).
    pub netdev_options: String,
    /// Guest memory in MiB.
    pub memory_mb: u32,
    /// `-uuid`.
    pub uuid: Option<String>,
    /// MAC of the virtio-net-ccw NIC.
    pub mac: Option<String>,
    /// Extra arguments (disks, TAP netdevs instead of slirp, ...).
    pub extra: Vec<String>,
    /// Print the console to stderr as it comes.
    pub echo: bool,
    /// Run QEMU inside this network namespace (`ip netns exec NS ...`),
    /// e.g. to open a TAP device that lives there.
    pub netns: Option<String>,
}

impl Default for Guest {
    fn default() -> Self {
        Guest {
            tftp_root: None,
            bootfile: "pxelinux.0".into(),
            netdev_options: String::new(),
            memory_mb: 1024,
            uuid: None,
            mac: None,
            extra: vec![],
            echo: false,
            netns: None,
        }
    }
}

/// The console as read, each line with seconds since start.
#[derive(Debug, Clone, Default)]
pub struct Console {
    /// Lines.
    pub lines: Vec<(f64, String)>,
    /// Whether QEMU exited by itself (the guest powered off).
    pub exited: bool,
}

impl Console {
    /// The first line containing `needle`, with its time.
    pub fn find(&self, needle: &str) -> Option<&(f64, String)> {
        self.lines.iter().find(|(_, l)| l.contains(needle))
    }

    /// The whole text.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|(t, l)| format!("[{t:7.3}] {l}\n"))
            .collect()
    }
}

impl Guest {
    /// The QEMU command line.
    pub fn command(&self) -> Command {
        let mut c = match &self.netns {
            None => Command::new("qemu-system-s390x"),
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "qemu-system-s390x"]);
                c
            }
        };
        c.args(["-M", "s390-ccw-virtio", "-nographic", "-no-user-config"]);
        c.args(["-m", &self.memory_mb.to_string()]);
        if let Some(u) = &self.uuid {
            c.args(["-uuid", u]);
        }
        if let Some(root) = &self.tftp_root {
            c.arg("-netdev").arg(format!(
                "user,id=n0,tftp={},bootfile={}{}",
                root.display(),
                self.bootfile,
                self.netdev_options
            ));
            let mut dev = format!("virtio-net-ccw,netdev=n0,bootindex=1,{NIC_OPTIONS}");
            if let Some(m) = &self.mac {
                dev.push_str(&format!(",mac={m}"));
            }
            c.args(["-device", &dev]);
        }
        c.args(&self.extra);
        c
    }

    /// Start QEMU and read its console until a line contains `until`, QEMU
    /// exits, or `limit` passes. QEMU is killed on return.
    pub fn run(&self, until: &[&str], limit: Duration) -> Result<Console> {
        self.run_with(until, limit, &mut |_| {})
    }

    /// [`Guest::run`], calling `on_line` with each console line as it
    /// comes (a test acts on the guest's progress: takes a link down when
    /// a download starts, say).
    pub fn run_with(
        &self,
        until: &[&str],
        limit: Duration,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<Console> {
        let mut cmd = self.command();
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child: Child = cmd.spawn().map_err(|e| {
            format!("cannot start qemu-system-s390x: {e} (apt-get install qemu-system-misc)")
        })?;
        let (tx, rx) = mpsc::channel::<Option<String>>();
        let out = child.stdout.take().ok_or("no stdout")?;
        let err = child.stderr.take().ok_or("no stderr")?;
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines() {
                let Ok(l) = l else { break };
                let _ = tx2.send(Some(format!("qemu: {l}")));
            }
        });
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let s = String::from_utf8_lossy(&buf);
                        let _ = tx.send(Some(s.trim_end_matches(['\r', '\n']).to_string()));
                    }
                }
            }
            let _ = tx.send(None);
        });
        let mut con = Console::default();
        loop {
            let left = limit.saturating_sub(start.elapsed());
            if left.is_zero() {
                break;
            }
            match rx.recv_timeout(left) {
                Ok(Some(line)) => {
                    let t = start.elapsed().as_secs_f64();
                    if self.echo {
                        eprintln!("[{t:7.3}] {line}");
                    }
                    let hit = until.iter().any(|u| line.contains(u));
                    on_line(&line);
                    con.lines.push((t, line));
                    if hit {
                        break;
                    }
                }
                Ok(None) => {
                    con.exited = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        Ok(con)
    }
}

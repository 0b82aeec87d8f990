//! `--only tcg`: the cost of one lockstep TFTP block under QEMU TCG over
//! slirp, for pxeinit, the firmware, and the floors a Linux guest cannot
//! go below, all fetching the same kernel + initrd from the same slirp
//! TFTP root in one invocation:
//!
//! - pxeinit and (a) the firmware alone: the download phase of
//!   [`super::boot`]'s runs;
//! - busybox `tftp` (the tool a user would otherwise run in an initramfs),
//!   with 512-byte blocks as the s390-tools scripts use it, and with
//!   `-b 1428` (slirp's largest block), writing to the guest's tmpfs;
//! - `tftp-floor` (`xtask/floor/tftp_floor.rs`, std only, built here for
//!   s390x with rustc): one connected socket, one blocking `recv` and one
//!   `send` per block, nothing stored. What the guest kernel spends per
//!   packet (interrupt, NAPI, UDP, scheduling, two system calls) is all
//!   it costs, so this is the floor for any Linux-side TFTP client.
//!
//! The floors run one after another in one guest booted from a busybox
//! initramfs ([`super::s390tools::image_with`]); their start and end are
//! the console lines `tcg: NAME start|done`, stamped on the host as they
//! arrive.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::json::Json;
use super::timeline::System;
use super::{Options, Section};
use crate::{kernel, qemu, root, run, target_dir, Result};

/// slirp's largest TFTP block (libslirp `TFTP_BLOCKSIZE_MAX`).
const SLIRP_BLKSIZE: u64 = 1428;

/// The floors, in the order the guest runs them: (name, block size, what
/// it is).
const FLOORS: &[(&str, u64, &str)] = &[
    (
        "busybox-512",
        512,
        "busybox `tftp`, 512-byte blocks (s390-tools style)",
    ),
    ("busybox-1428", SLIRP_BLKSIZE, "busybox `tftp -b 1428`"),
    (
        "floor-1428",
        SLIRP_BLKSIZE,
        "`tftp-floor`: connected socket, recv + send per block, nothing stored",
    ),
];

/// The floors guest's boot script: wait for the lease, run each floor on
/// kernel + initrd, power off.
const SCRIPT: &str = r#"#!/bin/sh
. /etc/bench-log.sh
waited=0
while [ ! -f /etc/pxe.conf ]; do
    sleep 1
    waited=$((waited + 1))
    [ $waited -gt 120 ] && fail "no DHCP lease after 120 s"
done
. /etc/pxe.conf
log phase dhcp done: $ip from $siaddr
floor() {
    name=$1
    shift
    log "tcg: $name start"
    "$@" || fail "$name"
    log "tcg: $name done"
    rm -f /tmp/k /tmp/i
}
floor busybox-512 sh -c "tftp -g -l /tmp/k -r target/vmlinuz $siaddr && tftp -g -l /tmp/i -r target/initrd.img $siaddr"
floor busybox-1428 sh -c "tftp -b 1428 -g -l /tmp/k -r target/vmlinuz $siaddr && tftp -b 1428 -g -l /tmp/i -r target/initrd.img $siaddr"
floor floor-1428 tftp-floor $siaddr 1428 target/vmlinuz target/initrd.img
log "tcg: all done"
# The console sends on a 0.1 s timer (sclp_tty.c): let it write the above.
sleep 0.5
poweroff -f
"#;

/// One measured download of kernel + initrd.
#[derive(Debug, Clone)]
struct Row {
    key: &'static str,
    title: String,
    blksize: u64,
    /// Wall seconds, if it finished.
    secs: Option<f64>,
}

impl Row {
    fn blocks(&self, bytes: u64) -> u64 {
        // Both files: each ends with a short (maybe empty) block.
        bytes / self.blksize + 2
    }

    fn per_block_us(&self, bytes: u64) -> Option<f64> {
        Some(self.secs? * 1e6 / self.blocks(bytes) as f64)
    }
}

/// Build `tftp-floor` for s390x into `dir`.
fn build_floor(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join("tftp-floor");
    run(Command::new("rustc")
        .args(["--edition", "2021", "-O", "--target", crate::TARGET])
        .args(["-C", "target-feature=+crt-static", "-C", "strip=symbols"])
        .args(["-C", "linker=s390x-linux-gnu-gcc", "-o"])
        .arg(&out)
        .arg(root().join("xtask/floor/tftp_floor.rs")))?;
    Ok(out)
}

/// The seconds between `tcg: NAME start` and `tcg: NAME done`.
fn floor_secs(con: &qemu::Console, name: &str) -> Option<f64> {
    let start = con.find(&format!("tcg: {name} start"))?.0;
    let done = con.find(&format!("tcg: {name} done"))?.0;
    Some(done - start)
}

/// Run the part.
pub fn run_part(opts: &Options, stamp: &str) -> Result<Section> {
    let mut o = opts.clone();
    o.systems = vec![System::Pxeinit, System::Firmware];
    let setup = super::boot::prepare(&o)?;
    let bytes = setup.kernel_bytes + setup.initrd_bytes;
    let mut rows = vec![];
    for system in [System::Firmware, System::Pxeinit] {
        let r = super::boot::run(&setup, system, &o)?;
        let secs = r
            .timeline
            .phases
            .iter()
            .find(|p| p.name == "download")
            .map(|p| p.secs());
        rows.push(Row {
            key: system.key(),
            title: system.title().to_string(),
            blksize: SLIRP_BLKSIZE,
            secs,
        });
    }

    let k = kernel::ensure()?;
    let dir = target_dir().join("bench/tcg");
    let floor = build_floor(&dir)?;
    let image = setup.root.join("floors.0");
    super::s390tools::image_with(
        &k,
        &image,
        crate::DEFAULT_CMDLINE,
        SCRIPT,
        vec![(floor, "bin/tftp-floor".into())],
    )?;
    let g = qemu::Guest {
        tftp_root: Some(setup.root.clone()),
        bootfile: "floors.0".into(),
        memory_mb: 2048,
        echo: opts.echo,
        ..Default::default()
    };
    eprintln!("xtask bench: tcg: booting the floors guest");
    let con = g.run(&["tcg: all done", "FAILED"], opts.cap * 2)?;
    let log = dir.join("console-floors.log");
    std::fs::write(&log, con.text()).map_err(|e| format!("{}: {e}", log.display()))?;
    if let Some((_, l)) = con.find("FAILED") {
        eprintln!("xtask bench: tcg: {l}");
    }
    for (key, blksize, title) in FLOORS {
        rows.push(Row {
            key,
            title: title.to_string(),
            blksize: *blksize,
            secs: floor_secs(&con, key),
        });
    }
    let mut s = section(&rows, bytes);
    s.markdown = format!(
        "{stamp} Command: `cargo xtask bench --only tcg`.\n\n{}",
        s.markdown
    );
    Ok(s)
}

fn section(rows: &[Row], bytes: u64) -> Section {
    let get = |key: &str| {
        rows.iter()
            .find(|r| r.key == key)
            .and_then(|r| r.per_block_us(bytes))
    };
    let (firmware, floor) = (get("firmware"), get("floor-1428"));
    let ratio = |x: Option<f64>, base: Option<f64>| match (x, base) {
        (Some(x), Some(b)) if b > 0.0 => format!("{:.2}×", x / b),
        _ => "—".into(),
    };
    let mut md = format!(
        "Kernel + initrd ({bytes} bytes) from slirp's TFTP server, one after \
         the other in one run; per block = download seconds / blocks.\n\n\
         | client | block | download | µs per block | × firmware | × floor |\n\
         |---|---:|---:|---:|---:|---:|\n"
    );
    for r in rows {
        let us = r.per_block_us(bytes);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.title,
            r.blksize,
            r.secs.map_or("—".into(), |s| format!("{s:.2} s")),
            us.map_or("—".into(), |u| format!("{u:.0}")),
            ratio(us, firmware),
            ratio(us, floor),
        ));
    }
    let json = Json::Arr(
        rows.iter()
            .map(|r| {
                Json::obj([
                    ("client", Json::str(r.key)),
                    ("blksize", Json::Num(r.blksize as f64)),
                    ("bytes", Json::Num(bytes as f64)),
                    ("blocks", Json::Num(r.blocks(bytes) as f64)),
                    ("download_s", Json::opt(r.secs)),
                    ("us_per_block", Json::opt(r.per_block_us(bytes))),
                ])
            })
            .collect(),
    );
    Section {
        key: "tcg",
        json,
        markdown: md,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn table_has_ratios_to_firmware_and_floor() {
        let row = |key, blksize, secs| Row {
            key,
            title: key.to_string(),
            blksize,
            secs,
        };
        let bytes = 1428 * 1000;
        let s = section(
            &[
                row("firmware", 1428, Some(0.1002)),
                row("pxeinit", 1428, Some(0.3006)),
                row("floor-1428", 1428, Some(0.2004)),
                row("busybox-512", 512, None),
            ],
            bytes,
        );
        assert!(
            s.markdown
                .contains("| pxeinit | 1428 | 0.30 s | 300 | 3.00× | 1.50× |"),
            "{}",
            s.markdown
        );
        assert!(
            s.markdown.contains("| busybox-512 | 512 | — | — | — | — |"),
            "{}",
            s.markdown
        );
    }
}

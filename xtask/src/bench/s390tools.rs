//! (b) of the boot benchmark: the s390-tools way of netbooting a KVM guest,
//! assembled from Debian's s390x packages.
//!
//! s390-tools' `netboot/mk-pxelinux-ramfs` builds an initramfs from a
//! busybox install tree, the host's `kexec` with its shared libraries and
//! the virtio_net module; its `/init` starts `udhcpc` in the background
//! (here with `-s`: Debian's busybox looks for its script in /etc),
//! and a `pxeboot.script` waits (polling once a second) for the file the
//! udhcpc script writes, fetches `pxelinux.cfg/<uuid>`, `01-<mac>`, the
//! hex-IP prefixes and `default` with busybox `tftp`, greps KERNEL, INITRD
//! and APPEND out of it, fetches both files and runs `kexec -l` and
//! `kexec -e`. `mk-s390image` then combines kernel and initramfs.
//!
//! The scripts here are written for this benchmark after that design (same
//! steps, same tools, same order); they add only `s390-tools: ...` console
//! lines with the uptime so the benchmark can split the phases, and power
//! the guest off with a clear line where the original would just exit.
//! The tools come from Debian (bookworm) s390x packages fetched with
//! `apt-get download`: `busybox-static`, `kexec-tools`, and the library
//! packages its `Depends` name (recursively, `lib*` only); the shared
//! libraries actually copied are the ELF `NEEDED` entries of `kexec`
//! (`s390x-linux-gnu-readelf -d`), resolved in those packages, plus the
//! program interpreter. The modules come from the kernel's modules
//! directory with their dependencies (netboot-image's resolver, which also
//! writes the `modules.dep` busybox `modprobe` reads).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{kernel::Kernel, output, run, target_dir, Result};

/// The applets the scripts call, linked to `/bin/busybox`.
const APPLETS: &[&str] = &[
    "sh", "mount", "modprobe", "udhcpc", "ip", "tftp", "grep", "sed", "cut", "tr", "cat", "sleep",
    "printf", "expr", "rm", "mv", "uname", "tail", "head", "mkdir", "poweroff",
];

/// `/init`: mount the API file systems, load virtio_net, start udhcpc in
/// the background, hand over to the boot script (mk-pxelinux-ramfs' init,
/// plus the benchmark's log lines).
const INIT: &str = r#"#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t devtmpfs none /dev
mount -t proc none /proc
mount -t sysfs none /sys
mount -t tmpfs none /run
. /etc/bench-log.sh
log init started
modprobe virtio_net
log phase modules done
udhcpc -s /usr/share/udhcpc/default.script -O pxeconffile -O pxepathprefix -x 93:001F &
exec /sbin/pxeboot.script
"#;

/// The benchmark's log line: the kernel's uptime and a fixed prefix.
const LOG: &str = r#"log() {
    read up rest < /proc/uptime
    echo "[$up] s390-tools: $*"
}
fail() {
    log "FAILED: $*"
    sleep 0.5
    poweroff -f
}
"#;

/// udhcpc's event script: configure the interface and, once bound, write
/// the server and lease to /etc/pxe.conf for the boot script.
const DHCP_SCRIPT: &str = r#"#!/bin/sh
PXECONF=/etc/pxe.conf
prefix() {
    # netmask to prefix length
    n=0
    for o in $(echo $1 | tr . ' '); do
        case $o in
            255) n=$((n + 8));; 254) n=$((n + 7)); break;; 252) n=$((n + 6)); break;;
            248) n=$((n + 5)); break;; 240) n=$((n + 4)); break;; 224) n=$((n + 3)); break;;
            192) n=$((n + 2)); break;; 128) n=$((n + 1)); break;; *) break;;
        esac
    done
    echo $n
}
case "$1" in
    deconfig)
        ip addr flush dev $interface
        ip link set $interface up
        rm -f $PXECONF
        ;;
    renew|bound)
        ip addr flush dev $interface
        ip link set $interface up
        ip addr add $ip/$(prefix ${subnet:-255.255.255.0}) ${broadcast:+broadcast $broadcast} dev $interface
        [ -n "$router" ] && ip route add default via ${router%% *}
        server=${siaddr:-$serverid}
        if [ -n "$server" ]; then
            {
                echo "siaddr=$server"
                echo "interface=$interface"
                echo "ip=$ip"
                echo "pxepathprefix=$pxepathprefix"
            } > $PXECONF.tmp
            mv $PXECONF.tmp $PXECONF 2>/dev/null || cat $PXECONF.tmp > $PXECONF
        fi
        ;;
esac
exit 0
"#;

/// The boot script: wait for the lease, look up the config like PXELINUX,
/// parse it with grep and sed (one entry), download, kexec.
const PXEBOOT: &str = r#"#!/bin/sh
. /etc/bench-log.sh
waited=0
while [ ! -f /etc/pxe.conf ]; do
    sleep 1
    waited=$((waited + 1))
    [ $waited -gt 600 ] && fail "no DHCP lease after 600 s"
done
. /etc/pxe.conf
log phase dhcp done: $ip from $siaddr
uuid=$(grep UUID /proc/sysinfo | tail -1 | tr -d ' ' | cut -d: -f2)
mac=$(cat /sys/class/net/$interface/address | tr : -)
iphex=$(printf %02X $(echo $ip | tr . ' '))
configs="$uuid 01-$mac"
for i in 8 7 6 5 4 3 2 1; do
    configs="$configs $(echo $iphex | cut -c 1-$i)"
done
configs="$configs default"
for c in $configs; do
    if tftp -g -l /tmp/config -r ${pxepathprefix}pxelinux.cfg/$c $siaddr 2>/dev/null; then
        break
    fi
done
[ -f /tmp/config ] || fail "no pxelinux.cfg file on $siaddr"
key() {
    grep -i "^[[:space:]]*$1[[:space:]]" /tmp/config | head -1 | sed "s/^[[:space:]]*$1[[:space:]]*//I"
}
kernel=$(key kernel)
initrd=$(key initrd)
append=$(key append)
[ -n "$kernel" ] || fail "no KERNEL in pxelinux.cfg/$c"
log phase config done: pxelinux.cfg/$c
tftp -g -l /tmp/kernel -r $pxepathprefix$kernel $siaddr || fail "tftp $siaddr $kernel"
INITRD=
if [ -n "$initrd" ]; then
    tftp -g -l /tmp/initrd -r $pxepathprefix$initrd $siaddr || fail "tftp $siaddr $initrd"
    INITRD=--initrd=/tmp/initrd
fi
log phase download done
kexec -l /tmp/kernel $INITRD --append="$append" || fail "kexec -l"
log phase kexec-load done
log kexec -e
kexec -e
fail "kexec -e returned"
"#;

/// The Debian packages unpacked into one tree.
struct Packages {
    root: PathBuf,
}

fn first_deb(dir: &Path, prefix: &str) -> Result<Option<PathBuf>> {
    let mut found = None;
    for e in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(n) = name {
            if n.starts_with(&format!("{prefix}_")) && n.ends_with("_s390x.deb") {
                found = Some(p);
            }
        }
    }
    Ok(found)
}

/// Package names in a `Depends` field: the first alternative of each,
/// without version or architecture.
fn depends_names(field: &str) -> Vec<String> {
    field
        .split(',')
        .filter_map(|alt| alt.split('|').next())
        .filter_map(|p| p.split_whitespace().next())
        .map(|p| p.split(':').next().unwrap_or(p).to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

impl Packages {
    /// Download (once) busybox-static, kexec-tools and its library
    /// packages, and unpack them into `dir/root`.
    fn fetch(dir: &Path) -> Result<Packages> {
        let debs = dir.join("debs");
        std::fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
        let root = dir.join("root");
        let mut todo = vec!["busybox-static".to_string(), "kexec-tools".to_string()];
        let mut seen = BTreeSet::new();
        let mut unpack = vec![];
        while let Some(pkg) = todo.pop() {
            if !seen.insert(pkg.clone()) {
                continue;
            }
            let deb = match first_deb(&debs, &pkg)? {
                Some(d) => d,
                None => {
                    eprintln!("xtask bench: apt-get download {pkg}:s390x");
                    run(Command::new("apt-get")
                        .args(["download", "-q", &format!("{pkg}:s390x")])
                        .current_dir(&debs))?;
                    first_deb(&debs, &pkg)?
                        .ok_or_else(|| format!("apt-get download {pkg}:s390x left no .deb"))?
                }
            };
            let deps = output(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Depends"))?;
            todo.extend(
                depends_names(&deps)
                    .into_iter()
                    .filter(|d| d.starts_with("lib") && !seen.contains(d)),
            );
            unpack.push(deb);
        }
        let _ = std::fs::remove_dir_all(&root);
        for deb in &unpack {
            run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&root))?;
        }
        Ok(Packages { root })
    }

    /// `rel` (a path inside the tree, no leading `/`) with symlinks inside
    /// the tree followed.
    fn resolve(&self, rel: &str) -> Option<PathBuf> {
        let mut p = self.root.join(rel.trim_start_matches('/'));
        for _ in 0..8 {
            match std::fs::read_link(&p) {
                Ok(t) if t.is_absolute() => p = self.root.join(t.strip_prefix("/").ok()?),
                Ok(t) => p = p.parent()?.join(t),
                Err(_) => break,
            }
        }
        p.is_file().then_some(p)
    }

    /// Where the tree holds library `name`, as a path inside the tree.
    fn find_library(&self, name: &str) -> Option<String> {
        [
            "lib/s390x-linux-gnu",
            "usr/lib/s390x-linux-gnu",
            "lib64",
            "lib",
            "usr/lib",
        ]
        .iter()
        .map(|d| format!("{d}/{name}"))
        .find(|rel| self.resolve(rel).is_some())
    }
}

/// `NEEDED` entries and the program interpreter of an ELF file.
fn elf_deps(path: &Path) -> Result<(Vec<String>, Option<String>)> {
    let dynamic = output(Command::new("s390x-linux-gnu-readelf").arg("-dW").arg(path))?;
    let needed = dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l[l.find('[')? + 1..l.rfind(']')?].to_string()))
        .collect();
    let headers = output(Command::new("s390x-linux-gnu-readelf").arg("-lW").arg(path))?;
    let interp = headers
        .lines()
        .find_map(|l| l.split_once("Requesting program interpreter: "))
        .and_then(|(_, r)| r.strip_suffix(']'))
        .map(str::to_string);
    Ok((needed, interp))
}

/// What went into the (b) image.
#[derive(Debug, Clone)]
pub struct Built {
    /// The combined image (kernel + initramfs).
    pub image: PathBuf,
    /// Its initramfs size, compressed.
    pub initramfs_bytes: usize,
    /// The files taken from the Debian packages, as paths in the initramfs.
    pub from_packages: Vec<String>,
}

/// Build (b)'s `pxelinux.0` (kernel + s390-tools style initramfs) as
/// `out` with the first-stage `cmdline`.
pub fn image(k: &Kernel, out: &Path, cmdline: &str) -> Result<Built> {
    image_with(k, out, cmdline, PXEBOOT, vec![])
}

/// The same image with another boot script (`/sbin/pxeboot.script`, run
/// once udhcpc is started; it sources `/etc/bench-log.sh` for `log` and
/// `fail`, and waits for `/etc/pxe.conf`) and more files (source, path in
/// the initramfs): the `tcg` benchmark's floors.
pub fn image_with(
    k: &Kernel,
    out: &Path,
    cmdline: &str,
    boot_script: &str,
    more: Vec<(PathBuf, String)>,
) -> Result<Built> {
    let dir = target_dir().join("bench/s390-tools");
    let pkgs = Packages::fetch(&dir)?;
    let mut add: Vec<(PathBuf, String)> = vec![];
    let mut from_packages = vec![];
    let mut take = |rel: &str, add: &mut Vec<(PathBuf, String)>| -> Result<()> {
        let src = pkgs.resolve(rel).ok_or_else(|| {
            format!(
                "{rel}: not in the unpacked packages {}",
                pkgs.root.display()
            )
        })?;
        add.push((src, rel.to_string()));
        from_packages.push(format!("/{rel}"));
        Ok(())
    };
    take("bin/busybox", &mut add)?;
    take("sbin/kexec", &mut add)?;
    // kexec's shared libraries, transitively, and the loader.
    let mut todo = vec![pkgs.resolve("sbin/kexec").ok_or("sbin/kexec vanished")?];
    let mut libs = BTreeSet::new();
    while let Some(elf) = todo.pop() {
        let (needed, interp) = elf_deps(&elf)?;
        if let Some(i) = interp {
            let rel = i.trim_start_matches('/').to_string();
            if libs.insert(rel.clone()) {
                take(&rel, &mut add)?;
            }
        }
        for n in needed {
            let rel = pkgs.find_library(&n).ok_or_else(|| {
                format!(
                    "{}: needs {n}, which none of the downloaded packages holds",
                    elf.display()
                )
            })?;
            if libs.insert(rel.clone()) {
                take(&rel, &mut add)?;
                todo.push(pkgs.resolve(&rel).ok_or("library vanished")?);
            }
        }
    }
    let scripts = dir.join("scripts");
    std::fs::create_dir_all(&scripts).map_err(|e| e.to_string())?;
    for (name, text, dest, mode) in [
        (
            "default.script",
            DHCP_SCRIPT,
            "usr/share/udhcpc/default.script",
            0o755,
        ),
        ("pxeboot.script", boot_script, "sbin/pxeboot.script", 0o755),
        ("bench-log.sh", LOG, "etc/bench-log.sh", 0o644),
    ] {
        use std::os::unix::fs::PermissionsExt;
        let p = scripts.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{}: {e}", p.display()))?;
        add.push((p, dest.to_string()));
    }
    add.extend(more);
    let spec = netboot_image::initramfs::Spec {
        init: INIT.as_bytes().to_vec(),
        modules_dir: Some(k.modules_dir.clone()),
        modules: vec!["virtio_net".into()],
        add,
        compression: netboot_image::compress::Compression::Gzip,
    };
    let mut built = netboot_image::initramfs::assemble(&spec).map_err(|e| e.to_string())?;
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "mnt", "var",
    ] {
        if !built.archive.contains(d) {
            built.archive.add_dir(d, 0o755);
        }
    }
    for a in APPLETS {
        built.archive.add_symlink(&format!("bin/{a}"), "busybox");
    }
    let initramfs = netboot_image::compress::compress(
        &built.archive.to_bytes(),
        netboot_image::compress::Compression::Gzip,
    )
    .map_err(|e| e.to_string())?;
    let kernel = std::fs::read(&k.vmlinuz).map_err(|e| format!("{}: {e}", k.vmlinuz.display()))?;
    let img = netboot_image::s390::combine(&kernel, &[&initramfs], Some(cmdline))
        .map_err(|e| e.to_string())?;
    if let Some(d) = out.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(out, &img).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(Built {
        image: out.to_path_buf(),
        initramfs_bytes: initramfs.len(),
        from_packages,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn depends_first_alternatives() {
        assert_eq!(
            depends_names("libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, debconf, zlib1g:s390x"),
            ["libc6", "debconf", "debconf", "zlib1g"]
        );
        assert!(depends_names("").is_empty());
    }

    #[test]
    fn scripts_log_every_mark_the_timeline_reads() {
        use super::super::timeline::System;
        let all = format!("{INIT}{PXEBOOT}");
        for r in System::S390Tools.rules() {
            if let Some(what) = r.needle.strip_prefix("s390-tools: ") {
                assert!(all.contains(&format!("log {what}")), "no `log {what}`");
            }
        }
    }
}

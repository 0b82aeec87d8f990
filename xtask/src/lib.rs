//! pxeinit's build automation, as a library so that `qemu-tests/` and the
//! benchmarks drive exactly what `cargo xtask` does.
//!
//! - [`deps`]: install what a fresh Debian machine lacks (apt, rustup target).
//! - [`kernel`]: fetch and unpack the Debian s390x kernel into `target/kernel/`.
//! - [`build_init`]: the static s390x `pxeinit`.
//! - [`image`]: `pxelinux.0` = kernel + initramfs (pxeinit, modules).
//! - [`payload`]: the demo/test target: a tiny static /init that prints
//!   its command line and powers off.
//! - [`qemu`]: run `qemu-system-s390x` and read its console.
//! - [`disk`]: a bootable ISO "local disk" for LOCALBOOT tests.
//! - [`testlog`]: `cargo xtask test`'s end-of-run summary.
//! - [`bench`]: `cargo xtask bench`, the numbers in BENCHMARKS.md.

pub mod bench;
pub mod disk;
pub mod qemu;
pub mod testlog;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Errors are strings for the xtask: each one says what failed.
pub type Result<T> = std::result::Result<T, String>;

/// The Rust target of the guest.
pub const TARGET: &str = "s390x-unknown-linux-gnu";
/// The first-stage command line baked into `pxelinux.0`.
pub const DEFAULT_CMDLINE: &str = "console=ttysclp0 quiet init_on_alloc=0";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `target/` (or `$CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Exclusive use of `path` (a package fetched and unpacked once, say)
/// until the returned file is dropped. Tests run in parallel threads, and
/// each fetches what it needs: without this, two would fetch at once and
/// one could read a file the other is still unpacking (a half-written
/// busybox that crashed a target's /init). `flock` on `PATH.lock` beside
/// it, which excludes other threads (each opens the file anew) as well as
/// other processes, and is released if the holder dies.
pub fn exclusive(path: &Path) -> Result<std::fs::File> {
    let mut name = path.as_os_str().to_os_string();
    name.push(".lock");
    let p = PathBuf::from(name);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| format!("{}: {e}", p.display()))?;
    f.lock()
        .map_err(|e| format!("locking {}: {e}", p.display()))?;
    Ok(f)
}

/// How many times [`fetch_deb`] ran (the tests count fetches).
#[cfg(test)]
static FETCHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Download the s390x package `pkg` with apt into `dir` and unpack it to
/// `dir/root` (beside it, then renamed), or unpack `deb` when given. The
/// caller holds [`exclusive`] on `dir` and has found no usable `dir/root`:
/// before a download, whatever is in `dir` (a `.deb` cut short, a root
/// without what the caller looks for, an unpacking a killed run left) is
/// removed, so nothing half-made is trusted; with `deb` given, only the old
/// root. Returns the `.deb` unpacked.
fn fetch_deb(pkg: &str, deb: Option<PathBuf>, dir: &Path) -> Result<PathBuf> {
    #[cfg(test)]
    FETCHES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let root = dir.join("root");
    match &deb {
        // A given .deb may live in `dir`: only the old root goes.
        Some(_) => drop(std::fs::remove_dir_all(&root)),
        None => drop(std::fs::remove_dir_all(dir)),
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let deb = match deb {
        Some(d) => d,
        None => {
            eprintln!("xtask: apt-get download {pkg}:s390x");
            run(Command::new("apt-get")
                .args(["download", &format!("{pkg}:s390x")])
                .current_dir(dir))?;
            std::fs::read_dir(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "deb"))
                .ok_or_else(|| {
                    format!(
                        "apt-get download {pkg}:s390x left no .deb in {}",
                        dir.display()
                    )
                })?
        }
    };
    let tmp = staging(&root);
    let r = run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tmp));
    if let Err(e) = r {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &root).map_err(|e| format!("{}: {e}", root.display()))?;
    Ok(deb)
}

/// A name beside `path` that no other thread or process uses, for a file
/// or tree that is then renamed onto `path`, so that whoever opens `path`
/// sees the old one or the whole new one.
pub fn staging(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    path.with_file_name(name)
}

/// Write `bytes` to `path` through [`staging`].
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = staging(path);
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The `sh -c` script that starts nfs-ganesha with `conf` for the NFS
/// tests, run under `unshare -m` in a test's network namespace: a private
/// `/run` (so rpcbind's socket and lock are the namespace's own), rpcbind
/// in the background, and ganesha once rpcbind's socket exists (it
/// registers its services with rpcbind as it starts, and exits if it
/// cannot), its pid file in `dir`.
pub fn ganesha_script(conf: &Path, dir: &Path) -> String {
    format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/rpcbind || exit 1; rpcbind -f & \
         i=0; while [ ! -S /run/rpcbind.sock ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; \
         [ -S /run/rpcbind.sock ] || {{ echo 'rpcbind made no /run/rpcbind.sock in 10 s' >&2; exit 1; }}; \
         exec ganesha.nfsd -F -f {} -L /dev/stderr -p {}/ganesha.pid",
        conf.display(),
        dir.display()
    )
}

/// Run a command, failing with its name and status.
pub fn run(cmd: &mut Command) -> Result<()> {
    let st = cmd
        .status()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    if !st.success() {
        return Err(format!("{cmd:?} failed: {st}"));
    }
    Ok(())
}

/// Run a command and capture stdout.
pub fn output(cmd: &mut Command) -> Result<String> {
    let o = cmd
        .output()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    if !o.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}: {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn have(bin: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Installing what a fresh Debian machine lacks, from the one list of
/// programs and packages, `xtask/packages.txt`.
pub mod deps {
    use super::*;

    /// The list: program (a name on PATH or /usr/sbin, or an absolute
    /// path), Debian package, set.
    pub const LIST: &str = include_str!("../packages.txt");

    /// Which commands a program is needed for; each set includes the ones
    /// before it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Set {
        /// Building and booting `pxelinux.0` (`image`, `demo`).
        Boot,
        /// The test suites.
        Test,
        /// The benchmarks.
        Bench,
    }

    /// One row of the list.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Need {
        /// Program name or absolute path.
        pub program: &'static str,
        /// Debian package.
        pub package: &'static str,
        /// The set that first needs it.
        pub set: Set,
    }

    /// The rows of [`LIST`].
    ///
    /// # Panics
    ///
    /// On a malformed row (the list is compiled in; a test parses it).
    pub fn needs() -> Vec<Need> {
        LIST.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&'static str> = l.split_whitespace().collect();
                let set = match f.get(2) {
                    Some(&"boot") => Set::Boot,
                    Some(&"test") => Set::Test,
                    Some(&"bench") => Set::Bench,
                    _ => panic!(
                        "xtask/packages.txt: bad row {l:?} (program package boot|test|bench)"
                    ),
                };
                assert_eq!(f.len(), 3, "xtask/packages.txt: bad row {l:?}");
                Need {
                    program: f[0],
                    package: f[1],
                    set,
                }
            })
            .collect()
    }

    /// Whether `program` is in the list (tests refuse programs that are not).
    pub fn listed(program: &str) -> bool {
        needs().iter().any(|n| n.program == program)
    }

    fn present(probe: &str) -> bool {
        if probe.starts_with('/') {
            Path::new(probe).exists()
        } else {
            have(probe) || Path::new("/usr/sbin").join(probe).exists()
        }
    }

    /// Install the missing packages of `set` (and the sets before it) with
    /// apt-get, and the Rust target with rustup.
    pub fn ensure(set: Set) -> Result<()> {
        let mut missing: Vec<&str> = needs()
            .into_iter()
            .filter(|n| n.set <= set && !present(n.program))
            .map(|n| n.package)
            .collect();
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            eprintln!("xtask: installing {}", missing.join(" "));
            let sudo = if nix_is_root() { vec![] } else { vec!["sudo"] };
            let apt = |args: &[&str]| {
                let mut c = Command::new(sudo.first().copied().unwrap_or("apt-get"));
                if !sudo.is_empty() {
                    c.arg("apt-get");
                }
                c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
                run(&mut c)
            };
            apt(&["update", "-qq"])?;
            let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
            args.extend(&missing);
            apt(&args)?;
            let still: Vec<&str> = needs()
                .into_iter()
                .filter(|n| n.set <= set && !present(n.program))
                .map(|n| n.program)
                .collect();
            if !still.is_empty() {
                return Err(format!(
                    "installed {} but still missing: {} (xtask/packages.txt names the wrong package)",
                    missing.join(" "),
                    still.join(" ")
                ));
            }
        }
        let targets = output(Command::new("rustup").args(["target", "list", "--installed"]))
            .unwrap_or_default();
        if !targets.lines().any(|l| l.trim() == TARGET) {
            eprintln!("xtask: rustup target add {TARGET}");
            run(Command::new("rustup").args(["target", "add", TARGET]))?;
        }
        if set >= Set::Test {
            let comps = output(Command::new("rustup").args(["component", "list", "--installed"]))
                .unwrap_or_default();
            for c in ["rustfmt", "clippy"] {
                if !comps.lines().any(|l| l.starts_with(c)) {
                    eprintln!("xtask: rustup component add {c}");
                    run(Command::new("rustup").args(["component", "add", c]))?;
                }
            }
        }
        Ok(())
    }

    fn nix_is_root() -> bool {
        output(Command::new("id").arg("-u"))
            .map(|s| s.trim() == "0")
            .unwrap_or(false)
    }

    #[cfg(test)]
    mod test {
        use super::*;

        #[test]
        fn the_list_parses_and_names_each_program_once() {
            let n = needs();
            assert!(n.len() > 10);
            for (i, a) in n.iter().enumerate() {
                assert!(
                    n[i + 1..].iter().all(|b| b.program != a.program),
                    "{} listed twice",
                    a.program
                );
            }
            assert!(listed("dnsmasq") && listed("qemu-system-s390x"));
            assert!(!listed("udhcpd"), "busybox provides udhcpd as an applet");
        }
    }
}

/// The Debian s390x kernel.
pub mod kernel {
    use super::*;

    /// An unpacked kernel package (`boot/vmlinuz-*`, `lib/modules/*`).
    pub use netboot_image::kernel_tree::KernelTree as Kernel;

    /// The kernel package name that `linux-image-s390x` depends on.
    fn package_name() -> Result<String> {
        let out = output(Command::new("apt-cache").args(["depends", "linux-image-s390x:s390x"]))?;
        out.lines()
            .filter_map(|l| l.trim().strip_prefix("Depends: "))
            .find(|p| p.starts_with("linux-image-"))
            .map(|p| p.trim_end_matches(":s390x").to_string())
            .ok_or_else(|| {
                format!("apt-cache depends linux-image-s390x:s390x named no kernel:\n{out}")
            })
    }

    /// Where [`ensure`] unpacks the kernel package (`target/kernel/root`).
    pub fn unpacked_dir() -> PathBuf {
        target_dir().join("kernel/root")
    }

    /// Fetch (once) and unpack the kernel into `target/kernel/`. Set
    /// `PXEINIT_KERNEL_DEB` to use a given .deb instead of apt.
    pub fn ensure() -> Result<Kernel> {
        let dir = target_dir().join("kernel");
        let unpacked = unpacked_dir();
        if let Some(k) = Kernel::find(&unpacked) {
            return Ok(k);
        }
        let _lock = exclusive(&dir)?;
        if let Some(k) = Kernel::find(&unpacked) {
            return Ok(k);
        }
        let (pkg, deb) = match std::env::var_os("PXEINIT_KERNEL_DEB") {
            Some(p) => (String::new(), Some(PathBuf::from(p))),
            None => {
                let arches = output(Command::new("dpkg").arg("--print-foreign-architectures"))?;
                if !arches.lines().any(|a| a.trim() == "s390x") {
                    eprintln!("xtask: dpkg --add-architecture s390x");
                    run(Command::new("dpkg").args(["--add-architecture", "s390x"]))?;
                    run(Command::new("apt-get").args(["update", "-qq"]))?;
                }
                let pkg = match package_name() {
                    Ok(p) => p,
                    Err(_) => {
                        run(Command::new("apt-get").args(["update", "-qq"]))?;
                        package_name()?
                    }
                };
                (pkg, None)
            }
        };
        let deb = fetch_deb(&pkg, deb, &dir)?;
        Kernel::find(&unpacked).ok_or_else(|| format!("{}: no kernel inside", deb.display()))
    }
}

/// Build the static s390x `pxeinit` and return its path.
pub fn build_init() -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).current_dir(root()).args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "pxeinit",
        "--target",
        TARGET,
    ]))?;
    Ok(target_dir().join(TARGET).join("release/pxeinit"))
}

/// Build `pxelinux.0` into `out` with the first-stage `cmdline`.
pub fn image(out: &Path, cmdline: &str) -> Result<PathBuf> {
    image_with_keys(out, cmdline, &[])
}

/// [`image`] with trusted minisign public keys (`netboot-image build
/// --trust-key`): pxeinit then boots only files signed by one of them.
pub fn image_with_keys(out: &Path, cmdline: &str, trust_keys: &[PathBuf]) -> Result<PathBuf> {
    image_with(out, cmdline, trust_keys, &[])
}

/// [`image_with_keys`], with `files` (source, path in the initramfs) added
/// too: a CA bundle for `pxe.cacert=`, say.
pub fn image_with(
    out: &Path,
    cmdline: &str,
    trust_keys: &[PathBuf],
    files: &[(PathBuf, String)],
) -> Result<PathBuf> {
    let mut add = trust_keys
        .iter()
        .map(|k| netboot_image::trust::entry(k))
        .collect::<Result<Vec<_>>>()?;
    add.extend(files.iter().cloned());
    let k = kernel::ensure()?;
    let init = build_init()?;
    let init_bytes = std::fs::read(&init).map_err(|e| format!("{}: {e}", init.display()))?;
    let spec = netboot_image::initramfs::Spec {
        init: init_bytes,
        modules_dir: Some(k.modules_dir.clone()),
        modules: vec!["virtio_net".into()],
        add,
        compression: netboot_image::compress::Compression::Gzip,
    };
    let initramfs = netboot_image::initramfs::build(&spec).map_err(|e| e.to_string())?;
    let kernel = std::fs::read(&k.vmlinuz).map_err(|e| format!("{}: {e}", k.vmlinuz.display()))?;
    let img = netboot_image::s390::combine(&kernel, &[&initramfs], Some(cmdline))
        .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let path = out.join("pxelinux.0");
    write_whole(&path, &img)?;
    Ok(path)
}

/// The demo/test target payload.
pub mod payload {
    use super::*;

    /// Compile the target /init (static s390x) with `banner` in its greeting.
    pub fn target_init(banner: &str) -> Result<Vec<u8>> {
        let dir = target_dir().join("payload");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let src = root().join("xtask/assets/target-init.c");
        let bin = dir.join(format!(
            "target-init-{}",
            banner.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        ));
        let tmp = staging(&bin);
        run(Command::new("s390x-linux-gnu-gcc")
            .args(["-static", "-Os", "-s", "-o"])
            .arg(&tmp)
            .arg(format!("-DBANNER=\"{banner}\""))
            .arg(&src))?;
        let bytes = std::fs::read(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &bin).map_err(|e| format!("{}: {e}", bin.display()))?;
        Ok(bytes)
    }

    /// A gzip initramfs with the target /init and `extra` bytes of padding
    /// (to make big initrds for benchmarks).
    pub fn target_initrd(banner: &str, extra: usize) -> Result<Vec<u8>> {
        let init = target_init(banner)?;
        let mut a = netboot_image::cpio::Archive::new();
        a.add_file("/init", 0o755, init);
        a.add_char_dev("/dev/console", 0o600, 5, 1);
        if extra > 0 {
            // Incompressible filler so the transfer size is what it says.
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let filler: Vec<u8> = (0..extra)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            a.add_file("/filler", 0o644, filler);
        }
        let cpio = a.to_bytes();
        if extra > 0 {
            return Ok(cpio);
        }
        netboot_image::compress::compress(&cpio, netboot_image::compress::Compression::Gzip)
            .map_err(|e| e.to_string())
    }

    /// Debian's static s390x busybox (fetched once with apt-get download),
    /// a third-party payload for tests.
    pub fn busybox() -> Result<Vec<u8>> {
        busybox_in(&target_dir().join("busybox"))
    }

    /// [`busybox`], kept in `dir` (`dir/root` is the unpacked package).
    pub fn busybox_in(dir: &Path) -> Result<Vec<u8>> {
        let dir = dir.to_path_buf();
        let root = dir.join("root");
        let bin = root.join("bin/busybox");
        if !bin.exists() {
            let _ = kernel::ensure()?; // makes sure the s390x architecture is known to apt
            let _lock = exclusive(&dir)?;
            if !bin.exists() {
                fetch_deb("busybox-static", None, &dir)?;
            }
        }
        std::fs::read(&bin).map_err(|e| format!("{}: {e}", bin.display()))
    }

    /// What every [`busybox_initrd`] script runs first. The kernel's
    /// messages are kept off the console (`dmesg -n 1`): printk writes to
    /// the console as it comes, even into the middle of a line the script
    /// is writing, and tests look for the script's lines whole. And the
    /// script ends the machine with `halt_now poweroff` or `halt_now
    /// reboot`, which first waits for the console: the line-mode console
    /// sends a tty's output on a 0.1 s timer
    /// (`drivers/s390/char/sclp_tty.c`), and what it still holds when the
    /// machine stops is lost.
    pub const BUSYBOX_PREAMBLE: &str = "/bin/busybox dmesg -n 1
        halt_now() { /bin/busybox sleep 0.5; /bin/busybox \"$1\" -f; }
";

    /// A gzip initramfs whose /init is the shell `script`, run by Debian's
    /// static busybox after [`BUSYBOX_PREAMBLE`].
    pub fn busybox_initrd(script: &str) -> Result<Vec<u8>> {
        let mut a = netboot_image::cpio::Archive::new();
        a.add_file("/bin/busybox", 0o755, busybox()?);
        a.add_symlink("/bin/sh", "busybox");
        a.add_file(
            "/init",
            0o755,
            format!("#!/bin/sh\n{BUSYBOX_PREAMBLE}{script}").into_bytes(),
        );
        a.add_char_dev("/dev/console", 0o600, 5, 1);
        netboot_image::compress::compress(&a.to_bytes(), netboot_image::compress::Compression::Gzip)
            .map_err(|e| e.to_string())
    }

    /// Write a TFTP root for the demo: `pxelinux.0`, the target kernel and
    /// initrd, and `pxelinux.cfg/<name>` with `config`.
    pub fn tftp_root(dir: &Path, banner: &str) -> Result<()> {
        let k = kernel::ensure()?;
        let t = dir.join("target");
        std::fs::create_dir_all(&t).map_err(|e| e.to_string())?;
        let vmlinuz =
            std::fs::read(&k.vmlinuz).map_err(|e| format!("{}: {e}", k.vmlinuz.display()))?;
        write_whole(&t.join("vmlinuz"), &vmlinuz)?;
        write_whole(&t.join("initrd.gz"), &target_initrd(banner, 0)?)?;
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// One holder at a time, across threads of one process.
    #[test]
    fn exclusive_admits_one_thread_at_a_time() {
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (inside, most) = (inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        let _l = exclusive(&target_dir().join("tmp/exclusive-test")).expect("lock");
                        let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(2));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }

    /// A reader never sees part of a file [`write_whole`] is replacing.
    #[test]
    fn write_whole_is_seen_whole() {
        let dir = target_dir().join("tmp/write-whole");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let p = dir.join("f");
        let (a, b) = (vec![b'a'; 1 << 20], vec![b'b'; 3 << 20]);
        write_whole(&p, &a).expect("write");
        let writer = {
            let (p, a, b) = (p.clone(), a.clone(), b.clone());
            std::thread::spawn(move || {
                for i in 0..20 {
                    write_whole(&p, if i % 2 == 0 { &b } else { &a }).expect("write");
                }
            })
        };
        while !writer.is_finished() {
            let got = std::fs::read(&p).expect("read");
            assert!(
                got == a || got == b,
                "read {} bytes of a half-written file",
                got.len()
            );
        }
        writer.join().expect("writer");
        let left = std::fs::read_dir(&dir).expect("dir").count();
        assert_eq!(left, 1, "staging files left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Tests fetch busybox from parallel threads: each gets the whole
    /// binary (the same bytes, an s390x ELF of more than 1 MB), fetched
    /// once. Before the lock, one thread read the file while another's
    /// dpkg-deb was still writing it, and a target's /init crashed.
    #[test]
    fn parallel_busybox_fetches_get_the_whole_binary() {
        let dir = target_dir().join("tmp/busybox-race");
        let _ = std::fs::remove_dir_all(&dir);
        // Each thread asks again and again, as test after test does, so
        // that some ask while another thread is still unpacking. Each read
        // is kept as a hash (800 copies of busybox would be 1.6 GB).
        let hash = |b: &[u8]| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            b.hash(&mut h);
            h.finish()
        };
        let fetches = FETCHES.load(Ordering::SeqCst);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    (0..200)
                        .map(|_| hash(&payload::busybox_in(&dir).expect("busybox")))
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let got: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().expect("thread"))
            .collect();
        let whole = std::fs::read(dir.join("root/bin/busybox")).expect("busybox");
        assert!(whole.len() > 1 << 20, "{} bytes", whole.len());
        assert_eq!(&whole[..4], b"\x7fELF");
        assert_eq!(whole[18..20], [0, 22], "e_machine is not EM_S390");
        let partial = got.iter().filter(|&&h| h != hash(&whole)).count();
        assert_eq!(
            partial,
            0,
            "reads of {} that were not the whole busybox",
            got.len()
        );
        assert_eq!(
            FETCHES.load(Ordering::SeqCst) - fetches,
            1,
            "busybox was fetched more than once"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

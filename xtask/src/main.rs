//! `cargo xtask`: build, package, boot in QEMU, test.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use xtask::{deps, kernel, payload, qemu, Result};

const USAGE: &str = "\
cargo xtask <command>

  image --out DIR [--cmdline STR] [--trust-key KEY.pub ...]
                                    build DIR/pxelinux.0 (kernel + pxeinit initramfs;
                                    with trusted minisign keys, it boots only signed files)
  demo [--keep]                     install what is missing, build the image and
                                    netboot it in qemu-system-s390x into a target
  test                              install what is missing and run every test
                                    (unit, host integration as root, QEMU boots)
  deps [--test]                     only install the packages and rustup target
  kernel                            only fetch and unpack the Debian s390x kernel
  bench [--only boot|size|net] [--out FILE] ...
                                    run the benchmarks, update BENCHMARKS.md
                                    (cargo xtask bench --help)
  disk --out FILE [--marker STR] [--cmdline STR]
                                    build a bootable ISO local disk (Debian kernel,
                                    busybox /init printing STR) for LOCALBOOT tests
";

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    if cmd != "bench" && rest.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return Ok(());
    }
    match cmd.as_str() {
        "image" => image(&rest),
        "demo" => demo(&rest),
        "test" => test(&rest),
        "bench" => xtask::bench::main(&rest),
        "deps" => {
            if rest.iter().any(|a| a == "--test") {
                deps::ensure(deps::Set::Test)
            } else {
                deps::ensure(deps::Set::Boot)
            }
        }
        "disk" => disk(&rest),
        "kernel" => {
            let k = kernel::ensure()?;
            println!("{} {}", k.release, k.vmlinuz.display());
            Ok(())
        }
        "" | "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

fn flag_value(args: &[String], name: &str) -> Result<Option<String>> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .cloned()
            .map(Some)
            .ok_or_else(|| format!("{name} needs a value")),
    }
}

fn image(args: &[String]) -> Result<()> {
    let out = flag_value(args, "--out")?.ok_or("image: --out DIR is required")?;
    let cmdline = flag_value(args, "--cmdline")?.unwrap_or_else(|| xtask::DEFAULT_CMDLINE.into());
    let keys: Vec<PathBuf> = args
        .windows(2)
        .filter(|w| w[0] == "--trust-key")
        .map(|w| PathBuf::from(&w[1]))
        .collect();
    if args.last().is_some_and(|a| a == "--trust-key") {
        return Err("--trust-key needs a value".into());
    }
    deps::ensure(deps::Set::Boot)?;
    let p = xtask::image_with_keys(&PathBuf::from(out), &cmdline, &keys)?;
    let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    println!("{} ({} bytes)", p.display(), len);
    Ok(())
}

fn disk(args: &[String]) -> Result<()> {
    let out = flag_value(args, "--out")?.ok_or("disk: --out FILE is required")?;
    let marker =
        flag_value(args, "--marker")?.unwrap_or_else(|| xtask::disk::DEFAULT_MARKER.into());
    let cmdline = flag_value(args, "--cmdline")?.unwrap_or_else(|| "console=ttysclp0 quiet".into());
    deps::ensure(deps::Set::Boot)?;
    let out = PathBuf::from(out);
    xtask::disk::marker_disk(&out, &marker, &cmdline)?;
    let len = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!("{} ({} bytes): attach with -drive file={},if=none,id=d0,format=raw,readonly=on -device virtio-blk-ccw,drive=d0,devno=fe.0.0005", out.display(), len, out.display());
    Ok(())
}

fn demo(_args: &[String]) -> Result<()> {
    let t0 = Instant::now();
    deps::ensure(deps::Set::Boot)?;
    let root = xtask::target_dir().join("demo/tftp");
    let _ = std::fs::remove_dir_all(&root);
    eprintln!("xtask: building pxelinux.0");
    xtask::image(&root, xtask::DEFAULT_CMDLINE)?;
    payload::tftp_root(&root, "demo")?;
    let cfg = root.join("pxelinux.cfg");
    std::fs::create_dir_all(&cfg).map_err(|e| e.to_string())?;
    std::fs::write(
        cfg.join("default"),
        "# pxeinit demo: boot the target kernel with a tiny initramfs\n\
         DEFAULT demo\n\
         LABEL demo\n\
         \x20 KERNEL target/vmlinuz\n\
         \x20 INITRD target/initrd.gz\n\
         \x20 APPEND console=ttysclp0 pxeinit.demo=hello\n",
    )
    .map_err(|e| e.to_string())?;
    let built = t0.elapsed();
    eprintln!(
        "xtask: TFTP root {} ready ({:.1} s); starting qemu-system-s390x",
        root.display(),
        built.as_secs_f64()
    );
    let g = qemu::Guest {
        tftp_root: Some(root),
        echo: true,
        ..Default::default()
    };
    eprintln!("xtask: {:?}", g.command());
    let con = g.run(&["TARGET-DONE"], Duration::from_secs(300))?;
    let wall = con.lines.last().map(|l| l.0).unwrap_or(0.0);
    match con.find("TARGET-CMDLINE") {
        Some((t, l)) => {
            eprintln!("\nxtask: demo OK: the target booted at {t:.1} s with {l}");
            eprintln!(
                "xtask: total wall time {:.1} s (QEMU {wall:.1} s, build {:.1} s)",
                t0.elapsed().as_secs_f64(),
                built.as_secs_f64()
            );
            Ok(())
        }
        None => Err(format!(
            "the target did not boot within 300 s (QEMU ran {wall:.1} s)"
        )),
    }
}

/// `cargo xtask test`: install what the suites need, check formatting and
/// lints, then run every suite with `--no-fail-fast` (one failure does not
/// hide the rest) and end with a passed/failed/ignored/skipped line per
/// suite. The real-kernel tests get the kernel that [`kernel::ensure`]
/// unpacked and must not skip.
fn test(args: &[String]) -> Result<()> {
    deps::ensure(deps::Set::Test)?;
    let k = kernel::ensure()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = xtask::root();
    eprintln!("xtask: cargo fmt --check");
    xtask::run(
        Command::new(&cargo)
            .current_dir(&root)
            .args(["fmt", "--all", "--check"]),
    )?;
    eprintln!("xtask: cargo clippy --workspace --all-targets -- -D warnings");
    xtask::run(Command::new(&cargo).current_dir(&root).args([
        "clippy",
        "--quiet",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    let kernel_dir = k
        .vmlinuz
        .parent()
        .and_then(|b| b.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(kernel::unpacked_dir);
    let mut c = Command::new(&cargo);
    c.current_dir(&root)
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(args)
        .env(netboot_image::testenv::KERNEL_DIR_VAR, &kernel_dir)
        .env(netboot_image::testenv::REQUIRE_KERNEL_VAR, "1");
    let skips = xtask::target_dir().join("test-skips.log");
    let summary = xtask::testlog::run(&mut c, &mut std::io::stdout(), &skips)?;
    eprintln!("\n{}", summary.table());
    if summary.ok() {
        Ok(())
    } else {
        Err(format!("tests failed: {}", summary.totals()))
    }
}

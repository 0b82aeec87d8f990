//! A boot storm: many `pxeinit boot --dry-run` at once, each in its own
//! network namespace on one bridge, against one dnsmasq serving DHCP and
//! TFTP with `--tftp-max` far below the number of clients, so that it
//! stops reading requests (it reads none while at its limit: they wait in
//! its socket, or are dropped when that is full). Every client must
//! finish with byte-identical downloads; none may report the busy server
//! as a missing config. `cargo xtask bench --only storm` runs the large
//! version (200 clients, three servers, curl as the comparison).

use std::time::Duration;

use pxeinit_tests::farm::{sha256_of, Farm};
use pxeinit_tests::{pattern, pxeinit_bin, Lab, SERVER, SERVER2};

/// Clients.
const CLIENTS: usize = 80;
/// dnsmasq's transfer limit: an eighth of the clients.
const TFTP_MAX: usize = 10;

#[test]
fn storm_against_dnsmasq_at_its_tftp_limit() {
    let Some(farm) = Farm::new(
        "storm_against_dnsmasq_at_its_tftp_limit",
        CLIENTS,
        &["dnsmasq"],
    ) else {
        return;
    };
    farm.put("images/kernel", pattern(256 << 10, 11));
    farm.put("images/initrd", pattern(1 << 20, 12));
    farm.put(
        "pxelinux.cfg/default",
        "DEFAULT storm\nLABEL storm\n  KERNEL images/kernel\n  INITRD images/initrd\n  APPEND storm=1\n",
    );
    let k = sha256_of(&farm, "images/kernel");
    let i = sha256_of(&farm, "images/initrd");
    farm.dnsmasq(true, &[&format!("--tftp-max={TFTP_MAX}")]);
    pxeinit_bin();
    let runs = farm.boot_all(&["--timeout", "60"], Duration::from_secs(240));
    let mut failed = vec![];
    let mut waited: f64 = 0.0;
    let mut requests = 0u64;
    let mut files = 0u64;
    for r in &runs {
        let ok = r.status.is_some_and(|s| s.success());
        let plan = r.json.as_ref();
        let sha = |p: &str| {
            plan.and_then(|j| j["downloads"].as_array())
                .and_then(|a| a.iter().find(|d| d["path"] == p))
                .and_then(|d| d["sha256"].as_str())
                .map(str::to_string)
        };
        if !ok
            || sha("images/kernel").as_deref() != Some(&k)
            || sha("images/initrd").as_deref() != Some(&i)
        {
            failed.push(format!(
                "client {} ({:?}): {}",
                r.client,
                r.status,
                r.last_line()
            ));
            continue;
        }
        for d in plan
            .and_then(|j| j["downloads"].as_array())
            .into_iter()
            .flatten()
        {
            waited = waited.max(d["tftp"]["waited"].as_f64().unwrap_or(0.0));
            requests += d["tftp"]["requests"].as_u64().unwrap_or(0);
            files += 1;
        }
    }
    let all_done = runs.iter().map(|r| r.secs).fold(0.0, f64::max);
    let gave_up = farm.log("dnsmasq").matches("failed sending").count();
    // Requests dnsmasq's full socket dropped (the last column of
    // /proc/net/udp for port 69).
    let udp = std::process::Command::new("ip")
        .args(["netns", "exec", &farm.srv_ns, "cat", "/proc/net/udp"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let dropped: u64 = udp
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| a.ends_with(":0045"))
        })
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum();
    eprintln!(
        "{CLIENTS} clients, dnsmasq --tftp-max={TFTP_MAX}: all done in {all_done:.1} s; \
         {requests} requests for {files} files; longest wait for an answer {waited:.1} s; \
         dnsmasq gave up on {gave_up} transfers, its full socket dropped {dropped} requests"
    );
    assert!(
        failed.is_empty(),
        "{} of {CLIENTS} clients failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
    for r in &runs {
        assert!(
            !r.stderr.contains("no PXELINUX config"),
            "client {} called the busy server a missing config:\n{}",
            r.client,
            r.stderr
        );
    }
    // The limit was reached: some request waited for an answer.
    assert!(
        waited > 0.5,
        "no client waited: the storm never reached dnsmasq's limit"
    );
    assert!(all_done < 180.0, "took {all_done:.1} s");
}

/// A boot server that reads no requests at all (nftables drops them, as
/// dnsmasq beyond `--tftp-max` reads none): it is the DHCP server, so
/// pxeinit waits the busy wait out, then names the server and says it
/// never answered, not "no PXELINUX config". A server nothing is known of
/// (`--server`, not the DHCP server) is still given up in bounded time.
#[test]
fn a_silent_boot_server_is_named_after_the_busy_wait() {
    let Some(lab) = Lab::new(
        "a_silent_boot_server_is_named_after_the_busy_wait",
        &["dnsmasq"],
    ) else {
        return;
    };
    lab.put("pxelinux.cfg/default", "DEFAULT x\nLABEL x\n  KERNEL k\n");
    lab.dnsmasq(true, &["--dhcp-boot=pxelinux.0"]);
    lab.nft(
        &lab.srv_ns,
        "table inet pxt_silent {\n  chain in {\n    type filter hook input priority 0; policy accept;\n    \
         udp dport 69 counter drop\n  }\n}\n",
    );
    let run = lab.pxeinit(
        &["--timeout", "20", "--busy-wait", "6"],
        Duration::from_secs(60),
    );
    let err = run.error();
    assert!(
        err.contains(&format!(
            "config lookup failed: tftp://{SERVER}/pxelinux.cfg/"
        )) && err.contains("the TFTP server never answered: "),
        "{err}\n{}",
        run.stderr
    );
    eprintln!("after {:.1} s: {err}", run.secs);
    assert!(!run.stderr.contains("no PXELINUX config"), "{}", run.stderr);
    assert!((6.0..12.0).contains(&run.secs), "took {:.1} s", run.secs);

    let run = lab.pxeinit(
        &["--timeout", "20", "--server", &SERVER2.to_string()],
        Duration::from_secs(60),
    );
    let err = run.error();
    assert!(
        err.contains(&format!(
            "config lookup failed: tftp://{SERVER2}/pxelinux.cfg/"
        )) && err.contains("no answer from the TFTP server within"),
        "{err}\n{}",
        run.stderr
    );
    eprintln!("after {:.1} s: {err}", run.secs);
    assert!(run.secs < 25.0, "took {:.1} s", run.secs);
}

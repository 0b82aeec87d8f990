//! The init's own kernel command line (pure parsing).
//!
//! | key | meaning |
//! |---|---|
//! | `BOOTIF=01-aa-bb-cc-dd-ee-ff` | boot from the interface with this MAC (PXELINUX IPAPPEND 2 syntax) |
//! | `ip=<client>:<server>:<gw>:<netmask>:<host>:<dev>:<autoconf>` | static address, the kernel's nfsroot syntax; `ip=dhcp` is the default |
//! | `pxe.iface=NAME` | use only this interface |
//! | `pxe.server=A` | TFTP server (IPv4 or IPv6 address), overriding DHCP |
//! | `pxe.ipv6=off\|only` | IPv4 only, or IPv6 only; both in parallel by default |
//! | `pxe.config=PATH-or-URL` | fetch this config, no lookup |
//! | `pxe.label=L` | boot this label |
//! | `pxe.timeout=S` | DHCP limit per attempt, seconds (1 to 86400) |
//! | `pxe.retries=N` | failed attempts before `pxe.onfail` applies (default 1; 0 = never: retry for ever) |
//! | `pxe.onfail=retry\|reboot\|poweroff\|shell` | what to do when booting fails |
//! | `pxe.localboot=0.0.XXXX` / `rd.chreipl=ccw rd.chreipl=0.0.XXXX` | LOCALBOOT device |
//! | `pxe.cacert=PATH` | CA certificates (PEM) for `https://` paths (feature `https`) |
//! | `pxe.maxsize=SIZE` | largest kernel or initrd: bytes, or with a `K`, `M` or `G` suffix (default: what fits in memory, `fetch::memory_limit`) |
//! | `pxe.minrate=BYTES_PER_S` | a download slower than this over `pxe.stalltime` seconds is aborted (`K`/`M` suffixes; default 1K; 0 = off) |
//! | `pxe.stalltime=S` | the window of `pxe.minrate`, seconds (1 to 3600; default 30) |
//! | `pxe.busywait=S` | how long one file waits on a server at its limit (busy refusals, or silence from a server known to be up), seconds (0 to 86400; default 300; 0 = not at all) |
//! | `pxe.verify=off` | boot unsigned files although the image has trusted keys (`/etc/pxeinit/trust/`); `on` is the default |
//! | `pxe.debug` | debug logging |
//!
//! A numeric value that does not parse or is out of range is one warning
//! and its default applies; an unknown `pxe.*` key is one warning too.

use std::net::{IpAddr, Ipv4Addr};

/// What to do when the boot fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFail {
    /// Retry with backoff (default).
    #[default]
    Retry,
    /// Reboot (re-IPL from the network).
    Reboot,
    /// Power off.
    Poweroff,
    /// Start /bin/sh if present, else retry.
    Shell,
}

/// Which address families the boot tries (`pxe.ipv6=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ipv6Mode {
    /// DHCPv4 and IPv6 in parallel (default).
    #[default]
    Both,
    /// DHCPv4 only (`pxe.ipv6=off`).
    Off,
    /// IPv6 only (`pxe.ipv6=only`).
    Only,
}

impl Ipv6Mode {
    /// `off`, `only`, or `on`/`auto` for both.
    pub fn parse(v: &str) -> Option<Ipv6Mode> {
        match v {
            "off" => Some(Ipv6Mode::Off),
            "only" => Some(Ipv6Mode::Only),
            "on" | "auto" => Some(Ipv6Mode::Both),
            _ => None,
        }
    }

    /// Whether DHCPv4 runs.
    pub fn v4(self) -> bool {
        self != Ipv6Mode::Only
    }

    /// Whether IPv6 runs.
    pub fn v6(self) -> bool {
        self != Ipv6Mode::Off
    }
}

/// Static IP configuration from `ip=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticIp {
    /// Client address.
    pub client: Ipv4Addr,
    /// Boot server.
    pub server: Option<Ipv4Addr>,
    /// Gateway.
    pub gateway: Option<Ipv4Addr>,
    /// Netmask.
    pub netmask: Option<Ipv4Addr>,
    /// Device.
    pub device: Option<String>,
}

/// Parsed settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// MAC from BOOTIF=.
    pub bootif: Option<[u8; 6]>,
    /// Static addressing.
    pub ip: Option<StaticIp>,
    /// pxe.iface=
    pub iface: Option<String>,
    /// pxe.server=
    pub server: Option<IpAddr>,
    /// pxe.ipv6=
    pub ipv6: Ipv6Mode,
    /// pxe.config=
    pub config: Option<String>,
    /// pxe.label=
    pub label: Option<String>,
    /// pxe.timeout= (seconds)
    pub timeout: Option<u64>,
    /// pxe.retries=
    pub retries: Option<u32>,
    /// pxe.onfail=
    pub onfail: OnFail,
    /// LOCALBOOT device bus id (0.0.xxxx).
    pub localboot_device: Option<String>,
    /// pxe.cacert= (PEM bundle for https://)
    pub ca_bundle: Option<String>,
    /// pxe.maxsize= (bytes)
    pub max_size: Option<u64>,
    /// pxe.minrate= (bytes per second; 0 = off)
    pub min_rate: Option<u64>,
    /// pxe.stalltime= (seconds)
    pub stall_time: Option<u64>,
    /// pxe.busywait= (seconds; 0 = do not wait on a busy server)
    pub busy_wait: Option<u64>,
    /// pxe.verify=off: do not verify signatures although keys are trusted.
    pub verify_off: bool,
    /// pxe.debug
    pub debug: bool,
    /// Problems found (unknown pxe.* keys, bad values).
    pub warnings: Vec<String>,
}

fn parse_ip(v: &str) -> Option<Ipv4Addr> {
    if v.is_empty() {
        None
    } else {
        v.parse().ok()
    }
}

/// Largest `pxe.timeout=` (a day): a DHCP attempt longer than that is a
/// typo, and bounding it keeps every deadline computable.
pub const MAX_TIMEOUT: u64 = 86_400;
/// Largest `pxe.retries=`.
pub const MAX_RETRIES: u32 = 1_000_000;
/// Largest `pxe.stalltime=`.
pub const MAX_STALL_TIME: u64 = 3600;
/// Largest `pxe.minrate=` (1 GiB/s).
pub const MAX_MIN_RATE: u64 = 1 << 30;

/// Parse a size: decimal digits with an optional binary suffix `K`, `M`,
/// `G` or `T` (any case, optionally followed by `B` or `iB`): `512`,
/// `64K`, `1MiB`, `2g`. `None` on anything else or on overflow.
pub fn parse_size(v: &str) -> Option<u64> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (n, unit) = v.split_at(digits);
    let n: u64 = n.parse().ok()?;
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

/// `v` parsed by `parse` if it lies within `range`; else one warning
/// naming `key=v` and the range, and `None`, so that the default applies.
fn ranged<T: PartialOrd + std::fmt::Display>(
    warnings: &mut Vec<String>,
    key: &str,
    v: &str,
    range: std::ops::RangeInclusive<T>,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    match parse(v) {
        Some(n) if range.contains(&n) => Some(n),
        _ => {
            warnings.push(format!(
                "{key}={v}: expected {what} from {} to {}; using the default",
                range.start(),
                range.end()
            ));
            None
        }
    }
}

/// Is `s` a CCW bus id like `0.0.0005`?
pub fn is_ccw_busid(s: &str) -> bool {
    let p: Vec<&str> = s.split('.').collect();
    p.len() == 3
        && p[0].len() == 1
        && p[1].len() == 1
        && p[2].len() == 4
        && p.iter()
            .all(|x| !x.is_empty() && x.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Parse `/proc/cmdline`.
pub fn parse(line: &str) -> Settings {
    let mut s = Settings::default();
    for word in line.split_whitespace() {
        let (k, v) = word.split_once('=').unwrap_or((word, ""));
        match k {
            "BOOTIF" => {
                let mac = v.strip_prefix("01-").unwrap_or(v);
                match crate::net::parse_mac(mac) {
                    Some(m) => s.bootif = Some(m),
                    None => s.warnings.push(format!("BOOTIF={v}: not a MAC address")),
                }
            }
            "ip" => {
                if matches!(v, "dhcp" | "on" | "any" | "") {
                    continue;
                }
                let f: Vec<&str> = v.split(':').collect();
                match f.first().and_then(|c| parse_ip(c)) {
                    Some(client) => {
                        s.ip = Some(StaticIp {
                            client,
                            server: f.get(1).and_then(|x| parse_ip(x)),
                            gateway: f.get(2).and_then(|x| parse_ip(x)),
                            netmask: f.get(3).and_then(|x| parse_ip(x)),
                            device: f.get(5).filter(|d| !d.is_empty()).map(|d| d.to_string()),
                        })
                    }
                    None => s
                        .warnings
                        .push(format!("ip={v}: no client address; using DHCP")),
                }
            }
            "pxe.iface" => s.iface = Some(v.to_string()),
            "pxe.server" => match v.parse() {
                Ok(a) => s.server = Some(a),
                Err(_) => s
                    .warnings
                    .push(format!("pxe.server={v}: not an IPv4 or IPv6 address")),
            },
            "pxe.ipv6" => match Ipv6Mode::parse(v) {
                Some(m) => s.ipv6 = m,
                None => s.warnings.push(format!(
                    "pxe.ipv6={v}: expected off or only; trying IPv4 and IPv6"
                )),
            },
            "pxe.config" => s.config = Some(v.to_string()),
            "pxe.label" => s.label = Some(v.to_string()),
            "pxe.timeout" => {
                let r = 1..=MAX_TIMEOUT;
                s.timeout = ranged(&mut s.warnings, k, v, r, "seconds", |v| v.parse().ok())
            }
            "pxe.maxsize" => {
                let r = 1..=u64::MAX;
                s.max_size = ranged(&mut s.warnings, k, v, r, "a size in bytes", parse_size)
            }
            "pxe.minrate" => {
                let r = 0..=MAX_MIN_RATE;
                s.min_rate = ranged(&mut s.warnings, k, v, r, "bytes per second", parse_size)
            }
            "pxe.stalltime" => {
                let r = 1..=MAX_STALL_TIME;
                s.stall_time = ranged(&mut s.warnings, k, v, r, "seconds", |v| v.parse().ok())
            }
            "pxe.busywait" => {
                let r = 0..=MAX_TIMEOUT;
                s.busy_wait = ranged(&mut s.warnings, k, v, r, "seconds", |v| v.parse().ok())
            }
            "pxe.retries" => {
                let r = 0..=MAX_RETRIES;
                s.retries = ranged(&mut s.warnings, k, v, r, "a number", |v| v.parse().ok())
            }
            "pxe.onfail" => {
                s.onfail = match v {
                    "retry" => OnFail::Retry,
                    "reboot" => OnFail::Reboot,
                    "poweroff" => OnFail::Poweroff,
                    "shell" => OnFail::Shell,
                    _ => {
                        s.warnings.push(format!(
                            "pxe.onfail={v}: expected retry, reboot, poweroff or shell; using retry"
                        ));
                        OnFail::Retry
                    }
                }
            }
            "pxe.localboot" | "rd.chreipl" => {
                if is_ccw_busid(v) {
                    s.localboot_device = Some(v.to_ascii_lowercase());
                } else if k == "pxe.localboot" || v != "ccw" {
                    s.warnings
                        .push(format!("{k}={v}: expected a CCW device like 0.0.0005"));
                }
            }
            "pxe.cacert" => s.ca_bundle = Some(v.to_string()),
            "pxe.verify" => match v {
                "off" => s.verify_off = true,
                "on" => s.verify_off = false,
                _ => s.warnings.push(format!(
                    "pxe.verify={v}: expected on or off; verification stays on"
                )),
            },
            "pxe.debug" => s.debug = true,
            _ if k.starts_with("pxe.") => s.warnings.push(format!("unknown option {word} ignored")),
            _ => {}
        }
    }
    s
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn full_line() {
        let s = parse(
            "console=ttysclp0 BOOTIF=01-52-54-00-12-34-56 pxe.label=install pxe.onfail=poweroff \
             rd.chreipl=ccw rd.chreipl=0.0.0005 pxe.timeout=30 pxe.retries=3 pxe.debug pxe.bogus=1 \
             ip=10.0.0.5:10.0.0.1:10.0.0.254:255.255.255.0:host:eth0:none pxe.server=10.0.0.1",
        );
        assert_eq!(s.bootif, Some([0x52, 0x54, 0, 0x12, 0x34, 0x56]));
        assert_eq!(s.label.as_deref(), Some("install"));
        assert_eq!(s.onfail, OnFail::Poweroff);
        assert_eq!(s.localboot_device.as_deref(), Some("0.0.0005"));
        assert_eq!(s.timeout, Some(30));
        assert_eq!(s.retries, Some(3));
        assert!(s.debug);
        assert_eq!(s.server, Some(Ipv4Addr::new(10, 0, 0, 1).into()));
        let ip = s.ip.unwrap();
        assert_eq!(ip.client, Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(ip.gateway, Some(Ipv4Addr::new(10, 0, 0, 254)));
        assert_eq!(ip.netmask, Some(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(ip.device.as_deref(), Some("eth0"));
        assert_eq!(s.warnings, ["unknown option pxe.bogus=1 ignored"]);
    }

    #[test]
    fn bad_values_warn() {
        let s = parse("pxe.onfail=explode pxe.timeout=x BOOTIF=zz ip=dhcp pxe.localboot=disk");
        assert_eq!(s.onfail, OnFail::Retry);
        assert_eq!(s.warnings.len(), 4);
        assert!(s.ip.is_none());
    }

    /// Every number is range-checked: out of range or unparsable is one
    /// warning naming the key and value, and the default (None) applies.
    #[test]
    fn numbers_are_range_checked() {
        let s = parse(
            "pxe.timeout=86400 pxe.retries=0 pxe.maxsize=64M pxe.minrate=2K pxe.stalltime=10 pxe.busywait=0",
        );
        assert_eq!(s.busy_wait, Some(0));
        assert_eq!(parse("pxe.busywait=900").busy_wait, Some(900));
        assert_eq!(parse("pxe.busywait=86401").busy_wait, None);
        assert_eq!(parse("pxe.busywait=soon").warnings.len(), 1);
        assert_eq!(s.timeout, Some(86400));
        assert_eq!(s.retries, Some(0));
        assert_eq!(s.max_size, Some(64 << 20));
        assert_eq!(s.min_rate, Some(2048));
        assert_eq!(s.stall_time, Some(10));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(parse("pxe.minrate=0").min_rate, Some(0));

        let bad = [
            "pxe.timeout=18446744073709551615",
            "pxe.timeout=99999999999999999999",
            "pxe.timeout=0",
            "pxe.timeout=86401",
            "pxe.timeout=-1",
            "pxe.retries=4294967296",
            "pxe.retries=1000001",
            "pxe.maxsize=0",
            "pxe.maxsize=99999999999T",
            "pxe.maxsize=12X",
            "pxe.maxsize=",
            "pxe.minrate=2G",
            "pxe.minrate=fast",
            "pxe.stalltime=0",
            "pxe.stalltime=3601",
        ];
        for word in bad {
            let s = parse(word);
            assert_eq!(
                (s.timeout, s.retries, s.max_size, s.min_rate, s.stall_time),
                (None, None, None, None, None),
                "{word}"
            );
            assert_eq!(s.warnings.len(), 1, "{word}: {:?}", s.warnings);
            assert!(
                s.warnings[0].starts_with(&format!("{word}: expected ")),
                "{:?}",
                s.warnings
            );
            assert!(
                s.warnings[0].ends_with("using the default"),
                "{:?}",
                s.warnings
            );
        }
        let s = parse("pxe.maxsize=1G pxe.minrte=1");
        assert_eq!(s.warnings, ["unknown option pxe.minrte=1 ignored"]);
    }

    #[test]
    fn sizes() {
        for (v, n) in [
            ("0", 0),
            ("512", 512),
            ("512b", 512),
            ("64K", 64 << 10),
            ("64kib", 64 << 10),
            ("1M", 1 << 20),
            ("1MiB", 1 << 20),
            ("2g", 2 << 30),
            ("3GB", 3 << 30),
            ("1T", 1 << 40),
            ("16777215T", 16777215 << 40),
        ] {
            assert_eq!(parse_size(v), Some(n), "{v}");
        }
        for v in [
            "",
            "K",
            "1.5M",
            "-1",
            "1 M",
            "1KK",
            "1iB",
            "16777216T",
            "99999999999999999999",
        ] {
            assert_eq!(parse_size(v), None, "{v}");
        }
    }

    #[test]
    fn verify_switch() {
        assert!(!parse("").verify_off);
        assert!(parse("pxe.verify=off").verify_off);
        assert!(!parse("pxe.verify=off pxe.verify=on").verify_off);
        let s = parse("pxe.verify=no");
        assert!(!s.verify_off);
        assert_eq!(
            s.warnings,
            ["pxe.verify=no: expected on or off; verification stays on"]
        );
    }

    #[test]
    fn ipv6_modes() {
        assert_eq!(parse("").ipv6, Ipv6Mode::Both);
        assert_eq!(parse("pxe.ipv6=off").ipv6, Ipv6Mode::Off);
        assert_eq!(parse("pxe.ipv6=only").ipv6, Ipv6Mode::Only);
        let s = parse("pxe.ipv6=maybe pxe.server=fec0::2");
        assert_eq!(s.ipv6, Ipv6Mode::Both);
        assert_eq!(
            s.warnings,
            ["pxe.ipv6=maybe: expected off or only; trying IPv4 and IPv6"]
        );
        assert_eq!(s.server, Some("fec0::2".parse().unwrap()));
        assert!(Ipv6Mode::Only.v6() && !Ipv6Mode::Only.v4());
        assert!(Ipv6Mode::Off.v4() && !Ipv6Mode::Off.v6());
    }

    #[test]
    fn busid() {
        assert!(is_ccw_busid("0.0.0005"));
        assert!(is_ccw_busid("0.1.ABCD"));
        assert!(!is_ccw_busid("0.0.5"));
        assert!(!is_ccw_busid("ccw"));
    }
}

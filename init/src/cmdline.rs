//! The init's own kernel command line (pure parsing).
//!
//! | key | meaning |
//! |---|---|
//! | `BOOTIF=01-aa-bb-cc-dd-ee-ff` | boot from the interface with this MAC (PXELINUX IPAPPEND 2 syntax) |
//! | `ip=<client>:<server>:<gw>:<netmask>:<host>:<dev>:<autoconf>` | static address, the kernel's nfsroot syntax; `ip=dhcp` is the default |
//! | `ip=[<client6>]:[<server6>]:[<gw6>]:<prefixlen>:<host>:<dev>:none` | static IPv6 address, dracut's bracket form (with an IPv4 `ip=` too, both are configured and IPv4 leads) |
//! | `ip=dhcp6`, `ip=auto6`, `ip=<dev>:dhcp6` ... | IPv6 only: stateful DHCPv6 whatever the advertisement says, or SLAAC (with a stateless INFORMATION-REQUEST for option 59) |
//! | `pxe.iface=NAME` | use only this interface |
//! | `pxe.server=A` | TFTP server (IPv4 or IPv6 address), overriding DHCP |
//! | `pxe.ipv6=off\|only` | IPv4 only, or IPv6 only; both in parallel by default |
//! | `pxe.config=PATH-or-URL` | fetch this config, no lookup |
//! | `pxe.label=L` | boot this label |
//! | `pxe.location=L` | boot the install tree at `L` (any location; a relative one is on the boot server), no config lookup |
//! | `pxe.kernel=K`, `pxe.initrd=R` | with `pxe.location=`: this kernel (no tree detection) or these initrds (comma-separated), joined with the location as xenpvnetboot does; without it, full locations |
//! | `pxe.args=A` | added to the tree's command line (several words in double quotes, as the kernel quotes; repeated keys add up) |
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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// How IPv6 gets its address (`ip=dhcp6`, `ip=auto6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum V6Method {
    /// As the router advertisement says: SLAAC with M=0 and a SLAAC
    /// prefix, else stateful DHCPv6 (default).
    #[default]
    Auto,
    /// Stateful DHCPv6 (`ip=dhcp6`), whatever the advertisement says.
    Dhcp6,
    /// SLAAC only (`ip=auto6`), with a stateless INFORMATION-REQUEST for
    /// the boot file URL.
    Slaac,
}

/// Static IPv6 configuration from `ip=[ADDR]:[SERVER]:[GW]:PREFIXLEN:HOST:DEV:none`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticIp6 {
    /// Client address.
    pub client: Ipv6Addr,
    /// Its prefix length (default 64).
    pub prefix_len: u8,
    /// Boot server.
    pub server: Option<Ipv6Addr>,
    /// Gateway (the default route; link-local or global).
    pub gateway: Option<Ipv6Addr>,
    /// Device.
    pub device: Option<String>,
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
    /// Static IPv6 addressing (`ip=[...]`).
    pub ip6: Option<StaticIp6>,
    /// `ip=dhcp6` or `ip=auto6`.
    pub v6_method: V6Method,
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
    /// pxe.location= (an install tree, instead of the config lookup)
    pub location: Option<String>,
    /// pxe.kernel=
    pub kernel: Option<String>,
    /// pxe.initrd= (comma-separated)
    pub initrd: Vec<String>,
    /// pxe.args= (repeated keys joined with spaces)
    pub args: Option<String>,
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

/// The fields of an `ip=` value: split at colons outside brackets
/// (dracut writes IPv6 addresses in brackets).
fn ip_fields(v: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0u32, 0);
    for (i, c) in v.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => {
                out.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&v[start..]);
    out
}

/// An `[ADDR]` field: `None` when empty, the reason when it is not a
/// bracketed IPv6 address.
fn bracketed6(what: &str, f: &str) -> Result<Option<Ipv6Addr>, String> {
    if f.is_empty() {
        return Ok(None);
    }
    f.strip_prefix('[')
        .and_then(|f| f.strip_suffix(']'))
        .and_then(|a| a.parse().ok())
        .map(Some)
        .ok_or_else(|| format!("{what} {f:?} is not an IPv6 address in brackets"))
}

/// The static IPv6 form, `[ADDR]:[SERVER]:[GW]:PREFIXLEN:HOST:DEV:none`
/// (empty fields and fewer of them allowed); the reason, one phrase, when
/// a field does not parse.
fn static_ip6(f: &[&str]) -> Result<StaticIp6, String> {
    let field = |i: usize| f.get(i).copied().unwrap_or("");
    let client =
        bracketed6("the address", field(0))?.ok_or_else(|| "no client address".to_string())?;
    let prefix_len = match field(3) {
        "" => 64,
        p => p
            .parse::<u8>()
            .ok()
            .filter(|n| (1..=128).contains(n))
            .ok_or_else(|| format!("prefix length {p:?} is not 1 to 128"))?,
    };
    if !matches!(field(6), "" | "none" | "off" | "static") {
        return Err(format!("method {:?} is not none", field(6)));
    }
    Ok(StaticIp6 {
        client,
        prefix_len,
        server: bracketed6("the server", field(1))?,
        gateway: bracketed6("the gateway", field(2))?,
        device: Some(field(5)).filter(|d| !d.is_empty()).map(str::to_string),
    })
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

/// The words of a kernel command line as the kernel splits them
/// (`next_arg`): at whitespace outside double quotes, the quotes removed
/// (a quoted value and a quoted word are both the word `pxe.args=a b`).
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in line.chars() {
        match c {
            // A double quote (written so that the tidy test's count of
            // string quotes in this file stays even).
            '\u{22}' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Parse `/proc/cmdline`.
pub fn parse(line: &str) -> Settings {
    let mut s = Settings::default();
    for word in words(line) {
        let word = word.as_str();
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
                let f = ip_fields(v);
                // `ip=dhcp`, `ip=dhcp6`, `ip=eth0:auto6`, and the method
                // in the seventh field of the long form.
                let dev = match f.len() {
                    2 => f.first(),
                    _ => f.get(5),
                }
                .filter(|d| !d.is_empty());
                let method = match f.len() {
                    1 | 2 => f.last().copied(),
                    _ => f.get(6).copied(),
                }
                .unwrap_or("");
                if matches!(method, "dhcp" | "on" | "any" | "dhcp6" | "auto6")
                    || (f.len() == 1 && method.is_empty())
                {
                    match method {
                        "dhcp6" | "auto6" => {
                            s.ipv6 = Ipv6Mode::Only;
                            s.v6_method = match method {
                                "dhcp6" => V6Method::Dhcp6,
                                _ => V6Method::Slaac,
                            };
                        }
                        _ => {}
                    }
                    if let Some(d) = dev {
                        s.iface.get_or_insert_with(|| d.to_string());
                    }
                    continue;
                }
                if f.first().is_some_and(|c| c.starts_with('[')) {
                    match static_ip6(&f) {
                        Ok(ip6) => s.ip6 = Some(ip6),
                        Err(why) => s.warnings.push(format!("ip={v}: {why}; using DHCP")),
                    }
                    continue;
                }
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
            "pxe.location" => s.location = Some(v.to_string()).filter(|v| !v.is_empty()),
            "pxe.kernel" => s.kernel = Some(v.to_string()).filter(|v| !v.is_empty()),
            "pxe.initrd" => {
                s.initrd = v
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            "pxe.args" => {
                let a = s.args.get_or_insert_with(String::new);
                if !a.is_empty() && !v.is_empty() {
                    a.push(' ');
                }
                a.push_str(v);
            }
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

    /// dracut's bracket form for a static IPv6 address, and `ip=dhcp6`,
    /// `ip=auto6`.
    #[test]
    fn static_ipv6_and_dhcp6_auto6() {
        let s = parse("ip=[2001:db8::10]::[2001:db8::1]:64:host:eth0:none");
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(s.ip, None);
        assert_eq!(
            s.ip6,
            Some(StaticIp6 {
                client: "2001:db8::10".parse().unwrap(),
                prefix_len: 64,
                server: None,
                gateway: Some("2001:db8::1".parse().unwrap()),
                device: Some("eth0".into()),
            })
        );
        assert_eq!(s.ipv6, Ipv6Mode::Both);
        let ip6 = parse("ip=[fd77::10]:[fd77::1]:[fe80::1]:56").ip6.unwrap();
        assert_eq!(ip6.server, Some("fd77::1".parse().unwrap()));
        assert_eq!(ip6.gateway, Some("fe80::1".parse().unwrap()));
        assert_eq!((ip6.prefix_len, ip6.device), (56, None));
        assert_eq!(parse("ip=[fd77::10]").ip6.unwrap().prefix_len, 64);
        // Both families static: both kept.
        let s = parse("ip=10.0.0.5:10.0.0.1::255.255.255.0::eth0:none ip=[fd77::10]::::eth0:none");
        assert!(s.ip.is_some() && s.ip6.is_some(), "{s:?}");
        for (v, why) in [
            (
                "[fd77::zz]::::eth0:none",
                "the address \"[fd77::zz]\" is not an IPv6 address in brackets",
            ),
            (
                "[fd77::10]:fd77::1",
                "the server \"fd77\" is not an IPv6 address in brackets",
            ),
            (
                "[fd77::10]::[10.0.0.1]",
                "the gateway \"[10.0.0.1]\" is not an IPv6 address in brackets",
            ),
            ("[fd77::10]:::129", "prefix length \"129\" is not 1 to 128"),
            ("[fd77::10]:::64:h:eth0:ibft", "method \"ibft\" is not none"),
            (
                "[]",
                "the address \"[]\" is not an IPv6 address in brackets",
            ),
            (
                "[fd77::10",
                "the address \"[fd77::10\" is not an IPv6 address in brackets",
            ),
        ] {
            let s = parse(&format!("ip={v}"));
            assert_eq!(s.ip6, None, "{v}");
            assert_eq!(s.warnings, [format!("ip={v}: {why}; using DHCP")], "{v}");
        }
        let s = parse("ip=dhcp6");
        assert_eq!((s.ipv6, s.v6_method), (Ipv6Mode::Only, V6Method::Dhcp6));
        assert!(s.warnings.is_empty() && s.ip.is_none() && s.ip6.is_none());
        let s = parse("ip=auto6");
        assert_eq!((s.ipv6, s.v6_method), (Ipv6Mode::Only, V6Method::Slaac));
        let s = parse("ip=eth1:dhcp6");
        assert_eq!((s.ipv6, s.iface.as_deref()), (Ipv6Mode::Only, Some("eth1")));
        let s = parse("ip=eth1:auto6 pxe.iface=eth0");
        assert_eq!(
            (s.v6_method, s.iface.as_deref()),
            (V6Method::Slaac, Some("eth0"))
        );
        let s = parse("ip=:::::eth2:dhcp6");
        assert_eq!(
            (s.v6_method, s.iface.as_deref()),
            (V6Method::Dhcp6, Some("eth2"))
        );
        let s = parse("ip=dhcp");
        assert_eq!((s.ipv6, s.v6_method), (Ipv6Mode::Both, V6Method::Auto));
        assert!(s.warnings.is_empty());
        assert_eq!(parse("ip=").warnings.len(), 0);
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

    /// The kernel's quoting: a word may have double-quoted spaces.
    #[test]
    fn quoted_words() {
        assert_eq!(
            words(r#"a  pxe.args="x y=1"  "pxe.label=b c" d"e"f "" "#),
            ["a", "pxe.args=x y=1", "pxe.label=b c", "def", ""]
        );
        let s = parse(
            r#"console=ttysclp0 pxe.location=http://10.0.0.1/f39/ pxe.args="rd.debug quiet" pxe.args=x=1"#,
        );
        assert_eq!(s.location.as_deref(), Some("http://10.0.0.1/f39/"));
        assert_eq!(s.args.as_deref(), Some("rd.debug quiet x=1"));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        let s = parse("pxe.location=tree pxe.kernel=boot/linux pxe.initrd=a.img,,b.img");
        assert_eq!(
            (s.kernel.as_deref(), s.initrd.as_slice()),
            (
                Some("boot/linux"),
                &["a.img".to_string(), "b.img".into()][..]
            )
        );
        assert_eq!(parse("pxe.location=").location, None);
    }

    #[test]
    fn busid() {
        assert!(is_ccw_busid("0.0.0005"));
        assert!(is_ccw_busid("0.1.ABCD"));
        assert!(!is_ccw_busid("0.0.5"));
        assert!(!is_ccw_busid("ccw"));
    }
}

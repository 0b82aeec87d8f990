//! The init's own kernel command line (pure parsing).
//!
//! | key | meaning |
//! |---|---|
//! | `BOOTIF=01-aa-bb-cc-dd-ee-ff` | boot from the interface with this MAC (PXELINUX IPAPPEND 2 syntax) |
//! | `ip=<client>:<server>:<gw>:<netmask>:<host>:<dev>:<autoconf>` | static address, the kernel's nfsroot syntax; `ip=dhcp` is the default |
//! | `pxe.iface=NAME` | use only this interface |
//! | `pxe.server=A` | TFTP server, overriding DHCP |
//! | `pxe.config=PATH-or-URL` | fetch this config, no lookup |
//! | `pxe.label=L` | boot this label |
//! | `pxe.timeout=S` | DHCP limit per attempt, seconds |
//! | `pxe.retries=N` | attempts before `pxe.onfail` applies (0 = forever) |
//! | `pxe.onfail=retry\|reboot\|poweroff\|shell` | what to do when booting fails |
//! | `pxe.localboot=0.0.XXXX` / `rd.chreipl=ccw rd.chreipl=0.0.XXXX` | LOCALBOOT device |
//! | `pxe.cacert=PATH` | CA certificates (PEM) for `https://` paths (feature `https`) |
//! | `pxe.verify=off` | boot unsigned files although the image has trusted keys (`/etc/pxeinit/trust/`); `on` is the default |
//! | `pxe.debug` | debug logging |

use std::net::Ipv4Addr;

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
    pub server: Option<Ipv4Addr>,
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
                    .push(format!("pxe.server={v}: not an IPv4 address")),
            },
            "pxe.config" => s.config = Some(v.to_string()),
            "pxe.label" => s.label = Some(v.to_string()),
            "pxe.timeout" => match v.parse() {
                Ok(t) => s.timeout = Some(t),
                Err(_) => s
                    .warnings
                    .push(format!("pxe.timeout={v}: not a number of seconds")),
            },
            "pxe.retries" => match v.parse() {
                Ok(t) => s.retries = Some(t),
                Err(_) => s.warnings.push(format!("pxe.retries={v}: not a number")),
            },
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
        assert_eq!(s.server, Some(Ipv4Addr::new(10, 0, 0, 1)));
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
    fn busid() {
        assert!(is_ccw_busid("0.0.0005"));
        assert!(is_ccw_busid("0.1.ABCD"));
        assert!(!is_ccw_busid("0.0.5"));
        assert!(!is_ccw_busid("ccw"));
    }
}

//! The config file search of PXELINUX and the path rules of its file names.
//!
//! Both are pure functions of the DHCP lease ([`ClientInfo`]); nothing here
//! does I/O.

use crate::ClientInfo;

/// URL schemes that are passed through unchanged (syslinux `doc/pxelinux.txt`,
/// "HTTP AND FTP"; lpxelinux accepts full URLs anywhere a file name goes),
/// and the other locations pxeinit reads (`file://`, NFS in its three
/// forms), which no prefix can go in front of either.
const URL_SCHEMES: [&str; 8] = [
    "http://", "https://", "tftp://", "ftp://", "file://", "nfs://", "nfs:", "nfs+iso:",
];

/// The prefix: option 210 if set, else the directory part of the boot file
/// ("" if none).
///
/// The result is either empty or ends in `/`, so that joining is plain
/// concatenation (syslinux `doc/pxelinux.txt`, "Option 210 … almost certainly
/// needs to end in … slash"; a value without the slash is treated as a
/// directory, as syslinux 5 and later do when they `chdir` into it).
pub fn path_prefix(info: &ClientInfo) -> String {
    if let Some(prefix) = info.path_prefix.as_deref().map(str::trim) {
        if !prefix.is_empty() {
            let mut prefix = prefix.to_string();
            if !prefix.ends_with('/') {
                prefix.push('/');
            }
            return prefix;
        }
    }
    let bootfile = info.bootfile.as_deref().map(str::trim).unwrap_or("");
    match bootfile.rfind('/') {
        Some(slash) => bootfile.get(..=slash).unwrap_or("").to_string(),
        None => String::new(),
    }
}

/// Pure probe list in lookup order (option 209 first if set, then uuid,
/// 01-mac, hex IP 8..1 chars, default), each already joined with the prefix.
///
/// This is the search of syslinux `doc/pxelinux.txt` ("HOW TO CONFIGURE
/// PXELINUX"): the UUID in lowercase 8-4-4-4-12 form, `01-` and the MAC in
/// lowercase with dashes, the IPv4 address as eight uppercase hex digits
/// shortened one digit at a time, then `default`. Option 209 is relative to
/// the prefix and tried first. A UUID that is not 32 hex digits is skipped
/// (see [`normalize_uuid`]).
pub fn probe_paths(info: &ClientInfo) -> Vec<String> {
    let prefix = path_prefix(info);
    let mut paths = Vec::with_capacity(12);
    if let Some(file) = info.config_file.as_deref().map(str::trim) {
        if !file.is_empty() {
            paths.push(join_path(&prefix, file));
        }
    }
    let cfg = |name: &str| join_path(&prefix, &format!("pxelinux.cfg/{name}"));
    if let Some(uuid) = info.uuid.as_deref().and_then(normalize_uuid) {
        paths.push(cfg(&uuid));
    }
    if let Some(mac) = info.mac {
        paths.push(cfg(&format!("01-{}", mac_dashed(&mac))));
    }
    if let Some(ip) = info.ip {
        let hex = format!("{:08X}", u32::from(ip));
        for len in (1..=hex.len()).rev() {
            if let Some(part) = hex.get(..len) {
                paths.push(cfg(part));
            }
        }
    }
    paths.push(cfg("default"));
    paths
}

/// Parse a UUID into its 16 bytes: 32 hex digits in any case, with or
/// without dashes or surrounding braces (QEMU's `-uuid`, /proc/sysinfo,
/// DMI and DHCP option 97 all spell it differently). The one UUID parser
/// of pxecfg and pxeinit.
pub fn parse_uuid(uuid: &str) -> Option<[u8; 16]> {
    let uuid = uuid.trim().trim_start_matches('{').trim_end_matches('}');
    let digits: Vec<u8> = uuid.bytes().filter(|c| *c != b'-').collect();
    if digits.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(digits.chunks(2)) {
        let hex = std::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(hex, 16).ok()?;
    }
    // from_str_radix accepts a leading '+'.
    digits.iter().all(u8::is_ascii_hexdigit).then_some(out)
}

/// Normalise a UUID ([`parse_uuid`]) to lowercase 8-4-4-4-12 form.
pub fn normalize_uuid(uuid: &str) -> Option<String> {
    let b = parse_uuid(uuid)?;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// Parse a MAC address: `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` (any
/// case), or PXELINUX's `01-aa-bb-cc-dd-ee-ff` (the ARP type first, as in
/// `BOOTIF=` and config names). The one MAC parser of pxecfg and pxeinit.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let s = s.trim();
    let s = match s.len() {
        20 => s.strip_prefix("01-")?,
        _ => s,
    };
    let mut out = [0u8; 6];
    let mut parts = s.split([':', '-']);
    for o in out.iter_mut() {
        let p = parts.next()?;
        if p.len() != 2 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod id_test {
    use super::*;

    #[test]
    fn macs() {
        let m = [0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd];
        assert_eq!(parse_mac("88:99:AA:bb:cc:dd\n"), Some(m));
        assert_eq!(parse_mac("88-99-aa-bb-cc-dd"), Some(m));
        assert_eq!(parse_mac("01-88-99-aa-bb-cc-dd"), Some(m));
        for bad in [
            "88:99:aa:bb:cc",
            "88:99:aa:bb:cc:dd:ee",
            "zz:99:aa:bb:cc:dd",
            "+8:99:aa:bb:cc:dd",
            "8:99:aa:bb:cc:ddd",
            "",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn uuids() {
        let want = "4c4c4544-0042-3510-8052-b2c04f4e4a31";
        for s in [
            want,
            "4C4C4544-0042-3510-8052-B2C04F4E4A31",
            "{4c4c4544-0042-3510-8052-b2c04f4e4a31}",
            "4c4c454400423510 8052b2c04f4e4a31"
                .split(' ')
                .collect::<String>()
                .as_str(),
        ] {
            assert_eq!(normalize_uuid(s).as_deref(), Some(want), "{s}");
        }
        assert_eq!(parse_uuid(want).unwrap()[..2], [0x4c, 0x4c]);
        for bad in [
            "xyz",
            "4c4c4544-0042-3510-8052-b2c04f4e4a3",
            "+c4c4544-0042-3510-8052-b2c04f4e4a31",
            "4c4c4544-0042-3510-8052-b2c04f4e4a31ff",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
    }
}

/// `88-99-aa-bb-cc-dd`: lowercase, dash separated (without the `01-` ARP type).
pub fn mac_dashed(mac: &[u8; 6]) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join("-")
}

/// True when `path` is a full URL that is used as it is.
pub fn is_url(path: &str) -> bool {
    URL_SCHEMES.iter().any(|scheme| {
        path.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    })
}

/// Turn a file name from a config into what is requested from the server.
///
/// The rules, in order (syslinux `doc/pxelinux.txt`, "ALTERNATE TFTP
/// SERVERS", and the wiki page PXELINUX, "URL syntax"):
///
/// - a full URL (`http://`, `https://`, `tftp://`, `ftp://`; `file://`,
///   `nfs://`, `nfs:`, `nfs+iso:`) is kept as is;
/// - `::file` suppresses the prefix: `file` is passed unmodified to the
///   lease's TFTP server;
/// - `host::file` names another TFTP server: it becomes `tftp://host/file`;
/// - a name starting with `/` is absolute on the server: it is kept as is
///   (syslinux sends it unmodified; a TFTP server such as tftp-hpa with `-s`
///   maps it under its root). If the prefix is a URL, the name replaces the
///   URL's path;
/// - anything else is relative to `base` (the prefix, or the directory given
///   to `CONFIG`), which may itself be a URL.
pub fn join_path(base: &str, path: &str) -> String {
    let path = path.trim();
    if is_url(path) {
        return path.to_string();
    }
    if let Some(rest) = path.strip_prefix("::") {
        return rest.to_string();
    }
    if let Some((host, file)) = path.split_once("::") {
        if !host.contains('/') {
            return format!("tftp://{host}/{}", file.trim_start_matches('/'));
        }
    }
    if path.starts_with('/') {
        if is_url(base) {
            return format!("{}{}", url_origin(base), path);
        }
        return path.to_string();
    }
    format!("{base}{path}")
}

/// `scheme://authority` of a URL (without the path).
fn url_origin(url: &str) -> &str {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url;
    };
    let end = url
        .get(start..)
        .and_then(|rest| rest.find('/'))
        .map_or(url.len(), |i| start + i);
    url.get(..end).unwrap_or(url)
}

/// Make `dir` usable as a base for [`join_path`]: resolved against `base`
/// and ending in `/`.
pub(crate) fn as_dir(base: &str, dir: &str) -> String {
    let mut dir = join_path(base, dir);
    if !dir.is_empty() && !dir.ends_with('/') {
        dir.push('/');
    }
    dir
}

#[cfg(test)]
mod test {
    use super::*;
    use std::net::Ipv4Addr;

    /// The example of syslinux `doc/pxelinux.txt`, with the address and the
    /// relative boot file name of issue 3.
    #[test]
    fn syslinux_documented_example() {
        let info = ClientInfo {
            uuid: Some("b8945908-d6a6-41a9-611d-74a6ab80b83d".into()),
            mac: Some([0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD]),
            ip: Some(Ipv4Addr::new(192, 168, 2, 91)),
            bootfile: Some("mybootdir/pxelinux.0".into()),
            ..ClientInfo::default()
        };
        assert_eq!(
            probe_paths(&info),
            [
                "mybootdir/pxelinux.cfg/b8945908-d6a6-41a9-611d-74a6ab80b83d",
                "mybootdir/pxelinux.cfg/01-88-99-aa-bb-cc-dd",
                "mybootdir/pxelinux.cfg/C0A8025B",
                "mybootdir/pxelinux.cfg/C0A8025",
                "mybootdir/pxelinux.cfg/C0A802",
                "mybootdir/pxelinux.cfg/C0A80",
                "mybootdir/pxelinux.cfg/C0A8",
                "mybootdir/pxelinux.cfg/C0A",
                "mybootdir/pxelinux.cfg/C0",
                "mybootdir/pxelinux.cfg/C",
                "mybootdir/pxelinux.cfg/default",
            ]
        );
    }

    #[test]
    fn absolute_bootfile_keeps_its_slash() {
        let info = ClientInfo {
            ip: Some(Ipv4Addr::new(192, 0, 2, 91)),
            bootfile: Some("/mybootdir/pxelinux.0".into()),
            ..ClientInfo::default()
        };
        let paths = probe_paths(&info);
        assert_eq!(
            paths.first().map(String::as_str),
            Some("/mybootdir/pxelinux.cfg/C000025B")
        );
        assert_eq!(paths.len(), 9);
    }

    #[test]
    fn option_209_first_relative_to_option_210() {
        let info = ClientInfo {
            config_file: Some("configs/common".into()),
            path_prefix: Some("/tftpboot/pxelinux/files/".into()),
            bootfile: Some("/tftpboot/pxelinux/pxelinux.bin".into()),
            ..ClientInfo::default()
        };
        assert_eq!(
            probe_paths(&info),
            [
                "/tftpboot/pxelinux/files/configs/common",
                "/tftpboot/pxelinux/files/pxelinux.cfg/default",
            ]
        );
    }

    #[test]
    fn url_prefix_gives_url_probes() {
        let info = ClientInfo {
            path_prefix: Some("http://10.0.0.1/pxe/".into()),
            config_file: Some("/cfg/s390x".into()),
            mac: Some([2, 0, 0, 0, 0, 1]),
            ..ClientInfo::default()
        };
        assert_eq!(
            probe_paths(&info),
            [
                "http://10.0.0.1/cfg/s390x",
                "http://10.0.0.1/pxe/pxelinux.cfg/01-02-00-00-00-00-01",
                "http://10.0.0.1/pxe/pxelinux.cfg/default",
            ]
        );
    }

    #[test]
    fn prefix_rules() {
        let mut info = ClientInfo::default();
        assert_eq!(path_prefix(&info), "");
        info.bootfile = Some("pxelinux.0".into());
        assert_eq!(path_prefix(&info), "");
        info.bootfile = Some("s390x/pxelinux.0".into());
        assert_eq!(path_prefix(&info), "s390x/");
        info.path_prefix = Some("http://10.0.0.1/boot".into());
        assert_eq!(path_prefix(&info), "http://10.0.0.1/boot/");
        info.path_prefix = Some(String::new());
        assert_eq!(path_prefix(&info), "s390x/");
    }

    #[test]
    fn uuid_forms() {
        let want = Some("b8945908-d6a6-41a9-611d-74a6ab80b83d".to_string());
        assert_eq!(normalize_uuid("B8945908-D6A6-41A9-611D-74A6AB80B83D"), want);
        assert_eq!(normalize_uuid("{b8945908d6a641a9611d74a6ab80b83d}"), want);
        assert_eq!(normalize_uuid("b8945908-d6a6-41a9-611d"), None);
        assert_eq!(normalize_uuid("g8945908-d6a6-41a9-611d-74a6ab80b83d"), None);
        assert_eq!(normalize_uuid("é8945908-d6a6-41a9-611d-74a6ab80b83"), None);
    }

    #[test]
    fn join_rules() {
        assert_eq!(join_path("s390x/", "linux"), "s390x/linux");
        assert_eq!(join_path("s390x/", "/images/linux"), "/images/linux");
        assert_eq!(join_path("s390x/", "::images/linux"), "images/linux");
        assert_eq!(
            join_path("s390x/", "10.0.0.2::images/linux"),
            "tftp://10.0.0.2/images/linux"
        );
        assert_eq!(join_path("s390x/", "boot::/linux"), "tftp://boot/linux");
        assert_eq!(join_path("s390x/", "HTTP://h/linux"), "HTTP://h/linux");
        assert_eq!(join_path("http://h/boot/", "linux"), "http://h/boot/linux");
        assert_eq!(join_path("http://h/boot/", "/linux"), "http://h/linux");
        assert_eq!(join_path("http://h", "/linux"), "http://h/linux");
        assert_eq!(join_path("", "linux"), "linux");
        // Every location pxeinit reads stays whole behind a prefix.
        for l in [
            "file:///srv/dvd.iso/images/kernel.img",
            "nfs://h/srv/f",
            "nfs:h:/srv/f",
            "nfs+iso:h:/srv/F.iso",
        ] {
            assert_eq!(join_path("s390x/", l), l);
        }
    }
}

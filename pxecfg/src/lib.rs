//! The PXELINUX configuration language, with syslinux's semantics.
//!
//! `pxecfg` decides what a PXELINUX client would boot from a `pxelinux.cfg`
//! tree: which config file it finds ([`probe_paths`]), what the file means
//! ([`Config::parse`]), and which entry boots when nobody types
//! ([`Config::unattended`]) or when a label is forced ([`ResolveOptions`]).
//! [`resolve`] does all of it. The crate does no I/O itself: files come
//! through the [`Fetch`] trait, which pxeinit implements over TFTP/HTTP and
//! the `pxecfg` CLI over a directory.
//!
//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use pxecfg::{resolve, Action, ClientInfo, Fetch, FetchError, ResolveOptions};
//!
//! struct Files(HashMap<&'static str, &'static str>);
//! impl Fetch for Files {
//!     fn fetch(&mut self, path: &str) -> Result<Vec<u8>, FetchError> {
//!         self.0.get(path).map(|s| s.as_bytes().to_vec()).ok_or(FetchError::NotFound)
//!     }
//! }
//!
//! let mut files = Files(HashMap::from([(
//!     "s390x/pxelinux.cfg/01-52-54-00-12-34-56",
//!     "DEFAULT install\nLABEL install\n  KERNEL images/kernel.img\n  INITRD images/initrd.img\n  APPEND inst.repo=http://repo/\n  IPAPPEND 2\n",
//! )]));
//! let info = ClientInfo {
//!     mac: Some([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
//!     bootfile: Some("s390x/pxelinux.0".into()),
//!     ..ClientInfo::default()
//! };
//! let resolution = resolve(&info, &mut files, &ResolveOptions::default())?;
//! assert_eq!(
//!     resolution.action,
//!     Action::Boot {
//!         kernel: "s390x/images/kernel.img".into(),
//!         initrd: vec!["s390x/images/initrd.img".into()],
//!         append: "inst.repo=http://repo/ BOOTIF=01-52-54-00-12-34-56".into(),
//!     }
//! );
//! # Ok::<(), pxecfg::ResolveError>(())
//! ```
//!
//! # Lookup
//!
//! As in syslinux `doc/pxelinux.txt` ("HOW TO CONFIGURE PXELINUX", "SPECIAL
//! DHCP OPTIONS"): DHCP option 209 first (relative to the prefix), then
//! `pxelinux.cfg/<uuid>`, `pxelinux.cfg/01-<mac>`, the IPv4 address in hex
//! from 8 digits down to 1, and `pxelinux.cfg/default`. The prefix is option
//! 210, else the directory of the boot file name. File names follow
//! [`join_path`]: `::file`, `host::file` and full URLs are honoured.
//!
//! # Syntax
//!
//! One directive per line; keywords in any case, followed by spaces or tabs;
//! lines whose first non-blank character is `#` are comments; CRLF line ends
//! are accepted (syslinux wiki, Config, and `readconfig.c`: the line is cut at
//! the first CR). Supported directives, by the rules of the syslinux wiki
//! pages Config (<https://wiki.syslinux.org/wiki/index.php?title=Config>) and
//! Menu (<https://wiki.syslinux.org/wiki/index.php?title=Menu>):
//!
//! | Directive | Meaning here |
//! |---|---|
//! | `DEFAULT cmd` | label (maybe with options) or kernel command line booted without a prompt; a menu module (`menu.c32`, `vesamenu.c32`) shows the menu |
//! | `UI module` | shows the menu; DEFAULT then only picks its default entry |
//! | `LABEL name` | starts an entry; without `KERNEL` it boots the file `name` |
//! | `KERNEL`/`LINUX file` | the image; `KERNEL` guesses the type from the extension |
//! | `LOCALBOOT n` | [`Action::LocalBoot`] |
//! | `CONFIG file [dir]` | restart with another config (and working directory) |
//! | `COM32 module` | menu modules show the menu; others cannot run on s390x |
//! | `BOOT`/`BSS`/`PXE`/`FDIMAGE`/`COMBOOT` | PC images: nothing to boot, with a warning |
//! | `INITRD a,b` | initial ramdisks, comma separated |
//! | `APPEND opts` | in a label: its command line; outside: the default for labels without one; `APPEND -` in a label: no APPEND at all |
//! | `initrd=a,b` in APPEND | initrds; only the first `initrd=` word counts (syslinux `new_linux_kernel()`), it beats INITRD |
//! | `IPAPPEND`/`SYSAPPEND n` | bit 1 `ip=client:server:gateway:netmask`, bit 2 `BOOTIF=01-mac`, bit 4 `SYSUUID=uuid`; outside a label: the default for the labels that follow |
//! | `INCLUDE file`, `MENU INCLUDE file [tag]` | relative to the prefix; a missing file is skipped; depth, count and cycles bounded; with a tag, the file becomes a submenu |
//! | `MENU BEGIN [tag]` … `MENU END` | submenus; their labels can be chosen by name |
//! | `MENU LABEL`/`DEFAULT`/`HIDE`/`TITLE`/`DISABLE`/`SEPARATOR` | the menu's text, default entry, hidden and inactive entries |
//! | `TEXT HELP` … `ENDTEXT` | help text, kept on the label, never parsed as directives |
//! | `TIMEOUT`/`TOTALTIMEOUT n` | tenths of a second; 0 = none |
//! | `ONTIMEOUT cmd`, `ONERROR cmd` | label or command line |
//! | `PROMPT n` | non-zero: show the `boot:` prompt |
//! | `SAY text` | printed when the config loads |
//! | `PATH a:b` | kept for information |
//!
//! Display and console settings (`DISPLAY`, `FONT`, `SERIAL`, `F1`…, `MENU
//! COLOR`, …) are accepted and have no effect. Anything else becomes a
//! [`Diagnostic`] (`file:line: …`), never an error.
//!
//! # What boots when nobody types
//!
//! See [`Config::unattended`]: without a prompt, DEFAULT at once; with a
//! prompt and a timeout, ONTIMEOUT (else the ENTER choice); with a prompt and
//! no timeout, the ENTER choice ([`Config::enter_choice`]).
//!
//! Where these rules come from syslinux's sources rather than its
//! documentation (syslinux 6.03 `com32/elflink/ldlinux/readconfig.c`), the
//! function that implements them says so.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

mod lookup;
mod parse;
mod resolve;
mod select;

pub use lookup::{
    is_url, join_path, mac_dashed, normalize_uuid, parse_mac, parse_uuid, path_prefix, probe_paths,
};
pub use parse::{
    Config, Diagnostic, DiagnosticKind, KernelKind, Label, Menu, MenuItem, MenuLine, MAX_INCLUDES,
    MAX_INCLUDE_DEPTH,
};
pub use resolve::{
    resolve, resolve_choice, Resolution, ResolveError, ResolveErrorKind, ResolveOptions,
    MAX_CONFIG_CHAIN,
};
pub use select::{Action, Choice, ChooseError};

/// What the client knows about itself and its lease.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Ethernet address (ARP type 1).
    pub mac: Option<[u8; 6]>,
    /// The client's IPv4 address (`yiaddr`).
    pub ip: Option<Ipv4Addr>,
    /// System UUID (DHCP option 97, or the s390x machine UUID); any case,
    /// normalised to lowercase 8-4-4-4-12 when used.
    pub uuid: Option<String>,
    /// DHCP boot file name (`file` field / option 67).
    pub bootfile: Option<String>,
    /// DHCP option 209 (pxelinux.configfile).
    pub config_file: Option<String>,
    /// DHCP option 210 (pxelinux.pathprefix).
    pub path_prefix: Option<String>,
    /// Boot server (`siaddr` / option 66), for IPAPPEND 1.
    pub server: Option<Ipv4Addr>,
    /// Default gateway (option 3), for IPAPPEND 1.
    pub gateway: Option<Ipv4Addr>,
    /// Subnet mask (option 1), for IPAPPEND 1.
    pub netmask: Option<Ipv4Addr>,
    /// The client's IPv6 address and prefix length, when it booted over
    /// IPv6 (and `ip` is unset): IPAPPEND 1 is then dracut's bracket form
    /// `ip=[ADDR]:[SERVER]:[GATEWAY]:PREFIXLEN:::none`.
    pub ip6: Option<(Ipv6Addr, u8)>,
    /// The IPv6 boot server, for IPAPPEND 1 over IPv6.
    pub server6: Option<Ipv6Addr>,
    /// The IPv6 default router, for IPAPPEND 1 over IPv6.
    pub gateway6: Option<Ipv6Addr>,
}

/// Why a file could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The file does not exist: go on with the next candidate.
    NotFound,
    /// Anything else (timeout, permission, server error): recorded as a
    /// warning; config probing goes on with the next candidate.
    Other(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::NotFound => write!(f, "file not found"),
            FetchError::Other(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for FetchError {}

/// Where files come from. `path` is what would be requested from the server:
/// a TFTP path on the lease's server, or a `tftp://`/`http(s)://` URL
/// (see [`join_path`]).
pub trait Fetch {
    /// The whole content of `path`.
    fn fetch(&mut self, path: &str) -> Result<Vec<u8>, FetchError>;
}

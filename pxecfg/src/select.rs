//! Choosing what to boot: the unattended choice, typed labels and menu
//! numbers, and turning an entry into an [`Action`] (kernel command line,
//! initrds, IPAPPEND/SYSAPPEND).

use std::fmt;

use crate::lookup::{self, join_path, mac_dashed, normalize_uuid};
use crate::parse::{atoi, split_word, Config, KernelKind, Label, Menu, MenuItem};
use crate::ClientInfo;

/// What to do in the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Load `kernel` with the concatenation of `initrd`, and boot it with the
    /// command line `append`. Paths are as requested from the server: a
    /// `tftp://`, `http://` or `https://` URL, or a TFTP path on the lease's
    /// server.
    Boot {
        /// The kernel image.
        kernel: String,
        /// Initial ramdisks, in load order.
        initrd: Vec<String>,
        /// The kernel command line (without `initrd=` words).
        append: String,
    },
    /// `LOCALBOOT n`: boot from the local disk (on s390x: re-IPL).
    LocalBoot(i64),
    /// Nothing to boot.
    None,
}

/// A chosen entry: the label (if the input named one) and its [`Action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The label chosen; `None` for a bare command line.
    pub label: Option<String>,
    /// What to do.
    pub action: Action,
    /// Things an administrator should know (e.g. SYSAPPEND data missing).
    pub warnings: Vec<String>,
}

/// Why [`Config::choose`] could not turn the input into an [`Action`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChooseError {
    /// Nothing typed.
    Empty,
    /// A number that is not in the menu.
    NoSuchNumber {
        /// The number typed.
        number: usize,
        /// The highest menu number.
        max: usize,
    },
    /// The entry is `CONFIG file` (or a menu module with a config file): the
    /// file has to be fetched; use [`crate::resolve_choice`] for that.
    NeedsConfig {
        /// The label chosen, if any.
        label: Option<String>,
        /// The config file, as requested from the server.
        path: String,
    },
}

impl fmt::Display for ChooseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "no label or number given"),
            Self::NoSuchNumber { number, max } => {
                write!(
                    f,
                    "there is no menu entry {number} (entries are 1 to {max})"
                )
            }
            Self::NeedsConfig { path, .. } => {
                write!(f, "the entry loads another config file, {path}")
            }
        }
    }
}

impl std::error::Error for ChooseError {}

/// What a command line leads to, before any further fetching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Action(Action),
    /// Load this config, with this new base directory if any.
    Config {
        path: String,
        base: Option<String>,
        menu: bool,
    },
    /// Show the menu (a menu module with no config argument).
    Menu,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Picked {
    pub label: Option<String>,
    pub target: Target,
    pub warnings: Vec<String>,
}

/// Names that run the menu (syslinux wiki, Menu: "menu.c32" and "vesamenu.c32").
fn is_menu_module(name: &str) -> bool {
    let base = name
        .rsplit(['/', ':'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    matches!(
        base.as_str(),
        "menu.c32" | "vesamenu.c32" | "menu" | "vesamenu"
    )
}

impl Config {
    /// True when PXELINUX would show a menu module: `UI` is set, DEFAULT
    /// names `menu.c32`/`vesamenu.c32`, or a menu module loaded this file.
    pub fn menu_shown(&self) -> bool {
        self.forced_menu
            || self.ui.is_some()
            || self
                .default
                .as_deref()
                .is_some_and(|d| is_menu_module(split_word(d).0))
    }

    /// True when a prompt (the `boot:` prompt or a menu) is shown, i.e. when
    /// someone could type: `PROMPT 1`, a menu ([`Config::menu_shown`]), or no
    /// DEFAULT at all (syslinux then stops at the prompt: "No DEFAULT or UI
    /// configuration directive found!").
    pub fn prompt_shown(&self) -> bool {
        self.prompt || self.menu_shown() || self.default.is_none()
    }

    /// True when a timeout runs while the prompt is shown (TIMEOUT or
    /// TOTALTIMEOUT above 0).
    pub fn has_timeout(&self) -> bool {
        self.timeout > 0 || self.total_timeout > 0
    }

    /// What pressing ENTER at the prompt boots, as a command line (a label
    /// name, maybe with options, or a kernel command line).
    ///
    /// With a menu: DEFAULT when it names a visible label (syslinux
    /// `parse_configs()` makes it the menu's default entry, over MENU DEFAULT),
    /// else the MENU DEFAULT of the top menu (descending into a submenu that
    /// is the default), else the first selectable entry. At the plain `boot:`
    /// prompt: DEFAULT (label or command line), else the same menu rules.
    pub fn enter_choice(&self) -> Option<String> {
        if let Some(default) = self.default.as_deref() {
            let first = split_word(default).0;
            match self.find_label(first) {
                Some(label) if !label.hidden => return Some(default.to_string()),
                Some(_) if !self.menu_shown() => return Some(default.to_string()),
                None if !self.menu_shown() => return Some(default.to_string()),
                _ => {}
            }
        }
        self.menu_default(&self.menu).map(|l| l.name.clone())
    }

    /// The default entry of `menu`: its MENU DEFAULT (the last one), else its
    /// first selectable entry; a submenu counts as the entry of its own default.
    fn menu_default<'a>(&'a self, menu: &'a Menu) -> Option<&'a Label> {
        let selectable = |item: &'a MenuItem| -> Option<(bool, &'a MenuItem)> {
            match item {
                MenuItem::Label(i) => {
                    let label = self.labels.get(*i)?;
                    let usable = !label.hidden && !label.disabled && !label.menu_command;
                    usable.then_some((label.menu_default, item))
                }
                MenuItem::Submenu { default, .. } => Some((*default, item)),
                MenuItem::Separator => None,
            }
        };
        let items: Vec<(bool, &MenuItem)> = menu.items.iter().filter_map(selectable).collect();
        let marked = items
            .iter()
            .rev()
            .find(|(default, _)| *default)
            .map(|(_, i)| *i);
        for item in marked.into_iter().chain(items.iter().map(|(_, i)| *i)) {
            let found = match item {
                MenuItem::Label(i) => self.labels.get(*i),
                MenuItem::Submenu { menu, .. } => self.menu_default(menu),
                MenuItem::Separator => None,
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// What boots when a timeout expires: ONTIMEOUT, else the ENTER choice
    /// (syslinux wiki, Config: "ONTIMEOUT … if not specified, DEFAULT").
    pub fn on_timeout_choice(&self) -> Option<String> {
        self.on_timeout.clone().or_else(|| self.enter_choice())
    }

    /// What boots when nobody types, as a command line:
    ///
    /// - without a prompt, DEFAULT, at once;
    /// - with a prompt and a timeout, [`Config::on_timeout_choice`] when it expires;
    /// - with a prompt and no timeout, [`Config::enter_choice`] (strictly,
    ///   PXELINUX waits forever; this is what ENTER would boot).
    pub fn unattended(&self) -> Option<String> {
        if !self.prompt_shown() {
            return self.default.clone();
        }
        if self.has_timeout() {
            self.on_timeout_choice()
        } else {
            self.enter_choice()
        }
    }

    /// Turn typed input into an [`Action`]: a label name (maybe followed by
    /// options, which are appended to its command line), a 1-based menu
    /// number (see [`Config::menu_lines`]; a label named like the number
    /// wins), or a kernel command line (`vmlinuz root=…`, syslinux's implicit
    /// kernels). `info` feeds IPAPPEND/SYSAPPEND.
    ///
    /// An entry that cannot run on s390x (PXE, COMBOOT, COM32 other than the
    /// menu) gives [`Action::None`] with a warning. An entry that loads
    /// another config gives [`ChooseError::NeedsConfig`]: use
    /// [`crate::resolve_choice`], which fetches it.
    pub fn choose(&self, input: &str, info: &ClientInfo) -> Result<Choice, ChooseError> {
        let picked = self.pick_input(input, info)?;
        let mut warnings = picked.warnings;
        let action = match picked.target {
            Target::Action(action) => action,
            Target::Config { path, .. } => {
                return Err(ChooseError::NeedsConfig {
                    label: picked.label,
                    path,
                });
            }
            Target::Menu => {
                warnings.push("the entry runs the menu again; choose one of its entries".into());
                Action::None
            }
        };
        Ok(Choice {
            label: picked.label,
            action,
            warnings,
        })
    }

    /// Resolve typed input (name, number or command line) to a target.
    pub(crate) fn pick_input(&self, input: &str, info: &ClientInfo) -> Result<Picked, ChooseError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ChooseError::Empty);
        }
        let (first, rest) = split_word(input);
        if self.find_label(first).is_none() && first.bytes().all(|b| b.is_ascii_digit()) {
            let number = first.parse::<usize>().unwrap_or(0);
            let Some(label) = self.label_by_number(number) else {
                let max = self
                    .menu_lines()
                    .iter()
                    .filter(|l| matches!(l, crate::MenuLine::Entry { .. }))
                    .count();
                return Err(ChooseError::NoSuchNumber { number, max });
            };
            return Ok(self.pick_label(label, rest, info));
        }
        Ok(self.pick(input, info))
    }

    /// syslinux `load_kernel()`/`unlabel()`: a command line whose first word
    /// names a label runs that label with the rest appended; otherwise it is
    /// a kernel (or `.type file`) command line.
    pub(crate) fn pick(&self, cmdline: &str, info: &ClientInfo) -> Picked {
        let (first, rest) = split_word(cmdline);
        if let Some(label) = self.find_label(first) {
            return self.pick_label(label, rest, info);
        }
        let mut warnings = Vec::new();
        // ".linux vmlinuz args", ".localboot 0", as syslinux writes them itself.
        let (kind, kernel, args) = match first
            .strip_prefix('.')
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some(kind @ ("kernel" | "linux" | "localboot" | "config" | "com32")) => {
                let (kernel, args) = split_word(rest);
                let kind = match kind {
                    "linux" => KernelKind::Linux,
                    "localboot" => KernelKind::LocalBoot,
                    "config" => KernelKind::Config,
                    "com32" => KernelKind::Com32,
                    _ => KernelKind::Kernel,
                };
                (kind, kernel, args)
            }
            _ => {
                if !is_menu_module(first) {
                    warnings.push(format!(
                        "`{first}` names no label: booting it as a kernel (syslinux implicit kernel)"
                    ));
                }
                (KernelKind::Kernel, first, rest)
            }
        };
        // Global APPEND first, typed options after (syslinux doc/syslinux.txt,
        // APPEND); it does not apply to `.config`/`.localboot`.
        let global = match kind {
            KernelKind::Config | KernelKind::LocalBoot => None,
            _ => self.append.as_deref().map(str::trim),
        };
        let append = match global {
            Some("-") | None => args.trim().to_string(),
            Some(global) => format!("{global} {}", args.trim()).trim().to_string(),
        };
        let label = Label {
            name: String::new(),
            kernel: kernel.to_string(),
            kind,
            append: Some(append),
            ..Label::default()
        };
        let mut picked = self.pick_label(&label, "", info);
        picked.label = None;
        warnings.append(&mut picked.warnings);
        picked.warnings = warnings;
        picked
    }

    /// Run one label, with `extra` typed options.
    pub(crate) fn pick_label(&self, label: &Label, extra: &str, info: &ClientInfo) -> Picked {
        let mut warnings = Vec::new();
        let name = Some(label.name.clone());
        let kernel = label.kernel.trim();
        let target = match effective_kind(label.kind, kernel) {
            Effective::LocalBoot => {
                let (n, clean) = atoi(kernel);
                if !clean && !kernel.is_empty() {
                    warnings.push(format!("LOCALBOOT `{kernel}` is not a number, using {n}"));
                }
                Target::Action(Action::LocalBoot(n))
            }
            Effective::Config => {
                // CONFIG file [dir]; the directory may also come from APPEND.
                let words: Vec<&str> = kernel
                    .split_whitespace()
                    .chain(self.label_append(label).unwrap_or("").split_whitespace())
                    .collect();
                match words.first() {
                    Some(file) => Target::Config {
                        path: join_path(&self.base, file),
                        base: words.get(1).map(|dir| lookup::as_dir(&self.base, dir)),
                        menu: false,
                    },
                    None => {
                        warnings.push(format!("label {}: CONFIG without a file name", label.name));
                        Target::Action(Action::None)
                    }
                }
            }
            Effective::Menu => {
                let args = self.label_append(label).unwrap_or("");
                match split_word(args).0 {
                    "" => Target::Menu,
                    file => Target::Config {
                        path: join_path(&self.base, file),
                        base: None,
                        menu: true,
                    },
                }
            }
            Effective::Unsupported(what) => {
                warnings.push(format!(
                    "label {}: {kernel} is {what}, which cannot run on s390x; nothing to boot",
                    label.name
                ));
                Target::Action(Action::None)
            }
            Effective::Linux => Target::Action(self.boot(label, extra, info, &mut warnings)),
        };
        Picked {
            label: name,
            target,
            warnings,
        }
    }

    /// The APPEND that applies to a label: its own, else the global one;
    /// `None` for `APPEND -` (syslinux `record()`).
    fn label_append<'a>(&'a self, label: &'a Label) -> Option<&'a str> {
        match label
            .append
            .as_deref()
            .or(self.append.as_deref())
            .map(str::trim)
        {
            Some("-") | None => None,
            Some(append) => Some(append),
        }
    }

    /// The command line of syslinux `record()`: APPEND, ` initrd=` INITRD,
    /// the SYSAPPEND strings, then the typed options; `initrd=` words are
    /// taken out (the first one is loaded, as in syslinux `new_linux_kernel()`).
    fn boot(
        &self,
        label: &Label,
        extra: &str,
        info: &ClientInfo,
        warnings: &mut Vec<String>,
    ) -> Action {
        let mut words: Vec<String> = Vec::new();
        words.extend(
            self.label_append(label)
                .unwrap_or("")
                .split_whitespace()
                .map(String::from),
        );
        if let Some(initrd) = label
            .initrd
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            words.push(format!("initrd={initrd}"));
        }
        words.extend(sysappend(label.sysappend, info, warnings));
        words.extend(extra.split_whitespace().map(String::from));

        let mut initrd = None;
        let mut append = Vec::new();
        for word in words {
            match word.strip_prefix("initrd=") {
                Some(list) if initrd.is_none() => initrd = Some(list.to_string()),
                Some(list) => warnings.push(format!(
                    "label {}: second initrd={list} ignored (PXELINUX loads only the first initrd= list)",
                    label.name
                )),
                None => append.push(word),
            }
        }
        let initrd = initrd
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|file| join_path(&self.base, file))
            .collect();
        Action::Boot {
            kernel: join_path(&self.base, label.kernel.trim()),
            initrd,
            append: append.join(" "),
        }
    }
}

enum Effective {
    Linux,
    LocalBoot,
    Config,
    Menu,
    Unsupported(&'static str),
}

/// The type of image a label boots (syslinux wiki, Config, "KERNEL file":
/// the type follows from the extension unless given explicitly).
///
/// Deliberate difference: `.img` and `.bin` are booted as Linux kernels, since
/// s390x distributions ship `kernel.img` (RHEL) and there are no floppy or
/// boot-sector images on s390x.
fn effective_kind(kind: KernelKind, kernel: &str) -> Effective {
    let file = split_word(kernel).0;
    match kind {
        KernelKind::Linux => Effective::Linux,
        KernelKind::LocalBoot => Effective::LocalBoot,
        KernelKind::Config => Effective::Config,
        KernelKind::PcOnly => Effective::Unsupported("a PC boot image"),
        KernelKind::Com32 | KernelKind::Kernel if is_menu_module(file) => Effective::Menu,
        KernelKind::Com32 => Effective::Unsupported("a COM32 module"),
        KernelKind::Kernel => {
            let ext = file
                .rsplit_once('.')
                .map(|(_, e)| e.to_ascii_lowercase())
                .unwrap_or_default();
            match ext.as_str() {
                "c32" => Effective::Unsupported("a COM32 module"),
                "0" => Effective::Unsupported("a PXE boot program"),
                "com" | "cbt" => Effective::Unsupported("a COMBOOT program"),
                "bs" | "bss" => Effective::Unsupported("a boot sector"),
                _ => Effective::Linux,
            }
        }
    }
}

/// The IPAPPEND/SYSAPPEND strings (syslinux wiki, SYSAPPEND; doc/syslinux.txt).
fn sysappend(bits: u32, info: &ClientInfo, warnings: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    if bits & 1 != 0 {
        match info.ip {
            None if info.ip6.is_some() => {
                let b =
                    |a: Option<std::net::Ipv6Addr>| a.map(|a| format!("[{a}]")).unwrap_or_default();
                if let Some((a, len)) = info.ip6 {
                    out.push(format!(
                        "ip=[{a}]:{}:{}:{len}:::none",
                        b(info.server6),
                        b(info.gateway6)
                    ));
                }
            }
            Some(ip) => {
                let or_zero =
                    |a: Option<std::net::Ipv4Addr>| a.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
                out.push(format!(
                    "ip={ip}:{}:{}:{}",
                    or_zero(info.server),
                    or_zero(info.gateway),
                    or_zero(info.netmask)
                ));
            }
            None => warnings.push("IPAPPEND 1: client IP address unknown, ip= left out".into()),
        }
    }
    if bits & 2 != 0 {
        match info.mac {
            Some(mac) => out.push(format!("BOOTIF=01-{}", mac_dashed(&mac))),
            None => warnings.push("IPAPPEND 2: MAC address unknown, BOOTIF= left out".into()),
        }
    }
    if bits & 4 != 0 {
        match info.uuid.as_deref().and_then(normalize_uuid) {
            Some(uuid) => out.push(format!("SYSUUID={uuid}")),
            None => warnings.push("SYSAPPEND 4: system UUID unknown, SYSUUID= left out".into()),
        }
    }
    let rest = bits & !7;
    if rest != 0 {
        warnings.push(format!(
            "SYSAPPEND bits {rest:#x} (CPU, DMI and similar strings) are not available on s390x, left out"
        ));
    }
    out
}

#[cfg(test)]
mod test {
    use super::*;
    use std::net::Ipv4Addr;

    fn cfg(text: &str) -> Config {
        let mut cfg = Config::parse(text.as_bytes(), "t.cfg");
        cfg.base = "s390x/".into();
        cfg
    }

    fn info() -> ClientInfo {
        ClientInfo {
            mac: Some([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
            ip: Some(Ipv4Addr::new(10, 0, 2, 15)),
            uuid: Some("B8945908-D6A6-41A9-611D-74A6AB80B83D".into()),
            server: Some(Ipv4Addr::new(10, 0, 2, 2)),
            gateway: Some(Ipv4Addr::new(10, 0, 2, 1)),
            netmask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            ..ClientInfo::default()
        }
    }

    fn boot(kernel: &str, initrd: &[&str], append: &str) -> Action {
        Action::Boot {
            kernel: kernel.into(),
            initrd: initrd.iter().map(|s| s.to_string()).collect(),
            append: append.into(),
        }
    }

    fn action(c: &Config, input: &str) -> Action {
        c.choose(input, &info())
            .map(|c| c.action)
            .unwrap_or(Action::None)
    }

    #[test]
    fn default_without_prompt_boots_at_once() {
        let c = cfg("default a\nprompt 0\ntimeout 100\nontimeout b\nlabel a\nlabel b\n");
        assert!(!c.prompt_shown());
        assert_eq!(c.unattended().as_deref(), Some("a"));
    }

    #[test]
    fn prompt_with_timeout_runs_ontimeout() {
        let c = cfg("default a\nprompt 1\ntimeout 100\nontimeout b\nlabel a\nlabel b\n");
        assert_eq!(c.unattended().as_deref(), Some("b"));
        let c = cfg("default a\nprompt 1\ntotaltimeout 100\nlabel a\nlabel b\n");
        assert_eq!(c.unattended().as_deref(), Some("a"));
    }

    #[test]
    fn prompt_without_timeout_is_the_enter_choice() {
        let c = cfg("ui menu.c32\nontimeout b\nlabel a\nlabel b\nmenu default\n");
        assert_eq!(c.unattended().as_deref(), Some("b"));
        let c = cfg("default vesamenu.c32\nlabel a\nlabel b\n");
        assert!(c.menu_shown());
        assert_eq!(c.unattended().as_deref(), Some("a"));
        // DEFAULT naming a label wins over MENU DEFAULT (syslinux parse_configs()).
        let c = cfg("ui menu.c32\ndefault a\nlabel a\nlabel b\nmenu default\n");
        assert_eq!(c.unattended().as_deref(), Some("a"));
        // ... unless the label is hidden.
        let c = cfg("ui menu.c32\ndefault a\nlabel a\nmenu hide\nlabel b\n");
        assert_eq!(c.unattended().as_deref(), Some("b"));
    }

    #[test]
    fn no_default_stops_at_prompt_first_label() {
        let c = cfg("menu separator\nlabel x\nmenu disable\nlabel first\nlabel second\n");
        assert!(c.prompt_shown());
        assert_eq!(c.unattended().as_deref(), Some("first"));
        assert_eq!(cfg("say hi\n").unattended(), None);
    }

    #[test]
    fn submenu_default_descends() {
        let c = cfg("ui menu.c32\nlabel a\nmenu begin\nmenu default\nlabel b\nlabel c\nmenu default\nmenu end\n");
        assert_eq!(c.unattended().as_deref(), Some("c"));
        let c = cfg("ui menu.c32\nmenu begin\nlabel b\nmenu end\nlabel a\n");
        assert_eq!(c.unattended().as_deref(), Some("b"));
    }

    #[test]
    fn label_append_initrd_sysappend() {
        let c = cfg("append quiet\nlabel a\nkernel linux\ninitrd i1,/abs/i2\nipappend 3\nsysappend 7\nlabel b\nkernel linux\nappend -\nlabel c\nkernel linux\nappend root=x initrd=r.gz\n");
        assert_eq!(
            action(&c, "a"),
            boot(
                "s390x/linux",
                &["s390x/i1", "/abs/i2"],
                "quiet ip=10.0.2.15:10.0.2.2:10.0.2.1:255.255.255.0 BOOTIF=01-52-54-00-12-34-56 SYSUUID=b8945908-d6a6-41a9-611d-74a6ab80b83d"
            )
        );
        assert_eq!(action(&c, "b"), boot("s390x/linux", &[], ""));
        assert_eq!(
            action(&c, "c single"),
            boot("s390x/linux", &["s390x/r.gz"], "root=x single")
        );
    }

    #[test]
    fn append_initrd_beats_initrd_directive() {
        let c = cfg("label a\nkernel k\ninitrd second\nappend initrd=first a=b\n");
        let choice = c.choose("a", &info()).unwrap();
        assert_eq!(choice.action, boot("s390x/k", &["s390x/first"], "a=b"));
        assert_eq!(choice.warnings.len(), 1);
    }

    /// IPAPPEND 1 over IPv6: dracut's bracket form, prefix length for the
    /// netmask, hostname and device empty, static.
    #[test]
    fn ipappend_1_over_ipv6() {
        let c = cfg("label a\nkernel k\nipappend 1\n");
        let v6 = ClientInfo {
            ip6: Some(("fec0::5054:ff:fe12:3456".parse().unwrap(), 64)),
            server6: Some("fec0::2".parse().unwrap()),
            gateway6: Some("fe80::2".parse().unwrap()),
            ..ClientInfo::default()
        };
        let choice = c.choose("a", &v6).unwrap();
        assert_eq!(
            choice.action,
            boot(
                "s390x/k",
                &[],
                "ip=[fec0::5054:ff:fe12:3456]:[fec0::2]:[fe80::2]:64:::none"
            )
        );
        let bare = ClientInfo {
            ip6: v6.ip6,
            ..ClientInfo::default()
        };
        let choice = c.choose("a", &bare).unwrap();
        assert_eq!(
            choice.action,
            boot("s390x/k", &[], "ip=[fec0::5054:ff:fe12:3456]:::64:::none")
        );
    }

    #[test]
    fn sysappend_missing_data_warns() {
        let c = cfg("label a\nipappend 15\n");
        let choice = c.choose("a", &ClientInfo::default()).unwrap();
        assert_eq!(choice.action, boot("s390x/a", &[], ""));
        assert_eq!(choice.warnings.len(), 4);
    }

    #[test]
    fn localboot_and_numbers() {
        let c = cfg("label local\nmenu label Boot from ^disk\nlocalboot -1\nlabel h\nmenu hide\nlocalboot 0\nlabel z\nlocalboot junk\n");
        assert_eq!(action(&c, "local"), Action::LocalBoot(-1));
        assert_eq!(action(&c, "1"), Action::LocalBoot(-1));
        assert_eq!(action(&c, "2"), Action::LocalBoot(0));
        assert_eq!(action(&c, "h"), Action::LocalBoot(0));
        assert_eq!(
            c.choose("3", &info()),
            Err(ChooseError::NoSuchNumber { number: 3, max: 2 })
        );
        assert_eq!(c.choose("  ", &info()), Err(ChooseError::Empty));
        let z = c.choose("z", &info()).unwrap();
        assert_eq!(z.action, Action::LocalBoot(0));
        assert_eq!(z.warnings.len(), 1);
    }

    #[test]
    fn label_named_like_a_number_wins() {
        let c = cfg("label a\nlocalboot 1\nlabel 1\nlocalboot 2\n");
        assert_eq!(action(&c, "1"), Action::LocalBoot(2));
    }

    #[test]
    fn implicit_kernel_command_lines() {
        let c = cfg("append console=ttyS0\ndefault vmlinuz initrd=a.gz,b.gz root=/dev/ram0\n");
        assert!(!c.prompt_shown());
        let choice = c.choose(&c.unattended().unwrap(), &info()).unwrap();
        assert_eq!(choice.label, None);
        assert_eq!(
            choice.action,
            boot(
                "s390x/vmlinuz",
                &["s390x/a.gz", "s390x/b.gz"],
                "console=ttyS0 root=/dev/ram0"
            )
        );
        assert_eq!(action(&c, ".localboot 0"), Action::LocalBoot(0));
        assert_eq!(
            action(&c, ".linux ::k x=1"),
            boot("k", &[], "console=ttyS0 x=1")
        );
    }

    #[test]
    fn config_and_menu_entries() {
        let c = cfg("label c\nconfig other.cfg /new/\nlabel m\nkernel vesamenu.c32\nappend pxelinux.cfg/sub.cfg\nlabel again\ncom32 menu.c32\nlabel pc\npxe pxelinux.0\nlabel chain\ncom32 chain.c32\nappend hd0\n");
        assert_eq!(
            c.choose("c", &info()),
            Err(ChooseError::NeedsConfig {
                label: Some("c".into()),
                path: "s390x/other.cfg".into()
            })
        );
        assert_eq!(
            c.pick("c", &info()).target,
            Target::Config {
                path: "s390x/other.cfg".into(),
                base: Some("/new/".into()),
                menu: false
            }
        );
        assert_eq!(
            c.pick("m", &info()).target,
            Target::Config {
                path: "s390x/pxelinux.cfg/sub.cfg".into(),
                base: None,
                menu: true
            }
        );
        assert_eq!(action(&c, "again"), Action::None);
        for name in ["pc", "chain"] {
            let choice = c.choose(name, &info()).unwrap();
            assert_eq!(choice.action, Action::None);
            assert_eq!(choice.warnings.len(), 1, "{choice:?}");
        }
    }

    #[test]
    fn unknown_word_is_an_implicit_kernel_with_warning() {
        let c = cfg("label a\n");
        let choice = c.choose("lnux root=x", &info()).unwrap();
        assert_eq!(choice.action, boot("s390x/lnux", &[], "root=x"));
        assert_eq!(choice.warnings.len(), 1);
    }

    #[test]
    fn s390x_kernel_img_is_linux() {
        let c = cfg("label rhel\nkernel images/kernel.img\ninitrd images/initrd.img\n");
        assert_eq!(
            action(&c, "rhel"),
            boot("s390x/images/kernel.img", &["s390x/images/initrd.img"], "")
        );
    }
}

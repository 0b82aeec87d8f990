//! The parser: config text → [`Config`].
//!
//! Parsing is pure. INCLUDE and MENU INCLUDE are followed through an
//! [`Includer`], which [`Config::load`] builds on top of a [`Fetch`]; with
//! [`Config::parse`] they are reported and skipped.
//!
//! As in syslinux (`com32/elflink/ldlinux/readconfig.c`), included files are
//! parsed with the same state, as if their text stood in place of the
//! INCLUDE line: a LABEL started before an INCLUDE goes on inside it.

use std::fmt;

use crate::{lookup, Fetch, FetchError};

/// Deepest INCLUDE nesting that is followed.
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// Most files that one config may pull in through INCLUDE, in all.
pub const MAX_INCLUDES: usize = 128;

/// A parsed PXELINUX configuration, with its includes merged.
///
/// The fields are what the console menu of pxeinit needs: whether a prompt is
/// shown ([`Config::prompt_shown`]), the timeouts in tenths of a second, what
/// boots on timeout, the SAY lines, the menu tree ([`Config::menu`],
/// [`Config::menu_lines`]) and the choice of a typed label or menu number
/// ([`Config::choose`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Path of the file this config was read from (as requested from the server).
    pub source: String,
    /// Directory that relative file names are joined to (the prefix, or the
    /// directory given to CONFIG), empty or ending in `/`.
    pub base: String,
    /// `DEFAULT`: a label name (maybe followed by options) or a command line.
    /// The last one wins.
    pub default: Option<String>,
    /// `UI`: the menu module (and its arguments). It takes precedence over
    /// DEFAULT as what runs first; DEFAULT then only picks the menu's default entry.
    pub ui: Option<String>,
    /// `PROMPT`: true when `PROMPT` was given a non-zero value.
    pub prompt: bool,
    /// `TIMEOUT`, in tenths of a second; 0 means wait forever.
    pub timeout: u32,
    /// `TOTALTIMEOUT`, in tenths of a second; 0 means none. Unlike TIMEOUT it
    /// is not reset by a key press.
    pub total_timeout: u32,
    /// `ONTIMEOUT`: label name or command line run when a timeout expires.
    pub on_timeout: Option<String>,
    /// `ONERROR` (and `MENU ONERROR`): command line run when booting fails.
    pub on_error: Option<String>,
    /// `SAY` lines, in order, to print when the config is loaded.
    pub say: Vec<String>,
    /// The global `APPEND` (outside any label): used by labels without their own.
    pub append: Option<String>,
    /// `PATH` entries (colon separated in the file): where syslinux looks for
    /// COM32 modules. Kept for information only.
    pub path: Vec<String>,
    /// Every LABEL in file order, hidden ones included. [`Menu`] items refer
    /// to labels by index into this list.
    pub labels: Vec<Label>,
    /// The top menu (MENU TITLE, entries, MENU BEGIN … MENU END submenus).
    pub menu: Menu,
    /// Files pulled in by INCLUDE / MENU INCLUDE, as requested from the server.
    pub includes: Vec<String>,
    /// Problems found while parsing: unknown directives, missing includes, …
    pub diagnostics: Vec<Diagnostic>,
    /// True when a menu module loaded this file (`KERNEL menu.c32` with the
    /// file as argument): the menu is shown whatever PROMPT and DEFAULT say.
    pub forced_menu: bool,
}

/// One LABEL and what follows it up to the next LABEL (or MENU BEGIN/END).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Label {
    /// The label name, as typed at the prompt (case-sensitive).
    pub name: String,
    /// `MENU LABEL`: the text shown in the menu (with `^` hotkey markers).
    pub menu_label: Option<String>,
    /// The image: `KERNEL`/`LINUX`/`LOCALBOOT`/`CONFIG`/`COM32`… argument;
    /// the label name itself when none was given (syslinux: a label without
    /// KERNEL boots the file named like the label).
    pub kernel: String,
    /// How [`Label::kernel`] was given.
    pub kind: KernelKind,
    /// The label's own `APPEND`; `None` means the global APPEND applies, and
    /// `Some("-")` means no APPEND at all.
    pub append: Option<String>,
    /// `INITRD`: comma separated list of initial ramdisks.
    pub initrd: Option<String>,
    /// `IPAPPEND`/`SYSAPPEND` bits (the global value when the label has none).
    pub sysappend: u32,
    /// `MENU HIDE`: left out of the menu, but can still be typed.
    pub hidden: bool,
    /// `MENU DEFAULT`: the menu's default entry.
    pub menu_default: bool,
    /// `MENU DISABLE` or `MENU SEPARATOR`-like: shown but not selectable.
    pub disabled: bool,
    /// `MENU GOTO`/`MENU EXIT`/`MENU QUIT`: a menu navigation entry, not bootable.
    pub menu_command: bool,
    /// `TEXT HELP` … `ENDTEXT` text.
    pub help: Option<String>,
    /// File the LABEL line is in.
    pub file: String,
    /// Line number of the LABEL line (1-based).
    pub line: usize,
}

impl Label {
    /// The text shown in a menu: MENU LABEL without `^` markers, else the name.
    pub fn display(&self) -> String {
        match &self.menu_label {
            Some(text) => text.replace('^', ""),
            None => self.name.clone(),
        }
    }
}

/// The kernel type of a label (syslinux wiki, Config, "KERNEL file").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KernelKind {
    /// `KERNEL`: the type follows from the file name extension.
    #[default]
    Kernel,
    /// `LINUX`: a Linux kernel whatever its name.
    Linux,
    /// `LOCALBOOT n`: boot from the local disk.
    LocalBoot,
    /// `CONFIG file [dir]`: restart with another config file.
    Config,
    /// `COM32 module`: a syslinux module (menu.c32, vesamenu.c32, chain.c32 …).
    Com32,
    /// `BOOT`, `BSS`, `PXE`, `FDIMAGE`, `COMBOOT`: PC-only image types that
    /// cannot run on s390x.
    PcOnly,
}

/// A menu: the top one or a MENU BEGIN … MENU END submenu.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Menu {
    /// `MENU TITLE` (or, for a submenu, its MENU BEGIN tag / MENU LABEL).
    pub title: Option<String>,
    /// Entries in display order.
    pub items: Vec<MenuItem>,
}

/// One entry of a [`Menu`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuItem {
    /// A label: index into [`Config::labels`].
    Label(usize),
    /// A submenu.
    Submenu {
        /// Text shown for the submenu entry in the parent menu.
        label: Option<String>,
        /// `MENU DEFAULT` given inside the submenu outside any label: the
        /// submenu is its parent's default entry.
        default: bool,
        /// The submenu itself.
        menu: Menu,
    },
    /// `MENU SEPARATOR`: an empty line.
    Separator,
}

/// One line of the flattened menu, see [`Config::menu_lines`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuLine<'a> {
    /// A selectable label with its 1-based number.
    Entry {
        /// What to type to choose it (besides the label name).
        number: usize,
        /// Submenu nesting depth (0 = top menu).
        depth: usize,
        /// The label.
        label: &'a Label,
    },
    /// Shown but not selectable: MENU DISABLE, MENU GOTO/EXIT/QUIT entries.
    Inactive {
        /// Submenu nesting depth (0 = top menu).
        depth: usize,
        /// The label.
        label: &'a Label,
    },
    /// A submenu heading; its entries follow with `depth + 1`.
    Submenu {
        /// Submenu nesting depth of the heading (0 = in the top menu).
        depth: usize,
        /// The submenu's text.
        title: String,
    },
    /// An empty line.
    Separator {
        /// Submenu nesting depth (0 = top menu).
        depth: usize,
    },
}

/// A problem found in a config file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File, as requested from the server.
    pub path: String,
    /// 1-based line number, 0 when the problem is not tied to a line.
    pub line: usize,
    /// What is wrong.
    pub kind: DiagnosticKind,
}

/// What a [`Diagnostic`] is about. None of them stops parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// A directive pxecfg does not know; the line is ignored.
    UnknownDirective(String),
    /// A `MENU` sub-directive pxecfg does not know; the line is ignored.
    UnknownMenuDirective(String),
    /// A per-label directive (KERNEL, INITRD, MENU HIDE…) outside any LABEL.
    OutsideLabel(String),
    /// A number that does not parse; the value used is given.
    BadNumber {
        /// The directive.
        directive: String,
        /// The text found.
        value: String,
        /// The value used instead (C `atoi` rules: leading digits, else 0).
        used: i64,
    },
    /// LABEL without a name.
    EmptyLabel,
    /// INCLUDE of a file that does not exist on the server; skipped, as syslinux does.
    IncludeNotFound(String),
    /// INCLUDE of a file that could not be fetched; skipped.
    IncludeFailed {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// INCLUDE of a file that is already being included (a cycle); skipped.
    IncludeCycle(String),
    /// INCLUDE nested deeper than [`MAX_INCLUDE_DEPTH`], or more than
    /// [`MAX_INCLUDES`] files in all; skipped.
    IncludeLimit(String),
    /// INCLUDE not followed because the config was parsed without a fetcher.
    IncludeNotFollowed(String),
    /// MENU END without MENU BEGIN.
    UnmatchedMenuEnd,
    /// MENU BEGIN without MENU END at the end of the config.
    UnclosedMenu,
    /// TEXT without ENDTEXT.
    UnterminatedText,
}

impl fmt::Display for DiagnosticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownDirective(d) => write!(f, "unknown directive `{d}`, line ignored"),
            Self::UnknownMenuDirective(d) => {
                write!(f, "unknown directive `MENU {d}`, line ignored")
            }
            Self::OutsideLabel(d) => write!(f, "`{d}` outside a LABEL is ignored"),
            Self::BadNumber {
                directive,
                value,
                used,
            } => {
                write!(f, "{directive}: `{value}` is not a number, using {used}")
            }
            Self::EmptyLabel => write!(f, "LABEL without a name"),
            Self::IncludeNotFound(p) => write!(f, "included file {p} not found, skipped"),
            Self::IncludeFailed { path, reason } => {
                write!(
                    f,
                    "included file {path} could not be fetched ({reason}), skipped"
                )
            }
            Self::IncludeCycle(p) => write!(f, "{p} is already being included (cycle), skipped"),
            Self::IncludeLimit(p) => write!(
                f,
                "{p} not included: more than {MAX_INCLUDE_DEPTH} levels or {MAX_INCLUDES} files"
            ),
            Self::IncludeNotFollowed(p) => write!(f, "INCLUDE {p} not followed (no fetcher)"),
            Self::UnmatchedMenuEnd => write!(f, "MENU END without MENU BEGIN, ignored"),
            Self::UnclosedMenu => write!(f, "MENU BEGIN without MENU END"),
            Self::UnterminatedText => {
                write!(f, "TEXT without ENDTEXT: the rest of the file is text")
            }
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.path, self.line, self.kind)
        } else {
            write!(f, "{}: {}", self.path, self.kind)
        }
    }
}

/// Fetches the files named by INCLUDE.
pub(crate) trait Includer {
    /// `name` as written in the config; returns the path requested and its content.
    fn include(&mut self, name: &str) -> (String, Result<Vec<u8>, FetchError>);
}

/// An [`Includer`] over a [`Fetch`], relative to a base directory.
struct FetchIncluder<'a> {
    base: &'a str,
    fetch: &'a mut dyn Fetch,
}

impl Includer for FetchIncluder<'_> {
    fn include(&mut self, name: &str) -> (String, Result<Vec<u8>, FetchError>) {
        let path = lookup::join_path(self.base, name);
        let data = self.fetch.fetch(&path);
        (path, data)
    }
}

impl Config {
    /// Parse one file. INCLUDE lines are not followed: each gives a
    /// [`DiagnosticKind::IncludeNotFollowed`]. Never fails and never panics.
    pub fn parse(text: &[u8], source: &str) -> Config {
        Parser::new(source, "", None).run(text)
    }

    /// Parse a file and follow its INCLUDEs through `fetch`, relative file
    /// names being joined to `base` (see [`crate::join_path`]).
    pub fn load(text: &[u8], source: &str, base: &str, fetch: &mut dyn Fetch) -> Config {
        let mut includer = FetchIncluder { base, fetch };
        Parser::new(source, base, Some(&mut includer)).run(text)
    }

    /// The label named `name` (exact, case-sensitive, as syslinux compares),
    /// in any menu, hidden or not.
    pub fn find_label(&self, name: &str) -> Option<&Label> {
        self.labels.iter().find(|l| l.name == name)
    }

    /// The menu flattened in display order: submenu headings followed by
    /// their entries (depth + 1), hidden labels left out. Selectable entries
    /// are numbered from 1 in this order; [`Config::choose`] accepts these
    /// numbers.
    pub fn menu_lines(&self) -> Vec<MenuLine<'_>> {
        let mut out = Vec::new();
        let mut number = 0;
        self.flatten(&self.menu, 0, &mut number, &mut out);
        out
    }

    fn flatten<'a>(
        &'a self,
        menu: &'a Menu,
        depth: usize,
        n: &mut usize,
        out: &mut Vec<MenuLine<'a>>,
    ) {
        for item in &menu.items {
            match item {
                MenuItem::Label(i) => {
                    let Some(label) = self.labels.get(*i) else {
                        continue;
                    };
                    if label.hidden {
                        continue;
                    }
                    if label.disabled || label.menu_command {
                        out.push(MenuLine::Inactive { depth, label });
                    } else {
                        *n += 1;
                        out.push(MenuLine::Entry {
                            number: *n,
                            depth,
                            label,
                        });
                    }
                }
                MenuItem::Submenu { label, menu, .. } => {
                    let title = label
                        .clone()
                        .or_else(|| menu.title.clone())
                        .unwrap_or_default()
                        .replace('^', "");
                    out.push(MenuLine::Submenu { depth, title });
                    self.flatten(menu, depth + 1, n, out);
                }
                MenuItem::Separator => out.push(MenuLine::Separator { depth }),
            }
        }
    }

    /// The label with menu number `number` (1-based, see [`Config::menu_lines`]).
    pub fn label_by_number(&self, number: usize) -> Option<&Label> {
        self.menu_lines().into_iter().find_map(|line| match line {
            MenuLine::Entry {
                number: n, label, ..
            } if n == number => Some(label),
            _ => None,
        })
    }
}

/// A label under construction, plus where it goes.
struct Pending {
    label: Label,
}

/// A submenu under construction.
struct OpenMenu {
    menu: Menu,
    label: Option<String>,
    /// The label came from MENU LABEL (else from the MENU BEGIN tag, which
    /// MENU TITLE replaces, as in syslinux `readconfig.c`).
    label_set: bool,
    default: bool,
}

struct Parser<'i> {
    cfg: Config,
    /// The LABEL being read (syslinux `ld`).
    pending: Option<Pending>,
    /// Open menus; the top menu is `cfg.menu` and is not on this stack.
    open: Vec<OpenMenu>,
    /// The global IPAPPEND/SYSAPPEND, copied into each following LABEL.
    sysappend: u32,
    includer: Option<&'i mut dyn Includer>,
    /// Files being included, outermost first (for cycle detection).
    stack: Vec<String>,
}

impl<'i> Parser<'i> {
    fn new(source: &str, base: &str, includer: Option<&'i mut dyn Includer>) -> Self {
        Parser {
            cfg: Config {
                source: source.to_string(),
                base: base.to_string(),
                ..Config::default()
            },
            pending: None,
            open: Vec::new(),
            sysappend: 0,
            includer,
            stack: Vec::new(),
        }
    }

    fn run(mut self, text: &[u8]) -> Config {
        let source = self.cfg.source.clone();
        self.stack.push(source.clone());
        self.file(text, &source);
        self.record();
        if !self.open.is_empty() {
            self.warn(&source, 0, DiagnosticKind::UnclosedMenu);
            while !self.open.is_empty() {
                self.end_menu();
            }
        }
        self.cfg
    }

    fn warn(&mut self, path: &str, line: usize, kind: DiagnosticKind) {
        self.cfg.diagnostics.push(Diagnostic {
            path: path.to_string(),
            line,
            kind,
        });
    }

    fn current_menu(&mut self) -> &mut Menu {
        match self.open.last_mut() {
            Some(open) => &mut open.menu,
            None => &mut self.cfg.menu,
        }
    }

    /// syslinux `record()`: file the pending label into the current menu.
    fn record(&mut self) {
        if let Some(Pending { label }) = self.pending.take() {
            let index = self.cfg.labels.len();
            self.cfg.labels.push(label);
            self.current_menu().items.push(MenuItem::Label(index));
        }
    }

    fn begin_menu(&mut self, tag: &str) {
        self.record();
        let tag = (!tag.is_empty()).then(|| tag.to_string());
        self.open.push(OpenMenu {
            menu: Menu {
                title: tag.clone(),
                items: Vec::new(),
            },
            label: tag,
            label_set: false,
            default: false,
        });
    }

    fn end_menu(&mut self) {
        self.record();
        if let Some(open) = self.open.pop() {
            let item = MenuItem::Submenu {
                label: open.label,
                default: open.default,
                menu: open.menu,
            };
            self.current_menu().items.push(item);
        }
    }

    fn file(&mut self, text: &[u8], path: &str) {
        let mut lines = text.split(|b| *b == b'\n').enumerate();
        while let Some((index, raw)) = lines.next() {
            let lineno = index + 1;
            let line = decode_line(raw);
            let p = skip_space(&line);
            if p.is_empty() || p.starts_with('#') {
                continue;
            }
            if let Some(rest) = looking_at(p, "text") {
                let help = looking_at(skip_space(rest), "help").is_some();
                let mut text = String::new();
                let mut closed = false;
                for (_, raw) in lines.by_ref() {
                    let line = decode_line(raw);
                    if looking_at(skip_space(&line), "endtext").is_some() {
                        closed = true;
                        break;
                    }
                    text.push_str(&line);
                    text.push('\n');
                }
                if !closed {
                    self.warn(path, lineno, DiagnosticKind::UnterminatedText);
                }
                if help {
                    if let Some(pending) = self.pending.as_mut() {
                        pending.label.help = Some(text);
                    }
                }
                continue;
            }
            self.directive(p, path, lineno);
        }
    }

    fn number(&mut self, directive: &str, value: &str, path: &str, line: usize) -> i64 {
        let (n, clean) = atoi(value);
        if !clean {
            let kind = DiagnosticKind::BadNumber {
                directive: directive.to_string(),
                value: value.trim().to_string(),
                used: n,
            };
            self.warn(path, line, kind);
        }
        n
    }

    fn tenths(&mut self, directive: &str, value: &str, path: &str, line: usize) -> u32 {
        let n = self.number(directive, value, path, line);
        u32::try_from(n.max(0)).unwrap_or(u32::MAX)
    }

    fn directive(&mut self, p: &str, path: &str, line: usize) {
        if let Some(rest) = looking_at(p, "menu") {
            self.menu_directive(skip_space(rest), path, line);
            return;
        }
        let (keyword, rest) = split_word(p);
        let arg = skip_space(rest);
        let kw = keyword.to_ascii_lowercase();
        match kw.as_str() {
            "include" => self.include(arg, None, path, line),
            "append" => match self.pending.as_mut() {
                Some(pending) => pending.label.append = Some(arg.to_string()),
                None => self.cfg.append = Some(arg.to_string()),
            },
            "initrd" => match self.pending.as_mut() {
                Some(pending) => pending.label.initrd = Some(arg.to_string()),
                None => self.warn(path, line, DiagnosticKind::OutsideLabel("INITRD".into())),
            },
            "label" => {
                self.record();
                let (name, _) = split_word(arg);
                if name.is_empty() {
                    self.warn(path, line, DiagnosticKind::EmptyLabel);
                }
                self.pending = Some(Pending {
                    label: Label {
                        name: name.to_string(),
                        kernel: name.to_string(),
                        sysappend: self.sysappend,
                        file: path.to_string(),
                        line,
                        ..Label::default()
                    },
                });
            }
            "kernel" | "linux" | "localboot" | "config" | "com32" | "boot" | "bss" | "pxe"
            | "fdimage" | "comboot" => {
                let kind = match kw.as_str() {
                    "kernel" => KernelKind::Kernel,
                    "linux" => KernelKind::Linux,
                    "localboot" => KernelKind::LocalBoot,
                    "config" => KernelKind::Config,
                    "com32" => KernelKind::Com32,
                    _ => KernelKind::PcOnly,
                };
                match self.pending.as_mut() {
                    Some(pending) => {
                        pending.label.kernel = arg.to_string();
                        pending.label.kind = kind;
                    }
                    None => self.warn(
                        path,
                        line,
                        DiagnosticKind::OutsideLabel(keyword.to_ascii_uppercase()),
                    ),
                }
            }
            "timeout" => self.cfg.timeout = self.tenths("TIMEOUT", arg, path, line),
            "totaltimeout" => self.cfg.total_timeout = self.tenths("TOTALTIMEOUT", arg, path, line),
            "ontimeout" => self.cfg.on_timeout = non_empty(arg),
            "onerror" => self.cfg.on_error = non_empty(arg),
            "ipappend" | "sysappend" => {
                let bits = match strtoul(arg) {
                    Some(bits) => bits,
                    None => {
                        let kind = DiagnosticKind::BadNumber {
                            directive: keyword.to_ascii_uppercase(),
                            value: arg.to_string(),
                            used: 0,
                        };
                        self.warn(path, line, kind);
                        0
                    }
                };
                match self.pending.as_mut() {
                    Some(pending) => pending.label.sysappend = bits,
                    None => self.sysappend = bits,
                }
            }
            "default" => self.cfg.default = non_empty(arg),
            "ui" => self.cfg.ui = non_empty(arg),
            "prompt" => self.cfg.prompt = self.number("PROMPT", arg, path, line) != 0,
            "say" => self.cfg.say.push(rest.get(1..).unwrap_or("").to_string()),
            "path" => self
                .cfg
                .path
                .extend(arg.split(':').filter(|s| !s.is_empty()).map(str::to_string)),
            // Accepted and without effect here: console, keyboard and display
            // settings, and switches of the interactive prompt.
            "display" | "font" | "kbdmap" | "implicit" | "console" | "allowoptions"
            | "noescape" | "nocomplete" | "nohalt" | "pxeretry" | "serial" | "sendcookies"
            | "f1" | "f2" | "f3" | "f4" | "f5" | "f6" | "f7" | "f8" | "f9" | "f10" | "f11"
            | "f12" | "f0" => {}
            _ => self.warn(
                path,
                line,
                DiagnosticKind::UnknownDirective(keyword.to_string()),
            ),
        }
    }

    fn menu_directive(&mut self, p: &str, path: &str, line: usize) {
        let (keyword, rest) = split_word(p);
        let arg = skip_space(rest);
        match keyword.to_ascii_lowercase().as_str() {
            "label" => {
                if let Some(pending) = self.pending.as_mut() {
                    pending.label.menu_label = Some(arg.to_string());
                } else if let Some(open) = self.open.last_mut() {
                    open.label = Some(arg.to_string());
                    open.label_set = true;
                    if open.menu.title.is_none() {
                        open.menu.title = Some(arg.replace('^', ""));
                    }
                } else {
                    self.warn(
                        path,
                        line,
                        DiagnosticKind::OutsideLabel("MENU LABEL".into()),
                    );
                }
            }
            "title" => {
                let title = Some(arg.to_string());
                match self.open.last_mut() {
                    Some(open) => {
                        if !open.label_set {
                            open.label.clone_from(&title);
                        }
                        open.menu.title = title;
                    }
                    None => self.cfg.menu.title = title,
                }
            }
            "default" => {
                if let Some(pending) = self.pending.as_mut() {
                    pending.label.menu_default = true;
                } else if let Some(open) = self.open.last_mut() {
                    open.default = true;
                } else {
                    self.warn(
                        path,
                        line,
                        DiagnosticKind::OutsideLabel("MENU DEFAULT".into()),
                    );
                }
            }
            "hide" => match self.pending.as_mut() {
                Some(pending) => pending.label.hidden = true,
                None => self.warn(path, line, DiagnosticKind::OutsideLabel("MENU HIDE".into())),
            },
            "disable" | "disabled" => match self.pending.as_mut() {
                Some(pending) => pending.label.disabled = true,
                None => self.warn(
                    path,
                    line,
                    DiagnosticKind::OutsideLabel("MENU DISABLE".into()),
                ),
            },
            "goto" | "exit" | "quit" => {
                if let Some(pending) = self.pending.as_mut() {
                    pending.label.menu_command = true;
                }
            }
            "separator" => {
                self.record();
                self.current_menu().items.push(MenuItem::Separator);
            }
            "begin" => self.begin_menu(arg),
            "end" => {
                if self.open.is_empty() {
                    self.record();
                    self.warn(path, line, DiagnosticKind::UnmatchedMenuEnd);
                } else {
                    self.end_menu();
                }
            }
            "include" => {
                let (file, tag) = split_word(arg);
                self.include(file, Some(skip_space(tag)), path, line);
            }
            "onerror" => self.cfg.on_error = non_empty(arg),
            // Display and password settings, accepted without effect (syslinux wiki, Menu).
            "passwd" | "master" | "shiftkey" | "save" | "nosave" | "background" | "hidden"
            | "autoboot" | "tabmsg" | "notabmsg" | "passprompt" | "color" | "colour"
            | "msgcolor" | "msgcolour" | "indent" | "start" | "width" | "margin"
            | "passwordmargin" | "rows" | "tabmsgrow" | "cmdlinerow" | "endrow" | "passwordrow"
            | "timeoutrow" | "helpmsgrow" | "helpmsgendrow" | "hshift" | "vshift" | "hiddenrow"
            | "resolution" | "immediate" | "clear" | "font" => {}
            _ => self.warn(
                path,
                line,
                DiagnosticKind::UnknownMenuDirective(keyword.to_string()),
            ),
        }
    }

    /// INCLUDE file, or MENU INCLUDE file [tag] (`tag` is `Some`).
    fn include(&mut self, arg: &str, tag: Option<&str>, path: &str, line: usize) {
        let (name, _) = split_word(arg);
        if name.is_empty() {
            return;
        }
        let Some(includer) = self.includer.as_deref_mut() else {
            self.warn(
                path,
                line,
                DiagnosticKind::IncludeNotFollowed(name.to_string()),
            );
            return;
        };
        if self.stack.len() > MAX_INCLUDE_DEPTH || self.cfg.includes.len() >= MAX_INCLUDES {
            self.warn(path, line, DiagnosticKind::IncludeLimit(name.to_string()));
            return;
        }
        let (target, data) = includer.include(name);
        if self.stack.contains(&target) {
            self.warn(path, line, DiagnosticKind::IncludeCycle(target));
            return;
        }
        let data = match data {
            Ok(data) => data,
            Err(FetchError::NotFound) => {
                self.warn(path, line, DiagnosticKind::IncludeNotFound(target));
                return;
            }
            Err(FetchError::Other(reason)) => {
                self.warn(
                    path,
                    line,
                    DiagnosticKind::IncludeFailed {
                        path: target,
                        reason,
                    },
                );
                return;
            }
        };
        self.cfg.includes.push(target.clone());
        let tag = tag.filter(|t| !t.is_empty());
        if let Some(tag) = tag {
            self.begin_menu(tag);
        }
        self.stack.push(target.clone());
        self.file(&data, &target);
        self.stack.pop();
        if tag.is_some() {
            self.end_menu();
        }
    }
}

/// Bytes of one line → text: cut at the first CR (as syslinux does), invalid
/// UTF-8 replaced.
fn decode_line(raw: &[u8]) -> String {
    let end = raw.iter().position(|b| *b == b'\r').unwrap_or(raw.len());
    String::from_utf8_lossy(raw.get(..end).unwrap_or(raw)).into_owned()
}

/// syslinux `my_isspace`: any control character or space.
fn is_space(c: char) -> bool {
    c <= ' '
}

pub(crate) fn skip_space(s: &str) -> &str {
    s.trim_start_matches(is_space)
}

/// The first word and the rest (which starts with white space or is empty).
pub(crate) fn split_word(s: &str) -> (&str, &str) {
    let s = skip_space(s);
    match s.find(is_space) {
        Some(i) => (s.get(..i).unwrap_or(s), s.get(i..).unwrap_or("")),
        None => (s, ""),
    }
}

/// syslinux `looking_at`: `line` starts with `keyword` (any case), followed by
/// white space or the end. Returns the rest.
fn looking_at<'a>(line: &'a str, keyword: &str) -> Option<&'a str> {
    let head = line.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = line.get(keyword.len()..)?;
    match rest.chars().next() {
        None => Some(rest),
        Some(c) if is_space(c) => Some(rest),
        Some(_) => None,
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim_end_matches(is_space);
    (!s.is_empty()).then(|| s.to_string())
}

/// C `atoi`: optional sign and leading digits, else 0. The flag says whether
/// the whole (trimmed) text was a number.
pub(crate) fn atoi(s: &str) -> (i64, bool) {
    let s = s.trim_matches(is_space);
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let len = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let value = digits
        .get(..len)
        .unwrap_or("")
        .bytes()
        .fold(0i64, |acc, d| {
            acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    let value = if negative { -value } else { value };
    (value, len > 0 && len == digits.len())
}

/// C `strtoul(s, NULL, 0)` for the first word: `0x` hex, leading `0` octal,
/// else decimal. `None` when it is not a number at all.
fn strtoul(s: &str) -> Option<u32> {
    let (word, _) = split_word(s);
    let (digits, radix) =
        if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
            (hex, 16)
        } else if word.len() > 1 && word.starts_with('0') {
            (word.get(1..).unwrap_or(""), 8)
        } else {
            (word, 10)
        };
    u32::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod test {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::parse(text.as_bytes(), "test.cfg")
    }

    fn kinds(cfg: &Config) -> Vec<&DiagnosticKind> {
        cfg.diagnostics.iter().map(|d| &d.kind).collect()
    }

    #[test]
    fn keywords_any_case_tabs_crlf_comments() {
        let cfg = parse("# comment\r\n\tdEfAuLt\tlinux\r\n  LaBeL linux\r\n\tKERNEL\tvmlinuz\r\n\tappend  root=/dev/dasda1 \r\n");
        assert_eq!(cfg.default.as_deref(), Some("linux"));
        let label = &cfg.labels[0];
        assert_eq!(label.name, "linux");
        assert_eq!(label.kernel, "vmlinuz");
        assert_eq!(label.append.as_deref(), Some("root=/dev/dasda1 "));
        assert!(cfg.diagnostics.is_empty(), "{:?}", cfg.diagnostics);
    }

    #[test]
    fn keyword_needs_white_space_after_it() {
        let cfg = parse("defaultlinux\nlabelx\n");
        assert_eq!(cfg.default, None);
        assert!(cfg.labels.is_empty());
        assert_eq!(
            kinds(&cfg),
            [
                &DiagnosticKind::UnknownDirective("defaultlinux".into()),
                &DiagnosticKind::UnknownDirective("labelx".into())
            ]
        );
    }

    #[test]
    fn label_without_kernel_boots_its_name() {
        let cfg = parse("label vmlinuz extra words\n");
        assert_eq!(cfg.labels[0].name, "vmlinuz");
        assert_eq!(cfg.labels[0].kernel, "vmlinuz");
    }

    #[test]
    fn kernel_types() {
        let cfg = parse(
            "label a\nlinux l\nlabel b\nlocalboot -1\nlabel c\nconfig other.cfg /dir/\nlabel d\ncom32 chain.c32\nlabel e\nfdimage x.img\nlabel f\nkernel k\n",
        );
        let got: Vec<(KernelKind, &str)> = cfg
            .labels
            .iter()
            .map(|l| (l.kind, l.kernel.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (KernelKind::Linux, "l"),
                (KernelKind::LocalBoot, "-1"),
                (KernelKind::Config, "other.cfg /dir/"),
                (KernelKind::Com32, "chain.c32"),
                (KernelKind::PcOnly, "x.img"),
                (KernelKind::Kernel, "k"),
            ]
        );
    }

    #[test]
    fn append_global_and_per_label() {
        let cfg = parse("append quiet\nlabel a\nappend -\nlabel b\n");
        assert_eq!(cfg.append.as_deref(), Some("quiet"));
        assert_eq!(cfg.labels[0].append.as_deref(), Some("-"));
        assert_eq!(cfg.labels[1].append, None);
    }

    #[test]
    fn initrd_and_kernel_outside_label_warn() {
        let cfg = parse("initrd x\nkernel y\nlabel a\ninitrd one,two\n");
        assert_eq!(cfg.labels[0].initrd.as_deref(), Some("one,two"));
        assert_eq!(
            kinds(&cfg),
            [
                &DiagnosticKind::OutsideLabel("INITRD".into()),
                &DiagnosticKind::OutsideLabel("KERNEL".into())
            ]
        );
        assert_eq!(cfg.diagnostics[0].line, 1);
        assert_eq!(
            cfg.diagnostics[0].to_string(),
            "test.cfg:1: `INITRD` outside a LABEL is ignored"
        );
    }

    #[test]
    fn ipappend_global_is_copied_at_label_time() {
        let cfg =
            parse("label a\nipappend 2\nlabel b\nsysappend 0x5\nlabel c\nlabel d\nipappend 010\n");
        let bits: Vec<u32> = cfg.labels.iter().map(|l| l.sysappend).collect();
        assert_eq!(bits, [2, 5, 0, 8]);
        let cfg = parse("ipappend 3\nlabel a\nlabel b\nipappend 0\n");
        let bits: Vec<u32> = cfg.labels.iter().map(|l| l.sysappend).collect();
        assert_eq!(bits, [3, 0]);
    }

    #[test]
    fn timeouts_prompt_say_path_ui_ontimeout() {
        let cfg = parse("prompt 1\ntimeout 50\ntotaltimeout 9000\nontimeout local\nonerror retry\nsay  Hello  world\nsay\nui vesamenu.c32\npath /a:/b::c\n");
        assert!(cfg.prompt);
        assert_eq!(cfg.timeout, 50);
        assert_eq!(cfg.total_timeout, 9000);
        assert_eq!(cfg.on_timeout.as_deref(), Some("local"));
        assert_eq!(cfg.on_error.as_deref(), Some("retry"));
        assert_eq!(cfg.say, [" Hello  world", ""]);
        assert_eq!(cfg.ui.as_deref(), Some("vesamenu.c32"));
        assert_eq!(cfg.path, ["/a", "/b", "c"]);
        assert!(cfg.diagnostics.is_empty());
    }

    #[test]
    fn bad_numbers_follow_atoi() {
        let cfg = parse("timeout 30s\nprompt yes\ntimeout -5\n");
        assert_eq!(cfg.timeout, 0);
        assert!(!cfg.prompt);
        assert_eq!(
            kinds(&cfg)[0],
            &DiagnosticKind::BadNumber {
                directive: "TIMEOUT".into(),
                value: "30s".into(),
                used: 30
            }
        );
        assert_eq!(parse("timeout 30s\n").timeout, 30);
    }

    #[test]
    fn text_help_is_skipped() {
        let cfg = parse("label a\ntext help\n  kernel evil\n  label evil\nendtext\nkernel good\n");
        assert_eq!(cfg.labels.len(), 1);
        assert_eq!(cfg.labels[0].kernel, "good");
        assert_eq!(
            cfg.labels[0].help.as_deref(),
            Some("  kernel evil\n  label evil\n")
        );
        let cfg = parse("text\nlabel a\n");
        assert!(cfg.labels.is_empty());
        assert_eq!(kinds(&cfg), [&DiagnosticKind::UnterminatedText]);
    }

    #[test]
    fn menu_tree() {
        let cfg = parse(
            "menu title Boot menu\nlabel a\nmenu label ^Install\nmenu default\nmenu separator\nmenu begin adv\nmenu title Advanced\nlabel b\nmenu hide\nlabel c\nmenu disable\nlabel d\nmenu end\nlabel e\n",
        );
        assert_eq!(cfg.menu.title.as_deref(), Some("Boot menu"));
        assert_eq!(
            cfg.menu.items,
            [
                MenuItem::Label(0),
                MenuItem::Separator,
                MenuItem::Submenu {
                    label: Some("Advanced".into()),
                    default: false,
                    menu: Menu {
                        title: Some("Advanced".into()),
                        items: vec![MenuItem::Label(1), MenuItem::Label(2), MenuItem::Label(3)]
                    }
                },
                MenuItem::Label(4),
            ]
        );
        assert!(cfg.labels[0].menu_default);
        assert_eq!(cfg.labels[0].display(), "Install");
        assert!(cfg.labels[1].hidden);
        assert!(cfg.labels[2].disabled);
        let lines = cfg.menu_lines();
        let numbers: Vec<(usize, &str)> = lines
            .iter()
            .filter_map(|l| match l {
                MenuLine::Entry { number, label, .. } => Some((*number, label.name.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(numbers, [(1, "a"), (2, "d"), (3, "e")]);
        assert_eq!(cfg.label_by_number(2).map(|l| l.name.as_str()), Some("d"));
        assert_eq!(cfg.label_by_number(4), None);
    }

    #[test]
    fn submenu_label_and_default() {
        let cfg = parse("menu begin\nmenu label ^Rescue\nmenu default\nlabel r\nmenu end\n");
        match &cfg.menu.items[0] {
            MenuItem::Submenu {
                label,
                default,
                menu,
            } => {
                assert_eq!(label.as_deref(), Some("^Rescue"));
                assert!(*default);
                assert_eq!(menu.title.as_deref(), Some("Rescue"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unbalanced_menus() {
        let cfg = parse("menu end\nmenu begin x\nlabel a\n");
        assert_eq!(
            kinds(&cfg),
            [
                &DiagnosticKind::UnmatchedMenuEnd,
                &DiagnosticKind::UnclosedMenu
            ]
        );
        assert!(matches!(cfg.menu.items[0], MenuItem::Submenu { .. }));
        assert_eq!(cfg.labels.len(), 1);
    }

    #[test]
    fn unknown_directives_warn_with_line() {
        let cfg = parse("label a\nfrobnicate 1\nmenu sparkle\n");
        assert_eq!(
            cfg.diagnostics[0].to_string(),
            "test.cfg:2: unknown directive `frobnicate`, line ignored"
        );
        assert_eq!(
            cfg.diagnostics[1].kind,
            DiagnosticKind::UnknownMenuDirective("sparkle".into())
        );
        assert_eq!(cfg.labels.len(), 1);
    }

    #[test]
    fn include_without_fetcher_is_reported() {
        let cfg = parse("include pxelinux.cfg/common.cfg\n");
        assert_eq!(
            kinds(&cfg),
            [&DiagnosticKind::IncludeNotFollowed(
                "pxelinux.cfg/common.cfg".into()
            )]
        );
    }

    #[test]
    fn number_helpers() {
        assert_eq!(atoi(" 42 "), (42, true));
        assert_eq!(atoi("-1"), (-1, true));
        assert_eq!(atoi("12ab"), (12, false));
        assert_eq!(atoi(""), (0, false));
        assert_eq!(atoi("99999999999999999999999"), (i64::MAX, true));
        assert_eq!(strtoul("0x10"), Some(16));
        assert_eq!(strtoul("010"), Some(8));
        assert_eq!(strtoul("7 junk"), Some(7));
        assert_eq!(strtoul("junk"), None);
    }

    #[test]
    fn invalid_utf8_and_nul_do_not_panic() {
        let cfg = Config::parse(b"label \xff\xfe\nkernel \0x\nappend \xc3\n", "bin");
        assert_eq!(cfg.labels.len(), 1);
    }
}

//! s390x boot descriptions: `.ins` files and parm files.
//!
//! An `.ins` file (the LPAR/HMC "load from removable media" list, also
//! read by z/VM tools) names the files of a boot and where each is
//! loaded: the kernel at 0, the parm file at 0x10480, the initrd
//! somewhere above the kernel; `initrd.addrsize` (Fedora) or
//! `initrd.off`/`initrd.siz` (Ubuntu, SUSE) fill the initrd's start and
//! size fields of the parm area (8 bytes each at 0x10408 and 0x10410;
//! the `.off`/`.siz` files are their low 4 bytes at 0x1040c and 0x10414).
//! A parm file is the kernel command line in 80-column lines, which are
//! joined without adding spaces.

use std::fmt;

/// Load address of the kernel.
pub const KERNEL_ADDR: u64 = 0;
/// Load address of the parm file (the command line in the parm area).
pub const PARM_ADDR: u64 = 0x10480;
/// The parm area fields an `.ins` file may fill with the initrd's start
/// and size: 8-byte start at 0x10408, 8-byte size at 0x10410, and the
/// low halves at 0x1040c and 0x10414.
pub const INITRD_FIELDS: [u64; 4] = [0x10408, 0x1040c, 0x10410, 0x10414];

/// One `FILE ADDRESS` line of an `.ins` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsLine {
    /// The file, relative to the `.ins` file's directory.
    pub file: String,
    /// The load address.
    pub addr: u64,
}

/// Why an `.ins` file does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsError {
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub kind: InsErrorKind,
}

/// What is wrong with an `.ins` file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsErrorKind {
    /// Not text.
    NotText,
    /// An address that is not C notation (`0x..`, `0..` octal, decimal).
    BadAddress(String),
    /// Words after the address.
    Trailing,
    /// No file loads at 0 (no kernel).
    NoKernel,
    /// A file name leaving the directory.
    UnsafePath(String),
}

impl fmt::Display for InsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        match &self.kind {
            InsErrorKind::NotText => write!(f, "not text"),
            InsErrorKind::BadAddress(a) => write!(f, "bad load address {a:?}"),
            InsErrorKind::Trailing => write!(f, "more than FILE ADDRESS on the line"),
            InsErrorKind::NoKernel => write!(f, "no file loads at address 0 (the kernel)"),
            InsErrorKind::UnsafePath(p) => write!(f, "file {p:?} leaves the tree"),
        }
    }
}

impl std::error::Error for InsError {}

/// A number in C notation: `0x` hex, a leading `0` octal, else decimal.
pub fn parse_c_number(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// Parse the lines of an `.ins` file: `*` or `#` starts a comment, blank
/// lines are skipped, a missing address means 0.
pub fn parse_ins(bytes: &[u8]) -> Result<Vec<InsLine>, InsError> {
    let text = std::str::from_utf8(bytes).map_err(|_| InsError {
        line: 0,
        kind: InsErrorKind::NotText,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let e = |kind| InsError { line: i + 1, kind };
        let line = line.trim();
        if line.is_empty() || line.starts_with('*') || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let file = words.next().unwrap_or_default();
        let addr = match words.next() {
            None => 0,
            Some(a) => parse_c_number(a).ok_or_else(|| e(InsErrorKind::BadAddress(a.into())))?,
        };
        if words.next().is_some() {
            return Err(e(InsErrorKind::Trailing));
        }
        if !crate::treeinfo::is_safe_path(file) {
            return Err(e(InsErrorKind::UnsafePath(file.into())));
        }
        out.push(InsLine {
            file: file.to_string(),
            addr,
        });
    }
    Ok(out)
}

/// What an `.ins` file boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsBoot {
    /// The file at 0.
    pub kernel: String,
    /// Files at other addresses, by address (the initrd).
    pub initrds: Vec<String>,
    /// The file at [`PARM_ADDR`].
    pub parm: Option<String>,
}

/// Classify the lines of an `.ins` file: the kernel at 0, the parm file
/// at [`PARM_ADDR`], the parm area fields ([`INITRD_FIELDS`]) skipped
/// (pxeinit's kexec fills them), every other file an initrd.
pub fn ins_boot(lines: &[InsLine]) -> Result<InsBoot, InsError> {
    let kernel = lines
        .iter()
        .find(|l| l.addr == KERNEL_ADDR)
        .ok_or(InsError {
            line: 0,
            kind: InsErrorKind::NoKernel,
        })?;
    let parm = lines.iter().find(|l| l.addr == PARM_ADDR);
    let mut rest: Vec<&InsLine> = lines
        .iter()
        .filter(|l| !matches!(l.addr, KERNEL_ADDR | PARM_ADDR) && !INITRD_FIELDS.contains(&l.addr))
        .collect();
    rest.sort_by_key(|l| l.addr);
    Ok(InsBoot {
        kernel: kernel.file.clone(),
        initrds: rest.iter().map(|l| l.file.clone()).collect(),
        parm: parm.map(|l| l.file.clone()),
    })
}

/// The kernel command line of a parm file: lines joined without adding
/// spaces (each line is an 80-column record; a word that continues on the
/// next line is split, and words are separated by the blanks the lines
/// carry), CRs and NULs dropped, runs of blanks outside double quotes
/// made one space, the ends trimmed.
pub fn parm_cmdline(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let joined: String = text
        .split('\n')
        .flat_map(|l| l.chars())
        .filter(|c| !matches!(c, '\r' | '\0'))
        .collect();
    let mut out = String::with_capacity(joined.len());
    let mut quoted = false;
    let mut blank = false;
    for c in joined.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && c.is_whitespace() {
            blank = true;
            continue;
        }
        if blank && !out.is_empty() {
            out.push(' ');
        }
        blank = false;
        out.push(c);
    }
    // Blanks after an unclosed quote.
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod test {
    use super::*;

    /// Fedora's `generic.ins` (lorax `s390.tmpl`), Ubuntu's `ubuntu.ins`
    /// and SUSE's `suse.ins`.
    #[test]
    fn ins_files_as_published() {
        let fedora = b"* minimal lpar ins file\nimages/kernel.img 0x00000000\nimages/initrd.img 0x02000000\nimages/genericdvd.prm 0x00010480\nimages/initrd.addrsize 0x00010408\n";
        let b = ins_boot(&parse_ins(fedora).unwrap()).unwrap();
        assert_eq!(b.kernel, "images/kernel.img");
        assert_eq!(b.initrds, ["images/initrd.img"]);
        assert_eq!(b.parm.as_deref(), Some("images/genericdvd.prm"));
        let ubuntu = b"* Ubuntu for IBM Z (default kernel)\nboot/kernel.ubuntu 0x00000000\nboot/initrd.off 0x0001040c\nboot/initrd.siz 0x00010414\nboot/parmfile.ubuntu 0x00010480\nboot/initrd.ubuntu 0x01000000\n";
        let b = ins_boot(&parse_ins(ubuntu).unwrap()).unwrap();
        assert_eq!(
            (b.kernel.as_str(), b.initrds.as_slice(), b.parm.as_deref()),
            (
                "boot/kernel.ubuntu",
                &["boot/initrd.ubuntu".to_string()][..],
                Some("boot/parmfile.ubuntu")
            )
        );
        let suse = b"* SUSE Linux for IBM z Systems Installation/Rescue System\r\nlinux 0x00000000\r\ninitrd.off 0x0001040c\r\ninitrd.siz 0x00010414\r\ninitrd 0x01000000\r\nparmfile 0x00010480\r\n";
        let b = ins_boot(&parse_ins(suse).unwrap()).unwrap();
        assert_eq!(b.kernel, "linux");
        assert_eq!(b.initrds, ["initrd"]);
        assert_eq!(b.parm.as_deref(), Some("parmfile"));
    }

    #[test]
    fn ins_addresses_and_errors() {
        assert_eq!(parse_c_number("0x10480"), Some(0x10480));
        assert_eq!(parse_c_number("0100"), Some(64));
        assert_eq!(parse_c_number("0"), Some(0));
        assert_eq!(parse_c_number("17"), Some(17));
        assert_eq!(parse_c_number("0x"), None);
        let l = parse_ins(b"# c\nkernel\n").unwrap();
        assert_eq!(l[0].addr, 0);
        let e = parse_ins(b"k 0xzz\n").unwrap_err();
        assert_eq!(
            (e.line, e.kind),
            (1, InsErrorKind::BadAddress("0xzz".into()))
        );
        assert_eq!(
            parse_ins(b"k 0 x\n").unwrap_err().kind,
            InsErrorKind::Trailing
        );
        assert_eq!(
            parse_ins(b"../k 0\n").unwrap_err().kind,
            InsErrorKind::UnsafePath("../k".into())
        );
        assert_eq!(
            ins_boot(&parse_ins(b"i 0x1000000\n").unwrap())
                .unwrap_err()
                .kind,
            InsErrorKind::NoKernel
        );
    }

    /// Fedora's `generic.prm`, Debian's `parmfile.debian`, and a command
    /// line continued over 80-column records.
    #[test]
    fn parm_files() {
        assert_eq!(
            parm_cmdline(b"ro ramdisk_size=40000 cio_ignore=all,!condev\n"),
            "ro ramdisk_size=40000 cio_ignore=all,!condev"
        );
        assert_eq!(parm_cmdline(b" --- quiet\n"), "--- quiet");
        let long = format!(
            "{:<80}{}\n",
            "ro inst.repo=http://example.com/fedora/s390x/os", "inst.text"
        );
        assert_eq!(
            parm_cmdline(long.as_bytes()),
            "ro inst.repo=http://example.com/fedora/s390x/os inst.text"
        );
        // A word split over two records is one word.
        assert_eq!(parm_cmdline(b"cio_ign\nore=all\n"), "cio_ignore=all");
        assert_eq!(parm_cmdline(b"a=\"x  y\"   b\r\n"), "a=\"x  y\" b");
        assert_eq!(parm_cmdline(b""), "");
    }
}

//! xenpvnetboot's own rules: its default search list and its output
//! formats (xen-project/xen `tools/misc/xenpvnetboot`, removed in 4.18).

use std::fmt;

/// The default (kernel, ramdisk) paths under the location, tried when
/// `--kernel`/`--ramdisk` are not given: kernel and ramdisk are searched
/// separately, the first that can be fetched wins; no kernel is fatal,
/// no ramdisk is not.
pub const XEN_PATHS: [(&str, &str); 6] = [
    // Fedora <= 10 and OL = 5
    ("images/xen/vmlinuz", "images/xen/initrd.img"),
    // openSUSE >= 10.2 and SLES >= 10
    ("boot/i386/vmlinuz-xen", "boot/i386/initrd-xen"),
    ("boot/x86_64/vmlinuz-xen", "boot/x86_64/initrd-xen"),
    // Debian
    (
        "current/images/netboot/xen/vmlinuz",
        "current/images/netboot/xen/initrd.gz",
    ),
    // Fedora >= 10 and OL >= 6
    ("images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"),
    ("isolinux/vmlinuz", "isolinux/initrd.img"),
];

/// `--output-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `linux (kernel K)(ramdisk R)(args "A")`, no line end (the default).
    Sxp,
    /// `kernel K\n`, `ramdisk R\n`, `args A\n`, then `\n`.
    Simple,
    /// As `Simple` with NUL for the line ends: what libxl asks for.
    Simple0,
}

/// An `--output-format` xenpvnetboot does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unknown output format: {}", self.0)
    }
}

impl std::error::Error for UnknownFormat {}

impl Format {
    /// `sxp`, `simple` or `simple0` (exactly, as xenpvnetboot compares).
    pub fn parse(s: &str) -> Result<Format, UnknownFormat> {
        match s {
            "sxp" => Ok(Format::Sxp),
            "simple" => Ok(Format::Simple),
            "simple0" => Ok(Format::Simple0),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }

    /// The result xenpvnetboot writes, byte for byte: no escaping; an
    /// empty ramdisk or args is left out.
    pub fn render(self, kernel: &str, ramdisk: Option<&str>, args: Option<&str>) -> Vec<u8> {
        let ramdisk = ramdisk.filter(|r| !r.is_empty());
        let args = args.filter(|a| !a.is_empty());
        let mut s = String::new();
        match self {
            Format::Sxp => {
                s.push_str(&format!("linux (kernel {kernel})"));
                if let Some(r) = ramdisk {
                    s.push_str(&format!("(ramdisk {r})"));
                }
                if let Some(a) = args {
                    s.push_str(&format!("(args \"{a}\")"));
                }
            }
            Format::Simple | Format::Simple0 => {
                let sep = if self == Format::Simple { '\n' } else { '\0' };
                s.push_str(&format!("kernel {kernel}{sep}"));
                if let Some(r) = ramdisk {
                    s.push_str(&format!("ramdisk {r}{sep}"));
                }
                if let Some(a) = args {
                    s.push_str(&format!("args {a}{sep}"));
                }
                s.push(sep);
            }
        }
        s.into_bytes()
    }
}

/// The name xenpvnetboot gives a fetched file: `xenpvboot.BASENAME.SUFFIX`
/// (`BASENAME` of the file as asked for; `SUFFIX` six distinct ASCII
/// letters, `random.sample(string.ascii_letters, 6)`, drawn by the
/// caller from `pick`, which returns a number below its argument).
pub fn output_name(file: &str, pick: &mut dyn FnMut(usize) -> usize) -> String {
    let mut letters: Vec<u8> = (b'a'..=b'z').chain(b'A'..=b'Z').collect();
    let mut suffix = String::new();
    for _ in 0..6 {
        let i = pick(letters.len()) % letters.len();
        suffix.push(letters.remove(i) as char);
    }
    format!("xenpvboot.{}.{suffix}", crate::basename(file))
}

#[cfg(test)]
mod test {
    use super::*;

    /// Byte for byte what `format_sxp` and `format_simple` produce.
    #[test]
    fn formats() {
        let k = "/var/run/libxl/xenpvboot.vmlinuz.AbCdEf";
        let r = "/var/run/libxl/xenpvboot.initrd.img.GhIjKl";
        assert_eq!(
            Format::Sxp.render(k, Some(r), Some("console=hvc0 a=\"b\"")),
            format!("linux (kernel {k})(ramdisk {r})(args \"console=hvc0 a=\"b\"\")").into_bytes()
        );
        assert_eq!(
            Format::Sxp.render(k, None, None),
            format!("linux (kernel {k})").into_bytes()
        );
        assert_eq!(
            Format::Simple.render(k, Some(r), Some("x")),
            format!("kernel {k}\nramdisk {r}\nargs x\n\n").into_bytes()
        );
        assert_eq!(
            Format::Simple0.render(k, None, Some("")),
            format!("kernel {k}\0\0").into_bytes()
        );
        assert_eq!(Format::parse("simple0"), Ok(Format::Simple0));
        assert_eq!(
            Format::parse("SXP").unwrap_err().to_string(),
            "Unknown output format: SXP"
        );
    }

    #[test]
    fn output_names() {
        let mut n = 0;
        let name = output_name("images/pxeboot/vmlinuz", &mut |_| {
            n += 1;
            0
        });
        assert_eq!(name, "xenpvboot.vmlinuz.abcdef");
        assert_eq!(n, 6);
        let name = output_name("http://h/x/initrd.img", &mut |len| len - 1);
        assert_eq!(name, "xenpvboot.initrd.img.ZYXWVU");
    }
}

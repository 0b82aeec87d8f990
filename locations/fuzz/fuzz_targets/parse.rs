//! Fuzz everything of `locations` that reads untrusted text: the location
//! grammar (and its Display, which must parse back to the same location),
//! treeinfo, `.ins` and parm files, and tree detection over a tree whose
//! every file holds the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use locations::{detect, s390, DetectOptions, FileError, Files, Location, Treeinfo};

struct Same<'a>(&'a [u8]);

impl Files for Same<'_> {
    fn read(&mut self, _path: &str, max: u64) -> Result<Vec<u8>, FileError> {
        match self.0.len() as u64 > max {
            true => Err(FileError::Other("too large".into())),
            false => Ok(self.0.to_vec()),
        }
    }
    fn exists(&mut self, path: &str) -> Result<bool, FileError> {
        // Some files are there, some are not, depending on the input.
        Ok(!self.0.is_empty() && (path.len() + self.0[0] as usize) % 3 != 0)
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(l) = Location::parse(s) {
            let shown = l.to_string();
            if !shown.contains("***") {
                let again = Location::parse(&shown).unwrap_or_else(|e| {
                    panic!("{s:?} shows as {shown:?}, which does not parse: {e}")
                });
                assert_eq!(again.to_string(), shown, "{s:?}");
            }
            let _ = l.is_image_file();
            let _ = l.clone().into_root();
            for f in [locations::Family::RedHat, locations::Family::Suse] {
                let _ = f.installer_arg(&l);
            }
        }
        let mut mid = s.len() / 2;
        while !s.is_char_boundary(mid) {
            mid -= 1;
        }
        let (a, b) = s.split_at(mid);
        let j = locations::join(a, b);
        assert!(j.ends_with(b));
        let _ = locations::basename(&j);
        let _ = locations::xen::Format::parse(s);
    }
    let _ = Treeinfo::parse(data);
    if let Ok(lines) = s390::parse_ins(data) {
        let _ = s390::ins_boot(&lines);
    }
    let c = s390::parm_cmdline(data);
    assert!(!c.starts_with(' ') && !c.ends_with(' '));
    if let Ok(t) = detect(&mut Same(data), &DetectOptions::default()) {
        assert!(!t.kernel.is_empty());
    }
});

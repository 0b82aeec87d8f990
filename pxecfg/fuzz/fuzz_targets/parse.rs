//! Fuzz the config parser and everything that reads its result: the menu,
//! the unattended choice, typed choices and the whole resolver (every path
//! answers the same bytes, up to 24 fetches, so that includes and CONFIG hops
//! are followed without multiplying the cost of one input by a thousand).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pxecfg::{resolve, ClientInfo, Config, Fetch, FetchError, ResolveOptions};

struct Same<'a>(&'a [u8], usize);

impl Fetch for Same<'_> {
    fn fetch(&mut self, _path: &str) -> Result<Vec<u8>, FetchError> {
        if self.1 >= 24 {
            return Err(FetchError::NotFound);
        }
        self.1 += 1;
        Ok(self.0.to_vec())
    }
}

fuzz_target!(|data: &[u8]| {
    let info = ClientInfo {
        mac: Some([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
        ip: Some([10, 0, 2, 15].into()),
        uuid: Some("b8945908-d6a6-41a9-611d-74a6ab80b83d".into()),
        bootfile: Some("s390x/pxelinux.0".into()),
        ..ClientInfo::default()
    };
    let cfg = Config::parse(data, "fuzz");
    assert_eq!(
        cfg,
        Config::parse(data, "fuzz"),
        "parse is not deterministic"
    );
    let _ = cfg.menu_lines();
    if let Some(cmd) = cfg.unattended() {
        let _ = cfg.choose(&cmd, &info);
    }
    let _ = cfg.choose("1", &info);
    // The first line doubles as a typed label.
    let first = data.split(|b| *b == b'\n').next().unwrap_or_default();
    let label = String::from_utf8_lossy(first).into_owned();
    let _ = cfg.choose(&label, &info);
    let _ = resolve(&info, &mut Same(data, 0), &ResolveOptions::default());
    let _ = resolve(
        &info,
        &mut Same(data, 0),
        &ResolveOptions { label: Some(label) },
    );
});

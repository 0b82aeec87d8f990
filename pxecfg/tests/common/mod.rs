//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pxecfg::{ClientInfo, Fetch, FetchError};

/// `tests/testdata`.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("testdata")
}

/// A TFTP root on disk, as the CLI reads it.
pub struct DirFetch(pub PathBuf);

impl Fetch for DirFetch {
    fn fetch(&mut self, path: &str) -> Result<Vec<u8>, FetchError> {
        if pxecfg::is_url(path) || path.split('/').any(|c| c == "..") {
            return Err(FetchError::Other(format!("{path}: not in the test tree")));
        }
        let file = self.0.join(path.trim_start_matches('/'));
        if !file.is_file() {
            return Err(FetchError::NotFound);
        }
        std::fs::read(&file).map_err(|e| FetchError::Other(e.to_string()))
    }
}

/// A test case's `<case>.client` file: `key value` lines with the keys of
/// the CLI flags (`bootfile`, `mac`, `ip`, `uuid`, `config-file`,
/// `path-prefix`, `server`, `gateway`, `netmask`, `label`), plus `root DIR`
/// to use another case's tree.
pub struct Case {
    pub root: PathBuf,
    pub info: ClientInfo,
    pub label: Option<String>,
    /// The same as CLI arguments (without `--root`).
    pub args: Vec<String>,
}

pub fn load_case(case: &str) -> Case {
    let client = testdata().join(format!("{case}.client"));
    let text =
        std::fs::read_to_string(&client).unwrap_or_else(|e| panic!("{}: {e}", client.display()));
    let mut root = testdata().join(case);
    let mut info = ClientInfo::default();
    let mut label = None;
    let mut args = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("{case}.client: bad line {line:?}"));
        let value = value.trim().to_string();
        let ip = |v: &str| {
            Some(
                v.parse()
                    .unwrap_or_else(|_| panic!("{case}.client: bad address {v}")),
            )
        };
        match key {
            "root" => {
                root = testdata().join(&value);
                continue;
            }
            "bootfile" => info.bootfile = Some(value.clone()),
            "mac" => {
                let bytes: Vec<u8> = value
                    .split(':')
                    .map(|b| u8::from_str_radix(b, 16).unwrap())
                    .collect();
                info.mac = Some(bytes.try_into().unwrap());
            }
            "ip" => info.ip = ip(&value),
            "uuid" => info.uuid = Some(value.clone()),
            "config-file" => info.config_file = Some(value.clone()),
            "path-prefix" => info.path_prefix = Some(value.clone()),
            "server" => info.server = ip(&value),
            "gateway" => info.gateway = ip(&value),
            "netmask" => info.netmask = ip(&value),
            "label" => label = Some(value.clone()),
            other => panic!("{case}.client: unknown key {other}"),
        }
        args.push(format!("--{key}"));
        args.push(value);
    }
    Case {
        root,
        info,
        label,
        args,
    }
}

/// Compare `got` with the golden file, or write it when `PXECFG_BLESS=1`.
pub fn golden(path: &Path, got: &str) {
    if std::env::var_os("PXECFG_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with PXECFG_BLESS=1 to create it)",
            path.display()
        )
    });
    if want != got {
        panic!(
            "{} differs (run with PXECFG_BLESS=1 to accept)\n--- expected\n{want}\n--- got\n{got}",
            path.display()
        );
    }
}

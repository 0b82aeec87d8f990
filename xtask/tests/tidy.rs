//! Keeps the documents in step with the code (in the spirit of
//! rust-analyzer's tidy tests): the ARCHITECTURE.md code map names files
//! that exist and every source file of the crates it maps, and the
//! README's command-line keys are the ones `init/src/cmdline.rs` parses.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Backticked words of `text` that look like file or directory names.
fn file_names(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| {
            !w.contains(' ') && (w.ends_with(".rs") || (w.ends_with('/') && !w.contains("://")))
        })
        .map(str::to_string)
        .collect()
}

/// Whether `dir` holds a file or directory `name` at any depth (outside
/// `target/`).
fn found_in(dir: &Path, name: &str) -> bool {
    let name = name.trim_end_matches('/');
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let p = e.path();
            e.file_name() == name || (p.is_dir() && e.file_name() != "target" && found_in(&p, name))
        })
}

/// The code map's sections: `### \`init/\` — ...` → (crate dir, text).
fn code_map() -> Vec<(String, String)> {
    let arch = read("ARCHITECTURE.md");
    let map = arch
        .split("## Code map")
        .nth(1)
        .expect("ARCHITECTURE.md has a Code map")
        .split("\n## ")
        .next()
        .unwrap_or_default()
        .to_string();
    map.split("\n### ")
        .skip(1)
        .filter_map(|sec| {
            let head = sec.lines().next()?;
            let dir = head.split('`').nth(1)?.trim_end_matches('/').to_string();
            root().join(&dir).is_dir().then(|| (dir, sec.to_string()))
        })
        .collect()
}

#[test]
fn code_map_names_files_that_exist() {
    let sections = code_map();
    assert!(sections.len() >= 4, "code map sections: {sections:?}");
    for (dir, text) in &sections {
        for name in file_names(text) {
            let candidates = [
                root().join(dir).join("src").join(&name),
                root().join(dir).join(&name),
                root().join(&name),
            ];
            // A bare name (`mod.rs` of a module directory) may be anywhere
            // in the crate.
            assert!(
                candidates.iter().any(|p| p.exists()) || found_in(&root().join(dir), &name),
                "ARCHITECTURE.md code map, section {dir}/: `{name}` does not exist"
            );
        }
    }
}

#[test]
fn code_map_covers_every_module_of_the_init() {
    let sections = code_map();
    let (_, init) = sections
        .iter()
        .find(|(d, _)| d == "init")
        .expect("a code map section for init/");
    let named = file_names(init);
    for e in std::fs::read_dir(root().join("init/src"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let key = if e.path().is_dir() {
            format!("{name}/")
        } else {
            name.clone()
        };
        if name == "main.rs" || name == "boot" {
            continue; // the entry point (listed under Entry points); boot.rs's tests
        }
        assert!(
            named.contains(&key),
            "ARCHITECTURE.md's code map does not mention init/src/{key}"
        );
    }
}

/// `pxe.key` words of `text`.
fn pxe_keys(text: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("pxe.") {
        let tail = &rest[i + 4..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let before = rest[..i].chars().next_back();
        if end > 0 && !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '/') {
            keys.insert(format!("pxe.{}", &tail[..end]));
        }
        rest = &tail[end..];
    }
    keys
}

#[test]
fn readme_command_line_keys_are_the_parsed_ones() {
    let readme = read("README.md");
    let table = readme
        .split("## The init's command line")
        .nth(1)
        .expect("README has the init's command line table")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let documented = pxe_keys(table);
    let code = read("init/src/cmdline.rs");
    let code = code.split("#[cfg(test)]").next().unwrap_or_default();
    let parsed: BTreeSet<String> = code
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|w| w.starts_with("pxe.") && w.len() > 4 && !w.contains(' '))
        .map(|w| w.trim_end_matches('=').to_string())
        .collect();
    let undocumented: Vec<_> = parsed.difference(&documented).collect();
    let unparsed: Vec<_> = documented.difference(&parsed).collect();
    assert!(
        undocumented.is_empty() && unparsed.is_empty(),
        "README's command-line table and init/src/cmdline.rs disagree: \
         parsed but not in the README {undocumented:?}; in the README but not parsed {unparsed:?}"
    );
}

#[test]
fn every_xtask_command_answers_help() {
    for cmd in ["image", "demo", "test", "bench", "deps", "disk", "kernel"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo xtask {cmd} --help: {}",
            out.status
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("cargo xtask"),
            "cargo xtask {cmd} --help printed no usage"
        );
    }
}

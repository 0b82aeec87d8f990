//! The whole decision: probe for the config, parse it with its includes,
//! choose the entry, follow CONFIG.

use std::fmt;

use serde_json::{json, Value};

use crate::lookup::{normalize_uuid, path_prefix, probe_paths};
use crate::parse::Config;
use crate::select::{Action, ChooseError, Picked, Target};
use crate::{ClientInfo, Fetch, FetchError};

/// Most CONFIG (and menu module) hops followed from one config to the next.
pub const MAX_CONFIG_CHAIN: usize = 8;

/// Options of [`resolve`].
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// Forced label (`pxe.label=` / `--label`): a label name, maybe with
    /// options, or a 1-based menu number. It must name a label of the config
    /// found (see [`ResolveErrorKind::UnknownLabel`]).
    pub label: Option<String>,
}

/// What [`resolve`] decided, and how.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Config paths in the order tried, up to the one found.
    pub tried: Vec<String>,
    /// The config file found by the search (`None` only for a
    /// [`Resolution`] built from an error, see [`ResolveError::to_json`]).
    pub config: Option<String>,
    /// The label chosen; `None` when a command line (DEFAULT/ONTIMEOUT naming
    /// no label) was booted, or nothing was.
    pub label: Option<String>,
    /// What to do.
    pub action: Action,
    /// Everything an administrator should know: config diagnostics
    /// (`file:line: …`), failed fetches, missing SYSAPPEND data, why nothing boots.
    pub warnings: Vec<String>,
    /// The parsed top-level config (with includes merged), for the console
    /// menu. After CONFIG hops this is the last config loaded.
    pub parsed: Option<Config>,
}

impl Resolution {
    /// The CLI's JSON object: `tried`, `config`, `label`, `action`
    /// (`"boot"`, `"localboot"` or `"none"`), `kernel`, `initrd`, `append`,
    /// `localboot` and `warnings`.
    pub fn to_json(&self) -> Value {
        let (action, kernel, initrd, append, localboot) = match &self.action {
            Action::Boot {
                kernel,
                initrd,
                append,
            } => (
                "boot",
                Some(kernel.clone()),
                initrd.clone(),
                append.clone(),
                None,
            ),
            Action::LocalBoot(n) => ("localboot", None, Vec::new(), String::new(), Some(*n)),
            Action::None => ("none", None, Vec::new(), String::new(), None),
        };
        json!({
            "tried": self.tried,
            "config": self.config,
            "label": self.label,
            "action": action,
            "kernel": kernel,
            "initrd": initrd,
            "append": append,
            "localboot": localboot,
            "warnings": self.warnings,
        })
    }
}

/// Why [`resolve`] could not decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    kind: ResolveErrorKind,
    tried: Vec<String>,
    warnings: Vec<String>,
}

/// The kinds of [`ResolveError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveErrorKind {
    /// No config file found at any of the probed paths.
    NoConfig,
    /// The forced label names no label and no menu number of the config.
    UnknownLabel {
        /// The label asked for.
        label: String,
        /// The config searched.
        config: String,
    },
    /// The forced label is a menu number that does not exist.
    NoSuchNumber {
        /// The number asked for.
        number: usize,
        /// The highest menu number.
        max: usize,
        /// The config searched.
        config: String,
    },
    /// A CONFIG entry (or menu module) names a file that could not be fetched.
    ChainedConfig {
        /// The file named.
        path: String,
        /// The config that names it.
        from: String,
        /// Why it could not be fetched.
        reason: String,
    },
    /// More than [`MAX_CONFIG_CHAIN`] CONFIG hops.
    ChainTooLong {
        /// The config where it stopped.
        config: String,
    },
}

impl ResolveError {
    fn new(kind: ResolveErrorKind, tried: Vec<String>, warnings: Vec<String>) -> Self {
        ResolveError {
            kind,
            tried,
            warnings,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ResolveErrorKind {
        &self.kind
    }

    /// Config paths tried before the error.
    pub fn tried(&self) -> &[String] {
        &self.tried
    }

    /// Warnings gathered before the error.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The CLI's JSON object for this failure: `action` is `"none"`, and
    /// `config` is set when a config was found.
    pub fn to_json(&self) -> Value {
        let config = match &self.kind {
            ResolveErrorKind::NoConfig => None,
            ResolveErrorKind::UnknownLabel { config, .. }
            | ResolveErrorKind::NoSuchNumber { config, .. } => Some(config.clone()),
            ResolveErrorKind::ChainedConfig { .. } | ResolveErrorKind::ChainTooLong { .. } => {
                self.tried.last().cloned()
            }
        };
        let mut warnings = self.warnings.clone();
        warnings.push(self.to_string());
        Resolution {
            tried: self.tried.clone(),
            config,
            label: None,
            action: Action::None,
            warnings,
            parsed: None,
        }
        .to_json()
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ResolveErrorKind::NoConfig => {
                write!(
                    f,
                    "no PXELINUX config found; tried {}",
                    self.tried.join(", ")
                )
            }
            ResolveErrorKind::UnknownLabel { label, config } => {
                write!(f, "label `{label}` is not defined in {config}")
            }
            ResolveErrorKind::NoSuchNumber {
                number,
                max,
                config,
            } => {
                write!(
                    f,
                    "{config} has no menu entry {number} (entries are 1 to {max})"
                )
            }
            ResolveErrorKind::ChainedConfig { path, from, reason } => {
                write!(
                    f,
                    "config {path} (named in {from}) could not be loaded: {reason}"
                )
            }
            ResolveErrorKind::ChainTooLong { config } => {
                write!(
                    f,
                    "more than {MAX_CONFIG_CHAIN} CONFIG hops, stopped at {config}"
                )
            }
        }
    }
}

impl std::error::Error for ResolveError {}

/// Find the config for `info`, parse it (following includes) and decide what
/// to boot: the forced label if `opts.label` is set, else the unattended
/// choice ([`Config::unattended`]). CONFIG entries are followed.
///
/// Fetch errors other than [`FetchError::NotFound`] while probing are
/// recorded as warnings and the search goes on. A config that leads to
/// nothing bootable gives `Ok` with [`Action::None`] and the reason in the
/// warnings.
pub fn resolve(
    info: &ClientInfo,
    fetch: &mut dyn Fetch,
    opts: &ResolveOptions,
) -> Result<Resolution, ResolveError> {
    let mut warnings = Vec::new();
    if let Some(uuid) = info.uuid.as_deref() {
        if normalize_uuid(uuid).is_none() {
            warnings.push(format!(
                "UUID `{uuid}` is not 32 hex digits; its config file is not tried"
            ));
        }
    }
    let mut tried = Vec::new();
    let mut found = None;
    for path in probe_paths(info) {
        tried.push(path.clone());
        match fetch.fetch(&path) {
            Ok(data) => {
                found = Some((path, data));
                break;
            }
            Err(FetchError::NotFound) => {}
            Err(FetchError::Other(reason)) => warnings.push(format!("{path}: {reason}")),
        }
    }
    let Some((path, data)) = found else {
        return Err(ResolveError::new(
            ResolveErrorKind::NoConfig,
            tried,
            warnings,
        ));
    };
    let config = Config::load(&data, &path, &path_prefix(info), fetch);
    warnings.extend(config.diagnostics.iter().map(ToString::to_string));

    let first = match opts.label.as_deref() {
        Some(label) => match config.pick_input(label, info) {
            Ok(picked) if picked.label.is_some() => Some(picked),
            Ok(_) | Err(ChooseError::Empty) | Err(ChooseError::NeedsConfig { .. }) => {
                let kind = ResolveErrorKind::UnknownLabel {
                    label: label.to_string(),
                    config: path,
                };
                return Err(ResolveError::new(kind, tried, warnings));
            }
            Err(ChooseError::NoSuchNumber { number, max }) => {
                let kind = ResolveErrorKind::NoSuchNumber {
                    number,
                    max,
                    config: path,
                };
                return Err(ResolveError::new(kind, tried, warnings));
            }
        },
        None => None,
    };
    let mut resolution = Resolution {
        tried,
        config: Some(path),
        label: None,
        action: Action::None,
        warnings,
        parsed: None,
    };
    follow(config, first, info, fetch, &mut resolution)?;
    Ok(resolution)
}

/// Like [`resolve`] for input typed at the console menu of `parsed` (a
/// label name, menu number or command line, see [`Config::choose`]),
/// following CONFIG entries through `fetch`. `tried` and `config` of the
/// result are empty: no search is done.
pub fn resolve_choice(
    parsed: &Config,
    input: &str,
    info: &ClientInfo,
    fetch: &mut dyn Fetch,
) -> Result<Resolution, ResolveError> {
    let mut resolution = Resolution {
        tried: Vec::new(),
        config: Some(parsed.source.clone()),
        label: None,
        action: Action::None,
        warnings: Vec::new(),
        parsed: None,
    };
    let picked = match parsed.pick_input(input, info) {
        Ok(picked) => picked,
        Err(ChooseError::NoSuchNumber { number, max }) => {
            let kind = ResolveErrorKind::NoSuchNumber {
                number,
                max,
                config: parsed.source.clone(),
            };
            return Err(ResolveError::new(kind, Vec::new(), Vec::new()));
        }
        Err(_) => {
            let kind = ResolveErrorKind::UnknownLabel {
                label: input.to_string(),
                config: parsed.source.clone(),
            };
            return Err(ResolveError::new(kind, Vec::new(), Vec::new()));
        }
    };
    follow(parsed.clone(), Some(picked), info, fetch, &mut resolution)?;
    Ok(resolution)
}

/// Run `picked` (or the unattended choice) in `config`, loading chained
/// configs as needed, and fill in `out`.
fn follow(
    mut config: Config,
    mut picked: Option<Picked>,
    info: &ClientInfo,
    fetch: &mut dyn Fetch,
    out: &mut Resolution,
) -> Result<(), ResolveError> {
    for _ in 0..=MAX_CONFIG_CHAIN {
        let picked_now = match picked.take() {
            Some(p) => p,
            None => match config.unattended() {
                Some(cmdline) => config.pick(&cmdline, info),
                None => {
                    out.warnings.push(format!(
                        "{}: nothing to boot: no DEFAULT, no ONTIMEOUT and no usable LABEL",
                        config.source
                    ));
                    out.parsed = Some(config);
                    return Ok(());
                }
            },
        };
        out.label = picked_now.label;
        out.warnings.extend(picked_now.warnings);
        match picked_now.target {
            Target::Action(action) => {
                out.action = action;
                out.parsed = Some(config);
                return Ok(());
            }
            Target::Menu => {
                out.warnings.push(format!(
                    "{}: the entry only shows the menu again; nothing to boot unattended",
                    config.source
                ));
                out.action = Action::None;
                out.parsed = Some(config);
                return Ok(());
            }
            Target::Config { path, base, menu } => {
                let data = fetch.fetch(&path).map_err(|e| {
                    let reason = match e {
                        FetchError::NotFound => "not found".to_string(),
                        FetchError::Other(reason) => reason,
                    };
                    let kind = ResolveErrorKind::ChainedConfig {
                        path: path.clone(),
                        from: config.source.clone(),
                        reason,
                    };
                    ResolveError::new(kind, out.tried.clone(), out.warnings.clone())
                })?;
                let base = base.unwrap_or_else(|| config.base.clone());
                let mut next = Config::load(&data, &path, &base, fetch);
                next.forced_menu = menu;
                out.warnings
                    .extend(next.diagnostics.iter().map(ToString::to_string));
                config = next;
            }
        }
    }
    let kind = ResolveErrorKind::ChainTooLong {
        config: config.source,
    };
    Err(ResolveError::new(
        kind,
        out.tried.clone(),
        out.warnings.clone(),
    ))
}

//! Network benchmarks (issue 4): pxeinit's TFTP and HTTP clients against
//! curl and busybox on the same files and servers.
//!
//! Not measured yet: this is the slot for them. [`run`] returns a
//! [`super::Section`] like the other parts; its Markdown replaces the
//! `net` section of BENCHMARKS.md and its JSON is the `net` member of the
//! results file. Until the clients are measured it says so and reports no
//! numbers.

use super::json::Json;
use super::{Options, Section};
use crate::Result;

/// Measure (for now: report that nothing is measured).
pub fn run(_opts: &Options) -> Result<Section> {
    Ok(Section {
        key: "net",
        json: Json::obj([("status", Json::str("not yet measured"))]),
        markdown: "Not yet measured: TFTP and HTTP downloads by pxeinit against curl and \
                   busybox (issue 4) will be added to `cargo xtask bench --only net`.\n"
            .into(),
    })
}

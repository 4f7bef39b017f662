//! What commands show: the text report of a run with its next steps, the JSON report, `--check`
//! and `--diff` with secrets masked, and the equivalent command line.
//!
//! It turns data into text. It must not write files nor show a secret.

pub mod acme_steps;
pub mod command;
pub mod diff;
pub mod platform_steps;
pub mod report;
pub mod trust;

//! `promsetup --version`: the version, the git commit the binary was built from (`build.rs`
//! records it, "unknown" outside a git checkout) and the bcrypt implementation this machine
//! gives the hashes (the system's crypt, or the bcrypt crate when that has no bcrypt).
//!
//! It only prints what it is told by the build and by `bundle::credentials`; it must not decide
//! the backend itself.

use std::io::Write;

use crate::bundle::credentials::{self, Backend};
use crate::error::{Failure, Outcome};

/// The commit `build.rs` found, or "unknown".
pub const COMMIT: &str = env!("PROMSETUP_GIT_COMMIT");

pub fn run(out: &mut dyn Write) -> Result<Outcome, Failure> {
    let backend = match credentials::backend() {
        Backend::SystemCrypt => "system crypt (libxcrypt)",
        Backend::Crate => "bcrypt crate (the system's crypt has no bcrypt)",
    };
    writeln!(out, "promsetup {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "commit: {COMMIT}")?;
    writeln!(out, "bcrypt: {backend}")?;
    Ok(Outcome::Done)
}

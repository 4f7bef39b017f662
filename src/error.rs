//! How a command ends: `Failure` (every error a command can end in, with its exit status) and
//! `Outcome` (how a command that did not fail ended). The one place exit statuses are decided.
//!
//! It lives below the commands so that every command returns the same type and no command imports
//! another. It must not print: `main.rs` prints a failure once, on standard error.

use crate::bundle::cert::provided::Refused;
use crate::bundle::plan::PlanError;
use crate::bundle::templates::RenderError;
use crate::host::secret_input::PasswordError;
use crate::model::setup::SetupError;
use crate::write::WriteError;

/// The user pressed Ctrl-C or closed the terminal: stop, write nothing.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("your certificate is not usable: {0}")]
    Certificate(#[from] Refused),
    /// An answers file (`--config`) that cannot be read or holds a refused value.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("interrupted: nothing was written")]
    Interrupted(#[from] Interrupted),
    /// `verify` found faults; each was reported as it was found.
    #[error("{0}")]
    Verify(String),
    /// A `user` command could not do what was asked (an unknown user, a bundle without users).
    #[error("{0}")]
    Users(String),
    /// The local CA's folder cannot be read or written (`--tls local-ca`, `promsetup ca`).
    #[error("local CA: {0}")]
    LocalCa(String),
    /// `apply` failed (and put back what it had changed); the text names what failed.
    #[error("{0}")]
    Apply(String),
    /// Standard output or standard error could not be written (a full disk, a closed terminal).
    /// A reader that went away (a broken pipe) is not a failure: see `console::Output`.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl Failure {
    /// 2: the input was refused and nothing was written; 130: interrupted; 1: the run failed
    /// while working.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_)
            | Failure::Setup(_)
            | Failure::Password(_)
            | Failure::Certificate(_)
            | Failure::Config(_) => 2,
            Failure::Interrupted(_) => 130,
            Failure::Plan(_)
            | Failure::Render(_)
            | Failure::Write(_)
            | Failure::Verify(_)
            | Failure::Users(_)
            | Failure::LocalCa(_)
            | Failure::Apply(_)
            | Failure::Output(_) => 1,
        }
    }
}

/// How a run that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done (written, verified, or the person declined).
    Done,
    /// `--check`: the bundle on disk is what this run would write.
    UpToDate,
    /// `--check`: a run would change the bundle.
    WouldChange,
}

impl Outcome {
    /// 0, or 3 for "would change", distinct from 1 (failure) and 2 (bad input).
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Done | Outcome::UpToDate => 0,
            Outcome::WouldChange => 3,
        }
    }
}

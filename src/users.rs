//! `promsetup user add|remove|list`: edits a bundle's users. Being written (issue 6).

use crate::cli::{SetupArgs, UserArgs};
use crate::prompt::Prompter;
use crate::run::{Failure, Streams};

pub fn run(
    _args: &UserArgs,
    _options: &SetupArgs,
    _streams: Streams,
    _prompter: Option<&mut dyn Prompter>,
) -> Result<(), Failure> {
    Err(Failure::Usage("promsetup user is not built yet".into()))
}

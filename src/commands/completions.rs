//! `promsetup completions SHELL`: prints the completion script `cli/` rendered from the command
//! line's own definition (bash, zsh, fish, elvish, PowerShell).
//!
//! It only prints; it must not render the script itself (that needs clap, which is `cli/`'s) nor
//! install it anywhere: the user or the Debian package puts it where their shell looks.

use std::io::Write;

use crate::error::{Failure, Outcome};
use crate::model::request::CompletionsRequest;

pub fn run(request: CompletionsRequest, out: &mut dyn Write) -> Result<Outcome, Failure> {
    out.write_all(&request.script)?;
    out.flush()?;
    Ok(Outcome::Done)
}

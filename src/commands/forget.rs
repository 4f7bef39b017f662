//! `promsetup --forget`: deletes the answers the wizard remembered (never a password).

use std::io::Write;
use std::path::Path;

use crate::error::{Failure, Outcome};
use crate::wizard::answers;
use crate::write;

pub fn run(out: &mut dyn Write) -> Result<Outcome, Failure> {
    let Some(path) = answers::remembered_path() else {
        writeln!(out, "No remembered answers.")?;
        return Ok(Outcome::Done);
    };
    if write::remove_state_file(Path::new(&path))? {
        writeln!(out, "Forgot the answers remembered in {}.", path.display())?;
    } else {
        writeln!(
            out,
            "No remembered answers (nothing at {}).",
            path.display()
        )?;
    }
    Ok(Outcome::Done)
}

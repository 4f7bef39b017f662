//! `promsetup man --out DIR`: writes the man pages `cli/` rendered from the command line's
//! definition, one per command (`promsetup.1`, `promsetup-verify.1`, ...), so the Debian
//! package's pages always match `--help` (`packaging/build-deb` calls it), and so a `cargo
//! install` has them too.
//!
//! It writes through `write::apply` (atomic, mode 0644, replacing older pages without backups)
//! and must not render the pages itself: that needs clap, which is `cli/`'s.

use std::io::Write;

use crate::error::{Failure, Outcome};
use crate::model::request::ManRequest;
use crate::write::{self, Access, FileSpec, Policy};

pub fn run(request: ManRequest, out: &mut dyn Write) -> Result<Outcome, Failure> {
    let Some(dir) = request.out else {
        return Err(Failure::Usage(
            "promsetup man needs --out DIR, the folder to write the man pages into".to_string(),
        ));
    };
    let access = Access::Owner;
    let files: Vec<FileSpec> = request
        .pages
        .iter()
        .map(|page| FileSpec {
            name: &page.file_name,
            contents: &page.contents,
            mode: 0o644,
            access: &access,
        })
        .collect();
    // Generated files: a new build replaces them, and a backup of one would be a stale page.
    let policy = Policy {
        force: true,
        backups: false,
    };
    let report = write::apply(&files, &dir, policy)?;
    for written in &report.files {
        writeln!(out, "{}", written.path.display())?;
    }
    for warning in &report.warnings {
        writeln!(out, "warning: {warning}")?;
    }
    Ok(Outcome::Done)
}

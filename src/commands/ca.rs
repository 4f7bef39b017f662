//! `promsetup ca show | export [FILE] | rotate`: the local CA of `--tls local-ca`.
//!
//! It owns the order of the steps and what the command says: it reads the CA folder
//! (`host::local_ca`), asks `bundle::cert::local_ca` for facts or a rotated CA, writes through
//! `write.rs` and prints through `output::trust`. It must not make certificates itself.

use std::io::Write;
use std::path::Path;

use time::OffsetDateTime;

use crate::bundle::cert::local_ca::{self, Authority, CA_CERTIFICATE_FILE};
use crate::console::Streams;
use crate::error::{Failure, Outcome};
use crate::host::local_ca as local_ca_host;
use crate::model::request::{CaAction, CaRequest};
use crate::output::trust;
use crate::write::{self, Access, FileSpec};

pub fn run(request: CaRequest, streams: Streams) -> Result<Outcome, Failure> {
    let folder = local_ca_host::folder(request.ca_dir.as_deref()).map_err(Failure::LocalCa)?;
    let authority = local_ca_host::read(&folder)
        .map_err(Failure::LocalCa)?
        .ok_or_else(|| {
            Failure::LocalCa(format!(
                "there is no CA in {} yet; `promsetup --tls local-ca ...` makes one with the \
                 first bundle",
                folder.display()
            ))
        })?;
    match request.action {
        CaAction::Show => show(&folder, &authority, streams.out)?,
        CaAction::Export(None) => write!(streams.out, "{}", authority.certificate_pem)?,
        CaAction::Export(Some(file)) => export(&file, &authority, request.force, streams.out)?,
        CaAction::Rotate => rotate(&folder, &authority, streams.out)?,
    }
    Ok(Outcome::Done)
}

fn show(folder: &Path, authority: &Authority, out: &mut dyn Write) -> Result<(), Failure> {
    let facts = local_ca::facts(authority).map_err(|e| Failure::LocalCa(e.to_string()))?;
    let path = folder.join(CA_CERTIFICATE_FILE);
    write!(
        out,
        "{}",
        trust::trust_steps(&path.display().to_string(), &facts)
    )?;
    Ok(())
}

fn export(
    file: &Path,
    authority: &Authority,
    force: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let (Some(name), parent) = (file.file_name(), file.parent()) else {
        return Err(Failure::Usage(format!(
            "{} names no file to export to",
            file.display()
        )));
    };
    let folder = match parent {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = name.to_string_lossy();
    let spec = FileSpec {
        name: &name,
        contents: authority.certificate_pem.as_bytes(),
        mode: 0o644,
        access: &Access::Owner,
    };
    let policy = write::Policy {
        force,
        backups: true,
    };
    write::apply(&[spec], folder, policy)?;
    writeln!(out, "Wrote the CA's certificate to {}", file.display())?;
    Ok(())
}

fn rotate(folder: &Path, authority: &Authority, out: &mut dyn Write) -> Result<(), Failure> {
    let rotated = local_ca::rotate(authority, OffsetDateTime::now_utc())
        .map_err(|e| Failure::LocalCa(e.to_string()))?;
    let policy = write::Policy {
        force: true,
        backups: true,
    };
    write::apply(&local_ca::files(&rotated), folder, policy)?;
    writeln!(
        out,
        "Made a new CA in {} (the old certificate and key are kept beside them as .bak \
         files: delete the old key once no bundle needs it).\n\
         Every bundle made with the old CA must be made again: re-run its promsetup command \
         with --force, then deploy it. Clients must trust the new CA and may remove the old one.\n",
        folder.display()
    )?;
    show(folder, &rotated, out)
}

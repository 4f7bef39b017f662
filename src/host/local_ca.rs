//! Reads the local CA's folder (`--ca-dir`, else promsetup's folder in the user's data folder):
//! its certificate and key, when they are there.
//!
//! It only reads, and refuses what it must not trust: a symbolic link, a key that others may
//! read. It must not make or write the CA (`bundle::cert::local_ca` makes it, `write.rs`
//! writes it).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::model::local_ca::{Authority, CA_CERTIFICATE_FILE, CA_KEY_FILE};

/// The folder the CA lives in: `dir` when given, else `$XDG_DATA_HOME/promsetup/ca` on Linux
/// (`~/.local/share/promsetup/ca`), where the `directories` crate says data belongs.
pub fn folder(dir: Option<&Path>) -> Result<PathBuf, String> {
    match dir {
        Some(dir) => Ok(dir.to_path_buf()),
        None => directories::ProjectDirs::from("", "", "promsetup")
            .map(|dirs| dirs.data_dir().join("ca"))
            .ok_or_else(|| "there is no home folder to keep the CA in; give --ca-dir DIR".into()),
    }
}

/// The CA in `dir`; `Ok(None)` when neither file is there (a CA is then made). Half a CA, a
/// link, or a key readable by others is an error: promsetup never replaces a CA it cannot read.
pub fn read(dir: &Path) -> Result<Option<Authority>, String> {
    let certificate = dir.join(CA_CERTIFICATE_FILE);
    let key = dir.join(CA_KEY_FILE);
    let present = |path: &Path| std::fs::symlink_metadata(path).ok();
    match (present(&certificate), present(&key)) {
        (None, None) => Ok(None),
        (Some(certificate_meta), Some(key_meta)) => {
            for (path, meta) in [(&certificate, &certificate_meta), (&key, &key_meta)] {
                if !meta.is_file() {
                    return Err(format!(
                        "{} is not a plain file (a link or a folder); promsetup does not follow it",
                        path.display()
                    ));
                }
            }
            if key_meta.permissions().mode() & 0o077 != 0 {
                return Err(format!(
                    "{} may be read by others (mode {:04o}): make it 0600 (chmod 600), or \
                     rotate the CA (promsetup ca rotate) if others may have copied it",
                    key.display(),
                    key_meta.permissions().mode() & 0o7777
                ));
            }
            let read = |path: &Path| {
                std::fs::read_to_string(path)
                    .map_err(|error| format!("cannot read {}: {error}", path.display()))
            };
            Ok(Some(Authority {
                certificate_pem: read(&certificate)?,
                key_pem: Zeroizing::new(read(&key)?),
            }))
        }
        (Some(_), None) | (None, Some(_)) => Err(format!(
            "{} holds only one of {CA_CERTIFICATE_FILE} and {CA_KEY_FILE}; put the other back, \
             or move both away to make a new CA",
            dir.display()
        )),
    }
}

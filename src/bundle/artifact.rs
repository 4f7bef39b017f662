//! One file of the bundle, in memory: its name, its bytes (wiped on drop), its exact mode, who
//! must read it and where it belongs on the server. The plan and each target's files
//! (`kubernetes`, `compose`, the Ansible role's variables) are lists of these.
//!
//! Data only: it must not render, read or write anything.

use zeroize::Zeroizing;

use crate::model::values::ServerPath;
pub use crate::write::Access;
use crate::write::FileSpec;

/// One file of the bundle.
pub struct Artifact {
    pub file_name: String,
    pub contents: Zeroizing<Vec<u8>>,
    /// The exact permission bits; the writer creates the file with them (never wider first).
    pub mode: u32,
    pub access: Access,
    /// The folder it belongs in on the server, for the install steps; `None` for files that
    /// stay with the user (the flags, the scrape snippet, a generated password).
    pub server_dir: Option<ServerPath>,
}

impl std::fmt::Debug for Artifact {
    // Contents may be a key or a password: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Artifact")
            .field("file_name", &self.file_name)
            .field("bytes", &self.contents.len())
            .field("mode", &format_args!("{:04o}", self.mode))
            .field("access", &self.access)
            .field("server_dir", &self.server_dir)
            .finish()
    }
}

impl Artifact {
    pub fn spec(&self) -> FileSpec<'_> {
        FileSpec {
            name: &self.file_name,
            contents: &self.contents,
            mode: self.mode,
            access: &self.access,
        }
    }
}

//! What a command is asked to do, as plain data: `cli/` builds a `Request` from the command line,
//! and a command reads it. Nothing here knows clap, and nothing here is checked twice: values
//! are already their types.

use std::path::PathBuf;

use crate::model::given::Given;
use crate::model::password::PasswordSource;
use crate::model::values::{BcryptCost, UserName};

/// One invocation of promsetup.
#[derive(Debug)]
pub enum Request {
    /// Make or update a bundle (`promsetup [init] ...`).
    Setup(SetupRequest),
    /// `--forget`: delete the wizard's remembered answers.
    Forget,
    Verify(VerifyRequest),
    /// `promsetup apply [DIR]`: install a bundle on this host.
    Apply(ApplyRequest),
    User(UserRequest),
    /// `promsetup ca ...`: the local CA.
    Ca(CaRequest),
    /// `promsetup completions SHELL`.
    Completions(CompletionsRequest),
    /// `promsetup man --out DIR`.
    Man(ManRequest),
    /// `--version`.
    Version,
}

/// How the result is shown, from `--check`, `--diff` and `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Show {
    /// `--check` or `--diff`: write nothing, say whether a run would change the bundle.
    pub check: bool,
    pub diff: bool,
    pub format: ReportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug)]
pub struct SetupRequest {
    /// What the flags said (the password source only when a flag names one).
    pub flags: Given,
    /// `--config FILE`: answers that the flags override.
    pub config: Option<PathBuf>,
    pub show: Show,
    pub non_interactive: bool,
    /// `promsetup init`: ask even when standard input is not a terminal (and fail, saying so).
    pub init: bool,
}

/// The options every command that reads a bundle shares.
#[derive(Debug)]
pub struct BundleOptions {
    /// The bundle folder: the command's own folder argument, else `--out`, else none given.
    pub dir: Option<PathBuf>,
    /// A password source a flag named (`--password-stdin`, `--password-file`).
    pub password: Option<PasswordSource>,
    pub non_interactive: bool,
    /// `--check`, `--diff` and `--format`, which not every command takes.
    pub show: Show,
}

#[derive(Debug)]
pub struct VerifyRequest {
    pub bundle: BundleOptions,
    pub url: Option<String>,
    /// `--allow-cleartext-password`: send the password to an http:// URL even when the bundle
    /// serves TLS.
    pub allow_cleartext_password: bool,
    /// `--connect`: where the online checks connect, whatever DNS says of the URL's host.
    pub connect: Option<crate::model::values::ConnectAddress>,
    /// The setup flags given too (`--domain`, `--username`, `--renew-days`), which the checks
    /// compare the bundle with.
    pub flags: Given,
}

#[derive(Debug)]
pub struct ApplyRequest {
    /// The folder, the password for the live check, and `--format`.
    pub bundle: BundleOptions,
    /// `--dry-run`: list every action, change nothing.
    pub dry_run: bool,
    /// `--wait`: how long the live check waits for a restarted Prometheus.
    pub restart_wait: std::time::Duration,
}

#[derive(Debug)]
pub struct UserRequest {
    pub bundle: BundleOptions,
    pub action: UserAction,
    pub bcrypt_cost: Option<BcryptCost>,
    /// `user remove --keep-backup`: keep the previous file (with the removed user) as a backup.
    pub keep_backup: bool,
}

#[derive(Debug)]
pub struct CaRequest {
    /// `--ca-dir`; `None`: the user's data folder.
    pub ca_dir: Option<PathBuf>,
    pub action: CaAction,
    /// `--force`: `export` replaces an existing file.
    pub force: bool,
}

#[derive(Debug, Clone)]
pub enum CaAction {
    /// Its folder, subject, fingerprint, expiry, permitted names, and how to trust it.
    Show,
    /// Its certificate, to a file or (`None`) standard output.
    Export(Option<PathBuf>),
    /// A new key and certificate for the same names; the old ones kept as NAME.bak.
    Rotate,
}

#[derive(Debug, Clone)]
pub enum UserAction {
    Add(UserName),
    Remove(UserName),
    List,
}

/// A shell completion script, already rendered from the command line's definition.
#[derive(Debug)]
pub struct CompletionsRequest {
    pub script: Vec<u8>,
}

/// Man pages to write, already rendered from the command line's definition.
#[derive(Debug)]
pub struct ManRequest {
    /// `--out DIR`: where the pages go (required: there is no default folder for them).
    pub out: Option<PathBuf>,
    pub pages: Vec<ManPage>,
}

/// One man page: its file name (`promsetup-verify.1`) and its roff source.
#[derive(Debug)]
pub struct ManPage {
    pub file_name: String,
    pub contents: Vec<u8>,
}

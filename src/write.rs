//! The writer: the only module that creates, replaces or changes files (`clippy.toml` fences
//! `std::fs::write` and friends out of the rest of the crate; `write/journal.rs` and
//! `write/lock.rs` are part of it).
//!
//! It checks every target before writing any (existing files without `--force`, symbolic links,
//! folders in the way are all reported at once and nothing is written). A run is one transaction
//! (`journal`): every new file, and every backup, is first written in full to a temporary name
//! beside its target, created with its final permission bits or narrower and synced; then the
//! journal is committed, and only then are the files renamed into place. A failure before the
//! commit leaves the folder as it was; a crash after it is completed by the next command that
//! takes the folder's lock (`lock`), which every writing command holds. Backups: one generation,
//! `NAME.bak`, a copy of the replaced file with the new file's mode and owner. It must not decide
//! what the files contain.

#![allow(clippy::disallowed_methods)] // the one module allowed to write files

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::model::values::SystemUser;

pub mod journal;
pub mod lock;

pub use journal::leftovers;

/// Who besides root must read a file on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Only its owner (root reads it: nginx's master reads the key).
    Owner,
    /// The group of this account (nginx's workers read `.htpasswd`, Prometheus `web.yml`).
    GroupOf(SystemUser),
    /// Owned by this account (Prometheus reads its key and self-scrape password as itself).
    OwnedBy(SystemUser),
    /// The owner and group of the file it replaces (editing a deployed `.htpasswd` in place).
    AsBefore,
    /// Numeric ids of an account inside a container image (the nginx image's workers are gid
    /// 101), which need not exist on this host: `uid` owner if given, and group `gid`.
    Ids { uid: Option<u32>, gid: u32 },
}

/// One file to write: its name in the folder, its bytes, its exact mode and who may read it.
/// The caller decides what; the writer decides how.
#[derive(Clone, Copy)]
pub struct FileSpec<'a> {
    pub name: &'a str,
    pub contents: &'a [u8],
    pub mode: u32,
    pub access: &'a Access,
}

impl std::fmt::Debug for FileSpec<'_> {
    // Contents may be a key or a password: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSpec")
            .field("name", &self.name)
            .field("bytes", &self.contents.len())
            .field("mode", &format_args!("{:04o}", self.mode))
            .field("access", &self.access)
            .finish()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Replace files that exist.
    pub force: bool,
    /// Keep each replaced file as `NAME.bak` (off only for promsetup's own state files).
    /// One generation: the backup of the previous change (and any `NAME.bak.N` older versions
    /// of promsetup kept) goes.
    pub backups: bool,
}

/// What a run does with the backups of the files it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backups {
    /// `NAME.bak` becomes a copy of the replaced file; older backups of it are deleted.
    KeepPrevious,
    /// No backup is written, and none is deleted (promsetup's own state files).
    Untouched,
    /// No backup is written, and every backup of a replaced file is deleted (`user remove`:
    /// no copy of the removed user's hash stays behind).
    Drop,
}

/// How a file compares with the disk: before a run (`compare`), or what the run did (`apply`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Not there yet: created.
    New,
    /// There with other bytes or another mode: replaced.
    Differs,
    /// Already there with the same bytes and mode: not touched (its modification time stays).
    Same,
}

#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub mode: u32,
    pub change: Change,
    /// Where the replaced file was kept, when backups were asked for.
    pub backup: Option<PathBuf>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub files: Vec<Written>,
    /// Backups deleted by this run (older generations, or all of them for `user remove`).
    pub removed_backups: Vec<PathBuf>,
    /// Things the user must fix by hand (a group that does not exist here, say).
    pub warnings: Vec<String>,
}

/// Why a target cannot be written; several are reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Obstacle {
    Exists(PathBuf),
    Symlink(PathBuf),
    NotAFile(PathBuf),
    NotAFolder(PathBuf),
}

impl std::fmt::Display for Obstacle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Obstacle::Exists(p) => write!(f, "{} already exists", p.display()),
            Obstacle::Symlink(p) => write!(
                f,
                "{} is a symbolic link; promsetup does not write through links",
                p.display()
            ),
            Obstacle::NotAFile(p) => write!(f, "{} exists and is not a file", p.display()),
            Obstacle::NotAFolder(p) => write!(f, "{} exists and is not a folder", p.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("nothing was written:\n{}{}", list(.obstacles), hint(.obstacles))]
    Obstacles { obstacles: Vec<Obstacle> },
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// Another process holds the folder's lock, and went on holding it for the whole wait.
    #[error(
        "{} is in use by another promsetup command ({}); waited {} s for it to finish. Run this \
         again when it has, or wait longer with PROMSETUP_LOCK_WAIT=SECONDS",
        .folder.display(),
        .holder.as_deref().unwrap_or("its process is not known"),
        .waited.as_secs_f64()
    )]
    Locked {
        folder: PathBuf,
        /// "pid N: COMMAND", when the system says.
        holder: Option<String>,
        waited: std::time::Duration,
    },
    /// The run was committed, then a step failed: the folder is half old, half new until the
    /// next command that takes its lock completes the run.
    #[error(
        "{source}\nThe change to {} was committed but is not complete: the next promsetup \
         command that writes there completes it. Until then its files are a mix of old and new: \
         do not install them",
        .folder.display()
    )]
    Unfinished {
        folder: PathBuf,
        source: Box<WriteError>,
    },
}

impl From<journal::IoFailure> for WriteError {
    fn from(failure: journal::IoFailure) -> WriteError {
        WriteError::Io {
            action: failure.action,
            path: failure.path,
            source: failure.source,
        }
    }
}

fn list(obstacles: &[Obstacle]) -> String {
    obstacles.iter().map(|o| format!("  {o}\n")).collect()
}

fn hint(obstacles: &[Obstacle]) -> &'static str {
    if obstacles.iter().all(|o| matches!(o, Obstacle::Exists(_))) {
        "Use --force to replace them (each is kept as a backup), or --out for another folder."
    } else {
        "Move them out of the way, or choose another folder with --out."
    }
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A point in `apply` where a fault can be injected by the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// About to write the temporary copy of this file.
    Write(&'a str),
    /// About to write the temporary backup of this file (a copy of the one it replaces).
    Backup(&'a str),
    /// About to sync the folder, so the temporaries' names are durable.
    Prepared,
    /// About to commit the journal: the point after which the run completes.
    Commit,
    /// About to sync the folder after the commit.
    Committed,
    /// About to move this file (or `NAME.bak`) into place.
    Rename(&'a str),
    /// About to delete this old backup.
    Remove(&'a str),
    /// About to sync the renames and delete the journal.
    Finish,
}

/// Writes every file into `out_dir`, or nothing when any target is in the way; all of them or
/// none (see the module's note). Takes the folder's lock for the write unless this process holds
/// it already; a command that reads the folder first takes it itself (`lock::FolderLock`).
pub fn apply(files: &[FileSpec], out_dir: &Path, policy: Policy) -> Result<Report, WriteError> {
    apply_with_faults(files, out_dir, policy, &mut |_| Ok(()))
}

/// `apply`, but no backup is kept and every backup of each replaced file is deleted, in the same
/// transaction: `user remove` leaves no copy of the removed user's hash.
pub fn apply_dropping_backups(
    files: &[FileSpec],
    out_dir: &Path,
    force: bool,
) -> Result<Report, WriteError> {
    transact(files, out_dir, force, Backups::Drop, &mut |_| Ok(()))
}

/// Installs files on a server (`promsetup apply`): `apply` with force and one backup per replaced
/// file, where a file counts as in place only with the same bytes, mode and owner (its
/// `Access::Ids`).
pub fn install(files: &[FileSpec], out_dir: &Path) -> Result<Report, WriteError> {
    transact_owned(
        files,
        out_dir,
        true,
        Backups::KeepPrevious,
        true,
        &mut |_| Ok(()),
    )
}

/// Puts installed files back as they were (the undo of `install`): their old bytes, mode and
/// owner, with no backup kept and none removed.
pub fn restore(files: &[FileSpec], out_dir: &Path) -> Result<Report, WriteError> {
    transact_owned(files, out_dir, true, Backups::Untouched, true, &mut |_| {
        Ok(())
    })
}

/// `apply`, calling `fault` before each step; an error from it acts as if the step failed.
pub fn apply_with_faults(
    files: &[FileSpec],
    out_dir: &Path,
    policy: Policy,
    fault: &mut dyn FnMut(Step) -> io::Result<()>,
) -> Result<Report, WriteError> {
    let backups = if policy.backups {
        Backups::KeepPrevious
    } else {
        Backups::Untouched
    };
    transact(files, out_dir, policy.force, backups, fault)
}

/// The transaction: prepare every temporary, commit the journal, carry it out, finish.
fn transact(
    files: &[FileSpec],
    out_dir: &Path,
    force: bool,
    backups: Backups,
    fault: &mut dyn FnMut(Step) -> io::Result<()>,
) -> Result<Report, WriteError> {
    transact_owned(files, out_dir, force, backups, false, fault)
}

/// `transact`; with `exact_owner`, a file with the same bytes and mode but another owner than
/// its `Access::Ids` is rewritten too (`install`, `restore`).
fn transact_owned(
    files: &[FileSpec],
    out_dir: &Path,
    force: bool,
    backups: Backups,
    exact_owner: bool,
    fault: &mut dyn FnMut(Step) -> io::Result<()>,
) -> Result<Report, WriteError> {
    let _lock = if lock::held_by_this_process(out_dir) {
        None
    } else {
        Some(lock::FolderLock::acquire(out_dir, lock::DEFAULT_WAIT)?)
    };
    let obstacles = survey(files, out_dir, force, backups, exact_owner)?;
    if !obstacles.is_empty() {
        return Err(WriteError::Obstacles { obstacles });
    }

    let mut report = Report::default();
    // Files already as planned are left alone, modification time included.
    let (same, to_write): (Vec<&FileSpec>, Vec<&FileSpec>) = files
        .iter()
        .partition(|file| is_same(file, &out_dir.join(file.name), exact_owner));
    let mut prepared = Prepared::default();
    let outcome = prepare(
        &to_write,
        out_dir,
        backups,
        fault,
        &mut prepared,
        &mut report,
    )
    .and_then(|()| {
        fault(Step::Commit)
            .map_err(io_error("commit the journal in", out_dir))
            .and_then(|()| Ok(journal::commit(out_dir, &prepared.ops)?))
    });
    if let Err(error) = outcome {
        for temporary in &prepared.temporaries {
            let _ = fs::remove_file(temporary); // best effort: the next locked command retries
        }
        return Err(error);
    }
    // Committed: from here on the run completes, now or under the next lock.
    let completed = (|| -> Result<(), WriteError> {
        fault(Step::Committed).map_err(io_error("sync the folder", out_dir))?;
        journal::sync_folder(out_dir)?;
        journal::carry_out(out_dir, &prepared.ops, &mut |op| match op {
            journal::Op::Move { to, .. } => fault(Step::Rename(to)),
            journal::Op::Remove(name) => fault(Step::Remove(name)),
        })?;
        fault(Step::Finish).map_err(io_error("sync the folder", out_dir))?;
        journal::finish(out_dir)?;
        Ok(())
    })();
    if let Err(error) = completed {
        return Err(WriteError::Unfinished {
            folder: out_dir.to_path_buf(),
            source: Box::new(error),
        });
    }
    for artifact in same {
        report.files.push(Written {
            path: out_dir.join(artifact.name),
            mode: artifact.mode,
            change: Change::Same,
            backup: None,
        });
    }
    // Report in the order given, whatever was written.
    report.files.sort_by_key(|written| {
        files
            .iter()
            .position(|f| out_dir.join(f.name) == written.path)
    });
    Ok(report)
}

/// What the preparing phase made: the temporaries, and the journal's steps.
#[derive(Default)]
struct Prepared {
    temporaries: Vec<PathBuf>,
    ops: Vec<journal::Op>,
}

/// Writes every temporary (new files and backups), synced, and the folder synced: after this
/// only renames and removals remain, which need no new space.
fn prepare(
    to_write: &[&FileSpec],
    out_dir: &Path,
    backups: Backups,
    fault: &mut dyn FnMut(Step) -> io::Result<()>,
    prepared: &mut Prepared,
    report: &mut Report,
) -> Result<(), WriteError> {
    for artifact in to_write {
        let path = out_dir.join(artifact.name);
        fault(Step::Write(artifact.name)).map_err(io_error("write", &path))?;
        let temporary = write_temporary(artifact, out_dir, &mut report.warnings)?;
        prepared.temporaries.push(temporary.clone());
        prepared.ops.push(journal::Op::Move {
            from: file_name(&temporary),
            to: artifact.name.to_string(),
        });
        let existed = fs::symlink_metadata(&path).is_ok();
        let mut backup = None;
        if existed && backups != Backups::Untouched {
            let kept = format!("{}.bak", artifact.name);
            if backups == Backups::KeepPrevious {
                fault(Step::Backup(artifact.name)).map_err(io_error("keep a backup of", &path))?;
                let old = Zeroizing::new(fs::read(&path).map_err(io_error("read", &path))?);
                let old_mode = fs::symlink_metadata(&path)
                    .map(|meta| meta.permissions().mode() & 0o7777)
                    .map_err(io_error("read", &path))?;
                // The backup gets the new file's owner and the narrower of the two modes: a
                // key's copy is never wider than the key was, nor than its replacement.
                let copy = FileSpec {
                    contents: &old,
                    mode: artifact.mode & old_mode,
                    ..**artifact
                };
                let temporary = write_temporary(&copy, out_dir, &mut Vec::new())?;
                prepared.temporaries.push(temporary.clone());
                prepared.ops.push(journal::Op::Move {
                    from: file_name(&temporary),
                    to: kept.clone(),
                });
                backup = Some(out_dir.join(&kept));
            }
            for old_backup in older_backups(out_dir, artifact.name, backups == Backups::Drop) {
                report.removed_backups.push(out_dir.join(&old_backup));
                prepared.ops.push(journal::Op::Remove(old_backup));
            }
        }
        report.files.push(Written {
            path,
            mode: artifact.mode,
            change: if existed {
                Change::Differs
            } else {
                Change::New
            },
            backup,
        });
    }
    fault(Step::Prepared).map_err(io_error("sync the folder", out_dir))?;
    journal::sync_folder(out_dir)?;
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The backups of `name` beyond the one generation kept: `NAME.bak.N` (numbered copies older
/// versions of promsetup made), and `NAME.bak` itself when `including_latest`. Folders are
/// never among them.
fn older_backups(out_dir: &Path, name: &str, including_latest: bool) -> Vec<String> {
    let latest = format!("{name}.bak");
    let numbered = format!("{name}.bak.");
    let Ok(entries) = fs::read_dir(out_dir) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| !t.is_dir()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|entry| {
            (including_latest && *entry == latest)
                || entry
                    .strip_prefix(&numbered)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    found.sort();
    found
}

/// Removes one of promsetup's own state files (the remembered answers); a missing file is fine.
pub fn remove_state_file(path: &Path) -> Result<bool, WriteError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(io_error("delete", path)(error)),
    }
}

/// Removes a file `apply` installed where there was none (its undo); a missing file is fine.
pub fn remove_installed(path: &Path) -> Result<bool, WriteError> {
    remove_state_file(path)
}

/// Makes the symbolic link `link` -> `target` where nothing is (a site enabled in Debian's
/// `sites-enabled/`), then syncs its folder; `remove_installed` is its undo. An existing entry
/// at `link` is never replaced: the caller checks what is there first.
pub fn link(target: &Path, link: &Path) -> Result<(), WriteError> {
    std::os::unix::fs::symlink(target, link).map_err(io_error("make the link", link))?;
    let folder = link.parent().unwrap_or(Path::new("/"));
    File::open(folder)
        .and_then(|folder| folder.sync_all())
        .map_err(io_error("sync", folder))
}

/// Removes files of `names` from `out_dir` that a bundle no longer uses, each first kept as
/// `NAME.bak` (one generation, a copy with the file's mode, written to a temporary and renamed).
/// Missing files are skipped; a link or a folder at a name is left alone. A crash between the
/// steps leaves the file, or its backup and perhaps the file: never neither. Returns each
/// removed file and its backup.
pub fn retire(names: &[String], out_dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, WriteError> {
    let mut retired = Vec::new();
    for name in names {
        let path = out_dir.join(name);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let backup = out_dir.join(format!("{name}.bak"));
        let contents = fs::read(&path).map_err(io_error("read", &path))?;
        let temporary = out_dir.join(journal::temporary_name());
        let copy = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(meta.permissions().mode() & 0o7777)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(&temporary)?;
            file.set_permissions(fs::Permissions::from_mode(
                meta.permissions().mode() & 0o7777,
            ))?;
            file.write_all(&contents)?;
            file.sync_all()?;
            fs::rename(&temporary, &backup)
        })();
        if let Err(error) = copy {
            let _ = fs::remove_file(&temporary);
            return Err(io_error("keep a backup of", &path)(error));
        }
        fs::remove_file(&path).map_err(io_error("remove", &path))?;
        retired.push((path, backup));
    }
    if !retired.is_empty() {
        File::open(out_dir)
            .and_then(|folder| folder.sync_all())
            .map_err(io_error("sync", out_dir))?;
    }
    Ok(retired)
}

/// Whether the file at `path` already has exactly the spec's bytes and mode.
fn is_same(artifact: &FileSpec, path: &Path, exact_owner: bool) -> bool {
    use std::os::unix::fs::MetadataExt;
    let owned = |meta: &fs::Metadata| match (exact_owner, artifact.access) {
        (true, Access::Ids { uid, gid }) => {
            uid.is_none_or(|uid| meta.uid() == uid) && meta.gid() == *gid
        }
        _ => true,
    };
    match fs::symlink_metadata(path) {
        Ok(meta)
            if meta.is_file()
                && meta.permissions().mode() & 0o7777 == artifact.mode
                && owned(&meta) =>
        {
            fs::read(path).is_ok_and(|bytes| bytes == artifact.contents)
        }
        _ => false,
    }
}

/// One file against the disk, with what is there now (for a diff).
#[derive(Debug)]
pub struct Comparison {
    pub path: PathBuf,
    pub change: Change,
    pub before: Option<Vec<u8>>,
}

/// Compares every file with what `out_dir` holds, writing nothing: the base of `--check`,
/// `--diff` and the unchanged status.
pub fn compare(files: &[FileSpec], out_dir: &Path) -> Vec<Comparison> {
    files
        .iter()
        .map(|artifact| {
            let path = out_dir.join(artifact.name);
            let is_link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
            let before = if is_link { None } else { fs::read(&path).ok() };
            let change = match &before {
                None if !is_link => Change::New,
                _ if is_same(artifact, &path, false) => Change::Same,
                _ => Change::Differs,
            };
            Comparison {
                path,
                change,
                before,
            }
        })
        .collect()
}

/// Every reason the files cannot be written as asked, found before anything is written.
fn survey(
    files: &[FileSpec],
    out_dir: &Path,
    force: bool,
    backups: Backups,
    exact_owner: bool,
) -> Result<Vec<Obstacle>, WriteError> {
    match fs::metadata(out_dir) {
        Ok(meta) if !meta.is_dir() => return Ok(vec![Obstacle::NotAFolder(out_dir.to_path_buf())]),
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error("read", out_dir)(error)),
    }
    let mut obstacles = Vec::new();
    for artifact in files {
        let path = out_dir.join(artifact.name);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => obstacles.push(Obstacle::Symlink(path)),
            Ok(meta) if !meta.is_file() => obstacles.push(Obstacle::NotAFile(path)),
            Ok(_) if is_same(artifact, &path, exact_owner) => {}
            Ok(_) if !force => obstacles.push(Obstacle::Exists(path)),
            Ok(_) if backups == Backups::KeepPrevious => {
                // The backup is renamed over NAME.bak: a folder there would stop the run
                // half-way, after its commit.
                let kept = out_dir.join(format!("{}.bak", artifact.name));
                if fs::symlink_metadata(&kept).is_ok_and(|meta| meta.is_dir()) {
                    obstacles.push(Obstacle::NotAFile(kept));
                }
            }
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error("read", &path)(error)),
        }
    }
    Ok(obstacles)
}

/// Writes the contents to a new temporary file beside the target, with the exact mode and group,
/// synced to disk. The file is never readable by more people than the final one.
fn write_temporary(
    artifact: &FileSpec,
    out_dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<PathBuf, WriteError> {
    // Short and fixed, so a long file name cannot make it too long for the file system.
    let temporary = out_dir.join(journal::temporary_name());
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(artifact.mode)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&temporary)
        .map_err(io_error("create", &temporary))?;
    let result = (|| {
        let target = out_dir.join(artifact.name);
        if let Some(warning) = hand_over(&file, artifact.access, &target) {
            warnings.push(warning);
        }
        // The umask may have narrowed the mode at creation; set it exactly.
        file.set_permissions(fs::Permissions::from_mode(artifact.mode))?;
        file.write_all(artifact.contents)?;
        file.sync_all()
    })();
    if let Err(source) = result {
        drop(file);
        let _ = fs::remove_file(&temporary);
        return Err(WriteError::Io {
            action: "write",
            path: temporary,
            source,
        });
    }
    Ok(temporary)
}

/// Gives the file to the account that must read it: its primary group (nginx's workers read
/// a 0640 `.htpasswd`) or the account itself (Prometheus reads its 0600 key as itself).
/// Returns a warning instead of failing: the bundle is still right, and the next steps install
/// each file with its owner and group.
fn hand_over(file: &File, access: &Access, target: &Path) -> Option<String> {
    let file_name = target.display();
    let (account, as_owner) = match access {
        Access::Owner => return None,
        Access::AsBefore => {
            use std::os::unix::fs::MetadataExt;
            let before = fs::symlink_metadata(target).ok()?;
            return std::os::unix::fs::fchown(file, Some(before.uid()), Some(before.gid()))
                .err()
                .map(|error| {
                    format!("could not keep the owner and group of {file_name}: {error}")
                });
        }
        Access::GroupOf(account) => (account.as_str(), false),
        Access::OwnedBy(account) => (account.as_str(), true),
        Access::Ids { uid, gid } => {
            return std::os::unix::fs::fchown(file, *uid, Some(*gid))
                .err()
                .map(|_| {
                    format!(
                        "could not give {file_name} to {} (that needs root); the container \
                         cannot read it until then",
                        match uid {
                            Some(uid) => format!("uid {uid} and gid {gid}"),
                            None => format!("gid {gid}"),
                        }
                    )
                });
        }
    };
    let user = match nix::unistd::User::from_name(account) {
        Ok(Some(user)) => user,
        _ => {
            return Some(format!(
                "there is no account '{account}' on this machine, so {file_name} stays yours; \
                 on the server, install it as the next steps show, or '{account}' cannot read it"
            ));
        }
    };
    let owner = as_owner.then_some(user.uid.as_raw());
    match std::os::unix::fs::fchown(file, owner, Some(user.gid.as_raw())) {
        Ok(()) => None,
        Err(_) => Some(format!(
            "could not give {file_name} to '{account}' (that needs root); '{account}' cannot \
             read it until it is installed as the next steps show"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Every name in the folder with its bytes and mode.
    fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, u32)> {
        let mut all: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (file_name(&p), fs::read(&p).unwrap(), mode_of(&p)))
            .collect();
        all.sort();
        all
    }

    /// A folder with an old bundle: two of the three files, and a numbered backup as older
    /// versions of promsetup left.
    fn old_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        // Modes set explicitly: another test of this process narrows the umask for a moment,
        // and a file made then would differ from one made before (a flaky comparison).
        for (name, text) in [
            ("a.conf", "old a.conf\n"),
            ("b.key", "old b.key\n"),
            ("a.conf.bak.7", "ancient\n"),
        ] {
            fs::write(dir.path().join(name), text).unwrap();
            fs::set_permissions(dir.path().join(name), fs::Permissions::from_mode(0o644)).unwrap();
        }
        dir
    }

    fn label(step: Step) -> String {
        format!("{step:?}")
    }

    /// A failure, or a crash (a panic: nothing of the run's own clean-up runs, its lock goes),
    /// at each step of a run leaves the folder, once the next command has taken the lock, exactly
    /// as it was or exactly as the run makes it, with no temporaries and no journal.
    #[test]
    fn a_failure_or_a_crash_at_any_step_leaves_the_old_folder_or_the_new_one() {
        let names = ["a.conf", "b.key", "c.crt"];
        let plan: Vec<Owned> = names
            .iter()
            .map(|n| artifact(n, &format!("new {n}\n"), 0o600))
            .collect();
        let policy = Policy {
            force: true,
            backups: true,
        };
        let (old, new, steps) = {
            let dir = old_folder();
            let old = snapshot(dir.path());
            let mut steps = Vec::new();
            apply_with_faults(&specs(&plan), dir.path(), policy, &mut |step| {
                steps.push(label(step));
                Ok(())
            })
            .unwrap();
            (old, snapshot(dir.path()), steps)
        };
        assert!(
            new.iter()
                .any(|(n, b, m)| n == "b.key.bak" && b == b"old b.key\n" && *m == 0o600)
        );
        assert!(!new.iter().any(|(n, ..)| n == "a.conf.bak.7"));
        assert!(steps.len() >= 14, "{steps:?}");
        let committed_at = steps.iter().position(|s| s == "Commit").unwrap();
        for (index, failing) in steps.iter().enumerate() {
            for crash in [false, true] {
                let dir = old_folder();
                let mut fault = |step: Step| {
                    if &label(step) != failing {
                        Ok(())
                    } else if crash {
                        panic!("crash");
                    } else {
                        Err(io::Error::other("injected"))
                    }
                };
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    apply_with_faults(&specs(&plan), dir.path(), policy, &mut fault)
                }));
                match run {
                    Ok(Err(error)) if !crash => {
                        assert!(error.to_string().contains("injected"), "{error}");
                        if index <= committed_at {
                            assert_eq!(snapshot(dir.path()), old, "{failing}: rolled back");
                        }
                    }
                    Err(_) if crash => {}
                    other => panic!("{failing} (crash {crash}): {:?}", other.map(|r| r.is_ok())),
                }
                let lock = lock::FolderLock::acquire(dir.path(), Duration::ZERO).unwrap();
                let expected = if index <= committed_at { &old } else { &new };
                assert_eq!(&snapshot(dir.path()), expected, "{failing} (crash {crash})");
                assert!(leftovers(dir.path()).is_empty());
                drop(lock);
            }
        }
    }

    use std::os::unix::fs::MetadataExt;

    /// A file to write, owning what a `FileSpec` borrows.
    struct Owned {
        name: String,
        contents: Vec<u8>,
        mode: u32,
        access: Access,
    }

    fn artifact(name: &str, contents: &str, mode: u32) -> Owned {
        Owned {
            name: name.into(),
            contents: contents.as_bytes().to_vec(),
            mode,
            access: Access::Owner,
        }
    }

    fn plan_of(files: Vec<Owned>) -> Vec<Owned> {
        files
    }

    fn specs(files: &[Owned]) -> Vec<FileSpec<'_>> {
        files
            .iter()
            .map(|file| FileSpec {
                name: &file.name,
                contents: &file.contents,
                mode: file.mode,
                access: &file.access,
            })
            .collect()
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn writes_every_file_with_its_exact_mode_even_under_a_strict_umask() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let plan = plan_of(vec![
            artifact("a.conf", "a\n", 0o644),
            artifact("b.key", "secret\n", 0o600),
        ]);
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
        let result = apply(
            &specs(&plan),
            &out,
            Policy {
                force: false,
                backups: true,
            },
        );
        nix::sys::stat::umask(old);
        let report = result.unwrap();
        assert_eq!(report.files.len(), 2);
        assert!(report.files.iter().all(|f| f.change == Change::New));
        assert_eq!(fs::read_to_string(out.join("a.conf")).unwrap(), "a\n");
        assert_eq!(mode_of(&out.join("a.conf")), 0o644);
        assert_eq!(mode_of(&out.join("b.key")), 0o600);
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn existing_files_are_all_reported_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.conf"), "mine").unwrap();
        fs::write(dir.path().join("c.conf"), "mine too").unwrap();
        let plan = plan_of(vec![
            artifact("a.conf", "new", 0o644),
            artifact("b.conf", "new", 0o644),
            artifact("c.conf", "new", 0o644),
        ]);
        let err = apply(
            &specs(&plan),
            dir.path(),
            Policy {
                force: false,
                backups: true,
            },
        )
        .unwrap_err();
        let WriteError::Obstacles { obstacles } = &err else {
            panic!("{err}")
        };
        assert_eq!(obstacles.len(), 2);
        assert!(err.to_string().contains("--force"));
        assert_eq!(
            fs::read_to_string(dir.path().join("a.conf")).unwrap(),
            "mine"
        );
        assert!(!dir.path().join("b.conf").exists());
    }

    #[test]
    fn a_file_already_as_planned_is_left_alone_and_not_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan_of(vec![artifact("a.conf", "same\n", 0o644)]);
        apply(
            &specs(&plan),
            dir.path(),
            Policy {
                force: false,
                backups: true,
            },
        )
        .unwrap();
        let path = dir.path().join("a.conf");
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();

        let report = apply(
            &specs(&plan),
            dir.path(),
            Policy {
                force: false,
                backups: true,
            },
        )
        .unwrap();
        assert_eq!(report.files[0].change, Change::Same);
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), old);
        assert!(!dir.path().join("a.conf.bak").exists());
        assert_eq!(compare(&specs(&plan), dir.path())[0].change, Change::Same);

        // The same bytes with another mode is a change.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            compare(&specs(&plan), dir.path())[0].change,
            Change::Differs
        );
    }

    #[test]
    fn force_replaces_and_keeps_each_old_file_as_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("k.key");
        fs::write(&target, "old key").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let plan = plan_of(vec![artifact("k.key", "new key", 0o600)]);

        let report = apply(
            &specs(&plan),
            dir.path(),
            Policy {
                force: true,
                backups: true,
            },
        )
        .unwrap();
        let backup = dir.path().join("k.key.bak");
        assert_eq!(report.files[0].change, Change::Differs);
        assert_eq!(report.files[0].backup, Some(backup.clone()));
        assert_eq!(fs::read_to_string(&target).unwrap(), "new key");
        assert_eq!(fs::read_to_string(&backup).unwrap(), "old key");
        assert_eq!(mode_of(&backup), 0o600);

        // One generation: the next change replaces the backup, whatever number of runs.
        for round in 0..3 {
            let newer = plan_of(vec![artifact("k.key", &format!("key {round}"), 0o600)]);
            apply(
                &specs(&newer),
                dir.path(),
                Policy {
                    force: true,
                    backups: true,
                },
            )
            .unwrap();
        }
        assert_eq!(fs::read_to_string(&backup).unwrap(), "key 1");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_backup_is_a_copy_with_the_new_mode_not_a_link_to_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("password.txt");
        fs::write(&target, "old\n").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
        let old_inode = fs::metadata(&target).unwrap().ino();
        let plan = plan_of(vec![artifact("password.txt", "new\n", 0o600)]);
        let policy = Policy {
            force: true,
            backups: true,
        };
        apply(&specs(&plan), dir.path(), policy).unwrap();
        let backup = dir.path().join("password.txt.bak");
        assert_eq!(fs::read_to_string(&backup).unwrap(), "old\n");
        assert_eq!(mode_of(&backup), 0o600);
        assert_ne!(fs::metadata(&backup).unwrap().ino(), old_inode);
        assert_eq!(fs::metadata(&backup).unwrap().nlink(), 1);
    }

    #[test]
    fn dropping_backups_deletes_every_generation_of_a_replaced_file_only() {
        let dir = tempfile::tempdir().unwrap();
        for name in [".htpasswd", ".htpasswd.bak", ".htpasswd.bak.2", "other.bak"] {
            fs::write(dir.path().join(name), "alice:hash\n").unwrap();
        }
        let plan = plan_of(vec![artifact(".htpasswd", "bob:hash\n", 0o640)]);
        let report = apply_dropping_backups(&specs(&plan), dir.path(), true).unwrap();
        assert_eq!(report.removed_backups.len(), 2);
        let mut left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| file_name(&e.unwrap().path()))
            .collect();
        left.sort();
        assert_eq!(left, [".htpasswd", "other.bak"]);
    }

    #[test]
    fn a_symbolic_link_at_a_target_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, "precious").unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("a.conf")).unwrap();
        let plan = plan_of(vec![artifact("a.conf", "new", 0o644)]);
        for force in [false, true] {
            let err = apply(
                &specs(&plan),
                dir.path(),
                Policy {
                    force,
                    backups: true,
                },
            )
            .unwrap_err();
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
        assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "precious");
    }

    #[test]
    fn an_output_path_that_is_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_dir = dir.path().join("file");
        fs::write(&not_a_dir, "x").unwrap();
        let plan = plan_of(vec![artifact("a.conf", "new", 0o644)]);
        let err = apply(
            &specs(&plan),
            &not_a_dir,
            Policy {
                force: true,
                backups: true,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("is not a folder"), "{err}");
    }

    #[test]
    fn group_of_an_unknown_account_gives_a_warning_not_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mut shared = artifact(".htpasswd", "u:h\n", 0o640);
        shared.access = Access::GroupOf("no-such-account-x".parse().unwrap());
        let report = apply(
            &specs(&[shared]),
            dir.path(),
            Policy {
                force: false,
                backups: true,
            },
        )
        .unwrap();
        assert_eq!(report.warnings.len(), 1);
        assert!(report.warnings[0].contains("no-such-account-x"));
        assert_eq!(mode_of(&dir.path().join(".htpasswd")), 0o640);
    }
}

//! The writer: the only module that creates, replaces or changes files (`clippy.toml` fences
//! `std::fs::write` and friends out of the rest of the crate).
//!
//! It checks every target before writing any (existing files without `--force`, symbolic links,
//! folders in the way are all reported at once and nothing is written), then writes each file to
//! a temporary name beside it, created with its final permission bits or narrower, syncs it and
//! renames it into place: an interrupted run leaves the old file or the new one, never half of
//! one. A replaced file is kept as a backup. It must not decide what the files contain.

#![allow(clippy::disallowed_methods)] // the one module allowed to write files

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::model::values::SystemUser;

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
    pub backups: bool,
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
    /// About to move this file into place.
    Rename(&'a str),
}

/// Writes every file into `out_dir`, or nothing when any target is in the way.
///
/// Two phases: every file is first written in full beside its target (a full or read-only
/// folder fails here, and then no target has changed); only then are they moved into place,
/// one rename each, which needs no new space.
pub fn apply(files: &[FileSpec], out_dir: &Path, policy: Policy) -> Result<Report, WriteError> {
    apply_with_faults(files, out_dir, policy, &mut |_| Ok(()))
}

/// `apply`, calling `fault` before each step; an error from it acts as if the step failed.
pub fn apply_with_faults(
    files: &[FileSpec],
    out_dir: &Path,
    policy: Policy,
    fault: &mut dyn FnMut(Step) -> io::Result<()>,
) -> Result<Report, WriteError> {
    let obstacles = survey(files, out_dir, policy)?;
    if !obstacles.is_empty() {
        return Err(WriteError::Obstacles { obstacles });
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(out_dir)
        .map_err(io_error("create the folder", out_dir))?;

    let mut report = Report::default();
    // Files already as planned are left alone, modification time included.
    let (same, to_write): (Vec<&FileSpec>, Vec<&FileSpec>) = files
        .iter()
        .partition(|file| is_same(file, &out_dir.join(file.name)));
    let mut temporaries: Vec<PathBuf> = Vec::new();
    let discard = |temporaries: &[PathBuf]| {
        for temporary in temporaries {
            let _ = fs::remove_file(temporary);
        }
    };

    for artifact in &to_write {
        let written = fault(Step::Write(artifact.name))
            .map_err(io_error("write", &out_dir.join(artifact.name)))
            .and_then(|()| write_temporary(artifact, out_dir, &mut report.warnings));
        match written {
            Ok(temporary) => temporaries.push(temporary),
            Err(error) => {
                discard(&temporaries);
                return Err(error);
            }
        }
    }

    for (index, (artifact, temporary)) in to_write.iter().zip(&temporaries).enumerate() {
        let path = out_dir.join(artifact.name);
        let existed = fs::symlink_metadata(&path).is_ok();
        let moved = (|| {
            let (change, backup) = match (existed, policy.backups) {
                (false, _) => (Change::New, None),
                (true, false) => (Change::Differs, None),
                (true, true) => (Change::Differs, Some(keep_backup(&path)?)),
            };
            fault(Step::Rename(artifact.name))
                .and_then(|()| fs::rename(temporary, &path))
                .map_err(io_error("move into place", &path))?;
            Ok((change, backup))
        })();
        match moved {
            Ok((change, backup)) => report.files.push(Written {
                path,
                mode: artifact.mode,
                change,
                backup,
            }),
            Err(error) => {
                discard(&temporaries[index..]);
                return Err(error);
            }
        }
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
    // The renames are durable only once the folder itself is synced.
    if let Ok(folder) = File::open(out_dir) {
        let _ = folder.sync_all();
    }
    Ok(report)
}

/// Removes one of promsetup's own state files (the remembered answers); a missing file is fine.
pub fn remove_state_file(path: &Path) -> Result<bool, WriteError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(io_error("delete", path)(error)),
    }
}

/// Removes files of `names` from `out_dir` that a bundle no longer uses, each first kept as
/// `NAME.bak` (a hard link, so its bytes and mode stay as they were). Missing files are
/// skipped; a link or a folder at a name is left alone. Returns each removed file and its backup.
pub fn retire(names: &[String], out_dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, WriteError> {
    let mut retired = Vec::new();
    for name in names {
        let path = out_dir.join(name);
        if !fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_file()) {
            continue;
        }
        let backup = keep_backup(&path)?;
        fs::remove_file(&path).map_err(io_error("remove", &path))?;
        retired.push((path, backup));
    }
    if !retired.is_empty()
        && let Ok(folder) = File::open(out_dir)
    {
        let _ = folder.sync_all();
    }
    Ok(retired)
}

/// Whether the file at `path` already has exactly the spec's bytes and mode.
fn is_same(artifact: &FileSpec, path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o7777 == artifact.mode => {
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
                _ if is_same(artifact, &path) => Change::Same,
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
fn survey(files: &[FileSpec], out_dir: &Path, policy: Policy) -> Result<Vec<Obstacle>, WriteError> {
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
            Ok(_) if is_same(artifact, &path) => {}
            Ok(_) if !policy.force => obstacles.push(Obstacle::Exists(path)),
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
    let temporary = out_dir.join(format!(
        ".promsetup-{}-{:016x}.tmp",
        std::process::id(),
        random_tag()
    ));
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

fn random_tag() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    })
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

/// Keeps the file at `path` as `NAME.bak` (or `NAME.bak.1`, `.2`, ...), as a hard link so the
/// backup keeps the original's owner and mode (a key stays 0600).
fn keep_backup(path: &Path) -> Result<PathBuf, WriteError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let folder = path.parent().unwrap_or(Path::new("."));
    for attempt in 0..1000 {
        let backup = folder.join(if attempt == 0 {
            format!("{name}.bak")
        } else {
            format!("{name}.bak.{attempt}")
        });
        match fs::hard_link(path, &backup) {
            Ok(()) => return Ok(backup),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(io_error("keep a backup of", path)(error)),
        }
    }
    Err(WriteError::Io {
        action: "find a free backup name for",
        path: path.to_path_buf(),
        source: io::Error::other("1000 backups exist already"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of the bundle is either exactly as it was or exactly the new one, whichever
    /// step fails; and no temporary file is left behind.
    #[test]
    fn a_failure_at_any_step_leaves_each_file_old_or_complete_and_no_temporaries() {
        let names = ["a.conf", "b.key", "c.crt"];
        let new_plan = || {
            plan_of(
                names
                    .iter()
                    .map(|n| artifact(n, &format!("new {n}\n"), 0o600))
                    .collect(),
            )
        };
        let steps: Vec<String> = names
            .iter()
            .map(|n| format!("write {n}"))
            .chain(names.iter().map(|n| format!("rename {n}")))
            .collect();
        for failing in &steps {
            let dir = tempfile::tempdir().unwrap();
            for name in &names[..2] {
                fs::write(dir.path().join(name), format!("old {name}\n")).unwrap();
            }
            let mut fault = |step: Step| {
                let label = match step {
                    Step::Write(n) => format!("write {n}"),
                    Step::Rename(n) => format!("rename {n}"),
                };
                if &label == failing {
                    Err(io::Error::other("injected"))
                } else {
                    Ok(())
                }
            };
            let policy = Policy {
                force: true,
                backups: true,
            };
            let err =
                apply_with_faults(&specs(&new_plan()), dir.path(), policy, &mut fault).unwrap_err();
            assert!(err.to_string().contains("injected"), "{err}");
            let mut renamed_before_failure = true;
            for name in names {
                let path = dir.path().join(name);
                let now = fs::read_to_string(&path).ok();
                let old = (name != "c.crt").then(|| format!("old {name}\n"));
                let new = Some(format!("new {name}\n"));
                assert!(now == old || now == new, "{failing}: {name} is {now:?}");
                if failing.starts_with("write") {
                    assert_eq!(now, old, "{failing}: a write failure changed {name}");
                }
                if failing == &format!("rename {name}") {
                    renamed_before_failure = false;
                }
                if !renamed_before_failure {
                    assert_eq!(now, old, "{failing}: {name} changed after the failure");
                }
            }
            let leftovers: Vec<_> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect();
            assert!(leftovers.is_empty(), "{failing}: {leftovers:?}");
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

        let newer = plan_of(vec![artifact("k.key", "newer key", 0o600)]);
        apply(
            &specs(&newer),
            dir.path(),
            Policy {
                force: true,
                backups: true,
            },
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("k.key.bak.1")).unwrap(),
            "new key"
        );
        assert_eq!(fs::read_to_string(&backup).unwrap(), "old key");
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

//! One lock per folder promsetup writes to, so that commands that read a folder and then write
//! it (a run, `user add`, `user remove`, `apply`) take turns and each one's change survives.
//!
//! The lock is flock(2) on the folder itself: nothing is created for it, the kernel drops it when
//! its holder exits or is killed (a stale lock never blocks), and it works in a read-only folder.
//! Whoever takes it first puts the folder right after an interrupted run (`journal::recover`).
//!
//! It owns taking, waiting for and naming the holder of the lock. It must not decide what the
//! files contain, and must not be held while waiting for a person, except where a command says so.
//!
//! Use: `let lock = FolderLock::acquire(dir, wait)?;` before reading what the folder holds, keep
//! `lock` alive until the last write (`write::apply` in a locked folder uses the lock its process
//! holds), drop it to release. The same works for any folder, e.g. each installed target folder
//! of `apply` (take them in a fixed order, such as sorted paths, so two runs cannot deadlock).

#![allow(clippy::disallowed_methods)] // part of the writer

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use super::journal::{self, Recovered};
use super::{Obstacle, WriteError};

/// How long a command waits for another one to finish with the folder, unless told otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// Folders (device, inode) this process holds the lock of: `write::apply` checks it, and a
/// second `acquire` in the same process would wait for itself.
static HELD: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

/// The lock of one folder, held until dropped.
pub struct FolderLock {
    dir: PathBuf,
    id: (u64, u64),
    /// Released by the kernel when this is dropped (or the process ends).
    _flock: Flock<File>,
    /// The folders this command made for it (the folder and any missing parents, deepest
    /// first); each is removed again if it is still empty at the end.
    created: Vec<PathBuf>,
    recovered: Recovered,
}

impl std::fmt::Debug for FolderLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderLock")
            .field("dir", &self.dir)
            .finish()
    }
}

impl FolderLock {
    /// Takes the lock of `dir` (made, mode 0755, if it is not there), waiting up to `wait` for
    /// another process to release it; then completes or cleans up after an interrupted run.
    /// Fails with `WriteError::Locked`, naming the holder, when the wait is over.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<FolderLock, WriteError> {
        let created = make_folder(dir)?;
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            let folder = File::open(dir).map_err(io_error("open", dir))?;
            let id = id_of(&folder.metadata().map_err(io_error("read", dir))?);
            if held_here(id) {
                return Err(io_error("lock", dir)(io::Error::other(
                    "this process holds its lock already",
                )));
            }
            match Flock::lock(folder, FlockArg::LockExclusiveNonblock) {
                Ok(flock) => {
                    // The folder may have been removed and made anew while we waited: then
                    // this lock guards nothing, and the new folder's is the one to take.
                    if fs::metadata(dir).is_ok_and(|meta| id_of(&meta) == id) {
                        return FolderLock::taken(dir, id, flock, created);
                    }
                }
                Err((_, Errno::EWOULDBLOCK)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(WriteError::Locked {
                            folder: dir.to_path_buf(),
                            holder: holder(id),
                            waited: wait,
                        });
                    }
                    std::thread::sleep(pause.min(deadline - now));
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err((_, errno)) => return Err(io_error("lock", dir)(io::Error::from(errno))),
            }
        }
    }

    fn taken(
        dir: &Path,
        id: (u64, u64),
        flock: Flock<File>,
        created: Vec<PathBuf>,
    ) -> Result<FolderLock, WriteError> {
        HELD.lock().unwrap_or_else(|e| e.into_inner()).push(id);
        let mut lock = FolderLock {
            dir: dir.to_path_buf(),
            id,
            _flock: flock,
            created,
            recovered: Recovered::default(),
        };
        // Dropping `lock` on error releases it.
        lock.recovered = journal::recover(dir).map_err(WriteError::from)?;
        Ok(lock)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What taking the lock put right: an interrupted run completed, temporaries deleted.
    pub fn recovered(&self) -> &Recovered {
        &self.recovered
    }

    /// A sentence for the user about what was put right, if anything was.
    pub fn recovery_note(&self) -> Option<String> {
        let Recovered {
            completed_run,
            removed,
        } = &self.recovered;
        let dir = self.dir.display();
        match (completed_run, removed.len()) {
            (false, 0) => None,
            (true, 0) => Some(format!("completed an interrupted earlier run in {dir}")),
            (false, n) => Some(format!(
                "deleted {n} temporary file(s) an interrupted earlier run left in {dir}"
            )),
            (true, n) => Some(format!(
                "completed an interrupted earlier run in {dir} and deleted the {n} temporary \
                 file(s) it left"
            )),
        }
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        HELD.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|held| *held != self.id);
        // Only when empty: a command that failed before writing leaves no folder behind.
        for folder in &self.created {
            let _ = fs::remove_dir(folder);
        }
    }
}

/// Whether this process holds the lock of `dir` (so `write::apply` need not take it).
pub fn held_by_this_process(dir: &Path) -> bool {
    fs::metadata(dir).is_ok_and(|meta| held_here(id_of(&meta)))
}

fn held_here(id: (u64, u64)) -> bool {
    HELD.lock().unwrap_or_else(|e| e.into_inner()).contains(&id)
}

fn id_of(meta: &fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Makes the folder if it is missing; true when this call made it.
/// Makes `dir` (mode 0755) and its missing parents; returns the folders it made, deepest first.
fn make_folder(dir: &Path) -> Result<Vec<PathBuf>, WriteError> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(Vec::new()),
        Ok(_) => {
            return Err(WriteError::Obstacles {
                obstacles: vec![Obstacle::NotAFolder(dir.to_path_buf())],
            });
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(io_error("read", dir)(error)),
    }
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|folder| !folder.as_os_str().is_empty() && !folder.exists())
        .map(Path::to_path_buf)
        .collect();
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(io_error("create the folder", dir))?;
    Ok(missing)
}

/// "pid 123: promsetup user add bob", from the kernel's list of locks (`/proc/locks`); the pid
/// is the one that took the lock. `None` where that list is not available.
fn holder(id: (u64, u64)) -> Option<String> {
    let (dev, inode) = id;
    let (major, minor) = (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
    let locks = fs::read_to_string("/proc/locks").ok()?;
    let mut same_inode = Vec::new();
    for line in locks.lines().filter(|line| !line.contains("->")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, "FLOCK", _, _, pid, place, ..] = fields.as_slice() else {
            continue;
        };
        let parts: Vec<&str> = place.split(':').collect();
        let [maj, min, ino] = parts.as_slice() else {
            continue;
        };
        if ino.parse::<u64>().ok() != Some(inode) {
            continue;
        }
        let same_device = u64::from_str_radix(maj, 16).ok() == Some(major)
            && u64::from_str_radix(min, 16).ok() == Some(minor);
        same_inode.push((same_device, pid.to_string()));
    }
    // Overlay file systems report another device than stat: then the inode alone decides.
    let pid = same_inode
        .iter()
        .find(|(same_device, _)| *same_device)
        .or(same_inode.first())
        .map(|(_, pid)| pid.clone())?;
    let command = fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .map(|bytes| {
            let text = String::from_utf8_lossy(&bytes).replace('\0', " ");
            let text: String = text.trim().chars().filter(|c| !c.is_control()).collect();
            if text.chars().count() > 200 {
                format!("{}...", text.chars().take(200).collect::<String>())
            } else {
                text
            }
        })
        .filter(|text| !text.is_empty());
    Some(match command {
        Some(command) => format!("pid {pid}: {command}"),
        None => format!("pid {pid}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_folder_a_lock_made_goes_again_when_left_empty() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        drop(FolderLock::acquire(&deep, Duration::ZERO).unwrap());
        assert!(!dir.path().join("a").exists());
        // A folder that holds something stays, and so do its parents.
        let lock = FolderLock::acquire(&deep, Duration::ZERO).unwrap();
        std::fs::File::create(deep.join("kept")).unwrap();
        drop(lock);
        assert!(deep.join("kept").exists());
    }

    #[test]
    fn a_second_taker_waits_then_is_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let held = FolderLock::acquire(dir.path(), Duration::ZERO).unwrap();
        assert!(held_by_this_process(dir.path()));
        // Another open file description, as another process would have.
        let other = File::open(dir.path()).unwrap();
        let Err((other, errno)) = Flock::lock(other, FlockArg::LockExclusiveNonblock) else {
            panic!("the lock was not exclusive");
        };
        assert_eq!(errno, Errno::EWOULDBLOCK);
        let id = id_of(&other.metadata().unwrap());
        let named = holder(id).expect("/proc/locks names the holder");
        assert!(
            named.starts_with(&format!("pid {}", std::process::id())),
            "{named}"
        );
        drop(held);
        assert!(!held_by_this_process(dir.path()));
        let again = FolderLock::acquire(dir.path(), Duration::ZERO).unwrap();
        drop(again);
    }

    #[test]
    fn a_folder_made_for_a_command_that_wrote_nothing_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("bundle");
        let lock = FolderLock::acquire(&fresh, Duration::ZERO).unwrap();
        assert!(fresh.is_dir());
        drop(lock);
        assert!(!fresh.exists());
    }
}

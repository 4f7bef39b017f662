//! The journal that makes one run's changes to a folder all or nothing, and the temporaries
//! promsetup leaves while writing.
//!
//! A run first writes every new file (and every backup) in full under a temporary name, synced.
//! Then it commits: it writes the list of moves and removals to `.promsetup-journal` (written
//! beside, synced, renamed into place, folder synced). Only then are the files moved into place.
//! Before the journal exists nothing has changed, and the temporaries are simply deleted; once it
//! exists the run counts as done, and whoever holds the folder's lock next (the same run, or the
//! next command after a crash) carries the list out to the end: each step can be repeated, so a
//! half-finished list is finished, never undone.
//!
//! It owns the journal's format, carrying it out, and finding and removing temporaries. It must
//! not decide what files contain, and must only run under the folder's lock (`write::lock`):
//! cleaning up while another run writes would delete its temporaries.

#![allow(clippy::disallowed_methods)] // part of the writer

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The journal of a committed run, in the folder it changes.
pub const JOURNAL_FILE: &str = ".promsetup-journal";
const TEMPORARY_PREFIX: &str = ".promsetup-";
const TEMPORARY_SUFFIX: &str = ".tmp";
const HEADER: &str = "promsetup journal 1";
const END: &str = "end";

/// One step of a committed run, by file names in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Rename the temporary `from` over `to`; done once `from` is gone.
    Move { from: String, to: String },
    /// Delete `name` (an old backup); done once it is gone.
    Remove(String),
}

/// An I/O step that failed, with what it was doing and where.
#[derive(Debug)]
pub struct IoFailure {
    pub action: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
}

fn failed<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> IoFailure + 'a {
    move |source| IoFailure {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A fresh temporary name: short and fixed in length, so a long target name cannot make it too
/// long for the file system; the pid says which run left it.
pub fn temporary_name() -> String {
    let tag = getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    format!(
        "{TEMPORARY_PREFIX}{}-{tag:016x}{TEMPORARY_SUFFIX}",
        std::process::id()
    )
}

fn is_temporary(name: &str) -> bool {
    name.starts_with(TEMPORARY_PREFIX) && name.ends_with(TEMPORARY_SUFFIX)
}

/// Makes the folder's entries (new names, renames, removals) durable. A failure is an error:
/// after it, nobody knows which of them survive a crash.
pub fn sync_folder(dir: &Path) -> Result<(), IoFailure> {
    File::open(dir)
        .and_then(|folder| folder.sync_all())
        .map_err(failed("sync the folder", dir))
}

/// The commit point: writes the journal of `ops` in full, synced, then renames it into place and
/// syncs the folder. After an error nothing is committed (its temporary is removed).
pub fn commit(dir: &Path, ops: &[Op]) -> Result<(), IoFailure> {
    let mut text = format!("{HEADER}\n");
    for op in ops {
        let line = match op {
            Op::Move { from, to } => format!("move\t{from}\t{to}\n"),
            Op::Remove(name) => format!("remove\t{name}\n"),
        };
        text.push_str(&line);
    }
    text.push_str(END);
    text.push('\n');
    let temporary = dir.join(temporary_name());
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    })()
    .map_err(failed("write the journal", &temporary));
    let journal = dir.join(JOURNAL_FILE);
    let moved = written.and_then(|()| {
        fs::rename(&temporary, &journal).map_err(failed("commit the journal", &journal))
    });
    if let Err(error) = moved {
        let _ = fs::remove_file(&temporary); // best effort: the next locked command removes it
        return Err(error);
    }
    sync_folder(dir)
}

/// The committed run's steps, if a journal is there.
pub fn read(dir: &Path) -> Result<Option<Vec<Op>>, IoFailure> {
    let path = dir.join(JOURNAL_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(failed("read the journal", &path)(error)),
    };
    parse(&text).map(Some).ok_or_else(|| IoFailure {
        action: "read the journal",
        path,
        source: io::Error::new(
            io::ErrorKind::InvalidData,
            "it is damaged; compare the files with their .bak copies, then delete it",
        ),
    })
}

fn parse(text: &str) -> Option<Vec<Op>> {
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    let mut ops = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            [END] => return Some(ops),
            ["move", from, to] if plain(from) && plain(to) => ops.push(Op::Move {
                from: from.to_string(),
                to: to.to_string(),
            }),
            ["remove", name] if plain(name) => ops.push(Op::Remove(name.to_string())),
            _ => return None,
        }
    }
    None // no end line: not a journal this module wrote
}

/// A bare file name in the folder: what the journal may touch.
fn plain(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// Carries out `ops` in order, calling `before` ahead of each (the tests' fault hook). Every step
/// can be repeated: a move whose temporary is gone, or a removal of a missing file, is done.
pub fn carry_out(
    dir: &Path,
    ops: &[Op],
    before: &mut dyn FnMut(&Op) -> io::Result<()>,
) -> Result<(), IoFailure> {
    for op in ops {
        match op {
            Op::Move { from, to } => {
                let target = dir.join(to);
                before(op).map_err(failed("move into place", &target))?;
                match fs::rename(dir.join(from), &target) {
                    Err(error) if error.kind() != io::ErrorKind::NotFound => {
                        return Err(failed("move into place", &target)(error));
                    }
                    _ => {}
                }
            }
            Op::Remove(name) => {
                let path = dir.join(name);
                before(op).map_err(failed("delete", &path))?;
                match fs::remove_file(&path) {
                    Err(error) if error.kind() != io::ErrorKind::NotFound => {
                        return Err(failed("delete", &path)(error));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// Ends a carried-out run: syncs its renames, then deletes the journal and syncs again.
pub fn finish(dir: &Path) -> Result<(), IoFailure> {
    sync_folder(dir)?;
    let journal = dir.join(JOURNAL_FILE);
    match fs::remove_file(&journal) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            return Err(failed("delete the journal", &journal)(error));
        }
        _ => {}
    }
    sync_folder(dir)
}

/// What the lock's holder found and put right.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// A committed run was interrupted, and has now been completed.
    pub completed_run: bool,
    /// Temporaries of interrupted runs, now deleted.
    pub removed: Vec<PathBuf>,
}

/// Puts the folder right after an interrupted run: completes a committed run, then deletes the
/// temporaries runs left. Only under the folder's lock.
pub fn recover(dir: &Path) -> Result<Recovered, IoFailure> {
    let mut recovered = Recovered::default();
    if let Some(ops) = read(dir)? {
        carry_out(dir, &ops, &mut |_| Ok(()))?;
        finish(dir)?;
        recovered.completed_run = true;
    }
    for path in temporaries(dir) {
        match fs::remove_file(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(failed("delete the leftover", &path)(error));
            }
            _ => recovered.removed.push(path),
        }
    }
    if !recovered.removed.is_empty() {
        sync_folder(dir)?;
    }
    Ok(recovered)
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| is_temporary(&entry.file_name().to_string_lossy()))
        .map(|entry| entry.path())
        .collect();
    found.sort();
    found
}

/// What interrupted runs left in `dir`: their temporaries (which may be copies of a key), and
/// the journal of a run that is not complete yet. The next command that takes the folder's lock
/// deals with all of them; `verify` reports them.
pub fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = temporaries(dir);
    let journal = dir.join(JOURNAL_FILE);
    if fs::symlink_metadata(&journal).is_ok() {
        found.push(journal);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_reads_back_as_written_and_a_cut_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ops = vec![
            Op::Move {
                from: temporary_name(),
                to: "nginx.conf".into(),
            },
            Op::Remove("nginx.conf.bak.1".into()),
        ];
        commit(dir.path(), &ops).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(ops));
        let text = fs::read_to_string(dir.path().join(JOURNAL_FILE)).unwrap();
        assert!(parse(text.strip_suffix("end\n").unwrap()).is_none());
        assert!(parse("promsetup journal 1\nmove\t../x\ty\nend\n").is_none());
        assert!(leftovers(dir.path()).ends_with(&[dir.path().join(JOURNAL_FILE)]));
    }

    #[test]
    fn recovery_completes_a_half_carried_out_run_and_deletes_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (first, second, stray) = (temporary_name(), temporary_name(), temporary_name());
        for (name, text) in [
            ("a", "old a"),
            ("b", "old b"),
            (first.as_str(), "new a"),
            (second.as_str(), "new b"),
            (stray.as_str(), "stray"),
            ("b.bak.3", "ancient"),
        ] {
            fs::write(d.join(name), text).unwrap();
        }
        let ops = vec![
            Op::Move {
                from: first.clone(),
                to: "a".into(),
            },
            Op::Move {
                from: second.clone(),
                to: "b".into(),
            },
            Op::Remove("b.bak.3".into()),
        ];
        commit(d, &ops).unwrap();
        // Interrupted after the first move.
        carry_out(d, &ops[..1], &mut |_| Ok(())).unwrap();
        assert_eq!(leftovers(d).len(), 3); // second, stray, journal

        let recovered = recover(d).unwrap();
        assert!(recovered.completed_run);
        assert_eq!(recovered.removed, vec![d.join(&stray)]);
        assert_eq!(fs::read_to_string(d.join("a")).unwrap(), "new a");
        assert_eq!(fs::read_to_string(d.join("b")).unwrap(), "new b");
        assert!(!d.join("b.bak.3").exists());
        assert!(leftovers(d).is_empty());
        // Nothing left to do the second time.
        assert_eq!(recover(d).unwrap(), Recovered::default());
    }
}

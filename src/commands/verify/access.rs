//! Small read-only facts about paths and accounts for the checks: whether two paths are one
//! file, whether an account can read a file, account and group names, where a program is. It
//! must not report findings or change anything.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Group, User};

pub(super) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Whether two paths name the same file (or would, once both exist).
pub(super) fn same_path(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| {
        p.canonicalize().ok().or_else(|| {
            let parent = p.parent()?.canonicalize().ok()?;
            Some(parent.join(p.file_name()?))
        })
    };
    match (canonical(a), canonical(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// The absolute path of a program (`host::program`'s lookup: absolute PATH entries, then the
/// system's folders, where nginx lives though a user's PATH may lack them).
pub(super) fn find_program(name: &str) -> Option<PathBuf> {
    crate::host::program::find(name)
}

pub(super) fn group_name(gid: Gid) -> String {
    crate::host::group_name(gid.as_raw())
}

pub(super) use crate::host::user_name;

/// Whether `account` (with `group` in place of its own, as `user USER GROUP;` says) can read
/// `path`: search permission on every folder above it, read permission on the file.
pub(super) fn readable_by(path: &Path, account: &User, group: Option<Gid>) -> Result<(), String> {
    if account.uid.is_root() {
        return Ok(());
    }
    let path = std::path::absolute(path).map_err(|e| e.to_string())?;
    let member = |gid: u32| {
        group.unwrap_or(account.gid).as_raw() == gid
            || Group::from_gid(Gid::from_raw(gid))
                .ok()
                .flatten()
                .is_some_and(|g| g.mem.contains(&account.name))
    };
    let allowed = |meta: &std::fs::Metadata, bit: u32| {
        let mode = meta.mode();
        if meta.uid() == account.uid.as_raw() {
            mode & (bit << 6) != 0
        } else if member(meta.gid()) {
            mode & (bit << 3) != 0
        } else {
            mode & bit != 0
        }
    };
    let describe = |meta: &std::fs::Metadata| {
        format!(
            "mode {:04o}, owner {}, group {}",
            meta.mode() & 0o7777,
            user_name(meta.uid()),
            group_name(Gid::from_raw(meta.gid()))
        )
    };
    let ancestors: Vec<&Path> = path.ancestors().skip(1).collect();
    for folder in ancestors.into_iter().rev() {
        let meta = std::fs::metadata(folder).map_err(|e| e.to_string())?;
        if !allowed(&meta, 0o1) {
            return Err(format!(
                "it cannot enter the folder {} ({})",
                folder.display(),
                describe(&meta)
            ));
        }
    }
    let meta = std::fs::metadata(&path).map_err(|e| e.to_string())?;
    if allowed(&meta, 0o4) {
        Ok(())
    } else {
        Err(describe(&meta))
    }
}

/// A command for `program` (an absolute path) with a clean, minimal environment (no
/// `PROMSETUP_PASSWORD`, no proxy or loader variables; `host::program`'s), reading nothing.
pub(super) fn clean_command(program: &Path) -> std::process::Command {
    let mut command = crate::host::program::command_at(program);
    command.stdin(std::process::Stdio::null());
    command
}

/// Why someone other than root could change `path` (the file, or a folder above it), when
/// one could: a root process must not act on such a file, which may change between a check
/// and its use. A root-owned folder with the sticky bit (/tmp) protects what root owns in it.
pub(super) fn writable_by_others(path: &Path) -> Option<String> {
    let path = std::path::absolute(path).ok()?;
    let path = path.canonicalize().unwrap_or(path);
    let mut components: Vec<&Path> = path.ancestors().collect();
    components.reverse();
    for (index, component) in components.iter().enumerate() {
        let Ok(meta) = std::fs::metadata(component) else {
            continue;
        };
        let mode = meta.mode();
        let is_last = index + 1 == components.len();
        // A sticky folder above keeps others from replacing what root owns in it.
        let guarded = is_last || mode & 0o1000 == 0;
        let reason = if meta.uid() != 0 {
            Some(format!("it is owned by {}", user_name(meta.uid())))
        } else if guarded && mode & 0o002 != 0 {
            Some("every user can write to it".to_string())
        } else if guarded && mode & 0o020 != 0 && meta.gid() != 0 {
            Some(format!(
                "its group {} can write to it",
                group_name(Gid::from_raw(meta.gid()))
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Some(format!(
                "{} {} ({reason}, mode {:04o})",
                if is_last { "the file" } else { "the folder" },
                component.display(),
                mode & 0o7777
            ));
        }
    }
    None
}

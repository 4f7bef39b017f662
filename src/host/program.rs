//! Starting another program (`nginx -V` here; `nginx -t` and `promtool` in `verify`): found by
//! absolute path, run with a minimal environment. A child must not inherit `PROMSETUP_PASSWORD`
//! or anything else of the user's environment, and a `nginx` in the current folder or in a
//! relative `PATH` entry must never be the one run.
//!
//! It builds the `Command` and must not run it, nor decide what to make of its answer.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `PATH` children get: the system folders, where nginx and promtool are installed.
pub const CHILD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The absolute path of `name` in the absolute entries of `path` (relative entries, `.` and the
/// empty entry are skipped), if one is an executable regular file.
pub fn find_in(name: &str, path: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if name.contains('/') {
        return None;
    }
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// The absolute path of `name`: in the process's `PATH`, else in `CHILD_PATH` (`nginx` lives in
/// `/usr/sbin`, which a user's `PATH` may lack).
pub fn find(name: &str) -> Option<PathBuf> {
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    find_in(name, &inherited).or_else(|| find_in(name, OsStr::new(CHILD_PATH)))
}

/// A command for the program at `program` with an empty environment but `PATH=CHILD_PATH` and
/// `LC_ALL=C` (messages in a form promsetup can read).
pub fn command_at(program: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", CHILD_PATH)
        .env("LC_ALL", "C");
    command
}

/// A command for `name`, found by `find`; `None` when it is not installed.
pub fn command(name: &str) -> Option<Command> {
    find(name).map(|program| command_at(&program))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_path_entries_are_never_searched() {
        // `sh` is in /bin or /usr/bin on every system these tests run on.
        let found = find_in("sh", OsStr::new(".::bin:/usr/bin:/bin")).unwrap();
        assert!(found.is_absolute(), "{}", found.display());
        assert_eq!(find_in("sh", OsStr::new(".:bin:usr/bin")), None);
        assert_eq!(find_in("./sh", OsStr::new("/bin")), None);
    }

    #[test]
    fn a_child_sees_no_environment_but_path_and_locale() {
        let output = command("env").unwrap().output().unwrap();
        let mut lines: Vec<_> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        assert_eq!(
            lines,
            ["LC_ALL=C".to_string(), format!("PATH={CHILD_PATH}")]
        );
    }
}

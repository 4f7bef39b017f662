//! Reading the files verify is pointed at, with bounded work whoever made them: a file is
//! opened without blocking (a FIFO does not hang it), must be a regular file after following
//! symbolic links (a device such as /dev/zero is refused), and is read up to a size cap. It
//! owns those limits; it must not write, and it never follows anything but the path given.

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use nix::fcntl::OFlag;

/// A certificate chain or key: a few kilobytes; a long chain stays far below this.
pub(super) const PEM_LIMIT: u64 = 1024 * 1024;
/// nginx.conf, web.yml, prometheus.flags.
pub(super) const CONFIG_LIMIT: u64 = 1024 * 1024;
/// `.htpasswd`: about 80 bytes a user, so some 800,000 users.
pub(super) const USER_FILE_LIMIT: u64 = 64 * 1024 * 1024;

/// Why a file was not read, worded for a finding ("is a FIFO, not a regular file").
#[derive(Debug)]
pub(super) enum NotRead {
    /// There is nothing at the path (a dangling link counts).
    Missing,
    Refused(String),
}

impl std::fmt::Display for NotRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotRead::Missing => write!(f, "it does not exist"),
            NotRead::Refused(why) => write!(f, "{why}"),
        }
    }
}

/// The bytes of the regular file at `path` (links followed), at most `limit` of them.
pub(super) fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, NotRead> {
    // Read-only, and without blocking: a FIFO opens at once instead of waiting for a writer.
    let fd = nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|errno| match errno {
        nix::errno::Errno::ENOENT => NotRead::Missing,
        errno => NotRead::Refused(std::io::Error::from(errno).to_string()),
    })?;
    let file = std::fs::File::from(fd);
    let meta = file
        .metadata()
        .map_err(|error| NotRead::Refused(error.to_string()))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_dir() {
            "a folder"
        } else {
            "not a file"
        };
        return Err(NotRead::Refused(format!(
            "it is {what}, not a regular file"
        )));
    }
    if meta.len() > limit {
        return Err(NotRead::Refused(format!(
            "it is {} bytes, more than the {} verify reads",
            meta.len(),
            limit
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow after fstat: the cap holds anyway.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| NotRead::Refused(error.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(NotRead::Refused(format!(
            "it grew past the {limit} bytes verify reads"
        )));
    }
    Ok(bytes)
}

/// What to do about a file that was not read.
pub(super) fn unreadable_fix(why: &NotRead) -> &'static str {
    match why {
        NotRead::Refused(text) if text.contains("Permission denied") => {
            "run verify as a user who can read it (e.g. root)"
        }
        NotRead::Missing => {
            "put the file there (write the bundle again with promsetup ... --force)"
        }
        NotRead::Refused(_) => {
            "put a regular file of the bundle there instead (write the bundle again with \
             promsetup ... --force)"
        }
    }
}

/// `read_capped` of a text file: UTF-8 or refused, saying so.
pub(super) fn read_text(path: &Path, limit: u64) -> Result<String, NotRead> {
    String::from_utf8(read_capped(path, limit)?)
        .map_err(|error| NotRead::Refused(format!("it is not UTF-8 text ({error})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_big_files_are_refused_and_missing_is_told_apart() {
        let err = read_capped(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        assert!(matches!(
            read_capped(Path::new("/nonexistent/promsetup"), 10),
            Err(NotRead::Missing)
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        #[allow(clippy::disallowed_methods)]
        std::fs::write(&path, b"0123456789abc").unwrap();
        assert!(
            read_capped(&path, 12)
                .unwrap_err()
                .to_string()
                .contains("13 bytes")
        );
        assert_eq!(read_capped(&path, 13).unwrap().len(), 13);
        #[allow(clippy::disallowed_methods)]
        std::fs::write(&path, b"\xff\xfe").unwrap();
        assert!(
            read_text(&path, 13)
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
    }
}

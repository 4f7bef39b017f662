//! Bounded reads of what a user hands over: a file named by a flag (`--config`,
//! `--password-file`, `--tls-cert`, `--tls-key`) or standard input. Each read stops at a limit
//! stated here, and a path that is not a regular file (`/dev/zero`, a FIFO, a folder) is refused
//! before it is opened, so a mistaken or hostile path can neither exhaust memory nor hang a run.
//!
//! It reads and must not write, print, or keep what it read: callers own the bytes (secrets in
//! buffers that are wiped, sized here so they are never reallocated).

use std::io::{BufRead, Read};
use std::path::Path;

use zeroize::Zeroizing;

/// An answers file: a few hundred bytes in practice.
pub const ANSWERS_LIMIT: u64 = 64 * 1024;
/// A password line: a password is under 72 bytes; room for a comment or spaces after it.
pub const PASSWORD_LINE_LIMIT: usize = 4096;
/// A file of a bundle read back (`.htpasswd` with many users, `nginx.conf`, a certificate).
pub const BUNDLE_FILE_LIMIT: u64 = 16 * 1024 * 1024;
/// A certificate chain or a key in PEM (a long chain is a few tens of kilobytes).
pub const PEM_LIMIT: u64 = 1024 * 1024;

fn too_large(what: &str, limit: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{what} is larger than {limit} bytes, more than it can be"),
    )
}

/// Opens `path` for reading if it is a regular file (following symbolic links, as `cat` does).
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    let not_regular = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is not a regular file (a device, FIFO or folder is never read)",
        )
    };
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path)?;
    // Checked again on what was opened: the path may have been swapped in between.
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// Reads at most `limit` bytes of `reader` into a buffer wiped on drop; more is an error.
fn read_limited(reader: impl Read, limit: u64, what: &str) -> std::io::Result<Zeroizing<Vec<u8>>> {
    // Sized up front so the buffer is never reallocated (a reallocation leaves an unwiped copy).
    let mut bytes = Zeroizing::new(Vec::with_capacity(limit as usize + 1));
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(what, limit));
    }
    Ok(bytes)
}

/// The whole of a regular file of at most `limit` bytes.
pub fn file(path: &Path, limit: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    read_limited(open_regular(path)?, limit, "the file")
}

/// The whole of a regular file of at most `limit` bytes, as UTF-8 text.
pub fn text_file(path: &Path, limit: u64) -> std::io::Result<String> {
    let bytes = file(path, limit)?;
    std::str::from_utf8(&bytes)
        .map(str::to_string)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

/// All of a stream (standard input) up to `limit` bytes, as UTF-8 text.
pub fn text_stream(reader: &mut dyn Read, limit: u64) -> std::io::Result<String> {
    let bytes = read_limited(reader, limit, "standard input")?;
    std::str::from_utf8(&bytes)
        .map(str::to_string)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

/// The first line of `reader` without its line ending, reading no further than that line, and
/// at most `PASSWORD_LINE_LIMIT` bytes of it. In a buffer wiped on drop.
pub fn first_line(reader: &mut dyn BufRead) -> std::io::Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(Vec::with_capacity(PASSWORD_LINE_LIMIT + 1));
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            break;
        }
        let (taken, done) = match available.iter().position(|byte| *byte == b'\n') {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        let room = PASSWORD_LINE_LIMIT + 1 - line.len();
        line.extend_from_slice(&available[..taken.min(room)]);
        reader.consume(taken);
        if line.len() > PASSWORD_LINE_LIMIT {
            return Err(too_large("the first line", PASSWORD_LINE_LIMIT as u64));
        }
        if done {
            break;
        }
    }
    let end = line
        .iter()
        .rposition(|byte| !matches!(byte, b'\n' | b'\r'))
        .map_or(0, |last| last + 1);
    line.truncate(end);
    let text = std::str::from_utf8(&line).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text")
    })?;
    let mut owned = Zeroizing::new(String::with_capacity(text.len()));
    owned.push_str(text);
    Ok(owned)
}

/// The first line of a regular file, as `first_line` reads it; the rest of the file is left
/// unread beyond the limit.
pub fn file_first_line(path: &Path) -> std::io::Result<Zeroizing<String>> {
    let mut head = Zeroizing::new(Vec::with_capacity(PASSWORD_LINE_LIMIT + 1));
    open_regular(path)?
        .take(PASSWORD_LINE_LIMIT as u64 + 1)
        .read_to_end(&mut head)?;
    first_line(&mut head.as_slice())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests arrange files by hand
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_folders_are_refused_before_reading() {
        for path in ["/dev/zero", "/dev/null", "/tmp"] {
            let err = file(Path::new(path), 10).unwrap_err();
            assert!(
                err.to_string().contains("not a regular file"),
                "{path}: {err}"
            );
            let err = file_first_line(Path::new(path)).unwrap_err();
            assert!(
                err.to_string().contains("not a regular file"),
                "{path}: {err}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // Opening a FIFO without a writer would block: refused without opening.
        assert!(file(&fifo, 10).is_err());
    }

    #[test]
    fn a_file_over_the_limit_is_an_error_at_the_limit_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, "0123456789").unwrap();
        assert_eq!(file(&path, 10).unwrap().as_slice(), b"0123456789");
        let err = file(&path, 9).unwrap_err();
        assert!(err.to_string().contains("larger than 9 bytes"), "{err}");
    }

    #[test]
    fn first_line_stops_at_its_end_and_at_the_limit() {
        let mut input: &[u8] = b"secret\r\nmore";
        assert_eq!(first_line(&mut input).unwrap().as_str(), "secret");
        assert_eq!(input, b"more");
        let endless = std::io::repeat(0);
        let mut endless = std::io::BufReader::new(endless);
        let err = first_line(&mut endless).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
        let long = vec![b'a'; PASSWORD_LINE_LIMIT];
        assert_eq!(first_line(&mut long.as_slice()).unwrap().len(), long.len());
    }

    #[test]
    fn a_stream_is_read_to_its_limit_only() {
        let mut endless = std::io::repeat(b'a');
        let err = text_stream(&mut endless, 1000).unwrap_err();
        assert!(
            err.to_string().contains("standard input is larger"),
            "{err}"
        );
        let mut input: &[u8] = b"domain = \"a\"\n";
        assert_eq!(text_stream(&mut input, 1000).unwrap(), "domain = \"a\"\n");
    }
}

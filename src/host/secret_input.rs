//! Reading a secret the user hands over: the password from standard input (through a buffer that
//! is wiped, unlike std's), from a file, or from `PROMSETUP_PASSWORD`; or a generated one.
//!
//! It reads and must not print, log or keep what it read beyond the `Password` it returns.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::host::bounded_read;
use crate::model::password::{Password, PasswordSource};
use crate::model::values::Invalid;

/// Standard input read straight from file descriptor 0 into a buffer that is wiped when dropped.
/// `std::io::stdin()` keeps its own buffer for the life of the process, where a password read
/// with `--password-stdin` would stay.
pub struct WipedStdin {
    buffer: Zeroizing<Vec<u8>>,
    start: usize,
    end: usize,
}

impl WipedStdin {
    pub fn new() -> WipedStdin {
        WipedStdin {
            buffer: Zeroizing::new(vec![0; 4096]),
            start: 0,
            end: 0,
        }
    }
}

impl Default for WipedStdin {
    fn default() -> Self {
        Self::new()
    }
}

impl std::io::Read for WipedStdin {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(out.len());
        out[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

impl BufRead for WipedStdin {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.start == self.end {
            let read = loop {
                match nix::unistd::read(std::io::stdin(), &mut self.buffer) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    other => break other.map_err(std::io::Error::from)?,
                }
            };
            (self.start, self.end) = (0, read);
        }
        Ok(&self.buffer[self.start..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.start = (self.start + amount).min(self.end);
    }
}

/// The environment variable that may carry the password.
pub const PASSWORD_ENV: &str = "PROMSETUP_PASSWORD";

/// The password in `PROMSETUP_PASSWORD`, if set. A value that is not UTF-8 is an error, not
/// "unset": otherwise a password would be generated and the user's silently ignored.
pub fn from_environment() -> Result<Option<Zeroizing<String>>, PasswordError> {
    match std::env::var(PASSWORD_ENV) {
        Ok(value) => Ok(Some(Zeroizing::new(value))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(PasswordError::Rule {
            origin: format!("the environment variable {PASSWORD_ENV}"),
            why: Invalid("it is not valid UTF-8".into()),
        }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot read the password from standard input: {0}")]
    Stdin(std::io::Error),
    #[error("cannot read the password file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the password from {origin} is not accepted: {why}")]
    Rule { origin: String, why: Invalid },
}

/// The password, and whether promsetup made it (then it must be stored for the user).
pub struct ObtainedPassword {
    pub password: Password,
    pub generated: bool,
}

/// The password a flag's source names, else `PROMSETUP_PASSWORD` when it is set, else `None`
/// (the caller asks, generates, or goes without).
pub fn given(
    source: Option<&PasswordSource>,
    stdin: &mut dyn BufRead,
) -> Result<Option<ObtainedPassword>, PasswordError> {
    let environment = from_environment()?;
    let source = source
        .cloned()
        .or_else(|| environment.is_some().then_some(PasswordSource::Environment));
    source
        .map(|source| obtain(&source, stdin, environment))
        .transpose()
}

/// Reads or generates the password. `environment` is the value of `PROMSETUP_PASSWORD`, passed in
/// so that this stays testable without touching the process environment.
pub fn obtain(
    source: &PasswordSource,
    stdin: &mut dyn BufRead,
    environment: Option<Zeroizing<String>>,
) -> Result<ObtainedPassword, PasswordError> {
    let (text, origin) = match source {
        PasswordSource::Generate => {
            return Ok(ObtainedPassword {
                password: Password::generate(),
                generated: true,
            });
        }
        PasswordSource::Stdin => (
            first_line(stdin).map_err(PasswordError::Stdin)?,
            "standard input".to_string(),
        ),
        PasswordSource::File(path) => (
            read_file_line(path).map_err(|source| PasswordError::File {
                path: path.clone(),
                source,
            })?,
            format!("the file {}", path.display()),
        ),
        PasswordSource::Environment => (
            environment.unwrap_or_default(),
            format!("the environment variable {PASSWORD_ENV}"),
        ),
        // The wizard passes a typed password on itself; reaching here means none was typed.
        PasswordSource::Typed => (Zeroizing::default(), "the prompt".to_string()),
    };
    let password = Password::new(text).map_err(|why| PasswordError::Rule { origin, why })?;
    Ok(ObtainedPassword {
        password,
        generated: false,
    })
}

/// The first line, without its line ending: what `echo secret |` and `printf secret` both give.
/// Bounded (`bounded_read`): an endless stream such as `</dev/zero` is an error, not a hang.
fn first_line(reader: &mut dyn BufRead) -> std::io::Result<Zeroizing<String>> {
    bounded_read::first_line(reader)
}

/// The first line of a regular file, without its ending, in a buffer wiped on drop; a device,
/// FIFO or folder is refused and an overlong first line is an error (`bounded_read`).
pub fn read_file_line(path: &Path) -> std::io::Result<Zeroizing<String>> {
    bounded_read::file_first_line(path)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests arrange files by hand
mod tests {
    use super::*;

    #[test]
    fn wiped_stdin_reads_lines_like_a_buffered_reader() {
        // fd 0 of the test runner is not ours to feed; the BufRead contract is what matters,
        // exercised on a buffer filled by hand.
        let mut reader = WipedStdin::new();
        reader.buffer[..12].copy_from_slice(b"pw line\nnext");
        reader.end = 12;
        let line = first_line(&mut reader).unwrap();
        assert_eq!(line.as_str(), "pw line");
        assert_eq!(reader.fill_buf().unwrap(), b"next");
    }

    #[test]
    fn stdin_gives_the_first_line_without_its_ending() {
        let mut input: &[u8] = b"first line\r\nsecond\n";
        let got = obtain(&PasswordSource::Stdin, &mut input, None).unwrap();
        assert_eq!(got.password.expose(), "first line");
        assert!(!got.generated);
    }

    #[test]
    fn empty_stdin_is_refused_naming_where_it_came_from() {
        let mut input: &[u8] = b"";
        let err = obtain(&PasswordSource::Stdin, &mut input, None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("standard input") && err.contains("empty"),
            "{err}"
        );
    }

    #[test]
    fn environment_and_file_sources_are_read() {
        let mut none: &[u8] = b"";
        let env = Some(Zeroizing::new("from-env".to_string()));
        let got = obtain(&PasswordSource::Environment, &mut none, env).unwrap();
        assert_eq!(got.password.expose(), "from-env");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "from-file\n").unwrap();
        let got = obtain(&PasswordSource::File(path.clone()), &mut none, None).unwrap();
        assert_eq!(got.password.expose(), "from-file");

        let missing = dir.path().join("missing");
        let err = obtain(&PasswordSource::File(missing), &mut none, None)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("missing"), "{err}");
    }
}

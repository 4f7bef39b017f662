//! The password: its rules, where it comes from (standard input, a file, the environment, or
//! generated), and its bcrypt hash.
//!
//! A `Password` never shows itself: `Debug` and `Display` print a mask, and its bytes are wiped
//! when it is dropped. This module must not print, log or write the password anywhere; the plan
//! decides which file a generated password goes to, and the writer writes it.

use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::values::{BcryptCost, Invalid};

/// bcrypt reads at most 72 bytes; anything after is ignored, so a longer password would be
/// accepted with any ending. Refuse instead of truncating.
pub const BCRYPT_MAX_BYTES: usize = 72;

/// Length of a generated password: 32 characters from 62 give about 190 bits, which no offline
/// attack on a leaked hash can search whatever the bcrypt cost.
pub const GENERATED_LENGTH: usize = 32;

pub struct Password(Zeroizing<String>);

impl Password {
    /// Checks the rules a basic-auth password must meet to be stored and checked exactly.
    pub fn new(text: Zeroizing<String>) -> Result<Password, Invalid> {
        if text.is_empty() {
            return Err(Invalid("the password is empty".into()));
        }
        if text.contains(['\n', '\r']) {
            return Err(Invalid(
                "the password contains a line break; a password is a single line".into(),
            ));
        }
        if text.contains('\0') {
            return Err(Invalid("the password contains a NUL character".into()));
        }
        if text.len() >= BCRYPT_MAX_BYTES {
            return Err(Invalid(format!(
                "the password is {} bytes long; bcrypt ignores everything past byte {}, so it \
                 must be shorter than {} bytes",
                text.len(),
                BCRYPT_MAX_BYTES,
                BCRYPT_MAX_BYTES
            )));
        }
        Ok(Password(text))
    }

    /// A fresh random password of letters and digits, drawn from the operating system.
    pub fn generate() -> Password {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut text = Zeroizing::new(String::with_capacity(GENERATED_LENGTH));
        let mut byte = [0u8; 1];
        while text.len() < GENERATED_LENGTH {
            getrandom::fill(&mut byte).expect("the operating system's random source failed");
            // Rejection sampling keeps every character equally likely: 248 = 4 * 62.
            if byte[0] < 248 {
                text.push(ALPHABET[(byte[0] % 62) as usize] as char);
            }
        }
        Password(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The contents of a password file: the password and a line ending, as `--password-file`
    /// and Prometheus's `password_file` read it.
    pub fn as_file_line(&self) -> Zeroizing<Vec<u8>> {
        let mut line = Zeroizing::new(Vec::with_capacity(self.len() + 1));
        line.extend_from_slice(self.expose().as_bytes());
        line.push(b'\n');
        line
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `$2y$` bcrypt hash Apache's `htpasswd -B` writes: the form nginx (through the
    /// system's `crypt`) and Prometheus both accept. Made by the system's crypt when it can
    /// (faster), else by the bcrypt crate.
    pub fn bcrypt(&self, cost: BcryptCost) -> String {
        crate::system_crypt::bcrypt(self.expose(), cost.get()).unwrap_or_else(|| {
            bcrypt::non_truncating_hash_with_result(self.expose(), cost.get())
                .expect("a validated password and cost always hash")
                .format_for_version(bcrypt::Version::TwoY)
        })
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Where the password comes from, decided by the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    Stdin,
    File(PathBuf),
    Environment,
    /// Typed at the wizard's prompt (the wizard holds it).
    Typed,
    /// No password given: make one (stored in the bundle by a non-interactive run, shown once
    /// by the wizard).
    Generate,
}

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
fn first_line(reader: &mut dyn BufRead) -> std::io::Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    reader.read_line(&mut line)?;
    let end = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(end);
    Ok(line)
}

/// The first line of a file, without its ending, in a buffer wiped on drop.
pub fn read_file_line(path: &Path) -> std::io::Result<Zeroizing<String>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    // Sized up front so the buffer is never reallocated, which would leave an unwiped copy.
    let size = file.metadata().map_or(0, |meta| meta.len() as usize);
    let mut bytes = Zeroizing::new(Vec::with_capacity(size + 1));
    file.read_to_end(&mut bytes)?;
    first_line(&mut bytes.as_slice())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests arrange files by hand
mod tests {
    use super::*;

    fn password(text: &str) -> Result<Password, Invalid> {
        Password::new(Zeroizing::new(text.to_string()))
    }

    #[test]
    fn password_rules_refuse_empty_multiline_and_overlong() {
        assert!(password("").is_err());
        assert!(password("a\nb").is_err());
        assert!(password("a\rb").is_err());
        assert!(password("a\0b").is_err());
        assert!(password(&"x".repeat(71)).is_ok());
        let why = password(&"x".repeat(72)).unwrap_err().0;
        assert!(why.contains("72"), "{why}");
        // Multi-byte characters count in bytes, as bcrypt does.
        assert!(password(&"é".repeat(36)).is_err());
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let secret = password("hunter2-correct-horse").unwrap();
        let shown = format!("{secret:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn generated_passwords_are_long_alphanumeric_and_differ() {
        let a = Password::generate();
        let b = Password::generate();
        assert_eq!(a.len(), GENERATED_LENGTH);
        assert!(a.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn hash_is_2y_bcrypt_that_verifies() {
        let secret = password("s3cret pass").unwrap();
        let hash = secret.bcrypt(BcryptCost::new_const(4));
        assert!(hash.starts_with("$2y$04$"), "{hash}");
        assert!(bcrypt::verify("s3cret pass", &hash).unwrap());
        assert!(!bcrypt::verify("s3cret pas", &hash).unwrap());
    }

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

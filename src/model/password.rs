//! The password as a value: its rules, how a strong one is generated, and where it is to come
//! from (`PasswordSource`). Reading it from standard input, a file or the environment is
//! `host::secret_input`'s; hashing it is `bundle::credentials`'.
//!
//! A `Password` never shows itself: `Debug` prints a mask, and its bytes are wiped when it is
//! dropped. This module must not print, log, read or write the password anywhere.

use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::model::values::Invalid;

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
}

//! Answers kept between runs: the wizard remembers the last ones (never the password) in the
//! user's config folder and offers them as defaults next time.
//!
//! Answers are stored as text and read back through the value types, so a remembered value
//! obeys the same rules as a typed one; one that no longer passes is dropped with a warning.
//! This module owns the file's format and place; the writer writes it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::setup::{Setup, Tls};

/// The wizard's answers, as the user would type them.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    pub domain: Option<String>,
    pub port: Option<String>,
    pub prefix: Option<String>,
    pub username: Option<String>,
    /// `self-signed`, `own` or `none`.
    pub tls: Option<String>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub out: Option<String>,
}

pub const TLS_SELF_SIGNED: &str = "self-signed";
pub const TLS_OWN: &str = "own";
pub const TLS_NONE: &str = "none";

impl Answers {
    pub fn from_setup(setup: &Setup) -> Answers {
        let (tls, tls_cert, tls_key) = match &setup.tls {
            Tls::SelfSigned { .. } => (TLS_SELF_SIGNED, None, None),
            Tls::Provided { certificate, key } => {
                (TLS_OWN, Some(certificate.text()), Some(key.text()))
            }
            Tls::Off => (TLS_NONE, None, None),
        };
        Answers {
            domain: Some(setup.domain.to_string()),
            port: Some(setup.port.to_string()),
            prefix: Some(setup.prefix.to_string()),
            username: Some(setup.username.to_string()),
            tls: Some(tls.to_string()),
            tls_cert,
            tls_key,
            out: Some(setup.out_dir.display().to_string()),
        }
    }

    pub fn to_toml(&self) -> String {
        let header = "# promsetup's last answers, offered as defaults by `promsetup init`.\n\
                      # Never holds a password. `promsetup --forget` deletes this file.\n";
        format!(
            "{header}{}",
            toml::to_string(self).expect("answers are plain strings")
        )
    }

    pub fn from_toml(text: &str) -> Result<Answers, String> {
        toml::from_str(text).map_err(|error| error.to_string())
    }
}

/// Where the remembered answers live: `$XDG_CONFIG_HOME/promsetup/last-answers.toml` on Linux.
pub fn remembered_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "promsetup")
        .map(|dirs| dirs.config_dir().join("last-answers.toml"))
}

/// The remembered answers, or none when there are none or the file cannot be read (then the
/// reason is returned for a warning: a broken file must not stop the wizard).
pub fn load_remembered() -> (Answers, Option<String>) {
    let Some(path) = remembered_path() else {
        return (Answers::default(), None);
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => match Answers::from_toml(&text) {
            Ok(answers) => (answers, None),
            Err(why) => (
                Answers::default(),
                Some(format!("ignoring {}: {why}", path.display())),
            ),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => (Answers::default(), None),
        Err(error) => (
            Answers::default(),
            Some(format!("cannot read {}: {error}", path.display())),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::{Given, HostFacts, resolve};

    #[test]
    fn answers_round_trip_through_toml_and_hold_no_password() {
        let given = Given {
            domain: Some("example.com".parse().unwrap()),
            port: Some("8443".parse().unwrap()),
            ..Given::default()
        };
        let facts = HostFacts {
            nginx: None,
            nginx_user: None,
        };
        let setup = resolve(given, &facts).unwrap();
        let answers = Answers::from_setup(&setup);
        let text = answers.to_toml();
        assert!(text.contains("domain = \"example.com\""), "{text}");
        assert!(!text.to_lowercase().contains("password ="));
        assert_eq!(Answers::from_toml(&text).unwrap(), answers);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(Answers::from_toml("password = \"x\"\n").is_err());
    }
}

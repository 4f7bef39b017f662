//! Answers files: every answer a setup flag can give, except the password, as TOML whose keys are
//! the flags' names (`model::flags`). Two uses: the wizard remembers the last answers in the
//! user's config folder and offers them as defaults; `--config FILE` gives the answers for a run
//! (flags override the file), and the wizard offers to save one next to the bundle.
//!
//! Answers are kept as text and read back through the flags' setters, so a value in a file obeys
//! the same rule as a typed one, and a refusal names the key. A remembered value that today's rule
//! refuses is simply not offered. This module owns the format and the remembered file's place;
//! the writer writes it.

use std::path::{Path, PathBuf};

use crate::model::flags::{self, FLAGS, Reach};
use crate::model::given::{Auth, Given, TlsChoice};
use crate::model::setup::{Setup, Tls, Topology};
use crate::model::values::Invalid;

/// Every answer, as the user would type it, by flag name, in the table's order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Answers {
    values: Vec<(&'static str, Answer)>,
}

/// One answer: text for a value, a boolean for a switch (as TOML has them).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Text(String),
    Switch(bool),
}

impl Answer {
    fn text(&self) -> String {
        match self {
            Answer::Text(text) => text.clone(),
            Answer::Switch(on) => on.to_string(),
        }
    }
}

/// A value in an answers file that its key's rule refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {why}")]
pub struct BadAnswer {
    pub key: String,
    pub why: String,
}

fn in_answers(reach: Reach) -> bool {
    reach == Reach::Answers
}

impl Answers {
    /// Answers from `(key, text)` pairs; an unknown key is refused.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Answers, String> {
        let mut answers = Answers::default();
        for (key, text) in pairs {
            let flag = answer_flag(key)?;
            answers.put(flag.name, Answer::Text(text.to_string()));
        }
        Ok(answers)
    }

    fn put(&mut self, name: &'static str, answer: Answer) {
        match self.values.iter_mut().find(|(key, _)| *key == name) {
            Some((_, slot)) => *slot = answer,
            None => {
                self.values.push((name, answer));
                // Kept in the table's order, however they were read.
                let position = |name: &str| FLAGS.iter().position(|flag| flag.name == name);
                self.values.sort_by_key(|(name, _)| position(name));
            }
        }
    }

    /// The answer to `name` (a flag's name) as text, if there is one.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, answer)| answer.text())
    }

    /// Sets the output folder (an answers file saved in the bundle says `.`).
    pub fn set_out(&mut self, folder: &str) {
        self.put("out", Answer::Text(folder.to_string()));
    }

    /// The answers that reproduce what `given` says (every answers key `given` sets).
    fn from_given(given: &Given) -> Answers {
        let mut answers = Answers::default();
        for flag in FLAGS.iter().filter(|flag| in_answers(flag.reach)) {
            if let Some(text) = flag.get(given) {
                let answer = if flag.is_switch() {
                    Answer::Switch(text == "true")
                } else {
                    Answer::Text(text)
                };
                answers.put(flag.name, answer);
            }
        }
        answers
    }

    /// Every answer of a resolved setup, for an answers file that reproduces the bundle.
    pub fn from_setup(setup: &Setup) -> Answers {
        let nginx = setup.has_nginx();
        let mut given = Given {
            domain: Some(setup.domain().clone()),
            port: Some(setup.port()),
            prefix: Some(setup.prefix().clone()),
            username: Some(setup.username().clone()),
            out_dir: Some(setup.out_dir().to_path_buf()),
            renew_days: Some(setup.renew_days()),
            bind: setup.bind().to_vec(),
            bcrypt_cost: Some(setup.bcrypt_cost()),
            auth: Some(match setup.topology() {
                Topology::Proxied(Auth::Nginx) => Auth::Nginx,
                _ => Auth::Prometheus,
            }),
            no_nginx: !nginx,
            prometheus_dir: Some(setup.prometheus_dir().clone()),
            prometheus_user: Some(setup.prometheus_user().clone()),
            endpoints: setup.endpoints(),
            no_rate_limit: nginx && !setup.rate_limited(),
            ..Given::default()
        };
        match setup.tls() {
            Tls::SelfSigned { days } => {
                given.tls = Some(TlsChoice::SelfSigned);
                given.days = Some(*days);
            }
            Tls::Provided { certificate, key } => {
                given.tls = Some(TlsChoice::Own);
                given.tls_cert = Some(certificate.clone());
                given.tls_key = Some(key.clone());
            }
            Tls::Off => given.tls = Some(TlsChoice::Off),
            Tls::Acme {
                email,
                server,
                certbot_dir,
            } => {
                given.tls = Some(TlsChoice::Acme);
                given.acme_email = email.clone();
                given.acme_server = server.clone();
                given.acme_dir = Some(certbot_dir.clone());
            }
            Tls::LocalCa { days, ca_dir } => {
                given.tls = Some(TlsChoice::LocalCa);
                given.days = Some(*days);
                given.ca_dir = ca_dir.clone();
            }
        }
        if nginx {
            given.upstream = Some(setup.upstream().clone());
            given.conf_dir = Some(setup.conf_dir().clone());
            given.realm = Some(setup.realm().clone());
            given.nginx_user = Some(setup.nginx_user().clone());
            given.nginx_layout = Some(setup.nginx_layout());
            given.log_dir = Some(setup.log_dir().clone());
            if setup.tls().is_on() {
                given.redirect_port =
                    Some(crate::model::values::RedirectPort(setup.redirect_port()));
            }
        }
        Answers::from_given(&given)
    }

    /// Sets the answer to `key` on `given`, checked by the flag's rule.
    fn apply(given: &mut Given, key: &str, text: &str) -> Result<(), BadAnswer> {
        let flag = flags::find(key).expect("answers hold only known keys");
        flag.set(given, text).map_err(|Invalid(why)| BadAnswer {
            key: key.to_string(),
            why,
        })
    }

    /// The answers as `Given`, each checked by its flag's rule. `out` is resolved against
    /// `relative_to` (the answers file's folder) when it is relative, so a file works from
    /// wherever it is run.
    pub fn to_given(&self, relative_to: Option<&Path>) -> Result<Given, BadAnswer> {
        let mut given = Given::default();
        for (key, answer) in &self.values {
            Answers::apply(&mut given, key, &answer.text())?;
        }
        if let (Some(out), Some(base)) = (&given.out_dir, relative_to)
            && out.is_relative()
        {
            given.out_dir = Some(base.join(out));
        }
        if given.tls == Some(TlsChoice::Own)
            && (given.tls_cert.is_none() || given.tls_key.is_none())
        {
            return Err(BadAnswer {
                key: "tls".into(),
                why: "\"own\" needs tls-cert and tls-key".into(),
            });
        }
        Ok(given)
    }

    pub fn to_toml(&self, header: &str) -> String {
        let mut table = toml::Table::new();
        for (key, answer) in &self.values {
            let value = match answer {
                Answer::Text(text) => toml::Value::String(text.clone()),
                Answer::Switch(on) => toml::Value::Boolean(*on),
            };
            table.insert(key.to_string(), value);
        }
        // Keys in the table's order, which `toml::Table` (sorted) would not keep.
        let mut text = header.to_string();
        for (key, _) in &self.values {
            let mut one = toml::Table::new();
            one.insert(key.to_string(), table[*key].clone());
            text.push_str(&toml::to_string(&one).expect("answers are strings and booleans"));
        }
        text
    }

    pub fn from_toml(text: &str) -> Result<Answers, String> {
        let table: toml::Table = toml::from_str(text).map_err(|error| error.to_string())?;
        let mut answers = Answers::default();
        for (key, value) in &table {
            let flag = answer_flag(key)?;
            let answer = match value {
                toml::Value::String(text) => Answer::Text(text.clone()),
                toml::Value::Integer(number) if !flag.is_switch() => {
                    Answer::Text(number.to_string())
                }
                toml::Value::Boolean(on) if flag.is_switch() => Answer::Switch(*on),
                other => {
                    let expected = if flag.is_switch() {
                        "true or false"
                    } else {
                        "a string"
                    };
                    return Err(format!(
                        "{key}: expected {expected}, found {}",
                        other.type_str()
                    ));
                }
            };
            answers.put(flag.name, answer);
        }
        Ok(answers)
    }
}

/// The flag an answers-file key names; a password key or an unknown key is refused.
fn answer_flag(key: &str) -> Result<&'static flags::Flag, String> {
    if key.starts_with("password") {
        return Err(
            "a password is never read from an answers file: use --password-stdin, \
             --password-file or PROMSETUP_PASSWORD"
                .to_string(),
        );
    }
    // The flags' names (kebab-case) are the canonical keys, and what promsetup writes;
    // snake_case (`http_port`) is accepted too, as TOML files often spell keys.
    flags::find(&key.replace('_', "-"))
        .filter(|flag| in_answers(flag.reach))
        .ok_or_else(|| {
            format!(
                "unknown key `{}`: the keys are the setup flags' names, such as http-port \
                 (http_port is accepted too)",
                key.escape_debug()
            )
        })
}

/// The header of a remembered-answers file.
pub const REMEMBERED_HEADER: &str = "# promsetup's last answers, offered as defaults by \
`promsetup init`.\n# Never holds a password. `promsetup --forget` deletes this file.\n";

/// The header of an answers file saved next to a bundle.
pub const CONFIG_HEADER: &str = "# promsetup answers (never the password). Run again with:\n\
#   promsetup --non-interactive --config THIS_FILE [--password-stdin | --password-file F]\n\
# Flags given on the command line override these.\n";

/// Flags win over the file, field by field; a switch is on if either turns it on.
pub fn overlay(flags: Given, file: Given) -> Given {
    let mut given = file;
    flags::overlay(&mut given, &flags);
    given.force = given.force || flags.force;
    // The flags' TLS choice replaces the file's: own files replace its choice, and --no-tls
    // its files.
    if flags.tls_cert.is_some() && flags.tls.is_none() {
        given.tls = None;
    }
    if flags.tls == Some(TlsChoice::Off) {
        given.tls_cert = None;
        given.tls_key = None;
    }
    given
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
    match crate::host::bounded_read::text_file(&path, crate::host::bounded_read::ANSWERS_LIMIT) {
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
    use crate::model::setup::{HostFacts, resolve};

    #[test]
    fn answers_round_trip_through_toml_and_hold_no_password() {
        let given = Given {
            domain: Some("example.com".parse().unwrap()),
            port: Some("8443".parse().unwrap()),
            ..Given::default()
        };
        let facts = HostFacts::unknown();
        let setup = resolve(given, &facts).unwrap();
        let answers = Answers::from_setup(&setup);
        let text = answers.to_toml(CONFIG_HEADER);
        assert!(text.contains("domain = \"example.com\""), "{text}");
        assert!(!text.to_lowercase().contains("password ="));
        assert_eq!(Answers::from_toml(&text).unwrap(), answers);
        // And back to the same setup.
        let again = resolve(answers.to_given(None).unwrap(), &facts).unwrap();
        assert_eq!(again.external_url(), setup.external_url());
        assert_eq!(again.port(), setup.port());
    }

    #[test]
    fn toml_integers_booleans_and_snake_case_keys_are_read() {
        let answers = Answers::from_toml(
            "domain = \"example.com\"\nport = 8443\nhttp_port = 8080\nno-tls = false\n\
             enable_admin_api = true\nbcrypt-cost = 6\n",
        )
        .unwrap();
        let given = answers.to_given(None).unwrap();
        assert_eq!(given.port.unwrap().get(), 8443);
        assert_eq!(given.redirect_port.unwrap().0.unwrap().get(), 8080);
        assert!(given.endpoints.admin_api);
        assert_eq!(given.bcrypt_cost.unwrap().get(), 6);
        let off = Answers::from_toml("no_tls = true\n")
            .unwrap()
            .to_given(None)
            .unwrap();
        assert_eq!(off.tls, Some(TlsChoice::Off));
        let why = Answers::from_toml("port = true\n").unwrap_err();
        assert!(why.contains("port"), "{why}");
    }

    #[test]
    fn a_password_or_an_unknown_key_is_refused() {
        let why = Answers::from_toml("password = \"x\"\n").unwrap_err();
        assert!(why.contains("--password-stdin"), "{why}");
        assert!(Answers::from_toml("colour = \"red\"\n").is_err());
    }

    #[test]
    fn a_bad_value_names_its_key_and_the_rule() {
        let answers = Answers::from_toml("domain = \"example.com; return 200\"\n").unwrap();
        let err = answers.to_given(None).unwrap_err();
        assert_eq!(err.key, "domain");
        assert!(err.why.contains("';'"), "{err}");
    }

    #[test]
    fn a_relative_out_folder_is_taken_from_the_files_folder() {
        let answers = Answers::from_toml("out = \"bundle\"\n").unwrap();
        let given = answers.to_given(Some(Path::new("/srv/prom"))).unwrap();
        assert_eq!(given.out_dir.unwrap(), PathBuf::from("/srv/prom/bundle"));
    }
}

//! Answers files: every answer a flag can give, except the password, as TOML. Two uses: the
//! wizard remembers the last answers in the user's config folder and offers them as defaults;
//! `--config FILE` gives the answers for a run (flags override the file), and the wizard offers
//! to save one next to the bundle.
//!
//! Answers are stored as text and read back through the value types, so a value in a file obeys
//! the same rule as a typed one, and a refusal names the key. This module owns the format and
//! the remembered file's place; the writer writes it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::setup::{Auth, Endpoints, Given, Setup, Tls, TlsChoice, Topology};

/// Every answer, as the user would type it; keys are the flags' names.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
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
    pub upstream: Option<String>,
    pub conf_dir: Option<String>,
    pub http_port: Option<String>,
    pub realm: Option<String>,
    pub days: Option<String>,
    pub renew_days: Option<String>,
    pub bind: Option<String>,
    pub nginx_user: Option<String>,
    pub bcrypt_cost: Option<String>,
    /// `nginx` or `prometheus`.
    pub auth: Option<String>,
    pub no_nginx: Option<bool>,
    pub prometheus_dir: Option<String>,
    pub prometheus_user: Option<String>,
    pub enable_lifecycle: Option<bool>,
    pub enable_admin_api: Option<bool>,
    pub public_healthcheck: Option<bool>,
    pub nginx_version: Option<String>,
    pub openssl_version: Option<String>,
}

pub const TLS_SELF_SIGNED: &str = "self-signed";
pub const TLS_OWN: &str = "own";
pub const TLS_NONE: &str = "none";

/// A value in an answers file that its key's rule refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {why}")]
pub struct BadAnswer {
    pub key: &'static str,
    pub why: String,
}

fn parse<T: std::str::FromStr<Err = crate::values::Invalid>>(
    key: &'static str,
    value: &Option<String>,
) -> Result<Option<T>, BadAnswer> {
    value
        .as_deref()
        .map(|text| {
            text.parse::<T>()
                .map_err(|crate::values::Invalid(why)| BadAnswer { key, why })
        })
        .transpose()
}

impl Answers {
    /// Every answer of a resolved setup, for an answers file that reproduces the bundle.
    pub fn from_setup(setup: &Setup) -> Answers {
        let (tls, tls_cert, tls_key) = match &setup.tls {
            Tls::SelfSigned { .. } => (TLS_SELF_SIGNED, None, None),
            Tls::Provided { certificate, key } => {
                (TLS_OWN, Some(certificate.text()), Some(key.text()))
            }
            Tls::Off => (TLS_NONE, None, None),
        };
        let nginx = setup.has_nginx();
        let some_if = |on: bool| on.then_some(true);
        Answers {
            domain: Some(setup.domain.to_string()),
            port: Some(setup.port.to_string()),
            prefix: Some(setup.prefix.to_string()),
            username: Some(setup.username.to_string()),
            tls: Some(tls.to_string()),
            tls_cert,
            tls_key,
            out: Some(setup.out_dir.display().to_string()),
            upstream: nginx.then(|| setup.upstream.to_string()),
            conf_dir: nginx.then(|| setup.conf_dir.to_string()),
            http_port: (nginx && setup.tls.is_on())
                .then(|| setup.redirect_port.map_or("0".into(), |p| p.to_string())),
            realm: nginx.then(|| setup.realm.to_string()),
            days: match setup.tls {
                Tls::SelfSigned { days } => Some(days.get().to_string()),
                _ => None,
            },
            renew_days: Some(setup.renew_days.get().to_string()),
            bind: setup.bind.map(|ip| ip.to_string()),
            nginx_user: nginx.then(|| setup.nginx_user.to_string()),
            bcrypt_cost: Some(setup.bcrypt_cost.get().to_string()),
            auth: match setup.topology {
                Topology::Proxied(Auth::Nginx) => Some(Auth::Nginx.as_str().into()),
                _ => Some(Auth::Prometheus.as_str().into()),
            },
            no_nginx: some_if(!nginx),
            prometheus_dir: Some(setup.prometheus_dir.to_string()),
            prometheus_user: Some(setup.prometheus_user.to_string()),
            enable_lifecycle: some_if(setup.endpoints.lifecycle),
            enable_admin_api: some_if(setup.endpoints.admin_api),
            public_healthcheck: some_if(setup.endpoints.public_healthcheck),
            nginx_version: None,
            openssl_version: None,
        }
    }

    /// The answers as `Given`, each checked by its value type. `out` is resolved against
    /// `relative_to` (the answers file's folder) when it is relative, so a file works from
    /// wherever it is run.
    pub fn to_given(&self, relative_to: Option<&Path>) -> Result<Given, BadAnswer> {
        let tls = match self.tls.as_deref() {
            None => None,
            Some(TLS_SELF_SIGNED) => Some(TlsChoice::SelfSigned),
            Some(TLS_NONE) => Some(TlsChoice::Off),
            Some(TLS_OWN) => {
                let certificate = parse("tls-cert", &self.tls_cert)?;
                let key = parse("tls-key", &self.tls_key)?;
                match (certificate, key) {
                    (Some(certificate), Some(key)) => {
                        Some(TlsChoice::Provided { certificate, key })
                    }
                    _ => {
                        return Err(BadAnswer {
                            key: "tls",
                            why: "\"own\" needs tls-cert and tls-key".into(),
                        });
                    }
                }
            }
            Some(other) => {
                return Err(BadAnswer {
                    key: "tls",
                    why: format!("'{other}' is not one of self-signed, own, none"),
                });
            }
        };
        let auth = parse::<Auth>("auth", &self.auth)?;
        let bind =
            parse::<crate::values::BindAddress>("bind", &self.bind)?.map(|address| address.0);
        let out_dir = self.out.as_ref().map(|out| match relative_to {
            Some(base) if Path::new(out).is_relative() => base.join(out),
            _ => PathBuf::from(out),
        });
        Ok(Given {
            domain: parse("domain", &self.domain)?,
            port: parse("port", &self.port)?,
            prefix: parse("prefix", &self.prefix)?,
            username: parse("username", &self.username)?,
            password: None,
            upstream: parse("upstream", &self.upstream)?,
            out_dir,
            conf_dir: parse("conf-dir", &self.conf_dir)?,
            redirect_port: parse("http-port", &self.http_port)?,
            tls,
            realm: parse("realm", &self.realm)?,
            days: parse("days", &self.days)?,
            renew_days: parse("renew-days", &self.renew_days)?,
            bind,
            nginx_user: parse("nginx-user", &self.nginx_user)?,
            bcrypt_cost: parse("bcrypt-cost", &self.bcrypt_cost)?,
            auth,
            no_nginx: self.no_nginx.unwrap_or(false),
            prometheus_dir: parse("prometheus-dir", &self.prometheus_dir)?,
            prometheus_user: parse("prometheus-user", &self.prometheus_user)?,
            endpoints: Endpoints {
                lifecycle: self.enable_lifecycle.unwrap_or(false),
                admin_api: self.enable_admin_api.unwrap_or(false),
                public_healthcheck: self.public_healthcheck.unwrap_or(false),
            },
            nginx_version: parse("nginx-version", &self.nginx_version)?,
            openssl_version: parse("openssl-version", &self.openssl_version)?,
            force: false,
        })
    }

    pub fn to_toml(&self, header: &str) -> String {
        format!(
            "{header}{}",
            toml::to_string(self).expect("answers are plain strings and booleans")
        )
    }

    pub fn from_toml(text: &str) -> Result<Answers, String> {
        toml::from_str(text).map_err(|error| {
            let message = error.to_string();
            if message.contains("unknown field `password") {
                "a password is never read from an answers file: use --password-stdin, \
                 --password-file or PROMSETUP_PASSWORD"
                    .to_string()
            } else {
                message
            }
        })
    }
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
    Given {
        domain: flags.domain.or(file.domain),
        port: flags.port.or(file.port),
        prefix: flags.prefix.or(file.prefix),
        username: flags.username.or(file.username),
        password: flags.password.or(file.password),
        upstream: flags.upstream.or(file.upstream),
        out_dir: flags.out_dir.or(file.out_dir),
        conf_dir: flags.conf_dir.or(file.conf_dir),
        redirect_port: flags.redirect_port.or(file.redirect_port),
        tls: flags.tls.or(file.tls),
        realm: flags.realm.or(file.realm),
        days: flags.days.or(file.days),
        renew_days: flags.renew_days.or(file.renew_days),
        bind: flags.bind.or(file.bind),
        nginx_user: flags.nginx_user.or(file.nginx_user),
        bcrypt_cost: flags.bcrypt_cost.or(file.bcrypt_cost),
        auth: flags.auth.or(file.auth),
        no_nginx: flags.no_nginx || file.no_nginx,
        prometheus_dir: flags.prometheus_dir.or(file.prometheus_dir),
        prometheus_user: flags.prometheus_user.or(file.prometheus_user),
        endpoints: Endpoints {
            lifecycle: flags.endpoints.lifecycle || file.endpoints.lifecycle,
            admin_api: flags.endpoints.admin_api || file.endpoints.admin_api,
            public_healthcheck: flags.endpoints.public_healthcheck
                || file.endpoints.public_healthcheck,
        },
        nginx_version: flags.nginx_version.or(file.nginx_version),
        openssl_version: flags.openssl_version.or(file.openssl_version),
        force: flags.force || file.force,
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
            nginx: crate::nginx_target::Probe::known(None),
            nginx_user: None,
            primary_group: |_| None,
        };
        let setup = resolve(given, &facts).unwrap();
        let answers = Answers::from_setup(&setup);
        let text = answers.to_toml(CONFIG_HEADER);
        assert!(text.contains("domain = \"example.com\""), "{text}");
        assert!(!text.to_lowercase().contains("password ="));
        assert_eq!(Answers::from_toml(&text).unwrap(), answers);
        // And back to the same setup.
        let again = resolve(answers.to_given(None).unwrap(), &facts).unwrap();
        assert_eq!(again.external_url(), setup.external_url());
        assert_eq!(again.port, setup.port);
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

//! The command line: flag names, help texts, and turning argv into `Given`.
//!
//! This is the only module that imports clap. Each flag parses straight into its value type, so a
//! bad value is refused by clap with the type's own rule and the flag's name (exit 2). It must not
//! apply defaults beyond what `--help` shows, nor check values against each other: `setup.rs`
//! does that for every way in.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::secret::PasswordSource;
use crate::setup::{Auth, Endpoints, Given, TlsChoice};
use crate::values::{
    BcryptCost, BindAddress, Domain, Port, Realm, RedirectPort, RenewDays, ServerPath, SystemUser,
    Upstream, UrlPrefix, UserName, ValidityDays, Version,
};

const ABOUT: &str = "Put Prometheus behind nginx with TLS, basic auth and a URL prefix.";

const LONG_ABOUT: &str = "Put Prometheus behind nginx with TLS, basic auth and a URL prefix.

promsetup writes one consistent bundle into --out: nginx.conf, .htpasswd (bcrypt), a self-signed \
certificate and key, and prometheus.flags, the flags Prometheus must run with. It then prints \
where each file goes and how to test the result.

  promsetup init                                   ask for each value at a terminal
  promsetup --non-interactive --domain example.com for scripts: never asks";

const AFTER_HELP: &str = "\
Password: there is deliberately no flag that takes the password itself (it would show in `ps` \
and in shell history). Give it with --password-stdin, --password-file or the environment \
variable PROMSETUP_PASSWORD. With none of them, a non-interactive run generates a strong random \
password and stores it in password.txt (mode 0600) in the output folder, and uses it again on the \
next run.

Files written into --out:
  nginx.conf        complete configuration, for `nginx -c` (replaces the main nginx.conf)
  .htpasswd         USER:$2y$ bcrypt hash, mode 0640, group of nginx's worker user (--auth nginx)
  DOMAIN.crt/.key   self-signed certificate (ECDSA P-256) and its key (0600); not with --no-tls
  web.yml           Prometheus's own basic auth (and TLS with --no-nginx), when it checks passwords
  prometheus-scrape.yml, self-scrape.password   Prometheus's self-scrape job, same case
  prometheus.flags  --web.external-url, --web.route-prefix=/, --web.listen-address, ...
Running again with the same answers changes nothing: hashes that still verify and a certificate \
that still serves are kept. A file that would change is replaced only with --force, and then \
kept as NAME.bak.

Exit status: 0 done (with --check: up to date); 1 failed or not written (a file in the way, a \
write failed); 2 bad usage or a value refused (nothing written); 3 --check: a run would change \
the bundle; 130 interrupted.";

/// Parses a flag's value with its type's rule. Unlike clap's own `FromStr` parser, the value is
/// echoed back escaped, so control characters typed into a flag never reach the terminal raw.
#[derive(Clone)]
pub struct Checked<T>(std::marker::PhantomData<fn() -> T>);

pub fn checked<T>() -> Checked<T> {
    Checked(std::marker::PhantomData)
}

impl<T> clap::builder::TypedValueParser for Checked<T>
where
    T: std::str::FromStr<Err = crate::values::Invalid> + Clone + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let flag = arg
            .and_then(|arg| arg.get_long().map(|long| format!("--{long}")))
            .or_else(|| {
                let arg = arg?;
                let name = arg
                    .get_value_names()
                    .and_then(|names| names.first())
                    .map_or_else(|| arg.get_id().to_string(), |name| name.to_string());
                Some(format!("<{name}>"))
            })
            .unwrap_or_default();
        let refuse = |why: String| {
            let escaped = value.to_string_lossy().escape_debug().to_string();
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value '{escaped}' for '{flag}': {why}\n"),
            )
            .with_cmd(command)
        };
        let text = value
            .to_str()
            .ok_or_else(|| refuse("it is not valid UTF-8".into()))?;
        text.parse::<T>()
            .map_err(|crate::values::Invalid(why)| refuse(why))
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "promsetup",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub options: SetupArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask for each value at a terminal, show a summary, then write the bundle.
    Init,
    /// Check a bundle: offline (files, key and certificate, hashes, `nginx -t`, `promtool check
    /// web-config`), and with --url online, as the reference guides' "Testing" section does.
    Verify(VerifyArgs),
    /// Add, remove or list basic-auth users in a bundle's .htpasswd (and web.yml), leaving
    /// other users' lines as they are.
    User(UserArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle folder [default: --out, else ./promsetup-bundle].
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Also test the deployed service at this URL (the external URL, e.g.
    /// https://example.com/prometheus/): 401 with the realm without credentials, 200 with them
    /// (password from --password-stdin, --password-file or PROMSETUP_PASSWORD), redirects inside
    /// the prefix, TLS verified against the bundle's certificate.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub action: UserAction,

    /// The bundle folder [default: --out, else ./promsetup-bundle].
    #[arg(long, value_name = "DIR", global = true)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add a user, or change the password of one (password from --password-stdin,
    /// --password-file, PROMSETUP_PASSWORD, or asked at a terminal).
    Add {
        /// Basic-auth user name (A-Z a-z 0-9 . _ @ + -).
        #[arg(value_parser = checked::<UserName>(), value_name = "NAME")]
        name: UserName,
    },
    /// Remove a user.
    Remove {
        /// The user to remove; the last person is never removed.
        #[arg(value_parser = checked::<UserName>(), value_name = "NAME")]
        name: UserName,
    },
    /// List the users.
    List,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Never prompt; a missing required value is one error naming every missing flag.
    #[arg(help_heading = "Running", long, global = true)]
    pub non_interactive: bool,

    /// Server name and certificate name: a DNS name (ASCII; xn-- for international names), or an
    /// IP address, which gets an IP SAN.
    #[arg(value_parser = checked::<Domain>(),
        help_heading = "Where Prometheus is served",
        long,
        value_name = "NAME",
        global = true
    )]
    pub domain: Option<Domain>,

    /// Port nginx listens on [default: 443; 80 with --no-tls].
    #[arg(value_parser = checked::<Port>(),
        help_heading = "Where Prometheus is served",
        long,
        value_name = "PORT",
        global = true
    )]
    pub port: Option<Port>,

    /// URL path Prometheus is served under [default: /prometheus]; "/" serves the whole host.
    #[arg(value_parser = checked::<UrlPrefix>(),
        help_heading = "Where Prometheus is served",
        long,
        value_name = "PATH",
        global = true
    )]
    pub prefix: Option<UrlPrefix>,

    /// Basic-auth user name [default: admin].
    #[arg(value_parser = checked::<UserName>(),
        help_heading = "Password and who checks it",
        long,
        value_name = "NAME",
        global = true
    )]
    pub username: Option<UserName>,

    /// Read the password from the first line of standard input.
    #[arg(
        help_heading = "Password and who checks it",
        long,
        global = true,
        conflicts_with = "password_file"
    )]
    pub password_stdin: bool,

    /// Read the password from the first line of a file.
    #[arg(
        help_heading = "Password and who checks it",
        long,
        value_name = "FILE",
        global = true
    )]
    pub password_file: Option<PathBuf>,

    /// Where Prometheus listens; also its --web.listen-address [default: 127.0.0.1:9090].
    #[arg(value_parser = checked::<Upstream>(),
        help_heading = "Where Prometheus is served",
        long,
        value_name = "HOST:PORT",
        global = true
    )]
    pub upstream: Option<Upstream>,

    /// Folder the bundle is written to; created if missing. Never defaults to /etc: install the
    /// files from there as the next steps show [default: ./promsetup-bundle].
    #[arg(help_heading = "Running", long, value_name = "DIR", global = true)]
    pub out: Option<PathBuf>,

    /// Folder the files will live in on the server; only used for the paths written inside
    /// nginx.conf [default: /etc/nginx].
    #[arg(value_parser = checked::<ServerPath>(),
        help_heading = "Where Prometheus is served",
        long,
        value_name = "DIR",
        global = true
    )]
    pub conf_dir: Option<ServerPath>,

    /// Port of a plain-HTTP server that redirects to HTTPS (308); 0 for none [default: 80].
    #[arg(value_parser = checked::<RedirectPort>(),
        help_heading = "Where Prometheus is served",
        long,
        value_name = "PORT",
        global = true
    )]
    pub http_port: Option<RedirectPort>,

    /// Plain HTTP with basic auth only: no certificate, http:// in the external URL.
    #[arg(help_heading = "TLS", long, global = true, conflicts_with = "days")]
    pub no_tls: bool,

    /// Your own certificate (PEM; a chain file starting with it is fine), used where it is:
    /// nginx.conf points at this absolute path. Checked before anything is written: the key
    /// must match, and the certificate must cover --domain and be valid now.
    #[arg(value_parser = checked::<ServerPath>(), help_heading = "TLS", long, value_name = "FILE", global = true, requires = "tls_key",
          conflicts_with_all = ["no_tls", "days"])]
    pub tls_cert: Option<ServerPath>,

    /// The key of --tls-cert (unencrypted PKCS#8 PEM), used where it is.
    #[arg(value_parser = checked::<ServerPath>(),
        help_heading = "TLS",
        long,
        value_name = "FILE",
        global = true,
        requires = "tls_cert"
    )]
    pub tls_key: Option<ServerPath>,

    /// Basic-auth realm, shown by browsers [default: Prometheus].
    #[arg(value_parser = checked::<Realm>(),
        help_heading = "Password and who checks it",
        long,
        value_name = "TEXT",
        global = true
    )]
    pub realm: Option<Realm>,

    /// Certificate validity in days, 1 to 825 [default: 397, the public-CA limit].
    #[arg(value_parser = checked::<ValidityDays>(), help_heading = "TLS", long, value_name = "N", global = true)]
    pub days: Option<ValidityDays>,

    /// A re-run keeps the self-signed certificate and key until they are this close to expiry,
    /// then makes new ones [default: 30].
    #[arg(value_parser = checked::<RenewDays>(), help_heading = "TLS", long, value_name = "N", global = true)]
    pub renew_days: Option<RenewDays>,

    /// Read the answers from a TOML file (keys are these flags' names, e.g. domain, port,
    /// prefix, auth); flags given too override it. Never a password. `promsetup init` offers to
    /// save one next to the bundle.
    #[arg(help_heading = "Running", long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// Write nothing; exit 0 when the bundle on disk is up to date, 3 when a run would change
    /// it (2 and 1 keep their meanings: bad input, failure).
    #[arg(help_heading = "Running", long, global = true)]
    pub check: bool,

    /// Like --check, and show what would change as a unified diff of the text files, with
    /// hashes and keys masked.
    #[arg(help_heading = "Running", long, global = true)]
    pub diff: bool,

    /// How to report: text for people, or json: one JSON document on standard output, its
    /// schema in the README (format_version 1).
    #[arg(
        help_heading = "Running",
        long,
        value_name = "FORMAT",
        global = true,
        default_value = "text"
    )]
    pub format: ReportFormat,

    /// Address nginx listens on [default: every address]; e.g. 127.0.0.1 or ::1.
    #[arg(value_parser = checked::<BindAddress>(),
        help_heading = "Where Prometheus is served",
        long,
        value_name = "IP",
        global = true
    )]
    pub bind: Option<BindAddress>,

    /// Account nginx's workers run as (`user` in nginx.conf); .htpasswd is made readable by its
    /// group [default: the first of www-data, nginx, http that exists here, else www-data].
    #[arg(value_parser = checked::<SystemUser>(),
        help_heading = "Where Prometheus is served",
        long,
        value_name = "USER",
        global = true
    )]
    pub nginx_user: Option<SystemUser>,

    /// bcrypt cost of the stored hash, 4 to 31 [default: 5 with --auth nginx, 12 when Prometheus
    /// checks]. nginx re-hashes the password on every request and blocks its worker meanwhile:
    /// each step doubles that time (cost 5: ~2 ms, about 7% of unauthenticated throughput; cost
    /// 12: ~250 ms, 3 requests/s). A leaked .htpasswd at cost 5 is cheap to attack if the password
    /// is weak: a long random password (the generated one) makes a low cost safe.
    #[arg(value_parser = checked::<BcryptCost>(),
        help_heading = "Password and who checks it",
        long,
        value_name = "COST",
        global = true
    )]
    pub bcrypt_cost: Option<BcryptCost>,

    /// Who checks the password. nginx: from .htpasswd, on every request, blocking its worker
    /// meanwhile, so the hash must be cheap (see --bcrypt-cost). prometheus: nginx still does TLS
    /// and the prefix and passes the credentials on; Prometheus (2.24 or later) checks them from
    /// the generated web.yml and caches the result, so a strong hash (cost 12) costs nothing after
    /// the first request [default: nginx].
    #[arg(
        value_parser = checked::<Auth>(),
        help_heading = "Password and who checks it",
        long,
        value_name = "WHO",
        global = true
    )]
    pub auth: Option<Auth>,

    /// No nginx: Prometheus itself serves TLS and basic auth from web.yml, on --port
    /// [default port: 9090]. For hosts without nginx; implies --auth prometheus.
    #[arg(help_heading = "Password and who checks it", long, global = true)]
    pub no_nginx: bool,

    /// Folder Prometheus's files (web.yml, the self-scrape password) will live in on the server
    /// [default: /etc/prometheus].
    #[arg(value_parser = checked::<ServerPath>(),
        help_heading = "Password and who checks it",
        long,
        value_name = "DIR",
        global = true
    )]
    pub prometheus_dir: Option<ServerPath>,

    /// Account Prometheus runs as; it must read web.yml (and, with --no-nginx, the key)
    /// [default: prometheus].
    #[arg(value_parser = checked::<SystemUser>(),
        help_heading = "Password and who checks it",
        long,
        value_name = "USER",
        global = true
    )]
    pub prometheus_user: Option<SystemUser>,

    /// Enable Prometheus's /-/quit and /-/reload (--web.enable-lifecycle) and let authenticated
    /// users reach them through nginx. Without it nginx answers 403 there, whatever the password.
    #[arg(help_heading = "Prometheus endpoints", long, global = true)]
    pub enable_lifecycle: bool,

    /// Enable Prometheus's /api/v1/admin/ (--web.enable-admin-api: delete series, snapshots) and
    /// let authenticated users reach it through nginx. Without it nginx answers 403 there.
    #[arg(help_heading = "Prometheus endpoints", long, global = true)]
    pub enable_admin_api: bool,

    /// Serve PREFIX/-/healthy without a password, for load balancers (--auth nginx only).
    #[arg(help_heading = "Prometheus endpoints", long, global = true)]
    pub public_healthcheck: bool,

    /// nginx version the configuration is for [default: that of `nginx -V` here, else 1.22.1].
    #[arg(value_parser = checked::<Version>(), help_heading = "TLS", long, value_name = "VERSION", global = true)]
    pub nginx_version: Option<Version>,

    /// OpenSSL version nginx uses [default: from `nginx -V` here, else 3.0.0].
    #[arg(value_parser = checked::<Version>(), help_heading = "TLS", long, value_name = "VERSION", global = true)]
    pub openssl_version: Option<Version>,

    /// Replace files that already exist in --out (each old file is kept as NAME.bak).
    #[arg(help_heading = "Running", long, global = true)]
    pub force: bool,

    /// Delete the answers `promsetup init` remembered (never the password), then exit.
    #[arg(help_heading = "Running", long, global = true)]
    pub forget: bool,
}

impl SetupArgs {
    /// What the flags said. The password source is decided here: stdin or a file when asked,
    /// else the environment variable when it is set (`environment_has_password`).
    pub fn given(&self, environment_has_password: bool) -> Given {
        let password = if self.password_stdin {
            Some(PasswordSource::Stdin)
        } else if let Some(path) = &self.password_file {
            Some(PasswordSource::File(path.clone()))
        } else if environment_has_password {
            Some(PasswordSource::Environment)
        } else {
            None
        };
        Given {
            domain: self.domain.clone(),
            port: self.port,
            prefix: self.prefix.clone(),
            username: self.username.clone(),
            password,
            upstream: self.upstream.clone(),
            out_dir: self.out.clone(),
            conf_dir: self.conf_dir.clone(),
            redirect_port: self.http_port,
            tls: match (&self.tls_cert, &self.tls_key) {
                (Some(certificate), Some(key)) => Some(TlsChoice::Provided {
                    certificate: certificate.clone(),
                    key: key.clone(),
                }),
                _ if self.no_tls => Some(TlsChoice::Off),
                _ => None,
            },
            realm: self.realm.clone(),
            days: self.days,
            renew_days: self.renew_days,
            bind: self.bind.map(|address| address.0),
            nginx_user: self.nginx_user.clone(),
            bcrypt_cost: self.bcrypt_cost,
            auth: self.auth,
            no_nginx: self.no_nginx,
            prometheus_dir: self.prometheus_dir.clone(),
            prometheus_user: self.prometheus_user.clone(),
            endpoints: Endpoints {
                lifecycle: self.enable_lifecycle,
                admin_api: self.enable_admin_api,
                public_healthcheck: self.public_healthcheck,
            },
            nginx_version: self.nginx_version,
            openssl_version: self.openssl_version,
            force: self.force,
        }
    }
}

/// The `--non-interactive` command line equivalent to what was given, for users without a
/// terminal: given values are kept, a missing domain shows as `--domain NAME`.
pub fn non_interactive_command(given: &Given) -> String {
    use crate::report::shell_quote;
    let mut words = vec!["promsetup".to_string(), "--non-interactive".to_string()];
    let mut flag = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            words.push(format!("--{name}"));
            words.push(shell_quote(&value));
        }
    };
    flag(
        "domain",
        Some(
            given
                .domain
                .as_ref()
                .map_or("NAME".to_string(), |d| d.to_string()),
        ),
    );
    flag("port", given.port.map(|p| p.to_string()));
    flag("prefix", given.prefix.as_ref().map(|p| p.to_string()));
    flag("username", given.username.as_ref().map(|u| u.to_string()));
    flag("upstream", given.upstream.as_ref().map(|u| u.to_string()));
    flag(
        "out",
        given.out_dir.as_ref().map(|o| o.display().to_string()),
    );
    flag("conf-dir", given.conf_dir.as_ref().map(|c| c.to_string()));
    flag(
        "http-port",
        given
            .redirect_port
            .map(|RedirectPort(p)| p.map_or("0".to_string(), |p| p.to_string())),
    );
    if let Some(TlsChoice::Provided { certificate, key }) = &given.tls {
        flag("tls-cert", Some(certificate.to_string()));
        flag("tls-key", Some(key.to_string()));
    }
    flag("realm", given.realm.as_ref().map(|r| r.to_string()));
    flag("days", given.days.map(|d| d.get().to_string()));
    flag("bind", given.bind.map(|b| b.to_string()));
    flag(
        "nginx-user",
        given.nginx_user.as_ref().map(|u| u.to_string()),
    );
    flag(
        "bcrypt-cost",
        given.bcrypt_cost.map(|c| c.get().to_string()),
    );
    flag("nginx-version", given.nginx_version.map(|v| v.to_string()));
    flag(
        "openssl-version",
        given.openssl_version.map(|v| v.to_string()),
    );
    flag("auth", given.auth.map(|auth| auth.as_str().to_string()));
    flag(
        "prometheus-dir",
        given.prometheus_dir.as_ref().map(|d| d.to_string()),
    );
    flag(
        "prometheus-user",
        given.prometheus_user.as_ref().map(|u| u.to_string()),
    );
    match &given.password {
        Some(PasswordSource::File(path)) => flag("password-file", Some(path.display().to_string())),
        Some(PasswordSource::Stdin) | None => words.push("--password-stdin".into()),
        Some(_) => {}
    }
    for (on, name) in [
        (given.no_nginx, "--no-nginx"),
        (given.endpoints.lifecycle, "--enable-lifecycle"),
        (given.endpoints.admin_api, "--enable-admin-api"),
        (given.endpoints.public_healthcheck, "--public-healthcheck"),
    ] {
        if on {
            words.push(name.into());
        }
    }
    if given.tls == Some(TlsChoice::Off) {
        words.push("--no-tls".into());
    }
    if given.force {
        words.push("--force".into());
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_after_init_are_accepted() {
        let cli = Cli::try_parse_from(["promsetup", "init", "--domain", "example.com"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Init)));
        assert_eq!(cli.options.domain.unwrap().to_string(), "example.com");
    }

    #[test]
    fn password_sources_are_chosen_in_order() {
        let cli = Cli::try_parse_from(["promsetup", "--password-stdin"]).unwrap();
        assert_eq!(
            cli.options.given(true).password,
            Some(PasswordSource::Stdin)
        );
        let cli = Cli::try_parse_from(["promsetup"]).unwrap();
        assert_eq!(
            cli.options.given(true).password,
            Some(PasswordSource::Environment)
        );
        assert_eq!(cli.options.given(false).password, None);
        assert!(
            Cli::try_parse_from(["promsetup", "--password-stdin", "--password-file", "f"]).is_err()
        );
    }

    #[test]
    fn the_equivalent_command_keeps_given_values_and_marks_the_missing_domain() {
        let cli =
            Cli::try_parse_from(["promsetup", "init", "--prefix", "/", "--realm", "Ops team"])
                .unwrap();
        assert_eq!(
            non_interactive_command(&cli.options.given(false)),
            "promsetup --non-interactive --domain NAME --prefix / --realm 'Ops team' \
             --password-stdin"
        );
    }

    #[test]
    fn a_bad_value_is_refused_with_the_flag_and_the_rule() {
        let err = Cli::try_parse_from(["promsetup", "--domain", "a;b"]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("--domain") && text.contains("';'"), "{text}");
        assert_eq!(err.exit_code(), 2);
    }
}

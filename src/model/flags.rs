//! The setup flags, one table: each flag's name (also its answers-file key), help text, heading,
//! how its text sets `Given`, and how `Given` prints it back. The command line (`cli/`), answers
//! files (`wizard::answers`) and the printed equivalent command (`output::command`) all read this
//! table, so adding a setup flag is adding one entry here (and its field in `Given`).
//!
//! Every setter parses with the value type's `FromStr`, so each way in shares one rule. This
//! module must not import clap, read files or apply defaults (`setup::resolve` does).

use std::path::PathBuf;

use crate::model::given::{Given, TlsChoice};
use crate::model::password::PasswordSource;
use crate::model::values::{BindAddresses, Invalid};

/// The `--help` section a flag is listed under.
pub mod heading {
    pub const RUNNING: &str = "Running";
    pub const SERVED: &str = "Where Prometheus is served";
    pub const PASSWORD: &str = "Password and who checks it";
    pub const TLS: &str = "TLS";
    pub const ENDPOINTS: &str = "Prometheus endpoints";
    pub const PLATFORM: &str = "Where it runs";
}

/// Where a flag may be given besides the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Also a key of answers files, written back when answers are saved.
    Answers,
    /// Only on the command line (the password inputs: a password is never in a file of answers).
    CommandLine,
}

/// One setup flag.
pub struct Flag {
    /// The long flag without `--`, and the answers-file key.
    pub name: &'static str,
    /// `Some(NAME)` for a flag that takes a value (`--port <PORT>`); `None` for a switch.
    pub value_name: Option<&'static str>,
    pub heading: &'static str,
    /// The `--help` text (no final period, as clap shows one-paragraph helps).
    pub help: &'static str,
    pub reach: Reach,
    /// Flags that cannot be given with this one on the command line.
    pub conflicts_with: &'static [&'static str],
    /// Flags that must be given with this one on the command line.
    pub requires: &'static [&'static str],
    /// Sets the field from the flag's text (`"true"` for a switch that is on).
    set: fn(&mut Given, &str) -> Result<(), Invalid>,
    /// The field as the flag's text; `None` when not given (or a switch that is off).
    get: fn(&Given) -> Option<String>,
}

/// Flags that may be given more than once on the command line; their values are joined with
/// commas, the form their setter (and an answers file) takes.
const REPEATABLE: &[&str] = &["bind"];

impl Flag {
    pub fn is_repeatable(&self) -> bool {
        REPEATABLE.contains(&self.name)
    }

    pub fn is_switch(&self) -> bool {
        self.value_name.is_none()
    }

    /// Sets this flag's field of `given` from its text, checked by the value's type. A switch
    /// takes `true` or `false`.
    pub fn set(&self, given: &mut Given, text: &str) -> Result<(), Invalid> {
        if self.is_switch() && !matches!(text, "true" | "false") {
            return Err(Invalid(format!(
                "'{}' is not true or false",
                text.escape_debug()
            )));
        }
        (self.set)(given, text)
    }

    /// The flag's text in `given`, if it was given.
    pub fn get(&self, given: &Given) -> Option<String> {
        (self.get)(given)
    }

    /// Checks a text as this flag's value without keeping it.
    pub fn check(&self, text: &str) -> Result<(), Invalid> {
        self.set(&mut Given::default(), text)
    }
}

/// The flag named `name` (its long name or answers key).
pub fn find(name: &str) -> Option<&'static Flag> {
    FLAGS.iter().find(|flag| flag.name == name)
}

/// Copies every flag `from` holds onto `into`; what `from` leaves unset stays as `into` has it.
pub fn overlay(into: &mut Given, from: &Given) {
    for flag in FLAGS {
        if let Some(text) = flag.get(from) {
            flag.set(into, &text)
                .expect("a value read back from Given passes its own rule");
        }
    }
}

fn parsed<T: std::str::FromStr<Err = Invalid>>(text: &str) -> Result<T, Invalid> {
    text.parse()
}

/// Stores a parsed value in its field.
fn put<T>(field: &mut Option<T>, value: Result<T, Invalid>) -> Result<(), Invalid> {
    *field = Some(value?);
    Ok(())
}

fn on(text: &str) -> bool {
    text == "true"
}

fn shown(value: Option<impl ToString>) -> Option<String> {
    value.map(|value| value.to_string())
}

fn shown_switch(on: bool) -> Option<String> {
    on.then(|| "true".to_string())
}

/// Every setup flag, in `--help` order.
pub static FLAGS: &[Flag] = &[
    Flag {
        name: "domain",
        value_name: Some("NAME"),
        heading: heading::SERVED,
        help: "Server name and certificate name: a DNS name (ASCII; xn-- for international \
               names), or an IP address, which gets an IP SAN",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.domain, parsed(t)),
        get: |g| shown(g.domain.as_ref()),
    },
    Flag {
        name: "port",
        value_name: Some("PORT"),
        heading: heading::SERVED,
        help: "Port nginx listens on [default: 443; 80 with --no-tls]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.port, parsed(t)),
        get: |g| shown(g.port),
    },
    Flag {
        name: "prefix",
        value_name: Some("PATH"),
        heading: heading::SERVED,
        help: "URL path Prometheus is served under [default: /prometheus]; \"/\" serves the whole \
               host",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.prefix, parsed(t)),
        get: |g| shown(g.prefix.as_ref()),
    },
    Flag {
        name: "username",
        value_name: Some("NAME"),
        heading: heading::PASSWORD,
        help: "Basic-auth user name [default: admin]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.username, parsed(t)),
        get: |g| shown(g.username.as_ref()),
    },
    Flag {
        name: "password-stdin",
        value_name: None,
        heading: heading::PASSWORD,
        help: "Read the password from the first line of standard input",
        reach: Reach::CommandLine,
        conflicts_with: &["password-file"],
        requires: &[],
        set: |g, t| {
            if on(t) {
                g.password = Some(PasswordSource::Stdin);
            }
            Ok(())
        },
        get: |g| shown_switch(g.password == Some(PasswordSource::Stdin)),
    },
    Flag {
        name: "password-file",
        value_name: Some("FILE"),
        heading: heading::PASSWORD,
        help: "Read the password from the first line of a file",
        reach: Reach::CommandLine,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| {
            // `--password-stdin` wins when both reach `Given` (clap refuses both together).
            if g.password != Some(PasswordSource::Stdin) {
                g.password = Some(PasswordSource::File(PathBuf::from(t)));
            }
            Ok(())
        },
        get: |g| match &g.password {
            Some(PasswordSource::File(path)) => Some(path.display().to_string()),
            _ => None,
        },
    },
    Flag {
        name: "upstream",
        value_name: Some("HOST:PORT"),
        heading: heading::SERVED,
        help: "Where Prometheus listens; also its --web.listen-address [default: 127.0.0.1:9090]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.upstream, parsed(t)),
        get: |g| shown(g.upstream.as_ref()),
    },
    Flag {
        name: "out",
        value_name: Some("DIR"),
        heading: heading::RUNNING,
        help: "Folder the bundle is written to; created if missing. Never defaults to /etc: \
               install the files from there as the next steps show [default: ./promsetup-bundle]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| {
            if t.is_empty() {
                return Err(Invalid("it is empty; give a folder".into()));
            }
            // Printed back in every report: a control character would reach the terminal raw.
            if let Some(c) = t.chars().find(|c| c.is_control()) {
                return Err(Invalid(format!(
                    "it contains the control character {}; give a folder name without one",
                    c.escape_debug()
                )));
            }
            g.out_dir = Some(PathBuf::from(t));
            Ok(())
        },
        get: |g| g.out_dir.as_ref().map(|dir| dir.display().to_string()),
    },
    Flag {
        name: "conf-dir",
        value_name: Some("DIR"),
        heading: heading::SERVED,
        help: "Folder the files will live in on the server; only used for the paths written \
               inside nginx.conf [default: /etc/nginx]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.conf_dir, parsed(t)),
        get: |g| shown(g.conf_dir.as_ref()),
    },
    Flag {
        name: "http-port",
        value_name: Some("PORT"),
        heading: heading::SERVED,
        help: "Port of a plain-HTTP server that redirects to HTTPS (308); 0 for none [default: 80]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.redirect_port, parsed(t)),
        get: |g| {
            g.redirect_port
                .map(|redirect| redirect.0.map_or("0".to_string(), |port| port.to_string()))
        },
    },
    Flag {
        name: "no-tls",
        value_name: None,
        heading: heading::TLS,
        help: "Plain HTTP with basic auth only: no certificate, http:// in the external URL",
        reach: Reach::Answers,
        conflicts_with: &["days"],
        requires: &[],
        set: |g, t| {
            if on(t) {
                g.tls = Some(TlsChoice::Off);
            }
            Ok(())
        },
        get: |g| shown_switch(g.tls == Some(TlsChoice::Off)),
    },
    Flag {
        name: "tls",
        value_name: Some("CHOICE"),
        heading: heading::TLS,
        help: "How TLS is done: self-signed (a certificate for this bundle alone), local-ca (a \
               leaf signed by promsetup's own CA, made once for this user and reused by every \
               bundle, so clients trust it once: see `promsetup ca`), acme (Let's Encrypt or another ACME \
               CA through certbot, validated over --http-port: see --acme-email), own (with \
               --tls-cert and --tls-key) or none (as --no-tls) [default: self-signed, own with --tls-cert]",
        reach: Reach::Answers,
        conflicts_with: &["no-tls"],
        requires: &[],
        set: |g, t| put(&mut g.tls, parsed(t)),
        // "none" is `no-tls`'s to say.
        get: |g| {
            g.tls
                .filter(|choice| *choice != TlsChoice::Off)
                .map(|choice| choice.as_str().to_string())
        },
    },
    Flag {
        name: "tls-cert",
        value_name: Some("FILE"),
        heading: heading::TLS,
        help: "Your own certificate (PEM; a chain file starting with it is fine), used where it \
               is: nginx.conf points at this absolute path. Checked before anything is written: \
               the key must match, and the certificate must cover --domain and be valid now",
        reach: Reach::Answers,
        conflicts_with: &["no-tls", "days"],
        requires: &["tls-key"],
        set: |g, t| put(&mut g.tls_cert, parsed(t)),
        get: |g| shown(g.tls_cert.as_ref()),
    },
    Flag {
        name: "tls-key",
        value_name: Some("FILE"),
        heading: heading::TLS,
        help: "The key of --tls-cert (unencrypted PKCS#8 PEM), used where it is",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &["tls-cert"],
        set: |g, t| put(&mut g.tls_key, parsed(t)),
        get: |g| shown(g.tls_key.as_ref()),
    },
    Flag {
        name: "ca-dir",
        value_name: Some("DIR"),
        heading: heading::TLS,
        help: "Folder of the local CA (--tls local-ca, `promsetup ca`): ca.crt and its key \
               ca.key (0600), made there on first use [default: promsetup's folder in the \
               user's data folder, e.g. ~/.local/share/promsetup/ca]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| {
            if t.is_empty() {
                return Err(Invalid("it is empty; give a folder".into()));
            }
            g.ca_dir = Some(PathBuf::from(t));
            Ok(())
        },
        get: |g| g.ca_dir.as_ref().map(|dir| dir.display().to_string()),
    },
    Flag {
        name: "acme-email",
        value_name: Some("EMAIL"),
        heading: heading::TLS,
        help: "With --tls acme: where the ACME CA sends expiry notices (certbot --email) \
               [default: none, --register-unsafely-without-email]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.acme_email, parsed(t)),
        get: |g| shown(g.acme_email.as_ref()),
    },
    Flag {
        name: "acme-server",
        value_name: Some("URL"),
        heading: heading::TLS,
        help: "With --tls acme: the ACME CA's directory URL (certbot --server) [default: \
               certbot's, Let's Encrypt]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.acme_server, parsed(t)),
        get: |g| shown(g.acme_server.as_ref()),
    },
    Flag {
        name: "acme-dir",
        value_name: Some("DIR"),
        heading: heading::TLS,
        help: "With --tls acme: certbot's configuration folder on the server; nginx.conf reads \
               DIR/live/DOMAIN/fullchain.pem and privkey.pem [default: /etc/letsencrypt]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.acme_dir, parsed(t)),
        get: |g| shown(g.acme_dir.as_ref()),
    },
    Flag {
        name: "realm",
        value_name: Some("TEXT"),
        heading: heading::PASSWORD,
        help: "Basic-auth realm, shown by browsers [default: Prometheus]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.realm, parsed(t)),
        get: |g| shown(g.realm.as_ref()),
    },
    Flag {
        name: "days",
        value_name: Some("N"),
        heading: heading::TLS,
        help: "Certificate validity in days, 1 to 825 [default: 397, the public-CA limit]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.days, parsed(t)),
        get: |g| g.days.map(|days| days.get().to_string()),
    },
    Flag {
        name: "renew-days",
        value_name: Some("N"),
        heading: heading::TLS,
        help: "A re-run keeps the self-signed certificate and key until they are this close to \
               expiry, then makes new ones [default: 30]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.renew_days, parsed(t)),
        get: |g| g.renew_days.map(|days| days.get().to_string()),
    },
    Flag {
        name: "bind",
        value_name: Some("IP"),
        heading: heading::SERVED,
        help: "Address nginx listens on; repeat it (or separate with commas) for several, e.g. \
               --bind 127.0.0.1 --bind ::1 [default: every IPv4 and IPv6 address]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| {
            g.bind = parsed::<BindAddresses>(t)?.addresses().to_vec();
            Ok(())
        },
        get: |g| {
            let texts: Vec<String> = g.bind.iter().map(ToString::to_string).collect();
            (!texts.is_empty()).then(|| texts.join(","))
        },
    },
    Flag {
        name: "nginx-layout",
        value_name: Some("LAYOUT"),
        heading: heading::SERVED,
        help: "What nginx configuration to write. full: a whole nginx.conf that replaces the \
               host's. site: only this service's server blocks, for sites-available/ (linked \
               from sites-enabled/), conf.d/ or http.d/, beside the host's other sites. \
               snippet: location blocks to include in a TLS server you already have for the \
               domain, plus their http-level part [default: site when the main nginx.conf in \
               --conf-dir includes such a folder, else full]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.nginx_layout, parsed(t)),
        get: |g| g.nginx_layout.map(|layout| layout.as_str().to_string()),
    },
    Flag {
        name: "log-dir",
        value_name: Some("DIR"),
        heading: heading::SERVED,
        help: "Folder of the site's own access and error logs (promsetup-DOMAIN.access.log, \
               .error.log) [default: /var/log/nginx]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.log_dir, parsed(t)),
        get: |g| shown(g.log_dir.as_ref()),
    },
    Flag {
        name: "nginx-user",
        value_name: Some("USER"),
        heading: heading::SERVED,
        help: "Account nginx's workers run as (`user` in nginx.conf); .htpasswd is made readable \
               by its group [default: the first of www-data, nginx, http that exists here, else \
               www-data]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.nginx_user, parsed(t)),
        get: |g| shown(g.nginx_user.as_ref()),
    },
    Flag {
        name: "bcrypt-cost",
        value_name: Some("COST"),
        heading: heading::PASSWORD,
        help: "bcrypt cost of the stored hash, 4 to 14 [default: 5 with --auth nginx, 12 when \
               Prometheus checks]. nginx re-hashes the password on every request and blocks its \
               worker meanwhile: each step doubles that time (cost 5: ~2 ms, about 7% of \
               unauthenticated throughput; cost 12: ~250 ms, 3 requests/s). A leaked .htpasswd \
               at cost 5 is cheap to attack if the password is weak: a long random password (the \
               generated one) makes a low cost safe",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.bcrypt_cost, parsed(t)),
        get: |g| g.bcrypt_cost.map(|cost| cost.get().to_string()),
    },
    Flag {
        name: "auth",
        value_name: Some("WHO"),
        heading: heading::PASSWORD,
        help: "Who checks the password. nginx: from .htpasswd, on every request, blocking its \
               worker meanwhile, so the hash must be cheap (see --bcrypt-cost). prometheus: nginx \
               still does TLS and the prefix and passes the credentials on; Prometheus (2.24 or \
               later) checks them from the generated web.yml and caches the result, so a strong \
               hash (cost 12) costs nothing after the first request [default: nginx]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.auth, parsed(t)),
        get: |g| g.auth.map(|auth| auth.as_str().to_string()),
    },
    Flag {
        name: "no-nginx",
        value_name: None,
        heading: heading::PASSWORD,
        help: "No nginx: Prometheus itself serves TLS and basic auth from web.yml, on --port \
               [default port: 9090]. For hosts without nginx; implies --auth prometheus",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| {
            g.no_nginx = on(t);
            Ok(())
        },
        get: |g| shown_switch(g.no_nginx),
    },
    Flag {
        name: "prometheus-dir",
        value_name: Some("DIR"),
        heading: heading::PASSWORD,
        help: "Folder Prometheus's files (web.yml, the self-scrape password) will live in on the \
               server [default: /etc/prometheus]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.prometheus_dir, parsed(t)),
        get: |g| shown(g.prometheus_dir.as_ref()),
    },
    Flag {
        name: "prometheus-user",
        value_name: Some("USER"),
        heading: heading::PASSWORD,
        help: "Account Prometheus runs as; it must read web.yml (and, with --no-nginx, the key) \
               [default: prometheus]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.prometheus_user, parsed(t)),
        get: |g| shown(g.prometheus_user.as_ref()),
    },
    Flag {
        name: "enable-lifecycle",
        value_name: None,
        heading: heading::ENDPOINTS,
        help: "Enable Prometheus's /-/quit and /-/reload (--web.enable-lifecycle) and let \
               authenticated users reach them through nginx. Without it nginx answers 403 there, \
               whatever the password",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| {
            g.endpoints.lifecycle = on(t);
            Ok(())
        },
        get: |g| shown_switch(g.endpoints.lifecycle),
    },
    Flag {
        name: "enable-admin-api",
        value_name: None,
        heading: heading::ENDPOINTS,
        help: "Enable Prometheus's /api/v1/admin/ (--web.enable-admin-api: delete series, \
               snapshots) and let authenticated users reach it through nginx. Without it nginx \
               answers 403 there",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| {
            g.endpoints.admin_api = on(t);
            Ok(())
        },
        get: |g| shown_switch(g.endpoints.admin_api),
    },
    // Issue 13: profiles and federation are Prometheus endpoints that every signed-in user could
    // reach; like the admin API they are opened only on request.
    Flag {
        name: "enable-pprof",
        value_name: None,
        heading: heading::ENDPOINTS,
        help: "Let authenticated users reach Prometheus's /debug/pprof/ through nginx (its \
               command line, heap and CPU profiles, each profile loading the server). Without it \
               nginx answers 403 there (after the password check when nginx checks it)",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| {
            g.endpoints.pprof = on(t);
            Ok(())
        },
        get: |g| shown_switch(g.endpoints.pprof),
    },
    Flag {
        name: "enable-federate",
        value_name: None,
        heading: heading::ENDPOINTS,
        help: "Let authenticated users reach Prometheus's /federate through nginx (any series, \
               in bulk). Without it nginx answers 403 there (after the password check when nginx \
               checks it)",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| {
            g.endpoints.federate = on(t);
            Ok(())
        },
        get: |g| shown_switch(g.endpoints.federate),
    },
    Flag {
        name: "no-rate-limit",
        value_name: None,
        heading: heading::ENDPOINTS,
        help: "No per-client request limit in nginx. By default each client address gets 20 \
               requests/s with bursts of 100 (a 30-panel dashboard refresh passes at once), so a \
               flood of wrong passwords cannot keep nginx hashing; more answer 429",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| {
            g.no_rate_limit = on(t);
            Ok(())
        },
        get: |g| shown_switch(g.no_rate_limit),
    },
    Flag {
        name: "public-healthcheck",
        value_name: None,
        heading: heading::ENDPOINTS,
        help: "Serve PREFIX/-/healthy without a password, for load balancers (--auth nginx only)",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| {
            g.endpoints.public_healthcheck = on(t);
            Ok(())
        },
        get: |g| shown_switch(g.endpoints.public_healthcheck),
    },
    Flag {
        name: "nginx-version",
        value_name: Some("VERSION"),
        heading: heading::TLS,
        help: "nginx version the configuration is for [default: that of `nginx -V` here, else \
               1.22.1]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.nginx_version, parsed(t)),
        get: |g| shown(g.nginx_version),
    },
    Flag {
        name: "openssl-version",
        value_name: Some("VERSION"),
        heading: heading::TLS,
        help: "OpenSSL version nginx uses [default: from `nginx -V` here, else 3.0.0]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.openssl_version, parsed(t)),
        get: |g| shown(g.openssl_version),
    },
    Flag {
        name: "target",
        value_name: Some("PLATFORM"),
        heading: heading::PLATFORM,
        help: "What the bundle is for. nginx: nginx and Prometheus on a host. kubernetes: \
               Secrets, an ingress-nginx Ingress, the Prometheus resource's settings and a \
               kustomization.yaml. compose: a compose.yaml with nginx and Prometheus containers \
               [default: nginx]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.deploy_target, parsed(t)),
        get: |g| g.deploy_target.map(|target| target.as_str().to_string()),
    },
    Flag {
        name: "namespace",
        value_name: Some("NAME"),
        heading: heading::PLATFORM,
        help: "With --target kubernetes: the namespace of Prometheus and of the written objects \
               [default: monitoring]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.namespace, parsed(t)),
        get: |g| shown(g.namespace.as_ref()),
    },
    Flag {
        name: "ingress-class",
        value_name: Some("NAME"),
        heading: heading::PLATFORM,
        help: "With --target kubernetes: the Ingress's ingressClassName [default: nginx]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.ingress_class, parsed(t)),
        get: |g| shown(g.ingress_class.as_ref()),
    },
    Flag {
        name: "service",
        value_name: Some("NAME"),
        heading: heading::PLATFORM,
        help: "With --target kubernetes: the Service in front of Prometheus, also the name of \
               the Prometheus resource (kube-prometheus-stack names both RELEASE-prometheus) \
               [default: kube-prometheus-stack-prometheus]",
        reach: Reach::Answers,
        conflicts_with: &[],
        requires: &[],
        set: |g, t| put(&mut g.service, parsed(t)),
        get: |g| shown(g.service.as_ref()),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_relation_names_a_flag() {
        for (index, flag) in FLAGS.iter().enumerate() {
            assert!(
                FLAGS[..index].iter().all(|other| other.name != flag.name),
                "{} twice",
                flag.name
            );
            for related in flag.conflicts_with.iter().chain(flag.requires) {
                assert!(
                    find(related).is_some() || *related == "days",
                    "{related} is no flag"
                );
            }
            assert!(!flag.help.ends_with('.'), "{}: clap drops it", flag.name);
        }
    }

    #[test]
    fn every_flag_reads_back_what_it_set() {
        let samples = [
            ("domain", "example.com"),
            ("port", "8443"),
            ("prefix", "/a/b"),
            ("username", "grafana"),
            ("password-file", "/run/secret"),
            ("upstream", "[::1]:9091"),
            ("out", "bundle"),
            ("conf-dir", "/srv/nginx"),
            ("http-port", "0"),
            ("tls", "own"),
            ("tls-cert", "/etc/ssl/a.pem"),
            ("tls-key", "/etc/ssl/a.key"),
            ("ca-dir", "/srv/ca"),
            ("acme-email", "ops@example.com"),
            ("acme-server", "https://127.0.0.1:14000/dir"),
            ("acme-dir", "/srv/letsencrypt"),
            ("realm", "Ops team"),
            ("days", "30"),
            ("renew-days", "7"),
            ("bind", "::1"),
            ("nginx-layout", "snippet"),
            ("log-dir", "/srv/log"),
            ("nginx-user", "nginx"),
            ("bcrypt-cost", "6"),
            ("auth", "prometheus"),
            ("prometheus-dir", "/srv/prom"),
            ("prometheus-user", "prom"),
            ("nginx-version", "1.26.0"),
            ("openssl-version", "3.5.0"),
            ("target", "kubernetes"),
            ("namespace", "observability"),
            ("ingress-class", "nginx-internal"),
            ("service", "prometheus-operated"),
        ];
        for (name, text) in samples {
            let flag = find(name).unwrap();
            let mut given = Given::default();
            flag.set(&mut given, text).unwrap();
            assert_eq!(flag.get(&given).as_deref(), Some(text), "{name}");
        }
        for flag in FLAGS.iter().filter(|flag| flag.is_switch()) {
            let mut given = Given::default();
            assert_eq!(flag.get(&given), None, "{}", flag.name);
            flag.set(&mut given, "true").unwrap();
            assert_eq!(flag.get(&given).as_deref(), Some("true"), "{}", flag.name);
            assert!(flag.set(&mut given, "yes").is_err());
        }
        let values = FLAGS.iter().filter(|flag| !flag.is_switch()).count();
        assert_eq!(values, samples.len(), "a value flag has no sample here");
    }

    #[test]
    fn a_refused_value_carries_its_types_rule() {
        let err = find("domain").unwrap().check("a;b").unwrap_err();
        assert!(err.0.contains("';'"), "{err}");
    }
}

//! `Setup`: every value present, valid and consistent with the others. `resolve` is the only
//! way to build one (its fields are private; read them through its methods).
//!
//! This module owns defaults and the rules that tie values together (the redirect port differs
//! from the main port, TLS decides the default port). It does no I/O of its own: facts about the
//! host (nginx's version, its user) arrive in `HostFacts`, so the rules are testable anywhere.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::given::{Auth, Endpoints, Given, TlsChoice};
use crate::model::nginx_layout::{NginxLayout, SiteFolder, resolve_layout};
use crate::model::password::PasswordSource;
use crate::model::prometheus_service::PrometheusService;
use crate::model::target::{BASELINE, NginxTarget};
use crate::model::values::{
    BcryptCost, Domain, Port, Realm, RedirectPort, RenewDays, ServerPath, SystemUser, Upstream,
    UrlPrefix, UserName, ValidityDays, Version,
};

/// The output folder when `--out` is not given: a new folder in the current one, so a first run
/// never writes into a live configuration.
pub const DEFAULT_OUT_DIR: &str = "promsetup-bundle";
pub const DEFAULT_CONF_DIR: &str = "/etc/nginx";
pub const DEFAULT_PREFIX: &str = "/prometheus";
pub const DEFAULT_USERNAME: &str = "admin";
pub const DEFAULT_REALM: &str = "Prometheus";
pub const DEFAULT_UPSTREAM_PORT: u16 = 9090;
pub const DEFAULT_TLS_PORT: u16 = 443;
pub const DEFAULT_PLAIN_PORT: u16 = 80;
pub const DEFAULT_REDIRECT_PORT: u16 = 80;
/// nginx checks the hash on every request (FACTS 2): cost 5 is what `htpasswd -B` writes and keeps
/// nginx at about 7% of its unauthenticated throughput; each step up halves that.
pub const DEFAULT_BCRYPT_COST: BcryptCost = BcryptCost::new_const(5);
/// Prometheus caches a verified password (FACTS 2), so a strong hash costs one slow request.
pub const DEFAULT_PROMETHEUS_BCRYPT_COST: BcryptCost = BcryptCost::new_const(12);
/// Below this a leaked `web.yml` is cheap to attack, and with Prometheus checking there is no
/// throughput to win by going lower.
pub const MIN_PROMETHEUS_BCRYPT_COST: u32 = 10;
pub const DEFAULT_PROMETHEUS_DIR: &str = "/etc/prometheus";
pub const DEFAULT_LOG_DIR: &str = "/var/log/nginx";
pub const DEFAULT_PROMETHEUS_ACCOUNT: &str = "prometheus";
/// Without nginx, Prometheus cannot bind a privileged port as its own user: keep its usual one.
pub const DEFAULT_ALONE_PORT: u16 = 9090;
/// Above Prometheus's default `--query.timeout` of 2 minutes, so nginx never cuts a query that
/// Prometheus would still answer.
pub const PROXY_READ_TIMEOUT_SECONDS: u32 = 150;

/// The installed nginx's versions, asked when first needed: `host::nginx` answers it from
/// `nginx -V` on a thread of its own, tests from a fixed value.
#[derive(Clone)]
pub struct NginxAnswer(Arc<dyn Fn() -> Option<NginxTarget> + Send + Sync>);

impl NginxAnswer {
    pub fn new(answer: impl Fn() -> Option<NginxTarget> + Send + Sync + 'static) -> NginxAnswer {
        NginxAnswer(Arc::new(answer))
    }

    /// An answer known already (tests, or a host without nginx).
    pub fn known(target: Option<NginxTarget>) -> NginxAnswer {
        NginxAnswer::new(move || target)
    }

    /// The answer, waiting for it the first time.
    pub fn get(&self) -> Option<NginxTarget> {
        (self.0)()
    }
}

impl std::fmt::Debug for NginxAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NginxAnswer(nginx -V)")
    }
}

/// What promsetup learned about the machine it runs on, used only for defaults.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// `nginx -V`, when nginx is installed here (asked on its own thread; this waits for it).
    pub nginx: NginxAnswer,
    /// The first of the usual nginx worker accounts that exists here.
    pub nginx_user: Option<SystemUser>,
    /// The primary group of an account here, if it exists (nginx's `user NAME GROUP`).
    pub primary_group: fn(&str) -> Option<String>,
    /// The folder of sites that the main `nginx.conf` in a configuration folder (`--conf-dir`)
    /// includes, if any (`host::nginx_layout` reads it).
    pub site_folder: fn(&Path) -> Option<SiteFolder>,
    /// How Prometheus runs here (`host::prometheus_service` reads it).
    pub prometheus_service: fn() -> PrometheusService,
}

impl HostFacts {
    /// A host that tells nothing: every default is the built-in one.
    pub fn unknown() -> HostFacts {
        HostFacts::with_nginx(None)
    }

    /// A host whose nginx answers `target` (`None`: no nginx), and nothing else.
    pub fn with_nginx(target: Option<NginxTarget>) -> HostFacts {
        HostFacts {
            nginx: NginxAnswer::known(target),
            nginx_user: None,
            primary_group: |_| None,
            site_folder: |_| None,
            prometheus_service: PrometheusService::default,
        }
    }
}

/// Who serves clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// nginx in front (TLS, prefix), and one of the two checks the password.
    Proxied(Auth),
    /// No nginx: Prometheus does TLS and basic auth itself, from `web.yml`.
    PrometheusAlone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    /// promsetup makes the certificate and key.
    SelfSigned {
        days: ValidityDays,
    },
    /// The user's own pair, used where it is; `provided_cert` checks it before anything is written.
    Provided {
        certificate: ServerPath,
        key: ServerPath,
    },
    Off,
}

impl Tls {
    pub fn is_on(&self) -> bool {
        !matches!(self, Tls::Off)
    }
}

/// One complete, consistent set of answers. Built only by `resolve`.
#[derive(Debug, Clone)]
pub struct Setup {
    domain: Domain,
    port: Port,
    prefix: UrlPrefix,
    username: UserName,
    password: PasswordSource,
    upstream: Upstream,
    out_dir: PathBuf,
    conf_dir: ServerPath,
    redirect_port: Option<Port>,
    tls: Tls,
    realm: Realm,
    /// A re-run keeps the self-signed certificate until this close to its expiry.
    renew_days: RenewDays,
    /// Addresses to listen on; empty: every IPv4 and IPv6 address.
    bind: Vec<IpAddr>,
    nginx_layout: NginxLayout,
    /// Where a site's file goes (used by the `site` layout, and named by `snippet`'s).
    site_folder: SiteFolder,
    log_dir: ServerPath,
    prometheus_service: PrometheusService,
    nginx_user: SystemUser,
    /// The worker's group when its name differs from the account's (`user nobody nogroup;`):
    /// nginx otherwise looks for a group named like the account and refuses to start.
    nginx_group: Option<SystemUser>,
    bcrypt_cost: BcryptCost,
    topology: Topology,
    /// Where Prometheus's files (`web.yml`, the self-scrape password) live on the server.
    prometheus_dir: ServerPath,
    /// The account Prometheus runs as: it must read `web.yml`, and without nginx the key.
    prometheus_user: SystemUser,
    endpoints: Endpoints,
    /// The nginx and OpenSSL versions given as flags; the rest comes from `nginx -V`.
    versions: (Option<Version>, Option<Version>),
    nginx_probe: NginxAnswer,
    force: bool,
}

impl Setup {
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    pub fn port(&self) -> Port {
        self.port
    }

    pub fn prefix(&self) -> &UrlPrefix {
        &self.prefix
    }

    pub fn username(&self) -> &UserName {
        &self.username
    }

    pub fn password(&self) -> &PasswordSource {
        &self.password
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    pub fn conf_dir(&self) -> &ServerPath {
        &self.conf_dir
    }

    pub fn redirect_port(&self) -> Option<Port> {
        self.redirect_port
    }

    pub fn tls(&self) -> &Tls {
        &self.tls
    }

    pub fn realm(&self) -> &Realm {
        &self.realm
    }

    pub fn renew_days(&self) -> RenewDays {
        self.renew_days
    }

    /// The addresses given with `--bind`; empty: every IPv4 and IPv6 address.
    pub fn bind(&self) -> &[IpAddr] {
        &self.bind
    }

    pub fn nginx_layout(&self) -> NginxLayout {
        self.nginx_layout
    }

    pub fn site_folder(&self) -> SiteFolder {
        self.site_folder
    }

    pub fn log_dir(&self) -> &ServerPath {
        &self.log_dir
    }

    /// How Prometheus runs on this host, which decides how it gets its flags.
    pub fn prometheus_service(&self) -> &PrometheusService {
        &self.prometheus_service
    }

    pub fn nginx_user(&self) -> &SystemUser {
        &self.nginx_user
    }

    pub fn nginx_group(&self) -> Option<&SystemUser> {
        self.nginx_group.as_ref()
    }

    pub fn bcrypt_cost(&self) -> BcryptCost {
        self.bcrypt_cost
    }

    pub fn topology(&self) -> Topology {
        self.topology
    }

    pub fn prometheus_dir(&self) -> &ServerPath {
        &self.prometheus_dir
    }

    pub fn prometheus_user(&self) -> &SystemUser {
        &self.prometheus_user
    }

    pub fn endpoints(&self) -> Endpoints {
        self.endpoints
    }

    pub fn force(&self) -> bool {
        self.force
    }

    /// The nginx and OpenSSL the configuration is written for: the flags' versions, else those
    /// of the nginx installed here, else the baseline (Debian 12's).
    pub fn target(&self) -> NginxTarget {
        let mut target = self.nginx_probe.get().unwrap_or(BASELINE);
        if let Some(version) = self.versions.0 {
            target.nginx = version;
            target.detected = false;
        }
        if let Some(version) = self.versions.1 {
            target.openssl = version;
            target.detected = false;
        }
        target
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls.is_on() { "https" } else { "http" }
    }

    /// `scheme://host[:port]`, with the port left out when it is the scheme's own.
    pub fn origin(&self) -> String {
        let default_port = if self.tls.is_on() { 443 } else { 80 };
        let host = self.domain.url_host();
        if self.port.get() == default_port {
            format!("{}://{host}", self.scheme())
        } else {
            format!("{}://{host}:{}", self.scheme(), self.port)
        }
    }

    /// Prometheus's `--web.external-url`: where users reach it, ending in a slash (FACTS 6).
    pub fn external_url(&self) -> String {
        format!("{}{}", self.origin(), self.prefix.with_slash())
    }

    /// The name of the certificate file promsetup writes (self-signed only).
    pub fn certificate_file(&self) -> Option<String> {
        match self.tls {
            Tls::SelfSigned { .. } => Some(format!("{}.crt", self.domain.file_stem())),
            _ => None,
        }
    }

    /// The name of the key file promsetup writes (self-signed only).
    pub fn key_file(&self) -> Option<String> {
        match self.tls {
            Tls::SelfSigned { .. } => Some(format!("{}.key", self.domain.file_stem())),
            _ => None,
        }
    }

    /// The server folder a self-signed pair goes in: nginx's, or Prometheus's without nginx.
    pub fn tls_dir(&self) -> &ServerPath {
        if self.has_nginx() {
            &self.conf_dir
        } else {
            &self.prometheus_dir
        }
    }

    /// Where the certificate and key are read on the server, as written in `nginx.conf` or
    /// `web.yml`.
    pub fn certificate_and_key_on_server(&self) -> Option<(String, String)> {
        match &self.tls {
            Tls::SelfSigned { .. } => Some((
                self.tls_dir().join(&self.certificate_file()?),
                self.tls_dir().join(&self.key_file()?),
            )),
            Tls::Provided { certificate, key } => Some((certificate.text(), key.text())),
            Tls::Off => None,
        }
    }

    /// Whether nginx is part of the bundle.
    pub fn has_nginx(&self) -> bool {
        matches!(self.topology, Topology::Proxied(_))
    }

    /// Whether Prometheus checks passwords (from `web.yml`).
    pub fn prometheus_checks_passwords(&self) -> bool {
        !matches!(self.topology, Topology::Proxied(Auth::Nginx))
    }

    /// The path of a file in the Prometheus folder on the server.
    pub fn in_prometheus_dir(&self, file: &str) -> String {
        self.prometheus_dir.join(file)
    }

    /// Where Prometheus listens: the upstream behind nginx, or the public address without it.
    pub fn prometheus_listen_address(&self) -> String {
        match self.topology {
            Topology::Proxied(_) => self.upstream.to_string(),
            Topology::PrometheusAlone => match self.bind.first() {
                Some(IpAddr::V6(ip)) => format!("[{ip}]:{}", self.port),
                Some(IpAddr::V4(ip)) => format!("{ip}:{}", self.port),
                None => format!(":{}", self.port),
            },
        }
    }

    /// The Prometheus flags that match the bundle, in the order they are printed and written.
    pub fn prometheus_flags(&self, web_config: Option<&str>) -> Vec<String> {
        let mut flags = vec![format!("--web.external-url={}", self.external_url())];
        // Behind nginx the prefix is stripped (slash on both sides), so Prometheus serves at /.
        // Alone, it serves the prefix itself, which is the default for the external URL's path.
        if self.has_nginx() {
            flags.push("--web.route-prefix=/".to_string());
        }
        flags.push(format!(
            "--web.listen-address={}",
            self.prometheus_listen_address()
        ));
        if let Some(path) = web_config {
            flags.push(format!("--web.config.file={path}"));
        }
        if self.endpoints.lifecycle {
            flags.push("--web.enable-lifecycle".to_string());
        }
        if self.endpoints.admin_api {
            flags.push("--web.enable-admin-api".to_string());
        }
        flags
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("missing {}: {}", if .0.len() == 1 { "value" } else { "values" }, .0.join(", "))]
    Missing(Vec<&'static str>),
    #[error("{0}")]
    Conflict(String),
}

/// Fills in defaults and checks the values against each other. In non-interactive use every
/// required value must have been given; `Missing` names every flag that is absent, at once.
pub fn resolve(given: Given, host: &HostFacts) -> Result<Setup, SetupError> {
    let mut missing = Vec::new();
    if given.domain.is_none() {
        missing.push("--domain");
    }
    let Some(domain) = given.domain else {
        return Err(SetupError::Missing(missing));
    };

    let topology = match (given.no_nginx, given.auth) {
        (true, Some(Auth::Nginx)) => {
            return Err(SetupError::Conflict(
                "--no-nginx leaves Prometheus to check passwords; it cannot go with --auth nginx"
                    .into(),
            ));
        }
        (true, _) => Topology::PrometheusAlone,
        (false, auth) => Topology::Proxied(auth.unwrap_or(Auth::Nginx)),
    };
    let bcrypt_cost = match (topology, given.bcrypt_cost) {
        (Topology::Proxied(Auth::Nginx), cost) => cost.unwrap_or(DEFAULT_BCRYPT_COST),
        (_, Some(cost)) if cost.get() < MIN_PROMETHEUS_BCRYPT_COST => {
            return Err(SetupError::Conflict(format!(
                "--bcrypt-cost {} is too low for a web.yml: Prometheus caches a verified \
                 password, so a strong cost costs nothing after the first request; give {} or \
                 more",
                cost.get(),
                MIN_PROMETHEUS_BCRYPT_COST
            )));
        }
        (_, cost) => cost.unwrap_or(DEFAULT_PROMETHEUS_BCRYPT_COST),
    };
    if given.endpoints.public_healthcheck && topology != Topology::Proxied(Auth::Nginx) {
        return Err(SetupError::Conflict(
            "--public-healthcheck needs nginx to check passwords (--auth nginx): Prometheus \
             asks for them on every endpoint it serves, /-/healthy included"
                .into(),
        ));
    }
    if topology == Topology::PrometheusAlone && given.bind.len() > 1 {
        return Err(SetupError::Conflict(
            "--no-nginx: Prometheus listens on one address (--web.listen-address); give one \
             --bind, or none for every address"
                .into(),
        ));
    }
    if topology == Topology::PrometheusAlone {
        let nginx_only = [
            (given.upstream.is_some(), "--upstream"),
            (given.conf_dir.is_some(), "--conf-dir"),
            (
                given.redirect_port.is_some_and(|r| r.0.is_some()),
                "--http-port",
            ),
            (given.nginx_user.is_some(), "--nginx-user"),
            (given.realm.is_some(), "--realm"),
            (given.nginx_layout.is_some(), "--nginx-layout"),
            (given.log_dir.is_some(), "--log-dir"),
        ];
        let clashing: Vec<_> = nginx_only
            .iter()
            .filter(|(given, _)| *given)
            .map(|(_, flag)| *flag)
            .collect();
        if !clashing.is_empty() {
            return Err(SetupError::Conflict(format!(
                "{} configure nginx, and --no-nginx leaves nginx out",
                clashing.join(", ")
            )));
        }
    }

    let own_files = given.tls_cert.is_some() || given.tls_key.is_some();
    let choice = given.tls.unwrap_or(if own_files {
        TlsChoice::Own
    } else {
        TlsChoice::SelfSigned
    });
    let tls = match (choice, given.tls_cert, given.tls_key) {
        (TlsChoice::Own | TlsChoice::Off, _, _) if given.days.is_some() => {
            return Err(SetupError::Conflict(
                "--days sets the lifetime of the self-signed certificate; it does not go with \
                 your own certificate or --no-tls"
                    .into(),
            ));
        }
        (TlsChoice::Own, Some(certificate), Some(key)) => Tls::Provided { certificate, key },
        (TlsChoice::Own, _, _) => {
            return Err(SetupError::Conflict(
                "your own certificate needs both --tls-cert and --tls-key (tls-cert and tls-key \
                 in an answers file)"
                    .into(),
            ));
        }
        _ if own_files => {
            return Err(SetupError::Conflict(
                "--tls-cert and --tls-key give your own certificate; they do not go with a \
                 self-signed one or --no-tls"
                    .into(),
            ));
        }
        (TlsChoice::SelfSigned, _, _) => Tls::SelfSigned {
            days: given.days.unwrap_or(ValidityDays::DEFAULT),
        },
        (TlsChoice::Off, _, _) => Tls::Off,
    };
    let port = given
        .port
        .unwrap_or(Port::new_const(if topology == Topology::PrometheusAlone {
            DEFAULT_ALONE_PORT
        } else if tls.is_on() {
            DEFAULT_TLS_PORT
        } else {
            DEFAULT_PLAIN_PORT
        }));
    let redirect_port = match (tls.is_on(), given.redirect_port) {
        _ if topology == Topology::PrometheusAlone => None,
        (false, Some(RedirectPort(Some(_)))) => {
            return Err(SetupError::Conflict(
                "--http-port redirects plain HTTP to HTTPS, so it cannot go with --no-tls".into(),
            ));
        }
        (false, _) => None,
        (true, Some(RedirectPort(choice))) => choice,
        (true, None) if port.get() == DEFAULT_REDIRECT_PORT => None,
        (true, None) => Some(Port::new_const(DEFAULT_REDIRECT_PORT)),
    };
    if redirect_port == Some(port) {
        return Err(SetupError::Conflict(format!(
            "--http-port and --port are both {port}; give different ports, or --http-port 0 for \
             no redirecting server"
        )));
    }

    let nginx_user = given
        .nginx_user
        .or_else(|| host.nginx_user.clone())
        .unwrap_or_else(|| "www-data".parse().expect("default user is valid"));
    let nginx_group = (host.primary_group)(nginx_user.as_str())
        .filter(|group| group != nginx_user.as_str())
        .and_then(|group| group.parse().ok());

    let conf_dir: ServerPath = given
        .conf_dir
        .unwrap_or_else(|| DEFAULT_CONF_DIR.parse().expect("default folder is valid"));
    let (nginx_layout, site_folder) =
        resolve_layout(given.nginx_layout, (host.site_folder)(conf_dir.path()));
    if nginx_layout == NginxLayout::Snippet && given.prefix.as_ref().is_some_and(|p| p.is_root()) {
        return Err(SetupError::Conflict(
            "--nginx-layout snippet adds locations to a server that has its own '/': give a \
             --prefix other than /, or --nginx-layout site"
                .into(),
        ));
    }

    Ok(Setup {
        domain,
        port,
        prefix: given
            .prefix
            .unwrap_or_else(|| DEFAULT_PREFIX.parse().expect("default prefix is valid")),
        username: given
            .username
            .unwrap_or_else(|| DEFAULT_USERNAME.parse().expect("default user is valid")),
        password: given.password.unwrap_or(PasswordSource::Generate),
        upstream: given
            .upstream
            .unwrap_or_else(|| Upstream::loopback(DEFAULT_UPSTREAM_PORT)),
        out_dir: given
            .out_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR)),
        conf_dir,
        redirect_port,
        tls,
        realm: given
            .realm
            .unwrap_or_else(|| DEFAULT_REALM.parse().expect("default realm is valid")),
        renew_days: given.renew_days.unwrap_or(RenewDays::DEFAULT),
        bind: given.bind,
        nginx_layout,
        site_folder,
        prometheus_service: (host.prometheus_service)(),
        log_dir: given
            .log_dir
            .unwrap_or_else(|| DEFAULT_LOG_DIR.parse().expect("default folder is valid")),
        nginx_user,
        nginx_group,
        bcrypt_cost,
        topology,
        prometheus_dir: given.prometheus_dir.unwrap_or_else(|| {
            DEFAULT_PROMETHEUS_DIR
                .parse()
                .expect("default folder is valid")
        }),
        endpoints: given.endpoints,
        prometheus_user: given.prometheus_user.unwrap_or_else(|| {
            DEFAULT_PROMETHEUS_ACCOUNT
                .parse()
                .expect("default account is valid")
        }),
        versions: (given.nginx_version, given.openssl_version),
        nginx_probe: host.nginx.clone(),
        force: given.force,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostFacts {
        HostFacts {
            nginx: NginxAnswer::known(None),
            nginx_user: None,
            primary_group: |_| None,
            site_folder: |_| None,
            prometheus_service: PrometheusService::default,
        }
    }

    fn given(domain: &str) -> Given {
        Given {
            domain: Some(domain.parse().unwrap()),
            ..Given::default()
        }
    }

    #[test]
    fn defaults_give_the_reference_shape_with_tls() {
        let setup = resolve(given("example.com"), &host()).unwrap();
        assert_eq!(setup.external_url(), "https://example.com/prometheus/");
        assert_eq!(setup.port.get(), 443);
        assert_eq!(setup.redirect_port, Some(Port::new_const(80)));
        assert_eq!(
            setup.prometheus_flags(None),
            vec![
                "--web.external-url=https://example.com/prometheus/",
                "--web.route-prefix=/",
                "--web.listen-address=127.0.0.1:9090",
            ]
        );
        assert_eq!(setup.certificate_file().unwrap(), "example.com.crt");
        assert_eq!(setup.out_dir, PathBuf::from("promsetup-bundle"));
        assert_eq!(setup.nginx_user.as_str(), "www-data");
        assert_eq!(setup.password, PasswordSource::Generate);
    }

    #[test]
    fn missing_domain_is_named() {
        let err = resolve(Given::default(), &host()).unwrap_err();
        assert_eq!(err, SetupError::Missing(vec!["--domain"]));
        assert_eq!(err.to_string(), "missing value: --domain");
    }

    #[test]
    fn external_url_carries_the_port_only_when_it_is_not_the_schemes_own() {
        let mut g = given("example.com");
        g.port = Some("8443".parse().unwrap());
        assert_eq!(
            resolve(g, &host()).unwrap().external_url(),
            "https://example.com:8443/prometheus/"
        );

        let mut g = given("2001:db8::5");
        g.tls = Some(TlsChoice::Off);
        g.prefix = Some("/".parse().unwrap());
        let setup = resolve(g, &host()).unwrap();
        assert_eq!(setup.external_url(), "http://[2001:db8::5]/");
        assert_eq!(setup.port.get(), 80);
        assert_eq!(setup.redirect_port, None);
        assert_eq!(setup.certificate_file(), None);
    }

    #[test]
    fn redirect_port_must_differ_and_needs_tls() {
        let mut g = given("example.com");
        g.port = Some("8080".parse().unwrap());
        g.redirect_port = Some("8080".parse().unwrap());
        assert!(matches!(
            resolve(g, &host()),
            Err(SetupError::Conflict(m)) if m.contains("8080")
        ));

        let mut g = given("example.com");
        g.tls = Some(TlsChoice::Off);
        g.redirect_port = Some("81".parse().unwrap());
        assert!(matches!(resolve(g, &host()), Err(SetupError::Conflict(_))));

        // Serving HTTPS on port 80 leaves no default redirect port.
        let mut g = given("example.com");
        g.port = Some("80".parse().unwrap());
        assert_eq!(resolve(g, &host()).unwrap().redirect_port, None);
    }

    #[test]
    fn prometheus_auth_raises_the_cost_and_adds_the_web_config_flag() {
        let mut g = given("example.com");
        g.auth = Some(Auth::Prometheus);
        let setup = resolve(g, &host()).unwrap();
        assert_eq!(setup.bcrypt_cost.get(), 12);
        assert!(setup.prometheus_checks_passwords() && setup.has_nginx());
        assert_eq!(
            setup
                .prometheus_flags(Some("/etc/prometheus/web.yml"))
                .last()
                .unwrap(),
            "--web.config.file=/etc/prometheus/web.yml"
        );

        let mut g = given("example.com");
        g.auth = Some(Auth::Prometheus);
        g.bcrypt_cost = Some("8".parse().unwrap());
        assert!(matches!(resolve(g, &host()), Err(SetupError::Conflict(m)) if m.contains("10")));
    }

    #[test]
    fn without_nginx_prometheus_serves_the_prefix_itself_on_its_own_port() {
        let mut g = given("example.com");
        g.no_nginx = true;
        let setup = resolve(g, &host()).unwrap();
        assert_eq!(setup.port.get(), 9090);
        assert_eq!(setup.redirect_port, None);
        assert_eq!(
            setup.prometheus_flags(Some("/etc/prometheus/web.yml")),
            vec![
                "--web.external-url=https://example.com:9090/prometheus/",
                "--web.listen-address=:9090",
                "--web.config.file=/etc/prometheus/web.yml",
            ]
        );

        let mut g = given("example.com");
        g.no_nginx = true;
        g.upstream = Some("127.0.0.1:9091".parse().unwrap());
        g.realm = Some("x".parse().unwrap());
        let err = resolve(g, &host()).unwrap_err().to_string();
        assert!(err.contains("--upstream, --realm"), "{err}");

        let mut g = given("example.com");
        g.no_nginx = true;
        g.auth = Some(Auth::Nginx);
        assert!(resolve(g, &host()).is_err());
    }

    #[test]
    fn host_facts_give_defaults_and_flags_override_them() {
        let facts = HostFacts {
            nginx: NginxAnswer::known(Some(NginxTarget {
                nginx: Version(1, 26, 0),
                openssl: Version(3, 5, 0),
                http2_module: true,
                detected: true,
            })),
            nginx_user: Some("nginx".parse().unwrap()),
            primary_group: |_| None,
            site_folder: |_| None,
            prometheus_service: PrometheusService::default,
        };
        let setup = resolve(given("example.com"), &facts).unwrap();
        assert_eq!(setup.nginx_user.as_str(), "nginx");
        assert!(setup.target().has_mlkem());

        let mut g = given("example.com");
        g.openssl_version = Some("3.0.2".parse().unwrap());
        let setup = resolve(g, &facts).unwrap();
        assert!(!setup.target().has_mlkem());
        assert_eq!(setup.target().nginx, Version(1, 26, 0));
    }
}

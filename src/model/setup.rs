//! `Setup`: every value present, valid and consistent with the others. `resolve` is the only
//! way to build one (its fields are private; read them through its methods).
//!
//! This module owns defaults and the rules that tie values together (the redirect port differs
//! from the main port, TLS decides the default port). It does no I/O of its own: facts about the
//! host (nginx's version, its user) arrive in `HostFacts`, so the rules are testable anywhere.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::given::{Auth, DeployTarget, Endpoints, Given, TlsChoice};
use crate::model::nginx_layout::{NginxLayout, SiteFolder, resolve_layout};
use crate::model::password::PasswordSource;
use crate::model::prometheus_service::PrometheusService;
use crate::model::target::{BASELINE, NginxTarget};
use crate::model::values::{
    AcmeEmail, AcmeServer, BcryptCost, Domain, KubeName, Port, Realm, RedirectPort, RenewDays,
    ServerPath, SystemUser, Upstream, UrlPrefix, UserName, ValidityDays, Version,
};

/// The output folder when `--out` is not given: a new folder in the current one, so a first run
/// never writes into a live configuration.
pub const DEFAULT_OUT_DIR: &str = "promsetup-bundle";
pub const DEFAULT_CONF_DIR: &str = "/etc/nginx";
/// certbot's own configuration folder (`--config-dir`).
pub const DEFAULT_CERTBOT_DIR: &str = "/etc/letsencrypt";
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
/// kube-prometheus-stack's usual namespace in its documentation.
pub const DEFAULT_NAMESPACE: &str = "monitoring";
/// ingress-nginx's default IngressClass.
pub const DEFAULT_INGRESS_CLASS: &str = "nginx";
/// kube-prometheus-stack installed as release `kube-prometheus-stack` names both its Prometheus
/// Service and its Prometheus resource `kube-prometheus-stack-prometheus`.
pub const DEFAULT_SERVICE: &str = "kube-prometheus-stack-prometheus";
/// With `--target compose` the nginx container reaches Prometheus by its service name.
pub const COMPOSE_PROMETHEUS_SERVICE: &str = "prometheus";
pub const COMPOSE_PROMETHEUS_PORT: u16 = 9090;
/// The official nginx image runs its workers as `nginx`.
pub const COMPOSE_NGINX_USER: &str = "nginx";
/// The official Prometheus image runs as `nobody`.
pub const COMPOSE_PROMETHEUS_USER: &str = "nobody";

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
    /// A leaf promsetup signs with its local CA (`--tls local-ca`), written like a self-signed
    /// pair; the CA lives in `ca_dir` (`None`: the user's data folder, `host::local_ca`).
    LocalCa {
        days: ValidityDays,
        ca_dir: Option<PathBuf>,
    },
    /// A certificate certbot gets from an ACME CA over http-01 (`--tls acme`); nginx reads it
    /// at certbot's `live/` paths, and the bundle holds a self-signed stand-in for the bootstrap.
    Acme {
        email: Option<AcmeEmail>,
        server: Option<AcmeServer>,
        certbot_dir: ServerPath,
    },
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
    /// nginx's `limit_req` on the password-checked location (off with `--no-rate-limit`).
    rate_limit: bool,
    deploy_target: DeployTarget,
    /// Kubernetes only: namespace, ingress class, and the Service (= Prometheus resource name).
    kubernetes: KubernetesNames,
}

/// The names a Kubernetes bundle refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesNames {
    pub namespace: KubeName,
    pub ingress_class: KubeName,
    pub service: KubeName,
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

    pub fn deploy_target(&self) -> DeployTarget {
        self.deploy_target
    }

    pub fn kubernetes(&self) -> &KubernetesNames {
        &self.kubernetes
    }

    /// Warnings about values that work but may not do what the user expects; said at the run.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        // A warning, not a refusal: a renewal window wider than the lifetime is also how a
        // renewal is forced on purpose.
        if let Tls::SelfSigned { days } = &self.tls
            && self.renew_days.get() >= days.get()
        {
            warnings.push(format!(
                "--renew-days {} is not less than --days {}: the certificate is due for renewal \
                 as soon as it is made, so every re-run will replace the key and certificate \
                 (and clients that pinned it must trust the new one); give --renew-days below \
                 --days",
                self.renew_days.get(),
                days.get()
            ));
        }
        if !self.has_nginx() {
            return warnings;
        }
        if let Some(name) = self.upstream.host_name() {
            warnings.push(format!(
                "--upstream {}: nginx resolves {name} once, when it starts, and refuses to start \
                 (\"host not found in upstream\") while it cannot; Prometheus binds to what it \
                 resolves to. An address (127.0.0.1:{}) avoids both",
                self.upstream,
                self.upstream.port()
            ));
        }
        if let Some(ip) = self.upstream.ip().filter(|ip| !ip.is_loopback()) {
            warnings.push(format!(
                "--upstream {}: Prometheus listens on {ip}, not on loopback, so whoever reaches \
                 that address gets Prometheus without nginx's password and TLS; firewall it, or \
                 use 127.0.0.1:{} when Prometheus runs on this host",
                self.upstream,
                self.upstream.port()
            ));
        }
        if !self.tls.is_on() {
            warnings.push(
                "--no-tls: the password and every answer cross the network in clear text; use \
                 it only on a trusted network or behind another TLS proxy"
                    .into(),
            );
        }
        warnings
    }

    /// Whether nginx limits each client address's requests to the proxied location.
    pub fn rate_limited(&self) -> bool {
        self.rate_limit && self.has_nginx()
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

    /// The name of the certificate file promsetup writes (self-signed or local CA).
    pub fn certificate_file(&self) -> Option<String> {
        match self.tls {
            Tls::SelfSigned { .. } | Tls::LocalCa { .. } | Tls::Acme { .. } => {
                Some(format!("{}.crt", self.domain.file_stem()))
            }
            _ => None,
        }
    }

    /// The name of the key file promsetup writes (self-signed or local CA).
    pub fn key_file(&self) -> Option<String> {
        match self.tls {
            Tls::SelfSigned { .. } | Tls::LocalCa { .. } | Tls::Acme { .. } => {
                Some(format!("{}.key", self.domain.file_stem()))
            }
            _ => None,
        }
    }

    /// Whether clients trust the certificate without a step per client: your own (from a CA
    /// they already trust) does. A self-signed leaf or one from the local CA must first be
    /// imported by each client, so HSTS would lock out every client that has not.
    pub fn certificate_is_trusted(&self) -> bool {
        matches!(self.tls, Tls::Provided { .. } | Tls::Acme { .. })
    }

    /// The folder certbot's http-01 files are served from (`--tls acme`), under `--conf-dir`.
    pub fn acme_webroot(&self) -> Option<String> {
        matches!(self.tls, Tls::Acme { .. }).then(|| self.conf_dir.join("acme-webroot"))
    }

    /// certbot's `live/DOMAIN` folder (`--tls acme`).
    pub fn acme_live_dir(&self) -> Option<String> {
        match &self.tls {
            Tls::Acme { certbot_dir, .. } => Some(
                certbot_dir
                    .path()
                    .join("live")
                    .join(self.domain.to_string())
                    .display()
                    .to_string(),
            ),
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
            Tls::SelfSigned { .. } | Tls::LocalCa { .. } => Some((
                self.tls_dir().join(&self.certificate_file()?),
                self.tls_dir().join(&self.key_file()?),
            )),
            Tls::Provided { certificate, key } => Some((certificate.text(), key.text())),
            Tls::Acme { .. } => {
                let live = self.acme_live_dir()?;
                Some((
                    format!("{live}/fullchain.pem"),
                    format!("{live}/privkey.pem"),
                ))
            }
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
            // In its own container: every address of it, reachable from the nginx container and
            // not published on the host (compose.yaml has no `ports:` for it).
            Topology::Proxied(_) if self.deploy_target == DeployTarget::Compose => {
                format!(":{COMPOSE_PROMETHEUS_PORT}")
            }
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
        // ingress-nginx passes the path on as it came (FACTS 11): Prometheus serves the prefix.
        if self.deploy_target == DeployTarget::Kubernetes {
            flags.push(format!("--web.route-prefix={}", self.prefix));
        } else if self.has_nginx() {
            flags.push("--web.route-prefix=/".to_string());
        }
        // In a cluster the operator sets where Prometheus listens.
        if self.deploy_target != DeployTarget::Kubernetes {
            flags.push(format!(
                "--web.listen-address={}",
                self.prometheus_listen_address()
            ));
        }
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
    let Some(domain) = given.domain.clone() else {
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
    let deploy_target = given.deploy_target.unwrap_or(DeployTarget::Nginx);
    check_platform_flags(&given, deploy_target, topology)?;
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

    let acme_flags =
        given.acme_email.is_some() || given.acme_server.is_some() || given.acme_dir.is_some();
    if acme_flags && given.tls != Some(TlsChoice::Acme) {
        return Err(SetupError::Conflict(
            "--acme-email, --acme-server and --acme-dir go with --tls acme".into(),
        ));
    }
    if given.tls == Some(TlsChoice::Acme) {
        if topology == Topology::PrometheusAlone {
            return Err(SetupError::Conflict(
                "--tls acme needs nginx to answer the ACME challenge; it does not go with \
                 --no-nginx"
                    .into(),
            ));
        }
        if domain.is_ip() {
            return Err(SetupError::Conflict(
                "--tls acme needs a DNS name: certbot gets no certificate for an address".into(),
            ));
        }
    }
    if given.ca_dir.is_some() && given.tls != Some(TlsChoice::LocalCa) {
        return Err(SetupError::Conflict(
            "--ca-dir is the local CA's folder; it goes with --tls local-ca".into(),
        ));
    }
    let own_files = given.tls_cert.is_some() || given.tls_key.is_some();
    let choice = given.tls.unwrap_or(if own_files {
        TlsChoice::Own
    } else {
        TlsChoice::SelfSigned
    });
    let tls = match (choice, given.tls_cert, given.tls_key) {
        (TlsChoice::Own | TlsChoice::Off | TlsChoice::Acme, _, _) if given.days.is_some() => {
            return Err(SetupError::Conflict(
                "--days sets the lifetime of the self-signed certificate; it does not go with \
                 your own certificate, --tls acme or --no-tls"
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
        // Browsers refuse a CA-signed leaf valid longer than the public-CA limit.
        (TlsChoice::LocalCa, _, _) => match given.days {
            Some(days) if days.get() > ValidityDays::DEFAULT.get() => {
                return Err(SetupError::Conflict(format!(
                    "--days {} is too long for a certificate from the local CA: browsers refuse \
                     one valid longer than {} days",
                    days.get(),
                    ValidityDays::DEFAULT.get()
                )));
            }
            days => Tls::LocalCa {
                days: days.unwrap_or(ValidityDays::DEFAULT),
                ca_dir: given.ca_dir.clone(),
            },
        },
        (TlsChoice::Off, _, _) => Tls::Off,
        (TlsChoice::Acme, _, _) => Tls::Acme {
            email: given.acme_email.clone(),
            server: given.acme_server.clone(),
            certbot_dir: given.acme_dir.clone().unwrap_or_else(|| {
                DEFAULT_CERTBOT_DIR
                    .parse()
                    .expect("default folder is valid")
            }),
        },
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
    if matches!(tls, Tls::Acme { .. }) && redirect_port.is_none() {
        return Err(SetupError::Conflict(
            "--tls acme proves the domain over plain HTTP (http-01, port 80): it needs the \
             plain-HTTP server; give --http-port 80, not 0"
                .into(),
        ));
    }
    if redirect_port == Some(port) {
        return Err(SetupError::Conflict(format!(
            "--http-port and --port are both {port}; give different ports, or --http-port 0 for \
             no redirecting server"
        )));
    }

    // Issue 13: values that are each valid but do not work together.
    if let (Topology::Proxied(_), Some(upstream)) = (topology, &given.upstream) {
        let clashes = |listen: Port| {
            listen == upstream.port()
                && match (given.bind.as_slice(), upstream.ip()) {
                    // nginx on every address takes the port on loopback too.
                    ([], _) => true,
                    (binds, Some(ip)) => binds.contains(&ip) || ip.is_unspecified(),
                    (_, None) => false,
                }
        };
        for (flag, listen) in [("--port", Some(port)), ("--http-port", redirect_port)] {
            if let Some(listen) = listen.filter(|listen| clashes(*listen)) {
                return Err(SetupError::Conflict(format!(
                    "{flag} {listen} and --upstream {upstream} ask nginx and Prometheus to listen \
                     on the same port: the second to start would fail; give another port to one \
                     of them"
                )));
            }
        }
    }

    let in_container = deploy_target == DeployTarget::Compose;
    let nginx_user = given
        .nginx_user
        .or_else(|| (!in_container).then(|| host.nginx_user.clone()).flatten())
        .unwrap_or_else(|| {
            let user = if in_container {
                COMPOSE_NGINX_USER
            } else {
                "www-data"
            };
            user.parse().expect("default user is valid")
        });
    // In a container the image's account and group are meant, not this machine's.
    let nginx_group = (!in_container)
        .then(|| (host.primary_group)(nginx_user.as_str()))
        .flatten()
        .filter(|group| group != nginx_user.as_str())
        .and_then(|group| group.parse().ok());
    let kubernetes = KubernetesNames {
        namespace: given
            .namespace
            .unwrap_or_else(|| DEFAULT_NAMESPACE.parse().expect("default is valid")),
        ingress_class: given
            .ingress_class
            .unwrap_or_else(|| DEFAULT_INGRESS_CLASS.parse().expect("default is valid")),
        service: given
            .service
            .unwrap_or_else(|| DEFAULT_SERVICE.parse().expect("default is valid")),
    };

    let conf_dir: ServerPath = given
        .conf_dir
        .unwrap_or_else(|| DEFAULT_CONF_DIR.parse().expect("default folder is valid"));
    // A container's nginx (compose) has no other sites: its nginx.conf is the whole of it.
    let (nginx_layout, site_folder) = match deploy_target {
        DeployTarget::Nginx => {
            resolve_layout(given.nginx_layout, (host.site_folder)(conf_dir.path()))
        }
        _ if given
            .nginx_layout
            .is_some_and(|layout| layout != NginxLayout::Full) =>
        {
            return Err(SetupError::Conflict(format!(
                "--nginx-layout {} places files in a host's nginx; --target {} writes its own \
                 whole configuration",
                given
                    .nginx_layout
                    .map(NginxLayout::as_str)
                    .unwrap_or_default(),
                deploy_target.as_str()
            )));
        }
        _ => resolve_layout(Some(NginxLayout::Full), None),
    };
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
        upstream: match (given.upstream, in_container) {
            (Some(upstream), _) => upstream,
            (None, true) => format!("{COMPOSE_PROMETHEUS_SERVICE}:{COMPOSE_PROMETHEUS_PORT}")
                .parse()
                .expect("the service address is valid"),
            (None, false) => Upstream::loopback(DEFAULT_UPSTREAM_PORT),
        },
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
            let account = if in_container {
                COMPOSE_PROMETHEUS_USER
            } else {
                DEFAULT_PROMETHEUS_ACCOUNT
            };
            account.parse().expect("default account is valid")
        }),
        versions: (given.nginx_version, given.openssl_version),
        // The nginx in the image is not this machine's: write for the baseline, which every
        // newer nginx accepts, unless versions are given.
        nginx_probe: if in_container {
            NginxAnswer::known(None)
        } else {
            host.nginx.clone()
        },
        force: given.force,
        deploy_target,
        kubernetes,
        rate_limit: !given.no_rate_limit,
    })
}

/// Flags that mean nothing for the chosen `--target`, or that it cannot honour, each refused
/// with the reason.
fn check_platform_flags(
    given: &Given,
    target: DeployTarget,
    topology: Topology,
) -> Result<(), SetupError> {
    let named = |flags: &[(bool, &'static str)]| -> Vec<&'static str> {
        flags
            .iter()
            .filter(|(given, _)| *given)
            .map(|(_, flag)| *flag)
            .collect()
    };
    let kubernetes_only = named(&[
        (given.namespace.is_some(), "--namespace"),
        (given.ingress_class.is_some(), "--ingress-class"),
        (given.service.is_some(), "--service"),
    ]);
    if target != DeployTarget::Kubernetes && !kubernetes_only.is_empty() {
        return Err(SetupError::Conflict(format!(
            "{} only mean something with --target kubernetes",
            kubernetes_only.join(", ")
        )));
    }
    let host_certificates = matches!(given.tls, Some(TlsChoice::LocalCa | TlsChoice::Acme));
    if target != DeployTarget::Nginx && host_certificates {
        return Err(SetupError::Conflict(format!(
            "--tls {} makes or fetches the certificate on a host (the local CA in your data \
             folder, certbot with nginx's webroot); with --target {} give your own with \
             --tls-cert and --tls-key, or the self-signed default",
            given.tls.map(TlsChoice::as_str).unwrap_or_default(),
            target.as_str()
        )));
    }
    match target {
        DeployTarget::Nginx => Ok(()),
        DeployTarget::Kubernetes => {
            if topology != Topology::Proxied(Auth::Nginx) {
                return Err(SetupError::Conflict(
                    "--target kubernetes needs --auth nginx: ingress-nginx checks the password \
                     from the auth Secret, and prometheus-operator's Prometheus resource has no \
                     basic-auth users for its web server (spec.web has no basic_auth_users), so \
                     Prometheus cannot check passwords there (--auth prometheus, --no-nginx)"
                        .into(),
                ));
            }
            let host_only = named(&[
                (given.upstream.is_some(), "--upstream"),
                (given.conf_dir.is_some(), "--conf-dir"),
                (given.redirect_port.is_some(), "--http-port"),
                (!given.bind.is_empty(), "--bind"),
                (given.nginx_user.is_some(), "--nginx-user"),
            ]);
            if host_only.is_empty() {
                return Ok(());
            }
            Err(SetupError::Conflict(format!(
                "{} configure nginx on a host; with --target kubernetes ingress-nginx listens, \
                 redirects and reaches Prometheus through --service",
                host_only.join(", ")
            )))
        }
        DeployTarget::Compose => {
            if topology == Topology::PrometheusAlone {
                return Err(SetupError::Conflict(
                    "--target compose puts an nginx container in front of Prometheus; it does \
                     not go with --no-nginx"
                        .into(),
                ));
            }
            let fixed = named(&[
                (given.upstream.is_some(), "--upstream"),
                (given.conf_dir.is_some(), "--conf-dir"),
                (given.prometheus_dir.is_some(), "--prometheus-dir"),
                (!given.bind.is_empty(), "--bind"),
            ]);
            if fixed.is_empty() {
                return Ok(());
            }
            Err(SetupError::Conflict(format!(
                "{} are fixed with --target compose: the containers' folders are /etc/nginx and \
                 /etc/prometheus, nginx reaches Prometheus as prometheus:9090, and compose.yaml's \
                 ports: says where the host publishes nginx",
                fixed.join(", ")
            )))
        }
    }
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

    #[test]
    fn acme_reads_certbots_live_paths_and_needs_the_port_80_server_and_a_name() {
        let mut g = given("prom.example.com");
        g.tls = Some(TlsChoice::Acme);
        let setup = resolve(g, &host()).unwrap();
        assert_eq!(
            setup.certificate_and_key_on_server().unwrap(),
            (
                "/etc/letsencrypt/live/prom.example.com/fullchain.pem".to_string(),
                "/etc/letsencrypt/live/prom.example.com/privkey.pem".to_string()
            )
        );
        assert_eq!(
            setup.acme_webroot().as_deref(),
            Some("/etc/nginx/acme-webroot")
        );
        assert!(setup.certificate_is_trusted());

        let mut g = given("prom.example.com");
        g.tls = Some(TlsChoice::Acme);
        g.redirect_port = Some("0".parse().unwrap());
        assert!(
            matches!(resolve(g, &host()), Err(SetupError::Conflict(m)) if m.contains("http-01"))
        );

        let mut g = given("192.0.2.1");
        g.tls = Some(TlsChoice::Acme);
        assert!(resolve(g, &host()).is_err());

        let mut g = given("prom.example.com");
        g.acme_email = Some("ops@example.com".parse().unwrap());
        assert!(
            resolve(g, &host()).is_err(),
            "acme flags without --tls acme"
        );
    }
}

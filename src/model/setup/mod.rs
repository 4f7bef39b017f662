//! `Setup`: every value present, valid and consistent with the others. `resolve` is the only
//! way to build one (its fields are private; read them through its methods).
//!
//! This module owns defaults and the rules that tie values together (the redirect port differs
//! from the main port, TLS decides the default port). It does no I/O of its own: facts about the
//! host (nginx's version, its user) arrive in `HostFacts`, so the rules are testable anywhere.
//!
//! The files: this one holds the defaults, `Setup` and what it answers; `resolve.rs` builds it
//! from the given values and the host's facts (`host_facts.rs`), and holds the rules.

mod host_facts;
mod resolve;

pub use host_facts::{HostFacts, NginxAnswer};
pub use resolve::{SetupError, resolve};

use std::net::IpAddr;
use std::path::{Path, PathBuf};

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

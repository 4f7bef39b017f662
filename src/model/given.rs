//! `Given`: everything the user said, from flags, an answers file or the wizard, each value
//! already checked by its type and any of them possibly missing. `resolve` (in `setup/resolve.rs`) fills
//! in defaults and checks the values against each other.
//!
//! This module owns the choices that are not plain values (`Auth`, `TlsChoice`, `Endpoints`). It
//! must not apply defaults nor know how a value arrived: `flags.rs` says which flag or answers key
//! sets which field.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::model::nginx_layout::NginxLayout;
use crate::model::password::PasswordSource;
use crate::model::values::{
    AcmeEmail, AcmeServer, BcryptCost, Domain, Invalid, KubeName, Port, Realm, RedirectPort,
    RenewDays, ServerPath, SystemUser, Upstream, UrlPrefix, UserName, ValidityDays, Version,
};

/// Everything the user said. `None` (or `false`) means "not said": `resolve` fills in the default.
#[derive(Debug, Default, Clone)]
pub struct Given {
    pub domain: Option<Domain>,
    pub port: Option<Port>,
    pub prefix: Option<UrlPrefix>,
    pub username: Option<UserName>,
    pub password: Option<PasswordSource>,
    pub upstream: Option<Upstream>,
    pub out_dir: Option<PathBuf>,
    pub conf_dir: Option<ServerPath>,
    pub redirect_port: Option<RedirectPort>,
    /// How TLS is done; `None` with `tls_cert` and `tls_key` given means your own files.
    pub tls: Option<TlsChoice>,
    /// Your own certificate (`--tls-cert`), used where it is.
    pub tls_cert: Option<ServerPath>,
    /// Its key (`--tls-key`).
    pub tls_key: Option<ServerPath>,
    pub realm: Option<Realm>,
    pub days: Option<ValidityDays>,
    pub renew_days: Option<RenewDays>,
    /// `--bind`, repeatable; empty: every IPv4 and IPv6 address.
    pub bind: Vec<IpAddr>,
    /// `--nginx-layout`; `None`: `site` where the host includes a folder of sites, else `full`.
    pub nginx_layout: Option<NginxLayout>,
    /// `--log-dir`: where the site's own access and error logs go.
    pub log_dir: Option<ServerPath>,
    pub nginx_user: Option<SystemUser>,
    pub bcrypt_cost: Option<BcryptCost>,
    pub auth: Option<Auth>,
    pub no_nginx: bool,
    pub prometheus_dir: Option<ServerPath>,
    pub prometheus_user: Option<SystemUser>,
    pub endpoints: Endpoints,
    pub nginx_version: Option<Version>,
    pub openssl_version: Option<Version>,
    pub force: bool,
    /// `--ca-dir`: the local CA's folder (`--tls local-ca`); `None`: the user's data folder.
    pub ca_dir: Option<PathBuf>,
    /// `--acme-email`: where the ACME CA sends expiry notices (`--tls acme`).
    pub acme_email: Option<AcmeEmail>,
    /// `--acme-server`: the ACME CA's directory URL; `None`: certbot's (Let's Encrypt).
    pub acme_server: Option<AcmeServer>,
    /// `--acme-dir`: certbot's configuration folder on the server; `None`: /etc/letsencrypt.
    pub acme_dir: Option<ServerPath>,
    /// `--no-rate-limit`: no `limit_req` on the password-checked location.
    pub no_rate_limit: bool,
    /// What the bundle is for (`--target`): nginx on a host, Kubernetes, or Compose.
    pub deploy_target: Option<DeployTarget>,
    /// Kubernetes: the namespace of Prometheus and of the written objects.
    pub namespace: Option<KubeName>,
    /// Kubernetes: the Ingress's `ingressClassName`.
    pub ingress_class: Option<KubeName>,
    /// Kubernetes: the Service in front of Prometheus (also the Prometheus resource's name).
    pub service: Option<KubeName>,
}

/// Where the bundle is deployed. The names are stable: scripts and answers files use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployTarget {
    /// nginx and Prometheus on a host (today's bundle).
    Nginx,
    /// ingress-nginx in front of a prometheus-operator Prometheus.
    Kubernetes,
    /// nginx and Prometheus containers in one compose.yaml.
    Compose,
}

impl DeployTarget {
    /// The name used by `--target` and answers files.
    pub fn as_str(self) -> &'static str {
        match self {
            DeployTarget::Nginx => "nginx",
            DeployTarget::Kubernetes => "kubernetes",
            DeployTarget::Compose => "compose",
        }
    }
}

impl std::str::FromStr for DeployTarget {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<DeployTarget, Invalid> {
        [
            DeployTarget::Nginx,
            DeployTarget::Kubernetes,
            DeployTarget::Compose,
        ]
        .into_iter()
        .find(|target| target.as_str() == input)
        .ok_or_else(|| {
            Invalid(format!(
                "'{}' is not one of nginx, kubernetes, compose",
                input.escape_debug()
            ))
        })
    }
}

/// Who checks the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// nginx, from `.htpasswd`, on every request (the reference guides' shape).
    Nginx,
    /// Prometheus, from `web.yml` (`--web.config.file`), which caches verified credentials.
    Prometheus,
}

impl Auth {
    /// The name used by `--auth` and answers files.
    pub fn as_str(self) -> &'static str {
        match self {
            Auth::Nginx => "nginx",
            Auth::Prometheus => "prometheus",
        }
    }
}

impl std::str::FromStr for Auth {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Auth, Self::Err> {
        [Auth::Nginx, Auth::Prometheus]
            .into_iter()
            .find(|auth| auth.as_str() == input)
            .ok_or_else(|| {
                Invalid(format!(
                    "'{}' is not one of nginx, prometheus",
                    input.escape_debug()
                ))
            })
    }
}

/// Prometheus endpoints beyond queries and the UI, and who may reach them through the proxy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// `/-/quit` and `/-/reload`: `--web.enable-lifecycle`, and let through the proxy.
    pub lifecycle: bool,
    /// `/api/v1/admin/`: `--web.enable-admin-api`, and let through the proxy.
    pub admin_api: bool,
    /// `/-/healthy` without a password, for load balancers.
    pub public_healthcheck: bool,
    /// `/debug/pprof/` let through the proxy: Prometheus serves it to anyone who reaches it
    /// (its command line, heap and CPU profiles on demand, which also load the server).
    pub pprof: bool,
    /// `/federate` let through the proxy: every series in one request.
    pub federate: bool,
}

/// How the user wants TLS, before defaults: the wizard's three answers, the answers file's `tls`
/// key, or the flags (`--no-tls`; `--tls-cert` with `--tls-key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsChoice {
    /// promsetup makes a certificate and key.
    SelfSigned,
    /// The user's own files, `tls_cert` and `tls_key`.
    Own,
    /// Plain HTTP.
    Off,
    /// A leaf signed by promsetup's local CA, made once per machine and user (`--tls local-ca`).
    LocalCa,
    /// A certificate from an ACME CA (Let's Encrypt) through certbot (`--tls acme`).
    Acme,
}

impl TlsChoice {
    /// The name used by the answers file's `tls` key.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsChoice::SelfSigned => "self-signed",
            TlsChoice::Own => "own",
            TlsChoice::Off => "none",
            TlsChoice::LocalCa => "local-ca",
            TlsChoice::Acme => "acme",
        }
    }
}

impl std::str::FromStr for TlsChoice {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<TlsChoice, Invalid> {
        [
            TlsChoice::SelfSigned,
            TlsChoice::Own,
            TlsChoice::Off,
            TlsChoice::LocalCa,
            TlsChoice::Acme,
        ]
        .into_iter()
        .find(|choice| choice.as_str() == input)
        .ok_or_else(|| {
            Invalid(format!(
                "'{}' is not one of self-signed, local-ca, acme, own, none",
                input.escape_debug()
            ))
        })
    }
}

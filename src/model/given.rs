//! `Given`: everything the user said, from flags, an answers file or the wizard, each value
//! already checked by its type and any of them possibly missing. `resolve` (in `setup.rs`) fills
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
    BcryptCost, Domain, Invalid, Port, Realm, RedirectPort, RenewDays, ServerPath, SystemUser,
    Upstream, UrlPrefix, UserName, ValidityDays, Version,
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
}

impl TlsChoice {
    /// The name used by the answers file's `tls` key.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsChoice::SelfSigned => "self-signed",
            TlsChoice::Own => "own",
            TlsChoice::Off => "none",
        }
    }
}

impl std::str::FromStr for TlsChoice {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<TlsChoice, Invalid> {
        [TlsChoice::SelfSigned, TlsChoice::Own, TlsChoice::Off]
            .into_iter()
            .find(|choice| choice.as_str() == input)
            .ok_or_else(|| {
                Invalid(format!(
                    "'{}' is not one of self-signed, own, none",
                    input.escape_debug()
                ))
            })
    }
}

//! `prometheus-role-vars.yml`: the variables of the prometheus.prometheus Ansible collection's
//! `prometheus` role that give the bundle's Prometheus side (external URL, listen address, route
//! prefix and endpoint flags, `web.yml`'s TLS and users), for hosts whose Prometheus checks the
//! passwords (`--auth prometheus`, `--no-nginx`) and that install Prometheus with that role.
//!
//! The role hashes `basic_auth_users` itself (FACTS 8), so the file names vault variables for
//! the plain passwords instead of carrying hashes or passwords: it holds no secret. This module
//! decides the file's contents; it must not write or read files.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::bundle::artifact::{Access, Artifact};
use crate::bundle::layout::SELF_SCRAPE_USER;
use crate::bundle::templates::{self, RenderError, Templates};
use crate::model::setup::Setup;

pub const ROLE_VARS_FILE: &str = "prometheus-role-vars.yml";

#[derive(Serialize)]
struct TlsFiles {
    certificate: String,
    key: String,
}

#[derive(Serialize)]
struct RoleValues {
    promsetup_version: &'static str,
    external_url: String,
    listen_address: String,
    /// Flags the role has no variable of its own for; `""` renders a bare switch (`--FLAG`).
    extra_flags: Vec<(String, String)>,
    tls: Option<TlsFiles>,
    username: String,
    self_scrape_user: &'static str,
}

/// Adds the role's variables to a host bundle whose Prometheus checks passwords.
pub fn with_role_vars(
    setup: &Setup,
    templates: &Templates,
    mut files: Vec<Artifact>,
) -> Result<Vec<Artifact>, RenderError> {
    if !setup.prometheus_checks_passwords() {
        return Ok(files);
    }
    // The role sets --web.listen-address, --web.external-url and --web.config.file itself and
    // refuses them in prometheus_config_flags_extra.
    let extra_flags = setup
        .prometheus_flags(None)
        .iter()
        .filter_map(|flag| flag.strip_prefix("--"))
        .filter(|flag| {
            !flag.starts_with("web.listen-address=") && !flag.starts_with("web.external-url=")
        })
        .map(|flag| match flag.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            None => (flag.to_string(), String::new()),
        })
        .collect();
    let values = RoleValues {
        promsetup_version: env!("CARGO_PKG_VERSION"),
        external_url: setup.external_url(),
        listen_address: setup.prometheus_listen_address(),
        extra_flags,
        tls: (!setup.has_nginx())
            .then(|| setup.certificate_and_key_on_server())
            .flatten()
            .map(|(certificate, key)| TlsFiles { certificate, key }),
        username: setup.username().to_string(),
        self_scrape_user: SELF_SCRAPE_USER,
    };
    files.push(Artifact {
        file_name: ROLE_VARS_FILE.to_string(),
        contents: Zeroizing::new(
            templates
                .render(templates::ROLE_VARS, &values)?
                .into_bytes(),
        ),
        mode: 0o644,
        access: Access::Owner,
        server_dir: None,
    });
    Ok(files)
}

//! The next steps of `--target kubernetes` and `--target compose`, which replace the host
//! bundle's install steps: apply with kubectl (and helm or a patch), or start with compose.
//!
//! It turns a `Setup` and a `Plan` into text. It must not write files or show a secret: it
//! names where a generated password is stored, never the password.

use serde::Serialize;

use crate::bundle::kubernetes;
use crate::bundle::layout::{PASSWORD_FILE, SCRAPE_SNIPPET_FILE};
use crate::bundle::plan::{Access, Plan};
use crate::bundle::templates::{self, RenderError, Templates};
use crate::model::setup::{Setup, Tls};
use crate::output::command::shell_quote;

#[derive(Serialize)]
struct KubernetesSteps {
    out: String,
    namespace: String,
    service: String,
    tls_secret: String,
    own_certificate: bool,
    ca: String,
    url: String,
    username: String,
    password_file: Option<&'static str>,
}

#[derive(Serialize)]
struct ComposeSteps {
    out: String,
    ownership: Vec<String>,
    scrape_snippet: Option<&'static str>,
    ca: String,
    url: String,
    username: String,
    password_file: Option<&'static str>,
}

/// ` --cacert OUT/DOMAIN.crt` for a self-signed certificate, else nothing.
fn ca_option(setup: &Setup, out: &str) -> String {
    setup
        .certificate_file()
        .map(|file| format!(" --cacert {out}/{}", shell_quote(&file)))
        .unwrap_or_default()
}

pub fn kubernetes(
    setup: &Setup,
    plan: &Plan,
    templates: &Templates,
) -> Result<String, RenderError> {
    let out = shell_quote(&setup.out_dir().display().to_string());
    let names = setup.kubernetes();
    let values = KubernetesSteps {
        ca: ca_option(setup, &out),
        out,
        namespace: names.namespace.to_string(),
        service: names.service.to_string(),
        tls_secret: kubernetes::tls_secret_name(setup),
        own_certificate: matches!(setup.tls(), Tls::Provided { .. }),
        url: setup.external_url(),
        username: setup.username().to_string(),
        password_file: plan.password_file.as_ref().map(|_| PASSWORD_FILE),
    };
    templates.render(templates::KUBE_NEXT_STEPS, &values)
}

pub fn compose(setup: &Setup, plan: &Plan, templates: &Templates) -> Result<String, RenderError> {
    let out = shell_quote(&setup.out_dir().display().to_string());
    let ownership = plan
        .artifacts
        .iter()
        .filter_map(|artifact| {
            let file = format!("{out}/{}", shell_quote(&artifact.file_name));
            match artifact.access {
                Access::Ids {
                    uid: Some(uid),
                    gid,
                } => Some(format!("chown {uid}:{gid} {file}")),
                Access::Ids { uid: None, gid } => Some(format!("chgrp {gid} {file}")),
                _ => None,
            }
        })
        .collect();
    let values = ComposeSteps {
        ca: ca_option(setup, &out),
        out,
        ownership,
        scrape_snippet: setup
            .prometheus_checks_passwords()
            .then_some(SCRAPE_SNIPPET_FILE),
        url: setup.external_url(),
        username: setup.username().to_string(),
        password_file: plan.password_file.as_ref().map(|_| PASSWORD_FILE),
    };
    templates.render(templates::COMPOSE_NEXT_STEPS, &values)
}

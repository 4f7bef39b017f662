//! `--target kubernetes`: turns a host bundle's `.htpasswd` and certificate into what
//! ingress-nginx and prometheus-operator take: the auth Secret (key `auth`), the
//! `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`), the Ingress (and a second one that denies
//! the lifecycle and admin paths), the Prometheus resource's settings as a merge patch and as
//! kube-prometheus-stack values, and a `kustomization.yaml` listing the manifests.
//!
//! It decides the manifests' contents from the setup and the plan's files. It must not write
//! files or read any: every value it renders is a validated type's text, a number, or base64,
//! and every string sits in double quotes (the types refuse `"` and `\`), so no input can add a
//! field or a document (checked by tests/suite/platforms.rs on the parsed YAML).

use base64::Engine;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::bundle::artifact::{Access, Artifact};
use crate::bundle::layout::{
    FLAGS_FILE, HTPASSWD_FILE, KUBE_AUTH_SECRET_FILE, KUBE_CHART_VALUES_FILE, KUBE_INGRESS_FILE,
    KUBE_KUSTOMIZATION_FILE, KUBE_PROMETHEUS_PATCH_FILE, KUBE_TLS_SECRET_FILE, NGINX_CONF_FILE,
};
use crate::bundle::templates::{self, RenderError, Templates};
use crate::model::setup::{PROXY_READ_TIMEOUT_SECONDS, Setup};
use crate::model::values::Domain;

/// The port kube-prometheus-stack's Prometheus Service serves on (named `http-web`).
pub const SERVICE_PORT: u16 = 9090;

/// The auth Secret's name for a Service.
pub fn auth_secret_name(setup: &Setup) -> String {
    format!("{}-basic-auth", setup.kubernetes().service)
}

/// The TLS Secret's name for a Service: written by promsetup for a self-signed pair, made by
/// the user (`kubectl create secret tls`) for their own certificate.
pub fn tls_secret_name(setup: &Setup) -> String {
    format!("{}-tls", setup.kubernetes().service)
}

#[derive(Serialize)]
struct IngressValues {
    promsetup_version: &'static str,
    external_url: String,
    namespace: String,
    service: String,
    service_port: u16,
    ingress_class: String,
    auth_secret: String,
    realm: String,
    read_timeout_seconds: u32,
    tls: bool,
    tls_secret: String,
    /// An Ingress host is a DNS name; for an IP address the rule matches every host.
    host: Option<String>,
    prefix: String,
    /// Paths every client gets 403 for: what is not enabled of `/-/quit`, `/-/reload`,
    /// `/api/v1/admin`.
    blocked: Vec<String>,
}

#[derive(Serialize)]
struct SecretValues<'a> {
    promsetup_version: &'static str,
    what: &'static str,
    name: String,
    namespace: String,
    #[serde(rename = "type")]
    kind: &'static str,
    /// Key and base64 of the value: base64's alphabet needs no quoting.
    data: Vec<(&'a str, String)>,
}

#[derive(Serialize)]
struct PrometheusValues {
    promsetup_version: &'static str,
    namespace: String,
    service: String,
    external_url: String,
    route_prefix: String,
    admin_api: bool,
}

#[derive(Serialize)]
struct KustomizationValues {
    promsetup_version: &'static str,
    namespace: String,
    resources: Vec<&'static str>,
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The Kubernetes bundle made from the host plan's files: nginx's own configuration and the
/// flags file are dropped (ingress-nginx and the operator take their place); `.htpasswd`, the
/// certificate and key stay beside the manifests, so a re-run keeps their hash and pair.
pub fn artifacts(
    setup: &Setup,
    templates: &Templates,
    host_files: Vec<Artifact>,
) -> Result<Vec<Artifact>, RenderError> {
    let public = |name: &str, contents: String| Artifact {
        file_name: name.to_string(),
        contents: Zeroizing::new(contents.into_bytes()),
        mode: 0o644,
        access: Access::Owner,
        server_dir: None,
    };
    let secret = |name: &str, contents: Zeroizing<String>| Artifact {
        file_name: name.to_string(),
        contents: Zeroizing::new(contents.as_bytes().to_vec()),
        mode: 0o600,
        access: Access::Owner,
        server_dir: None,
    };
    let contents_of = |name: Option<String>| {
        name.and_then(|name| host_files.iter().find(|a| a.file_name == name))
            .map(|artifact| artifact.contents.clone())
    };
    let htpasswd = contents_of(Some(HTPASSWD_FILE.to_string()))
        .expect("Kubernetes bundles are --auth nginx: the plan has .htpasswd");
    let certificate = contents_of(setup.certificate_file());
    let key = contents_of(setup.key_file());

    let namespace = setup.kubernetes().namespace.to_string();
    let service = setup.kubernetes().service.to_string();
    let version = env!("CARGO_PKG_VERSION");
    let endpoints = setup.endpoints();
    let under_prefix = |path: &str| format!("{}{path}", setup.prefix().with_slash());
    let mut blocked = Vec::new();
    if !endpoints.lifecycle {
        blocked.extend([under_prefix("-/quit"), under_prefix("-/reload")]);
    }
    if !endpoints.admin_api {
        blocked.push(under_prefix("api/v1/admin"));
    }
    let ingress = IngressValues {
        promsetup_version: version,
        external_url: setup.external_url(),
        namespace: namespace.clone(),
        service: service.clone(),
        service_port: SERVICE_PORT,
        ingress_class: setup.kubernetes().ingress_class.to_string(),
        auth_secret: auth_secret_name(setup),
        realm: setup.realm().to_string(),
        read_timeout_seconds: PROXY_READ_TIMEOUT_SECONDS,
        tls: setup.tls().is_on(),
        tls_secret: tls_secret_name(setup),
        host: match setup.domain() {
            Domain::Dns(name) => Some(name.clone()),
            Domain::Ip(_) => None,
        },
        prefix: setup.prefix().to_string(),
        blocked,
    };
    let prometheus = PrometheusValues {
        promsetup_version: version,
        namespace: namespace.clone(),
        service: service.clone(),
        external_url: setup.external_url(),
        route_prefix: setup.prefix().to_string(),
        admin_api: endpoints.admin_api,
    };

    let mut resources = vec![KUBE_AUTH_SECRET_FILE];
    let mut files = Vec::new();
    let auth_secret = SecretValues {
        promsetup_version: version,
        what: "the users ingress-nginx checks (an htpasswd file under the key auth)",
        name: auth_secret_name(setup),
        namespace: namespace.clone(),
        kind: "Opaque",
        data: vec![("auth", base64(&htpasswd))],
    };
    files.push(secret(
        KUBE_AUTH_SECRET_FILE,
        Zeroizing::new(templates.render(templates::KUBE_SECRET, &auth_secret)?),
    ));
    if let (Some(certificate), Some(key)) = (&certificate, &key) {
        let tls_secret = SecretValues {
            promsetup_version: version,
            what: "the self-signed certificate and key the Ingress serves",
            name: tls_secret_name(setup),
            namespace: namespace.clone(),
            kind: "kubernetes.io/tls",
            data: vec![("tls.crt", base64(certificate)), ("tls.key", base64(key))],
        };
        files.push(secret(
            KUBE_TLS_SECRET_FILE,
            Zeroizing::new(templates.render(templates::KUBE_SECRET, &tls_secret)?),
        ));
        resources.push(KUBE_TLS_SECRET_FILE);
    }
    resources.push(KUBE_INGRESS_FILE);
    files.push(public(
        KUBE_INGRESS_FILE,
        templates.render(templates::KUBE_INGRESS, &ingress)?,
    ));
    files.push(public(
        KUBE_PROMETHEUS_PATCH_FILE,
        templates.render(templates::KUBE_PROMETHEUS_PATCH, &prometheus)?,
    ));
    files.push(public(
        KUBE_CHART_VALUES_FILE,
        templates.render(templates::KUBE_CHART_VALUES, &prometheus)?,
    ));
    files.push(public(
        KUBE_KUSTOMIZATION_FILE,
        templates.render(
            templates::KUBE_KUSTOMIZATION,
            &KustomizationValues {
                promsetup_version: version,
                namespace,
                resources,
            },
        )?,
    ));

    // Kept from the host plan: the sources of the Secrets (so a re-run keeps the same hash and
    // pair) and a generated password. Nothing here is read by a local nginx: owner only.
    let mut kept: Vec<Artifact> = host_files
        .into_iter()
        .filter(|a| a.file_name != NGINX_CONF_FILE && a.file_name != FLAGS_FILE)
        .map(|mut artifact| {
            artifact.server_dir = None;
            if artifact.file_name == HTPASSWD_FILE {
                artifact.mode = 0o600;
                artifact.access = Access::Owner;
            }
            artifact
        })
        .collect();
    kept.extend(files);
    Ok(kept)
}

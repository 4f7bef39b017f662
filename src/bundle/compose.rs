//! `--target compose`: a `compose.yaml` that runs the bundle in the official nginx and
//! Prometheus images. nginx's configuration was rendered for the containers already
//! (`setup::resolve` fixes the folders, the `nginx` worker account and the upstream
//! `prometheus:9090`); this module adds the services, mounting each file of the bundle where the
//! configuration names it, and passes Prometheus its flags as `@/etc/prometheus/prometheus.flags`
//! after the image's own `--config.file` and `--storage.tsdb.path`, which `command:` replaces.
//!
//! It decides compose.yaml's contents. It must not write or read files. Every value it renders
//! is a validated type's text (none can hold `$`, `"` or `\`, so compose interpolates nothing and
//! no value ends its string); tests/suite/platforms.rs checks the parsed YAML.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::bundle::artifact::{Access, Artifact};
use crate::bundle::layout::{
    COMPOSE_FILE, FLAGS_FILE, HTPASSWD_FILE, NGINX_CONF_FILE, SELF_SCRAPE_PASSWORD_FILE,
    WEB_CONFIG_FILE,
};
use crate::bundle::templates::{self, RenderError, Templates};
use crate::model::setup::{Setup, Tls};

/// Pinned images: a re-run writes the same file, and an upgrade is a visible change.
pub const NGINX_IMAGE: &str = "nginx:1.28";
pub const PROMETHEUS_IMAGE: &str = "prom/prometheus:v3.5.0";
/// The nginx image's `nginx` group, which its workers read `.htpasswd` as.
pub const NGINX_IMAGE_GID: u32 = 101;
/// The Prometheus image runs as `nobody` (uid and gid 65534).
pub const PROMETHEUS_IMAGE_UID: u32 = 65534;

#[derive(Serialize)]
struct ComposeValues {
    promsetup_version: &'static str,
    external_url: String,
    nginx_image: &'static str,
    prometheus_image: &'static str,
    /// Published on the host as in the container, so the external URL's port is right.
    ports: Vec<u16>,
    nginx_mounts: Vec<(String, String)>,
    prometheus_mounts: Vec<(String, String)>,
    flags_path: String,
    web_config: bool,
    htpasswd: bool,
}

/// `./NAME` on the host, mounted at `DIR/NAME` in the container.
fn from_bundle(dir: &str, name: &str) -> (String, String) {
    (format!("./{name}"), format!("{dir}/{name}"))
}

/// The compose bundle: the host plan's files (rendered for the containers) plus `compose.yaml`.
pub fn artifacts(
    setup: &Setup,
    templates: &Templates,
    mut files: Vec<Artifact>,
) -> Result<Vec<Artifact>, RenderError> {
    let has = |name: &str| files.iter().any(|a| a.file_name == name);
    let nginx_dir = setup.conf_dir().to_string();
    let prometheus_dir = setup.prometheus_dir().to_string();

    let mut nginx_mounts = vec![(
        format!("./{NGINX_CONF_FILE}"),
        format!("{nginx_dir}/{NGINX_CONF_FILE}"),
    )];
    if has(HTPASSWD_FILE) {
        nginx_mounts.push(from_bundle(&nginx_dir, HTPASSWD_FILE));
    }
    match setup.tls() {
        Tls::SelfSigned { .. } => {
            for name in [setup.certificate_file(), setup.key_file()]
                .into_iter()
                .flatten()
            {
                nginx_mounts.push(from_bundle(&nginx_dir, &name));
            }
        }
        // The user's own files, mounted where nginx.conf names them.
        Tls::Provided { certificate, key } => {
            for path in [certificate, key] {
                nginx_mounts.push((path.to_string(), path.to_string()));
            }
        }
        // Refused for --target compose by `resolve` (certbot and the CA live on a host).
        Tls::LocalCa { .. } | Tls::Acme { .. } | Tls::Off => {}
    }
    let mut prometheus_mounts = vec![from_bundle(&prometheus_dir, FLAGS_FILE)];
    for name in [WEB_CONFIG_FILE, SELF_SCRAPE_PASSWORD_FILE] {
        if has(name) {
            prometheus_mounts.push(from_bundle(&prometheus_dir, name));
        }
    }
    let values = ComposeValues {
        promsetup_version: env!("CARGO_PKG_VERSION"),
        external_url: setup.external_url(),
        nginx_image: NGINX_IMAGE,
        prometheus_image: PROMETHEUS_IMAGE,
        ports: std::iter::once(setup.port().get())
            .chain(setup.redirect_port().map(|port| port.get()))
            .collect(),
        nginx_mounts,
        prometheus_mounts,
        flags_path: format!("{prometheus_dir}/{FLAGS_FILE}"),
        web_config: has(WEB_CONFIG_FILE),
        htpasswd: has(HTPASSWD_FILE),
    };
    let compose = templates.render(templates::COMPOSE, &values)?;

    // The files are mounted from here: nothing is installed elsewhere on the host. They are
    // handed to the images' accounts by number, which need not exist on this host.
    for artifact in &mut files {
        artifact.server_dir = None;
        let name = artifact.file_name.as_str();
        artifact.access = match &artifact.access {
            _ if name == HTPASSWD_FILE => Access::Ids {
                uid: None,
                gid: NGINX_IMAGE_GID,
            },
            _ if name == WEB_CONFIG_FILE => Access::Ids {
                uid: None,
                gid: PROMETHEUS_IMAGE_UID,
            },
            _ if name == SELF_SCRAPE_PASSWORD_FILE => Access::Ids {
                uid: Some(PROMETHEUS_IMAGE_UID),
                gid: PROMETHEUS_IMAGE_UID,
            },
            Access::GroupOf(_) | Access::OwnedBy(_) => Access::Owner,
            other => other.clone(),
        };
    }
    files.push(Artifact {
        file_name: COMPOSE_FILE.to_string(),
        contents: Zeroizing::new(compose.into_bytes()),
        mode: 0o644,
        access: Access::Owner,
        server_dir: None,
    });
    Ok(files)
}

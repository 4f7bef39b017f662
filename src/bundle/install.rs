//! The install plan: for each file of a host bundle (`--target nginx`), where it goes on the
//! server, its owner, group and mode, and what its reader (nginx or Prometheus) must do when it
//! changes. Configuration management (the JSON report, `examples/ansible/`) installs from it
//! instead of hard-coding names, groups and handlers.
//!
//! It only describes: it must not write, copy or read files. Files that stay with the user
//! (a generated password, the scrape snippet to merge by hand) and the files of the other
//! targets (applied with kubectl or mounted by compose where they are) have no install entry.

use crate::bundle::layout::{
    FLAGS_FILE, HTPASSWD_FILE, NGINX_CONF_FILE, NGINX_SITE_FILE, NGINX_SNIPPET_HTTP_FILE,
    NGINX_SNIPPET_LOCATIONS_FILE, SELF_SCRAPE_PASSWORD_FILE, WEB_CONFIG_FILE,
};
use crate::bundle::plan::{Access, Artifact, nginx_files};
use crate::model::given::DeployTarget;
use crate::model::nginx_layout::NginxLayout;
use crate::model::setup::Setup;

/// The program that reads a file on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Nginx,
    Prometheus,
}

impl Service {
    /// The name used in the JSON report (also the usual systemd unit's).
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Nginx => "nginx",
            Service::Prometheus => "prometheus",
        }
    }
}

/// What the reader must do for a changed file to take effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnChange {
    /// `nginx -s reload` / `systemctl reload nginx`: nginx reads its configuration, certificate
    /// and key at start and reload only.
    Reload,
    /// Prometheus reads its flags only when it starts.
    Restart,
    /// Read again on every use: nginx opens `auth_basic_user_file` on each request; Prometheus
    /// re-reads `web.yml` (and the certificate it names) on each request or handshake, and a
    /// scrape's `password_file` on each scrape.
    Nothing,
}

impl OnChange {
    pub fn as_str(self) -> &'static str {
        match self {
            OnChange::Reload => "reload",
            OnChange::Restart => "restart",
            OnChange::Nothing => "nothing",
        }
    }
}

/// Where one file goes on the server and what its change asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// The absolute path on the server.
    pub path: String,
    pub owner: String,
    pub group: String,
    pub mode: u32,
    pub service: Service,
    pub on_change: OnChange,
}

/// The install entry of one artifact of the plan made for `setup`, or `None` when the file is
/// not installed on the server.
pub fn install(setup: &Setup, artifact: &Artifact) -> Option<Install> {
    if setup.deploy_target() != DeployTarget::Nginx {
        return None;
    }
    let name = artifact.file_name.as_str();
    let is_tls_file = setup.certificate_file().as_deref() == Some(name)
        || setup.key_file().as_deref() == Some(name);
    // A snippet is served by the host's own TLS server, with its own certificate: the bundle's
    // pair is not used there, and a private key nothing uses is not installed.
    if is_tls_file && setup.has_nginx() && setup.nginx_layout() == NginxLayout::Snippet {
        return None;
    }
    let (service, on_change) = match name {
        NGINX_CONF_FILE
        | NGINX_SITE_FILE
        | NGINX_SNIPPET_HTTP_FILE
        | NGINX_SNIPPET_LOCATIONS_FILE => (Service::Nginx, OnChange::Reload),
        HTPASSWD_FILE => (Service::Nginx, OnChange::Nothing),
        WEB_CONFIG_FILE | SELF_SCRAPE_PASSWORD_FILE => (Service::Prometheus, OnChange::Nothing),
        FLAGS_FILE => (Service::Prometheus, OnChange::Restart),
        _ if is_tls_file && setup.has_nginx() => (Service::Nginx, OnChange::Reload),
        _ if is_tls_file => (Service::Prometheus, OnChange::Nothing),
        _ => return None,
    };
    // The flags file is read by Prometheus itself (`prometheus @FILE`, FACTS 9), so it lives
    // in Prometheus's folder; the plan leaves it with the user for the text next steps.
    let dir = match (&artifact.server_dir, name) {
        (Some(dir), _) => dir.clone(),
        (None, FLAGS_FILE) => setup.prometheus_dir().clone(),
        (None, _) => return None,
    };
    let (owner, group) = owner_and_group(setup, &artifact.access);
    Some(Install {
        path: dir.join(name),
        owner,
        group,
        mode: artifact.mode,
        service,
        on_change,
    })
}

/// The link that enables a site where the host's nginx reads a folder of links to the files
/// (Debian's `sites-enabled/NAME` -> `sites-available/NAME`): `(link, target)`.
pub fn site_link(setup: &Setup) -> Option<(String, String)> {
    if !setup.has_nginx() || setup.nginx_layout() != NginxLayout::Site {
        return None;
    }
    let link_folder = setup.site_folder().link_folder()?;
    let (name, _, dir) = nginx_files(setup).into_iter().next()?;
    Some((
        setup.conf_dir().join(&format!("{link_folder}/{name}")),
        dir.join(name),
    ))
}

/// The snippet layout's file of `location` blocks on the server: the host's own TLS `server`
/// for the domain must `include` it.
pub fn snippet_locations(setup: &Setup) -> Option<String> {
    if !setup.has_nginx() || setup.nginx_layout() != NginxLayout::Snippet {
        return None;
    }
    nginx_files(setup)
        .into_iter()
        .find(|(name, _, _)| *name == NGINX_SNIPPET_LOCATIONS_FILE)
        .map(|(name, _, dir)| dir.join(name))
}

/// Where this host's nginx answers for the service: the live check connects there and sends the
/// URL's name (as `curl --resolve`), so it works before DNS points at the server. Loopback when
/// nginx listens on every address; else the first `--bind` address (loopback for `0.0.0.0`, `::`).
pub fn connect_address(setup: &Setup) -> Option<std::net::SocketAddr> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    if !setup.has_nginx() {
        return None;
    }
    let ip = match setup.bind().first() {
        None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Some(ip) if ip.is_unspecified() && ip.is_ipv4() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Some(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Some(ip) => *ip,
    };
    Some(std::net::SocketAddr::new(ip, setup.port().get()))
}

/// The install plan as `promsetup apply` reads it from the bundle (`install-plan.json`): what
/// the setup run decided, so apply needs neither the answers nor the host's facts again.
/// Fields added after version 1 are optional, so a plan of an older bundle still reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recorded {
    pub version: u32,
    /// The external URL the live check requests.
    pub url: String,
    /// The user the live check signs in as.
    pub username: String,
    /// The bundle's certificate file, the live check's only trust anchor; `None` without TLS.
    pub certificate: Option<String>,
    pub files: Vec<RecordedFile>,
    /// `full`, `site` or `snippet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// Symbolic links to make (Debian's sites-enabled/).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<RecordedLink>,
    /// The snippet's locations file, which the host's server for the domain must include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// nginx's configuration folder, searched for that include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nginx_conf_dir: Option<String>,
    /// The address the live check connects to (`IP:PORT`); `None`: the URL's host, by DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordedLink {
    /// The link's absolute path.
    pub path: String,
    /// The absolute path it points to.
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordedFile {
    /// Its name in the bundle.
    pub file: String,
    pub path: String,
    pub owner: String,
    pub group: String,
    /// Octal, as in the JSON report (`0640`).
    pub mode: String,
    pub service: String,
    pub on_change: String,
}

/// The record of the install plan of `artifacts` made for `setup`; `None` when nothing is
/// installed on a server (the other targets).
pub fn record(setup: &Setup, artifacts: &[Artifact]) -> Option<Vec<u8>> {
    let files: Vec<RecordedFile> = artifacts
        .iter()
        .filter_map(|artifact| {
            let entry = install(setup, artifact)?;
            Some(RecordedFile {
                file: artifact.file_name.clone(),
                path: entry.path,
                owner: entry.owner,
                group: entry.group,
                mode: format!("{:04o}", entry.mode),
                service: entry.service.as_str().into(),
                on_change: entry.on_change.as_str().into(),
            })
        })
        .collect();
    if files.is_empty() {
        return None;
    }
    let recorded = Recorded {
        version: 1,
        url: setup.external_url(),
        username: setup.username().as_str().to_string(),
        certificate: setup
            .certificate_file()
            .filter(|_| !(setup.has_nginx() && setup.nginx_layout() == NginxLayout::Snippet)),
        files,
        layout: setup
            .has_nginx()
            .then(|| setup.nginx_layout().as_str().to_string()),
        links: site_link(setup)
            .map(|(path, target)| RecordedLink { path, target })
            .into_iter()
            .collect(),
        include: snippet_locations(setup),
        nginx_conf_dir: setup.has_nginx().then(|| setup.conf_dir().to_string()),
        connect: connect_address(setup).map(|address| address.to_string()),
    };
    let mut text = serde_json::to_vec_pretty(&recorded).expect("plain data serialises");
    text.push(b'\n');
    Some(text)
}

/// Reads a record `record` wrote.
pub fn read_record(text: &str) -> Result<Recorded, String> {
    let recorded: Recorded = serde_json::from_str(text).map_err(|error| error.to_string())?;
    if recorded.version != 1 {
        return Err(format!("unknown version {}", recorded.version));
    }
    Ok(recorded)
}

/// Root owns what only root (nginx's master) reads; an account's group or the account itself
/// otherwise, as the writer hands files over.
fn owner_and_group(setup: &Setup, access: &Access) -> (String, String) {
    let root = || "root".to_string();
    let group_of = |account: &str| {
        // nginx's worker account may have a primary group of another name (`nobody nogroup`).
        match setup.nginx_group() {
            Some(group) if account == setup.nginx_user().as_str() => group.to_string(),
            _ => account.to_string(),
        }
    };
    match access {
        Access::Owner | Access::AsBefore => (root(), root()),
        Access::GroupOf(account) => (root(), group_of(account.as_str())),
        Access::OwnedBy(account) => (account.to_string(), group_of(account.as_str())),
        Access::Ids { uid, gid } => (
            uid.map_or_else(root, |uid| uid.to_string()),
            gid.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::existing::Existing;
    use crate::bundle::plan::plan;
    use crate::bundle::templates::Templates;
    use crate::model::given::{Auth, Given};
    use crate::model::password::Password;
    use crate::model::setup::{HostFacts, resolve};
    use zeroize::Zeroizing;

    fn entries(args: impl FnOnce(&mut Given)) -> Vec<(String, Option<Install>)> {
        let mut given = Given {
            domain: Some("example.com".parse().unwrap()),
            ..Given::default()
        };
        args(&mut given);
        let setup = resolve(given, &HostFacts::unknown()).unwrap();
        let password = Password::new(Zeroizing::new("correct horse".to_string())).unwrap();
        let plan = plan(
            &setup,
            &password,
            true,
            time::OffsetDateTime::now_utc(),
            &Templates::embedded(),
            &Existing::default(),
        )
        .unwrap();
        plan.artifacts
            .iter()
            .map(|artifact| (artifact.file_name.clone(), install(&setup, artifact)))
            .collect()
    }

    fn row(entry: &Option<Install>) -> Option<Row> {
        entry.as_ref().map(|install| {
            (
                install.path.clone(),
                install.owner.clone(),
                install.group.clone(),
                install.mode,
                install.service.as_str(),
                install.on_change.as_str(),
            )
        })
    }

    type Row = (String, String, String, u32, &'static str, &'static str);

    fn expect(
        path: &str,
        owner: &str,
        group: &str,
        mode: u32,
        service: &'static str,
        on: &'static str,
    ) -> Option<Row> {
        Some((path.into(), owner.into(), group.into(), mode, service, on))
    }

    #[test]
    fn behind_nginx_every_server_file_has_its_place_owner_and_reload() {
        let rows: Vec<_> = entries(|_| {})
            .iter()
            .map(|(name, entry)| (name.clone(), row(entry)))
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    "nginx.conf".into(),
                    expect(
                        "/etc/nginx/nginx.conf",
                        "root",
                        "root",
                        0o644,
                        "nginx",
                        "reload"
                    )
                ),
                (
                    ".htpasswd".into(),
                    expect(
                        "/etc/nginx/.htpasswd",
                        "root",
                        "www-data",
                        0o640,
                        "nginx",
                        "nothing"
                    )
                ),
                (
                    "example.com.crt".into(),
                    expect(
                        "/etc/nginx/example.com.crt",
                        "root",
                        "root",
                        0o644,
                        "nginx",
                        "reload"
                    )
                ),
                (
                    "example.com.key".into(),
                    expect(
                        "/etc/nginx/example.com.key",
                        "root",
                        "root",
                        0o600,
                        "nginx",
                        "reload"
                    )
                ),
                (
                    "prometheus.flags".into(),
                    expect(
                        "/etc/prometheus/prometheus.flags",
                        "root",
                        "root",
                        0o644,
                        "prometheus",
                        "restart"
                    )
                ),
                // The hand-off files are one of two ways in, chosen by the host's service
                // manager (`promsetup apply` picks): no fixed place.
                ("prometheus.default".into(), None),
                ("prometheus.service.d-promsetup.conf".into(), None),
                ("password.txt".into(), None),
            ]
        );
    }

    #[test]
    fn prometheus_files_go_to_its_folder_owned_as_it_reads_them() {
        let rows: Vec<_> = entries(|g| {
            g.auth = Some(Auth::Prometheus);
            g.prometheus_dir = Some("/srv/prom".parse().unwrap());
        })
        .iter()
        .map(|(name, entry)| (name.clone(), row(entry)))
        .collect();
        let find = |name: &str| rows.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(
            find("web.yml"),
            expect(
                "/srv/prom/web.yml",
                "root",
                "prometheus",
                0o640,
                "prometheus",
                "nothing"
            )
        );
        assert_eq!(
            find("self-scrape.password"),
            expect(
                "/srv/prom/self-scrape.password",
                "prometheus",
                "prometheus",
                0o600,
                "prometheus",
                "nothing"
            )
        );
        assert_eq!(find("prometheus-scrape.yml"), None);
        assert_eq!(
            find("prometheus.flags"),
            expect(
                "/srv/prom/prometheus.flags",
                "root",
                "root",
                0o644,
                "prometheus",
                "restart"
            )
        );

        let alone: Vec<_> = entries(|g| g.no_nginx = true)
            .iter()
            .map(|(name, entry)| (name.clone(), row(entry)))
            .collect();
        let key = alone.iter().find(|(n, _)| n == "example.com.key").unwrap();
        assert_eq!(
            key.1,
            expect(
                "/etc/prometheus/example.com.key",
                "prometheus",
                "prometheus",
                0o600,
                "prometheus",
                "nothing"
            )
        );
    }

    #[test]
    fn a_worker_group_of_another_name_is_the_files_group() {
        let mut given = Given {
            domain: Some("example.com".parse().unwrap()),
            nginx_user: Some("nobody".parse().unwrap()),
            ..Given::default()
        };
        given.tls = Some(crate::model::given::TlsChoice::Off);
        let facts = HostFacts {
            primary_group: |_| Some("nogroup".to_string()),
            ..HostFacts::unknown()
        };
        let setup = resolve(given, &facts).unwrap();
        let (owner, group) = owner_and_group(&setup, &Access::GroupOf("nobody".parse().unwrap()));
        assert_eq!((owner.as_str(), group.as_str()), ("root", "nogroup"));
    }
}

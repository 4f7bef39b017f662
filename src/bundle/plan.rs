//! The plan: every file of the bundle, rendered in memory, with the mode it must have.
//!
//! `plan` is pure apart from randomness: it reads no file, writes no file and asks nothing. The
//! same `Plan` can be written (`write.rs`), compared with the disk, or shown. Secret contents
//! (the key, the password) live in wiped-on-drop buffers.

use serde::Serialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::bundle::cert::local_ca::{self, Authority, CaChange, CaError};
use crate::bundle::cert::provided;
use crate::bundle::cert::self_signed::{self, CertificateError};
use crate::bundle::credentials;
use crate::bundle::existing::Existing;
use crate::bundle::layout::{
    FLAGS_FILE, HTPASSWD_FILE, LOCAL_CA_CERT_FILE, NGINX_CONF_FILE, NGINX_LOG_STEM,
    NGINX_SITE_FILE, NGINX_SNIPPET_HTTP_FILE, NGINX_SNIPPET_LOCATIONS_FILE, NGINX_SNIPPETS_FOLDER,
    NGINX_UPSTREAM_NAME, PASSWORD_FILE, PROMETHEUS_DEFAULT_FILE, PROMETHEUS_DROP_IN_FILE,
    SCRAPE_SNIPPET_FILE, SELF_SCRAPE_PASSWORD_FILE, SELF_SCRAPE_USER, WEB_CONFIG_FILE,
};
use crate::bundle::prometheus_handoff;
use crate::bundle::templates::{self, RenderError, Templates};
use crate::bundle::{ansible_role, compose, kubernetes};
use crate::model::given::{Auth, DeployTarget};
use crate::model::nginx_layout::{NginxLayout, SiteFolder};
use crate::model::password::Password;
use crate::model::setup::{PROXY_READ_TIMEOUT_SECONDS, Setup, Tls, Topology};
use crate::model::values::{Domain, ServerPath, ValidityDays};
pub use crate::write::Access;
use crate::write::FileSpec;

pub use crate::bundle::artifact::Artifact;

#[derive(Debug)]
pub struct Plan {
    pub artifacts: Vec<Artifact>,
    pub flags: Vec<String>,
    pub certificate_not_after: Option<OffsetDateTime>,
    /// The certificate nginx (or Prometheus) serves, made here or the user's own.
    pub certificate: Option<provided::Accepted>,
    /// Files an earlier run wrote that this bundle no longer uses (the self-signed pair once
    /// the certificate is your own): removed, with a backup, when the run may replace files.
    pub retired: Vec<String>,
    /// Set when the password was generated and is stored in the bundle.
    pub password_file: Option<String>,
    /// The local CA that signed the certificate (`--tls local-ca`), and what this run does to
    /// it; its folder is written before the bundle when it changes.
    pub local_ca: Option<(Authority, CaChange)>,
}

impl Plan {
    /// The files as the writer takes them.
    pub fn files(&self) -> Vec<FileSpec<'_>> {
        self.artifacts.iter().map(Artifact::spec).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error(transparent)]
    LocalCa(#[from] CaError),
}

/// What the nginx template is given. Every field is either a validated value's text or built
/// from them here; nothing reaches the template unvalidated.
#[derive(Serialize)]
struct NginxValues {
    promsetup_version: &'static str,
    external_url: String,
    nginx_version: String,
    openssl_version: String,
    target_detected: bool,
    nginx_user: String,
    nginx_group: Option<String>,
    server_name: Option<String>,
    /// The domain as written, for comments.
    domain_text: String,
    /// One `listen` address each; by default every IPv4 and every IPv6 address.
    listens: Vec<String>,
    /// The plain-HTTP server's, empty when there is none.
    redirect_listens: Vec<String>,
    worker_connections: u32,
    access_log: String,
    error_log: String,
    upstream_name: &'static str,
    /// The `snippet` layout: the locations live in a server promsetup does not write.
    snippet: bool,
    snippet_locations_path: String,
    snippet_http_path: String,
    origin: String,
    tls: bool,
    http2_in_listen: bool,
    http2_directive: bool,
    certificate_path: Option<String>,
    key_path: Option<String>,
    /// `--tls acme`: the folder the port-80 server answers ACME challenges from.
    acme_webroot: Option<String>,
    ecdh_curves: &'static str,
    session_tickets_off: bool,
    prefix_is_root: bool,
    prefix: String,
    /// The prefix without its leading slash, as a PCRE pattern (prefix characters are
    /// letters, digits and `-_.~`, of which only `.` means something to PCRE).
    prefix_pattern: String,
    location: String,
    /// nginx checks the password; otherwise Prometheus does and nginx passes it on.
    auth_by_nginx: bool,
    enable_lifecycle: bool,
    enable_admin_api: bool,
    public_healthcheck: bool,
    enable_pprof: bool,
    enable_federate: bool,
    rate_limit: bool,
    rate_limit_per_second: u32,
    rate_limit_burst: u32,
    /// Strict-Transport-Security, only for a certificate clients trust.
    hsts: bool,
    realm: String,
    htpasswd_path: String,
    upstream: String,
    read_timeout_seconds: u32,
}

/// nginx's default is 512; each proxied request holds two (client and upstream).
pub const WORKER_CONNECTIONS: u32 = 1024;

/// The `listen` addresses for `port`: `443` and `[::]:443` (IPv4 and IPv6: nginx makes a
/// `[::]` socket IPv6-only, so the two do not clash), or each `--bind` address.
fn listen_addresses(setup: &Setup, port: crate::model::values::Port) -> Vec<String> {
    if setup.bind().is_empty() {
        return vec![port.to_string(), format!("[::]:{port}")];
    }
    setup
        .bind()
        .iter()
        .map(|ip| match ip {
            std::net::IpAddr::V4(ip) => format!("{ip}:{port}"),
            std::net::IpAddr::V6(ip) => format!("[{ip}]:{port}"),
        })
        .collect()
}

/// Where each layout's nginx files go on the server, and under which names.
pub fn nginx_files(setup: &Setup) -> Vec<(&'static str, &'static str, ServerPath)> {
    let conf_dir = setup.conf_dir();
    let folder = |name: &str| -> ServerPath {
        conf_dir
            .join(name)
            .parse()
            .expect("a folder of a valid folder is valid")
    };
    match setup.nginx_layout() {
        NginxLayout::Full => vec![(NGINX_CONF_FILE, templates::NGINX_CONF, conf_dir.clone())],
        NginxLayout::Site => vec![(
            NGINX_SITE_FILE,
            templates::NGINX_SITE,
            folder(setup.site_folder().file_folder()),
        )],
        NginxLayout::Snippet => vec![
            (
                NGINX_SNIPPET_HTTP_FILE,
                templates::NGINX_SNIPPET_HTTP,
                folder(snippet_http_folder(setup.site_folder())),
            ),
            (
                NGINX_SNIPPET_LOCATIONS_FILE,
                templates::NGINX_SNIPPET_LOCATIONS,
                folder(NGINX_SNIPPETS_FOLDER),
            ),
        ],
    }
}

/// The folder the main configuration includes every `*.conf` of at `http` level: Debian's
/// `nginx.conf` includes `conf.d/*.conf` beside `sites-enabled/*`.
fn snippet_http_folder(site_folder: SiteFolder) -> &'static str {
    match site_folder {
        SiteFolder::HttpD => SiteFolder::HttpD.file_folder(),
        SiteFolder::SitesEnabled | SiteFolder::ConfD => SiteFolder::ConfD.file_folder(),
    }
}

/// Requests per second each client address may send through nginx (`limit_req`). Sizing: a
/// 30-panel Grafana dashboard sends about 30 queries per refresh (a few more with variables and
/// annotations), all at once from one address (Grafana's server, or the browser), so the burst
/// takes three such refreshes at once with no delay, and the rate a dashboard refreshing every
/// 1.5 s. One address flooding wrong passwords then makes nginx hash at most 20 times a second:
/// about 5% of a core at the default cost 5 (~2.5 ms a hash).
pub const RATE_LIMIT_PER_SECOND: u32 = 20;
pub const RATE_LIMIT_BURST: u32 = 100;

/// The `full` layout's nginx.conf for `setup`, rendered alone (no hashing, no certificate): what
/// `verify` compares a bundle's nginx.conf with.
pub fn render_full_nginx_conf(setup: &Setup, templates: &Templates) -> Result<String, RenderError> {
    templates.render(templates::NGINX_CONF, &nginx_values(setup))
}

fn nginx_values(setup: &Setup) -> NginxValues {
    let tls = setup.tls().is_on();
    let on_server = setup.certificate_and_key_on_server();
    let target = setup.target();
    let http2 = tls && target.http2_module;
    NginxValues {
        promsetup_version: env!("CARGO_PKG_VERSION"),
        external_url: setup.external_url(),
        nginx_version: target.nginx.to_string(),
        openssl_version: target.openssl.to_string(),
        target_detected: target.detected,
        nginx_user: setup.nginx_user().to_string(),
        nginx_group: setup.nginx_group().as_ref().map(|group| group.to_string()),
        // An address needs no server_name: the server is the only one on its port.
        server_name: match &setup.domain() {
            Domain::Dns(name) => Some(name.clone()),
            Domain::Ip(_) => None,
        },
        domain_text: setup.domain().to_string(),
        listens: listen_addresses(setup, setup.port()),
        redirect_listens: setup
            .redirect_port()
            .map(|port| listen_addresses(setup, port))
            .unwrap_or_default(),
        worker_connections: WORKER_CONNECTIONS,
        access_log: setup.log_dir().join(&format!(
            "{NGINX_LOG_STEM}{}.access.log",
            setup.domain().file_stem()
        )),
        error_log: setup.log_dir().join(&format!(
            "{NGINX_LOG_STEM}{}.error.log",
            setup.domain().file_stem()
        )),
        upstream_name: NGINX_UPSTREAM_NAME,
        snippet: setup.nginx_layout() == NginxLayout::Snippet,
        snippet_locations_path: setup.conf_dir().join(&format!(
            "{NGINX_SNIPPETS_FOLDER}/{NGINX_SNIPPET_LOCATIONS_FILE}"
        )),
        snippet_http_path: setup.conf_dir().join(&format!(
            "{}/{NGINX_SNIPPET_HTTP_FILE}",
            snippet_http_folder(setup.site_folder())
        )),
        origin: setup.origin(),
        tls,
        http2_in_listen: http2 && !target.has_http2_directive(),
        http2_directive: http2 && target.has_http2_directive(),
        certificate_path: on_server
            .as_ref()
            .map(|(certificate, _)| certificate.clone()),
        key_path: on_server.map(|(_, key)| key),
        acme_webroot: setup.acme_webroot(),
        ecdh_curves: if target.has_mlkem() {
            "X25519MLKEM768:X25519:prime256v1:secp384r1"
        } else {
            "X25519:prime256v1:secp384r1"
        },
        session_tickets_off: target.needs_session_tickets_off(),
        prefix_is_root: setup.prefix().is_root(),
        prefix: setup.prefix().to_string(),
        prefix_pattern: setup.prefix().as_str()[1..].replace('.', r"\."),
        location: setup.prefix().with_slash(),
        auth_by_nginx: setup.topology() == Topology::Proxied(Auth::Nginx),
        enable_lifecycle: setup.endpoints().lifecycle,
        enable_admin_api: setup.endpoints().admin_api,
        public_healthcheck: setup.endpoints().public_healthcheck,
        enable_pprof: setup.endpoints().pprof,
        enable_federate: setup.endpoints().federate,
        rate_limit: setup.rate_limited(),
        rate_limit_per_second: RATE_LIMIT_PER_SECOND,
        rate_limit_burst: RATE_LIMIT_BURST,
        hsts: setup.tls().is_on() && setup.certificate_is_trusted(),
        realm: setup.realm().to_string(),
        htpasswd_path: setup.conf_dir().join(HTPASSWD_FILE),
        upstream: setup.upstream().to_string(),
        read_timeout_seconds: PROXY_READ_TIMEOUT_SECONDS,
    }
}

#[derive(Serialize)]
struct FlagValues<'a> {
    flags: &'a [String],
}

#[derive(Serialize)]
struct TlsFiles {
    certificate: String,
    key: String,
}

/// `web.yml`: user names and paths are validated types, hashes are bcrypt's own alphabet, so
/// double-quoted YAML needs no escaping.
#[derive(Serialize)]
struct WebConfigValues {
    tls: Option<TlsFiles>,
    users: Vec<(String, String)>,
}

#[derive(Serialize)]
struct ScrapeValues {
    scheme: &'static str,
    metrics_path: String,
    target: String,
    server_name: Option<String>,
    ca_file: Option<String>,
    username: &'static str,
    password_file: String,
}

/// The self-scrape job: behind nginx it scrapes Prometheus directly on its loopback address;
/// alone, it goes through Prometheus's own TLS, trusting the bundle's certificate.
fn scrape_values(setup: &Setup) -> ScrapeValues {
    let alone = !setup.has_nginx();
    let target = if alone {
        match setup.bind().first() {
            Some(std::net::IpAddr::V6(ip)) if !ip.is_unspecified() => {
                format!("[{ip}]:{}", setup.port())
            }
            Some(std::net::IpAddr::V4(ip)) if !ip.is_unspecified() => {
                format!("{ip}:{}", setup.port())
            }
            _ => format!("127.0.0.1:{}", setup.port()),
        }
    } else {
        setup.upstream().to_string()
    };
    let tls = alone && setup.tls().is_on();
    ScrapeValues {
        scheme: if tls { "https" } else { "http" },
        metrics_path: if alone {
            format!("{}metrics", setup.prefix().with_slash())
        } else {
            "/metrics".into()
        },
        target,
        server_name: tls.then(|| setup.domain().to_string()),
        ca_file: match (&setup.tls(), tls) {
            (Tls::SelfSigned { .. } | Tls::LocalCa { .. }, true) => setup
                .certificate_and_key_on_server()
                .map(|(certificate, _)| certificate),
            _ => None,
        },
        username: SELF_SCRAPE_USER,
        password_file: setup.in_prometheus_dir(SELF_SCRAPE_PASSWORD_FILE),
    }
}

/// What the main thread makes while the hashes are computed.
struct Rendered {
    /// Each nginx file of the layout: its name, contents and server folder.
    nginx_files: Vec<(&'static str, String, ServerPath)>,
    pair: Option<self_signed::SelfSigned>,
    scrape_snippet: Option<String>,
    local_ca: Option<(Authority, CaChange)>,
}

fn render_the_rest(
    setup: &Setup,
    templates: &Templates,
    existing: &Existing,
    now: OffsetDateTime,
) -> Result<Rendered, PlanError> {
    let mut nginx_files = Vec::new();
    if setup.has_nginx() {
        let values = nginx_values(setup);
        for (name, template, dir) in self::nginx_files(setup) {
            nginx_files.push((name, templates.render(template, &values)?, dir));
        }
    }
    // The local CA: kept, widened or made (see `local_ca`); a kept leaf must be its.
    let local_ca = match setup.tls() {
        Tls::LocalCa { .. } => Some(local_ca::prepare(
            existing.local_ca.clone(),
            setup.domain(),
            now,
        )?),
        _ => None,
    };
    let pair = match (&setup.tls(), &existing.pair) {
        (Tls::LocalCa { days, .. }, kept) => {
            let (authority, _) = local_ca.as_ref().expect("prepared above");
            match kept {
                Some(kept) if local_ca::signed_by(&kept.certificate_pem, authority) => {
                    Some(self_signed::SelfSigned {
                        certificate_pem: kept.certificate_pem.clone(),
                        key_pem: kept.key_pem.clone(),
                        not_after: kept.not_after,
                    })
                }
                _ => Some(local_ca::issue(authority, setup.domain(), *days, now)?),
            }
        }
        (Tls::SelfSigned { .. } | Tls::Acme { .. }, Some(kept)) => Some(self_signed::SelfSigned {
            certificate_pem: kept.certificate_pem.clone(),
            key_pem: kept.key_pem.clone(),
            not_after: kept.not_after,
        }),
        (Tls::SelfSigned { days }, None) => {
            Some(self_signed::self_signed(setup.domain(), *days, now)?)
        }
        // The stand-in nginx starts with before certbot has a certificate (see `acme`).
        (Tls::Acme { .. }, None) => Some(self_signed::self_signed(
            setup.domain(),
            ValidityDays::DEFAULT,
            now,
        )?),
        _ => None,
    };
    let scrape_snippet = setup
        .prometheus_checks_passwords()
        .then(|| templates.render(templates::SCRAPE_SNIPPET, &scrape_values(setup)))
        .transpose()?;
    Ok(Rendered {
        nginx_files,
        pair,
        scrape_snippet,
        local_ca,
    })
}

fn joined_users(result: std::thread::Result<Vec<(String, String)>>) -> Vec<(String, String)> {
    result.expect("hashing never panics")
}

/// The person's list (their hash set) with the self-scrape entry taken from the list where it
/// was set; the two were hashed on separate threads from the same starting list.
fn merge_self_scrape(
    mut person: Vec<(String, String)>,
    robot: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let Some(entry) = robot.into_iter().find(|(name, _)| name == SELF_SCRAPE_USER) else {
        return person;
    };
    match person.iter_mut().find(|(name, _)| name == SELF_SCRAPE_USER) {
        Some(slot) => *slot = entry,
        None => person.push(entry),
    }
    person
}

/// The pair a self-signed run writes for this domain, when this run writes none: a bundle
/// must not keep a key it no longer uses.
fn retired(setup: &Setup) -> Vec<String> {
    if setup.certificate_file().is_some() {
        return Vec::new();
    }
    let stem = setup.domain().file_stem();
    vec![format!("{stem}.crt"), format!("{stem}.key")]
}

/// Renders every file of the bundle. `store_password` puts the password in `password.txt`
/// (0600): a non-interactive run does so when it generated the password, so the user can find it.
///
/// `existing` is what an earlier run left: hashes that still hold, and a certificate that still
/// serves, are kept, so the same answers give the same bytes; other users' lines are kept too.
pub fn plan(
    setup: &Setup,
    password: &Password,
    store_password: bool,
    now: OffsetDateTime,
    templates: &Templates,
    existing: &Existing,
) -> Result<Plan, PlanError> {
    let public = |name: &str, contents: String, server_dir: Option<&ServerPath>| Artifact {
        file_name: name.to_string(),
        contents: Zeroizing::new(contents.into_bytes()),
        mode: 0o644,
        access: Access::Owner,
        server_dir: server_dir.cloned(),
    };
    let secret = |name: &str,
                  contents: Zeroizing<Vec<u8>>,
                  mode: u32,
                  access: Access,
                  server_dir: Option<&ServerPath>| Artifact {
        file_name: name.to_string(),
        contents,
        mode,
        access,
        server_dir: server_dir.cloned(),
    };
    // Without nginx, the certificate and key are Prometheus's: they go in its folder.
    let tls_dir = setup.tls_dir();
    let web_config = setup
        .prometheus_checks_passwords()
        .then(|| setup.in_prometheus_dir(WEB_CONFIG_FILE));
    let flags = setup.prometheus_flags(web_config.as_deref());

    let nginx_checks = setup.topology() == Topology::Proxied(Auth::Nginx);
    let self_scrape =
        setup
            .prometheus_checks_passwords()
            .then(|| match &existing.self_scrape_password {
                Some(kept) => Password::new(Zeroizing::new(kept.expose().to_string()))
                    .expect("a kept password passed the rules when it was read"),
                None => Password::generate(),
            });
    let existing_users = existing
        .web_config
        .as_deref()
        .map(credentials::web_config_users)
        .unwrap_or_default();

    // The bcrypt hashes are nearly all of a plan's time (a quarter second each at cost 12):
    // they run on threads of their own while the certificate is made and the files rendered.
    let (htpasswd, web_users, rendered) = std::thread::scope(|scope| {
        let htpasswd = nginx_checks.then(|| {
            scope.spawn(|| {
                credentials::htpasswd_with(
                    existing.htpasswd.as_deref().map(str::as_bytes),
                    setup.username(),
                    password,
                    setup.bcrypt_cost(),
                )
            })
        });
        let person = self_scrape.is_some().then(|| {
            scope.spawn(|| {
                credentials::web_config_users_with(
                    &existing_users,
                    setup.username().as_str(),
                    password,
                    setup.bcrypt_cost(),
                )
            })
        });
        let robot = self_scrape.as_ref().map(|self_scrape| {
            scope.spawn(|| {
                credentials::web_config_users_with(
                    &existing_users,
                    SELF_SCRAPE_USER,
                    self_scrape,
                    setup.bcrypt_cost(),
                )
            })
        });
        let rendered = render_the_rest(setup, templates, existing, now);
        let joined = |handle: std::thread::ScopedJoinHandle<'_, _>| {
            handle.join().expect("hashing never panics")
        };
        let htpasswd = htpasswd.map(joined);
        let web_users = person.zip(robot).map(|(person, robot)| {
            merge_self_scrape(joined_users(person.join()), joined_users(robot.join()))
        });
        (htpasswd, web_users, rendered)
    });
    let Rendered {
        nginx_files,
        pair,
        scrape_snippet,
        local_ca,
    } = rendered?;

    let mut artifacts = Vec::new();
    for (name, contents, dir) in nginx_files {
        artifacts.push(public(name, contents, Some(&dir)));
    }
    if let Some(contents) = htpasswd {
        artifacts.push(secret(
            HTPASSWD_FILE,
            contents,
            0o640,
            Access::GroupOf(setup.nginx_user().clone()),
            Some(setup.conf_dir()),
        ));
    }

    let mut certificate_not_after = None;
    let mut certificate = existing.provided.clone();
    // With ACME the pair is only the bootstrap's stand-in: installed by the ACME steps, and
    // not the certificate clients will see.
    let acme = matches!(setup.tls(), Tls::Acme { .. });
    let pair_dir = (!acme).then_some(tls_dir);
    if let Some(pair) = pair {
        if !acme {
            certificate_not_after = Some(pair.not_after);
            certificate = provided::describe_pem(pair.certificate_pem.as_bytes());
        }
        artifacts.push(public(
            &setup
                .certificate_file()
                .expect("TLS has a certificate file"),
            pair.certificate_pem,
            pair_dir,
        ));
        let key_access = if setup.has_nginx() {
            Access::Owner
        } else {
            Access::OwnedBy(setup.prometheus_user().clone())
        };
        artifacts.push(secret(
            &setup.key_file().expect("TLS has a key file"),
            Zeroizing::new(pair.key_pem.as_bytes().to_vec()),
            0o600,
            key_access,
            pair_dir,
        ));
    }
    if let Some((authority, _)) = &local_ca {
        // For clients to import; it stays with the user (no folder on the server).
        artifacts.push(public(
            LOCAL_CA_CERT_FILE,
            authority.certificate_pem.clone(),
            None,
        ));
    }

    if let (Some(users), Some(self_scrape)) = (web_users, &self_scrape) {
        let values = WebConfigValues {
            tls: (!setup.has_nginx())
                .then(|| setup.certificate_and_key_on_server())
                .flatten()
                .map(|(certificate, key)| TlsFiles { certificate, key }),
            users,
        };
        artifacts.push(secret(
            WEB_CONFIG_FILE,
            Zeroizing::new(
                templates
                    .render(templates::WEB_CONFIG, &values)?
                    .into_bytes(),
            ),
            0o640,
            Access::GroupOf(setup.prometheus_user().clone()),
            Some(setup.prometheus_dir()),
        ));
        artifacts.push(secret(
            SELF_SCRAPE_PASSWORD_FILE,
            self_scrape.as_file_line(),
            0o600,
            Access::OwnedBy(setup.prometheus_user().clone()),
            Some(setup.prometheus_dir()),
        ));
        if let Some(snippet) = scrape_snippet {
            artifacts.push(public(SCRAPE_SNIPPET_FILE, snippet, None));
        }
    }

    // Prometheus reads the flags from this file on the server (`@FILE`, FACTS 9); the two
    // hand-off files say so to Debian's ARGS and to a systemd unit.
    artifacts.push(public(
        FLAGS_FILE,
        templates.render(templates::PROMETHEUS_FLAGS, &FlagValues { flags: &flags })?,
        Some(setup.prometheus_dir()),
    ));
    let flags_on_server = setup.in_prometheus_dir(FLAGS_FILE);
    let service = setup.prometheus_service();
    artifacts.push(public(
        PROMETHEUS_DEFAULT_FILE,
        prometheus_handoff::merged_default_file(
            service.default_file.as_deref(),
            &flags_on_server,
            &flags,
        ),
        None,
    ));
    artifacts.push(public(
        PROMETHEUS_DROP_IN_FILE,
        prometheus_handoff::systemd_drop_in(
            service.exec_start.as_deref(),
            &flags_on_server,
            &flags,
        ),
        None,
    ));

    let password_file = store_password.then(|| PASSWORD_FILE.to_string());
    if store_password {
        artifacts.push(secret(
            PASSWORD_FILE,
            password.as_file_line(),
            0o600,
            Access::Owner,
            None,
        ));
    }

    // The other platforms are made from the host files, rendered for them by `resolve`'s rules.
    let artifacts = match setup.deploy_target() {
        DeployTarget::Nginx => ansible_role::with_role_vars(setup, templates, artifacts)?,
        DeployTarget::Kubernetes => kubernetes::artifacts(setup, templates, artifacts)?,
        DeployTarget::Compose => compose::artifacts(setup, templates, artifacts)?,
    };

    Ok(Plan {
        artifacts,
        flags,
        certificate_not_after,
        certificate,
        retired: retired(setup),
        password_file,
        local_ca,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::given::Given;
    use crate::model::setup::{HostFacts, resolve};

    fn setup_for(args: impl FnOnce(&mut Given)) -> Setup {
        let mut given = Given {
            domain: Some("example.com".parse().unwrap()),
            ..Given::default()
        };
        args(&mut given);
        let facts = HostFacts::unknown();
        resolve(given, &facts).unwrap()
    }

    fn fixed_password() -> Password {
        Password::new(Zeroizing::new("correct horse".to_string())).unwrap()
    }

    fn file<'a>(plan: &'a Plan, name: &str) -> &'a Artifact {
        plan.artifacts
            .iter()
            .find(|a| a.file_name == name)
            .unwrap_or_else(|| panic!("{name} is not in the plan"))
    }

    fn text(plan: &Plan, name: &str) -> String {
        String::from_utf8(file(plan, name).contents.to_vec()).unwrap()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// The plan for a folder with nothing in it yet.
    fn plan_fresh(setup: &Setup, password: &Password, store_password: bool) -> Plan {
        plan(
            setup,
            password,
            store_password,
            now(),
            &Templates::embedded(),
            &Existing::default(),
        )
        .unwrap()
    }

    #[test]
    fn default_plan_has_every_file_with_its_mode() {
        let setup = setup_for(|_| {});
        let plan = plan_fresh(&setup, &fixed_password(), false);
        let modes: Vec<_> = plan
            .artifacts
            .iter()
            .map(|a| (a.file_name.as_str(), a.mode))
            .collect();
        assert_eq!(
            modes,
            vec![
                ("nginx.conf", 0o644),
                (".htpasswd", 0o640),
                ("example.com.crt", 0o644),
                ("example.com.key", 0o600),
                ("prometheus.flags", 0o644),
                ("prometheus.default", 0o644),
                ("prometheus.service.d-promsetup.conf", 0o644),
            ]
        );
        assert_eq!(
            file(&plan, ".htpasswd").access,
            Access::GroupOf("www-data".parse().unwrap())
        );
        assert!(plan.password_file.is_none());
        assert!(plan.certificate_not_after.is_some());
    }

    #[test]
    fn htpasswd_line_is_user_and_2y_hash_of_the_password() {
        let setup = setup_for(|g| g.username = Some("grafana".parse().unwrap()));
        let plan = plan_fresh(&setup, &fixed_password(), false);
        let line = text(&plan, ".htpasswd");
        let (user, hash) = line.trim_end().split_once(':').unwrap();
        assert_eq!(user, "grafana");
        assert!(hash.starts_with("$2y$05$"), "{hash}");
        assert!(bcrypt::verify("correct horse", hash).unwrap());
        assert!(!bcrypt::verify("correct horsE", hash).unwrap());
    }

    #[test]
    fn generated_password_is_stored_owner_only() {
        let setup = setup_for(|_| {});
        let password = Password::generate();
        let plan = plan_fresh(&setup, &password, true);
        let stored = file(&plan, PASSWORD_FILE);
        assert_eq!(stored.mode, 0o600);
        assert_eq!(
            stored.contents.as_slice(),
            format!("{}\n", password.expose()).as_bytes()
        );
        assert_eq!(plan.password_file.as_deref(), Some(PASSWORD_FILE));
    }

    #[test]
    fn no_tls_plan_has_no_certificate_and_an_http_url() {
        let setup = setup_for(|g| g.tls = Some(crate::model::given::TlsChoice::Off));
        let plan = plan_fresh(&setup, &fixed_password(), false);
        assert!(
            plan.artifacts
                .iter()
                .all(|a| !a.file_name.ends_with(".crt") && !a.file_name.ends_with(".key"))
        );
        assert_eq!(
            text(&plan, "prometheus.flags"),
            "--web.external-url=http://example.com/prometheus/\n--web.route-prefix=/\n\
             --web.listen-address=127.0.0.1:9090\n"
        );
        let conf = text(&plan, "nginx.conf");
        assert!(
            !conf.lines().any(|l| l.trim_start().starts_with("ssl_")),
            "{conf}"
        );
        assert!(conf.contains("listen 80;"), "{conf}");
    }

    #[test]
    fn prometheus_auth_writes_web_config_and_self_scrape_instead_of_htpasswd() {
        let setup = setup_for(|g| g.auth = Some(Auth::Prometheus));
        let plan = plan_fresh(&setup, &fixed_password(), false);
        let names: Vec<_> = plan
            .artifacts
            .iter()
            .map(|a| a.file_name.as_str())
            .collect();
        assert_eq!(
            names,
            vec![
                "nginx.conf",
                "example.com.crt",
                "example.com.key",
                "web.yml",
                "self-scrape.password",
                "prometheus-scrape.yml",
                "prometheus.flags",
                "prometheus.default",
                "prometheus.service.d-promsetup.conf",
                "prometheus-role-vars.yml",
            ]
        );
        let web = text(&plan, "web.yml");
        let hash_of = |user: &str| {
            let line = web
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("\"{user}\":")))
                .unwrap();
            line.rsplit('"').nth(1).unwrap().to_string()
        };
        assert!(hash_of("admin").starts_with("$2y$12$"));
        assert!(bcrypt::verify("correct horse", &hash_of("admin")).unwrap());
        let self_scrape = text(&plan, "self-scrape.password");
        assert!(bcrypt::verify(self_scrape.trim_end(), &hash_of(SELF_SCRAPE_USER)).unwrap());
        assert_eq!(
            file(&plan, "self-scrape.password").access,
            Access::OwnedBy("prometheus".parse().unwrap())
        );
        assert!(!web.contains("tls_server_config"));
        let conf = text(&plan, "nginx.conf");
        assert!(!conf.contains("auth_basic") && !conf.contains("Authorization"));
        assert!(
            text(&plan, "prometheus.flags").contains("--web.config.file=/etc/prometheus/web.yml")
        );
    }

    #[test]
    fn without_nginx_prometheus_gets_the_key_and_tls_in_web_config() {
        let setup = setup_for(|g| g.no_nginx = true);
        let plan = plan_fresh(&setup, &fixed_password(), false);
        assert!(plan.artifacts.iter().all(|a| a.file_name != "nginx.conf"));
        let key = file(&plan, "example.com.key");
        assert_eq!(key.access, Access::OwnedBy("prometheus".parse().unwrap()));
        assert_eq!(
            key.server_dir.as_ref().unwrap().to_string(),
            "/etc/prometheus"
        );
        let web = text(&plan, "web.yml");
        assert!(
            web.contains("cert_file: \"/etc/prometheus/example.com.crt\""),
            "{web}"
        );
        assert!(web.contains("min_version: TLS12"));
        let scrape = text(&plan, "prometheus-scrape.yml");
        assert!(
            scrape.contains("scheme: https") && scrape.contains("/prometheus/metrics"),
            "{scrape}"
        );
    }

    #[test]
    fn debug_output_of_a_plan_shows_no_secret() {
        let setup = setup_for(|_| {});
        let password = Password::generate();
        let plan = plan_fresh(&setup, &password, true);
        let shown = format!("{plan:?}");
        assert!(!shown.contains(password.expose()));
        assert!(!shown.contains("PRIVATE KEY"));
    }
}

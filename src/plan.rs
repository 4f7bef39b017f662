//! The plan: every file of the bundle, rendered in memory, with the mode it must have.
//!
//! `plan` is pure apart from randomness: it reads no file, writes no file and asks nothing. The
//! same `Plan` can be written (`write.rs`), compared with the disk, or shown. Secret contents
//! (the key, the password) live in wiped-on-drop buffers.

use serde::Serialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::secret::Password;
use crate::setup::{PROXY_READ_TIMEOUT_SECONDS, Setup, Tls};
use crate::templates::{self, RenderError, Templates};
use crate::tls::{self, CertificateError};
use crate::values::{Domain, SystemUser};

pub const NGINX_CONF_FILE: &str = "nginx.conf";
pub const HTPASSWD_FILE: &str = ".htpasswd";
pub const FLAGS_FILE: &str = "prometheus.flags";
/// Where a generated password is kept for the user, readable only by them.
pub const PASSWORD_FILE: &str = "password.txt";

/// One file of the bundle.
pub struct Artifact {
    pub file_name: String,
    pub contents: Zeroizing<Vec<u8>>,
    /// The exact permission bits; the writer creates the file with them (never wider first).
    pub mode: u32,
    /// The file must be readable by this account's group (nginx's workers read `.htpasswd`).
    pub group_of: Option<SystemUser>,
}

impl std::fmt::Debug for Artifact {
    // Contents may be a key or a password: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Artifact")
            .field("file_name", &self.file_name)
            .field("bytes", &self.contents.len())
            .field("mode", &format_args!("{:04o}", self.mode))
            .field("group_of", &self.group_of)
            .finish()
    }
}

#[derive(Debug)]
pub struct Plan {
    pub artifacts: Vec<Artifact>,
    pub flags: Vec<String>,
    pub certificate_not_after: Option<OffsetDateTime>,
    /// Set when the password was generated and is stored in the bundle.
    pub password_file: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Certificate(#[from] CertificateError),
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
    server_name: Option<String>,
    listen: String,
    redirect_listen: Option<String>,
    origin: String,
    tls: bool,
    http2_in_listen: bool,
    http2_directive: bool,
    certificate_path: Option<String>,
    key_path: Option<String>,
    ecdh_curves: &'static str,
    session_tickets_off: bool,
    prefix_is_root: bool,
    prefix: String,
    /// The prefix without its leading slash, as a PCRE pattern (prefix characters are
    /// letters, digits and `-_.~`, of which only `.` means something to PCRE).
    prefix_pattern: String,
    location: String,
    realm: String,
    htpasswd_path: String,
    upstream: String,
    read_timeout_seconds: u32,
}

/// `443`, `127.0.0.1:443` or `[::1]:443`.
fn listen_address(setup: &Setup, port: crate::values::Port) -> String {
    match setup.bind {
        None => port.to_string(),
        Some(std::net::IpAddr::V4(ip)) => format!("{ip}:{port}"),
        Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
    }
}

fn nginx_values(setup: &Setup) -> NginxValues {
    let tls = setup.tls.is_on();
    let on_server = setup.certificate_and_key_on_server();
    let target = setup.target;
    let http2 = tls && target.http2_module;
    NginxValues {
        promsetup_version: env!("CARGO_PKG_VERSION"),
        external_url: setup.external_url(),
        nginx_version: target.nginx.to_string(),
        openssl_version: target.openssl.to_string(),
        target_detected: target.detected,
        nginx_user: setup.nginx_user.to_string(),
        // An address needs no server_name: the server is the only one on its port.
        server_name: match &setup.domain {
            Domain::Dns(name) => Some(name.clone()),
            Domain::Ip(_) => None,
        },
        listen: listen_address(setup, setup.port),
        redirect_listen: setup.redirect_port.map(|port| listen_address(setup, port)),
        origin: setup.origin(),
        tls,
        http2_in_listen: http2 && !target.has_http2_directive(),
        http2_directive: http2 && target.has_http2_directive(),
        certificate_path: on_server
            .as_ref()
            .map(|(certificate, _)| certificate.clone()),
        key_path: on_server.map(|(_, key)| key),
        ecdh_curves: if target.has_mlkem() {
            "X25519MLKEM768:X25519:prime256v1:secp384r1"
        } else {
            "X25519:prime256v1:secp384r1"
        },
        session_tickets_off: target.needs_session_tickets_off(),
        prefix_is_root: setup.prefix.is_root(),
        prefix: setup.prefix.to_string(),
        prefix_pattern: setup.prefix.as_str()[1..].replace('.', r"\."),
        location: setup.prefix.with_slash(),
        realm: setup.realm.to_string(),
        htpasswd_path: setup.conf_dir.join(HTPASSWD_FILE),
        upstream: setup.upstream.to_string(),
        read_timeout_seconds: PROXY_READ_TIMEOUT_SECONDS,
    }
}

#[derive(Serialize)]
struct FlagValues<'a> {
    flags: &'a [String],
}

/// Renders every file of the bundle. `store_password` puts the password in `password.txt`
/// (0600): a non-interactive run does so when it generated the password, so the user can find it.
pub fn plan(
    setup: &Setup,
    password: &Password,
    store_password: bool,
    now: OffsetDateTime,
    templates: &Templates,
) -> Result<Plan, PlanError> {
    let text = |name: &str, contents: String, mode: u32| Artifact {
        file_name: name.to_string(),
        contents: Zeroizing::new(contents.into_bytes()),
        mode,
        group_of: None,
    };

    let flags = setup.prometheus_flags();
    let mut artifacts = vec![
        text(
            NGINX_CONF_FILE,
            templates.render(templates::NGINX_CONF, &nginx_values(setup))?,
            0o644,
        ),
        Artifact {
            file_name: HTPASSWD_FILE.to_string(),
            contents: Zeroizing::new(
                format!(
                    "{}:{}\n",
                    setup.username,
                    password.bcrypt(setup.bcrypt_cost)
                )
                .into_bytes(),
            ),
            mode: 0o640,
            group_of: Some(setup.nginx_user.clone()),
        },
    ];

    let mut certificate_not_after = None;
    if let Tls::SelfSigned { days } = setup.tls {
        let pair = tls::self_signed(&setup.domain, days, now)?;
        certificate_not_after = Some(pair.not_after);
        artifacts.push(text(
            &setup
                .certificate_file()
                .expect("TLS has a certificate file"),
            pair.certificate_pem,
            0o644,
        ));
        artifacts.push(Artifact {
            file_name: setup.key_file().expect("TLS has a key file"),
            contents: Zeroizing::new(pair.key_pem.as_bytes().to_vec()),
            mode: 0o600,
            group_of: None,
        });
    }

    artifacts.push(text(
        FLAGS_FILE,
        templates.render(templates::PROMETHEUS_FLAGS, &FlagValues { flags: &flags })?,
        0o644,
    ));

    let password_file = store_password.then(|| PASSWORD_FILE.to_string());
    if store_password {
        let mut contents = Zeroizing::new(Vec::with_capacity(password.len() + 1));
        contents.extend_from_slice(password.expose().as_bytes());
        contents.push(b'\n');
        artifacts.push(Artifact {
            file_name: PASSWORD_FILE.to_string(),
            contents,
            mode: 0o600,
            group_of: None,
        });
    }

    Ok(Plan {
        artifacts,
        flags,
        certificate_not_after,
        password_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::{Given, HostFacts, resolve};

    fn setup_for(args: impl FnOnce(&mut Given)) -> Setup {
        let mut given = Given {
            domain: Some("example.com".parse().unwrap()),
            ..Given::default()
        };
        args(&mut given);
        let facts = HostFacts {
            nginx: None,
            nginx_user: None,
        };
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

    #[test]
    fn default_plan_has_every_file_with_its_mode() {
        let setup = setup_for(|_| {});
        let plan = plan(
            &setup,
            &fixed_password(),
            false,
            now(),
            &Templates::embedded(),
        )
        .unwrap();
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
            ]
        );
        assert_eq!(
            file(&plan, ".htpasswd").group_of.as_ref().unwrap().as_str(),
            "www-data"
        );
        assert!(plan.password_file.is_none());
        assert!(plan.certificate_not_after.is_some());
    }

    #[test]
    fn htpasswd_line_is_user_and_2y_hash_of_the_password() {
        let setup = setup_for(|g| g.username = Some("grafana".parse().unwrap()));
        let plan = plan(
            &setup,
            &fixed_password(),
            false,
            now(),
            &Templates::embedded(),
        )
        .unwrap();
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
        let plan = plan(&setup, &password, true, now(), &Templates::embedded()).unwrap();
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
        let setup = setup_for(|g| g.tls = Some(crate::setup::TlsChoice::Off));
        let plan = plan(
            &setup,
            &fixed_password(),
            false,
            now(),
            &Templates::embedded(),
        )
        .unwrap();
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
    fn debug_output_of_a_plan_shows_no_secret() {
        let setup = setup_for(|_| {});
        let password = Password::generate();
        let plan = plan(&setup, &password, true, now(), &Templates::embedded()).unwrap();
        let shown = format!("{plan:?}");
        assert!(!shown.contains(password.expose()));
        assert!(!shown.contains("PRIVATE KEY"));
    }
}

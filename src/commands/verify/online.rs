//! The online checks, done for the user against the running service at `--url`: 401 with the
//! realm without credentials, metrics and the API with them, redirects inside the prefix, no
//! leak past the prefix, TLS trusting only the bundle's certificate. Each failed answer is
//! explained with the fix. It sends GET requests only and must not change anything.

use std::net::ToSocketAddrs;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::access::same_path;
use super::http::{Answer, REQUEST_TIMEOUT, Target, agent, fetch};
use super::{Checker, Verifier};
use crate::bundle::layout::{FLAGS_FILE, HTPASSWD_FILE, NGINX_CONF_FILE};
use crate::host::http_client::trust_anchors;
use crate::model::values::Domain;

/// How many redirects the online check follows from the external URL before giving up.
pub(super) const MAX_REDIRECTS: usize = 5;

impl Verifier<'_, '_> {
    pub(super) fn online(&mut self, target: &Target) {
        self.report.section("online");
        self.report.note(&format!("\nChecking {}", target.base()));
        let checker = self.bundle.checker();
        let tls_bundle = self.certificate_pem.is_some();
        if let Some(external) = self.bundle.flag("--web.external-url")
            && let Ok(external) = Target::parse(external)
            && external != *target
        {
            self.report.warn(
                &format!(
                    "{} is not the external URL in {FLAGS_FILE} ({}): Prometheus's links and \
                     redirects point there",
                    target.base(),
                    external.base()
                ),
                "Fine for a test by address; users should use the external URL",
            );
        }

        // The host, before DNS points at the server, may not resolve.
        let resolved = match self.connect {
            Some(address) => {
                self.report.note(&format!(
                    "Connecting to {address} for {} (--connect), whatever DNS says",
                    target.host
                ));
                Ok(vec![address])
            }
            None => (target.host.as_str(), target.port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>()),
        };
        match resolved {
            Ok(addresses) if !addresses.is_empty() => {}
            other => {
                let why = match other {
                    Err(error) => error.to_string(),
                    Ok(_) => "no address".into(),
                };
                let is_domain = self
                    .domain
                    .as_ref()
                    .is_some_and(|d| d.to_string().eq_ignore_ascii_case(&target.host));
                self.report.fail(
                    &format!(
                        "{} does not resolve here ({why}){}",
                        target.host,
                        if is_domain {
                            ": it is the bundle's domain, and its DNS record is missing or not \
                             visible from this machine yet"
                        } else {
                            ""
                        }
                    ),
                    &format!(
                        "add the DNS record; to test before DNS points at the server, add a line \
                         \"SERVER-IP {}\" to /etc/hosts on this machine and run verify again",
                        target.host
                    ),
                );
                return;
            }
        }

        let anchors = match (target.https, &self.certificate_pem) {
            (true, Some(pem)) => Some(trust_anchors(pem)),
            (true, None) => {
                if self.bundle.nginx.is_some() || self.bundle.web.is_some() {
                    self.report.fail(
                        &format!(
                            "{} is https://, but the bundle has no certificate to check TLS \
                             against",
                            target.base()
                        ),
                        "use http:// for a bundle written with --no-tls, or make the \
                         certificate readable",
                    );
                }
                return;
            }
            (false, _) => {
                if tls_bundle {
                    self.report.warn(
                        &format!("{} is http://, so TLS is not checked", target.base()),
                        "The bundle serves HTTPS: give the https:// URL",
                    );
                }
                None
            }
        };
        // The password never travels in clear to a bundle that serves TLS, unless asked.
        let cleartext_refused = !target.https && tls_bundle && !self.allow_cleartext;
        let password_given = self.password.is_some();
        if cleartext_refused && password_given {
            self.report.warn(
                &format!(
                    "the password was not sent to {}: the URL is http:// and the bundle serves \
                     TLS, so anyone on the path could read it; the checks that need it were not \
                     run",
                    target.base()
                ),
                "Give the https:// URL, or add --allow-cleartext-password to send it anyway",
            );
            self.password = None;
        }
        let agent = agent(anchors, self.connect);

        // 0. Nothing but nginx answers for Prometheus on this host's other addresses.
        self.check_upstream_exposure(target);
        self.report.section("online");

        // 1. Without credentials: 401 and the challenge.
        let base = target.base();
        let answer = match fetch(&agent, &base, None) {
            Ok(answer) => answer,
            Err(error) => {
                let (text, fix) = self.transport_failure(&error, target);
                self.report.fail(&text, &fix);
                return;
            }
        };
        if target.https {
            self.report.ok(&format!(
                "TLS to {}:{} verified against the bundle's certificate",
                target.host, target.port
            ));
        }
        if !self.check_challenge(&answer, &base, checker) {
            // The rest would fail the same way, and say less.
            return;
        }

        // 2. The prefix without its slash is sent inside the prefix.
        let authorization = self.authorization();
        if target.prefix != "/" {
            let bare = format!("{}{}", target.origin(), target.prefix.trim_end_matches('/'));
            match fetch(&agent, &bare, authorization.as_deref().map(String::as_str)) {
                Err(error) => {
                    let (text, fix) = self.transport_failure(&error, target);
                    self.report.fail(&text, &fix);
                }
                Ok(answer) if (300..400).contains(&answer.status) => {
                    let location = answer.location.clone().unwrap_or_default();
                    match target.inside(&bare, &location) {
                        Some(next) if next == base => self.report.ok(&format!(
                            "{bare} redirects to {location} ({})",
                            answer.status
                        )),
                        Some(_) => self.report.warn(
                            &format!(
                                "{bare} redirects to {location}, inside the prefix but not to \
                                 {}",
                                target.prefix
                            ),
                            "Check nginx.conf's location for the prefix without its slash",
                        ),
                        None => self.report.fail(
                            &format!("{bare} redirects to {location}, outside the prefix"),
                            &format!(
                                "install the bundle's {NGINX_CONF_FILE} (location = {} returns \
                                 301 to {}) and reload nginx",
                                target.prefix.trim_end_matches('/'),
                                target.prefix
                            ),
                        ),
                    }
                }
                Ok(answer) => self.report.warn(
                    &format!(
                        "{bare} answers {} instead of redirecting to {}",
                        answer.status, target.prefix
                    ),
                    &format!(
                        "Install the bundle's {NGINX_CONF_FILE} and reload nginx: users who type \
                         the prefix without its slash land nowhere"
                    ),
                ),
            }
        }

        let Some(authorization) = authorization else {
            if cleartext_refused && password_given {
                return;
            }
            self.report.warn(
                "the checks with the password were not run (metrics, API, redirects)",
                "Give the password with --password-stdin, --password-file FILE or \
                 PROMSETUP_PASSWORD",
            );
            return;
        };
        let authorization = Some(authorization.as_str());

        // 3. With credentials: Prometheus's metrics and API.
        let metrics = format!("{base}metrics");
        match fetch(&agent, &metrics, authorization) {
            Err(error) => {
                let (text, fix) = self.transport_failure(&error, target);
                self.report.fail(&text, &fix);
                return;
            }
            Ok(answer) if answer.status == 200 => {
                let families = answer.body.matches("# TYPE ").count();
                if families > 0 {
                    self.report.ok(&format!(
                        "{metrics} answers 200 with Prometheus's metrics ({families} metric \
                         families)"
                    ));
                } else {
                    self.report.fail(
                        &format!("{metrics} answers 200, but not with Prometheus's metrics"),
                        &format!(
                            "check that Prometheus listens at {}, where nginx sends requests",
                            self.upstream()
                        ),
                    );
                }
            }
            Ok(answer) => {
                let (text, fix) = self.status_failure(answer.status, &metrics);
                self.report.fail(&text, &fix);
                return;
            }
        }
        let api = format!("{base}api/v1/label/job/values");
        match fetch(&agent, &api, authorization) {
            Err(error) => {
                let (text, fix) = self.transport_failure(&error, target);
                self.report.fail(&text, &fix);
            }
            Ok(answer) if answer.status == 200 => {
                let json: Option<serde_json::Value> = serde_json::from_str(&answer.body).ok();
                match json {
                    Some(json) if json["status"] == "success" => {
                        self.report.ok(&format!(
                            "{api} answers 200, \"status\":\"success\" (jobs: {})",
                            json["data"]
                        ));
                    }
                    _ => self.report.fail(
                        &format!("{api} answers 200, but not with \"status\":\"success\""),
                        &format!(
                            "check that Prometheus listens at {}, where nginx sends requests",
                            self.upstream()
                        ),
                    ),
                }
            }
            Ok(answer) => {
                let (text, fix) = self.status_failure(answer.status, &api);
                self.report.fail(&text, &fix);
            }
        }

        // 4. Prometheus's own redirects (/ to its UI) stay inside the prefix.
        self.check_redirect_chain(&agent, target, authorization);

        // 4b. What Prometheus runs with, and what a browser loads.
        self.check_running_flags(&agent, target, authorization);
        self.check_ui_assets(&agent, target, authorization);
        self.report.section("online");

        // 5. Nothing outside the prefix reaches Prometheus (/prometheusmetrics).
        if target.prefix != "/" {
            let leak = format!(
                "{}{}metrics",
                target.origin(),
                target.prefix.trim_end_matches('/')
            );
            if let Ok(answer) = fetch(&agent, &leak, authorization) {
                if answer.status == 200 && answer.body.contains("# TYPE ") {
                    self.report.fail(
                        &format!("{leak} reaches Prometheus: the prefix leaks"),
                        &format!(
                            "install the bundle's {NGINX_CONF_FILE} (location {} with its slash, \
                             location / answering 404) and reload nginx",
                            target.prefix
                        ),
                    );
                } else {
                    self.report.ok(&format!(
                        "{leak} does not reach Prometheus ({})",
                        answer.status
                    ));
                }
            }
        }
    }

    /// Returns whether the answer was the 401 expected.
    pub(super) fn check_challenge(&mut self, answer: &Answer, url: &str, checker: Checker) -> bool {
        let basic: Vec<&String> = answer
            .challenges
            .iter()
            .filter(|c| c.get(..5).is_some_and(|s| s.eq_ignore_ascii_case("basic")))
            .collect();
        match answer.status {
            401 if basic.is_empty() => self.report.fail(
                &format!("{url} answers 401 without credentials, but with no Basic challenge"),
                &format!("install the bundle's {NGINX_CONF_FILE} and reload nginx"),
            ),
            401 => {
                let realm = self.bundle.nginx.as_ref().and_then(|n| n.realm.clone());
                match (checker, realm) {
                    (Checker::Nginx, Some(realm)) => {
                        let expected = format!("Basic realm=\"{realm}\"");
                        if basic.iter().any(|c| **c == expected) {
                            self.report.ok(&format!(
                                "{url} answers 401 without credentials, with \
                                 WWW-Authenticate: {expected}"
                            ));
                        } else {
                            self.report.warn(
                                &format!(
                                    "{url} answers 401 with WWW-Authenticate: {}, but the \
                                     bundle's realm is \"{realm}\"",
                                    basic[0]
                                ),
                                &format!(
                                    "nginx may run another configuration: install the bundle's \
                                     {NGINX_CONF_FILE} and reload nginx"
                                ),
                            );
                        }
                    }
                    _ => self.report.ok(&format!(
                        "{url} answers 401 without credentials, with WWW-Authenticate: {}",
                        basic[0]
                    )),
                }
            }
            300..=399 => self.report.fail(
                &format!(
                    "{url} answers {} with a redirect to {} instead of 401",
                    answer.status,
                    answer.location.as_deref().unwrap_or("nowhere")
                ),
                "give the URL clients end up at as --url (the external URL)",
            ),
            200..=299 => self.report.fail(
                &format!(
                    "{url} answers {} without credentials: anyone can use Prometheus",
                    answer.status
                ),
                &match checker {
                    Checker::PrometheusAlone => {
                        format!("run Prometheus with the flags in {FLAGS_FILE} (--web.config.file)")
                    }
                    Checker::PrometheusBehindNginx => format!(
                        "run Prometheus with the flags in {FLAGS_FILE} (--web.config.file), and \
                         install the bundle's {NGINX_CONF_FILE}"
                    ),
                    _ => format!(
                        "install the bundle's {NGINX_CONF_FILE} (it has auth_basic), run nginx \
                         -t and reload nginx"
                    ),
                },
            ),
            status => {
                let (text, fix) = self.status_failure(status, url);
                self.report.fail(
                    &format!("{text} (without credentials; 401 was expected)"),
                    &fix,
                );
            }
        }
        answer.status == 401
    }

    /// GET the external URL with credentials and follow Prometheus's redirects, each of which
    /// must stay inside the prefix.
    pub(super) fn check_redirect_chain(
        &mut self,
        agent: &ureq::Agent,
        target: &Target,
        auth: Option<&str>,
    ) {
        let base = target.base();
        let mut url = base.clone();
        let mut hops: Vec<String> = Vec::new();
        for _ in 0..=MAX_REDIRECTS {
            let answer = match fetch(agent, &url, auth) {
                Ok(answer) => answer,
                Err(error) => {
                    let (text, fix) = self.transport_failure(&error, target);
                    self.report.fail(&text, &fix);
                    return;
                }
            };
            if !(300..400).contains(&answer.status) {
                if (200..300).contains(&answer.status) {
                    self.report.ok(&format!(
                        "redirects stay inside the prefix: {base}{} answers {}",
                        hops.iter().map(|h| format!(" -> {h}")).collect::<String>(),
                        answer.status
                    ));
                } else {
                    let (text, fix) = self.status_failure(answer.status, &url);
                    self.report.fail(&text, &fix);
                }
                return;
            }
            let location = answer.location.clone().unwrap_or_default();
            let Some(next) = target.inside(&url, &location) else {
                self.report.fail(
                    &format!(
                        "{url} redirects to {location}, outside the prefix {}",
                        target.prefix
                    ),
                    &format!(
                        "run Prometheus with the flags in {FLAGS_FILE} (--web.external-url={base} \
                         and --web.route-prefix=/), and install the bundle's {NGINX_CONF_FILE} \
                         (its proxy_redirect)"
                    ),
                );
                return;
            };
            hops.push(location);
            url = next;
        }
        self.report.fail(
            &format!("{base} redirects more than {MAX_REDIRECTS} times"),
            &format!("run Prometheus with the flags in {FLAGS_FILE}"),
        );
    }

    pub(super) fn authorization(&self) -> Option<Zeroizing<String>> {
        let password = self.password.as_ref()?;
        let user = self.username.clone().unwrap_or_else(|| {
            self.options.username.as_ref().map_or_else(
                || crate::model::setup::DEFAULT_USERNAME.to_string(),
                |u| u.to_string(),
            )
        });
        let pair = Zeroizing::new(format!("{user}:{}", password.expose()));
        Some(Zeroizing::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
        )))
    }

    pub(super) fn upstream(&self) -> String {
        self.bundle
            .nginx
            .as_ref()
            .and_then(|n| n.upstream.clone())
            .or_else(|| self.bundle.flag("--web.listen-address").map(str::to_string))
            .unwrap_or_else(|| "its --web.listen-address".into())
    }

    /// What an HTTP status with credentials means here, and what to do.
    pub(super) fn status_failure(&self, status: u16, url: &str) -> (String, String) {
        let checker = self.bundle.checker();
        let nginx = self.bundle.nginx.as_ref();
        let user = self.username.clone().unwrap_or_else(|| "the user".into());
        let dir = self.bundle.dir.display().to_string();
        let user_file = nginx
            .and_then(|n| n.user_file.as_ref())
            .map_or_else(|| HTPASSWD_FILE.to_string(), |p| p.display().to_string());
        let worker = nginx
            .and_then(|n| n.worker_group.clone().or(n.worker_user.clone()))
            .unwrap_or_else(|| "www-data".into());
        let upstream = self.upstream();
        let bundle_copy = self.bundle.dir.join(HTPASSWD_FILE);
        let install_htpasswd = if nginx
            .and_then(|n| n.user_file.as_ref())
            .is_some_and(|p| same_path(p, &bundle_copy))
        {
            format!(
                "put the bundle's {HTPASSWD_FILE} there (promsetup user add NAME --dir {dir} \
                 writes one), readable by nginx's workers: chgrp {worker} {user_file} && chmod \
                 0640 {user_file}"
            )
        } else {
            format!("install -m 0640 -g {worker} {dir}/{HTPASSWD_FILE} {user_file}")
        };
        match (status, checker) {
            (400, _) if !url.starts_with("https:") && self.certificate_pem.is_some() => (
                format!("{url} answers 400: the server speaks HTTPS on this port"),
                "give the https:// URL".into(),
            ),
            (401, Checker::Nginx) => (
                format!(
                    "{url} answers 401 with credentials: nginx does not accept the user {user} \
                     with this password{}",
                    if self.users.contains(&user) || self.users.is_empty() {
                        format!(
                            " ({user} is missing from {user_file} as installed, or the password \
                             differs)"
                        )
                    } else {
                        format!(" ({user} is not in the bundle's {HTPASSWD_FILE})")
                    }
                ),
                format!(
                    "give the right user (--username) and password, or set them with promsetup \
                     user add {user} --dir {dir}, then {install_htpasswd}"
                ),
            ),
            (401, _) => (
                format!(
                    "{url} answers 401 with credentials: Prometheus does not accept the user \
                     {user} with this password (basic_auth_users in the web.yml it reads)"
                ),
                format!(
                    "give the right user (--username) and password, or set them with promsetup \
                     user add {user} --dir {dir} and install web.yml where --web.config.file \
                     points"
                ),
            ),
            (403, Checker::Nginx) => (
                format!(
                    "{url} answers 403 with credentials: the password file is missing, nginx \
                     cannot find {user_file} (auth_basic_user_file), and nginx -t does not notice"
                ),
                format!("install it: {install_htpasswd}"),
            ),
            (500, Checker::Nginx) => (
                format!(
                    "{url} answers 500 with credentials: nginx cannot use the password file \
                     {user_file}: its workers ({worker}) cannot read it, or this system's crypt() \
                     does not know its hash format"
                ),
                format!(
                    "make it readable by the workers' group: chgrp {worker} {user_file} && chmod \
                     0640 {user_file}; nginx's error log says which it is: \"Permission denied\", \
                     or \"crypt_r() failed\" (no bcrypt in this system's crypt: use --auth \
                     prometheus, or an $apr1$ hash from htpasswd -m)"
                ),
            ),
            (502, Checker::PrometheusAlone) | (503, Checker::PrometheusAlone) => (
                format!("{url} answers {status}"),
                "check Prometheus's log".into(),
            ),
            (502, _) => (
                format!(
                    "{url} answers 502 Bad Gateway: Prometheus is not running at {upstream}, \
                     where nginx sends requests"
                ),
                format!(
                    "start Prometheus with the flags in {FLAGS_FILE} \
                     (--web.listen-address={upstream}), e.g. systemctl restart prometheus"
                ),
            ),
            (504, _) => (
                format!(
                    "{url} answers 504 Gateway Timeout: Prometheus at {upstream} did not answer \
                     in time"
                ),
                "check that Prometheus runs and is not overloaded (its log)".into(),
            ),
            (404, _) => (
                format!("{url} answers 404: nothing is served at this path"),
                format!(
                    "give the external URL with the prefix nginx serves{}",
                    nginx
                        .and_then(|n| n.location.as_ref())
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default()
                ),
            ),
            (status, _) => (
                format!("{url} answers {status}"),
                "check nginx's error log and Prometheus's log".into(),
            ),
        }
    }

    /// What a failed request means: no server, no name, or TLS refused.
    pub(super) fn transport_failure(
        &self,
        error: &ureq::Error,
        target: &Target,
    ) -> (String, String) {
        let text = error.to_string();
        let endpoint = format!("{}:{}", target.host, target.port);
        let certificate = self
            .bundle
            .nginx
            .as_ref()
            .and_then(|n| n.certificate.clone())
            .or_else(|| self.bundle.web.as_ref().and_then(|w| w.certificate.clone()))
            .map_or_else(
                || "the certificate".to_string(),
                |p| p.display().to_string(),
            );
        let server = if self.bundle.nginx.is_some() {
            "nginx"
        } else {
            "Prometheus"
        };
        let refused = match error {
            ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::ConnectionRefused,
            ureq::Error::ConnectionFailed => true,
            _ => false,
        };
        if refused {
            return (
                format!("nothing listens at {endpoint} (connection refused)"),
                format!(
                    "start {server} (systemctl start {}), and check that the URL's port is the \
                     one it listens on",
                    server.to_lowercase()
                ),
            );
        }
        if matches!(error, ureq::Error::Timeout(_)) {
            return (
                format!(
                    "no answer from {endpoint} within {}s",
                    REQUEST_TIMEOUT.as_secs()
                ),
                format!("check that {server} runs and that no firewall drops the connection"),
            );
        }
        if matches!(error, ureq::Error::HostNotFound) {
            return (
                format!("{} does not resolve", target.host),
                "add the DNS record, or a line \"SERVER-IP HOST\" to /etc/hosts to test before \
                 DNS"
                .into(),
            );
        }
        if text.contains("NotValidForName") || text.contains("not valid for name") {
            let fix = match &self.domain {
                Some(Domain::Ip(ip)) => {
                    format!("use the URL with the address the certificate is for ({ip})")
                }
                Some(Domain::Dns(name)) => format!(
                    "use the URL with the name the certificate is for ({name}); before DNS \
                     points there, add \"SERVER-IP {name}\" to /etc/hosts"
                ),
                None => "use the URL with the name the certificate is for".to_string(),
            };
            return (
                format!(
                    "TLS: the server's certificate does not cover {}, the URL's host ({text})",
                    target.host
                ),
                fix,
            );
        }
        if text.contains("UnknownIssuer") || text.contains("BadSignature") {
            return (
                format!("TLS: {endpoint} presents a certificate other than the bundle's ({text})"),
                format!(
                    "install the bundle's certificate and key where {server} reads them \
                     ({certificate}) and reload {server}; a certificate from an authority needs \
                     its full chain in the file"
                ),
            );
        }
        if text.contains("Expired") || text.contains("expired") {
            return (
                format!("TLS: the certificate {endpoint} presents has expired ({text})"),
                format!(
                    "renew it (promsetup ... --force for a self-signed one), install it and \
                     reload {server}"
                ),
            );
        }
        if text.contains("corrupt message") || text.contains("InvalidContentType") {
            return (
                format!("TLS: {endpoint} does not speak TLS ({text})"),
                "use http:// for a plain-HTTP port, or the port nginx serves TLS on".into(),
            );
        }
        (
            format!("cannot reach {}: {text}", target.base()),
            format!("check that {server} runs and the URL is right"),
        )
    }
}

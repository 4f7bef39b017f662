//! The offline checks of the bundle's files: its shape, where each file the servers read is,
//! the certificate and key (pair, names, dates), `nginx -t`, prometheus.flags, and the modes of
//! the secret files. It must not write or fix anything: each finding names the fix.

use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use ::time::OffsetDateTime;
use nix::unistd::{Gid, Uid};
use x509_parser::prelude::*;
use zeroize::Zeroizing;

use super::access::writable_by_others;
use super::access::{file_name, group_name, same_path};
use super::findings::Level;
use super::nginx_conf::{foreign_directives, nginx_message, nginx_test};
use super::safe_read::{
    CONFIG_LIMIT, NotRead, PEM_LIMIT, USER_FILE_LIMIT, read_capped, read_text, unreadable_fix,
};
use super::{Checker, Placed, Verifier};
use crate::bundle::cert::provided::{self as provided_cert, Refused};
use crate::bundle::layout::{
    FLAGS_FILE, HTPASSWD_FILE, NGINX_CONF_FILE, PASSWORD_FILE, SELF_SCRAPE_PASSWORD_FILE,
    WEB_CONFIG_FILE,
};
use crate::model::values::{Domain, RenewDays};

pub(super) fn date(moment: OffsetDateTime) -> String {
    format!(
        "{} {:02}:{:02} UTC",
        moment.date(),
        moment.hour(),
        moment.minute()
    )
}

impl Verifier<'_, '_> {
    pub(super) fn check_shape(&mut self) {
        self.report.section("shape");
        for why in self.bundle.unreadable.clone() {
            self.report.fail(
                &why,
                "write the bundle again with promsetup ... --force (it writes UTF-8 text files)",
            );
        }
        let bundle = &self.bundle;
        if let Some(why) = &bundle.nginx_unreadable {
            let why = why.clone();
            self.report.fail(
                &format!("{} cannot be read: {why}", bundle.nginx_file),
                "correct it, or write the bundle again with promsetup ... --force",
            );
            return;
        }
        let checker = bundle.checker();
        let tls = bundle.nginx.as_ref().map_or_else(
            || bundle.web.as_ref().is_some_and(|w| w.certificate.is_some()),
            |n| n.certificate.is_some(),
        );
        let who = match checker {
            Checker::Nginx => format!(
                "nginx checks passwords ({HTPASSWD_FILE}, realm \"{}\")",
                bundle
                    .nginx
                    .as_ref()
                    .and_then(|n| n.realm.clone())
                    .unwrap_or_default()
            ),
            Checker::PrometheusBehindNginx => {
                format!("nginx in front, Prometheus checks passwords ({WEB_CONFIG_FILE})")
            }
            Checker::PrometheusAlone => {
                format!("no nginx, Prometheus checks passwords ({WEB_CONFIG_FILE})")
            }
            Checker::Nobody => {
                let nginx_file = self.bundle.nginx_file;
                self.report.fail(
                    &format!(
                        "nobody checks passwords: {nginx_file} has no auth_basic and there is \
                         no {WEB_CONFIG_FILE}"
                    ),
                    "write the bundle again with promsetup ... --force",
                );
                return;
            }
        };
        let mut shape = format!("{who}, {}", if tls { "TLS" } else { "no TLS" });
        if let Some(nginx) = &bundle.nginx {
            if let Some(location) = &nginx.location {
                shape.push_str(&format!(", prefix {location}"));
            }
            if let Some(upstream) = &nginx.upstream {
                shape.push_str(&format!(", Prometheus at {upstream}"));
            }
        }
        self.report.ok(&format!("bundle: {shape}"));
    }

    /// Reports where `placed` is; returns the file to examine (the bundle's copy if it has one).
    pub(super) fn place(&mut self, placed: &Placed) -> Option<PathBuf> {
        let elsewhere = placed
            .configured
            .as_ref()
            .filter(|configured| !same_path(configured, &placed.bundle));
        let in_bundle = placed.bundle.exists();
        match elsewhere {
            None if in_bundle => Some(placed.bundle.clone()),
            Some(configured) if configured.exists() => {
                if in_bundle {
                    if let (Ok(installed), Ok(ours)) = (
                        read_capped(configured, USER_FILE_LIMIT),
                        read_capped(&placed.bundle, USER_FILE_LIMIT),
                    ) && installed != ours
                    {
                        self.report.warn(
                            &format!(
                                "{} at {} ({} names it) differs from the bundle's {}: the server \
                                 uses {}",
                                placed.what,
                                configured.display(),
                                placed.named_by,
                                self.bundle.show(&placed.bundle),
                                configured.display()
                            ),
                            "Install the bundle's copy there, or verify the folder that copy \
                             came from",
                        );
                    }
                    Some(placed.bundle.clone())
                } else {
                    Some(configured.clone())
                }
            }
            Some(configured) if in_bundle => {
                self.report.warn(
                    &format!(
                        "{} is not installed at {} yet ({} names it there; {})",
                        placed.what,
                        configured.display(),
                        placed.named_by,
                        placed.if_missing
                    ),
                    "Install the bundle as its next steps show, then run verify again",
                );
                Some(placed.bundle.clone())
            }
            _ => {
                let where_ = match placed
                    .configured
                    .as_ref()
                    .filter(|c| !same_path(c, &placed.bundle))
                {
                    Some(c) => format!(
                        "neither {} nor {} exists",
                        placed.bundle.display(),
                        c.display()
                    ),
                    None => format!("{} does not exist", placed.bundle.display()),
                };
                self.report.fail(
                    &format!(
                        "{} is missing: {where_} ({})",
                        placed.what, placed.if_missing
                    ),
                    placed.remedy,
                );
                None
            }
        }
    }

    pub(super) fn check_tls(&mut self) {
        self.report.section("tls");
        let (certificate, key, named_by) = match (&self.bundle.nginx, &self.bundle.web) {
            (Some(nginx), _) => (
                nginx.certificate.clone(),
                nginx.key.clone(),
                NGINX_CONF_FILE,
            ),
            (None, Some(web)) => (web.certificate.clone(), web.key.clone(), WEB_CONFIG_FILE),
            (None, None) => (None, None, NGINX_CONF_FILE),
        };
        let Some(certificate) = certificate else {
            return;
        };
        let server = if self.bundle.nginx.is_some() {
            "nginx"
        } else {
            "Prometheus"
        };
        let renew = "write a new pair: run promsetup again with the same flags and --force \
                     (it keeps the old files as .bak)";
        let if_missing = format!("{server} cannot start without it");
        let certificate_path = self.place(&Placed {
            what: "the certificate",
            bundle: self.bundle.dir.join(file_name(&certificate)),
            configured: Some(certificate.clone()),
            named_by,
            if_missing: &if_missing,
            remedy: renew,
        });
        let key_path = key.and_then(|key| {
            self.place(&Placed {
                what: "the key",
                bundle: self.bundle.dir.join(file_name(&key)),
                configured: Some(key.clone()),
                named_by,
                if_missing: &if_missing,
                remedy: renew,
            })
        });
        let Some(certificate_path) = certificate_path else {
            return;
        };
        let shown = self.bundle.show(&certificate_path);
        let pem = match read_capped(&certificate_path, PEM_LIMIT) {
            Ok(pem) => pem,
            Err(error) => {
                self.report.fail(
                    &format!("cannot read the certificate {shown}: {error}"),
                    unreadable_fix(&error),
                );
                return;
            }
        };
        let ders: Vec<Vec<u8>> = x509_parser::pem::Pem::iter_from_buffer(&pem)
            .filter_map(Result::ok)
            .filter(|p| p.label == "CERTIFICATE")
            .map(|p| p.contents)
            .collect();
        let Some(Ok((_, parsed))) = ders.first().map(|der| X509Certificate::from_der(der)) else {
            self.report.fail(
                &format!("{shown} holds no readable PEM certificate"),
                &format!("put the certificate there (BEGIN CERTIFICATE), or {renew}"),
            );
            return;
        };
        self.certificate_pem = Some(pem.clone());
        let names = provided_cert::subject_alt_names(&parsed);
        let self_signed = parsed.issuer().as_raw() == parsed.subject().as_raw();

        // The key.
        let mut key_pem = None;
        if let Some(key_path) = &key_path {
            let key_shown = self.bundle.show(key_path);
            match read_text(key_path, PEM_LIMIT).map(Zeroizing::new) {
                Err(error) => self.report.fail(
                    &format!("cannot read the key {key_shown}: {error}"),
                    unreadable_fix(&error),
                ),
                Ok(text) => match rcgen::KeyPair::from_pem(&text) {
                    Err(_) => self.report.fail(
                        &format!(
                            "the key {key_shown} cannot be read: promsetup reads unencrypted \
                             PKCS#8 keys (BEGIN PRIVATE KEY)"
                        ),
                        &format!("convert it: openssl pkey -in {key_shown} -out KEY.pk8"),
                    ),
                    Ok(pair) => {
                        use rcgen::PublicKeyData;
                        if pair.subject_public_key_info() == parsed.public_key().raw {
                            self.report.ok(&format!(
                                "the key {key_shown} belongs to the certificate {shown}"
                            ));
                            key_pem = Some(text);
                        } else {
                            self.report.fail(
                                &format!(
                                    "the key {key_shown} does not belong to the certificate \
                                     {shown}: {server} refuses to start (key values mismatch)"
                                ),
                                &format!("put back the key made with this certificate, or {renew}"),
                            );
                        }
                    }
                },
            }
        }

        // The names it covers.
        let server_name = self
            .bundle
            .nginx
            .as_ref()
            .and_then(|n| n.server_name.clone())
            .and_then(|name| name.parse::<Domain>().ok());
        let (domain, source) = match (server_name, names.first()) {
            (Some(domain), _) => (Some(domain), "nginx.conf's server_name"),
            (None, Some(first)) => (
                first.parse::<Domain>().ok(),
                if self.bundle.nginx.is_some() {
                    "its first name; nginx.conf has no server_name"
                } else {
                    "its first name"
                },
            ),
            (None, None) => (self.options.domain.clone(), "--domain"),
        };
        let listed = if names.is_empty() {
            "none (clients such as Go ignore the common name)".to_string()
        } else {
            names.join(", ")
        };
        let mut domains: Vec<(Domain, &str)> = domain.iter().map(|d| (d.clone(), source)).collect();
        if let Some(given) = &self.options.domain
            && domain.as_ref() != Some(given)
        {
            domains.push((given.clone(), "--domain"));
        }
        let mut covered = !domains.is_empty();
        for (domain, source) in &domains {
            if covers(&names, domain) {
                self.report.ok(&format!(
                    "the certificate {shown} covers {domain} ({source})"
                ));
            } else {
                covered = false;
                self.report.fail(
                    &format!(
                        "the certificate {shown} does not cover {domain} ({source}); its subject \
                         alternative names are: {listed}"
                    ),
                    &format!("use a certificate for {domain}, or {renew} with --domain {domain}"),
                );
            }
        }
        if domains.is_empty() {
            self.report.fail(
                &format!("the certificate {shown} names no host (no subject alternative name)"),
                &format!("clients refuse it: {renew} with --domain NAME"),
            );
        }
        self.domain = domain;

        // Its dates.
        let now = OffsetDateTime::now_utc();
        let not_before = parsed.validity().not_before.to_datetime();
        let not_after = parsed.validity().not_after.to_datetime();
        let renew_how = if self_signed {
            format!(
                "Renew: run promsetup again with the same flags and --force (it makes a new \
                 certificate and key and keeps the old ones as .bak), then install both and \
                 reload {server}"
            )
        } else {
            format!(
                "Renew it with the authority that issued it ({}), then reload {server}",
                parsed.issuer()
            )
        };
        let days_left = (not_after - now).whole_days();
        // A re-run replaces a self-signed pair this close to expiry (--renew-days, 30 days by
        // default): the warning comes when the fix it names works.
        let warn_days = i64::from(
            self.options
                .renew_days
                .unwrap_or(RenewDays::DEFAULT)
                .get()
                .max(1),
        );
        let mut in_date = true;
        if now < not_before {
            in_date = false;
            self.report.fail(
                &format!(
                    "the certificate {shown} is not valid before {}: clients refuse it",
                    date(not_before)
                ),
                "check this machine's clock, or wait until then",
            );
        } else if now > not_after {
            in_date = false;
            self.report.line(
                Level::Fail,
                &format!(
                    "the certificate {shown} expired on {} ({} days ago): browsers, curl and \
                     Prometheus refuse it",
                    date(not_after),
                    (now - not_after).whole_days()
                ),
                Some(&renew_how),
            );
        } else if days_left < warn_days {
            self.report.warn(
                &format!(
                    "the certificate {shown} expires on {}, in {days_left} days",
                    date(not_after)
                ),
                &renew_how,
            );
        } else {
            self.report.ok(&format!(
                "the certificate {shown} is valid until {} ({days_left} days left)",
                date(not_after)
            ));
        }
        if parsed.is_ca() {
            self.report.warn(
                &format!("the certificate {shown} is a CA certificate (CA:TRUE)"),
                &format!("Firefox refuses a CA certificate as a server's: {renew}"),
            );
        }
        if !self_signed && ders.len() == 1 {
            self.report.warn(
                &format!(
                    "the certificate file {shown} holds only the server's certificate, not the \
                     chain up to its authority"
                ),
                "Clients that lack the intermediate certificates fail: use the full chain file \
                 (fullchain.pem)",
            );
        }
        // The same check `--tls-cert` passes a certificate through, as the last word.
        if let (Some(key), Some(domain), true, true) = (&key_pem, &self.domain, covered, in_date)
            && let Err(Refused(why)) = provided_cert::check_pem(&pem, key, domain, now)
        {
            self.report.fail(
                &format!("the certificate {shown} and its key are refused: {why}"),
                renew,
            );
        }
    }

    pub(super) fn check_nginx(&mut self) {
        self.report.section("nginx");
        let Some(nginx) = &self.bundle.nginx else {
            return;
        };
        if self.bundle.nginx_file != NGINX_CONF_FILE {
            let file = self.bundle.nginx_file;
            if self.host_config_tested {
                self.report.ok(&format!(
                    "{file} is installed and nginx -t passed on the host's whole configuration"
                ));
                return;
            }
            self.report.warn(
                &format!(
                    "{file} is a part of the host's nginx configuration: nginx -t checks the \
                     whole of it, once the file is installed"
                ),
                "After installing the bundle, run: nginx -t",
            );
            return;
        }
        let conf = self.bundle.dir.join(NGINX_CONF_FILE);
        let Some(program) = self.nginx_program.clone() else {
            self.report.warn(
                &format!(
                    "{NGINX_CONF_FILE} not checked with nginx -t: nginx is not installed here"
                ),
                &format!("Run nginx -t -c {} on the server", conf.display()),
            );
            return;
        };
        let not_there: Vec<String> = [&nginx.certificate, &nginx.key]
            .into_iter()
            .flatten()
            .filter(|p| !p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !not_there.is_empty() {
            self.report.warn(
                &format!(
                    "nginx -t not run: {NGINX_CONF_FILE} names {}, which {} not here",
                    not_there.join(" and "),
                    if not_there.len() == 1 { "is" } else { "are" }
                ),
                "Install the bundle as its next steps show, then run verify again",
            );
            return;
        }
        // nginx reads a relative -c against its own prefix (/usr/share/nginx), not the current
        // folder: give it the absolute path.
        let conf = std::fs::canonicalize(&conf).unwrap_or(conf);
        if let Some(refusal) = self.refuse_nginx_test(&conf) {
            self.report.fail(
                &format!("nginx -t not run on {NGINX_CONF_FILE}: {}", refusal.0),
                &refusal.1,
            );
            return;
        }
        let (version, output) = match nginx_test(&program, &conf, nginx.has_pid) {
            Ok(ran) => ran,
            Err(error) => {
                self.report.warn(
                    &format!("nginx -t could not run: {error}"),
                    &format!("Run nginx -t -c {} yourself", conf.display()),
                );
                return;
            }
        };
        let said = String::from_utf8_lossy(&output.stderr).into_owned();
        let version_text = version.map(|v| format!(" {v}")).unwrap_or_default();
        if output.status.success() {
            self.report.ok(&format!(
                "nginx{version_text} accepts {NGINX_CONF_FILE} (nginx -t)"
            ));
            return;
        }
        let problem = said
            .lines()
            .find(|l| l.contains("[emerg]"))
            .or_else(|| said.lines().find(|l| !l.trim().is_empty()))
            .map(nginx_message)
            .unwrap_or_else(|| format!("exit status {}", output.status));
        if problem.contains("Permission denied") && !Uid::effective().is_root() {
            self.report.warn(
                &format!("nginx -t could not read a file as this user: {problem}"),
                "Run verify as root (sudo) for this check",
            );
        } else if problem.contains("unknown directive") || problem.contains("invalid parameter") {
            self.report.fail(
                &format!("nginx{version_text} rejects {NGINX_CONF_FILE}: {problem}"),
                "write the bundle on the server, or give promsetup its versions (--nginx-version, \
                 --openssl-version from nginx -V) and --force",
            );
        } else {
            self.report.fail(
                &format!("nginx{version_text} rejects {NGINX_CONF_FILE}: {problem}"),
                "correct what nginx names, or write the bundle again with promsetup ... --force",
            );
        }
    }

    /// Why `nginx -t` must not run on `conf`, with the fix: nginx runs (as whoever runs
    /// verify, often root) the modules and files the configuration names, so it runs only on a
    /// file that holds what promsetup writes and, as root, that no other user can change.
    fn refuse_nginx_test(&self, conf: &std::path::Path) -> Option<(String, String)> {
        let again = "write the bundle again with promsetup ... --force";
        let text = match read_text(conf, CONFIG_LIMIT) {
            Ok(text) => text,
            Err(why) => return Some((format!("it cannot be read: {why}"), again.into())),
        };
        match foreign_directives(&text) {
            Err(why) => return Some((format!("it cannot be read: {why}"), again.into())),
            Ok(foreign) if !foreign.is_empty() => {
                return Some((
                    format!(
                        "it holds directives promsetup never writes there: {} (nginx -t would \
                         load what they name)",
                        foreign.join(", ")
                    ),
                    format!(
                        "remove them, or {again}; run nginx -t yourself only on a file you trust"
                    ),
                ));
            }
            Ok(_) => {}
        }
        // nginx -t reads the certificate and key itself, without bounds: a FIFO or a device
        // there would hang it.
        let named = self.bundle.nginx.as_ref().map_or_else(Vec::new, |n| {
            [&n.certificate, &n.key]
                .into_iter()
                .flatten()
                .cloned()
                .collect()
        });
        for path in named {
            if let Err(NotRead::Refused(why)) = read_capped(&path, PEM_LIMIT)
                && !why.contains("Permission denied")
            {
                return Some((
                    format!("it names {}, and {why}", path.display()),
                    format!("put the certificate and key files there, or {again}"),
                ));
            }
        }
        if Uid::effective().is_root()
            && let Some(why) = writable_by_others(conf)
        {
            return Some((
                format!("verify runs as root and another user can change {why}"),
                format!(
                    "chown root and chmod go-w that folder or file, or run verify as the user \
                     who owns {}",
                    self.bundle.dir.display()
                ),
            ));
        }
        None
    }

    pub(super) fn check_flags(&mut self) {
        self.report.section("flags");
        if self.bundle.flags.is_none() {
            self.report.warn(
                &format!("the bundle has no {FLAGS_FILE}"),
                "Prometheus must run with --web.external-url=URL and --web.route-prefix=/: write \
                 the bundle again with --force",
            );
            return;
        }
        let Some(external) = self.bundle.flag("--web.external-url").map(str::to_string) else {
            self.report.fail(
                &format!("{FLAGS_FILE} has no --web.external-url: Prometheus's links and redirects leave the prefix"),
                "write the bundle again with promsetup ... --force",
            );
            return;
        };
        self.report
            .ok(&format!("{FLAGS_FILE}: --web.external-url={external}"));
        if self.bundle.nginx.is_some() {
            if let Some(listen) = self.bundle.flag("--web.listen-address")
                && !is_loopback_address(listen)
            {
                let listen = listen.to_string();
                self.report.warn(
                    &format!(
                        "{FLAGS_FILE}: Prometheus listens on {listen}, not on loopback: clients \
                         can walk around nginx and its password"
                    ),
                    "Use --upstream 127.0.0.1:PORT",
                );
            }
            if let Some(prefix) = self.bundle.flag("--web.route-prefix")
                && prefix != "/"
            {
                let prefix = prefix.to_string();
                self.report.warn(
                    &format!(
                        "{FLAGS_FILE}: --web.route-prefix={prefix}, but nginx strips the prefix"
                    ),
                    "Use --web.route-prefix=/",
                );
            }
        }
    }

    /// Secrets readable only by their owner (and the group that must read them).
    pub(super) fn check_modes(&mut self) {
        self.report.section("modes");
        let dir = self.bundle.dir.clone();
        let mut files: Vec<(PathBuf, bool)> = Vec::new(); // (path, owner only)
        let key = self
            .bundle
            .nginx
            .as_ref()
            .and_then(|n| n.key.clone())
            .or_else(|| self.bundle.web.as_ref().and_then(|w| w.key.clone()));
        if let Some(key) = key {
            files.push((dir.join(file_name(&key)), true));
            files.push((key, true));
        }
        if let Some(user_file) = self.bundle.nginx.as_ref().and_then(|n| n.user_file.clone()) {
            files.push((dir.join(file_name(&user_file)), false));
            files.push((user_file, false));
        }
        files.push((dir.join(HTPASSWD_FILE), false));
        files.push((dir.join(WEB_CONFIG_FILE), false));
        if let Some(web) = self.bundle.flag("--web.config.file") {
            files.push((PathBuf::from(web), false));
        }
        files.push((dir.join(SELF_SCRAPE_PASSWORD_FILE), true));
        files.push((dir.join(PASSWORD_FILE), true));

        let mut checked: Vec<PathBuf> = Vec::new();
        let mut fine = Vec::new();
        for (path, owner_only) in files {
            let Ok(link) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if checked.iter().any(|c| same_path(c, &path)) {
                continue;
            }
            checked.push(path.clone());
            // A link's own mode means nothing (certbot's live/ files are links into archive/):
            // the target's mode is what counts, and the fix must name the target.
            let (meta, shown, path) = if link.file_type().is_symlink() {
                let shown_link = self.bundle.show(&path);
                match (std::fs::metadata(&path), std::fs::canonicalize(&path)) {
                    (Ok(meta), Ok(target)) => {
                        let shown = format!("{shown_link} (a link to {})", target.display());
                        (meta, shown, target)
                    }
                    _ => {
                        self.report.fail(
                            &format!("{shown_link} is a symbolic link to nothing"),
                            &format!("point it at the file, or replace it: {}", path.display()),
                        );
                        continue;
                    }
                }
            } else {
                (link, self.bundle.show(&path), path)
            };
            let mode = meta.mode() & 0o7777;
            if mode & 0o004 != 0 {
                self.report.fail(
                    &format!(
                        "{shown} is readable by every user on this host (mode {mode:04o}): {}",
                        if owner_only {
                            "it is a secret"
                        } else {
                            "anyone can copy the hashes and guess passwords offline"
                        }
                    ),
                    &format!(
                        "chmod {} {}",
                        if owner_only { "0600" } else { "0640" },
                        path.display()
                    ),
                );
            } else if mode & 0o022 != 0 {
                self.report.fail(
                    &format!("{shown} can be changed by others (mode {mode:04o})"),
                    &format!(
                        "chmod {} {}",
                        if owner_only { "0600" } else { "0640" },
                        path.display()
                    ),
                );
            } else if owner_only && mode & 0o040 != 0 {
                self.report.warn(
                    &format!(
                        "{shown} is readable by its group {} (mode {mode:04o})",
                        group_name(Gid::from_raw(meta.gid()))
                    ),
                    &format!(
                        "Unless that group must read it: chmod 0600 {}",
                        path.display()
                    ),
                );
            } else {
                fine.push(format!("{shown} {mode:04o}"));
            }
        }
        if !fine.is_empty() {
            self.report.ok(&format!(
                "secret files are not readable by others: {}",
                fine.join(", ")
            ));
        }
    }
}

/// Whether a SAN names the domain: the address for an IP; for a DNS name the name itself or a
/// wildcard standing for exactly its first label (RFC 6125), as `provided_cert` checks.
pub(super) fn covers(names: &[String], domain: &Domain) -> bool {
    names.iter().any(|name| match domain {
        Domain::Ip(ip) => name.parse::<IpAddr>().ok() == Some(*ip),
        Domain::Dns(host) => provided_cert::dns_name_covers(name, host),
    })
}

pub(super) fn is_loopback_address(listen: &str) -> bool {
    let host = listen.rsplit_once(':').map_or(listen, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_follows_the_san_rules() {
        let names = vec!["*.example.com".to_string(), "192.0.2.1".to_string()];
        assert!(covers(&names, &"prom.example.com".parse().unwrap()));
        assert!(!covers(&names, &"a.b.example.com".parse().unwrap()));
        assert!(!covers(&names, &"example.com".parse().unwrap()));
        assert!(covers(&names, &"192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn loopback_listen_addresses_are_recognised() {
        assert!(is_loopback_address("127.0.0.1:9090"));
        assert!(is_loopback_address("[::1]:9090"));
        assert!(is_loopback_address("localhost:9090"));
        assert!(!is_loopback_address("0.0.0.0:9090"));
        assert!(!is_loopback_address(":9090"));
    }
}

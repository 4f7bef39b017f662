//! `promsetup verify [DIR] [--url URL] [--format json]`: checks a bundle folder, and with
//! `--url` the service deployed from it, printing one line per check: `ok`, `warning` or
//! `FAIL`, with the reason and what to do (or, with `--format json`, one document).
//!
//! It owns the checks and their wording. Offline: the files the bundle has and their modes, the
//! key against the certificate, the names and dates the certificate covers, the users and hash
//! formats of `.htpasswd` and `web.yml`, the files `nginx.conf` names, `nginx -t` and `promtool
//! check web-config`. Online: the reference guides' "Testing" section done for the user (401 with
//! the realm without a password, metrics and the API with it, redirects inside the prefix), over
//! TLS that trusts the bundle's certificate and nothing else, plus what a user meets: the flags
//! Prometheus runs with, the UI's assets, and Prometheus's port past nginx. It must not write,
//! change or fix anything: it reads files (bounded, `safe_read`), runs `nginx -t` (only on a
//! configuration promsetup's template could have written; its pid file pointed at /dev/null, its
//! log at its own stderr) and `promtool` by absolute path with a clean environment, asks the
//! system's crypt library, and sends GET requests. Every fix it names is for the user to run.
//!
//! The files, by what they check (each imports this file, none imports another's checks):
//! `findings` prints and counts; `bundle` (files, certificate, nginx -t, flags, modes) and
//! `users` (password files, hashes, promtool) check offline; `online` and `service` check the
//! running service through `http`; `nginx_conf` and `web_config` read the configurations;
//! `safe_read`, `hashes` and `access` bound the reads, the hashing and answer questions about
//! paths and accounts.

mod access;
mod bundle;
mod findings;
mod hashes;
mod http;
mod nginx_conf;
mod online;
mod safe_read;
mod service;
mod users;
mod web_config;

use std::path::{Path, PathBuf};

use crate::bundle::layout::{
    FLAGS_FILE, INSTALL_PLAN_FILE, NGINX_CONF_FILE, NGINX_SITE_FILE, NGINX_SNIPPET_HTTP_FILE,
    NGINX_SNIPPET_LOCATIONS_FILE, WEB_CONFIG_FILE,
};
use crate::console::Streams;
use crate::error::{Failure, Outcome};
use crate::host::secret_input::{self as secret};
use crate::model::given::Given;
use crate::model::password::Password;
use crate::model::request::{ReportFormat, VerifyRequest};
use crate::model::setup::DEFAULT_OUT_DIR;
use crate::model::values::Domain;
use access::{find_program, same_path};
use findings::Report;
use http::Target;
use nginx_conf::NginxConf;
use safe_read::{CONFIG_LIMIT, NotRead, read_text};
use web_config::WebConfig;

/// Checks the bundle in `DIR` (else `--out`, else `./promsetup-bundle`) and, with `--url`, the
/// service at that URL. Every finding is printed as it is made; the result is `Failure::Verify`
/// when one of them is a FAIL, `Failure::Usage` when there is no bundle or the URL is unusable.
pub fn run(request: VerifyRequest, streams: Streams) -> Result<Outcome, Failure> {
    let dir = request
        .bundle
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR));
    let password = secret::given(request.bundle.password.as_ref(), streams.stdin)?
        .map(|obtained| obtained.password);
    let json = request.bundle.show.format == ReportFormat::Json;
    check(&request, &dir, password, None, false, json, streams.out).map(|()| Outcome::Done)
}

/// Every check of the bundle in `dir` and of the service deployed from it at `url`, as
/// `verify DIR --url URL [--connect ADDRESS] --format json` with the password given: what
/// `promsetup apply` runs after putting a bundle in place. `trust`: the certificates clients see
/// when they are not the bundle's (a snippet served by the host's own server). The document goes
/// to `out`.
pub fn check_deployed(
    dir: &Path,
    url: &str,
    connect: Option<std::net::SocketAddr>,
    password: Option<Password>,
    trust: Option<Vec<u8>>,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let request = VerifyRequest {
        bundle: crate::model::request::BundleOptions {
            dir: Some(dir.to_path_buf()),
            password: None,
            non_interactive: true,
            show: crate::model::request::Show {
                check: false,
                diff: false,
                format: ReportFormat::Json,
            },
        },
        url: Some(url.to_string()),
        allow_cleartext_password: false,
        connect: connect.map(|address| crate::model::values::ConnectAddress {
            ip: address.ip(),
            port: Some(address.port()),
        }),
        flags: Given::default(),
    };
    check(&request, dir, password, trust, true, true, out)
}

fn check(
    request: &VerifyRequest,
    dir: &Path,
    password: Option<Password>,
    trust: Option<Vec<u8>>,
    host_config_tested: bool,
    json: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    let bundle = Bundle::load(dir)?;
    let target = request.url.as_deref().map(Target::parse).transpose()?;
    let connect = request
        .connect
        .zip(target.as_ref())
        .map(|(connect, target)| {
            std::net::SocketAddr::new(connect.ip, connect.port.unwrap_or(target.port))
        });
    let mut verifier = Verifier {
        report: Report::new(out, json),
        allow_cleartext: request.allow_cleartext_password,
        options: &request.flags,
        bundle,
        password,
        certificate_pem: None,
        domain: None,
        users: Vec::new(),
        username: None,
        nginx_program: find_program("nginx"),
        connect,
        host_config_tested,
    };
    verifier.offline();
    if trust.is_some() {
        verifier.certificate_pem = trust;
    }
    match &target {
        Some(target) => verifier.online(target),
        None => verifier.report.note(&format!(
            "Online checks not run: add --url with the external URL{}.",
            verifier
                .bundle
                .flag("--web.external-url")
                .map(|url| format!(" ({url}, from {FLAGS_FILE})"))
                .unwrap_or_default()
        )),
    }
    verifier
        .report
        .finish(&verifier.bundle.dir, target.as_ref().map(Target::base))
}

// ---------------------------------------------------------------------------------------------
// The bundle's files, as read

/// The host's main nginx.conf a site or snippet bundle goes into: in the configuration folder
/// its install plan names, else the one of its password file.
fn host_main_conf(dir: &Path, conf: &NginxConf) -> PathBuf {
    let recorded = read_text(&dir.join(INSTALL_PLAN_FILE), CONFIG_LIMIT)
        .ok()
        .and_then(|text| crate::bundle::install::read_record(&text).ok())
        .and_then(|recorded| recorded.nginx_conf_dir);
    let conf_dir = recorded.map(PathBuf::from).or_else(|| {
        conf.user_file
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
    });
    conf_dir
        .unwrap_or_else(|| PathBuf::from("/etc/nginx"))
        .join(NGINX_CONF_FILE)
}

/// What the bundle folder holds: its configuration files, parsed.
struct Bundle {
    dir: PathBuf,
    nginx: Option<NginxConf>,
    /// The nginx file the bundle has: nginx.conf (`--nginx-layout full`), the site file, or the
    /// snippet's locations.
    nginx_file: &'static str,
    /// Set when the nginx file is there but cannot be parsed; nginx -t says more.
    nginx_unreadable: Option<String>,
    /// web.yml or prometheus.flags there but not read (not UTF-8, not a regular file, too big).
    unreadable: Vec<String>,
    web: Option<WebConfig>,
    flags: Option<Vec<String>>,
}

impl Bundle {
    fn load(dir: &Path) -> Result<Bundle, Failure> {
        let usage = |why: String| {
            Failure::Usage(format!(
                "{why}. Give the folder promsetup wrote the bundle to: promsetup verify DIR \
                 (or --out DIR, as when it was written)"
            ))
        };
        let meta = std::fs::metadata(dir).map_err(|error| {
            usage(if error.kind() == std::io::ErrorKind::NotFound {
                format!("there is no bundle folder at {}", dir.display())
            } else {
                format!("cannot open the bundle folder {}: {error}", dir.display())
            })
        })?;
        if !meta.is_dir() {
            return Err(usage(format!("{} is not a folder", dir.display())));
        }
        std::fs::read_dir(dir).map_err(|error| {
            usage(format!(
                "cannot read the bundle folder {}: {error}",
                dir.display()
            ))
        })?;
        // None: not there; Some(Err): there, but not read (the checks say why).
        let read = |name: &str| match read_text(&dir.join(name), CONFIG_LIMIT) {
            Err(NotRead::Missing) => None,
            Err(why) => Some(Err(why.to_string())),
            Ok(text) => Some(Ok(text)),
        };
        // A site file holds what goes inside `http`, a snippet what goes inside a `server`
        // (and its http part): read each within the blocks it is included in.
        let (nginx_file, text) = match (
            read(NGINX_CONF_FILE),
            read(NGINX_SITE_FILE),
            read(NGINX_SNIPPET_LOCATIONS_FILE),
        ) {
            (Some(text), _, _) => (NGINX_CONF_FILE, Some(text)),
            (None, Some(text), _) => (
                NGINX_SITE_FILE,
                Some(text.map(|site| format!("http {{\n{site}\n}}\n"))),
            ),
            (None, None, Some(text)) => {
                let http = read(NGINX_SNIPPET_HTTP_FILE).and_then(Result::ok);
                (
                    NGINX_SNIPPET_LOCATIONS_FILE,
                    Some(text.map(|locations| {
                        format!(
                            "http {{\n{}\nserver {{\n{locations}\n}}\n}}\n",
                            http.unwrap_or_default()
                        )
                    })),
                )
            }
            (None, None, None) => (NGINX_CONF_FILE, None),
        };
        let (nginx, nginx_unreadable) = match text {
            None => (None, None),
            Some(Err(why)) => (Some(NginxConf::default()), Some(why)),
            Some(Ok(text)) => match NginxConf::parse(&text, dir) {
                Ok(mut conf) => {
                    if nginx_file != NGINX_CONF_FILE {
                        conf.take_workers_from(&host_main_conf(dir, &conf));
                    }
                    (Some(conf), None)
                }
                Err(why) => (Some(NginxConf::default()), Some(why)),
            },
        };
        let mut unreadable = Vec::new();
        let web = match read(WEB_CONFIG_FILE) {
            None => None,
            Some(Err(why)) => {
                unreadable.push(format!("{WEB_CONFIG_FILE} cannot be read: {why}"));
                Some(WebConfig::default())
            }
            Some(Ok(text)) => Some(WebConfig::parse(&text, dir)),
        };
        let flags = match read(FLAGS_FILE) {
            None => None,
            Some(Err(why)) => {
                unreadable.push(format!("{FLAGS_FILE} cannot be read: {why}"));
                Some(Vec::new())
            }
            Some(Ok(text)) => Some(
                text.lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty() && !line.starts_with('#'))
                    .map(str::to_string)
                    .collect(),
            ),
        };
        if nginx.is_none() && web.is_none() && flags.is_none() {
            return Err(usage(format!(
                "{} holds none of a bundle's files ({NGINX_CONF_FILE}, {WEB_CONFIG_FILE}, \
                 {FLAGS_FILE})",
                dir.display()
            )));
        }
        Ok(Bundle {
            dir: dir.to_path_buf(),
            nginx,
            nginx_file,
            nginx_unreadable,
            unreadable,
            web,
            flags,
        })
    }

    /// The value of `--name=value` in prometheus.flags.
    fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .flatten()
            .find_map(|flag| flag.strip_prefix(name)?.strip_prefix('='))
    }

    fn checker(&self) -> Checker {
        match (&self.nginx, &self.web) {
            (Some(nginx), _) if nginx.realm.is_some() => Checker::Nginx,
            (Some(_), Some(_)) => Checker::PrometheusBehindNginx,
            (None, Some(_)) => Checker::PrometheusAlone,
            _ => Checker::Nobody,
        }
    }

    /// The file's name as shown: bundle files by name, others by full path.
    fn show(&self, path: &Path) -> String {
        match path.parent() {
            Some(parent) if same_path(parent, &self.dir) => path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into(),
            ),
            _ => path.display().to_string(),
        }
    }
}

/// Who checks the password.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Checker {
    /// nginx, from `.htpasswd` (`auth_basic`).
    Nginx,
    /// Prometheus, from web.yml, with nginx in front for TLS and the prefix.
    PrometheusBehindNginx,
    /// Prometheus alone, with its own TLS and basic auth.
    PrometheusAlone,
    /// Nobody: neither `auth_basic` in nginx.conf nor a web.yml.
    Nobody,
}

// ---------------------------------------------------------------------------------------------
// The checks

struct Verifier<'a, 'o> {
    report: Report<'o>,
    options: &'a Given,
    bundle: Bundle,
    password: Option<Password>,
    /// The certificate clients must see, for the online TLS check.
    certificate_pem: Option<Vec<u8>>,
    domain: Option<Domain>,
    /// The users the password file (or web.yml) has, in order.
    users: Vec<String>,
    /// Who the online checks sign in as.
    username: Option<String>,
    nginx_program: Option<PathBuf>,
    /// `--allow-cleartext-password`: send the password to an http:// URL of a TLS bundle.
    allow_cleartext: bool,
    /// `--connect`: the address the online checks connect to instead of the URL's host's.
    connect: Option<std::net::SocketAddr>,
    /// The bundle is installed and `nginx -t` passed on the host's whole configuration (apply).
    host_config_tested: bool,
}

/// A file the server reads: the bundle's copy, and the path the configuration names for it
/// (which is the bundle's copy when `--conf-dir` was the bundle folder).
struct Placed<'p> {
    /// "the certificate", "the key", ...
    what: &'p str,
    bundle: PathBuf,
    configured: Option<PathBuf>,
    /// Which configuration names it: "nginx.conf", "web.yml", "prometheus.flags".
    named_by: &'p str,
    /// What goes wrong without it.
    if_missing: &'p str,
    /// How to make it.
    remedy: &'p str,
}

impl Verifier<'_, '_> {
    fn offline(&mut self) {
        self.report.note(&format!(
            "Checking the bundle in {}",
            self.bundle.dir.display()
        ));
        self.check_shape();
        self.check_tls();
        self.check_htpasswd();
        self.check_web_config();
        self.check_nginx();
        self.check_flags();
        self.check_modes();
        self.check_leftovers();
    }

    /// What interrupted runs left (temporaries, which may be copies of a key; an unfinished
    /// journal): the next command that takes the folder's lock removes or finishes them.
    fn check_leftovers(&mut self) {
        self.report.section("leftovers");
        let found = crate::write::leftovers(&self.bundle.dir);
        if found.is_empty() {
            self.report
                .ok("no temporaries or unfinished run left in the folder");
            return;
        }
        let names: Vec<String> = found
            .iter()
            .map(|path| {
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        self.report.warn(
            &format!(
                "an interrupted run left {} in the folder: {}",
                if found.len() == 1 { "a file" } else { "files" },
                names.join(", ")
            ),
            "The next promsetup run or `promsetup user` command in this folder finishes or \
             removes them (temporaries may hold a copy of the key: do not copy the folder before)",
        );
    }
}

//! `promsetup verify [DIR] [--url URL]`: checks a bundle folder, and with `--url` the service
//! deployed from it, printing one line per check: `ok`, `warning` or `FAIL`, with the reason and
//! what to do.
//!
//! It owns the checks and their wording. Offline: the files the bundle has and their modes, the
//! key against the certificate, the names and dates the certificate covers, the users and hash
//! formats of `.htpasswd` and `web.yml`, the files `nginx.conf` names, `nginx -t` and `promtool
//! check web-config`. Online: the reference guides' "Testing" section done for the user (401 with
//! the realm without a password, metrics and the API with it, redirects inside the prefix), over
//! TLS that trusts the bundle's certificate and nothing else. It must not write, change or fix
//! anything: it reads files, runs `nginx -t` (its pid file pointed at /dev/null, its log at its
//! own stderr), `promtool`, asks the system's crypt library, and sends GET requests. Every
//! fix it names is for the user to run.

use std::io::Write;
use std::net::{IpAddr, ToSocketAddrs};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use ::time::OffsetDateTime;
use base64::Engine as _;
use nix::unistd::{Gid, Group, Uid, User};
use x509_parser::prelude::*;
use zeroize::Zeroizing;

use crate::bundle::cert::provided::{self as provided_cert, Refused};
use crate::bundle::credentials::{Kind, Scheme, UserLines};
use crate::bundle::layout::{
    FLAGS_FILE, HTPASSWD_FILE, NGINX_CONF_FILE, PASSWORD_FILE, SELF_SCRAPE_PASSWORD_FILE,
    SELF_SCRAPE_USER, WEB_CONFIG_FILE,
};
use crate::console::Streams;
use crate::error::{Failure, Outcome};
use crate::host::nginx as nginx_target;
use crate::host::secret_input::{self as secret};
use crate::model::given::Given;
use crate::model::password::{Password, PasswordSource};
use crate::model::request::VerifyRequest;
use crate::model::setup::{DEFAULT_OUT_DIR, DEFAULT_PROMETHEUS_ACCOUNT};
use crate::model::values::{Domain, RenewDays, Version};

/// Each request of the online checks, connection and TLS handshake included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Prometheus's own metrics are a few hundred kilobytes.
const BODY_LIMIT: u64 = 32 * 1024 * 1024;
/// How many redirects the online check follows from the external URL before giving up.
const MAX_REDIRECTS: usize = 5;
/// From this bcrypt cost on, nginx (which hashes on every request) slows down noticeably.
const SLOW_NGINX_BCRYPT_COST: u32 = 10;
/// `nginx -e` exists from 1.19.5 on.
const NGINX_WITH_ERROR_LOG_FLAG: Version = Version(1, 19, 5);
/// Where Debian and Red Hat put nginx, which a non-root PATH may lack.
const SBIN_DIRS: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// Checks the bundle in `DIR` (else `--out`, else `./promsetup-bundle`) and, with `--url`, the
/// service at that URL. Every finding is printed as it is made; the result is `Failure::Verify`
/// when one of them is a FAIL, `Failure::Usage` when there is no bundle or the URL is unusable.
pub fn run(request: VerifyRequest, streams: Streams) -> Result<Outcome, Failure> {
    let dir = request
        .bundle
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR));
    let bundle = Bundle::load(&dir)?;
    let target = request.url.as_deref().map(Target::parse).transpose()?;

    let environment = secret::from_environment()?;
    let source = request
        .bundle
        .password
        .clone()
        .or_else(|| environment.is_some().then_some(PasswordSource::Environment));
    let password = match source {
        Some(source) => Some(secret::obtain(&source, streams.stdin, environment)?.password),
        None => None,
    };

    let mut verifier = Verifier {
        report: Report::new(streams.out),
        options: &request.flags,
        bundle,
        password,
        certificate_pem: None,
        domain: None,
        users: Vec::new(),
        username: None,
        nginx_program: find_program("nginx"),
    };
    verifier.offline();
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
        .finish(&verifier.bundle.dir, target.as_ref())
        .map(|()| Outcome::Done)
}

// ---------------------------------------------------------------------------------------------
// Output

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok = 0,
    Warning = 1,
    Fail = 2,
}

/// Prints findings as they are made, one line each, and counts them.
struct Report<'a> {
    out: &'a mut dyn Write,
    counts: [usize; 3],
    output_error: Option<std::io::Error>,
}

impl<'a> Report<'a> {
    fn new(out: &'a mut dyn Write) -> Report<'a> {
        Report {
            out,
            counts: [0; 3],
            output_error: None,
        }
    }

    fn line(&mut self, level: Level, text: &str, fix: Option<&str>) {
        self.counts[level as usize] += 1;
        let label = match level {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Fail => "FAIL",
        };
        let written = match fix {
            Some(fix) => writeln!(self.out, "{label:<9}{text}. {fix}"),
            None => writeln!(self.out, "{label:<9}{text}"),
        };
        self.keep_error(written);
    }

    fn ok(&mut self, text: &str) {
        self.line(Level::Ok, text, None);
    }

    /// A warning; `advice` is a whole sentence ("Install it: ...").
    fn warn(&mut self, text: &str, advice: &str) {
        self.line(Level::Warning, text, Some(advice));
    }

    /// A fault; `fix` says what to do, after "Fix:".
    fn fail(&mut self, text: &str, fix: &str) {
        self.line(Level::Fail, text, Some(&format!("Fix: {fix}")));
    }

    /// A line that is not a check.
    fn note(&mut self, text: &str) {
        let written = writeln!(self.out, "{text}");
        self.keep_error(written);
    }

    /// Keeps the first output error, returned by `finish`: the checks go on (they change
    /// nothing), and the command ends with the error instead of its findings.
    fn keep_error(&mut self, written: std::io::Result<()>) {
        if let (Err(error), None) = (written, &self.output_error) {
            self.output_error = Some(error);
        }
    }

    fn finish(self, dir: &Path, target: Option<&Target>) -> Result<(), Failure> {
        let [ok, warnings, failures] = self.counts;
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        if let Some(error) = self.output_error {
            return Err(Failure::Output(error));
        }
        writeln!(
            self.out,
            "\n{ok} ok, {}, {failures} FAIL",
            plural(warnings, "warning")
        )?;
        if failures == 0 {
            return Ok(());
        }
        Err(Failure::Verify(format!(
            "{} failed in the bundle {}{}: each FAIL line above says why and what to do",
            plural(failures, "check"),
            dir.display(),
            target
                .map(|t| format!(" and at {}", t.base()))
                .unwrap_or_default()
        )))
    }
}

fn date(moment: OffsetDateTime) -> String {
    format!(
        "{} {:02}:{:02} UTC",
        moment.date(),
        moment.hour(),
        moment.minute()
    )
}

// ---------------------------------------------------------------------------------------------
// The bundle's files, as read

/// What the bundle folder holds: its configuration files, parsed.
struct Bundle {
    dir: PathBuf,
    nginx: Option<NginxConf>,
    /// Set when nginx.conf is there but cannot be parsed; nginx -t says more.
    nginx_unreadable: Option<String>,
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
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let (nginx, nginx_unreadable) = match read(NGINX_CONF_FILE) {
            None => (None, None),
            Some(text) => match NginxConf::parse(&text, dir) {
                Ok(conf) => (Some(conf), None),
                Err(why) => (Some(NginxConf::default()), Some(why)),
            },
        };
        let web = read(WEB_CONFIG_FILE).map(|text| WebConfig::parse(&text, dir));
        let flags = read(FLAGS_FILE).map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_string)
                .collect()
        });
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
            nginx_unreadable,
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

/// One directive of an nginx configuration, with its block if it has one.
#[derive(Debug)]
struct Directive {
    name: String,
    args: Vec<String>,
    block: Vec<Directive>,
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Semicolon,
    Open,
    Close,
}

/// Splits nginx's configuration syntax into words (quotes and escapes resolved), `;`, `{` and
/// `}`, each with its line. `#` starts a comment where a word could start.
fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => {
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            ';' => tokens.push((Token::Semicolon, line)),
            '{' => tokens.push((Token::Open, line)),
            '}' => tokens.push((Token::Close, line)),
            '"' | '\'' => {
                let start = line;
                let mut word = String::new();
                loop {
                    match chars.next() {
                        None => return Err(format!("line {start}: a quoted string is not closed")),
                        Some('\\') => match chars.next() {
                            Some(escaped) if escaped == c || escaped == '\\' => word.push(escaped),
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => {}
                        },
                        Some(end) if end == c => break,
                        Some(other) => {
                            if other == '\n' {
                                line += 1;
                            }
                            word.push(other);
                        }
                    }
                }
                tokens.push((Token::Word(word), start));
            }
            first => {
                let mut word = String::from(first);
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || matches!(next, ';' | '{' | '}') {
                        break;
                    }
                    chars.next();
                    if next == '\\' {
                        if let Some(escaped) = chars.next() {
                            word.push(escaped);
                        }
                    } else {
                        word.push(next);
                    }
                }
                tokens.push((Token::Word(word), line));
            }
        }
    }
    Ok(tokens)
}

fn parse_directives(
    tokens: &[(Token, usize)],
    pos: &mut usize,
    nested: bool,
) -> Result<Vec<Directive>, String> {
    let mut list = Vec::new();
    loop {
        let Some((token, line)) = tokens.get(*pos) else {
            return if nested {
                Err("a block is not closed (a } is missing)".into())
            } else {
                Ok(list)
            };
        };
        *pos += 1;
        let name = match token {
            Token::Word(name) => name.clone(),
            Token::Close if nested => return Ok(list),
            _ => return Err(format!("line {line}: unexpected ;, {{ or }}")),
        };
        let mut args = Vec::new();
        loop {
            let Some((token, line)) = tokens.get(*pos) else {
                return Err(format!(
                    "line {line}: \"{name}\" does not end with ; or a block"
                ));
            };
            *pos += 1;
            match token {
                Token::Word(word) => args.push(word.clone()),
                Token::Semicolon => {
                    list.push(Directive {
                        name,
                        args,
                        block: Vec::new(),
                    });
                    break;
                }
                Token::Open => {
                    let block = parse_directives(tokens, pos, true)?;
                    list.push(Directive { name, args, block });
                    break;
                }
                Token::Close => {
                    return Err(format!("line {line}: \"{name}\" does not end with ;"));
                }
            }
        }
    }
}

/// What verify needs from nginx.conf: the server that proxies to Prometheus, its TLS files, its
/// password file and realm, and the worker account.
#[derive(Debug, Default)]
struct NginxConf {
    worker_user: Option<String>,
    /// The group named by `user USER GROUP;`.
    worker_group: Option<String>,
    has_pid: bool,
    server_name: Option<String>,
    certificate: Option<PathBuf>,
    key: Option<PathBuf>,
    /// The prefix location, `/prometheus/` (`/` for the whole host).
    location: Option<String>,
    /// `auth_basic`'s realm, when it is on.
    realm: Option<String>,
    user_file: Option<PathBuf>,
    /// Where `proxy_pass` sends requests: `127.0.0.1:9090`.
    upstream: Option<String>,
}

impl NginxConf {
    /// Relative paths are resolved against `conf_dir`, as nginx resolves them against the folder
    /// of the file given to `-c`.
    fn parse(text: &str, conf_dir: &Path) -> Result<NginxConf, String> {
        let tokens = tokenize(text)?;
        let top = parse_directives(&tokens, &mut 0, false)?;
        let find = |list: &'_ [Directive], name: &str| -> Option<Directive> {
            list.iter().find(|d| d.name == name).map(|d| Directive {
                name: d.name.clone(),
                args: d.args.clone(),
                block: Vec::new(),
            })
        };
        let path = |value: &str| {
            let path = PathBuf::from(value);
            if path.is_absolute() {
                path
            } else {
                conf_dir.join(path)
            }
        };
        let user = find(&top, "user");
        let http: Vec<&Directive> = top
            .iter()
            .filter(|d| d.name == "http")
            .flat_map(|d| d.block.iter())
            .collect();
        let servers: Vec<&Directive> = http
            .iter()
            .copied()
            .filter(|d| d.name == "server")
            .collect();
        let server = servers
            .iter()
            .find(|s| proxied_location(s).is_some())
            .or_else(|| {
                servers
                    .iter()
                    .find(|s| s.block.iter().any(|d| d.name == "ssl_certificate"))
            })
            .or(servers.first());
        let location = server.and_then(|s| proxied_location(s));
        let http_level: Vec<Directive> = http
            .iter()
            .filter(|d| d.block.is_empty())
            .map(|d| Directive {
                name: d.name.clone(),
                args: d.args.clone(),
                block: Vec::new(),
            })
            .collect();
        // The innermost level that sets a directive wins, as in nginx.
        let inherited = |name: &str| -> Option<String> {
            let levels: [&[Directive]; 3] = [
                location.map_or(&[][..], |l| &l.block[..]),
                server.map_or(&[][..], |s| &s.block[..]),
                &http_level[..],
            ];
            levels
                .iter()
                .find_map(|level| level.iter().find(|d| d.name == name))
                .and_then(|d| d.args.first().cloned())
        };
        let in_server = |name: &str| -> Option<String> {
            server
                .and_then(|s| s.block.iter().find(|d| d.name == name))
                .or_else(|| http_level.iter().find(|d| d.name == name))
                .and_then(|d| d.args.first().cloned())
        };
        Ok(NginxConf {
            worker_user: user.as_ref().and_then(|d| d.args.first().cloned()),
            worker_group: user.as_ref().and_then(|d| d.args.get(1).cloned()),
            has_pid: find(&top, "pid").is_some(),
            server_name: server.and_then(|s| {
                s.block
                    .iter()
                    .filter(|d| d.name == "server_name")
                    .flat_map(|d| d.args.iter())
                    .find(|name| {
                        !name.is_empty() && *name != "_" && !name.contains(['*', '~', '$'])
                    })
                    .cloned()
            }),
            certificate: in_server("ssl_certificate").map(|p| path(&p)),
            key: in_server("ssl_certificate_key").map(|p| path(&p)),
            location: location.and_then(|l| l.args.first().cloned()),
            realm: inherited("auth_basic").filter(|realm| realm != "off"),
            user_file: inherited("auth_basic_user_file").map(|p| path(&p)),
            upstream: location
                .and_then(|l| l.block.iter().find(|d| d.name == "proxy_pass"))
                .and_then(|d| d.args.first())
                .map(|url| {
                    let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
                    let host = rest.split('/').next().unwrap_or(rest);
                    // An `upstream NAME { server ADDRESS; keepalive ...; }` block: its server.
                    http.iter()
                        .find(|d| d.name == "upstream" && d.args.first().is_some_and(|n| n == host))
                        .and_then(|u| u.block.iter().find(|d| d.name == "server"))
                        .and_then(|d| d.args.first().cloned())
                        .unwrap_or_else(|| host.to_string())
                }),
        })
    }
}

/// The server's location that proxies to Prometheus: a prefix match with `proxy_pass`.
fn proxied_location(server: &Directive) -> Option<&Directive> {
    server.block.iter().find(|d| {
        d.name == "location"
            && d.args.len() == 1
            && d.block.iter().any(|inner| inner.name == "proxy_pass")
    })
}

/// What verify needs from web.yml besides its users (which `credentials` reads): the TLS
/// files. A line reader for the shape promsetup writes; `promtool check web-config` checks the
/// YAML itself.
#[derive(Debug, Default)]
struct WebConfig {
    certificate: Option<PathBuf>,
    key: Option<PathBuf>,
}

impl WebConfig {
    /// Relative paths resolve against the file's folder, as Prometheus resolves them.
    fn parse(text: &str, dir: &Path) -> WebConfig {
        let mut web = WebConfig::default();
        let mut section = String::new();
        for line in text.lines() {
            let content = line.trim_end();
            if content.trim().is_empty() || content.trim_start().starts_with('#') {
                continue;
            }
            let Some((key, value)) = yaml_pair(content.trim()) else {
                continue;
            };
            if !content.starts_with([' ', '\t']) {
                section = key;
                continue;
            }
            let path = |value: &str| {
                let path = PathBuf::from(value);
                if path.is_absolute() {
                    path
                } else {
                    dir.join(path)
                }
            };
            match (section.as_str(), key.as_str()) {
                ("tls_server_config", "cert_file") => web.certificate = Some(path(&value)),
                ("tls_server_config", "key_file") => web.key = Some(path(&value)),
                _ => {}
            }
        }
        web
    }
}

/// `key: value` with either side optionally quoted.
fn yaml_pair(line: &str) -> Option<(String, String)> {
    let (key, rest) = if let Some(quote @ ('"' | '\'')) = line.chars().next() {
        let end = line[1..].find(quote)? + 1;
        (line[1..end].to_string(), line[end + 1..].trim_start())
    } else {
        let colon = line.find(':')?;
        (line[..colon].trim().to_string(), &line[colon..])
    };
    let value = rest.strip_prefix(':')?.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    Some((key, value.to_string()))
}

/// A user file's users as `(line, user, hash)`, read by `credentials` as nginx or Prometheus
/// reads them.
type Users = Vec<(usize, String, String)>;

/// The users of a user file, and the numbers of the `.htpasswd` lines that are neither a user,
/// blank, nor a comment.
fn read_users(kind: Kind, bytes: Vec<u8>) -> Result<(Users, Vec<usize>), String> {
    let lines = UserLines::parse(kind, bytes)?;
    let mut users = Vec::new();
    let mut bad = Vec::new();
    for (index, line) in lines.lines.iter().enumerate() {
        let text = String::from_utf8_lossy(&lines.bytes[line.span.clone()]);
        let text = text.trim();
        match &line.entry {
            Some(entry) if !entry.hash.is_empty() => users.push((
                index + 1,
                entry.name.clone(),
                String::from_utf8_lossy(lines.hash_of(entry)).into_owned(),
            )),
            // web.yml holds more than users; only .htpasswd lines must all be users.
            None if kind == Kind::WebConfig || text.is_empty() || text.starts_with('#') => {}
            _ => bad.push(index + 1),
        }
    }
    Ok((users, bad))
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
    }

    fn check_shape(&mut self) {
        let bundle = &self.bundle;
        if let Some(why) = &bundle.nginx_unreadable {
            let why = why.clone();
            self.report.fail(
                &format!("{NGINX_CONF_FILE} cannot be read: {why}"),
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
                self.report.fail(
                    &format!(
                        "nobody checks passwords: {NGINX_CONF_FILE} has no auth_basic and there \
                         is no {WEB_CONFIG_FILE}"
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
    fn place(&mut self, placed: &Placed) -> Option<PathBuf> {
        let elsewhere = placed
            .configured
            .as_ref()
            .filter(|configured| !same_path(configured, &placed.bundle));
        let in_bundle = placed.bundle.exists();
        match elsewhere {
            None if in_bundle => Some(placed.bundle.clone()),
            Some(configured) if configured.exists() => {
                if in_bundle {
                    if let (Ok(installed), Ok(ours)) =
                        (std::fs::read(configured), std::fs::read(&placed.bundle))
                        && installed != ours
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

    fn check_tls(&mut self) {
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
        let pem = match std::fs::read(&certificate_path) {
            Ok(pem) => pem,
            Err(error) => {
                self.report.fail(
                    &format!("cannot read the certificate {shown}: {error}"),
                    "run verify as a user who can read it (e.g. root)",
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
            match std::fs::read_to_string(key_path).map(Zeroizing::new) {
                Err(error) => self.report.fail(
                    &format!("cannot read the key {key_shown}: {error}"),
                    "run verify as a user who can read it (e.g. root)",
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

    fn check_htpasswd(&mut self) {
        let Some(nginx) = &self.bundle.nginx else {
            return;
        };
        if nginx.realm.is_none() {
            return;
        }
        let configured = nginx.user_file.clone();
        let bundle_copy = self.bundle.dir.join(
            configured
                .as_deref()
                .map_or_else(|| HTPASSWD_FILE.to_string(), file_name),
        );
        let remedy = format!(
            "make one with promsetup user add NAME --dir {}, then install it",
            self.bundle.dir.display()
        );
        let Some(path) = self.place(&Placed {
            what: "the password file",
            bundle: bundle_copy,
            configured: configured.clone(),
            named_by: NGINX_CONF_FILE,
            if_missing: "nginx answers 403 to every login until it is there",
            remedy: &remedy,
        }) else {
            return;
        };
        let shown = self.bundle.show(&path);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.report.fail(
                    &format!("cannot read the password file {shown}: {error}"),
                    "run verify as a user who can read it (e.g. root)",
                );
                return;
            }
        };
        let (users, bad) = read_users(Kind::Htpasswd, bytes).unwrap_or_default();
        for line in bad {
            // The line itself is not shown: it may hold a password in clear.
            self.report.fail(
                &format!("line {line} of {shown} is not USER:HASH: nobody can sign in with it"),
                &format!(
                    "edit or delete that line, or set the user again with promsetup user add \
                     NAME --dir {}",
                    self.bundle.dir.display()
                ),
            );
        }
        self.check_users(&shown, &users, false);
        if let Some(configured) = configured.filter(|c| c.exists()) {
            self.check_worker_reads(&configured);
        }
    }

    /// The users of a password file: their hash formats, the user verify signs in as, and the
    /// password when one was given. `bcrypt_only` for web.yml, which Prometheus reads.
    fn check_users(&mut self, shown: &str, users: &Users, bcrypt_only: bool) {
        let add_user = format!(
            "promsetup user add NAME --dir {}",
            self.bundle.dir.display()
        );
        if users.is_empty() {
            self.report.fail(
                &format!("{shown} has no users: nobody can sign in"),
                &format!("add one: {add_user}, then install it"),
            );
            return;
        }
        let mut seen: Vec<&str> = Vec::new();
        for (line, user, hash) in users {
            if seen.contains(&user.as_str()) {
                self.report.warn(
                    &format!("{shown} lists {user} twice (again on line {line})"),
                    "Only the first line counts: delete the other",
                );
                continue;
            }
            seen.push(user);
            self.check_hash(shown, user, hash, bcrypt_only);
        }
        self.users = seen.iter().map(|u| u.to_string()).collect();

        let given = self.options.username.as_ref().map(|u| u.to_string());
        let username = given.clone().or_else(|| {
            self.users
                .iter()
                .find(|u| u.as_str() != SELF_SCRAPE_USER)
                .or(self.users.first())
                .cloned()
        });
        self.username = username.clone();
        let Some(username) = username else {
            return;
        };
        if let Some(given) = given
            && !users.iter().any(|(_, user, _)| *user == username)
        {
            self.report.fail(
                &format!(
                    "--username {given}: {shown} has no such user (its users: {})",
                    self.users.join(", ")
                ),
                &format!(
                    "add it: promsetup user add {given} --dir {} (then install the file), or \
                     verify as one of its users",
                    self.bundle.dir.display()
                ),
            );
            return;
        }
        self.check_password(shown, &username, users);
    }

    /// With a password given, checks it against the user's bcrypt hash.
    fn check_password(&mut self, shown: &str, username: &str, users: &Users) {
        let (Some(password), Some((_, _, hash))) = (
            &self.password,
            users.iter().find(|(_, user, _)| user == username),
        ) else {
            return;
        };
        if !matches!(Scheme::of(hash), Scheme::Bcrypt(_)) {
            return;
        }
        match bcrypt::verify(password.expose(), hash) {
            Ok(true) => self
                .report
                .ok(&format!("the password given is {username}'s in {shown}")),
            Ok(false) => self.report.fail(
                &format!("the password given is not {username}'s in {shown}"),
                &format!(
                    "give the right password, or set a new one with promsetup user add \
                     {username} --dir {} (then install the file)",
                    self.bundle.dir.display()
                ),
            ),
            Err(error) => self.report.fail(
                &format!("{username}'s hash in {shown} is not a valid bcrypt hash: {error}"),
                &format!(
                    "set the password again: promsetup user add {username} --dir {}",
                    self.bundle.dir.display()
                ),
            ),
        }
    }

    fn check_hash(&mut self, shown: &str, user: &str, hash: &str, bcrypt_only: bool) {
        let scheme = Scheme::of(hash);
        let reset = format!(
            "set the password again with promsetup user add {user} --dir {}",
            self.bundle.dir.display()
        );
        if bcrypt_only {
            match scheme {
                Scheme::Bcrypt(_) => self.report.ok(&format!(
                    "{shown}: {user} has a bcrypt hash, which Prometheus checks"
                )),
                _ => self.report.fail(
                    &format!(
                        "{shown}: {user}'s hash is not bcrypt, and Prometheus accepts only \
                         bcrypt ($2a$, $2b$, $2y$)"
                    ),
                    &reset,
                ),
            }
            return;
        }
        match scheme {
            Scheme::NginxOwn(_) if scheme.is_plain_text() => self.report.warn(
                &format!("{shown}: {user}'s password is stored in clear ({{PLAIN}})"),
                &format!("Anyone who reads the file can sign in: {reset}"),
            ),
            Scheme::NginxOwn(name) => self.report.ok(&format!(
                "{shown}: {user}'s hash is {name}, which nginx checks itself"
            )),
            Scheme::Bcrypt(cost) => {
                self.check_system_crypt(shown, user, hash, "bcrypt");
                if cost >= SLOW_NGINX_BCRYPT_COST {
                    self.report.warn(
                        &format!(
                            "{shown}: {user}'s bcrypt cost is {cost}: nginx hashes the password \
                             on every request, about {} ms each, blocking a worker meanwhile",
                            2u64 << cost.saturating_sub(5).min(20)
                        ),
                        "Use cost 5 with a long random password (--bcrypt-cost 5), or --auth \
                         prometheus, which caches checked passwords",
                    );
                }
            }
            Scheme::Crypt(name) => self.check_system_crypt(shown, user, hash, name),
        }
    }

    /// nginx hands every hash but its own formats to the system's crypt(); glibc without
    /// libxcrypt (Debian 10, RHEL 7) has no bcrypt, and nginx then answers 500. promsetup calls
    /// the same library, so it tells whether this system knows the format.
    fn check_system_crypt(&mut self, shown: &str, user: &str, hash: &str, scheme: &str) {
        let nginx_here = self.nginx_program.is_some();
        let fix = "use --auth prometheus (Prometheus checks bcrypt itself), or a hash nginx \
                   checks itself (htpasswd -m writes $apr1$)";
        match crate::host::system_crypt::knows(hash) {
            true => self.report.ok(&format!(
                "{shown}: {user} has a {scheme} hash, which nginx hands to the system's \
                 crypt(), and this system's knows it"
            )),
            false if nginx_here => self.report.fail(
                &format!(
                    "{shown}: {user} has a {scheme} hash, which nginx hands to the system's \
                     crypt(), and this system's does not know it: nginx answers 500 to every \
                     login (glibc without libxcrypt, e.g. Debian 10 or RHEL 7, has no bcrypt)"
                ),
                fix,
            ),
            false => self.report.warn(
                &format!(
                    "{shown}: {user} has a {scheme} hash, which nginx hands to the system's \
                     crypt(), and this system's does not know it"
                ),
                &format!("An nginx on a system like this one answers 500 to every login: {fix}"),
            ),
        }
    }

    /// nginx's workers (not root) read the password file on every login: 500 if they cannot.
    fn check_worker_reads(&mut self, path: &Path) {
        let Some(nginx) = &self.bundle.nginx else {
            return;
        };
        // Without `user`, a root master runs its workers as nobody.
        let name = nginx.worker_user.clone().unwrap_or_else(|| "nobody".into());
        let Ok(Some(account)) = User::from_name(&name) else {
            return;
        };
        let group = nginx
            .worker_group
            .as_deref()
            .and_then(|g| Group::from_name(g).ok().flatten())
            .map(|g| g.gid);
        match readable_by(path, &account, group) {
            Ok(()) => self.report.ok(&format!(
                "nginx's workers ({name}) can read {}",
                path.display()
            )),
            Err(why) => {
                let text = format!(
                    "nginx's workers ({name}) cannot read {}: {why}; nginx answers 500 to every \
                     login",
                    path.display()
                );
                let fix = format!(
                    "chgrp {} {} && chmod 0640 {}",
                    nginx
                        .worker_group
                        .clone()
                        .unwrap_or_else(|| group_name(account.gid)),
                    path.display(),
                    path.display()
                );
                self.unreadable_for_service(&text, &fix);
            }
        }
    }

    /// A service account that cannot read its file. That is a fault when verify runs as root,
    /// as on a server, where nginx's root master starts its workers as that account and systemd
    /// starts Prometheus as its own; run as someone else, verify may be looking at a test setup
    /// whose nginx and Prometheus run as that user, so it only warns.
    fn unreadable_for_service(&mut self, text: &str, fix: &str) {
        if Uid::effective().is_root() {
            self.report.fail(text, fix);
        } else {
            self.report.warn(
                &format!("{text} (on a server, where the services run as these accounts)"),
                &format!("Fix: {fix}"),
            );
        }
    }

    fn check_web_config(&mut self) {
        let Some(web) = &self.bundle.web else {
            return;
        };
        let certificate = web.certificate.clone();
        let key = web.key.clone();
        let bundle_copy = self.bundle.dir.join(WEB_CONFIG_FILE);
        let configured = self.bundle.flag("--web.config.file").map(PathBuf::from);
        let remedy = format!(
            "write the bundle again with promsetup --auth prometheus ... --force (into {})",
            self.bundle.dir.display()
        );
        let Some(path) = self.place(&Placed {
            what: "web.yml",
            bundle: bundle_copy.clone(),
            configured: configured.clone(),
            named_by: FLAGS_FILE,
            if_missing: "Prometheus does not start without it",
            remedy: &remedy,
        }) else {
            return;
        };
        let shown = self.bundle.show(&path);
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| read_users(Kind::WebConfig, bytes))
        {
            Ok((users, _)) => self.check_users(&shown, &users, true),
            Err(why) => self.report.fail(
                &format!("the users in {shown} cannot be read: {why}"),
                &remedy,
            ),
        }

        // promtool loads the certificate and key web.yml names: not there yet is no fault of
        // the file.
        if let Some(promtool) = find_program("promtool") {
            let output = Command::new(&promtool)
                .args(["check", "web-config"])
                .arg(&path)
                .stdin(Stdio::null())
                .output();
            match output {
                Err(error) => self.report.warn(
                    &format!("promtool check web-config could not run: {error}"),
                    "Run it yourself on the server",
                ),
                Ok(output) if output.status.success() => self
                    .report
                    .ok(&format!("promtool check web-config accepts {shown}")),
                Ok(output) => {
                    let said = String::from_utf8_lossy(&output.stderr).to_string()
                        + &String::from_utf8_lossy(&output.stdout);
                    let said = said.trim().replace('\n', "; ");
                    let missing: Vec<String> = [&certificate, &key]
                        .into_iter()
                        .flatten()
                        .filter(|p| !p.exists())
                        .map(|p| p.display().to_string())
                        .collect();
                    if !missing.is_empty() && said.contains("no such file") {
                        self.report.warn(
                            &format!(
                                "promtool check web-config could not load {} (not installed \
                                 yet)",
                                missing.join(" and ")
                            ),
                            "Install the bundle as its next steps show, then run verify again",
                        );
                    } else {
                        self.report.fail(
                            &format!("promtool check web-config rejects {shown}: {said}"),
                            &remedy,
                        );
                    }
                }
            }
        } else {
            self.report.warn(
                &format!("{shown} not checked with promtool: promtool is not installed here"),
                &format!(
                    "Run promtool check web-config {} on the server",
                    path.display()
                ),
            );
        }

        if let Some(configured) = configured.filter(|c| c.exists()) {
            let name = self
                .options
                .prometheus_user
                .as_ref()
                .map_or_else(|| DEFAULT_PROMETHEUS_ACCOUNT.to_string(), |u| u.to_string());
            if let Ok(Some(account)) = User::from_name(&name) {
                match readable_by(&configured, &account, None) {
                    Ok(()) => self.report.ok(&format!(
                        "Prometheus's account ({name}) can read {}",
                        configured.display()
                    )),
                    Err(why) => self.unreadable_for_service(
                        &format!(
                            "Prometheus's account ({name}) cannot read {}: {why}; Prometheus \
                             does not start",
                            configured.display()
                        ),
                        &format!(
                            "chgrp {} {} && chmod 0640 {}",
                            group_name(account.gid),
                            configured.display(),
                            configured.display()
                        ),
                    ),
                }
            }
        }
    }

    fn check_nginx(&mut self) {
        let Some(nginx) = &self.bundle.nginx else {
            return;
        };
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
        let version = Command::new(&program)
            .arg("-V")
            .stdin(Stdio::null())
            .output()
            .ok()
            .and_then(|o| nginx_target::parse_nginx_v(&String::from_utf8_lossy(&o.stderr)))
            .map(|t| t.nginx);
        // nginx reads a relative -c against its own prefix (/usr/share/nginx), not the current
        // folder: give it the absolute path.
        let conf = std::fs::canonicalize(&conf).unwrap_or(conf);
        let mut command = Command::new(&program);
        command.arg("-t").arg("-c").arg(&conf);
        // nginx -t writes its pid file to prove it can: /dev/null takes it, so the check needs
        // neither /run nor a folder of ours. Its log goes to its stderr, which is read here.
        if version.is_none_or(|v| v >= NGINX_WITH_ERROR_LOG_FLAG) {
            command.args(["-e", "stderr"]);
        }
        if !nginx.has_pid {
            command.args(["-g", "pid /dev/null;"]);
        }
        let output = match command.stdin(Stdio::null()).output() {
            Ok(output) => output,
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

    fn check_flags(&mut self) {
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
    fn check_modes(&mut self) {
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
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if checked.iter().any(|c| same_path(c, &path)) {
                continue;
            }
            checked.push(path.clone());
            let mode = meta.mode() & 0o7777;
            let shown = self.bundle.show(&path);
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

    // -----------------------------------------------------------------------------------------
    // Online

    fn online(&mut self, target: &Target) {
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
        let resolved = (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map(|a| a.collect::<Vec<_>>());
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
        let agent = agent(anchors);

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
    fn check_challenge(&mut self, answer: &Answer, url: &str, checker: Checker) -> bool {
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
    fn check_redirect_chain(&mut self, agent: &ureq::Agent, target: &Target, auth: Option<&str>) {
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

    fn authorization(&self) -> Option<Zeroizing<String>> {
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

    fn upstream(&self) -> String {
        self.bundle
            .nginx
            .as_ref()
            .and_then(|n| n.upstream.clone())
            .or_else(|| self.bundle.flag("--web.listen-address").map(str::to_string))
            .unwrap_or_else(|| "its --web.listen-address".into())
    }

    /// What an HTTP status with credentials means here, and what to do.
    fn status_failure(&self, status: u16, url: &str) -> (String, String) {
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
    fn transport_failure(&self, error: &ureq::Error, target: &Target) -> (String, String) {
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

// ---------------------------------------------------------------------------------------------
// HTTP

/// The external URL, split: scheme, host, port and the prefix (always ending in `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    https: bool,
    /// Without brackets.
    host: String,
    port: u16,
    prefix: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, Failure> {
        let usage = |why: &str| {
            Failure::Usage(format!(
                "--url {url}: {why}; give the external URL, e.g. https://example.com/prometheus/"
            ))
        };
        let uri: ureq::http::Uri = url.parse().map_err(|_| usage("not a URL"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(usage("it must start with https:// or http://")),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| usage("it has no host"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_ascii_lowercase();
        if uri.query().is_some() {
            return Err(usage("it has a query (?...); give the external URL alone"));
        }
        let path = uri.path();
        let prefix = if path.ends_with('/') {
            path.to_string()
        } else {
            format!("{path}/")
        };
        Ok(Target {
            https,
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            host,
            prefix,
        })
    }

    /// `https://host[:port]`, the port only when it is not the scheme's.
    fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let host = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => format!("[{}]", self.host),
            _ => self.host.clone(),
        };
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{}", self.port)
        }
    }

    fn base(&self) -> String {
        format!("{}{}", self.origin(), self.prefix)
    }

    /// Where a redirect from `from` to `location` leads, as an absolute URL, when it stays on
    /// this origin and inside the prefix; `None` when it leaves them.
    fn inside(&self, from: &str, location: &str) -> Option<String> {
        if location.is_empty() {
            return None;
        }
        let scheme = if self.https { "https" } else { "http" };
        let absolute = if location.contains("://") {
            location.to_string()
        } else if let Some(rest) = location.strip_prefix("//") {
            format!("{scheme}://{rest}")
        } else if location.starts_with('/') {
            format!("{}{location}", self.origin())
        } else {
            // Relative to the folder of `from`.
            format!(
                "{}{location}",
                &from[..from.rfind('/').map_or(from.len(), |i| i + 1)]
            )
        };
        let uri: ureq::http::Uri = absolute.parse().ok()?;
        let https = match uri.scheme_str()? {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let host = uri.host()?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        if (https, host.as_str(), port) != (self.https, self.host.as_str(), self.port) {
            return None;
        }
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        uri.path()
            .starts_with(&self.prefix)
            .then(|| format!("{}{path}", self.origin()))
    }
}

/// One HTTP answer, as far as the checks need it.
struct Answer {
    status: u16,
    location: Option<String>,
    challenges: Vec<String>,
    body: String,
}

/// TLS trusts only the bundle's certificate. For promsetup's self-signed certificate (CA:FALSE)
/// that is sound with webpki as it is: rustls makes a trust anchor of the certificate's subject
/// and public key without looking at its basic constraints, and the server's certificate chains
/// to that anchor because its issuer is its own subject and its signature verifies with that
/// key. Only the holder of the bundle's key can present a certificate that passes, and the name
/// is checked as for any server (the e2e test exercises this against real nginx). For a
/// certificate from an authority (`--tls-cert` with a chain file), every certificate in the file
/// is an anchor, so the server's chains to its intermediate.
fn trust_anchors(pem: &[u8]) -> Vec<ureq::tls::Certificate<'static>> {
    x509_parser::pem::Pem::iter_from_buffer(pem)
        .filter_map(Result::ok)
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| ureq::tls::Certificate::from_der(&p.contents).to_owned())
        .collect()
}

/// An agent that follows no redirect (each is checked), treats every status as an answer, and
/// goes straight to the server, whatever proxy the environment names: the server is what is
/// tested.
fn agent(anchors: Option<Vec<ureq::tls::Certificate<'static>>>) -> ureq::Agent {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(anchors) = anchors {
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&anchors));
    }
    ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .proxy(None)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .user_agent(concat!("promsetup-verify/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn fetch(
    agent: &ureq::Agent,
    url: &str,
    authorization: Option<&str>,
) -> Result<Answer, ureq::Error> {
    let mut request = agent.get(url);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let mut response = request.call()?;
    let headers = response.headers();
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let challenges = headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_string()
        .unwrap_or_default();
    Ok(Answer {
        status,
        location,
        challenges,
        body,
    })
}

// ---------------------------------------------------------------------------------------------
// Small helpers

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Whether two paths name the same file (or would, once both exist).
fn same_path(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| {
        p.canonicalize().ok().or_else(|| {
            let parent = p.parent()?.canonicalize().ok()?;
            Some(parent.join(p.file_name()?))
        })
    };
    match (canonical(a), canonical(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// Whether a SAN names the domain: the address for an IP; for a DNS name the name itself or a
/// wildcard standing for exactly its first label (RFC 6125), as `provided_cert` checks.
fn covers(names: &[String], domain: &Domain) -> bool {
    names.iter().any(|name| match domain {
        Domain::Ip(ip) => name.parse::<IpAddr>().ok() == Some(*ip),
        Domain::Dns(host) => provided_cert::dns_name_covers(name, host),
    })
}

fn is_loopback_address(listen: &str) -> bool {
    let host = listen.rsplit_once(':').map_or(listen, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// "[emerg] cannot load ..." from "2026/01/01 00:00:00 [emerg] 123#123: cannot load ...".
fn nginx_message(line: &str) -> String {
    let line = line.trim();
    match line.find('[') {
        Some(start) => {
            let rest = &line[start..];
            let level_end = rest.find(']').map_or(0, |i| i + 1);
            let message = rest[level_end..]
                .split_once(": ")
                .map_or(&rest[level_end..], |(_, message)| message);
            format!("{} {}", &rest[..level_end], message.trim())
        }
        None => line.to_string(),
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(SBIN_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
        })
}

fn group_name(gid: Gid) -> String {
    Group::from_gid(gid)
        .ok()
        .flatten()
        .map_or_else(|| gid.to_string(), |g| g.name)
}

fn user_name(uid: u32) -> String {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name)
}

/// Whether `account` (with `group` in place of its own, as `user USER GROUP;` says) can read
/// `path`: search permission on every folder above it, read permission on the file.
fn readable_by(path: &Path, account: &User, group: Option<Gid>) -> Result<(), String> {
    if account.uid.is_root() {
        return Ok(());
    }
    let path = std::path::absolute(path).map_err(|e| e.to_string())?;
    let member = |gid: u32| {
        group.unwrap_or(account.gid).as_raw() == gid
            || Group::from_gid(Gid::from_raw(gid))
                .ok()
                .flatten()
                .is_some_and(|g| g.mem.contains(&account.name))
    };
    let allowed = |meta: &std::fs::Metadata, bit: u32| {
        let mode = meta.mode();
        if meta.uid() == account.uid.as_raw() {
            mode & (bit << 6) != 0
        } else if member(meta.gid()) {
            mode & (bit << 3) != 0
        } else {
            mode & bit != 0
        }
    };
    let describe = |meta: &std::fs::Metadata| {
        format!(
            "mode {:04o}, owner {}, group {}",
            meta.mode() & 0o7777,
            user_name(meta.uid()),
            group_name(Gid::from_raw(meta.gid()))
        )
    };
    let ancestors: Vec<&Path> = path.ancestors().skip(1).collect();
    for folder in ancestors.into_iter().rev() {
        let meta = std::fs::metadata(folder).map_err(|e| e.to_string())?;
        if !allowed(&meta, 0o1) {
            return Err(format!(
                "it cannot enter the folder {} ({})",
                folder.display(),
                describe(&meta)
            ));
        }
    }
    let meta = std::fs::metadata(&path).map_err(|e| e.to_string())?;
    if allowed(&meta, 0o4) {
        Ok(())
    } else {
        Err(describe(&meta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"
user www-data;
events {}
http {
    map $upstream_status $promsetup_challenge {
        401 "Basic realm=\"Team\"";
        default "";
    }
    server {
        listen 80;
        server_name example.com;
        return 308 https://example.com$request_uri;
    }
    server {
        listen 443 ssl;
        server_name example.com; # the name
        ssl_certificate "/etc/nginx/example.com.crt";
        ssl_certificate_key "/etc/nginx/example.com.key";
        location = /prometheus { return 301 /prometheus/$is_args$args; }
        location / { return 404; }
        location = /prometheus/-/healthy { proxy_pass http://127.0.0.1:9090/-/healthy; }
        location /prometheus/ {
            auth_basic "Ops team";
            auth_basic_user_file "/etc/nginx/.htpasswd";
            proxy_pass http://127.0.0.1:9090/;
            proxy_redirect ~^/(?!prometheus/)(.*)$ /prometheus/$1;
        }
    }
}
"#;

    #[test]
    fn nginx_conf_yields_the_proxied_server_and_its_files() {
        let conf = NginxConf::parse(CONF, Path::new("/bundle")).unwrap();
        assert_eq!(conf.worker_user.as_deref(), Some("www-data"));
        assert_eq!(conf.server_name.as_deref(), Some("example.com"));
        assert_eq!(
            conf.certificate.as_deref(),
            Some(Path::new("/etc/nginx/example.com.crt"))
        );
        assert_eq!(conf.location.as_deref(), Some("/prometheus/"));
        assert_eq!(conf.realm.as_deref(), Some("Ops team"));
        assert_eq!(
            conf.user_file.as_deref(),
            Some(Path::new("/etc/nginx/.htpasswd"))
        );
        assert_eq!(conf.upstream.as_deref(), Some("127.0.0.1:9090"));
        assert!(!conf.has_pid);
    }

    #[test]
    fn nginx_conf_resolves_relative_paths_against_its_folder_and_reports_bad_syntax() {
        let conf = NginxConf::parse(
            "http { server { ssl_certificate a.crt; location / { auth_basic off; proxy_pass \
             http://[::1]:9090; } } }",
            Path::new("/bundle"),
        )
        .unwrap();
        assert_eq!(
            conf.certificate.as_deref(),
            Some(Path::new("/bundle/a.crt"))
        );
        assert_eq!(conf.realm, None);
        assert_eq!(conf.upstream.as_deref(), Some("[::1]:9090"));
        let err = NginxConf::parse("http { server { listen 80; }", Path::new("/")).unwrap_err();
        assert!(err.contains("not closed"), "{err}");
        let err = NginxConf::parse("user \"www-data;", Path::new("/")).unwrap_err();
        assert!(err.contains("quoted"), "{err}");
    }

    #[test]
    fn htpasswd_lines_are_users_and_hashes_and_bad_lines_are_numbered() {
        let text =
            "# comment\nadmin:$2y$05$abc\n\nbroken line\nbob:{SHA}xyz:comment\n:x\nnohash:\n";
        let (users, bad) = read_users(Kind::Htpasswd, text.as_bytes().to_vec()).unwrap();
        assert_eq!(
            users,
            vec![
                (2, "admin".into(), "$2y$05$abc".into()),
                (5, "bob".into(), "{SHA}xyz".into())
            ]
        );
        assert_eq!(bad, vec![4, 6, 7]);
        let (users, bad) = read_users(
            Kind::WebConfig,
            b"basic_auth_users:\n  \"admin\": \"$2y$12$x\"\n  bob: '$2y$12$y'\n".to_vec(),
        )
        .unwrap();
        assert_eq!(users.len(), 2);
        assert!(bad.is_empty());
    }

    #[test]
    fn web_config_yields_its_tls_files() {
        let web = WebConfig::parse(
            "# comment\ntls_server_config:\n  cert_file: \"/etc/prometheus/a.crt\"\n  key_file: \
             a.key\n  min_version: TLS12\nbasic_auth_users:\n  \"admin\": \"$2y$12$x\"\n  bob: \
             '$2y$12$y'\n",
            Path::new("/bundle"),
        );
        assert_eq!(
            web.certificate.as_deref(),
            Some(Path::new("/etc/prometheus/a.crt"))
        );
        assert_eq!(web.key.as_deref(), Some(Path::new("/bundle/a.key")));
    }

    #[test]
    fn the_url_is_split_and_its_prefix_ends_in_a_slash() {
        let t = Target::parse("https://Example.com/prometheus").unwrap();
        assert_eq!(t.host, "example.com");
        assert_eq!(t.port, 443);
        assert_eq!(t.base(), "https://example.com/prometheus/");
        let t = Target::parse("http://[::1]:8080/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8080));
        assert_eq!(t.origin(), "http://[::1]:8080");
        assert!(Target::parse("ftp://x/").is_err());
        assert!(Target::parse("example.com/prometheus").is_err());
    }

    #[test]
    fn redirects_are_inside_the_prefix_only_on_the_same_origin() {
        let t = Target::parse("https://example.com:8443/prometheus/").unwrap();
        let from = "https://example.com:8443/prometheus/";
        assert_eq!(
            t.inside(from, "/prometheus/graph").as_deref(),
            Some("https://example.com:8443/prometheus/graph")
        );
        assert!(
            t.inside(from, "https://example.com:8443/prometheus/query")
                .is_some()
        );
        assert!(t.inside(from, "graph").is_some());
        assert!(t.inside(from, "/graph").is_none());
        assert!(t.inside(from, "/prometheusgraph").is_none());
        assert!(
            t.inside(from, "https://example.com/prometheus/graph")
                .is_none()
        );
        assert!(
            t.inside(from, "http://example.com:8443/prometheus/graph")
                .is_none()
        );
        assert!(t.inside(from, "https://evil.example/prometheus/").is_none());
        assert!(t.inside(from, "").is_none());
    }

    #[test]
    fn coverage_follows_the_san_rules() {
        let names = vec!["*.example.com".to_string(), "192.0.2.1".to_string()];
        assert!(covers(&names, &"prom.example.com".parse().unwrap()));
        assert!(!covers(&names, &"a.b.example.com".parse().unwrap()));
        assert!(!covers(&names, &"example.com".parse().unwrap()));
        assert!(covers(&names, &"192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn nginx_messages_lose_their_timestamp() {
        assert_eq!(
            nginx_message(
                "2026/11/23 14:50:00 [emerg] 4040#4040: cannot load certificate \"/x\": failed"
            ),
            "[emerg] cannot load certificate \"/x\": failed"
        );
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

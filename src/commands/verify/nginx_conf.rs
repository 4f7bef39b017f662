//! nginx.conf as verify reads it: a tokenizer of nginx's syntax, the directive tree, the few
//! facts the checks need (`NginxConf`), and running `nginx -t` on it. It must not report
//! findings (the checks in `bundle.rs` word them) or change any file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::access::clean_command;

use crate::host::nginx as nginx_target;
use crate::model::values::Version;

/// `nginx -e` exists from 1.19.5 on.
const NGINX_WITH_ERROR_LOG_FLAG: Version = Version(1, 19, 5);

/// One directive of an nginx configuration, with its block if it has one.
#[derive(Debug)]
pub(super) struct Directive {
    pub(super) name: String,
    pub(super) args: Vec<String>,
    pub(super) block: Vec<Directive>,
}

#[derive(Debug, PartialEq)]
pub(super) enum Token {
    Word(String),
    Semicolon,
    Open,
    Close,
}

/// Splits nginx's configuration syntax into words (quotes and escapes resolved), `;`, `{` and
/// `}`, each with its line. `#` starts a comment where a word could start.
pub(super) fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, String> {
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

pub(super) fn parse_directives(
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
pub(super) struct NginxConf {
    pub(super) worker_user: Option<String>,
    /// A site or snippet's workers are the host's main configuration's, which could not be read.
    pub(super) workers_unknown: bool,
    /// The group named by `user USER GROUP;`.
    pub(super) worker_group: Option<String>,
    pub(super) has_pid: bool,
    pub(super) server_name: Option<String>,
    pub(super) certificate: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
    /// The prefix location, `/prometheus/` (`/` for the whole host).
    pub(super) location: Option<String>,
    /// `auth_basic`'s realm, when it is on.
    pub(super) realm: Option<String>,
    pub(super) user_file: Option<PathBuf>,
    /// Where `proxy_pass` sends requests: `127.0.0.1:9090`.
    pub(super) upstream: Option<String>,
}

impl NginxConf {
    /// For a site or snippet: the worker account of the host's main configuration
    /// (`conf_dir/nginx.conf`), which the bundle's file does not set.
    pub(super) fn take_workers_from(&mut self, main_conf: &Path) {
        let parsed = std::fs::read_to_string(main_conf)
            .map_err(|error| error.to_string())
            .and_then(|text| tokenize(&text))
            .and_then(|tokens| parse_directives(&tokens, &mut 0, false));
        match parsed {
            Ok(top) => {
                let user = top.iter().find(|d| d.name == "user");
                self.worker_user = user.and_then(|d| d.args.first().cloned());
                self.worker_group = user.and_then(|d| d.args.get(1).cloned());
            }
            Err(_) => self.workers_unknown = true,
        }
    }

    /// Relative paths are resolved against `conf_dir`, as nginx resolves them against the folder
    /// of the file given to `-c`.
    pub(super) fn parse(text: &str, conf_dir: &Path) -> Result<NginxConf, String> {
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
            workers_unknown: false,
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
pub(super) fn proxied_location(server: &Directive) -> Option<&Directive> {
    server.block.iter().find(|d| {
        d.name == "location"
            && d.args.len() == 1
            && d.block.iter().any(|inner| inner.name == "proxy_pass")
    })
}

/// "[emerg] cannot load ..." from "2026/01/01 00:00:00 [emerg] 123#123: cannot load ...".
pub(super) fn nginx_message(line: &str) -> String {
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

/// Runs `nginx -t -c CONF` (`conf` absolute) and returns nginx's version (from `nginx -V`)
/// with what `-t` said.
pub(super) fn nginx_test(
    program: &Path,
    conf: &Path,
    has_pid: bool,
) -> std::io::Result<(Option<Version>, Output)> {
    let version = clean_command(program)
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| nginx_target::parse_nginx_v(&String::from_utf8_lossy(&o.stderr)))
        .map(|t| t.nginx);
    let mut command = clean_command(program);
    command.arg("-t").arg("-c").arg(conf);
    // nginx -t writes its pid file to prove it can: /dev/null takes it, so the check needs
    // neither /run nor a folder of ours. Its log goes to its stderr, which is read here.
    if version.is_none_or(|v| v >= NGINX_WITH_ERROR_LOG_FLAG) {
        command.args(["-e", "stderr"]);
    }
    if !has_pid {
        command.args(["-g", "pid /dev/null;"]);
    }
    let output = command.output()?;
    Ok((version, output))
}

/// Every directive promsetup's nginx.conf can hold, with the blocks around it
/// ("http/server/location/proxy_pass"): the `full` layout rendered by the bundle's own code for
/// setups that between them turn every optional block on and off, read by the same tokenizer.
/// Rendering, rather than reading the template's text, keeps this in step with the template.
fn template_directives() -> Result<HashSet<String>, String> {
    use crate::bundle::plan::render_full_nginx_conf;
    use crate::bundle::templates::Templates;
    use crate::model::given::{Auth, Endpoints, Given, TlsChoice};
    use crate::model::nginx_layout::NginxLayout;
    use crate::model::setup::{HostFacts, resolve};

    let every_endpoint = Endpoints {
        lifecycle: true,
        admin_api: true,
        public_healthcheck: true,
        pprof: true,
        federate: true,
    };
    let base = || Given {
        domain: Some("example.com".parse().expect("a valid domain")),
        nginx_layout: Some(NginxLayout::Full),
        nginx_user: Some("nobody".parse().expect("a valid account")),
        ..Given::default()
    };
    let shapes = [
        base(),
        Given {
            tls: Some(TlsChoice::Off),
            prefix: Some("/".parse().expect("a valid prefix")),
            no_rate_limit: true,
            endpoints: every_endpoint,
            ..base()
        },
        Given {
            auth: Some(Auth::Prometheus),
            tls_cert: Some("/etc/ssl/a.pem".parse().expect("a valid path")),
            tls_key: Some("/etc/ssl/a.key".parse().expect("a valid path")),
            nginx_version: Some("1.27.0".parse().expect("a valid version")),
            openssl_version: Some("3.5.0".parse().expect("a valid version")),
            ..base()
        },
        Given {
            tls: Some(TlsChoice::Acme),
            ..base()
        },
    ];
    let host = HostFacts {
        primary_group: |_| Some("nogroup".to_string()),
        ..HostFacts::unknown()
    };
    let templates = Templates::embedded();
    let mut names = HashSet::new();
    for given in shapes {
        let setup = resolve(given, &host).map_err(|error| error.to_string())?;
        let text = render_full_nginx_conf(&setup, &templates).map_err(|e| e.to_string())?;
        let tree = parse_directives(&tokenize(&text)?, &mut 0, false)?;
        collect_paths(&tree, "", &mut names);
    }
    Ok(names)
}

fn collect_paths(list: &[Directive], parent: &str, into: &mut HashSet<String>) {
    for directive in list {
        let path = format!("{parent}{}", directive.name);
        collect_paths(&directive.block, &format!("{path}/"), into);
        into.insert(path);
    }
}

/// The directives of `text` that promsetup's template never writes where they stand
/// (`load_module`, `include`, `perl_modules`, ...), shown with their blocks; empty when
/// nginx.conf holds only what promsetup writes. Running `nginx -t` as root on anything else
/// would run whatever the file's author chose.
pub(super) fn foreign_directives(text: &str) -> Result<Vec<String>, String> {
    let allowed = template_directives()
        .map_err(|why| format!("promsetup's own template does not parse ({why})"))?;
    let tree = parse_directives(&tokenize(text)?, &mut 0, false)?;
    let mut found = HashSet::new();
    collect_paths(&tree, "", &mut found);
    let mut foreign: Vec<String> = found.difference(&allowed).cloned().collect();
    foreign.sort();
    Ok(foreign)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
    fn nginx_messages_lose_their_timestamp() {
        assert_eq!(
            nginx_message(
                "2026/11/23 14:50:00 [emerg] 4040#4040: cannot load certificate \"/x\": failed"
            ),
            "[emerg] cannot load certificate \"/x\": failed"
        );
    }

    #[test]
    fn only_directives_the_template_writes_pass() {
        assert_eq!(foreign_directives(CONF).unwrap(), Vec::<String>::new());
        let hostile = format!("load_module /tmp/x.so;\n{CONF}\nhttp {{ include /tmp/*.conf; }}");
        assert_eq!(
            foreign_directives(&hostile).unwrap(),
            vec!["http/include".to_string(), "load_module".to_string()]
        );
        let allowed = template_directives().unwrap();
        assert!(
            allowed.contains("http/server/location/proxy_pass"),
            "{allowed:?}"
        );
        assert!(
            allowed.contains("http/server/ssl_certificate_key"),
            "{allowed:?}"
        );
    }
}

#![allow(clippy::disallowed_methods)] // the nginx -t property writes a bundle into a temporary folder

//! Properties of the rendering, over generated inputs rather than a handful of examples.
//!
//! Inputs come from two sources mixed in every case: the accepted space of each value type
//! (DNS names, IPv4, IPv6, prefixes, user names, realms, ports, upstreams, folders, certificate
//! paths; self-signed, own or no TLS, a redirect port or not, a bind address or not, the
//! lifecycle/admin/health-check endpoints, target nginx versions) and hostile text (arbitrary
//! Unicode strings, valid values with a directive character spliced in). Each text goes through the crate's own
//! `FromStr` type; whatever parses is resolved into a `Setup` and rendered, and then:
//!
//! (a) the nginx.conf read by an nginx-syntax tokenizer has exactly the directive tree of a
//!     baseline rendering of the same shape: a value never adds a directive, an argument, a
//!     block or a comment;
//! (b) every value is where it is meant to be (server_name, listen, location, proxy_pass, ...),
//!     and .htpasswd, prometheus.flags and the certificate say the same;
//! (c) the real `nginx -t` accepts the bundle as written (bounded number of cases).
//!
//! Case counts: 512 for the rendering property and 64 for the nginx -t one by default;
//! `PROPTEST_CASES=N` overrides both, e.g. `PROPTEST_CASES=10000 cargo test --test property`
//! for a long run on demand. Each test prints how many cases it ran.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use promsetup::bundle::existing::Existing;
use promsetup::bundle::plan::{Plan, plan};
use promsetup::bundle::templates::Templates;
use promsetup::model::given::{Endpoints, Given, TlsChoice};
use promsetup::model::password::Password;
use promsetup::model::setup::{HostFacts, Setup, SetupError, Tls, resolve};
use promsetup::model::values::{
    Domain, Port, Realm, RedirectPort, ServerPath, SystemUser, Upstream, UrlPrefix, UserName,
    ValidityDays, Version,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use time::OffsetDateTime;
use zeroize::Zeroizing;

const DEFAULT_RENDER_CASES: u32 = 512;
const DEFAULT_NGINX_CASES: u32 = 64;

/// `PROPTEST_CASES` when set, else this test's own default.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        // Failures print the shrunk input; no regression files are written into tests/.
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    })
}

// =============================================================================================
// An nginx configuration tokenizer, modelled on ngx_conf_read_token (nginx 1.22):
// - whitespace is space, tab, CR, LF;
// - `;` ends a directive, `{` opens a block, `}` closes one;
// - `#` at the start of a token starts a comment up to the end of the line (in the middle of an
//   unquoted word it is an ordinary character);
// - a word in double or single quotes runs to the matching quote; `\"`, `\'`, `\\`, `\t`, `\r`,
//   `\n` are escapes; the closing quote must be followed by whitespace, `;`, `{` or `)`;
// - an unquoted word runs to whitespace, `;` or `{` (so `}` inside it is literal); a backslash
//   escapes the next character; `{` right after `$` belongs to the word (`${var}`).

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Semicolon,
    Open,
    Close,
    Comment(String),
}

fn unescape(next: char, word: &mut String) {
    match next {
        '"' | '\'' | '\\' => word.push(next),
        't' => word.push('\t'),
        'r' => word.push('\r'),
        'n' => word.push('\n'),
        other => {
            word.push('\\');
            word.push(other);
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\r' | '\n' => i += 1,
            ';' => {
                tokens.push(Token::Semicolon);
                i += 1;
            }
            '{' => {
                tokens.push(Token::Open);
                i += 1;
            }
            '}' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '#' => {
                let end = chars[i..]
                    .iter()
                    .position(|&ch| ch == '\n')
                    .map_or(chars.len(), |p| i + p);
                tokens.push(Token::Comment(chars[i + 1..end].iter().collect()));
                i = end;
            }
            '"' | '\'' => {
                let quote = c;
                let mut word = String::new();
                i += 1;
                loop {
                    let Some(&ch) = chars.get(i) else {
                        return Err(format!("unterminated {quote} string"));
                    };
                    i += 1;
                    if ch == '\\' {
                        let Some(&next) = chars.get(i) else {
                            return Err("backslash at the end of the file".into());
                        };
                        i += 1;
                        unescape(next, &mut word);
                    } else if ch == quote {
                        break;
                    } else {
                        word.push(ch);
                    }
                }
                match chars.get(i) {
                    None | Some(' ' | '\t' | '\r' | '\n' | ';' | '{' | ')') => {}
                    Some(other) => {
                        return Err(format!("unexpected {other:?} after a quoted string"));
                    }
                }
                tokens.push(Token::Word(word));
            }
            _ => {
                let mut word = String::new();
                let mut after_dollar = false;
                while let Some(&ch) = chars.get(i) {
                    if ch == '{' && after_dollar {
                        word.push(ch);
                        after_dollar = false;
                        i += 1;
                        continue;
                    }
                    if matches!(ch, ' ' | '\t' | '\r' | '\n' | ';' | '{') {
                        break;
                    }
                    i += 1;
                    if ch == '\\' {
                        let Some(&next) = chars.get(i) else {
                            return Err("backslash at the end of the file".into());
                        };
                        i += 1;
                        unescape(next, &mut word);
                        after_dollar = false;
                        continue;
                    }
                    after_dollar = ch == '$';
                    word.push(ch);
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

/// A parsed configuration: directives (`name args;`), blocks (`name args { ... }`), comments.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Directive {
        name: String,
        args: Vec<String>,
    },
    Block {
        name: String,
        args: Vec<String>,
        children: Vec<Node>,
    },
    Comment(String),
}

fn parse_config(text: &str) -> Result<Vec<Node>, String> {
    let tokens = tokenize(text)?;
    let mut position = 0;
    let nodes = parse_nodes(&tokens, &mut position, false)?;
    if position != tokens.len() {
        return Err("unexpected '}' at the top level".into());
    }
    Ok(nodes)
}

fn parse_nodes(tokens: &[Token], position: &mut usize, nested: bool) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    let mut words: Vec<String> = Vec::new();
    while let Some(token) = tokens.get(*position) {
        *position += 1;
        match token {
            Token::Word(word) => words.push(word.clone()),
            Token::Comment(text) => {
                if !words.is_empty() {
                    // nginx allows this, but no template line has a comment mid-directive.
                    return Err(format!("a comment inside the directive {words:?}"));
                }
                nodes.push(Node::Comment(text.clone()));
            }
            Token::Semicolon => {
                let mut args = std::mem::take(&mut words);
                if args.is_empty() {
                    return Err("unexpected ';'".into());
                }
                let name = args.remove(0);
                nodes.push(Node::Directive { name, args });
            }
            Token::Open => {
                let mut args = std::mem::take(&mut words);
                if args.is_empty() {
                    return Err("unexpected '{'".into());
                }
                let name = args.remove(0);
                let children = parse_nodes(tokens, position, true)?;
                nodes.push(Node::Block {
                    name,
                    args,
                    children,
                });
            }
            Token::Close => {
                if !words.is_empty() {
                    return Err(format!("unexpected '}}' after {words:?}"));
                }
                if !nested {
                    *position -= 1;
                    return Ok(nodes);
                }
                return Ok(nodes);
            }
        }
    }
    if !words.is_empty() {
        return Err(format!("unexpected end of file after {words:?}"));
    }
    if nested {
        return Err("unexpected end of file, expecting '}'".into());
    }
    Ok(nodes)
}

/// The directive tree without values: what a value must never change.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Skeleton {
    Directive(String, usize),
    Block(String, usize, Vec<Skeleton>),
    Comment,
}

/// `user NAME [GROUP]` may carry the group or not depending on the account (whether its
/// primary group is known here), so its argument count is not part of the skeleton; the
/// rendering check pins its arguments instead.
fn skeleton(nodes: &[Node]) -> Vec<Skeleton> {
    nodes
        .iter()
        .map(|node| match node {
            Node::Directive { name, args } if name == "user" && args.len() <= 2 => {
                Skeleton::Directive(name.clone(), 1)
            }
            Node::Directive { name, args } => Skeleton::Directive(name.clone(), args.len()),
            Node::Block {
                name,
                args,
                children,
            } => Skeleton::Block(name.clone(), args.len(), skeleton(children)),
            Node::Comment(_) => Skeleton::Comment,
        })
        .collect()
}

fn comments(nodes: &[Node], into: &mut Vec<String>) {
    for node in nodes {
        match node {
            Node::Comment(text) => into.push(text.clone()),
            Node::Block { children, .. } => comments(children, into),
            Node::Directive { .. } => {}
        }
    }
}

fn find<'a>(nodes: &'a [Node], wanted: &str) -> Vec<&'a Node> {
    nodes
        .iter()
        .filter(|node| match node {
            Node::Directive { name, .. } | Node::Block { name, .. } => name == wanted,
            Node::Comment(_) => false,
        })
        .collect()
}

fn args(node: &Node) -> &[String] {
    match node {
        Node::Directive { args, .. } | Node::Block { args, .. } => args,
        Node::Comment(_) => &[],
    }
}

fn children(node: &Node) -> &[Node] {
    match node {
        Node::Block { children, .. } => children,
        _ => &[],
    }
}

/// The arguments of the one directive `name` among `nodes`, or None when there is none.
fn single<'a>(nodes: &'a [Node], name: &str) -> Result<Option<&'a [String]>, String> {
    match find(nodes, name).as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(args(one))),
        more => Err(format!("{} '{name}' directives", more.len())),
    }
}

// ---------------------------------------------------------------------------------------------
// The tokenizer's own checks, and proof that the oracle sees what an unchecked value would add.

#[test]
fn tokenizer_reads_nginx_syntax() {
    let tree = parse_config(
        "# top\nuser www-data;\nhttp {\n  a \"b;c\" 'd{e}' f\\;g h}i j#k;\n  \
         location = /x { return 301 /x/$is_args$args; }\n  k ${var}x;\n}\n",
    )
    .unwrap();
    assert_eq!(
        tree,
        vec![
            Node::Comment(" top".into()),
            Node::Directive {
                name: "user".into(),
                args: vec!["www-data".into()]
            },
            Node::Block {
                name: "http".into(),
                args: vec![],
                children: vec![
                    Node::Directive {
                        name: "a".into(),
                        args: vec![
                            "b;c".into(),
                            "d{e}".into(),
                            // nginx keeps the backslash of an escape it does not know
                            "f\\;g".into(),
                            "h}i".into(),
                            "j#k".into()
                        ]
                    },
                    Node::Block {
                        name: "location".into(),
                        args: vec!["=".into(), "/x".into()],
                        children: vec![Node::Directive {
                            name: "return".into(),
                            args: vec!["301".into(), "/x/$is_args$args".into()]
                        }]
                    },
                    Node::Directive {
                        name: "k".into(),
                        args: vec!["${var}x".into()]
                    },
                ]
            },
        ]
    );
    assert_eq!(
        tokenize(r#""a\"b\\c\td""#).unwrap(),
        vec![Token::Word("a\"b\\c\td".into())]
    );
    for broken in [
        "a \"b;",
        "a \"b\"c;",
        "a;}",
        "http {",
        "a b",
        ";",
        "{ }",
        "a { b }",
    ] {
        assert!(parse_config(broken).is_err(), "{broken:?} parsed");
    }
}

#[test]
fn the_oracle_sees_what_an_unchecked_value_would_add() {
    let setup = resolve(
        Given {
            domain: Some("example.com".parse().unwrap()),
            ..Given::default()
        },
        &host_facts(),
    )
    .unwrap();
    let conf = nginx_conf(&render(&setup, &fixed_password()).unwrap());
    let baseline = skeleton(&parse_config(&conf).unwrap());
    // What the template would produce if these values reached it unchecked.
    let injections = [
        (
            "server_name example.com;",
            "server_name example.com; return 200;",
        ),
        (
            "server_name example.com;",
            "server_name example.com evil.com;",
        ),
        ("auth_basic \"Prometheus\";", "auth_basic \"Prom\" off;"),
        ("auth_basic \"Prometheus\";", "auth_basic \"Prom\";#\";"),
        (
            "location /prometheus/ {",
            "location /prometheus/ {} location /x/ {",
        ),
        (
            "# https://example.com/prometheus/",
            "# https://example.com/prometheus\nlocation / {}\n#/",
        ),
        (
            "proxy_pass http://promsetup_prometheus/;",
            "proxy_pass http://promsetup_prometheus/ #;",
        ),
        ("server 127.0.0.1:9090;", "server 127.0.0.1:9090 backup;"),
    ];
    // `user www-data;` or `user www-data GROUP;`, whichever the template writes.
    let user_line = conf
        .lines()
        .find(|l| l.starts_with("user www-data"))
        .expect("a user line")
        .to_string();
    let user_injections = [
        user_line.replace(';', "; daemon off;"),
        user_line.replace(';', " www-data root;"),
    ];
    let injections = injections
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .chain(
            user_injections
                .into_iter()
                .map(|injected| (user_line.clone(), injected)),
        );
    for (original, injected) in injections {
        let (original, injected) = (original.as_str(), injected.as_str());
        assert!(conf.contains(original), "{original:?} is not in\n{conf}");
        let changed = conf.replacen(original, injected, 1);
        // A configuration the tokenizer cannot read is seen too.
        if let Ok(tree) = parse_config(&changed) {
            assert_ne!(skeleton(&tree), baseline, "{injected:?} went unseen");
        }
    }
}

// =============================================================================================
// Inputs

/// Raw text for every value, as a user would type it; None leaves promsetup's default.
#[derive(Clone)]
struct Inputs {
    domain: String,
    port: Option<String>,
    prefix: Option<String>,
    username: Option<String>,
    realm: Option<String>,
    upstream: Option<String>,
    conf_dir: Option<String>,
    nginx_user: Option<String>,
    days: Option<String>,
    http_port: Option<String>,
    bind: Option<String>,
    nginx_version: Option<String>,
    tls: TlsMode,
    /// `--enable-lifecycle`, `--enable-admin-api`, `--public-healthcheck`.
    endpoints: [bool; 3],
    password: String,
}

/// How TLS is asked for: the self-signed default, the user's own pair (`--tls-cert`,
/// `--tls-key`, as raw text) or none (`--no-tls`).
#[derive(Debug, Clone)]
enum TlsMode {
    SelfSigned,
    Provided { certificate: String, key: String },
    Off,
}

impl fmt::Debug for Inputs {
    // Escaped so that shrunk failures show control and invisible characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| match v {
            Some(text) => format!("Some({:?})", text.escape_debug().to_string()),
            None => "None".into(),
        };
        writeln!(f, "Inputs {{")?;
        writeln!(f, "  domain: {:?}", self.domain.escape_debug().to_string())?;
        for (name, value) in [
            ("port", &self.port),
            ("prefix", &self.prefix),
            ("username", &self.username),
            ("realm", &self.realm),
            ("upstream", &self.upstream),
            ("conf_dir", &self.conf_dir),
            ("nginx_user", &self.nginx_user),
            ("days", &self.days),
            ("http_port", &self.http_port),
            ("bind", &self.bind),
            ("nginx_version", &self.nginx_version),
        ] {
            writeln!(f, "  {name}: {}", show(value))?;
        }
        match &self.tls {
            TlsMode::Provided { certificate, key } => writeln!(
                f,
                "  tls: Provided {{ certificate: {:?}, key: {:?} }}",
                certificate.escape_debug().to_string(),
                key.escape_debug().to_string()
            )?,
            other => writeln!(f, "  tls: {other:?}")?,
        }
        writeln!(f, "  endpoints: {:?}", self.endpoints)?;
        writeln!(
            f,
            "  password: {:?}",
            self.password.escape_debug().to_string()
        )?;
        write!(f, "}}")
    }
}

/// Characters and strings that end a directive, open a block, start a comment or a variable,
/// or only look like something else.
const HOSTILE: &[&str] = &[
    "\n",
    "\r",
    ";",
    "{",
    "}",
    "\"",
    "'",
    "$",
    "#",
    "\\",
    " ",
    "\t",
    "\0",
    "\x01",
    "\x1b",
    "\x7f",
    "е",
    "／",
    "\u{200b}",
    "\u{202e}",
    "%2e%2e",
    "%2F",
    "%00",
    "..",
    ".",
    "//",
    ":",
    "*",
    "é",
    "; return 200 ok;",
    "\n}\nserver {",
    "\" off;#",
    "${host}",
    "\u{85}",
    "\u{2028}",
];

/// A valid value with something hostile spliced in somewhere.
fn spliced(valid: BoxedStrategy<String>) -> BoxedStrategy<String> {
    (
        valid,
        any::<prop::sample::Index>(),
        prop::sample::select(HOSTILE),
    )
        .prop_map(|(text, at, hostile)| {
            let boundaries: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            let at = boundaries[at.index(boundaries.len())];
            format!("{}{hostile}{}", &text[..at], &text[at..])
        })
        .boxed()
}

/// Mostly valid text, sometimes a valid value with a hostile splice, sometimes arbitrary text.
fn text_for(valid: BoxedStrategy<String>) -> BoxedStrategy<String> {
    prop_oneof![
        12 => valid.clone(),
        4 => spliced(valid),
        1 => any::<String>(),
        1 => "[a-z0-9./:\\[\\] ;{}\"'$#\\\\\\n\\t-]{0,24}",
    ]
    .boxed()
}

fn optional(text: BoxedStrategy<String>) -> BoxedStrategy<Option<String>> {
    prop::option::weighted(0.7, text).boxed()
}

fn dns_label() -> BoxedStrategy<String> {
    prop_oneof![
        "[A-Za-z0-9]",
        "[A-Za-z0-9][A-Za-z0-9-]{0,10}[A-Za-z0-9]",
        "[a-z0-9][a-z0-9-]{61}[a-z0-9]",
        "xn--[a-z0-9]{2,10}",
    ]
    .boxed()
}

fn dns_name() -> BoxedStrategy<String> {
    (
        prop::collection::vec(dns_label(), 0..4),
        "[A-Za-z][A-Za-z0-9-]{0,8}[A-Za-z0-9]|[A-Za-z]",
    )
        .prop_map(|(mut labels, top)| {
            labels.push(top);
            labels.join(".")
        })
        .prop_filter("DNS names are at most 253 characters", |name| {
            name.len() <= 253
        })
        .boxed()
}

fn ipv4() -> BoxedStrategy<String> {
    any::<[u8; 4]>()
        .prop_filter("not 0.0.0.0", |b| *b != [0; 4])
        .prop_map(|b| std::net::Ipv4Addr::from(b).to_string())
        .boxed()
}

fn ipv6() -> BoxedStrategy<String> {
    prop_oneof![
        any::<[u16; 8]>(),
        // Mostly zeros, so "::" compression shows up.
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| [a, 0, 0, 0, 0, 0, 0, b]),
    ]
    .prop_filter("not ::", |s| *s != [0; 8])
    .prop_map(|s| std::net::Ipv6Addr::from(s).to_string())
    .boxed()
}

fn domain() -> BoxedStrategy<String> {
    prop_oneof![
        6 => dns_name(),
        2 => ipv4(),
        1 => ipv6(),
        1 => ipv6().prop_map(|ip| format!("[{ip}]")),
    ]
    .boxed()
}

fn prefix() -> BoxedStrategy<String> {
    let segment = "[A-Za-z0-9._~-]{1,12}".prop_filter("no dot segments", |s| s != "." && s != "..");
    prop_oneof![
        1 => Just("/".to_string()),
        6 => (prop::collection::vec(segment, 1..=4), any::<bool>(), any::<bool>()).prop_map(
            |(segments, lead, trail)| format!(
                "{}{}{}",
                if lead { "/" } else { "" },
                segments.join("/"),
                if trail { "/" } else { "" }
            )
        ),
    ]
    .boxed()
}

fn username() -> BoxedStrategy<String> {
    "[A-Za-z0-9._@+][A-Za-z0-9._@+-]{0,20}|[A-Za-z0-9._@+]{64}".boxed()
}

fn realm() -> BoxedStrategy<String> {
    // Printable ASCII without '"', '\' and '$'; a space only inside.
    "[!#%-\\[\\]-~]|[!#%-\\[\\]-~][ !#%-\\[\\]-~]{0,62}[!#%-\\[\\]-~]".boxed()
}

fn port() -> BoxedStrategy<String> {
    (1u16..=65535).prop_map(|p| p.to_string()).boxed()
}

fn upstream_host() -> BoxedStrategy<String> {
    prop_oneof![
        Just("localhost".to_string()),
        ipv4(),
        ipv6().prop_map(|ip| format!("[{ip}]")),
        dns_name(),
    ]
    .boxed()
}

fn upstream() -> BoxedStrategy<String> {
    (upstream_host(), 1u16..=65535)
        .prop_map(|(host, port)| format!("{host}:{port}"))
        .boxed()
}

fn conf_dir() -> BoxedStrategy<String> {
    let segment = prop_oneof![
        8 => "[A-Za-z0-9_.+@~,-]{1,12}".prop_filter("no '..'", |s| s != ".."),
        1 => Just(".".to_string()),
        1 => Just(String::new()), // "//"
    ];
    (prop::collection::vec(segment, 0..=4), any::<bool>())
        .prop_map(|(segments, trail)| {
            format!("/{}{}", segments.join("/"), if trail { "/" } else { "" })
        })
        .boxed()
}

fn nginx_user() -> BoxedStrategy<String> {
    "[a-z_][a-z0-9_-]{0,31}".boxed()
}

fn days() -> BoxedStrategy<String> {
    (1u32..=825).prop_map(|d| d.to_string()).boxed()
}

fn http_port() -> BoxedStrategy<String> {
    prop_oneof![1 => Just("0".to_string()), 3 => port()].boxed()
}

fn bind() -> BoxedStrategy<String> {
    prop_oneof![ipv4(), ipv6()].boxed()
}

fn tls_mode() -> BoxedStrategy<TlsMode> {
    let file = |ext: &'static str| {
        text_for(
            conf_dir()
                .prop_map(move |dir| format!("{}/server.{ext}", dir.trim_end_matches('/')))
                .boxed(),
        )
    };
    prop_oneof![
        4 => Just(TlsMode::SelfSigned),
        2 => (file("crt"), file("key"))
            .prop_map(|(certificate, key)| TlsMode::Provided { certificate, key }),
        2 => Just(TlsMode::Off),
    ]
    .boxed()
}

fn nginx_version() -> BoxedStrategy<String> {
    prop_oneof![
        Just("1.22.1".to_string()),
        Just("1.25.1".to_string()),
        Just("1.27.4".to_string()),
        "[0-9]{1,2}\\.[0-9]{1,2}(\\.[0-9]{1,2})?",
    ]
    .boxed()
}

fn password() -> BoxedStrategy<String> {
    prop_oneof![
        "[ -~]{1,71}",
        // Multi-byte characters: 71 bytes at most.
        "[a-zé€😀]{1,17}",
    ]
    .boxed()
}

fn inputs() -> impl Strategy<Value = Inputs> {
    let values = (
        text_for(domain()),
        optional(text_for(port())),
        optional(text_for(prefix())),
        optional(text_for(username())),
        optional(text_for(realm())),
        optional(text_for(upstream())),
        optional(text_for(conf_dir())),
        optional(text_for(nginx_user())),
    );
    let more = (
        optional(text_for(days())),
        optional(text_for(http_port())),
        optional(text_for(bind())),
        optional(text_for(nginx_version())),
        tls_mode(),
        any::<[bool; 3]>(),
        password(),
    );
    (values, more).prop_map(
        |(
            (domain, port, prefix, username, realm, upstream, conf_dir, nginx_user),
            (days, http_port, bind, nginx_version, tls, endpoints, password),
        )| Inputs {
            domain,
            port,
            prefix,
            username,
            realm,
            upstream,
            conf_dir,
            nginx_user,
            days,
            http_port,
            bind,
            nginx_version,
            tls,
            endpoints,
            password,
        },
    )
}

// =============================================================================================
// Parsing through the crate's types, counting what each field accepted and refused

const FIELDS: [&str; 14] = [
    "--tls-cert",
    "--tls-key",
    "--domain",
    "--port",
    "--prefix",
    "--username",
    "--realm",
    "--upstream",
    "--conf-dir",
    "--nginx-user",
    "--days",
    "--http-port",
    "--bind",
    "--nginx-version",
];

/// Accepted and refused counts per field, over every case of a test run.
struct Tally {
    accepted: [AtomicUsize; FIELDS.len()],
    refused: [AtomicUsize; FIELDS.len()],
    cases: AtomicUsize,
    conflicts: AtomicUsize,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            accepted: Default::default(),
            refused: Default::default(),
            cases: AtomicUsize::new(0),
            conflicts: AtomicUsize::new(0),
        }
    }

    fn parse<T: std::str::FromStr>(&self, field: &str, text: &Option<String>) -> Option<T> {
        let index = FIELDS
            .iter()
            .position(|f| *f == field)
            .expect("known field");
        let text = text.as_ref()?;
        match text.parse::<T>() {
            Ok(value) => {
                self.accepted[index].fetch_add(1, Ordering::Relaxed);
                Some(value)
            }
            Err(_) => {
                self.refused[index].fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn accepts<T: std::str::FromStr>(&self, field: &str, text: &str) -> bool {
        self.parse::<T>(field, &Some(text.to_string())).is_some()
    }

    fn print(&self, test: &str) {
        eprintln!(
            "{test}: {} cases run ({} of them combinations resolve refuses, such as equal ports)",
            self.cases.load(Ordering::Relaxed),
            self.conflicts.load(Ordering::Relaxed)
        );
        eprintln!("| field | texts accepted | texts refused |");
        eprintln!("|---|---|---|");
        for (i, field) in FIELDS.iter().enumerate() {
            let accepted = self.accepted[i].load(Ordering::Relaxed);
            let refused = self.refused[i].load(Ordering::Relaxed);
            // Fields this test fixes itself (or does not generate) have nothing to show.
            if accepted + refused > 0 {
                eprintln!("| {field} | {accepted} | {refused} |");
            }
        }
    }
}

/// What the case resolved to, with the raw texts that were accepted (for the expectations).
struct Case {
    /// What the case asked for, and what it resolved to.
    given: Given,
    setup: Setup,
    domain_text: String,
    prefix_text: Option<String>,
    upstream_text: Option<String>,
    conf_dir_text: Option<String>,
    /// The raw texts of `--tls-cert` and `--tls-key` when both were accepted.
    provided: Option<(String, String)>,
}

fn host_facts() -> HostFacts {
    HostFacts {
        nginx: promsetup::model::setup::NginxAnswer::known(None),
        nginx_user: Some("www-data".parse().unwrap()),
        // The real lookup: `nginx -t` runs on this host and needs its real groups.
        primary_group: promsetup::host::primary_group,
        site_folder: |_| None,
        prometheus_service: promsetup::model::prometheus_service::PrometheusService::default,
    }
}

fn fixed_password() -> Password {
    Password::new(Zeroizing::new("correct horse battery".to_string())).unwrap()
}

/// Parsed once: parsing the templates costs more than rendering them.
fn templates() -> &'static Templates {
    static TEMPLATES: std::sync::OnceLock<Templates> = std::sync::OnceLock::new();
    TEMPLATES.get_or_init(Templates::embedded)
}

fn render(setup: &Setup, password: &Password) -> Result<Plan, String> {
    plan(
        setup,
        password,
        false,
        OffsetDateTime::now_utc(),
        templates(),
        &Existing::default(),
    )
    .map_err(|e| format!("plan failed: {e}"))
}

fn file<'a>(plan: &'a Plan, name: &str) -> Option<&'a [u8]> {
    plan.artifacts
        .iter()
        .find(|a| a.file_name == name)
        .map(|a| a.contents.as_slice())
}

fn nginx_conf(plan: &Plan) -> String {
    String::from_utf8(file(plan, "nginx.conf").expect("nginx.conf").to_vec()).expect("UTF-8")
}

/// Parses every text; a refused domain falls back to example.com (the case still exercises the
/// other fields). `None` when resolve refuses the combination (conflicting ports).
fn build(inputs: &Inputs, tally: &Tally) -> Option<Case> {
    let domain_text = match tally.parse::<Domain>("--domain", &Some(inputs.domain.clone())) {
        Some(_) => inputs.domain.clone(),
        None => "example.com".to_string(),
    };
    let prefix = tally.parse::<UrlPrefix>("--prefix", &inputs.prefix);
    let upstream = tally.parse::<Upstream>("--upstream", &inputs.upstream);
    let conf_dir = tally.parse::<ServerPath>("--conf-dir", &inputs.conf_dir);
    // Own certificate paths that are refused leave the self-signed default.
    let tls = match &inputs.tls {
        TlsMode::SelfSigned => (TlsChoice::SelfSigned, None),
        TlsMode::Off => (TlsChoice::Off, None),
        TlsMode::Provided { certificate, key } => {
            let certificate = tally.parse::<ServerPath>("--tls-cert", &Some(certificate.clone()));
            let key = tally.parse::<ServerPath>("--tls-key", &Some(key.clone()));
            match (certificate, key) {
                (Some(certificate), Some(key)) => (TlsChoice::Own, Some((certificate, key))),
                _ => (TlsChoice::SelfSigned, None),
            }
        }
    };
    let (tls, own_files) = tls;
    // --days goes only with the self-signed certificate (resolve refuses it otherwise).
    let days = match tls {
        TlsChoice::SelfSigned => tally.parse::<ValidityDays>("--days", &inputs.days),
        _ => None,
    };
    let provided = match &tls {
        TlsChoice::Own => match &inputs.tls {
            TlsMode::Provided { certificate, key } => Some((certificate.clone(), key.clone())),
            _ => None,
        },
        _ => None,
    };
    let given = Given {
        domain: Some(domain_text.parse().unwrap()),
        port: tally.parse::<Port>("--port", &inputs.port),
        prefix: prefix.clone(),
        username: tally.parse::<UserName>("--username", &inputs.username),
        realm: tally.parse::<Realm>("--realm", &inputs.realm),
        upstream: upstream.clone(),
        conf_dir: conf_dir.clone(),
        // The logs go beside the configuration, so `nginx -t` opens none in /var/log.
        log_dir: conf_dir.clone(),
        nginx_user: tally.parse::<SystemUser>("--nginx-user", &inputs.nginx_user),
        days,
        redirect_port: tally.parse::<RedirectPort>("--http-port", &inputs.http_port),
        bind: tally
            .parse::<IpAddr>("--bind", &inputs.bind)
            .into_iter()
            .collect(),
        nginx_version: tally.parse::<Version>("--nginx-version", &inputs.nginx_version),
        tls: Some(tls),
        tls_cert: own_files
            .as_ref()
            .map(|(certificate, _)| certificate.clone()),
        tls_key: own_files.map(|(_, key)| key),
        endpoints: Endpoints {
            lifecycle: inputs.endpoints[0],
            admin_api: inputs.endpoints[1],
            public_healthcheck: inputs.endpoints[2],
            ..Endpoints::default()
        },
        ..Given::default()
    };
    match resolve(given.clone(), &host_facts()) {
        Ok(setup) => Some(Case {
            given,
            setup,
            domain_text,
            prefix_text: prefix.and(inputs.prefix.clone()),
            upstream_text: upstream.and(inputs.upstream.clone()),
            conf_dir_text: conf_dir.and(inputs.conf_dir.clone()),
            provided,
        }),
        Err(SetupError::Conflict(_)) => {
            tally.conflicts.fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(other) => panic!("resolve failed unexpectedly: {other}"),
    }
}

// =============================================================================================
// Expectations, computed from the raw text independently of promsetup's own normalisation

fn ip_of(text: &str) -> Option<IpAddr> {
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text)
        .parse()
        .ok()
}

fn url_host(text: &str) -> String {
    match ip_of(text) {
        Some(IpAddr::V6(ip)) => format!("[{ip}]"),
        Some(IpAddr::V4(ip)) => ip.to_string(),
        None => text.to_ascii_lowercase(),
    }
}

fn expected_prefix(text: Option<&str>) -> String {
    let text = text.unwrap_or("/prometheus");
    let trimmed = text.trim_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        format!("/{trimmed}")
    }
}

fn normalised_path(text: Option<&str>) -> String {
    let text = text.unwrap_or("/etc/nginx");
    let segments: Vec<&str> = text
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    format!("/{}", segments.join("/"))
}

fn in_dir(dir: &str, file: &str) -> String {
    if dir == "/" {
        format!("/{file}")
    } else {
        format!("{dir}/{file}")
    }
}

fn expected_upstream(text: Option<&str>) -> String {
    let text = text.unwrap_or("127.0.0.1:9090");
    let (host, port) = text
        .rsplit_once(':')
        .expect("an accepted upstream has a port");
    let port: u32 = port.parse().expect("an accepted upstream port is a number");
    format!("{}:{port}", url_host(host))
}

/// The `listen` addresses: every IPv4 and IPv6 address without `--bind`, else each one given.
fn listen_text(bind: &[IpAddr], port: u16) -> Vec<String> {
    if bind.is_empty() {
        return vec![port.to_string(), format!("[::]:{port}")];
    }
    bind.iter()
        .map(|ip| match ip {
            IpAddr::V4(ip) => format!("{ip}:{port}"),
            IpAddr::V6(ip) => format!("[{ip}]:{port}"),
        })
        .collect()
}

/// The arguments of every `name` directive among `nodes`.
fn all_args<'a>(nodes: &'a [Node], name: &str) -> Vec<&'a [String]> {
    find(nodes, name).into_iter().map(args).collect()
}

/// What fixes the directive tree besides the options kept from the case (TLS mode, the
/// endpoints, the target versions): everything else is a value inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    tls: &'static str,
    root_prefix: bool,
    redirect: bool,
    ip_domain: bool,
}

fn shape_of(setup: &Setup) -> Shape {
    Shape {
        tls: match setup.tls() {
            Tls::SelfSigned { .. } => "self-signed",
            Tls::Provided { .. } => "provided",
            Tls::Off => "off",
            Tls::Acme { .. } => "acme",
            Tls::LocalCa { .. } => "local-ca",
        },
        root_prefix: setup.prefix().is_root(),
        redirect: setup.redirect_port().is_some(),
        ip_domain: setup.domain().is_ip(),
    }
}

/// The tree of a rendering of the case's own options (TLS mode, endpoints, target versions,
/// whatever else `Given` grows) with every value replaced by a plain one of the same kind.
fn baseline_skeleton(case: &Case) -> Vec<Skeleton> {
    let shape = shape_of(&case.setup);
    let mut given = case.given.clone();
    let value = |text: &str| text.to_string();
    given.domain = Some(
        value(if shape.ip_domain {
            "192.0.2.1"
        } else {
            "example.com"
        })
        .parse()
        .unwrap(),
    );
    given.prefix = Some(
        value(if shape.root_prefix {
            "/"
        } else {
            "/prometheus"
        })
        .parse()
        .unwrap(),
    );
    given.port = Some("8443".parse().unwrap());
    given.redirect_port = Some(
        value(if shape.redirect { "8080" } else { "0" })
            .parse()
            .unwrap(),
    );
    given.username = None;
    given.realm = None;
    given.upstream = None;
    given.conf_dir = None;
    given.nginx_user = None;
    // The bind addresses stay: their number decides how many `listen` lines there are.
    given.bcrypt_cost = Some("4".parse().unwrap()); // the hash is not looked at here
    if given.tls == Some(TlsChoice::Own) {
        given.tls_cert = Some("/etc/ssl/server.crt".parse().unwrap());
        given.tls_key = Some("/etc/ssl/server.key".parse().unwrap());
    }
    let setup = resolve(given, &host_facts()).expect("the baseline resolves");
    assert_eq!(shape_of(&setup), shape, "the baseline has the case's shape");
    let conf = nginx_conf(&render(&setup, &fixed_password()).expect("the baseline renders"));
    skeleton(&parse_config(&conf).expect("the baseline parses"))
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if condition {
        Ok(())
    } else {
        Err(TestCaseError::fail(message()))
    }
}

/// (a) and (b): the rendered files have the baseline's structure and each value in its place.
fn check_rendering(case: &Case, password: &Password, plan: &Plan) -> Result<(), TestCaseError> {
    let setup = &case.setup;
    let conf = nginx_conf(plan);
    let explain = |what: String| format!("{what}\n--- nginx.conf\n{conf}");

    check(!conf.chars().any(|c| c.is_control() && c != '\n'), || {
        explain("nginx.conf holds a control character".into())
    })?;
    let tree = parse_config(&conf).map_err(|e| TestCaseError::fail(explain(e)))?;

    // (a) exactly the directives, arguments, blocks and comments of the baseline
    let shape = shape_of(setup);
    let wanted = baseline_skeleton(case);
    let got = skeleton(&tree);
    check(got == wanted, || {
        explain(format!(
            "the directive tree differs from the baseline for {shape:?}:\n  got    {got:?}\n  \
             wanted {wanted:?}"
        ))
    })?;

    // (b) every value where it belongs
    let tls = setup.tls().is_on();
    let port = setup.port().get();
    let host = url_host(&case.domain_text);
    let dns_name = ip_of(&case.domain_text)
        .is_none()
        .then(|| case.domain_text.to_ascii_lowercase());
    let prefix = expected_prefix(case.prefix_text.as_deref());
    let location = if prefix == "/" {
        "/".to_string()
    } else {
        format!("{prefix}/")
    };
    let conf_dir = normalised_path(case.conf_dir_text.as_deref());
    let upstream = expected_upstream(case.upstream_text.as_deref());
    let default_port = if tls { 443 } else { 80 };
    let origin = if port == default_port {
        format!("{}://{host}", setup.scheme())
    } else {
        format!("{}://{host}:{port}", setup.scheme())
    };
    let external_url = format!("{origin}{location}");
    let stem = match ip_of(&case.domain_text) {
        Some(ip) => ip.to_string().replace(':', "-"),
        None => case.domain_text.to_ascii_lowercase(),
    };
    let fail = |what: String| TestCaseError::fail(explain(what));
    let expect_args = |nodes: &[Node], name: &str, wanted: &[&str]| {
        let got = single(nodes, name).map_err(fail)?;
        check(
            got.is_some_and(|a| a.iter().map(String::as_str).eq(wanted.iter().copied())),
            || explain(format!("'{name}' has {got:?}, wanted {wanted:?}")),
        )
    };

    let user = single(&tree, "user").map_err(fail)?.unwrap_or_default();
    let plain_group = |g: &String| {
        g.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
    };
    check(
        user.first().map(String::as_str) == Some(setup.nginx_user().as_str())
            && user.len() <= 2
            && user.iter().skip(1).all(plain_group),
        || {
            explain(format!(
                "'user' has {user:?}, wanted [{}] and maybe a group",
                setup.nginx_user()
            ))
        },
    )?;
    let mut all_comments = Vec::new();
    comments(&tree, &mut all_comments);
    check(
        all_comments.iter().any(|c| c.trim() == external_url),
        || {
            explain(format!(
                "no comment line is exactly the external URL {external_url}"
            ))
        },
    )?;

    let http = find(&tree, "http");
    let servers = find(children(http[0]), "server");
    let main = children(servers.last().expect("a server block"));
    let wanted_listens: Vec<Vec<String>> = listen_text(setup.bind(), port)
        .into_iter()
        .map(|address| {
            let mut listen_args = vec![address];
            if tls {
                listen_args.push("ssl".into());
                if setup.target().nginx < Version(1, 25, 1) {
                    listen_args.push("http2".into());
                }
            }
            listen_args
        })
        .collect();
    let got_listens = all_args(main, "listen");
    check(got_listens == wanted_listens, || {
        explain(format!(
            "'listen' has {got_listens:?}, wanted {wanted_listens:?}"
        ))
    })?;
    // Keepalive to Prometheus: one upstream block at http level, holding the upstream.
    let upstreams = find(children(http[0]), "upstream");
    check(upstreams.len() == 1, || {
        explain(format!("{} upstream blocks", upstreams.len()))
    })?;
    expect_args(children(upstreams[0]), "server", &[upstream.as_str()])?;
    let upstream_name = args(upstreams[0]).first().cloned().unwrap_or_default();
    match &dns_name {
        Some(name) => expect_args(main, "server_name", &[name.as_str()])?,
        None => check(find(main, "server_name").is_empty(), || {
            explain("an address got a server_name".into())
        })?,
    }
    if tls {
        let (certificate, key) = match &case.provided {
            Some((certificate, key)) => (
                normalised_path(Some(certificate)),
                normalised_path(Some(key)),
            ),
            None => (
                in_dir(&conf_dir, &format!("{stem}.crt")),
                in_dir(&conf_dir, &format!("{stem}.key")),
            ),
        };
        expect_args(main, "ssl_certificate", &[certificate.as_str()])?;
        expect_args(main, "ssl_certificate_key", &[key.as_str()])?;
    }
    if let Some(redirect) = setup.redirect_port() {
        let server = children(servers[0]);
        let wanted: Vec<Vec<String>> = listen_text(setup.bind(), redirect.get())
            .into_iter()
            .map(|address| vec![address])
            .collect();
        let got = all_args(server, "listen");
        check(got == wanted, || {
            explain(format!("redirect 'listen' has {got:?}, wanted {wanted:?}"))
        })?;
        if let Some(name) = &dns_name {
            expect_args(server, "server_name", &[name.as_str()])?;
        }
        let target = format!("{origin}$request_uri");
        expect_args(server, "return", &["308", target.as_str()])?;
    }

    let locations = find(main, "location");
    let proxied = locations
        .iter()
        .find(|l| args(l) == [location.clone()])
        .ok_or_else(|| fail(format!("no 'location {location}'")))?;
    let proxied = children(proxied);
    expect_args(proxied, "auth_basic", &[setup.realm().as_str()])?;
    let htpasswd_path = in_dir(&conf_dir, ".htpasswd");
    expect_args(proxied, "auth_basic_user_file", &[htpasswd_path.as_str()])?;
    let proxy_pass = format!("http://{upstream_name}/");
    expect_args(proxied, "proxy_pass", &[proxy_pass.as_str()])?;
    if prefix != "/" {
        let exact = locations
            .iter()
            .find(|l| args(l) == ["=".to_string(), prefix.clone()])
            .ok_or_else(|| fail(format!("no 'location = {prefix}'")))?;
        let back = format!("{location}$is_args$args");
        expect_args(children(exact), "return", &["301", back.as_str()])?;
        let pattern = prefix[1..].replace('.', "\\.");
        let from = format!("~^/(?!{pattern}/)(.*)$");
        let to = format!("{location}$1");
        expect_args(proxied, "proxy_redirect", &[from.as_str(), to.as_str()])?;
    }

    // the endpoints kept from users, and the one opened to everybody, at the prefix exactly
    let block = |modifier: &str, path: String| {
        locations
            .iter()
            .find(|l| args(l) == [modifier.to_string(), path.clone()])
            .map(|l| children(l))
            .ok_or_else(|| fail(format!("no 'location {modifier} {path}'")))
    };
    // A refused endpoint checks the password first (nginx checks it in this oracle's bundles),
    // then answers 403 from try_files, after the access phase.
    let refused = |children: &[Node]| -> Result<(), TestCaseError> {
        expect_args(children, "auth_basic", &[setup.realm().as_str()])?;
        expect_args(children, "auth_basic_user_file", &[htpasswd_path.as_str()])?;
        expect_args(children, "try_files", &["/.promsetup-refused", "=403"])?;
        check(find(children, "return").is_empty(), || {
            explain("a refused endpoint answers before the password check".into())
        })
    };
    if !setup.endpoints().lifecycle {
        for path in ["-/quit", "-/reload"] {
            refused(block("=", format!("{location}{path}"))?)?;
        }
    }
    if !setup.endpoints().admin_api {
        refused(block("^~", format!("{location}api/v1/admin"))?)?;
    }
    for (enabled, path) in [
        (setup.endpoints().pprof, "debug/pprof"),
        (setup.endpoints().federate, "federate"),
    ] {
        if !enabled {
            refused(block("^~", format!("{location}{path}"))?)?;
        }
    }
    if setup.endpoints().public_healthcheck {
        let healthy = format!("http://{upstream_name}/-/healthy");
        expect_args(
            block("=", format!("{location}-/healthy"))?,
            "proxy_pass",
            &[healthy.as_str()],
        )?;
        check(
            find(block("=", format!("{location}-/healthy"))?, "auth_basic").is_empty(),
            || explain("the public health check asks for a password".into()),
        )?;
    }

    // .htpasswd: one line, the user and a hash of exactly this password
    let htpasswd = String::from_utf8(file(plan, ".htpasswd").expect(".htpasswd").to_vec())
        .map_err(|e| fail(e.to_string()))?;
    let line = htpasswd
        .strip_suffix('\n')
        .filter(|l| !l.contains('\n'))
        .ok_or_else(|| fail(format!(".htpasswd is not one line: {htpasswd:?}")))?;
    let (user, hash) = line
        .split_once(':')
        .ok_or_else(|| fail(format!(".htpasswd line {line:?}")))?;
    check(user == setup.username().as_str(), || {
        format!(".htpasswd user {user:?}")
    })?;
    check(
        bcrypt::verify(password.expose(), hash).unwrap_or(false),
        || ".htpasswd does not verify the password".into(),
    )?;
    let longer = format!("{}x", password.expose());
    check(!bcrypt::verify(&longer, hash).unwrap_or(false), || {
        ".htpasswd verifies the password with an 'x' appended".into()
    })?;

    // prometheus.flags: the three flags and nothing else
    let flags = String::from_utf8(file(plan, "prometheus.flags").expect("flags").to_vec())
        .map_err(|e| fail(e.to_string()))?;
    let mut wanted_flags = format!(
        "--web.external-url={external_url}\n--web.route-prefix=/\n--web.listen-address={upstream}\n"
    );
    if setup.endpoints().lifecycle {
        wanted_flags.push_str("--web.enable-lifecycle\n");
    }
    if setup.endpoints().admin_api {
        wanted_flags.push_str("--web.enable-admin-api\n");
    }
    check(flags == wanted_flags, || {
        format!("prometheus.flags is {flags:?}, wanted {wanted_flags:?}")
    })?;

    // the certificate names the domain and nothing else
    if case.provided.is_some() {
        check(
            file(plan, &format!("{stem}.crt")).is_none()
                && file(plan, &format!("{stem}.key")).is_none(),
            || "the user's own certificate was given, yet one was made".into(),
        )?;
    } else if tls {
        let pem =
            file(plan, &format!("{stem}.crt")).ok_or_else(|| fail("no certificate".into()))?;
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| fail(e.to_string()))?;
        let cert = pem.parse_x509().map_err(|e| fail(e.to_string()))?;
        let san = cert
            .subject_alternative_name()
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| fail("no subjectAltName".into()))?;
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|name| match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => format!("DNS:{dns}"),
                x509_parser::extensions::GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => format!("IP:{}", IpAddr::from(<[u8; 4]>::try_from(*bytes).unwrap())),
                    16 => format!("IP:{}", IpAddr::from(<[u8; 16]>::try_from(*bytes).unwrap())),
                    _ => "IP:?".into(),
                },
                other => format!("{other:?}"),
            })
            .collect();
        let wanted = match (ip_of(&case.domain_text), &dns_name) {
            (Some(ip), _) => format!("IP:{ip}"),
            (None, Some(name)) => format!("DNS:{name}"),
            (None, None) => unreachable!(),
        };
        check(names == [wanted.clone()], || {
            format!("certificate SAN {names:?}, wanted [{wanted}]")
        })?;
    }
    Ok(())
}

// =============================================================================================
// The properties

#[test]
fn values_never_change_the_structure_of_what_is_rendered() {
    let tally = Tally::new();
    let mut runner = runner(cases(DEFAULT_RENDER_CASES));
    let result = runner.run(&inputs(), |inputs| {
        tally.cases.fetch_add(1, Ordering::Relaxed);
        let Some(case) = build(&inputs, &tally) else {
            return Ok(());
        };
        let password = Password::new(Zeroizing::new(inputs.password.clone()))
            .map_err(|e| TestCaseError::fail(format!("generated password refused: {e}")))?;
        let plan = render(&case.setup, &password).map_err(TestCaseError::fail)?;
        check_rendering(&case, &password, &plan)
    });
    tally.print("values_never_change_the_structure_of_what_is_rendered");
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// Every value accepted alone is also safe in the rendered text: the raw accepted text of the
/// free-form fields holds none of the characters that mean something to nginx's parser.
#[test]
fn accepted_text_never_holds_a_directive_character() {
    let tally = Tally::new();
    let mut runner = runner(cases(DEFAULT_RENDER_CASES));
    let result = runner.run(
        &(
            text_for(domain()),
            text_for(prefix()),
            text_for(username()),
            text_for(realm()),
            text_for(upstream()),
            text_for(conf_dir()),
            text_for(nginx_user()),
        ),
        |(domain, prefix, username, realm, upstream, conf_dir, nginx_user)| {
            tally.cases.fetch_add(1, Ordering::Relaxed);
            // Outside quotes (domain, prefix, upstream, user names) nothing but the value's own
            // alphabet; the realm and folders are written in double quotes, where only '"', '\',
            // '$' and control characters could end or change the string.
            let unquoted_bad = |c: char| {
                c.is_whitespace()
                    || c.is_control()
                    || !c.is_ascii()
                    || matches!(c, ';' | '{' | '}' | '"' | '\'' | '$' | '#' | '\\')
            };
            let quoted_bad =
                |c: char| c.is_control() || !c.is_ascii() || matches!(c, '"' | '\\' | '$');
            let checks = [
                (
                    "--domain",
                    &domain,
                    tally.accepts::<Domain>("--domain", &domain),
                    false,
                ),
                (
                    "--prefix",
                    &prefix,
                    tally.accepts::<UrlPrefix>("--prefix", &prefix),
                    false,
                ),
                (
                    "--username",
                    &username,
                    tally.accepts::<UserName>("--username", &username),
                    false,
                ),
                (
                    "--realm",
                    &realm,
                    tally.accepts::<Realm>("--realm", &realm),
                    true,
                ),
                (
                    "--upstream",
                    &upstream,
                    tally.accepts::<Upstream>("--upstream", &upstream),
                    false,
                ),
                (
                    "--conf-dir",
                    &conf_dir,
                    tally.accepts::<ServerPath>("--conf-dir", &conf_dir),
                    true,
                ),
                (
                    "--nginx-user",
                    &nginx_user,
                    tally.accepts::<SystemUser>("--nginx-user", &nginx_user),
                    false,
                ),
            ];
            for (field, text, accepted, quoted) in checks {
                if !accepted {
                    continue;
                }
                let bad = if quoted {
                    text.chars().find(|&c| quoted_bad(c))
                } else {
                    text.chars().find(|&c| unquoted_bad(c))
                };
                check(bad.is_none(), || {
                    format!(
                        "{field} accepted {:?}, which holds {bad:?}",
                        text.escape_debug().to_string()
                    )
                })?;
            }
            Ok(())
        },
    );
    tally.print("accepted_text_never_holds_a_directive_character");
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// nginx reads `auth_basic off` (quoted or not) as "no authentication": the realm must never
/// be that word, or the bundle serves Prometheus to anyone.
#[test]
fn no_accepted_realm_turns_basic_auth_off() {
    let mut runner = runner(cases(DEFAULT_RENDER_CASES));
    let count = AtomicUsize::new(0);
    let realms = prop_oneof![
        1 => prop::sample::select(vec!["off", "Off", "OFF", " off", "off "]).prop_map(String::from),
        4 => text_for(realm()),
    ];
    let result = runner.run(&realms, |text| {
        count.fetch_add(1, Ordering::Relaxed);
        if let Ok(realm) = text.parse::<Realm>() {
            // nginx compares the whole value with "off", byte for byte (ngx_strncmp).
            check(realm.as_str() != "off", || {
                "the realm 'off' is accepted; nginx then serves without authentication".into()
            })?;
        }
        Ok(())
    });
    eprintln!(
        "no_accepted_realm_turns_basic_auth_off: {} cases run",
        count.load(Ordering::Relaxed)
    );
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// (c) nginx itself accepts what was written. Two restrictions, both because `nginx -t` does
/// more than parse: it binds every `listen` address (checked: 192.0.2.1:443 fails with
/// "Cannot assign requested address"), so the bind address is 127.0.0.1, ::1 or none and the
/// ports are free ones from the harness; and it resolves the upstream's host name (an unknown
/// name fails with "host not found in upstream"), so the upstream host is an address or
/// localhost. The worker account must exist here (nginx -t looks it up). The target nginx is the installed one (1.22.1), whose `listen ... http2` form
/// this is; newer forms are covered by the rendering property.
#[test]
fn nginx_accepts_every_rendered_bundle() {
    let Some(nginx) = crate::support::require("nginx") else {
        return;
    };
    let tally = Tally::new();
    let mut runner = runner(cases(DEFAULT_NGINX_CASES));
    let checked = AtomicUsize::new(0);
    let strategy = (
        inputs(),
        prop::option::of(prop::sample::select(vec!["127.0.0.1", "::1"])),
        prop_oneof![
            Just("localhost".to_string()),
            ipv4(),
            ipv6().prop_map(|ip| format!("[{ip}]"))
        ],
        any::<bool>(),
        // Accounts whose primary group has the account's own name; for the others see
        // nginx_accepts_a_worker_account_whose_group_has_another_name.
        prop::sample::select(vec!["www-data", "daemon", "root"]),
    );
    let result = runner.run(
        &strategy,
        |(mut inputs, bind, upstream_host, redirect, worker)| {
            tally.cases.fetch_add(1, Ordering::Relaxed);
            let dir = tempfile::Builder::new()
                .prefix("promsetup-prop-")
                .tempdir()
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let dir_text = dir.path().display().to_string();
            check(dir_text.parse::<ServerPath>().is_ok(), || {
                format!("the temporary folder {dir_text} is not a valid --conf-dir; set TMPDIR")
            })?;
            inputs.conf_dir = Some(dir_text.clone());
            inputs.bind = bind.map(str::to_string);
            let upstream_port = inputs
                .upstream
                .as_deref()
                .and_then(|u| u.rsplit_once(':'))
                .and_then(|(_, p)| p.parse::<Port>().ok())
                .map_or(9090, |p| p.get());
            inputs.upstream = Some(format!("{upstream_host}:{upstream_port}"));
            inputs.port = Some(crate::support::free_port().to_string());
            // The installed nginx cannot load certificate files that do not exist.
            if matches!(inputs.tls, TlsMode::Provided { .. }) {
                inputs.tls = TlsMode::SelfSigned;
            }
            inputs.http_port = Some(if redirect && !matches!(inputs.tls, TlsMode::Off) {
                crate::support::free_port().to_string()
            } else {
                "0".to_string()
            });
            inputs.nginx_version = None;
            // `user` must name an account that exists here, or nginx -t fails in getpwnam().
            inputs.nginx_user = Some(worker.to_string());

            let Some(case) = build(&inputs, &tally) else {
                return Ok(());
            };
            let password = Password::new(Zeroizing::new(inputs.password.clone()))
                .map_err(|e| TestCaseError::fail(format!("generated password refused: {e}")))?;
            let plan = render(&case.setup, &password).map_err(TestCaseError::fail)?;
            check_rendering(&case, &password, &plan)?;

            let bundle = dir.path();
            promsetup::write::apply(
                &plan.files(),
                bundle,
                promsetup::write::Policy {
                    force: false,
                    backups: false,
                },
            )
            .map_err(|e| TestCaseError::fail(format!("writing the bundle failed: {e}")))?;
            let output = nginx_t(&nginx, bundle);
            checked.fetch_add(1, Ordering::Relaxed);
            check(output.0, || {
                format!(
                    "nginx -t refused the bundle:\n{}\n--- nginx.conf\n{}",
                    output.1,
                    nginx_conf(&plan)
                )
            })
        },
    );
    tally.print("nginx_accepts_every_rendered_bundle");
    eprintln!(
        "nginx_accepts_every_rendered_bundle: nginx -t ran on {} bundles",
        checked.load(Ordering::Relaxed)
    );
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// nginx's `user NAME;` without a group means the group called NAME too, which need not exist:
/// Debian's `nobody` is in `nogroup`, and there is no group `nobody`. The `.htpasswd` file goes
/// to the account's primary group (`nogroup`), so `user` must name that group as well.
#[test]
fn nginx_accepts_a_worker_account_whose_group_has_another_name() {
    let Some(nginx) = crate::support::require("nginx") else {
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("promsetup-prop-")
        .tempdir()
        .unwrap();
    let given = Given {
        domain: Some("example.com".parse().unwrap()),
        port: Some(crate::support::free_port().to_string().parse().unwrap()),
        redirect_port: Some("0".parse().unwrap()),
        bind: vec!["127.0.0.1".parse().unwrap()],
        log_dir: Some(dir.path().display().to_string().parse().unwrap()),
        conf_dir: Some(dir.path().display().to_string().parse().unwrap()),
        nginx_user: Some("nobody".parse().unwrap()),
        ..Given::default()
    };
    let setup = resolve(given, &host_facts()).unwrap();
    let plan = render(&setup, &fixed_password()).unwrap();
    promsetup::write::apply(
        &plan.files(),
        dir.path(),
        promsetup::write::Policy {
            force: false,
            backups: false,
        },
    )
    .unwrap();
    let (ok, log) = nginx_t(&nginx, dir.path());
    assert!(
        ok,
        "nginx -t refused the bundle for --nginx-user nobody (group nogroup):\n{log}\n--- \
         nginx.conf\n{}",
        nginx_conf(&plan)
    );
}

/// `nginx -t` on the bundle in `dir`, with its pid file and error log kept in `dir` too.
fn nginx_t(nginx: &Path, dir: &Path) -> (bool, String) {
    let output = Command::new(nginx)
        .arg("-t")
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-g")
        .arg(format!("pid {};", dir.join("nginx.pid").display()))
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdin(Stdio::null())
        .output()
        .expect("run nginx -t");
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    if let Ok(log) = std::fs::read_to_string(dir.join("error.log")) {
        text.push_str(&log);
    }
    (output.status.success(), text)
}

/// The expectation helpers above stay honest only if they agree with the folder rules on the
/// plain cases; this pins a few by hand.
#[test]
fn expectation_helpers_agree_on_known_cases() {
    assert_eq!(normalised_path(Some("//etc/./nginx/")), "/etc/nginx");
    assert_eq!(normalised_path(Some("/")), "/");
    assert_eq!(in_dir("/", ".htpasswd"), "/.htpasswd");
    assert_eq!(expected_prefix(Some("prom/")), "/prom");
    assert_eq!(expected_prefix(Some("///")), "/");
    assert_eq!(expected_upstream(Some("[0:0::1]:90")), "[::1]:90");
    assert_eq!(url_host("Example.COM"), "example.com");
}

#![allow(clippy::disallowed_methods)] // tests arrange password files by hand

//! An injection corpus through the real binary. Every value that reaches a generated file is
//! given hostile text: characters that end a directive or open a block in nginx.conf, start a
//! comment or a variable, break a line in .htpasswd or prometheus.flags, control characters,
//! look-alike and invisible Unicode, overlong names, dot segments and percent-encoding, each
//! alone and embedded in an otherwise valid value. For each (flag, value) the binary must exit
//! with 2, name the flag and its rule on stderr, and write nothing. The same corpus goes
//! through an answers file (`--config`, which can also carry NUL) and the user-name corpus
//! through `user add NAME`; the password gets the same treatment through each of its three ways
//! in. Each test prints how many inputs each field was given (the figures the README quotes).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use x509_parser::prelude::{GeneralName, parse_x509_pem};

const PASSWORD: &str = "correct horse battery";

/// Hostile pieces, each tried alone and at the start, in the middle and at the end of a valid
/// value. argv cannot carry NUL: NUL is tried through the answers file and the password's ways
/// in.
const PIECES: &[(&str, &str)] = &[
    ("\n", "newline"),
    ("\r", "carriage return"),
    (";", "semicolon"),
    ("{", "opening brace"),
    ("}", "closing brace"),
    ("\"", "double quote"),
    ("'", "single quote"),
    ("$", "dollar"),
    ("#", "hash"),
    ("\\", "backslash"),
    ("\x01", "control character SOH"),
    ("\x1b", "escape"),
    ("\x7f", "delete"),
    ("\t", "tab"),
    (" ", "space"),
    ("\u{a0}", "no-break space"),
    ("е", "Cyrillic e"),
    ("／", "fullwidth solidus"),
    ("\u{200b}", "zero-width space"),
    ("\u{202e}", "right-to-left override"),
    ("; return 200;", "a directive"),
    ("\nlocation / {", "a new block"),
    ("\" off;#", "a closed quote and a comment"),
    ("${host}", "a variable"),
    ("%0a", "percent-encoded newline"),
];

/// A flag and a valid value for it, into which the pieces are spliced.
struct Field {
    flag: &'static str,
    valid: &'static str,
    /// Flags the field needs beside it (`--tls-cert` goes with `--tls-key`).
    companions: &'static [&'static str],
    /// Hostile values of this field's own (overlong, dot segments, wrong forms).
    extra: Vec<String>,
}

fn fields() -> Vec<Field> {
    let label64 = "a".repeat(64);
    // 254 characters: three 63-character labels and one of 62, with dots.
    let name254 = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "a".repeat(62));
    assert_eq!(name254.len(), 254);
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut domain_extra = strings(&[
        "",
        ".",
        "..",
        "a..b",
        ".example.com",
        "example.com.",
        "example..com",
        "-a.example.com",
        "a-.example.com",
        "*.example.com",
        "_dmarc.example.com",
        "exa_mple.com",
        "example.com/",
        "example.com//x",
        "example.com:443",
        "http://example.com",
        "user@example.com",
        "[example.com]",
        "example%2ecom",
        "example.com%00",
        "example.com%2F",
        "0.0.0.0",
        "::",
        "[::]",
        "256.1.1.1",
        "192.168.1.1.1",
        "1.2.3",
        "example.123",
        "fe80::1%eth0",
        "[::1",
        "ехаmple.com",  // Cyrillic е and а
        "example．com", // fullwidth full stop
        "example。com", // ideographic full stop
        "ｅｘａｍｐｌｅ.com",
        "exam\u{200b}ple.com",
        "\u{202e}moc.elpmaxe",
        "bücher.example",
        "example.com;evil",
        "example.com evil.com",
        "example.com\nevil.com",
    ]);
    domain_extra.extend([format!("{label64}.com"), format!("www.{label64}"), name254]);
    vec![
        Field {
            flag: "--domain",
            valid: "example.com",
            companions: &[],
            extra: domain_extra,
        },
        Field {
            flag: "--prefix",
            valid: "/prometheus",
            companions: &[],
            extra: {
                let mut v = strings(&[
                    "",
                    ".",
                    "..",
                    "/.",
                    "/..",
                    "/./prom",
                    "/prom/.",
                    "/prom/..",
                    "/a/../b",
                    "/a/./b",
                    "/a//b",
                    "/%2e%2e",
                    "/%2e%2e/etc",
                    "/prom%2Fetheus",
                    "/%2F",
                    "/prom%00",
                    "/%00",
                    "/prom%20x",
                    "/prom?x=1",
                    "/prom#frag",
                    "/prom\nlocation /",
                    "/prom;",
                    "/prom etheus",
                    "/prométheus",
                    "/prom／etheus",
                    "\\prom",
                    "/prom\\..\\x",
                    "/$uri",
                    "/*",
                    "/prom:x",
                    "/prom@x",
                    "/prom+x",
                    "/prom,x",
                    "/prom=x",
                    "/prom(x)",
                    "/prom[x]",
                    "/prom|x",
                    "/prom^x",
                    "/prom`x`",
                    "/prom<x>",
                    "~/prom?",
                ]);
                v.push(format!("/{}", "a".repeat(200)));
                v
            },
        },
        Field {
            flag: "--username",
            valid: "admin",
            companions: &[],
            extra: {
                let mut v = strings(&[
                    "", ":", "ad:min", "admin:", ":admin", "-admin", "admïn",
                    "аdmin", // Cyrillic а
                    "ad min", "admin/x", "admin*", "admin%3a", "ad,min", "ad=min", "(admin)",
                ]);
                v.push("a".repeat(65));
                v
            },
        },
        Field {
            flag: "--realm",
            valid: "Prometheus",
            companions: &[],
            extra: {
                let mut v = strings(&[
                    "",
                    " lead",
                    "trail ",
                    " ",
                    "a\"b",
                    "a\\b",
                    "$remote_user",
                    "${x}",
                    "é",
                    "Prom\netheus",
                    "\t",
                    "Prom\" auth_basic off; #",
                    "Prom\\\"",
                    // nginx reads `auth_basic off` as "no authentication": see auth_matrix.rs.
                    "off",
                ]);
                v.push("a".repeat(65));
                v
            },
        },
        Field {
            flag: "--upstream",
            valid: "127.0.0.1:9090",
            companions: &[],
            extra: strings(&[
                "",
                "127.0.0.1",
                ":9090",
                "::1:9090",
                "[::1]",
                "[::1]:",
                "127.0.0.1:",
                "127.0.0.1:0",
                "127.0.0.1:65536",
                "127.0.0.1:90;90",
                "127.0.0.1:9090/x",
                "127.0.0.1:9090/",
                "127.0.0.1:9090?x",
                "http://127.0.0.1:9090",
                "unix:/run/prometheus.sock",
                "host name:9090",
                "bücher.example:9090",
                "ехаmple.com:9090",
                "0.0.0.0:9090",
                "[::]:9090",
                "$host:9090",
                "127.0.0.1:$port",
                "[127.0.0.1:9090",
                "127.0.0.1]:9090",
                "127.0.0.1:9090 backup",
                "127.0.0.1:0x2382",
            ]),
        },
        Field {
            flag: "--conf-dir",
            valid: "/etc/nginx",
            companions: &[],
            extra: {
                let mut v = strings(&[
                    "",
                    ".",
                    "..",
                    "etc/nginx",
                    "./nginx",
                    "~/nginx",
                    "/etc/../root",
                    "/etc/nginx/..",
                    "/..",
                    "/etc/nginx%2F..",
                    "/etc/ngіnx", // Cyrillic і
                    "/etc/nginx\u{200b}",
                    "data:/etc/nginx",
                    "/etc/nginx:",
                    "/etc/nginx*",
                    "/etc/nginx?",
                    "/etc/nginx=x",
                ]);
                v.push(format!("/{}", "a".repeat(1024)));
                v
            },
        },
        Field {
            flag: "--tls-cert",
            valid: "/etc/ssl/prom.crt",
            companions: &["--tls-key=/etc/ssl/prom.key"],
            extra: strings(&[
                "",
                "prom.crt",
                "/etc/ssl/../prom.crt",
                "data:-----BEGIN CERTIFICATE-----",
                "engine:pkcs11:id",
                "/etc/ssl/prom.crt\nssl_certificate_key /x",
            ]),
        },
        Field {
            flag: "--acme-dir",
            valid: "/etc/letsencrypt",
            companions: &["--tls=acme"],
            extra: strings(&[
                "",
                "letsencrypt",
                "/etc/../letsencrypt",
                "/etc/letsencrypt/..",
            ]),
        },
        Field {
            flag: "--acme-email",
            valid: "ops@example.com",
            companions: &["--tls=acme"],
            extra: strings(&[
                "",
                "ops",
                "ops@",
                "@example.com",
                "ops@192.0.2.1",
                "ops@example.com\n--server=https://evil.example/dir",
            ]),
        },
        Field {
            flag: "--acme-server",
            valid: "https://acme.example/dir",
            companions: &["--tls=acme"],
            extra: strings(&[
                "",
                "http://acme.example/dir",
                "https://",
                "file:///etc/passwd",
                "https://acme.example/dir --deploy-hook=sh",
            ]),
        },
        Field {
            flag: "--tls-key",
            valid: "/etc/ssl/prom.key",
            companions: &["--tls-cert=/etc/ssl/prom.crt"],
            extra: strings(&[
                "",
                "prom.key",
                "/etc/ssl/../prom.key",
                "data:-----BEGIN PRIVATE KEY-----",
                "engine:pkcs11:id",
            ]),
        },
        Field {
            flag: "--nginx-user",
            valid: "www-data",
            companions: &[],
            extra: {
                let mut v = strings(&[
                    "",
                    "Root",
                    "WWW-DATA",
                    "1user",
                    "-www",
                    "www data",
                    "www-data www-data",
                    "www-dаta", // Cyrillic а
                    "root:root",
                    "www.data",
                    "www@data",
                    "www+data",
                ]);
                v.push("a".repeat(33));
                v
            },
        },
        Field {
            flag: "--bind",
            valid: "127.0.0.1",
            companions: &[],
            extra: strings(&[
                "",
                "localhost",
                "127.0.0.1:80",
                // "[::1]" is accepted, as --domain accepts brackets.
                "[::1]:80",
                "::1%lo",
                "127.1",
                "0x7f.0.0.1",
                "127.0.0.01",
                "1.2.3.4.5",
                "*",
                "unix:/run/nginx.sock",
                "example.com",
            ]),
        },
        Field {
            flag: "--prometheus-dir",
            valid: "/etc/prometheus",
            companions: &["--auth=prometheus"],
            extra: strings(&[
                "",
                "etc/prometheus",
                "/etc/../prometheus",
                "/etc/prometheus/..",
                "~/prometheus",
                "/etc/prometheus:",
                "/etc/prometheus*",
            ]),
        },
        Field {
            flag: "--prometheus-user",
            valid: "prometheus",
            companions: &["--auth=prometheus"],
            extra: strings(&[
                "",
                "Prometheus",
                "1prometheus",
                "-prometheus",
                "prometheus prometheus",
                "prоmetheus", // Cyrillic о
                "prometheus:prometheus",
                &"p".repeat(33),
            ]),
        },
        number_field("--port", "8443", &["0", "65536", "99999999999"]),
        number_field("--http-port", "8080", &["65536", "-0"]),
        number_field("--days", "397", &["0", "826", "1000000"]),
        number_field("--renew-days", "30", &["826", "1000000"]),
        number_field("--bcrypt-cost", "5", &["3", "32", "0"]),
        version_field("--nginx-version", "1.22.1"),
        version_field("--openssl-version", "3.0.0"),
    ]
}

fn number_field(flag: &'static str, valid: &'static str, out_of_range: &[&str]) -> Field {
    let mut extra: Vec<String> = [
        "", " ", "-1", "1e3", "0x1bb", "0o17", "1_000", "44.0", "4 43", "44３", "٤٤٣", "NaN",
        "inf", "$port",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    extra.extend(out_of_range.iter().map(|s| s.to_string()));
    Field {
        flag,
        valid,
        companions: &[],
        extra,
    }
}

fn version_field(flag: &'static str, valid: &'static str) -> Field {
    Field {
        flag,
        valid,
        companions: &[],
        extra: [
            "",
            "v1.22.1",
            "1.22.1.4",
            "1..22",
            "1.x",
            "1.22.1-1",
            "1.22.1 (Ubuntu)",
            "1.22.1/x",
            "99999999999",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    }
}

/// The realm is written in double quotes, where `;`, `{`, `}`, `'`, `#` and spaces inside are
/// plain text: its documented rule (printable ASCII without `"`, `\`, `$`, no space at either
/// end, 1 to 64 characters) accepts them, and `realm_quoted_safely` checks they stay text.
fn realm_rule_accepts(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| (' '..='~').contains(&c) && !matches!(c, '"' | '\\' | '$'))
        && !value.starts_with(' ')
        && !value.ends_with(' ')
}

/// Every hostile value of a field: the pieces at the start, middle and end of its valid value,
/// then its own extra values; without duplicates.
fn corpus(field: &Field) -> Vec<String> {
    let valid = field.valid;
    let middle = valid
        .char_indices()
        .map(|(i, _)| i)
        .nth(valid.chars().count() / 2)
        .unwrap_or(valid.len());
    let mut values = Vec::new();
    for (piece, _) in PIECES {
        values.push(format!("{piece}{valid}"));
        values.push(format!("{}{piece}{}", &valid[..middle], &valid[middle..]));
        values.push(format!("{valid}{piece}"));
        values.push(piece.to_string());
    }
    values.extend(field.extra.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    values.retain(|v| seen.insert(v.clone()));
    if field.flag == "--realm" {
        // `off` is hostile for a reason its rule does not know yet; keep it.
        values.retain(|v| v == "off" || !realm_rule_accepts(v));
    }
    values
}

fn show(value: &str) -> String {
    format!("\"{}\"", value.escape_debug())
}

fn run(args: &[String], stdin: &[u8], env: Option<OsString>) -> Output {
    let mut cmd = crate::support::promsetup_command();
    cmd.args(args).write_stdin(stdin.to_vec());
    if let Some(value) = env {
        cmd.env("PROMSETUP_PASSWORD", value);
    }
    cmd.output().expect("run promsetup")
}

/// `--non-interactive --domain example.com --out OUT --password-stdin`, with `flag` (when given)
/// taken out so that the value under test replaces it.
fn base_args(out: &Path, without: Option<&str>) -> Vec<String> {
    // A whole nginx.conf whatever this host's nginx includes (the default would follow it).
    let mut args = vec!["--non-interactive".to_string()];
    if without != Some("--nginx-layout") {
        args.extend(["--nginx-layout".to_string(), "full".to_string()]);
    }
    if without != Some("--domain") {
        args.extend(["--domain".to_string(), "example.com".to_string()]);
    }
    args.extend([
        "--out".to_string(),
        out.display().to_string(),
        "--password-stdin".to_string(),
    ]);
    args
}

/// What the binary must do with a refused value: exit 2, name `source` on stderr and say after
/// it why, write nothing. Returns a description of every way it fell short.
fn refusal_problems(output: &Output, source: &str, value: Option<&str>, out: &Path) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut problems = Vec::new();
    if output.status.code() != Some(2) {
        problems.push(format!("exit status {:?}, not 2", output.status.code()));
    }
    match stderr.find(source) {
        None => problems.push(format!("stderr does not name {source}")),
        Some(at) => {
            // The rule comes after the name: clap's "for '--flag <NAME>': RULE", promsetup's
            // "from standard input is not accepted: RULE" or "answers.toml: key: RULE". The
            // value itself, which a message may quote, is not an explanation.
            let rest = &stderr[at + source.len()..];
            let explanation = rest.split_once(": ").map_or("", |(_, rule)| rule);
            let explanation = match value {
                Some(value) if !value.is_empty() => explanation.replacen(value, "", 1),
                _ => explanation.to_string(),
            };
            let paragraph = explanation.split("\n\n").next().unwrap_or_default();
            let letters = paragraph.chars().filter(|c| c.is_alphabetic()).count();
            if letters < 10 {
                problems.push(format!("no rule is given after {source}"));
            }
        }
    }
    if out.exists() {
        problems.push(format!("{} was written", out.display()));
    }
    if !problems.is_empty() {
        problems.push(format!("stderr: {}", show(&stderr)));
    }
    problems
}

/// Runs `jobs` on every core: each is a promsetup run of its own.
fn in_parallel<T: Sync>(jobs: &[T], work: impl Fn(&T) + Sync) {
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get().min(16));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    work(job);
                }
            });
        }
    });
}

fn print_summary(title: &str, counts: &BTreeMap<String, (usize, usize)>) {
    let total: usize = counts.values().map(|(tried, _)| tried).sum();
    eprintln!("\n{title}: {total} hostile inputs");
    eprintln!("| field | inputs tried | refused as required |");
    eprintln!("|---|---|---|");
    for (field, (tried, refused)) in counts {
        eprintln!("| {field} | {tried} | {refused} |");
    }
}

#[test]
fn every_flag_refuses_its_hostile_corpus_and_writes_nothing() {
    let fields = fields();
    let jobs: Vec<(&Field, String)> = fields
        .iter()
        .flat_map(|field| corpus(field).into_iter().map(move |value| (field, value)))
        .collect();
    let counts: Mutex<BTreeMap<String, (usize, usize)>> = Mutex::new(BTreeMap::new());
    let failures = Mutex::new(Vec::new());
    in_parallel(&jobs, |(field, value)| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let mut args = base_args(&out, Some(field.flag));
        args.extend(field.companions.iter().map(|s| s.to_string()));
        args.push(format!("{}={value}", field.flag));
        let output = run(&args, format!("{PASSWORD}\n").as_bytes(), None);
        let problems = refusal_problems(&output, field.flag, Some(value), &out);
        let mut counts = counts.lock().unwrap();
        let entry = counts.entry(field.flag.to_string()).or_default();
        entry.0 += 1;
        if problems.is_empty() {
            entry.1 += 1;
        } else {
            failures.lock().unwrap().push(format!(
                "{}={}: {}",
                field.flag,
                show(value),
                problems.join("; ")
            ));
        }
    });
    print_summary(
        "every_flag_refuses_its_hostile_corpus_and_writes_nothing",
        &counts.lock().unwrap(),
    );
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} hostile values were not refused as required:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The same corpus through the other ways a value comes in

/// A TOML basic string holding `value` exactly: quotes, backslashes and control characters
/// (NUL included, which argv cannot carry) escaped.
fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c != '\t' && (c.is_control() && (c as u32) < 0x80) => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `--config FILE`: every value in an answers file obeys its flag's rule. Errors name the file
/// and the key. The file can carry NUL, so NUL is tried here too.
#[test]
fn the_answers_file_refuses_the_same_corpus_and_writes_nothing() {
    let fields = fields();
    let jobs: Vec<(&Field, String)> = fields
        .iter()
        .flat_map(|field| {
            let valid = field.valid;
            let mut values = corpus(field);
            values.extend([
                "\0".to_string(),
                format!("{valid}\0"),
                format!("\0{valid}"),
                format!("{valid}\0; return 200;"),
            ]);
            values.into_iter().map(move |value| (field, value))
        })
        .collect();
    let counts: Mutex<BTreeMap<String, (usize, usize)>> = Mutex::new(BTreeMap::new());
    let failures = Mutex::new(Vec::new());
    in_parallel(&jobs, |(field, value)| {
        let key = field.flag.trim_start_matches("--");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let config = dir.path().join("answers.toml");
        let mut toml = String::new();
        if key != "domain" {
            toml.push_str("domain = \"example.com\"\n");
        }
        for companion in field.companions {
            let (k, v) = companion.trim_start_matches("--").split_once('=').unwrap();
            toml.push_str(&format!("{k} = {}\n", toml_string(v)));
        }
        if key.starts_with("tls-") {
            toml.push_str("tls = \"own\"\n");
        }
        toml.push_str(&format!("{key} = {}\n", toml_string(value)));
        std::fs::write(&config, &toml).unwrap();
        let args: Vec<String> = vec![
            "--non-interactive".into(),
            format!("--config={}", config.display()),
            format!("--out={}", out.display()),
            "--password-stdin".into(),
        ];
        let output = run(&args, format!("{PASSWORD}\n").as_bytes(), None);
        let problems =
            refusal_problems(&output, &format!("answers.toml: {key}"), Some(value), &out);
        let mut counts = counts.lock().unwrap();
        let entry = counts.entry(key.to_string()).or_default();
        entry.0 += 1;
        if problems.is_empty() {
            entry.1 += 1;
        } else {
            failures.lock().unwrap().push(format!(
                "{key} = {}: {}",
                toml_string(value),
                problems.join("; ")
            ));
        }
    });
    print_summary(
        "the_answers_file_refuses_the_same_corpus_and_writes_nothing",
        &counts.lock().unwrap(),
    );
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} hostile answers were not refused as required:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `promsetup user add NAME` writes NAME into .htpasswd (and web.yml): the user-name corpus
/// must be refused there too, naming the argument, before the bundle is touched.
#[test]
fn user_add_refuses_the_user_name_corpus() {
    let fields = fields();
    let field = fields.iter().find(|f| f.flag == "--username").unwrap();
    let names = corpus(field);
    let failures = Mutex::new(Vec::new());
    in_parallel(&names, |name| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let args: Vec<String> = vec![
            "user".into(),
            "add".into(),
            format!("--dir={}", out.display()),
            "--password-stdin".into(),
            "--".into(),
            name.clone(),
        ];
        let output = run(&args, format!("{PASSWORD}\n").as_bytes(), None);
        let problems = refusal_problems(&output, "<NAME>", Some(name), &out);
        if !problems.is_empty() {
            failures.lock().unwrap().push(format!(
                "user add {}: {}",
                show(name),
                problems.join("; ")
            ));
        }
    });
    eprintln!(
        "user_add_refuses_the_user_name_corpus: {} names",
        names.len()
    );
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The password, through each of its three ways in

enum Way {
    Stdin(Vec<u8>),
    Environment(OsString),
    /// The file's contents; None for a path that does not exist, Some(None) for a folder.
    File(Option<Option<Vec<u8>>>),
}

fn password_corpus() -> Vec<(String, Way)> {
    let over = |n: usize| "x".repeat(n).into_bytes();
    let mut cases: Vec<(String, Way)> = Vec::new();
    let contents: Vec<(&str, Vec<u8>)> = vec![
        ("empty", b"".to_vec()),
        ("an empty line", b"\n".to_vec()),
        ("an empty line with CR", b"\r\n".to_vec()),
        ("a CR inside", b"pass\rword\n".to_vec()),
        ("a NUL inside", b"pass\0word\n".to_vec()),
        ("a NUL alone", b"\0\n".to_vec()),
        ("a NUL at the end", b"password\0\n".to_vec()),
        ("72 bytes", over(72)),
        (
            "72 bytes and a newline",
            [over(72), b"\n".to_vec()].concat(),
        ),
        ("200 bytes", over(200)),
        (
            "36 two-byte characters (72 bytes)",
            "é".repeat(36).into_bytes(),
        ),
        (
            "71 bytes and a two-byte character",
            [over(71), "é".as_bytes().to_vec()].concat(),
        ),
        ("invalid UTF-8", b"pass\xff\xfeword\n".to_vec()),
        ("an empty first line", b"\nsecret\n".to_vec()),
    ];
    for (what, bytes) in &contents {
        cases.push((format!("stdin: {what}"), Way::Stdin(bytes.clone())));
        cases.push((
            format!("file: {what}"),
            Way::File(Some(Some(bytes.clone()))),
        ));
        // The environment cannot carry NUL; and it is taken whole, not by lines.
        if !bytes.contains(&0) {
            cases.push((
                format!("PROMSETUP_PASSWORD: {what}"),
                Way::Environment(OsString::from_vec(bytes.clone())),
            ));
        }
    }
    for (what, value) in [
        ("a newline inside", "pass\nword"),
        ("a trailing newline", "password\n"),
        ("a leading newline", "\npassword"),
    ] {
        cases.push((
            format!("PROMSETUP_PASSWORD: {what}"),
            Way::Environment(value.into()),
        ));
    }
    cases.push(("file: a path that does not exist".into(), Way::File(None)));
    cases.push(("file: a folder".into(), Way::File(Some(None))));
    cases
}

#[test]
fn every_way_in_refuses_a_bad_password_and_writes_nothing() {
    let cases = password_corpus();
    let counts: Mutex<BTreeMap<String, (usize, usize)>> = Mutex::new(BTreeMap::new());
    let failures = Mutex::new(Vec::new());
    in_parallel(&cases, |(what, way)| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let mut args = base_args(&out, None);
        args.retain(|a| a != "--password-stdin");
        let (field, source, stdin, env) = match way {
            Way::Stdin(bytes) => {
                args.push("--password-stdin".into());
                (
                    "--password-stdin",
                    "standard input".to_string(),
                    bytes.clone(),
                    None,
                )
            }
            Way::Environment(value) => (
                "PROMSETUP_PASSWORD",
                "PROMSETUP_PASSWORD".to_string(),
                Vec::new(),
                Some(value.clone()),
            ),
            Way::File(contents) => {
                let path: PathBuf = dir.path().join("password");
                match contents {
                    Some(Some(bytes)) => std::fs::write(&path, bytes).unwrap(),
                    Some(None) => std::fs::create_dir(&path).unwrap(),
                    None => {}
                }
                args.extend(["--password-file".into(), path.display().to_string()]);
                (
                    "--password-file",
                    path.display().to_string(),
                    Vec::new(),
                    None,
                )
            }
        };
        let output = run(&args, &stdin, env);
        let problems = refusal_problems(&output, &source, None, &out);
        let mut counts = counts.lock().unwrap();
        let entry = counts.entry(field.to_string()).or_default();
        entry.0 += 1;
        if problems.is_empty() {
            entry.1 += 1;
        } else {
            failures
                .lock()
                .unwrap()
                .push(format!("{what}: {}", problems.join("; ")));
        }
    });
    print_summary(
        "every_way_in_refuses_a_bad_password_and_writes_nothing",
        &counts.lock().unwrap(),
    );
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} bad passwords were not refused as required:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Standard input and password files give their first line (documented): what follows a
/// newline is not part of the password, and the hash is of the first line only.
#[test]
fn a_newline_ends_the_password_read_from_stdin_or_a_file() {
    for use_file in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let mut args = base_args(&out, None);
        let stdin: &[u8] = if use_file {
            let path = dir.path().join("password");
            std::fs::write(&path, "first line\nsecond line\n").unwrap();
            args.retain(|a| a != "--password-stdin");
            args.extend(["--password-file".into(), path.display().to_string()]);
            b""
        } else {
            b"first line\nsecond line\n"
        };
        let output = run(&args, stdin, None);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let line = std::fs::read_to_string(out.join(".htpasswd")).unwrap();
        let hash = line.trim_end().split_once(':').unwrap().1;
        assert!(bcrypt::verify("first line", hash).unwrap());
        assert!(!bcrypt::verify("first line\nsecond line", hash).unwrap_or(false));
        assert!(
            !out.join("password.txt").exists(),
            "a given password is never stored"
        );
    }
}

/// The boundary: 71 bytes is accepted and hashed whole.
#[test]
fn a_71_byte_password_is_accepted_and_hashed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let password = format!("{}é", "p".repeat(69)); // 71 bytes
    assert_eq!(password.len(), 71);
    let output = run(
        &base_args(&out, None),
        format!("{password}\n").as_bytes(),
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let line = std::fs::read_to_string(out.join(".htpasswd")).unwrap();
    let hash = line.trim_end().split_once(':').unwrap().1;
    assert!(bcrypt::verify(&password, hash).unwrap());
    assert!(!bcrypt::verify(&password[..69], hash).unwrap());
    assert!(!bcrypt::verify(format!("{password}x"), hash).unwrap_or(false));
}

// ---------------------------------------------------------------------------------------------
// Values that look odd but are accepted: each must reach the files in its normal form only

fn written(out: &Path, file: &str) -> String {
    std::fs::read_to_string(out.join(file))
        .unwrap_or_else(|e| panic!("cannot read {file} in {}: {e}", out.display()))
}

fn conf_lines(out: &Path) -> Vec<String> {
    written(out, "nginx.conf")
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.starts_with('#'))
        .collect()
}

#[test]
fn odd_but_valid_values_reach_the_files_in_their_normal_form() {
    let label63 = format!("{}.com", "b".repeat(63));
    // (flag, value, a line nginx.conf must hold, text no generated file may hold)
    let cases: Vec<(&str, String, String, Option<&str>)> = vec![
        (
            "--domain",
            "EXAMPLE.Com".into(),
            "server_name example.com;".into(),
            Some("EXAMPLE"),
        ),
        (
            "--domain",
            label63.clone(),
            format!("server_name {label63};"),
            None,
        ),
        (
            "--prefix",
            "prometheus/".into(),
            "location /prometheus/ {".into(),
            None,
        ),
        (
            "--prefix",
            "//prom//".into(),
            "location /prom/ {".into(),
            Some("//prom/"),
        ),
        (
            "--prefix",
            "/a.b~c_d-e".into(),
            "proxy_redirect ~^/(?!a\\.b~c_d-e/)(.*)$ /a.b~c_d-e/$1;".into(),
            None,
        ),
        (
            "--port",
            "+8443".into(),
            "listen 8443 ssl http2;".into(),
            Some("+8443"),
        ),
        (
            "--port",
            "08443".into(),
            "listen 8443 ssl http2;".into(),
            Some("08443"),
        ),
        (
            "--upstream",
            "[127.0.0.1]:9090".into(),
            "server 127.0.0.1:9090;".into(),
            Some("[127.0.0.1]"),
        ),
        (
            "--upstream",
            "[0:0::1]:9090".into(),
            "server [::1]:9090;".into(),
            Some("0:0::1"),
        ),
        (
            "--conf-dir",
            "//etc/./nginx/".into(),
            "auth_basic_user_file \"/etc/nginx/.htpasswd\";".into(),
            Some("/./"),
        ),
        (
            "--bind",
            "::ffff:127.0.0.1".into(),
            "listen [::ffff:127.0.0.1]:443 ssl http2;".into(),
            None,
        ),
    ];
    let mut failures = Vec::new();
    for (flag, value, wanted, never) in &cases {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let mut args = base_args(&out, Some(flag));
        args.push(format!("{flag}={value}"));
        let output = run(&args, format!("{PASSWORD}\n").as_bytes(), None);
        if output.status.code() != Some(0) {
            failures.push(format!(
                "{flag}={}: exit {:?}: {}",
                show(value),
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            ));
            continue;
        }
        if !conf_lines(&out).iter().any(|l| l == wanted) {
            failures.push(format!(
                "{flag}={}: nginx.conf has no line {wanted:?}:\n{}",
                show(value),
                written(&out, "nginx.conf")
            ));
        }
        if let Some(never) = never {
            for file in ["nginx.conf", "prometheus.flags"] {
                if written(&out, file).contains(never) {
                    failures.push(format!("{flag}={}: {file} holds {never:?}", show(value)));
                }
            }
        }
    }
    eprintln!(
        "odd_but_valid_values_reach_the_files_in_their_normal_form: {} inputs",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A DNS name may be 253 characters long, and `--domain` accepts that; the certificate and key
/// files are named after it. The run must then either write the whole bundle, or refuse the
/// value (exit 2) before writing anything: never fail half-way through with some files written
/// (which leaves an nginx.conf pointing at a certificate that is not there).
#[test]
fn the_longest_valid_domain_is_written_whole_or_refused_before_writing() {
    let mut failures = Vec::new();
    for last in [40, 61] {
        let name = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "a".repeat(last));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let mut args = base_args(&out, Some("--domain"));
        args.push(format!("--domain={name}"));
        let output = run(&args, format!("{PASSWORD}\n").as_bytes(), None);
        let left: Vec<String> = std::fs::read_dir(&out)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0) => {
                if !conf_lines(&out).contains(&format!("server_name {name};")) {
                    failures.push(format!(
                        "{}-character name: not the server_name",
                        name.len()
                    ));
                }
            }
            Some(2) if left.is_empty() => {}
            code => failures.push(format!(
                "{}-character name: exit {code:?}, files left in the bundle: {left:?}; \
                 stderr: {stderr}",
                name.len()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Inside the realm's double quotes `;`, `{`, `}`, `'`, `#` and inner spaces are plain text: the
/// realm is accepted, written as one argument, and nginx reads the file.
#[test]
fn realm_characters_that_nginx_reads_as_syntax_stay_inside_the_quotes() {
    let realm = "Prom; return 200; {x} #y 'z' }";
    let dir = crate::support::traversable_tempdir();
    let out = dir.path().join("bundle");
    let mut args = base_args(&out, Some("--realm"));
    args.extend([
        format!("--realm={realm}"),
        format!("--conf-dir={}", out.display()),
        "--bind=127.0.0.1".into(),
        format!("--port={}", crate::support::free_port()),
        "--http-port=0".into(),
    ]);
    let output = run(&args, format!("{PASSWORD}\n").as_bytes(), None);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let conf = written(&out, "nginx.conf");
    assert!(
        conf.contains(&format!("auth_basic \"{realm}\";")),
        "the realm is not written as one quoted argument:\n{conf}"
    );
    if crate::support::require("nginx").is_some() {
        let check = crate::support::nginx_test(&out.join("nginx.conf"));
        assert!(check.status.success(), "nginx -t: {check:?}\n{conf}");
    }
}

// ---------------------------------------------------------------------------------------------
// Internationalised domain names

#[test]
fn international_names_are_refused_with_a_hint_to_the_xn_form() {
    let names = [
        "bücher.example",
        "BÜCHER.example",
        "münchen.de",
        "例え.テスト",
        "пример.рф",
        "ехаmple.com",  // Cyrillic look-alikes of e and a
        "example。com", // ideographic full stop, which IDNA maps to a dot
        "ｅｘａｍｐｌｅ.com",
        "xn--bcher-kva.ü",
    ];
    let mut failures = Vec::new();
    let mut tried = 0;
    for name in names {
        for (flag, value) in [
            ("--domain", name.to_string()),
            ("--upstream", format!("{name}:9090")),
        ] {
            tried += 1;
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("bundle");
            let mut args = base_args(&out, Some(flag));
            args.push(format!("{flag}={value}"));
            let output = run(&args, format!("{PASSWORD}\n").as_bytes(), None);
            let mut problems = refusal_problems(&output, flag, Some(&value), &out);
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !stderr.contains("xn--") {
                problems.push(format!("no hint to the xn-- form: {}", show(&stderr)));
            }
            if !problems.is_empty() {
                failures.push(format!("{flag}={}: {}", show(&value), problems.join("; ")));
            }
        }
    }
    eprintln!("international_names_are_refused_with_a_hint_to_the_xn_form: {tried} inputs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_xn_name_is_the_same_in_server_name_certificate_and_flags() {
    for given in ["xn--bcher-kva.example", "XN--Bcher-KVA.Example"] {
        let name = "xn--bcher-kva.example";
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        let mut args = base_args(&out, Some("--domain"));
        args.push(format!("--domain={given}"));
        let output = run(&args, format!("{PASSWORD}\n").as_bytes(), None);
        assert_eq!(output.status.code(), Some(0), "{output:?}");

        let lines = conf_lines(&out);
        let server_names: Vec<_> = lines
            .iter()
            .filter(|l| l.starts_with("server_name "))
            .collect();
        assert!(!server_names.is_empty());
        for line in server_names {
            assert_eq!(line, &format!("server_name {name};"));
        }

        let pem = std::fs::read(out.join(format!("{name}.crt"))).unwrap();
        let (_, pem) = parse_x509_pem(&pem).unwrap();
        let cert = pem.parse_x509().unwrap();
        let san: Vec<String> = cert
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(dns) => dns.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(san, [name]);

        let flags = written(&out, "prometheus.flags");
        assert!(
            flags
                .lines()
                .any(|l| l == format!("--web.external-url=https://{name}/prometheus/")),
            "{flags}"
        );
        assert!(!flags.contains(given) || given == name);
    }
}

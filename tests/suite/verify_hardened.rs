//! `promsetup verify` on hostile files and as root (issue 11): bounded work whatever the
//! bundle holds, modes read through symbolic links, no `nginx -t` on a configuration that
//! could run code, no password in clear, and `--format json`. Each case checks the outcome
//! the issue names; where a protection could be untested (the marker of a module), a control
//! run shows the attack works without it.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{Bundle, PASSWORD, Setup, current_uid, free_port, promsetup_command, require};

/// What one `promsetup verify` run said, and how long it took.
pub struct Run {
    pub code: i32,
    pub out: String,
    pub err: String,
    pub took: Duration,
}

impl Run {
    /// The first output line that starts with `label` and holds every needle; panics otherwise.
    pub fn line(&self, label: &str, needles: &[&str]) -> &str {
        self.out
            .lines()
            .find(|l| {
                l.split_whitespace().next() == Some(label) && needles.iter().all(|n| l.contains(n))
            })
            .unwrap_or_else(|| panic!("no {label} line with {needles:?}:\n{self}"))
    }

    pub fn has_fail(&self) -> bool {
        self.out.lines().any(|l| l.starts_with("FAIL"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} in {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.took, self.out, self.err
        )
    }
}

/// `promsetup verify DIR ARGS` with `stdin`, killed after `limit` (a hang is a failure).
pub fn verify(dir: &Path, args: &[&str], stdin: Option<&str>, limit: Duration) -> Run {
    let mut command = promsetup_command();
    command.arg("verify").arg(dir).args(args).timeout(limit);
    if let Some(input) = stdin {
        command.write_stdin(input.to_string());
    }
    let start = Instant::now();
    let output = command.output().expect("run promsetup verify");
    let took = start.elapsed();
    assert!(
        took < limit,
        "verify ran into the {limit:?} limit (hung): {}",
        String::from_utf8_lossy(&output.stdout)
    );
    Run {
        code: output.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&output.stdout).into_owned(),
        err: String::from_utf8_lossy(&output.stderr).into_owned(),
        took,
    }
}

const LIMIT: Duration = Duration::from_secs(60);

fn bundle() -> Bundle {
    Bundle::create(Setup::with_domain("127.0.0.1"))
}

fn password() -> String {
    format!("{PASSWORD}\n")
}

#[test]
fn modes_are_read_through_a_symlinked_key_and_name_the_link_and_its_target() {
    let bundle = bundle();
    // certbot's layout: live/privkey.pem is a link into archive/.
    let archive = bundle.dir.join("archive");
    fs::create_dir(&archive).unwrap();
    let target = archive.join("privkey1.pem");
    fs::rename(bundle.key(), &target).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    symlink(&target, bundle.key()).unwrap();

    let run = verify(&bundle.dir, &[], None, LIMIT);
    assert!(!run.has_fail(), "a 0600 key behind a link is fine:\n{run}");
    run.line(
        "ok",
        &[
            "secret files are not readable by others",
            "a link to",
            "privkey1.pem",
            "0600",
        ],
    );

    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
    let run = verify(&bundle.dir, &[], None, LIMIT);
    assert_eq!(run.code, 1, "{run}");
    let line = run.line(
        "FAIL",
        &[
            "readable by every user",
            "a link to",
            "privkey1.pem",
            "0644",
        ],
    );
    assert!(
        line.contains(&format!(
            "chmod 0600 {}",
            target.canonicalize().unwrap().display()
        )),
        "the fix must change the target, not the link: {line}"
    );
}

/// Builds a shared object whose constructor creates `marker`: what `load_module` runs as
/// whoever runs `nginx -t`. None when there is no C compiler outside CI.
fn module_writing(marker: &Path, dir: &Path) -> Option<std::path::PathBuf> {
    let cc = require("gcc")?;
    let source = dir.join("evil.c");
    fs::write(
        &source,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void marker(void) {{\n  \
             FILE *f = fopen(\"{}\", \"w\"); if (f) fclose(f);\n}}\n",
            marker.display()
        ),
    )
    .unwrap();
    let module = dir.join("evil.so");
    let status = Command::new(cc)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&module)
        .arg(&source)
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc failed");
    Some(module)
}

#[test]
fn nginx_t_is_not_run_on_a_configuration_that_loads_a_module() {
    let Some(nginx) = require("nginx") else {
        return;
    };
    let bundle = bundle();
    let scratch = tempfile::tempdir().unwrap();
    let marker = scratch.path().join("marker-verify");
    let Some(module) = module_writing(&marker, scratch.path()) else {
        return;
    };
    let conf = bundle.nginx_conf();
    let original = fs::read_to_string(&conf).unwrap();
    fs::write(
        &conf,
        format!("load_module {};\n{original}", module.display()),
    )
    .unwrap();

    let run = verify(&bundle.dir, &[], None, LIMIT);
    assert_eq!(run.code, 1, "{run}");
    run.line("FAIL", &["nginx -t not run", "never writes", "load_module"]);
    assert!(!marker.exists(), "verify ran the module:\n{run}");

    // The control: nginx -t itself on the same file runs the module, so the test can fail.
    let control_marker = scratch.path().join("marker-control");
    let control_module = module_writing(&control_marker, scratch.path()).unwrap();
    fs::write(
        &conf,
        format!("load_module {};\n{original}", control_module.display()),
    )
    .unwrap();
    let output = Command::new(nginx)
        .args(["-t", "-e", "stderr", "-g", "pid /dev/null;", "-c"])
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        control_marker.exists(),
        "nginx -t did not run the module, so this test proves nothing: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn as_root_nginx_t_is_not_run_in_a_folder_another_user_can_change() {
    if current_uid() != 0 || require("nginx").is_none() {
        return; // only root is at risk; CI runs as root
    }
    let bundle = bundle();
    let run = verify(&bundle.dir, &[], None, LIMIT);
    run.line("ok", &["accepts nginx.conf (nginx -t)"]);
    fs::set_permissions(&bundle.dir, fs::Permissions::from_mode(0o777)).unwrap();
    let run = verify(&bundle.dir, &[], None, LIMIT);
    assert_eq!(run.code, 1, "{run}");
    run.line(
        "FAIL",
        &[
            "nginx -t not run",
            "verify runs as root",
            "every user can write",
        ],
    );
}

/// A plain-HTTP server that answers as nginx with basic auth would (401 with the realm
/// without credentials, 200 with any) and keeps each request's head.
struct ChallengingServer {
    heads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ChallengingServer {
    fn start(port: u16) -> ChallengingServer {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = heads.clone();
        // The thread ends with the test binary; it only answers on its own port.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let answer: &[u8] = if head.to_ascii_lowercase().contains("authorization:") {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
                } else {
                    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"Prometheus\"\r\n\
                      Content-Length: 0\r\nConnection: close\r\n\r\n"
                };
                kept.lock().unwrap().push(head);
                stream.write_all(answer).ok();
            }
        });
        ChallengingServer { heads }
    }

    fn requests(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

#[test]
fn the_password_is_not_sent_in_clear_to_an_http_url_of_a_tls_bundle_unless_asked() {
    let bundle = bundle();
    let port = free_port();
    let upstream = ChallengingServer::start(port);
    let url = format!("http://127.0.0.1:{port}/prometheus/");
    let run = verify(
        &bundle.dir,
        &["--url", &url, "--password-stdin"],
        Some(&password()),
        LIMIT,
    );
    run.line(
        "warning",
        &["the password was not sent", "--allow-cleartext-password"],
    );
    let requests = upstream.requests();
    assert!(!requests.is_empty(), "verify sent nothing: {run}");
    assert!(
        requests
            .iter()
            .all(|r| !r.to_ascii_lowercase().contains("authorization:")),
        "credentials went out in clear: {requests:?}"
    );

    let run = verify(
        &bundle.dir,
        &[
            "--url",
            &url,
            "--password-stdin",
            "--allow-cleartext-password",
        ],
        Some(&password()),
        LIMIT,
    );
    assert!(
        upstream
            .requests()
            .iter()
            .any(|r| r.to_ascii_lowercase().contains("authorization: basic")),
        "with the flag the password is sent: {run}"
    );
}

#[test]
fn a_100k_line_htpasswd_is_checked_in_linear_time_hashing_only_the_asked_user() {
    let bundle = bundle();
    let text = fs::read_to_string(bundle.htpasswd()).unwrap();
    let hash = text.trim().split_once(':').unwrap().1.to_string();
    let mut big = text.clone();
    for i in 0..100_000 {
        big.push_str(&format!("user{i}:{hash}\n"));
    }
    fs::write(bundle.htpasswd(), &big).unwrap();
    let run = verify(&bundle.dir, &["--password-stdin"], Some(&password()), LIMIT);
    eprintln!("100,001-user .htpasswd: verify took {:?}", run.took);
    assert!(!run.has_fail(), "{run}");
    run.line("ok", &["100001 users in 1 hash format"]);
    run.line(
        "ok",
        &["the password given is admin's", "hashed 1 of 100001"],
    );
    assert!(run.out.lines().count() < 40, "one line per user:\n{run}");
    assert!(
        run.took < Duration::from_secs(10),
        "100k lines took {:?}",
        run.took
    );
}

#[test]
fn a_bcrypt_cost_of_31_is_refused_with_the_maximum_not_computed() {
    let bundle = bundle();
    // A well-formed cost-31 hash: hashing it would take days.
    fs::write(
        bundle.htpasswd(),
        "admin:$2y$31$abcdefghijklmnopqrstuuNaFxvSjVLwTr5FOGmrcrr2ovVzQCcqe\n",
    )
    .unwrap();
    let run = verify(&bundle.dir, &["--password-stdin"], Some(&password()), LIMIT);
    assert_eq!(run.code, 1, "{run}");
    run.line(
        "FAIL",
        &[
            "the password given was not checked",
            "cost in .htpasswd is 31, above",
        ],
    );
    run.line(
        "FAIL",
        &["admin's bcrypt cost is 31", "verify checks at most cost"],
    );
    assert!(run.took < Duration::from_secs(20), "{run}");
}

#[test]
fn a_fifo_htpasswd_and_a_certificate_linked_to_dev_zero_are_refused_without_blocking() {
    let bundle = bundle();
    fs::remove_file(bundle.htpasswd()).unwrap();
    nix::unistd::mkfifo(
        &bundle.htpasswd(),
        nix::sys::stat::Mode::from_bits_truncate(0o640),
    )
    .unwrap();
    fs::remove_file(bundle.cert()).unwrap();
    symlink("/dev/zero", bundle.cert()).unwrap();
    let run = verify(&bundle.dir, &[], None, Duration::from_secs(30));
    assert_eq!(run.code, 1, "{run}");
    run.line(
        "FAIL",
        &[
            "cannot read the password file",
            "a FIFO, not a regular file",
        ],
    );
    run.line(
        "FAIL",
        &[
            "cannot read the certificate",
            "a character device, not a regular file",
        ],
    );
    if require("nginx").is_some() {
        // nginx -t would read the certificate itself, without bounds.
        run.line(
            "FAIL",
            &["nginx -t not run", "a character device, not a regular file"],
        );
    }
}

#[test]
fn a_prometheus_flags_file_that_is_not_utf8_fails() {
    let bundle = bundle();
    let flags = bundle.dir.join("prometheus.flags");
    let mut bytes = fs::read(&flags).unwrap();
    bytes.extend_from_slice(b"--web.external-url=\xff\xfe\n");
    fs::write(&flags, bytes).unwrap();
    let run = verify(&bundle.dir, &[], None, LIMIT);
    assert_eq!(run.code, 1, "{run}");
    run.line("FAIL", &["prometheus.flags cannot be read", "not UTF-8"]);
}

#[test]
fn format_json_is_one_document_with_every_check() {
    let bundle = bundle();
    fs::set_permissions(bundle.key(), fs::Permissions::from_mode(0o644)).unwrap();
    let run = verify(&bundle.dir, &["--format", "json"], None, LIMIT);
    assert_eq!(run.code, 1, "{run}");
    let doc: serde_json::Value = serde_json::from_str(&run.out)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{run}"));
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["passed"], false);
    let checks = doc["checks"].as_array().expect("checks");
    assert!(checks.len() >= 5, "{doc:#}");
    let mut ids = std::collections::HashSet::new();
    for check in checks {
        let id = check["id"].as_str().expect("id");
        assert!(ids.insert(id.to_string()), "duplicate id {id}");
        let status = check["status"].as_str().unwrap();
        assert!(["ok", "warning", "fail"].contains(&status), "{check}");
        assert!(
            check["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{check}"
        );
        assert_eq!(check["fix"].is_null(), status == "ok", "{check}");
    }
    let fail = checks
        .iter()
        .find(|c| c["status"] == "fail")
        .expect("the world-readable key fails");
    assert!(
        fail["message"]
            .as_str()
            .unwrap()
            .contains("readable by every user"),
        "{fail}"
    );
    assert!(
        fail["fix"].as_str().unwrap().starts_with("chmod 0600 "),
        "{fail}"
    );
    let counts = &doc["counts"];
    assert_eq!(
        counts["ok"].as_u64().unwrap()
            + counts["warning"].as_u64().unwrap()
            + counts["fail"].as_u64().unwrap(),
        checks.len() as u64
    );
    // The schema file documents the same version.
    let schema =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verify-schema.json"))
            .unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema).unwrap();
    assert_eq!(schema["properties"]["format_version"]["enum"][0], 1);
    for key in schema["required"].as_array().unwrap() {
        assert!(doc.get(key.as_str().unwrap()).is_some(), "missing {key}");
    }
}

#[test]
fn programs_run_by_absolute_path_with_an_environment_without_the_password() {
    let bundle = bundle();
    // An `nginx` first on PATH that records how it was started.
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("record");
    let fake = bin.path().join("nginx");
    fs::write(
        &fake,
        format!(
            "#!/bin/sh\n{{ echo \"argv0=$0\"; /usr/bin/env; }} >> {}\n",
            record.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = promsetup_command();
    command
        .arg("verify")
        .arg(&bundle.dir)
        .env("PATH", &path)
        .env("PROMSETUP_PASSWORD", PASSWORD)
        .env("PROMSETUP_CHILD_MARKER", "inherited")
        .timeout(LIMIT);
    let output = command.output().unwrap();
    let recorded = fs::read_to_string(&record).unwrap_or_else(|_| {
        panic!(
            "the nginx on PATH was not run: {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    assert!(
        recorded.contains(&format!("argv0={}", fake.display())),
        "not run by its absolute path: {recorded}"
    );
    assert!(!recorded.contains("PROMSETUP_PASSWORD"), "{recorded}");
    assert!(!recorded.contains(PASSWORD), "{recorded}");
    assert!(
        !recorded.contains("PROMSETUP_CHILD_MARKER"),
        "environment not cleared: {recorded}"
    );
}

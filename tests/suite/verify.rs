//! `promsetup verify`: it passes on good bundles written by the binary, offline and against
//! real nginx and Prometheus, and names the fault, and what to do, on each broken one.
//!
//! Offline checks need no server and always run (nginx -t, promtool and perl are used when
//! installed). Online checks start nginx and Prometheus through the shared harness and are
//! skipped outside CI when they are not installed.

// Tests break bundles by hand: replace keys and certificates, change modes, remove files.
#![allow(clippy::disallowed_methods)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{
    Bundle, PASSWORD, Setup, Shape, Stack, current_uid, promsetup_command, require,
    traversable_tempdir,
};
use rcgen::{CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};
use time::{Duration, OffsetDateTime};

/// What one `promsetup verify` run said.
struct Verified {
    code: i32,
    out: String,
    err: String,
}

impl Verified {
    fn lines(&self, label: &str) -> Vec<&str> {
        self.out
            .lines()
            .filter(|line| line.split_whitespace().next() == Some(label))
            .collect()
    }

    fn passed(&self) -> bool {
        self.code == 0 && self.lines("FAIL").is_empty()
    }

    /// The single line of `label` containing every needle; panics with the whole output.
    fn line(&self, label: &str, needles: &[&str]) -> &str {
        self.lines(label)
            .into_iter()
            .find(|line| needles.iter().all(|n| line.contains(n)))
            .unwrap_or_else(|| panic!("no {label} line with {needles:?}:\n{self}"))
    }

    fn assert_passes(&self) {
        assert!(self.passed(), "verify did not pass:\n{self}");
    }

    fn assert_fails(&self) {
        assert_eq!(self.code, 1, "verify should fail with status 1:\n{self}");
        assert!(
            self.err.contains("failed") && self.err.contains("FAIL line"),
            "{self}"
        );
    }
}

impl std::fmt::Display for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit status {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.out, self.err
        )
    }
}

/// Runs `promsetup verify DIR ARGS`, with `stdin` (e.g. the password for --password-stdin).
fn verify(dir: &Path, args: &[&str], stdin: Option<&str>) -> Verified {
    verify_from(None, dir, args, stdin)
}

/// `verify`, run from the folder `cwd` (so `dir` may be relative to it).
fn verify_from(cwd: Option<&Path>, dir: &Path, args: &[&str], stdin: Option<&str>) -> Verified {
    let mut command = promsetup_command();
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    command.arg("verify").arg(dir).args(args);
    if let Some(input) = stdin {
        command.write_stdin(input.to_string());
    }
    let output = command.output().expect("run promsetup verify");
    Verified {
        code: output.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&output.stdout).into_owned(),
        err: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn password_line() -> String {
    format!("{PASSWORD}\n")
}

fn write_with_mode(path: &Path, contents: &[u8], mode: u32) {
    fs::write(path, contents).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A self-signed certificate for `names` valid from `from` to `until` days from now, and its
/// key, as promsetup makes them (CA:FALSE).
fn certificate(names: &[&str], from: i64, until: i64) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, names[0]);
    params.distinguished_name = subject;
    params.is_ca = IsCa::ExplicitNoCa;
    params.not_before = OffsetDateTime::now_utc() + Duration::days(from);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(until);
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

/// Puts a certificate and key in place of the bundle's own.
fn replace_pair(bundle: &Bundle, (certificate, key): (String, String)) {
    write_with_mode(&bundle.cert(), certificate.as_bytes(), 0o644);
    write_with_mode(&bundle.key(), key.as_bytes(), 0o600);
}

/// The external URL of a bundle served by the harness (its domain must resolve: an address).
fn url(bundle: &Bundle) -> String {
    format!("{}{}/", bundle.origin(), bundle.prefix())
}

// ---------------------------------------------------------------------------------------------
// Offline

#[test]
fn verify_passes_on_a_good_bundle_offline() {
    let bundle = Bundle::create(Setup::default());
    let verified = verify(&bundle.dir, &["--password-stdin"], Some(&password_line()));
    verified.assert_passes();
    verified.line(
        "ok",
        &["the key example.com.key belongs to the certificate example.com.crt"],
    );
    verified.line("ok", &["covers example.com", "server_name"]);
    verified.line("ok", &["valid until", "days left"]);
    verified.line("ok", &[".htpasswd: admin has a bcrypt hash"]);
    verified.line("ok", &["the password given is admin's in .htpasswd"]);
    verified.line(
        "ok",
        &["prometheus.flags: --web.external-url=https://example.com:"],
    );
    verified.line("ok", &["example.com.key 0600", ".htpasswd 0640"]);
    // nginx -t opens the system's log files, which only root may.
    if current_uid() == 0 && require("nginx").is_some() {
        verified.line("ok", &["accepts nginx.conf (nginx -t)"]);
    }
    assert!(
        verified.out.contains("Online checks not run: add --url"),
        "{verified}"
    );
    assert!(!verified.out.contains(PASSWORD), "{verified}");
}

/// Found trying the README as a new user: `promsetup verify promsetup-bundle` passed nginx a
/// relative -c, which nginx reads against its own prefix, not the current folder.
#[test]
fn verify_of_a_folder_given_relative_to_the_current_one_runs_nginx_t_on_it() {
    let bundle = Bundle::create(Setup::default());
    let (Some(parent), Some(name)) = (bundle.dir.parent(), bundle.dir.file_name()) else {
        panic!("the bundle folder has a parent and a name");
    };
    let verified = verify_from(Some(parent), Path::new(name), &[], None);
    verified.assert_passes();
    if current_uid() == 0 && require("nginx").is_some() {
        verified.line("ok", &["accepts nginx.conf (nginx -t)"]);
    }
}

#[test]
fn verify_of_a_bundle_not_yet_installed_warns_and_passes() {
    let root = traversable_tempdir();
    let dir = root.path().join("bundle");
    let output = promsetup_command()
        .args([
            "--non-interactive",
            "--password-stdin",
            "--domain",
            "example.com",
        ])
        .args(["--conf-dir", "/nonexistent-promsetup-verify/nginx", "--out"])
        .arg(&dir)
        .write_stdin(password_line())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let verified = verify(&dir, &[], None);
    verified.assert_passes();
    verified.line(
        "warning",
        &["the certificate is not installed at /nonexistent-promsetup-verify/nginx/example.com.crt yet"],
    );
    verified.line(
        "warning",
        &["the password file is not installed", "403 to every login"],
    );
    if require("nginx").is_some() {
        verified.line("warning", &["nginx -t not run"]);
    }
    verified.line(
        "ok",
        &["the key example.com.key belongs to the certificate"],
    );
}

/// The wording, one line per check, of a bundle written for another host: what differs from
/// one machine to the next (the folder, dates, whether nginx and perl are here) is masked.
#[test]
fn verify_output_reads_one_line_per_check_with_the_fix() {
    let root = traversable_tempdir();
    let dir = root.path().join("bundle");
    let output = promsetup_command()
        .args([
            "--non-interactive",
            "--password-stdin",
            "--domain",
            "example.com",
        ])
        .args(["--conf-dir", "/nonexistent-promsetup-verify/nginx", "--out"])
        .arg(&dir)
        .write_stdin(password_line())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let verified = verify(&dir, &[], None);
    verified.assert_passes();
    let masked: Vec<String> = verified
        .out
        .lines()
        .map(|line| {
            let line = line.replace(&dir.display().to_string(), "[DIR]");
            if line.contains("nginx -t") {
                "[nginx -t: not run, or nginx is not installed]".to_string()
            } else if line.contains("crypt()") {
                "[.htpasswd: admin's $2y$ hash and this system's crypt()]".to_string()
            } else if line.contains(" warning") && line.contains(" FAIL") {
                "[counts]".to_string()
            } else if let Some(at) = line.find("valid until ") {
                format!("{}valid until [DATE] ([N] days left)", &line[..at])
            } else {
                line
            }
        })
        .collect();
    insta::assert_snapshot!(masked.join("\n"));
}

#[test]
fn verify_passes_on_a_bundle_where_prometheus_checks_the_password_offline() {
    let bundle = Bundle::create(Setup {
        shape: Shape::PrometheusChecks,
        ..Setup::default()
    });
    let verified = verify(&bundle.dir, &["--password-stdin"], Some(&password_line()));
    verified.assert_passes();
    verified.line(
        "ok",
        &["nginx in front, Prometheus checks passwords (web.yml)"],
    );
    verified.line(
        "ok",
        &["web.yml: admin has a bcrypt hash, which Prometheus checks"],
    );
    verified.line("ok", &["the password given is admin's in web.yml"]);
    if require("promtool").is_some() {
        verified.line("ok", &["promtool check web-config accepts web.yml"]);
    }
}

#[test]
fn verify_passes_on_a_bundle_without_nginx_offline() {
    let bundle = Bundle::create(Setup::prometheus_alone());
    let verified = verify(&bundle.dir, &[], None);
    verified.assert_passes();
    verified.line("ok", &["no nginx, Prometheus checks passwords (web.yml)"]);
    verified.line("ok", &["covers example.com (its first name)"]);
}

#[test]
fn verify_names_a_key_that_does_not_belong_to_the_certificate() {
    let bundle = Bundle::create(Setup::default());
    let other = KeyPair::generate().unwrap().serialize_pem();
    write_with_mode(&bundle.key(), other.as_bytes(), 0o600);
    let verified = verify(&bundle.dir, &[], None);
    verified.assert_fails();
    let line = verified.line(
        "FAIL",
        &["the key example.com.key does not belong to the certificate example.com.crt"],
    );
    assert!(line.contains("Fix:") && line.contains("--force"), "{line}");
}

#[test]
fn verify_names_an_expired_certificate_and_says_when_and_how_to_renew() {
    let bundle = Bundle::create(Setup::default());
    replace_pair(&bundle, certificate(&["example.com"], -400, -3));
    let verified = verify(&bundle.dir, &[], None);
    verified.assert_fails();
    let expired_on = (OffsetDateTime::now_utc() - Duration::days(3))
        .date()
        .to_string();
    let line = verified.line(
        "FAIL",
        &["the certificate example.com.crt expired on", &expired_on],
    );
    assert!(
        line.contains("Renew:") && line.contains("--force"),
        "{line}"
    );
    // Everything else about the pair is right, and said so.
    verified.line(
        "ok",
        &["the key example.com.key belongs to the certificate"],
    );
}

#[test]
fn verify_warns_about_a_certificate_that_expires_within_30_days() {
    let bundle = Bundle::create(Setup::default());
    replace_pair(&bundle, certificate(&["example.com"], -1, 10));
    let verified = verify(&bundle.dir, &[], None);
    verified.assert_passes();
    let line = verified.line("warning", &["the certificate example.com.crt expires on"]);
    assert!(
        line.contains("in 9 days") || line.contains("in 10 days"),
        "{line}"
    );
    assert!(line.contains("Renew:"), "{line}");
}

#[test]
fn verify_names_a_certificate_for_another_name_with_the_names_it_has() {
    let bundle = Bundle::create(Setup::default());
    replace_pair(&bundle, certificate(&["other.example"], -1, 90));
    let verified = verify(&bundle.dir, &[], None);
    verified.assert_fails();
    verified.line(
        "FAIL",
        &[
            "does not cover example.com (nginx.conf's server_name)",
            "other.example",
        ],
    );
}

#[test]
fn verify_names_secrets_readable_by_everyone() {
    let bundle = Bundle::create(Setup::default());
    fs::set_permissions(bundle.key(), fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(bundle.htpasswd(), fs::Permissions::from_mode(0o644)).unwrap();
    let verified = verify(&bundle.dir, &[], None);
    verified.assert_fails();
    let key = verified.line("FAIL", &["example.com.key is readable by every user"]);
    assert!(key.contains("chmod 0600"), "{key}");
    let htpasswd = verified.line("FAIL", &[".htpasswd is readable by every user"]);
    assert!(htpasswd.contains("chmod 0640"), "{htpasswd}");
}

#[test]
fn verify_names_bad_htpasswd_lines_without_showing_them() {
    let bundle = Bundle::create(Setup::default());
    write_with_mode(
        &bundle.htpasswd(),
        b"admin:{PLAIN}hunter2-in-clear\nnot-a-user-line\n",
        0o640,
    );
    let verified = verify(&bundle.dir, &[], None);
    verified.assert_fails();
    verified.line("FAIL", &["line 2 of .htpasswd is not USER:HASH"]);
    verified.line(
        "warning",
        &["admin's password is stored in clear ({PLAIN})"],
    );
    assert!(
        !verified.out.contains("hunter2") && !verified.out.contains("not-a-user-line"),
        "{verified}"
    );
}

#[test]
fn verify_names_a_wrong_password_offline() {
    let bundle = Bundle::create(Setup::default());
    let verified = verify(
        &bundle.dir,
        &["--password-stdin"],
        Some("not the password\n"),
    );
    verified.assert_fails();
    let line = verified.line("FAIL", &["the password given is not admin's in .htpasswd"]);
    assert!(line.contains("promsetup user add admin"), "{line}");
}

#[test]
fn verify_without_a_bundle_folder_is_a_usage_error_naming_it() {
    let root = traversable_tempdir();
    let missing = root.path().join("no-such-bundle");
    let verified = verify(&missing, &[], None);
    assert_eq!(verified.code, 2, "{verified}");
    assert!(
        verified.err.contains("there is no bundle folder at")
            && verified.err.contains("no-such-bundle")
            && verified.err.contains("promsetup verify DIR"),
        "{verified}"
    );

    let verified = verify(root.path(), &[], None);
    assert_eq!(verified.code, 2, "{verified}");
    assert!(
        verified
            .err
            .contains("holds none of a bundle's files (nginx.conf, web.yml, prometheus.flags)"),
        "{verified}"
    );
}

#[test]
fn verify_with_a_url_that_is_not_http_is_a_usage_error() {
    let bundle = Bundle::create(Setup::default());
    let verified = verify(&bundle.dir, &["--url", "example.com/prometheus/"], None);
    assert_eq!(verified.code, 2, "{verified}");
    assert!(verified.err.contains("--url"), "{verified}");
    assert!(verified.out.is_empty(), "{verified}");
}

#[test]
fn verify_says_clearly_when_the_domain_does_not_resolve() {
    let bundle = Bundle::create(Setup::with_domain("promsetup-verify.invalid"));
    let verified = verify(
        &bundle.dir,
        &["--url", "https://promsetup-verify.invalid/prometheus/"],
        None,
    );
    verified.assert_fails();
    let line = verified.line(
        "FAIL",
        &[
            "promsetup-verify.invalid does not resolve here",
            "the bundle's domain",
        ],
    );
    assert!(line.contains("/etc/hosts"), "{line}");
}

// ---------------------------------------------------------------------------------------------
// Online, against real nginx and Prometheus

/// A bundle for 127.0.0.1 (the URL resolves without DNS) served by nginx and Prometheus.
fn served(shape: Shape) -> Option<Stack> {
    Stack::start(Bundle::create(Setup {
        shape,
        ..Setup::with_domain("127.0.0.1")
    }))
}

fn verify_online(stack: &Stack, extra: &[&str], password: &str) -> Verified {
    let url = url(&stack.bundle);
    let mut args = vec!["--url", url.as_str(), "--password-stdin"];
    args.extend(extra);
    verify(&stack.bundle.dir, &args, Some(&format!("{password}\n")))
}

#[test]
fn verify_passes_online_against_a_good_bundle_served_by_nginx_and_prometheus() {
    let Some(stack) = served(Shape::NginxChecks) else {
        return;
    };
    let verified = verify_online(&stack, &[], PASSWORD);
    verified.assert_passes();
    let base = url(&stack.bundle);
    verified.line(
        "ok",
        &[&format!(
            "TLS to 127.0.0.1:{} verified against the bundle's certificate",
            stack.bundle.port
        )],
    );
    verified.line(
        "ok",
        &[
            &base,
            "answers 401 without credentials, with WWW-Authenticate: Basic realm=\"Prometheus\"",
        ],
    );
    verified.line(
        "ok",
        &[&format!(
            "{base}metrics answers 200 with Prometheus's metrics"
        )],
    );
    verified.line(
        "ok",
        &[&format!(
            "{base}api/v1/label/job/values answers 200, \"status\":\"success\""
        )],
    );
    verified.line(
        "ok",
        &[&format!(
            "{} redirects to /prometheus/",
            base.trim_end_matches('/')
        )],
    );
    verified.line(
        "ok",
        &["redirects stay inside the prefix", "-> /prometheus/"],
    );
    verified.line("ok", &["prometheusmetrics does not reach Prometheus (404)"]);
    assert!(!verified.out.contains(PASSWORD), "{verified}");
}

#[test]
fn verify_passes_online_when_prometheus_checks_the_password() {
    let Some(stack) = served(Shape::PrometheusChecks) else {
        return;
    };
    let verified = verify_online(&stack, &[], PASSWORD);
    verified.assert_passes();
    verified.line(
        "ok",
        &["answers 401 without credentials, with WWW-Authenticate: Basic"],
    );
    verified.line("ok", &["metrics answers 200 with Prometheus's metrics"]);
}

#[test]
fn verify_names_an_unreadable_htpasswd_as_500_and_what_to_do() {
    if current_uid() != 0 {
        // Only root's nginx runs its workers as another user, who then cannot read the file.
        eprintln!("skipping: needs root, so that nginx's workers run as www-data");
        return;
    }
    let Some(stack) = served(Shape::NginxChecks) else {
        return;
    };
    // Root's own file, readable by root only: nginx's workers cannot open it.
    fs::set_permissions(stack.bundle.htpasswd(), fs::Permissions::from_mode(0o600)).unwrap();
    let verified = verify_online(&stack, &[], PASSWORD);
    verified.assert_fails();
    verified.line(
        "FAIL",
        &["nginx's workers (www-data) cannot read", ".htpasswd"],
    );
    let line = verified.line("FAIL", &["answers 500 with credentials"]);
    assert!(
        line.contains("cannot read it") && line.contains("chmod 0640") && line.contains("chgrp"),
        "{line}"
    );
}

#[test]
fn verify_names_a_user_missing_from_htpasswd_as_not_accepted() {
    let Some(stack) = served(Shape::NginxChecks) else {
        return;
    };
    let verified = verify_online(&stack, &["--username", "nobody-here"], PASSWORD);
    verified.assert_fails();
    verified.line(
        "FAIL",
        &["--username nobody-here: .htpasswd has no such user"],
    );
    let line = verified.line(
        "FAIL",
        &[
            "answers 401 with credentials",
            "does not accept the user nobody-here",
        ],
    );
    assert!(line.contains("promsetup user add nobody-here"), "{line}");
}

#[test]
fn verify_names_a_missing_htpasswd_as_403_and_what_to_do() {
    let Some(stack) = served(Shape::NginxChecks) else {
        return;
    };
    fs::remove_file(stack.bundle.htpasswd()).unwrap();
    let verified = verify_online(&stack, &[], PASSWORD);
    verified.assert_fails();
    verified.line("FAIL", &["the password file is missing", "does not exist"]);
    let line = verified.line(
        "FAIL",
        &["answers 403 with credentials: the password file is missing"],
    );
    assert!(line.contains("Fix:"), "{line}");
}

#[test]
fn verify_names_a_stopped_prometheus_as_502() {
    let Some(Stack {
        nginx,
        prometheus,
        bundle,
    }) = served(Shape::NginxChecks)
    else {
        return;
    };
    drop(prometheus);
    let url = url(&bundle);
    let verified = verify(
        &bundle.dir,
        &["--url", &url, "--password-stdin"],
        Some(&password_line()),
    );
    verified.assert_fails();
    let line = verified.line(
        "FAIL",
        &["answers 502 Bad Gateway: Prometheus is not running at"],
    );
    assert!(line.contains("prometheus.flags"), "{line}");
    drop(nginx);
}

#[test]
fn verify_names_a_server_certificate_other_than_the_bundles() {
    let Some(stack) = served(Shape::NginxChecks) else {
        return;
    };
    // nginx keeps serving the pair it loaded; the bundle now holds another one.
    replace_pair(&stack.bundle, certificate(&["127.0.0.1"], -1, 90));
    let verified = verify_online(&stack, &[], PASSWORD);
    verified.assert_fails();
    verified.line("FAIL", &["presents a certificate other than the bundle's"]);
}

/// The site layout (the default on a host whose nginx includes sites-enabled/) has no nginx.conf:
/// verify reads the site file within `http`, finds who checks passwords, and leaves `nginx -t`
/// to the host's whole configuration.
#[test]
fn verify_reads_a_site_layout_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    crate::support::make_site_bundle(&out);
    assert!(!out.join("nginx.conf").exists());
    let output = crate::support::promsetup_command()
        .arg("verify")
        .arg(&out)
        .arg("--password-file")
        .arg(out.join("password.txt"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(!stdout.contains("FAIL "), "{stdout}");
    assert!(
        stdout.contains("nginx checks passwords (.htpasswd")
            && stdout.contains("the password given is admin's in .htpasswd")
            && stdout.contains("promsetup-prometheus.conf is a part of the host's nginx"),
        "{stdout}"
    );
}

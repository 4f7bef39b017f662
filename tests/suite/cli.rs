//! Process behaviour of the promsetup binary: exit statuses, messages, what is (not) written,
//! and where the password does (not) appear. No nginx or Prometheus needed; `htpasswd` checks
//! the hashes when installed (required under CI).

#![allow(clippy::disallowed_methods)] // tests arrange files by hand

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;

fn promsetup() -> Command {
    let mut command = Command::cargo_bin("promsetup").unwrap();
    command.env_remove("PROMSETUP_PASSWORD");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().mode() & 0o7777
}

/// Runs a non-interactive bundle into `out` with the password on stdin.
fn bundle(out: &Path, password: &str, extra: &[&str]) -> Output {
    promsetup()
        // A whole nginx.conf whatever this host's nginx includes (the default would follow it).
        .args(["--nginx-layout", "full"])
        .args(["--non-interactive", "--domain", "example.com", "--out"])
        .arg(out)
        .args(["--password-stdin"])
        .args(extra)
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap()
}

/// `htpasswd -vb` is Apache's own check: it proves the line is what the real tools accept.
fn htpasswd_verifies(file: &Path, user: &str, password: &str) -> Option<bool> {
    crate::support::require("htpasswd")?;
    let output = std::process::Command::new("htpasswd")
        .arg("-vb")
        .arg(file)
        .args([user, password])
        .output()
        .unwrap();
    Some(output.status.success())
}

#[test]
fn non_interactive_without_a_domain_names_the_missing_flag_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let output = promsetup()
        .args(["--non-interactive", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("--domain"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn each_refused_value_names_its_flag_and_rule_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    for (flag, value, rule_word) in [
        ("--domain", "example.com;", "';'"),
        ("--domain", "example.com\nserver_name evil", "\\n"),
        ("--domain", "bücher.example", "xn--"),
        ("--port", "70000", "65535"),
        ("--prefix", "/prom;etheus", "';'"),
        ("--prefix", "/a/../b", ".."),
        ("--prefix", "/prom%2F", "percent"),
        ("--username", "ad:min", "':'"),
        ("--realm", "Prom\"etheus", "'\"'"),
        ("--realm", "$remote_user", "variable"),
        ("--upstream", "127.0.0.1:9090; evil", "port"),
        ("--conf-dir", "relative/dir", "absolute"),
        ("--conf-dir", "/etc/ng inx", "' '"),
        ("--days", "1000", "825"),
        ("--http-port", "x", "0 for no"),
        ("--bcrypt-cost", "40", "4 to 14"),
    ] {
        let mut args = vec!["--non-interactive", "--password-stdin", "--out"];
        let out_text = out.display().to_string();
        args.push(&out_text);
        if flag != "--domain" {
            args.extend(["--domain", "example.com"]);
        }
        args.extend([flag, value]);
        let output = promsetup()
            .args(&args)
            .write_stdin("pw\n")
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag} {value:?}: {stderr}");
        assert!(
            stderr.contains(flag),
            "{flag} {value:?} not named: {stderr}"
        );
        assert!(
            stderr.contains(rule_word),
            "{flag} {value:?}: rule {rule_word:?} not in: {stderr}"
        );
        assert!(!out.exists(), "{flag} {value:?} wrote {}", out.display());
    }
}

#[test]
fn a_refused_value_is_echoed_escaped_so_control_characters_never_reach_the_terminal() {
    for hostile in ["exa\u{1b}[31mmple.com", "exa\u{202e}mple.com", "a\rb"] {
        let output = promsetup()
            .args(["--non-interactive", "--domain", hostile])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = text(&output.stderr);
        assert!(
            !stderr.contains(['\u{1b}', '\u{202e}', '\r']),
            "raw control character echoed: {stderr:?}"
        );
        assert!(
            stderr.contains("--domain") && stderr.contains('\\'),
            "{stderr:?}"
        );
    }
}

#[test]
fn values_that_conflict_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    for extra in [
        &["--port", "8080", "--http-port", "8080"][..],
        &["--no-tls", "--http-port", "81"][..],
        &["--no-tls", "--days", "30"][..],
    ] {
        let output = bundle(&out, "pw", extra);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{extra:?}: {}",
            text(&output.stderr)
        );
        assert!(!out.exists());
    }
}

#[test]
fn a_password_of_72_bytes_or_more_is_refused_instead_of_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let output = bundle(&out, &"x".repeat(72), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("72"));
    assert!(!out.exists());
}

#[test]
fn an_empty_password_on_stdin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let output = bundle(&out, "", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("empty"));
    assert!(!out.exists());
}

#[test]
fn the_password_from_stdin_is_hashed_so_htpasswd_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let output = bundle(&out, "s3cret with spaces", &["--username", "grafana"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let htpasswd = out.join(".htpasswd");
    let line = fs::read_to_string(&htpasswd).unwrap();
    assert!(line.starts_with("grafana:$2y$05$"), "{line}");
    if let Some(verified) = htpasswd_verifies(&htpasswd, "grafana", "s3cret with spaces") {
        assert!(verified);
        assert_eq!(
            htpasswd_verifies(&htpasswd, "grafana", "s3cret with space"),
            Some(false)
        );
    }
    assert!(!out.join("password.txt").exists());
}

#[test]
fn the_password_from_a_file_or_the_environment_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("pw");
    fs::write(&password_file, "from-a-file\n").unwrap();
    let out = dir.path().join("a");
    let output = promsetup()
        .args(["--non-interactive", "--domain", "example.com", "--out"])
        .arg(&out)
        .arg("--password-file")
        .arg(&password_file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let hash = fs::read_to_string(out.join(".htpasswd")).unwrap();
    let hash = hash.trim_end().split_once(':').unwrap().1;
    assert!(bcrypt::verify("from-a-file", hash).unwrap());

    let out = dir.path().join("b");
    let output = promsetup()
        .args(["--non-interactive", "--domain", "example.com", "--out"])
        .arg(&out)
        .env("PROMSETUP_PASSWORD", "from-the-environment")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let hash = fs::read_to_string(out.join(".htpasswd")).unwrap();
    let hash = hash.trim_end().split_once(':').unwrap().1;
    assert!(bcrypt::verify("from-the-environment", hash).unwrap());
    let shown = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(!shown.contains("from-the-environment"));
}

#[test]
fn without_a_password_one_is_generated_stored_0600_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let output = promsetup()
        .args(["--non-interactive", "--domain", "example.com", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stored = out.join("password.txt");
    assert_eq!(mode(&stored), 0o600);
    let password = fs::read_to_string(&stored).unwrap();
    let password = password.trim_end();
    assert_eq!(password.len(), 32);
    let stdout = text(&output.stdout);
    assert!(stdout.contains("password.txt"), "says where: {stdout}");
    assert!(!stdout.contains(password) && !text(&output.stderr).contains(password));
    if let Some(verified) = htpasswd_verifies(&out.join(".htpasswd"), "admin", password) {
        assert!(verified);
    }
}

#[test]
fn files_have_their_modes_and_the_flags_file_matches_what_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let output = bundle(&out, "pw", &["--port", "8443"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(mode(&out.join("nginx.conf")), 0o644);
    assert_eq!(mode(&out.join(".htpasswd")), 0o640);
    assert_eq!(mode(&out.join("example.com.crt")), 0o644);
    assert_eq!(mode(&out.join("example.com.key")), 0o600);
    let flags = fs::read_to_string(out.join("prometheus.flags")).unwrap();
    assert_eq!(
        flags,
        "--web.external-url=https://example.com:8443/prometheus/\n--web.route-prefix=/\n\
         --web.listen-address=127.0.0.1:9090\n"
    );
    let stdout = text(&output.stdout);
    for flag in flags.lines() {
        assert!(stdout.contains(flag), "{flag} not printed:\n{stdout}");
    }
}

#[test]
fn existing_files_that_would_change_are_all_reported_and_kept_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    assert!(bundle(&out, "first", &[]).status.success());
    let before: Vec<_> = ["nginx.conf", ".htpasswd", "example.com.key"]
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();

    // Another password and port change three files; the certificate and key still serve.
    let output = bundle(&out, "second", &["--port", "8443"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    for name in ["nginx.conf", ".htpasswd", "prometheus.flags"] {
        assert!(stderr.contains(name), "{name} not reported: {stderr}");
    }
    for name in ["example.com.crt", "example.com.key"] {
        assert!(!stderr.contains(name), "{name} is unchanged: {stderr}");
    }
    assert!(stderr.contains("--force"));
    let after: Vec<_> = ["nginx.conf", ".htpasswd", "example.com.key"]
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn force_replaces_the_files_and_keeps_the_old_ones_as_backups() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    assert!(bundle(&out, "first", &[]).status.success());
    let old_key = fs::read(out.join("example.com.key")).unwrap();

    // Renewing early (--renew-days beyond the lifetime) makes a new pair.
    let output = bundle(&out, "second", &["--force", "--renew-days", "400"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_ne!(fs::read(out.join("example.com.key")).unwrap(), old_key);
    assert_eq!(fs::read(out.join("example.com.key.bak")).unwrap(), old_key);
    assert_eq!(mode(&out.join("example.com.key.bak")), 0o600);
    let hash = fs::read_to_string(out.join(".htpasswd")).unwrap();
    assert!(bcrypt::verify("second", hash.trim_end().split_once(':').unwrap().1).unwrap());
    assert!(text(&output.stdout).contains("example.com.key.bak"));
}

#[test]
fn init_without_a_terminal_fails_at_once_with_exit_2() {
    let output = promsetup().arg("init").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--non-interactive"));
}

#[test]
fn help_documents_every_flag_and_the_password_inputs() {
    // A fixed width, so the snapshot does not depend on the terminal.
    let output = promsetup()
        .arg("--help")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = text(&output.stdout);
    for flag in [
        "--non-interactive",
        "--domain",
        "--port",
        "--prefix",
        "--username",
        "--password-stdin",
        "--password-file",
        "PROMSETUP_PASSWORD",
        "--upstream",
        "--out",
        "--conf-dir",
        "--http-port",
        "--no-tls",
        "--realm",
        "--days",
        "--force",
        "promsetup-bundle",
        "Exit status",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    insta::assert_snapshot!("help", help);
}

//! Issue 13: inputs that protect the user. Bounded reads of every user-given file and stream,
//! the bcrypt cost's maximum, secrets kept out of the JSON report, answers files, and the
//! checks on domains, upstreams, ports and days. Each case is one the issue reproduced; each test
//! states the expected outcome (exit status, the flag, the rule) and fails otherwise.

use std::fs;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use crate::support::promsetup_command;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn base_args(out: &Path) -> Vec<String> {
    vec![
        "--non-interactive".into(),
        "--domain".into(),
        "example.com".into(),
        "--out".into(),
        out.display().to_string(),
        // The default layout follows this host's /etc/nginx; these tests read nginx.conf.
        "--nginx-layout".into(),
        "full".into(),
    ]
}

/// Runs the binary with `/dev/zero` as standard input (assert_cmd only feeds byte strings).
fn with_endless_stdin(args: &[String]) -> std::process::Output {
    let child = StdCommand::new(assert_cmd::cargo::cargo_bin("promsetup"))
        .args(args)
        .env_remove("PROMSETUP_PASSWORD")
        .stdin(fs::File::open("/dev/zero").unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    output
}

#[test]
fn config_from_a_device_is_refused_as_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let output = promsetup_command()
        .args(base_args(&out))
        .args(["--config", "/dev/zero"])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("/dev/zero") && stderr.contains("not a regular file"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn an_oversized_config_is_refused_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("big.toml");
    fs::write(&config, format!("# {}\n", "x".repeat(70 * 1024))).unwrap();
    let out = dir.path().join("b");
    let output = promsetup_command()
        .args(base_args(&out))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than 65536 bytes"), "{stderr}");
}

#[test]
fn password_file_from_a_device_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    for device in ["/dev/zero", "/dev/urandom"] {
        let output = promsetup_command()
            .args(base_args(&out))
            .args(["--password-file", device])
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{device}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{device}: {stderr}");
    }
    assert!(!out.exists());
}

#[test]
fn password_stdin_from_dev_zero_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let mut args = base_args(&out);
    args.push("--password-stdin".into());
    let output = with_endless_stdin(&args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than 4096 bytes"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn user_add_with_password_stdin_from_dev_zero_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let made = promsetup_command().args(base_args(&out)).output().unwrap();
    assert!(made.status.success(), "{}", text(&made.stderr));
    let args: Vec<String> = [
        "user",
        "add",
        "grafana",
        "--password-stdin",
        "--dir",
        out.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    let output = with_endless_stdin(&args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than 4096 bytes"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn config_dash_reads_answers_from_standard_input_and_not_with_password_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let output = promsetup_command()
        .args([
            "--non-interactive",
            "--nginx-layout",
            "full",
            "--config",
            "-",
            "--out",
        ])
        .arg(&out)
        .write_stdin("domain = \"stdin.example\"\nport = 8443\n")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let conf = fs::read_to_string(out.join("nginx.conf")).unwrap();
    assert!(conf.contains("server_name stdin.example;"), "{conf}");
    assert!(conf.contains("listen 8443 ssl"), "{conf}");

    let output = promsetup_command()
        .args([
            "--non-interactive",
            "--config",
            "-",
            "--password-stdin",
            "--out",
        ])
        .arg(dir.path().join("c"))
        .write_stdin("domain = \"stdin.example\"\n")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--config -") && stderr.contains("--password-stdin"),
        "{stderr}"
    );
}

#[test]
fn a_bcrypt_cost_above_the_maximum_is_refused_with_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    for cost in ["15", "31"] {
        let started = Instant::now();
        let output = promsetup_command()
            .args(base_args(&out))
            .args(["--bcrypt-cost", cost])
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("--bcrypt-cost") && stderr.contains("maximum of 14"),
            "{stderr}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    assert!(!out.exists());
}

#[test]
fn a_cost_that_makes_nginx_slow_warns_with_the_measured_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let output = promsetup_command()
        .args(base_args(&out))
        .args(["--bcrypt-cost", "10"])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let warning = stderr
        .lines()
        .find(|line| line.contains("--bcrypt-cost 10 with nginx"))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    // "one hash took N ms here": a measured number, and cost 10 takes milliseconds at least.
    let ms: f64 = warning
        .split("one hash took ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no time in: {warning}"));
    assert!(ms >= 5.0, "{warning}");

    // The default cost says nothing of the sort; nor does Prometheus checking at cost 12.
    for extra in [&[][..], &["--auth", "prometheus"][..]] {
        let output = promsetup_command()
            .args(base_args(&dir.path().join(format!("c{}", extra.len()))))
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success());
        assert!(!text(&output.stderr).contains("one hash took"), "{extra:?}");
    }
}

#[test]
fn the_json_report_carries_no_digest_of_a_secret_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let output = promsetup_command()
        .args(base_args(&out))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let files = report["files"].as_array().unwrap();
    let digest_of = |name: &str| {
        files
            .iter()
            .find(|file| file["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} not in {files:?}"))["sha256"]
            .clone()
    };
    assert_eq!(digest_of("password.txt"), serde_json::Value::Null);
    assert_eq!(digest_of("example.com.key"), serde_json::Value::Null);
    assert!(digest_of("nginx.conf").is_string());
    assert!(digest_of("example.com.crt").is_string());
    let password = fs::read_to_string(out.join("password.txt")).unwrap();
    use sha2::Digest;
    let secret_digest: String = sha2::Sha256::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!text(&output.stdout).contains(&secret_digest));
}

#[test]
fn a_weak_password_txt_used_again_warns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let first = promsetup_command().args(base_args(&out)).output().unwrap();
    assert!(first.status.success());
    assert!(!text(&first.stderr).contains("password.txt holds"));
    fs::write(out.join("password.txt"), "hunter2\n").unwrap();
    let output = promsetup_command()
        .args(base_args(&out))
        .arg("--force")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("password.txt holds a password of 7 characters"),
        "{stderr}"
    );
}

/// A non-interactive run into a fresh folder with `extra`; returns (exit code, stderr, out dir).
fn run_with(extra: &[&str]) -> (Option<i32>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let output = promsetup_command()
        .args(base_args(&out))
        .args(extra)
        .output()
        .unwrap();
    (output.status.code(), text(&output.stderr), dir)
}

#[test]
fn values_that_do_not_work_together_are_refused_with_both_flags() {
    for (extra, words) in [
        (
            &["--port", "9090", "--upstream", "127.0.0.1:9090"][..],
            &["--port 9090", "--upstream"][..],
        ),
        (
            &["--http-port", "9091", "--upstream", "127.0.0.1:9091"][..],
            &["--http-port 9091", "--upstream"][..],
        ),
    ] {
        let (code, stderr, dir) = run_with(extra);
        assert_eq!(code, Some(2), "{extra:?}: {stderr}");
        for word in words {
            assert!(stderr.contains(word), "{extra:?}: {word} not in {stderr}");
        }
        assert!(!dir.path().join("b").exists());
    }
    // Another address for nginx leaves the port free on loopback.
    let (code, stderr, _dir) = run_with(&[
        "--port",
        "9090",
        "--bind",
        "192.0.2.1",
        "--upstream",
        "127.0.0.1:9090",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn upstreams_off_loopback_or_by_name_warn_and_no_tls_warns_of_clear_text() {
    let (code, stderr, _dir) = run_with(&["--upstream", "prom.internal:9090"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: --upstream prom.internal:9090: nginx resolves"),
        "{stderr}"
    );
    let (code, stderr, _dir) = run_with(&["--upstream", "192.0.2.5:9090"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("Prometheus listens on 192.0.2.5, not on loopback"),
        "{stderr}"
    );
    let (code, stderr, _dir) = run_with(&["--days", "10", "--renew-days", "30"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: --renew-days 30 is not less than --days 10"),
        "{stderr}"
    );
    let (code, stderr, _dir) = run_with(&["--no-tls"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: --no-tls") && stderr.contains("clear text"),
        "{stderr}"
    );
    // The default says none of these.
    let (code, stderr, _dir) = run_with(&[]);
    assert_eq!(code, Some(0));
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn ipv6_domains_get_file_names_that_are_no_option_and_a_zone_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let output = promsetup_command()
        .args(["--non-interactive", "--domain", "::1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(out.join("0--1.crt").exists() && out.join("0--1.key").exists());
    assert!(!out.join("--1.crt").exists());

    let output = promsetup_command()
        .args(["--non-interactive", "--domain", "fe80::1%eth0", "--out"])
        .arg(dir.path().join("c"))
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--domain") && stderr.contains("zone '%eth0'"),
        "{stderr}"
    );
}

#[test]
fn a_control_character_in_out_is_refused_and_never_echoed_raw() {
    let dir = tempfile::tempdir().unwrap();
    let out = format!("{}/b\u{1b}[31mred", dir.path().display());
    let output = promsetup_command()
        .args([
            "--non-interactive",
            "--domain",
            "example.com",
            "--out",
            &out,
        ])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--out") && stderr.contains("control character"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "raw ESC in: {stderr:?}");
}

#[test]
fn answers_files_take_integers_booleans_and_snake_case_keys() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("answers.toml");
    fs::write(
        &config,
        "domain = \"example.com\"\nport = 8443\nhttp_port = 0\nenable_admin_api = true\nno-rate-limit = true\n",
    )
    .unwrap();
    let out = dir.path().join("b");
    let output = promsetup_command()
        .args(["--non-interactive", "--nginx-layout", "full", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let conf = fs::read_to_string(out.join("nginx.conf")).unwrap();
    assert!(conf.contains("listen 8443 ssl"), "{conf}");
    assert!(!conf.contains("listen 80;"), "{conf}");
    assert!(!conf.contains("limit_req"), "{conf}");
    assert!(!conf.contains("api/v1/admin"), "{conf}");
}

#[test]
fn a_rerun_with_nothing_to_change_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let first = promsetup_command().args(base_args(&out)).output().unwrap();
    assert!(text(&first.stdout).starts_with("Wrote the bundle for"));
    let again = promsetup_command().args(base_args(&out)).output().unwrap();
    assert!(again.status.success());
    let stdout = text(&again.stdout);
    assert!(
        stdout.starts_with("Nothing to write: the bundle is up to date"),
        "{stdout}"
    );
}

#[test]
fn verify_and_user_help_list_only_their_own_options_and_init_keeps_the_setup_flags() {
    for command in [&["verify", "--help"][..], &["user", "--help"][..]] {
        let output = promsetup_command().args(command).output().unwrap();
        let help = text(&output.stdout);
        assert!(output.status.success(), "{help}");
        for setup_only in [
            "--prefix",
            "--realm",
            "--enable-admin-api",
            "--tls-cert",
            "--force",
        ] {
            assert!(
                !help.contains(setup_only),
                "{command:?} lists {setup_only}:\n{help}"
            );
        }
    }
    let output = promsetup_command()
        .args(["init", "--help"])
        .output()
        .unwrap();
    let help = text(&output.stdout);
    assert!(
        help.contains("--domain") && help.contains("--no-rate-limit"),
        "{help}"
    );
}

#[test]
fn user_add_says_how_to_install_the_file_and_warns_of_a_short_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let made = promsetup_command().args(base_args(&out)).output().unwrap();
    assert!(made.status.success());
    let output = promsetup_command()
        .args(["user", "add", "bob", "--password-stdin", "--dir"])
        .arg(&out)
        .write_stdin("short\n")
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: the password is 5 characters"),
        "{stderr}"
    );
    assert!(
        stdout.contains("Put it in place on the server: install -m 0640")
            && stdout.contains("/etc/nginx/.htpasswd"),
        "{stdout}"
    );
    let output = promsetup_command()
        .args(["user", "remove", "bob", "--dir"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("Put it in place on the server"));
}

#[test]
fn another_username_on_an_existing_bundle_says_the_earlier_user_stays() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    assert!(
        promsetup_command()
            .args(base_args(&out))
            .output()
            .unwrap()
            .status
            .success()
    );
    let output = promsetup_command()
        .args(base_args(&out))
        .args(["--username", "alice", "--force"])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("alice is added beside admin from an earlier run")
            && stderr.contains("promsetup user remove NAME"),
        "{stderr}"
    );
}

#[test]
fn a_deleted_password_txt_is_explained_not_silently_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    assert!(
        promsetup_command()
            .args(base_args(&out))
            .output()
            .unwrap()
            .status
            .success()
    );
    let before = fs::read_to_string(out.join(".htpasswd")).unwrap();
    fs::remove_file(out.join("password.txt")).unwrap();

    let output = promsetup_command().args(base_args(&out)).output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("password.txt is gone") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(out.join(".htpasswd")).unwrap(), before);

    let output = promsetup_command()
        .args(base_args(&out))
        .arg("--force")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("admin's password is replaced"), "{stderr}");
    assert!(out.join("password.txt").exists());
    assert_ne!(fs::read_to_string(out.join(".htpasswd")).unwrap(), before);
}

/// Answers every question with its default, types `password`, and says no to writing; keeps
/// what a person at the terminal would see, in order.
struct Defaults {
    password: &'static str,
    transcript: Vec<String>,
}

impl promsetup::wizard::prompter::Prompter for Defaults {
    fn text(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        _: promsetup::wizard::prompter::Check,
    ) -> Result<String, promsetup::wizard::prompter::Interrupted> {
        self.transcript.push(format!("? {prompt}"));
        Ok(default.unwrap_or("").to_string())
    }
    fn new_password(
        &mut self,
        prompt: &str,
        _: promsetup::wizard::prompter::Check,
    ) -> Result<Option<zeroize::Zeroizing<String>>, promsetup::wizard::prompter::Interrupted> {
        self.transcript.push(format!("? {prompt}"));
        Ok(Some(zeroize::Zeroizing::new(self.password.to_string())))
    }
    fn choose(
        &mut self,
        prompt: &str,
        _: &[&str],
        default: usize,
    ) -> Result<usize, promsetup::wizard::prompter::Interrupted> {
        self.transcript.push(format!("? {prompt}"));
        Ok(default)
    }
    fn confirm(
        &mut self,
        prompt: &str,
        _: bool,
    ) -> Result<bool, promsetup::wizard::prompter::Interrupted> {
        self.transcript.push(format!("? {prompt}"));
        Ok(false)
    }
    fn say(&mut self, text: &str) {
        self.transcript.push(format!("> {text}"));
    }
}

#[test]
fn the_wizard_warns_of_a_short_password_before_asking_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let out_text = out.display().to_string();
    let request = promsetup::cli::try_parse_from([
        "promsetup",
        "init",
        "--domain",
        "example.com",
        "--out",
        &out_text,
    ])
    .unwrap();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut stdin = std::io::BufReader::new(&b""[..]);
    let streams = promsetup::Streams {
        stdin: &mut stdin,
        out: &mut stdout,
        err: &mut stderr,
    };
    let mut prompter = Defaults {
        password: "short",
        transcript: Vec::new(),
    };
    let host = promsetup::model::setup::HostFacts::unknown();
    promsetup::run(request, &host, streams, Some(&mut prompter)).unwrap();
    let transcript = &prompter.transcript;
    let warned = transcript
        .iter()
        .position(|line| line.contains("warning: the password is 5 characters"))
        .unwrap_or_else(|| panic!("no warning: {transcript:#?}"));
    let asked = transcript
        .iter()
        .position(|line| line.starts_with("? Write these files"))
        .unwrap_or_else(|| panic!("not asked to write: {transcript:#?}"));
    assert!(warned < asked, "{transcript:#?}");
    assert!(!out.exists(), "nothing is written after a no");
}

//! End-to-end tests of the two shapes where Prometheus checks the password itself, from the
//! `web.yml` promsetup writes: `--auth prometheus` (nginx in front for TLS and the prefix,
//! passing the credentials on) and `--no-nginx` (Prometheus alone, serving TLS too). Each test
//! serves the bundle as written with the real nginx and Prometheus and checks one claim the
//! way a user (curl), promtool or a Go client (a second Prometheus scraping) would see it.

// The harness writes its scratch files (configs, logs) by hand.
#![allow(clippy::disallowed_methods)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::{
    Bundle, Credentials, CurlResult, PASSWORD, PrometheusAlone, Setup, Stack, USERNAME, curl,
    current_uid, flag_value, nginx_test, require,
};

/// The account the bundle hands Prometheus's files to (promsetup's `--prometheus-user`
/// default).
const PROMETHEUS_ACCOUNT: &str = "prometheus";
/// The second `web.yml` user, whose password is in self-scrape.password.
const SELF_SCRAPE_USER: &str = "prometheus-self-scrape";
/// The bcrypt cost promsetup uses when Prometheus checks the password.
const PROMETHEUS_BCRYPT_PREFIX: &str = "$2y$12$";

// ---------------------------------------------------------------------------------------------
// Helpers that state what a claim means

fn checked_by_prometheus() -> Setup {
    Setup::prometheus_checks()
}

fn with_realm(realm: &str) -> Setup {
    Setup {
        extra_args: vec!["--realm".into(), realm.into()],
        ..Setup::prometheus_checks()
    }
}

fn serve(setup: Setup) -> Option<Stack> {
    Stack::start(Bundle::create(setup))
}

fn serve_alone() -> Option<PrometheusAlone> {
    PrometheusAlone::start(Bundle::create(Setup::prometheus_alone()))
}

fn is_prometheus_metrics(body: &str) -> bool {
    body.contains("prometheus_build_info")
}

/// A 200 whose body is Prometheus's own metrics.
fn assert_metrics(result: &CurlResult, what: &str) {
    assert_eq!(result.status, 200, "{what}: {result:#?}");
    assert!(
        is_prometheus_metrics(&result.body),
        "{what}: no prometheus_build_info: {result:#?}"
    );
}

/// A 200 with `"status":"success"` from Prometheus's HTTP API.
fn assert_api_success(result: &CurlResult, what: &str) {
    assert_eq!(result.status, 200, "{what}: {result:#?}");
    let json: serde_json::Value = serde_json::from_str(&result.body)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {result:#?}"));
    assert_eq!(json["status"], "success", "{what}: {result:#?}");
}

/// A 401 carrying exactly one `WWW-Authenticate` header, equal to `challenge`, and nothing of
/// Prometheus's.
fn assert_challenged(result: &CurlResult, challenge: &str, what: &str) {
    assert_eq!(result.status, 401, "{what}: {result:#?}");
    assert_eq!(
        result.header_values("www-authenticate"),
        [challenge],
        "{what}: want exactly one WWW-Authenticate: {challenge}: {result:#?}"
    );
    assert!(
        !is_prometheus_metrics(&result.body),
        "{what}: got metrics: {result:#?}"
    );
}

/// A 401 without Prometheus's metrics.
fn assert_refused(result: &CurlResult, what: &str) {
    assert_eq!(result.status, 401, "{what}: {result:#?}");
    assert!(
        !is_prometheus_metrics(&result.body),
        "{what}: got metrics: {result:#?}"
    );
}

/// Through nginx: no credentials get one Basic challenge for `realm`, a wrong password 401,
/// and the right one Prometheus's metrics and API under the prefix.
fn assert_prometheus_checks_through_nginx(stack: &Stack, realm: &str) {
    let bundle = &stack.bundle;
    let metrics = bundle.path("/metrics");
    let challenge = format!("Basic realm=\"{realm}\"");

    let anonymous = stack.request(Credentials::None, &metrics, &[]);
    assert_challenged(&anonymous, &challenge, "no credentials");

    let wrong = stack.request(Credentials::Password("not-the-password"), &metrics, &[]);
    assert_challenged(&wrong, &challenge, "wrong password");

    assert_metrics(&stack.get(&metrics), "right password");
    assert_api_success(
        &stack.get(&bundle.path("/api/v1/label/job/values")),
        "right password, API",
    );
}

/// `promtool check web-config FILE`, as the next steps tell the user to run it.
fn promtool_check_web_config(web_config: &Path) -> Output {
    let promtool = require("promtool").expect("promtool is installed");
    Command::new(promtool)
        .args(["check", "web-config"])
        .arg(web_config)
        .stdin(Stdio::null())
        .output()
        .expect("run promtool")
}

fn assert_promtool_accepts_web_config(bundle: &Bundle) {
    let check = promtool_check_web_config(&bundle.web_config());
    assert!(
        check.status.success(),
        "promtool check web-config rejected {} ({}):\n{}{}\n--- web.yml\n{}",
        bundle.web_config().display(),
        check.status,
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr),
        bundle.web_config_text()
    );
}

/// The `basic_auth_users` of a web.yml as (user, hash) pairs. promsetup writes one user per
/// line, `"user": "hash"`; neither user names nor bcrypt hashes hold ':' or quotes.
fn web_config_users(web_config: &str) -> Vec<(String, String)> {
    let unquote = |text: &str| text.trim().trim_matches('"').trim_matches('\'').to_string();
    let mut users = Vec::new();
    let mut in_users = false;
    for line in web_config.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            in_users = line.trim_end() == "basic_auth_users:";
            continue;
        }
        if in_users {
            let (user, hash) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("not `user: hash`: {line:?}"));
            users.push((unquote(user), unquote(hash)));
        }
    }
    users
}

fn hash_of(bundle: &Bundle, user: &str) -> String {
    let text = bundle.web_config_text();
    web_config_users(&text)
        .into_iter()
        .find(|(name, _)| name == user)
        .map(|(_, hash)| hash)
        .unwrap_or_else(|| panic!("no user {user:?} in web.yml:\n{text}"))
}

/// Field `field` (0-based) of the line for `name` in a colon-separated database file.
fn account_field(database: &str, name: &str, field: usize) -> Option<u32> {
    let text = fs::read_to_string(database).ok()?;
    let line = text.lines().find(|l| l.split(':').next() == Some(name))?;
    line.split(':').nth(field)?.parse().ok()
}

fn prometheus_uid() -> Option<u32> {
    account_field("/etc/passwd", PROMETHEUS_ACCOUNT, 2)
}

fn prometheus_gid() -> Option<u32> {
    account_field("/etc/passwd", PROMETHEUS_ACCOUNT, 3)
}

/// Only root can give files away; elsewhere promsetup keeps them (with a warning).
fn files_can_be_given_to_prometheus() -> bool {
    current_uid() == 0 && prometheus_uid().is_some()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

// ---------------------------------------------------------------------------------------------
// --auth prometheus: nginx does TLS and the prefix, Prometheus checks web.yml

#[test]
fn every_web_yml_written_for_prometheus_checking_passes_promtool() {
    let Some(_) = require("promtool") else { return };
    for setup in [
        checked_by_prometheus(),
        Setup {
            tls: false,
            ..checked_by_prometheus()
        },
        Setup {
            prefix: Some("/".into()),
            ..with_realm("Ops team")
        },
    ] {
        assert_promtool_accepts_web_config(&Bundle::create(setup));
    }
}

#[test]
fn nginx_accepts_the_config_when_prometheus_checks_the_password() {
    let Some(_) = require("nginx") else { return };
    for setup in [
        Setup {
            http_redirect: true,
            ..checked_by_prometheus()
        },
        Setup {
            tls: false,
            ..checked_by_prometheus()
        },
    ] {
        let tls = setup.tls;
        let bundle = Bundle::create(setup);
        let check = nginx_test(&bundle.nginx_conf());
        assert!(
            check.status.success(),
            "nginx -t failed (tls: {tls}):\n{}\n--- nginx.conf\n{}",
            String::from_utf8_lossy(&check.stderr),
            bundle.nginx_conf_text()
        );
    }
}

#[test]
fn prometheus_is_told_to_read_the_web_yml_in_the_prometheus_dir() {
    let bundle = Bundle::create(checked_by_prometheus());
    let flags = bundle.flags();
    assert_eq!(
        flag_value(&flags, "--web.config.file"),
        Some(bundle.web_config().display().to_string().as_str()),
        "flags: {flags:?}"
    );
    assert_eq!(
        flag_value(&flags, "--web.route-prefix"),
        Some("/"),
        "flags: {flags:?}"
    );
}

#[test]
fn through_nginx_prometheus_challenges_for_the_realm_and_checks_the_password() {
    let Some(stack) = serve(checked_by_prometheus()) else {
        return;
    };
    assert_prometheus_checks_through_nginx(&stack, "Prometheus");
}

#[test]
fn through_nginx_the_challenge_names_the_realm_given() {
    let Some(stack) = serve(with_realm("Ops team")) else {
        return;
    };
    assert_prometheus_checks_through_nginx(&stack, "Ops team");
}

#[test]
fn without_tls_prometheus_checks_the_password_behind_nginx_over_plain_http() {
    let Some(stack) = serve(Setup {
        tls: false,
        ..checked_by_prometheus()
    }) else {
        return;
    };
    assert_prometheus_checks_through_nginx(&stack, "Prometheus");
}

#[test]
fn prometheus_itself_refuses_a_request_that_bypasses_nginx_without_credentials() {
    let Some(stack) = serve(checked_by_prometheus()) else {
        return;
    };
    let upstream = format!("http://127.0.0.1:{}/metrics", stack.bundle.upstream_port);

    assert_refused(&curl([upstream.as_str()]), "upstream, no credentials");
    assert_refused(
        &curl([
            "-u",
            &format!("{USERNAME}:not-the-password"),
            upstream.as_str(),
        ]),
        "upstream, wrong password",
    );
    assert_metrics(
        &curl(["-u", &format!("{USERNAME}:{PASSWORD}"), upstream.as_str()]),
        "upstream, right password",
    );
}

#[test]
fn prometheus_scrapes_itself_with_the_generated_job_when_it_checks_the_password() {
    let Some(stack) = serve(checked_by_prometheus()) else {
        return;
    };
    // Stack::start ran Prometheus with prometheus-scrape.yml as its only scrape config.
    if let Err(why) = stack.prometheus.wait_target_up() {
        panic!(
            "the self-scrape from prometheus-scrape.yml is not up: {why}\n--- snippet\n{}",
            fs::read_to_string(stack.bundle.scrape_snippet()).unwrap_or_default()
        );
    }
}

#[test]
fn prometheus_go_client_scrapes_through_nginx_when_prometheus_checks_the_password() {
    let Some(stack) = serve(checked_by_prometheus()) else {
        return;
    };
    let scraper = stack.start_scraper();
    if let Err(why) = scraper.wait_target_up() {
        panic!(
            "scraping {} through nginx failed: {why}",
            stack.bundle.path("/metrics")
        );
    }
}

#[test]
fn web_yml_holds_cost_12_bcrypt_hashes_of_both_passwords() {
    for setup in [checked_by_prometheus(), Setup::prometheus_alone()] {
        let shape = setup.shape;
        let bundle = Bundle::create(setup);
        let users: Vec<String> = web_config_users(&bundle.web_config_text())
            .into_iter()
            .map(|(user, _)| user)
            .collect();
        assert_eq!(users, [USERNAME, SELF_SCRAPE_USER], "{shape:?}");

        let hash = hash_of(&bundle, USERNAME);
        assert!(
            hash.starts_with(PROMETHEUS_BCRYPT_PREFIX),
            "{shape:?}: {hash}"
        );
        assert!(bcrypt::verify(PASSWORD, &hash).unwrap(), "{shape:?}");
        assert!(
            !bcrypt::verify("not-the-password", &hash).unwrap(),
            "{shape:?}"
        );

        let self_scrape =
            fs::read_to_string(bundle.self_scrape_password()).expect("read self-scrape.password");
        let self_scrape = self_scrape.trim_end_matches('\n');
        let self_hash = hash_of(&bundle, SELF_SCRAPE_USER);
        assert!(
            self_hash.starts_with(PROMETHEUS_BCRYPT_PREFIX),
            "{shape:?}: {self_hash}"
        );
        assert!(
            bcrypt::verify(self_scrape, &self_hash).unwrap(),
            "{shape:?}"
        );
        assert_ne!(self_scrape, PASSWORD, "{shape:?}");
    }
}

#[test]
fn prometheus_can_read_web_yml_and_only_it_reads_the_self_scrape_password() {
    for setup in [checked_by_prometheus(), Setup::prometheus_alone()] {
        let shape = setup.shape;
        let bundle = Bundle::create(setup);
        let web = fs::metadata(bundle.web_config()).expect("web.yml exists");
        let password = fs::metadata(bundle.self_scrape_password()).expect("password exists");
        assert_eq!(mode(&bundle.web_config()), 0o640, "{shape:?}: web.yml");
        assert_eq!(
            mode(&bundle.self_scrape_password()),
            0o600,
            "{shape:?}: self-scrape.password"
        );
        if files_can_be_given_to_prometheus() {
            assert_eq!(Some(web.gid()), prometheus_gid(), "{shape:?}: web.yml");
            assert_eq!(
                Some(password.uid()),
                prometheus_uid(),
                "{shape:?}: self-scrape.password"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --no-nginx: Prometheus alone serves TLS, basic auth and the prefix

#[test]
fn without_nginx_web_yml_passes_promtool() {
    let Some(_) = require("promtool") else { return };
    let bundle = Bundle::create(Setup::prometheus_alone());
    let web = bundle.web_config_text();
    assert!(web.contains("tls_server_config:"), "{web}");
    assert_promtool_accepts_web_config(&bundle);
}

#[test]
fn without_nginx_prometheus_is_told_to_serve_the_prefix_itself_on_the_bind_address() {
    let bundle = Bundle::create(Setup::prometheus_alone());
    assert!(!bundle.nginx_conf().exists(), "nginx.conf was written");
    let flags = bundle.flags();
    assert_eq!(
        flag_value(&flags, "--web.route-prefix"),
        None,
        "flags: {flags:?}"
    );
    assert_eq!(
        flag_value(&flags, "--web.external-url"),
        Some(format!("{}{}/", bundle.origin(), bundle.prefix()).as_str()),
        "flags: {flags:?}"
    );
    assert_eq!(
        flag_value(&flags, "--web.listen-address"),
        Some(format!("127.0.0.1:{}", bundle.port).as_str()),
        "flags: {flags:?}"
    );
    assert_eq!(
        flag_value(&flags, "--web.config.file"),
        Some(bundle.web_config().display().to_string().as_str()),
        "flags: {flags:?}"
    );
}

#[test]
fn without_nginx_prometheus_checks_the_password_over_tls_curl_verifies() {
    let Some(alone) = serve_alone() else { return };
    let bundle = &alone.bundle;
    let metrics = bundle.path("/metrics");

    // Prometheus's own challenge names no realm (exporter-toolkit sends a bare "Basic").
    let anonymous = alone.request(Credentials::None, &metrics, &[]);
    assert_challenged(&anonymous, "Basic", "no credentials");
    assert_refused(
        &alone.request(Credentials::Password("not-the-password"), &metrics, &[]),
        "wrong password",
    );
    assert_metrics(&alone.get(&metrics), "right password");
    assert_api_success(
        &alone.get(&bundle.path("/api/v1/label/job/values")),
        "right password, API",
    );
}

#[test]
fn without_nginx_tls_1_1_is_refused_and_tls_1_2_accepted() {
    let Some(alone) = serve_alone() else { return };
    let metrics = alone.bundle.path("/metrics");
    // OpenSSL 3 clients refuse TLS < 1.2 at the default security level by themselves; level 0
    // makes curl offer them, so a failure here is the server's refusal, not curl's.
    let old = alone.request(
        Credentials::Valid,
        &metrics,
        &["--tls-max", "1.1", "--ciphers", "DEFAULT:@SECLEVEL=0"],
    );
    assert!(!old.connected(), "TLS 1.1 was accepted: {old:#?}");
    // 35 is a failed TLS handshake; anything else (e.g. 7, no connection) proves nothing.
    assert_eq!(old.exit_code, Some(35), "TLS 1.1: {old:#?}");

    let current = alone.request(
        Credentials::Valid,
        &metrics,
        &["--tlsv1.2", "--tls-max", "1.2"],
    );
    assert_metrics(&current, "TLS 1.2");
}

#[test]
fn without_nginx_prometheus_scrapes_itself_through_its_own_tls_with_the_generated_job() {
    let Some(alone) = serve_alone() else { return };
    let snippet = fs::read_to_string(alone.bundle.scrape_snippet()).unwrap_or_default();
    assert!(snippet.contains("scheme: https"), "{snippet}");
    // PrometheusAlone::start ran Prometheus with prometheus-scrape.yml as its scrape config.
    if let Err(why) = alone.prometheus.wait_target_up() {
        panic!(
            "the self-scrape from prometheus-scrape.yml is not up: {why}\n--- snippet\n{snippet}"
        );
    }
}

#[test]
fn without_nginx_prometheus_go_client_verifies_the_certificate_and_scrapes_prometheus() {
    let Some(alone) = serve_alone() else { return };
    let scraper = alone.start_scraper();
    if let Err(why) = scraper.wait_target_up() {
        panic!(
            "scraping {} from Prometheus's own TLS failed: {why}",
            alone.bundle.path("/metrics")
        );
    }
}

#[test]
fn without_nginx_the_private_key_is_mode_0600_and_owned_by_prometheus() {
    let bundle = Bundle::create(Setup::prometheus_alone());
    assert_eq!(mode(&bundle.key()), 0o600, "key mode");
    let owner = fs::metadata(bundle.key()).expect("key exists").uid();
    if files_can_be_given_to_prometheus() {
        assert_eq!(Some(owner), prometheus_uid(), "key owner");
    } else {
        assert_eq!(owner, current_uid(), "key owner");
    }
}

#[test]
fn web_config_users_reads_the_users_promsetup_writes() {
    let text = "# comment\ntls_server_config:\n  cert_file: \"/a:b\"\nbasic_auth_users:\n  \
                \"admin\": \"$2y$12$abc\"\n  other: '$2y$12$def'\n";
    assert_eq!(
        web_config_users(text),
        [
            ("admin".to_string(), "$2y$12$abc".to_string()),
            ("other".to_string(), "$2y$12$def".to_string()),
        ]
    );
}

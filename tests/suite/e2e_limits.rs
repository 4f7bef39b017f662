//! Issue 13 against real nginx and Prometheus: refused endpoints check the password first
//! (anonymous 401, then 403), /debug/pprof and /federate are refused unless enabled, the
//! per-client rate limit answers 429 to a flood and is gone with --no-rate-limit, and HSTS is
//! sent with a trusted certificate only.

use std::process::Command;

use crate::support::{Bundle, Credentials, Setup, Stack, request, require};

fn serve(extra: &[&str]) -> Option<Stack> {
    Stack::start(Bundle::create(Setup {
        extra_args: extra.iter().map(|s| s.to_string()).collect(),
        ..Setup::default()
    }))
}

const REFUSED: &[(&str, &str)] = &[
    ("POST", "/-/quit"),
    ("POST", "/-/reload"),
    ("POST", "/api/v1/admin/tsdb/snapshot"),
    ("GET", "/debug/pprof/"),
    ("GET", "/debug/pprof/cmdline"),
    ("GET", "/federate?match[]=up"),
];

#[test]
fn refused_endpoints_ask_for_the_password_first_then_answer_403() {
    let Some(stack) = serve(&[]) else { return };
    let bundle = &stack.bundle;
    for (method, path) in REFUSED {
        let path = bundle.path(path);
        let anonymous = request(bundle, Credentials::None, &path, &["-X", method, "-g"]);
        assert_eq!(
            anonymous.status, 401,
            "anonymous {method} {path}: {anonymous:?}"
        );
        let wrong = request(
            bundle,
            Credentials::Password("nope"),
            &path,
            &["-X", method, "-g"],
        );
        assert_eq!(
            wrong.status, 401,
            "wrong password {method} {path}: {wrong:?}"
        );
        let right = request(bundle, Credentials::Valid, &path, &["-X", method, "-g"]);
        assert_eq!(
            right.status, 403,
            "right password {method} {path}: {right:?}"
        );
    }
}

#[test]
fn enable_pprof_and_federate_let_signed_in_users_through() {
    let Some(stack) = serve(&["--enable-pprof", "--enable-federate"]) else {
        return;
    };
    let bundle = &stack.bundle;
    for path in ["/debug/pprof/cmdline", "/federate?match[]=up"] {
        let path = bundle.path(path);
        let right = request(bundle, Credentials::Valid, &path, &["-g"]);
        assert_eq!(right.status, 200, "{path}: {right:?}");
        let anonymous = request(bundle, Credentials::None, &path, &["-g"]);
        assert_eq!(anonymous.status, 401, "{path}: {anonymous:?}");
    }
}

/// `count` requests with a wrong password, 50 at a time, through curl's parallel mode; the
/// status codes in the order curl reports them.
fn flood(bundle: &Bundle, count: usize) -> Vec<u16> {
    let mut args = bundle.curl_reach_args();
    args.extend(
        [
            "-s",
            "--parallel",
            "--parallel-max",
            "50",
            "-u",
            "admin:wrong",
            "-w",
            "%{http_code}\\n",
        ]
        .map(String::from),
    );
    let url = format!(
        "{}{}",
        bundle.origin(),
        bundle.path("/api/v1/query?query=up")
    );
    for _ in 0..count {
        // curl's -o goes with one URL: one each.
        args.extend(["-o".to_string(), "/dev/null".to_string(), url.clone()]);
    }
    let output = Command::new("curl").args(&args).output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

#[test]
fn a_wrong_password_flood_from_one_address_gets_429_and_the_limit_can_be_turned_off() {
    let Some(stack) = serve(&[]) else { return };
    require("curl").unwrap();
    let bundle = &stack.bundle;
    let conf = bundle.nginx_conf_text();
    assert!(
        conf.contains("limit_req zone=promsetup_clients burst=100 nodelay;"),
        "{conf}"
    );
    // A dashboard's worth at once first: 40 right-password requests, none limited.
    let mut args = bundle.curl_reach_args();
    args.extend(
        [
            "-s",
            "--parallel",
            "--parallel-max",
            "40",
            "-w",
            "%{http_code}\\n",
            "-u",
        ]
        .map(String::from),
    );
    args.push(format!("{}:{}", bundle.username, bundle.password));
    let url = format!(
        "{}{}",
        bundle.origin(),
        bundle.path("/api/v1/query?query=up")
    );
    for _ in 0..40 {
        args.extend(["-o".to_string(), "/dev/null".to_string(), url.clone()]);
    }
    let output = Command::new("curl").args(&args).output().unwrap();
    let statuses = String::from_utf8_lossy(&output.stdout).to_string();
    assert_eq!(
        statuses.lines().filter(|s| *s == "200").count(),
        40,
        "a 40-request burst must pass whole: {statuses}"
    );
    // Let the bucket drain (20 r/s: 40 requests in 2 s).
    std::thread::sleep(std::time::Duration::from_secs(3));
    let started = std::time::Instant::now();
    let statuses = flood(bundle, 400);
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(statuses.len(), 400, "{statuses:?}");
    let limited = statuses.iter().filter(|s| **s == 429).count();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(limited + checked, 400, "{statuses:?}");
    // At most the burst of 100 plus 20 a second for as long as the flood lasted reach the
    // password check (the rest get 429 without a hash); a second of slack for the edges.
    let allowed = 100 + (20.0 * (seconds + 1.0)) as usize;
    assert!(
        checked <= allowed && limited > 0,
        "401: {checked} (allowed {allowed} in {seconds:.1} s), 429: {limited}"
    );

    let Some(unlimited) = serve(&["--no-rate-limit"]) else {
        return;
    };
    assert!(!unlimited.bundle.nginx_conf_text().contains("limit_req"));
    let statuses = flood(&unlimited.bundle, 300);
    assert_eq!(statuses.len(), 300);
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
}

#[test]
fn hsts_only_with_a_certificate_clients_trust() {
    let Some(stack) = serve(&[]) else { return };
    let bundle = &stack.bundle;
    let got = stack.get(&bundle.path("/-/healthy"));
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(
        got.header("strict-transport-security"),
        None,
        "self-signed: no HSTS"
    );
    assert!(
        !bundle
            .nginx_conf_text()
            .contains("Strict-Transport-Security")
    );

    // The first bundle's pair given as the user's own certificate.
    let (cert, key) = (bundle.cert(), bundle.key());
    let own = Bundle::create(Setup {
        extra_args: vec![
            "--tls-cert".into(),
            cert.display().to_string(),
            "--tls-key".into(),
            key.display().to_string(),
        ],
        ..Setup::default()
    });
    let conf = own.nginx_conf_text();
    assert!(
        conf.contains("add_header Strict-Transport-Security \"max-age=31536000\" always;"),
        "{conf}"
    );
    // Served for real, with the pair where curl trusts it.
    std::fs::copy(&cert, own.cert()).unwrap();
    let Some(own) = Stack::start(own) else { return };
    let got = own.get(&own.bundle.path("/-/healthy"));
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(
        got.header("strict-transport-security").as_deref(),
        Some("max-age=31536000"),
        "{got:?}"
    );
}

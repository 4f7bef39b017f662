//! End-to-end tests: run promsetup, serve what it wrote with the real nginx and Prometheus,
//! and check each claim the bundle makes the way a user (curl) or a Go client (Prometheus
//! scraping through the proxy) would see it. One test per claim; the harness is in support/.

use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{
    Bundle, Credentials, DOMAIN, Nginx, RecordingUpstream, Setup, Stack, USERNAME, curl,
    current_uid, flag_value, nginx_test, request, require, route_prefix,
};
use x509_parser::oid_registry::{OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY};
use x509_parser::prelude::{GeneralName, X509Certificate, parse_x509_pem};

/// CA/Browser Forum limit on a TLS server certificate's lifetime.
const MAX_VALIDITY_DAYS: i64 = 397;
/// Prometheus queries may legitimately run for up to its default 2 min query timeout.
const PROMETHEUS_QUERY_TIMEOUT_SECS: u64 = 120;

// ---------------------------------------------------------------------------------------------
// Helpers that state what a claim means

fn serve(setup: Setup) -> Option<Stack> {
    Stack::start(Bundle::create(setup))
}

fn served_with_defaults() -> Option<Stack> {
    serve(Setup::default())
}

/// A redirect's target as a path on our server: a relative Location stays as is; an
/// absolute one loses the server's own origin, and one pointing elsewhere is kept whole
/// (so it fails any "stays inside the prefix" check).
fn location_path(bundle: &Bundle, location: &str) -> String {
    location
        .strip_prefix(&bundle.origin())
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .map(|rest| if rest.is_empty() { "/" } else { rest })
        .unwrap_or(location)
        .to_string()
}

/// Every Location header in a response chain (curl -L writes all of them to -D).
fn all_locations(headers: &str) -> Vec<String> {
    headers
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.trim().eq_ignore_ascii_case("location"))
        .map(|(_, value)| value.trim().to_string())
        .collect()
}

fn is_prometheus_metrics(body: &str) -> bool {
    body.contains("prometheus_build_info")
}

fn is_html(result: &crate::support::CurlResult) -> bool {
    let content_type = result.header("content-type").unwrap_or_default();
    content_type.starts_with("text/html") && result.body.to_ascii_lowercase().contains("<html")
}

/// No credentials get a Basic challenge for the realm, a wrong password gets 401 too, and
/// the right one reaches Prometheus's metrics and HTTP API under the prefix.
fn assert_basic_auth_guards_prometheus(stack: &Stack) {
    let bundle = &stack.bundle;
    let metrics = bundle.path("/metrics");

    let anonymous = stack.request(Credentials::None, &metrics, &[]);
    assert_eq!(anonymous.status, 401, "no credentials: {anonymous:#?}");
    assert_eq!(
        anonymous.header("www-authenticate").as_deref(),
        Some(r#"Basic realm="Prometheus""#),
        "no credentials: {anonymous:#?}"
    );

    let wrong = stack.request(Credentials::Password("not-the-password"), &metrics, &[]);
    assert_eq!(wrong.status, 401, "wrong password: {wrong:#?}");
    assert!(
        !is_prometheus_metrics(&wrong.body),
        "wrong password got metrics"
    );

    let right = stack.get(&metrics);
    assert_eq!(right.status, 200, "right password: {right:#?}");
    assert!(
        is_prometheus_metrics(&right.body),
        "no prometheus_build_info: {right:#?}"
    );

    let api = stack.get(&bundle.path("/api/v1/label/job/values"));
    assert_eq!(api.status, 200, "API: {api:#?}");
    let json: serde_json::Value = serde_json::from_str(&api.body)
        .unwrap_or_else(|e| panic!("API answer is not JSON ({e}): {api:#?}"));
    assert_eq!(json["status"], "success", "API: {api:#?}");
}

/// Following `path` (authenticated) ends in Prometheus's HTML UI, and every redirect on the
/// way points inside the prefix.
fn assert_redirects_stay_inside_prefix(stack: &Stack, path: &str) {
    let bundle = &stack.bundle;
    let inside = bundle.path("/");
    let followed = stack.request(Credentials::Valid, path, &["-L", "--max-redirs", "5"]);
    let locations = all_locations(&followed.headers);
    assert!(
        !locations.is_empty(),
        "{path} did not redirect: {followed:#?}"
    );
    for location in &locations {
        let target = location_path(bundle, location);
        assert!(
            target.starts_with(&inside),
            "{path} redirected to {location:?}, outside {inside:?}: {followed:#?}"
        );
    }
    assert_eq!(followed.status, 200, "following {path}: {followed:#?}");
    assert!(
        is_html(&followed),
        "following {path} gave no HTML page: {followed:#?}"
    );
}

/// The bare prefix (no trailing slash) redirects to the prefix with the slash.
fn assert_bare_prefix_redirects_to_slash(stack: &Stack) {
    let bundle = &stack.bundle;
    let bare = stack.get(&bundle.prefix());
    assert!(
        (300..400).contains(&bare.status),
        "bare prefix did not redirect: {bare:#?}"
    );
    let location = bare.header("location").expect("redirect has a Location");
    assert_eq!(
        location_path(bundle, &location),
        bundle.path("/"),
        "{bare:#?}"
    );
}

fn with_certificate<T>(bundle: &Bundle, check: impl FnOnce(&X509Certificate) -> T) -> T {
    let pem_text = fs::read(bundle.cert()).expect("read the certificate");
    let (_, pem) = parse_x509_pem(&pem_text).expect("certificate is PEM");
    let cert = pem.parse_x509().expect("certificate is X.509 DER");
    check(&cert)
}

fn subject_alt_names(cert: &X509Certificate) -> Vec<String> {
    let san = cert
        .subject_alternative_name()
        .expect("well-formed subjectAltName")
        .expect("certificate has a subjectAltName");
    san.value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(dns) => format!("DNS:{dns}"),
            GeneralName::IPAddress(b) if b.len() == 4 => {
                format!("IP:{}", Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            GeneralName::IPAddress(b) if b.len() == 16 => {
                let octets: [u8; 16] = (*b).try_into().unwrap();
                format!("IP:{}", Ipv6Addr::from(octets))
            }
            other => format!("{other:?}"),
        })
        .collect()
}

/// An nginx time ("300", "300s", "5m", "1m30s", "1h") in seconds.
fn nginx_seconds(value: &str) -> u64 {
    let mut total = 0;
    let mut number = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number
            .parse()
            .unwrap_or_else(|_| panic!("bad nginx time {value:?}"));
        number.clear();
        total += match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                n / 1000
            }
            's' => n,
            'm' => n * 60,
            'h' => n * 3600,
            'd' => n * 86400,
            'w' => n * 7 * 86400,
            _ => panic!("bad unit in nginx time {value:?}"),
        };
    }
    if !number.is_empty() {
        total += number.parse::<u64>().unwrap();
    }
    total
}

/// The arguments of every `directive` in an nginx config, whitespace-normalised.
fn directive_args(conf: &str, directive: &str) -> Vec<String> {
    conf.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter_map(|line| line.strip_prefix(directive))
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .map(|rest| {
            rest.trim()
                .trim_end_matches(';')
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn www_data_gid() -> Option<u32> {
    let groups = fs::read_to_string("/etc/group").ok()?;
    let line = groups.lines().find(|l| l.starts_with("www-data:"))?;
    line.split(':').nth(2)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// The config is valid nginx

#[test]
fn nginx_accepts_the_config_as_written() {
    let Some(_) = require("nginx") else { return };
    let bundle = Bundle::create(Setup {
        http_redirect: true,
        ..Setup::default()
    });
    let check = nginx_test(&bundle.nginx_conf());
    assert!(
        check.status.success(),
        "nginx -t failed:\n{}\n--- nginx.conf\n{}",
        String::from_utf8_lossy(&check.stderr),
        bundle.nginx_conf_text()
    );
}

// ---------------------------------------------------------------------------------------------
// Basic auth guards Prometheus

#[test]
fn a_request_without_credentials_is_challenged_for_the_prometheus_realm() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    let result = stack.request(Credentials::None, &stack.bundle.path("/metrics"), &[]);
    assert_eq!(result.status, 401, "{result:#?}");
    assert_eq!(
        result.header("www-authenticate").as_deref(),
        Some(r#"Basic realm="Prometheus""#),
        "{result:#?}"
    );
    assert!(!is_prometheus_metrics(&result.body));
}

#[test]
fn a_wrong_password_is_rejected() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    let result = stack.request(
        Credentials::Password("not-the-password"),
        &stack.bundle.path("/metrics"),
        &[],
    );
    assert_eq!(result.status, 401, "{result:#?}");
    assert!(!is_prometheus_metrics(&result.body));
}

#[test]
fn the_right_password_reaches_prometheus_metrics_under_the_prefix() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    let result = stack.get(&stack.bundle.path("/metrics"));
    assert_eq!(result.status, 200, "{result:#?}");
    assert!(is_prometheus_metrics(&result.body), "{result:#?}");
}

#[test]
fn the_right_password_reaches_the_prometheus_api_under_the_prefix() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    let result = stack.get(&stack.bundle.path("/api/v1/label/job/values"));
    assert_eq!(result.status, 200, "{result:#?}");
    let json: serde_json::Value = serde_json::from_str(&result.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {result:#?}"));
    assert_eq!(json["status"], "success", "{result:#?}");
}

// ---------------------------------------------------------------------------------------------
// Redirects stay inside the prefix

#[test]
fn the_prefix_root_redirects_inside_the_prefix_to_the_prometheus_ui() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    let bundle = &stack.bundle;
    let first = stack.get(&bundle.path("/"));
    assert!(
        (300..400).contains(&first.status),
        "PREFIX/ did not redirect: {first:#?}"
    );
    let location = first.header("location").expect("redirect has a Location");
    assert!(
        location_path(bundle, &location).starts_with(&bundle.path("/")),
        "PREFIX/ redirected to {location:?}"
    );
    assert_redirects_stay_inside_prefix(&stack, &bundle.path("/"));
}

#[test]
fn the_bare_prefix_redirects_to_the_prefix_with_a_slash() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    assert_bare_prefix_redirects_to_slash(&stack);
}

/// Prometheus links alerts to EXTERNAL_URL/graph?g0.expr=..., so that page must work too.
#[test]
fn the_graph_page_that_alerts_link_to_stays_inside_the_prefix() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    let graph = stack.bundle.path("/graph?g0.expr=up");
    let result = stack.request(Credentials::Valid, &graph, &["-L", "--max-redirs", "5"]);
    for location in all_locations(&result.headers) {
        assert!(
            location_path(&stack.bundle, &location).starts_with(&stack.bundle.path("/")),
            "{graph} redirected to {location:?}, outside the prefix: {result:#?}"
        );
    }
    assert_eq!(result.status, 200, "{result:#?}");
    assert!(is_html(&result), "{result:#?}");
}

#[test]
fn a_path_that_only_starts_with_the_prefix_text_is_not_proxied() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    let lookalike = format!("{}metrics", stack.bundle.prefix());
    let result = stack.get(&lookalike);
    assert!(
        !is_prometheus_metrics(&result.body),
        "{lookalike} was proxied: {result:#?}"
    );
    assert_eq!(result.status, 404, "{result:#?}");
}

// ---------------------------------------------------------------------------------------------
// TLS

#[test]
fn the_certificate_names_the_domain_in_its_subject_alt_names() {
    let bundle = Bundle::create(Setup::default());
    let names = with_certificate(&bundle, subject_alt_names);
    assert!(names.contains(&format!("DNS:{DOMAIN}")), "SANs: {names:?}");
}

#[test]
fn an_ip_domain_gets_an_ip_subject_alt_name() {
    let bundle = Bundle::create(Setup::with_domain("127.0.0.1"));
    let names = with_certificate(&bundle, subject_alt_names);
    assert!(
        names.contains(&"IP:127.0.0.1".to_string()),
        "SANs: {names:?}"
    );
}

#[test]
fn an_ip_domain_is_served_with_a_certificate_curl_verifies() {
    let Some(stack) = serve(Setup::with_domain("127.0.0.1")) else {
        return;
    };
    let result = stack.get(&stack.bundle.path("/metrics"));
    assert_eq!(result.status, 200, "{result:#?}");
    assert!(is_prometheus_metrics(&result.body));
}

#[test]
fn the_certificate_is_a_server_leaf_not_a_ca() {
    let bundle = Bundle::create(Setup::default());
    with_certificate(&bundle, |cert| {
        let constraints = cert
            .basic_constraints()
            .expect("well-formed basicConstraints")
            .expect("basicConstraints present (absent leaves CA-ness to the verifier)");
        assert!(!constraints.value.ca, "certificate says CA:TRUE");
    });
}

#[test]
fn the_certificate_is_for_tls_server_authentication() {
    let bundle = Bundle::create(Setup::default());
    with_certificate(&bundle, |cert| {
        let eku = cert
            .extended_key_usage()
            .expect("well-formed extendedKeyUsage")
            .expect("extendedKeyUsage present");
        assert!(
            eku.value.server_auth,
            "EKU lacks serverAuth: {:?}",
            eku.value
        );
    });
}

#[test]
fn the_certificate_key_is_ecdsa_p256() {
    let bundle = Bundle::create(Setup::default());
    with_certificate(&bundle, |cert| {
        let algorithm = &cert.public_key().algorithm;
        assert_eq!(
            algorithm.algorithm, OID_KEY_TYPE_EC_PUBLIC_KEY,
            "not an EC key"
        );
        let curve = algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
        assert_eq!(curve, Some(OID_EC_P256), "EC key is not on P-256");
    });
}

#[test]
fn certificate_serials_are_long_and_differ_between_runs() {
    let serial = |bundle: &Bundle| with_certificate(bundle, |cert| cert.raw_serial().to_vec());
    let first = serial(&Bundle::create(Setup::default()));
    let second = serial(&Bundle::create(Setup::default()));
    assert!(
        first.len() >= 8,
        "serial has only {} bytes: {first:02x?}",
        first.len()
    );
    assert_ne!(first, second, "two runs gave the same serial");
}

#[test]
fn the_certificate_is_valid_now_and_for_at_most_397_days() {
    let bundle = Bundle::create(Setup::default());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    with_certificate(&bundle, |cert| {
        let not_before = cert.validity().not_before.timestamp();
        let not_after = cert.validity().not_after.timestamp();
        assert!(
            not_before <= now + 60,
            "not valid yet: not_before {not_before}, now {now}"
        );
        assert!(not_after > now, "already expired");
        let days = (not_after - not_before) as f64 / 86400.0;
        assert!(days <= MAX_VALIDITY_DAYS as f64, "valid for {days:.1} days");
    });
}

#[test]
fn the_private_key_is_mode_0600_and_owned_by_the_running_user() {
    let bundle = Bundle::create(Setup::default());
    let meta = fs::metadata(bundle.key()).expect("key file exists");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "key mode");
    assert_eq!(meta.uid(), current_uid(), "key owner");
}

#[test]
fn prometheus_go_client_verifies_the_certificate_and_scrapes_through_the_proxy() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    let scraper = stack.start_scraper();
    if let Err(why) = scraper.wait_target_up() {
        panic!(
            "scraping {} through the proxy failed: {why}",
            stack.bundle.path("/metrics")
        );
    }
}

#[test]
fn tls_1_1_and_older_are_refused() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    let metrics = stack.bundle.path("/metrics");
    // OpenSSL 3 clients refuse TLS < 1.2 at the default security level by themselves; level 0
    // makes curl offer them, so a failure here is the server's refusal, not curl's.
    let legacy_client = ["--ciphers", "DEFAULT:@SECLEVEL=0"];
    for versions in [
        &["--tls-max", "1.1"][..],
        &["--tlsv1.0", "--tls-max", "1.0"],
    ] {
        let args = [versions, &legacy_client[..]].concat();
        let result = stack.request(Credentials::Valid, &metrics, &args);
        assert!(
            !result.connected(),
            "{versions:?} was accepted: {result:#?}"
        );
        // 35 is a failed TLS handshake; anything else (e.g. 7, no connection) proves nothing.
        assert_eq!(result.exit_code, Some(35), "{versions:?}: {result:#?}");
    }
}

#[test]
fn tls_1_2_and_1_3_are_accepted() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    let metrics = stack.bundle.path("/metrics");
    for versions in [&["--tlsv1.2", "--tls-max", "1.2"][..], &["--tlsv1.3"]] {
        let result = stack.request(Credentials::Valid, &metrics, versions);
        assert_eq!(result.status, 200, "{versions:?}: {result:#?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Prometheus and proxy settings

#[test]
fn prometheus_is_told_to_listen_only_on_the_loopback_upstream() {
    let bundle = Bundle::create(Setup::default());
    let expected = format!("--web.listen-address=127.0.0.1:{}", bundle.upstream_port);
    assert!(
        bundle.flags().contains(&expected),
        "flags: {:?}",
        bundle.flags()
    );
}

#[test]
fn prometheus_is_told_its_external_url_with_scheme_domain_port_and_prefix() {
    let bundle = Bundle::create(Setup::default());
    let flags = bundle.flags();
    let url = flag_value(&flags, "--web.external-url").expect("--web.external-url is set");
    let expected = format!("{}{}/", bundle.origin(), bundle.prefix());
    assert_eq!(
        url.trim_end_matches('/'),
        expected.trim_end_matches('/'),
        "flags: {flags:?}"
    );
}

#[test]
fn nginx_config_clears_the_authorization_header_for_prometheus() {
    let bundle = Bundle::create(Setup::default());
    let headers = directive_args(&bundle.nginx_conf_text(), "proxy_set_header");
    assert!(
        headers
            .iter()
            .any(|h| h == r#"Authorization """# || h == "Authorization ''"),
        "no `proxy_set_header Authorization \"\"` in: {headers:?}"
    );
}

#[test]
fn the_upstream_never_receives_the_users_credentials() {
    let Some(_) = require("nginx") else { return };
    let Some(_) = require("curl") else { return };
    let bundle = Bundle::create(Setup::default());
    let upstream = RecordingUpstream::start(bundle.upstream_port);
    let _nginx = Nginx::start(&bundle.nginx_conf(), bundle.workdir());

    let result = request(&bundle, Credentials::Valid, &bundle.path("/metrics"), &[]);
    assert_eq!(result.status, 200, "{result:#?}");
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1, "upstream saw: {requests:#?}");
    let forwarded = &requests[0];
    assert!(
        !forwarded.to_ascii_lowercase().contains("\nauthorization:"),
        "credentials were forwarded:\n{forwarded}"
    );
    // The path arrives where Prometheus routes it (its route prefix + "metrics").
    let expected_line = format!("GET {}metrics ", route_prefix(&bundle.flags()));
    assert!(
        forwarded.starts_with(&expected_line),
        "forwarded:\n{forwarded}"
    );
}

#[test]
fn nginx_waits_longer_than_prometheus_query_timeout_for_answers() {
    let bundle = Bundle::create(Setup::default());
    let timeouts = directive_args(&bundle.nginx_conf_text(), "proxy_read_timeout");
    assert!(
        !timeouts.is_empty(),
        "no proxy_read_timeout (nginx default 60s is too short)"
    );
    for timeout in timeouts {
        let seconds = nginx_seconds(&timeout);
        assert!(
            seconds > PROMETHEUS_QUERY_TIMEOUT_SECS,
            "proxy_read_timeout {timeout} ({seconds}s) is not above {PROMETHEUS_QUERY_TIMEOUT_SECS}s"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP redirects to HTTPS

#[test]
fn plain_http_redirects_permanently_to_https_keeping_path_and_query() {
    let Some(stack) = serve(Setup {
        http_redirect: true,
        ..Setup::default()
    }) else {
        return;
    };
    let bundle = &stack.bundle;
    let http_port = bundle.http_port.expect("an http port was asked for");
    let path = bundle.path("/graph?x=1");
    let result = curl([format!("http://127.0.0.1:{http_port}{path}")]);
    assert_eq!(result.status, 308, "{result:#?}");
    assert_eq!(
        result.header("location"),
        Some(format!("https://{DOMAIN}:{}{path}", bundle.port)),
        "{result:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Files and privileges

#[test]
fn nginx_workers_run_unprivileged_and_can_read_the_password_file() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    // A 200 behind auth_basic means the worker read .htpasswd.
    let result = stack.get(&stack.bundle.path("/metrics"));
    assert_eq!(result.status, 200, "{result:#?}");
    let users = stack.nginx.worker_users();
    assert!(!users.is_empty(), "nginx has no worker processes");
    assert!(users.iter().all(|u| u != "root"), "worker users: {users:?}");
}

#[test]
fn the_password_file_holds_a_bcrypt_hash_readable_by_owner_and_group_only() {
    let bundle = Bundle::create(Setup::default());
    let content = fs::read_to_string(bundle.htpasswd()).expect("read .htpasswd");
    assert!(
        content.starts_with(&format!("{USERNAME}:$2y$")),
        ".htpasswd is not `{USERNAME}:$2y$...`: {content:?}"
    );
    let meta = fs::metadata(bundle.htpasswd()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640, ".htpasswd mode");
    if current_uid() == 0 {
        assert_eq!(
            Some(meta.gid()),
            www_data_gid(),
            ".htpasswd group is not www-data"
        );
    }
}

#[test]
fn nginx_listens_only_on_the_bind_address() {
    let Some(stack) = served_with_defaults() else {
        return;
    };
    let port = stack.bundle.port;
    let timeout = Duration::from_secs(2);
    let bound = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        TcpStream::connect_timeout(&bound, timeout).is_ok(),
        "nothing on {bound}"
    );
    // Another loopback address reaches a wildcard listener but not one bound to 127.0.0.1.
    let other = SocketAddr::from(([127, 0, 0, 2], port));
    assert!(
        TcpStream::connect_timeout(&other, timeout).is_err(),
        "nginx also answers on {other}: it is not bound to 127.0.0.1 only"
    );
}

// ---------------------------------------------------------------------------------------------
// Without TLS

#[test]
fn without_tls_no_certificate_or_key_is_written() {
    let bundle = Bundle::create(Setup::without_tls());
    assert!(
        !bundle.cert().exists(),
        "{} exists",
        bundle.cert().display()
    );
    assert!(!bundle.key().exists(), "{} exists", bundle.key().display());
}

#[test]
fn without_tls_prometheus_is_told_an_http_external_url() {
    let bundle = Bundle::create(Setup::without_tls());
    let flags = bundle.flags();
    let url = flag_value(&flags, "--web.external-url").expect("--web.external-url is set");
    assert!(url.starts_with("http://"), "external URL {url:?}");
}

#[test]
fn without_tls_basic_auth_guards_prometheus_over_plain_http() {
    let Some(stack) = serve(Setup::without_tls()) else {
        return;
    };
    assert_basic_auth_guards_prometheus(&stack);
}

#[test]
fn without_tls_redirects_stay_inside_the_prefix() {
    let Some(stack) = serve(Setup::without_tls()) else {
        return;
    };
    assert_redirects_stay_inside_prefix(&stack, &stack.bundle.path("/"));
    assert_bare_prefix_redirects_to_slash(&stack);
}

// ---------------------------------------------------------------------------------------------
// Other prefixes

#[test]
fn the_whole_host_prefix_serves_prometheus_at_the_root() {
    let Some(stack) = serve(Setup::with_prefix("/")) else {
        return;
    };
    assert_eq!(stack.bundle.path("/metrics"), "/metrics");
    assert_basic_auth_guards_prometheus(&stack);
    assert_redirects_stay_inside_prefix(&stack, "/");
}

#[test]
fn a_nested_prefix_serves_prometheus_under_it() {
    let Some(stack) = serve(Setup::with_prefix("/monitoring/prom")) else {
        return;
    };
    assert_basic_auth_guards_prometheus(&stack);
    assert_redirects_stay_inside_prefix(&stack, &stack.bundle.path("/"));
    assert_bare_prefix_redirects_to_slash(&stack);
    let parent = stack.get("/monitoring/metrics");
    assert!(
        !is_prometheus_metrics(&parent.body),
        "parent path was proxied: {parent:#?}"
    );
}

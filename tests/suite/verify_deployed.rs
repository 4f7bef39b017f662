//! `promsetup verify --url` against real deployments (issue 11): it sees what a user sees.
//! A correct deployment passes (both auth modes, TLS and plain); Prometheus started without
//! the bundle's flags, or listening on every address, fails naming the flags or the exposure.

use std::time::Duration;

use crate::support::{Bundle, Nginx, PASSWORD, Prometheus, Setup, Shape, Stack, require};
use crate::verify_hardened::verify;

const LIMIT: Duration = Duration::from_secs(120);

fn url(bundle: &Bundle) -> String {
    format!("{}{}/", bundle.origin(), bundle.prefix())
}

fn verify_url(bundle: &Bundle) -> crate::verify_hardened::Run {
    let url = url(bundle);
    verify(
        &bundle.dir,
        &["--url", &url, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
        LIMIT,
    )
}

fn assert_sees_a_good_deployment(setup: Setup) {
    let Some(stack) = Stack::start(Bundle::create(setup)) else {
        return;
    };
    let run = verify_url(&stack.bundle);
    assert_eq!(run.code, 0, "{run}");
    assert!(!run.has_fail(), "{run}");
    run.line(
        "ok",
        &[
            "Prometheus runs with the bundle's flags",
            "--web.external-url=",
        ],
    );
    run.line(
        "ok",
        &[
            "the UI page",
            "scripts and styles it links load inside the prefix",
        ],
    );
    run.line(
        "ok",
        &["does not answer past nginx on this host's addresses"],
    );
}

#[test]
fn a_correct_deployment_passes_with_nginx_checking_over_tls() {
    assert_sees_a_good_deployment(Setup::with_domain("127.0.0.1"));
}

#[test]
fn a_correct_deployment_passes_with_nginx_checking_without_tls() {
    assert_sees_a_good_deployment(Setup {
        tls: false,
        ..Setup::with_domain("127.0.0.1")
    });
}

#[test]
fn a_correct_deployment_passes_with_prometheus_checking() {
    assert_sees_a_good_deployment(Setup {
        shape: Shape::PrometheusChecks,
        ..Setup::with_domain("127.0.0.1")
    });
}

/// nginx from the bundle, and Prometheus from `flags` instead of the bundle's.
fn serve_with_flags(bundle: &Bundle, flags: &[String]) -> Option<(Nginx, Prometheus)> {
    require("nginx")?;
    require("prometheus")?;
    let prometheus = Prometheus::start(flags, bundle.workdir());
    let nginx = Nginx::start(&bundle.nginx_conf(), bundle.workdir());
    Some((nginx, prometheus))
}

#[test]
fn prometheus_started_without_the_flags_fails_naming_them_and_the_assets_outside_the_prefix() {
    let bundle = Bundle::create(Setup::with_domain("127.0.0.1"));
    // Debian's empty ARGS: only the listener nginx needs, as a user who skipped the flags step.
    let listen = format!("--web.listen-address=127.0.0.1:{}", bundle.upstream_port);
    let Some(_served) = serve_with_flags(&bundle, &[listen]) else {
        return;
    };
    let run = verify_url(&bundle);
    assert_eq!(run.code, 1, "{run}");
    let flags = run.line(
        "FAIL",
        &[
            "Prometheus does not run with the flags in prometheus.flags",
            "--web.external-url is not set",
        ],
    );
    assert!(
        flags.contains("Fix: start Prometheus with the bundle's flags"),
        "{flags}"
    );
    // FACTS 9: the classic UI then links /classic/static/... outside the prefix.
    run.line(
        "FAIL",
        &[
            "the UI page",
            "outside the prefix /prometheus/",
            "/classic/static/",
        ],
    );
}

#[test]
fn prometheus_listening_on_every_address_fails_naming_the_exposure() {
    let bundle = Bundle::create(Setup::with_domain("127.0.0.1"));
    let flags: Vec<String> = bundle
        .flags()
        .into_iter()
        .map(|flag| match flag.strip_prefix("--web.listen-address=") {
            Some(_) => format!("--web.listen-address=0.0.0.0:{}", bundle.upstream_port),
            None => flag,
        })
        .collect();
    let Some(_served) = serve_with_flags(&bundle, &flags) else {
        return;
    };
    let run = verify_url(&bundle);
    assert_eq!(run.code, 1, "{run}");
    let line = run.line(
        "FAIL",
        &["Prometheus listens past nginx", "/metrics answers 200"],
    );
    assert!(
        line.contains(&format!(
            "--web.listen-address=127.0.0.1:{}",
            bundle.upstream_port
        )),
        "{line}"
    );
    run.line(
        "FAIL",
        &[
            "--web.listen-address is 0.0.0.0:",
            "the bundle says 127.0.0.1:",
        ],
    );
}

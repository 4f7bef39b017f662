//! Prometheus-aware hardening, against real nginx and Prometheus: the lifecycle and admin
//! endpoints are refused by the proxy even to an authenticated user (with Prometheus itself
//! willing to serve them, so a 403 can only come from nginx), unless promsetup was asked to
//! enable them; and the optional password-free health check for load balancers.

use crate::support::{Bundle, Credentials, Nginx, Prometheus, Setup, request, require};

/// The bundle served with Prometheus started with `extra_flags` on top of the bundle's own.
struct Served {
    _nginx: Nginx,
    _prometheus: Prometheus,
    bundle: Bundle,
}

fn serve(promsetup_args: &[&str], extra_flags: &[&str]) -> Option<Served> {
    require("nginx")?;
    require("prometheus")?;
    require("curl")?;
    let bundle = Bundle::create(Setup {
        extra_args: promsetup_args.iter().map(|s| s.to_string()).collect(),
        ..Setup::default()
    });
    let mut flags = bundle.flags();
    flags.extend(extra_flags.iter().map(|s| s.to_string()));
    let prometheus = Prometheus::start(&flags, bundle.workdir());
    let nginx = Nginx::start(&bundle.nginx_conf(), bundle.workdir());
    Some(Served {
        _nginx: nginx,
        _prometheus: prometheus,
        bundle,
    })
}

/// Spellings of the same dangerous requests that nginx normalises before matching.
const GUARDED: &[(&str, &str)] = &[
    ("POST", "/-/quit"),
    ("POST", "//-/quit"),
    ("POST", "/./-/quit"),
    ("POST", "/-/qu%69t"),
    ("POST", "/-/reload"),
    ("PUT", "/-/reload"),
    ("POST", "/api/v1/admin/tsdb/snapshot"),
    ("POST", "/api/v1//admin/tsdb/snapshot"),
    ("POST", "/api/v1/%61dmin/tsdb/snapshot"),
    ("PUT", "/api/v1/admin/tsdb/clean_tombstones"),
    ("POST", "/api/v1/admin/tsdb/delete_series?match[]=up"),
];

#[test]
fn lifecycle_and_admin_endpoints_are_refused_even_with_the_right_password() {
    let Some(served) = serve(&[], &["--web.enable-lifecycle", "--web.enable-admin-api"]) else {
        return;
    };
    let bundle = &served.bundle;
    for (method, path) in GUARDED {
        let result = request(
            bundle,
            Credentials::Valid,
            &bundle.path(path),
            &["-X", method, "-g"],
        );
        assert_eq!(result.status, 403, "{method} {path}: {result:?}");
    }
    // Prometheus is still there: nothing reached it.
    let ready = request(bundle, Credentials::Valid, &bundle.path("/-/ready"), &[]);
    assert_eq!(ready.status, 200, "{ready:?}");
}

#[test]
fn enable_flags_turn_the_endpoints_on_and_let_them_through() {
    let Some(served) = serve(&["--enable-lifecycle", "--enable-admin-api"], &[]) else {
        return;
    };
    let bundle = &served.bundle;
    let flags = bundle.flags();
    assert!(
        flags.iter().any(|f| f == "--web.enable-lifecycle"),
        "{flags:?}"
    );
    assert!(
        flags.iter().any(|f| f == "--web.enable-admin-api"),
        "{flags:?}"
    );
    let reload = request(
        bundle,
        Credentials::Valid,
        &bundle.path("/-/reload"),
        &["-X", "POST"],
    );
    assert_eq!(reload.status, 200, "{reload:?}");
    let snapshot = request(
        bundle,
        Credentials::Valid,
        &bundle.path("/api/v1/admin/tsdb/snapshot"),
        &["-X", "POST"],
    );
    assert_eq!(snapshot.status, 200, "{snapshot:?}");
    // Still behind the password.
    let anonymous = request(
        bundle,
        Credentials::None,
        &bundle.path("/-/reload"),
        &["-X", "POST"],
    );
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
}

#[test]
fn the_health_check_needs_the_password_unless_made_public() {
    let Some(served) = serve(&[], &[]) else {
        return;
    };
    let closed = request(
        &served.bundle,
        Credentials::None,
        &served.bundle.path("/-/healthy"),
        &[],
    );
    assert_eq!(closed.status, 401, "{closed:?}");
    drop(served);

    let Some(served) = serve(&["--public-healthcheck"], &[]) else {
        return;
    };
    let bundle = &served.bundle;
    let open = request(bundle, Credentials::None, &bundle.path("/-/healthy"), &[]);
    assert_eq!(open.status, 200, "{open:?}");
    // Only that one path: everything else still asks.
    for path in [
        "/-/ready",
        "/metrics",
        "/-/healthy/x",
        "/api/v1/query?query=up",
    ] {
        let result = request(bundle, Credentials::None, &bundle.path(path), &["-g"]);
        assert_eq!(result.status, 401, "{path}: {result:?}");
    }
}

#[test]
fn a_public_health_check_is_refused_when_prometheus_checks_passwords() {
    let output = crate::support::run_promsetup(
        [
            "--non-interactive",
            "--domain",
            "example.com",
            "--auth",
            "prometheus",
            "--public-healthcheck",
            "--out",
            "/nonexistent/promsetup-never-written",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--public-healthcheck"));
}

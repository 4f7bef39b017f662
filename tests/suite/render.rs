//! Snapshots of the rendered text files for the shapes users ask for. A change to a template
//! shows here as a reviewed diff (`cargo insta review`, or INSTA_UPDATE=always then read git diff).
//! The certificate, key and hash are random and checked by their own tests instead.

use promsetup::bundle::existing::Existing;
use promsetup::bundle::plan::{Plan, plan};
use promsetup::bundle::templates::Templates;
use promsetup::model::given::Given;
use promsetup::model::password::Password;
use promsetup::model::setup::{HostFacts, Setup, resolve};
use promsetup::model::target::NginxTarget;
use promsetup::model::values::Version;
use promsetup::output::report;
use zeroize::Zeroizing;

/// Debian 12's nginx, as `nginx -V` reports it.
fn debian_12() -> HostFacts {
    HostFacts {
        nginx: promsetup::model::setup::NginxAnswer::known(Some(NginxTarget {
            nginx: Version(1, 22, 1),
            openssl: Version(3, 0, 11),
            http2_module: true,
            detected: true,
        })),
        nginx_user: Some("www-data".parse().unwrap()),
        primary_group: |_| None,
        site_folder: |_| None,
        prometheus_service: promsetup::model::prometheus_service::PrometheusService::default,
    }
}

fn setup(host: &HostFacts, args: &[(&str, &str)]) -> Setup {
    let mut given = Given {
        domain: Some("example.com".parse().unwrap()),
        out_dir: Some("/tmp/promsetup-snapshot-bundle".into()),
        ..Given::default()
    };
    for (name, value) in args {
        match *name {
            "domain" => given.domain = Some(value.parse().unwrap()),
            "port" => given.port = Some(value.parse().unwrap()),
            "prefix" => given.prefix = Some(value.parse().unwrap()),
            "http-port" => given.redirect_port = Some(value.parse().unwrap()),
            "no-tls" => given.tls = Some(promsetup::model::given::TlsChoice::Off),
            "bind" => given.bind.push(value.parse().unwrap()),
            "nginx-layout" => given.nginx_layout = Some(value.parse().unwrap()),
            "realm" => given.realm = Some(value.parse().unwrap()),
            "upstream" => given.upstream = Some(value.parse().unwrap()),
            "conf-dir" => given.conf_dir = Some(value.parse().unwrap()),
            "auth-prometheus" => given.auth = Some(promsetup::model::given::Auth::Prometheus),
            "no-nginx" => given.no_nginx = true,
            "tls-acme" => given.tls = Some(promsetup::model::given::TlsChoice::Acme),
            other => panic!("unknown {other}"),
        }
    }
    resolve(given, host).unwrap()
}

fn render(setup: &Setup, generated: bool) -> Plan {
    let password = Password::new(Zeroizing::new("snapshot".into())).unwrap();
    plan(
        setup,
        &password,
        generated,
        time::OffsetDateTime::now_utc(),
        &Templates::embedded(),
        &Existing::default(),
    )
    .unwrap()
}

fn file(plan: &Plan, name: &str) -> String {
    let artifact = plan.artifacts.iter().find(|a| a.file_name == name).unwrap();
    String::from_utf8(artifact.contents.to_vec()).unwrap()
}

#[test]
fn nginx_conf_default_tls_with_redirect_on_debian_12() {
    let plan = render(&setup(&debian_12(), &[]), false);
    insta::assert_snapshot!(file(&plan, "nginx.conf"));
}

#[test]
fn nginx_conf_with_acme_answers_the_challenge_before_the_redirect() {
    let plan = render(&setup(&debian_12(), &[("tls-acme", "")]), false);
    insta::assert_snapshot!(file(&plan, "nginx.conf"));
}

#[test]
fn nginx_conf_for_nginx_1_27_and_openssl_3_5_uses_their_newer_lines() {
    let host = HostFacts {
        nginx: promsetup::model::setup::NginxAnswer::known(Some(NginxTarget {
            nginx: Version(1, 27, 4),
            openssl: Version(3, 5, 1),
            http2_module: true,
            detected: true,
        })),
        nginx_user: Some("nginx".parse().unwrap()),
        primary_group: |_| None,
        site_folder: |_| None,
        prometheus_service: promsetup::model::prometheus_service::PrometheusService::default,
    };
    let conf = file(
        &render(
            &setup(&host, &[("port", "8443"), ("http-port", "8080")]),
            false,
        ),
        "nginx.conf",
    );
    assert!(conf.contains("http2 on;") && !conf.contains("ssl http2"));
    assert!(conf.contains("X25519MLKEM768"));
    assert!(!conf.contains("ssl_session_tickets"));
    insta::assert_snapshot!(conf);
}

#[test]
fn nginx_conf_without_tls() {
    let plan = render(&setup(&debian_12(), &[("no-tls", "")]), false);
    insta::assert_snapshot!(file(&plan, "nginx.conf"));
}

#[test]
fn nginx_conf_for_the_whole_host_on_an_ipv6_address() {
    let plan = render(
        &setup(
            &debian_12(),
            &[
                ("domain", "2001:db8::10"),
                ("prefix", "/"),
                ("bind", "::1"),
                ("http-port", "0"),
            ],
        ),
        false,
    );
    insta::assert_snapshot!(file(&plan, "nginx.conf"));
}

#[test]
fn nginx_conf_with_a_nested_prefix_escapes_its_dots_in_the_redirect_pattern() {
    let plan = render(
        &setup(
            &debian_12(),
            &[
                ("prefix", "/ops/prom.v2"),
                ("realm", "Ops (EU)"),
                ("conf-dir", "/srv/nginx"),
            ],
        ),
        false,
    );
    let conf = file(&plan, "nginx.conf");
    assert!(
        conf.contains(r"proxy_redirect ~^/(?!ops/prom\.v2/)(.*)$ /ops/prom.v2/$1;"),
        "{conf}"
    );
    insta::assert_snapshot!(conf);
}

#[test]
fn prometheus_flags_file() {
    let plan = render(
        &setup(
            &debian_12(),
            &[("port", "8443"), ("upstream", "[::1]:9091")],
        ),
        false,
    );
    insta::assert_snapshot!(file(&plan, "prometheus.flags"));
}

#[test]
fn next_steps_for_a_generated_password() {
    let setup = setup(&debian_12(), &[]);
    let plan = render(&setup, true);
    insta::assert_snapshot!(report::next_steps(&setup, &plan, &Templates::embedded()).unwrap());
}

#[test]
fn nginx_conf_when_prometheus_checks_the_password() {
    let plan = render(&setup(&debian_12(), &[("auth-prometheus", "")]), false);
    let conf = file(&plan, "nginx.conf");
    assert!(!conf.contains("auth_basic") && !conf.contains("proxy_set_header Authorization"));
    insta::assert_snapshot!(conf);
    insta::assert_snapshot!(
        "scrape_snippet_behind_nginx",
        file(&plan, "prometheus-scrape.yml")
    );
}

#[test]
fn next_steps_and_scrape_snippet_without_nginx() {
    let setup = setup(&debian_12(), &[("no-nginx", ""), ("prefix", "/")]);
    let plan = render(&setup, false);
    insta::assert_snapshot!(file(&plan, "prometheus-scrape.yml"));
    insta::assert_snapshot!(report::next_steps(&setup, &plan, &Templates::embedded()).unwrap());
}

#[test]
fn nginx_site_for_a_host_with_other_sites() {
    let plan = render(
        &setup(
            &debian_12(),
            &[("nginx-layout", "site"), ("bind", "192.0.2.7")],
        ),
        false,
    );
    assert!(plan.artifacts.iter().all(|a| a.file_name != "nginx.conf"));
    let site = plan
        .artifacts
        .iter()
        .find(|a| a.file_name == "promsetup-prometheus.conf")
        .unwrap();
    // No site folder detected: conf.d/, which every packaged nginx.conf includes.
    assert_eq!(
        site.server_dir.as_ref().unwrap().to_string(),
        "/etc/nginx/conf.d"
    );
    insta::assert_snapshot!(file(&plan, "promsetup-prometheus.conf"));
}

#[test]
fn nginx_snippet_of_locations_and_its_http_part() {
    let plan = render(
        &setup(
            &debian_12(),
            &[("nginx-layout", "snippet"), ("auth-prometheus", "")],
        ),
        false,
    );
    insta::assert_snapshot!(file(&plan, "promsetup-prometheus-locations.conf"));
    insta::assert_snapshot!(file(&plan, "promsetup-prometheus-http.conf"));
}

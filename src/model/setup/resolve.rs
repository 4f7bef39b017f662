//! `resolve`: the given values and the host's facts made into one `Setup`, with the defaults
//! filled in and every rule that ties values together checked (one error names every missing
//! flag at once). No I/O of its own.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("missing {}: {}", if .0.len() == 1 { "value" } else { "values" }, .0.join(", "))]
    Missing(Vec<&'static str>),
    #[error("{0}")]
    Conflict(String),
}

/// Fills in defaults and checks the values against each other. In non-interactive use every
/// required value must have been given; `Missing` names every flag that is absent, at once.
pub fn resolve(given: Given, host: &HostFacts) -> Result<Setup, SetupError> {
    let mut missing = Vec::new();
    if given.domain.is_none() {
        missing.push("--domain");
    }
    let Some(domain) = given.domain.clone() else {
        return Err(SetupError::Missing(missing));
    };

    let topology = match (given.no_nginx, given.auth) {
        (true, Some(Auth::Nginx)) => {
            return Err(SetupError::Conflict(
                "--no-nginx leaves Prometheus to check passwords; it cannot go with --auth nginx"
                    .into(),
            ));
        }
        (true, _) => Topology::PrometheusAlone,
        (false, auth) => Topology::Proxied(auth.unwrap_or(Auth::Nginx)),
    };
    let deploy_target = given.deploy_target.unwrap_or(DeployTarget::Nginx);
    check_platform_flags(&given, deploy_target, topology)?;
    let bcrypt_cost = match (topology, given.bcrypt_cost) {
        (Topology::Proxied(Auth::Nginx), cost) => cost.unwrap_or(DEFAULT_BCRYPT_COST),
        (_, Some(cost)) if cost.get() < MIN_PROMETHEUS_BCRYPT_COST => {
            return Err(SetupError::Conflict(format!(
                "--bcrypt-cost {} is too low for a web.yml: Prometheus caches a verified \
                 password, so a strong cost costs nothing after the first request; give {} or \
                 more",
                cost.get(),
                MIN_PROMETHEUS_BCRYPT_COST
            )));
        }
        (_, cost) => cost.unwrap_or(DEFAULT_PROMETHEUS_BCRYPT_COST),
    };
    if given.endpoints.public_healthcheck && topology != Topology::Proxied(Auth::Nginx) {
        return Err(SetupError::Conflict(
            "--public-healthcheck needs nginx to check passwords (--auth nginx): Prometheus \
             asks for them on every endpoint it serves, /-/healthy included"
                .into(),
        ));
    }
    if topology == Topology::PrometheusAlone && given.bind.len() > 1 {
        return Err(SetupError::Conflict(
            "--no-nginx: Prometheus listens on one address (--web.listen-address); give one \
             --bind, or none for every address"
                .into(),
        ));
    }
    if topology == Topology::PrometheusAlone {
        let nginx_only = [
            (given.upstream.is_some(), "--upstream"),
            (given.conf_dir.is_some(), "--conf-dir"),
            (
                given.redirect_port.is_some_and(|r| r.0.is_some()),
                "--http-port",
            ),
            (given.nginx_user.is_some(), "--nginx-user"),
            (given.realm.is_some(), "--realm"),
            (given.nginx_layout.is_some(), "--nginx-layout"),
            (given.log_dir.is_some(), "--log-dir"),
        ];
        let clashing: Vec<_> = nginx_only
            .iter()
            .filter(|(given, _)| *given)
            .map(|(_, flag)| *flag)
            .collect();
        if !clashing.is_empty() {
            return Err(SetupError::Conflict(format!(
                "{} configure nginx, and --no-nginx leaves nginx out",
                clashing.join(", ")
            )));
        }
    }

    let acme_flags =
        given.acme_email.is_some() || given.acme_server.is_some() || given.acme_dir.is_some();
    if acme_flags && given.tls != Some(TlsChoice::Acme) {
        return Err(SetupError::Conflict(
            "--acme-email, --acme-server and --acme-dir go with --tls acme".into(),
        ));
    }
    if given.tls == Some(TlsChoice::Acme) {
        if topology == Topology::PrometheusAlone {
            return Err(SetupError::Conflict(
                "--tls acme needs nginx to answer the ACME challenge; it does not go with \
                 --no-nginx"
                    .into(),
            ));
        }
        if domain.is_ip() {
            return Err(SetupError::Conflict(
                "--tls acme needs a DNS name: certbot gets no certificate for an address".into(),
            ));
        }
    }
    if given.ca_dir.is_some() && given.tls != Some(TlsChoice::LocalCa) {
        return Err(SetupError::Conflict(
            "--ca-dir is the local CA's folder; it goes with --tls local-ca".into(),
        ));
    }
    let own_files = given.tls_cert.is_some() || given.tls_key.is_some();
    let choice = given.tls.unwrap_or(if own_files {
        TlsChoice::Own
    } else {
        TlsChoice::SelfSigned
    });
    let tls = match (choice, given.tls_cert, given.tls_key) {
        (TlsChoice::Own | TlsChoice::Off | TlsChoice::Acme, _, _) if given.days.is_some() => {
            return Err(SetupError::Conflict(
                "--days sets the lifetime of the self-signed certificate; it does not go with \
                 your own certificate, --tls acme or --no-tls"
                    .into(),
            ));
        }
        (TlsChoice::Own, Some(certificate), Some(key)) => Tls::Provided { certificate, key },
        (TlsChoice::Own, _, _) => {
            return Err(SetupError::Conflict(
                "your own certificate needs both --tls-cert and --tls-key (tls-cert and tls-key \
                 in an answers file)"
                    .into(),
            ));
        }
        _ if own_files => {
            return Err(SetupError::Conflict(
                "--tls-cert and --tls-key give your own certificate; they do not go with a \
                 self-signed one or --no-tls"
                    .into(),
            ));
        }
        (TlsChoice::SelfSigned, _, _) => Tls::SelfSigned {
            days: given.days.unwrap_or(ValidityDays::DEFAULT),
        },
        // Browsers refuse a CA-signed leaf valid longer than the public-CA limit.
        (TlsChoice::LocalCa, _, _) => match given.days {
            Some(days) if days.get() > ValidityDays::DEFAULT.get() => {
                return Err(SetupError::Conflict(format!(
                    "--days {} is too long for a certificate from the local CA: browsers refuse \
                     one valid longer than {} days",
                    days.get(),
                    ValidityDays::DEFAULT.get()
                )));
            }
            days => Tls::LocalCa {
                days: days.unwrap_or(ValidityDays::DEFAULT),
                ca_dir: given.ca_dir.clone(),
            },
        },
        (TlsChoice::Off, _, _) => Tls::Off,
        (TlsChoice::Acme, _, _) => Tls::Acme {
            email: given.acme_email.clone(),
            server: given.acme_server.clone(),
            certbot_dir: given.acme_dir.clone().unwrap_or_else(|| {
                DEFAULT_CERTBOT_DIR
                    .parse()
                    .expect("default folder is valid")
            }),
        },
    };
    let port = given
        .port
        .unwrap_or(Port::new_const(if topology == Topology::PrometheusAlone {
            DEFAULT_ALONE_PORT
        } else if tls.is_on() {
            DEFAULT_TLS_PORT
        } else {
            DEFAULT_PLAIN_PORT
        }));
    let redirect_port = match (tls.is_on(), given.redirect_port) {
        _ if topology == Topology::PrometheusAlone => None,
        (false, Some(RedirectPort(Some(_)))) => {
            return Err(SetupError::Conflict(
                "--http-port redirects plain HTTP to HTTPS, so it cannot go with --no-tls".into(),
            ));
        }
        (false, _) => None,
        (true, Some(RedirectPort(choice))) => choice,
        (true, None) if port.get() == DEFAULT_REDIRECT_PORT => None,
        (true, None) => Some(Port::new_const(DEFAULT_REDIRECT_PORT)),
    };
    if matches!(tls, Tls::Acme { .. }) && redirect_port.is_none() {
        return Err(SetupError::Conflict(
            "--tls acme proves the domain over plain HTTP (http-01, port 80): it needs the \
             plain-HTTP server; give --http-port 80, not 0"
                .into(),
        ));
    }
    if redirect_port == Some(port) {
        return Err(SetupError::Conflict(format!(
            "--http-port and --port are both {port}; give different ports, or --http-port 0 for \
             no redirecting server"
        )));
    }

    // Issue 13: values that are each valid but do not work together.
    if let (Topology::Proxied(_), Some(upstream)) = (topology, &given.upstream) {
        let clashes = |listen: Port| {
            listen == upstream.port()
                && match (given.bind.as_slice(), upstream.ip()) {
                    // nginx on every address takes the port on loopback too.
                    ([], _) => true,
                    (binds, Some(ip)) => binds.contains(&ip) || ip.is_unspecified(),
                    (_, None) => false,
                }
        };
        for (flag, listen) in [("--port", Some(port)), ("--http-port", redirect_port)] {
            if let Some(listen) = listen.filter(|listen| clashes(*listen)) {
                return Err(SetupError::Conflict(format!(
                    "{flag} {listen} and --upstream {upstream} ask nginx and Prometheus to listen \
                     on the same port: the second to start would fail; give another port to one \
                     of them"
                )));
            }
        }
    }

    let in_container = deploy_target == DeployTarget::Compose;
    let nginx_user = given
        .nginx_user
        .or_else(|| (!in_container).then(|| host.nginx_user.clone()).flatten())
        .unwrap_or_else(|| {
            let user = if in_container {
                COMPOSE_NGINX_USER
            } else {
                "www-data"
            };
            user.parse().expect("default user is valid")
        });
    // In a container the image's account and group are meant, not this machine's.
    let nginx_group = (!in_container)
        .then(|| (host.primary_group)(nginx_user.as_str()))
        .flatten()
        .filter(|group| group != nginx_user.as_str())
        .and_then(|group| group.parse().ok());
    let kubernetes = KubernetesNames {
        namespace: given
            .namespace
            .unwrap_or_else(|| DEFAULT_NAMESPACE.parse().expect("default is valid")),
        ingress_class: given
            .ingress_class
            .unwrap_or_else(|| DEFAULT_INGRESS_CLASS.parse().expect("default is valid")),
        service: given
            .service
            .unwrap_or_else(|| DEFAULT_SERVICE.parse().expect("default is valid")),
    };

    let conf_dir: ServerPath = given
        .conf_dir
        .unwrap_or_else(|| DEFAULT_CONF_DIR.parse().expect("default folder is valid"));
    // A container's nginx (compose) has no other sites: its nginx.conf is the whole of it.
    let (nginx_layout, site_folder) = match deploy_target {
        DeployTarget::Nginx => {
            resolve_layout(given.nginx_layout, (host.site_folder)(conf_dir.path()))
        }
        _ if given
            .nginx_layout
            .is_some_and(|layout| layout != NginxLayout::Full) =>
        {
            return Err(SetupError::Conflict(format!(
                "--nginx-layout {} places files in a host's nginx; --target {} writes its own \
                 whole configuration",
                given
                    .nginx_layout
                    .map(NginxLayout::as_str)
                    .unwrap_or_default(),
                deploy_target.as_str()
            )));
        }
        _ => resolve_layout(Some(NginxLayout::Full), None),
    };
    if nginx_layout == NginxLayout::Snippet && given.prefix.as_ref().is_some_and(|p| p.is_root()) {
        return Err(SetupError::Conflict(
            "--nginx-layout snippet adds locations to a server that has its own '/': give a \
             --prefix other than /, or --nginx-layout site"
                .into(),
        ));
    }

    Ok(Setup {
        domain,
        port,
        prefix: given
            .prefix
            .unwrap_or_else(|| DEFAULT_PREFIX.parse().expect("default prefix is valid")),
        username: given
            .username
            .unwrap_or_else(|| DEFAULT_USERNAME.parse().expect("default user is valid")),
        password: given.password.unwrap_or(PasswordSource::Generate),
        upstream: match (given.upstream, in_container) {
            (Some(upstream), _) => upstream,
            (None, true) => format!("{COMPOSE_PROMETHEUS_SERVICE}:{COMPOSE_PROMETHEUS_PORT}")
                .parse()
                .expect("the service address is valid"),
            (None, false) => Upstream::loopback(DEFAULT_UPSTREAM_PORT),
        },
        out_dir: given
            .out_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR)),
        conf_dir,
        redirect_port,
        tls,
        realm: given
            .realm
            .unwrap_or_else(|| DEFAULT_REALM.parse().expect("default realm is valid")),
        renew_days: given.renew_days.unwrap_or(RenewDays::DEFAULT),
        bind: given.bind,
        nginx_layout,
        site_folder,
        prometheus_service: (host.prometheus_service)(),
        log_dir: given
            .log_dir
            .unwrap_or_else(|| DEFAULT_LOG_DIR.parse().expect("default folder is valid")),
        nginx_user,
        nginx_group,
        bcrypt_cost,
        topology,
        prometheus_dir: given.prometheus_dir.unwrap_or_else(|| {
            DEFAULT_PROMETHEUS_DIR
                .parse()
                .expect("default folder is valid")
        }),
        endpoints: given.endpoints,
        prometheus_user: given.prometheus_user.unwrap_or_else(|| {
            let account = if in_container {
                COMPOSE_PROMETHEUS_USER
            } else {
                DEFAULT_PROMETHEUS_ACCOUNT
            };
            account.parse().expect("default account is valid")
        }),
        versions: (given.nginx_version, given.openssl_version),
        // The nginx in the image is not this machine's: write for the baseline, which every
        // newer nginx accepts, unless versions are given.
        nginx_probe: if in_container {
            NginxAnswer::known(None)
        } else {
            host.nginx.clone()
        },
        force: given.force,
        deploy_target,
        kubernetes,
        rate_limit: !given.no_rate_limit,
    })
}

/// Flags that mean nothing for the chosen `--target`, or that it cannot honour, each refused
/// with the reason.
fn check_platform_flags(
    given: &Given,
    target: DeployTarget,
    topology: Topology,
) -> Result<(), SetupError> {
    let named = |flags: &[(bool, &'static str)]| -> Vec<&'static str> {
        flags
            .iter()
            .filter(|(given, _)| *given)
            .map(|(_, flag)| *flag)
            .collect()
    };
    let kubernetes_only = named(&[
        (given.namespace.is_some(), "--namespace"),
        (given.ingress_class.is_some(), "--ingress-class"),
        (given.service.is_some(), "--service"),
    ]);
    if target != DeployTarget::Kubernetes && !kubernetes_only.is_empty() {
        return Err(SetupError::Conflict(format!(
            "{} only mean something with --target kubernetes",
            kubernetes_only.join(", ")
        )));
    }
    let host_certificates = matches!(given.tls, Some(TlsChoice::LocalCa | TlsChoice::Acme));
    if target != DeployTarget::Nginx && host_certificates {
        return Err(SetupError::Conflict(format!(
            "--tls {} makes or fetches the certificate on a host (the local CA in your data \
             folder, certbot with nginx's webroot); with --target {} give your own with \
             --tls-cert and --tls-key, or the self-signed default",
            given.tls.map(TlsChoice::as_str).unwrap_or_default(),
            target.as_str()
        )));
    }
    match target {
        DeployTarget::Nginx => Ok(()),
        DeployTarget::Kubernetes => {
            if topology != Topology::Proxied(Auth::Nginx) {
                return Err(SetupError::Conflict(
                    "--target kubernetes needs --auth nginx: ingress-nginx checks the password \
                     from the auth Secret, and prometheus-operator's Prometheus resource has no \
                     basic-auth users for its web server (spec.web has no basic_auth_users), so \
                     Prometheus cannot check passwords there (--auth prometheus, --no-nginx)"
                        .into(),
                ));
            }
            let host_only = named(&[
                (given.upstream.is_some(), "--upstream"),
                (given.conf_dir.is_some(), "--conf-dir"),
                (given.redirect_port.is_some(), "--http-port"),
                (!given.bind.is_empty(), "--bind"),
                (given.nginx_user.is_some(), "--nginx-user"),
            ]);
            if host_only.is_empty() {
                return Ok(());
            }
            Err(SetupError::Conflict(format!(
                "{} configure nginx on a host; with --target kubernetes ingress-nginx listens, \
                 redirects and reaches Prometheus through --service",
                host_only.join(", ")
            )))
        }
        DeployTarget::Compose => {
            if topology == Topology::PrometheusAlone {
                return Err(SetupError::Conflict(
                    "--target compose puts an nginx container in front of Prometheus; it does \
                     not go with --no-nginx"
                        .into(),
                ));
            }
            let fixed = named(&[
                (given.upstream.is_some(), "--upstream"),
                (given.conf_dir.is_some(), "--conf-dir"),
                (given.prometheus_dir.is_some(), "--prometheus-dir"),
                (!given.bind.is_empty(), "--bind"),
            ]);
            if fixed.is_empty() {
                return Ok(());
            }
            Err(SetupError::Conflict(format!(
                "{} are fixed with --target compose: the containers' folders are /etc/nginx and \
                 /etc/prometheus, nginx reaches Prometheus as prometheus:9090, and compose.yaml's \
                 ports: says where the host publishes nginx",
                fixed.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostFacts {
        HostFacts {
            nginx: NginxAnswer::known(None),
            nginx_user: None,
            primary_group: |_| None,
            site_folder: |_| None,
            prometheus_service: PrometheusService::default,
        }
    }

    fn given(domain: &str) -> Given {
        Given {
            domain: Some(domain.parse().unwrap()),
            ..Given::default()
        }
    }

    #[test]
    fn defaults_give_the_reference_shape_with_tls() {
        let setup = resolve(given("example.com"), &host()).unwrap();
        assert_eq!(setup.external_url(), "https://example.com/prometheus/");
        assert_eq!(setup.port.get(), 443);
        assert_eq!(setup.redirect_port, Some(Port::new_const(80)));
        assert_eq!(
            setup.prometheus_flags(None),
            vec![
                "--web.external-url=https://example.com/prometheus/",
                "--web.route-prefix=/",
                "--web.listen-address=127.0.0.1:9090",
            ]
        );
        assert_eq!(setup.certificate_file().unwrap(), "example.com.crt");
        assert_eq!(setup.out_dir, PathBuf::from("promsetup-bundle"));
        assert_eq!(setup.nginx_user.as_str(), "www-data");
        assert_eq!(setup.password, PasswordSource::Generate);
    }

    #[test]
    fn missing_domain_is_named() {
        let err = resolve(Given::default(), &host()).unwrap_err();
        assert_eq!(err, SetupError::Missing(vec!["--domain"]));
        assert_eq!(err.to_string(), "missing value: --domain");
    }

    #[test]
    fn external_url_carries_the_port_only_when_it_is_not_the_schemes_own() {
        let mut g = given("example.com");
        g.port = Some("8443".parse().unwrap());
        assert_eq!(
            resolve(g, &host()).unwrap().external_url(),
            "https://example.com:8443/prometheus/"
        );

        let mut g = given("2001:db8::5");
        g.tls = Some(TlsChoice::Off);
        g.prefix = Some("/".parse().unwrap());
        let setup = resolve(g, &host()).unwrap();
        assert_eq!(setup.external_url(), "http://[2001:db8::5]/");
        assert_eq!(setup.port.get(), 80);
        assert_eq!(setup.redirect_port, None);
        assert_eq!(setup.certificate_file(), None);
    }

    #[test]
    fn redirect_port_must_differ_and_needs_tls() {
        let mut g = given("example.com");
        g.port = Some("8080".parse().unwrap());
        g.redirect_port = Some("8080".parse().unwrap());
        assert!(matches!(
            resolve(g, &host()),
            Err(SetupError::Conflict(m)) if m.contains("8080")
        ));

        let mut g = given("example.com");
        g.tls = Some(TlsChoice::Off);
        g.redirect_port = Some("81".parse().unwrap());
        assert!(matches!(resolve(g, &host()), Err(SetupError::Conflict(_))));

        // Serving HTTPS on port 80 leaves no default redirect port.
        let mut g = given("example.com");
        g.port = Some("80".parse().unwrap());
        assert_eq!(resolve(g, &host()).unwrap().redirect_port, None);
    }

    #[test]
    fn prometheus_auth_raises_the_cost_and_adds_the_web_config_flag() {
        let mut g = given("example.com");
        g.auth = Some(Auth::Prometheus);
        let setup = resolve(g, &host()).unwrap();
        assert_eq!(setup.bcrypt_cost.get(), 12);
        assert!(setup.prometheus_checks_passwords() && setup.has_nginx());
        assert_eq!(
            setup
                .prometheus_flags(Some("/etc/prometheus/web.yml"))
                .last()
                .unwrap(),
            "--web.config.file=/etc/prometheus/web.yml"
        );

        let mut g = given("example.com");
        g.auth = Some(Auth::Prometheus);
        g.bcrypt_cost = Some("8".parse().unwrap());
        assert!(matches!(resolve(g, &host()), Err(SetupError::Conflict(m)) if m.contains("10")));
    }

    #[test]
    fn without_nginx_prometheus_serves_the_prefix_itself_on_its_own_port() {
        let mut g = given("example.com");
        g.no_nginx = true;
        let setup = resolve(g, &host()).unwrap();
        assert_eq!(setup.port.get(), 9090);
        assert_eq!(setup.redirect_port, None);
        assert_eq!(
            setup.prometheus_flags(Some("/etc/prometheus/web.yml")),
            vec![
                "--web.external-url=https://example.com:9090/prometheus/",
                "--web.listen-address=:9090",
                "--web.config.file=/etc/prometheus/web.yml",
            ]
        );

        let mut g = given("example.com");
        g.no_nginx = true;
        g.upstream = Some("127.0.0.1:9091".parse().unwrap());
        g.realm = Some("x".parse().unwrap());
        let err = resolve(g, &host()).unwrap_err().to_string();
        assert!(err.contains("--upstream, --realm"), "{err}");

        let mut g = given("example.com");
        g.no_nginx = true;
        g.auth = Some(Auth::Nginx);
        assert!(resolve(g, &host()).is_err());
    }

    #[test]
    fn host_facts_give_defaults_and_flags_override_them() {
        let facts = HostFacts {
            nginx: NginxAnswer::known(Some(NginxTarget {
                nginx: Version(1, 26, 0),
                openssl: Version(3, 5, 0),
                http2_module: true,
                detected: true,
            })),
            nginx_user: Some("nginx".parse().unwrap()),
            primary_group: |_| None,
            site_folder: |_| None,
            prometheus_service: PrometheusService::default,
        };
        let setup = resolve(given("example.com"), &facts).unwrap();
        assert_eq!(setup.nginx_user.as_str(), "nginx");
        assert!(setup.target().has_mlkem());

        let mut g = given("example.com");
        g.openssl_version = Some("3.0.2".parse().unwrap());
        let setup = resolve(g, &facts).unwrap();
        assert!(!setup.target().has_mlkem());
        assert_eq!(setup.target().nginx, Version(1, 26, 0));
    }

    #[test]
    fn acme_reads_certbots_live_paths_and_needs_the_port_80_server_and_a_name() {
        let mut g = given("prom.example.com");
        g.tls = Some(TlsChoice::Acme);
        let setup = resolve(g, &host()).unwrap();
        assert_eq!(
            setup.certificate_and_key_on_server().unwrap(),
            (
                "/etc/letsencrypt/live/prom.example.com/fullchain.pem".to_string(),
                "/etc/letsencrypt/live/prom.example.com/privkey.pem".to_string()
            )
        );
        assert_eq!(
            setup.acme_webroot().as_deref(),
            Some("/etc/nginx/acme-webroot")
        );
        assert!(setup.certificate_is_trusted());

        let mut g = given("prom.example.com");
        g.tls = Some(TlsChoice::Acme);
        g.redirect_port = Some("0".parse().unwrap());
        assert!(
            matches!(resolve(g, &host()), Err(SetupError::Conflict(m)) if m.contains("http-01"))
        );

        let mut g = given("192.0.2.1");
        g.tls = Some(TlsChoice::Acme);
        assert!(resolve(g, &host()).is_err());

        let mut g = given("prom.example.com");
        g.acme_email = Some("ops@example.com".parse().unwrap());
        assert!(
            resolve(g, &host()).is_err(),
            "acme flags without --tls acme"
        );
    }
}

//! `--tls acme`: the steps that get and renew the certificate with certbot, as data: each a
//! program and its arguments, with the file whose existence makes it unneeded. The next steps
//! print them as commands; `promsetup apply` can run them in order.
//!
//! It owns their order and arguments, nothing else: it runs nothing, writes nothing, and is no
//! ACME client (certbot is).
//!
//! The bootstrap: nginx must start before there is a certificate, and certbot refuses a `live/`
//! folder it did not make. So the bundle's self-signed stand-in is installed at the `live/`
//! paths, nginx starts with it (and keeps it in memory), the stand-in is removed, certbot
//! proves the domain through nginx's port-80 server, and its deploy hook reloads nginx, which
//! then reads the real certificate. The hook is saved in certbot's renewal configuration, so
//! `certbot renew` (Debian's certbot.timer) reloads nginx after each renewal.

use serde::Serialize;

use crate::model::setup::{Setup, Tls};

/// When a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// After the files are installed, before nginx is started or reloaded.
    BeforeNginx,
    /// Once nginx runs with this bundle's nginx.conf.
    AfterNginx,
}

/// One command, as root on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub phase: Phase,
    /// Why, in a few words.
    pub purpose: &'static str,
    /// The program and its arguments (no shell).
    pub argv: Vec<String>,
    /// Skip the step when this path exists (the certificate was issued already).
    pub unless_exists: Option<String>,
}

/// certbot's reload of nginx after each issue and renewal.
pub const DEPLOY_HOOK: &str = "nginx -s reload";

/// The steps for `setup`'s ACME certificate; empty without `--tls acme`. `out` is the bundle
/// folder as the steps name it (the stand-in pair is there).
pub fn steps(setup: &Setup, out: &str) -> Vec<Step> {
    let (
        Tls::Acme {
            email,
            server,
            certbot_dir,
        },
        Some(webroot),
        Some(live),
        Some(certificate_file),
        Some(key_file),
    ) = (
        setup.tls(),
        setup.acme_webroot(),
        setup.acme_live_dir(),
        setup.certificate_file(),
        setup.key_file(),
    )
    else {
        return Vec::new();
    };
    let domain = setup.domain().to_string();
    let renewal = certbot_dir.join(&format!("renewal/{domain}.conf"));
    let strings = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let mut certbot = strings(&[
        "certbot",
        "certonly",
        "--webroot",
        "--webroot-path",
        &webroot,
        "--domain",
        &domain,
        "--cert-name",
        &domain,
        "--non-interactive",
        "--agree-tos",
        "--config-dir",
        &certbot_dir.text(),
        "--deploy-hook",
        DEPLOY_HOOK,
    ]);
    match email {
        Some(email) => certbot.extend(strings(&["--email", &email.to_string()])),
        None => certbot.push("--register-unsafely-without-email".into()),
    }
    if let Some(server) = server {
        certbot.extend(strings(&["--server", &server.to_string()]));
    }
    let before = |purpose, argv: Vec<String>| Step {
        phase: Phase::BeforeNginx,
        purpose,
        argv,
        unless_exists: Some(renewal.clone()),
    };
    vec![
        Step {
            phase: Phase::BeforeNginx,
            purpose: "the folder nginx serves ACME challenges from",
            argv: strings(&["install", "-d", "-m", "0755", &webroot]),
            unless_exists: None,
        },
        before(
            "a stand-in certificate, so nginx starts before certbot has one",
            strings(&["install", "-d", "-m", "0700", &live]),
        ),
        before(
            "the stand-in certificate",
            strings(&[
                "install",
                "-m",
                "0644",
                &format!("{out}/{certificate_file}"),
                &format!("{live}/fullchain.pem"),
            ]),
        ),
        before(
            "the stand-in key",
            strings(&[
                "install",
                "-m",
                "0600",
                &format!("{out}/{key_file}"),
                &format!("{live}/privkey.pem"),
            ]),
        ),
        Step {
            phase: Phase::AfterNginx,
            purpose: "remove the stand-in (nginx keeps it loaded): certbot makes live/ itself",
            argv: strings(&["rm", "-r", &live]),
            unless_exists: Some(renewal.clone()),
        },
        Step {
            phase: Phase::AfterNginx,
            purpose: "get the certificate over http-01 through nginx; the hook reloads nginx \
                      now and after every renewal",
            argv: certbot,
            unless_exists: Some(renewal),
        },
    ]
}

//! The HTTP client of the checks against a live service (`verify --url`, `apply`): an agent that
//! trusts only the certificates it is given, follows no redirect (each is looked at), treats
//! every status as an answer, ignores the environment's proxy (the server is what is tested),
//! and with `connect` sends every request to that address whatever the URL's host, as
//! `curl --resolve` does (the URL's name is still the one sent and the one TLS checks).
//!
//! It builds the agent and its trust anchors only: it must not send requests or judge answers.

use std::net::SocketAddr;
use std::time::Duration;

pub fn agent(
    anchors: Option<Vec<ureq::tls::Certificate<'static>>>,
    connect: Option<SocketAddr>,
    timeout: Duration,
) -> ureq::Agent {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(anchors) = anchors {
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&anchors));
    }
    let config = ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .proxy(None)
        .timeout_global(Some(timeout))
        .user_agent(concat!("promsetup/", env!("CARGO_PKG_VERSION")))
        .build();
    match connect {
        None => config.into(),
        Some(address) => ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            Pinned(address),
        ),
    }
}

/// TLS trusts only the bundle's certificate. For promsetup's self-signed certificate (CA:FALSE)
/// that is sound with webpki as it is: rustls makes a trust anchor of the certificate's subject
/// and public key without looking at its basic constraints, and the server's certificate chains
/// to that anchor because its issuer is its own subject and its signature verifies with that
/// key. Only the holder of the bundle's key can present a certificate that passes, and the name
/// is checked as for any server (the e2e test exercises this against real nginx). For a
/// certificate from an authority (`--tls-cert` with a chain file), every certificate in the file
/// is an anchor, so the server's chains to its intermediate.
pub fn trust_anchors(pem: &[u8]) -> Vec<ureq::tls::Certificate<'static>> {
    x509_parser::pem::Pem::iter_from_buffer(pem)
        .filter_map(Result::ok)
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| ureq::tls::Certificate::from_der(&p.contents).to_owned())
        .collect()
}

/// A resolver that answers one address for every host.
#[derive(Debug)]
struct Pinned(SocketAddr);

impl ureq::unversioned::resolver::Resolver for Pinned {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let mut addresses = self.empty();
        addresses.push(self.0);
        Ok(addresses)
    }
}

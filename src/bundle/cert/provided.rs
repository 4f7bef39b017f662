//! "Bring your own certificate": checks a certificate and key the user already has before
//! anything is written, so that `nginx.conf` never points at a pair nginx or clients will refuse.
//!
//! It reads the two files and checks that the key matches the certificate, that the
//! certificate covers the domain (SAN, as clients check; the CN is ignored as Go ignores it) and
//! that it is valid now. It must not write anything or print the key.

use std::net::IpAddr;
use std::path::Path;

use ::time::OffsetDateTime;
use x509_parser::prelude::*;
use zeroize::Zeroizing;

use crate::host::bounded_read;
use crate::model::values::Domain;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// What was learned of an accepted certificate: what the report and next steps say of it.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub not_after: OffsetDateTime,
    /// The subject as OpenSSL prints it (`CN=example.com`).
    pub subject: String,
    /// Its DNS and IP subject alternative names.
    pub names: Vec<String>,
}

/// The subject, names and expiry of the first certificate of a PEM text, unchecked.
pub fn describe_pem(certificate_pem: &[u8]) -> Option<Accepted> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(certificate_pem).ok()?;
    let certificate = pem.parse_x509().ok()?;
    Some(describe(&certificate))
}

fn describe(certificate: &X509Certificate) -> Accepted {
    Accepted {
        not_after: certificate.validity().not_after.to_datetime(),
        subject: certificate.subject().to_string(),
        names: subject_alt_names(certificate),
    }
}

/// Checks the pair at these paths for `domain` at time `now`.
pub fn check(
    certificate: &Path,
    key: &Path,
    domain: &Domain,
    now: OffsetDateTime,
) -> Result<Accepted, Refused> {
    let certificate_pem =
        bounded_read::file(certificate, bounded_read::PEM_LIMIT).map_err(|error| {
            Refused(format!(
                "cannot read the certificate {}: {error}",
                certificate.display()
            ))
        })?;
    let key_pem = Zeroizing::new(
        bounded_read::text_file(key, bounded_read::PEM_LIMIT)
            .map_err(|error| Refused(format!("cannot read the key {}: {error}", key.display())))?,
    );
    check_pem(&certificate_pem, &key_pem, domain, now).map_err(|Refused(why)| {
        Refused(format!(
            "{} and {}: {why}",
            certificate.display(),
            key.display()
        ))
    })
}

/// The same check on the files' contents.
pub fn check_pem(
    certificate_pem: &[u8],
    key_pem: &str,
    domain: &Domain,
    now: OffsetDateTime,
) -> Result<Accepted, Refused> {
    // A chain file (fullchain.pem) starts with the server's own certificate.
    let (_, pem) = x509_parser::pem::parse_x509_pem(certificate_pem)
        .map_err(|_| Refused("the certificate file holds no PEM certificate".into()))?;
    let certificate = pem
        .parse_x509()
        .map_err(|error| Refused(format!("the certificate cannot be read: {error}")))?;

    let key = rcgen::KeyPair::from_pem(key_pem).map_err(|_| {
        Refused(
            "the key cannot be read; promsetup reads unencrypted PKCS#8 keys (BEGIN PRIVATE KEY): \
             convert with `openssl pkey -in KEY -out KEY.pk8`"
                .into(),
        )
    })?;
    use rcgen::PublicKeyData;
    if key.subject_public_key_info() != certificate.public_key().raw {
        return Err(Refused("the key does not belong to the certificate".into()));
    }

    if !covers(&certificate, domain) {
        let names = subject_alt_names(&certificate);
        return Err(Refused(format!(
            "the certificate does not cover {domain}; its subject alternative names are: {}",
            if names.is_empty() {
                "none (clients such as Go ignore the common name)".to_string()
            } else {
                names.join(", ")
            }
        )));
    }

    let validity = certificate.validity();
    let not_before = validity.not_before.to_datetime();
    let not_after = validity.not_after.to_datetime();
    if now < not_before {
        return Err(Refused(format!(
            "the certificate is not valid before {not_before}"
        )));
    }
    if now > not_after {
        return Err(Refused(format!("the certificate expired on {not_after}")));
    }
    Ok(describe(&certificate))
}

/// The certificate's DNS and IP subject alternative names, as text.
pub fn subject_alt_names(certificate: &X509Certificate) -> Vec<String> {
    let Ok(Some(san)) = certificate.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(dns.to_string()),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(|ip| ip.to_string()),
            _ => None,
        })
        .collect()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

/// Whether a SAN names the domain: an IP SAN for an address; for a DNS name an exact match or a
/// wildcard standing for exactly its first label (RFC 6125).
fn covers(certificate: &X509Certificate, domain: &Domain) -> bool {
    let Ok(Some(san)) = certificate.subject_alternative_name() else {
        return false;
    };
    san.value
        .general_names
        .iter()
        .any(|name| match (name, domain) {
            (GeneralName::IPAddress(bytes), Domain::Ip(ip)) => ip_from_bytes(bytes) == Some(*ip),
            (GeneralName::DNSName(pattern), Domain::Dns(host)) => dns_name_covers(pattern, host),
            _ => false,
        })
}

/// Whether a DNS SAN covers `host`: the same name, or a wildcard standing for exactly its first
/// label (RFC 6125).
pub fn dns_name_covers(pattern: &str, host: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(parent) => host
            .split_once('.')
            .is_some_and(|(_, host_parent)| host_parent == parent),
        None => pattern == host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::time::Duration;
    use rcgen::{CertificateParams, KeyPair};

    fn pair(names: &[&str], days: i64) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(days);
        (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
    }

    fn domain(name: &str) -> Domain {
        name.parse().unwrap()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn a_matching_pair_for_the_domain_is_accepted() {
        let (cert, key) = pair(&["example.com", "www.example.com"], 30);
        check_pem(cert.as_bytes(), &key, &domain("www.example.com"), now()).unwrap();
    }

    #[test]
    fn a_wildcard_covers_one_label_only() {
        let (cert, key) = pair(&["*.example.com"], 30);
        check_pem(cert.as_bytes(), &key, &domain("prom.example.com"), now()).unwrap();
        assert!(check_pem(cert.as_bytes(), &key, &domain("a.b.example.com"), now()).is_err());
        assert!(check_pem(cert.as_bytes(), &key, &domain("example.com"), now()).is_err());
    }

    #[test]
    fn an_ip_domain_needs_an_ip_san() {
        let (cert, key) = pair(&["192.0.2.1"], 30);
        check_pem(cert.as_bytes(), &key, &domain("192.0.2.1"), now()).unwrap();
        let err = check_pem(cert.as_bytes(), &key, &domain("192.0.2.2"), now()).unwrap_err();
        assert!(err.0.contains("192.0.2.1"), "{err}");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let (cert, _) = pair(&["example.com"], 30);
        let (_, other_key) = pair(&["example.com"], 30);
        let err =
            check_pem(cert.as_bytes(), &other_key, &domain("example.com"), now()).unwrap_err();
        assert!(err.0.contains("does not belong"), "{err}");
    }

    #[test]
    fn a_certificate_for_another_name_is_refused_with_its_names() {
        let (cert, key) = pair(&["other.example"], 30);
        let err = check_pem(cert.as_bytes(), &key, &domain("example.com"), now()).unwrap_err();
        assert!(err.0.contains("other.example"), "{err}");
    }

    #[test]
    fn an_expired_certificate_is_refused() {
        let (cert, key) = pair(&["example.com"], 30);
        let later = now() + Duration::days(60);
        let err = check_pem(cert.as_bytes(), &key, &domain("example.com"), later).unwrap_err();
        assert!(err.0.contains("expired"), "{err}");
    }

    #[test]
    fn garbage_is_refused_not_a_panic() {
        assert!(check_pem(b"nope", "nope", &domain("example.com"), now()).is_err());
    }
}

//! The self-signed certificate and its key, made in memory with rcgen.
//!
//! It owns the certificate's profile: what Go clients, browsers and OpenSSL all accept for a
//! server certificate (FACTS 1 and 4): a SAN for the domain (an IP SAN for an address), CA:FALSE,
//! key usage digitalSignature, EKU serverAuth, a random serial, a bounded lifetime, ECDSA P-256.
//! It returns PEM text and must not touch the file system.

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::model::values::{Domain, ValidityDays};

pub struct SelfSigned {
    pub certificate_pem: String,
    pub key_pem: Zeroizing<String>,
    pub not_after: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot make the certificate: {0}")]
pub struct CertificateError(#[from] rcgen::Error);

/// Clocks drift: a certificate that starts an hour ago is not refused by a client whose clock
/// is a few minutes behind.
pub(crate) const BACKDATE: Duration = Duration::hours(1);

pub fn self_signed(
    domain: &Domain,
    days: ValidityDays,
    now: OffsetDateTime,
) -> Result<SelfSigned, CertificateError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let params = leaf_params(domain, days, now)?;
    let not_after = params.not_after;
    let certificate = params.self_signed(&key)?;
    Ok(SelfSigned {
        certificate_pem: certificate.pem(),
        key_pem: Zeroizing::new(key.serialize_pem()),
        not_after,
    })
}

/// The server certificate's profile, whoever signs it (itself, or the local CA).
pub(crate) fn leaf_params(
    domain: &Domain,
    days: ValidityDays,
    now: OffsetDateTime,
) -> Result<CertificateParams, rcgen::Error> {
    let san = match domain {
        Domain::Dns(name) => SanType::DnsName(name.clone().try_into()?),
        Domain::Ip(ip) => SanType::IpAddress(*ip),
    };
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, domain.to_string());

    let mut params = CertificateParams::default();
    params.subject_alt_names = vec![san];
    params.distinguished_name = subject;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.serial_number = Some(random_serial());
    params.not_before = now - BACKDATE;
    params.not_after = params.not_before + Duration::days(i64::from(days.get()));
    Ok(params)
}

/// 16 random bytes (RFC 5280 allows 20), kept positive and without a leading zero byte so that
/// its DER encoding is exactly 16 bytes.
pub(crate) fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::*;

    fn parse(pem_text: &str) -> Vec<u8> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem_text.as_bytes()).unwrap();
        pem.contents
    }

    #[test]
    fn certificate_has_the_profile_clients_require() {
        let domain: Domain = "example.com".parse().unwrap();
        let now = OffsetDateTime::now_utc();
        let made = self_signed(&domain, ValidityDays::DEFAULT, now).unwrap();
        let der = parse(&made.certificate_pem);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();

        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert_eq!(
            san.value.general_names,
            vec![GeneralName::DNSName("example.com")]
        );
        let constraints = cert.basic_constraints().unwrap().unwrap();
        assert!(!constraints.value.ca);
        let eku = cert.extended_key_usage().unwrap().unwrap();
        assert!(eku.value.server_auth);
        let usage = cert.key_usage().unwrap().unwrap();
        assert!(usage.value.digital_signature());
        assert_eq!(cert.raw_serial().len(), 16);
        assert_eq!(
            cert.subject()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap(),
            "example.com"
        );
        let lifetime =
            cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
        assert_eq!(lifetime, 397 * 86_400);
        assert!(made.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn an_ip_domain_gets_an_ip_san() {
        let domain: Domain = "192.0.2.10".parse().unwrap();
        let made = self_signed(&domain, ValidityDays::DEFAULT, OffsetDateTime::now_utc()).unwrap();
        let der = parse(&made.certificate_pem);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert_eq!(
            san.value.general_names,
            vec![GeneralName::IPAddress(&[192, 0, 2, 10])]
        );
    }

    #[test]
    fn serials_are_random() {
        let domain: Domain = "example.com".parse().unwrap();
        let now = OffsetDateTime::now_utc();
        let a = self_signed(&domain, ValidityDays::DEFAULT, now).unwrap();
        let b = self_signed(&domain, ValidityDays::DEFAULT, now).unwrap();
        let (da, db) = (parse(&a.certificate_pem), parse(&b.certificate_pem));
        let (_, ca) = X509Certificate::from_der(&da).unwrap();
        let (_, cb) = X509Certificate::from_der(&db).unwrap();
        assert_ne!(ca.raw_serial(), cb.raw_serial());
    }
}

//! promsetup's local CA (`--tls local-ca`, `promsetup ca`): made once per machine and user, it
//! signs each bundle's server certificate, so a client that trusts it once trusts every bundle.
//!
//! It owns the CA's profile and the name-constraint policy. The CA carries X.509 name
//! constraints permitting exactly the names it has signed for (a DNS constraint also covers the
//! names under it, RFC 5280), and excluding every IP address (or every DNS name) while none of
//! that kind has been signed. Signing for a name outside them reissues the CA certificate with
//! the same key and subject and the wider constraints; clients that imported the narrower one
//! must import it again, since their copy's constraints are the ones they enforce. Rotating
//! makes a new key and subject. It works on PEM text in memory and must not touch the file
//! system (`host::local_ca` reads the folder, `write.rs` writes it).

use std::net::IpAddr;

use ::time::{Duration, OffsetDateTime};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType, GeneralSubtree,
    IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
};
use x509_parser::prelude::*;
use zeroize::Zeroizing;

use crate::bundle::cert::self_signed::{BACKDATE, SelfSigned, leaf_params, random_serial};
use crate::model::values::{Domain, ValidityDays};
use crate::write::{Access, FileSpec};

pub use crate::model::local_ca::{Authority, CA_CERTIFICATE_FILE, CA_KEY_FILE};

/// How long a CA lives: long, since every client imports it by hand.
pub const CA_DAYS: i64 = 3650;
const ORGANIZATION: &str = "promsetup";

/// The CA folder's two files as the writer takes them: the key 0600 from its first byte.
pub fn files(authority: &Authority) -> [FileSpec<'_>; 2] {
    [
        FileSpec {
            name: CA_CERTIFICATE_FILE,
            contents: authority.certificate_pem.as_bytes(),
            mode: 0o644,
            access: &Access::Owner,
        },
        FileSpec {
            name: CA_KEY_FILE,
            contents: authority.key_pem.as_bytes(),
            mode: 0o600,
            access: &Access::Owner,
        },
    ]
}

/// What `prepare` did to the CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaChange {
    Unchanged,
    /// There was none: made now.
    Created,
    /// Reissued (same key and subject) to also permit this name: clients must import it again.
    Widened(String),
}

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot make the local CA's certificates: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("the local CA's {0}")]
    Unreadable(String),
}

/// What a CA certificate says, for `promsetup ca show` and the next steps.
#[derive(Debug, Clone)]
pub struct Facts {
    pub subject: String,
    /// SHA-256 of the DER certificate, as `AB:CD:...` (what browsers and `openssl x509
    /// -fingerprint -sha256` show).
    pub fingerprint_sha256: String,
    pub not_after: OffsetDateTime,
    /// The names it may sign for.
    pub permitted: Vec<String>,
}

/// The CA to sign a leaf for `domain`: `current` when it permits the name, else `current`
/// reissued with the name added, or a new CA when there is none.
pub fn prepare(
    current: Option<Authority>,
    domain: &Domain,
    now: OffsetDateTime,
) -> Result<(Authority, CaChange), CaError> {
    let Some(current) = current else {
        return Ok((
            create(std::slice::from_ref(domain), now)?,
            CaChange::Created,
        ));
    };
    let mut permitted = permitted(&current)?;
    if permitted.iter().any(|name| permits(name, domain)) {
        return Ok((current, CaChange::Unchanged));
    }
    permitted.push(domain.clone());
    let key = key_of(&current)?;
    let certificate = parse_pem(&current.certificate_pem)?;
    let (_, cert) = X509Certificate::from_der(&certificate)
        .map_err(|e| CaError::Unreadable(format!("certificate cannot be read: {e}")))?;
    let subject = common_name(&cert)?;
    let not_after = cert.validity().not_after.to_datetime();
    let params = ca_params(&subject, &permitted, now, not_after);
    let reissued = params.self_signed(&key)?;
    Ok((
        Authority {
            certificate_pem: reissued.pem(),
            key_pem: current.key_pem,
        },
        CaChange::Widened(domain.to_string()),
    ))
}

/// A new CA (new key, new subject) permitting `names`.
pub fn create(names: &[Domain], now: OffsetDateTime) -> Result<Authority, CaError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    // The creation time in the name tells a rotated CA from the one it replaced in a trust store.
    let stamp = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&::time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let subject = format!("promsetup local CA {stamp}");
    let params = ca_params(&subject, names, now, now + Duration::days(CA_DAYS));
    let certificate = params.self_signed(&key)?;
    Ok(Authority {
        certificate_pem: certificate.pem(),
        key_pem: Zeroizing::new(key.serialize_pem()),
    })
}

/// A new CA replacing `current`: a new key and subject, the same permitted names.
pub fn rotate(current: &Authority, now: OffsetDateTime) -> Result<Authority, CaError> {
    create(&permitted(current)?, now)
}

/// A server certificate for `domain` signed by the CA (the self-signed profile: SAN, CA:FALSE,
/// serverAuth, `days`), never outliving the CA.
pub fn issue(
    authority: &Authority,
    domain: &Domain,
    days: ValidityDays,
    now: OffsetDateTime,
) -> Result<SelfSigned, CaError> {
    let ca_key = key_of(authority)?;
    let der = parse_pem(&authority.certificate_pem)?;
    let (_, ca) = X509Certificate::from_der(&der)
        .map_err(|e| CaError::Unreadable(format!("certificate cannot be read: {e}")))?;
    let ca_not_after = ca.validity().not_after.to_datetime();
    let issuer = Issuer::new(
        ca_params(&common_name(&ca)?, &[], now, ca_not_after),
        ca_key,
    );
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = leaf_params(domain, days, now)?;
    params.not_after = params.not_after.min(ca_not_after);
    params.use_authority_key_identifier_extension = true;
    let not_after = params.not_after;
    let certificate = params.signed_by(&key, &issuer)?;
    Ok(SelfSigned {
        certificate_pem: certificate.pem(),
        key_pem: Zeroizing::new(key.serialize_pem()),
        not_after,
    })
}

/// Whether `leaf_pem` (its first certificate) was signed by this CA's key and names it as issuer.
pub fn signed_by(leaf_pem: &str, authority: &Authority) -> bool {
    let (Ok(leaf_der), Ok(ca_der)) = (parse_pem(leaf_pem), parse_pem(&authority.certificate_pem))
    else {
        return false;
    };
    let (Ok((_, leaf)), Ok((_, ca))) = (
        X509Certificate::from_der(&leaf_der),
        X509Certificate::from_der(&ca_der),
    ) else {
        return false;
    };
    leaf.issuer().as_raw() == ca.subject().as_raw()
        && leaf.verify_signature(Some(ca.public_key())).is_ok()
}

/// What the CA certificate says.
pub fn facts(authority: &Authority) -> Result<Facts, CaError> {
    use sha2::{Digest, Sha256};
    let der = parse_pem(&authority.certificate_pem)?;
    let (_, cert) = X509Certificate::from_der(&der)
        .map_err(|e| CaError::Unreadable(format!("certificate cannot be read: {e}")))?;
    Ok(Facts {
        subject: cert.subject().to_string(),
        fingerprint_sha256: Sha256::digest(&der)
            .iter()
            .map(|byte| format!("{byte:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
        not_after: cert.validity().not_after.to_datetime(),
        permitted: permitted(authority)?
            .iter()
            .map(Domain::to_string)
            .collect(),
    })
}

/// The names the CA permits, read from its name constraints.
pub fn permitted(authority: &Authority) -> Result<Vec<Domain>, CaError> {
    let der = parse_pem(&authority.certificate_pem)?;
    let (_, cert) = X509Certificate::from_der(&der)
        .map_err(|e| CaError::Unreadable(format!("certificate cannot be read: {e}")))?;
    let Ok(Some(constraints)) = cert.name_constraints() else {
        return Err(CaError::Unreadable(
            "certificate has no name constraints: it was not made by promsetup".into(),
        ));
    };
    let subtrees = constraints
        .value
        .permitted_subtrees
        .as_deref()
        .unwrap_or_default();
    Ok(subtrees
        .iter()
        .filter_map(|subtree| match &subtree.base {
            GeneralName::DNSName(name) => name.parse().ok(),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                8 => Some(Domain::Ip(IpAddr::from(
                    <[u8; 4]>::try_from(&bytes[..4]).ok()?,
                ))),
                32 => Some(Domain::Ip(IpAddr::from(
                    <[u8; 16]>::try_from(&bytes[..16]).ok()?,
                ))),
                _ => None,
            },
            _ => None,
        })
        .collect())
}

/// Whether a permitted name covers `domain`: the same name or one under it (RFC 5280 dNSName
/// constraints); the same address.
fn permits(permitted: &Domain, domain: &Domain) -> bool {
    match (permitted, domain) {
        (Domain::Dns(base), Domain::Dns(name)) => {
            name == base || name.ends_with(&format!(".{base}"))
        }
        (Domain::Ip(base), Domain::Ip(ip)) => base == ip,
        _ => false,
    }
}

/// The CA's profile: CA:TRUE with a path length of 0 (it signs servers only), keyCertSign and
/// cRLSign, name constraints permitting `names` only.
fn ca_params(
    subject: &str,
    names: &[Domain],
    now: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut distinguished_name = DistinguishedName::new();
    distinguished_name.push(DnType::OrganizationName, ORGANIZATION);
    distinguished_name.push(DnType::CommonName, subject);
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(random_serial());
    params.not_before = now - BACKDATE;
    params.not_after = not_after;
    params.name_constraints = Some(name_constraints(names));
    params
}

fn name_constraints(names: &[Domain]) -> NameConstraints {
    let permitted_subtrees: Vec<GeneralSubtree> = names
        .iter()
        .map(|name| match name {
            Domain::Dns(name) => GeneralSubtree::DnsName(name.clone()),
            Domain::Ip(ip) => GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                *ip,
                if ip.is_ipv4() { 32 } else { 128 },
            )),
        })
        .collect();
    // A kind of name with no permitted subtree is unconstrained (RFC 5280 4.2.1.10): exclude
    // all of it until a name of that kind is signed.
    let mut excluded_subtrees = Vec::new();
    if !names.iter().any(|name| matches!(name, Domain::Ip(_))) {
        excluded_subtrees.push(GeneralSubtree::IpAddress(CidrSubnet::V4([0; 4], [0; 4])));
        excluded_subtrees.push(GeneralSubtree::IpAddress(CidrSubnet::V6([0; 16], [0; 16])));
    }
    if !names.iter().any(|name| matches!(name, Domain::Dns(_))) {
        // An empty dNSName matches every name (OpenSSL, Go).
        excluded_subtrees.push(GeneralSubtree::DnsName(String::new()));
    }
    NameConstraints {
        permitted_subtrees,
        excluded_subtrees,
    }
}

fn key_of(authority: &Authority) -> Result<KeyPair, CaError> {
    KeyPair::from_pem(&authority.key_pem)
        .map_err(|_| CaError::Unreadable("key cannot be read (PKCS#8 PEM expected)".into()))
}

fn parse_pem(text: &str) -> Result<Vec<u8>, CaError> {
    x509_parser::pem::parse_x509_pem(text.as_bytes())
        .map(|(_, pem)| pem.contents)
        .map_err(|_| CaError::Unreadable("certificate holds no PEM certificate".into()))
}

fn common_name(cert: &X509Certificate) -> Result<String, CaError> {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
        .ok_or_else(|| CaError::Unreadable("certificate has no common name".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(name: &str) -> Domain {
        name.parse().unwrap()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn a_new_ca_permits_the_first_name_and_signs_a_leaf_for_it() {
        let (ca, change) = prepare(None, &domain("prom.example.com"), now()).unwrap();
        assert_eq!(change, CaChange::Created);
        assert_eq!(
            facts(&ca).unwrap().permitted,
            vec!["prom.example.com".to_string()]
        );
        let leaf = issue(
            &ca,
            &domain("prom.example.com"),
            ValidityDays::DEFAULT,
            now(),
        )
        .unwrap();
        assert!(signed_by(&leaf.certificate_pem, &ca));
        let der = parse_pem(&leaf.certificate_pem).unwrap();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        assert!(!cert.basic_constraints().unwrap().unwrap().value.ca);
        assert!(
            cert.extended_key_usage()
                .unwrap()
                .unwrap()
                .value
                .server_auth
        );
        let lifetime =
            cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
        assert!(lifetime <= 397 * 86_400);
    }

    #[test]
    fn the_same_name_keeps_the_ca_and_a_new_one_widens_it_with_the_same_key() {
        let (ca, _) = prepare(None, &domain("a.example"), now()).unwrap();
        let before = facts(&ca).unwrap();
        let key = ca.key_pem.clone();
        let (ca, change) = prepare(Some(ca), &domain("a.example"), now()).unwrap();
        assert_eq!(change, CaChange::Unchanged);
        let (ca, change) = prepare(Some(ca), &domain("sub.a.example"), now()).unwrap();
        assert_eq!(change, CaChange::Unchanged, "under a permitted name");
        let leaf_a = issue(&ca, &domain("a.example"), ValidityDays::DEFAULT, now()).unwrap();
        let (ca, change) = prepare(Some(ca), &domain("192.0.2.7"), now()).unwrap();
        assert_eq!(change, CaChange::Widened("192.0.2.7".into()));
        let after = facts(&ca).unwrap();
        assert_eq!(after.permitted, vec!["a.example", "192.0.2.7"]);
        assert_eq!(after.subject, before.subject);
        assert_eq!(*ca.key_pem, *key);
        // A leaf signed before the widening still chains to the reissued certificate.
        assert!(signed_by(&leaf_a.certificate_pem, &ca));
    }

    #[test]
    fn rotating_makes_a_new_key_that_no_old_leaf_chains_to() {
        let (ca, _) = prepare(None, &domain("a.example"), now()).unwrap();
        let leaf = issue(&ca, &domain("a.example"), ValidityDays::DEFAULT, now()).unwrap();
        let rotated = rotate(&ca, now() + Duration::seconds(1)).unwrap();
        assert_ne!(*rotated.key_pem, *ca.key_pem);
        assert_eq!(facts(&rotated).unwrap().permitted, vec!["a.example"]);
        assert!(!signed_by(&leaf.certificate_pem, &rotated));
    }
}

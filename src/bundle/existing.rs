//! What an earlier run left in the output folder, read so that a re-run with the same answers
//! changes nothing: the hashes in `.htpasswd` and `web.yml`, the certificate and key, the
//! self-scrape password and a generated password.
//!
//! It only reads. Files that are missing or unreadable count as absent: the plan then makes
//! them anew, and the writer reports any conflict.

use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::bundle::cert::local_ca::Authority;
use crate::bundle::cert::provided;
use crate::bundle::layout::{
    HTPASSWD_FILE, PASSWORD_FILE, SELF_SCRAPE_PASSWORD_FILE, WEB_CONFIG_FILE,
};
use crate::host::secret_input;
use crate::model::password::Password;
use crate::model::setup::{Setup, Tls};

/// An earlier certificate and key that may be kept.
pub struct KeptPair {
    pub certificate_pem: String,
    pub key_pem: Zeroizing<String>,
    pub not_after: OffsetDateTime,
}

#[derive(Default)]
pub struct Existing {
    pub htpasswd: Option<String>,
    pub web_config: Option<String>,
    /// Only when it still covers the domain, matches its key and is not near expiry.
    pub pair: Option<KeptPair>,
    pub self_scrape_password: Option<Password>,
    /// The password a non-interactive run generated and stored before.
    pub generated_password: Option<Password>,
    /// The local CA as its folder holds it (`--tls local-ca`), read by the command
    /// (`host::local_ca`), which fails on a CA it cannot read rather than replace it.
    pub local_ca: Option<Authority>,
    /// The user's own certificate (`--tls-cert`), when it passes the checks.
    pub provided: Option<provided::Accepted>,
}

/// The path of `name` in `dir` when it is there and not a link: a link is never followed, for
/// reading either (the writer will refuse it anyway).
fn no_link(dir: &Path, name: &str) -> Option<PathBuf> {
    let path = dir.join(name);
    let is_link = std::fs::symlink_metadata(&path)
        .ok()?
        .file_type()
        .is_symlink();
    (!is_link).then_some(path)
}

fn read_text(dir: &Path, name: &str) -> Option<String> {
    crate::host::bounded_read::text_file(
        &no_link(dir, name)?,
        crate::host::bounded_read::BUNDLE_FILE_LIMIT,
    )
    .ok()
}

/// A password file, read as `--password-file` reads one.
fn read_password(dir: &Path, name: &str) -> Option<Password> {
    Password::new(secret_input::read_file_line(&no_link(dir, name)?).ok()?).ok()
}

impl Existing {
    /// Reads what the setup's output folder holds, judging the certificate at `now`.
    pub fn read(setup: &Setup, now: OffsetDateTime) -> Existing {
        let dir = setup.out_dir();
        let pair = match (&setup.tls(), setup.certificate_file(), setup.key_file()) {
            (
                Tls::SelfSigned { .. } | Tls::LocalCa { .. } | Tls::Acme { .. },
                Some(certificate),
                Some(key),
            ) => keep_pair(dir, &certificate, &key, setup, now),
            _ => None,
        };
        Existing {
            htpasswd: read_text(dir, HTPASSWD_FILE),
            web_config: read_text(dir, WEB_CONFIG_FILE),
            pair,
            self_scrape_password: read_password(dir, SELF_SCRAPE_PASSWORD_FILE),
            generated_password: read_password(dir, PASSWORD_FILE),
            local_ca: None,
            provided: match setup.tls() {
                Tls::Provided { certificate, key } => {
                    provided::check(certificate.path(), key.path(), setup.domain(), now).ok()
                }
                _ => None,
            },
        }
    }
}

/// The earlier pair, if it still serves: it covers the domain, the key matches, and it is
/// valid for more than `--renew-days` from now.
fn keep_pair(
    dir: &Path,
    certificate: &str,
    key: &str,
    setup: &Setup,
    now: OffsetDateTime,
) -> Option<KeptPair> {
    let certificate_pem = read_text(dir, certificate)?;
    let key_pem = Zeroizing::new(read_text(dir, key)?);
    let renew_by = now + Duration::days(i64::from(setup.renew_days().get()));
    let accepted =
        provided::check_pem(certificate_pem.as_bytes(), &key_pem, setup.domain(), now).ok()?;
    (accepted.not_after > renew_by).then_some(KeptPair {
        certificate_pem,
        key_pem,
        not_after: accepted.not_after,
    })
}

//! The local CA as its folder holds it: the two file names and their PEM texts. Shared by
//! `host::local_ca`, which reads the folder, and `bundle::cert::local_ca`, which makes and signs
//! with the CA. Names and data only: no I/O, no cryptography.

use zeroize::Zeroizing;

/// The CA's certificate and key files in its folder.
pub const CA_CERTIFICATE_FILE: &str = "ca.crt";
pub const CA_KEY_FILE: &str = "ca.key";

/// The CA as PEM text: what its folder holds.
#[derive(Clone)]
pub struct Authority {
    pub certificate_pem: String,
    pub key_pem: Zeroizing<String>,
}

impl std::fmt::Debug for Authority {
    // The key is secret: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

//! Which nginx and OpenSSL the configuration is written for, so that `nginx.conf` carries only
//! lines they accept (FACTS 5: a line too new for them makes nginx refuse to start).
//!
//! It owns the version gates. It must not run nginx (`host::nginx` asks it) nor decide anything
//! else about the configuration: the template asks the booleans here and renders.

use crate::model::values::Version;

/// The oldest pair promsetup targets when it cannot ask nginx: Debian 12's. Every line written
/// for it is also accepted by newer releases.
pub const BASELINE: NginxTarget = NginxTarget {
    nginx: Version(1, 22, 1),
    openssl: Version(3, 0, 0),
    http2_module: true,
    detected: false,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NginxTarget {
    pub nginx: Version,
    pub openssl: Version,
    /// Whether nginx was built with `--with-http_v2_module` (true for every distribution package
    /// we know, and assumed when nginx cannot be asked).
    pub http2_module: bool,
    /// True when the versions came from the installed nginx, false for the baseline or flags.
    pub detected: bool,
}

impl NginxTarget {
    /// `ssl_ecdh_curve X25519MLKEM768` (post-quantum key exchange) exists from OpenSSL 3.5.
    pub fn has_mlkem(&self) -> bool {
        self.openssl >= Version(3, 5, 0)
    }

    /// `http2 on;` replaced `listen ... http2` in nginx 1.25.1.
    pub fn has_http2_directive(&self) -> bool {
        self.nginx >= Version(1, 25, 1)
    }

    /// Before 1.23.2 nginx never rotated session ticket keys, so Mozilla turns tickets off.
    pub fn needs_session_tickets_off(&self) -> bool {
        self.nginx < Version(1, 23, 2)
    }
}

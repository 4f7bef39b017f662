//! How to trust the local CA on each kind of client: the exact commands, with the CA's path
//! filled in. Printed by `promsetup ca show` and by a setup run that made or widened the CA;
//! the README holds the same steps.
//!
//! It turns facts into text and must not read or write files.

use crate::bundle::cert::local_ca::Facts;
use crate::output::command::shell_quote;

/// The name the CA is given in trust stores that want one.
const NICKNAME: &str = "promsetup local CA";

/// The CA's facts and the steps to trust the certificate at `path`.
pub fn trust_steps(path: &str, facts: &Facts) -> String {
    let ca = shell_quote(path);
    let not_after = facts
        .not_after
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!(
        "The local CA ({ca}):
    subject      {subject}
    SHA-256      {fingerprint}
    valid until  {not_after}
    may sign for {permitted} (X.509 name constraints: nothing else)

Trust it once on each client (check the SHA-256 fingerprint when you copy it over):

  Debian, Ubuntu (curl, Go programs, Python, ...), as root:
    install -m 0644 {ca} /usr/local/share/ca-certificates/promsetup-ca.crt
    update-ca-certificates
  RHEL, Fedora, CentOS, as root:
    install -m 0644 {ca} /etc/pki/ca-trust/source/anchors/promsetup-ca.crt
    update-ca-trust
  Chromium and Chrome on Linux (NSS), as the user:
    certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n '{NICKNAME}' -i {ca}
  Firefox: Settings > Privacy & Security > Certificates > View Certificates > Authorities >
    Import, tick \"Trust this CA to identify websites\"; or, with Firefox closed:
    certutil -d sql:PROFILE_FOLDER -A -t C,, -n '{NICKNAME}' -i {ca}
  macOS:
    sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {ca}
  Windows, in an administrator's prompt:
    certutil -addstore -f Root promsetup-ca.crt
  A Prometheus that scrapes through the proxy (prometheus.yml):
    tls_config:
      ca_file: /etc/prometheus/promsetup-ca.crt
  Grafana's Prometheus data source: Authentication > TLS settings > \"Add self-signed
    certificate\" (With CA Cert), and paste the certificate; or, provisioned:
    jsonData: {{ tlsAuthWithCACert: true }}
    secureJsonData: {{ tlsCACert: <the certificate's PEM text> }}
  curl: --cacert {ca}
",
        subject = facts.subject,
        fingerprint = facts.fingerprint_sha256,
        permitted = facts.permitted.join(", "),
    )
}

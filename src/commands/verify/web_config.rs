//! web.yml as verify reads it: the TLS files `tls_server_config` names (the users are read by
//! `bundle::credentials`). A line reader for the shape promsetup writes; `promtool check
//! web-config` (run here) checks the YAML itself. It must not report findings.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::access::clean_command;

/// What verify needs from web.yml besides its users (which `credentials` reads): the TLS
/// files. A line reader for the shape promsetup writes; `promtool check web-config` checks the
/// YAML itself.
#[derive(Debug, Default)]
pub(super) struct WebConfig {
    pub(super) certificate: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
}

impl WebConfig {
    /// Relative paths resolve against the file's folder, as Prometheus resolves them.
    pub(super) fn parse(text: &str, dir: &Path) -> WebConfig {
        let mut web = WebConfig::default();
        let mut section = String::new();
        for line in text.lines() {
            let content = line.trim_end();
            if content.trim().is_empty() || content.trim_start().starts_with('#') {
                continue;
            }
            let Some((key, value)) = yaml_pair(content.trim()) else {
                continue;
            };
            if !content.starts_with([' ', '\t']) {
                section = key;
                continue;
            }
            let path = |value: &str| {
                let path = PathBuf::from(value);
                if path.is_absolute() {
                    path
                } else {
                    dir.join(path)
                }
            };
            match (section.as_str(), key.as_str()) {
                ("tls_server_config", "cert_file") => web.certificate = Some(path(&value)),
                ("tls_server_config", "key_file") => web.key = Some(path(&value)),
                _ => {}
            }
        }
        web
    }
}

/// `key: value` with either side optionally quoted.
pub(super) fn yaml_pair(line: &str) -> Option<(String, String)> {
    let (key, rest) = if let Some(quote @ ('"' | '\'')) = line.chars().next() {
        let end = line[1..].find(quote)? + 1;
        (line[1..end].to_string(), line[end + 1..].trim_start())
    } else {
        let colon = line.find(':')?;
        (line[..colon].trim().to_string(), &line[colon..])
    };
    let value = rest.strip_prefix(':')?.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    Some((key, value.to_string()))
}

/// Runs `promtool check web-config FILE`.
pub(super) fn promtool_check_web_config(promtool: &Path, file: &Path) -> std::io::Result<Output> {
    clean_command(promtool)
        .args(["check", "web-config"])
        .arg(file)
        .output()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn web_config_yields_its_tls_files() {
        let web = WebConfig::parse(
            "# comment\ntls_server_config:\n  cert_file: \"/etc/prometheus/a.crt\"\n  key_file: \
             a.key\n  min_version: TLS12\nbasic_auth_users:\n  \"admin\": \"$2y$12$x\"\n  bob: \
             '$2y$12$y'\n",
            Path::new("/bundle"),
        );
        assert_eq!(
            web.certificate.as_deref(),
            Some(Path::new("/etc/prometheus/a.crt"))
        );
        assert_eq!(web.key.as_deref(), Some(Path::new("/bundle/a.key")));
    }
}

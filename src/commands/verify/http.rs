//! The HTTP side of the online checks: the external URL split into its parts (`Target`), an
//! agent that trusts only the bundle's certificate and follows no redirect, and `fetch`, which
//! returns the answer's status, headers of interest and a capped body. It must not judge
//! answers (the checks do) or send anything but GET.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::error::Failure;

/// Each request of the online checks, connection and TLS handshake included.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Prometheus's own metrics are a few hundred kilobytes.
pub(super) const BODY_LIMIT: u64 = 32 * 1024 * 1024;

/// The external URL, split: scheme, host, port and the prefix (always ending in `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) https: bool,
    /// Without brackets.
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) prefix: String,
}

impl Target {
    pub(super) fn parse(url: &str) -> Result<Target, Failure> {
        let usage = |why: &str| {
            Failure::Usage(format!(
                "--url {url}: {why}; give the external URL, e.g. https://example.com/prometheus/"
            ))
        };
        let uri: ureq::http::Uri = url.parse().map_err(|_| usage("not a URL"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(usage("it must start with https:// or http://")),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| usage("it has no host"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_ascii_lowercase();
        if uri.query().is_some() {
            return Err(usage("it has a query (?...); give the external URL alone"));
        }
        let path = uri.path();
        let prefix = if path.ends_with('/') {
            path.to_string()
        } else {
            format!("{path}/")
        };
        Ok(Target {
            https,
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            host,
            prefix,
        })
    }

    /// `https://host[:port]`, the port only when it is not the scheme's.
    pub(super) fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let host = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => format!("[{}]", self.host),
            _ => self.host.clone(),
        };
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{}", self.port)
        }
    }

    pub(super) fn base(&self) -> String {
        format!("{}{}", self.origin(), self.prefix)
    }

    /// Where a redirect from `from` to `location` leads, as an absolute URL, when it stays on
    /// this origin and inside the prefix; `None` when it leaves them.
    pub(super) fn inside(&self, from: &str, location: &str) -> Option<String> {
        if location.is_empty() {
            return None;
        }
        let scheme = if self.https { "https" } else { "http" };
        let absolute = if location.contains("://") {
            location.to_string()
        } else if let Some(rest) = location.strip_prefix("//") {
            format!("{scheme}://{rest}")
        } else if location.starts_with('/') {
            format!("{}{location}", self.origin())
        } else {
            // Relative to the folder of `from`.
            format!(
                "{}{location}",
                &from[..from.rfind('/').map_or(from.len(), |i| i + 1)]
            )
        };
        let uri: ureq::http::Uri = absolute.parse().ok()?;
        let https = match uri.scheme_str()? {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let host = uri.host()?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        if (https, host.as_str(), port) != (self.https, self.host.as_str(), self.port) {
            return None;
        }
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        uri.path()
            .starts_with(&self.prefix)
            .then(|| format!("{}{path}", self.origin()))
    }
}

/// One HTTP answer, as far as the checks need it.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) location: Option<String>,
    pub(super) challenges: Vec<String>,
    pub(super) body: String,
}

/// The online checks' agent (`host::http_client`): only the bundle's certificate trusted, no
/// redirect followed, `connect` for `--connect`.
pub(super) fn agent(
    anchors: Option<Vec<ureq::tls::Certificate<'static>>>,
    connect: Option<SocketAddr>,
) -> ureq::Agent {
    crate::host::http_client::agent(anchors, connect, REQUEST_TIMEOUT)
}

pub(super) fn fetch(
    agent: &ureq::Agent,
    url: &str,
    authorization: Option<&str>,
) -> Result<Answer, ureq::Error> {
    let mut request = agent.get(url);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let mut response = request.call()?;
    let headers = response.headers();
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let challenges = headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_string()
        .unwrap_or_default();
    Ok(Answer {
        status,
        location,
        challenges,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_split_and_its_prefix_ends_in_a_slash() {
        let t = Target::parse("https://Example.com/prometheus").unwrap();
        assert_eq!(t.host, "example.com");
        assert_eq!(t.port, 443);
        assert_eq!(t.base(), "https://example.com/prometheus/");
        let t = Target::parse("http://[::1]:8080/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8080));
        assert_eq!(t.origin(), "http://[::1]:8080");
        assert!(Target::parse("ftp://x/").is_err());
        assert!(Target::parse("example.com/prometheus").is_err());
    }

    #[test]
    fn redirects_are_inside_the_prefix_only_on_the_same_origin() {
        let t = Target::parse("https://example.com:8443/prometheus/").unwrap();
        let from = "https://example.com:8443/prometheus/";
        assert_eq!(
            t.inside(from, "/prometheus/graph").as_deref(),
            Some("https://example.com:8443/prometheus/graph")
        );
        assert!(
            t.inside(from, "https://example.com:8443/prometheus/query")
                .is_some()
        );
        assert!(t.inside(from, "graph").is_some());
        assert!(t.inside(from, "/graph").is_none());
        assert!(t.inside(from, "/prometheusgraph").is_none());
        assert!(
            t.inside(from, "https://example.com/prometheus/graph")
                .is_none()
        );
        assert!(
            t.inside(from, "http://example.com:8443/prometheus/graph")
                .is_none()
        );
        assert!(t.inside(from, "https://evil.example/prometheus/").is_none());
        assert!(t.inside(from, "").is_none());
    }
}

//! The online checks of the running service behind the proxy, beyond what nginx answers: the
//! flags Prometheus actually runs with (`PREFIX/api/v1/status/flags`) against the bundle's
//! prometheus.flags, the UI page and every asset it links staying inside the prefix and
//! answering 200 (as a browser would load them), and Prometheus's port not answering past
//! nginx on this host's other addresses. GET requests and TCP connections only; it must not
//! change anything.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::http::{Target, fetch};
use super::{Checker, Verifier};
use crate::bundle::layout::FLAGS_FILE;

/// The flags whose values decide where links, redirects and the listener go.
const COMPARED_FLAGS: &[&str] = &[
    "web.external-url",
    "web.route-prefix",
    "web.listen-address",
    "web.config.file",
];
/// How many redirects the UI check follows, and how many assets it loads.
const MAX_HOPS: usize = 5;
const MAX_ASSETS: usize = 60;
/// A connection attempt to Prometheus's port on another address of this host.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

impl Verifier<'_, '_> {
    /// Prometheus's running flags, read through the proxy, against prometheus.flags.
    pub(super) fn check_running_flags(
        &mut self,
        agent: &ureq::Agent,
        target: &Target,
        auth: Option<&str>,
    ) {
        self.report.section("online.flags");
        let url = format!("{}api/v1/status/flags", target.base());
        let answer = match fetch(agent, &url, auth) {
            Ok(answer) if answer.status == 200 => answer,
            Ok(answer) => {
                self.report.warn(
                    &format!(
                        "{url} answers {}: Prometheus's running flags not compared",
                        answer.status
                    ),
                    "Check them yourself on the server: ps -o args= -C prometheus",
                );
                return;
            }
            Err(error) => {
                self.report.warn(
                    &format!("{url} could not be read: {error}"),
                    "Check Prometheus's flags yourself on the server: ps -o args= -C prometheus",
                );
                return;
            }
        };
        let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
        let data = &json["data"];
        if json["status"] != "success" || !data.is_object() {
            self.report.warn(
                &format!("{url} answers 200 but not with Prometheus's flags"),
                "Check that Prometheus is what answers behind the prefix",
            );
            return;
        }
        let mut differ = Vec::new();
        let mut same = Vec::new();
        for name in COMPARED_FLAGS {
            let Some(wanted) = self.bundle.flag(&format!("--{name}")) else {
                continue;
            };
            let running = data[*name].as_str().unwrap_or_default();
            if flag_values_match(name, wanted, running) {
                same.push(format!("--{name}={running}"));
            } else {
                differ.push(format!(
                    "--{name} is {} (the bundle says {wanted})",
                    if running.is_empty() {
                        "not set".to_string()
                    } else {
                        running.to_string()
                    }
                ));
            }
        }
        if differ.is_empty() {
            self.report.ok(&format!(
                "Prometheus runs with the bundle's flags: {}",
                same.join(", ")
            ));
            return;
        }
        let flags_path = self.bundle.dir.join(FLAGS_FILE);
        self.report.fail(
            &format!(
                "Prometheus does not run with the flags in {FLAGS_FILE}: {}; its links and \
                 redirects, or its listener, are not what the bundle was written for",
                differ.join("; ")
            ),
            &format!(
                "start Prometheus with the bundle's flags (Debian: ARGS=\"$(tr '\\n' ' ' < {})\" \
                 in /etc/default/prometheus; or prometheus @/etc/prometheus/prometheus.flags), \
                 then systemctl restart prometheus",
                flags_path.display()
            ),
        );
    }

    /// The UI page a browser lands on, and the scripts, styles and images it links: each must
    /// resolve inside the prefix and answer 200.
    pub(super) fn check_ui_assets(
        &mut self,
        agent: &ureq::Agent,
        target: &Target,
        auth: Option<&str>,
    ) {
        self.report.section("online.ui");
        let fix_flags = format!(
            "run Prometheus with the flags in {FLAGS_FILE} (--web.external-url={} and \
             --web.route-prefix=/), then systemctl restart prometheus",
            target.base()
        );
        // The page a browser ends on from the external URL, following redirects in the prefix.
        let mut page = target.base();
        let mut answer = None;
        for _ in 0..=MAX_HOPS {
            let Ok(got) = fetch(agent, &page, auth) else {
                return; // the redirect check has said why
            };
            if !(300..400).contains(&got.status) {
                answer = Some(got);
                break;
            }
            let location = got.location.clone().unwrap_or_default();
            match target.inside(&page, &location) {
                Some(next) => page = next,
                None => return, // the redirect check reports a redirect outside the prefix
            }
        }
        let Some(answer) = answer.filter(|a| a.status == 200) else {
            return;
        };
        let links = asset_links(&answer.body);
        if links.is_empty() {
            self.report.warn(
                &format!("the UI page {page} links no scripts or styles"),
                "Open it in a browser to check it",
            );
            return;
        }
        let mut outside = Vec::new();
        let mut broken = Vec::new();
        let mut loaded = 0;
        for link in links.iter().take(MAX_ASSETS) {
            let Some(url) = target.inside(&page, link) else {
                outside.push(link.clone());
                continue;
            };
            match fetch(agent, &url, auth) {
                Ok(got) if got.status == 200 => loaded += 1,
                Ok(got) => broken.push(format!("{link} ({})", got.status)),
                Err(error) => broken.push(format!("{link} ({error})")),
            }
        }
        if !outside.is_empty() {
            self.report.fail(
                &format!(
                    "the UI page {page} links {} of its {} assets outside the prefix {}: {}; a \
                     browser gets 404 for them and shows a broken page",
                    outside.len(),
                    links.len(),
                    target.prefix,
                    shorten(&outside)
                ),
                &fix_flags,
            );
        }
        if !broken.is_empty() {
            self.report.fail(
                &format!(
                    "the UI page {page} links assets that do not load: {}",
                    shorten(&broken)
                ),
                &fix_flags,
            );
        }
        if outside.is_empty() && broken.is_empty() {
            self.report.ok(&format!(
                "the UI page {page} and the {loaded} scripts and styles it links load inside the \
                 prefix (200)"
            ));
        }
    }

    /// Prometheus's port must not answer on this host's other addresses: nginx (with its
    /// password) is the only way in. Only for a bundle with nginx in front.
    pub(super) fn check_upstream_exposure(&mut self, target: &Target) {
        self.report.section("online.exposure");
        if matches!(
            self.bundle.checker(),
            Checker::PrometheusAlone | Checker::Nobody
        ) {
            return;
        }
        let Some(upstream) = self.bundle.nginx.as_ref().and_then(|n| n.upstream.clone()) else {
            return;
        };
        let Some(port) = upstream
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
        else {
            return;
        };
        let addresses = match host_addresses() {
            Ok(addresses) => addresses,
            Err(error) => {
                self.report.warn(
                    &format!("this host's addresses could not be listed ({error}): Prometheus's exposure not checked"),
                    &format!("Check it yourself: ss -ltn 'sport = :{port}' must show only 127.0.0.1"),
                );
                return;
            }
        };
        // Only on the server itself: elsewhere this host's ports say nothing about it.
        let here = |ip: IpAddr| ip.is_loopback() || addresses.contains(&ip);
        let this_host = match self.connect {
            Some(address) => here(address.ip()),
            None => (target.host.as_str(), target.port)
                .to_socket_addrs()
                .map(|mut resolved| resolved.any(|s| here(s.ip())))
                .unwrap_or(false),
        };
        if !this_host {
            self.report.note(&format!(
                "Prometheus's port {port} not tried past nginx: {} is not this host (run verify \
                 on the server for this check)",
                target.host
            ));
            return;
        }
        if addresses.is_empty() {
            self.report.note(&format!(
                "Prometheus's port {port} not tried past nginx: this host has no address but loopback"
            ));
            return;
        }
        let mut open = Vec::new();
        for address in &addresses {
            let socket = SocketAddr::new(*address, port);
            if TcpStream::connect_timeout(&socket, CONNECT_TIMEOUT).is_ok() {
                open.push(socket);
            }
        }
        let tried = addresses
            .iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if open.is_empty() {
            self.report.ok(&format!(
                "Prometheus's port {port} does not answer past nginx on this host's addresses ({tried})"
            ));
            return;
        }
        // What a client past nginx gets: metrics without a password is the worst case.
        let mut answers = Vec::new();
        for socket in &open {
            let url = format!("http://{}/metrics", bracketed(socket));
            let said = match fetch(&super::http::agent(None, None), &url, None) {
                Ok(got) if got.status == 200 && got.body.contains("# TYPE ") => {
                    format!("{url} answers 200 with Prometheus's metrics and no password")
                }
                Ok(got) => format!("{url} answers {}", got.status),
                Err(_) => format!("{socket} accepts connections"),
            };
            answers.push(said);
        }
        self.report.fail(
            &format!(
                "Prometheus listens past nginx: {}; anyone who can reach this host walks around \
                 nginx's TLS and password",
                answers.join("; ")
            ),
            &format!(
                "run Prometheus with --web.listen-address={upstream} (in {FLAGS_FILE}), then \
                 systemctl restart prometheus"
            ),
        );
    }
}

/// Whether a running flag's value is the bundle's: the same text, or both naming the same
/// route (`/` and empty are not the same: empty means "from the external URL").
fn flag_values_match(name: &str, wanted: &str, running: &str) -> bool {
    match name {
        "web.external-url" => wanted.trim_end_matches('/') == running.trim_end_matches('/'),
        _ => wanted == running,
    }
}

/// The `src` of scripts and images and the `href` of stylesheets and icons in an HTML page.
fn asset_links(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(start) = lower[at..].find('<').map(|i| at + i) {
        let end = lower[start..].find('>').map_or(lower.len(), |i| start + i);
        let tag = &lower[start..end];
        let original = &html[start..end];
        at = end.max(start + 1);
        let attribute = if tag.starts_with("<script") || tag.starts_with("<img") {
            "src"
        } else if tag.starts_with("<link") {
            "href"
        } else {
            continue;
        };
        if let Some(value) = attribute_value(tag, original, attribute)
            && !value.is_empty()
            && !value.starts_with("data:")
            && !links.contains(&value)
        {
            links.push(value);
        }
    }
    links
}

/// `name="value"` (or single quotes, or bare) in one tag; `tag` is `original` lower-cased.
fn attribute_value(tag: &str, original: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = tag[from..].find(name).map(|i| from + i) {
        from = i + name.len();
        let before = tag[..i].chars().last();
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let rest = tag[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let offset = tag.len() - rest.len();
        let value_start = offset + (rest.len() - rest.trim_start().len());
        let value = &original[value_start..];
        return Some(match value.chars().next() {
            Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or("").to_string(),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or("")
                .trim_end_matches('/')
                .to_string(),
        });
    }
    None
}

/// The host's addresses other than loopback and link-local (which need a zone to dial).
fn host_addresses() -> nix::Result<Vec<IpAddr>> {
    let mut addresses = Vec::new();
    for interface in nix::ifaddrs::getifaddrs()? {
        let Some(address) = interface.address else {
            continue;
        };
        let ip = if let Some(v4) = address.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else if let Some(v6) = address.as_sockaddr_in6() {
            IpAddr::V6(v6.ip())
        } else {
            continue;
        };
        let link_local = matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
        if !ip.is_loopback() && !ip.is_unspecified() && !link_local && !addresses.contains(&ip) {
            addresses.push(ip);
        }
    }
    Ok(addresses)
}

fn bracketed(socket: &SocketAddr) -> String {
    match socket {
        SocketAddr::V4(v4) => v4.to_string(),
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
    }
}

/// The first few of a list, and how many more.
fn shorten(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_links_are_the_scripts_styles_and_images_of_a_page() {
        let html = r#"<html><head><link rel="stylesheet" href="/classic/static/css/a.css?v=1">
            <LINK REL='icon' HREF='favicon.ico'><script src=/classic/static/js/b.js></script>
            <script>var x = "<img src='no'>";</script><a href="/elsewhere">x</a>
            <img data-src="x" src="static/img/c.png"/></head></html>"#;
        assert_eq!(
            asset_links(html),
            vec![
                "/classic/static/css/a.css?v=1",
                "favicon.ico",
                "/classic/static/js/b.js",
                "no",
                "static/img/c.png"
            ]
        );
    }

    #[test]
    fn external_urls_match_with_or_without_the_last_slash_and_other_flags_exactly() {
        assert!(flag_values_match(
            "web.external-url",
            "https://a/p/",
            "https://a/p"
        ));
        assert!(!flag_values_match("web.external-url", "https://a/p/", ""));
        assert!(!flag_values_match("web.route-prefix", "/", ""));
        assert!(flag_values_match(
            "web.listen-address",
            "127.0.0.1:9090",
            "127.0.0.1:9090"
        ));
    }
}

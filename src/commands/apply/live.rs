//! The proof that a bundle `apply` put in place works: the reloaded nginx (and the restarted
//! Prometheus) answering at the external URL, waited for while they settle, then every check of
//! `promsetup verify --url` against the live service. Requests go to the address nginx listens
//! on here (the plan's `connect`), with the URL's name, so this works before DNS points at the
//! server; TLS trusts only the bundle's certificate (or, for a snippet, the including server's).
//!
//! It sends GET requests only and must not change anything.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::commands::verify;
use crate::model::password::Password;

/// How long a live check waits for one answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A reload settles in well under a second (a restarted Prometheus: `apply --wait`).
pub(super) const AFTER_RELOAD: Duration = Duration::from_secs(5);
const PAUSE: Duration = Duration::from_millis(100);
pub(super) const HEALTH_PATH: &str = "-/healthy";

/// What `verify` found at the live service.
pub(super) struct Verified {
    pub(super) ok: u64,
    pub(super) warnings: Vec<String>,
}

/// 401 without credentials at the external URL, and 200 at its health page with them when a
/// password was given; asked again until `settle` is over, as a reload or restart takes effect.
pub(super) fn wait_for_service(
    url: &str,
    connect: Option<SocketAddr>,
    anchors: Option<Vec<ureq::tls::Certificate<'static>>>,
    credentials: Option<(&str, &Password)>,
    settle: Duration,
) -> Result<(), String> {
    let agent = crate::host::http_client::agent(anchors, connect, REQUEST_TIMEOUT);
    let status = |path: &str, authorization: Option<&str>| -> Result<u16, String> {
        let mut request = agent.get(format!("{url}{path}"));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        request
            .call()
            .map(|response| response.status().as_u16())
            .map_err(|error| format!("the live check of {url}{path} could not connect: {error}"))
    };
    // Any answer may be an old worker's for a moment after a reload; only "Prometheus is not
    // there yet" (no connection, 502, 503, 504) is waited for as long as a restart may take.
    let started = Instant::now();
    let reloaded = started + AFTER_RELOAD.min(settle);
    let restarted = started + settle;
    let settled = |path: &str, authorization: Option<&str>, expected: u16| loop {
        let last = status(path, authorization);
        let starting = matches!(last, Err(_) | Ok(502..=504));
        let deadline = if starting { restarted } else { reloaded };
        if last == Ok(expected) || Instant::now() >= deadline {
            return last;
        }
        std::thread::sleep(PAUSE);
    };
    let anonymous = settled("", None, 401)?;
    if anonymous != 401 {
        return Err(format!(
            "the live check of {url} without a password answered {anonymous}, not 401"
        ));
    }
    if let Some((username, password)) = credentials {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose()));
        // The prefix itself redirects to the UI's page; Prometheus's health answers 200.
        let signed_in = settled(HEALTH_PATH, Some(&format!("Basic {token}")), 200)?;
        if signed_in != 200 {
            return Err(format!(
                "the live check of {url}{HEALTH_PATH} as {username} answered {signed_in}, not 200{}",
                match signed_in {
                    401 => ": the password was refused",
                    502 | 504 =>
                        ": nginx cannot reach Prometheus (is it running, on the upstream address?)",
                    _ => "",
                }
            ));
        }
    }
    Ok(())
}

/// Every check of `promsetup verify DIR --url URL` against the live service; `Err` names each
/// FAIL and its fix.
pub(super) fn verify_service(
    dir: &Path,
    url: &str,
    connect: Option<SocketAddr>,
    password: Option<Password>,
    trust: Option<Vec<u8>>,
) -> Result<Verified, String> {
    let mut document = Vec::new();
    let result = verify::check_deployed(dir, url, connect, password, trust, &mut document);
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&document).ok();
    let Some(parsed) = parsed else {
        return Err(match result {
            Err(failure) => format!("verify --url {url} could not run: {failure}"),
            Ok(()) => format!("verify --url {url} printed no report"),
        });
    };
    let checks = parsed["checks"].as_array().cloned().unwrap_or_default();
    let with_status = |status: &str| -> Vec<String> {
        checks
            .iter()
            .filter(|check| check["status"] == status)
            .map(|check| {
                let message = check["message"].as_str().unwrap_or_default();
                match check["fix"].as_str() {
                    Some(fix) => format!("{message} ({fix})"),
                    None => message.to_string(),
                }
            })
            .collect()
    };
    let failures = with_status("fail");
    if result.is_err() || !failures.is_empty() {
        return Err(format!(
            "verify --url {url} found {} problem(s): {}",
            failures.len(),
            failures.join("; ")
        ));
    }
    Ok(Verified {
        ok: parsed["counts"]["ok"].as_u64().unwrap_or_default(),
        warnings: with_status("warning"),
    })
}

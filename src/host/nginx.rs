//! The nginx installed here, asked with `nginx -V`: its version, its OpenSSL's and whether it
//! has the HTTP/2 module, read on a thread of its own so the answer overlaps the hashing.
//!
//! It runs `nginx -V` and reads its answer; it must not decide what the configuration holds
//! (`model::target` has the version gates).

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::model::target::NginxTarget;
use crate::model::values::Version;

/// Asks the nginx on `PATH` (by absolute path, with a minimal environment: `host::program`);
/// `None` when there is none or its answer cannot be read.
pub fn detect() -> Option<NginxTarget> {
    let output = crate::host::program::command("nginx")?
        .arg("-V")
        .output()
        .ok()?;
    // nginx prints its build information on standard error.
    let text = String::from_utf8_lossy(&output.stderr);
    parse_nginx_v(&text)
}

/// `nginx -V`, asked on a thread of its own: starting nginx takes a few milliseconds, which
/// then overlap the password hashing instead of coming before it. The answer is read when the
/// configuration is rendered.
pub struct Probe(Mutex<ProbeState>);

enum ProbeState {
    Running(JoinHandle<Option<NginxTarget>>),
    Done(Option<NginxTarget>),
}

impl Probe {
    /// Starts asking the nginx on `PATH`. The thread never takes SIGINT: Ctrl-C must reach the
    /// main thread, whose handler restores the terminal before the process ends (a handler on
    /// another thread would race the prompt switching the terminal to raw mode).
    pub fn start() -> Arc<Probe> {
        use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
        let mut interrupt = SigSet::empty();
        interrupt.add(Signal::SIGINT);
        let mut before = SigSet::empty();
        // Threads inherit the mask they are spawned with: block, spawn, restore.
        let blocked = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&interrupt), Some(&mut before));
        let handle = std::thread::spawn(detect);
        if blocked.is_ok() {
            let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&before), None);
        }
        Arc::new(Probe(Mutex::new(ProbeState::Running(handle))))
    }

    /// An answer known already (tests, or a host without nginx).
    pub fn known(target: Option<NginxTarget>) -> Arc<Probe> {
        Arc::new(Probe(Mutex::new(ProbeState::Done(target))))
    }

    /// The answer, waiting for it the first time.
    pub fn get(&self) -> Option<NginxTarget> {
        let mut state = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let ProbeState::Running(_) = &*state {
            let ProbeState::Running(handle) =
                std::mem::replace(&mut *state, ProbeState::Done(None))
            else {
                unreachable!("checked just above")
            };
            *state = ProbeState::Done(handle.join().ok().flatten());
        }
        match &*state {
            ProbeState::Done(target) => *target,
            ProbeState::Running(_) => None,
        }
    }
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe(nginx -V)")
    }
}

/// Reads `nginx -V` output. OpenSSL's version is the one nginx runs with when it says so, else
/// the one it was built with.
pub fn parse_nginx_v(text: &str) -> Option<NginxTarget> {
    let nginx = text
        .lines()
        .find_map(|line| line.strip_prefix("nginx version: "))
        .and_then(|rest| rest.split('/').nth(1))
        .and_then(|version| version.split_whitespace().next())
        .and_then(|version| version.parse().ok())?;
    let openssl_after = |marker: &str| {
        text.lines()
            .find_map(|line| line.split(marker).nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|version| version.parse::<Version>().ok())
    };
    let openssl =
        openssl_after("running with OpenSSL ").or_else(|| openssl_after("built with OpenSSL "))?;
    let http2_module = text.contains("--with-http_v2_module");
    Some(NginxTarget {
        nginx,
        openssl,
        http2_module,
        detected: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_12: &str = "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.11 19 Sep 2023\n\
TLS SNI support enabled\nconfigure arguments: --with-cc-opt='-g -O2' --with-http_ssl_module \
--with-http_v2_module --with-stream=dynamic\n";

    #[test]
    fn reads_debian_12_nginx() {
        let target = parse_nginx_v(DEBIAN_12).unwrap();
        assert_eq!(target.nginx, Version(1, 22, 1));
        assert_eq!(target.openssl, Version(3, 0, 11));
        assert!(target.http2_module);
        assert!(target.needs_session_tickets_off());
        assert!(!target.has_http2_directive());
        assert!(!target.has_mlkem());
    }

    #[test]
    fn prefers_the_openssl_nginx_runs_with() {
        let text = "nginx version: nginx/1.27.4 (Ubuntu)\nbuilt with OpenSSL 3.4.0 22 Oct 2024 \
(running with OpenSSL 3.5.1 1 Jul 2025)\nconfigure arguments: --with-http_ssl_module\n";
        let target = parse_nginx_v(text).unwrap();
        assert_eq!(target.nginx, Version(1, 27, 4));
        assert_eq!(target.openssl, Version(3, 5, 1));
        assert!(!target.http2_module);
        assert!(target.has_http2_directive());
        assert!(target.has_mlkem());
        assert!(!target.needs_session_tickets_off());
    }

    #[test]
    fn unreadable_output_gives_none() {
        assert_eq!(parse_nginx_v("command not found"), None);
        assert_eq!(parse_nginx_v("nginx version: nginx/1.22.1\n"), None);
    }
}

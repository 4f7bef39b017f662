//! What the host tells about its Prometheus service (its `/etc/default/prometheus`, its unit's
//! `ExecStart`, whether systemd runs, whether this is a container) and the rule that picks how
//! Prometheus gets promsetup's flags there.
//!
//! Facts and one rule only: `host::prometheus_service` reads them, `bundle::prometheus_handoff`
//! writes the files. No I/O here.

/// How Prometheus gets its flags on this host, from the most specific fact found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Debian/Ubuntu: the unit reads `ARGS` from `/etc/default/prometheus`.
    DebianArgs,
    /// A systemd unit without such a file (upstream tarballs, RHEL-style): a drop-in.
    SystemdDropIn,
    /// Inside a container: the `command:` of the Prometheus container.
    Container,
    /// Nothing found: start Prometheus with `@FILE` added to its command line.
    Manual,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::DebianArgs => "debian-args",
            Route::SystemdDropIn => "systemd-drop-in",
            Route::Container => "container",
            Route::Manual => "manual",
        }
    }
}

/// What the host tells about its Prometheus service, read by `host::prometheus_service`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrometheusService {
    /// `/etc/default/prometheus` as it is.
    pub default_file: Option<String>,
    /// The `ExecStart=` command of the installed `prometheus.service` (its last one).
    pub exec_start: Option<String>,
    /// The unit reads `EnvironmentFile=/etc/default/prometheus`.
    pub reads_default_file: bool,
    /// systemd is the running init (`/run/systemd/system` exists).
    pub systemd: bool,
    /// This runs inside a container (`/.dockerenv`, `/run/.containerenv`).
    pub container: bool,
}

impl PrometheusService {
    pub fn route(&self) -> Route {
        if self.reads_default_file || self.default_file.is_some() {
            Route::DebianArgs
        } else if self.systemd || self.exec_start.is_some() {
            Route::SystemdDropIn
        } else if self.container {
            Route::Container
        } else {
            Route::Manual
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_follows_the_most_specific_fact() {
        let mut service = PrometheusService::default();
        assert_eq!(service.route(), Route::Manual);
        service.container = true;
        assert_eq!(service.route(), Route::Container);
        service.systemd = true;
        assert_eq!(service.route(), Route::SystemdDropIn);
        // A Debian package installed here wins, container or not.
        service.default_file = Some("ARGS=\"\"\n".into());
        assert_eq!(service.route(), Route::DebianArgs);
    }
}

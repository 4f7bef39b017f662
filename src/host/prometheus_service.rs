//! Reads how this host runs Prometheus: `/etc/default/prometheus`, the installed
//! `prometheus.service` (its `ExecStart` and `EnvironmentFile`), whether systemd is the running
//! init, whether this is a container.
//!
//! It reads those few files and must not write anything nor ask systemd (no D-Bus, no
//! `systemctl`), so it works the same as root, as a user, and in a test's mount namespace.

use std::path::Path;

use crate::model::prometheus_service::PrometheusService;

/// Where packages and admins put the unit, most specific first.
const UNIT_FILES: &[&str] = &[
    "/etc/systemd/system/prometheus.service",
    "/lib/systemd/system/prometheus.service",
    "/usr/lib/systemd/system/prometheus.service",
];
pub const DEFAULT_FILE: &str = "/etc/default/prometheus";
/// Where `promsetup apply` puts the systemd drop-in (`bundle::prometheus_handoff`).
pub const DROP_IN_PATH: &str = "/etc/systemd/system/prometheus.service.d/promsetup.conf";
/// The Debian package's init script, which reads `ARGS` from `DEFAULT_FILE`: what restarts
/// Prometheus on a host without systemd (a container, sysvinit).
pub const INIT_SCRIPT: &str = "/etc/init.d/prometheus";

pub fn probe() -> PrometheusService {
    let unit = UNIT_FILES
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok());
    let exec_start = unit.as_deref().and_then(|text| {
        text.lines()
            .filter_map(|line| line.trim().strip_prefix("ExecStart="))
            .rfind(|command| !command.trim().is_empty())
            .map(|command| command.trim().to_string())
    });
    PrometheusService {
        default_file: std::fs::read_to_string(DEFAULT_FILE).ok(),
        exec_start,
        reads_default_file: unit.as_deref().is_some_and(|text| {
            text.lines().any(|line| {
                line.trim().starts_with("EnvironmentFile=") && line.contains(DEFAULT_FILE)
            })
        }),
        systemd: Path::new("/run/systemd/system").is_dir(),
        container: Path::new("/.dockerenv").exists() || Path::new("/run/.containerenv").exists(),
    }
}

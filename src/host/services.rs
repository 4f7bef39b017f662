//! The service manager `promsetup apply` talks to: `nginx -t`, reloading nginx (`systemctl reload
//! nginx` where systemd runs, `nginx -s reload` otherwise) and restarting Prometheus (`systemctl
//! daemon-reload` and `systemctl restart prometheus` where systemd runs; the Debian package's
//! `/etc/init.d/prometheus restart` where it is installed and systemd does not run, as in a
//! container or under sysvinit; otherwise only the command is named). Programs are found by
//! absolute path and run with a minimal environment (`program`).
//!
//! It runs commands it is asked to run and must not write files itself.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::host::{program, prometheus_service};
use crate::model::prometheus_service::Route;

/// One command line, as shown by `--dry-run` and run by `Services`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    pub program: String,
    pub args: Vec<String>,
}

impl CommandLine {
    fn new(program: &str, args: &[&str]) -> CommandLine {
        CommandLine {
            program: program.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    pub fn shown(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What reloads and restarts the services on this host.
pub trait ServiceManager {
    fn test_nginx(&self) -> CommandLine;
    fn reload_nginx(&self) -> CommandLine;
    /// What restarts Prometheus when it gets its flags by `route`; `None`: promsetup cannot
    /// restart it here, and `restart_hint` says how.
    fn restart_prometheus(&self, route: Route) -> Option<CommandLine>;
    /// What makes the service manager read a changed unit drop-in (`systemctl daemon-reload`);
    /// `None` where there is none.
    fn reload_units(&self) -> Option<CommandLine>;
    fn restart_hint(&self, route: Route) -> String;
    /// A command that succeeds when Prometheus runs (`systemctl is-active`, the init script's
    /// `status`), where the one that restarts it is known.
    fn prometheus_running(&self, _route: Route) -> Option<CommandLine> {
        None
    }
    /// What stops Prometheus, for an undo when it was not running before.
    fn stop_prometheus(&self, _route: Route) -> Option<CommandLine> {
        None
    }
    /// Runs `command`; `Err` holds its exit status and output.
    fn run(&self, command: &CommandLine) -> Result<(), String>;
}

/// The host's own: systemd when `/run/systemd/system` exists, plain `nginx` and Prometheus's
/// init script otherwise.
pub struct Host {
    systemd: bool,
    /// The Debian package's init script, when it is installed.
    init_script: Option<&'static str>,
}

impl Host {
    /// A host with (`true`) or without systemd and no init script, whatever this one runs.
    pub fn with_systemd(systemd: bool) -> Host {
        Host {
            systemd,
            init_script: None,
        }
    }

    pub fn detect() -> Host {
        let init_script = prometheus_service::INIT_SCRIPT;
        Host {
            systemd: Path::new("/run/systemd/system").is_dir(),
            init_script: is_executable(Path::new(init_script)).then_some(init_script),
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

impl ServiceManager for Host {
    fn test_nginx(&self) -> CommandLine {
        CommandLine::new("nginx", &["-t", "-q"])
    }

    fn reload_nginx(&self) -> CommandLine {
        match self.systemd {
            true => CommandLine::new("systemctl", &["reload", "nginx"]),
            false => CommandLine::new("nginx", &["-s", "reload"]),
        }
    }

    fn restart_prometheus(&self, route: Route) -> Option<CommandLine> {
        // The init script reads /etc/default/prometheus, so it restarts only that route's.
        match (self.systemd, self.init_script, route) {
            (true, _, _) => Some(CommandLine::new("systemctl", &["restart", "prometheus"])),
            (false, Some(script), Route::DebianArgs) => {
                Some(CommandLine::new(script, &["restart"]))
            }
            (false, _, _) => None,
        }
    }

    fn reload_units(&self) -> Option<CommandLine> {
        self.systemd
            .then(|| CommandLine::new("systemctl", &["daemon-reload"]))
    }

    fn prometheus_running(&self, route: Route) -> Option<CommandLine> {
        let restart = self.restart_prometheus(route)?;
        Some(match self.systemd {
            true => CommandLine::new("systemctl", &["is-active", "--quiet", "prometheus"]),
            false => CommandLine::new(&restart.program, &["status"]),
        })
    }

    fn stop_prometheus(&self, route: Route) -> Option<CommandLine> {
        let restart = self.restart_prometheus(route)?;
        Some(match self.systemd {
            true => CommandLine::new("systemctl", &["stop", "prometheus"]),
            false => CommandLine::new(&restart.program, &["stop"]),
        })
    }

    fn restart_hint(&self, route: Route) -> String {
        match (self.restart_prometheus(route), route) {
            (Some(command), _) => command.shown(),
            (None, Route::SystemdDropIn) => {
                "systemctl daemon-reload && systemctl restart prometheus, once systemd runs".into()
            }
            (None, _) => "restart Prometheus with its new flags (e.g. `rc-service prometheus \
                          restart`, or `docker restart prometheus`)"
                .into(),
        }
    }

    fn run(&self, command: &CommandLine) -> Result<(), String> {
        run_command(command)
    }
}

/// How long one service command may take: a restart waits for the old process to stop (Debian's
/// init script gives Prometheus 30 s) and the new one to start. A hung command is stopped.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `command` by absolute path with a minimal environment, for `COMMAND_TIMEOUT` at most.
pub fn run_command(command: &CommandLine) -> Result<(), String> {
    run_with_timeout(command, COMMAND_TIMEOUT)
}

fn run_with_timeout(command: &CommandLine, timeout: Duration) -> Result<(), String> {
    let path = match command.program.starts_with('/') {
        true => Some(std::path::PathBuf::from(&command.program)).filter(|path| is_executable(path)),
        false => program::find(&command.program),
    };
    let Some(path) = path else {
        return Err(format!("{} is not installed", command.program));
    };
    let mut child: Command = program::command_at(&path);
    child
        .args(&command.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = child
        .spawn()
        .map_err(|error| format!("cannot run {}: {error}", command.shown()))?;
    // Its messages, read aside: a daemon it starts may keep the pipe open after it exits.
    let (sender, messages) = std::sync::mpsc::channel();
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stderr, &mut text);
            let _ = sender.send(text);
        });
    }
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{}` did not finish in {} s and was stopped",
                    command.shown(),
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => return Err(format!("cannot wait for {}: {error}", command.shown())),
        }
    };
    if status.success() {
        return Ok(());
    }
    let stderr = messages
        .recv_timeout(Duration::from_secs(2))
        .unwrap_or_default();
    Err(format!(
        "`{}` failed ({status}): {}",
        command.shown(),
        String::from_utf8_lossy(&stderr).trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_systemd_nginx_reloads_itself_and_prometheus_is_named() {
        let host = Host::with_systemd(false);
        assert_eq!(host.reload_nginx().shown(), "nginx -s reload");
        assert_eq!(host.restart_prometheus(Route::DebianArgs), None);
        assert_eq!(host.reload_units(), None);
        let host = Host {
            init_script: Some("/etc/init.d/prometheus"),
            ..Host::with_systemd(false)
        };
        assert_eq!(
            host.restart_prometheus(Route::DebianArgs).unwrap().shown(),
            "/etc/init.d/prometheus restart"
        );
        assert_eq!(
            host.prometheus_running(Route::DebianArgs).unwrap().shown(),
            "/etc/init.d/prometheus status"
        );
        assert_eq!(
            host.stop_prometheus(Route::DebianArgs).unwrap().shown(),
            "/etc/init.d/prometheus stop"
        );
        // The init script does not read a drop-in.
        assert_eq!(host.restart_prometheus(Route::SystemdDropIn), None);
        assert!(
            host.restart_hint(Route::SystemdDropIn)
                .contains("daemon-reload")
        );
        let host = Host {
            init_script: Some("/etc/init.d/prometheus"),
            ..Host::with_systemd(true)
        };
        assert_eq!(host.reload_nginx().shown(), "systemctl reload nginx");
        assert_eq!(
            host.restart_prometheus(Route::SystemdDropIn)
                .unwrap()
                .shown(),
            "systemctl restart prometheus"
        );
        assert_eq!(
            host.reload_units().unwrap().shown(),
            "systemctl daemon-reload"
        );
    }

    #[test]
    fn a_hung_command_is_stopped_and_a_failing_one_says_why() {
        let sleep = CommandLine::new("sleep", &["30"]);
        let started = Instant::now();
        let error = run_with_timeout(&sleep, Duration::from_millis(300)).unwrap_err();
        assert!(error.contains("did not finish in 0 s"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let failing = CommandLine::new("sh", &["-c", "echo broken >&2; exit 3"]);
        let error = run_command(&failing).unwrap_err();
        assert!(error.contains("broken"), "{error}");
        assert!(run_command(&CommandLine::new("true", &[])).is_ok());
    }
}

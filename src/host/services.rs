//! The service manager `promsetup apply` talks to: `nginx -t`, reloading nginx (`systemctl reload
//! nginx` where systemd runs, `nginx -s reload` otherwise) and restarting Prometheus (`systemctl
//! restart prometheus` where systemd runs; otherwise only the command is named). Programs are
//! found by absolute path and run with a minimal environment (`program`).
//!
//! It runs commands it is asked to run and must not write files itself.

use std::path::Path;
use std::process::Command;

use crate::host::program;

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
    /// `None`: promsetup cannot restart Prometheus here; `restart_hint` says how.
    fn restart_prometheus(&self) -> Option<CommandLine>;
    fn restart_hint(&self) -> String;
    /// Runs `command`; `Err` holds its exit status and output.
    fn run(&self, command: &CommandLine) -> Result<(), String>;
}

/// The host's own: systemd when `/run/systemd/system` exists, plain `nginx` otherwise.
pub struct Host {
    systemd: bool,
}

impl Host {
    /// A host with (`true`) or without systemd, whatever this one runs.
    pub fn with_systemd(systemd: bool) -> Host {
        Host { systemd }
    }

    pub fn detect() -> Host {
        Host {
            systemd: Path::new("/run/systemd/system").is_dir(),
        }
    }
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

    fn restart_prometheus(&self) -> Option<CommandLine> {
        self.systemd
            .then(|| CommandLine::new("systemctl", &["restart", "prometheus"]))
    }

    fn restart_hint(&self) -> String {
        match self.systemd {
            true => "systemctl restart prometheus".into(),
            false => {
                "restart Prometheus with its new flags (e.g. `rc-service prometheus restart`, \
                      or `docker restart prometheus`)"
                    .into()
            }
        }
    }

    fn run(&self, command: &CommandLine) -> Result<(), String> {
        run_command(command)
    }
}

/// Runs `command` by absolute path with a minimal environment.
pub fn run_command(command: &CommandLine) -> Result<(), String> {
    let Some(path) = program::find(&command.program) else {
        return Err(format!("{} is not installed", command.program));
    };
    let mut child: Command = program::command_at(&path);
    child.args(&command.args);
    let output = child
        .output()
        .map_err(|error| format!("cannot run {}: {error}", command.shown()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "`{}` failed ({}): {}",
        command.shown(),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_systemd_nginx_reloads_itself_and_prometheus_is_named() {
        let host = Host { systemd: false };
        assert_eq!(host.reload_nginx().shown(), "nginx -s reload");
        assert_eq!(host.restart_prometheus(), None);
        let host = Host { systemd: true };
        assert_eq!(host.reload_nginx().shown(), "systemctl reload nginx");
        assert_eq!(
            host.restart_prometheus().unwrap().shown(),
            "systemctl restart prometheus"
        );
    }
}

//! The Prometheus hand-off as files: the systemd drop-in passes `systemd-analyze verify`
//! beside the Debian package's own unit, and Debian's ARGS, merged with the ARGS a host
//! already has (in a private mount namespace over /etc/default), starts the real Prometheus
//! with promsetup's flags from `@prometheus.flags` and the host's own flags kept.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{PASSWORD, curl, free_port, require};

/// `systemd-analyze verify` of Debian's prometheus.service with `drop_in` as a drop-in.
fn verify_with_drop_in(analyze: &Path, drop_in: &str) -> std::process::Output {
    let units = tempfile::tempdir().unwrap();
    fs::copy(
        "/lib/systemd/system/prometheus.service",
        units.path().join("prometheus.service"),
    )
    .unwrap();
    fs::create_dir(units.path().join("prometheus.service.d")).unwrap();
    fs::write(
        units.path().join("prometheus.service.d/promsetup.conf"),
        drop_in,
    )
    .unwrap();
    Command::new(analyze)
        .arg("verify")
        .arg(units.path().join("prometheus.service"))
        .env("SYSTEMD_UNIT_PATH", format!("{}:", units.path().display()))
        .output()
        .unwrap()
}

#[test]
fn the_systemd_drop_in_passes_systemd_analyze_verify() {
    let Some(analyze) = require("systemd-analyze") else {
        return;
    };
    if !Path::new("/lib/systemd/system/prometheus.service").exists() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI installs Debian's prometheus package, with its unit"
        );
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("bundle");
    let output = crate::support::run_promsetup(
        [
            "--non-interactive",
            "--password-stdin",
            "--domain",
            "example.com",
            "--nginx-layout",
            "full",
            "--out",
            bundle.to_str().unwrap(),
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(output.status.success(), "{output:?}");
    let drop_in = fs::read_to_string(bundle.join("prometheus.service.d-promsetup.conf")).unwrap();
    let verified = verify_with_drop_in(&analyze, &drop_in);
    assert!(
        verified.status.success(),
        "systemd-analyze verify refused:\n{drop_in}\n{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    // The check can fail: without the empty ExecStart= the unit has two and is refused.
    let without_reset = drop_in.replace("ExecStart=\n", "");
    assert!(
        !verify_with_drop_in(&analyze, &without_reset)
            .status
            .success()
    );
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn debian_args_merged_with_the_hosts_own_start_prometheus_with_the_flags_file() {
    let (Some(unshare), Some(prometheus), Some(_)) =
        (require("unshare"), require("prometheus"), require("curl"))
    else {
        return;
    };
    if crate::support::current_uid() != 0 {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI runs as root"
        );
        return;
    }
    let root = crate::support::traversable_tempdir();
    let bundle = root.path().join("bundle");
    let upstream_port = free_port();
    // The host's own ARGS: a flag of its own, and one promsetup sets (which must go).
    let existing = "# Debian's comment\nARGS=\"--storage.tsdb.retention.time=2d \
                    --web.listen-address=:9999\"\n";
    let mut command = Command::new(unshare);
    command
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            "set -e; mount -t tmpfs tmpfs /etc/default; printf '%s' \"$1\" > \
             /etc/default/prometheus; shift; exec \"$@\"",
        )
        .arg("sh")
        .arg(existing)
        .arg(env!("CARGO_BIN_EXE_promsetup"))
        .args([
            "--non-interactive",
            "--password-stdin",
            "--domain",
            "example.com",
        ])
        .args(["--nginx-layout", "full", "--out"])
        .arg(&bundle)
        .arg("--prometheus-dir")
        .arg(&bundle)
        .arg("--upstream")
        .arg(format!("127.0.0.1:{upstream_port}"))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("reads ARGS from /etc/default/prometheus"),
        "the Debian route is not the one said:\n{printed}"
    );
    let merged = fs::read_to_string(bundle.join("prometheus.default")).unwrap();
    let flags_file = bundle.join("prometheus.flags");
    assert_eq!(
        merged,
        format!(
            "# Debian's comment\nARGS=\"--storage.tsdb.retention.time=2d @{}\"\n",
            flags_file.display()
        )
    );
    // Start Prometheus as Debian's unit would: /usr/bin/prometheus $ARGS (split on spaces).
    let args_line = merged.lines().find(|l| l.starts_with("ARGS=")).unwrap();
    let args: Vec<&str> = args_line["ARGS=".len()..]
        .trim_matches('"')
        .split_whitespace()
        .collect();
    let data = root.path().join("data");
    let config = root.path().join("prometheus.yml");
    fs::write(&config, "global:\n  scrape_interval: 15s\n").unwrap();
    let log = fs::File::create(root.path().join("prometheus.log")).unwrap();
    let running = Running(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{upstream_port}/api/v1/status/flags");
    let mut answer = None;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        let result = curl([url.as_str()]);
        if result.status == 200 {
            answer = Some(result.body);
            break;
        }
    }
    drop(running);
    let log = fs::read_to_string(root.path().join("prometheus.log")).unwrap_or_default();
    let body = answer.unwrap_or_else(|| panic!("Prometheus did not come up:\n{log}"));
    let flags: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        flags["data"]["web.external-url"],
        "https://example.com/prometheus/"
    );
    assert_eq!(flags["data"]["web.route-prefix"], "/");
    assert_eq!(
        flags["data"]["web.listen-address"],
        format!("127.0.0.1:{upstream_port}")
    );
    assert_eq!(flags["data"]["storage.tsdb.retention.time"], "2d");
}

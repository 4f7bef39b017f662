//! `promsetup apply`: a real nginx and Prometheus, in a private mount namespace (tmpfs over
//! /etc/nginx, /etc/prometheus, /etc/default, /run and /var/log/nginx, and over the folders of
//! init scripts and units, so this host has no Prometheus service: Prometheus is started by the
//! test), so the machine's own files are never touched. nginx is started on an old configuration (plain HTTP, "old config"),
//! promsetup apply runs inside the namespace (`nsenter`), and its files are read through
//! /proc/PID/root.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{Namespace, PASSWORD, Prometheus, curl, free_port, require};

const OLD_BODY: &str = "old config";

/// The namespace, nginx started inside on the old configuration.
struct Host {
    namespace: Namespace,
    root: tempfile::TempDir,
    port: u16,
}

impl Host {
    /// `None` (skip) without root or the programs, outside CI.
    fn start(port: u16) -> Option<Host> {
        for program in ["unshare", "nsenter", "nginx", "curl", "prometheus"] {
            require(program)?;
        }
        if crate::support::current_uid() != 0 {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI runs as root"
            );
            eprintln!("skipped: needs root for a private mount namespace");
            return None;
        }
        let root = crate::support::traversable_tempdir();
        let old = format!(
            "events {{}}\nhttp {{\n    server {{\n        listen 127.0.0.1:{port};\n        \
             location / {{ return 200 \"{OLD_BODY}\\n\"; }}\n    }}\n}}\n"
        );
        fs::write(root.path().join("old-nginx.conf"), old).unwrap();
        let namespace = Namespace::start(
            "set -e; cp /etc/nginx/mime.types \"$1/mime.types\" 2>/dev/null || true; \
             for d in /etc/nginx /etc/prometheus /etc/default /run /var/log/nginx \
             /etc/init.d /etc/systemd/system /usr/lib/systemd/system; do \
             mkdir -p $d; mount -t tmpfs tmpfs $d; done; \
             cp \"$1/old-nginx.conf\" /etc/nginx/nginx.conf; \
             [ -f \"$1/mime.types\" ] && cp \"$1/mime.types\" /etc/nginx/; \
             nginx </dev/null >/dev/null 2>&1; echo ready; read line || true; \
             kill -QUIT \"$(cat /run/nginx.pid)\" 2>/dev/null || true",
            root.path(),
            &["/run/nginx.pid"],
        );
        let host = Host {
            namespace,
            root,
            port,
        };
        host.wait_for(|| host.old_config_served());
        Some(host)
    }

    /// A namespace with nginx on the old configuration, a bundle for it and Prometheus
    /// running with the bundle's flags (not yet installed).
    fn serving_a_bundle() -> Option<(Host, PathBuf, Prometheus)> {
        let host = Host::start(free_port())?;
        let bundle = make_bundle(host.root.path(), host.port, free_port());
        let prometheus = start_prometheus(&bundle, host.root.path());
        Some((host, bundle, prometheus))
    }

    /// A path inside the namespace, as this process can read it.
    fn inside(&self, path: &str) -> PathBuf {
        self.namespace.inside(path)
    }

    fn old_config_served(&self) -> bool {
        let answer = curl([format!("http://127.0.0.1:{}/", self.port)]);
        answer.status == 200 && answer.body.contains(OLD_BODY)
    }

    fn wait_for(&self, ready: impl Fn() -> bool) {
        let up = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            ready()
        });
        assert!(up, "timed out waiting for nginx");
    }

    /// `promsetup args` inside the namespace, with `stdin`.
    fn promsetup(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.namespace.promsetup(args, stdin)
    }

    /// Every file under the namespace's /etc/nginx and /etc/prometheus: name, mode, bytes.
    fn files(&self) -> Vec<(String, u32, Vec<u8>)> {
        let mut found = Vec::new();
        for folder in ["/etc/nginx", "/etc/prometheus"] {
            for entry in fs::read_dir(self.inside(folder)).unwrap() {
                let entry = entry.unwrap();
                let meta = entry.metadata().unwrap();
                if meta.is_file() {
                    found.push((
                        format!("{folder}/{}", entry.file_name().to_string_lossy()),
                        meta.mode() & 0o7777,
                        fs::read(entry.path()).unwrap(),
                    ));
                }
            }
        }
        found.sort();
        found
    }
}

/// A bundle for https://localhost:PORT/prometheus/ (full layout), made outside the namespace.
fn make_bundle(root: &Path, port: u16, upstream_port: u16) -> PathBuf {
    let bundle = root.join("bundle");
    let output = crate::support::run_promsetup(
        [
            "--non-interactive",
            "--password-stdin",
            "--domain",
            "localhost",
            "--username",
            "admin",
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--http-port",
            "0",
            "--upstream",
            &format!("127.0.0.1:{upstream_port}"),
            "--nginx-layout",
            "full",
            "--log-dir",
            "/var/log/nginx",
            "--out",
            bundle.to_str().unwrap(),
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(output.status.success(), "{output:?}");
    bundle
}

fn start_prometheus(bundle: &Path, root: &Path) -> Prometheus {
    let flags: Vec<String> = fs::read_to_string(bundle.join("prometheus.flags"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    Prometheus::start(&flags, root)
}

fn over_tls(port: u16, password: Option<&str>) -> crate::support::CurlResult {
    let mut args = vec!["-k".to_string()];
    if let Some(password) = password {
        args.extend(["-u".into(), format!("admin:{password}")]);
    }
    args.push(format!("https://localhost:{port}/prometheus/"));
    curl(args)
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn dry_run_lists_every_action_and_changes_nothing() {
    let port = free_port();
    let Some(host) = Host::start(port) else {
        return;
    };
    let bundle = make_bundle(host.root.path(), port, free_port());
    let before = host.files();
    let dir = bundle.to_str().unwrap();
    let output = host.promsetup(&["apply", dir, "--dry-run"], None);
    assert!(output.status.success(), "{}", text(&output));
    let shown = String::from_utf8_lossy(&output.stdout);
    for line in [
        "replace   /etc/nginx/nginx.conf  0644 root:root",
        "create    /etc/nginx/.htpasswd  0640 root:www-data",
        "create    /etc/nginx/localhost.key  0600 root:root",
        "create    /etc/prometheus/prometheus.flags  0644 root:root",
        "run       nginx -t -q",
        "run       nginx -s reload",
        "check     GET https://localhost:",
    ] {
        assert!(shown.contains(line), "no {line:?} in:\n{shown}");
    }
    let json = host.promsetup(&["apply", dir, "--dry-run", "--format", "json"], None);
    assert!(json.status.success(), "{}", text(&json));
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(document["dry_run"], true);
    assert_eq!(document["files"].as_array().unwrap().len(), 5, "{document}");
    assert_eq!(document["commands"][1], "nginx -s reload");
    assert_eq!(host.files(), before, "a dry run changed files");
    assert!(host.old_config_served());
}

#[test]
fn apply_installs_the_files_and_the_reloaded_nginx_asks_for_the_password() {
    let Some((host, bundle, _prometheus)) = Host::serving_a_bundle() else {
        return;
    };
    let port = host.port;
    let old_conf = fs::read(host.inside("/etc/nginx/nginx.conf")).unwrap();
    let output = host.promsetup(
        &["apply", bundle.to_str().unwrap(), "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(output.status.success(), "{}", text(&output));
    let files = host.files();
    let mode = |path: &str| {
        files
            .iter()
            .find(|(name, _, _)| name == path)
            .map(|(_, mode, _)| *mode)
    };
    assert_eq!(mode("/etc/nginx/nginx.conf"), Some(0o644));
    assert_eq!(mode("/etc/nginx/.htpasswd"), Some(0o640));
    assert_eq!(mode("/etc/nginx/localhost.key"), Some(0o600));
    assert_eq!(mode("/etc/prometheus/prometheus.flags"), Some(0o644));
    // One backup, of the one replaced file.
    let backups: Vec<_> = files
        .iter()
        .filter(|(name, _, _)| name.contains(".bak"))
        .collect();
    assert_eq!(
        backups.len(),
        1,
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(backups[0].0, "/etc/nginx/nginx.conf.bak");
    assert_eq!(backups[0].2, old_conf);
    let htpasswd = fs::metadata(host.inside("/etc/nginx/.htpasswd")).unwrap();
    let www_data = nix::unistd::Group::from_name("www-data").unwrap().unwrap();
    assert_eq!(htpasswd.gid(), www_data.gid.as_raw());
    assert_eq!(
        fs::read(host.inside("/etc/nginx/nginx.conf")).unwrap(),
        fs::read(bundle.join("nginx.conf")).unwrap()
    );
    // The reloaded nginx serves the bundle: 401 without the password, 200 with it.
    assert_eq!(over_tls(port, None).status, 401);
    let signed_in = over_tls(port, Some(PASSWORD));
    assert!(
        signed_in.status == 200 || signed_in.status == 302,
        "{signed_in:#?}"
    );
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("applied: 5 file(s) changed"), "{shown}");
    // No Prometheus service here: the flags file is installed and the restart is the user's.
    assert!(
        shown.contains("Prometheus's flags changed and promsetup cannot restart it here"),
        "{shown}"
    );
    assert!(
        shown.contains("no Prometheus service found here")
            || shown.contains("this is a container: add @/etc/prometheus/prometheus.flags"),
        "{shown}"
    );
}

#[test]
fn a_failed_nginx_test_or_live_check_puts_every_file_back() {
    let Some((host, bundle, _prometheus)) = Host::serving_a_bundle() else {
        return;
    };
    let before = host.files();
    let dir = bundle.to_str().unwrap();

    // A live check that fails: the wrong password gets 401, not 200.
    let output = host.promsetup(
        &["apply", dir, "--password-stdin"],
        Some("not the password\n"),
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("answered 401, not 200"), "{error}");
    assert!(error.contains("put back"), "{error}");
    let after: Vec<_> = host
        .files()
        .into_iter()
        .filter(|(name, _, _)| !name.ends_with(".bak"))
        .collect();
    assert_eq!(after, before, "files changed by a failed apply");
    host.wait_for(|| host.old_config_served());

    // A configuration nginx -t refuses: nothing reloads, every file is put back.
    let conf = bundle.join("nginx.conf");
    let mut broken = fs::read_to_string(&conf).unwrap();
    broken.push_str("\nno_such_directive on;\n");
    fs::write(&conf, broken).unwrap();
    let output = host.promsetup(&["apply", dir], None);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("nginx -t"), "{error}");
    let after: Vec<_> = host
        .files()
        .into_iter()
        .filter(|(name, _, _)| !name.ends_with(".bak"))
        .collect();
    assert_eq!(after, before, "files changed by a failed apply");
    assert!(host.old_config_served());
}

/// Without the rights to write where the files go, apply refuses before changing anything and
/// says the command to run instead.
#[test]
fn without_rights_apply_changes_nothing_and_names_the_sudo_command() {
    let Some(setpriv) = require("setpriv") else {
        return;
    };
    if crate::support::current_uid() != 0 {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI runs as root"
        );
        eprintln!("skipped: needs root to run apply as another user");
        return;
    }
    let root = crate::support::traversable_tempdir();
    let (bundle, conf_dir, prometheus_dir) = (
        root.path().join("bundle"),
        root.path().join("etc-nginx"),
        root.path().join("etc-prometheus"),
    );
    for folder in [&conf_dir, &prometheus_dir] {
        fs::create_dir(folder).unwrap();
    }
    let output = crate::support::run_promsetup(
        [
            "--non-interactive",
            "--password-stdin",
            "--domain",
            "example.com",
            "--nginx-layout",
            "full",
            "--conf-dir",
            conf_dir.to_str().unwrap(),
            "--prometheus-dir",
            prometheus_dir.to_str().unwrap(),
            "--out",
            bundle.to_str().unwrap(),
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(output.status.success(), "{output:?}");
    // Readable by anyone, so that what stops apply is where it would write.
    for entry in fs::read_dir(&bundle).unwrap() {
        let path = entry.unwrap().path();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    }
    let as_nobody = |extra: &[&str]| {
        std::process::Command::new(&setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_promsetup"))
            .arg("apply")
            .arg(&bundle)
            .args(extra)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .unwrap()
    };
    let refused = as_nobody(&[]);
    let error = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        error.contains(&format!("sudo promsetup apply {}", bundle.display())),
        "{error}"
    );
    assert_eq!(fs::read_dir(&conf_dir).unwrap().count(), 0, "apply wrote");
    assert_eq!(
        fs::read_dir(&prometheus_dir).unwrap().count(),
        0,
        "apply wrote"
    );
    // A dry run needs no rights: it lists what root would do.
    let dry = as_nobody(&["--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    let shown = String::from_utf8_lossy(&dry.stdout);
    assert!(
        shown.contains(&format!("create    {}/nginx.conf", conf_dir.display())),
        "{shown}"
    );
}

//! `promsetup apply` on a Debian host that already serves other sites, as an admin meets it: a
//! private mount namespace holds a copy of the Debian package's /etc/nginx (its default site and
//! another TLS virtual host on our port), the package's /etc/default/prometheus with ARGS of the
//! admin's own, and Prometheus started by the package's own init script, which reads those ARGS.
//! promsetup makes the bundle and applies it inside the namespace (so it sees these as the
//! host's files); the tests look at the files through /proc/PID/root and at the services from
//! outside. The machine's own /etc, /run and /var are never touched: every folder written is a
//! bind or tmpfs mount of the namespace.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::layouts::{add_other_tls_site, copy_debian_nginx};
use crate::support::{Namespace, PASSWORD, curl, free_port, require};

const DOMAIN: &str = "example.com";

/// The host's shape.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Debian's packages as installed: Prometheus from its init script, reading ARGS from
    /// /etc/default/prometheus; another TLS virtual host (other.test) on our port.
    OtherSites,
    /// The same, with the host's own TLS server for our domain (for a snippet).
    OwnServerForDomain,
    /// A systemd unit of the admin's own, no /etc/default/prometheus, no init script
    /// (upstream tarballs, RHEL-style); systemd itself does not run here.
    UnitOnly,
}
/// A flag of the admin's own in ARGS, which the merge keeps.
const OWN_FLAG: &str = "--storage.tsdb.retention.time=3d";
/// Starts Prometheus in the background as its account, as a service manager would (add its
/// arguments); `STOP_DAEMON` stops it.
const START_DAEMON: &str = "start-stop-daemon --start --quiet --background --make-pidfile \
     --pidfile /run/prometheus/prometheus.pid --chuid prometheus:prometheus \
     --exec /usr/bin/prometheus --";
const STOP_DAEMON: &str = "start-stop-daemon --stop --quiet --oknodo --retry=TERM/10/KILL/2 \
     --pidfile /run/prometheus/prometheus.pid --remove-pidfile";

struct DebianHost {
    namespace: Namespace,
    root: tempfile::TempDir,
    /// Our TLS port, shared with the other virtual host.
    port: u16,
    /// Debian's default site's port.
    plain_port: u16,
    /// Prometheus's own address.
    upstream_port: u16,
}

impl DebianHost {
    /// The namespace with nginx and Prometheus running; `None` (skip) without root, the
    /// programs or Debian's layout, outside CI.
    fn start(kind: Kind) -> Option<DebianHost> {
        for program in [
            "unshare",
            "nsenter",
            "nginx",
            "curl",
            "prometheus",
            "openssl",
        ] {
            require(program)?;
        }
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        if crate::support::current_uid() != 0
            || !Path::new("/etc/nginx/sites-available/default").exists()
            || !Path::new("/etc/init.d/prometheus").exists()
        {
            assert!(
                !in_ci,
                "CI runs as root with Debian's nginx and prometheus packages"
            );
            eprintln!("skipped: needs root, Debian's /etc/nginx and /etc/init.d/prometheus");
            return None;
        }
        let (port, plain_port, upstream_port) = (free_port(), free_port(), free_port());
        let root = crate::support::traversable_tempdir();
        let etc = root.path().join("etc-nginx");
        copy_debian_nginx(&etc, plain_port);
        let other = match kind {
            Kind::OwnServerForDomain => DOMAIN,
            Kind::OtherSites | Kind::UnitOnly => "other.test",
        };
        add_other_tls_site(&etc, port, None, other);
        let own_args = format!("--web.listen-address=127.0.0.1:{upstream_port} {OWN_FLAG}");
        fs::write(
            root.path().join("default-prometheus"),
            format!(
                "# Set the command-line arguments to pass to the server.\nARGS=\"{own_args}\"\n"
            ),
        )
        .unwrap();
        fs::write(
            root.path().join("prometheus.service"),
            format!(
                "[Unit]\nDescription=Prometheus\n\n[Service]\nUser=prometheus\n\
                 ExecStart=/usr/bin/prometheus {own_args}\n\n[Install]\n\
                 WantedBy=multi-user.target\n"
            ),
        )
        .unwrap();
        // Debian's init script, or what a unit would run (systemd does not run here).
        let (prepare, start, stop) = match kind {
            Kind::OtherSites | Kind::OwnServerForDomain => (
                "cp \"$r/default-prometheus\" /etc/default/prometheus".to_string(),
                "/etc/init.d/prometheus start".to_string(),
                "/etc/init.d/prometheus stop",
            ),
            Kind::UnitOnly => (
                "cp \"$r/prometheus.service\" /etc/systemd/system/; \
                 mount -t tmpfs tmpfs /etc/init.d; mkdir -p /run/prometheus"
                    .to_string(),
                format!("{START_DAEMON} {own_args}"),
                STOP_DAEMON,
            ),
        };
        fs::write(
            root.path().join("prometheus.yml"),
            "global:\n  scrape_interval: 15s\n",
        )
        .unwrap();
        let namespace = Namespace::start(
            &format!(
                "set -e; r=\"$1\"; mount --bind \"$r/etc-nginx\" /etc/nginx; \
                 for d in /etc/default /etc/prometheus /etc/systemd/system /run /var/log/nginx \
                 /var/lib/prometheus /var/log/prometheus; do mkdir -p $d; \
                 mount -t tmpfs tmpfs $d; done; {prepare}; \
                 cp \"$r/prometheus.yml\" /etc/prometheus/prometheus.yml; \
                 chown prometheus:prometheus /var/lib/prometheus /var/log/prometheus; \
                 nginx </dev/null >/dev/null 2>&1; \
                 {start} </dev/null >/dev/null 2>&1; \
                 echo ready; read line || true; \
                 {stop} </dev/null >/dev/null 2>&1 || true; \
                 kill -QUIT \"$(cat /run/nginx.pid)\" 2>/dev/null || true"
            ),
            root.path(),
            &["/run/prometheus/prometheus.pid", "/run/nginx.pid"],
        );
        let host = DebianHost {
            namespace,
            root,
            port,
            plain_port,
            upstream_port,
        };
        host.wait_for("nginx's default site", || host.default_site_answers());
        host.wait_for("Prometheus from its init script", || {
            host.prometheus_direct("/-/ready").status == 200
        });
        Some(host)
    }

    /// A path inside the namespace, as this process can read it.
    fn inside(&self, path: &str) -> PathBuf {
        self.namespace.inside(path)
    }

    fn bundle(&self) -> PathBuf {
        self.root.path().join("bundle")
    }

    fn wait_for(&self, what: &str, ready: impl Fn() -> bool) {
        let up = (0..200).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            ready()
        });
        assert!(up, "timed out waiting for {what}\n{}", self.diagnostics());
    }

    fn diagnostics(&self) -> String {
        let log = |path: &str| fs::read_to_string(self.inside(path)).unwrap_or_default();
        format!(
            "prometheus.log:\n{}\nnginx error.log:\n{}",
            log("/var/log/prometheus/prometheus.log"),
            log("/var/log/nginx/error.log")
        )
    }

    fn default_site_answers(&self) -> bool {
        let answer = curl([format!("http://127.0.0.1:{}/", self.plain_port)]);
        answer.status == 200 && answer.body.contains("Welcome to nginx")
    }

    fn prometheus_direct(&self, path: &str) -> crate::support::CurlResult {
        curl([format!("http://127.0.0.1:{}{path}", self.upstream_port)])
    }

    /// A request to `name` on our TLS port (certificates not checked: apply's own checks do).
    fn over_tls(
        &self,
        name: &str,
        path: &str,
        password: Option<&str>,
    ) -> crate::support::CurlResult {
        let mut args = vec![
            "-k".to_string(),
            "--resolve".into(),
            format!("{name}:{}:127.0.0.1", self.port),
        ];
        if let Some(password) = password {
            args.extend(["-u".into(), format!("admin:{password}")]);
        }
        args.push(format!("https://{name}:{}{path}", self.port));
        curl(args)
    }

    /// The flags the running Prometheus reports, asked directly.
    fn running_flags(&self) -> serde_json::Value {
        let answer = self.prometheus_direct("/api/v1/status/flags");
        assert_eq!(answer.status, 200, "{answer:#?}");
        serde_json::from_str::<serde_json::Value>(&answer.body).unwrap()["data"].clone()
    }

    /// `promsetup args` inside the namespace, with `stdin`.
    fn promsetup(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.namespace.promsetup(args, stdin)
    }

    /// The bundle for https://example.com:PORT/prometheus/, made inside the namespace with no
    /// layout asked for (the host decides: site, as its nginx.conf includes sites-enabled/), or
    /// a snippet.
    fn make_bundle(&self, snippet: bool) {
        self.make_bundle_for(DOMAIN, &self.bundle(), snippet);
    }

    fn make_bundle_for(&self, domain: &str, bundle: &Path, snippet: bool) {
        let (port, plain, upstream) = (
            self.port.to_string(),
            match snippet {
                true => "0".to_string(),
                false => self.plain_port.to_string(),
            },
            format!("127.0.0.1:{}", self.upstream_port),
        );
        let mut args = vec![
            "--non-interactive",
            "--password-stdin",
            "--domain",
            domain,
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
            "--http-port",
            &plain,
            "--upstream",
            &upstream,
            "--log-dir",
            "/var/log/nginx",
            "--out",
        ];
        args.push(bundle.to_str().unwrap());
        if snippet {
            args.extend(["--nginx-layout", "snippet"]);
        }
        let output = self.promsetup(&args, Some(&format!("{PASSWORD}\n")));
        assert!(output.status.success(), "{}", text(&output));
    }

    fn apply(&self, extra: &[&str], password: &str) -> Output {
        let bundle = self.bundle();
        let mut args = vec!["apply", bundle.to_str().unwrap()];
        args.extend(extra);
        args.push("--password-stdin");
        self.promsetup(&args, Some(&format!("{password}\n")))
    }

    /// `apply --password-stdin` with the right password, which must succeed: what it printed.
    fn apply_succeeds(&self) -> String {
        let applied = self.apply(&[], PASSWORD);
        assert!(
            applied.status.success(),
            "{}\n{}",
            text(&applied),
            self.diagnostics()
        );
        String::from_utf8_lossy(&applied.stdout).into_owned()
    }

    /// `promsetup verify BUNDLE --url URL --connect 127.0.0.1:PORT` passes, as a user checks a
    /// server before DNS points at it.
    fn verify_passes(&self) {
        let url = format!("https://{DOMAIN}:{}/prometheus/", self.port);
        let connect = format!("127.0.0.1:{}", self.port);
        let bundle = self.bundle();
        let args = [
            "verify",
            bundle.to_str().unwrap(),
            "--url",
            &url,
            "--connect",
            &connect,
            "--password-stdin",
        ];
        let verified = self.promsetup(&args, Some(&format!("{PASSWORD}\n")));
        assert!(verified.status.success(), "{}", text(&verified));
    }

    /// Every file and link under the folders apply writes to: "path uid:gid", mode, bytes or
    /// link target (backups left out: a failed run may leave one).
    fn files(&self) -> Vec<(String, u32, Vec<u8>)> {
        let mut found = Vec::new();
        for folder in [
            "/etc/nginx",
            "/etc/nginx/sites-available",
            "/etc/nginx/sites-enabled",
            "/etc/nginx/snippets",
            "/etc/nginx/conf.d",
            "/etc/prometheus",
            "/etc/default",
        ] {
            let Ok(entries) = fs::read_dir(self.inside(folder)) else {
                continue;
            };
            for entry in entries.flatten() {
                let meta = fs::symlink_metadata(entry.path()).unwrap();
                let path = format!("{folder}/{}", entry.file_name().to_string_lossy());
                let name = format!("{path} {}:{}", meta.uid(), meta.gid());
                if meta.file_type().is_symlink() {
                    let to = fs::read_link(entry.path()).unwrap();
                    found.push((name, 0, to.to_string_lossy().as_bytes().to_vec()));
                } else if meta.is_file() && !path.ends_with(".bak") {
                    found.push((name, meta.mode() & 0o7777, fs::read(entry.path()).unwrap()));
                }
            }
        }
        found.sort();
        found
    }
}

/// `document` passes docs/apply-schema.json (jsonschema from the CI venv); skipped without it
/// outside CI.
fn assert_follows_the_schema(document: &[u8]) {
    let Some(python) = crate::platforms::venv_program("python", false) else {
        return;
    };
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/apply-schema.json");
    let mut child = std::process::Command::new(python)
        .args([
            "-c",
            "import json, sys, jsonschema; \
             jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1])))",
        ])
        .arg(schema)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(document).unwrap();
    let checked = child.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(document),
        String::from_utf8_lossy(&checked.stderr)
    );
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn mode_of(files: &[(String, u32, Vec<u8>)], path: &str) -> Option<u32> {
    files
        .iter()
        .find(|(name, _, _)| name.starts_with(&format!("{path} ")))
        .map(|f| f.1)
}

#[test]
fn apply_enables_a_site_beside_other_sites_and_restarts_prometheus_through_its_args() {
    let Some(host) = DebianHost::start(Kind::OtherSites) else {
        return;
    };
    host.make_bundle(false);
    let bundle = host.bundle();
    assert!(
        bundle.join("promsetup-prometheus.conf").exists(),
        "not the site layout"
    );
    let before = host.files();

    // The dry run names every action and changes nothing.
    let dry = host.apply(&["--dry-run"], PASSWORD);
    assert!(dry.status.success(), "{}", text(&dry));
    let shown = String::from_utf8_lossy(&dry.stdout);
    for line in [
        "create    /etc/nginx/sites-available/promsetup-prometheus.conf  0644 root:root",
        "create    /etc/nginx/.htpasswd  0640 root:www-data",
        "create    /etc/nginx/example.com.key  0600 root:root",
        "create    /etc/prometheus/prometheus.flags  0644 root:root",
        "replace   /etc/default/prometheus  0644 root:root  (ARGS merged with @/etc/prometheus/prometheus.flags",
        "link      /etc/nginx/sites-enabled/promsetup-prometheus.conf -> /etc/nginx/sites-available/promsetup-prometheus.conf",
        "run       nginx -t -q",
        "run       /etc/init.d/prometheus restart",
        "check     promsetup verify",
    ] {
        assert!(shown.contains(line), "no {line:?} in:\n{shown}");
    }
    assert_eq!(host.files(), before, "a dry run changed files");
    let json = host.apply(&["--dry-run", "--format", "json"], PASSWORD);
    assert!(json.status.success(), "{}", text(&json));
    assert_follows_the_schema(&json.stdout);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(document["prometheus_handoff"], "debian-args");
    assert_eq!(document["links"][0]["action"], "create");
    assert_eq!(document["ok"], serde_json::Value::Null);

    let shown = host.apply_succeeds();
    // Six files and the link.
    assert!(shown.contains("applied: 7 file(s) changed"), "{shown}");
    assert!(shown.contains("verified: "), "{shown}");

    // Files in place with their modes, the site enabled by a link, one backup of the one
    // replaced file.
    let files = host.files();
    assert_eq!(
        mode_of(
            &files,
            "/etc/nginx/sites-available/promsetup-prometheus.conf"
        ),
        Some(0o644)
    );
    assert_eq!(mode_of(&files, "/etc/nginx/.htpasswd"), Some(0o640));
    assert_eq!(mode_of(&files, "/etc/nginx/example.com.key"), Some(0o600));
    let link = fs::read_link(host.inside("/etc/nginx/sites-enabled/promsetup-prometheus.conf"));
    assert_eq!(
        link.unwrap(),
        Path::new("/etc/nginx/sites-available/promsetup-prometheus.conf")
    );
    let htpasswd = fs::metadata(host.inside("/etc/nginx/.htpasswd")).unwrap();
    let www_data = nix::unistd::Group::from_name("www-data").unwrap().unwrap();
    assert_eq!(htpasswd.gid(), www_data.gid.as_raw());
    let default_file = fs::read_to_string(host.inside("/etc/default/prometheus")).unwrap();
    assert!(
        default_file.contains(&format!(
            "ARGS=\"{OWN_FLAG} @/etc/prometheus/prometheus.flags\""
        )),
        "{default_file}"
    );
    assert!(default_file.starts_with("# Set the command-line arguments"));
    // One backup: of the one file that was there (no old key or config piles up).
    let backups: Vec<String> = [
        "/etc/nginx",
        "/etc/nginx/sites-available",
        "/etc/nginx/sites-enabled",
        "/etc/prometheus",
        "/etc/default",
    ]
    .iter()
    .flat_map(|folder| {
        fs::read_dir(host.inside(folder))
            .unwrap()
            .flatten()
            .map(move |entry| format!("{folder}/{}", entry.file_name().to_string_lossy()))
    })
    .filter(|path| path.contains(".bak") || path.contains(".~"))
    .collect();
    assert_eq!(backups, ["/etc/default/prometheus.bak"]);

    // Prometheus was restarted by its init script with the bundle's flags and the admin's own.
    let flags = host.running_flags();
    assert_eq!(
        flags["web.external-url"],
        format!("https://{DOMAIN}:{}/prometheus/", host.port)
    );
    assert_eq!(flags["storage.tsdb.retention.time"], "3d");

    // nginx serves the site; the other virtual host and Debian's default site still answer.
    assert_eq!(
        host.over_tls(DOMAIN, "/prometheus/metrics", None).status,
        401
    );
    let metrics = host.over_tls(DOMAIN, "/prometheus/metrics", Some(PASSWORD));
    assert_eq!(metrics.status, 200, "{metrics:#?}");
    let other = host.over_tls("other.test", "/", None);
    assert_eq!(other.body, "own site of other.test\n", "{other:#?}");
    assert!(host.default_site_answers());

    // verify --connect, as a user checks before DNS points at the server.
    host.verify_passes();

    // Applying again changes nothing and restarts nothing.
    let again = host.apply(&[], PASSWORD);
    assert!(again.status.success(), "{}", text(&again));
    let shown = String::from_utf8_lossy(&again.stdout);
    assert!(shown.contains("applied: nothing changed"), "{shown}");
    assert!(!shown.contains("run       "), "{shown}");

    // A bundle for another domain would replace this site: its dry run says so.
    let second = host.root.path().join("second");
    host.make_bundle_for("second.test", &second, false);
    let dry = host.promsetup(&["apply", second.to_str().unwrap(), "--dry-run"], None);
    assert!(dry.status.success(), "{}", text(&dry));
    let shown = String::from_utf8_lossy(&dry.stdout);
    assert!(
        shown.contains(&format!(
            "it serves https://{DOMAIN}:{}/prometheus/ now: one nginx holds one promsetup site",
            host.port
        )),
        "{shown}"
    );
}

#[test]
fn a_prometheus_that_does_not_come_up_or_a_failing_nginx_test_puts_everything_back() {
    let Some(host) = DebianHost::start(Kind::OtherSites) else {
        return;
    };
    host.make_bundle(false);
    let bundle = host.bundle();
    let before = host.files();
    let old_flags = host.running_flags();

    // A flag this Prometheus does not know: it exits at start, nginx answers 502.
    let flags = bundle.join("prometheus.flags");
    let good_flags = fs::read_to_string(&flags).unwrap();
    fs::write(&flags, format!("{good_flags}--no-such-flag\n")).unwrap();
    let failed = host.apply(&["--wait", "3", "--format", "json"], PASSWORD);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert_follows_the_schema(&failed.stdout);
    let document: serde_json::Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(document["ok"], false);
    assert!(
        document["error"].as_str().unwrap().contains("put back"),
        "{document}"
    );
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(error.contains("nginx cannot reach Prometheus"), "{error}");
    assert!(error.contains("every file was put back"), "{error}");
    assert!(
        error.contains("Prometheus was restarted with its previous flags"),
        "{error}"
    );
    assert_eq!(host.files(), before, "files changed by a failed apply");
    host.wait_for("Prometheus with its old flags", || {
        host.prometheus_direct("/-/ready").status == 200
    });
    assert_eq!(host.running_flags(), old_flags);
    assert!(host.default_site_answers());
    assert_eq!(
        host.over_tls("other.test", "/", None).body,
        "own site of other.test\n"
    );

    // A site nginx -t refuses: nothing is reloaded or restarted, everything is put back.
    fs::write(&flags, good_flags).unwrap();
    let site = bundle.join("promsetup-prometheus.conf");
    let mut broken = fs::read_to_string(&site).unwrap();
    broken.push_str("\nno_such_directive on;\n");
    fs::write(&site, broken).unwrap();
    let failed = host.apply(&[], PASSWORD);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(error.contains("nginx -t"), "{error}");
    assert!(!error.contains("restarted"), "{error}");
    assert_eq!(host.files(), before, "files changed by a failed apply");
    assert_eq!(host.running_flags(), old_flags);
    assert!(host.default_site_answers());
}

#[test]
fn a_snippet_is_applied_once_the_hosts_server_includes_it() {
    let Some(host) = DebianHost::start(Kind::OwnServerForDomain) else {
        return;
    };
    host.make_bundle(true);
    let before = host.files();

    // Without the include line in the host's server, apply refuses and says the line.
    let refused = host.apply(&[], PASSWORD);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let locations = "/etc/nginx/snippets/promsetup-prometheus-locations.conf";
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains(&format!("include {locations};")), "{error}");
    assert_eq!(host.files(), before);

    // The admin adds the line to their server (no reload), then applies.
    let server = host
        .root
        .path()
        .join("etc-nginx/sites-available")
        .join(DOMAIN);
    let text_before = fs::read_to_string(&server).unwrap();
    fs::write(
        &server,
        text_before.replace(
            "    location / {",
            &format!("    include {locations};\n    location / {{"),
        ),
    )
    .unwrap();
    // A failed check puts the snippet's files back; nginx keeps its running configuration, and
    // the error says the include line now names a missing file.
    let failed = host.apply(&[], "not the password");
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(
        error.contains("is not installed: take that line out"),
        "{error}"
    );
    assert_eq!(
        host.over_tls(DOMAIN, "/", None).body,
        format!("own site of {DOMAIN}\n")
    );
    let shown = host.apply_succeeds();
    assert!(
        shown.contains(&format!("included  {locations} by /etc/nginx/sites-")),
        "{shown}"
    );
    assert!(shown.contains("verified: "), "{shown}");
    // The bundle's own pair is not installed: the host's server has its certificate, and its
    // key (of the same name) is as it was.
    let host_key = |files: &[(String, u32, Vec<u8>)]| {
        files
            .iter()
            .find(|(name, _, _)| name.starts_with("/etc/nginx/example.com.key "))
            .cloned()
    };
    assert_eq!(host_key(&host.files()), host_key(&before));
    let metrics = host.over_tls(DOMAIN, "/prometheus/metrics", Some(PASSWORD));
    assert_eq!(metrics.status, 200, "{metrics:#?}");
    assert_eq!(
        host.over_tls(DOMAIN, "/prometheus/metrics", None).status,
        401
    );
    assert_eq!(
        host.over_tls(DOMAIN, "/", None).body,
        format!("own site of {DOMAIN}\n")
    );
}

#[test]
fn on_a_unit_without_an_args_file_apply_installs_a_drop_in_that_runs_prometheus_with_the_flags() {
    let Some(host) = DebianHost::start(Kind::UnitOnly) else {
        return;
    };
    host.make_bundle(false);
    let shown = host.apply_succeeds();
    let drop_in_path = "/etc/systemd/system/prometheus.service.d/promsetup.conf";
    for line in [
        &format!(
            "create    {drop_in_path}  0644 root:root  (ExecStart with @/etc/prometheus/prometheus.flags"
        ),
        "(systemd-drop-in)",
        "Prometheus's flags changed and promsetup cannot restart it here: systemctl daemon-reload && systemctl restart prometheus",
    ] {
        assert!(shown.contains(line), "no {line:?} in:\n{shown}");
    }
    let drop_in = fs::read_to_string(host.inside(drop_in_path)).unwrap();
    let exec_start = drop_in
        .lines()
        .filter_map(|line| line.strip_prefix("ExecStart="))
        .next_back()
        .unwrap();
    assert_eq!(
        exec_start,
        format!("/usr/bin/prometheus {OWN_FLAG} @/etc/prometheus/prometheus.flags"),
        "{drop_in}"
    );
    // systemd accepts the unit with the drop-in apply installed.
    if let Some(analyze) = require("systemd-analyze") {
        let verified = host.namespace.run(
            analyze.to_str().unwrap(),
            &["verify", "/etc/systemd/system/prometheus.service"],
            None,
        );
        assert!(verified.status.success(), "{}", text(&verified));
    }

    // What systemctl restart would do: stop the unit's process, run the drop-in's ExecStart.
    let stopped = host.namespace.run("/bin/sh", &["-c", STOP_DAEMON], None);
    assert!(stopped.status.success(), "{}", text(&stopped));
    let args: Vec<&str> = exec_start.split_whitespace().skip(1).collect();
    let started = host.namespace.run(
        "/bin/sh",
        &["-c", &format!("{START_DAEMON} {}", args.join(" "))],
        None,
    );
    assert!(started.status.success(), "{}", text(&started));
    host.wait_for("Prometheus from the drop-in's command", || {
        host.prometheus_direct("/-/ready").status == 200
    });
    let flags = host.running_flags();
    assert_eq!(
        flags["web.external-url"],
        format!("https://{DOMAIN}:{}/prometheus/", host.port)
    );
    assert_eq!(flags["storage.tsdb.retention.time"], "3d");
    // And the whole of verify passes against the live service.
    host.verify_passes();
}

//! How the generated nginx configuration drops into a host: dual-stack listening, upstream
//! keepalive, and the `full`, `site` and `snippet` layouts served by a real nginx (the `site`
//! and `snippet` ones on a copy of the Debian package's own /etc/nginx, in a private mount
//! namespace, beside the default site and another virtual host).

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::support::{Bundle, Credentials, Setup, Stack};

/// Prometheus's own count of the connections its web listener accepted.
fn accepted_connections(stack: &Stack) -> f64 {
    let direct = crate::support::curl([format!(
        "http://127.0.0.1:{}/metrics",
        stack.bundle.upstream_port
    )]);
    assert_eq!(direct.status, 200, "Prometheus direct: {direct:#?}");
    direct
        .body
        .lines()
        .find(|line| {
            line.starts_with("net_conntrack_listener_conn_accepted_total")
                && line.contains("listener_name=\"http\"")
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no accepted-connections metric in:\n{}", direct.body))
}

#[test]
fn by_default_nginx_answers_on_ipv6_and_ipv4_loopback() {
    let Some(stack) = Stack::start(Bundle::create(Setup {
        every_address: true,
        ..Setup::with_domain("::1")
    })) else {
        return;
    };
    let bundle = &stack.bundle;
    let conf = bundle.nginx_conf_text();
    assert!(
        conf.contains(&format!("listen [::]:{} ssl", bundle.port)),
        "{conf}"
    );
    let metrics = bundle.path("/metrics");
    // curl -g https://[::1]:PORT/prometheus/metrics, TLS verified against the IP SAN ::1.
    let over_ipv6 = stack.request(Credentials::Valid, &metrics, &["-g"]);
    assert_eq!(over_ipv6.status, 200, "over IPv6: {over_ipv6:#?}");
    assert!(over_ipv6.body.contains("prometheus_build_info"));
    let anonymous = stack.request(Credentials::None, &metrics, &["-g"]);
    assert_eq!(
        anonymous.status, 401,
        "over IPv6 without password: {anonymous:#?}"
    );
    // The same URL, connected over IPv4.
    let over_ipv4 = stack.request(
        Credentials::Valid,
        &metrics,
        &["-g", "--connect-to", "::127.0.0.1:"],
    );
    assert_eq!(over_ipv4.status, 200, "over IPv4: {over_ipv4:#?}");
}

#[test]
fn repeated_bind_addresses_each_get_a_listen_and_nothing_else_does() {
    let Some(stack) = Stack::start(Bundle::create(Setup {
        // The harness gives --bind 127.0.0.1; this adds a second one.
        extra_args: vec!["--bind".into(), "[::1]".into()],
        ..Setup::default()
    })) else {
        return;
    };
    let port = stack.bundle.port;
    let timeout = Duration::from_secs(2);
    for bound in [
        SocketAddr::from(([127, 0, 0, 1], port)),
        format!("[::1]:{port}").parse().unwrap(),
    ] {
        assert!(
            TcpStream::connect_timeout(&bound, timeout).is_ok(),
            "nothing on {bound}"
        );
    }
    let other = SocketAddr::from(([127, 0, 0, 2], port));
    assert!(
        TcpStream::connect_timeout(&other, timeout).is_err(),
        "nginx also answers on {other}"
    );
}

#[test]
fn nginx_reuses_its_connections_to_prometheus() {
    let Some(stack) = Stack::start(Bundle::create(Setup::default())) else {
        return;
    };
    let requests = 30;
    let metrics = stack.bundle.path("/-/healthy");
    // Warm up: the first proxied request opens the kept connection.
    assert_eq!(stack.get(&metrics).status, 200);
    let before = accepted_connections(&stack);
    for _ in 0..requests {
        let result = stack.get(&metrics);
        assert_eq!(result.status, 200, "{result:#?}");
    }
    let after = accepted_connections(&stack);
    // Our own two direct scrapes are connections too (one, the second, counted); without
    // keepalive nginx would add one connection per request.
    let opened = after - before;
    assert!(
        opened <= 3.0,
        "{requests} proxied requests opened {opened} connections to Prometheus: no keepalive"
    );
}

// ---------------------------------------------------------------------------------------------
// site and snippet on the Debian package's own /etc/nginx, in a private mount namespace

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::support::{PASSWORD, Prometheus, curl, free_port, require};

/// A copy of this machine's /etc/nginx (Debian's layout: conf.d/, sites-available/ with the
/// default site, sites-enabled/, snippets/) that commands see at /etc/nginx, with /run and
/// /var/log/nginx private too: the machine's own files are never touched.
struct DebianHost {
    root: tempfile::TempDir,
}

pub(crate) const DEBIAN_NGINX_CONF: &str = "user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
include /etc/nginx/modules-enabled/*.conf;

events {
\tworker_connections 768;
}

http {
\tsendfile on;
\ttcp_nopush on;
\ttypes_hash_max_size 2048;
\tinclude /etc/nginx/mime.types;
\tdefault_type application/octet-stream;
\tssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE
\tssl_prefer_server_ciphers on;
\taccess_log /var/log/nginx/access.log;
\tgzip on;
\tinclude /etc/nginx/conf.d/*.conf;
\tinclude /etc/nginx/sites-enabled/*;
}
";

/// A copy of this machine's /etc/nginx at `to`, as the Debian package leaves it: its own
/// nginx.conf, only the default site enabled, that site moved to `plain_port` on loopback.
pub(crate) fn copy_debian_nginx(to: &Path, plain_port: u16) {
    let copied = Command::new("cp")
        .args(["-a", "/etc/nginx"])
        .arg(to)
        .status()
        .unwrap();
    assert!(copied.success(), "cp -a /etc/nginx");
    // Debian 12's own nginx.conf (nginx-common 1.22.1, comments left out): the machine's copy may
    // have been replaced by someone's test or deployment, and the tests are about the package's
    // layout.
    fs::write(to.join("nginx.conf"), DEBIAN_NGINX_CONF).unwrap();
    let default_site = to.join("sites-available/default");
    // Only Debian's default site enabled, as the package leaves it.
    let enabled = to.join("sites-enabled");
    fs::remove_dir_all(&enabled).unwrap();
    fs::create_dir(&enabled).unwrap();
    std::os::unix::fs::symlink(
        "/etc/nginx/sites-available/default",
        enabled.join("default"),
    )
    .unwrap();
    let text = fs::read_to_string(&default_site).unwrap();
    assert!(text.contains("listen 80 default_server;"), "{text}");
    fs::write(
        &default_site,
        text.replace(
            "listen 80 default_server;",
            &format!("listen 127.0.0.1:{plain_port} default_server;"),
        )
        .replace(
            "listen [::]:80 default_server;",
            &format!("listen [::1]:{plain_port} default_server;"),
        ),
    )
    .unwrap();
}

impl DebianHost {
    /// The copy, with the default site moved to `plain_port`; `None` (skip) without root,
    /// unshare or Debian's layout outside CI.
    fn copy(plain_port: u16) -> Option<DebianHost> {
        require("nginx")?;
        require("unshare")?;
        require("curl")?;
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        if crate::support::current_uid() != 0
            || !Path::new("/etc/nginx/sites-available/default").exists()
        {
            assert!(!in_ci, "CI must run as root on Debian's nginx layout");
            eprintln!("skipped: needs root and Debian's /etc/nginx layout");
            return None;
        }
        let root = crate::support::traversable_tempdir();
        for folder in ["etc", "run", "log", "bundle"] {
            fs::create_dir(root.path().join(folder)).unwrap();
        }
        copy_debian_nginx(&root.path().join("etc/nginx"), plain_port);
        Some(DebianHost { root })
    }

    /// The copy of /etc/nginx as this process sees it.
    fn etc(&self) -> PathBuf {
        self.root.path().join("etc/nginx")
    }

    fn bundle(&self) -> PathBuf {
        self.root.path().join("bundle")
    }

    fn log_dir(&self) -> PathBuf {
        self.root.path().join("log")
    }

    /// `program args` run where /etc/nginx is the copy.
    fn command(&self, program: &Path, args: &[String]) -> Command {
        let mut command = Command::new(require("unshare").unwrap());
        command
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(
                "set -e; mount --bind \"$1\" /etc/nginx; mount -t tmpfs tmpfs /run; \
                 mount --bind \"$2\" /var/log/nginx; shift 2; exec \"$@\"",
            )
            .arg("sh")
            .arg(self.etc())
            .arg(self.log_dir())
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, program: &Path, args: &[String], stdin: Option<&str>) -> Output {
        let mut command = self.command(program, args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command.spawn().expect("start unshare");
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// promsetup run against the copy, so its probe reads the copy's nginx.conf.
    fn promsetup(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = [
            "--non-interactive",
            "--password-stdin",
            "--domain",
            "example.com",
            "--out",
        ]
        .map(String::from)
        .to_vec();
        all.push(self.bundle().join("out").display().to_string());
        all.extend(["--log-dir".into(), "/var/log/nginx".into()]);
        all.extend(args.iter().map(|a| a.to_string()));
        let output = self.run(
            Path::new(env!("CARGO_BIN_EXE_promsetup")),
            &all,
            Some(&format!("{PASSWORD}\n")),
        );
        assert!(
            output.status.success(),
            "promsetup {all:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Copies a bundle file into the copy of /etc/nginx (what `install` would do).
    fn install(&self, name: &str, folder: &str, group: Option<&str>) {
        let target = self.etc().join(folder).join(name);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(self.bundle().join("out").join(name), &target).unwrap();
        if let Some(group) = group {
            let chgrp = Command::new("chgrp").arg(group).arg(&target).status();
            assert!(chgrp.unwrap().success());
        }
    }

    /// `nginx -t`, then nginx in the foreground, on the copy; stopped on drop.
    fn start_nginx(&self, ports: &[u16]) -> RunningNginx {
        let nginx = require("nginx").unwrap();
        let check = self.run(&nginx, &["-t".into()], None);
        assert!(
            check.status.success(),
            "nginx -t: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = self
            .command(&nginx, &["-g".into(), "daemon off;".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let running = RunningNginx { child };
        for port in ports {
            let up = (0..100).any(|_| {
                std::thread::sleep(Duration::from_millis(50));
                TcpStream::connect(("127.0.0.1", *port)).is_ok()
            });
            assert!(up, "nginx does not listen on {port}");
        }
        running
    }
}

struct RunningNginx {
    child: Child,
}

impl Drop for RunningNginx {
    fn drop(&mut self) {
        // unshare exec'd into nginx: the child is the master; TERM stops its workers too.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Another virtual host on the same TLS port: its own name and a certificate from openssl.
pub(crate) fn add_other_tls_site(etc: &Path, port: u16, include: Option<&str>, name: &str) {
    let openssl = require("openssl").expect("openssl");
    let made = Command::new(openssl)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj"])
        .arg(format!("/CN={name}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{name}"))
        // A server's certificate, not a CA's (openssl's default for -x509): clients that check
        // (rustls, Go) refuse a CA certificate as the server's own.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(etc.join(format!("{name}.key")))
        .arg("-out")
        .arg(etc.join(format!("{name}.crt")))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl req");
    let include = include
        .map(|path| format!("    include {path};\n"))
        .unwrap_or_default();
    let site = format!(
        "server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name {name};\n    \
         ssl_certificate /etc/nginx/{name}.crt;\n    ssl_certificate_key /etc/nginx/{name}.key;\n\
         {include}    location / {{\n        return 200 \"own site of {name}\\n\";\n    }}\n}}\n"
    );
    fs::write(etc.join(format!("sites-available/{name}")), site).unwrap();
    std::os::unix::fs::symlink(
        format!("/etc/nginx/sites-available/{name}"),
        etc.join(format!("sites-enabled/{name}")),
    )
    .unwrap();
}

fn over_tls(name: &str, port: u16, path: &str, extra: &[&str]) -> crate::support::CurlResult {
    let mut args: Vec<String> = vec![
        "-k".into(),
        "--resolve".into(),
        format!("{name}:{port}:127.0.0.1"),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args.push(format!("https://{name}:{port}{path}"));
    curl(args)
}

fn start_prometheus(host: &DebianHost, upstream_port: u16) -> Option<Prometheus> {
    require("prometheus")?;
    let flags = fs::read_to_string(host.bundle().join("out/prometheus.flags")).unwrap();
    let flags: Vec<String> = flags.lines().map(str::to_string).collect();
    assert!(
        flags.contains(&format!("--web.listen-address=127.0.0.1:{upstream_port}")),
        "{flags:?}"
    );
    Some(Prometheus::start(&flags, host.root.path()))
}

#[test]
fn a_site_beside_debians_default_site_and_another_virtual_host() {
    let (port, plain_port, upstream_port) = (free_port(), free_port(), free_port());
    let Some(host) = DebianHost::copy(plain_port) else {
        return;
    };
    add_other_tls_site(&host.etc(), port, None, "other.test");
    let upstream = format!("127.0.0.1:{upstream_port}");
    let (port_text, plain_text) = (port.to_string(), plain_port.to_string());
    // No --nginx-layout: the copy's nginx.conf includes sites-enabled/, so `site` is the default.
    host.promsetup(&[
        "--bind",
        "127.0.0.1",
        "--port",
        &port_text,
        "--http-port",
        &plain_text,
        "--upstream",
        &upstream,
    ]);
    let out = host.bundle().join("out");
    assert!(
        out.join("promsetup-prometheus.conf").exists() && !out.join("nginx.conf").exists(),
        "not the site layout: {:?}",
        fs::read_dir(&out).unwrap().collect::<Vec<_>>()
    );
    host.install("promsetup-prometheus.conf", "sites-available", None);
    std::os::unix::fs::symlink(
        "/etc/nginx/sites-available/promsetup-prometheus.conf",
        host.etc().join("sites-enabled/promsetup-prometheus.conf"),
    )
    .unwrap();
    host.install(".htpasswd", "", Some("www-data"));
    host.install("example.com.crt", "", None);
    host.install("example.com.key", "", None);
    let Some(_prometheus) = start_prometheus(&host, upstream_port) else {
        return;
    };
    let _nginx = host.start_nginx(&[port, plain_port]);

    let credentials = format!("admin:{PASSWORD}");
    let metrics = over_tls(
        "example.com",
        port,
        "/prometheus/metrics",
        &["-u", &credentials],
    );
    assert_eq!(metrics.status, 200, "{metrics:#?}");
    assert!(metrics.body.contains("prometheus_build_info"));
    let anonymous = over_tls("example.com", port, "/prometheus/metrics", &[]);
    assert_eq!(anonymous.status, 401, "{anonymous:#?}");
    // The other virtual host on the same port still answers, with its own content.
    let other = over_tls("other.test", port, "/", &[]);
    assert_eq!(other.status, 200, "{other:#?}");
    assert_eq!(other.body, "own site of other.test\n");
    // Debian's default site still answers on its port; our redirect takes only our name.
    let default_site = curl([format!("http://127.0.0.1:{plain_port}/")]);
    assert_eq!(default_site.status, 200, "{default_site:#?}");
    assert!(
        default_site.body.contains("Welcome to nginx"),
        "{default_site:#?}"
    );
    let redirect = curl([
        "--resolve".to_string(),
        format!("example.com:{plain_port}:127.0.0.1"),
        format!("http://example.com:{plain_port}/prometheus/graph"),
    ]);
    assert_eq!(redirect.status, 308, "{redirect:#?}");
    // Our own logs, where --log-dir said.
    assert!(
        host.log_dir()
            .join("promsetup-example.com.access.log")
            .exists()
    );
}

#[test]
fn a_snippet_inside_an_existing_tls_server_for_the_domain() {
    let (port, plain_port, upstream_port) = (free_port(), free_port(), free_port());
    let Some(host) = DebianHost::copy(plain_port) else {
        return;
    };
    let upstream = format!("127.0.0.1:{upstream_port}");
    let output = host.promsetup(&[
        "--nginx-layout",
        "snippet",
        "--upstream",
        &upstream,
        "--http-port",
        "0",
    ]);
    let locations = "/etc/nginx/snippets/promsetup-prometheus-locations.conf";
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains(&format!("include {locations};")),
        "the include line is not printed:\n{printed}"
    );
    // The host's own server for the domain, which includes the snippet.
    add_other_tls_site(&host.etc(), port, Some(locations), "example.com");
    host.install("promsetup-prometheus-locations.conf", "snippets", None);
    host.install("promsetup-prometheus-http.conf", "conf.d", None);
    host.install(".htpasswd", "", Some("www-data"));
    let Some(_prometheus) = start_prometheus(&host, upstream_port) else {
        return;
    };
    let _nginx = host.start_nginx(&[port, plain_port]);

    let credentials = format!("admin:{PASSWORD}");
    let metrics = over_tls(
        "example.com",
        port,
        "/prometheus/metrics",
        &["-u", &credentials],
    );
    assert_eq!(metrics.status, 200, "{metrics:#?}");
    assert!(metrics.body.contains("prometheus_build_info"));
    assert_eq!(
        over_tls("example.com", port, "/prometheus/metrics", &[]).status,
        401
    );
    let bare = over_tls("example.com", port, "/prometheus", &[]);
    assert_eq!(bare.status, 301, "{bare:#?}");
    assert_eq!(bare.header("location").as_deref(), Some("/prometheus/"));
    // The server's own locations still serve.
    let own = over_tls("example.com", port, "/", &[]);
    assert_eq!(own.status, 200, "{own:#?}");
    assert_eq!(own.body, "own site of example.com\n");
    let default_site = curl([format!("http://127.0.0.1:{plain_port}/")]);
    assert_eq!(default_site.status, 200, "{default_site:#?}");
}

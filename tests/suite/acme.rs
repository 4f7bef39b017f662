//! `--tls acme` end to end: Debian's pebble (Let's Encrypt's test CA) and certbot, with real
//! http-01 validation through the generated nginx's port-80 server, following the steps the
//! run reports (`acme_steps` in the JSON report) as `promsetup apply` would.
//!
//! Test-only adaptations, each needed to run on loopback without root-owned paths: pebble's
//! DNS comes from pebble-challtestsrv (every name is 127.0.0.1), pebble validates on the
//! bundle's --http-port instead of 80 (its `httpPort`), certbot gets temporary --work-dir and
//! --logs-dir, and the deploy hook signals the test's nginx instead of `nginx -s reload`
//! (which reads the system's pid file).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    Bundle, PASSWORD, Setup, Stack, USERNAME, curl, free_port, require, run_promsetup,
};

const DOMAIN: &str = "prom.example.com";

fn describe(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A child process killed (and reaped) when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(200));
    }
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// pebble with a TLS certificate of its own (Debian's package ships none), validating http-01
/// on `http_port`, and its DNS answered by pebble-challtestsrv. Returns the processes, pebble's
/// TLS certificate (for REQUESTS_CA_BUNDLE) and its management port.
fn start_pebble(work: &Path, acme_port: u16, http_port: u16) -> (Vec<Running>, PathBuf, u16) {
    let cert = work.join("pebble.crt");
    let key = work.join("pebble.key");
    let made = Command::new(require("openssl").unwrap())
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=pebble test listener"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", describe(&made));

    let dns_port = free_port();
    let challtestsrv = Command::new(require("pebble-challtestsrv").unwrap())
        .args(["-dns01", &format!("127.0.0.1:{dns_port}")])
        .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
        .args(["-management", &format!("127.0.0.1:{}", free_port())])
        .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
        .stdout(Stdio::null())
        .stderr(fs::File::create(work.join("challtestsrv.log")).unwrap())
        .spawn()
        .expect("start pebble-challtestsrv");
    let mut processes = vec![Running(challtestsrv)];

    let management_port = free_port();
    let config = work.join("pebble.json");
    fs::write(
        &config,
        serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{acme_port}"),
                "managementListenAddress": format!("127.0.0.1:{management_port}"),
                "certificate": cert,
                "privateKey": key,
                "httpPort": http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        })
        .to_string(),
    )
    .unwrap();
    let pebble = Command::new(require("pebble").unwrap())
        .arg("-config")
        .arg(&config)
        .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env("PEBBLE_AUTHZREUSE", "0")
        .stdout(fs::File::create(work.join("pebble.log")).unwrap())
        .stderr(fs::File::create(work.join("pebble.err")).unwrap())
        .spawn()
        .expect("start pebble");
    processes.push(Running(pebble));
    wait_for("pebble", Duration::from_secs(20), || listening(acme_port));
    (processes, cert, management_port)
}

/// The serial of the certificate nginx serves on `port` for the domain.
fn served_serial(port: u16) -> Option<String> {
    let s_client = Command::new(require("openssl").unwrap())
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", DOMAIN])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let mut x509 = Command::new(require("openssl").unwrap())
        .args(["x509", "-noout", "-serial"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    use std::io::Write;
    x509.stdin.take()?.write_all(&s_client.stdout).ok()?;
    let out = x509.wait_with_output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The arguments `Bundle::create` gives promsetup for this bundle (nginx checks passwords),
/// so a re-run asks for exactly the same.
fn rerun_args(bundle: &Bundle) -> Vec<String> {
    let dir = bundle.dir.display().to_string();
    let mut args: Vec<String> = [
        "--non-interactive",
        "--password-stdin",
        "--bind",
        "127.0.0.1",
        "--domain",
        &bundle.setup.domain,
        "--username",
        USERNAME,
        "--port",
        &bundle.port.to_string(),
        "--out",
        &dir,
        "--http-port",
        &bundle.http_port.unwrap().to_string(),
        "--upstream",
        &format!("127.0.0.1:{}", bundle.upstream_port),
        "--conf-dir",
        &dir,
        // As the harness made it: the site's logs stay with the test.
        "--log-dir",
        &bundle.dir.parent().unwrap().display().to_string(),
    ]
    .map(str::to_string)
    .to_vec();
    args.extend(bundle.setup.extra_args.iter().cloned());
    args
}

fn run_step(argv: &[String]) -> Output {
    let program = require(&argv[0]).unwrap_or_else(|| panic!("{} is not installed", argv[0]));
    Command::new(program)
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn certbot_gets_renews_and_keeps_a_certificate_through_the_generated_nginx() {
    for program in [
        "nginx",
        "prometheus",
        "curl",
        "openssl",
        "pebble",
        "pebble-challtestsrv",
        "certbot",
    ] {
        if require(program).is_none() {
            return;
        }
    }
    let work = tempfile::Builder::new()
        .prefix("promsetup-acme-")
        .tempdir()
        .unwrap();
    let certbot_dir = work.path().join("letsencrypt");
    // The ACME server's URL goes into the bundle's answers, and pebble validates on the bundle's
    // redirect port: pebble's ports are picked first, the bundle's next.
    let acme_port = free_port();
    let directory = format!("https://127.0.0.1:{acme_port}/dir");
    let setup = Setup {
        domain: DOMAIN.into(),
        http_redirect: true,
        extra_args: vec![
            "--tls".into(),
            "acme".into(),
            "--acme-server".into(),
            directory.clone(),
            "--acme-dir".into(),
            certbot_dir.display().to_string(),
            "--acme-email".into(),
            "ops@example.com".into(),
        ],
        ..Setup::default()
    };
    let bundle = Bundle::create(setup);
    let http_port = bundle.http_port.unwrap();
    let (_pebble, pebble_cert, management_port) = start_pebble(work.path(), acme_port, http_port);
    let conf = bundle.nginx_conf_text();
    assert!(
        conf.contains("location ^~ /.well-known/acme-challenge/"),
        "{conf}"
    );
    assert!(
        conf.contains(&format!(
            "{}/live/{DOMAIN}/fullchain.pem",
            certbot_dir.display()
        )),
        "{conf}"
    );

    // The steps, as the JSON report gives them.
    let mut json_args = rerun_args(&bundle);
    json_args.extend(["--format".into(), "json".into()]);
    let reported = run_promsetup(&json_args, Some(&format!("{PASSWORD}\n")));
    assert!(reported.status.success(), "{}", describe(&reported));
    let report: Value = serde_json::from_slice(&reported.stdout).unwrap();
    let steps: Vec<(String, Vec<String>, Option<String>)> = report["acme_steps"]
        .as_array()
        .expect("acme_steps in the report")
        .iter()
        .map(|step| {
            (
                step["phase"].as_str().unwrap().to_string(),
                step["argv"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w.as_str().unwrap().to_string())
                    .collect(),
                step["unless_exists"].as_str().map(str::to_string),
            )
        })
        .collect();
    let run_phase = |phase: &str, hook: Option<&str>| {
        for (_, argv, unless) in steps.iter().filter(|(p, _, _)| p == phase) {
            if unless
                .as_deref()
                .is_some_and(|path| Path::new(path).exists())
            {
                continue;
            }
            let mut argv = argv.clone();
            if argv[0] == "certbot" {
                let at = argv.iter().position(|a| a == "--deploy-hook").unwrap();
                argv[at + 1] = hook.unwrap().to_string();
                argv.extend([
                    "--work-dir".into(),
                    work.path().join("certbot-work").display().to_string(),
                    "--logs-dir".into(),
                    work.path().join("certbot-logs").display().to_string(),
                ]);
                let output = Command::new(require("certbot").unwrap())
                    .args(&argv[1..])
                    .env("REQUESTS_CA_BUNDLE", &pebble_cert)
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                assert!(output.status.success(), "certbot: {}", describe(&output));
            } else {
                let output = run_step(&argv);
                assert!(output.status.success(), "{argv:?}: {}", describe(&output));
            }
        }
    };
    run_phase("before-nginx", None);

    let Some(stack) = Stack::start(bundle) else {
        return;
    };
    let stand_in = served_serial(stack.bundle.port).expect("nginx serves the stand-in");
    let hook = format!("kill -HUP {}", stack.nginx.master_pid());
    run_phase("after-nginx", Some(&hook));

    // The hook reloaded nginx: it serves pebble's certificate, which curl verifies against
    // pebble's root.
    let root = work.path().join("pebble-root.pem");
    let fetched = curl([
        "-k".to_string(),
        format!("https://127.0.0.1:{management_port}/roots/0"),
    ]);
    assert_eq!(fetched.status, 200, "{}", fetched.stderr);
    fs::write(&root, &fetched.body).unwrap();
    let mut issued = String::new();
    wait_for("the issued certificate", Duration::from_secs(15), || {
        issued = served_serial(stack.bundle.port).unwrap_or_default();
        !issued.is_empty() && issued != stand_in
    });
    let healthy = |root: &Path| {
        curl([
            "--cacert".to_string(),
            root.display().to_string(),
            "--resolve".into(),
            format!("{DOMAIN}:{}:127.0.0.1", stack.bundle.port),
            "-u".into(),
            format!("{USERNAME}:{PASSWORD}"),
            format!(
                "https://{DOMAIN}:{}/prometheus/-/healthy",
                stack.bundle.port
            ),
        ])
    };
    let answer = healthy(&root);
    assert_eq!(answer.status, 200, "{} {}", answer.stderr, answer.body);

    // Renewal: certbot renew with the saved hook, a new serial served.
    let renewed = Command::new(require("certbot").unwrap())
        .args([
            "renew",
            "--force-renewal",
            "--non-interactive",
            "--no-random-sleep-on-renew",
        ])
        .arg("--config-dir")
        .arg(&certbot_dir)
        .arg("--work-dir")
        .arg(work.path().join("certbot-work"))
        .arg("--logs-dir")
        .arg(work.path().join("certbot-logs"))
        .env("REQUESTS_CA_BUNDLE", &pebble_cert)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(renewed.status.success(), "{}", describe(&renewed));
    let mut after_renewal = String::new();
    wait_for("the renewed certificate", Duration::from_secs(15), || {
        after_renewal = served_serial(stack.bundle.port).unwrap_or_default();
        !after_renewal.is_empty() && after_renewal != issued
    });

    eprintln!("served serials: stand-in {stand_in}, issued {issued}, renewed {after_renewal}");
    // A promsetup re-run with the same answers changes nothing and leaves it all working.
    let mut check = rerun_args(&stack.bundle);
    check.push("--check".to_string());
    let checked = run_promsetup(&check, Some(&format!("{PASSWORD}\n")));
    assert_eq!(checked.status.code(), Some(0), "{}", describe(&checked));
    let rerun = run_promsetup(rerun_args(&stack.bundle), Some(&format!("{PASSWORD}\n")));
    assert!(rerun.status.success(), "{}", describe(&rerun));
    let status = Command::new(require("kill").unwrap())
        .args(["-HUP", &stack.nginx.master_pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    thread::sleep(Duration::from_millis(500));
    assert_eq!(served_serial(stack.bundle.port).unwrap(), after_renewal);
    let answer = healthy(&root);
    assert_eq!(answer.status, 200, "{} {}", answer.stderr, answer.body);
    // The challenge location answers from the webroot, and everything else is redirected.
    let redirect = curl([format!("http://127.0.0.1:{http_port}/prometheus/graph")]);
    assert_eq!(redirect.status, 308);
}

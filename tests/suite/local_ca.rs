//! `--tls local-ca` and `promsetup ca`: the CA is made once and reused, its name constraints
//! hold against OpenSSL, and the clients people use (a scraping Prometheus, Chromium) trust a
//! bundle once the CA is imported, with no per-leaf step.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::support::{
    Bundle, Prometheus, ScrapeThroughProxy, Setup, Stack, require, run_promsetup,
    traversable_tempdir,
};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// A bundle for `domain` in `root/NAME` signed by the CA in `ca_dir`.
fn local_ca_bundle(root: &Path, name: &str, domain: &str, ca_dir: &Path, extra: &[&str]) -> Output {
    let out = root.join(name);
    let mut args = vec![
        "--non-interactive",
        "--domain",
        domain,
        "--tls",
        "local-ca",
        "--ca-dir",
        ca_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--conf-dir",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    run_promsetup(&args, None)
}

fn openssl_verify(ca: &Path, leaf: &Path) -> Output {
    Command::new(require("openssl").unwrap())
        .args(["verify", "-CAfile"])
        .arg(ca)
        .arg(leaf)
        .output()
        .expect("run openssl verify")
}

fn openssl(args: &[&str], dir: &Path) {
    let output = Command::new(require("openssl").unwrap())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        describe(&output)
    );
}

/// A leaf for `san` (e.g. `DNS:evil.example`) signed with the CA's own key by OpenSSL, not by
/// promsetup: whatever signs it, the CA's constraints must refuse a name it was not made for.
fn leaf_signed_with_ca_key(ca_dir: &Path, work: &Path, name: &str, san: &str) -> PathBuf {
    let ca = ca_dir.join("ca.crt");
    let ca_key = ca_dir.join("ca.key");
    fs::write(
        work.join(format!("{name}.ext")),
        format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName={san}\n"
        ),
    )
    .unwrap();
    openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN={name}"),
            "-out",
            &format!("{name}.csr"),
        ],
        work,
    );
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            ca.to_str().unwrap(),
            "-CAkey",
            ca_key.to_str().unwrap(),
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ],
        work,
    );
    work.join(format!("{name}.crt"))
}

#[test]
fn openssl_accepts_the_leaf_and_refuses_names_outside_the_constraints() {
    if require("openssl").is_none() {
        return;
    }
    let root = TempDir::new().unwrap();
    let ca_dir = root.path().join("ca");
    let made = local_ca_bundle(root.path(), "b", "prom.example.com", &ca_dir, &[]);
    assert!(made.status.success(), "{}", describe(&made));
    let ca = ca_dir.join("ca.crt");
    let key_mode = fs::metadata(ca_dir.join("ca.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(key_mode, 0o600);
    let bundle_copy = root.path().join("b/promsetup-ca.crt");
    assert_eq!(fs::read(&bundle_copy).unwrap(), fs::read(&ca).unwrap());

    let leaf = root.path().join("b/prom.example.com.crt");
    let ok = openssl_verify(&ca, &leaf);
    assert!(ok.status.success(), "{}", describe(&ok));
    assert!(text(&ok.stdout).contains(": OK"), "{}", describe(&ok));

    // The control: OpenSSL accepts a leaf made the same way for a permitted name (one under
    // it), so the refusals below are the constraints' doing, not the recipe's.
    let under = leaf_signed_with_ca_key(&ca_dir, root.path(), "under", "DNS:a.prom.example.com");
    let accepted = openssl_verify(&ca, &under);
    assert!(accepted.status.success(), "{}", describe(&accepted));

    for (name, san) in [
        ("evil", "DNS:evil.example"),
        ("parent", "DNS:example.com"),
        ("address", "IP:127.0.0.1"),
    ] {
        let outside = leaf_signed_with_ca_key(&ca_dir, root.path(), name, san);
        let refused = openssl_verify(&ca, &outside);
        assert!(
            !refused.status.success(),
            "{san} passed: {}",
            describe(&refused)
        );
        let said = text(&refused.stdout) + &text(&refused.stderr);
        assert!(
            said.contains("subtree violation") || said.contains("excluded subtree"),
            "{san}: {said}"
        );
    }
}

#[test]
fn a_rerun_changes_nothing_and_a_second_domain_reuses_and_widens_the_ca() {
    if require("openssl").is_none() {
        return;
    }
    let root = TempDir::new().unwrap();
    let ca_dir = root.path().join("ca");
    let first = local_ca_bundle(root.path(), "one", "one.example", &ca_dir, &[]);
    assert!(first.status.success(), "{}", describe(&first));
    assert!(text(&first.stdout).contains("Trust it once on each client"));
    let key_before = fs::read(ca_dir.join("ca.key")).unwrap();
    let ca_before = fs::read(ca_dir.join("ca.crt")).unwrap();
    fs::write(root.path().join("ca-before.crt"), &ca_before).unwrap();

    let check = local_ca_bundle(root.path(), "one", "one.example", &ca_dir, &["--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", describe(&check));

    let second = local_ca_bundle(root.path(), "two", "two.example", &ca_dir, &[]);
    assert!(second.status.success(), "{}", describe(&second));
    assert!(
        text(&second.stdout).contains("reissued to also sign for two.example"),
        "{}",
        describe(&second)
    );
    assert_eq!(
        fs::read(ca_dir.join("ca.key")).unwrap(),
        key_before,
        "same key"
    );
    assert_ne!(fs::read(ca_dir.join("ca.crt")).unwrap(), ca_before);
    assert_eq!(fs::read(ca_dir.join("ca.crt.bak")).unwrap(), ca_before);

    let ca = ca_dir.join("ca.crt");
    for leaf in ["one/one.example.crt", "two/two.example.crt"] {
        let verified = openssl_verify(&ca, &root.path().join(leaf));
        assert!(verified.status.success(), "{leaf}: {}", describe(&verified));
    }
    // A client that imported the CA before it was widened refuses the new name: the run said
    // so, and this is why.
    let narrow = openssl_verify(
        &root.path().join("ca-before.crt"),
        &root.path().join("two/two.example.crt"),
    );
    assert!(!narrow.status.success(), "{}", describe(&narrow));

    // The first bundle keeps its leaf; only its copy of the CA is out of date.
    let leaf_one = fs::read(root.path().join("one/one.example.crt")).unwrap();
    let check = local_ca_bundle(root.path(), "one", "one.example", &ca_dir, &["--check"]);
    assert_eq!(check.status.code(), Some(3), "{}", describe(&check));
    let out = text(&check.stdout);
    assert!(
        out.lines()
            .filter(|line| !line.contains("up to date"))
            .any(|line| line.contains("promsetup-ca.crt")),
        "{out}"
    );
    let rerun = local_ca_bundle(root.path(), "one", "one.example", &ca_dir, &["--force"]);
    assert!(rerun.status.success(), "{}", describe(&rerun));
    assert_eq!(
        fs::read(root.path().join("one/one.example.crt")).unwrap(),
        leaf_one
    );
    assert_eq!(
        fs::read(root.path().join("one/promsetup-ca.crt")).unwrap(),
        fs::read(&ca).unwrap()
    );
}

#[test]
fn ca_show_export_and_rotate() {
    let root = TempDir::new().unwrap();
    let ca_dir = root.path().join("ca");
    let ca_arg = ca_dir.to_str().unwrap();
    let none = run_promsetup(["ca", "show", "--ca-dir", ca_arg], None);
    assert_eq!(none.status.code(), Some(1), "{}", describe(&none));
    assert!(text(&none.stderr).contains("no CA"), "{}", describe(&none));

    let made = local_ca_bundle(root.path(), "b", "prom.example.com", &ca_dir, &[]);
    assert!(made.status.success(), "{}", describe(&made));
    let show = run_promsetup(["ca", "show", "--ca-dir", ca_arg], None);
    assert!(show.status.success(), "{}", describe(&show));
    let shown = text(&show.stdout);
    for expected in [
        "may sign for prom.example.com",
        "update-ca-certificates",
        "update-ca-trust",
        "certutil -d sql:$HOME/.pki/nssdb -A -t C,,",
        "security add-trusted-cert",
        "certutil -addstore -f Root",
        "ca_file:",
        "tlsCACert",
    ] {
        assert!(shown.contains(expected), "{expected} missing:\n{shown}");
    }

    let exported = run_promsetup(["ca", "export", "--ca-dir", ca_arg], None);
    assert!(exported.status.success());
    assert_eq!(exported.stdout, fs::read(ca_dir.join("ca.crt")).unwrap());
    let file = root.path().join("exported.crt");
    let to_file = run_promsetup(
        ["ca", "export", file.to_str().unwrap(), "--ca-dir", ca_arg],
        None,
    );
    assert!(to_file.status.success(), "{}", describe(&to_file));
    assert_eq!(
        fs::read(&file).unwrap(),
        fs::read(ca_dir.join("ca.crt")).unwrap()
    );

    let key_before = fs::read(ca_dir.join("ca.key")).unwrap();
    let rotated = run_promsetup(["ca", "rotate", "--ca-dir", ca_arg], None);
    assert!(rotated.status.success(), "{}", describe(&rotated));
    assert_ne!(fs::read(ca_dir.join("ca.key")).unwrap(), key_before);
    assert_eq!(fs::read(ca_dir.join("ca.key.bak")).unwrap(), key_before);
    assert!(text(&rotated.stdout).contains("may sign for prom.example.com"));
    // The bundle's leaf is the old CA's: a re-run replaces it with one of the new CA.
    let check = local_ca_bundle(root.path(), "b", "prom.example.com", &ca_dir, &["--check"]);
    assert_eq!(check.status.code(), Some(3), "{}", describe(&check));
    let rerun = local_ca_bundle(root.path(), "b", "prom.example.com", &ca_dir, &["--force"]);
    assert!(rerun.status.success(), "{}", describe(&rerun));
    if require("openssl").is_some() {
        let verified = openssl_verify(
            &ca_dir.join("ca.crt"),
            &root.path().join("b/prom.example.com.crt"),
        );
        assert!(verified.status.success(), "{}", describe(&verified));
    }

    // A key others may read is refused, not used or replaced.
    fs::set_permissions(ca_dir.join("ca.key"), fs::Permissions::from_mode(0o644)).unwrap();
    let refused = local_ca_bundle(root.path(), "c", "c.example", &ca_dir, &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    assert!(text(&refused.stderr).contains("may be read by others"));
}

#[test]
fn the_default_ca_folder_is_in_the_users_data_folder() {
    let root = TempDir::new().unwrap();
    let data = root.path().join("data");
    let out = root.path().join("b");
    let output = crate::support::promsetup_command()
        .env("HOME", root.path())
        .env("XDG_DATA_HOME", &data)
        .args([
            "--non-interactive",
            "--domain",
            "prom.example.com",
            "--tls",
            "local-ca",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    assert!(data.join("promsetup/ca/ca.crt").is_file());
    assert!(data.join("promsetup/ca/ca.key").is_file());
}

/// A bundle served by real nginx and Prometheus, signed by a CA in a folder of its own.
fn served(domain: &str, ca_dir: &Path) -> Option<Stack> {
    let setup = Setup {
        domain: domain.to_string(),
        extra_args: vec![
            "--tls".into(),
            "local-ca".into(),
            "--ca-dir".into(),
            ca_dir.display().to_string(),
            "--public-healthcheck".into(),
        ],
        ..Setup::default()
    };
    Stack::start(Bundle::create(setup))
}

#[test]
fn a_scraping_prometheus_trusts_the_bundle_through_the_ca_alone() {
    let ca_home = TempDir::new().unwrap();
    let Some(stack) = served("prom.example.com", ca_home.path()) else {
        return;
    };
    let ca = stack.bundle.dir.join("promsetup-ca.crt");
    let target = format!("127.0.0.1:{}", stack.bundle.port);
    let metrics_path = stack.bundle.path("/metrics");
    let scrape = ScrapeThroughProxy {
        target: &target,
        scheme: "https",
        metrics_path: &metrics_path,
        username: &stack.bundle.username,
        password: &stack.bundle.password,
        ca_file: Some(&ca),
        server_name: Some("prom.example.com"),
    };
    let scraper = Prometheus::start_scraper(&scrape, stack.bundle.workdir());
    scraper.wait_target_up().unwrap_or_else(|last| {
        panic!(
            "the Go client did not trust the CA: {last}\n{}",
            scraper.diagnostics()
        )
    });
}

/// Chromium, headless, with `home`'s NSS database, loading `url` (its host mapped to
/// loopback): the DOM it dumps, and its log.
fn chromium_dump(home: &Path, host: &str, url: &str) -> (String, String) {
    let profile = home.join("profile");
    let output = Command::new(require("chromium").unwrap())
        .env("HOME", home)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--host-resolver-rules=MAP {host} 127.0.0.1"))
        .args(["--dump-dom", url])
        .output()
        .expect("run chromium");
    (text(&output.stdout), text(&output.stderr))
}

fn nss_database_with(home: &Path, ca: Option<&Path>) {
    let db = home.join(".pki/nssdb");
    fs::create_dir_all(&db).unwrap();
    let database = format!("sql:{}", db.display());
    let certutil = require("certutil").unwrap();
    let made = Command::new(&certutil)
        .args(["-N", "-d", &database, "--empty-password"])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", describe(&made));
    if let Some(ca) = ca {
        // What the trust steps print: the CA as an authority for servers.
        let added = Command::new(&certutil)
            .args([
                "-d",
                &database,
                "-A",
                "-t",
                "C,,",
                "-n",
                "promsetup local CA",
                "-i",
            ])
            .arg(ca)
            .output()
            .unwrap();
        assert!(added.status.success(), "{}", describe(&added));
    }
}

#[test]
fn chromium_with_the_ca_imported_as_an_authority_loads_the_ui() {
    if require("chromium").is_none() || require("certutil").is_none() {
        return;
    }
    let ca_home = TempDir::new().unwrap();
    let domain = "prom.example.com";
    let Some(stack) = served(domain, ca_home.path()) else {
        return;
    };
    let ca = stack.bundle.dir.join("promsetup-ca.crt");
    let origin = format!("https://{domain}:{}", stack.bundle.port);
    let healthy = format!("{origin}{}", stack.bundle.path("/-/healthy"));

    let trusting = traversable_tempdir();
    nss_database_with(trusting.path(), Some(&ca));
    let (dom, log) = chromium_dump(trusting.path(), domain, &healthy);
    assert!(dom.contains("Healthy"), "DOM:\n{dom}\nlog:\n{log}");
    assert!(!log.contains("ERR_CERT"), "{log}");

    // The UI itself, signed in with the credentials in the URL.
    let user_info = format!(
        "{}:{}",
        stack.bundle.username,
        stack
            .bundle
            .password
            .replace('%', "%25")
            .replace(' ', "%20")
            .replace('#', "%23")
            .replace(':', "%3A")
    );
    let graph = format!(
        "https://{user_info}@{domain}:{}{}",
        stack.bundle.port,
        stack.bundle.path("/graph")
    );
    let (dom, log) = chromium_dump(trusting.path(), domain, &graph);
    assert!(
        dom.contains("<title>Prometheus"),
        "DOM:\n{dom}\nlog:\n{log}"
    );
    assert!(!log.contains("ERR_CERT"), "{log}");

    // The control: without the CA, the same page fails on the certificate.
    let stranger = traversable_tempdir();
    nss_database_with(stranger.path(), None);
    let (dom, log) = chromium_dump(stranger.path(), domain, &healthy);
    assert!(!dom.contains("Healthy"), "loaded without the CA:\n{dom}");
    assert!(log.contains("ERR_CERT_AUTHORITY_INVALID"), "{log}");
}

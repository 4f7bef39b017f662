//! Your own certificate (`--tls-cert`/`--tls-key`): the report carries its subject, names and
//! expiry, and switching to it from the self-signed default takes the self-signed pair out of
//! the bundle (kept as NAME.bak).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{require, run_promsetup};

fn describe(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A certificate for `names` (the first is the CN) and its PKCS#8 key, made by OpenSSL.
fn own_pair(dir: &Path, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
    let certificate = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}-key.pem"));
    let san: Vec<String> = names.iter().map(|name| format!("DNS:{name}")).collect();
    let output = Command::new(require("openssl").unwrap())
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes",
            "-days",
            "30",
            "-subj",
            &format!("/CN={}", names[0]),
        ])
        .args(["-addext", &format!("subjectAltName={}", san.join(","))])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    (certificate, key)
}

fn setup_run(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--non-interactive",
        "--domain",
        "prom.example.com",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    run_promsetup(&args, None)
}

#[test]
fn switching_to_your_own_certificate_reports_it_and_retires_the_self_signed_pair() {
    if require("openssl").is_none() {
        return;
    }
    let root = TempDir::new().unwrap();
    let out = root.path().join("bundle");
    let first = setup_run(&out, &[]);
    assert!(first.status.success(), "{}", describe(&first));
    let old_key = fs::read(out.join("prom.example.com.key")).unwrap();

    let (certificate, key) = own_pair(
        root.path(),
        "own",
        &["prom.example.com", "www.prom.example.com"],
    );
    let own = [
        "--tls-cert",
        certificate.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    let mut check_args = own.to_vec();
    check_args.push("--check");
    let check = setup_run(&out, &check_args);
    assert_eq!(check.status.code(), Some(3), "{}", describe(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("prom.example.com.key  would be removed"),
        "{}",
        describe(&check)
    );
    assert!(
        out.join("prom.example.com.key").exists(),
        "--check removed a file"
    );

    let mut args = own.to_vec();
    args.extend(["--force", "--format", "json"]);
    let switched = setup_run(&out, &args);
    assert!(switched.status.success(), "{}", describe(&switched));
    let report: Value = serde_json::from_slice(&switched.stdout).unwrap();
    let reported = &report["certificate"];
    assert_eq!(reported["path"], certificate.to_str().unwrap());
    assert_eq!(reported["subject"], "CN=prom.example.com");
    assert_eq!(
        reported["subject_alt_names"],
        serde_json::json!(["prom.example.com", "www.prom.example.com"])
    );
    let not_after = reported["not_after"].as_str().unwrap();
    let expected = Command::new(require("openssl").unwrap())
        .args(["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in"])
        .arg(&certificate)
        .output()
        .unwrap();
    // openssl: "notAfter=2027-01-01 12:00:00Z"; the report: "2027-01-01T12:00:00Z".
    let expected = String::from_utf8_lossy(&expected.stdout)
        .trim()
        .trim_start_matches("notAfter=")
        .replace(' ', "T");
    assert_eq!(not_after, expected);

    for name in ["prom.example.com.crt", "prom.example.com.key"] {
        assert!(!out.join(name).exists(), "{name} is still in the bundle");
        assert!(
            out.join(format!("{name}.bak")).exists(),
            "{name}.bak missing"
        );
    }
    assert_eq!(
        fs::read(out.join("prom.example.com.key.bak")).unwrap(),
        old_key
    );
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("removed"), "{warnings}");

    // The run is complete: the same answers change nothing now.
    let again = setup_run(&out, &check_args);
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));

    // The text report names it too.
    let mut args = own.to_vec();
    args.push("--force");
    let text = setup_run(&out, &args);
    let said = String::from_utf8_lossy(&text.stdout);
    assert!(
        said.contains(&format!(
            "Your certificate {}: CN=prom.example.com, for prom.example.com, \
             www.prom.example.com, valid until {not_after}",
            certificate.display()
        )),
        "{said}"
    );
}

#[test]
fn your_certificate_kept_in_the_bundle_folder_under_the_self_signed_name_is_never_removed() {
    if require("openssl").is_none() {
        return;
    }
    let root = TempDir::new().unwrap();
    let out = root.path().join("bundle");
    let first = setup_run(&out, &[]);
    assert!(first.status.success(), "{}", describe(&first));
    // The user replaced the self-signed pair with their own, in place, under the same names.
    let (certificate, key) = own_pair(root.path(), "own", &["prom.example.com"]);
    fs::copy(&certificate, out.join("prom.example.com.crt")).unwrap();
    fs::copy(&key, out.join("prom.example.com.key")).unwrap();
    let in_bundle_cert = out.join("prom.example.com.crt");
    let in_bundle_key = out.join("prom.example.com.key");
    let switched = setup_run(
        &out,
        &[
            "--tls-cert",
            in_bundle_cert.to_str().unwrap(),
            "--tls-key",
            in_bundle_key.to_str().unwrap(),
            "--force",
        ],
    );
    assert!(switched.status.success(), "{}", describe(&switched));
    assert_eq!(
        fs::read(&in_bundle_cert).unwrap(),
        fs::read(&certificate).unwrap()
    );
    assert!(in_bundle_key.exists());
}

//! Configuration management: re-runs that change nothing, `--check` and its exit codes,
//! `--diff` with secrets masked, the JSON report against its documented schema, and answers
//! files (`--config`).

#![allow(clippy::disallowed_methods)] // tests arrange files by hand

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn promsetup(out: &Path, password: Option<&str>, extra: &[&str]) -> Output {
    let mut command = assert_cmd::Command::cargo_bin("promsetup").unwrap();
    command
        .env_remove("PROMSETUP_PASSWORD")
        // A whole nginx.conf whatever this host's nginx includes (the default would follow it).
        .args(["--nginx-layout", "full"])
        .args(["--non-interactive", "--domain", "example.com", "--out"])
        .arg(out)
        .args(extra);
    if let Some(password) = password {
        command
            .arg("--password-stdin")
            .write_stdin(format!("{password}\n"));
    }
    command.output().unwrap()
}

fn ok(output: Output) -> Output {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Every file of the folder with its bytes, mode and modification time to the nanosecond.
fn state(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32, i64, i64)> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                (
                    fs::read(entry.path()).unwrap(),
                    meta.mode(),
                    meta.mtime(),
                    meta.mtime_nsec(),
                ),
            )
        })
        .collect()
}

fn changed_files(
    before: &BTreeMap<String, (Vec<u8>, u32, i64, i64)>,
    after: &BTreeMap<String, (Vec<u8>, u32, i64, i64)>,
) -> Vec<String> {
    after
        .iter()
        .filter(|(name, now)| before.get(*name) != Some(now))
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn two_identical_runs_leave_the_folder_byte_for_byte_and_time_for_time_unchanged() {
    for extra in [
        &[][..],
        &[
            "--auth",
            "prometheus",
            "--prometheus-dir",
            "/etc/prometheus",
        ][..],
        &["--no-tls"][..],
    ] {
        for password in [None, Some("a long enough typed password")] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("bundle");
            ok(promsetup(&out, password, extra));
            let before = state(&out);
            std::thread::sleep(std::time::Duration::from_millis(20));
            let second = ok(promsetup(&out, password, extra));
            assert_eq!(state(&out), before, "{extra:?} {password:?}");
            let stdout = String::from_utf8_lossy(&second.stdout);
            assert!(
                !stdout.contains("(created)") && !stdout.contains("(replaced"),
                "{stdout}"
            );
        }
    }
}

#[test]
fn changing_one_answer_rewrites_only_the_files_it_affects() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    ok(promsetup(&out, Some("first password"), &[]));
    let before = state(&out);

    // Without --force, a file that would change is a conflict, and nothing is written.
    let refused = promsetup(&out, Some("first password"), &["--port", "8443"]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(state(&out), before);

    ok(promsetup(
        &out,
        Some("first password"),
        &["--port", "8443", "--force"],
    ));
    let after = state(&out);
    let mut changed = changed_files(&before, &after);
    changed.sort();
    assert_eq!(
        changed,
        vec![
            // The install plan records the external URL, which names the port.
            "install-plan.json",
            "nginx.conf",
            "nginx.conf.bak",
            "prometheus.flags",
            "prometheus.flags.bak"
        ]
    );

    // A new password changes the hash line and nothing else.
    let before = after;
    ok(promsetup(
        &out,
        Some("second password"),
        &["--port", "8443", "--force"],
    ));
    let changed = changed_files(&before, &state(&out));
    assert_eq!(changed, vec![".htpasswd", ".htpasswd.bak"]);
}

#[test]
fn other_users_lines_survive_a_re_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    ok(promsetup(&out, Some("the admin password"), &[]));
    let htpasswd = out.join(".htpasswd");
    let mut text = fs::read_to_string(&htpasswd).unwrap();
    text.push_str("grafana:$apr1$abcdefgh$0123456789abcdefghijkl\n");
    fs::write(&htpasswd, &text).unwrap();
    let before = state(&out);
    ok(promsetup(&out, Some("the admin password"), &[]));
    assert_eq!(
        state(&out),
        before,
        "the hand-added user is kept and nothing changes"
    );
}

#[test]
fn a_certificate_near_expiry_is_renewed_and_otherwise_kept() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    ok(promsetup(
        &out,
        Some("pw-pw-pw-pw-pw-pw"),
        &["--days", "30"],
    ));
    let certificate = fs::read(out.join("example.com.crt")).unwrap();
    ok(promsetup(
        &out,
        Some("pw-pw-pw-pw-pw-pw"),
        &["--days", "30", "--renew-days", "7"],
    ));
    assert_eq!(fs::read(out.join("example.com.crt")).unwrap(), certificate);
    // 30 days of life left is within 31 days of expiry: time to renew.
    let renewed = ok(promsetup(
        &out,
        Some("pw-pw-pw-pw-pw-pw"),
        &["--days", "30", "--renew-days", "31", "--force"],
    ));
    assert_ne!(fs::read(out.join("example.com.crt")).unwrap(), certificate);
    assert!(String::from_utf8_lossy(&renewed.stdout).contains("example.com.key  (replaced"));
}

#[test]
fn check_exits_0_when_up_to_date_3_when_a_run_would_change_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let missing = promsetup(&out, Some("pw"), &["--check"]);
    assert_eq!(missing.status.code(), Some(3));
    assert!(!out.exists(), "--check wrote something");

    ok(promsetup(&out, Some("a good password here"), &[]));
    let before = state(&out);
    let check = |password: &str, extra: &[&str]| {
        let args: Vec<&str> = ["--check"].iter().chain(extra).copied().collect();
        promsetup(&out, Some(password), &args).status.code()
    };
    assert_eq!(check("a good password here", &[]), Some(0));
    assert_eq!(check("another password!!", &[]), Some(3));
    assert_eq!(check("a good password here", &["--prefix", "/p"]), Some(3));
    assert_eq!(check("a good password here", &["--port", "0"]), Some(2));
    assert_eq!(state(&out), before);
}

#[test]
fn diff_shows_what_would_change_with_hashes_and_keys_masked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    ok(promsetup(&out, Some("a good password here"), &[]));
    let old_hash_line = fs::read_to_string(out.join(".htpasswd")).unwrap();
    let output = promsetup(
        &out,
        Some("a different password"),
        &["--diff", "--prefix", "/monitoring", "--renew-days", "400"],
    );
    assert_eq!(output.status.code(), Some(3));
    let diff = String::from_utf8_lossy(&output.stdout);
    assert!(diff.contains("-        location /prometheus/ {"), "{diff}");
    assert!(diff.contains("+        location /monitoring/ {"), "{diff}");
    assert!(diff.contains("-admin:$2y$05$<hash "), "{diff}");
    assert!(diff.contains("+admin:$2y$05$<hash "), "{diff}");
    let old_hash = old_hash_line.trim_end().split_once(':').unwrap().1;
    assert!(!diff.contains(old_hash), "a hash leaked into the diff");
    assert!(!diff.contains("PRIVATE KEY-----"), "{diff}");
    assert!(
        diff.contains("example.com.key\n(secret: contents not shown)"),
        "{diff}"
    );
    assert!(diff.contains("<CERTIFICATE sha256:"), "{diff}");
}

/// A validator for the part of JSON Schema that docs/report-schema.json uses: type (one or a
/// list), enum, pattern (anchored character classes only), required, properties,
/// additionalProperties: false, items.
fn validate(schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !allowed.contains(&actual) {
            errors.push(format!("{at}: {actual} is not {allowed:?}"));
            return errors;
        }
    }
    if let Some(Value::Array(options)) = schema.get("enum")
        && !options.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let (Some(Value::String(pattern)), Value::String(text)) = (schema.get("pattern"), value) {
        let ok = match pattern.as_str() {
            "^0[0-7]{3}$" => {
                text.len() == 4
                    && text.starts_with('0')
                    && text.chars().all(|c| ('0'..='7').contains(&c))
            }
            "^[0-9a-f]{64}$" => {
                text.len() == 64
                    && text
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            }
            other => panic!("the test validator does not know the pattern {other}"),
        };
        if !ok {
            errors.push(format!("{at}: {text:?} does not match {pattern}"));
        }
    }
    if let Value::Object(object) = value {
        if let Some(Value::Array(required)) = schema.get("required") {
            for key in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(key) {
                    errors.push(format!("{at}: missing {key}"));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, item) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => errors.extend(validate(sub, item, &format!("{at}.{key}"))),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: unexpected key {key}"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Value::Array(array)) = (schema.get("items"), value) {
        for (index, item) in array.iter().enumerate() {
            errors.extend(validate(items, item, &format!("{at}[{index}]")));
        }
    }
    errors
}

fn schema() -> Value {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-schema.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_schema_validator_catches_a_wrong_document() {
    let wrong = serde_json::json!({"format_version": 2, "check": "no", "files": [{"path": 1}], "extra": true});
    let errors = validate(&schema(), &wrong, "$");
    for expected in [
        "format_version",
        "check",
        "missing changed",
        "path",
        "unexpected key extra",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{expected} not caught: {errors:#?}"
        );
    }
}

#[test]
fn the_json_report_is_one_document_that_validates_against_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let cases: [(&[&str], bool); 4] = [
        (&["--format", "json"], false),
        (&["--format", "json"], false),
        (&["--format", "json", "--check", "--port", "8443"], true),
        (&["--format", "json", "--no-tls", "--force"], false),
    ];
    let mut documents = Vec::new();
    for (extra, check) in cases {
        let output = promsetup(&out, Some("a good password here"), extra);
        let code = output.status.code();
        assert!(
            code == Some(0) || (check && code == Some(3)),
            "{extra:?}: {code:?} {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let document: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{extra:?}: not one JSON document ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        });
        let errors = validate(&schema(), &document, "$");
        assert!(errors.is_empty(), "{extra:?}: {errors:#?}");
        assert_eq!(document["check"], Value::Bool(check));
        documents.push(document);
    }
    let statuses = |d: &Value| -> Vec<String> {
        d["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(statuses(&documents[0]).iter().all(|s| s == "created"));
    assert!(statuses(&documents[1]).iter().all(|s| s == "unchanged"));
    assert_eq!(documents[1]["changed"], Value::Bool(false));
    assert!(statuses(&documents[2]).contains(&"updated".to_string()));
    assert!(
        documents[0]["certificate"]["not_after"]
            .as_str()
            .unwrap()
            .starts_with("20")
    );
    assert_eq!(documents[3]["certificate"], Value::Null);
    // The sha256 is that of the file as written.
    let first = &documents[3]["files"][0];
    let path = first["path"].as_str().unwrap();
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(first["sha256"].as_str().unwrap(), digest);
}

#[test]
fn an_answers_file_gives_every_answer_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("answers.toml");
    fs::write(
        &config,
        "domain = \"prom.example.com\"\nport = \"8443\"\nprefix = \"/ops\"\nout = \"bundle\"\nauth = \"prometheus\"\nprometheus-dir = \"/srv/prom\"\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        assert_cmd::Command::cargo_bin("promsetup")
            .unwrap()
            .env_remove("PROMSETUP_PASSWORD")
            .args(["--non-interactive", "--config"])
            .arg(&config)
            .args(["--password-stdin"])
            .args(extra)
            .write_stdin("a good password here\n")
            .output()
            .unwrap()
    };
    ok(run(&[]));
    let out = dir.path().join("bundle");
    let flags = fs::read_to_string(out.join("prometheus.flags")).unwrap();
    assert!(
        flags.contains("--web.external-url=https://prom.example.com:8443/ops/"),
        "{flags}"
    );
    assert!(
        flags.contains("--web.config.file=/srv/prom/web.yml"),
        "{flags}"
    );

    ok(run(&["--port", "9443", "--force"]));
    let flags = fs::read_to_string(out.join("prometheus.flags")).unwrap();
    assert!(
        flags.contains("https://prom.example.com:9443/ops/"),
        "flag wins: {flags}"
    );
}

#[test]
fn a_bad_answers_file_names_the_file_and_key_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (text, expected) in [
        (
            "domain = \"example.com;\"\nout = \"b\"\n",
            "domain: it contains ';'",
        ),
        (
            "domain = \"example.com\"\npassword = \"hunter2\"\n",
            "--password-stdin",
        ),
        ("domain = \"example.com\"\ncolour = \"red\"\n", "colour"),
        (
            "domain = \"example.com\"\ntls = \"maybe\"\n",
            "tls: 'maybe'",
        ),
        ("domain = [\n", "answers.toml"),
    ] {
        let config = dir.path().join("answers.toml");
        fs::write(&config, text).unwrap();
        let output = assert_cmd::Command::cargo_bin("promsetup")
            .unwrap()
            .args(["--non-interactive", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(expected), "{text}: {stderr}");
        assert!(
            stderr.contains("answers.toml"),
            "{text}: names the file: {stderr}"
        );
        assert!(!stderr.contains("hunter2"));
        assert!(!dir.path().join("b").exists());
    }
}

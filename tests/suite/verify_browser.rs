//! A headless browser sees what a user sees (issue 11): Debian's Chromium loads Prometheus's
//! UI through the prefix with basic auth and the bundle's certificate trusted through an NSS
//! database in a fresh HOME (a peer certificate, `-t P,,`; never --ignore-certificate-errors),
//! runs the query `up`, and every request it makes, recorded in its net log, stays inside the
//! prefix and ends in 2xx or 3xx. Under CI=true a missing chromium or certutil fails.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{Bundle, PASSWORD, Setup, Stack, USERNAME, require};

/// `%`-encodes everything but unreserved characters, for the URL's user info.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The requests of a Chromium net log: for each request (its source id), the URLs it asked
/// for and the status lines it got, in order.
fn requests_of(net_log: &Path) -> BTreeMap<u64, (Vec<String>, Vec<String>)> {
    let text = fs::read_to_string(net_log).expect("read the net log");
    // Chromium may leave the last event list unterminated when it is killed: close it.
    let log: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .expect("the net log is JSON");
    let types = &log["constants"]["logEventTypes"];
    let type_id = |name: &str| types[name].as_u64().unwrap_or(u64::MAX);
    let (start_job, headers) = (
        type_id("URL_REQUEST_START_JOB"),
        type_id("HTTP_TRANSACTION_READ_RESPONSE_HEADERS"),
    );
    let mut requests: BTreeMap<u64, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for event in log["events"].as_array().into_iter().flatten() {
        let id = event["source"]["id"].as_u64().unwrap_or_default();
        let kind = event["type"].as_u64().unwrap_or_default();
        if kind == start_job
            && let Some(url) = event["params"]["url"].as_str()
        {
            requests.entry(id).or_default().0.push(url.to_string());
        } else if kind == headers
            && let Some(status) = event["params"]["headers"][0].as_str()
        {
            requests.entry(id).or_default().1.push(status.to_string());
        }
    }
    requests
}

#[test]
fn chromium_loads_the_ui_through_the_prefix_and_every_request_stays_inside() {
    let Some(chromium) = require("chromium") else {
        return;
    };
    let Some(certutil) = require("certutil") else {
        return;
    };
    let Some(stack) = Stack::start(Bundle::create(Setup::with_domain("127.0.0.1"))) else {
        return;
    };
    let bundle = &stack.bundle;
    // The query's answer needs one scrape of Prometheus by itself.
    stack
        .prometheus
        .wait_target_up()
        .unwrap_or_else(|why| panic!("Prometheus did not scrape itself: {why}"));
    let home = tempfile::tempdir().unwrap();
    let nssdb = home.path().join(".pki/nssdb");
    fs::create_dir_all(&nssdb).unwrap();
    let db = format!("sql:{}", nssdb.display());
    for args in [
        vec!["-N", "-d", &db, "--empty-password"],
        vec![
            "-A",
            "-d",
            &db,
            "-t",
            "P,,",
            "-n",
            "promsetup",
            "-i",
            bundle.cert().to_str().unwrap(),
        ],
    ] {
        let output = Command::new(&certutil).args(&args).output().unwrap();
        assert!(output.status.success(), "certutil {args:?}: {output:?}");
    }
    let profile = home.path().join("profile");
    let net_log = home.path().join("net-log.json");
    let origin = bundle.origin();
    let prefix = format!("{}/", bundle.prefix());
    let authority = origin.split_once("://").unwrap().1;
    let page = format!(
        "https://{}:{}@{authority}{prefix}graph?g0.expr=up&g0.tab=1",
        percent_encoded(USERNAME),
        percent_encoded(PASSWORD)
    );
    let mut child = Command::new(&chromium)
        .env("HOME", home.path())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg(&page)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Bounded: a browser that hangs is killed and the test fails.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = child.wait_with_output().unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    let said = String::from_utf8_lossy(&output.stderr);

    let requests = requests_of(&net_log);
    let ours: Vec<&(Vec<String>, Vec<String>)> = requests
        .values()
        .filter(|(urls, _)| urls.iter().any(|u| u.starts_with(&origin)))
        .collect();
    assert!(
        ours.len() >= 3,
        "chromium made too few requests to {origin} (page, scripts, query): {requests:#?}\n{said}"
    );
    let mut report = Vec::new();
    let mut answered = 0;
    for (urls, statuses) in &ours {
        for url in urls {
            let path = url.strip_prefix(&origin).unwrap_or(url);
            assert!(
                path.starts_with(&prefix),
                "chromium requested {url}, outside the prefix {prefix}: {requests:#?}"
            );
        }
        // The first answer may be the 401 challenge (then the browser sends the URL's
        // credentials); the last must be 2xx or 3xx. A request cut off when the page was
        // dumped (a font still loading) has no answer, and no error either.
        let Some(last) = statuses.last() else {
            report.push(format!("{} -> (no answer yet)", urls.join(" -> ")));
            continue;
        };
        let code = last.split_whitespace().nth(1).unwrap_or("");
        assert!(
            code.starts_with('2') || code.starts_with('3'),
            "{urls:?} ended with {last}: {requests:#?}"
        );
        answered += 1;
        report.push(format!("{} -> {last}", urls.join(" -> ")));
    }
    eprintln!("chromium's requests:\n{}", report.join("\n"));
    assert!(answered >= 3, "too few answered requests: {report:#?}");
    assert!(
        ours.iter()
            .any(|(urls, _)| urls.iter().any(|u| u.contains("/api/v1/query"))),
        "the UI did not run the query: {report:#?}"
    );
    // The query's result, rendered by the UI's script into the page.
    assert!(
        dom.contains("job=\"prometheus\"") || dom.contains("job=&quot;prometheus&quot;"),
        "the page does not show up's result:\n{dom}\n{said}"
    );
}

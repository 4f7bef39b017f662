//! `examples/ansible/` run by the real ansible-playbook against three aliases of this machine,
//! each installing under its own root in a temporary folder: the first run changes every host
//! (and its handlers check the installed nginx.conf with `nginx -t`), the second changes
//! nothing, check mode after one host's port change reports exactly that host and writes
//! nothing, and the password never appears in the output at -vvvv.
//!
//! Needs ansible-playbook and nginx, and root (the install plan gives files to root, www-data
//! and prometheus); under CI=true a missing program fails.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{current_uid, require};

const PASSWORD: &str = "Ansible-Example-Secret-7fe2c9";

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/ansible")
}

/// Runs the playbook; returns its output and each host's `changed=` from the recap.
fn playbook(root: &Path, inventory: &Path, extra: &[&str]) -> (String, BTreeMap<String, u32>) {
    let temp = root.join(".ansible-tmp");
    let output = Command::new("ansible-playbook")
        .arg("-i")
        .arg(inventory)
        .arg(example().join("playbook.yml"))
        .args(extra)
        .env("PROMSETUP_EXAMPLE_ROOT", root)
        .env("PROMSETUP_BIN", assert_cmd::cargo::cargo_bin("promsetup"))
        .env("PROMSETUP_PASSWORD", PASSWORD)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCAL_TEMP", &temp)
        .env("ANSIBLE_REMOTE_TEMP", &temp)
        .env("ANSIBLE_HOME", &temp)
        .stdin(Stdio::null())
        .output()
        .expect("run ansible-playbook");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "ansible-playbook {extra:?} failed:\n{text}"
    );
    let recap = text
        .split("PLAY RECAP")
        .nth(1)
        .unwrap_or_else(|| panic!("no recap:\n{text}"));
    let changed = recap
        .lines()
        .filter_map(|line| {
            let (host, counts) = line.split_once(" : ")?;
            let changed = counts
                .split_whitespace()
                .find_map(|count| count.strip_prefix("changed="))?;
            Some((host.trim().to_string(), changed.parse().ok()?))
        })
        .collect();
    (text, changed)
}

#[test]
fn the_ansible_example_installs_idempotently_reports_one_host_in_check_mode_and_hides_the_password()
{
    if require("ansible-playbook").is_none() || require("nginx").is_none() {
        return;
    }
    if current_uid() != 0 {
        eprintln!("skipping: the example installs files owned by root, www-data and prometheus");
        return;
    }
    let dir = crate::support::traversable_tempdir();
    let root = dir.path();
    let inventory = example().join("inventory.ini");
    let hosts = ["prom-a", "prom-b", "prom-c"];

    let (first, changed) = playbook(root, &inventory, &["-vvvv"]);
    for host in hosts {
        assert!(
            changed[host] > 0,
            "{host} unchanged on the first run:\n{first}"
        );
    }
    assert!(
        !first.contains(PASSWORD),
        "the password is in the -vvvv output"
    );
    assert!(first.contains("RUNNING HANDLER [nginx reload]"), "{first}");
    assert!(
        first.contains("RUNNING HANDLER [prometheus restart]"),
        "{first}"
    );
    // Installed as the plan says: prom-c's Prometheus checks passwords from its web.yml.
    for host in hosts {
        let conf = fs::read_to_string(root.join(host).join("etc/nginx/nginx.conf")).unwrap();
        assert!(
            conf.contains(&format!("server_name {host}.example.com;")),
            "{conf}"
        );
    }
    assert!(root.join("prom-a/etc/nginx/.htpasswd").is_file());
    assert!(root.join("prom-c/etc/prometheus/web.yml").is_file());
    assert!(!root.join("prom-c/etc/nginx/.htpasswd").exists());

    let (second, changed) = playbook(root, &inventory, &[]);
    for host in hosts {
        assert_eq!(
            changed[host], 0,
            "{host} changed on the second run:\n{second}"
        );
    }
    assert!(!second.contains(PASSWORD));

    // One host's port changes: check mode reports that host alone and writes nothing.
    let moved = root.join("inventory-moved.ini");
    let text = fs::read_to_string(&inventory).unwrap();
    assert!(text.contains("prom_port=9444"));
    fs::write(&moved, text.replace("prom_port=9444", "prom_port=9454")).unwrap();
    let before = fs::read(root.join("prom-b/etc/nginx/nginx.conf")).unwrap();
    let (check, changed) = playbook(root, &moved, &["--check"]);
    assert_eq!(
        changed,
        BTreeMap::from([
            ("prom-a".to_string(), 0),
            ("prom-b".to_string(), 1),
            ("prom-c".to_string(), 0)
        ]),
        "{check}"
    );
    assert_eq!(
        fs::read(root.join("prom-b/etc/nginx/nginx.conf")).unwrap(),
        before,
        "check mode wrote"
    );
}

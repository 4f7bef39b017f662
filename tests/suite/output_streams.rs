//! What the binary does when its output cannot be written: a reader that goes away (a broken
//! pipe) ends the output quietly and the run still finishes with its own exit status; a full
//! disk (`/dev/full`) is an error, exit 1, said on standard error.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

fn promsetup(out: &Path) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("promsetup"));
    command
        .env_remove("PROMSETUP_PASSWORD")
        .args(["--non-interactive", "--domain", "example.com"])
        // The default layout follows this host's /etc/nginx; these tests look for nginx.conf.
        .args(["--nginx-layout", "full", "--out"])
        .arg(out)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    command
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly_and_the_run_still_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    // A pipe whose read end is closed before the child writes: every write meets EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = promsetup(&out).stdout(writer).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error:"),
        "{stderr}"
    );
    assert!(out.join("nginx.conf").is_file() && out.join("password.txt").is_file());

    // `--check` keeps its own status (3: a run would change the bundle) without a reader.
    std::fs::remove_file(out.join("nginx.conf")).unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = promsetup(&out)
        .arg("--check")
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_full_disk_for_the_output_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let full = File::options().write(true).open("/dev/full").unwrap();
    let output = promsetup(&out).stdout(full).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the output"), "{stderr}");
}

//! The file system fights back: a read-only output folder, a full one, a symbolic link where a
//! file should go. Each gives a clear error naming the path, and every file that was there is
//! left as it was. Read-only and full folders are real tmpfs mounts, so these tests need root
//! (CI runs as root; elsewhere they are skipped with a note, and under CI=true a failed mount
//! fails the test).

#![allow(clippy::disallowed_methods)] // tests arrange files by hand

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A small tmpfs, unmounted on drop.
struct Mount {
    point: PathBuf,
    _dir: tempfile::TempDir,
}

impl Mount {
    fn tmpfs(size: &str) -> Option<Mount> {
        let dir = tempfile::tempdir().unwrap();
        let point = dir.path().join("mnt");
        fs::create_dir(&point).unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(&point)
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Mount { point, _dir: dir }),
            other => {
                let why = format!("cannot mount a tmpfs (needs root): {other:?}");
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("{why}");
                }
                eprintln!("skipping: {why}");
                None
            }
        }
    }

    fn remount_read_only(&self) {
        let status = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.point)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.point).status();
    }
}

fn promsetup(out: &Path, extra: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("promsetup")
        .unwrap()
        .env_remove("PROMSETUP_PASSWORD")
        .args([
            "--nginx-layout",
            "full",
            "--non-interactive",
            "--domain",
            "example.com",
            "--password-stdin",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .write_stdin("a-password\n")
        .output()
        .unwrap()
}

/// Every file in the folder with its contents.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_read_only_output_folder_gives_a_clear_error_and_changes_nothing() {
    let Some(mount) = Mount::tmpfs("1m") else {
        return;
    };
    let out = mount.point.join("bundle");
    assert!(promsetup(&out, &[]).status.success());
    let before = snapshot(&out);
    mount.remount_read_only();

    // Another port: nginx.conf and prometheus.flags would change.
    let output = promsetup(&out, &["--force", "--port", "8443"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(
        stderr.contains(&out.display().to_string()),
        "the path is named: {stderr}"
    );
    assert_eq!(snapshot(&out), before);
}

#[test]
fn a_full_output_folder_gives_a_clear_error_and_leaves_every_file_as_it_was() {
    let Some(mount) = Mount::tmpfs("256k") else {
        return;
    };
    let out = mount.point.join("bundle");
    assert!(promsetup(&out, &[]).status.success());
    // Fill what is left, so the new files cannot be written in full.
    let filler = mount.point.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4k"])
        .arg(format!("of={}", filler.display()))
        .output()
        .unwrap();
    let before = snapshot(&out);

    // Another port: nginx.conf and prometheus.flags would change.
    let output = promsetup(&out, &["--force", "--port", "8443"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    // Not one file replaced, no half-written temporary left behind.
    assert_eq!(snapshot(&out), before);
}

#[test]
fn a_symbolic_link_at_a_target_is_reported_and_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    fs::create_dir(&out).unwrap();
    let victim = dir.path().join("precious.conf");
    fs::write(&victim, "keep me\n").unwrap();
    std::os::unix::fs::symlink(&victim, out.join("nginx.conf")).unwrap();

    for extra in [&[][..], &["--force"][..]] {
        let output = promsetup(&out, extra);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("symbolic link"), "{stderr}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me\n");
        assert_eq!(
            fs::read_dir(&out).unwrap().count(),
            1,
            "nothing else was written"
        );
    }
}

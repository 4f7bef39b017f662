//! A bundle is one transaction: concurrent commands take turns through the folder's lock and
//! each change survives; a failure, a crash or a SIGKILL at any step leaves, once the next
//! command has taken the lock, the old bundle or the new one (key matching certificate,
//! nginx.conf and prometheus.flags from one run, password.txt opening .htpasswd, nginx -t
//! passing) and no temporaries; backups are one generation, copies with the new file's mode.
//!
//! Trial counts are printed (run with `--nocapture` to see them).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use promsetup::bundle::existing::Existing;
use promsetup::bundle::plan::{Plan, plan};
use promsetup::bundle::templates::Templates;
use promsetup::model::given::Given;
use promsetup::model::password::Password;
use promsetup::model::setup::{HostFacts, resolve};
use promsetup::write::lock::FolderLock;
use promsetup::write::{self, Policy, Step};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::support::{nginx_test, require};

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("promsetup")
}

/// The arguments of a non-interactive run into `out` (also its --conf-dir, so `nginx -t` finds
/// the certificate where nginx.conf says), with a generated password stored in password.txt.
fn run_args(out: &Path, prefix: &str, port: u16) -> Vec<String> {
    let out = out.display().to_string();
    [
        "--non-interactive",
        "--domain",
        "example.com",
        "--out",
        &out,
        "--conf-dir",
        &out,
        "--prefix",
        prefix,
        "--port",
        &port.to_string(),
        "--http-port",
        "0",
        "--bcrypt-cost",
        "4",
    ]
    .map(str::to_string)
    .to_vec()
}

fn promsetup(args: &[String]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(args)
        .env_remove("PROMSETUP_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn ok(output: Output) -> Output {
    assert!(output.status.success(), "{}", describe(&output));
    output
}

fn openssl_public_key(args: &[&str], file: &Path) -> String {
    let output = Command::new("openssl")
        .args(args)
        .arg(file)
        .output()
        .expect("run openssl");
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Checks the bundle in `out` is one run's: returns its prefix, or says what is wrong.
fn consistent(out: &Path) -> Result<String, String> {
    let read = |name: &str| fs::read_to_string(out.join(name)).map_err(|e| format!("{name}: {e}"));
    let flags = read("prometheus.flags")?;
    let url = flags
        .lines()
        .find_map(|line| line.trim().strip_prefix("--web.external-url="))
        .ok_or_else(|| format!("no external URL in prometheus.flags:\n{flags}"))?;
    let path = url
        .splitn(4, '/')
        .nth(3)
        .map(|rest| format!("/{rest}"))
        .ok_or_else(|| format!("no path in {url}"))?;
    let conf = read("nginx.conf")?;
    if !conf.contains(&format!("location {path} {{")) {
        return Err(format!("nginx.conf is not from the run of {url}:\n{conf}"));
    }
    let certificate = openssl_public_key(
        &["x509", "-noout", "-pubkey", "-in"],
        &out.join("example.com.crt"),
    );
    let key = openssl_public_key(&["pkey", "-pubout", "-in"], &out.join("example.com.key"));
    if certificate != key {
        return Err("the key does not match the certificate".into());
    }
    let password = read("password.txt")?;
    let htpasswd = read(".htpasswd")?;
    let hash = htpasswd
        .lines()
        .find_map(|line| line.strip_prefix("admin:"))
        .ok_or("no admin in .htpasswd")?;
    if !bcrypt::verify(password.trim_end_matches('\n'), hash).unwrap_or(false) {
        return Err("password.txt does not open .htpasswd".into());
    }
    let tested = nginx_test(&out.join("nginx.conf"));
    if !tested.status.success() {
        return Err(format!("nginx -t failed:\n{}", describe(&tested)));
    }
    Ok(path.trim_end_matches('/').to_string())
}

fn leftover_names(out: &Path) -> Vec<String> {
    write::leftovers(out)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// A folder in a tmpfs where there is one: for the tests that run a bundle hundreds of times,
/// where syncing a shared disk would only add minutes (the fsync failures themselves are
/// injected with strace, whatever the file system).
fn fast_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}

fn programs_installed() -> bool {
    ["nginx", "openssl"]
        .iter()
        .all(|program| require(program).is_some())
}

// ---------------------------------------------------------------------------------------------
// Concurrency

#[test]
fn twenty_parallel_user_adds_all_survive() {
    const TRIALS: usize = 3;
    const USERS: usize = 20;
    for trial in 0..TRIALS {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        ok(promsetup(&run_args(&out, "/prometheus", 8443))
            .output()
            .unwrap());
        let children: Vec<_> = (0..USERS)
            .map(|n| {
                let args = ["user", "add", &format!("user{n}"), "--dir"]
                    .map(str::to_string)
                    .into_iter()
                    .chain([
                        out.display().to_string(),
                        "--bcrypt-cost".into(),
                        "4".into(),
                    ])
                    .collect::<Vec<_>>();
                let mut command = promsetup(&args);
                command.env("PROMSETUP_PASSWORD", format!("password of user {n}"));
                command.spawn().unwrap()
            })
            .collect();
        for child in children {
            ok(child.wait_with_output().unwrap());
        }
        let htpasswd = fs::read_to_string(out.join(".htpasswd")).unwrap();
        for n in 0..USERS {
            let hash = htpasswd
                .lines()
                .find_map(|line| line.strip_prefix(&format!("user{n}:")))
                .unwrap_or_else(|| panic!("trial {trial}: user{n} is lost:\n{htpasswd}"));
            assert!(bcrypt::verify(format!("password of user {n}"), hash).unwrap());
        }
        assert!(htpasswd.contains("admin:"));
        assert!(leftover_names(&out).is_empty());
        // One backup generation, however many edits.
        let backups: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(".htpasswd.bak"))
            .collect();
        assert_eq!(backups, [".htpasswd.bak"]);
    }
    eprintln!("twenty_parallel_user_adds_all_survive: {TRIALS} trials of {USERS} parallel adds");
}

#[test]
fn concurrent_force_runs_leave_one_consistent_bundle() {
    if !programs_installed() {
        return;
    }
    const TRIALS: usize = 8;
    const RUNS: usize = 4;
    for trial in 0..TRIALS {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bundle");
        // Each run has its own prefix and port, and renews the certificate (--renew-days 825
        // is past any certificate's end), so every file differs between runs.
        let children: Vec<_> = (0..RUNS)
            .map(|run| {
                let mut args = run_args(&out, &format!("/run{run}"), 8440 + run as u16);
                args.extend(["--force", "--renew-days", "825"].map(str::to_string));
                promsetup(&args).spawn().unwrap()
            })
            .collect();
        for child in children {
            ok(child.wait_with_output().unwrap());
        }
        if let Err(why) = consistent(&out) {
            panic!("trial {trial}: {why}");
        }
        assert!(leftover_names(&out).is_empty(), "trial {trial}");
    }
    eprintln!("concurrent_force_runs: {TRIALS} trials of {RUNS} concurrent --force runs");
}

#[test]
fn a_command_waits_a_bounded_time_then_names_the_holder_and_a_killed_holder_never_blocks() {
    let Some(flock) = require("flock") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    ok(promsetup(&run_args(&out, "/prometheus", 8443))
        .output()
        .unwrap());
    // --no-fork: the process that holds the lock is the one killed below.
    let mut holder = Command::new(flock)
        .arg("--no-fork")
        .arg(&out)
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    // Until flock(1) holds it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while FolderLock::acquire(&out, Duration::ZERO).is_ok() {
        assert!(Instant::now() < deadline, "flock(1) never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let add = |wait: &str| {
        let args = ["user", "add", "bob", "--dir"]
            .map(str::to_string)
            .into_iter()
            .chain([
                out.display().to_string(),
                "--bcrypt-cost".into(),
                "4".into(),
            ])
            .collect::<Vec<_>>();
        let mut command = promsetup(&args);
        command
            .env("PROMSETUP_PASSWORD", "bob's password")
            .env("PROMSETUP_LOCK_WAIT", wait);
        command.output().unwrap()
    };
    let started = Instant::now();
    let refused = add("0.5");
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    assert!(stderr.contains("in use by another promsetup"), "{stderr}");
    let holder_named = format!("pid {}: ", holder.id());
    assert!(
        stderr.contains(&holder_named) && stderr.contains("sleep 60"),
        "{stderr}"
    );
    assert!(
        !fs::read_to_string(out.join(".htpasswd"))
            .unwrap()
            .contains("bob:")
    );

    // SIGKILL: the kernel drops the lock with its holder.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let started = Instant::now();
    ok(add("10"));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        fs::read_to_string(out.join(".htpasswd"))
            .unwrap()
            .contains("bob:")
    );
}

// ---------------------------------------------------------------------------------------------
// Failures and crashes

fn host() -> HostFacts {
    HostFacts {
        nginx_user: Some("www-data".parse().unwrap()),
        primary_group: promsetup::host::primary_group,
        ..HostFacts::unknown()
    }
}

/// A plan for `dir` with a certificate of its own and a stored password: two plans with other
/// prefixes, ports and passwords differ in every file.
fn bundle_plan(dir: &Path, prefix: &str, port: &str, password: &str) -> Plan {
    let given = Given {
        domain: Some("example.com".parse().unwrap()),
        prefix: Some(prefix.parse().unwrap()),
        port: Some(port.parse().unwrap()),
        redirect_port: Some("0".parse().unwrap()),
        conf_dir: Some(dir.display().to_string().parse().unwrap()),
        bcrypt_cost: Some("4".parse().unwrap()),
        ..Given::default()
    };
    let setup = resolve(given, &host()).unwrap();
    let password = Password::new(Zeroizing::new(password.to_string())).unwrap();
    plan(
        &setup,
        &password,
        true,
        OffsetDateTime::now_utc(),
        &Templates::embedded(),
        &Existing::default(),
    )
    .unwrap()
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, u32)> {
    let mut all: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let meta = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
                meta.permissions().mode() & 0o7777,
            )
        })
        .collect();
    all.sort();
    all
}

const FORCE: Policy = Policy {
    force: true,
    backups: true,
};

/// Every step of a run that changes all six files (and keeps six backups), failed or crashed in
/// turn (a panic stands for the crash: none of the run's own clean-up runs, its lock goes).
#[test]
fn a_fault_or_a_crash_at_every_step_of_a_full_change_leaves_the_old_or_the_new_bundle() {
    if !programs_installed() {
        return;
    }
    let scratch = fast_tempdir();
    let old_plan = bundle_plan(scratch.path(), "/old", "8443", "the old password");
    let new_plan = bundle_plan(scratch.path(), "/new", "9443", "the new password");
    let fresh = || {
        let dir = fast_tempdir();
        // Same paths inside nginx.conf: the plans name `scratch`; nginx -t runs there.
        write::apply(&old_plan.files(), dir.path(), FORCE).unwrap();
        dir
    };
    let check_in_place = |dir: &Path| {
        for (name, bytes, _) in snapshot(dir) {
            fs::write(scratch.path().join(name), bytes).unwrap();
        }
        consistent(scratch.path())
    };
    let (old, new, steps) = {
        let dir = fresh();
        let old = snapshot(dir.path());
        let mut steps = Vec::new();
        write::apply_with_faults(&new_plan.files(), dir.path(), FORCE, &mut |step| {
            steps.push(format!("{step:?}"));
            Ok(())
        })
        .unwrap();
        (old, snapshot(dir.path()), steps)
    };
    let first = fresh();
    assert_eq!(check_in_place(first.path()).unwrap(), "/old");
    // Every file of the plan, and a backup of each file the change replaced (at least the six
    // that change with the prefix, port and password; the hand-off files too where they do).
    let backups = new
        .iter()
        .filter(|(name, _, _)| name.ends_with(".bak"))
        .count();
    assert_eq!(
        new.len(),
        new_plan.artifacts.len() + backups,
        "files and backups"
    );
    assert!(backups >= 6, "{backups} backups");
    let committed_at = steps.iter().position(|s| s == "Commit").unwrap();
    let mut trials = 0;
    for (index, failing) in steps.iter().enumerate() {
        for crash in [false, true] {
            let dir = fresh();
            let mut fault = |step: Step| {
                if format!("{step:?}") != *failing {
                    Ok(())
                } else if crash {
                    panic!("injected crash");
                } else {
                    Err(std::io::Error::other("injected fault"))
                }
            };
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                write::apply_with_faults(&new_plan.files(), dir.path(), FORCE, &mut fault)
            }));
            match (&run, crash) {
                (Ok(Err(error)), false) => {
                    assert!(error.to_string().contains("injected fault"), "{error}")
                }
                (Err(_), true) => {}
                _ => panic!("{failing}: the step was not reached"),
            }
            // The next command takes the lock.
            drop(FolderLock::acquire(dir.path(), Duration::ZERO).unwrap());
            let expected = if index <= committed_at { &old } else { &new };
            assert!(
                &snapshot(dir.path()) == expected,
                "{failing} (crash: {crash}): neither the old bundle nor the new one"
            );
            let prefix = check_in_place(dir.path()).unwrap();
            assert_eq!(
                prefix,
                if index <= committed_at {
                    "/old"
                } else {
                    "/new"
                }
            );
            assert!(leftover_names(dir.path()).is_empty());
            trials += 1;
        }
    }
    eprintln!(
        "fault_at_every_step: {} steps x (error, crash) = {trials} trials",
        steps.len()
    );
}

/// Copies a bundle folder (files only, with their modes), pointing nginx.conf's paths at the
/// copy, as a run with `--out TO --conf-dir TO` writes it.
fn copy_bundle(from: &Path, to: &Path) {
    fs::create_dir(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        fs::copy(entry.path(), &target).unwrap();
        fs::set_permissions(&target, entry.metadata().unwrap().permissions()).unwrap();
    }
    let conf = fs::read_to_string(to.join("nginx.conf")).unwrap();
    let moved = conf.replace(&from.display().to_string(), &to.display().to_string());
    fs::write(to.join("nginx.conf"), moved).unwrap();
}

/// What one killed or failed run left, once the next command ran: "old" or "new".
fn after_next_command(out: &Path, old_args: &[String], old_key: &[u8]) -> &'static str {
    // The old answers again, without --force: exits 0 over the old bundle, refuses (1) the new
    // one; either way it takes the lock first.
    let next = promsetup(old_args).output().unwrap();
    assert!(
        matches!(next.status.code(), Some(0 | 1)),
        "{}",
        describe(&next)
    );
    let prefix = consistent(out).unwrap_or_else(|why| panic!("{why}"));
    assert!(
        leftover_names(out).is_empty(),
        "{:?} after {}",
        leftover_names(out),
        describe(&next)
    );
    let same_key = fs::read(out.join("example.com.key")).unwrap() == old_key;
    match prefix.as_str() {
        "/old" if same_key => "old",
        "/new" if !same_key => "new",
        other => panic!(
            "prefix {other} with the {} key",
            if same_key { "old" } else { "new" }
        ),
    }
}

#[test]
fn sigkill_of_the_real_binary_at_varied_moments_leaves_old_or_new_and_no_temporaries() {
    if !programs_installed() {
        return;
    }
    const TRIALS: u32 = 24;
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template");
    let old_args = run_args(&template, "/old", 8443);
    ok(promsetup(&old_args).output().unwrap());
    let new_args = |out: &Path| {
        let mut args = run_args(out, "/new", 9443);
        args.extend(["--force", "--renew-days", "825"].map(str::to_string));
        args
    };
    // How long an uninterrupted run takes here: the kills are spread over it.
    let calibration = dir.path().join("calibration");
    copy_bundle(&template, &calibration);
    let started = Instant::now();
    ok(promsetup(&new_args(&calibration)).output().unwrap());
    let run_time = started.elapsed();

    let (mut old, mut new, mut with_leftovers) = (0, 0, 0);
    for trial in 0..TRIALS {
        let out = dir.path().join(format!("trial{trial}"));
        copy_bundle(&template, &out);
        let old_key = fs::read(out.join("example.com.key")).unwrap();
        let old_args = run_args(&out, "/old", 8443);
        let mut child = promsetup(&new_args(&out)).spawn().unwrap();
        std::thread::sleep(run_time.mul_f64(f64::from(trial) / f64::from(TRIALS) * 1.2));
        let _ = child.kill(); // it may have finished already
        child.wait().unwrap();
        if !leftover_names(&out).is_empty() {
            with_leftovers += 1;
        }
        match after_next_command(&out, &old_args, &old_key) {
            "old" => old += 1,
            _ => new += 1,
        }
    }
    eprintln!(
        "sigkill (timed): {TRIALS} trials over a {run_time:?} run: {old} old, {new} new, \
         {with_leftovers} left temporaries, all removed by the next command"
    );
}

/// strace(1) kills the real binary at exactly its Nth rename, or its Nth fsync, for every N
/// the run reaches; and fails its Nth fsync with EIO, which must fail the run.
#[test]
fn sigkill_or_eio_at_each_rename_and_fsync_of_the_real_binary() {
    if !programs_installed() {
        return;
    }
    let Some(strace) = require("strace") else {
        return;
    };
    let dir = fast_tempdir();
    let template = dir.path().join("template");
    ok(promsetup(&run_args(&template, "/old", 8443))
        .output()
        .unwrap());
    let mut trials = 0;
    let mut outcomes = std::collections::BTreeMap::new();
    for (syscalls, action) in [
        ("rename,renameat,renameat2", "signal=KILL"),
        ("fsync,fdatasync", "signal=KILL"),
        ("fsync,fdatasync", "error=EIO"),
        ("rename,renameat,renameat2", "error=EIO"),
    ] {
        let mut failed_runs = 0;
        for when in 1.. {
            let out = dir.path().join(format!("t{trials}"));
            copy_bundle(&template, &out);
            let old_key = fs::read(out.join("example.com.key")).unwrap();
            let mut args = run_args(&out, "/new", 9443);
            args.extend(["--force", "--renew-days", "825"].map(str::to_string));
            let traced = Command::new(&strace)
                .args(["-f", "-qq", "-o", "/dev/null", "-e"])
                .arg(format!("trace={syscalls}"))
                .arg("-e")
                .arg(format!("inject={syscalls}:{action}:when={when}"))
                .arg(binary())
                .args(&args)
                .env_remove("PROMSETUP_PASSWORD")
                .stdin(Stdio::null())
                .output()
                .unwrap();
            trials += 1;
            let ran_through = traced.status.success();
            if action == "error=EIO" && syscalls.starts_with("fsync") && ran_through {
                // The injection was past the last fsync: nothing failed.
                assert_eq!(consistent(&out).unwrap(), "/new");
            } else if action == "signal=KILL" && ran_through {
                assert_eq!(consistent(&out).unwrap(), "/new");
            }
            let state = after_next_command(&out, &run_args(&out, "/old", 8443), &old_key);
            *outcomes
                .entry(format!("{syscalls} {action} {state}"))
                .or_insert(0) += 1;
            if ran_through {
                break; // the run has fewer such calls than `when`
            }
            failed_runs += 1;
            assert!(when < 100, "{syscalls} {action}: no end");
        }
        // Four files and their backups change: at least their 8 renames (and their fsyncs, and
        // the folder's) each end the run, killed or failed; an ignored EIO would not.
        assert!(
            failed_runs >= 9,
            "{syscalls} {action}: {failed_runs} failed runs"
        );
    }
    eprintln!("strace injections: {trials} trials: {outcomes:?}");
    assert!(trials > 40, "{trials}");
}

// ---------------------------------------------------------------------------------------------
// Backups

/// In process, and in a tmpfs where there is one (fsync is then free): this is about backups
/// piling up, and 1,001 runs syncing a real disk take minutes on a loaded machine.
#[test]
fn a_thousand_and_one_user_adds_succeed_with_one_backup() {
    let dir = fast_tempdir();
    let out = dir.path().join("bundle");
    ok(promsetup(&run_args(&out, "/prometheus", 8443))
        .output()
        .unwrap());
    let host = host();
    let started = Instant::now();
    const RUNS: usize = 1001;
    for n in 0..RUNS {
        let args = [
            "promsetup",
            "user",
            "add",
            &format!("user{}", n % 50),
            "--dir",
            &out.display().to_string(),
            "--bcrypt-cost",
            "4",
            "--password-stdin",
        ]
        .map(str::to_string);
        let request = promsetup::cli::try_parse_from(args).unwrap();
        let mut stdin = std::io::Cursor::new(format!("password number {n}\n").into_bytes());
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let streams = promsetup::Streams {
            stdin: &mut stdin,
            out: &mut stdout,
            err: &mut stderr,
        };
        if let Err(error) = promsetup::run(request, &host, streams, None) {
            panic!("run {}: {error}", n + 1);
        }
    }
    let in_process = started.elapsed();
    // And the CLI once more, as a person would.
    let mut last = promsetup(
        &[
            "user",
            "add",
            "last",
            "--dir",
            &out.display().to_string(),
            "--bcrypt-cost",
            "4",
        ]
        .map(str::to_string),
    );
    last.env("PROMSETUP_PASSWORD", "the last password");
    ok(last.output().unwrap());
    let names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".bak"))
        .collect();
    assert_eq!(names, [".htpasswd.bak"]);
    let htpasswd = fs::read_to_string(out.join(".htpasswd")).unwrap();
    assert_eq!(htpasswd.lines().count(), 52, "admin, user0..user49, last");
    eprintln!("user add: {RUNS} runs in process ({in_process:?}) and 1 by the binary");
}

#[test]
fn backups_are_copies_with_the_new_mode_and_listed_in_the_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    ok(promsetup(&run_args(&out, "/old", 8443)).output().unwrap());
    let password = out.join("password.txt");
    fs::set_permissions(&password, fs::Permissions::from_mode(0o644)).unwrap();
    let old_inode = fs::metadata(&password).unwrap().ino();
    let mut args = run_args(&out, "/new", 8443);
    args.extend(["--force", "--format", "json"].map(str::to_string));
    let output = ok(promsetup(&args).output().unwrap());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let backup_of = |name: &str| {
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(&format!("/{name}")))
            .map(|f| f["backup"].clone())
            .unwrap()
    };
    let kept = out.join("password.txt.bak");
    assert_eq!(backup_of("password.txt"), kept.display().to_string());
    assert_eq!(
        backup_of("nginx.conf"),
        out.join("nginx.conf.bak").display().to_string()
    );
    assert_eq!(backup_of("example.com.key"), serde_json::Value::Null);
    let meta = fs::metadata(&kept).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.nlink(), 1);
    assert_ne!(meta.ino(), old_inode);
    assert_eq!(
        fs::read(&kept).unwrap(),
        fs::read(&password).unwrap(),
        "the same password, only the mode changed"
    );
}

//! `promsetup user add|remove|list` on real bundles: what each edit changes (one user's line)
//! and keeps (every other byte, the mode, the group, a backup), where passwords go, what is
//! refused, and that real nginx and Prometheus accept an added user and refuse a removed one
//! without a reload. `promtool`, nginx, Prometheus and curl are required under CI.

#![allow(clippy::disallowed_methods)] // tests arrange files by hand

use std::fs;
use std::io::BufReader;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use promsetup::wizard::prompter::{Check, Interrupted, Prompter};
use zeroize::Zeroizing;

use crate::support::{Bundle, Setup, Stack};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().mode() & 0o7777
}

/// Runs `promsetup user ARGS` with `stdin` (empty when `None`), without a terminal and
/// without PROMSETUP_PASSWORD.
fn user(args: &[&str], stdin: Option<&str>) -> Output {
    crate::support::promsetup_command()
        .arg("user")
        .args(args)
        .write_stdin(stdin.unwrap_or("").to_string())
        .output()
        .unwrap()
}

/// `promsetup user add NAME --dir DIR` with the password on stdin; panics unless it succeeds.
fn add(dir: &Path, name: &str, password: &str) -> Output {
    let output = user(
        &[
            "add",
            name,
            "--dir",
            &dir.display().to_string(),
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    assert_success(&output);
    output
}

fn remove(dir: &Path, name: &str) -> Output {
    user(&["remove", name, "--dir", &dir.display().to_string()], None)
}

fn list(dir: &Path) -> String {
    let output = user(&["list", "--dir", &dir.display().to_string()], None);
    assert_success(&output);
    text(&output.stdout)
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// A bundle written by promsetup itself (user `admin`), in `dir/bundle`.
fn bundle(dir: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join("bundle");
    let output = crate::support::promsetup_command()
        .args(["--non-interactive", "--domain", "example.com", "--out"])
        .arg(&out)
        .args(["--password-stdin"])
        .args(extra)
        .write_stdin("admin password 1\n")
        .output()
        .unwrap();
    assert_success(&output);
    out
}

/// The hash stored for `name` in a `.htpasswd`.
fn htpasswd_hash(file: &Path, name: &str) -> String {
    let prefix = format!("{name}:");
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(&prefix).map(str::to_string))
        .unwrap_or_else(|| panic!("no line for {name} in {}", file.display()))
}

/// The hash stored for `name` in a `web.yml` written by promsetup.
fn web_yml_hash(file: &Path, name: &str) -> String {
    let key = format!("  \"{name}\": \"");
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .find_map(|line| {
            line.strip_prefix(&key)
                .map(|h| h.trim_end_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("no entry for {name} in {}", file.display()))
}

fn verifies(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap()
}

fn bcrypt_line(name: &str, password: &str, cost: u32) -> String {
    format!("{name}:{}", bcrypt::hash(password, cost).unwrap())
}

/// An `.htpasswd` a person has kept by hand: a comment, two users (one in an older scheme), a
/// line nobody understands, a blank line, and no newline at the very end.
fn hand_kept_htpasswd(dir: &Path) -> (PathBuf, String) {
    let folder = dir.join("bundle");
    fs::create_dir(&folder).unwrap();
    let contents = format!(
        "# Prometheus users, kept by the ops team\n{}\nlegacy:$apr1$Ab12Cd34$w3bYzR0uQ1nT6m7xZ8vQ0/\n\
         this line is not understood by anyone\n\n{}",
        bcrypt_line("admin", "admin password 1", 5),
        bcrypt_line("bob", "bob password 1", 5),
    );
    fs::write(folder.join(".htpasswd"), &contents).unwrap();
    (folder, contents)
}

#[test]
fn added_users_are_listed_with_where_they_are_and_their_hash_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let out = bundle(dir.path(), &[]);
    add(&out, "alice", "alice password 1");
    add(&out, "grafana.reader@example.com", "grafana password 1");
    let shown = list(&out);
    assert!(!shown.contains("$2y$"), "a hash is shown:\n{shown}");
    insta::assert_snapshot!(shown, @r"
    admin                       .htpasswd: bcrypt cost 5
    alice                       .htpasswd: bcrypt cost 5
    grafana.reader@example.com  .htpasswd: bcrypt cost 5
    ");
}

#[test]
fn adding_a_user_keeps_every_other_line_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (out, before) = hand_kept_htpasswd(dir.path());
    add(&out, "alice", "alice password 1");
    let after = fs::read_to_string(out.join(".htpasswd")).unwrap();
    let (kept, added) = after.split_at(before.len());
    assert_eq!(kept, before, "the lines before the new user changed");
    let added = added
        .strip_prefix('\n') // the old last line gets the line ending it lacked
        .unwrap_or_else(|| panic!("the new user is not on a line of its own:\n{after}"));
    let hash = added
        .strip_prefix("alice:")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("not one new line for alice: {added:?}"));
    assert!(hash.starts_with("$2y$05$"), "{hash}: not the file's cost");
    assert!(verifies("alice password 1", hash));
}

#[test]
fn adding_an_existing_user_changes_only_their_line_and_the_old_password_stops_working() {
    let dir = tempfile::tempdir().unwrap();
    let (out, before) = hand_kept_htpasswd(dir.path());
    let file = out.join(".htpasswd");
    let old_hash = htpasswd_hash(&file, "admin");
    assert!(verifies("admin password 1", &old_hash));

    let output = add(&out, "admin", "admin password 2");
    assert!(
        text(&output.stdout).to_lowercase().contains("updated"),
        "{}",
        text(&output.stdout)
    );
    let after = fs::read_to_string(&file).unwrap();
    let new_hash = htpasswd_hash(&file, "admin");
    assert!(verifies("admin password 2", &new_hash));
    assert!(!verifies("admin password 1", &new_hash));
    assert_eq!(after, before.replace(&old_hash, &new_hash));
}

#[test]
fn removing_a_user_keeps_the_others_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (out, before) = hand_kept_htpasswd(dir.path());
    let bob = before.lines().last().unwrap();
    assert!(bob.starts_with("bob:"));
    assert_success(&remove(&out, "bob"));
    let after = fs::read_to_string(out.join(".htpasswd")).unwrap();
    assert_eq!(after, before.strip_suffix(bob).unwrap());
    assert!(list(&out).starts_with("admin "), "{}", list(&out));
}

#[test]
fn removing_an_unknown_user_exits_1_naming_the_users_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let (out, before) = hand_kept_htpasswd(dir.path());
    let output = remove(&out, "mallory");
    assert_eq!(output.status.code(), Some(1));
    let err = text(&output.stderr);
    assert!(err.contains("mallory"), "{err}");
    assert!(
        err.contains("admin") && err.contains("legacy") && err.contains("bob"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(out.join(".htpasswd")).unwrap(), before);
    assert!(!out.join(".htpasswd.bak").exists());
}

#[test]
fn removing_the_last_user_is_refused_because_it_would_lock_everyone_out() {
    let dir = tempfile::tempdir().unwrap();
    let out = bundle(dir.path(), &[]);
    let before = fs::read(out.join(".htpasswd")).unwrap();
    let output = remove(&out, "admin");
    assert_eq!(output.status.code(), Some(1));
    let err = text(&output.stderr);
    assert!(err.contains("last user") && err.contains("lock"), "{err}");
    assert_eq!(fs::read(out.join(".htpasswd")).unwrap(), before);
}

#[test]
fn the_self_scrape_account_is_reserved_and_listed_apart_from_people() {
    let dir = tempfile::tempdir().unwrap();
    let out = bundle(dir.path(), &["--auth", "prometheus"]);
    let before = fs::read(out.join("web.yml")).unwrap();
    for action in ["add", "remove"] {
        let output = user(
            &[
                action,
                "prometheus-self-scrape",
                "--dir",
                &out.display().to_string(),
                "--password-stdin",
            ],
            Some("whatever password\n"),
        );
        assert_eq!(output.status.code(), Some(2), "{action}");
        assert!(text(&output.stderr).contains("self-scrape"), "{action}");
    }
    assert_eq!(fs::read(out.join("web.yml")).unwrap(), before);
    insta::assert_snapshot!(list(&out), @r"
    admin                   web.yml: bcrypt cost 12
    prometheus-self-scrape  web.yml: bcrypt cost 12  (Prometheus's self-scrape)
    ");
}

#[test]
fn a_folder_without_htpasswd_or_web_yml_exits_2_saying_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let output = user(&["list", "--dir", &dir.path().display().to_string()], None);
    assert_eq!(output.status.code(), Some(2));
    let err = text(&output.stderr);
    assert!(
        err.contains(".htpasswd") && err.contains("web.yml") && err.contains("--dir"),
        "{err}"
    );
    let missing = dir.path().join("nowhere");
    let output = user(&["list", "--dir", &missing.display().to_string()], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("nowhere"));
}

#[test]
fn flags_that_promise_to_write_nothing_or_json_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = bundle(dir.path(), &[]);
    let before = fs::read(out.join(".htpasswd")).unwrap();
    for flag in [&["--check"][..], &["--diff"], &["--format", "json"]] {
        let mut args = vec!["add", "alice", "--dir"];
        let dir_arg = out.display().to_string();
        args.push(&dir_arg);
        args.extend(flag);
        let output = user(&args, None);
        assert_eq!(output.status.code(), Some(2), "{flag:?}");
        assert!(text(&output.stderr).contains(flag[0]), "{flag:?}");
    }
    assert_eq!(fs::read(out.join(".htpasswd")).unwrap(), before);
    assert!(!out.join("alice.password").exists());
}

#[test]
fn the_folder_is_out_when_no_dir_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let out = bundle(dir.path(), &[]);
    let output = user(&["list", "--out", &out.display().to_string()], None);
    assert_success(&output);
    assert!(text(&output.stdout).starts_with("admin "));
}

#[test]
fn a_web_yml_bundle_is_edited_and_promtool_still_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = bundle(dir.path(), &["--auth", "prometheus"]);
    let web = out.join("web.yml");
    assert!(!out.join(".htpasswd").exists());
    let before = fs::read_to_string(&web).unwrap();
    let self_scrape = web_yml_hash(&web, "prometheus-self-scrape");
    let promtool_accepts = |why: &str| {
        let Some(promtool) = crate::support::require("promtool") else {
            return;
        };
        let output = std::process::Command::new(promtool)
            .args(["check", "web-config"])
            .arg(&web)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "promtool refuses web.yml {why}:\n{}{}\n{}",
            text(&output.stdout),
            text(&output.stderr),
            fs::read_to_string(&web).unwrap()
        );
    };

    add(&out, "alice", "alice password 1");
    promtool_accepts("after adding alice");
    let alice = web_yml_hash(&web, "alice");
    assert!(alice.starts_with("$2y$12$"), "{alice}");
    assert!(verifies("alice password 1", &alice));
    assert_eq!(web_yml_hash(&web, "prometheus-self-scrape"), self_scrape);
    // Only alice's line is new; it goes after the people, before the self-scrape account.
    let admin_line = before
        .lines()
        .find(|l| l.contains("\"admin\""))
        .unwrap()
        .to_string();
    assert_eq!(
        fs::read_to_string(&web).unwrap(),
        before.replace(
            &format!("{admin_line}\n"),
            &format!("{admin_line}\n  \"alice\": \"{alice}\"\n")
        )
    );

    add(&out, "admin", "admin password 2");
    promtool_accepts("after changing admin's password");
    assert!(verifies("admin password 2", &web_yml_hash(&web, "admin")));

    assert_success(&remove(&out, "alice"));
    promtool_accepts("after removing alice");
    let after = fs::read_to_string(&web).unwrap();
    assert!(!after.contains("alice"), "{after}");
    assert_eq!(web_yml_hash(&web, "prometheus-self-scrape"), self_scrape);

    // admin is now the only person: the self-scrape account does not count.
    let output = remove(&out, "admin");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(fs::read_to_string(&web).unwrap(), after);
}

#[test]
fn htpasswd_keeps_its_mode_and_group() {
    let Some(www_data) = nix::unistd::Group::from_name("www-data").ok().flatten() else {
        eprintln!("skipping: no group www-data here");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = hand_kept_htpasswd(dir.path());
    let file = out.join(".htpasswd");
    for (bits, gid) in [(0o640, www_data.gid.as_raw()), (0o604, 0)] {
        if std::os::unix::fs::chown(&file, None, Some(gid)).is_err() {
            eprintln!("skipping: cannot give {} to group {gid}", file.display());
            return;
        }
        fs::set_permissions(&file, fs::Permissions::from_mode(bits)).unwrap();
        add(&out, &format!("user-{bits:o}"), "some password 1");
        assert_eq!(mode(&file), bits, "after add");
        assert_eq!(fs::metadata(&file).unwrap().gid(), gid, "after add");
        assert_success(&remove(&out, &format!("user-{bits:o}")));
        assert_eq!(mode(&file), bits, "after remove");
        assert_eq!(fs::metadata(&file).unwrap().gid(), gid, "after remove");
    }
}

#[test]
fn every_edit_keeps_the_replaced_file_as_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let (out, first) = hand_kept_htpasswd(dir.path());
    let file = out.join(".htpasswd");
    let output = add(&out, "alice", "alice password 1");
    let backup = out.join(".htpasswd.bak");
    assert!(
        text(&output.stdout).contains(&backup.display().to_string()),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(fs::read_to_string(&backup).unwrap(), first);
    // One generation: the next edit's backup replaces it.
    add(&out, "bob", "bob password 12");
    let third = fs::read_to_string(&file).unwrap();
    assert!(fs::read_to_string(&backup).unwrap().contains("alice:"));
    // A removal keeps no backup (it would hold alice's hash), unless asked to.
    assert_success(&remove(&out, "alice"));
    assert!(!backup.exists());
    assert!(!out.join(".htpasswd.bak.1").exists());
    add(&out, "alice", "alice password 2");
    let dir_arg = out.display().to_string();
    assert_success(&user(
        &["remove", "alice", "--keep-backup", "--dir", &dir_arg],
        None,
    ));
    assert!(fs::read_to_string(&backup).unwrap().contains("alice:"));
    assert!(!fs::read_to_string(&file).unwrap().contains("alice:"));
    assert_ne!(third, first);
}

#[test]
fn a_generated_password_without_a_terminal_goes_to_name_password_0600_and_is_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = bundle(dir.path(), &[]);
    let output = user(&["add", "alice", "--dir", &out.display().to_string()], None);
    assert_success(&output);
    let stored = out.join("alice.password");
    assert_eq!(mode(&stored), 0o600);
    let password = fs::read_to_string(&stored).unwrap();
    let password = password.strip_suffix('\n').unwrap();
    assert_eq!(password.len(), 32);
    assert!(verifies(
        password,
        &htpasswd_hash(&out.join(".htpasswd"), "alice")
    ));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(!stdout.contains(password) && !stderr.contains(password));
    assert!(stdout.contains(&stored.display().to_string()), "{stdout}");
}

#[test]
fn a_password_from_the_environment_or_a_file_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let out = bundle(dir.path(), &[]);
    let output = crate::support::promsetup_command()
        .args(["user", "add", "alice", "--dir"])
        .arg(&out)
        .env("PROMSETUP_PASSWORD", "from the environment")
        .output()
        .unwrap();
    assert_success(&output);
    let file = out.join(".htpasswd");
    assert!(verifies(
        "from the environment",
        &htpasswd_hash(&file, "alice")
    ));
    let secret = dir.path().join("secret");
    fs::write(&secret, "from a file\n").unwrap();
    let output = user(
        &[
            "add",
            "alice",
            "--dir",
            &out.display().to_string(),
            "--password-file",
            &secret.display().to_string(),
        ],
        None,
    );
    assert_success(&output);
    assert!(verifies("from a file", &htpasswd_hash(&file, "alice")));
    assert!(!out.join("alice.password").exists());
}

#[test]
fn a_password_that_breaks_the_rules_is_refused_with_exit_2_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let out = bundle(dir.path(), &[]);
    let before = fs::read(out.join(".htpasswd")).unwrap();
    let long = "x".repeat(72);
    let output = user(
        &[
            "add",
            "alice",
            "--dir",
            &out.display().to_string(),
            "--password-stdin",
        ],
        Some(&format!("{long}\n")),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("72"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(fs::read(out.join(".htpasswd")).unwrap(), before);
}

// ---------------------------------------------------------------------------------------------
// At a terminal (a scripted prompter, through the library)

/// Answers `new_password` with what it is given; any other question is a test failure.
struct Scripted {
    password: Option<&'static str>,
    asked: usize,
}

impl Prompter for Scripted {
    fn text(&mut self, prompt: &str, _: Option<&str>, _: Check) -> Result<String, Interrupted> {
        panic!("unexpected question: {prompt}")
    }
    fn new_password(
        &mut self,
        prompt: &str,
        check: Check,
    ) -> Result<Option<Zeroizing<String>>, Interrupted> {
        assert!(prompt.contains("alice"), "{prompt}");
        assert!(check(&"x".repeat(72)).is_err());
        self.asked += 1;
        Ok(self.password.map(|p| Zeroizing::new(p.to_string())))
    }
    fn choose(&mut self, prompt: &str, _: &[&str], _: usize) -> Result<usize, Interrupted> {
        panic!("unexpected question: {prompt}")
    }
    fn confirm(&mut self, prompt: &str, _: bool) -> Result<bool, Interrupted> {
        panic!("unexpected question: {prompt}")
    }
    fn say(&mut self, _: &str) {}
}

/// Runs `promsetup ARGS` in this process with `prompter` as the terminal; returns stdout.
fn at_terminal(args: &[&str], prompter: &mut Scripted) -> String {
    let request =
        promsetup::cli::try_parse_from(std::iter::once("promsetup").chain(args.iter().copied()))
            .unwrap();
    let promsetup::model::request::Request::User(_) = &request else {
        panic!("not a user command: {args:?}")
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut stdin = BufReader::new(&b""[..]);
    let streams = promsetup::Streams {
        stdin: &mut stdin,
        out: &mut out,
        err: &mut err,
    };
    let prompter: &mut dyn Prompter = prompter;
    let host = promsetup::model::setup::HostFacts::unknown();
    promsetup::run(request, &host, streams, Some(prompter)).unwrap();
    text(&out)
}

#[test]
fn at_a_terminal_the_password_is_asked_and_enter_generates_one_shown_once() {
    if std::env::var_os("PROMSETUP_PASSWORD").is_some() {
        eprintln!("skipping: PROMSETUP_PASSWORD is set for this test process");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = bundle(dir.path(), &[]);
    let dir_arg = out.display().to_string();
    let file = out.join(".htpasswd");

    let mut typed = Scripted {
        password: Some("typed password 1"),
        asked: 0,
    };
    at_terminal(&["user", "add", "alice", "--dir", &dir_arg], &mut typed);
    assert_eq!(typed.asked, 1);
    assert!(verifies("typed password 1", &htpasswd_hash(&file, "alice")));

    let mut enter = Scripted {
        password: None,
        asked: 0,
    };
    let shown = at_terminal(&["user", "add", "alice", "--dir", &dir_arg], &mut enter);
    let hash = htpasswd_hash(&file, "alice");
    let password = shown
        .split_whitespace()
        .find(|word| word.len() == 32 && verifies(word, &hash))
        .unwrap_or_else(|| panic!("the generated password is not shown:\n{shown}"));
    assert_eq!(shown.matches(password).count(), 1);
    assert!(!out.join("alice.password").exists());

    // --non-interactive never asks, even at a terminal: the password goes to the file.
    let mut never = Scripted {
        password: Some("never asked 1"),
        asked: 0,
    };
    let said = at_terminal(
        &[
            "user",
            "add",
            "alice",
            "--dir",
            &dir_arg,
            "--non-interactive",
        ],
        &mut never,
    );
    assert_eq!(never.asked, 0);
    let stored = fs::read_to_string(out.join("alice.password")).unwrap();
    assert!(!said.contains(stored.trim()));
    assert!(verifies(stored.trim(), &htpasswd_hash(&file, "alice")));
}

// ---------------------------------------------------------------------------------------------
// Real servers

/// curl as `name:password` against the bundle's server.
fn status_as(bundle: &Bundle, name: &str, password: &str) -> u16 {
    let mut args = bundle.curl_reach_args();
    args.extend([
        "-u".to_string(),
        format!("{name}:{password}"),
        format!(
            "{}{}",
            bundle.origin(),
            bundle.path("/api/v1/status/buildinfo")
        ),
    ]);
    crate::support::curl(&args).status
}

#[test]
fn nginx_lets_an_added_user_in_and_refuses_a_removed_one_without_a_reload() {
    let Some(stack) = Stack::start(Bundle::create(Setup::default())) else {
        return;
    };
    let bundle = &stack.bundle;
    assert_eq!(status_as(bundle, "alice", "alice password 1"), 401);

    add(&bundle.dir, "alice", "alice password 1");
    assert_eq!(status_as(bundle, "alice", "alice password 1"), 200);
    assert_eq!(status_as(bundle, "alice", "wrong password"), 401);
    assert_eq!(status_as(bundle, &bundle.username, &bundle.password), 200);

    add(&bundle.dir, "alice", "alice password 2");
    assert_eq!(status_as(bundle, "alice", "alice password 1"), 401);
    assert_eq!(status_as(bundle, "alice", "alice password 2"), 200);

    assert_success(&remove(&bundle.dir, "alice"));
    assert_eq!(status_as(bundle, "alice", "alice password 2"), 401);
    assert_eq!(status_as(bundle, &bundle.username, &bundle.password), 200);
}

#[test]
fn prometheus_lets_an_added_user_in_and_refuses_a_removed_one_without_a_restart() {
    let Some(stack) = Stack::start(Bundle::create(Setup::prometheus_checks())) else {
        return;
    };
    let bundle = &stack.bundle;
    add(&bundle.dir, "alice", "alice password 1");
    assert_eq!(status_as(bundle, "alice", "alice password 1"), 200);
    assert_success(&remove(&bundle.dir, "alice"));
    assert_eq!(status_as(bundle, "alice", "alice password 1"), 401);
    assert_eq!(status_as(bundle, &bundle.username, &bundle.password), 200);
}

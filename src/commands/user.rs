//! `promsetup user add|remove|list`: edits the people who may sign in to a bundle that exists,
//! in its `.htpasswd` (nginx checks) and/or its `web.yml` (Prometheus checks), whichever the
//! folder holds.
//!
//! It owns finding those files, reading their user lines, and the edit itself: one user's line
//! is added, given a new hash, or removed, and every other byte stays as it was (comments, order,
//! other users, lines it does not understand). It must not write a file itself (each edited file
//! goes through `write::apply`, which keeps the old one as `NAME.bak`, and keeps the owner, group
//! and mode of a deployed file; `remove` keeps no backup unless asked, since it would hold the
//! removed user's hash), must edit only while holding the folder's lock, must not print a password except once at a terminal, must never
//! add, remove or list as a person Prometheus's self-scrape account, and must not leave a file
//! without a person who can sign in.

use std::io::{BufRead, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::bundle::artifact::Artifact;
use crate::bundle::credentials::{self, Edit, Entry, Kind, Scheme, UserLines};
use crate::bundle::layout::{
    HTPASSWD_FILE, SELF_SCRAPE_PASSWORD_FILE, SELF_SCRAPE_USER, WEB_CONFIG_FILE,
};
use crate::console::Streams;
use crate::error::{Failure, Outcome};
use crate::host::lock_wait;
use crate::host::secret_input::{self, PasswordError};
use crate::model::password::Password;
use crate::model::request::{ReportFormat, UserAction, UserRequest};
use crate::model::setup::{
    DEFAULT_BCRYPT_COST, DEFAULT_OUT_DIR, DEFAULT_PROMETHEUS_BCRYPT_COST,
    MIN_PROMETHEUS_BCRYPT_COST,
};
use crate::model::values::{BcryptCost, Invalid, UserName};
use crate::wizard::prompter::Prompter;
use crate::write::lock::{self, FolderLock};
use crate::write::{self, Access, FileSpec, Policy};

/// Runs `promsetup user ACTION` on the bundle folder: `--dir`, else `--out`, else
/// `./promsetup-bundle`.
pub fn run(
    request: UserRequest,
    streams: Streams,
    prompter: Option<&mut dyn Prompter>,
) -> Result<Outcome, Failure> {
    let show = request.bundle.show;
    if show.check || show.diff || show.format == ReportFormat::Json {
        return Err(Failure::Usage(
            "promsetup user takes neither --check, --diff nor --format json: it edits one \
             user's line and says what it did (the old file is kept as .bak)"
                .into(),
        ));
    }
    let dir = request
        .bundle
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR));
    match &request.action {
        UserAction::Add(name) => add(name, &dir, &request, streams, prompter),
        UserAction::Remove(name) => {
            remove(name, &dir, request.keep_backup, streams.out, streams.err)
        }
        UserAction::List => list(&dir, streams.out),
    }
    .map(|()| Outcome::Done)
}

// ---------------------------------------------------------------------------------------------
// The files and their lines

/// One user file as found on disk.
struct UserFile {
    path: PathBuf,
    /// Its permission bits, which the edited file keeps.
    mode: u32,
    /// Its contents, read by the parser the re-runs use too.
    lines: UserLines,
}

impl std::ops::Deref for UserFile {
    type Target = UserLines;

    fn deref(&self) -> &UserLines {
        &self.lines
    }
}

impl UserFile {
    /// The people (not the self-scrape account), each once, in the file's order.
    fn people(&self) -> Vec<&Entry> {
        let mut people: Vec<&Entry> = Vec::new();
        for entry in self.entries() {
            if entry.name != SELF_SCRAPE_USER && !people.iter().any(|p| p.name == entry.name) {
                people.push(entry);
            }
        }
        people
    }

    /// The highest bcrypt cost among the file's hashes, if any is bcrypt.
    fn highest_cost(&self) -> Option<BcryptCost> {
        self.entries()
            .filter_map(
                |entry| match Scheme::of(&String::from_utf8_lossy(self.hash_of(entry))) {
                    Scheme::Bcrypt(cost) => cost.to_string().parse::<BcryptCost>().ok(),
                    _ => None,
                },
            )
            .max_by_key(|cost| cost.get())
    }
}

/// Takes the bundle folder's lock, so that concurrent edits take turns and each survives, and
/// says what it put right after an interrupted run. A missing folder is not made: then
/// `bundle_files` says what is wrong.
fn lock_folder(dir: &Path, err: &mut dyn Write) -> Result<Option<FolderLock>, Failure> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let wait = lock_wait::from_environment()
        .map_err(Failure::Usage)?
        .unwrap_or(lock::DEFAULT_WAIT);
    let lock = FolderLock::acquire(dir, wait)?;
    if let Some(note) = lock.recovery_note() {
        writeln!(err, "note: {note}")?;
    }
    Ok(Some(lock))
}

/// The folder's `.htpasswd` and `web.yml`, whichever exist; at least one, or a usage error.
fn bundle_files(dir: &Path) -> Result<Vec<UserFile>, Failure> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Failure::Usage(format!(
                "{} is not a folder: give the bundle folder with --dir DIR",
                dir.display()
            )));
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::Usage(format!(
                "there is no folder {}: give the bundle folder with --dir DIR (or --out DIR)",
                dir.display()
            )));
        }
        Err(error) => {
            return Err(Failure::Users(format!(
                "cannot read {}: {error}",
                dir.display()
            )));
        }
    }
    let mut files = Vec::new();
    for kind in [Kind::Htpasswd, Kind::WebConfig] {
        let path = dir.join(kind.file_name());
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => {
                return Err(Failure::Users(format!(
                    "cannot read {}: {error}",
                    path.display()
                )));
            }
        };
        let bytes =
            crate::host::bounded_read::file(&path, crate::host::bounded_read::BUNDLE_FILE_LIMIT)
                .map(|bytes| bytes.to_vec())
                .map_err(|error| {
                    Failure::Users(format!("cannot read {}: {error}", path.display()))
                })?;
        let lines = UserLines::parse(kind, bytes).map_err(|why| {
            Failure::Users(format!(
                "promsetup cannot edit the users of {}: {why}; edit it by hand",
                path.display()
            ))
        })?;
        files.push(UserFile {
            path,
            mode: meta.mode() & 0o777,
            lines,
        });
    }
    if files.is_empty() {
        return Err(Failure::Usage(format!(
            "{} holds neither {HTPASSWD_FILE} nor {WEB_CONFIG_FILE}, so it has no users to \
             edit: give the folder promsetup wrote the bundle to with --dir DIR (or --out DIR)",
            dir.display()
        )));
    }
    Ok(files)
}

// ---------------------------------------------------------------------------------------------
// Editing

/// The edited user file, written over the old one with its mode, owner and group.
fn edited(file: &UserFile, contents: Zeroizing<Vec<u8>>) -> Artifact {
    Artifact {
        file_name: file.kind.file_name().to_string(),
        contents,
        mode: file.mode,
        access: Access::AsBefore,
        server_dir: None,
    }
}

/// Writes the edited files. `keep_backup`: the previous version of each becomes `NAME.bak`;
/// without it, no backup is kept and older ones are deleted.
fn write_files(
    files: &[Artifact],
    dir: &Path,
    keep_backup: bool,
    err: &mut dyn Write,
) -> Result<write::Report, Failure> {
    let specs: Vec<FileSpec> = files.iter().map(Artifact::spec).collect();
    let report = if keep_backup {
        let policy = Policy {
            force: true,
            backups: true,
        };
        write::apply(&specs, dir, policy)?
    } else {
        write::apply_dropping_backups(&specs, dir, true)?
    };
    for warning in &report.warnings {
        writeln!(err, "warning: {warning}")?;
    }
    Ok(report)
}

/// Where the previous version of `path` was kept, if it was.
fn backup_of<'a>(report: &'a write::Report, path: &Path) -> Option<&'a Path> {
    report
        .files
        .iter()
        .find(|written| written.path == path)
        .and_then(|written| written.backup.as_deref())
}

/// The file name a generated password is stored under: `NAME.password`, unless that is one of
/// the bundle's own files (a user called `self-scrape`).
fn password_file_name(name: &UserName) -> String {
    let file = format!("{name}.password");
    if file == SELF_SCRAPE_PASSWORD_FILE {
        format!("user-{name}.password")
    } else {
        file
    }
}

fn refuse_reserved(name: &UserName, action: &str) -> Result<(), Failure> {
    if name.as_str() == SELF_SCRAPE_USER {
        return Err(Failure::Usage(format!(
            "{SELF_SCRAPE_USER} is Prometheus's own account for scraping itself, not a person's: \
             promsetup does not {action} it. Choose another name"
        )));
    }
    Ok(())
}

/// Where the password came from decides what is said about it afterwards.
enum Origin {
    /// From --password-stdin, --password-file, PROMSETUP_PASSWORD, or typed at the prompt.
    Given,
    /// Generated at a terminal: shown once.
    GeneratedShown,
    /// Generated without a terminal: stored in `NAME.password`, never printed.
    GeneratedStored,
}

fn obtain_password(
    name: &UserName,
    request: &UserRequest,
    stdin: &mut dyn BufRead,
    prompter: Option<&mut dyn Prompter>,
) -> Result<(Password, Origin), Failure> {
    if let Some(obtained) = secret_input::given(request.bundle.password.as_ref(), stdin)? {
        return Ok((obtained.password, Origin::Given));
    }
    match prompter {
        Some(prompter) if !request.bundle.non_interactive => {
            let check = |text: &str| {
                Password::new(Zeroizing::new(text.to_string()))
                    .map(drop)
                    .map_err(|Invalid(why)| why)
            };
            let prompt = format!("Password for {name} (Enter: generate one)");
            match prompter.new_password(&prompt, &check)? {
                Some(text) => {
                    let password = Password::new(text).map_err(|why| PasswordError::Rule {
                        origin: "the prompt".into(),
                        why,
                    })?;
                    Ok((password, Origin::Given))
                }
                None => Ok((Password::generate(), Origin::GeneratedShown)),
            }
        }
        _ => Ok((Password::generate(), Origin::GeneratedStored)),
    }
}

/// The cost of a new hash: `--bcrypt-cost` when given; else the file's own (the highest of its
/// bcrypt hashes), never below 12 for `web.yml` (Prometheus caches a verified password), and 5
/// for an `.htpasswd` without bcrypt lines (nginx hashes on every request).
fn cost_for(file: &UserFile, flag: Option<BcryptCost>) -> Result<BcryptCost, Failure> {
    let existing = file.highest_cost();
    match (file.kind, flag) {
        (Kind::WebConfig, Some(cost)) if cost.get() < MIN_PROMETHEUS_BCRYPT_COST => {
            Err(Failure::Usage(format!(
                "--bcrypt-cost {} is too low for a web.yml: Prometheus caches a verified \
                 password, so a strong cost costs nothing after the first request; give {} or \
                 more",
                cost.get(),
                MIN_PROMETHEUS_BCRYPT_COST
            )))
        }
        (_, Some(cost)) => Ok(cost),
        (Kind::Htpasswd, None) => Ok(existing.unwrap_or(DEFAULT_BCRYPT_COST)),
        (Kind::WebConfig, None) => Ok(existing
            .filter(|cost| cost.get() > DEFAULT_PROMETHEUS_BCRYPT_COST.get())
            .unwrap_or(DEFAULT_PROMETHEUS_BCRYPT_COST)),
    }
}

/// Where the bundle says a user file lives on the server: `auth_basic_user_file` in its
/// `nginx.conf`, `--web.config.file` in its `prometheus.flags`.
fn server_path(kind: Kind, dir: &Path) -> Option<String> {
    let read = |name: &str| {
        crate::host::bounded_read::text_file(
            &dir.join(name),
            crate::host::bounded_read::BUNDLE_FILE_LIMIT,
        )
        .ok()
    };
    match kind {
        Kind::Htpasswd => read("nginx.conf")?.lines().find_map(|line| {
            let rest = line.trim().strip_prefix("auth_basic_user_file ")?;
            Some(rest.trim_end_matches(';').trim_matches('"').to_string())
        }),
        Kind::WebConfig => read("prometheus.flags")?.lines().find_map(|line| {
            line.trim()
                .strip_prefix("--web.config.file=")
                .map(str::to_string)
        }),
    }
}

/// How to put an edited file in place on the server, with its mode and group (issue 13: the
/// edit is in the bundle folder, and nothing said so).
fn install_hint(file: &UserFile, dir: &Path) -> String {
    let group = std::fs::metadata(&file.path)
        .ok()
        .and_then(|meta| nix::unistd::Group::from_gid(meta.gid().into()).ok()?)
        .map(|group| group.name);
    let target = server_path(file.kind, dir);
    format!(
        "Put it in place on the server: install -m {:04o}{} {} {}",
        file.mode,
        group
            .map(|group| format!(" -g {group}"))
            .unwrap_or_default(),
        crate::output::command::shell_quote(&file.path.display().to_string()),
        target.unwrap_or_else(|| match file.kind {
            Kind::Htpasswd => "<the path of auth_basic_user_file in nginx.conf>".into(),
            Kind::WebConfig => "<the path of Prometheus's --web.config.file>".into(),
        })
    )
}

fn reread_note(kind: Kind) -> &'static str {
    match kind {
        Kind::Htpasswd => {
            "nginx reads .htpasswd on every request: once the file is in place on the server, \
             no reload is needed."
        }
        Kind::WebConfig => {
            "Prometheus reads web.yml on every request: once the file is in place on the \
             server, no restart is needed."
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The actions

fn add(
    name: &UserName,
    dir: &Path,
    request: &UserRequest,
    streams: Streams,
    prompter: Option<&mut dyn Prompter>,
) -> Result<(), Failure> {
    refuse_reserved(name, "add")?;
    // Held from reading the files to writing them; a person typing a password holds it too.
    let _lock = lock_folder(dir, streams.err)?;
    let files = bundle_files(dir)?;
    let costs = files
        .iter()
        .map(|file| cost_for(file, request.bcrypt_cost))
        .collect::<Result<Vec<_>, _>>()?;
    let (password, origin) = obtain_password(name, request, streams.stdin, prompter)?;

    let mut artifacts = Vec::new();
    let password_file = password_file_name(name);
    if let Origin::GeneratedStored = origin {
        artifacts.push(Artifact {
            file_name: password_file.clone(),
            contents: password.as_file_line(),
            mode: 0o600,
            access: Access::Owner,
            server_dir: None,
        });
    }
    let mut messages = Vec::new();
    for (file, cost) in files.iter().zip(&costs) {
        let hash = credentials::bcrypt(&password, *cost);
        let verb = if file.holds(name.as_str()) {
            format!("Updated the password of {name} in")
        } else {
            format!("Added {name} to")
        };
        messages.push((
            file,
            format!(
                "{verb} {} (bcrypt cost {}).",
                file.path.display(),
                cost.get()
            ),
        ));
        let edit = Edit::Set {
            name: name.as_str(),
            hash: &hash,
        };
        artifacts.push(edited(file, file.edited(&edit)));
    }
    let report = write_files(&artifacts, dir, true, streams.err)?;
    // As the setup warns (steps::weak_password_warning): a short typed password under the low
    // cost nginx needs is cheap to attack if .htpasswd leaks.
    if let Origin::Given = origin
        && password.len() < 16
        && files
            .iter()
            .zip(&costs)
            .any(|(file, cost)| file.kind == Kind::Htpasswd && cost.get() < 10)
    {
        writeln!(
            streams.err,
            "warning: the password is {} characters and .htpasswd's bcrypt cost low: a leaked \
             .htpasswd would be cheap to attack. Use a long random password (leave it out to \
             have one generated)",
            password.len()
        )?;
    }

    let out = streams.out;
    for (file, message) in &messages {
        writeln!(out, "{message}")?;
        if let Some(backup) = backup_of(&report, &file.path) {
            writeln!(out, "The previous file is kept as {}.", backup.display())?;
        }
    }
    let stored = dir.join(&password_file);
    match origin {
        Origin::GeneratedStored => {
            writeln!(
                out,
                "The generated password for {name} is in {} (mode 0600); give it to them, then \
                 delete the file.",
                stored.display()
            )?;
        }
        Origin::GeneratedShown => {
            writeln!(
                out,
                "The generated password for {name} (shown this once; it is stored nowhere \
                 else):\n\n    {}\n",
                password.expose()
            )?;
        }
        Origin::Given => {
            if std::fs::symlink_metadata(&stored).is_ok() {
                writeln!(
                    out,
                    "{} holds {name}'s previous password, which no longer works; delete it.",
                    stored.display()
                )?;
            }
        }
    }
    for file in &files {
        writeln!(out, "{}", reread_note(file.kind))?;
        writeln!(out, "{}", install_hint(file, dir))?;
    }
    Ok(())
}

fn remove(
    name: &UserName,
    dir: &Path,
    keep_backup: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    refuse_reserved(name, "remove")?;
    let _lock = lock_folder(dir, err)?;
    let files = bundle_files(dir)?;
    let holding: Vec<&UserFile> = files.iter().filter(|f| f.holds(name.as_str())).collect();
    if holding.is_empty() {
        let mut people: Vec<&str> = Vec::new();
        for file in &files {
            for entry in file.people() {
                if !people.contains(&entry.name.as_str()) {
                    people.push(&entry.name);
                }
            }
        }
        let places = files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect::<Vec<_>>()
            .join(" or ");
        let users = if people.is_empty() {
            "it has no users".to_string()
        } else {
            format!("the users are: {}", people.join(", "))
        };
        return Err(Failure::Users(format!(
            "there is no user {name} in {places}; {users}"
        )));
    }
    for file in &holding {
        if file
            .people()
            .iter()
            .all(|entry| entry.name == name.as_str())
        {
            return Err(Failure::Users(format!(
                "{name} is the last user in {}: a bundle without users would lock everyone out \
                 ({} would refuse every password). Add the next user first (promsetup user add \
                 NAME), then remove {name}",
                file.path.display(),
                file.kind.checker()
            )));
        }
    }
    let artifacts: Vec<Artifact> = holding
        .iter()
        .map(|file| {
            edited(
                file,
                file.edited(&Edit::Remove {
                    name: name.as_str(),
                }),
            )
        })
        .collect();
    let report = write_files(&artifacts, dir, keep_backup, err)?;
    for file in &holding {
        writeln!(out, "Removed {name} from {}.", file.path.display())?;
        if let Some(backup) = backup_of(&report, &file.path) {
            writeln!(
                out,
                "The previous file, with {name} in it, is kept as {}.",
                backup.display()
            )?;
        }
    }
    for deleted in &report.removed_backups {
        writeln!(
            out,
            "Deleted {}: it may hold {name}'s hash (--keep-backup keeps a backup).",
            deleted.display()
        )?;
    }
    let stored = dir.join(password_file_name(name));
    if std::fs::symlink_metadata(&stored).is_ok() {
        writeln!(
            out,
            "{} still holds {name}'s password, which no longer works; delete it.",
            stored.display()
        )?;
    }
    for file in &holding {
        writeln!(out, "{}", reread_note(file.kind))?;
        writeln!(out, "{}", install_hint(file, dir))?;
    }
    Ok(())
}

/// One line per person, in the files' order: the name, then each file that holds it with its
/// hash scheme. Prometheus's self-scrape account comes last, marked as such.
fn list(dir: &Path, out: &mut dyn Write) -> Result<(), Failure> {
    let files = bundle_files(dir)?;
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for file in &files {
        let mut seen: Vec<&str> = Vec::new();
        for entry in file.entries() {
            if seen.contains(&entry.name.as_str()) {
                continue; // nginx reads the first line of a name only
            }
            seen.push(&entry.name);
            let place = format!(
                "{}: {}",
                file.kind.file_name(),
                Scheme::of(&String::from_utf8_lossy(file.hash_of(entry)))
            );
            match rows.iter_mut().find(|(name, _)| *name == entry.name) {
                Some((_, places)) => places.push(place),
                None => rows.push((entry.name.clone(), vec![place])),
            }
        }
    }
    if rows.is_empty() {
        let names = files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect::<Vec<_>>()
            .join(" and ");
        writeln!(out, "No users in {names}.")?;
        return Ok(());
    }
    // People first; the self-scrape account is not a person and cannot be removed.
    rows.sort_by_key(|(name, _)| name == SELF_SCRAPE_USER);
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, places) in &rows {
        let note = if name == SELF_SCRAPE_USER {
            "  (Prometheus's self-scrape)"
        } else {
            ""
        };
        writeln!(out, "{name:<width$}  {}{note}", places.join(", "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(kind: Kind, text: &str) -> UserFile {
        UserFile {
            path: PathBuf::from(kind.file_name()),
            mode: 0o640,
            lines: UserLines::parse(kind, text.as_bytes().to_vec()).unwrap(),
        }
    }

    fn names(file: &UserFile) -> Vec<&str> {
        file.entries().map(|e| e.name.as_str()).collect()
    }

    fn apply(file: &UserFile, edit: Edit) -> String {
        String::from_utf8(file.edited(&edit).to_vec()).unwrap()
    }

    #[test]
    fn htpasswd_lines_are_read_as_nginx_reads_them() {
        let f = file(
            Kind::Htpasswd,
            "# team\nadmin:$2y$05$abc\nnot a user line\nlegacy:{SHA}xyz:comment\n:nameless\n",
        );
        assert_eq!(names(&f), ["admin", "legacy"]);
        let legacy = f.entries().nth(1).unwrap();
        assert_eq!(f.hash_of(legacy), b"{SHA}xyz");
        assert_eq!(f.highest_cost().unwrap().get(), 5);
    }

    #[test]
    fn setting_a_hash_replaces_only_the_hash_and_keeps_a_comment_field() {
        let f = file(Kind::Htpasswd, "a:$2y$05$old:note\r\nb:h\n");
        let set = Edit::Set {
            name: "a",
            hash: "NEW",
        };
        assert_eq!(apply(&f, set), "a:NEW:note\r\nb:h\n");
    }

    #[test]
    fn a_new_user_goes_on_a_line_of_its_own_even_without_a_final_newline() {
        let f = file(Kind::Htpasswd, "a:h");
        let set = Edit::Set {
            name: "b",
            hash: "H",
        };
        assert_eq!(apply(&f, set), "a:h\nb:H\n");
    }

    #[test]
    fn duplicate_lines_of_a_user_are_dropped_when_the_password_changes() {
        let f = file(Kind::Htpasswd, "a:1\nb:2\na:3\n");
        let set = Edit::Set {
            name: "a",
            hash: "N",
        };
        assert_eq!(apply(&f, set), "a:N\nb:2\n");
        assert_eq!(apply(&f, Edit::Remove { name: "a" }), "b:2\n");
    }

    const WEB_YML: &str = "# header\ntls_server_config:\n  cert_file: \"/x.crt\"\n\
basic_auth_users:\n  \"admin\": \"$2y$12$aaa\"\n  # a note\n  bob: $2y$13$bbb # bare\n  \
\"prometheus-self-scrape\": \"$2y$12$ccc\"\nother: 1\n";

    #[test]
    fn web_yml_users_are_read_quoted_or_bare() {
        let f = file(Kind::WebConfig, WEB_YML);
        assert_eq!(names(&f), ["admin", "bob", SELF_SCRAPE_USER]);
        let bob = f.entries().nth(1).unwrap();
        assert_eq!(f.hash_of(bob), b"$2y$13$bbb");
        assert_eq!(f.highest_cost().unwrap().get(), 13);
        assert_eq!(
            f.people().iter().map(|e| &e.name).collect::<Vec<_>>(),
            ["admin", "bob"]
        );
    }

    #[test]
    fn a_new_web_yml_user_goes_after_the_people_before_the_self_scrape_account() {
        let f = file(Kind::WebConfig, WEB_YML);
        let set = Edit::Set {
            name: "carol",
            hash: "$2y$13$new",
        };
        let text = apply(&f, set);
        assert_eq!(
            text,
            WEB_YML.replace("# bare\n", "# bare\n  \"carol\": \"$2y$13$new\"\n")
        );
        let set = Edit::Set {
            name: "bob",
            hash: "$2y$13$new",
        };
        assert_eq!(apply(&f, set), WEB_YML.replace("$2y$13$bbb", "$2y$13$new"));
    }

    #[test]
    fn web_yml_forms_promsetup_cannot_edit_are_refused() {
        for text in ["basic_auth_users: {a: b}\n", "tls_server_config:\n  x: y\n"] {
            assert!(UserLines::parse(Kind::WebConfig, text.as_bytes().to_vec()).is_err());
        }
    }

    #[test]
    fn web_yml_cost_is_at_least_12_and_a_low_flag_is_refused() {
        let f = file(
            Kind::WebConfig,
            "basic_auth_users:\n  \"a\": \"$2y$10$x\"\n",
        );
        assert_eq!(cost_for(&f, None).unwrap().get(), 12);
        assert!(cost_for(&f, Some(BcryptCost::new_const(4))).is_err());
        let h = file(Kind::Htpasswd, "a:$2y$07$x\n");
        assert_eq!(cost_for(&h, None).unwrap().get(), 7);
        let empty = file(Kind::Htpasswd, "# nobody\n");
        assert_eq!(cost_for(&empty, None).unwrap().get(), 5);
    }
}

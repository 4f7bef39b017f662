//! Installing promsetup without Rust (issue 16): `--version`, the shell completions and man pages
//! generated from the clap definitions, and the Debian package built by `packaging/build-deb`.
//!
//! The package is built from the binary these tests run (`--binary`, no second compile), or,
//! when `PROMSETUP_DEB` names a .deb (e.g. the release one `packaging/build-deb` made), that
//! package is checked instead. bash, groff, cargo-deb and dpkg's tools are required under CI.

#![allow(clippy::disallowed_methods)] // tests arrange files by hand

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{current_uid, promsetup_command, require};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// Runs `command`, panicking with its output unless it succeeds; returns standard output.
fn run_ok(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        describe(&output)
    );
    text(&output.stdout)
}

/// `promsetup ARGS`, which must succeed; its standard output.
fn promsetup(args: &[&str]) -> String {
    let output = promsetup_command().args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", describe(&output));
    text(&output.stdout)
}

// ---------------------------------------------------------------------------------------------
// --version

/// The commit `build.rs` should have found: `git rev-parse --short HEAD` in this checkout, or
/// "unknown" when this is no git checkout.
fn expected_commit() -> Option<String> {
    let git = require("git")?;
    let output = Command::new(git)
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(MANIFEST_DIR)
        .output()
        .unwrap();
    Some(if output.status.success() {
        text(&output.stdout).trim().to_string()
    } else {
        "unknown".to_string()
    })
}

/// Checks a `--version` text: version, commit line, bcrypt line; returns the commit.
fn check_version_text(version: &str) -> String {
    let lines: Vec<&str> = version.lines().collect();
    assert_eq!(lines.len(), 3, "{version}");
    assert_eq!(lines[0], format!("promsetup {VERSION}"));
    let commit = lines[1]
        .strip_prefix("commit: ")
        .unwrap_or_else(|| panic!("no commit line: {version}"));
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{version}"
    );
    assert!(
        [
            "bcrypt: system crypt (libxcrypt)",
            "bcrypt: bcrypt crate (the system's crypt has no bcrypt)"
        ]
        .contains(&lines[2]),
        "{version}"
    );
    commit.to_string()
}

#[test]
fn version_names_the_commit_and_the_bcrypt_backend() {
    let version = promsetup(&["--version"]);
    let commit = check_version_text(&version);
    if let Some(expected) = expected_commit() {
        assert_eq!(commit, expected, "{version}");
    }
    // Debian's libcrypt1 is libxcrypt, which has bcrypt: the system's crypt must be the one used.
    if Path::new("/etc/debian_version").exists() {
        assert!(version.contains("system crypt"), "{version}");
    }
    // -V, and after a subcommand, say the same.
    assert_eq!(promsetup(&["-V"]), version);
    assert_eq!(promsetup(&["verify", "--version"]), version);
    assert_eq!(promsetup(&["user", "add", "--version"]), version);
}

// ---------------------------------------------------------------------------------------------
// Completions

/// What bash's completion function, from `script`, offers for the command line `words` (the
/// last word is the one being completed), as bash calls it on Tab.
fn bash_complete(script: &Path, words: &[&str]) -> Option<Vec<String>> {
    let bash = require("bash")?;
    let driver = r#"
        source "$1" || exit 90
        spec=$(complete -p promsetup) || exit 91
        function=$(sed -n 's/.* -F \([^ ]*\) .*/\1/p' <<<"$spec")
        [ -n "$function" ] || exit 92
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        "$function" promsetup "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let output = Command::new(bash)
        .args(["--norc", "--noprofile", "-c", driver, "driver"])
        .arg(script)
        .args(words)
        .output()
        .unwrap();
    assert!(output.status.success(), "{words:?}: {}", describe(&output));
    Some(text(&output.stdout).lines().map(String::from).collect())
}

/// The completions bash offers from `script`, checked against what the command line accepts.
fn check_bash_completions(script: &Path) {
    let Some(domain) = bash_complete(script, &["promsetup", "--dom"]) else {
        return;
    };
    assert_eq!(domain, ["--domain"]);
    let verify = bash_complete(script, &["promsetup", "verify", "--u"]).unwrap();
    assert!(verify.contains(&"--url".to_string()), "{verify:?}");
    assert!(verify.iter().all(|c| c.starts_with("--u")), "{verify:?}");
    // --url is verify's own: not offered at the top level.
    let top = bash_complete(script, &["promsetup", "--u"]).unwrap();
    assert!(!top.contains(&"--url".to_string()), "{top:?}");
    assert!(top.contains(&"--username".to_string()), "{top:?}");
    // Subcommands, and the shells of `completions`.
    let commands = bash_complete(script, &["promsetup", "ve"]).unwrap();
    assert!(commands.contains(&"verify".to_string()), "{commands:?}");
    let shells = bash_complete(script, &["promsetup", "completions", ""]).unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(shells.contains(&shell.to_string()), "{shell}: {shells:?}");
    }
}

#[test]
fn the_bash_completion_completes_flags_of_the_command_and_its_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("promsetup.bash");
    fs::write(&script, promsetup(&["completions", "bash"])).unwrap();
    check_bash_completions(&script);
}

#[test]
fn completions_exist_for_each_shell_and_an_unknown_shell_is_refused() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = promsetup(&["completions", shell]);
        assert!(script.contains("--domain"), "{shell}");
        assert!(script.contains("--url"), "{shell}");
    }
    let output = promsetup_command()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

// ---------------------------------------------------------------------------------------------
// Man pages

/// The visible subcommands `--help` lists for the command at `path` (clap's `help` left out).
fn subcommands(path: &[String]) -> Vec<String> {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let help = promsetup(&args);
    let Some((_, listed)) = help.split_once("\nCommands:\n") else {
        return Vec::new();
    };
    listed
        .lines()
        .take_while(|line| !line.trim().is_empty())
        // An entry is indented by two spaces; its wrapped description by more.
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(String::from)
        .collect()
}

/// Every command path `--help` shows: `[]`, `["init"]`, `["user", "add"]`, ...
fn command_paths() -> Vec<Vec<String>> {
    let mut paths = vec![Vec::new()];
    let mut index = 0;
    while index < paths.len() {
        let path = paths[index].clone();
        for name in subcommands(&path) {
            let mut child = path.clone();
            child.push(name);
            paths.push(child);
        }
        index += 1;
    }
    paths
}

fn page_name(path: &[String]) -> String {
    std::iter::once("promsetup")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("-")
}

/// `promsetup man --out DIR`: the pages it wrote, by file name.
fn generate_pages(dir: &Path) -> BTreeSet<String> {
    let listed = promsetup(&["man", "--out", dir.to_str().unwrap()]);
    let names: BTreeSet<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(listed.lines().count(), names.len(), "{listed}");
    names
}

/// Renders a man page with groff as `man` does, without hyphenation nor bold or underlining
/// (`-P-cbou`); returns the text (groff's Unicode minus and hyphen read as `-`) and groff's
/// warnings.
fn render(page: &Path) -> Option<(String, String)> {
    let groff = require("groff")?;
    let output = Command::new(groff)
        .args(["-man", "-Tutf8", "-ww", "-rHY=0", "-P-cbou"])
        .arg(page)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let rendered = text(&output.stdout).replace(['\u{2212}', '\u{2010}'], "-");
    Some((rendered, text(&output.stderr)))
}

/// The long flags an option list of `--help` defines (`  -V, --version`, `      --url <URL>`).
fn defined_long_flags(help: &str) -> BTreeSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter_map(|line| {
            let line = line.strip_prefix("--").map(|_| line).or_else(|| {
                let (short, rest) = line.split_at_checked(4)?;
                (short.starts_with('-') && short.ends_with(", ") && rest.starts_with("--"))
                    .then_some(rest)
            })?;
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            Some(name)
        })
        .collect()
}

/// Whether `flag` occurs in `text` as a whole word.
fn mentions(text: &str, flag: &str) -> bool {
    text.match_indices(flag).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + flag.len()..].chars().next();
        let part_of_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '-');
        !part_of_word(before) && !part_of_word(after)
    })
}

#[test]
fn each_command_has_a_man_page_that_renders_without_warnings_and_lists_every_flag() {
    let dir = tempfile::tempdir().unwrap();
    let pages = generate_pages(dir.path());
    let paths = command_paths();
    let expected: BTreeSet<String> = paths
        .iter()
        .map(|path| format!("{}.1", page_name(path)))
        .collect();
    assert_eq!(pages, expected, "one page per command --help shows");
    for name in ["promsetup.1", "promsetup-verify.1", "promsetup-user-add.1"] {
        assert!(pages.contains(name), "{name}: {pages:?}");
    }

    for path in &paths {
        let page = dir.path().join(format!("{}.1", page_name(path)));
        let Some((rendered, warnings)) = render(&page) else {
            return;
        };
        assert_eq!(warnings, "", "{}: groff warns", page.display());
        assert!(
            rendered.contains(&page_name(path)),
            "{}: {rendered}",
            page.display()
        );
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let flags = defined_long_flags(&promsetup(&args));
        assert!(
            flags.contains("--help") && flags.contains("--version"),
            "{args:?}: {flags:?}"
        );
        if path.is_empty() || *path == ["verify"] {
            assert!(flags.contains("--domain"), "{flags:?}");
        }
        let missing: Vec<&String> = flags.iter().filter(|f| !mentions(&rendered, f)).collect();
        assert!(
            missing.is_empty(),
            "{}: flags of `promsetup {}` missing from the man page: {missing:?}",
            page.display(),
            args.join(" ")
        );
    }
}

#[test]
fn the_flag_comparison_finds_a_missing_flag() {
    // The helpers the man page test relies on, on known text: a flag that is absent is found
    // absent, and one that is only a prefix of another does not count.
    let help = "Options:\n  -V, --version\n          Print\n      --url <URL>\n          x --y\n";
    let flags = defined_long_flags(help);
    assert_eq!(
        flags,
        BTreeSet::from(["--version".to_string(), "--url".to_string()])
    );
    assert!(mentions("use --url <URL> here", "--url"));
    assert!(!mentions("use --url-prefix here", "--url"));
    assert!(!mentions("no flag", "--version"));
}

#[test]
fn man_without_a_folder_is_a_usage_error() {
    let output = promsetup_command().arg("man").output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        text(&output.stderr).contains("--out DIR"),
        "{}",
        describe(&output)
    );
}

// ---------------------------------------------------------------------------------------------
// The Debian package

/// The .deb to check: `PROMSETUP_DEB`, or one `packaging/build-deb` makes in `dir` from the
/// binary under test. `None` when a tool is missing outside CI.
fn deb(dir: &Path) -> Option<(PathBuf, bool)> {
    if let Some(path) = std::env::var_os("PROMSETUP_DEB") {
        return Some((PathBuf::from(path), false));
    }
    for program in ["cargo-deb", "dpkg-shlibdeps", "strip", "gzip"] {
        require(program)?;
    }
    let started = std::time::Instant::now();
    run_ok(
        Command::new(Path::new(MANIFEST_DIR).join("packaging/build-deb"))
            .args([
                "--fast",
                "--binary",
                env!("CARGO_BIN_EXE_promsetup"),
                "--output",
            ])
            .arg(dir)
            .current_dir(MANIFEST_DIR),
    );
    eprintln!("packaging/build-deb took {:?}", started.elapsed());
    let debs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "deb"))
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    Some((debs[0].clone(), true))
}

/// One line of `dpkg-deb -c`: `-rw-r--r-- 0/0  2935 2026-12-01 00:00 ./usr/share/...`.
#[derive(Debug)]
struct Entry {
    path: String,
    kind: char,
    mode: u32,
    owner: String,
}

fn contents(deb: &Path) -> Vec<Entry> {
    let listing = run_ok(Command::new("dpkg-deb").arg("-c").arg(deb));
    listing
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 6, "{line}");
            let perms = fields[0];
            let mode = perms[1..]
                .chars()
                .fold(0, |mode, c| (mode << 1) | u32::from(c != '-'));
            Entry {
                path: fields[5].trim_start_matches('.').to_string(),
                kind: perms.chars().next().unwrap(),
                mode,
                owner: fields[1].to_string(),
            }
        })
        .collect()
}

fn field(deb: &Path, name: &str) -> String {
    run_ok(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name))
        .trim()
        .to_string()
}

#[test]
fn the_deb_holds_the_binary_pages_completions_and_docs_and_installs_into_a_private_root() {
    let work = tempfile::tempdir().unwrap();
    let Some((deb, from_this_binary)) = deb(&work.path().join("out")) else {
        return;
    };
    for program in ["dpkg-deb", "dpkg"] {
        if require(program).is_none() {
            return;
        }
    }

    // The control fields.
    assert_eq!(field(&deb, "Package"), "promsetup");
    assert!(
        field(&deb, "Version").starts_with(&format!("{VERSION}-")),
        "{}",
        field(&deb, "Version")
    );
    let depends = field(&deb, "Depends");
    for library in ["libc6 (>= ", "libcrypt1 (>= "] {
        assert!(depends.contains(library), "Depends: {depends}");
    }
    assert!(
        !depends.contains("nginx") && !depends.contains("prometheus"),
        "nginx and Prometheus are no hard dependencies: {depends}"
    );
    let recommends = field(&deb, "Recommends");
    assert!(
        recommends.contains("nginx") && recommends.contains("prometheus"),
        "Recommends: {recommends}"
    );

    // The files, their modes and owners: exactly these.
    let pages_dir = work.path().join("pages");
    let pages = generate_pages(&pages_dir);
    let mut expected: BTreeSet<(String, u32)> = BTreeSet::from([
        ("/usr/bin/promsetup".to_string(), 0o755),
        (
            "/usr/share/bash-completion/completions/promsetup".to_string(),
            0o644,
        ),
        (
            "/usr/share/zsh/vendor-completions/_promsetup".to_string(),
            0o644,
        ),
        (
            "/usr/share/fish/vendor_completions.d/promsetup.fish".to_string(),
            0o644,
        ),
        ("/usr/share/doc/promsetup/README.md".to_string(), 0o644),
        (
            "/usr/share/doc/promsetup/report-schema.json".to_string(),
            0o644,
        ),
        ("/usr/share/doc/promsetup/copyright".to_string(), 0o644),
    ]);
    expected.extend(
        pages
            .iter()
            .map(|page| (format!("/usr/share/man/man1/{page}.gz"), 0o644)),
    );
    let entries = contents(&deb);
    let files: BTreeSet<(String, u32)> = entries
        .iter()
        .filter(|e| e.kind == '-')
        .map(|e| (e.path.clone(), e.mode))
        .collect();
    assert_eq!(files, expected);
    for entry in &entries {
        assert_eq!(entry.owner, "0/0", "{entry:?}");
        assert!(matches!(entry.kind, '-' | 'd'), "{entry:?}");
        if entry.kind == 'd' {
            assert_eq!(entry.mode, 0o755, "{entry:?}");
        }
    }

    // Installed into a private root: dpkg's own database there when root (as CI runs), else
    // unpacked with `dpkg -x`.
    let root = work.path().join("root");
    let installed_by_dpkg = current_uid() == 0;
    if installed_by_dpkg {
        for dir in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
        // libc6 and libcrypt1 are this machine's, not in the private root's database.
        run_ok(
            Command::new("dpkg")
                .arg(format!("--root={}", root.display()))
                .args(["--force-depends", "--log=/dev/null", "-i"])
                .arg(&deb),
        );
        let status = run_ok(
            Command::new("dpkg")
                .arg(format!("--root={}", root.display()))
                .args(["-s", "promsetup"]),
        );
        assert!(status.contains("Status: install ok installed"), "{status}");
    } else {
        eprintln!("not root: unpacking with dpkg -x instead of installing with dpkg --root");
        run_ok(Command::new("dpkg").arg("-x").arg(&deb).arg(&root));
    }

    let binary = root.join("usr/bin/promsetup");
    let version = run_ok(Command::new(&binary).arg("--version"));
    check_version_text(&version);
    if from_this_binary {
        assert_eq!(version, promsetup(&["--version"]));
    }

    // The packaged pages are the generated ones, and the packaged bash completion completes.
    if from_this_binary {
        for page in &pages {
            let packaged = root.join(format!("usr/share/man/man1/{page}.gz"));
            let unpacked = Command::new("gzip")
                .arg("-dc")
                .arg(&packaged)
                .output()
                .unwrap();
            assert!(unpacked.status.success(), "{}", describe(&unpacked));
            assert_eq!(
                unpacked.stdout,
                fs::read(pages_dir.join(page)).unwrap(),
                "{page}"
            );
        }
    }
    check_bash_completions(&root.join("usr/share/bash-completion/completions/promsetup"));

    if installed_by_dpkg {
        run_ok(
            Command::new("dpkg")
                .arg(format!("--root={}", root.display()))
                .args(["--log=/dev/null", "-r", "promsetup"]),
        );
        assert!(!binary.exists(), "dpkg -r left the binary");
        assert!(
            !root.join("usr/share/man/man1/promsetup.1.gz").exists(),
            "dpkg -r left the man page"
        );
    }
}

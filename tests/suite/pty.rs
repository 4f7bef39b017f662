//! `promsetup init` as a person meets it: the real binary in a pseudo-terminal, driven key by
//! key through dialoguer's prompts. Checks what only a terminal shows: defaults taken with
//! Enter, a bad answer asked again, the hidden password typed twice, Ctrl-C leaving nothing
//! written and the terminal's echo back on (also when it lands as a signal, just before a
//! question switches to raw mode), Ctrl-C after the bundle was written not denying it,
//! remembered answers offered next time, and `init` without a terminal pointing at the
//! equivalent `--non-interactive` command.
//!
//! Every wait is bounded (`TIMEOUT`), so a hang fails the test instead of blocking it, and the
//! failure shows everything the terminal displayed so far.

#![allow(clippy::disallowed_methods)] // tests read the files the binary wrote

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::{ControlCode, Eof, Expect, Session};
use tempfile::TempDir;

/// Longest wait for any one thing: a prompt, the echo to change, the process to end.
const TIMEOUT: Duration = Duration::from_secs(10);

const DOMAIN_PROMPT: &str = "Domain (DNS name or IP address clients use)";
const PORT_PROMPT: &str = "Port nginx listens on";
const PREFIX_PROMPT: &str = "URL prefix";
const USER_PROMPT: &str = "User name";
const PASSWORD_PROMPT: &str = "Password (Enter: generate a strong one)";
const REPEAT_PROMPT: &str = "Repeat the password";
const TLS_PROMPT: &str = "TLS";
const OUT_PROMPT: &str = "Output folder";
const CONFIRM_PROMPT: &str = "Write these files?";
const SAVE_PROMPT: &str = "for the next run (never the password)?";
const ANSWERS_FILE: &str = "promsetup.toml";
const INTERRUPTED: &str = "Interrupted: nothing was written.";
const HIDE_CURSOR: &str = "\x1b[?25l";
const SHOW_CURSOR: &str = "\x1b[?25h";
const GENERATED_HEADER: &str = "(shown this once; it is stored nowhere else):";

/// A place to run in: the working folder (the bundle goes to its `promsetup-bundle`) and the
/// config folder (`XDG_CONFIG_HOME`, also `HOME`), both temporary.
struct Place {
    cwd: TempDir,
    config: TempDir,
}

impl Place {
    fn new() -> Place {
        Place {
            cwd: TempDir::new().expect("temporary working folder"),
            config: TempDir::new().expect("temporary config folder"),
        }
    }

    /// A new working folder, the same config folder: "next time".
    fn next_time(self) -> Place {
        Place {
            cwd: TempDir::new().expect("temporary working folder"),
            config: self.config,
        }
    }

    fn bundle(&self) -> PathBuf {
        self.cwd.path().join("promsetup-bundle")
    }

    fn remembered(&self) -> PathBuf {
        self.config
            .path()
            .join("promsetup")
            .join("last-answers.toml")
    }

    /// The binary with a predictable environment: no colours, a known terminal type, the
    /// temporary folders, and no password or colour settings inherited from the caller.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.cwd.path())
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env("XDG_CONFIG_HOME", self.config.path())
            .env("HOME", self.config.path())
            .env_remove("PROMSETUP_PASSWORD")
            .env_remove("CLICOLOR")
            .env_remove("CLICOLOR_FORCE");
        command
    }

    /// Starts `promsetup ARGS` in a pseudo-terminal. The terminal is first given echo, as a
    /// person's terminal has (the pty starts without it), so that the test can see that the
    /// binary turns it back on after a hidden prompt.
    fn spawn(&self, args: &[&str]) -> Terminal {
        let mut command = self.command("sh");
        command
            .arg("-c")
            .arg("stty echo && exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_promsetup"))
            .args(args)
            // A whole nginx.conf whatever this host's nginx includes (the default would follow
            // it); after the subcommand, as every flag may be.
            .args(["--nginx-layout", "full"]);
        let mut session = Session::spawn(command).expect("spawn promsetup in a pty");
        session.set_expect_timeout(Some(TIMEOUT));
        Terminal {
            session,
            screen: String::new(),
        }
    }

    /// Runs `promsetup ARGS` with no terminal at all: stdin from /dev/null, output captured.
    fn run_without_terminal(&self, args: &[&str]) -> std::process::Output {
        self.command(env!("CARGO_BIN_EXE_promsetup"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run promsetup")
    }
}

/// How the process ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Exited(i32),
    Signalled(String),
}

/// The binary running in a pty, and everything it has displayed so far.
struct Terminal {
    session: OsSession,
    screen: String,
}

impl Terminal {
    /// Waits (at most `TIMEOUT`) until `text` is displayed; consumes the output up to it.
    fn expect(&mut self, text: &str) {
        match self.session.expect(text) {
            Ok(found) => self
                .screen
                .push_str(&String::from_utf8_lossy(found.as_bytes())),
            Err(error) => self.fail(&format!("waiting for {text:?}: {error}")),
        }
    }

    fn fail(&mut self, why: &str) -> ! {
        // Whatever arrived but did not match is the most useful part.
        let mut rest = vec![0u8; 1 << 16];
        let n = self.session.try_read(&mut rest).unwrap_or(0);
        panic!(
            "{why}\n--- the terminal showed ---\n{}{}\n---",
            self.screen,
            String::from_utf8_lossy(&rest[..n])
        );
    }

    fn send_line(&mut self, text: &str) {
        self.session.send_line(text).expect("type into the pty");
    }

    /// Answers a text question (a select or a confirmation too: Enter takes the default).
    fn answer(&mut self, prompt: &str, reply: &str) {
        self.expect(prompt);
        self.send_line(reply);
    }

    /// Whether the terminal echoes what is typed.
    fn echo(&self) -> bool {
        self.session
            .get_process()
            .get_echo()
            .expect("read the pty's settings")
    }

    /// Waits until the question on screen is reading its answer, which is when it has turned
    /// echo off: a hidden entry reads a line without echo, and every other question reads
    /// keys in raw mode. Needed before typing a password: the hidden read discards what was
    /// typed before it started (TCSAFLUSH).
    fn wait_until_reading(&mut self) {
        let start = Instant::now();
        while self.echo() {
            if start.elapsed() > TIMEOUT {
                self.fail("the question never started reading (echo stayed on)");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Answers a hidden password question; `""` is Enter alone.
    fn answer_hidden(&mut self, prompt: &str, reply: &str) {
        self.expect(prompt);
        self.wait_until_reading();
        self.send_line(reply);
    }

    /// Answers `prompt` whichever kind of question it is.
    fn reply(&mut self, prompt: &str, reply: &str) {
        if is_hidden(prompt) {
            self.answer_hidden(prompt, reply);
        } else {
            self.answer(prompt, reply);
        }
    }

    fn press_ctrl_c(&mut self) {
        self.session
            .send(ControlCode::EndOfText)
            .expect("press Ctrl-C");
    }

    /// Reads everything up to the end of the output, then waits (bounded) for the process to
    /// end and returns how it ended.
    fn finish(&mut self) -> Ended {
        self.expect_end_of_output();
        let start = Instant::now();
        loop {
            match self.session.get_process().status() {
                Ok(WaitStatus::StillAlive) if start.elapsed() <= TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(WaitStatus::Exited(_, code)) => return Ended::Exited(code),
                Ok(WaitStatus::Signaled(_, signal, _)) => {
                    return Ended::Signalled(format!("{signal:?}"));
                }
                other => self.fail(&format!("the process did not end: {other:?}")),
            }
        }
    }

    fn expect_end_of_output(&mut self) {
        match self.session.expect(Eof) {
            Ok(found) => self
                .screen
                .push_str(&String::from_utf8_lossy(found.as_bytes())),
            Err(error) => self.fail(&format!("waiting for the process to end: {error}")),
        }
    }

    /// The answers that take every default after the domain (password Enter = generate).
    fn accept_defaults_after_domain(&mut self) {
        self.answer(PORT_PROMPT, "");
        self.answer(PREFIX_PROMPT, "");
        self.answer(USER_PROMPT, "");
        self.answer_hidden(PASSWORD_PROMPT, "");
        self.answer(TLS_PROMPT, "");
        self.answer(OUT_PROMPT, "");
        self.answer(CONFIRM_PROMPT, "");
        self.answer(SAVE_PROMPT, "");
    }
}

fn is_hidden(prompt: &str) -> bool {
    prompt == PASSWORD_PROMPT || prompt == REPEAT_PROMPT
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The `user:hash` line of the bundle's `.htpasswd`, split.
fn htpasswd(bundle: &Path) -> (String, String) {
    let text = read(&bundle.join(".htpasswd"));
    let line = text.lines().next().expect("a line in .htpasswd");
    let (user, hash) = line.split_once(':').expect("user:hash");
    (user.to_string(), hash.to_string())
}

fn verifies(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).expect("a bcrypt hash")
}

/// The generated password as printed after the header: the first non-empty line below it.
fn printed_password(screen: &str) -> String {
    let (_, after) = screen
        .split_once(GENERATED_HEADER)
        .unwrap_or_else(|| panic!("no generated password shown:\n{screen}"));
    after
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .expect("a line with the password")
        .to_string()
}

/// The one name every `server_name` line of `nginx.conf` gives (the HTTPS server and the
/// redirecting plain-HTTP one).
fn server_name(nginx_conf: &str) -> String {
    let mut names: Vec<&str> = nginx_conf
        .lines()
        .filter_map(|line| line.trim().strip_prefix("server_name "))
        .map(|rest| rest.trim_end_matches(';').trim())
        .collect();
    names.dedup();
    assert_eq!(names.len(), 1, "one server name:\n{nginx_conf}");
    names[0].to_string()
}

#[test]
fn accepting_every_default_writes_a_bundle_answering_only_the_domain() {
    let place = Place::new();
    let mut terminal = place.spawn(&["init"]);
    terminal.answer(DOMAIN_PROMPT, "example.com");
    terminal.accept_defaults_after_domain();
    assert_eq!(terminal.finish(), Ended::Exited(0), "{}", terminal.screen);
    let screen = &terminal.screen;

    let bundle = place.bundle();
    for (file, expected) in [
        ("nginx.conf", 0o644),
        (".htpasswd", 0o640),
        ("example.com.crt", 0o644),
        ("example.com.key", 0o600),
        ("prometheus.flags", 0o644),
    ] {
        assert_eq!(
            mode(&bundle.join(file)),
            expected,
            "mode of {file}; screen:\n{screen}"
        );
    }
    assert!(
        !bundle.join("password.txt").exists(),
        "the wizard shows a generated password instead of storing it"
    );
    assert_eq!(
        server_name(&read(&bundle.join("nginx.conf"))),
        "example.com"
    );

    let password = printed_password(screen);
    assert!(password.len() >= 20, "a strong password: {password:?}");
    assert_eq!(
        screen.matches(password.as_str()).count(),
        1,
        "the generated password is shown exactly once:\n{screen}"
    );
    let (user, hash) = htpasswd(&bundle);
    assert_eq!(user, "admin");
    assert!(
        verifies(&password, &hash),
        "the printed password matches .htpasswd"
    );

    let remembered = read(&place.remembered());
    assert!(remembered.contains("example.com"), "{remembered}");
    assert!(
        !remembered.contains(&password),
        "the password is never remembered:\n{remembered}"
    );
    let saved = read(&bundle.join(ANSWERS_FILE));
    assert!(saved.contains("example.com"), "{saved}");
    assert!(
        !saved.contains(&password),
        "the password is never saved:\n{saved}"
    );
    assert!(
        !remembered.to_lowercase().contains("password ="),
        "{remembered}"
    );
}

#[test]
fn a_bad_domain_is_asked_again_and_then_corrected() {
    let place = Place::new();
    let mut terminal = place.spawn(&["init"]);
    terminal.answer(DOMAIN_PROMPT, "exa;mple.com");
    // The rule, then the same question again.
    terminal.expect("';'");
    terminal.answer(DOMAIN_PROMPT, "example.org");
    terminal.accept_defaults_after_domain();
    assert_eq!(terminal.finish(), Ended::Exited(0), "{}", terminal.screen);

    let nginx_conf = read(&place.bundle().join("nginx.conf"));
    assert_eq!(server_name(&nginx_conf), "example.org");
    assert!(!nginx_conf.contains("exa;mple"), "{nginx_conf}");
}

#[test]
fn a_mismatched_password_confirmation_is_asked_again() {
    let place = Place::new();
    let mut terminal = place.spawn(&["init"]);
    terminal.answer(DOMAIN_PROMPT, "example.com");
    terminal.answer(PORT_PROMPT, "");
    terminal.answer(PREFIX_PROMPT, "");
    terminal.answer(USER_PROMPT, "");
    terminal.answer_hidden(PASSWORD_PROMPT, "first-secret-1");
    terminal.answer_hidden(REPEAT_PROMPT, "second-secret-2");
    terminal.expect("The two entries differ");
    terminal.answer_hidden(PASSWORD_PROMPT, "first-secret-1");
    terminal.answer_hidden(REPEAT_PROMPT, "first-secret-1");
    terminal.answer(TLS_PROMPT, "");
    terminal.answer(OUT_PROMPT, "");
    terminal.answer(CONFIRM_PROMPT, "");
    terminal.answer(SAVE_PROMPT, "n");
    assert_eq!(terminal.finish(), Ended::Exited(0), "{}", terminal.screen);

    let screen = &terminal.screen;
    assert!(
        !screen.contains("secret"),
        "a typed password is never shown:\n{screen}"
    );
    assert!(!screen.contains(GENERATED_HEADER), "{screen}");
    let (_, hash) = htpasswd(&place.bundle());
    assert!(verifies("first-secret-1", &hash));
    assert!(!verifies("second-secret-2", &hash));
    assert!(!place.bundle().join("password.txt").exists());
    assert!(
        !place.bundle().join(ANSWERS_FILE).exists(),
        "declined: no answers file"
    );
}

/// Checks that a run ended as an interruption must: said so once, status 130 (handled, not
/// death by SIGINT), echo on, the cursor shown, and nothing written anywhere.
fn assert_interrupted(place: &Place, terminal: &mut Terminal, at: &str) {
    terminal.expect(INTERRUPTED);
    let ended = terminal.finish();
    let screen = &terminal.screen;
    assert_eq!(
        ended,
        Ended::Exited(130),
        "Ctrl-C at {at:?} is handled and ends with 130:\n{screen}"
    );
    assert!(
        terminal.echo(),
        "Ctrl-C at {at:?} leaves the terminal without echo (still raw or hidden):\n{screen}"
    );
    // A select or confirmation hides the cursor while it is shown; leaving shows it again.
    if let Some(hidden) = screen.rfind(HIDE_CURSOR) {
        assert!(
            screen[hidden..].contains(SHOW_CURSOR),
            "Ctrl-C at {at:?} leaves the cursor hidden:\n{screen:?}"
        );
    }
    assert_eq!(
        screen.matches(INTERRUPTED).count(),
        1,
        "said once:\n{screen}"
    );
    assert!(!screen.contains("secret"), "{screen}");
    assert!(!place.bundle().exists(), "no bundle after Ctrl-C at {at:?}");
    assert!(
        !place.remembered().exists(),
        "no remembered answers after Ctrl-C at {at:?}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(place.cwd.path())
        .expect("list the working folder")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    assert!(leftovers.is_empty(), "nothing written: {leftovers:?}");
}

/// Presses Ctrl-C at the question `at`, once it is waiting for its answer, after answering
/// the ones before it.
fn interrupt_at(at: &str) {
    const BEFORE: [(&str, &str); 8] = [
        (DOMAIN_PROMPT, "example.com"),
        (PORT_PROMPT, ""),
        (PREFIX_PROMPT, ""),
        (USER_PROMPT, ""),
        (PASSWORD_PROMPT, "a-typed-secret"),
        (REPEAT_PROMPT, "a-typed-secret"),
        (TLS_PROMPT, ""),
        (OUT_PROMPT, ""),
    ];
    let place = Place::new();
    let mut terminal = place.spawn(&["init"]);
    for (prompt, reply) in BEFORE.into_iter().take_while(|(prompt, _)| *prompt != at) {
        terminal.reply(prompt, reply);
    }
    terminal.expect(at);
    terminal.wait_until_reading();
    terminal.press_ctrl_c();
    assert_interrupted(&place, &mut terminal, at);
}

#[test]
fn ctrl_c_at_a_question_writes_nothing_and_exits_130() {
    // The hidden password entry (echo off while typing), the first question, the second
    // hidden entry, the select (cursor hidden), and the confirmation, once all is planned.
    for at in [
        PASSWORD_PROMPT,
        DOMAIN_PROMPT,
        REPEAT_PROMPT,
        TLS_PROMPT,
        OUT_PROMPT,
        CONFIRM_PROMPT,
    ] {
        interrupt_at(at);
    }
}

/// How many times `ctrl_c_the_moment_a_question_appears_still_restores_the_terminal` tries.
const RACE_ATTEMPTS: usize = 100;

#[test]
fn ctrl_c_the_moment_a_question_appears_still_restores_the_terminal() {
    // Pressed before the question has switched to raw mode, Ctrl-C arrives as SIGINT rather
    // than as a key. Whatever the timing, the terminal must end as it was before the run.
    // A timing race, so tried several times; each attempt is a fresh run.
    for _ in 0..RACE_ATTEMPTS {
        let place = Place::new();
        let mut terminal = place.spawn(&["init"]);
        terminal.expect(DOMAIN_PROMPT);
        terminal.press_ctrl_c();
        assert_interrupted(&place, &mut terminal, DOMAIN_PROMPT);
    }
}

#[test]
fn without_a_terminal_init_exits_2_and_shows_the_non_interactive_command() {
    let place = Place::new();
    let output = place.run_without_terminal(&["init"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("promsetup --non-interactive --domain NAME"),
        "{stderr}"
    );
    assert!(!place.bundle().exists());
    assert!(!place.remembered().exists());
}

#[test]
fn remembered_answers_are_offered_next_time() {
    let place = Place::new();
    let mut terminal = place.spawn(&["init"]);
    terminal.answer(DOMAIN_PROMPT, "a.example.com");
    terminal.answer(PORT_PROMPT, "8443");
    terminal.answer(PREFIX_PROMPT, "");
    terminal.answer(USER_PROMPT, "");
    terminal.answer_hidden(PASSWORD_PROMPT, "");
    terminal.answer(TLS_PROMPT, "");
    terminal.answer(OUT_PROMPT, "");
    terminal.answer(CONFIRM_PROMPT, "");
    terminal.answer(SAVE_PROMPT, "");
    assert_eq!(terminal.finish(), Ended::Exited(0), "{}", terminal.screen);
    assert!(place.remembered().exists());

    let place = place.next_time();
    let mut terminal = place.spawn(&["init"]);
    terminal.expect(&format!("{DOMAIN_PROMPT} (a.example.com)"));
    terminal.send_line("");
    terminal.expect(&format!("{PORT_PROMPT} (8443)"));
    terminal.send_line("");
    terminal.answer(PREFIX_PROMPT, "");
    terminal.answer(USER_PROMPT, "");
    terminal.answer_hidden(PASSWORD_PROMPT, "");
    terminal.answer(TLS_PROMPT, "");
    terminal.answer(OUT_PROMPT, "");
    terminal.answer(CONFIRM_PROMPT, "");
    terminal.answer(SAVE_PROMPT, "");
    assert_eq!(terminal.finish(), Ended::Exited(0), "{}", terminal.screen);
    let bundle = place.bundle();
    let nginx_conf = read(&bundle.join("nginx.conf"));
    assert_eq!(server_name(&nginx_conf), "a.example.com");
    assert!(nginx_conf.contains("8443"), "{nginx_conf}");
    assert!(bundle.join("a.example.com.crt").exists());

    let output = place.run_without_terminal(&["--forget"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!place.remembered().exists(), "--forget deletes the file");
}

#[test]
fn flags_given_with_init_are_not_asked() {
    let place = Place::new();
    let mut terminal = place.spawn(&["init", "--domain", "example.com", "--prefix", "/"]);
    terminal.answer(PORT_PROMPT, "");
    terminal.answer(USER_PROMPT, "");
    terminal.answer_hidden(PASSWORD_PROMPT, "");
    terminal.answer(TLS_PROMPT, "");
    terminal.answer(OUT_PROMPT, "");
    terminal.expect(CONFIRM_PROMPT);
    let screen = terminal.screen.clone();
    assert!(!screen.contains(DOMAIN_PROMPT), "{screen}");
    assert!(!screen.contains(PREFIX_PROMPT), "{screen}");
    let summary_row = |name: &str| {
        screen
            .lines()
            .find(|line| line.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in the summary:\n{screen}"))
            .trim()
            .to_string()
    };
    let domain = summary_row("Domain");
    assert!(domain.contains("example.com"), "{domain}");
    assert!(domain.ends_with("(from flags)"), "{domain}");
    let prefix = summary_row("Prefix");
    assert!(prefix.ends_with("(from flags)"), "{prefix}");
    assert!(!summary_row("Port").contains("(from flags)"), "{screen}");
    terminal.send_line("");
    terminal.answer(SAVE_PROMPT, "");
    assert_eq!(terminal.finish(), Ended::Exited(0), "{}", terminal.screen);
    assert_eq!(
        server_name(&read(&place.bundle().join("nginx.conf"))),
        "example.com"
    );
}

#[test]
fn ctrl_c_at_the_save_question_after_writing_keeps_the_bundle_and_says_so() {
    // The bundle is written before the answers file is offered: Ctrl-C there cannot unwrite it,
    // so the run must not claim that nothing was written.
    let place = Place::new();
    let mut terminal = place.spawn(&["init", "--domain", "example.com"]);
    terminal.answer(PORT_PROMPT, "");
    terminal.answer(PREFIX_PROMPT, "");
    terminal.answer(USER_PROMPT, "");
    terminal.answer_hidden(PASSWORD_PROMPT, "");
    terminal.answer(TLS_PROMPT, "");
    terminal.answer(OUT_PROMPT, "");
    terminal.answer(CONFIRM_PROMPT, "");
    terminal.expect(SAVE_PROMPT);
    terminal.wait_until_reading();
    terminal.press_ctrl_c();
    let ended = terminal.finish();
    let screen = &terminal.screen;
    // 130 (interrupted) or 0 (taken as "no, do not save"); never death by SIGINT.
    assert!(
        matches!(ended, Ended::Exited(0 | 130)),
        "{ended:?}:\n{screen}"
    );
    assert!(terminal.echo(), "echo left off:\n{screen}");
    let bundle = place.bundle();
    for file in [
        "nginx.conf",
        ".htpasswd",
        "example.com.crt",
        "example.com.key",
    ] {
        assert!(bundle.join(file).exists(), "{file} stays written");
    }
    assert!(!bundle.join(ANSWERS_FILE).exists());
    assert!(
        !screen.contains(INTERRUPTED),
        "the bundle was written, yet the run says nothing was:\n{screen}"
    );
}

/// The "done when": from `promsetup init` to a bundle that works with the real nginx
/// and Prometheus, answering only the domain and a password (the flags only place it on free
/// loopback ports and make nginx read the files where they are written).
#[test]
fn a_bundle_made_at_the_terminal_answering_domain_and_password_serves_prometheus() {
    if crate::support::require("nginx").is_none()
        || crate::support::require("prometheus").is_none()
        || crate::support::require("curl").is_none()
    {
        return;
    }
    let place = Place::new();
    // nginx's workers (www-data) must reach the files.
    std::fs::set_permissions(place.cwd.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = place.cwd.path().join("bundle");
    let out_text = out.display().to_string();
    let (port, upstream) = (crate::support::free_port(), crate::support::free_port());
    let (port_text, upstream_text) = (port.to_string(), format!("127.0.0.1:{upstream}"));
    let mut terminal = place.spawn(&[
        "init",
        "--bind",
        "127.0.0.1",
        "--port",
        &port_text,
        "--http-port",
        "0",
        "--upstream",
        &upstream_text,
        "--conf-dir",
        &out_text,
        "--out",
        &out_text,
    ]);
    let password = "typed at the terminal, twice";
    terminal.answer(DOMAIN_PROMPT, "example.com");
    terminal.answer(PREFIX_PROMPT, "");
    terminal.answer(USER_PROMPT, "");
    terminal.answer_hidden(PASSWORD_PROMPT, password);
    terminal.answer_hidden(REPEAT_PROMPT, password);
    terminal.answer(TLS_PROMPT, "");
    terminal.answer(CONFIRM_PROMPT, "");
    terminal.answer(SAVE_PROMPT, "");
    assert_eq!(terminal.finish(), Ended::Exited(0), "{}", terminal.screen);

    let flags: Vec<String> = read(&out.join("prometheus.flags"))
        .lines()
        .map(str::to_string)
        .collect();
    let _prometheus = crate::support::Prometheus::start(&flags, place.cwd.path());
    let _nginx = crate::support::Nginx::start(&out.join("nginx.conf"), place.cwd.path());
    let request = |credentials: Option<&str>| {
        let mut args = vec![
            "--cacert".to_string(),
            out.join("example.com.crt").display().to_string(),
            "--resolve".to_string(),
            format!("example.com:{port}:127.0.0.1"),
        ];
        if let Some(credentials) = credentials {
            args.extend(["-u".to_string(), credentials.to_string()]);
        }
        args.push(format!("https://example.com:{port}/prometheus/metrics"));
        crate::support::curl(&args)
    };
    let anonymous = request(None);
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert_eq!(
        anonymous.header("WWW-Authenticate").as_deref(),
        Some("Basic realm=\"Prometheus\"")
    );
    assert_eq!(request(Some("admin:wrong")).status, 401);
    let admitted = request(Some(&format!("admin:{password}")));
    assert_eq!(admitted.status, 200, "{}", admitted.headers);
    assert!(admitted.body.contains("prometheus_build_info"));
}

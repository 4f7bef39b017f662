//! The terminal side of the wizard: the `Prompter` trait the wizard talks to, its dialoguer
//! implementation, and Ctrl-C handling.
//!
//! This is the only module that imports dialoguer (and console). It must not hold rules about values: every
//! question receives its check from the caller (the value types' `FromStr`), so the prompt and the
//! flags refuse the same things with the same words.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use console::{Term, style};
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Password, Select};
use zeroize::Zeroizing;

pub use crate::error::Interrupted;

/// A check on an answer: `Err` carries the rule, shown before the question is asked again.
pub type Check<'a> = &'a dyn Fn(&str) -> Result<(), String>;

/// What the wizard needs from a terminal. Tests drive the wizard with a scripted one.
pub trait Prompter {
    /// One line of text; asked again until `check` passes. An empty answer takes `default`.
    fn text(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        check: Check,
    ) -> Result<String, Interrupted>;
    /// A new password, hidden and typed twice; `None` when the user pressed Enter to have one
    /// generated. Asked again until `check` passes and the two entries match.
    fn new_password(
        &mut self,
        prompt: &str,
        check: Check,
    ) -> Result<Option<Zeroizing<String>>, Interrupted>;
    /// One of `items`, by index.
    fn choose(
        &mut self,
        prompt: &str,
        items: &[&str],
        default: usize,
    ) -> Result<usize, Interrupted>;
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, Interrupted>;
    /// A message for the person (a summary, a refusal), on the prompt's stream.
    fn say(&mut self, text: &str);
}

/// Whether a person can answer: dialoguer reads the terminal and draws on standard error.
pub fn terminal_attached() -> bool {
    std::io::stdin().is_terminal() && console::user_attended_stderr()
}

/// The real prompter: dialoguer on standard error, coloured unless `NO_COLOR` is set or the
/// terminal has no colours (console decides).
pub struct TerminalPrompter {
    theme: ColorfulTheme,
    term: Term,
}

impl TerminalPrompter {
    pub fn new() -> TerminalPrompter {
        TerminalPrompter {
            theme: ColorfulTheme::default(),
            term: Term::stderr(),
        }
    }
}

impl Default for TerminalPrompter {
    fn default() -> Self {
        Self::new()
    }
}

fn interrupted(_: dialoguer::Error) -> Interrupted {
    Interrupted
}

impl Prompter for TerminalPrompter {
    fn text(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        check: Check,
    ) -> Result<String, Interrupted> {
        let mut input = Input::<String>::with_theme(&self.theme)
            .with_prompt(prompt)
            .validate_with(|answer: &String| check(answer));
        if let Some(default) = default {
            input = input.default(default.to_string());
        }
        input.interact_text_on(&self.term).map_err(interrupted)
    }

    fn new_password(
        &mut self,
        prompt: &str,
        check: Check,
    ) -> Result<Option<Zeroizing<String>>, Interrupted> {
        loop {
            // Empty means "generate": one Enter, no confirmation of nothing.
            let first = Zeroizing::new(
                Password::with_theme(&self.theme)
                    .with_prompt(prompt)
                    .allow_empty_password(true)
                    .validate_with(|answer: &String| {
                        if answer.is_empty() {
                            Ok(())
                        } else {
                            check(answer)
                        }
                    })
                    .report(false)
                    .interact_on(&self.term)
                    .map_err(interrupted)?,
            );
            if first.is_empty() {
                self.say(&format!(
                    "{} {}",
                    style("✔").green().for_stderr(),
                    "Password · a strong one will be generated and shown once at the end"
                ));
                return Ok(None);
            }
            let second = Zeroizing::new(
                Password::with_theme(&self.theme)
                    .with_prompt("Repeat the password")
                    .allow_empty_password(true)
                    .report(false)
                    .interact_on(&self.term)
                    .map_err(interrupted)?,
            );
            if first == second {
                self.say(&format!(
                    "{} Password · ********",
                    style("✔").green().for_stderr()
                ));
                return Ok(Some(first));
            }
            self.say(&format!(
                "{} The two entries differ; type the password again.",
                style("✘").red().for_stderr()
            ));
        }
    }

    fn choose(
        &mut self,
        prompt: &str,
        items: &[&str],
        default: usize,
    ) -> Result<usize, Interrupted> {
        Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact_on(&self.term)
            .map_err(interrupted)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, Interrupted> {
        Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact_on(&self.term)
            .map_err(interrupted)
    }

    fn say(&mut self, text: &str) {
        let _ = self.term.write_line(text);
    }
}

/// A heading for the summary, styled by console (plain without colours).
pub fn heading(text: &str) -> String {
    style(text).bold().for_stderr().to_string()
}

static WRITING: AtomicBool = AtomicBool::new(false);

/// The terminal's settings before any prompt, as the plain C struct a signal handler can use.
static SAVED_TERMINAL: OnceLock<nix::libc::termios> = OnceLock::new();

const INTERRUPTED: &[u8] = b"\x1b[?25h\nInterrupted: nothing was written.\n";

/// Puts the terminal back as it was before the first prompt. Async-signal-safe: one
/// `tcsetattr` on data that never changes once set.
fn restore_terminal() {
    if let Some(saved) = SAVED_TERMINAL.get() {
        // SAFETY: tcsetattr on fd 0 with a valid termios read by tcgetattr.
        unsafe {
            nix::libc::tcsetattr(0, nix::libc::TCSANOW, saved);
        }
    }
}

/// SIGINT at a question. It runs on the main thread and never returns (unless writing has
/// begun), so nothing can switch the terminal to raw mode after it restored it. Only
/// async-signal-safe calls: tcsetattr, write, _exit.
extern "C" fn on_interrupt(_: nix::libc::c_int) {
    if WRITING.load(Ordering::SeqCst) {
        return;
    }
    restore_terminal();
    // SAFETY: write and _exit are async-signal-safe; the buffer is static.
    unsafe {
        nix::libc::write(2, INTERRUPTED.as_ptr().cast(), INTERRUPTED.len());
        nix::libc::_exit(130);
    }
}

/// Ends the process for an interrupt a prompt reported (console raises SIGINT itself when it
/// reads Ctrl-C in raw mode, so usually the handler has already done this): restores the
/// terminal, says so, exits with 130, the shell's code for SIGINT.
pub fn leave_interrupted() -> ! {
    restore_terminal();
    let mut stderr = std::io::stderr();
    let _ = std::io::Write::write_all(&mut stderr, INTERRUPTED);
    std::process::exit(130);
}

/// Makes Ctrl-C at any question end the run with status 130 and nothing written, with the
/// terminal restored (a hidden password prompt turns echo off; dying there would leave it off).
/// Once writing has begun, Ctrl-C no longer stops the run: each file is replaced atomically,
/// and stopping between two files would leave a bundle that does not match itself.
pub fn exit_on_interrupt() {
    if let Ok(saved) = nix::sys::termios::tcgetattr(std::io::stdin()) {
        let _ = SAVED_TERMINAL.set(saved.into());
    }
    let action = SigAction::new(
        SigHandler::Handler(on_interrupt),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only makes async-signal-safe calls.
    let _ = unsafe { sigaction(Signal::SIGINT, &action) };
}

/// Called just before the writer runs: from here on Ctrl-C no longer stops the run.
pub fn writing_begins() {
    WRITING.store(true, Ordering::SeqCst);
}

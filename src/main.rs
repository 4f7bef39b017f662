//! The promsetup binary: parses argv, attaches the terminal when there is one, runs, and maps
//! the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;
use promsetup::prompt::{self, TerminalPrompter};

fn main() -> ExitCode {
    let cli = promsetup::cli::Cli::parse();
    let host = promsetup::host::probe();
    let mut terminal = prompt::terminal_attached().then(|| {
        prompt::exit_on_interrupt();
        TerminalPrompter::new()
    });
    // Not `stdin().lock()`: the prompts read standard input too, and would wait on that lock.
    // Nor std's buffered stdin: a password read from it would stay in std's buffer.
    let mut stdin = promsetup::secret::WipedStdin::new();
    let streams = promsetup::Streams {
        stdin: &mut stdin,
        out: &mut std::io::stdout(),
        err: &mut std::io::stderr(),
    };
    let prompter = terminal
        .as_mut()
        .map(|t| t as &mut dyn promsetup::prompt::Prompter);
    match promsetup::run(cli, &host, streams, prompter) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(promsetup::Failure::Interrupted(_)) => prompt::leave_interrupted(),
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

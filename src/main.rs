//! The promsetup binary: parses argv, attaches the terminal when there is one, runs, and maps
//! the outcome to an exit status.

use std::process::ExitCode;

use promsetup::console::Output;
use promsetup::wizard::prompter::{self, Prompter, TerminalPrompter};

fn main() -> ExitCode {
    let request = promsetup::cli::parse();
    // verify runs no program but by absolute path with a clean environment: no `nginx -V`
    // from PATH with PROMSETUP_PASSWORD in its environment; it needs no host facts.
    let host = match request {
        promsetup::model::request::Request::Verify(_) => {
            promsetup::model::setup::HostFacts::unknown()
        }
        _ => promsetup::host::probe(),
    };
    let mut terminal = prompter::terminal_attached().then(|| {
        prompter::exit_on_interrupt();
        TerminalPrompter::new()
    });
    // Not `stdin().lock()`: the prompts read standard input too, and would wait on that lock.
    // Nor std's buffered stdin: a password read from it would stay in std's buffer.
    let mut stdin = promsetup::host::secret_input::WipedStdin::new();
    let mut out = Output::new(std::io::stdout());
    let mut err = Output::new(std::io::stderr());
    let streams = promsetup::Streams {
        stdin: &mut stdin,
        out: &mut out,
        err: &mut err,
    };
    let prompter = terminal.as_mut().map(|t| t as &mut dyn Prompter);
    match promsetup::run(request, &host, streams, prompter) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(promsetup::Failure::Interrupted(_)) => prompter::leave_interrupted(),
        Err(failure) => {
            // Standard error may be the broken stream itself; there is nowhere else to say it.
            let _ = std::io::Write::write_fmt(&mut err, format_args!("error: {failure}\n"));
            ExitCode::from(failure.exit_code())
        }
    }
}

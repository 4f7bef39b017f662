//! `promsetup [init] ...`: makes or updates a bundle. This file picks the flow (the wizard at a
//! terminal, else non-interactive) and reads `--config`; `steps` holds what both flows do,
//! `init` the wizard's flow and `non_interactive` the other.
//!
//! It owns the order of the steps. It must not hold rules of its own: values, defaults, contents,
//! prompts and writing each belong to their layer.

mod init;
mod non_interactive;
mod steps;

use std::path::Path;

use crate::console::Streams;
use crate::error::{Failure, Outcome};
use crate::host::{bounded_read, secret_input};
use crate::model::given::Given;
use crate::model::password::PasswordSource;
use crate::model::request::{ReportFormat, SetupRequest};
use crate::model::setup::HostFacts;
use crate::output::command;
use crate::wizard::answers::{self, Answers};
use crate::wizard::prompter::Prompter;

/// Runs a setup as asked. `prompter` is used when the run is interactive; `None` means no
/// terminal is attached.
pub fn run(
    request: SetupRequest,
    host: &HostFacts,
    streams: Streams,
    prompter: Option<&mut dyn Prompter>,
) -> Result<Outcome, Failure> {
    let environment = secret_input::from_environment()?;
    let mut flags = request.flags;
    if flags.password.is_none() && environment.is_some() {
        flags.password = Some(PasswordSource::Environment);
    }
    let given = match &request.config {
        Some(path) if path == Path::new("-") => {
            if flags.password == Some(PasswordSource::Stdin) {
                return Err(Failure::Usage(
                    "--config - and --password-stdin both read standard input; give the \
                     password with --password-file or PROMSETUP_PASSWORD"
                        .into(),
                ));
            }
            answers::overlay(flags.clone(), read_config_stream(streams.stdin)?)
        }
        Some(path) => answers::overlay(flags.clone(), read_config(path)?),
        None => flags.clone(),
    };
    let show = request.show;
    // Checking, diffing and JSON are for programs: they never ask.
    let for_programs = show.check || show.format == ReportFormat::Json;
    let wants_wizard =
        !request.non_interactive && !for_programs && (request.init || prompter.is_some());
    match prompter {
        Some(prompter) if wants_wizard => {
            init::run(flags, given, host, streams, environment, prompter)
        }
        None if wants_wizard => Err(Failure::Usage(format!(
            "promsetup init asks its questions at a terminal, and none is attached. For \
             scripts, give the answers as flags:\n\n    {}\n",
            command::non_interactive(&given)
        ))),
        _ => non_interactive::run(given, host, streams, environment, show),
    }
}

/// The answers in a `--config` file, every value checked by its flag's rule; errors name the
/// file and the key.
fn read_config(path: &Path) -> Result<Given, Failure> {
    let text = bounded_read::text_file(path, bounded_read::ANSWERS_LIMIT).map_err(|error| {
        Failure::Config(format!(
            "cannot read the answers file {}: {error}",
            path.display()
        ))
    })?;
    let answers = Answers::from_toml(&text)
        .map_err(|why| Failure::Config(format!("{}: {why}", path.display())))?;
    answers
        .to_given(path.parent())
        .map_err(|bad| Failure::Config(format!("{}: {bad}", path.display())))
}

/// `--config -`: the answers from standard input (bounded like a file); a relative `out` is taken
/// from the current folder.
fn read_config_stream(stdin: &mut dyn std::io::BufRead) -> Result<Given, Failure> {
    let text = bounded_read::text_stream(stdin, bounded_read::ANSWERS_LIMIT).map_err(|error| {
        Failure::Config(format!(
            "cannot read the answers from standard input: {error}"
        ))
    })?;
    let answers = Answers::from_toml(&text)
        .map_err(|why| Failure::Config(format!("standard input: {why}")))?;
    answers
        .to_given(None)
        .map_err(|bad| Failure::Config(format!("standard input: {bad}")))
}

//! One run of promsetup, from parsed flags to printed report, and the failures it can end in.
//!
//! It owns the order of the steps (answers file, ask or not, resolve, check a provided
//! certificate, read what an earlier run left, plan, compare or confirm, write, report) and
//! which outcome maps to which exit status. It must not hold rules of its own: values, defaults,
//! contents, prompts and writing each belong to their module.

use std::io::{BufRead, Write};
use std::path::Path;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::answers::{self, Answers};
use crate::cli::{self, Cli, Command, ReportFormat};
use crate::plan::{Access, Artifact, Plan, PlanError};
use crate::previous::Previous;
use crate::prompt::{self, Interrupted, Prompter};
use crate::provided_cert::{self, Refused};
use crate::secret::{self, ObtainedPassword, PasswordError, PasswordSource};
use crate::setup::{self, Auth, Given, HostFacts, Setup, SetupError, Tls, Topology};
use crate::templates::{RenderError, Templates};
use crate::write::{self, WriteError};
use crate::{plan, report, wizard};

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("your certificate is not usable: {0}")]
    Certificate(#[from] Refused),
    /// An answers file (`--config`) that cannot be read or holds a refused value.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("interrupted: nothing was written")]
    Interrupted(#[from] Interrupted),
    /// `verify` found faults; each was reported as it was found.
    #[error("{0}")]
    Verify(String),
    /// A `user` command could not do what was asked (an unknown user, a bundle without users).
    #[error("{0}")]
    Users(String),
}

impl Failure {
    /// 2: the input was refused and nothing was written; 130: interrupted; 1: the run failed
    /// while working.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_)
            | Failure::Setup(_)
            | Failure::Password(_)
            | Failure::Certificate(_)
            | Failure::Config(_) => 2,
            Failure::Interrupted(_) => 130,
            Failure::Plan(_)
            | Failure::Render(_)
            | Failure::Write(_)
            | Failure::Verify(_)
            | Failure::Users(_) => 1,
        }
    }
}

/// How a run that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done (written, verified, or the person declined).
    Done,
    /// `--check`: the bundle on disk is what this run would write.
    UpToDate,
    /// `--check`: a run would change the bundle.
    WouldChange,
}

impl Outcome {
    /// 0, or 3 for "would change", distinct from 1 (failure) and 2 (bad input).
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Done | Outcome::UpToDate => 0,
            Outcome::WouldChange => 3,
        }
    }
}

/// Where the run talks: text for the user on `out`, warnings on `err`, answers from `stdin`.
pub struct Streams<'a> {
    pub stdin: &'a mut dyn BufRead,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

/// How the result is shown, from `--check`, `--diff` and `--format`.
#[derive(Debug, Clone, Copy)]
struct Show {
    check: bool,
    diff: bool,
    format: ReportFormat,
}

/// Runs promsetup as the command line asks. `prompter` is used when the run is interactive;
/// `None` means no terminal is attached.
pub fn run(
    cli: Cli,
    host: &HostFacts,
    streams: Streams,
    prompter: Option<&mut dyn Prompter>,
) -> Result<Outcome, Failure> {
    if cli.options.forget {
        return forget(streams.out).map(|()| Outcome::Done);
    }
    match &cli.command {
        Some(Command::Verify(args)) => {
            return crate::verify::run(args, &cli.options, streams).map(|()| Outcome::Done);
        }
        Some(Command::User(args)) => {
            return crate::users::run(args, &cli.options, streams, prompter)
                .map(|()| Outcome::Done);
        }
        Some(Command::Init) | None => {}
    }
    let environment = secret::from_environment()?;
    let flags = cli.options.given(environment.is_some());
    let given = match &cli.options.config {
        Some(path) => answers::overlay(flags.clone(), read_config(path)?),
        None => flags.clone(),
    };
    let show = Show {
        check: cli.options.check || cli.options.diff,
        diff: cli.options.diff,
        format: cli.options.format,
    };
    // Checking, diffing and JSON are for programs: they never ask.
    let for_programs = show.check || show.format == ReportFormat::Json;
    let wants_wizard = !cli.options.non_interactive
        && !for_programs
        && (matches!(cli.command, Some(Command::Init)) || prompter.is_some());
    match prompter {
        Some(prompter) if wants_wizard => {
            run_wizard(flags, given, host, streams, environment, prompter)
        }
        None if wants_wizard => Err(Failure::Usage(format!(
            "promsetup init asks its questions at a terminal, and none is attached. For \
             scripts, give the answers as flags:\n\n    {}\n",
            cli::non_interactive_command(&given)
        ))),
        _ => run_non_interactive(given, host, streams, environment, show),
    }
}

/// The answers in a `--config` file, every value checked by its type; errors name the file
/// and the key.
fn read_config(path: &Path) -> Result<Given, Failure> {
    let text = std::fs::read_to_string(path).map_err(|error| {
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

fn resolve(given: Given, host: &HostFacts) -> Result<Setup, Failure> {
    setup::resolve(given, host).map_err(|error| match error {
        SetupError::Missing(flags) => Failure::Usage(format!(
            "missing {}: {} (a non-interactive run asks nothing)",
            if flags.len() == 1 { "value" } else { "values" },
            flags.join(", ")
        )),
        other => Failure::Setup(other),
    })
}

/// A provided certificate is checked before anything is written (the wizard checked it when
/// asking; flags are checked here, by the same function).
fn check_provided_certificate(setup: &Setup, now: OffsetDateTime) -> Result<(), Failure> {
    if let Tls::Provided { certificate, key } = &setup.tls {
        provided_cert::check(certificate.path(), key.path(), &setup.domain, now)?;
    }
    Ok(())
}

/// The password: typed at the wizard, read from the secret inputs, or generated. A password
/// generated by an earlier non-interactive run is used again, so a re-run changes nothing.
fn obtain_password(
    setup: &Setup,
    typed: Option<secret::Password>,
    previous: &mut Previous,
    stdin: &mut dyn BufRead,
    environment: Option<Zeroizing<String>>,
) -> Result<ObtainedPassword, Failure> {
    if let Some(password) = typed {
        return Ok(ObtainedPassword {
            password,
            generated: false,
        });
    }
    if setup.password == PasswordSource::Generate {
        if let Some(password) = previous.generated_password.take() {
            return Ok(ObtainedPassword {
                password,
                generated: true,
            });
        }
    }
    Ok(secret::obtain(&setup.password, stdin, environment)?)
}

fn run_non_interactive(
    given: Given,
    host: &HostFacts,
    streams: Streams,
    environment: Option<Zeroizing<String>>,
    show: Show,
) -> Result<Outcome, Failure> {
    let now = OffsetDateTime::now_utc();
    let setup = resolve(given, host)?;
    check_provided_certificate(&setup, now)?;
    let mut previous = Previous::read(&setup, now);
    let obtained = obtain_password(&setup, None, &mut previous, streams.stdin, environment)?;
    let templates = Templates::embedded();
    // A generated password is stored in the bundle: nobody is there to read it on screen.
    let plan = plan::plan(
        &setup,
        &obtained.password,
        obtained.generated,
        now,
        &templates,
        &previous,
    )?;
    let mut warnings: Vec<String> = weak_password_warning(&setup, &obtained)
        .into_iter()
        .collect();

    if show.check {
        let comparisons = write::compare(&plan, &setup.out_dir);
        let changes = comparisons
            .iter()
            .filter(|c| c.change != write::Change::Same)
            .count();
        match show.format {
            ReportFormat::Json => {
                let statuses = report::statuses_of_comparisons(&comparisons);
                let document = report::json(&setup, &plan, &statuses, true, &warnings);
                let _ = writeln!(streams.out, "{document}");
            }
            ReportFormat::Text => {
                let _ = write!(streams.out, "{}", report::check_summary(&comparisons));
                if show.diff {
                    let _ = write!(streams.out, "{}", report::diff(&plan, &comparisons));
                }
            }
        }
        return Ok(if changes == 0 {
            Outcome::UpToDate
        } else {
            Outcome::WouldChange
        });
    }

    let policy = write::Policy {
        force: setup.force,
        backups: true,
    };
    let written = write::apply(&plan, &setup.out_dir, policy)?;
    warnings.extend(written.warnings.iter().cloned());
    if setup.upstream.is_localhost_name() {
        warnings.push(
            "--upstream localhost makes nginx try ::1 first; use 127.0.0.1 if Prometheus \
             listens on IPv4 only"
                .into(),
        );
    }
    match show.format {
        ReportFormat::Json => {
            let statuses = report::statuses_of_report(&written);
            let document = report::json(&setup, &plan, &statuses, false, &warnings);
            let _ = writeln!(streams.out, "{document}");
        }
        ReportFormat::Text => {
            for warning in &warnings {
                let _ = writeln!(streams.err, "warning: {warning}");
            }
            print_result(&setup, &plan, &written, &templates, streams.out)?;
        }
    }
    Ok(Outcome::Done)
}

fn run_wizard(
    flags: Given,
    given: Given,
    host: &HostFacts,
    streams: Streams,
    environment: Option<Zeroizing<String>>,
    prompter: &mut dyn Prompter,
) -> Result<Outcome, Failure> {
    let (remembered, warning) = answers::load_remembered();
    if let Some(warning) = warning {
        let _ = writeln!(streams.err, "warning: {warning}");
    }
    let now = OffsetDateTime::now_utc();
    let asked = wizard::ask(given, &remembered, prompter, now)?;
    let setup = resolve(asked.given, host)?;
    let mut previous = Previous::read(&setup, now);
    // The wizard shows a generated password once, on screen, instead of storing it; it never
    // takes one from an earlier password.txt.
    previous.generated_password = None;
    let obtained = obtain_password(
        &setup,
        asked.typed_password,
        &mut previous,
        streams.stdin,
        environment,
    )?;
    let templates = Templates::embedded();
    let plan = plan::plan(
        &setup,
        &obtained.password,
        false,
        now,
        &templates,
        &previous,
    )?;
    let comparisons = write::compare(&plan, &setup.out_dir);
    prompter.say(&wizard::summary(&setup, &flags, &plan, &comparisons));
    let replacing = comparisons
        .iter()
        .any(|c| c.change == write::Change::Differs);
    let question = if replacing {
        "Write these files, replacing the existing ones?"
    } else {
        "Write these files?"
    };
    if !prompter.confirm(question, true)? {
        prompter.say("Nothing was written.");
        return Ok(Outcome::Done);
    }

    prompt::writing_begins();
    let policy = write::Policy {
        force: true,
        backups: true,
    };
    let written = write::apply(&plan, &setup.out_dir, policy)?;
    let warnings = weak_password_warning(&setup, &obtained)
        .into_iter()
        .chain(written.warnings.iter().cloned());
    for warning in warnings {
        let _ = writeln!(streams.err, "warning: {warning}");
    }
    print_result(&setup, &plan, &written, &templates, streams.out)?;
    if obtained.generated {
        let _ = writeln!(
            streams.out,
            "The generated password for {} (shown this once; it is stored nowhere else):\n\n    \
             {}\n",
            setup.username,
            obtained.password.expose()
        );
    }
    // The bundle is written: Ctrl-C at this last question only means "don't save".
    match offer_answers_file(&setup, prompter, streams.out) {
        Err(Failure::Interrupted(_)) => prompter.say("\nNot saved; the bundle is written."),
        other => other?,
    }
    remember(&setup, streams.err);
    Ok(Outcome::Done)
}

/// The answers file saved next to the bundle, so the next run needs no questions.
pub const ANSWERS_FILE: &str = "promsetup.toml";

fn offer_answers_file(
    setup: &Setup,
    prompter: &mut dyn Prompter,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let path = setup.out_dir.join(ANSWERS_FILE);
    let question = format!(
        "Save these answers as {} for the next run (never the password)?",
        path.display()
    );
    if !prompter.confirm(&question, true)? {
        return Ok(());
    }
    let mut answers = Answers::from_setup(setup);
    // The file lives in the bundle folder: the next run finds the bundle beside it.
    answers.out = Some(".".into());
    let file = state_file(ANSWERS_FILE, answers.to_toml(answers::CONFIG_HEADER), 0o644);
    let policy = write::Policy {
        force: true,
        backups: true,
    };
    write::apply(&file, &setup.out_dir, policy)?;
    let _ = writeln!(
        out,
        "Saved. Next time:\n\n    promsetup --non-interactive --config {} --password-stdin\n",
        report::shell_quote(&path.display().to_string())
    );
    Ok(())
}

/// nginx hashes the password on every request, so its cost is kept low; that is safe for a
/// long random password, not for a short typed one (FACTS 2).
fn weak_password_warning(setup: &Setup, obtained: &ObtainedPassword) -> Option<String> {
    const SHORT: usize = 16;
    const LOW_COST: u32 = 10;
    let low =
        setup.topology == Topology::Proxied(Auth::Nginx) && setup.bcrypt_cost.get() < LOW_COST;
    (low && !obtained.generated && obtained.password.len() < SHORT).then(|| {
        format!(
            "the password is {} characters and the bcrypt cost {}: a leaked .htpasswd would be \
             cheap to attack. Use a long random password (leave it out to have one generated), \
             or --auth prometheus, which affords cost 12",
            obtained.password.len(),
            setup.bcrypt_cost.get()
        )
    })
}

fn print_result(
    setup: &Setup,
    plan: &Plan,
    written: &write::Report,
    templates: &Templates,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let _ = writeln!(
        out,
        "Wrote the bundle for {} to {}:\n{}",
        setup.external_url(),
        setup.out_dir.display(),
        report::files_written(written)
    );
    let _ = write!(out, "{}", report::next_steps(setup, plan, templates)?);
    Ok(())
}

/// A plan of one file of promsetup's own (answers), readable only as `mode` says.
fn state_file(name: &str, contents: String, mode: u32) -> Plan {
    Plan {
        artifacts: vec![Artifact {
            file_name: name.to_string(),
            contents: Zeroizing::new(contents.into_bytes()),
            mode,
            access: Access::Owner,
            server_dir: None,
        }],
        flags: Vec::new(),
        certificate_not_after: None,
        password_file: None,
    }
}

/// Keeps the wizard's answers (never the password) for next time. Failing to is not worth
/// failing the run for: the bundle is written.
fn remember(setup: &Setup, err: &mut dyn Write) {
    let Some(path) = answers::remembered_path() else {
        return;
    };
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let answers = Answers::from_setup(setup);
    let state = state_file(
        &name.to_string_lossy(),
        answers.to_toml(answers::REMEMBERED_HEADER),
        0o600,
    );
    let policy = write::Policy {
        force: true,
        backups: false,
    };
    if let Err(error) = write::apply(&state, folder, policy) {
        let _ = writeln!(err, "warning: could not remember the answers: {error}");
    }
}

fn forget(out: &mut dyn Write) -> Result<(), Failure> {
    let Some(path) = answers::remembered_path() else {
        let _ = writeln!(out, "No remembered answers.");
        return Ok(());
    };
    let removed = write::remove_state_file(Path::new(&path))?;
    let _ = if removed {
        writeln!(out, "Forgot the answers remembered in {}.", path.display())
    } else {
        writeln!(
            out,
            "No remembered answers (nothing at {}).",
            path.display()
        )
    };
    Ok(())
}

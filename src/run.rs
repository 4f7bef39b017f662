//! One run of promsetup, from parsed flags to printed report, and the failures it can end in.
//!
//! It owns the order of the steps (ask or not, resolve, check a provided certificate, plan,
//! confirm, write, report) and which failure maps to which exit status. It must not hold rules
//! of its own: values, defaults, contents, prompts and writing each belong to their module.

use std::io::{BufRead, Write};
use std::path::Path;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::answers::{self, Answers};
use crate::cli::{self, Cli, Command};
use crate::plan::{Access, Artifact, Plan, PlanError};
use crate::prompt::{self, Interrupted, Prompter};
use crate::provided_cert::{self, Refused};
use crate::secret::{self, ObtainedPassword, PASSWORD_ENV, PasswordError};
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
            | Failure::Certificate(_) => 2,
            Failure::Interrupted(_) => 130,
            Failure::Plan(_)
            | Failure::Render(_)
            | Failure::Write(_)
            | Failure::Verify(_)
            | Failure::Users(_) => 1,
        }
    }
}

/// Where the run talks: text for the user on `out`, warnings on `err`, answers from `stdin`.
pub struct Streams<'a> {
    pub stdin: &'a mut dyn BufRead,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

/// Runs promsetup as the command line asks. `prompter` is used when the run is interactive;
/// `None` means no terminal is attached.
pub fn run(
    cli: Cli,
    host: &HostFacts,
    streams: Streams,
    prompter: Option<&mut dyn Prompter>,
) -> Result<(), Failure> {
    if cli.options.forget {
        return forget(streams.out);
    }
    match &cli.command {
        Some(Command::Verify(args)) => return crate::verify::run(args, &cli.options, streams),
        Some(Command::User(args)) => {
            return crate::users::run(args, &cli.options, streams, prompter);
        }
        Some(Command::Init) | None => {}
    }
    let environment = std::env::var(PASSWORD_ENV).ok().map(Zeroizing::new);
    let flags = cli.options.given(environment.is_some());
    let wants_wizard = !cli.options.non_interactive
        && (matches!(cli.command, Some(Command::Init)) || prompter.is_some());
    match prompter {
        Some(prompter) if wants_wizard => run_wizard(flags, host, streams, environment, prompter),
        None if wants_wizard => Err(Failure::Usage(format!(
            "promsetup init asks its questions at a terminal, and none is attached. For \
             scripts, give the answers as flags:\n\n    {}\n",
            cli::non_interactive_command(&flags)
        ))),
        _ => run_non_interactive(flags, host, streams, environment),
    }
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
fn check_provided_certificate(setup: &Setup) -> Result<(), Failure> {
    if let Tls::Provided { certificate, key } = &setup.tls {
        provided_cert::check(
            certificate.path(),
            key.path(),
            &setup.domain,
            OffsetDateTime::now_utc(),
        )?;
    }
    Ok(())
}

fn run_non_interactive(
    flags: Given,
    host: &HostFacts,
    streams: Streams,
    environment: Option<Zeroizing<String>>,
) -> Result<(), Failure> {
    let setup = resolve(flags, host)?;
    check_provided_certificate(&setup)?;
    let obtained = secret::obtain(&setup.password, streams.stdin, environment)?;
    let templates = Templates::embedded();
    // A generated password is stored in the bundle: nobody is there to read it on screen.
    let plan = make_plan(&setup, &obtained.password, obtained.generated, &templates)?;
    let policy = write::Policy {
        force: setup.force,
        backups: true,
    };
    let written = write::apply(&plan, &setup.out_dir, policy)?;
    if let Some(warning) = weak_password_warning(&setup, &obtained) {
        let _ = writeln!(streams.err, "warning: {warning}");
    }
    print_result(
        &setup,
        &plan,
        &written,
        &templates,
        streams.out,
        streams.err,
    )
}

fn run_wizard(
    flags: Given,
    host: &HostFacts,
    streams: Streams,
    environment: Option<Zeroizing<String>>,
    prompter: &mut dyn Prompter,
) -> Result<(), Failure> {
    let (remembered, warning) = answers::load_remembered();
    if let Some(warning) = warning {
        let _ = writeln!(streams.err, "warning: {warning}");
    }
    let asked = wizard::ask(
        flags.clone(),
        &remembered,
        prompter,
        OffsetDateTime::now_utc(),
    )?;
    let setup = resolve(asked.given, host)?;
    let obtained = match asked.typed_password {
        Some(password) => ObtainedPassword {
            password,
            generated: false,
        },
        None => secret::obtain(&setup.password, streams.stdin, environment)?,
    };
    let templates = Templates::embedded();
    // The wizard shows a generated password once, on screen, instead of storing it.
    let plan = make_plan(&setup, &obtained.password, false, &templates)?;
    let existing = wizard::existing_files(&plan, &setup.out_dir);
    prompter.say(&wizard::summary(&setup, &flags, &plan, &existing));
    let question = if existing.is_empty() {
        "Write these files?"
    } else {
        "Write these files, replacing the existing ones?"
    };
    if !prompter.confirm(question, true)? {
        prompter.say("Nothing was written.");
        return Ok(());
    }

    prompt::writing_begins();
    let policy = write::Policy {
        force: true,
        backups: true,
    };
    let written = write::apply(&plan, &setup.out_dir, policy)?;
    if let Some(warning) = weak_password_warning(&setup, &obtained) {
        let _ = writeln!(streams.err, "warning: {warning}");
    }
    print_result(
        &setup,
        &plan,
        &written,
        &templates,
        streams.out,
        streams.err,
    )?;
    if obtained.generated {
        let _ = writeln!(
            streams.out,
            "The generated password for {} (shown this once; it is stored nowhere else):\n\n    \
             {}\n",
            setup.username,
            obtained.password.expose()
        );
    }
    remember(&setup, streams.err);
    Ok(())
}

fn make_plan(
    setup: &Setup,
    password: &secret::Password,
    store_password: bool,
    templates: &Templates,
) -> Result<Plan, Failure> {
    Ok(plan::plan(
        setup,
        password,
        store_password,
        OffsetDateTime::now_utc(),
        templates,
    )?)
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
    err: &mut dyn Write,
) -> Result<(), Failure> {
    for warning in &written.warnings {
        let _ = writeln!(err, "warning: {warning}");
    }
    if setup.upstream.is_localhost_name() {
        let _ = writeln!(
            err,
            "warning: --upstream localhost makes nginx try ::1 first; use 127.0.0.1 if \
             Prometheus listens on IPv4 only"
        );
    }
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

/// Keeps the wizard's answers (never the password) for next time. Failing to is not worth
/// failing the run for: the bundle is written.
fn remember(setup: &Setup, err: &mut dyn Write) {
    let Some(path) = answers::remembered_path() else {
        return;
    };
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let state = Plan {
        artifacts: vec![Artifact {
            file_name: name.to_string_lossy().into_owned(),
            contents: Zeroizing::new(Answers::from_setup(setup).to_toml().into_bytes()),
            mode: 0o600,
            access: Access::Owner,
            server_dir: None,
        }],
        flags: Vec::new(),
        certificate_not_after: None,
        password_file: None,
    };
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

//! The wizard's run: ask what the flags left open, show a summary, confirm, write, show a
//! generated password once, then offer to save the answers and remember them for next time.

use std::io::Write;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::steps;
use crate::bundle::layout::ANSWERS_FILE;
use crate::bundle::plan;
use crate::bundle::templates::Templates;
use crate::console::Streams;
use crate::error::{Failure, Outcome};
use crate::model::given::Given;
use crate::model::setup::{HostFacts, Setup};
use crate::output::command::shell_quote;
use crate::wizard;
use crate::wizard::answers::{self, Answers};
use crate::wizard::prompter::{self, Prompter};
use crate::write::{self, Access, FileSpec};

pub fn run(
    flags: Given,
    given: Given,
    host: &HostFacts,
    streams: Streams,
    environment: Option<Zeroizing<String>>,
    prompter: &mut dyn Prompter,
) -> Result<Outcome, Failure> {
    let (remembered, warning) = answers::load_remembered();
    if let Some(warning) = warning {
        writeln!(streams.err, "warning: {warning}")?;
    }
    let now = OffsetDateTime::now_utc();
    let asked = wizard::ask(given, &remembered, prompter, now)?;
    let setup = steps::resolve(asked.given, host)?;
    let mut existing = steps::read_existing(&setup, now)?;
    // The wizard shows a generated password once, on screen, instead of storing it; it never
    // takes one from an earlier password.txt.
    existing.generated_password = None;
    let obtained = steps::obtain_password(
        &setup,
        asked.typed_password,
        &mut existing,
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
        &existing,
    )?;
    let comparisons = write::compare(&plan.files(), setup.out_dir());
    prompter.say(&wizard::summary(&setup, &flags, &plan, &comparisons));
    // Said before the question, while the answer can still be changed (issue 13).
    for warning in steps::weak_password_warning(&setup, &obtained)
        .into_iter()
        .chain(steps::slow_cost_warning(&setup))
        .chain(setup.warnings())
    {
        prompter.say(&format!("warning: {warning}"));
    }
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

    prompter::writing_begins();
    // The folder's lock is taken only now: nobody waits while a person reads the summary, and
    // Ctrl-C at a question (which ends the process at once) leaves no folder made for the lock.
    // What an earlier run left is read again under the lock, and the plan made from it.
    let (_lock, recovery_note) = steps::lock_folder(&setup)?;
    if let Some(note) = recovery_note {
        writeln!(streams.err, "note: {note}")?;
    }
    let mut existing = steps::read_existing(&setup, now)?;
    existing.generated_password = None;
    let plan = plan::plan(
        &setup,
        &obtained.password,
        false,
        now,
        &templates,
        &existing,
    )?;
    let policy = write::Policy {
        force: true,
        backups: true,
    };
    steps::write_local_ca(&setup, &plan)?;
    let written = write::apply(&plan.files(), setup.out_dir(), policy)?;
    steps::record_install_plan(&setup, &plan)?;
    let retiring = steps::retiring(&setup, &plan);
    for line in steps::retire(&setup, &retiring, true)? {
        writeln!(streams.err, "{line}")?;
    }
    for warning in &written.warnings {
        writeln!(streams.err, "warning: {warning}")?;
    }
    steps::print_result(&setup, &plan, &written, &templates, streams.out)?;
    if obtained.generated {
        writeln!(
            streams.out,
            "The generated password for {} (shown this once; it is stored nowhere else):\n\n    \
             {}\n",
            setup.username(),
            obtained.password.expose()
        )?;
    }
    // The bundle is written: Ctrl-C at this last question only means "don't save".
    match offer_answers_file(&setup, prompter, streams.out) {
        Err(Failure::Interrupted(_)) => prompter.say("\nNot saved; the bundle is written."),
        other => other?,
    }
    remember(&setup, streams.err)?;
    Ok(Outcome::Done)
}

fn offer_answers_file(
    setup: &Setup,
    prompter: &mut dyn Prompter,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let path = setup.out_dir().join(ANSWERS_FILE);
    let question = format!(
        "Save these answers as {} for the next run (never the password)?",
        path.display()
    );
    if !prompter.confirm(&question, true)? {
        return Ok(());
    }
    let mut answers = Answers::from_setup(setup);
    // The file lives in the bundle folder: the next run finds the bundle beside it.
    answers.set_out(".");
    let text = answers.to_toml(answers::CONFIG_HEADER);
    let file = FileSpec {
        name: ANSWERS_FILE,
        contents: text.as_bytes(),
        mode: 0o644,
        access: &Access::Owner,
    };
    let policy = write::Policy {
        force: true,
        backups: true,
    };
    write::apply(&[file], setup.out_dir(), policy)?;
    writeln!(
        out,
        "Saved. Next time:\n\n    promsetup --non-interactive --config {} --password-stdin\n",
        shell_quote(&path.display().to_string())
    )?;
    Ok(())
}

/// Keeps the wizard's answers (never the password) for next time. Failing to is not worth
/// failing the run for: the bundle is written.
fn remember(setup: &Setup, err: &mut dyn Write) -> Result<(), Failure> {
    let Some(path) = answers::remembered_path() else {
        return Ok(());
    };
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let text = Answers::from_setup(setup).to_toml(answers::REMEMBERED_HEADER);
    let name = name.to_string_lossy();
    let file = FileSpec {
        name: &name,
        contents: text.as_bytes(),
        mode: 0o600,
        access: &Access::Owner,
    };
    let policy = write::Policy {
        force: true,
        backups: false,
    };
    if let Err(error) = write::apply(&[file], folder, policy) {
        writeln!(err, "warning: could not remember the answers: {error}")?;
    }
    Ok(())
}

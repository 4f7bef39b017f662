//! A run without questions: resolve, plan, then `--check`/`--diff`, or write and report.

use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::steps;
use crate::bundle::plan;
use crate::bundle::templates::Templates;
use crate::console::Streams;
use crate::error::{Failure, Outcome};
use crate::model::given::Given;
use crate::model::request::{ReportFormat, Show};
use crate::model::setup::HostFacts;
use crate::output::{diff, report};
use crate::write;

pub fn run(
    given: Given,
    host: &HostFacts,
    streams: Streams,
    environment: Option<Zeroizing<String>>,
    show: Show,
) -> Result<Outcome, Failure> {
    let now = OffsetDateTime::now_utc();
    let setup = steps::resolve(given, host)?;
    steps::check_provided_certificate(&setup, now)?;
    // --check only reads; a run that writes holds the folder's lock from here to its last write.
    let (_lock, recovery_note) = match show.check {
        true => (None, None),
        false => {
            let (lock, note) = steps::lock_folder(&setup)?;
            (Some(lock), note)
        }
    };
    let mut existing = steps::read_existing(&setup, now)?;
    let earlier_notes = steps::earlier_users_notes(&setup, &existing)?;
    let obtained = steps::obtain_password(&setup, None, &mut existing, streams.stdin, environment)?;
    let templates = Templates::embedded();
    // A generated password is stored in the bundle: nobody is there to read it on screen.
    let plan = plan::plan(
        &setup,
        &obtained.password,
        obtained.generated,
        now,
        &templates,
        &existing,
    )?;
    let mut warnings: Vec<String> = steps::weak_password_warning(&setup, &obtained)
        .into_iter()
        .chain(steps::slow_cost_warning(&setup))
        .chain(setup.warnings())
        .chain(earlier_notes)
        .chain(recovery_note)
        .collect();

    if show.check {
        let comparisons = write::compare(&plan.files(), setup.out_dir());
        let retiring = steps::retiring(&setup, &plan);
        let changes = comparisons
            .iter()
            .filter(|c| c.change != write::Change::Same)
            .count()
            + retiring.len();
        let retire_lines: Vec<String> = retiring
            .iter()
            .map(|name| {
                format!(
                    "{}  would be removed (no longer used; kept as {name}.bak)",
                    setup.out_dir().join(name).display()
                )
            })
            .collect();
        warnings.extend(retire_lines.iter().cloned());
        match show.format {
            ReportFormat::Json => {
                let changes: Vec<_> = comparisons.iter().map(|c| c.change).collect();
                let document = report::json(&setup, &plan, &changes, true, &warnings);
                writeln!(streams.out, "{document}")?;
            }
            ReportFormat::Text => {
                for line in &retire_lines {
                    writeln!(streams.out, "  {line}")?;
                }
                write!(streams.out, "{}", diff::check_summary(&comparisons))?;
                if show.diff {
                    write!(streams.out, "{}", diff::diff(&plan, &comparisons))?;
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
        force: setup.force(),
        backups: true,
    };
    steps::write_local_ca(&setup, &plan)?;
    let written = write::apply(&plan.files(), setup.out_dir(), policy)?;
    steps::record_install_plan(&setup, &plan)?;
    warnings.extend(written.warnings.iter().cloned());
    let retiring = steps::retiring(&setup, &plan);
    warnings.extend(steps::retire(&setup, &retiring, setup.force())?);
    if setup.upstream().is_localhost_name() {
        warnings.push(
            "--upstream localhost makes nginx try ::1 first; use 127.0.0.1 if Prometheus \
             listens on IPv4 only"
                .into(),
        );
    }
    match show.format {
        ReportFormat::Json => {
            let document = report::json_written(&setup, &plan, &written, &warnings);
            writeln!(streams.out, "{document}")?;
        }
        ReportFormat::Text => {
            for warning in &warnings {
                writeln!(streams.err, "warning: {warning}")?;
            }
            steps::print_result(&setup, &plan, &written, &templates, streams.out)?;
        }
    }
    Ok(Outcome::Done)
}

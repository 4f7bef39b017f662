//! The findings of `verify` as they are made: one line each (`ok`, `warning`, `FAIL`, with the
//! fix), counted for the summary and the exit status. It owns the wording of levels and the
//! summary; it must not decide what is checked, and it keeps the first output error for the
//! end rather than stopping the checks.

use std::io::Write;
use std::path::Path;

use crate::error::Failure;

// ---------------------------------------------------------------------------------------------
// Output

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Ok = 0,
    Warning = 1,
    Fail = 2,
}

/// Prints findings as they are made, one line each, and counts them.
pub(super) struct Report<'a> {
    pub(super) out: &'a mut dyn Write,
    pub(super) counts: [usize; 3],
    pub(super) output_error: Option<std::io::Error>,
}

impl<'a> Report<'a> {
    pub(super) fn new(out: &'a mut dyn Write) -> Report<'a> {
        Report {
            out,
            counts: [0; 3],
            output_error: None,
        }
    }

    pub(super) fn line(&mut self, level: Level, text: &str, fix: Option<&str>) {
        self.counts[level as usize] += 1;
        let label = match level {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Fail => "FAIL",
        };
        let written = match fix {
            Some(fix) => writeln!(self.out, "{label:<9}{text}. {fix}"),
            None => writeln!(self.out, "{label:<9}{text}"),
        };
        self.keep_error(written);
    }

    pub(super) fn ok(&mut self, text: &str) {
        self.line(Level::Ok, text, None);
    }

    /// A warning; `advice` is a whole sentence ("Install it: ...").
    pub(super) fn warn(&mut self, text: &str, advice: &str) {
        self.line(Level::Warning, text, Some(advice));
    }

    /// A fault; `fix` says what to do, after "Fix:".
    pub(super) fn fail(&mut self, text: &str, fix: &str) {
        self.line(Level::Fail, text, Some(&format!("Fix: {fix}")));
    }

    /// A line that is not a check.
    pub(super) fn note(&mut self, text: &str) {
        let written = writeln!(self.out, "{text}");
        self.keep_error(written);
    }

    /// Keeps the first output error, returned by `finish`: the checks go on (they change
    /// nothing), and the command ends with the error instead of its findings.
    pub(super) fn keep_error(&mut self, written: std::io::Result<()>) {
        if let (Err(error), None) = (written, &self.output_error) {
            self.output_error = Some(error);
        }
    }

    /// `online` is the external URL checked, when there was one.
    pub(super) fn finish(self, dir: &Path, online: Option<String>) -> Result<(), Failure> {
        let [ok, warnings, failures] = self.counts;
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        if let Some(error) = self.output_error {
            return Err(Failure::Output(error));
        }
        writeln!(
            self.out,
            "\n{ok} ok, {}, {failures} FAIL",
            plural(warnings, "warning")
        )?;
        if failures == 0 {
            return Ok(());
        }
        Err(Failure::Verify(format!(
            "{} failed in the bundle {}{}: each FAIL line above says why and what to do",
            plural(failures, "check"),
            dir.display(),
            online
                .map(|base| format!(" and at {base}"))
                .unwrap_or_default()
        )))
    }
}

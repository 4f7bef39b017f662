//! The findings of `verify` as they are made: one line each (`ok`, `warning`, `FAIL`, with the
//! fix), counted for the summary and the exit status; or, with `--format json`, one document
//! (docs/verify-schema.json) printed at the end. It owns the wording of levels, the check ids
//! and the summary; it must not decide what is checked, and it keeps the first output error
//! for the end rather than stopping the checks.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::error::Failure;

/// The version of the JSON document; changes only when a reader would break.
const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Ok = 0,
    Warning = 1,
    Fail = 2,
}

/// One check as the JSON document shows it.
#[derive(Serialize)]
struct Check {
    id: String,
    status: &'static str,
    message: String,
    /// What to do; null for an ok.
    fix: Option<String>,
}

/// Prints findings as they are made, one line each, and counts them; in JSON mode keeps them
/// for one document at the end.
pub(super) struct Report<'a> {
    out: &'a mut dyn Write,
    counts: [usize; 3],
    output_error: Option<std::io::Error>,
    json: bool,
    /// The check being made ("tls", "htpasswd", "online.flags"): ids are SECTION.N.
    section: &'static str,
    in_section: usize,
    checks: Vec<Check>,
    notes: Vec<String>,
}

impl<'a> Report<'a> {
    pub(super) fn new(out: &'a mut dyn Write, json: bool) -> Report<'a> {
        Report {
            out,
            counts: [0; 3],
            output_error: None,
            json,
            section: "bundle",
            in_section: 0,
            checks: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Names the findings that follow: their ids are `section.1`, `section.2`, ...
    pub(super) fn section(&mut self, section: &'static str) {
        if self.section != section {
            self.section = section;
            self.in_section = 0;
        }
    }

    pub(super) fn line(&mut self, level: Level, text: &str, fix: Option<&str>) {
        self.counts[level as usize] += 1;
        let label = match level {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Fail => "FAIL",
        };
        if self.json {
            self.in_section += 1;
            self.checks.push(Check {
                id: format!("{}.{}", self.section, self.in_section),
                status: match level {
                    Level::Ok => "ok",
                    Level::Warning => "warning",
                    Level::Fail => "fail",
                },
                message: text.to_string(),
                fix: fix.map(|f| f.strip_prefix("Fix: ").unwrap_or(f).to_string()),
            });
            return;
        }
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
        if self.json {
            self.notes.push(text.trim().to_string());
            return;
        }
        let written = writeln!(self.out, "{text}");
        self.keep_error(written);
    }

    /// Keeps the first output error, returned by `finish`: the checks go on (they change
    /// nothing), and the command ends with the error instead of its findings.
    fn keep_error(&mut self, written: std::io::Result<()>) {
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
        if self.json {
            let document = serde_json::json!({
                "format_version": FORMAT_VERSION,
                "bundle": dir.display().to_string(),
                "url": online,
                "passed": failures == 0,
                "counts": { "ok": ok, "warning": warnings, "fail": failures },
                "checks": self.checks,
                "notes": self.notes,
            });
            let text = serde_json::to_string_pretty(&document)
                .map_err(|error| Failure::Output(std::io::Error::other(error)))?;
            writeln!(self.out, "{text}")?;
        } else {
            writeln!(
                self.out,
                "\n{ok} ok, {}, {failures} FAIL",
                plural(warnings, "warning")
            )?;
        }
        if failures == 0 {
            return Ok(());
        }
        Err(Failure::Verify(format!(
            "{} failed in the bundle {}{}: each FAIL {} says why and what to do",
            plural(failures, "check"),
            dir.display(),
            online
                .map(|base| format!(" and at {base}"))
                .unwrap_or_default(),
            if self.json {
                "check in the JSON document"
            } else {
                "line above"
            }
        )))
    }
}

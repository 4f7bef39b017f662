//! Shell completion scripts (clap_complete) and man pages (clap_mangen), rendered from the very
//! `clap::Command` that parses the command line and prints `--help`, so the three cannot
//! disagree: a flag or subcommand added to the definitions appears in all of them.
//!
//! It renders bytes in memory and hands them to a request; it must not write files (the `man`
//! command writes the pages through `write.rs`) nor print (the `completions` command does).

use std::io::{self, Write};

use clap::Command;
use clap_complete::Shell;
use clap_mangen::roff::{Roff, roman};

use crate::model::request::ManPage;

/// The name the scripts complete and the pages are named after.
const BIN: &str = "promsetup";

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut super::command(), BIN, &mut script);
    script
}

/// One page per command: `promsetup.1`, then `promsetup-init.1`, `promsetup-verify.1`,
/// `promsetup-user.1`, `promsetup-user-add.1`, ... for every visible subcommand at any depth.
/// Hidden subcommands and clap's `help` get none.
pub fn man_pages() -> Vec<ManPage> {
    let mut command = super::command().disable_help_subcommand(true);
    // Building names each subcommand by its path (`promsetup-user-add`) and hands it the global
    // flags, so each page lists every flag its command accepts.
    command.build();
    let mut pages = Vec::new();
    add_pages(&command, &mut pages);
    pages
}

fn add_pages(command: &Command, pages: &mut Vec<ManPage>) {
    let man = clap_mangen::Man::new(command.clone())
        .source(format!("{BIN} {}", env!("CARGO_PKG_VERSION")))
        .manual("promsetup manual");
    let mut contents = Vec::new();
    render(&man, command, &mut contents).expect("rendering into memory cannot fail");
    pages.push(ManPage {
        file_name: man.get_filename(),
        contents,
    });
    for subcommand in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        add_pages(subcommand, pages);
    }
}

/// `Man::render`'s sections in its order, but the text after `--help` (`help::AFTER_HELP`) as
/// a NOTES section that keeps its indented lists as they are (clap_mangen fills them into one
/// paragraph under EXTRA).
fn render(man: &clap_mangen::Man, command: &Command, out: &mut dyn Write) -> io::Result<()> {
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if command.get_arguments().any(|arg| !arg.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if command.get_subcommands().any(|sub| !sub.is_hide_set()) {
        man.render_subcommands_section(out)?;
    }
    if let Some(after) = command.get_after_long_help().or(command.get_after_help()) {
        notes(&after.to_string()).to_writer(out)?;
    }
    if command.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// Paragraphs split at blank lines; lines indented by two spaces are kept line for line.
fn notes(text: &str) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["NOTES"]);
    let mut verbatim = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            if verbatim {
                roff.control("fi", []);
                verbatim = false;
            }
            roff.control("PP", []);
            continue;
        }
        let indented = line.starts_with("  ");
        if indented != verbatim {
            roff.control(if indented { "nf" } else { "fi" }, []);
            verbatim = indented;
        }
        roff.text([roman(line)]);
    }
    if verbatim {
        roff.control("fi", []);
    }
    roff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_visible_command_gets_a_page_named_by_its_path() {
        let names: Vec<String> = man_pages().into_iter().map(|p| p.file_name).collect();
        for expected in [
            "promsetup.1",
            "promsetup-init.1",
            "promsetup-verify.1",
            "promsetup-user.1",
            "promsetup-user-add.1",
            "promsetup-completions.1",
            "promsetup-man.1",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }

    #[test]
    fn notes_keep_indented_lines_and_paragraphs() {
        let roff =
            notes("Intro text.\n  a.conf   first\n  b.conf   second\nAfter.\n\nNext.").render();
        let body = roff.split_once(".SH NOTES\n").unwrap().1;
        assert_eq!(
            body,
            "Intro text.\n.nf\n  a.conf   first\n  b.conf   second\n.fi\nAfter.\n.PP\nNext.\n"
        );
    }

    #[test]
    fn every_shell_gets_a_script_naming_the_program() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let script = String::from_utf8(completions(shell)).unwrap();
            assert!(script.contains("promsetup"), "{shell}");
            assert!(script.contains("domain"), "{shell}: no --domain");
        }
    }
}

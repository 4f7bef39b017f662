//! Shell completion scripts (clap_complete) and man pages (clap_mangen), rendered from the very
//! `clap::Command` that parses the command line and prints `--help`, so the three cannot
//! disagree: a flag or subcommand added to the definitions appears in all of them.
//!
//! It renders bytes in memory and hands them to a request; it must not write files (the `man`
//! command writes the pages through `write.rs`) nor print (the `completions` command does).

use clap::Command;
use clap_complete::Shell;

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
    man.render(&mut contents)
        .expect("rendering into memory cannot fail");
    pages.push(ManPage {
        file_name: man.get_filename(),
        contents,
    });
    for subcommand in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        add_pages(subcommand, pages);
    }
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

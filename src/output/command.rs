//! Command lines shown to the user: words quoted for a POSIX shell, and the `--non-interactive`
//! command that gives the same answers, printed from the flags' table so every flag appears in
//! the same spelling as `--help` has it.

use crate::model::flags::{FLAGS, Reach};
use crate::model::given::Given;
use crate::model::password::PasswordSource;

/// Quotes a path or word for a POSIX shell only when it needs it, so printed commands can be
/// pasted as they are.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-+=:@,%".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The `--non-interactive` command line equivalent to what was given, for users without a
/// terminal: given values are kept, a missing domain shows as `--domain NAME`, the password
/// input is named (`--password-stdin` when none was), switches come last.
pub fn non_interactive(given: &Given) -> String {
    let mut words = vec!["promsetup".to_string(), "--non-interactive".to_string()];
    let mut switches = Vec::new();
    for flag in FLAGS.iter().filter(|flag| flag.reach == Reach::Answers) {
        let text = match (flag.name, flag.get(given)) {
            ("domain", None) => Some("NAME".to_string()),
            (_, text) => text,
        };
        match text {
            Some(_) if flag.is_switch() => switches.push(format!("--{}", flag.name)),
            Some(text) => {
                words.push(format!("--{}", flag.name));
                words.push(shell_quote(&text));
            }
            None => {}
        }
    }
    match &given.password {
        Some(PasswordSource::File(path)) => {
            words.push("--password-file".into());
            words.push(shell_quote(&path.display().to_string()));
        }
        Some(PasswordSource::Stdin) | None => words.push("--password-stdin".into()),
        Some(_) => {}
    }
    words.extend(switches);
    if given.force {
        words.push("--force".into());
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_equivalent_command_keeps_given_values_and_marks_the_missing_domain() {
        let mut given = Given::default();
        crate::model::flags::find("prefix")
            .unwrap()
            .set(&mut given, "/")
            .unwrap();
        crate::model::flags::find("realm")
            .unwrap()
            .set(&mut given, "Ops team")
            .unwrap();
        assert_eq!(
            non_interactive(&given),
            "promsetup --non-interactive --domain NAME --prefix / --realm 'Ops team' \
             --password-stdin"
        );
    }

    #[test]
    fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("/etc/nginx"), "/etc/nginx");
        assert_eq!(shell_quote("my bundle"), "'my bundle'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote(""), "''");
    }
}

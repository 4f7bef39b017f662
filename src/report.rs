//! What a run prints when it has written the bundle: the files and their modes, the Prometheus
//! flags ready to paste, and the next steps adapted to the user's answers.
//!
//! It turns a `Setup`, a `Plan` and the writer's `Report` into text. It must not write files or
//! show any secret: it knows where a generated password is stored, never the password.

use std::path::Path;

use serde::Serialize;

use crate::plan::{FLAGS_FILE, PASSWORD_FILE, Plan};
use crate::setup::Setup;
use crate::templates::{self, RenderError, Templates};
use crate::write::{self, Status};

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

/// One line per file: mode, path, and what happened to it.
pub fn files_written(report: &write::Report) -> String {
    let mut text = String::new();
    for file in &report.files {
        let what = match &file.status {
            Status::Created => "created".to_string(),
            Status::Replaced {
                backup: Some(backup),
            } => format!("replaced, old one kept as {}", backup.display()),
            Status::Replaced { backup: None } => "replaced".to_string(),
        };
        text.push_str(&format!(
            "  {:04o}  {}  ({what})\n",
            file.mode,
            file.path.display()
        ));
    }
    text
}

#[derive(Serialize)]
struct NextStepValues {
    out: String,
    conf_dir: String,
    flags: Vec<String>,
    install: Vec<String>,
    password_file: Option<&'static str>,
    username: String,
    realm: String,
    url: String,
    ca: String,
    resolve: String,
    tls: bool,
    certificate_file: Option<String>,
}

/// The next steps, rendered from `templates/next-steps.txt.tera`.
pub fn next_steps(
    setup: &Setup,
    plan: &Plan,
    templates: &Templates,
) -> Result<String, RenderError> {
    let out = shell_quote(&setup.out_dir.display().to_string());
    let conf_dir = setup.conf_dir.to_string();
    let same_folder =
        std::fs::canonicalize(&setup.out_dir).is_ok_and(|real| real == Path::new(&conf_dir));
    let install = if same_folder {
        Vec::new()
    } else {
        plan.artifacts
            .iter()
            .filter(|a| a.file_name != FLAGS_FILE && a.file_name != PASSWORD_FILE)
            .map(|a| {
                let group = a
                    .group_of
                    .as_ref()
                    .map(|account| format!(" -g {account}"))
                    .unwrap_or_default();
                format!(
                    "install --backup=numbered -m {:04o}{group} {out}/{name} {conf_dir}/{name}",
                    a.mode,
                    name = shell_quote(&a.file_name),
                )
            })
            .collect()
    };
    let tls = setup.tls.is_on();
    let certificate_file = setup.certificate_file();
    let ca = certificate_file
        .as_ref()
        .map(|file| format!(" --cacert {out}/{}", shell_quote(file)))
        .unwrap_or_default();
    let resolve = match setup.domain {
        crate::values::Domain::Dns(ref name) => {
            format!(" --resolve {name}:{}:127.0.0.1", setup.port)
        }
        crate::values::Domain::Ip(_) => String::new(),
    };
    let values = NextStepValues {
        out,
        conf_dir,
        flags: plan.flags.clone(),
        install,
        password_file: plan.password_file.as_ref().map(|_| PASSWORD_FILE),
        username: setup.username.to_string(),
        realm: setup.realm.to_string(),
        url: setup.external_url(),
        ca,
        resolve,
        tls,
        certificate_file,
    };
    templates.render(templates::NEXT_STEPS, &values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("/etc/nginx"), "/etc/nginx");
        assert_eq!(shell_quote("my bundle"), "'my bundle'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote(""), "''");
    }
}

//! What a run prints when it has written the bundle: the files and their modes, the Prometheus
//! flags ready to paste, and the next steps adapted to the user's answers.
//!
//! It turns a `Setup`, a `Plan` and the writer's `Report` into text. It must not write files or
//! show any secret: it knows where a generated password is stored, never the password.

use serde::Serialize;

use crate::plan::{Access, PASSWORD_FILE, Plan, SCRAPE_SNIPPET_FILE, WEB_CONFIG_FILE};
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

/// `install` lines that put each server file in its folder with its mode, owner and group.
/// Nothing to install for a folder that is the output folder itself.
fn install_lines(setup: &Setup, plan: &Plan, out: &str) -> Vec<String> {
    let out_real = std::fs::canonicalize(&setup.out_dir).ok();
    let mut folders: Vec<String> = Vec::new();
    let mut files = Vec::new();
    for artifact in &plan.artifacts {
        let Some(dir) = &artifact.server_dir else {
            continue;
        };
        if out_real.as_deref() == Some(dir.path()) {
            continue;
        }
        if !folders.contains(&dir.to_string()) {
            folders.push(dir.to_string());
        }
        let owner = match &artifact.access {
            Access::Owner | Access::AsBefore => String::new(),
            Access::GroupOf(account) => format!(" -g {account}"),
            Access::OwnedBy(account) => format!(" -o {account} -g {account}"),
        };
        files.push(format!(
            "install --backup=numbered -m {:04o}{owner} {out}/{name} {dir}/{name}",
            artifact.mode,
            name = shell_quote(&artifact.file_name),
        ));
    }
    folders
        .iter()
        .map(|dir| format!("install -d -m 0755 {dir}"))
        .chain(files)
        .collect()
}

#[derive(Serialize)]
struct NextStepValues {
    out: String,
    conf_dir: String,
    nginx: bool,
    web_config: Option<String>,
    scrape_snippet: Option<&'static str>,
    flags: Vec<String>,
    install: Vec<String>,
    password_file: Option<&'static str>,
    username: String,
    realm: Option<String>,
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
    let checks_in_prometheus = setup.prometheus_checks_passwords();
    let values = NextStepValues {
        install: install_lines(setup, plan, &out),
        out,
        conf_dir: setup.conf_dir.to_string(),
        nginx: setup.has_nginx(),
        web_config: checks_in_prometheus.then(|| setup.in_prometheus_dir(WEB_CONFIG_FILE)),
        scrape_snippet: checks_in_prometheus.then_some(SCRAPE_SNIPPET_FILE),
        flags: plan.flags.clone(),
        password_file: plan.password_file.as_ref().map(|_| PASSWORD_FILE),
        username: setup.username.to_string(),
        // Prometheus alone answers 401 with a bare `Basic` challenge, no realm (FACTS 7).
        realm: setup.has_nginx().then(|| setup.realm.to_string()),
        url: setup.external_url(),
        ca,
        resolve,
        tls: setup.tls.is_on(),
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

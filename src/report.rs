//! What a run prints when it has written the bundle: the files and their modes, the Prometheus
//! flags ready to paste, and the next steps adapted to the user's answers.
//!
//! It turns a `Setup`, a `Plan` and the writer's `Report` into text. It must not write files or
//! show any secret: it knows where a generated password is stored, never the password.

use serde::Serialize;

use crate::plan::{Access, PASSWORD_FILE, Plan, SCRAPE_SNIPPET_FILE, WEB_CONFIG_FILE};
use crate::setup::Setup;
use crate::templates::{self, RenderError, Templates};
use crate::write::{self, Change, Comparison, Status};

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
            Status::Unchanged => "unchanged".to_string(),
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

/// A file's status in the JSON report: `created`, `updated` or `unchanged` (the same words in
/// `--check` mode, where they say what a run would do).
pub type FileStatus = &'static str;

pub fn statuses_of_report(report: &write::Report) -> Vec<FileStatus> {
    report
        .files
        .iter()
        .map(|file| match file.status {
            Status::Created => "created",
            Status::Replaced { .. } => "updated",
            Status::Unchanged => "unchanged",
        })
        .collect()
}

pub fn statuses_of_comparisons(comparisons: &[Comparison]) -> Vec<FileStatus> {
    comparisons
        .iter()
        .map(|c| match c.change {
            Change::New => "created",
            Change::Differs => "updated",
            Change::Same => "unchanged",
        })
        .collect()
}

/// The version of the JSON report's schema; raised only for changes that break readers.
pub const JSON_FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonFile {
    path: String,
    status: FileStatus,
    mode: String,
    sha256: String,
}

#[derive(Serialize)]
struct JsonCertificate {
    path: String,
    not_after: String,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    format_version: u32,
    check: bool,
    changed: bool,
    external_url: String,
    files: Vec<JsonFile>,
    certificate: Option<JsonCertificate>,
    prometheus_flags: &'a [String],
    warnings: &'a [String],
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The JSON report: one document, `statuses` in the plan's order. Its schema is in the README.
pub fn json(
    setup: &Setup,
    plan: &Plan,
    statuses: &[FileStatus],
    check: bool,
    warnings: &[String],
) -> String {
    let files: Vec<JsonFile> = plan
        .artifacts
        .iter()
        .zip(statuses)
        .map(|(artifact, status)| JsonFile {
            path: setup
                .out_dir
                .join(&artifact.file_name)
                .display()
                .to_string(),
            status,
            mode: format!("{:04o}", artifact.mode),
            sha256: sha256_hex(&artifact.contents),
        })
        .collect();
    let certificate = plan
        .certificate_not_after
        .zip(setup.certificate_file())
        .map(|(not_after, file)| JsonCertificate {
            path: setup.out_dir.join(file).display().to_string(),
            not_after: not_after
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        });
    let document = JsonReport {
        format_version: JSON_FORMAT_VERSION,
        check,
        changed: statuses.iter().any(|s| *s != "unchanged"),
        external_url: setup.external_url(),
        files,
        certificate,
        prometheus_flags: &plan.flags,
        warnings,
    };
    serde_json::to_string_pretty(&document).expect("the report is plain data")
}

/// `--check` in words: one line per file.
pub fn check_summary(comparisons: &[Comparison]) -> String {
    let mut text = String::new();
    for comparison in comparisons {
        let what = match comparison.change {
            Change::New => "would be created",
            Change::Differs => "would be updated",
            Change::Same => "up to date",
        };
        text.push_str(&format!("  {}  {what}\n", comparison.path.display()));
    }
    let changes = comparisons
        .iter()
        .filter(|c| c.change != Change::Same)
        .count();
    text.push_str(&if changes == 0 {
        "Up to date: a run would change nothing.\n".to_string()
    } else {
        format!("A run would change {changes} file(s).\n")
    });
    text
}

/// Files whose contents are never shown, not even masked.
fn is_secret(name: &str) -> bool {
    name.ends_with(".key") || name.ends_with(".password") || name == PASSWORD_FILE
}

/// Hides what must not be shown in a diff: bcrypt hashes keep their scheme and cost only;
/// PEM blocks become one line (a certificate by its SHA-256, a key by nothing).
pub fn mask(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pem: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some((kind, body)) = &mut pem {
            if line.starts_with("-----END ") {
                if kind.contains("PRIVATE KEY") {
                    out.push_str(&format!("<{kind} hidden>\n"));
                } else {
                    out.push_str(&format!(
                        "<{kind} sha256:{}>\n",
                        &sha256_hex(body.as_bytes())[..16]
                    ));
                }
                pem = None;
            } else {
                body.push_str(line);
            }
            continue;
        }
        if let Some(kind) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        {
            pem = Some((kind.to_string(), String::new()));
            continue;
        }
        out.push_str(&mask_hashes(line));
        out.push('\n');
    }
    out
}

/// `$2y$05$` followed by 53 characters of salt and hash becomes `$2y$05$<hash 1a2b3c4d>`: the
/// scheme and cost stay readable, and a short fingerprint shows whether the hash changed.
fn mask_hashes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = ["$2y$", "$2a$", "$2b$"]
        .iter()
        .filter_map(|marker| rest.find(marker))
        .min()
    {
        let head = &rest[start..];
        let hash_len = 7 + 53;
        let is_hash = head.len() >= hash_len
            && head.as_bytes()[4].is_ascii_digit()
            && head.as_bytes()[5].is_ascii_digit()
            && head.as_bytes()[6] == b'$';
        if is_hash {
            out.push_str(&rest[..start]);
            out.push_str(&head[..7]);
            out.push_str(&format!(
                "<hash {}>",
                &sha256_hex(&head.as_bytes()[..hash_len])[..8]
            ));
            rest = &head[hash_len..];
        } else {
            out.push_str(&rest[..start + 1]);
            rest = &rest[start + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// `--diff`: a unified diff of each text file that would change, masked.
pub fn diff(plan: &Plan, comparisons: &[Comparison]) -> String {
    let mut text = String::new();
    for (artifact, comparison) in plan.artifacts.iter().zip(comparisons) {
        if comparison.change == Change::Same {
            continue;
        }
        let path = comparison.path.display().to_string();
        if is_secret(&artifact.file_name) {
            text.push_str(&format!(
                "--- {path}\n+++ {path}\n(secret: contents not shown)\n"
            ));
            continue;
        }
        let before = comparison
            .before
            .as_deref()
            .map(|bytes| mask(&String::from_utf8_lossy(bytes)))
            .unwrap_or_default();
        let after = mask(&String::from_utf8_lossy(&artifact.contents));
        if before == after {
            text.push_str(&format!(
                "--- {path}\n+++ {path}\n(only hidden parts or the file mode differ)\n"
            ));
            continue;
        }
        let old_name = if comparison.before.is_some() {
            path.clone()
        } else {
            "/dev/null".into()
        };
        text.push_str(
            &similar::TextDiff::from_lines(&before, &after)
                .unified_diff()
                .context_radius(3)
                .header(&old_name, &path)
                .to_string(),
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_hides_hashes_and_keys_but_keeps_the_rest() {
        let hash = format!("$2y$05${}", "a".repeat(53));
        let text = format!(
            "admin:{hash}\n-----BEGIN PRIVATE KEY-----\nSECRETBYTES\n-----END PRIVATE KEY-----\n\
             -----BEGIN CERTIFICATE-----\nPUBLIC\n-----END CERTIFICATE-----\nkeep me $2y$ here\n"
        );
        let masked = mask(&text);
        assert!(masked.starts_with("admin:$2y$05$<hash "), "{masked}");
        assert_eq!(
            masked.lines().next().unwrap().len(),
            "admin:$2y$05$<hash 12345678>".len()
        );
        assert!(!masked.contains("SECRETBYTES") && !masked.contains(&"a".repeat(53)));
        assert!(masked.contains("<PRIVATE KEY hidden>"));
        assert!(masked.contains("<CERTIFICATE sha256:"));
        assert!(masked.contains("keep me $2y$ here"));
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

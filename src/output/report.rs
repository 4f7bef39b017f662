//! What a run prints when it has written the bundle: the files and their modes, the Prometheus
//! flags ready to paste, and the next steps adapted to the user's answers.
//!
//! It turns a `Setup`, a `Plan` and the writer's `Report` into text. It must not write files or
//! show any secret: it knows where a generated password is stored, never the password.

use serde::Serialize;

use crate::bundle::install;
use crate::bundle::layout::LOCAL_CA_CERT_FILE;
use crate::bundle::layout::{FLAGS_FILE, PROMETHEUS_DEFAULT_FILE, PROMETHEUS_DROP_IN_FILE};
use crate::bundle::layout::{PASSWORD_FILE, SCRAPE_SNIPPET_FILE, WEB_CONFIG_FILE};
use crate::bundle::plan::{Access, Plan};
use crate::bundle::templates::{self, RenderError, Templates};
use crate::model::given::DeployTarget;
use crate::model::password::PasswordSource;
use crate::model::setup::{Setup, Tls};
use crate::model::values::Domain;
use crate::output::command::shell_quote;
use crate::output::platform_steps;
use crate::write::{self, Change};

/// One line per file: mode, path, and what happened to it.
pub fn files_written(report: &write::Report) -> String {
    let mut text = String::new();
    for file in &report.files {
        let what = match (file.change, &file.backup) {
            (Change::New, _) => "created".to_string(),
            (Change::Same, _) => "unchanged".to_string(),
            (Change::Differs, Some(backup)) => {
                format!("replaced, old one kept as {}", backup.display())
            }
            (Change::Differs, None) => "replaced".to_string(),
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
    let out_real = std::fs::canonicalize(setup.out_dir()).ok();
    let mut folders: Vec<String> = Vec::new();
    let mut files = Vec::new();
    for artifact in &plan.artifacts {
        let Some(dir) = &artifact.server_dir else {
            continue;
        };
        // The same files as the install plan (a snippet's unused pair is not installed).
        if install::install(setup, artifact).is_none() || out_real.as_deref() == Some(dir.path()) {
            continue;
        }
        if !folders.contains(&dir.to_string()) {
            folders.push(dir.to_string());
        }
        let owner = match &artifact.access {
            Access::Owner | Access::AsBefore => String::new(),
            Access::GroupOf(account) => format!(" -g {account}"),
            Access::OwnedBy(account) => format!(" -o {account} -g {account}"),
            Access::Ids {
                uid: Some(uid),
                gid,
            } => format!(" -o {uid} -g {gid}"),
            Access::Ids { uid: None, gid } => format!(" -g {gid}"),
        };
        files.push(format!(
            "install --backup=simple --suffix=.bak -m {:04o}{owner} {out}/{name} {dir}/{name}",
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
    /// The file `apply --password-file` can read the password from: the generated one, or the
    /// one the run was given.
    apply_password_file: Option<String>,
    username: String,
    realm: Option<String>,
    url: String,
    ca: String,
    resolve: String,
    tls: bool,
    certificate_file: Option<String>,
    /// `full`, `site` or `snippet`.
    layout: &'static str,
    /// `site` on Debian: the link in sites-enabled/ that enables the site.
    site_link: Option<String>,
    /// `snippet`: the line to put inside the domain's TLS server.
    include_line: Option<String>,
    /// How Prometheus gets its flags here: debian-args, systemd-drop-in, container, manual.
    route: &'static str,
    flags_on_server: String,
    default_file: &'static str,
    drop_in_file: &'static str,
}

/// `ln -s` of the site into the folder nginx reads, where the file is written elsewhere
/// (Debian's sites-available/ and sites-enabled/).
fn site_link(setup: &Setup) -> Option<String> {
    let (link, target) = install::site_link(setup)?;
    Some(format!("ln -sfn {target} {link}"))
}

/// The next steps, rendered from `templates/next-steps.txt.tera`.
pub fn next_steps(
    setup: &Setup,
    plan: &Plan,
    templates: &Templates,
) -> Result<String, RenderError> {
    match setup.deploy_target() {
        DeployTarget::Kubernetes => return platform_steps::kubernetes(setup, plan, templates),
        DeployTarget::Compose => return platform_steps::compose(setup, plan, templates),
        DeployTarget::Nginx => {}
    }
    let out = shell_quote(&setup.out_dir().display().to_string());
    // With the local CA, clients trust the CA, not the leaf.
    let certificate_file = match setup.tls() {
        Tls::LocalCa { .. } => Some(LOCAL_CA_CERT_FILE.to_string()),
        // An ACME CA is one clients trust already.
        Tls::Acme { .. } => None,
        _ => setup.certificate_file(),
    };
    let ca = certificate_file
        .as_ref()
        .map(|file| format!(" --cacert {out}/{}", shell_quote(file)))
        .unwrap_or_default();
    let resolve = match setup.domain() {
        Domain::Dns(name) => {
            format!(" --resolve {name}:{}:127.0.0.1", setup.port())
        }
        Domain::Ip(_) => String::new(),
    };
    let checks_in_prometheus = setup.prometheus_checks_passwords();
    let apply_password_file = match (&plan.password_file, setup.password()) {
        (Some(_), _) => Some(format!("{out}/{PASSWORD_FILE}")),
        (None, PasswordSource::File(path)) => Some(shell_quote(&path.display().to_string())),
        (None, _) => None,
    };
    let values = NextStepValues {
        apply_password_file,
        install: install_lines(setup, plan, &out),
        out,
        conf_dir: setup.conf_dir().to_string(),
        nginx: setup.has_nginx(),
        web_config: checks_in_prometheus.then(|| setup.in_prometheus_dir(WEB_CONFIG_FILE)),
        scrape_snippet: checks_in_prometheus.then_some(SCRAPE_SNIPPET_FILE),
        flags: plan.flags.clone(),
        password_file: plan.password_file.as_ref().map(|_| PASSWORD_FILE),
        username: setup.username().to_string(),
        // Prometheus alone answers 401 with a bare `Basic` challenge, no realm (FACTS 7).
        realm: setup.has_nginx().then(|| setup.realm().to_string()),
        url: setup.external_url(),
        ca,
        resolve,
        tls: setup.tls().is_on(),
        certificate_file,
        layout: setup.nginx_layout().as_str(),
        route: setup.prometheus_service().route().as_str(),
        flags_on_server: setup.in_prometheus_dir(FLAGS_FILE),
        default_file: PROMETHEUS_DEFAULT_FILE,
        drop_in_file: PROMETHEUS_DROP_IN_FILE,
        site_link: site_link(setup),
        include_line: install::snippet_locations(setup)
            .map(|locations| format!("include {locations};")),
    };
    templates.render(templates::NEXT_STEPS, &values)
}

/// A file's status in the JSON report: `created`, `updated` or `unchanged` (the same words in
/// `--check` mode, where they say what a run would do).
fn status(change: Change) -> &'static str {
    match change {
        Change::New => "created",
        Change::Differs => "updated",
        Change::Same => "unchanged",
    }
}

/// The version of the JSON report's schema; raised only for changes that break readers.
pub const JSON_FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonFile {
    path: String,
    status: &'static str,
    mode: String,
    /// `None` for a secret file: an unsalted digest of a password file is as good as the
    /// password when the password is weak (`sha256("hunter2\n")` is looked up in no time).
    sha256: Option<String>,
    /// Where the file's previous version was kept by this run (one generation, `NAME.bak`).
    backup: Option<String>,
    /// Where it goes on the server; `null` when it is not installed there.
    install: Option<JsonInstall>,
}

#[derive(Serialize)]
struct JsonInstall {
    path: String,
    owner: String,
    group: String,
    mode: String,
    service: &'static str,
    on_change: &'static str,
}

impl From<install::Install> for JsonInstall {
    fn from(install: install::Install) -> JsonInstall {
        JsonInstall {
            path: install.path,
            owner: install.owner,
            group: install.group,
            mode: format!("{:04o}", install.mode),
            service: install.service.as_str(),
            on_change: install.on_change.as_str(),
        }
    }
}

#[derive(Serialize)]
struct JsonCertificate {
    path: String,
    not_after: String,
    subject: String,
    subject_alt_names: Vec<String>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    format_version: u32,
    target: &'static str,
    check: bool,
    changed: bool,
    external_url: String,
    files: Vec<JsonFile>,
    certificate: Option<JsonCertificate>,
    prometheus_flags: &'a [String],
    warnings: &'a [String],
    /// `--tls acme`: the steps that get the certificate (`bundle::acme`), for `apply` and
    /// configuration management.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    acme_steps: Vec<crate::bundle::acme::Step>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The JSON report of a run that wrote: statuses and backups from the writer's report.
pub fn json_written(
    setup: &Setup,
    plan: &Plan,
    written: &write::Report,
    warnings: &[String],
) -> String {
    let changes: Vec<Change> = written.files.iter().map(|file| file.change).collect();
    let backups: Vec<Option<String>> = written
        .files
        .iter()
        .map(|file| file.backup.as_ref().map(|path| path.display().to_string()))
        .collect();
    document(setup, plan, &changes, &backups, false, warnings)
}

/// A file only its owner may read (mode 0600: keys and password files) holds a secret.
fn is_secret(artifact: &crate::bundle::plan::Artifact) -> bool {
    artifact.mode & 0o077 == 0
}

/// The JSON report: one document, `changes` in the plan's order. Its schema is in the README.
pub fn json(
    setup: &Setup,
    plan: &Plan,
    changes: &[Change],
    check: bool,
    warnings: &[String],
) -> String {
    document(setup, plan, changes, &[], check, warnings)
}

fn document(
    setup: &Setup,
    plan: &Plan,
    changes: &[Change],
    backups: &[Option<String>],
    check: bool,
    warnings: &[String],
) -> String {
    let files: Vec<JsonFile> = plan
        .artifacts
        .iter()
        .zip(changes)
        .enumerate()
        .map(|(index, (artifact, change))| JsonFile {
            path: setup
                .out_dir()
                .join(&artifact.file_name)
                .display()
                .to_string(),
            status: status(*change),
            mode: format!("{:04o}", artifact.mode),
            sha256: (!is_secret(artifact)).then(|| sha256_hex(&artifact.contents)),
            backup: backups.get(index).cloned().flatten(),
            install: install::install(setup, artifact).map(JsonInstall::from),
        })
        .collect();
    // The file in the bundle, or your own where it is.
    let path = match setup.tls() {
        Tls::Provided { certificate, .. } => Some(certificate.to_string()),
        _ => setup
            .certificate_file()
            .map(|file| setup.out_dir().join(file).display().to_string()),
    };
    let certificate = plan
        .certificate
        .as_ref()
        .zip(path)
        .map(|(facts, path)| JsonCertificate {
            path,
            not_after: facts
                .not_after
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            subject: facts.subject.clone(),
            subject_alt_names: facts.names.clone(),
        });
    let document = JsonReport {
        format_version: JSON_FORMAT_VERSION,
        target: setup.deploy_target().as_str(),
        check,
        changed: changes.iter().any(|change| *change != Change::Same),
        external_url: setup.external_url(),
        files,
        certificate,
        prometheus_flags: &plan.flags,
        warnings,
        acme_steps: crate::bundle::acme::steps(setup, &setup.out_dir().display().to_string()),
    };
    serde_json::to_string_pretty(&document).expect("the report is plain data")
}

#[cfg(test)]
mod tests {}

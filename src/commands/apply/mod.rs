//! `promsetup apply [DIR] [--dry-run] [--format json]`: puts a bundle in place on this host and
//! proves it works, or changes nothing.
//!
//! The install plan is the one the setup run recorded in the bundle (`install-plan.json`, made by
//! `bundle::install::record` from the same rules the JSON report shows); `items` reads it with
//! the host's state and refuses what it cannot carry out before anything changes. Then, holding
//! the lock of every target folder (sorted): each changed file is written through `write::apply`
//! (one `NAME.bak` per replaced file), a site's link is made, `nginx -t`, nginx reloaded,
//! Prometheus's unit re-read and Prometheus restarted when its flags or hand-off changed (or the
//! command named), and `live` proves the service: 401 without a password and 200 with it once
//! the reload settles, then every check of `verify --url`. Any failure puts every file back from
//! its backup (or removes it when it was new), removes the link it made, reloads nginx and
//! restarts Prometheus again as they were, and names what failed.

mod items;
mod live;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::bundle::install::{OnChange, Recorded};
use crate::bundle::prometheus_handoff::Route;
use crate::console::Streams;
use crate::error::{Failure, Outcome};
use crate::host::prometheus_service::{self as prometheus_probe, DROP_IN_PATH};
use crate::host::secret_input as secret;
use crate::host::services::{CommandLine, Host, ServiceManager};
use crate::model::password::Password;
use crate::model::prometheus_service::PrometheusService;
use crate::model::request::{ApplyRequest, ReportFormat};
use crate::model::setup::DEFAULT_OUT_DIR;
use crate::write::{self, FileSpec, Policy, lock::FolderLock};
use items::{Handoff, Item, Link};
use live::HEALTH_PATH;

pub fn run(request: ApplyRequest, streams: Streams) -> Result<Outcome, Failure> {
    run_with(
        request,
        streams,
        &Host::detect(),
        &prometheus_probe::probe(),
    )
}

/// The version of `apply --format json`'s document (docs/apply-schema.json); raised only for
/// changes that break readers.
const JSON_FORMAT_VERSION: u32 = 1;

/// Everything apply would do, read before anything changes.
struct Plan {
    dir: PathBuf,
    recorded: Recorded,
    files: Vec<Item>,
    links: Vec<Link>,
    handoff: Handoff,
    /// For a snippet: the host's file that includes it.
    including: Option<PathBuf>,
    /// The certificates the live checks trust: the bundle's, or the including server's.
    trust: Option<Vec<u8>>,
    connect: Option<SocketAddr>,
    commands: Commands,
}

struct Commands {
    test: CommandLine,
    reload: CommandLine,
    reload_units: Option<CommandLine>,
    restart: Option<CommandLine>,
    /// Prometheus needs a restart promsetup cannot do here: how to do it.
    restart_hint: Option<String>,
}

impl Plan {
    /// Whether the live service can be held to every check of verify: Prometheus runs with the
    /// bundle's flags (or will, once restarted here), and the certificate clients see is known.
    fn verifies(&self) -> bool {
        let https = self.recorded.url.starts_with("https://");
        self.commands.restart_hint.is_none() && (!https || self.trust.is_some())
    }

    fn changed_files(&self) -> usize {
        self.files.iter().filter(|item| item.changes()).count()
            + self.links.iter().filter(|link| !link.present).count()
    }
}

/// `run` with the service manager and the Prometheus service given (tests inject their own).
pub fn run_with(
    request: ApplyRequest,
    streams: Streams,
    services: &dyn ServiceManager,
    prometheus: &PrometheusService,
) -> Result<Outcome, Failure> {
    let dir = request
        .bundle
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR));
    let plan = read_plan(dir, services, prometheus)?;
    let json = request.bundle.show.format == ReportFormat::Json;

    let password = secret::given(request.bundle.password.as_ref(), streams.stdin)?
        .map(|obtained| obtained.password);
    let with_password = password.is_some();

    if request.dry_run {
        if json {
            let document = json_document(&plan, with_password, None, None);
            writeln!(streams.out, "{document}")?;
        } else {
            print_actions(streams.out, &plan, with_password)?;
            writeln!(streams.out, "dry run: nothing was changed")?;
        }
        return Ok(Outcome::Done);
    }

    check_rights(&plan)?;

    // Every target folder's lock, in sorted order, for the whole run.
    let mut folders: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (index, item) in plan.files.iter().enumerate() {
        folders
            .entry(parent(&item.destination))
            .or_default()
            .push(index);
    }
    let mut locked: Vec<PathBuf> = folders.keys().cloned().collect();
    locked.extend(plan.links.iter().map(|link| parent(&link.path)));
    locked.sort();
    locked.dedup();
    let mut locks = Vec::new();
    for folder in &locked {
        locks.push(FolderLock::acquire(folder, write::lock::DEFAULT_WAIT)?);
    }

    let mut progress = Progress::default();
    let result = install_and_check(
        &plan,
        &folders,
        services,
        password,
        request.restart_wait,
        &mut progress,
    );
    let failure = match result {
        Ok(verified) => {
            progress.verified = verified;
            None
        }
        Err(what) => Some(undo(&plan, &folders, services, &progress, &what)),
    };
    drop(locks);

    if json {
        let document = json_document(
            &plan,
            with_password,
            Some(failure.as_deref()),
            progress.verified.as_ref(),
        );
        writeln!(streams.out, "{document}")?;
    } else if failure.is_none() {
        print_actions(streams.out, &plan, with_password)?;
        match plan.changed_files() {
            0 => writeln!(
                streams.out,
                "applied: nothing changed, {} answers",
                plan.recorded.url
            )?,
            changed => writeln!(
                streams.out,
                "applied: {changed} file(s) changed, nginx reloaded, {} answers",
                plan.recorded.url
            )?,
        }
        if let Some(verified) = &progress.verified {
            writeln!(
                streams.out,
                "verified: {} checks ok, {} warning(s){}",
                verified.ok,
                verified.warnings.len(),
                if verified.warnings.is_empty() {
                    ""
                } else {
                    ":"
                }
            )?;
            for warning in &verified.warnings {
                writeln!(streams.out, "  warning  {warning}")?;
            }
        }
        if let Some(hint) = &plan.commands.restart_hint {
            writeln!(
                streams.out,
                "Prometheus's flags changed and promsetup cannot restart it here: {hint}; then \
                 check it all with\n\n    promsetup verify {} --url {}\n",
                plan.dir.display(),
                plan.recorded.url
            )?;
        }
    }
    match failure {
        Some(text) => Err(Failure::Apply(text)),
        None => Ok(Outcome::Done),
    }
}

fn read_plan(
    dir: PathBuf,
    services: &dyn ServiceManager,
    prometheus: &PrometheusService,
) -> Result<Plan, Failure> {
    let recorded = items::read_record(&dir)?;
    let including = items::including_file(&recorded)?;
    let mut files = items::bundle_items(&recorded, &dir)?;
    let (handoff, handoff_file) = items::handoff(&recorded, &dir, prometheus)?;
    files.extend(handoff_file);
    let links = items::links(&recorded)?;

    let restart = files
        .iter()
        .any(|item| item.changes() && item.on_change == OnChange::Restart);
    let units_changed = files
        .iter()
        .any(|item| item.changes() && item.destination == Path::new(DROP_IN_PATH));
    let commands = Commands {
        test: services.test_nginx(),
        reload: services.reload_nginx(),
        reload_units: units_changed.then(|| services.reload_units()).flatten(),
        restart: restart
            .then(|| services.restart_prometheus(handoff.route))
            .flatten(),
        restart_hint: (restart && services.restart_prometheus(handoff.route).is_none())
            .then(|| services.restart_hint(handoff.route)),
    };
    let trust = match &including {
        Some(file) => items::server_certificates(
            file,
            Path::new(recorded.nginx_conf_dir.as_deref().unwrap_or("/etc/nginx")),
        ),
        None => recorded
            .certificate
            .as_ref()
            .and_then(|name| std::fs::read(dir.join(name)).ok()),
    };
    let connect = match &recorded.connect {
        None => None,
        Some(text) => Some(text.parse().map_err(|_| {
            Failure::Config(format!(
                "{}: connect {text} is not an address",
                crate::bundle::layout::INSTALL_PLAN_FILE
            ))
        })?),
    };
    Ok(Plan {
        dir,
        recorded,
        files,
        links,
        handoff,
        including,
        trust,
        connect,
        commands,
    })
}

fn parent(path: &Path) -> PathBuf {
    path.parent().unwrap_or(Path::new("/")).to_path_buf()
}

/// Refuses, naming the command to run instead, when a target folder is not writable.
fn check_rights(plan: &Plan) -> Result<(), Failure> {
    let root = nix::unistd::geteuid().is_root();
    let me = current_user();
    let writable = |folder: &Path| {
        // A folder apply makes: its parent must be writable.
        let existing = folder
            .ancestors()
            .find(|ancestor| ancestor.exists())
            .unwrap_or(Path::new("/"));
        nix::unistd::access(existing, nix::unistd::AccessFlags::W_OK).is_ok()
    };
    let blocked = plan
        .files
        .iter()
        .filter(|item| item.changes())
        .find_map(|item| {
            let folder = parent(&item.destination);
            (!writable(&folder) || (!root && item.owner != me)).then_some(folder)
        })
        .or_else(|| {
            plan.links
                .iter()
                .map(|link| parent(&link.path))
                .find(|folder| !writable(folder))
        });
    match blocked {
        None => Ok(()),
        Some(folder) => Err(Failure::Usage(format!(
            "apply needs to write {} and hand files to their owners; run it as root:\n\n    \
             sudo promsetup apply {}\n",
            folder.display(),
            plan.dir.display()
        ))),
    }
}

fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|user| user.name)
        .unwrap_or_default()
}

/// What has been done, for the undo.
#[derive(Default)]
struct Progress {
    links_made: Vec<PathBuf>,
    units_reloaded: bool,
    /// A restart was tried: Prometheus may run with the new flags.
    restarted: bool,
    verified: Option<live::Verified>,
}

fn install_and_check(
    plan: &Plan,
    folders: &BTreeMap<PathBuf, Vec<usize>>,
    services: &dyn ServiceManager,
    password: Option<Password>,
    restart_wait: std::time::Duration,
    progress: &mut Progress,
) -> Result<Option<live::Verified>, String> {
    for (folder, indexes) in folders {
        let changed: Vec<&Item> = indexes
            .iter()
            .map(|&i| &plan.files[i])
            .filter(|item| item.changes())
            .collect();
        if changed.is_empty() {
            continue;
        }
        let names: Vec<String> = changed.iter().map(|item| item.file_name()).collect();
        let files: Vec<FileSpec> = changed
            .iter()
            .zip(&names)
            .map(|(item, name)| FileSpec {
                name,
                contents: &item.contents,
                mode: item.mode,
                access: &item.access,
            })
            .collect();
        let policy = Policy {
            force: true,
            backups: true,
        };
        write::apply(&files, folder, policy)
            .map_err(|error| format!("installing into {}: {error}", folder.display()))?;
    }
    for link in plan.links.iter().filter(|link| !link.present) {
        write::link(&link.target, &link.path).map_err(|error| error.to_string())?;
        progress.links_made.push(link.path.clone());
    }
    let commands = &plan.commands;
    // Nothing changed: nothing to test or reload (configuration management runs apply often).
    if plan.changed_files() > 0 {
        services.run(&commands.test)?;
        services.run(&commands.reload)?;
    }
    if let Some(reload_units) = &commands.reload_units {
        progress.units_reloaded = true;
        services.run(reload_units)?;
    }
    if let Some(restart) = &commands.restart {
        progress.restarted = true;
        services.run(restart)?;
    }
    let settle = match progress.restarted {
        true => restart_wait,
        false => live::AFTER_RELOAD,
    };
    let anchors = plan.trust.as_deref().and_then(live::anchors);
    let url = &plan.recorded.url;
    live::wait_for_service(
        url,
        plan.connect,
        anchors,
        password
            .as_ref()
            .map(|password| (plan.recorded.username.as_str(), password)),
        settle,
    )?;
    if !plan.verifies() {
        return Ok(None);
    }
    live::verify_service(&plan.dir, url, plan.connect, password, plan.trust.clone()).map(Some)
}

/// Puts everything back as it was and says what failed and what the undo did.
fn undo(
    plan: &Plan,
    folders: &BTreeMap<PathBuf, Vec<usize>>,
    services: &dyn ServiceManager,
    progress: &Progress,
    what: &str,
) -> String {
    let restored = roll_back(plan, folders, &progress.links_made);
    let mut text = format!("apply failed: {what}");
    match restored {
        Ok(()) => text.push_str("; every file was put back as it was"),
        Err(why) => text.push_str(&format!("; putting the files back failed too: {why}")),
    }
    if let Err(why) = services.run(&plan.commands.reload) {
        text.push_str(&format!("; reloading nginx again failed: {why}"));
        if let (Some(file), Some(locations)) = (&plan.including, &plan.recorded.include) {
            // nginx keeps serving its running configuration; only the next reload would fail.
            text.push_str(&format!(
                ". nginx goes on serving its previous configuration, but {} includes {locations}, \
                 which is not installed: take that line out, or run apply again once the cause \
                 above is fixed",
                file.display()
            ));
        }
    }
    if progress.units_reloaded
        && let Some(reload_units) = &plan.commands.reload_units
        && let Err(why) = services.run(reload_units)
    {
        text.push_str(&format!("; {why}"));
    }
    if progress.restarted
        && let Some(restart) = &plan.commands.restart
    {
        match services.run(restart) {
            Ok(()) => text.push_str("; Prometheus was restarted with its previous flags"),
            Err(why) => text.push_str(&format!(
                "; restarting Prometheus with its previous flags failed too: {why}"
            )),
        }
    }
    text
}

/// Puts every changed file back: from its backup, or removed when it was new; removes the links
/// this run made.
fn roll_back(
    plan: &Plan,
    folders: &BTreeMap<PathBuf, Vec<usize>>,
    links_made: &[PathBuf],
) -> Result<(), String> {
    let mut errors = Vec::new();
    for link in links_made {
        if let Err(error) = write::remove_installed(link) {
            errors.push(format!("{}: {error}", link.display()));
        }
    }
    for (folder, indexes) in folders {
        for item in indexes.iter().map(|&i| &plan.files[i]) {
            if !item.changes() {
                continue;
            }
            let result = match item.before {
                None => write::remove_installed(&item.destination).map(|_| ()),
                Some(_) => {
                    let name = item.file_name();
                    let backup = folder.join(format!("{name}.bak"));
                    match std::fs::read(&backup) {
                        Ok(old) => write::apply(
                            &[FileSpec {
                                name: &name,
                                contents: &old,
                                mode: item.mode,
                                access: &item.access,
                            }],
                            folder,
                            Policy {
                                force: true,
                                backups: false,
                            },
                        )
                        .map(|_| ()),
                        Err(error) => {
                            errors.push(format!("{}: {error}", backup.display()));
                            continue;
                        }
                    }
                }
            };
            if let Err(error) = result {
                errors.push(format!("{}: {error}", item.destination.display()));
            }
        }
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(errors.join("; ")),
    }
}

fn handoff_text(handoff: &Handoff) -> String {
    let file = handoff.flags_file.as_deref().unwrap_or("prometheus.flags");
    match handoff.route {
        Route::DebianArgs => format!(
            "Prometheus reads @{file} through ARGS in {} (debian-args)",
            prometheus_probe::DEFAULT_FILE
        ),
        Route::SystemdDropIn => {
            format!("Prometheus reads @{file} through the drop-in {DROP_IN_PATH} (systemd-drop-in)")
        }
        Route::Container => format!(
            "this is a container: add @{file} to the Prometheus container's command (container)"
        ),
        Route::Manual => format!(
            "no Prometheus service found here: add @{file} to Prometheus's command line (manual)"
        ),
    }
}

fn print_actions(
    out: &mut dyn std::io::Write,
    plan: &Plan,
    with_password: bool,
) -> Result<(), Failure> {
    for item in &plan.files {
        writeln!(
            out,
            "{:<9} {}  {:04o} {}:{}  ({}; {} {})",
            item.state(),
            item.destination.display(),
            item.mode,
            item.owner,
            item.group,
            item.origin,
            item.service.as_str(),
            item.on_change.as_str()
        )?;
        if let Some(url) = &item.replaces_site_of {
            writeln!(
                out,
                "          it serves {url} now: one nginx holds one promsetup site, so that one \
                 goes (kept as {}.bak)",
                item.file_name()
            )?;
        }
    }
    for link in &plan.links {
        writeln!(
            out,
            "{:<9} {} -> {}  (enables the site)",
            if link.present { "unchanged" } else { "link" },
            link.path.display(),
            link.target.display()
        )?;
    }
    if let (Some(file), Some(locations)) = (&plan.including, &plan.recorded.include) {
        writeln!(
            out,
            "included  {locations} by {}  (the host's server for the domain)",
            file.display()
        )?;
    }
    if plan.handoff.flags_file.is_some() {
        writeln!(out, "flags     {}", handoff_text(&plan.handoff))?;
    }
    let commands = &plan.commands;
    if plan.changed_files() > 0 {
        writeln!(out, "run       {}", commands.test.shown())?;
        writeln!(out, "run       {}", commands.reload.shown())?;
    }
    for command in [&commands.reload_units, &commands.restart]
        .into_iter()
        .flatten()
    {
        writeln!(out, "run       {}", command.shown())?;
    }
    if let Some(hint) = &commands.restart_hint {
        writeln!(out, "then      {hint}")?;
    }
    let url = &plan.recorded.url;
    let via = plan
        .connect
        .map(|address| format!(" (connecting to {address})"))
        .unwrap_or_default();
    writeln!(
        out,
        "check     GET {url} answers 401 without a password{via}"
    )?;
    if with_password {
        writeln!(
            out,
            "check     GET {url}{HEALTH_PATH} answers 200 with the password"
        )?;
    }
    if plan.verifies() {
        writeln!(
            out,
            "check     promsetup verify {} --url {url}",
            plan.dir.display()
        )?;
    }
    Ok(())
}

fn json_document(
    plan: &Plan,
    with_password: bool,
    result: Option<Option<&str>>,
    verified: Option<&live::Verified>,
) -> String {
    let files: Vec<_> = plan
        .files
        .iter()
        .map(|item| {
            serde_json::json!({
                "source": item.source.as_ref().map(|source| source.display().to_string()),
                "origin": item.origin,
                "path": item.destination.display().to_string(),
                "mode": format!("{:04o}", item.mode),
                "owner": item.owner,
                "group": item.group,
                "service": item.service.as_str(),
                "on_change": item.on_change.as_str(),
                "action": item.state(),
                "replaces_site_of": item.replaces_site_of,
            })
        })
        .collect();
    let links: Vec<_> = plan
        .links
        .iter()
        .map(|link| {
            serde_json::json!({
                "path": link.path.display().to_string(),
                "target": link.target.display().to_string(),
                "action": if link.present { "unchanged" } else { "create" },
            })
        })
        .collect();
    let commands = &plan.commands;
    let mut run = Vec::new();
    if plan.changed_files() > 0 {
        run.extend([commands.test.shown(), commands.reload.shown()]);
    }
    run.extend(
        [&commands.reload_units, &commands.restart]
            .into_iter()
            .flatten()
            .map(CommandLine::shown),
    );
    let url = &plan.recorded.url;
    let mut checks = vec![format!("GET {url} 401")];
    if with_password {
        checks.push(format!("GET {url}{HEALTH_PATH} 200"));
    }
    if plan.verifies() {
        checks.push(format!("verify --url {url}"));
    }
    let document = serde_json::json!({
        "format_version": JSON_FORMAT_VERSION,
        "bundle": plan.dir.display().to_string(),
        "dry_run": result.is_none(),
        "layout": plan.recorded.layout,
        "files": files,
        "links": links,
        "included_by": plan.including.as_ref().map(|file| file.display().to_string()),
        "prometheus_handoff": plan.handoff.flags_file.as_ref().map(|_| plan.handoff.route.as_str()),
        "commands": run,
        "prometheus_restart": commands.restart_hint,
        "connect": plan.connect.map(|address| address.to_string()),
        "checks": checks,
        "verified": verified.map(|verified| serde_json::json!({
            "ok": verified.ok,
            "warnings": verified.warnings,
        })),
        "ok": result.map(|failure| failure.is_none()),
        "error": result.flatten(),
    });
    document.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::layout::INSTALL_PLAN_FILE;
    use crate::model::request::{BundleOptions, Show};
    use crate::write::Access;
    use std::cell::RefCell;

    /// Records every command; fails the one named.
    struct Fake {
        ran: RefCell<Vec<String>>,
        fails: &'static str,
    }

    impl ServiceManager for Fake {
        fn test_nginx(&self) -> CommandLine {
            Host::with_systemd(false).test_nginx()
        }
        fn reload_nginx(&self) -> CommandLine {
            Host::with_systemd(false).reload_nginx()
        }
        fn restart_prometheus(&self, route: Route) -> Option<CommandLine> {
            Host::with_systemd(true).restart_prometheus(route)
        }
        fn reload_units(&self) -> Option<CommandLine> {
            None
        }
        fn restart_hint(&self, _route: Route) -> String {
            String::new()
        }
        fn run(&self, command: &CommandLine) -> Result<(), String> {
            self.ran.borrow_mut().push(command.shown());
            match command.shown() == self.fails {
                true => Err(format!("{} failed", self.fails)),
                false => Ok(()),
            }
        }
    }

    #[test]
    fn a_failed_prometheus_restart_puts_the_files_back_and_reloads_nginx_again() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let root = tempfile::tempdir().unwrap();
        let (bundle, target) = (root.path().join("bundle"), root.path().join("etc"));
        for dir in [&bundle, &target] {
            std::fs::create_dir(dir).unwrap();
        }
        crate::write::apply(
            &[
                FileSpec {
                    name: "prometheus.flags",
                    contents: b"--new\n",
                    mode: 0o644,
                    access: &Access::Owner,
                },
                FileSpec {
                    name: INSTALL_PLAN_FILE,
                    contents: format!(
                        r#"{{"version":1,"url":"http://127.0.0.1:9/","username":"admin",
                        "certificate":null,"files":[{{"file":"prometheus.flags",
                        "path":"{}/prometheus.flags","owner":"root","group":"root",
                        "mode":"0644","service":"prometheus","on_change":"restart"}}]}}"#,
                        target.display()
                    )
                    .as_bytes(),
                    mode: 0o644,
                    access: &Access::Owner,
                },
            ],
            &bundle,
            Policy {
                force: false,
                backups: false,
            },
        )
        .unwrap();
        crate::write::apply(
            &[FileSpec {
                name: "prometheus.flags",
                contents: b"--old\n",
                mode: 0o644,
                access: &Access::Owner,
            }],
            &target,
            Policy {
                force: false,
                backups: false,
            },
        )
        .unwrap();
        let fake = Fake {
            ran: RefCell::new(Vec::new()),
            fails: "systemctl restart prometheus",
        };
        let (mut stdin, mut out, mut err) = (&b""[..], Vec::new(), Vec::new());
        let request = ApplyRequest {
            bundle: BundleOptions {
                dir: Some(bundle),
                password: None,
                non_interactive: true,
                show: Show {
                    check: false,
                    diff: false,
                    format: ReportFormat::Text,
                },
            },
            dry_run: false,
            restart_wait: std::time::Duration::from_secs(1),
        };
        let streams = Streams {
            stdin: &mut stdin,
            out: &mut out,
            err: &mut err,
        };
        let failure = run_with(request, streams, &fake, &PrometheusService::default())
            .unwrap_err()
            .to_string();
        assert!(
            failure.contains("systemctl restart prometheus failed"),
            "{failure}"
        );
        assert_eq!(
            fake.ran.borrow().as_slice(),
            [
                "nginx -t -q",
                "nginx -s reload",
                "systemctl restart prometheus",
                "nginx -s reload",
                "systemctl restart prometheus"
            ]
        );
        assert_eq!(
            std::fs::read(target.join("prometheus.flags")).unwrap(),
            b"--old\n"
        );
    }
}

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
use crate::write::{self, Access, FileSpec, lock::FolderLock};
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

    /// The password goes only over TLS checked against known certificates, or to this host's
    /// loopback: never in clear across a network.
    fn sends_password(&self) -> bool {
        let https = self.recorded.url.starts_with("https://") && self.trust.is_some();
        https
            || self
                .connect
                .is_some_and(|address| address.ip().is_loopback())
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
    let recorded = items::read_record(&dir)?;
    items::check_paths(&recorded)?;
    let json = request.bundle.show.format == ReportFormat::Json;
    // Asked before any lock is taken: a lock is never held while waiting for a person.
    let password = secret::given(request.bundle.password.as_ref(), streams.stdin)?
        .map(|obtained| obtained.password);
    let with_password = password.is_some();

    if request.dry_run {
        let plan = read_plan(dir, recorded, services, prometheus)?;
        if json {
            let document = json_document(&plan, with_password, None, None);
            writeln!(streams.out, "{document}")?;
        } else {
            print_actions(streams.out, &plan, with_password)?;
            writeln!(streams.out, "dry run: nothing was changed")?;
        }
        return Ok(Outcome::Done);
    }

    // Every target folder's lock, in sorted order, for the whole run; what is there is read
    // only then, so a concurrent apply cannot change it between the look and the write.
    let mut locked: Vec<PathBuf> = recorded
        .files
        .iter()
        .map(|file| parent(Path::new(&file.path)))
        .chain(
            recorded
                .links
                .iter()
                .map(|link| parent(Path::new(&link.path))),
        )
        .chain(
            items::handoff_destination(&recorded, prometheus).map(|path| parent(Path::new(path))),
        )
        .collect();
    locked.sort();
    locked.dedup();
    check_folders(&locked, &dir)?;
    let mut locks = Locks(Vec::new());
    for folder in &locked {
        locks
            .0
            .push(FolderLock::acquire(folder, write::lock::DEFAULT_WAIT)?);
    }
    let plan = read_plan(dir, recorded, services, prometheus)?;
    check_owners(&plan)?;

    let mut folders: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (index, item) in plan.files.iter().enumerate() {
        folders
            .entry(parent(&item.destination))
            .or_default()
            .push(index);
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
    recorded: Recorded,
    services: &dyn ServiceManager,
    prometheus: &PrometheusService,
) -> Result<Plan, Failure> {
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

/// Refuses, naming the command to run instead, when a target folder is not writable (or, when
/// missing, cannot be made).
fn check_folders(folders: &[PathBuf], dir: &Path) -> Result<(), Failure> {
    let writable = |folder: &Path| {
        let existing = folder
            .ancestors()
            .find(|ancestor| ancestor.exists())
            .unwrap_or(Path::new("/"));
        nix::unistd::access(existing, nix::unistd::AccessFlags::W_OK).is_ok()
    };
    match folders.iter().find(|folder| !writable(folder)) {
        None => Ok(()),
        Some(folder) => Err(needs_root(folder, dir)),
    }
}

/// Without root, files can only be handed to oneself.
fn check_owners(plan: &Plan) -> Result<(), Failure> {
    if nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let me = current_user();
    match plan
        .files
        .iter()
        .find(|item| item.changes() && item.owner != me)
    {
        None => Ok(()),
        Some(item) => Err(needs_root(&parent(&item.destination), &plan.dir)),
    }
}

fn needs_root(folder: &Path, dir: &Path) -> Failure {
    Failure::Usage(format!(
        "apply needs to write {} and hand files to their owners; run it as root:\n\n    \
         sudo promsetup apply {}\n",
        folder.display(),
        dir.display()
    ))
}

/// The target folders' locks, taken in sorted order and released deepest first: each lock
/// removes the folders it made when they are left empty (a failed run), and a parent is empty
/// only once its children have gone.
struct Locks(Vec<FolderLock>);

impl Drop for Locks {
    fn drop(&mut self) {
        while let Some(lock) = self.0.pop() {
            drop(lock);
        }
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
    /// The folders whose files were written: only those are put back.
    committed: Vec<PathBuf>,
    links_made: Vec<PathBuf>,
    units_reloaded: bool,
    /// A restart was tried: Prometheus may run with the new flags.
    restarted: bool,
    /// Whether Prometheus ran before the restart, when the service manager says.
    was_running: Option<bool>,
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
        write::install(&files, folder)
            .map_err(|error| format!("installing into {}: {error}", folder.display()))?;
        progress.committed.push(folder.clone());
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
        // Whether it ran before, so an undo leaves it as it was.
        progress.was_running = services
            .prometheus_running(plan.handoff.route)
            .map(|status| services.run(&status).is_ok());
        progress.restarted = true;
        services.run(restart)?;
    }
    let settle = match progress.restarted {
        true => restart_wait,
        false => live::AFTER_RELOAD,
    };
    let anchors = plan
        .trust
        .as_deref()
        .map(crate::host::http_client::trust_anchors)
        .filter(|anchors| !anchors.is_empty());
    let url = &plan.recorded.url;
    let password = password.filter(|_| plan.sends_password());
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
    let restored = roll_back(plan, folders, progress);
    let files_back = restored.is_ok();
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
    let stop = services.stop_prometheus(plan.handoff.route);
    if progress.restarted
        && progress.was_running == Some(false)
        && let Some(stop) = stop
    {
        match services.run(&stop) {
            Ok(()) => text.push_str("; Prometheus was stopped again, as it was before"),
            Err(why) => text.push_str(&format!("; stopping Prometheus again failed: {why}")),
        }
    } else if progress.restarted
        && let Some(restart) = &plan.commands.restart
    {
        match services.run(restart) {
            Ok(()) if files_back => {
                text.push_str("; Prometheus was restarted with its previous flags")
            }
            Ok(()) => text.push_str(
                "; Prometheus was restarted, but not every file could be put back first: \
                 check the flags it runs with",
            ),
            Err(why) => text.push_str(&format!(
                "; restarting Prometheus with its previous flags failed too: {why}"
            )),
        }
    }
    text
}

/// Puts every file this run wrote back: from its backup with its old mode and owner, or
/// removed when it was new; removes the links this run made. Folders whose write did not
/// commit were not changed and are left alone.
fn roll_back(
    plan: &Plan,
    folders: &BTreeMap<PathBuf, Vec<usize>>,
    progress: &Progress,
) -> Result<(), String> {
    let mut errors = Vec::new();
    for link in &progress.links_made {
        if let Err(error) = write::remove_installed(link) {
            errors.push(format!("{}: {error}", link.display()));
        }
    }
    for folder in &progress.committed {
        let indexes = folders.get(folder).map(Vec::as_slice).unwrap_or_default();
        for item in indexes.iter().map(|&i| &plan.files[i]) {
            if !item.changes() {
                continue;
            }
            let result = match item.previous {
                None => write::remove_installed(&item.destination).map(|_| ()),
                Some(previous) => {
                    let name = item.file_name();
                    let backup = folder.join(format!("{name}.bak"));
                    match std::fs::read(&backup) {
                        Ok(old) => write::restore(
                            &[FileSpec {
                                name: &name,
                                contents: &old,
                                mode: previous.mode,
                                access: &Access::Ids {
                                    uid: Some(previous.uid),
                                    gid: previous.gid,
                                },
                            }],
                            folder,
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
    match (with_password, plan.sends_password()) {
        (true, true) => writeln!(
            out,
            "check     GET {url}{HEALTH_PATH} answers 200 with the password"
        )?,
        (true, false) => writeln!(
            out,
            "not sent  the password: {url} is not TLS checked against a known certificate, nor \
             on this host's loopback"
        )?,
        (false, _) => {}
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
    if with_password && plan.sends_password() {
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
#[allow(clippy::disallowed_methods)] // tests arrange files by hand
mod tests {
    use super::*;
    use crate::bundle::layout::INSTALL_PLAN_FILE;
    use crate::model::request::{BundleOptions, Show};
    use std::cell::RefCell;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// Records every command; fails the one named. With `stopped`, Prometheus was not running
    /// before (its status command fails).
    struct Fake {
        ran: RefCell<Vec<String>>,
        fails: &'static str,
        stopped: bool,
    }

    impl Fake {
        fn failing(command: &'static str) -> Fake {
            Fake {
                ran: RefCell::new(Vec::new()),
                fails: command,
                stopped: false,
            }
        }
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
        fn prometheus_running(&self, route: Route) -> Option<CommandLine> {
            Host::with_systemd(true).prometheus_running(route)
        }
        fn stop_prometheus(&self, route: Route) -> Option<CommandLine> {
            Host::with_systemd(true).stop_prometheus(route)
        }
        fn run(&self, command: &CommandLine) -> Result<(), String> {
            let shown = command.shown();
            self.ran.borrow_mut().push(shown.clone());
            let status = shown == "systemctl is-active --quiet prometheus";
            match shown == self.fails || (status && self.stopped) {
                true => Err(format!("{shown} failed")),
                false => Ok(()),
            }
        }
    }

    /// A bundle in `root/bundle` whose plan installs each `(name, contents, folder, on_change)`
    /// with mode 0644, owned by whoever runs the test (so it runs as any user).
    fn bundle(root: &Path, files: &[(&str, &str, &Path, &str)]) -> PathBuf {
        let dir = root.join("bundle");
        fs::create_dir_all(&dir).unwrap();
        let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
        let entries: Vec<_> = files
            .iter()
            .map(|(name, contents, folder, on_change)| {
                fs::write(dir.join(name), contents).unwrap();
                serde_json::json!({
                    "file": name, "path": folder.join(name), "owner": uid.to_string(),
                    "group": gid.to_string(), "mode": "0644",
                    "service": if *on_change == "restart" { "prometheus" } else { "nginx" },
                    "on_change": on_change,
                })
            })
            .collect();
        let plan = serde_json::json!({
            "version": 1, "url": "http://127.0.0.1:9/", "username": "admin",
            "certificate": null, "files": entries,
        });
        fs::write(dir.join(INSTALL_PLAN_FILE), plan.to_string()).unwrap();
        dir
    }

    fn apply(dir: &Path, services: &Fake, dry_run: bool) -> (Result<Outcome, Failure>, String) {
        let (mut stdin, mut out, mut err) = (&b""[..], Vec::new(), Vec::new());
        let request = ApplyRequest {
            bundle: BundleOptions {
                dir: Some(dir.to_path_buf()),
                password: None,
                non_interactive: true,
                show: Show {
                    check: false,
                    diff: false,
                    format: ReportFormat::Text,
                },
            },
            dry_run,
            restart_wait: std::time::Duration::from_secs(1),
        };
        let streams = Streams {
            stdin: &mut stdin,
            out: &mut out,
            err: &mut err,
        };
        let result = run_with(request, streams, services, &PrometheusService::default());
        (result, String::from_utf8_lossy(&out).into_owned())
    }

    /// A bundle whose only file is a new prometheus.flags for `etc/` (a restart on change):
    /// the temporary root (kept alive by the caller), that folder and the bundle.
    fn flags_bundle() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("etc");
        fs::create_dir(&target).unwrap();
        let dir = bundle(
            root.path(),
            &[("prometheus.flags", "--new\n", &target, "restart")],
        );
        (root, target, dir)
    }

    fn put(path: &Path, contents: &str, mode: u32) {
        fs::write(path, contents).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_failed_prometheus_restart_puts_the_files_back_and_reloads_nginx_again() {
        let (_root, target, dir) = flags_bundle();
        put(&target.join("prometheus.flags"), "--old\n", 0o640);
        let fake = Fake::failing("systemctl restart prometheus");
        let failure = apply(&dir, &fake, false).0.unwrap_err().to_string();
        assert!(
            failure.contains("systemctl restart prometheus failed"),
            "{failure}"
        );
        assert_eq!(
            fake.ran.borrow().as_slice(),
            [
                "nginx -t -q",
                "nginx -s reload",
                "systemctl is-active --quiet prometheus",
                "systemctl restart prometheus",
                "nginx -s reload",
                "systemctl restart prometheus"
            ]
        );
        // Its bytes, and its mode, as they were.
        let flags = target.join("prometheus.flags");
        assert_eq!(fs::read_to_string(&flags).unwrap(), "--old\n");
        assert_eq!(fs::metadata(&flags).unwrap().mode() & 0o7777, 0o640);
        // The backup is never wider than the file was.
        let backup = target.join("prometheus.flags.bak");
        assert_eq!(
            fs::metadata(&backup).unwrap().mode() & 0o7777,
            0o640 & 0o644
        );
    }

    #[test]
    fn a_write_that_fails_puts_back_only_what_was_written() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        for folder in [&a, &b] {
            fs::create_dir(folder).unwrap();
        }
        let dir = bundle(
            root.path(),
            &[
                ("x.conf", "new x\n", &a, "reload"),
                ("y.conf", "new y\n", &b, "reload"),
            ],
        );
        put(&a.join("x.conf"), "current x\n", 0o644);
        put(&b.join("y.conf"), "current y\n", 0o644);
        // An earlier run's backup in a, and in b a folder where the backup must go: a is
        // written, then b fails.
        put(&a.join("x.conf.bak"), "stale x\n", 0o644);
        fs::create_dir(b.join("y.conf.bak")).unwrap();
        let fake = Fake::failing("none");
        let failure = apply(&dir, &fake, false).0.unwrap_err().to_string();
        assert!(failure.contains("installing into"), "{failure}");
        assert!(failure.contains("every file was put back"), "{failure}");
        assert_eq!(fs::read_to_string(a.join("x.conf")).unwrap(), "current x\n");
        assert_eq!(fs::read_to_string(b.join("y.conf")).unwrap(), "current y\n");
        // Nothing ran: the write failed first.
        assert_eq!(fake.ran.borrow().as_slice(), ["nginx -s reload"]);
    }

    #[test]
    fn a_file_with_the_bundles_bytes_but_another_mode_is_replaced_and_put_back_with_it() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("etc");
        fs::create_dir(&target).unwrap();
        let dir = bundle(root.path(), &[("k.conf", "same\n", &target, "reload")]);
        put(&target.join("k.conf"), "same\n", 0o666);
        let fake = Fake::failing("none");
        let (result, shown) = apply(&dir, &fake, true);
        assert!(result.is_ok());
        assert!(shown.starts_with("replace"), "{shown}");
        // Written with the bundle's mode, then put back with its own when nginx -t fails.
        let fake = Fake::failing("nginx -t -q");
        apply(&dir, &fake, false).0.unwrap_err();
        assert_eq!(
            fs::metadata(target.join("k.conf")).unwrap().mode() & 0o7777,
            0o666
        );
        assert_eq!(
            fs::metadata(target.join("k.conf.bak")).unwrap().mode() & 0o7777,
            0o644
        );
        // A link where a file goes is refused before anything changes.
        fs::remove_file(target.join("k.conf")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", target.join("k.conf")).unwrap();
        let refused = apply(&dir, &fake, false).0.unwrap_err();
        assert_eq!(refused.exit_code(), 2, "{refused}");
        assert!(refused.to_string().contains("a symbolic link"), "{refused}");
        assert!(fs::symlink_metadata(target.join("k.conf")).is_ok());
    }

    #[test]
    fn folders_a_failed_run_made_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("new1/new2");
        let dir = bundle(root.path(), &[("z.conf", "z\n", &deep, "reload")]);
        let fake = Fake::failing("nginx -t -q");
        apply(&dir, &fake, false).0.unwrap_err();
        assert!(!root.path().join("new1").exists());
        assert!(root.path().exists());
    }

    #[test]
    fn as_root_a_bundle_others_own_or_can_change_is_refused() {
        if !nix::unistd::geteuid().is_root() {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI runs as root"
            );
            return;
        }
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("etc");
        fs::create_dir(&target).unwrap();
        let dir = bundle(root.path(), &[("a.conf", "a\n", &target, "reload")]);
        let fake = Fake::failing("none");
        // Another account's file: whoever owns it could have root write anything anywhere.
        std::os::unix::fs::chown(dir.join("a.conf"), Some(12345), None).unwrap();
        let refused = apply(&dir, &fake, true).0.unwrap_err();
        assert_eq!(refused.exit_code(), 2, "{refused}");
        assert!(
            refused.to_string().contains("belongs to uid 12345"),
            "{refused}"
        );
        std::os::unix::fs::chown(dir.join("a.conf"), Some(0), None).unwrap();
        // A plan others may change.
        fs::set_permissions(
            dir.join(INSTALL_PLAN_FILE),
            fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        let refused = apply(&dir, &fake, true).0.unwrap_err();
        assert!(
            refused.to_string().contains("can be changed by others"),
            "{refused}"
        );
        fs::set_permissions(
            dir.join(INSTALL_PLAN_FILE),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        assert!(apply(&dir, &fake, true).0.is_ok());
        assert!(fake.ran.borrow().is_empty());
    }

    #[test]
    fn a_plan_with_a_relative_path_is_refused_before_any_folder_is_made() {
        let root = tempfile::tempdir().unwrap();
        let folder = Path::new("promsetup-relative-test-folder");
        let dir = bundle(root.path(), &[("x.conf", "x\n", folder, "reload")]);
        let refused = apply(&dir, &Fake::failing("none"), false).0.unwrap_err();
        assert_eq!(refused.exit_code(), 2, "{refused}");
        assert!(
            refused
                .to_string()
                .contains("is not a server path of a file: 'promsetup-relative-test-folder/x.conf' is not absolute"),
            "{refused}"
        );
        assert!(!folder.exists());
    }

    #[test]
    fn a_prometheus_that_was_stopped_before_is_stopped_again_by_the_undo() {
        let (_root, target, dir) = flags_bundle();
        let fake = Fake {
            stopped: true,
            ..Fake::failing("systemctl restart prometheus")
        };
        let failure = apply(&dir, &fake, false).0.unwrap_err().to_string();
        assert!(
            failure.contains("stopped again, as it was before"),
            "{failure}"
        );
        assert_eq!(
            fake.ran.borrow().last().map(String::as_str),
            Some("systemctl stop prometheus")
        );
        assert!(!target.join("prometheus.flags").exists());
    }
}

//! `promsetup apply [DIR] [--dry-run] [--format json]`: puts a bundle in place on this host and
//! proves it works, or changes nothing.
//!
//! The install plan is the one the setup run recorded in the bundle (`install-plan.json`, made by
//! `bundle::install::record` from the same rules the JSON report shows).
//! Then, holding the lock of every target folder (sorted): each changed file is written through
//! `write::apply` (one `NAME.bak` per replaced file), `nginx -t`, nginx reloaded, Prometheus
//! restarted when its flags changed (or the command named), and the external URL checked (401
//! without a password, 200 with it when one is given). Any failure puts every file back from its
//! backup (or removes it when it was new), reloads nginx again and names what failed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::bundle::install::{self, OnChange, Recorded, Service};
use crate::bundle::layout::INSTALL_PLAN_FILE;
use crate::console::Streams;
use crate::error::{Failure, Outcome};
use crate::host::bounded_read;
use crate::host::secret_input as secret;
use crate::host::services::{CommandLine, Host, ServiceManager};
use crate::model::password::{Password, PasswordSource};
use crate::model::request::{ApplyRequest, ReportFormat};
use crate::model::setup::DEFAULT_OUT_DIR;
use crate::write::{self, Access, FileSpec, Policy, lock::FolderLock};

/// How long a live check waits for an answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// How often, and how far apart, a live check is asked again while a reload settles (5 s).
const SETTLE_ATTEMPTS: u32 = 50;
const HEALTH_PATH: &str = "-/healthy";
const SETTLE_PAUSE: Duration = Duration::from_millis(100);

/// One file to put in place.
struct Item {
    source: PathBuf,
    destination: PathBuf,
    contents: Zeroizing<Vec<u8>>,
    mode: u32,
    access: Access,
    owner: String,
    group: String,
    service: Service,
    on_change: OnChange,
    /// `None`: not there before; `Some(same)`: there, and whether its bytes are the bundle's.
    before: Option<bool>,
}

impl Item {
    fn changes(&self) -> bool {
        self.before != Some(true)
    }

    fn state(&self) -> &'static str {
        match self.before {
            None => "create",
            Some(false) => "replace",
            Some(true) => "unchanged",
        }
    }
}

pub fn run(request: ApplyRequest, streams: Streams) -> Result<Outcome, Failure> {
    let services = Host::detect();
    run_with(request, streams, &services)
}

/// `run` with the service manager given (tests inject their own).
pub fn run_with(
    request: ApplyRequest,
    streams: Streams,
    services: &dyn ServiceManager,
) -> Result<Outcome, Failure> {
    let dir = request
        .bundle
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR));
    let recorded = read_record(&dir)?;
    let items = install_items(&recorded, &dir)?;
    let json = request.bundle.show.format == ReportFormat::Json;

    let environment = secret::from_environment()?;
    let source = request
        .bundle
        .password
        .clone()
        .or_else(|| environment.is_some().then_some(PasswordSource::Environment));
    let password = match source {
        Some(source) => Some(secret::obtain(&source, streams.stdin, environment)?.password),
        None => None,
    };

    let restart = items
        .iter()
        .any(|i| i.changes() && i.on_change == OnChange::Restart);
    let commands = Commands {
        test: services.test_nginx(),
        reload: services.reload_nginx(),
        restart: restart.then(|| services.restart_prometheus()).flatten(),
        restart_hint: (restart && services.restart_prometheus().is_none())
            .then(|| services.restart_hint()),
    };
    let url = recorded.url.clone();

    if request.dry_run {
        if json {
            let document = json_document(&dir, &items, &commands, &url, password.is_some(), None);
            writeln!(streams.out, "{document}")?;
        } else {
            print_actions(streams.out, &items, &commands, &url, password.is_some())?;
            writeln!(streams.out, "dry run: nothing was changed")?;
        }
        return Ok(Outcome::Done);
    }

    check_rights(&items, &dir)?;

    // Every target folder's lock, in sorted order, for the whole run.
    let folders: BTreeMap<PathBuf, Vec<usize>> =
        items
            .iter()
            .enumerate()
            .fold(BTreeMap::new(), |mut map, (index, item)| {
                let folder = item.destination.parent().unwrap_or(Path::new("/"));
                map.entry(folder.to_path_buf()).or_default().push(index);
                map
            });
    let mut locks = Vec::new();
    for folder in folders.keys() {
        locks.push(FolderLock::acquire(folder, write::lock::DEFAULT_WAIT)?);
    }

    let anchors = certificate_anchors(recorded.certificate.as_deref(), &dir);
    let result = install_and_check(
        &items,
        &folders,
        &commands,
        services,
        &url,
        anchors,
        password
            .as_ref()
            .map(|password| (recorded.username.as_str(), password)),
    );
    let failure = match result {
        Ok(()) => None,
        Err(what) => {
            let restored = roll_back(&items, &folders);
            let reloaded = services.run(&commands.reload);
            let mut text = format!("apply failed: {what}");
            match restored {
                Ok(()) => text.push_str("; every file was put back as it was"),
                Err(why) => text.push_str(&format!("; putting the files back failed too: {why}")),
            }
            if let Err(why) = reloaded {
                text.push_str(&format!("; reloading nginx again failed: {why}"));
            }
            Some(text)
        }
    };
    drop(locks);

    if json {
        let document = json_document(
            &dir,
            &items,
            &commands,
            &url,
            password.is_some(),
            Some(failure.as_deref()),
        );
        writeln!(streams.out, "{document}")?;
    } else if failure.is_none() {
        print_actions(streams.out, &items, &commands, &url, password.is_some())?;
        writeln!(
            streams.out,
            "applied: {} file(s) changed, nginx reloaded, {url} answers",
            items.iter().filter(|i| i.changes()).count()
        )?;
        if let Some(hint) = &commands.restart_hint {
            writeln!(streams.out, "Prometheus's flags changed: {hint}")?;
        }
    }
    match failure {
        Some(text) => Err(Failure::Apply(text)),
        None => Ok(Outcome::Done),
    }
}

struct Commands {
    test: CommandLine,
    reload: CommandLine,
    restart: Option<CommandLine>,
    restart_hint: Option<String>,
}

/// The install plan the setup run recorded in the bundle. Only a `full` bundle (its own
/// nginx.conf) is installed by apply for now: a site or snippet file needs a link or an include
/// in the host's configuration, which the plan does not carry yet.
fn read_record(dir: &Path) -> Result<Recorded, Failure> {
    use crate::bundle::layout::{NGINX_CONF_FILE, NGINX_SITE_FILE, NGINX_SNIPPET_LOCATIONS_FILE};
    let partial = [NGINX_SITE_FILE, NGINX_SNIPPET_LOCATIONS_FILE]
        .into_iter()
        .find(|name| dir.join(name).exists());
    if let (Some(name), false) = (partial, dir.join(NGINX_CONF_FILE).exists()) {
        return Err(Failure::Usage(format!(
            "{} is a bundle for the host's own nginx configuration ({name}): promsetup apply \
             installs bundles of the full layout only for now. Install this one as its next \
             steps show, or make it again with --nginx-layout full",
            dir.display()
        )));
    }
    let path = dir.join(INSTALL_PLAN_FILE);
    let text = bounded_read::text_file(&path, bounded_read::ANSWERS_LIMIT).map_err(|error| {
        Failure::Usage(format!(
            "{} holds no install plan ({}: {error}); make the bundle (--target nginx) again with \
             this version of promsetup",
            dir.display(),
            path.display(),
        ))
    })?;
    install::read_record(&text).map_err(|why| Failure::Config(format!("{}: {why}", path.display())))
}

/// Each bundle file that is installed on the server, where, and how it compares with what is
/// there now.
fn install_items(recorded: &Recorded, dir: &Path) -> Result<Vec<Item>, Failure> {
    let mut items = Vec::new();
    for entry in &recorded.files {
        let bad =
            |why: String| Failure::Config(format!("{INSTALL_PLAN_FILE}: {}: {why}", entry.file));
        if entry.file.contains('/') || entry.file == "." || entry.file == ".." {
            return Err(bad("not a file name".into()));
        }
        let destination = PathBuf::from(&entry.path);
        if !destination.is_absolute() || destination.file_name().is_none() {
            return Err(bad(format!("{} is not an absolute file path", entry.path)));
        }
        let mode = u32::from_str_radix(&entry.mode, 8)
            .ok()
            .filter(|mode| *mode <= 0o777)
            .ok_or_else(|| bad(format!("mode {}", entry.mode)))?;
        let service = match entry.service.as_str() {
            "nginx" => Service::Nginx,
            "prometheus" => Service::Prometheus,
            other => return Err(bad(format!("service {other}"))),
        };
        let on_change = match entry.on_change.as_str() {
            "reload" => OnChange::Reload,
            "restart" => OnChange::Restart,
            "nothing" => OnChange::Nothing,
            other => return Err(bad(format!("on_change {other}"))),
        };
        let access = Access::Ids {
            uid: Some(uid_of(&entry.owner).ok_or_else(|| {
                Failure::Usage(format!(
                    "{}: its owner {} is not an account on this host",
                    entry.path, entry.owner
                ))
            })?),
            gid: gid_of(&entry.group).ok_or_else(|| {
                Failure::Usage(format!(
                    "{}: its group {} is not a group on this host",
                    entry.path, entry.group
                ))
            })?,
        };
        let source = dir.join(&entry.file);
        let contents = std::fs::read(&source).map_err(|error| {
            if error.kind() == std::io::ErrorKind::PermissionDenied {
                return Failure::Usage(format!(
                    "cannot read {}: {error}; run it as root:\n\n    sudo promsetup apply {}\n",
                    source.display(),
                    dir.display()
                ));
            }
            Failure::Usage(format!(
                "{}: {error}; run promsetup again to complete the bundle",
                source.display()
            ))
        })?;
        let before = match std::fs::read(&destination) {
            Ok(old) => Some(old == contents),
            Err(_) if !destination.exists() => None,
            Err(_) => Some(false),
        };
        items.push(Item {
            source,
            destination,
            contents: Zeroizing::new(contents),
            mode,
            access,
            owner: entry.owner.clone(),
            group: entry.group.clone(),
            service,
            on_change,
            before,
        });
    }
    Ok(items)
}

fn uid_of(name: &str) -> Option<u32> {
    if let Ok(uid) = name.parse() {
        return Some(uid);
    }
    Some(nix::unistd::User::from_name(name).ok()??.uid.as_raw())
}

fn gid_of(name: &str) -> Option<u32> {
    if let Ok(gid) = name.parse() {
        return Some(gid);
    }
    Some(nix::unistd::Group::from_name(name).ok()??.gid.as_raw())
}

/// Refuses, naming the command to run instead, when a target folder is not writable.
fn check_rights(items: &[Item], dir: &Path) -> Result<(), Failure> {
    let root = nix::unistd::geteuid().is_root();
    let blocked = items.iter().find_map(|item| {
        let folder = item.destination.parent()?;
        let writable = nix::unistd::access(folder, nix::unistd::AccessFlags::W_OK).is_ok();
        (!writable || (!root && item.owner != current_user())).then(|| folder.to_path_buf())
    });
    match blocked {
        None => Ok(()),
        Some(folder) => Err(Failure::Usage(format!(
            "apply needs to write {} and hand files to their owners; run it as root:\n\n    \
             sudo promsetup apply {}\n",
            folder.display(),
            dir.display()
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

fn install_and_check(
    items: &[Item],
    folders: &BTreeMap<PathBuf, Vec<usize>>,
    commands: &Commands,
    services: &dyn ServiceManager,
    url: &str,
    anchors: Option<Vec<ureq::tls::Certificate<'static>>>,
    credentials: Option<(&str, &Password)>,
) -> Result<(), String> {
    for (folder, indexes) in folders {
        let changed: Vec<&Item> = indexes
            .iter()
            .map(|&i| &items[i])
            .filter(|item| item.changes())
            .collect();
        if changed.is_empty() {
            continue;
        }
        let names: Vec<String> = changed.iter().map(|item| file_name(item)).collect();
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
    services.run(&commands.test)?;
    services.run(&commands.reload)?;
    if let Some(restart) = &commands.restart {
        services.run(restart)?;
    }
    live_check(url, anchors, credentials)
}

fn file_name(item: &Item) -> String {
    item.destination
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Puts every changed file back: from its backup, or removed when it was new.
fn roll_back(items: &[Item], folders: &BTreeMap<PathBuf, Vec<usize>>) -> Result<(), String> {
    let mut errors = Vec::new();
    for (folder, indexes) in folders {
        for item in indexes.iter().map(|&i| &items[i]) {
            if !item.changes() {
                continue;
            }
            let result = match item.before {
                None => write::remove_installed(&item.destination).map(|_| ()),
                Some(_) => {
                    let name = file_name(item);
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

fn certificate_anchors(
    name: Option<&str>,
    dir: &Path,
) -> Option<Vec<ureq::tls::Certificate<'static>>> {
    let name = name?;
    let pem = std::fs::read(dir.join(name)).ok()?;
    let anchors: Vec<_> = x509_parser::pem::Pem::iter_from_buffer(&pem)
        .filter_map(Result::ok)
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| ureq::tls::Certificate::from_der(&p.contents).to_owned())
        .collect();
    (!anchors.is_empty()).then_some(anchors)
}

/// 401 without credentials at the external URL; 200 with them when a password was given.
fn live_check(
    url: &str,
    anchors: Option<Vec<ureq::tls::Certificate<'static>>>,
    credentials: Option<(&str, &Password)>,
) -> Result<(), String> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(anchors) = anchors {
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&anchors));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .timeout_global(Some(CHECK_TIMEOUT))
        .build()
        .into();
    let status = |path: &str, authorization: Option<String>| -> Result<u16, String> {
        let mut request = agent.get(format!("{url}{path}"));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        request
            .call()
            .map(|response| response.status().as_u16())
            .map_err(|error| format!("the live check of {url} could not connect: {error}"))
    };
    // A reload is asynchronous: old workers may answer for a moment, so ask again for a while.
    let settled = |path: &str, authorization: Option<String>, expected: u16| {
        let mut last = Err(String::new());
        for _ in 0..SETTLE_ATTEMPTS {
            last = status(path, authorization.clone());
            if last == Ok(expected) {
                break;
            }
            std::thread::sleep(SETTLE_PAUSE);
        }
        last
    };
    let anonymous = settled("", None, 401)?;
    if anonymous != 401 {
        return Err(format!(
            "the live check of {url} without a password answered {anonymous}, not 401"
        ));
    }
    if let Some((username, password)) = credentials {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose()));
        // The prefix itself redirects to the UI's page; Prometheus's health answers 200.
        let signed_in = settled(HEALTH_PATH, Some(format!("Basic {token}")), 200)?;
        if signed_in != 200 {
            return Err(format!(
                "the live check of {url}{HEALTH_PATH} as {username} answered {signed_in}, not 200"
            ));
        }
    }
    Ok(())
}

fn print_actions(
    out: &mut dyn std::io::Write,
    items: &[Item],
    commands: &Commands,
    url: &str,
    with_password: bool,
) -> Result<(), Failure> {
    for item in items {
        writeln!(
            out,
            "{:<9} {}  {:04o} {}:{}  (from {}; {} {})",
            item.state(),
            item.destination.display(),
            item.mode,
            item.owner,
            item.group,
            item.source.display(),
            item.service.as_str(),
            item.on_change.as_str()
        )?;
    }
    writeln!(out, "run       {}", commands.test.shown())?;
    writeln!(out, "run       {}", commands.reload.shown())?;
    if let Some(restart) = &commands.restart {
        writeln!(out, "run       {}", restart.shown())?;
    }
    if let Some(hint) = &commands.restart_hint {
        writeln!(out, "then      {hint}")?;
    }
    writeln!(out, "check     GET {url} answers 401 without a password")?;
    if with_password {
        writeln!(
            out,
            "check     GET {url}{HEALTH_PATH} answers 200 with the password"
        )?;
    }
    Ok(())
}

fn json_document(
    dir: &Path,
    items: &[Item],
    commands: &Commands,
    url: &str,
    with_password: bool,
    result: Option<Option<&str>>,
) -> String {
    let files: Vec<_> = items
        .iter()
        .map(|item| {
            serde_json::json!({
                "source": item.source.display().to_string(),
                "path": item.destination.display().to_string(),
                "mode": format!("{:04o}", item.mode),
                "owner": item.owner,
                "group": item.group,
                "service": item.service.as_str(),
                "on_change": item.on_change.as_str(),
                "action": item.state(),
            })
        })
        .collect();
    let mut run = vec![commands.test.shown(), commands.reload.shown()];
    run.extend(commands.restart.iter().map(CommandLine::shown));
    let mut checks = vec![format!("GET {url} 401")];
    if with_password {
        checks.push(format!("GET {url}{HEALTH_PATH} 200"));
    }
    let document = serde_json::json!({
        "bundle": dir.display().to_string(),
        "dry_run": result.is_none(),
        "files": files,
        "commands": run,
        "prometheus_restart": commands.restart_hint,
        "checks": checks,
        "ok": result.map(|failure| failure.is_none()),
        "error": result.flatten(),
    });
    document.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::request::{BundleOptions, Show};
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
        fn restart_prometheus(&self) -> Option<CommandLine> {
            Host::with_systemd(true).restart_prometheus()
        }
        fn restart_hint(&self) -> String {
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
        };
        let streams = Streams {
            stdin: &mut stdin,
            out: &mut out,
            err: &mut err,
        };
        let failure = run_with(request, streams, &fake).unwrap_err().to_string();
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
                "nginx -s reload"
            ]
        );
        assert_eq!(
            std::fs::read(target.join("prometheus.flags")).unwrap(),
            b"--old\n"
        );
    }
}

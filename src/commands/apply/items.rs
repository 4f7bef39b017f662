//! What `promsetup apply` would change, read before anything is: the bundle's install plan
//! (`install-plan.json`) turned into files to put in place (each compared with what is there),
//! the links that enable a site, the Prometheus hand-off for this host's service manager (its
//! `/etc/default/prometheus` merged now, from the file as it is now, or a systemd drop-in), and
//! for a snippet the host's file that includes it.
//!
//! It reads the bundle and the host, and refuses a plan it cannot carry out (exit 2, with what to
//! do) before anything changes. It must not write: `mod.rs` does, through `write`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::bundle::install::{self, OnChange, Recorded, Service};
use crate::bundle::layout::{FLAGS_FILE, INSTALL_PLAN_FILE};
use crate::bundle::prometheus_handoff::{self, Route};
use crate::error::Failure;
use crate::host::prometheus_service::{DEFAULT_FILE, DROP_IN_PATH};
use crate::host::{bounded_read, gid_of, group_name, nginx_layout, uid_of, user_name};
use crate::model::prometheus_service::PrometheusService;
use crate::model::values::{Invalid, ServerPath};
use crate::write::Access;

/// One file to put in place.
pub(super) struct Item {
    /// The bundle's file it is a copy of; `None` for what apply merges itself.
    pub(super) source: Option<PathBuf>,
    /// Where its contents come from, as shown: the bundle's file, or what was merged.
    pub(super) origin: String,
    pub(super) destination: PathBuf,
    pub(super) contents: Zeroizing<Vec<u8>>,
    pub(super) mode: u32,
    pub(super) access: Access,
    pub(super) owner: String,
    pub(super) group: String,
    pub(super) service: Service,
    pub(super) on_change: OnChange,
    /// `None`: not there before; `Some(same)`: there, and whether its bytes, mode and owner are
    /// the bundle's.
    pub(super) before: Option<bool>,
    /// The mode and owner of the file it replaces, which an undo gives back.
    pub(super) previous: Option<Previous>,
    /// The external URL an nginx file it replaces was written for, when not this bundle's: one
    /// nginx holds one promsetup site, so the other one goes (kept as `NAME.bak`).
    pub(super) replaces_site_of: Option<String>,
}

impl Item {
    pub(super) fn changes(&self) -> bool {
        self.before != Some(true)
    }

    pub(super) fn state(&self) -> &'static str {
        match self.before {
            None => "create",
            Some(false) => "replace",
            Some(true) => "unchanged",
        }
    }

    pub(super) fn file_name(&self) -> String {
        self.destination
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// A file's mode and owner as they were.
#[derive(Clone, Copy)]
pub(super) struct Previous {
    pub(super) mode: u32,
    pub(super) uid: u32,
    pub(super) gid: u32,
}

/// A symbolic link to make (Debian's `sites-enabled/NAME` -> `sites-available/NAME`).
pub(super) struct Link {
    pub(super) path: PathBuf,
    pub(super) target: PathBuf,
    /// It is there already, pointing at `target`.
    pub(super) present: bool,
}

/// How Prometheus gets its flags file on this host.
pub(super) struct Handoff {
    pub(super) route: Route,
    /// The flags file on the server, which the hand-off names (`@FILE`).
    pub(super) flags_file: Option<String>,
}

/// The install plan the setup run recorded in the bundle.
pub(super) fn read_record(dir: &Path) -> Result<Recorded, Failure> {
    let path = dir.join(INSTALL_PLAN_FILE);
    trusted(dir, dir)?;
    if path.exists() {
        trusted(&path, dir)?;
    }
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

/// Refuses a plan whose paths are not server paths of files (the rule of `ServerPath`, the one
/// every path promsetup writes into a configuration follows: absolute, no `..`, no character a
/// shell or nginx would read as syntax), before any folder is locked (which makes a missing
/// folder). The rest of apply takes the plan's paths as checked here.
pub(super) fn check_paths(recorded: &Recorded) -> Result<(), Failure> {
    let paths = recorded.files.iter().map(|file| &file.path).chain(
        recorded
            .links
            .iter()
            .flat_map(|link| [&link.path, &link.target]),
    );
    for path in paths {
        let file = path
            .parse::<ServerPath>()
            .map_err(|Invalid(why)| why)
            .and_then(|server| match server.path().file_name() {
                Some(_) => Ok(()),
                None => Err("it names no file".to_string()),
            });
        if let Err(why) = file {
            return Err(Failure::Config(format!(
                "{INSTALL_PLAN_FILE}: {path} is not a server path of a file: {why}"
            )));
        }
    }
    Ok(())
}

/// Each bundle file that is installed on the server, where, and how it compares with what is
/// there now.
pub(super) fn bundle_items(recorded: &Recorded, dir: &Path) -> Result<Vec<Item>, Failure> {
    let mut items = Vec::new();
    for entry in &recorded.files {
        let bad =
            |why: String| Failure::Config(format!("{INSTALL_PLAN_FILE}: {}: {why}", entry.file));
        if entry.file.contains('/') || entry.file == "." || entry.file == ".." {
            return Err(bad("not a file name".into()));
        }
        let destination = PathBuf::from(&entry.path);
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
        let contents = read_bundle_file(&source, dir)?;
        let Access::Ids { uid, gid } = access else {
            unreachable!("made as Ids above")
        };
        let (before, previous) = compare(&destination, &contents, mode, uid.unwrap_or(0), gid)?;
        let replaces_site_of = match (service, before) {
            (Service::Nginx, Some(false)) => {
                written_for(&destination).filter(|url| url != &recorded.url)
            }
            _ => None,
        };
        items.push(Item {
            origin: format!("from {}", source.display()),
            source: Some(source),
            before,
            previous,
            replaces_site_of,
            destination,
            contents: Zeroizing::new(contents),
            mode,
            access,
            owner: entry.owner.clone(),
            group: entry.group.clone(),
            service,
            on_change,
        });
    }
    Ok(items)
}

/// The file that hands the flags file to Prometheus here, when promsetup can install one:
/// `/etc/default/prometheus` with `@FILE` merged into the ARGS it has now (Debian, Ubuntu), or a
/// drop-in for a systemd unit without it. In a container or without a service, nothing: the
/// way is named instead.
pub(super) fn handoff(
    recorded: &Recorded,
    dir: &Path,
    service: &PrometheusService,
) -> Result<(Handoff, Option<Item>), Failure> {
    let route = service.route();
    let Some(entry) = recorded.files.iter().find(|file| file.file == FLAGS_FILE) else {
        return Ok((
            Handoff {
                route,
                flags_file: None,
            },
            None,
        ));
    };
    // The path goes into a file a shell reads as root (the init script sources
    // /etc/default/prometheus): `check_paths` let only a plain server path through.
    let handoff = Handoff {
        route,
        flags_file: Some(entry.path.clone()),
    };
    let flags_text = String::from_utf8(read_bundle_file(&dir.join(FLAGS_FILE), dir)?)
        .map_err(|_| Failure::Config(format!("{FLAGS_FILE} is not UTF-8")))?;
    let flags: Vec<String> = flags_text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect();
    let (destination, contents) = match route {
        Route::DebianArgs => (
            DEFAULT_FILE,
            prometheus_handoff::merged_default_file(
                service.default_file.as_deref(),
                &entry.path,
                &flags,
            ),
        ),
        Route::SystemdDropIn => (
            DROP_IN_PATH,
            prometheus_handoff::systemd_drop_in(service.exec_start.as_deref(), &entry.path, &flags),
        ),
        Route::Container | Route::Manual => return Ok((handoff, None)),
    };
    let destination = PathBuf::from(destination);
    // A file there keeps its mode and owner; a new one is root's, readable by all (no secret).
    let (mode, uid, gid) = match std::fs::metadata(&destination) {
        Ok(meta) => (meta.mode() & 0o777, meta.uid(), meta.gid()),
        Err(_) => (0o644, 0, 0),
    };
    let (before, previous) = compare(&destination, contents.as_bytes(), mode, uid, gid)?;
    let item = Item {
        source: None,
        origin: match route {
            Route::DebianArgs => format!("ARGS merged with @{}", entry.path),
            _ => format!("ExecStart with @{}", entry.path),
        },
        before,
        previous,
        destination,
        contents: Zeroizing::new(contents.into_bytes()),
        mode,
        access: Access::Ids {
            uid: Some(uid),
            gid,
        },
        owner: user_name(uid),
        group: group_name(gid),
        service: Service::Prometheus,
        on_change: OnChange::Restart,
        replaces_site_of: None,
    };
    Ok((handoff, Some(item)))
}

/// Where the hand-off file goes on this host, when promsetup installs one.
pub(super) fn handoff_destination(
    recorded: &Recorded,
    service: &PrometheusService,
) -> Option<&'static str> {
    recorded.files.iter().find(|file| file.file == FLAGS_FILE)?;
    match service.route() {
        Route::DebianArgs => Some(DEFAULT_FILE),
        Route::SystemdDropIn => Some(DROP_IN_PATH),
        Route::Container | Route::Manual => None,
    }
}

/// The links of the plan; refuses when something else is in the way of one.
pub(super) fn links(recorded: &Recorded) -> Result<Vec<Link>, Failure> {
    let mut links = Vec::new();
    for entry in &recorded.links {
        let (path, target) = (PathBuf::from(&entry.path), PathBuf::from(&entry.target));
        let present = match std::fs::symlink_metadata(&path) {
            Err(_) => false,
            Ok(meta)
                if meta.file_type().is_symlink()
                    && std::fs::read_link(&path).is_ok_and(|to| to == target) =>
            {
                true
            }
            Ok(_) => {
                return Err(Failure::Usage(format!(
                    "{} is there and is not the link to {} that enables the site: move it away \
                     (or make the bundle again with --nginx-layout full or snippet), then run \
                     apply again",
                    path.display(),
                    target.display()
                )));
            }
        };
        links.push(Link {
            path,
            target,
            present,
        });
    }
    Ok(links)
}

/// For a snippet: the host's file that includes its locations; refuses without one, since the
/// snippet then serves nothing.
pub(super) fn including_file(recorded: &Recorded) -> Result<Option<PathBuf>, Failure> {
    let (Some(locations), Some(conf_dir)) = (&recorded.include, &recorded.nginx_conf_dir) else {
        return Ok(None);
    };
    let found = nginx_layout::files_including(Path::new(conf_dir), locations);
    match found.into_iter().next() {
        Some(file) => Ok(Some(file)),
        None => Err(Failure::Usage(format!(
            "no file under {conf_dir} includes {locations}: the snippet serves nothing until the \
             TLS server block that serves the domain has this line:\n\n    include {locations};\n\n\
             Add it there (do not reload nginx yet: the file it names is not installed), then \
             run promsetup apply again; it installs the files, runs nginx -t and reloads"
        ))),
    }
}

/// The certificates of the `ssl_certificate` directives of the file at `path` (relative ones
/// in `conf_dir`, as nginx reads them): what clients see from the host's own server that
/// includes a snippet.
pub(super) fn server_certificates(path: &Path, conf_dir: &Path) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut pem = Vec::new();
    for file in nginx_layout::first_arguments(&text, "ssl_certificate") {
        if let Ok(bytes) = std::fs::read(conf_dir.join(file)) {
            pem.extend(bytes);
            pem.push(b'\n');
        }
    }
    (!pem.is_empty()).then_some(pem)
}

fn read_bundle_file(source: &Path, dir: &Path) -> Result<Vec<u8>, Failure> {
    if source.exists() || std::fs::symlink_metadata(source).is_ok() {
        trusted(source, dir)?;
    }
    std::fs::read(source).map_err(|error| {
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
    })
}

/// The external URL in the header of an nginx file promsetup wrote (its first two lines:
/// `# Written by promsetup ...` and `# URL`).
fn written_for(path: &Path) -> Option<String> {
    let text = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&text[..text.len().min(4096)]).into_owned();
    let mut lines = text.lines();
    lines
        .next()?
        .starts_with("# Written by promsetup")
        .then_some(())?;
    let url = lines.next()?.strip_prefix("# ")?.trim();
    url.contains("://").then(|| url.to_string())
}

/// What is at `destination` now: `None`, nothing; `Some(same)`, a file, and whether it holds
/// exactly `contents` with `mode` and owner `uid:gid`; with its mode and owner. A link or
/// anything but a plain file is refused: apply writes plain files, never through a link.
fn compare(
    destination: &Path,
    contents: &[u8],
    mode: u32,
    uid: u32,
    gid: u32,
) -> Result<(Option<bool>, Option<Previous>), Failure> {
    let meta = match std::fs::symlink_metadata(destination) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok((None, None)),
        Err(error) => {
            return Err(Failure::Usage(format!(
                "cannot look at {}: {error}",
                destination.display()
            )));
        }
        Ok(meta) => meta,
    };
    if !meta.is_file() {
        return Err(Failure::Usage(format!(
            "{} is {}: apply writes plain files only, never through a link. Put the file there \
             yourself, or move it away and run apply again",
            destination.display(),
            if meta.file_type().is_symlink() {
                "a symbolic link"
            } else {
                "not a plain file"
            }
        )));
    }
    let previous = Previous {
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
    };
    let same = (previous.mode, previous.uid, previous.gid) == (mode, uid, gid)
        && std::fs::read(destination).is_ok_and(|old| old == contents);
    Ok((Some(same), Some(previous)))
}

/// Accounts whose bundle root may install from: root, and the one who ran sudo.
fn trusted_owner(uid: u32) -> bool {
    uid == 0
        || std::env::var("SUDO_UID")
            .ok()
            .and_then(|text| text.parse::<u32>().ok())
            == Some(uid)
}

/// As root, a bundle file (or the folder) is installed only when root or the user who ran sudo
/// owns it, nobody else may change it, and it is not a link: otherwise whoever can write the
/// bundle could have root write anything anywhere.
fn trusted(path: &Path, dir: &Path) -> Result<(), Failure> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let meta = std::fs::symlink_metadata(path)
        .map_err(|error| Failure::Usage(format!("{}: {error}", path.display())))?;
    let why = if meta.file_type().is_symlink() {
        Some("is a symbolic link".to_string())
    } else if meta.mode() & 0o022 != 0 {
        Some(format!(
            "can be changed by others (mode {:04o})",
            meta.mode() & 0o7777
        ))
    } else if !trusted_owner(meta.uid()) {
        Some(format!("belongs to uid {}, not root or you", meta.uid()))
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Failure::Usage(format!(
            "{} {why}: as root, apply installs only a bundle that root or the user running sudo \
             owns and nobody else can change. Make the bundle again (promsetup writes it so), \
             or fix it: chown -R root: {dir} && chmod -R go-w {dir}",
            path.display(),
            dir = dir.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flags_path_that_a_shell_would_read_as_code_is_refused() {
        let recorded = Recorded {
            version: 1,
            url: "https://example.com/".into(),
            username: "admin".into(),
            certificate: None,
            files: vec![install::RecordedFile {
                file: FLAGS_FILE.into(),
                path: "/etc/prometheus/x\"$(id).flags".into(),
                owner: "root".into(),
                group: "root".into(),
                mode: "0644".into(),
                service: "prometheus".into(),
                on_change: "restart".into(),
            }],
            layout: None,
            links: Vec::new(),
            include: None,
            nginx_conf_dir: None,
            connect: None,
        };
        let refused = check_paths(&recorded).expect_err("refused");
        assert_eq!(refused.exit_code(), 2);
        assert!(
            refused.to_string().contains("it contains '\"'"),
            "{refused}"
        );
        for (path, refused) in [
            ("/etc/nginx/nginx.conf", false),
            ("etc/nginx/nginx.conf", true),
            ("/etc/nginx/../shadow", true),
            ("/", true),
        ] {
            let mut plan = recorded.clone();
            plan.files[0].path = path.into();
            assert_eq!(check_paths(&plan).is_err(), refused, "{path}");
        }
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // tests arrange files by hand
    fn the_including_servers_certificates_are_read_relative_to_the_conf_dir() {
        let conf = tempfile::tempdir().unwrap();
        std::fs::write(conf.path().join("a.crt"), "CERT A\n").unwrap();
        std::fs::write(conf.path().join("a.key"), "KEY A\n").unwrap();
        let site = conf.path().join("site");
        std::fs::write(
            &site,
            "server { ssl_certificate a.crt; ssl_certificate_key a.key;\n\
             # ssl_certificate commented.crt;\n include /x/p.conf; }\n",
        )
        .unwrap();
        assert_eq!(
            server_certificates(&site, conf.path()).as_deref(),
            Some(&b"CERT A\n\n"[..])
        );
    }
}

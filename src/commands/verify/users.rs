//! The offline checks of the users: `.htpasswd` and web.yml's users, their hash formats, the
//! password given, whether the services' accounts can read the files, and `promtool check
//! web-config`. It must not write or fix anything: each finding names the fix.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use nix::unistd::{Group, Uid, User};

use super::access::{file_name, find_program, group_name, readable_by};
use super::hashes::{bcrypt_time, max_bcrypt_cost, system_knows};
use super::safe_read::{CONFIG_LIMIT, USER_FILE_LIMIT, read_capped, unreadable_fix};
use super::web_config::promtool_check_web_config;
use super::{Placed, Verifier};
use crate::bundle::credentials::{Kind, Scheme, UserLines};
use crate::bundle::layout::{
    FLAGS_FILE, HTPASSWD_FILE, NGINX_CONF_FILE, SELF_SCRAPE_USER, WEB_CONFIG_FILE,
};
use crate::model::setup::DEFAULT_PROMETHEUS_ACCOUNT;

/// From this bcrypt cost on, nginx (which hashes on every request) slows down noticeably.
/// Up to this many users, each gets its own line; a longer file is summed up by hash format.
const PER_USER_LINES: usize = 20;
pub(super) const SLOW_NGINX_BCRYPT_COST: u32 = 10;

/// A user file's users as `(line, user, hash)`, read by `credentials` as nginx or Prometheus
/// reads them.
pub(super) type Users = Vec<(usize, String, String)>;

/// The users of a user file, and the numbers of the `.htpasswd` lines that are neither a user,
/// blank, nor a comment.
pub(super) fn read_users(kind: Kind, bytes: Vec<u8>) -> Result<(Users, Vec<usize>), String> {
    let lines = UserLines::parse(kind, bytes)?;
    let mut users = Vec::new();
    let mut bad = Vec::new();
    for (index, line) in lines.lines.iter().enumerate() {
        let text = String::from_utf8_lossy(&lines.bytes[line.span.clone()]);
        let text = text.trim();
        match &line.entry {
            Some(entry) if !entry.hash.is_empty() => users.push((
                index + 1,
                entry.name.clone(),
                String::from_utf8_lossy(lines.hash_of(entry)).into_owned(),
            )),
            // web.yml holds more than users; only .htpasswd lines must all be users.
            None if kind == Kind::WebConfig || text.is_empty() || text.starts_with('#') => {}
            _ => bad.push(index + 1),
        }
    }
    Ok((users, bad))
}

impl Verifier<'_, '_> {
    pub(super) fn check_htpasswd(&mut self) {
        self.report.section("htpasswd");
        let Some(nginx) = &self.bundle.nginx else {
            return;
        };
        if nginx.realm.is_none() {
            return;
        }
        let configured = nginx.user_file.clone();
        let bundle_copy = self.bundle.dir.join(
            configured
                .as_deref()
                .map_or_else(|| HTPASSWD_FILE.to_string(), file_name),
        );
        let remedy = format!(
            "make one with promsetup user add NAME --dir {}, then install it",
            self.bundle.dir.display()
        );
        let Some(path) = self.place(&Placed {
            what: "the password file",
            bundle: bundle_copy,
            configured: configured.clone(),
            named_by: NGINX_CONF_FILE,
            if_missing: "nginx answers 403 to every login until it is there",
            remedy: &remedy,
        }) else {
            return;
        };
        let shown = self.bundle.show(&path);
        let bytes = match read_capped(&path, USER_FILE_LIMIT) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.report.fail(
                    &format!("cannot read the password file {shown}: {error}"),
                    unreadable_fix(&error),
                );
                return;
            }
        };
        let (users, bad) = read_users(Kind::Htpasswd, bytes).unwrap_or_default();
        if bad.len() > PER_USER_LINES {
            self.report.fail(
                &format!(
                    "{} more lines of {shown} are not USER:HASH (the first {PER_USER_LINES} \
                     follow)",
                    bad.len() - PER_USER_LINES
                ),
                "edit or delete those lines",
            );
        }
        for line in bad.into_iter().take(PER_USER_LINES) {
            // The line itself is not shown: it may hold a password in clear.
            self.report.fail(
                &format!("line {line} of {shown} is not USER:HASH: nobody can sign in with it"),
                &format!(
                    "edit or delete that line, or set the user again with promsetup user add \
                     NAME --dir {}",
                    self.bundle.dir.display()
                ),
            );
        }
        self.check_users(&shown, &users, false);
        if let Some(configured) = configured.filter(|c| c.exists()) {
            self.check_worker_reads(&configured);
        }
    }

    /// The users of a password file: their hash formats, the user verify signs in as, and the
    /// password when one was given. `bcrypt_only` for web.yml, which Prometheus reads.
    pub(super) fn check_users(&mut self, shown: &str, users: &Users, bcrypt_only: bool) {
        let add_user = format!(
            "promsetup user add NAME --dir {}",
            self.bundle.dir.display()
        );
        if users.is_empty() {
            self.report.fail(
                &format!("{shown} has no users: nobody can sign in"),
                &format!("add one: {add_user}, then install it"),
            );
            return;
        }
        // Linear in the file: a set for the names, and on a long file one check per hash
        // format (with its bcrypt cost) instead of one line per user.
        let long = users.len() > PER_USER_LINES;
        let mut seen: HashSet<&str> = HashSet::with_capacity(users.len());
        let mut in_order: Vec<&str> = Vec::with_capacity(users.len());
        let mut formats: Vec<(String, &str, &str, usize)> = Vec::new(); // (format, user, hash, count)
        let mut twice = 0;
        for (line, user, hash) in users {
            if !seen.insert(user.as_str()) {
                twice += 1;
                if twice <= PER_USER_LINES {
                    self.report.warn(
                        &format!("{shown} lists {user} twice (again on line {line})"),
                        "Only the first line counts: delete the other",
                    );
                }
                continue;
            }
            in_order.push(user);
            if !long {
                self.check_hash(shown, user, hash, bcrypt_only);
                continue;
            }
            let format = format!("{:?}", Scheme::of(hash));
            match formats.iter_mut().find(|(f, ..)| *f == format) {
                Some(group) => group.3 += 1,
                None => formats.push((format, user, hash, 1)),
            }
        }
        if twice > PER_USER_LINES {
            self.report.warn(
                &format!("{shown} lists {} more users twice", twice - PER_USER_LINES),
                "Only the first line of each counts: delete the others",
            );
        }
        if long {
            self.report.ok(&format!(
                "{shown}: read all {} lines, {} users in {} hash format{}; each format checked \
                 once, on its first user",
                users.len(),
                in_order.len(),
                formats.len(),
                if formats.len() == 1 { "" } else { "s" }
            ));
            for (_, user, hash, count) in formats {
                let label = if count > 1 {
                    format!("{user} (and {} more users with this format)", count - 1)
                } else {
                    user.to_string()
                };
                self.check_hash(shown, &label, hash, bcrypt_only);
            }
        }
        self.users = in_order.iter().map(|u| u.to_string()).collect();

        let given = self.options.username.as_ref().map(|u| u.to_string());
        let username = given.clone().or_else(|| {
            self.users
                .iter()
                .find(|u| u.as_str() != SELF_SCRAPE_USER)
                .or(self.users.first())
                .cloned()
        });
        self.username = username.clone();
        let Some(username) = username else {
            return;
        };
        if let Some(given) = given
            && !users.iter().any(|(_, user, _)| *user == username)
        {
            self.report.fail(
                &format!(
                    "--username {given}: {shown} has no such user (its users: {})",
                    self.users.join(", ")
                ),
                &format!(
                    "add it: promsetup user add {given} --dir {} (then install the file), or \
                     verify as one of its users",
                    self.bundle.dir.display()
                ),
            );
            return;
        }
        self.check_password(shown, &username, users);
    }

    /// With a password given, checks it against the user's bcrypt hash.
    pub(super) fn check_password(&mut self, shown: &str, username: &str, users: &Users) {
        let (Some(password), Some((_, _, hash))) = (
            &self.password,
            users.iter().find(|(_, user, _)| user == username),
        ) else {
            return;
        };
        let Scheme::Bcrypt(cost) = Scheme::of(hash) else {
            return;
        };
        let max = max_bcrypt_cost();
        if cost > max {
            self.report.fail(
                &format!(
                    "the password given was not checked: {username}'s bcrypt cost in {shown} is \
                     {cost}, above {max}, the most verify computes (about {} per check here; \
                     the server would spend that on every login)",
                    bcrypt_time(cost)
                ),
                &format!(
                    "set the password again at a sane cost: promsetup user add {username} \
                     --bcrypt-cost 5 --dir {}",
                    self.bundle.dir.display()
                ),
            );
            return;
        }
        let checked = if users.len() > 1 {
            format!(
                " (hashed 1 of {} users' lines: only {username}'s)",
                users.len()
            )
        } else {
            String::new()
        };
        match bcrypt::verify(password.expose(), hash) {
            Ok(true) => self.report.ok(&format!(
                "the password given is {username}'s in {shown}{checked}"
            )),
            Ok(false) => self.report.fail(
                &format!("the password given is not {username}'s in {shown}"),
                &format!(
                    "give the right password, or set a new one with promsetup user add \
                     {username} --dir {} (then install the file)",
                    self.bundle.dir.display()
                ),
            ),
            Err(error) => self.report.fail(
                &format!("{username}'s hash in {shown} is not a valid bcrypt hash: {error}"),
                &format!(
                    "set the password again: promsetup user add {username} --dir {}",
                    self.bundle.dir.display()
                ),
            ),
        }
    }

    pub(super) fn check_hash(&mut self, shown: &str, user: &str, hash: &str, bcrypt_only: bool) {
        let scheme = Scheme::of(hash);
        let reset = format!(
            "set the password again with promsetup user add {user} --dir {}",
            self.bundle.dir.display()
        );
        if bcrypt_only {
            match scheme {
                Scheme::Bcrypt(_) => self.report.ok(&format!(
                    "{shown}: {user} has a bcrypt hash, which Prometheus checks"
                )),
                _ => self.report.fail(
                    &format!(
                        "{shown}: {user}'s hash is not bcrypt, and Prometheus accepts only \
                         bcrypt ($2a$, $2b$, $2y$)"
                    ),
                    &reset,
                ),
            }
            return;
        }
        match scheme {
            Scheme::NginxOwn(_) if scheme.is_plain_text() => self.report.warn(
                &format!("{shown}: {user}'s password is stored in clear ({{PLAIN}})"),
                &format!("Anyone who reads the file can sign in: {reset}"),
            ),
            Scheme::NginxOwn(name) => self.report.ok(&format!(
                "{shown}: {user}'s hash is {name}, which nginx checks itself"
            )),
            Scheme::Bcrypt(cost) if cost > max_bcrypt_cost() => self.report.fail(
                &format!(
                    "{shown}: {user}'s bcrypt cost is {cost}: nginx would spend about {} of a \
                     worker on every login (verify checks at most cost {})",
                    bcrypt_time(cost),
                    max_bcrypt_cost()
                ),
                &reset,
            ),
            Scheme::Bcrypt(cost) => {
                self.check_system_crypt(shown, user, hash, "bcrypt");
                if cost >= SLOW_NGINX_BCRYPT_COST {
                    self.report.warn(
                        &format!(
                            "{shown}: {user}'s bcrypt cost is {cost}: nginx hashes the password \
                             on every request, about {} ms each, blocking a worker meanwhile",
                            2u64 << cost.saturating_sub(5).min(20)
                        ),
                        "Use cost 5 with a long random password (--bcrypt-cost 5), or --auth \
                         prometheus, which caches checked passwords",
                    );
                }
            }
            Scheme::Crypt(name) => self.check_system_crypt(shown, user, hash, name),
        }
    }

    /// nginx hands every hash but its own formats to the system's crypt(); glibc without
    /// libxcrypt (Debian 10, RHEL 7) has no bcrypt, and nginx then answers 500. promsetup calls
    /// the same library, so it tells whether this system knows the format.
    pub(super) fn check_system_crypt(&mut self, shown: &str, user: &str, hash: &str, scheme: &str) {
        let nginx_here = self.nginx_program.is_some();
        let fix = "use --auth prometheus (Prometheus checks bcrypt itself), or a hash nginx \
                   checks itself (htpasswd -m writes $apr1$)";
        match system_knows(hash) {
            true => self.report.ok(&format!(
                "{shown}: {user} has a {scheme} hash, which nginx hands to the system's \
                 crypt(), and this system's knows it"
            )),
            false if nginx_here => self.report.fail(
                &format!(
                    "{shown}: {user} has a {scheme} hash, which nginx hands to the system's \
                     crypt(), and this system's does not know it: nginx answers 500 to every \
                     login (glibc without libxcrypt, e.g. Debian 10 or RHEL 7, has no bcrypt)"
                ),
                fix,
            ),
            false => self.report.warn(
                &format!(
                    "{shown}: {user} has a {scheme} hash, which nginx hands to the system's \
                     crypt(), and this system's does not know it"
                ),
                &format!("An nginx on a system like this one answers 500 to every login: {fix}"),
            ),
        }
    }

    /// nginx's workers (not root) read the password file on every login: 500 if they cannot.
    pub(super) fn check_worker_reads(&mut self, path: &Path) {
        let Some(nginx) = &self.bundle.nginx else {
            return;
        };
        if nginx.workers_unknown {
            self.report.note(&format!(
                "nginx's worker account is set in the host's nginx.conf, which could not be \
                 read: whether it can read {} is not checked",
                path.display()
            ));
            return;
        }
        // Without `user`, a root master runs its workers as nobody.
        let name = nginx.worker_user.clone().unwrap_or_else(|| "nobody".into());
        let Ok(Some(account)) = User::from_name(&name) else {
            return;
        };
        let group = nginx
            .worker_group
            .as_deref()
            .and_then(|g| Group::from_name(g).ok().flatten())
            .map(|g| g.gid);
        match readable_by(path, &account, group) {
            Ok(()) => self.report.ok(&format!(
                "nginx's workers ({name}) can read {}",
                path.display()
            )),
            Err(why) => {
                let text = format!(
                    "nginx's workers ({name}) cannot read {}: {why}; nginx answers 500 to every \
                     login",
                    path.display()
                );
                let fix = format!(
                    "chgrp {} {} && chmod 0640 {}",
                    nginx
                        .worker_group
                        .clone()
                        .unwrap_or_else(|| group_name(account.gid)),
                    path.display(),
                    path.display()
                );
                self.unreadable_for_service(&text, &fix);
            }
        }
    }

    /// A service account that cannot read its file. That is a fault when verify runs as root,
    /// as on a server, where nginx's root master starts its workers as that account and systemd
    /// starts Prometheus as its own; run as someone else, verify may be looking at a test setup
    /// whose nginx and Prometheus run as that user, so it only warns.
    pub(super) fn unreadable_for_service(&mut self, text: &str, fix: &str) {
        if Uid::effective().is_root() {
            self.report.fail(text, fix);
        } else {
            self.report.warn(
                &format!("{text} (on a server, where the services run as these accounts)"),
                &format!("Fix: {fix}"),
            );
        }
    }

    pub(super) fn check_web_config(&mut self) {
        self.report.section("web_config");
        let Some(web) = &self.bundle.web else {
            return;
        };
        let certificate = web.certificate.clone();
        let key = web.key.clone();
        let bundle_copy = self.bundle.dir.join(WEB_CONFIG_FILE);
        let configured = self.bundle.flag("--web.config.file").map(PathBuf::from);
        let remedy = format!(
            "write the bundle again with promsetup --auth prometheus ... --force (into {})",
            self.bundle.dir.display()
        );
        let Some(path) = self.place(&Placed {
            what: "web.yml",
            bundle: bundle_copy.clone(),
            configured: configured.clone(),
            named_by: FLAGS_FILE,
            if_missing: "Prometheus does not start without it",
            remedy: &remedy,
        }) else {
            return;
        };
        let shown = self.bundle.show(&path);
        match read_capped(&path, CONFIG_LIMIT)
            .map_err(|e| e.to_string())
            .and_then(|bytes| read_users(Kind::WebConfig, bytes))
        {
            Ok((users, _)) => self.check_users(&shown, &users, true),
            Err(why) => self.report.fail(
                &format!("the users in {shown} cannot be read: {why}"),
                &remedy,
            ),
        }

        // promtool loads the certificate and key web.yml names: not there yet is no fault of
        // the file.
        if let Some(promtool) = find_program("promtool") {
            let output = promtool_check_web_config(&promtool, &path);
            match output {
                Err(error) => self.report.warn(
                    &format!("promtool check web-config could not run: {error}"),
                    "Run it yourself on the server",
                ),
                Ok(output) if output.status.success() => self
                    .report
                    .ok(&format!("promtool check web-config accepts {shown}")),
                Ok(output) => {
                    let said = String::from_utf8_lossy(&output.stderr).to_string()
                        + &String::from_utf8_lossy(&output.stdout);
                    let said = said.trim().replace('\n', "; ");
                    let missing: Vec<String> = [&certificate, &key]
                        .into_iter()
                        .flatten()
                        .filter(|p| !p.exists())
                        .map(|p| p.display().to_string())
                        .collect();
                    if !missing.is_empty() && said.contains("no such file") {
                        self.report.warn(
                            &format!(
                                "promtool check web-config could not load {} (not installed \
                                 yet)",
                                missing.join(" and ")
                            ),
                            "Install the bundle as its next steps show, then run verify again",
                        );
                    } else {
                        self.report.fail(
                            &format!("promtool check web-config rejects {shown}: {said}"),
                            &remedy,
                        );
                    }
                }
            }
        } else {
            self.report.warn(
                &format!("{shown} not checked with promtool: promtool is not installed here"),
                &format!(
                    "Run promtool check web-config {} on the server",
                    path.display()
                ),
            );
        }

        if let Some(configured) = configured.filter(|c| c.exists()) {
            let name = self
                .options
                .prometheus_user
                .as_ref()
                .map_or_else(|| DEFAULT_PROMETHEUS_ACCOUNT.to_string(), |u| u.to_string());
            if let Ok(Some(account)) = User::from_name(&name) {
                match readable_by(&configured, &account, None) {
                    Ok(()) => self.report.ok(&format!(
                        "Prometheus's account ({name}) can read {}",
                        configured.display()
                    )),
                    Err(why) => self.unreadable_for_service(
                        &format!(
                            "Prometheus's account ({name}) cannot read {}: {why}; Prometheus \
                             does not start",
                            configured.display()
                        ),
                        &format!(
                            "chgrp {} {} && chmod 0640 {}",
                            group_name(account.gid),
                            configured.display(),
                            configured.display()
                        ),
                    ),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htpasswd_lines_are_users_and_hashes_and_bad_lines_are_numbered() {
        let text =
            "# comment\nadmin:$2y$05$abc\n\nbroken line\nbob:{SHA}xyz:comment\n:x\nnohash:\n";
        let (users, bad) = read_users(Kind::Htpasswd, text.as_bytes().to_vec()).unwrap();
        assert_eq!(
            users,
            vec![
                (2, "admin".into(), "$2y$05$abc".into()),
                (5, "bob".into(), "{SHA}xyz".into())
            ]
        );
        assert_eq!(bad, vec![4, 6, 7]);
        let (users, bad) = read_users(
            Kind::WebConfig,
            b"basic_auth_users:\n  \"admin\": \"$2y$12$x\"\n  bob: '$2y$12$y'\n".to_vec(),
        )
        .unwrap();
        assert_eq!(users.len(), 2);
        assert!(bad.is_empty());
    }
}

//! The steps both setup flows take: resolving the answers, checking a provided certificate,
//! obtaining the password, the weak-password warning, and printing the result.

use std::io::{BufRead, Write};

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::bundle::cert::local_ca::{self, CaChange};
use crate::bundle::cert::provided;
use crate::bundle::existing::Existing;
use crate::bundle::layout::LOCAL_CA_CERT_FILE;
use crate::bundle::plan::Plan;
use crate::bundle::plan::PlanError;
use crate::bundle::templates::Templates;
use crate::error::Failure;
use crate::host::local_ca as local_ca_host;
use crate::host::lock_wait;
use crate::host::secret_input::{self, ObtainedPassword};
use crate::model::given::{Auth, Given};
use crate::model::password::{Password, PasswordSource};
use crate::model::setup::{self, HostFacts, Setup, SetupError, Tls, Topology};
use crate::output::{report, trust};
use crate::write;
use crate::write::lock::{self, FolderLock};

/// Takes the output folder's lock (making the folder), held from reading what an earlier run
/// left to the last write, so concurrent runs take turns. Returns it with a note about what it
/// put right after an interrupted run, if anything.
pub fn lock_folder(setup: &Setup) -> Result<(FolderLock, Option<String>), Failure> {
    let wait = lock_wait::from_environment()
        .map_err(Failure::Usage)?
        .unwrap_or(lock::DEFAULT_WAIT);
    let lock = FolderLock::acquire(setup.out_dir(), wait)?;
    let note = lock.recovery_note();
    Ok((lock, note))
}

pub fn resolve(given: Given, host: &HostFacts) -> Result<Setup, Failure> {
    setup::resolve(given, host).map_err(|error| match error {
        SetupError::Missing(flags) => Failure::Usage(format!(
            "missing {}: {} (a non-interactive run asks nothing)",
            if flags.len() == 1 { "value" } else { "values" },
            flags.join(", ")
        )),
        other => Failure::Setup(other),
    })
}

/// A provided certificate is checked before anything is written (the wizard checked it when
/// asking; flags are checked here, by the same function).
pub fn check_provided_certificate(setup: &Setup, now: OffsetDateTime) -> Result<(), Failure> {
    if let Tls::Provided { certificate, key } = setup.tls() {
        provided::check(certificate.path(), key.path(), setup.domain(), now)?;
    }
    Ok(())
}

/// The files of `plan.retired` that are in the output folder, unless one is the user's own
/// certificate or key (`--tls-cert` may point into the bundle folder).
pub fn retiring(setup: &Setup, plan: &Plan) -> Vec<String> {
    let own: Vec<_> = match setup.tls() {
        Tls::Provided { certificate, key } => [certificate.path(), key.path()]
            .iter()
            .filter_map(|path| std::fs::canonicalize(path).ok())
            .collect(),
        _ => Vec::new(),
    };
    plan.retired
        .iter()
        .filter(|name| {
            let path = setup.out_dir().join(name);
            std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_file())
                && std::fs::canonicalize(&path).is_ok_and(|real| !own.contains(&real))
        })
        .cloned()
        .collect()
}

/// Removes the files the bundle no longer uses (each kept as NAME.bak) when the run may
/// replace files; otherwise says how. The lines to show.
pub fn retire(setup: &Setup, names: &[String], force: bool) -> Result<Vec<String>, Failure> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    if !force {
        return Ok(vec![format!(
            "{} in {} belong to the earlier self-signed certificate and are no longer used; \
             --force removes them (keeping each as NAME.bak)",
            names.join(" and "),
            setup.out_dir().display()
        )]);
    }
    Ok(write::retire(names, setup.out_dir())?
        .into_iter()
        .map(|(path, backup)| {
            format!(
                "removed {} (no longer used), kept as {}",
                path.display(),
                backup.display()
            )
        })
        .collect())
}

/// What an earlier run left in the output folder, and the local CA (`--tls local-ca`); a CA
/// that cannot be read stops the run rather than be replaced.
pub fn read_existing(setup: &Setup, now: OffsetDateTime) -> Result<Existing, Failure> {
    let mut existing = Existing::read(setup, now);
    if let Tls::LocalCa { ca_dir, .. } = setup.tls() {
        let folder = local_ca_host::folder(ca_dir.as_deref()).map_err(Failure::LocalCa)?;
        existing.local_ca = local_ca_host::read(&folder).map_err(Failure::LocalCa)?;
    }
    Ok(existing)
}

/// Writes the local CA's folder when the plan made or widened the CA: the key 0600, the old
/// files kept as NAME.bak. Before the bundle, so no bundle ever holds a leaf of an unsaved CA.
pub fn write_local_ca(setup: &Setup, plan: &Plan) -> Result<(), Failure> {
    let (Tls::LocalCa { ca_dir, .. }, Some((authority, change))) = (setup.tls(), &plan.local_ca)
    else {
        return Ok(());
    };
    if *change == CaChange::Unchanged {
        return Ok(());
    }
    let folder = local_ca_host::folder(ca_dir.as_deref()).map_err(Failure::LocalCa)?;
    write::apply(
        &local_ca::files(authority),
        &folder,
        write::Policy {
            force: true,
            backups: true,
        },
    )?;
    Ok(())
}

/// The password: typed at the wizard, read from the secret inputs, or generated. A password
/// generated by an earlier non-interactive run is used again, so a re-run changes nothing.
pub fn obtain_password(
    setup: &Setup,
    typed: Option<Password>,
    existing: &mut Existing,
    stdin: &mut dyn BufRead,
    environment: Option<Zeroizing<String>>,
) -> Result<ObtainedPassword, Failure> {
    if let Some(password) = typed {
        return Ok(ObtainedPassword {
            password,
            generated: false,
        });
    }
    if *setup.password() == PasswordSource::Generate
        && let Some(password) = existing.generated_password.take()
    {
        return Ok(ObtainedPassword {
            password,
            generated: true,
        });
    }
    Ok(secret_input::obtain(setup.password(), stdin, environment)?)
}

/// From this cost on, nginx checking the password is slow enough to say so (cost 8: ~30 ms a
/// request, 1% of the unauthenticated throughput, FACTS 2).
pub const SLOW_NGINX_COST: u32 = 8;

/// A cost that makes nginx slow, said at the run with the time one hash takes on this machine.
pub fn slow_cost_warning(setup: &Setup) -> Option<String> {
    let cost = setup.bcrypt_cost();
    if setup.topology() != Topology::Proxied(Auth::Nginx) || cost.get() < SLOW_NGINX_COST {
        return None;
    }
    let one = crate::host::hash_timing::one_hash(cost).as_secs_f64();
    Some(format!(
        "--bcrypt-cost {} with nginx checking passwords: one hash took {:.0} ms here, and nginx \
         hashes on every request, blocking its worker meanwhile: about {:.0} requests/s per \
         worker, and a 30-panel dashboard refresh waits about {:.1} s. Use the default cost 5 \
         with a long random password, or --auth prometheus, which caches verified passwords",
        cost.get(),
        one * 1000.0,
        1.0 / one,
        30.0 * one
    ))
}

/// nginx hashes the password on every request, so its cost is kept low; that is safe for a
/// long random password, not for a short typed one (FACTS 2).
pub fn weak_password_warning(setup: &Setup, obtained: &ObtainedPassword) -> Option<String> {
    const SHORT: usize = 16;
    const LOW_COST: u32 = 10;
    // A password.txt promsetup wrote holds 32 random characters; a short one was put there by
    // hand and is used again, so say so (the JSON report no longer carries its digest).
    if obtained.generated && obtained.password.len() < SHORT {
        return Some(format!(
            "{} holds a password of {} characters, which promsetup did not generate, and it is \
             used again: replace it with a long random one, or delete it and run with --force \
             to have one generated",
            crate::bundle::layout::PASSWORD_FILE,
            obtained.password.len()
        ));
    }
    let low =
        setup.topology() == Topology::Proxied(Auth::Nginx) && setup.bcrypt_cost().get() < LOW_COST;
    (low && !obtained.generated && obtained.password.len() < SHORT).then(|| {
        format!(
            "the password is {} characters and the bcrypt cost {}: a leaked .htpasswd would be \
             cheap to attack. Use a long random password (leave it out to have one generated), \
             or --auth prometheus, which affords cost 12",
            obtained.password.len(),
            setup.bcrypt_cost().get()
        )
    })
}

/// The files written and the next steps.
pub fn print_result(
    setup: &Setup,
    plan: &Plan,
    written: &write::Report,
    templates: &Templates,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let unchanged = written
        .files
        .iter()
        .all(|file| file.change == write::Change::Same);
    let headline = if unchanged {
        "Nothing to write: the bundle is up to date for"
    } else {
        "Wrote the bundle for"
    };
    writeln!(
        out,
        "{headline} {} in {}:\n{}",
        setup.external_url(),
        setup.out_dir().display(),
        report::files_written(written)
    )?;
    write!(out, "{}", report::next_steps(setup, plan, templates)?)?;
    let bundle = crate::output::command::shell_quote(&setup.out_dir().display().to_string());
    write!(
        out,
        "{}",
        crate::output::acme_steps::text(&crate::bundle::acme::steps(setup, &bundle))
    )?;
    if let (Tls::Provided { certificate, .. }, Some(facts)) = (setup.tls(), &plan.certificate) {
        writeln!(
            out,
            "\nYour certificate {certificate}: {}, for {}, valid until {}. Renew it before then \
             (a re-run checks it again).",
            facts.subject,
            facts.names.join(", "),
            facts
                .not_after
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        )?;
    }
    if let Some((authority, change)) = &plan.local_ca {
        let copy = setup.out_dir().join(LOCAL_CA_CERT_FILE);
        match change {
            CaChange::Unchanged => writeln!(
                out,
                "\nThe certificate is signed by the local CA (a copy: {}); clients that trust \
                 it trust this bundle. `promsetup ca show` says how.",
                copy.display()
            )?,
            CaChange::Created | CaChange::Widened(_) => {
                if let CaChange::Widened(name) = change {
                    writeln!(
                        out,
                        "\nThe local CA was reissued to also sign for {name} (same key): \
                         clients that trusted it before must import it again."
                    )?;
                }
                let facts = local_ca::facts(authority).map_err(PlanError::from)?;
                write!(
                    out,
                    "\n{}",
                    trust::trust_steps(&copy.display().to_string(), &facts)
                )?;
            }
        }
    }
    Ok(())
}

/// The people in the bundle's user file as an earlier run left it (`.htpasswd` when nginx checks,
/// else `web.yml`), without the self-scrape account.
fn earlier_users(setup: &Setup, existing: &Existing) -> Vec<String> {
    use crate::bundle::credentials::{Kind, UserLines};
    let (kind, text) = if setup.prometheus_checks_passwords() {
        (Kind::WebConfig, existing.web_config.as_ref())
    } else {
        (Kind::Htpasswd, existing.htpasswd.as_ref())
    };
    let Some(lines) = text.and_then(|text| UserLines::parse(kind, text.as_bytes().to_vec()).ok())
    else {
        return Vec::new();
    };
    lines
        .entries()
        .map(|entry| entry.name.clone())
        .filter(|name| name != crate::bundle::layout::SELF_SCRAPE_USER)
        .collect()
}

/// Issue 13: what an earlier run left that this run would silently change or keep.
/// - `--username` other than the earlier user: the earlier user stays valid; say so.
/// - password.txt gone while the user file still holds the user: a run would generate a new
///   password and replace theirs. Without `--force` that is refused with the ways out (exit 2);
///   with `--force` it is said.
pub fn earlier_users_notes(setup: &Setup, existing: &Existing) -> Result<Vec<String>, Failure> {
    let users = earlier_users(setup, existing);
    let user = setup.username().as_str();
    let mut notes = Vec::new();
    let others: Vec<&String> = users.iter().filter(|name| *name != user).collect();
    if !users.is_empty() && !users.iter().any(|name| name == user) {
        notes.push(format!(
            "{user} is added beside {} from an earlier run, who can still sign in; if {user} \
             replaces them: promsetup user remove NAME --dir {}",
            others
                .iter()
                .map(|name| name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            crate::output::command::shell_quote(&setup.out_dir().display().to_string())
        ));
    }
    let generating = *setup.password() == PasswordSource::Generate;
    if generating && existing.generated_password.is_none() && users.iter().any(|n| n == user) {
        if !setup.force() {
            return Err(Failure::Usage(format!(
                "{} is gone, and the bundle already holds {user}'s password: a run would \
                 generate a new one and replace it. To keep it, give it with \
                 --password-stdin, --password-file or PROMSETUP_PASSWORD; to replace it with a \
                 new generated one (stored in {}), add --force",
                crate::bundle::layout::PASSWORD_FILE,
                crate::bundle::layout::PASSWORD_FILE
            )));
        }
        notes.push(format!(
            "{user}'s password is replaced by a new generated one (in {}): the earlier one no \
             longer works",
            crate::bundle::layout::PASSWORD_FILE
        ));
    }
    Ok(notes)
}

/// Records the install plan in the bundle (`install-plan.json`) for `promsetup apply`; a
/// bundle for another target gets none.
pub fn record_install_plan(setup: &Setup, plan: &Plan) -> Result<(), Failure> {
    let Some(text) = crate::bundle::install::record(setup, &plan.artifacts) else {
        return Ok(());
    };
    let file = write::FileSpec {
        name: crate::bundle::layout::INSTALL_PLAN_FILE,
        contents: &text,
        mode: 0o644,
        access: &write::Access::Owner,
    };
    let policy = write::Policy {
        force: true,
        backups: false,
    };
    write::apply(&[file], setup.out_dir(), policy)?;
    Ok(())
}

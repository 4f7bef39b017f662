//! Read-only probes of the machine promsetup runs on: the installed nginx (`nginx`), accounts
//! and groups (here), the system's crypt library (`system_crypt`) and the secrets a user hands
//! over (`secret_input`). Facts are used for defaults, which flags override.
//!
//! It reads (runs `nginx -V`, looks up accounts, reads standard input) and must not write
//! anything.

pub mod bounded_read;
pub mod hash_timing;
pub mod http_client;
pub mod local_ca;
pub mod lock_wait;
pub mod nginx;
pub mod nginx_layout;
pub mod program;
pub mod prometheus_service;
pub mod secret_input;
pub mod services;
pub mod system_crypt;

use crate::model::setup::HostFacts;
use crate::model::values::SystemUser;

/// The accounts distributions run nginx's workers as: Debian and Ubuntu, Red Hat and Alpine, Arch.
const NGINX_ACCOUNTS: &[&str] = &["www-data", "nginx", "http"];

pub fn probe() -> HostFacts {
    HostFacts {
        nginx: {
            let probe = nginx::Probe::start();
            crate::model::setup::NginxAnswer::new(move || probe.get())
        },
        nginx_user: NGINX_ACCOUNTS
            .iter()
            .find(|name| matches!(nix::unistd::User::from_name(name), Ok(Some(_))))
            .map(|name| {
                name.parse::<SystemUser>()
                    .expect("known account names are valid")
            }),
        primary_group,
        site_folder: nginx_layout::site_folder,
        prometheus_service: prometheus_service::probe,
    }
}

/// The uid of an account given by name or number; `None` when there is no such account.
pub fn uid_of(name: &str) -> Option<u32> {
    if let Ok(uid) = name.parse() {
        return Some(uid);
    }
    Some(nix::unistd::User::from_name(name).ok()??.uid.as_raw())
}

/// The gid of a group given by name or number; `None` when there is no such group.
pub fn gid_of(name: &str) -> Option<u32> {
    if let Ok(gid) = name.parse() {
        return Some(gid);
    }
    Some(nix::unistd::Group::from_name(name).ok()??.gid.as_raw())
}

/// The name of the account `uid`, else the number.
pub fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(uid.into())
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |user| user.name)
}

/// The name of the group `gid`, else the number.
pub fn group_name(gid: u32) -> String {
    nix::unistd::Group::from_gid(gid.into())
        .ok()
        .flatten()
        .map_or_else(|| gid.to_string(), |group| group.name)
}

/// The name of the primary group of `account` on this machine.
pub fn primary_group(account: &str) -> Option<String> {
    let user = nix::unistd::User::from_name(account).ok()??;
    let group = nix::unistd::Group::from_gid(user.gid).ok()??;
    Some(group.name)
}

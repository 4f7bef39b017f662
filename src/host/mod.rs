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

/// The name of the primary group of `account` on this machine.
pub fn primary_group(account: &str) -> Option<String> {
    let user = nix::unistd::User::from_name(account).ok()??;
    let group = nix::unistd::Group::from_gid(user.gid).ok()??;
    Some(group.name)
}

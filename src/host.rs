//! Facts about the machine promsetup runs on, gathered once: the installed nginx's versions and
//! the account its workers usually run as. Used only for defaults, which flags override.
//!
//! It reads (runs `nginx -V`, looks up accounts) and must not write anything.

use crate::nginx_target::Probe;
use crate::setup::HostFacts;
use crate::values::SystemUser;

/// The accounts distributions run nginx's workers as: Debian and Ubuntu, Red Hat and Alpine, Arch.
const NGINX_ACCOUNTS: &[&str] = &["www-data", "nginx", "http"];

pub fn probe() -> HostFacts {
    HostFacts {
        nginx: Probe::start(),
        nginx_user: NGINX_ACCOUNTS
            .iter()
            .find(|name| matches!(nix::unistd::User::from_name(name), Ok(Some(_))))
            .map(|name| {
                name.parse::<SystemUser>()
                    .expect("known account names are valid")
            }),
        primary_group,
    }
}

/// The name of the primary group of `account` on this machine.
pub fn primary_group(account: &str) -> Option<String> {
    let user = nix::unistd::User::from_name(account).ok()??;
    let group = nix::unistd::Group::from_gid(user.gid).ok()??;
    Some(group.name)
}

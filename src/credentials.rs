//! The user lists of `.htpasswd` and `web.yml`: reading them, and changing one user's entry
//! while leaving every other line exactly as it was.
//!
//! A re-run keeps a stored hash while the given password still verifies against it at the
//! requested cost, so the same answers give the same bytes. This module reads and returns text;
//! it must not touch the file system.

use crate::secret::Password;
use crate::values::{BcryptCost, UserName};

/// The cost of a bcrypt hash (`$2y$05$...` is 5), or `None` for another scheme.
pub fn bcrypt_cost(hash: &str) -> Option<u32> {
    let mut parts = hash.split('$');
    let (_, version, cost) = (parts.next()?, parts.next()?, parts.next()?);
    matches!(version, "2a" | "2b" | "2y")
        .then(|| cost.parse().ok())
        .flatten()
}

/// Whether `hash` is a bcrypt hash of `password` at exactly `cost`.
pub fn hash_holds(hash: &str, password: &Password, cost: BcryptCost) -> bool {
    bcrypt_cost(hash) == Some(cost.get())
        && bcrypt::verify(password.expose(), hash).unwrap_or(false)
}

/// `.htpasswd` lines as `(user, hash)`; lines that are not `user:hash` are skipped.
pub fn htpasswd_users(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once(':'))
        .filter(|(user, hash)| !user.is_empty() && !hash.is_empty())
        .map(|(user, hash)| (user.to_string(), hash.to_string()))
        .collect()
}

/// The `.htpasswd` with `user`'s line set to a hash of `password`: unchanged when its hash still
/// holds, replaced in place when not, appended when the user is new. Other lines are kept.
pub fn htpasswd_with(
    existing: Option<&str>,
    user: &UserName,
    password: &Password,
    cost: BcryptCost,
) -> String {
    let existing = existing.unwrap_or("");
    let prefix = format!("{user}:");
    let mut found = false;
    let mut text = String::with_capacity(existing.len() + 80);
    for line in existing.lines() {
        match line.strip_prefix(&prefix) {
            Some(hash) if !found => {
                found = true;
                if hash_holds(hash, password, cost) {
                    text.push_str(line);
                } else {
                    text.push_str(&format!("{prefix}{}", password.bcrypt(cost)));
                }
            }
            // A second line for the same user would be ignored by nginx: drop it.
            Some(_) => continue,
            None => text.push_str(line),
        }
        text.push('\n');
    }
    if !found {
        text.push_str(&format!("{prefix}{}\n", password.bcrypt(cost)));
    }
    text
}

/// `basic_auth_users` of a `web.yml` written by promsetup, as `(user, hash)` in file order.
pub fn web_config_users(text: &str) -> Vec<(String, String)> {
    let mut users = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("basic_auth_users:") {
            inside = true;
            continue;
        }
        if inside && !line.starts_with(' ') && !line.trim().is_empty() {
            inside = false;
        }
        if !inside {
            continue;
        }
        let unquote = |s: &str| s.trim().trim_matches('"').trim_matches('\'').to_string();
        if let Some((user, hash)) = line.trim().split_once(": ") {
            users.push((unquote(user), unquote(hash)));
        }
    }
    users
}

/// The users for a new `web.yml`: the existing ones in their order, with `user` set to a hash
/// of `password` (kept when it still holds) and appended when new.
pub fn web_config_users_with(
    existing: &[(String, String)],
    user: &str,
    password: &Password,
    cost: BcryptCost,
) -> Vec<(String, String)> {
    let mut users = existing.to_vec();
    match users.iter_mut().find(|(name, _)| name == user) {
        Some((_, hash)) if hash_holds(hash, password, cost) => {}
        Some((_, hash)) => *hash = password.bcrypt(cost),
        None => users.push((user.to_string(), password.bcrypt(cost))),
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn password(text: &str) -> Password {
        Password::new(Zeroizing::new(text.to_string())).unwrap()
    }

    fn cost(c: u32) -> BcryptCost {
        c.to_string().parse().unwrap()
    }

    #[test]
    fn a_holding_hash_is_kept_byte_for_byte() {
        let admin: UserName = "admin".parse().unwrap();
        let first = htpasswd_with(None, &admin, &password("pw"), cost(4));
        let again = htpasswd_with(Some(&first), &admin, &password("pw"), cost(4));
        assert_eq!(first, again);
    }

    #[test]
    fn a_new_password_or_cost_replaces_only_that_line() {
        let admin: UserName = "admin".parse().unwrap();
        let existing = "# team\nalice:$apr1$abc$def\nadmin:$2y$04$invalidinvalidinvalidinvalidinvalidinvalidinvalidinv\nbob:{SHA}xyz\n";
        let changed = htpasswd_with(Some(existing), &admin, &password("new"), cost(4));
        let lines: Vec<_> = changed.lines().collect();
        assert_eq!(lines[0], "# team");
        assert_eq!(lines[1], "alice:$apr1$abc$def");
        assert!(lines[2].starts_with("admin:$2y$04$"));
        assert!(bcrypt::verify("new", &lines[2][6..]).unwrap());
        assert_eq!(lines[3], "bob:{SHA}xyz");

        let recost = htpasswd_with(Some(&changed), &admin, &password("new"), cost(5));
        assert!(recost.lines().nth(2).unwrap().starts_with("admin:$2y$05$"));
    }

    #[test]
    fn a_new_user_is_appended() {
        let carol: UserName = "carol".parse().unwrap();
        let text = htpasswd_with(Some("alice:x\n"), &carol, &password("pw"), cost(4));
        assert!(text.starts_with("alice:x\ncarol:$2y$04$"));
        assert_eq!(htpasswd_users(&text).len(), 2);
    }

    #[test]
    fn web_config_users_are_read_in_order() {
        let text = "tls_server_config:\n  cert_file: \"/x\"\nbasic_auth_users:\n  \"admin\": \"$2y$12$a\"\n  \"prometheus-self-scrape\": \"$2y$12$b\"\n";
        assert_eq!(
            web_config_users(text),
            vec![
                ("admin".to_string(), "$2y$12$a".to_string()),
                ("prometheus-self-scrape".to_string(), "$2y$12$b".to_string()),
            ]
        );
    }

    #[test]
    fn bcrypt_cost_reads_the_cost_field() {
        assert_eq!(bcrypt_cost("$2y$05$abc"), Some(5));
        assert_eq!(bcrypt_cost("$apr1$abc$def"), None);
        assert_eq!(bcrypt_cost("plain"), None);
    }
}

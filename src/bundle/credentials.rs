//! The user lists of `.htpasswd` and `web.yml`: reading them at the byte level as nginx and
//! Prometheus do, and changing one user's entry while every other byte stays as it was
//! (comments, order, line endings, lines it does not understand, the self-scrape account).
//!
//! Two callers: `promsetup user` edits a deployed file, and a re-run keeps a stored hash while
//! the given password still verifies against it at the requested cost, so the same answers give
//! the same bytes. This module reads and returns bytes; it must not touch the file system.

use std::ops::Range;

use zeroize::Zeroizing;

use crate::bundle::layout::{HTPASSWD_FILE, SELF_SCRAPE_USER, WEB_CONFIG_FILE};
use crate::model::password::Password;
use crate::model::values::{BcryptCost, UserName};

/// The `$2y$` bcrypt hash Apache's `htpasswd -B` writes: the form nginx (through the system's
/// `crypt`) and Prometheus both accept. Made by the system's crypt when it can (faster), else by
/// the bcrypt crate.
pub fn bcrypt(password: &Password, cost: BcryptCost) -> String {
    crate::host::system_crypt::bcrypt(password.expose(), cost.get()).unwrap_or_else(|| {
        bcrypt::non_truncating_hash_with_result(password.expose(), cost.get())
            .expect("a validated password and cost always hash")
            .format_for_version(bcrypt::Version::TwoY)
    })
}

/// Which implementation `bcrypt` uses on this machine (`promsetup --version` says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The system's crypt library (libxcrypt): the code nginx checks the hash with.
    SystemCrypt,
    /// The bcrypt crate, when the system's crypt cannot make a bcrypt hash.
    Crate,
}

/// Asks the system's crypt for a hash at the lowest cost, as `bcrypt` does first.
pub fn backend() -> Backend {
    match crate::host::system_crypt::bcrypt("promsetup --version", 4) {
        Some(_) => Backend::SystemCrypt,
        None => Backend::Crate,
    }
}

/// The cost of a bcrypt hash (`$2y$05$...` is 5), or `None` for another scheme.
pub fn bcrypt_cost(hash: &str) -> Option<u32> {
    let mut parts = hash.split('$');
    let (_, version, cost) = (parts.next()?, parts.next()?, parts.next()?);
    matches!(version, "2a" | "2b" | "2y")
        .then(|| cost.parse().ok())
        .flatten()
}

/// How a stored password is hashed. nginx checks a few schemes itself and hands every other
/// hash to the system's crypt(); Prometheus takes bcrypt only. Shown by name, never the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `$2a$`, `$2b$`, `$2y$`, with its cost.
    Bcrypt(u32),
    /// nginx's own: `$apr1$`, `{SHA}`, `{SSHA}`, `{PLAIN}`.
    NginxOwn(&'static str),
    /// Handed to the system's crypt(): `$1$`, `$5$`, `$6$`, `$y$`, DES, or one it may not know.
    Crypt(&'static str),
}

impl Scheme {
    pub fn of(hash: &str) -> Scheme {
        if let Some(cost) = bcrypt_cost(hash) {
            return Scheme::Bcrypt(cost);
        }
        const NGINX_OWN: [(&str, &str); 4] = [
            ("$apr1$", "Apache MD5"),
            ("{SHA}", "SHA-1 (weak)"),
            ("{SSHA}", "salted SHA-1 (weak)"),
            ("{PLAIN}", "plain text (no hash)"),
        ];
        const CRYPT: [(&str, &str); 4] = [
            ("$1$", "MD5-crypt"),
            ("$5$", "SHA-256-crypt"),
            ("$6$", "SHA-512-crypt"),
            ("$y$", "yescrypt"),
        ];
        if let Some((_, name)) = NGINX_OWN
            .iter()
            .find(|(prefix, _)| hash.starts_with(prefix))
        {
            return Scheme::NginxOwn(name);
        }
        if let Some((_, name)) = CRYPT.iter().find(|(prefix, _)| hash.starts_with(prefix)) {
            return Scheme::Crypt(name);
        }
        let des = hash.len() == 13
            && hash
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/'));
        Scheme::Crypt(if des {
            "DES crypt (weak)"
        } else {
            "unknown scheme"
        })
    }

    /// `{PLAIN}`: nginx checks it itself, with the password there in clear.
    pub fn is_plain_text(self) -> bool {
        self == Scheme::NginxOwn("plain text (no hash)")
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scheme::Bcrypt(cost) => write!(f, "bcrypt cost {cost}"),
            Scheme::NginxOwn(name) | Scheme::Crypt(name) => f.write_str(name),
        }
    }
}

/// Whether `hash` is a bcrypt hash of `password` at exactly `cost`.
pub fn hash_holds(hash: &str, password: &Password, cost: BcryptCost) -> bool {
    bcrypt_cost(hash) == Some(cost.get())
        && bcrypt::verify(password.expose(), hash).unwrap_or(false)
}

/// Which of the bundle's user files, and who reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `.htpasswd`: `name:hash` lines, read by nginx on every request.
    Htpasswd,
    /// `web.yml`: `"name": "hash"` lines under `basic_auth_users:`, read by Prometheus.
    WebConfig,
}

impl Kind {
    pub fn file_name(self) -> &'static str {
        match self {
            Kind::Htpasswd => HTPASSWD_FILE,
            Kind::WebConfig => WEB_CONFIG_FILE,
        }
    }

    pub fn checker(self) -> &'static str {
        match self {
            Kind::Htpasswd => "nginx",
            Kind::WebConfig => "Prometheus",
        }
    }
}

/// One line of a user file, as byte offsets into it (its line ending included).
pub struct Line {
    pub span: Range<usize>,
    pub entry: Option<Entry>,
}

/// A line that names a user.
pub struct Entry {
    pub name: String,
    /// Where the hash is in the file; an edit replaces exactly these bytes.
    pub hash: Range<usize>,
}

/// A user file, parsed: its bytes and, per line, where a user's hash is.
pub struct UserLines {
    pub kind: Kind,
    pub bytes: Vec<u8>,
    pub lines: Vec<Line>,
    /// Where a new user goes: after this line, or at the end of the file when `None`.
    pub insert_after: Option<usize>,
    /// The indentation of the user lines (`web.yml`).
    pub indent: String,
}

struct Parsed {
    lines: Vec<Line>,
    insert_after: Option<usize>,
    indent: String,
}

impl UserLines {
    /// Reads `bytes` as `kind`; a `web.yml` whose users promsetup cannot place is refused with
    /// the reason.
    pub fn parse(kind: Kind, bytes: Vec<u8>) -> Result<UserLines, String> {
        let parsed = match kind {
            Kind::Htpasswd => parse_htpasswd(&bytes),
            Kind::WebConfig => parse_web_config(&bytes)?,
        };
        Ok(UserLines {
            kind,
            bytes,
            lines: parsed.lines,
            insert_after: parsed.insert_after,
            indent: parsed.indent,
        })
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.lines.iter().filter_map(|line| line.entry.as_ref())
    }

    pub fn holds(&self, name: &str) -> bool {
        self.entries().any(|entry| entry.name == name)
    }

    pub fn hash_of(&self, entry: &Entry) -> &[u8] {
        &self.bytes[entry.hash.clone()]
    }

    /// The hash on `name`'s first line (the one nginx reads), as text.
    pub fn hash_for(&self, name: &str) -> Option<&str> {
        let entry = self.entries().find(|entry| entry.name == name)?;
        std::str::from_utf8(self.hash_of(entry)).ok()
    }

    /// The file's new contents: only the lines of the edited user differ.
    pub fn edited(&self, edit: &Edit) -> Zeroizing<Vec<u8>> {
        edited(self, edit)
    }
}

/// The lines of `bytes`, each with its ending, as offsets.
fn split_lines(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (at, byte) in bytes.iter().enumerate() {
        if *byte == b'\n' {
            spans.push(start..at + 1);
            start = at + 1;
        }
    }
    if start < bytes.len() {
        spans.push(start..bytes.len());
    }
    spans
}

/// The line without its ending (`\n` or `\r\n`).
fn content(bytes: &[u8], span: &Range<usize>) -> Range<usize> {
    let mut end = span.end;
    while end > span.start && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    span.start..end
}

/// nginx's reading of `.htpasswd`: `#` starts a comment line; otherwise the user is everything
/// before the first `:`, the hash runs to the next `:` (after which is a comment field) or the
/// end of the line. A line without `:` is not a user to nginx, nor to promsetup.
fn parse_htpasswd(bytes: &[u8]) -> Parsed {
    let lines = split_lines(bytes)
        .into_iter()
        .map(|span| {
            let text = content(bytes, &span);
            let line = &bytes[text.clone()];
            let entry = (!line.starts_with(b"#"))
                .then(|| line.iter().position(|b| *b == b':'))
                .flatten()
                .filter(|colon| *colon > 0)
                .and_then(|colon| {
                    let name = std::str::from_utf8(&line[..colon]).ok()?.to_string();
                    let rest = &line[colon + 1..];
                    let length = rest.iter().position(|b| *b == b':').unwrap_or(rest.len());
                    let start = text.start + colon + 1;
                    Some(Entry {
                        name,
                        hash: start..start + length,
                    })
                });
            Line { span, entry }
        })
        .collect();
    Parsed {
        lines,
        insert_after: None,
        indent: String::new(),
    }
}

const USERS_KEY: &[u8] = b"basic_auth_users:";

/// The block-style `basic_auth_users:` mapping promsetup writes (and a person would): a line
/// with the key alone, then indented `name: hash` lines, each side bare or quoted. Blank and
/// comment lines inside the block are kept; other lines are kept and not read.
fn parse_web_config(bytes: &[u8]) -> Result<Parsed, String> {
    let mut lines = Vec::new();
    let mut header = None;
    let mut in_block = false;
    let mut last_entry: Option<usize> = None;
    let mut last_person: Option<usize> = None;
    let mut indent = None;
    for (index, span) in split_lines(bytes).into_iter().enumerate() {
        let text = content(bytes, &span);
        let line = &bytes[text.clone()];
        let blank_or_comment = {
            let trimmed = line.trim_ascii_start();
            trimmed.is_empty() || trimmed.starts_with(b"#")
        };
        let mut entry = None;
        if in_block && !blank_or_comment && !line.starts_with(b" ") {
            in_block = false;
        }
        if in_block && !blank_or_comment {
            entry = parse_yaml_entry(line).map(|(name, hash)| {
                let spaces = line.len() - line.trim_ascii_start().len();
                indent.get_or_insert_with(|| " ".repeat(spaces));
                Entry {
                    name,
                    hash: text.start + hash.start..text.start + hash.end,
                }
            });
            if let Some(entry) = &entry {
                last_entry = Some(index);
                if entry.name != SELF_SCRAPE_USER {
                    last_person = Some(index);
                }
            }
        } else if let Some(rest) = line.strip_prefix(USERS_KEY) {
            if header.is_some() {
                return Err("it names basic_auth_users twice".into());
            }
            let rest = rest.trim_ascii();
            if !(rest.is_empty() || rest.starts_with(b"#")) {
                return Err("its basic_auth_users is not a block of one user per line".into());
            }
            header = Some(index);
            in_block = true;
        }
        lines.push(Line { span, entry });
    }
    let Some(header) = header else {
        return Err("it has no basic_auth_users".into());
    };
    Ok(Parsed {
        lines,
        // People first, Prometheus's own account after them, as promsetup writes the file.
        insert_after: Some(last_person.or(last_entry).unwrap_or(header)),
        indent: indent.unwrap_or_else(|| "  ".into()),
    })
}

/// `  "name": "hash"`, `  name: hash` or `  'name': 'hash'`, with an optional comment after.
/// Returns the name and where the hash is in `line`. Names with escapes are not read (promsetup's
/// user names need none).
fn parse_yaml_entry(line: &[u8]) -> Option<(String, Range<usize>)> {
    let start = line.len() - line.trim_ascii_start().len();
    let (name, after_name) = yaml_scalar(line, start, true)?;
    let mut at = after_name;
    while line.get(at) == Some(&b' ') {
        at += 1;
    }
    if line.get(at) != Some(&b':') {
        return None;
    }
    at += 1;
    while line.get(at) == Some(&b' ') {
        at += 1;
    }
    let (hash, after_hash) = yaml_scalar(line, at, false)?;
    let rest = &line[after_hash..];
    let comment = rest.starts_with(b" ") && rest.trim_ascii_start().starts_with(b"#");
    if !(rest.trim_ascii().is_empty() || comment) {
        return None;
    }
    if name.is_empty() || hash.is_empty() {
        return None;
    }
    let name = std::str::from_utf8(&line[name]).ok()?.to_string();
    Some((name, hash))
}

/// A quoted or bare scalar starting at `start`: its text (inside the quotes) and where it ends.
/// A bare key ends at `:`; a bare value at the end of the line or ` #`.
fn yaml_scalar(line: &[u8], start: usize, key: bool) -> Option<(Range<usize>, usize)> {
    match line.get(start)? {
        quote @ (b'"' | b'\'') => {
            let length = line[start + 1..].iter().position(|b| b == quote)?;
            let text = start + 1..start + 1 + length;
            if line[text.clone()].contains(&b'\\') {
                return None;
            }
            Some((text.clone(), text.end + 1))
        }
        _ => {
            let rest = &line[start..];
            let length = if key {
                rest.iter().position(|b| *b == b':')?
            } else {
                rest.windows(2)
                    .position(|pair| pair == b" #")
                    .unwrap_or(rest.len())
            };
            let text = rest[..length].trim_ascii_end();
            if text.iter().any(|b| b.is_ascii_whitespace()) {
                return None;
            }
            Some((start..start + text.len(), start + length))
        }
    }
}

pub enum Edit<'a> {
    /// Give `name` this hash: in place on its first line (later lines of the same name, which
    /// nginx never reads, are dropped), or on a new line.
    Set {
        name: &'a str,
        hash: &'a str,
    },
    Remove {
        name: &'a str,
    },
}

/// The file's new contents: only the lines of the edited user differ.
fn edited(file: &UserLines, edit: &Edit) -> Zeroizing<Vec<u8>> {
    let bytes = &file.bytes;
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len() + 128));
    let mut done = false;
    let new_line = |name: &str, hash: &str| match file.kind {
        Kind::Htpasswd => format!("{name}:{hash}\n"),
        Kind::WebConfig => format!("{}\"{name}\": \"{hash}\"\n", file.indent),
    };
    let push_line = |out: &mut Vec<u8>, line: &str| {
        if out.last().is_some_and(|b| *b != b'\n') {
            out.push(b'\n');
        }
        out.extend_from_slice(line.as_bytes());
    };
    for (index, line) in file.lines.iter().enumerate() {
        let own = line.entry.as_ref().filter(|entry| match edit {
            Edit::Set { name, .. } | Edit::Remove { name } => entry.name == *name,
        });
        match (own, edit) {
            (None, _) => out.extend_from_slice(&bytes[line.span.clone()]),
            (Some(entry), Edit::Set { hash, .. }) if !done => {
                out.extend_from_slice(&bytes[line.span.start..entry.hash.start]);
                out.extend_from_slice(hash.as_bytes());
                out.extend_from_slice(&bytes[entry.hash.end..line.span.end]);
                done = true;
            }
            (Some(_), _) => {}
        }
        if let Edit::Set { name, hash } = edit
            && !done
            && file.insert_after == Some(index)
            && !file.holds(name)
        {
            push_line(&mut out, &new_line(name, hash));
            done = true;
        }
    }
    if let Edit::Set { name, hash } = edit
        && !done
    {
        push_line(&mut out, &new_line(name, hash));
    }
    out
}

/// The `.htpasswd` with `user`'s line set to a hash of `password`: the same bytes when its
/// hash still holds, the hash replaced in place when not, a line appended for a new user.
pub fn htpasswd_with(
    existing: Option<&[u8]>,
    user: &UserName,
    password: &Password,
    cost: BcryptCost,
) -> Zeroizing<Vec<u8>> {
    let lines = UserLines::parse(Kind::Htpasswd, existing.unwrap_or_default().to_vec())
        .expect(".htpasswd always parses");
    match lines.hash_for(user.as_str()) {
        Some(hash) if hash_holds(hash, password, cost) => Zeroizing::new(lines.bytes.clone()),
        _ => lines.edited(&Edit::Set {
            name: user.as_str(),
            hash: &bcrypt(password, cost),
        }),
    }
}

/// `basic_auth_users` of a `web.yml`, as `(user, hash)` in file order; none when the file's
/// users cannot be read.
pub fn web_config_users(text: &str) -> Vec<(String, String)> {
    let Ok(lines) = UserLines::parse(Kind::WebConfig, text.as_bytes().to_vec()) else {
        return Vec::new();
    };
    lines
        .entries()
        .map(|entry| {
            let hash = String::from_utf8_lossy(lines.hash_of(entry)).into_owned();
            (entry.name.clone(), hash)
        })
        .collect()
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
        Some((_, hash)) => *hash = bcrypt(password, cost),
        None => users.push((user.to_string(), bcrypt(password, cost))),
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
        assert_eq!(*first, *again);
    }

    #[test]
    fn a_new_password_or_cost_replaces_only_that_line() {
        let admin: UserName = "admin".parse().unwrap();
        let existing = "# team\nalice:$apr1$abc$def\nadmin:$2y$04$invalidinvalidinvalidinvalidinvalidinvalidinvalidinv\nbob:{SHA}xyz\n";
        let changed = htpasswd_with(Some(existing.as_bytes()), &admin, &password("new"), cost(4));
        let changed = String::from_utf8(changed.to_vec()).unwrap();
        let lines: Vec<_> = changed.lines().collect();
        assert_eq!(lines[0], "# team");
        assert_eq!(lines[1], "alice:$apr1$abc$def");
        assert!(lines[2].starts_with("admin:$2y$04$"));
        assert!(bcrypt::verify("new", &lines[2][6..]).unwrap());
        assert_eq!(lines[3], "bob:{SHA}xyz");

        let recost = htpasswd_with(Some(changed.as_bytes()), &admin, &password("new"), cost(5));
        let recost = String::from_utf8(recost.to_vec()).unwrap();
        assert!(recost.lines().nth(2).unwrap().starts_with("admin:$2y$05$"));
    }

    #[test]
    fn a_new_user_is_appended() {
        let carol: UserName = "carol".parse().unwrap();
        let text = htpasswd_with(Some(b"alice:x"), &carol, &password("pw"), cost(4));
        let text = String::from_utf8(text.to_vec()).unwrap();
        assert!(text.starts_with("alice:x\ncarol:$2y$04$"), "{text}");
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
    fn schemes_are_named_without_showing_the_hash() {
        assert_eq!(Scheme::of("$2y$05$abc").to_string(), "bcrypt cost 5");
        assert_eq!(Scheme::of("$2b$12$abc"), Scheme::Bcrypt(12));
        assert_eq!(Scheme::of("$apr1$x$y").to_string(), "Apache MD5");
        assert_eq!(Scheme::of("{SHA}abc=").to_string(), "SHA-1 (weak)");
        assert!(matches!(Scheme::of("{SSHA}x"), Scheme::NginxOwn(_)));
        assert!(Scheme::of("{PLAIN}pw").is_plain_text());
        assert_eq!(Scheme::of("$6$salt$x"), Scheme::Crypt("SHA-512-crypt"));
        assert_eq!(Scheme::of("abcdefghijklm").to_string(), "DES crypt (weak)");
        assert_eq!(Scheme::of("???").to_string(), "unknown scheme");
    }

    #[test]
    fn bcrypt_cost_reads_the_cost_field() {
        assert_eq!(bcrypt_cost("$2y$05$abc"), Some(5));
        assert_eq!(bcrypt_cost("$apr1$abc$def"), None);
        assert_eq!(bcrypt_cost("plain"), None);
    }

    #[test]
    fn hash_is_2y_bcrypt_that_verifies() {
        let secret = Password::new(Zeroizing::new("s3cret pass".to_string())).unwrap();
        let hash = bcrypt(&secret, BcryptCost::new_const(4));
        assert!(hash.starts_with("$2y$04$"), "{hash}");
        assert!(bcrypt::verify("s3cret pass", &hash).unwrap());
        assert!(!bcrypt::verify("s3cret pas", &hash).unwrap());
    }
}

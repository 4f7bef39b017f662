//! The value types every answer passes through: domain, port, URL prefix, user name, realm,
//! upstream address, folder paths and certificate lifetime.
//!
//! Each type is built only by `FromStr`, so flags, prompts and answers files share one rule, and
//! a value that exists is valid. This is what keeps `nginx.conf` safe: templates are raw text, so
//! every rule here refuses the characters that could end a directive or open a block (`;`, `{`,
//! `}`, quotes, whitespace, `$`, `#`, backslash, control characters). Types carry no I/O and know
//! nothing of flags; the caller names the flag in its message.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

/// Why a value was refused: the rule it broke, in words meant for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid<T>(message: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(message.into()))
}

/// Names a character in a message without echoing control characters back to the terminal.
/// Letters (any script) and visible ASCII are shown as they are; everything else, including
/// invisible and direction-changing characters (U+200B, U+202E), as an escape.
fn describe(c: char) -> String {
    if c.is_ascii_graphic() || c == ' ' || (c.is_alphanumeric() && !c.is_ascii()) {
        c.to_string()
    } else {
        c.escape_debug().to_string()
    }
}

/// The name clients use to reach nginx: the server name, the certificate's subject and SAN, and
/// the host in Prometheus's external URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Domain {
    /// A DNS name in lower case, without a trailing dot.
    Dns(String),
    /// An address: the certificate gets an IP SAN instead of a DNS one.
    Ip(IpAddr),
}

impl Domain {
    /// The host as it appears in a URL: IPv6 addresses in brackets.
    pub fn url_host(&self) -> String {
        match self {
            Domain::Dns(name) => name.clone(),
            Domain::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
            Domain::Ip(IpAddr::V4(ip)) => ip.to_string(),
        }
    }

    /// A name safe as a file name stem: the domain itself, with an IPv6 address's colons
    /// replaced so the file name needs no quoting in a shell. A DNS name may be 253 characters
    /// and a file name at most 255 bytes, so a very long name keeps its first 200 characters and
    /// a short hash of the whole, which keeps it unique.
    pub fn file_stem(&self) -> String {
        const LONGEST: usize = 200;
        match self {
            Domain::Dns(name) if name.len() > LONGEST => {
                use sha2::{Digest, Sha256};
                let digest = Sha256::digest(name.as_bytes());
                let tag: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
                format!("{}-{tag}", &name[..LONGEST])
            }
            Domain::Dns(name) => name.clone(),
            // `::1` would give `--1.crt`, which commands take for an option: a leading zero
            // keeps the same address (`0::1`) and a name that starts with a digit.
            Domain::Ip(ip) => {
                let stem = ip.to_string().replace(':', "-");
                if stem.starts_with('-') {
                    format!("0{stem}")
                } else {
                    stem
                }
            }
        }
    }

    pub fn is_ip(&self) -> bool {
        matches!(self, Domain::Ip(_))
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Domain::Dns(name) => f.write_str(name),
            Domain::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

const DOMAIN_RULE: &str = "a domain is a DNS name (letters, digits and hyphens in dot-separated \
labels of at most 63 characters, 253 in all) or an IP address";

impl FromStr for Domain {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        if input.is_empty() {
            return invalid(format!("it is empty; {DOMAIN_RULE}"));
        }
        let unbracketed = input
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(input);
        if let Some((address, zone)) = unbracketed.split_once('%')
            && address.parse::<std::net::Ipv6Addr>().is_ok()
        {
            return invalid(format!(
                "'{address}' carries the zone '%{}': certificates and URLs cannot hold a zone, so \
                 a link-local address cannot be served this way; give a global address or a DNS \
                 name",
                zone.escape_debug()
            ));
        }
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            if ip.is_unspecified() {
                return invalid(format!("{ip} is not an address clients can reach"));
            }
            return Ok(Domain::Ip(ip));
        }
        if let Some(c) = input.chars().find(|c| !c.is_ascii()) {
            return invalid(format!(
                "it contains the non-ASCII character '{}'; write an internationalised name in \
                 its ASCII form (xn--...), which is what certificates and nginx use",
                describe(c)
            ));
        }
        if input.starts_with('*') {
            return invalid("wildcards are not accepted: give the exact name clients use");
        }
        if input.ends_with('.') {
            return invalid("it ends with a dot; give the name without the trailing dot");
        }
        if input.len() > 253 {
            return invalid(format!(
                "it is {} characters long; DNS names are at most 253",
                input.len()
            ));
        }
        let name = input.to_ascii_lowercase();
        for label in name.split('.') {
            if label.is_empty() {
                return invalid(format!("it has an empty label; {DOMAIN_RULE}"));
            }
            if label.len() > 63 {
                return invalid(format!(
                    "the label '{label}' is {} characters long; a label is at most 63",
                    label.len()
                ));
            }
            if let Some(c) = label
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return invalid(format!("it contains '{}'; {DOMAIN_RULE}", describe(c)));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return invalid(format!(
                    "the label '{label}' starts or ends with a hyphen, which DNS does not allow"
                ));
            }
        }
        let last = name.rsplit('.').next().unwrap_or_default();
        if last.chars().all(|c| c.is_ascii_digit()) {
            return invalid(format!(
                "'{input}' is neither a valid IP address nor a DNS name (a top-level label \
                 cannot be all digits)"
            ));
        }
        Ok(Domain::Dns(name))
    }
}

/// A TCP port, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port(u16);

impl Port {
    pub const fn new_const(port: u16) -> Port {
        assert!(port != 0);
        Port(port)
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Port {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        match input.parse::<u32>() {
            Ok(port @ 1..=65535) => Ok(Port(port as u16)),
            _ => invalid(format!(
                "'{}' is not a port; a port is a whole number from 1 to 65535",
                input.escape_debug()
            )),
        }
    }
}

/// The port of the plain-HTTP server that redirects to HTTPS; 0 means no such server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedirectPort(pub Option<Port>);

impl FromStr for RedirectPort {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        if input == "0" {
            return Ok(RedirectPort(None));
        }
        input
            .parse::<Port>()
            .map(|port| RedirectPort(Some(port)))
            .map_err(|_| {
                Invalid(format!(
                    "'{}' is not a port; give a whole number from 1 to 65535, or 0 for no \
                     redirecting server",
                    input.escape_debug()
                ))
            })
    }
}

/// The URL path Prometheus is served under, normalised to `/` or `/a/b` (no trailing slash), so
/// that the nginx location (`/a/b/`), the proxy target and the external URL always pair up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPrefix(String);

impl UrlPrefix {
    pub fn root() -> UrlPrefix {
        UrlPrefix("/".into())
    }

    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// `/` for the whole host, else `/a/b` without the trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path with exactly one trailing slash: `/` or `/a/b/`.
    pub fn with_slash(&self) -> String {
        if self.is_root() {
            "/".into()
        } else {
            format!("{}/", self.0)
        }
    }
}

impl fmt::Display for UrlPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const PREFIX_RULE: &str = "a prefix is a path such as /prometheus or /monitoring/prometheus, made \
of segments of letters, digits, '-', '_', '.' and '~'; '/' serves the whole host";

impl FromStr for UrlPrefix {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        if input.is_empty() {
            return invalid(format!("it is empty; {PREFIX_RULE}"));
        }
        if input.len() > 200 {
            return invalid(format!(
                "it is {} characters long; the limit is 200",
                input.len()
            ));
        }
        if let Some(c) = input
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~')))
        {
            let why = match c {
                '%' => "percent-encoding is not accepted; write the characters themselves",
                '?' | '#' => "a prefix cannot carry a query or a fragment",
                _ => PREFIX_RULE,
            };
            return invalid(format!("it contains '{}'; {why}", describe(c)));
        }
        let trimmed = input.trim_start_matches('/').trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok(UrlPrefix::root());
        }
        let mut normal = String::with_capacity(trimmed.len() + 1);
        for segment in trimmed.split('/') {
            match segment {
                "" => return invalid(format!("it contains '//'; {PREFIX_RULE}")),
                "." | ".." => {
                    return invalid(format!(
                        "it contains a '{segment}' segment; give the path without dot segments"
                    ));
                }
                _ => {
                    normal.push('/');
                    normal.push_str(segment);
                }
            }
        }
        Ok(UrlPrefix(normal))
    }
}

/// A basic-auth user name. Kept to a set that needs no quoting in `.htpasswd`, YAML or a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const USER_RULE: &str = "a user name is 1 to 64 of the characters A-Z a-z 0-9 . _ @ + - and does \
not start with '-'";

impl FromStr for UserName {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        if input.is_empty() {
            return invalid(format!("it is empty; {USER_RULE}"));
        }
        if let Some(c) = input
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-')))
        {
            let why = if c == ':' {
                "basic auth separates the user from the password with ':'"
            } else {
                USER_RULE
            };
            return invalid(format!("it contains '{}'; {why}", describe(c)));
        }
        if input.len() > 64 {
            return invalid(format!(
                "it is {} characters long; {USER_RULE}",
                input.len()
            ));
        }
        if input.starts_with('-') {
            return invalid(format!("it starts with '-'; {USER_RULE}"));
        }
        Ok(UserName(input.to_string()))
    }
}

/// The basic-auth realm: shown by browsers and sent in `WWW-Authenticate: Basic realm="..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realm(String);

impl Realm {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Realm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Realm {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        const RULE: &str = "a realm is 1 to 64 printable ASCII characters without '\"', '\\' or \
'$' (nginx would read '$' as a variable)";
        if input.is_empty() {
            return invalid(format!("it is empty; {RULE}"));
        }
        if let Some(c) = input
            .chars()
            .find(|c| !(c.is_ascii_graphic() || *c == ' ') || matches!(c, '"' | '\\' | '$'))
        {
            return invalid(format!("it contains '{}'; {RULE}", describe(c)));
        }
        if input.len() > 64 {
            return invalid(format!("it is {} characters long; {RULE}", input.len()));
        }
        if input.starts_with(' ') || input.ends_with(' ') {
            return invalid("it starts or ends with a space");
        }
        // `auth_basic off;` turns authentication off, quoted or not, in any case.
        if input.eq_ignore_ascii_case("off") {
            return invalid("'off' would turn nginx's basic auth off; choose another realm");
        }
        Ok(Realm(input.to_string()))
    }
}

/// Where Prometheus listens: `HOST:PORT`, with HOST an IPv4 address, `[IPv6]` or a DNS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    host: Domain,
    port: Port,
}

impl Upstream {
    pub fn loopback(port: u16) -> Upstream {
        Upstream {
            host: Domain::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            port: Port::new_const(port),
        }
    }

    /// True when the host is `localhost`, which makes nginx try `::1` first (FACTS 1).
    pub fn is_localhost_name(&self) -> bool {
        self.host == Domain::Dns("localhost".into())
    }

    /// The host when it is an address (not a name).
    pub fn ip(&self) -> Option<IpAddr> {
        match self.host {
            Domain::Ip(ip) => Some(ip),
            Domain::Dns(_) => None,
        }
    }

    /// The host when it is a name other than `localhost`: nginx resolves it once, when it starts,
    /// and refuses to start when it cannot.
    pub fn host_name(&self) -> Option<&str> {
        match &self.host {
            Domain::Dns(name) if name != "localhost" => Some(name),
            _ => None,
        }
    }

    pub fn port(&self) -> Port {
        self.port
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host.url_host(), self.port)
    }
}

impl FromStr for Upstream {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        const RULE: &str = "give HOST:PORT, such as 127.0.0.1:9090 or [::1]:9090";
        let Some((host, port)) = input.rsplit_once(':') else {
            return invalid(format!("it has no port; {RULE}"));
        };
        if host.contains(':') && !host.starts_with('[') {
            return invalid(format!("an IPv6 address needs brackets; {RULE}"));
        }
        let host: Domain = host
            .parse()
            .map_err(|Invalid(why)| Invalid(format!("its host is not valid: {why}")))?;
        let port: Port = port
            .parse()
            .map_err(|Invalid(why)| Invalid(format!("its port is not valid: {why}")))?;
        Ok(Upstream { host, port })
    }
}

/// A path that is written inside `nginx.conf` (`--conf-dir`, `--tls-cert`, `--tls-key`): absolute,
/// without `..`, and without characters that mean something to nginx's parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPath(PathBuf);

impl ServerPath {
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path of a file inside this folder, as text for `nginx.conf`.
    pub fn join(&self, file: &str) -> String {
        self.0.join(file).display().to_string()
    }

    /// The path itself, as text for `nginx.conf`.
    pub fn text(&self) -> String {
        self.0.display().to_string()
    }
}

impl fmt::Display for ServerPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.display())
    }
}

impl FromStr for ServerPath {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        const RULE: &str = "a path written into nginx.conf is absolute and made of letters, digits and \
'/', '-', '_', '.', '+', '@', '~', ','";
        if !input.starts_with('/') {
            return invalid(format!(
                "'{}' is not absolute; {RULE}",
                input.escape_debug()
            ));
        }
        if let Some(c) = input.chars().find(|c| {
            !(c.is_ascii_alphanumeric()
                || matches!(c, '/' | '-' | '_' | '.' | '+' | '@' | '~' | ','))
        }) {
            return invalid(format!("it contains '{}'; {RULE}", describe(c)));
        }
        if input.len() > 1024 {
            return invalid("it is longer than 1024 characters");
        }
        let path = Path::new(input);
        if path.components().any(|c| c == Component::ParentDir) {
            return invalid("it contains '..'; give the folder's real path");
        }
        // Normalise `//`, `/./` and a trailing slash away.
        let normal: PathBuf = path.components().collect();
        Ok(ServerPath(normal))
    }
}

/// The address a server listens on (`--bind`): an IPv4 or IPv6 address, brackets allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindAddress(pub IpAddr);

impl FromStr for BindAddress {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        let unbracketed = input
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(input);
        unbracketed.parse().map(BindAddress).map_err(|_| {
            Invalid(format!(
                "'{}' is not an IP address; give one of this host's addresses, such as \
                 127.0.0.1, 192.0.2.10 or ::1",
                input.escape_debug()
            ))
        })
    }
}

/// Where a check connects instead of looking up the URL's host (`verify --connect`, as curl's
/// `--resolve`): `IP` (the URL's port) or `IP:PORT`, an IPv6 address in brackets with a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectAddress {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl FromStr for ConnectAddress {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        if let Ok(socket) = input.parse::<std::net::SocketAddr>() {
            return Ok(ConnectAddress {
                ip: socket.ip(),
                port: Some(socket.port()),
            });
        }
        let BindAddress(ip) = input.parse().map_err(|_| {
            Invalid(format!(
                "'{}' is not an address; give IP or IP:PORT, such as 127.0.0.1,                  192.0.2.10:8443 or [::1]:443",
                input.escape_debug()
            ))
        })?;
        Ok(ConnectAddress { ip, port: None })
    }
}

/// The addresses a server listens on (`--bind`, repeatable): one or more `BindAddress`es, given
/// as repeated flags or comma-separated (`127.0.0.1,::1`, also the answers-file form), each at
/// most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAddresses(Vec<IpAddr>);

impl BindAddresses {
    pub fn addresses(&self) -> &[IpAddr] {
        &self.0
    }
}

impl fmt::Display for BindAddresses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts: Vec<String> = self.0.iter().map(IpAddr::to_string).collect();
        f.write_str(&texts.join(","))
    }
}

impl FromStr for BindAddresses {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        let mut addresses = Vec::new();
        for part in input.split(',') {
            let BindAddress(ip) = part.parse()?;
            if addresses.contains(&ip) {
                return Err(Invalid(format!("{ip} is given twice")));
            }
            addresses.push(ip);
        }
        Ok(BindAddresses(addresses))
    }
}

/// The lifetime of the self-signed certificate, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidityDays(u32);

impl ValidityDays {
    /// Public CAs may not issue for longer; browsers enforce it for them, and it is a sane
    /// rotation period for a self-signed certificate too.
    pub const DEFAULT: ValidityDays = ValidityDays(397);
    /// Apple platforms reject TLS server certificates valid for longer than this.
    pub const MAX: u32 = 825;

    pub fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for ValidityDays {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        match input.parse::<u32>() {
            Ok(days @ 1..=ValidityDays::MAX) => Ok(ValidityDays(days)),
            _ => invalid(format!(
                "'{}' is not a number of days from 1 to {} (Apple clients refuse longer \
                 certificates)",
                input.escape_debug(),
                ValidityDays::MAX
            )),
        }
    }
}

/// How many days before expiry a re-run replaces the self-signed certificate (`--renew-days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewDays(u32);

impl RenewDays {
    pub const DEFAULT: RenewDays = RenewDays(30);

    pub fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for RenewDays {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        match input.parse::<u32>() {
            Ok(days @ 0..=ValidityDays::MAX) => Ok(RenewDays(days)),
            _ => invalid(format!(
                "'{}' is not a number of days from 0 to {}",
                input.escape_debug(),
                ValidityDays::MAX
            )),
        }
    }
}

/// The Unix account nginx's worker processes run as (`user` in `nginx.conf`). The `.htpasswd`
/// file is made readable by its group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemUser(String);

impl SystemUser {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SystemUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SystemUser {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        const RULE: &str = "a system user name starts with a letter or '_' and has at most 32 \
of a-z 0-9 _ -";
        let mut chars = input.chars();
        let starts_well = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_well =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
        if !starts_well || !rest_well || input.len() > 32 {
            return invalid(format!(
                "'{}' is not accepted; {RULE}",
                input.escape_debug()
            ));
        }
        Ok(SystemUser(input.to_string()))
    }
}

/// The bcrypt work factor of the stored hash (4 to `MAX_BCRYPT_COST`; each step doubles the work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BcryptCost(u32);

/// The highest cost promsetup writes. Cost 14 takes about a second per hash on a current core
/// (cost 12 ~250 ms, FACTS 2): the run, and each request nginx checks (or Prometheus's first),
/// wait that long. Above it a run seems to hang (cost 31 is days) and nginx serves under one
/// request a second, while a long random password gains nothing from it.
pub const MAX_BCRYPT_COST: u32 = 14;

impl BcryptCost {
    pub fn get(self) -> u32 {
        self.0
    }
    pub const fn new_const(cost: u32) -> BcryptCost {
        assert!(cost >= 4 && cost <= MAX_BCRYPT_COST);
        BcryptCost(cost)
    }
}

impl FromStr for BcryptCost {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        match input.parse::<u32>() {
            Ok(cost @ 4..=MAX_BCRYPT_COST) => Ok(BcryptCost(cost)),
            Ok(cost @ 15..=31) => invalid(format!(
                "cost {cost} is above the maximum of {MAX_BCRYPT_COST}: each step doubles the \
                 time of every check (cost 14 is about a second, cost {cost} about {} s); give \
                 4 to {MAX_BCRYPT_COST}",
                1u64 << (cost - 14)
            )),
            _ => invalid(format!(
                "'{}' is not a bcrypt cost; give a whole number from 4 to {MAX_BCRYPT_COST}",
                input.escape_debug()
            )),
        }
    }
}

/// A version number as nginx and OpenSSL print it (`1.22.1`, `3.0.2`); missing parts are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl FromStr for Version {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        let refuse = || {
            Invalid(format!(
                "'{}' is not a version; give numbers such as 1.22.1",
                input.escape_debug()
            ))
        };
        let mut parts = input.split('.');
        let mut next = |required: bool| -> Result<u32, Invalid> {
            match parts.next() {
                None if !required => Ok(0),
                // OpenSSL's letter releases (1.1.1w) compare by their number.
                Some(part) => part
                    .trim_end_matches(|c: char| c.is_ascii_lowercase())
                    .parse()
                    .map_err(|_| refuse()),
                None => Err(refuse()),
            }
        };
        let version = Version(next(true)?, next(false)?, next(false)?);
        if parts.next().is_some() {
            return Err(refuse());
        }
        Ok(version)
    }
}

/// A Kubernetes object name that promsetup writes into manifests (`--namespace`,
/// `--ingress-class`, `--service`): a DNS-1035 label, 1 to 63 of `a-z 0-9 -`, starting with a
/// letter and ending with a letter or digit. That is what a Service name must be, and a
/// namespace or ingress class of that shape is accepted everywhere; it also keeps every YAML
/// scalar it reaches plain (no quote, colon, space or `#` can end it or open another field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeName(String);

impl KubeName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KubeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for KubeName {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        const RULE: &str = "a Kubernetes name here is 1 to 63 of a-z 0-9 -, starting with a \
letter and ending with a letter or digit";
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if let Some(c) = input.chars().find(|c| !allowed(*c)) {
            return invalid(format!("it contains '{}'; {RULE}", describe(c)));
        }
        let starts_well = input.starts_with(|c: char| c.is_ascii_lowercase());
        let ends_well = input.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !starts_well || !ends_well || input.len() > 63 {
            return invalid(format!("'{input}' is not accepted; {RULE}"));
        }
        Ok(KubeName(input.to_string()))
    }
}

#[cfg(test)]
mod kube_name_tests {
    use super::*;

    #[test]
    fn kube_names_are_dns_1035_labels() {
        for good in [
            "monitoring",
            "kube-prometheus-stack-prometheus",
            "nginx",
            "a1",
            "x",
        ] {
            assert_eq!(good.parse::<KubeName>().unwrap().as_str(), good);
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "Monitoring",
            "1abc",
            "abc-",
            "-abc",
            "a_b",
            "a.b",
            "a b",
            "a:b",
            "a\"b",
            "a#b",
            "a\nb",
            "ns\u{0435}",
            &long,
        ] {
            assert!(bad.parse::<KubeName>().is_err(), "{bad:?} accepted");
        }
    }
}

/// The e-mail address an ACME CA sends expiry notices to (`--acme-email`, certbot `--email`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeEmail(String);

impl fmt::Display for AcmeEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AcmeEmail {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        const RULE: &str = "an e-mail address is NAME@DOMAIN, NAME made of letters, digits and \
'.', '_', '+', '-'";
        let Some((name, domain)) = input.split_once('@') else {
            return invalid(format!("it has no '@'; {RULE}"));
        };
        if name.is_empty() || name.len() > 64 {
            return invalid(format!("the part before '@' is empty or too long; {RULE}"));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')))
        {
            return invalid(format!("it contains '{}'; {RULE}", describe(c)));
        }
        match domain.parse::<Domain>() {
            Ok(Domain::Dns(_)) => Ok(AcmeEmail(input.to_ascii_lowercase())),
            Ok(Domain::Ip(_)) => invalid(format!("its domain is an address; {RULE}")),
            Err(Invalid(why)) => invalid(format!("its domain is refused: {why}")),
        }
    }
}

/// The directory URL of an ACME CA (`--acme-server`, certbot `--server`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeServer(String);

impl fmt::Display for AcmeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AcmeServer {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Self, Invalid> {
        const RULE: &str = "an ACME directory URL starts with https:// and holds letters, digits \
and '-', '.', '_', '~', ':', '/', '?', '=', '&', '[', ']' only";
        let Some(rest) = input.strip_prefix("https://") else {
            return invalid(format!("it does not start with https://; {RULE}"));
        };
        if rest.is_empty() || input.len() > 512 {
            return invalid(format!("it names no server, or is too long; {RULE}"));
        }
        if let Some(c) = rest.chars().find(|c| {
            !(c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '-' | '.' | '_' | '~' | ':' | '/' | '?' | '=' | '&' | '[' | ']'
                ))
        }) {
            return invalid(format!("it contains '{}'; {RULE}", describe(c)));
        }
        Ok(AcmeServer(input.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused<T: FromStr<Err = Invalid> + fmt::Debug>(input: &str) -> String {
        match input.parse::<T>() {
            Ok(value) => panic!("{input:?} was accepted as {value:?}"),
            Err(Invalid(why)) => why,
        }
    }

    #[test]
    fn domain_accepts_dns_names_and_lowercases_them() {
        assert_eq!(
            "Prom-1.Example.COM".parse::<Domain>().unwrap(),
            Domain::Dns("prom-1.example.com".into())
        );
        assert_eq!(
            "localhost".parse::<Domain>().unwrap(),
            Domain::Dns("localhost".into())
        );
        assert_eq!(
            "xn--bcher-kva.example"
                .parse::<Domain>()
                .unwrap()
                .to_string(),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn domain_accepts_ip_addresses_with_or_without_brackets() {
        let v4: Domain = "192.0.2.7".parse().unwrap();
        assert!(v4.is_ip());
        assert_eq!(v4.url_host(), "192.0.2.7");
        let v6: Domain = "[2001:db8::1]".parse().unwrap();
        assert_eq!(v6.url_host(), "[2001:db8::1]");
        assert_eq!(v6.file_stem(), "2001-db8--1");
        let longest: Domain = vec!["a".repeat(63); 4].join(".")[..253].parse().unwrap();
        assert!(longest.file_stem().len() + ".crt".len() < 255);
        assert_ne!(longest.file_stem(), {
            let other: Domain = vec!["b".repeat(63); 4].join(".")[..253].parse().unwrap();
            other.file_stem()
        });
        assert_eq!("2001:db8::1".parse::<Domain>().unwrap(), v6);
        // Never a name that starts with '-' (issue 13: `--1.crt`).
        assert_eq!("::1".parse::<Domain>().unwrap().file_stem(), "0--1");
        assert_eq!(
            "::ffff:192.0.2.1".parse::<Domain>().unwrap().file_stem(),
            "0--ffff-192.0.2.1"
        );
    }

    #[test]
    fn a_zoned_link_local_address_is_refused_for_its_zone() {
        let err = "fe80::1%eth0".parse::<Domain>().unwrap_err();
        assert!(err.0.contains("zone '%eth0'"), "{err}");
        assert!("[fe80::1%eth0]".parse::<Domain>().is_err());
    }

    #[test]
    fn domain_refuses_what_could_break_a_config_or_a_certificate() {
        for bad in [
            "",
            "example.com;",
            "example.com; return 200",
            "exa mple.com",
            "example.com\n",
            "ex{ample}.com",
            "example.com\"",
            "$host",
            "a..b",
            ".example.com",
            "example.com.",
            "-a.example.com",
            "a-.example.com",
            "*.example.com",
            "exa_mple.com",
            "bücher.example",
            "ехample.com", // Cyrillic 'е'
            "256.1.1.1",
            "0.0.0.0",
            "::",
            "a\0b",
        ] {
            refused::<Domain>(bad);
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(refused::<Domain>(&long_label).contains("at most 63"));
        let long_name = vec!["a".repeat(63); 5].join(".");
        assert!(refused::<Domain>(&long_name).contains("253"));
    }

    #[test]
    fn domain_refusal_for_non_ascii_points_to_the_ascii_form() {
        assert!(refused::<Domain>("bücher.example").contains("xn--"));
    }

    #[test]
    fn port_is_between_1_and_65535() {
        assert_eq!("443".parse::<Port>().unwrap().get(), 443);
        assert_eq!("65535".parse::<Port>().unwrap().get(), 65535);
        for bad in ["0", "65536", "-1", "", "80;", " 80", "0x50", "1e3"] {
            refused::<Port>(bad);
        }
    }

    #[test]
    fn redirect_port_zero_means_none() {
        assert_eq!("0".parse::<RedirectPort>().unwrap(), RedirectPort(None));
        assert_eq!(
            "8080".parse::<RedirectPort>().unwrap(),
            RedirectPort(Some(Port(8080)))
        );
        refused::<RedirectPort>("70000");
    }

    #[test]
    fn prefix_is_normalised_so_slashes_pair_up() {
        for (input, normal, slashed) in [
            ("/prometheus", "/prometheus", "/prometheus/"),
            ("prometheus", "/prometheus", "/prometheus/"),
            ("/prometheus/", "/prometheus", "/prometheus/"),
            ("/monitoring/prom", "/monitoring/prom", "/monitoring/prom/"),
            ("/", "/", "/"),
            ("///", "/", "/"),
            ("/a.b~c_d-e", "/a.b~c_d-e", "/a.b~c_d-e/"),
        ] {
            let prefix: UrlPrefix = input.parse().unwrap();
            assert_eq!(prefix.as_str(), normal, "{input}");
            assert_eq!(prefix.with_slash(), slashed, "{input}");
        }
        assert!("/".parse::<UrlPrefix>().unwrap().is_root());
    }

    #[test]
    fn prefix_refuses_tricks_and_directive_characters() {
        for bad in [
            "",
            "/a//b",
            "/a/../b",
            "/..",
            "/./a",
            "/prom%2e%2e",
            "/prom etheus",
            "/prom;",
            "/prom{",
            "/prom}",
            "/prom\"",
            "/prom'",
            "/prom$x",
            "/prom#x",
            "/prom?x",
            "/prom\\x",
            "/prom\nx",
            "/prom\0",
            "/prométheus",
        ] {
            refused::<UrlPrefix>(bad);
        }
        assert!(refused::<UrlPrefix>("/a%20b").contains("percent"));
        refused::<UrlPrefix>(&format!("/{}", "a".repeat(200)));
    }

    #[test]
    fn user_name_refuses_colon_and_control_characters() {
        assert_eq!(
            "grafana.reader@example.com"
                .parse::<UserName>()
                .unwrap()
                .as_str(),
            "grafana.reader@example.com"
        );
        assert!(refused::<UserName>("ad:min").contains("':'"));
        for bad in [
            "", "ad min", "admin\n", "admin\t", "-admin", "admïn", "a\"b", "a;b", "a$b", "a\0",
        ] {
            refused::<UserName>(bad);
        }
        refused::<UserName>(&"a".repeat(65));
    }

    #[test]
    fn realm_refuses_quotes_newlines_and_variables() {
        assert_eq!(
            "Prometheus on prod-1 (EU)"
                .parse::<Realm>()
                .unwrap()
                .as_str(),
            "Prometheus on prod-1 (EU)"
        );
        for bad in [
            "",
            "a\"b",
            "a\nb",
            "a\\b",
            "$remote_user",
            "a\rb",
            "é",
            " lead",
            "trail ",
            "a\tb",
        ] {
            refused::<Realm>(bad);
        }
    }

    #[test]
    fn upstream_takes_host_and_port() {
        assert_eq!(
            "127.0.0.1:9090".parse::<Upstream>().unwrap(),
            Upstream::loopback(9090)
        );
        assert_eq!(
            "[::1]:9090".parse::<Upstream>().unwrap().to_string(),
            "[::1]:9090"
        );
        assert!(
            "localhost:9090"
                .parse::<Upstream>()
                .unwrap()
                .is_localhost_name()
        );
        for bad in [
            "127.0.0.1",
            "::1:9090",
            "127.0.0.1:0",
            "127.0.0.1:9090;",
            "host name:9090",
            "127.0.0.1:9090/x",
            ":9090",
        ] {
            refused::<Upstream>(bad);
        }
    }

    #[test]
    fn conf_dir_is_absolute_clean_and_normalised() {
        assert_eq!(
            "/etc/nginx/"
                .parse::<ServerPath>()
                .unwrap()
                .join(".htpasswd"),
            "/etc/nginx/.htpasswd"
        );
        assert_eq!(
            "//etc/./nginx".parse::<ServerPath>().unwrap().to_string(),
            "/etc/nginx"
        );
        for bad in [
            "etc/nginx",
            "/etc/../root",
            "/etc/ng inx",
            "/etc/nginx;",
            "/etc/{x}",
            "/etc/$x",
            "/etc/\"x",
            "/etc/#x",
            "/etc/x\n",
            "",
        ] {
            refused::<ServerPath>(bad);
        }
    }

    #[test]
    fn bind_addresses_are_a_comma_list_without_repeats() {
        let list: BindAddresses = "127.0.0.1,[::1]".parse().unwrap();
        assert_eq!(list.to_string(), "127.0.0.1,::1");
        assert!("127.0.0.1,127.0.0.1".parse::<BindAddresses>().is_err());
        assert!("127.0.0.1,".parse::<BindAddresses>().is_err());
        assert!("127.0.0.1;".parse::<BindAddresses>().is_err());
    }

    #[test]
    fn bind_address_takes_ipv4_and_ipv6_with_or_without_brackets() {
        assert_eq!(
            "[::1]".parse::<BindAddress>().unwrap(),
            "::1".parse::<BindAddress>().unwrap()
        );
        "127.0.0.1".parse::<BindAddress>().unwrap();
        assert!(refused::<BindAddress>("localhost").contains("IP address"));
        refused::<BindAddress>("127.0.0.1;");
    }

    #[test]
    fn validity_days_are_bounded() {
        assert_eq!("30".parse::<ValidityDays>().unwrap().get(), 30);
        assert_eq!(ValidityDays::DEFAULT.get(), 397);
        for bad in ["0", "826", "-5", "x"] {
            refused::<ValidityDays>(bad);
        }
    }

    #[test]
    fn system_user_follows_unix_rules() {
        for good in ["www-data", "nginx", "nobody", "_nginx"] {
            good.parse::<SystemUser>().unwrap();
        }
        for bad in ["", "Root", "www data", "1user", "a;b", &"a".repeat(33)] {
            refused::<SystemUser>(bad);
        }
    }

    #[test]
    fn versions_compare_numerically() {
        let v: Version = "1.22.1".parse().unwrap();
        assert!(v < "1.23.2".parse().unwrap());
        assert!("1.25.10".parse::<Version>().unwrap() > "1.25.9".parse().unwrap());
        assert_eq!("3.5".parse::<Version>().unwrap(), Version(3, 5, 0));
        assert_eq!("1.1.1w".parse::<Version>().unwrap(), Version(1, 1, 1));
        refused::<Version>("1.x");
        refused::<Version>("1.2.3.4");
    }

    #[test]
    fn bcrypt_cost_is_between_4_and_the_maximum() {
        assert_eq!("5".parse::<BcryptCost>().unwrap().get(), 5);
        assert_eq!("14".parse::<BcryptCost>().unwrap().get(), 14);
        refused::<BcryptCost>("3");
        refused::<BcryptCost>("15");
        refused::<BcryptCost>("31");
        refused::<BcryptCost>("32");
    }

    #[test]
    fn acme_values_refuse_what_could_reach_a_command_or_a_file() {
        assert_eq!(
            "Ops@Example.com".parse::<AcmeEmail>().unwrap().to_string(),
            "ops@example.com"
        );
        for bad in [
            "ops",
            "@example.com",
            "a b@example.com",
            "ops@1.2.3.4",
            "o;p@example.com",
        ] {
            assert!(bad.parse::<AcmeEmail>().is_err(), "{bad}");
        }
        "https://127.0.0.1:14000/dir".parse::<AcmeServer>().unwrap();
        "https://acme-v02.api.letsencrypt.org/directory"
            .parse::<AcmeServer>()
            .unwrap();
        for bad in [
            "http://x/dir",
            "https://",
            "https://x/d ir",
            "https://x/$d",
            "https://x/\"d",
            "https://x/%0a",
        ] {
            assert!(bad.parse::<AcmeServer>().is_err(), "{bad}");
        }
    }
}

//! The wizard's logic: which questions to ask, in which order, with which defaults, and the
//! summary shown before writing.
//!
//! It asks only what the flags left open, through a `Prompter` (so tests script it), and checks
//! every answer with the value types' own `FromStr`: the wizard has no rules of its own and can
//! produce nothing the flags could not. Its result is a `Given`, resolved like any other.

use std::path::PathBuf;
use std::str::FromStr;

use time::OffsetDateTime;
use zeroize::Zeroizing;

pub mod answers;
pub mod prompter;

use crate::bundle::cert::provided;
use crate::bundle::plan::Plan;
use crate::model::given::{Given, TlsChoice};
use crate::model::password::{Password, PasswordSource};
use crate::model::setup::{
    DEFAULT_OUT_DIR, DEFAULT_PLAIN_PORT, DEFAULT_PREFIX, DEFAULT_TLS_PORT, DEFAULT_USERNAME, Setup,
    Tls,
};
use crate::model::values::{Domain, Invalid, Port, ServerPath, UrlPrefix, UserName};
use crate::write::{Change, Comparison};
use answers::Answers;
use prompter::{Interrupted, Prompter, heading};

/// What the wizard learned: the completed `Given`, and the password when one was typed.
pub struct Asked {
    pub given: Given,
    /// `Some` when typed at the prompt; `None` when it comes from a flag or is to be generated
    /// (then `given.password` says which).
    pub typed_password: Option<Password>,
}

const TLS_ITEMS: [&str; 3] = [
    "Self-signed certificate, made now",
    "My own certificate and key files",
    "None: plain HTTP (passwords cross the network in clear)",
];

/// Asks one value, re-asking with the type's rule until it parses.
fn ask_value<T: FromStr<Err = Invalid>>(
    prompter: &mut dyn Prompter,
    prompt: &str,
    default: Option<String>,
) -> Result<T, Interrupted> {
    let check = |answer: &str| answer.parse::<T>().map(|_| ()).map_err(|Invalid(why)| why);
    let answer = prompter.text(prompt, default.as_deref(), &check)?;
    Ok(answer
        .parse::<T>()
        .unwrap_or_else(|_| unreachable!("the prompter returns only answers that passed")))
}

/// A remembered answer, offered only if it still passes today's rule.
fn remembered<T: FromStr<Err = Invalid>>(value: Option<String>) -> Option<String> {
    value.filter(|text| text.parse::<T>().is_ok())
}

/// Asks, in order, for the domain, port, URL prefix, user name, password, TLS and output
/// folder, skipping what `flags` already holds. `now` dates the check of a provided certificate.
pub fn ask(
    flags: Given,
    remembered_answers: &Answers,
    prompter: &mut dyn Prompter,
    now: OffsetDateTime,
) -> Result<Asked, Interrupted> {
    let mut given = flags;
    let r = remembered_answers;

    if given.domain.is_none() {
        given.domain = Some(ask_value::<Domain>(
            prompter,
            "Domain (DNS name or IP address clients use)",
            remembered::<Domain>(r.get("domain")),
        )?);
    }
    let port_from_flags = given.port.is_some();
    if !port_from_flags {
        let default = if given.tls == Some(TlsChoice::Off) {
            DEFAULT_PLAIN_PORT
        } else {
            DEFAULT_TLS_PORT
        };
        given.port = Some(ask_value::<Port>(
            prompter,
            "Port nginx listens on",
            remembered::<Port>(r.get("port")).or(Some(default.to_string())),
        )?);
    }
    if given.prefix.is_none() {
        given.prefix = Some(ask_value::<UrlPrefix>(
            prompter,
            "URL prefix (\"/\" for the whole host)",
            remembered::<UrlPrefix>(r.get("prefix")).or(Some(DEFAULT_PREFIX.into())),
        )?);
    }
    if given.username.is_none() {
        given.username = Some(ask_value::<UserName>(
            prompter,
            "User name",
            remembered::<UserName>(r.get("username")).or(Some(DEFAULT_USERNAME.into())),
        )?);
    }
    let mut typed_password = None;
    if given.password.is_none() {
        let check = |answer: &str| {
            Password::new(Zeroizing::new(answer.to_string()))
                .map(|_| ())
                .map_err(|Invalid(why)| why)
        };
        match prompter.new_password("Password (Enter: generate a strong one)", &check)? {
            Some(text) => {
                typed_password = Some(Password::new(text).unwrap_or_else(|_| {
                    unreachable!("the prompter returns only answers that passed")
                }));
                given.password = Some(PasswordSource::Typed);
            }
            None => given.password = Some(PasswordSource::Generate),
        }
    }
    if given.tls.is_none() && given.tls_cert.is_none() && given.tls_key.is_none() {
        let domain = given.domain.clone().expect("asked above");
        let (choice, files) = ask_tls(prompter, r, &domain, now)?;
        given.tls = Some(choice);
        if let Some((certificate, key)) = files {
            given.tls_cert = Some(certificate);
            given.tls_key = Some(key);
        }
        let plain_on_443 = given.tls == Some(TlsChoice::Off)
            && given.port == Some(Port::new_const(DEFAULT_TLS_PORT));
        if plain_on_443 && !port_from_flags {
            prompter.say("Port 443 is for HTTPS; plain HTTP usually listens on 80.");
            given.port = Some(ask_value::<Port>(
                prompter,
                "Port nginx listens on",
                Some(DEFAULT_PLAIN_PORT.to_string()),
            )?);
        }
    }
    if given.out_dir.is_none() {
        let check = |answer: &str| {
            if answer.trim().is_empty() {
                Err("give a folder".to_string())
            } else {
                Ok(())
            }
        };
        let answer = prompter.text(
            "Output folder",
            Some(r.get("out").as_deref().unwrap_or(DEFAULT_OUT_DIR)),
            &check,
        )?;
        given.out_dir = Some(PathBuf::from(answer));
    }
    Ok(Asked {
        given,
        typed_password,
    })
}

fn ask_tls(
    prompter: &mut dyn Prompter,
    r: &Answers,
    domain: &Domain,
    now: OffsetDateTime,
) -> Result<(TlsChoice, Option<(ServerPath, ServerPath)>), Interrupted> {
    let remembered_choice = r
        .get("tls")
        .and_then(|text| text.parse::<TlsChoice>().ok())
        .or_else(|| (r.get("no-tls").as_deref() == Some("true")).then_some(TlsChoice::Off));
    let default = match remembered_choice {
        Some(TlsChoice::Own) => 1,
        Some(TlsChoice::Off) => 2,
        _ => 0,
    };
    loop {
        match prompter.choose("TLS", &TLS_ITEMS, default)? {
            0 => return Ok((TlsChoice::SelfSigned, None)),
            2 => return Ok((TlsChoice::Off, None)),
            _ => {
                let certificate = ask_value::<ServerPath>(
                    prompter,
                    "Certificate file (absolute path, PEM)",
                    remembered::<ServerPath>(r.get("tls-cert")),
                )?;
                let key = ask_value::<ServerPath>(
                    prompter,
                    "Key file (absolute path, PEM)",
                    remembered::<ServerPath>(r.get("tls-key")),
                )?;
                match provided::check(certificate.path(), key.path(), domain, now) {
                    Ok(_) => return Ok((TlsChoice::Own, Some((certificate, key)))),
                    Err(refused) => prompter.say(&format!("Not usable: {refused}")),
                }
            }
        }
    }
}

/// The summary shown before the confirmation: every answer (marking those from flags), the
/// files and which of them would replace existing ones, and the Prometheus flags.
pub fn summary(setup: &Setup, flags: &Given, plan: &Plan, disk: &[Comparison]) -> String {
    let from_flags = |given: bool| if given { "  (from flags)" } else { "" };
    let tls = match setup.tls() {
        Tls::SelfSigned { days } => format!("self-signed, {} days", days.get()),
        Tls::Provided { certificate, key } => format!("your own: {certificate}, {key}"),
        Tls::Off => "none (plain HTTP)".to_string(),
        Tls::LocalCa { days, .. } => format!("signed by the local CA, {} days", days.get()),
        Tls::Acme { .. } => "from an ACME CA, through certbot".to_string(),
    };
    let password = match setup.password() {
        PasswordSource::Generate => "generated, shown once after writing".to_string(),
        PasswordSource::Typed => "typed".to_string(),
        PasswordSource::Stdin => "from standard input".to_string(),
        PasswordSource::File(path) => format!("from {}", path.display()),
        PasswordSource::Environment => "from PROMSETUP_PASSWORD".to_string(),
    };
    let rows = [
        ("URL", setup.external_url(), false),
        ("Domain", setup.domain().to_string(), flags.domain.is_some()),
        ("Port", setup.port().to_string(), flags.port.is_some()),
        ("Prefix", setup.prefix().to_string(), flags.prefix.is_some()),
        (
            "User",
            setup.username().to_string(),
            flags.username.is_some(),
        ),
        ("Password", password, flags.password.is_some()),
        ("TLS", tls, flags.tls.is_some() || flags.tls_cert.is_some()),
        (
            "Output folder",
            setup.out_dir().display().to_string(),
            flags.out_dir.is_some(),
        ),
    ];
    let mut text = format!("\n{}\n", heading("Summary"));
    for (name, value, given) in rows {
        text.push_str(&format!("  {name:<15}{value}{}\n", from_flags(given)));
    }
    text.push_str(&format!("\n{}\n", heading("Files")));
    for (artifact, comparison) in plan.artifacts.iter().zip(disk) {
        let path = setup.out_dir().join(&artifact.file_name);
        let note = match comparison.change {
            Change::New => "",
            Change::Same => "  unchanged",
            Change::Differs => "  exists: will be replaced, the old one kept as .bak",
        };
        text.push_str(&format!(
            "  {:04o}  {}{note}\n",
            artifact.mode,
            path.display()
        ));
    }
    text.push_str(&format!("\n{}\n", heading("Prometheus flags")));
    for flag in &plan.flags {
        text.push_str(&format!("  {flag}\n"));
    }
    text
}

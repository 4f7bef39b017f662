//! The wizard's logic, driven by a scripted prompter: the order of the questions, flags that
//! skip questions, bad answers asked again with the value type's rule, remembered defaults,
//! and the provided-certificate check. The real dialoguer flow is tested in a pseudo-terminal
//! by tests/pty.rs.

#![allow(clippy::disallowed_methods)] // tests arrange files by hand

use std::collections::VecDeque;

use promsetup::model::given::{Given, TlsChoice};
use promsetup::model::password::PasswordSource;
use promsetup::model::setup::{HostFacts, resolve};
use promsetup::wizard::answers::Answers;
use promsetup::wizard::ask;
use promsetup::wizard::prompter::{Check, Interrupted, Prompter};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// One scripted reply. `Text("")` takes the default, as Enter does.
enum Reply {
    Text(&'static str),
    Password(Option<&'static str>),
    Choose(usize),
    Interrupt,
}

/// Plays the replies in order and records every question and message, as a person at a
/// terminal would see them. Like dialoguer, a `text` answer that fails its check is refused and
/// the same question is asked again with the next reply.
struct Scripted {
    replies: VecDeque<Reply>,
    transcript: Vec<String>,
}

impl Scripted {
    fn new(replies: Vec<Reply>) -> Scripted {
        Scripted {
            replies: replies.into(),
            transcript: Vec::new(),
        }
    }

    fn next(&mut self, question: &str) -> Reply {
        self.replies.pop_front().unwrap_or_else(|| {
            panic!(
                "no reply scripted for {question:?}; so far: {:#?}",
                self.transcript
            )
        })
    }

    fn questions(&self) -> Vec<&str> {
        self.transcript
            .iter()
            .filter_map(|line| line.strip_prefix("? "))
            .collect()
    }
}

impl Prompter for Scripted {
    fn text(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        check: Check,
    ) -> Result<String, Interrupted> {
        loop {
            self.transcript
                .push(format!("? {prompt} [{}]", default.unwrap_or("")));
            let answer = match self.next(prompt) {
                Reply::Text("") => default.unwrap_or("").to_string(),
                Reply::Text(text) => text.to_string(),
                Reply::Interrupt => return Err(Interrupted),
                _ => panic!("expected a text reply for {prompt:?}"),
            };
            match check(&answer) {
                Ok(()) => return Ok(answer),
                Err(rule) => self.transcript.push(format!("! {rule}")),
            }
        }
    }

    fn new_password(
        &mut self,
        prompt: &str,
        check: Check,
    ) -> Result<Option<Zeroizing<String>>, Interrupted> {
        loop {
            self.transcript.push(format!("? {prompt}"));
            match self.next(prompt) {
                Reply::Password(None) => return Ok(None),
                Reply::Password(Some(text)) => match check(text) {
                    Ok(()) => return Ok(Some(Zeroizing::new(text.to_string()))),
                    Err(rule) => self.transcript.push(format!("! {rule}")),
                },
                Reply::Interrupt => return Err(Interrupted),
                _ => panic!("expected a password reply for {prompt:?}"),
            }
        }
    }

    fn choose(
        &mut self,
        prompt: &str,
        items: &[&str],
        default: usize,
    ) -> Result<usize, Interrupted> {
        self.transcript
            .push(format!("? {prompt} [{}]", items[default]));
        match self.next(prompt) {
            Reply::Choose(index) => Ok(index),
            Reply::Text("") => Ok(default),
            Reply::Interrupt => Err(Interrupted),
            _ => panic!("expected a choice for {prompt:?}"),
        }
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, Interrupted> {
        self.transcript.push(format!("? {prompt}"));
        match self.next(prompt) {
            Reply::Text("") => Ok(default),
            Reply::Text("y") => Ok(true),
            Reply::Text("n") => Ok(false),
            Reply::Interrupt => Err(Interrupted),
            _ => panic!("expected a yes/no reply for {prompt:?}"),
        }
    }

    fn say(&mut self, text: &str) {
        self.transcript.push(format!("> {text}"));
    }
}

/// Scripted replies live for the whole test; a computed one is leaked to match.
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn host() -> HostFacts {
    HostFacts {
        nginx: promsetup::model::setup::NginxAnswer::known(None),
        nginx_user: None,
        primary_group: |_| None,
        site_folder: |_| None,
        prometheus_service: promsetup::model::prometheus_service::PrometheusService::default,
    }
}

/// The questions, without their defaults.
fn names(prompter: &Scripted) -> Vec<String> {
    prompter
        .questions()
        .iter()
        .map(|q| q.split(" [").next().unwrap().to_string())
        .collect()
}

#[test]
fn questions_come_in_order_and_enter_takes_every_default() {
    let mut prompter = Scripted::new(vec![
        Reply::Text("prom.example.com"),
        Reply::Text(""),
        Reply::Text(""),
        Reply::Text(""),
        Reply::Password(None),
        Reply::Text(""),
        Reply::Text(""),
    ]);
    let asked = ask(Given::default(), &Answers::default(), &mut prompter, now()).unwrap();
    assert_eq!(
        names(&prompter),
        vec![
            "Domain (DNS name or IP address clients use)",
            "Port nginx listens on",
            "URL prefix (\"/\" for the whole host)",
            "User name",
            "Password (Enter: generate a strong one)",
            "TLS",
            "Output folder",
        ]
    );
    // Every question shows its default.
    assert_eq!(
        prompter.questions()[1..4].to_vec(),
        vec![
            "Port nginx listens on [443]",
            "URL prefix (\"/\" for the whole host) [/prometheus]",
            "User name [admin]",
        ]
    );
    assert!(asked.typed_password.is_none());
    let setup = resolve(asked.given, &host()).unwrap();
    assert_eq!(setup.external_url(), "https://prom.example.com/prometheus/");
    assert_eq!(*setup.password(), PasswordSource::Generate);
    assert_eq!(setup.out_dir(), std::path::Path::new("promsetup-bundle"));
}

#[test]
fn values_given_as_flags_are_not_asked_again() {
    let flags = Given {
        domain: Some("example.com".parse().unwrap()),
        prefix: Some("/".parse().unwrap()),
        password: Some(PasswordSource::Stdin),
        tls: Some(TlsChoice::SelfSigned),
        ..Given::default()
    };
    let mut prompter = Scripted::new(vec![
        Reply::Text("8443"),
        Reply::Text(""),
        Reply::Text("/tmp/x"),
    ]);
    let asked = ask(flags, &Answers::default(), &mut prompter, now()).unwrap();
    assert_eq!(
        names(&prompter),
        vec!["Port nginx listens on", "User name", "Output folder"]
    );
    let setup = resolve(asked.given, &host()).unwrap();
    assert_eq!(setup.external_url(), "https://example.com:8443/");
}

#[test]
fn a_bad_answer_is_asked_again_with_the_rule_of_the_flag() {
    let mut prompter = Scripted::new(vec![
        Reply::Text("example.com; return 200"),
        Reply::Text("example.com"),
        Reply::Text("99999"),
        Reply::Text(""),
        Reply::Text("/a/../b"),
        Reply::Text("/ops"),
        Reply::Text("ad:min"),
        Reply::Text("ops"),
        Reply::Password(Some(leak("x".repeat(80)))),
        Reply::Password(Some("short but fine")),
        Reply::Text(""),
        Reply::Text(""),
    ]);
    let asked = ask(Given::default(), &Answers::default(), &mut prompter, now()).unwrap();
    let refusals: Vec<_> = prompter
        .transcript
        .iter()
        .filter(|line| line.starts_with("! "))
        .collect();
    assert_eq!(refusals.len(), 5, "{:#?}", prompter.transcript);
    // The same words the flags use (values.rs), not a second set of rules.
    let flag_rule = "example.com; return 200"
        .parse::<promsetup::model::values::Domain>()
        .unwrap_err()
        .0;
    assert_eq!(refusals[0], &format!("! {flag_rule}"));
    assert!(
        refusals[2].contains("'..'") || refusals[2].contains(".."),
        "{}",
        refusals[2]
    );
    assert!(refusals[3].contains("':'"));
    assert!(refusals[4].contains("72"));
    assert_eq!(asked.typed_password.unwrap().expose(), "short but fine");
    let setup = resolve(asked.given, &host()).unwrap();
    assert_eq!(setup.username().as_str(), "ops");
    assert_eq!(setup.prefix().as_str(), "/ops");
}

#[test]
fn remembered_answers_are_offered_as_defaults_and_stale_ones_dropped() {
    let remembered = Answers::from_pairs(&[
        ("domain", "old.example.com"),
        ("port", "8443"),
        ("prefix", "/prom;evil"), // no longer valid: not offered
        ("username", "grafana"),
        ("tls", "none"),
        ("out", "/srv/bundle"),
    ])
    .unwrap();
    let mut prompter = Scripted::new(vec![
        Reply::Text(""),
        Reply::Text(""),
        Reply::Text(""),
        Reply::Text(""),
        Reply::Password(Some("pw")),
        Reply::Text(""),
        Reply::Text(""),
    ]);
    let asked = ask(Given::default(), &remembered, &mut prompter, now()).unwrap();
    assert_eq!(
        prompter.questions(),
        vec![
            "Domain (DNS name or IP address clients use) [old.example.com]",
            "Port nginx listens on [8443]",
            "URL prefix (\"/\" for the whole host) [/prometheus]",
            "User name [grafana]",
            "Password (Enter: generate a strong one)",
            "TLS [None: plain HTTP (passwords cross the network in clear)]",
            "Output folder [/srv/bundle]",
        ]
    );
    let setup = resolve(asked.given, &host()).unwrap();
    assert_eq!(
        setup.external_url(),
        "http://old.example.com:8443/prometheus/"
    );
}

#[test]
fn choosing_plain_http_after_port_443_asks_the_port_again() {
    let mut prompter = Scripted::new(vec![
        Reply::Text("example.com"),
        Reply::Text(""),
        Reply::Text(""),
        Reply::Text(""),
        Reply::Password(Some("pw")),
        Reply::Choose(2),
        Reply::Text(""),
        Reply::Text(""),
    ]);
    let asked = ask(Given::default(), &Answers::default(), &mut prompter, now()).unwrap();
    let setup = resolve(asked.given, &host()).unwrap();
    assert_eq!(setup.port().get(), 80);
    assert_eq!(setup.external_url(), "http://example.com/prometheus/");
}

#[test]
fn an_interrupt_at_any_question_stops_the_wizard() {
    for at in 0..7 {
        let mut replies = vec![
            Reply::Text("example.com"),
            Reply::Text(""),
            Reply::Text(""),
            Reply::Text(""),
            Reply::Password(None),
            Reply::Text(""),
            Reply::Text(""),
        ];
        replies[at] = Reply::Interrupt;
        let mut prompter = Scripted::new(replies);
        assert!(
            ask(Given::default(), &Answers::default(), &mut prompter, now()).is_err(),
            "interrupt at question {at} was not honoured"
        );
    }
}

#[test]
fn an_own_certificate_is_checked_and_a_wrong_one_asked_again() {
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, san: &str| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![san.to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let cert_path = dir.path().join(format!("{name}.crt"));
        let key_path = dir.path().join(format!("{name}.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (
            cert_path.display().to_string(),
            key_path.display().to_string(),
        )
    };
    let (wrong_cert, wrong_key) = make("other", "other.example");
    let (cert, key) = make("good", "example.com");
    let mut prompter = Scripted::new(vec![
        Reply::Text("example.com"),
        Reply::Text(""),
        Reply::Text(""),
        Reply::Text(""),
        Reply::Password(Some("pw")),
        Reply::Choose(1),
        Reply::Text(leak(wrong_cert)),
        Reply::Text(leak(wrong_key)),
        Reply::Choose(1),
        Reply::Text("relative/path.crt"),
        Reply::Text(leak(cert.clone())),
        Reply::Text(leak(key.clone())),
        Reply::Text(""),
    ]);
    let asked = ask(Given::default(), &Answers::default(), &mut prompter, now()).unwrap();
    let said: Vec<_> = prompter
        .transcript
        .iter()
        .filter(|l| l.starts_with("> "))
        .collect();
    assert!(said[0].contains("does not cover example.com"), "{said:?}");
    assert!(
        prompter
            .transcript
            .iter()
            .any(|l| l.starts_with("! ") && l.contains("absolute"))
    );
    let setup = resolve(asked.given, &host()).unwrap();
    let (on_server_cert, on_server_key) = setup.certificate_and_key_on_server().unwrap();
    assert_eq!((on_server_cert, on_server_key), (cert, key));
    assert!(
        setup.certificate_file().is_none(),
        "no self-signed pair is made"
    );
}

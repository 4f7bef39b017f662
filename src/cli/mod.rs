//! The command line: clap's definitions and `--help`, and turning argv into a plain `Request`.
//!
//! This is the only folder that imports clap. The setup flags come from one table
//! (`model::flags`), each parsed by its value type, so a bad value is refused by clap with the
//! type's own rule and the flag's name (exit 2). It must not apply defaults beyond what `--help`
//! shows, nor check values against each other: `model::setup::resolve` does that for every way
//! in.

mod help;
mod value_parser;

use std::path::PathBuf;

use clap::{ArgAction, ArgMatches, Args, Parser, Subcommand};

use crate::model::flags::{self, FLAGS, Flag, Reach};
use crate::model::given::Given;
use crate::model::request::{
    BundleOptions, ReportFormat, Request, SetupRequest, Show, UserAction, UserRequest,
    VerifyRequest,
};
use crate::model::values::{Invalid, UserName};
use value_parser::{FlagValue, checked};

/// Parses the process's arguments; on a bad command line clap prints why and exits with 2.
pub fn parse() -> Request {
    Cli::parse().into_request()
}

/// Parses `args` (the program's name first), for tests and callers that have their own argv.
pub fn try_parse_from<I, T>(args: I) -> Result<Request, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args).map(Cli::into_request)
}

/// The whole command: `clap::CommandFactory` for completions and help tests.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[derive(Debug, Parser)]
#[command(
    name = "promsetup",
    version,
    about = help::ABOUT,
    long_about = help::LONG_ABOUT,
    after_long_help = help::AFTER_HELP,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    options: Options,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ask for each value at a terminal, show a summary, then write the bundle.
    Init,
    /// Check a bundle: offline (files, key and certificate, hashes, `nginx -t`, `promtool check
    /// web-config`), and with --url online, as the reference guides' "Testing" section does.
    Verify(VerifyArgs),
    /// Add, remove or list basic-auth users in a bundle's .htpasswd (and web.yml), leaving
    /// other users' lines as they are.
    User(UserArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The bundle folder [default: --out, else ./promsetup-bundle].
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,

    /// Also test the deployed service at this URL (the external URL, e.g.
    /// https://example.com/prometheus/): 401 with the realm without credentials, 200 with them
    /// (password from --password-stdin, --password-file or PROMSETUP_PASSWORD), redirects inside
    /// the prefix, TLS verified against the bundle's certificate.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

#[derive(Debug, Args)]
struct UserArgs {
    #[command(subcommand)]
    action: UserActionArg,

    /// The bundle folder [default: --out, else ./promsetup-bundle].
    #[arg(long, value_name = "DIR", global = true)]
    dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum UserActionArg {
    /// Add a user, or change the password of one (password from --password-stdin,
    /// --password-file, PROMSETUP_PASSWORD, or asked at a terminal).
    Add {
        /// Basic-auth user name (A-Z a-z 0-9 . _ @ + -).
        #[arg(value_parser = checked::<UserName>(), value_name = "NAME")]
        name: UserName,
    },
    /// Remove a user.
    Remove {
        /// The user to remove; the last person is never removed.
        #[arg(value_parser = checked::<UserName>(), value_name = "NAME")]
        name: UserName,
    },
    /// List the users.
    List,
}

/// The options of a run: how it runs (here) and what it sets up (the table's flags, flattened in
/// between so `--help` lists them in this order).
#[derive(Debug, Args)]
struct Options {
    /// Never prompt; a missing required value is one error naming every missing flag.
    #[arg(help_heading = flags::heading::RUNNING, long, global = true)]
    non_interactive: bool,

    #[command(flatten)]
    setup: SetupFlags,

    /// Read the answers from a TOML file (keys are these flags' names, e.g. domain, port,
    /// prefix, auth); flags given too override it. Never a password. `promsetup init` offers to
    /// save one next to the bundle.
    #[arg(help_heading = flags::heading::RUNNING, long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,

    /// Write nothing; exit 0 when the bundle on disk is up to date, 3 when a run would change
    /// it (2 and 1 keep their meanings: bad input, failure).
    #[arg(help_heading = flags::heading::RUNNING, long, global = true)]
    check: bool,

    /// Like --check, and show what would change as a unified diff of the text files, with
    /// hashes and keys masked.
    #[arg(help_heading = flags::heading::RUNNING, long, global = true)]
    diff: bool,

    /// How to report: text for people, or json: one JSON document on standard output, its
    /// schema in the README (format_version 1).
    #[arg(
        help_heading = flags::heading::RUNNING,
        long,
        value_name = "FORMAT",
        global = true,
        default_value = "text"
    )]
    format: FormatArg,

    /// Replace files that already exist in --out (each old file is kept as NAME.bak).
    #[arg(help_heading = flags::heading::RUNNING, long, global = true)]
    force: bool,

    /// Delete the answers `promsetup init` remembered (never the password), then exit.
    #[arg(help_heading = flags::heading::RUNNING, long, global = true)]
    forget: bool,
}

/// The setup flags of `model::flags::FLAGS`, as clap arguments; parsed straight into `Given`.
#[derive(Debug, Default)]
struct SetupFlags(Given);

/// The clap argument of one setup flag.
fn argument(flag: &'static Flag) -> clap::Arg {
    let arg = clap::Arg::new(flag.name)
        .long(flag.name)
        .help(flag.help)
        .help_heading(flag.heading)
        .global(true)
        .conflicts_with_all(flag.conflicts_with);
    let arg = flag
        .requires
        .iter()
        .fold(arg, |arg, required| arg.requires(*required));
    match flag.value_name {
        Some(value_name) => arg
            .value_name(value_name)
            .value_parser(FlagValue(flag))
            .action(if flag.is_repeatable() {
                ArgAction::Append
            } else {
                ArgAction::Set
            }),
        None => arg.action(ArgAction::SetTrue),
    }
}

fn on_command_line(flag: &&'static Flag) -> bool {
    flag.reach != Reach::AnswersOnly
}

impl Args for SetupFlags {
    fn augment_args(command: clap::Command) -> clap::Command {
        FLAGS
            .iter()
            .filter(on_command_line)
            .fold(command, |command, flag| command.arg(argument(flag)))
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

impl clap::FromArgMatches for SetupFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Given::default();
        for flag in FLAGS.iter().filter(on_command_line) {
            let text = if flag.is_switch() {
                matches.get_flag(flag.name).then(|| "true".to_string())
            } else if flag.is_repeatable() {
                matches
                    .get_many::<String>(flag.name)
                    .map(|texts| texts.cloned().collect::<Vec<_>>().join(","))
            } else {
                matches.get_one::<String>(flag.name).cloned()
            };
            if let Some(text) = text {
                // Each occurrence passed the rule alone; together they may not (an address
                // given twice).
                flag.set(&mut given, &text).map_err(|Invalid(why)| {
                    clap::Error::raw(
                        clap::error::ErrorKind::ArgumentConflict,
                        format!("invalid value for '--{}': {why}\n", flag.name),
                    )
                })?;
            }
        }
        Ok(SetupFlags(given))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Cli {
    fn into_request(self) -> Request {
        let options = self.options;
        let show = Show {
            check: options.check || options.diff,
            diff: options.diff,
            format: match options.format {
                FormatArg::Text => ReportFormat::Text,
                FormatArg::Json => ReportFormat::Json,
            },
        };
        let mut given = options.setup.0;
        given.force = options.force;
        if options.forget {
            return Request::Forget;
        }
        let bundle = |dir: Option<PathBuf>, given: &Given| BundleOptions {
            dir: dir.or_else(|| given.out_dir.clone()),
            password: given.password.clone(),
            non_interactive: options.non_interactive,
            show,
        };
        match self.command {
            Some(Command::Verify(args)) => Request::Verify(VerifyRequest {
                bundle: bundle(args.dir, &given),
                url: args.url,
                flags: given,
            }),
            Some(Command::User(args)) => Request::User(UserRequest {
                bundle: bundle(args.dir, &given),
                bcrypt_cost: given.bcrypt_cost,
                action: match args.action {
                    UserActionArg::Add { name } => UserAction::Add(name),
                    UserActionArg::Remove { name } => UserAction::Remove(name),
                    UserActionArg::List => UserAction::List,
                },
            }),
            command @ (Some(Command::Init) | None) => Request::Setup(SetupRequest {
                flags: given,
                config: options.config,
                show,
                non_interactive: options.non_interactive,
                init: command.is_some(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::password::PasswordSource;

    fn setup_request(args: &[&str]) -> SetupRequest {
        match try_parse_from(std::iter::once("promsetup").chain(args.iter().copied())).unwrap() {
            Request::Setup(request) => request,
            other => panic!("not a setup request: {other:?}"),
        }
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn flags_after_init_are_accepted() {
        let request = setup_request(&["init", "--domain", "example.com"]);
        assert!(request.init);
        assert_eq!(request.flags.domain.unwrap().to_string(), "example.com");
    }

    #[test]
    fn password_sources_are_chosen_in_order() {
        let request = setup_request(&["--password-stdin"]);
        assert_eq!(request.flags.password, Some(PasswordSource::Stdin));
        let request = setup_request(&["--password-file", "f"]);
        assert_eq!(
            request.flags.password,
            Some(PasswordSource::File(PathBuf::from("f")))
        );
        // The environment is the command's to read: the flags name no source.
        assert_eq!(setup_request(&[]).flags.password, None);
        assert!(try_parse_from(["promsetup", "--password-stdin", "--password-file", "f"]).is_err());
    }

    #[test]
    fn a_bad_value_is_refused_with_the_flag_and_the_rule() {
        let err = try_parse_from(["promsetup", "--domain", "a;b"]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("--domain") && text.contains("';'"), "{text}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn flag_relations_of_the_table_hold_on_the_command_line() {
        assert!(try_parse_from(["promsetup", "--tls-cert", "/a.pem"]).is_err());
        assert!(
            try_parse_from(["promsetup", "--no-tls", "--days", "30"]).is_err(),
            "--no-tls conflicts with --days"
        );
        let request = setup_request(&["--tls-cert", "/a.pem", "--tls-key", "/a.key"]);
        assert_eq!(request.flags.tls_cert.unwrap().to_string(), "/a.pem");
    }

    #[test]
    fn bind_is_repeatable_and_an_address_twice_is_refused() {
        let request = setup_request(&["--bind", "127.0.0.1", "--bind", "[::1]"]);
        assert_eq!(
            request.flags.bind,
            vec![
                "127.0.0.1".parse::<std::net::IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert!(try_parse_from(["promsetup", "--bind", "::1", "--bind", "::1"]).is_err());
        assert!(try_parse_from(["promsetup", "--domain", "a", "--domain", "b"]).is_err());
    }

    #[test]
    fn the_answers_only_tls_key_is_no_flag() {
        assert!(try_parse_from(["promsetup", "--tls", "own"]).is_err());
    }
}

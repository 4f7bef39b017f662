//! The command line: clap's definitions and `--help`, and turning argv into a plain `Request`.
//!
//! This is the only folder that imports clap. The setup flags come from one table
//! (`model::flags`), each parsed by its value type, so a bad value is refused by clap with the
//! type's own rule and the flag's name (exit 2). It must not apply defaults beyond what `--help`
//! shows, nor check values against each other: `model::setup::resolve` does that for every way
//! in.

mod generate;
mod help;
mod value_parser;

use std::path::PathBuf;

use clap::{ArgAction, ArgMatches, Args, Parser, Subcommand};

use crate::model::flags::{self, FLAGS, Flag};
use crate::model::given::Given;
use crate::model::password::PasswordSource;
use crate::model::request::{
    ApplyRequest, BundleOptions, CaAction, CaRequest, ReportFormat, Request, SetupRequest, Show,
    UserAction, UserRequest, VerifyRequest,
};
use crate::model::request::{CompletionsRequest, ManRequest};
use crate::model::values::{BcryptCost, ConnectAddress, Domain, Invalid, UserName};
use value_parser::{FlagValue, checked};

/// Parses the process's arguments; on a bad command line clap prints why and exits with 2.
pub fn parse() -> Request {
    try_parse_from(std::env::args_os()).unwrap_or_else(|error| error.exit())
}

/// Parses `args` (the program's name first), for tests and callers that have their own argv.
pub fn try_parse_from<I, T>(args: I) -> Result<Request, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    Cli::try_parse_from(&args)
        .map(Cli::into_request)
        .or_else(|error| {
            // clap's own --version answered before required arguments were checked
            // (`promsetup user add --version`); promsetup's answers the same.
            let missing = matches!(
                error.kind(),
                clap::error::ErrorKind::MissingRequiredArgument
                    | clap::error::ErrorKind::MissingSubcommand
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            let asks_version = args
                .iter()
                .skip(1)
                .take_while(|arg| *arg != "--")
                .any(|arg| arg == "--version" || arg == "-V");
            if missing && asks_version {
                Ok(Request::Version)
            } else {
                Err(error)
            }
        })
}

/// The whole command: `clap::CommandFactory` for completions and help tests.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[derive(Debug, Parser)]
#[command(
    name = "promsetup",
    version,
    // promsetup's own --version (below) also names the commit and the bcrypt backend.
    disable_version_flag = true,
    about = help::ABOUT,
    long_about = help::LONG_ABOUT,
    after_long_help = help::AFTER_HELP,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Print the version, the git commit it was built from and the bcrypt backend in use.
    #[arg(short = 'V', long, global = true)]
    version: bool,

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
    Init(Box<InitArgs>),
    /// Check a bundle: offline (files, key and certificate, hashes, `nginx -t`, `promtool check
    /// web-config`), and with --url online, as the reference guides' "Testing" section does.
    Verify(VerifyArgs),
    /// Install a bundle on this host, prove the live service works, or put everything back
    ///
    /// As root: installs the files with their modes and owners, enables the site (the link in
    /// sites-enabled/), hands Prometheus its flags file (merged into the ARGS of
    /// /etc/default/prometheus, or a systemd drop-in), runs nginx -t, reloads nginx, restarts
    /// Prometheus, then checks the live service: 401 without a password, 200 with it, and every
    /// check of `promsetup verify --url`. Any failure puts every file back and reloads and
    /// restarts the services as they were. --dry-run shows every action first.
    Apply(ApplyArgs),
    /// Add, remove or list basic-auth users in a bundle's .htpasswd (and web.yml), leaving
    /// other users' lines as they are.
    User(UserArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell).
    ///
    /// For example `promsetup completions bash >
    /// ~/.local/share/bash-completion/completions/promsetup`. The Debian package installs the
    /// scripts for bash, zsh and fish.
    Completions(CompletionsArgs),
    /// Write the man pages, one per command, into --out DIR (e.g. ~/.local/share/man/man1;
    /// the Debian package has them already).
    Man(ManArgs),
    /// The local CA of --tls local-ca: show it and how to trust it, export its certificate, or
    /// rotate it (--ca-dir chooses its folder).
    Ca(CaArgs),
}

#[derive(Debug, Args)]
struct CaArgs {
    #[command(subcommand)]
    action: CaActionArg,

    /// The CA's folder [default: promsetup/ca in the user's data folder].
    #[arg(long, value_name = "DIR", global = true)]
    ca_dir: Option<PathBuf>,

    /// Replace FILE when it exists (export; the old one is kept as FILE.bak).
    #[arg(long, global = true)]
    force: bool,
}

#[derive(Debug, Subcommand)]
enum CaActionArg {
    /// Its folder, subject, SHA-256 fingerprint, expiry, the names it may sign for, and the
    /// exact steps to trust it on each kind of client.
    Show,
    /// Write its certificate (PEM) to FILE, or to standard output without one.
    Export {
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Make a new key and certificate for the same names (the old ones are kept as NAME.bak).
    /// Every bundle must then be made again (--force) and every client trust the new CA.
    Rotate,
}

#[derive(Debug, Args)]
struct ManArgs {
    /// The folder the pages are written to.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct CompletionsArgs {
    /// The shell the script is for.
    #[arg(value_enum, value_name = "SHELL")]
    shell: clap_complete::Shell,
}

/// `init` takes every option of a run, after it as before it (`promsetup init --domain X`).
#[derive(Debug, Args)]
struct InitArgs {
    #[command(flatten)]
    options: Options,
}

#[derive(Debug, Args)]
struct ApplyArgs {
    /// The bundle folder [default: --out, else ./promsetup-bundle].
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,

    /// List every action (paths, modes, owners, commands) and change nothing.
    #[arg(long)]
    dry_run: bool,

    /// How long the live check waits for a restarted Prometheus to answer through nginx before
    /// it counts as failed and everything is put back (a reload alone is waited for 5 s).
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    wait: u64,

    /// Read the password for the live check from the first line of standard input.
    #[arg(long, conflicts_with = "password_file")]
    password_stdin: bool,

    /// Read the password for the live check from the first line of a file.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,

    /// How to report: text for people, or json: one document.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    format: FormatArg,
}

// Issue 13: the setup flags are not global, so `verify --help` and `user --help` list only
// what those commands take (below), not every generation flag.
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

    /// Send the password to an http:// --url although the bundle serves TLS (anyone on the
    /// path can read it). Without this flag verify checks such a URL without the password.
    #[arg(long)]
    allow_cleartext_password: bool,

    /// Connect to this address (IP, or IP:PORT) for --url instead of looking its host up, as
    /// curl's --resolve does: check a server before DNS points at it, or one nginx of several.
    /// The URL's name is still sent and TLS still checks it.
    #[arg(long, value_name = "ADDRESS", value_parser = checked::<ConnectAddress>(), requires = "url")]
    connect: Option<ConnectAddress>,

    /// The name the certificate must cover [default: the bundle's].
    #[arg(long, value_name = "NAME", value_parser = checked::<Domain>())]
    domain: Option<Domain>,

    /// The user the online checks sign in as [default: the bundle's first].
    #[arg(long, value_name = "NAME", value_parser = checked::<UserName>())]
    username: Option<UserName>,

    /// Read the password for --url from the first line of standard input.
    #[arg(long, conflicts_with = "password_file")]
    password_stdin: bool,

    /// Read the password for --url from the first line of a file.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,

    /// The bundle folder when DIR is not given.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// How to report: text for people, or json: one document with every check (its schema is
    /// docs/verify-schema.json).
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    format: FormatArg,
}

#[derive(Debug, Args)]
struct UserArgs {
    #[command(subcommand)]
    action: UserActionArg,

    /// The bundle folder [default: --out, else ./promsetup-bundle].
    #[arg(long, value_name = "DIR", global = true)]
    dir: Option<PathBuf>,

    // Ids of their own: a global argument of `user` is also seen by the top level, whose setup
    // flags use the plain names.
    /// The bundle folder, as the setup calls it (--dir wins).
    #[arg(id = "user_out", long = "out", value_name = "DIR", global = true)]
    out: Option<PathBuf>,

    /// Read the new password from the first line of standard input.
    #[arg(
        id = "user_password_stdin",
        long = "password-stdin",
        global = true,
        conflicts_with = "user_password_file"
    )]
    password_stdin: bool,

    /// Read the new password from the first line of a file.
    #[arg(
        id = "user_password_file",
        long = "password-file",
        value_name = "FILE",
        global = true
    )]
    password_file: Option<PathBuf>,

    /// bcrypt cost of the new hash, 4 to 14 [default: the file's own; 5 for a new .htpasswd,
    /// at least 12 in web.yml].
    #[arg(
        id = "user_bcrypt_cost",
        long = "bcrypt-cost",
        value_name = "COST",
        global = true,
        value_parser = checked::<BcryptCost>()
    )]
    bcrypt_cost: Option<BcryptCost>,

    /// Never prompt: without a password input, one is generated and stored in NAME.password.
    #[arg(id = "user_non_interactive", long = "non-interactive", global = true)]
    non_interactive: bool,
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
        /// Keep the previous file as NAME.bak (it holds the removed user's hash); by default
        /// no backup of it is kept, and older ones are deleted.
        #[arg(long)]
        keep_backup: bool,
    },
    /// List the users.
    List,
}

/// The options of a run: how it runs (here) and what it sets up (the table's flags, flattened in
/// between so `--help` lists them in this order).
#[derive(Debug, Args)]
struct Options {
    /// Never prompt; a missing required value is one error naming every missing flag.
    #[arg(help_heading = flags::heading::RUNNING, long)]
    non_interactive: bool,

    #[command(flatten)]
    setup: SetupFlags,

    /// Read the answers from a TOML file (keys are these flags' names, e.g. domain, port,
    /// prefix, auth); flags given too override it. Never a password. `promsetup init` offers to
    /// save one next to the bundle.
    #[arg(help_heading = flags::heading::RUNNING, long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Write nothing; exit 0 when the bundle on disk is up to date, 3 when a run would change
    /// it (2 and 1 keep their meanings: bad input, failure).
    #[arg(help_heading = flags::heading::RUNNING, long)]
    check: bool,

    /// Like --check, and show what would change as a unified diff of the text files, with
    /// hashes and keys masked.
    #[arg(help_heading = flags::heading::RUNNING, long)]
    diff: bool,

    /// How to report: text for people, or json: one JSON document on standard output, its
    /// schema in the README (format_version 1).
    #[arg(
        help_heading = flags::heading::RUNNING,
        long,
        value_name = "FORMAT",
        default_value = "text"
    )]
    format: FormatArg,

    /// Replace files that already exist in --out (each old file is kept as NAME.bak).
    #[arg(help_heading = flags::heading::RUNNING, long)]
    force: bool,

    /// Delete the answers `promsetup init` remembered (never the password), then exit.
    #[arg(help_heading = flags::heading::RUNNING, long)]
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

impl Args for SetupFlags {
    fn augment_args(command: clap::Command) -> clap::Command {
        FLAGS
            .iter()
            .fold(command, |command, flag| command.arg(argument(flag)))
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

impl clap::FromArgMatches for SetupFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Given::default();
        for flag in FLAGS {
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

/// The password input a command's own flags name.
fn password_source(stdin: bool, file: Option<PathBuf>) -> Option<PasswordSource> {
    if stdin {
        Some(PasswordSource::Stdin)
    } else {
        file.map(PasswordSource::File)
    }
}

impl Options {
    /// `promsetup [OPTIONS] init [OPTIONS]`: the options after `init` win, switches add up.
    fn then(self, after: Options) -> Options {
        let mut given = self.setup.0;
        flags::overlay(&mut given, &after.setup.0);
        let format = if after.format != FormatArg::Text {
            after.format
        } else {
            self.format
        };
        Options {
            non_interactive: self.non_interactive || after.non_interactive,
            setup: SetupFlags(given),
            config: after.config.or(self.config),
            check: self.check || after.check,
            diff: self.diff || after.diff,
            format,
            force: self.force || after.force,
            forget: self.forget || after.forget,
        }
    }
}

impl Cli {
    fn into_request(self) -> Request {
        let init = matches!(self.command, Some(Command::Init(_)));
        let (options, command) = match self.command {
            Some(Command::Init(args)) => (self.options.then(args.options), None),
            command => (self.options, command),
        };
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
        if self.version {
            return Request::Version;
        }
        if options.forget {
            return Request::Forget;
        }
        match command {
            Some(Command::Verify(args)) => {
                // The setup flags given before `verify` count too, as they always have.
                if args.domain.is_some() {
                    given.domain = args.domain;
                }
                if args.username.is_some() {
                    given.username = args.username;
                }
                let password = password_source(args.password_stdin, args.password_file)
                    .or(given.password.clone());
                Request::Verify(VerifyRequest {
                    bundle: BundleOptions {
                        dir: args.dir.or(args.out).or_else(|| given.out_dir.clone()),
                        password,
                        non_interactive: options.non_interactive,
                        show: Show {
                            format: match args.format {
                                FormatArg::Text => ReportFormat::Text,
                                FormatArg::Json => ReportFormat::Json,
                            },
                            ..show
                        },
                    },
                    url: args.url,
                    allow_cleartext_password: args.allow_cleartext_password,
                    connect: args.connect,
                    flags: given,
                })
            }
            Some(Command::Apply(args)) => {
                let password = password_source(args.password_stdin, args.password_file)
                    .or(given.password.clone());
                Request::Apply(ApplyRequest {
                    bundle: BundleOptions {
                        dir: args.dir.or_else(|| given.out_dir.clone()),
                        password,
                        non_interactive: true,
                        show: Show {
                            format: match args.format {
                                FormatArg::Text => ReportFormat::Text,
                                FormatArg::Json => ReportFormat::Json,
                            },
                            ..show
                        },
                    },
                    dry_run: args.dry_run,
                    restart_wait: std::time::Duration::from_secs(args.wait),
                })
            }
            Some(Command::User(args)) => Request::User(UserRequest {
                bundle: BundleOptions {
                    dir: args.dir.or(args.out).or_else(|| given.out_dir.clone()),
                    password: password_source(args.password_stdin, args.password_file)
                        .or(given.password.clone()),
                    non_interactive: options.non_interactive || args.non_interactive,
                    show,
                },
                bcrypt_cost: args.bcrypt_cost.or(given.bcrypt_cost),
                keep_backup: matches!(
                    args.action,
                    UserActionArg::Remove {
                        keep_backup: true,
                        ..
                    }
                ),
                action: match args.action {
                    UserActionArg::Add { name } => UserAction::Add(name),
                    UserActionArg::Remove { name, .. } => UserAction::Remove(name),
                    UserActionArg::List => UserAction::List,
                },
            }),
            Some(Command::Completions(args)) => Request::Completions(CompletionsRequest {
                script: generate::completions(args.shell),
            }),
            Some(Command::Man(args)) => Request::Man(ManRequest {
                out: args.out.or(given.out_dir),
                pages: generate::man_pages(),
            }),
            Some(Command::Ca(args)) => Request::Ca(CaRequest {
                ca_dir: args.ca_dir.or(given.ca_dir),
                force: args.force || given.force,
                action: match args.action {
                    CaActionArg::Show => CaAction::Show,
                    CaActionArg::Export { file } => CaAction::Export(file),
                    CaActionArg::Rotate => CaAction::Rotate,
                },
            }),
            Some(Command::Init(_)) | None => Request::Setup(SetupRequest {
                flags: given,
                config: options.config,
                show,
                non_interactive: options.non_interactive,
                init,
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
    fn version_answers_even_where_a_required_argument_is_missing() {
        for args in [
            &["promsetup", "--version"][..],
            &["promsetup", "-V"],
            &["promsetup", "user", "--version"],
            &["promsetup", "user", "add", "-V"],
            &[
                "promsetup",
                "verify",
                "--version",
                "--domain",
                "example.com",
            ],
        ] {
            assert!(
                matches!(try_parse_from(args), Ok(Request::Version)),
                "{args:?}"
            );
        }
        assert!(try_parse_from(["promsetup", "user", "add"]).is_err());
        // After `--` it is no flag (here a user name, which is refused on its own terms).
        assert!(!matches!(
            try_parse_from(["promsetup", "user", "add", "--", "--version"]),
            Ok(Request::Version)
        ));
        assert!(try_parse_from(["promsetup", "--version", "--domain", "a;b"]).is_err());
    }

    #[test]
    fn tls_is_a_flag_with_stable_names() {
        for name in ["self-signed", "local-ca", "own", "none"] {
            let request = setup_request(&["--tls", name]);
            assert_eq!(request.flags.tls.unwrap().as_str(), name);
        }
        assert!(try_parse_from(["promsetup", "--tls", "letsencrypt"]).is_err());
        assert!(try_parse_from(["promsetup", "--tls", "local-ca", "--no-tls"]).is_err());
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
}

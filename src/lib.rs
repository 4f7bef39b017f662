//! promsetup: puts Prometheus behind nginx with TLS, basic auth and a URL prefix.
//!
//! One direction, one owner per step (ARCHITECTURE.md has the map):
//! argv (`cli`) -> `model::request::Request` -> a command (`commands`) -> `model::given::Given`
//! (completed by `wizard` at a terminal) -> `model::setup::resolve` -> `Setup` ->
//! `bundle::plan::plan` -> `Plan` (files in memory) -> `write::apply` (the only writer) ->
//! `write::Report`, shown by `output`. Probes of the machine are `host`'s.
//!
//! This file only names the layers and hands a request to its command.

pub mod bundle;
pub mod cli;
pub mod commands;
pub mod console;
pub mod error;
pub mod host;
pub mod model;
pub mod output;
pub mod wizard;
pub mod write;

pub use console::Streams;
pub use error::{Failure, Outcome};

use model::request::Request;
use model::setup::HostFacts;
use wizard::prompter::Prompter;

/// Runs one request. `prompter` is the terminal when one is attached (`None`: no terminal).
pub fn run(
    request: Request,
    host: &HostFacts,
    streams: Streams,
    prompter: Option<&mut dyn Prompter>,
) -> Result<Outcome, Failure> {
    match request {
        Request::Setup(setup) => commands::setup::run(setup, host, streams, prompter),
        Request::Forget => commands::forget::run(streams.out),
        Request::Verify(verify) => commands::verify::run(verify, streams),
        Request::Apply(apply) => commands::apply::run(apply, streams),
        Request::User(user) => commands::user::run(user, streams, prompter),
        Request::Completions(completions) => commands::completions::run(completions, streams.out),
        Request::Man(man) => commands::man::run(man, streams.out),
        Request::Version => commands::version::run(streams.out),
        Request::Ca(ca) => commands::ca::run(ca, streams),
    }
}

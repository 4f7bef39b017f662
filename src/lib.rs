//! promsetup: puts Prometheus behind nginx with TLS, basic auth and a URL prefix.
//!
//! One direction, one owner per step:
//! argv (`cli`) -> `Given` (completed by `wizard` through `prompt` at a terminal) ->
//! `setup::resolve` -> `Setup` -> `plan::plan` -> `Plan` (files in
//! memory) -> `write::apply` (the only writer) -> `write::Report`, printed by `report`.
//! `run` wires the steps together; the binary only maps its result to an exit status.

pub mod answers;
pub mod cli;
pub mod credentials;
pub mod host;
pub mod nginx_target;
pub mod plan;
pub mod previous;
pub mod prompt;
pub mod provided_cert;
pub mod report;
pub mod secret;
pub mod setup;
pub mod system_crypt;
pub mod templates;
pub mod tls;
pub mod users;
pub mod values;
pub mod verify;
pub mod wizard;
pub mod write;

pub mod run;
pub use run::{Failure, Outcome, Streams, run};

//! The commands, each a thin flow over the layers below, like cargo's `ops`: `setup` (a run,
//! by the wizard or non-interactive), `forget`, `user` and `verify`.
//!
//! A command takes a plain request (`model::request`, built by `cli/`), talks through
//! `console::Streams` and ends in `error::Outcome` or `error::Failure`. Commands never import
//! each other; what two share lives below them.

pub mod apply;
pub mod ca;
pub mod completions;
pub mod forget;
pub mod man;
pub mod setup;
pub mod user;
pub mod verify;
pub mod version;

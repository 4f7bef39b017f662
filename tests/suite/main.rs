//! The test suite, one binary (like cargo's testsuite): the harness in `support` is compiled
//! once, and the modules run in parallel.
//!
//! Tests that need nginx, Prometheus, promtool, htpasswd or curl run whenever those programs are
//! installed; under `CI=true` a missing one fails the test instead of skipping it.

// Tests arrange files by hand; the clippy fence is for the crate's own code.
#![allow(clippy::disallowed_methods)]

mod support;

mod auth_matrix;
mod cli;
mod e2e;
mod e2e_auth;
mod e2e_hardening;
mod filesystem;
mod handoff;
mod hostile;
mod layouts;
mod property;
mod pty;
mod render;
mod rerun;
mod users;
mod verify;
mod wizard;

//! The test suite, one binary (like cargo's testsuite): the harness in `support` is compiled
//! once, and the modules run in parallel.
//!
//! Tests that need nginx, Prometheus, promtool, htpasswd or curl run whenever those programs are
//! installed; under `CI=true` a missing one fails the test instead of skipping it.

// Tests arrange files by hand; the clippy fence is for the crate's own code.
#![allow(clippy::disallowed_methods)]

mod apply;
mod apply_debian;
mod support;

mod acme;
mod ansible;
mod auth_matrix;
mod cli;
mod e2e;
mod e2e_auth;
mod e2e_hardening;
mod e2e_limits;
mod filesystem;
mod handoff;
mod hardening;
mod hostile;
mod layouts;
mod local_ca;
mod output_streams;
mod own_certificate;
mod packaging;
mod platforms;
mod property;
mod pty;
mod render;
mod rerun;
mod transaction;
mod users;
mod verify;
mod verify_browser;
mod verify_deployed;
mod verify_hardened;
mod wizard;

//! What the user asks for, as values that are valid by construction: the value types, the setup
//! flags' table, `Given` (what was said) and `Setup` (every value present and consistent, built
//! only by `setup::resolve`), the password and the nginx version gates.
//!
//! No I/O here: no files, no processes, no terminal. Facts about the machine arrive as
//! `setup::HostFacts`, so every rule is testable anywhere.

pub mod flags;
pub mod given;
pub mod local_ca;
pub mod nginx_layout;
pub mod password;
pub mod prometheus_service;
pub mod request;
pub mod setup;
pub mod target;
pub mod values;

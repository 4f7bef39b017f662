//! The bundle: its file names (`layout`), the files rendered in memory with their modes
//! (`plan`, from the Tera `templates`), the certificates (`cert`), the user lines of `.htpasswd`
//! and `web.yml` (`credentials`), and what an earlier run left in the folder (`existing`).
//!
//! It decides what each file holds. It must not write files (`write.rs` does), prompt or print.

pub mod acme;
pub mod ansible_role;
pub mod artifact;
pub mod cert;
pub mod compose;
pub mod credentials;
pub mod existing;
pub mod install;
pub mod kubernetes;
pub mod layout;
pub mod plan;
pub mod prometheus_handoff;
pub mod templates;

//! Certificates: the self-signed pair promsetup makes (`self_signed`), and the checks a
//! certificate the user provides must pass (`provided`).

pub mod local_ca;
pub mod provided;
pub mod self_signed;

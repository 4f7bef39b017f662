//! `promsetup verify`: checks a bundle folder. Being written (issue 6).

use crate::cli::{SetupArgs, VerifyArgs};
use crate::run::{Failure, Streams};

pub fn run(_args: &VerifyArgs, _options: &SetupArgs, _streams: Streams) -> Result<(), Failure> {
    Err(Failure::Usage("promsetup verify is not built yet".into()))
}

//! How long one bcrypt hash takes on this machine at a given cost: what nginx spends on every
//! request it checks, blocking its worker meanwhile (FACTS 2). Measured, not estimated, so a
//! warning quotes this machine's time.
//!
//! It only measures (one hash of a fixed, non-secret text) and must not decide what to say.

use std::time::{Duration, Instant};

use crate::model::values::BcryptCost;

/// The time of one bcrypt hash at `cost`, as nginx's `crypt()` would spend it.
pub fn one_hash(cost: BcryptCost) -> Duration {
    let started = Instant::now();
    // The crate's bcrypt is the same algorithm as libxcrypt's (within a few percent, README
    // bench); the text is no secret.
    let _hash = bcrypt::hash("promsetup timing", cost.get());
    started.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_higher_cost_takes_longer() {
        let low = one_hash(BcryptCost::new_const(4));
        let high = one_hash(BcryptCost::new_const(8));
        // Cost 8 is 16 times the work of cost 4: even on a busy machine well over twice the time.
        assert!(high > low * 2, "cost 4: {low:?}, cost 8: {high:?}");
    }
}

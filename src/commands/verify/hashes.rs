//! What checking a stored hash costs, so verify's work stays bounded on any `.htpasswd`: the
//! highest bcrypt cost it will compute (measured on this machine, once), and whether the
//! system's crypt() knows a hash's format, asked once per format with a cheap setting of that
//! format rather than the stored hash (whose cost may be anything). It must not report.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::bundle::credentials::bcrypt_cost;

/// What one password check may take here; the maximum cost is derived from it.
const HASH_BUDGET: Duration = Duration::from_secs(2);
/// A `$2y$04$` hash of "promsetup", for timing and as a format probe.
const COST_4_SAMPLE: &str = "$2y$04$s31xt7I3FJg0y1c1ST43seEUASkt8V2GXqNjOD/cTLKoKqHDuc3pm";

/// The highest bcrypt cost verify computes on this machine: each step doubles the time, and
/// cost 4 is timed here (best of three), so the cost whose hash takes about `HASH_BUDGET`.
pub(super) fn max_bcrypt_cost() -> u32 {
    static MAX: OnceLock<u32> = OnceLock::new();
    *MAX.get_or_init(|| {
        let once = (0..3)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(bcrypt::verify("promsetup", COST_4_SAMPLE).ok());
                start.elapsed()
            })
            .min()
            .unwrap_or(Duration::from_millis(1))
            .max(Duration::from_micros(50));
        let doublings = (HASH_BUDGET.as_secs_f64() / once.as_secs_f64())
            .log2()
            .floor();
        (4 + doublings.max(0.0) as u32).clamp(4, 31)
    })
}

/// About how long one bcrypt hash at `cost` takes here, in words ("3 s", "9 years").
pub(super) fn bcrypt_time(cost: u32) -> String {
    let at_max = HASH_BUDGET.as_secs_f64();
    let seconds = at_max * 2f64.powi(cost as i32 - max_bcrypt_cost() as i32);
    match seconds {
        s if s < 1.0 => format!("{} ms", (s * 1000.0).round()),
        s if s < 3600.0 => format!("{} s", s.round()),
        s if s < 86400.0 * 365.0 => format!("{} hours", (s / 3600.0).round()),
        s => format!("{} years", (s / (86400.0 * 365.0)).round()),
    }
}

/// A setting in the format of `hash` whose work is small: bcrypt at cost 4, SHA-crypt without
/// `rounds=`. Other formats carry no cost field that verify knows, and are asked as they are.
fn cheap_probe(hash: &str) -> String {
    if bcrypt_cost(hash).is_some() {
        // `$2y$NN$` + 22 characters of salt: keep the variant, drop the cost.
        let variant = &hash[..4];
        return format!("{variant}{}", &COST_4_SAMPLE[4..29]);
    }
    for id in ["$5$", "$6$"] {
        if let Some(rest) = hash.strip_prefix(id) {
            let rest = rest
                .strip_prefix("rounds=")
                .and_then(|r| r.split_once('$'))
                .map_or(rest, |(_, r)| r);
            return format!("{id}{rest}");
        }
    }
    hash.to_string()
}

/// The key a format is remembered by: `$2y$`, `$6$`, `$y$j9T$`, or "DES".
fn format_key(hash: &str) -> String {
    match hash.strip_prefix('$').and_then(|rest| rest.find('$')) {
        Some(end)
            if bcrypt_cost(hash).is_some()
                || hash.starts_with("$5$")
                || hash.starts_with("$6$") =>
        {
            hash[..end + 2].to_string()
        }
        Some(_) => hash
            .rsplit_once('$')
            .map_or(hash, |(head, _)| head)
            .to_string(),
        None => "DES".into(),
    }
}

/// Whether this system's crypt knows the format of `hash`, asked once per format.
pub(super) fn system_knows(hash: &str) -> bool {
    static KNOWN: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    let key = format_key(hash);
    if let Some(answer) = known.lock().ok().and_then(|k| k.get(&key).copied()) {
        return answer;
    }
    let answer = crate::host::system_crypt::knows(&cheap_probe(hash));
    if let Ok(mut known) = known.lock() {
        known.insert(key, answer);
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_a_cost_4_hash_and_probes_are_cheap_settings_of_the_same_format() {
        assert!(bcrypt::verify("promsetup", COST_4_SAMPLE).unwrap());
        let probe = cheap_probe("$2b$31$abcdefghijklmnopqrstuv0123456789012345678901234567890");
        assert!(probe.starts_with("$2b$04$"), "{probe}");
        assert_eq!(cheap_probe("$6$rounds=999999999$salt$hash"), "$6$salt$hash");
        assert!(system_knows(
            "$2y$31$abcdefghijklmnopqrstuv0123456789012345678901234567890"
        ));
        let max = max_bcrypt_cost();
        assert!((4..=31).contains(&max), "{max}");
        assert!(max < 31, "2 s cannot cover cost 31 on any machine: {max}");
    }
}

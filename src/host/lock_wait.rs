//! How long a command waits for another one to finish with a bundle folder:
//! `PROMSETUP_LOCK_WAIT` (seconds, fractions allowed), read from the environment.
//!
//! It only reads the variable; the lock itself and its default wait are the writer's
//! (`write::lock`). It must not decide anything else.

use std::time::Duration;

pub const VARIABLE: &str = "PROMSETUP_LOCK_WAIT";

/// The wait the environment asks for, `None` when it asks for none; an error names the rule.
pub fn from_environment() -> Result<Option<Duration>, String> {
    let Some(text) = std::env::var_os(VARIABLE) else {
        return Ok(None);
    };
    let text = text.to_string_lossy();
    parse(&text).map(Some).ok_or_else(|| {
        format!("{VARIABLE} must be a number of seconds from 0 to 86400, not {text:?}")
    })
}

fn parse(text: &str) -> Option<Duration> {
    let seconds: f64 = text.trim().parse().ok()?;
    (seconds.is_finite() && (0.0..=86_400.0).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_read_and_nonsense_is_refused() {
        assert_eq!(parse("2.5"), Some(Duration::from_millis(2500)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
        for bad in ["", "-1", "NaN", "inf", "1e9", "5s"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}

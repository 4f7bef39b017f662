//! The Prometheus hand-off as files: Prometheus (kingpin) reads flags from a file given as
//! `@/etc/prometheus/prometheus.flags` (FACTS 9), so each service manager needs one small
//! change: Debian's `ARGS` in `/etc/default/prometheus` (merged with the ARGS already there), a
//! systemd drop-in that resets and replaces `ExecStart`, or a container's `command:`.
//!
//! Pure text functions: what the host has comes in as text (`host::prometheus_service` reads
//! it); nothing here reads or writes files. A flag given twice is an error to Prometheus
//! ("flag 'web.listen-address' cannot be repeated"), so the flags promsetup sets are taken out
//! of what was there before `@FILE` is added.

pub use crate::model::prometheus_service::{PrometheusService, Route};

/// The command a unit without one runs (the upstream tarball's paths).
pub const DEFAULT_EXEC_START: &str = "/usr/bin/prometheus \
    --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/var/lib/prometheus/";

/// The flag's name: `--web.listen-address=X` and `--web.listen-address` give
/// `web.listen-address`.
fn flag_name(token: &str) -> Option<&str> {
    let name = token.strip_prefix("--")?;
    Some(name.split_once('=').map_or(name, |(name, _)| name))
}

/// `tokens` without the flags named in `ours` (with a separate value after `--name value`),
/// and without an earlier `@.../NAME` of the same flags file.
fn without_ours(tokens: &[&str], ours: &[String], flags_file: &str) -> Vec<String> {
    let names: Vec<&str> = ours.iter().filter_map(|f| flag_name(f)).collect();
    let file_name = flags_file.rsplit('/').next().unwrap_or(flags_file);
    let mut kept = Vec::new();
    let mut skip_value = false;
    for token in tokens {
        if skip_value {
            skip_value = false;
            if !token.starts_with('-') {
                continue;
            }
        }
        if token.starts_with('@') && token.ends_with(&format!("/{file_name}")) {
            continue;
        }
        if let Some(name) = flag_name(token)
            && names.contains(&name)
        {
            // `--name value`: the value is the next token (switches have none).
            skip_value = !token.contains('=') && !name.starts_with("web.enable-");
            continue;
        }
        kept.push(token.to_string());
    }
    kept
}

/// `/etc/default/prometheus` with `@FLAGS_FILE` added to its `ARGS` and promsetup's flags taken
/// out of them; every other line as it was. An absent file gives one `ARGS` line.
pub fn merged_default_file(existing: Option<&str>, flags_file: &str, ours: &[String]) -> String {
    let existing = existing.unwrap_or("");
    let lines: Vec<&str> = existing.lines().collect();
    let args_line = lines
        .iter()
        .rposition(|line| line.trim_start().starts_with("ARGS="));
    let old_args = args_line
        .map(|index| {
            let line = lines[index].trim();
            let value = line.trim_start_matches("ARGS=");
            value.trim_matches(['"', '\'']).to_string()
        })
        .unwrap_or_default();
    let tokens: Vec<&str> = old_args.split_whitespace().collect();
    let mut args = without_ours(&tokens, ours, flags_file);
    args.push(format!("@{flags_file}"));
    let new_line = format!("ARGS=\"{}\"", args.join(" "));
    let mut lines: Vec<String> = lines.into_iter().map(str::to_string).collect();
    match args_line {
        Some(index) => lines[index] = new_line,
        None => lines.push(new_line),
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// A systemd drop-in (`prometheus.service.d/promsetup.conf`) that resets `ExecStart` and runs
/// the unit's own command (or the usual one) with `@FLAGS_FILE`.
pub fn systemd_drop_in(exec_start: Option<&str>, flags_file: &str, ours: &[String]) -> String {
    let command = exec_start.unwrap_or(DEFAULT_EXEC_START);
    let tokens: Vec<&str> = command.split_whitespace().collect();
    let mut kept = without_ours(&tokens, ours, flags_file);
    kept.push(format!("@{flags_file}"));
    format!(
        "# Written by promsetup: Prometheus reads its web flags from {flags_file}.\n\
         [Service]\n\
         # An empty ExecStart= clears the unit's own before the new one.\n\
         ExecStart=\n\
         ExecStart={}\n",
        kept.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Vec<String> {
        vec![
            "--web.external-url=https://example.com/prometheus/".into(),
            "--web.route-prefix=/".into(),
            "--web.listen-address=127.0.0.1:9090".into(),
        ]
    }

    const FLAGS: &str = "/etc/prometheus/prometheus.flags";

    #[test]
    fn debian_args_keep_their_own_flags_and_lose_the_ones_promsetup_sets() {
        let existing = "# Set the command-line arguments to pass to the server.\n\
                        ARGS=\"--storage.tsdb.retention.time=30d --web.listen-address :9090 \
                        --web.external-url=http://old/\"\n";
        let merged = merged_default_file(Some(existing), FLAGS, &ours());
        assert_eq!(
            merged,
            "# Set the command-line arguments to pass to the server.\n\
             ARGS=\"--storage.tsdb.retention.time=30d @/etc/prometheus/prometheus.flags\"\n"
        );
        // Merging again changes nothing: the flags file is not added twice.
        assert_eq!(merged_default_file(Some(&merged), FLAGS, &ours()), merged);
        assert_eq!(
            merged_default_file(None, FLAGS, &ours()),
            "ARGS=\"@/etc/prometheus/prometheus.flags\"\n"
        );
    }

    #[test]
    fn a_drop_in_resets_exec_start_and_adds_the_flags_file() {
        let drop_in = systemd_drop_in(
            Some("/usr/local/bin/prometheus --config.file=/p.yml --web.route-prefix=/x"),
            FLAGS,
            &ours(),
        );
        assert!(drop_in.contains("\nExecStart=\nExecStart=/usr/local/bin/prometheus --config.file=/p.yml @/etc/prometheus/prometheus.flags\n"), "{drop_in}");
    }
}

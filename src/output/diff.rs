//! `--check` and `--diff`: how the plan compares with the folder, in words and as a unified diff,
//! with bcrypt hashes reduced to scheme, cost and fingerprint and keys not shown at all.
//!
//! It reads the comparison the writer made and returns text; it must not show a secret.

use crate::bundle::layout::PASSWORD_FILE;
use crate::bundle::plan::Plan;
use crate::output::report::sha256_hex;
use crate::write::{Change, Comparison};

/// `--check` in words: one line per file.
pub fn check_summary(comparisons: &[Comparison]) -> String {
    let mut text = String::new();
    for comparison in comparisons {
        let what = match comparison.change {
            Change::New => "would be created",
            Change::Differs => "would be updated",
            Change::Same => "up to date",
        };
        text.push_str(&format!("  {}  {what}\n", comparison.path.display()));
    }
    let changes = comparisons
        .iter()
        .filter(|c| c.change != Change::Same)
        .count();
    text.push_str(&if changes == 0 {
        "Up to date: a run would change nothing.\n".to_string()
    } else {
        format!("A run would change {changes} file(s).\n")
    });
    text
}

/// Files whose contents are never shown, not even masked.
fn is_secret(name: &str) -> bool {
    name.ends_with(".key") || name.ends_with(".password") || name == PASSWORD_FILE
}

/// Hides what must not be shown in a diff: bcrypt hashes keep their scheme and cost only;
/// PEM blocks become one line (a certificate by its SHA-256, a key by nothing).
pub fn mask(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pem: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some((kind, body)) = &mut pem {
            if line.starts_with("-----END ") {
                if kind.contains("PRIVATE KEY") {
                    out.push_str(&format!("<{kind} hidden>\n"));
                } else {
                    out.push_str(&format!(
                        "<{kind} sha256:{}>\n",
                        &sha256_hex(body.as_bytes())[..16]
                    ));
                }
                pem = None;
            } else {
                body.push_str(line);
            }
            continue;
        }
        if let Some(kind) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        {
            pem = Some((kind.to_string(), String::new()));
            continue;
        }
        out.push_str(&mask_hashes(line));
        out.push('\n');
    }
    out
}

/// `$2y$05$` followed by 53 characters of salt and hash becomes `$2y$05$<hash 1a2b3c4d>`: the
/// scheme and cost stay readable, and a short fingerprint shows whether the hash changed.
fn mask_hashes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = ["$2y$", "$2a$", "$2b$"]
        .iter()
        .filter_map(|marker| rest.find(marker))
        .min()
    {
        let head = &rest[start..];
        let hash_len = 7 + 53;
        let is_hash = head.len() >= hash_len
            && head.as_bytes()[4].is_ascii_digit()
            && head.as_bytes()[5].is_ascii_digit()
            && head.as_bytes()[6] == b'$';
        if is_hash {
            out.push_str(&rest[..start]);
            out.push_str(&head[..7]);
            out.push_str(&format!(
                "<hash {}>",
                &sha256_hex(&head.as_bytes()[..hash_len])[..8]
            ));
            rest = &head[hash_len..];
        } else {
            out.push_str(&rest[..start + 1]);
            rest = &rest[start + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// `--diff`: a unified diff of each text file that would change, masked.
pub fn diff(plan: &Plan, comparisons: &[Comparison]) -> String {
    let mut text = String::new();
    for (artifact, comparison) in plan.artifacts.iter().zip(comparisons) {
        if comparison.change == Change::Same {
            continue;
        }
        let path = comparison.path.display().to_string();
        if is_secret(&artifact.file_name) {
            text.push_str(&format!(
                "--- {path}\n+++ {path}\n(secret: contents not shown)\n"
            ));
            continue;
        }
        let before = comparison
            .before
            .as_deref()
            .map(|bytes| mask(&String::from_utf8_lossy(bytes)))
            .unwrap_or_default();
        let after = mask(&String::from_utf8_lossy(&artifact.contents));
        if before == after {
            text.push_str(&format!(
                "--- {path}\n+++ {path}\n(only hidden parts or the file mode differ)\n"
            ));
            continue;
        }
        let old_name = if comparison.before.is_some() {
            path.clone()
        } else {
            "/dev/null".into()
        };
        text.push_str(
            &similar::TextDiff::from_lines(&before, &after)
                .unified_diff()
                .context_radius(3)
                .header(&old_name, &path)
                .to_string(),
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_hides_hashes_and_keys_but_keeps_the_rest() {
        let hash = format!("$2y$05${}", "a".repeat(53));
        let text = format!(
            "admin:{hash}\n-----BEGIN PRIVATE KEY-----\nSECRETBYTES\n-----END PRIVATE KEY-----\n\
             -----BEGIN CERTIFICATE-----\nPUBLIC\n-----END CERTIFICATE-----\nkeep me $2y$ here\n"
        );
        let masked = mask(&text);
        assert!(masked.starts_with("admin:$2y$05$<hash "), "{masked}");
        assert_eq!(
            masked.lines().next().unwrap().len(),
            "admin:$2y$05$<hash 12345678>".len()
        );
        assert!(!masked.contains("SECRETBYTES") && !masked.contains(&"a".repeat(53)));
        assert!(masked.contains("<PRIVATE KEY hidden>"));
        assert!(masked.contains("<CERTIFICATE sha256:"));
        assert!(masked.contains("keep me $2y$ here"));
    }
}

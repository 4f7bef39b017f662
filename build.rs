//! Records the git commit promsetup is built from, for `promsetup --version`: `git rev-parse
//! --short HEAD` when the source is a git checkout of this crate and git runs, else "unknown"
//! (a source tarball, `cargo install` from a registry, no git installed).
//!
//! It only reads; it must not write anything but cargo's instructions on standard output.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Only this crate's own repository: not one that happens to contain the source (a vendored
    // copy inside another project's checkout).
    let own_checkout = git(&["rev-parse", "--show-toplevel"]).is_some_and(|top| {
        Path::new(&top).canonicalize().ok()
            == Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().ok()
    });
    let commit = own_checkout
        .then(|| git(&["rev-parse", "--short", "HEAD"]))
        .flatten();
    if commit.is_some() {
        // A new commit or checkout changes HEAD or the branch it points at (worktrees included:
        // --git-path finds the right files).
        let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
        watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
        for name in watched {
            if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
                // A missing file (no packed-refs yet) would make cargo rerun this every build.
                if !path.exists() {
                    continue;
                }
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    println!(
        "cargo:rustc-env=PROMSETUP_GIT_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
}

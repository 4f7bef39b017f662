//! The `--tls acme` steps (`bundle::acme`) as shell commands to paste, in the next steps.
//!
//! Text only: it must not run them (`promsetup apply` may) nor show a secret.

use crate::bundle::acme::{Phase, Step};
use crate::output::command::shell_quote;

/// The steps as commands, grouped by phase; a step with `unless_exists` runs only when that
/// path is missing.
pub fn text(steps: &[Step]) -> String {
    if steps.is_empty() {
        return String::new();
    }
    let mut text = String::from(
        "\nThe certificate comes from the ACME CA through certbot (http-01 through nginx's \
         port-80 server, which must be reachable from the internet at the domain). As root:\n",
    );
    for (phase, heading) in [
        (
            Phase::BeforeNginx,
            "  After installing the files, before starting or reloading nginx:",
        ),
        (
            Phase::AfterNginx,
            "  Once nginx runs with this nginx.conf (the first time only; skipped once certbot \
             has a renewal configuration):",
        ),
    ] {
        text.push_str(&format!("\n{heading}\n\n"));
        for step in steps.iter().filter(|step| step.phase == phase) {
            let command = step
                .argv
                .iter()
                .map(|word| shell_quote(word))
                .collect::<Vec<_>>()
                .join(" ");
            text.push_str(&format!("    # {}\n", step.purpose));
            match &step.unless_exists {
                Some(path) => {
                    text.push_str(&format!("    test -e {} || {command}\n", shell_quote(path)))
                }
                None => text.push_str(&format!("    {command}\n")),
            }
        }
    }
    text.push_str(
        "\n  Renewal: Debian's certbot.timer runs `certbot renew` twice a day, and the saved hook \
         reloads nginx.\n  Try it: certbot renew --dry-run\n",
    );
    text
}

//! The bundle's file names and the fixed names inside it: one place, so the plan that writes the
//! files, the re-run that reads them back, `promsetup user` and `verify` agree on every name.
//!
//! Names only: no paths on the server (those come from the setup), no contents.

pub const NGINX_CONF_FILE: &str = "nginx.conf";
/// `--nginx-layout site`: this service's server blocks, for the host's folder of sites.
pub const NGINX_SITE_FILE: &str = "promsetup-prometheus.conf";
/// `--nginx-layout snippet`: the location blocks, included inside an existing server.
pub const NGINX_SNIPPET_LOCATIONS_FILE: &str = "promsetup-prometheus-locations.conf";
/// `--nginx-layout snippet`: their http-level part (upstream, map).
pub const NGINX_SNIPPET_HTTP_FILE: &str = "promsetup-prometheus-http.conf";
/// The folder of `conf_dir` the snippet of locations goes in (Debian ships it).
pub const NGINX_SNIPPETS_FOLDER: &str = "snippets";
/// The name of the `upstream` block that keeps connections to Prometheus open.
pub const NGINX_UPSTREAM_NAME: &str = "promsetup_prometheus";
/// The site's own logs, in `--log-dir`: `promsetup-DOMAIN.access.log` and `.error.log`.
pub const NGINX_LOG_STEM: &str = "promsetup-";
pub const HTPASSWD_FILE: &str = ".htpasswd";
pub const FLAGS_FILE: &str = "prometheus.flags";
/// `/etc/default/prometheus` with `@.../prometheus.flags` merged into its ARGS (Debian/Ubuntu).
pub const PROMETHEUS_DEFAULT_FILE: &str = "prometheus.default";
/// A systemd drop-in for `prometheus.service.d/` (units without `/etc/default/prometheus`).
pub const PROMETHEUS_DROP_IN_FILE: &str = "prometheus.service.d-promsetup.conf";
pub const WEB_CONFIG_FILE: &str = "web.yml";
/// The password of the account Prometheus's own self-scrape uses when Prometheus checks passwords.
pub const SELF_SCRAPE_PASSWORD_FILE: &str = "self-scrape.password";
/// The scrape job to put in prometheus.yml in place of the default self-scrape.
pub const SCRAPE_SNIPPET_FILE: &str = "prometheus-scrape.yml";
/// The account Prometheus's self-scrape signs in as: not the person's, whose password then
/// never sits in a file on the server.
pub const SELF_SCRAPE_USER: &str = "prometheus-self-scrape";
/// Where a generated password is kept for the user, readable only by them.
pub const PASSWORD_FILE: &str = "password.txt";

/// A copy of the local CA's certificate (`--tls local-ca`), for clients to import.
pub const LOCAL_CA_CERT_FILE: &str = "promsetup-ca.crt";

/// The answers file saved next to the bundle, so the next run needs no questions.
/// The install plan a `--target nginx` run records for `promsetup apply`.
pub const INSTALL_PLAN_FILE: &str = "install-plan.json";
pub const ANSWERS_FILE: &str = "promsetup.toml";

/// `--target kubernetes`: the manifests and the Prometheus resource's settings.
pub const KUBE_INGRESS_FILE: &str = "ingress.yaml";
pub const KUBE_AUTH_SECRET_FILE: &str = "auth-secret.yaml";
pub const KUBE_TLS_SECRET_FILE: &str = "tls-secret.yaml";
pub const KUBE_PROMETHEUS_PATCH_FILE: &str = "prometheus-patch.yaml";
pub const KUBE_CHART_VALUES_FILE: &str = "kube-prometheus-stack-values.yaml";
pub const KUBE_KUSTOMIZATION_FILE: &str = "kustomization.yaml";

/// `--target compose`: the services, mounting the bundle's files.
pub const COMPOSE_FILE: &str = "compose.yaml";

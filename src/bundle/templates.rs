//! The Tera templates in `templates/`, embedded in the binary so it runs anywhere.
//!
//! Templates are raw text: nothing is escaped, and an undefined variable is an error. What keeps a
//! value from adding a directive is its type (`values.rs`), not this module. It must not build
//! contexts or decide content; `plan.rs` does.

use serde::Serialize;
use tera::{Context, Tera};

pub const NGINX_CONF: &str = "nginx.conf";
pub const NGINX_SITE: &str = "nginx-site.conf";
pub const NGINX_SNIPPET_LOCATIONS: &str = "nginx-snippet-locations.conf";
pub const NGINX_SNIPPET_HTTP: &str = "nginx-snippet-http.conf";
pub const PROMETHEUS_FLAGS: &str = "prometheus.flags";
pub const NEXT_STEPS: &str = "next-steps.txt";
pub const WEB_CONFIG: &str = "web.yml";
pub const SCRAPE_SNIPPET: &str = "prometheus-scrape.yml";
pub const KUBE_INGRESS: &str = "kubernetes/ingress.yaml";
pub const KUBE_SECRET: &str = "kubernetes/secret.yaml";
pub const KUBE_PROMETHEUS_PATCH: &str = "kubernetes/prometheus-patch.yaml";
pub const KUBE_CHART_VALUES: &str = "kubernetes/kube-prometheus-stack-values.yaml";
pub const KUBE_KUSTOMIZATION: &str = "kubernetes/kustomization.yaml";
pub const COMPOSE: &str = "compose.yaml";
pub const KUBE_NEXT_STEPS: &str = "kubernetes/next-steps.txt";
pub const COMPOSE_NEXT_STEPS: &str = "compose-next-steps.txt";
pub const ROLE_VARS: &str = "prometheus-role-vars.yml";

const EMBEDDED: &[(&str, &str)] = &[
    // The pieces the nginx layouts share: each layout's file includes them.
    (
        "nginx/header",
        include_str!("../../templates/nginx/header.tera"),
    ),
    (
        "nginx/http",
        include_str!("../../templates/nginx/http.tera"),
    ),
    (
        "nginx/servers",
        include_str!("../../templates/nginx/servers.tera"),
    ),
    (
        "nginx/locations",
        include_str!("../../templates/nginx/locations.tera"),
    ),
    (
        "nginx/refused",
        include_str!("../../templates/nginx/refused.tera"),
    ),
    (NGINX_CONF, include_str!("../../templates/nginx.conf.tera")),
    (
        NGINX_SITE,
        include_str!("../../templates/nginx-site.conf.tera"),
    ),
    (
        NGINX_SNIPPET_LOCATIONS,
        include_str!("../../templates/nginx-snippet-locations.conf.tera"),
    ),
    (
        NGINX_SNIPPET_HTTP,
        include_str!("../../templates/nginx-snippet-http.conf.tera"),
    ),
    (
        PROMETHEUS_FLAGS,
        include_str!("../../templates/prometheus.flags.tera"),
    ),
    (
        NEXT_STEPS,
        include_str!("../../templates/next-steps.txt.tera"),
    ),
    (WEB_CONFIG, include_str!("../../templates/web.yml.tera")),
    (
        SCRAPE_SNIPPET,
        include_str!("../../templates/prometheus-scrape.yml.tera"),
    ),
    (
        KUBE_INGRESS,
        include_str!("../../templates/kubernetes/ingress.yaml.tera"),
    ),
    (
        KUBE_SECRET,
        include_str!("../../templates/kubernetes/secret.yaml.tera"),
    ),
    (
        KUBE_PROMETHEUS_PATCH,
        include_str!("../../templates/kubernetes/prometheus-patch.yaml.tera"),
    ),
    (
        KUBE_CHART_VALUES,
        include_str!("../../templates/kubernetes/kube-prometheus-stack-values.yaml.tera"),
    ),
    (
        KUBE_KUSTOMIZATION,
        include_str!("../../templates/kubernetes/kustomization.yaml.tera"),
    ),
    (COMPOSE, include_str!("../../templates/compose.yaml.tera")),
    (
        KUBE_NEXT_STEPS,
        include_str!("../../templates/kubernetes/next-steps.txt.tera"),
    ),
    (
        COMPOSE_NEXT_STEPS,
        include_str!("../../templates/compose-next-steps.txt.tera"),
    ),
    (
        ROLE_VARS,
        include_str!("../../templates/prometheus-role-vars.yml.tera"),
    ),
];

#[derive(Debug, thiserror::Error)]
#[error("cannot render the template {name}: {detail}")]
pub struct RenderError {
    name: String,
    detail: String,
}

pub struct Templates {
    tera: Tera,
}

impl Templates {
    pub fn embedded() -> Templates {
        let mut tera = Tera::default();
        tera.add_raw_templates(EMBEDDED.iter().copied())
            .expect("the embedded templates parse (checked by the tests)");
        // Escaping is for HTML; these are configuration files.
        tera.autoescape_on(vec![]);
        Templates { tera }
    }

    pub fn render(&self, name: &str, values: &impl Serialize) -> Result<String, RenderError> {
        let failed = |error: tera::Error| RenderError {
            name: name.to_string(),
            detail: chain(&error),
        };
        let context = Context::from_serialize(values).map_err(failed)?;
        self.tera.render(name, &context).map_err(failed)
    }
}

/// Tera's top-level error says only "failed to render"; the cause is in its source chain.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_templates_parse() {
        let templates = Templates::embedded();
        let names: Vec<_> = templates.tera.get_template_names().collect();
        assert_eq!(names.len(), EMBEDDED.len());
    }

    #[test]
    fn an_undefined_variable_is_an_error_not_an_empty_string() {
        #[derive(Serialize)]
        struct Nothing {}
        let err = Templates::embedded()
            .render(PROMETHEUS_FLAGS, &Nothing {})
            .unwrap_err();
        assert!(err.to_string().contains("flags"), "{err}");
    }
}

//! What promsetup learned about the machine it runs on (`HostFacts`), as `host::probe` hands
//! it to `resolve`: used for defaults only. No I/O here: the probes are `host`'s, and tests give
//! fixed answers.

use std::path::Path;
use std::sync::Arc;

use crate::model::nginx_layout::SiteFolder;
use crate::model::prometheus_service::PrometheusService;
use crate::model::target::NginxTarget;
use crate::model::values::SystemUser;

/// The installed nginx's versions, asked when first needed: `host::nginx` answers it from
/// `nginx -V` on a thread of its own, tests from a fixed value.
#[derive(Clone)]
pub struct NginxAnswer(Arc<dyn Fn() -> Option<NginxTarget> + Send + Sync>);

impl NginxAnswer {
    pub fn new(answer: impl Fn() -> Option<NginxTarget> + Send + Sync + 'static) -> NginxAnswer {
        NginxAnswer(Arc::new(answer))
    }

    /// An answer known already (tests, or a host without nginx).
    pub fn known(target: Option<NginxTarget>) -> NginxAnswer {
        NginxAnswer::new(move || target)
    }

    /// The answer, waiting for it the first time.
    pub fn get(&self) -> Option<NginxTarget> {
        (self.0)()
    }
}

impl std::fmt::Debug for NginxAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NginxAnswer(nginx -V)")
    }
}

/// What promsetup learned about the machine it runs on, used only for defaults.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// `nginx -V`, when nginx is installed here (asked on its own thread; this waits for it).
    pub nginx: NginxAnswer,
    /// The first of the usual nginx worker accounts that exists here.
    pub nginx_user: Option<SystemUser>,
    /// The primary group of an account here, if it exists (nginx's `user NAME GROUP`).
    pub primary_group: fn(&str) -> Option<String>,
    /// The folder of sites that the main `nginx.conf` in a configuration folder (`--conf-dir`)
    /// includes, if any (`host::nginx_layout` reads it).
    pub site_folder: fn(&Path) -> Option<SiteFolder>,
    /// How Prometheus runs here (`host::prometheus_service` reads it).
    pub prometheus_service: fn() -> PrometheusService,
}

impl HostFacts {
    /// A host that tells nothing: every default is the built-in one.
    pub fn unknown() -> HostFacts {
        HostFacts::with_nginx(None)
    }

    /// A host whose nginx answers `target` (`None`: no nginx), and nothing else.
    pub fn with_nginx(target: Option<NginxTarget>) -> HostFacts {
        HostFacts {
            nginx: NginxAnswer::known(target),
            nginx_user: None,
            primary_group: |_| None,
            site_folder: |_| None,
            prometheus_service: PrometheusService::default,
        }
    }
}

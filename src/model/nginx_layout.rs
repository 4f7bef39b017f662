//! How promsetup's nginx configuration drops into a host: the layout asked for
//! (`--nginx-layout full|site|snippet`, stable names) and the folder of per-site files that a
//! host's main configuration includes (`sites-enabled/`, `conf.d/`, `http.d/`).
//!
//! Names and rules only: the host probe that finds the folder is `host::nginx_layout`, and the
//! files each layout writes are `bundle::plan`'s. No I/O here.

use crate::model::values::Invalid;

/// What nginx configuration the bundle holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NginxLayout {
    /// A whole `nginx.conf` for `nginx -c`: for hosts without an nginx configuration.
    Full,
    /// Only this service's `server` blocks and their `http`-level part, for the folder of sites
    /// the host's main configuration includes.
    Site,
    /// `location` blocks to include inside an existing TLS `server` for the domain, plus the
    /// `http`-level part in a file of its own.
    Snippet,
}

impl NginxLayout {
    /// The name used by `--nginx-layout` and answers files (a stable interface).
    pub fn as_str(self) -> &'static str {
        match self {
            NginxLayout::Full => "full",
            NginxLayout::Site => "site",
            NginxLayout::Snippet => "snippet",
        }
    }
}

impl std::str::FromStr for NginxLayout {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<NginxLayout, Invalid> {
        [NginxLayout::Full, NginxLayout::Site, NginxLayout::Snippet]
            .into_iter()
            .find(|layout| layout.as_str() == input)
            .ok_or_else(|| {
                Invalid(format!(
                    "'{}' is not one of full, site, snippet",
                    input.escape_debug()
                ))
            })
    }
}

/// The folder of per-site files a main `nginx.conf` includes at `http` level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteFolder {
    /// Debian and Ubuntu: the file goes in `sites-available/`, enabled by a link in
    /// `sites-enabled/` (which `nginx.conf` includes).
    SitesEnabled,
    /// Red Hat, Fedora, the official nginx packages and images: `conf.d/*.conf`.
    ConfD,
    /// Alpine: `http.d/*.conf`.
    HttpD,
}

impl SiteFolder {
    /// Where the site's file is written, relative to nginx's configuration folder.
    pub fn file_folder(self) -> &'static str {
        match self {
            SiteFolder::SitesEnabled => "sites-available",
            SiteFolder::ConfD => "conf.d",
            SiteFolder::HttpD => "http.d",
        }
    }

    /// The folder nginx reads, when it differs from where the file is written (a link there
    /// enables the site).
    pub fn link_folder(self) -> Option<&'static str> {
        match self {
            SiteFolder::SitesEnabled => Some("sites-enabled"),
            SiteFolder::ConfD | SiteFolder::HttpD => None,
        }
    }

    /// The folder as an `include` line of a main configuration names it, for matching.
    pub fn included_folder(self) -> &'static str {
        self.link_folder().unwrap_or(self.file_folder())
    }
}

/// The layout a run writes: the one asked for, else `Site` when the host's main configuration
/// includes a folder of sites, else `Full`. A site goes in the folder found, else `conf.d/`.
pub fn resolve_layout(
    asked: Option<NginxLayout>,
    included: Option<SiteFolder>,
) -> (NginxLayout, SiteFolder) {
    let layout = asked.unwrap_or(if included.is_some() {
        NginxLayout::Site
    } else {
        NginxLayout::Full
    });
    (layout, included.unwrap_or(SiteFolder::ConfD))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_others_are_refused() {
        for layout in [NginxLayout::Full, NginxLayout::Site, NginxLayout::Snippet] {
            assert_eq!(layout.as_str().parse::<NginxLayout>().unwrap(), layout);
        }
        let err = "Site".parse::<NginxLayout>().unwrap_err();
        assert!(err.0.contains("full, site, snippet"), "{err}");
    }

    #[test]
    fn a_host_that_includes_sites_gets_a_site_unless_asked_otherwise() {
        assert_eq!(
            resolve_layout(None, Some(SiteFolder::SitesEnabled)),
            (NginxLayout::Site, SiteFolder::SitesEnabled)
        );
        assert_eq!(
            resolve_layout(None, None),
            (NginxLayout::Full, SiteFolder::ConfD)
        );
        assert_eq!(
            resolve_layout(Some(NginxLayout::Full), Some(SiteFolder::HttpD)).0,
            NginxLayout::Full
        );
    }
}

//! Which folder of sites a host's main nginx configuration includes (`sites-enabled/`,
//! `conf.d/`, `http.d/`), read from the `include` lines of `DIR/nginx.conf`: the fact that makes
//! `site` the default layout.
//!
//! It reads that one file and must not write anything, nor run nginx (`nginx -T` would need
//! root and the whole configuration to be valid).

use std::path::Path;

use crate::model::nginx_layout::SiteFolder;

/// The folder of sites `conf_dir/nginx.conf` includes, preferring Debian's `sites-enabled/`
/// (whose `nginx.conf` includes `conf.d/` too); `None` when there is no such file or include.
pub fn site_folder(conf_dir: &Path) -> Option<SiteFolder> {
    let text = std::fs::read_to_string(conf_dir.join("nginx.conf")).ok()?;
    included_site_folder(&text)
}

/// The folder of sites among the `include` directives of a main configuration's text.
pub fn included_site_folder(conf: &str) -> Option<SiteFolder> {
    let includes: Vec<&str> = conf
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter_map(|line| line.strip_prefix("include"))
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .map(|rest| {
            rest.trim()
                .trim_end_matches(';')
                .trim()
                .trim_matches(['"', '\''])
        })
        .collect();
    [
        SiteFolder::SitesEnabled,
        SiteFolder::ConfD,
        SiteFolder::HttpD,
    ]
    .into_iter()
    .find(|folder| {
        includes.iter().any(|path| {
            let parent = path.rsplit_once('/').map_or("", |(parent, _)| parent);
            parent == folder.included_folder()
                || parent.ends_with(&format!("/{}", folder.included_folder()))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_red_hat_and_alpine_main_configurations() {
        let debian = "http {\n\tinclude /etc/nginx/conf.d/*.conf;\n\tinclude /etc/nginx/sites-enabled/*;\n}\n";
        assert_eq!(included_site_folder(debian), Some(SiteFolder::SitesEnabled));
        let red_hat = "http {\n    include /etc/nginx/conf.d/*.conf;\n}\n";
        assert_eq!(included_site_folder(red_hat), Some(SiteFolder::ConfD));
        let alpine = "http {\n\tinclude http.d/*.conf;\n}\n";
        assert_eq!(included_site_folder(alpine), Some(SiteFolder::HttpD));
        let commented =
            "http {\n    # include /etc/nginx/sites-enabled/*;\n    include mime.types;\n}\n";
        assert_eq!(included_site_folder(commented), None);
    }
}

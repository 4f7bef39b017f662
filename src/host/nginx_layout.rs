//! Which folder of sites a host's main nginx configuration includes (`sites-enabled/`,
//! `conf.d/`, `http.d/`), read from the `include` lines of `DIR/nginx.conf`: the fact that makes
//! `site` the default layout.
//!
//! Also finds the files of a configuration folder that `include` a given file (the snippet
//! layout's locations, which the host's own server for the domain must include).
//!
//! It reads files and must not write anything, nor run nginx (`nginx -T` would need root and the
//! whole configuration to be valid).

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
    let includes: Vec<&str> = first_arguments(conf, "include").collect();
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

/// How much of a configuration folder the include search reads: enough for any host's nginx
/// configuration, bounded so a folder of logs or a huge file cannot stall the run.
const SEARCH_FILE_LIMIT: usize = 2_000;
const SEARCH_BYTES_LIMIT: u64 = 1024 * 1024;
const SEARCH_DEPTH: usize = 4;

/// The files under `conf_dir` (links followed, as nginx follows them) with an `include` of
/// exactly `path` outside comments, sorted.
pub fn files_including(conf_dir: &Path, path: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut queue = vec![(conf_dir.to_path_buf(), 0)];
    let mut seen = 0;
    while let Some((dir, depth)) = queue.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > SEARCH_FILE_LIMIT {
                break;
            }
            let candidate = entry.path();
            let Ok(meta) = std::fs::metadata(&candidate) else {
                continue;
            };
            if meta.is_dir() && depth < SEARCH_DEPTH {
                queue.push((candidate, depth + 1));
            } else if meta.is_file()
                && meta.len() <= SEARCH_BYTES_LIMIT
                && std::fs::read(&candidate)
                    .is_ok_and(|bytes| includes(&String::from_utf8_lossy(&bytes), path))
            {
                found.push(candidate);
            }
        }
    }
    found.sort();
    found
}

/// Whether a configuration's text has `include PATH;` outside comments.
fn includes(conf: &str, path: &str) -> bool {
    first_arguments(conf, "include").any(|included| included == path)
}

/// The first argument (unquoted) of each `name` directive in a configuration's text, outside
/// comments: a reading good enough for `include` and `ssl_certificate` lines, not a parser.
pub fn first_arguments<'a>(conf: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> {
    conf.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(|line| line.split([';', '{', '}']))
        .filter_map(move |statement| {
            let mut words = statement.split_whitespace();
            (words.next() == Some(name))
                .then(|| words.next())
                .flatten()
                .map(|argument| argument.trim_matches(['"', '\'']))
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

    #[test]
    fn an_include_counts_outside_comments_only() {
        let path = "/etc/nginx/snippets/p.conf";
        assert!(includes(
            "server {\n    include /etc/nginx/snippets/p.conf;\n}",
            path
        ));
        assert!(includes(
            "  include \"/etc/nginx/snippets/p.conf\"; # ours",
            path
        ));
        assert!(!includes("    # include /etc/nginx/snippets/p.conf;", path));
        assert!(!includes(
            "    include /etc/nginx/snippets/p.conf.bak;",
            path
        ));
        assert!(!includes("    included /etc/nginx/snippets/p.conf;", path));
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // tests arrange files by hand
    fn the_files_that_include_a_path_are_found_under_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let sites = dir.path().join("sites-available");
        std::fs::create_dir(&sites).unwrap();
        std::fs::write(sites.join("a"), "server { include /x/p.conf; }\n").unwrap();
        std::fs::write(sites.join("b"), "server { }\n").unwrap();
        assert_eq!(
            files_including(dir.path(), "/x/p.conf"),
            vec![sites.join("a")]
        );
        assert!(files_including(dir.path(), "/x/q.conf").is_empty());
    }
}

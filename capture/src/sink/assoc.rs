//! Which page session an exchange belongs to, from its `Referer`.
//!
//! The proxy knows every document and worker script it injected. A request
//! is attributed, in this order, to:
//! 1. the session whose document URL equals the referrer (same-origin
//!    subresources carry the full document URL);
//! 2. the page that loaded the worker script the referrer names (a worker's
//!    own fetches carry the worker script URL);
//! 3. the most recent page session of the referrer's origin (cross-origin
//!    requests under the default referrer policy carry only the origin;
//!    fonts and images loaded from a stylesheet carry the stylesheet URL).
//!
//! Anything else is unattributed and goes to the proxy's own file.

use std::collections::HashMap;

/// `scheme://host[:port]/path?query` with the scheme and host lower-cased,
/// the default port and any fragment dropped; `None` for a non-absolute URL.
pub fn normalize(url: &str) -> Option<String> {
    let url = url.split('#').next().unwrap_or_default().trim();
    let uri: http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let port = match (uri.port_u16(), scheme.as_str()) {
        (Some(80), "http") | (Some(443), "https") | (None, _) => String::new(),
        (Some(p), _) => format!(":{p}"),
    };
    let pq = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let pq = if pq.is_empty() { "/" } else { pq };
    Some(format!("{scheme}://{host}{port}{pq}"))
}

/// The origin (`scheme://host[:port]`) of a normalized URL.
pub fn origin_of(normalized: &str) -> Option<&str> {
    let after = normalized.find("://")? + 3;
    let end = normalized[after..]
        .find('/')
        .map_or(normalized.len(), |i| after + i);
    Some(&normalized[..end])
}

/// The attribution tables.
#[derive(Debug, Default)]
pub struct Attribution {
    by_url: HashMap<String, String>,
    by_origin: HashMap<String, String>,
    workers: HashMap<String, String>,
}

impl Attribution {
    /// Records that the document at `url` is session `sid` (newest wins).
    pub fn page(&mut self, url: &str, sid: &str) {
        if let Some(n) = normalize(url) {
            if let Some(o) = origin_of(&n) {
                self.by_origin.insert(o.to_owned(), sid.to_owned());
            }
            self.by_url.insert(n, sid.to_owned());
        }
    }

    /// Records that the worker script at `url` belongs to page `sid`.
    pub fn worker(&mut self, url: &str, sid: &str) {
        if let Some(n) = normalize(url) {
            self.workers.insert(n, sid.to_owned());
        }
    }

    /// The session a request with this `Referer` belongs to.
    pub fn lookup(&self, referer: &str) -> Option<&str> {
        let n = normalize(referer)?;
        if let Some(s) = self.by_url.get(&n).or_else(|| self.workers.get(&n)) {
            return Some(s);
        }
        self.by_origin.get(origin_of(&n)?).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(
            normalize("HTTPS://App.Test:443/a?b=1#frag").as_deref(),
            Some("https://app.test/a?b=1")
        );
        assert_eq!(
            normalize("http://a.test:8080").as_deref(),
            Some("http://a.test:8080/")
        );
        assert_eq!(normalize("/relative"), None);
        assert_eq!(
            origin_of("https://a.test:8443/x/y"),
            Some("https://a.test:8443")
        );
        assert_eq!(origin_of("https://a.test"), Some("https://a.test"));
    }

    #[test]
    fn lookup_order() {
        let mut a = Attribution::default();
        a.page("https://app.test/index.html", "p1");
        a.page("https://app.test/other.html", "p2");
        a.worker("https://app.test/w.js", "p1");
        assert_eq!(
            a.lookup("https://app.test/index.html"),
            Some("p1"),
            "exact document"
        );
        assert_eq!(
            a.lookup("https://app.test/w.js"),
            Some("p1"),
            "worker script"
        );
        assert_eq!(
            a.lookup("https://app.test/"),
            Some("p2"),
            "origin-only referrer: newest page"
        );
        assert_eq!(a.lookup("https://app.test/style.css"), Some("p2"));
        assert_eq!(a.lookup("https://elsewhere.test/"), None);
        a.page("https://app.test/index.html", "p3");
        assert_eq!(
            a.lookup("https://app.test/index.html"),
            Some("p3"),
            "a reload is a new session"
        );
    }
}

//! Page identity: which page a session loaded and in which browser, for
//! sessions the audit did not label (e.g. recorded by hand through the
//! proxy): the page is the origin + path of the session URL, the browser
//! comes from the user agent.

/// The page of a session URL: `scheme://host[:port]/path`, query and
/// fragment dropped (`https://a.test/e2e/x.html?n=2#f` →
/// `https://a.test/e2e/x.html`). A URL without a path gets `/`; a string
/// that is not an absolute URL is returned without its query and fragment.
pub fn page_of(url: &str) -> String {
    let bare = url.split(['?', '#']).next().unwrap_or_default();
    match bare.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() => {
            let (host, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, "/"),
            };
            // credentials are not part of the origin
            let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
            format!(
                "{}://{}{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase(),
                path
            )
        }
        _ => bare.to_owned(),
    }
}

/// The browser named by a `User-Agent` string, as (name, version), the name
/// spelled as `session.browser.name` is: `edge` (`Edg/`, `EdgA/`, `EdgiOS/`,
/// `Edge/`), `firefox` (`Firefox/`, `FxiOS/`), `chromium` (`Chromium/`, or
/// `HeadlessChrome/`, what headless Chromium sends), `chrome` (`Chrome/`,
/// `CriOS/`), `safari` (`Safari/` without any of those; version from
/// `Version/`). The tokens are tried in that order, because Chromium-based
/// browsers also send `Chrome/` and `Safari/`, and Chrome sends `Safari/`.
/// `None` when no token matches.
pub fn parse_user_agent(ua: &str) -> Option<(String, String)> {
    let version_of = |token: &str| -> Option<String> {
        let at = ua.find(token)? + token.len();
        let v: String = ua[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        Some(v)
    };
    const TOKENS: &[(&str, &str)] = &[
        ("Edg/", "edge"),
        ("EdgA/", "edge"),
        ("EdgiOS/", "edge"),
        ("Edge/", "edge"),
        ("Firefox/", "firefox"),
        ("FxiOS/", "firefox"),
        ("Chromium/", "chromium"),
        ("HeadlessChrome/", "chromium"),
        ("Chrome/", "chrome"),
        ("CriOS/", "chrome"),
    ];
    for (token, name) in TOKENS {
        if let Some(v) = version_of(token) {
            return Some(((*name).to_owned(), v));
        }
    }
    if ua.contains("Safari/") {
        return Some(("safari".into(), version_of("Version/").unwrap_or_default()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_of_the_main_browsers() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "chrome", "131.0.0.0"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "chromium", "156.0.0.0"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/120.0.6099.0 Chrome/120.0.6099.0 Safari/537.36", "chromium", "120.0.6099.0"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "edge", "131.0.2903.86"),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "firefox", "128.0"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", "safari", "17.4"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", "chrome", "124.0.6367.88"),
        ];
        for (ua, browser, version) in cases {
            assert_eq!(
                parse_user_agent(ua),
                Some((browser.into(), version.into())),
                "{ua}"
            );
        }
        assert_eq!(parse_user_agent("curl/8.5.0"), None);
        assert_eq!(parse_user_agent(""), None);
    }

    #[test]
    fn page_is_origin_and_path() {
        assert_eq!(
            page_of("https://Fidelity.webinfer.test:35495/e2e/nsfwjs.html?backend=wasm&n=20#x"),
            "https://fidelity.webinfer.test:35495/e2e/nsfwjs.html"
        );
        assert_eq!(page_of("http://a.test"), "http://a.test/");
        assert_eq!(page_of("https://u:p@a.test/x"), "https://a.test/x");
        assert_eq!(page_of("blob:abc?x"), "blob:abc");
        assert_eq!(page_of(""), "");
    }
}

//! The audit allow-list: which hosts the proxy may reach during an audit.
//!
//! A browser left alone talks to its vendor (Chromium: `clients2.google.com`,
//! `update.googleapis.com`, `accounts.google.com`,
//! `optimizationguide-pa.googleapis.com`, …; Firefox:
//! `detectportal.firefox.com`, `firefox.settings.services.mozilla.com`, …),
//! even with background networking turned off. An audit must measure the site
//! only, so [`AllowList`] (a proxy [`Handler`]) answers every request whose
//! host is not allowed with a local `403` — it is never forwarded — and counts
//! it per host.
//!
//! **The rule.** A request is allowed when its host (lower case, port
//! ignored) is
//! 1. an *audited host* (the host of an audited URL), or already allowed; or
//! 2. named by the request's `Origin` or `Referer` header whose host is
//!    allowed (a page of an audited site loading from its CDN); or
//! 3. fetched as a *subresource* — `Sec-Fetch-Dest` is one of
//!    [`SUBRESOURCE_DESTS`] (script, style, image, font, worker, iframe, …) —
//!    which only documents issue, and the only documents in an audited browser
//!    are the audited pages and what they navigated to (covers pages with
//!    `Referrer-Policy: no-referrer`).
//!
//! Hosts allowed by rule 2 or 3 join the allowed set for the rest of the run
//! (so their own follow-up requests pass too), with the reason recorded.
//! Browser background calls carry no `Origin`/`Referer` of an allowed host and
//! no subresource destination, so they are refused.

use std::collections::BTreeMap;
use std::sync::Mutex;

use http::{HeaderMap, Request, Response, StatusCode};
use webinfer_proxy::{empty, full, Body, Exchange, Handler, RequestContext, RequestOutcome};

/// `Sec-Fetch-Dest` values that only a document's subresource loads carry.
pub const SUBRESOURCE_DESTS: &[&str] = &[
    "audio",
    "audioworklet",
    "embed",
    "font",
    "frame",
    "iframe",
    "image",
    "manifest",
    "object",
    "paintworklet",
    "script",
    "serviceworker",
    "sharedworker",
    "style",
    "track",
    "video",
    "worker",
    "xslt",
];

/// Why a host is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The host of an audited URL.
    Audited,
    /// Named by the `Origin` of a request from this allowed host.
    Origin(String),
    /// Named by the `Referer` of a request from this allowed host.
    Referer(String),
    /// First seen as a subresource (`Sec-Fetch-Dest` of this value).
    Subresource(String),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Audited => write!(f, "audited"),
            Reason::Origin(h) => write!(f, "Origin {h}"),
            Reason::Referer(h) => write!(f, "Referer {h}"),
            Reason::Subresource(d) => write!(f, "subresource ({d})"),
        }
    }
}

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward it; the host is allowed for this reason.
    Allow(Reason),
    /// Refuse it locally.
    Refuse,
}

#[derive(Debug, Default)]
struct State {
    allowed: BTreeMap<String, Reason>,
    refused: BTreeMap<String, u64>,
    forwarded: BTreeMap<String, u64>,
    failed: BTreeMap<String, (u64, String)>,
}

/// The dynamic allow-list handler; see the module documentation for the rule.
#[derive(Debug, Default)]
pub struct AllowList {
    state: Mutex<State>,
}

/// The host of an `Origin`/`Referer` value, lower case.
fn header_host(headers: &HeaderMap, name: &str) -> Option<String> {
    let v = headers.get(name)?.to_str().ok()?;
    let uri: http::Uri = v.parse().ok()?;
    uri.host()
        .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
}

impl AllowList {
    /// An allow-list of the given audited hosts.
    pub fn new<I, S>(audited_hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list = AllowList::default();
        {
            let mut st = list.lock();
            for h in audited_hosts {
                st.allowed
                    .insert(h.as_ref().to_ascii_lowercase(), Reason::Audited);
            }
        }
        list
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Decides about a request to `host` with these request headers, adding
    /// the host to the allowed set when rule 2 or 3 admits it, and counting
    /// refusals.
    pub fn decide(&self, host: &str, headers: &HeaderMap) -> Decision {
        let host = host.to_ascii_lowercase();
        let mut st = self.lock();
        if let Some(r) = st.allowed.get(&host) {
            return Decision::Allow(r.clone());
        }
        let reason = if let Some(o) =
            header_host(headers, "origin").filter(|o| st.allowed.contains_key(o))
        {
            Some(Reason::Origin(o))
        } else if let Some(r) =
            header_host(headers, "referer").filter(|r| st.allowed.contains_key(r))
        {
            Some(Reason::Referer(r))
        } else {
            headers
                .get("sec-fetch-dest")
                .and_then(|v| v.to_str().ok())
                .map(|d| d.trim().to_ascii_lowercase())
                .filter(|d| SUBRESOURCE_DESTS.contains(&d.as_str()))
                .map(Reason::Subresource)
        };
        match reason {
            Some(r) => {
                tracing::info!(%host, reason = %r, "audit allow-list: host joins");
                st.allowed.insert(host, r.clone());
                Decision::Allow(r)
            }
            None => {
                *st.refused.entry(host).or_insert(0) += 1;
                Decision::Refuse
            }
        }
    }

    /// Every allowed host with why it was allowed.
    pub fn allowed(&self) -> BTreeMap<String, Reason> {
        self.lock().allowed.clone()
    }

    /// Refused requests per host.
    pub fn refused(&self) -> BTreeMap<String, u64> {
        self.lock().refused.clone()
    }

    /// Requests forwarded upstream per host (from the proxy's exchange
    /// summaries), to prove that refused hosts were never contacted.
    pub fn forwarded(&self) -> BTreeMap<String, u64> {
        self.lock().forwarded.clone()
    }

    /// Exchanges that failed or were cut short, per host: how many and the
    /// last error (so a page that never loaded says why).
    pub fn failed(&self) -> BTreeMap<String, (u64, String)> {
        self.lock().failed.clone()
    }
}

impl Handler for AllowList {
    type Ctx = ();

    fn new_ctx(&self) {}

    async fn on_request(
        &self,
        info: &RequestContext,
        _ctx: &mut (),
        req: Request<Body>,
    ) -> RequestOutcome {
        match self.decide(&info.host, &info.request_headers) {
            Decision::Allow(_) => RequestOutcome::Forward(req),
            Decision::Refuse => {
                tracing::debug!(host = %info.host, url = %info.uri, "audit allow-list: refused");
                let body = format!(
                    "webinfer audit: {} is neither an audited site nor loaded by one; \
                     the request was not forwarded.\n",
                    info.host
                );
                let resp = Response::builder()
                    .status(StatusCode::FORBIDDEN)
                    .header("content-type", "text/plain; charset=utf-8")
                    .body(full(body))
                    .unwrap_or_else(|_| Response::new(empty()));
                RequestOutcome::Respond(resp)
            }
        }
    }

    fn on_complete(&self, info: &RequestContext, _ctx: &mut (), ex: &Exchange) {
        let mut st = self.lock();
        if ex.forwarded {
            *st.forwarded.entry(info.host.clone()).or_insert(0) += 1;
        }
        if let Some(e) = &ex.error {
            let f = st
                .failed
                .entry(info.host.clone())
                .or_insert((0, String::new()));
            f.0 += 1;
            f.1.clone_from(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        m
    }

    #[test]
    fn audited_hosts_and_what_they_load_are_allowed() {
        let a = AllowList::new(["Demo.Webinfer.Test"]);
        assert_eq!(
            a.decide("demo.webinfer.test", &h(&[])),
            Decision::Allow(Reason::Audited)
        );
        // A CDN named by the page's Referer joins, then passes on its own.
        let cdn = a.decide(
            "cdn.example",
            &h(&[("referer", "https://demo.webinfer.test:8443/a?b")]),
        );
        assert_eq!(
            cdn,
            Decision::Allow(Reason::Referer("demo.webinfer.test".into()))
        );
        assert_eq!(
            a.decide("cdn.example", &h(&[])),
            Decision::Allow(Reason::Referer("demo.webinfer.test".into()))
        );
        // CORS fetch from the CDN's own script (Origin = the page).
        let api = a.decide("api.example", &h(&[("origin", "https://cdn.example")]));
        assert_eq!(api, Decision::Allow(Reason::Origin("cdn.example".into())));
        // no-referrer page loading a script.
        let s = a.decide("static.example", &h(&[("sec-fetch-dest", "script")]));
        assert_eq!(s, Decision::Allow(Reason::Subresource("script".into())));
        assert!(a.refused().is_empty());
        assert_eq!(a.allowed().len(), 4);
    }

    #[test]
    fn background_calls_are_refused_and_counted() {
        let a = AllowList::new(["demo.webinfer.test"]);
        let bg = [
            (
                "clients2.google.com",
                h(&[("sec-fetch-site", "none"), ("sec-fetch-dest", "empty")]),
            ),
            ("update.googleapis.com", h(&[])),
            (
                "accounts.google.com",
                h(&[("origin", "https://www.google.com")]),
            ),
            (
                "detectportal.firefox.com",
                h(&[("referer", "https://elsewhere.test/")]),
            ),
            ("clients2.google.com", h(&[("sec-fetch-dest", "document")])),
        ];
        for (host, headers) in &bg {
            assert_eq!(a.decide(host, headers), Decision::Refuse, "{host}");
        }
        let r = a.refused();
        assert_eq!(r["clients2.google.com"], 2);
        assert_eq!(r["update.googleapis.com"], 1);
        assert_eq!(r.len(), 4);
        // Refusal does not make a host allowed later.
        assert_eq!(a.decide("update.googleapis.com", &h(&[])), Decision::Refuse);
        assert!(!a.allowed().contains_key("update.googleapis.com"));
    }

    #[test]
    fn malformed_headers_do_not_allow() {
        let a = AllowList::new(["site.test"]);
        let bad = h(&[("referer", "not a url at all"), ("origin", "null")]);
        assert_eq!(a.decide("x.test", &bad), Decision::Refuse);
    }
}

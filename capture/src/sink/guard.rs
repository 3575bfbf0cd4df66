//! Who may write which records (issue 18, items 1 and 4).
//!
//! The sink keeps a [`Registry`] of the session ids it issued (in memory
//! only; no I/O happens under its lock):
//! - **Issued:** the proxy issues one sid per document or worker it injects
//!   ([`crate::sink::TraceSink::open_session`]), bound to that document's
//!   origin. A page record is stored only for a sid this run issued, or one
//!   whose session file the traces folder already held when the sink started
//!   (a page loaded before a proxy restart keeps posting), or a **derived**
//!   sid `<issued>-w<8 hex digits>` (what the hook gives a worker that
//!   inherited its page's config): at most [`MAX_DERIVED`] per issued sid,
//!   each bound to its page's origin. Anything else is refused as unknown, so
//!   a page cannot create session files by inventing ids.
//! - **Own origin:** a record is stored only when the request went to the
//!   origin its sid was issued to (the hook posts to its own origin's
//!   endpoint); when the browser sends `Sec-Fetch-Site`, it must be
//!   `same-origin` (or `none`), and an `Origin` header must name the
//!   request's own origin ([`check_headers`]), so another site cannot post
//!   into a page's session even if it learned the sid.
//! - **Own writer:** a page's record must not carry `by` (only the proxy and
//!   `webinfer audit` write records with a `by`) and must not be of a kind
//!   only the proxy writes ([`PROXY_ONLY_KINDS`]).
//! - The registry holds at most [`Registry::new`]'s `max_sessions` sids
//!   (the file budget: every session has a file).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use http::HeaderMap;
use webinfer_format::Record;

use super::assoc::{self, Attribution};
use super::batch;
use super::rate::RateLimiter;

/// Most derived sids (`<issued>-w<hex>`) accepted per issued sid.
pub const MAX_DERIVED: u32 = 64;
/// Kinds only the proxy writes; a page posting one is refused.
pub const PROXY_ONLY_KINDS: &[&str] = &["net"];

/// Why a page record was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The sid was not issued by this proxy (or to another origin).
    Unknown(String),
    /// The record claims another writer (`by`) or a proxy-only kind.
    Forged(String),
    /// The session budget is spent: no new (derived) session can be made,
    /// and an unknown sid may be one the proxy could not register.
    Budget(String),
}

/// One known session.
#[derive(Debug)]
pub struct Session {
    /// Normalized origin (`scheme://host[:port]`) the sid was issued to;
    /// `None` for a file found at start-up without the proxy's `session`
    /// record (any origin may post).
    pub origin: Option<String>,
    /// The proxy's Unix ms at injection (the `ts` origin of its records).
    pub time_origin: f64,
    /// Next `seq` of the proxy's own records in this session.
    pub proxy_seq: u64,
    /// Derived sids accepted under this one (`None` for a derived sid).
    derived: Option<u32>,
}

/// The origin (normalized) of an absolute URL.
pub fn origin_of_url(url: &str) -> Option<String> {
    let n = assoc::normalize(url)?;
    assoc::origin_of(&n).map(str::to_owned)
}

/// Checks the browser's own statement of who sends the request:
/// `Sec-Fetch-Site` must be `same-origin` or `none` when present, and an
/// `Origin` header must equal `target` (the request's own origin).
pub fn check_headers(headers: &HeaderMap, target: &str) -> Result<(), String> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("(not text)");
        if !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none") {
            return Err(format!(
                "Sec-Fetch-Site: {site}: the trace endpoint takes records only from a page's own origin"
            ));
        }
    }
    if let Some(o) = headers.get(http::header::ORIGIN) {
        let o = o.to_str().unwrap_or("(not text)");
        let same = origin_of_url(&format!("{o}/")).is_some_and(|n| n == target);
        if !same {
            return Err(format!(
                "Origin {o} is not this endpoint's origin {target}: the trace endpoint takes records only from a page's own origin"
            ));
        }
    }
    Ok(())
}

/// The issued sessions, the attribution tables and the rate windows.
#[derive(Debug)]
pub struct Registry {
    sessions: HashMap<String, Session>,
    /// Page/worker URL → session, for the `net` records.
    pub attribution: Attribution,
    /// The sessions' rate windows (kept under the registry's lock, so a
    /// batch is admitted and charged at once).
    pub rate: RateLimiter,
    max_sessions: usize,
}

/// Reads the first line (at most 64 KiB) of a trace file.
fn first_line(path: &Path) -> Option<Record> {
    let f = std::fs::File::open(path).ok()?;
    let mut line = String::new();
    BufReader::new(f.take(64 * 1024))
        .read_line(&mut line)
        .ok()?;
    Record::parse(serde_json::from_str(&line).ok()?).ok()
}

impl Registry {
    /// An empty registry holding at most `max_sessions` sessions.
    pub fn new(max_sessions: usize) -> Self {
        Registry {
            sessions: HashMap::new(),
            attribution: Attribution::default(),
            rate: RateLimiter::default(),
            max_sessions,
        }
    }

    /// Registers the sessions whose files `dir` already holds (from an
    /// earlier run of the proxy on the same folder and label): their origin
    /// comes from the proxy's `session` record on the first line. Returns how
    /// many were registered.
    pub fn adopt_existing(&mut self, dir: &Path, run_start_ms: f64) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        let mut n = 0;
        for e in entries.flatten() {
            if self.sessions.len() >= self.max_sessions {
                tracing::warn!(
                    "trace folder {} holds more session files than the file budget: only {} are accepted",
                    dir.display(),
                    self.max_sessions
                );
                break;
            }
            let name = e.file_name();
            let Some(sid) = name.to_str().and_then(|s| s.strip_suffix(".jsonl")) else {
                continue;
            };
            if !batch::is_safe_sid(sid) {
                continue;
            }
            let first = first_line(&e.path());
            let proxy_session = first.as_ref().filter(|r| {
                r.kind() == "session" && r.get("by").and_then(|b| b.as_str()) == Some("proxy")
            });
            let origin = proxy_session
                .and_then(|r| r.get("url")?.as_str())
                .and_then(origin_of_url);
            let time_origin = proxy_session
                .and_then(|r| r.get("time_origin")?.as_f64())
                .unwrap_or(run_start_ms);
            self.sessions.insert(
                sid.to_owned(),
                Session {
                    origin,
                    time_origin,
                    proxy_seq: 0,
                    derived: Some(0),
                },
            );
            n += 1;
        }
        n
    }

    /// Issues `sid` to a document or worker at `url`; `false` when the
    /// registry is full (the file budget is spent).
    pub fn issue(&mut self, sid: &str, url: &str, time_origin: f64) -> bool {
        if self.sessions.len() >= self.max_sessions && !self.sessions.contains_key(sid) {
            return false;
        }
        self.rate.forget(sid);
        self.sessions.insert(
            sid.to_owned(),
            Session {
                origin: origin_of_url(url),
                time_origin,
                proxy_seq: 0,
                derived: Some(0),
            },
        );
        true
    }

    /// The session `sid`, or the one made for the proxy's own file.
    pub fn session_mut(&mut self, sid: &str) -> Option<&mut Session> {
        self.sessions.get_mut(sid)
    }

    /// Registers the run's own session (the `_proxy` file); not counted
    /// against the budget.
    pub fn add_run_session(&mut self, sid: &str, time_origin: f64) {
        self.sessions.insert(
            sid.to_owned(),
            Session {
                origin: Some(String::new()),
                time_origin,
                proxy_seq: 0,
                derived: None,
            },
        );
        self.max_sessions += 1;
    }

    /// Whether `sid` is a session this proxy issued (or derived from one) for
    /// pages of `target`: what a model upload must name.
    pub fn is_issued_to(&self, sid: &str, target: &str) -> bool {
        self.sessions
            .get(sid)
            .is_some_and(|s| s.origin.as_deref().is_none_or(|o| o == target))
    }

    /// Whether a page record may be stored: its sid is known (or a derived
    /// sid, registered now) and bound to `target`, and it claims no other
    /// writer.
    pub fn admit(&mut self, rec: &Record, target: &str) -> Result<(), Refusal> {
        if let Some(by) = rec.get("by") {
            return Err(Refusal::Forged(format!(
                "`by` ({by}) is written by the proxy and webinfer audit only; a page's records carry none"
            )));
        }
        if PROXY_ONLY_KINDS.contains(&rec.kind()) {
            return Err(Refusal::Forged(format!(
                "kind {:?} is written by the proxy only",
                rec.kind()
            )));
        }
        let sid = rec.sid();
        if let Some(s) = self.sessions.get(sid) {
            return match &s.origin {
                Some(o) if o != target => Err(Refusal::Unknown(format!(
                    "sid {sid:?} was issued to another origin than {target}"
                ))),
                _ => Ok(()),
            };
        }
        if self.sessions.len() >= self.max_sessions {
            return Err(Refusal::Budget(format!(
                "sid {sid:?} is not registered and the session budget ({} per run, --trace-max-files) is spent",
                self.max_sessions
            )));
        }
        let unknown = || {
            Refusal::Unknown(format!(
                "sid {sid:?} was not issued by this proxy (sids come from the injected hook's config)"
            ))
        };
        // A derived sid: `<issued>-w` and 8 lower-case hex digits.
        let (base, hex) = sid.rsplit_once("-w").ok_or_else(unknown)?;
        if hex.len() != 8
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(unknown());
        }
        let Some(parent) = self.sessions.get_mut(base) else {
            return Err(unknown());
        };
        let Some(count) = parent.derived.as_mut() else {
            return Err(unknown());
        };
        if *count >= MAX_DERIVED {
            return Err(Refusal::Unknown(format!(
                "sid {sid:?}: {base:?} already has {MAX_DERIVED} worker sids"
            )));
        }
        if parent.origin.as_deref().is_some_and(|o| o != target) {
            return Err(Refusal::Unknown(format!(
                "sid {sid:?} was issued to another origin than {target}"
            )));
        }
        *count += 1;
        let s = Session {
            origin: parent.origin.clone(),
            time_origin: parent.time_origin,
            proxy_seq: 0,
            derived: None,
        };
        self.sessions.insert(sid.to_owned(), s);
        Ok(())
    }

    /// Sessions known.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is known.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(v: serde_json::Value) -> Record {
        Record::parse(v).unwrap()
    }

    #[test]
    fn only_issued_and_derived_sids_of_the_same_origin_pass() {
        let mut r = Registry::new(100);
        assert!(r.issue("0123456789abcdef", "https://app.test:8443/x?y", 0.0));
        let t = "https://app.test:8443";
        let ok =
            |sid: &str| rec(serde_json::json!({"v":1,"sid":sid,"seq":0,"ts":0,"kind":"infer"}));
        assert_eq!(r.admit(&ok("0123456789abcdef"), t), Ok(()));
        assert!(matches!(
            r.admit(&ok("0123456789abcdef"), "https://evil.test"),
            Err(Refusal::Unknown(_))
        ));
        assert!(matches!(
            r.admit(&ok("made-up"), t),
            Err(Refusal::Unknown(_))
        ));
        assert_eq!(r.admit(&ok("0123456789abcdef-w0a1b2c3d"), t), Ok(()));
        // Not derived from a derived one, nor with the wrong shape.
        assert!(r
            .admit(&ok("0123456789abcdef-w0a1b2c3d-w00000000"), t)
            .is_err());
        assert!(r.admit(&ok("0123456789abcdef-wXYZ"), t).is_err());
        for i in 1..MAX_DERIVED {
            assert_eq!(
                r.admit(&ok(&format!("0123456789abcdef-w{i:08x}")), t),
                Ok(())
            );
        }
        assert!(r.admit(&ok("0123456789abcdef-wffffffff"), t).is_err());
        assert_eq!(r.len(), 1 + MAX_DERIVED as usize);
    }

    #[test]
    fn forged_writers_and_kinds_are_refused() {
        let mut r = Registry::new(10);
        r.issue("s1", "https://a.test/", 0.0);
        let forged = [
            serde_json::json!({"v":1,"sid":"s1","seq":0,"ts":0,"kind":"session","by":"proxy"}),
            serde_json::json!({"v":1,"sid":"s1","seq":0,"ts":0,"kind":"mem","by":"audit"}),
            serde_json::json!({"v":1,"sid":"s1","seq":0,"ts":0,"kind":"net"}),
        ];
        for v in forged {
            assert!(matches!(
                r.admit(&rec(v), "https://a.test"),
                Err(Refusal::Forged(_))
            ));
        }
        let own =
            serde_json::json!({"v":1,"sid":"s1","seq":0,"ts":0,"kind":"session","source":"page"});
        assert_eq!(r.admit(&rec(own), "https://a.test"), Ok(()));
    }

    #[test]
    fn headers_must_name_the_own_origin() {
        let mut h = HeaderMap::new();
        assert!(check_headers(&h, "https://a.test").is_ok());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        h.insert("origin", "https://A.test:443".parse().unwrap());
        assert!(check_headers(&h, "https://a.test").is_ok());
        h.insert("origin", "https://evil.test".parse().unwrap());
        assert!(check_headers(&h, "https://a.test").is_err());
        h.remove("origin");
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(check_headers(&h, "https://a.test").is_err());
    }
}

//! The proxy's own records and their sequencing.
//!
//! The proxy writes records with `by: "proxy"` and its own `seq` per session:
//! a `session` record for each injected document or worker
//! ([`TraceSink::open_session`]) and a `net` record for each forwarded
//! exchange ([`TraceSink::record_exchange`], serialised by [`super::net`]),
//! attributed to a page by [`super::assoc`]. `ts` is the record's Unix time
//! minus the session's `time_origin` (the proxy's clock at injection).
//! Exchanges no page can be named for go to `DIR/<label>/_proxy.jsonl`
//! ([`PROXY_FILE`]) under the run's session id ([`TraceSink::run_sid`]). The
//! lines are queued to the writer thread ([`super::writer`]), never written
//! here.

use std::sync::atomic::Ordering;

use http::header;
use webinfer_format::Record;
use webinfer_proxy::{Exchange, RequestContext};

use super::guard::Registry;
use super::writer::{Cmd, Line};
use super::{batch, net, redact, unix_ms, SinkError, TraceSink};

/// The file (stem) for exchanges no page session can be named for.
pub const PROXY_FILE: &str = "_proxy";

/// What kind of context a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSource {
    /// An HTML document (page or frame).
    Page,
    /// A dedicated or shared worker.
    Worker,
}

/// The session the proxy opens when it injects into a document or worker.
#[derive(Debug, Clone)]
pub struct SessionStart {
    /// The new session id.
    pub sid: String,
    /// Page or worker.
    pub source: SessionSource,
    /// URL of the document or worker script.
    pub url: String,
    /// HTTP status of the response.
    pub status: u16,
    /// For a worker: the page that loaded it, if known.
    pub parent: Option<String>,
    /// The proxy's Unix time in ms at injection (the session's time origin
    /// for the proxy's records).
    pub time_origin: f64,
}

impl TraceSink {
    /// Issues the session of a newly injected document or worker: binds its
    /// sid to the document's origin, remembers its URL for attributing later
    /// exchanges and queues the proxy's `session` record for it. Fails when
    /// the sid is unsafe or the file budget is spent (the page's records will
    /// then be refused).
    pub fn open_session(&self, s: &SessionStart) -> Result<(), SinkError> {
        if !batch::is_safe_sid(&s.sid) {
            return Err(SinkError::Sid(s.sid.clone()));
        }
        let mut reg = self.registry();
        if !reg.issue(&s.sid, &s.url, s.time_origin) {
            self.stats.sessions_refused.fetch_add(1, Ordering::Relaxed);
            return Err(SinkError::Budget(self.cfg.max_files, s.sid.clone()));
        }
        match s.source {
            SessionSource::Page => reg.attribution.page(&s.url, &s.sid),
            SessionSource::Worker => {
                let owner = s.parent.as_deref().unwrap_or(&s.sid).to_owned();
                reg.attribution.worker(&s.url, &owner);
            }
        }
        let mut rec = Record::new(&s.sid, "session", 0.0)
            .set(
                "source",
                if s.source == SessionSource::Page {
                    "page"
                } else {
                    "worker"
                },
            )
            .set("url", s.url.as_str())
            .set("status", s.status)
            .set("time_origin", s.time_origin);
        if let Some(p) = &s.parent {
            rec = rec.set("parent", p.as_str());
        }
        if let Some(l) = &self.cfg.label {
            rec = rec.set("label", l.as_str());
        }
        if let Some(v) = &self.cfg.variant {
            rec = rec.set("variant", v.as_str());
        }
        self.write_proxy(&mut reg, &s.sid, rec, s.time_origin);
        Ok(())
    }

    /// The page session a request with this `Referer` belongs to.
    pub fn session_for_referrer(&self, referer: &str) -> Option<String> {
        self.registry()
            .attribution
            .lookup(referer)
            .map(str::to_owned)
    }

    /// Queues a record of the proxy's own for `sid` (`by: "proxy"`, the
    /// proxy's `seq` for that session, `ts` from `now_ms`, URLs scrubbed).
    fn write_proxy(&self, reg: &mut Registry, sid: &str, rec: Record, now_ms: f64) {
        let redact_query = !self.cfg.keep_query_secrets;
        let kind = rec.kind().to_owned();
        self.write_proxy_line(reg, sid, kind, now_ms, |sid, seq, ts| {
            let mut rec = rec.set("by", "proxy").set("ts", ts).set("sid", sid);
            rec.set_seq(seq);
            let mut text = redact::scrub_record(rec, redact_query).to_line();
            text.push('\n');
            text
        });
    }

    /// Queues the line `text(sid, seq, ts)` of one of the proxy's own
    /// records: a session this proxy opened gets it in its own file with the
    /// next proxy `seq` of that session; any other goes to `_proxy.jsonl`
    /// under the run's session id.
    fn write_proxy_line(
        &self,
        reg: &mut Registry,
        sid: &str,
        kind: String,
        now_ms: f64,
        text: impl FnOnce(&str, u64, f64) -> String,
    ) {
        let own = sid != self.run_sid && reg.session_mut(sid).is_some();
        let (stem, key) = if own {
            (sid, sid)
        } else {
            (PROXY_FILE, self.run_sid.as_str())
        };
        let Some(info) = reg.session_mut(key) else {
            return;
        };
        let seq = info.proxy_seq;
        info.proxy_seq += 1;
        let ts = now_ms - info.time_origin;
        let line = Line {
            stem: stem.to_owned(),
            kind,
            text: text(key, seq, ts),
            end: false,
            seq: None,
        };
        if !self.send(Cmd::Proxy(line)) {
            self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues the `net` record of a finished exchange (no I/O here).
    /// `session` is the session an injected exchange belongs to (see
    /// [`crate::inject`]); other exchanges are attributed by their `Referer`
    /// ([`assoc`](super::assoc)). `sha256` is the digest of a model artifact's body
    /// ([`crate::model`]).
    pub(crate) fn record_exchange(
        &self,
        ctx: &RequestContext,
        ex: &Exchange,
        session: Option<&str>,
        sha256: Option<&str>,
    ) {
        if !ex.forwarded {
            return;
        }
        let mut reg = self.registry();
        let sid = session.map(str::to_owned).or_else(|| {
            let referer = ctx.request_headers.get(header::REFERER)?.to_str().ok()?;
            reg.attribution.lookup(referer).map(str::to_owned)
        });
        let sid = sid.as_deref().unwrap_or(&self.run_sid);
        let fields = net::NetFields {
            url: &ex.url,
            method: ex.method.as_str(),
            status: ex.status,
            bytes: ex.bytes,
            start_unix_ms: ex.start_unix_ms,
            dur: ex.dur_ms,
            content_type: ex.content_type.as_deref(),
            sha256,
            error: ex.error.as_deref(),
        };
        let redact_query = !self.cfg.keep_query_secrets;
        self.write_proxy_line(
            &mut reg,
            sid,
            "net".to_owned(),
            unix_ms(),
            |sid, seq, ts| net::line(&fields, sid, seq, ts, redact_query),
        );
    }
}

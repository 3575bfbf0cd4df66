//! The `session` record's fields ([`SessionFields`]) and how several
//! `session` records of one sid are merged ([`SessionMerge`]).
//!
//! A session may have more than one `session` record: the proxy writes one
//! when it injects the hook (`by: "proxy"`, `ts` 0, its own estimate of
//! `time_origin`) and the page another with what only it knows; a native run
//! or a worker writes its own. They may sit in different files. The rule
//! (`trace-format.md`: "readers merge them, later fields winning") is:
//! order the records by `ts`, ties by read order, and take every field from
//! the last record that has it. `browser` is merged field by field too.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who a session is (`session.source`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// A document (page load).
    Page,
    /// A web worker.
    Worker,
    /// A native baseline run.
    Native,
    /// Any other source, as written.
    Other(String),
}

impl Source {
    /// The source named `name`.
    pub fn from_name(name: &str) -> Source {
        match name {
            "page" => Source::Page,
            "worker" => Source::Worker,
            "native" => Source::Native,
            other => Source::Other(other.to_owned()),
        }
    }

    /// The name as written in a trace.
    pub fn as_str(&self) -> &str {
        match self {
            Source::Page => "page",
            Source::Worker => "worker",
            Source::Native => "native",
            Source::Other(s) => s,
        }
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Source::from_name(&String::deserialize(d)?))
    }
}

/// `session.browser`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
pub struct Browser {
    /// Browser name, e.g. "chromium".
    pub name: Option<String>,
    /// Browser version.
    pub version: Option<String>,
    /// Command-line flags.
    pub flags: Option<Vec<String>>,
}

/// Lists the fields of [`SessionFields`] once, for the struct and for
/// [`SessionFields::overlay`].
macro_rules! session_fields {
    ($($(#[$doc:meta])* $f:ident: $t:ty,)*) => {
        /// The documented fields of a `session` record, all optional (a
        /// record may carry any subset). Unknown fields are ignored.
        #[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
        pub struct SessionFields {
            $($(#[$doc])* pub $f: Option<$t>,)*
            /// `browser`: name, version, flags.
            pub browser: Option<Browser>,
        }

        impl SessionFields {
            /// Takes every field `later` has (a later record wins), field by
            /// field, `browser`'s fields included.
            pub fn overlay(&mut self, later: &SessionFields) {
                $(if later.$f.is_some() {
                    self.$f.clone_from(&later.$f);
                })*
                if let Some(lb) = &later.browser {
                    let b = self.browser.get_or_insert_with(Browser::default);
                    if lb.name.is_some() {
                        b.name.clone_from(&lb.name);
                    }
                    if lb.version.is_some() {
                        b.version.clone_from(&lb.version);
                    }
                    if lb.flags.is_some() {
                        b.flags.clone_from(&lb.flags);
                    }
                }
            }
        }
    };
}

session_fields! {
    /// `source`: page, worker or native.
    source: Source,
    /// `url` of the document, worker script or model.
    url: String,
    /// `time_origin`, Unix milliseconds.
    time_origin: f64,
    /// `user_agent`.
    user_agent: String,
    /// `hardware_concurrency`.
    hardware_concurrency: u64,
    /// `device_memory`, GB.
    device_memory: f64,
    /// `cross_origin_isolated`.
    cross_origin_isolated: bool,
    /// `parent`: the sid of the page that started a worker.
    parent: String,
    /// `label`: the run label.
    label: String,
    /// `engine` (native runs).
    engine: String,
    /// `engine_version` (native runs).
    engine_version: String,
    /// `threads` (native runs).
    threads: u64,
    /// `cpu`: the CPU model (native runs).
    cpu: String,
    /// `variant`: the audit variant.
    variant: String,
    /// `status`: the document's HTTP status (written by the proxy).
    status: i64,
}

impl SessionFields {
    /// The session fields of one `session` line (other fields ignored).
    pub fn parse(line: &[u8]) -> Result<SessionFields, serde_json::Error> {
        serde_json::from_slice(line)
    }

    /// The session fields of a parsed `session` record, `None` when a
    /// documented field has the wrong type.
    pub fn of(value: &Value) -> Option<SessionFields> {
        SessionFields::deserialize(value).ok()
    }

    /// Whether the session is a native run.
    pub fn is_native(&self) -> bool {
        self.source == Some(Source::Native)
    }
}

/// The `session` records of one sid, gathered from any number of files and
/// writers, and merged on demand (see the module doc).
#[derive(Debug, Default, Clone)]
pub struct SessionMerge {
    parts: Vec<(f64, u64, SessionFields)>,
}

impl SessionMerge {
    /// Adds one `session` record at `ts`; `order` is the reader's running
    /// count of lines, which breaks ties between equal `ts`.
    pub fn push(&mut self, ts: f64, order: u64, fields: SessionFields) {
        self.parts.push((ts, order, fields));
    }

    /// Adds the records another reader gathered for the same sid.
    pub fn extend(&mut self, other: SessionMerge) {
        self.parts.extend(other.parts);
    }

    /// No `session` record yet.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The merged fields: records in `ts` order (read order on ties), each
    /// field from the last record that has it.
    pub fn merged(&mut self) -> SessionFields {
        self.parts
            .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut out = SessionFields::default();
        for (_, _, f) in &self.parts {
            out.overlay(f);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> SessionFields {
        SessionFields::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn later_records_win_field_by_field_in_ts_order() {
        let mut m = SessionMerge::default();
        // The page's record is read first but is later in time.
        m.push(
            5.0,
            0,
            fields(
                r#"{"kind":"session","source":"page","label":"page","time_origin":1000.25,"browser":{"name":"chromium"}}"#,
            ),
        );
        m.push(
            0.0,
            1,
            fields(
                r#"{"kind":"session","by":"proxy","source":"page","label":"proxy","time_origin":999,"status":200,"browser":{"version":"156"}}"#,
            ),
        );
        let s = m.merged();
        assert_eq!(s.label.as_deref(), Some("page"));
        assert_eq!(s.time_origin, Some(1000.25));
        assert_eq!(s.status, Some(200));
        assert_eq!(s.source, Some(Source::Page));
        let b = s.browser.unwrap();
        assert_eq!(
            (b.name.as_deref(), b.version.as_deref()),
            (Some("chromium"), Some("156"))
        );
    }

    #[test]
    fn equal_ts_falls_back_to_read_order() {
        let mut a = SessionMerge::default();
        a.push(0.0, 7, fields(r#"{"label":"second"}"#));
        let mut b = SessionMerge::default();
        b.push(0.0, 3, fields(r#"{"label":"first","variant":"no-simd"}"#));
        a.extend(b);
        let s = a.merged();
        assert_eq!(s.label.as_deref(), Some("second"));
        assert_eq!(s.variant.as_deref(), Some("no-simd"));
        assert!(!a.is_empty() && SessionMerge::default().is_empty());
    }

    #[test]
    fn sources_and_bad_types() {
        assert!(fields(r#"{"source":"native"}"#).is_native());
        assert_eq!(
            fields(r#"{"source":"robot"}"#).source,
            Some(Source::Other("robot".into()))
        );
        assert_eq!(Source::Worker.as_str(), "worker");
        assert!(SessionFields::parse(br#"{"label":5}"#).is_err());
        assert!(SessionFields::of(&serde_json::json!({"threads": "2"})).is_none());
        assert_eq!(
            SessionFields::of(&serde_json::json!({"url": "u", "x": 1}))
                .unwrap()
                .url
                .as_deref(),
            Some("u")
        );
    }
}

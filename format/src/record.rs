//! A single trace record: a JSON object with the common fields checked.
//!
//! Writers in Rust build records with [`Record::new`] and add kind-specific
//! fields with [`Record::set`]; the proxy's sink uses [`Record::parse`] to
//! check records that pages send before it stores them.

use serde_json::{Map, Value};

/// Why a JSON value is not a valid trace record.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RecordError {
    /// The value is not a JSON object.
    #[error("a trace record must be a JSON object")]
    NotAnObject,
    /// A required common field is absent.
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// A common field has the wrong JSON type.
    #[error("field `{field}` must be {expected}")]
    WrongType {
        /// The offending field.
        field: &'static str,
        /// What it should have been.
        expected: &'static str,
    },
    /// The record is of a newer format version than this build knows.
    #[error("unsupported format version {0} (this build reads version {max})", max = crate::VERSION)]
    Version(u64),
}

/// One record: an owned JSON object whose common fields (`v`, `sid`, `seq`,
/// `ts`, `kind`) have been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Record(Map<String, Value>);

impl Record {
    /// Creates a record of `kind` for session `sid` at `ts` milliseconds since
    /// the session's time origin. `seq` is filled in by the writer.
    pub fn new(sid: &str, kind: &str, ts: f64) -> Self {
        let mut m = Map::new();
        m.insert("v".into(), Value::from(crate::VERSION));
        m.insert("sid".into(), Value::from(sid));
        m.insert("seq".into(), Value::from(0u64));
        m.insert("ts".into(), Value::from(ts));
        m.insert("kind".into(), Value::from(kind));
        Record(m)
    }

    /// Sets a kind-specific field (builder style).
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    /// Checks the common fields of a JSON value and wraps it.
    pub fn parse(value: Value) -> Result<Self, RecordError> {
        let Value::Object(m) = value else {
            return Err(RecordError::NotAnObject);
        };
        // The field, or `Missing`; then `check` or `WrongType`.
        let need = |field: &'static str, expected: &'static str, check: fn(&Value) -> bool| {
            let v = m.get(field).ok_or(RecordError::Missing(field))?;
            if check(v) {
                Ok(v)
            } else {
                Err(RecordError::WrongType { field, expected })
            }
        };
        let v = need("v", "a non-negative integer", Value::is_u64)?;
        if let Some(v) = v.as_u64().filter(|&v| v > crate::VERSION) {
            return Err(RecordError::Version(v));
        }
        need("sid", "a non-empty string", |s| {
            s.as_str().is_some_and(|s| !s.is_empty())
        })?;
        need("seq", "a non-negative integer", Value::is_u64)?;
        need("ts", "a number", Value::is_number)?;
        need("kind", "a string", Value::is_string)?;
        Ok(Record(m))
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        self.0["sid"].as_str().unwrap_or_default()
    }

    /// The record kind.
    pub fn kind(&self) -> &str {
        self.0["kind"].as_str().unwrap_or_default()
    }

    /// The per-session sequence number.
    pub fn seq(&self) -> u64 {
        self.0["seq"].as_u64().unwrap_or_default()
    }

    /// Overwrites the sequence number.
    pub fn set_seq(&mut self, seq: u64) {
        self.0.insert("seq".into(), Value::from(seq));
    }

    /// A field by name.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// The record as one JSON line without the trailing newline.
    pub fn to_line(&self) -> String {
        // A Map of Values always serializes.
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// The underlying JSON object.
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_record_has_common_fields() {
        let r = Record::new("s1", "infer", 12.5).set("dur", 3.0);
        let v: Value = serde_json::from_str(&r.to_line()).unwrap();
        assert_eq!(
            v,
            json!({"v":1,"sid":"s1","seq":0,"ts":12.5,"kind":"infer","dur":3.0})
        );
    }

    #[test]
    fn parse_rejects_missing_and_wrong_fields() {
        assert_eq!(Record::parse(json!([1])), Err(RecordError::NotAnObject));
        assert_eq!(
            Record::parse(json!({"sid":"a","seq":0,"ts":0,"kind":"x"})),
            Err(RecordError::Missing("v"))
        );
        assert_eq!(
            Record::parse(json!({"v":1,"sid":"","seq":0,"ts":0,"kind":"x"})),
            Err(RecordError::WrongType {
                field: "sid",
                expected: "a non-empty string"
            })
        );
        assert_eq!(
            Record::parse(json!({"v":1,"sid":"a","seq":-1,"ts":0,"kind":"x"})),
            Err(RecordError::WrongType {
                field: "seq",
                expected: "a non-negative integer"
            })
        );
        assert_eq!(
            Record::parse(json!({"v":2,"sid":"a","seq":0,"ts":0,"kind":"x"})),
            Err(RecordError::Version(2))
        );
        let ok = Record::parse(json!({"v":1,"sid":"a","seq":4,"ts":1.5,"kind":"frames","t":[1.0]}))
            .unwrap();
        assert_eq!((ok.sid(), ok.kind(), ok.seq()), ("a", "frames", 4));
    }
}

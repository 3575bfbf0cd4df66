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
        let v = m
            .get("v")
            .ok_or(RecordError::Missing("v"))?
            .as_u64()
            .ok_or(RecordError::WrongType {
                field: "v",
                expected: "a non-negative integer",
            })?;
        if v > crate::VERSION {
            return Err(RecordError::Version(v));
        }
        match m.get("sid") {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => {
                return Err(RecordError::WrongType {
                    field: "sid",
                    expected: "a non-empty string",
                })
            }
            None => return Err(RecordError::Missing("sid")),
        }
        m.get("seq")
            .ok_or(RecordError::Missing("seq"))?
            .as_u64()
            .ok_or(RecordError::WrongType {
                field: "seq",
                expected: "a non-negative integer",
            })?;
        m.get("ts")
            .ok_or(RecordError::Missing("ts"))?
            .as_f64()
            .ok_or(RecordError::WrongType {
                field: "ts",
                expected: "a number",
            })?;
        match m.get("kind") {
            Some(Value::String(_)) => {}
            Some(_) => {
                return Err(RecordError::WrongType {
                    field: "kind",
                    expected: "a string",
                })
            }
            None => return Err(RecordError::Missing("kind")),
        }
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

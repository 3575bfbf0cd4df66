//! What a record is and who wrote it: [`Kind`] (the `kind` field) and
//! [`By`] (the `by` field), as typed values.
//!
//! Both parse from borrowed text without allocating for every documented
//! value; anything else is kept verbatim in an `Other` variant, so a reader
//! of an older build still sees (and counts) a kind or writer it does not
//! know. Their `Deserialize` impls let them sit directly in a serde struct.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Declares [`Kind`] with its wire names, in the order of `trace-format.md`.
macro_rules! kinds {
    ($($(#[$doc:meta])* $var:ident = $name:literal,)*) => {
        /// The `kind` of a record: every kind `trace-format.md` documents,
        /// and [`Kind::Other`] for the rest.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $($(#[$doc])* $var,)*
            /// A kind this build does not know, as written.
            Other(String),
        }

        impl Kind {
            /// Every documented kind, in the order of `trace-format.md`
            /// (the version 1 table, then the webinfer extensions).
            pub const DOCUMENTED: &'static [Kind] = &[$(Kind::$var,)*];

            /// The kind named `name` ([`Kind::Other`] when undocumented).
            pub fn from_name(name: &str) -> Kind {
                match name {
                    $($name => Kind::$var,)*
                    other => Kind::Other(other.to_owned()),
                }
            }

            /// The name as written in a trace.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Kind::$var => $name,)*
                    Kind::Other(s) => s,
                }
            }
        }
    };
}

kinds! {
    /// Opens a session (`source`, `url`, `time_origin`, …).
    Session = "session",
    /// A framework or backend was detected or changed.
    Env = "env",
    /// Model setup: download + parse + session creation.
    ModelLoad = "model_load",
    /// One library inference call.
    Infer = "infer",
    /// One kernel of an inference (kernel profiling).
    Kernel = "kernel",
    /// A memory sample.
    Mem = "mem",
    /// A batch of `requestAnimationFrame` timestamps.
    Frames = "frames",
    /// A batch of `requestVideoFrameCallback` frames.
    VideoFrames = "video_frames",
    /// A long task.
    Longtask = "longtask",
    /// A long animation frame.
    Loaf = "loaf",
    /// An Event Timing entry.
    Input = "input",
    /// A main-thread probe task and how late it ran.
    Probe = "probe",
    /// A paint timing entry.
    Paint = "paint",
    /// Navigation timing.
    Nav = "nav",
    /// One HTTP exchange seen by the proxy.
    Net = "net",
    /// One LLM generation request (token timing).
    Gen = "gen",
    /// The last record of a session.
    End = "end",
    /// Records dropped by a hook's full send queue (webinfer extension).
    Dropped = "dropped",
}

impl Kind {
    /// Whether this kind is in the version 1 table of `trace-format.md`
    /// ([`crate::KINDS`]); `false` for extensions and unknown kinds.
    pub fn is_v1(&self) -> bool {
        !matches!(self, Kind::Dropped | Kind::Other(_))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Kind;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a kind name (a string)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
                Ok(Kind::from_name(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// The writer of a record (`by`): the session itself when absent, else the
/// proxy or `webinfer audit` (documented values), or another writer.
///
/// A session's own writer is its page, worker or native run (its `session`
/// record's `source` says which). `seq` is counted per (`sid`, `by`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum By {
    /// No `by` (or `"by": null`): the session's own writer.
    #[default]
    Own,
    /// `"by": "proxy"`: the proxy's `session` and `net` records.
    Proxy,
    /// `"by": "audit"`: `mem.rss` samples written by `webinfer audit`.
    Audit,
    /// Any other writer, as written.
    Other(String),
}

impl By {
    /// The writer named by a `by` field (`None`: the session's own).
    pub fn from_field(by: Option<&str>) -> By {
        match by {
            None => By::Own,
            Some("proxy") => By::Proxy,
            Some("audit") => By::Audit,
            Some(other) => By::Other(other.to_owned()),
        }
    }

    /// The `by` field's value (`None` for the session's own writer).
    pub fn as_field(&self) -> Option<&str> {
        match self {
            By::Own => None,
            By::Proxy => Some("proxy"),
            By::Audit => Some("audit"),
            By::Other(s) => Some(s),
        }
    }

    /// Whether this is the session's own writer (no `by`).
    pub fn is_own(&self) -> bool {
        *self == By::Own
    }
}

impl Serialize for By {
    /// `null` for the session's own writer, else the name.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.as_field() {
            None => s.serialize_none(),
            Some(name) => s.serialize_str(name),
        }
    }
}

impl<'de> Deserialize<'de> for By {
    /// From a string, or `null` for the session's own writer.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = By;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a writer name (a string) or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<By, E> {
                Ok(By::from_field(Some(v)))
            }
            fn visit_none<E: de::Error>(self) -> Result<By, E> {
                Ok(By::Own)
            }
            fn visit_unit<E: de::Error>(self) -> Result<By, E> {
                Ok(By::Own)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<By, D::Error> {
                d.deserialize_str(V)
            }
        }
        d.deserialize_option(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_kinds_round_trip_and_unknown_ones_are_kept() {
        for k in Kind::DOCUMENTED {
            assert_eq!(&Kind::from_name(k.as_str()), k);
            let json = serde_json::to_string(k).unwrap();
            assert_eq!(&serde_json::from_str::<Kind>(&json).unwrap(), k);
        }
        let v1: Vec<&str> = Kind::DOCUMENTED
            .iter()
            .filter(|k| k.is_v1())
            .map(Kind::as_str)
            .collect();
        assert_eq!(v1, crate::KINDS);
        let odd: Kind = serde_json::from_str(r#""hologram""#).unwrap();
        assert_eq!(odd, Kind::Other("hologram".into()));
        assert_eq!(odd.to_string(), "hologram");
        assert!(!odd.is_v1() && !Kind::Dropped.is_v1() && Kind::Infer.is_v1());
        assert!(serde_json::from_str::<Kind>("3").is_err());
    }

    #[test]
    fn every_documented_kind_is_in_the_format_document() {
        for k in Kind::DOCUMENTED {
            let cell = format!("| `{}` |", k.as_str());
            let ext = format!("| kind `{}` |", k.as_str());
            assert!(
                crate::DOC.contains(&cell) || crate::DOC.contains(&ext),
                "{k} is not a row of trace-format.md"
            );
        }
    }

    #[test]
    fn by_reads_absent_null_documented_and_other_writers() {
        #[derive(Deserialize)]
        struct R {
            #[serde(default)]
            by: By,
        }
        let by = |s: &str| serde_json::from_str::<R>(s).unwrap().by;
        assert_eq!(by("{}"), By::Own);
        assert_eq!(by(r#"{"by":null}"#), By::Own);
        assert_eq!(by(r#"{"by":"proxy"}"#), By::Proxy);
        assert_eq!(by(r#"{"by":"audit"}"#), By::Audit);
        assert_eq!(by(r#"{"by":"robot"}"#), By::Other("robot".into()));
        assert!(serde_json::from_str::<R>(r#"{"by":5}"#).is_err());
        assert_eq!(By::Proxy.as_field(), Some("proxy"));
        assert!(By::Own.is_own() && By::Own.as_field().is_none());
        assert_eq!(serde_json::to_string(&By::Own).unwrap(), "null");
    }
}

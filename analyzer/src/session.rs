//! Typed, compact per-session data: what the reader keeps of each record
//! kind.
//!
//! [`SessionData::ingest`] takes one parsed [`Line`]; records of one session
//! may come from several files and writers (`by`), and [`SessionData::merge`]
//! joins the parts. The rules shared with every other reader live in
//! `webinfer-format`: the typed header ([`Kind`], [`webinfer_format::By`]), the merge of
//! `session` records ([`SessionMerge`]) and the sequence bookkeeping
//! ([`WriterSeqs`]).

use std::borrow::Cow;
use std::sync::Arc;

pub use webinfer_format::session::Browser;
use webinfer_format::{Kind, SessionFields, SessionMerge, WriterSeqs};

webinfer_format::record_struct! {
    /// One trace line as deserialized: the format's common fields (see
    /// [`Line::header`]) plus every non-`session` field any kind may carry,
    /// all optional. `session` fields are read into [`SessionFields`] (see
    /// [`parse_line`]). Unknown fields are ignored.
    #[allow(missing_docs)]
    #[derive(Debug)]
    pub struct Line<'a> {
        pub url: Option<String>,
        #[serde(borrow)]
        pub framework: Option<Cow<'a, str>>,
        pub version: Option<String>,
        #[serde(borrow)]
        pub backend: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub model: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub api: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub name: Option<Cow<'a, str>>,
        pub start: Option<f64>,
        pub dur: Option<f64>,
        pub bytes: Option<f64>,
        pub sha256: Option<String>,
        pub call: Option<u64>,
        pub infer_seq: Option<u64>,
        pub js_heap_used: Option<f64>,
        pub js_heap_total: Option<f64>,
        pub wasm_bytes: Option<f64>,
        pub tf_bytes: Option<f64>,
        pub tf_gpu_bytes: Option<f64>,
        pub ua_bytes: Option<f64>,
        pub rss: Option<f64>,
        pub t: Option<Vec<f64>>,
        pub presented: Option<Vec<i64>>,
        pub blocking_dur: Option<f64>,
        pub processing_start: Option<f64>,
        pub processing_end: Option<f64>,
        pub interaction_id: Option<u64>,
        pub delay: Option<f64>,
        pub dom_content_loaded: Option<f64>,
        pub load: Option<f64>,
        pub reason: Option<String>,
        /// `end.error` (native runs: why the model could not run).
        pub error: Option<String>,
        // `gen` (LLM generation requests)
        pub prompt_tokens: Option<u64>,
        pub output_tokens: Option<u64>,
        pub ttft: Option<f64>,
        pub tpot_p50: Option<f64>,
        // `infer` attribution (page hooks)
        #[serde(borrow)]
        pub layer: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub model_origin: Option<Cow<'a, str>>,
        pub model_bytes: Option<f64>,
        #[serde(borrow)]
        pub ort_run: Option<Cow<'a, str>>,
        // `mem`: the page's renderer process
        pub renderer_rss: Option<f64>,
    }
}

/// Parses one line: the [`Line`], and for a `session` record its
/// [`SessionFields`] as well (a line whose session fields have the wrong
/// types is not a record). The common case goes through the fast path of
/// [`crate::line_scan`]; any line it is not sure about through
/// `serde_json`, whose error is the one returned.
pub fn parse_line(line: &[u8]) -> Result<(Line<'_>, Option<SessionFields>), serde_json::Error> {
    let mut rec = crate::line_scan::empty();
    let session = parse_line_into(line, &mut rec)?;
    Ok((rec, session))
}

/// [`parse_line`] into `rec`, which must be [`crate::line_scan::empty`]
/// (the reader's hot path: the record is not moved). On an error `rec` is
/// unspecified.
pub(crate) fn parse_line_into<'a>(
    line: &'a [u8],
    rec: &mut Line<'a>,
) -> Result<Option<SessionFields>, serde_json::Error> {
    if crate::line_scan::scan_into(line, rec).is_none() {
        *rec = serde_json::from_slice(line)?;
    }
    Ok(match rec.kind {
        Kind::Session => Some(SessionFields::parse(line)?),
        _ => None,
    })
}

/// The browser (or native engine) name used for grouping: `browser.name`,
/// else `native-<engine>` (or `native`) for a native run, else "".
pub fn browser_key(meta: &SessionFields) -> String {
    match (
        meta.browser.as_ref().and_then(|b| b.name.as_ref()),
        &meta.engine,
    ) {
        (Some(b), _) => b.clone(),
        (None, Some(e)) if meta.is_native() => format!("native-{e}"),
        _ if meta.is_native() => "native".into(),
        _ => String::new(),
    }
}

/// A framework/backend change.
#[allow(missing_docs)]
#[derive(Debug, Clone)]
pub struct Env {
    pub ts: f64,
    pub framework: Arc<str>,
    pub backend: Arc<str>,
}

/// A `model_load` record.
#[allow(missing_docs)]
#[derive(Debug, Clone)]
pub struct ModelLoad {
    pub framework: Arc<str>,
    pub model: Arc<str>,
    pub start: f64,
    pub dur: f64,
    pub bytes: Option<f64>,
    pub sha256: Option<String>,
    /// `model_origin` (page hooks, ORT): `url`, `fetched` or `generated`.
    pub model_origin: Option<Arc<str>>,
}

/// An `infer` record.
#[allow(missing_docs)]
#[derive(Debug, Clone)]
pub struct Infer {
    pub seq: u64,
    pub ts: f64,
    pub framework: Arc<str>,
    pub model: Arc<str>,
    pub backend: Option<Arc<str>>,
    pub start: f64,
    pub dur: f64,
    pub call: u64,
    /// `api` ("" when absent).
    pub api: Arc<str>,
    /// `layer` (page hooks): `model`, `handler`, `ops`, `wasm`.
    pub layer: Option<Arc<str>>,
    /// `model_origin` (page hooks, ORT).
    pub model_origin: Option<Arc<str>>,
    /// `model_bytes` (page hooks, ORT).
    pub model_bytes: Option<f64>,
    /// `ort_run` (page hooks, ORT): `<session handle>:<n>`.
    pub ort_run: Option<Arc<str>>,
}

impl Infer {
    /// When the outputs became readable: `start + dur`.
    pub fn end(&self) -> f64 {
        self.start + self.dur
    }
}

/// A `gen` record: one LLM generation request.
#[allow(missing_docs)]
#[derive(Debug, Clone)]
pub struct Gen {
    pub framework: Arc<str>,
    pub model: Arc<str>,
    pub start: f64,
    pub dur: f64,
    pub call: u64,
    pub prompt_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub ttft: Option<f64>,
    pub tpot_p50: Option<f64>,
}

/// A `kernel` record.
#[allow(missing_docs)]
#[derive(Debug, Clone)]
pub struct Kernel {
    pub name: Arc<str>,
    pub start: Option<f64>,
    pub dur: f64,
    pub infer_seq: Option<u64>,
}

/// Bytes by `mem` source, as the format names them (one sample, or the
/// peaks of many); absent sources are `None`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MemBytes {
    pub js_heap_used: Option<f64>,
    pub wasm_bytes: Option<f64>,
    pub tf_bytes: Option<f64>,
    pub tf_gpu_bytes: Option<f64>,
    pub ua_bytes: Option<f64>,
    pub rss: Option<f64>,
}

impl MemBytes {
    /// Every source as (field name, value), in the format's order.
    pub fn sources(&self) -> [(&'static str, Option<f64>); 6] {
        let m = self;
        [
            ("js_heap_used", m.js_heap_used),
            ("wasm_bytes", m.wasm_bytes),
            ("tf_bytes", m.tf_bytes),
            ("tf_gpu_bytes", m.tf_gpu_bytes),
            ("ua_bytes", m.ua_bytes),
            ("rss", m.rss),
        ]
    }

    /// The sources that were sampled, as (field name, bytes).
    pub fn present(&self) -> impl Iterator<Item = (&'static str, f64)> {
        self.sources()
            .into_iter()
            .filter_map(|(name, v)| Some((name, v?)))
    }

    /// The largest value of any source.
    pub fn max(&self) -> Option<f64> {
        self.present().map(|(_, v)| v).reduce(f64::max)
    }

    /// Source by source, the larger of `self` and `o` (a source sampled on
    /// one side only keeps that value).
    pub fn max_with(&self, o: &MemBytes) -> MemBytes {
        let mx = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, None) => x,
            (None, y) => y,
        };
        MemBytes {
            js_heap_used: mx(self.js_heap_used, o.js_heap_used),
            wasm_bytes: mx(self.wasm_bytes, o.wasm_bytes),
            tf_bytes: mx(self.tf_bytes, o.tf_bytes),
            tf_gpu_bytes: mx(self.tf_gpu_bytes, o.tf_gpu_bytes),
            ua_bytes: mx(self.ua_bytes, o.ua_bytes),
            rss: mx(self.rss, o.rss),
        }
    }
}

/// One `mem` sample.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemSample {
    pub ts: f64,
    pub bytes: MemBytes,
    /// `renderer_rss`: resident set of the page's renderer process alone.
    pub renderer_rss: Option<f64>,
}

/// A span with a start and a duration (long tasks).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub start: f64,
    pub dur: f64,
}

/// A long animation frame.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loaf {
    pub start: f64,
    pub dur: f64,
    pub blocking_dur: f64,
}

/// An Event Timing entry.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Input {
    pub start: f64,
    pub dur: f64,
    pub processing_start: f64,
    pub processing_end: f64,
    pub interaction_id: Option<u64>,
}

/// A main-thread probe: scheduled at `start`, ran `delay` ms late.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probe {
    pub start: f64,
    pub delay: f64,
}

/// A `paint` entry.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub struct Paint {
    pub ts: f64,
    pub name: String,
    pub start: f64,
}

/// A presented video frame: display time and the `presented` counter.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoFrame {
    pub t: f64,
    pub presented: i64,
}

/// Everything kept of one session.
#[allow(missing_docs)]
#[derive(Debug, Default, Clone)]
pub struct SessionData {
    pub sid: String,
    /// `session` records, merged by [`SessionData::finish`].
    session_records: SessionMerge,
    /// The merged `session` fields (after [`SessionData::finish`]).
    pub meta: SessionFields,
    pub envs: Vec<Env>,
    pub model_loads: Vec<ModelLoad>,
    pub infers: Vec<Infer>,
    pub gens: Vec<Gen>,
    pub kernels: Vec<Kernel>,
    pub mems: Vec<MemSample>,
    pub frames: Vec<f64>,
    pub video: Vec<VideoFrame>,
    pub longtasks: Vec<Span>,
    pub loafs: Vec<Loaf>,
    pub inputs: Vec<Input>,
    pub probes: Vec<Probe>,
    pub paints: Vec<Paint>,
    pub dom_content_loaded: Option<f64>,
    pub load: Option<f64>,
    pub net_records: u64,
    pub net_bytes: f64,
    /// `sha256` of the model artifacts the proxy forwarded, by URL (from `net`).
    pub net_sha256: Vec<(String, String)>,
    pub end_reason: Option<String>,
    /// `end.error`: why the session ended with `reason: "error"` (native runs).
    pub end_error: Option<String>,
    pub records: u64,
    /// Sequence numbers per writer.
    pub seqs: WriterSeqs,
}

/// Shares repeated strings (framework, model, backend, kernel names) within
/// one reader (an Fx hash: several lookups per record).
#[derive(Debug, Default)]
pub struct Interner(rustc_hash::FxHashMap<String, Arc<str>>);

impl Interner {
    /// The shared copy of `s`.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(s.to_owned(), a.clone());
        a
    }
}

/// Why a known-kind record was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingest {
    /// Stored.
    Used,
    /// Not a kind of format version 1.
    UnknownKind,
    /// A documented kind missing a required field.
    MissingField(&'static str),
}

impl SessionData {
    /// An empty session.
    pub fn new(sid: &str) -> Self {
        SessionData {
            sid: sid.to_owned(),
            ..Default::default()
        }
    }

    /// Stores one record (`session`: the fields [`parse_line`] read with
    /// it); `order` is a global read counter that breaks ties between
    /// `session` records with equal `ts`.
    pub fn ingest(
        &mut self,
        line: &Line<'_>,
        session: Option<SessionFields>,
        order: u64,
        strings: &mut Interner,
    ) -> Ingest {
        let f = line;
        let need = |x: Option<f64>, name: &'static str| x.ok_or(name);
        let res: Result<(), &'static str> = (|| {
            match line.kind {
                Kind::Session => {
                    self.session_records
                        .push(line.ts, order, session.unwrap_or_default());
                }
                Kind::Env => {
                    let fw = f.framework.as_deref().ok_or("framework")?;
                    let be = f.backend.as_deref().ok_or("backend")?;
                    self.envs.push(Env {
                        ts: line.ts,
                        framework: strings.get(fw),
                        backend: strings.get(be),
                    });
                }
                Kind::ModelLoad => {
                    self.model_loads.push(ModelLoad {
                        framework: strings.get(f.framework.as_deref().ok_or("framework")?),
                        model: strings.get(f.model.as_deref().ok_or("model")?),
                        start: need(f.start, "start")?,
                        dur: need(f.dur, "dur")?,
                        bytes: f.bytes,
                        sha256: f.sha256.clone(),
                        model_origin: f.model_origin.as_deref().map(|x| strings.get(x)),
                    });
                }
                Kind::Infer => {
                    self.infers.push(Infer {
                        seq: line.seq,
                        ts: line.ts,
                        framework: strings.get(f.framework.as_deref().ok_or("framework")?),
                        model: strings.get(f.model.as_deref().ok_or("model")?),
                        backend: f.backend.as_deref().map(|b| strings.get(b)),
                        start: need(f.start, "start")?,
                        dur: need(f.dur, "dur")?,
                        call: f.call.ok_or("call")?,
                        api: strings.get(f.api.as_deref().unwrap_or_default()),
                        layer: f.layer.as_deref().map(|x| strings.get(x)),
                        model_origin: f.model_origin.as_deref().map(|x| strings.get(x)),
                        model_bytes: f.model_bytes,
                        ort_run: f.ort_run.as_deref().map(|x| strings.get(x)),
                    });
                }
                Kind::Gen => {
                    self.gens.push(Gen {
                        framework: strings.get(f.framework.as_deref().ok_or("framework")?),
                        model: strings.get(f.model.as_deref().ok_or("model")?),
                        start: need(f.start, "start")?,
                        dur: need(f.dur, "dur")?,
                        call: f.call.ok_or("call")?,
                        prompt_tokens: f.prompt_tokens,
                        output_tokens: f.output_tokens,
                        ttft: f.ttft,
                        tpot_p50: f.tpot_p50,
                    });
                }
                Kind::Kernel => {
                    self.kernels.push(Kernel {
                        name: strings.get(f.name.as_deref().ok_or("name")?),
                        start: f.start,
                        dur: need(f.dur, "dur")?,
                        infer_seq: f.infer_seq,
                    });
                }
                Kind::Mem => self.mems.push(MemSample {
                    ts: line.ts,
                    bytes: MemBytes {
                        js_heap_used: f.js_heap_used,
                        wasm_bytes: f.wasm_bytes,
                        tf_bytes: f.tf_bytes,
                        tf_gpu_bytes: f.tf_gpu_bytes,
                        ua_bytes: f.ua_bytes,
                        rss: f.rss,
                    },
                    renderer_rss: f.renderer_rss,
                }),
                Kind::Frames => self.frames.extend_from_slice(f.t.as_deref().ok_or("t")?),
                Kind::VideoFrames => {
                    let t = f.t.as_deref().ok_or("t")?;
                    let p = f.presented.as_deref().ok_or("presented")?;
                    self.video.extend(
                        t.iter()
                            .zip(p)
                            .map(|(&t, &presented)| VideoFrame { t, presented }),
                    );
                }
                Kind::Longtask => self.longtasks.push(Span {
                    start: need(f.start, "start")?,
                    dur: need(f.dur, "dur")?,
                }),
                Kind::Loaf => self.loafs.push(Loaf {
                    start: need(f.start, "start")?,
                    dur: need(f.dur, "dur")?,
                    blocking_dur: need(f.blocking_dur, "blocking_dur")?,
                }),
                Kind::Input => self.inputs.push(Input {
                    start: need(f.start, "start")?,
                    dur: need(f.dur, "dur")?,
                    processing_start: need(f.processing_start, "processing_start")?,
                    processing_end: need(f.processing_end, "processing_end")?,
                    interaction_id: f.interaction_id,
                }),
                Kind::Probe => self.probes.push(Probe {
                    start: need(f.start, "start")?,
                    delay: need(f.delay, "delay")?,
                }),
                Kind::Paint => self.paints.push(Paint {
                    ts: line.ts,
                    name: f.name.as_deref().ok_or("name")?.to_owned(),
                    start: need(f.start, "start")?,
                }),
                Kind::Nav => {
                    if f.dom_content_loaded.is_some() {
                        self.dom_content_loaded = f.dom_content_loaded;
                    }
                    if f.load.is_some() {
                        self.load = f.load;
                    }
                }
                Kind::Net => {
                    self.net_records += 1;
                    self.net_bytes += f.bytes.unwrap_or(0.0);
                    if let (Some(url), Some(sha)) = (&f.url, &f.sha256) {
                        self.net_sha256.push((url.clone(), sha.clone()));
                    }
                }
                Kind::End => {
                    self.end_reason = Some(f.reason.clone().unwrap_or_default());
                    self.end_error = f.error.clone();
                }
                // `dropped` (a webinfer extension) is not read yet: it is
                // counted with the unknown kinds, as before the typed kinds.
                Kind::Dropped | Kind::Other(_) => return Err(""),
            }
            Ok(())
        })();
        match res {
            Ok(()) => {
                self.records += 1;
                self.seqs.push(&line.by, line.seq);
                Ingest::Used
            }
            Err("") => Ingest::UnknownKind,
            Err(field) => Ingest::MissingField(field),
        }
    }

    /// The SHA-256 of model `model`'s bytes: its `model_load.sha256` when the
    /// page recorded one, else the `sha256` of the proxy's `net` record whose
    /// URL is the model id (query and fragment ignored on both sides). Pages
    /// rarely know the hash of what they loaded; the proxy hashes every model
    /// artifact it forwards, so this is how a page's model joins a native run
    /// of the same bytes.
    pub fn model_sha256(&self, model: &str) -> Option<String> {
        if let Some(h) = self
            .model_loads
            .iter()
            .filter(|l| &*l.model == model)
            .find_map(|l| l.sha256.clone())
        {
            return Some(h);
        }
        let bare = |u: &str| u.split(['?', '#']).next().unwrap_or_default().to_owned();
        let want = bare(model);
        self.net_sha256
            .iter()
            .find(|(url, _)| bare(url) == want)
            .map(|(_, h)| h.clone())
    }

    /// Appends another part of the same session (read from another file).
    pub fn merge(&mut self, o: SessionData) {
        self.session_records.extend(o.session_records);
        self.envs.extend(o.envs);
        self.model_loads.extend(o.model_loads);
        self.infers.extend(o.infers);
        self.gens.extend(o.gens);
        self.kernels.extend(o.kernels);
        self.mems.extend(o.mems);
        self.frames.extend(o.frames);
        self.video.extend(o.video);
        self.longtasks.extend(o.longtasks);
        self.loafs.extend(o.loafs);
        self.inputs.extend(o.inputs);
        self.probes.extend(o.probes);
        self.paints.extend(o.paints);
        if o.dom_content_loaded.is_some() {
            self.dom_content_loaded = o.dom_content_loaded;
        }
        if o.load.is_some() {
            self.load = o.load;
        }
        self.net_records += o.net_records;
        self.net_bytes += o.net_bytes;
        self.net_sha256.extend(o.net_sha256);
        if o.end_reason.is_some() {
            self.end_reason = o.end_reason;
            self.end_error = o.end_error;
        }
        self.records += o.records;
        self.seqs.merge(o.seqs);
    }

    /// Finishes the session once all its records are in: merges `session`
    /// records in `ts` order (read order on ties; later fields win) and sorts
    /// every time series by time.
    pub fn finish(&mut self) {
        self.meta = self.session_records.merged();
        self.envs.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        self.infers.sort_by(|a, b| a.start.total_cmp(&b.start));
        self.mems.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        self.frames.sort_by(f64::total_cmp);
        self.frames.dedup();
        self.video.sort_by(|a, b| a.t.total_cmp(&b.t));
        self.video.dedup_by(|a, b| a.t == b.t);
        self.probes.sort_by(|a, b| a.start.total_cmp(&b.start));
    }

    /// The backend of an inference: its own `backend`, else the latest `env`
    /// of the same framework at or before it, else "unknown".
    pub fn backend_of(&self, inf: &Infer) -> Arc<str> {
        if let Some(b) = &inf.backend {
            return b.clone();
        }
        self.envs
            .iter()
            .rev()
            .find(|e| e.ts <= inf.ts && e.framework == inf.framework)
            .or_else(|| self.envs.iter().find(|e| e.framework == inf.framework))
            .map(|e| e.backend.clone())
            .unwrap_or_else(|| Arc::from("unknown"))
    }

    /// Lost records per writer: (writer, missing seqs). Only writers with gaps.
    pub fn seq_gaps(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .seqs
            .summaries()
            .into_iter()
            .filter(|(_, s)| s.missing > 0)
            .map(|(by, s)| (by.as_field().unwrap_or("session").to_owned(), s.missing))
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_session_fields_win_by_ts() {
        let mut s = SessionData::new("a");
        let mut st = Interner::default();
        let page = br#"{"v":1,"sid":"a","seq":0,"ts":5,"kind":"session","source":"page","label":"page-label"}"#;
        let proxy = br#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"session","by":"proxy","source":"page","label":"proxy-label","status":200,"variant":"no-simd"}"#;
        // page record read first but is later in time: its label wins, the
        // proxy's status and variant stay.
        for (order, line) in [(0, &page[..]), (1, &proxy[..])] {
            let (rec, fields) = parse_line(line).unwrap();
            assert_eq!(s.ingest(&rec, fields, order, &mut st), Ingest::Used);
        }
        s.finish();
        assert_eq!(s.meta.label.as_deref(), Some("page-label"));
        assert_eq!(s.meta.status, Some(200));
        assert_eq!(s.meta.variant.as_deref(), Some("no-simd"));
        assert!(s.seq_gaps().is_empty(), "seq 0 of each writer: no gap");
    }

    #[test]
    fn the_line_header_is_the_format_header() {
        let raw =
            br#"{"v":1,"sid":"a","seq":3,"ts":2,"kind":"net","by":"proxy","url":"u","bytes":4}"#;
        let (line, session) = parse_line(raw).unwrap();
        assert_eq!(line.header(), webinfer_format::Header::parse(raw).unwrap());
        assert!(session.is_none());
        // a session record whose session fields have the wrong type is not a record
        assert!(
            parse_line(br#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"session","label":5}"#).is_err()
        );
        let mut d = SessionData::new("a");
        let (l, _) =
            parse_line(br#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"dropped","count":2}"#).unwrap();
        assert_eq!(
            d.ingest(&l, None, 0, &mut Interner::default()),
            Ingest::UnknownKind
        );
    }
}

//! Typed, compact per-session data: what the reader keeps of each record
//! kind, the merge of `session` records, and sequence-gap bookkeeping.
//!
//! [`SessionData::ingest`] takes one parsed [`Line`]; records of one session
//! may come from several files and writers (`by`), and [`SessionData::merge`]
//! joins the parts.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

/// One trace line as deserialized (the common fields plus every field any
/// kind may carry, all optional). Unknown fields are ignored. A flat struct
/// rather than `#[serde(flatten)]`, which would buffer every field.
pub type Line<'a> = Fields<'a>;

/// Browser description inside a `session` record.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
pub struct Browser {
    /// Browser name, e.g. "chromium".
    pub name: Option<String>,
    /// Browser version.
    pub version: Option<String>,
    /// Command-line flags.
    pub flags: Option<Vec<String>>,
}

/// The fields of a [`Line`].
#[allow(missing_docs)]
#[derive(Debug, Default, Deserialize)]
pub struct Fields<'a> {
    pub v: u64,
    #[serde(borrow)]
    pub sid: Cow<'a, str>,
    pub seq: u64,
    pub ts: f64,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow, default)]
    pub by: Option<Cow<'a, str>>,
    pub source: Option<String>,
    pub url: Option<String>,
    pub time_origin: Option<f64>,
    pub user_agent: Option<String>,
    pub hardware_concurrency: Option<u64>,
    pub device_memory: Option<f64>,
    pub cross_origin_isolated: Option<bool>,
    pub parent: Option<String>,
    pub label: Option<String>,
    pub browser: Option<Browser>,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub threads: Option<u64>,
    pub variant: Option<String>,
    pub status: Option<i64>,
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
    // `gen` (LLM generation requests)
    pub prompt_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub ttft: Option<f64>,
    pub tpot_p50: Option<f64>,
}

/// The merged `session` fields (later records win, field by field).
#[allow(missing_docs)]
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SessionMeta {
    pub source: Option<String>,
    pub url: Option<String>,
    pub time_origin: Option<f64>,
    pub user_agent: Option<String>,
    pub hardware_concurrency: Option<u64>,
    pub device_memory: Option<f64>,
    pub cross_origin_isolated: Option<bool>,
    pub parent: Option<String>,
    pub label: Option<String>,
    pub browser_name: Option<String>,
    pub browser_version: Option<String>,
    pub browser_flags: Option<Vec<String>>,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub threads: Option<u64>,
    pub variant: Option<String>,
    pub status: Option<i64>,
}

impl SessionMeta {
    /// Overwrites every field `f` carries (a later `session` record wins).
    fn apply(&mut self, f: &Fields<'_>) {
        macro_rules! set {
            ($($a:ident),*) => { $( if let Some(x) = &f.$a { self.$a = Some(x.clone()); } )* };
        }
        set!(
            source,
            url,
            time_origin,
            user_agent,
            hardware_concurrency,
            device_memory
        );
        set!(
            cross_origin_isolated,
            parent,
            label,
            engine,
            engine_version,
            threads,
            variant,
            status
        );
        if let Some(b) = &f.browser {
            if let Some(x) = &b.name {
                self.browser_name = Some(x.clone());
            }
            if let Some(x) = &b.version {
                self.browser_version = Some(x.clone());
            }
            if let Some(x) = &b.flags {
                self.browser_flags = Some(x.clone());
            }
        }
    }

    /// The browser (or native engine) name used for grouping.
    pub fn browser(&self) -> String {
        match (&self.browser_name, &self.engine) {
            (Some(b), _) => b.clone(),
            (None, Some(e)) if self.source.as_deref() == Some("native") => format!("native-{e}"),
            _ if self.source.as_deref() == Some("native") => "native".into(),
            _ => String::new(),
        }
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

/// One `mem` sample; absent sources are `None`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemSample {
    pub ts: f64,
    pub js_heap_used: Option<f64>,
    pub wasm_bytes: Option<f64>,
    pub tf_bytes: Option<f64>,
    pub tf_gpu_bytes: Option<f64>,
    pub ua_bytes: Option<f64>,
    pub rss: Option<f64>,
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

/// Sequence numbers seen from one writer, kept as sorted-on-demand runs
/// so in-order streams cost one range.
#[derive(Debug, Clone, Default)]
pub struct SeqRuns(Vec<(u64, u64)>);

impl SeqRuns {
    /// Notes `seq`.
    pub fn push(&mut self, seq: u64) {
        if let Some(last) = self.0.last_mut() {
            if last.1 == seq {
                last.1 += 1;
                return;
            }
        }
        self.0.push((seq, seq + 1));
    }

    /// Adds another writer part's runs.
    pub fn extend(&mut self, other: SeqRuns) {
        self.0.extend(other.0);
    }

    /// (distinct seqs seen, missing seqs below the largest, duplicates).
    pub fn summary(&self) -> (u64, u64, u64) {
        let mut runs = self.0.clone();
        runs.sort_unstable();
        let (mut distinct, mut dup, mut max_end) = (0u64, 0u64, 0u64);
        for (a, b) in runs {
            if b <= max_end {
                dup += b - a;
                continue;
            }
            let a2 = a.max(max_end);
            dup += a2 - a;
            distinct += b - a2;
            max_end = b;
        }
        (distinct, max_end - distinct, dup)
    }
}

/// Everything kept of one session.
#[allow(missing_docs)]
#[derive(Debug, Default, Clone)]
pub struct SessionData {
    pub sid: String,
    /// `session` records as (ts, read order, fields), merged at the end.
    session_records: Vec<(f64, u64, SessionMeta)>,
    pub meta: SessionMeta,
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
    pub records: u64,
    /// Sequence runs per writer (`None` = the session's own writer).
    pub seqs: HashMap<Option<String>, SeqRuns>,
}

/// Shares repeated strings (framework, model, backend, kernel names) within
/// one reader.
#[derive(Debug, Default)]
pub struct Interner(HashMap<String, Arc<str>>);

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

    /// Stores one record; `order` is a global read counter that breaks ties
    /// between `session` records with equal `ts`.
    pub fn ingest(&mut self, line: &Line<'_>, order: u64, strings: &mut Interner) -> Ingest {
        let f = line;
        let need = |x: Option<f64>, name: &'static str| x.ok_or(name);
        let res: Result<(), &'static str> = (|| {
            match line.kind.as_ref() {
                "session" => {
                    let mut m = SessionMeta::default();
                    m.apply(f);
                    self.session_records.push((line.ts, order, m));
                }
                "env" => {
                    let fw = f.framework.as_deref().ok_or("framework")?;
                    let be = f.backend.as_deref().ok_or("backend")?;
                    self.envs.push(Env {
                        ts: line.ts,
                        framework: strings.get(fw),
                        backend: strings.get(be),
                    });
                }
                "model_load" => {
                    self.model_loads.push(ModelLoad {
                        framework: strings.get(f.framework.as_deref().ok_or("framework")?),
                        model: strings.get(f.model.as_deref().ok_or("model")?),
                        start: need(f.start, "start")?,
                        dur: need(f.dur, "dur")?,
                        bytes: f.bytes,
                        sha256: f.sha256.clone(),
                    });
                }
                "infer" => {
                    self.infers.push(Infer {
                        seq: line.seq,
                        ts: line.ts,
                        framework: strings.get(f.framework.as_deref().ok_or("framework")?),
                        model: strings.get(f.model.as_deref().ok_or("model")?),
                        backend: f.backend.as_deref().map(|b| strings.get(b)),
                        start: need(f.start, "start")?,
                        dur: need(f.dur, "dur")?,
                        call: f.call.ok_or("call")?,
                    });
                }
                "gen" => {
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
                "kernel" => {
                    self.kernels.push(Kernel {
                        name: strings.get(f.name.as_deref().ok_or("name")?),
                        start: f.start,
                        dur: need(f.dur, "dur")?,
                        infer_seq: f.infer_seq,
                    });
                }
                "mem" => self.mems.push(MemSample {
                    ts: line.ts,
                    js_heap_used: f.js_heap_used,
                    wasm_bytes: f.wasm_bytes,
                    tf_bytes: f.tf_bytes,
                    tf_gpu_bytes: f.tf_gpu_bytes,
                    ua_bytes: f.ua_bytes,
                    rss: f.rss,
                }),
                "frames" => self.frames.extend_from_slice(f.t.as_deref().ok_or("t")?),
                "video_frames" => {
                    let t = f.t.as_deref().ok_or("t")?;
                    let p = f.presented.as_deref().ok_or("presented")?;
                    self.video.extend(
                        t.iter()
                            .zip(p)
                            .map(|(&t, &presented)| VideoFrame { t, presented }),
                    );
                }
                "longtask" => self.longtasks.push(Span {
                    start: need(f.start, "start")?,
                    dur: need(f.dur, "dur")?,
                }),
                "loaf" => self.loafs.push(Loaf {
                    start: need(f.start, "start")?,
                    dur: need(f.dur, "dur")?,
                    blocking_dur: need(f.blocking_dur, "blocking_dur")?,
                }),
                "input" => self.inputs.push(Input {
                    start: need(f.start, "start")?,
                    dur: need(f.dur, "dur")?,
                    processing_start: need(f.processing_start, "processing_start")?,
                    processing_end: need(f.processing_end, "processing_end")?,
                    interaction_id: f.interaction_id,
                }),
                "probe" => self.probes.push(Probe {
                    start: need(f.start, "start")?,
                    delay: need(f.delay, "delay")?,
                }),
                "paint" => self.paints.push(Paint {
                    ts: line.ts,
                    name: f.name.as_deref().ok_or("name")?.to_owned(),
                    start: need(f.start, "start")?,
                }),
                "nav" => {
                    if f.dom_content_loaded.is_some() {
                        self.dom_content_loaded = f.dom_content_loaded;
                    }
                    if f.load.is_some() {
                        self.load = f.load;
                    }
                }
                "net" => {
                    self.net_records += 1;
                    self.net_bytes += f.bytes.unwrap_or(0.0);
                    if let (Some(url), Some(sha)) = (&f.url, &f.sha256) {
                        self.net_sha256.push((url.clone(), sha.clone()));
                    }
                }
                "end" => self.end_reason = Some(f.reason.clone().unwrap_or_default()),
                _ => return Err(""),
            }
            Ok(())
        })();
        match res {
            Ok(()) => {
                self.records += 1;
                self.seqs
                    .entry(line.by.as_deref().map(str::to_owned))
                    .or_default()
                    .push(line.seq);
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
        }
        self.records += o.records;
        for (by, runs) in o.seqs {
            self.seqs.entry(by).or_default().extend(runs);
        }
    }

    /// Finishes the session once all its records are in: merges `session`
    /// records in `ts` order (read order on ties; later fields win) and sorts
    /// every time series by time.
    pub fn finish(&mut self) {
        self.session_records
            .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut meta = SessionMeta::default();
        for (_, _, m) in &self.session_records {
            macro_rules! over {
                ($($a:ident),*) => { $( if m.$a.is_some() { meta.$a = m.$a.clone(); } )* };
            }
            over!(
                source,
                url,
                time_origin,
                user_agent,
                hardware_concurrency,
                device_memory,
                cross_origin_isolated
            );
            over!(
                parent,
                label,
                browser_name,
                browser_version,
                browser_flags,
                engine,
                engine_version,
                threads
            );
            over!(variant, status);
        }
        self.meta = meta;
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
            .iter()
            .filter_map(|(by, runs)| {
                let (_, missing, _) = runs.summary();
                (missing > 0).then(|| (by.clone().unwrap_or_else(|| "session".into()), missing))
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_runs_count_missing_and_duplicates() {
        let mut r = SeqRuns::default();
        for s in [0, 1, 2, 5, 6, 3, 3] {
            r.push(s);
        }
        // distinct {0,1,2,3,5,6} = 6, max 6 → 7 expected, 1 missing (4), one duplicate 3
        assert_eq!(r.summary(), (6, 1, 1));
    }

    #[test]
    fn later_session_fields_win_by_ts() {
        let mut s = SessionData::new("a");
        let mut st = Interner::default();
        let page: Line = serde_json::from_str(
            r#"{"v":1,"sid":"a","seq":0,"ts":5,"kind":"session","source":"page","label":"page-label"}"#,
        )
        .unwrap();
        let proxy: Line = serde_json::from_str(
            r#"{"v":1,"sid":"a","seq":0,"ts":0,"kind":"session","by":"proxy","source":"page","label":"proxy-label","status":200,"variant":"no-simd"}"#,
        )
        .unwrap();
        // page record read first but is later in time: its label wins, the
        // proxy's status and variant stay.
        assert_eq!(s.ingest(&page, 0, &mut st), Ingest::Used);
        assert_eq!(s.ingest(&proxy, 1, &mut st), Ingest::Used);
        s.finish();
        assert_eq!(s.meta.label.as_deref(), Some("page-label"));
        assert_eq!(s.meta.status, Some(200));
        assert_eq!(s.meta.variant.as_deref(), Some("no-simd"));
        assert!(s.seq_gaps().is_empty(), "seq 0 of each writer: no gap");
    }
}

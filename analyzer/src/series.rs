//! Data kept for the charts while sessions stream by: bounded samples of
//! prediction latencies and probe delays, and the timelines of one
//! representative session. Memory stays bounded whatever the input size.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::generate::Rng;
use crate::metrics::responsiveness::probe_delays;
use crate::metrics::windows::Windows;
use crate::session::SessionData;

/// A model and the backend it ran on.
type ModelBackend = (Arc<str>, Arc<str>);

/// Largest sample kept per latency group and per probe side.
pub const SAMPLE_CAP: usize = 20_000;

/// A uniform random sample of at most [`SAMPLE_CAP`] values (reservoir
/// sampling, deterministic seed).
#[derive(Debug, Clone)]
pub struct Reservoir {
    /// The kept values.
    pub values: Vec<f64>,
    /// Values offered.
    pub seen: u64,
    rng: Rng,
}

impl Default for Reservoir {
    fn default() -> Self {
        Reservoir {
            values: Vec::new(),
            seen: 0,
            rng: Rng::new(7),
        }
    }
}

impl Reservoir {
    /// Offers one value.
    pub fn push(&mut self, v: f64) {
        self.seen += 1;
        if self.values.len() < SAMPLE_CAP {
            self.values.push(v);
        } else {
            let j = (self.rng.next_u64() % self.seen) as usize;
            if j < SAMPLE_CAP {
                self.values[j] = v;
            }
        }
    }
}

/// One session's timelines.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Session id and label.
    pub title: String,
    /// Frame times (ms).
    pub frames: Vec<f64>,
    /// Merged inference windows (ms).
    pub windows: Vec<(f64, f64)>,
    /// Memory samples: (ts ms, source name, bytes).
    pub mem: Vec<(f64, &'static str, f64)>,
    /// Σ model bytes.
    pub model_bytes: Option<f64>,
}

/// Everything the charts draw.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Prediction latencies (call > 1) per "model · backend".
    pub latency: BTreeMap<String, Reservoir>,
    /// Probe delays inside inference windows (browser sessions).
    pub probes_inside: Reservoir,
    /// Probe delays outside.
    pub probes_outside: Reservoir,
    /// The first session with frames and inferences.
    pub fps: Option<Timeline>,
    /// The first session with memory samples and a model size.
    pub memory: Option<Timeline>,
    memory_from_native: bool,
}

/// A short model name for chart labels: the last two path segments.
pub fn short_model(model: &str) -> String {
    let m = model.split(['?', '#']).next().unwrap_or(model);
    let parts: Vec<&str> = m.rsplit('/').filter(|s| !s.is_empty()).take(2).collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

impl Series {
    /// Takes what the charts need from a finished session: the inferences
    /// that count ([`crate::table::attribute`]; helper graphs and folded
    /// layers left out), `model_bytes` from its page row (helper graphs
    /// excluded).
    pub fn observe(&mut self, s: &SessionData, model_bytes: Option<f64>) {
        let at = crate::table::attribute(s);
        // grouped by (model, backend) first: the chart key is made once per
        // group, not once per call
        let mut groups: Vec<(ModelBackend, Vec<f64>)> = Vec::new();
        for i in at
            .infers
            .iter()
            .filter(|i| i.call > 1 && !at.helpers.contains(&i.model))
        {
            let backend = s.backend_of(i);
            match groups
                .iter_mut()
                .find(|((m, b), _)| *m == i.model && *b == backend)
            {
                Some((_, durs)) => durs.push(i.dur),
                None => groups.push(((i.model.clone(), backend), vec![i.dur])),
            }
        }
        for ((model, backend), durs) in groups {
            let key = format!("{} · {backend}", short_model(&model));
            let r = self.latency.entry(key).or_default();
            durs.into_iter().for_each(|d| r.push(d));
        }
        let native = s.meta.is_native();
        let windows = Windows::from_infers(at.infers.iter().copied());
        if !native {
            let (inside, outside) = probe_delays(&s.probes, &windows);
            inside.into_iter().for_each(|d| self.probes_inside.push(d));
            outside
                .into_iter()
                .for_each(|d| self.probes_outside.push(d));
        }
        let title = match &s.meta.label {
            Some(l) => format!("{} ({l})", s.sid),
            None => s.sid.clone(),
        };
        // timelines come from the first page session with data (a native one only if nothing else)
        if self.memory_from_native && !native && !s.mems.is_empty() {
            self.memory = None;
        }
        if self.fps.is_none() && s.frames.len() >= 10 && !at.infers.is_empty() {
            self.fps = Some(Timeline {
                title: title.clone(),
                frames: s.frames.clone(),
                windows: windows.spans().to_vec(),
                ..Default::default()
            });
        }
        if self.memory.is_none() && !s.mems.is_empty() && model_bytes.is_some() {
            let mut mem = Vec::new();
            for m in &s.mems {
                mem.extend(m.bytes.present().map(|(name, v)| (m.ts, name, v)));
                if let Some(v) = m.renderer_rss {
                    mem.push((m.ts, "renderer_rss", v));
                }
            }
            self.memory_from_native = native;
            self.memory = Some(Timeline {
                title,
                windows: windows.spans().to_vec(),
                mem,
                model_bytes,
                ..Default::default()
            });
        }
    }
}

//! A generator of realistic synthetic traces, for samples, tests of the
//! whole pipeline and the scale benchmark (`cargo run -p
//! webinfer-analyzer --example gen-traces`).
//!
//! A browser session models a camera-style loop: a 30 fps video, one
//! inference started on the newest video frame as soon as the previous one
//! finished, a 60 Hz `requestAnimationFrame` loop whose frames stretch while
//! a main-thread inference runs, main-thread probes every 100 ms, a few
//! clicks, memory samples, long tasks, paints and the proxy's own records
//! (in a second file, as the proxy writes them). A native session runs the
//! same model bytes faster with no page around it. Deterministic per seed.

use std::io::{self, Write};

/// A small deterministic random source (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// A uniform `u64`.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A log-normal-ish positive value around `median` with spread `sigma`.
    pub fn around(&mut self, median: f64, sigma: f64) -> f64 {
        // sum of 4 uniforms ≈ normal
        let n = (self.unit() + self.unit() + self.unit() + self.unit() - 2.0) * 1.732;
        median * (sigma * n).exp()
    }
}

/// What to generate for one session.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// Session id.
    pub sid: String,
    /// Run label.
    pub label: String,
    /// Audit variant.
    pub variant: String,
    /// "chromium", "firefox", or "native".
    pub browser: String,
    /// Backend ("wasm", "webgl", "cpu").
    pub backend: String,
    /// Model id (URL for pages, a file name for native runs).
    pub model: String,
    /// Model bytes.
    pub model_bytes: u64,
    /// Median inference time (ms) of a later call.
    pub infer_ms: f64,
    /// Session length (ms).
    pub duration_ms: f64,
    /// Random seed.
    pub seed: u64,
    /// Emit kernel records (3 per inference).
    pub kernels: bool,
}

impl SessionSpec {
    /// Whether this is a native baseline run.
    pub fn native(&self) -> bool {
        self.browser == "native"
    }
}

/// The sha256 the generator gives a model id (a stable 64-hex digest).
pub fn model_sha(model: &str) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in model.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x1000_0000_01b3);
    }
    let mut r = Rng::new(h);
    (0..4).map(|_| format!("{:016x}", r.next_u64())).collect()
}

/// Writes JSON lines with per-writer sequence numbers.
struct Out<'a, W: Write> {
    w: &'a mut W,
    sid: &'a str,
    seq: u64,
    by: Option<&'static str>,
    records: u64,
}

impl<W: Write> Out<'_, W> {
    fn rec(&mut self, ts: f64, kind: &str, rest: std::fmt::Arguments<'_>) -> io::Result<()> {
        let by = match self.by {
            Some(b) => format!(",\"by\":\"{b}\""),
            None => String::new(),
        };
        writeln!(
            self.w,
            "{{\"v\":1,\"sid\":\"{}\",\"seq\":{},\"ts\":{:.3},\"kind\":\"{kind}\"{by}{rest}}}",
            self.sid, self.seq, ts
        )?;
        self.seq += 1;
        self.records += 1;
        Ok(())
    }
}

fn join(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.3}")).collect();
    parts.join(",")
}

/// Writes the buffered video frames as one `video_frames` record at `ts`
/// and empties the buffers.
fn video<W: Write>(
    o: &mut Out<'_, W>,
    ts: f64,
    t: &mut Vec<f64>,
    presented: &mut Vec<i64>,
) -> io::Result<()> {
    let p: Vec<String> = presented.iter().map(i64::to_string).collect();
    o.rec(
        ts,
        "video_frames",
        format_args!(
            ",\"t\":[{}],\"presented\":[{}],\"element\":\"video#cam\"",
            join(t),
            p.join(",")
        ),
    )?;
    t.clear();
    presented.clear();
    Ok(())
}

/// Writes one session: its own records to `page`, the proxy's to `proxy`
/// (nothing for native runs). Returns the records written to both.
pub fn write_session(
    spec: &SessionSpec,
    page: &mut impl Write,
    proxy: &mut impl Write,
) -> io::Result<u64> {
    let mut rng = Rng::new(spec.seed);
    let sid = spec.sid.as_str();
    let sha = model_sha(&spec.model);
    let fw = if spec.native() { "ort" } else { "tfjs" };
    let mut o = Out {
        w: page,
        sid,
        seq: 0,
        by: None,
        records: 0,
    };
    let time_origin = 1_764_547_200_000.0 + (spec.seed % 100_000) as f64 * 1000.0;
    let mut proxy_records = 0;
    if spec.native() {
        o.rec(0.0, "session", format_args!(",\"source\":\"native\",\"url\":\"\",\"time_origin\":{time_origin},\"user_agent\":\"webinfer-native\",\"hardware_concurrency\":2,\"cross_origin_isolated\":false,\"label\":\"{}\",\"engine\":\"ort\",\"engine_version\":\"1.22.0\",\"threads\":1", spec.label))?;
    } else {
        let mut p = Out {
            w: proxy,
            sid,
            seq: 0,
            by: Some("proxy"),
            records: 0,
        };
        p.rec(-5.0, "session", format_args!(",\"source\":\"page\",\"url\":\"https://demo.local/\",\"time_origin\":{time_origin},\"label\":\"{}\",\"variant\":\"{}\",\"status\":200", spec.label, spec.variant))?;
        p.rec(40.0, "net", format_args!(",\"url\":\"{}\",\"method\":\"GET\",\"status\":200,\"content_type\":\"application/json\",\"bytes\":{},\"start_unix_ms\":{},\"dur\":35.5,\"sha256\":\"{sha}\"", spec.model, spec.model_bytes, time_origin + 40.0))?;
        proxy_records = p.records;
        o.rec(1.0, "session", format_args!(",\"source\":\"page\",\"url\":\"https://demo.local/\",\"time_origin\":{time_origin},\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) Chrome/142.0\",\"hardware_concurrency\":2,\"cross_origin_isolated\":true,\"label\":\"{}\",\"browser\":{{\"name\":\"{}\",\"version\":\"142.0\",\"flags\":[]}}", spec.label, spec.browser))?;
        o.rec(
            20.0,
            "nav",
            format_args!(",\"dom_content_loaded\":180.5,\"load\":260.25"),
        )?;
        o.rec(
            120.0,
            "paint",
            format_args!(
                ",\"name\":\"first-contentful-paint\",\"start\":{:.3}",
                rng.around(110.0, 0.1)
            ),
        )?;
        o.rec(
            300.0,
            "paint",
            format_args!(
                ",\"name\":\"largest-contentful-paint\",\"start\":{:.3}",
                rng.around(290.0, 0.1)
            ),
        )?;
    }
    o.rec(2.0, "env", format_args!(",\"framework\":\"{fw}\",\"version\":\"4.22.0\",\"backend\":\"{}\",\"wasm_simd\":{},\"wasm_threads\":false", spec.backend, spec.variant != "no-simd"))?;
    let load_start = 300.0;
    let load_dur = rng.around(if spec.native() { 40.0 } else { 450.0 }, 0.2);
    o.rec(load_start + load_dur, "model_load", format_args!(",\"framework\":\"{fw}\",\"model\":\"{}\",\"start\":{load_start:.3},\"dur\":{load_dur:.3},\"bytes\":{},\"sha256\":\"{sha}\"", spec.model, spec.model_bytes))?;

    let main_thread = !spec.native() && spec.backend != "webgl";
    let mut t = load_start + load_dur + 10.0;
    let mut call = 0u64;
    let mut spans: Vec<(f64, f64)> = Vec::new();
    let mut heap = 12e6;
    // inference loop
    while t < spec.duration_ms {
        call += 1;
        let dur = if call == 1 {
            rng.around(spec.infer_ms * 6.0, 0.2)
        } else {
            rng.around(spec.infer_ms, 0.15)
        };
        let infer_seq = o.seq;
        o.rec(t + dur, "infer", format_args!(",\"framework\":\"{fw}\",\"model\":\"{}\",\"backend\":\"{}\",\"api\":\"{}\",\"start\":{t:.3},\"dur\":{dur:.3},\"call\":{call},\"input_shapes\":[[1,192,192,3]]", spec.model, spec.backend, if spec.native() { "Session::run" } else { "GraphModel.executeAsync" }))?;
        if spec.kernels {
            let mut k = t;
            for (name, share) in [
                ("Conv2D", 0.6),
                ("DepthwiseConv2dNative", 0.3),
                ("Relu6", 0.1),
            ] {
                let kd = dur * share;
                o.rec(t + dur, "kernel", format_args!(",\"framework\":\"{fw}\",\"model\":\"{}\",\"infer_seq\":{infer_seq},\"name\":\"{name}\",\"start\":{k:.3},\"dur\":{kd:.3}", spec.model))?;
                k += kd;
            }
        }
        if !spec.native() && dur > 50.0 && main_thread {
            o.rec(
                t + dur,
                "longtask",
                format_args!(",\"start\":{t:.3},\"dur\":{dur:.3}"),
            )?;
        }
        heap = (heap + rng.around(2e5, 0.5) - 1.5e5).clamp(10e6, 60e6);
        if call % 4 == 1 {
            if spec.native() {
                o.rec(
                    t + dur,
                    "mem",
                    format_args!(
                        ",\"rss\":{:.0}",
                        40e6 + spec.model_bytes as f64 * 3.0 + heap
                    ),
                )?;
            } else {
                let tf = spec.model_bytes as f64 * 1.4 + rng.around(3e6, 0.2);
                o.rec(t + dur, "mem", format_args!(",\"js_heap_used\":{heap:.0},\"js_heap_total\":{:.0},\"wasm_bytes\":{:.0},\"tf_bytes\":{tf:.0},\"tf_tensors\":{}", heap * 1.3, 16.0 * 1048576.0 + spec.model_bytes as f64 * 2.0, 40 + call % 7))?;
            }
        }
        spans.push((t, t + dur));
        // the next inference starts on the next video frame (33.3 ms grid)
        let next = t + dur + rng.unit() * 2.0;
        t = ((next / 33.333).floor() + 1.0) * 33.333;
    }
    if !spec.native() {
        // rAF frames: 60 Hz, a frame cannot be produced while a main-thread inference runs
        let mut frames = Vec::new();
        let mut f = load_start + load_dur;
        let mut si = 0;
        while f < spec.duration_ms {
            frames.push(f);
            let mut nf = f + 16.667 + (rng.unit() - 0.5) * 0.6;
            while si < spans.len() && spans[si].1 < f {
                si += 1;
            }
            if main_thread {
                if let Some(&(a, b)) = spans.get(si) {
                    if nf > a && nf < b {
                        nf = b + rng.unit() * 2.0;
                    }
                }
            } else if spans.get(si).is_some_and(|&(a, b)| nf > a && nf < b) && rng.unit() < 0.25 {
                nf += 16.667; // GPU contention now and then
            }
            if frames.len() == 60 {
                o.rec(nf, "frames", format_args!(",\"t\":[{}]", join(&frames)))?;
                frames.clear();
            }
            f = nf;
        }
        if !frames.is_empty() {
            o.rec(f, "frames", format_args!(",\"t\":[{}]", join(&frames)))?;
        }
        // video frames: 30 fps (requestVideoFrameCallback)
        let (mut vt, mut vp, mut buf_t, mut buf_p) =
            (load_start + load_dur, 0i64, Vec::new(), Vec::new());
        let mut si = 0;
        while vt < spec.duration_ms {
            while si < spans.len() && spans[si].1 < vt {
                si += 1;
            }
            // while a main-thread inference runs, callbacks are coalesced: only the newest
            // frame presented before it ends is seen
            let blocked = main_thread
                && spans
                    .get(si)
                    .is_some_and(|&(a, b)| vt > a && vt + 33.333 < b);
            if !blocked {
                buf_t.push(vt);
                buf_p.push(vp);
            }
            if buf_t.len() == 30 {
                video(&mut o, vt, &mut buf_t, &mut buf_p)?;
            }
            vt += 33.333;
            vp += 1;
        }
        if !buf_t.is_empty() {
            video(&mut o, vt, &mut buf_t, &mut buf_p)?;
        }
        // probes every 100 ms: late by the rest of a main-thread inference
        let mut pt = load_start;
        let mut si = 0;
        while pt < spec.duration_ms {
            while si < spans.len() && spans[si].1 < pt {
                si += 1;
            }
            let base = rng.unit() * 1.5;
            let delay = match spans.get(si) {
                Some(&(a, b)) if main_thread && pt >= a && pt < b => b - pt + base,
                Some(&(a, b)) if pt >= a && pt < b => base + rng.unit() * 3.0,
                _ => base,
            };
            o.rec(
                pt + delay,
                "probe",
                format_args!(",\"start\":{pt:.3},\"delay\":{delay:.3}"),
            )?;
            pt += 100.0;
        }
        // clicks every 700 ms
        let mut it = load_start + load_dur + 350.0;
        let mut id = 1000u64;
        while it < spec.duration_ms {
            let blocked = spans
                .iter()
                .find(|&&(a, b)| main_thread && it >= a && it < b)
                .map(|&(_, b)| b - it)
                .unwrap_or(0.0);
            let ps = it + 1.0 + blocked;
            let pe = ps + rng.around(4.0, 0.3);
            let dur = ((pe - it + 8.0) / 8.0).round() * 8.0;
            id += 7;
            o.rec(it + dur, "input", format_args!(",\"name\":\"pointerdown\",\"start\":{it:.3},\"dur\":{dur:.3},\"processing_start\":{ps:.3},\"processing_end\":{pe:.3},\"interaction_id\":{id}"))?;
            it += 700.0;
        }
    }
    o.rec(
        spec.duration_ms,
        "end",
        format_args!(",\"reason\":\"done\""),
    )?;
    Ok(o.records + proxy_records)
}

/// The sample set checked in under `traces/samples/synthetic/`: a
/// wasm and a webgl session of one model, a `no-simd` variant, and a native
/// baseline of the same bytes. Returns (relative path, spec) pairs.
pub fn sample_specs(duration_ms: f64) -> Vec<SessionSpec> {
    let model = "https://demo.local/models/movenet-lightning/model.json".to_string();
    let mk = |sid: &str,
              label: &str,
              variant: &str,
              browser: &str,
              backend: &str,
              ms: f64,
              seed: u64| SessionSpec {
        sid: sid.into(),
        label: label.into(),
        variant: variant.into(),
        browser: browser.into(),
        backend: backend.into(),
        model: if browser == "native" {
            "models/movenet-lightning/model.json".into()
        } else {
            model.clone()
        },
        model_bytes: 4_758_524,
        infer_ms: ms,
        duration_ms,
        seed,
        kernels: false,
    };
    vec![
        mk(
            "syn-wasm-1",
            "synthetic",
            "default",
            "chromium",
            "wasm",
            38.0,
            1,
        ),
        mk(
            "syn-webgl-1",
            "synthetic",
            "default",
            "chromium",
            "webgl",
            14.0,
            2,
        ),
        mk(
            "syn-nosimd-1",
            "synthetic",
            "no-simd",
            "chromium",
            "wasm",
            95.0,
            3,
        ),
        mk(
            "syn-native-1",
            "synthetic",
            "default",
            "native",
            "cpu",
            9.0,
            4,
        ),
    ]
}

//! Observer effect: the same bench page through the proxy with the hook injected (A) and
//! through the same proxy passing every response through untouched (B). Per repetition
//! (`reps`), two fresh headless Chromiums open the page side by side (`?drive=1`: warm-up,
//! then driven through DevTools) and their inferences alternate one by one — A B, B A, A B, …
//! — so both sides see the same machine load at the same moments (the machine is shared;
//! run-level alternation left the comparison at the mercy of load swings between runs).
//! Then each page's idle window is measured in turn.
//!
//! Both sides are measured by the page itself, never by the hook: each inference's latency is
//! the page's `performance.now()` around the call (`own_ms`), idle FPS is the page's own
//! `requestAnimationFrame` count over its idle window. Per configuration:
//! - inference p50 ratio = p50(A's `own_ms`, all A runs pooled) / p50(B's, pooled);
//!   target ≤ 1.01 (≤ 1 % added latency); also the p50 of the per-pair ratios
//!   ([`Report::pair_ratio`]), which cancels load swings slower than one pair;
//! - idle FPS difference = mean A idle FPS − mean B idle FPS; target |diff| ≤ 0.5;
//! - outputs identical: every run's per-inference output digests are the same list.
//!
//! A run whose page did not see the hook when it should have (or did when it should not)
//! is an error: the comparison would be meaningless.

use crate::fidelity::{p50, Config};
use crate::harness::{self, HarnessError, Hooks, RunOptions};

/// Benchmark parameters.
#[derive(Debug, Clone)]
pub struct ObserverOptions {
    /// Configurations to run.
    pub configs: Vec<Config>,
    /// Measured inferences per run.
    pub n: usize,
    /// Warm-up inferences per run.
    pub warm: usize,
    /// Runs of each side (A and B), alternated.
    pub reps: usize,
    /// Idle window (ms) for FPS.
    pub idle_ms: u64,
    /// A/A control: side A passes through too (no hook on either side), which measures the
    /// set-up's own noise floor and asymmetry.
    pub control: bool,
    /// Fields merged into side A's hook config (see [`harness::RunOptions::hook_config`]),
    /// e.g. `{"off":["mem_infer"]}` to measure the hook with one part switched off.
    pub hook_config: Option<serde_json::Value>,
}

impl Default for ObserverOptions {
    fn default() -> Self {
        ObserverOptions {
            configs: Config::ALL.to_vec(),
            n: 30,
            warm: 3,
            reps: 2,
            idle_ms: 3000,
            control: false,
            hook_config: None,
        }
    }
}

/// The latency target: hooked p50 / plain p50 ≤ 1 + this.
pub const LATENCY_ADDED_MAX: f64 = 0.01;
/// The idle FPS target: |hooked − plain| ≤ this.
pub const FPS_DIFF_MAX: f64 = 0.5;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ObserverError {
    /// A run failed.
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// A page result lacks something, or the hook was (not) there when it should (not) be.
    #[error("{config}: {what}")]
    Bad {
        /// The configuration.
        config: &'static str,
        /// What is wrong.
        what: String,
    },
}

/// One side's pooled measurements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Side {
    /// Every inference's page-timed latency (ms), all runs pooled.
    pub latencies: Vec<f64>,
    /// Each run's idle FPS (page rAF count / idle window).
    pub idle_fps: Vec<f64>,
    /// Each run's per-inference output digests.
    pub outputs: Vec<Vec<String>>,
}

/// One configuration's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The configuration.
    pub config: Config,
    /// With the hook (A).
    pub hooked: Side,
    /// Passthrough (B).
    pub plain: Side,
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

impl Report {
    /// p50 of the hooked latencies / p50 of the plain latencies.
    pub fn latency_ratio(&self) -> f64 {
        p50(&self.hooked.latencies).unwrap_or(f64::NAN)
            / p50(&self.plain.latencies).unwrap_or(f64::NAN)
    }

    /// p50 over i of `hooked[i] / plain[i]`: the i-th inferences of the two sides ran back
    /// to back, so a load swing longer than one pair cancels out of each ratio.
    pub fn pair_ratio(&self) -> f64 {
        let ratios: Vec<f64> = self
            .hooked
            .latencies
            .iter()
            .zip(&self.plain.latencies)
            .map(|(a, b)| a / b)
            .collect();
        p50(&ratios).unwrap_or(f64::NAN)
    }

    /// Mean hooked idle FPS − mean plain idle FPS.
    pub fn fps_diff(&self) -> f64 {
        mean(&self.hooked.idle_fps) - mean(&self.plain.idle_fps)
    }

    /// Whether every run (both sides) computed the same output digests, inference by
    /// inference.
    pub fn outputs_identical(&self) -> bool {
        let mut all = self.hooked.outputs.iter().chain(&self.plain.outputs);
        match all.next() {
            Some(first) => !first.is_empty() && all.all(|o| o == first),
            None => false,
        }
    }
}

/// Runs every configuration: per repetition, a page with the hook (A) and one without (B)
/// open side by side, their inferences alternated one by one (A B, B A, A B, …), then each
/// page's idle window in turn (order swapped every repetition).
pub async fn run(opts: &ObserverOptions) -> Result<Vec<Report>, ObserverError> {
    let site = harness::start_site().await?;
    let mut out = Vec::new();
    let mut err = None;
    for &c in &opts.configs {
        let mut rep = Report {
            config: c,
            hooked: Side::default(),
            plain: Side::default(),
        };
        for i in 0..opts.reps {
            if let Err(e) = one_rep(&site, c, opts, i, &mut rep).await {
                err = Some(e);
                break;
            }
        }
        out.push(rep);
        if err.is_some() {
            break;
        }
    }
    site.shutdown().await;
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// One repetition: open A and B, alternate `n` inferences, measure both idle windows.
async fn one_rep(
    site: &webinfer_audit::site::SiteServer,
    c: Config,
    opts: &ObserverOptions,
    rep_index: usize,
    rep: &mut Report,
) -> Result<(), ObserverError> {
    let page = format!("{}&drive=1", c.page(opts.n, opts.warm, opts.idle_ms, false));
    let mut sessions = Vec::new();
    let a = if opts.control {
        Hooks::Passthrough
    } else {
        Hooks::Inject
    };
    // Launch order alternates too (side A first on even repetitions, B first on odd ones).
    let order = if rep_index.is_multiple_of(2) {
        [0, 1]
    } else {
        [1, 0]
    };
    for side in order {
        let hooks = [a, Hooks::Passthrough][side];
        let mut ro = RunOptions::new(page.clone());
        ro.hooks = hooks;
        if hooks == Hooks::Inject {
            ro.hook_config = opts.hook_config.clone();
        }
        match harness::Session::open(site, &ro).await {
            Ok(s) => sessions.push((side, hooks, s)),
            Err(e) => {
                for (_, _, s) in sessions {
                    s.close().await;
                }
                return Err(e.into());
            }
        }
    }
    sessions.sort_by_key(|(side, _, _)| *side);
    let sessions: Vec<(Hooks, harness::Session)> =
        sessions.into_iter().map(|(_, h, s)| (h, s)).collect();
    let result = drive_pair(c, opts, rep_index, &sessions, rep).await;
    for (_, s) in sessions {
        s.close().await;
    }
    result
}

async fn drive_pair(
    c: Config,
    opts: &ObserverOptions,
    rep_index: usize,
    sessions: &[(Hooks, harness::Session)],
    rep: &mut Report,
) -> Result<(), ObserverError> {
    let bad = |what: String| ObserverError::Bad {
        config: c.name(),
        what,
    };
    for (hooks, s) in sessions {
        s.wait_until(
            "!!(self.BENCH && BENCH.ready)",
            std::time::Duration::from_secs(180),
        )
        .await?;
        let hooked = s.evaluate("BENCH.hooked").await?.as_bool().unwrap_or(false);
        if hooked != (*hooks == Hooks::Inject) {
            return Err(bad(format!(
                "a page with {} found the hook {}",
                hooks.label(),
                if hooked { "present" } else { "absent" }
            )));
        }
    }
    let mut outputs = [Vec::new(), Vec::new()];
    for i in 0..opts.n {
        // A B, B A, A B, …: neither side always goes first.
        let order: [usize; 2] = if (i + rep_index).is_multiple_of(2) {
            [0, 1]
        } else {
            [1, 0]
        };
        for k in order {
            let s = &sessions[k].1;
            let r = s.evaluate("BENCH.step()").await?;
            let ms = r["own_ms"]
                .as_f64()
                .ok_or_else(|| bad(format!("step gave no own_ms: {r}")))?;
            side_of(rep, k).latencies.push(ms);
            outputs[k].push(r["out"].as_str().unwrap_or_default().to_owned());
        }
    }
    let order: [usize; 2] = if rep_index.is_multiple_of(2) {
        [0, 1]
    } else {
        [1, 0]
    };
    for k in order {
        let s = &sessions[k].1;
        let fps = s
            .evaluate(&format!("BENCH.idleFps({})", opts.idle_ms))
            .await?
            .as_f64()
            .ok_or_else(|| bad("idleFps gave no number".into()))?;
        side_of(rep, k).idle_fps.push(fps);
    }
    for (k, o) in outputs.iter_mut().enumerate() {
        side_of(rep, k).outputs.push(std::mem::take(o));
    }
    Ok(())
}

/// Session 0 is side A (`hooked`), session 1 side B (`plain`).
fn side_of(rep: &mut Report, k: usize) -> &mut Side {
    if k == 0 {
        &mut rep.hooked
    } else {
        &mut rep.plain
    }
}

/// The reports as a Markdown table: config, metric, with hooks, without, value, target, met.
pub fn table(reports: &[Report]) -> String {
    let mut s = String::from(
        "| config | metric | with hooks | without | value | target | met |\n\
         | --- | --- | ---: | ---: | ---: | --- | --- |\n",
    );
    let yes = |b: bool| if b { "yes" } else { "NO" };
    for r in reports {
        let name = r.config.name();
        let ratio = r.latency_ratio();
        s.push_str(&format!(
            "| {name} | infer p50 (ms), page timer, {} + {} inferences | {:.2} | {:.2} | ratio {:.4} | ≤ {:.2} | {} |\n",
            r.hooked.latencies.len(),
            r.plain.latencies.len(),
            p50(&r.hooked.latencies).unwrap_or(f64::NAN),
            p50(&r.plain.latencies).unwrap_or(f64::NAN),
            ratio,
            1.0 + LATENCY_ADDED_MAX,
            yes(ratio <= 1.0 + LATENCY_ADDED_MAX)
        ));
        let pr = r.pair_ratio();
        s.push_str(&format!(
            "| {name} | infer, p50 of per-pair ratios (back-to-back A/B) | | | ratio {pr:.4} | ≤ {:.2} | {} |\n",
            1.0 + LATENCY_ADDED_MAX,
            yes(pr <= 1.0 + LATENCY_ADDED_MAX)
        ));
        let d = r.fps_diff();
        s.push_str(&format!(
            "| {name} | idle FPS, page rAF count, {} + {} runs | {:.2} | {:.2} | diff {:+.2} | ± {FPS_DIFF_MAX} | {} |\n",
            r.hooked.idle_fps.len(),
            r.plain.idle_fps.len(),
            mean(&r.hooked.idle_fps),
            mean(&r.plain.idle_fps),
            d,
            yes(d.abs() <= FPS_DIFF_MAX)
        ));
        let same = r.outputs_identical();
        s.push_str(&format!(
            "| {name} | outputs identical | | | {} | yes | {} |\n",
            yes(same),
            yes(same)
        ));
    }
    s
}

/// One variant of the cost breakdown ([`parts`]): a label and what side A runs.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Row label, e.g. `hook, mem_infer off`.
    pub label: String,
    /// A/A: no hook on side A either.
    pub control: bool,
    /// Fields merged into side A's hook config.
    pub hook_config: Option<serde_json::Value>,
}

/// The hook parts that can be switched off (`injector/js/RULES.md`, "Switches"), in the
/// order the cost table lists them.
pub const PARTS: &[&str] = &[
    "proto_traps",
    "kernel_wrap",
    "mem_infer",
    "now",
    "records",
    "perf",
    "transport",
    "all",
];

/// The default variants: A/A control, the full hook, then the hook with each of [`PARTS`]
/// switched off in turn.
pub fn part_variants() -> Vec<Variant> {
    let mut v = vec![
        Variant {
            label: "A/A control (no hook either side)".into(),
            control: true,
            hook_config: None,
        },
        Variant {
            label: "full hook".into(),
            control: false,
            hook_config: None,
        },
    ];
    for p in PARTS {
        v.push(Variant {
            label: format!("hook, `{p}` off"),
            control: false,
            hook_config: Some(serde_json::json!({ "off": [p] })),
        });
    }
    v
}

/// Cost breakdown: `rounds` times, every variant in turn (so each variant sees the same
/// spread of machine load), each a full [`run`] with `base`'s settings; the reports of one
/// variant are pooled across rounds (pairs stay pairs). Returns one pooled report per
/// variant and configuration, in variant order.
pub async fn parts(
    base: &ObserverOptions,
    variants: &[Variant],
    rounds: usize,
) -> Result<Vec<(Variant, Vec<Report>)>, ObserverError> {
    let mut pooled: Vec<Vec<Report>> = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        for (i, v) in variants.iter().enumerate() {
            let mut opts = base.clone();
            opts.control = v.control;
            opts.hook_config = v.hook_config.clone();
            let reports = run(&opts).await?;
            if pooled[i].is_empty() {
                pooled[i] = reports;
            } else {
                for (acc, r) in pooled[i].iter_mut().zip(reports) {
                    for (a, b) in [(&mut acc.hooked, r.hooked), (&mut acc.plain, r.plain)] {
                        a.latencies.extend(b.latencies);
                        a.idle_fps.extend(b.idle_fps);
                        a.outputs.extend(b.outputs);
                    }
                }
            }
        }
    }
    Ok(variants.iter().cloned().zip(pooled).collect())
}

/// The cost breakdown as a Markdown table: variant, config, side A p50, side B p50, pooled
/// p50 ratio, p50 of per-pair ratios, added latency (per-pair ratio − 1, %), pairs, outputs
/// identical.
pub fn parts_table(rows: &[(Variant, Vec<Report>)]) -> String {
    let mut s = String::from(
        "| variant (side A) | config | A p50 ms | B p50 ms | pooled p50 ratio | per-pair p50 ratio | added | pairs | outputs identical |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    for (v, reports) in rows {
        for r in reports {
            let pr = r.pair_ratio();
            s.push_str(&format!(
                "| {} | {} | {:.2} | {:.2} | {:.4} | {:.4} | {:+.1} % | {} | {} |\n",
                v.label,
                r.config.name(),
                p50(&r.hooked.latencies).unwrap_or(f64::NAN),
                p50(&r.plain.latencies).unwrap_or(f64::NAN),
                r.latency_ratio(),
                pr,
                (pr - 1.0) * 100.0,
                r.hooked.latencies.len().min(r.plain.latencies.len()),
                if r.outputs_identical() { "yes" } else { "NO" }
            ));
        }
    }
    s
}

/// The in-page probe of [`micro`]: after each real inference of the bench page (its own
/// `BENCH.step()`), times — in the same hooked page, so no second process adds noise — what
/// each hook part does per inference: counts the engine's kernel, op-scope and tidy calls of
/// one inference (by wrapping them for that one call), and times 2000 repetitions of
/// `performance.memory` (what a `mem` sample reads), `W.sampleMem()`, an eager record build
/// (`JSON.stringify` + UTF-8 length, what the transport did inside the call before records
/// became lazy), the lazy `W.emit`, `performance.now()`, and one call through a wrapper of the
/// hook's shape (`orig.apply(this, arguments)` plus a check). Values in µs.
const MICRO_JS: &str = r#"(async () => {
  const W = self[Symbol.for('webinfer.hook')];
  const eng = W && W.tfjs && W.tfjs.engine();
  const N = 2000;
  const time = (f) => { for (let i = 0; i < 100; i++) f(); const t0 = performance.now(); for (let i = 0; i < N; i++) f(); return (performance.now() - t0) / N * 1000; };
  const rec = { framework: 'tfjs', model: 'https://bench.webinfer.test/node_modules/@vladmandic/human/models/blazeface.json', backend: 'wasm', api: 'GraphModel.predict', layer: 'model', start: 1234.5, dur: 35.25, call: 17, input_shapes: [[1, 256, 256, 3]], ready: 'return' };
  const counts = { runKernel: 0, startScope: 0, tidy: 0 };
  if (eng) {
    const saved = {};
    for (const k of Object.keys(counts)) {
      saved[k] = Object.getOwnPropertyDescriptor(eng, k);
      const f = eng[k];
      eng[k] = function () { counts[k]++; return f.apply(this, arguments); };
    }
    await BENCH.step();
    for (const k of Object.keys(counts)) { if (saved[k]) Object.defineProperty(eng, k, saved[k]); else delete eng[k]; }
  }
  const out = { kernels: counts.runKernel, op_scopes: counts.startScope, tidies: counts.tidy };
  const costs = { perf_memory: [], sample_mem: [], eager_record: [], lazy_emit: [], now: [], wrapper_call: [] };
  const target = { f: function (a, b) { return a; } };
  const orig = target.f;
  let flag = null;
  const wrapped = function (a) { if (flag) flag++; return orig.apply(this, arguments); };
  for (let s = 0; s < 5; s++) {
    await BENCH.step();
    costs.perf_memory.push(time(() => { const m = performance.memory; return m ? m.usedJSHeapSize + m.totalJSHeapSize + m.jsHeapSizeLimit : 0; }));
    costs.sample_mem.push(time(() => W.sampleMem()));
    costs.eager_record.push(time(() => { const s2 = JSON.stringify(Object.assign({ v: 1, sid: 'x', seq: 1, ts: 1, kind: 'infer' }, rec)); return W.utf8Length(s2); }));
    const emit = W.transport.emit;
    costs.lazy_emit.push(time(() => emit('probe', rec)));
    costs.now.push(time(() => performance.now()));
    costs.wrapper_call.push(time(() => wrapped.call(target, 1, 2)) - time(() => orig.call(target, 1, 2)));
  }
  const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  for (const k of Object.keys(costs)) out[k] = med(costs[k]);
  return out;
})()"#;

/// In-page costs of the hook's parts per inference, from [`MICRO_JS`] in a hooked bench page
/// of `c`: counts of engine calls per inference, and µs per operation.
pub async fn micro(c: Config, warm: usize) -> Result<serde_json::Value, ObserverError> {
    let site = harness::start_site().await?;
    let page = format!("{}&drive=1", c.page(1, warm, 300, false));
    let ro = RunOptions::new(page);
    let s = harness::Session::open(&site, &ro).await?;
    let r = async {
        s.wait_until(
            "!!(self.BENCH && BENCH.ready)",
            std::time::Duration::from_secs(180),
        )
        .await?;
        s.evaluate(MICRO_JS).await
    }
    .await;
    s.close().await;
    site.shutdown().await;
    Ok(r?)
}

/// The in-page A/B of [`toggles`]: in one hooked bench page, each hook part that can be
/// switched at run time is switched on and off between consecutive inferences (on, off, off,
/// on, …, `PAIRS` pairs), so both halves of every pair ran in the same process a few ms
/// apart; the part's cost is the p50 of the per-pair ratios `own_ms(on) / own_ms(off)`.
/// Parts (the page's real hook is on throughout; "on" adds what the part did):
/// - `op_wrappers`: the per-op wrappers of the earlier design — `startScope`, `endScope` and
///   `runKernel` wrapped on the engine with that design's bookkeeping (scope depth, candidate
///   check, per-kernel FNV hash) — on every op of every call;
/// - `tidy_wrapper`: the current design's `engine.tidy` wrapper (removed for "off");
/// - `sync_mem`: a `mem` sample taken synchronously at the end of each model call (the earlier
///   design) instead of in a later task;
/// - `eager_records`: each record serialized inside `emit` (the earlier design) instead of at
///   the flush;
/// - `engine_accessor`: `globalThis._tfengine` as the accessor the earlier design left there
///   (tfjs reads it on every tensor operation) instead of a plain data property.
///
/// Parts of the current hook, switched off for "off" and back on after each pair:
/// - `ort_wrappers`: ORT's run wrappers (`InferenceSession.prototype.run`, the session
///   handler's `run`, the `_OrtRun`/`_OrtCreateSession` export wrappers) replaced by the
///   originals;
/// - `proto_traps`: the `Object.prototype` assignment traps (`sessionId`, `_OrtRun`, …) removed;
/// - `mem_infer`, `records`, `now`: as the config switches of the same names (RULES.md);
/// - `all_switchable`: all of the above at once.
const TOGGLES_JS: &str = r#"(() => {
  const W = self[Symbol.for('webinfer.hook')];
  const eng = W && W.tfjs && W.tfjs.engine();
  const T = W.tfjs;
  const parts = {};
  if (eng) {
    parts.op_wrappers = (() => {
      const names = ['startScope', 'endScope', 'runKernel'];
      let depth = 0, cand = null;
      const w = {
        startScope: function (name) { const r = Engine.startScope.apply(this, arguments); depth++; if (depth === 1) { cand = null; W.safe('s', function () { const st = eng.state; if (T.modelActive > 0 || (st && st.kernelDepth > 0)) return; cand = { name: name, start: W.now(), kernels: 0, hash: 0x811c9dc5 }; }); } return r; },
        endScope: function (result) { const r = Engine.endScope.apply(this, arguments); if (depth > 0) depth--; if (depth === 0 && cand) { cand = null; } return r; },
        runKernel: function (kernelName) { if (cand) { const st = eng.state; if (!st || !st.kernelDepth) { cand.kernels++; const s = String(kernelName) + ','; let h = cand.hash; for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; } cand.hash = h; } } return Engine.runKernel.apply(this, arguments); }
      };
      const Engine = {};
      for (const n of names) Engine[n] = Object.getPrototypeOf(eng)[n];
      return { on() { for (const n of names) eng[n] = w[n]; }, off() { for (const n of names) delete eng[n]; } };
    })();
    const tidyDesc = Object.getOwnPropertyDescriptor(eng, 'tidy');
    if (tidyDesc) parts.tidy_wrapper = { on() { Object.defineProperty(eng, 'tidy', tidyDesc); }, off() { delete eng.tidy; } };
    const soon = W.sampleMemSoon;
    parts.sync_mem = { on() { W.sampleMemSoon = function () { W.sampleMem(); }; }, off() { W.sampleMemSoon = soon; } };
    const emit = W.emit;
    parts.eager_records = { on() { W.emit = function (k, f, ts) { const r = emit(k, f, ts); try { W.utf8Length(JSON.stringify(Object.assign({ v: 1, sid: W.sid, seq: r, ts: 0, kind: k }, f))); } catch (e) {} return r; }; }, off() { W.emit = emit; } };
    parts.engine_accessor = { on() { const v = self._tfengine; Object.defineProperty(self, '_tfengine', { configurable: true, enumerable: true, get: function () { return v; }, set: function (x) {} }); }, off() { const v = self._tfengine; Object.defineProperty(self, '_tfengine', { value: v, writable: true, configurable: true, enumerable: true }); } };
  }
  // Parts of the current hook that can be switched off at run time (rest: 'on' — each pair
  // ends with the part back on, as the hook runs it).
  const O = W && W.ort;
  const cur = [];
  if (O && O.wrapped && O.wrapped.length) {
    const saved = O.wrapped.map(([o, k]) => [o, k, o[k]]);
    parts.ort_wrappers = { rest: 'on', on() { for (const [o, k, f] of saved) o[k] = f; }, off() { for (const [o, k, f] of saved) if (f && f.__webinfer_orig) o[k] = f.__webinfer_orig; } };
    cur.push('ort_wrappers');
  }
  const trapNames = W && W.assignTrapNames ? W.assignTrapNames() : [];
  if (trapNames.length) {
    const d = {};
    for (const n of trapNames) d[n] = Object.getOwnPropertyDescriptor(Object.prototype, n);
    parts.proto_traps = { rest: 'on', on() { for (const n in d) if (d[n]) Object.defineProperty(Object.prototype, n, d[n]); }, off() { for (const n in d) delete Object.prototype[n]; } };
    cur.push('proto_traps');
  }
  if (W) {
    if (!W.config.off) W.config.off = [];
    const offs = W.config.off;
    parts.mem_infer = { rest: 'on', on() { const i = offs.indexOf('mem_infer'); if (i >= 0) offs.splice(i, 1); }, off() { if (offs.indexOf('mem_infer') < 0) offs.push('mem_infer'); } };
    const emit0 = W.emit;
    parts.records = { rest: 'on', on() { W.emit = emit0; }, off() { W.emit = function () { return -1; }; } };
    const now0 = W.now;
    parts.now = { rest: 'on', on() { W.now = now0; }, off() { W.now = function () { return 0; }; } };
    cur.push('mem_infer', 'records', 'now');
    const all = cur.slice();
    parts.all_switchable = { rest: 'on', on() { for (const n of all) parts[n].on(); }, off() { for (const n of all) parts[n].off(); } };
  }
  self.__webinferToggles = {
    names: Object.keys(parts),
    /** One pair of inferences, part on and off, in the order given; part off afterwards. */
    async pair(name, onFirst) {
      const p = parts[name];
      const res = {};
      for (const side of onFirst ? ['on', 'off'] : ['off', 'on']) {
        p[side]();
        res[side] = (await BENCH.step()).own_ms;
      }
      if (p.rest === 'on') p.on(); else p.off();
      return res;
    }
  };
  return Object.keys(parts);
})()"#;

/// Runs [`TOGGLES_JS`] in a hooked bench page of `c` with `pairs` pairs per part; returns
/// `{part: {pair_ratio, on_p50, off_p50, pairs}}`.
pub async fn toggles(
    c: Config,
    warm: usize,
    pairs: usize,
) -> Result<serde_json::Value, ObserverError> {
    let site = harness::start_site().await?;
    let page = format!("{}&drive=1", c.page(1, warm, 300, false));
    let s = harness::Session::open(&site, &RunOptions::new(page)).await?;
    let r = async {
        s.wait_until(
            "!!(self.BENCH && BENCH.ready)",
            std::time::Duration::from_secs(180),
        )
        .await?;
        let names = s.evaluate(TOGGLES_JS).await?;
        let mut out = serde_json::Map::new();
        for name in names.as_array().cloned().unwrap_or_default() {
            let name = name.as_str().unwrap_or_default().to_owned();
            let (mut on, mut off, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..pairs {
                let r = s
                    .evaluate(&format!(
                        "self.__webinferToggles.pair({}, {})",
                        serde_json::Value::from(name.clone()),
                        i % 2 == 0
                    ))
                    .await?;
                let (a, b) = (
                    r["on"].as_f64().unwrap_or(f64::NAN),
                    r["off"].as_f64().unwrap_or(f64::NAN),
                );
                on.push(a);
                off.push(b);
                ratios.push(a / b);
            }
            out.insert(
                name,
                serde_json::json!({
                    "pair_ratio": p50(&ratios), "on_p50": p50(&on), "off_p50": p50(&off), "pairs": pairs
                }),
            );
        }
        Ok::<_, HarnessError>(serde_json::Value::Object(out))
    }
    .await;
    s.close().await;
    site.shutdown().await;
    Ok(r?)
}

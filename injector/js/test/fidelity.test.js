// Issue 16/17 behaviour of the hook in page-like realms: the benchmark switches (each part
// switched off really is off), lazy records, results sent within 100 ms, flush when hidden,
// the DevTools track, and a bundled ORT found through what its wasm path reveals.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const vm = require('node:vm');
const { loadInContext, collect, fakeTimers, flushMicrotasks } = require('./helpers');

/** Globals of a page realm with a started hook; `cfg` is merged into its config. */
function page(cfg = {}, extra = {}) {
  const posts = [];
  const beacons = [];
  const listeners = {};
  const docListeners = {};
  const measures = [];
  const cleared = [];
  const doc = {
    visibilityState: 'visible', readyState: 'loading', nodeName: '#document',
    addEventListener: (t, f) => { (docListeners[t] = docListeners[t] || []).push(f); },
    querySelectorAll: () => [],
  };
  const g = {
    location: { href: 'https://site.test/app/index.html', origin: 'https://site.test' },
    navigator: { userAgent: 'UA', hardwareConcurrency: 2, sendBeacon: (url, body) => { beacons.push(JSON.parse(body)); return true; } },
    crossOriginIsolated: false,
    document: doc,
    fetch: (url, init) => { posts.push({ url, init, records: init && init.body ? JSON.parse(init.body) : null }); return Promise.resolve({ ok: true, status: 204 }); },
    addEventListener: (t, f) => { (listeners[t] = listeners[t] || []).push(f); },
    requestAnimationFrame: () => 1,
    crypto: { getRandomValues: (a) => a },
    __WEBINFER_CONFIG__: { v: 1, sid: 'pg1', parent: null, scope: 'document', endpoint: '/__webinfer__/trace', sample_ms: 0, flush_ms: 1000, ...cfg },
    ...extra,
  };
  g.performance = {
    now: () => 0, timeOrigin: 1, getEntriesByName: () => [], getEntriesByType: () => [],
    measure: (name, opts) => { measures.push({ name, ...opts }); },
    clearMeasures: (name) => { cleared.push(name); },
  };
  return { g, posts, beacons, listeners, docListeners, measures, cleared };
}

/** Loads the hook into `p.g` with fake timers driving its clock and timeouts. */
function start(p) {
  const timers = fakeTimers();
  p.g.performance.now = timers.now;
  p.g.setTimeout = timers.setTimeout;
  const { ctx, W } = loadInContext(p.g);
  return { ctx, W, timers };
}

const sent = (p) => p.posts.flatMap((x) => x.records || []).concat(p.beacons.flat());

test('switch proto_traps: no accessor is put on Object.prototype', () => {
  const p = page({ off: ['proto_traps'] });
  const { ctx } = start(p);
  const names = vm.runInContext("['resourceManager', 'isTraining', '_OrtRun', '_OrtCreateSession', 'sessionId'].filter((n) => Object.getOwnPropertyDescriptor(Object.prototype, n))", ctx);
  assert.deepEqual([...names], []);
  const on = start(page());
  const names2 = vm.runInContext("['resourceManager', 'isTraining', '_OrtRun', '_OrtCreateSession', 'sessionId'].filter((n) => Object.getOwnPropertyDescriptor(Object.prototype, n))", on.ctx);
  assert.deepEqual([...names2].sort(), ['_OrtCreateSession', '_OrtRun', 'isTraining', 'resourceManager', 'sessionId']);
});

test('switch kernel_wrap: the engine found is not wrapped (no tidy rule)', () => {
  for (const [off, wrapped] of [[[], true], [['kernel_wrap'], false]]) {
    const p = page({ off });
    const { ctx, W } = start(p);
    vm.runInContext('class Engine { tidy(a, b) { return (b || a)(); } runKernel() {} } globalThis._tfengine = new Engine();', ctx);
    assert.equal(W.tfjs.engines.length, 1);
    assert.equal(vm.runInContext("Object.prototype.hasOwnProperty.call(_tfengine, 'tidy')", ctx), wrapped, `off=${off}`);
  }
});

test('switch mem_infer: no mem sample is scheduled after an inference', async () => {
  for (const [off, expect] of [[[], 1], [['mem_infer'], 0]]) {
    const p = page({ off });
    const { W, timers } = start(p);
    let samples = 0;
    W.sampleMem = () => { samples++; };
    await timers.advance(200);
    samples = 0;
    W.ort.wrapRun(() => 0)(7);
    await timers.advance(10);
    assert.equal(samples, expect, `off=${off}`);
  }
});

test('switch now: the hook reads no clock (every ts is 0)', async () => {
  const p = page({ off: ['now'] });
  const { W, timers } = start(p);
  await timers.advance(1500);
  W.emit('probe', { start: 1, delay: 0 });
  await timers.advance(1500);
  assert.ok(sent(p).length >= 2);
  assert.ok(sent(p).every((r) => r.ts === 0));
});

test('switch records: hook emitters queue nothing', async () => {
  const p = page({ off: ['records'] });
  const { W, timers } = start(p);
  assert.equal(W.emit('infer', { model: 'm' }), -1);
  W.ort.wrapRun(() => 0)(1);
  await timers.advance(3000);
  assert.deepEqual(sent(p).map((r) => r.kind), ['session']);
});

test('switch perf: no observers, probe or frame loop start', async () => {
  for (const [off, probes] of [[[], true], [['perf'], false]]) {
    const p = page({ off });
    const { timers } = start(p);
    await timers.advance(2500);
    assert.equal(sent(p).some((r) => r.kind === 'probe'), probes, `off=${off}`);
  }
});

test('switch transport: records are built but never POSTed', async () => {
  const p = page({ off: ['transport', 'perf'] });
  const { W, timers } = start(p);
  W.emit('probe', { start: 1, delay: 0 });
  await timers.advance(3000);
  assert.equal(p.posts.length, 0);
  assert.equal(W.transport.pending(), 0, 'acknowledged as sent');
});

test('switch all: nothing is installed, only the session goes out', async () => {
  const p = page({ off: ['all'] }, { WebAssembly: { Memory: function Memory() {}, Instance: function Instance() {} } });
  const mem = p.g.WebAssembly.Memory;
  const { ctx, timers } = start(p);
  await timers.advance(3000);
  assert.equal(vm.runInContext('WebAssembly.Memory', ctx), mem);
  assert.equal(vm.runInContext("Object.getOwnPropertyDescriptor(Object.prototype, 'isTraining')", ctx), undefined);
  assert.deepEqual(sent(p).map((r) => r.kind), ['session']);
});

test('records are built lazily: emit serializes nothing, the flush does', async () => {
  const p = page({ off: ['perf'] });
  const { W, timers } = start(p);
  let calls = 0;
  const fields = { model: 'm', get toJSON() { calls++; return undefined; } };
  W.emit('probe', fields);
  assert.equal(calls, 0, 'nothing serialized inside the caller');
  await timers.advance(2000);
  assert.equal(calls, 1);
});

test('in a document, infer records go out within 100 ms; others wait for the interval', async () => {
  const p = page({ off: ['perf'] });
  const { W, timers } = start(p);
  await timers.advance(100); // session
  p.posts.length = 0;
  W.emit('probe', { start: 1, delay: 0 });
  await timers.advance(50);
  W.emit('infer', { framework: 'ort', model: 'm', api: 'x', start: 1, dur: 1, call: 1 });
  await timers.advance(100);
  assert.equal(p.posts.length, 1);
  assert.deepEqual(p.posts[0].records.map((r) => r.kind), ['probe', 'infer']);
  assert.equal(p.posts[0].init.keepalive, true);
});

test('a document turning hidden beacons its queue at once (no end record)', async () => {
  const p = page({ off: ['perf'] });
  const { W, timers } = start(p);
  await timers.advance(100);
  W.emit('probe', { start: 1, delay: 0 });
  p.g.document.visibilityState = 'hidden';
  for (const f of p.docListeners.visibilitychange) f({});
  assert.deepEqual(p.beacons.flat().map((r) => r.kind), ['probe']);
  assert.equal(W.transport.pending(), 0);
});

test('devtools_track: each inference and model load becomes a measure with detail.devtools; old ones are cleared', async () => {
  const p = page({ devtools_track: true, off: ['perf'] });
  const { W, timers } = start(p);
  W.emit('model_load', { framework: 'ort', model: 'https://site.test/m/model.onnx', start: 1, dur: 9, bytes: 10 });
  W.emit('infer', { framework: 'ort', model: 'https://site.test/m/model.onnx', backend: 'wasm', api: 'InferenceSession.run', start: 20, dur: 3, call: 1 });
  W.emit('infer', { framework: 'ort', model: 'https://site.test/m/model.onnx', backend: 'wasm', api: 'InferenceSession.run', start: 30, dur: 2, call: 2 });
  W.emit('probe', { start: 1, delay: 0 });
  assert.equal(p.measures.length, 0, 'not inside the call');
  await timers.advance(1);
  assert.deepEqual(p.measures.map((m) => m.name), ['webinfer load model.onnx (1)', 'webinfer warm-up model.onnx #1', 'webinfer model.onnx #2']);
  const m = p.measures[2];
  assert.equal(m.start, 30);
  assert.equal(m.end, 32);
  assert.equal(m.detail.devtools.dataType, 'track-entry');
  assert.equal(m.detail.devtools.trackGroup, 'webinfer');
  assert.equal(m.detail.devtools.track, 'webinfer ort');
  assert.deepEqual(JSON.parse(JSON.stringify(m.detail.devtools.properties.slice(0, 4))), [['model', 'https://site.test/m/model.onnx'], ['backend', 'wasm'], ['api', 'InferenceSession.run'], ['call', '2']]);
  // the window: measures older than devtoolsWindowMs are cleared by name
  W.devtoolsWindowMs = 100;
  await timers.advance(200);
  W.emit('infer', { framework: 'ort', model: 'm', start: 250, dur: 1, call: 3 });
  await timers.advance(1);
  assert.deepEqual(p.cleared, ['webinfer load model.onnx (1)', 'webinfer warm-up model.onnx #1', 'webinfer model.onnx #2']);
  // off by default
  const q = page();
  const s = start(q);
  s.W.emit('infer', { framework: 'ort', model: 'm', start: 1, dur: 1, call: 1 });
  await s.timers.advance(10);
  assert.equal(q.measures.length, 0);
});

/** An ORT-like bundle (no globals): the classes and call chain of onnxruntime-web 1.30. */
const FAKE_ORT = `
  const Module = {};
  let next = 1000;
  Module._OrtCreateSession = function (off, len) { return ++next; };
  Module._OrtRun = function (h) { return 0; };
  class Handler {
    async loadModel(buf) { [this.sessionId, this.inputNames] = [Module._OrtCreateSession(0, buf.byteLength), ['x']]; }
    async run(feeds) { Module._OrtRun(this.sessionId); return { y: { dims: [1] } }; }
    async dispose() {}
    startProfiling() {}
    endProfiling() {}
  }
  class InferenceSession {
    constructor(handler) { this.handler = handler; }
    static async create(buf) { const h = new Handler(); await h.loadModel(buf); return new InferenceSession(h); }
    async run(feeds) { const r = await this.handler.run(feeds); return r; }
  }
  const bundle = { InferenceSession };
`;

test('bundled ORT: the InferenceSession class is found through the wasm session handle; runs are InferenceSession.run', async () => {
  const { ctx, W } = loadInContext({ location: { href: 'https://site.test/p/' } });
  const records = collect(W);
  W.ort.install();
  const out = await vm.runInContext(FAKE_ORT + `
    (async () => {
      const a = await bundle.InferenceSession.create(new Uint8Array(83));
      await a.run({ x: { dims: [1, 4] } });
      await a.run({ x: { dims: [1, 4] } });
      const b = await bundle.InferenceSession.create(new Uint8Array(120));
      await b.run({ x: { dims: [2, 4] } });
      return { handlerTrap: !!Object.getOwnPropertyDescriptor(Object.prototype, 'handler'), own: Object.keys(a) };
    })()`, ctx);
  await flushMicrotasks();
  assert.equal(out.handlerTrap, false, 'the handler trap is removed once the class is found');
  assert.deepEqual([...out.own], ['handler']);
  const inf = records.filter((r) => r.kind === 'infer');
  assert.deepEqual(inf.map((r) => [r.api, r.layer, r.model, r.call, r.ort_run]), [
    ['InferenceSession.run', 'model', 'onnx:83B', 1, '1001:1'],
    ['InferenceSession.run', 'model', 'onnx:83B', 2, '1001:2'],
    ['InferenceSession.run', 'model', 'onnx:120B', 1, '1002:1'],
  ]);
  assert.deepEqual(inf[2].input_shapes, [[2, 4]]);
  for (const r of inf) {
    assert.equal(r.model_origin, 'generated', 'a buffer no fetched resource matches');
    assert.equal(typeof r.model_bytes, 'number');
  }
  // the second session was created through the wrapped create: one model_load, from the JS level
  const loads = records.filter((r) => r.kind === 'model_load');
  assert.deepEqual(loads.map((r) => [r.model, r.bytes, r.model_origin]), [['onnx:83B', 83, 'generated'], ['onnx:120B', 120, 'generated']]);
});

test('ORT proxy worker: page and worker give the same run the same ort_run key', async () => {
  // page side: InferenceSession + a handler whose run goes elsewhere (no wasm in the page)
  const page1 = loadInContext({ location: { href: 'https://site.test/p/' } });
  const pageRecs = collect(page1.W);
  page1.W.ort.install();
  await vm.runInContext(`
    class Handler {
      async loadModel() { [this.sessionId] = [5]; }
      async run() { return {}; }
      async dispose() {}
      endProfiling() {}
    }
    class InferenceSession { constructor(h) { this.handler = h; } async run(f) { return this.handler.run(f); } }
    (async () => { const h = new Handler(); await h.loadModel(); const s = new InferenceSession(h); await s.run({}); await s.run({}); })()`, page1.ctx);
  // worker side: the emscripten module
  const worker = loadInContext({ location: { href: 'https://site.test/ort.worker.js' } });
  const workerRecs = collect(worker.W);
  worker.W.ort.install();
  vm.runInContext('const M = {}; M._OrtCreateSession = () => 5; M._OrtRun = () => 0; const h = M._OrtCreateSession(0, 10); M._OrtRun(h); M._OrtRun(h);', worker.ctx);
  await flushMicrotasks();
  const keys = (rs) => rs.filter((r) => r.kind === 'infer').map((r) => [r.layer, r.ort_run]);
  assert.deepEqual(keys(pageRecs), [['handler', '5:1'], ['handler', '5:2']].map(([, k]) => ['model', k]));
  assert.deepEqual(keys(workerRecs), [['wasm', '5:1'], ['wasm', '5:2']]);
});

test('an infer queued while a POST is in flight still goes out within 100 ms of its emit', async () => {
  const p = page({ off: ['perf'] });
  let release;
  p.g.fetch = (url, init) => { p.posts.push({ records: JSON.parse(init.body) }); return new Promise((r) => { release = () => r({ ok: true, status: 204 }); }); };
  const { W, timers } = start(p);
  await timers.advance(10); // the session POST is in flight, unanswered
  W.emit('infer', { framework: 'ort', model: 'm', api: 'x', start: 1, dur: 1, call: 1 });
  await timers.advance(30);
  release();
  await flushMicrotasks();
  await timers.advance(100);
  assert.deepEqual(p.posts.map((x) => x.records.map((r) => r.kind)), [['session'], ['infer']]);
});

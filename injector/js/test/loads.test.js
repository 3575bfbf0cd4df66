// Model artifacts from Resource Timing, weights manifests seen through fetch, memory samples,
// frames: with fake browser objects in a vm context.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadInContext, collect, fakeTimers, flushMicrotasks } = require('./helpers');

function perfWith(entries) {
  return {
    now: () => 10,
    timeOrigin: 0,
    getEntriesByName: (name) => entries.filter((e) => e.name === name),
    getEntriesByType: () => entries,
  };
}

test('model_load sums the decoded body sizes of every artifact', () => {
  const entries = [
    { name: 'https://s.test/m/model.json', decodedBodySize: 100, responseEnd: 50 },
    { name: 'https://s.test/m/group1.bin', decodedBodySize: 4000, responseEnd: 80 },
  ];
  const { W } = loadInContext({ performance: perfWith(entries) });
  const records = collect(W);
  W.emitModelLoad('tfjs', 'https://s.test/m/model.json', 10, 90, entries.map((e) => e.name));
  assert.equal(records.length, 1);
  const r = records[0];
  assert.equal(r.kind, 'model_load');
  assert.equal(r.bytes, 4100);
  assert.equal(r.start, 10);
  assert.equal(r.dur, 80);
  assert.deepEqual(r.artifacts, [{ url: 'https://s.test/m/model.json', bytes: 100 }, { url: 'https://s.test/m/group1.bin', bytes: 4000 }]);
});

test('model_load waits for late Resource Timing entries, then leaves bytes out if one stays unknown', async () => {
  const entries = [{ name: 'https://s.test/a.json', decodedBodySize: 10, responseEnd: 5 }];
  const timers = fakeTimers();
  const { W } = loadInContext({ performance: perfWith(entries) });
  W.setTimeout = timers.setTimeout;
  const records = collect(W);
  W.emitModelLoad('tfjs', 'https://s.test/a.json', 0, 5, ['https://s.test/a.json', 'https://s.test/a.bin', 'https://s.test/gone.bin']);
  assert.equal(records.length, 0, 'waits');
  await timers.advance(200);
  entries.push({ name: 'https://s.test/a.bin', decodedBodySize: 20, responseEnd: 6 });
  await timers.advance(5000);
  assert.equal(records.length, 1);
  assert.equal(records[0].bytes, undefined, 'no total when an artifact size is unknown');
  assert.deepEqual(records[0].artifacts.map((a) => a.bytes), [10, 20, undefined]);
});

test('a weights manifest fetched by the page becomes a model_load of manifest + shards', async () => {
  const manifest = [{ paths: ['tiny.bin'], weights: [] }];
  const entries = [];
  const timers = fakeTimers();
  const fetched = [];
  const fetchImpl = (url) => {
    fetched.push(url);
    const resp = { ok: true, url: 'https://s.test/model/tiny-weights_manifest.json', clone: () => ({ json: () => Promise.resolve(manifest) }), json: () => Promise.resolve(manifest) };
    return Promise.resolve(resp);
  };
  const { ctx, W } = loadInContext({ performance: perfWith(entries), fetch: fetchImpl, location: { href: 'https://s.test/index.html' } });
  W.setTimeout = timers.setTimeout;
  const records = collect(W);
  W.installFetch();
  const vm = require('node:vm');
  const got = await vm.runInContext("fetch('/model/tiny-weights_manifest.json').then((r) => r.json())", ctx);
  assert.equal(got, manifest, 'the page gets its own response untouched');
  await flushMicrotasks();
  entries.push({ name: 'https://s.test/model/tiny-weights_manifest.json', decodedBodySize: 300, responseEnd: 40 });
  entries.push({ name: 'https://s.test/model/tiny.bin', decodedBodySize: 7000, responseEnd: 75 });
  await timers.advance(1000);
  assert.equal(records.length, 1);
  const r = records[0];
  assert.equal(r.model, 'https://s.test/model/tiny-weights_manifest.json');
  assert.equal(r.bytes, 7300);
  assert.deepEqual(r.artifacts.map((a) => a.url), ['https://s.test/model/tiny-weights_manifest.json', 'https://s.test/model/tiny.bin']);
  assert.equal(r.dur, 75 - r.start, 'ends with the last shard');
  assert.deepEqual(fetched, ['/model/tiny-weights_manifest.json'], 'no extra request');
});

test('mem: tf.memory() is read only once a backend is initialised (never initialises one)', () => {
  const { W } = loadInContext({ performance: { now: () => 1, memory: { usedJSHeapSize: 1, totalJSHeapSize: 2, jsHeapSizeLimit: 3 } } });
  const records = collect(W);
  let memoryCalls = 0;
  const engine = { backendName: null, memory: () => { memoryCalls++; return { numBytes: 64, numTensors: 2, numBytesInGPU: 32 }; }, startScope() {}, endScope() {}, runKernel() {} };
  W.tfjs.hookEngine(engine);
  W.sampleMem();
  assert.equal(memoryCalls, 0);
  assert.deepEqual(records[0], { seq: 0, kind: 'mem', js_heap_used: 1, js_heap_total: 2, js_heap_limit: 3 });
  engine.backendName = 'webgl';
  W.sampleMem();
  assert.equal(memoryCalls, 1);
  assert.equal(records[1].tf_bytes, 64);
  assert.equal(records[1].tf_tensors, 2);
  assert.equal(records[1].tf_gpu_bytes, 32);
});

test('frames: rAF timestamps in records of at most 120; the loop stops while hidden', () => {
  let cb = null;
  const doc = { visibilityState: 'visible', addEventListener() {}, readyState: 'complete', querySelectorAll: () => [] };
  const { W } = loadInContext({ document: doc, requestAnimationFrame: (f) => { cb = f; return 1; }, addEventListener() {} });
  const records = collect(W);
  W.setTimeout = fakeTimers().setTimeout; // the probe chain must not keep Node alive
  W.installPerf(false, 0);
  for (let i = 0; i < 250; i++) { const f = cb; cb = null; f(i * 16.7); }
  const frames = records.filter((r) => r.kind === 'frames');
  assert.deepEqual(frames.map((f) => f.t.length), [120, 120]);
  W.flushPerfBuffers();
  const all = records.filter((r) => r.kind === 'frames').flatMap((f) => f.t);
  assert.equal(all.length, 250);
  doc.visibilityState = 'hidden';
  const f = cb; cb = null; f(9999);
  assert.equal(cb, null, 'no new rAF request while hidden');
});

test('performance entries map to longtask, loaf, input, paint and nav records', () => {
  const observers = {};
  function PerformanceObserver(cb) { this.cb = cb; }
  PerformanceObserver.supportedEntryTypes = ['longtask', 'long-animation-frame', 'event', 'paint', 'largest-contentful-paint'];
  PerformanceObserver.prototype.observe = function (o) { observers[o.type] = { cb: this.cb, opts: o }; };
  const timers = fakeTimers();
  const nav = { domContentLoadedEventEnd: 120.5, loadEventEnd: 300.25 };
  const doc = { visibilityState: 'hidden', addEventListener() {}, readyState: 'complete', querySelectorAll: () => [] };
  const { W } = loadInContext({
    PerformanceObserver, document: doc, addEventListener() {},
    performance: { now: () => 5, getEntriesByType: (t) => (t === 'navigation' ? [nav] : []), getEntriesByName: () => [] },
  });
  W.setTimeout = timers.setTimeout;
  const records = collect(W);
  W.installPerf(false, 0);
  const fire = (type, e) => observers[type].cb({ getEntries: () => [e] });
  for (const t of Object.keys(observers)) assert.equal(observers[t].opts.buffered, true, `${t} buffered`);
  assert.equal(observers.event.opts.durationThreshold, 16);
  fire('longtask', { startTime: 10, duration: 70 });
  fire('long-animation-frame', { startTime: 20, duration: 90, blockingDuration: 40 });
  fire('event', { name: 'click', startTime: 30, duration: 48, processingStart: 33, processingEnd: 60, interactionId: 7 });
  fire('paint', { name: 'first-contentful-paint', startTime: 44 });
  fire('largest-contentful-paint', { startTime: 50, renderTime: 52, loadTime: 0 });
  const strip = ({ seq, ...r }) => r;
  assert.deepEqual(records.filter((r) => r.kind !== 'probe' && r.kind !== 'mem').map(strip), [
    { kind: 'longtask', start: 10, dur: 70 },
    { kind: 'loaf', start: 20, dur: 90, blocking_dur: 40 },
    { kind: 'input', name: 'click', start: 30, dur: 48, processing_start: 33, processing_end: 60, interaction_id: 7 },
    { kind: 'paint', name: 'first-contentful-paint', start: 44 },
    { kind: 'paint', name: 'largest-contentful-paint', start: 52 },
  ]);
  return timers.advance(0).then(() => {
    const navs = records.filter((r) => r.kind === 'nav').map(strip);
    assert.deepEqual(navs, [{ kind: 'nav', dom_content_loaded: 120.5, load: 300.25 }]);
    const probes = records.filter((r) => r.kind === 'probe');
    assert.equal(probes.length, 0, 'first probe not due yet');
  });
});

test('probe: a 100 ms chain records how late each timer ran', async () => {
  const timers = fakeTimers();
  const doc = { visibilityState: 'hidden', addEventListener() {}, readyState: 'loading', querySelectorAll: () => [] };
  const { W } = loadInContext({ document: doc, addEventListener() {} });
  W.now = timers.now;
  W.setTimeout = timers.setTimeout;
  const records = collect(W);
  W.installPerf(false, 0);
  await timers.advance(350);
  const probes = records.filter((r) => r.kind === 'probe');
  assert.deepEqual(probes.map((p) => [p.start, p.delay]), [[100, 0], [200, 0], [300, 0]]);
});

test('model_load: bytes are the artifacts\' sum when no total is given, with origin and create_site kept', async () => {
  const entries = { 'https://s.test/m.onnx': { decodedBodySize: 1234, responseEnd: 5 } };
  const { W } = loadInContext({ performance: { now: () => 0, getEntriesByName: (u) => (entries[u] ? [entries[u]] : []), getEntriesByType: () => [] } });
  const records = collect(W);
  W.emitModelLoad('ort', 'https://s.test/m.onnx', 1, 2, ['https://s.test/m.onnx'], { origin: 'url', create_site: 'https://s.test/app.js:3' });
  const r = records.find((x) => x.kind === 'model_load');
  assert.equal(r.bytes, 1234);
  assert.equal(r.model_origin, 'url');
  assert.equal(r.create_site, 'https://s.test/app.js:3');
});

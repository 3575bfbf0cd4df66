// The hook as a whole: source constraints, start-up in a page-like and a worker-like realm,
// the property/assignment traps, GPU readiness, the ORT low-level wrappers, wasm memory.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const vm = require('node:vm');
const { hookSource, loadInContext, collect, fakeTimers, flushMicrotasks } = require('./helpers');

test('the concatenated source is a classic script, valid in strict mode, safe inline in HTML', () => {
  const src = hookSource();
  new vm.Script(src); // classic script
  new vm.Script('"use strict";\n' + src); // strict (module workers get it prepended)
  assert.ok(!src.includes('<!--'), 'no <!--');
  assert.ok(!/<script/i.test(src), 'no <script');
  assert.ok(!/^\s*(import|export)\s/m.test(src), 'no top-level import/export');
});

function pageGlobals(extra = {}) {
  const posts = [];
  const listeners = {};
  const g = {
    location: { href: 'https://site.test/app/index.html?x=1', origin: 'https://site.test' },
    navigator: { userAgent: 'UA', hardwareConcurrency: 2, deviceMemory: 8, sendBeacon: () => true },
    crossOriginIsolated: false,
    fetch: (url, init) => { posts.push({ url, init }); return Promise.resolve({ ok: true, status: 204 }); },
    addEventListener: (t, f) => { (listeners[t] = listeners[t] || []).push(f); },
    crypto: { getRandomValues: (a) => { for (let i = 0; i < a.length; i++) a[i] = i + 1; return a; } },
    __WEBINFER_CONFIG__: { v: 1, sid: 'abc123', parent: null, scope: 'document', endpoint: '/__webinfer__/trace', kernels: false, sample_ms: 0, flush_ms: 1000 },
    ...extra,
  };
  return { g, posts, listeners };
}

test('in a page: deletes the config, sends session first to the endpoint with the original fetch', async () => {
  const { g, posts, listeners } = pageGlobals();
  const { ctx, W } = loadInContext(g);
  assert.equal(vm.runInContext('typeof globalThis.__WEBINFER_CONFIG__', ctx), 'undefined');
  await flushMicrotasks();
  assert.equal(posts.length, 1);
  assert.equal(posts[0].url, 'https://site.test/__webinfer__/trace');
  assert.equal(posts[0].init.method, 'POST');
  assert.equal(posts[0].init.keepalive, true);
  const recs = JSON.parse(posts[0].init.body);
  assert.equal(recs[0].kind, 'session');
  assert.equal(recs[0].seq, 0);
  assert.equal(recs[0].sid, 'abc123');
  assert.equal(recs[0].source, 'page');
  assert.equal(recs[0].url, 'https://site.test/app/index.html?x=1');
  assert.equal(recs[0].hardware_concurrency, 2);
  assert.equal(recs[0].device_memory, 8);
  assert.equal(recs[0].cross_origin_isolated, false);
  assert.ok(listeners.pagehide && listeners.pagehide.length === 1);
  // the page's fetch is wrapped but still reaches the original
  vm.runInContext("fetch('/data.json')", ctx);
  assert.equal(posts[posts.length - 1].url, '/data.json');
  assert.ok(W.started);
});

test('pagehide beacons the queue with an end record', async () => {
  const beacons = [];
  const { g, listeners } = pageGlobals();
  g.navigator.sendBeacon = (url, body) => { beacons.push({ url, body }); return true; };
  const { W } = loadInContext(g);
  await flushMicrotasks();
  W.emit('probe', { start: 1, delay: 2 });
  listeners.pagehide[0]({});
  assert.equal(beacons.length, 1);
  assert.equal(beacons[0].url, 'https://site.test/__webinfer__/trace');
  const recs = JSON.parse(beacons[0].body);
  assert.deepEqual(recs.map((r) => r.kind), ['probe', 'end']);
  assert.equal(recs[1].reason, 'pagehide');
});

test('without a config the hook does nothing', () => {
  const { g, posts } = pageGlobals({ __WEBINFER_CONFIG__: undefined });
  const { W } = loadInContext(g);
  assert.ok(!W.started);
  assert.equal(posts.length, 0);
});

test('a second copy in the same realm is inert', async () => {
  const { g, posts } = pageGlobals();
  const { ctx } = loadInContext(g);
  vm.runInContext('globalThis.__WEBINFER_CONFIG__ = {"sid":"second","scope":"document"};', ctx);
  vm.runInContext(hookSource(), ctx);
  await flushMicrotasks();
  const sids = new Set(posts.flatMap((p) => JSON.parse(p.init.body)).map((r) => r.sid));
  assert.deepEqual([...sids], ['abc123']);
});

test('in a worker: source worker, its own sid and the page as parent', async () => {
  function WorkerGlobalScope() {}
  for (const [scope, sidRe, parent] of [['worker', /^w1$/, 'page1'], ['document', /^page1-w[0-9a-f]{8}$/, 'page1']]) {
    const { g, posts } = pageGlobals({ WorkerGlobalScope, __WEBINFER_CONFIG__: { sid: scope === 'worker' ? 'w1' : 'page1', parent: scope === 'worker' ? 'page1' : null, scope, endpoint: '/__webinfer__/trace', sample_ms: 0 } });
    delete g.addEventListener;
    const ctx = vm.createContext({ URL, setTimeout, clearTimeout, console, performance: { now: () => 1, timeOrigin: 5 }, ...g });
    vm.runInContext('Object.setPrototypeOf(globalThis, WorkerGlobalScope.prototype)', ctx);
    vm.runInContext(hookSource(), ctx);
    await flushMicrotasks();
    const s = JSON.parse(posts[0].init.body)[0];
    assert.equal(s.kind, 'session');
    assert.equal(s.source, 'worker');
    assert.match(s.sid, sidRe);
    assert.equal(s.parent, parent);
  }
});

test('trapAssignment: the assignment still creates an own, writable, enumerable property', () => {
  const { ctx, W } = loadInContext();
  const seen = [];
  W.trapAssignment('zzSpecial', (obj, v) => seen.push([obj, v]));
  const r = vm.runInContext(`
    class A { constructor() { this.zzSpecial = 42; } }
    const a = new A();
    const d = Object.getOwnPropertyDescriptor(a, 'zzSpecial');
    a.zzSpecial = 43;
    const frozen = Object.preventExtensions({});
    frozen.zzSpecial = 1; // sloppy mode: silently ignored, must not throw
    ({ a, d, keys: Object.keys(a), v: a.zzSpecial, plain: ({}).zzSpecial, frozenHas: Object.prototype.hasOwnProperty.call(frozen, 'zzSpecial') })`, ctx);
  assert.deepEqual(JSON.parse(JSON.stringify(r.d)), { value: 42, writable: true, enumerable: true, configurable: true });
  assert.deepEqual([...r.keys], ['zzSpecial']);
  assert.equal(r.v, 43);
  assert.equal(r.plain, undefined);
  assert.equal(r.frozenHas, false);
  assert.equal(seen.length, 1, 'only the first assignment per object goes through the trap');
  assert.equal(seen[0][1], 42);
});

test('trapProperty: a global set later is seen once and reads back unchanged', () => {
  const { ctx, W } = loadInContext();
  const seen = [];
  W.trapProperty(vm.runInContext('globalThis', ctx), 'libGlobal', (v) => seen.push(v));
  vm.runInContext('globalThis.libGlobal = { x: 1 }; var check = libGlobal.x;', ctx);
  assert.equal(vm.runInContext('check', ctx), 1);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].x, 1);
});

test('a hook callback that throws never reaches the page', () => {
  const { ctx, W } = loadInContext();
  W.trapProperty(vm.runInContext('globalThis', ctx), 'boom', () => { throw new Error('hook bug'); });
  assert.doesNotThrow(() => vm.runInContext('globalThis.boom = 1', ctx));
  assert.ok(W.errors.some((e) => e.includes('hook bug')));
});

test('GPU readiness: infer ends at the first GPU read started after the call, else times out', async () => {
  const { W } = loadInContext();
  const timers = fakeTimers();
  W.now = timers.now;
  W.setTimeout = timers.setTimeout;
  let resolveRead;
  const backend = {
    read() { return new Promise((r) => { resolveRead = r; }); },
    readSync() { return new Float32Array(1); },
  };
  const engine = { registry: { webgl: backend } };
  const done = [];
  await timers.advance(100);
  W.tfjs.whenReady(engine, 'webgl', 100, (t, how) => done.push([t, how]));
  await timers.advance(50);
  const p = backend.read('id'); // started at 150, after the call ended at 100
  await timers.advance(30);
  assert.equal(done.length, 0, 'not ready before the read completes');
  resolveRead(new Float32Array(1));
  await p;
  await flushMicrotasks();
  assert.deepEqual(done, [[180, 'read']]);

  // a read that started before the call ended does not count; timeout falls back to callEnd
  const done2 = [];
  const early = backend.read('id2'); // started at 180
  W.tfjs.whenReady(engine, 'webgl', 190, (t, how) => done2.push([t, how]));
  resolveRead(new Float32Array(1));
  await early;
  await flushMicrotasks();
  assert.equal(done2.length, 0);
  await timers.advance(W.tfjs.readTimeoutMs);
  assert.deepEqual(done2, [[190, 'timeout']]);

  // readSync after the call: ready when it returns
  const done3 = [];
  W.tfjs.whenReady(engine, 'webgl', timers.now(), (t, how) => done3.push(how));
  await timers.advance(5);
  backend.readSync('id3');
  assert.deepEqual(done3, ['read']);

  // CPU/wasm backends: ready when the call returns
  const done4 = [];
  W.tfjs.whenReady(engine, 'wasm', 7, (t, how) => done4.push([t, how]));
  assert.deepEqual(done4, [[7, 'return']]);
});

test('ORT low level: _OrtCreateSession / _OrtRun on an emscripten-like module become model_load / infer', async () => {
  const { ctx, W } = loadInContext();
  const records = collect(W);
  W.ort.install();
  const out = vm.runInContext(`
    const Module = {};
    let handles = 100;
    Module._OrtCreateSession = function (off, len, opts) { return ++handles; };
    Module._OrtRun = function (session, a, b, c) { return 0; };
    const h = Module._OrtCreateSession(0, 4096, 0);
    const rcs = [Module._OrtRun(h, 1, 2, 3), Module._OrtRun(h, 1, 2, 3)];
    ({ h, rcs, own: Object.keys(Module) })`, ctx);
  assert.equal(out.h, 101);
  assert.deepEqual([...out.rcs], [0, 0]);
  assert.deepEqual([...out.own], ['_OrtCreateSession', '_OrtRun']);
  await flushMicrotasks();
  const load = records.find((r) => r.kind === 'model_load');
  assert.equal(load.framework, 'ort');
  assert.equal(load.bytes, 4096);
  assert.equal(load.model, 'onnx:4096B');
  const inf = records.filter((r) => r.kind === 'infer');
  assert.deepEqual(inf.map((r) => [r.api, r.model, r.call]), [['OrtRun', 'onnx:4096B', 1], ['OrtRun', 'onnx:4096B', 2]]);
});

test('ORT high level: the global ort namespace is patched when assigned', async () => {
  const { ctx, W } = loadInContext({ location: { href: 'https://site.test/p/' } });
  const records = collect(W);
  W.ort.install();
  const res = await vm.runInContext(`
    class Tensor { constructor(d) { this.dims = d; } }
    class InferenceSession {
      static async create(url, opts) { return new InferenceSession(); }
      async run(feeds) { return { out: new Tensor([1, 2]) }; }
    }
    var ort = { InferenceSession, Tensor, env: { versions: { web: '1.30.0' }, wasm: { numThreads: 2 } } };
    (async () => {
      const s = await ort.InferenceSession.create('m/model.onnx', { executionProviders: ['wasm'] });
      const r1 = await s.run({ x: new Tensor([1, 3, 8, 8]) });
      const r2 = await s.run({ x: new Tensor([1, 3, 8, 8]) });
      return r1.out.dims.concat(r2.out.dims);
    })()`, ctx);
  assert.deepEqual([...res], [1, 2, 1, 2]);
  await flushMicrotasks();
  const env = records.find((r) => r.kind === 'env');
  assert.deepEqual([env.framework, env.version, env.backend, env.threads], ['ort', '1.30.0', 'wasm', 2]);
  const inf = records.filter((r) => r.kind === 'infer');
  assert.deepEqual(inf.map((r) => [r.api, r.model, r.call]), [['InferenceSession.run', 'https://site.test/p/m/model.onnx', 1], ['InferenceSession.run', 'https://site.test/p/m/model.onnx', 2]]);
  assert.deepEqual(inf[0].input_shapes, [[1, 3, 8, 8]]);
});

test('wasm memories: constructor and exported memories are tracked, growth included; instanceof still works', async () => {
  const { ctx, W } = loadInContext({ WebAssembly });
  W.installWasm();
  const r = vm.runInContext(`
    const m = new WebAssembly.Memory({ initial: 1, maximum: 10 });
    const ok = m instanceof WebAssembly.Memory;
    m.grow(2);
    ({ ok })`, ctx);
  assert.equal(r.ok, true);
  assert.equal(W.wasmBytes(), 3 * 65536);
  // a module exporting its own memory (bytes: (module (memory (export "mem") 2)))
  const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 2, 7, 7, 1, 3, 109, 101, 109, 2, 0]);
  const res = await vm.runInContext('WebAssembly.instantiate', ctx)(bytes);
  assert.ok(res.instance.exports.mem);
  await flushMicrotasks();
  assert.equal(W.wasmBytes(), 5 * 65536);
  assert.throws(() => vm.runInContext('WebAssembly.Memory({ initial: 1 })', ctx), TypeError, 'calling without new still throws');
});

// MediaPipe Tasks hook (mediapipe.js): the graph-config reader on protobuf bytes encoded here
// exactly as MediaPipe's task runner writes them, and the ModuleFactory trap on a module that
// exposes the same C API exports the real wasm module does. The real library runs in Chromium
// in audit/tests/it/frameworks_e2e.rs.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadInContext, collect, flushMicrotasks } = require('./helpers');

// ---- a minimal protobuf encoder ----
function varint(n) {
  const out = [];
  while (n >= 0x80) { out.push((n % 128) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}
const tag = (f, wt) => varint(f * 8 + wt);
const len = (f, bytes) => [...tag(f, 2), ...varint(bytes.length), ...bytes];
const str = (f, s) => len(f, [...Buffer.from(s, 'utf8')]);
const vint = (f, v) => [...tag(f, 0), ...varint(v)];

/** BaseOptions { model_asset, use_stream_mode, acceleration } */
function baseOptions({ content, fileName, stream, gpu }) {
  const ef = [];
  if (content) ef.push(...len(1, content));
  if (fileName) ef.push(...str(2, fileName));
  return [...len(1, ef), ...vint(2, stream ? 1 : 0), ...len(3, gpu ? len(2, []) : len(4, []))];
}

/** CalculatorGraphConfig with a keepalive node and the task node, options as an extension. */
function graph(calculator, bo, { any = false } = {}) {
  const graphOptions = len(1, bo); // *GraphOptions.base_options = 1
  const node = [...str(2, calculator), ...str(3, 'IMAGE:image_in'), ...str(4, 'DETECTIONS:detections')];
  if (any) node.push(...len(8, [...str(1, 'type.googleapis.com/x.FooGraphOptions'), ...len(2, graphOptions)]));
  else node.push(...len(7, len(502141897, graphOptions))); // CalculatorOptions extension field
  const keep = [...str(2, 'PassThroughCalculator'), ...str(3, 'free_memory')];
  return Uint8Array.from([...len(1, keep), ...len(1, node), ...str(10, 'image_in'), ...str(15, 'detections')]);
}

/** Wait (≤ 5 s) until `cond()` holds: crypto.subtle.digest resolves off the main thread. */
async function until(cond) {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}
const loadsOf = (records) => records.filter((r) => r.kind === 'model_load');

function load() {
  const { ctx, W } = loadInContext({ crypto: require('node:crypto').webcrypto });
  const records = collect(W);
  W.mediapipe.install();
  return { ctx, W, records };
}

test('parseGraph reads task, mode, delegate and the model from both option encodings', () => {
  const { W } = load();
  const tfl = [0x18, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33, 1, 2, 3];
  let b = graph('mediapipe.tasks.vision.face_detector.FaceDetectorGraph', baseOptions({ content: tfl, stream: true, gpu: true }));
  let g = W.mediapipe.parseGraph(b, 0, b.length);
  assert.equal(g.task, 'FaceDetector');
  assert.equal(g.mode, 'VIDEO');
  assert.equal(g.delegate, 'GPU');
  assert.deepEqual(Array.from(b.subarray(g.content[0], g.content[1])), tfl);
  b = graph('mediapipe.tasks.vision.ObjectDetectorGraph', baseOptions({ fileName: '/model.dat' }), { any: true });
  g = W.mediapipe.parseGraph(b, 0, b.length);
  assert.equal(g.task, 'ObjectDetector');
  assert.equal(g.mode, 'IMAGE');
  assert.equal(g.delegate, 'CPU');
  assert.equal(g.fileName, '/model.dat');
  assert.equal(g.content, undefined);
  // no task node, and malformed bytes: null / a throw the caller swallows
  const plain = Uint8Array.from(len(1, str(2, 'PassThroughCalculator')));
  assert.equal(W.mediapipe.parseGraph(plain, 0, plain.length), null);
  assert.throws(() => W.mediapipe.parseGraph(Uint8Array.from([0x0a, 0x50, 1]), 0, 3));
});

/** A fake MediaPipe wasm module with the C API surface the GraphRunner calls. */
function fakeModule(log) {
  const heap = new Uint8Array(1 << 16);
  let brk = 16;
  return {
    HEAPU8: heap,
    _malloc(n) { const p = brk; brk += n; return p; },
    _free() {},
    FS_createDataFile(parent, name, data) { log.push(['file', parent + name, data.length]); },
    _changeBinaryGraph(size, ptr) { log.push(['graph', size, heap[ptr]]); },
    _bindTextureToStream() { log.push(['bind']); },
    _addBoundTextureAsImageToStream() { log.push(['image']); },
    _addProtoToInputStream() { log.push(['proto']); },
    _addBoolToInputStream() { log.push(['bool']); },
    _waitUntilIdle() { log.push(['idle']); let x = 0; for (let i = 0; i < 2e5; i++) x += i; return x; },
    _setAutoRenderToScreen() {},
  };
}

function setGraph(mod, bytes) {
  const p = mod._malloc(bytes.length);
  mod.HEAPU8.set(bytes, p);
  mod._changeBinaryGraph(bytes.length, p);
}

test('a factory assigned to globalThis.ModuleFactory yields model_load, env and one infer per run', async () => {
  const { ctx, W, records } = load();
  const log = [];
  const mod = fakeModule(log);
  // what the loader script does: a top-level `var ModuleFactory = …` assignment
  ctx.__mod = mod;
  require('node:vm').runInContext('var ModuleFactory = async function (arg) { return __mod; };', ctx);
  const factory = ctx.ModuleFactory;
  assert.equal(typeof factory, 'function');
  assert.notEqual(factory.__webinfer_orig, undefined, 'the factory is wrapped');
  const got = await factory({});
  assert.equal(got, mod, 'the page gets the very module the factory made');
  ctx.ModuleFactory = undefined; // graph_runner clears it
  assert.equal(ctx.ModuleFactory, undefined);

  // model by path: the runner writes /model.dat, then sets the graph naming it
  const model = new Uint8Array(1000);
  model.set([0x50, 0x4b, 3, 4]);
  mod.FS_createDataFile('/', 'model.dat', model, true, false, false);
  setGraph(mod, graph('mediapipe.tasks.vision.hand_landmarker.HandLandmarkerGraph', baseOptions({ fileName: '/model.dat' })));
  await until(() => loadsOf(records).length >= 1);
  const loads = records.filter((r) => r.kind === 'model_load');
  assert.equal(loads.length, 1);
  assert.equal(loads[0].framework, 'mediapipe');
  assert.equal(loads[0].model, 'task:1000B', 'a .task zip without a known URL');
  assert.equal(loads[0].bytes, 1000);
  assert.equal(loads[0].sha256, require('node:crypto').createHash('sha256').update(model).digest('hex'));
  const env = records.filter((r) => r.kind === 'env');
  assert.deepEqual([env[0].framework, env[0].backend, env[0].delegate, env[0].running_mode, env[0].task], ['mediapipe', 'wasm', 'CPU', 'IMAGE', 'HandLandmarker']);

  // three detect() calls: proto + texture inputs, then idle; the keep-alive release (bool) and
  // an idle without inputs are no inference
  for (let i = 0; i < 3; i++) {
    mod._addProtoToInputStream();
    mod._bindTextureToStream();
    mod._addBoundTextureAsImageToStream();
    mod._waitUntilIdle();
    mod._addBoolToInputStream();
  }
  mod._waitUntilIdle(); // processes only the keep-alive release
  const infers = records.filter((r) => r.kind === 'infer');
  assert.equal(infers.length, 3);
  assert.deepEqual(infers.map((r) => r.call), [1, 2, 3]);
  for (const r of infers) {
    assert.equal(r.api, 'HandLandmarker.detect');
    assert.equal(r.model, 'task:1000B');
    assert.ok(r.dur > 0 && r.ready === 'return');
  }
  assert.equal(log.filter((l) => l[0] === 'idle').length, 4, 'every original call still ran');

  // setOptions({runningMode: 'VIDEO', delegate: 'GPU'}) rebuilds the graph: no new model_load,
  // a new env, and VIDEO-mode api names
  setGraph(mod, graph('mediapipe.tasks.vision.hand_landmarker.HandLandmarkerGraph', baseOptions({ fileName: '/model.dat', stream: true, gpu: true })));
  await flushMicrotasks();
  mod._addBoundTextureAsImageToStream();
  mod._waitUntilIdle();
  assert.equal(records.filter((r) => r.kind === 'model_load').length, 1);
  const env2 = records.filter((r) => r.kind === 'env').pop();
  assert.deepEqual([env2.backend, env2.delegate, env2.running_mode], ['webgl', 'GPU', 'VIDEO']);
  const last = records.filter((r) => r.kind === 'infer').pop();
  assert.equal(last.api, 'HandLandmarker.detectForVideo');
  assert.equal(last.call, 4);
  assert.equal(W.errors.length, 0, JSON.stringify(W.errors));
});

test('a model given as a buffer is hashed from the graph config; two tasks count calls apart', async () => {
  const { ctx, W, records } = load();
  const mods = [fakeModule([]), fakeModule([])];
  for (const mod of mods) {
    ctx.ModuleFactory = async () => mod; // the module build of the loader assigns globalThis.ModuleFactory
    await ctx.ModuleFactory();
  }
  const tfl = new Uint8Array(300);
  tfl.set([0x18, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33]);
  setGraph(mods[0], graph('mediapipe.tasks.vision.face_detector.FaceDetectorGraph', baseOptions({ content: [...tfl] })));
  setGraph(mods[1], graph('mediapipe.tasks.text.text_classifier.TextClassifierGraph', baseOptions({ content: [...tfl] })));
  await until(() => loadsOf(records).length >= 2);
  const loads = records.filter((r) => r.kind === 'model_load');
  assert.equal(loads.length, 2);
  assert.equal(loads[0].model, 'tflite:300B');
  assert.equal(loads[0].sha256, require('node:crypto').createHash('sha256').update(tfl).digest('hex'));
  mods[0]._addBoundTextureAsImageToStream(); mods[0]._waitUntilIdle();
  mods[1]._addProtoToInputStream(); mods[1]._waitUntilIdle();
  mods[0]._addBoundTextureAsImageToStream(); mods[0]._waitUntilIdle();
  const infers = records.filter((r) => r.kind === 'infer');
  assert.deepEqual(infers.map((r) => [r.api, r.call]), [['FaceDetector.detect', 1], ['TextClassifier.classify', 1], ['FaceDetector.detect', 2]]);
  assert.equal(W.errors.length, 0, JSON.stringify(W.errors));
});

test('GPU texture results (segmentation masks) end at the page read of the task canvas', async () => {
  class WebGLTexture {}
  const canvas = { id: 'offscreen' };
  class WebGL2RenderingContext { constructor(c) { this.canvas = c; } readPixels() {} }
  const { ctx, W } = loadInContext({ crypto: require('node:crypto').webcrypto, WebGLTexture, WebGL2RenderingContext });
  const records = collect(W);
  W.mediapipe.install();
  let clock = 0;
  W.now = () => clock;
  const mod = fakeModule([]);
  mod.canvas = canvas;
  mod.simpleListeners = { confidence_masks: () => {} };
  const idle = mod._waitUntilIdle;
  mod._waitUntilIdle = function () { clock += 5; mod.simpleListeners.confidence_masks([{ data: new WebGLTexture(), width: 2, height: 2 }], 1); return idle.call(this); };
  ctx.ModuleFactory = async () => mod;
  await ctx.ModuleFactory();
  setGraph(mod, graph('mediapipe.tasks.vision.image_segmenter.ImageSegmenterGraph', baseOptions({ fileName: '/model.dat', gpu: true })));
  clock = 100;
  mod._addBoundTextureAsImageToStream();
  mod._waitUntilIdle(); // returns at 105
  assert.equal(records.filter((r) => r.kind === 'infer').length, 0, 'waits for the read');
  clock = 130;
  new WebGL2RenderingContext({ id: 'other' }).readPixels(); // another canvas: not this task's
  clock = 140;
  const gl = new WebGL2RenderingContext(canvas);
  gl.readPixels();
  const inf = records.filter((r) => r.kind === 'infer');
  assert.equal(inf.length, 1);
  assert.equal(inf[0].ready, 'read');
  assert.equal(inf[0].dur, 40);
  assert.equal(inf[0].api, 'ImageSegmenter.segment');
  assert.equal(W.errors.length, 0, JSON.stringify(W.errors));
});

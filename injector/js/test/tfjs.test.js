// TF.js hooks against the real tfjs 4.22 from web/node_modules (CPU backend, in this process):
// the _tfengine setter trap, the tidy rule, GraphModel calls with real blazeface weights.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { loadHere, collect, flushMicrotasks } = require('./helpers');

const WEB = path.join(__dirname, '..', '..', '..', 'web', 'node_modules');

// The hook must be installed before tfjs creates its engine.
const W = loadHere();
W.tfjs.install();
const records = collect(W);
const tf = require(path.join(WEB, '@tensorflow', 'tfjs'));

const infers = () => records.filter((r) => r.kind === 'infer');
const clear = () => records.splice(0, records.length);

/** An IOHandler reading blazeface's model.json + shard from disk (no network in Node). */
function blazefaceHandler() {
  const dir = path.join(WEB, '@vladmandic', 'human', 'models');
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'blazeface.json'), 'utf8'));
      const bin = fs.readFileSync(path.join(dir, 'blazeface.bin'));
      return {
        modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
        signature: json.signature, userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}

/** A forward pass of `n` kernels built from tf ops (like face-api's networks). */
function opsNet(x, n) {
  let y = x;
  for (let i = 0; i < n; i++) y = i % 2 ? tf.relu(y) : tf.mul(y, tf.scalar(1.5));
  return y;
}

test('the _tfengine setter trap hooked the engine tfjs created', async () => {
  await tf.setBackend('cpu');
  assert.equal(W.tfjs.engines.length, 1);
  assert.equal(W.tfjs.engines[0], tf.engine());
  assert.equal(globalThis._tfengine, tf.engine(), 'the trap stores the value');
});

test('an outermost tidy with >= 10 kernels is one infer (api tidy), numbered per model', async () => {
  clear();
  const x = tf.ones([2, 3]);
  for (let i = 0; i < 3; i++) tf.dispose(tf.tidy(() => opsNet(x, 12)));
  await flushMicrotasks();
  const got = infers();
  assert.equal(got.length, 3);
  assert.deepEqual(got.map((r) => r.call), [1, 2, 3]);
  for (const r of got) {
    assert.equal(r.api, 'tidy');
    assert.equal(r.framework, 'tfjs');
    assert.equal(r.backend, 'cpu');
    assert.match(r.model, /^ops:[0-9a-f]{8}$/);
    assert.ok(r.ops >= 12, `ops ${r.ops}`); // scalar() creates no kernel; mul/relu do
    assert.ok(r.dur >= 0);
  }
  assert.equal(new Set(got.map((r) => r.model)).size, 1, 'same kernel sequence → same model id');
  // an env record came first
  assert.equal(records.find((r) => r.kind === 'env').backend, 'cpu');
  x.dispose();
});

test('different kernel sequences get different model ids; named tidies use their name', async () => {
  clear();
  const x = tf.ones([4]);
  tf.dispose(tf.tidy(() => opsNet(x, 12)));
  tf.dispose(tf.tidy(() => { let y = x; for (let i = 0; i < 12; i++) y = tf.add(y, y); return y; }));
  tf.dispose(tf.tidy('myNet', () => opsNet(x, 11)));
  tf.dispose(tf.tidy('myNet', () => opsNet(x, 11)));
  await flushMicrotasks();
  const got = infers();
  assert.equal(got.length, 4);
  assert.notEqual(got[0].model, got[1].model);
  assert.equal(got[2].model, 'myNet');
  assert.deepEqual(got.slice(2).map((r) => r.call), [1, 2]);
  x.dispose();
});

test('small tidies, nested tidies and bare ops are not infers', async () => {
  clear();
  const x = tf.ones([4]);
  tf.dispose(tf.tidy(() => opsNet(x, 9))); // below the threshold
  tf.dispose(opsNet(x, 1)); // bare ops: each its own op scope with one kernel
  tf.dispose(tf.tidy(() => tf.tidy(() => opsNet(x, 6)).add(tf.tidy(() => opsNet(x, 6)))));
  await flushMicrotasks();
  const got = infers();
  assert.equal(got.length, 1, 'only the outer tidy (13 kernels in total) counts');
  assert.equal(got[0].ops, 13);
  x.dispose();
});

test('the hook does not change results: tidy outputs equal an unhooked computation', () => {
  const x = tf.tensor([0.5, -1, 2, 3]);
  const y = tf.tidy(() => opsNet(x, 12));
  const expected = Array.from([0.5, -1, 2, 3], (v) => { for (let i = 0; i < 12; i++) v = i % 2 ? Math.max(0, v) : Math.fround(v * 1.5); return v; });
  assert.deepEqual(Array.from(y.dataSync()), expected.map(Math.fround));
  tf.dispose([x, y]);
});

test('GraphModel (real blazeface weights): predict/execute/executeAsync are infers, not tidies', async () => {
  clear();
  const model = await tf.loadGraphModel(blazefaceHandler());
  await flushMicrotasks();
  const x = tf.zeros([1, 256, 256, 3]);
  const a = model.predict(x);
  const b = model.execute(x);
  const c = await model.executeAsync(x);
  await flushMicrotasks();
  const got = infers();
  assert.deepEqual(got.map((r) => r.api), ['GraphModel.predict', 'GraphModel.execute', 'GraphModel.executeAsync']);
  assert.deepEqual(got.map((r) => r.call), [1, 2, 3]);
  for (const r of got) {
    assert.deepEqual(r.input_shapes, [[1, 256, 256, 3]]);
    assert.match(r.model, /^graph:/);
    assert.equal(r.ready, 'return');
  }
  // results are untouched: same values from every API
  const va = Array.from((Array.isArray(a) ? a[0] : a).dataSync());
  const vc = Array.from((Array.isArray(c) ? c[0] : c).dataSync());
  assert.deepEqual(va, vc);
  assert.ok(records.some((r) => r.kind === 'model_load' && r.framework === 'tfjs'));
  tf.dispose([a, b, c, x]);
  model.dispose();
});

test('a model call that throws propagates the same error and emits nothing', async () => {
  const model = await tf.loadGraphModel(blazefaceHandler());
  clear();
  assert.throws(() => model.predict(tf.zeros([1, 2, 2])), /./);
  await flushMicrotasks();
  assert.equal(infers().length, 0);
  assert.equal(W.tfjs.modelActive, 0);
  assert.equal(W.tfjs.modelSyncDepth, 0);
  model.dispose();
});

test('kernel records (opt-in) reference their infer by seq', async () => {
  clear();
  W.config = { kernels: true };
  const x = tf.ones([3]);
  tf.dispose(tf.tidy(() => opsNet(x, 10)));
  await flushMicrotasks();
  W.config = {};
  const inf = infers()[0];
  const ks = records.filter((r) => r.kind === 'kernel');
  assert.equal(ks.length, 10);
  for (const k of ks) {
    assert.equal(k.infer_seq, inf.seq);
    assert.ok(k.name === 'Multiply' || k.name === 'Relu', k.name);
    assert.equal(typeof k.dur, 'number');
    assert.deepEqual(k.output_shapes, [[3]]);
  }
  assert.equal(tf.engine().state.profiling, false, 'profiling switched back off');
  x.dispose();
});

test('a model call inside a tidy (nsfwjs-style classify) is one infer: model level, tidy view merged', async () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })] });
  clear();
  const img = tf.ones([4]);
  for (let i = 0; i < 3; i++) {
    const y = tf.tidy(() => {
      // pre-processing ops (≥ 10 kernels, so the tidy alone would count), then predict
      let z = img;
      for (let k = 0; k < 10; k++) z = z.mul(tf.scalar(1.01));
      return model.predict(z.reshape([1, 4]));
    });
    await y.data();
    y.dispose();
  }
  await flushMicrotasks();
  const got = infers();
  assert.equal(got.length, 3, JSON.stringify(got.map((r) => r.api)));
  for (const r of got) {
    assert.equal(r.api, 'LayersModel.predict');
    assert.equal(r.layer, 'model');
    assert.equal(r.merged.length, 1);
    const v = r.merged[0];
    assert.equal(v.api, 'tidy');
    assert.match(v.model, /^ops:[0-9a-f]{8}$/);
    assert.ok(v.ops >= 10, `ops ${v.ops}`);
    assert.ok(v.start <= r.start && v.start + v.dur >= r.start + r.dur, 'the tidy spans the model call');
  }
  assert.deepEqual(got.map((r) => r.call), [1, 2, 3]);
  img.dispose();
  model.dispose();
});

test('the kernel-counting runKernel exists only while a watched tidy runs', async () => {
  const engine = tf.engine();
  const own = () => Object.prototype.hasOwnProperty.call(engine, 'runKernel');
  assert.equal(own(), false, 'no wrapper between calls');
  let inside = null;
  tf.dispose(tf.tidy(() => { inside = own(); return opsNet(tf.ones([2]), 3); }));
  assert.equal(inside, true);
  assert.equal(own(), false, 'removed when the tidy ended');
  const model = await tf.loadGraphModel(blazefaceHandler());
  let duringModel = null;
  const orig = engine.tidy;
  // a tidy the model runs internally sees no counting wrapper (model calls are not watched)
  engine.tidy = function () { if (duringModel === null) duringModel = own(); return orig.apply(this, arguments); };
  const y = model.predict(tf.zeros([1, 256, 256, 3]));
  engine.tidy = orig;
  assert.equal(duringModel, false);
  tf.dispose(y);
  model.dispose();
});

// webgpu.js (adapter info, pipeline-creation time, env.webnn) on fake WebGPU/WebNN globals, and
// the TF.js readback rule for slow GPU reads (WebGPU on a software adapter).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadInContext, fakeTimers, flushMicrotasks } = require('./helpers');

function gpuGlobals(log) {
  class GPUDevice {
    createComputePipeline() { log.push('pipe'); }
    createShaderModule() { log.push('shader'); }
    createComputePipelineAsync() { return new Promise((r) => { this.resolve = r; }); }
  }
  class GPU {
    requestAdapter() { return Promise.resolve({ info: { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader', isFallbackAdapter: true } }); }
  }
  class ML { createContext() { return Promise.reject(new Error('WebNN is not supported on this platform.')); } }
  return { GPU, GPUDevice, ML, navigator: { gpu: new GPU(), ml: new ML() } };
}

test('adapter info and webnn go into env; pipeline creation time is summed', async () => {
  const log = [];
  const g = gpuGlobals(log);
  const { W } = loadInContext(g);
  const timers = fakeTimers();
  W.now = timers.now;
  W.webgpu.install();
  const a = await g.navigator.gpu.requestAdapter();
  assert.equal(a.info.vendor, 'google', 'the page gets the adapter unchanged');
  await flushMicrotasks();
  const rec = W.webgpu.addEnv({ framework: 'tfjs', backend: 'webgpu' });
  assert.deepEqual(JSON.parse(JSON.stringify(rec.adapter)), { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader', is_fallback_adapter: true });
  assert.equal(rec.webnn, true, 'navigator.ml exists and nothing was refused yet');
  assert.equal(W.webgpu.addEnv({ backend: 'wasm' }).adapter, undefined, 'only webgpu backends');
  await assert.rejects(g.navigator.ml.createContext());
  await flushMicrotasks();
  assert.equal(W.webgpu.addEnv({ backend: 'wasm' }).webnn, false, 'a refused context: no usable WebNN');

  const dev = new g.GPUDevice();
  const c0 = W.webgpu.compileMs();
  dev.createShaderModule({});
  const p = dev.createComputePipelineAsync({});
  await timers.advance(40);
  assert.equal(W.webgpu.compileMs() - c0, 40, 'an async compile counts while in flight');
  dev.resolve({});
  await p;
  await flushMicrotasks();
  await timers.advance(10);
  assert.equal(W.webgpu.compileMs() - c0, 40, 'and stops when it settles');
  assert.deepEqual(log, ['shader']);
});

test('TF.js GPU readiness: a read that started in time ends dur even when it completes after the timeout', async () => {
  const { W } = loadInContext();
  const timers = fakeTimers();
  W.now = timers.now;
  W.setTimeout = timers.setTimeout;
  let resolveRead;
  let rejectRead;
  const backend = { read() { return new Promise((r, rj) => { resolveRead = r; rejectRead = rj; }); }, readSync() { return new Float32Array(1); } };
  const engine = { registry: { webgpu: backend } };
  const done = [];
  await timers.advance(100);
  W.tfjs.whenReady(engine, 'webgpu', 100, (t, how) => done.push([t, how]));
  await timers.advance(10);
  const p = backend.read('id'); // started at 110
  await timers.advance(W.tfjs.readTimeoutMs + 5000); // the GPU needs 7 s (shader compilation)
  assert.deepEqual(done, [], 'the read under way holds the inference past the timeout');
  resolveRead(new Float32Array(1));
  await p;
  await flushMicrotasks();
  assert.deepEqual(done, [[100 + 10 + W.tfjs.readTimeoutMs + 5000, 'read']]);
  assert.equal(W.tfjs.pendingGpu.length, 0);

  // a read that fails after the timeout: the call ends at its return
  const done2 = [];
  W.tfjs.whenReady(engine, 'webgpu', timers.now(), (t, how) => done2.push(how));
  const end2 = timers.now();
  const p2 = backend.read('id2').catch(() => {});
  await timers.advance(W.tfjs.readTimeoutMs + 100);
  assert.deepEqual(done2, []);
  rejectRead(new Error('device lost'));
  await p2;
  await flushMicrotasks();
  assert.deepEqual(done2, ['timeout']);
  assert.ok(end2 > 0);
});

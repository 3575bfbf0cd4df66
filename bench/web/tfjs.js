// BlazeFace (@vladmandic/human models/, the demo's face model) on TF.js: ?backend=wasm|webgl.
// One inference = `model.predict(x)` inside `tf.time` (the framework's timer, wallMs).
// On webgl the span also holds the synchronous read of the first output (`dataSync()`), so
// that tf.time's wallMs, the page's timer and the hook's `infer.dur` (which on webgl ends at
// the first GPU→CPU read after the call: injector/js/RULES.md) all end when the outputs are
// on the CPU; without that read wallMs would stop at the (asynchronous) GPU submission.
(async function () {
  var backend = BENCH.params.get('backend') || 'wasm';
  tf.wasm.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  if (!(await tf.setBackend(backend))) throw new Error('backend ' + backend + ' unavailable');
  await tf.ready();
  var model = await tf.loadGraphModel('/node_modules/@vladmandic/human/models/blazeface.json');
  var shape = model.inputs[0].shape.map(function (d) { return d > 0 ? d : 1; });
  var x = tf.tensor(BENCH.input(shape.reduce(function (a, b) { return a * b; }, 1), 7), shape);
  var gpu = backend !== 'wasm' && backend !== 'cpu';
  async function once() {
    var y;
    var info = await tf.time(function () {
      y = model.predict(x);
      if (gpu) (Array.isArray(y) ? y[0] : y).dataSync();
    });
    var ts = Array.isArray(y) ? y : [y];
    return {
      fw_ms: info.wallMs,
      read: async function () {
        var outs = [];
        for (var i = 0; i < ts.length; i++) outs.push(await ts[i].data());
        tf.dispose(ts);
        return outs;
      }
    };
  }
  var r = await BENCH.run('tfjs', tf.getBackend(), once);
  await BENCH.post(r);
})().catch(BENCH.fail);

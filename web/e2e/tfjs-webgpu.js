// TF.js GraphModel (blazeface) on the WebGPU backend. Each call is timed by the page around
// predict() + data() of every output: the time until the outputs are readable on the CPU.
// Returns {page, backend, outputs, page_ms, adapter}.
(async function () {
  var backend = E2E.params.get('backend') || 'webgpu';
  if (!(await tf.setBackend(backend))) throw new Error('backend ' + backend + ' unavailable');
  await tf.ready();
  var model = await tf.loadGraphModel('/node_modules/@vladmandic/human/models/blazeface.json');
  var shape = model.inputs[0].shape.map(function (d) { return d > 0 ? d : 1; });
  var x = tf.tensor(E2E.input(shape.reduce(function (a, b) { return a * b; }, 1), 7), shape);
  var outputs = [], pageMs = [];
  for (var i = 0; i < E2E.runs; i++) {
    var t0 = performance.now();
    var y = model.predict(x);
    var ts = Array.isArray(y) ? y : (y instanceof tf.Tensor ? [y] : Object.values(y));
    var datas = [];
    for (var j = 0; j < ts.length; j++) datas.push(await ts[j].data());
    pageMs.push(performance.now() - t0);
    var ds = [];
    for (var k = 0; k < datas.length; k++) ds.push(await E2E.digest(datas[k]));
    outputs.push(ds.join(','));
    tf.dispose(ts);
  }
  x.dispose();
  return { page: 'tfjs-webgpu', backend: tf.getBackend(), outputs: outputs, page_ms: pageMs };
})().then(E2E.finish, E2E.fail);

// TF.js GraphModel inference shared by the UMD page, the bundled page and the worker.
// `E2E.runTfjs(tf, setWasmPaths, page)` loads blazeface from @vladmandic/human, runs it
// E2E.runs times on a deterministic input (alternating predict / executeAsync), reads every
// output with data(), and returns {page, backend, outputs: [sha256…]}.
E2E.runTfjs = async function (tf, setWasmPaths, page) {
  var backend = E2E.params.get('backend') || 'wasm';
  setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  if (!(await tf.setBackend(backend))) throw new Error('backend ' + backend + ' unavailable');
  await tf.ready();
  var model = await tf.loadGraphModel('/node_modules/@vladmandic/human/models/blazeface.json');
  var shape = model.inputs[0].shape.map(function (d) { return d > 0 ? d : 1; });
  var x = tf.tensor(E2E.input(shape.reduce(function (a, b) { return a * b; }, 1), 7), shape);
  var outputs = [];
  for (var i = 0; i < E2E.runs; i++) {
    var y = i % 2 === 0 ? model.predict(x) : await model.executeAsync(x);
    var ts = Array.isArray(y) ? y : (y instanceof tf.Tensor ? [y] : Object.values(y));
    var ds = [];
    for (var j = 0; j < ts.length; j++) ds.push(await E2E.digest(await ts[j].data()));
    outputs.push(ds.join(','));
    tf.dispose(ts);
  }
  x.dispose();
  return { page: page, backend: tf.getBackend(), outputs: outputs };
};

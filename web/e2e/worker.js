// Classic worker: TF.js UMD + wasm backend, blazeface GraphModel (see tfjs-run.js).
importScripts('/node_modules/@tensorflow/tfjs/dist/tf.min.js',
  '/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js',
  'common.js', 'tfjs-run.js');
E2E.runTfjs(tf, tf.wasm.setWasmPaths, 'worker').then(function (r) {
  // Give the hook one flush period to send the worker's last records before the page ends.
  setTimeout(function () { postMessage(r); }, 1500);
}, function (e) { postMessage({ error: String(e && e.stack ? e.stack : e) }); });

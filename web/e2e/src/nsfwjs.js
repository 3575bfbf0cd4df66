// nsfwjs 4.4.0 (a TF.js LayersModel, MobileNetV2 with the weights inside its JS bundle) with
// TF.js bundled by esbuild (no `tf` global). Each `classify(img)` runs `model.predict` inside
// nsfwjs's own `tf.tidy` (pre-processing + predict): one forward pass, which the hook sees at
// the model level (LayersModel.predict) and at the op level (the tidy rule) and must record
// once. `load()` also makes one warm-up predict of its own. Reports {page, backend, calls,
// warmups: 1, outputs: [sha256 of each call's top-5 probabilities]}.
import { Buffer } from 'buffer';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { load } from 'nsfwjs/core';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';

globalThis.Buffer = Buffer; // nsfwjs decodes its bundled weights with Buffer.from(…, 'base64')

(async function () {
  var backend = E2E.params.get('backend') || 'wasm';
  setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  if (!(await tf.setBackend(backend))) throw new Error('backend ' + backend + ' unavailable');
  await tf.ready();
  var model = await load('MobileNetV2', { modelDefinitions: [MobileNetV2Model] });
  var px = new Int32Array(224 * 224 * 3);
  for (var i = 0; i < px.length; i++) px[i] = (i * 7919) % 256;
  var img = tf.tensor3d(px, [224, 224, 3], 'int32');
  var outputs = [];
  var calls = [];
  for (var k = 0; k < E2E.runs; k++) {
    var t0 = performance.now();
    var top = await model.classify(img);
    calls.push({ start: t0, own_ms: performance.now() - t0 });
    outputs.push(await E2E.digest(new Float32Array(top.map(function (c) { return c.probability; }))));
  }
  img.dispose();
  return { page: 'nsfwjs', backend: tf.getBackend(), calls: calls, warmups: 1, outputs: outputs };
})().then(E2E.finish, E2E.fail);

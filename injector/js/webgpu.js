/* webinfer hook: webgpu.js — the WebGPU adapter a page's framework uses, the time its calls
 * spend creating compute pipelines, and whether WebNN exists.
 *
 *  - `GPU.prototype.requestAdapter` (navigator.gpu, page and worker): the resolved adapter's
 *    `info` (vendor, architecture, device, description, isFallbackAdapter) is kept;
 *    `W.webgpu.addEnv(rec)` adds it as `env.adapter` to a framework's `env` record on the
 *    `webgpu` backend (tfjs.js, ort.js call it).
 *  - `GPUDevice.prototype.createComputePipeline` / `createComputePipelineAsync` /
 *    `createShaderModule`: `W.webgpu.compileMs()` is the running total of time spent in them (the
 *    async one until its promise settles, overlapping calls counted once), so an inference's
 *    `compile_dur` is the difference across the call.
 *  - `env.webnn` on every env record: `navigator.ml` exists and no `ML.createContext` the page
 *    made was refused (Chromium 156 on Linux exposes the API behind
 *    `--enable-features=WebMachineLearningNeuralNetwork` but refuses every context:
 *    "WebNN is not supported on this platform").
 * Nothing is changed: originals are called with the original `this` and arguments, their
 * results returned as they are.
 */
(function (G) {
  'use strict';
  var W = G[Symbol.for('webinfer.hook')];
  if (!W || W.skip) return;

  var X = W.webgpu = {
    adapter: null,
    total: 0, // ms of pipeline/shader creation finished so far
    openSince: null, // start of the current union of in-flight async compiles
    open: 0,
    webnnContext: undefined // true once a context was created, false once one was refused
  };

  function infoOf(adapter) {
    var out = {};
    try {
      var i = adapter.info || {};
      ['vendor', 'architecture', 'device', 'description'].forEach(function (k) {
        if (typeof i[k] === 'string' && i[k]) out[k] = i[k];
      });
      var fb = typeof i.isFallbackAdapter === 'boolean' ? i.isFallbackAdapter : adapter.isFallbackAdapter;
      if (typeof fb === 'boolean') out.is_fallback_adapter = fb;
    } catch (e) { /* ignore */ }
    return out;
  }

  /** Add `adapter` (WebGPU backends) and `webnn` to an `env` record. */
  X.addEnv = function (rec) {
    try {
      if (rec.backend === 'webgpu' && X.adapter) rec.adapter = X.adapter;
      rec.webnn = !!(G.navigator && G.navigator.ml) && X.webnnContext !== false;
    } catch (e) { /* ignore */ }
    return rec;
  };

  /** Total ms spent creating pipelines and shader modules so far (in-flight async ones included). */
  X.compileMs = function () {
    return X.total + (X.open > 0 ? W.now() - X.openSince : 0);
  };

  function asyncStart() {
    if (X.open++ === 0) X.openSince = W.now();
  }
  function asyncEnd() {
    if (--X.open === 0) X.total += W.now() - X.openSince;
  }

  X.install = function () {
    var GPU = G.GPU;
    if (GPU && GPU.prototype) {
      W.wrapMethod(GPU.prototype, 'requestAdapter', function (orig) {
        return function () {
          var p = orig.apply(this, arguments);
          try {
            if (W.isThenable(p)) p.then(function (a) { if (a) W.safe('adapter info', function () { X.adapter = infoOf(a); }); }, function () {});
          } catch (e) { /* ignore */ }
          return p;
        };
      });
    }
    var ML = G.ML;
    if (ML && ML.prototype) {
      W.wrapMethod(ML.prototype, 'createContext', function (orig) {
        return function () {
          var p = orig.apply(this, arguments);
          try {
            if (W.isThenable(p)) p.then(function () { X.webnnContext = true; }, function () { if (X.webnnContext !== true) X.webnnContext = false; });
          } catch (e) { /* ignore */ }
          return p;
        };
      });
    }
    var Dev = G.GPUDevice;
    if (Dev && Dev.prototype) {
      ['createComputePipeline', 'createShaderModule'].forEach(function (name) {
        W.wrapMethod(Dev.prototype, name, function (orig) {
          return function () {
            if (X.open > 0) return orig.apply(this, arguments); // inside an async compile's span
            var t = W.now();
            try { return orig.apply(this, arguments); } finally { X.total += W.now() - t; }
          };
        });
      });
      W.wrapMethod(Dev.prototype, 'createComputePipelineAsync', function (orig) {
        return function () {
          asyncStart();
          var p;
          try { p = orig.apply(this, arguments); } catch (e) { asyncEnd(); throw e; }
          try {
            if (W.isThenable(p)) p.then(asyncEnd, asyncEnd); else asyncEnd();
          } catch (e) { asyncEnd(); }
          return p;
        };
      });
    }
  };
})(globalThis);

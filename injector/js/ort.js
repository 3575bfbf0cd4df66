/* webinfer hook: ort.js — ONNX Runtime Web.
 *
 * Two layers:
 *  - High level, when the UMD build assigns the global `ort` (trapped with a setter):
 *    `InferenceSession.create` → `model_load` (+ `env`), `InferenceSession.prototype.run` →
 *    `infer` (api "InferenceSession.run", input shapes from the feeds' dims).
 *  - Low level, for bundled builds (no global) and for ORT's proxy worker: the emscripten
 *    module assigns `Module._OrtCreateSession` and `Module._OrtRun`; assignment traps on
 *    Object.prototype wrap them. `_OrtCreateSession(dataOffset, dataLength, options)` gives the
 *    model's byte length (`model_load`, api-level name unknown → the URL of the newest fetched
 *    resource of exactly that size, else "onnx:<bytes>B"); each `_OrtRun(session, …)` is an
 *    `infer` with api "OrtRun". Low-level records are suppressed while a high-level call of the
 *    same realm is running, so one run is recorded once per realm.
 */
(function (G) {
  'use strict';
  var W = G[Symbol.for('webinfer.hook')];
  if (!W || W.skip) return;

  var O = W.ort = {
    highCreate: 0,
    highRun: 0,
    nextCall: W.makeCallCounter(),
    sessions: typeof WeakMap === 'function' ? new WeakMap() : null, // session → {model, backend}
    handles: Object.create(null), // low-level session handle → model
    envKey: null
  };

  function emit(kind, fields, ts) { return W.emit ? W.emit(kind, fields, ts) : -1; }

  O.version = function () {
    try {
      var o = G.ort;
      if (o && o.env && o.env.versions) return String(o.env.versions.web || o.env.versions.common || 'unknown');
    } catch (e) { /* ignore */ }
    return 'unknown';
  };

  /** WebAssembly SIMD support, by validating a tiny module using a v128 instruction. */
  O.simdSupported = function () {
    try {
      return G.WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]));
    } catch (e) {
      return undefined;
    }
  };

  O.checkEnv = function (backend) {
    var version = O.version();
    var rec = { framework: 'ort', version: version, backend: backend };
    try {
      var o = G.ort;
      var w = o && o.env && o.env.wasm;
      if (backend === 'wasm' || backend === 'cpu') {
        var simd = O.simdSupported();
        if (simd !== undefined) rec.wasm_simd = simd;
        if (w && typeof w.numThreads === 'number') {
          rec.threads = w.numThreads;
          rec.wasm_threads = w.numThreads !== 1 && !!G.crossOriginIsolated;
        } else if (W.wasmShared !== undefined) {
          rec.wasm_threads = !!W.wasmShared;
        }
      }
    } catch (e) { /* ignore */ }
    if (W.webgpu) W.webgpu.addEnv(rec); // webgpu.js: env.adapter, env.webnn
    var key = JSON.stringify(rec);
    if (O.envKey === key) return;
    O.envKey = key;
    emit('env', rec);
  };

  function backendOf(options) {
    try {
      var eps = options && options.executionProviders;
      if (eps && eps.length) {
        var ep = eps[0];
        return String(typeof ep === 'string' ? ep : ep.name);
      }
    } catch (e) { /* ignore */ }
    return 'wasm';
  }

  function feedShapes(feeds) {
    var out = [];
    try {
      var ks = Object.keys(feeds || {});
      for (var i = 0; i < ks.length && i < 64; i++) {
        var t = feeds[ks[i]];
        if (t && t.dims) out.push(W.shapeOf(t.dims));
      }
    } catch (e) { /* ignore */ }
    return out;
  }

  /** Patch a global `ort` namespace (UMD). */
  O.hookOrt = function (ort) {
    var IS = ort && ort.InferenceSession;
    if (!IS || IS.__webinfer) return;
    try { Object.defineProperty(IS, '__webinfer', { value: true }); } catch (e) { return; }
    W.wrapMethod(IS, 'create', function (orig) {
      return function (arg0, arg1) {
        var start = W.now();
        var info = W.safe('ort create', function () {
          var opts = arg1 && typeof arg1 === 'object' && !(arg1 instanceof ArrayBuffer) && typeof arg1 !== 'number' ? arg1 : arguments[3];
          var model, bytes, urls = [];
          if (typeof arg0 === 'string') { model = W.absUrl(arg0); urls.push(model); }
          else if (arg0 && typeof arg0.byteLength === 'number') {
            bytes = arg0.byteLength;
            var e = W.resourceBySize(bytes, '.onnx') || W.resourceBySize(bytes);
            model = e ? e.name : 'onnx:' + bytes + 'B';
          } else model = 'onnx:unknown';
          return { model: model, bytes: bytes, urls: urls, backend: backendOf(opts) };
        });
        O.highCreate++;
        var r;
        try { r = orig.apply(this, arguments); } catch (e) { O.highCreate--; throw e; }
        var settle = function (session) {
          O.highCreate--;
          if (!info || !session) return;
          W.safe('ort created', function () {
            if (O.sessions) O.sessions.set(session, info);
            O.checkEnv(info.backend);
            W.emitModelLoad('ort', info.model, start, W.now(), info.urls, info.bytes !== undefined ? { bytes: info.bytes } : undefined);
          });
        };
        if (W.isThenable(r)) { try { r.then(settle, function () { O.highCreate--; }); } catch (e) { O.highCreate--; } } else settle(r);
        return r;
      };
    });
    if (IS.prototype) {
      W.wrapMethod(IS.prototype, 'run', function (orig) {
        return function (feeds) {
          var self = this;
          var info = O.sessions && O.sessions.get(self);
          var model = info ? info.model : 'onnx:unknown';
          var rec = W.safe('ort run', function () {
            return { framework: 'ort', model: model, backend: info ? info.backend : undefined, api: 'InferenceSession.run', start: W.now(), call: O.nextCall(model), input_shapes: feedShapes(feeds) };
          });
          O.highRun++;
          var r;
          try { r = orig.apply(this, arguments); } catch (e) { O.highRun--; throw e; }
          var done = function () {
            O.highRun--;
            if (!rec) return;
            W.safe('ort ran', function () {
              rec.dur = Math.max(0, W.now() - rec.start);
              rec.ready = 'return';
              emit('infer', rec);
              if (W.sampleMem) W.sampleMem();
            });
          };
          if (W.isThenable(r)) { try { r.then(done, function () { O.highRun--; }); } catch (e) { O.highRun--; } } else done();
          return r;
        };
      });
    }
  };

  /** Wrap an emscripten module's `_OrtCreateSession` value (low level). */
  O.wrapCreateSession = function (fn) {
    if (typeof fn !== 'function' || fn.__webinfer_orig) return fn;
    var w = function (dataOffset, dataLength) {
      var start = W.now();
      var r = fn.apply(this, arguments);
      if (O.highCreate > 0) {
        // High level records the load; still learn the handle → model mapping.
        W.safe('ort low create', function () {
          var e0 = W.resourceBySize(dataLength, '.onnx');
          var m0 = e0 ? e0.name : 'onnx:' + dataLength + 'B';
          var then0 = function (h) { O.handles[h] = m0; };
          if (W.isThenable(r)) r.then(then0, function () {}); else then0(r);
        });
        return r;
      }
      W.safe('ort low create', function () {
        var e = W.resourceBySize(dataLength, '.onnx') || W.resourceBySize(dataLength);
        var model = e ? e.name : 'onnx:' + dataLength + 'B';
        var settle = function (handle) {
          O.handles[handle] = model;
          O.checkEnv('wasm');
          W.emitModelLoad('ort', model, start, W.now(), e ? [model] : [], { bytes: dataLength });
        };
        if (W.isThenable(r)) r.then(settle, function () {}); else settle(r);
      });
      return r;
    };
    try { Object.defineProperty(w, '__webinfer_orig', { value: fn }); } catch (e) { /* ignore */ }
    return w;
  };

  /** Wrap an emscripten module's `_OrtRun` value (low level). */
  O.wrapRun = function (fn) {
    if (typeof fn !== 'function' || fn.__webinfer_orig) return fn;
    var w = function (sessionHandle) {
      if (O.highRun > 0) return fn.apply(this, arguments);
      var start = W.now();
      var r = fn.apply(this, arguments);
      W.safe('ort low run', function () {
        var model = O.handles[sessionHandle] || 'onnx:unknown';
        var done = function () {
          emit('infer', { framework: 'ort', model: model, backend: 'wasm', api: 'OrtRun', start: start, dur: Math.max(0, W.now() - start), call: O.nextCall(model), ready: 'return' });
          if (W.sampleMem) W.sampleMem();
        };
        if (W.isThenable(r)) r.then(done, function () {}); else done();
      });
      return r;
    };
    try { Object.defineProperty(w, '__webinfer_orig', { value: fn }); } catch (e) { /* ignore */ }
    return w;
  };

  function lowTrap(name, wrap) {
    W.trapAssignment(name, function (obj, v) {
      var wrapped = wrap(v);
      if (wrapped !== v) obj[name] = wrapped; // own data property now: a plain store
    });
  }

  O.install = function () {
    W.trapProperty(G, 'ort', O.hookOrt);
    lowTrap('_OrtCreateSession', O.wrapCreateSession);
    lowTrap('_OrtRun', O.wrapRun);
  };
})(globalThis);

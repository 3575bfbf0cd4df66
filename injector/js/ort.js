/* webinfer hook: ort.js — ONNX Runtime Web.
 *
 * One run is one `infer`, and its `dur` always spans the JS-level `InferenceSession.run`
 * (call → outputs readable), whichever way ORT reached the page. Layers, highest first:
 *  - `InferenceSession.prototype.run` (api "InferenceSession.run"): found on the UMD global
 *    `ort` (trapped with a setter), or — when ORT is bundled — through what the wasm path
 *    reveals: the session handler assigns `this.sessionId` (an `Object.prototype` trap whose
 *    setter recognises the handler by its prototype: loadModel/run/dispose/endProfiling),
 *    and the `InferenceSession` constructor then assigns `this.handler = <that handler>` (a
 *    second trap, installed only while a handler's session class is unknown, removed once
 *    found). Its class's static `create` is wrapped from then on (`model_load`).
 *  - the session handler's `run` (api "SessionHandler.run"): used while its InferenceSession
 *    class is unknown (e.g. a session class that defines `handler` as a class field);
 *  - the emscripten exports `_OrtCreateSession` / `_OrtRun` (api "OrtRun", the wasm run alone):
 *    assignment traps on Object.prototype wrap them; the last resort, and ORT's proxy worker.
 * A lower layer records nothing while a higher one of the same realm is running, so a run is
 * one record per realm. Every run record carries `ort_run: "<session handle>:<n>"` (the n-th
 * run of that wasm session handle in this realm): in ORT's proxy-worker mode the page records
 * the run at the JS level and the worker at the wasm level with the same key (RULES.md).
 * Session creation records `model_bytes`, `model_origin` ("url", "fetched", "generated": a
 * buffer no fetched resource matches, e.g. a library's own helper graph) and `create_site`.
 */
(function (G) {
  'use strict';
  var W = G[Symbol.for('webinfer.hook')];
  if (!W || W.skip) return;

  var O = W.ort = {
    highCreate: 0,
    highRun: 0, // InferenceSession.run calls running in this realm
    midRun: 0, // SessionHandler.run calls running (recorded or not)
    nextCall: W.makeCallCounter(),
    sessions: typeof WeakMap === 'function' ? new WeakMap() : null, // session/handler → info
    handlers: typeof WeakSet === 'function' ? new WeakSet() : null, // known session handlers
    handles: Object.create(null), // wasm session handle → info {model, bytes, origin}
    runCounts: Object.create(null), // wasm session handle → runs recorded in this realm
    envKey: null,
    classes: 0, // InferenceSession classes patched
    wrapped: [] // [object, property] of every run wrapper installed (benchmarks switch them)
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

  /** The model bytes of `create(buffer[, byteOffset, byteLength][, options])` as a Uint8Array
   * view, or null when the model is given by URL. */
  function bytesOf(arg0, arg1, arg2) {
    if (typeof G.ArrayBuffer !== 'function' || !arg0 || typeof arg0 === 'string') return null;
    if (arg0 instanceof G.Uint8Array) return arg0;
    if (G.ArrayBuffer.isView(arg0)) return new G.Uint8Array(arg0.buffer, arg0.byteOffset, arg0.byteLength);
    var isBuf = arg0 instanceof G.ArrayBuffer || (typeof G.SharedArrayBuffer === 'function' && arg0 instanceof G.SharedArrayBuffer);
    if (!isBuf) return null;
    if (typeof arg1 === 'number') return new G.Uint8Array(arg0, arg1, typeof arg2 === 'number' ? arg2 : arg0.byteLength - arg1);
    return new G.Uint8Array(arg0);
  }

  /** Model id, byte size and origin of a model given by URL or as a buffer of `bytes`. */
  function modelFrom(arg0) {
    if (typeof arg0 === 'string') return { model: W.absUrl(arg0), origin: 'url', urls: [W.absUrl(arg0)] };
    if (arg0 && typeof arg0.byteLength === 'number') return modelOfBytes(arg0.byteLength);
    return { model: 'onnx:unknown', urls: [] };
  }

  function modelOfBytes(bytes) {
    var e = W.resourceBySize(bytes, '.onnx') || W.resourceBySize(bytes);
    return e ? { model: e.name, bytes: bytes, origin: 'fetched', urls: [e.name], backend: 'wasm' } : { model: 'onnx:' + bytes + 'B', bytes: bytes, origin: 'generated', urls: [], backend: 'wasm' };
  }

  /**
   * The script that called `InferenceSession.create`: `url:line` of the first stack frame
   * outside the hook's own script (V8 and SpiderMonkey stack formats); undefined when unknown
   * (e.g. the caller is an inline script of the document the hook is inlined in).
   */
  function createSite() {
    try {
      var st = String(new Error().stack || '').split('\n');
      var re = /((?:https?|blob|file):\/\/[^\s)]+?):(\d+):\d+\)?\s*$/;
      for (var i = 0; i < st.length; i++) {
        var m = re.exec(st[i]);
        if (m && m[1] !== W.scriptUrl) return m[1] + ':' + m[2];
      }
    } catch (e) { /* ignore */ }
    return undefined;
  }

  /** The session info of an InferenceSession (or handler) object, learned at creation. */
  function infoOf(session) {
    var info = O.sessions && O.sessions.get(session);
    if (info) return info;
    try {
      var h = session && session.handler;
      if (h && O.sessions) info = O.sessions.get(h);
      if (!info && h && O.handles[h.sessionId]) info = O.handles[h.sessionId];
      if (!info && session && O.handles[session.sessionId]) info = O.handles[session.sessionId];
    } catch (e) { /* ignore */ }
    return info || null;
  }

  function handleOf(session) {
    try {
      var h = session && session.handler;
      var id = h && h.sessionId !== undefined ? h.sessionId : session && session.sessionId;
      return typeof id === 'number' || typeof id === 'string' ? id : undefined;
    } catch (e) {
      return undefined;
    }
  }

  function runKey(handle) {
    if (handle === undefined) return undefined;
    O.runCounts[handle] = (O.runCounts[handle] || 0) + 1;
    return handle + ':' + O.runCounts[handle];
  }

  /** Emit one `infer` for a JS-level run that finished now. */
  function emitRun(rec) {
    rec.dur = Math.max(0, W.now() - rec.start);
    rec.ready = 'return';
    emit('infer', rec);
    if (W.sampleMemSoon && !W.isOff('mem_infer')) W.sampleMemSoon();
  }

  // ---- --capture-inputs (opt-in): the inputs of one warm call per model, as safetensors ----

  /**
   * The feeds as a safetensors file ([`W.safetensors`]), or null when a feed is not a CPU
   * tensor or the session's capture budget would be passed.
   */
  O.safetensors = function (feeds) {
    var names = Object.keys(feeds || {});
    for (var i = 0; i < names.length; i++) {
      var t = feeds[names[i]];
      if (!t || (t.location && t.location !== 'cpu')) return null;
    }
    return W.safetensors(feeds);
  };

  /**
   * End a JS-level run: with `capture_inputs`, the first warm call (`call` 2) of a model keeps
   * its inputs (copied now, outside `dur`), and its `infer` is emitted with `inputs_sha256` once
   * the digest is ready; every other run is emitted at once.
   */
  function finishRun(rec, self, feeds) {
    var info = W.config && W.config.capture_inputs && rec.call >= 2 ? infoOf(self) : null;
    if (!info || info.inputsCaptured) { emitRun(rec); return; }
    info.inputsCaptured = true;
    rec.dur = Math.max(0, W.now() - rec.start);
    rec.ready = 'return';
    var file = W.safe('ort capture', function () { return O.safetensors(feeds); });
    W.emitWithInputs(rec, file, function (r) { emit('infer', r); });
  }

  function startRecord(self, feeds, api) {
    var info = infoOf(self);
    var model = info ? info.model : 'onnx:unknown';
    return {
      framework: 'ort', model: model, backend: info ? info.backend : undefined, api: api, layer: api === 'InferenceSession.run' ? 'model' : 'handler',
      start: W.now(), call: O.nextCall(model), input_shapes: feedShapes(feeds), ort_run: runKey(handleOf(self)),
      model_bytes: info ? info.bytes : undefined, model_origin: info ? info.origin : undefined
    };
  }

  /** Patch an InferenceSession class (global or bundled, once): `create` and `run`. */
  O.patchSessionClass = function (IS) {
    if (!IS || typeof IS !== 'function' || !IS.prototype || IS.__webinfer) return false;
    try { Object.defineProperty(IS, '__webinfer', { value: true }); } catch (e) { return false; }
    O.classes++;
    if (typeof IS.create === 'function') {
      W.wrapMethod(IS, 'create', function (orig) {
        return function (arg0, arg1) {
          var start = W.now();
          var args = arguments;
          var info = W.safe('ort create', function () {
            var opts = arg1 && typeof arg1 === 'object' && !(arg1 instanceof ArrayBuffer) && typeof arg1 !== 'number' ? arg1 : args[3];
            var m = modelFrom(arg0);
            m.backend = backendOf(opts);
            m.site = createSite();
            // A model given as bytes: hashed in the page now (WebCrypto copies them before ORT
            // may transfer or detach the buffer), and kept for the proxy with --save-models.
            var u8 = bytesOf(arg0, arg1, args[2]);
            if (u8) {
              m.shaP = W.sha256(u8);
              if (W.config && W.config.save_models) m.copy = u8.slice();
            }
            return m;
          });
          O.highCreate++;
          var r;
          try { r = orig.apply(this, arguments); } catch (e) { O.highCreate--; throw e; }
          var settle = function (session) {
            O.highCreate--;
            if (!info || !session) return;
            var end = W.now();
            W.safe('ort created', function () {
              if (O.sessions) O.sessions.set(session, info);
              var h = handleOf(session);
              if (h !== undefined) O.handles[h] = info;
              O.checkEnv(info.backend);
              var extra = { origin: info.origin, create_site: info.site };
              if (info.bytes !== undefined) extra.bytes = info.bytes;
              var emitLoad = function (sha) {
                W.safe('ort model_load', function () {
                  if (sha) extra.sha256 = sha;
                  W.emitModelLoad('ort', info.model, start, end, info.urls, extra);
                  if (sha && info.copy) W.uploadModel(info.copy, sha, '.onnx');
                  info.copy = null;
                });
              };
              if (info.shaP) info.shaP.then(emitLoad, function () { emitLoad(undefined); }); else emitLoad(undefined);
            });
          };
          if (W.isThenable(r)) { try { r.then(settle, function () { O.highCreate--; }); } catch (e) { O.highCreate--; } } else settle(r);
          return r;
        };
      });
    }
    wrapRun(IS.prototype, 'highRun', 'ort', function (self, feeds) {
      return startRecord(self, feeds, 'InferenceSession.run');
    });
    return true;
  };

  /**
   * Wrap `proto.run`: `O[counter]` counts the calls running; `start(session, feeds)` opens the
   * call's record (null: not recorded), finished when the result settles. `label` names the
   * layer in internal errors.
   */
  function wrapRun(proto, counter, label, start) {
    O.wrapped.push([proto, 'run']);
    W.wrapMethod(proto, 'run', function (orig) {
      return function (feeds) {
        var self = this;
        var rec = W.safe(label + ' run', function () { return start(self, feeds); });
        O[counter]++;
        var r;
        try { r = orig.apply(this, arguments); } catch (e) { O[counter]--; throw e; }
        var done = function () {
          O[counter]--;
          if (rec) W.safe(label + ' ran', function () { finishRun(rec, self, feeds); });
        };
        if (W.isThenable(r)) { try { r.then(done, function () { O[counter]--; }); } catch (e) { O[counter]--; } } else done();
        return r;
      };
    });
  }

  /** Patch a global `ort` namespace (UMD). */
  O.hookOrt = function (ort) {
    if (ort && ort.InferenceSession) O.patchSessionClass(ort.InferenceSession);
  };

  function isHandlerProto(p) {
    return !!p && typeof p.loadModel === 'function' && typeof p.run === 'function' &&
      typeof p.dispose === 'function' && typeof p.endProfiling === 'function';
  }

  /** Wrap a session handler prototype's `run` (once): the layer below InferenceSession.run. */
  function patchHandlerProto(proto) {
    if (Object.prototype.hasOwnProperty.call(proto, '__webinfer')) return;
    try { Object.defineProperty(proto, '__webinfer', { value: true }); } catch (e) { return; }
    wrapRun(proto, 'midRun', 'ort handler', function (self, feeds) {
      return O.highRun > 0 ? null : startRecord(self, feeds, 'SessionHandler.run');
    });
  }

  /** `this.sessionId = v` on any object: a session handler of a (bundled) ORT? */
  O.onSessionId = function (obj, v) {
    var proto = Object.getPrototypeOf(obj);
    if (!isHandlerProto(proto)) return;
    if (O.handlers) O.handlers.add(obj);
    var info = O.handles[v];
    if (info && O.sessions) O.sessions.set(obj, info);
    patchHandlerProto(proto);
    // Its InferenceSession will assign `this.handler = obj` next: trap that (until found).
    if (!W.hasAssignmentTrap('handler')) W.trapAssignment('handler', O.onHandler);
  };

  /** `this.handler = v`: the InferenceSession constructor of a known handler. */
  O.onHandler = function (obj, v) {
    if (!O.handlers || !O.handlers.has(v)) return;
    var proto = Object.getPrototypeOf(obj);
    if (!proto || typeof proto.run !== 'function') return;
    O.patchSessionClass(proto.constructor);
    var info = O.sessions && O.sessions.get(v);
    if (info && O.sessions) O.sessions.set(obj, info);
    W.untrapAssignment('handler');
  };

  /**
   * The `len` bytes at `off` in the emscripten module's heap (`module.HEAPU8`, the module the
   * export is called on) as a view, or null when the heap is not reachable or the range is
   * outside it.
   */
  function heapView(module, off, len) {
    var heap = module && module.HEAPU8;
    if (!heap || typeof off !== 'number' || typeof len !== 'number' || len <= 0) return null;
    if (off < 0 || off + len > heap.length) return null;
    return heap.subarray(off, off + len);
  }

  /** Wrap an emscripten module's `_OrtCreateSession` value (low level). */
  O.wrapCreateSession = function (fn) {
    if (typeof fn !== 'function' || fn.__webinfer_orig) return fn;
    var w = function (dataOffset, dataLength) {
      var high = O.highCreate > 0;
      // Seen only here (e.g. ORT's proxy worker creating the page's session): the model bytes
      // lie in the module's heap; copied before the call (ORT frees them after it) and hashed
      // off the call (`model_load.sha256`), kept for the proxy with --save-models.
      var module = this;
      var view = high ? null : W.safe('ort low bytes', function () { return heapView(module, dataOffset, dataLength); });
      // Copied: WebCrypto refuses views of a shared memory (the threaded build's heap is one
      // even where the page cannot name `SharedArrayBuffer`), and the heap is freed after.
      var bytes = view ? view.slice() : null;
      var shaP = bytes ? W.sha256(bytes) : null;
      var start = W.now(); // the copy above is the hook's, not the load's
      var r = fn.apply(this, arguments);
      W.safe('ort low create', function () {
        var m = modelOfBytes(dataLength);
        var settle = function (handle) {
          // A high-level create records the load itself; the handle → model mapping is kept
          // either way (for runs seen through the handler or the wasm export).
          if (!O.handles[handle]) O.handles[handle] = m;
          if (high) return;
          O.checkEnv('wasm');
          var end = W.now();
          var emitLoad = function (sha) {
            W.safe('ort low model_load', function () {
              var extra = { bytes: dataLength, origin: m.origin };
              if (sha) extra.sha256 = sha;
              W.emitModelLoad('ort', m.model, start, end, m.urls, extra);
              if (sha && W.config && W.config.save_models) W.uploadModel(bytes, sha, '.onnx');
              bytes = null;
            });
          };
          if (shaP) shaP.then(emitLoad, function () { emitLoad(undefined); }); else emitLoad(undefined);
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
      if (O.highRun > 0 || O.midRun > 0) return fn.apply(this, arguments);
      var start = W.now();
      var r = fn.apply(this, arguments);
      W.safe('ort low run', function () {
        var info = O.handles[sessionHandle];
        var model = info ? info.model : 'onnx:unknown';
        var rec = {
          framework: 'ort', model: model, backend: 'wasm', api: 'OrtRun', layer: 'wasm', start: start, call: O.nextCall(model),
          ort_run: runKey(sessionHandle), model_bytes: info ? info.bytes : undefined, model_origin: info ? info.origin : undefined
        };
        var done = function () {
          rec.dur = Math.max(0, W.now() - start);
          rec.ready = 'return';
          emit('infer', rec);
          if (W.sampleMemSoon && !W.isOff('mem_infer')) W.sampleMemSoon();
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
      if (wrapped !== v) {
        obj[name] = wrapped; // own data property now: a plain store
        O.wrapped.push([obj, name]);
      }
    });
  }

  O.install = function () {
    W.trapProperty(G, 'ort', O.hookOrt, true);
    lowTrap('_OrtCreateSession', O.wrapCreateSession);
    lowTrap('_OrtRun', O.wrapRun);
    W.trapAssignment('sessionId', O.onSessionId);
  };
})(globalThis);

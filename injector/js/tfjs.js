/* webinfer hook: tfjs.js — TensorFlow.js: engine, models, op-level forward passes.
 *
 * Entry points (all installed by main.js):
 *  - `W.trapProperty(globalThis, '_tfengine', W.tfjs.hookEngine)`: tfjs-core keeps its engine
 *    singleton in `getGlobalNamespace()._tfengine` (= globalThis), for the UMD build and for
 *    every bundled copy alike, so the setter sees each engine when it is created.
 *  - `W.trapAssignment('resourceManager', …)`: tfjs-converter's GraphModel constructor assigns
 *    `this.resourceManager`; the setter finds the GraphModel prototype even when the class is
 *    bundled, and patches `load`, `predict`, `predictAsync`, `execute`, `executeAsync`.
 *  - `W.trapAssignment('isTraining', …)`: same for tfjs-layers' LayersModel (`predict`,
 *    `predictOnBatch`, `execute`); `tf.loadLayersModel` is wrapped when `tf` is a global.
 *  - weights manifests (`*weights_manifest.json`, as face-api loads them) seen by the fetch
 *    wrapper give `model_load` records; op-level forward passes become `infer` records through
 *    the tidy rule (RULES.md), implemented by the `engine.tidy` wrapper below (plus a
 *    kernel-counting `runKernel` only while a watched tidy runs). A model call inside a watched
 *    tidy is one inference: the model-level record, with the tidy's view in `merged`.
 * The rule and the readiness rule are documented in RULES.md.
 */
(function (G) {
  'use strict';
  var W = G[Symbol.for('webinfer.hook')];
  if (!W || W.skip) return;

  var T = W.tfjs = {
    /** Minimum number of top-level kernels for a tidy scope to count as a forward pass. */
    minKernels: 10,
    /** How long to wait for a GPU read before falling back to the call's end (ms). */
    readTimeoutMs: 2000,
    engines: [],
    modelSyncDepth: 0, // > 0 while the synchronous part of a model call runs
    modelActive: 0, // model calls started and not finished (async ones included)
    nextCall: W.makeCallCounter(),
    envKey: null,
    patchedProtos: typeof WeakSet === 'function' ? new WeakSet() : null,
    modelIds: typeof WeakMap === 'function' ? new WeakMap() : null,
    anonModels: 0,
    pendingGpu: [] // infers waiting for a GPU read: {callEnd, finish}
  };

  function emit(kind, fields, ts) { return W.emit ? W.emit(kind, fields, ts) : -1; }
  function cfg() { return W.config || {}; }

  /** The most recently created engine (the one the page uses). */
  T.engine = function () { return T.engines.length ? T.engines[T.engines.length - 1] : null; };

  function isGpuBackend(name) { return name === 'webgl' || name === 'webgpu'; }

  /** tfjs version from a global `tf` (UMD) or face-api's bundled copy, else "unknown". */
  T.version = function () {
    try {
      var cands = [G.tf, G.faceapi && G.faceapi.tf, G.Human && G.Human.tf];
      for (var i = 0; i < cands.length; i++) {
        var t = cands[i];
        if (!t) continue;
        if (t.version && typeof t.version === 'object') {
          var v = t.version['tfjs-core'] || t.version.tfjs;
          if (typeof v === 'string') return v;
        }
        if (typeof t.version_core === 'string') return t.version_core;
      }
    } catch (e) { /* ignore */ }
    return 'unknown';
  };

  /** GPU vendor/renderer of the webgl backend's context (WEBGL_debug_renderer_info). */
  function gpuInfo(engine, backendName) {
    try {
      var b = engine.registry && engine.registry[backendName];
      if (!b) return undefined;
      if (backendName === 'webgl') {
        var gl = b.gpgpu && b.gpgpu.gl;
        if (!gl) return undefined;
        var ext = gl.getExtension('WEBGL_debug_renderer_info');
        if (!ext) return undefined;
        return { vendor: String(gl.getParameter(ext.UNMASKED_VENDOR_WEBGL)), renderer: String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) };
      }
      if (backendName === 'webgpu' && b.adapterInfo) {
        return { vendor: String(b.adapterInfo.vendor || ''), renderer: String(b.adapterInfo.architecture || b.adapterInfo.description || '') };
      }
    } catch (e) { /* ignore */ }
    return undefined;
  }

  /** Emit an `env` record when the engine's backend is first seen or changes. */
  T.checkEnv = function (engine) {
    var backend = engine && engine.backendName;
    if (!backend) return;
    var version = T.version();
    var key = backend + '|' + version;
    if (T.envKey === key) return;
    T.envKey = key;
    var rec = { framework: 'tfjs', version: version, backend: backend };
    var gpu = gpuInfo(engine, backend);
    if (gpu) rec.gpu = gpu;
    if (W.webgpu) W.webgpu.addEnv(rec); // webgpu.js: env.adapter, env.webnn
    if (backend === 'wasm' && engine.ENV && typeof engine.ENV.getAsync === 'function') {
      var get = function (flag) {
        try { return Promise.resolve(engine.ENV.getAsync(flag)).then(function (v) { return !!v; }, function () { return undefined; }); } catch (e) { return Promise.resolve(undefined); }
      };
      Promise.all([get('WASM_HAS_SIMD_SUPPORT'), get('WASM_HAS_MULTITHREAD_SUPPORT')]).then(function (r) {
        if (r[0] !== undefined) rec.wasm_simd = r[0];
        if (r[1] !== undefined) rec.wasm_threads = r[1];
        emit('env', rec);
      });
    } else {
      emit('env', rec);
    }
  };

  /** tf.memory() of the current engine, only once a backend is initialized (no side effects). */
  T.memory = function () {
    var e = T.engine();
    if (!e || !e.backendName) return undefined;
    try {
      var m = e.memory();
      var out = { tf_bytes: m.numBytes, tf_tensors: m.numTensors };
      if (typeof m.numBytesInGPU === 'number') out.tf_gpu_bytes = m.numBytesInGPU;
      return out;
    } catch (e2) {
      return undefined;
    }
  };

  // ---- GPU readiness -------------------------------------------------------------------

  /** Wrap a GPU backend's read/readSync: a download that starts after a call returned and
   * completes proves the GPU finished that call's work (the queue is in order). A read that
   * started in time holds its calls until it completes, however long the GPU takes (WebGPU on a
   * software adapter needs seconds for a first call's shaders): `reading` counts them. */
  function hookBackendReads(backend) {
    if (!backend || backend.__webinfer_reads) return;
    try { Object.defineProperty(backend, '__webinfer_reads', { value: true }); } catch (e) { return; }
    function started(startedAt) {
      var list = T.pendingGpu;
      var mine = [];
      for (var i = 0; i < list.length; i++) {
        if (list[i].callEnd <= startedAt) { list[i].reading++; mine.push(list[i]); }
      }
      return mine;
    }
    function settle(mine, ok) {
      var t = W.now();
      for (var i = 0; i < mine.length; i++) {
        var e = mine[i];
        e.reading--;
        if (ok) e.finish(t, 'read');
        else if (e.reading === 0 && e.timedOut) e.finish(e.callEnd, 'timeout');
      }
      T.pendingGpu = T.pendingGpu.filter(function (x) { return !x.done; });
    }
    W.wrapMethod(backend, 'read', function (orig) {
      return function () {
        var mine = T.pendingGpu.length ? started(W.now()) : null;
        var r;
        try { r = orig.apply(this, arguments); } catch (e) { if (mine) settle(mine, false); throw e; }
        if (mine && mine.length) {
          try {
            if (W.isThenable(r)) r.then(function () { settle(mine, true); }, function () { settle(mine, false); });
            else settle(mine, true);
          } catch (e) { /* ignore */ }
        }
        return r;
      };
    });
    W.wrapMethod(backend, 'readSync', function (orig) {
      return function () {
        var mine = T.pendingGpu.length ? started(W.now()) : null;
        var r;
        try { r = orig.apply(this, arguments); } catch (e) { if (mine) settle(mine, false); throw e; }
        if (mine && mine.length) W.safe('readSync settle', function () { settle(mine, true); });
        return r;
      };
    });
  }

  /**
   * Call `cb(end, how)` when the outputs of a call that returned at `callEnd` are readable:
   * immediately for CPU/wasm backends ("return"); for webgl/webgpu at the completion of the
   * first GPU→CPU read that started after `callEnd` ("read"), or at `callEnd` if no read
   * starts within `T.readTimeoutMs` ("timeout"; a read that started in time is waited for).
   */
  T.whenReady = function (engine, backendName, callEnd, cb) {
    if (!isGpuBackend(backendName)) { cb(callEnd, 'return'); return; }
    var backend = engine && engine.registry && engine.registry[backendName];
    if (!backend) { cb(callEnd, 'return'); return; }
    hookBackendReads(backend);
    var entry = {
      callEnd: callEnd,
      reading: 0, // reads started after callEnd and not finished
      timedOut: false,
      done: false,
      finish: function (t, how) {
        if (entry.done) return;
        entry.done = true;
        cb(t, how);
      }
    };
    T.pendingGpu.push(entry);
    var st = W.setTimeout || G.setTimeout;
    st(function () {
      if (entry.done) return;
      entry.timedOut = true;
      if (entry.reading > 0) return; // a read is under way: its completion ends the call
      T.pendingGpu = T.pendingGpu.filter(function (x) { return x !== entry; });
      entry.finish(callEnd, 'timeout');
    }, T.readTimeoutMs);
  };

  // ---- kernel profiling (opt-in) ------------------------------------------------------------

  function startProfiling(engine) {
    if (!cfg().kernels || !engine || !engine.state) return null;
    var st = engine.state;
    if (st.profiling) return null; // the page profiles itself: leave it alone
    var saved = st.activeProfile ? st.activeProfile.kernels : undefined;
    if (st.activeProfile) st.activeProfile.kernels = [];
    st.profiling = true;
    return { engine: engine, saved: saved };
  }

  function stopProfiling(p) {
    if (!p) return [];
    var st = p.engine.state;
    st.profiling = false;
    var ks = st.activeProfile ? st.activeProfile.kernels : [];
    if (st.activeProfile) st.activeProfile.kernels = p.saved || [];
    return ks || [];
  }

  function emitKernels(kernels, model, inferSeq) {
    if (!kernels.length) return;
    var times = kernels.map(function (k) { return Promise.resolve(k.kernelTimeMs).then(function (v) { return v; }, function () { return undefined; }); });
    Promise.all(times).then(function (ms) {
      for (var i = 0; i < kernels.length; i++) {
        var k = kernels[i];
        var dur = ms[i];
        if (dur && typeof dur === 'object') dur = dur.kernelMs !== undefined ? dur.kernelMs : undefined;
        if (typeof dur !== 'number' || !isFinite(dur)) continue;
        emit('kernel', {
          framework: 'tfjs', model: model, infer_seq: inferSeq >= 0 ? inferSeq : undefined, name: String(k.name),
          dur: dur,
          input_shapes: (k.inputShapes || []).map(W.shapeOf),
          output_shapes: (k.outputShapes || []).map(W.shapeOf),
          bytes_added: typeof k.bytesAdded === 'number' ? k.bytesAdded : undefined
        });
      }
    });
  }

  // ---- one inference ----------------------------------------------------------------------

  /**
   * Finish an inference: wait until its outputs are readable (`T.whenReady`), then emit
   * `infer`, a `mem` sample (in a later task) and (opt-in) its kernels. `info`: {engine,
   * backend, model, api, layer, start, callEnd, call, input_shapes?, ops?, profile?, cand?}.
   * A model call made inside a watched tidy (`info.cand`) is emitted once that tidy has ended,
   * with the tidy's view of the same pass in `merged`.
   */
  T.finishInfer = function (info) {
    var kernels = stopProfiling(info.profile);
    T.whenReady(info.engine, info.backend, info.callEnd, function (end, how) {
      var fire = function () {
        var rec = {
          framework: 'tfjs', model: info.model, backend: info.backend || undefined, api: info.api, layer: info.layer,
          start: info.start, dur: Math.max(0, end - info.start), call: info.call,
          input_shapes: info.input_shapes, ops: info.ops, ready: how, merged: info.merged,
          // webgpu.js: time the call spent creating compute pipelines (shader compilation)
          compile_dur: info.backend === 'webgpu' && W.webgpu && typeof info.compile0 === 'number' ? Math.max(0, W.webgpu.compileMs() - info.compile0) : undefined
        };
        W.emitWithInputs(rec, info.capture, function (r) {
          var seq = emit('infer', r);
          if (W.sampleMemSoon && !W.isOff('mem_infer')) W.sampleMemSoon();
          emitKernels(kernels, info.model, seq);
        });
      };
      if (info.cand && !info.cand.closed) info.cand.held.push(fire);
      else fire();
    });
  };

  // ---- engine hooks: the tidy rule ----------------------------------------------------------

  /** The tidy being watched (outermost, outside model calls and kernels), or null. */
  T.cand = null;

  /**
   * Install the tidy wrapper on one engine instance (idempotent). Only `engine.tidy` is
   * wrapped for good (one call per tidy, none per op); while an outermost tidy runs outside
   * every model call, a kernel-counting `runKernel` is set as the engine's own property and
   * removed when the tidy ends, so ops outside watched tidies run the engine's own code.
   */
  T.hookEngine = function (engine) {
    if (!engine || typeof engine !== 'object' || engine.__webinfer) return;
    try { Object.defineProperty(engine, '__webinfer', { value: true }); } catch (e) { return; }
    T.engines.push(engine);
    if (W.isOff('kernel_wrap')) return;

    var protoRunKernel = null;
    var counting = function (kernelName) {
      var c = T.cand;
      if (c && c.engine === engine && T.modelActive === 0) {
        var st = engine.state;
        if (!st || !st.kernelDepth) {
          c.kernels++;
          var s = String(kernelName) + ',';
          var h = c.hash;
          for (var i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
          c.hash = h;
        }
      }
      return (c ? c.runKernel : protoRunKernel).apply(this, arguments);
    };

    function startCounting(c) {
      var own = Object.getOwnPropertyDescriptor(engine, 'runKernel');
      c.ownRunKernel = own || null;
      c.runKernel = own ? own.value : engine.runKernel;
      protoRunKernel = c.runKernel;
      if (typeof c.runKernel !== 'function') return false;
      try {
        Object.defineProperty(engine, 'runKernel', { value: counting, writable: true, configurable: true, enumerable: false });
      } catch (e) { return false; }
      return true;
    }

    function stopCounting(c) {
      try {
        if (engine.runKernel !== counting) return; // replaced meanwhile: leave it
        if (c.ownRunKernel) Object.defineProperty(engine, 'runKernel', c.ownRunKernel);
        else delete engine.runKernel;
      } catch (e) { W.internalError('stopCounting', e); }
    }

    W.wrapMethod(engine, 'tidy', function (orig) {
      return function (nameOrFn, fn) {
        if (T.cand || T.modelActive > 0) return orig.apply(this, arguments);
        var st = engine.state;
        if (st && ((st.scopeStack && st.scopeStack.length > 0) || st.kernelDepth > 0)) return orig.apply(this, arguments);
        var c = {
          engine: engine, name: typeof nameOrFn === 'string' ? nameOrFn : null, start: W.now(), kernels: 0,
          hash: 0x811c9dc5, inner: [], held: [], closed: false, runKernel: null, ownRunKernel: null,
          compile0: W.webgpu ? W.webgpu.compileMs() : undefined
        };
        if (!startCounting(c)) return orig.apply(this, arguments);
        c.profile = startProfiling(engine);
        T.cand = c;
        var r;
        try {
          r = orig.apply(this, arguments);
        } catch (e) {
          T.cand = null;
          stopCounting(c);
          stopProfiling(c.profile);
          c.closed = true;
          throw e;
        }
        T.cand = null;
        stopCounting(c);
        W.safe('tidy end', function () { T.endCandidate(c, W.now()); });
        return r;
      };
    });
  };

  /** A watched tidy ended at `callEnd`: one `infer` (api "tidy"), or merged into its model calls. */
  T.endCandidate = function (c, callEnd) {
    c.closed = true;
    var engine = c.engine;
    var named = typeof c.name === 'string' && c.name && !/__op$/.test(c.name);
    var model = named ? c.name : 'ops:' + ('00000000' + c.hash.toString(16)).slice(-8);
    if (c.inner.length) {
      // Model calls ran inside: the same forward pass seen at two layers. The model-level
      // record stands; the tidy's view goes into its `merged`.
      stopProfiling(c.profile);
      var view = { api: 'tidy', layer: 'ops', model: model, start: c.start, dur: Math.max(0, callEnd - c.start), ops: c.kernels };
      for (var i = 0; i < c.inner.length; i++) c.inner[i].merged = [view];
      var held = c.held;
      c.held = [];
      for (var j = 0; j < held.length; j++) held[j]();
      return;
    }
    if (c.kernels < T.minKernels) { stopProfiling(c.profile); return; }
    T.checkEnv(engine);
    T.finishInfer({
      engine: engine, backend: engine.backendName, model: model, api: 'tidy', layer: 'ops', start: c.start,
      callEnd: callEnd, call: T.nextCall(model), ops: c.kernels, profile: c.profile, compile0: c.compile0
    });
  };

  // ---- models ----------------------------------------------------------------------------------

  function modelIdOf(model, kind) {
    try {
      var known = T.modelIds && T.modelIds.get(model);
      if (known) return known;
      var id;
      if (typeof model.modelUrl === 'string') id = W.absUrl(model.modelUrl);
      else if (model.modelUrl && typeof model.modelUrl.path === 'string') id = W.absUrl(model.modelUrl.path);
      else id = kind + ':' + (model.name ? String(model.name) : String(++T.anonModels));
      if (T.modelIds) T.modelIds.set(model, id);
      return id;
    } catch (e) {
      return kind;
    }
  }

  // ---- --capture-inputs (opt-in) ----------------------------------------------------------

  T.capturedModels = Object.create(null);
  var TF_DTYPES = { float32: 'float32', int32: 'int32', bool: 'bool' };

  /** A graph model's input node name for a signature key or `name:0` tensor name. */
  function graphInputName(model, key) {
    try {
      var sig = model.signature && model.signature.inputs;
      if (sig && sig[key] && typeof sig[key].name === 'string') key = sig[key].name;
    } catch (e) { /* ignore */ }
    return String(key).replace(/:\d+$/, '');
  }

  /** The name the converted model gives input `i`: the graph's input node or the input layer. */
  function inputNameAt(model, kind, i) {
    try {
      if (kind === 'layers' && model.inputNames && model.inputNames[i]) return String(model.inputNames[i]);
      var ins = model.inputs;
      if (ins && ins[i] && typeof ins[i].name === 'string') return graphInputName(model, ins[i].name);
    } catch (e) { /* ignore */ }
    return null;
  }

  /**
   * With `capture_inputs`, the inputs of a model's first warm call as a safetensors file named
   * as the converted ONNX model names them (graph input nodes, or input layers), read with
   * `dataSync` before the call starts (outside `dur`); null when off, done already for this
   * model, over budget, or an input cannot be read (e.g. GPU-resident on WebGPU).
   */
  T.captureInputs = function (model, id, kind, inputs) {
    if (!(W.config && W.config.capture_inputs) || T.capturedModels[id]) return null;
    T.capturedModels[id] = true;
    return W.safe('tfjs capture', function () {
      var named = [];
      if (W.isTensor(inputs)) named.push([inputNameAt(model, kind, 0), inputs]);
      else if (Array.isArray(inputs)) {
        for (var i = 0; i < inputs.length; i++) named.push([inputNameAt(model, kind, i), inputs[i]]);
      } else if (inputs && typeof inputs === 'object') {
        var ks = Object.keys(inputs);
        for (var j = 0; j < ks.length; j++) {
          named.push([kind === 'graph' ? graphInputName(model, ks[j]) : ks[j], inputs[ks[j]]]);
        }
      }
      var feeds = {};
      for (var k = 0; k < named.length; k++) {
        var name = named[k][0];
        var t = named[k][1];
        if (!name || !W.isTensor(t) || !TF_DTYPES[t.dtype] || typeof t.dataSync !== 'function') return null;
        var data = t.dataSync();
        if (t.dtype === 'bool' && !(data instanceof Uint8Array)) data = Uint8Array.from(data);
        feeds[name] = { type: TF_DTYPES[t.dtype], dims: t.shape, data: data };
      }
      return W.safetensors(feeds);
    }) || null;
  };

  /** Wrap a model method so each outermost call becomes an `infer`. */
  function wrapModelCall(proto, method, api, kind) {
    W.wrapMethod(proto, method, function (orig) {
      return function (inputs) {
        if (T.modelSyncDepth > 0) return orig.apply(this, arguments); // nested (predict → execute)
        var self = this;
        var info = null;
        W.safe('model call start', function () {
          var engine = T.engine();
          var model = modelIdOf(self, kind);
          var call = T.nextCall(model);
          // --capture-inputs: the first warm call's inputs, read before its `start`.
          var capture = call >= 2 ? T.captureInputs(self, model, kind, inputs) : null;
          info = {
            engine: engine, backend: engine ? engine.backendName : undefined, model: model, api: api, layer: 'model',
            start: W.now(), call: call, input_shapes: W.inputShapes(inputs),
            profile: null, compile0: W.webgpu ? W.webgpu.compileMs() : undefined, capture: capture
          };
          // Inside a watched tidy that profiles: the model call takes the profile over.
          if (T.cand && T.cand.profile) { stopProfiling(T.cand.profile); T.cand.profile = null; }
          info.profile = startProfiling(engine);
          if (T.cand) { info.cand = T.cand; T.cand.inner.push(info); }
        });
        T.modelSyncDepth++;
        T.modelActive++;
        var r;
        try {
          r = orig.apply(this, arguments);
        } catch (e) {
          T.modelSyncDepth--;
          T.modelActive--;
          if (info) stopProfiling(info.profile);
          throw e;
        }
        T.modelSyncDepth--;
        var done = function () {
          T.modelActive--;
          if (!info) return;
          if (info.call === 1) T.memoryModelSoon(self, info.model);
          W.safe('model call end', function () {
            info.callEnd = W.now();
            if (info.engine) {
              if (!info.backend) info.backend = info.engine.backendName;
              T.checkEnv(info.engine);
            }
            T.finishInfer(info);
          });
        };
        if (W.isThenable(r)) {
          try { r.then(done, function () { T.modelActive--; if (info) stopProfiling(info.profile); }); } catch (e) { done(); }
        } else {
          done();
        }
        return r;
      };
    });
  }

  // ---- models that never crossed the wire as files ------------------------------------------

  T.serialized = typeof WeakSet === 'function' ? new WeakSet() : null;
  var MEMORY_MODEL_MAX = 32 * 1024 * 1024; // weights serialized for the sha256 without --save-models

  function concatBytes(parts) {
    var n = 0;
    for (var i = 0; i < parts.length; i++) n += parts[i].byteLength;
    var out = new Uint8Array(n);
    var off = 0;
    for (var j = 0; j < parts.length; j++) { out.set(new Uint8Array(parts[j]), off); off += parts[j].byteLength; }
    return out;
  }

  /**
   * A model without a URL (TF.js weights inlined in JavaScript as nsfwjs ships them,
   * `tf.io.fromMemory`, `indexeddb://`, a custom IOHandler): after its first call, in a task of
   * its own, `model.save()` into a handler of ours gives TF.js's own artifacts; they become a
   * `model.json` (its weightsManifest naming one shard `<sha256 of the weights>.bin`) and that
   * shard. Their SHA-256 goes into a `model_load` with `model_origin: "memory"` (`start`/`dur`:
   * the serialization, not the load, which happened unseen), and with `--save-models` both files
   * go to the proxy, so `webinfer native <sha256>.json` runs the same model. Weights over 32 MiB
   * are serialized only when saving.
   */
  T.memoryModelSoon = function (model, id) {
    if (!T.serialized || T.serialized.has(model) || /^(https?|blob|data|file):/.test(id)) return;
    if (typeof model.save !== 'function' || !G.TextEncoder) return;
    T.serialized.add(model);
    var saving = !!(W.config && W.config.save_models);
    (W.setTimeout || G.setTimeout)(function () {
      W.safe('memory model', function () {
        var params = typeof model.countParams === 'function' ? W.safe('countParams', function () { return model.countParams(); }) : undefined;
        if (!saving && typeof params === 'number' && params * 4 > MEMORY_MODEL_MAX) return;
        var start = W.now();
        var art = null;
        var handler = { save: function (a) { art = a; return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }); } };
        Promise.resolve(model.save(handler)).then(function () {
          if (!art || !art.modelTopology) return;
          var wd = art.weightData;
          var weights = wd ? concatBytes(Array.isArray(wd) ? wd : [wd]) : new Uint8Array(0);
          if (!saving && weights.length > MEMORY_MODEL_MAX) return;
          return W.sha256(weights).then(function (shaW) {
            if (!shaW) return;
            var json = { modelTopology: art.modelTopology };
            ['format', 'generatedBy', 'convertedBy', 'trainingConfig', 'signature', 'userDefinedMetadata', 'modelInitializer'].forEach(function (k) {
              if (art[k] !== undefined) json[k] = art[k];
            });
            json.weightsManifest = [{ paths: [shaW + '.bin'], weights: art.weightSpecs || [] }];
            var text = new G.TextEncoder().encode(JSON.stringify(json));
            return W.sha256(text).then(function (shaJ) {
              if (!shaJ) return;
              W.safe('memory model_load', function () {
                W.emit('model_load', {
                  framework: 'tfjs', model: id, start: start, dur: Math.max(0, W.now() - start),
                  bytes: text.length + weights.length, sha256: shaJ, model_origin: 'memory',
                  artifacts: [{ url: 'memory:model.json', bytes: text.length, sha256: shaJ },
                    { url: 'memory:' + shaW + '.bin', bytes: weights.length, sha256: shaW }]
                });
                // The shard first: a saved model.json always has its shard beside it.
                if (saving) W.uploadModel(weights, shaW, '.bin', function () { W.uploadModel(text, shaJ, '.json'); });
              });
            });
          });
        }, function (e) { W.internalError('memory model save', e); });
      });
    }, 0);
  };

  function isGraphModelProto(p) {
    return p && typeof p.execute === 'function' && typeof p.executeAsync === 'function' &&
      typeof p.predict === 'function' && typeof p.load === 'function';
  }

  /** Patch a GraphModel prototype (once). */
  T.patchGraphModel = function (proto) {
    if (!isGraphModelProto(proto) || (T.patchedProtos && T.patchedProtos.has(proto))) return false;
    if (T.patchedProtos) T.patchedProtos.add(proto);
    wrapModelCall(proto, 'predict', 'GraphModel.predict', 'graph');
    wrapModelCall(proto, 'predictAsync', 'GraphModel.predictAsync', 'graph');
    wrapModelCall(proto, 'execute', 'GraphModel.execute', 'graph');
    wrapModelCall(proto, 'executeAsync', 'GraphModel.executeAsync', 'graph');
    W.wrapMethod(proto, 'load', function (orig) {
      return function () {
        var self = this;
        var start = W.now();
        var r = orig.apply(this, arguments);
        var done = function () { W.safe('graph load', function () { T.graphModelLoaded(self, start, W.now()); }); };
        if (W.isThenable(r)) { try { r.then(done, function () {}); } catch (e) { /* ignore */ } } else done();
        return r;
      };
    });
    return true;
  };

  /**
   * Emit `model_load` for a loaded GraphModel: the model.json plus its weight shards. The
   * loaded artifacts no longer list the shard URLs, so the shards are the Resource Timing
   * entries fetched during the load whose URL lies in the model.json's directory (or under
   * `weightPathPrefix`).
   */
  T.graphModelLoaded = function (model, start, end) {
    var id = modelIdOf(model, 'graph');
    if (!/^(https?|blob|data|file):/.test(id)) { W.emitModelLoad('tfjs', id, start, end, []); return; }
    var prefix = model.loadOptions && typeof model.loadOptions.weightPathPrefix === 'string' ? W.absUrl(model.loadOptions.weightPathPrefix) : id.replace(/[^/]*([?#].*)?$/, '');
    (W.setTimeout || G.setTimeout)(function () {
      W.safe('graph artifacts', function () {
        var urls = [id];
        var es = G.performance.getEntriesByType('resource');
        for (var i = 0; i < es.length; i++) {
          var e = es[i];
          if (e.startTime < start - 1 || e.startTime > end || e.name === id || urls.indexOf(e.name) >= 0) continue;
          if (e.name.indexOf(prefix) === 0 && e.name.indexOf(W.config && W.config.endpoint ? W.config.endpoint : '/__webinfer__/') < 0) urls.push(e.name);
        }
        W.emitModelLoad('tfjs', id, start, end, urls);
      });
    }, 250);
  };

  function isLayersModelProto(p) {
    return p && typeof p.predict === 'function' && typeof p.predictOnBatch === 'function' &&
      typeof p.execute === 'function' && typeof p.fit === 'function';
  }

  /** Patch a LayersModel prototype (the most derived one that defines predict, once). */
  T.patchLayersModel = function (proto) {
    var p = proto;
    while (p && !Object.prototype.hasOwnProperty.call(p, 'predictOnBatch')) p = Object.getPrototypeOf(p);
    if (!isLayersModelProto(p) || (T.patchedProtos && T.patchedProtos.has(p))) return false;
    T.patchedProtos.add(p);
    wrapModelCall(p, 'predict', 'LayersModel.predict', 'layers');
    wrapModelCall(p, 'predictOnBatch', 'LayersModel.predictOnBatch', 'layers');
    wrapModelCall(p, 'execute', 'LayersModel.execute', 'layers');
    return true;
  };

  /** Wrap the UMD global's loadLayersModel / loadGraphModel for model_load of LayersModels. */
  T.hookTfGlobal = function (tf) {
    if (!tf || typeof tf !== 'object' || tf.__webinfer) return;
    if (typeof tf.loadLayersModel !== 'function') return;
    try { Object.defineProperty(tf, '__webinfer', { value: true }); } catch (e) { return; }
    W.wrapMethod(tf, 'loadLayersModel', function (orig) {
      return function (pathOrIOHandler) {
        var start = W.now();
        var r = orig.apply(this, arguments);
        W.safe('loadLayersModel', function () {
          r.then(function (model) {
            W.safe('layers loaded', function () {
              var end = W.now();
              T.patchLayersModel(Object.getPrototypeOf(model));
              if (typeof pathOrIOHandler === 'string') {
                var url = W.absUrl(pathOrIOHandler);
                if (T.modelIds) T.modelIds.set(model, url);
                W.emitModelLoad('tfjs', url, start, end, [url]);
              }
            });
          }, function () {});
        });
        return r;
      };
    });
  };

  /** Install the traps (idempotent). */
  T.install = function () {
    // tfjs-core assigns `_tfengine` once (every later copy reuses that engine): after it, the
    // global is a plain data property again (tfjs reads it on every tensor operation).
    W.trapProperty(G, '_tfengine', T.hookEngine, true);
    W.trapAssignment('resourceManager', function (obj) { T.patchGraphModel(Object.getPrototypeOf(obj)); });
    W.trapAssignment('isTraining', function (obj) { if (isLayersModelProto(obj)) T.patchLayersModel(Object.getPrototypeOf(obj)); });
    W.trapProperty(G, 'tf', function (tf) {
      T.hookTfGlobal(tf);
      (W.setTimeout || G.setTimeout)(function () { W.safe('tf global', function () { T.hookTfGlobal(tf); }); }, 0);
    }, true);
  };
})(globalThis);

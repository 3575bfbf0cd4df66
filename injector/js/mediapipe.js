/* webinfer hook: mediapipe.js — MediaPipe Tasks (vision, text, audio) and anything else built
 * on MediaPipe's web GraphRunner.
 *
 * The interception point is the one every MediaPipe web build shares, whatever bundler or path
 * serves it: the wasm loader script (`*_wasm_internal.js`, emscripten `-sMODULARIZE` with
 * `EXPORT_NAME=ModuleFactory`) assigns the factory to `globalThis.ModuleFactory`, and
 * `createMediaPipeLib` (mediapipe/web/graph_runner/graph_runner.ts) calls it once per task and
 * then clears it. An accessor on `globalThis.ModuleFactory` wraps each factory; the module it
 * resolves is instrumented through its C API exports (names fixed by the C++ side, not by the
 * JS minifier):
 *  - `_changeBinaryGraph(size, ptr)`: the task's CalculatorGraphConfig (protobuf). The task graph
 *    node (`mediapipe.tasks.<area>.<x>.<Name>Graph`) carries `BaseOptions` (field 1 of its
 *    `*GraphOptions`, an extension of `Node.options` or an Any in `Node.node_options`): model (`ExternalFile.file_content` bytes or `file_name`), `use_stream_mode`
 *    (VIDEO vs IMAGE) and `acceleration` (GPU or CPU delegate). The first graph with a model is
 *    the task's `model_load`.
 *  - `FS_createDataFile(parent, name, bytes, …)`: a model given by URL (`modelAssetPath`) is
 *    fetched by the task runner and written to `/model.dat`: its bytes and sha256.
 *  - `_add…ToInputStream…`, `_addBoundTexture…ToStream`, `_bindTextureTo…`: input packets. The
 *    first one after an idle starts an inference (`_addBoolToInputStream` is the runner's
 *    keep-alive release, not an input).
 *  - `_waitUntilIdle()`: `TaskRunner.finishProcessing()`: the graph runs synchronously until the
 *    results were delivered to the task's listeners. One call with input packets = one `infer`;
 *    `dur` ends when it returns (`ready:"return"`), or, when the results include images left on
 *    the GPU (seen in `module.simpleListeners` as WebGLTexture data), at the page's first
 *    `readPixels` on the task's canvas after it (`ready:"read"`).
 * Rules and record fields: RULES.md ("MediaPipe Tasks").
 */
(function (G) {
  'use strict';
  var W = G[Symbol.for('webinfer.hook')];
  if (!W || W.skip) return;

  var M = W.mediapipe = {
    modules: 0,
    /** How the public API names a call, per task: [IMAGE-mode method, VIDEO-mode method]. */
    methods: {
      FaceDetector: ['detect', 'detectForVideo'],
      FaceLandmarker: ['detect', 'detectForVideo'],
      HandLandmarker: ['detect', 'detectForVideo'],
      PoseLandmarker: ['detect', 'detectForVideo'],
      HolisticLandmarker: ['detect', 'detectForVideo'],
      ObjectDetector: ['detect', 'detectForVideo'],
      ImageSegmenter: ['segment', 'segmentForVideo'],
      InteractiveSegmenter: ['segment', 'segment'],
      InteractiveSegmenterLegacy: ['segment', 'segment'],
      ImageClassifier: ['classify', 'classifyForVideo'],
      ImageEmbedder: ['embed', 'embedForVideo'],
      GestureRecognizer: ['recognize', 'recognizeForVideo'],
      TextClassifier: ['classify', 'classify'],
      TextEmbedder: ['embed', 'embed'],
      LanguageDetector: ['detect', 'detect'],
      AudioClassifier: ['classify', 'classify'],
      AudioEmbedder: ['embed', 'embed']
    }
  };

  function emit(kind, fields, ts) { return W.emit ? W.emit(kind, fields, ts) : -1; }

  // ---- protobuf wire format (just enough to read a CalculatorGraphConfig) -------------------

  /** Varint at `pos` of byte array `b`: [value, next pos]; throws past `end`. */
  function varint(b, pos, end) {
    var v = 0;
    var mul = 1;
    for (var i = 0; i < 10; i++) {
      if (pos >= end) throw new Error('truncated varint');
      var c = b[pos++];
      v += (c & 0x7f) * mul;
      if (c < 0x80) return [v, pos];
      mul *= 128;
    }
    throw new Error('varint too long');
  }

  /**
   * The fields of the message in `b[start, end)`: [{f, wt, v}] with `v` the varint value or
   * [from, to) of a length-delimited field. Throws on malformed input.
   */
  M.fields = function (b, start, end) {
    var out = [];
    var pos = start;
    while (pos < end) {
      var t = varint(b, pos, end);
      pos = t[1];
      var f = Math.floor(t[0] / 8);
      var wt = t[0] % 8;
      if (wt === 0) { var x = varint(b, pos, end); out.push({ f: f, wt: 0, v: x[0] }); pos = x[1]; }
      else if (wt === 2) {
        var l = varint(b, pos, end);
        var from = l[1];
        var to = from + l[0];
        if (to > end) throw new Error('truncated field');
        out.push({ f: f, wt: 2, v: [from, to] });
        pos = to;
      } else if (wt === 1) { pos += 8; } else if (wt === 5) { pos += 4; } else throw new Error('wire type ' + wt);
      if (pos > end) throw new Error('truncated fixed field');
    }
    return out;
  };

  function str(b, r) {
    var s = '';
    for (var i = r[0]; i < r[1] && i < r[0] + 512; i++) s += String.fromCharCode(b[i]);
    return s;
  }
  function first(fs, f) { for (var i = 0; i < fs.length; i++) if (fs[i].f === f) return fs[i]; return null; }

  /**
   * What a task's CalculatorGraphConfig says: {task, graph, mode ("IMAGE"/"VIDEO"), delegate
   * ("CPU"/"GPU"), content: [from, to) of the model bytes | undefined, fileName}, or null when
   * no task graph node is found.
   */
  M.parseGraph = function (b, start, end) {
    var nodes = M.fields(b, start, end);
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].f !== 1 || nodes[i].wt !== 2) continue; // CalculatorGraphConfig.node
      var node = M.fields(b, nodes[i].v[0], nodes[i].v[1]);
      var calc = first(node, 2); // Node.calculator
      if (!calc || calc.wt !== 2) continue;
      var name = str(b, calc.v);
      var m = /^mediapipe\.tasks\.[a-z_]+\.(?:[a-z_]+\.)?([A-Za-z]+)Graph$/.exec(name);
      if (!m) continue;
      var res = { task: m[1], graph: name, mode: 'IMAGE', delegate: 'CPU', content: undefined, fileName: undefined };
      // The task's options: `Node.options` (CalculatorOptions; the *GraphOptions message is a
      // proto2 extension field of it) or `Node.node_options` (google.protobuf.Any, field value).
      var opts = null;
      var co = first(node, 7);
      if (co && co.wt === 2) {
        var ext = M.fields(b, co.v[0], co.v[1]);
        for (var j = 0; j < ext.length && !opts; j++) if (ext[j].wt === 2) opts = ext[j].v;
      }
      var any = first(node, 8);
      if (!opts && any && any.wt === 2) {
        var value = first(M.fields(b, any.v[0], any.v[1]), 2);
        if (value && value.wt === 2) opts = value.v;
      }
      var base = opts ? first(M.fields(b, opts[0], opts[1]), 1) : null; // *GraphOptions.base_options
      if (base && base.wt === 2) {
        var bo = M.fields(b, base.v[0], base.v[1]);
        var asset = first(bo, 1); // BaseOptions.model_asset (ExternalFile)
        if (asset && asset.wt === 2) {
          var ef = M.fields(b, asset.v[0], asset.v[1]);
          var content = first(ef, 1);
          var fname = first(ef, 2);
          if (content && content.wt === 2) res.content = content.v;
          if (fname && fname.wt === 2) res.fileName = str(b, fname.v);
        }
        var stream = first(bo, 2); // BaseOptions.use_stream_mode
        if (stream && stream.wt === 0 && stream.v) res.mode = 'VIDEO';
        var acc = first(bo, 3); // BaseOptions.acceleration: oneof {xnnpack 1, gpu 2, tflite 4, …}
        if (acc && acc.wt === 2 && first(M.fields(b, acc.v[0], acc.v[1]), 2)) res.delegate = 'GPU';
      }
      return res;
    }
    return null;
  };

  // ---- model identity ---------------------------------------------------------------------------

  /** Promise of the hex SHA-256 of `bytes` (copied now), or of undefined without WebCrypto. */
  M.sha256 = function (bytes) { return W.sha256(bytes); };

  /** "task" for a zip (.task bundle), "tflite" for a TFLite flatbuffer ("TFL3" at byte 4). */
  function kindOf(bytes) {
    if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b) return 'task';
    if (bytes.length >= 8 && bytes[4] === 0x54 && bytes[5] === 0x46 && bytes[6] === 0x4c) return 'tflite';
    return 'model';
  }

  function versionFrom(url) {
    var m = /tasks-(?:vision|text|audio|genai)@([0-9][\w.-]*)/.exec(String(url || ''));
    return m ? m[1] : 'unknown';
  }

  // ---- one module (= one task instance) -----------------------------------------------------------

  /** Instrument a resolved MediaPipe wasm module (idempotent). `origin`: {script, start}. */
  M.instrument = function (mod, origin) {
    if (!mod || typeof mod !== 'object' || mod.__webinfer) return;
    try { Object.defineProperty(mod, '__webinfer', { value: true }); } catch (e) { return; }
    origin = origin || {};
    var S = {
      id: ++M.modules,
      script: origin.script,
      created: typeof origin.start === 'number' ? origin.start : W.now(),
      info: null, // the last parsed task graph
      model: null, // {id, bytes, sha256 (promise)}
      loaded: false,
      files: Object.create(null), // FS path → {bytes, sha, url}
      inputStart: null,
      calls: 0,
      envKey: null
    };

    W.wrapMethod(mod, 'FS_createDataFile', function (orig) {
      return function (parent, name, data) {
        W.safe('mediapipe file', function () {
          if (!data || typeof data.length !== 'number' || data.length < 8) return;
          var path = String(parent || '/').replace(/\/?$/, '/') + String(name);
          var bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
          var e = W.resourceBySize ? W.resourceBySize(bytes.length) : null;
          S.files[path] = { bytes: bytes.length, kind: kindOf(bytes), sha: M.sha256(bytes), url: e ? e.name : undefined };
        });
        return orig.apply(this, arguments);
      };
    });

    W.wrapMethod(mod, '_changeBinaryGraph', function (orig) {
      return function (size, ptr) {
        var parsed = W.safe('mediapipe graph', function () {
          var heap = mod.HEAPU8;
          if (!heap || typeof ptr !== 'number' || typeof size !== 'number') return null;
          var info = M.parseGraph(heap, ptr, ptr + size);
          if (info && info.content && !S.model) {
            // A model given as a buffer travels inside the graph config: hash it now (the
            // buffer is freed after the call).
            var bytes = heap.slice(info.content[0], info.content[1]);
            var e = W.resourceBySize ? W.resourceBySize(bytes.length) : null;
            info.file = { bytes: bytes.length, kind: kindOf(bytes), sha: M.sha256(bytes), url: e ? e.name : undefined };
          } else if (info && info.fileName) {
            info.file = S.files[info.fileName];
          }
          return info;
        });
        var r = orig.apply(this, arguments);
        W.safe('mediapipe graph set', function () { graphSet(S, parsed, W.now()); });
        return r;
      };
    });

    var inputRe = /^_(add\w*ToInputStream\w*|addBoundTexture\w*ToStream|bindTextureTo\w+)$/;
    var keys = [];
    try { keys = Object.keys(mod); } catch (e) { /* ignore */ }
    for (var i = 0; i < keys.length; i++) {
      var k = keys[i];
      if (!inputRe.test(k) || k === '_addBoolToInputStream' || typeof mod[k] !== 'function') continue;
      W.wrapMethod(mod, k, function (orig) {
        return function () {
          if (S.inputStart === null) S.inputStart = W.now();
          return orig.apply(this, arguments);
        };
      });
    }

    W.wrapMethod(mod, '_waitUntilIdle', function (orig) {
      return function () {
        var start = S.inputStart;
        S.inputStart = null;
        if (start !== null) {
          S.gpuOut = false;
          W.safe('mediapipe listeners', function () { watchListeners(S, mod); });
        }
        M.inIdle++;
        var r;
        try { r = orig.apply(this, arguments); } finally { M.inIdle--; }
        if (start !== null) {
          var end = W.now();
          var call = ++S.calls;
          W.safe('mediapipe infer', function () {
            if (S.gpuOut) whenRead(S, mod, end, function (t, how) { inferDone(S, start, t, how, call); });
            else inferDone(S, start, end, 'return', call);
          });
        }
        return r;
      };
    });
    M.last = S;
  };

  function backendOf(info) { return info && info.delegate === 'GPU' ? 'webgl' : 'wasm'; }

  function checkEnv(S) {
    var info = S.info;
    if (!info) return;
    var rec = { framework: 'mediapipe', version: versionFrom(S.script), backend: backendOf(info), delegate: info.delegate, running_mode: info.mode, task: info.task };
    if (S.script) rec.wasm_simd = !/nosimd/.test(S.script);
    if (W.webgpu) W.webgpu.addEnv(rec);
    var key = JSON.stringify(rec);
    if (S.envKey === key) return;
    S.envKey = key;
    emit('env', rec);
  }

  function graphSet(S, info, end) {
    if (!info) return;
    S.info = info;
    checkEnv(S);
    if (S.loaded || !info.file) return;
    S.loaded = true;
    var f = info.file;
    var model = f.url || (f.kind + ':' + f.bytes + 'B');
    S.model = { id: model, file: f };
    var start = S.created;
    f.sha.then(function (sha) {
      W.safe('mediapipe model_load', function () {
        var rec = { framework: 'mediapipe', model: model, start: start, dur: Math.max(0, end - start), bytes: f.bytes, task: info.task };
        if (sha) rec.sha256 = sha;
        var art = { url: f.url || model, bytes: f.bytes };
        if (sha) art.sha256 = sha;
        rec.artifacts = [art];
        emit('model_load', rec);
      });
    });
  }

  // ---- results left on the GPU ------------------------------------------------------------------

  function isTexture(x) {
    return !!(x && G.WebGLTexture && x.data instanceof G.WebGLTexture);
  }

  /** Wrap the task's result listeners (`module.simpleListeners`, filled by the GraphRunner) to
   * see whether a call's results include images left on the GPU (WasmImage.data a texture). */
  function watchListeners(S, mod) {
    var ls = mod.simpleListeners;
    if (!ls || typeof ls !== 'object') return;
    var ks = Object.keys(ls);
    for (var i = 0; i < ks.length; i++) {
      var f = ls[ks[i]];
      if (typeof f !== 'function' || f.__webinfer_orig) continue;
      var w = (function (orig) {
        return function (data) {
          if (isTexture(data) || (Array.isArray(data) && data.some(isTexture))) S.gpuOut = true;
          return orig.apply(this, arguments);
        };
      })(f);
      try { Object.defineProperty(w, '__webinfer_orig', { value: f }); } catch (e) { /* ignore */ }
      ls[ks[i]] = w;
    }
  }

  M.inIdle = 0; // > 0 while a graph runs: its own GPU reads are part of the inference
  M.pending = []; // GPU-output inferences waiting for a page read: {canvas, callEnd, finish}
  M.readTimeoutMs = 2000;

  function hookReads() {
    if (M.readsHooked) return;
    M.readsHooked = true;
    [G.WebGL2RenderingContext, G.WebGLRenderingContext].forEach(function (C) {
      if (!C || !C.prototype) return;
      W.wrapMethod(C.prototype, 'readPixels', function (orig) {
        return function () {
          if (!M.pending.length || M.inIdle > 0) return orig.apply(this, arguments);
          var startedAt = W.now();
          var r = orig.apply(this, arguments);
          var cv = this.canvas;
          W.safe('mediapipe read', function () {
            var t = W.now();
            var still = [];
            for (var i = 0; i < M.pending.length; i++) {
              var e = M.pending[i];
              if (e.canvas === cv && e.callEnd <= startedAt) e.finish(t, 'read');
              else still.push(e);
            }
            M.pending = still;
          });
          return r;
        };
      });
    });
  }

  /**
   * A call whose results are GPU textures (e.g. ImageSegmenter masks with the GPU delegate) is
   * ready when the first `readPixels` on the task's canvas that started after the call returned
   * completes (the page reading a mask: `getAsFloat32Array()` and friends; WebGL runs commands
   * in order), else 2 s later at the return (`"timeout"`), as for TF.js on WebGL.
   */
  function whenRead(S, mod, callEnd, cb) {
    hookReads();
    var done = false;
    var entry = { canvas: mod.canvas, callEnd: callEnd, finish: function (t, how) { if (!done) { done = true; cb(t, how); } } };
    M.pending.push(entry);
    (W.setTimeout || G.setTimeout)(function () {
      if (done) return;
      M.pending = M.pending.filter(function (x) { return x !== entry; });
      entry.finish(callEnd, 'timeout');
    }, M.readTimeoutMs);
  }

  function inferDone(S, start, end, how, call) {
    var info = S.info;
    if (!info) return;
    var ms = M.methods[info.task] || ['process', 'process'];
    var api = info.task + '.' + (info.mode === 'VIDEO' ? ms[1] : ms[0]);
    emit('infer', {
      framework: 'mediapipe', model: S.model ? S.model.id : info.task, backend: backendOf(info), api: api, layer: 'model',
      start: start, dur: Math.max(0, end - start), call: call, ready: how || 'return',
      task: info.task, running_mode: info.mode, delegate: info.delegate
    });
    if (W.sampleMemSoon && !W.isOff('mem_infer')) W.sampleMemSoon();
  }

  // ---- the factory ---------------------------------------------------------------------------------

  /** Wrap an emscripten `ModuleFactory` so the module it resolves gets instrumented. */
  M.wrapFactory = function (factory, script) {
    if (typeof factory !== 'function' || factory.__webinfer_orig) return factory;
    var seenAt = W.now();
    var start = seenAt;
    W.safe('mediapipe script entry', function () {
      var e = script && W.resourceEntry ? W.resourceEntry(script) : null;
      if (e && e.startTime < start) start = e.startTime;
    });
    var wrapped = function () {
      var p = factory.apply(this, arguments);
      if (W.isThenable(p)) {
        // Registered before the caller's `await`, so the module is instrumented first.
        try { p.then(function (mod) { W.safe('mediapipe instrument', function () { M.instrument(mod, { script: script, start: start }); }); }, function () {}); } catch (e) { /* ignore */ }
      } else {
        W.safe('mediapipe instrument', function () { M.instrument(p, { script: script, start: start }); });
      }
      return p;
    };
    try { Object.defineProperty(wrapped, '__webinfer_orig', { value: factory }); } catch (e) { /* ignore */ }
    try { Object.defineProperty(wrapped, 'name', { value: factory.name, configurable: true }); } catch (e) { /* ignore */ }
    try { Object.defineProperty(wrapped, 'length', { value: factory.length, configurable: true }); } catch (e) { /* ignore */ }
    return wrapped;
  };

  /** URL of the newest fetched `*wasm*.js` resource (a loader run by importScripts/import()). */
  M.newestLoader = function () {
    try {
      var es = G.performance.getEntriesByType('resource');
      for (var i = es.length - 1; i >= 0; i--) if (/wasm[^/]*\.m?js(\?|#|$)/.test(es[i].name)) return es[i].name;
    } catch (e) { /* ignore */ }
    return undefined;
  };

  M.install = function () {
    var d = Object.getOwnPropertyDescriptor(G, 'ModuleFactory');
    if (d && (!d.configurable || d.get || d.set)) return;
    var value = d ? d.value : undefined;
    if (typeof value === 'function') value = M.wrapFactory(value, undefined);
    Object.defineProperty(G, 'ModuleFactory', {
      configurable: true,
      enumerable: d ? d.enumerable : true,
      get: function () { return value; },
      set: function (v) {
        var script;
        try {
          var cs = G.document && G.document.currentScript;
          if (cs && cs.src) script = String(cs.src);
          else script = M.newestLoader();
        } catch (e) { /* ignore */ }
        try { value = typeof v === 'function' ? M.wrapFactory(v, script) : v; } catch (e) { value = v; }
      }
    });
  };
})(globalThis);

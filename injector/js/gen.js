/* webinfer hook: gen.js — LLM text generation measured in tokens (`gen` records).
 *
 *  - Transformers.js (bundled or not, no global): the `PreTrainedModel` constructor assigns
 *    `this._prepare_inputs_for_generation` (an assignment, not a class field), so an assignment
 *    trap on Object.prototype finds every model instance; the hook wraps `generate` on the base
 *    prototype (the one furthest from the instance that owns `generate`: subclasses that override
 *    it call `super.generate`) and the nearest `forward`. Each outermost `generate` is one `gen`
 *    record; every forward pass it awaits resolves with the logits of one new token per sequence,
 *    so the resolution times are the token times. The forward passes themselves are `infer`
 *    records of the ORT layer (ort.js: `OrtRun` of the library's inlined onnxruntime-web), not
 *    recorded again here.
 *  - WebLLM-style engines (`engine.chat.completions.create`, also `WebWorkerMLCEngine`): the
 *    `Chat` constructor assigns `this.completions`; the trap wraps `create` on its prototype. A
 *    non-streaming call gives one `gen` when its promise resolves (token counts from `usage`); a
 *    streaming call (`stream: true`) resolves to an async iterable whose chunks are timed as they
 *    are delivered to the page.
 * Formulas: RULES.md ("LLM generation: `gen`").
 */
(function (G) {
  'use strict';
  var W = G[Symbol.for('webinfer.hook')];
  if (!W || W.skip) return;

  var Gn = W.gen = {
    nextCall: W.makeCallCounter(),
    patched: typeof WeakSet === 'function' ? new WeakSet() : null,
    active: typeof WeakMap === 'function' ? new WeakMap() : null, // model → running generate ctx
    ids: typeof WeakMap === 'function' ? new WeakMap() : null,
    forwardDepth: 0
  };

  function emit(kind, fields, ts) { return W.emit ? W.emit(kind, fields, ts) : -1; }

  /** The value at quantile q (0..1) of sorted numbers `s`, nearest-rank. */
  function quantile(s, q) {
    if (!s.length) return undefined;
    var i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
    return s[i];
  }

  /**
   * The timing fields of one generation from its start, the time each output token became
   * available (ms, ascending; one entry per decode step) and its end:
   * ttft = tokenTimes[0] − start; the per-token intervals tokenTimes[k] − tokenTimes[k−1]
   * give tpot_mean / tpot_p50 / tpot_p90; dur = end − start;
   * tokens_per_s = output_tokens / dur; decode_tokens_per_s = (steps − 1) / (last − first token).
   */
  Gn.timing = function (start, tokenTimes, end, outputTokens, batch) {
    var rec = { start: start, dur: Math.max(0, end - start) };
    var n = tokenTimes.length;
    if (n) rec.ttft = Math.max(0, tokenTimes[0] - start);
    if (n > 1) {
      var iv = [];
      var sum = 0;
      for (var k = 1; k < n; k++) { var d = Math.max(0, tokenTimes[k] - tokenTimes[k - 1]); iv.push(d); sum += d; }
      iv.sort(function (a, b) { return a - b; });
      rec.tpot_mean = sum / iv.length;
      rec.tpot_p50 = quantile(iv, 0.5);
      rec.tpot_p90 = quantile(iv, 0.9);
      var span = tokenTimes[n - 1] - tokenTimes[0];
      if (span > 0) rec.decode_tokens_per_s = (n - 1) * (batch || 1) * 1000 / span;
    }
    if (typeof outputTokens === 'number' && rec.dur > 0) rec.tokens_per_s = outputTokens * (batch || 1) * 1000 / rec.dur;
    return rec;
  };

  // ---- Transformers.js ----------------------------------------------------------------------------

  function dimsOf(t) {
    try { return t && t.dims && typeof t.dims.length === 'number' ? Array.prototype.slice.call(t.dims).map(Number) : null; } catch (e) { return null; }
  }

  /** Model id: the newest fetched `.onnx` resource when the model object was built, else its type. */
  function modelId(model) {
    var known = Gn.ids && Gn.ids.get(model);
    if (known) return known;
    var id;
    try {
      var es = G.performance.getEntriesByType('resource');
      for (var i = es.length - 1; i >= 0 && !id; i--) if (/\.onnx(\?|#|$)/.test(es[i].name)) id = es[i].name;
    } catch (e) { /* ignore */ }
    if (!id) {
      var t = model && model.config && model.config.model_type;
      id = 'transformers.js:' + (t ? String(t) : 'model');
    }
    if (Gn.ids) Gn.ids.set(model, id);
    return id;
  }

  function patchTransformersModel(obj) {
    var base = null;
    var fwd = null;
    var p = Object.getPrototypeOf(obj);
    for (var i = 0; p && p !== Object.prototype && i < 20; i++) {
      if (Object.prototype.hasOwnProperty.call(p, 'generate') && typeof p.generate === 'function') base = p;
      if (!fwd && Object.prototype.hasOwnProperty.call(p, 'forward') && typeof p.forward === 'function') fwd = p;
      p = Object.getPrototypeOf(p);
    }
    if (base && !(Gn.patched && Gn.patched.has(base))) {
      if (Gn.patched) Gn.patched.add(base);
      wrapGenerate(base);
      if (Object.prototype.hasOwnProperty.call(base, 'forward')) wrapForward(base);
    }
    if (fwd && !(Gn.patched && Gn.patched.has(fwd))) {
      if (Gn.patched) Gn.patched.add(fwd);
      wrapForward(fwd);
    }
    if (Gn.ids) modelId(obj); // the .onnx just loaded is this model's
  }

  function wrapForward(proto) {
    if (proto.forward && proto.forward.__webinfer_orig) return;
    W.wrapMethod(proto, 'forward', function (orig) {
      return function () {
        var ctx = Gn.active && Gn.active.get(this);
        if (!ctx || Gn.forwardDepth > 0) return orig.apply(this, arguments);
        Gn.forwardDepth++;
        var r;
        try { r = orig.apply(this, arguments); } finally { Gn.forwardDepth--; }
        ctx.forwards++;
        try {
          // Registered before generate's own `await`: runs first when the logits are ready.
          if (W.isThenable(r)) r.then(function () { ctx.tokens.push(W.now()); }, function () {});
          else ctx.tokens.push(W.now());
        } catch (e) { /* ignore */ }
        return r;
      };
    });
  }

  function wrapGenerate(proto) {
    W.wrapMethod(proto, 'generate', function (orig) {
      return function (options) {
        var self = this;
        if (!Gn.active || Gn.active.get(self)) return orig.apply(this, arguments); // nested (super.generate)
        var ctx = W.safe('gen start', function () {
          var o = options || {};
          var ids = o.input_ids || o.inputs;
          var d = dimsOf(ids);
          return {
            start: W.now(), model: modelId(self), tokens: [], forwards: 0,
            batch: d && d.length >= 2 ? d[0] : 1, prompt: d && d.length ? d[d.length - 1] : undefined,
            stream: !!o.streamer, max_new_tokens: typeof o.max_new_tokens === 'number' ? o.max_new_tokens : undefined
          };
        });
        if (!ctx) return orig.apply(this, arguments);
        Gn.active.set(self, ctx);
        var r;
        try { r = orig.apply(this, arguments); } catch (e) { Gn.active.delete(self); throw e; }
        var finish = function (out) {
          Gn.active.delete(self);
          W.safe('gen end', function () {
            var end = W.now();
            var seq = out && out.sequences ? out.sequences : out;
            var d = dimsOf(seq);
            var output = d && d.length >= 2 && typeof ctx.prompt === 'number' ? d[d.length - 1] - ctx.prompt : ctx.tokens.length;
            var rec = Gn.timing(ctx.start, ctx.tokens, end, output, ctx.batch);
            rec.framework = 'transformers.js';
            rec.model = ctx.model;
            rec.api = 'generate';
            rec.call = Gn.nextCall(ctx.model);
            if (typeof ctx.prompt === 'number') rec.prompt_tokens = ctx.prompt;
            rec.output_tokens = output;
            rec.batch = ctx.batch;
            rec.forward_passes = ctx.forwards;
            rec.stream = ctx.stream;
            emit('gen', rec);
          });
        };
        if (W.isThenable(r)) r.then(finish, function () { Gn.active.delete(self); });
        else finish(r);
        return r;
      };
    });
  }

  // ---- WebLLM-style chat completions -------------------------------------------------------------

  function usageFields(rec, usage) {
    if (!usage || typeof usage !== 'object') return;
    if (typeof usage.prompt_tokens === 'number') rec.prompt_tokens = usage.prompt_tokens;
    if (typeof usage.completion_tokens === 'number') rec.output_tokens = usage.completion_tokens;
  }

  function webllmModel(engine, request) {
    if (request && typeof request.model === 'string') return request.model;
    try {
      var ids = engine && engine.modelId;
      if (Array.isArray(ids) && ids.length) return String(ids[0]);
      if (typeof ids === 'string') return ids;
    } catch (e) { /* ignore */ }
    return 'webllm:model';
  }

  function finishChat(ctx, usage, end) {
    var out = ctx.output;
    var u = {};
    usageFields(u, usage);
    if (typeof u.output_tokens === 'number') out = u.output_tokens;
    var rec = Gn.timing(ctx.start, ctx.tokens, end, out, 1);
    rec.framework = 'webllm';
    rec.model = ctx.model;
    rec.api = 'chat.completions.create';
    rec.call = Gn.nextCall(ctx.model);
    if (typeof u.prompt_tokens === 'number') rec.prompt_tokens = u.prompt_tokens;
    if (typeof out === 'number') rec.output_tokens = out;
    rec.stream = ctx.stream;
    emit('gen', rec);
  }

  /** Time the chunks of a streamed completion as the page pulls them. */
  function watchStream(it, ctx) {
    if (!it || typeof it !== 'object') return;
    var getIter = it[Symbol.asyncIterator];
    if (typeof getIter !== 'function') return;
    var usage = null;
    var done = false;
    function onResult(res) {
      W.safe('gen chunk', function () {
        if (done) return;
        if (!res || res.done) { done = true; finishChat(ctx, usage, W.now()); return; }
        var c = res.value;
        if (c && c.usage) usage = c.usage;
        var ch = c && c.choices && c.choices[0];
        var content = ch && ch.delta && typeof ch.delta.content === 'string' ? ch.delta.content : '';
        if (content) { ctx.tokens.push(W.now()); ctx.output = (ctx.output || 0) + 1; }
      });
    }
    try {
      Object.defineProperty(it, Symbol.asyncIterator, {
        configurable: true, enumerable: false, writable: true,
        value: function () {
          var inner = getIter.apply(this, arguments);
          if (!inner || typeof inner.next !== 'function') return inner;
          var next = inner.next;
          try {
            Object.defineProperty(inner, 'next', {
              configurable: true, enumerable: false, writable: true,
              value: function () {
                var p = next.apply(this, arguments);
                if (W.isThenable(p)) p.then(onResult, function () {});
                return p;
              }
            });
          } catch (e) { /* ignore */ }
          return inner;
        }
      });
    } catch (e) { /* ignore */ }
  }

  function patchCompletions(obj) {
    var proto = Object.getPrototypeOf(obj);
    if (!proto || typeof proto.create !== 'function' || (Gn.patched && Gn.patched.has(proto))) return;
    if (Gn.patched) Gn.patched.add(proto);
    W.wrapMethod(proto, 'create', function (orig) {
      return function (request) {
        var self = this;
        var ctx = W.safe('chat start', function () {
          return { start: W.now(), model: webllmModel(self.engine, request), tokens: [], output: 0, stream: !!(request && request.stream) };
        });
        var r = orig.apply(this, arguments);
        if (!ctx || !W.isThenable(r)) return r;
        r.then(function (res) {
          W.safe('chat result', function () {
            if (ctx.stream) watchStream(res, ctx);
            else {
              var end = W.now();
              ctx.output = undefined;
              finishChat(ctx, res && res.usage, end);
            }
          });
        }, function () {});
        return r;
      };
    });
  }

  Gn.install = function () {
    W.trapAssignment('_prepare_inputs_for_generation', function (obj) { patchTransformersModel(obj); });
    W.trapAssignment('completions', function (obj, v) {
      if (v && typeof v === 'object' && typeof v.create === 'function') patchCompletions(v);
    });
  };
})(globalThis);

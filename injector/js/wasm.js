/* webinfer hook: wasm.js — WebAssembly memories and modules created by the page.
 *
 * Wraps the `WebAssembly.Memory` and `WebAssembly.Instance` constructors and
 * `WebAssembly.instantiate` / `instantiateStreaming` (results pass through unchanged: the
 * original promise is returned, we only attach a side branch). Every memory the page creates or
 * a module exports is tracked (weakly where WeakRef exists); `W.wasmBytes()` sums the current
 * `buffer.byteLength` of the live ones, so growth is seen. `W.wasmShared` becomes true once a
 * shared memory (threads) was created.
 */
(function (G) {
  'use strict';
  var W = G[Symbol.for('webinfer.hook')];
  if (!W || W.skip) return;

  var memories = []; // WeakRef or direct references
  var seen = typeof WeakSet === 'function' ? new WeakSet() : null;
  W.wasmShared = false;
  W.wasmMemoryCount = 0;

  function track(mem) {
    try {
      if (!mem || (seen && seen.has(mem))) return;
      if (seen) seen.add(mem);
      W.wasmMemoryCount++;
      memories.push(typeof G.WeakRef === 'function' ? new G.WeakRef(mem) : { deref: function () { return mem; } });
      var buf = mem.buffer;
      if (typeof G.SharedArrayBuffer === 'function' && buf instanceof G.SharedArrayBuffer) W.wasmShared = true;
    } catch (e) {
      W.internalError('wasm track', e);
    }
  }
  W.trackWasmMemory = track;

  /** Sum of byteLength over live wasm memories (bytes), or undefined if none was seen. */
  W.wasmBytes = function () {
    if (memories.length === 0) return undefined;
    var sum = 0;
    var live = [];
    for (var i = 0; i < memories.length; i++) {
      var m = memories[i].deref();
      if (!m) continue;
      live.push(memories[i]);
      try { sum += m.buffer.byteLength; } catch (e) { /* ignore */ }
    }
    memories = live;
    return sum;
  };

  function trackInstance(inst) {
    try {
      var ex = inst && inst.exports;
      if (!ex) return;
      var MemoryCtor = W.origWasmMemory;
      var ks = Object.keys(ex);
      for (var i = 0; i < ks.length; i++) {
        var v = ex[ks[i]];
        if (MemoryCtor && v instanceof MemoryCtor) track(v);
      }
    } catch (e) {
      W.internalError('wasm instance', e);
    }
  }
  W.trackWasmInstance = trackInstance;

  function trackImports(imports) {
    try {
      if (!imports || typeof imports !== 'object') return;
      var MemoryCtor = W.origWasmMemory;
      var mods = Object.keys(imports);
      for (var i = 0; i < mods.length && i < 50; i++) {
        var m = imports[mods[i]];
        if (!m || typeof m !== 'object') continue;
        var ks = Object.keys(m);
        for (var j = 0; j < ks.length && j < 5000; j++) {
          if (m[ks[j]] instanceof MemoryCtor) track(m[ks[j]]);
        }
      }
    } catch (e) { /* ignore */ }
  }

  /** Install the WebAssembly wrappers (idempotent). */
  W.installWasm = function () {
    var WA = G.WebAssembly;
    if (!WA || W.origWasmMemory) return;
    var OrigMemory = WA.Memory;
    var OrigInstance = WA.Instance;
    W.origWasmMemory = OrigMemory;
    W.onWasmInstance = W.onWasmInstance || [];

    function notify(inst) {
      trackInstance(inst);
      for (var i = 0; i < W.onWasmInstance.length; i++) {
        var f = W.onWasmInstance[i];
        W.safe('onWasmInstance', function () { f(inst); });
      }
    }

    try {
      var MemoryWrap = function Memory(desc) {
        if (!new.target) return OrigMemory.apply(this, arguments); // throws like the original
        var m = Reflect.construct(OrigMemory, arguments, new.target);
        track(m);
        return m;
      };
      MemoryWrap.prototype = OrigMemory.prototype;
      Object.setPrototypeOf(MemoryWrap, Object.getPrototypeOf(OrigMemory));
      Object.defineProperty(WA, 'Memory', { value: MemoryWrap, writable: true, configurable: true, enumerable: false });
    } catch (e) {
      W.internalError('wrap Memory', e);
    }

    try {
      var InstanceWrap = function Instance(module, imports) {
        if (!new.target) return OrigInstance.apply(this, arguments);
        trackImports(imports);
        var inst = Reflect.construct(OrigInstance, arguments, new.target);
        notify(inst);
        return inst;
      };
      InstanceWrap.prototype = OrigInstance.prototype;
      Object.setPrototypeOf(InstanceWrap, Object.getPrototypeOf(OrigInstance));
      Object.defineProperty(WA, 'Instance', { value: InstanceWrap, writable: true, configurable: true, enumerable: false });
    } catch (e) {
      W.internalError('wrap Instance', e);
    }

    function sideBranch(p) {
      try {
        if (W.isThenable(p)) {
          p.then(function (r) {
            if (!r) return;
            if (r instanceof OrigInstance) notify(r);
            else if (r.instance) notify(r.instance);
          }, function () { /* the page handles its own rejection */ });
        }
      } catch (e) { /* ignore */ }
      return p;
    }

    W.wrapMethod(WA, 'instantiate', function (orig) {
      return function (source, imports) {
        W.safe('wasm imports', function () { trackImports(imports); });
        return sideBranch(orig.apply(this, arguments));
      };
    });
    W.wrapMethod(WA, 'instantiateStreaming', function (orig) {
      return function (source, imports) {
        W.safe('wasm imports', function () { trackImports(imports); });
        return sideBranch(orig.apply(this, arguments));
      };
    });
  };
})(globalThis);

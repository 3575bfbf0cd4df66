/* webinfer hook: core.js — the internal object and small helpers shared by the other files.
 *
 * The hook is one classic script made of the files listed in MANIFEST, concatenated in order.
 * Every file is an IIFE that reads the internal object `W` from a Symbol-keyed, non-enumerable
 * property of globalThis, so nothing the page can enumerate is added. main.js starts the hook.
 * Nothing here may throw into the page: every entry point from page code goes through
 * `W.safe`, and wrappers always call the original with the original `this` and arguments.
 */
(function (G) {
  'use strict';
  var KEY = Symbol.for('webinfer.hook');
  var existing = G[KEY];
  if (existing) {
    // A second copy of the script in the same realm (double injection): the files that follow
    // see `skip` and do nothing; main.js clears it at the end.
    existing.skip = true;
    return;
  }
  var W = { version: 1, skip: false };
  try {
    Object.defineProperty(G, KEY, { value: W, configurable: true, enumerable: false, writable: false });
  } catch (e) {
    return;
  }

  /** URL of the script the hook runs in (first stack frame with a URL), or null (eval'd). */
  W.scriptUrl = W_scriptUrl();
  function W_scriptUrl() {
    try {
      var m = /((?:https?|blob|file):\/\/[^\s)]+?):\d+:\d+\)?\s*$/m.exec(String(new Error().stack || ''));
      return m ? m[1] : null;
    } catch (e) {
      return null;
    }
  }

  var perf = G.performance;
  var perfNow = perf && typeof perf.now === 'function' ? perf.now.bind(perf) : function () { return Date.now(); };
  /** Milliseconds since this realm's time origin (the clock of every `ts` and `start`). */
  W.now = function () { return perfNow(); };

  /** Report an internal error once per message; never rethrows. */
  var seenErrors = Object.create(null);
  W.errors = [];
  W.internalError = function (where, e) {
    try {
      var msg = where + ': ' + (e && e.message ? e.message : String(e));
      if (seenErrors[msg]) return;
      seenErrors[msg] = true;
      if (W.errors.length < 50) W.errors.push(msg);
    } catch (_) { /* ignore */ }
  };

  /**
   * Whether the hook part `part` is switched off by the config's `off` list (benchmarking the
   * hook's own cost, see RULES.md "Switches"): `proto_traps`, `kernel_wrap`, `mem_infer`,
   * `now`, `records`, `perf`, `transport`, `all`.
   */
  W.isOff = function (part) {
    var off = W.config && W.config.off;
    return !!(off && typeof off.indexOf === 'function' && off.indexOf(part) >= 0);
  };

  /** Run `fn` and swallow (but remember) any exception. */
  W.safe = function (where, fn) {
    try {
      return fn();
    } catch (e) {
      W.internalError(where, e);
      return undefined;
    }
  };

  /** UTF-8 byte length of a JS string (exact, surrogate pairs count 4). */
  W.utf8Length = function (s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        var d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) { n += 4; i++; } else n += 3;
      } else n += 3;
    }
    return n;
  };

  /** FNV-1a 32-bit hash of a string, as 8 lowercase hex digits. */
  W.fnv1a = function (s) {
    var h = 0x811c9dc5;
    for (var i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return ('00000000' + h.toString(16)).slice(-8);
  };

  /** Absolute URL of `u` against the realm's location, or `u` unchanged. */
  W.absUrl = function (u) {
    try {
      var base = G.location && G.location.href ? G.location.href : undefined;
      return new URL(String(u), base).href;
    } catch (e) {
      return String(u);
    }
  };

  /**
   * Trap assignments to `obj[name]`: replaces the property with a configurable accessor whose
   * setter stores the value and then calls `onSet(value)` (errors swallowed). If the property
   * already holds a value, `onSet` runs for it immediately. With `once`, the first non-null
   * value turns the property back into a plain data property holding it (reads of the global
   * cost nothing afterwards; a later reassignment is not seen). Returns false if it can't trap.
   */
  W.trapProperty = function (obj, name, onSet, once) {
    try {
      var d = Object.getOwnPropertyDescriptor(obj, name);
      if (d && (!d.configurable || d.get || d.set)) {
        if (d && 'value' in d && d.value != null) W.safe('trap-initial ' + name, function () { onSet(d.value); });
        return false;
      }
      var enumerable = d ? d.enumerable : true;
      var value = d ? d.value : undefined;
      var settle = function (v) {
        if (once) {
          try { Object.defineProperty(obj, name, { value: v, writable: true, enumerable: enumerable, configurable: true }); } catch (e) { /* keep the accessor */ }
        }
        W.safe('trap ' + name, function () { onSet(v); });
      };
      if (once && value != null) { W.safe('trap-initial ' + name, function () { onSet(value); }); return true; }
      Object.defineProperty(obj, name, {
        configurable: true,
        enumerable: enumerable,
        get: function () { return value; },
        set: function (v) {
          value = v;
          if (v != null) settle(v);
        }
      });
      if (value != null) W.safe('trap-initial ' + name, function () { onSet(value); });
      return true;
    } catch (e) {
      W.internalError('trapProperty ' + name, e);
      return false;
    }
  };

  /**
   * Trap the first assignment of `name` on any ordinary object (an accessor on
   * Object.prototype). The setter turns the assignment into an own writable, enumerable data
   * property on the receiver — exactly what a plain assignment would have created — and then
   * calls `onAssign(receiver, value)`. Used to find library classes that are not globals (e.g.
   * a bundled GraphModel sets `this.resourceManager` in its constructor).
   */
  var assignTraps = Object.create(null); // name -> the accessor's setter (ours)
  W.trapAssignment = function (name, onAssign) {
    if (W.isOff('proto_traps')) return false;
    try {
      if (Object.getOwnPropertyDescriptor(Object.prototype, name)) return false;
      var set = function (v) {
        try {
          Object.defineProperty(this, name, { value: v, writable: true, enumerable: true, configurable: true });
        } catch (e) {
          return; // non-extensible receiver: a plain assignment would not have stored either
        }
        var self = this;
        W.safe('assign ' + name, function () { onAssign(self, v); });
      };
      Object.defineProperty(Object.prototype, name, {
        configurable: true,
        enumerable: false,
        get: function () { return undefined; },
        set: set
      });
      assignTraps[name] = set;
      return true;
    } catch (e) {
      W.internalError('trapAssignment ' + name, e);
      return false;
    }
  };

  /** Remove an assignment trap installed by `W.trapAssignment` (no-op if it is not ours). */
  W.untrapAssignment = function (name) {
    try {
      var d = Object.getOwnPropertyDescriptor(Object.prototype, name);
      if (d && d.set && d.set === assignTraps[name]) delete Object.prototype[name];
      delete assignTraps[name];
    } catch (e) {
      W.internalError('untrapAssignment ' + name, e);
    }
  };

  // ---- --capture-inputs (opt-in): input tensors as safetensors, one budget per session ----

  /** Most bytes of captured inputs per session, all models and frameworks together. */
  W.CAPTURE_MAX = 64 * 1024 * 1024;
  W.capturedBytes = 0;
  var ST_DTYPES = {
    float32: 'F32', float64: 'F64', float16: 'F16', int64: 'I64', uint64: 'U64', int32: 'I32',
    uint32: 'U32', int16: 'I16', uint16: 'U16', int8: 'I8', uint8: 'U8', bool: 'BOOL'
  };

  /**
   * Named tensors `{name: {type, dims, data}}` (`data` a typed array) as one safetensors file
   * (8-byte little-endian header length, JSON header with dtype/shape/data_offsets per name in
   * sorted order, then the raw little-endian data), or null when a type cannot be written or
   * the session's budget (`W.CAPTURE_MAX`) would be passed.
   */
  W.safetensors = function (feeds) {
    var names = Object.keys(feeds || {}).sort();
    if (!names.length) return null;
    var header = {};
    var parts = [];
    var off = 0;
    for (var i = 0; i < names.length; i++) {
      var t = feeds[names[i]];
      if (!t || !ST_DTYPES[t.type]) return null;
      var d = t.data;
      if (!d || typeof d.byteLength !== 'number') return null;
      var u8 = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      var shape = [];
      for (var k = 0; k < t.dims.length; k++) shape.push(Number(t.dims[k]));
      header[names[i]] = { dtype: ST_DTYPES[t.type], shape: shape, data_offsets: [off, off + u8.length] };
      parts.push(u8);
      off += u8.length;
    }
    if (W.capturedBytes + off > W.CAPTURE_MAX) return null;
    var hb = new G.TextEncoder().encode(JSON.stringify(header));
    var padded = Math.ceil(hb.length / 8) * 8;
    var out = new Uint8Array(8 + padded + off);
    var dv = new DataView(out.buffer);
    dv.setUint32(0, padded, true);
    dv.setUint32(4, 0, true);
    out.set(hb, 8);
    for (var p = hb.length; p < padded; p++) out[8 + p] = 0x20;
    var pos = 8 + padded;
    for (var j = 0; j < parts.length; j++) { out.set(parts[j], pos); pos += parts[j].length; }
    W.capturedBytes += off;
    return out;
  };

  /**
   * Emit `rec` as an `infer` via `send(rec)`; with a captured inputs file, once its SHA-256
   * is known, as `rec.inputs_sha256`, and hand the file to the proxy (`--save-models`).
   */
  W.emitWithInputs = function (rec, file, send) {
    if (!file) { send(rec); return; }
    W.sha256(file).then(function (sha) {
      W.safe('captured inputs', function () {
        if (sha) rec.inputs_sha256 = sha;
        send(rec);
        if (sha) W.uploadModel(file, sha, '.safetensors');
      });
    }, function () { send(rec); });
  };

  /** Promise of the lower-case hex SHA-256 of `bytes` (a BufferSource, copied now by
   * WebCrypto, hashed off the main thread), or of undefined without WebCrypto. */
  W.sha256 = function (bytes) {
    try {
      var subtle = G.crypto && G.crypto.subtle;
      if (!subtle) return Promise.resolve(undefined);
      return subtle.digest('SHA-256', bytes).then(function (buf) {
        var a = new Uint8Array(buf);
        var s = '';
        for (var i = 0; i < a.length; i++) s += ('0' + a[i].toString(16)).slice(-2);
        return s;
      }, function () { return undefined; });
    } catch (e) {
      return Promise.resolve(undefined);
    }
  };

  /** Names of the assignment traps installed now (benchmarks switch them off and on). */
  W.assignTrapNames = function () { return Object.keys(assignTraps); };

  /** Whether the assignment trap on `name` is installed. */
  W.hasAssignmentTrap = function (name) { return !!assignTraps[name]; };

  /**
   * Replace `obj[name]` (a function) by `make(original)`; the replacement keeps the original's
   * `length` and `name` where possible. Returns the original or undefined.
   */
  W.wrapMethod = function (obj, name, make) {
    try {
      var orig = obj[name];
      if (typeof orig !== 'function' || orig.__webinfer_orig) return undefined;
      var wrapped = make(orig);
      try { Object.defineProperty(wrapped, '__webinfer_orig', { value: orig }); } catch (e) { /* ignore */ }
      try { Object.defineProperty(wrapped, 'name', { value: orig.name, configurable: true }); } catch (e) { /* ignore */ }
      try { Object.defineProperty(wrapped, 'length', { value: orig.length, configurable: true }); } catch (e) { /* ignore */ }
      var d = Object.getOwnPropertyDescriptor(obj, name);
      if (d && 'value' in d) {
        Object.defineProperty(obj, name, { value: wrapped, writable: d.writable, enumerable: d.enumerable, configurable: d.configurable });
      } else {
        obj[name] = wrapped;
      }
      return orig;
    } catch (e) {
      W.internalError('wrapMethod ' + name, e);
      return undefined;
    }
  };

  /** True for promise-like values. */
  W.isThenable = function (x) {
    return x != null && (typeof x === 'object' || typeof x === 'function') && typeof x.then === 'function';
  };

  /** True for a tfjs Tensor (duck-typed: dataId, shape and data()). */
  W.isTensor = function (x) {
    return x != null && typeof x === 'object' && x.dataId !== undefined && Array.isArray(x.shape) &&
      typeof x.data === 'function';
  };

  /** Tensors inside a value: a tensor, an array of tensors, or a map of name → tensor. */
  W.tensorsIn = function (x) {
    var out = [];
    try {
      if (W.isTensor(x)) out.push(x);
      else if (Array.isArray(x)) { for (var i = 0; i < x.length; i++) if (W.isTensor(x[i])) out.push(x[i]); }
      else if (x != null && typeof x === 'object') {
        var ks = Object.keys(x);
        for (var j = 0; j < ks.length && j < 1000; j++) if (W.isTensor(x[ks[j]])) out.push(x[ks[j]]);
      }
    } catch (e) { /* ignore */ }
    return out;
  };

  /** A shape as an array of integers (or null for unknown dims), as the format wants. */
  W.shapeOf = function (s) {
    if (!s || typeof s.length !== 'number') return [];
    var out = [];
    for (var i = 0; i < s.length && i < 64; i++) {
      var d = s[i];
      if (typeof d === 'bigint') d = Number(d);
      out.push(typeof d === 'number' && isFinite(d) && Math.floor(d) === d ? d : null);
    }
    return out;
  };

  /** Input shapes of a model call's first argument (tensor, array or map of tensors). */
  W.inputShapes = function (x) {
    var ts = W.tensorsIn(x);
    var out = [];
    for (var i = 0; i < ts.length && i < 64; i++) out.push(W.shapeOf(ts[i].shape));
    return out;
  };

  /** Per-model call counters: `nextCall(model)` returns 1 for the first call of a model. */
  W.makeCallCounter = function () {
    var counts = Object.create(null);
    return function (model) {
      counts[model] = (counts[model] || 0) + 1;
      return counts[model];
    };
  };
})(globalThis);

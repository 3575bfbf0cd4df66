/* webinfer hook: perf.js — memory, frames, long tasks, LoAF, Event Timing, probe, paint, nav,
 * video frames.
 *
 * `W.installPerf(isWorker)` starts the samplers. Records:
 *  - `mem` every `sample_ms` and, in a task of its own, after inferences (`W.sampleMemSoon`:
 *    at most one per 100 ms): performance.memory,
 *    wasm memories (wasm.js), tf.memory() (tfjs.js), and the last
 *    `performance.measureUserAgentSpecificMemory()` result (crossOriginIsolated only, at most
 *    every 5 s);
 *  - `frames`: requestAnimationFrame timestamps, up to 120 per record, flushed before each
 *    POST; the rAF loop stops while the document is hidden and restarts when it is visible;
 *  - `longtask`, `loaf`, `input` (Event Timing, durationThreshold 16), `paint`
 *    (first-paint, first-contentful-paint, largest-contentful-paint) from buffered
 *    PerformanceObservers; `nav` after load; `probe` from a 100 ms setTimeout chain;
 *  - `video_frames` from requestVideoFrameCallback on every <video> (MutationObserver).
 * In a worker only `mem` runs (there is no document).
 */
(function (G) {
  'use strict';
  var W = G[Symbol.for('webinfer.hook')];
  if (!W || W.skip) return;

  function emit(kind, fields, ts) { return W.emit ? W.emit(kind, fields, ts) : -1; }
  var st = function (f, ms) { return (W.setTimeout || G.setTimeout)(f, ms); };

  var uaBytes;
  var uaLast = -Infinity;
  var uaPending = false;

  function measureUa() {
    if (uaPending || !G.crossOriginIsolated || !G.performance || typeof G.performance.measureUserAgentSpecificMemory !== 'function') return;
    var t = W.now();
    if (t - uaLast < 5000) return;
    uaLast = t;
    uaPending = true;
    try {
      G.performance.measureUserAgentSpecificMemory().then(function (r) {
        uaPending = false;
        if (r && typeof r.bytes === 'number') uaBytes = r.bytes;
      }, function () { uaPending = false; });
    } catch (e) {
      uaPending = false;
    }
  }

  /** One `mem` record with whatever is measurable now. */
  W.sampleMem = function () {
    var rec = {};
    var any = false;
    try {
      var pm = G.performance && G.performance.memory;
      if (pm) {
        rec.js_heap_used = pm.usedJSHeapSize;
        rec.js_heap_total = pm.totalJSHeapSize;
        rec.js_heap_limit = pm.jsHeapSizeLimit;
        any = true;
      }
    } catch (e) { /* ignore */ }
    var wb = W.wasmBytes ? W.wasmBytes() : undefined;
    if (wb !== undefined) { rec.wasm_bytes = wb; any = true; }
    var tm = W.tfjs ? W.tfjs.memory() : undefined;
    if (tm) { for (var k in tm) rec[k] = tm[k]; any = true; }
    if (uaBytes !== undefined) { rec.ua_bytes = uaBytes; any = true; }
    measureUa();
    if (any) emit('mem', rec);
  };

  var memPending = false;
  var memLast = -Infinity;
  /**
   * After an inference: one `mem` sample in a task of its own (never inside the page's call),
   * at most one pending and at most one per 100 ms (the periodic sampler covers the rest).
   */
  W.sampleMemSoon = function () {
    if (memPending) return;
    var t = W.now();
    if (t - memLast < 100) return;
    memPending = true;
    st(function () {
      memPending = false;
      memLast = W.now();
      W.safe('mem after infer', W.sampleMem);
    }, 0);
  };

  // ---- frames -----------------------------------------------------------------------------
  var frames = [];
  var rafOn = false;

  function flushFrames() {
    if (frames.length) {
      var t = frames;
      frames = [];
      emit('frames', { t: t });
    }
  }

  function rafLoop(ts) {
    frames.push(ts);
    if (frames.length >= 120) flushFrames();
    if (G.document && G.document.visibilityState === 'hidden') { rafOn = false; return; }
    G.requestAnimationFrame(rafLoop);
  }

  function startRaf() {
    if (rafOn || typeof G.requestAnimationFrame !== 'function') return;
    if (G.document && G.document.visibilityState === 'hidden') return;
    rafOn = true;
    G.requestAnimationFrame(rafLoop);
  }

  // ---- video ------------------------------------------------------------------------------
  var videos = typeof WeakSet === 'function' ? new WeakSet() : null;
  var videoCount = 0;
  var videoBufs = [];

  function watchVideo(v) {
    if (!v || typeof v.requestVideoFrameCallback !== 'function' || (videos && videos.has(v))) return;
    if (videos) videos.add(v);
    var buf = { t: [], presented: [], element: v.id ? '#' + v.id : 'video[' + (videoCount++) + ']' };
    videoBufs.push(buf);
    var cb = function (now, meta) {
      W.safe('video frame', function () {
        buf.t.push(meta && typeof meta.expectedDisplayTime === 'number' ? meta.expectedDisplayTime : now);
        buf.presented.push(meta && typeof meta.presentedFrames === 'number' ? meta.presentedFrames : 0);
        if (buf.t.length >= 120) flushVideo(buf);
      });
      try { v.requestVideoFrameCallback(cb); } catch (e) { /* ignore */ }
    };
    try { v.requestVideoFrameCallback(cb); } catch (e) { /* ignore */ }
  }

  function flushVideo(buf) {
    if (!buf.t.length) return;
    emit('video_frames', { t: buf.t, presented: buf.presented, element: buf.element });
    buf.t = [];
    buf.presented = [];
  }

  function scanVideos(root) {
    try {
      if (root && root.nodeName === 'VIDEO') watchVideo(root);
      if (root && typeof root.querySelectorAll === 'function') {
        var vs = root.querySelectorAll('video');
        for (var i = 0; i < vs.length; i++) watchVideo(vs[i]);
      }
    } catch (e) { /* ignore */ }
  }

  /** Called before every POST: pending frame batches become records. */
  W.flushPerfBuffers = function () {
    flushFrames();
    for (var i = 0; i < videoBufs.length; i++) flushVideo(videoBufs[i]);
  };

  // ---- observers --------------------------------------------------------------------------
  function observe(type, extra, onEntry) {
    try {
      var PO = G.PerformanceObserver;
      if (!PO || !PO.supportedEntryTypes || PO.supportedEntryTypes.indexOf(type) < 0) return;
      var po = new PO(function (list) {
        var es = list.getEntries();
        for (var i = 0; i < es.length; i++) {
          var e = es[i];
          W.safe('observe ' + type, function () { onEntry(e); });
        }
      });
      var o = { type: type, buffered: true };
      if (extra) for (var k in extra) o[k] = extra[k];
      po.observe(o);
    } catch (e) {
      W.internalError('observe ' + type, e);
    }
  }

  function installObservers() {
    observe('longtask', null, function (e) { emit('longtask', { start: e.startTime, dur: e.duration }); });
    observe('long-animation-frame', null, function (e) {
      emit('loaf', { start: e.startTime, dur: e.duration, blocking_dur: typeof e.blockingDuration === 'number' ? e.blockingDuration : 0 });
    });
    observe('event', { durationThreshold: 16 }, function (e) {
      emit('input', {
        name: e.name, start: e.startTime, dur: e.duration, processing_start: e.processingStart,
        processing_end: e.processingEnd, interaction_id: e.interactionId || undefined
      });
    });
    observe('paint', null, function (e) { emit('paint', { name: e.name, start: e.startTime }); });
    observe('largest-contentful-paint', null, function (e) {
      emit('paint', { name: 'largest-contentful-paint', start: e.renderTime || e.loadTime || e.startTime });
    });
  }

  function emitNav() {
    try {
      var n = G.performance.getEntriesByType('navigation')[0];
      if (n) emit('nav', { dom_content_loaded: n.domContentLoadedEventEnd, load: n.loadEventEnd });
    } catch (e) { /* ignore */ }
  }

  // ---- DevTools track (opt-in: config `devtools_track`) -----------------------------------
  var dtQueue = [];
  var dtPending = false;
  var dtLive = []; // [{name, t}] measures created, oldest first
  /** Measures kept at most this long (ms of the page clock) and at most this many. */
  W.devtoolsWindowMs = 60000;
  W.devtoolsMaxEntries = 500;

  function shortModel(m) {
    var s = String(m || '');
    var q = s.split(/[?#]/)[0];
    var slash = q.lastIndexOf('/');
    return slash >= 0 && slash < q.length - 1 ? q.slice(slash + 1) : s;
  }

  function dtFlush() {
    dtPending = false;
    var perfObj = G.performance;
    if (!perfObj || typeof perfObj.measure !== 'function') { dtQueue = []; return; }
    var q = dtQueue;
    dtQueue = [];
    var track = W.devtoolsTrackName || 'webinfer';
    for (var i = 0; i < q.length; i++) {
      var it = q[i];
      var f = it.f;
      var props = [['model', String(f.model)]];
      if (f.backend) props.push(['backend', String(f.backend)]);
      if (f.api) props.push(['api', String(f.api)]);
      if (f.call !== undefined) props.push(['call', String(f.call)]);
      if (f.ready) props.push(['ready', String(f.ready)]);
      if (typeof f.bytes === 'number') props.push(['bytes', String(f.bytes)]);
      var label, color;
      if (it.kind === 'model_load') { label = 'load ' + shortModel(f.model) + ' (' + it.seq + ')'; color = 'secondary'; }
      else if (f.call === 1) { label = 'warm-up ' + shortModel(f.model) + ' #1'; color = 'tertiary'; }
      else { label = shortModel(f.model) + ' #' + f.call; color = 'primary'; }
      var name = 'webinfer ' + label;
      try {
        perfObj.measure(name, {
          start: f.start,
          end: f.start + f.dur,
          detail: {
            devtools: {
              dataType: 'track-entry',
              trackGroup: 'webinfer',
              track: track + ' ' + (f.framework || ''),
              color: color,
              properties: props,
              tooltipText: (it.kind === 'model_load' ? 'model load ' : 'inference ') + f.model + ' ' + f.dur.toFixed(2) + ' ms'
            },
            webinfer: { kind: it.kind, seq: it.seq, sid: W.sid }
          }
        });
        dtLive.push({ name: name, t: f.start + f.dur });
      } catch (e) {
        W.internalError('devtools measure', e);
      }
    }
    // Bound the page's user-timing buffer: clear our measures older than the window.
    var now = W.now();
    while (dtLive.length && (dtLive.length > W.devtoolsMaxEntries || now - dtLive[0].t > W.devtoolsWindowMs)) {
      var old = dtLive.shift();
      try { perfObj.clearMeasures(old.name); } catch (e) { /* ignore */ }
    }
  }

  /**
   * Mirror an `infer` / `model_load` record (its fields and seq) as a `performance.measure`
   * with the DevTools extensibility payload (`detail.devtools`): track group "webinfer", one
   * track per framework (per worker: "worker <sid> <framework>"), model, backend, api and
   * call as properties; a first call is labelled "warm-up". Created in a later task (its
   * start/end are explicit), so nothing runs inside the page's call.
   */
  W.devtoolsMeasure = function (kind, fields, seq) {
    if (!fields || typeof fields.start !== 'number' || typeof fields.dur !== 'number') return;
    dtQueue.push({ kind: kind, f: fields, seq: seq });
    if (!dtPending) { dtPending = true; st(function () { W.safe('devtools flush', dtFlush); }, 0); }
  };

  // ---- main-thread probe --------------------------------------------------------------------
  function probe() {
    var scheduled = W.now() + 100;
    st(function () {
      W.safe('probe', function () { emit('probe', { start: scheduled, delay: Math.max(0, W.now() - scheduled) }); });
      probe();
    }, 100);
  }

  W.installPerf = function (isWorker, sampleMs) {
    if (sampleMs > 0) {
      (function memLoop() {
        st(function () { W.safe('mem', W.sampleMem); memLoop(); }, sampleMs);
      })();
    }
    W.safe('mem first', W.sampleMem);
    if (isWorker || !G.document) return;
    installObservers();
    probe();
    startRaf();
    var doc = G.document;
    doc.addEventListener('visibilitychange', function () { W.safe('visibility', startRaf); });
    if (doc.readyState === 'complete') st(emitNav, 0);
    else G.addEventListener('load', function () { st(emitNav, 0); });
    W.safe('videos', function () {
      scanVideos(doc);
      var MO = G.MutationObserver;
      if (!MO) return;
      var mo = new MO(function (muts) {
        for (var i = 0; i < muts.length; i++) {
          var added = muts[i].addedNodes;
          for (var j = 0; j < added.length; j++) scanVideos(added[j]);
        }
      });
      mo.observe(doc, { childList: true, subtree: true });
    });
  };
})(globalThis);

/* webinfer hook: perf.js — memory, frames, long tasks, LoAF, Event Timing, probe, paint, nav,
 * video frames.
 *
 * `W.installPerf(isWorker)` starts the samplers. Records:
 *  - `mem` every 500 ms and after each inference (`W.sampleMem`): performance.memory,
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

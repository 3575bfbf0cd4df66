// Shared code of the webinfer fidelity / observer-effect bench pages (classic script).
//
// A bench page loads a demo model, warms it up, then runs it `n` times, each inference in a
// task of its own (a setTimeout callback, `gap` ms apart) with the page's own timer
// (performance.now() before and after) and the framework's own timer around the call. Then it
// holds an idle window (`idle` ms, animation only) and counts its own requestAnimationFrame
// callbacks in it. A canvas animates on every frame the whole time, so each frame has
// something to draw. It POSTs everything to the site's results endpoint
// (/__results__/<?result=>):
//   {page, backend, sync, runs: [{start, own_ms, fw_ms, out}], idle: {start, end, frames},
//    outputs: [sha256 of each run's outputs], console: [...]}
// `sync` is performance.now() of the user-timing mark "webinfer-bench-sync", which the
// harness finds in the DevTools trace to align the trace clock with the page clock. The marks
// "webinfer-bench-idle-start" / "-end" bracket the idle window.
// Query: n (default 30), warm (default 3), gap (ms between inferences, default 30),
// idle (ms, default 2000), result (results name), leave (ms before navigating to about:blank),
// drive=1: after warm-up set BENCH.ready and wait to be driven from outside instead
// (BENCH.step() → one measured inference {start, own_ms, fw_ms, out}; BENCH.idleFps(ms) →
// the page's rAF rate over ms; BENCH.hooked), which the observer benchmark uses to alternate
// the inferences of a page with and one without the hook.
var BENCH = (function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  // Console lines (ORT's profiler prints its events with console.log): kept for the harness.
  var consoleLines = [];
  ['log', 'info', 'warn'].forEach(function (k) {
    var orig = console[k];
    console[k] = function () {
      try { consoleLines.push(Array.prototype.map.call(arguments, String).join(' ')); } catch (e) { /* ignore */ }
      return orig.apply(console, arguments);
    };
  });
  var frameCount = 0;
  (function animate() {
    var c = document.createElement('canvas');
    c.width = 200; c.height = 60;
    document.addEventListener('DOMContentLoaded', function () { document.body.appendChild(c); });
    var g = c.getContext('2d');
    function draw(t) {
      frameCount++;
      g.fillStyle = '#fff'; g.fillRect(0, 0, 200, 60);
      g.fillStyle = '#246'; g.fillRect((t / 5) % 180, 20, 20, 20);
      requestAnimationFrame(draw);
    }
    requestAnimationFrame(draw);
  })();
  function num(k, d) { var v = params.get(k); return v === null ? d : Number(v); }
  /** Deterministic input values in [0, 1): identical on every run. */
  function input(n, seed) {
    var a = new Float32Array(n);
    for (var i = 0; i < n; i++) a[i] = ((i * 7919 + seed * 104729) % 1000) / 1000;
    return a;
  }
  /** Hex SHA-256 of a typed array's bytes. */
  async function digest(arr) {
    var bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    var h = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(h)).map(function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  /** Runs `fn` in a task of its own (a setTimeout callback) and resolves with its result. */
  function inOwnTask(fn) {
    return new Promise(function (resolve, reject) {
      setTimeout(function () { Promise.resolve().then(fn).then(resolve, reject); }, 0);
    });
  }
  async function post(obj) {
    obj.url = location.href;
    var name = params.get('result') || obj.page || 'page';
    await fetch('/__results__/' + encodeURIComponent(name), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(obj)
    });
    document.title = obj.error ? 'error' : 'done';
    var leave = params.get('leave');
    if (leave !== null) setTimeout(function () { location.replace('about:blank'); }, Number(leave) || 0);
  }
  /**
   * The bench loop. `once()` runs one inference and resolves with {fw_ms, read}; the page's
   * own timer spans exactly `once()` (awaited inside the task: its synchronous part and its
   * microtasks). `read()` (called in a later task, outside every timer) resolves with the
   * outputs as typed arrays, for the output digests.
   */
  async function run(page, backend, once) {
    var n = num('n', 30), warm = num('warm', 3), gap = num('gap', 30), idle = num('idle', 2000);
    for (var w = 0; w < warm; w++) { var wr = await inOwnTask(once); await sleep(0); await wr.read(); }
    await sleep(200);
    /** One measured inference after `gap` ms: {start, own_ms, fw_ms, out (digests)}. */
    async function step() {
      await sleep(gap);
      var r = await inOwnTask(async function () {
        var t0 = performance.now();
        var res = await once();
        var t1 = performance.now();
        return { start: t0, own_ms: t1 - t0, fw_ms: res.fw_ms, res: res };
      });
      await sleep(0); // a new task: reading outputs is no part of the inference's task
      var arrays = await r.res.read();
      var ds = [];
      for (var k = 0; k < arrays.length; k++) ds.push(await digest(arrays[k]));
      return { start: r.start, own_ms: r.own_ms, fw_ms: r.fw_ms, out: ds.join(',') };
    }
    if (params.get('drive') === '1') {
      // Driven from outside (Runtime.evaluate): BENCH.step() and BENCH.idleFps(ms).
      api.step = step;
      api.idleFps = async function (ms) {
        var f0 = frameCount, t0 = performance.now();
        await sleep(ms);
        return (frameCount - f0) * 1000 / (performance.now() - t0);
      };
      api.hooked = !!self[Symbol.for('webinfer.hook')];
      api.ready = true;
      return new Promise(function () {}); // the page script's own finish never runs
    }
    var sync = performance.mark('webinfer-bench-sync').startTime;
    var runs = [], outputs = [];
    for (var i = 0; i < n; i++) {
      var s = await step();
      outputs.push(s.out);
      runs.push({ start: s.start, own_ms: s.own_ms, fw_ms: s.fw_ms });
    }
    await sleep(300);
    var f0 = frameCount;
    var idleStart = performance.mark('webinfer-bench-idle-start').startTime;
    await sleep(idle);
    var idleEnd = performance.mark('webinfer-bench-idle-end').startTime;
    var frames = frameCount - f0;
    return { page: page, backend: backend, sync: sync, runs: runs, outputs: outputs,
      idle: { start: idleStart, end: idleEnd, frames: frames, fps: frames * 1000 / (idleEnd - idleStart) },
      hooked: !!self[Symbol.for('webinfer.hook')] };
  }
  function fail(e) {
    api.error = String(e && e.stack ? e.stack : e);
    return post({ error: api.error });
  }
  var api = { params: params, num: num, input: input, run: run, post: post, fail: fail, console: consoleLines,
    ready: false, error: null };
  return api;
})();

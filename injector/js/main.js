/* webinfer hook: main.js — reads the config prefix and starts everything.
 *
 * Config (prepended by the injector, see injector/CONFIG.md):
 *   globalThis.__WEBINFER_CONFIG__ = {"v":1,"sid":"…","parent":null,"scope":"document",
 *     "endpoint":"/__webinfer__/trace","kernels":false,"sample_ms":1000,"flush_ms":1000,…};
 * The config global is deleted once read; without it the hook does nothing. In a worker
 * (classic or module) the same script runs with its own config (`scope:"worker"`, `parent` =
 * the page's sid when the proxy knows it). A worker that inherited a document config derives
 * `<sid>-w<random>` and names the document sid as `parent`. With `"no_start": true` nothing
 * starts (used by the Node tests).
 */
(function (G) {
  'use strict';
  var W = G[Symbol.for('webinfer.hook')];
  if (!W) return;
  if (W.skip) { W.skip = false; return; }
  if (W.started) return;

  var config = null;
  try {
    config = G.__WEBINFER_CONFIG__;
    if (config) delete G.__WEBINFER_CONFIG__;
  } catch (e) { /* ignore */ }
  if (!config || typeof config !== 'object' || config.no_start) { W.config = config || {}; return; }
  W.started = true;
  W.config = config;
  // Benchmark switches (RULES.md "Switches"): `now` stops reading the clock.
  if (W.isOff('now')) W.now = function () { return 0; };

  // Originals captured before the page can patch them.
  var origFetch = typeof G.fetch === 'function' ? G.fetch : null;
  var origSetTimeout = G.setTimeout;
  W.setTimeout = function (f, ms) { return origSetTimeout.call(G, f, ms); };
  W.origFetch = origFetch;
  var nav = G.navigator;
  var origBeacon = nav && typeof nav.sendBeacon === 'function' ? nav.sendBeacon : null;

  var isWorker = typeof G.WorkerGlobalScope === 'function' && G instanceof G.WorkerGlobalScope;

  function randomHex(n) {
    var s = '';
    try {
      var a = new Uint8Array(n);
      G.crypto.getRandomValues(a);
      for (var i = 0; i < n; i++) s += ('0' + a[i].toString(16)).slice(-2);
    } catch (e) {
      for (var j = 0; j < n; j++) s += ('0' + Math.floor(Math.random() * 256).toString(16)).slice(-2);
    }
    return s;
  }

  // The proxy issues one sid per injected copy (document or worker script, `scope`) and names
  // the page in `parent` when it can. A worker that got a document's config (not injected by
  // itself) derives its own sid from the page's.
  var scopeWorker = config.scope === 'worker';
  var sid, parentSid;
  if (isWorker && !scopeWorker) {
    parentSid = String(config.sid || 'unknown');
    sid = parentSid + '-w' + randomHex(4);
  } else {
    sid = String(config.sid || 'unknown');
    parentSid = config.parent ? String(config.parent) : undefined;
  }
  var endpoint = String(config.endpoint || '/__webinfer__/trace');
  try {
    var base = G.location && G.location.origin && G.location.origin !== 'null' ? G.location.origin + '/' : G.location.href;
    endpoint = new URL(endpoint, base).href;
  } catch (e) { /* keep */ }
  W.sid = sid;
  W.endpoint = endpoint;

  /**
   * Hand a model's bytes to the proxy (only with `config.save_models`, i.e. `--save-models`):
   * `POST <endpoint>?model=1&sid=&sha256=&ext=`, stored as `<sha256><ext>` (SECURITY.md). A
   * 403 is retried twice a second later (a derived worker sid is registered by its first batch);
   * `then` runs once it was stored.
   */
  W.uploadModel = function (bytes, sha, ext, then) {
    if (!config.save_models || !origFetch || !sha) return;
    var url = endpoint + (endpoint.indexOf('?') < 0 ? '?' : '&') + 'model=1&sid=' + encodeURIComponent(sid) +
      '&sha256=' + sha + '&ext=' + encodeURIComponent(ext || '.onnx');
    var tries = 0;
    (function send() {
      origFetch.call(G, url, {
        method: 'POST', body: bytes, credentials: 'same-origin', cache: 'no-store',
        headers: { 'content-type': 'application/octet-stream' }
      }).then(function (r) {
        if (r.status === 403 && tries++ < 2) { W.setTimeout(send, 1000); return; }
        if (r.ok && then) W.safe('model upload then', then);
      }, function (e) { W.internalError('model upload', e); });
    })();
  };

  var transport = W.makeTransport({
    sid: sid,
    intervalMs: typeof config.flush_ms === 'number' && config.flush_ms > 0 ? config.flush_ms : (isWorker ? 500 : 1000),
    setTimeout: W.setTimeout,
    // Results go out within 100 ms: a worker ends without notice (no pagehide), and a
    // document's browser may be closed or killed without one too.
    urgentKinds: ['session', 'env', 'model_load', 'infer', 'kernel', 'end'],
    urgentMs: 100,
    beforeFlush: function () { if (W.flushPerfBuffers) W.flushPerfBuffers(); },
    send: function (body, bytes) {
      if (W.isOff('transport')) return Promise.resolve(true); // benchmark switch: built, not sent
      if (!origFetch) return Promise.reject(new Error('no fetch'));
      return origFetch.call(G, endpoint, {
        method: 'POST',
        keepalive: bytes <= 60000,
        body: body,
        headers: { 'content-type': 'application/json' },
        credentials: 'same-origin',
        cache: 'no-store'
      }).then(function (r) {
        // 204 stored; 400 = some records invalid, the valid ones stored: do not resend;
        // 413 = too big: split; anything else: retry later.
        if (r.ok || r.status === 400) return true;
        if (r.status === 413) return 'too-big';
        return false;
      });
    },
    beacon: function (body) {
      if (!origBeacon) return false;
      try {
        return origBeacon.call(nav, endpoint, body); // text/plain body holding the JSON array
      } catch (e) {
        return false;
      }
    }
  });
  W.transport = transport;
  W.emit = W.isOff('records') ? function () { return -1; } : transport.emit;
  // Opt-in (`devtools_track`): inferences and model loads also become performance.measure
  // entries shown as a "webinfer" track in the DevTools Performance panel.
  if (config.devtools_track && !W.isOff('records')) {
    W.devtoolsTrackName = isWorker ? 'worker ' + sid : 'webinfer';
    W.emit = function (kind, fields, ts) {
      var seqNo = transport.emit(kind, fields, ts);
      if ((kind === 'infer' || kind === 'model_load') && seqNo >= 0 && W.devtoolsMeasure) {
        W.safe('devtools', function () { W.devtoolsMeasure(kind, fields, seqNo); });
      }
      return seqNo;
    };
  }

  // session
  W.safe('session', function () {
    var rec = {
      source: isWorker ? 'worker' : 'page',
      url: G.location ? String(G.location.href) : '',
      time_origin: G.performance && G.performance.timeOrigin,
      user_agent: nav ? String(nav.userAgent) : '',
      hardware_concurrency: nav && typeof nav.hardwareConcurrency === 'number' ? nav.hardwareConcurrency : 0,
      device_memory: nav && typeof nav.deviceMemory === 'number' ? nav.deviceMemory : undefined,
      cross_origin_isolated: !!G.crossOriginIsolated
    };
    if (parentSid) rec.parent = parentSid;
    if (typeof config.label === 'string') rec.label = config.label;
    if (typeof config.variant === 'string') rec.variant = config.variant;
    transport.emit('session', rec);
  });

  if (!W.isOff('all')) {
    W.safe('wasm', W.installWasm);
    W.safe('webgpu', W.webgpu.install);
    W.safe('fetch', W.installFetch);
    W.safe('tfjs', W.tfjs.install);
    W.safe('ort', W.ort.install);
    W.safe('mediapipe', W.mediapipe.install);
    W.safe('gen', W.gen.install);
    var sampleMs = typeof config.sample_ms === 'number' ? config.sample_ms : 500;
    if (!W.isOff('perf')) W.safe('perf', function () { W.installPerf(isWorker, sampleMs); });
  }

  if (!isWorker && typeof G.addEventListener === 'function') {
    G.addEventListener('pagehide', function () { W.safe('pagehide', function () { transport.final('pagehide'); }); });
    G.addEventListener('pageshow', function (e) { if (e && e.persisted) transport.resume(); });
    // A hidden document may be discarded or its browser closed without another event.
    var doc = G.document;
    if (doc && typeof doc.addEventListener === 'function') {
      doc.addEventListener('visibilitychange', function () {
        if (doc.visibilityState === 'hidden') W.safe('hidden', function () { transport.flushAll(); });
      });
    }
  }
  transport.flush();
})(globalThis);

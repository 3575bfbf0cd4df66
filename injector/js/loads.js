/* webinfer hook: loads.js — model artifacts: sizes from Resource Timing, the fetch wrapper.
 *
 * `W.emitModelLoad(framework, model, start, end, urls, extra)` emits one `model_load` whose
 * artifact sizes are the `decodedBodySize` of each URL's Resource Timing entry (the body bytes
 * as stored on the server, after any content-encoding). Entries can appear a little after the
 * body was consumed, so it polls for up to 3 s and then emits what it knows.
 * The fetch wrapper (page and worker) leaves every request untouched; for
 * `*weights_manifest.json` responses (tfjs weights loaded without a model object, as
 * face-api does) it reads a clone of the manifest, waits for the shard downloads and emits a
 * `model_load` for the manifest.
 */
(function (G) {
  'use strict';
  var W = G[Symbol.for('webinfer.hook')];
  if (!W || W.skip) return;

  /** The newest Resource Timing entry of `url`, or null. */
  W.resourceEntry = function (url) {
    try {
      var es = G.performance.getEntriesByName(url, 'resource');
      return es && es.length ? es[es.length - 1] : null;
    } catch (e) {
      return null;
    }
  };

  /** The newest resource entry whose body is exactly `bytes` long, else null. */
  W.resourceBySize = function (bytes, suffix) {
    try {
      var es = G.performance.getEntriesByType('resource');
      for (var i = es.length - 1; i >= 0; i--) {
        if (es[i].decodedBodySize === bytes && (!suffix || es[i].name.split('?')[0].slice(-suffix.length) === suffix)) return es[i];
      }
    } catch (e) { /* ignore */ }
    return null;
  };

  /**
   * Emit `model_load` once the sizes of `urls` are known (or after 3 s).
   * `extra` may carry `bytes` (a known total, e.g. the buffer given to ORT), `endFromResources`
   * (take `dur` up to the last artifact's responseEnd), `origin` (→ `model_origin`),
   * `create_site` and `sha256` (of a model given as bytes, hashed in the page).
   */
  W.emitModelLoad = function (framework, model, start, end, urls, extra) {
    extra = extra || {};
    var tries = 0;
    var st = W.setTimeout || G.setTimeout;
    function attempt() {
      var artifacts = [];
      var missing = 0;
      var sum = 0;
      var last = end;
      for (var i = 0; i < urls.length; i++) {
        var e = W.resourceEntry(urls[i]);
        var a = { url: urls[i] };
        if (e && e.decodedBodySize > 0) {
          a.bytes = e.decodedBodySize;
          sum += a.bytes;
          if (e.responseEnd > last) last = e.responseEnd;
        } else {
          missing++;
        }
        artifacts.push(a);
      }
      if (missing > 0 && tries++ < 15) { st(attempt, 200); return; }
      var fin = extra.endFromResources ? last : end;
      var rec = { framework: framework, model: model, start: start, dur: Math.max(0, fin - start), artifacts: artifacts.length ? artifacts : undefined };
      if (typeof extra.bytes === 'number') rec.bytes = extra.bytes;
      else if (missing === 0 && artifacts.length) rec.bytes = sum;
      if (extra.origin) rec.model_origin = extra.origin;
      if (extra.create_site) rec.create_site = extra.create_site;
      if (extra.sha256) rec.sha256 = extra.sha256;
      if (W.emit) W.emit('model_load', rec);
    }
    attempt();
  };

  /** Shard URLs of a tfjs weights manifest fetched from `manifestUrl`. */
  W.manifestShardUrls = function (manifest, manifestUrl) {
    var urls = [];
    if (!Array.isArray(manifest)) return urls;
    for (var i = 0; i < manifest.length; i++) {
      var paths = (manifest[i] && manifest[i].paths) || [];
      for (var j = 0; j < paths.length; j++) {
        try { urls.push(new URL(paths[j], manifestUrl).href); } catch (e) { /* ignore */ }
      }
    }
    return urls;
  };

  function watchManifest(url, start, respPromise) {
    respPromise.then(function (resp) {
      if (!resp || !resp.ok || typeof resp.clone !== 'function') return;
      var c = resp.clone();
      c.json().then(function (man) {
        var shards = W.manifestShardUrls(man, resp.url || url);
        var tries = 0;
        var st = W.setTimeout || G.setTimeout;
        (function wait() {
          var all = shards.every(function (u) { return W.resourceEntry(u); });
          if (!all && tries++ < 150) { st(wait, 200); return; }
          W.emitModelLoad('tfjs', resp.url || url, start, start, [resp.url || url].concat(shards), { endFromResources: true });
        })();
      }, function () {});
    }, function () {});
  }

  /** Wrap fetch (idempotent). The original is kept in `W.origFetch` for the transport. */
  W.installFetch = function () {
    if (typeof G.fetch !== 'function' || W.fetchWrapped) return;
    W.fetchWrapped = true;
    W.wrapMethod(G, 'fetch', function (orig) {
      return function (input) {
        var start = W.now();
        var r = orig.apply(this, arguments);
        W.safe('fetch', function () {
          var url = typeof input === 'string' ? input : (input && input.url) || String(input);
          if (/weights_manifest\.json(\?|#|$)/.test(url) && W.isThenable(r)) watchManifest(W.absUrl(url), start, r);
        });
        return r;
      };
    });
  };
})(globalThis);

// Shared helpers of the webinfer hook end-to-end pages (classic script; pages and workers).
// A page computes real inference, then POSTs {page, ..., outputs: [sha256 of each output's
// bytes]} to the results endpoint (/__results__/<?result= or page name>) so a test can compare the
// outputs of a run through the proxy with a direct run. It sets document.title to "done" or
// "error: …" at the end.
var E2E = (function () {
  'use strict';
  var params = new URLSearchParams(self.location.search);
  /** Deterministic input values in [0, 1): no randomness, identical on every run. */
  function input(n, seed) {
    var a = new Float32Array(n);
    var s = seed || 1;
    for (var i = 0; i < n; i++) a[i] = ((i * 7919 + s * 104729) % 1000) / 1000;
    return a;
  }
  /** Hex SHA-256 of a typed array's bytes. */
  async function digest(arr) {
    var bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    var h = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(h)).map(function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  }
  async function post(obj) {
    obj.url = self.location.href;
    // POST /__results__/<name> (the test site's results endpoint); name from ?result= else the page.
    var resultsUrl = '/__results__/' + encodeURIComponent(params.get('result') || obj.page || 'page');
    await fetch(resultsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(obj) });
  }
  async function finish(obj) {
    // ?linger=MS: stay MS ms after the last call before reporting (abrupt-close tests).
    var linger = parseInt(params.get('linger') || '0', 10);
    if (linger > 0) await new Promise(function (r) { setTimeout(r, linger); });
    obj.done_at = self.performance.now();
    await post(obj);
    if (self.document) {
      self.document.title = 'done';
      // ?leave=MS: navigate away after MS ms so the page ends (pagehide) on its own.
      var leave = params.get('leave');
      if (leave) setTimeout(function () { self.location.replace('about:blank'); }, parseInt(leave, 10) || 0);
    }
  }
  async function fail(e) {
    var msg = String(e && e.stack ? e.stack : e);
    try { await post({ error: msg }); } catch (e2) { /* ignore */ }
    if (self.document) self.document.title = 'error: ' + msg.slice(0, 200);
  }
  return { params: params, input: input, digest: digest, post: post, finish: finish, fail: fail, runs: parseInt(params.get('n') || '6', 10) };
})();

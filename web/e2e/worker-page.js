// Starts worker.js (a classic worker running TF.js + blazeface) and posts its outputs.
(function () {
  var w = new Worker('worker.js' + location.search);
  w.onmessage = function (ev) {
    if (ev.data && ev.data.error) E2E.fail(ev.data.error);
    else E2E.finish(ev.data);
  };
  w.onerror = function (ev) { E2E.fail('worker error: ' + (ev.message || ev)); };
})();

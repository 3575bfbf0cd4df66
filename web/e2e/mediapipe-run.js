// MediaPipe Tasks vision inference shared by the e2e pages.
// `E2E.runMediaPipe(vision)` creates one task and runs it E2E.runs times on a real photo
// (face-api's demo sample1.jpg, drawn into a canvas), timing each call with the page's own
// performance.now(), and returns {page, outputs: [sha256 of each result's JSON], page_ms}.
// Query: task (face-detector | segmenter | hands), img (a face-api demo sample), mode (IMAGE|VIDEO), delegate (CPU|GPU), load (path|buffer),
// model (short|full), wasm (fileset folder).
E2E.runMediaPipe = async function (vision) {
  var p = E2E.params;
  var mode = p.get('mode') || 'IMAGE';
  var delegate = p.get('delegate') || 'CPU';
  var load = p.get('load') || 'path';
  var which = p.get('model') || 'short';
  var wasm = p.get('wasm') || '/node_modules/@mediapipe/tasks-vision/wasm';
  var taskName = p.get('task') || 'face-detector';
  var modelUrl = taskName === 'segmenter' ? '/e2e/dist/models/selfie_segmentation.tflite'
    : taskName === 'hands' ? '/e2e/dist/models/hand_landmarker.task'
    : '/e2e/dist/models/face_detection_' + (which === 'full' ? 'full' : 'short') + '_range.tflite';
  var fileset = await vision.FilesetResolver.forVisionTasks(wasm);
  var baseOptions = { delegate: delegate };
  if (load === 'buffer') baseOptions.modelAssetBuffer = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  else baseOptions.modelAssetPath = modelUrl;
  var task = taskName === 'hands'
    ? await vision.HandLandmarker.createFromOptions(fileset, { baseOptions: baseOptions, runningMode: mode, numHands: 2 })
    : taskName === 'segmenter'
    ? await vision.ImageSegmenter.createFromOptions(fileset, { baseOptions: baseOptions, runningMode: mode, outputConfidenceMasks: true, outputCategoryMask: false })
    : await vision.FaceDetector.createFromOptions(fileset, { baseOptions: baseOptions, runningMode: mode });

  var img = new Image();
  img.src = '/node_modules/@vladmandic/face-api/demo/' + (p.get('img') || 'sample1.jpg');
  await img.decode();
  var canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  canvas.getContext('2d').drawImage(img, 0, 0);

  var outputs = [];
  var pageMs = [];
  for (var i = 0; i < E2E.runs; i++) {
    var t0 = performance.now();
    var json;
    if (taskName === 'segmenter') {
      // the page's own time covers the call and reading the mask on the CPU
      var seg = mode === 'VIDEO' ? task.segmentForVideo(canvas, 1000 + i * 40) : task.segment(canvas);
      var mask = seg.confidenceMasks[0].getAsFloat32Array();
      var t1 = performance.now();
      var sum = 0;
      for (var k = 0; k < mask.length; k++) sum += mask[k];
      json = JSON.stringify([seg.confidenceMasks[0].width, seg.confidenceMasks[0].height, sum.toFixed(2)]);
      seg.close();
    } else if (taskName === 'hands') {
      var h = mode === 'VIDEO' ? task.detectForVideo(canvas, 1000 + i * 40) : task.detect(canvas);
      var t1 = performance.now();
      json = JSON.stringify(h.landmarks.map(function (hand) {
        return hand.map(function (l) { return [l.x.toFixed(3), l.y.toFixed(3)]; });
      }).concat(h.handedness.map(function (c) { return c[0].categoryName; })));
    } else {
      var r = mode === 'VIDEO' ? task.detectForVideo(canvas, 1000 + i * 40) : task.detect(canvas);
      var t1 = performance.now();
      json = JSON.stringify(r.detections.map(function (d) {
        var b = d.boundingBox;
        return [Math.round(b.originX), Math.round(b.originY), Math.round(b.width), Math.round(b.height), d.categories[0].score.toFixed(4)];
      }));
    }
    pageMs.push(t1 - t0);
    outputs.push(await E2E.digest(new TextEncoder().encode(json)));
    if (i === 0) console.log('mediapipe detections', json);
  }
  task.close();
  return { page: 'mediapipe', mode: mode, delegate: delegate, outputs: outputs, page_ms: pageMs };
};

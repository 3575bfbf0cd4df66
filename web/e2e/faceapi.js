// face-api builds its networks from tf ops over weights loaded from *-weights_manifest.json;
// there is no GraphModel/LayersModel. Runs the tiny face detector's forward pass E2E.runs times
// on a generated image and digests the raw output tensor. ?backend=cpu|webgl|wasm
(async function () {
  var tf = faceapi.tf;
  var backend = E2E.params.get('backend') || 'cpu';
  if (!(await tf.setBackend(backend))) throw new Error('backend ' + backend + ' unavailable');
  await tf.ready();
  var c = document.getElementById('img');
  var g = c.getContext('2d');
  for (var y = 0; y < c.height; y += 8) {
    for (var x = 0; x < c.width; x += 8) {
      g.fillStyle = 'rgb(' + ((x * 3) % 256) + ',' + ((y * 5) % 256) + ',' + ((x + y) % 256) + ')';
      g.fillRect(x, y, 8, 8);
    }
  }
  var pixels = tf.browser.fromPixels(c); // the input, taken before the preview animates
  // Show the image as a live <video> too (canvas.captureStream), as camera apps do; a ticker
  // changes one pixel so the stream produces frames. Inference uses `pixels`, taken above.
  var video = document.getElementById('preview');
  video.srcObject = c.captureStream(30);
  var paint = function () { g.fillStyle = 'rgb(0,0,' + (Date.now() % 256) + ')'; g.fillRect(0, 0, 1, 1); };
  var ticker = setInterval(paint, 33);
  await video.play().catch(function () {});
  var net = faceapi.nets.tinyFaceDetector;
  await net.loadFromUri('/node_modules/@vladmandic/face-api/model');
  var outputs = [];
  for (var i = 0; i < E2E.runs; i++) {
    var out = await net.forward(pixels, 160);
    outputs.push(await E2E.digest(await out.data()));
    out.dispose();
  }
  pixels.dispose();
  await new Promise(function (r) { setTimeout(r, 1000); }); // let the preview play a moment
  clearInterval(ticker);
  return { page: 'faceapi', backend: tf.getBackend(), outputs: outputs };
})().then(E2E.finish, E2E.fail);

// Transformers.js `text-generation` runs for the e2e pages. `E2E.runTextGeneration(tjs)` loads
// the local gpt2-tiny with remote models off, then generates E2E.runs times (greedy, exactly
// ?tokens= new tokens: min_new_tokens = max_new_tokens). Every odd run passes the page's own
// streamer, which times each token as the library hands it over. Returns {page, outputs
// [sha256 of each generated text], page_ms [time around each call], page_ttft [first token put,
// streamed runs; null otherwise], page_tokens [tokens put], tokens}.
E2E.runTextGeneration = async function (tjs) {
  var env = tjs.env;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = '/e2e/dist/models/';
  env.useBrowserCache = false;
  env.backends.onnx.wasm.wasmPaths = '/node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist/';
  env.backends.onnx.wasm.numThreads = 1;
  var tokens = parseInt(E2E.params.get('tokens') || '12', 10);
  var generator = await tjs.pipeline('text-generation', 'gpt2-tiny', { dtype: 'fp32', device: 'wasm' });

  class TimingStreamer extends tjs.BaseStreamer {
    constructor() { super(); this.times = []; }
    put(value) { this.times.push(performance.now()); }
    end() {}
  }
  var prompts = ['the quick brown fox', 'a language model writes', 'tokens per second tell'];
  var outputs = [], pageMs = [], pageTtft = [], pageTokens = [];
  for (var i = 0; i < E2E.runs; i++) {
    var streamer = i % 2 === 1 ? new TimingStreamer() : null;
    var opts = { max_new_tokens: tokens, min_new_tokens: tokens, do_sample: false, return_full_text: false };
    if (streamer) opts.streamer = streamer;
    var t0 = performance.now();
    var out = await generator(prompts[i % prompts.length], opts);
    var t1 = performance.now();
    pageMs.push(t1 - t0);
    // the first put is the prompt, then one per new token
    pageTtft.push(streamer ? streamer.times[1] - t0 : null);
    pageTokens.push(streamer ? streamer.times.length - 1 : null);
    var text = out[0].generated_text;
    if (i === 0) console.log('generated', JSON.stringify(text));
    outputs.push(await E2E.digest(new TextEncoder().encode(text)));
  }
  return { page: 'transformers-textgen', outputs: outputs, page_ms: pageMs, page_ttft: pageTtft, page_tokens: pageTokens, tokens: tokens };
};

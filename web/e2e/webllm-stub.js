// A stub with WebLLM's public API shape (MLCEngine → engine.chat.completions.create, streaming
// as an async iterable of ChatCompletionChunk, usage in the last chunk), for the hook's WebLLM
// layer. The real WebLLM needs WebGPU with shader-f16 and multi-GB weights from a model hub,
// neither of which exists here; this stub "decodes" one token per step with a fixed amount of
// real CPU work. The page times each chunk it receives and each whole request.
(function () {
  'use strict';
  function work(ms) { var t = performance.now(); var x = 0; while (performance.now() - t < ms) x += Math.sqrt(x + 1); return x; }
  class Completions {
    constructor(engine) { this.engine = engine; }
    async create(request) {
      var n = request.max_tokens || 8;
      var words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];
      var prompt = request.messages.map(function (m) { return m.content; }).join(' ').split(/\s+/).length;
      await new Promise(function (r) { setTimeout(r, 5); });
      work(8); // prefill
      if (!request.stream) {
        var text = [];
        for (var i = 0; i < n; i++) { work(2); text.push(words[i % words.length]); }
        return { choices: [{ message: { role: 'assistant', content: text.join(' ') } }], usage: { prompt_tokens: prompt, completion_tokens: n, total_tokens: prompt + n } };
      }
      var include = request.stream_options && request.stream_options.include_usage;
      return (async function* () {
        for (var i = 0; i < n; i++) {
          if (i > 0) { await new Promise(function (r) { setTimeout(r, 0); }); work(2); }
          yield { choices: [{ delta: { content: words[i % words.length] + ' ' }, index: 0 }] };
        }
        if (include) yield { choices: [], usage: { prompt_tokens: prompt, completion_tokens: n, total_tokens: prompt + n } };
      })();
    }
  }
  class Chat { constructor(engine) { this.completions = new Completions(engine); } }
  class MLCEngine { constructor() { this.modelId = ['stub-llm-q4f16']; this.chat = new Chat(this); } }

  async function run() {
    var engine = new MLCEngine();
    var outputs = [], pageMs = [], pageTtft = [], pageTokens = [], streamed = [];
    for (var i = 0; i < E2E.runs; i++) {
      var stream = i % 2 === 0;
      var req = { messages: [{ role: 'user', content: 'count some greek letters please' }], max_tokens: 6 + i, stream: stream };
      if (stream) req.stream_options = { include_usage: true };
      var t0 = performance.now();
      var text = '', first = null, n = 0;
      if (stream) {
        var chunks = await engine.chat.completions.create(req);
        for await (var c of chunks) {
          var d = c.choices[0] && c.choices[0].delta && c.choices[0].delta.content;
          if (d) { if (first === null) first = performance.now() - t0; text += d; n++; }
        }
      } else {
        var res = await engine.chat.completions.create(req);
        text = res.choices[0].message.content;
        n = res.usage.completion_tokens;
      }
      pageMs.push(performance.now() - t0);
      pageTtft.push(first);
      pageTokens.push(n);
      streamed.push(stream);
      outputs.push(await E2E.digest(new TextEncoder().encode(text)));
    }
    return { page: 'webllm-stub', outputs: outputs, page_ms: pageMs, page_ttft: pageTtft, page_tokens: pageTokens, stream: streamed };
  }
  run().then(E2E.finish, E2E.fail);
})();

// Transformers.js text generation, bundled by esbuild (it inlines onnxruntime-web: no `ort`
// global), fully offline: the tiny GPT-2-style model built by web/fixtures/tiny_causal_lm.py is
// served by the test site under /e2e/dist/models/gpt2-tiny/.
import { pipeline, env, BaseStreamer } from '@huggingface/transformers';

E2E.runTextGeneration({ pipeline, env, BaseStreamer }).then(E2E.finish, E2E.fail);

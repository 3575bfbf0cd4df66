// vad-web's Silero wrapper with onnxruntime-web bundled by esbuild: no `ort` global, so the hook
// must find the bundled InferenceSession through the wasm path.
import * as ort from 'onnxruntime-web/wasm';
import { Silero } from '@ricky0123/vad-web/dist/models/silero.js';

E2E.Silero = Silero;
if (self.ort) throw new Error('vad-bundle must run without an ort global');
E2E.runVad([{ name: 'bundled', ort: ort }], 'vad-bundle').then(E2E.finish, E2E.fail);

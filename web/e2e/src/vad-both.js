// Two copies of onnxruntime-web in one page: the UMD global (loaded by the page) and a bundled
// one (inside this module); the page alternates Silero VAD calls between them, so both shapes
// run the same model under the same load, call by call.
import * as bundled from 'onnxruntime-web/wasm';
import { Silero } from '@ricky0123/vad-web/dist/models/silero.js';

E2E.Silero = Silero;
E2E.runVad([{ name: 'global', ort: self.ort }, { name: 'bundled', ort: bundled }], 'vad-both').then(E2E.finish, E2E.fail);

// vad-web's Silero wrapper only (no onnxruntime-web inside): the page passes the UMD global
// `ort` to it.
import { Silero } from '@ricky0123/vad-web/dist/models/silero.js';

E2E.Silero = Silero;
E2E.runVad([{ name: 'global', ort: self.ort }], 'vad-global').then(E2E.finish, E2E.fail);

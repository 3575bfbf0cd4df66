// The same ORT inference with onnxruntime-web bundled by esbuild: no `ort` global.
import * as ort from 'onnxruntime-web/wasm';

E2E.runOrt(ort, 'ort-bundle').then(E2E.finish, E2E.fail);

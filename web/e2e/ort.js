// onnxruntime-web as the UMD global `ort` (wasm EP).
E2E.runOrt(ort, 'ort').then(E2E.finish, E2E.fail);

// TF.js as the UMD global `tf` (+ tfjs-backend-wasm): ?backend=wasm|webgl|cpu
E2E.runTfjs(tf, tf.wasm.setWasmPaths, 'tfjs-umd').then(E2E.finish, E2E.fail);

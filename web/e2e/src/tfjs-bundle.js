// The same GraphModel inference as tfjs-umd, with TF.js bundled by esbuild: no `tf` global.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

E2E.runTfjs(tf, setWasmPaths, 'tfjs-bundle').then(E2E.finish, E2E.fail);

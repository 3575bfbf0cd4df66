// Builds the end-to-end test assets of webinfer's hook tests:
//  - dist/hook.js: the hook sources concatenated in injector/js/MANIFEST order (for harnesses
//    that inject by themselves; the real proxy embeds the same files);
//  - dist/*.bundle.js: pages whose inference code is bundled by esbuild (no globals).
// Usage: node web/e2e/build.mjs   (from anywhere; needs web/node_modules)
import { build } from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const jsDir = join(here, '..', '..', 'injector', 'js');
const dist = join(here, 'dist');
mkdirSync(dist, { recursive: true });

const names = readFileSync(join(jsDir, 'MANIFEST'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
writeFileSync(join(dist, 'hook.js'), names.map((n) => readFileSync(join(jsDir, n), 'utf8')).join('\n'));

const bundles = [
  ['src/tfjs-bundle.js', 'tfjs-bundle.bundle.js'],
  ['src/ort-bundle.js', 'ort-bundle.bundle.js'],
  ['src/mediapipe-bundle.js', 'mediapipe.bundle.js'],
  ['src/transformers-bundle.js', 'transformers.bundle.js'],
  ['src/vad-silero.js', 'vad-global.bundle.js'],
  ['src/vad-bundle.js', 'vad-bundle.bundle.js'],
  ['src/vad-both.js', 'vad-both.bundle.js'],
  ['src/nsfwjs.js', 'nsfwjs.bundle.js'],
];
for (const [entry, out] of bundles) {
  await build({
    entryPoints: [join(here, entry)],
    outfile: join(dist, out),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: false,
    logLevel: 'warning',
    // onnxruntime-web's wasm glue is loaded at run time from its own files (wasmPaths).
    external: ['*.wasm'],
  });
}
console.log(`built ${join(dist, 'hook.js')} (${names.join(', ')}) and ${bundles.length} bundles`);

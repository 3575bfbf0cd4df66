// MediaPipe Tasks vision bundled by esbuild into the page's own module: no global, the wasm
// fileset from wherever ?wasm= says (default: the npm package's wasm/ folder).
import { FilesetResolver, FaceDetector, ImageSegmenter, HandLandmarker } from '@mediapipe/tasks-vision';

E2E.runMediaPipe({ FilesetResolver, FaceDetector, ImageSegmenter, HandLandmarker }).then(E2E.finish, E2E.fail);

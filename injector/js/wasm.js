/* webinfer hook: wasm.js */

//! The converter's tests, one binary: per-op agreement with TF.js
//! ([`ops`]), whole models from npm packages ([`models`]), layers models
//! ([`layers`]) and refusals ([`errors`]). They need Node 20 with
//! `web/node_modules` (TF.js makes the reference outputs at test time) and
//! ONNX Runtime's library (`scripts/install-onnxruntime.sh`); without
//! either they fail, they never skip.

mod common;
mod errors;
mod layers;
mod models;
mod ops;

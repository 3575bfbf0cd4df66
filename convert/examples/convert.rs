//! Converts one TF.js model to an ONNX file:
//!
//! ```text
//! cargo run -p webinfer-convert --example convert -- MODEL OUT.onnx
//! ```
//!
//! `MODEL` is a `model.json` (shards beside it), a directory holding one,
//! or nsfwjs's `model.min.js`. Prints the inputs, outputs and node count.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, out] = &args[..] else {
        eprintln!("usage: convert MODEL OUT.onnx");
        return ExitCode::from(2);
    };
    match webinfer_convert::convert_path(std::path::Path::new(model)) {
        Ok(c) => {
            if let Err(e) = std::fs::write(out, &c.onnx) {
                eprintln!("{out}: {e}");
                return ExitCode::FAILURE;
            }
            for i in &c.inputs {
                println!("input  {} {} {:?}", i.name, i.dtype, i.shape);
            }
            for o in &c.outputs {
                println!("output {} {} {:?}", o.name, o.dtype, o.shape);
            }
            println!(
                "{} ONNX nodes ({} transposes removed), {} bytes, from {} (sha256 {})",
                c.onnx_nodes,
                c.transposes_removed,
                c.onnx.len(),
                c.entry.display(),
                c.artifacts[0].sha256
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

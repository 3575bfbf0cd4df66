//! LiteRT (TensorFlow Lite), for `.tflite` models such as the ones MediaPipe Tasks run in the
//! page: through a documented subprocess, `python3` running `litert_driver.py` (embedded) with
//! the `ai-edge-litert` package's `Interpreter` (XNNPACK on the CPU, `threads` threads).
//!
//! tract has no TFLite front end for these models, and LiteRT has no C API package on
//! crates.io; the Python package ships the same runtime MediaPipe compiles to wasm. The driver
//! protocol (JSON lines over stdin/stdout) is described in `litert_driver.py`. `dur` is the
//! driver's `perf_counter_ns` around `Interpreter.invoke()` alone: the IPC is not measured, as
//! for the in-process engines. The interpreter is `$WEBINFER_PYTHON`, else `python3`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{EngineError, LoadedModel, Output, RunResult};
use crate::shapes::InputSpec;
use crate::tensor::{host_elem, HostTensor, TensorData};

const DRIVER: &str = include_str!("litert_driver.py");

fn python() -> String {
    std::env::var("WEBINFER_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// The `ai-edge-litert` package version the driver would use.
pub fn version() -> Result<String, EngineError> {
    let out = Command::new(python())
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('ai-edge-litert'))",
        ])
        .output()
        .map_err(|e| EngineError(format!("running {}: {e}", python())))?;
    if !out.status.success() {
        return Err(EngineError(format!(
            "the ai-edge-litert Python package is not installed for {} (pip install ai-edge-litert): {}",
            python(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A model loaded in a LiteRT driver process (killed on drop).
pub struct LitertModel {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    inputs: Vec<InputSpec>,
}

impl LitertModel {
    /// Starts the driver and loads the model bytes with `threads` threads.
    pub fn load(bytes: &[u8], threads: usize) -> Result<Self, EngineError> {
        let mut child = Command::new(python())
            .args(["-c", DRIVER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| EngineError(format!("starting {} for LiteRT: {e}", python())))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut m = LitertModel {
            child,
            stdin,
            stdout,
            inputs: Vec::new(),
        };
        let head = json!({"threads": threads.max(1), "model_bytes": bytes.len()});
        m.send_raw(format!("{head}\n").as_bytes())?;
        m.send_raw(bytes)?;
        let v = m.receive()?;
        m.inputs = parse_inputs(&v)?;
        Ok(m)
    }

    fn send_raw(&mut self, b: &[u8]) -> Result<(), EngineError> {
        self.stdin
            .write_all(b)
            .and_then(|_| self.stdin.flush())
            .map_err(|e| EngineError(format!("writing to the LiteRT driver: {e}")))
    }

    fn request(&mut self, req: &Value) -> Result<Value, EngineError> {
        self.send_raw(format!("{req}\n").as_bytes())?;
        self.receive()
    }

    fn receive(&mut self) -> Result<Value, EngineError> {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .map_err(|e| EngineError(format!("reading from the LiteRT driver: {e}")))?;
        if n == 0 {
            let status = self.child.try_wait().ok().flatten();
            return Err(EngineError(format!(
                "the LiteRT driver ended without answering ({})",
                status.map_or_else(|| "still running".to_owned(), |s| s.to_string())
            )));
        }
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| EngineError(format!("the LiteRT driver answered `{line}`: {e}")))?;
        if v["ok"] != true {
            return Err(EngineError(format!(
                "LiteRT: {}",
                v["error"].as_str().unwrap_or("unknown error")
            )));
        }
        Ok(v)
    }
}

/// The inputs a driver's load answer lists (`-1` dims are dynamic).
fn parse_inputs(v: &Value) -> Result<Vec<InputSpec>, EngineError> {
    let list = v["inputs"]
        .as_array()
        .ok_or_else(|| EngineError(format!("LiteRT driver: no inputs in {v}")))?;
    list.iter()
        .map(|i| {
            let dims = i["shape"]
                .as_array()
                .ok_or_else(|| EngineError(format!("LiteRT driver: input without shape: {i}")))?
                .iter()
                .map(|d| d.as_i64().and_then(|d| usize::try_from(d).ok()))
                .collect();
            let dtype = i["dtype"].as_str().unwrap_or("unknown").to_owned();
            Ok(InputSpec {
                name: i["name"].as_str().unwrap_or("").to_owned(),
                dims,
                is_f32: dtype == "float32",
                elem: host_elem(&dtype),
                dtype,
            })
        })
        .collect()
}

impl Drop for LitertModel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LoadedModel for LitertModel {
    fn inputs(&self) -> &[InputSpec] {
        &self.inputs
    }

    fn prepare_tensors(&mut self, inputs: Vec<HostTensor>) -> Result<(), EngineError> {
        let tensors: Vec<Value> = inputs.iter().map(tensor_json).collect();
        self.request(&json!({"cmd": "prepare", "tensors": tensors}))?;
        Ok(())
    }

    fn run(&mut self, collect: bool) -> Result<RunResult, EngineError> {
        let start = Instant::now();
        let v = self.request(&json!({"cmd": "run", "collect": collect}))?;
        let ns = v["dur_ns"]
            .as_u64()
            .ok_or_else(|| EngineError(format!("LiteRT driver: no dur_ns in {v}")))?;
        let outputs = v["outputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(output_of)
            .collect::<Result<_, _>>()?;
        Ok(RunResult {
            start,
            dur: Duration::from_nanos(ns),
            outputs,
        })
    }
}

/// A tensor as the driver reads it: shape, dtype name and little-endian bytes in hex.
fn tensor_json(t: &HostTensor) -> Value {
    json!({
        "shape": t.shape,
        "dtype": t.elem_type().as_str(),
        "hex": hex::encode(t.data.to_le_bytes()),
    })
}

/// An output the driver sent (same encoding as [`tensor_json`]; `hex` absent for a type it
/// does not copy).
fn output_of(o: &Value) -> Result<Output, EngineError> {
    let name = o["name"].as_str().unwrap_or("").to_owned();
    let shape: Vec<usize> = o["shape"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_u64().map(|d| d as usize))
        .collect();
    let elem = o["dtype"].as_str().and_then(host_elem);
    let (Some(elem), Some(h)) = (elem, o["hex"].as_str()) else {
        return Ok(Output {
            name,
            shape,
            data: Vec::new(),
            tensor: None,
        });
    };
    let bytes = hex::decode(h)
        .map_err(|e| EngineError(format!("LiteRT driver: output `{name}` bytes: {e}")))?;
    let data = TensorData::from_le_bytes(elem, &bytes).ok_or_else(|| {
        EngineError(format!(
            "LiteRT driver: output `{name}`: {} bytes are not whole {elem} values",
            bytes.len()
        ))
    })?;
    Ok(Output::from_tensor(name, HostTensor { shape, data }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_list_with_dynamic_dims() {
        let v = json!({"ok": true, "inputs": [
            {"name": "input", "shape": [1, 128, 128, 3], "dtype": "float32"},
            {"name": "ids", "shape": [-1, 16], "dtype": "int64"}]});
        let got = parse_inputs(&v).unwrap();
        assert_eq!(got[0].dims, vec![Some(1), Some(128), Some(128), Some(3)]);
        assert!(got[0].is_f32);
        assert_eq!(got[1].dims, vec![None, Some(16)]);
        assert!(!got[1].is_f32);
        assert_eq!(got[1].elem, Some(crate::tensor::ElemType::I64));
        assert!(parse_inputs(&json!({"ok": true})).is_err());
    }

    #[test]
    fn tensors_round_trip_through_the_driver_encoding() {
        let t = HostTensor {
            shape: vec![2],
            data: TensorData::I64(vec![-3, 1 << 40]),
        };
        let mut v = tensor_json(&t);
        v["name"] = json!("ids");
        let o = output_of(&v).unwrap();
        assert_eq!(o.tensor, Some(t));
        let f = output_of(&json!({"name": "s", "shape": [1], "dtype": "float32",
            "hex": hex::encode(1.5f32.to_le_bytes())}))
        .unwrap();
        assert_eq!(f.data, vec![1.5]);
        assert!(
            output_of(&json!({"name": "x", "shape": [1], "dtype": "float32", "hex": "00"}))
                .is_err()
        );
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let e = match LitertModel::load(b"not a tflite model", 1) {
            Ok(_) => panic!("garbage loaded"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("LiteRT"), "{e}");
    }
}

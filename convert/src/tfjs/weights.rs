//! Decodes the weight shards into tensors, as tfjs-core's `decodeWeights`
//! (`io_utils.ts`) does at load time:
//!
//! - the shards of every group are concatenated, group after group, and
//!   the manifest's weights are read back to back from that buffer;
//! - `float32`/`int32` are 4 bytes, `bool` 1 byte (0 or not), `string` a
//!   u32 length and bytes per element, `complex64` 8 bytes;
//! - `quantization.dtype` `uint8`/`uint16` with `scale` and `min`: a
//!   `float32` weight is `stored * scale + min`, computed in float64 then
//!   rounded to float32 (JavaScript numbers, then a `Float32Array`); an
//!   `int32` weight is `Math.round(stored * scale + min)`;
//! - `quantization.dtype` `float16` (float32 weights only): each half is
//!   widened exactly ([`super::float16`]).
//!
//! Weights come out as float32, int32 or bool tensors, which is what the
//! page computes with.

use std::collections::HashMap;

use super::float16::f16_to_f32;
use super::model_json::WeightSpec;
use crate::tensor::{DType, Tensor};

/// The bytes one weight occupies in the concatenated shards, starting at
/// `at` (string weights have variable length).
fn byte_len(spec: &WeightSpec, data: &[u8], at: usize) -> Result<usize, String> {
    let n: usize = spec.shape.iter().product();
    if let Some(q) = &spec.quantization {
        return match q.dtype.as_str() {
            "uint8" => Ok(n),
            "uint16" | "float16" => Ok(2 * n),
            other => Err(format!(
                "weight `{}` has unknown quantization dtype `{other}` (TF.js knows uint8, uint16, float16)",
                spec.name
            )),
        };
    }
    Ok(match spec.dtype.as_str() {
        "float32" | "int32" => 4 * n,
        "bool" | "uint8" => n,
        "complex64" => 8 * n,
        "string" => {
            let mut len = 0usize;
            for _ in 0..n {
                let p = at + len;
                let b = data.get(p..p + 4).ok_or_else(|| {
                    format!(
                        "weight `{}`: the shards end inside a string length",
                        spec.name
                    )
                })?;
                len += 4 + u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
            }
            len
        }
        other => {
            return Err(format!(
                "weight `{}` has unsupported dtype `{other}`",
                spec.name
            ))
        }
    })
}

/// JavaScript's `Math.round`: the nearest integer, halves toward +∞.
fn js_round(x: f64) -> f64 {
    let f = x.floor();
    if x - f >= 0.5 {
        f + 1.0
    } else {
        f
    }
}

fn decode_one(spec: &WeightSpec, bytes: &[u8]) -> Result<Tensor, String> {
    let dims = spec.shape.clone();
    let name = &spec.name;
    if let Some(q) = &spec.quantization {
        let stored: Vec<u32> = match q.dtype.as_str() {
            "uint8" => bytes.iter().map(|&b| u32::from(b)).collect(),
            _ => bytes
                .chunks_exact(2)
                .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
        };
        if q.dtype == "float16" {
            if spec.dtype != "float32" {
                return Err(format!(
                    "weight `{name}` is quantized with float16, which TF.js allows only for float32 weights, not {}",
                    spec.dtype
                ));
            }
            let v: Vec<f32> = stored.iter().map(|&h| f16_to_f32(h as u16)).collect();
            return Ok(Tensor::f32(dims, &v));
        }
        let (scale, min) = match (q.scale, q.min) {
            (Some(s), Some(m)) => (s, m),
            _ => {
                return Err(format!(
                    "weight `{name}` with quantization {} has no `min` and `scale`",
                    q.dtype
                ))
            }
        };
        return match spec.dtype.as_str() {
            "float32" => {
                let v: Vec<f32> = stored
                    .iter()
                    .map(|&s| (f64::from(s) * scale + min) as f32)
                    .collect();
                Ok(Tensor::f32(dims, &v))
            }
            "int32" => {
                let v: Vec<i32> = stored
                    .iter()
                    .map(|&s| js_round(f64::from(s) * scale + min) as i32)
                    .collect();
                Ok(Tensor::i32(dims, &v))
            }
            other => Err(format!(
                "weight `{name}`: TF.js dequantizes {} only into float32 or int32, not {other}",
                q.dtype
            )),
        };
    }
    match spec.dtype.as_str() {
        "float32" => Ok(Tensor {
            dtype: DType::F32,
            dims,
            bytes: bytes.to_vec(),
        }),
        "int32" => Ok(Tensor {
            dtype: DType::I32,
            dims,
            bytes: bytes.to_vec(),
        }),
        "bool" => Ok(Tensor {
            dtype: DType::Bool,
            dims,
            bytes: bytes.iter().map(|&b| u8::from(b != 0)).collect(),
        }),
        "string" => Ok(Tensor {
            dtype: DType::String,
            dims,
            bytes: Vec::new(),
        }),
        other => Err(format!(
            "weight `{name}` has dtype `{other}`, which has no ONNX mapping here"
        )),
    }
}

/// Decodes every weight of `specs` from the concatenated shard bytes.
/// Fails when the shards are shorter than the manifest says; trailing
/// bytes are allowed (TF.js ignores them too).
pub fn decode(specs: &[WeightSpec], data: &[u8]) -> Result<HashMap<String, Tensor>, String> {
    let mut out = HashMap::with_capacity(specs.len());
    let mut at = 0usize;
    for spec in specs {
        let len = byte_len(spec, data, at)?;
        let bytes = data.get(at..at + len).ok_or_else(|| {
            format!(
                "weight `{}` needs bytes {}..{} but the shards hold {} bytes",
                spec.name,
                at,
                at + len,
                data.len()
            )
        })?;
        out.insert(spec.name.clone(), decode_one(spec, bytes)?);
        at += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfjs::model_json::Quantization;

    fn spec(name: &str, shape: &[usize], dtype: &str, q: Option<(&str, f64, f64)>) -> WeightSpec {
        WeightSpec {
            name: name.into(),
            shape: shape.to_vec(),
            dtype: dtype.into(),
            quantization: q.map(|(d, scale, min)| Quantization {
                dtype: d.into(),
                scale: Some(scale),
                min: Some(min),
                original_dtype: None,
            }),
        }
    }

    #[test]
    fn decodes_back_to_back_with_quantization() {
        let mut data = Vec::new();
        data.extend(1.5f32.to_le_bytes());
        data.extend(2.5f32.to_le_bytes());
        data.extend([0u8, 10, 255]); // uint8 quantized
        data.extend(300u16.to_le_bytes()); // uint16 quantized
        data.extend(0x3c00u16.to_le_bytes()); // float16 1.0
        data.extend([4u8, 5]); // uint8 -> int32
        data.extend([1u8, 0, 2]); // bool
        let specs = vec![
            spec("a", &[2], "float32", None),
            spec("q8", &[3], "float32", Some(("uint8", 0.1, -1.0))),
            spec("q16", &[1], "float32", Some(("uint16", 0.01, 0.5))),
            WeightSpec {
                quantization: Some(Quantization {
                    dtype: "float16".into(),
                    scale: None,
                    min: None,
                    original_dtype: None,
                }),
                ..spec("h", &[1], "float32", None)
            },
            spec("qi", &[2], "int32", Some(("uint8", 0.5, 0.0))),
            spec("b", &[3], "bool", None),
        ];
        let w = decode(&specs, &data).unwrap();
        assert_eq!(w["a"].to_f32().unwrap(), vec![1.5, 2.5]);
        let q8 = w["q8"].to_f32().unwrap();
        assert_eq!(
            q8,
            vec![
                -1.0,
                (10.0f64 * 0.1 - 1.0) as f32,
                (255.0f64 * 0.1 - 1.0) as f32
            ]
        );
        assert_eq!(
            w["q16"].to_f32().unwrap(),
            vec![(300.0f64 * 0.01 + 0.5) as f32]
        );
        assert_eq!(w["h"].to_f32().unwrap(), vec![1.0]);
        // Math.round(2.0) = 2, Math.round(2.5) = 3
        assert_eq!(w["qi"].to_i64().unwrap(), vec![2, 3]);
        assert_eq!(w["b"].to_i64().unwrap(), vec![1, 0, 1]);
    }

    #[test]
    fn short_shards_are_an_error_naming_the_weight() {
        let e = decode(&[spec("k", &[4], "float32", None)], &[0; 12]).unwrap_err();
        assert!(e.contains("`k`") && e.contains("12 bytes"), "{e}");
    }

    #[test]
    fn js_round_rounds_halves_up() {
        assert_eq!(js_round(-2.5), -2.0);
        assert_eq!(js_round(2.5), 3.0);
        assert_eq!(js_round(-2.6), -3.0);
        assert_eq!(js_round(0.499_999_999_999_999_94), 0.0);
    }
}

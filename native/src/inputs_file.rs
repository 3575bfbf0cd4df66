//! Named input tensors in a file (`webinfer native --inputs FILE`), in the
//! [safetensors](https://huggingface.co/docs/safetensors) layout: an 8-byte
//! little-endian header length `N`, `N` bytes of JSON
//! `{"<name>": {"dtype": "F32", "shape": [1, 3], "data_offsets": [begin, end]}, …,
//! "__metadata__": {…}?}`, then the tensors' little-endian bytes, offsets
//! relative to the end of the header. dtypes: `F32`, `F16`, `F64`, `I8`,
//! `I16`, `I32`, `I64`, `U8`, `U16`, `U32`, `U64`, `BOOL`.
//!
//! Python writes it with `safetensors.numpy.save_file`; JavaScript with a
//! few lines (a JSON header and typed arrays' bytes). A page's captured
//! inputs (phase B of issue 13) are meant to land in this format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::tensor::{ElemType, HostTensor, TensorData};

/// A file that is not a valid tensors file.
#[derive(Debug, thiserror::Error)]
#[error("--inputs {path}: {reason}")]
pub struct InputsFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// Parses tensors from safetensors bytes; `path` names the file in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, HostTensor>, InputsFileError> {
    let err = |reason: String| InputsFileError {
        path: path.to_path_buf(),
        reason,
    };
    let n = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .ok_or_else(|| err("shorter than the 8-byte header length".into()))?;
    let n = usize::try_from(n).map_err(|_| err("header length does not fit".into()))?;
    let header = bytes.get(8..8usize.saturating_add(n)).ok_or_else(|| {
        err(format!(
            "header length {n} is past the end of the file ({} bytes)",
            bytes.len()
        ))
    })?;
    let data = &bytes[8 + n..];
    let v: Value =
        serde_json::from_slice(header).map_err(|e| err(format!("header is not JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| err("header is not a JSON object".into()))?;
    let mut out = BTreeMap::new();
    for (name, t) in obj {
        if name == "__metadata__" {
            continue;
        }
        let dtype = t
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or_else(|| err(format!("tensor `{name}` has no dtype")))?;
        let (elem, size) = ElemType::from_safetensors(dtype)
            .and_then(|t| Some((t, t.size()?)))
            .ok_or_else(|| {
                err(format!(
                    "tensor `{name}` has dtype {dtype}, which cannot be fed"
                ))
            })?;
        let shape: Vec<usize> = t
            .get("shape")
            .and_then(Value::as_array)
            .ok_or_else(|| err(format!("tensor `{name}` has no shape")))?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                err(format!(
                    "tensor `{name}` has a shape that is not a list of sizes"
                ))
            })?;
        let offs: Vec<usize> = t
            .get("data_offsets")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|o| o.as_u64().map(|o| o as usize))
                    .collect()
            })
            .unwrap_or_default();
        let [begin, end] = offs[..] else {
            return Err(err(format!(
                "tensor `{name}` has no [begin, end] data_offsets"
            )));
        };
        let raw = data
            .get(begin..end)
            .filter(|_| begin <= end)
            .ok_or_else(|| {
                err(format!(
                    "tensor `{name}`: bytes {begin}..{end} are past the end of the data"
                ))
            })?;
        let count: usize = shape.iter().product();
        if raw.len() != count * size {
            return Err(err(format!(
                "tensor `{name}` ({dtype} {shape:?}) needs {} bytes, has {}",
                count * size,
                raw.len()
            )));
        }
        let data = TensorData::from_le_bytes(elem, raw).expect("length checked");
        out.insert(name.clone(), HostTensor { shape, data });
    }
    Ok(out)
}

/// Reads a tensors file.
pub fn read(path: &Path) -> Result<BTreeMap<String, HostTensor>, InputsFileError> {
    let bytes = std::fs::read(path).map_err(|e| InputsFileError {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    parse(path, &bytes)
}

/// The safetensors bytes of `tensors` (names in the given order).
pub fn encode(tensors: &[(String, HostTensor)]) -> Vec<u8> {
    let mut header = Map::new();
    let mut data = Vec::new();
    for (name, t) in tensors {
        let b = t.data.to_le_bytes();
        header.insert(
            name.clone(),
            json!({
                "dtype": t.elem_type().safetensors_name(),
                "shape": t.shape,
                "data_offsets": [data.len(), data.len() + b.len()],
            }),
        );
        data.extend(b);
    }
    let mut h = serde_json::to_vec(&Value::Object(header)).expect("json");
    // Pad the header with spaces to 8-byte alignment, as safetensors does.
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_truncation() {
        let ts = vec![
            (
                "input_ids".to_owned(),
                HostTensor {
                    shape: vec![1, 3],
                    data: TensorData::I64(vec![101, 7, 102]),
                },
            ),
            (
                "sr".to_owned(),
                HostTensor {
                    shape: vec![],
                    data: TensorData::I64(vec![16000]),
                },
            ),
            ("x".to_owned(), HostTensor::f32(vec![2], vec![0.5, -1.0])),
        ];
        let b = encode(&ts);
        let back = parse(Path::new("t"), &b).unwrap();
        for (n, t) in &ts {
            assert_eq!(&back[n], t);
        }
        let e = parse(Path::new("t"), &b[..b.len() - 1]).unwrap_err();
        assert!(e.to_string().contains("past the end"), "{e}");
        assert!(parse(Path::new("t"), b"\x01").is_err());
    }
}

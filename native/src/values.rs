//! The values fed to each model input, of any element type, and a record of
//! how each was chosen (written into the baseline's `model_load` as
//! `input_values`).
//!
//! Rules, per input, first match wins:
//!
//! 1. `--inputs FILE` has a tensor of that name: its values (`file`).
//! 2. Float inputs (float32/16/64): the seeded uniform values of
//!    [`crate::input`] (`uniform`), one generator for all inputs in model
//!    order, so an all-float32 model gets exactly the documented input.
//! 3. Integer inputs used, directly or through `Cast`/`Unsqueeze`/`Squeeze`/
//!    `Reshape`/`Identity`/`Flatten`, as the indices of a `Gather` whose
//!    data is a constant (an embedding table): seeded integers in
//!    `[0, D)`, `D` the size of the gathered axis (the smallest such `D` when
//!    several gathers read the input) (`gather_range`). Token ids of a text
//!    encoder are this case: `input_ids` indexes the word embeddings,
//!    `token_type_ids` the token-type embeddings. The integer is the
//!    generator's next state modulo `D`.
//! 4. Integer scalars (or one-element inputs) the graph compares with
//!    `Equal` against a constant: that constant (`compared_constant`), the
//!    smallest when several. Silero VAD's `sr` is compared with 16000 to pick
//!    its 16 kHz branch, so it gets 16000 (8000 is its other valid value).
//! 5. Integer or bool inputs named `attention_mask` or ending in `mask`:
//!    ones, every position attended (`ones`).
//! 6. Rank-4 integer inputs with 1, 3 or 4 channels (last or second axis):
//!    image pixels, seeded integers in `[0, 256)` (`pixels`).
//!
//! Any other input is an error naming it and saying to pass its values with
//! `--inputs`: a value the model cannot accept would measure a different
//! computation (or none).

use std::collections::{BTreeMap, HashMap};

use prost::Message;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tract_onnx::pb;

use crate::input::Xorshift32;
use crate::shapes::InputSpec;
use crate::tensor::{ElemType, HostTensor, TensorData};
use webinfer_convert::tfjs::float16::f32_to_f16;

/// What the graph says about its inputs' valid values.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct InputFacts {
    /// Input → (smallest gathered axis size, the Gather node, the table).
    pub gather: HashMap<String, (u64, String, String)>,
    /// Input → constants it is compared with by `Equal`.
    pub compared: HashMap<String, Vec<i64>>,
}

const PASS_THROUGH: &[&str] = &[
    "Cast",
    "Unsqueeze",
    "Squeeze",
    "Reshape",
    "Identity",
    "Flatten",
];

fn tensor_ints(t: &pb::TensorProto) -> Vec<i64> {
    if !t.int64_data.is_empty() {
        return t.int64_data.clone();
    }
    if !t.int32_data.is_empty() {
        return t.int32_data.iter().map(|&v| i64::from(v)).collect();
    }
    match t.data_type {
        7 => t
            .raw_data
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8")))
            .collect(),
        6 => t
            .raw_data
            .chunks_exact(4)
            .map(|c| i64::from(i32::from_le_bytes(c.try_into().expect("4"))))
            .collect(),
        _ => Vec::new(),
    }
}

impl InputFacts {
    /// Reads the facts from ONNX model bytes (nothing when they do not
    /// parse: the engine reports that).
    pub fn from_onnx(bytes: &[u8]) -> InputFacts {
        let Ok(model) = pb::ModelProto::decode(bytes) else {
            return InputFacts::default();
        };
        let Some(g) = model.graph else {
            return InputFacts::default();
        };
        let inputs: Vec<&str> = g.input.iter().map(|i| i.name.as_str()).collect();
        let mut dims: HashMap<&str, &[i64]> = g
            .initializer
            .iter()
            .map(|t| (t.name.as_str(), &t.dims[..]))
            .collect();
        let mut consts: HashMap<&str, Vec<i64>> = g
            .initializer
            .iter()
            .map(|t| (t.name.as_str(), tensor_ints(t)))
            .collect();
        let mut origin: HashMap<&str, &str> = inputs.iter().map(|&i| (i, i)).collect();
        for n in &g.node {
            if n.op_type == "Constant" {
                if let (Some(out), Some(t)) = (
                    n.output.first(),
                    n.attribute
                        .iter()
                        .find(|a| a.name == "value")
                        .and_then(|a| a.t.as_ref()),
                ) {
                    dims.insert(out.as_str(), &t.dims[..]);
                    consts.insert(out.as_str(), tensor_ints(t));
                }
            }
            if PASS_THROUGH.contains(&n.op_type.as_str()) {
                if let (Some(i), Some(o)) = (n.input.first(), n.output.first()) {
                    if let Some(&src) = origin.get(i.as_str()) {
                        origin.insert(o.as_str(), src);
                    }
                }
            }
        }
        let mut facts = InputFacts::default();
        for n in &g.node {
            match n.op_type.as_str() {
                "Gather" if n.input.len() >= 2 => {
                    let Some(&src) = origin.get(n.input[1].as_str()) else {
                        continue;
                    };
                    let Some(d) = dims.get(n.input[0].as_str()) else {
                        continue;
                    };
                    let axis = n
                        .attribute
                        .iter()
                        .find(|a| a.name == "axis")
                        .map_or(0, |a| a.i);
                    let axis = if axis < 0 {
                        axis + d.len() as i64
                    } else {
                        axis
                    };
                    let Some(&size) = usize::try_from(axis).ok().and_then(|a| d.get(a)) else {
                        continue;
                    };
                    let Ok(size) = u64::try_from(size) else {
                        continue;
                    };
                    let e = facts.gather.entry(src.to_owned()).or_insert((
                        u64::MAX,
                        String::new(),
                        String::new(),
                    ));
                    if size < e.0 {
                        *e = (size, n.name.clone(), n.input[0].clone());
                    }
                }
                "Equal" if n.input.len() == 2 => {
                    for (a, b) in [(&n.input[0], &n.input[1]), (&n.input[1], &n.input[0])] {
                        if let (Some(&src), Some(k)) =
                            (origin.get(a.as_str()), consts.get(b.as_str()))
                        {
                            facts
                                .compared
                                .entry(src.to_owned())
                                .or_default()
                                .extend(k.iter().copied());
                        }
                    }
                }
                _ => {}
            }
        }
        facts
    }
}

/// One input's values and how they were chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    /// The tensor fed.
    pub tensor: HostTensor,
    /// The rule (`file`, `uniform`, `gather_range`, …).
    pub rule: &'static str,
    /// A sentence saying why these values.
    pub why: String,
}

/// An input no rule gives valid values for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "input `{name}` ({dtype} {shape:?}): {reason}; pass its values with --inputs FILE.safetensors"
)]
pub struct NoValues {
    /// The input.
    pub name: String,
    /// Its element type.
    pub dtype: String,
    /// The shape it would have had.
    pub shape: Vec<usize>,
    /// Why no rule applies.
    pub reason: String,
}

fn ints(t: ElemType, v: Vec<i64>) -> TensorData {
    match t {
        ElemType::I8 => TensorData::I8(v.into_iter().map(|x| x as i8).collect()),
        ElemType::I16 => TensorData::I16(v.into_iter().map(|x| x as i16).collect()),
        ElemType::I32 => TensorData::I32(v.into_iter().map(|x| x as i32).collect()),
        ElemType::U8 => TensorData::U8(v.into_iter().map(|x| x as u8).collect()),
        ElemType::U16 => TensorData::U16(v.into_iter().map(|x| x as u16).collect()),
        ElemType::U32 => TensorData::U32(v.into_iter().map(|x| x as u32).collect()),
        ElemType::U64 => TensorData::U64(v.into_iter().map(|x| x as u64).collect()),
        ElemType::Bool => TensorData::Bool(v.into_iter().map(|x| x != 0).collect()),
        _ => TensorData::I64(v),
    }
}

/// Chooses every input's values (see the module doc). `dims` are the
/// resolved shapes, `file` the `--inputs` tensors.
pub fn choose(
    specs: &[InputSpec],
    dims: &[Vec<usize>],
    facts: &InputFacts,
    file: Option<&BTreeMap<String, HostTensor>>,
) -> Result<Vec<Chosen>, NoValues> {
    let mut rng = Xorshift32::default();
    let mut out = Vec::with_capacity(specs.len());
    for (spec, shape) in specs.iter().zip(dims) {
        let n: usize = shape.iter().product();
        let fail = |reason: String| NoValues {
            name: spec.name.clone(),
            dtype: spec.dtype.clone(),
            shape: shape.clone(),
            reason,
        };
        if let Some(t) = file.and_then(|f| f.get(&spec.name)) {
            out.push(Chosen {
                tensor: t.clone(),
                rule: "file",
                why: "from --inputs".into(),
            });
            continue;
        }
        let Some(elem) = spec.elem else {
            return Err(fail("its type cannot be generated".into()));
        };
        if elem.is_float() {
            let v: Vec<f32> = (0..n).map(|_| rng.next_f32()).collect();
            let data = match elem {
                ElemType::F16 => TensorData::F16(v.iter().map(|&x| f32_to_f16(x)).collect()),
                ElemType::F64 => TensorData::F64(v.iter().map(|&x| f64::from(x)).collect()),
                _ => TensorData::F32(v),
            };
            out.push(Chosen {
                tensor: HostTensor {
                    shape: shape.clone(),
                    data,
                },
                rule: "uniform",
                why: "seeded uniform values in [0, 1) (xorshift32, docs/native.md)".into(),
            });
            continue;
        }
        let lname = spec.name.to_lowercase();
        let is_mask = lname == "attention_mask" || lname.ends_with("mask");
        if elem != ElemType::Bool {
            if let Some((d, node, table)) = facts.gather.get(&spec.name) {
                if *d == 0 {
                    return Err(fail(format!("it indexes `{table}`, which is empty")));
                }
                let v: Vec<i64> = (0..n)
                    .map(|_| i64::from(rng.next_u32()) % *d as i64)
                    .collect();
                out.push(Chosen {
                    tensor: HostTensor { shape: shape.clone(), data: ints(elem, v) },
                    rule: "gather_range",
                    why: format!("seeded integers in [0, {d}): it indexes `{table}` (size {d} on the gathered axis) in Gather `{node}`"),
                });
                continue;
            }
            if let Some(ks) = facts.compared.get(&spec.name) {
                if n == 1 {
                    let k = *ks.iter().min().expect("non-empty");
                    let mut all = ks.clone();
                    all.sort_unstable();
                    all.dedup();
                    out.push(Chosen {
                        tensor: HostTensor { shape: shape.clone(), data: ints(elem, vec![k]) },
                        rule: "compared_constant",
                        why: format!("{k}: the graph compares this input with {all:?} (Equal) to choose what it computes"),
                    });
                    continue;
                }
            }
        }
        if is_mask {
            out.push(Chosen {
                tensor: HostTensor {
                    shape: shape.clone(),
                    data: ints(elem, vec![1; n]),
                },
                rule: "ones",
                why: "ones: an attention mask with every position attended".into(),
            });
            continue;
        }
        let image =
            shape.len() == 4 && ([1, 3, 4].contains(&shape[3]) || [1, 3, 4].contains(&shape[1]));
        if image && elem != ElemType::Bool {
            let v: Vec<i64> = (0..n).map(|_| i64::from(rng.next_u32() % 256)).collect();
            out.push(Chosen {
                tensor: HostTensor { shape: shape.clone(), data: ints(elem, v) },
                rule: "pixels",
                why: "seeded integers in [0, 256): a rank-4 integer input with 1, 3 or 4 channels is read as image pixels".into(),
            });
            continue;
        }
        return Err(fail(
            "webinfer native cannot tell which values are valid for it (it is no embedding index, compared scalar, mask or image)"
                .into(),
        ));
    }
    Ok(out)
}

/// SHA-256 (hex) of every input's little-endian bytes, inputs concatenated
/// in order: for float32 inputs the digest of [`crate::input::inputs_sha256`].
pub fn digest(chosen: &[Chosen]) -> String {
    let mut h = Sha256::new();
    for c in chosen {
        h.update(c.tensor.data.to_le_bytes());
    }
    hex::encode(h.finalize())
}

/// The `input_values` field of the baseline's `model_load`.
pub fn describe(specs: &[InputSpec], chosen: &[Chosen]) -> Value {
    Value::Array(
        specs
            .iter()
            .zip(chosen)
            .map(|(s, c)| {
                json!({
                    "name": s.name,
                    "dtype": c.tensor.elem_type().as_str(),
                    "shape": c.tensor.shape,
                    "rule": c.rule,
                    "why": c.why,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, elem: ElemType) -> InputSpec {
        InputSpec {
            name: name.into(),
            dims: vec![],
            dtype: elem.as_str().into(),
            is_f32: elem == ElemType::F32,
            elem: Some(elem),
        }
    }

    #[test]
    fn rules_in_order() {
        let mut facts = InputFacts::default();
        facts
            .gather
            .insert("input_ids".into(), (30, "g".into(), "emb".into()));
        facts.compared.insert("sr".into(), vec![16000, 8000]);
        let specs = vec![
            spec("x", ElemType::F32),
            spec("input_ids", ElemType::I64),
            spec("sr", ElemType::I64),
            spec("attention_mask", ElemType::I64),
            spec("image", ElemType::I32),
        ];
        let dims = vec![vec![2], vec![1, 50], vec![], vec![1, 50], vec![1, 4, 4, 3]];
        let c = choose(&specs, &dims, &facts, None).unwrap();
        let rules: Vec<&str> = c.iter().map(|c| c.rule).collect();
        assert_eq!(
            rules,
            [
                "uniform",
                "gather_range",
                "compared_constant",
                "ones",
                "pixels"
            ]
        );
        // Float values are the documented ones.
        assert_eq!(
            c[0].tensor.as_f32().unwrap(),
            &crate::input::seeded_inputs(&[vec![2]])[0][..]
        );
        let TensorData::I64(ids) = &c[1].tensor.data else {
            panic!()
        };
        assert!(ids.iter().all(|&v| (0..30).contains(&v)));
        assert!(ids.iter().collect::<std::collections::HashSet<_>>().len() > 10);
        assert_eq!(c[2].tensor.data, TensorData::I64(vec![8000]));
        let TensorData::I32(px) = &c[4].tensor.data else {
            panic!()
        };
        assert!(px.iter().all(|&v| (0..256).contains(&v)));
        let e = choose(&[spec("k", ElemType::I64)], &[vec![3]], &facts, None).unwrap_err();
        assert!(e.to_string().contains("--inputs"), "{e}");
    }

    #[test]
    fn half_inputs_are_rounded_floats() {
        assert_eq!(f32_to_f16(0.5), 0x3800);
        assert_eq!(f32_to_f16(0.0), 0);
        for v in [0.1f32, 0.333, 0.999, 1e-5] {
            let back = webinfer_convert::tfjs::float16::f16_to_f32(f32_to_f16(v));
            // Half precision: 11 significant bits, subnormals below 2^-14.
            assert!(
                (back - v).abs() <= (v * 1e-3).max(2f32.powi(-25)),
                "{v} -> {back}"
            );
        }
    }
}

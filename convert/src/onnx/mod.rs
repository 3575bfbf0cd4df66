//! Writes the converter's graph as ONNX protobuf bytes: IR version
//! [`IR_VERSION`], default-domain opset [`OPSET`], initializers as
//! little-endian `raw_data`, graph inputs and outputs with element types
//! and the shapes the TF.js model declares.

pub mod proto;

use prost::Message;

use crate::ir::{Attr, Graph, ValueInfo};
use crate::tensor::Tensor;
use proto::{
    attribute_type, AttributeProto, Dimension, DimensionValue, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto,
    TypeProtoTensor, ValueInfoProto,
};

/// The ONNX IR version written (ONNX 1.10+; ONNX Runtime 1.30 and tract 0.23
/// read it).
pub const IR_VERSION: i64 = 8;

/// The default-domain opset the op mappings target.
pub const OPSET: i64 = 17;

fn tensor_proto(name: &str, t: &Tensor) -> TensorProto {
    TensorProto {
        dims: t.dims.iter().map(|&d| d as i64).collect(),
        data_type: t.dtype.onnx(),
        name: name.to_owned(),
        raw_data: t.bytes.clone(),
    }
}

fn attribute(name: &str, a: &Attr) -> AttributeProto {
    let mut p = AttributeProto {
        name: name.to_owned(),
        ..AttributeProto::default()
    };
    match a {
        Attr::Int(i) => {
            p.r#type = attribute_type::INT;
            p.i = *i;
        }
        Attr::Float(f) => {
            p.r#type = attribute_type::FLOAT;
            p.f = *f;
        }
        Attr::Ints(v) => {
            p.r#type = attribute_type::INTS;
            p.ints = v.clone();
        }
        Attr::Floats(v) => {
            p.r#type = attribute_type::FLOATS;
            p.floats = v.clone();
        }
        Attr::Str(s) => {
            p.r#type = attribute_type::STRING;
            p.s = s.as_bytes().to_vec();
        }
        Attr::Tensor(t) => {
            p.r#type = attribute_type::TENSOR;
            p.t = Some(tensor_proto("", t));
        }
    }
    p
}

fn value_info(v: &ValueInfo) -> ValueInfoProto {
    let shape = v.shape.as_ref().map(|dims| TensorShapeProto {
        dim: dims
            .iter()
            .enumerate()
            .map(|(i, d)| Dimension {
                value: Some(match d {
                    Some(n) if *n >= 0 => DimensionValue::DimValue(*n),
                    _ => DimensionValue::DimParam(format!("{}_d{i}", v.name)),
                }),
            })
            .collect(),
    });
    ValueInfoProto {
        name: v.name.clone(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: v.dtype.onnx(),
                shape,
            }),
        }),
    }
}

/// The `ModelProto` of `g`, with `metadata` as `metadata_props`.
pub fn model_proto(g: &Graph, doc: &str, metadata: &[(String, String)]) -> ModelProto {
    let graph = GraphProto {
        node: g
            .nodes
            .iter()
            .map(|n| NodeProto {
                input: n.inputs.clone(),
                output: n.outputs.clone(),
                name: n.name.clone(),
                op_type: n.op.clone(),
                attribute: n.attrs.iter().map(|(k, a)| attribute(k, a)).collect(),
                domain: String::new(),
            })
            .collect(),
        name: g.name.clone(),
        initializer: g
            .initializers
            .iter()
            .map(|(n, t)| tensor_proto(n, t))
            .collect(),
        doc_string: String::new(),
        input: g.inputs.iter().map(value_info).collect(),
        output: g.outputs.iter().map(value_info).collect(),
    };
    ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "webinfer-convert".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: doc.to_owned(),
        graph: Some(graph),
        metadata_props: metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
    }
}

/// The ONNX bytes of `g`.
pub fn encode(g: &Graph, doc: &str, metadata: &[(String, String)]) -> Vec<u8> {
    model_proto(g, doc, metadata).encode_to_vec()
}

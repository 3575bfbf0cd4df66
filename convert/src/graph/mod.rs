//! TF.js graph models (`format: "graph-model"`, a TF GraphDef in JSON) to
//! the converter's ONNX graph.
//!
//! - Inputs: the signature's inputs if it has some, else every
//!   `Placeholder`, with the declared dtype and shape (`-1` dims dynamic).
//! - Outputs: the signature's outputs in file order, else (as TF.js does)
//!   every node no other node consumes, `Const` and `NoOp` nodes left out.
//!   ONNX outputs carry the TF tensor names (`Identity`, `node:1`), inputs
//!   the placeholder names.
//! - Only nodes the outputs depend on are converted (TF.js executes no
//!   others). Before converting, a graph whose needed nodes include TF
//!   control flow (`Enter`, `Exit`, `Switch`, `Merge`, `LoopCond`,
//!   `NextIteration`, `TensorList*`, `TensorArray*`, `While`, `If`, function
//!   calls) is refused with [`ConvertError::ControlFlow`].
//! - `Const` nodes become initializers from the decoded weights; every
//!   other node goes through its op mapping ([`ops`]); an op without one is
//!   [`ConvertError::UnsupportedOp`].

pub mod node;
pub mod ops;

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::error::ConvertError;
use crate::ir::{Graph, Shape};
use crate::tensor::{DType, Tensor};
use crate::tfjs::model_json::ModelJson;
use node::{InputRef, TfNode};

/// TF ops that make up control flow (v1 loops and conds, tensor lists and
/// arrays, v2 functional ops).
pub const CONTROL_FLOW_OPS: &[&str] = &[
    "Enter",
    "Exit",
    "Switch",
    "Merge",
    "LoopCond",
    "NextIteration",
    "TensorListReserve",
    "TensorListFromTensor",
    "TensorListGetItem",
    "TensorListSetItem",
    "TensorListStack",
    "TensorListLength",
    "TensorListConcat",
    "TensorListConcatV2",
    "TensorListGather",
    "TensorListScatter",
    "TensorListScatterV2",
    "TensorListSplit",
    "TensorListPopBack",
    "TensorListPushBack",
    "TensorListResize",
    "TensorListElementShape",
    "EmptyTensorList",
    "TensorArrayV3",
    "TensorArrayReadV3",
    "TensorArrayWriteV3",
    "TensorArrayGatherV3",
    "TensorArrayScatterV3",
    "TensorArrayConcatV3",
    "TensorArraySplitV3",
    "TensorArraySizeV3",
    "TensorArrayCloseV3",
    "While",
    "StatelessWhile",
    "If",
    "StatelessIf",
    "PartitionedCall",
    "StatefulPartitionedCall",
];

/// The state shared by the op mappings while one graph is converted.
pub struct Ctx<'a> {
    /// The ONNX graph being built.
    pub g: Graph,
    /// IR values of converted TF nodes, per output port.
    values: HashMap<String, Vec<String>>,
    /// The decoded weights.
    weights: &'a HashMap<String, Tensor>,
}

impl Ctx<'_> {
    /// The IR value of the node's `i`-th data input.
    pub fn input(&self, n: &TfNode, i: usize) -> Result<String, String> {
        let r = n
            .inputs
            .get(i)
            .ok_or_else(|| format!("has {} inputs; input {i} is missing", n.inputs.len()))?;
        self.value_of(r)
    }

    /// The IR value of a TF tensor reference.
    pub fn value_of(&self, r: &InputRef) -> Result<String, String> {
        let ports = self
            .values
            .get(&r.node)
            .ok_or_else(|| format!("input `{}` is not converted yet", r.tensor_name()))?;
        ports.get(r.port).cloned().ok_or_else(|| {
            format!(
                "input `{}`: node `{}` has {} outputs",
                r.tensor_name(),
                r.node,
                ports.len()
            )
        })
    }

    /// The node's data inputs, all of them.
    pub fn inputs(&self, n: &TfNode) -> Result<Vec<String>, String> {
        (0..n.inputs.len()).map(|i| self.input(n, i)).collect()
    }

    /// The constant tensor behind input `i` (a `Const` node, possibly through
    /// `Identity`), or an error saying the mapping needs one.
    pub fn const_input(&self, n: &TfNode, i: usize, what: &str) -> Result<Tensor, String> {
        let v = self.input(n, i)?;
        self.g.const_value(&v).cloned().ok_or_else(|| {
            format!("input {i} ({what}) must be a constant for the ONNX mapping, and it is computed in the graph")
        })
    }

    /// The constant ints behind input `i`.
    pub fn const_ints(&self, n: &TfNode, i: usize, what: &str) -> Result<Vec<i64>, String> {
        self.const_input(n, i, what)?
            .to_i64()
            .ok_or_else(|| format!("input {i} ({what}) must hold integers"))
    }

    /// The element type of input `i` (from the producing value).
    pub fn input_dtype(&self, n: &TfNode, i: usize) -> Result<DType, String> {
        let v = self.input(n, i)?;
        self.g
            .dtype(&v)
            .ok_or_else(|| format!("the element type of input {i} is unknown"))
    }

    /// The element type of the node's `attr` (`T`, `dtype`, …), or of its
    /// first input when the attribute is absent.
    pub fn type_attr(&self, n: &TfNode, attr: &str) -> Result<DType, String> {
        if let Some(t) = n.dtype(attr) {
            return Ok(t);
        }
        if let Some(name) = n.dtype_name(attr) {
            return Err(format!(
                "attribute `{attr}` has type {name}, which has no ONNX mapping here"
            ));
        }
        self.input_dtype(n, 0)
    }
}

/// Parses a signature's tensor name (`node:0`).
fn tensor_ref(name: &str) -> Result<InputRef, String> {
    InputRef::parse(name).unwrap_or_else(|| Err(format!("`{name}` is a control reference")))
}

/// The nodes the outputs need, in an order where inputs come first, and a
/// node on a cycle if the graph has one.
fn needed_in_order<'n>(
    nodes: &'n HashMap<String, TfNode>,
    roots: &[InputRef],
) -> Result<(Vec<&'n TfNode>, Option<String>), String> {
    let mut order = Vec::new();
    let mut cycle: Option<String> = None;
    let mut state: HashMap<&str, u8> = HashMap::new(); // 1 = visiting, 2 = done
    let mut stack: Vec<(&str, usize)> = Vec::new();
    for r in roots {
        let Some((name, _)) = nodes.get_key_value(r.node.as_str()) else {
            return Err(format!("output `{}` names no node", r.tensor_name()));
        };
        if state.contains_key(name.as_str()) {
            continue;
        }
        stack.push((name, 0));
        state.insert(name, 1);
        while let Some((cur, next)) = stack.pop() {
            let node = &nodes[cur];
            if let Some(inp) = node.inputs.get(next) {
                stack.push((cur, next + 1));
                let Some((iname, _)) = nodes.get_key_value(inp.node.as_str()) else {
                    return Err(format!(
                        "node `{cur}` consumes `{}`, which is not in the graph",
                        inp.tensor_name()
                    ));
                };
                match state.get(iname.as_str()) {
                    None => {
                        state.insert(iname, 1);
                        stack.push((iname, 0));
                    }
                    // A back edge: TF loops are cycles through control-flow
                    // nodes, which the caller refuses with a clearer message
                    // than this one.
                    Some(1) => {
                        cycle.get_or_insert_with(|| cur.to_owned());
                    }
                    _ => {}
                }
            } else {
                state.insert(cur, 2);
                order.push(node);
            }
        }
    }
    Ok((order, cycle))
}

/// Converts a graph model with its decoded weights. `model` names the model
/// in errors.
pub fn convert(
    m: &ModelJson,
    weights: &HashMap<String, Tensor>,
    model: &str,
) -> Result<Graph, ConvertError> {
    let topo = &ConvertError::topology(model);
    let list = m
        .topology
        .get("node")
        .and_then(Value::as_array)
        .ok_or_else(|| topo("`modelTopology.node` is not a list".into()))?;
    let mut nodes: HashMap<String, TfNode> = HashMap::new();
    let mut file_order: Vec<String> = Vec::new();
    for v in list {
        let n = TfNode::from_json(v).map_err(topo)?;
        file_order.push(n.name.clone());
        if nodes.insert(n.name.clone(), n).is_some() {
            return Err(topo(format!(
                "two nodes are named `{}`",
                file_order.last().unwrap()
            )));
        }
    }

    // Inputs.
    let input_nodes: Vec<String> = if m.signature_inputs.is_empty() {
        file_order
            .iter()
            .filter(|n| nodes[*n].op.starts_with("Placeholder"))
            .cloned()
            .collect()
    } else {
        let mut v = Vec::new();
        for (_, t) in &m.signature_inputs {
            let r = tensor_ref(t).map_err(topo)?;
            if nodes.contains_key(&r.node) {
                v.push(r.node);
            }
        }
        v
    };

    // Outputs.
    let outputs: Vec<InputRef> = if m.signature_outputs.is_empty() {
        let consumed: HashSet<&str> = nodes
            .values()
            .flat_map(|n| n.inputs.iter().map(|r| r.node.as_str()))
            .collect();
        file_order
            .iter()
            .filter(|n| !consumed.contains(n.as_str()))
            .filter(|n| !matches!(nodes[*n].op.as_str(), "Const" | "NoOp"))
            .map(|n| InputRef {
                node: n.clone(),
                port: 0,
            })
            .collect()
    } else {
        let mut v = Vec::new();
        for (_, t) in &m.signature_outputs {
            v.push(tensor_ref(t).map_err(topo)?);
        }
        v
    };
    if outputs.is_empty() {
        return Err(topo("the graph has no outputs".into()));
    }

    let (order, cycle) = needed_in_order(&nodes, &outputs).map_err(topo)?;
    let flow: Vec<&&TfNode> = order
        .iter()
        .filter(|n| CONTROL_FLOW_OPS.contains(&n.op.as_str()))
        .collect();
    if let Some(first) = flow.first() {
        let mut ops: Vec<&str> = flow.iter().map(|n| n.op.as_str()).collect();
        ops.sort_unstable();
        ops.dedup();
        return Err(ConvertError::ControlFlow {
            model: model.to_owned(),
            node: first.name.clone(),
            op: first.op.clone(),
            count: flow.len(),
            ops: ops.join(", "),
        });
    }
    if let Some(at) = cycle {
        return Err(topo(format!("the graph has a cycle through node `{at}`")));
    }
    // Every needed op must have a mapping: report the first unmapped one
    // before doing any work.
    if let Some(n) = order.iter().find(|n| {
        !matches!(
            n.op.as_str(),
            "Const" | "Placeholder" | "PlaceholderWithDefault"
        ) && ops::lookup(&n.op).is_none()
    }) {
        return Err(ConvertError::UnsupportedOp {
            model: model.to_owned(),
            node: n.name.clone(),
            op: n.op.clone(),
        });
    }

    let mut ctx = Ctx {
        g: Graph::new(model),
        values: HashMap::new(),
        weights,
    };
    let out_names: Vec<String> = outputs.iter().map(InputRef::tensor_name).collect();
    for name in input_nodes.iter().chain(&out_names) {
        ctx.g.reserve(name);
    }
    for name in &input_nodes {
        let n = &nodes[name];
        let dtype = n
            .dtype("dtype")
            .ok_or_else(|| topo(format!("placeholder `{name}` has no supported `dtype`")))?;
        let shape: Option<Shape> = n.shape("shape");
        ctx.g.add_input(name, dtype, shape);
        ctx.values.insert(name.clone(), vec![name.clone()]);
    }

    for n in order {
        if ctx.values.contains_key(&n.name) {
            continue;
        }
        let op_err = |reason: String| ConvertError::Op {
            model: model.to_owned(),
            node: n.name.clone(),
            op: n.op.clone(),
            reason,
        };
        let produced = match n.op.as_str() {
            "Const" => {
                let t = ctx.weights.get(&n.name).cloned().ok_or_else(|| {
                    op_err("the weights manifest has no tensor of this name".into())
                })?;
                if t.dtype == DType::String {
                    return Err(op_err("string constants have no ONNX mapping here".into()));
                }
                vec![ctx.g.constant(&n.name, t)]
            }
            "Placeholder" | "PlaceholderWithDefault" => return Err(op_err(
                "this placeholder is not among the model's inputs (the signature leaves it out)"
                    .into(),
            )),
            op => {
                let mapping = ops::lookup(op).expect("checked above");
                (mapping.map)(&mut ctx, n).map_err(op_err)?
            }
        };
        ctx.values.insert(n.name.clone(), produced);
    }

    for (r, name) in outputs.iter().zip(&out_names) {
        let v = ctx.value_of(r).map_err(topo)?;
        ctx.g.add_output_from(v, name);
    }
    Ok(ctx.g)
}

//! The converter's graph: ONNX nodes over named values, with initializers
//! (constant tensors), each value's element type and, where known, its
//! static shape. Op mappings build it; the layout pass rewrites it; the
//! writer turns it into an ONNX `ModelProto`.

use std::collections::{HashMap, HashSet};

use crate::tensor::{DType, Tensor};

/// An ONNX node attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// `INT`.
    Int(i64),
    /// `FLOAT`.
    Float(f32),
    /// `INTS`.
    Ints(Vec<i64>),
    /// `FLOATS`.
    Floats(Vec<f32>),
    /// `STRING`.
    Str(String),
    /// `TENSOR`.
    Tensor(Tensor),
}

/// One ONNX node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The ONNX operator (`Conv`, `Transpose`, …), default domain.
    pub op: String,
    /// A unique node name.
    pub name: String,
    /// Input value names (`""` for an omitted optional input).
    pub inputs: Vec<String>,
    /// Output value names.
    pub outputs: Vec<String>,
    /// Attributes, in order.
    pub attrs: Vec<(String, Attr)>,
}

impl Node {
    /// The attribute `name`, if set.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }
}

/// A static shape: `None` for a dimension not known when converting.
pub type Shape = Vec<Option<i64>>;

/// A graph input or output.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueInfo {
    /// The value's name.
    pub name: String,
    /// Its element type.
    pub dtype: DType,
    /// Its shape, if the rank is known.
    pub shape: Option<Shape>,
}

/// The graph being built.
#[derive(Debug, Default, Clone)]
pub struct Graph {
    /// The graph's name.
    pub name: String,
    /// Inputs, in order.
    pub inputs: Vec<ValueInfo>,
    /// Outputs, in order.
    pub outputs: Vec<ValueInfo>,
    /// Nodes, in topological order.
    pub nodes: Vec<Node>,
    /// Constant tensors by value name, in creation order.
    pub initializers: Vec<(String, Tensor)>,
    init_index: HashMap<String, usize>,
    dtypes: HashMap<String, DType>,
    shapes: HashMap<String, Shape>,
    names: HashSet<String>,
}

/// Attribute list shorthand: `attrs(&[("axis", Attr::Int(1))])`.
pub fn attrs(list: &[(&str, Attr)]) -> Vec<(String, Attr)> {
    list.iter()
        .map(|(n, a)| ((*n).to_owned(), a.clone()))
        .collect()
}

impl Graph {
    /// An empty graph named `name`.
    pub fn new(name: &str) -> Graph {
        Graph {
            name: name.to_owned(),
            ..Graph::default()
        }
    }

    /// A name not used yet, based on `base`.
    pub fn fresh(&mut self, base: &str) -> String {
        let base = if base.is_empty() { "v" } else { base };
        if self.names.insert(base.to_owned()) {
            return base.to_owned();
        }
        let mut i = 1usize;
        loop {
            let n = format!("{base}_{i}");
            if self.names.insert(n.clone()) {
                return n;
            }
            i += 1;
        }
    }

    /// Reserves `name` exactly (graph inputs and outputs keep their TF
    /// names); false if it is taken.
    pub fn reserve(&mut self, name: &str) -> bool {
        self.names.insert(name.to_owned())
    }

    /// Declares a graph input.
    pub fn add_input(&mut self, name: &str, dtype: DType, shape: Option<Shape>) {
        self.reserve(name);
        self.dtypes.insert(name.to_owned(), dtype);
        if let Some(s) = &shape {
            self.shapes.insert(name.to_owned(), s.clone());
        }
        self.inputs.push(ValueInfo {
            name: name.to_owned(),
            dtype,
            shape,
        });
    }

    /// Adds a constant tensor; returns its value name.
    pub fn constant(&mut self, base: &str, t: Tensor) -> String {
        let name = self.fresh(base);
        self.dtypes.insert(name.clone(), t.dtype);
        self.shapes.insert(
            name.clone(),
            t.dims.iter().map(|&d| Some(d as i64)).collect(),
        );
        self.init_index
            .insert(name.clone(), self.initializers.len());
        self.initializers.push((name.clone(), t));
        name
    }

    /// A 1-D int64 constant (axes, shapes, pads, …).
    pub fn ints(&mut self, base: &str, values: &[i64]) -> String {
        self.constant(base, Tensor::i64_vec(values))
    }

    /// A scalar constant of `dtype`.
    pub fn scalar(&mut self, base: &str, dtype: DType, value: f64) -> String {
        self.constant(base, Tensor::scalar(dtype, value))
    }

    /// The constant tensor behind a value, if it is an initializer.
    pub fn const_value(&self, value: &str) -> Option<&Tensor> {
        self.init_index.get(value).map(|&i| &self.initializers[i].1)
    }

    /// Adds a node with one output of `dtype`; returns the output's name.
    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<(String, Attr)>,
        dtype: DType,
        base: &str,
    ) -> String {
        self.node_n(op, inputs, attrs, &[dtype], base)
            .pop()
            .expect("one output")
    }

    /// Adds a node with one output per entry of `dtypes`.
    pub fn node_n(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<(String, Attr)>,
        dtypes: &[DType],
        base: &str,
    ) -> Vec<String> {
        let outputs: Vec<String> = dtypes
            .iter()
            .enumerate()
            .map(|(i, &dt)| {
                let n = if dtypes.len() == 1 {
                    self.fresh(base)
                } else {
                    self.fresh(&format!("{base}:{i}"))
                };
                self.dtypes.insert(n.clone(), dt);
                n
            })
            .collect();
        let name = self.fresh(&format!("{base}#{op}"));
        self.nodes.push(Node {
            op: op.to_owned(),
            name,
            inputs: inputs.iter().map(|s| (*s).to_owned()).collect(),
            outputs: outputs.clone(),
            attrs,
        });
        outputs
    }

    /// The element type of a value, if known.
    pub fn dtype(&self, value: &str) -> Option<DType> {
        self.dtypes.get(value).copied()
    }

    /// Records a value's element type.
    pub fn set_dtype(&mut self, value: &str, dtype: DType) {
        self.dtypes.insert(value.to_owned(), dtype);
    }

    /// The static shape of a value, if known.
    pub fn shape(&self, value: &str) -> Option<&Shape> {
        self.shapes.get(value)
    }

    /// The rank of a value, if known.
    pub fn rank(&self, value: &str) -> Option<usize> {
        self.shapes.get(value).map(Vec::len)
    }

    /// Records a value's static shape.
    pub fn set_shape(&mut self, value: &str, shape: Shape) {
        self.shapes.insert(value.to_owned(), shape);
    }

    /// Declares a graph output (the value must exist).
    pub fn add_output(&mut self, name: &str) {
        let dtype = self.dtype(name).unwrap_or(DType::F32);
        let shape = self.shape(name).cloned();
        self.outputs.push(ValueInfo {
            name: name.to_owned(),
            dtype,
            shape,
        });
    }

    /// Declares value `v` as the graph output `name`: an `Identity` node `NAME#output` from
    /// `v` to `name`, which takes `v`'s element type (F32 when unknown) and static shape.
    pub fn add_output_from(&mut self, v: String, name: &str) {
        let dtype = self.dtype(&v).unwrap_or(DType::F32);
        let shape = self.shape(&v).cloned();
        self.nodes.push(Node {
            op: "Identity".into(),
            name: format!("{name}#output"),
            inputs: vec![v],
            outputs: vec![name.to_owned()],
            attrs: Vec::new(),
        });
        self.set_dtype(name, dtype);
        if let Some(s) = shape {
            self.set_shape(name, s);
        }
        self.add_output(name);
    }

    /// Nodes consuming each value: value name → indices into `nodes`.
    pub fn consumers(&self) -> HashMap<String, Vec<usize>> {
        let mut m: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            for inp in &n.inputs {
                if !inp.is_empty() {
                    m.entry(inp.clone()).or_default().push(i);
                }
            }
        }
        m
    }

    /// Removes nodes whose outputs nobody uses and unused initializers.
    pub fn prune(&mut self) {
        loop {
            let consumers = self.consumers();
            let outputs: HashSet<&str> = self.outputs.iter().map(|o| o.name.as_str()).collect();
            let before = self.nodes.len();
            self.nodes.retain(|n| {
                n.outputs
                    .iter()
                    .any(|o| outputs.contains(o.as_str()) || consumers.contains_key(o))
            });
            if self.nodes.len() == before {
                break;
            }
        }
        let consumers = self.consumers();
        let outputs: HashSet<String> = self.outputs.iter().map(|o| o.name.clone()).collect();
        self.initializers
            .retain(|(n, _)| consumers.contains_key(n) || outputs.contains(n));
        self.init_index = self
            .initializers
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), i))
            .collect();
    }

    /// Replaces every use of value `from` by `to` (nodes' inputs only).
    pub fn rename_uses(&mut self, from: &str, to: &str) {
        for n in &mut self.nodes {
            for i in &mut n.inputs {
                if i == from {
                    *i = to.to_owned();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_names_are_unique_and_prune_drops_dead_nodes() {
        let mut g = Graph::new("t");
        g.add_input("x", DType::F32, Some(vec![None, Some(3)]));
        let a = g.node("Relu", &["x"], vec![], DType::F32, "a");
        let b = g.node("Relu", &["x"], vec![], DType::F32, "a");
        assert_ne!(a, b);
        let c = g.ints("c", &[1]);
        let _dead = g.node("Unsqueeze", &[&b, &c], vec![], DType::F32, "d");
        g.add_output(&a);
        g.prune();
        assert_eq!(g.nodes.len(), 1);
        assert!(g.initializers.is_empty());
        assert_eq!(g.rank("x"), Some(2));
    }
}

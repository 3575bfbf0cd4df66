//! Removes the NHWC↔NCHW transposes the op mappings put around every
//! convolution, pool and resize, where they cancel. Rewrites, repeated until
//! none applies:
//!
//! 1. **Fold**: `Transpose(p2)` of `Transpose(p1)` becomes one `Transpose`
//!    of the composed permutation, or nothing when that is the identity.
//! 2. **Sink**: a node that commutes with an axis permutation, all of whose
//!    tensor inputs are `Transpose(P)` outputs (or constants, or scalars),
//!    is computed on the untransposed tensors and followed by one
//!    `Transpose(P)`: element-wise ops (constants are padded to the rank
//!    with leading 1s and permuted by `P⁻¹`, so broadcasting is unchanged;
//!    `Clip`'s bounds and scalars stay), `Pad` (pads permuted), `Concat`
//!    (axis mapped through `P`) and `Reduce*` with constant axes (axes
//!    mapped through `P`; with `keepdims = 0` the transpose after it keeps
//!    the remaining axes' order, and is dropped when that is the identity).
//!    A transpose is only sunk past a node when its other consumers are
//!    transposes that will fold away, so the count never grows.
//!
//! Each rewrite leaves the values the graph computes unchanged (a
//! permutation of axes commutes with those ops); only where the transposes
//! sit changes. Graph outputs keep their names and layout.

use std::collections::{HashMap, HashSet};

use crate::ir::{Attr, Graph, Node};
use crate::tensor::Tensor;

/// Element-wise ops whose every input broadcasts against the others.
const ELEMENTWISE: &[&str] = &[
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Max",
    "Min",
    "Sum",
    "PRelu",
    "Pow",
    "Where",
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "And",
    "Or",
    "Not",
    "Relu",
    "Sigmoid",
    "Tanh",
    "Elu",
    "Selu",
    "LeakyRelu",
    "Abs",
    "Neg",
    "Exp",
    "Log",
    "Sqrt",
    "Reciprocal",
    "Floor",
    "Ceil",
    "Round",
    "Sign",
    "Sin",
    "Cos",
    "Erf",
    "Softplus",
    "Softsign",
    "Cast",
    "Identity",
    "IsNaN",
    "Mod",
];

/// Reductions with an `axes` attribute (opset 17).
const REDUCE_ATTR: &[&str] = &["ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"];

fn perm_of(n: &Node) -> Option<Vec<usize>> {
    match n.attr("perm") {
        Some(Attr::Ints(p)) => p.iter().map(|&v| usize::try_from(v).ok()).collect(),
        _ => None,
    }
}

fn inverse(p: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; p.len()];
    for (i, &v) in p.iter().enumerate() {
        inv[v] = i;
    }
    inv
}

fn is_identity(p: &[usize]) -> bool {
    p.iter().enumerate().all(|(i, &v)| i == v)
}

fn count(g: &Graph) -> usize {
    g.nodes.iter().filter(|n| n.op == "Transpose").count()
}

/// Runs the rewrites; returns how many `Transpose` nodes fewer the graph has.
///
/// Two passes are tried and the one leaving fewer transposes is kept: the
/// strict one sinks a transpose only when its other consumers fold away;
/// the shared one also when they are themselves nodes it can sink through
/// (an activation like `x · relu6(x + 3)` reads its input twice), which
/// usually removes more but may leave a transpose alive for a consumer
/// that turns out not to be sinkable.
pub fn optimize(g: &mut Graph) -> usize {
    let before = count(g);
    let mut strict = g.clone();
    run(&mut strict, false);
    let mut shared = g.clone();
    run(&mut shared, true);
    *g = if count(&shared) < count(&strict) {
        shared
    } else {
        strict
    };
    before.saturating_sub(count(g))
}

fn run(g: &mut Graph, shared: bool) {
    for _ in 0..100_000 {
        let changed = fold(g) || sink(g, shared);
        if !changed {
            break;
        }
        g.prune();
    }
}

/// Producer index of each value.
fn producers(g: &Graph) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        for o in &n.outputs {
            m.insert(o.clone(), i);
        }
    }
    m
}

fn fold(g: &mut Graph) -> bool {
    let prod = producers(g);
    let outputs: HashSet<String> = g.outputs.iter().map(|o| o.name.clone()).collect();
    for i in 0..g.nodes.len() {
        let n = &g.nodes[i];
        if n.op != "Transpose" {
            continue;
        }
        let Some(p2) = perm_of(n) else { continue };
        let Some(&j) = prod.get(&n.inputs[0]) else {
            continue;
        };
        let m = &g.nodes[j];
        if m.op != "Transpose" {
            continue;
        }
        let Some(p1) = perm_of(m) else { continue };
        if p1.len() != p2.len() {
            continue;
        }
        // out[i] = mid[p2[i]] = in[p1[p2[i]]]
        let comp: Vec<usize> = p2.iter().map(|&k| p1[k]).collect();
        let src = m.inputs[0].clone();
        let out = n.outputs[0].clone();
        if is_identity(&comp) && !outputs.contains(&out) {
            g.rename_uses(&out, &src);
            g.nodes.remove(i);
        } else {
            let n = &mut g.nodes[i];
            n.inputs[0] = src;
            n.attrs = vec![(
                "perm".into(),
                Attr::Ints(comp.iter().map(|&v| v as i64).collect()),
            )];
            if is_identity(&comp) {
                n.op = "Identity".into();
                n.attrs.clear();
            }
        }
        return true;
    }
    false
}

/// Which inputs of node `n` are tensors that take part in the permutation
/// (the rest, like `Clip`'s bounds or `Pad`'s pads, stay as they are).
fn permuted_inputs(n: &Node) -> Option<Vec<usize>> {
    match n.op.as_str() {
        op if ELEMENTWISE.contains(&op) => Some((0..n.inputs.len()).collect()),
        "Clip" | "Pad" | "ReduceSum" => Some(vec![0]),
        op if REDUCE_ATTR.contains(&op) => Some(vec![0]),
        "Concat" => Some((0..n.inputs.len()).collect()),
        _ => None,
    }
}

/// Whether node `m` could be sunk through with permutation `perm`: it
/// commutes with permutations and its tensor inputs are constants or
/// transposes by `perm`.
fn sinkable_with(g: &Graph, prod: &HashMap<String, usize>, m: &Node, perm: &[usize]) -> bool {
    let Some(which) = permuted_inputs(m) else {
        return false;
    };
    m.outputs.len() == 1
        && which.iter().all(|&k| {
            let v = &m.inputs[k];
            match prod.get(v).map(|&j| &g.nodes[j]) {
                Some(t) if t.op == "Transpose" => perm_of(t).as_deref() == Some(perm),
                _ => g.const_value(v).is_some_and(|t| t.dims.len() <= perm.len()),
            }
        })
}

fn sink(g: &mut Graph, shared: bool) -> bool {
    let prod = producers(g);
    let consumers = g.consumers();
    let outputs: HashSet<String> = g.outputs.iter().map(|o| o.name.clone()).collect();
    for i in 0..g.nodes.len() {
        let n = &g.nodes[i];
        let Some(which) = permuted_inputs(n) else {
            continue;
        };
        if n.outputs.len() != 1 || n.inputs.iter().any(String::is_empty) {
            continue;
        }
        // The permutation of the first transposed input.
        let mut perm: Option<Vec<usize>> = None;
        let mut ok = true;
        let mut any_transposed = false;
        for &k in &which {
            let v = &n.inputs[k];
            let t = prod
                .get(v)
                .map(|&j| &g.nodes[j])
                .filter(|m| m.op == "Transpose");
            match t {
                Some(t) => {
                    let p = perm_of(t);
                    match (&perm, p) {
                        (_, None) => ok = false,
                        (None, Some(p)) => perm = Some(p),
                        (Some(q), Some(p)) if *q == p => {}
                        _ => ok = false,
                    }
                    // Other consumers of this transpose must fold away (or,
                    // in the shared pass, be sinkable themselves).
                    let tp = perm_of(t);
                    let others_fold = consumers.get(v).is_none_or(|cs| {
                        cs.iter().all(|&c| {
                            c == i || {
                                let m = &g.nodes[c];
                                let folds = m.op == "Transpose"
                                    && perm_of(m).zip(tp.clone()).is_some_and(|(a, b)| {
                                        a.len() == b.len()
                                            && is_identity(
                                                &a.iter().map(|&x| b[x]).collect::<Vec<_>>(),
                                            )
                                    });
                                folds
                                    || (shared
                                        && tp
                                            .as_deref()
                                            .is_some_and(|p| sinkable_with(g, &prod, m, p)))
                            }
                        })
                    }) && !outputs.contains(v);
                    ok &= others_fold;
                    any_transposed = true;
                }
                None => {
                    if g.const_value(v).is_none() {
                        ok = false;
                    }
                }
            }
            if !ok {
                break;
            }
        }
        let Some(perm) = perm else { continue };
        if !ok || !any_transposed {
            continue;
        }
        let rank = perm.len();
        let inv = inverse(&perm);
        // Constants must be permutable (rank ≤ the permutation's).
        if which.iter().any(|&k| {
            g.const_value(&n.inputs[k])
                .is_some_and(|t| t.dims.len() > rank)
        }) {
            continue;
        }
        if !rewrite(g, i, &which, &perm, &inv, &prod) {
            continue;
        }
        return true;
    }
    false
}

/// Rewrites node `i` onto the untransposed inputs and appends the
/// transpose after it. Returns false (and changes nothing) when the node's
/// attributes cannot be mapped.
fn rewrite(
    g: &mut Graph,
    i: usize,
    which: &[usize],
    perm: &[usize],
    inv: &[usize],
    prod: &HashMap<String, usize>,
) -> bool {
    let rank = perm.len();
    let n = g.nodes[i].clone();
    let map_axis = |a: i64| -> Option<i64> {
        let a = if a < 0 { a + rank as i64 } else { a };
        (0..rank as i64)
            .contains(&a)
            .then(|| perm[a as usize] as i64)
    };
    let mut new_attrs = n.attrs.clone();
    let mut extra_inputs: Vec<(usize, String)> = Vec::new();
    // The permutation of the node's output (None: no transpose needed).
    let mut out_perm: Option<Vec<usize>> = Some(perm.to_vec());
    match n.op.as_str() {
        "Concat" => {
            let Some(Attr::Int(a)) = n.attr("axis") else {
                return false;
            };
            let Some(b) = map_axis(*a) else { return false };
            new_attrs = vec![("axis".into(), Attr::Int(b))];
        }
        "Pad" => {
            let Some(t) = n.inputs.get(1).and_then(|p| g.const_value(p)) else {
                return false;
            };
            let Some(p) = t.to_i64() else { return false };
            if p.len() != 2 * rank || n.inputs.get(3).is_some_and(|a| !a.is_empty()) {
                return false;
            }
            let mut q = vec![0i64; 2 * rank];
            for k in 0..rank {
                q[perm[k]] = p[k];
                q[rank + perm[k]] = p[rank + k];
            }
            let name = g.ints(&format!("{}/pads_nchw", n.name), &q);
            extra_inputs.push((1, name));
        }
        op if REDUCE_ATTR.contains(&op) || op == "ReduceSum" => {
            let axes: Vec<i64> = if op == "ReduceSum" {
                match n
                    .inputs
                    .get(1)
                    .and_then(|a| g.const_value(a))
                    .and_then(Tensor::to_i64)
                {
                    Some(a) => a,
                    None => return false,
                }
            } else {
                match n.attr("axes") {
                    Some(Attr::Ints(a)) => a.clone(),
                    _ => return false,
                }
            };
            if axes.is_empty() {
                return false;
            }
            let Some(mapped) = axes
                .iter()
                .map(|&a| map_axis(a))
                .collect::<Option<Vec<i64>>>()
            else {
                return false;
            };
            let keep = !matches!(n.attr("keepdims"), Some(Attr::Int(0)));
            if op == "ReduceSum" {
                let name = g.ints(&format!("{}/axes_nchw", n.name), &mapped);
                extra_inputs.push((1, name));
            } else {
                for (k, a) in new_attrs.iter_mut() {
                    if k == "axes" {
                        *a = Attr::Ints(mapped.clone());
                    }
                }
            }
            if !keep {
                // Remaining output axes, in the transposed (original) space,
                // and where they land in the untransposed result.
                let norm: Vec<usize> = axes
                    .iter()
                    .map(|&a| {
                        if a < 0 {
                            (a + rank as i64) as usize
                        } else {
                            a as usize
                        }
                    })
                    .collect();
                let kept_t: Vec<usize> = (0..rank).filter(|a| !norm.contains(a)).collect();
                let mut kept_y: Vec<usize> = kept_t.iter().map(|&a| perm[a]).collect();
                let mut sorted = kept_y.clone();
                sorted.sort_unstable();
                for v in &mut kept_y {
                    *v = sorted.iter().position(|s| s == v).expect("present");
                }
                out_perm = (!is_identity(&kept_y)).then_some(kept_y);
            }
        }
        _ => {}
    }
    let mut new_inputs = n.inputs.clone();
    for &k in which {
        let v = &n.inputs[k];
        if let Some(&j) = prod.get(v) {
            if g.nodes[j].op == "Transpose" {
                new_inputs[k] = g.nodes[j].inputs[0].clone();
                continue;
            }
        }
        let t = g.const_value(v).expect("checked: a constant").clone();
        if t.dims.iter().all(|&d| d == 1) {
            continue;
        }
        let mut dims = vec![1usize; rank - t.dims.len()];
        dims.extend(&t.dims);
        let t2 = t.reshaped(dims).transposed(inv);
        new_inputs[k] = g.constant(&format!("{v}/permuted"), t2);
    }
    for (k, v) in extra_inputs {
        new_inputs[k] = v;
    }
    let out = n.outputs[0].clone();
    let dt = g.dtype(&out).unwrap_or(crate::tensor::DType::F32);
    let shape = g.shape(&out).cloned();
    let mid = g.fresh(&format!("{out}/untransposed"));
    g.set_dtype(&mid, dt);
    {
        let node = &mut g.nodes[i];
        node.inputs = new_inputs;
        node.attrs = new_attrs;
        node.outputs = vec![mid.clone()];
    }
    let (op, attrs) = match out_perm {
        Some(p) => (
            "Transpose",
            vec![(
                "perm".to_owned(),
                Attr::Ints(p.iter().map(|&v| v as i64).collect()),
            )],
        ),
        None => ("Identity", vec![]),
    };
    let name = g.fresh(&format!("{out}#sunk_transpose"));
    g.nodes.insert(
        i + 1,
        Node {
            op: op.into(),
            name,
            inputs: vec![mid],
            outputs: vec![out.clone()],
            attrs,
        },
    );
    if let Some(s) = shape {
        g.set_shape(&out, s);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::attrs;
    use crate::tensor::DType;

    fn t(g: &mut Graph, x: &str, p: &[i64]) -> String {
        g.node(
            "Transpose",
            &[x],
            attrs(&[("perm", Attr::Ints(p.to_vec()))]),
            DType::F32,
            "t",
        )
    }

    #[test]
    fn conv_relu_add_conv_keeps_one_transpose_pair() {
        let mut g = Graph::new("t");
        g.add_input("x", DType::F32, None);
        let a = t(&mut g, "x", &[0, 3, 1, 2]);
        let c1 = g.node("Conv", &[&a], vec![], DType::F32, "c1");
        let b = t(&mut g, &c1, &[0, 2, 3, 1]);
        let bias = g.constant("bias", Tensor::f32(vec![2], &[1.0, 2.0]));
        let s = g.node("Add", &[&b, &bias], vec![], DType::F32, "add");
        let r = g.node("Relu", &[&s], vec![], DType::F32, "relu");
        let d = t(&mut g, &r, &[0, 3, 1, 2]);
        let c2 = g.node("Conv", &[&d], vec![], DType::F32, "c2");
        let e = t(&mut g, &c2, &[0, 2, 3, 1]);
        g.add_output(&e);
        g.prune();
        let removed = optimize(&mut g);
        assert_eq!(removed, 2);
        let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.as_str()).collect();
        assert_eq!(
            ops,
            ["Transpose", "Conv", "Add", "Relu", "Conv", "Transpose"]
        );
        // The bias became [1, 2, 1, 1] for NCHW.
        let add = g.nodes.iter().find(|n| n.op == "Add").unwrap();
        let k = g.const_value(&add.inputs[1]).unwrap();
        assert_eq!(k.dims, vec![1, 2, 1, 1]);
    }

    #[test]
    fn global_mean_after_conv_needs_no_transpose() {
        let mut g = Graph::new("t");
        g.add_input("x", DType::F32, None);
        let b = t(&mut g, "x", &[0, 2, 3, 1]);
        let m = g.node(
            "ReduceMean",
            &[&b],
            attrs(&[("axes", Attr::Ints(vec![1, 2])), ("keepdims", Attr::Int(0))]),
            DType::F32,
            "mean",
        );
        g.add_output(&m);
        optimize(&mut g);
        g.prune();
        let mean = g.nodes.iter().find(|n| n.op == "ReduceMean").unwrap();
        assert_eq!(mean.inputs[0], "x");
        assert_eq!(mean.attr("axes"), Some(&Attr::Ints(vec![2, 3])));
        assert!(g.nodes.iter().all(|n| n.op != "Transpose"));
    }
}

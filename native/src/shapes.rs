//! Input shapes: the `--input-shape NAME=1x3x224x224` argument and the rule
//! that picks each input's shape.
//!
//! For every model input, in this order: the shape given with
//! `--input-shape` for that input's name; else the shape the page used for
//! the same model (from `--from-trace`, see [`crate::from_trace`]); else the
//! model's own shape with every dynamic dimension set to 1.

use std::fmt;
use std::str::FromStr;

/// A model input as an engine declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// The input's name.
    pub name: String,
    /// Dimensions; `None` where the model leaves one dynamic.
    pub dims: Vec<Option<usize>>,
    /// The element type as the engine names it.
    pub dtype: String,
    /// Whether the element type is 32-bit float.
    pub is_f32: bool,
    /// The element type, when it is one inputs can be made of (numeric or
    /// bool; `None` for strings, sequences, maps).
    pub elem: Option<crate::tensor::ElemType>,
}

/// One `--input-shape NAME=1x3x224x224` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeArg {
    /// The input's name.
    pub name: String,
    /// Its dimensions.
    pub dims: Vec<usize>,
}

/// A malformed `--input-shape` value.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("--input-shape `{value}`: {reason} (expected NAME=1x3x224x224)")]
pub struct ShapeArgError {
    /// The value as given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for ShapeArg {
    type Err = ShapeArgError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| ShapeArgError {
            value: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (name, dims) = s
            .rsplit_once('=')
            .ok_or_else(|| err("no `=` between the input name and the shape"))?;
        if name.is_empty() {
            return Err(err("empty input name"));
        }
        let dims = parse_dims(dims).map_err(|r| err(&r))?;
        Ok(ShapeArg {
            name: name.to_owned(),
            dims,
        })
    }
}

/// Parses `1x3x224x224` (a lone `x`-separated list; `""` or `scalar` is a
/// scalar).
pub fn parse_dims(s: &str) -> Result<Vec<usize>, String> {
    if s.is_empty() || s == "scalar" {
        return Ok(Vec::new());
    }
    s.split(['x', 'X'])
        .map(|d| {
            d.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{d}` is not a dimension"))
        })
        .collect()
}

/// Formats dims as `1x3x224x224` (`scalar` for none).
pub struct Dims<'a>(pub &'a [usize]);

impl fmt::Display for Dims<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("scalar");
        }
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("x")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Formats a list of named shapes as `x=1x3x8x8, y=2`.
pub fn describe(specs: &[InputSpec], shapes: &[Vec<usize>]) -> String {
    specs
        .iter()
        .zip(shapes)
        .map(|(s, d)| format!("{}={}", s.name, Dims(d)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where an input's shape came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeSource {
    /// `--input-shape`.
    Argument,
    /// The page's `infer.input_shapes` in `--from-trace`.
    Trace,
    /// The model, dynamic dimensions set to 1.
    Model,
}

/// Picks the shape of every input (see the module doc). `from_trace` is the
/// page's shapes for this model, positional like `infer.input_shapes`
/// (`None` entries for dimensions it did not record).
pub fn resolve(
    specs: &[InputSpec],
    args: &[ShapeArg],
    from_trace: Option<&[Vec<Option<usize>>]>,
) -> Vec<(Vec<usize>, ShapeSource)> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            if let Some(arg) = args.iter().rev().find(|a| a.name == spec.name) {
                return (arg.dims.clone(), ShapeSource::Argument);
            }
            if let Some(shape) = from_trace.and_then(|t| t.get(i)) {
                if shape.len() == spec.dims.len() || spec.dims.is_empty() {
                    let dims = shape
                        .iter()
                        .zip(spec.dims.iter().chain(std::iter::repeat(&None)))
                        .map(|(t, m)| t.or(*m).unwrap_or(1))
                        .collect();
                    return (dims, ShapeSource::Trace);
                }
            }
            (
                spec.dims.iter().map(|d| d.unwrap_or(1)).collect(),
                ShapeSource::Model,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, dims: &[Option<usize>]) -> InputSpec {
        InputSpec {
            name: name.into(),
            dims: dims.to_vec(),
            dtype: "f32".into(),
            is_f32: true,
            elem: Some(crate::tensor::ElemType::F32),
        }
    }

    #[test]
    fn parses_shape_args() {
        assert_eq!(
            "x=1x3x224x224".parse::<ShapeArg>().unwrap(),
            ShapeArg {
                name: "x".into(),
                dims: vec![1, 3, 224, 224]
            }
        );
        assert_eq!(
            "a=b=2".parse::<ShapeArg>().unwrap(),
            ShapeArg {
                name: "a=b".into(),
                dims: vec![2]
            }
        );
        assert_eq!("s=".parse::<ShapeArg>().unwrap().dims, Vec::<usize>::new());
        let e = "x=1x?x3".parse::<ShapeArg>().unwrap_err();
        assert!(e.to_string().contains("`?` is not a dimension"), "{e}");
        assert!("1x3".parse::<ShapeArg>().is_err());
        assert!("=1x3".parse::<ShapeArg>().is_err());
    }

    #[test]
    fn argument_beats_trace_beats_model() {
        let specs = [
            spec("a", &[None, Some(3), None, None]),
            spec("b", &[None, Some(2)]),
        ];
        let args = ["a=1x3x32x32".parse().unwrap()];
        let trace = vec![
            vec![Some(1), Some(3), Some(64), Some(64)],
            vec![Some(4), None],
        ];
        let got = resolve(&specs, &args, Some(&trace));
        assert_eq!(got[0], (vec![1, 3, 32, 32], ShapeSource::Argument));
        assert_eq!(got[1], (vec![4, 2], ShapeSource::Trace));
        let got = resolve(&specs, &[], None);
        assert_eq!(got[0], (vec![1, 3, 1, 1], ShapeSource::Model));
        assert_eq!(
            describe(&specs, &[vec![1, 3, 1, 1], vec![]]),
            "a=1x3x1x1, b=scalar"
        );
    }
}

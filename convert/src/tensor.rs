//! Element types and dense constant tensors (weights, attribute values), as
//! the converter holds them between reading TF.js weights and writing ONNX
//! initializers: an element type, dimensions and little-endian bytes.
//! [`DType`] is also the element type of `webinfer-native`'s host tensors
//! (which never hold strings).

use std::fmt;
use std::str::FromStr;

/// An element type, with its TF (`DT_*`), TF.js and ONNX names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 16-bit IEEE float.
    F16,
    /// 64-bit float.
    F64,
    /// Signed 8-bit integer.
    I8,
    /// Signed 16-bit integer.
    I16,
    /// Signed 32-bit integer.
    I32,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 8-bit integer.
    U8,
    /// Unsigned 16-bit integer.
    U16,
    /// Unsigned 32-bit integer.
    U32,
    /// Unsigned 64-bit integer.
    U64,
    /// Boolean (one byte per element).
    Bool,
    /// Strings (TF.js string weights: decoded, never written to ONNX).
    String,
}

impl DType {
    /// Every type, numeric ones first.
    pub const ALL: [DType; 13] = [
        DType::F32,
        DType::F16,
        DType::F64,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::Bool,
        DType::String,
    ];

    /// The `TensorProto.DataType` number.
    pub fn onnx(self) -> i32 {
        match self {
            DType::F32 => 1,
            DType::U8 => 2,
            DType::I8 => 3,
            DType::U16 => 4,
            DType::I16 => 5,
            DType::I32 => 6,
            DType::I64 => 7,
            DType::String => 8,
            DType::Bool => 9,
            DType::F16 => 10,
            DType::F64 => 11,
            DType::U32 => 12,
            DType::U64 => 13,
        }
    }

    /// The type of a TF `DataType` name (`DT_FLOAT`, `DT_INT32`, …).
    pub fn from_tf(name: &str) -> Option<DType> {
        Some(match name {
            "DT_FLOAT" => DType::F32,
            "DT_HALF" => DType::F16,
            "DT_DOUBLE" => DType::F64,
            "DT_INT8" => DType::I8,
            "DT_INT16" => DType::I16,
            "DT_INT32" => DType::I32,
            "DT_INT64" => DType::I64,
            "DT_UINT8" => DType::U8,
            "DT_UINT16" => DType::U16,
            "DT_UINT32" => DType::U32,
            "DT_UINT64" => DType::U64,
            "DT_BOOL" => DType::Bool,
            "DT_STRING" => DType::String,
            _ => return None,
        })
    }

    /// The type of a TF.js / Keras dtype name (`float32`, `int32`, `bool`, …).
    pub fn from_tfjs(name: &str) -> Option<DType> {
        Some(match name {
            "float32" => DType::F32,
            "float16" => DType::F16,
            "float64" => DType::F64,
            "int8" => DType::I8,
            "int16" => DType::I16,
            "int32" => DType::I32,
            "int64" => DType::I64,
            "uint8" => DType::U8,
            "uint16" => DType::U16,
            "bool" => DType::Bool,
            "string" => DType::String,
            _ => return None,
        })
    }

    /// Bytes per element (`None` for strings).
    pub fn size(self) -> Option<usize> {
        Some(match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::F16 | DType::I16 | DType::U16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
            DType::String => return None,
        })
    }

    /// Whether this is a floating-point type.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::F64)
    }

    /// Whether this is an integer type (not bool).
    pub fn is_int(self) -> bool {
        matches!(
            self,
            DType::I8
                | DType::I16
                | DType::I32
                | DType::I64
                | DType::U8
                | DType::U16
                | DType::U32
                | DType::U64
        )
    }

    /// The lower-case name (`float32`, `int64`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F16 => "float16",
            DType::F64 => "float64",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::Bool => "bool",
            DType::String => "string",
        }
    }

    /// The safetensors dtype name (`F32`, `I64`, `BOOL`, …; `None` for
    /// strings, which safetensors cannot hold).
    pub fn safetensors_name(self) -> Option<&'static str> {
        Some(match self {
            DType::F32 => "F32",
            DType::F16 => "F16",
            DType::F64 => "F64",
            DType::I8 => "I8",
            DType::I16 => "I16",
            DType::I32 => "I32",
            DType::I64 => "I64",
            DType::U8 => "U8",
            DType::U16 => "U16",
            DType::U32 => "U32",
            DType::U64 => "U64",
            DType::Bool => "BOOL",
            DType::String => return None,
        })
    }

    /// The type of a safetensors dtype name.
    pub fn from_safetensors(s: &str) -> Option<DType> {
        DType::ALL
            .into_iter()
            .find(|t| t.safetensors_name() == Some(s))
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DType {
    type Err = String;

    /// The inverse of [`DType::as_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown element type `{s}`"))
    }
}

/// A dense tensor: element type, dimensions (row-major) and little-endian
/// element bytes (empty for string tensors).
#[derive(Clone, PartialEq)]
pub struct Tensor {
    /// The element type.
    pub dtype: DType,
    /// The dimensions (empty: a scalar).
    pub dims: Vec<usize>,
    /// The elements, little-endian, row-major.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tensor({} {:?}, {} bytes)",
            self.dtype,
            self.dims,
            self.bytes.len()
        )
    }
}

impl Tensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A tensor of `dtype` from its elements' little-endian bytes, one
    /// `N`-byte array an element.
    fn from_elems<const N: usize>(
        dtype: DType,
        dims: Vec<usize>,
        elems: impl ExactSizeIterator<Item = [u8; N]>,
    ) -> Tensor {
        debug_assert_eq!(dims.iter().product::<usize>(), elems.len());
        Tensor {
            dtype,
            dims,
            bytes: elems.flatten().collect(),
        }
    }

    /// A float32 tensor.
    pub fn f32(dims: Vec<usize>, values: &[f32]) -> Tensor {
        Tensor::from_elems(DType::F32, dims, values.iter().map(|v| v.to_le_bytes()))
    }

    /// An int64 tensor.
    pub fn i64(dims: Vec<usize>, values: &[i64]) -> Tensor {
        Tensor::from_elems(DType::I64, dims, values.iter().map(|v| v.to_le_bytes()))
    }

    /// An int32 tensor.
    pub fn i32(dims: Vec<usize>, values: &[i32]) -> Tensor {
        Tensor::from_elems(DType::I32, dims, values.iter().map(|v| v.to_le_bytes()))
    }

    /// A 1-D int64 tensor.
    pub fn i64_vec(values: &[i64]) -> Tensor {
        Tensor::i64(vec![values.len()], values)
    }

    /// A scalar of `dtype` holding `value` (converted as `as` does).
    pub fn scalar(dtype: DType, value: f64) -> Tensor {
        let bytes = match dtype {
            DType::F32 => (value as f32).to_le_bytes().to_vec(),
            DType::F64 => value.to_le_bytes().to_vec(),
            DType::F16 => crate::tfjs::float16::f32_to_f16(value as f32)
                .to_le_bytes()
                .to_vec(),
            DType::I8 => (value as i8).to_le_bytes().to_vec(),
            DType::I16 => (value as i16).to_le_bytes().to_vec(),
            DType::I32 => (value as i32).to_le_bytes().to_vec(),
            DType::I64 => (value as i64).to_le_bytes().to_vec(),
            DType::U8 => (value as u8).to_le_bytes().to_vec(),
            DType::U16 => (value as u16).to_le_bytes().to_vec(),
            DType::U32 => (value as u32).to_le_bytes().to_vec(),
            DType::U64 => (value as u64).to_le_bytes().to_vec(),
            DType::Bool => vec![u8::from(value != 0.0)],
            DType::String => Vec::new(),
        };
        Tensor {
            dtype,
            dims: Vec::new(),
            bytes,
        }
    }

    /// The elements as float32 (`None` for a non-float tensor).
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        match self.dtype {
            DType::F32 => Some(
                self.bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            DType::F16 => Some(
                self.bytes
                    .chunks_exact(2)
                    .map(|c| crate::tfjs::float16::f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                    .collect(),
            ),
            DType::F64 => Some(
                self.bytes
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The elements as int64 (`None` for a non-integer, non-bool tensor).
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        let b = &self.bytes;
        Some(match self.dtype {
            DType::I8 => b.iter().map(|&v| i64::from(v as i8)).collect(),
            DType::U8 | DType::Bool => b.iter().map(|&v| i64::from(v)).collect(),
            DType::I16 => b
                .chunks_exact(2)
                .map(|c| i64::from(i16::from_le_bytes([c[0], c[1]])))
                .collect(),
            DType::U16 => b
                .chunks_exact(2)
                .map(|c| i64::from(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            DType::I32 => b
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            DType::U32 => b
                .chunks_exact(4)
                .map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            DType::I64 => b
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
            DType::U64 => b
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")) as i64)
                .collect(),
            _ => return None,
        })
    }

    /// The elements as float64, whatever the numeric type.
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        if let Some(v) = self.to_f32() {
            if self.dtype == DType::F64 {
                return Some(
                    self.bytes
                        .chunks_exact(8)
                        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                        .collect(),
                );
            }
            return Some(v.into_iter().map(f64::from).collect());
        }
        self.to_i64()
            .map(|v| v.into_iter().map(|x| x as f64).collect())
    }

    /// The same values as int64 (for ONNX inputs that must be int64).
    pub fn cast_i64(&self) -> Option<Tensor> {
        self.to_i64().map(|v| Tensor::i64(self.dims.clone(), &v))
    }

    /// The same bytes under new dimensions (same element count).
    pub fn reshaped(&self, dims: Vec<usize>) -> Tensor {
        debug_assert_eq!(dims.iter().product::<usize>(), self.len());
        Tensor {
            dtype: self.dtype,
            dims,
            bytes: self.bytes.clone(),
        }
    }

    /// The tensor with its axes permuted: output axis `i` is input axis
    /// `perm[i]` (ONNX `Transpose` semantics).
    pub fn transposed(&self, perm: &[usize]) -> Tensor {
        assert_eq!(perm.len(), self.dims.len(), "perm rank");
        let size = self.dtype.size().expect("numeric tensor");
        let rank = self.dims.len();
        let out_dims: Vec<usize> = perm.iter().map(|&p| self.dims[p]).collect();
        let mut in_strides = vec![1usize; rank];
        for i in (0..rank.saturating_sub(1)).rev() {
            in_strides[i] = in_strides[i + 1] * self.dims[i + 1];
        }
        let n = self.len();
        let mut out = vec![0u8; n * size];
        let mut idx = vec![0usize; rank];
        for o in 0..n {
            let src: usize = (0..rank).map(|i| idx[i] * in_strides[perm[i]]).sum();
            out[o * size..(o + 1) * size]
                .copy_from_slice(&self.bytes[src * size..(src + 1) * size]);
            for i in (0..rank).rev() {
                idx[i] += 1;
                if idx[i] < out_dims[i] {
                    break;
                }
                idx[i] = 0;
            }
        }
        Tensor {
            dtype: self.dtype,
            dims: out_dims,
            bytes: out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_moves_elements() {
        // 2x3 -> 3x2
        let t = Tensor::f32(vec![2, 3], &[0., 1., 2., 3., 4., 5.]);
        let u = t.transposed(&[1, 0]);
        assert_eq!(u.dims, vec![3, 2]);
        assert_eq!(u.to_f32().unwrap(), vec![0., 3., 1., 4., 2., 5.]);
        // HWIO (1x2x2x3) -> OIHW
        let vals: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let w = Tensor::f32(vec![1, 2, 2, 3], &vals).transposed(&[3, 2, 0, 1]);
        assert_eq!(w.dims, vec![3, 2, 1, 2]);
        // w[o][i][0][x] = hwio[0][x][i][o] = x*6 + i*3 + o
        let got = w.to_f32().unwrap();
        for o in 0..3 {
            for i in 0..2 {
                for x in 0..2 {
                    assert_eq!(got[o * 4 + i * 2 + x], (x * 6 + i * 3 + o) as f32);
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for t in DType::ALL {
            assert_eq!(t.as_str().parse::<DType>(), Ok(t));
            if let Some(name) = t.safetensors_name() {
                assert_eq!(DType::from_safetensors(name), Some(t));
            }
        }
        assert_eq!(DType::String.safetensors_name(), None);
        assert!("float8".parse::<DType>().is_err());
    }

    #[test]
    fn conversions() {
        let t = Tensor::i32(vec![3], &[-1, 0, 7]);
        assert_eq!(t.to_i64().unwrap(), vec![-1, 0, 7]);
        assert_eq!(t.cast_i64().unwrap().dtype, DType::I64);
        assert!(t.to_f32().is_none());
        assert_eq!(Tensor::scalar(DType::I64, 3.0).to_i64().unwrap(), vec![3]);
        assert_eq!(Tensor::scalar(DType::F16, 1.5).to_f32().unwrap(), vec![1.5]);
    }
}

//! Host tensors of any element type the engines take as inputs and give as
//! outputs: float32/16/64, signed and unsigned integers, bool. The element
//! type is the converter's [`ElemType`] (`webinfer_convert::tensor::DType`);
//! its `string` type has no [`TensorData`] variant, so no host tensor holds
//! strings.

pub use webinfer_convert::tensor::DType as ElemType;
use webinfer_convert::tfjs::float16::f16_to_f32;

/// The element type a host tensor can have named `name` (`float32`,
/// `int64`, …): `None` for an unknown name and for `string`.
pub fn host_elem(name: &str) -> Option<ElemType> {
    name.parse::<ElemType>()
        .ok()
        .filter(|t| *t != ElemType::String)
}

/// Element values, one variant per type.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// float32.
    F32(Vec<f32>),
    /// float16 bits.
    F16(Vec<u16>),
    /// float64.
    F64(Vec<f64>),
    /// int8.
    I8(Vec<i8>),
    /// int16.
    I16(Vec<i16>),
    /// int32.
    I32(Vec<i32>),
    /// int64.
    I64(Vec<i64>),
    /// uint8.
    U8(Vec<u8>),
    /// uint16.
    U16(Vec<u16>),
    /// uint32.
    U32(Vec<u32>),
    /// uint64.
    U64(Vec<u64>),
    /// bool.
    Bool(Vec<bool>),
}

/// A tensor in host memory: shape (row-major) and values.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// The shape (empty: a scalar).
    pub shape: Vec<usize>,
    /// The values.
    pub data: TensorData,
}

macro_rules! each {
    ($d:expr, $v:ident => $e:expr) => {
        match $d {
            TensorData::F32($v) => $e,
            TensorData::F16($v) => $e,
            TensorData::F64($v) => $e,
            TensorData::I8($v) => $e,
            TensorData::I16($v) => $e,
            TensorData::I32($v) => $e,
            TensorData::I64($v) => $e,
            TensorData::U8($v) => $e,
            TensorData::U16($v) => $e,
            TensorData::U32($v) => $e,
            TensorData::U64($v) => $e,
            TensorData::Bool($v) => $e,
        }
    };
}

impl TensorData {
    /// The element type.
    pub fn elem_type(&self) -> ElemType {
        match self {
            TensorData::F32(_) => ElemType::F32,
            TensorData::F16(_) => ElemType::F16,
            TensorData::F64(_) => ElemType::F64,
            TensorData::I8(_) => ElemType::I8,
            TensorData::I16(_) => ElemType::I16,
            TensorData::I32(_) => ElemType::I32,
            TensorData::I64(_) => ElemType::I64,
            TensorData::U8(_) => ElemType::U8,
            TensorData::U16(_) => ElemType::U16,
            TensorData::U32(_) => ElemType::U32,
            TensorData::U64(_) => ElemType::U64,
            TensorData::Bool(_) => ElemType::Bool,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        each!(self, v => v.len())
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every value as float64 (float16 widened, bool 0/1).
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            TensorData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::F16(v) => v.iter().map(|&x| f64::from(f16_to_f32(x))).collect(),
            TensorData::F64(v) => v.clone(),
            TensorData::I8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::I16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::U16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::U32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::U64(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
        }
    }

    /// The values as little-endian bytes (bool as 0/1).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            TensorData::Bool(v) => v.iter().map(|&b| u8::from(b)).collect(),
            TensorData::U8(v) => v.clone(),
            TensorData::I8(v) => v.iter().map(|&x| x as u8).collect(),
            TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::F16(v) | TensorData::U16(v) => {
                v.iter().flat_map(|x| x.to_le_bytes()).collect()
            }
            TensorData::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// Values of type `t` from little-endian bytes; `None` if the length
    /// is not a multiple of the element size, or `t` is `string`.
    pub fn from_le_bytes(t: ElemType, b: &[u8]) -> Option<TensorData> {
        if !b.len().is_multiple_of(t.size()?) {
            return None;
        }
        macro_rules! chunks {
            ($ty:ty, $n:expr) => {
                b.chunks_exact($n)
                    .map(|c| <$ty>::from_le_bytes(c.try_into().expect("chunk")))
                    .collect()
            };
        }
        Some(match t {
            ElemType::F32 => TensorData::F32(chunks!(f32, 4)),
            ElemType::F16 => TensorData::F16(chunks!(u16, 2)),
            ElemType::F64 => TensorData::F64(chunks!(f64, 8)),
            ElemType::I8 => TensorData::I8(b.iter().map(|&x| x as i8).collect()),
            ElemType::I16 => TensorData::I16(chunks!(i16, 2)),
            ElemType::I32 => TensorData::I32(chunks!(i32, 4)),
            ElemType::I64 => TensorData::I64(chunks!(i64, 8)),
            ElemType::U8 => TensorData::U8(b.to_vec()),
            ElemType::U16 => TensorData::U16(chunks!(u16, 2)),
            ElemType::U32 => TensorData::U32(chunks!(u32, 4)),
            ElemType::U64 => TensorData::U64(chunks!(u64, 8)),
            ElemType::Bool => TensorData::Bool(b.iter().map(|&x| x != 0).collect()),
            ElemType::String => return None,
        })
    }
}

impl HostTensor {
    /// A float32 tensor.
    pub fn f32(shape: Vec<usize>, values: Vec<f32>) -> HostTensor {
        HostTensor {
            shape,
            data: TensorData::F32(values),
        }
    }

    /// The element type.
    pub fn elem_type(&self) -> ElemType {
        self.data.elem_type()
    }

    /// The float32 values, if this is a float32 tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_for_every_type() {
        let cases = vec![
            TensorData::F32(vec![1.5, -2.0]),
            TensorData::F16(vec![0x3c00, 0xc000]),
            TensorData::F64(vec![0.25]),
            TensorData::I8(vec![-3, 4]),
            TensorData::I16(vec![-300]),
            TensorData::I32(vec![-70000, 5]),
            TensorData::I64(vec![i64::MIN, 16000]),
            TensorData::U8(vec![255, 0]),
            TensorData::U16(vec![65535]),
            TensorData::U32(vec![4_000_000_000]),
            TensorData::U64(vec![u64::MAX]),
            TensorData::Bool(vec![true, false, true]),
        ];
        for d in cases {
            let t = d.elem_type();
            let back = TensorData::from_le_bytes(t, &d.to_le_bytes()).unwrap();
            assert_eq!(back, d, "{t}");
            assert_eq!(t.as_str().parse::<ElemType>().unwrap(), t);
            assert_eq!(
                t.safetensors_name().and_then(ElemType::from_safetensors),
                Some(t)
            );
        }
        assert_eq!(TensorData::F16(vec![0x3c00, 0x0001]).to_f64()[0], 1.0);
        assert_eq!(TensorData::F16(vec![0x0001]).to_f64()[0], 2f64.powi(-24));
        assert_eq!(TensorData::from_le_bytes(ElemType::String, &[]), None);
        assert_eq!(host_elem("string"), None);
        assert_eq!(host_elem("uint16"), Some(ElemType::U16));
    }
}

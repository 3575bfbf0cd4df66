//! Host tensors of any element type the engines take as inputs and give as
//! outputs: float32/16/64, signed and unsigned integers, bool.

use std::fmt;
use std::str::FromStr;

/// An element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElemType {
    /// 32-bit float.
    F32,
    /// 16-bit IEEE float (held as its bits).
    F16,
    /// 64-bit float.
    F64,
    /// Signed 8-bit.
    I8,
    /// Signed 16-bit.
    I16,
    /// Signed 32-bit.
    I32,
    /// Signed 64-bit.
    I64,
    /// Unsigned 8-bit.
    U8,
    /// Unsigned 16-bit.
    U16,
    /// Unsigned 32-bit.
    U32,
    /// Unsigned 64-bit.
    U64,
    /// Boolean.
    Bool,
}

impl ElemType {
    /// The lower-case name (`float32`, `int64`, `bool`, …), as in traces.
    pub fn as_str(self) -> &'static str {
        match self {
            ElemType::F32 => "float32",
            ElemType::F16 => "float16",
            ElemType::F64 => "float64",
            ElemType::I8 => "int8",
            ElemType::I16 => "int16",
            ElemType::I32 => "int32",
            ElemType::I64 => "int64",
            ElemType::U8 => "uint8",
            ElemType::U16 => "uint16",
            ElemType::U32 => "uint32",
            ElemType::U64 => "uint64",
            ElemType::Bool => "bool",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            ElemType::I8 | ElemType::U8 | ElemType::Bool => 1,
            ElemType::F16 | ElemType::I16 | ElemType::U16 => 2,
            ElemType::F32 | ElemType::I32 | ElemType::U32 => 4,
            ElemType::F64 | ElemType::I64 | ElemType::U64 => 8,
        }
    }

    /// Whether this is a floating-point type.
    pub fn is_float(self) -> bool {
        matches!(self, ElemType::F32 | ElemType::F16 | ElemType::F64)
    }

    /// The safetensors dtype name (`F32`, `I64`, `BOOL`, …).
    pub fn safetensors_name(self) -> &'static str {
        match self {
            ElemType::F32 => "F32",
            ElemType::F16 => "F16",
            ElemType::F64 => "F64",
            ElemType::I8 => "I8",
            ElemType::I16 => "I16",
            ElemType::I32 => "I32",
            ElemType::I64 => "I64",
            ElemType::U8 => "U8",
            ElemType::U16 => "U16",
            ElemType::U32 => "U32",
            ElemType::U64 => "U64",
            ElemType::Bool => "BOOL",
        }
    }

    /// The type of a safetensors dtype name.
    pub fn from_safetensors(s: &str) -> Option<ElemType> {
        Some(match s {
            "F32" => ElemType::F32,
            "F16" => ElemType::F16,
            "F64" => ElemType::F64,
            "I8" => ElemType::I8,
            "I16" => ElemType::I16,
            "I32" => ElemType::I32,
            "I64" => ElemType::I64,
            "U8" => ElemType::U8,
            "U16" => ElemType::U16,
            "U32" => ElemType::U32,
            "U64" => ElemType::U64,
            "BOOL" => ElemType::Bool,
            _ => return None,
        })
    }
}

impl fmt::Display for ElemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ElemType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ElemType::F32,
            ElemType::F16,
            ElemType::F64,
            ElemType::I8,
            ElemType::I16,
            ElemType::I32,
            ElemType::I64,
            ElemType::U8,
            ElemType::U16,
            ElemType::U32,
            ElemType::U64,
            ElemType::Bool,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| format!("unknown element type `{s}`"))
    }
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

/// The float32 value of half-precision bits (IEEE 754).
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let sign = (u32::from(h) & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    let bits = match exp {
        0 if mant == 0 => sign,
        0 => {
            let mut e: i32 = 113;
            let mut m = mant;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | ((e as u32) << 23) | ((m & 0x3ff) << 13)
        }
        0x1f => sign | 0x7f80_0000 | (mant << 13),
        _ => sign | ((exp + 112) << 23) | (mant << 13),
    };
    f32::from_bits(bits)
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
            TensorData::F16(v) => v.iter().map(|&x| f64::from(f16_bits_to_f32(x))).collect(),
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
    /// is not a multiple of the element size.
    pub fn from_le_bytes(t: ElemType, b: &[u8]) -> Option<TensorData> {
        if !b.len().is_multiple_of(t.size()) {
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
            assert_eq!(ElemType::from_safetensors(t.safetensors_name()), Some(t));
        }
        assert_eq!(TensorData::F16(vec![0x3c00, 0x0001]).to_f64()[0], 1.0);
        assert_eq!(f16_bits_to_f32(0x0001), 2f32.powi(-24));
    }
}

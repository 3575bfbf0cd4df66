//! IEEE 754 half precision ↔ single precision, bit for bit what TF.js's
//! `getFloat16Decoder` (tfjs-core `io_utils.ts`, the lookup tables of
//! "Fast Half Float Conversions", van der Zijp) produces: subnormal halves
//! become normal floats, infinities and NaNs keep their sign and payload.

/// The float32 value of the half-precision bits `h`.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = (u32::from(h) & 0x8000) << 16;
    let exp = (h >> 10) & 0x1f;
    let mant = u32::from(h & 0x3ff);
    let bits = match exp {
        0 if mant == 0 => sign,
        0 => {
            // Subnormal: normalize the mantissa.
            let mut e: i32 = 127 - 15 + 1;
            let mut m = mant;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | ((e as u32) << 23) | ((m & 0x3ff) << 13)
        }
        0x1f => sign | 0x7f80_0000 | (mant << 13),
        _ => sign | ((u32::from(exp) + 127 - 15) << 23) | (mant << 13),
    };
    f32::from_bits(bits)
}

/// The half-precision bits nearest to `v` (round to nearest even; used only
/// to build test data and scalar constants).
pub fn f32_to_f16(v: f32) -> u16 {
    let x = v.to_bits();
    let sign = ((x >> 16) & 0x8000) as u16;
    let exp = ((x >> 23) & 0xff) as i32;
    let mant = x & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if mant != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = mant | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let mut r = m >> shift;
        let rem = m & ((1 << shift) - 1);
        if rem > half || (rem == half && r & 1 == 1) {
            r += 1;
        }
        return sign | r as u16;
    }
    let mut r = ((e as u32) << 10) | (mant >> 13);
    let rem = mant & 0x1fff;
    if rem > 0x1000 || (rem == 0x1000 && r & 1 == 1) {
        r += 1;
    }
    sign | r as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TF.js's table decoder, ported line by line from tfjs-core
    /// `io_utils.ts` (`computeFloat16MantisaTable` & co.).
    fn tfjs_decoder() -> impl Fn(u16) -> u32 {
        let convert_mantissa = |i: u32| -> u32 {
            let mut m = i << 13;
            let mut e: u32 = 0;
            while m & 0x0080_0000 == 0 {
                e = e.wrapping_sub(0x0080_0000);
                m <<= 1;
            }
            m &= !0x0080_0000;
            e = e.wrapping_add(0x3880_0000);
            m | e
        };
        let mut mantissa = vec![0u32; 2048];
        for (i, m) in mantissa.iter_mut().enumerate().take(1024).skip(1) {
            *m = convert_mantissa(i as u32);
        }
        for (i, m) in mantissa.iter_mut().enumerate().skip(1024) {
            *m = 0x3800_0000 + (((i - 1024) as u32) << 13);
        }
        let mut exponent = vec![0u32; 64];
        exponent[31] = 0x4780_0000;
        exponent[32] = 0x8000_0000;
        exponent[63] = 0xc780_0000;
        for (i, e) in exponent.iter_mut().enumerate().take(31).skip(1) {
            *e = (i as u32) << 23;
        }
        for (i, e) in exponent.iter_mut().enumerate().take(63).skip(33) {
            *e = 0x8000_0000u32.wrapping_add(((i - 32) as u32) << 23);
        }
        let mut offset = vec![1024u32; 64];
        offset[0] = 0;
        offset[32] = 0;
        move |h: u16| {
            let h = u32::from(h);
            mantissa[(offset[(h >> 10) as usize] + (h & 0x3ff)) as usize]
                .wrapping_add(exponent[(h >> 10) as usize])
        }
    }

    #[test]
    fn matches_tfjs_tables_for_every_half() {
        let tfjs = tfjs_decoder();
        for h in 0..=u16::MAX {
            assert_eq!(f16_to_f32(h).to_bits(), tfjs(h), "half bits {h:#06x}");
        }
    }

    #[test]
    fn encode_round_trips() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            if f.is_nan() {
                continue;
            }
            assert_eq!(f32_to_f16(f), h, "{h:#06x} = {f}");
        }
        assert_eq!(f16_to_f32(f32_to_f16(1.0 / 3.0)), 0.333_251_95);
    }
}

//! The deterministic input every engine is fed, so a native run and a page
//! can compute on the very same numbers.
//!
//! Generator (also written out in `docs/native.md` and implemented in
//! JavaScript by `native/tests/fixtures/make_web_outputs.mjs`): a 32-bit
//! xorshift with the fixed seed [`SEED`]. For every element of every input,
//! inputs in model order and each in row-major order, the state steps
//! `s ^= s << 13; s ^= s >> 17; s ^= s << 5` (wrapping, unsigned) and the
//! element is `(s >> 8) / 2^24`: a float32 in `[0, 1)` that is exact in both
//! languages. The state carries over from one input to the next.

use sha2::{Digest, Sha256};

/// The xorshift32 seed.
pub const SEED: u32 = 0x2545_F491;

/// The seeded generator of input values.
#[derive(Debug, Clone)]
pub struct Xorshift32 {
    state: u32,
}

impl Default for Xorshift32 {
    fn default() -> Self {
        Xorshift32 { state: SEED }
    }
}

impl Xorshift32 {
    /// The state after one xorshift step (`s ^= s << 13; s ^= s >> 17;
    /// s ^= s << 5`).
    pub fn next_u32(&mut self) -> u32 {
        let mut s = self.state;
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        self.state = s;
        s
    }

    /// The next value in `[0, 1)`: `(s >> 8) / 2^24` after one xorshift step.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 / 16_777_216.0
    }
}

/// Number of elements of a tensor of `shape` (1 for a scalar).
pub fn element_count(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The seeded values for inputs of the given shapes, one buffer per input,
/// from one generator whose state carries over between inputs.
pub fn seeded_inputs(shapes: &[Vec<usize>]) -> Vec<Vec<f32>> {
    let mut rng = Xorshift32::default();
    shapes
        .iter()
        .map(|shape| (0..element_count(shape)).map(|_| rng.next_f32()).collect())
        .collect()
}

/// SHA-256 (hex) of the inputs as little-endian float32 bytes, inputs
/// concatenated in order: the digest both sides compare.
pub fn inputs_sha256(inputs: &[Vec<f32>]) -> String {
    let mut h = Sha256::new();
    for input in inputs {
        for v in input {
            h.update(v.to_le_bytes());
        }
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_values_follow_the_documented_steps() {
        let mut rng = Xorshift32::default();
        let mut s: u32 = SEED;
        for _ in 0..1000 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let want = f64::from(s >> 8) / 16_777_216.0;
            let got = rng.next_f32();
            assert_eq!(f64::from(got), want);
            assert!((0.0..1.0).contains(&got));
        }
    }

    #[test]
    fn state_carries_over_between_inputs() {
        let two = seeded_inputs(&[vec![2], vec![3]]);
        let one = seeded_inputs(&[vec![5]]);
        assert_eq!([two[0].clone(), two[1].clone()].concat(), one[0]);
        assert_ne!(inputs_sha256(&two[..1]), inputs_sha256(&one));
    }
}

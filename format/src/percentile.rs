//! The one percentile definition of the project: every p50/p90/p99 that
//! webinfer prints (the analyzer's reports, `webinfer native`'s table)
//! comes from [`percentile`], so the same durations give the same number.
//!
//! It is R's type 7, NumPy's default and DuckDB's `quantile_cont`: linear
//! interpolation between the closest ranks. With the n values sorted
//! ascending as x₀ … xₙ₋₁ and h = (n − 1)·p,
//!
//! Q(p) = x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋₊₁ − x⌊h⌋).

/// The `p`-th quantile (0 ≤ p ≤ 1, clamped) of `values` by the formula in
/// the module doc. NaNs are ignored; `None` when no value is left.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    percentile_sorted(&v, p)
}

/// [`percentile`] of values already sorted ascending (no NaNs), for
/// callers that take several percentiles of one set.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_between_the_closest_ranks() {
        // sorted 1,2,3,4: p50 → h = 3·0.5 = 1.5 → 2 + 0.5·(3 − 2) = 2.5
        assert_eq!(percentile(&[4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        // p90 → h = 2.7 → 3 + 0.7·1 = 3.7
        assert!((percentile(&[1.0, 2.0, 3.0, 4.0], 0.9).unwrap() - 3.7).abs() < 1e-12);
        // 1,2,3 p99 → h = 1.98 → 2 + 0.98·1 = 2.98 (nearest rank would say 3)
        assert!((percentile(&[1.0, 3.0, 2.0], 0.99).unwrap() - 2.98).abs() < 1e-12);
        // 1..=100 p50 → h = 49.5 → 50 + 0.5 = 50.5 (NumPy: 50.5)
        let v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.5));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 1.0), Some(100.0));
    }

    #[test]
    fn edges() {
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[f64::NAN], 0.5), None);
        assert_eq!(percentile(&[f64::NAN, 2.0, 4.0], 0.5), Some(3.0));
        assert_eq!(percentile(&[1.0, 2.0], 7.0), Some(2.0), "p is clamped");
        assert_eq!(percentile_sorted(&[1.0, 2.0, 4.0], 0.75), Some(3.0));
    }
}

//! Descriptive statistics shared by every metric: percentiles, mean,
//! standard deviation and the Student-t 95% confidence interval.
//!
//! The percentile is the project's one definition,
//! [`webinfer_format::percentile`] (R type 7), re-exported here.
//!
//! Pure functions on slices; they never read files or print.

pub use webinfer_format::percentile::{percentile, percentile_sorted};

/// Arithmetic mean Σx / n; `None` when empty.
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        None
    } else {
        Some(values.iter().sum::<f64>() / values.len() as f64)
    }
}

/// Sample standard deviation √(Σ(x − x̄)² / (n − 1)); `None` when n < 2.
pub fn std_dev(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let ss: f64 = values.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

/// Two-sided 97.5% quantile of Student's t with `df` degrees of freedom
/// (the factor of a 95% confidence interval). Exact table values for
/// df ≤ 30, then interpolation in 1/df between 30, 40, 60, 120 and ∞.
pub fn t_975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if df == 0 {
        return f64::NAN;
    }
    if df <= 30 {
        return T[df - 1];
    }
    let pts = [
        (30.0, 2.042),
        (40.0, 2.021),
        (60.0, 2.000),
        (120.0, 1.980),
        (f64::INFINITY, 1.960),
    ];
    let x = 1.0 / df as f64;
    for w in pts.windows(2) {
        let (d0, t0) = w[0];
        let (d1, t1) = w[1];
        let (x0, x1) = (1.0 / d0, 1.0 / d1);
        if x <= x0 && x >= x1 {
            return t0 + (x - x0) / (x1 - x0) * (t1 - t0);
        }
    }
    1.960
}

/// Half-width of the 95% confidence interval of the mean:
/// t₀.₉₇₅,ₙ₋₁ · s / √n, with s the sample standard deviation.
/// `None` when n < 2 (one run gives no interval).
pub fn ci95_half_width(values: &[f64]) -> Option<f64> {
    let s = std_dev(values)?;
    Some(t_975(values.len() - 1) * s / (values.len() as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_std_and_ci() {
        // 2,4,4,4,5,5,7,9: mean 5, Σ(x−5)² = 32, s = √(32/7) = 2.13809
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&v), Some(5.0));
        assert!((std_dev(&v).unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        // half-width = t(7) · s / √8 = 2.365 · 2.13809 / 2.82843 = 1.78776
        assert!((ci95_half_width(&v).unwrap() - 1.78776).abs() < 1e-4);
        assert_eq!(ci95_half_width(&[1.0]), None);
    }

    #[test]
    fn t_quantiles_follow_the_table() {
        assert_eq!(t_975(1), 12.706);
        assert_eq!(t_975(30), 2.042);
        assert!((t_975(60) - 2.000).abs() < 1e-9);
        assert!(t_975(45) < 2.021 && t_975(45) > 2.000);
        assert!((t_975(1_000_000) - 1.96).abs() < 1e-3);
    }
}

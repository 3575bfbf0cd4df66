//! Rendering: first/largest contentful paint and the frame-time increase
//! under inference.

use crate::session::Paint;

/// First contentful paint (ms) = `start` of the `first-contentful-paint` entry
/// (the earliest if several).
pub fn fcp(paints: &[Paint]) -> Option<f64> {
    paints
        .iter()
        .filter(|p| p.name == "first-contentful-paint")
        .map(|p| p.start)
        .reduce(f64::min)
}

/// Largest contentful paint (ms) = `start` of the last
/// `largest-contentful-paint` entry by record time (`ts`): each new candidate
/// replaces the previous one.
pub fn lcp(paints: &[Paint]) -> Option<f64> {
    paints
        .iter()
        .filter(|p| p.name == "largest-contentful-paint")
        .max_by(|a, b| a.ts.total_cmp(&b.ts).then(a.start.total_cmp(&b.start)))
        .map(|p| p.start)
}

/// Frame-time increase under inference = (mean frame interval inside −
/// mean outside) / mean outside (0.672 = +67.2%). Means come from
/// [`super::smoothness::frame_split`].
pub fn frame_time_increase(mean_inside: Option<f64>, mean_outside: Option<f64>) -> Option<f64> {
    match (mean_inside, mean_outside) {
        (Some(i), Some(o)) if o > 0.0 => Some((i - o) / o),
        _ => None,
    }
}

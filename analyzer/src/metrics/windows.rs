//! Inference windows: the union of `[start, start + dur]` of a session's
//! `infer` records, and the overlap test used by the inside/outside splits.

use crate::session::Infer;

/// Sorted, merged, non-overlapping time windows `[start, end]` (ms).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Windows(Vec<(f64, f64)>);

impl Windows {
    /// The union of the inference windows `[start, start + dur]`.
    pub fn from_infers<'a>(infers: impl IntoIterator<Item = &'a Infer>) -> Self {
        Self::from_spans(infers.into_iter().map(|i| (i.start, i.end())))
    }

    /// The union of arbitrary `(start, end)` spans.
    pub fn from_spans(spans: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let mut v: Vec<(f64, f64)> = spans.into_iter().filter(|(a, b)| b >= a).collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match out.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        Windows(out)
    }

    /// Whether the interval `[a, b]` overlaps a window `[s, e]`, i.e.
    /// `a < e` and `b > s` (touching ends do not count). For a point
    /// (`a == b`) this means `s < a < e`.
    pub fn overlaps(&self, a: f64, b: f64) -> bool {
        let i = self.0.partition_point(|w| w.1 <= a);
        self.0
            .get(i)
            .is_some_and(|w| w.0 < b || (a == b && w.0 < a))
    }

    /// The merged windows.
    pub fn spans(&self) -> &[(f64, f64)] {
        &self.0
    }

    /// Whether there is no window.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_and_tests_overlap() {
        let w = Windows::from_spans([(10.0, 20.0), (15.0, 25.0), (40.0, 50.0)]);
        assert_eq!(w.spans(), &[(10.0, 25.0), (40.0, 50.0)]);
        assert!(w.overlaps(0.0, 11.0));
        assert!(!w.overlaps(0.0, 10.0), "touching the start is outside");
        assert!(!w.overlaps(25.0, 40.0), "between windows, touching both");
        assert!(w.overlaps(49.0, 60.0));
        assert!(w.overlaps(45.0, 45.0));
        assert!(!w.overlaps(60.0, 70.0));
    }
}

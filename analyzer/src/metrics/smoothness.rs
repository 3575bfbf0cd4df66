//! Smoothness: frame rate and dropped frames inside vs outside inference,
//! long tasks, long-animation-frame blocking, and video frame rate.

use super::windows::Windows;
use crate::session::{Loaf, Span, VideoFrame};

/// Frame intervals split by whether they overlap an inference window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameSplit {
    /// Median of all frame intervals of the session (ms).
    pub median_interval: Option<f64>,
    /// Intervals overlapping an inference window.
    pub n_inside: usize,
    /// Intervals overlapping none.
    pub n_outside: usize,
    /// Mean interval inside (ms).
    pub mean_inside: Option<f64>,
    /// Mean interval outside (ms).
    pub mean_outside: Option<f64>,
    /// Frames per second inside = 1000 / mean interval inside.
    pub fps_inside: Option<f64>,
    /// Frames per second outside = 1000 / mean interval outside.
    pub fps_outside: Option<f64>,
    /// Share of inside intervals that are dropped frames.
    pub dropped_inside: Option<f64>,
    /// Share of outside intervals that are dropped frames.
    pub dropped_outside: Option<f64>,
}

/// Splits the frame intervals of a session. With the `requestAnimationFrame`
/// times sorted as t₀ < t₁ < …, interval i is `[tᵢ, tᵢ₊₁]` of length
/// dᵢ = tᵢ₊₁ − tᵢ; it is *inside* when it overlaps an inference window
/// ([`Windows::overlaps`]). m = median of all dᵢ; interval i is a *dropped
/// frame* when dᵢ > 1.5·m. FPS inside = 1000 / mean(dᵢ inside) (= inside
/// intervals per second of inside time); dropped share inside = dropped
/// inside / intervals inside; the same for outside.
pub fn frame_split(frames: &[f64], windows: &Windows) -> FrameSplit {
    let d: Vec<(f64, bool)> = frames
        .windows(2)
        .map(|w| (w[1] - w[0], windows.overlaps(w[0], w[1])))
        .collect();
    let all: Vec<f64> = d.iter().map(|x| x.0).collect();
    let median = crate::stats::percentile(&all, 0.5);
    let Some(m) = median else {
        return FrameSplit::default();
    };
    let side = |inside: bool| {
        let v: Vec<f64> = d.iter().filter(|x| x.1 == inside).map(|x| x.0).collect();
        let mean = crate::stats::mean(&v);
        let dropped = (!v.is_empty())
            .then(|| v.iter().filter(|&&x| x > 1.5 * m).count() as f64 / v.len() as f64);
        (
            v.len(),
            mean,
            mean.filter(|&x| x > 0.0).map(|x| 1000.0 / x),
            dropped,
        )
    };
    let (n_in, mean_in, fps_in, drop_in) = side(true);
    let (n_out, mean_out, fps_out, drop_out) = side(false);
    FrameSplit {
        median_interval: median,
        n_inside: n_in,
        n_outside: n_out,
        mean_inside: mean_in,
        mean_outside: mean_out,
        fps_inside: fps_in,
        fps_outside: fps_out,
        dropped_inside: drop_in,
        dropped_outside: drop_out,
    }
}

/// Long tasks: (count, total blocking time in ms) where total blocking
/// time = Σ max(0, dur − 50) over the `longtask` records.
pub fn long_tasks(tasks: &[Span]) -> (usize, f64) {
    (
        tasks.len(),
        tasks.iter().map(|t| (t.dur - 50.0).max(0.0)).sum(),
    )
}

/// Long-animation-frame blocking (ms) = Σ `blocking_dur` over `loaf` records.
pub fn loaf_blocking(loafs: &[Loaf]) -> f64 {
    loafs.iter().map(|l| l.blocking_dur).sum()
}

/// Video frame rate = (presentedₗₐₛₜ − presented₀) / ((tₗₐₛₜ − t₀) / 1000)
/// over the session's video frames sorted by display time `t`: frames the
/// video element presented per second, including those no callback saw.
/// `None` with fewer than two frames or no elapsed time.
pub fn video_fps(video: &[VideoFrame]) -> Option<f64> {
    let (a, b) = (video.first()?, video.last()?);
    (b.t > a.t).then(|| (b.presented - a.presented) as f64 / ((b.t - a.t) / 1000.0))
}

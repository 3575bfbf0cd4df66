//! Quality of experience for video pipelines: how many video frames got
//! their own inference, and how old the prediction on screen is.

use crate::session::{Infer, VideoFrame};

/// Coverage = covered / presented, over the video frames F₀ … Fₙ₋₁ sorted by
/// display time t with `presented` counters P. Frame j < n − 1 is *covered*
/// when some inference starts in `[tⱼ, tⱼ₊₁)` (at or after its display time
/// and before the next frame's). presented = Pₙ₋₁ − P₀, the frames the
/// element presented from F₀ up to (not including) Fₙ₋₁ — frames no callback
/// saw count as not covered; if the counters are not increasing, n − 1.
/// `None` with fewer than two frames.
pub fn coverage(video: &[VideoFrame], infers: &[&Infer]) -> Option<f64> {
    if video.len() < 2 {
        return None;
    }
    let mut starts: Vec<f64> = infers.iter().map(|i| i.start).collect();
    starts.sort_by(f64::total_cmp);
    let covered = video
        .windows(2)
        .filter(|w| {
            let k = starts.partition_point(|&s| s < w[0].t);
            starts.get(k).is_some_and(|&s| s < w[1].t)
        })
        .count();
    let n = video.len() as i64;
    let span = video[video.len() - 1].presented - video[0].presented;
    let presented = if span >= n - 1 { span } else { n - 1 };
    Some(covered as f64 / presented as f64)
}

/// Prediction age in frames, one value per video frame that has one. For
/// frame j (display time tⱼ, counter Pⱼ), take the inference that finished
/// most recently by then: the largest end = start + dur with end ≤ tⱼ. Its
/// source frame k is the last frame with tₖ ≤ its start. The age is
/// Pⱼ − Pₖ (0 = the prediction on screen is for the frame on screen).
/// Frames before any finished inference, or whose newest inference started
/// before the first frame, have no age.
pub fn prediction_ages(video: &[VideoFrame], infers: &[&Infer]) -> Vec<f64> {
    let mut by_end: Vec<(f64, f64)> = infers.iter().map(|i| (i.end(), i.start)).collect();
    by_end.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut ages = Vec::new();
    let mut k = 0usize; // inferences with end ≤ tⱼ are by_end[..k]
    for f in video {
        while k < by_end.len() && by_end[k].0 <= f.t {
            k += 1;
        }
        if k == 0 {
            continue;
        }
        let start = by_end[k - 1].1;
        let src = video.partition_point(|v| v.t <= start);
        if src == 0 {
            continue;
        }
        ages.push((f.presented - video[src - 1].presented) as f64);
    }
    ages
}

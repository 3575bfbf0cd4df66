//! LLM text generation per session × model, from `gen` records (one per request): time to
//! first token, time per output token, throughput. Like prediction latency, over the later
//! requests (`call > 1`) when there are any: the first request of a model also pays its
//! warm-up (ORT session warm-up, shader compilation).

use crate::session::Gen;
use crate::stats;

/// The requests the generation metrics use: those with `call > 1`, or all of them when the
/// model was asked only once.
pub fn later<'a>(gens: &[&'a Gen]) -> Vec<&'a Gen> {
    let l: Vec<&Gen> = gens.iter().copied().filter(|g| g.call > 1).collect();
    if l.is_empty() {
        gens.to_vec()
    } else {
        l
    }
}

/// Time to first token p50 (ms) = median of `ttft` over [`later`] requests that have one
/// (streamed or token-timed requests). `None` if none has.
pub fn ttft_p50(gens: &[&Gen]) -> Option<f64> {
    let v: Vec<f64> = later(gens).iter().filter_map(|g| g.ttft).collect();
    stats::percentile(&v, 0.5)
}

/// Time per output token p50 (ms) = median of the requests' own `tpot_p50` over [`later`]
/// requests that have one.
pub fn tpot_p50(gens: &[&Gen]) -> Option<f64> {
    let v: Vec<f64> = later(gens).iter().filter_map(|g| g.tpot_p50).collect();
    stats::percentile(&v, 0.5)
}

/// Output tokens per second = Σ `output_tokens` / (Σ `dur` / 1000) over [`later`] requests
/// with a token count: the rate a user waiting for whole answers sees. `None` without tokens
/// or time.
pub fn tokens_per_s(gens: &[&Gen]) -> Option<f64> {
    let (mut tokens, mut ms) = (0u64, 0.0);
    for g in later(gens) {
        if let Some(n) = g.output_tokens {
            tokens += n;
            ms += g.dur;
        }
    }
    (ms > 0.0 && tokens > 0).then(|| tokens as f64 * 1000.0 / ms)
}

/// Mean output tokens per request over [`later`] requests with a count.
pub fn output_tokens_mean(gens: &[&Gen]) -> Option<f64> {
    let v: Vec<f64> = later(gens)
        .iter()
        .filter_map(|g| g.output_tokens.map(|n| n as f64))
        .collect();
    stats::mean(&v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn gen(call: u64, dur: f64, out: Option<u64>, ttft: Option<f64>, tpot: Option<f64>) -> Gen {
        Gen {
            framework: Arc::from("transformers.js"),
            model: Arc::from("m.onnx"),
            start: call as f64 * 1000.0,
            dur,
            call,
            prompt_tokens: Some(7),
            output_tokens: out,
            ttft,
            tpot_p50: tpot,
        }
    }

    #[test]
    fn hand_made_requests() {
        // call 1 (cold) is left out; then 3 requests of 12 tokens
        let gs = [
            gen(1, 900.0, Some(12), Some(500.0), Some(30.0)),
            gen(2, 120.0, Some(12), Some(10.0), Some(9.0)),
            gen(3, 100.0, Some(12), None, None),
            gen(4, 140.0, Some(12), Some(20.0), Some(11.0)),
        ];
        let r: Vec<&Gen> = gs.iter().collect();
        assert_eq!(later(&r).len(), 3);
        assert_eq!(ttft_p50(&r), Some(15.0)); // median of 10, 20
        assert_eq!(tpot_p50(&r), Some(10.0)); // median of 9, 11
        assert_eq!(tokens_per_s(&r), Some(36.0 * 1000.0 / 360.0)); // 36 tokens in 360 ms
        assert_eq!(output_tokens_mean(&r), Some(12.0));
        // a model asked once: that request is used
        let one = [gen(1, 500.0, Some(10), Some(50.0), Some(40.0))];
        let r1: Vec<&Gen> = one.iter().collect();
        assert_eq!(tokens_per_s(&r1), Some(20.0));
        assert_eq!(ttft_p50(&r1), Some(50.0));
        // no counts, no time: nothing
        let none = [gen(2, 0.0, None, None, None)];
        let rn: Vec<&Gen> = none.iter().collect();
        assert_eq!(tokens_per_s(&rn), None);
        assert_eq!(ttft_p50(&rn), None);
    }
}

//! Splitting one audit across machines: `webinfer audit --shard K/N`.
//!
//! The runs of an audit are every URL × variant × repeat, in that order
//! (URLs as listed, variants as given, repeats 1…R). Run i of that order
//! (from 0) belongs to shard `i mod N + 1`, so N machines given the same
//! URL list, variants and `--repeat` run disjoint shares whose union is the
//! whole audit, each within one run of the same size. A shard writes its
//! traces to `<traces>/shard-K-of-N/<label>/`: the proxy's own
//! `_proxy.jsonl` and the `audit-*.jsonl` files then never share a path on
//! shared storage, page sessions have random 64-bit ids (`new_sid`), and
//! the label, which every record's session carries, must be given
//! (`--label`) so that all shards agree on it.

use std::fmt;
use std::str::FromStr;

/// One share of an audit: shard `k` of `n` (1 ≤ k ≤ n).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 1.
    pub k: u32,
    /// Number of shards.
    pub n: u32,
}

/// A `--shard` value that is not `K/N` with 1 ≤ K ≤ N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--shard {0:?}: expected K/N with 1 <= K <= N (e.g. 2/4)")]
pub struct BadShard(pub String);

impl FromStr for Shard {
    type Err = BadShard;

    /// Parses `K/N`.
    fn from_str(s: &str) -> Result<Shard, BadShard> {
        let bad = || BadShard(s.to_owned());
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl Shard {
    /// The shard of a Kubernetes Indexed Job pod: `JOB_COMPLETION_INDEX`
    /// (from 0) + 1 of `n` completions.
    pub fn from_job_index(index: u32, n: u32) -> Result<Shard, BadShard> {
        format!("{}/{n}", u64::from(index) + 1).parse()
    }

    /// Whether run `i` (from 0, in URL × variant × repeat order) is this shard's.
    pub fn takes(&self, i: u64) -> bool {
        i % u64::from(self.n) == u64::from(self.k - 1)
    }

    /// The traces sub-folder of this shard: `shard-K-of-N`.
    pub fn folder(&self) -> String {
        format!("shard-{}-of-{}", self.k, self.n)
    }
}

/// The runs of an audit as (URL index, variant index, repeat from 1), in
/// URL × variant × repeat order, only `shard`'s share when given.
pub fn planned_runs(
    urls: usize,
    variants: usize,
    repeat: u32,
    shard: Option<Shard>,
) -> Vec<(usize, usize, u32)> {
    let mut out = Vec::new();
    let mut i = 0u64;
    for u in 0..urls {
        for v in 0..variants {
            for rep in 1..=repeat {
                if shard.is_none_or(|s| s.takes(i)) {
                    out.push((u, v, rep));
                }
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn shards_split_the_runs_without_overlap() {
        let all = planned_runs(7, 3, 2, None);
        assert_eq!(all.len(), 42);
        for n in 1..=5u32 {
            let mut union = BTreeSet::new();
            let mut sizes = Vec::new();
            for k in 1..=n {
                let share = planned_runs(7, 3, 2, Some(Shard { k, n }));
                sizes.push(share.len());
                for r in share {
                    assert!(union.insert(r), "{r:?} in two shards of {n}");
                }
            }
            assert_eq!(union, all.iter().copied().collect(), "{n} shards");
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo <= 1, "balanced: {sizes:?}");
        }
        // deterministic: the same share every time, in audit order
        let s = Shard { k: 2, n: 2 };
        assert_eq!(planned_runs(2, 1, 2, Some(s)), vec![(0, 0, 2), (1, 0, 2)]);
        assert_eq!(
            planned_runs(2, 1, 2, Some(s)),
            planned_runs(2, 1, 2, Some(s))
        );
    }

    #[test]
    fn parses_k_of_n() {
        assert_eq!("2/4".parse(), Ok(Shard { k: 2, n: 4 }));
        assert_eq!(" 1 / 1 ".parse(), Ok(Shard { k: 1, n: 1 }));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(Shard::from_job_index(0, 3), Ok(Shard { k: 1, n: 3 }));
        assert!(Shard::from_job_index(3, 3).is_err());
        assert_eq!(Shard { k: 3, n: 8 }.folder(), "shard-3-of-8");
    }
}

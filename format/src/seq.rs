//! Sequence-number bookkeeping: which records of a writer are missing,
//! duplicated or out of order.
//!
//! Every writer numbers its own records of a session from 0 (`seq` is
//! counted per (`sid`, `by`)), so for one writer, with n records seen of
//! which d have distinct numbers and the largest number m:
//!
//! - missing = m + 1 − d (numbers below the largest never seen: lost records),
//! - duplicates = n − d (numbers seen more than once),
//! - reordered = times a record's number was below that of the record read
//!   just before it from the same writer (harmless on its own: not a loss).
//!
//! [`SeqRuns`] stores one writer's numbers as runs of consecutive values, so
//! an in-order stream costs one range whatever its length. [`WriterSeqs`]
//! keeps the runs of every writer of one session.

use std::collections::HashMap;

use crate::kind::By;

/// The sequence numbers seen from one writer, as half-open runs
/// `[first, end)` in arrival order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeqRuns {
    runs: Vec<(u64, u64)>,
    reordered: u64,
}

/// What one writer's sequence numbers come to (see the module doc).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqSummary {
    /// Records seen.
    pub seen: u64,
    /// Distinct numbers seen.
    pub distinct: u64,
    /// Numbers below the largest one that were never seen.
    pub missing: u64,
    /// Records whose number had been seen already.
    pub duplicates: u64,
    /// Times a record's number was below its predecessor's.
    pub reordered: u64,
}

impl SeqSummary {
    /// Whether records are missing or duplicated.
    pub fn has_problem(&self) -> bool {
        self.missing > 0 || self.duplicates > 0
    }
}

impl SeqRuns {
    /// Notes `seq`, the next number read from this writer.
    pub fn push(&mut self, seq: u64) {
        if let Some(last) = self.runs.last_mut() {
            if last.1 == seq {
                last.1 += 1;
                return;
            }
            // last.1 - 1 is the previous number read
            if seq + 1 < last.1 {
                self.reordered += 1;
            }
        }
        self.runs.push((seq, seq + 1));
    }

    /// Adds the numbers another reader saw from the same writer (e.g. in
    /// another file).
    pub fn extend(&mut self, other: SeqRuns) {
        self.runs.extend(other.runs);
        self.reordered += other.reordered;
    }

    /// Counts seen, distinct, missing, duplicated and reordered numbers.
    pub fn summary(&self) -> SeqSummary {
        let mut runs = self.runs.clone();
        runs.sort_unstable();
        let (mut seen, mut distinct, mut dup, mut max_end) = (0u64, 0u64, 0u64, 0u64);
        for (a, b) in runs {
            seen += b - a;
            if b <= max_end {
                dup += b - a;
                continue;
            }
            let a2 = a.max(max_end);
            dup += a2 - a;
            distinct += b - a2;
            max_end = b;
        }
        SeqSummary {
            seen,
            distinct,
            missing: max_end - distinct,
            duplicates: dup,
            reordered: self.reordered,
        }
    }
}

/// The sequence numbers of every writer of one session.
#[derive(Debug, Clone, Default)]
pub struct WriterSeqs(HashMap<By, SeqRuns>);

impl WriterSeqs {
    /// Notes record `seq` of writer `by`.
    pub fn push(&mut self, by: &By, seq: u64) {
        match self.0.get_mut(by) {
            Some(runs) => runs.push(seq),
            None => self.0.entry(by.clone()).or_default().push(seq),
        }
    }

    /// Adds another part of the same session (read from another file).
    pub fn merge(&mut self, other: WriterSeqs) {
        for (by, runs) in other.0 {
            self.0.entry(by).or_default().extend(runs);
        }
    }

    /// Writers seen.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No record seen.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every writer's summary, ordered by writer ([`By::Own`] first).
    pub fn summaries(&self) -> Vec<(By, SeqSummary)> {
        let mut out: Vec<(By, SeqSummary)> = self
            .0
            .iter()
            .map(|(by, runs)| (by.clone(), runs.summary()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The writers with missing or duplicated records.
    pub fn problems(&self) -> Vec<(By, SeqSummary)> {
        let mut v = self.summaries();
        v.retain(|(_, s)| s.has_problem());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_count_missing_duplicates_and_reorderings() {
        let mut r = SeqRuns::default();
        for s in [0, 1, 2, 5, 6, 3, 3] {
            r.push(s);
        }
        // distinct {0,1,2,3,5,6} = 6, max 6 → 7 expected: 1 missing (4),
        // one duplicate 3; one step backwards (6 → 3; 3 → 3 is not one).
        assert_eq!(
            r.summary(),
            SeqSummary {
                seen: 7,
                distinct: 6,
                missing: 1,
                duplicates: 1,
                reordered: 1
            }
        );
        assert!(r.summary().has_problem());
        let mut clean = SeqRuns::default();
        (0..1000).for_each(|s| clean.push(s));
        assert_eq!(clean.runs.len(), 1, "an in-order stream is one run");
        assert!(!clean.summary().has_problem());
        assert_eq!(SeqRuns::default().summary(), SeqSummary::default());
    }

    #[test]
    fn parts_from_several_files_merge_per_writer() {
        let mut a = WriterSeqs::default();
        a.push(&By::Own, 0);
        a.push(&By::Own, 1);
        a.push(&By::Proxy, 0);
        let mut b = WriterSeqs::default();
        b.push(&By::Own, 3);
        b.push(&By::Proxy, 1);
        b.push(&By::Proxy, 1);
        a.merge(b);
        assert_eq!(a.len(), 2);
        let p = a.problems();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].0.clone(), p[0].1.missing), (By::Own, 1));
        assert_eq!(
            (p[1].0.clone(), p[1].1.missing, p[1].1.duplicates),
            (By::Proxy, 0, 1)
        );
        assert_eq!(a.summaries()[0].1.seen, 3);
    }
}

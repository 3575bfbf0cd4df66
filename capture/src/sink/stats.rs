//! The sink's live counters: [`SinkStats`] (shared, lock-free reads) and
//! [`SinkSnapshot`], a copy of them at one moment. Bad input is counted
//! whatever the answer it gets.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Live counters of a sink (shared, lock-free reads).
#[derive(Debug, Default)]
pub struct SinkStats {
    pub(super) records: AtomicU64,
    pub(super) infer: AtomicU64,
    pub(super) proxy_records: AtomicU64,
    pub(super) batches: AtomicU64,
    pub(super) bytes: AtomicU64,
    pub(super) malformed: AtomicU64,
    pub(super) invalid: AtomicU64,
    pub(super) rate_limited: AtomicU64,
    pub(super) too_large: AtomicU64,
    pub(super) wrong_method: AtomicU64,
    pub(super) write_errors: AtomicU64,
    pub(super) unknown_sid: AtomicU64,
    pub(super) forged: AtomicU64,
    pub(super) cross_site: AtomicU64,
    pub(super) over_budget: AtomicU64,
    pub(super) over_budget_proxy: AtomicU64,
    pub(super) sessions_refused: AtomicU64,
    pub(super) bytes_written: AtomicU64,
    pub(super) repeated: AtomicU64,
    pub(super) uploads_in_flight: AtomicU64,
    pub(super) kinds: Mutex<BTreeMap<String, u64>>,
}

/// Most distinct kinds [`SinkStats`] counts by name; further kinds, and kinds
/// longer than [`MAX_KIND_LEN`], are counted under [`OTHER_KINDS`] (a client
/// sending endless made-up kinds cannot grow the counters without bound).
pub const MAX_KINDS: usize = 256;
/// Longest kind name counted by name.
pub const MAX_KIND_LEN: usize = 64;
/// The counter name for kinds not counted by name.
pub const OTHER_KINDS: &str = "(other)";

/// A copy of [`SinkStats`] at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkSnapshot {
    /// Records from pages and workers stored.
    pub records: u64,
    /// Of those, `infer` records.
    pub infer: u64,
    /// Records the proxy wrote itself (`session`, `net`).
    pub proxy_records: u64,
    /// Batches received (any outcome).
    pub batches: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// Bodies that were malformed as a whole (torn, empty, not JSON).
    pub malformed: u64,
    /// Records refused as invalid (bad JSON element, bad common fields, unsafe sid).
    pub invalid: u64,
    /// Records refused by the per-session rate limit.
    pub rate_limited: u64,
    /// Bodies refused for their size.
    pub too_large: u64,
    /// Requests to the endpoint with a method other than `POST` (`405`).
    pub wrong_method: u64,
    /// Records that could not be written to disk.
    pub write_errors: u64,
    /// Records refused because their sid was not issued by this proxy (or
    /// was issued to another origin) ([`guard`](super::guard)).
    pub unknown_sid: u64,
    /// Records refused for claiming another writer (`by`) or a proxy-only kind.
    pub forged: u64,
    /// Requests refused with `403` for their `Sec-Fetch-Site` or `Origin`.
    pub cross_site: u64,
    /// Page records refused with `507` by the run's byte or file budget.
    pub over_budget: u64,
    /// Records of the proxy's own not written because the budget was spent.
    pub over_budget_proxy: u64,
    /// Injected documents and workers that got no session (file budget spent).
    pub sessions_refused: u64,
    /// Bytes of trace lines written this run (what the budget counts).
    pub bytes_written: u64,
    /// Page records that arrived again after they were stored (a batch resent because its
    /// answer was lost), acknowledged and not written twice ([`writer::SeqSet`](super::writer::SeqSet)).
    pub repeated: u64,
    /// Stored page/worker records per kind (at most [`MAX_KINDS`] names,
    /// the rest under [`OTHER_KINDS`]).
    pub kinds: BTreeMap<String, u64>,
}

impl SinkStats {
    /// Stored `infer` records so far (what `webinfer audit --until-infers` polls).
    pub fn infer_count(&self) -> u64 {
        self.infer.load(Ordering::Relaxed)
    }

    /// Model uploads being received now (`webinfer audit` waits for them
    /// before it leaves the page).
    pub fn uploads_in_flight(&self) -> u64 {
        self.uploads_in_flight.load(Ordering::Relaxed)
    }

    /// All counters now.
    pub fn snapshot(&self) -> SinkSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SinkSnapshot {
            records: l(&self.records),
            infer: l(&self.infer),
            proxy_records: l(&self.proxy_records),
            batches: l(&self.batches),
            bytes: l(&self.bytes),
            malformed: l(&self.malformed),
            invalid: l(&self.invalid),
            rate_limited: l(&self.rate_limited),
            too_large: l(&self.too_large),
            wrong_method: l(&self.wrong_method),
            write_errors: l(&self.write_errors),
            unknown_sid: l(&self.unknown_sid),
            forged: l(&self.forged),
            cross_site: l(&self.cross_site),
            over_budget: l(&self.over_budget),
            over_budget_proxy: l(&self.over_budget_proxy),
            sessions_refused: l(&self.sessions_refused),
            bytes_written: l(&self.bytes_written),
            repeated: l(&self.repeated),
            kinds: self.kinds.lock().map(|k| k.clone()).unwrap_or_default(),
        }
    }

    pub(super) fn stored(&self, kind: &str) {
        self.records.fetch_add(1, Ordering::Relaxed);
        if kind == "infer" {
            self.infer.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut k) = self.kinds.lock() {
            let named = kind.len() <= MAX_KIND_LEN && (k.contains_key(kind) || k.len() < MAX_KINDS);
            *k.entry(if named { kind } else { OTHER_KINDS }.to_owned())
                .or_default() += 1;
        }
    }
}

//! Counters kept by a running proxy (e.g. how many background calls to which
//! hosts were refused, for `webinfer audit`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Live counters of one proxy.
#[derive(Debug, Default)]
pub struct ProxyStats {
    connections: AtomicU64,
    requests: AtomicU64,
    forwarded: AtomicU64,
    local: AtomicU64,
    upstream_errors: AtomicU64,
    tunnels: AtomicU64,
    refused: Mutex<BTreeMap<String, u64>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Client connections accepted.
    pub connections: u64,
    /// Requests seen (every flavour, including CONNECT).
    pub requests: u64,
    /// Requests sent upstream.
    pub forwarded: u64,
    /// Requests answered by the proxy or the handler without going upstream
    /// (refusals excluded).
    pub local: u64,
    /// Forwarded requests that failed before a response head (the 502, 504
    /// and 408 pages).
    pub upstream_errors: u64,
    /// Non-TLS CONNECT tunnels passed through untouched.
    pub tunnels: u64,
    /// Refused requests (CONNECTs and plain requests) per host.
    pub refused: BTreeMap<String, u64>,
}

impl StatsSnapshot {
    /// Total refused requests over all hosts.
    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

/// `fn $name(&self)` adding one to the counter `$field`, for each pair.
macro_rules! bumps {
    ($($name:ident => $field:ident),* $(,)?) => {
        $(
            pub(crate) fn $name(&self) {
                self.$field.fetch_add(1, Ordering::Relaxed);
            }
        )*
    };
}

impl ProxyStats {
    bumps! {
        connection => connections,
        request => requests,
        forwarded => forwarded,
        local => local,
        upstream_error => upstream_errors,
        tunnel => tunnels,
    }

    pub(crate) fn refused(&self, host: &str) {
        *self
            .refused
            .lock()
            .expect("stats lock")
            .entry(host.to_string())
            .or_default() += 1;
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            connections: self.connections.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            forwarded: self.forwarded.load(Ordering::Relaxed),
            local: self.local.load(Ordering::Relaxed),
            upstream_errors: self.upstream_errors.load(Ordering::Relaxed),
            tunnels: self.tunnels.load(Ordering::Relaxed),
            refused: self.refused.lock().expect("stats lock").clone(),
        }
    }
}

//! The per-session rate limit of page records
//! ([`SinkConfig::max_records_per_sec`](super::SinkConfig::max_records_per_sec)).
//!
//! Each session has a one-second window of accepted records. A batch is
//! taken or refused whole (`429`, nothing of it stored): it is refused when a
//! session that already has records in its current window would go over the
//! limit. The first batch of each window is always taken, so a batch larger
//! than the limit cannot be refused forever; an `end` record does not reset
//! the window. The windows live in the session [`Registry`](super::guard::Registry)
//! (under its lock), charged only for records it admitted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The one-second windows of accepted page records, per session id.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// Per sid: the window's start and the records accepted in it.
    windows: HashMap<String, (Instant, u64)>,
}

impl RateLimiter {
    /// The per-session rate limit, all or nothing for a batch: `Err(sids)`
    /// when a session that already has records in its current one-second
    /// window would go over `limit` (the first batch of each window is always
    /// taken); otherwise the windows are charged.
    pub fn charge(&mut self, per_sid: &HashMap<&str, u64>, limit: u64) -> Result<(), Vec<String>> {
        self.charge_at(Instant::now(), per_sid, limit)
    }

    /// [`RateLimiter::charge`] at the moment `now`.
    fn charge_at(
        &mut self,
        now: Instant,
        per_sid: &HashMap<&str, u64>,
        limit: u64,
    ) -> Result<(), Vec<String>> {
        let sec = Duration::from_secs(1);
        let over: Vec<String> = per_sid
            .iter()
            .filter(|(sid, n)| {
                self.windows.get(**sid).is_some_and(|&(start, count)| {
                    now.duration_since(start) < sec && count > 0 && count + **n > limit
                })
            })
            .map(|(sid, _)| (*sid).to_owned())
            .collect();
        if !over.is_empty() {
            return Err(over);
        }
        for (sid, n) in per_sid {
            let w = match self.windows.get(*sid) {
                Some(&(start, count)) if now.duration_since(start) < sec => (start, count + n),
                _ => (now, *n),
            };
            self.windows.insert((*sid).to_owned(), w);
        }
        Ok(())
    }

    /// Drops the window of `sid` (a session issued again starts afresh).
    pub fn forget(&mut self, sid: &str) {
        self.windows.remove(sid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(sid: &str, n: u64) -> HashMap<&str, u64> {
        HashMap::from([(sid, n)])
    }

    /// Within a second a session gets at most `limit` records, except that
    /// the first batch of a window is taken whatever its size; the next
    /// second starts a new window, and other sessions have their own.
    #[test]
    fn windows_are_per_session_and_per_second() {
        let mut r = RateLimiter::default();
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        assert_eq!(r.charge_at(ms(0), &batch("a", 7), 10), Ok(()));
        assert_eq!(r.charge_at(ms(100), &batch("a", 3), 10), Ok(()));
        assert_eq!(
            r.charge_at(ms(200), &batch("a", 1), 10),
            Err(vec!["a".to_owned()])
        );
        // A refused batch charges nothing: another session's batch with it
        // is refused too, and its window stays empty.
        let both = HashMap::from([("a", 1), ("b", 5)]);
        assert_eq!(r.charge_at(ms(300), &both, 10), Err(vec!["a".to_owned()]));
        assert_eq!(r.charge_at(ms(300), &batch("b", 10), 10), Ok(()));
        // The next window: a batch over the limit is taken as the first one.
        assert_eq!(r.charge_at(ms(1000), &batch("a", 25), 10), Ok(()));
        assert!(r.charge_at(ms(1500), &batch("a", 1), 10).is_err());
        r.forget("a");
        assert_eq!(r.charge_at(ms(1500), &batch("a", 1), 10), Ok(()));
    }
}

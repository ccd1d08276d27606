//! Summaries over an organization's history that cost a scan of it (the
//! leads whose score moved most this week, the sentiment of the last 90
//! days): computed in the background when they are slow, so a page never
//! waits for one.
//!
//! A [`Memo`] keeps, per organization and key, the last computed value with
//! when it was computed and what it cost. A summary that computes quickly
//! (under [`SLOW`]) is recomputed on every read, so small organizations
//! always read exact figures, as they would without the memo. A slow one is
//! served from the memo while it is younger than [`FRESH_FOR`] times its
//! cost, and after that served as it is while one background task computes
//! its successor: an organization of a million leads reads its 16-second
//! summary in microseconds, at most a few minutes old, and never pays more
//! than 1/[`FRESH_FOR`] of a core for it. A read that finds nothing computed
//! yet waits [`WAIT`] for the computation and otherwise gets `None`: the
//! page says the part is being computed and fetches it again.
//!
//! Entries are keyed by organization first: one organization's summary is
//! never another's. They live for the process (one entry per organization
//! and key in use, each a few kilobytes).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use neuracrm_domain::OrgId;
use tokio::sync::watch;

use crate::{ActionError, ActionResult};

/// A computation at least this long is served from the memo.
pub const SLOW: Duration = Duration::from_millis(50);
/// A slow summary is fresh for this many times what it cost.
pub const FRESH_FOR: u32 = 20;
/// How long a read waits for a summary not computed yet.
pub const WAIT: Duration = Duration::from_millis(250);

/// A computed summary.
#[derive(Debug)]
pub struct Computed<V> {
    /// The summary.
    pub value: Arc<V>,
    /// When its computation started (what it reflects).
    pub as_of: DateTime<Utc>,
    started: Instant,
    cost: Duration,
}

impl<V> Clone for Computed<V> {
    fn clone(&self) -> Self {
        Computed {
            value: self.value.clone(),
            as_of: self.as_of,
            started: self.started,
            cost: self.cost,
        }
    }
}

impl<V> Computed<V> {
    /// Whether the summary was slow to compute, so that it is served from
    /// the memo (and may be older than the page).
    pub fn memoized(&self) -> bool {
        self.cost >= SLOW
    }

    fn fresh(&self) -> bool {
        self.started.elapsed() < self.cost * FRESH_FOR
    }
}

type Outcome<V> = Option<Result<Computed<V>, ActionError>>;

struct Entry<V> {
    last: Option<Computed<V>>,
    running: Option<watch::Receiver<Outcome<V>>>,
}

impl<V> Default for Entry<V> {
    fn default() -> Self {
        Entry {
            last: None,
            running: None,
        }
    }
}

/// The memos of the summaries the pages show.
#[derive(Debug, Default)]
pub struct Summaries {
    /// The leads whose score moved most in the last
    /// [`WINDOW_DAYS`](crate::scoring::WINDOW_DAYS) days.
    pub movers: Arc<Memo<(), Vec<neuracrm_store::scoring::ScoreMove>>>,
    /// The sentiment of a period, per its length in days.
    pub sentiment: Arc<Memo<i64, crate::sentiment::PeriodSummary>>,
}

/// Summaries of kind `V` per organization and key `K` (the period, the
/// scope: whatever the computation depends on besides the organization).
pub struct Memo<K, V> {
    entries: Mutex<HashMap<(OrgId, K), Entry<V>>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            entries: Mutex::default(),
        }
    }
}

impl<K, V> std::fmt::Debug for Memo<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("Memo").field("entries", &entries).finish()
    }
}

impl<K, V> Memo<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Send + Sync + 'static,
{
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(OrgId, K), Entry<V>>> {
        // A panic while holding the lock leaves the map consistent (every
        // change under it is one assignment).
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `org`'s summary `key`: computed by `compute` as the module says.
    /// `Ok(None)`: not computed yet, being computed in the background.
    pub async fn get<F, Fut>(
        self: &Arc<Self>,
        org: OrgId,
        key: K,
        compute: F,
    ) -> ActionResult<Option<Computed<V>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ActionResult<V>> + Send + 'static,
    {
        let mut running = {
            let mut map = self.lock();
            let entry = map.entry((org, key.clone())).or_default();
            match &entry.last {
                Some(last) if last.memoized() => {
                    if !last.fresh() && entry.running.is_none() {
                        entry.running = Some(self.spawn(org, key, compute()));
                    }
                    return Ok(Some(last.clone()));
                }
                _ => match &entry.running {
                    Some(rx) => rx.clone(),
                    None => {
                        let rx = self.spawn(org, key.clone(), compute());
                        entry.running = Some(rx.clone());
                        rx
                    }
                },
            }
        };
        match tokio::time::timeout(WAIT, running.wait_for(Option::is_some)).await {
            Ok(Ok(outcome)) => match outcome.clone() {
                Some(Ok(computed)) => Ok(Some(computed)),
                Some(Err(e)) => Err(e),
                None => unreachable!("waited for an outcome"),
            },
            // The task ended without an outcome (it panicked): say so.
            Ok(Err(_)) => Err(ActionError::Internal(
                "a summary's computation ended without a result".into(),
            )),
            // Still computing: what was computed before, if anything.
            Err(_) => Ok(self.lock().get(&(org, key)).and_then(|e| e.last.clone())),
        }
    }

    /// Starts computing in the background; the entry records the outcome.
    fn spawn<Fut>(self: &Arc<Self>, org: OrgId, key: K, work: Fut) -> watch::Receiver<Outcome<V>>
    where
        Fut: Future<Output = ActionResult<V>> + Send + 'static,
    {
        let (tx, rx) = watch::channel(None);
        let memo = self.clone();
        tokio::spawn(async move {
            let as_of = Utc::now();
            let started = Instant::now();
            let outcome = work.await.map(|v| Computed {
                value: Arc::new(v),
                as_of,
                started,
                cost: started.elapsed(),
            });
            {
                let mut map = memo.lock();
                let entry = map.entry((org, key)).or_default();
                entry.running = None;
                match &outcome {
                    Ok(c) => entry.last = Some(c.clone()),
                    Err(e) => {
                        tracing::warn!(org = org.0, error = %e, "a summary could not be computed")
                    }
                }
            }
            let _ = tx.send(Some(outcome));
        });
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    async fn read(
        memo: &Arc<Memo<u8, u32>>,
        org: i64,
        runs: &Arc<AtomicU32>,
        took: Duration,
    ) -> Option<u32> {
        let runs = runs.clone();
        memo.get(OrgId(org), 0, move || async move {
            tokio::time::sleep(took).await;
            Ok(runs.fetch_add(1, Ordering::SeqCst) + 1)
        })
        .await
        .unwrap()
        .map(|c| *c.value)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn quick_summaries_are_computed_on_every_read() {
        let memo = Arc::new(Memo::default());
        let runs = Arc::new(AtomicU32::new(0));
        for want in 1..=3 {
            assert_eq!(read(&memo, 1, &runs, Duration::ZERO).await, Some(want));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_summaries_are_served_from_the_memo_and_refreshed_behind() {
        let memo = Arc::new(Memo::default());
        let runs = Arc::new(AtomicU32::new(0));
        let slow = WAIT + Duration::from_millis(100);
        // Nothing yet: the read does not wait for the whole computation.
        let t = Instant::now();
        assert_eq!(read(&memo, 1, &runs, slow).await, None);
        assert!(t.elapsed() < slow, "{:?}", t.elapsed());
        // Another read meanwhile joins the same computation.
        assert_eq!(read(&memo, 1, &runs, slow).await, Some(1));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Fresh: served as it is, nothing recomputed.
        assert_eq!(read(&memo, 1, &runs, slow).await, Some(1));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Another organization has its own entry.
        assert_eq!(read(&memo, 2, &runs, Duration::ZERO).await, Some(2));
        // Stale: the old value at once, its successor computed behind.
        {
            let mut map = memo.lock();
            let last = map.get_mut(&(OrgId(1), 0)).unwrap().last.as_mut().unwrap();
            last.started -= last.cost * FRESH_FOR;
        }
        assert_eq!(read(&memo, 1, &runs, slow).await, Some(1));
        tokio::time::sleep(slow + Duration::from_millis(200)).await;
        assert_eq!(read(&memo, 1, &runs, slow).await, Some(3));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_error_reaches_the_reader_and_is_not_kept() {
        let memo: Arc<Memo<u8, u32>> = Arc::new(Memo::default());
        let err = memo
            .get(OrgId(1), 0, || async {
                Err(ActionError::Internal("boom".into()))
            })
            .await
            .unwrap_err();
        assert_eq!(err, ActionError::Internal("boom".into()));
        let runs = Arc::new(AtomicU32::new(0));
        assert_eq!(read(&memo, 1, &runs, Duration::ZERO).await, Some(1));
    }
}

//! Cache of intent answers, so an unchanged description is not sent again.
//!
//! The trait is async and object-safe so that other crates can back it with
//! storage this crate does not know: the jobs crate keeps answers in the
//! database, per organization, keyed by [`IntentCacheKey::to_hex`];
//! [`MemoryIntentCache`] is the embedded, bounded one. A cache instance
//! answers for one tenant; one shared by tenants keys its entries with
//! [`IntentCacheKey::within`].

use super::{BoxFuture, IntentAssessment};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;

/// SHA-256 of the estimator's scope (model) and the text: stable across
/// processes and releases, unlike `std`'s hasher.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IntentCacheKey([u8; 32]);

impl IntentCacheKey {
    /// Key for `text` read by the estimator with `scope` (its model name).
    pub fn new(scope: &str, text: &str) -> Self {
        let mut h = Sha256::new();
        // Length prefix: ("ab", "c") and ("a", "bc") must not collide.
        h.update((scope.len() as u64).to_le_bytes());
        h.update(scope.as_bytes());
        h.update(text.as_bytes());
        Self(h.finalize().into())
    }

    /// This key inside one tenant's partition: a different key for every
    /// tenant, so that an in-memory cache shared by organizations never
    /// answers one with another's entry.
    pub fn within(&self, tenant: i64) -> Self {
        let mut h = Sha256::new();
        h.update(b"tenant");
        h.update(tenant.to_le_bytes());
        h.update(self.0);
        Self(h.finalize().into())
    }

    /// Lower-case hex, 64 characters: the key as stored.
    pub fn to_hex(&self) -> String {
        use fmt::Write;
        let mut s = String::with_capacity(64);
        for b in self.0 {
            let _ = write!(s, "{b:02x}");
        }
        s
    }
}

impl fmt::Debug for IntentCacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IntentCacheKey({})", self.to_hex())
    }
}

/// Where intent answers are kept between scorings.
pub trait IntentCache: Send + Sync {
    /// The cached answer, if any.
    fn get<'a>(&'a self, key: &'a IntentCacheKey) -> BoxFuture<'a, Option<IntentAssessment>>;
    /// Stores an answer (best effort: a cache may drop it).
    fn put<'a>(&'a self, key: IntentCacheKey, value: IntentAssessment) -> BoxFuture<'a, ()>;
}

/// In-memory cache holding at most `capacity` answers; the oldest inserted is
/// evicted first (FIFO: simple, and re-scoring touches leads in id order
/// anyway, so LRU would buy little).
pub struct MemoryIntentCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<IntentCacheKey, IntentAssessment>,
    order: VecDeque<IntentCacheKey>,
}

impl fmt::Debug for MemoryIntentCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryIntentCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl MemoryIntentCache {
    /// A cache of at most `capacity` answers (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Number of answers held.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves a consistent map
        // (every mutation below is complete before it can panic), so recover.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get_now(&self, key: &IntentCacheKey) -> Option<IntentAssessment> {
        self.lock().map.get(key).copied()
    }

    fn put_now(&self, key: IntentCacheKey, value: IntentAssessment) {
        let mut inner = self.lock();
        if inner.map.insert(key, value).is_none() {
            inner.order.push_back(key);
            while inner.map.len() > self.capacity {
                let Some(oldest) = inner.order.pop_front() else {
                    break;
                };
                inner.map.remove(&oldest);
            }
        }
    }
}

impl IntentCache for MemoryIntentCache {
    fn get<'a>(&'a self, key: &'a IntentCacheKey) -> BoxFuture<'a, Option<IntentAssessment>> {
        let hit = self.get_now(key);
        Box::pin(async move { hit })
    }

    fn put<'a>(&'a self, key: IntentCacheKey, value: IntentAssessment) -> BoxFuture<'a, ()> {
        self.put_now(key, value);
        Box::pin(async {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::IntentSource;

    #[test]
    fn keys_are_stable_and_unambiguous() {
        let k = IntentCacheKey::new("gpt-4o-mini", "hello");
        assert_eq!(k, IntentCacheKey::new("gpt-4o-mini", "hello"));
        assert_ne!(
            IntentCacheKey::new("ab", "c"),
            IntentCacheKey::new("a", "bc")
        );
        assert_eq!(k.to_hex().len(), 64);
        assert_ne!(k.within(1), k.within(2));
        assert_ne!(k.within(1), k);
        assert_eq!(
            k.within(1),
            IntentCacheKey::new("gpt-4o-mini", "hello").within(1)
        );
        assert!(k.to_hex().bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn bounded_fifo_eviction() {
        let c = MemoryIntentCache::new(2);
        let a = IntentAssessment::answered(1.0, IntentSource::Llm);
        let k = |s: &str| IntentCacheKey::new("m", s);
        c.put_now(k("1"), a);
        c.put_now(k("2"), a);
        c.put_now(k("2"), a);
        assert_eq!(c.len(), 2);
        c.put_now(k("3"), a);
        assert_eq!(c.len(), 2);
        assert!(c.get_now(&k("1")).is_none());
        assert!(c.get_now(&k("2")).is_some());
        assert!(c.get_now(&k("3")).is_some());
    }
}

//! A cached value with single-flight refresh: the one pattern behind the OAuth
//! token, the meeting's join URL and the count's dashboard snapshot.
//!
//! Readers take the cached value while `valid` says it is good. Otherwise one
//! caller refreshes while the others wait for it; each waiter re-checks after
//! taking the lock and uses the value the leader stored instead of fetching
//! again. A failed refresh stores nothing, so the next caller tries again.

use std::future::Future;
use std::sync::RwLock;

use tokio::sync::Mutex;

pub struct Cached<T> {
    value: RwLock<Option<T>>,
    refresh: Mutex<()>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Self {
            value: RwLock::new(None),
            refresh: Mutex::new(()),
        }
    }
}

impl<T: Clone> Cached<T> {
    /// Starts out holding `value` (a join URL from the configuration, say).
    pub fn with_value(value: T) -> Self {
        Self {
            value: RwLock::new(Some(value)),
            refresh: Mutex::new(()),
        }
    }

    /// The last value stored, whether or not it is still valid (to serve as
    /// stale when a refresh fails).
    pub fn last(&self) -> Option<T> {
        self.value.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stores `value` as the latest, outside any refresh (a value read on
    /// every request, kept to serve as stale later).
    pub fn set(&self, value: T) {
        *self.value.write().unwrap_or_else(|p| p.into_inner()) = Some(value);
    }

    fn valid(&self, valid: &impl Fn(&T) -> bool) -> Option<T> {
        self.last().filter(|v| valid(v))
    }

    /// The cached value while `valid` accepts it, else the result of one
    /// `refresh` shared by every concurrent caller.
    pub async fn get_or_refresh<V, F, Fut, E>(&self, valid: V, refresh: F) -> Result<T, E>
    where
        V: Fn(&T) -> bool,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.valid(&valid) {
            return Ok(v);
        }
        let _single_flight = self.refresh.lock().await;
        // Whoever held the lock before us may have refreshed already.
        if let Some(v) = self.valid(&valid) {
            return Ok(v);
        }
        let fresh = refresh().await?;
        self.set(fresh.clone());
        Ok(fresh)
    }

    /// Drops the value if `rejected` says so (checked under the write lock, so
    /// a value another caller stored meanwhile is kept).
    pub fn forget_if(&self, rejected: impl FnOnce(&T) -> bool) {
        let mut guard = self.value.write().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_some_and(rejected) {
            *guard = None;
        }
    }
}

/// The 32-caller single-flight test is `token::tests::concurrent_callers_share_one_fetch`.
#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failed_refresh_is_not_cached_and_invalid_values_stay_readable() {
        let cache = Cached::<u32>::default();
        let failed = cache
            .get_or_refresh(|_| true, || async { Err::<u32, _>("down") })
            .await;
        assert_eq!((failed, cache.last()), (Err("down"), None));
        let ok = cache
            .get_or_refresh(|_| true, || async { Ok::<_, &str>(1) })
            .await;
        assert_eq!(ok, Ok(1));
        // Not valid any more: refreshed; a failure keeps the old value readable.
        let failed = cache
            .get_or_refresh(|v| *v > 1, || async { Err::<u32, _>("down") })
            .await;
        assert_eq!((failed, cache.last()), (Err("down"), Some(1)));
        cache.forget_if(|v| *v == 2);
        assert_eq!(
            cache.last(),
            Some(1),
            "only the rejected value is forgotten"
        );
        cache.forget_if(|v| *v == 1);
        assert_eq!(cache.last(), None);
    }
}

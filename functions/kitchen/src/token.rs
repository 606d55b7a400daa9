//! In-memory cache of the Server-to-Server OAuth token for the life of a warm
//! container: refreshed a margin before expiry, fetched single-flight, and
//! dropped when Zoom says it is no longer valid.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::cache::Cached;
use crate::secret::Secret;

/// Refresh this long before Zoom's stated expiry.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct AccessToken {
    pub value: Secret,
    pub expires_at: Instant,
}

impl AccessToken {
    pub fn new(value: Secret, expires_in: Duration) -> Self {
        Self {
            value,
            expires_at: Instant::now() + expires_in,
        }
    }

    fn usable(&self, now: Instant) -> bool {
        now + REFRESH_MARGIN < self.expires_at
    }
}

/// The token for the container's life: a [`Cached`] that serves a token only
/// while it is more than [`REFRESH_MARGIN`] from expiry.
#[derive(Default)]
pub struct TokenCache(Cached<AccessToken>);

impl TokenCache {
    /// A usable token, fetching one with `fetch` when none is cached. Concurrent
    /// callers wait for a single fetch; the winner re-checks after taking the lock.
    pub async fn get<F, Fut, E>(&self, fetch: F) -> Result<AccessToken, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, E>>,
    {
        self.0
            .get_or_refresh(|t| t.usable(Instant::now()), fetch)
            .await
    }

    /// Forget `rejected`, unless another caller already replaced it.
    pub fn invalidate(&self, rejected: &AccessToken) {
        self.0.forget_if(|t| t.value == rejected.value);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(AccessToken::new(
                            Secret::new("t"),
                            Duration::from_secs(3599),
                        ))
                    })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().value.expose(), "t");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refreshes_inside_the_margin_and_after_invalidation() {
        let cache = TokenCache::default();
        let n = AtomicUsize::new(0);
        let fetch = |ttl: u64| {
            let i = n.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok::<_, ()>(AccessToken::new(
                    Secret::new(format!("t{i}")),
                    Duration::from_secs(ttl),
                ))
            }
        };
        // A token with less than the margin left is never served from cache.
        let a = cache.get(|| fetch(30)).await.unwrap();
        let b = cache.get(|| fetch(3599)).await.unwrap();
        assert_ne!(a.value, b.value);
        let c = cache.get(|| fetch(3599)).await.unwrap();
        assert_eq!(b.value, c.value);
        // Invalidating a token that was already replaced keeps the newer one.
        cache.invalidate(&a);
        assert_eq!(cache.get(|| fetch(3599)).await.unwrap().value, c.value);
        cache.invalidate(&c);
        assert_ne!(cache.get(|| fetch(3599)).await.unwrap().value, c.value);
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }
}

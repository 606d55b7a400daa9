//! One deadline per request: everything a request waits for (the secret read,
//! the presence query, the Zoom calls) runs under it together, so a slow
//! Secrets Manager plus a slow Zoom can never outlast the Lambda timeout and
//! turn into API Gateway's bare 500.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::RequestExt;
use lambda_http::{Context, Request};
use tokio::time::Instant;

/// Left for writing the response after the work gives up.
pub const SAFETY_MARGIN: Duration = Duration::from_millis(1000);

/// The budget when no Lambda context says otherwise (tests, a local run):
/// well inside the template's 10 s timeout.
pub const FALLBACK_BUDGET: Duration = Duration::from_secs(8);

/// The request ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request's deadline passed")]
pub struct Expired;

#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// The request's Lambda deadline minus [`SAFETY_MARGIN`]; [`FALLBACK_BUDGET`]
    /// from now when the request carries no Lambda context.
    pub fn for_request(req: &Request) -> Self {
        Self::from_context(req.lambda_context_ref(), FALLBACK_BUDGET)
    }

    /// For any invocation (`LambdaEvent::context` in non-HTTP functions). A
    /// missing context or a deadline that is no wall-clock time (tests send 0,
    /// `cargo lambda watch` 1.9 always sends 600000, i.e. 1970) means
    /// `fallback` from now.
    pub fn from_context(ctx: Option<&Context>, fallback: Duration) -> Self {
        match ctx
            .map(|c| c.deadline)
            .filter(|ms| *ms >= PLAUSIBLE_DEADLINE_MS)
        {
            Some(ms) => Self::at_unix_millis(ms, SystemTime::now()),
            None => Self::after(fallback),
        }
    }

    /// `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self {
            at: Instant::now() + budget.min(MAX_BUDGET),
        }
    }

    /// Lambda's deadline (ms since the epoch) minus the margin, as seen at `now`.
    fn at_unix_millis(deadline_ms: u64, now: SystemTime) -> Self {
        let now_ms = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        Self::after(left.saturating_sub(SAFETY_MARGIN))
    }

    /// Time left; zero once passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// `work`'s output, or [`Expired`] if the deadline passes first.
    pub async fn run<F: Future>(&self, work: F) -> Result<F::Output, Expired> {
        tokio::time::timeout_at(self.at, work)
            .await
            .map_err(|_| Expired)
    }
}

/// 2001-09-09 in ms since the epoch: earlier "deadlines" are placeholders.
const PLAUSIBLE_DEADLINE_MS: u64 = 1_000_000_000_000;

/// Lambda allows at most 15 minutes; anything longer is a misread clock, and
/// capping keeps `Instant + Duration` from overflowing.
const MAX_BUDGET: Duration = Duration::from_secs(900);

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with_deadline(deadline_ms: Option<u64>) -> Request {
        let req = crate::testing::event("GET", "/x").request();
        match deadline_ms {
            Some(ms) => {
                let mut ctx = Context::default();
                ctx.deadline = ms;
                req.with_lambda_context(ctx)
            }
            None => req,
        }
    }

    fn unix_ms_in(d: Duration) -> u64 {
        (SystemTime::now() + d)
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    #[tokio::test]
    async fn follows_the_lambda_deadline_minus_the_margin() {
        let d = Deadline::for_request(&request_with_deadline(Some(unix_ms_in(
            Duration::from_secs(3),
        ))));
        let left = d.remaining();
        assert!(
            left <= Duration::from_secs(2) && left > Duration::from_millis(1800),
            "{left:?}"
        );
        // A deadline already inside the margin leaves nothing: work fails at once.
        let d = Deadline::for_request(&request_with_deadline(Some(unix_ms_in(
            Duration::from_millis(500),
        ))));
        assert_eq!(d.remaining(), Duration::ZERO);
        assert_eq!(d.run(std::future::pending::<()>()).await, Err(Expired));
    }

    #[tokio::test]
    async fn without_a_context_the_fallback_applies() {
        for req in [
            request_with_deadline(None),
            request_with_deadline(Some(0)),
            // What `cargo lambda watch` sends (make dev, the end-to-end run).
            request_with_deadline(Some(600_000)),
        ] {
            let left = Deadline::for_request(&req).remaining();
            assert!(
                left <= FALLBACK_BUDGET && left > FALLBACK_BUDGET - Duration::from_secs(1),
                "{left:?}"
            );
        }
        let far = Deadline::from_context(None, Duration::MAX);
        assert!(far.remaining() <= MAX_BUDGET);
    }

    /// Two slow steps share one budget: the second gets only what is left.
    #[tokio::test]
    async fn consecutive_steps_share_one_budget() {
        let d = Deadline::after(Duration::from_millis(300));
        let slow = || tokio::time::sleep(Duration::from_millis(200));
        assert_eq!(d.run(slow()).await, Ok(()));
        let started = std::time::Instant::now();
        assert_eq!(d.run(slow()).await, Err(Expired));
        assert!(started.elapsed() < Duration::from_millis(180));
    }
}

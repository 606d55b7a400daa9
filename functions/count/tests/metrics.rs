//! The count's metrics. One test in its own process, so the process-wide
//! totals count exactly what this test caused.

mod common;

use std::time::Duration;

use common::{SECOND, plain, setup};
use kitchen::metrics::Metric::*;
use kitchen::metrics::testing::total;
use serde_json::json;
use zoom_sim::{Endpoint, Fault};

fn totals() -> [u64; 4] {
    [CountServedStale, Zoom429, Zoom5xx, TokenFetched].map(total)
}

#[tokio::test]
async fn stale_answers_and_zoom_failures_are_counted() {
    let (sim, state) = setup(Duration::ZERO, 300 * SECOND).await;
    assert_eq!(totals(), [0; 4]);
    assert_eq!(plain(&state).await, (200, "3".into(), "false".into()));
    assert_eq!(totals(), [0, 0, 0, 1]);
    sim.sim.push_fault(
        Endpoint::Dashboard,
        Fault::Status {
            status: 503,
            body: json!({}),
        },
    );
    assert_eq!(plain(&state).await, (200, "3".into(), "true".into()));
    assert_eq!(totals(), [1, 0, 1, 1]);
    // Wait out the backoff, then a 429.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    sim.sim.push_fault(
        Endpoint::Dashboard,
        Fault::RateLimit {
            retry_after: Some("1".into()),
        },
    );
    assert_eq!(plain(&state).await, (200, "3".into(), "true".into()));
    assert_eq!(totals(), [2, 1, 1, 1]);
}

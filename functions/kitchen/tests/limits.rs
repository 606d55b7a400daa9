//! Invite limits against DynamoDB (moto over HTTP): two containers — two
//! clients with their own SDK configuration — share one table.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kitchen::limits::{InviteLimits, Limit, LimitSettings, Reservation};
use kitchen::testing::{moto_endpoint, moto_serial_endpoint, sdk_config, unique};

async fn containers(settings: LimitSettings) -> (InviteLimits, InviteLimits) {
    containers_on(&moto_endpoint(), settings).await
}

/// Two containers sharing one table at `endpoint`.
async fn containers_on(endpoint: &str, settings: LimitSettings) -> (InviteLimits, InviteLimits) {
    let table = unique("limits");
    let a = InviteLimits::new(&sdk_config(endpoint).await, &table, settings);
    let b = InviteLimits::new(&sdk_config(endpoint).await, &table, settings);
    a.create_table().await.expect("create table");
    (a, b)
}

/// 10:00:00 UTC on some day, plus `secs`.
fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(20_000 * 86_400 + 10 * 3600 + secs)
}

fn granted(r: &Reservation) -> bool {
    matches!(r, Reservation::Granted(_))
}

#[tokio::test]
async fn the_interval_holds_across_containers() {
    let settings = LimitSettings {
        interval: Duration::from_secs(30),
        per_day: 50,
    };
    let (a, b) = containers(settings).await;
    assert!(granted(&a.reserve("desk", at(0)).await.unwrap()));
    // The second container is refused too, and told how long to wait.
    assert_eq!(
        b.reserve("desk", at(10)).await.unwrap(),
        Reservation::Refused {
            limit: Limit::Interval,
            retry_after: Duration::from_secs(20)
        }
    );
    // Another device is not affected.
    assert!(granted(&b.reserve("other-desk", at(10)).await.unwrap()));
    assert!(granted(&b.reserve("desk", at(30)).await.unwrap()));
}

#[tokio::test]
async fn the_daily_allowance_holds_and_renews_the_next_day() {
    let settings = LimitSettings {
        interval: Duration::ZERO,
        per_day: 3,
    };
    let (a, b) = containers(settings).await;
    for (i, limits) in [&a, &b, &a].into_iter().enumerate() {
        let r = limits.reserve("desk", at(i as u64)).await.unwrap();
        assert!(granted(&r), "invite {i}: {r:?}");
    }
    let refused = b.reserve("desk", at(3)).await.unwrap();
    let Reservation::Refused { limit, retry_after } = refused else {
        panic!("fourth invite of the day granted")
    };
    assert_eq!(limit, Limit::Daily);
    assert_eq!(
        retry_after,
        Duration::from_secs(14 * 3600 - 3),
        "until midnight UTC"
    );
    let next_day = at(14 * 3600);
    assert!(granted(&a.reserve("desk", next_day).await.unwrap()));
}

#[tokio::test]
async fn a_released_slot_is_given_back() {
    let settings = LimitSettings {
        interval: Duration::from_secs(30),
        per_day: 1,
    };
    let (a, b) = containers(settings).await;
    let Reservation::Granted(ticket) = a.reserve("desk", at(0)).await.unwrap() else {
        panic!("first invite refused")
    };
    // Zoom did not deliver: the slot goes back, so the next press works at once.
    a.release(&ticket).await.unwrap();
    assert!(granted(&b.reserve("desk", at(1)).await.unwrap()));
    // Releasing an old ticket after a newer invite changes nothing.
    a.release(&ticket).await.unwrap();
    assert!(!granted(&a.reserve("desk", at(40)).await.unwrap()));
}

/// Both containers press at once. Against moto served one request at a
/// time: threaded moto checks a condition and writes in two steps, so it can
/// let both through where DynamoDB's atomic conditional write never does.
#[tokio::test]
async fn concurrent_presses_get_one_slot() {
    let settings = LimitSettings {
        interval: Duration::from_secs(30),
        per_day: 50,
    };
    let (a, b) = containers_on(&moto_serial_endpoint(), settings).await;
    let now = at(0);
    let (ra, rb) = tokio::join!(a.reserve("desk", now), b.reserve("desk", now));
    let granted_count = [ra.unwrap(), rb.unwrap()]
        .iter()
        .filter(|r| granted(r))
        .count();
    assert_eq!(granted_count, 1);
}

#[tokio::test]
async fn an_unreachable_table_is_an_error_not_a_grant() {
    let settings = LimitSettings {
        interval: Duration::from_secs(30),
        per_day: 50,
    };
    let sdk = sdk_config("http://127.0.0.1:9").await;
    let limits = InviteLimits::new(&sdk, "nowhere", settings);
    let err = limits.reserve("desk", at(0)).await.unwrap_err();
    assert!(err.to_string().contains("invite limits"), "{err}");
}

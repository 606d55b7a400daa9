//! Per-request hot paths of the functions, without any I/O: reading the invite
//! body, counting people on a dashboard page, verifying a webhook signature.
//!
//! `cargo bench -p kitchen --bench hot_paths` (`make bench` runs it with a short
//! measurement time and appends the figures to `bench-results.md`).

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use kitchen::lambda_http::http::{HeaderMap, HeaderValue};
use kitchen::participants::{Participant, headcount};
use kitchen::request::email_from_body;
use kitchen::secret::Secret;
use kitchen::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use serde::Deserialize;
use serde_json::{Value, json};

/// The body of `GET /metrics/meetings/{id}/participants`, as the Zoom client reads it.
#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    participants: Vec<Participant>,
}

/// A full dashboard page of 300 entries shaped like Zoom's (and the simulator's):
/// about 200 people, some rejoined (same account id), some in the waiting room,
/// some left, a few guests without account or email.
fn dashboard_page(entries: usize) -> Vec<u8> {
    let participants: Vec<Value> = (0..entries)
        .map(|i| {
            let person = i % 200;
            let signed_in = person % 7 != 0;
            let account = if signed_in {
                format!("acct-{person:05}")
            } else {
                String::new()
            };
            let email = if person % 5 == 0 {
                String::new()
            } else {
                format!("person{person}@example.com")
            };
            let mut e = zoom_sim::dashboard_entry(&zoom_sim::EntryFields {
                zoom_user_id: &account,
                user_id: &(16_778_240 + i).to_string(),
                participant_uuid: &format!("{:032X}", i * 7919),
                user_name: &format!("Person {person}"),
                email: &email,
                device: "Mac",
                join_time: "2026-11-22T09:00:00Z",
                status: if i % 23 == 0 {
                    "in_waiting_room"
                } else {
                    "in_meeting"
                },
                quality: "good",
            });
            e["video_quality"] = json!("");
            if i % 11 == 0 {
                e["leave_time"] = json!("2026-11-22T09:30:00Z");
                e["leave_reason"] = json!("left the meeting");
            }
            e
        })
        .collect();
    serde_json::to_vec(&json!({
        "page_count": 1,
        "page_size": entries,
        "total_records": entries,
        "next_page_token": "",
        "participants": participants,
    }))
    .expect("a JSON value serializes")
}

fn bodies(c: &mut Criterion) {
    let mut g = c.benchmark_group("hot_paths");
    let form: &[u8] = b"email=alice%40example.com";
    let json: &[u8] = br#"{"email":"alice@example.com"}"#;
    assert_eq!(
        email_from_body(Some("application/x-www-form-urlencoded"), form)
            .ok()
            .as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(
        email_from_body(Some("application/json"), json)
            .ok()
            .as_deref(),
        Some("alice@example.com")
    );
    g.bench_function("email_from_body/form", |b| {
        b.iter(|| {
            email_from_body(
                black_box(Some("application/x-www-form-urlencoded")),
                black_box(form),
            )
        })
    });
    g.bench_function("email_from_body/json", |b| {
        b.iter(|| email_from_body(black_box(Some("application/json")), black_box(json)))
    });

    let page = dashboard_page(300);
    let parsed: Page = serde_json::from_slice(&page).expect("the page parses");
    assert_eq!(parsed.participants.len(), 300);
    assert!(headcount(&parsed.participants).count > 100);
    g.bench_function("headcount/parse+count_300", |b| {
        b.iter(|| {
            let p: Page = serde_json::from_slice(black_box(&page)).expect("the page parses");
            headcount(&p.participants).count
        })
    });
    g.bench_function("headcount/count_300", |b| {
        b.iter(|| headcount(black_box(&parsed.participants)).count)
    });

    let (secret, headers, body, now) = signed_webhook();
    assert_eq!(verify(&secret, &headers, &body, now), Ok(()));
    g.bench_function("webhook_verify/participant_joined", |b| {
        b.iter(|| {
            verify(
                black_box(&secret),
                black_box(&headers),
                black_box(&body),
                now,
            )
        })
    });
    g.finish();
}

/// A `meeting.participant_joined` delivery as Zoom sends it (about 700 bytes),
/// signed `v0=` + hex(HMAC-SHA256(secret, "v0:{ts}:{body}")).
fn signed_webhook() -> (Secret, HeaderMap, Vec<u8>, SystemTime) {
    let now = SystemTime::now();
    let ts = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .to_string();
    let body = serde_json::to_vec(&json!({
        "event": "meeting.participant_joined",
        "event_ts": 1_795_338_930_000u64,
        "payload": {
            "account_id": "demo-account",
            "object": {
                "id": "85746065432", "uuid": "4444AAAiAAAAAiAiAiiAii==", "host_id": "z8yAAAAA8bbbQ",
                "topic": "Coffee Kitchen", "type": 3, "start_time": "2026-11-22T08:00:00Z",
                "timezone": "Europe/Berlin", "duration": 0,
                "participant": {
                    "user_id": "16778240", "user_name": "Alice", "id": "alice-zoom-id",
                    "participant_uuid": "55555AAAiAAAAAiAiAiiAii==", "participant_user_id": "alice-zoom-id",
                    "email": "alice@example.com", "registrant_id": "", "customer_key": "", "phone_number": "",
                    "join_time": "2026-11-22T09:15:30Z"
                }
            }
        }
    }))
    .expect("a JSON value serializes");
    let secret = Secret::new("demo-webhook-secret-token");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes any key");
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(&body);
    let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    let mut headers = HeaderMap::new();
    headers.insert(
        SIGNATURE_HEADER,
        HeaderValue::from_str(&signature).expect("hex is a valid header"),
    );
    headers.insert(
        TIMESTAMP_HEADER,
        HeaderValue::from_str(&ts).expect("digits are a valid header"),
    );
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    (secret, headers, body, now)
}

criterion_group!(benches, bodies);
criterion_main!(benches);

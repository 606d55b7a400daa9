//! Property tests for the parsing and counting hot paths. CI runs proptest's
//! default 256 cases each; `PROPTEST_CASES=100000 cargo test -p kitchen --test properties`
//! runs a longer campaign locally.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kitchen::participants::{Participant, headcount};
use kitchen::request::{MAX_BODY_BYTES, email_from_body, validate_email};
use kitchen::secret::Secret;
use kitchen::webhook::verify;
use kitchen::zoom::{MAX_RETRY_AFTER, parse_retry_after};
use lambda_http::http::HeaderMap;
use proptest::prelude::*;

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/json"),
    Some("text/plain"),
    Some("multipart/form-data"),
    Some(""),
];

fn valid_email() -> impl Strategy<Value = String> {
    (
        "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]",
        "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?",
        "[a-z]{2,6}",
    )
        .prop_filter("no double dots", |(l, _, _)| !l.contains(".."))
        .prop_map(|(l, d, t)| format!("{l}@{d}.{t}"))
}

proptest! {
    /// Any bytes, any content type: an answer, never a panic; an accepted
    /// address always passes validation and fits Zoom's limits.
    #[test]
    fn body_parsing_is_total(body in proptest::collection::vec(any::<u8>(), 0..600), ct in 0..CONTENT_TYPES.len()) {
        match email_from_body(CONTENT_TYPES[ct], &body) {
            Ok(email) => {
                prop_assert!(validate_email(&email).is_ok());
                prop_assert!(email.len() <= 254 && email.contains('@'));
            }
            Err(e) => prop_assert!(e.status.is_client_error(), "{:?}", e),
        }
    }

    #[test]
    fn form_and_json_encodings_agree(email in valid_email()) {
        let form: String = form_urlencoded::Serializer::new(String::new()).append_pair("email", &email).finish();
        let json = serde_json::json!({ "email": email }).to_string();
        let a = email_from_body(Some("application/x-www-form-urlencoded"), form.as_bytes()).unwrap();
        let b = email_from_body(Some("application/json"), json.as_bytes()).unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a, email);
    }

    #[test]
    fn oversized_bodies_are_refused_unread(extra in 1usize..5000) {
        let body = vec![b'a'; MAX_BODY_BYTES + extra];
        prop_assert_eq!(email_from_body(None, &body).unwrap_err().status.as_u16(), 413);
    }

    #[test]
    fn email_validation_is_idempotent(s in "\\\\PC{0,80}") {
        if let Ok(v) = validate_email(&s) {
            prop_assert_eq!(validate_email(&v), Ok(v.clone()));
            prop_assert!(!v.chars().any(|c| c.is_whitespace() || c.is_control()));
        }
    }

    #[test]
    fn retry_after_never_panics_and_seconds_round_trip(s in "\\\\PC{0,40}", secs in 0u64..10_000_000, huge in any::<u64>()) {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        if let Some(d) = parse_retry_after(&s, now) {
            prop_assert!(d <= MAX_RETRY_AFTER);
        }
        // Up to the cap a wait reads back exactly; beyond it, as the cap.
        let expected = Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
        prop_assert_eq!(parse_retry_after(&secs.to_string(), now), expected);
        let date = httpdate::fmt_http_date(now + Duration::from_secs(secs));
        prop_assert_eq!(parse_retry_after(&date, now), expected);
        let d = parse_retry_after(&huge.to_string(), now).unwrap();
        prop_assert!(std::time::Instant::now().checked_add(d).is_some());
    }

    /// Counting is independent of order and of duplicated entries, never
    /// exceeds the entries present, and ignores everyone not `in_meeting`.
    #[test]
    fn headcount_invariants(people in proptest::collection::vec((0u8..30, 0u8..3, any::<bool>()), 0..300), seed in any::<u64>()) {
        let entries: Vec<Participant> = people.iter().map(|(id, status, left)| Participant {
            participant_uuid: Some(format!("P{id}")),
            status: Some(["in_meeting", "in_waiting_room", "other"][*status as usize].into()),
            leave_time: left.then(|| "2026-01-01T00:00:00Z".into()),
            user_name: Some(format!("U{id}")),
            ..Default::default()
        }).collect();
        let n = headcount(&entries);
        let present = entries.iter().filter(|p| p.is_present()).count();
        prop_assert!(n.count <= present);
        prop_assert_eq!(n.count, n.names.len());
        let mut shuffled = entries.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        shuffled.extend(entries.iter().cloned());
        prop_assert_eq!(headcount(&shuffled), n);
    }

    /// Whatever the body and secret: the right signature verifies, and any
    /// change to body, timestamp or signature is rejected.
    #[test]
    fn webhook_signatures(body in proptest::collection::vec(any::<u8>(), 0..400), secret in "[ -~]{1,40}", flip in any::<usize>(), skew in 0u64..300) {
        let now = SystemTime::now();
        let ts = (now.duration_since(UNIX_EPOCH).unwrap().as_secs() - skew).to_string();
        let sig = zoom_sim::sign_webhook(&secret, &ts, &body);
        let headers = |sig: &str, ts: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-zm-signature", sig.parse().unwrap());
            h.insert("x-zm-request-timestamp", ts.parse().unwrap());
            h
        };
        let key = Secret::new(secret.clone());
        prop_assert!(verify(&key, &headers(&sig, &ts), &body, now).is_ok());
        if !body.is_empty() {
            let mut tampered = body.clone();
            tampered[flip % body.len()] ^= 0x01;
            prop_assert!(verify(&key, &headers(&sig, &ts), &tampered, now).is_err());
        }
        let mut bad_sig = sig.clone().into_bytes();
        let i = 3 + flip % 64;
        bad_sig[i] = if bad_sig[i] == b'0' { b'1' } else { b'0' };
        prop_assert!(verify(&key, &headers(std::str::from_utf8(&bad_sig).unwrap(), &ts), &body, now).is_err());
        let other_ts = (ts.parse::<u64>().unwrap() - 1).to_string();
        prop_assert!(verify(&key, &headers(&sig, &other_ts), &body, now).is_err());
        let wrong_secret = Secret::new(secret.clone() + "x");
        prop_assert!(verify(&wrong_secret, &headers(&sig, &ts), &body, now).is_err());
    }
}

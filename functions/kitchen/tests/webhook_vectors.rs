//! Zoom webhook signatures against vectors computed independently of this code,
//! with Python's standard library:
//!
//! ```python
//! import hmac, hashlib
//! sig = lambda secret, ts, body: "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
//! sig("kitchen-vector-secret", "1795464332", ASCII_BODY.encode())
//! sig("kitchen-vector-secret", "1795464332", NON_ASCII_BODY.encode("utf-8"))
//! hmac.new(b"kitchen-vector-secret", b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kitchen::lambda_http::http::{HeaderMap, HeaderName, HeaderValue};
use kitchen::secret::Secret;
use kitchen::webhook::{WebhookReject, url_validation_response, verify};
use serde_json::json;

const SECRET: &str = "kitchen-vector-secret";
const TS: &str = "1795464332";
const TS_SECS: u64 = 1_795_464_332;

const ASCII_BODY: &str = r#"{"event":"meeting.participant_joined","event_ts":1795464332123,"payload":{"account_id":"acc","object":{"id":85746065432,"uuid":"u==","participant":{"user_id":"16778240","user_name":"Alice","id":"","participant_uuid":"P-1","email":"alice@example.com","join_time":"2026-11-22T20:05:30Z"}}}}"#;
const ASCII_SIG: &str = "v0=0bd4908a24a25de84e4f39d96ed7df6be032a1a8a93e3b0c2f60fb79c0a6a23a";

const NON_ASCII_BODY: &str = r#"{"event":"meeting.participant_joined","payload":{"object":{"participant":{"user_name":"Zoë Łukasz 咖啡"}}}}"#;
const NON_ASCII_SIG: &str = "v0=20835c601aeb2bfd17180c3cccce1400ac7f963f59382cc15a3ae753cd2c376d";

const EMPTY_SIG: &str = "v0=a6e4c63af0b6a608e2e34e998a8e6297ca94f99e8529e16326ca8acf07df8a3b";

fn secret() -> Secret {
    Secret::new(SECRET)
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn now() -> SystemTime {
    at(TS_SECS)
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn signed(sig: &str) -> HeaderMap {
    headers(&[("x-zm-signature", sig), ("x-zm-request-timestamp", TS)])
}

#[test]
fn python_vectors_verify() {
    assert_eq!(
        verify(&secret(), &signed(ASCII_SIG), ASCII_BODY.as_bytes(), now()),
        Ok(())
    );
    assert_eq!(verify(&secret(), &signed(EMPTY_SIG), b"", now()), Ok(()));
}

#[test]
fn non_ascii_body_is_hashed_as_its_utf8_bytes() {
    assert_eq!(
        NON_ASCII_BODY.len(),
        111,
        "the same UTF-8 bytes Python hashed"
    );
    assert_eq!(
        verify(
            &secret(),
            &signed(NON_ASCII_SIG),
            NON_ASCII_BODY.as_bytes(),
            now()
        ),
        Ok(())
    );
    // The same JSON with \u escapes (what a re-serialiser might produce) is a different body.
    let escaped = r#"{"event":"meeting.participant_joined","payload":{"object":{"participant":{"user_name":"Zo\u00eb \u0141ukasz \u5496\u5561"}}}}"#;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(escaped).unwrap(),
        serde_json::from_str::<serde_json::Value>(NON_ASCII_BODY).unwrap()
    );
    assert_eq!(
        verify(&secret(), &signed(NON_ASCII_SIG), escaped.as_bytes(), now()),
        Err(WebhookReject::BadSignature)
    );
}

#[test]
fn the_projects_sample_event_verifies_with_the_dev_token() {
    // infra/events/webhook-url-validation.json, signed with devstack's demo token
    // (checked with the Python above).
    let body = r#"{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680}"#;
    let h = headers(&[
        (
            "x-zm-signature",
            "v0=21e36520eb7bb1db21d7ad67dc0603fcea318c7e0d780cbb20d82cfe303c0986",
        ),
        ("x-zm-request-timestamp", "1654503849"),
    ]);
    assert_eq!(
        verify(
            &Secret::new("demo-webhook-secret-token"),
            &h,
            body.as_bytes(),
            at(1_654_503_849)
        ),
        Ok(())
    );
}

#[test]
fn tampered_body_and_wrong_secret_fail() {
    let tampered = ASCII_BODY.replace("Alice", "Alicf");
    assert_eq!(
        verify(&secret(), &signed(ASCII_SIG), tampered.as_bytes(), now()),
        Err(WebhookReject::BadSignature)
    );
    let mut trailing = ASCII_BODY.as_bytes().to_vec();
    trailing.push(b'\n');
    assert_eq!(
        verify(&secret(), &signed(ASCII_SIG), &trailing, now()),
        Err(WebhookReject::BadSignature)
    );
    let wrong = Secret::new("kitchen-vector-secreT");
    assert_eq!(
        verify(&wrong, &signed(ASCII_SIG), ASCII_BODY.as_bytes(), now()),
        Err(WebhookReject::BadSignature)
    );
    // A signature made for another timestamp does not carry over.
    let h = headers(&[
        ("x-zm-signature", ASCII_SIG),
        ("x-zm-request-timestamp", "1795464333"),
    ]);
    assert_eq!(
        verify(&secret(), &h, ASCII_BODY.as_bytes(), now()),
        Err(WebhookReject::BadSignature)
    );
}

#[test]
fn timestamp_window_is_300_seconds_either_way() {
    let body = ASCII_BODY.as_bytes();
    assert_eq!(
        verify(&secret(), &signed(ASCII_SIG), body, at(TS_SECS + 300)),
        Ok(())
    );
    assert_eq!(
        verify(&secret(), &signed(ASCII_SIG), body, at(TS_SECS - 300)),
        Ok(())
    );
    // The request is 301 s old / 301 s in the future.
    assert_eq!(
        verify(&secret(), &signed(ASCII_SIG), body, at(TS_SECS + 301)),
        Err(WebhookReject::StaleTimestamp)
    );
    assert_eq!(
        verify(&secret(), &signed(ASCII_SIG), body, at(TS_SECS - 301)),
        Err(WebhookReject::StaleTimestamp)
    );
}

#[test]
fn missing_and_duplicated_headers_fail_closed() {
    let body = ASCII_BODY.as_bytes();
    let v = |h: HeaderMap| verify(&secret(), &h, body, now());
    assert_eq!(v(HeaderMap::new()), Err(WebhookReject::MissingSignature));
    assert_eq!(
        v(headers(&[("x-zm-request-timestamp", TS)])),
        Err(WebhookReject::MissingSignature)
    );
    assert_eq!(
        v(headers(&[("x-zm-signature", ASCII_SIG)])),
        Err(WebhookReject::MissingTimestamp)
    );
    assert_eq!(
        v(headers(&[
            ("x-zm-signature", ""),
            ("x-zm-request-timestamp", TS)
        ])),
        Err(WebhookReject::MissingSignature)
    );
    // The header Zoom does NOT send must not be accepted in its place.
    assert_eq!(
        v(headers(&[
            ("x-zoom-signature", ASCII_SIG),
            ("x-zm-request-timestamp", TS)
        ])),
        Err(WebhookReject::MissingSignature)
    );
    // API Gateway (payload 2.0) delivers a repeated header as one comma-joined value.
    let joined = format!("{ASCII_SIG},{ASCII_SIG}");
    assert_eq!(
        v(headers(&[
            ("x-zm-signature", &joined),
            ("x-zm-request-timestamp", TS)
        ])),
        Err(WebhookReject::DuplicateHeader("x-zm-signature"))
    );
    assert_eq!(
        v(headers(&[
            ("x-zm-signature", ASCII_SIG),
            ("x-zm-request-timestamp", &format!("{TS},{TS}"))
        ])),
        Err(WebhookReject::DuplicateHeader("x-zm-request-timestamp"))
    );
}

#[test]
fn malformed_signatures_and_timestamps() {
    let body = ASCII_BODY.as_bytes();
    let v = |sig: &str, ts: &str| {
        verify(
            &secret(),
            &headers(&[("x-zm-signature", sig), ("x-zm-request-timestamp", ts)]),
            body,
            now(),
        )
    };
    let bare_hex = ASCII_SIG.trim_start_matches("v0=");
    assert_eq!(
        v(bare_hex, TS),
        Err(WebhookReject::MalformedSignature),
        "v0= prefix missing"
    );
    assert_eq!(
        v(&format!("v1={bare_hex}"), TS),
        Err(WebhookReject::MalformedSignature)
    );
    assert_eq!(
        v(&format!("v0={}g", &bare_hex[..63]), TS),
        Err(WebhookReject::MalformedSignature),
        "non-hex"
    );
    assert_eq!(
        v(&format!("v0={}", &bare_hex[..62]), TS),
        Err(WebhookReject::MalformedSignature),
        "too short"
    );
    assert_eq!(
        v(&format!("{ASCII_SIG}00"), TS),
        Err(WebhookReject::MalformedSignature),
        "too long"
    );
    assert_eq!(
        v(&format!("sha256={bare_hex}"), TS),
        Err(WebhookReject::MalformedSignature)
    );
    // Uppercase hex is the same MAC; Zoom sends lowercase, accepting both is harmless.
    assert_eq!(v(&format!("v0={}", bare_hex.to_uppercase()), TS), Ok(()));
    for ts in [
        "abc",
        "1795464332.0",
        "-1795464332",
        "1795464332000000",
        " 1795464332",
    ] {
        assert_eq!(
            v(ASCII_SIG, ts),
            Err(WebhookReject::MalformedTimestamp),
            "{ts:?}"
        );
    }
    // Milliseconds are not seconds: far outside the window.
    assert_eq!(
        v(ASCII_SIG, "1795464332123"),
        Err(WebhookReject::MalformedTimestamp)
    );
}

/// No secret token configured must look exactly like a wrong one to the caller:
/// whatever the request, the same answer as with a secret that does not match.
#[test]
fn a_missing_secret_is_indistinguishable_from_a_wrong_one() {
    let body = ASCII_BODY.as_bytes();
    let cases = [
        signed(ASCII_SIG),
        HeaderMap::new(),
        headers(&[("x-zm-signature", ASCII_SIG)]),
        headers(&[("x-zm-signature", "v0=zz"), ("x-zm-request-timestamp", TS)]),
        headers(&[
            ("x-zm-signature", ASCII_SIG),
            ("x-zm-request-timestamp", "1"),
        ]),
    ];
    for h in cases {
        assert_eq!(
            verify(&Secret::new(""), &h, body, now()),
            verify(&Secret::new("some-other-secret"), &h, body, now()),
            "{h:?}"
        );
    }
    assert_eq!(
        verify(&Secret::new(""), &signed(ASCII_SIG), body, now()),
        Err(WebhookReject::BadSignature)
    );
}

#[test]
fn url_validation_answer_matches_python() {
    assert_eq!(
        url_validation_response(&secret(), "qgg8vlvZRS6UYooatFL8Aw"),
        json!({"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": "3da78f29c99beb50088f2b1abf13036b69727c18836e489086c343e64a053ee7"})
    );
    assert_eq!(
        url_validation_response(
            &Secret::new("demo-webhook-secret-token"),
            "qgg8vlvZRS6UYooatFL8Aw"
        )["encryptedToken"],
        "959fb5c35944cbe58f5ae045af5c378696bd5db3327376bdc5f3eb3af5585c1d"
    );
}

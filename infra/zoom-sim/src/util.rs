//! Ids and small helpers. Randomness comes from the OS (`getrandom`);
//! stable ids are SHA-256 digests, so the same input always gives the same id.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The OS's random source does not fail on the platforms the simulator runs on.
    getrandom::fill(&mut buf).expect("zoom-sim: the OS random source");
    buf
}

/// A random URL-safe string of `bytes` random bytes (tokens, page tokens).
pub(crate) fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// A random UUID v4, lower-case hex (chat message ids).
pub(crate) fn uuid_v4() -> String {
    let mut b = random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A participant UUID as the dashboard shows it ("D444CD06-2ABB-4FCC-819B-39E41D8DADF7").
pub(crate) fn participant_uuid() -> String {
    uuid_v4().to_ascii_uppercase()
}

/// A new 11-digit meeting number.
pub(crate) fn meeting_number() -> String {
    let b = random_bytes(8);
    let n = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
    (80_000_000_000 + n % 19_999_999_999).to_string()
}

pub(crate) fn digest(label: &str, value: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label.as_bytes());
    h.update(b":");
    h.update(value.as_bytes());
    h.finalize().into()
}

/// A stable Zoom-style user id (22 chars, like "KDcuGIm1QgePTO8WbOqwIQ") for an email.
pub(crate) fn zoom_user_id(email: &str) -> String {
    URL_SAFE_NO_PAD.encode(&digest("user", &email.to_ascii_lowercase())[..16])
}

/// A stable meeting UUID (base64 of 16 bytes, like "aDYlohsHRtCd4ii1uC2+hA==").
pub(crate) fn meeting_uuid(meeting_id: &str) -> String {
    STANDARD.encode(&digest("meeting-uuid", meeting_id)[..16])
}

/// A stable alphanumeric (hex) string of `len` ≤ 64 characters.
pub(crate) fn stable_hex(label: &str, value: &str, len: usize) -> String {
    let mut h = hex::encode(digest(label, value));
    h.truncate(len);
    h
}

/// `https://us02web.zoom.us/j/{id}?pwd=...`, stable per meeting.
pub(crate) fn join_url(meeting_id: &str) -> String {
    let pwd = stable_hex("pwd", meeting_id, 32);
    format!("https://us02web.zoom.us/j/{meeting_id}?pwd={pwd}")
}

pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// One round of percent-decoding; `None` if there is nothing to decode or it is malformed.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub(crate) fn minutes_ago(now: SystemTime, minutes: u64) -> SystemTime {
    now.checked_sub(Duration::from_secs(minutes * 60))
        .unwrap_or(now)
}

//! Small helpers: randomness without a `rand` dependency, ids, timestamps.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Process-wide 32-byte secret seed, from /dev/urandom (fallback: std's
/// randomly keyed SipHash mixed with time and pid).
fn seed() -> &'static [u8; 32] {
    static SEED: OnceLock<[u8; 32]> = OnceLock::new();
    SEED.get_or_init(|| {
        let mut buf = [0u8; 32];
        let from_os = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut buf))
            .is_ok();
        if !from_os {
            let mut h = Sha256::new();
            for i in 0..4u64 {
                let mut s = RandomState::new().build_hasher();
                s.write_u64(i);
                h.update(s.finish().to_le_bytes());
            }
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            h.update(now.as_nanos().to_le_bytes());
            h.update(std::process::id().to_le_bytes());
            buf.copy_from_slice(&h.finalize());
        }
        buf
    })
}

/// `N` unpredictable bytes: HMAC-SHA256(seed, counter) blocks.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(32) {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut mac = HmacSha256::new_from_slice(seed()).expect("HMAC accepts any key length");
        mac.update(b"random");
        mac.update(&n.to_le_bytes());
        let block = mac.finalize().into_bytes();
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
    out
}

/// Keyed MAC with the process seed (used for opaque page tokens).
pub(crate) fn seed_mac(data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(seed()).expect("HMAC accepts any key length");
    mac.update(b"mac");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Random UUID v4 in its usual lower-case hex form.
pub(crate) fn uuid_v4() -> String {
    let mut b: [u8; 16] = random_bytes();
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

/// Random URL-safe string of `N` random bytes.
pub(crate) fn random_b64url<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

pub(crate) fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub(crate) fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

fn digest(label: &str, value: &str) -> [u8; 32] {
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

/// A stable alphanumeric string derived from a label and a value.
pub(crate) fn stable_alnum(label: &str, value: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut block = digest(label, value);
    let mut i = 0;
    while out.len() < len {
        if i == block.len() {
            block = digest(label, &hex::encode(block));
            i = 0;
        }
        out.push(char::from(ALPHABET[usize::from(block[i]) % ALPHABET.len()]));
        i += 1;
    }
    out
}

/// A participant UUID as the dashboard shows it ("D444CD06-2ABB-2FCC-019B-39E41D8DADF7").
pub(crate) fn participant_uuid() -> String {
    uuid_v4().to_ascii_uppercase()
}

pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

pub(crate) fn unix_millis(t: SystemTime) -> u64 {
    u64::try_from(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}

/// "2022-03-01T10:15:14Z" (UTC, second precision), as Zoom formats date-times.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = unix_secs(t);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // leap day 2000
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_338_930);
        assert_eq!(rfc3339(t), "2026-11-22T09:15:30Z");
    }

    #[test]
    fn ids_look_right() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_ne!(u, uuid_v4());
        assert_eq!(zoom_user_id("A@example.com").len(), 22);
        assert_eq!(zoom_user_id("A@example.com"), zoom_user_id("a@example.com"));
        assert!(meeting_uuid("1").ends_with("=="));
        let s = stable_alnum("pwd", "85746065432", 32);
        assert_eq!(s.len(), 32);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(percent_decode("a%2Fb%3D%3D").as_deref(), Some("a/b=="));
        assert_eq!(percent_decode("plain"), None);
        assert_eq!(percent_decode("bad%2"), None);
    }
}

//! Device keys: `Authorization: Bearer <key>`, compared in constant time.

use std::fmt;

use lambda_http::http::{HeaderMap, header};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::headers::{HeaderError, exactly_one};
use crate::secret::Secret;

/// Device name → key. Keys are hashed for comparison so that neither the key's
/// content nor its length leaks through timing.
#[derive(Default, Clone)]
pub struct DeviceKeys(Vec<(String, [u8; 32])>);

impl fmt::Debug for DeviceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl DeviceKeys {
    pub fn from_pairs<I, N, K>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (N, K)>,
        N: Into<String>,
        K: AsRef<str>,
    {
        Self(
            pairs
                .into_iter()
                .map(|(n, k)| (n.into(), digest(k.as_ref())))
                .collect(),
        )
    }

    /// `{"device name": "key", ...}`; the error text never quotes a key.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let obj = v
            .as_object()
            .ok_or("must be a JSON object of device name to key")?;
        let mut pairs = Vec::with_capacity(obj.len());
        for (name, key) in obj {
            match key.as_str() {
                // API Gateway would deliver such a key as if two had been sent.
                Some(k) if k.contains(',') => {
                    return Err(format!("has a key for device {name:?} containing a comma"));
                }
                Some(k) if k.len() >= 16 => pairs.push((name.clone(), Secret::new(k))),
                Some(_) => {
                    return Err(format!(
                        "has a key for device {name:?} shorter than 16 characters"
                    ));
                }
                None => return Err(format!("has a non-string key for device {name:?}")),
            }
        }
        Ok(Self::from_pairs(
            pairs.iter().map(|(n, k)| (n.clone(), k.expose())),
        ))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The device whose key this is. Every stored key is compared, match or not.
    pub fn identify(&self, presented: &str) -> Option<&str> {
        let presented = digest(presented);
        let mut found = None;
        for (name, key) in &self.0 {
            if bool::from(key.ct_eq(&presented)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

#[derive(Debug, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Malformed,
    Duplicated,
    Unknown,
    NoKeysConfigured,
}

impl AuthFailure {
    pub fn message(&self) -> &'static str {
        match self {
            Self::Missing => "send the device key as 'Authorization: Bearer <key>'",
            Self::Malformed => "the Authorization header must be 'Bearer <key>'",
            Self::Duplicated => "send exactly one Authorization header",
            Self::Unknown => "the device key is not valid; check the key configured on the device",
            Self::NoKeysConfigured => {
                "no device keys are configured on the server; add one to the secret's device_keys"
            }
        }
    }
}

/// Finds the device for a request's `Authorization` header (exactly one,
/// comma-joined repeats included: see [`crate::headers`]).
pub fn authenticate<'a>(keys: &'a DeviceKeys, headers: &HeaderMap) -> Result<&'a str, AuthFailure> {
    let value = exactly_one(headers, header::AUTHORIZATION)
        .map_err(|e| match e {
            HeaderError::Missing => AuthFailure::Missing,
            HeaderError::Duplicated => AuthFailure::Duplicated,
            HeaderError::Invalid => AuthFailure::Malformed,
        })?
        .trim();
    let (scheme, key) = value.split_once(' ').ok_or(AuthFailure::Malformed)?;
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() {
        return Err(AuthFailure::Malformed);
    }
    if keys.is_empty() {
        return Err(AuthFailure::NoKeysConfigured);
    }
    keys.identify(key).ok_or(AuthFailure::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> DeviceKeys {
        DeviceKeys::from_pairs([
            ("desk-1", "key-one-0123456789"),
            ("desk-2", "key-two-0123456789"),
        ])
    }

    /// Repeated headers reach a Lambda comma-joined into one value, so the
    /// values are joined here the same way.
    fn auth<'a>(k: &'a DeviceKeys, values: &[&str]) -> Result<&'a str, AuthFailure> {
        let mut h = HeaderMap::new();
        if !values.is_empty() {
            h.insert(header::AUTHORIZATION, values.join(",").parse().unwrap());
        }
        authenticate(k, &h)
    }

    #[test]
    fn identifies_devices() {
        let k = keys();
        assert_eq!(auth(&k, &["Bearer key-two-0123456789"]), Ok("desk-2"));
        assert_eq!(auth(&k, &["bearer  key-one-0123456789 "]), Ok("desk-1"));
    }

    #[test]
    fn rejects_everything_else() {
        let k = keys();
        assert_eq!(auth(&k, &[]), Err(AuthFailure::Missing));
        assert_eq!(
            auth(&k, &["Bearer nope-0123456789abc"]),
            Err(AuthFailure::Unknown)
        );
        assert_eq!(
            auth(&k, &["Bearer key-one-012345678"]),
            Err(AuthFailure::Unknown)
        );
        assert_eq!(
            auth(&k, &["Basic key-one-0123456789"]),
            Err(AuthFailure::Malformed)
        );
        assert_eq!(auth(&k, &["Bearer "]), Err(AuthFailure::Malformed));
        assert_eq!(
            auth(&k, &["key-one-0123456789"]),
            Err(AuthFailure::Malformed)
        );
        assert_eq!(
            auth(
                &k,
                &["Bearer key-one-0123456789", "Bearer key-one-0123456789"]
            ),
            Err(AuthFailure::Duplicated)
        );
        assert_eq!(
            auth(&DeviceKeys::default(), &["Bearer key-one-0123456789"]),
            Err(AuthFailure::NoKeysConfigured)
        );
    }

    #[test]
    fn debug_shows_names_only() {
        let shown = format!("{:?}", keys());
        assert!(shown.contains("desk-1") && !shown.contains("key-one"));
    }

    #[test]
    fn json_keys_are_validated_without_echoing_them() {
        let err = DeviceKeys::from_json(&serde_json::json!({"desk": "shortkey"})).unwrap_err();
        assert!(!err.contains("shortkey") && err.contains("desk"));
        let err = DeviceKeys::from_json(&serde_json::json!({"desk": "long,enough-0123456789"}))
            .unwrap_err();
        assert!(err.contains("comma") && !err.contains("enough"));
    }
}

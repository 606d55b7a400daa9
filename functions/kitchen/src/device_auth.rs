//! Device keys: `Authorization: Bearer <key>`, compared in constant time.

use lambda_http::http::{HeaderMap, header};

use crate::devices::{Device, Devices};
use crate::headers::{HeaderError, exactly_one};

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
                "no device keys are configured on the server; add a device to the secret's devices"
            }
        }
    }
}

/// Finds the device for a request's `Authorization` header.
pub fn authenticate<'a>(keys: &'a Devices, headers: &HeaderMap) -> Result<&'a Device, AuthFailure> {
    let key = bearer_key(headers)?;
    if keys.is_empty() {
        return Err(AuthFailure::NoKeysConfigured);
    }
    keys.identify(key).ok_or(AuthFailure::Unknown)
}

/// The key of the request's single `Authorization: Bearer <key>` header
/// (exactly one, comma-joined repeats included: see [`crate::headers`]), for
/// devices and page viewers alike.
pub fn bearer_key(headers: &HeaderMap) -> Result<&str, AuthFailure> {
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
    Ok(key)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keys() -> Devices {
        let secret = json!({"device_keys": {
            "desk-1": "key-one-0123456789",
            "desk-2": "key-two-0123456789"
        }});
        crate::devices::from_secret(secret.as_object().unwrap()).0
    }

    /// Each value sent as one more `Authorization` header, delivered as API
    /// Gateway delivers repeats (comma-joined into one value).
    fn auth<'a>(k: &'a Devices, values: &[&str]) -> Result<&'a str, AuthFailure> {
        let sent = values
            .iter()
            .fold(crate::testing::event("GET", "/x"), |e, v| {
                e.header("authorization", v)
            });
        authenticate(k, sent.request().headers()).map(|d| d.name.as_str())
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
            auth(&Devices::default(), &["Bearer key-one-0123456789"]),
            Err(AuthFailure::NoKeysConfigured)
        );
    }
}

//! Who may open the kitchen page: the secret's `viewers`,
//!
//! ```json
//! {"viewers": {"ana": {"key": "…", "admin": false}, "bo": {"key": "…", "admin": true}}}
//! ```
//!
//! Viewers see the page's data; admins may also end meetings. Keys live in a
//! [`KeyRing`] like the devices' (digests only, every key compared in constant
//! time), but in a ring of their own: a device key never opens the page. One
//! bad entry is skipped and reported by name, never by key; it does not take
//! the other viewers, or the devices, down.

use lambda_http::http::HeaderMap;
use serde_json::Value;

use crate::device_auth::{AuthFailure, bearer_key};
use crate::keyring::{KeyRing, Named, Skipped, check_key, entry_settings, read_entries};

/// One person who may open the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub name: String,
    pub admin: bool,
}

impl Named for Viewer {
    fn name(&self) -> &str {
        &self.name
    }
}

pub type Viewers = KeyRing<Viewer>;

/// Reads `viewers` from the secret's top-level object. Absent means nobody
/// can open the page (the page answers 401 to everyone).
pub fn from_secret(obj: &serde_json::Map<String, Value>) -> (Viewers, Vec<Skipped>) {
    let mut ring = Viewers::default();
    let mut skipped = Vec::new();
    let mut skip = |name: &str, reason: &str| skipped.push(Skipped::new("viewers", name, reason));
    read_entries(
        obj,
        "viewers",
        "\"viewers\" must be an object of name to {\"key\", \"admin\"}",
        |name, entry| {
            let (key, v) = viewer(name, entry)?;
            if ring.insert(key, v) {
                Ok(())
            } else {
                Err("its name or key is used by another viewer".into())
            }
        },
        &mut skip,
    );
    (ring, skipped)
}

fn viewer<'a>(name: &str, entry: &'a Value) -> Result<(&'a str, Viewer), String> {
    let fields = entry_settings("viewer", name, entry, &["admin"])?;
    // check_key also refuses a key with a comma (API Gateway would split it).
    let key = check_key(fields.get("key"))?;
    let admin = match fields.get("admin") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("its admin must be true or false".into()),
    };
    Ok((
        key,
        Viewer {
            name: name.to_owned(),
            admin,
        },
    ))
}

/// The viewer whose key the request's single `Authorization: Bearer <key>`
/// header carries.
pub fn authenticate<'a>(
    viewers: &'a Viewers,
    headers: &HeaderMap,
) -> Result<&'a Viewer, AuthFailure> {
    let key = bearer_key(headers)?;
    // No viewers configured and a wrong key look the same to a caller.
    viewers.identify(key).ok_or(AuthFailure::Unknown)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: Value) -> (Viewers, Vec<Skipped>) {
        from_secret(v.as_object().unwrap())
    }

    fn auth<'a>(v: &'a Viewers, value: &str) -> Result<&'a Viewer, AuthFailure> {
        let req = crate::testing::event("GET", "/api/rooms")
            .header("authorization", value)
            .request();
        authenticate(v, req.headers())
    }

    #[test]
    fn viewers_and_admins() {
        let (v, skipped) = parse(json!({"viewers": {
            "ana": {"key": "ana-viewer-key-000001", "admin": false},
            "bo": {"key": "bo-admin-key-0000001", "admin": true},
            "cy": {"key": "cy-viewer-key-000001"},
        }}));
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(v.len(), 3);
        assert_eq!(
            auth(&v, "Bearer ana-viewer-key-000001"),
            Ok(&Viewer {
                name: "ana".into(),
                admin: false
            })
        );
        assert!(auth(&v, "bearer  bo-admin-key-0000001 ").unwrap().admin);
        assert!(!auth(&v, "Bearer cy-viewer-key-000001").unwrap().admin);
        assert_eq!(
            auth(&v, "Bearer bo-admin-key-000000"),
            Err(AuthFailure::Unknown)
        );
        assert_eq!(
            auth(&v, "Basic bo-admin-key-0000001"),
            Err(AuthFailure::Malformed)
        );
        // API Gateway joins a repeated header with a comma.
        assert_eq!(
            auth(
                &v,
                "Bearer bo-admin-key-0000001,Bearer bo-admin-key-0000001"
            ),
            Err(AuthFailure::Duplicated)
        );
        assert_eq!(
            authenticate(&v, &HeaderMap::new()),
            Err(AuthFailure::Missing)
        );
        assert_eq!(
            auth(&Viewers::default(), "Bearer ana-viewer-key-000001"),
            Err(AuthFailure::Unknown)
        );
    }

    #[test]
    fn a_bad_entry_leaves_the_others_working_and_names_no_key() {
        let (v, skipped) = parse(json!({"viewers": {
            "ok": {"key": "ok-viewer-key-0000001"},
            "short": {"key": "topsecretshort"},
            "nokey": {"admin": true},
            "weird": {"key": "weird-viewer-key-00001", "admin": "yes"},
            "flat": "flat-viewer-key-000001",
            "twin": {"key": "ok-viewer-key-0000001"},
            "extra": {"key": "extra-viewer-key-0001", "room": "x"},
        }}));
        assert_eq!(v.len(), 1);
        let names: Vec<&str> = skipped.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), 6, "{skipped:?}");
        let all = format!("{skipped:?}");
        assert!(
            !all.contains("topsecretshort") && !all.contains("viewer-key"),
            "{all}"
        );
        assert!(auth(&v, "Bearer ok-viewer-key-0000001").is_ok());
        let (none, skipped) = parse(json!({"viewers": ["x"]}));
        assert!(none.is_empty() && skipped.len() == 1);
        assert!(parse(json!({})).0.is_empty());
    }
}

//! Bearer keys (devices, page viewers) compared in constant time. Keys are
//! kept only as SHA-256 digests, so neither a key's content nor its length
//! leaks through timing, and `Debug` shows names only.

use std::fmt;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shortest key accepted in the secret.
pub const MIN_KEY_LEN: usize = 16;

/// Something a key stands for: it has a name that may be logged.
pub trait Named {
    fn name(&self) -> &str;
}

/// A secret entry (a device or a viewer) that was left out, and why; never
/// its key. `field` is the secret's field it stood in (`devices`,
/// `device_keys`, `viewers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub field: &'static str,
    pub name: String,
    pub reason: String,
}

impl Skipped {
    pub fn new(field: &'static str, name: &str, reason: &str) -> Self {
        Self {
            field,
            name: name.to_owned(),
            reason: reason.to_owned(),
        }
    }

    /// Logs it for the operator (a warning naming the entry, never its key).
    pub fn log(&self) {
        tracing::warn!(field = self.field, entry = %self.name, reason = %self.reason, "an entry in the secret was ignored");
    }
}

/// Entries of `T`, each with the digest of its key.
#[derive(Clone)]
pub struct KeyRing<T> {
    entries: Vec<([u8; 32], T)>,
}

impl<T> Default for KeyRing<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<T: Named> fmt::Debug for KeyRing<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(_, e)| e.name()))
            .finish()
    }
}

impl<T: Named> KeyRing<T> {
    /// Adds an entry; refused (returns `false`) when its name or its key is
    /// already taken, so one key always means one entry.
    pub fn insert(&mut self, key: &str, entry: T) -> bool {
        let digest = digest(key);
        let taken = self
            .entries
            .iter()
            .any(|(d, e)| e.name() == entry.name() || bool::from(d.ct_eq(&digest)));
        if !taken {
            self.entries.push((digest, entry));
        }
        !taken
    }

    /// The entry whose key this is. Every stored digest is compared, match or not.
    pub fn identify(&self, presented: &str) -> Option<&T> {
        let presented = digest(presented);
        let mut found = None;
        for (d, entry) in &self.entries {
            if bool::from(d.ct_eq(&presented)) {
                found = Some(entry);
            }
        }
        found
    }

    pub fn get(&self, name: &str) -> Option<&T> {
        self.entries
            .iter()
            .map(|(_, e)| e)
            .find(|e| e.name() == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(_, e)| e)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// Why a key in the secret is unusable; never quotes the key.
pub fn check_key(key: Option<&Value>) -> Result<&str, &'static str> {
    match key {
        // API Gateway would deliver such a key as if two had been sent.
        Some(Value::String(k)) if k.contains(',') => Err("its key contains a comma"),
        Some(Value::String(k)) if k.len() >= MIN_KEY_LEN => Ok(k),
        Some(Value::String(_)) => Err("its key is shorter than 16 characters"),
        Some(_) => Err("its key is not a string"),
        None => Err("it has no key"),
    }
}

/// The entries of the secret's `field`, an object of name → entry (`devices`,
/// `device_keys`, `viewers`), each read by `read` in order. An entry `read`
/// refuses is reported to `skip` by name and reason (never by key); a field
/// that is not an object is reported as `*` with `shape`. Absent or `null`
/// means no entries.
pub fn read_entries<'a, T>(
    secret: &'a Map<String, Value>,
    field: &str,
    shape: &str,
    mut read: impl FnMut(&'a str, &'a Value) -> Result<T, String>,
    mut skip: impl FnMut(&str, &str),
) -> Vec<T> {
    let mut read_ok = Vec::new();
    match secret.get(field) {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) => {
            for (name, entry) in entries {
                match read(name, entry) {
                    Ok(v) => read_ok.push(v),
                    Err(why) => skip(name, &why),
                }
            }
        }
        Some(_) => skip("*", shape),
    }
    read_ok
}

/// The settings of a named entry (a `devices` or `viewers` entry): its name has
/// 1 to 64 printable characters, and it is an object with `key` and otherwise
/// only the `optional` settings. `kind` names the entry in the reasons.
pub fn entry_settings<'a>(
    kind: &str,
    name: &str,
    entry: &'a Value,
    optional: &[&str],
) -> Result<&'a Map<String, Value>, String> {
    if name.trim().is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(format!("a {kind} name has 1 to 64 printable characters"));
    }
    let quoted: Vec<String> = optional.iter().map(|o| format!("\"{o}\"")).collect();
    let fields = entry.as_object().ok_or_else(|| {
        format!(
            "must be an object with \"key\" (and optionally {})",
            quoted.join(", ")
        )
    })?;
    if let Some(unknown) = fields
        .keys()
        .find(|k| k.as_str() != "key" && !optional.contains(&k.as_str()))
    {
        return Err(format!(
            "unknown setting {unknown:?} (known: key, {})",
            optional.join(", ")
        ));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct E(&'static str);
    impl Named for E {
        fn name(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn identifies_by_key_and_refuses_reused_names_and_keys() {
        let mut ring = KeyRing::default();
        assert!(ring.insert("key-one-0123456789", E("one")));
        assert!(ring.insert("key-two-0123456789", E("two")));
        assert!(!ring.insert("key-one-0123456789", E("three")), "same key");
        assert!(!ring.insert("key-other-0123456789", E("one")), "same name");
        assert_eq!(ring.identify("key-two-0123456789"), Some(&E("two")));
        assert_eq!(ring.identify("key-two-012345678"), None);
        assert_eq!(ring.get("one"), Some(&E("one")));
        assert_eq!(ring.len(), 2);
        let shown = format!("{ring:?}");
        assert!(
            shown.contains("one") && !shown.contains("key-one"),
            "{shown}"
        );
    }

    #[test]
    fn key_checks_never_quote_the_key() {
        use serde_json::json;
        assert_eq!(
            check_key(Some(&json!("0123456789abcdef"))),
            Ok("0123456789abcdef")
        );
        for bad in [
            json!("shortkey"),
            json!(7),
            json!(null),
            json!("shortkey,0123456789"),
        ] {
            let why = check_key(Some(&bad)).unwrap_err();
            assert!(!why.contains("shortkey"));
        }
        assert_eq!(check_key(None), Err("it has no key"));
    }
}

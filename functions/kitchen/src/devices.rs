//! The desk devices of a deployment, from the secret:
//!
//! ```json
//! {"devices": {"desk-anna": {"key": "…", "owner": "anna@example.com", "room": "lounge"}},
//!  "device_keys": {"old-desk": "…"}}
//! ```
//!
//! `owner` and `room` are optional: no `room` means the default room, no
//! `owner` means the device may send the link to anyone. The older
//! `device_keys` map (name → key) gives devices with neither. One bad entry is
//! skipped and reported by name; it never takes the other devices down. A room
//! name is only checked for its form here: a device naming a room the
//! deployment does not serve is refused when it is used.

use serde_json::{Map, Value};

use crate::keyring::{KeyRing, Named, Skipped, check_key, entry_settings, read_entries};
use crate::request::validate_email;
use crate::rooms::validate_name;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub name: String,
    /// The only recipient this device may send the link to.
    pub owner: Option<String>,
    /// `None`: the deployment's default room.
    pub room: Option<String>,
}

impl Named for Device {
    fn name(&self) -> &str {
        &self.name
    }
}

pub type Devices = KeyRing<Device>;

/// Reads `devices` and `device_keys` from the secret's top-level object.
/// A field of the wrong shape as a whole is skipped the same way as an entry.
/// A key given to two devices opens neither (it would not say which device
/// is calling); a name in both maps is the `devices` entry.
pub fn from_secret(obj: &Map<String, Value>) -> (Devices, Vec<Skipped>) {
    let mut skipped = Vec::new();
    let mut skip =
        |field, name: &str, reason: &str| skipped.push(Skipped::new(field, name, reason));
    let mut candidates: Vec<(&'static str, &str, Device)> = read_entries(
        obj,
        "devices",
        "must be an object of device name to settings",
        |name, entry| device(name, entry).map(|(key, device)| ("devices", key, device)),
        |name, why| skip("devices", name, why),
    );
    let legacy = read_entries(
        obj,
        "device_keys",
        "must be an object of device name to key",
        |name, key| {
            if candidates.iter().any(|(_, _, d)| d.name == name) {
                return Err("the device is also in \"devices\", which wins".into());
            }
            let key = check_key(Some(key))?;
            let device = Device {
                name: name.to_owned(),
                owner: None,
                room: None,
            };
            Ok(("device_keys", key, device))
        },
        |name, why| skip("device_keys", name, why),
    );
    candidates.extend(legacy);
    let mut ring = Devices::default();
    for (field, key, device) in &candidates {
        let shared = candidates.iter().filter(|(_, k, _)| k == key).count() > 1;
        if shared || !ring.insert(key, device.clone()) {
            skip(field, &device.name, "its key is also another device's key");
        }
    }
    (ring, skipped)
}

fn device<'a>(name: &str, entry: &'a Value) -> Result<(&'a str, Device), String> {
    let fields = entry_settings("device", name, entry, &["owner", "room"])?;
    let key = check_key(fields.get("key"))?;
    let owner = match fields.get("owner") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(validate_email(s).map_err(|why| format!("its owner {why}"))?)
        }
        Some(_) => return Err("its owner must be an email address".into()),
    };
    let room = match fields.get("room") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            validate_name(s).map_err(|why| format!("its room: {why}"))?;
            Some(s.clone())
        }
        Some(_) => return Err("its room must be a room name".into()),
    };
    Ok((
        key,
        Device {
            name: name.to_owned(),
            owner,
            room,
        },
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: Value) -> (Devices, Vec<Skipped>) {
        from_secret(v.as_object().unwrap())
    }

    #[test]
    fn devices_with_owner_and_room_and_legacy_keys() {
        let (ring, skipped) = parse(json!({
            "devices": {
                "desk-anna": {"key": "anna-key-0123456789", "owner": "Anna@Example.COM", "room": "lounge"},
                "desk-hall": {"key": "hall-key-0123456789"}
            },
            "device_keys": {"old-desk": "old-key-0123456789"}
        }));
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(ring.len(), 3);
        let anna = ring.identify("anna-key-0123456789").unwrap();
        assert_eq!(anna.owner.as_deref(), Some("Anna@example.com"));
        assert_eq!(anna.room.as_deref(), Some("lounge"));
        let old = ring.identify("old-key-0123456789").unwrap();
        assert_eq!(
            (old.name.as_str(), &old.owner, &old.room),
            ("old-desk", &None, &None)
        );
    }

    #[test]
    fn one_bad_entry_leaves_the_others_working() {
        let (ring, skipped) = parse(json!({
            "devices": {
                "short": {"key": "tinykey"},
                "bad-owner": {"key": "owner-key-0123456789", "owner": "not an email"},
                "bad-room": {"key": "room-key-0123456789", "room": "Big Room"},
                "typo": {"key": "typo-key-0123456789", "romo": "x"},
                "good": {"key": "good-key-0123456789"},
                "copy": {"key": "good-key-0123456789"},
                "solo": {"key": "solo-key-0123456789"}
            },
            "device_keys": {"legacy-short": "abc", "legacy": "legacy-key-0123456789", "good": "other-key-0123456789"}
        }));
        let mut names: Vec<_> = ring.iter().map(|d| d.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["legacy", "solo"]);
        let skipped_names: Vec<_> = skipped.iter().map(|s| s.name.as_str()).collect();
        for n in [
            "short",
            "bad-owner",
            "bad-room",
            "typo",
            "copy",
            "good",
            "legacy-short",
        ] {
            assert!(
                skipped_names.contains(&n),
                "{n} should be skipped: {skipped:?}"
            );
        }
        let text = format!("{skipped:?}");
        for key in ["tinykey", "owner-key", "good-key", "abc\""] {
            assert!(!text.contains(key), "{text} quotes a key");
        }
    }

    #[test]
    fn wrongly_shaped_fields_are_skipped_not_fatal() {
        let (ring, skipped) =
            parse(json!({"devices": ["x"], "device_keys": {"ok": "fine-key-0123456789"}}));
        assert_eq!(ring.len(), 1);
        assert_eq!(skipped[0].field, "devices");
    }
}

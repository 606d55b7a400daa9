//! The rooms one deployment serves: `KITCHEN_ROOMS` (template parameter
//! `Rooms`), or the single-room setting `ZOOM_MEETING_ID`, which means one
//! room named `kitchen`. Setting both is an error naming both.
//!
//! `KITCHEN_ROOMS` is a JSON object of room name to meeting id, or to an object
//! with the meeting id and optional per-room settings:
//!
//! ```json
//! {"kitchen": "85746065432",
//!  "lounge": {"meeting_id": "91234567890", "join_url": "https://…", "channel": "abc123"}}
//! ```

use std::fmt;

use serde_json::{Map, Value};

use crate::config::{ConfigError, Env};

/// The room a device without a `room` belongs to when there are several.
pub const DEFAULT_ROOM: &str = "kitchen";
pub const MAX_NAME_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// Lowercase letters, digits and `-`, at most 32 characters.
    pub name: String,
    /// Digits only (Zoom shows them grouped; the grouping is dropped).
    pub meeting_id: String,
    /// Join link to send instead of asking Zoom (`GET /meetings/{id}`).
    pub join_url: Option<String>,
    /// Team Chat channel for "someone is in the room" notices.
    pub channel: Option<String>,
}

/// Every room of the deployment, sorted by name; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rooms(Vec<Room>);

impl Rooms {
    /// `KITCHEN_ROOMS`, else `ZOOM_MEETING_ID` (with `ZOOM_JOIN_URL` as its
    /// override), else an error naming both.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        match (env.get("KITCHEN_ROOMS"), env.get("ZOOM_MEETING_ID")) {
            (Some(_), Some(_)) => Err(ConfigError::new(
                "KITCHEN_ROOMS",
                "and ZOOM_MEETING_ID are both set; keep one (ZOOM_MEETING_ID alone means one room named \"kitchen\")",
            )),
            (Some(json), None) => {
                if env.get("ZOOM_JOIN_URL").is_some() {
                    return Err(ConfigError::new(
                        "ZOOM_JOIN_URL",
                        "applies to ZOOM_MEETING_ID only; with KITCHEN_ROOMS give each room its own \"join_url\"",
                    ));
                }
                Self::parse(&json).map_err(|why| ConfigError::new("KITCHEN_ROOMS", why))
            }
            (None, Some(id)) => {
                let meeting_id =
                    meeting_id(&id).map_err(|why| ConfigError::new("ZOOM_MEETING_ID", why))?;
                let join_url = match env.get("ZOOM_JOIN_URL") {
                    Some(u) => {
                        Some(join_url(&u).map_err(|why| ConfigError::new("ZOOM_JOIN_URL", why))?)
                    }
                    None => None,
                };
                Ok(Self(vec![Room {
                    name: DEFAULT_ROOM.to_owned(),
                    meeting_id,
                    join_url,
                    channel: None,
                }]))
            }
            (None, None) => Err(ConfigError::new(
                "KITCHEN_ROOMS",
                "is required but not set (or set ZOOM_MEETING_ID for a single room named \"kitchen\")",
            )),
        }
    }

    /// Parses the `KITCHEN_ROOMS` JSON. Errors name the room and the problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|_| "must be a JSON object of room name to meeting id".to_owned())?;
        let obj = value
            .as_object()
            .ok_or("must be a JSON object of room name to meeting id")?;
        if obj.is_empty() {
            return Err("names no room".into());
        }
        let mut rooms = Vec::with_capacity(obj.len());
        for (name, v) in obj {
            validate_name(name).map_err(|why| format!("room {name:?}: {why}"))?;
            let room = room(name, v).map_err(|why| format!("room {name:?}: {why}"))?;
            if let Some(other) = rooms
                .iter()
                .find(|r: &&Room| r.meeting_id == room.meeting_id)
            {
                return Err(format!(
                    "rooms {:?} and {name:?} have the same meeting id",
                    other.name
                ));
            }
            rooms.push(room);
        }
        rooms.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self(rooms))
    }

    /// One room named `kitchen` (tests and the single-room setting).
    pub fn single(meeting_id: impl Into<String>) -> Self {
        Self(vec![Room {
            name: DEFAULT_ROOM.to_owned(),
            meeting_id: meeting_id.into(),
            join_url: None,
            channel: None,
        }])
    }

    pub fn get(&self, name: &str) -> Option<&Room> {
        self.0.iter().find(|r| r.name == name)
    }

    pub fn by_meeting_id(&self, meeting_id: &str) -> Option<&Room> {
        self.0.iter().find(|r| r.meeting_id == meeting_id)
    }

    /// Where a device without a `room` belongs: the only room, else `kitchen`.
    pub fn default_room(&self) -> Option<&Room> {
        match self.0.as_slice() {
            [only] => Some(only),
            all => all.iter().find(|r| r.name == DEFAULT_ROOM),
        }
    }

    /// The room a device (or caller) named, or the default room for `None`.
    pub fn resolve(&self, name: Option<&str>) -> Result<&Room, UnknownRoom> {
        match name {
            Some(n) => self.get(n).ok_or_else(|| UnknownRoom(Some(n.to_owned()))),
            None => self.default_room().ok_or(UnknownRoom(None)),
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Room> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Rooms {
    type Item = &'a Room;
    type IntoIter = std::slice::Iter<'a, Room>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A room name this deployment does not serve (`None`: no default room).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRoom(pub Option<String>);

impl fmt::Display for UnknownRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(name) => write!(f, "this deployment has no room named {name:?}"),
            None => write!(
                f,
                "this deployment has several rooms and none named \"{DEFAULT_ROOM}\"; give the device a room"
            ),
        }
    }
}

impl std::error::Error for UnknownRoom {}

pub fn validate_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err("a room name has 1 to 32 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("a room name has only lowercase letters, digits and '-'");
    }
    Ok(())
}

fn room(name: &str, v: &Value) -> Result<Room, String> {
    let mut room = Room {
        name: name.to_owned(),
        meeting_id: String::new(),
        join_url: None,
        channel: None,
    };
    match v {
        Value::String(_) | Value::Number(_) => room.meeting_id = meeting_id(&scalar(v))?,
        Value::Object(fields) => {
            room.meeting_id = match fields.get("meeting_id") {
                Some(id @ (Value::String(_) | Value::Number(_))) => meeting_id(&scalar(id))?,
                Some(_) => return Err("\"meeting_id\" must be a string".into()),
                None => return Err("\"meeting_id\" is missing".into()),
            };
            room.join_url = optional_text(fields, "join_url")?
                .map(|u| join_url(&u))
                .transpose()?;
            room.channel = optional_text(fields, "channel")?;
            if let Some(unknown) = fields
                .keys()
                .find(|k| !["meeting_id", "join_url", "channel"].contains(&k.as_str()))
            {
                return Err(format!(
                    "unknown setting {unknown:?} (known: meeting_id, join_url, channel)"
                ));
            }
        }
        _ => return Err("must be a meeting id or an object with \"meeting_id\"".into()),
    }
    Ok(room)
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn optional_text(fields: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(format!("{key:?} must be a string")),
    }
}

/// Zoom shows meeting ids grouped ("857 4606 5432"); that form is accepted.
pub fn meeting_id(raw: &str) -> Result<String, String> {
    let id: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if (9..=12).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        Err(format!(
            "must be a 9 to 12 digit Zoom meeting id, got {raw:?}"
        ))
    }
}

fn join_url(raw: &str) -> Result<String, String> {
    match reqwest::Url::parse(raw) {
        Ok(u) if u.scheme() == "https" && u.host().is_some() && raw.chars().count() <= 500 => {
            Ok(raw.to_owned())
        }
        _ => Err(format!(
            "join URL must be an https URL of at most 500 characters, got {:?}",
            raw.chars().take(80).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Rooms, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Rooms::from_env(&Env::from_fn(|k| map.get(k).cloned()))
    }

    #[test]
    fn the_single_room_setting_is_one_room_named_kitchen() {
        let rooms = load(&[("ZOOM_MEETING_ID", "857 4606 5432")]).unwrap();
        assert_eq!(rooms.len(), 1);
        let room = rooms.default_room().unwrap();
        assert_eq!(room.name, "kitchen");
        assert_eq!(room.meeting_id, "85746065432");
        assert_eq!(rooms.resolve(None).unwrap().name, "kitchen");
        let with_url = load(&[
            ("ZOOM_MEETING_ID", "123456789"),
            ("ZOOM_JOIN_URL", "https://zoom.us/j/123456789"),
        ])
        .unwrap();
        assert_eq!(
            with_url.get("kitchen").unwrap().join_url.as_deref(),
            Some("https://zoom.us/j/123456789")
        );
    }

    #[test]
    fn both_settings_or_neither_is_an_error_naming_them() {
        let e = load(&[
            ("ZOOM_MEETING_ID", "123456789"),
            ("KITCHEN_ROOMS", r#"{"kitchen":"123456789"}"#),
        ])
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("KITCHEN_ROOMS") && text.contains("ZOOM_MEETING_ID"),
            "{text}"
        );
        let e = load(&[]).unwrap_err().to_string();
        assert!(
            e.contains("KITCHEN_ROOMS") && e.contains("ZOOM_MEETING_ID"),
            "{e}"
        );
    }

    #[test]
    fn several_rooms_plain_and_detailed() {
        let rooms = load(&[(
            "KITCHEN_ROOMS",
            r#"{"lounge": {"meeting_id": "912 3456 7890", "channel": "ch-1", "join_url": "https://zoom.us/j/91234567890"},
                "kitchen": 85746065432}"#,
        )])
        .unwrap();
        let names: Vec<_> = rooms.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["kitchen", "lounge"]);
        assert_eq!(rooms.default_room().unwrap().name, "kitchen");
        let lounge = rooms.by_meeting_id("91234567890").unwrap();
        assert_eq!(lounge.name, "lounge");
        assert_eq!(lounge.channel.as_deref(), Some("ch-1"));
        assert_eq!(rooms.resolve(Some("lounge")).unwrap(), lounge);
        assert_eq!(
            rooms.resolve(Some("attic")).unwrap_err(),
            UnknownRoom(Some("attic".into()))
        );
    }

    #[test]
    fn several_rooms_without_kitchen_have_no_default() {
        let rooms = Rooms::parse(r#"{"lounge":"123456789","focus":"987654321"}"#).unwrap();
        assert_eq!(rooms.default_room(), None);
        assert!(
            rooms
                .resolve(None)
                .unwrap_err()
                .to_string()
                .contains("several rooms")
        );
        let one = Rooms::parse(r#"{"lounge":"123456789"}"#).unwrap();
        assert_eq!(one.default_room().unwrap().name, "lounge");
    }

    #[test]
    fn bad_room_settings_name_the_room_and_the_problem() {
        let cases = [
            ("[]", "JSON object"),
            ("{}", "names no room"),
            (r#"{"Kitchen":"123456789"}"#, "lowercase"),
            (
                r#"{"a-very-long-room-name-that-goes-on-and-on":"123456789"}"#,
                "1 to 32",
            ),
            (r#"{"kitchen":"12ab"}"#, "meeting id"),
            (r#"{"kitchen":{"channel":"x"}}"#, "meeting_id"),
            (
                r#"{"kitchen":{"meeting_id":"123456789","join_url":"http://x"}}"#,
                "https",
            ),
            (
                r#"{"kitchen":{"meeting_id":"123456789","chanel":"x"}}"#,
                "chanel",
            ),
            (r#"{"a":"123456789","b":"123 456 789"}"#, "same meeting id"),
            (r#"{"kitchen":true}"#, "meeting id"),
        ];
        for (text, expected) in cases {
            let e = Rooms::parse(text).unwrap_err();
            assert!(
                e.contains(expected),
                "{text}: {e:?} should mention {expected:?}"
            );
        }
        let e = load(&[
            ("KITCHEN_ROOMS", r#"{"kitchen":"123456789"}"#),
            ("ZOOM_JOIN_URL", "https://zoom.us/j/1"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "ZOOM_JOIN_URL");
    }
}

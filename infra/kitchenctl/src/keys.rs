//! `device add|list|revoke` and `viewer add|list|revoke`: the secret's
//! `devices` and `viewers` maps, edited on the secret's text so every other
//! field and entry stays byte-for-byte as it was. The legacy `device_keys` map
//! is listed and otherwise left alone (except when an entry of it is named).

use std::io::{BufRead, IsTerminal, Write};

use base64::Engine;
use serde_json::{Value, json};

use crate::json_text::{JsonText, quote};
use crate::outcome::{CtlError, Report};
use crate::secret_store::{Current, SecretStore};
use crate::settings::Settings;

const LEGACY: &str = "device_keys";
/// Bytes of randomness per key: 43 URL-safe characters.
const KEY_BYTES: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Device,
    Viewer,
}

impl Kind {
    fn section(self) -> &'static str {
        match self {
            Kind::Device => "devices",
            Kind::Viewer => "viewers",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Device => "device",
            Kind::Viewer => "viewer",
        }
    }
}

pub struct AddArgs {
    pub kind: Kind,
    pub name: String,
    pub owner: Option<String>,
    pub room: Option<String>,
    pub admin: bool,
    pub rotate: bool,
}

/// A new key: 32 bytes from the OS's secure random source, base64url.
pub fn new_key() -> Result<String, CtlError> {
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        CtlError::new(
            "no_randomness",
            format!("the OS's random source failed: {e}"),
        )
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn validate_name(kind: Kind, name: &str) -> Result<(), CtlError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(CtlError::usage(
            "invalid_name",
            format!(
                "{} name {name:?} is not allowed: use 1 to 64 letters, digits, '-', '_' or '.'",
                kind.noun()
            ),
        ))
    }
}

fn validate_owner(owner: &str) -> Result<(), CtlError> {
    let ok = owner.len() <= 254
        && owner
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        && !owner.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(CtlError::usage(
            "invalid_owner",
            format!("--owner {owner:?} is not an email address"),
        ))
    }
}

/// The room must be one of the deployment's rooms when they are configured;
/// otherwise only its form is checked.
fn validate_room(settings: &Settings, room: &str) -> Result<(), CtlError> {
    kitchen::rooms::validate_name(room)
        .map_err(|why| CtlError::usage("invalid_room", format!("--room {room:?}: {why}")))?;
    let env = settings.env();
    if env.get("KITCHEN_ROOMS").is_none() && env.get("ZOOM_MEETING_ID").is_none() {
        return Ok(());
    }
    let rooms = settings.rooms()?;
    if rooms.get(room).is_none() {
        let names: Vec<&str> = rooms.iter().map(|r| r.name.as_str()).collect();
        return Err(CtlError::usage(
            "unknown_room",
            format!(
                "--room {room:?} is not a room of this deployment (rooms: {})",
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

fn parse(
    current: &Current,
    store: &SecretStore,
) -> Result<(JsonText, serde_json::Map<String, Value>), CtlError> {
    let malformed = |why: String| {
        CtlError::new(
            "secret_malformed",
            format!("the secret {:?} is malformed: {why}", store.id),
        )
        .fix("repair it in the AWS console or with aws secretsmanager put-secret-value")
    };
    let doc = JsonText::parse(&current.text).map_err(|e| malformed(e.to_string()))?;
    let value: Value = serde_json::from_str(&current.text)
        .map_err(|_| malformed("it is not valid JSON".into()))?;
    let Value::Object(map) = value else {
        return Err(malformed("it is not a JSON object".into()));
    };
    for section in ["devices", "viewers", LEGACY] {
        if map
            .get(section)
            .is_some_and(|v| !v.is_object() && !v.is_null())
        {
            return Err(malformed(format!(
                "field \"{section}\" is not a JSON object"
            )));
        }
    }
    Ok((doc, map))
}

fn edit_error(store: &SecretStore, e: crate::json_text::EditError) -> CtlError {
    CtlError::new(
        "secret_malformed",
        format!("the secret {:?} cannot be edited: {e}", store.id),
    )
}

fn entry<'a>(
    map: &'a serde_json::Map<String, Value>,
    section: &str,
    name: &str,
) -> Option<&'a Value> {
    map.get(section)?.as_object()?.get(name)
}

pub async fn add(settings: &Settings, args: AddArgs) -> Result<Report, CtlError> {
    let kind = args.kind;
    validate_name(kind, &args.name)?;
    if let Some(o) = &args.owner {
        validate_owner(o)?;
    }
    if let Some(r) = &args.room {
        validate_room(settings, r)?;
    }
    let store = SecretStore::new(settings.sdk().await, settings.secret_id()?);
    let current = store.read().await?;
    let (mut doc, map) = parse(&current, &store)?;
    let name = args.name.as_str();
    let existing = entry(&map, kind.section(), name);
    let legacy = (kind == Kind::Device)
        .then(|| entry(&map, LEGACY, name))
        .flatten();
    if (existing.is_some() || legacy.is_some()) && !args.rotate {
        return Err(CtlError::new(
            "exists",
            format!(
                "{} {name:?} already exists; its key was not changed",
                kind.noun()
            ),
        )
        .fix(format!(
            "add --rotate to give it a new key, or pick another name (kitchenctl {} list)",
            kind.noun()
        )));
    }
    if existing.is_none() && legacy.is_none() && args.rotate {
        return Err(CtlError::new(
            "not_found",
            format!(
                "{} {name:?} does not exist, so it cannot be rotated",
                kind.noun()
            ),
        )
        .fix("leave out --rotate to add it"));
    }
    let key = new_key()?;
    let section = kind.section();
    let err = |e| edit_error(&store, e);
    match (existing, legacy) {
        (Some(Value::Object(_)), _) => {
            doc.set(&[section, name, "key"], &quote(&key))
                .map_err(err)?;
            if let Some(o) = &args.owner {
                doc.set(&[section, name, "owner"], &quote(o)).map_err(err)?;
            }
            if let Some(r) = &args.room {
                doc.set(&[section, name, "room"], &quote(r)).map_err(err)?;
            }
            if args.admin {
                doc.set(&[section, name, "admin"], "true").map_err(err)?;
            }
        }
        (None, Some(_)) => {
            if args.owner.is_some() || args.room.is_some() {
                return Err(CtlError::usage(
                    "legacy_device",
                    format!("device {name:?} is in the legacy device_keys map, which has no owner or room"),
                )
                .fix(format!("rotate it without --owner/--room, or `kitchenctl device revoke {name}` and add it again")));
            }
            doc.set(&[LEGACY, name], &quote(&key)).map_err(err)?;
        }
        _ => {
            let value = match kind {
                Kind::Device => {
                    let mut v = json!({ "key": key });
                    if let Some(o) = &args.owner {
                        v["owner"] = json!(o);
                    }
                    if let Some(r) = &args.room {
                        v["room"] = json!(r);
                    }
                    v
                }
                Kind::Viewer => json!({ "key": key, "admin": args.admin }),
            };
            doc.set(&[section, name], &value.to_string()).map_err(err)?;
        }
    }
    let written = store.write(&current, doc.as_str()).await?;

    // What the entry is now (owner/room kept on a rotation).
    let after: Value = serde_json::from_str(doc.as_str()).unwrap_or(Value::Null);
    let now = after.get(section).and_then(|s| s.get(name));
    let field = |f: &str| {
        now.and_then(|e| e.get(f))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let api = settings.api_url();
    let verb = if args.rotate {
        "Rotated the key of"
    } else {
        "Added"
    };
    let mut text = String::new();
    let mut out = json!({
        "name": name,
        "key": key,
        "rotated": args.rotate,
        "version_id": written.version_id,
        "secret_id": store.id,
    });
    match kind {
        Kind::Device => {
            let (owner, room) = (field("owner"), field("room"));
            out["owner"] = json!(owner);
            out["room"] = json!(room);
            out["legacy"] = json!(legacy.is_some());
            text.push_str(&format!(
                "{verb} device {name:?} (owner: {}, room: {}).\n",
                owner.as_deref().unwrap_or("anyone"),
                room.as_deref().unwrap_or("the default room")
            ));
            text.push_str(&format!(
                "Key (shown once, store it on the device now): {key}\n"
            ));
            match &api {
                Some(api) => {
                    let join = format!("{api}/join-meeting");
                    let count = format!("{api}/participant-count");
                    text.push_str(&format!(
                        "  POST {join}   (Authorization: Bearer <key>, body email=<address>)\n  GET  {count}   (Authorization: Bearer <key>)\n"
                    ));
                    out["urls"] = json!({ "join_meeting": join, "participant_count": count });
                }
                None => text
                    .push_str("  (set KITCHEN_API_URL or pass --stack to see the device's URLs)\n"),
            }
        }
        Kind::Viewer => {
            let admin = now
                .and_then(|e| e.get("admin"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            out["admin"] = json!(admin);
            text.push_str(&format!(
                "{verb} viewer {name:?}{}.\n",
                if admin { " (admin)" } else { "" }
            ));
            text.push_str(&format!("Key (shown once): {key}\n"));
            match &api {
                Some(api) => {
                    let link = format!("{api}/#k={key}");
                    text.push_str(&format!("  Sign-in link: {link}\n"));
                    out["sign_in_url"] = json!(link);
                }
                None => text
                    .push_str("  (set KITCHEN_API_URL or pass --stack to see the sign-in link)\n"),
            }
        }
    }
    text.push_str(&format!(
        "Secret {:?} is now version {}; the functions pick it up within KITCHEN_SECRET_TTL_SECONDS (5 minutes by default).\n",
        store.id, written.version_id
    ));
    Ok(Report::new(out, text))
}

pub async fn list(settings: &Settings, kind: Kind) -> Result<Report, CtlError> {
    let store = SecretStore::new(settings.sdk().await, settings.secret_id()?);
    let current = store.read().await?;
    let (_, map) = parse(&current, &store)?;
    let usable = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .is_some_and(|k| k.len() >= kitchen::keyring::MIN_KEY_LEN)
    };
    let mut rows = Vec::new();
    if let Some(Value::Object(entries)) = map.get(kind.section()) {
        for (name, v) in entries {
            let text_field = |f: &str| v.get(f).and_then(Value::as_str).map(str::to_owned);
            let mut row = json!({ "name": name });
            match kind {
                Kind::Device => {
                    row["owner"] = json!(text_field("owner"));
                    row["room"] = json!(text_field("room"));
                    row["legacy"] = json!(false);
                }
                Kind::Viewer => {
                    row["admin"] = json!(v.get("admin").and_then(Value::as_bool).unwrap_or(false))
                }
            }
            if !v.is_object() || !usable(v.get("key")) {
                row["problem"] =
                    json!("no usable key (a string of at least 16 characters); it is refused");
            }
            rows.push(row);
        }
    }
    if kind == Kind::Device
        && let Some(Value::Object(entries)) = map.get(LEGACY)
    {
        for (name, v) in entries {
            let mut row = json!({ "name": name, "owner": null, "room": null, "legacy": true });
            if !usable(Some(v)) {
                row["problem"] =
                    json!("no usable key (a string of at least 16 characters); it is refused");
            }
            rows.push(row);
        }
    }
    let mut text = String::new();
    if rows.is_empty() {
        text.push_str(&format!(
            "No {}s in the secret {:?}.\n",
            kind.noun(),
            store.id
        ));
    }
    for r in &rows {
        let name = r["name"].as_str().unwrap_or_default();
        let line = match kind {
            Kind::Device => format!(
                "{name:<24} owner: {:<28} room: {}{}",
                r["owner"].as_str().unwrap_or("anyone"),
                r["room"].as_str().unwrap_or("(default)"),
                if r["legacy"] == json!(true) {
                    "   (legacy device_keys)"
                } else {
                    ""
                }
            ),
            Kind::Viewer => format!(
                "{name:<24} {}",
                if r["admin"] == json!(true) {
                    "admin"
                } else {
                    "viewer"
                }
            ),
        };
        text.push_str(&line);
        if let Some(p) = r.get("problem").and_then(Value::as_str) {
            text.push_str(&format!("   PROBLEM: {p}"));
        }
        text.push('\n');
    }
    let key = format!("{}s", kind.noun());
    Ok(Report::new(
        json!({ key: rows, "secret_id": store.id }),
        text,
    ))
}

pub async fn revoke(
    settings: &Settings,
    kind: Kind,
    name: &str,
    yes: bool,
) -> Result<Report, CtlError> {
    let store = SecretStore::new(settings.sdk().await, settings.secret_id()?);
    let current = store.read().await?;
    let (mut doc, map) = parse(&current, &store)?;
    let in_section = entry(&map, kind.section(), name).is_some();
    let in_legacy = kind == Kind::Device && entry(&map, LEGACY, name).is_some();
    if !in_section && !in_legacy {
        return Err(CtlError::new(
            "not_found",
            format!("{} {name:?} does not exist", kind.noun()),
        )
        .fix(format!("kitchenctl {} list shows the names", kind.noun())));
    }
    if !yes && std::io::stdin().is_terminal() {
        let question = format!(
            "Revoke {} {name:?}? Its key stops working within KITCHEN_SECRET_TTL_SECONDS (5 minutes by default). [y/N] ",
            kind.noun()
        );
        if !confirm(&question) {
            return Err(CtlError::new("not_confirmed", "nothing was revoked"));
        }
    }
    let err = |e| edit_error(&store, e);
    if in_section {
        doc.remove(&[kind.section(), name]).map_err(err)?;
    }
    if in_legacy {
        doc.remove(&[LEGACY, name]).map_err(err)?;
    }
    let written = store.write(&current, doc.as_str()).await?;
    let text = format!(
        "Revoked {} {name:?}{}. Secret {:?} is now version {}.\n",
        kind.noun(),
        if in_legacy {
            " (legacy device_keys)"
        } else {
            ""
        },
        store.id,
        written.version_id
    );
    Ok(Report::new(
        json!({ "name": name, "revoked": true, "version_id": written.version_id, "secret_id": store.id }),
        text,
    ))
}

fn confirm(question: &str) -> bool {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_url_safe_and_different() {
        let a = new_key().unwrap();
        let b = new_key().unwrap();
        assert!(a.len() >= 32, "{}", a.len());
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
    }

    #[test]
    fn names_and_owners() {
        assert!(validate_name(Kind::Device, "desk-1.b_2").is_ok());
        assert!(validate_name(Kind::Device, "").is_err());
        assert!(validate_name(Kind::Device, "a b").is_err());
        assert!(validate_name(Kind::Device, &"x".repeat(65)).is_err());
        assert!(validate_owner("alice@example.com").is_ok());
        assert!(validate_owner("alice").is_err());
        assert!(validate_owner("a lice@example.com").is_err());
    }
}

//! `secret init`: creates the secret from the Zoom credentials in the
//! environment, or fills the placeholders of the one the stack created. Asks
//! on a terminal only for what was not given; never prints a value.

use std::io::{BufRead, IsTerminal, Write};

use serde_json::{Value, json};

use crate::json_text::{JsonText, quote};
use crate::outcome::{CtlError, Report};
use crate::secret_store::SecretStore;
use crate::settings::Settings;

/// What the stack's placeholder secret holds until someone fills it.
const PLACEHOLDER: &str = "REPLACE_ME";

/// Secret field, its variable, whether the functions need it, hidden input.
const FIELDS: [(&str, &str, bool, bool); 4] = [
    ("account_id", "ZOOM_ACCOUNT_ID", true, false),
    ("client_id", "ZOOM_CLIENT_ID", true, false),
    ("client_secret", "ZOOM_CLIENT_SECRET", true, true),
    (
        "webhook_secret_token",
        "ZOOM_WEBHOOK_SECRET_TOKEN",
        false,
        true,
    ),
];

fn is_placeholder(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty() || s == PLACEHOLDER,
        Some(_) => false,
    }
}

pub async fn run(settings: &Settings, overwrite: bool) -> Result<Report, CtlError> {
    let store = SecretStore::new(settings.sdk().await, settings.secret_id()?);
    let env = settings.env();
    let interactive = std::io::stdin().is_terminal();
    let existing = store.read_if_exists().await?;
    let stored: serde_json::Map<String, Value> = match &existing {
        None => serde_json::Map::new(),
        Some(c) => match serde_json::from_str(&c.text) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(CtlError::new(
                    "secret_malformed",
                    format!(
                        "the secret {:?} exists but is not a JSON object; it was left alone",
                        store.id
                    ),
                )
                .fix("delete it or repair it by hand, then run `kitchenctl secret init` again"));
            }
        },
    };

    let mut set = Vec::new();
    let mut kept = Vec::new();
    let mut missing = Vec::new();
    let mut values: Vec<(&str, String)> = Vec::new();
    for (field, var, required, hidden) in FIELDS {
        let placeholder = is_placeholder(stored.get(field));
        let given = env.get(var);
        let value = match given {
            Some(v) if placeholder || overwrite => Some(v),
            Some(v) => {
                if stored.get(field).and_then(Value::as_str) != Some(v.as_str()) {
                    kept.push(format!(
                        "{field} (differs from {var}; --overwrite replaces it)"
                    ));
                }
                None
            }
            None if placeholder && required && interactive => {
                let v = prompt(&format!("{var} ({field})"), hidden)?;
                (!v.is_empty()).then_some(v)
            }
            None => None,
        };
        match value {
            Some(v) => {
                set.push(field);
                values.push((field, v));
            }
            None if placeholder && required => missing.push(var),
            None => {}
        }
    }
    if !missing.is_empty() {
        return Err(CtlError::usage(
            "missing_credentials",
            format!(
                "the secret {:?} needs {}; nothing was written",
                store.id,
                missing.join(", ")
            ),
        )
        .fix("set the Zoom app's credentials (Zoom App Marketplace → your Server-to-Server OAuth app → App Credentials) in those variables and run again"));
    }

    let created = existing.is_none();
    let written = match existing {
        None => {
            let mut obj = serde_json::Map::new();
            for (field, v) in &values {
                obj.insert((*field).to_owned(), json!(v));
            }
            obj.insert("devices".into(), json!({}));
            obj.insert("viewers".into(), json!({}));
            Some(store.create(&Value::Object(obj).to_string()).await?)
        }
        Some(current) if !values.is_empty() => {
            let mut doc = JsonText::parse(&current.text).map_err(|e| {
                CtlError::new(
                    "secret_malformed",
                    format!("the secret cannot be edited: {e}"),
                )
            })?;
            for (field, v) in &values {
                doc.set(&[field], &quote(v)).map_err(|e| {
                    CtlError::new(
                        "secret_malformed",
                        format!("the secret cannot be edited: {e}"),
                    )
                })?;
            }
            Some(store.write(&current, doc.as_str()).await?)
        }
        Some(_) => None,
    };
    let webhook_placeholder = !set.contains(&"webhook_secret_token")
        && is_placeholder(stored.get("webhook_secret_token"));

    let mut text = match &written {
        Some(w) if created => format!(
            "Created the secret {:?} (version {}).\n",
            store.id, w.version_id
        ),
        Some(w) => format!(
            "Updated the secret {:?} (version {}).\n",
            store.id, w.version_id
        ),
        None => format!(
            "The secret {:?} is already set up; nothing was written.\n",
            store.id
        ),
    };
    if !set.is_empty() {
        text.push_str(&format!("Set: {}\n", set.join(", ")));
    }
    for k in &kept {
        text.push_str(&format!("Kept: {k}\n"));
    }
    if webhook_placeholder {
        text.push_str("Not set: webhook_secret_token (set ZOOM_WEBHOOK_SECRET_TOKEN to the app's Event Subscriptions secret token; the count needs it when it uses webhooks)\n");
    }
    text.push_str("Next: kitchenctl device add NAME, then kitchenctl doctor\n");
    Ok(Report::new(
        json!({
            "secret_id": store.id,
            "created": created,
            "written": written.is_some(),
            "version_id": written.map(|w| w.version_id),
            "set": set,
            "kept": kept,
            "webhook_secret_token_missing": webhook_placeholder,
        }),
        text,
    ))
}

/// Reads one line from the terminal; `hidden` switches the echo off.
fn prompt(label: &str, hidden: bool) -> Result<String, CtlError> {
    eprint!("{label}: ");
    let _ = std::io::stderr().flush();
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success())
    };
    let echo_off = hidden && stty("-echo");
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if echo_off {
        stty("echo");
        eprintln!();
    }
    read.map_err(|e| CtlError::new("input", format!("reading {label} failed: {e}")))?;
    Ok(line.trim().to_owned())
}

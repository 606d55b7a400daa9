//! What a command answers: human text on the terminal, or one JSON document
//! with `--json`. Failures carry a stable `error` code, a message and a fix,
//! and map to the exit status. Nothing here ever holds a secret value except
//! the one key a `device add` / `viewer add` prints on purpose.

use std::process::ExitCode;

use serde_json::{Value, json};

/// Exit statuses (also in `kitchenctl --help`).
pub mod exit {
    /// The command did what it was asked; `doctor` found nothing wrong.
    pub const OK: u8 = 0;
    /// It failed: Zoom or AWS refused or could not be reached, a check failed,
    /// the name is unknown or already taken.
    pub const FAILED: u8 = 1;
    /// The command line or the configuration is wrong (a variable is missing).
    pub const USAGE: u8 = 2;
    /// The secret changed while the command ran; nothing was overwritten
    /// silently (see the message for what was written, if anything).
    pub const CONFLICT: u8 = 3;
}

#[derive(Debug, Clone)]
pub struct CtlError {
    /// Stable machine-readable code, e.g. `aws_unreachable`, `zoom_missing_scope`.
    pub code: &'static str,
    pub message: String,
    pub fix: Option<String>,
    pub exit: u8,
}

impl CtlError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fix: None,
            exit: exit::FAILED,
        }
    }

    pub fn usage(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            exit: exit::USAGE,
            ..Self::new(code, message)
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            exit: exit::CONFLICT,
            ..Self::new("conflict", message)
        }
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

impl From<kitchen::config::ConfigError> for CtlError {
    fn from(e: kitchen::config::ConfigError) -> Self {
        CtlError::usage("config", e.to_string())
    }
}

/// A successful answer: the JSON document (with `"ok": true` added) and the
/// lines a person reads.
pub struct Report {
    pub json: Value,
    pub text: String,
    /// `doctor` answers a document even when a check failed: exit 1 then.
    pub exit: u8,
}

impl Report {
    pub fn new(json: Value, text: impl Into<String>) -> Self {
        Self {
            json,
            text: text.into(),
            exit: exit::OK,
        }
    }
}

pub fn print(result: Result<Report, CtlError>, as_json: bool) -> ExitCode {
    match result {
        Ok(report) => {
            if as_json {
                let mut doc = report.json;
                if let Value::Object(map) = &mut doc {
                    map.entry("ok")
                        .or_insert(Value::Bool(report.exit == exit::OK));
                }
                println!("{doc}");
            } else {
                print!("{}", report.text);
                if !report.text.ends_with('\n') {
                    println!();
                }
            }
            ExitCode::from(report.exit)
        }
        Err(e) => {
            if as_json {
                println!(
                    "{}",
                    json!({"ok": false, "error": e.code, "message": e.message, "fix": e.fix})
                );
            } else {
                eprintln!("kitchenctl: {}", e.message);
                if let Some(fix) = &e.fix {
                    eprintln!("  fix: {fix}");
                }
            }
            ExitCode::from(e.exit)
        }
    }
}

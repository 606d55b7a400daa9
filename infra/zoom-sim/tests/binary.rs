//! The `zoom-sim` binary: readiness line, chat echo, clean exit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use zoom_sim::{DEMO_ACCOUNT_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TECH_USER};

struct Killer(Child);

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_serves_the_demo_and_echoes_chat() {
    let mut child = Killer(
        Command::new(env!("CARGO_BIN_EXE_zoom-sim"))
            .args(["--port", "0", "--token-ttl=120"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start zoom-sim"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a line").expect("utf-8 line");
    let base = first
        .strip_prefix("zoom-sim listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();

    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let v: Value = c
        .post(format!(
            "{base}/oauth/token?grant_type=account_credentials&account_id={DEMO_ACCOUNT_ID}"
        ))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["expires_in"], 120);
    let tok = v["access_token"].as_str().unwrap();
    let r = c
        .post(format!("{base}/v2/chat/users/{DEMO_TECH_USER}/messages"))
        .bearer_auth(tok)
        .json(&json!({"message": "coffee time", "to_contact": "carol@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);

    let echoed = tokio::task::spawn_blocking(move || lines.next())
        .await
        .unwrap()
        .expect("an echo line")
        .unwrap();
    assert_eq!(echoed, "[zoom-sim] chat to carol@example.com: coffee time");

    #[cfg(unix)]
    {
        let pid = child.0.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            let status = child.0.wait().expect("wait");
            assert!(status.success(), "exit status after SIGTERM: {status}");
        }
    }
}

#[test]
fn binary_rejects_unknown_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_zoom-sim"))
        .arg("--bogus")
        .output()
        .expect("run zoom-sim");
    assert_eq!(out.status.code(), Some(2));
    let help = Command::new(env!("CARGO_BIN_EXE_zoom-sim"))
        .arg("--help")
        .output()
        .expect("run zoom-sim");
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--webhook-url"));
}

//! `secret init`, `device …` and `viewer …` run as the built binary against
//! moto's Secrets Manager.

mod common;

use common::*;
use serde_json::Value;

/// The fields `secret init` sets from the environment.
const SECRET_FIELDS: [&str; 4] = [
    "account_id",
    "client_id",
    "client_secret",
    "webhook_secret_token",
];

/// A secret with everything a hand-edited one may have: unknown fields,
/// escapes, odd numbers, pretty-printing, a legacy `device_keys` map.
const SEED: &str = r#"{
  "account_id": "demo-account",
  "client_id": "demo-client-id",
  "client_secret": "demo-client-secret",
  "webhook_secret_token": "demo-webhook-secret-token",
  "note": "caf\u00e9 \"quoted\" {not: json}",
  "limits": [1, 2.50, 1e3, null, true],
  "device_keys": {"old-desk": "legacy-key-0123456789abcdef"},
  "devices": {
    "desk-a": {"key": "key-a-0123456789abcdef", "owner": "alice@example.com", "room": "kitchen", "label": "by the window"}
  },
  "viewers": {"ann": {"key": "viewer-key-0123456789abcdef", "admin": true}}
}
"#;

const SEED_SECRETS: [&str; 5] = [
    "demo-client-secret",
    "demo-webhook-secret-token",
    "legacy-key-0123456789abcdef",
    "key-a-0123456789abcdef",
    "viewer-key-0123456789abcdef",
];

const ROOMS: &str = r#"{"kitchen":"85746065432","lounge":"91234567890"}"#;

async fn seeded() -> (String, Vec<(String, String)>) {
    let moto = moto_endpoint();
    let id = unique("ctl-secret");
    create_secret(&moto, &id, SEED).await;
    let env = with(
        &aws_env(&moto),
        &[
            ("ZOOM_SECRET_ID", &id),
            ("KITCHEN_ROOMS", ROOMS),
            ("KITCHEN_API_URL", "https://api.example.test/"),
        ],
    );
    (id, env)
}

fn key_of(run: &Run) -> String {
    let key = run.json()["key"].as_str().expect("key").to_owned();
    assert!(key.len() >= 32, "{key}");
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    key
}

#[tokio::test]
async fn device_add_list_rotate_revoke_keep_every_other_byte() {
    let moto = moto_endpoint();
    let (id, env) = seeded().await;

    // add: the new entry is inserted after the last device, in its spacing.
    let add = ctl(
        &env,
        &[
            "device",
            "add",
            "desk-b",
            "--owner",
            "bob@example.com",
            "--room",
            "lounge",
            "--json",
        ],
    )
    .await;
    assert_eq!(add.status, 0, "{add:?}");
    let k1 = key_of(&add);
    let doc = add.json();
    assert_eq!(doc["ok"], true);
    assert_eq!(
        doc["urls"]["join_meeting"],
        "https://api.example.test/join-meeting"
    );
    assert_eq!(
        doc["urls"]["participant_count"],
        "https://api.example.test/participant-count"
    );
    assert_eq!(doc["owner"], "bob@example.com");
    assert_eq!(doc["room"], "lounge");
    add.assert_no_secrets(&SEED_SECRETS);
    let after_add = secret_text(&moto, &id).await;
    let anchor = r#""label": "by the window"}"#;
    let inserted = format!(
        r#",
    "desk-b": {{"key":"{k1}","owner":"bob@example.com","room":"lounge"}}"#
    );
    assert_eq!(
        after_add,
        SEED.replacen(anchor, &format!("{anchor}{inserted}"), 1)
    );

    // The human form prints the key once and both URLs.
    let add_text = ctl(&env, &["device", "add", "desk-c"]).await;
    assert_eq!(add_text.status, 0, "{add_text:?}");
    assert_eq!(add_text.stdout.matches("Key (shown once").count(), 1);
    assert!(
        add_text
            .stdout
            .contains("POST https://api.example.test/join-meeting")
    );
    assert!(
        add_text
            .stdout
            .contains("GET  https://api.example.test/participant-count")
    );
    let revoke_c = ctl(&env, &["device", "revoke", "desk-c"]).await;
    assert_eq!(revoke_c.status, 0, "{revoke_c:?}");
    assert_eq!(secret_text(&moto, &id).await, after_add);

    // list: names, owners, rooms and the legacy entry; never a key.
    let list = ctl(&env, &["device", "list", "--json"]).await;
    assert_eq!(list.status, 0, "{list:?}");
    list.assert_no_secrets(&SEED_SECRETS);
    list.assert_no_secrets(&[&k1]);
    let rows = list.json()["devices"].as_array().expect("devices").clone();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .cloned()
            .expect(name)
    };
    assert_eq!(row("desk-a")["owner"], "alice@example.com");
    assert_eq!(row("desk-a")["room"], "kitchen");
    assert_eq!(row("desk-b")["room"], "lounge");
    assert_eq!(row("old-desk")["legacy"], true);
    assert_eq!(row("old-desk")["owner"], Value::Null);
    assert_eq!(rows.len(), 3);
    let human = ctl(&env, &["device", "list"]).await;
    assert!(
        human.stdout.contains("old-desk") && human.stdout.contains("legacy"),
        "{human:?}"
    );
    human.assert_no_secrets(&SEED_SECRETS);

    // An existing name is refused without --rotate; nothing changes.
    let again = ctl(&env, &["device", "add", "desk-b", "--json"]).await;
    assert_eq!(again.status, 1, "{again:?}");
    assert_eq!(again.json()["error"], "exists");
    assert!(again.json()["fix"].as_str().unwrap().contains("--rotate"));
    assert_eq!(secret_text(&moto, &id).await, after_add);

    // rotate: only the key's bytes change; owner and room are kept.
    let rotate = ctl(&env, &["device", "add", "desk-b", "--rotate", "--json"]).await;
    assert_eq!(rotate.status, 0, "{rotate:?}");
    let k2 = key_of(&rotate);
    assert_ne!(k1, k2);
    assert_eq!(rotate.json()["owner"], "bob@example.com");
    let after_rotate = secret_text(&moto, &id).await;
    assert_eq!(after_rotate, after_add.replace(&k1, &k2));

    // rotating a legacy device keeps it in device_keys.
    let legacy = ctl(&env, &["device", "add", "old-desk", "--rotate", "--json"]).await;
    assert_eq!(legacy.status, 0, "{legacy:?}");
    let k3 = key_of(&legacy);
    let after_legacy = secret_text(&moto, &id).await;
    assert_eq!(
        after_legacy,
        after_rotate.replace("legacy-key-0123456789abcdef", &k3)
    );

    // revoke (stdin is not a terminal: no question) brings back the rest exactly.
    let revoke = ctl(&env, &["device", "revoke", "desk-b", "--json"]).await;
    assert_eq!(revoke.status, 0, "{revoke:?}");
    assert_eq!(revoke.json()["revoked"], true);
    assert_eq!(
        secret_text(&moto, &id).await,
        SEED.replace("legacy-key-0123456789abcdef", &k3)
    );

    let unknown = ctl(&env, &["device", "revoke", "nobody", "--json"]).await;
    assert_eq!(unknown.status, 1, "{unknown:?}");
    assert_eq!(unknown.json()["error"], "not_found");
}

#[tokio::test]
async fn device_options_are_checked_before_anything_is_written() {
    let moto = moto_endpoint();
    let (id, env) = seeded().await;
    for (args, code) in [
        (
            vec!["device", "add", "desk-x", "--room", "attic"],
            "unknown_room",
        ),
        (
            vec!["device", "add", "desk-x", "--owner", "not-an-email"],
            "invalid_owner",
        ),
        (vec!["device", "add", "bad name"], "invalid_name"),
        (
            vec![
                "device",
                "add",
                "old-desk",
                "--rotate",
                "--owner",
                "a@example.com",
            ],
            "legacy_device",
        ),
        (vec!["device", "add", "ghost", "--rotate"], "not_found"),
    ] {
        let mut args = args.clone();
        args.push("--json");
        let run = ctl(&env, &args).await;
        let expected = if code == "not_found" { 1 } else { 2 };
        assert_eq!(run.status, expected, "{args:?}: {run:?}");
        assert_eq!(run.json()["error"], code, "{args:?}");
        assert!(!run.json()["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(secret_text(&moto, &id).await, SEED);
}

#[tokio::test]
async fn viewer_add_list_revoke() {
    let moto = moto_endpoint();
    let (id, env) = seeded().await;
    let add = ctl(&env, &["viewer", "add", "bo", "--json"]).await;
    assert_eq!(add.status, 0, "{add:?}");
    let key = key_of(&add);
    assert_eq!(add.json()["admin"], false);
    assert_eq!(
        add.json()["sign_in_url"],
        format!("https://api.example.test/#k={key}")
    );
    let admin = ctl(&env, &["viewer", "add", "cy", "--admin", "--json"]).await;
    assert_eq!(admin.json()["admin"], true);

    let list = ctl(&env, &["viewer", "list", "--json"]).await;
    assert_eq!(list.status, 0, "{list:?}");
    list.assert_no_secrets(&SEED_SECRETS);
    list.assert_no_secrets(&[&key]);
    let viewers = list.json()["viewers"].clone();
    assert_eq!(
        viewers,
        serde_json::json!([
            {"name": "ann", "admin": true},
            {"name": "bo", "admin": false},
            {"name": "cy", "admin": true}
        ])
    );
    for name in ["bo", "cy"] {
        let r = ctl(&env, &["viewer", "revoke", name, "--yes"]).await;
        assert_eq!(r.status, 0, "{r:?}");
    }
    assert_eq!(secret_text(&moto, &id).await, SEED);
}

#[tokio::test]
async fn a_change_before_the_write_is_a_conflict_and_nothing_is_written() {
    let moto = moto_endpoint();
    let (id, env) = seeded().await;
    let theirs = SEED.replace("by the window", "moved to the door");
    let proxy = Interloper::start(&moto, "DescribeSecret", &id, &theirs).await;
    let env = with(&env, &[("AWS_ENDPOINT_URL", &proxy.url)]);
    let run = ctl(&env, &["device", "add", "desk-new", "--json"]).await;
    assert!(proxy.fired.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(run.status, 3, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["error"], "conflict");
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("nothing was written"),
        "{doc}"
    );
    assert!(doc.get("key").is_none());
    assert_eq!(secret_text(&moto, &id).await, theirs);

    let human = ctl(&env, &["device", "revoke", "desk-a"]).await;
    assert_eq!(
        human.status, 0,
        "the proxy fires once; a re-run succeeds: {human:?}"
    );
}

#[tokio::test]
async fn a_change_landing_with_the_write_is_reported_as_a_conflict() {
    let moto = moto_endpoint();
    let (id, env) = seeded().await;
    let theirs = SEED.replace("by the window", "moved to the door");
    let proxy = Interloper::start(&moto, "PutSecretValue", &id, &theirs).await;
    let env = with(&env, &[("AWS_ENDPOINT_URL", &proxy.url)]);
    let run = ctl(&env, &["device", "add", "desk-new", "--json"]).await;
    assert_eq!(run.status, 3, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["error"], "conflict");
    let message = doc["message"].as_str().unwrap();
    assert!(message.contains("another change"), "{message}");
    // Both versions exist: ours is current, theirs is kept as AWSPREVIOUS.
    let current = secret_text(&moto, &id).await;
    assert!(current.contains("desk-new") && !current.contains("moved to the door"));
    let previous = secrets(&moto)
        .await
        .get_secret_value()
        .secret_id(&id)
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(previous.secret_string(), Some(theirs.as_str()));
}

#[tokio::test]
async fn secret_init_creates_the_secret_from_the_environment() {
    let moto = moto_endpoint();
    let id = unique("ctl-init");
    let env = with(
        &aws_env(&moto),
        &[
            ("ZOOM_SECRET_ID", &id),
            ("ZOOM_ACCOUNT_ID", "acc-123"),
            ("ZOOM_CLIENT_ID", "cid-456"),
            ("ZOOM_CLIENT_SECRET", "very-secret-client-value"),
            ("ZOOM_WEBHOOK_SECRET_TOKEN", "very-secret-webhook-value"),
        ],
    );
    let run = ctl(&env, &["secret", "init", "--json"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    run.assert_no_secrets(&[
        "very-secret-client-value",
        "very-secret-webhook-value",
        "acc-123",
        "cid-456",
    ]);
    let doc = run.json();
    assert_eq!(doc["created"], true);
    assert_eq!(doc["set"], serde_json::json!(SECRET_FIELDS));
    let stored: Value = serde_json::from_str(&secret_text(&moto, &id).await).unwrap();
    assert_eq!(stored["client_secret"], "very-secret-client-value");
    assert_eq!(stored["webhook_secret_token"], "very-secret-webhook-value");
    assert_eq!(stored["devices"], serde_json::json!({}));
    kitchen::credentials::Credentials::from_secret_json(&secret_text(&moto, &id).await)
        .expect("the functions can read what init wrote");

    // Again: nothing to do, nothing written.
    let again = ctl(&env, &["secret", "init", "--json"]).await;
    assert_eq!(again.status, 0, "{again:?}");
    assert_eq!(again.json()["written"], false);
    // A different value in the environment is kept unless --overwrite.
    let env2 = with(&env, &[("ZOOM_CLIENT_SECRET", "rotated-client-value")]);
    let kept = ctl(&env2, &["secret", "init"]).await;
    assert_eq!(kept.status, 0, "{kept:?}");
    assert!(
        kept.stdout
            .contains("client_secret (differs from ZOOM_CLIENT_SECRET"),
        "{kept:?}"
    );
    kept.assert_no_secrets(&["very-secret-client-value", "rotated-client-value"]);
    let over = ctl(&env2, &["secret", "init", "--overwrite", "--json"]).await;
    assert_eq!(over.json()["set"], serde_json::json!(SECRET_FIELDS));
    let stored: Value = serde_json::from_str(&secret_text(&moto, &id).await).unwrap();
    assert_eq!(stored["client_secret"], "rotated-client-value");
}

#[tokio::test]
async fn secret_init_fills_the_stacks_placeholder_secret() {
    let moto = moto_endpoint();
    let id = unique("ctl-placeholder");
    // What template.yaml's ZoomSecret holds after `make deploy`.
    let placeholder = r#"{"account_id":"REPLACE_ME","client_id":"REPLACE_ME","client_secret":"REPLACE_ME","webhook_secret_token":"REPLACE_ME","device_keys":{}}"#;
    create_secret(&moto, &id, placeholder).await;
    let env = with(
        &aws_env(&moto),
        &[
            ("ZOOM_SECRET_ID", &id),
            ("ZOOM_ACCOUNT_ID", "acc-123"),
            ("ZOOM_CLIENT_ID", "cid-456"),
            ("ZOOM_CLIENT_SECRET", "very-secret-client-value"),
        ],
    );
    let run = ctl(&env, &["secret", "init"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    run.assert_no_secrets(&["very-secret-client-value"]);
    assert!(
        run.stdout.contains("Not set: webhook_secret_token"),
        "{run:?}"
    );
    assert_eq!(
        secret_text(&moto, &id).await,
        r#"{"account_id":"acc-123","client_id":"cid-456","client_secret":"very-secret-client-value","webhook_secret_token":"REPLACE_ME","device_keys":{}}"#
    );
}

#[tokio::test]
async fn secret_init_without_credentials_names_them_and_writes_nothing() {
    let moto = moto_endpoint();
    let id = unique("ctl-nocreds");
    let env = with(
        &aws_env(&moto),
        &[("ZOOM_SECRET_ID", &id), ("ZOOM_ACCOUNT_ID", "acc-123")],
    );
    let run = ctl(&env, &["secret", "init", "--json"]).await;
    assert_eq!(run.status, 2, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["error"], "missing_credentials");
    let message = doc["message"].as_str().unwrap();
    assert!(
        message.contains("ZOOM_CLIENT_ID") && message.contains("ZOOM_CLIENT_SECRET"),
        "{message}"
    );
    assert!(!message.contains("ZOOM_ACCOUNT_ID"), "{message}");
    let exists = secrets(&moto)
        .await
        .describe_secret()
        .secret_id(&id)
        .send()
        .await;
    assert!(exists.is_err(), "no secret may be created");
}

#[tokio::test]
async fn error_paths_have_a_message_and_an_exit_status() {
    let moto = moto_endpoint();
    // No secret configured at all.
    let run = ctl(&aws_env(&moto), &["device", "list", "--json"]).await;
    assert_eq!(run.status, 2, "{run:?}");
    assert_eq!(run.json()["error"], "no_secret");
    assert!(
        run.json()["fix"]
            .as_str()
            .unwrap()
            .contains("ZOOM_SECRET_ID")
    );
    let human = ctl(&aws_env(&moto), &["device", "list"]).await;
    assert_eq!(human.status, 2);
    assert!(
        human.stderr.starts_with("kitchenctl: no secret configured"),
        "{human:?}"
    );
    assert!(human.stdout.is_empty());

    // The secret does not exist.
    let env = with(&aws_env(&moto), &[("ZOOM_SECRET_ID", "no-such-secret")]);
    let run = ctl(&env, &["device", "list", "--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    assert_eq!(run.json()["error"], "secret_not_found");
    assert!(run.json()["fix"].as_str().unwrap().contains("secret init"));

    // Secrets Manager unreachable.
    let env = with(&aws_env("http://127.0.0.1:9"), &[("ZOOM_SECRET_ID", "x")]);
    for args in [["device", "list"], ["viewer", "list"]] {
        let mut args = args.to_vec();
        args.push("--json");
        let run = ctl(&env, &args).await;
        assert_eq!(run.status, 1, "{run:?}");
        let doc = run.json();
        assert_eq!(doc["error"], "aws_unreachable");
        assert!(
            doc["message"]
                .as_str()
                .unwrap()
                .starts_with("Secrets Manager at http://127.0.0.1:9 could not be used"),
            "{doc}"
        );
    }

    // A malformed secret names the problem, never a value.
    let id = unique("ctl-malformed");
    create_secret(
        &moto,
        &id,
        r#"{"client_secret":"topsecretvalue","devices":["topsecretvalue"]}"#,
    )
    .await;
    let env = with(&aws_env(&moto), &[("ZOOM_SECRET_ID", &id)]);
    let run = ctl(&env, &["device", "add", "x", "--json"]).await;
    assert_eq!(run.status, 1, "{run:?}");
    assert_eq!(run.json()["error"], "secret_malformed");
    assert!(
        run.json()["message"]
            .as_str()
            .unwrap()
            .contains("\"devices\"")
    );
    run.assert_no_secrets(&["topsecretvalue"]);

    // Usage errors are clap's, exit 2.
    let run = ctl(&aws_env(&moto), &["device", "frobnicate"]).await;
    assert_eq!(run.status, 2, "{run:?}");
    assert!(run.stderr.contains("frobnicate"), "{run:?}");
    let run = ctl(&aws_env(&moto), &["device", "add", "--json"]).await;
    assert_eq!(run.status, 2, "{run:?}");
    assert_eq!(run.json()["error"], "usage");
    assert!(
        run.json()["message"].as_str().unwrap().contains("<NAME>"),
        "{run:?}"
    );
}

#[tokio::test]
async fn stack_outputs_and_parameters_replace_the_variables() {
    let moto = moto_endpoint();
    let id = unique("ctl-stack-secret");
    create_secret(&moto, &id, SEED).await;
    let stack = unique("ctl-stack");
    // Outputs and parameters named as template.yaml names them.
    let template = serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {
            "Rooms": {"Type": "String"},
            "ZoomTechUser": {"Type": "String"},
            "SecretName": {"Type": "String"},
        },
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {
            "SecretArn": {"Value": {"Ref": "SecretName"}},
            "PresenceTableName": {"Value": "presence-table"},
            "ApiUrl": {"Value": "https://abc123.execute-api.eu-west-1.amazonaws.com"},
        },
    });
    // moto creates the stack's resources inside the call: on a loaded machine
    // that takes longer than the 2 s the test SDK configuration allows.
    let cfn_config = aws_sdk_cloudformation::config::Builder::from(&sdk_config(&moto).await)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(std::time::Duration::from_secs(30))
                .build(),
        )
        .build();
    let cfn = aws_sdk_cloudformation::Client::from_conf(cfn_config);
    let param = |k: &str, v: &str| {
        aws_sdk_cloudformation::types::Parameter::builder()
            .parameter_key(k)
            .parameter_value(v)
            .build()
    };
    cfn.create_stack()
        .stack_name(&stack)
        .template_body(template.to_string())
        .parameters(param("Rooms", ROOMS))
        .parameters(param("ZoomTechUser", "kitchen-bot@example.com"))
        .parameters(param("SecretName", &id))
        .send()
        .await
        .expect("create stack");

    // No ZOOM_SECRET_ID, no rooms in the environment: all from the stack.
    let env = aws_env(&moto);
    let run = ctl(
        &env,
        &[
            "--stack", &stack, "device", "add", "desk-s", "--room", "lounge", "--json",
        ],
    )
    .await;
    assert_eq!(run.status, 0, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["secret_id"], id.as_str());
    assert_eq!(
        doc["urls"]["join_meeting"],
        "https://abc123.execute-api.eu-west-1.amazonaws.com/join-meeting"
    );
    assert!(secret_text(&moto, &id).await.contains("\"desk-s\""));
    let refused = ctl(
        &env,
        &[
            "device", "add", "desk-t", "--room", "attic", "--stack", &stack, "--json",
        ],
    )
    .await;
    assert_eq!(refused.status, 2, "{refused:?}");
    assert_eq!(refused.json()["error"], "unknown_room");

    let missing = ctl(
        &env,
        &["--stack", "no-such-stack", "device", "list", "--json"],
    )
    .await;
    assert_eq!(missing.status, 2, "{missing:?}");
    assert_eq!(missing.json()["error"], "stack_not_found");
}

#[tokio::test]
async fn revoke_asks_on_a_terminal_unless_yes() {
    let moto = moto_endpoint();
    let (id, env) = seeded().await;
    // "n" (or anything but y/yes): nothing changes.
    let no = ctl_on_terminal(&env, &["device", "revoke", "desk-a"], "n\n").await;
    assert_eq!(no.status, 1, "{no:?}");
    assert!(no.stdout.contains("Revoke device \"desk-a\"?"), "{no:?}");
    assert!(no.stdout.contains("nothing was revoked"), "{no:?}");
    assert_eq!(secret_text(&moto, &id).await, SEED);
    // "y": revoked.
    let yes = ctl_on_terminal(&env, &["device", "revoke", "desk-a"], "y\n").await;
    assert_eq!(yes.status, 0, "{yes:?}");
    assert!(!secret_text(&moto, &id).await.contains("desk-a"));
    // --yes: no question even on a terminal.
    let forced = ctl_on_terminal(&env, &["viewer", "revoke", "ann", "--yes"], "").await;
    assert_eq!(forced.status, 0, "{forced:?}");
    assert!(!forced.stdout.contains('?'), "{forced:?}");
    assert!(!secret_text(&moto, &id).await.contains("\"ann\""));
}

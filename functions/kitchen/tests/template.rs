//! What template.yaml deploys, read as CloudFormation reads it
//! (`kitchen::testing::template`): each route's own throttling, each
//! function's exact grants, tracing, and alarms that watch metrics the
//! functions really publish. (notify's stream wiring: notify's own test.)

use std::collections::{BTreeMap, BTreeSet};

use kitchen::metrics::{DIMENSION, Metric, NAMESPACE};
use kitchen::testing::template::{actions, function, of_type, statements, template};
use serde_json::{Value, json};

/// Every function binary the stack deploys.
const FUNCTIONS: [&str; 6] = ["invite", "count", "webhook", "reconcile", "page", "notify"];

/// The route keys (`METHOD /path`) a function serves through the HTTP API.
fn routes(function: &Value) -> Vec<String> {
    function["Properties"]["Events"]
        .as_object()
        .map(|events| {
            events
                .values()
                .filter(|e| e["Type"] == "HttpApi")
                .map(|e| {
                    let p = &e["Properties"];
                    format!(
                        "{} {}",
                        p["Method"].as_str().expect("a method").to_uppercase(),
                        p["Path"].as_str().expect("a path")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn default_of(t: &Value, parameter: &str) -> u64 {
    let d = &t["Parameters"][parameter]["Default"];
    d.as_u64()
        .or_else(|| d.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{parameter} has a numeric default: {d}"))
}

/// The devices, Zoom's webhook deliveries and the page each have their own
/// limits (template parameters), so junk sent to one route cannot starve the
/// devices, and a busy account's webhook deliveries are not throttled at the
/// devices' rate.
#[test]
fn every_route_is_throttled_by_its_own_parameters() {
    let t = template();
    let settings = t["Resources"]["HttpApi"]["Properties"]["RouteSettings"]
        .as_object()
        .expect("per-route settings");
    let mut served = 0;
    for binary in FUNCTIONS {
        let keys = routes(function(&t, binary).1);
        let group = match binary {
            "invite" | "count" => "Device",
            "webhook" => "Webhook",
            "page" => "Page",
            // Scheduled or stream-fed: no route.
            _ => {
                assert!(keys.is_empty(), "{binary} has no HTTP route");
                continue;
            }
        };
        assert!(!keys.is_empty(), "{binary} serves routes");
        for key in keys {
            let s = settings
                .get(&key)
                .unwrap_or_else(|| panic!("{key} ({binary}) has its own throttling"));
            assert_eq!(
                (&s["ThrottlingRateLimit"], &s["ThrottlingBurstLimit"]),
                (
                    &json!({"Ref": format!("{group}ThrottlingRateLimit")}),
                    &json!({"Ref": format!("{group}ThrottlingBurstLimit")})
                ),
                "{key}"
            );
            served += 1;
        }
    }
    assert_eq!(
        served,
        settings.len(),
        "no setting for a route nobody serves"
    );
    // The devices' own contract routes, the old docs' spelling included.
    for key in [
        "ANY /join-meeting",
        "ANY /join-meetings",
        "ANY /participant-count",
    ] {
        assert!(settings.contains_key(key), "{key}");
    }
    assert!(
        default_of(&t, "WebhookThrottlingRateLimit") > default_of(&t, "DeviceThrottlingRateLimit"),
        "webhook deliveries get the higher rate"
    );
}

/// Each function may call exactly what its code calls, on the one resource it
/// calls it on: the secret (and its customer-managed key only through Secrets
/// Manager, only when `ExistingSecretKmsKeyArn` is given), and the DynamoDB
/// operations of its code path. Measured by `make bench` at the proxy in front
/// of moto: invite UpdateItem (take and give back a slot); count Query; webhook
/// UpdateItem; reconcile Query and UpdateItem; page Query, plus UpdateItem when
/// an admin ends a room (`PresenceStore::mark_ended`); notify Query, GetItem and
/// UpdateItem, the stream, and its dead-letter queue.
#[test]
fn each_function_is_granted_exactly_what_its_code_calls() {
    let t = template();
    let presence = json!({"Fn::GetAtt": ["PresenceTable", "Arn"]});
    let limits = json!({"Fn::GetAtt": ["LimitsTable", "Arn"]});
    let stream = json!({"Fn::GetAtt": ["PresenceTable", "StreamArn"]});
    let dead_letters = json!({"Fn::GetAtt": ["NotifyDeadLetterQueue", "Arn"]});
    let secret =
        json!({"Fn::If": ["CreateSecret", {"Ref": "ZoomSecret"}, {"Ref": "ExistingSecretArn"}]});
    let expected: BTreeMap<&str, Vec<(&str, &Value)>> = BTreeMap::from([
        ("invite", vec![("dynamodb:UpdateItem", &limits)]),
        ("count", vec![("dynamodb:Query", &presence)]),
        ("webhook", vec![("dynamodb:UpdateItem", &presence)]),
        (
            "reconcile",
            vec![
                ("dynamodb:Query", &presence),
                ("dynamodb:UpdateItem", &presence),
            ],
        ),
        (
            "page",
            vec![
                ("dynamodb:Query", &presence),
                ("dynamodb:UpdateItem", &presence),
            ],
        ),
        (
            "notify",
            vec![
                ("dynamodb:DescribeStream", &stream),
                ("dynamodb:GetRecords", &stream),
                ("dynamodb:GetShardIterator", &stream),
                ("dynamodb:ListStreams", &stream),
                ("dynamodb:Query", &presence),
                ("dynamodb:GetItem", &presence),
                ("dynamodb:UpdateItem", &presence),
                ("sqs:SendMessage", &dead_letters),
            ],
        ),
    ]);
    for binary in FUNCTIONS {
        let (name, f) = function(&t, binary);
        let policies = f["Properties"]["Policies"].as_array().expect("policies");
        assert!(
            policies.iter().all(Value::is_object),
            "{name}: inline statements only, no managed policy: {policies:?}"
        );
        let mut granted: BTreeSet<(String, String)> = BTreeSet::new();
        let mut decrypt = None;
        for s in statements(f) {
            if let Some(branches) = s.get("Fn::If") {
                // The customer-managed key: only with the parameter given.
                assert_eq!(branches[0], "DecryptWithKmsKey", "{name}: {s}");
                assert_eq!(branches[2], json!({"Ref": "AWS::NoValue"}), "{name}");
                decrypt = Some(branches[1].clone());
                continue;
            }
            assert_eq!(s["Effect"], "Allow", "{name}: {s}");
            assert!(s["Resource"].is_object(), "{name}: one named resource: {s}");
            for a in actions(s) {
                assert!(!a.contains('*'), "{name}: no wildcard action: {a}");
                granted.insert((a.to_owned(), s["Resource"].to_string()));
            }
        }
        let mut wanted: BTreeSet<(String, String)> = expected[binary]
            .iter()
            .map(|(a, r)| ((*a).to_owned(), r.to_string()))
            .collect();
        wanted.insert(("secretsmanager:GetSecretValue".into(), secret.to_string()));
        assert_eq!(granted, wanted, "{name}");
        let decrypt = decrypt.unwrap_or_else(|| panic!("{name}: kms:Decrypt for a CMK"));
        assert_eq!(decrypt["Action"], "kms:Decrypt", "{name}");
        assert_eq!(
            decrypt["Resource"],
            json!({"Ref": "ExistingSecretKmsKeyArn"})
        );
        assert_eq!(
            decrypt["Condition"]["StringEquals"]["kms:ViaService"],
            json!({"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}),
            "{name}: through Secrets Manager only"
        );
    }
    assert_eq!(
        t["Conditions"]["DecryptWithKmsKey"],
        json!({"Fn::And": [
            {"Fn::Not": [{"Condition": "CreateSecret"}]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "ExistingSecretKmsKeyArn"}, ""]}]}
        ]}),
        "kms:Decrypt only for an existing secret with a customer-managed key"
    );
}

/// X-Ray active tracing on every function (the Globals).
#[test]
fn every_function_is_traced() {
    let t = template();
    assert_eq!(t["Globals"]["Function"]["Tracing"], "Active");
    for binary in FUNCTIONS {
        let (name, f) = function(&t, binary);
        let own = &f["Properties"]["Tracing"];
        assert!(own.is_null() || *own == "Active", "{name} keeps tracing on");
    }
}

/// Every metric an alarm watches, each with `Namespace`, `MetricName` and
/// `Dimensions`: the alarm's own, or those of its metric math expression.
fn metrics_of(alarm: &Value) -> Vec<&Value> {
    let p = &alarm["Properties"];
    let inner = p["Metrics"].as_array().into_iter().flatten();
    std::iter::once(p)
        .chain(inner.map(|m| &m["MetricStat"]["Metric"]))
        .filter(|m| m["MetricName"].is_string())
        .collect()
}

/// Errors of every function, throttles, reconcile failing and webhook
/// signature rejections each raise an alarm, every alarm notifies
/// `AlarmTopicArn` when it is set, and an alarm on the functions' own metrics
/// names a metric `kitchen::metrics` publishes, with its `Function` dimension
/// (a renamed metric would otherwise leave its alarm silent forever).
#[test]
fn alarms_cover_each_function_and_watch_published_metrics() {
    let t = template();
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    let published: BTreeSet<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
    let mut own_metrics = BTreeSet::new();
    for (name, alarm) in &alarms {
        let p = &alarm["Properties"];
        let actions = json!({"Fn::If": ["NotifyAlarms", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]});
        assert_eq!(p["AlarmActions"], actions, "{name}");
        assert_eq!(p["OKActions"], actions, "{name}");
        for m in metrics_of(alarm)
            .into_iter()
            .filter(|m| m["Namespace"] == NAMESPACE)
        {
            let metric = m["MetricName"].as_str().expect("a name");
            let dims = &m["Dimensions"];
            assert!(
                published.contains(metric),
                "{name} watches {metric}, which nothing publishes"
            );
            assert_eq!(dims.as_array().map(Vec::len), Some(1), "{name}: {dims}");
            assert_eq!(dims[0]["Name"], DIMENSION, "{name}");
            own_metrics.insert(metric);
        }
    }
    for metric in [
        "ReconcileFailed",
        "WebhookRejectedSignature",
        "CountServedStale",
        "NoticeNotPosted",
    ] {
        assert!(own_metrics.contains(metric), "an alarm on {metric}");
    }
    // Every function's Lambda errors, and throttles of them all.
    let lambda_metric = |metric: &str, function_id: &str| {
        alarms.iter().flat_map(|(_, a)| metrics_of(a)).any(|m| {
            m["Namespace"] == "AWS/Lambda"
                && m["MetricName"] == metric
                && m["Dimensions"][0]["Value"] == json!({"Ref": function_id})
        })
    };
    for binary in FUNCTIONS {
        let (id, _) = function(&t, binary);
        assert!(lambda_metric("Errors", id), "an alarm on {id}'s errors");
        assert!(
            lambda_metric("Throttles", id),
            "an alarm on {id}'s throttles"
        );
    }
}

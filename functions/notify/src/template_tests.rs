//! What template.yaml deploys for notify, read with cfn-lint's own decoder
//! (the intrinsic tags become `{"Ref": …}` / `{"Fn::GetAtt": […]}`): the
//! stream, the mapping's retry and dead-letter wiring, and least privilege.

use std::process::Command;

use serde_json::{Value, json};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn template() -> Value {
    let python = format!("{ROOT}/.venv/bin/python");
    assert!(
        std::path::Path::new(&python).exists(),
        "{python} is missing: run `make venv` (cfn-lint reads the template)"
    );
    let code = "import json, sys\nfrom cfnlint.decode import decode_str\n\
                t, errors = decode_str(open(sys.argv[1]).read())\n\
                assert not errors, errors\nprint(json.dumps(t, default=str))";
    let out = Command::new(python)
        .args(["-c", code, &format!("{ROOT}/template.yaml")])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the template as JSON")
}

fn of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// Every statement of the function's inline policies.
fn statements(function: &Value) -> Vec<&Value> {
    function["Properties"]["Policies"]
        .as_array()
        .expect("inline policies")
        .iter()
        .flat_map(|p| p["Statement"].as_array().into_iter().flatten())
        .collect()
}

fn actions(statement: &Value) -> Vec<&str> {
    match &statement["Action"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

#[test]
fn the_template_wires_the_stream_with_bounded_retries_and_a_dead_letter_queue() {
    let t = template();
    let table = &t["Resources"]["PresenceTable"]["Properties"];
    assert_eq!(table["StreamSpecification"]["StreamViewType"], "KEYS_ONLY");

    let (name, function) = of_type(&t, "AWS::Serverless::Function")
        .into_iter()
        .find(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"] == "notify")
        .expect("a function built from the notify binary");
    let mappings: Vec<_> = of_type(&t, "AWS::Lambda::EventSourceMapping")
        .into_iter()
        .filter(|(_, m)| m["Properties"]["FunctionName"] == json!({"Ref": name}))
        .collect();
    assert_eq!(mappings.len(), 1, "one stream mapping feeds notify");
    let m = &mappings[0].1["Properties"];
    assert_eq!(
        m["EventSourceArn"],
        json!({"Fn::GetAtt": ["PresenceTable", "StreamArn"]})
    );
    assert_eq!(m["BisectBatchOnFunctionError"], true);
    assert_eq!(
        m["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    let retries = m["MaximumRetryAttempts"].as_u64().expect("bounded retries");
    assert!((1..=10).contains(&retries), "{retries}");
    assert!(m["MaximumRecordAgeInSeconds"].as_u64().is_some());
    let dlq = m["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        .as_str()
        .expect("an on-failure destination");
    assert_eq!(t["Resources"][dlq]["Type"], "AWS::SQS::Queue");
    let filter = m["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .expect("a filter");
    assert!(
        filter.contains("session#") && filter.contains("meta"),
        "{filter}"
    );

    // Least privilege: named resources only, the actions notify uses.
    let stmts = statements(function);
    for s in &stmts {
        assert_ne!(s["Resource"], "*", "no wildcard resource: {s}");
    }
    let grants = |action: &str| -> Vec<&Value> {
        stmts
            .iter()
            .filter(|s| actions(s).contains(&action))
            .map(|s| &s["Resource"])
            .collect()
    };
    let stream = json!({"Fn::GetAtt": ["PresenceTable", "StreamArn"]});
    for action in [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ] {
        assert_eq!(grants(action), [&stream], "{action}");
    }
    let table_arn = json!({"Fn::GetAtt": ["PresenceTable", "Arn"]});
    for action in ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem"] {
        assert_eq!(grants(action), [&table_arn], "{action}");
    }
    assert_eq!(
        grants("sqs:SendMessage"),
        [&json!({"Fn::GetAtt": [dlq, "Arn"]})]
    );
    let dynamo: Vec<&str> = stmts
        .iter()
        .flat_map(|s| actions(s))
        .filter(|a| a.starts_with("dynamodb:"))
        .collect();
    assert!(
        !dynamo
            .iter()
            .any(|a| a.contains("Delete") || a.contains("Put") || a.contains('*')),
        "{dynamo:?}"
    );
}

//! What template.yaml deploys for notify, read with cfn-lint's own decoder
//! (the intrinsic tags become `{"Ref": …}` / `{"Fn::GetAtt": […]}`): the
//! stream, the mapping's retry and dead-letter wiring, and least privilege.

use kitchen::testing::template::{actions, function, of_type, statements, template};
use serde_json::{Value, json};

#[test]
fn the_template_wires_the_stream_with_bounded_retries_and_a_dead_letter_queue() {
    let t = template();
    let table = &t["Resources"]["PresenceTable"]["Properties"];
    assert_eq!(table["StreamSpecification"]["StreamViewType"], "KEYS_ONLY");

    let (name, notify) = function(&t, "notify");
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
    let stmts = statements(notify);
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

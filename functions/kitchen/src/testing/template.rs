//! `template.yaml` as CloudFormation reads it, for the tests of what the stack
//! deploys: decoded with cfn-lint's own decoder (from `.venv`, which `make
//! test` creates), so the intrinsic tags arrive as `{"Ref": …}`,
//! `{"Fn::GetAtt": […]}` and `{"Fn::If": […]}`.

use std::process::Command;

use serde_json::Value;

/// The repository's root, from this crate's manifest.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The whole template as JSON. Panics, naming the fix, when `.venv` is missing.
pub fn template() -> Value {
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

/// The resources of one type, with their logical ids.
pub fn of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// The function built from `binary`, with its logical id.
pub fn function<'a>(t: &'a Value, binary: &str) -> (&'a String, &'a Value) {
    of_type(t, "AWS::Serverless::Function")
        .into_iter()
        .find(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"] == binary)
        .unwrap_or_else(|| panic!("a function built from the {binary} binary"))
}

/// Every statement of the function's inline policies; a conditional one
/// (`Fn::If`) as written.
pub fn statements(function: &Value) -> Vec<&Value> {
    function["Properties"]["Policies"]
        .as_array()
        .expect("inline policies")
        .iter()
        .flat_map(|p| p["Statement"].as_array().into_iter().flatten())
        .collect()
}

/// A statement's actions, one or a list.
pub fn actions(statement: &Value) -> Vec<&str> {
    match &statement["Action"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

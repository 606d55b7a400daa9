//! What every DynamoDB table of the kitchen shares: one error type that names
//! the kind of failure and AWS's error code only (never keys or values), the
//! reading of a failed condition as an expected outcome, and attribute helpers.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("the {table} table could not be reached ({why})")]
    Unavailable {
        table: &'static str,
        why: &'static str,
    },
    #[error("the {table} table is throttling requests")]
    Throttled { table: &'static str },
    #[error("DynamoDB refused a request to the {table} table ({code})")]
    Rejected { table: &'static str, code: String },
}

impl TableError {
    /// `table` is the table's role ("presence", "invite limits"), not its name.
    pub fn from_sdk<E: ProvideErrorMetadata, R>(table: &'static str, err: &SdkError<E, R>) -> Self {
        let unavailable = |why| Self::Unavailable { table, why };
        match err {
            SdkError::TimeoutError(_) => unavailable("timed out"),
            SdkError::DispatchFailure(_) => unavailable("unreachable"),
            SdkError::ResponseError(_) => unavailable("unreadable response"),
            SdkError::ServiceError(s) => match s.err().code() {
                Some(
                    "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "LimitExceededException",
                ) => Self::Throttled { table },
                code => Self::Rejected {
                    table,
                    code: code.unwrap_or("unknown").to_owned(),
                },
            },
            _ => unavailable("the request could not be built"),
        }
    }

    /// The caller's deadline passed before the table answered.
    pub fn timed_out(table: &'static str) -> Self {
        Self::Unavailable {
            table,
            why: "timed out",
        }
    }
}

/// `Ok(true)`: written; `Ok(false)`: the write's condition did not hold.
pub fn conditional<T, E>(
    table: &'static str,
    result: Result<T, SdkError<E>>,
) -> Result<bool, TableError>
where
    E: ProvideErrorMetadata,
{
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e))
            if e.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(TableError::from_sdk(table, &e)),
    }
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn text<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    match item.get(key)? {
        AttributeValue::S(v) => Some(v),
        _ => None,
    }
}

pub fn number(item: &Item, key: &str) -> Option<u64> {
    match item.get(key)? {
        AttributeValue::N(v) => v.parse().ok(),
        _ => None,
    }
}

/// Creates a table with the kitchen's key schema (`pk` S hash, `sk` S range),
/// on demand — for tests and the local run; the stack creates the real ones.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), TableError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    const ROLE: &str = "new";
    let invalid = |_| TableError::Unavailable {
        table: ROLE,
        why: "invalid table definition",
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(attr("pk").map_err(invalid)?)
        .attribute_definitions(attr("sk").map_err(invalid)?)
        .key_schema(key("pk", KeyType::Hash).map_err(invalid)?)
        .key_schema(key("sk", KeyType::Range).map_err(invalid)?)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|e| TableError::from_sdk(ROLE, &e))?;
    Ok(())
}

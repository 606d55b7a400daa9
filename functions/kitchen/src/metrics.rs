//! CloudWatch metrics in Embedded Metric Format (EMF): each [`incr`] / [`add`]
//! writes one JSON line to stdout; CloudWatch Logs extracts the metric from the
//! function's log stream, so publishing costs no API call and no latency.
//!
//! A small hand-written writer, not a crate. The crates on offer
//! (`metrics_cloudwatch_embedded`, `metrique-writer-format-emf`) bring a metrics
//! facade, a registry and a flush cycle for what is here one `serde_json::json!`
//! per event; `serde_json` is already in every binary, so this adds nothing to
//! their size and nothing to their cold start. The document follows the EMF
//! specification: `_aws.Timestamp` (milliseconds since the epoch), one metric
//! directive in namespace [`NAMESPACE`] with the one dimension `Function` (the
//! Lambda's name, from `AWS_LAMBDA_FUNCTION_NAME`), unit `Count`.
//!
//! Outside a Lambda (no `AWS_LAMBDA_FUNCTION_NAME`: unit tests, benches) nothing
//! is written, since no one would collect it. `cargo lambda watch` sets the
//! variable, so the local stack prints the lines like a deployed one.
//! Writing never panics: a failed write to stdout loses the data point, not the
//! request. The lines carry no `level`, so under the template's JSON
//! `LoggingConfig` Lambda files them as INFO: an `ApplicationLogLevel` above
//! INFO would drop them.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The CloudWatch namespace every metric is published under.
pub const NAMESPACE: &str = "CoffeeKitchen";

/// The one dimension, whose value is the Lambda function's name.
pub const DIMENSION: &str = "Function";

/// What the functions count. The variant's name is the metric's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// A count answered from a snapshot older than its freshness bound.
    CountServedStale,
    /// Zoom answered 429 Too Many Requests.
    Zoom429,
    /// Zoom answered with a 5xx status.
    Zoom5xx,
    /// A new OAuth token was fetched from Zoom (cache miss or refresh).
    TokenFetched,
    /// A join link was sent to a user.
    InviteSent,
    /// An invite request was refused (bad input, unknown user, Zoom refusal).
    InviteRefused,
    /// A webhook delivery was verified and stored.
    WebhookAccepted,
    /// A webhook delivery failed signature or timestamp verification.
    WebhookRejectedSignature,
    /// A verified webhook delivery that was not for our meeting or not an event we store.
    WebhookIgnored,
    /// Reconcile changed the presence table to match Zoom's dashboard.
    DriftRepaired,
    /// Reconcile could not run (credentials, scopes, Zoom or DynamoDB failure).
    ReconcileFailed,
    /// notify posted a "someone is in the room" notice to a room's channel.
    NoticePosted,
    /// notify could not post a notice (now, or at all); published with a
    /// `Reason` dimension as well ([`incr_because`]).
    NoticeNotPosted,
}

impl Metric {
    /// Every metric, for the template's alarms and the README's table.
    pub const ALL: [Metric; 13] = [
        Metric::CountServedStale,
        Metric::Zoom429,
        Metric::Zoom5xx,
        Metric::TokenFetched,
        Metric::InviteSent,
        Metric::InviteRefused,
        Metric::WebhookAccepted,
        Metric::WebhookRejectedSignature,
        Metric::WebhookIgnored,
        Metric::DriftRepaired,
        Metric::ReconcileFailed,
        Metric::NoticePosted,
        Metric::NoticeNotPosted,
    ];

    /// The metric's name in CloudWatch.
    pub const fn name(self) -> &'static str {
        match self {
            Metric::CountServedStale => "CountServedStale",
            Metric::Zoom429 => "Zoom429",
            Metric::Zoom5xx => "Zoom5xx",
            Metric::TokenFetched => "TokenFetched",
            Metric::InviteSent => "InviteSent",
            Metric::InviteRefused => "InviteRefused",
            Metric::WebhookAccepted => "WebhookAccepted",
            Metric::WebhookRejectedSignature => "WebhookRejectedSignature",
            Metric::WebhookIgnored => "WebhookIgnored",
            Metric::DriftRepaired => "DriftRepaired",
            Metric::ReconcileFailed => "ReconcileFailed",
            Metric::NoticePosted => "NoticePosted",
            Metric::NoticeNotPosted => "NoticeNotPosted",
        }
    }
}

/// Counts one occurrence of `metric`.
pub fn incr(metric: Metric) {
    add(metric, 1);
}

/// Counts `n` occurrences of `metric` in one EMF line.
pub fn add(metric: Metric, n: u64) {
    publish(metric, n, None);
}

/// The second dimension of [`incr_because`]: why something happened.
pub const REASON: &str = "Reason";

/// Counts one occurrence of `metric` for `reason` (e.g. `missing_scope`):
/// published per function as [`incr`] does, and per function and reason.
pub fn incr_because(metric: Metric, reason: &str) {
    publish(metric, 1, Some(reason));
}

fn publish(metric: Metric, n: u64, reason: Option<&str>) {
    #[cfg(any(test, feature = "testing"))]
    testing::record(metric, n, reason);
    let Some(function) = function_name() else {
        return;
    };
    let line = document(metric, n, function, reason, now_ms());
    // Not `println!`: it panics when stdout is closed. One write of the whole
    // line, so concurrent log lines cannot split it.
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

/// The EMF document for one data point, newline-terminated. With a reason,
/// two dimension sets: by function (what the alarms read) and by function
/// and reason.
fn document(
    metric: Metric,
    n: u64,
    function: &str,
    reason: Option<&str>,
    timestamp_ms: u64,
) -> String {
    let name = metric.name();
    let dimensions = match reason {
        None => serde_json::json!([[DIMENSION]]),
        Some(_) => serde_json::json!([[DIMENSION], [DIMENSION, REASON]]),
    };
    let mut doc = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": [{ "Name": name, "Unit": "Count" }],
            }],
        },
        DIMENSION: function,
    });
    if let Some(reason) = reason {
        doc[REASON] = reason.into();
    }
    doc[name] = n.into();
    let mut line = doc.to_string();
    line.push('\n');
    line
}

fn function_name() -> Option<&'static str> {
    static NAME: OnceLock<Option<String>> = OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .filter(|name| !name.is_empty())
    })
    .as_deref()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What the process has counted so far, for tests that check a code path
/// counts what it should. Totals are process-wide and tests run in parallel:
/// compare a total before and after, and expect at least your own increments.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use super::Metric;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{LazyLock, Mutex};

    static TOTALS: [AtomicU64; Metric::ALL.len()] =
        [const { AtomicU64::new(0) }; Metric::ALL.len()];
    static BY_REASON: LazyLock<Mutex<HashMap<(Metric, String), u64>>> =
        LazyLock::new(Mutex::default);

    pub(super) fn record(metric: Metric, n: u64, reason: Option<&str>) {
        if let Some(total) = TOTALS.get(metric as usize) {
            total.fetch_add(n, Ordering::Relaxed);
        }
        if let Some(reason) = reason {
            let mut by_reason = BY_REASON.lock().unwrap_or_else(|e| e.into_inner());
            *by_reason.entry((metric, reason.to_owned())).or_default() += n;
        }
    }

    /// How many of `metric` this process has counted for `reason`.
    pub fn total_because(metric: Metric, reason: &str) -> u64 {
        let by_reason = BY_REASON.lock().unwrap_or_else(|e| e.into_inner());
        by_reason
            .get(&(metric, reason.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// How many of `metric` this process has counted.
    pub fn total(metric: Metric) -> u64 {
        TOTALS
            .get(metric as usize)
            .map_or(0, |total| total.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parse(metric: Metric, n: u64) -> Value {
        let line = document(metric, n, "kitchen-count", None, 1_763_887_200_123);
        assert!(line.ends_with('\n'), "one line per data point");
        assert_eq!(
            line.matches('\n').count(),
            1,
            "no newline inside the document"
        );
        serde_json::from_str(&line).expect("valid JSON")
    }

    #[test]
    fn document_has_the_shape_the_emf_specification_requires() {
        let doc = parse(Metric::InviteSent, 1);
        let root = doc.as_object().unwrap();
        // Root: _aws metadata, the dimension value, the metric value; nothing else.
        let mut keys: Vec<&str> = root.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["Function", "InviteSent", "_aws"]);

        let aws = root["_aws"].as_object().unwrap();
        assert_eq!(
            aws.len(),
            2,
            "only Timestamp and CloudWatchMetrics: {aws:?}"
        );
        assert_eq!(aws["Timestamp"].as_u64(), Some(1_763_887_200_123));
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1);
        let directive = directives[0].as_object().unwrap();
        assert_eq!(directive.len(), 3, "{directive:?}");
        assert_eq!(directive["Namespace"], "CoffeeKitchen");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Function"]]));
        assert_eq!(
            directive["Metrics"],
            serde_json::json!([{ "Name": "InviteSent", "Unit": "Count" }])
        );

        // Every dimension a directive names is a string member of the root,
        // every metric a number member.
        for set in directive["Dimensions"].as_array().unwrap() {
            for dimension in set.as_array().unwrap() {
                let key = dimension.as_str().unwrap();
                assert_eq!(root[key], "kitchen-count");
            }
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            let key = metric["Name"].as_str().unwrap();
            assert!(root[key].is_number(), "{key} is {:?}", root[key]);
        }
        assert_eq!(root["InviteSent"].as_u64(), Some(1));
    }

    #[test]
    fn add_carries_its_count() {
        assert_eq!(
            parse(Metric::DriftRepaired, 7)["DriftRepaired"].as_u64(),
            Some(7)
        );
        assert_eq!(
            parse(Metric::Zoom5xx, u64::MAX)["Zoom5xx"].as_u64(),
            Some(u64::MAX)
        );
    }

    #[test]
    fn every_metric_has_its_own_name_within_cloudwatch_limits() {
        let mut names = Vec::new();
        for metric in Metric::ALL {
            let doc = parse(metric, 1);
            let name = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]
                .as_str()
                .unwrap()
                .to_owned();
            // EMF: 1 to 1024 characters, and not the dimension's or metadata's key.
            assert!(!name.is_empty() && name.len() <= 1024, "{name}");
            assert!(name != DIMENSION && name != "_aws", "{name}");
            assert_eq!(
                name,
                format!("{metric:?}"),
                "the variant's name is the metric's"
            );
            names.push(name);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
    }

    /// Fails to compile when a variant is added: add it to `Metric::ALL` too.
    #[test]
    fn all_lists_every_variant_in_declaration_order() {
        fn exhaustive(metric: Metric) -> bool {
            match metric {
                Metric::CountServedStale
                | Metric::Zoom429
                | Metric::Zoom5xx
                | Metric::TokenFetched
                | Metric::InviteSent
                | Metric::InviteRefused
                | Metric::WebhookAccepted
                | Metric::WebhookRejectedSignature
                | Metric::WebhookIgnored
                | Metric::DriftRepaired
                | Metric::ReconcileFailed
                | Metric::NoticePosted
                | Metric::NoticeNotPosted => true,
            }
        }
        for (index, metric) in Metric::ALL.into_iter().enumerate() {
            assert!(exhaustive(metric));
            assert_eq!(metric as usize, index);
        }
    }

    #[test]
    fn a_function_name_that_needs_escaping_stays_valid_json() {
        let line = document(Metric::Zoom429, 1, "a\"b\\c\nd", None, 0);
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["Function"], "a\"b\\c\nd");
        assert_eq!(line.matches('\n').count(), 1);
    }

    #[test]
    fn counting_is_recorded_for_tests_and_never_panics() {
        let before = testing::total(Metric::WebhookIgnored);
        incr(Metric::WebhookIgnored);
        add(Metric::WebhookIgnored, 2);
        assert!(testing::total(Metric::WebhookIgnored) >= before + 3);
    }

    #[test]
    fn a_reason_is_a_second_dimension_set_beside_the_function_alone() {
        let line = document(
            Metric::NoticeNotPosted,
            1,
            "kitchen-notify",
            Some("zoom_missing_scope"),
            1_763_887_200_123,
        );
        let doc: Value = serde_json::from_str(&line).unwrap();
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        // By function (what the alarm reads) and by function and reason.
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["Function"], ["Function", "Reason"]])
        );
        assert_eq!(doc["Function"], "kitchen-notify");
        assert_eq!(doc["Reason"], "zoom_missing_scope");
        assert_eq!(doc["NoticeNotPosted"].as_u64(), Some(1));
        let before = testing::total_because(Metric::NoticeNotPosted, "test_reason");
        incr_because(Metric::NoticeNotPosted, "test_reason");
        assert_eq!(
            testing::total_because(Metric::NoticeNotPosted, "test_reason"),
            before + 1
        );
    }

    #[test]
    fn timestamp_is_milliseconds_since_the_epoch() {
        let ms = now_ms();
        // After 2025-01-01 and before 2100: milliseconds, not seconds or nanos.
        assert!((1_735_689_600_000..4_102_444_800_000).contains(&ms), "{ms}");
    }
}

//! The presence table's DynamoDB stream → "someone is in the room" posts.
//!
//! Lambda delivers a batch of stream records (`ReportBatchItemFailures` on).
//! Records of a room's sessions or meta row mark the room as touched; each
//! touched room with a channel is looked at once per batch
//! ([`kitchen::notices::Notices::step`]). A failure that retrying can fix (the
//! table, Zoom down or rate-limiting, the secret unreadable) answers the room's
//! first record as a batch item failure: Lambda retries from there, and after
//! the mapping's bounded retries sends the record to the dead-letter queue.
//! A failure retrying cannot fix (a missing scope, an unknown channel) is
//! logged with its reason and the record counts as done. Records of other rows
//! (the notice row this function writes, anything else) are ignored.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use kitchen::app::{AppState, DEFAULT_DEADLINE};
use kitchen::cache::Cached;
use kitchen::credentials::CredentialError;
use kitchen::deadline::Deadline;
use kitchen::metrics::{self, Metric};
use kitchen::notices::{Claim, Failure, NoticeConfig, Notices, Step};
use kitchen::rooms::{Room, Rooms};
use kitchen::time::unix_millis;
use kitchen::zoom::ZoomError;
use lambda_runtime::{Error, LambdaEvent};

use crate::config::NotifyConfig;

pub struct Notify {
    pub app: AppState,
    pub rooms: Rooms,
    pub notices: Notices,
    pub tech_user: String,
    /// Per room (by meeting id): its join URL, asked of Zoom once per container.
    join_urls: HashMap<String, Cached<String>>,
}

impl Notify {
    pub async fn new(config: NotifyConfig) -> Result<Self, Error> {
        let (app, sdk) = AppState::with_aws(config.common, DEFAULT_DEADLINE).await?;
        Ok(Self::from_parts(
            app,
            &sdk,
            &config.table,
            config.rooms,
            config.tech_user,
            config.notices,
        ))
    }

    pub fn from_parts(
        app: AppState,
        sdk: &aws_config::SdkConfig,
        table: &str,
        rooms: Rooms,
        tech_user: String,
        notices: NoticeConfig,
    ) -> Self {
        let join_urls = rooms
            .iter()
            .map(|r| {
                let cached = match &r.join_url {
                    Some(url) => Cached::with_value(url.clone()),
                    None => Cached::default(),
                };
                (r.meeting_id.clone(), cached)
            })
            .collect();
        Self {
            app,
            notices: Notices::new(sdk, table, notices),
            rooms,
            tech_user,
            join_urls,
        }
    }
}

pub async fn handle(
    state: &Notify,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Error> {
    let deadline = Deadline::from_context(Some(&event.context), DEFAULT_DEADLINE);
    Ok(process(state, &event.payload.records, deadline).await)
}

/// Why a room's records must be retried.
#[derive(Debug)]
pub struct Retry(pub &'static str);

/// A room is not started with less time than this left (a Zoom post and a few
/// table calls); it is retried instead.
const ROOM_BUDGET: Duration = Duration::from_secs(3);

/// Handles one batch within `deadline`; the answer names the records to retry.
pub async fn process(
    state: &Notify,
    records: &[EventRecord],
    deadline: Deadline,
) -> DynamoDbEventResponse {
    // Each touched room once, in the order of its first record.
    let mut touched: Vec<(&Room, &EventRecord)> = Vec::new();
    for record in records {
        let Some(room) = room_of(&state.rooms, record) else {
            continue;
        };
        if room.channel.is_some() && !touched.iter().any(|(r, _)| r.name == room.name) {
            touched.push((room, record));
        }
    }
    let mut response = DynamoDbEventResponse::default();
    for (room, first) in touched {
        let looked = if deadline.remaining() < ROOM_BUDGET {
            Err(Retry("out_of_time"))
        } else {
            look_at(state, room, &deadline).await
        };
        if let Err(Retry(reason)) = looked {
            metrics::incr_because(Metric::NoticeNotPosted, reason);
            tracing::warn!(room = %room.name, reason, "notice will be retried by the stream");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = first
                .change
                .sequence_number
                .clone()
                .or_else(|| Some(first.event_id.clone()));
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// The configured room a record's row belongs to, if it is a session or the
/// room's meta row (what can change who is there).
pub fn room_of<'a>(rooms: &'a Rooms, record: &EventRecord) -> Option<&'a Room> {
    let keys = serde_json::to_value(&record.change.keys).ok()?;
    let key = |name: &str| keys.get(name)?.get("S")?.as_str().map(str::to_owned);
    let (pk, sk) = (key("pk")?, key("sk")?);
    let meeting_id = pk.strip_prefix("room#")?;
    (sk.starts_with("session#") || sk == "meta")
        .then(|| rooms.by_meeting_id(meeting_id))
        .flatten()
}

fn now_ms() -> u64 {
    unix_millis(SystemTime::now())
}

async fn look_at(state: &Notify, room: &Room, deadline: &Deadline) -> Result<(), Retry> {
    let step = state.notices.step(room, now_ms()).await.map_err(|e| {
        tracing::warn!(room = %room.name, error = %e, "reading or recording the room failed");
        Retry("presence_table")
    })?;
    let claim = match step {
        Step::Nothing(why) => {
            tracing::debug!(room = %room.name, why, "no notice");
            return Ok(());
        }
        Step::Post(claim) => claim,
    };
    let outcome = post(state, room, &claim, deadline).await;
    if let Err(e) = state.notices.settle(&claim, now_ms(), &outcome).await {
        // Posted (or not) already; the claim times out and a retry sees it.
        tracing::warn!(room = %room.name, error = %e, "recording the notice's outcome failed");
    }
    match outcome {
        Ok(message_id) => {
            metrics::incr(Metric::NoticePosted);
            tracing::info!(room = %room.name, message_id, count = claim.count, "notice posted");
            Ok(())
        }
        Err(f) => {
            if f.retryable {
                tracing::warn!(room = %room.name, reason = f.reason, detail = %f.detail, "notice not posted; retrying");
                Err(Retry(f.reason))
            } else {
                // Retried ones are counted once, where the stream is told to retry.
                metrics::incr_because(Metric::NoticeNotPosted, f.reason);
                tracing::error!(room = %room.name, reason = f.reason, detail = %f.detail, "notice not posted; retrying cannot help");
                Ok(())
            }
        }
    }
}

/// Posts the claim's notice to the room's channel; Zoom's message id.
async fn post(
    state: &Notify,
    room: &Room,
    claim: &Claim,
    deadline: &Deadline,
) -> Result<String, Failure> {
    let k = &state.app;
    let channel = room.channel.as_deref().unwrap_or_default();
    let creds = deadline
        .run(k.credentials.get())
        .await
        .unwrap_or_else(|_| Err(CredentialError::Unavailable("timed out".into())))
        .map_err(|e| match e {
            CredentialError::Unavailable(_) => Failure {
                reason: "credentials_unavailable",
                retryable: true,
                detail: e.to_string(),
            },
            CredentialError::Malformed(_) => Failure {
                reason: "credentials_malformed",
                retryable: false,
                detail: e.to_string(),
            },
        })?;
    let join_url = match state.join_urls.get(&room.meeting_id) {
        Some(cache) => cache
            .get_or_refresh(
                |_| true,
                || async {
                    deadline
                        .run(k.zoom.join_url(&creds, &room.meeting_id))
                        .await
                        .unwrap_or(Err(ZoomError::Timeout))
                },
            )
            .await
            .map_err(|e: ZoomError| Failure::of_join_url(&e))?,
        None => {
            return Err(Failure {
                reason: "unknown_room",
                retryable: false,
                detail: format!("room {:?} has no join URL cache", room.name),
            });
        }
    };
    let text = state.notices.message(room, claim, &join_url);
    deadline
        .run(
            k.zoom
                .post_to_channel(&creds, &state.tech_user, channel, &text),
        )
        .await
        .unwrap_or(Err(ZoomError::Timeout))
        .map_err(|e| Failure::of_post(&e, channel))
}

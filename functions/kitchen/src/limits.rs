//! Per-device invite limits, shared by every container through DynamoDB
//! (`KITCHEN_LIMITS_TABLE`; `pk = device#<name>`, `sk = invites`):
//! at most one invite per `KITCHEN_INVITE_INTERVAL_SECONDS` (default 30) and
//! `KITCHEN_INVITES_PER_DAY` (default 50, per UTC day) per device.
//!
//! An invite first [`InviteLimits::reserve`]s its slot with a conditional
//! write — so two containers can never both take the last one — and gives it
//! back with [`InviteLimits::release`] when Zoom did not deliver, so a Zoom
//! failure does not use up the allowance.
//!
//! DynamoDB calls: one UpdateItem per granted invite (two on the first invite
//! of a UTC day); one per refusal (a refused write returns the row as it was,
//! which says how long to wait; two when the row is from an earlier day); a
//! release one UpdateItem.

use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use crate::config::{ConfigError, Env};
use crate::dynamo::{Item, TableError, conditional, n, number, s};
use crate::time::unix_millis;

const ROLE: &str = "invite limits";
const SK: &str = "invites";
const DAY_MS: u64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    pub interval: Duration,
    pub per_day: u32,
}

impl LimitSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let per_day = match env.get("KITCHEN_INVITES_PER_DAY") {
            None => 50,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| {
                    ConfigError::new(
                        "KITCHEN_INVITES_PER_DAY",
                        format!("must be a whole number from 1 to 10000, got {v:?}"),
                    )
                })?,
        };
        Ok(Self {
            interval: env.seconds("KITCHEN_INVITE_INTERVAL_SECONDS", 30)?,
            per_day,
        })
    }
}

/// Which limit refused an invite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Interval,
    Daily,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    Granted(Ticket),
    Refused { limit: Limit, retry_after: Duration },
}

/// A granted slot; hand it back with [`InviteLimits::release`] if nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    device: String,
    at_ms: u64,
}

#[derive(Debug, Clone)]
pub struct InviteLimits {
    client: Client,
    table: String,
    settings: LimitSettings,
}

impl InviteLimits {
    pub fn new(
        sdk: &aws_config::SdkConfig,
        table: impl Into<String>,
        settings: LimitSettings,
    ) -> Self {
        Self {
            client: Client::new(sdk),
            table: table.into(),
            settings,
        }
    }

    pub fn settings(&self) -> LimitSettings {
        self.settings
    }

    /// Takes one invite of `device`'s allowance at `now`, or says how long to wait.
    pub async fn reserve(&self, device: &str, now: SystemTime) -> Result<Reservation, TableError> {
        let now_ms = unix_millis(now);
        let day = now_ms / DAY_MS;
        let cutoff = now_ms.saturating_sub(self.settings.interval.as_millis() as u64);
        let expires = now_ms / 1000 + 2 * 86_400;
        // Both takes set the same fields; each condition names only the values
        // it uses (DynamoDB refuses unused ones).
        let take = |condition: &str, update: &str| {
            self.update(device)
                .condition_expression(condition)
                .update_expression(update)
                .expression_attribute_values(":cutoff", n(cutoff))
                .expression_attribute_values(":day", n(day))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":exp", n(expires))
                .expression_attribute_names("#prev", "prev_at")
                .expression_attribute_names("#day", "day")
                .expression_attribute_names("#exp", "expires_at")
        };
        // The usual case: another invite on the same UTC day.
        let same_day = take(
            "#day = :day AND #cnt < :max AND #last <= :cutoff",
            "SET #prev = #last, #last = :now, #cnt = #cnt + :one, #exp = :exp",
        )
        .expression_attribute_values(":max", n(u64::from(self.settings.per_day)))
        .send()
        .await;
        let ticket = Ticket {
            device: device.to_owned(),
            at_ms: now_ms,
        };
        let row = match taken(same_day)? {
            Taken::Yes => return Ok(Reservation::Granted(ticket)),
            Taken::No(row) => row,
        };
        // Refused by today's row: the new-day write cannot succeed either.
        if let Some(row) = row
            .as_ref()
            .filter(|r| r.contains_key("last_at") && number(r, "day") == Some(day))
        {
            return Ok(self.refusal(row, now_ms));
        }
        // The device's first invite, or its first of a new day.
        let new_day = take(
            "attribute_not_exists(#last) OR (#day <> :day AND #last <= :cutoff)",
            "SET #prev = if_not_exists(#last, :zero), #last = :now, #day = :day, #cnt = :one, #exp = :exp",
        )
        .expression_attribute_values(":zero", n(0))
        .send()
        .await;
        match taken(new_day)? {
            Taken::Yes => Ok(Reservation::Granted(ticket)),
            Taken::No(row) => Ok(self.refusal(&row.unwrap_or_default(), now_ms)),
        }
    }

    /// Gives a slot back (Zoom did not deliver). Does nothing when a later
    /// invite has already replaced it.
    pub async fn release(&self, ticket: &Ticket) -> Result<(), TableError> {
        let result = self
            .update(&ticket.device)
            .condition_expression("#last = :at AND #cnt > :zero")
            .update_expression("SET #last = #prev, #cnt = #cnt - :one")
            .expression_attribute_names("#prev", "prev_at")
            .expression_attribute_values(":at", n(ticket.at_ms))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        conditional(ROLE, result).map(|_| ())
    }

    /// For tests and the local run.
    pub async fn create_table(&self) -> Result<(), TableError> {
        crate::dynamo::create_table(&self.client, &self.table).await
    }

    fn update(
        &self,
        device: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(device)))
            .key("sk", s(SK))
            .expression_attribute_names("#last", "last_at")
            .expression_attribute_names("#cnt", "day_count")
            // A refusal returns the row as it was: no second read.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    /// How long until the device may invite again, from the row that refused it.
    fn refusal(&self, item: &Item, now_ms: u64) -> Reservation {
        let last = number(item, "last_at").unwrap_or(0);
        let interval_ms = self.settings.interval.as_millis() as u64;
        let next_by_interval = last.saturating_add(interval_ms);
        let day = now_ms / DAY_MS;
        let daily_full = number(item, "day") == Some(day)
            && number(item, "day_count").unwrap_or(0) >= u64::from(self.settings.per_day);
        let (limit, until_ms) = if daily_full {
            (Limit::Daily, ((day + 1) * DAY_MS).max(next_by_interval))
        } else {
            (Limit::Interval, next_by_interval)
        };
        // At least a second: the row may have changed since the refusal.
        let wait =
            Duration::from_millis(until_ms.saturating_sub(now_ms)).max(Duration::from_secs(1));
        Reservation::Refused {
            limit,
            retry_after: wait,
        }
    }
}

/// Whether a conditional write was applied; if not, the row as it was.
enum Taken {
    Yes,
    No(Option<Item>),
}

fn taken(result: Result<UpdateItemOutput, SdkError<UpdateItemError>>) -> Result<Taken, TableError> {
    match result {
        Ok(_) => Ok(Taken::Yes),
        Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
            match e.into_err() {
                UpdateItemError::ConditionalCheckFailedException(c) => Ok(Taken::No(c.item)),
                _ => Ok(Taken::No(None)),
            }
        }
        Err(e) => Err(TableError::from_sdk(ROLE, &e)),
    }
}

fn pk(device: &str) -> String {
    format!("device#{device}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_env() {
        let env = Env::from_fn(|k| match k {
            "KITCHEN_INVITES_PER_DAY" => Some("5".into()),
            "KITCHEN_INVITE_INTERVAL_SECONDS" => Some("0".into()),
            _ => None,
        });
        assert_eq!(
            LimitSettings::from_env(&env).unwrap(),
            LimitSettings {
                interval: Duration::ZERO,
                per_day: 5
            }
        );
        let defaults = LimitSettings::from_env(&Env::from_fn(|_| None)).unwrap();
        assert_eq!(defaults.per_day, 50);
        assert_eq!(defaults.interval, Duration::from_secs(30));
        for bad in ["0", "-1", "many", "10001"] {
            let env = Env::from_fn(|k| (k == "KITCHEN_INVITES_PER_DAY").then(|| bad.to_owned()));
            assert_eq!(
                LimitSettings::from_env(&env).unwrap_err().var,
                "KITCHEN_INVITES_PER_DAY"
            );
        }
    }
}

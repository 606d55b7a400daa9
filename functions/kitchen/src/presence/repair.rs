//! Reconcile's repair of the presence table from Zoom's live dashboard:
//! [`plan`] decides without I/O, [`PresenceStore::repair`] writes.
//!
//! The rules:
//! * a person's state changes only when this dashboard snapshot and the
//!   previous one (kept in the meta row) agree: counted here but absent from
//!   both → their sessions are marked `out`; present in both but not counted
//!   here → an `in` session per live entry. The first snapshot changes nobody;
//! * no row that a webhook wrote after the previous snapshot, or within
//!   [`REPAIR_GRACE_MS`], is touched: checked again by each write's condition,
//!   so a webhook landing meanwhile also wins; nobody is added when the
//!   meeting ended after that cutoff;
//! * writes are whole seconds with `event_ts = 0`, so a webhook from the same
//!   second beats them;
//! * sessions present in both Zoom and the table get their expiry pushed a
//!   full [`SESSION_TTL_SECS`] ahead once less than half is left, so a stay of
//!   days never drops out.

use std::collections::{BTreeMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;

use super::{
    Guard, META_SK, META_TTL_SECS, PresenceStore, REPAIR_GRACE_MS, RoomPresence, SESSION_PREFIX,
    SESSION_TTL_SECS, SessionRow, SessionState, SessionWrite, name_of, room_pk,
};
use crate::dynamo::{TableError, conditional, n, s};
use crate::participants::{Participant, present_people};
use crate::webhook::whole_second;

/// What [`PresenceStore::repair`] changed, by display name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repair {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Sessions whose expiry was pushed forward (present in Zoom and the table).
    pub refreshed: usize,
    /// People counted after the repair.
    pub count: usize,
}

/// One person to change, with the sessions to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonChange {
    pub person: String,
    pub name: String,
    pub sessions: Vec<String>,
}

/// What a repair is to do, decided from the room as read and one snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairPlan {
    /// The snapshot's time (whole seconds).
    pub at_ms: u64,
    /// Rows a webhook wrote after this are left alone; `None`: no previous
    /// snapshot, so nobody changes.
    pub cutoff_ms: Option<u64>,
    /// Absent from both snapshots; `keeps` lists sessions that stay `in` (live
    /// under another identity, or newer webhooks), so the person stays counted.
    pub remove: Vec<(PersonChange, usize)>,
    /// Present in both snapshots, counted nowhere here.
    pub add: Vec<PersonChange>,
    /// Session keys whose expiry is to be pushed forward.
    pub refresh: Vec<String>,
    /// Person keys present in this snapshot, for the next run.
    pub seen: Vec<String>,
}

/// Decides a repair without I/O; see the module doc for the rules.
pub fn plan(room: &RoomPresence, live: &[Participant], now_ms: u64) -> RepairPlan {
    let now_ms = whole_second(now_ms);
    let live_people = present_people(live);
    // An entry without identity cannot be tracked by key.
    let live_people: BTreeMap<&str, _> = live_people
        .iter()
        .filter_map(|p| Some((p.key.as_deref()?, p)))
        .collect();
    let live_sessions: HashSet<&str> = live_people
        .values()
        .flat_map(|p| p.sessions.iter().map(String::as_str))
        .collect();
    let mut counted: BTreeMap<&str, Vec<&SessionRow>> = BTreeMap::new();
    for s in room.sessions.iter().filter(|s| s.counted) {
        counted.entry(s.person.as_str()).or_default().push(s);
    }
    let now_s = now_ms / 1000;
    let mut plan = RepairPlan {
        at_ms: now_ms,
        refresh: counted
            .iter()
            .filter(|(person, _)| live_people.contains_key(*person))
            .flat_map(|(_, rows)| rows.iter())
            .filter(|s| s.expires_at_s < now_s + SESSION_TTL_SECS / 2)
            .map(|s| s.session_key.clone())
            .collect(),
        seen: live_people.keys().map(|p| (*p).to_owned()).collect(),
        ..RepairPlan::default()
    };
    let Some(previous) = &room.verified else {
        return plan;
    };
    let cutoff_ms = previous.at_ms.min(now_ms.saturating_sub(REPAIR_GRACE_MS));
    plan.cutoff_ms = Some(cutoff_ms);
    let webhook_after_cutoff = |s: &SessionRow| s.event_ts != 0 && s.at_ms > cutoff_ms;

    for (person, rows) in &counted {
        if live_people.contains_key(person) || previous.people.contains(*person) {
            continue;
        }
        let (keep, change): (Vec<&&SessionRow>, Vec<&&SessionRow>) = rows.iter().partition(|s| {
            live_sessions.contains(s.session_key.as_str()) || webhook_after_cutoff(s)
        });
        if !change.is_empty() {
            plan.remove.push((
                PersonChange {
                    person: (*person).to_owned(),
                    name: name_of(rows),
                    sessions: change.iter().map(|s| s.session_key.clone()).collect(),
                },
                keep.len(),
            ));
        }
    }

    if room.ended_at_ms.is_some_and(|end| end > cutoff_ms) {
        return plan;
    }
    let counted_sessions: HashSet<&str> = counted
        .values()
        .flatten()
        .map(|s| s.session_key.as_str())
        .collect();
    for (person, live) in &live_people {
        if !previous.people.contains(*person) {
            continue;
        }
        let known = counted.contains_key(person)
            || live
                .sessions
                .iter()
                .any(|s| counted_sessions.contains(s.as_str()));
        // A webhook newer than the snapshots said otherwise (left, waiting): it wins.
        let overruled = room.sessions.iter().any(|s| {
            (s.person == *person || live.sessions.contains(&s.session_key))
                && webhook_after_cutoff(s)
        });
        if !known && !overruled {
            plan.add.push(PersonChange {
                person: (*person).to_owned(),
                name: live.name.clone(),
                sessions: live.sessions.clone(),
            });
        }
    }
    plan
}

impl PresenceStore {
    /// Brings the table in line with Zoom's live dashboard `live`, taken at
    /// `now_ms` (best the moment the fetch started), by [`plan`]'s rules, and
    /// records this snapshot for the next run.
    pub async fn repair(
        &self,
        meeting_id: &str,
        live: &[Participant],
        now_ms: u64,
    ) -> Result<Repair, TableError> {
        let pk = room_pk(meeting_id);
        let room = self.load(&pk, whole_second(now_ms)).await?;
        let plan = plan(&room, live, now_ms);
        let mut repair = Repair {
            refreshed: self.refresh_expiry(&pk, &plan).await?,
            ..Repair::default()
        };
        if let Some(cutoff_ms) = plan.cutoff_ms {
            let guard = Guard::Repair { cutoff_ms };
            for (change, kept) in &plan.remove {
                // A failed condition means a webhook landed meanwhile: trust it.
                let landed = self
                    .write_all(&pk, change, SessionState::Out, plan.at_ms, guard)
                    .await?;
                if *kept == 0 && landed == change.sessions.len() {
                    repair.removed.push(change.name.clone());
                }
            }
            for change in &plan.add {
                if self
                    .write_all(&pk, change, SessionState::In, plan.at_ms, guard)
                    .await?
                    > 0
                {
                    repair.added.push(change.name.clone());
                }
            }
        }
        self.record_snapshot(&pk, &plan).await?;
        repair.added.sort();
        repair.removed.sort();
        repair.count = (room.count + repair.added.len()).saturating_sub(repair.removed.len());
        Ok(repair)
    }

    /// Writes `state` to each of the person's sessions; how many landed.
    async fn write_all(
        &self,
        pk: &str,
        change: &PersonChange,
        state: SessionState,
        at_ms: u64,
        guard: Guard,
    ) -> Result<usize, TableError> {
        let mut landed = 0;
        for session in &change.sessions {
            let write = SessionWrite {
                session_key: session.clone(),
                person: change.person.clone(),
                name: (state == SessionState::In).then(|| change.name.clone()),
                state,
                at_ms,
                event_ts: 0,
            };
            if self.write_session(pk, &write, guard).await? {
                landed += 1;
            }
        }
        Ok(landed)
    }

    /// Pushes the planned sessions' expiry; changes no state.
    async fn refresh_expiry(&self, pk: &str, plan: &RepairPlan) -> Result<usize, TableError> {
        let expires_at = plan.at_ms / 1000 + SESSION_TTL_SECS;
        let mut refreshed = 0;
        for session in &plan.refresh {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(pk))
                .key("sk", s(format!("{SESSION_PREFIX}{session}")))
                .update_expression("SET #exp = :exp")
                .condition_expression("attribute_exists(#at) AND #exp < :exp")
                .expression_attribute_names("#exp", "expires_at")
                .expression_attribute_names("#at", "at")
                .expression_attribute_values(":exp", n(expires_at))
                .send()
                .await;
            if conditional(Self::ROLE, result)? {
                refreshed += 1;
            }
        }
        Ok(refreshed)
    }

    /// Stores this snapshot (time and people present) for the next run; only
    /// forward, so an overtaken run cannot replace a newer snapshot.
    async fn record_snapshot(&self, pk: &str, plan: &RepairPlan) -> Result<(), TableError> {
        let people: Vec<AttributeValue> = plan.seen.iter().map(s).collect();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(META_SK))
            .update_expression("SET #v = :v, #vp = :vp, #exp = :exp")
            .condition_expression("attribute_not_exists(#v) OR #v < :v")
            .expression_attribute_names("#v", "verified_at")
            .expression_attribute_names("#vp", "verified_people")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":v", n(plan.at_ms))
            .expression_attribute_values(":vp", AttributeValue::L(people))
            .expression_attribute_values(":exp", n(plan.at_ms / 1000 + META_TTL_SECS))
            .send()
            .await;
        conditional(Self::ROLE, result).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::presence::Verified;

    const NOW: u64 = 1_795_464_332_000;
    const MINUTE: u64 = 60_000;

    fn row(person: &str, session: &str, at_ms: u64, event_ts: u64) -> SessionRow {
        SessionRow {
            session_key: session.into(),
            person: person.into(),
            name: Some(person.to_uppercase()),
            state: SessionState::In,
            at_ms,
            event_ts,
            expires_at_s: at_ms / 1000 + SESSION_TTL_SECS,
            counted: true,
        }
    }

    fn room(rows: Vec<SessionRow>, previous: Option<(u64, &[&str])>) -> RoomPresence {
        RoomPresence {
            sessions: rows,
            verified: previous.map(|(at_ms, people)| Verified {
                at_ms,
                people: people
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect::<BTreeSet<_>>(),
            }),
            ..RoomPresence::default()
        }
    }

    fn live(uuids: &[&str]) -> Vec<Participant> {
        serde_json::from_value(json!(
            uuids
                .iter()
                .map(|u| json!({"participant_uuid": u, "user_name": u, "status": "in_meeting"}))
                .collect::<Vec<_>>()
        ))
        .unwrap()
    }

    #[test]
    fn the_first_snapshot_changes_nobody_but_is_recorded() {
        let r = room(vec![row("join:x", "x", NOW - 10 * MINUTE, 1)], None);
        let plan = plan(&r, &live(&["y"]), NOW + 500);
        assert_eq!(plan.cutoff_ms, None);
        assert!(plan.remove.is_empty() && plan.add.is_empty());
        assert_eq!(
            (plan.at_ms, plan.seen.clone()),
            (NOW, vec!["join:y".to_owned()])
        );
    }

    #[test]
    fn only_agreeing_snapshots_and_old_rows_change() {
        let rows = vec![
            row("join:x", "x", NOW - 10 * MINUTE, 1),
            // A webhook after the previous snapshot: left alone.
            row("join:w", "w", NOW - 3 * MINUTE, 1),
            // Reconcile's own earlier write (event_ts 0): fair game.
            row("join:r", "r", NOW - 4 * MINUTE, 0),
        ];
        let previous: &[&str] = &["join:y", "join:z"];
        let plan = plan(
            &room(rows, Some((NOW - 4 * MINUTE, previous))),
            &live(&["y"]),
            NOW,
        );
        assert_eq!(plan.cutoff_ms, Some(NOW - 4 * MINUTE));
        let removed: Vec<&str> = plan.remove.iter().map(|(c, _)| c.person.as_str()).collect();
        assert_eq!(removed, ["join:r", "join:x"]);
        let added: Vec<&str> = plan.add.iter().map(|c| c.person.as_str()).collect();
        assert_eq!(added, ["join:y"], "z is in the previous snapshot only");
    }

    #[test]
    fn expiry_is_refreshed_for_people_both_sides_see() {
        let old = row("join:a", "a", NOW - 20 * 60 * MINUTE, 1);
        let plan = plan(&room(vec![old], None), &live(&["a"]), NOW);
        assert_eq!(plan.refresh, vec!["a".to_owned()]);
        let fresh = row("join:a", "a", NOW - MINUTE, 1);
        let plan_fresh = super::plan(&room(vec![fresh], None), &live(&["a"]), NOW);
        assert!(plan_fresh.refresh.is_empty(), "more than half the TTL left");
    }
}

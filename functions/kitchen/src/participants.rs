//! Who is in the kitchen, from Zoom's live dashboard entries.

use serde::{Deserialize, Deserializer};

use crate::people::{Identity, People, Sighting, group};
use crate::time::{parse_rfc3339, unix_millis};

/// One entry of `GET /metrics/meetings/{id}/participants` (accounts.json,
/// `dashboardMeetingParticipants`). A person who rejoins appears once per join.
/// Only the fields used here are read; all are optional and tolerate numbers.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Participant {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub participant_user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub participant_uuid: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<String>,
    /// When this entry joined (RFC 3339; a rejoin is a new entry).
    #[serde(default, deserialize_with = "lenient")]
    pub join_time: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub leave_time: Option<String>,
}

fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s).filter(|s| !s.trim().is_empty()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

impl Participant {
    /// In the room now: `in_meeting` (not the waiting room) and not left.
    pub fn is_present(&self) -> bool {
        self.status.as_deref() == Some("in_meeting") && self.leave_time.is_none()
    }

    /// The entry's identity fields, for [`crate::people`]'s rule.
    pub fn identity(&self) -> Identity<'_> {
        Identity {
            account_id: self.participant_user_id.as_deref().or(self.id.as_deref()),
            email: self.email.as_deref(),
            participant_uuid: self.participant_uuid.as_deref(),
            user_id: self.user_id.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headcount {
    pub count: usize,
    /// Display names of the people counted, one per person, sorted.
    pub names: Vec<String>,
    /// The earliest `join_time` among the entries present (ms since the
    /// epoch): when the people now in the room started arriving. `None` when
    /// nobody is present or no present entry carries a readable time.
    pub occupied_since_ms: Option<u64>,
}

/// The people present in dashboard `entries`, grouped by [`crate::people`]'s
/// rule; a later entry is a newer sighting.
pub fn present_people(entries: &[Participant]) -> People {
    group(
        entries
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_present())
            .map(|(i, p)| {
                let id = p.identity();
                Sighting::new(
                    id.person_key(),
                    id.session_key(),
                    p.user_name.as_deref(),
                    (i as u64, 0),
                )
            }),
    )
}

/// Distinct people present. An entry with no identity at all is counted alone.
pub fn headcount(entries: &[Participant]) -> Headcount {
    let people = present_people(entries);
    Headcount {
        count: people.count(),
        names: people.names(),
        occupied_since_ms: entries
            .iter()
            .filter(|p| p.is_present())
            .filter_map(|p| parse_rfc3339(p.join_time.as_deref()?))
            .map(unix_millis)
            .min(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: serde_json::Value) -> Vec<Participant> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rejoins_waiting_room_and_leavers() {
        let entries = parse(json!([
            {"participant_uuid": "A1", "user_name": "Alice", "status": "in_meeting", "join_time": "2026-01-01T09:30:00Z"},
            {"participant_uuid": "B1", "participant_user_id": "bob", "user_name": "Bob", "status": "in_meeting", "join_time": "2026-01-01T09:00:00Z", "leave_time": "2026-01-01T10:00:00Z"},
            {"participant_uuid": "B2", "participant_user_id": "bob", "user_name": "Bob", "status": "in_meeting", "join_time": "2026-01-01T10:01:00Z"},
            {"participant_uuid": "D1", "user_name": "Dave", "status": "in_waiting_room", "join_time": "2026-01-01T08:00:00Z"},
            {"participant_uuid": "E1", "user_name": "Eve", "status": "in_meeting", "join_time": "2026-01-01T07:00:00Z", "leave_time": "2026-01-01T10:00:00Z"},
        ]));
        // Occupied since Alice's join: the earlier joins of Bob, Dave (waiting)
        // and Eve (left) are not of anyone in the room now.
        let alice_joined = parse_rfc3339("2026-01-01T09:30:00Z").map(unix_millis);
        assert_eq!(
            headcount(&entries),
            Headcount {
                count: 2,
                names: vec!["Alice".into(), "Bob".into()],
                occupied_since_ms: alice_joined,
            }
        );
    }

    #[test]
    fn two_devices_one_person_by_account_or_email() {
        let entries = parse(json!([
            {"participant_uuid": "P1", "id": "acct-1", "status": "in_meeting"},
            {"participant_uuid": "P2", "id": "acct-1", "status": "in_meeting"},
            {"participant_uuid": "P3", "email": "Carol@Example.com", "status": "in_meeting"},
            {"participant_uuid": "P4", "email": "carol@example.com", "status": "in_meeting"},
            {"user_id": 16778240, "status": "in_meeting"},
            {"status": "in_meeting"},
            {"status": "in_meeting"},
        ]));
        assert_eq!(headcount(&entries).count, 5);
    }

    #[test]
    fn odd_field_types_do_not_fail_parsing() {
        let entries =
            parse(json!([{"status": null, "user_id": 42, "email": ["x"], "leave_time": ""}]));
        assert_eq!(entries[0].user_id.as_deref(), Some("42"));
        assert_eq!(entries[0].email, None);
        assert_eq!(headcount(&entries).count, 0);
    }

    #[test]
    fn occupied_since_needs_a_readable_join_time() {
        let entries = parse(json!([
            {"participant_uuid": "A1", "status": "in_meeting", "join_time": "not a time"},
            {"participant_uuid": "B1", "status": "in_meeting"},
        ]));
        assert_eq!(headcount(&entries).occupied_since_ms, None);
        assert_eq!(headcount(&[]).occupied_since_ms, None);
    }
}

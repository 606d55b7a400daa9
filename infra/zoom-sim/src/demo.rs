//! The demo account `Sim::demo()` serves (described there).

use std::time::SystemTime;

use serde_json::json;

use crate::state::State;
use crate::{
    DEFAULT_ROOM, DEMO_KITCHEN_CHANNEL, DEMO_LOUNGE_CHANNEL, DEMO_LOUNGE_MEETING_ID,
    DEMO_LOUNGE_ROOM,
};
use crate::{EntryFields, MeetingUpdate, dashboard_entry, util};

impl State {
    pub(crate) fn load_demo_data(&self) {
        for email in [
            "alice@example.com",
            "bob@example.com",
            "carol@example.com",
            "erin@example.com",
        ] {
            self.add_user(email, true);
        }
        self.add_user("stranger@example.com", false);
        let kitchen = self.cfg.meeting_id.clone();
        self.add_room(
            DEFAULT_ROOM,
            &kitchen,
            Some(DEMO_KITCHEN_CHANNEL),
            crate::DEFAULT_TOPIC,
        );
        self.add_room(
            DEMO_LOUNGE_ROOM,
            DEMO_LOUNGE_MEETING_ID,
            Some(DEMO_LOUNGE_CHANNEL),
            "Coffee Lounge",
        );
        // Guests (people outside the account) wait; account users walk in.
        self.update_meeting(&kitchen, |m| {
            m.apply(&MeetingUpdate {
                waiting_room: Some(true),
                ..MeetingUpdate::default()
            });
        });

        let now = SystemTime::now();
        let at = |m| kitchen::time::format_rfc3339(util::minutes_ago(now, m));
        let entry =
            |user_id: &str, name: &str, email: &str, device: &str, joined: String, puuid: &str| {
                let zid = if email.is_empty() {
                    String::new()
                } else {
                    util::zoom_user_id(email)
                };
                dashboard_entry(&EntryFields {
                    zoom_user_id: &zid,
                    user_id,
                    participant_uuid: puuid,
                    user_name: name,
                    email,
                    device,
                    join_time: &joined,
                    status: "in_meeting",
                    quality: "good",
                })
            };
        let bob_uuid = "7A1F3C52-9D0B-4E21-8C6D-2B5E0F9A4D13";
        let alice = entry(
            "16778241",
            "Alice Example",
            "alice@example.com",
            "Mac",
            at(25),
            "3F6B2A10-5C7E-4D8F-9A01-B2C3D4E5F607",
        );
        let mut bob_before = entry(
            "16778242",
            "Bob Example",
            "bob@example.com",
            "iOS",
            at(40),
            bob_uuid,
        );
        if let Some(o) = bob_before.as_object_mut() {
            o.insert("leave_time".into(), json!(at(30)));
            o.insert(
                "leave_reason".into(),
                json!("Bob Example left the meeting."),
            );
        }
        let bob_now = entry(
            "16778245",
            "Bob Example",
            "bob@example.com",
            "iOS",
            at(10),
            bob_uuid,
        );
        let carol = entry(
            "16778246",
            "Carol Example",
            "carol@example.com",
            "Windows",
            at(5),
            "C0FFEE00-1234-4ABC-8DEF-0123456789AB",
        );
        let mut dave = entry(
            "16778247",
            "Dave (guest)",
            "",
            "Android",
            at(1),
            "D4A7E000-5678-4BCD-9EF0-123456789ABC",
        );
        if let Some(o) = dave.as_object_mut() {
            o.insert("status".into(), json!("in_waiting_room"));
            o.insert("audio_quality".into(), json!(""));
            o.insert("video_quality".into(), json!(""));
        }
        self.with_meeting(&kitchen, |m, _| {
            m.participants = vec![bob_before, alice, bob_now, carol, dave];
            m.running = true;
            m.start_time = util::minutes_ago(now, 45);
        });
    }
}

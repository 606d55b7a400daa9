//! Shared mutable state of a simulator.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::util;
use crate::{Endpoint, Fault, SentMessage, SimConfig, Stats};

pub(crate) struct State {
    pub cfg: SimConfig,
    inner: Mutex<Inner>,
    pub stats: AtomicStats,
    latency_nanos: AtomicU64,
    token_ttl_secs: AtomicU64,
    echo_chat: AtomicBool,
    pub created: SystemTime,
}

struct Inner {
    /// token -> expiry
    tokens: HashMap<String, Instant>,
    meetings: HashMap<String, Meeting>,
    /// lower-case email -> user
    users: HashMap<String, User>,
    messages: Vec<SentMessage>,
    faults: HashMap<Endpoint, VecDeque<Fault>>,
    sticky: HashMap<Endpoint, Fault>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    next_participant_user_id: u64,
}

#[derive(Clone)]
pub(crate) struct Meeting {
    pub id: String,
    pub uuid: String,
    pub running: bool,
    pub participants: Vec<Value>,
    pub start_time: SystemTime,
}

#[derive(Clone)]
pub(crate) struct User {
    pub id: String,
    pub is_contact: bool,
}

/// Who the chat endpoint resolved `to_contact` to.
pub(crate) enum Recipient {
    Unknown,
    NotContact,
    Contact,
}

impl State {
    pub fn new(cfg: SimConfig) -> State {
        let created = SystemTime::now();
        let mut inner = Inner {
            tokens: HashMap::new(),
            meetings: HashMap::new(),
            users: HashMap::new(),
            messages: Vec::new(),
            faults: HashMap::new(),
            sticky: HashMap::new(),
            webhook_url: cfg.webhook_url.clone(),
            webhook_secret: cfg.webhook_secret_token.clone(),
            next_participant_user_id: 16_778_240,
        };
        inner.users.insert(
            cfg.tech_user.to_ascii_lowercase(),
            User {
                id: util::zoom_user_id(&cfg.tech_user),
                is_contact: false,
            },
        );
        inner.meetings.insert(
            cfg.meeting_id.clone(),
            Meeting::new(&cfg.meeting_id, util::minutes_ago(created, 45)),
        );
        State {
            token_ttl_secs: AtomicU64::new(cfg.token_ttl_secs),
            cfg,
            inner: Mutex::new(inner),
            stats: AtomicStats::default(),
            latency_nanos: AtomicU64::new(0),
            echo_chat: AtomicBool::new(false),
            created,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave Inner inconsistent in a
        // way that matters for a simulator: keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn load_demo_data(&self) {
        for email in ["alice@example.com", "bob@example.com", "carol@example.com"] {
            self.add_user(email, true);
        }
        self.add_user("stranger@example.com", false);
        let now = SystemTime::now();
        let at = |m| util::rfc3339(util::minutes_ago(now, m));
        let bob_uuid = "7A1F3C52-9D0B-4E21-8C6D-2B5E0F9A4D13";
        let entry =
            |user_id: &str, name: &str, email: &str, device: &str, joined: String, puuid: &str| {
                let zid = if email.is_empty() {
                    String::new()
                } else {
                    util::zoom_user_id(email)
                };
                crate::dashboard_entry(&crate::EntryFields {
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
        let participants = vec![bob_before, alice, bob_now, carol, dave];
        let mut inner = self.lock();
        inner.next_participant_user_id = 16_778_248;
        let id = self.cfg.meeting_id.clone();
        let m = inner
            .meetings
            .entry(id.clone())
            .or_insert_with(|| Meeting::new(&id, util::minutes_ago(now, 45)));
        m.participants = participants;
        m.running = true;
    }

    // ---- tokens ----

    pub fn token_ttl(&self) -> u64 {
        self.token_ttl_secs.load(Ordering::Relaxed)
    }

    pub fn set_token_ttl(&self, secs: u64) {
        self.token_ttl_secs.store(secs, Ordering::Relaxed);
    }

    pub fn store_token(&self, token: String, ttl_secs: u64) {
        let now = Instant::now();
        let expiry = now
            .checked_add(Duration::from_secs(ttl_secs))
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        let mut inner = self.lock();
        if inner.tokens.len() >= 1024 {
            inner.tokens.retain(|_, exp| *exp > now);
        }
        inner.tokens.insert(token, expiry);
    }

    pub fn token_valid(&self, token: &str) -> bool {
        self.lock()
            .tokens
            .get(token)
            .is_some_and(|exp| Instant::now() < *exp)
    }

    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    // ---- faults ----

    pub fn push_fault(&self, ep: Endpoint, fault: Fault) {
        self.lock().faults.entry(ep).or_default().push_back(fault);
    }

    pub fn set_sticky_fault(&self, ep: Endpoint, fault: Option<Fault>) {
        let mut inner = self.lock();
        match fault {
            Some(f) => {
                inner.sticky.insert(ep, f);
            }
            None => {
                inner.sticky.remove(&ep);
            }
        }
    }

    pub fn clear_faults(&self, ep: Option<Endpoint>) {
        let mut inner = self.lock();
        match ep {
            Some(ep) => {
                inner.faults.remove(&ep);
                inner.sticky.remove(&ep);
            }
            None => {
                inner.faults.clear();
                inner.sticky.clear();
            }
        }
    }

    /// The fault for the current request: the oldest queued one, else the sticky one.
    pub fn take_fault(&self, ep: Endpoint) -> Option<Fault> {
        let mut inner = self.lock();
        if let Some(f) = inner.faults.get_mut(&ep).and_then(VecDeque::pop_front) {
            return Some(f);
        }
        inner.sticky.get(&ep).cloned()
    }

    // ---- latency / echo ----

    pub fn latency(&self) -> Duration {
        Duration::from_nanos(self.latency_nanos.load(Ordering::Relaxed))
    }

    pub fn set_latency(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.latency_nanos.store(nanos, Ordering::Relaxed);
    }

    pub fn set_echo(&self, on: bool) {
        self.echo_chat.store(on, Ordering::Relaxed);
    }

    pub fn echo(&self) -> bool {
        self.echo_chat.load(Ordering::Relaxed)
    }

    // ---- meetings ----

    pub fn set_participants(&self, meeting_id: &str, participants: Vec<Value>) {
        let mut inner = self.lock();
        let created = self.created;
        let m = inner
            .meetings
            .entry(meeting_id.to_owned())
            .or_insert_with(|| Meeting::new(meeting_id, created));
        m.participants = participants;
    }

    pub fn participants(&self, meeting_id: &str) -> Vec<Value> {
        self.lock()
            .meetings
            .get(meeting_id)
            .map(|m| m.participants.clone())
            .unwrap_or_default()
    }

    pub fn set_running(&self, meeting_id: &str, running: bool) {
        let mut inner = self.lock();
        let created = self.created;
        let m = inner
            .meetings
            .entry(meeting_id.to_owned())
            .or_insert_with(|| Meeting::new(meeting_id, created));
        if running && !m.running {
            m.start_time = SystemTime::now();
        }
        m.running = running;
    }

    /// A meeting by numeric id or by UUID (a UUID may arrive double-encoded,
    /// as Zoom requires for UUIDs containing `/`).
    pub fn meeting(&self, id_or_uuid: &str) -> Option<Meeting> {
        let inner = self.lock();
        let decoded = util::percent_decode(id_or_uuid);
        inner
            .meetings
            .get(id_or_uuid)
            .or_else(|| {
                inner
                    .meetings
                    .values()
                    .find(|m| m.uuid == id_or_uuid || Some(&m.uuid) == decoded.as_ref())
            })
            .cloned()
    }

    /// Runs `f` on a meeting's participants (meeting created if unknown) and
    /// hands out a fresh dashboard `user_id`.
    pub fn with_meeting<R>(
        &self,
        meeting_id: &str,
        f: impl FnOnce(&mut Meeting, &mut dyn FnMut() -> u64) -> R,
    ) -> R {
        let mut inner = self.lock();
        let created = self.created;
        let Inner {
            meetings,
            next_participant_user_id,
            ..
        } = &mut *inner;
        let m = meetings
            .entry(meeting_id.to_owned())
            .or_insert_with(|| Meeting::new(meeting_id, created));
        let mut next = || {
            let id = *next_participant_user_id;
            *next_participant_user_id += 1;
            id
        };
        f(m, &mut next)
    }

    // ---- users / chat ----

    pub fn add_user(&self, email: &str, is_contact: bool) {
        self.lock().users.insert(
            email.to_ascii_lowercase(),
            User {
                id: util::zoom_user_id(email),
                is_contact,
            },
        );
    }

    pub fn user_by_email(&self, email: &str) -> Option<User> {
        self.lock().users.get(&email.to_ascii_lowercase()).cloned()
    }

    pub fn tech_user_id(&self) -> String {
        util::zoom_user_id(&self.cfg.tech_user)
    }

    /// Whether a `{userId}` path value designates the tech user.
    pub fn is_tech_user(&self, user_id: &str) -> bool {
        user_id == "me"
            || user_id.eq_ignore_ascii_case(&self.cfg.tech_user)
            || user_id == self.tech_user_id()
    }

    /// Resolves `to_contact` (email, case-insensitive, or Zoom user id).
    pub fn recipient(&self, to_contact: &str) -> Recipient {
        let inner = self.lock();
        let lower = to_contact.to_ascii_lowercase();
        let user = inner
            .users
            .get(&lower)
            .or_else(|| inner.users.values().find(|u| u.id == to_contact));
        match user {
            None => Recipient::Unknown,
            Some(u) if u.is_contact => Recipient::Contact,
            Some(_) => Recipient::NotContact,
        }
    }

    pub fn record_message(&self, msg: SentMessage) {
        self.lock().messages.push(msg);
    }

    pub fn messages(&self) -> Vec<SentMessage> {
        self.lock().messages.clone()
    }

    pub fn clear_messages(&self) {
        self.lock().messages.clear();
    }

    // ---- webhooks ----

    pub fn set_webhook_target(&self, url: Option<String>, secret: Option<String>) {
        let mut inner = self.lock();
        inner.webhook_url = url;
        inner.webhook_secret = secret;
    }

    /// (url, secret) if a target is configured.
    pub fn webhook_target(&self) -> Option<(String, String)> {
        let inner = self.lock();
        inner
            .webhook_url
            .clone()
            .map(|u| (u, inner.webhook_secret.clone().unwrap_or_default()))
    }
}

impl Meeting {
    fn new(id: &str, start_time: SystemTime) -> Meeting {
        Meeting {
            id: id.to_owned(),
            uuid: util::meeting_uuid(id),
            running: true,
            participants: Vec::new(),
            start_time,
        }
    }
}

#[derive(Default)]
pub(crate) struct AtomicStats {
    token_requests: AtomicU64,
    meeting_requests: AtomicU64,
    dashboard_requests: AtomicU64,
    chat_requests: AtomicU64,
    chat_delivered: AtomicU64,
    unauthorized: AtomicU64,
    rate_limited: AtomicU64,
    handler_nanos_total: AtomicU64,
    handled: AtomicU64,
    webhooks_sent: AtomicU64,
}

impl AtomicStats {
    fn all(&self) -> [&AtomicU64; 10] {
        [
            &self.token_requests,
            &self.meeting_requests,
            &self.dashboard_requests,
            &self.chat_requests,
            &self.chat_delivered,
            &self.unauthorized,
            &self.rate_limited,
            &self.handler_nanos_total,
            &self.handled,
            &self.webhooks_sent,
        ]
    }

    pub fn snapshot(&self) -> Stats {
        let [
            token_requests,
            meeting_requests,
            dashboard_requests,
            chat_requests,
            chat_delivered,
            unauthorized,
            rate_limited,
            handler_nanos_total,
            handled,
            webhooks_sent,
        ] = self.all().map(|a| a.load(Ordering::Relaxed));
        Stats {
            token_requests,
            meeting_requests,
            dashboard_requests,
            chat_requests,
            chat_delivered,
            unauthorized,
            rate_limited,
            handler_nanos_total,
            handled,
            webhooks_sent,
        }
    }

    pub fn reset(&self) {
        for a in self.all() {
            a.store(0, Ordering::Relaxed);
        }
    }

    pub fn count_request(&self, ep: Endpoint) {
        let c = match ep {
            Endpoint::Token => &self.token_requests,
            Endpoint::Meeting => &self.meeting_requests,
            Endpoint::Dashboard => &self.dashboard_requests,
            Endpoint::Chat => &self.chat_requests,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_unauthorized(&self) {
        self.unauthorized.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_delivered(&self) {
        self.chat_delivered.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_webhook(&self) {
        self.webhooks_sent.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_handled(&self, busy: Duration) {
        let nanos = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
        self.handler_nanos_total.fetch_add(nanos, Ordering::Relaxed);
        self.handled.fetch_add(1, Ordering::Relaxed);
    }
}

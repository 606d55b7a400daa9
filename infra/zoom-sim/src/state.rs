//! Shared mutable state of a simulator: tokens, users, rooms and their
//! meetings, channels, messages, faults and counters.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::util;
use crate::{EndedMeeting, Endpoint, Fault, MeetingSettings, SentMessage, SimConfig, Stats};

/// Most tokens / page tokens kept before expired ones are swept.
const SWEEP_AT: usize = 1024;

pub(crate) struct State {
    pub cfg: SimConfig,
    inner: Mutex<Inner>,
    pub stats: AtomicStats,
    latency_nanos: AtomicU64,
    echo_chat: AtomicBool,
    pub created: SystemTime,
    /// Built on the first webhook delivery (most sims never send one).
    http: OnceLock<reqwest::Client>,
}

struct Inner {
    token_ttl_secs: u64,
    /// token -> (expiry, scopes it was issued with)
    tokens: HashMap<String, (Instant, Arc<[String]>)>,
    /// Scopes granted to tokens issued from now on.
    scopes: Arc<[String]>,
    meetings: HashMap<String, Meeting>,
    /// room name -> room
    rooms: BTreeMap<String, Room>,
    /// channel id -> channel name
    channels: BTreeMap<String, String>,
    /// lower-case email -> user
    users: HashMap<String, User>,
    messages: Vec<SentMessage>,
    ended: Vec<EndedMeeting>,
    faults: HashMap<Endpoint, VecDeque<Fault>>,
    sticky: HashMap<Endpoint, Fault>,
    /// Chat sends left before every send answers 429 (`None`: no limit).
    chat_budget: Option<u64>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    /// opaque page token -> page
    pages: HashMap<String, Page>,
    next_participant_user_id: u64,
}

#[derive(Clone)]
pub(crate) struct Page {
    /// What is paged (e.g. "dashboard:<meeting id>"), so a token fits one listing only.
    pub listing: String,
    pub offset: usize,
    expires: Instant,
}

#[derive(Clone, Debug)]
pub(crate) struct Room {
    pub name: String,
    pub meeting_id: String,
    pub channel: Option<String>,
}

#[derive(Clone)]
pub(crate) struct Meeting {
    pub id: String,
    pub uuid: String,
    /// Lower-case email of the host.
    pub host: String,
    /// Zoom's meeting type (3: recurring with no fixed time, the permanent room).
    pub kind: u8,
    pub topic: String,
    pub agenda: String,
    pub settings: MeetingSettings,
    pub running: bool,
    pub participants: Vec<Value>,
    pub start_time: SystemTime,
    pub created_at: SystemTime,
}

#[derive(Clone)]
pub(crate) struct User {
    pub id: String,
    pub email: String,
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
            token_ttl_secs: cfg.token_ttl_secs,
            tokens: HashMap::new(),
            scopes: cfg.scopes.iter().cloned().collect(),
            meetings: HashMap::new(),
            rooms: BTreeMap::new(),
            channels: BTreeMap::new(),
            users: HashMap::new(),
            messages: Vec::new(),
            ended: Vec::new(),
            faults: HashMap::new(),
            sticky: HashMap::new(),
            chat_budget: None,
            webhook_url: cfg.webhook_url.clone(),
            webhook_secret: cfg.webhook_secret_token.clone(),
            pages: HashMap::new(),
            // Dashboard user_ids after the demo's (16778241..=16778247).
            next_participant_user_id: 16_778_248,
        };
        inner.add_user(&cfg.tech_user, false);
        let tech = cfg.tech_user.to_ascii_lowercase();
        inner.meetings.insert(
            cfg.meeting_id.clone(),
            Meeting::new(
                &cfg.meeting_id,
                &tech,
                crate::DEFAULT_TOPIC,
                util::minutes_ago(created, 45),
            ),
        );
        State {
            cfg,
            inner: Mutex::new(inner),
            stats: AtomicStats::default(),
            latency_nanos: AtomicU64::new(0),
            echo_chat: AtomicBool::new(false),
            created,
            http: OnceLock::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave Inner inconsistent in a
        // way that matters for a simulator: keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The HTTP client for webhook deliveries.
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(10))
                .user_agent("Zoom Marketplace/1.0a")
                .no_proxy()
                .build()
                .unwrap_or_default()
        })
    }

    // ---- tokens and scopes ----

    pub fn token_ttl(&self) -> u64 {
        self.lock().token_ttl_secs
    }

    pub fn set_token_ttl(&self, secs: u64) {
        self.lock().token_ttl_secs = secs;
    }

    /// Remembers a token with the scopes granted now; returns those scopes.
    pub fn store_token(&self, token: String, ttl_secs: u64) -> Arc<[String]> {
        let now = Instant::now();
        let expiry = now
            .checked_add(Duration::from_secs(ttl_secs))
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        let mut inner = self.lock();
        if inner.tokens.len() >= SWEEP_AT {
            inner.tokens.retain(|_, (exp, _)| *exp > now);
        }
        let scopes = inner.scopes.clone();
        inner.tokens.insert(token, (expiry, scopes.clone()));
        scopes
    }

    /// The scopes of a valid token; `None` if unknown, expired or revoked.
    pub fn token_scopes(&self, token: &str) -> Option<Arc<[String]>> {
        self.lock()
            .tokens
            .get(token)
            .filter(|(exp, _)| Instant::now() < *exp)
            .map(|(_, scopes)| scopes.clone())
    }

    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    pub fn set_scopes(&self, scopes: Vec<String>) {
        self.lock().scopes = scopes.into();
    }

    pub fn scopes(&self) -> Vec<String> {
        self.lock().scopes.to_vec()
    }

    // ---- faults ----

    pub fn push_fault(&self, ep: Endpoint, fault: Fault) {
        self.lock().faults.entry(ep).or_default().push_back(fault);
    }

    pub fn set_sticky_fault(&self, ep: Endpoint, fault: Option<Fault>) {
        let mut inner = self.lock();
        match fault {
            Some(f) => inner.sticky.insert(ep, f),
            None => inner.sticky.remove(&ep),
        };
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
        if ep.is_none_or(|ep| ep == Endpoint::Chat) {
            inner.chat_budget = None;
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

    pub fn set_chat_budget(&self, sends: Option<u64>) {
        self.lock().chat_budget = sends;
    }

    /// Takes one send from the chat budget; `false` when it is used up.
    pub fn take_chat_send(&self) -> bool {
        match &mut self.lock().chat_budget {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
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

    // ---- rooms, channels and meetings ----

    /// Adds (or replaces) a room; its meeting is created, not running, if unknown.
    pub fn add_room(&self, name: &str, meeting_id: &str, channel: Option<&str>, topic: &str) {
        let created = self.created;
        let tech = self.cfg.tech_user.to_ascii_lowercase();
        let mut inner = self.lock();
        inner
            .meetings
            .entry(meeting_id.to_owned())
            .or_insert_with(|| {
                let mut m = Meeting::new(meeting_id, &tech, topic, created);
                m.running = false;
                m
            });
        if let Some(c) = channel {
            inner
                .channels
                .entry(c.to_owned())
                .or_insert_with(|| name.to_owned());
        }
        inner.rooms.insert(
            name.to_owned(),
            Room {
                name: name.to_owned(),
                meeting_id: meeting_id.to_owned(),
                channel: channel.map(str::to_owned),
            },
        );
    }

    pub fn rooms(&self) -> Vec<Room> {
        self.lock().rooms.values().cloned().collect()
    }

    pub fn room(&self, name: &str) -> Option<Room> {
        self.lock().rooms.get(name).cloned()
    }

    pub fn add_channel(&self, id: &str, name: &str) {
        self.lock().channels.insert(id.to_owned(), name.to_owned());
    }

    pub fn channel_exists(&self, id: &str) -> bool {
        self.lock().channels.contains_key(id)
    }

    pub fn set_participants(&self, meeting_id: &str, participants: Vec<Value>) {
        self.with_meeting(meeting_id, |m, _| m.participants = participants);
    }

    pub fn participants(&self, meeting_id: &str) -> Vec<Value> {
        self.lock()
            .meetings
            .get(meeting_id)
            .map(|m| m.participants.clone())
            .unwrap_or_default()
    }

    pub fn set_running(&self, meeting_id: &str, running: bool) {
        self.with_meeting(meeting_id, |m, _| {
            if running && !m.running {
                m.start_time = SystemTime::now();
            }
            m.running = running;
        });
    }

    /// A meeting by numeric id or by UUID (a UUID may arrive double-encoded,
    /// as Zoom requires for UUIDs containing `/`).
    pub fn meeting(&self, id_or_uuid: &str) -> Option<Meeting> {
        let inner = self.lock();
        inner.find_meeting(id_or_uuid).cloned()
    }

    /// Runs `f` on a known meeting (by id or UUID); `None` if unknown.
    pub fn update_meeting<R>(
        &self,
        id_or_uuid: &str,
        f: impl FnOnce(&mut Meeting) -> R,
    ) -> Option<R> {
        let mut inner = self.lock();
        let id = inner.find_meeting(id_or_uuid)?.id.clone();
        inner.meetings.get_mut(&id).map(f)
    }

    /// Meetings hosted by `host` (lower-case email), oldest first.
    pub fn meetings_of(&self, host: &str) -> Vec<Meeting> {
        let mut v: Vec<Meeting> = self
            .lock()
            .meetings
            .values()
            .filter(|m| m.host == host)
            .cloned()
            .collect();
        v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        v
    }

    /// Creates a meeting with a fresh id, not running.
    pub fn create_meeting(
        &self,
        host: &str,
        kind: u8,
        topic: &str,
        agenda: &str,
        settings: MeetingSettings,
    ) -> Meeting {
        let mut inner = self.lock();
        let id = loop {
            let candidate = util::meeting_number();
            if !inner.meetings.contains_key(&candidate) {
                break candidate;
            }
        };
        let mut m = Meeting::new(&id, host, topic, SystemTime::now());
        m.running = false;
        m.kind = kind;
        m.agenda = agenda.to_owned();
        m.settings = settings;
        inner.meetings.insert(id, m.clone());
        m
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
        let tech = self.cfg.tech_user.to_ascii_lowercase();
        let Inner {
            meetings,
            next_participant_user_id,
            ..
        } = &mut *inner;
        let m = meetings
            .entry(meeting_id.to_owned())
            .or_insert_with(|| Meeting::new(meeting_id, &tech, crate::DEFAULT_TOPIC, created));
        let mut next = || {
            let id = *next_participant_user_id;
            *next_participant_user_id += 1;
            id
        };
        f(m, &mut next)
    }

    pub fn record_end(&self, ended: EndedMeeting) {
        self.lock().ended.push(ended);
    }

    /// Fills in the webhook outcome of the latest end of `meeting_id`.
    pub fn record_end_webhook(&self, meeting_id: &str, delivery: crate::WebhookDelivery) {
        let mut inner = self.lock();
        if let Some(e) = inner
            .ended
            .iter_mut()
            .rev()
            .find(|e| e.meeting_id == meeting_id)
        {
            e.webhook = Some(delivery);
        }
    }

    pub fn ended(&self) -> Vec<EndedMeeting> {
        self.lock().ended.clone()
    }

    /// The room a meeting belongs to, if any.
    pub fn room_of(&self, meeting_id: &str) -> Option<String> {
        self.lock()
            .rooms
            .values()
            .find(|r| r.meeting_id == meeting_id)
            .map(|r| r.name.clone())
    }

    // ---- page tokens ----

    pub fn new_page(&self, listing: &str, offset: usize, ttl: Duration) -> String {
        let token = util::random_token(24);
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.pages.len() >= SWEEP_AT {
            inner.pages.retain(|_, p| p.expires > now);
        }
        inner.pages.insert(
            token.clone(),
            Page {
                listing: listing.to_owned(),
                offset,
                expires: now + ttl,
            },
        );
        token
    }

    /// The offset a page token stands for, if it is valid for `listing`.
    pub fn page(&self, token: &str, listing: &str) -> Option<usize> {
        self.lock()
            .pages
            .get(token)
            .filter(|p| p.listing == listing && Instant::now() < p.expires)
            .map(|p| p.offset)
    }

    // ---- users / chat ----

    pub fn add_user(&self, email: &str, is_contact: bool) {
        self.lock().add_user(email, is_contact);
    }

    pub fn user_by_email(&self, email: &str) -> Option<User> {
        self.lock().users.get(&email.to_ascii_lowercase()).cloned()
    }

    /// A `{userId}` path value: `me` (the tech user), an email or a Zoom user id.
    pub fn user(&self, user_id: &str) -> Option<User> {
        let inner = self.lock();
        if user_id == "me" {
            return inner
                .users
                .get(&self.cfg.tech_user.to_ascii_lowercase())
                .cloned();
        }
        inner
            .users
            .get(&user_id.to_ascii_lowercase())
            .or_else(|| inner.users.values().find(|u| u.id == user_id))
            .cloned()
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

impl Inner {
    fn add_user(&mut self, email: &str, is_contact: bool) {
        self.users.insert(
            email.to_ascii_lowercase(),
            User {
                id: util::zoom_user_id(email),
                email: email.to_owned(),
                is_contact,
            },
        );
    }

    fn find_meeting(&self, id_or_uuid: &str) -> Option<&Meeting> {
        let decoded = util::percent_decode(id_or_uuid);
        self.meetings.get(id_or_uuid).or_else(|| {
            self.meetings
                .values()
                .find(|m| m.uuid == id_or_uuid || Some(&m.uuid) == decoded.as_ref())
        })
    }
}

impl Meeting {
    fn new(id: &str, host: &str, topic: &str, start_time: SystemTime) -> Meeting {
        Meeting {
            id: id.to_owned(),
            uuid: util::meeting_uuid(id),
            host: host.to_owned(),
            kind: 3,
            topic: topic.to_owned(),
            agenda: "Drop in for a coffee.".to_owned(),
            settings: MeetingSettings::default(),
            running: true,
            participants: Vec::new(),
            start_time,
            created_at: start_time,
        }
    }
}

impl Meeting {
    pub fn apply(&mut self, u: &crate::MeetingUpdate) {
        if let Some(k) = u.kind {
            self.kind = k;
        }
        if let Some(t) = &u.topic {
            self.topic.clone_from(t);
        }
        if let Some(v) = u.join_before_host {
            self.settings.join_before_host = v;
        }
        if let Some(v) = u.jbh_time {
            self.settings.jbh_time = v;
        }
        if let Some(v) = u.waiting_room {
            self.settings.waiting_room = v;
        }
    }
}

/// One counter per field of [`Stats`].
macro_rules! atomic_stats {
    ($($field:ident),* $(,)?) => {
        #[derive(Default)]
        pub(crate) struct AtomicStats {
            $($field: AtomicU64,)*
        }

        impl AtomicStats {
            pub fn snapshot(&self) -> Stats {
                Stats { $($field: self.$field.load(Ordering::Relaxed),)* }
            }

            pub fn reset(&self) {
                $(self.$field.store(0, Ordering::Relaxed);)*
            }
        }
    };
}

atomic_stats!(
    token_requests,
    meeting_requests,
    dashboard_requests,
    chat_requests,
    chat_delivered,
    meeting_status_requests,
    user_requests,
    user_meetings_requests,
    unauthorized,
    rate_limited,
    missing_scope,
    handler_nanos_total,
    handled,
    webhooks_sent,
);

impl AtomicStats {
    pub fn count_request(&self, ep: Endpoint) {
        let c = match ep {
            Endpoint::Token => &self.token_requests,
            Endpoint::Meeting => &self.meeting_requests,
            Endpoint::Dashboard => &self.dashboard_requests,
            Endpoint::Chat => &self.chat_requests,
            Endpoint::MeetingStatus => &self.meeting_status_requests,
            Endpoint::User => &self.user_requests,
            Endpoint::UserMeetings => &self.user_meetings_requests,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_unauthorized(&self) {
        self.unauthorized.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_missing_scope(&self) {
        self.missing_scope.fetch_add(1, Ordering::Relaxed);
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

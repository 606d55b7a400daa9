//! Who counts as one person: the one rule, used by the dashboard count
//! ([`crate::participants::headcount`]), the webhook parser ([`crate::webhook`]),
//! the presence table's count and reconcile's repair ([`crate::presence`]), and
//! the simulator's tests.
//!
//! Public API:
//! * [`Identity`]: the identity fields Zoom sends for one participant, alike in
//!   a dashboard entry and in a webhook's `payload.object.participant`.
//! * [`Identity::person_key`]: who the person is across rejoins and devices:
//!   `user:<Zoom account id>` when signed in, else `email:<lowercased email>`,
//!   else `join:<participant_uuid or user_id>`; `None` when Zoom sent none.
//! * [`Identity::session_key`]: one device/join: `participant_uuid`, else
//!   `user_id`, else the person key.
//! * [`Sighting`]: one session seen present (by a source: dashboard entry,
//!   presence row), with its person key, display name and recency.
//! * [`group`]: sightings → [`People`]: one [`Person`] per person key (a
//!   sighting without one is a person of its own); named after the newest
//!   sighting that has a name, else [`GUEST`].
//! * [`People::count`], [`People::names`] (sorted), [`People::iter`].
//! * [`display_name`]: a name Zoom sent, bounded to [`MAX_NAME_CHARS`] with
//!   control characters removed; every name is cleaned so before it is stored
//!   or shown.
//!
//! ```
//! use kitchen::people::{Identity, Sighting, group};
//!
//! let phone = Identity { email: Some("Ann@Example.com"), participant_uuid: Some("P-2"), ..Default::default() };
//! let laptop = Identity { email: Some("ann@example.com"), participant_uuid: Some("P-1"), ..Default::default() };
//! assert_eq!(phone.person_key().as_deref(), Some("email:ann@example.com"));
//! assert_eq!(phone.session_key().as_deref(), Some("P-2"));
//! let people = group([
//!     Sighting::new(laptop.person_key(), laptop.session_key(), Some("Ann"), (1, 0)),
//!     Sighting::new(phone.person_key(), phone.session_key(), None, (2, 0)),
//! ]);
//! assert_eq!((people.count(), people.names()), (1, vec!["Ann".to_owned()]));
//! ```

use std::collections::BTreeMap;

/// Display name for a participant Zoom sent without one.
pub const GUEST: &str = "Guest";
/// Longest display name kept, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Zoom's identity fields of one participant. Empty or blank values count as absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Identity<'a> {
    /// The Zoom account id of a signed-in user (`participant_user_id`, else `id`).
    pub account_id: Option<&'a str>,
    pub email: Option<&'a str>,
    /// Zoom's id of one join on one device.
    pub participant_uuid: Option<&'a str>,
    /// The per-meeting participant number (dashboard `user_id`).
    pub user_id: Option<&'a str>,
}

impl Identity<'_> {
    /// Who this participant is, across rejoins and devices.
    pub fn person_key(&self) -> Option<String> {
        clean(self.account_id)
            .map(|id| format!("user:{id}"))
            .or_else(|| clean(self.email).map(|e| format!("email:{}", e.to_lowercase())))
            .or_else(|| self.join_id().map(|id| format!("join:{id}")))
    }

    /// One device/join of the person.
    pub fn session_key(&self) -> Option<String> {
        self.join_id()
            .map(str::to_owned)
            .or_else(|| self.person_key())
    }

    fn join_id(&self) -> Option<&str> {
        clean(self.participant_uuid).or_else(|| clean(self.user_id))
    }
}

fn clean(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A name from Zoom made safe to store and show: control characters removed,
/// whitespace trimmed, at most [`MAX_NAME_CHARS`] characters. `None` when
/// nothing is left.
pub fn display_name(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim_end();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

/// One session seen present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// [`Identity::person_key`]; `None`: a person of its own, who cannot be tracked.
    pub person: Option<String>,
    /// [`Identity::session_key`].
    pub session: Option<String>,
    pub name: Option<String>,
    /// Higher is newer (e.g. `(at_ms, event_ts)`, or the entry's position):
    /// the newest named sighting names the person.
    pub recency: (u64, u64),
}

impl Sighting {
    pub fn new(
        person: Option<String>,
        session: Option<String>,
        name: Option<&str>,
        recency: (u64, u64),
    ) -> Self {
        Self {
            person,
            session,
            name: name.and_then(display_name),
            recency,
        }
    }
}

/// One person, with every session seen for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// `None` for a sighting without identity.
    pub key: Option<String>,
    pub name: String,
    /// Distinct session keys, in the order first seen.
    pub sessions: Vec<String>,
    /// The newest sighting's recency.
    pub newest: (u64, u64),
}

/// Distinct people, ordered by key (people without identity last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct People(Vec<Person>);

impl People {
    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// One display name per person, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.0.iter().map(|p| p.name.clone()).collect();
        names.sort();
        names
    }

    pub fn iter(&self) -> impl Iterator<Item = &Person> {
        self.0.iter()
    }

    /// The person with this key.
    pub fn get(&self, key: &str) -> Option<&Person> {
        self.0.iter().find(|p| p.key.as_deref() == Some(key))
    }
}

/// Groups sightings into people. See the module doc for the rule.
pub fn group(sightings: impl IntoIterator<Item = Sighting>) -> People {
    struct Acc {
        name: Option<(String, (u64, u64))>,
        sessions: Vec<String>,
        newest: (u64, u64),
    }
    let mut keyed: BTreeMap<String, Acc> = BTreeMap::new();
    let mut anonymous = Vec::new();
    for s in sightings {
        let Some(key) = s.person else {
            anonymous.push(Person {
                key: None,
                name: s.name.unwrap_or_else(|| GUEST.to_owned()),
                sessions: s.session.into_iter().collect(),
                newest: s.recency,
            });
            continue;
        };
        let acc = keyed.entry(key).or_insert_with(|| Acc {
            name: None,
            sessions: Vec::new(),
            newest: s.recency,
        });
        acc.newest = acc.newest.max(s.recency);
        if let Some(session) = s.session
            && !acc.sessions.contains(&session)
        {
            acc.sessions.push(session);
        }
        if let Some(name) = s.name {
            // Newest wins; on a tie the smaller name, so the order of sightings never matters.
            let better = match &acc.name {
                None => true,
                Some((old, at)) => {
                    (s.recency, std::cmp::Reverse(&name)) > (*at, std::cmp::Reverse(old))
                }
            };
            if better {
                acc.name = Some((name, s.recency));
            }
        }
    }
    let mut people: Vec<Person> = keyed
        .into_iter()
        .map(|(key, acc)| Person {
            key: Some(key),
            name: acc.name.map_or_else(|| GUEST.to_owned(), |(n, _)| n),
            sessions: acc.sessions,
            newest: acc.newest,
        })
        .collect();
    people.extend(anonymous);
    People(people)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id<'a>(
        account: Option<&'a str>,
        email: Option<&'a str>,
        uuid: Option<&'a str>,
        user_id: Option<&'a str>,
    ) -> Identity<'a> {
        Identity {
            account_id: account,
            email,
            participant_uuid: uuid,
            user_id,
        }
    }

    #[test]
    fn keys_prefer_account_then_email_then_join() {
        let all = id(Some(" acct "), Some("A@B.c"), Some("U"), Some("7"));
        assert_eq!(all.person_key().as_deref(), Some("user:acct"));
        assert_eq!(all.session_key().as_deref(), Some("U"));
        let mail = id(Some(""), Some("A@B.c"), None, Some("7"));
        assert_eq!(mail.person_key().as_deref(), Some("email:a@b.c"));
        assert_eq!(mail.session_key().as_deref(), Some("7"));
        let join = id(None, Some("  "), None, Some("7"));
        assert_eq!(join.person_key().as_deref(), Some("join:7"));
        let account_only = id(Some("acct"), None, None, None);
        assert_eq!(account_only.session_key().as_deref(), Some("user:acct"));
        assert_eq!(Identity::default().person_key(), None);
        assert_eq!(Identity::default().session_key(), None);
    }

    #[test]
    fn grouping_names_people_after_their_newest_named_session() {
        let s = |p: Option<&str>, sess: &str, name: Option<&str>, at| {
            Sighting::new(p.map(str::to_owned), Some(sess.to_owned()), name, (at, 0))
        };
        let people = group([
            s(Some("email:a"), "a1", Some("Ann"), 1),
            s(Some("email:a"), "a2", Some("Ann B."), 5),
            s(Some("email:a"), "a2", None, 9),
            s(Some("user:b"), "b1", None, 3),
            s(None, "x", Some("Anon"), 2),
            s(None, "y", None, 2),
        ]);
        assert_eq!(people.count(), 4);
        assert_eq!(people.names(), vec!["Ann B.", "Anon", "Guest", "Guest"]);
        let ann = people.get("email:a").unwrap();
        assert_eq!(
            (ann.sessions.clone(), ann.newest),
            (vec!["a1".to_owned(), "a2".to_owned()], (9, 0))
        );
    }

    #[test]
    fn display_names_are_bounded_and_printable() {
        assert_eq!(
            display_name(" Zoë\u{0}\n咖啡\u{1b}[31m ").as_deref(),
            Some("Zoë咖啡[31m")
        );
        assert_eq!(display_name("\t\u{7f} "), None);
        let long = "é".repeat(200);
        assert_eq!(display_name(&long).unwrap().chars().count(), MAX_NAME_CHARS);
    }
}

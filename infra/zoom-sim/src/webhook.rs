//! Signed Zoom webhook delivery over a hand-written HTTP/1.1 client (http:// only).

use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::routes::{TIMEZONE, TOPIC};
use crate::state::Meeting;
use crate::util;
use crate::{JoinSpec, LeaveSpec, ParticipantEvent, Sim, WebhookDelivery};

type HmacSha256 = Hmac<Sha256>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// `"v0=" + hex(HMAC-SHA256(secret_token, "v0:{timestamp}:" + body))`, Zoom's `x-zm-signature`.
pub fn sign_webhook(secret_token: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac =
        HmacSha256::new_from_slice(secret_token.as_bytes()).expect("HMAC accepts any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// hex(HMAC-SHA256(secret_token, plain_token)): the `encryptedToken` of URL validation.
fn encrypted_token(secret_token: &str, plain_token: &str) -> String {
    let mut mac =
        HmacSha256::new_from_slice(secret_token.as_bytes()).expect("HMAC accepts any key length");
    mac.update(plain_token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn is_open(entry: &Value) -> bool {
    entry
        .get("leave_time")
        .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
}

fn str_field<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry.get(key).and_then(Value::as_str).unwrap_or("")
}

fn meeting_object(sim: &Sim, m: &Meeting, participant: Value) -> Value {
    json!({
        "id": m.id,
        "uuid": m.uuid,
        "host_id": sim.state.tech_user_id(),
        "topic": TOPIC,
        "type": 3,
        "start_time": util::rfc3339(m.start_time),
        "timezone": TIMEZONE,
        "duration": 0,
        "participant": participant,
    })
}

fn webhook_participant(entry: &Value, time_key: &str, time: &str) -> Value {
    let mut p = json!({
        "user_id": str_field(entry, "user_id"),
        "user_name": str_field(entry, "user_name"),
        "id": str_field(entry, "id"),
        "participant_uuid": str_field(entry, "participant_uuid"),
        "participant_user_id": str_field(entry, "participant_user_id"),
        "email": str_field(entry, "email"),
        "registrant_id": "",
        "customer_key": "",
        "phone_number": "",
    });
    if let Some(o) = p.as_object_mut() {
        o.insert(time_key.to_owned(), json!(time));
        if time_key == "leave_time" {
            o.insert(
                "leave_reason".to_owned(),
                json!(str_field(entry, "leave_reason")),
            );
        }
    }
    p
}

pub(crate) async fn join(sim: &Sim, spec: JoinSpec) -> ParticipantEvent {
    let st = &sim.state;
    let meeting_id = spec
        .meeting_id
        .clone()
        .unwrap_or_else(|| st.cfg.meeting_id.clone());
    let email = spec.email.clone().unwrap_or_default();
    let zoom_id = if email.is_empty() {
        String::new()
    } else {
        st.user_by_email(&email).map(|u| u.id).unwrap_or_default()
    };
    let now = SystemTime::now();
    let join_time = util::rfc3339(now);
    let (entry, meeting) = st.with_meeting(&meeting_id, |m, next_user_id| {
        let same_person = |e: &Value| {
            if email.is_empty() {
                str_field(e, "email").is_empty()
                    && str_field(e, "user_name").eq_ignore_ascii_case(&spec.name)
            } else {
                str_field(e, "email").eq_ignore_ascii_case(&email)
            }
        };
        let participant_uuid = m
            .participants
            .iter()
            .rev()
            .find(|e| same_person(e))
            .map(|e| str_field(e, "participant_uuid").to_owned())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(util::participant_uuid);
        let entry = crate::dashboard_entry(&crate::EntryFields {
            zoom_user_id: &zoom_id,
            user_id: &next_user_id().to_string(),
            participant_uuid: &participant_uuid,
            user_name: &spec.name,
            email: &email,
            device: spec.device.as_deref().unwrap_or("Mac"),
            join_time: &join_time,
            status: if spec.waiting_room {
                "in_waiting_room"
            } else {
                "in_meeting"
            },
            quality: "",
        });
        m.participants.push(entry.clone());
        if !m.running {
            m.running = true;
            m.start_time = now;
        }
        (entry, m.clone())
    });
    let event = if spec.waiting_room {
        "meeting.participant_joined_waiting_room"
    } else {
        "meeting.participant_joined"
    };
    let object = meeting_object(
        sim,
        &meeting,
        webhook_participant(&entry, "join_time", &join_time),
    );
    let webhook = deliver_event(sim, event, object).await;
    ParticipantEvent {
        event: event.to_owned(),
        participant: entry,
        webhook,
    }
}

pub(crate) async fn leave(sim: &Sim, spec: LeaveSpec) -> Option<ParticipantEvent> {
    let st = &sim.state;
    let meeting_id = spec
        .meeting_id
        .clone()
        .unwrap_or_else(|| st.cfg.meeting_id.clone());
    let leave_time = util::rfc3339(SystemTime::now());
    let (entry, meeting) = st.with_meeting(&meeting_id, |m, _| {
        let matches = |e: &Value| {
            let by_email = spec
                .email
                .as_deref()
                .is_some_and(|x| !x.is_empty() && str_field(e, "email").eq_ignore_ascii_case(x));
            let by_name = spec.name.as_deref().is_some_and(|x| {
                !x.is_empty() && str_field(e, "user_name").eq_ignore_ascii_case(x)
            });
            (by_email || by_name) && is_open(e)
        };
        let entry = m.participants.iter_mut().rev().find(|e| matches(e))?;
        let name = str_field(entry, "user_name").to_owned();
        let obj = entry.as_object_mut()?;
        obj.insert("leave_time".to_owned(), json!(leave_time));
        obj.insert(
            "leave_reason".to_owned(),
            json!(format!("{name} left the meeting.")),
        );
        Some((entry.clone(), m.clone()))
    })?;
    let event = if str_field(&entry, "status") == "in_waiting_room" {
        "meeting.participant_left_waiting_room"
    } else {
        "meeting.participant_left"
    };
    let object = meeting_object(
        sim,
        &meeting,
        webhook_participant(&entry, "leave_time", &leave_time),
    );
    let webhook = deliver_event(sim, event, object).await;
    Some(ParticipantEvent {
        event: event.to_owned(),
        participant: entry,
        webhook,
    })
}

pub(crate) async fn deliver_event(
    sim: &Sim,
    event: &str,
    object: Value,
) -> Option<WebhookDelivery> {
    let (url, secret) = sim.state.webhook_target()?;
    let now = SystemTime::now();
    let body = json!({
        "event": event,
        "event_ts": util::unix_millis(now),
        "payload": {
            "account_id": sim.state.cfg.account_id,
            "object": object,
        },
    })
    .to_string();
    let delivery = post_signed(&url, &secret, now, body.as_bytes()).await;
    if delivery.status.is_some_and(|s| (200..300).contains(&s)) {
        sim.state.stats.count_webhook();
    }
    match (&delivery.status, &delivery.error) {
        (Some(status), _) => tracing::info!("zoom-sim: webhook {event} -> {url}: {status}"),
        (None, Some(e)) => tracing::warn!("zoom-sim: webhook {event} -> {url} failed: {e}"),
        (None, None) => {}
    }
    Some(delivery)
}

pub(crate) async fn validate_endpoint(sim: &Sim) -> Result<(), String> {
    let (url, secret) = sim
        .state
        .webhook_target()
        .ok_or_else(|| "no webhook target configured".to_owned())?;
    let now = SystemTime::now();
    let plain_token = util::random_b64url::<16>();
    let body = json!({
        "payload": {"plainToken": plain_token},
        "event_ts": util::unix_millis(now),
        "event": "endpoint.url_validation",
    })
    .to_string();
    let delivery = post_signed(&url, &secret, now, body.as_bytes()).await;
    if let Some(e) = delivery.error {
        return Err(e);
    }
    if delivery.status != Some(200) {
        return Err(format!(
            "expected 200, got {:?}: {}",
            delivery.status, delivery.body
        ));
    }
    let answer: Value = serde_json::from_str(&delivery.body)
        .map_err(|e| format!("answer is not JSON ({e}): {}", delivery.body))?;
    let expected = encrypted_token(&secret, &plain_token);
    if answer.get("plainToken").and_then(Value::as_str) != Some(plain_token.as_str()) {
        return Err(format!("plainToken not echoed: {}", delivery.body));
    }
    if answer.get("encryptedToken").and_then(Value::as_str) != Some(expected.as_str()) {
        return Err(format!(
            "encryptedToken should be {expected}: {}",
            delivery.body
        ));
    }
    Ok(())
}

async fn post_signed(url: &str, secret: &str, now: SystemTime, body: &[u8]) -> WebhookDelivery {
    let ts = util::unix_secs(now).to_string();
    let headers = [
        ("x-zm-signature", sign_webhook(secret, &ts, body)),
        ("x-zm-request-timestamp", ts),
        ("user-agent", "Zoom Marketplace/1.0a".to_owned()),
    ];
    match http_post(url, &headers, body).await {
        Ok((status, body)) => WebhookDelivery {
            status: Some(status),
            error: None,
            body,
        },
        Err(e) => WebhookDelivery {
            status: None,
            error: Some(e),
            body: String::new(),
        },
    }
}

struct Target {
    /// "host:port" as written (Host header)
    authority: String,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, String> {
    let rest = url
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("http://"))
        .map(|_| &url[7..])
        .ok_or_else(|| format!("only http:// webhook URLs are supported: {url}"))?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_owned()),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("bad host in {url}"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("bad port in {url}"))?,
            None => 80,
        };
        (h.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (
                h.to_owned(),
                p.parse().map_err(|_| format!("bad port in {url}"))?,
            ),
            None => (authority.to_owned(), 80),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in {url}"));
    }
    Ok(Target {
        authority: authority.to_owned(),
        host,
        port,
        path,
    })
}

/// Minimal HTTP/1.1 POST with `Connection: close`; returns (status, body).
async fn http_post(
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<(u16, String), String> {
    let t = parse_url(url)?;
    let mut stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((t.host.as_str(), t.port)),
    )
    .await
    .map_err(|_| format!("connect to {} timed out", t.authority))?
    .map_err(|e| format!("connect to {}: {e}", t.authority))?;
    let mut req = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        t.path,
        t.authority,
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    let exchange = async {
        stream.write_all(&bytes).await?;
        stream.flush().await?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() > MAX_RESPONSE_BYTES || response_complete(&buf) {
                break;
            }
        }
        Ok::<_, std::io::Error>(buf)
    };
    let raw = tokio::time::timeout(RESPONSE_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer from {} within {RESPONSE_TIMEOUT:?}", t.authority))?
        .map_err(|e| format!("exchange with {}: {e}", t.authority))?;
    parse_response(&raw)
}

fn split_head(raw: &[u8]) -> Option<(&str, &[u8])> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    Some((head, &raw[end + 4..]))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// True once a Content-Length-delimited response has fully arrived (so we do not
/// depend on the peer closing the connection).
fn response_complete(raw: &[u8]) -> bool {
    let Some((head, body)) = split_head(raw) else {
        return false;
    };
    match header(head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(len) => body.len() >= len,
        None => false,
    }
}

fn parse_response(raw: &[u8]) -> Result<(u16, String), String> {
    let (head, body) = split_head(raw).ok_or_else(|| "incomplete HTTP response".to_owned())?;
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line: {:?}", head.lines().next()))?;
    let chunked = header(head, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        match header(head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
            Some(len) => body[..len.min(body.len())].to_vec(),
            None => body.to_vec(),
        }
    };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_line = String::from_utf8_lossy(&data[..eol]);
        let size_hex = size_line.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_hex, 16) else {
            break;
        };
        data = &data[eol + 2..];
        if size == 0 || data.len() < size {
            out.extend_from_slice(&data[..size.min(data.len())]);
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = parse_url("http://127.0.0.1:9000/webhooks/zoom?x=1").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 9000));
        assert_eq!(t.path, "/webhooks/zoom?x=1");
        let t = parse_url("HTTP://localhost").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("localhost", 80, "/")
        );
        let t = parse_url("http://[::1]:8080/hook").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8080));
        assert!(parse_url("https://example.com/").is_err());
        assert!(parse_url("http://:80/").is_err());
    }

    #[test]
    fn parses_responses() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        assert!(response_complete(raw));
        assert_eq!(parse_response(raw).unwrap(), (200, "ok".to_owned()));
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap(), (200, "abcde".to_owned()));
    }

    #[test]
    fn validation_token() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"secret",b"abc",hashlib.sha256).hexdigest())'
        assert_eq!(
            encrypted_token("secret", "abc"),
            "9946dad4e00e913fc8be8e5d3f7e110a4a9e832f83fb09c345285d78638d8a0e"
        );
    }
}

//! Reading what a device sent: the invite body and a few headers.

use lambda_http::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;

use crate::headers::{HeaderError, at_most_one};
use crate::http::ApiError;

/// Far more than `email=<254 chars>` needs; anything larger is refused unread.
pub const MAX_BODY_BYTES: usize = 4096;
pub const MAX_EMAIL_LEN: usize = 254;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteJson {
    email: String,
}

/// The recipient's email from a form (`email=...`, as devices send it) or JSON
/// (`{"email": "..."}`) body. Unknown fields and repeated `email`s are refused
/// rather than silently ignored.
pub fn email_from_body(content_type: Option<&str>, body: &[u8]) -> Result<String, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        ApiError::bad_request("unreadable_body", "the body is not valid UTF-8 text")
    })?;
    if text.trim().is_empty() {
        return Err(missing_email());
    }
    // An absent header is sniffed below; a present but empty one is refused.
    let media_type = content_type.map(|c| media_type(c).to_ascii_lowercase());
    let raw = match media_type.as_deref() {
        Some("application/json") => from_json(text)?,
        Some("application/x-www-form-urlencoded") => from_form(text)?,
        // Firmware that sends no (or a generic) content type: decide by shape.
        None | Some("text/plain") | Some("application/octet-stream") => {
            if text.trim_start().starts_with('{') {
                from_json(text)?
            } else {
                from_form(text)?
            }
        }
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "send application/x-www-form-urlencoded (email=...) or application/json, not {}",
                    truncate(other, 60)
                ),
            ));
        }
    };
    validate_email(&raw)
        .map_err(|why| ApiError::bad_request("invalid_email", format!("the email address {why}")))
}

fn missing_email() -> ApiError {
    ApiError::bad_request(
        "missing_email",
        "send the recipient as email=<address> (form) or {\"email\": \"<address>\"} (JSON)",
    )
}

fn from_json(text: &str) -> Result<String, ApiError> {
    // serde would also read a struct from an array (`["a@b.c"]`); only objects are meant.
    if !text.trim_start().starts_with('{') {
        return Err(ApiError::bad_request(
            "invalid_body",
            "the JSON body must be an object like {\"email\": \"<address>\"}",
        ));
    }
    match serde_json::from_str::<InviteJson>(text) {
        Ok(v) => Ok(v.email),
        Err(e) if e.is_data() && e.to_string().contains("missing field") => Err(missing_email()),
        Err(e) if e.is_data() => Err(ApiError::bad_request(
            "invalid_body",
            "the JSON body must be an object with exactly one string field \"email\"",
        )),
        Err(_) => Err(ApiError::bad_request(
            "unreadable_body",
            "the body is not valid JSON",
        )),
    }
}

fn from_form(text: &str) -> Result<String, ApiError> {
    let email = form_email(text)?;
    // Firmware that does not URL-encode sends `alice+tag@x.com`; form decoding
    // turns that `+` into a space, which no address can contain. Read it literally.
    if email.contains(' ') && text.contains('+') {
        return form_email(&text.replace('+', "%2B"));
    }
    Ok(email)
}

fn form_email(text: &str) -> Result<String, ApiError> {
    let mut email = None;
    for (key, value) in form_urlencoded::parse(text.trim().as_bytes()) {
        match key.as_ref() {
            "email" if email.is_some() => {
                return Err(ApiError::bad_request(
                    "duplicate_email",
                    "send exactly one email field",
                ));
            }
            "email" => email = Some(value.into_owned()),
            other => {
                return Err(ApiError::bad_request(
                    "unknown_field",
                    format!(
                        "unexpected form field {:?}; only email is accepted",
                        truncate(other, 40)
                    ),
                ));
            }
        }
    }
    email.ok_or_else(missing_email)
}

/// A practical subset of RFC 5321 addresses: what Zoom accepts as a contact.
/// Returns the address trimmed, with the domain lower-cased.
pub fn validate_email(raw: &str) -> Result<String, &'static str> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("is empty");
    }
    if s.len() > MAX_EMAIL_LEN {
        return Err("is longer than 254 characters");
    }
    let (local, domain) = s.rsplit_once('@').ok_or("has no @")?;
    if local.is_empty() || local.len() > 64 {
        return Err("has an empty or over-long local part");
    }
    const LOCAL_SPECIALS: &str = ".!#$%&'*+-/=?^_`{|}~";
    if !local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c))
    {
        return Err("has a character that is not allowed before the @");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("has a misplaced dot before the @");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("needs a domain with a dot after the @");
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err("has an invalid domain");
        }
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// True when the client asked for JSON (`Accept: application/json`). `Accept`
/// is a list by definition, so repeats (comma-joined by API Gateway) are read
/// as more entries of it, not refused.
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| media_type(m).eq_ignore_ascii_case("application/json"))
}

/// A media type without its parameters: `application/json` of
/// ` application/json; charset=utf-8`.
fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or_default().trim()
}

/// The single `Content-Type`, if any; a repeated one (comma-joined by API
/// Gateway) is refused rather than guessed at.
pub fn content_type(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    at_most_one(headers, header::CONTENT_TYPE).map_err(|e| match e {
        HeaderError::Duplicated => ApiError::bad_request(
            "duplicate_content_type",
            "send exactly one Content-Type header",
        ),
        HeaderError::Missing | HeaderError::Invalid => ApiError::bad_request(
            "invalid_content_type",
            "the Content-Type header is not readable",
        ),
    })
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const JSON: Option<&str> = Some("application/json; charset=utf-8");

    fn code(ct: Option<&str>, body: &[u8]) -> &'static str {
        email_from_body(ct, body).unwrap_err().code
    }

    #[test]
    fn accepts_what_devices_and_clients_send() {
        let cases: [(Option<&str>, &[u8], &str); 6] = [
            (FORM, b"email=alice%40example.com", "alice@example.com"),
            (
                FORM,
                b"email=Alice.B+tag@Example.COM\n",
                "Alice.B+tag@example.com",
            ),
            (
                FORM,
                b"email=alice%2Btag%40example.com",
                "alice+tag@example.com",
            ),
            (JSON, br#"{"email":"bob@example.com"}"#, "bob@example.com"),
            (None, b"email=carol@example.com", "carol@example.com"),
            (
                None,
                br#" {"email":"carol@example.com"}"#,
                "carol@example.com",
            ),
        ];
        for (ct, body, want) in cases {
            assert_eq!(email_from_body(ct, body).unwrap(), want, "{ct:?} {body:?}");
        }
    }

    #[test]
    fn refuses_with_named_problems() {
        assert_eq!(code(FORM, b""), "missing_email");
        assert_eq!(code(FORM, b"mail=alice@example.com"), "unknown_field");
        assert_eq!(
            code(FORM, b"email=a@example.com&email=b@example.com"),
            "duplicate_email"
        );
        assert_eq!(code(FORM, b"email=not-an-email"), "invalid_email");
        assert_eq!(code(FORM, b"email=a@b.c%0d%0aBcc:x@y.z"), "invalid_email");
        assert_eq!(code(FORM, b"email=%FF%FE@example.com"), "invalid_email");
        assert_eq!(code(FORM, &[0xff, 0xfe, 0x00]), "unreadable_body");
        assert_eq!(
            code(FORM, &vec![b'a'; MAX_BODY_BYTES + 1]),
            "body_too_large"
        );
        assert_eq!(code(JSON, b"{\"email\":"), "unreadable_body");
        assert_eq!(code(JSON, br#"{"email":42}"#), "invalid_body");
        assert_eq!(
            code(JSON, br#"{"email":"a@example.com","admin":true}"#),
            "invalid_body"
        );
        assert_eq!(code(JSON, br#"{}"#), "missing_email");
        assert_eq!(code(JSON, "[".repeat(3000).as_bytes()), "invalid_body");
        assert_eq!(code(JSON, br#"["a@example.com"]"#), "invalid_body");
        let deep = format!("{}{}", "{\"email\":".repeat(200), "}".repeat(200));
        assert_eq!(
            email_from_body(JSON, deep.as_bytes()).unwrap_err().status,
            400
        );
        assert_eq!(
            code(Some("multipart/form-data; boundary=x"), b"--x"),
            "unsupported_media_type"
        );
    }

    #[test]
    fn email_rules() {
        for ok in [
            "a@example.com",
            "first.last+tag@sub.example.co.uk",
            "o'brien@example.ie",
        ] {
            assert!(validate_email(ok).is_ok(), "{ok}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        for bad in [
            "",
            "@example.com",
            "a@",
            "a@localhost",
            "a b@example.com",
            "a@exa mple.com",
            ".a@example.com",
            "a..b@example.com",
            "a@-x.com",
            "a@x..com",
            "<script>@x.com",
            "a@example.com; DROP TABLE",
            long_local.as_str(),
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn content_type_header_problems() {
        let mut h = HeaderMap::new();
        assert_eq!(content_type(&h).unwrap(), None);
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert_eq!(content_type(&h).unwrap(), Some("application/json"));
        // Sent twice, it arrives as API Gateway joins it: one comma-separated value.
        h.insert(
            header::CONTENT_TYPE,
            "application/json,text/plain".parse().unwrap(),
        );
        let e = content_type(&h).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "duplicate_content_type"));
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            lambda_http::http::HeaderValue::from_bytes(b"text/\xffplain").unwrap(),
        );
        let e = content_type(&h).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "invalid_content_type"));
    }

    #[test]
    fn accept_header() {
        let mut h = HeaderMap::new();
        assert!(!wants_json(&h));
        h.insert(
            header::ACCEPT,
            "text/plain, application/json;q=0.9".parse().unwrap(),
        );
        assert!(wants_json(&h));
    }
}

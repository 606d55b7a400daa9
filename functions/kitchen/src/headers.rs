//! "Exactly one value of this header", the way API Gateway delivers headers.
//!
//! HTTP APIs (payload 2.0) join a repeated header into one comma-separated
//! value, so a handler never sees two `Authorization` values: it sees
//! `Bearer a,Bearer b`. A comma therefore means "sent more than once" for
//! every header this code reads singly (device keys, Content-Type, webhook
//! signature and timestamp); none of their valid values contains one.

use lambda_http::http::HeaderMap;
use lambda_http::http::header::AsHeaderName;

/// Why a header that must appear once cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Not sent at all.
    Missing,
    /// Sent more than once: two values, or one comma-joined value.
    Duplicated,
    /// Not readable as visible ASCII text.
    Invalid,
}

/// The header's single value as text, or why there is none.
pub fn exactly_one<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Result<&str, HeaderError> {
    at_most_one(headers, name)?.ok_or(HeaderError::Missing)
}

/// Like [`exactly_one`], but an absent header is `Ok(None)`.
pub fn at_most_one<K: AsHeaderName>(
    headers: &HeaderMap,
    name: K,
) -> Result<Option<&str>, HeaderError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() || first.as_bytes().contains(&b',') {
        return Err(HeaderError::Duplicated);
    }
    first.to_str().map(Some).map_err(|_| HeaderError::Invalid)
}

#[cfg(test)]
mod tests {
    use lambda_http::http::HeaderValue;

    use super::*;

    /// Headers as API Gateway writes them into an HTTP API v2 event (a
    /// repeated header comma-joined), read back through lambda_http's parser.
    fn delivered(headers: &[(&str, &str)]) -> lambda_http::Request {
        headers
            .iter()
            .fold(crate::testing::event("GET", "/x"), |e, (name, value)| {
                e.header(name, value)
            })
            .request()
    }

    #[test]
    fn one_value_is_returned() {
        let req = delivered(&[("authorization", "Bearer k-0123456789abcdef")]);
        assert_eq!(
            exactly_one(req.headers(), "authorization"),
            Ok("Bearer k-0123456789abcdef")
        );
        assert_eq!(
            at_most_one(req.headers(), "content-type"),
            Ok(None),
            "absent is not an error for at_most_one"
        );
        assert_eq!(
            exactly_one(req.headers(), "content-type"),
            Err(HeaderError::Missing)
        );
    }

    /// A header sent twice reaches the function as one comma-joined value.
    #[test]
    fn a_repeated_header_as_api_gateway_delivers_it_is_duplicated() {
        let req = delivered(&[
            ("authorization", "Bearer k-0123456789abcdef"),
            ("authorization", "Bearer k-0123456789abcdef"),
            ("content-type", "application/json"),
            ("content-type", "application/json"),
        ]);
        assert_eq!(req.headers().get_all("authorization").iter().count(), 1);
        assert_eq!(
            exactly_one(req.headers(), "authorization"),
            Err(HeaderError::Duplicated)
        );
        assert_eq!(
            at_most_one(req.headers(), "content-type"),
            Err(HeaderError::Duplicated)
        );
    }

    #[test]
    fn two_separate_values_and_unreadable_bytes() {
        let mut h = HeaderMap::new();
        h.append("x-a", HeaderValue::from_static("1"));
        h.append("x-a", HeaderValue::from_static("2"));
        assert_eq!(exactly_one(&h, "x-a"), Err(HeaderError::Duplicated));
        h.insert("x-b", HeaderValue::from_bytes(b"text/\xffplain").unwrap());
        assert_eq!(exactly_one(&h, "x-b"), Err(HeaderError::Invalid));
    }
}

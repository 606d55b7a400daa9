//! The page's three files, embedded in the binary at build time, and the
//! headers every one of them is served with.

use kitchen::lambda_http::http::{HeaderValue, StatusCode, header};
use kitchen::lambda_http::{Body, Response};

pub const INDEX_HTML: &str = include_str!("../static/index.html");
pub const APP_JS: &str = include_str!("../static/app.js");
pub const APP_CSS: &str = include_str!("../static/app.css");

/// Nothing from other origins, no inline script or style, no framing, no
/// plugins; `data:` images only for the empty favicon (no request at all).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// The static file at `path`, if there is one.
pub fn find(path: &str) -> Option<(&'static str, &'static str)> {
    match path {
        "/" => Some(("text/html; charset=utf-8", INDEX_HTML)),
        "/app.js" => Some(("text/javascript; charset=utf-8", APP_JS)),
        "/app.css" => Some(("text/css; charset=utf-8", APP_CSS)),
        _ => None,
    }
}

pub fn serve(content_type: &'static str, body: &'static str) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.to_owned()));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files change with each deployment and have no versioned names.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_security_headers(resp)
}

/// The headers the issue asks of every page response (the API's JSON too).
pub fn with_security_headers(mut resp: Response<Body>) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The budget for the three files together.
    const MAX_WEIGHT: usize = 30 * 1024;

    #[test]
    fn the_three_files_weigh_at_most_30_kb() {
        let total = INDEX_HTML.len() + APP_JS.len() + APP_CSS.len();
        assert!(total <= MAX_WEIGHT, "{total} bytes");
    }

    #[test]
    fn no_inline_script_or_style_and_nothing_from_elsewhere() {
        let html = INDEX_HTML.to_ascii_lowercase();
        assert!(html.contains("<script src=\"/app.js\" defer></script>"));
        assert_eq!(
            html.matches("<script").count(),
            1,
            "one external script only"
        );
        assert!(!html.contains("<style") && !html.contains(" style="));
        for handler in [
            "onclick=",
            "onload=",
            "onsubmit=",
            "onerror=",
            "oninput=",
            "onkey",
        ] {
            assert!(!html.contains(handler), "inline {handler}");
        }
        for f in [INDEX_HTML, APP_JS, APP_CSS] {
            assert!(!f.contains("http://") && !f.contains("https://") && !f.contains("//cdn"));
            assert!(!f.contains("@import") && !f.contains("url("));
        }
        // The script builds the page with text only: names never become markup.
        assert!(!APP_JS.contains("innerHTML") && !APP_JS.contains("eval("));
    }
}

//! Request forgery and response headers.
//!
//! A state-changing request (any method but GET, HEAD and OPTIONS) that a
//! browser sent from another site is refused before anything else runs: the
//! browser says where a request comes from in `Sec-Fetch-Site`, `Origin` or
//! `Referer`, and a page of another site cannot forge them. This sits on top
//! of the session cookie's `SameSite=Lax`, which older browsers and
//! same-site subdomains do not honour. A client that sends none of the three
//! (curl, an integration) is no browser, so it carries no victim's cookie.
//!
//! Every response gets the headers that keep it from being framed, sniffed
//! or leaking its address; pages get a Content-Security-Policy with the
//! nonce Leptos put on their inline scripts (`app::ssr::page_csp`, read from
//! the page by [`with_page_csp`]), anything else a policy that allows
//! nothing to run.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What the guard needs to know.
#[derive(Clone)]
pub struct Guard {
    /// Cookies are Secure, so the site is served over HTTPS: send HSTS.
    pub https: bool,
    /// The hosts a request may be addressed to; empty: any.
    pub allowed_hosts: std::sync::Arc<Vec<String>>,
}

/// The hosts requests may be addressed to (the `Host`, or a proxy's
/// `X-Forwarded-Host`): the public URL's when one is set; on a loopback
/// address, 127.0.0.1, localhost and [::1] at its port; otherwise any
/// (empty). Refusing other hosts stops DNS rebinding, where a page of
/// evil.example re-points its name at 127.0.0.1 and then passes the
/// same-origin check against its own Host.
pub fn allowed_hosts(public_url: Option<&str>, addr: std::net::SocketAddr) -> Vec<String> {
    if let Some(host) = public_url.and_then(url_host) {
        let (scheme_port, bare) = match public_url.map(|u| u.to_ascii_lowercase()) {
            Some(u) if u.starts_with("https://") => (":443", host.trim_end_matches(":443").to_string()),
            Some(u) if u.starts_with("http://") => (":80", host.trim_end_matches(":80").to_string()),
            _ => ("", host.clone()),
        };
        let mut out = vec![bare.clone()];
        if !scheme_port.is_empty() && !bare.contains(':') {
            out.push(format!("{bare}{scheme_port}"));
        }
        return out;
    }
    if addr.ip().is_loopback() {
        let port = addr.port();
        return vec![format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
    }
    Vec::new()
}

/// The policy of responses that are not pages (and of pages rendered
/// outside Leptos, which have no inline script).
pub const STRICT_CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The host a request was addressed to (a proxy's `X-Forwarded-Host`
/// first: a browser cannot set that header on a cross-site request).
fn addressed_host(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("x-forwarded-host").or_else(|| headers.get(header::HOST))?;
    let first = value.to_str().ok()?.split(',').next()?.trim();
    (!first.is_empty()).then(|| first.to_ascii_lowercase())
}

/// The host (and port) of a URL such as an `Origin` or `Referer` value.
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    (!authority.is_empty()).then(|| authority.to_ascii_lowercase())
}

/// Why a request must be refused as cross-site, or None when it may go on.
pub fn cross_site(method: &Method, headers: &HeaderMap) -> Option<&'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let text = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    match text(HeaderName::from_static("sec-fetch-site")) {
        Some("same-origin") | Some("none") => return None,
        Some("cross-site") | Some("same-site") => return Some("the browser reports it came from another site"),
        _ => {}
    }
    let host = addressed_host(headers);
    if let Some(origin) = text(header::ORIGIN) {
        return match (url_host(origin), host) {
            (Some(from), Some(to)) if from == to => None,
            _ => Some("its Origin is another site"),
        };
    }
    if let Some(referer) = text(header::REFERER) {
        return match (url_host(referer), host) {
            (Some(from), Some(to)) if from == to => None,
            _ => Some("its Referer is another site"),
        };
    }
    None
}

/// Refuses cross-site state changes and sets the security headers.
pub async fn guard(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    // Health probes of load balancers often name an address, not the host.
    let probe = matches!(req.uri().path(), "/healthz" | "/readyz");
    if !guard.allowed_hosts.is_empty() && !probe {
        let host = addressed_host(req.headers()).unwrap_or_default();
        if !guard.allowed_hosts.iter().any(|h| *h == host) {
            tracing::warn!(%host, "request for another host refused");
            let mut response = (StatusCode::MISDIRECTED_REQUEST, "This server does not answer for that host name.").into_response();
            set_headers(response.headers_mut(), guard.https);
            return response;
        }
    }
    if let Some(reason) = cross_site(req.method(), req.headers()) {
        tracing::warn!(path = %req.uri().path(), reason, "cross-site request refused");
        let message = format!("This request came from another site ({reason}), so Steward refused it. Nothing was changed.");
        let body = serde_json::to_string(&app::error::AppError::Refused(message)).unwrap_or_default();
        let mut response = (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        set_headers(response.headers_mut(), guard.https);
        return response;
    }
    let response = next.run(req).await;
    let mut response = with_page_csp(response).await;
    set_headers(response.headers_mut(), guard.https);
    response
}

/// An HTML page's policy names the nonce its own inline scripts carry: this
/// reads it from the page's first chunk (all of it: every route renders in
/// `Async` mode) and sets the header to match, so no render path can leave
/// the scripts of a page refused. A page without a nonce gets the strict
/// policy of [`set_headers`], which allows no inline script at all.
async fn with_page_csp(response: Response) -> Response {
    use futures_util::StreamExt;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if !html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let mut stream = body.into_data_stream();
    let first = stream.next().await;
    if let Some(Ok(bytes)) = &first {
        if let Some(nonce) = script_nonce(bytes) {
            if let Ok(value) = HeaderValue::from_str(&app::ssr::page_csp(&nonce)) {
                parts.headers.insert(header::CONTENT_SECURITY_POLICY, value);
            }
        }
    }
    let body = axum::body::Body::from_stream(futures_util::stream::iter(first).chain(stream));
    Response::from_parts(parts, body)
}

/// The nonce of the first `<script>` or `<link>` tag that carries one.
/// Only tags are looked at: text a person typed (a document's title, say)
/// reaches the page with `<` escaped, so it cannot pose as one. Read as
/// bytes and only as far as that tag (in the head): `<`, `>` and `"` are
/// ASCII and never part of a longer UTF-8 character, and checking the
/// whole page as UTF-8 first was 1% of steward's time on the users page.
fn script_nonce(html: &[u8]) -> Option<String> {
    const NONCE: &[u8] = b" nonce=\"";
    html.split(|b| *b == b'<')
        .skip(1)
        .filter(|tag| tag.starts_with(b"script") || tag.starts_with(b"link"))
        .map(|tag| &tag[..tag.iter().position(|b| *b == b'>').unwrap_or(tag.len())])
        .find_map(|tag| {
            let start = tag.windows(NONCE.len()).position(|w| w == NONCE)? + NONCE.len();
            // Its closing quote inside the tag, or no nonce: a value cut
            // short (by a `<` or the chunk's end) is never taken for one.
            let value = &tag[start..];
            let value = &value[..value.iter().position(|b| *b == b'"')?];
            let allowed = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'=');
            (!value.is_empty() && value.len() <= 64 && value.iter().all(allowed)).then(|| String::from_utf8_lossy(value).into_owned())
        })
}

fn set_headers(headers: &mut HeaderMap, https: bool) {
    let fixed: [(&str, &str); 5] = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ];
    for (name, value) in fixed {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(STRICT_CSP));
    }
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(HeaderName::from_static(name), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_nonce_is_read_from_the_page() {
        assert_eq!(script_nonce(br#"<head><script nonce="ab-C_9">x</script>"#).as_deref(), Some("ab-C_9"));
        assert_eq!(script_nonce(b"<head><script>x</script>"), None);
        assert_eq!(script_nonce(br#"<script nonce="a'b">"#), None, "only nonce characters");
        assert_eq!(
            script_nonce(br#"<title>a nonce="evil" b</title><link rel="modulepreload" href="/pkg/x.js" nonce="good1"><script nonce="good1">"#).as_deref(),
            Some("good1"),
            "text is not a tag"
        );
        assert_eq!(script_nonce(br#"<p>see <a href="/x" nonce="evil">x</a></p>"#), None, "only script and link tags");
        // Read as bytes: text before the head, characters of several
        // bytes and bytes that are no UTF-8 at all change nothing.
        assert_eq!(script_nonce("<p>Grüße, 東京</p><script nonce=\"n1\">".as_bytes()).as_deref(), Some("n1"));
        assert_eq!(script_nonce(b"\xff\xfe<p>\xc3</p><script nonce=\"n2\">").as_deref(), Some("n2"));
        // A value without its closing quote inside the tag is no nonce.
        assert_eq!(script_nonce(br#"<script nonce="ab<cd">"#), None);
        assert_eq!(script_nonce(br#"<head><script nonce="abc"#), None, "cut off at the chunk's end");
        assert_eq!(script_nonce(br#"<script nonce="abc>x</script>"#), None);
    }

    #[test]
    fn reads_are_never_refused() {
        let h = headers(&[("host", "steward.example"), ("origin", "https://evil.example")]);
        assert_eq!(cross_site(&Method::GET, &h), None);
    }

    #[test]
    fn a_post_from_the_same_origin_passes_and_from_another_site_is_refused() {
        let host = ("host", "steward.example:8443");
        assert_eq!(cross_site(&Method::POST, &headers(&[host, ("origin", "https://steward.example:8443")])), None);
        assert_eq!(cross_site(&Method::POST, &headers(&[host, ("referer", "https://steward.example:8443/users?q=1")])), None);
        assert!(cross_site(&Method::POST, &headers(&[host, ("origin", "https://evil.example")])).is_some());
        assert!(cross_site(&Method::POST, &headers(&[host, ("origin", "https://steward.example.evil.example:8443")])).is_some());
        assert!(cross_site(&Method::POST, &headers(&[host, ("origin", "null")])).is_some());
        assert!(cross_site(&Method::DELETE, &headers(&[host, ("referer", "https://evil.example/steward.example:8443")])).is_some());
        assert!(cross_site(&Method::POST, &headers(&[host, ("sec-fetch-site", "cross-site"), ("origin", "https://steward.example:8443")])).is_some());
        assert!(cross_site(&Method::POST, &headers(&[host, ("sec-fetch-site", "same-site")])).is_some());
        assert_eq!(cross_site(&Method::POST, &headers(&[host, ("sec-fetch-site", "same-origin")])), None);
    }

    #[test]
    fn a_proxy_forwarded_host_is_the_one_compared() {
        let h = headers(&[("host", "10.0.0.5:3000"), ("x-forwarded-host", "steward.example"), ("origin", "https://steward.example")]);
        assert_eq!(cross_site(&Method::POST, &h), None);
    }

    #[test]
    fn a_client_that_names_no_origin_is_no_browser_and_passes() {
        assert_eq!(cross_site(&Method::POST, &headers(&[("host", "steward.example")])), None);
    }

    #[test]
    fn user_info_in_a_referer_does_not_fool_the_host_check() {
        let h = headers(&[("host", "steward.example"), ("referer", "https://steward.example@evil.example/")]);
        assert!(cross_site(&Method::POST, &h).is_some());
    }

    proptest::proptest! {
        #[test]
        fn any_headers_give_an_answer_and_the_own_origin_always_passes(
            host in "[a-z0-9.-]{1,30}(:[0-9]{1,5})?",
            origin in proptest::option::of(".{0,80}"),
            referer in proptest::option::of(".{0,80}"),
            site in proptest::option::of(".{0,20}"),
        ) {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_str(&host).unwrap());
            for (name, value) in [("origin", &origin), ("referer", &referer), ("sec-fetch-site", &site)] {
                if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                    h.insert(HeaderName::from_static(name), v);
                }
            }
            let _ = cross_site(&Method::POST, &h);
            proptest::prop_assert_eq!(cross_site(&Method::GET, &h), None);
            let mut own = HeaderMap::new();
            own.insert(header::HOST, HeaderValue::from_str(&host).unwrap());
            own.insert(header::ORIGIN, HeaderValue::from_str(&format!("https://{host}")).unwrap());
            proptest::prop_assert_eq!(cross_site(&Method::POST, &own), None);
        }
    }
}

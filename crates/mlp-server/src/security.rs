//! Rules for requests a browser may send on someone else's behalf. The API has no login yet, so
//! any web page the user visits could otherwise drive it: by a cross-site "simple" POST (a form,
//! or `fetch` with `text/plain`), or by DNS rebinding a hostname of its own to 127.0.0.1. Like
//! MLflow's security middleware, and stricter:
//!
//! - the `Host` header must name this server (an allow-list), except on the probe endpoints;
//! - a state-changing request from another origin is refused unless that origin is on the CORS
//!   allow-list (closed by default), and preflights are answered only for listed origins;
//! - POST and PATCH bodies, and any DELETE body, must be declared `application/json`: browsers
//!   cannot send that cross-site without a preflight, so a form or a `text/plain` fetch never
//!   reaches a handler;
//! - every response says `nosniff` and may not be framed.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mlp_core::storage_uri::host_matches;
use mlp_core::{Error, ErrorCode};

use crate::error::ApiError;

/// The browser-facing rules of one listener.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Host patterns accepted in the `Host` header: names, addresses, `*.domain`, or `*`.
    pub allowed_hosts: Vec<String>,
    /// Origins (`https://ui.example.com`, `http://localhost:3000`) allowed to call the API from
    /// a browser on another origin; `*` allows any. Empty: same-origin only.
    pub cors_allowed_origins: Vec<String>,
}

impl HttpPolicy {
    /// Loopback names only: what a server bound to 127.0.0.1 is reached by.
    pub fn loopback() -> Self {
        HttpPolicy {
            allowed_hosts: default_hosts(None),
            cors_allowed_origins: Vec::new(),
        }
    }
}

/// `localhost`, `127.0.0.1`, `[::1]`, plus the bind address when it is a specific one.
pub fn default_hosts(bind_host: Option<&str>) -> Vec<String> {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(h) = bind_host.map(|h| h.trim_matches(['[', ']'])) {
        let unspecified = h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_unspecified());
        if !h.is_empty() && !unspecified && !hosts.iter().any(|x| x == h) {
            hosts.push(h.to_string());
        }
    }
    hosts
}

/// Probes (kubelet, load balancers) address the pod by IP and cannot be told a host name.
const HOST_EXEMPT: &[&str] = &["/health", "/ready", "/version"];

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/ajax-api/")
}

fn state_changing(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

fn deny(code: ErrorCode, message: String) -> Response {
    tracing::warn!(
        error_code = code.as_str(),
        message,
        "request refused by the browser rules"
    );
    ApiError(Error::new(code, message)).into_response()
}

/// `scheme://host[:port]` of an Origin header, reduced to `host[:port]` for comparison with Host.
fn origin_authority(origin: &str) -> Option<&str> {
    origin.split_once("://").map(|(_, a)| a.trim_end_matches('/'))
}

/// The same origin when the Origin's authority is the request's Host (scheme and default ports
/// aside: behind a TLS-terminating ingress the server sees plain HTTP).
pub(crate) fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let (Some(a), Some(h)) = (origin_authority(origin), host) else {
        return false;
    };
    let strip_default = |s: &str| -> String {
        let s = s.to_ascii_lowercase();
        s.strip_suffix(":80")
            .or_else(|| s.strip_suffix(":443"))
            .map(str::to_string)
            .unwrap_or(s)
    };
    strip_default(a) == strip_default(h)
}

fn cors_allowed(p: &HttpPolicy, origin: &str) -> bool {
    p.cors_allowed_origins
        .iter()
        .any(|o| o == "*" || o.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// The middleware. Cheap: a few header lookups, no allocation on the common path.
pub async fn guard(State(p): State<Arc<HttpPolicy>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    // A request without any Host (HTTP/1.0, an in-process call) cannot be a rebinding attack:
    // browsers always send one.
    if !HOST_EXEMPT.contains(&path) && host.is_some_and(|h| !host_matches(&p.allowed_hosts, h)) {
        return deny(
            ErrorCode::PermissionDenied,
            format!(
                "Invalid Host header '{}': this server answers only to its configured names (server.allowed_hosts); a foreign Host is how DNS rebinding attacks reach a local server",
                host.unwrap_or("")
            ),
        );
    }
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let cross = origin.as_deref().filter(|o| !same_origin(o, host));
    let cors_ok = cross.is_some_and(|o| cors_allowed(&p, o));
    let method = req.method().clone();

    if method == Method::OPTIONS && cross.is_some() && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        if !cors_ok {
            return deny(
                ErrorCode::PermissionDenied,
                format!(
                    "Cross-origin requests from '{}' are not allowed (server.cors_allowed_origins)",
                    cross.unwrap_or("")
                ),
            );
        }
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let h = resp.headers_mut();
        cors_headers(h, cross.unwrap_or(""));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, authorization, x-request-id"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        return resp;
    }
    // `Sec-Fetch-Site: cross-site` catches browsers that send `Origin: null` or none.
    let fetched_cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if state_changing(&method) && !cors_ok && (cross.is_some() || fetched_cross_site) {
        return deny(
            ErrorCode::PermissionDenied,
            format!(
                "Cross-origin request blocked: {method} from '{}' (server.cors_allowed_origins lists the origins allowed)",
                cross.unwrap_or("another site")
            ),
        );
    }
    if is_api(path) && !is_json(headers) {
        let needs_json = method == Method::POST
            || method == Method::PATCH
            || (method == Method::DELETE && has_body(headers) && !path.contains("/mlflow-artifacts/"));
        if needs_json {
            return deny(
                ErrorCode::UnsupportedMediaType,
                format!("{method} requests must send a JSON body with 'Content-Type: application/json'"),
            );
        }
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if cors_ok {
        cors_headers(h, cross.unwrap_or(""));
    }
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    resp
}

fn cors_headers(h: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("x-request-id"),
    );
}

/// The UI's page: scripts only from this origin, nothing framed, no plugins, no form posts
/// elsewhere. Inline styles stay allowed: charts and tables set element styles.
pub const UI_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Adds the UI's Content-Security-Policy and referrer policy to UI responses.
pub async fn ui_headers(req: Request<Body>, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(UI_CSP));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_rules() {
        assert!(same_origin("http://localhost:8000", Some("localhost:8000")));
        assert!(same_origin("https://mlp.example.com", Some("mlp.example.com")));
        assert!(same_origin("https://mlp.example.com", Some("mlp.example.com:443")));
        assert!(!same_origin("http://evil.example", Some("localhost:8000")));
        assert!(!same_origin("null", Some("localhost:8000")));
        assert!(!same_origin("http://localhost:8001", Some("localhost:8000")));
    }

    #[test]
    fn json_content_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        for (ct, ok) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
            ("multipart/form-data; boundary=x", false),
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            assert_eq!(is_json(&h), ok, "{ct}");
        }
    }

    #[test]
    fn default_hosts_add_specific_bind_addresses_only() {
        assert_eq!(default_hosts(Some("0.0.0.0")).len(), 3);
        assert_eq!(default_hosts(Some("[::]")).len(), 3);
        assert!(default_hosts(Some("10.1.2.3")).contains(&"10.1.2.3".to_string()));
    }
}

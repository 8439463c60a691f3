//! Browser sessions for the web UI (issue 14): `POST /api/v1/session` checks a username and
//! password like HTTP Basic (with the same failed-login throttling) and sets the cookie
//! `mlp_session` (HttpOnly, SameSite=Strict); `GET` says who is logged in; `DELETE` logs out.
//!
//! A session is a personal access token the user did not name: stored in the auth store's
//! token table (only its SHA-256), with an id starting `session-` that keeps it out of the
//! token list, so no migration is needed. Its secret has its own prefix, so it is never
//! accepted as a `Bearer` token and the cookie is the only way to use it.
//!
//! A cookie is sent by the browser whoever built the request, so it is accepted only:
//! - from this server's own pages: a request with a foreign `Origin` (or `Sec-Fetch-Site`
//!   other than same-origin or none) is refused, CORS allow-list or not;
//! - on state-changing methods, with the header `X-CSRF-Token` carrying the session's CSRF
//!   token (returned by login and `GET /api/v1/session`). It is derived from the secret, so
//!   every replica can check it without storing anything, and reveals nothing about it.
//!
//! Basic and Bearer callers are unaffected: an `Authorization` header wins over the cookie.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mlp_core::auth::{Permission, ResourceKind, Token};
use mlp_core::{Error, ErrorCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::{Auth, Principal};
use crate::error::{ApiError, ApiResult};

pub const COOKIE: &str = "mlp_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The secret's prefix: unlike a token's (`mlp_`), `Bearer` never accepts it.
const SECRET_PREFIX: &str = "mlps_";
/// Token ids of sessions; personal tokens' ids are bare UUIDs.
pub const ID_PREFIX: &str = "session-";
/// Live sessions kept per user; logging in beyond it ends the oldest.
const MAX_PER_USER: usize = 50;
/// How many resources one permissions request may ask about.
const MAX_PERMISSION_IDS: usize = 1000;

/// Session settings (`auth.session_hours`, `auth.session_cookie_secure`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a session lasts after login.
    pub ttl: Duration,
    /// Always mark the cookie `Secure` (it is anyway when the request came over https).
    pub secure_cookie: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ttl: Duration::from_secs(12 * 3600),
            secure_cookie: false,
        }
    }
}

/// The session cookie's secret, if the request carries one.
fn cookie_secret(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The CSRF token of a session: a hash of its secret, so any replica recomputes it.
fn csrf_of(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"mlp-csrf\0");
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn equal_constant_time(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A request the UI sent (its fetches say `X-Requested-With`, or carry the session): a 401
/// answers it without the Basic challenge, which would open the browser's login dialog.
pub(crate) fn from_ui(headers: &HeaderMap) -> bool {
    headers.contains_key("x-requested-with") || cookie_secret(headers).is_some()
}

/// Drops the Basic challenge from a 401 meant for the UI.
pub(crate) fn for_ui(headers: &HeaderMap, mut resp: Response) -> Response {
    if from_ui(headers) {
        resp.headers_mut().remove(header::WWW_AUTHENTICATE);
    }
    resp
}

fn refused(message: &str) -> Response {
    ApiError(Error::new(ErrorCode::PermissionDenied, message)).into_response()
}

/// The caller named by the session cookie, for `auth::enforce`. `Ok(None)` without a cookie,
/// with an `Authorization` header (it wins), or with an unknown or expired session (a 401
/// follows); `Err` when the cookie comes from another origin or a state-changing call lacks the
/// CSRF token.
pub(crate) async fn principal(
    auth: &Auth,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<Principal>, Response> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Ok(None);
    }
    let Some(secret) = cookie_secret(headers) else {
        return Ok(None);
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let foreign_origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|o| !crate::security::same_origin(o, host));
    let foreign_fetch = headers
        .get("sec-fetch-site")
        .is_some_and(|v| !matches!(v.as_bytes(), b"same-origin" | b"none"));
    if foreign_origin || foreign_fetch {
        return Err(refused(
            "The session cookie is accepted from this server's own pages only; other clients send Basic credentials or a token",
        ));
    }
    let Some(p) = lookup(auth, secret).await.map_err(|e| ApiError(e).into_response())? else {
        return Ok(None);
    };
    if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = headers.get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        if !equal_constant_time(sent, csrf_of(secret).as_bytes()) {
            return Err(refused(
                "Missing or wrong X-CSRF-Token: a state-changing call with the session cookie must send the token that login or GET /api/v1/session returned",
            ));
        }
    }
    Ok(Some(p))
}

/// The session's user, from the credential cache when fresh.
async fn lookup(auth: &Auth, secret: &str) -> Result<Option<Principal>, Error> {
    if !secret.starts_with(SECRET_PREFIX) {
        return Ok(None);
    }
    // Its own namespace in the cache: a session's secret is not an Authorization value.
    let slot = auth.cache_slot(&format!("session {secret}"));
    if let Some(p) = auth.cached(&slot) {
        return Ok(Some(p));
    }
    let Some((token, user)) = auth.store.find_token(&crate::auth::token_hash(secret)).await? else {
        return Ok(None);
    };
    if !token.id.starts_with(ID_PREFIX) || token.expires_at.is_none_or(|t| t <= now_ms()) {
        return Ok(None);
    }
    let p = Principal::from(&user);
    auth.remember(slot, &p);
    Ok(Some(p))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn auth_of(st: &AppState) -> Result<&Auth, ApiError> {
    st.auth
        .as_deref()
        .ok_or_else(|| ApiError(Error::new(ErrorCode::EndpointNotFound, "Authentication is not enabled")))
}

/// Whether the browser reached us over https (directly or through a TLS-terminating proxy).
fn over_https(headers: &HeaderMap) -> bool {
    let is = |name: header::HeaderName, prefix: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with(prefix))
    };
    is(header::HeaderName::from_static("x-forwarded-proto"), "https") || is(header::ORIGIN, "https://")
}

fn cookie(value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("mlp_session=; Max-Age=0; Path=/"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginReq {
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    username: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    password: Option<String>,
}

/// Who the caller is, for the UI. `may_run_jobs`: the jobs capability, so the UI can say why it
/// cannot submit rather than show a form the server refuses.
async fn who(st: &AppState, auth: &Auth, p: &Principal, csrf: Option<String>, expires_at: Option<i64>) -> Value {
    json!({
        "auth_enabled": true,
        "username": p.username,
        "is_admin": p.is_admin,
        "jobs_enabled": st.jobs.is_some(),
        "may_run_jobs": auth.may_run_jobs(p).await.unwrap_or(false),
        "csrf_token": csrf,
        "expires_at": expires_at,
    })
}

/// `POST /api/v1/session`: a password login that starts a session.
async fn login(State(st): State<AppState>, req: Request) -> ApiResult<Response> {
    let auth = auth_of(&st)?;
    let addr = crate::http::ClientAddr::of(&req);
    let secure = st.session.secure_cookie || over_https(req.headers());
    let input = <crate::input::Input as axum::extract::FromRequest<()>>::from_request(req, &()).await?;
    let r: LoginReq = input.parse()?;
    let username = crate::input::required_str(r.username, "username")?;
    let password = crate::input::required_str(r.password, "password")?;
    if let Some(wait) = auth.logins.throttled(&username, &addr) {
        metrics::counter!("mlp_auth_logins_throttled_total").increment(1);
        tracing::warn!(username, client = addr, "failed logins throttled");
        let mut resp = unauthenticated(format!(
            "Too many failed logins for this user from this address; try again in {wait} s."
        ));
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(resp);
    }
    // The same check as HTTP Basic (timing included), so both logins agree.
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{username}:{password}")
        )
    );
    let verified = if username.contains(':') {
        None
    } else {
        auth.authenticate(Some(&basic)).await?
    };
    let Some(p) = verified else {
        auth.logins.failed(&username, &addr);
        return Ok(unauthenticated("Wrong username or password.".to_string()));
    };
    auth.logins.succeeded(&username, &addr);
    prune(auth, p.id).await;
    let now = now_ms();
    let ttl_ms = st.session.ttl.as_millis() as i64;
    let secret = format!("{SECRET_PREFIX}{}", crate::auth::random_secret());
    let token = Token {
        id: format!("{ID_PREFIX}{}", uuid::Uuid::now_v7().simple()),
        user_id: p.id,
        name: "web session".to_string(),
        created_at: now,
        expires_at: Some(now + ttl_ms),
    };
    auth.store
        .create_token(&token, &crate::auth::token_hash(&secret))
        .await?;
    tracing::info!(username = p.username, "web session started");
    let mut resp = Json(who(&st, auth, &p, Some(csrf_of(&secret)), token.expires_at).await).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cookie(&secret, st.session.ttl.as_secs(), secure));
    Ok(resp)
}

/// Ends the user's expired sessions, and the oldest beyond [`MAX_PER_USER`]: sessions nobody
/// logs out of would otherwise pile up in the token table.
async fn prune(auth: &Auth, user_id: i64) {
    let Ok(tokens) = auth.store.list_tokens(user_id).await else {
        return;
    };
    let now = now_ms();
    let mut live: Vec<&Token> = Vec::new();
    for t in tokens.iter().filter(|t| t.id.starts_with(ID_PREFIX)) {
        if t.expires_at.is_none_or(|e| e <= now) {
            let _ = auth.store.delete_token(user_id, &t.id).await;
        } else {
            live.push(t);
        }
    }
    live.sort_by_key(|t| std::cmp::Reverse(t.created_at));
    for t in live.iter().skip(MAX_PER_USER - 1) {
        let _ = auth.store.delete_token(user_id, &t.id).await;
    }
}

/// A 401 without the Basic challenge: the login form is the UI's, not the browser's.
fn unauthenticated(message: String) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error_code": "UNAUTHENTICATED", "message": message })),
    )
        .into_response()
}

/// `GET /api/v1/session`: who is calling (with auth off: nobody needs to log in).
async fn current(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    if st.auth.is_none() {
        return Ok(Json(
            json!({ "auth_enabled": false, "jobs_enabled": st.jobs.is_some(), "may_run_jobs": true }),
        ));
    }
    let p = caller(&req)?;
    let csrf = if req.headers().contains_key(header::AUTHORIZATION) {
        None
    } else {
        cookie_secret(req.headers()).map(csrf_of)
    };
    let auth = auth_of(&st)?;
    Ok(Json(who(&st, auth, &p, csrf, None).await))
}

fn caller(req: &Request) -> Result<Principal, ApiError> {
    req.extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| ApiError(Error::new(ErrorCode::PermissionDenied, "Not authenticated")))
}

/// `DELETE /api/v1/session`: ends the session here and on every replica (within the credential
/// cache's lifetime there), and clears the cookie.
async fn logout(State(st): State<AppState>, req: Request) -> ApiResult<Response> {
    if let (Some(auth), Some(secret)) = (st.auth.as_deref(), cookie_secret(req.headers())) {
        if let Some((token, user)) = auth.store.find_token(&crate::auth::token_hash(secret)).await?
            && token.id.starts_with(ID_PREFIX)
        {
            auth.store.delete_token(user.id, &token.id).await?;
            tracing::info!(username = user.username, "web session ended");
        }
        auth.forget_all();
    }
    let secure = st.session.secure_cookie || over_https(req.headers());
    let mut resp = Json(json!({})).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie("", 0, secure));
    Ok(resp)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PermissionsReq {
    #[serde(deserialize_with = "mlp_core::wire::de_vec_or_one")]
    experiment_id: Vec<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_vec_or_one")]
    registered_model_name: Vec<String>,
}

/// `GET /api/v1/permissions?experiment_id=…&registered_model_name=…` (each repeatable): the
/// caller's effective permission on each, so that the UI can hide what would be refused. The
/// server still checks every call; this only spares the user a 403.
async fn permissions(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let p = st.auth.as_ref().map(|_| caller(&req)).transpose()?;
    let input = <crate::input::Input as axum::extract::FromRequest<()>>::from_request(req, &()).await?;
    let r: PermissionsReq = input.parse()?;
    if r.experiment_id.len() + r.registered_model_name.len() > MAX_PERMISSION_IDS {
        return Err(ApiError(Error::invalid(format!(
            "At most {MAX_PERMISSION_IDS} resources per request"
        ))));
    }
    let mut out = json!({ "experiments": {}, "registered_models": {} });
    for (key, kind, ids) in [
        ("experiments", ResourceKind::Experiment, r.experiment_id),
        (
            "registered_models",
            ResourceKind::RegisteredModel,
            r.registered_model_name,
        ),
    ] {
        let mut map = HashMap::new();
        for id in ids {
            let perm = match (st.auth.as_deref(), &p) {
                (Some(auth), Some(p)) => auth.permission(p, kind, &id).await?,
                // Auth off: everyone may do everything.
                _ => Permission::Manage,
            };
            map.insert(id, perm.as_str());
        }
        out[key] = json!(map);
    }
    Ok(Json(out))
}

/// Mounted with auth on or off: the UI asks `GET /api/v1/session` to learn which.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/session", post(login).get(current).delete(logout))
        .route("/api/v1/permissions", get(permissions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        assert_eq!(cookie_secret(&h), None);
        h.append(header::COOKIE, HeaderValue::from_static("a=1; mlp_session=mlps_x; b=2"));
        assert_eq!(cookie_secret(&h), Some("mlps_x"));
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("xmlp_session=nope"));
        h.append(header::COOKIE, HeaderValue::from_static("mlp_session="));
        assert_eq!(cookie_secret(&h), None);
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let (a, b) = (csrf_of("mlps_a"), csrf_of("mlps_b"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(!a.contains("mlps_a"));
        assert!(equal_constant_time(a.as_bytes(), csrf_of("mlps_a").as_bytes()));
        assert!(!equal_constant_time(a.as_bytes(), b.as_bytes()));
        assert!(!equal_constant_time(a.as_bytes(), &a.as_bytes()[1..]));
        assert!(!equal_constant_time(b"", a.as_bytes()));
    }
}

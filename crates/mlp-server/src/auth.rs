//! Authentication and authorization (issue 14), compatible with MLflow 3.17.2's basic-auth app:
//! HTTP Basic with argon2id password hashes, personal access tokens as `Bearer`, per-user grants
//! on experiments and registered models, and one table ([`RULES`]) saying what every route needs.
//!
//! With auth off (`AppState::auth` is `None`) nothing here runs and no route is added.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use base64::Engine;
use mlp_core::auth::{
    AuthStore, DEFAULT_WORKSPACE, Grant, JobToken, Permission, ResourceKind, Role, RoleAssignment, RolePermission,
    Token, User, validate_password, validate_username,
};
use mlp_core::{Error, ErrorCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::{AppState, DATASET_BODY_LIMIT, JSON_BODY_LIMIT};

/// How long verified credentials are trusted without hashing them again. Short, because a
/// password change on another replica is only seen here when the entry expires.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// Beyond this many cached credentials (or users' grants) the cache starts over, which bounds
/// its memory.
const CACHE_MAX: usize = 10_000;
/// How long a user's grants are trusted. A grant changed on this replica applies at once; one
/// changed on another replica within this time.
const GRANT_TTL: Duration = Duration::from_secs(10);
/// Cached run and logged model → experiment mappings (~100 bytes each).
const PARENTS_MAX: usize = 100_000;
/// What a token's secret starts with, so that a leaked one is recognisable (secret scanners).
const TOKEN_PREFIX: &str = "mlp_";
/// A job attempt's token: a different prefix, so it is told apart before any lookup.
const JOB_TOKEN_PREFIX: &str = "mlpj_";
/// How long a verified job token is trusted here: the worker revokes it when the attempt ends,
/// possibly from another process, so this bounds how long a finished job's token still works.
const JOB_TOKEN_CACHE_TTL: Duration = Duration::from_secs(2);

/// Failed logins: after this many for one username from one address within the window, that
/// pair is refused without checking the password until the window ends.
const LOGIN_FAILURES_PER_USER: u32 = 10;
/// Failed logins from one address, whatever the usernames (guessing names).
const LOGIN_FAILURES_PER_ADDRESS: u32 = 100;
const LOGIN_WINDOW: Duration = Duration::from_secs(300);
/// Tracked (username, address) pairs and addresses; beyond it expired entries are dropped, and
/// if none are, the oldest half — memory stays bounded whatever an attacker sends.
const LOGIN_TRACKED_MAX: usize = 20_000;

/// Failed-login counting per (username, client address) and per address. Refusals are 401 like
/// a wrong password, never 429: MLflow's client retries 429 (and 5xx) with backoff, which would
/// only add attempts.
#[derive(Default)]
pub struct LoginLimiter {
    /// Key: `u:<address>:<username>` or `a:<address>` → (failures, window start).
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    fn keys(username: &str, addr: &str) -> (String, String) {
        (format!("u:{addr}:{username}"), format!("a:{addr}"))
    }

    /// Seconds until the pair may try again, when it is throttled.
    pub fn throttled(&self, username: &str, addr: &str) -> Option<u64> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.is_empty() {
            return None;
        }
        let (user_key, addr_key) = Self::keys(username, addr);
        let now = Instant::now();
        let wait = |key: &str, limit: u32| {
            map.get(key)
                .filter(|(n, start)| *n >= limit && now < *start + LOGIN_WINDOW)
                .map(|(_, start)| (*start + LOGIN_WINDOW - now).as_secs().max(1))
        };
        wait(&user_key, LOGIN_FAILURES_PER_USER).or_else(|| wait(&addr_key, LOGIN_FAILURES_PER_ADDRESS))
    }

    pub fn failed(&self, username: &str, addr: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if map.len() >= LOGIN_TRACKED_MAX {
            map.retain(|_, (_, start)| now < *start + LOGIN_WINDOW);
            if map.len() >= LOGIN_TRACKED_MAX {
                let mut starts: Vec<Instant> = map.values().map(|(_, s)| *s).collect();
                starts.sort();
                let cut = starts[starts.len() / 2];
                map.retain(|_, (_, start)| *start > cut);
            }
        }
        let (user_key, addr_key) = Self::keys(username, addr);
        for key in [user_key, addr_key] {
            let e = map.entry(key).or_insert((0, now));
            if now >= e.1 + LOGIN_WINDOW {
                *e = (0, now);
            }
            e.0 += 1;
        }
    }

    pub fn succeeded(&self, username: &str, addr: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if !map.is_empty() {
            map.remove(&Self::keys(username, addr).0);
        }
    }
}

/// The username of Basic credentials, without verifying anything.
fn basic_username(authorization: &str) -> Option<String> {
    let (scheme, rest) = authorization.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
    let s = String::from_utf8(decoded).ok()?;
    s.split_once(':').map(|(u, _)| u.to_string())
}

/// Who is calling, as the handlers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: i64,
    pub username: String,
    pub is_admin: bool,
    /// A job's token: the caller may write this run and read its experiment, nothing else.
    pub scope: Option<Arc<JobToken>>,
    /// An OIDC token's roles (ids of the platform roles its roles claim names), held on top of
    /// the user's assigned roles for as long as the token is trusted.
    pub claim_roles: Option<Arc<[i64]>>,
}

impl From<&User> for Principal {
    fn from(u: &User) -> Self {
        Principal {
            id: u.id,
            username: u.username.clone(),
            is_admin: u.is_admin,
            scope: None,
            claim_roles: None,
        }
    }
}

/// Whose grants: a user id, and an OIDC token's roles (different tokens, different roles).
type GrantKey = (i64, Option<Arc<[i64]>>);

pub struct Auth {
    pub store: Arc<dyn AuthStore>,
    /// The permission of a user on a resource without a grant (MLflow's `default_permission`).
    pub default_permission: Permission,
    /// Keyed hash of the credentials → the principal and when the entry stops being trusted.
    cache: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    /// Per-process key of the cache's hash, so the cache never holds anything a password could
    /// be checked against offline.
    cache_key: [u8; 32],
    /// (User id, an OIDC token's roles) → their grants and until when they are trusted.
    grant_cache: Mutex<HashMap<GrantKey, (Arc<Grants>, Instant)>>,
    /// `run:<id>` / `model:<id>` → experiment id.
    parents: Mutex<HashMap<String, String>>,
    pub logins: LoginLimiter,
    /// Bearer JWTs from the configured identity provider (`auth.oidc.*`), when set.
    pub oidc: Option<Arc<crate::oidc::Oidc>>,
}

impl Auth {
    pub fn new(store: Arc<dyn AuthStore>, default_permission: Permission) -> Self {
        let mut cache_key = [0u8; 32];
        cache_key[..16].copy_from_slice(&random16());
        cache_key[16..].copy_from_slice(&random16());
        Auth {
            store,
            default_permission,
            cache: Mutex::new(HashMap::new()),
            cache_key,
            grant_cache: Mutex::new(HashMap::new()),
            parents: Mutex::new(HashMap::new()),
            logins: LoginLimiter::default(),
            oidc: None,
        }
    }

    /// Creates the admin at first start. An existing user of that name is left as it is: the
    /// configured password only bootstraps, as in MLflow.
    pub async fn bootstrap_admin(&self, username: &str, password: Option<&str>) -> Result<(), Error> {
        validate_username(username)?;
        match self.store.get_user(username).await {
            Ok(_) => return Ok(()),
            Err(e) if e.code == ErrorCode::ResourceDoesNotExist => {}
            Err(e) => return Err(e),
        }
        let password = password.filter(|p| !p.is_empty()).ok_or_else(|| {
            Error::invalid(format!(
                "Authentication is enabled but the admin user '{username}' does not exist and no password is configured for it: set MLP__AUTH__ADMIN_PASSWORD or MLP__AUTH__ADMIN_PASSWORD_FILE"
            ))
        })?;
        validate_password(password)
            .map_err(|e| Error::invalid(format!("The configured admin password is invalid: {}", e.message)))?;
        let hash = hash_password(password).await?;
        match self.store.create_user(username, &hash, true).await {
            // Another replica starting at the same moment created it.
            Err(e) if e.code == ErrorCode::ResourceAlreadyExists => Ok(()),
            Err(e) => Err(e),
            Ok(_) => {
                tracing::info!(username, "created the admin user");
                Ok(())
            }
        }
    }

    pub(crate) fn cache_slot(&self, credentials: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.cache_key);
        h.update(credentials.as_bytes());
        h.finalize().into()
    }

    pub(crate) fn cached(&self, slot: &[u8; 32]) -> Option<Principal> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(slot)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(p, _)| p.clone())
    }

    pub(crate) fn remember(&self, slot: [u8; 32], p: &Principal) {
        let ttl = if p.scope.is_some() {
            JOB_TOKEN_CACHE_TTL
        } else {
            CACHE_TTL
        };
        self.remember_until(slot, p, Instant::now() + ttl);
    }

    fn remember_until(&self, slot: [u8; 32], p: &Principal, until: Instant) {
        let until = until.min(Instant::now() + CACHE_TTL);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(slot, (p.clone(), until));
    }

    /// Forgets every verified credential: after a password, admin flag, user or token change,
    /// so that this replica applies it at once.
    pub fn forget_all(&self) {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The caller named by the `Authorization` header; `None` when absent or wrong.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Option<Principal>, Error> {
        let Some(value) = authorization else {
            return Ok(None);
        };
        let slot = self.cache_slot(value);
        if let Some(p) = self.cached(&slot) {
            return Ok(Some(p));
        }
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        // OIDC single sign-on (oidc.rs): a JWT, trusted until it expires (at most CACHE_TTL).
        if let Some(oidc) = &self.oidc
            && scheme.eq_ignore_ascii_case("bearer")
            && crate::oidc::looks_like_jwt(rest.trim())
        {
            let Some((p, until)) = crate::oidc::principal(self, oidc, rest.trim()).await? else {
                return Ok(None);
            };
            self.remember_until(slot, &p, until);
            return Ok(Some(p));
        }
        let principal = if scheme.eq_ignore_ascii_case("basic") {
            let Some((user, pass)) = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_string(), p.to_string())))
            else {
                return Ok(None);
            };
            let user = match self.store.get_user(&user).await {
                Ok(u) => u,
                Err(e) if e.code == ErrorCode::ResourceDoesNotExist => {
                    // The same work as for a real user, so timing does not tell which names exist.
                    let _ = verify_password(pass, dummy_hash().to_string()).await;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            if !verify_password(pass, user.password_hash.clone()).await {
                return Ok(None);
            }
            Principal::from(&user)
        } else if scheme.eq_ignore_ascii_case("bearer") && rest.trim().starts_with(JOB_TOKEN_PREFIX) {
            let Some(token) = self.store.find_job_token(&token_hash(rest.trim())).await? else {
                return Ok(None);
            };
            if token.expires_at <= now_ms() {
                return Ok(None);
            }
            Principal {
                id: -1,
                username: format!("job:{}", token.job_id),
                is_admin: false,
                scope: Some(Arc::new(token)),
                claim_roles: None,
            }
        } else if scheme.eq_ignore_ascii_case("bearer") {
            let secret = rest.trim();
            if !secret.starts_with(TOKEN_PREFIX) {
                return Ok(None);
            }
            let Some((token, user)) = self.store.find_token(&token_hash(secret)).await? else {
                return Ok(None);
            };
            if token.expires_at.is_some_and(|t| t <= now_ms()) {
                return Ok(None);
            }
            Principal::from(&user)
        } else {
            return Ok(None);
        };
        self.remember(slot, &principal);
        Ok(Some(principal))
    }

    /// The caller's permission on one resource: admin, else the grant on it, else a grant on
    /// every resource of the kind (`*`), else the default.
    pub async fn permission(&self, p: &Principal, kind: ResourceKind, id: &str) -> Result<Permission, Error> {
        if p.is_admin {
            return Ok(Permission::Manage);
        }
        Ok(self.grants(p).await?.permission(kind, id))
    }

    /// All of the caller's grants, from the cache when fresh: a request then costs no query
    /// for its permission.
    async fn grants(&self, p: &Principal) -> Result<Arc<Grants>, Error> {
        if let Some(scope) = &p.scope {
            // A job reads its own experiment only; searches are filtered to it.
            let mut map = HashMap::new();
            map.insert(
                (ResourceKind::Experiment, scope.experiment_id.clone()),
                Permission::Read,
            );
            return Ok(Arc::new(Grants {
                map,
                default: Permission::NoPermissions,
                ..Grants::default()
            }));
        }
        if !p.is_admin {
            let cache = self.grant_cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((g, until)) = cache.get(&(p.id, p.claim_roles.clone()))
                && *until > Instant::now()
            {
                return Ok(g.clone());
            }
        }
        let mut map = HashMap::new();
        let mut roles = Vec::new();
        let (mut workspace_admin, mut has_role, mut jobs) = (false, false, false);
        if !p.is_admin {
            for g in self.store.list_grants(p.id).await? {
                map.insert((g.kind, g.resource_id), g.permission);
            }
            let mut user_roles = self.store.list_user_roles(p.id).await?;
            if let Some(ids) = p.claim_roles.as_ref().filter(|ids| !ids.is_empty()) {
                let assigned: std::collections::HashSet<i64> = user_roles.iter().map(|r| r.id).collect();
                for role in self.store.list_roles().await? {
                    if ids.contains(&role.id) && !assigned.contains(&role.id) {
                        user_roles.push(role);
                    }
                }
            }
            for role in user_roles {
                if role.workspace != DEFAULT_WORKSPACE {
                    continue;
                }
                has_role = true;
                for rp in role.permissions {
                    if rp.resource_type == "workspace" {
                        workspace_admin |= rp.permission == Manage;
                    } else if rp.resource_type == JOBS_RESOURCE_TYPE {
                        jobs |= rp.permission.allows(Permission::Use) && rp.permission != Permission::Deny;
                    } else if let Ok(kind) = ResourceKind::parse(&rp.resource_type) {
                        roles.push((kind, rp.resource_pattern, rp.permission));
                    }
                }
            }
        }
        let grants = Arc::new(Grants {
            admin: p.is_admin,
            map,
            roles,
            workspace_admin,
            has_role,
            jobs,
            default: self.default_permission,
        });
        if !p.is_admin {
            let mut cache = self.grant_cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
            cache.insert(
                (p.id, p.claim_roles.clone()),
                (grants.clone(), Instant::now() + GRANT_TTL),
            );
        }
        Ok(grants)
    }

    /// Whether the caller may run commands on the platform's workers (submit, cancel and follow
    /// jobs): admins, workspace admins and the members of a role with a `jobs` permission. Not a
    /// job's own token: a job does not start jobs.
    pub async fn may_run_jobs(&self, p: &Principal) -> Result<bool, Error> {
        if p.scope.is_some() {
            return Ok(false);
        }
        if p.is_admin {
            return Ok(true);
        }
        let g = self.grants(p).await?;
        Ok(g.jobs || g.workspace_admin)
    }

    /// After any grant changes on this replica, so that it applies at once here.
    pub fn forget_grants(&self) {
        self.grant_cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The experiment of a run or logged model: fixed for its life, so cached without expiry.
    async fn parent(&self, key: String, lookup: impl Future<Output = Result<String, Error>>) -> Result<String, Error> {
        if let Some(e) = self.parents.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(e.clone());
        }
        let exp = lookup.await?;
        let mut parents = self.parents.lock().unwrap_or_else(|e| e.into_inner());
        if parents.len() >= PARENTS_MAX {
            parents.clear();
        }
        parents.insert(key, exp.clone());
        Ok(exp)
    }
}

/// A user's grants and roles, resolved as MLflow 3.17.2 does (`resolve_permissions`,
/// `fold_grants_for_key`): every grant that matches the resource — the user's own and their
/// roles', on its id or on `*` — is folded; any DENY wins, otherwise the highest level, and a
/// positive level is never below the default; no matching grant leaves the default. A role
/// holding MANAGE on `workspace` `*` makes its users admins of the workspace, which nothing
/// (not even DENY) restricts.
struct Grants {
    admin: bool,
    map: HashMap<(ResourceKind, String), Permission>,
    /// (type, pattern, permission) of the user's roles in the default workspace.
    roles: Vec<(ResourceKind, String, Permission)>,
    workspace_admin: bool,
    has_role: bool,
    /// A role grants the `jobs` capability (see [`Auth::may_run_jobs`]).
    jobs: bool,
    default: Permission,
}

impl Default for Grants {
    fn default() -> Self {
        Grants {
            admin: false,
            map: HashMap::new(),
            roles: Vec::new(),
            workspace_admin: false,
            has_role: false,
            jobs: false,
            default: Permission::NoPermissions,
        }
    }
}

/// MLflow's `PERMISSION_PRIORITY`.
fn priority(p: Permission) -> i8 {
    match p {
        Permission::Deny => -1,
        Permission::NoPermissions => 0,
        Permission::Read => 1,
        Permission::Use => 2,
        Permission::Edit => 3,
        Permission::Manage => 4,
    }
}

impl Grants {
    fn permission(&self, kind: ResourceKind, id: &str) -> Permission {
        if self.admin || self.workspace_admin {
            return Permission::Manage;
        }
        let direct = [id, "*"]
            .into_iter()
            .filter_map(|pattern| self.map.get(&(kind, pattern.to_string())).copied());
        let via_roles = self
            .roles
            .iter()
            .filter(|(k, pattern, _)| *k == kind && (pattern == "*" || pattern == id))
            .map(|(_, _, p)| *p);
        let mut best: Option<Permission> = None;
        for p in direct.chain(via_roles) {
            if p == Permission::Deny {
                return Permission::Deny;
            }
            if best.is_none_or(|b| priority(p) > priority(b)) {
                best = Some(p);
            }
        }
        match best {
            None => self.default,
            Some(Permission::NoPermissions) => Permission::NoPermissions,
            Some(p) if priority(self.default) > priority(p) => self.default,
            Some(p) => p,
        }
    }

    fn can_read(&self, kind: ResourceKind, id: &str) -> bool {
        self.permission(kind, id).allows(Permission::Read)
    }
}

fn random16() -> [u8; 16] {
    argon2::password_hash::generate_salt()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A hash to verify against when the user does not exist.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| {
        Argon2::default()
            .hash_password(b"no such user, no such password")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// argon2id with the crate's defaults (OWASP's minimum: 19 MiB, 2 passes), off the async
/// threads because it takes tens of milliseconds by design.
pub async fn hash_password(password: &str) -> Result<String, Error> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::internal(format!("cannot hash a password: {e}")))
    })
    .await
    .map_err(|e| Error::internal(format!("password hashing task failed: {e}")))?
}

/// The hash a password is verified against, and whether a match counts: a stored value that
/// is no argon2 hash is replaced by the dummy one (verified, never accepted).
fn hash_to_verify(stored: &str) -> (&str, bool) {
    if stored.starts_with("$argon2") {
        (stored, true)
    } else {
        (dummy_hash(), false)
    }
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        // A stored value that is no argon2 hash (the marker of a user who signs in through
        // OIDC) never verifies, but still costs one verification: the time of a refusal must
        // not tell which kind of user a name belongs to.
        let (hash, usable) = hash_to_verify(&hash);
        let ok = Argon2::default().verify_password(password.as_bytes(), hash).is_ok();
        usable && ok
    })
    .await
    .unwrap_or(false)
}

/// Tokens are 256 random bits, so one SHA-256 is as good as a slow hash: there is nothing to
/// guess. It also makes the lookup by hash an index lookup.
pub(crate) fn token_hash(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Mints and revokes job tokens in the auth store, for the worker (`mlp_jobs::JobCredentials`).
pub struct JobTokens {
    store: Arc<dyn AuthStore>,
}

impl JobTokens {
    pub fn new(store: Arc<dyn AuthStore>) -> Self {
        JobTokens { store }
    }
}

#[async_trait::async_trait]
impl mlp_jobs::JobCredentials for JobTokens {
    async fn mint(
        &self,
        job: &mlp_core::jobs::Job,
        run_id: &str,
        experiment_id: &str,
        expires_at: i64,
    ) -> Result<String, Error> {
        let secret = format!("{JOB_TOKEN_PREFIX}{}", random_secret());
        let token = JobToken {
            job_id: job.job_id.clone(),
            run_id: run_id.to_string(),
            experiment_id: experiment_id.to_string(),
            expires_at,
            owner: job.owner.clone(),
        };
        self.store.create_job_token(&token, &token_hash(&secret)).await?;
        Ok(secret)
    }

    async fn revoke(&self, job_id: &str) -> Result<(), Error> {
        self.store.delete_job_tokens(job_id, now_ms()).await
    }
}

/// 256 random bits, URL-safe.
pub(crate) fn random_secret() -> String {
    let mut raw = [0u8; 32];
    raw[..16].copy_from_slice(&random16());
    raw[16..].copy_from_slice(&random16());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

// ---------------------------------------------------------------------------------------------
// The authorization table
// ---------------------------------------------------------------------------------------------

/// Where a route is mounted: its templates are relative to each of the group's prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `/api/2.0/mlflow` and `/ajax-api/2.0/mlflow`.
    Mlflow,
    /// `/api/2.0/mlflow-artifacts` and `/ajax-api/2.0/mlflow-artifacts`.
    Artifacts,
    /// As written.
    Root,
}

impl Group {
    pub fn prefixes(self) -> &'static [&'static str] {
        match self {
            Group::Mlflow => &["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"],
            Group::Artifacts => &["/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts"],
            Group::Root => &[""],
        }
    }
}

/// How to find the resource a request acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locate {
    /// The `experiment_id` field.
    Experiment,
    /// The `experiment_name` field.
    ExperimentName,
    /// The `run_id` (or `run_uuid`) field: the run's experiment.
    Run,
    /// Every run of the `run_ids` field.
    Runs,
    /// The `{model_id}` path parameter: the logged model's experiment.
    LoggedModel,
    /// The `name` field: a registered model (model versions follow it).
    ModelName,
    /// The `{path}` of a proxied artifact, `<experiment_id>/…`.
    ArtifactPath,
    /// The `path` field of an artifact listing; its root is for admins only.
    ArtifactListing,
}

/// Search results keep only what the caller may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Experiments,
    Runs,
    LoggedModels,
    RegisteredModels,
    ModelVersions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// No credentials (health, the UI's files, server-info as MLflow has it).
    Public,
    /// Any user.
    Authenticated,
    Admin,
    /// An admin, or the user named by the `username` field.
    AdminOrSelf,
    /// MANAGE on the resource named by `resource_type`/`resource_id` (a `*` grant: admin).
    ManageGrantTarget,
    /// This permission on the located resource.
    On(Permission, Locate),
    /// Any user; the response is filtered.
    Search(Filter),
    /// Any user; the creator gets MANAGE on what was created.
    Create(ResourceKind),
    /// Managing roles: an admin, or a workspace admin (a role with MANAGE on `workspace`).
    RoleAdmin,
    /// Reading roles: an admin, or a user holding any role (MLflow's `validate_can_view_roles`).
    RoleViewer,
    /// The jobs API: submitting needs EDIT on the job's experiment; reading, following and
    /// cancelling a job, being its submitter (admins: every job). See `check_jobs`.
    Jobs,
    /// No credentials: the handler checks the password it is sent (the UI's session login).
    Login,
    /// The sweeps API, as the jobs API: creating needs EDIT on the sweep's experiment; reading
    /// and cancelling, being its creator (admins: every sweep). See `check_sweeps`.
    Sweeps,
}

pub struct Rule {
    pub group: Group,
    pub method: &'static str,
    pub path: &'static str,
    pub need: Need,
}

const fn r(group: Group, method: &'static str, path: &'static str, need: Need) -> Rule {
    Rule {
        group,
        method,
        path,
        need,
    }
}

use Group::{Artifacts as A, Mlflow as M, Root as R};
use Locate as L;
use Need::*;
use Permission::{Edit, Manage, Read};

/// Every route and what it needs. MLflow's validators (`mlflow/server/auth/__init__.py`) decide
/// the levels: reads READ, writes EDIT (MLflow's `can_update`), deletes and restores MANAGE
/// (`can_delete`), creating a run or logged model EDIT on its experiment.
pub static RULES: &[Rule] = &[
    // Experiments
    r(M, "POST", "/experiments/create", Create(ResourceKind::Experiment)),
    r(M, "GET", "/experiments/get", On(Read, L::Experiment)),
    r(M, "GET", "/experiments/get-by-name", On(Read, L::ExperimentName)),
    r(M, "POST", "/experiments/search", Search(Filter::Experiments)),
    r(M, "GET", "/experiments/search", Search(Filter::Experiments)),
    r(M, "GET", "/experiments/list", Search(Filter::Experiments)),
    r(M, "POST", "/experiments/update", On(Edit, L::Experiment)),
    r(M, "POST", "/experiments/delete", On(Manage, L::Experiment)),
    r(M, "POST", "/experiments/restore", On(Manage, L::Experiment)),
    r(M, "POST", "/experiments/set-experiment-tag", On(Edit, L::Experiment)),
    r(M, "POST", "/experiments/delete-experiment-tag", On(Edit, L::Experiment)),
    // Runs follow their experiment
    r(M, "POST", "/runs/create", On(Edit, L::Experiment)),
    r(M, "GET", "/runs/get", On(Read, L::Run)),
    r(M, "POST", "/runs/update", On(Edit, L::Run)),
    r(M, "POST", "/runs/delete", On(Manage, L::Run)),
    r(M, "POST", "/runs/restore", On(Manage, L::Run)),
    r(M, "POST", "/runs/log-metric", On(Edit, L::Run)),
    r(M, "POST", "/runs/log-parameter", On(Edit, L::Run)),
    r(M, "POST", "/runs/set-tag", On(Edit, L::Run)),
    r(M, "POST", "/runs/delete-tag", On(Edit, L::Run)),
    r(M, "POST", "/runs/log-batch", On(Edit, L::Run)),
    r(M, "POST", "/runs/log-inputs", On(Edit, L::Run)),
    r(M, "POST", "/runs/outputs", On(Edit, L::Run)),
    r(M, "POST", "/runs/search", Search(Filter::Runs)),
    r(M, "GET", "/runs/search", Search(Filter::Runs)),
    r(M, "POST", "/runs/log-model", On(Edit, L::Run)),
    r(M, "GET", "/metrics/get-history", On(Read, L::Run)),
    r(M, "GET", "/metrics/get-history-bulk-interval", On(Read, L::Runs)),
    r(M, "GET", "/artifacts/list", On(Read, L::Run)),
    // Answered 501 whoever asks.
    r(M, "POST", "/artifacts/presigned-upload-url", Authenticated),
    r(M, "POST", "/artifacts/presigned-download-url", Authenticated),
    // Logged models follow their experiment
    r(
        M,
        "GET",
        "/logged-models/{model_id}/artifacts/directories",
        On(Read, L::LoggedModel),
    ),
    r(M, "POST", "/logged-models", On(Edit, L::Experiment)),
    r(M, "POST", "/logged-models/search", Search(Filter::LoggedModels)),
    r(M, "GET", "/logged-models/{model_id}", On(Read, L::LoggedModel)),
    r(M, "PATCH", "/logged-models/{model_id}", On(Edit, L::LoggedModel)),
    r(M, "DELETE", "/logged-models/{model_id}", On(Manage, L::LoggedModel)),
    r(M, "PATCH", "/logged-models/{model_id}/tags", On(Edit, L::LoggedModel)),
    r(
        M,
        "DELETE",
        "/logged-models/{model_id}/tags/{tag_key}",
        On(Edit, L::LoggedModel),
    ),
    r(M, "POST", "/logged-models/{model_id}/params", On(Edit, L::LoggedModel)),
    // Registry: versions follow their registered model
    r(
        M,
        "POST",
        "/registered-models/create",
        Create(ResourceKind::RegisteredModel),
    ),
    r(M, "GET", "/registered-models/get", On(Read, L::ModelName)),
    r(M, "POST", "/registered-models/rename", On(Edit, L::ModelName)),
    r(M, "PATCH", "/registered-models/update", On(Edit, L::ModelName)),
    r(M, "DELETE", "/registered-models/delete", On(Manage, L::ModelName)),
    r(M, "GET", "/registered-models/search", Search(Filter::RegisteredModels)),
    r(M, "POST", "/registered-models/search", Search(Filter::RegisteredModels)),
    r(M, "GET", "/registered-models/list", Search(Filter::RegisteredModels)),
    r(
        M,
        "POST",
        "/registered-models/get-latest-versions",
        On(Read, L::ModelName),
    ),
    r(
        M,
        "GET",
        "/registered-models/get-latest-versions",
        On(Read, L::ModelName),
    ),
    r(M, "POST", "/registered-models/set-tag", On(Edit, L::ModelName)),
    r(M, "DELETE", "/registered-models/delete-tag", On(Edit, L::ModelName)),
    r(M, "POST", "/registered-models/alias", On(Edit, L::ModelName)),
    r(M, "DELETE", "/registered-models/alias", On(Edit, L::ModelName)),
    r(M, "GET", "/registered-models/alias", On(Read, L::ModelName)),
    r(M, "POST", "/model-versions/create", On(Edit, L::ModelName)),
    r(M, "GET", "/model-versions/get", On(Read, L::ModelName)),
    r(M, "PATCH", "/model-versions/update", On(Edit, L::ModelName)),
    r(M, "DELETE", "/model-versions/delete", On(Manage, L::ModelName)),
    r(M, "POST", "/model-versions/transition-stage", On(Edit, L::ModelName)),
    r(M, "GET", "/model-versions/search", Search(Filter::ModelVersions)),
    r(M, "POST", "/model-versions/search", Search(Filter::ModelVersions)),
    r(M, "GET", "/model-versions/get-download-uri", On(Read, L::ModelName)),
    r(M, "POST", "/model-versions/set-tag", On(Edit, L::ModelName)),
    r(M, "DELETE", "/model-versions/delete-tag", On(Edit, L::ModelName)),
    // Users (MLflow's /api/2.0/mlflow/users/*)
    r(M, "POST", "/users/create", Admin),
    r(M, "GET", "/users/get", AdminOrSelf),
    r(M, "GET", "/users/current", Authenticated),
    r(M, "GET", "/users/list", Authenticated),
    r(M, "PATCH", "/users/update-password", AdminOrSelf),
    r(M, "PATCH", "/users/update-admin", Admin),
    r(M, "DELETE", "/users/delete", Admin),
    // Per-user grants (MLflow's /api/3.0/mlflow/users/permissions/*)
    r(R, "POST", "/api/3.0/mlflow/users/permissions/grant", ManageGrantTarget),
    r(R, "POST", "/api/3.0/mlflow/users/permissions/revoke", ManageGrantTarget),
    r(R, "GET", "/api/3.0/mlflow/users/permissions/get", AdminOrSelf),
    r(R, "GET", "/api/3.0/mlflow/users/permissions/list", AdminOrSelf),
    r(R, "GET", "/api/3.0/mlflow/users/current/permissions", Authenticated),
    r(
        R,
        "POST",
        "/ajax-api/3.0/mlflow/users/permissions/grant",
        ManageGrantTarget,
    ),
    r(
        R,
        "POST",
        "/ajax-api/3.0/mlflow/users/permissions/revoke",
        ManageGrantTarget,
    ),
    r(R, "GET", "/ajax-api/3.0/mlflow/users/permissions/get", AdminOrSelf),
    r(R, "GET", "/ajax-api/3.0/mlflow/users/permissions/list", AdminOrSelf),
    r(
        R,
        "GET",
        "/ajax-api/3.0/mlflow/users/current/permissions",
        Authenticated,
    ),
    // Roles (MLflow's /api/3.0/mlflow/roles/*): one workspace, `default`
    r(R, "POST", "/api/3.0/mlflow/roles/create", RoleAdmin),
    r(R, "POST", "/ajax-api/3.0/mlflow/roles/create", RoleAdmin),
    r(R, "GET", "/api/3.0/mlflow/roles/get", RoleViewer),
    r(R, "GET", "/ajax-api/3.0/mlflow/roles/get", RoleViewer),
    r(R, "GET", "/api/3.0/mlflow/roles/list", RoleViewer),
    r(R, "GET", "/ajax-api/3.0/mlflow/roles/list", RoleViewer),
    r(R, "PATCH", "/api/3.0/mlflow/roles/update", RoleAdmin),
    r(R, "PATCH", "/ajax-api/3.0/mlflow/roles/update", RoleAdmin),
    r(R, "DELETE", "/api/3.0/mlflow/roles/delete", RoleAdmin),
    r(R, "DELETE", "/ajax-api/3.0/mlflow/roles/delete", RoleAdmin),
    r(R, "POST", "/api/3.0/mlflow/roles/permissions/add", RoleAdmin),
    r(R, "POST", "/ajax-api/3.0/mlflow/roles/permissions/add", RoleAdmin),
    r(R, "DELETE", "/api/3.0/mlflow/roles/permissions/remove", RoleAdmin),
    r(R, "DELETE", "/ajax-api/3.0/mlflow/roles/permissions/remove", RoleAdmin),
    r(R, "GET", "/api/3.0/mlflow/roles/permissions/list", RoleViewer),
    r(R, "GET", "/ajax-api/3.0/mlflow/roles/permissions/list", RoleViewer),
    r(R, "PATCH", "/api/3.0/mlflow/roles/permissions/update", RoleAdmin),
    r(R, "PATCH", "/ajax-api/3.0/mlflow/roles/permissions/update", RoleAdmin),
    r(R, "POST", "/api/3.0/mlflow/roles/assign", RoleAdmin),
    r(R, "POST", "/ajax-api/3.0/mlflow/roles/assign", RoleAdmin),
    r(R, "DELETE", "/api/3.0/mlflow/roles/unassign", RoleAdmin),
    r(R, "DELETE", "/ajax-api/3.0/mlflow/roles/unassign", RoleAdmin),
    r(R, "GET", "/api/3.0/mlflow/users/roles/list", AdminOrSelf),
    r(R, "GET", "/ajax-api/3.0/mlflow/users/roles/list", AdminOrSelf),
    r(R, "GET", "/api/3.0/mlflow/roles/users/list", RoleAdmin),
    r(R, "GET", "/ajax-api/3.0/mlflow/roles/users/list", RoleAdmin),
    // Personal access tokens: each user's own
    r(R, "POST", "/api/v1/tokens", Authenticated),
    r(R, "GET", "/api/v1/tokens", Authenticated),
    r(R, "DELETE", "/api/v1/tokens/{token_id}", Authenticated),
    // The UI's session (session.rs) and what the caller may do, to hide the rest
    r(R, "POST", "/api/v1/session", Login),
    r(R, "GET", "/api/v1/session", Authenticated),
    r(R, "DELETE", "/api/v1/session", Authenticated),
    r(R, "GET", "/api/v1/permissions", Authenticated),
    // The artifact proxy: `<experiment_id>/<run_id>/artifacts/…` follows the experiment
    r(A, "GET", "/artifacts", On(Read, L::ArtifactListing)),
    r(A, "GET", "/artifacts/{*path}", On(Read, L::ArtifactPath)),
    r(A, "PUT", "/artifacts/{*path}", On(Edit, L::ArtifactPath)),
    r(A, "DELETE", "/artifacts/{*path}", On(Manage, L::ArtifactPath)),
    r(A, "POST", "/mpu/create/{*path}", Authenticated),
    r(A, "POST", "/mpu/complete/{*path}", Authenticated),
    r(A, "POST", "/mpu/abort/{*path}", Authenticated),
    r(A, "GET", "/presigned/{*path}", Authenticated),
    // Jobs
    r(R, "POST", "/api/v1/jobs", Jobs),
    r(R, "GET", "/api/v1/jobs", Jobs),
    r(R, "GET", "/api/v1/jobs/{job_id}", Jobs),
    r(R, "POST", "/api/v1/jobs/{job_id}/cancel", Jobs),
    r(R, "GET", "/api/v1/jobs/{job_id}/logs", Jobs),
    // Sweeps (each trial is a job of the sweep's creator)
    r(R, "POST", "/api/v1/sweeps", Sweeps),
    r(R, "GET", "/api/v1/sweeps", Sweeps),
    r(R, "GET", "/api/v1/sweeps/{sweep_id}", Sweeps),
    r(R, "POST", "/api/v1/sweeps/{sweep_id}/cancel", Sweeps),
    // Open: probes, version, and server-info (public in MLflow so a client can read the
    // server's configuration before logging in)
    r(R, "GET", "/api/3.0/mlflow/server-info", Public),
    r(R, "GET", "/ajax-api/3.0/mlflow/server-info", Public),
    r(R, "GET", "/health", Public),
    r(R, "GET", "/version", Public),
    r(R, "GET", "/ready", Public),
    // The UI's files (its API calls are the routes above)
    r(R, "GET", "/", Public),
    r(R, "GET", "/index.html", Public),
    r(R, "GET", "/static/{build}/{*path}", Public),
];

type Table = HashMap<(&'static str, String), Need>;

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = HashMap::new();
        for rule in RULES {
            for prefix in rule.group.prefixes() {
                t.insert((rule.method, format!("{prefix}{}", rule.path)), rule.need);
            }
        }
        t
    })
}

/// Registers `mlp_auth_denied_total` at 0 for every route that needs credentials and both
/// statuses, so that dashboards show 0 rather than "no data" and `increase()` sees the first
/// refusal.
pub fn zero_denied_counters() {
    let mut routes: Vec<&String> = table()
        .iter()
        .filter(|(_, need)| **need != Need::Public)
        .map(|((_, path), _)| path)
        .collect();
    routes.sort();
    routes.dedup();
    for route in routes {
        for status in ["401", "403"] {
            metrics::counter!(crate::metrics::DENIED, "route" => route.clone(), "status" => status).increment(0);
        }
    }
}

fn paths() -> &'static std::collections::HashSet<String> {
    static P: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    P.get_or_init(|| table().keys().map(|(_, p)| p.clone()).collect())
}

/// What `method` on the route template `path` needs; HEAD is GET.
pub fn need(method: &Method, path: &str) -> Option<Need> {
    let m = if method == Method::HEAD { "GET" } else { method.as_str() };
    table().get(&(m, path.to_string())).copied()
}

// ---------------------------------------------------------------------------------------------
// The middleware
// ---------------------------------------------------------------------------------------------

fn unauthenticated() -> Response {
    let mut resp = (
        StatusCode::UNAUTHORIZED,
        Json(json!({
            "error_code": "UNAUTHENTICATED",
            "message": "You are not authenticated. Send HTTP Basic credentials (MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD) or a token as 'Authorization: Bearer' (MLFLOW_TRACKING_TOKEN).",
        })),
    )
        .into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"mlflow\""),
    );
    resp
}

/// 401 rather than 429, which MLflow's client would retry.
fn throttled(wait_secs: u64) -> Response {
    let mut resp = (
        StatusCode::UNAUTHORIZED,
        Json(json!({
            "error_code": "UNAUTHENTICATED",
            "message": format!("Too many failed logins for this user from this address; try again in {wait_secs} s."),
        })),
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"mlflow\""),
    );
    h.insert(header::RETRY_AFTER, HeaderValue::from(wait_secs));
    resp
}

fn denied() -> ApiError {
    ApiError(Error::new(ErrorCode::PermissionDenied, "Permission denied"))
}

/// The fields a rule may need, read the way the handlers read them: the query string on GET,
/// the JSON body on POST/PATCH/PUT, both on DELETE. Decoded into this struct only (unknown
/// fields skipped), never into a JSON tree.
#[derive(Deserialize, Default, Debug)]
#[serde(default)]
struct Fields {
    #[serde(deserialize_with = "de_id")]
    experiment_id: Option<String>,
    #[serde(deserialize_with = "de_id")]
    experiment_name: Option<String>,
    #[serde(deserialize_with = "de_id")]
    run_id: Option<String>,
    #[serde(deserialize_with = "de_id")]
    run_uuid: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_vec_or_one")]
    run_ids: Vec<String>,
    #[serde(deserialize_with = "de_id")]
    name: Option<String>,
    #[serde(deserialize_with = "de_id")]
    new_name: Option<String>,
    #[serde(deserialize_with = "de_id")]
    username: Option<String>,
    #[serde(deserialize_with = "de_id")]
    resource_type: Option<String>,
    #[serde(deserialize_with = "de_id")]
    resource_id: Option<String>,
    #[serde(deserialize_with = "de_id")]
    path: Option<String>,
    #[serde(deserialize_with = "de_id")]
    source_run_id: Option<String>,
    #[serde(deserialize_with = "de_id")]
    source: Option<String>,
}

/// An id as a string or a number (int64 fields travel as either); anything else reads as absent
/// and the handler reports it.
fn de_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

impl Fields {
    fn merge(&mut self, other: Fields) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            experiment_id,
            experiment_name,
            run_id,
            run_uuid,
            name,
            new_name,
            username,
            resource_type,
            resource_id,
            path,
            source_run_id,
            source
        );
        if !other.run_ids.is_empty() {
            self.run_ids = other.run_ids;
        }
    }
}

fn query_fields(query: Option<&str>) -> Fields {
    let mut map = serde_json::Map::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let v = Value::String(v.into_owned());
        match map.get_mut(k.as_ref()) {
            Some(Value::Array(items)) => items.push(v),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, v]);
            }
            None => {
                map.insert(k.into_owned(), v);
            }
        }
    }
    serde_json::from_value(Value::Object(map)).unwrap_or_default()
}

/// Reads the fields, putting the buffered body back into the request for the handler.
async fn read_fields(req: Request, path: &str) -> Result<(Request, Fields), Response> {
    let method = req.method().clone();
    let mut fields = if method == Method::GET || method == Method::DELETE {
        query_fields(req.uri().query())
    } else {
        Fields::default()
    };
    if method == Method::GET {
        return Ok((req, fields));
    }
    let limit = if path.ends_with("/runs/log-inputs") || path.ends_with("/runs/outputs") {
        DATASET_BODY_LIMIT
    } else {
        JSON_BODY_LIMIT
    };
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return Err(ApiError(Error::new(
                ErrorCode::PayloadTooLarge,
                "The request body is larger than this endpoint accepts",
            ))
            .into_response());
        }
    };
    let body_fields: Fields = mlp_core::wire::decode_json_body(&bytes).unwrap_or_default();
    fields.merge(body_fields);
    Ok((Request::from_parts(parts, Body::from(bytes)), fields))
}

fn missing(field: &str) -> Response {
    ApiError(Error::missing(field)).into_response()
}

/// Authenticates and authorizes every routed request, then applies what follows a success: the
/// creator's MANAGE, grants following a rename or delete, search results filtered.
pub async fn enforce(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some(auth) = st.auth.clone() else {
        return next.run(req).await;
    };
    let Some(path) = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()) else {
        return next.run(req).await;
    };
    let Some(need) = need(req.method(), &path) else {
        if paths().contains(&path) {
            // A known route with another method: the router answers 405.
            return next.run(req).await;
        }
        // Fail closed: a route without an entry in the table is a bug, not an open door.
        tracing::error!(route = path, method = %req.method(), "route missing from the authorization table");
        return denied().into_response();
    };
    if need == Public || need == Login {
        return next.run(req).await;
    }
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let basic_user = authorization.and_then(basic_username);
    let addr = crate::http::ClientAddr::of(&req);
    if let Some(user) = &basic_user
        && let Some(wait) = auth.logins.throttled(user, &addr)
    {
        metrics::counter!("mlp_auth_logins_throttled_total").increment(1);
        tracing::warn!(username = user.as_str(), client = addr, "failed logins throttled");
        return crate::session::for_ui(req.headers(), throttled(wait));
    }
    // The UI's session cookie (session.rs), when no Authorization header is sent.
    let session = match crate::session::principal(&auth, req.method(), req.headers()).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let verified = match session {
        Some(p) => Ok(Some(p)),
        None => auth.authenticate(authorization).await,
    };
    let principal = match verified {
        Ok(Some(p)) => {
            if let Some(user) = &basic_user {
                auth.logins.succeeded(user, &addr);
            }
            p
        }
        Ok(None) => {
            if let Some(user) = &basic_user {
                auth.logins.failed(user, &addr);
            }
            return crate::session::for_ui(req.headers(), unauthenticated());
        }
        Err(e) => return ApiError(e).into_response(),
    };
    tracing::Span::current().record("user", principal.username.as_str());
    let mut req = req;
    req.extensions_mut().insert(principal.clone());
    match check(&st, &auth, &principal, need, req, &path).await {
        Ok((req, After::Filter(f))) if !principal.is_admin => filled_search(&auth, &principal, f, req, next).await,
        Ok((req, after)) => {
            let resp = next.run(req).await;
            if !resp.status().is_success() {
                return resp;
            }
            match after {
                After::Nothing => resp,
                // An admin reads everything: nothing to filter.
                After::Filter(_) => resp,
                After::GrantCreator(kind, name) => grant_creator(&auth, &principal, kind, name, resp).await,
                After::GrantTo(user_id, kind, name) => {
                    let owner = Principal {
                        id: user_id,
                        username: String::new(),
                        is_admin: false,
                        scope: None,
                        claim_roles: None,
                    };
                    grant_creator(&auth, &owner, kind, name, resp).await
                }
                After::Renamed(old, new) => {
                    if let Err(e) = auth
                        .store
                        .rename_resource(ResourceKind::RegisteredModel, &old, &new)
                        .await
                    {
                        tracing::error!(error = %e, "grants did not follow a renamed registered model");
                    }
                    auth.forget_grants();
                    resp
                }
                After::Deleted(name) => {
                    if let Err(e) = auth
                        .store
                        .delete_resource_grants(ResourceKind::RegisteredModel, &name)
                        .await
                    {
                        tracing::error!(error = %e, "grants of a deleted registered model were kept");
                    }
                    auth.forget_grants();
                    resp
                }
            }
        }
        Err(resp) => resp,
    }
}

enum After {
    Nothing,
    Filter(Filter),
    /// The kind, and the name when the request carries it (a registered model's).
    GrantCreator(ResourceKind, Option<String>),
    /// The same for another user: a job's submitter, for what the job's token creates.
    GrantTo(i64, ResourceKind, Option<String>),
    Renamed(String, String),
    Deleted(String),
}

async fn check(
    st: &AppState,
    auth: &Auth,
    p: &Principal,
    need: Need,
    req: Request,
    path: &str,
) -> Result<(Request, After), Response> {
    let is = |suffix: &str| path.ends_with(suffix);
    if let Some(scope) = &p.scope {
        return check_scoped(st, auth, scope, need, req, path).await;
    }
    match need {
        Public | Authenticated | Login => Ok((req, After::Nothing)),
        Jobs => check_launch(st, auth, p, req, path, Launch::Jobs).await,
        Sweeps => check_launch(st, auth, p, req, path, Launch::Sweeps).await,
        RoleAdmin | RoleViewer => {
            if p.is_admin {
                return Ok((req, After::Nothing));
            }
            let g = auth.grants(p).await.map_err(|e| ApiError(e).into_response())?;
            if (need == RoleAdmin && g.workspace_admin) || (need == RoleViewer && g.has_role) {
                Ok((req, After::Nothing))
            } else {
                Err(denied().into_response())
            }
        }
        Admin => {
            if p.is_admin {
                Ok((req, After::Nothing))
            } else {
                Err(denied().into_response())
            }
        }
        AdminOrSelf => {
            let (req, f) = read_fields(req, path).await?;
            if p.is_admin || f.username.as_deref() == Some(p.username.as_str()) {
                Ok((req, After::Nothing))
            } else {
                Err(denied().into_response())
            }
        }
        ManageGrantTarget => {
            let (req, f) = read_fields(req, path).await?;
            if p.is_admin {
                return Ok((req, After::Nothing));
            }
            let kind = ResourceKind::parse(f.resource_type.as_deref().unwrap_or(""))
                .map_err(|e| ApiError(e).into_response())?;
            let Some(id) = f.resource_id.filter(|s| !s.is_empty() && s != "*") else {
                return Err(denied().into_response());
            };
            let perm = auth
                .permission(p, kind, &id)
                .await
                .map_err(|e| ApiError(e).into_response())?;
            if perm.allows(Manage) {
                Ok((req, After::Nothing))
            } else {
                Err(denied().into_response())
            }
        }
        Search(f) => Ok((req, After::Filter(f))),
        Create(kind) => {
            if kind == ResourceKind::RegisteredModel {
                let (req, f) = read_fields(req, path).await?;
                Ok((req, After::GrantCreator(kind, f.name)))
            } else {
                Ok((req, After::GrantCreator(kind, None)))
            }
        }
        On(perm, locate) => {
            let (req, f) = on_fields(req, locate, path).await?;
            let after = if is("/registered-models/rename") {
                match (&f.name, &f.new_name) {
                    (Some(old), Some(new)) => After::Renamed(old.clone(), new.clone()),
                    _ => After::Nothing,
                }
            } else if is("/registered-models/delete") {
                f.name.clone().map(After::Deleted).unwrap_or(After::Nothing)
            } else {
                After::Nothing
            };
            if p.is_admin {
                return Ok((req, after));
            }
            let targets = match locate_targets(st, auth, locate, &f).await {
                Ok(t) => t,
                Err(Located::Missing(field)) => return Err(missing(field)),
                // Unknown resources are the handler's to report (404), as MLflow's are.
                Err(Located::Unknown) => return Ok((req, after)),
                Err(Located::AdminOnly) => return Err(denied().into_response()),
                Err(Located::Failed(e)) => return Err(ApiError(e).into_response()),
            };
            for (kind, id) in targets {
                let have = auth
                    .permission(p, kind, &id)
                    .await
                    .map_err(|e| ApiError(e).into_response())?;
                if !have.allows(perm) {
                    // A resource that does not exist is 404, as in MLflow (which looks it up to
                    // find its workspace first); checked only here, on the way to a refusal.
                    if !exists(st, kind, &id).await {
                        return Ok((req, after));
                    }
                    return Err(denied().into_response());
                }
            }
            if is("/model-versions/create") {
                // Registering a version exposes its source to every reader of the registered
                // model, so the caller must be able to read that source's experiment.
                if let Some(exp) = source_experiment(st, auth, &f).await
                    && !auth
                        .permission(p, ResourceKind::Experiment, &exp)
                        .await
                        .map_err(|e| ApiError(e).into_response())?
                        .allows(Read)
                {
                    return Err(denied().into_response());
                }
            }
            Ok((req, after))
        }
    }
}

/// The fields of an `On` rule: the path parameter for logged models and proxied artifacts, the
/// query or body otherwise.
async fn on_fields(req: Request, locate: Locate, path: &str) -> Result<(Request, Fields), Response> {
    match locate {
        L::LoggedModel | L::ArtifactPath => {
            let name = if locate == L::LoggedModel { "model_id" } else { "path" };
            let (mut parts, body) = req.into_parts();
            let value = RawPathParams::from_request_parts(&mut parts, &())
                .await
                .ok()
                .and_then(|ps| ps.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()));
            let fields = Fields {
                path: value,
                ..Fields::default()
            };
            Ok((Request::from_parts(parts, body), fields))
        }
        _ => read_fields(req, path).await,
    }
}

/// A job's token: it writes its own run (metrics, params, tags, status, artifacts, the logged
/// models it creates from that run) and reads its experiment. In the registry it acts with its
/// submitter's permissions, and only to register versions of its own run (creating the
/// registered model if needed, for the submitter, and reading it back). Everything else is
/// refused — other runs' writes, new runs, deletes, users, tokens and jobs.
async fn check_scoped(
    st: &AppState,
    auth: &Auth,
    scope: &JobToken,
    need: Need,
    req: Request,
    path: &str,
) -> Result<(Request, After), Response> {
    let (perm, locate) = match need {
        Search(f) => return Ok((req, After::Filter(f))),
        Create(ResourceKind::RegisteredModel) => {
            let owner = job_owner(auth, scope).await.ok_or_else(|| denied().into_response())?;
            let (req, f) = read_fields(req, path).await?;
            return Ok((req, After::GrantTo(owner.id, ResourceKind::RegisteredModel, f.name)));
        }
        On(perm, locate) if perm != Manage => (perm, locate),
        _ => return Err(denied().into_response()),
    };
    let (req, f) = on_fields(req, locate, path).await?;
    if locate == L::ModelName {
        let Some(owner) = job_owner(auth, scope).await else {
            return Err(denied().into_response());
        };
        let name = f.name.clone().unwrap_or_default();
        let have = auth
            .permission(&owner, ResourceKind::RegisteredModel, &name)
            .await
            .map_err(|e| ApiError(e).into_response())?;
        // The version's source is this run (`run_id`, `runs:/<run>/…`) or a logged model it
        // created (`models:/<model_id>`, what MLflow 3's log_model registers).
        let first = |s: &str, prefix: &str| {
            s.strip_prefix(prefix)
                .and_then(|r| r.trim_start_matches('/').split('/').next())
                .map(str::to_string)
        };
        let source = f.source.clone().unwrap_or_default();
        let own_source = f.run_id.as_deref().is_none_or(|r| r == scope.run_id)
            && match (first(&source, "runs:/"), first(&source, "models:/")) {
                (Some(run), _) => run == scope.run_id,
                (None, Some(model_id)) => st
                    .store
                    .get_logged_model(&model_id, true)
                    .await
                    .is_ok_and(|m| m.info.source_run_id == scope.run_id),
                _ => f.run_id.as_deref() == Some(scope.run_id.as_str()),
            };
        let ok = have.allows(perm) && (perm == Read || (path.ends_with("/model-versions/create") && own_source));
        return if ok {
            Ok((req, After::Nothing))
        } else {
            Err(denied().into_response())
        };
    }
    let run_exp = |id: String| async move { st.store.get_run(&id).await.map(|r| r.info.experiment_id).ok() };
    let model = |id: String| async move { st.store.get_logged_model(&id, true).await.ok().map(|m| m.info) };
    let own_exp = |e: Option<&str>| e == Some(scope.experiment_id.as_str());
    let ok = match locate {
        L::Run => {
            let id = f.run_id.clone().or(f.run_uuid.clone()).unwrap_or_default();
            id == scope.run_id || (perm == Read && own_exp(run_exp(id).await.as_deref()))
        }
        L::Runs => {
            let mut all = perm == Read && !f.run_ids.is_empty();
            for id in &f.run_ids {
                all = all && own_exp(run_exp(id.clone()).await.as_deref());
            }
            all
        }
        L::Experiment => {
            own_exp(f.experiment_id.as_deref())
                && (perm == Read
                    // MLflow 3's log_model creates a logged model from the active run.
                    || (path.ends_with("/logged-models") && f.source_run_id.as_deref() == Some(&scope.run_id)))
        }
        L::ExperimentName => {
            let name = f.experiment_name.clone().unwrap_or_default();
            let e = st
                .store
                .get_experiment_by_name(&name)
                .await
                .ok()
                .map(|e| e.experiment_id);
            perm == Read && own_exp(e.as_deref())
        }
        L::LoggedModel => match model(f.path.clone().unwrap_or_default()).await {
            Some(m) if perm == Read => own_exp(Some(&m.experiment_id)),
            Some(m) => own_exp(Some(&m.experiment_id)) && m.source_run_id == scope.run_id,
            None => false,
        },
        L::ArtifactPath | L::ArtifactListing => {
            let p = f.path.clone().unwrap_or_default();
            let parts: Vec<&str> = p.trim_start_matches('/').split('/').collect();
            if !own_exp(parts.first().copied()) {
                false
            } else if perm == Read {
                true
            } else {
                match (parts.get(1), parts.get(2)) {
                    (Some(run), _) if *run == scope.run_id => true,
                    (Some(&"models"), Some(id)) => model(id.to_string())
                        .await
                        .is_some_and(|m| m.source_run_id == scope.run_id),
                    _ => false,
                }
            }
        }
        L::ModelName => false, // handled above
    };
    if ok {
        Ok((req, After::Nothing))
    } else {
        Err(denied().into_response())
    }
}

/// The jobs and sweeps APIs: both start commands on the workers as their creator, so they share
/// one authorization rule (`check_launch`).
#[derive(Clone, Copy)]
enum Launch {
    Jobs,
    Sweeps,
}

impl Launch {
    fn collection(self) -> &'static str {
        match self {
            Launch::Jobs => "/api/v1/jobs",
            Launch::Sweeps => "/api/v1/sweeps",
        }
    }

    /// Item actions that act on the workers, beyond creating: cancelling (and for jobs, reading
    /// what a command printed).
    fn acts_on_workers(self, path: &str) -> bool {
        match self {
            Launch::Jobs => path.ends_with("/cancel") || path.ends_with("/logs"),
            Launch::Sweeps => path.ends_with("/cancel"),
        }
    }

    /// The experiment a body to create would log into, refused (400, as the handler would) when
    /// the spec is invalid: checked before anything is created, and exactly what the handler
    /// will submit.
    fn experiment_name(self, body: &[u8]) -> Result<Option<String>, Error> {
        fn spec_error(what: &str) -> impl Fn(Error) -> Error + '_ {
            move |e| match e.message.strip_prefix("Invalid request") {
                Some(rest) => Error::invalid(format!("Invalid {what} spec{rest}")),
                None => e,
            }
        }
        match self {
            Launch::Jobs => mlp_core::wire::decode_json_body::<mlp_core::jobs::JobSpec>(body)
                .map_err(spec_error("job"))
                .and_then(|s| s.validate())
                .map(|s| s.experiment_name),
            Launch::Sweeps => mlp_core::wire::decode_json_body::<mlp_core::sweeps::SweepSpec>(body)
                .map_err(spec_error("sweep"))
                .and_then(|s| s.validate())
                .map(|s| s.experiment_name),
        }
    }

    /// The item named by the path and its owner; `None` when there is nothing to check (the
    /// API is off, or the item is missing: the handler answers that).
    async fn owner(self, st: &AppState, parts: &mut axum::http::request::Parts) -> Option<(String, Option<String>)> {
        let param = match self {
            Launch::Jobs => "job_id",
            Launch::Sweeps => "sweep_id",
        };
        let id = RawPathParams::from_request_parts(parts, &())
            .await
            .ok()
            .and_then(|ps| ps.iter().find(|(k, _)| *k == param).map(|(_, v)| v.to_string()))
            .unwrap_or_default();
        let owner = match self {
            Launch::Jobs => st.jobs.as_ref()?.jobs.get_job(&id).await.ok()?.owner,
            Launch::Sweeps => st.sweeps.as_ref()?.store.get_sweep(&id).await.ok()?.owner,
        };
        Some((id, owner))
    }

    fn not_found(self, id: &str) -> Error {
        match self {
            Launch::Jobs => Error::not_found(format!("Job '{id}' not found")),
            Launch::Sweeps => Error::not_found(format!("Sweep '{id}' not found")),
        }
    }
}

/// The jobs and sweeps APIs. Running commands on the workers (creating, cancelling, reading a
/// job's logs) needs the jobs capability: EDIT on an experiment (which creating one gives) is not
/// enough for that; it comes from a role an admin assigns. Creating also needs EDIT on the
/// experiment the job or sweep logs into (MLflow's `can_update`, what creating a run there needs)
/// or none there yet (creating one is open to everyone, as in MLflow). A job or sweep is then its
/// creator's: they see, follow and cancel it, and listing shows each user their own (the handler
/// reads the principal). Admins see and cancel all.
async fn check_launch(
    st: &AppState,
    auth: &Auth,
    p: &Principal,
    req: Request,
    path: &str,
    launch: Launch,
) -> Result<(Request, After), Response> {
    if p.is_admin {
        return Ok((req, After::Nothing));
    }
    let fail = |e: Error| ApiError(e).into_response();
    let creates = req.method() == Method::POST && path == launch.collection();
    if (creates || launch.acts_on_workers(path)) && !auth.may_run_jobs(p).await.map_err(fail)? {
        return Err(no_jobs_capability());
    }
    if creates {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, JSON_BODY_LIMIT).await.unwrap_or_default();
        let req = Request::from_parts(parts, Body::from(bytes.clone()));
        let name = launch.experiment_name(&bytes).map_err(fail)?;
        let id = submit_experiment(st, auth, p, name).await?;
        let have = auth.permission(p, ResourceKind::Experiment, &id).await.map_err(fail)?;
        return if have.allows(Edit) {
            Ok((req, After::Nothing))
        } else {
            Err(denied().into_response())
        };
    }
    if path == launch.collection() {
        return Ok((req, After::Nothing));
    }
    let (mut parts, body) = req.into_parts();
    let owner = launch.owner(st, &mut parts).await;
    let req = Request::from_parts(parts, body);
    match owner {
        // Someone else's is as absent as a missing one: ids are not to be probed.
        Some((id, owner)) if owner.as_deref() != Some(p.username.as_str()) => Err(fail(launch.not_found(&id))),
        _ => Ok((req, After::Nothing)),
    }
}

/// The platform's own role resource type (not MLflow's): a role permission on `jobs` `*` with
/// USE lets the role's users run jobs.
pub const JOBS_RESOURCE_TYPE: &str = "jobs";

fn no_jobs_capability() -> Response {
    ApiError(Error::new(
        ErrorCode::PermissionDenied,
        "Running jobs needs the jobs capability: an admin grants it with a role permission \
         (resource_type 'jobs', resource_pattern '*', permission 'USE') assigned to the user.",
    ))
    .into_response()
}

/// The experiment a job or sweep will log into, by name (the Default one without): created
/// here, as the submitter, with their MANAGE, when missing. Had the job service created it, a
/// concurrent creation by someone else would hand the submitter MANAGE on that user's experiment.
async fn submit_experiment(
    st: &AppState,
    auth: &Auth,
    p: &Principal,
    name: Option<String>,
) -> Result<String, Response> {
    let name = name.filter(|n| !n.trim().is_empty());
    let fail = |e: Error| ApiError(e).into_response();
    let id = match name {
        // The Default experiment.
        None => "0".to_string(),
        Some(n) => match st.store.get_experiment_by_name(&n).await {
            Ok(e) => e.experiment_id,
            // Created here, as the submitter, with their MANAGE, before the job is: had the
            // job service created it, a concurrent creation by someone else would hand the
            // submitter MANAGE on that other user's experiment.
            Err(e) if e.code == ErrorCode::ResourceDoesNotExist => {
                match st.store.create_experiment(&n, None, &[]).await {
                    Ok(id) => {
                        let grant = Grant {
                            user_id: p.id,
                            kind: ResourceKind::Experiment,
                            resource_id: id.clone(),
                            permission: Manage,
                        };
                        auth.store.put_grant(&grant, true).await.map_err(fail)?;
                        auth.forget_grants();
                        id
                    }
                    Err(e) if e.code == ErrorCode::ResourceAlreadyExists => {
                        st.store.get_experiment_by_name(&n).await.map_err(fail)?.experiment_id
                    }
                    Err(e) => return Err(fail(e)),
                }
            }
            Err(e) => return Err(fail(e)),
        },
    };
    Ok(id)
}

/// The experiment a model version's source belongs to: its `run_id`, else the run or logged
/// model named by a `runs:/` or `models:/` source, else a proxied location's experiment.
/// `None` when there is none to check (the handler validates the source itself).
async fn source_experiment(st: &AppState, auth: &Auth, f: &Fields) -> Option<String> {
    let run_exp = |id: String| {
        auth.parent(format!("run:{id}"), async move {
            Ok(st.store.get_run(&id).await?.info.experiment_id)
        })
    };
    if let Some(run) = f.run_id.clone().filter(|r| !r.is_empty()) {
        return run_exp(run).await.ok();
    }
    let source = f.source.as_deref()?;
    if let Some(rest) = source.strip_prefix("runs:/") {
        let run = rest.trim_start_matches('/').split('/').next()?.to_string();
        return run_exp(run).await.ok();
    }
    if let Some(rest) = source.strip_prefix("models:/") {
        let id = rest.trim_start_matches('/').split('/').next()?.to_string();
        // A `models:/name/version` source names a registered model, not a logged model.
        return st
            .store
            .get_logged_model(&id, true)
            .await
            .ok()
            .map(|m| m.info.experiment_id);
    }
    let path = source.strip_prefix("mlflow-artifacts:")?.trim_start_matches('/');
    let first = path.split('/').next()?;
    first.bytes().all(|b| b.is_ascii_digit()).then(|| first.to_string())
}

/// The submitter of a job token's job, as a principal (their own grants and roles apply).
async fn job_owner(auth: &Auth, scope: &JobToken) -> Option<Principal> {
    let owner = scope.owner.as_deref()?;
    auth.store.get_user(owner).await.ok().map(|u| Principal::from(&u))
}

async fn exists(st: &AppState, kind: ResourceKind, id: &str) -> bool {
    let found = match kind {
        ResourceKind::Experiment => st.store.get_experiment(id).await.map(|_| ()),
        ResourceKind::RegisteredModel => st.registry.get_registered_model(id).await.map(|_| ()),
    };
    // Only a definite "no such resource" lets the request through to the handler.
    !matches!(found, Err(e) if e.code == ErrorCode::ResourceDoesNotExist)
}

enum Located {
    Missing(&'static str),
    Unknown,
    AdminOnly,
    Failed(Error),
}

fn or_unknown(e: Error) -> Located {
    if e.code == ErrorCode::ResourceDoesNotExist {
        Located::Unknown
    } else {
        Located::Failed(e)
    }
}

/// The resources a request acts on, as (kind, id) of the grant that governs them.
async fn locate_targets(
    st: &AppState,
    auth: &Auth,
    locate: Locate,
    f: &Fields,
) -> Result<Vec<(ResourceKind, String)>, Located> {
    let run_exp = |id: &str| {
        let id = id.to_string();
        auth.parent(format!("run:{id}"), async move {
            Ok(st.store.get_run(&id).await?.info.experiment_id)
        })
    };
    let exp = |id: String| vec![(ResourceKind::Experiment, id)];
    match locate {
        L::Experiment => f
            .experiment_id
            .clone()
            .filter(|s| !s.is_empty())
            .map(exp)
            .ok_or(Located::Missing("experiment_id")),
        L::ExperimentName => {
            let name = f
                .experiment_name
                .as_deref()
                .ok_or(Located::Missing("experiment_name"))?;
            let e = st.store.get_experiment_by_name(name).await.map_err(or_unknown)?;
            Ok(exp(e.experiment_id))
        }
        L::Run => {
            let id = f
                .run_id
                .as_deref()
                .or(f.run_uuid.as_deref())
                .filter(|s| !s.is_empty())
                .ok_or(Located::Missing("run_id"))?;
            Ok(exp(run_exp(id).await.map_err(or_unknown)?))
        }
        L::Runs => {
            let mut out = Vec::new();
            for id in &f.run_ids {
                out.push((ResourceKind::Experiment, run_exp(id).await.map_err(or_unknown)?));
            }
            Ok(out)
        }
        L::LoggedModel => {
            let id = f.path.as_deref().ok_or(Located::Missing("model_id"))?;
            let lookup = async { Ok(st.store.get_logged_model(id, true).await?.info.experiment_id) };
            Ok(exp(auth
                .parent(format!("model:{id}"), lookup)
                .await
                .map_err(or_unknown)?))
        }
        L::ModelName => f
            .name
            .clone()
            .filter(|s| !s.is_empty())
            .map(|n| vec![(ResourceKind::RegisteredModel, n)])
            .ok_or(Located::Missing("name")),
        L::ArtifactPath | L::ArtifactListing => {
            let path = f.path.as_deref().unwrap_or("").trim_start_matches('/');
            match path.split('/').next() {
                Some(first) if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(exp(first.to_string()))
                }
                // The root, or a location that is not an experiment's: only admins see across
                // experiments.
                _ => Err(Located::AdminOnly),
            }
        }
    }
}

async fn buffered(resp: Response) -> Result<(axum::http::response::Parts, Bytes), Response> {
    let (parts, body) = resp.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => Ok((parts, b)),
        Err(e) => Err(ApiError(Error::internal(format!("cannot read a response: {e}"))).into_response()),
    }
}

fn rebuilt(mut parts: axum::http::response::Parts, v: &Value) -> Response {
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(serde_json::to_vec(v).unwrap_or_default()))
}

async fn grant_creator(
    auth: &Auth,
    p: &Principal,
    kind: ResourceKind,
    name: Option<String>,
    resp: Response,
) -> Response {
    let (id, resp) = match kind {
        ResourceKind::RegisteredModel => (name, resp),
        ResourceKind::Experiment => {
            let (parts, bytes) = match buffered(resp).await {
                Ok(x) => x,
                Err(r) => return r,
            };
            #[derive(Deserialize)]
            struct Created {
                experiment_id: Option<String>,
            }
            let id = serde_json::from_slice::<Created>(&bytes)
                .ok()
                .and_then(|c| c.experiment_id);
            (id, Response::from_parts(parts, Body::from(bytes)))
        }
    };
    if let Some(id) = id {
        let grant = Grant {
            user_id: p.id,
            kind,
            resource_id: id,
            permission: Manage,
        };
        if let Err(e) = auth.store.put_grant(&grant, true).await {
            tracing::error!(error = %e, "the creator's MANAGE grant was not stored");
        }
        auth.forget_grants();
    }
    resp
}

/// Store pages read at most to fill one filtered search page: bounds the work of a caller who
/// may read little of much (a page then comes back short, with a token to go on).
const FILL_MAX_STORE_PAGES: usize = 10;

/// One search request with other `max_results`/`page_token`: in the JSON body (POST) or the
/// query (GET), the rest of the request unchanged.
fn search_request(
    parts: &axum::http::request::Parts,
    body: &Bytes,
    max: Option<usize>,
    token: Option<&str>,
) -> Request {
    let mut parts = parts.clone();
    if parts.method == Method::GET {
        let kept = parts.uri.query().unwrap_or("").to_string();
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(kept.as_bytes()) {
            if k != "max_results" && k != "page_token" {
                q.append_pair(&k, &v);
            }
        }
        if let Some(m) = max {
            q.append_pair("max_results", &m.to_string());
        }
        if let Some(t) = token {
            q.append_pair("page_token", t);
        }
        let q = q.finish();
        let path = parts.uri.path().to_string();
        let uri = if q.is_empty() { path } else { format!("{path}?{q}") };
        if let Ok(uri) = uri.parse() {
            parts.uri = uri;
        }
        return Request::from_parts(parts, Body::from(body.clone()));
    }
    let mut v: Value = serde_json::from_slice(body).unwrap_or_else(|_| json!({}));
    if let Some(o) = v.as_object_mut() {
        match max {
            Some(m) => o.insert("max_results".into(), json!(m)),
            None => o.remove("max_results"),
        };
        match token {
            Some(t) => o.insert("page_token".into(), json!(t)),
            None => o.remove("page_token"),
        };
    }
    let bytes = serde_json::to_vec(&v).unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Request::from_parts(parts, Body::from(bytes))
}

/// A search for a caller who may not read everything: store pages are read and filtered until
/// the page holds `max_results` readable items or the results end. Each store page asks for
/// only as many as are still missing, so no readable item is read beyond the page: the store's
/// own token after the last page read continues exactly there, and every readable item shows
/// once across pages. Without `max_results` the store's page size (the first page's) is used.
async fn filled_search(auth: &Auth, p: &Principal, f: Filter, req: Request, next: Next) -> Response {
    let grants = match auth.grants(p).await {
        Ok(g) => g,
        Err(e) => return ApiError(e).into_response(),
    };
    let (key, kind, ptr) = match f {
        Filter::Experiments => ("experiments", ResourceKind::Experiment, "/experiment_id"),
        Filter::Runs => ("runs", ResourceKind::Experiment, "/info/experiment_id"),
        Filter::LoggedModels => ("models", ResourceKind::Experiment, "/info/experiment_id"),
        Filter::RegisteredModels => ("registered_models", ResourceKind::RegisteredModel, "/name"),
        Filter::ModelVersions => ("model_versions", ResourceKind::RegisteredModel, "/name"),
    };
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, JSON_BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return ApiError(Error::invalid("The request body is too large")).into_response(),
    };
    let asked = |name: &str| -> Option<String> {
        if parts.method == Method::GET {
            form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        } else {
            let v: Value = serde_json::from_slice(&body).ok()?;
            match v.get(name)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        }
    };
    // Unparseable values go to the handler as sent, which answers them with its own error.
    let requested = match asked("max_results") {
        None => None,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                let resp = next.run(Request::from_parts(parts, Body::from(body))).await;
                return filter_page(&grants, key, kind, ptr, resp).await;
            }
        },
    };
    let mut token = asked("page_token").filter(|t| !t.is_empty());
    let mut target = requested;
    let mut items: Vec<Value> = Vec::new();
    let mut last: Option<(axum::http::response::Parts, Value)> = None;
    for _ in 0..FILL_MAX_STORE_PAGES {
        let ask = target.map(|t| t - items.len());
        let req = search_request(&parts, &body, ask, token.as_deref());
        let resp = next.clone().run(req).await;
        if !resp.status().is_success() {
            return resp;
        }
        let (resp_parts, bytes) = match buffered(resp).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
            return Response::from_parts(resp_parts, Body::from(bytes));
        };
        let page = match v.get_mut(key).map(Value::take) {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        let scanned = page.len();
        if target.is_none() {
            target = Some(scanned);
        }
        items.extend(
            page.into_iter()
                .filter(|item| grants.can_read(kind, item.pointer(ptr).and_then(Value::as_str).unwrap_or(""))),
        );
        token = v
            .get("next_page_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        last = Some((resp_parts, v));
        if token.is_none() || scanned == 0 || target.is_some_and(|t| items.len() >= t) {
            break;
        }
    }
    let Some((resp_parts, mut v)) = last else {
        return ApiError(Error::internal("no search page was read")).into_response();
    };
    if let Some(o) = v.as_object_mut() {
        if items.is_empty() {
            o.remove(key);
        } else {
            o.insert(key.into(), Value::Array(items));
        }
        match token {
            Some(t) => o.insert("next_page_token".into(), json!(t)),
            None => o.remove("next_page_token"),
        };
    }
    rebuilt(resp_parts, &v)
}

/// One page filtered, nothing more read (a request the handler will refuse anyway).
async fn filter_page(grants: &Grants, key: &str, kind: ResourceKind, ptr: &str, resp: Response) -> Response {
    if !resp.status().is_success() {
        return resp;
    }
    let (parts, bytes) = match buffered(resp).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if let Some(Value::Array(items)) = v.get_mut(key) {
        items.retain(|item| grants.can_read(kind, item.pointer(ptr).and_then(Value::as_str).unwrap_or("")));
    }
    rebuilt(parts, &v)
}

// ---------------------------------------------------------------------------------------------
// Users, grants and tokens: MLflow's endpoints and ours
// ---------------------------------------------------------------------------------------------

fn auth_of(st: &AppState) -> Result<Arc<Auth>, ApiError> {
    st.auth
        .clone()
        .ok_or_else(|| ApiError(Error::new(ErrorCode::EndpointNotFound, "Authentication is not enabled")))
}

fn caller(req_ext: &axum::http::Extensions) -> Result<Principal, ApiError> {
    req_ext.get::<Principal>().cloned().ok_or_else(unauth_err)
}

fn unauth_err() -> ApiError {
    ApiError(Error::new(ErrorCode::PermissionDenied, "not authenticated"))
}

/// A request's fields for the user and grant endpoints, read like every MLflow handler's.
async fn body<T: serde::de::DeserializeOwned>(req: Request) -> Result<(Principal, T), ApiError> {
    let p = caller(req.extensions())?;
    let input = crate::input::Input::from_request(req, &()).await?;
    Ok((p, input.parse()?))
}

use axum::extract::FromRequest;

#[derive(Deserialize, Default)]
#[serde(default)]
struct UserReq {
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    username: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    password: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    current_password: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_bool")]
    is_admin: Option<bool>,
}

fn user_json(u: &User) -> Value {
    json!({ "id": u.id, "username": u.username, "is_admin": u.is_admin })
}

fn required(v: Option<String>, field: &str) -> Result<String, ApiError> {
    Ok(crate::input::required_str(v, field)?)
}

async fn create_user(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, UserReq) = body(req).await?;
    let (username, password) = match (
        r.username.filter(|s| !s.is_empty()),
        r.password.filter(|s| !s.is_empty()),
    ) {
        (Some(u), Some(p)) => (u, p),
        _ => return Err(ApiError(Error::invalid("Username and password cannot be empty."))),
    };
    validate_username(&username)?;
    validate_password(&password)?;
    let hash = hash_password(&password).await?;
    let user = auth.store.create_user(&username, &hash, false).await?;
    Ok(Json(json!({ "user": user_json(&user) })))
}

async fn get_user(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, UserReq) = body(req).await?;
    let user = auth.store.get_user(&required(r.username, "username")?).await?;
    Ok(Json(json!({ "user": user_json(&user) })))
}

async fn current_user(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let p = caller(req.extensions())?;
    let user = auth.store.get_user(&p.username).await?;
    Ok(Json(json!({ "user": user_json(&user), "is_basic_auth": true })))
}

async fn list_users(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let p = caller(req.extensions())?;
    // As MLflow: each user's roles for admins, workspace admins (one workspace here) and the
    // user themself; others see the users without their roles.
    let sees_all = p.is_admin || auth.grants(&p).await?.workspace_admin;
    let mut users = Vec::new();
    for u in auth.store.list_users().await? {
        let roles: Vec<Value> = if sees_all || u.id == p.id {
            auth.store.list_user_roles(u.id).await?.iter().map(role_json).collect()
        } else {
            Vec::new()
        };
        users.push(json!({ "id": u.id, "username": u.username, "is_admin": u.is_admin, "roles": roles }));
    }
    Ok(Json(json!({ "users": users })))
}

async fn update_password(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (p, r): (_, UserReq) = body(req).await?;
    let username = required(r.username, "username")?;
    let password = required(r.password, "password")?;
    // Changing one's own password asks for the current one, so that a stolen session or token
    // cannot lock the owner out (MLflow 3.17.2 does the same).
    if username == p.username {
        let current = r
            .current_password
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::invalid("Current password is required when changing your own password."))?;
        let user = auth.store.get_user(&username).await?;
        if !verify_password(current.clone(), user.password_hash).await {
            return Err(ApiError(Error::invalid("Current password does not match.")));
        }
        if current == password {
            return Err(ApiError(Error::invalid(
                "New password must differ from the current password.",
            )));
        }
    }
    validate_password(&password)?;
    let hash = hash_password(&password).await?;
    auth.store.update_user(&username, Some(&hash), None).await?;
    auth.forget_all();
    Ok(Json(json!({})))
}

async fn update_admin(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, UserReq) = body(req).await?;
    let username = required(r.username, "username")?;
    let is_admin = r.is_admin.ok_or_else(|| Error::missing("is_admin"))?;
    auth.store.update_user(&username, None, Some(is_admin)).await?;
    auth.forget_all();
    Ok(Json(json!({})))
}

async fn delete_user(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (p, r): (_, UserReq) = body(req).await?;
    let username = required(r.username, "username")?;
    if username == p.username {
        return Err(ApiError(Error::new(
            ErrorCode::BadRequest,
            "Users cannot delete their own account. Ask another admin to delete this user instead.",
        )));
    }
    auth.store.delete_user(&username).await?;
    auth.forget_grants();
    auth.forget_all();
    Ok(Json(json!({})))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GrantReq {
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    username: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    resource_type: Option<String>,
    #[serde(deserialize_with = "de_id")]
    resource_id: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    permission: Option<String>,
}

async fn grant_target(auth: &Auth, r: &mut GrantReq) -> Result<(User, ResourceKind, String), ApiError> {
    let user = auth.store.get_user(&required(r.username.take(), "username")?).await?;
    let kind = ResourceKind::parse(&required(r.resource_type.take(), "resource_type")?)?;
    let id = required(r.resource_id.take(), "resource_id")?;
    Ok((user, kind, id))
}

async fn grant_permission(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, mut r): (_, GrantReq) = body(req).await?;
    let (user, kind, resource_id) = grant_target(&auth, &mut r).await?;
    let permission = Permission::parse(&required(r.permission, "permission")?)?;
    if permission == Permission::NoPermissions {
        return Err(ApiError(Error::invalid(format!(
            "Invalid permission 'NO_PERMISSIONS' for resource_type='{}'. Resource-level grants accept only: ('DENY', 'EDIT', 'MANAGE', 'READ', 'USE').",
            kind.as_str()
        ))));
    }
    let grant = Grant {
        user_id: user.id,
        kind,
        resource_id,
        permission,
    };
    auth.store.put_grant(&grant, false).await?;
    auth.forget_grants();
    Ok(Json(json!({})))
}

async fn revoke_permission(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, mut r): (_, GrantReq) = body(req).await?;
    let (user, kind, id) = grant_target(&auth, &mut r).await?;
    auth.store.delete_grant(user.id, kind, &id).await?;
    auth.forget_grants();
    Ok(Json(json!({})))
}

async fn get_permission(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, mut r): (_, GrantReq) = body(req).await?;
    let (user, kind, id) = grant_target(&auth, &mut r).await?;
    let perm = auth.permission(&Principal::from(&user), kind, &id).await?;
    // `allowed` is MLflow's `can_use`: USE or more.
    Ok(Json(
        json!({ "allowed": perm.allows(Permission::Use), "permission": perm.as_str() }),
    ))
}

async fn permissions_of(auth: &Auth, user: &User) -> Result<Value, ApiError> {
    let rows: Vec<Value> = auth
        .store
        .list_grants(user.id)
        .await?
        .iter()
        .map(|g| {
            // MLflow keeps direct grants on a synthetic per-user role; the same shape lets its
            // UI and clients read ours.
            json!({
                "role_id": user.id,
                "role_name": format!("__user_{}__", user.id),
                "workspace": "default",
                "resource_type": g.kind.as_str(),
                "resource_pattern": g.resource_id,
                "permission": g.permission.as_str(),
            })
        })
        .collect();
    Ok(json!({ "is_admin": user.is_admin, "permissions": rows }))
}

async fn list_permissions(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, UserReq) = body(req).await?;
    let user = auth.store.get_user(&required(r.username, "username")?).await?;
    Ok(Json(permissions_of(&auth, &user).await?))
}

async fn current_permissions(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let p = caller(req.extensions())?;
    let user = auth.store.get_user(&p.username).await?;
    Ok(Json(permissions_of(&auth, &user).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenReq {
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    name: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(deserialize_with = "mlp_core::wire::de_opt_i64")]
    expires_at: Option<i64>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_i64")]
    expires_in_days: Option<i64>,
}

fn token_json(t: &Token) -> Value {
    json!({ "id": t.id, "name": t.name, "created_at": t.created_at, "expires_at": t.expires_at })
}

async fn create_token(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (p, r): (_, TokenReq) = body(req).await?;
    let name = required(r.name, "name")?;
    if name.len() > mlp_core::auth::MAX_NAME_LEN || name.contains('\0') {
        return Err(ApiError(Error::invalid(
            "A token's name must be at most 255 characters, without NUL.",
        )));
    }
    let now = now_ms();
    let expires_at = match (r.expires_at, r.expires_in_days) {
        (Some(_), Some(_)) => {
            return Err(ApiError(Error::invalid(
                "Give expires_at or expires_in_days, not both.",
            )));
        }
        (Some(t), None) => Some(t),
        (None, Some(d)) if (1..=3650).contains(&d) => Some(now + d * 86_400_000),
        (None, Some(_)) => return Err(ApiError(Error::invalid("expires_in_days must be between 1 and 3650."))),
        (None, None) => None,
    };
    if expires_at.is_some_and(|t| t <= now) {
        return Err(ApiError(Error::invalid("expires_at must be in the future.")));
    }
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
    let token = Token {
        id: uuid::Uuid::now_v7().simple().to_string(),
        user_id: p.id,
        name,
        created_at: now,
        expires_at,
    };
    auth.store.create_token(&token, &token_hash(&secret)).await?;
    // The secret is shown this once; only its hash is stored.
    Ok(Json(json!({ "token": token_json(&token), "secret": secret })))
}

async fn list_tokens(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let p = caller(req.extensions())?;
    let tokens: Vec<Value> = auth
        .store
        .list_tokens(p.id)
        .await?
        .iter()
        // Web sessions are tokens too, but not the user's to manage here.
        .filter(|t| !t.id.starts_with(crate::session::ID_PREFIX))
        .map(token_json)
        .collect();
    Ok(Json(json!({ "tokens": tokens })))
}

async fn revoke_token(
    State(st): State<AppState>,
    crate::input::ApiPath(token_id): crate::input::ApiPath<String>,
    req: Request,
) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let p = caller(req.extensions())?;
    auth.store.delete_token(p.id, &token_id).await?;
    auth.forget_all();
    Ok(Json(json!({})))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RoleReq {
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    name: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    workspace: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    description: Option<String>,
    #[serde(deserialize_with = "de_id")]
    role_id: Option<String>,
    #[serde(deserialize_with = "de_id")]
    role_permission_id: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    resource_type: Option<String>,
    #[serde(deserialize_with = "de_id")]
    resource_pattern: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    permission: Option<String>,
    #[serde(deserialize_with = "mlp_core::wire::de_opt_string")]
    username: Option<String>,
}

fn int_param(v: Option<String>, field: &str) -> Result<i64, ApiError> {
    let v = required(v, field)?;
    v.trim().parse::<i64>().map_err(|_| {
        ApiError(Error::invalid(format!(
            "Invalid value '{v}' for parameter '{field}': expected an integer."
        )))
    })
}

fn role_json(r: &Role) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "workspace": r.workspace,
        "description": r.description,
        "permissions": r.permissions.iter().map(role_permission_json).collect::<Vec<_>>(),
    })
}

fn role_permission_json(p: &RolePermission) -> Value {
    json!({
        "id": p.id,
        "role_id": p.role_id,
        "resource_type": p.resource_type,
        "resource_pattern": p.resource_pattern,
        "permission": p.permission.as_str(),
    })
}

fn assignment_json(a: &RoleAssignment) -> Value {
    json!({ "id": a.id, "user_id": a.user_id, "role_id": a.role_id })
}

/// MLflow's resource types; the ones this server has grants on are accepted.
const MLFLOW_RESOURCE_TYPES: &[&str] = &[
    "assessment",
    "experiment",
    "gateway_endpoint",
    "gateway_model_definition",
    "gateway_secret",
    "logged_model",
    "mcp_server",
    "prompt",
    "prompt_version",
    "registered_model",
    "registered_model_version",
    "review_queue",
    "run",
    "scorer",
    "scorer_version",
    "trace",
    "workspace",
];

/// MLflow's `_validate_permission_for_resource_type` and `_validate_resource_pattern`.
fn role_grant(resource_type: &str, pattern: &str, permission: &str) -> Result<Permission, ApiError> {
    let permission = Permission::parse(permission)?;
    if resource_type == JOBS_RESOURCE_TYPE {
        if permission != Permission::Use || pattern != "*" {
            return Err(ApiError(Error::invalid(format!(
                "Invalid grant for resource_type='jobs': the jobs capability is granted with resource_pattern '*' and permission 'USE' (got '{pattern}', '{}').",
                permission.as_str()
            ))));
        }
        return Ok(permission);
    }
    if !MLFLOW_RESOURCE_TYPES.contains(&resource_type) {
        return Err(ApiError(Error::invalid(format!(
            "Invalid resource type '{resource_type}'. Valid resource types are: {MLFLOW_RESOURCE_TYPES:?}"
        ))));
    }
    if !["workspace", "experiment", "registered_model"].contains(&resource_type) {
        return Err(ApiError(Error::invalid(format!(
            "resource_type '{resource_type}' is not supported: this server has role permissions on 'workspace', 'experiment', 'registered_model' and its own 'jobs'"
        ))));
    }
    if resource_type == "workspace" {
        if !matches!(permission, Permission::Use | Permission::Manage) {
            return Err(ApiError(Error::invalid(format!(
                "Invalid permission '{}' for resource_type='workspace'. Workspace-wide grants accept only: ('MANAGE', 'USE').",
                permission.as_str()
            ))));
        }
        if pattern != "*" {
            return Err(ApiError(Error::invalid(format!(
                "Invalid resource_pattern '{pattern}' for resource_type='workspace'. This resource type supports only wildcard ('*') grants."
            ))));
        }
    } else if permission == Permission::NoPermissions {
        return Err(ApiError(Error::invalid(format!(
            "Invalid permission 'NO_PERMISSIONS' for resource_type='{resource_type}'. Resource-level grants accept only: ('DENY', 'EDIT', 'MANAGE', 'READ', 'USE')."
        ))));
    }
    Ok(permission)
}

fn non_empty(v: Option<String>, message: &str) -> Result<String, ApiError> {
    v.filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError(Error::invalid(message.to_string())))
}

async fn create_role(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    let name = non_empty(r.name, "Role name cannot be empty.")?;
    let workspace = non_empty(r.workspace, "Workspace cannot be empty.")?;
    if name.starts_with("__user_") {
        return Err(ApiError(Error::invalid(format!(
            "Role name '{name}' is reserved for per-user grants."
        ))));
    }
    if workspace != DEFAULT_WORKSPACE {
        return Err(ApiError(Error::invalid(format!(
            "Workspace '{workspace}' does not exist: this server has one workspace, '{DEFAULT_WORKSPACE}'."
        ))));
    }
    if name.len() > mlp_core::auth::MAX_NAME_LEN || name.contains('\0') {
        return Err(ApiError(Error::invalid(
            "A role name must be at most 255 characters, without NUL.",
        )));
    }
    let role = auth
        .store
        .create_role(&name, &workspace, r.description.as_deref())
        .await?;
    Ok(Json(json!({ "role": role_json(&role) })))
}

async fn get_role(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    let role = auth.store.get_role(int_param(r.role_id, "role_id")?).await?;
    Ok(Json(json!({ "role": role_json(&role) })))
}

async fn list_roles(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    let roles = auth.store.list_roles().await?;
    let roles: Vec<Value> = roles
        .iter()
        .filter(|role| r.workspace.as_deref().is_none_or(|w| w == role.workspace))
        .map(role_json)
        .collect();
    Ok(Json(json!({ "roles": roles })))
}

async fn update_role(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    let id = int_param(r.role_id, "role_id")?;
    if r.name.is_none() && r.description.is_none() {
        return Err(ApiError(Error::invalid(
            "At least one of 'name' or 'description' must be provided to update a role.",
        )));
    }
    if r.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError(Error::invalid("Role name cannot be empty.")));
    }
    let role = auth
        .store
        .update_role(id, r.name.as_deref(), r.description.as_deref())
        .await?;
    Ok(Json(json!({ "role": role_json(&role) })))
}

async fn delete_role(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    auth.store.delete_role(int_param(r.role_id, "role_id")?).await?;
    auth.forget_grants();
    Ok(Json(json!({})))
}

async fn add_role_permission(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    let role_id = int_param(r.role_id, "role_id")?;
    let resource_type = required(r.resource_type, "resource_type")?;
    let pattern = required(r.resource_pattern, "resource_pattern")?;
    let permission = role_grant(&resource_type, &pattern, &required(r.permission, "permission")?)?;
    let rp = auth
        .store
        .add_role_permission(role_id, &resource_type, &pattern, permission)
        .await?;
    auth.forget_grants();
    Ok(Json(json!({ "role_permission": role_permission_json(&rp) })))
}

async fn remove_role_permission(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    auth.store
        .remove_role_permission(int_param(r.role_permission_id, "role_permission_id")?)
        .await?;
    auth.forget_grants();
    Ok(Json(json!({})))
}

async fn list_role_permissions(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    let role = auth.store.get_role(int_param(r.role_id, "role_id")?).await?;
    let perms: Vec<Value> = role.permissions.iter().map(role_permission_json).collect();
    Ok(Json(json!({ "role_permissions": perms })))
}

async fn update_role_permission(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    let id = int_param(r.role_permission_id, "role_permission_id")?;
    let current = auth.store.get_role_permission(id).await?;
    let permission = role_grant(
        &current.resource_type,
        &current.resource_pattern,
        &required(r.permission, "permission")?,
    )?;
    let rp = auth.store.update_role_permission(id, permission).await?;
    auth.forget_grants();
    Ok(Json(json!({ "role_permission": role_permission_json(&rp) })))
}

async fn assign_role(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    let user = auth.store.get_user(&required(r.username, "username")?).await?;
    let a = auth
        .store
        .assign_role(user.id, int_param(r.role_id, "role_id")?)
        .await?;
    auth.forget_grants();
    Ok(Json(json!({ "assignment": assignment_json(&a) })))
}

async fn unassign_role(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    let user = auth.store.get_user(&required(r.username, "username")?).await?;
    auth.store
        .unassign_role(user.id, int_param(r.role_id, "role_id")?)
        .await?;
    auth.forget_grants();
    Ok(Json(json!({})))
}

async fn list_user_roles(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    let user = auth.store.get_user(&required(r.username, "username")?).await?;
    let roles: Vec<Value> = auth
        .store
        .list_user_roles(user.id)
        .await?
        .iter()
        .map(role_json)
        .collect();
    Ok(Json(json!({ "roles": roles })))
}

async fn list_role_users(State(st): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let auth = auth_of(&st)?;
    let (_, r): (_, RoleReq) = body(req).await?;
    let a: Vec<Value> = auth
        .store
        .list_role_users(int_param(r.role_id, "role_id")?)
        .await?
        .iter()
        .map(assignment_json)
        .collect();
    Ok(Json(json!({ "assignments": a })))
}

/// The user, grant and token endpoints; mounted only with auth on, so that a server without it
/// answers them 404 as before.
pub fn routes() -> axum::Router<AppState> {
    let users = axum::Router::new()
        .route("/users/create", post(create_user))
        .route("/users/get", get(get_user))
        .route("/users/current", get(current_user))
        .route("/users/list", get(list_users))
        .route("/users/update-password", patch(update_password))
        .route("/users/update-admin", patch(update_admin))
        .route("/users/delete", delete(delete_user));
    let grants = axum::Router::new()
        .route("/users/permissions/grant", post(grant_permission))
        .route("/users/permissions/revoke", post(revoke_permission))
        .route("/users/permissions/get", get(get_permission))
        .route("/users/permissions/list", get(list_permissions))
        .route("/users/current/permissions", get(current_permissions))
        .route("/roles/create", post(create_role))
        .route("/roles/get", get(get_role))
        .route("/roles/list", get(list_roles))
        .route("/roles/update", patch(update_role))
        .route("/roles/delete", delete(delete_role))
        .route("/roles/permissions/add", post(add_role_permission))
        .route("/roles/permissions/remove", delete(remove_role_permission))
        .route("/roles/permissions/list", get(list_role_permissions))
        .route("/roles/permissions/update", patch(update_role_permission))
        .route("/roles/assign", post(assign_role))
        .route("/roles/unassign", delete(unassign_role))
        .route("/users/roles/list", get(list_user_roles))
        .route("/roles/users/list", get(list_role_users));
    axum::Router::new()
        .nest("/api/2.0/mlflow", users.clone())
        .nest("/ajax-api/2.0/mlflow", users)
        .nest("/api/3.0/mlflow", grants.clone())
        .nest("/ajax-api/3.0/mlflow", grants)
        .route("/api/v1/tokens", post(create_token).get(list_tokens))
        .route("/api/v1/tokens/{token_id}", delete(revoke_token))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.route(…)` declared in the server's source, as (method, full template). Reading
    /// the source is what lets this test see a route the moment someone adds it.
    fn declared_routes() -> Vec<(String, String)> {
        let sources = [
            ("lib.rs", include_str!("lib.rs")),
            ("auth.rs", include_str!("auth.rs")),
            ("ui.rs", include_str!("ui.rs")),
            ("session.rs", include_str!("session.rs")),
        ];
        let mut out = Vec::new();
        for (file, src) in sources {
            let mut prefixes: Vec<&str> = vec![""];
            for chunk in src.split("\nfn ").chain(src.split("\npub fn ")).skip(1) {
                let name = chunk.split('(').next().unwrap_or("");
                prefixes = match (file, name) {
                    ("lib.rs", "mlflow_routes" | "registry_routes") => Group::Mlflow.prefixes().to_vec(),
                    ("lib.rs", "artifact_routes") => Group::Artifacts.prefixes().to_vec(),
                    // Nested per path below.
                    ("auth.rs", "routes") => vec!["auth"],
                    _ => vec![""],
                };
                let body = chunk.split("\n}\n").next().unwrap_or("");
                for route in body.split(".route(").skip(1) {
                    let Some(path) = route.split('"').nth(1) else { continue };
                    if !path.starts_with('/') {
                        continue;
                    }
                    let rest = &route[..route.find("\n        .route(").unwrap_or(route.len())];
                    for (token, method) in [
                        ("get(", "GET"),
                        ("post(", "POST"),
                        ("put(", "PUT"),
                        ("patch(", "PATCH"),
                        ("delete(", "DELETE"),
                    ] {
                        let found = rest.match_indices(token).any(|(i, _)| {
                            let before = rest[..i].chars().last().unwrap_or(' ');
                            !before.is_alphanumeric() && before != '_'
                        });
                        let nested: Vec<&str> = match (prefixes.as_slice(), path) {
                            (["auth"], p)
                                if p.starts_with("/users/permissions")
                                    || p.starts_with("/users/current/")
                                    || p.starts_with("/users/roles/")
                                    || p.starts_with("/roles/") =>
                            {
                                vec!["/api/3.0/mlflow", "/ajax-api/3.0/mlflow"]
                            }
                            (["auth"], p) if p.starts_with("/users/") => Group::Mlflow.prefixes().to_vec(),
                            (["auth"], _) => vec![""],
                            (other, _) => other.to_vec(),
                        };
                        if found {
                            for prefix in &nested {
                                out.push((method.to_string(), format!("{prefix}{path}")));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    #[tokio::test]
    async fn a_user_without_a_password_costs_a_verification_and_never_matches() {
        // An OIDC user's marker: verified against the dummy argon2 hash, so a refusal takes as
        // long as for a local user; never accepted, whatever the password.
        let (h, usable) = hash_to_verify(crate::oidc::OIDC_PASSWORD_HASH);
        assert!(!usable);
        assert_eq!(h, dummy_hash());
        assert!(h.starts_with("$argon2"), "the dummy is a real hash to verify against");
        assert!(
            !verify_password(
                "no such user, no such password".into(),
                crate::oidc::OIDC_PASSWORD_HASH.into()
            )
            .await
        );
        let real = hash_password("a-real-password-1").await.unwrap();
        assert_eq!(hash_to_verify(&real), (real.as_str(), true));
        assert!(verify_password("a-real-password-1".into(), real).await);
    }

    #[test]
    fn every_route_has_an_entry_in_the_authorization_table() {
        let routes = declared_routes();
        // The parser itself must see the routes, or this test proves nothing.
        assert!(routes.len() > 100, "only {} routes found", routes.len());
        for probe in [
            ("POST", "/api/2.0/mlflow/runs/log-batch"),
            ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{*path}"),
            ("POST", "/api/v1/jobs/{job_id}/cancel"),
            ("DELETE", "/api/v1/tokens/{token_id}"),
            ("POST", "/api/v1/session"),
            ("PATCH", "/ajax-api/2.0/mlflow/users/update-admin"),
            ("GET", "/api/3.0/mlflow/users/permissions/get"),
            ("GET", "/health"),
        ] {
            assert!(
                routes.iter().any(|(m, p)| m == probe.0 && p == probe.1),
                "the route parser missed {probe:?}"
            );
        }
        let missing: Vec<_> = routes
            .iter()
            .filter(|(m, p)| need(&Method::from_bytes(m.as_bytes()).unwrap(), p).is_none())
            .collect();
        assert!(missing.is_empty(), "routes without an authorization rule: {missing:#?}");
    }

    #[test]
    fn writes_need_more_than_read_and_nothing_private_is_public() {
        for rule in RULES {
            // MLflow's get-latest-versions is a POST that only reads.
            if rule.method != "GET" && !rule.path.ends_with("/get-latest-versions") {
                assert!(
                    !matches!(rule.need, Public | On(Read, _)),
                    "{} {} changes state but needs only {:?}",
                    rule.method,
                    rule.path,
                    rule.need
                );
            }
            if rule.need == Public {
                assert!(
                    [
                        "/health",
                        "/version",
                        "/ready",
                        "/",
                        "/index.html",
                        "/static/{build}/{*path}"
                    ]
                    .contains(&rule.path)
                        || rule.path.ends_with("/server-info"),
                    "{} is public",
                    rule.path
                );
            }
        }
    }

    #[test]
    fn grants_fall_back_to_wildcard_then_default() {
        let mut map = HashMap::new();
        map.insert((ResourceKind::Experiment, "1".to_string()), Permission::Deny);
        map.insert(
            (ResourceKind::RegisteredModel, "*".to_string()),
            Permission::NoPermissions,
        );
        let g = Grants {
            map,
            default: Permission::Read,
            ..Grants::default()
        };
        assert!(!g.can_read(ResourceKind::Experiment, "1"));
        assert!(g.can_read(ResourceKind::Experiment, "2"));
        assert!(!g.can_read(ResourceKind::RegisteredModel, "m"));
    }

    #[test]
    fn query_fields_read_ids_and_lists() {
        let f = query_fields(Some("run_id=abc&run_ids=a&run_ids=b&experiment_id=7"));
        assert_eq!(f.run_id.as_deref(), Some("abc"));
        assert_eq!(f.run_ids, ["a", "b"]);
        assert_eq!(f.experiment_id.as_deref(), Some("7"));
        let body: Fields = mlp_core::wire::decode_json_body(br#"{"experiment_id": 7, "name": "m"}"#).unwrap();
        assert_eq!(body.experiment_id.as_deref(), Some("7"));
        assert_eq!(body.name.as_deref(), Some("m"));
    }

    #[test]
    fn failed_logins_throttle_the_pair_then_the_address() {
        let l = LoginLimiter::default();
        for _ in 0..LOGIN_FAILURES_PER_USER - 1 {
            l.failed("alice", "10.0.0.1");
        }
        assert_eq!(l.throttled("alice", "10.0.0.1"), None);
        l.failed("alice", "10.0.0.1");
        assert!(l.throttled("alice", "10.0.0.1").is_some_and(|s| s <= 300));
        // Another address, or another user from there, is not throttled by alice's pair.
        assert_eq!(l.throttled("alice", "10.0.0.2"), None);
        assert_eq!(l.throttled("bob", "10.0.0.1"), None);
        // Guessing many usernames from one address throttles the address.
        for i in 0..LOGIN_FAILURES_PER_ADDRESS {
            l.failed(&format!("u{i}"), "10.0.0.3");
        }
        assert!(l.throttled("carol", "10.0.0.3").is_some());
        // A success clears the pair (not the address).
        l.succeeded("alice", "10.0.0.1");
        assert_eq!(l.throttled("alice", "10.0.0.1"), None);
        // Memory stays bounded.
        for i in 0..LOGIN_TRACKED_MAX + 10 {
            l.failed("x", &format!("a{i}"));
        }
        assert!(l.failures.lock().unwrap().len() <= LOGIN_TRACKED_MAX + 2);
    }

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(token_hash("x").len(), 64);
        assert_ne!(token_hash("x"), token_hash("y"));
    }
}

//! OIDC single sign-on (issue 14): a bearer value that looks like a JWT is verified against the
//! configured issuer, audience and JWKS, and its claims name the caller and their roles.
//!
//! The JWT handling is written here over `ring` rather than taken from `jsonwebtoken`: that
//! crate verifies through its own crypto back-end (aws-lc-rs, a C build, or the RustCrypto
//! stack), a second copy of primitives the build already has — `ring` is linked for rustls.
//! What is accepted is small enough to read in one sitting: the compact serialization, one
//! signature, an allow-list of algorithms, each bound to the kind of key it needs.
//!
//! Who the caller is: the username claim names a row of the users table, created on the first
//! verified token (with no usable password, so Basic login is impossible for it). The row is
//! what grants (direct ones, and MANAGE on what the user creates) and assigned roles hang on,
//! exactly as for a local user. A username that belongs to a local user (one with a password)
//! is refused: the identity provider must not be able to log in as the bootstrap admin. The
//! roles claim adds the platform roles of those names for as long as the token is valid.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mlp_core::auth::{DEFAULT_WORKSPACE, validate_username};
use mlp_core::{Error, ErrorCode};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::Value;

use crate::auth::{Auth, Principal};

/// What a JIT-provisioned user's password hash holds: not a PHC string, so no password ever
/// verifies against it, and recognisable as "this user signs in through the identity provider".
pub const OIDC_PASSWORD_HASH: &str = "!oidc";
/// Clock skew tolerated on `exp`, `nbf` and `iat` between the identity provider and here.
const LEEWAY_SECS: i64 = 60;
/// A JWKS document is a few keys; anything larger is not one.
const JWKS_MAX_BYTES: usize = 1 << 20;
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);
/// A token signed with a key not in the cached set refetches it (key rotation), at most this
/// often, so that tokens with made-up `kid`s cannot make the server hammer the provider.
const REFETCH_MIN_INTERVAL: Duration = Duration::from_secs(60);
/// The URL's keys are refetched this often even when every `kid` is known (revoked keys).
const JWKS_MAX_AGE: Duration = Duration::from_secs(3600);
/// How often the JWKS file is checked for a change.
const FILE_CHECK_INTERVAL: Duration = Duration::from_secs(10);

pub enum JwksSource {
    File(PathBuf),
    Url(String),
}

pub struct OidcSettings {
    pub issuer: String,
    pub audience: String,
    pub jwks: JwksSource,
    pub username_claim: String,
    pub roles_claim: String,
    /// A value of the roles claim that makes the caller an admin.
    pub admin_role: Option<String>,
}

/// Why a token was refused (logged, never sent: a 401 says no more than "not authenticated").
#[derive(Debug, PartialEq, Eq)]
pub enum Rejected {
    Malformed(&'static str),
    /// `none`, HMAC, or anything else not on the list.
    Algorithm(String),
    UnknownKey,
    /// The header's `alg` does not fit the key's type, curve or declared `alg`.
    KeyMismatch,
    Signature,
    Issuer,
    Audience,
    NoExpiry,
    Expired,
    NotYetValid,
    IssuedInFuture,
    NoUsername,
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub username: String,
    pub roles: Vec<String>,
    pub admin: bool,
    /// Seconds since the epoch.
    pub exp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

enum Material {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { curve: Curve, point: Vec<u8> },
    Ed25519(Vec<u8>),
}

struct Key {
    kid: Option<String>,
    alg: Option<String>,
    material: Material,
}

/// The signing keys of a JWKS document. Keys of other types, or meant for encryption, are left out.
#[derive(Default)]
pub struct Jwks {
    keys: Vec<Key>,
}

fn b64(v: &Value, field: &str) -> Result<Vec<u8>, String> {
    let s = v
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a key has no '{field}'"))?;
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| format!("a key's '{field}' is not base64url"))
}

impl Jwks {
    pub fn parse(bytes: &[u8]) -> Result<Jwks, String> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let list = doc.get("keys").and_then(Value::as_array).ok_or("no 'keys' array")?;
        let mut keys = Vec::new();
        for k in list {
            if k.get("use").and_then(Value::as_str).is_some_and(|u| u != "sig") {
                continue;
            }
            let material = match (
                k.get("kty").and_then(Value::as_str),
                k.get("crv").and_then(Value::as_str),
            ) {
                (Some("RSA"), _) => {
                    let mut n = b64(k, "n")?;
                    let first = n.iter().position(|b| *b != 0).unwrap_or(n.len());
                    n.drain(..first);
                    let mut e = b64(k, "e")?;
                    let first = e.iter().position(|b| *b != 0).unwrap_or(e.len());
                    e.drain(..first);
                    Material::Rsa { n, e }
                }
                (Some("EC"), Some(crv @ ("P-256" | "P-384"))) => {
                    let (curve, len) = if crv == "P-256" {
                        (Curve::P256, 32)
                    } else {
                        (Curve::P384, 48)
                    };
                    let (x, y) = (b64(k, "x")?, b64(k, "y")?);
                    if x.len() != len || y.len() != len {
                        return Err(format!("an {crv} key's coordinates are not {len} bytes"));
                    }
                    let mut point = vec![4u8];
                    point.extend(x);
                    point.extend(y);
                    Material::Ec { curve, point }
                }
                (Some("OKP"), Some("Ed25519")) => Material::Ed25519(b64(k, "x")?),
                _ => continue,
            };
            keys.push(Key {
                kid: k.get("kid").and_then(Value::as_str).map(str::to_string),
                alg: k.get("alg").and_then(Value::as_str).map(str::to_string),
                material,
            });
        }
        if keys.is_empty() {
            return Err("no signing key (RSA, EC P-256/P-384 or Ed25519)".into());
        }
        Ok(Jwks { keys })
    }

    fn key(&self, kid: Option<&str>) -> Option<&Key> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            // Without a `kid` only an unambiguous set will do.
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
    }

    fn kids(&self) -> usize {
        self.keys.len()
    }
}

/// Whether a bearer value is a JWT (three base64url segments) rather than one of the
/// platform's own tokens, before anything is decoded.
pub fn looks_like_jwt(value: &str) -> bool {
    let mut parts = 0;
    for part in value.split('.') {
        parts += 1;
        if part.is_empty()
            || !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return false;
        }
    }
    parts == 3
}

/// Checks the signature with the key the header's `alg` is bound to.
fn check_signature(alg: &str, key: &Key, message: &[u8], sig: &[u8]) -> Result<(), Rejected> {
    if key.alg.as_deref().is_some_and(|a| a != alg) {
        return Err(Rejected::KeyMismatch);
    }
    let ok = match (alg, &key.material) {
        ("RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512", Material::Rsa { n, e }) => {
            let params = match alg {
                "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
                "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
                "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
                _ => &signature::RSA_PSS_2048_8192_SHA512,
            };
            RsaPublicKeyComponents { n, e }.verify(params, message, sig).is_ok()
        }
        (
            "ES256",
            Material::Ec {
                curve: Curve::P256,
                point,
            },
        ) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(message, sig)
            .is_ok(),
        (
            "ES384",
            Material::Ec {
                curve: Curve::P384,
                point,
            },
        ) => UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
            .verify(message, sig)
            .is_ok(),
        ("EdDSA", Material::Ed25519(x)) => UnparsedPublicKey::new(&signature::ED25519, x)
            .verify(message, sig)
            .is_ok(),
        _ => return Err(Rejected::KeyMismatch),
    };
    if ok { Ok(()) } else { Err(Rejected::Signature) }
}

const ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// A claim by name, else by a dotted path into nested objects (Keycloak's `realm_access.roles`).
/// The literal name wins: namespaced claims are URLs, with dots in them.
fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    name.split('.').try_fold(claims, |v, part| v.get(part))
}

fn secs(v: Option<&Value>) -> Result<Option<i64>, Rejected> {
    match v {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|f| f.is_finite())
            .map(|f| Some(f as i64))
            .ok_or(Rejected::Malformed("a time claim is not a number")),
    }
}

impl OidcSettings {
    /// Verifies a compact JWS against the keys and the settings, at `now` (seconds).
    pub fn verify(&self, jwks: &Jwks, token: &str, now: i64) -> Result<Verified, Rejected> {
        let mut parts = token.split('.');
        let (Some(h64), Some(p64), Some(s64), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(Rejected::Malformed("not three segments"));
        };
        let decode = |s: &str, what: &'static str| URL_SAFE_NO_PAD.decode(s).map_err(|_| Rejected::Malformed(what));
        let header: Value =
            serde_json::from_slice(&decode(h64, "header not base64url")?).map_err(|_| Rejected::Malformed("header"))?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(Rejected::Malformed("no alg"))?;
        if !ALGORITHMS.contains(&alg) {
            return Err(Rejected::Algorithm(alg.to_string()));
        }
        if header.get("crit").is_some() {
            // Extensions this code does not implement must not be ignored (RFC 7515 4.1.11).
            return Err(Rejected::Malformed("crit header"));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(Rejected::Malformed("kid")),
        };
        let key = jwks.key(kid).ok_or(Rejected::UnknownKey)?;
        let sig = decode(s64, "signature not base64url")?;
        let signed_len = h64.len() + 1 + p64.len();
        check_signature(alg, key, &token.as_bytes()[..signed_len], &sig)?;

        // Only now, signed, is the payload worth reading.
        let claims: Value = serde_json::from_slice(&decode(p64, "payload not base64url")?)
            .map_err(|_| Rejected::Malformed("payload"))?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(Rejected::Issuer);
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(self.audience.as_str())),
            _ => false,
        };
        if !aud_ok {
            return Err(Rejected::Audience);
        }
        let exp = secs(claims.get("exp"))?.ok_or(Rejected::NoExpiry)?;
        if now >= exp.saturating_add(LEEWAY_SECS) {
            return Err(Rejected::Expired);
        }
        if secs(claims.get("nbf"))?.is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS)) {
            return Err(Rejected::NotYetValid);
        }
        if secs(claims.get("iat"))?.is_some_and(|iat| iat > now.saturating_add(LEEWAY_SECS)) {
            return Err(Rejected::IssuedInFuture);
        }
        // No fallback to `sub` when the username claim is missing: `sub` values live in another
        // namespace (opaque ids, client ids for machine tokens), and one equal to a username
        // would take that user's grants. Configure `username_claim = "sub"` to use it.
        let username = claim(&claims, &self.username_claim)
            .and_then(Value::as_str)
            .filter(|u| validate_username(u).is_ok())
            .ok_or(Rejected::NoUsername)?
            .to_string();
        let roles: Vec<String> = match claim(&claims, &self.roles_claim) {
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            // Some providers send a single group as a string.
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        let admin = self.admin_role.as_ref().is_some_and(|a| roles.contains(a));
        Ok(Verified {
            username,
            roles,
            admin,
            exp,
        })
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// When the JWKS was last (re)loaded or tried, and what the file looked like then.
#[derive(Default)]
struct Refresh {
    last_attempt: Option<Instant>,
    last_loaded: Option<Instant>,
    file_stamp: Option<(SystemTime, u64)>,
}

/// The verifier with its keys, kept fresh: the file re-read when it changes, the URL refetched
/// hourly and on an unknown `kid` (at most once a minute).
pub struct Oidc {
    pub settings: OidcSettings,
    jwks: RwLock<Arc<Jwks>>,
    refresh: tokio::sync::Mutex<Refresh>,
    http: Option<reqwest::Client>,
    /// Role names a token named that no platform role has: logged once each.
    unknown_roles: Mutex<HashSet<String>>,
}

fn file_stamp(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

async fn fetch(http: &reqwest::Client, url: &str) -> Result<Jwks, String> {
    let mut resp = http.get(url).send().await.map_err(|e| format!("cannot fetch: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("answered {}", resp.status()));
    }
    if resp.content_length().is_some_and(|l| l > JWKS_MAX_BYTES as u64) {
        return Err(format!("larger than {JWKS_MAX_BYTES} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("cannot read: {e}"))? {
        body.extend_from_slice(&chunk);
        if body.len() > JWKS_MAX_BYTES {
            return Err(format!("larger than {JWKS_MAX_BYTES} bytes"));
        }
    }
    Jwks::parse(&body)
}

impl Oidc {
    /// Loads the keys and starts watching them. A bad file is an error here (the server does
    /// not start); an unreachable URL is only logged, since the provider may come up later,
    /// and is retried when a token arrives.
    pub async fn start(settings: OidcSettings) -> Result<Arc<Oidc>, String> {
        let mut refresh = Refresh::default();
        let (jwks, http) = match &settings.jwks {
            JwksSource::File(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("auth.oidc.jwks_file: cannot read {}: {e}", path.display()))?;
                let jwks = Jwks::parse(&bytes)
                    .map_err(|e| format!("auth.oidc.jwks_file: {} is not a usable JWKS: {e}", path.display()))?;
                refresh.file_stamp = file_stamp(path);
                refresh.last_loaded = Some(Instant::now());
                (jwks, None)
            }
            JwksSource::Url(url) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(format!("auth.oidc.jwks_url: '{url}' is not an http(s) URL"));
                }
                let http = reqwest::Client::builder()
                    .timeout(JWKS_TIMEOUT)
                    .connect_timeout(JWKS_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::limited(3))
                    .build()
                    .map_err(|e| format!("auth.oidc.jwks_url: cannot build an HTTP client: {e}"))?;
                refresh.last_attempt = Some(Instant::now());
                let jwks = match fetch(&http, url).await {
                    Ok(j) => {
                        refresh.last_loaded = Some(Instant::now());
                        j
                    }
                    Err(e) => {
                        tracing::warn!(url = %url, error = %e, "auth.oidc.jwks_url: no keys yet; OIDC tokens are refused until they can be fetched");
                        Jwks::default()
                    }
                };
                (jwks, Some(http))
            }
        };
        let oidc = Arc::new(Oidc {
            settings,
            jwks: RwLock::new(Arc::new(jwks)),
            refresh: tokio::sync::Mutex::new(refresh),
            http,
            unknown_roles: Mutex::new(HashSet::new()),
        });
        let weak = Arc::downgrade(&oidc);
        tokio::spawn(watch(weak));
        Ok(oidc)
    }

    fn keys(&self) -> Arc<Jwks> {
        self.jwks.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reloads the keys when due: `force` for an unknown `kid` (still at most once a minute
    /// for the URL; a file is only re-read when it changed).
    async fn reload(&self, force: bool) {
        let mut r = self.refresh.lock().await;
        let now = Instant::now();
        let loaded = match &self.settings.jwks {
            JwksSource::File(path) => {
                let stamp = file_stamp(path);
                if stamp.is_none() || stamp == r.file_stamp {
                    return;
                }
                r.file_stamp = stamp;
                std::fs::read(path)
                    .map_err(|e| e.to_string())
                    .and_then(|b| Jwks::parse(&b))
            }
            JwksSource::Url(url) => {
                let stale = r.last_loaded.is_none_or(|t| now >= t + JWKS_MAX_AGE);
                let may = r.last_attempt.is_none_or(|t| now >= t + REFETCH_MIN_INTERVAL);
                if !may || !(force || stale) {
                    return;
                }
                r.last_attempt = Some(now);
                let Some(http) = &self.http else { return };
                fetch(http, url).await
            }
        };
        match loaded {
            Ok(jwks) => {
                tracing::info!(keys = jwks.kids(), "OIDC signing keys loaded");
                r.last_loaded = Some(now);
                *self.jwks.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(jwks);
            }
            // The keys in hand stay: a half-written file or a provider hiccup must not lock
            // everyone out.
            Err(e) => tracing::warn!(error = %e, "OIDC signing keys not reloaded; keeping the previous ones"),
        }
    }

    /// Verifies a token, refetching the keys once when it names one not in hand.
    pub async fn verify(&self, token: &str) -> Result<Verified, Rejected> {
        match self.settings.verify(&self.keys(), token, now_secs()) {
            Err(Rejected::UnknownKey) => {
                self.reload(true).await;
                self.settings.verify(&self.keys(), token, now_secs())
            }
            r => r,
        }
    }

    fn unknown_role(&self, name: &str) {
        let mut seen = self.unknown_roles.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: a provider sending endless distinct groups must not grow this forever.
        if seen.len() < 10_000 && seen.insert(name.to_string()) {
            tracing::info!(
                role = name,
                "an OIDC token names a role the platform does not have; ignored"
            );
        }
    }
}

/// Keeps the keys fresh while the verifier lives.
async fn watch(oidc: Weak<Oidc>) {
    loop {
        tokio::time::sleep(FILE_CHECK_INTERVAL).await;
        let Some(oidc) = oidc.upgrade() else { return };
        oidc.reload(false).await;
    }
}

/// The caller a verified token names, and until when that may be trusted without verifying
/// again (the token's expiry). `None`: not authenticated (the reason is logged).
pub async fn principal(auth: &Auth, oidc: &Oidc, token: &str) -> Result<Option<(Principal, Instant)>, Error> {
    let v = match oidc.verify(token).await {
        Ok(v) => v,
        Err(reason) => {
            tracing::info!(?reason, "OIDC token refused");
            return Ok(None);
        }
    };
    let user = match auth.store.get_user(&v.username).await {
        Ok(u) => u,
        Err(e) if e.code == ErrorCode::ResourceDoesNotExist => {
            match auth.store.create_user(&v.username, OIDC_PASSWORD_HASH, false).await {
                Ok(u) => {
                    tracing::info!(username = %v.username, "created the user of an OIDC sign-in");
                    u
                }
                // Another request or replica created it first.
                Err(e) if e.code == ErrorCode::ResourceAlreadyExists => auth.store.get_user(&v.username).await?,
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    if user.password_hash != OIDC_PASSWORD_HASH {
        tracing::warn!(
            username = %v.username,
            "an OIDC token names a local user (one with a password); refused"
        );
        return Ok(None);
    }
    let claim_roles: Arc<[i64]> = if v.roles.is_empty() {
        Arc::from(Vec::new())
    } else {
        let by_name: HashMap<String, i64> = auth
            .store
            .list_roles()
            .await?
            .into_iter()
            .filter(|r| r.workspace == DEFAULT_WORKSPACE)
            .map(|r| (r.name, r.id))
            .collect();
        let mut ids = Vec::new();
        for name in &v.roles {
            match by_name.get(name) {
                Some(id) => ids.push(*id),
                None if oidc.settings.admin_role.as_deref() == Some(name.as_str()) => {}
                None => oidc.unknown_role(name),
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Arc::from(ids)
    };
    let mut p = Principal::from(&user);
    p.is_admin |= v.admin;
    p.claim_roles = Some(claim_roles);
    let left = Duration::from_secs((v.exp + LEEWAY_SECS - now_secs()).max(0) as u64);
    Ok(Some((p, Instant::now() + left)))
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn settings() -> OidcSettings {
        OidcSettings {
            issuer: "https://idp.example".into(),
            audience: "mlp".into(),
            jwks: JwksSource::Url("https://idp.example/jwks".into()),
            username_claim: "preferred_username".into(),
            roles_claim: "groups".into(),
            admin_role: Some("platform-admins".into()),
        }
    }

    fn enc(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    struct Signer {
        ec: EcdsaKeyPair,
        ed: Ed25519KeyPair,
    }

    impl Signer {
        fn new() -> Self {
            let rng = SystemRandom::new();
            let pk8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let ec = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pk8.as_ref(), &rng).unwrap();
            let pk8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
            let ed = Ed25519KeyPair::from_pkcs8(pk8.as_ref()).unwrap();
            Signer { ec, ed }
        }

        fn jwks(&self) -> Jwks {
            let p = self.ec.public_key().as_ref();
            let doc = json!({"keys": [
                {"kty": "EC", "crv": "P-256", "kid": "ec1", "use": "sig",
                 "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..])},
                {"kty": "OKP", "crv": "Ed25519", "kid": "ed1", "x": URL_SAFE_NO_PAD.encode(self.ed.public_key().as_ref())},
                // An RSA key (a made-up modulus): only for the alg/kty checks.
                {"kty": "RSA", "kid": "rsa1", "alg": "RS256", "e": "AQAB",
                 "n": URL_SAFE_NO_PAD.encode([0xc5u8; 256])},
                {"kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc",
                 "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..])},
            ]});
            Jwks::parse(doc.to_string().as_bytes()).unwrap()
        }

        /// Signs with the EC key unless the header asks for EdDSA; `alg`/`kid` as given.
        fn token(&self, header: Value, claims: Value) -> String {
            let signing_input = format!("{}.{}", enc(&header), enc(&claims));
            let sig = if header["alg"] == "EdDSA" {
                self.ed.sign(signing_input.as_bytes()).as_ref().to_vec()
            } else {
                self.ec
                    .sign(&SystemRandom::new(), signing_input.as_bytes())
                    .unwrap()
                    .as_ref()
                    .to_vec()
            };
            format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
        }
    }

    fn claims() -> Value {
        json!({"iss": "https://idp.example", "aud": "mlp", "exp": NOW + 300, "iat": NOW - 10,
               "preferred_username": "ada", "sub": "0f3a", "groups": ["ml-engineers", "nobody-knows"]})
    }

    fn es256() -> Value {
        json!({"alg": "ES256", "kid": "ec1", "typ": "JWT"})
    }

    #[test]
    fn a_valid_token_names_its_user_and_roles() {
        let s = Signer::new();
        let jwks = s.jwks();
        let t = s.token(es256(), claims());
        assert!(looks_like_jwt(&t));
        let v = settings().verify(&jwks, &t, NOW).unwrap();
        assert_eq!(v.username, "ada");
        assert_eq!(v.roles, ["ml-engineers", "nobody-knows"]);
        assert!(!v.admin);
        assert_eq!(v.exp, NOW + 300);

        let mut c = claims();
        c["aud"] = json!(["other", "mlp"]);
        c["groups"] = json!(["platform-admins"]);
        let v = settings()
            .verify(&jwks, &s.token(json!({"alg": "EdDSA", "kid": "ed1"}), c), NOW)
            .unwrap();
        assert!(v.admin);

        // Nested claims by dotted path; a single group as a string.
        let mut st = settings();
        st.roles_claim = "realm_access.roles".into();
        let mut c = claims();
        c["realm_access"] = json!({"roles": ["a", "b"]});
        assert_eq!(st.verify(&jwks, &s.token(es256(), c), NOW).unwrap().roles, ["a", "b"]);
        let mut c = claims();
        c["groups"] = json!("solo");
        assert_eq!(
            settings().verify(&jwks, &s.token(es256(), c), NOW).unwrap().roles,
            ["solo"]
        );
    }

    #[test]
    fn signatures_and_algorithms_are_checked() {
        let s = Signer::new();
        let jwks = s.jwks();
        let st = settings();
        let t = s.token(es256(), claims());
        // A changed payload under the old signature.
        let mut c = claims();
        c["preferred_username"] = json!("admin");
        let forged = format!(
            "{}.{}.{}",
            t.split('.').next().unwrap(),
            enc(&c),
            t.split('.').nth(2).unwrap()
        );
        assert_eq!(st.verify(&jwks, &forged, NOW), Err(Rejected::Signature));
        // Another key pair's signature under our kid.
        let other = Signer::new().token(es256(), claims());
        assert_eq!(st.verify(&jwks, &other, NOW), Err(Rejected::Signature));
        // alg none, with or without a signature; HMAC with the public key as the secret.
        let none = format!("{}.{}.", enc(&json!({"alg": "none"})), enc(&claims()));
        assert!(!looks_like_jwt(&none));
        assert_eq!(st.verify(&jwks, &none, NOW), Err(Rejected::Algorithm("none".into())));
        let hs = s.token(json!({"alg": "HS256", "kid": "ec1"}), claims());
        assert_eq!(st.verify(&jwks, &hs, NOW), Err(Rejected::Algorithm("HS256".into())));
        // alg and key type disagree: RS256 on an EC key, ES256 on an RSA key, ES384 on P-256,
        // EdDSA on EC; and a key whose own alg is RS256 used as PS256.
        for (alg, kid) in [
            ("RS256", "ec1"),
            ("ES256", "rsa1"),
            ("ES384", "ec1"),
            ("EdDSA", "ec1"),
            ("PS256", "rsa1"),
        ] {
            let t = s.token(json!({"alg": alg, "kid": kid}), claims());
            assert_eq!(
                st.verify(&jwks, &t, NOW),
                Err(Rejected::KeyMismatch),
                "{alg} with {kid}"
            );
        }
        // Unknown kid, an encryption key, and no kid with several keys.
        for header in [
            json!({"alg": "ES256", "kid": "nope"}),
            json!({"alg": "ES256", "kid": "enc"}),
            json!({"alg": "ES256"}),
        ] {
            let t = s.token(header.clone(), claims());
            assert_eq!(st.verify(&jwks, &t, NOW), Err(Rejected::UnknownKey), "{header}");
        }
        let t = s.token(json!({"alg": "ES256", "kid": "ec1", "crit": ["exp"]}), claims());
        assert!(matches!(st.verify(&jwks, &t, NOW), Err(Rejected::Malformed(_))));
    }

    #[test]
    fn issuer_audience_and_times_are_checked() {
        let s = Signer::new();
        let jwks = s.jwks();
        let st = settings();
        let with = |f: &dyn Fn(&mut Value)| {
            let mut c = claims();
            f(&mut c);
            st.verify(&jwks, &s.token(es256(), c), NOW)
        };
        assert_eq!(
            with(&|c| c["iss"] = json!("https://evil.example")),
            Err(Rejected::Issuer)
        );
        assert_eq!(
            with(&|c| c["iss"] = json!("https://idp.example/")),
            Err(Rejected::Issuer)
        );
        assert_eq!(with(&|c| c["aud"] = json!("mlp-other")), Err(Rejected::Audience));
        assert_eq!(with(&|c| c["aud"] = json!(["a", "b"])), Err(Rejected::Audience));
        assert_eq!(
            with(&|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
            Err(Rejected::Audience)
        );
        assert_eq!(
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            Err(Rejected::NoExpiry)
        );
        assert_eq!(with(&|c| c["exp"] = json!(NOW - 61)), Err(Rejected::Expired));
        // Within the leeway.
        assert!(with(&|c| c["exp"] = json!(NOW - 30)).is_ok());
        assert_eq!(with(&|c| c["nbf"] = json!(NOW + 120)), Err(Rejected::NotYetValid));
        assert!(with(&|c| c["nbf"] = json!(NOW + 30)).is_ok());
        assert_eq!(with(&|c| c["iat"] = json!(NOW + 120)), Err(Rejected::IssuedInFuture));
        assert!(matches!(
            with(&|c| c["exp"] = json!("soon")),
            Err(Rejected::Malformed(_))
        ));
        // No fallback from the username claim to sub.
        assert_eq!(
            with(&|c| {
                c.as_object_mut().unwrap().remove("preferred_username");
            }),
            Err(Rejected::NoUsername)
        );
        assert_eq!(
            with(&|c| c["preferred_username"] = json!("a:b")),
            Err(Rejected::NoUsername)
        );
    }

    #[test]
    fn jwt_shape_and_bad_key_sets() {
        assert!(!looks_like_jwt("mlp_abc"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(!looks_like_jwt("a.b+c.d"));
        assert!(looks_like_jwt("eyJh.eyJp.c2ln"));
        assert!(Jwks::parse(b"{}").is_err());
        assert!(Jwks::parse(b"not json").is_err());
        assert!(Jwks::parse(br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#).is_err());
        assert!(Jwks::parse(br#"{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}"#).is_err());
    }

    /// `cargo nextest run -p mlp-server --run-ignored only -E 'test(verification_cost)' --no-capture`:
    /// a full verification against the per-request work of a cached token (the cache key is a
    /// SHA-256 over the header value).
    #[test]
    #[ignore]
    fn verification_cost() {
        use sha2::Digest;
        let s = Signer::new();
        let jwks = s.jwks();
        let st = settings();
        let n = 2000;
        for (name, header) in [("ES256", es256()), ("EdDSA", json!({"alg": "EdDSA", "kid": "ed1"}))] {
            let t = s.token(header, claims());
            let start = Instant::now();
            for _ in 0..n {
                st.verify(&jwks, &t, NOW).unwrap();
            }
            let verify = start.elapsed() / n;
            let start = Instant::now();
            for _ in 0..n {
                std::hint::black_box(sha2::Sha256::digest(format!("Bearer {t}").as_bytes()));
            }
            let cached = start.elapsed() / n;
            println!("{name}: verify {verify:?} per token, cache key {cached:?} per request");
        }
    }

    #[tokio::test]
    async fn a_rotated_file_is_picked_up_on_an_unknown_kid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        let s1 = Signer::new();
        let jwk = |s: &Signer, kid: &str| {
            let p = s.ec.public_key().as_ref().to_vec();
            json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..])}]})
        };
        std::fs::write(&path, jwk(&s1, "k1").to_string()).unwrap();
        let mut st = settings();
        st.jwks = JwksSource::File(path.clone());
        st.issuer = "https://idp.example".into();
        let oidc = Oidc::start(st).await.unwrap();
        let mut c = claims();
        c["exp"] = json!(now_secs() + 300);
        c["iat"] = json!(now_secs());
        assert!(
            oidc.verify(&s1.token(json!({"alg": "ES256", "kid": "k1"}), c.clone()))
                .await
                .is_ok()
        );
        let s2 = Signer::new();
        let t2 = s2.token(json!({"alg": "ES256", "kid": "k2"}), c.clone());
        assert_eq!(oidc.verify(&t2).await, Err(Rejected::UnknownKey));
        // A different size, so the change shows even within the file system's mtime resolution.
        let mut doc = jwk(&s2, "k2");
        doc["note"] = json!("rotated");
        std::fs::write(&path, doc.to_string()).unwrap();
        assert!(oidc.verify(&t2).await.is_ok());
        // A broken file keeps the keys in hand.
        std::fs::write(&path, "{ half").unwrap();
        assert!(oidc.verify(&t2).await.is_ok());

        let mut bad = settings();
        bad.jwks = JwksSource::File(dir.path().join("missing.json"));
        assert!(Oidc::start(bad).await.err().unwrap().contains("auth.oidc.jwks_file"));
    }
}

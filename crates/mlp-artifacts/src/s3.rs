//! Artifacts in an S3-compatible object store (AWS S3, MinIO, s3s, ...) through `object_store`.
//!
//! The artifact root is `s3://bucket/optional/prefix`; an artifact path `a/b.txt` is the object
//! key `optional/prefix/a/b.txt`, byte for byte (no re-encoding, so objects written by other S3
//! clients are found under the same names). Directories are key prefixes, as S3 has none.
//!
//! Uploads of up to one part are a single PUT; larger ones are multipart uploads that hold at
//! most one part being filled plus one in flight, so memory stays bounded whatever the file size,
//! and the object only appears once the upload completes. Downloads stream the GET body.
//!
//! Failures of the store itself (cannot connect, timeouts, 5xx, throttling) become
//! TEMPORARILY_UNAVAILABLE (HTTP 503) after a short, bounded retry; messages never carry
//! credentials.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use mlp_core::{Error, Result};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};
use serde::{Deserialize, Serialize};

use crate::{ArtifactStore, ByteStream, Download, FileInfo, clean_path};

/// Size of one multipart part (S3 requires at least 5 MiB for all but the last part). Bodies up
/// to this size are sent with one PUT.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 2;
const DEFAULT_READ_TIMEOUT_SECS: u64 = 30;
const DEFAULT_MAX_RETRIES: usize = 2;

/// Options of an `s3://` artifact root (`[artifacts.s3]` in the configuration). Anything left
/// unset falls back to the standard AWS environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
/// `AWS_ENDPOINT_URL`, web identity / container credentials / instance metadata).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Options {
    /// Endpoint URL for S3-compatible stores, e.g. `http://minio:9000`. Unset: AWS S3.
    pub endpoint: Option<String>,
    /// Region; `us-east-1` when neither set here nor in the environment.
    pub region: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`) instead of virtual-hosted style
    /// (`bucket.endpoint/key`). Default: on when `endpoint` is set (MinIO), off for AWS.
    pub path_style: Option<bool>,
    /// Allow plain `http://` endpoints. Default: on when `endpoint` starts with `http://`.
    pub allow_http: Option<bool>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// A file holding the secret access key (a mounted Kubernetes Secret); used when
    /// `secret_access_key` is not set. Surrounding whitespace is trimmed.
    pub secret_access_key_file: Option<PathBuf>,
    /// Seconds to wait for a TCP/TLS connection (default 2).
    /// With the default retries an unreachable endpoint fails within about 7 s; a refused
    /// connection within a second.
    pub connect_timeout_secs: Option<u64>,
    /// Seconds a read may stall, including waiting for the response (default 30). There is no
    /// overall request timeout, so large downloads are not cut off.
    pub read_timeout_secs: Option<u64>,
    /// Retries of a failed request, with a short backoff (default 2).
    pub max_retries: Option<usize>,
}

/// Secrets are redacted.
impl fmt::Debug for S3Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("allow_http", &self.allow_http)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "***"))
            .field("secret_access_key_file", &self.secret_access_key_file)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("read_timeout_secs", &self.read_timeout_secs)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// Artifacts under `s3://bucket/prefix`.
pub struct S3ArtifactStore {
    store: AmazonS3,
    bucket: String,
    /// The key prefix without slashes at either end; empty for the bucket root.
    prefix: String,
    prefix_path: Option<Path>,
    endpoint: Option<String>,
    /// Strings scrubbed from any error text we log or return (the credentials).
    redact: Vec<String>,
}

impl fmt::Debug for S3ArtifactStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3ArtifactStore")
            .field("root", &self.root_uri())
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Splits `s3://bucket/prefix` into bucket and prefix.
fn parse_root(root: &str) -> Result<(String, String)> {
    let rest = root
        .strip_prefix("s3://")
        .ok_or_else(|| Error::invalid(format!("not an s3:// artifact root: '{root}'")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty()
        || !bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_'))
    {
        return Err(Error::invalid(format!(
            "invalid bucket name in artifact root '{root}': expected s3://bucket/prefix"
        )));
    }
    let prefix = clean_path(prefix).map_err(|_| {
        Error::invalid(format!(
            "invalid prefix in artifact root '{root}': expected s3://bucket/prefix"
        ))
    })?;
    Ok((bucket.to_string(), prefix))
}

impl S3ArtifactStore {
    /// Builds the client; does not contact the store (the server starts even if it is down).
    pub fn new(root: &str, opts: &S3Options) -> Result<Self> {
        // object_store's reqwest client needs a process-wide provider (see the workspace manifest).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (bucket, prefix) = parse_root(root)?;
        let prefix_path = if prefix.is_empty() {
            None
        } else {
            Some(
                Path::parse(&prefix)
                    .map_err(|_| Error::invalid(format!("invalid prefix in artifact root '{root}'")))?,
            )
        };
        let configured_keys = opts.access_key_id.as_deref().is_some_and(|k| !k.is_empty());
        let mut b = builder_from_env(configured_keys).with_bucket_name(&bucket);
        let mut redact = Vec::new();

        let endpoint = opts.endpoint.clone().filter(|e| !e.is_empty());
        if let Some(e) = &endpoint {
            b = b.with_endpoint(e);
        }
        // The endpoint in effect (configured, or from the environment) decides the defaults.
        let effective_endpoint = endpoint.clone().or_else(|| {
            ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|e| !e.is_empty()))
        });
        let env_region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .ok()
            .filter(|r| !r.is_empty());
        let region = opts
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .or(env_region)
            .unwrap_or_else(|| "us-east-1".to_string());
        b = b.with_region(region);
        let path_style = opts.path_style.unwrap_or(effective_endpoint.is_some());
        b = b.with_virtual_hosted_style_request(!path_style);

        let secret = match (&opts.secret_access_key, &opts.secret_access_key_file) {
            (Some(s), _) if !s.is_empty() => Some(s.clone()),
            (_, Some(file)) if !file.as_os_str().is_empty() => {
                let s = std::fs::read_to_string(file).map_err(|e| {
                    Error::invalid(format!(
                        "cannot read the S3 secret access key file {}: {}",
                        file.display(),
                        e.kind()
                    ))
                })?;
                let s = s.trim().to_string();
                if s.is_empty() {
                    return Err(Error::invalid(format!(
                        "the S3 secret access key file {} is empty",
                        file.display()
                    )));
                }
                Some(s)
            }
            _ => None,
        };
        let key_id = opts.access_key_id.clone().filter(|k| !k.is_empty());
        match (key_id, secret) {
            (Some(id), Some(secret)) => {
                redact.push(id.clone());
                redact.push(secret.clone());
                b = b.with_access_key_id(id).with_secret_access_key(secret);
            }
            (None, None) if env_nonempty("AWS_ACCESS_KEY_ID").is_some() => {
                // object_store takes them from the environment.
                for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
                    redact.extend(env_nonempty(var));
                }
            }
            (None, None) => {
                if let Some(c) = shared_credentials()? {
                    redact.extend([c.key_id.clone(), c.secret.clone()]);
                    b = b.with_access_key_id(c.key_id).with_secret_access_key(c.secret);
                    if let Some(t) = c.token {
                        redact.push(t.clone());
                        b = b.with_token(t);
                    }
                }
                // Otherwise object_store's chain: web identity (EKS IRSA), container
                // credentials, instance metadata.
            }
            _ => {
                return Err(Error::invalid(
                    "S3 credentials: set both access_key_id and secret_access_key (or secret_access_key_file), or neither",
                ));
            }
        }

        let allow_http = opts.allow_http.unwrap_or_else(|| {
            effective_endpoint
                .as_deref()
                .is_some_and(|e| e.to_ascii_lowercase().starts_with("http://"))
        });
        let client = ClientOptions::new()
            .with_allow_http(allow_http)
            .with_connect_timeout(Duration::from_secs(
                opts.connect_timeout_secs.unwrap_or(DEFAULT_CONNECT_TIMEOUT_SECS),
            ))
            .with_read_timeout(Duration::from_secs(
                opts.read_timeout_secs.unwrap_or(DEFAULT_READ_TIMEOUT_SECS),
            ))
            // A whole-request timeout would also bound the time to stream a large body.
            .with_timeout_disabled();
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: opts.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
            retry_timeout: Duration::from_secs(10),
        };
        let store = b.with_client_options(client).with_retry(retry).build().map_err(|e| {
            Error::invalid(format!(
                "invalid S3 artifact store configuration: {}",
                scrub(&e, &redact)
            ))
        })?;
        Ok(S3ArtifactStore {
            store,
            bucket,
            prefix,
            prefix_path,
            endpoint,
            redact,
        })
    }

    fn root_uri(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// The object key of a checked, non-empty artifact path (byte for byte: `parse` does not
    /// percent-encode; it refuses control characters).
    fn key(&self, clean: &str) -> Result<Path> {
        let full = if self.prefix.is_empty() {
            clean.to_string()
        } else {
            format!("{}/{clean}", self.prefix)
        };
        Path::parse(&full).map_err(|_| Error::invalid(format!("Invalid artifact path: '{clean}'")))
    }

    /// The key of a directory; `None` for the bucket root.
    fn dir_key(&self, clean: &str) -> Result<Option<Path>> {
        if clean.is_empty() {
            return Ok(self.prefix_path.clone());
        }
        self.key(clean).map(Some)
    }

    /// Whether some object lives under `key/` (false when that cannot be told).
    async fn is_dir(&self, key: &Path) -> bool {
        let opts = PaginatedListOptions {
            max_keys: Some(1),
            ..Default::default()
        };
        self.store
            .list_paginated(Some(&format!("{key}/")), opts)
            .await
            .is_ok_and(|r| !r.result.objects.is_empty())
    }

    /// Maps an `object_store` error of operation `op` on artifact `path`.
    fn map_err(&self, op: &str, path: &str, e: object_store::Error) -> Error {
        let detail = scrub(&e, &self.redact);
        let root = self.root_uri();
        match classify(&e) {
            Class::NotFound if detail.contains("NoSuchBucket") => Error::internal(format!(
                "artifact store {root}: the bucket does not exist ({op} '{path}')"
            )),
            Class::NotFound => Error::not_found(format!("Artifact '{path}' does not exist")),
            Class::InvalidPath => Error::invalid(format!("Invalid artifact path: '{path}'")),
            Class::Denied => Error::internal(format!(
                "artifact store {root}: access denied for {op} '{path}' (check the credentials and bucket policy): {detail}"
            )),
            Class::Unavailable { reason, .. } => {
                tracing::warn!(op, path, store = %root, error = %detail, "artifact store unavailable");
                Error::unavailable(format!("The artifact store is unavailable ({reason}); try again later"))
            }
            Class::Other => Error::internal(format!("artifact store {root}: {op} '{path}' failed: {detail}")),
        }
    }
}

enum Class {
    NotFound,
    InvalidPath,
    Denied,
    /// `answered`: the store answered (5xx, 429) rather than being unreachable.
    Unavailable {
        reason: String,
        answered: bool,
    },
    Other,
}

/// Sorts an error into what the caller can do about it. Transport failures (refused, reset,
/// timed out) and 5xx/429 answers mean the store is (temporarily) unavailable.
fn classify(e: &object_store::Error) -> Class {
    use object_store::Error as E;
    match e {
        E::NotFound { .. } => return Class::NotFound,
        E::InvalidPath { .. } => return Class::InvalidPath,
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => return Class::Denied,
        E::Generic { .. } => {}
        _ => return Class::Other,
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(h) = err.downcast_ref::<HttpError>() {
            let reason = match h.kind() {
                HttpErrorKind::Connect => "cannot connect",
                HttpErrorKind::Timeout => "timed out",
                HttpErrorKind::Interrupted => "connection interrupted",
                HttpErrorKind::Decode => "invalid response",
                _ => "request failed",
            };
            return Class::Unavailable {
                reason: reason.to_string(),
                answered: false,
            };
        }
        cur = err.source();
    }
    // The retry error (not a public type) reads "... status code: 503 Service Unavailable ...".
    let text = e.to_string();
    if let Some(i) = text.find("status code: ") {
        let code: String = text[i + 13..].chars().take(3).collect();
        if let Ok(code) = code.parse::<u16>()
            && (code >= 500 || code == 429)
        {
            return Class::Unavailable {
                reason: format!("HTTP {code}"),
                answered: true,
            };
        }
    }
    for marker in ["SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"] {
        if text.contains(marker) {
            return Class::Unavailable {
                reason: marker.to_string(),
                answered: true,
            };
        }
    }
    Class::Other
}

fn env_nonempty(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

struct SharedCredentials {
    key_id: String,
    secret: String,
    token: Option<String>,
}

/// Keys from the AWS shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
/// `~/.aws/credentials`), profile `AWS_PROFILE` or `default`, as the AWS SDKs read it
/// (`object_store` does not). A file named by the variable must be readable.
fn shared_credentials() -> Result<Option<SharedCredentials>> {
    let (path, explicit) = match env_nonempty("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => (PathBuf::from(p), true),
        None => match env_nonempty("HOME") {
            Some(h) => (PathBuf::from(h).join(".aws/credentials"), false),
            None => return Ok(None),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) if !explicit => return Ok(None),
        Err(e) => {
            return Err(Error::invalid(format!(
                "cannot read the AWS shared credentials file {}: {}",
                path.display(),
                e.kind()
            )));
        }
    };
    let profile = env_nonempty("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
    Ok(parse_shared_credentials(&text, &profile))
}

fn parse_shared_credentials(text: &str, profile: &str) -> Option<SharedCredentials> {
    let mut in_profile = false;
    let (mut key_id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = name.trim() == profile;
            continue;
        }
        if !in_profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "aws_access_key_id" => key_id = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    Some(SharedCredentials {
        key_id: key_id.filter(|k| !k.is_empty())?,
        secret: secret.filter(|s| !s.is_empty())?,
        token: token.filter(|t| !t.is_empty()),
    })
}

/// A builder configured from the `AWS_*` environment like `AmazonS3Builder::from_env`; without
/// the environment's credentials when keys are configured (a stray session token would
/// otherwise be sent along with them).
fn builder_from_env(configured_keys: bool) -> AmazonS3Builder {
    let mut b = AmazonS3Builder::new();
    for (k, v) in std::env::vars() {
        if !k.starts_with("AWS_")
            || (configured_keys
                && matches!(
                    k.as_str(),
                    "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN"
                ))
        {
            continue;
        }
        if let Ok(key) = k.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            b = b.with_config(key, v);
        }
    }
    b
}

/// The error's text with every credential replaced by `***`.
/// A driver error as text without any of the store's secrets: the one redaction of
/// `mlp_core::redact` (known values and any URL's password).
fn scrub(e: &dyn fmt::Display, redact: &[String]) -> String {
    let secrets: Vec<&str> = redact.iter().map(String::as_str).collect();
    mlp_core::redact::scrub(&e.to_string(), &secrets)
}

#[async_trait]
impl ArtifactStore for S3ArtifactStore {
    async fn put(&self, path: &str, mut body: ByteStream) -> Result<u64> {
        let clean = clean_path(path)?;
        if clean.is_empty() {
            return Err(Error::invalid("An artifact path must name a file"));
        }
        let key = self.key(&clean)?;
        let interrupted = |e: std::io::Error| Error::invalid(format!("upload interrupted: {e}"));

        // Up to one part: buffer it and send one PUT.
        let mut first: Vec<Bytes> = Vec::new();
        let mut buffered = 0usize;
        let mut exhausted = true;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(interrupted)?;
            buffered += chunk.len();
            first.push(chunk);
            if buffered > PART_SIZE {
                exhausted = false;
                break;
            }
        }
        if exhausted {
            self.store
                .put(&key, PutPayload::from_iter(first))
                .await
                .map_err(|e| self.map_err("put", path, e))?;
            return Ok(buffered as u64);
        }

        // Larger: a multipart upload. At most one part is in flight while the next one fills.
        let upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(|e| self.map_err("put", path, e))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut written = 0u64;
        let result: Result<()> = async {
            let mut pending = futures_util::stream::iter(first.into_iter().map(Ok)).chain(&mut body);
            while let Some(chunk) = pending.next().await {
                let chunk = chunk.map_err(interrupted)?;
                let filled = (written % PART_SIZE as u64) as usize;
                if filled + chunk.len() >= PART_SIZE {
                    // This chunk completes a part: let the previous one finish first.
                    w.wait_for_capacity(1).await.map_err(|e| self.map_err("put", path, e))?;
                }
                written += chunk.len() as u64;
                w.put(chunk);
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                w.finish().await.map_err(|e| self.map_err("put", path, e))?;
                Ok(written)
            }
            Err(e) => {
                if let Err(abort) = w.abort().await {
                    tracing::warn!(path, error = %scrub(&abort, &self.redact), "cannot abort a multipart upload");
                }
                Err(e)
            }
        }
    }

    async fn get(&self, path: &str) -> Result<Download> {
        let clean = clean_path(path)?;
        if clean.is_empty() {
            return Err(Error::not_found(format!("Artifact '{path}' does not exist")));
        }
        let key = self.key(&clean)?;
        let r = match self.store.get(&key).await {
            Ok(r) => r,
            // A server keeping objects as files (s3s-fs) answers 500 to a GET of a "directory";
            // AWS and MinIO answer 404. Either way it is not a file.
            Err(e) if matches!(classify(&e), Class::Unavailable { answered: true, .. }) && self.is_dir(&key).await => {
                return Err(Error::not_found(format!("Artifact '{path}' does not exist")));
            }
            Err(e) => return Err(self.map_err("get", path, e)),
        };
        let size = r.meta.size;
        let body = r.into_stream().map_err(std::io::Error::from);
        Ok(Download {
            size,
            body: Box::pin(body),
        })
    }

    async fn list(&self, path: &str) -> Result<Vec<FileInfo>> {
        let key = self.dir_key(&clean_path(path)?)?;
        let listing = self
            .store
            .list_with_delimiter(key.as_ref())
            .await
            .map_err(|e| self.map_err("list", path, e))?;
        let child = |p: &Path| -> Option<String> {
            let mut rest = match &key {
                Some(k) => p.prefix_match(k)?.collect::<Vec<_>>(),
                None => p.parts().collect(),
            };
            (rest.len() == 1).then(|| rest.remove(0).as_ref().to_string())
        };
        let mut out: Vec<FileInfo> = listing
            .common_prefixes
            .iter()
            .filter_map(&child)
            .map(|name| FileInfo {
                path: name,
                is_dir: true,
                file_size: None,
            })
            .collect();
        out.extend(listing.objects.iter().filter_map(|o| {
            child(&o.location).map(|name| FileInfo {
                path: name,
                is_dir: false,
                file_size: Some(o.size),
            })
        }));
        out.sort_by(|a, b| a.path.cmp(&b.path).then(b.is_dir.cmp(&a.is_dir)));
        // A key that is both a file and a prefix shows once, as the directory.
        out.dedup_by(|b, a| a.path == b.path);
        Ok(out)
    }

    async fn delete(&self, path: &str) -> Result<()> {
        let clean = clean_path(path)?;
        if clean.is_empty() {
            return Err(Error::invalid("Refusing to delete the artifact root"));
        }
        let key = self.key(&clean)?;
        // Is there a file at `key`? It would be the first key listed with `key` as a raw
        // prefix (a string sorts before its extensions). Deleting blindly would be simpler on
        // AWS and MinIO, where deleting a missing key succeeds, but S3-compatible servers that
        // keep objects as files (s3s-fs) fail to delete a key that is a directory there.
        let first = self
            .store
            .list_paginated(
                Some(key.as_ref()),
                PaginatedListOptions {
                    max_keys: Some(1),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| self.map_err("delete", path, e))?;
        let is_file = first.result.objects.first().is_some_and(|o| o.location == key);

        // Then everything under `key/` (a directory), in bulk requests.
        let under = self.store.list(Some(&key)).map_ok(|m| m.location).boxed();
        let mut deleted = self.store.delete_stream(under);
        while let Some(r) = deleted.next().await {
            if let Err(e) = r
                && !matches!(classify(&e), Class::NotFound)
            {
                return Err(self.map_err("delete", path, e));
            }
        }
        if is_file {
            match self.store.delete(&key).await {
                Err(e) if !matches!(classify(&e), Class::NotFound) => return Err(self.map_err("delete", path, e)),
                _ => {}
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        match &self.endpoint {
            Some(e) => format!("{} (endpoint {e})", self.root_uri()),
            None => self.root_uri(),
        }
    }
}

/// Opens an `s3://` root as a shared store.
pub fn open_s3(root: &str, opts: &S3Options) -> Result<Arc<dyn ArtifactStore>> {
    Ok(Arc::new(S3ArtifactStore::new(root, opts)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots() {
        assert_eq!(parse_root("s3://b").unwrap(), ("b".into(), "".into()));
        assert_eq!(parse_root("s3://b/").unwrap(), ("b".into(), "".into()));
        assert_eq!(
            parse_root("s3://my-bucket/a/b/").unwrap(),
            ("my-bucket".into(), "a/b".into())
        );
        assert!(parse_root("s3://").is_err());
        assert!(parse_root("s3://b/../x").is_err());
        assert!(parse_root("s3://B_/x").is_err());
        assert!(parse_root("/tmp/x").is_err());
    }

    #[test]
    fn options_debug_redacts_secrets() {
        let o = S3Options {
            access_key_id: Some("AKIAEXAMPLE".into()),
            secret_access_key: Some("wJalrXUtnFEMI/K7MDENG".into()),
            ..Default::default()
        };
        let d = format!("{o:?}");
        assert!(!d.contains("wJalrXUtnFEMI"), "{d}");
        assert!(d.contains("***"));
    }

    #[test]
    fn credentials_from_a_file_and_half_configured() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret");
        std::fs::write(&f, "s3cr3t-from-file\n").unwrap();
        let o = S3Options {
            endpoint: Some("http://127.0.0.1:9".into()),
            access_key_id: Some("id".into()),
            secret_access_key_file: Some(f),
            ..Default::default()
        };
        let s = S3ArtifactStore::new("s3://bucket/p", &o).unwrap();
        assert!(s.redact.contains(&"s3cr3t-from-file".to_string()));
        assert!(!format!("{s:?}").contains("s3cr3t"));
        assert_eq!(s.describe(), "s3://bucket/p (endpoint http://127.0.0.1:9)");

        let missing = S3Options {
            secret_access_key_file: Some(dir.path().join("nope")),
            access_key_id: Some("id".into()),
            ..Default::default()
        };
        let e = S3ArtifactStore::new("s3://bucket", &missing).unwrap_err();
        assert!(e.message.contains("cannot read"), "{e}");
        let half = S3Options {
            access_key_id: Some("id".into()),
            ..Default::default()
        };
        assert!(S3ArtifactStore::new("s3://bucket", &half).is_err());
    }

    #[test]
    fn shared_credentials_file() {
        let text = "# generated\n[other]\naws_access_key_id = NO\naws_secret_access_key = NO\n\n[default]\naws_access_key_id = minio-user\naws_secret_access_key = minio pass=word\n";
        let c = parse_shared_credentials(text, "default").unwrap();
        assert_eq!(c.key_id, "minio-user");
        assert_eq!(c.secret, "minio pass=word");
        assert!(c.token.is_none());
        assert_eq!(parse_shared_credentials(text, "other").unwrap().key_id, "NO");
        assert!(parse_shared_credentials(text, "missing").is_none());
        assert!(parse_shared_credentials("[default]\naws_access_key_id = x\n", "default").is_none());
    }

    #[test]
    fn keys_are_not_reencoded() {
        let o = S3Options {
            endpoint: Some("http://127.0.0.1:9".into()),
            access_key_id: Some("id".into()),
            secret_access_key: Some("secret".into()),
            ..Default::default()
        };
        let s = S3ArtifactStore::new("s3://bucket/pre/fix", &o).unwrap();
        assert_eq!(
            s.key("1/r/artifacts/a [1]%~.txt").unwrap().as_ref(),
            "pre/fix/1/r/artifacts/a [1]%~.txt"
        );
        assert_eq!(s.dir_key("").unwrap().unwrap().as_ref(), "pre/fix");
        assert!(s.key("a\u{1}b").is_err());
    }
}

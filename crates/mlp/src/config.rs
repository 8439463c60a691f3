//! Configuration: defaults, then an optional TOML file (`--config` or `MLP_CONFIG`), then
//! `MLP__SECTION__KEY` environment variables, then command-line flags.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where embedded storage lives when no database or artifact root is configured.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub artifacts: ArtifactsConfig,
    pub log: LogConfig,
    pub redis: RedisConfig,
    pub worker: WorkerConfig,
    pub metrics: MetricsConfig,
    pub ui: UiConfig,
    pub auth: AuthConfig,
}

/// Authentication and permissions (MLflow's basic-auth app). Off by default: the embedded
/// default listens on loopback only.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    pub enabled: bool,
    /// The admin created at first start.
    pub admin_username: String,
    pub admin_password: Option<String>,
    /// The admin password from a file (a mounted Secret); wins over `admin_password`.
    pub admin_password_file: Option<PathBuf>,
    /// READ, USE, EDIT, MANAGE or NO_PERMISSIONS: a user's permission on a resource without a
    /// grant.
    pub default_permission: String,
    /// How long a web UI login lasts.
    pub session_hours: u64,
    /// Always mark the session cookie `Secure` (it is anyway when the browser came over https,
    /// as `X-Forwarded-Proto` or the `Origin` tell).
    pub session_cookie_secure: bool,
    /// Single sign-on: bearer JWTs from this identity provider (`auth.oidc.*`).
    pub oidc: OidcConfig,
}

/// OIDC bearer JWTs (see `mlp_server::oidc`). Off while `issuer` is unset.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcConfig {
    /// The `iss` every token must carry, exactly.
    pub issuer: Option<String>,
    /// The `aud` every token must carry (or list), exactly: this server's client id.
    pub audience: Option<String>,
    /// The provider's signing keys: a URL (fetched and cached) or a file (re-read on change).
    pub jwks_url: Option<String>,
    pub jwks_file: Option<PathBuf>,
    /// The claim that names the user.
    pub username_claim: String,
    /// The claim listing the caller's groups; those naming a platform role give it.
    pub roles_claim: String,
    /// A value of the roles claim that makes the caller an admin.
    pub admin_role: Option<String>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer: None,
            audience: None,
            jwks_url: None,
            jwks_file: None,
            username_claim: "preferred_username".into(),
            roles_claim: "groups".into(),
            admin_role: None,
        }
    }
}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl OidcConfig {
    /// The verifier's settings, `None` when OIDC is off; an error names the setting at fault.
    pub fn settings(&self) -> anyhow::Result<Option<mlp_server::oidc::OidcSettings>> {
        use mlp_server::oidc::JwksSource;
        let file = self.jwks_file.as_ref().filter(|f| !f.as_os_str().is_empty());
        let Some(issuer) = set(&self.issuer) else {
            if set(&self.audience).is_some() || set(&self.jwks_url).is_some() || file.is_some() {
                anyhow::bail!(
                    "auth.oidc.issuer (MLP__AUTH__OIDC__ISSUER) is required when other auth.oidc settings are set"
                );
            }
            return Ok(None);
        };
        let audience = set(&self.audience).ok_or_else(|| {
            anyhow::anyhow!("auth.oidc.audience (MLP__AUTH__OIDC__AUDIENCE) is required with auth.oidc.issuer")
        })?;
        let jwks = match (set(&self.jwks_url), file) {
            (Some(_), Some(_)) => anyhow::bail!(
                "auth.oidc.jwks_url and auth.oidc.jwks_file are both set: configure one source of signing keys"
            ),
            (Some(url), None) => JwksSource::Url(url.to_string()),
            (None, Some(f)) => JwksSource::File(f.clone()),
            (None, None) => anyhow::bail!(
                "auth.oidc.issuer is set without signing keys: set auth.oidc.jwks_url (MLP__AUTH__OIDC__JWKS_URL) or auth.oidc.jwks_file (MLP__AUTH__OIDC__JWKS_FILE)"
            ),
        };
        for (name, v) in [
            ("auth.oidc.username_claim", &self.username_claim),
            ("auth.oidc.roles_claim", &self.roles_claim),
        ] {
            if v.trim().is_empty() {
                anyhow::bail!("{name} must not be empty");
            }
        }
        Ok(Some(mlp_server::oidc::OidcSettings {
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            jwks,
            username_claim: self.username_claim.trim().to_string(),
            roles_claim: self.roles_claim.trim().to_string(),
            admin_role: set(&self.admin_role).map(str::to_string),
        }))
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            enabled: false,
            admin_username: "admin".into(),
            admin_password: None,
            admin_password_file: None,
            default_permission: "READ".into(),
            oidc: OidcConfig::default(),
            session_hours: 12,
            session_cookie_secure: false,
        }
    }
}

/// The password is redacted.
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("enabled", &self.enabled)
            .field("admin_username", &self.admin_username)
            .field("admin_password", &self.admin_password.as_ref().map(|_| "<redacted>"))
            .field("admin_password_file", &self.admin_password_file)
            .field("default_permission", &self.default_permission)
            .field("oidc", &self.oidc)
            .field("session_hours", &self.session_hours)
            .field("session_cookie_secure", &self.session_cookie_secure)
            .finish()
    }
}

impl AuthConfig {
    /// The admin password, from its file when one is configured.
    pub fn admin_password(&self) -> anyhow::Result<Option<String>> {
        match &self.admin_password_file {
            Some(file) => {
                let pw = std::fs::read_to_string(file)
                    .map_err(|e| anyhow::anyhow!("cannot read the admin password file {}: {e}", file.display()))?;
                Ok(Some(pw.trim_end_matches(['\n', '\r']).to_string()))
            }
            None => Ok(self.admin_password.clone()),
        }
    }
}

/// `mlp ui`: the frontend as a separate Deployment, forwarding API calls to the backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct UiConfig {
    pub port: u16,
    pub backend_url: String,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            port: 8080,
            backend_url: "http://127.0.0.1:8000".into(),
        }
    }
}

/// Prometheus `/metrics`, on its own port so that the ingress never exposes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsConfig {
    /// 0 disables the endpoint.
    pub port: u16,
    /// Defaults to the server's host.
    pub host: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { port: 9090, host: None }
    }
}

/// Redis, for job dispatch through a stream; without it jobs are dispatched in-process.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisConfig {
    pub url: Option<String>,
    /// A file holding the password (a mounted Kubernetes Secret), inserted into the URL.
    pub password_file: Option<PathBuf>,
}

/// The URL is redacted: it may carry a password.
impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("password_file", &self.password_file)
            .finish()
    }
}

impl RedisConfig {
    /// The URL with the password from `password_file`, if any.
    pub fn resolved_url(&self) -> anyhow::Result<Option<String>> {
        let Some(url) = self.url.clone().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let Some(file) = &self.password_file else {
            return Ok(Some(url));
        };
        let pw = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read the Redis password file {}: {e}", file.display()))?;
        let pw = pw.trim();
        Ok(Some(match url.split_once("://") {
            Some((scheme, rest)) if !rest.contains('@') => format!("{scheme}://:{pw}@{rest}"),
            _ => url,
        }))
    }
}

/// Job workers: the one embedded in `mlp server` and `mlp worker`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerConfig {
    /// Run a worker inside `mlp server` (the embedded default).
    pub embedded: bool,
    pub max_concurrent: usize,
    pub lease_seconds: u64,
    /// Seconds between SIGTERM and SIGKILL when a job is stopped.
    pub grace_seconds: u64,
    /// `local` (processes) or `kubernetes` (a Job per attempt).
    pub executor: String,
    /// Where local job logs are written before they are copied to the artifact store.
    pub work_dir: Option<PathBuf>,
    /// What jobs get as MLFLOW_TRACKING_URI; defaults to this server's loopback address.
    pub tracking_uri: Option<String>,
    /// Kubernetes namespace for job pods.
    pub namespace: String,
    /// The API server for the Kubernetes executor; in-cluster configuration when unset.
    pub kubernetes_api_url: Option<String>,
    pub kubernetes_token_file: Option<PathBuf>,
    /// Kubernetes: a distributed job whose pods are not all running this long after its Job
    /// was created fails the attempt (gang scheduling), and its objects are deleted.
    pub gang_timeout_seconds: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            embedded: true,
            max_concurrent: 2,
            lease_seconds: 30,
            grace_seconds: 10,
            executor: "local".into(),
            work_dir: None,
            tracking_uri: None,
            namespace: "ml-platform".into(),
            kubernetes_api_url: None,
            kubernetes_token_file: None,
            gang_timeout_seconds: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Loopback by default: beyond loopback the server refuses to start without authentication
    /// (or the explicit unsafe flag); see the README's Security section.
    pub host: String,
    pub port: u16,
    /// Listening on a non-loopback address without authentication is refused unless this is set.
    pub unsafe_allow_unauthenticated_network: bool,
    /// Names the server answers to (`Host` header): exact names, `*.domain`, or `*`. Empty: the
    /// loopback names plus the bind address.
    #[serde(deserialize_with = "de_list")]
    pub allowed_hosts: Vec<String>,
    /// Origins allowed to call the API from a browser page of another origin. Empty: none.
    #[serde(deserialize_with = "de_list")]
    pub cors_allowed_origins: Vec<String>,
    /// Addresses or CIDR blocks of the proxies in front (ingress controller, load balancer)
    /// whose `X-Forwarded-For` gives the client's address for login throttling and the logs.
    /// Empty: the TCP peer is the client and the header is ignored.
    #[serde(deserialize_with = "de_list")]
    pub trusted_proxies: Vec<String>,
    /// Connections served at once per listener.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; also the idle keep-alive timeout.
    pub header_read_timeout_secs: u64,
    /// Seconds a JSON API request may take, body included (artifact transfers are exempt).
    pub request_timeout_secs: u64,
}

/// A list from a TOML array or from an environment variable's comma-separated string.
fn de_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        One(String),
        Many(Vec<String>),
    }
    Ok(match List::deserialize(d)? {
        List::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        List::Many(v) => v,
    })
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite://path` or `postgresql://...`; defaults to SQLite in `data_dir`.
    pub url: Option<String>,
    /// A file holding the PostgreSQL password (a mounted Kubernetes Secret); it replaces any
    /// password in the URL. Surrounding whitespace (the trailing newline) is ignored.
    pub password_file: Option<PathBuf>,
    /// PostgreSQL pool size.
    pub max_connections: u32,
    /// How long a request waits for a pooled PostgreSQL connection before answering 503.
    pub acquire_timeout_ms: u64,
    /// `statement_timeout` on every PostgreSQL connection (0 disables it).
    pub statement_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            password_file: None,
            max_connections: 16,
            acquire_timeout_ms: 3_000,
            statement_timeout_ms: 30_000,
        }
    }
}

/// The URL is redacted: it may carry a password.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("password_file", &self.password_file)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_ms", &self.acquire_timeout_ms)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ArtifactsConfig {
    /// A local directory (a path or `file:///path`) or `s3://bucket/prefix`; defaults to
    /// `data_dir/artifacts`.
    pub root: Option<String>,
    /// Options of an `s3://` root (`MLP__ARTIFACTS__S3__ENDPOINT`, `..._ACCESS_KEY_ID`,
    /// `..._SECRET_ACCESS_KEY` or `..._SECRET_ACCESS_KEY_FILE`, ...); secrets are redacted in
    /// `Debug`. Unset values fall back to the standard `AWS_*` environment.
    pub s3: mlp_artifacts::S3Options,
    /// The largest artifact upload accepted, in bytes (`MLP__ARTIFACTS__MAX_UPLOAD_BYTES`);
    /// bounds what one client can write to the store in one request.
    pub max_upload_bytes: u64,
}

impl Default for ArtifactsConfig {
    fn default() -> Self {
        ArtifactsConfig {
            root: None,
            s3: Default::default(),
            max_upload_bytes: 5 << 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `auto` (default: text when stderr is a terminal, JSON otherwise), `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `mlp_server=debug,info`; `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("mlp-data"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            artifacts: ArtifactsConfig::default(),
            log: LogConfig::default(),
            redis: RedisConfig::default(),
            worker: WorkerConfig::default(),
            metrics: MetricsConfig::default(),
            ui: UiConfig::default(),
            auth: AuthConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".into(),
            port: 8000,
            unsafe_allow_unauthenticated_network: false,
            allowed_hosts: Vec::new(),
            cors_allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            max_connections: 512,
            header_read_timeout_secs: 10,
            request_timeout_secs: 60,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "auto".into(),
            level: "info".into(),
        }
    }
}

impl Config {
    pub fn load(file: Option<&PathBuf>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                anyhow::bail!("config file {} does not exist", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(Env::prefixed("MLP__").split("__"));
        // The conventional variable that platforms (and our Kubernetes manifests) hand over.
        if let Ok(url) = std::env::var("DATABASE_URL")
            && std::env::var("MLP__DATABASE__URL").is_err()
        {
            fig = fig.merge(Serialized::default("database.url", url));
        }
        fig.extract().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
    }

    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) if !u.is_empty() => u.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("mlp.db").display()),
        }
    }

    /// The artifact root as given (`s3://…`, `file://…` or a path), or `data_dir/artifacts`.
    pub fn artifact_root_uri(&self) -> String {
        match &self.artifacts.root {
            Some(r) if !r.trim().is_empty() => r.trim().to_string(),
            _ => self.data_dir.join("artifacts").display().to_string(),
        }
    }
}

pub use mlp_core::redact::redact_url;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        for url in [
            "postgresql://u:super/secret@db/mlp",
            "postgresql://u@db/mlp?password=super/secret",
        ] {
            let c = DatabaseConfig {
                url: Some(url.into()),
                ..Default::default()
            };
            assert!(!format!("{c:?}").contains("super/secret"), "{c:?}");
        }
        assert_eq!(
            redact_url("postgresql://u:secret@db:5432/mlp"),
            "postgresql://u:***@db:5432/mlp"
        );
        assert_eq!(redact_url("postgresql://u@db/mlp"), "postgresql://u@db/mlp");
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
        let c = DatabaseConfig {
            url: Some("postgresql://u:hunter2@h/db".into()),
            ..Default::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API, not ours
    fn defaults_and_env() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MLP__SERVER__PORT", "9001");
            jail.set_env("MLP__DATA_DIR", "/tmp/x");
            jail.set_env("MLP__SERVER__ALLOWED_HOSTS", "mlp.example.com, *.svc.cluster.local");
            let c = Config::load(None).unwrap();
            assert_eq!(c.server.allowed_hosts, ["mlp.example.com", "*.svc.cluster.local"]);
            assert!(c.server.cors_allowed_origins.is_empty());
            assert!(!c.server.unsafe_allow_unauthenticated_network);
            assert_eq!(c.server.port, 9001);
            assert_eq!(c.server.host, "127.0.0.1", "loopback unless told otherwise");
            assert_eq!(c.database_url(), "sqlite:///tmp/x/mlp.db");
            assert_eq!(c.database.max_connections, 16);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API, not ours
    fn database_from_env_and_password_file() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgresql://mlp@db:5432/mlp");
            jail.set_env("MLP__DATABASE__PASSWORD_FILE", "/run/secrets/db-password");
            jail.set_env("MLP__DATABASE__MAX_CONNECTIONS", "4");
            let c = Config::load(None).unwrap();
            assert_eq!(c.database_url(), "postgresql://mlp@db:5432/mlp");
            assert_eq!(
                c.database.password_file,
                Some(PathBuf::from("/run/secrets/db-password"))
            );
            assert_eq!(c.database.max_connections, 4);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API, not ours
    fn artifacts_s3_from_file_and_env_redacted() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "mlp.toml",
                r#"
                [artifacts]
                root = "s3://mlp-artifacts/prod"
                [artifacts.s3]
                endpoint = "http://minio:9000"
                region = "eu-west-1"
                path_style = true
                "#,
            )?;
            jail.set_env("MLP__ARTIFACTS__S3__ACCESS_KEY_ID", "AKIAEXAMPLE");
            jail.set_env("MLP__ARTIFACTS__S3__SECRET_ACCESS_KEY", "artifact-secret-value");
            jail.set_env("MLP__ARTIFACTS__S3__SECRET_ACCESS_KEY_FILE", "/var/run/secrets/s3/key");
            jail.set_env("MLP__ARTIFACTS__S3__ALLOW_HTTP", "true");
            let c = Config::load(Some(&PathBuf::from("mlp.toml"))).unwrap();
            assert_eq!(c.artifact_root_uri(), "s3://mlp-artifacts/prod");
            let s3 = &c.artifacts.s3;
            assert_eq!(s3.endpoint.as_deref(), Some("http://minio:9000"));
            assert_eq!(s3.region.as_deref(), Some("eu-west-1"));
            assert_eq!(s3.path_style, Some(true));
            assert_eq!(s3.allow_http, Some(true));
            assert_eq!(s3.access_key_id.as_deref(), Some("AKIAEXAMPLE"));
            assert_eq!(s3.secret_access_key.as_deref(), Some("artifact-secret-value"));
            assert_eq!(
                s3.secret_access_key_file.as_deref(),
                Some(std::path::Path::new("/var/run/secrets/s3/key"))
            );
            let logged = format!("{c:?}");
            assert!(!logged.contains("artifact-secret-value"), "{logged}");
            assert!(logged.contains("minio:9000"), "{logged}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API, not ours
    fn artifacts_default_to_the_data_dir() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MLP__DATA_DIR", "/tmp/x");
            let c = Config::load(None).unwrap();
            assert_eq!(c.artifact_root_uri(), "/tmp/x/artifacts");
            assert!(c.artifacts.s3.endpoint.is_none());
            assert_eq!(c.artifacts.max_upload_bytes, 5 << 30);
            jail.set_env("MLP__ARTIFACTS__MAX_UPLOAD_BYTES", "1048576");
            assert_eq!(Config::load(None).unwrap().artifacts.max_upload_bytes, 1 << 20);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API, not ours
    fn oidc_settings_from_env_and_their_errors() {
        figment::Jail::expect_with(|jail| {
            assert!(Config::load(None).unwrap().auth.oidc.settings().unwrap().is_none());
            jail.set_env("MLP__AUTH__OIDC__ISSUER", "https://idp.example");
            let err = |c: Config| c.auth.oidc.settings().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err(Config::load(None).unwrap()).contains("auth.oidc.audience"));
            jail.set_env("MLP__AUTH__OIDC__AUDIENCE", "mlp");
            assert!(err(Config::load(None).unwrap()).contains("auth.oidc.jwks_url"));
            jail.set_env("MLP__AUTH__OIDC__JWKS_URL", "https://idp.example/jwks");
            jail.set_env("MLP__AUTH__OIDC__JWKS_FILE", "/etc/jwks.json");
            assert!(err(Config::load(None).unwrap()).contains("both set"));
            jail.set_env("MLP__AUTH__OIDC__JWKS_URL", "");
            jail.set_env("MLP__AUTH__OIDC__ROLES_CLAIM", "realm_access.roles");
            let s = Config::load(None).unwrap().auth.oidc.settings().unwrap().unwrap();
            assert_eq!((s.issuer.as_str(), s.audience.as_str()), ("https://idp.example", "mlp"));
            assert!(
                matches!(s.jwks, mlp_server::oidc::JwksSource::File(ref f) if f.to_str() == Some("/etc/jwks.json"))
            );
            assert_eq!(s.username_claim, "preferred_username");
            assert_eq!(s.roles_claim, "realm_access.roles");
            assert_eq!(s.admin_role, None);
            jail.set_env("MLP__AUTH__OIDC__ISSUER", "");
            assert!(err(Config::load(None).unwrap()).contains("auth.oidc.issuer"));
            Ok(())
        });
    }
}

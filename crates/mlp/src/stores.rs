//! Chooses and opens the metadata store from the database URL: `sqlite://…` (or a plain path)
//! for the embedded store, `postgres://…`/`postgresql://…` for PostgreSQL. Opening runs the
//! pending migrations (both `mlp server` and `mlp migrate` go through here).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mlp_core::auth::AuthStore;
use mlp_core::jobs::JobStore;
use mlp_core::registry::RegistryStore;
use mlp_core::store::TrackingStore;
use mlp_core::sweeps::SweepStore;
use mlp_store_postgres::{PgOptions, PgStore};
use mlp_store_sqlite::SqliteStore;

use crate::config::{Config, redact_url};

/// Where experiments put their artifacts: proxied through the server.
const ARTIFACT_ROOT: &str = "mlflow-artifacts:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend(url: &str) -> anyhow::Result<Backend> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("postgres" | "postgresql") => Ok(Backend::Postgres),
        Some("sqlite") => Ok(Backend::Sqlite),
        None if url.starts_with("sqlite:") || !url.contains(':') || url.starts_with('/') => Ok(Backend::Sqlite),
        _ => anyhow::bail!(
            "unsupported database URL '{}': expected sqlite://PATH or postgresql://USER@HOST:PORT/DB",
            redact_url(url)
        ),
    }
}

/// The PostgreSQL options from the configuration, with the password read from its file (and read
/// again by the store while it runs, so that a rotated password is picked up).
pub fn postgres_options(cfg: &Config, url: &str) -> anyhow::Result<PgOptions> {
    let mut opts = PgOptions::new(url);
    if let Some(file) = &cfg.database.password_file {
        let pw = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the database password file {}", file.display()))?;
        opts.password = Some(pw.trim().to_string());
        opts.password_file = Some(file.clone());
    }
    opts.max_connections = cfg.database.max_connections.max(1);
    opts.acquire_timeout = Duration::from_millis(cfg.database.acquire_timeout_ms.max(1));
    opts.statement_timeout = Duration::from_millis(cfg.database.statement_timeout_ms);
    opts.artifact_root = ARTIFACT_ROOT.to_string();
    Ok(opts)
}

/// The one metadata database, seen through each store trait.
#[derive(Clone)]
pub struct Stores {
    pub tracking: Arc<dyn TrackingStore>,
    pub registry: Arc<dyn RegistryStore>,
    pub jobs: Arc<dyn JobStore>,
    pub sweeps: Arc<dyn SweepStore>,
    pub auth: Arc<dyn AuthStore>,
    /// Open and idle connections of the store's pool(s), for the pool gauges.
    pub pool_stats: Arc<dyn Fn() -> (u32, usize) + Send + Sync>,
}

/// Opens the configured store (migrating it).
pub async fn open_stores(cfg: &Config) -> anyhow::Result<Stores> {
    let url = cfg.database_url();
    let context = || format!("cannot open the metadata store at {}", redact_url(&url));
    match backend(&url)? {
        Backend::Sqlite => {
            let store = Arc::new(SqliteStore::open(&url, ARTIFACT_ROOT).await.with_context(context)?);
            let pool = store.clone();
            Ok(Stores {
                tracking: store.clone(),
                registry: store.clone(),
                jobs: store.clone(),
                sweeps: store.clone(),
                auth: store,
                pool_stats: Arc::new(move || pool.pool_stats()),
            })
        }
        Backend::Postgres => {
            let opts = postgres_options(cfg, &url)?;
            tracing::info!(
                url = %mlp_core::redact::redact_url(&opts.url),
                password = if opts.password.is_some() { "from file" } else { "from URL or none" },
                max_connections = opts.max_connections,
                acquire_timeout_ms = opts.acquire_timeout.as_millis() as u64,
                statement_timeout_ms = opts.statement_timeout.as_millis() as u64,
                "opening PostgreSQL"
            );
            let store = Arc::new(PgStore::open(&opts).await.with_context(context)?);
            let pool = store.clone();
            Ok(Stores {
                tracking: store.clone(),
                registry: store.clone(),
                jobs: store.clone(),
                sweeps: store.clone(),
                auth: store,
                pool_stats: Arc::new(move || pool.pool_stats()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_url() {
        assert_eq!(backend("sqlite:///tmp/x.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend("sqlite:x.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend("/var/lib/mlp.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(backend("postgresql://u:p@h:5432/db").unwrap(), Backend::Postgres);
        let err = backend("mysql://u:hunter2@h/db").unwrap_err().to_string();
        assert!(err.contains("unsupported") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn password_file_is_read_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cr3t-pw\n").unwrap();
        let mut cfg = Config::default();
        cfg.database.password_file = Some(file);
        let opts = postgres_options(&cfg, "postgresql://mlp@db/mlp").unwrap();
        assert_eq!(opts.password.as_deref(), Some("s3cr3t-pw"));
        assert_eq!(opts.password_file.as_deref(), cfg.database.password_file.as_deref());
        assert!(!format!("{opts:?}").contains("s3cr3t"));
        cfg.database.password_file = Some(dir.path().join("missing"));
        assert!(postgres_options(&cfg, "postgresql://mlp@db/mlp").is_err());
    }
}

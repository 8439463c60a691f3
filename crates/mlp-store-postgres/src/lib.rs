//! The PostgreSQL back-end: the production metadata store. The queries are those of
//! `mlp-store-sql`, shared with SQLite; what is here is what differs: one connection pool for
//! reads and writes, the bulk insert of metric points, a statement timeout on every connection,
//! versioned migrations applied under an advisory lock so that replicas starting together do not
//! race.
//!
//! Errors that mean "the database is not there right now" (connection refused or reset, pool
//! timeout, admin shutdown, `08xxx`/`57P0x`) become TEMPORARILY_UNAVAILABLE (HTTP 503) and the
//! pool reconnects by itself once the server is back. No error or log line carries the password:
//! connection options are parsed here and only the redacted URL is ever shown.

mod auth;
pub mod testing;

mlp_store_sql::stamp_queries!();

/// What the shared query modules of `mlp-store-sql` are compiled against.
mod backend {
    pub(crate) type Db = sqlx::Postgres;
    pub(crate) type DbRow = sqlx::postgres::PgRow;
    pub(crate) type Store = crate::PgStore;
    pub(crate) use crate::{db_err, insert_metric_points};
    /// sqlx-postgres decodes rows on the calling task (no thread hop per row): the generic path.
    pub(crate) async fn metric_history_json(
        _: &Store,
        _: &str,
        _: &str,
        _: &mlp_core::store::PageRequest,
    ) -> mlp_core::Result<Option<mlp_core::store::RenderedPage>> {
        Ok(None)
    }
    /// Group-commit writer tasks: PostgreSQL commits concurrently, so a few transactions can be
    /// in flight (one flushing its WAL while the next is written), each holding many requests.
    pub(crate) const GROUP_WRITERS: usize = 4;
}

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use mlp_core::metrics::stored_value;
use mlp_core::model::Metric;
use mlp_core::{Error, Result};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

/// Versioned migrations, applied in order inside one transaction each.
const MIGRATIONS: &[migrations::Migration] = &[
    (1, "tracking", include_str!("../migrations/0001_tracking.sql")),
    (2, "registry", include_str!("../migrations/0002_registry.sql")),
    (3, "jobs", include_str!("../migrations/0003_jobs.sql")),
    (4, "long_values", include_str!("../migrations/0004_long_values.sql")),
    (5, "auth", include_str!("../migrations/0005_auth.sql")),
    (
        6,
        "auth_jobs_roles",
        include_str!("../migrations/0006_auth_jobs_roles.sql"),
    ),
    (7, "sweeps", include_str!("../migrations/0007_sweeps.sql")),
];

/// The advisory lock key held while migrating (any constant unique to this application).
const MIGRATION_LOCK: i64 = 0x6d6c_705f_6d69_6772; // "mlp_migr"

/// How to reach the database and how to size the pool.
#[derive(Clone)]
pub struct PgOptions {
    /// `postgres://user[:password]@host[:port]/db[?sslmode=...]`.
    pub url: String,
    /// Overrides the URL's password (e.g. read from a mounted secret file).
    pub password: Option<String>,
    /// The file `password` was read from. It is read again every `password_reload` and at once
    /// after a login is refused, and new connections use what it holds then: a rotated password
    /// (the secret file updated by the kubelet) does not take the server down.
    pub password_file: Option<PathBuf>,
    pub password_reload: Duration,
    pub max_connections: u32,
    pub min_connections: u32,
    /// How long a request waits for a connection before answering 503.
    pub acquire_timeout: Duration,
    /// `statement_timeout` on every connection; zero disables it.
    pub statement_timeout: Duration,
    /// Root under which experiments get their artifact location, e.g. `mlflow-artifacts:`.
    pub artifact_root: String,
}

impl PgOptions {
    pub fn new(url: impl Into<String>) -> Self {
        PgOptions {
            url: url.into(),
            password: None,
            password_file: None,
            password_reload: Duration::from_secs(30),
            max_connections: 16,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(30),
            artifact_root: "mlflow-artifacts:".to_string(),
        }
    }
}

/// The options without the password, for messages.
impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions")
            .field("url", &redact_url(&self.url))
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

pub use mlp_core::redact::redact_url;

#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    pub(crate) artifact_root: String,
    /// For the message of a search cancelled by it (zero: none).
    pub(crate) statement_timeout: Duration,
    pub(crate) group_commit: std::sync::Arc<mlp_store_sql::group_commit::GroupCommit>,
    _password_reloader: Option<Arc<AbortOnDrop>>,
}

/// Stops the password reloader with the last clone of the store.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Woken when the server refuses a login, so that the password file is read again at once
/// instead of at the next reload tick.
static LOGIN_REFUSED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// invalid_password / invalid_authorization_specification.
fn login_refused(code: &str) -> bool {
    code == "28P01" || code == "28000"
}

async fn reload_password(
    pool: PgPool,
    base: PgConnectOptions,
    file: PathBuf,
    mut current: Option<String>,
    every: Duration,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = LOGIN_REFUSED.notified() => {}
        }
        match tokio::fs::read_to_string(&file).await {
            Ok(text) => {
                let pw = text.trim().to_string();
                if current.as_deref() != Some(pw.as_str()) {
                    pool.set_connect_options(base.clone().password(&pw));
                    current = Some(pw);
                    tracing::info!(file = %file.display(), "the database password changed; new connections use the new one");
                }
            }
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "cannot read the database password file again")
            }
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool_size", &self.pool.size())
            .field("artifact_root", &self.artifact_root)
            .finish()
    }
}

/// SQLSTATE classes and codes that mean the server is (momentarily) not there or not able to
/// serve: connection exceptions, shutdowns, too many connections, recovery, and the transient
/// conflicts a retry resolves (serialization failure, deadlock, statement timeout).
fn transient_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("57P")
        || matches!(code, "53300" | "53400" | "40001" | "40P01" | "57014" | "55P03")
}

pub(crate) fn db_err(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => Error::unavailable(format!("The metadata store is unavailable: {e}")),
        // A refused login is what a rotated password looks like until the new one is read: a
        // retryable 503, and a wake-up for the reloader.
        sqlx::Error::Database(db) if db.code().is_some_and(|c| login_refused(&c)) => {
            LOGIN_REFUSED.notify_waiters();
            Error::unavailable(format!("The metadata store is unavailable: {}", db.message()))
        }
        sqlx::Error::Database(db) if db.code().is_some_and(|c| transient_sqlstate(&c)) => {
            Error::unavailable(format!("The metadata store is unavailable: {}", db.message()))
        }
        // SQLite stores any string; PostgreSQL text cannot hold NUL (0x00) characters.
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "22021" || c == "22P05") => {
            Error::invalid(format!("Invalid string value: {}", db.message()))
        }
        _ => Error::internal(format!("metadata store error: {e}")),
    }
}

/// Whether PostgreSQL cancelled the statement because it ran into `statement_timeout` (57014
/// query_canceled is also what an administrator's `pg_cancel_backend` or a shutdown raise; only
/// the message tells them apart).
fn is_statement_timeout(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db)
        if db.code().as_deref() == Some("57014") && db.message().contains("statement timeout"))
}

impl PgStore {
    /// Errors of a search statement. A search only reads and takes no row locks, so when it runs
    /// into the statement timeout the query itself is too expensive: a 503 would make the client
    /// retry it (the mlflow client does), repeating the load on a pool it already strained. It is
    /// the caller's to narrow, hence a 400. Every other error maps as [`db_err`] does (a write
    /// that times out waiting for a lock stays a 503: a retry can succeed).
    pub(crate) fn search_err(&self, e: sqlx::Error) -> Error {
        if is_statement_timeout(&e) {
            return Error::invalid(format!(
                "The search took longer than the statement timeout ({} ms) and was cancelled; narrow the filter \
                 (fewer clauses, fewer runs or experiments) or the order_by.",
                self.statement_timeout.as_millis()
            ));
        }
        db_err(e)
    }
}

/// All points in one statement: arrays unnested server-side, not one round trip each.
pub(crate) async fn insert_metric_points(tx: &mut sqlx::PgConnection, points: &[(&str, &Metric)]) -> Result<()> {
    if points.is_empty() {
        return Ok(());
    }
    let n = points.len();
    let mut runs = Vec::with_capacity(n);
    let (mut keys, mut values, mut nans, mut timestamps, mut steps) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut model_ids, mut dataset_names, mut dataset_digests) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for (run_id, m) in points {
        let (value, is_nan) = stored_value(m.value);
        runs.push(*run_id);
        keys.push(m.key.clone());
        values.push(value);
        nans.push(is_nan);
        timestamps.push(m.timestamp);
        steps.push(m.step);
        model_ids.push(m.model_id.clone());
        dataset_names.push(m.dataset_name.clone());
        dataset_digests.push(m.dataset_digest.clone());
    }
    sqlx::query(
        "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step, model_id, dataset_name, dataset_digest) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::float8[], $4::int8[], $5::int8[], $6::int8[], $7::text[], $8::text[], $9::text[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&runs)
    .bind(&keys)
    .bind(&values)
    .bind(&nans)
    .bind(&timestamps)
    .bind(&steps)
    .bind(&model_ids)
    .bind(&dataset_names)
    .bind(&dataset_digests)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Parses the URL into connection options. The error never repeats the URL (it may hold a
/// password), only its redacted form.
pub fn connect_options(opts: &PgOptions) -> Result<PgConnectOptions> {
    let mut o = PgConnectOptions::from_str(&opts.url).map_err(|_| {
        Error::invalid(format!(
            "invalid PostgreSQL URL '{}': expected postgresql://user@host:port/database",
            redact_url(&opts.url)
        ))
    })?;
    if let Some(p) = &opts.password {
        o = o.password(p);
    }
    if !opts.statement_timeout.is_zero() {
        o = o.options([("statement_timeout", format!("{}ms", opts.statement_timeout.as_millis()))]);
    }
    Ok(o.application_name("mlp"))
}

impl PgStore {
    /// Connects, runs the migrations and makes sure experiment "0" exists.
    pub async fn open(opts: &PgOptions) -> Result<Self> {
        let store = Self::connect(opts).await?;
        store.migrate().await?;
        store.ensure_default_experiment().await?;
        Ok(store)
    }

    /// Connects without migrating (the pool is lazy: no connection is made until first use).
    pub async fn connect(opts: &PgOptions) -> Result<Self> {
        let connect = connect_options(opts)?;
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .min_connections(opts.min_connections)
            .acquire_timeout(opts.acquire_timeout)
            .idle_timeout(Duration::from_secs(300))
            .test_before_acquire(true)
            .connect_lazy_with(connect.clone());
        let reloader = match (&opts.password_file, tokio::runtime::Handle::try_current()) {
            (Some(file), Ok(rt)) => Some(Arc::new(AbortOnDrop(rt.spawn(reload_password(
                pool.clone(),
                connect,
                file.clone(),
                opts.password.clone(),
                opts.password_reload.max(Duration::from_millis(100)),
            ))))),
            _ => None,
        };
        Ok(PgStore {
            pool,
            artifact_root: opts.artifact_root.trim_end_matches('/').to_string(),
            statement_timeout: opts.statement_timeout,
            group_commit: Default::default(),
            _password_reloader: reloader,
        })
    }

    /// Open and idle connections of the pool (the `mlp_store_pool_connections` gauges).
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// The pool, for tests and tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the pending migrations. Holds a session advisory lock for the duration, so that
    /// replicas starting at once apply each migration exactly once.
    pub async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        let result = migrations::apply(
            &mut conn,
            MIGRATIONS,
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await;
        if unlocked.is_err() {
            // The lock is tied to the session: make sure it goes with the connection.
            conn.detach();
        }
        result
    }

    /// One pool serves reads and writes: PostgreSQL runs them concurrently itself.
    pub(crate) fn writer(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn reader(&self) -> &PgPool {
        &self.pool
    }
}

#[cfg(test)]
mod conformance;

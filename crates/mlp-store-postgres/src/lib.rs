//! The PostgreSQL back-end: the production metadata store. Same schema, same SQL shapes and the
//! same behaviour as the SQLite back-end (the shared conformance suite checks it); one connection
//! pool for reads and writes, a statement timeout on every connection, versioned migrations
//! applied under an advisory lock so that replicas starting together do not race.
//!
//! Errors that mean "the database is not there right now" (connection refused or reset, pool
//! timeout, admin shutdown, `08xxx`/`57P0x`) become TEMPORARILY_UNAVAILABLE (HTTP 503) and the
//! pool reconnects by itself once the server is back. No error or log line carries the password:
//! connection options are parsed here and only the redacted URL is ever shown.

mod auth;
mod experiments;
mod jobs;
mod logged_models;
mod query;
mod registry;
mod runs;
pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use mlp_core::model::*;
use mlp_core::store::*;
use mlp_core::{Error, Result};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

pub use query::{Arg, Sql};

/// Versioned migrations, applied in order inside one transaction each.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "tracking", include_str!("../migrations/0001_tracking.sql")),
    (2, "registry", include_str!("../migrations/0002_registry.sql")),
    (3, "jobs", include_str!("../migrations/0003_jobs.sql")),
    (4, "long_values", include_str!("../migrations/0004_long_values.sql")),
    (5, "auth", include_str!("../migrations/0005_auth.sql")),
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

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
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
            .connect_lazy_with(connect);
        Ok(PgStore {
            pool,
            artifact_root: opts.artifact_root.trim_end_matches('/').to_string(),
            statement_timeout: opts.statement_timeout,
        })
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
        let result = migrate_locked(&mut conn).await;
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

    pub(crate) fn experiment_artifact_location(&self, id: i64) -> String {
        format!("{}/{id}", self.artifact_root)
    }
}

async fn migrate_locked(conn: &mut sqlx::PgConnection) -> Result<()> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(db_err)?;
        sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(db_err)?;
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(version)
            .bind(*name)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        tracing::info!(version, name, "applied migration");
    }
    Ok(())
}

#[async_trait]
impl TrackingStore for PgStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }

    async fn create_experiment(&self, name: &str, artifact_location: Option<&str>, tags: &[Tag]) -> Result<String> {
        self.create_experiment_impl(name, artifact_location, tags).await
    }
    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        self.get_experiment_impl(experiment_id).await
    }
    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        self.get_experiment_by_name_impl(name).await
    }
    async fn search_experiments(&self, q: &SearchExperiments) -> Result<Page<Experiment>> {
        self.search_experiments_impl(q).await
    }
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        self.rename_experiment_impl(experiment_id, new_name).await
    }
    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        self.set_experiment_stage(experiment_id, LifecycleStage::Deleted).await
    }
    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.set_experiment_stage(experiment_id, LifecycleStage::Active).await
    }
    async fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()> {
        self.set_experiment_tag_impl(experiment_id, tag).await
    }
    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        self.delete_experiment_tag_impl(experiment_id, key).await
    }

    async fn create_run(&self, req: &CreateRun) -> Result<Run> {
        self.create_run_impl(req).await
    }
    async fn get_run(&self, run_id: &str) -> Result<Run> {
        self.get_run_impl(run_id).await
    }
    async fn update_run(&self, req: &UpdateRun) -> Result<RunInfo> {
        self.update_run_impl(req).await
    }
    async fn delete_run(&self, run_id: &str) -> Result<()> {
        self.set_run_stage(run_id, LifecycleStage::Deleted).await
    }
    async fn restore_run(&self, run_id: &str) -> Result<()> {
        self.set_run_stage(run_id, LifecycleStage::Active).await
    }
    async fn log_batch(&self, req: &LogBatch) -> Result<()> {
        self.log_batch_impl(req).await
    }
    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        self.delete_tag_impl(run_id, key).await
    }
    async fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput], models: &[ModelInput]) -> Result<()> {
        self.log_inputs_impl(run_id, datasets, models).await
    }
    async fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        self.log_outputs_impl(run_id, models).await
    }
    async fn search_runs(&self, q: &SearchRuns) -> Result<Page<Run>> {
        self.search_runs_impl(q).await
    }
    async fn get_metric_history(&self, run_id: &str, key: &str, page: &PageRequest) -> Result<Page<Metric>> {
        self.get_metric_history_impl(run_id, key, page).await
    }
    async fn get_metric_history_bulk_interval(
        &self,
        run_ids: &[String],
        key: &str,
        start_step: Option<i64>,
        end_step: Option<i64>,
        max_results: u64,
    ) -> Result<Vec<MetricWithRunId>> {
        self.get_metric_history_bulk_interval_impl(run_ids, key, start_step, end_step, max_results)
            .await
    }

    async fn create_logged_model(&self, req: &CreateLoggedModel) -> Result<LoggedModel> {
        self.create_logged_model_impl(req).await
    }
    async fn get_logged_model(&self, model_id: &str, allow_deleted: bool) -> Result<LoggedModel> {
        self.get_logged_model_impl(model_id, allow_deleted).await
    }
    async fn finalize_logged_model(&self, model_id: &str, status: LoggedModelStatus) -> Result<LoggedModel> {
        self.finalize_logged_model_impl(model_id, status).await
    }
    async fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        self.delete_logged_model_impl(model_id).await
    }
    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        self.set_logged_model_tags_impl(model_id, tags).await
    }
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        self.delete_logged_model_tag_impl(model_id, key).await
    }
    async fn log_logged_model_params(&self, model_id: &str, params: &[Param]) -> Result<()> {
        self.log_logged_model_params_impl(model_id, params).await
    }
    async fn search_logged_models(&self, q: &SearchLoggedModels) -> Result<Page<LoggedModel>> {
        self.search_logged_models_impl(q).await
    }
}

#[cfg(test)]
mod conformance;

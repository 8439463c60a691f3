//! The SQLite back-end: the embedded default. WAL mode, one writer connection (SQLite serialises
//! writers anyway; one connection avoids busy-waiting) and a pool of read-only connections, so
//! searches never wait behind a log-batch.

mod auth;
mod experiments;
mod jobs;
mod logged_models;
mod query;
mod registry;
mod runs;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use mlp_core::model::*;
use mlp_core::store::*;
use mlp_core::{Error, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use query::{Arg, Sql};

/// Versioned migrations, applied in order inside one transaction each.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "tracking", include_str!("../migrations/0001_tracking.sql")),
    (2, "registry", include_str!("../migrations/0002_registry.sql")),
    (3, "jobs", include_str!("../migrations/0003_jobs.sql")),
    (4, "exact_doubles", include_str!("../migrations/0004_exact_doubles.sql")),
    (5, "auth", include_str!("../migrations/0005_auth.sql")),
];

#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
    /// Root under which experiments get their artifact location, e.g. `mlflow-artifacts:`.
    pub(crate) artifact_root: String,
}

pub(crate) fn db_err(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            Error::unavailable(format!("The metadata store is unavailable: {e}"))
        }
        sqlx::Error::Database(db) if db.message().contains("locked") || db.message().contains("busy") => {
            Error::unavailable(format!("The metadata store is busy: {e}"))
        }
        // SQLite's limits on one statement. The search limits of `mlp_core::validation` keep
        // every statement we build far below them; should one still be reached, the request
        // was too large, which is for the client to fix, not a server fault.
        sqlx::Error::Database(db) if statement_too_large(db.message()) => Error::invalid(format!(
            "The search is too large for the metadata store ({}); narrow the filter.",
            db.message()
        )),
        _ => Error::internal(format!("metadata store error: {e}")),
    }
}

fn statement_too_large(message: &str) -> bool {
    [
        "too many SQL variables",
        "LIKE or GLOB pattern too complex",
        "Expression tree is too large",
        "too many terms in compound SELECT",
        "string or blob too big",
        "parser stack overflow",
    ]
    .iter()
    .any(|m| message.contains(m))
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

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or a plain path), runs
    /// the migrations and makes sure experiment "0" exists.
    pub async fn open(url: &str, artifact_root: &str) -> Result<Self> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::internal(format!("cannot create {}: {e}", parent.display())))?;
        }
        let base = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(|e| Error::invalid(format!("invalid SQLite URL '{url}': {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode keeps every committed transaction across a process crash
            // (kill -9); only an OS crash can lose the last ones.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("case_sensitive_like", "ON")
            .pragma("cache_size", "-32000");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone())
            .await
            .map_err(db_err)?;
        let store = SqliteStore {
            reader: writer.clone(),
            writer,
            artifact_root: artifact_root.trim_end_matches('/').to_string(),
        };
        store.migrate().await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true))
            .await
            .map_err(db_err)?;
        let store = SqliteStore { reader, ..store };
        store.ensure_default_experiment().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)")
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&self.writer)
            .await
            .map_err(db_err)?;
        for (version, name, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            let mut tx = self.writer.begin().await.map_err(db_err)?;
            sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(db_err)?;
            sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
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

    pub(crate) fn experiment_artifact_location(&self, id: i64) -> String {
        format!("{}/{id}", self.artifact_root)
    }
}

#[async_trait]
impl TrackingStore for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await.map_err(db_err)?;
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
mod tests {
    use super::*;

    /// Real SQLite errors for statements past its limits come out as 400, not 500.
    #[tokio::test]
    async fn statements_past_sqlite_limits_are_invalid_parameters() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let vars = vec!["?"; 40_000].join(", ");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT 1 WHERE 1 IN ({vars})")));
        for i in 0..40_000 {
            q = q.bind(i);
        }
        let pattern = "%a".repeat(30_000);
        let deep = format!("SELECT 1 WHERE {}", vec!["1 = 1"; 1500].join(" AND "));
        let errors = [
            q.fetch_all(&pool).await.unwrap_err(),
            sqlx::query("SELECT 'a' LIKE ?")
                .bind(pattern)
                .fetch_all(&pool)
                .await
                .unwrap_err(),
            sqlx::query(sqlx::AssertSqlSafe(deep))
                .fetch_all(&pool)
                .await
                .unwrap_err(),
        ];
        for e in errors {
            let shown = e.to_string();
            let err = db_err(e);
            assert_eq!(err.code, mlp_core::ErrorCode::InvalidParameterValue, "{shown}");
        }
        let other = sqlx::query("SELECT * FROM no_such_table")
            .fetch_all(&pool)
            .await
            .unwrap_err();
        assert_eq!(db_err(other).code, mlp_core::ErrorCode::InternalError);
    }
}

#[cfg(test)]
mod conformance {
    use super::SqliteStore;

    struct Fixture(#[allow(dead_code)] tempfile::TempDir);

    impl mlp_store_tests::StoreFixture for Fixture {
        type Store = SqliteStore;
        async fn new() -> (Self, SqliteStore) {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("mlp.db").display());
            let store = SqliteStore::open(&url, "mlflow-artifacts:").await.unwrap();
            (Fixture(dir), store)
        }
    }

    mlp_store_tests::store_conformance_suite!(Fixture);
    mlp_store_tests::auth_conformance_suite!(Fixture);
}

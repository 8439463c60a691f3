//! The SQLite back-end: the embedded default. WAL mode, one writer connection (SQLite serialises
//! writers anyway; one connection avoids busy-waiting) and a pool of read-only connections, so
//! searches never wait behind a log-batch. The queries are those of `mlp-store-sql`, shared with
//! PostgreSQL; what is here is what differs: connections, migrations, error mapping and the
//! insert of metric points.

mod auth;
mod history;

mlp_store_sql::stamp_queries!();

/// What the shared query modules of `mlp-store-sql` are compiled against.
mod backend {
    pub(crate) type Db = sqlx::Sqlite;
    pub(crate) type DbRow = sqlx::sqlite::SqliteRow;
    pub(crate) type Store = crate::SqliteStore;
    pub(crate) use crate::{db_err, insert_metric_points, metric_history_json};
    /// Group-commit writer tasks: SQLite has one writer connection, so one.
    pub(crate) const GROUP_WRITERS: usize = 1;
}

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use mlp_core::metrics::stored_value;
use mlp_core::model::Metric;
use mlp_core::{Error, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

/// Versioned migrations, applied in order inside one transaction each.
const MIGRATIONS: &[migrations::Migration] = &[
    (1, "tracking", include_str!("../migrations/0001_tracking.sql")),
    (2, "registry", include_str!("../migrations/0002_registry.sql")),
    (3, "jobs", include_str!("../migrations/0003_jobs.sql")),
    (4, "exact_doubles", include_str!("../migrations/0004_exact_doubles.sql")),
    (5, "auth", include_str!("../migrations/0005_auth.sql")),
    (
        6,
        "auth_jobs_roles",
        include_str!("../migrations/0006_auth_jobs_roles.sql"),
    ),
    (7, "sweeps", include_str!("../migrations/0007_sweeps.sql")),
];

#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
    /// Root under which experiments get their artifact location, e.g. `mlflow-artifacts:`.
    pub(crate) artifact_root: String,
    pub(crate) group_commit: std::sync::Arc<mlp_store_sql::group_commit::GroupCommit>,
    /// The raw read path of metric histories (`None` for an in-memory database).
    pub(crate) history: Option<std::sync::Arc<history::HistoryReader>>,
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

/// The history points of a group, 100 rows per statement: one prepared statement reused per
/// chunk (SQLite has no array parameters) instead of one round trip through the driver per point.
pub(crate) async fn insert_metric_points(tx: &mut sqlx::SqliteConnection, points: &[(&str, &Metric)]) -> Result<()> {
    use mlp_store_sql::Arg;
    for chunk in points.chunks(mlp_store_sql::ROWS_PER_INSERT) {
        let mut sql = mlp_store_sql::Sql::<sqlx::Sqlite>::new(
            "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step, model_id, dataset_name, dataset_digest) VALUES ",
        );
        sql.values(chunk.iter().map(|(run_id, m)| {
            let (value, is_nan) = stored_value(m.value);
            vec![
                Arg::Text(run_id.to_string()),
                Arg::Text(m.key.clone()),
                Arg::Real(value),
                Arg::Int(is_nan),
                Arg::Int(m.timestamp),
                Arg::Int(m.step),
                Arg::OptText(m.model_id.clone()),
                Arg::OptText(m.dataset_name.clone()),
                Arg::OptText(m.dataset_digest.clone()),
            ]
        }));
        sql.push(" ON CONFLICT DO NOTHING");
        sql.build().execute(&mut *tx).await.map_err(db_err)?;
    }
    Ok(())
}

/// History pages through SQLite's own API (see `history`), on a blocking thread.
pub(crate) async fn metric_history_json(
    store: &SqliteStore,
    run_id: &str,
    key: &str,
    page: &mlp_core::store::PageRequest,
) -> Result<Option<mlp_core::store::RenderedPage>> {
    let Some(reader) = store.history.clone() else {
        return Ok(None);
    };
    let _permit = reader
        .permits
        .acquire()
        .await
        .map_err(|_| Error::unavailable("The history reader is closed."))?;
    let (run_id, key, page) = (run_id.to_string(), key.to_string(), page.clone());
    let task_reader = reader.clone();
    let rendered = tokio::task::spawn_blocking(move || task_reader.page(&run_id, &key, &page))
        .await
        .map_err(|e| Error::internal(format!("history reader task failed: {e}")))??;
    Ok(Some(rendered))
}

impl SqliteStore {
    /// Open and idle connections of the writer and reader pools together.
    pub fn pool_stats(&self) -> (u32, usize) {
        (
            self.writer.size() + self.reader.size(),
            self.writer.num_idle() + self.reader.num_idle(),
        )
    }
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
            group_commit: Default::default(),
            history: history::HistoryReader::new(path).map(std::sync::Arc::new),
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
        let mut conn = self.writer.acquire().await.map_err(db_err)?;
        migrations::apply(
            &mut conn,
            MIGRATIONS,
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .await
    }

    /// The connection that writes: SQLite has one, so writes queue here instead of busy-waiting.
    pub(crate) fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// The read-only pool, so that searches never wait behind a write.
    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// A search fails as any other statement does: SQLite has no statement timeout.
    pub(crate) fn search_err(&self, e: sqlx::Error) -> Error {
        db_err(e)
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

#[cfg(test)]
mod group_commit {
    /// Concurrent writers share transactions (fewer commits than requests), and every answer is
    /// still the request's own (the conformance test checks the answers and the rows).
    #[tokio::test]
    async fn concurrent_writes_share_transactions() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("mlp.db").display());
        let store = super::SqliteStore::open(&url, "mlflow-artifacts:").await.unwrap();
        let (_, answers) = mlp_store_tests::concurrent::concurrent_workload(&store).await;
        assert!(answers.iter().any(|a| a.is_err()) && answers.iter().any(|a| a.is_ok()));
        let (groups, requests) = store.group_commit.stats();
        assert!(requests >= answers.len() as u64, "{groups} groups, {requests} requests");
        assert!(groups < requests / 2, "{groups} transactions for {requests} requests");
    }
}

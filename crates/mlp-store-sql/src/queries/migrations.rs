// Written once, compiled into each back-end by `mlp_store_sql::stamp_queries!` against the
// back-end's `crate::backend` (its sqlx database, row type, store and error mapping).

use mlp_core::Result;
use mlp_core::clock::now_ms;

use crate::backend::{Db, db_err};

/// One versioned migration: its number, its name and the SQL that applies it.
pub(crate) type Migration = (i64, &'static str, &'static str);

/// Applies the migrations not yet recorded in `schema_migrations`, in order, each in its own
/// transaction with its record, so that a crash leaves every migration applied or not at all.
/// `create_table` creates `schema_migrations` in the back-end's types. The caller makes sure
/// nobody else migrates at the same time (SQLite: one writer; PostgreSQL: an advisory lock).
pub(crate) async fn apply(
    conn: &mut <Db as sqlx::Database>::Connection,
    migrations: &[Migration],
    create_table: &'static str,
) -> Result<()> {
    sqlx::query(create_table).execute(&mut *conn).await.map_err(db_err)?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    for (version, name, sql) in migrations {
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

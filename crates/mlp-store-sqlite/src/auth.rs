//! Users, grants and tokens on SQLite: the shared implementation of `mlp-store-auth`, reading
//! through the read pool and writing through the one writer.

use crate::{SqliteStore, db_err};
use mlp_store_sql::is_unique_violation;

mlp_store_auth::impl_auth_store!(
    SqliteStore,
    row = sqlx::sqlite::SqliteRow,
    reader = reader,
    writer = writer,
    sqlite = true
);

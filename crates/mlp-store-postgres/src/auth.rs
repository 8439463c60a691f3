//! Users, grants and tokens on PostgreSQL: the shared implementation of `mlp-store-auth`.

use crate::{PgStore, db_err};
use mlp_store_sql::is_unique_violation;

mlp_store_auth::impl_auth_store!(
    PgStore,
    row = sqlx::postgres::PgRow,
    reader = pool,
    writer = pool,
    sqlite = false
);

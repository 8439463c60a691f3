//! Dynamic SQL for searches: the shared builder of `mlp-store-sql`, in the PostgreSQL dialect.

pub use mlp_store_sql::{
    Arg, compare, kv_clause, metric_clause, order_term, push_exists, push_order_expr, run_clause, run_order,
};

/// SQL text with `?` placeholders (rendered as `$n`) and its arguments.
pub type Sql = mlp_store_sql::Sql<sqlx::Postgres>;

//! The SQL store, written once for the SQLite and PostgreSQL back-ends.
//!
//! - The query modules under `src/queries/` implement the store traits. They are compiled into
//!   each back-end crate by [`stamp_queries!`], against a `crate::backend` module that the
//!   back-end provides (its sqlx database `Db`, row type `DbRow`, the `Store`, `db_err` and the
//!   bulk insert of metric points). Stamping rather than generic code over `sqlx::Database`
//!   keeps every query concrete: generic code would need an `Encode`/`Decode`/`Type` bound per
//!   bound or read type and an `Executor` bound per pool and connection, on every function.
//!   Static statements use `$n` placeholders, which both databases accept.
//! - Dynamic SQL for searches: the filter AST of `mlp_core::search` translated into WHERE and
//!   ORDER BY clauses with bound arguments (never interpolated values).
//!
//! Text is built with `?` placeholders whatever the dialect; [`Sql::build`] renders them as
//! `$1, $2, ...` for PostgreSQL. Fragments can therefore be built separately and spliced
//! (see [`push_order_expr`]) without renumbering. The dialect is a type parameter so that each
//! back-end names its own `Sql` (`type Sql = mlp_store_sql::Sql<Sqlite>`) and cannot build a
//! query for the other database.

pub mod group_commit;

use std::marker::PhantomData;

use mlp_core::search::{Clause, Comparator, Entity, OrderBy, Value};
use mlp_core::{Error, Result};
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::sqlite::{Sqlite, SqliteArguments};
use sqlx::{AssertSqlSafe, query::Query};

/// What differs between the SQL dialects the builder emits.
pub trait Dialect: Send + Sync + 'static {
    /// Appended to every LIKE so that both databases treat `\` as an ordinary character:
    /// SQLite has no escape character by default, PostgreSQL's default is the backslash.
    const LIKE_SUFFIX: &'static str;
    /// Whether `?` placeholders are rendered as `$n`.
    const NUMBERED: bool;
    /// Put after a bound text argument inside `LOWER()`: PostgreSQL would otherwise lower-case
    /// it in the database's default locale (non-ASCII letters too) while the columns use "C",
    /// which, like SQLite's LOWER, only folds ASCII.
    const PARAM_COLLATE: &'static str;
}

impl Dialect for Sqlite {
    const LIKE_SUFFIX: &'static str = "";
    const NUMBERED: bool = false;
    const PARAM_COLLATE: &'static str = "";
}

impl Dialect for Postgres {
    const LIKE_SUFFIX: &'static str = " ESCAPE ''";
    const NUMBERED: bool = true;
    const PARAM_COLLATE: &'static str = " COLLATE \"C\"";
}

/// Renders the `?` placeholders of `text` as `$1, $2, ...`, leaving quoted literals and
/// identifiers alone.
pub fn number_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut n = 0;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    out.push(c);
                }
                '?' => {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                }
                _ => out.push(c),
            },
        }
    }
    out
}

#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
    Real(f64),
    /// A nullable text column (bound as a typed NULL when `None`).
    OptText(Option<String>),
}

/// Rows per multi-row INSERT: 100 rows of up to 9 columns stay far below SQLite's variable
/// limit, and a batch of 1,000 metrics costs 10 statements instead of 1,000.
pub const ROWS_PER_INSERT: usize = 100;

/// Lists longer than this are bound as one JSON array instead of one variable per item.
const MAX_INLINE_LIST: usize = 500;

/// SQL text with its positional arguments, built up piece by piece.
#[derive(Debug)]
pub struct Sql<D> {
    pub text: String,
    pub args: Vec<Arg>,
    dialect: PhantomData<D>,
}

impl<D: Dialect> Sql<D> {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
            dialect: PhantomData,
        }
    }
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    pub fn arg(&mut self, a: Arg) -> &mut Self {
        self.text.push('?');
        self.args.push(a);
        self
    }
    /// `(?, ?, …), (?, ?, …)`: one tuple per row, for multi-row INSERTs. Callers keep
    /// rows × columns below SQLite's 32,766 variables (chunks of [`ROWS_PER_INSERT`]).
    pub fn values(&mut self, rows: impl IntoIterator<Item = Vec<Arg>>) -> &mut Self {
        for (i, row) in rows.into_iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            for (j, a) in row.into_iter().enumerate() {
                if j > 0 {
                    self.push(", ");
                }
                self.arg(a);
            }
            self.push(")");
        }
        self
    }

    pub fn text_arg(&mut self, s: &str) -> &mut Self {
        self.arg(Arg::Text(s.to_string()))
    }
    /// `(?, ?, ...)` for an IN list; an empty list becomes `(NULL)`, which matches nothing. A
    /// long list (a user's `run_id IN (...)`, a 50 000-run page) travels as one JSON array read
    /// with `json_each`, because SQLite caps the bound variables of a statement (32 766).
    pub fn list(&mut self, items: impl IntoIterator<Item = Arg>) -> &mut Self {
        let items: Vec<Arg> = items.into_iter().collect();
        if items.len() > MAX_INLINE_LIST {
            let json: Vec<serde_json::Value> = items
                .into_iter()
                .map(|a| match a {
                    Arg::Text(s) => s.into(),
                    Arg::Int(i) => i.into(),
                    Arg::Real(f) => f.into(),
                    Arg::OptText(t) => t.into(),
                })
                .collect();
            let cast = match json.first() {
                Some(serde_json::Value::Number(n)) if n.is_i64() => "::bigint",
                Some(serde_json::Value::Number(_)) => "::double precision",
                _ => "",
            };
            if D::NUMBERED {
                // PostgreSQL: the same JSON array, unpacked with jsonb and cast to the column type.
                self.text
                    .push_str(&format!("(SELECT t.value{cast} FROM jsonb_array_elements_text("));
                self.arg(Arg::Text(serde_json::Value::Array(json).to_string()));
                self.text.push_str("::jsonb) AS t(value))");
            } else {
                self.text.push_str("(SELECT value FROM json_each(");
                self.arg(Arg::Text(serde_json::Value::Array(json).to_string()));
                self.text.push_str("))");
            }
            return self;
        }
        self.text.push('(');
        let mut first = true;
        for a in items {
            if !first {
                self.text.push_str(", ");
            }
            first = false;
            self.arg(a);
        }
        if first {
            self.text.push_str("NULL");
        }
        self.text.push(')');
        self
    }
    /// The text as the database expects it (`$n` placeholders for PostgreSQL).
    pub fn rendered(&self) -> String {
        if D::NUMBERED {
            number_placeholders(&self.text)
        } else {
            self.text.clone()
        }
    }
}

impl Sql<Sqlite> {
    pub fn build(self) -> Query<'static, Sqlite, SqliteArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.rendered()));
        for a in self.args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
                Arg::Real(f) => q.bind(f),
                Arg::OptText(t) => q.bind(t),
            };
        }
        q
    }
}

impl Sql<Postgres> {
    pub fn build(self) -> Query<'static, Postgres, PgArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.rendered()));
        for a in self.args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
                Arg::Real(f) => q.bind(f),
                Arg::OptText(t) => q.bind(t),
            };
        }
        q
    }
}

// The query modules compile inside each back-end, never here; `cfg(any())` keeps them out of
// this crate while `cargo fmt` still follows the declaration and formats them.
#[cfg(any())]
mod queries;

/// Whether the insert or update failed on a unique constraint (a name taken, a race lost).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Compiles the query modules of `src/queries/` into the calling back-end crate, which must
/// provide `crate::backend` (see the crate documentation). The path is taken from the calling
/// crate's manifest directory, as both back-ends sit beside this crate in `crates/`.
#[macro_export]
macro_rules! stamp_queries {
    () => {
        $crate::stamp_queries!(experiments, jobs, logged_models, migrations, registry, runs, sweeps, tracking);
    };
    ($($module:ident),+) => {
        $(
            mod $module {
                include!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../mlp-store-sql/src/queries/",
                    stringify!($module),
                    ".rs"
                ));
            }
        )+
    };
}

pub fn sql_op(op: Comparator) -> &'static str {
    match op {
        Comparator::Eq => "=",
        Comparator::Ne => "!=",
        Comparator::Lt => "<",
        Comparator::Le => "<=",
        Comparator::Gt => ">",
        Comparator::Ge => ">=",
        Comparator::Like => "LIKE",
        Comparator::ILike => "LIKE",
        Comparator::In => "IN",
        Comparator::NotIn => "NOT IN",
        Comparator::IsNull => "IS NULL",
        Comparator::IsNotNull => "IS NOT NULL",
    }
}

/// `<column> <op> <value>` for string or numeric comparisons, with ILIKE as LOWER() LIKE LOWER().
pub fn compare<D: Dialect>(sql: &mut Sql<D>, column: &str, op: Comparator, value: &Value) -> Result<()> {
    match (op, value) {
        (Comparator::ILike, Value::Str(s)) => {
            sql.push(&format!("LOWER({column}) LIKE LOWER("))
                .text_arg(s)
                .push(D::PARAM_COLLATE)
                .push(")")
                .push(D::LIKE_SUFFIX);
        }
        (Comparator::In | Comparator::NotIn, Value::List(items)) => {
            sql.push(&format!("{column} {} ", sql_op(op)));
            sql.list(items.iter().map(|s| Arg::Text(s.clone())));
        }
        (Comparator::IsNull | Comparator::IsNotNull, _) => {
            sql.push(&format!("{column} {}", sql_op(op)));
        }
        (_, Value::Str(s)) => {
            sql.push(&format!("{column} {} ", sql_op(op))).text_arg(s);
            if op == Comparator::Like {
                sql.push(D::LIKE_SUFFIX);
            }
        }
        (_, Value::Num(n)) => {
            sql.push(&format!("{column} {} ", sql_op(op))).arg(Arg::Real(*n));
        }
        _ => {
            return Err(Error::invalid(format!("Invalid value {value:?} for comparator {op:?}")));
        }
    }
    Ok(())
}

/// An existence test over a correlated sub-query: `body` writes its `FROM ... WHERE ...`.
///
/// It is written as a scalar sub-query, `(SELECT 1 ... LIMIT 1) IS [NOT] NULL`, not as
/// `[NOT] EXISTS (...)`, on purpose. PostgreSQL turns every top-level EXISTS of a WHERE into a
/// semi-join (NOT EXISTS into an anti-join) and plans them all as one join problem, whose
/// planning time grows far faster than the number of clauses (a 100-clause filter over 300 runs
/// took 2.2 s, 200 clauses 12 s, 500 the whole statement timeout). A scalar sub-query is never
/// pulled up: each clause stays one index probe per candidate row, so the cost is linear in the
/// number of clauses, which is how SQLite runs EXISTS anyway. The meaning is the same.
pub fn push_exists<D: Dialect>(
    sql: &mut Sql<D>,
    negated: bool,
    body: impl FnOnce(&mut Sql<D>) -> Result<()>,
) -> Result<()> {
    sql.push("(SELECT 1 ");
    body(sql)?;
    sql.push(if negated {
        " LIMIT 1) IS NULL"
    } else {
        " LIMIT 1) IS NOT NULL"
    });
    Ok(())
}

/// A key/value child table (`params`, `tags`, `experiment_tags`...) filtered through an
/// existence test, as MLflow's inner joins do: `!=` and LIKE only match rows that have the key.
pub fn kv_clause<D: Dialect>(sql: &mut Sql<D>, table: &str, fk: &str, outer: &str, c: &Clause) -> Result<()> {
    push_exists(sql, c.op == Comparator::IsNull, |sql| {
        sql.push(&format!("FROM {table} kv WHERE kv.{fk} = {outer} AND kv.key = "))
            .text_arg(&c.key);
        if !matches!(c.op, Comparator::IsNull | Comparator::IsNotNull) {
            sql.push(" AND ");
            compare(sql, "kv.value", c.op, &c.value)?;
        }
        Ok(())
    })
}

/// A numeric comparison against the latest value of a metric (NaN never matches).
pub fn metric_clause<D: Dialect>(sql: &mut Sql<D>, table: &str, fk: &str, outer: &str, c: &Clause) -> Result<()> {
    let Value::Num(_) = c.value else {
        return Err(Error::invalid(format!(
            "Expected a numeric value for metric '{}'",
            c.key
        )));
    };
    push_exists(sql, false, |sql| {
        sql.push(&format!("FROM {table} m WHERE m.{fk} = {outer} AND m.key = "))
            .text_arg(&c.key);
        // NaN compares unequal to everything and is neither smaller nor larger than anything.
        if c.op == Comparator::Ne {
            sql.push(" AND (m.is_nan = 1 OR ");
        } else {
            sql.push(" AND (m.is_nan = 0 AND ");
        }
        compare(sql, "m.value", c.op, &c.value)?;
        sql.push(")");
        Ok(())
    })
}

/// Appends `ORDER BY` terms; `None` and NaN sort last whatever the direction.
pub fn order_term<D: Dialect>(sql: &mut Sql<D>, expr: &str, ascending: bool) {
    let dir = if ascending { "ASC" } else { "DESC" };
    sql.push(&format!("({expr}) IS NULL, ({expr}) {dir}"));
}

/// Run search filter → SQL over `runs r`.
pub fn run_clause<D: Dialect>(sql: &mut Sql<D>, c: &Clause) -> Result<()> {
    match c.entity {
        Entity::Metric => metric_clause(sql, "latest_metrics", "run_uuid", "r.run_uuid", c),
        Entity::Param => kv_clause(sql, "params", "run_uuid", "r.run_uuid", c),
        Entity::Tag => kv_clause(sql, "tags", "run_uuid", "r.run_uuid", c),
        Entity::Attribute => {
            let column = run_attribute_column(&c.key)?;
            compare(sql, column, c.op, &c.value)
        }
        Entity::Dataset => {
            let column = match c.key.as_str() {
                "name" => "d.name",
                "digest" => "d.digest",
                "context" => "dt.value",
                other => return Err(Error::invalid(format!("Invalid dataset key '{other}'"))),
            };
            push_exists(sql, false, |sql| {
                sql.push(
                    "FROM run_dataset_inputs di JOIN datasets d ON d.dataset_uuid = di.dataset_uuid \
                     LEFT JOIN run_dataset_input_tags dt ON dt.run_uuid = di.run_uuid AND dt.dataset_uuid = di.dataset_uuid AND dt.key = 'mlflow.data.context' \
                     WHERE di.run_uuid = r.run_uuid AND ",
                );
                compare(sql, column, c.op, &c.value)
            })
        }
    }
}

pub fn run_attribute_column(key: &str) -> Result<&'static str> {
    Ok(match key {
        "run_id" | "run_uuid" => "r.run_uuid",
        "run_name" => "r.name",
        "status" => "r.status",
        "user_id" => "r.user_id",
        "artifact_uri" => "r.artifact_uri",
        "start_time" | "created" => "r.start_time",
        "end_time" => "r.end_time",
        "lifecycle_stage" => "r.lifecycle_stage",
        "experiment_id" => "r.experiment_id",
        other => {
            return Err(Error::invalid(format!("Invalid attribute key '{other}' specified.")));
        }
    })
}

/// One run `order_by` term as an SQL expression (bound key arguments are appended to `sql`).
pub fn run_order<D: Dialect>(sql: &mut Sql<D>, o: &OrderBy) -> Result<()> {
    match o.entity {
        Entity::Metric => {
            // Values first, then NaN, then runs without the metric, in both directions.
            let dir = if o.ascending { "ASC" } else { "DESC" };
            sql.push("COALESCE((SELECT m.is_nan FROM latest_metrics m WHERE m.run_uuid = r.run_uuid AND m.key = ")
                .text_arg(&o.key)
                .push("), 2), (SELECT m.value FROM latest_metrics m WHERE m.run_uuid = r.run_uuid AND m.key = ")
                .text_arg(&o.key)
                .push(&format!(") {dir}"));
        }
        Entity::Param | Entity::Tag => {
            let table = if o.entity == Entity::Param { "params" } else { "tags" };
            let mut expr = Sql::<D>::new(&format!(
                "SELECT kv.value FROM {table} kv WHERE kv.run_uuid = r.run_uuid AND kv.key = "
            ));
            expr.text_arg(&o.key);
            push_order_expr(sql, expr, o.ascending);
        }
        Entity::Attribute => {
            let column = run_attribute_column(&o.key)?;
            order_term(sql, column, o.ascending);
        }
        Entity::Dataset => return Err(Error::invalid("Cannot order by a dataset field")),
    }
    Ok(())
}

/// Orders by a correlated sub-query that appears twice (null test, then value), so its
/// arguments are bound twice.
pub fn push_order_expr<D: Dialect>(sql: &mut Sql<D>, expr: Sql<D>, ascending: bool) {
    let dir = if ascending { "ASC" } else { "DESC" };
    sql.push("(")
        .push(&expr.text)
        .push(") IS NULL, (")
        .push(&expr.text)
        .push(&format!(") {dir}"));
    sql.args.extend(expr.args.iter().cloned());
    sql.args.extend(expr.args);
}

/// Runs one store operation and records its latency in `mlp_store_query_duration_seconds{op}`
/// (errors included: a slow failure is as visible as a slow success).
pub async fn timed<T>(op: &'static str, f: impl std::future::Future<Output = T>) -> T {
    let start = std::time::Instant::now();
    let out = f.await;
    metrics::histogram!("mlp_store_query_duration_seconds", "op" => op).record(start.elapsed().as_secs_f64());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_literals() {
        assert_eq!(
            number_placeholders("a = ? AND b = '?' AND \"c?\" IN (?, ?)"),
            "a = $1 AND b = '?' AND \"c?\" IN ($2, $3)"
        );
    }

    #[test]
    fn spliced_fragments_keep_their_order() {
        let mut sql = Sql::<Postgres>::new("SELECT 1 WHERE x = ");
        sql.text_arg("a").push(" ORDER BY ");
        let mut expr = Sql::<Postgres>::new("SELECT v FROM t WHERE k = ");
        expr.text_arg("k");
        push_order_expr(&mut sql, expr, true);
        assert_eq!(
            sql.rendered(),
            "SELECT 1 WHERE x = $1 ORDER BY (SELECT v FROM t WHERE k = $2) IS NULL, (SELECT v FROM t WHERE k = $3) ASC"
        );
        assert_eq!(sql.args.len(), 3);
    }

    #[test]
    fn long_lists_travel_as_one_json_argument() {
        let mut pg = Sql::<Postgres>::new("x IN ");
        pg.list((0..1000).map(Arg::Int));
        assert_eq!(
            pg.rendered(),
            "x IN (SELECT t.value::bigint FROM jsonb_array_elements_text($1::jsonb) AS t(value))"
        );
        let mut lite = Sql::<Sqlite>::new("x IN ");
        lite.list((0..1000).map(|i| Arg::Text(i.to_string())));
        assert_eq!(lite.rendered(), "x IN (SELECT value FROM json_each(?))");
    }

    #[test]
    fn like_disables_the_postgres_escape_character() {
        let mut pg = Sql::<Postgres>::new("");
        compare(&mut pg, "c", Comparator::Like, &Value::Str("a\\_b".into())).unwrap();
        assert_eq!(pg.rendered(), "c LIKE $1 ESCAPE ''");
        let mut pg = Sql::<Postgres>::new("");
        compare(&mut pg, "c", Comparator::ILike, &Value::Str("x".into())).unwrap();
        assert_eq!(pg.rendered(), "LOWER(c) LIKE LOWER($1 COLLATE \"C\") ESCAPE ''");
        let mut lite = Sql::<Sqlite>::new("");
        compare(&mut lite, "c", Comparator::ILike, &Value::Str("x".into())).unwrap();
        assert_eq!(lite.rendered(), "LOWER(c) LIKE LOWER(?)");
    }
}

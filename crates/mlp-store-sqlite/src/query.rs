//! Dynamic SQL for searches: the filter AST of `mlp_core::search` translated into WHERE and
//! ORDER BY clauses with bound arguments (never interpolated values).

use mlp_core::search::{Clause, Comparator, Entity, OrderBy, Value};
use mlp_core::{Error, Result};
use sqlx::sqlite::{Sqlite, SqliteArguments};
use sqlx::{AssertSqlSafe, query::Query};

#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
    Real(f64),
}

/// SQL text with its positional arguments, built up piece by piece.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
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
    pub fn text_arg(&mut self, s: &str) -> &mut Self {
        self.arg(Arg::Text(s.to_string()))
    }
    /// `(?, ?, ...)` for an IN list; an empty list becomes `(NULL)`, which matches nothing.
    pub fn list(&mut self, items: impl IntoIterator<Item = Arg>) -> &mut Self {
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
    pub fn build(self) -> Query<'static, Sqlite, SqliteArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text));
        for a in self.args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
                Arg::Real(f) => q.bind(f),
            };
        }
        q
    }
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
pub fn compare(sql: &mut Sql, column: &str, op: Comparator, value: &Value) -> Result<()> {
    match (op, value) {
        (Comparator::ILike, Value::Str(s)) => {
            sql.push(&format!("LOWER({column}) LIKE LOWER(")).text_arg(s).push(")");
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

/// A key/value child table (`params`, `tags`, `experiment_tags`...) filtered through EXISTS, as
/// MLflow's inner joins do: `!=` and LIKE only match rows that have the key.
pub fn kv_clause(sql: &mut Sql, table: &str, fk: &str, outer: &str, c: &Clause) -> Result<()> {
    let exists = if c.op == Comparator::IsNull {
        "NOT EXISTS"
    } else {
        "EXISTS"
    };
    sql.push(&format!(
        "{exists} (SELECT 1 FROM {table} kv WHERE kv.{fk} = {outer} AND kv.key = "
    ))
    .text_arg(&c.key);
    if !matches!(c.op, Comparator::IsNull | Comparator::IsNotNull) {
        sql.push(" AND ");
        compare(sql, "kv.value", c.op, &c.value)?;
    }
    sql.push(")");
    Ok(())
}

/// A numeric comparison against the latest value of a metric (NaN never matches).
pub fn metric_clause(sql: &mut Sql, table: &str, fk: &str, outer: &str, c: &Clause) -> Result<()> {
    let Value::Num(_) = c.value else {
        return Err(Error::invalid(format!(
            "Expected a numeric value for metric '{}'",
            c.key
        )));
    };
    sql.push(&format!(
        "EXISTS (SELECT 1 FROM {table} m WHERE m.{fk} = {outer} AND m.key = "
    ))
    .text_arg(&c.key);
    // NaN compares unequal to everything and is neither smaller nor larger than anything.
    if c.op == Comparator::Ne {
        sql.push(" AND (m.is_nan = 1 OR ");
    } else {
        sql.push(" AND (m.is_nan = 0 AND ");
    }
    compare(sql, "m.value", c.op, &c.value)?;
    sql.push("))");
    Ok(())
}

/// Appends `ORDER BY` terms; `None` and NaN sort last whatever the direction.
pub fn order_term(sql: &mut Sql, expr: &str, ascending: bool) {
    let dir = if ascending { "ASC" } else { "DESC" };
    sql.push(&format!("({expr}) IS NULL, ({expr}) {dir}"));
}

/// Run search filter → SQL over `runs r`.
pub fn run_clause(sql: &mut Sql, c: &Clause) -> Result<()> {
    match c.entity {
        Entity::Metric => metric_clause(sql, "latest_metrics", "run_uuid", "r.run_uuid", c),
        Entity::Param => kv_clause(sql, "params", "run_uuid", "r.run_uuid", c),
        Entity::Tag => kv_clause(sql, "tags", "run_uuid", "r.run_uuid", c),
        Entity::Attribute => {
            let column = run_attribute_column(&c.key)?;
            compare(sql, column, c.op, &c.value)
        }
        Entity::Dataset => {
            sql.push(
                "EXISTS (SELECT 1 FROM run_dataset_inputs di JOIN datasets d ON d.dataset_uuid = di.dataset_uuid \
                 LEFT JOIN run_dataset_input_tags dt ON dt.run_uuid = di.run_uuid AND dt.dataset_uuid = di.dataset_uuid AND dt.key = 'mlflow.data.context' \
                 WHERE di.run_uuid = r.run_uuid AND ",
            );
            let column = match c.key.as_str() {
                "name" => "d.name",
                "digest" => "d.digest",
                "context" => "dt.value",
                other => return Err(Error::invalid(format!("Invalid dataset key '{other}'"))),
            };
            compare(sql, column, c.op, &c.value)?;
            sql.push(")");
            Ok(())
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
pub fn run_order(sql: &mut Sql, o: &OrderBy) -> Result<()> {
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
            let mut expr = Sql::new(&format!(
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
pub fn push_order_expr(sql: &mut Sql, expr: Sql, ascending: bool) {
    let dir = if ascending { "ASC" } else { "DESC" };
    sql.push("(")
        .push(&expr.text)
        .push(") IS NULL, (")
        .push(&expr.text)
        .push(&format!(") {dir}"));
    sql.args.extend(expr.args.iter().cloned());
    sql.args.extend(expr.args);
}

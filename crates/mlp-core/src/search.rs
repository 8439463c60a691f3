//! MLflow's search-filter and order-by grammar (`mlflow/utils/search_utils.py`), parsed into an
//! AST that every back-end translates into its own query. Which entities, keys and comparators
//! are allowed depends on what is searched ([`SearchKind`]).

use crate::{Error, Result};

/// What is being searched; each kind admits its own identifiers and comparators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKind {
    Runs,
    Experiments,
    RegisteredModels,
    ModelVersions,
    LoggedModels,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Metric,
    Param,
    Tag,
    /// `attributes.x`, `run.x` or an unprefixed key; the key is canonical (`run_name`, `start_time`...).
    Attribute,
    Dataset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    List(Vec<String>),
    /// For `IS NULL` / `IS NOT NULL`.
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub entity: Entity,
    pub key: String,
    pub op: Comparator,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub entity: Entity,
    pub key: String,
    pub ascending: bool,
}

/// Parses a filter string (a conjunction of comparisons joined by AND). An empty or blank
/// filter yields no clauses.
pub fn parse_filter(kind: SearchKind, filter: &str) -> Result<Vec<Clause>> {
    let _ = kind;
    if filter.trim().is_empty() {
        return Ok(Vec::new());
    }
    Err(Error::invalid("filter parsing is not implemented yet"))
}

/// Parses one `order_by` entry such as `metrics.loss DESC` or ``params.`lr` asc``.
pub fn parse_order_by(kind: SearchKind, order_by: &str) -> Result<OrderBy> {
    let _ = (kind, order_by);
    Err(Error::invalid("order_by parsing is not implemented yet"))
}

//! MLflow's search-filter and order-by grammar (`mlflow/utils/search_utils.py`), parsed into an
//! AST that every back-end translates into its own query. Which entities, keys and comparators
//! are allowed depends on what is searched ([`SearchKind`]).
//!
//! Grammar (keywords case-insensitive, entity prefixes and attribute keys case-sensitive, as in
//! MLflow):
//!
//! ```text
//! filter     := ws* | clause (ws+ AND ws+ clause)*
//! clause     := identifier ws* comparator
//! comparator := ("=" | "!=" | "<" | "<=" | ">" | ">=" | LIKE | ILIKE) ws* scalar
//!             | [NOT] IN ws* "(" string ("," string)* [","] ")"
//!             | IS [NOT] NULL
//! identifier := part ("." part)*
//! part       := word | "`" .. "`" | "\"" .. "\""        (word = [\w]+, unicode-aware)
//! scalar     := string | number
//! string     := "'" .. "'" | "\"" .. "\""
//! number     := ["-"] (digits ["." digits*] | "." digits) [("e"|"E") ["+"|"-"] digits]
//! order_by   := ws* identifier [ws+ (ASC | DESC)] ws*
//! ```
//!
//! An identifier with one part is an attribute key; otherwise the first part is the entity prefix
//! and the rest the key. Several unquoted key parts are joined with dots (`tags.mlflow.user` is
//! the tag `mlflow.user`, as MLflow's `split(".", 1)` does). Inside quotes a doubled quote
//! (`''`, `""`, ` `` `) stands for the quote itself; in `'`/`"` strings `\'`, `\"` and `\\` are
//! unescaped too, other backslashes are kept verbatim.

use std::fmt;

use crate::validation::{MAX_FILTER_CLAUSES, MAX_FILTER_STRING_LENGTH, MAX_FILTER_VALUE_LENGTH, MAX_IN_LIST_VALUES};
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
///
/// The limits of [`crate::validation`] (clauses, string length, IN-list size, filter length)
/// are enforced here, so no search of any kind reaches a store beyond them.
pub fn parse_filter(kind: SearchKind, filter: &str) -> Result<Vec<Clause>> {
    check_length("filter", filter)?;
    let mut p = Parser::new(filter);
    p.skip_ws();
    if p.at_end() {
        return Ok(Vec::new());
    }
    let mut clauses = Vec::new();
    loop {
        if clauses.len() == MAX_FILTER_CLAUSES {
            return Err(Error::invalid(format!(
                "Invalid filter: a filter can contain at most {MAX_FILTER_CLAUSES} clauses joined by AND. \
                 Narrow the search or split it into several."
            )));
        }
        clauses.push(p.clause(kind)?);
        p.skip_ws();
        if p.at_end() {
            return Ok(clauses);
        }
        match p.peek_word_upper().as_deref() {
            Some("AND") => {
                p.take_word();
                p.skip_ws();
                if p.at_end() {
                    return Err(clause_error(
                        "'AND'. Expected a comparison after AND, found the end of the filter",
                    ));
                }
            }
            _ => return Err(p.junk_error()),
        }
    }
}

/// Parses one `order_by` entry such as `metrics.loss DESC` or ``params.`lr` asc``.
pub fn parse_order_by(kind: SearchKind, order_by: &str) -> Result<OrderBy> {
    check_length("order_by clause", order_by)?;
    let unparsable = || Error::invalid(format!("Invalid order_by clause '{order_by}'. Could not be parsed."));
    let mut p = Parser::new(order_by);
    p.skip_ws();
    if !p.peek().is_some_and(is_ident_start) {
        return Err(unparsable());
    }
    let ident = p.identifier().map_err(|_| unparsable())?;
    let mut ascending = true;
    if !p.at_end() {
        if !p.peek().is_some_and(char::is_whitespace) {
            return Err(unparsable());
        }
        p.skip_ws();
        if !p.at_end() {
            if !p.peek().is_some_and(is_word_char) {
                return Err(unparsable());
            }
            match p.take_word().to_ascii_uppercase().as_str() {
                "ASC" => ascending = true,
                "DESC" => ascending = false,
                _ => {
                    return Err(Error::invalid(format!(
                        "Invalid ordering key in order_by clause '{order_by}'."
                    )));
                }
            }
            p.skip_ws();
            if !p.at_end() {
                return Err(unparsable());
            }
        }
    }
    let (entity, key) = resolve(kind, &ident, Ctx::OrderBy)?;
    check_value_length("key", &key)?;
    Ok(OrderBy { entity, key, ascending })
}

/// Validates one entry of search-logged-models' structured `order_by`
/// (`{field_name, ascending, ...}`), which is not parsed as grammar: `field_name` is either an
/// attribute (aliases canonicalised) or `metrics.<key>` with the key taken verbatim.
pub fn parse_logged_model_order_field(field_name: &str, ascending: bool) -> Result<OrderBy> {
    if let Some((entity, key)) = field_name.split_once('.') {
        if entity != "metrics" {
            return Err(Error::invalid(format!(
                "Invalid order by field name: {entity}, only `metrics.<name>` is allowed."
            )));
        }
        if key.is_empty() {
            return Err(Error::invalid(format!("Invalid order by field name: {field_name}.")));
        }
        check_value_length("key", key)?;
        return Ok(OrderBy {
            entity: Entity::Metric,
            key: key.to_string(),
            ascending,
        });
    }
    let name = field_name.trim();
    match canonical_attribute(LOGGED_MODEL_ATTRS, name) {
        Some(key) => Ok(OrderBy {
            entity: Entity::Attribute,
            key: key.to_string(),
            ascending,
        }),
        None => Err(Error::invalid(format!("Invalid order by field name: {name}."))),
    }
}

/// The whole filter (or order-by term) is bounded in bytes before it is even scanned.
fn check_length(what: &str, text: &str) -> Result<()> {
    if text.len() > MAX_FILTER_STRING_LENGTH {
        return Err(Error::invalid(format!(
            "Invalid {what}: it can be at most {MAX_FILTER_STRING_LENGTH} bytes long; got {} bytes.",
            text.len()
        )));
    }
    Ok(())
}

/// Quoted strings and keys: a LIKE pattern or literal never needs to be longer than the longest
/// value that can be stored.
fn check_value_length(what: &str, s: &str) -> Result<()> {
    let n = s.chars().count();
    if n > MAX_FILTER_VALUE_LENGTH {
        return Err(Error::invalid(format!(
            "Invalid filter: a {what} can be at most {MAX_FILTER_VALUE_LENGTH} characters long; got {n} \
             characters ('{}').",
            snippet(s, 20)
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Display: renders clauses back into the grammar (always re-parsable to the same value).

impl Comparator {
    /// The comparator as written in a filter (`ILIKE`, `NOT IN`, `IS NOT NULL`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
            Comparator::Like => "LIKE",
            Comparator::ILike => "ILIKE",
            Comparator::In => "IN",
            Comparator::NotIn => "NOT IN",
            Comparator::IsNull => "IS NULL",
            Comparator::IsNotNull => "IS NOT NULL",
        }
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Entity {
    /// The canonical filter prefix (`metrics`, `params`, `tags`, `attributes`, `datasets`).
    pub fn prefix(self) -> &'static str {
        match self {
            Entity::Metric => "metrics",
            Entity::Param => "params",
            Entity::Tag => "tags",
            Entity::Attribute => "attributes",
            Entity::Dataset => "datasets",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        match c {
            '\'' => f.write_str("''")?,
            '\\' => f.write_str("\\\\")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("'")
}

fn write_identifier(f: &mut fmt::Formatter<'_>, entity: Entity, key: &str) -> fmt::Result {
    write!(f, "{entity}.`{}`", key.replace('`', "``"))
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write_string(f, s),
            Value::Num(n) => write!(f, "{n}"),
            Value::List(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_string(f, item)?;
                }
                f.write_str(")")
            }
            Value::None => Ok(()),
        }
    }
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_identifier(f, self.entity, &self.key)?;
        write!(f, " {}", self.op)?;
        match self.value {
            Value::None => Ok(()),
            ref v => write!(f, " {v}"),
        }
    }
}

impl fmt::Display for OrderBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_identifier(f, self.entity, &self.key)?;
        f.write_str(if self.ascending { " ASC" } else { " DESC" })
    }
}

// ---------------------------------------------------------------------------------------------
// Per-kind tables.

/// (accepted spelling, canonical key).
type AttrTable = &'static [(&'static str, &'static str)];

const RUN_ATTRS: AttrTable = &[
    ("artifact_uri", "artifact_uri"),
    ("end_time", "end_time"),
    ("run_id", "run_id"),
    ("run_name", "run_name"),
    ("start_time", "start_time"),
    ("status", "status"),
    ("user_id", "user_id"),
    ("created", "start_time"),
    ("Created", "start_time"),
    ("run name", "run_name"),
    ("Run name", "run_name"),
    ("Run Name", "run_name"),
];
const EXPERIMENT_ATTRS: AttrTable = &[
    ("name", "name"),
    ("experiment_id", "experiment_id"),
    ("creation_time", "creation_time"),
    ("last_update_time", "last_update_time"),
];
const REGISTERED_MODEL_FILTER_ATTRS: AttrTable = &[("name", "name")];
const REGISTERED_MODEL_ORDER_ATTRS: AttrTable = &[
    ("name", "name"),
    ("creation_timestamp", "creation_timestamp"),
    ("last_updated_timestamp", "last_updated_timestamp"),
];
const MODEL_VERSION_FILTER_ATTRS: AttrTable = &[
    ("name", "name"),
    ("run_id", "run_id"),
    ("source_path", "source_path"),
    ("version_number", "version_number"),
];
const MODEL_VERSION_ORDER_ATTRS: AttrTable = &[
    ("name", "name"),
    ("version_number", "version_number"),
    ("creation_timestamp", "creation_timestamp"),
    ("last_updated_timestamp", "last_updated_timestamp"),
];
const LOGGED_MODEL_ATTRS: AttrTable = &[
    ("name", "name"),
    ("model_id", "model_id"),
    ("model_type", "model_type"),
    ("status", "status"),
    ("source_run_id", "source_run_id"),
    ("creation_timestamp", "creation_timestamp"),
    ("creation_time", "creation_timestamp"),
    ("last_updated_timestamp", "last_updated_timestamp"),
    ("last_updated_time", "last_updated_timestamp"),
];
const DATASET_KEYS: &[&str] = &["context", "digest", "name"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Filter,
    OrderBy,
}

fn attr_table(kind: SearchKind, ctx: Ctx) -> AttrTable {
    match (kind, ctx) {
        (SearchKind::Runs, _) => RUN_ATTRS,
        (SearchKind::Experiments, _) => EXPERIMENT_ATTRS,
        (SearchKind::RegisteredModels, Ctx::Filter) => REGISTERED_MODEL_FILTER_ATTRS,
        (SearchKind::RegisteredModels, Ctx::OrderBy) => REGISTERED_MODEL_ORDER_ATTRS,
        (SearchKind::ModelVersions, Ctx::Filter) => MODEL_VERSION_FILTER_ATTRS,
        (SearchKind::ModelVersions, Ctx::OrderBy) => MODEL_VERSION_ORDER_ATTRS,
        (SearchKind::LoggedModels, _) => LOGGED_MODEL_ATTRS,
    }
}

fn canonical_attribute(table: AttrTable, key: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(alias, _)| *alias == key)
        .map(|(_, canonical)| *canonical)
}

/// The entity a prefix names for a kind of search (prefixes are case-sensitive, as in MLflow).
fn entity_for_prefix(kind: SearchKind, prefix: &str) -> Option<Entity> {
    let entity = match prefix {
        "metric" | "metrics" => Entity::Metric,
        "param" | "params" | "parameter" | "parameters" => Entity::Param,
        "tag" | "tags" => Entity::Tag,
        "attribute" | "attributes" | "attr" => Entity::Attribute,
        "run" if kind == SearchKind::Runs => Entity::Attribute,
        "dataset" | "datasets" => Entity::Dataset,
        _ => return None,
    };
    let allowed = match kind {
        SearchKind::Runs => true,
        SearchKind::Experiments | SearchKind::RegisteredModels | SearchKind::ModelVersions => {
            matches!(entity, Entity::Tag | Entity::Attribute)
        }
        SearchKind::LoggedModels => entity != Entity::Dataset,
    };
    allowed.then_some(entity)
}

fn valid_prefixes(kind: SearchKind) -> &'static str {
    match kind {
        SearchKind::Runs => "['metric', 'parameter', 'tag', 'attribute', 'dataset']",
        SearchKind::Experiments | SearchKind::RegisteredModels | SearchKind::ModelVersions => {
            "['attribute', 'tag', 'tags']"
        }
        SearchKind::LoggedModels => "['metric', 'parameter', 'tag', 'attribute']",
    }
}

fn quoted_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", items.join(", "))
}

const NUM_OPS: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Lt,
    Comparator::Le,
    Comparator::Gt,
    Comparator::Ge,
];
const STR_OPS: &[Comparator] = &[Comparator::Eq, Comparator::Ne, Comparator::Like, Comparator::ILike];
const STR_NULL_OPS: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::IsNull,
    Comparator::IsNotNull,
];
const STR_LIST_OPS: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::In,
    Comparator::NotIn,
];
/// Model versions accept `IN` but not `NOT IN` (`SearchModelVersionUtils`).
const STR_IN_OPS: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::In,
];

/// What a resolved identifier admits.
struct Rule {
    numeric: bool,
    ops: &'static [Comparator],
    /// Message for `IN`/`NOT IN` on a string key that does not support lists.
    list_hint: Option<&'static str>,
}

fn rule(kind: SearchKind, entity: Entity, key: &str) -> Rule {
    let num = Rule {
        numeric: true,
        ops: NUM_OPS,
        list_hint: None,
    };
    let s = |ops| Rule {
        numeric: false,
        ops,
        list_hint: None,
    };
    let hinted = |hint| Rule {
        numeric: false,
        ops: STR_OPS,
        list_hint: Some(hint),
    };
    match (kind, entity) {
        (_, Entity::Metric) => num,
        (_, Entity::Dataset) => s(STR_LIST_OPS),
        (SearchKind::Runs, Entity::Param | Entity::Tag) => s(STR_NULL_OPS),
        (SearchKind::Experiments, Entity::Tag) => s(STR_NULL_OPS),
        (_, Entity::Param | Entity::Tag) => s(STR_OPS),
        (SearchKind::Runs, Entity::Attribute) => match key {
            "start_time" | "end_time" => num,
            "run_id" => s(STR_LIST_OPS),
            _ => hinted(
                "Only the 'run_id' attribute supports comparison with a list of quoted string \
                 values.",
            ),
        },
        (SearchKind::Experiments, Entity::Attribute) => match key {
            "creation_time" | "last_update_time" => num,
            "experiment_id" => s(STR_LIST_OPS),
            _ => hinted(
                "Only the 'experiment_id' attribute supports comparison with a list of quoted \
                 string values.",
            ),
        },
        (SearchKind::RegisteredModels, Entity::Attribute) => s(STR_LIST_OPS),
        (SearchKind::ModelVersions, Entity::Attribute) => match key {
            "version_number" => num,
            "name" | "run_id" => s(STR_IN_OPS),
            _ => hinted(
                "Only the 'name' and 'run_id' attributes support comparison with a list of \
                 quoted string values.",
            ),
        },
        (SearchKind::LoggedModels, Entity::Attribute) => match key {
            "creation_timestamp" | "last_updated_timestamp" => num,
            _ => s(STR_LIST_OPS),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Identifier resolution.

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Word(String),
    Backtick(String),
    DoubleQuoted(String),
}

impl Part {
    fn text(&self) -> &str {
        match self {
            Part::Word(s) | Part::Backtick(s) | Part::DoubleQuoted(s) => s,
        }
    }
}

#[derive(Debug)]
struct Ident {
    parts: Vec<Part>,
    /// The identifier as written.
    raw: String,
}

fn invalid_identifier(raw: &str) -> Error {
    Error::invalid(format!(
        "Invalid identifier '{raw}'. Columns should be specified as 'attribute.<key>', \
         'metric.<key>', 'tag.<key>', 'dataset.<key>', or 'param.<key>'; keys containing \
         spaces, dots or other special characters must be quoted with backticks or double quotes."
    ))
}

fn resolve(kind: SearchKind, ident: &Ident, ctx: Ctx) -> Result<(Entity, String)> {
    let (entity, key) = match ident.parts.as_slice() {
        [] => return Err(invalid_identifier(&ident.raw)),
        [only] => (Entity::Attribute, only.text().to_string()),
        [prefix, rest @ ..] => {
            let name = match prefix {
                Part::Word(s) | Part::Backtick(s) => s.as_str(),
                Part::DoubleQuoted(s) => {
                    return Err(Error::invalid(format!(
                        "Invalid entity type '\"{s}\"'. Valid values are {}",
                        valid_prefixes(kind)
                    )));
                }
            };
            let Some(entity) = entity_for_prefix(kind, name) else {
                return Err(Error::invalid(format!(
                    "Invalid entity type '{name}'. Valid values are {}",
                    valid_prefixes(kind)
                )));
            };
            let key = match rest {
                [single] => single.text().to_string(),
                parts if parts.iter().all(|p| matches!(p, Part::Word(_))) => {
                    parts.iter().map(Part::text).collect::<Vec<_>>().join(".")
                }
                _ => return Err(invalid_identifier(&ident.raw)),
            };
            (entity, key)
        }
    };
    if key.is_empty() {
        return Err(invalid_identifier(&ident.raw));
    }
    if ctx == Ctx::OrderBy {
        let allowed = match kind {
            SearchKind::Runs => entity != Entity::Dataset,
            SearchKind::LoggedModels => matches!(entity, Entity::Attribute | Entity::Metric),
            _ => entity == Entity::Attribute,
        };
        if !allowed {
            return Err(Error::invalid(format!(
                "Invalid order_by entity '{entity}' in '{}'",
                ident.raw
            )));
        }
    }
    match entity {
        Entity::Attribute => {
            let table = attr_table(kind, ctx);
            match canonical_attribute(table, &key) {
                Some(canonical) => Ok((entity, canonical.to_string())),
                None => Err(Error::invalid(format!(
                    "Invalid attribute key '{key}' specified. Valid keys are '{}'",
                    quoted_list(table.iter().map(|(alias, _)| *alias))
                ))),
            }
        }
        Entity::Dataset if !DATASET_KEYS.contains(&key.as_str()) => Err(Error::invalid(format!(
            "Invalid dataset key '{key}' specified. Valid keys are '{}'",
            quoted_list(DATASET_KEYS.iter().copied())
        ))),
        _ => Ok((entity, key)),
    }
}

// ---------------------------------------------------------------------------------------------
// The parser: a cursor over the characters, driven by the grammar (context decides whether a
// `"..."` is a key or a string value, and where a number may start).

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_ident_start(c: char) -> bool {
    is_word_char(c) || c == '`' || c == '"'
}

fn is_op_char(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '!' | '~')
}

fn clause_error(detail: &str) -> Error {
    Error::invalid(format!("Invalid clause(s) in filter string: {detail}"))
}

/// At most `max` characters of `s`, with an ellipsis when cut.
fn snippet(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// A comparator as written; unknown ones are reported once the identifier's rules are known.
enum OpTok {
    Known(Comparator),
    Unknown(String),
}

/// A right-hand side before it is checked against the identifier's rules.
enum RawValue {
    Str(String),
    Num(f64),
    List(Vec<String>),
    /// An unquoted word or a backtick-quoted name where a value was expected.
    Bare,
    None,
}

struct Parser<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            chars: src.char_indices().collect(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos.saturating_add(n)).map(|&(_, c)| c)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn byte(&self, pos: usize) -> usize {
        self.chars.get(pos).map_or(self.src.len(), |&(b, _)| b)
    }

    /// Source text between two character positions.
    fn text(&self, from: usize, to: usize) -> &'a str {
        let (a, b) = (self.byte(from), self.byte(to));
        self.src.get(a..b.max(a)).unwrap_or("")
    }

    fn rest(&self) -> &'a str {
        self.text(self.pos, self.chars.len())
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn take_word(&mut self) -> String {
        let mut w = String::new();
        while let Some(c) = self.peek().filter(|&c| is_word_char(c)) {
            w.push(c);
            self.pos += 1;
        }
        w
    }

    fn peek_word_upper(&self) -> Option<String> {
        let mut w = String::new();
        let mut i = 0;
        while let Some(c) = self.peek_at(i).filter(|&c| is_word_char(c)) {
            w.push(c);
            i += 1;
        }
        (!w.is_empty()).then(|| w.to_uppercase())
    }

    /// The next whitespace-delimited chunk, for error messages.
    fn next_chunk(&self) -> String {
        let rest = self.rest();
        let chunk = rest.split(char::is_whitespace).next().unwrap_or(rest);
        snippet(chunk, 40)
    }

    /// Scans a quoted run starting at the opening quote `q`.
    fn quoted(&mut self, q: char) -> Result<String> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(clause_error(&format!(
                        "unterminated quoted string starting at character {}: {}",
                        start + 1,
                        snippet(self.text(start, self.chars.len()), 40)
                    )));
                }
                Some(c) if c == q => {
                    if self.peek() == Some(q) {
                        self.bump();
                        out.push(q);
                    } else {
                        return Ok(out);
                    }
                }
                Some('\\') if q != '`' => match self.peek() {
                    Some(n) if n == q || n == '\\' => {
                        self.bump();
                        out.push(n);
                    }
                    _ => out.push('\\'),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// `part ("." part)*`, with no whitespace inside. The caller checks the first character.
    fn identifier(&mut self) -> Result<Ident> {
        let start = self.pos;
        let mut parts = Vec::new();
        loop {
            let part = match self.peek() {
                Some('`') => Part::Backtick(self.quoted('`')?),
                Some('"') => Part::DoubleQuoted(self.quoted('"')?),
                Some(c) if is_word_char(c) => Part::Word(self.take_word()),
                _ => {
                    // A dot with nothing usable after it (or a leading dot).
                    while self.peek().is_some_and(|c| !c.is_whitespace()) {
                        self.pos += 1;
                    }
                    return Err(invalid_identifier(self.text(start, self.pos)));
                }
            };
            parts.push(part);
            if self.peek() == Some('.') {
                self.bump();
            } else {
                break;
            }
        }
        Ok(Ident {
            parts,
            raw: self.text(start, self.pos).to_string(),
        })
    }

    fn clause(&mut self, kind: SearchKind) -> Result<Clause> {
        self.skip_ws();
        match self.peek() {
            None => {
                return Err(clause_error("expected a comparison, found the end of the filter"));
            }
            Some(c) if is_ident_start(c) => {}
            Some(_) => {
                return Err(match self.structural_error() {
                    Some(e) => e,
                    None => clause_error(&format!(
                        "'{}'. Expected an identifier such as 'metrics.accuracy'",
                        self.next_chunk()
                    )),
                });
            }
        }
        match self.peek_word_upper().as_deref() {
            Some("AND") => {
                return Err(clause_error("'AND'. Expected a comparison before AND"));
            }
            Some(_) => {
                if let Some(e) = self.structural_error() {
                    return Err(e);
                }
            }
            None => {}
        }
        let ident = self.identifier()?;
        let (entity, key) = resolve(kind, &ident, Ctx::Filter)?;
        check_value_length("key", &key)?;
        let rule = rule(kind, entity, &key);

        self.skip_ws();
        let op_start = self.pos;
        let op = self.comparator(&ident.raw)?;
        let op = match op {
            OpTok::Known(op) => op,
            OpTok::Unknown(op) => return Err(invalid_comparator(&op, rule.ops)),
        };
        if !rule.ops.contains(&op) {
            if matches!(op, Comparator::In | Comparator::NotIn)
                && let Some(hint) = rule.list_hint
            {
                return Err(Error::invalid(hint));
            }
            return Err(invalid_comparator(op.as_str(), rule.ops));
        }
        let written_op = self.text(op_start, self.pos).to_string();

        self.skip_ws();
        let value_start = self.pos;
        let raw = match op {
            Comparator::IsNull | Comparator::IsNotNull => RawValue::None,
            Comparator::In | Comparator::NotIn => RawValue::List(self.list(&written_op)?),
            _ => self.scalar(&ident.raw, &written_op)?,
        };
        let written = self.text(value_start, self.pos);
        let value = check_value(entity, &key, &rule, raw, written)?;
        Ok(Clause { entity, key, op, value })
    }

    /// OR, parentheses, NOT and `;` where a comparison or AND was expected.
    fn structural_error(&self) -> Option<Error> {
        match self.peek()? {
            '(' | ')' => Some(clause_error(&format!(
                "'{}'. Parentheses are only supported around the value list of IN / NOT IN",
                self.next_chunk()
            ))),
            ';' => Some(Error::invalid(format!(
                "Search filter contained multiple expression '{}'. Provide AND-ed expression list.",
                self.src
            ))),
            _ => match self.peek_word_upper()?.as_str() {
                "OR" => Some(clause_error(
                    "'OR'. OR is not supported; combine comparisons with AND only",
                )),
                "NOT" => Some(clause_error("'NOT'. Negated comparisons are not supported")),
                _ => None,
            },
        }
    }

    /// Whatever follows a complete comparison that is not AND.
    fn junk_error(&self) -> Error {
        self.structural_error().unwrap_or_else(|| {
            clause_error(&format!(
                "'{}'. Expected AND between comparisons, or the end of the filter",
                self.next_chunk()
            ))
        })
    }

    fn comparator(&mut self, ident: &str) -> Result<OpTok> {
        match self.peek() {
            Some(c) if is_op_char(c) => {
                let start = self.pos;
                while self.peek().is_some_and(is_op_char) {
                    self.pos += 1;
                }
                let op = self.text(start, self.pos);
                Ok(match op {
                    "=" => OpTok::Known(Comparator::Eq),
                    "!=" => OpTok::Known(Comparator::Ne),
                    "<" => OpTok::Known(Comparator::Lt),
                    "<=" => OpTok::Known(Comparator::Le),
                    ">" => OpTok::Known(Comparator::Gt),
                    ">=" => OpTok::Known(Comparator::Ge),
                    other => OpTok::Unknown(other.to_string()),
                })
            }
            Some(c) if is_word_char(c) => {
                let word = self.take_word().to_uppercase();
                Ok(match word.as_str() {
                    "LIKE" => OpTok::Known(Comparator::Like),
                    "ILIKE" => OpTok::Known(Comparator::ILike),
                    "IN" => OpTok::Known(Comparator::In),
                    "NOT" => {
                        self.skip_ws();
                        let next = self.take_word().to_uppercase();
                        match next.as_str() {
                            "IN" => OpTok::Known(Comparator::NotIn),
                            "" => {
                                return Err(clause_error(&format!(
                                    "expected IN after '{ident} NOT', found {}",
                                    self.found()
                                )));
                            }
                            _ => OpTok::Unknown(format!("NOT {next}")),
                        }
                    }
                    "IS" => {
                        self.skip_ws();
                        let mut next = self.take_word().to_uppercase();
                        let negated = next == "NOT";
                        if negated {
                            self.skip_ws();
                            next = self.take_word().to_uppercase();
                        }
                        if next != "NULL" {
                            return Err(clause_error(&format!(
                                "expected NULL or NOT NULL after '{ident} IS', found {}",
                                self.found()
                            )));
                        }
                        OpTok::Known(if negated {
                            Comparator::IsNotNull
                        } else {
                            Comparator::IsNull
                        })
                    }
                    _ => OpTok::Unknown(word),
                })
            }
            _ => Err(clause_error(&format!(
                "expected a comparator after '{ident}', found {}",
                self.found()
            ))),
        }
    }

    /// Describes what is at the cursor, for error messages.
    fn found(&self) -> String {
        if self.at_end() {
            "the end of the filter".to_string()
        } else {
            format!("'{}'", self.next_chunk())
        }
    }

    fn scalar(&mut self, ident: &str, op: &str) -> Result<RawValue> {
        match self.peek() {
            Some(q @ ('\'' | '"')) => {
                let s = self.quoted(q)?;
                check_value_length("string value", &s)?;
                Ok(RawValue::Str(s))
            }
            Some(c)
                if c.is_ascii_digit()
                    || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit()))
                    || (c == '-' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit() || d == '.')) =>
            {
                self.number().map(RawValue::Num)
            }
            Some('`') => {
                self.quoted('`')?;
                Ok(RawValue::Bare)
            }
            Some(c) if is_word_char(c) => {
                self.take_word();
                Ok(RawValue::Bare)
            }
            Some('(' | ')') => Err(self
                .structural_error()
                .unwrap_or_else(|| clause_error("parentheses are only supported around IN / NOT IN lists"))),
            _ => Err(clause_error(&format!(
                "expected a value after '{ident} {op}', found {}",
                self.found()
            ))),
        }
    }

    fn number(&mut self) -> Result<f64> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let mut n = 0;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.pos += 1;
                n += 1;
            }
            n
        };
        if self.peek() == Some('-') {
            self.bump();
        }
        let mut mantissa = digits(self);
        if self.peek() == Some('.') {
            self.bump();
            mantissa += digits(self);
        }
        let exp_digit_at = match (self.peek(), self.peek_at(1)) {
            (Some('e' | 'E'), Some('+' | '-')) => Some(2),
            (Some('e' | 'E'), _) => Some(1),
            _ => None,
        };
        if let Some(k) = exp_digit_at
            && self.peek_at(k).is_some_and(|c| c.is_ascii_digit())
        {
            self.pos += k;
            digits(self);
        }
        let bad = |p: &mut Self| {
            while p.peek().is_some_and(|c| is_word_char(c) || c == '.') {
                p.pos += 1;
            }
            clause_error(&format!(
                "invalid numeric value '{}'",
                snippet(p.text(start, p.pos), 40)
            ))
        };
        if mantissa == 0 || self.peek().is_some_and(|c| is_word_char(c) || c == '.') {
            return Err(bad(self));
        }
        let text = self.text(start, self.pos);
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(n),
            _ => Err(bad(self)),
        }
    }

    fn list(&mut self, op: &str) -> Result<Vec<String>> {
        let ill_formed = || {
            Error::invalid(
                "While parsing a list in the query, expected a non-empty list of string values, \
                 but got ill-formed list.",
            )
        };
        if self.peek() != Some('(') {
            return Err(Error::invalid(format!(
                "Expected a parenthesised list of quoted string values after {op}, e.g. \
                 ('a', 'b'). Got {}",
                self.found()
            )));
        }
        let start = self.pos;
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(')') if items.is_empty() => {
                    self.bump();
                    return Err(Error::invalid(
                        "While parsing a list in the query, expected a non-empty list of string \
                         values, but got empty list",
                    ));
                }
                Some(')') => {
                    self.bump();
                    return Ok(items);
                }
                Some(q @ ('\'' | '"')) => {
                    if items.len() == MAX_IN_LIST_VALUES {
                        return Err(Error::invalid(format!(
                            "Invalid filter: a list after {op} can contain at most {MAX_IN_LIST_VALUES} values."
                        )));
                    }
                    let item = self.quoted(q)?;
                    check_value_length("string value", &item)?;
                    items.push(item);
                }
                None => return Err(ill_formed()),
                Some(_) => {
                    while self.peek().is_some_and(|c| c != ')') {
                        self.pos += 1;
                    }
                    self.bump();
                    return Err(Error::invalid(format!(
                        "While parsing a list in the query, expected string value, punctuation, \
                         or whitespace, but got different type in list: {}",
                        snippet(self.text(start, self.pos), 80)
                    )));
                }
            }
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(')') => {}
                _ => return Err(ill_formed()),
            }
        }
    }
}

fn invalid_comparator(op: &str, valid: &[Comparator]) -> Error {
    Error::invalid(format!(
        "Invalid comparator '{op}' not one of '{}'",
        quoted_list(valid.iter().map(|c| c.as_str()))
    ))
}

fn check_value(entity: Entity, key: &str, rule: &Rule, raw: RawValue, written: &str) -> Result<Value> {
    let written = snippet(written, 80);
    match raw {
        RawValue::None => Ok(Value::None),
        RawValue::List(items) => Ok(Value::List(items)),
        RawValue::Num(n) if rule.numeric => Ok(Value::Num(n)),
        RawValue::Str(s) if !rule.numeric => Ok(Value::Str(s)),
        RawValue::Bare if !rule.numeric => Err(Error::invalid(format!(
            "Parameter value is either not quoted or unidentified quote types used for string \
             value {written}. Use either single or double quotes."
        ))),
        _ if rule.numeric => Err(Error::invalid(match entity {
            Entity::Metric => format!("Expected numeric value type for metric. Found {written}"),
            _ => {
                format!("Expected numeric value type for numeric attribute: {key}. Found {written}")
            }
        })),
        _ => Err(Error::invalid(match entity {
            Entity::Param => format!(
                "Expected a quoted string value for parameter (e.g. 'my-value'). Got value \
                 {written}"
            ),
            Entity::Tag => format!("Expected a quoted string value for tag (e.g. 'my-value'). Got value {written}"),
            Entity::Dataset => format!("Expected a quoted string value for dataset attributes. Got value {written}"),
            _ => format!("Expected a quoted string value for attributes. Got value {written}"),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    use Comparator as C;
    use SearchKind as K;

    const ALL_KINDS: [SearchKind; 5] = [
        K::Runs,
        K::Experiments,
        K::RegisteredModels,
        K::ModelVersions,
        K::LoggedModels,
    ];

    fn one(kind: SearchKind, filter: &str) -> Clause {
        let clauses = parse_filter(kind, filter).unwrap_or_else(|e| panic!("{filter:?} should parse: {}", e.message));
        assert_eq!(clauses.len(), 1, "{filter:?}: {clauses:?}");
        clauses.into_iter().next().unwrap()
    }

    fn clause(entity: Entity, key: &str, op: Comparator, value: Value) -> Clause {
        Clause {
            entity,
            key: key.to_string(),
            op,
            value,
        }
    }

    fn s(v: &str) -> Value {
        Value::Str(v.to_string())
    }

    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|i| i.to_string()).collect())
    }

    /// Asserts the filter is rejected with INVALID_PARAMETER_VALUE and a message containing `part`.
    #[track_caller]
    fn rejects(kind: SearchKind, filter: &str, part: &str) {
        match parse_filter(kind, filter) {
            Ok(c) => panic!("{filter:?} should be rejected for {kind:?}, got {c:?}"),
            Err(e) => {
                assert_eq!(e.code, ErrorCode::InvalidParameterValue, "{filter:?}");
                assert!(
                    e.message.contains(part),
                    "{filter:?}: message {:?} lacks {part:?}",
                    e.message
                );
            }
        }
    }

    #[track_caller]
    fn rejects_order(kind: SearchKind, order_by: &str, part: &str) {
        match parse_order_by(kind, order_by) {
            Ok(o) => panic!("{order_by:?} should be rejected for {kind:?}, got {o:?}"),
            Err(e) => {
                assert_eq!(e.code, ErrorCode::InvalidParameterValue, "{order_by:?}");
                assert!(
                    e.message.contains(part),
                    "{order_by:?}: message {:?} lacks {part:?}",
                    e.message
                );
            }
        }
    }

    fn order(kind: SearchKind, order_by: &str) -> OrderBy {
        parse_order_by(kind, order_by).unwrap_or_else(|e| panic!("{order_by:?} should parse: {}", e.message))
    }

    // ---- basics -------------------------------------------------------------------------

    #[test]
    fn empty_and_blank_filters_yield_nothing() {
        for kind in ALL_KINDS {
            assert_eq!(parse_filter(kind, "").unwrap(), vec![]);
            assert_eq!(parse_filter(kind, "  \t\n ").unwrap(), vec![]);
        }
    }

    #[test]
    fn conjunction_of_clauses() {
        let got = parse_filter(
            K::Runs,
            "params.model = \"LogisticRegression\" and params.lambda = '0.001' \
             AND metrics.error <= 0.05 aNd tags.t != 'x'",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                clause(Entity::Param, "model", C::Eq, s("LogisticRegression")),
                clause(Entity::Param, "lambda", C::Eq, s("0.001")),
                clause(Entity::Metric, "error", C::Le, Value::Num(0.05)),
                clause(Entity::Tag, "t", C::Ne, s("x")),
            ]
        );
    }

    #[test]
    fn whitespace_is_optional_around_symbols() {
        assert_eq!(
            parse_filter(K::Runs, "metrics.a>1 AND params.b='x'AND run_id IN('a','b')").unwrap(),
            vec![
                clause(Entity::Metric, "a", C::Gt, Value::Num(1.0)),
                clause(Entity::Param, "b", C::Eq, s("x")),
                clause(Entity::Attribute, "run_id", C::In, list(&["a", "b"])),
            ]
        );
        assert_eq!(
            one(K::Runs, "\n\tmetrics.a\n>=\t-2  "),
            clause(Entity::Metric, "a", C::Ge, Value::Num(-2.0))
        );
    }

    // ---- entities and aliases -----------------------------------------------------------

    #[test]
    fn run_entity_prefix_aliases() {
        for p in ["metrics", "metric"] {
            assert_eq!(one(K::Runs, &format!("{p}.m > 1")).entity, Entity::Metric);
        }
        for p in ["params", "param", "parameter", "parameters"] {
            assert_eq!(one(K::Runs, &format!("{p}.p = 'x'")).entity, Entity::Param);
        }
        for p in ["tags", "tag"] {
            assert_eq!(one(K::Runs, &format!("{p}.t = 'x'")).entity, Entity::Tag);
        }
        for p in ["attributes", "attribute", "attr", "run"] {
            assert_eq!(
                one(K::Runs, &format!("{p}.status = 'FINISHED'")),
                clause(Entity::Attribute, "status", C::Eq, s("FINISHED"))
            );
        }
        assert_eq!(
            one(K::Runs, "status = 'FINISHED'"),
            clause(Entity::Attribute, "status", C::Eq, s("FINISHED"))
        );
        for p in ["datasets", "dataset"] {
            assert_eq!(
                one(K::Runs, &format!("{p}.digest = 'abc'")),
                clause(Entity::Dataset, "digest", C::Eq, s("abc"))
            );
        }
        // Backticked prefixes are trimmed, as MLflow's _trim_backticks does.
        assert_eq!(one(K::Runs, "`metrics`.m > 1").entity, Entity::Metric);
    }

    #[test]
    fn prefixes_are_case_sensitive_but_keywords_are_not() {
        rejects(K::Runs, "METRICS.a > 1", "Invalid entity type 'METRICS'");
        assert_eq!(one(K::Runs, "params.a like 'x%'").op, C::Like);
        assert_eq!(one(K::Runs, "params.a iLiKe 'x%'").op, C::ILike);
        assert_eq!(one(K::Runs, "run_id not in ('a')").op, C::NotIn);
        assert_eq!(one(K::Runs, "tags.a is not null").op, C::IsNotNull);
    }

    #[test]
    fn unknown_entity() {
        rejects(K::Runs, "foo.bar = 'x'", "Invalid entity type 'foo'");
        rejects(K::Runs, "\"metrics\".a > 1", "Invalid entity type");
        rejects(K::Experiments, "metrics.a > 1", "Invalid entity type 'metrics'");
        rejects(K::Experiments, "run.name = 'x'", "Invalid entity type 'run'");
        rejects(K::RegisteredModels, "params.a = 'x'", "Invalid entity type 'params'");
        rejects(
            K::ModelVersions,
            "datasets.name = 'x'",
            "Invalid entity type 'datasets'",
        );
        rejects(K::LoggedModels, "datasets.name = 'x'", "Invalid entity type 'datasets'");
    }

    // ---- quoting ------------------------------------------------------------------------

    #[test]
    fn quoted_keys() {
        assert_eq!(
            one(K::Runs, "metrics.`my metric` > 0.5"),
            clause(Entity::Metric, "my metric", C::Gt, Value::Num(0.5))
        );
        assert_eq!(
            one(K::Runs, "tags.\"mlflow.user\" = 'me'"),
            clause(Entity::Tag, "mlflow.user", C::Eq, s("me"))
        );
        assert_eq!(one(K::Runs, "params.\"model-type\" = 'x'").key, "model-type");
        assert_eq!(
            one(K::Runs, "metrics.\"2019-04-02 error rate\" < 1").key,
            "2019-04-02 error rate"
        );
        assert_eq!(one(K::Runs, "metrics.`a``b` < 1").key, "a`b");
        assert_eq!(one(K::Runs, "metrics.\"a\"\"b\" < 1").key, "a\"b");
        assert_eq!(one(K::Runs, "metrics.`ünï cödé` < 1").key, "ünï cödé");
    }

    #[test]
    fn unquoted_dotted_keys_take_everything_after_the_first_dot() {
        assert_eq!(
            one(K::Runs, "tags.mlflow.user = 'me'"),
            clause(Entity::Tag, "mlflow.user", C::Eq, s("me"))
        );
        assert_eq!(one(K::Runs, "params.a.b.c = 'x'").key, "a.b.c");
        assert_eq!(one(K::Runs, "metrics.1st > 1").key, "1st");
        assert_eq!(one(K::Runs, "metrics.ünï > 1").key, "ünï");
    }

    #[test]
    fn malformed_identifiers() {
        rejects(K::Runs, "metrics. > 1", "Invalid identifier 'metrics.'");
        rejects(K::Runs, "metrics..a > 1", "Invalid identifier");
        rejects(K::Runs, "metrics.`` > 1", "Invalid identifier");
        rejects(K::Runs, "tags.\"a\".b = 'x'", "Invalid identifier");
        rejects(K::Runs, "metrics.a-b > 1", "expected a comparator after 'metrics.a'");
        rejects(K::Runs, "'metrics.a' > 1", "Expected an identifier");
        rejects(K::Runs, "> 1", "Expected an identifier");
    }

    #[test]
    fn string_values_and_escapes() {
        assert_eq!(one(K::Runs, "params.a = 'x y'").value, s("x y"));
        assert_eq!(one(K::Runs, "params.a = \"x y\"").value, s("x y"));
        assert_eq!(one(K::Runs, "params.a = ''").value, s(""));
        assert_eq!(one(K::Runs, "params.a = 'it''s'").value, s("it's"));
        assert_eq!(one(K::Runs, r"params.a = 'it\'s'").value, s("it's"));
        assert_eq!(
            one(K::Runs, r#"params.a = "say ""hi"" \"there\"""#).value,
            s(r#"say "hi" "there""#)
        );
        assert_eq!(one(K::Runs, r"params.a = 'C:\dir\\'").value, s(r"C:\dir\"));
        assert_eq!(one(K::Runs, "params.a = \"it's\"").value, s("it's"));
        assert_eq!(one(K::Runs, "params.a = 'AND b OR (c)'").value, s("AND b OR (c)"));
        assert_eq!(one(K::Runs, "params.a = '日本語 ✓'").value, s("日本語 ✓"));
    }

    #[test]
    fn unquoted_or_backticked_values_are_rejected() {
        rejects(K::Runs, "params.a = abc", "Parameter value is either not quoted");
        rejects(K::Runs, "params.a = `abc`", "Parameter value is either not quoted");
        rejects(K::Runs, "tags.a = NULL", "Parameter value is either not quoted");
        rejects(
            K::Runs,
            "attributes.status = FINISHED",
            "Use either single or double quotes",
        );
    }

    #[test]
    fn unterminated_quotes() {
        rejects(K::Runs, "params.a = 'abc", "unterminated quoted string");
        rejects(K::Runs, "params.a = \"abc", "unterminated quoted string");
        rejects(K::Runs, "params.a = 'abc''", "unterminated quoted string");
        rejects(K::Runs, r"params.a = 'abc\'", "unterminated quoted string");
        rejects(K::Runs, "metrics.`abc > 1", "unterminated quoted string");
        rejects(K::Runs, "tags.\"abc = 'x'", "unterminated");
        rejects(K::Runs, "run_id IN ('a', 'b", "unterminated");
    }

    // ---- numbers ------------------------------------------------------------------------

    #[test]
    fn numbers() {
        let n = |f: &str| one(K::Runs, &format!("metrics.m > {f}")).value;
        assert_eq!(n("1"), Value::Num(1.0));
        assert_eq!(n("-2"), Value::Num(-2.0));
        assert_eq!(n("0.5"), Value::Num(0.5));
        assert_eq!(n(".5"), Value::Num(0.5));
        assert_eq!(n("5."), Value::Num(5.0));
        assert_eq!(n("-.25"), Value::Num(-0.25));
        assert_eq!(n("1e-3"), Value::Num(1e-3));
        assert_eq!(n("1E3"), Value::Num(1000.0));
        assert_eq!(n("2.5e+2"), Value::Num(250.0));
        assert_eq!(n("-1.5E-2"), Value::Num(-0.015));
        assert_eq!(n("1700000000000"), Value::Num(1.7e12));
    }

    #[test]
    fn malformed_numbers() {
        rejects(K::Runs, "metrics.m > 1e", "invalid numeric value '1e'");
        rejects(K::Runs, "metrics.m > 1.2.3", "invalid numeric value '1.2.3'");
        rejects(K::Runs, "metrics.m > 12abc", "invalid numeric value '12abc'");
        rejects(K::Runs, "metrics.m > 1e999", "invalid numeric value");
        rejects(K::Runs, "metrics.m > - 1", "expected a value");
        rejects(
            K::Runs,
            "metrics.m > inf",
            "Expected numeric value type for metric. Found inf",
        );
        rejects(K::Runs, "metrics.m > NaN", "Expected numeric value type for metric");
    }

    // ---- comparators --------------------------------------------------------------------

    #[test]
    fn every_comparator() {
        let cases = [
            ("metrics.m = 1", C::Eq),
            ("metrics.m != 1", C::Ne),
            ("metrics.m < 1", C::Lt),
            ("metrics.m <= 1", C::Le),
            ("metrics.m > 1", C::Gt),
            ("metrics.m >= 1", C::Ge),
            ("params.p LIKE '%a'", C::Like),
            ("params.p ILIKE '%a'", C::ILike),
            ("run_id IN ('a')", C::In),
            ("run_id NOT IN ('a')", C::NotIn),
            ("tags.t IS NULL", C::IsNull),
            ("tags.t IS NOT NULL", C::IsNotNull),
        ];
        for (f, op) in cases {
            assert_eq!(one(K::Runs, f).op, op, "{f}");
        }
    }

    #[test]
    fn unknown_comparators() {
        rejects(K::Runs, "metrics.m ~ 1", "Invalid comparator '~' not one of");
        rejects(K::Runs, "metrics.m <> 1", "Invalid comparator '<>'");
        rejects(K::Runs, "metrics.m == 1", "Invalid comparator '=='");
        rejects(K::Runs, "metrics.m => 1", "Invalid comparator '=>'");
        rejects(K::Runs, "params.p NOT LIKE 'x'", "Invalid comparator 'NOT LIKE'");
        rejects(K::Runs, "params.p BETWEEN 'a'", "Invalid comparator 'BETWEEN'");
        rejects(
            K::Runs,
            "params.p",
            "expected a comparator after 'params.p', found the end",
        );
        rejects(K::Runs, "params.p NOT", "expected IN after 'params.p NOT'");
        rejects(K::Runs, "tags.t IS 'x'", "expected NULL or NOT NULL");
        rejects(K::Runs, "tags.t IS NOT", "expected NULL or NOT NULL");
        rejects(K::Runs, "tags.t ISNULL", "Invalid comparator 'ISNULL'");
    }

    #[test]
    fn comparator_must_suit_the_entity() {
        rejects(K::Runs, "metrics.m LIKE '1'", "Invalid comparator 'LIKE' not one of");
        rejects(K::Runs, "metrics.m IS NULL", "Invalid comparator 'IS NULL'");
        rejects(K::Runs, "params.p > 'a'", "Invalid comparator '>'");
        rejects(K::Runs, "tags.t < 'a'", "Invalid comparator '<'");
        rejects(K::Runs, "attributes.status >= 'a'", "Invalid comparator '>='");
        rejects(K::Runs, "attributes.start_time LIKE '1'", "Invalid comparator 'LIKE'");
        rejects(K::Runs, "attributes.run_id IS NULL", "Invalid comparator 'IS NULL'");
        rejects(K::Runs, "datasets.name < 'a'", "Invalid comparator '<'");
    }

    #[test]
    fn missing_values() {
        rejects(
            K::Runs,
            "metrics.m >",
            "expected a value after 'metrics.m >', found the end",
        );
        rejects(
            K::Runs,
            "params.p = AND metrics.m > 1",
            "Parameter value is either not quoted",
        );
        rejects(K::Runs, "params.p LIKE", "expected a value");
        rejects(
            K::Runs,
            "params.p = ,",
            "expected a value after 'params.p =', found ','",
        );
        rejects(K::Runs, "run_id IN", "Expected a parenthesised list");
    }

    // ---- lists --------------------------------------------------------------------------

    #[test]
    fn in_lists() {
        assert_eq!(
            one(K::Runs, "attributes.run_id IN ('a', \"b\" ,'c',)"),
            clause(Entity::Attribute, "run_id", C::In, list(&["a", "b", "c"]))
        );
        assert_eq!(one(K::Runs, "run_id NOT IN ( 'x' )").value, list(&["x"]));
        assert_eq!(
            one(K::Runs, "run_id IN ('it''s', 'a,b', 'c)')").value,
            list(&["it's", "a,b", "c)"])
        );
        assert_eq!(
            one(K::Runs, "datasets.context IN ('train', 'eval')"),
            clause(Entity::Dataset, "context", C::In, list(&["train", "eval"]))
        );
        assert_eq!(one(K::Runs, "dataset.name NOT IN ('d')").op, C::NotIn);
    }

    #[test]
    fn malformed_lists() {
        rejects(K::Runs, "run_id IN ()", "got empty list");
        rejects(K::Runs, "run_id IN (1, 2)", "different type in list: (1, 2)");
        rejects(K::Runs, "run_id IN ('a' 'b')", "ill-formed list");
        rejects(K::Runs, "run_id IN ('a',,)", "different type in list");
        rejects(K::Runs, "run_id IN ('a'", "ill-formed list");
        rejects(K::Runs, "run_id IN 'a'", "Expected a parenthesised list");
        rejects(K::Runs, "run_id IN (('a'))", "different type in list");
    }

    #[test]
    fn in_is_limited_to_list_keys() {
        rejects(K::Runs, "tags.t IN ('a')", "Invalid comparator 'IN'");
        rejects(K::Runs, "params.p NOT IN ('a')", "Invalid comparator 'NOT IN'");
        rejects(K::Runs, "metrics.m IN ('a')", "Invalid comparator 'IN'");
        rejects(
            K::Runs,
            "attributes.status IN ('a')",
            "Only the 'run_id' attribute supports",
        );
        rejects(K::Runs, "run_name NOT IN ('a')", "Only the 'run_id' attribute supports");
        rejects(K::Runs, "start_time IN ('1')", "Invalid comparator 'IN'");
        rejects(K::Experiments, "name IN ('a')", "Only the 'experiment_id' attribute");
        rejects(K::ModelVersions, "source_path IN ('a')", "Only the 'name' and 'run_id'");
        rejects(K::ModelVersions, "name NOT IN ('a')", "Invalid comparator 'NOT IN'");
        rejects(K::RegisteredModels, "tags.t IN ('a')", "Invalid comparator 'IN'");
        rejects(K::LoggedModels, "tags.t IN ('a')", "Invalid comparator 'IN'");
        rejects(
            K::LoggedModels,
            "creation_timestamp IN ('1')",
            "Invalid comparator 'IN'",
        );
    }

    // ---- OR, parentheses, trailing garbage ----------------------------------------------

    #[test]
    fn or_is_rejected() {
        rejects(
            K::Runs,
            "metrics.a > 1 OR metrics.b < 2",
            "Invalid clause(s) in filter string: 'OR'",
        );
        rejects(K::Runs, "metrics.a > 1 or metrics.b < 2", "'OR'");
        rejects(K::Runs, "OR metrics.a > 1", "'OR'");
        rejects(K::Experiments, "name = 'a' Or name = 'b'", "OR is not supported");
    }

    #[test]
    fn parentheses_are_rejected() {
        rejects(
            K::Runs,
            "(metrics.a > 1)",
            "Invalid clause(s) in filter string: '(metrics.a'",
        );
        rejects(
            K::Runs,
            "metrics.a > 1 AND (metrics.b < 2)",
            "Parentheses are only supported",
        );
        rejects(K::Runs, "metrics.a > (1)", "Parentheses are only supported");
        rejects(K::Runs, "metrics.a > 1)", "Parentheses");
        rejects(
            K::Runs,
            "params.a = 'x' AND (params.b = 'y' OR params.c = 'z')",
            "Parentheses",
        );
    }

    #[test]
    fn dangling_and_or_missing_conjunction() {
        rejects(K::Runs, "metrics.a > 1 AND", "Expected a comparison after AND");
        rejects(K::Runs, "metrics.a > 1 AND  ", "Expected a comparison after AND");
        rejects(K::Runs, "AND metrics.a > 1", "Expected a comparison before AND");
        rejects(
            K::Runs,
            "metrics.a > 1 AND AND metrics.b > 1",
            "Expected a comparison before AND",
        );
        rejects(
            K::Runs,
            "metrics.a > 1 metrics.b > 1",
            "'metrics.b'. Expected AND between",
        );
        rejects(K::Runs, "metrics.a > 1 foo", "'foo'. Expected AND");
        rejects(K::Runs, "params.a = 'x' 'y'", "''y''. Expected AND");
        rejects(K::Runs, "NOT metrics.a > 1", "Negated comparisons are not supported");
        rejects(K::Runs, "metrics.a > 1; metrics.b > 2", "multiple expression");
        rejects(K::Runs, "metrics.a > 1;", "multiple expression");
        rejects(K::Runs, "metrics.a > 1 @", "'@'. Expected AND");
        rejects(K::Runs, "@", "Expected an identifier");
    }

    // ---- runs: attributes and canonicalisation -----------------------------------------

    #[test]
    fn run_attributes_are_canonicalised() {
        for f in [
            "attributes.`Run name` = 'x'",
            "attributes.\"Run Name\" = 'x'",
            "`run name` = 'x'",
            "\"Run name\" = 'x'",
            "run.run_name = 'x'",
        ] {
            assert_eq!(
                one(K::Runs, f),
                clause(Entity::Attribute, "run_name", C::Eq, s("x")),
                "{f}"
            );
        }
        for f in ["created > 5", "attributes.Created > 5", "attr.start_time > 5"] {
            assert_eq!(
                one(K::Runs, f),
                clause(Entity::Attribute, "start_time", C::Gt, Value::Num(5.0)),
                "{f}"
            );
        }
        for key in ["run_id", "status", "user_id", "artifact_uri", "run_name"] {
            assert_eq!(one(K::Runs, &format!("attributes.{key} ILIKE '%a%'")).key, key);
        }
        assert_eq!(one(K::Runs, "end_time <= 10").key, "end_time");
    }

    #[test]
    fn run_attribute_errors() {
        rejects(
            K::Runs,
            "attributes.foo = 'x'",
            "Invalid attribute key 'foo' specified. Valid keys are '[",
        );
        rejects(
            K::Runs,
            "attributes.lifecycle_stage = 'active'",
            "Invalid attribute key 'lifecycle_stage'",
        );
        rejects(
            K::Runs,
            "attributes.experiment_id = '1'",
            "Invalid attribute key 'experiment_id'",
        );
        rejects(K::Runs, "attributes.CREATED > 1", "Invalid attribute key 'CREATED'");
        rejects(
            K::Runs,
            "attributes.start_time > '5'",
            "Expected numeric value type for numeric attribute: start_time. Found '5'",
        );
        rejects(K::Runs, "created = 'x'", "numeric attribute: start_time");
        rejects(
            K::Runs,
            "attributes.status = 5",
            "Expected a quoted string value for attributes. Got value 5",
        );
        rejects(K::Runs, "datasets.foo = 'x'", "Invalid dataset key 'foo' specified");
        rejects(
            K::Runs,
            "datasets.name = 1",
            "Expected a quoted string value for dataset attributes",
        );
    }

    #[test]
    fn runs_metric_param_tag_values() {
        rejects(
            K::Runs,
            "metrics.m > '1'",
            "Expected numeric value type for metric. Found '1'",
        );
        rejects(K::Runs, "params.p = 1", "Expected a quoted string value for param");
        rejects(
            K::Runs,
            "tags.t = 1.5",
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1.5",
        );
        assert_eq!(
            one(K::Runs, "params.p IS NULL"),
            clause(Entity::Param, "p", C::IsNull, Value::None)
        );
        assert_eq!(
            one(K::Runs, "tags.`mlflow.runName` IS NOT NULL"),
            clause(Entity::Tag, "mlflow.runName", C::IsNotNull, Value::None)
        );
    }

    // ---- experiments ----------------------------------------------------------------------

    #[test]
    fn experiments() {
        assert_eq!(
            one(K::Experiments, "name LIKE 'exp%'"),
            clause(Entity::Attribute, "name", C::Like, s("exp%"))
        );
        assert_eq!(
            one(K::Experiments, "attribute.experiment_id IN ('1', '2')"),
            clause(Entity::Attribute, "experiment_id", C::In, list(&["1", "2"]))
        );
        assert_eq!(one(K::Experiments, "creation_time >= 1000").value, Value::Num(1000.0));
        assert_eq!(
            one(K::Experiments, "attributes.last_update_time < 5").key,
            "last_update_time"
        );
        assert_eq!(one(K::Experiments, "tags.team = 'ml'").entity, Entity::Tag);
        assert_eq!(one(K::Experiments, "tag.team IS NULL").op, C::IsNull);
        rejects(
            K::Experiments,
            "creation_time = 'x'",
            "numeric attribute: creation_time",
        );
        rejects(K::Experiments, "name > 'a'", "Invalid comparator '>'");
        rejects(K::Experiments, "run_id = 'a'", "Invalid attribute key 'run_id'");
        rejects(K::Experiments, "lifecycle_stage = 'active'", "Invalid attribute key");
    }

    // ---- registered models ---------------------------------------------------------------

    #[test]
    fn registered_models_with_the_prompt_clause() {
        let got = parse_filter(
            K::RegisteredModels,
            "name ILIKE '%churn%' AND tags.`mlflow.prompt.is_prompt` != 'true'",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                clause(Entity::Attribute, "name", C::ILike, s("%churn%")),
                clause(Entity::Tag, "mlflow.prompt.is_prompt", C::Ne, s("true")),
            ]
        );
        // The client's clause on its own (no user filter).
        assert_eq!(
            one(K::RegisteredModels, "tags.`mlflow.prompt.is_prompt` != 'true'").key,
            "mlflow.prompt.is_prompt"
        );
        assert_eq!(one(K::RegisteredModels, "name IN ('a', 'b')").value, list(&["a", "b"]));
        assert_eq!(one(K::RegisteredModels, "attributes.name = 'm'").key, "name");
        rejects(
            K::RegisteredModels,
            "creation_timestamp > 1",
            "Invalid attribute key 'creation_timestamp'",
        );
        rejects(K::RegisteredModels, "tags.t IS NULL", "Invalid comparator 'IS NULL'");
        rejects(
            K::RegisteredModels,
            "name = 1",
            "Expected a quoted string value for attributes",
        );
    }

    // ---- model versions ------------------------------------------------------------------

    #[test]
    fn model_versions() {
        let got = parse_filter(K::ModelVersions, "name = 'm' AND version_number >= 2").unwrap();
        assert_eq!(
            got[1],
            clause(Entity::Attribute, "version_number", C::Ge, Value::Num(2.0))
        );
        assert_eq!(one(K::ModelVersions, "run_id IN ('r1', 'r2')").op, C::In);
        assert_eq!(one(K::ModelVersions, "name IN ('m')").op, C::In);
        assert_eq!(one(K::ModelVersions, "source_path LIKE 's3://%'").op, C::Like);
        assert_eq!(one(K::ModelVersions, "tags.`x y` = 'z'").key, "x y");
        rejects(
            K::ModelVersions,
            "version_number = '2'",
            "numeric attribute: version_number",
        );
        rejects(K::ModelVersions, "version_number LIKE '2'", "Invalid comparator 'LIKE'");
        rejects(
            K::ModelVersions,
            "current_stage = 'Production'",
            "Invalid attribute key 'current_stage'",
        );
        rejects(K::ModelVersions, "metrics.a > 1", "Invalid entity type 'metrics'");
    }

    // ---- logged models -------------------------------------------------------------------

    #[test]
    fn logged_models() {
        assert_eq!(
            one(K::LoggedModels, "name = 'my-model'"),
            clause(Entity::Attribute, "name", C::Eq, s("my-model"))
        );
        for key in ["model_id", "model_type", "status", "source_run_id"] {
            assert_eq!(one(K::LoggedModels, &format!("attributes.{key} != 'x'")).key, key);
        }
        assert_eq!(one(K::LoggedModels, "creation_time > 1").key, "creation_timestamp");
        assert_eq!(
            one(K::LoggedModels, "last_updated_time <= 1").key,
            "last_updated_timestamp"
        );
        assert_eq!(one(K::LoggedModels, "creation_timestamp > 1").key, "creation_timestamp");
        assert_eq!(
            one(K::LoggedModels, "metrics.accuracy > 0.9"),
            clause(Entity::Metric, "accuracy", C::Gt, Value::Num(0.9))
        );
        assert_eq!(one(K::LoggedModels, "params.lr = '0.1'").entity, Entity::Param);
        assert_eq!(one(K::LoggedModels, "tags.t LIKE 'a%'").entity, Entity::Tag);
        // MLflow's SearchLoggedModelsUtils overrides validate_list_supported: every string
        // attribute accepts a list.
        assert_eq!(one(K::LoggedModels, "model_id IN ('m-1')").op, C::In);
        rejects(
            K::LoggedModels,
            "creation_timestamp = 'x'",
            "numeric attribute: creation_timestamp",
        );
        rejects(K::LoggedModels, "params.lr IS NULL", "Invalid comparator 'IS NULL'");
        rejects(K::LoggedModels, "run_id = 'x'", "Invalid attribute key 'run_id'");
    }

    // ---- order_by ------------------------------------------------------------------------

    #[test]
    fn order_by_runs() {
        let o = |e, k: &str, a| OrderBy {
            entity: e,
            key: k.to_string(),
            ascending: a,
        };
        assert_eq!(order(K::Runs, "metrics.loss DESC"), o(Entity::Metric, "loss", false));
        assert_eq!(order(K::Runs, "metrics.loss"), o(Entity::Metric, "loss", true));
        assert_eq!(order(K::Runs, "  metrics.loss  asc  "), o(Entity::Metric, "loss", true));
        assert_eq!(order(K::Runs, "params.`lr` asc"), o(Entity::Param, "lr", true));
        assert_eq!(
            order(K::Runs, "metrics.`my metric` dEsC"),
            o(Entity::Metric, "my metric", false)
        );
        assert_eq!(
            order(K::Runs, "tags.\"mlflow.user\" DESC"),
            o(Entity::Tag, "mlflow.user", false)
        );
        assert_eq!(order(K::Runs, "tags.mlflow.user"), o(Entity::Tag, "mlflow.user", true));
        assert_eq!(
            order(K::Runs, "attributes.start_time"),
            o(Entity::Attribute, "start_time", true)
        );
        assert_eq!(
            order(K::Runs, "start_time DESC"),
            o(Entity::Attribute, "start_time", false)
        );
        assert_eq!(order(K::Runs, "created"), o(Entity::Attribute, "start_time", true));
        assert_eq!(
            order(K::Runs, "attr.`Run name` DESC"),
            o(Entity::Attribute, "run_name", false)
        );
        assert_eq!(order(K::Runs, "run.end_time"), o(Entity::Attribute, "end_time", true));
    }

    #[test]
    fn order_by_junk() {
        for kind in ALL_KINDS {
            rejects_order(kind, "", "Invalid order_by clause ''. Could not be parsed.");
            rejects_order(kind, "   ", "Could not be parsed");
        }
        rejects_order(K::Runs, "metrics.a DESC extra", "Could not be parsed");
        rejects_order(K::Runs, "metrics.a DESC,", "Could not be parsed");
        rejects_order(K::Runs, "metrics.a, metrics.b", "Could not be parsed");
        rejects_order(
            K::Runs,
            "metrics.a sideways",
            "Invalid ordering key in order_by clause 'metrics.a sideways'",
        );
        rejects_order(K::Runs, "metrics.a ASC DESC", "Could not be parsed");
        rejects_order(K::Runs, "metrics.`a", "Could not be parsed");
        rejects_order(K::Runs, "metrics.", "Could not be parsed");
        rejects_order(K::Runs, "DESC", "Invalid attribute key 'DESC'");
        rejects_order(K::Runs, "(metrics.a)", "Could not be parsed");
        rejects_order(K::Runs, "metrics.a > 1", "Could not be parsed");
        rejects_order(K::Runs, "'metrics.a'", "Could not be parsed");
    }

    #[test]
    fn order_by_validation_per_kind() {
        rejects_order(K::Runs, "datasets.name", "Invalid order_by entity");
        rejects_order(K::Runs, "attributes.foo", "Invalid attribute key 'foo'");
        rejects_order(K::Runs, "foo.bar", "Invalid entity type 'foo'");

        for key in ["name", "experiment_id", "creation_time", "last_update_time"] {
            assert_eq!(order(K::Experiments, &format!("{key} DESC")).key, key);
        }
        rejects_order(K::Experiments, "tags.t", "Invalid order_by entity");
        rejects_order(K::Experiments, "start_time", "Invalid attribute key 'start_time'");

        for key in ["name", "creation_timestamp", "last_updated_timestamp"] {
            assert_eq!(order(K::RegisteredModels, &format!("{key} ASC")).key, key);
        }
        rejects_order(K::RegisteredModels, "timestamp", "Invalid attribute key 'timestamp'");
        rejects_order(
            K::RegisteredModels,
            "timestamp DESC",
            "Invalid attribute key 'timestamp'",
        );
        rejects_order(K::RegisteredModels, "tags.t", "Invalid order_by entity");

        for key in ["name", "version_number", "creation_timestamp", "last_updated_timestamp"] {
            assert_eq!(order(K::ModelVersions, &format!("attribute.{key}")).key, key);
        }
        rejects_order(K::ModelVersions, "run_id", "Invalid attribute key 'run_id'");

        assert_eq!(order(K::LoggedModels, "creation_time DESC").key, "creation_timestamp");
        assert_eq!(order(K::LoggedModels, "metrics.`val loss`").key, "val loss");
        rejects_order(K::LoggedModels, "params.lr", "Invalid order_by entity");
    }

    #[test]
    fn logged_model_structured_order_field() {
        let got = parse_logged_model_order_field("metrics.val loss", false).unwrap();
        assert_eq!(
            got,
            OrderBy {
                entity: Entity::Metric,
                key: "val loss".into(),
                ascending: false
            }
        );
        assert_eq!(
            parse_logged_model_order_field(" creation_time ", true).unwrap().key,
            "creation_timestamp"
        );
        assert_eq!(
            parse_logged_model_order_field("name", true).unwrap().entity,
            Entity::Attribute
        );
        let e = parse_logged_model_order_field("params.lr", true).unwrap_err();
        assert!(e.message.contains("only `metrics.<name>` is allowed"), "{}", e.message);
        assert!(parse_logged_model_order_field("metrics.", true).is_err());
        assert!(parse_logged_model_order_field("bogus", true).is_err());
    }

    // ---- display round trip ----------------------------------------------------------------

    #[test]
    fn display_renders_parsable_filters() {
        let c = clause(Entity::Tag, "we`ird 'key'", C::Eq, s(r"it's a \ test"));
        assert_eq!(c.to_string(), r"tags.`we``ird 'key'` = 'it''s a \\ test'");
        assert_eq!(one(K::Runs, &c.to_string()), c);
        let c = clause(Entity::Attribute, "run_id", C::NotIn, list(&["a", "b'c"]));
        assert_eq!(c.to_string(), "attributes.`run_id` NOT IN ('a', 'b''c')");
        assert_eq!(one(K::Runs, &c.to_string()), c);
        let c = clause(Entity::Param, "p", C::IsNull, Value::None);
        assert_eq!(c.to_string(), "params.`p` IS NULL");
        let c = clause(Entity::Metric, "m", C::Lt, Value::Num(-1e-3));
        assert_eq!(one(K::Runs, &c.to_string()), c);
        let o = OrderBy {
            entity: Entity::Metric,
            key: "a b".into(),
            ascending: false,
        };
        assert_eq!(o.to_string(), "metrics.`a b` DESC");
        assert_eq!(order(K::Runs, &o.to_string()), o);
    }

    // ---- robustness ----------------------------------------------------------------------

    /// xorshift64*: deterministic, dependency-free randomness for the fuzz-ish test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    const SEEDS: &[&str] = &[
        "metrics.acc > 0.9 AND params.lr = '0.01'",
        "tags.`mlflow.prompt.is_prompt` != 'true'",
        "attributes.run_id IN ('a', 'b') AND attributes.`Run name` ILIKE '%x%'",
        "tags.\"mlflow.user\" IS NOT NULL AND created >= -1e-3",
        "datasets.context NOT IN ('train') AND run.status = \"FINISHED\"",
        "name LIKE 'it''s%' AND version_number <= 3",
        "metrics.`a b` DESC",
        "creation_time asc",
    ];

    const FRAGMENTS: &[&str] = &[
        " ",
        "  ",
        "\t",
        "\n",
        "'",
        "\"",
        "`",
        "\\",
        "(",
        ")",
        ",",
        ".",
        ";",
        "-",
        "+",
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "<>",
        "~",
        "AND",
        "and",
        "OR",
        "NOT",
        "IN",
        "IS",
        "NULL",
        "LIKE",
        "ILIKE",
        "ASC",
        "DESC",
        "metrics",
        "params",
        "tags",
        "attributes",
        "datasets",
        "run",
        "name",
        "run_id",
        "start_time",
        "created",
        "Run name",
        "1",
        "1e",
        "1e-3",
        ".5",
        "-",
        "é",
        "日本",
        "🦀",
        "\u{0301}",
        "\u{200B}",
        "\u{FEFF}",
        "\0",
        "%",
        "_",
    ];

    fn mutate(rng: &mut Rng, input: &str) -> String {
        let mut chars: Vec<char> = input.chars().collect();
        for _ in 0..=rng.below(4) {
            let at = rng.below(chars.len() + 1);
            match rng.below(4) {
                0 if !chars.is_empty() => {
                    let end = (at + rng.below(6)).min(chars.len());
                    chars.drain(at.min(end)..end);
                }
                1 => {
                    let frag: Vec<char> = rng.pick(FRAGMENTS).chars().collect();
                    chars.splice(at..at, frag);
                }
                2 if at < chars.len() => {
                    chars[at] = char::from_u32(rng.below(0x3000) as u32).unwrap_or('?');
                }
                _ => {
                    let frag: Vec<char> = rng.pick(SEEDS).chars().collect();
                    let cut = rng.below(frag.len() + 1);
                    chars.splice(at..at, frag[..cut].iter().copied());
                }
            }
        }
        chars.into_iter().collect()
    }

    #[test]
    fn random_and_mutated_inputs_never_panic_and_round_trip() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut parsed = 0;
        for i in 0..4000 {
            let input = if i % 3 == 0 {
                (0..rng.below(12)).map(|_| rng.pick(FRAGMENTS)).collect::<String>()
            } else {
                let seed = rng.pick(SEEDS);
                mutate(&mut rng, seed)
            };
            for kind in ALL_KINDS {
                if let Ok(clauses) = parse_filter(kind, &input) {
                    parsed += 1;
                    let rendered: Vec<String> = clauses.iter().map(|c| c.to_string()).collect();
                    let again = parse_filter(kind, &rendered.join(" AND "))
                        .unwrap_or_else(|e| panic!("{input:?} -> {rendered:?}: {}", e.message));
                    assert_eq!(again, clauses, "{input:?}");
                }
                if let Ok(o) = parse_order_by(kind, &input) {
                    assert_eq!(parse_order_by(kind, &o.to_string()).unwrap(), o, "{input:?}");
                }
                let _ = parse_logged_model_order_field(&input, true);
            }
        }
        assert!(parsed > 50, "the mutations should leave some filters valid ({parsed})");
    }

    #[test]
    fn pathological_inputs() {
        // Refused by the limits, whichever is reached first, before parsing gets far.
        let long = "metrics.a > 1 AND ".repeat(5000) + "metrics.b < 2";
        rejects(K::Runs, &long, "at most 65536 bytes");
        let many = "name = 'x' AND ".repeat(150) + "name = 'y'";
        rejects(K::LoggedModels, &many, "at most 100 clauses");
        for input in [
            "(".repeat(10_000),
            "'".repeat(10_001),
            "`".repeat(3),
            "\"\"\"".to_string(),
            "metrics.".repeat(1000),
            "\u{0}".to_string(),
            "é".repeat(100) + " = 'x'",
        ] {
            for kind in ALL_KINDS {
                assert!(parse_filter(kind, &input).is_err());
                assert!(parse_order_by(kind, &input).is_err());
            }
        }
    }

    // ---- limits -------------------------------------------------------------------------

    /// A tag comparison and an IN list every kind of search admits.
    fn tag_and_list_keys(kind: SearchKind) -> (&'static str, &'static str) {
        let list_key = match kind {
            K::Runs => "attributes.run_id",
            K::Experiments => "experiment_id",
            _ => "name",
        };
        ("tags.t", list_key)
    }

    #[test]
    fn clause_count_is_limited() {
        use crate::validation::MAX_FILTER_CLAUSES;
        for kind in ALL_KINDS {
            let (tag, _) = tag_and_list_keys(kind);
            let at_limit = vec![format!("{tag} = 'x'"); MAX_FILTER_CLAUSES].join(" AND ");
            assert_eq!(parse_filter(kind, &at_limit).unwrap().len(), MAX_FILTER_CLAUSES);
            rejects(kind, &format!("{at_limit} AND {tag} = 'y'"), "at most 100 clauses");
        }
    }

    #[test]
    fn string_values_and_patterns_are_limited_in_characters() {
        use crate::validation::MAX_FILTER_VALUE_LENGTH;
        // Multi-byte characters: the limit counts characters, as the stored value limits do.
        let longest = "é".repeat(MAX_FILTER_VALUE_LENGTH);
        let pattern = "%_".repeat(MAX_FILTER_VALUE_LENGTH / 2);
        for kind in ALL_KINDS {
            let (tag, list_key) = tag_and_list_keys(kind);
            assert_eq!(one(kind, &format!("{tag} = '{longest}'")).value, s(&longest));
            assert_eq!(one(kind, &format!("{tag} LIKE '{pattern}'")).value, s(&pattern));
            assert_eq!(one(kind, &format!("{tag} ILIKE \"{pattern}\"")).value, s(&pattern));
            assert_eq!(
                one(kind, &format!("{list_key} IN ('{longest}')")).value,
                list(&[&longest])
            );
            rejects(
                kind,
                &format!("{tag} = '{longest}x'"),
                "at most 8000 characters long; got 8001",
            );
            rejects(kind, &format!("{tag} LIKE '{pattern}%'"), "at most 8000 characters");
            rejects(
                kind,
                &format!("{list_key} IN ('a', '{longest}x')"),
                "at most 8000 characters",
            );
            let long_key = "k".repeat(MAX_FILTER_VALUE_LENGTH + 1);
            rejects(kind, &format!("tags.`{long_key}` = 'x'"), "a key can be at most 8000");
            rejects(kind, &format!("tags.{long_key} = 'x'"), "a key can be at most 8000");
        }
        let key = "k".repeat(MAX_FILTER_VALUE_LENGTH);
        assert_eq!(order(K::Runs, &format!("params.`{key}`")).key, key);
        rejects_order(K::Runs, &format!("params.`{key}k`"), "at most 8000 characters");
        assert!(parse_logged_model_order_field(&format!("metrics.{key}"), true).is_ok());
        assert!(parse_logged_model_order_field(&format!("metrics.{key}k"), true).is_err());
    }

    #[test]
    fn in_lists_are_limited() {
        use crate::validation::MAX_IN_LIST_VALUES;
        for kind in ALL_KINDS {
            let (_, list_key) = tag_and_list_keys(kind);
            let items = (0..MAX_IN_LIST_VALUES).map(|i| format!("'{i}'")).collect::<Vec<_>>();
            let c = one(kind, &format!("{list_key} IN ({})", items.join(",")));
            assert!(matches!(c.value, Value::List(ref l) if l.len() == MAX_IN_LIST_VALUES));
            rejects(
                kind,
                &format!("{list_key} IN ({}, 'one more')", items.join(",")),
                "can contain at most 1000 values",
            );
        }
        let items = vec!["'x'"; MAX_IN_LIST_VALUES + 1].join(",");
        rejects(
            K::Runs,
            &format!("run_id NOT IN ({items})"),
            "after NOT IN can contain at most 1000",
        );
    }

    #[test]
    fn filter_and_order_by_strings_are_limited_in_bytes() {
        use crate::validation::MAX_FILTER_STRING_LENGTH;
        for kind in ALL_KINDS {
            let (tag, _) = tag_and_list_keys(kind);
            let clause = format!("{tag} = 'x'");
            let at_limit = format!("{clause}{}", " ".repeat(MAX_FILTER_STRING_LENGTH - clause.len()));
            assert_eq!(parse_filter(kind, &at_limit).unwrap().len(), 1);
            rejects(
                kind,
                &format!("{at_limit} "),
                "at most 65536 bytes long; got 65537 bytes",
            );
        }
        let term = "start_time DESC";
        let at_limit = format!("{term}{}", " ".repeat(MAX_FILTER_STRING_LENGTH - term.len()));
        assert!(!order(K::Runs, &at_limit).ascending);
        rejects_order(K::Runs, &format!("{at_limit} "), "at most 65536 bytes");
    }
}

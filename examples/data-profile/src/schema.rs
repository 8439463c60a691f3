//! The dataset schema (column names, types and nullability, given as JSON), validation of one
//! value against it, and its MLflow `mlflow_colspec` form for a dataset input.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Column types, named as MLflow's `DataType` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    String,
    Long,
    Integer,
    Double,
    Float,
    Boolean,
    Datetime,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Long => "long",
            ColumnType::Integer => "integer",
            ColumnType::Double => "double",
            ColumnType::Float => "float",
            ColumnType::Boolean => "boolean",
            ColumnType::Datetime => "datetime",
        }
    }
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            ColumnType::Long | ColumnType::Integer | ColumnType::Double | ColumnType::Float
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    #[serde(default = "yes")]
    pub nullable: bool,
}

fn yes() -> bool {
    true
}

fn default_nulls() -> Vec<String> {
    vec![String::new()]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// The dataset's name (the MLflow dataset input's name unless `--name` says otherwise).
    #[serde(default)]
    pub name: Option<String>,
    /// Values read as null; the empty field by default.
    #[serde(default = "default_nulls")]
    pub null_values: Vec<String>,
    pub columns: Vec<Column>,
}

/// A valid value, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An ISO 8601 timestamp, kept as written.
    Datetime(String),
}

impl Cell {
    /// The value as a cleaned CSV field.
    pub fn to_csv(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Str(s) | Cell::Datetime(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => f.to_string(),
            Cell::Bool(b) => b.to_string(),
        }
    }
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Str(s) | Cell::Datetime(s) => json!(s),
            Cell::Int(i) => json!(i),
            Cell::Float(f) => json!(f),
            Cell::Bool(b) => json!(b),
        }
    }
}

impl Schema {
    pub fn parse(text: &str) -> anyhow::Result<Schema> {
        let schema: Schema = serde_json::from_str(text).context("invalid schema JSON")?;
        if schema.columns.is_empty() {
            bail!("the schema has no columns");
        }
        let mut seen = std::collections::HashSet::new();
        for c in &schema.columns {
            if c.name.is_empty() {
                bail!("a schema column has an empty name");
            }
            if !seen.insert(c.name.as_str()) {
                bail!("column '{}' appears twice in the schema", c.name);
            }
        }
        Ok(schema)
    }

    /// Reads a schema file, or inline JSON when the argument starts with `{`.
    pub fn load(arg: &str) -> anyhow::Result<Schema> {
        let text = if arg.trim_start().starts_with('{') {
            arg.to_string()
        } else {
            std::fs::read_to_string(arg).with_context(|| format!("cannot read schema file {arg}"))?
        };
        Schema::parse(&text).with_context(|| format!("schema {arg}"))
    }

    /// For each schema column, its position in the header. Every schema column must be there;
    /// header columns the schema does not name are dropped from the cleaned output.
    pub fn bind(&self, header: &[impl AsRef<str>]) -> anyhow::Result<Vec<usize>> {
        let names: Vec<&str> = header.iter().map(|h| h.as_ref().trim()).collect();
        let mut missing = Vec::new();
        let mut idx = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            match names.iter().position(|n| *n == c.name) {
                Some(i) => idx.push(i),
                None => missing.push(c.name.as_str()),
            }
        }
        if !missing.is_empty() {
            bail!(
                "the header lacks schema column(s) {}; it has: {}",
                missing.join(", "),
                names.join(", ")
            );
        }
        Ok(idx)
    }

    /// The schema as MLflow writes a dataset's schema: `{"mlflow_colspec": [...]}`.
    pub fn mlflow_colspec(&self) -> Value {
        let cols: Vec<Value> = self
            .columns
            .iter()
            .map(|c| json!({"type": c.ty.as_str(), "name": c.name, "required": !c.nullable}))
            .collect();
        json!({ "mlflow_colspec": cols })
    }

    pub fn is_null(&self, raw: &str) -> bool {
        self.null_values.iter().any(|n| n == raw)
    }
}

/// Why a value is not valid for its column, as a short stable phrase (counted per column in the
/// profile) and the offending text.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub column: String,
    pub kind: &'static str,
    pub value: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_empty() {
            write!(f, "column '{}': {}", self.column, self.kind)
        } else {
            write!(f, "column '{}': {} ({:?})", self.column, self.kind, self.value)
        }
    }
}

pub fn validate(schema: &Schema, col: &Column, raw: &str) -> Result<Cell, Invalid> {
    let bad = |kind: &'static str| Invalid {
        column: col.name.clone(),
        kind,
        value: raw.to_string(),
    };
    if schema.is_null(raw) {
        return if col.nullable {
            Ok(Cell::Null)
        } else {
            Err(bad("null in a required column"))
        };
    }
    let t = raw.trim();
    match col.ty {
        ColumnType::String => Ok(Cell::Str(raw.to_string())),
        ColumnType::Long => t.parse::<i64>().map(Cell::Int).map_err(|_| bad("not a long")),
        ColumnType::Integer => t
            .parse::<i32>()
            .map(|v| Cell::Int(v.into()))
            .map_err(|_| bad("not an integer")),
        ColumnType::Double | ColumnType::Float => match t.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                if col.ty == ColumnType::Float && v.abs() > f32::MAX as f64 {
                    Err(bad("out of range for a float"))
                } else {
                    Ok(Cell::Float(v))
                }
            }
            Ok(_) => Err(bad("not a finite number")),
            Err(_) => Err(bad(if col.ty == ColumnType::Double {
                "not a double"
            } else {
                "not a float"
            })),
        },
        ColumnType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Ok(Cell::Bool(true)),
            "false" | "f" | "no" | "n" | "0" => Ok(Cell::Bool(false)),
            _ => Err(bad("not a boolean")),
        },
        ColumnType::Datetime => {
            if is_iso8601(t) {
                Ok(Cell::Datetime(t.to_string()))
            } else {
                Err(bad("not an ISO 8601 date or timestamp"))
            }
        }
    }
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `YYYY-MM-DD`, optionally followed by `T` or a space, `HH:MM[:SS[.fff]]` and `Z` or `±HH:MM`.
pub fn is_iso8601(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10])) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if d == 0 || d > days {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    if !(b[10] == b'T' || b[10] == b' ') || b.len() < 16 || b[13] != b':' {
        return false;
    }
    let (Some(hh), Some(mm)) = (digits(&b[11..13]), digits(&b[14..16])) else {
        return false;
    };
    if hh > 23 || mm > 59 {
        return false;
    }
    let mut rest = &b[16..];
    if rest.first() == Some(&b':') {
        match rest.get(1..3).and_then(digits) {
            Some(ss) if ss <= 60 => rest = &rest[3..],
            _ => return false,
        }
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return false;
            }
            rest = &rest[1 + n..];
        }
    }
    match rest {
        [] | [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            matches!((digits(&[*h1, *h2]), digits(&[*m1, *m2])), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::parse(
            r#"{"null_values": ["", "NA"], "columns": [
                {"name": "id", "type": "long", "nullable": false},
                {"name": "score", "type": "double"},
                {"name": "ok", "type": "boolean", "nullable": false},
                {"name": "at", "type": "datetime", "nullable": false},
                {"name": "n", "type": "integer"},
                {"name": "label", "type": "string", "nullable": false}]}"#,
        )
        .unwrap()
    }

    fn check(col: &str, raw: &str) -> Result<Cell, &'static str> {
        let s = schema();
        let c = s.columns.iter().find(|c| c.name == col).unwrap();
        validate(&s, c, raw).map_err(|e| e.kind)
    }

    #[test]
    fn values_are_typed_or_refused() {
        assert_eq!(check("id", "42"), Ok(Cell::Int(42)));
        assert_eq!(check("id", "4.2"), Err("not a long"));
        assert_eq!(check("id", ""), Err("null in a required column"));
        assert_eq!(check("id", "NA"), Err("null in a required column"));
        assert_eq!(check("score", "NA"), Ok(Cell::Null));
        assert_eq!(check("score", " 1.5 "), Ok(Cell::Float(1.5)));
        assert_eq!(check("score", "inf"), Err("not a finite number"));
        assert_eq!(check("score", "12,50"), Err("not a double"));
        assert_eq!(check("ok", "TRUE"), Ok(Cell::Bool(true)));
        assert_eq!(check("ok", "0"), Ok(Cell::Bool(false)));
        assert_eq!(check("ok", "maybe"), Err("not a boolean"));
        assert_eq!(check("n", "3000000000"), Err("not an integer"));
        assert_eq!(
            check("label", "anything, really"),
            Ok(Cell::Str("anything, really".into()))
        );
        assert_eq!(check("label", ""), Err("null in a required column"));
    }

    #[test]
    fn iso8601_dates_and_timestamps() {
        for ok in [
            "2026-01-31",
            "2024-02-29",
            "2026-01-01T00:00:00Z",
            "2026-01-01 23:59",
            "2026-01-01T12:30:45.123+02:00",
            "2026-06-30T08:00:00-05:30",
        ] {
            assert!(is_iso8601(ok), "{ok}");
        }
        for bad in [
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2025-02-29",
            "01/02/2026",
            "2026-01-01T24:00:00Z",
            "2026-01-01T10:00:00X",
            "2026-01-01T10:00:00.Z",
            "2026-1-01",
        ] {
            assert!(!is_iso8601(bad), "{bad}");
        }
    }

    #[test]
    fn binding_by_header_name() {
        let s = schema();
        let idx = s.bind(&["label", "extra", "at", "n", "ok", "score", "id"]).unwrap();
        assert_eq!(idx, vec![6, 5, 4, 2, 3, 0]);
        let err = s.bind(&["id", "score"]).unwrap_err().to_string();
        assert!(err.contains("ok, at, n, label"), "{err}");
    }

    #[test]
    fn schema_errors_and_colspec() {
        assert!(Schema::parse(r#"{"columns": []}"#).is_err());
        assert!(Schema::parse(r#"{"columns": [{"name": "a", "type": "decimal"}]}"#).is_err());
        assert!(
            Schema::parse(r#"{"columns": [{"name": "a", "type": "long"}, {"name": "a", "type": "long"}]}"#).is_err()
        );
        let spec = schema().mlflow_colspec();
        assert_eq!(
            spec["mlflow_colspec"][0],
            json!({"type": "long", "name": "id", "required": true})
        );
        assert_eq!(
            spec["mlflow_colspec"][1],
            json!({"type": "double", "name": "score", "required": false})
        );
    }
}

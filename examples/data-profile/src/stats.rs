//! Per-column statistics over the valid rows: count and nulls for every column; min, max, mean
//! and standard deviation (sample, Welford's algorithm) for numbers; distinct count and lengths
//! for strings; true/false counts for booleans; the earliest and latest datetime.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::schema::{Cell, Column, ColumnType};

#[derive(Debug, Clone, Default)]
pub struct Numeric {
    pub n: u64,
    pub mean: f64,
    m2: f64,
    pub min: f64,
    pub max: f64,
}

impl Numeric {
    pub fn push(&mut self, x: f64) {
        if self.n == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }
    /// Sample standard deviation (n - 1); `None` below two values.
    pub fn std(&self) -> Option<f64> {
        (self.n > 1).then(|| (self.m2 / (self.n - 1) as f64).sqrt())
    }
}

#[derive(Debug, Clone)]
pub struct ColumnStats {
    pub name: String,
    pub ty: ColumnType,
    pub count: u64,
    pub nulls: u64,
    pub numeric: Numeric,
    distinct: HashSet<String>,
    min_len: Option<usize>,
    max_len: usize,
    trues: u64,
    falses: u64,
    first: Option<String>,
    last: Option<String>,
}

impl ColumnStats {
    pub fn new(col: &Column) -> Self {
        ColumnStats {
            name: col.name.clone(),
            ty: col.ty,
            count: 0,
            nulls: 0,
            numeric: Numeric::default(),
            distinct: HashSet::new(),
            min_len: None,
            max_len: 0,
            trues: 0,
            falses: 0,
            first: None,
            last: None,
        }
    }

    pub fn push(&mut self, cell: &Cell) {
        match cell {
            Cell::Null => {
                self.nulls += 1;
                return;
            }
            Cell::Int(i) => self.numeric.push(*i as f64),
            Cell::Float(f) => self.numeric.push(*f),
            Cell::Bool(true) => self.trues += 1,
            Cell::Bool(false) => self.falses += 1,
            Cell::Str(s) => {
                let len = s.chars().count();
                self.min_len = Some(self.min_len.map_or(len, |m| m.min(len)));
                self.max_len = self.max_len.max(len);
                if !self.distinct.contains(s.as_str()) {
                    self.distinct.insert(s.clone());
                }
            }
            Cell::Datetime(s) => {
                // ISO 8601 in one format sorts as text.
                if self.first.as_deref().is_none_or(|f| s.as_str() < f) {
                    self.first = Some(s.clone());
                }
                if self.last.as_deref().is_none_or(|l| s.as_str() > l) {
                    self.last = Some(s.clone());
                }
            }
        }
        self.count += 1;
    }

    pub fn distinct(&self) -> usize {
        self.distinct.len()
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({"type": self.ty.as_str(), "count": self.count, "nulls": self.nulls});
        let o = v.as_object_mut().expect("object");
        match self.ty {
            t if t.is_numeric() => {
                let n = &self.numeric;
                let num = |x: f64| if n.n > 0 { json!(x) } else { Value::Null };
                o.insert("min".into(), num(n.min));
                o.insert("max".into(), num(n.max));
                o.insert("mean".into(), num(n.mean));
                o.insert("std".into(), json!(n.std()));
            }
            ColumnType::String => {
                o.insert("distinct".into(), json!(self.distinct.len()));
                o.insert("min_length".into(), json!(self.min_len));
                o.insert("max_length".into(), json!(self.min_len.map(|_| self.max_len)));
            }
            ColumnType::Boolean => {
                o.insert("true".into(), json!(self.trues));
                o.insert("false".into(), json!(self.falses));
            }
            ColumnType::Datetime => {
                o.insert("min".into(), json!(self.first));
                o.insert("max".into(), json!(self.last));
            }
            _ => {}
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(ty: ColumnType) -> Column {
        Column {
            name: "c".into(),
            ty,
            nullable: true,
        }
    }

    #[test]
    fn numeric_stats_match_the_textbook() {
        let mut s = ColumnStats::new(&col(ColumnType::Double));
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            s.push(&Cell::Float(x));
        }
        s.push(&Cell::Null);
        let j = s.to_json();
        assert_eq!(j["count"], 8);
        assert_eq!(j["nulls"], 1);
        assert_eq!(j["min"], 2.0);
        assert_eq!(j["max"], 9.0);
        assert_eq!(j["mean"], 5.0);
        // Sample std of the classic example: sqrt(32 / 7).
        assert!((j["std"].as_f64().unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn empty_and_single_value_columns() {
        let mut s = ColumnStats::new(&col(ColumnType::Long));
        let j = s.to_json();
        assert_eq!(
            (j["count"].clone(), j["min"].clone(), j["std"].clone()),
            (json!(0), Value::Null, Value::Null)
        );
        s.push(&Cell::Int(-3));
        let j = s.to_json();
        assert_eq!(
            (j["min"].clone(), j["max"].clone(), j["mean"].clone()),
            (json!(-3.0), json!(-3.0), json!(-3.0))
        );
        assert_eq!(j["std"], Value::Null);
    }

    #[test]
    fn strings_booleans_and_datetimes() {
        let mut s = ColumnStats::new(&col(ColumnType::String));
        for v in ["b", "a", "b", "ccc", "é"] {
            s.push(&Cell::Str(v.into()));
        }
        let j = s.to_json();
        assert_eq!((j["count"].clone(), j["distinct"].clone()), (json!(5), json!(4)));
        assert_eq!((j["min_length"].clone(), j["max_length"].clone()), (json!(1), json!(3)));

        let mut b = ColumnStats::new(&col(ColumnType::Boolean));
        for v in [true, false, true] {
            b.push(&Cell::Bool(v));
        }
        assert_eq!(
            (b.to_json()["true"].clone(), b.to_json()["false"].clone()),
            (json!(2), json!(1))
        );

        let mut d = ColumnStats::new(&col(ColumnType::Datetime));
        for v in ["2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"] {
            d.push(&Cell::Datetime(v.into()));
        }
        assert_eq!(d.to_json()["min"], "2026-01-01T00:00:00Z");
        assert_eq!(d.to_json()["max"], "2026-03-01T00:00:00Z");
    }
}

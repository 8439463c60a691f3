//! One pass over the input: parse, pick this shard's rows, validate them against the schema,
//! profile the valid ones, and produce the cleaned output, the rejected rows and the profile.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::csv::{self, Reader};
use crate::schema::{Cell, Schema, validate};
use crate::stats::ColumnStats;

/// This process's part of the input: data rows (0-based, header excluded) whose index modulo
/// `count` is `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: u32, count: u32) -> anyhow::Result<Shard> {
        if count == 0 {
            bail!("the shard count must be at least 1");
        }
        if index >= count {
            bail!("shard index {index} is out of range for {count} shard(s)");
        }
        Ok(Shard { index, count })
    }

    /// From MLP_SHARD_INDEX / MLP_SHARD_COUNT (what the platform sets), each optional.
    pub fn from_parts(index: Option<u32>, count: Option<u32>) -> anyhow::Result<Shard> {
        match (index, count) {
            (None, None) => Ok(Shard::ALL),
            (Some(i), Some(c)) => Shard::new(i, c),
            (None, Some(c)) => Shard::new(0, c),
            (Some(i), None) => bail!("a shard index ({i}) needs a shard count (MLP_SHARD_COUNT)"),
        }
    }

    pub fn includes(&self, row: u64) -> bool {
        row % u64::from(self.count) == u64::from(self.index)
    }

    pub fn is_sharded(&self) -> bool {
        self.count > 1
    }

    /// `_shard_<i>` when sharded, empty otherwise: the suffix of metric names.
    pub fn suffix(&self) -> String {
        if self.is_sharded() {
            format!("_shard_{}", self.index)
        } else {
            String::new()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv",
            Format::Jsonl => "application/x-ndjson",
        }
    }
}

#[derive(Debug)]
pub struct Processed {
    /// Data rows of this shard (valid or not).
    pub rows_processed: u64,
    pub rows_rejected: u64,
    /// Bytes of this shard's records in the input (line ends included, header excluded).
    pub bytes_processed: u64,
    /// Hex SHA-256 (first 16 digits) of the header and this shard's records, as raw bytes: for
    /// one shard, the digest of the whole file.
    pub digest: String,
    pub cleaned: String,
    /// One JSON object per rejected row: its line, row index, errors and raw text.
    pub rejected: String,
    pub profile: Value,
}

/// How many rejected rows the profile shows as examples.
const EXAMPLES: usize = 5;

pub fn process(input: &str, schema: &Schema, shard: Shard, format: Format, name: &str) -> anyhow::Result<Processed> {
    let mut reader = Reader::new(input);
    let header = match reader.next() {
        None => bail!("the input is empty: no header line"),
        Some(Err(e)) => bail!("cannot read the header line: {}", e.message),
        Some(Ok(h)) => h,
    };
    let positions = schema
        .bind(&header.fields)
        .context("the input does not match the schema")?;
    let width = header.fields.len();
    let mut hasher = Sha256::new();
    hasher.update(header.raw.as_bytes());

    let mut stats: Vec<ColumnStats> = schema.columns.iter().map(ColumnStats::new).collect();
    let mut cleaned = String::new();
    if format == Format::Csv {
        csv::write_record(
            &mut cleaned,
            &schema.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        );
    }
    let mut rejected = String::new();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut examples = Vec::new();
    let (mut rows, mut bad, mut bytes) = (0u64, 0u64, 0u64);
    let mut cells: Vec<Cell> = Vec::with_capacity(schema.columns.len());

    for (row, rec) in reader.enumerate() {
        let row = row as u64;
        if !shard.includes(row) {
            continue;
        }
        rows += 1;
        let (raw, line, errors) = match rec {
            Err(e) => {
                let raw = e.raw.clone();
                (raw, e.line, vec![(format!("malformed CSV: {}", e.message), e.message)])
            }
            Ok(rec) => {
                cells.clear();
                let mut errors = Vec::new();
                if rec.fields.len() != width {
                    let m = format!("expected {width} fields, found {}", rec.fields.len());
                    errors.push((format!("wrong number of fields: {m}"), m));
                } else {
                    for (col, &pos) in schema.columns.iter().zip(&positions) {
                        match validate(schema, col, &rec.fields[pos]) {
                            Ok(c) => cells.push(c),
                            Err(e) => errors.push((format!("column '{}': {}", e.column, e.kind), e.to_string())),
                        }
                    }
                }
                if errors.is_empty() {
                    for (s, c) in stats.iter_mut().zip(&cells) {
                        s.push(c);
                    }
                    match format {
                        Format::Csv => {
                            csv::write_record(&mut cleaned, &cells.iter().map(Cell::to_csv).collect::<Vec<_>>())
                        }
                        Format::Jsonl => {
                            let obj: serde_json::Map<String, Value> = schema
                                .columns
                                .iter()
                                .zip(&cells)
                                .map(|(col, c)| (col.name.clone(), c.to_json()))
                                .collect();
                            cleaned.push_str(&Value::Object(obj).to_string());
                            cleaned.push('\n');
                        }
                    }
                }
                (rec.raw.to_string(), rec.line, errors)
            }
        };
        hasher.update(raw.as_bytes());
        bytes += raw.len() as u64;
        if !errors.is_empty() {
            bad += 1;
            for (reason, _) in &errors {
                *reasons.entry(reason.clone()).or_default() += 1;
            }
            let entry = json!({
                "line": line,
                "row": row,
                "errors": errors.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>(),
                "raw": raw.trim_end_matches(['\r', '\n']),
            });
            if examples.len() < EXAMPLES {
                examples.push(entry.clone());
            }
            rejected.push_str(&entry.to_string());
            rejected.push('\n');
        }
    }

    let digest: String = hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    let valid = rows - bad;
    let columns: serde_json::Map<String, Value> = stats.iter().map(|s| (s.name.clone(), s.to_json())).collect();
    let profile = json!({
        "dataset": name,
        "digest": digest,
        "shard": {"index": shard.index, "count": shard.count},
        // The two fields MLflow's own pandas datasets put in their profile.
        "num_rows": valid,
        "num_elements": valid * schema.columns.len() as u64,
        "rows_processed": rows,
        "rows_rejected": bad,
        "bytes_processed": bytes,
        "rejections": reasons,
        "rejected_examples": examples,
        "columns": columns,
    });
    Ok(Processed {
        rows_processed: rows,
        rows_rejected: bad,
        bytes_processed: bytes,
        digest,
        cleaned,
        rejected,
        profile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{"columns": [
        {"name": "id", "type": "long", "nullable": false},
        {"name": "amount", "type": "double", "nullable": false},
        {"name": "note", "type": "string"}]}"#;

    fn input() -> String {
        let mut s = String::from("id,note,amount\n");
        for i in 0..10 {
            if i == 3 {
                s.push_str("3,bad,n/a\n");
            } else if i == 6 {
                s.push_str("6,short\n");
            } else {
                s.push_str(&format!("{i},\"n, {i}\",{}.5\n", i * 10));
            }
        }
        s
    }

    fn run(shard: Shard, format: Format) -> Processed {
        process(&input(), &Schema::parse(SCHEMA).unwrap(), shard, format, "t").unwrap()
    }

    #[test]
    fn validates_counts_and_profiles_the_whole_file() {
        let p = run(Shard::ALL, Format::Csv);
        assert_eq!((p.rows_processed, p.rows_rejected), (10, 2));
        assert_eq!(p.bytes_processed as usize, input().len() - "id,note,amount\n".len());
        assert_eq!(p.profile["num_rows"], 8);
        assert_eq!(p.profile["num_elements"], 24);
        assert_eq!(p.profile["rejections"]["column 'amount': not a double"], 1);
        assert_eq!(
            p.profile["rejections"]["wrong number of fields: expected 3 fields, found 2"],
            1
        );
        let amount = &p.profile["columns"]["amount"];
        assert_eq!(
            (amount["count"].clone(), amount["min"].clone(), amount["max"].clone()),
            (json!(8), json!(0.5), json!(90.5))
        );
        assert_eq!(p.profile["columns"]["note"]["distinct"], 8);
        // Cleaned: schema order, re-quoted.
        let lines: Vec<&str> = p.cleaned.lines().collect();
        assert_eq!(lines[0], "id,amount,note");
        assert_eq!(lines[1], "0,0.5,\"n, 0\"");
        assert_eq!(lines.len(), 9);
        let rej: Vec<Value> = p.rejected.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(rej[0]["line"], 5);
        assert_eq!(rej[0]["row"], 3);
        assert_eq!(rej[0]["raw"], "3,bad,n/a");
        // One shard: the digest is the file's.
        let full: String = Sha256::digest(input().as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(p.digest, full);
    }

    #[test]
    fn shards_partition_the_rows() {
        let all = run(Shard::ALL, Format::Csv);
        let parts: Vec<Processed> = (0..3).map(|i| run(Shard::new(i, 3).unwrap(), Format::Csv)).collect();
        assert_eq!(parts.iter().map(|p| p.rows_processed).sum::<u64>(), all.rows_processed);
        assert_eq!(parts.iter().map(|p| p.rows_rejected).sum::<u64>(), all.rows_rejected);
        assert_eq!(
            parts.iter().map(|p| p.bytes_processed).sum::<u64>(),
            all.bytes_processed
        );
        // Shard 0 has rows 0, 3, 6, 9: both bad rows.
        assert_eq!((parts[0].rows_processed, parts[0].rows_rejected), (4, 2));
        let ids: Vec<&str> = parts[1]
            .cleaned
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(ids, ["1", "4", "7"]);
        assert_ne!(parts[0].digest, parts[1].digest);
        assert_eq!(parts[2].profile["shard"], json!({"index": 2, "count": 3}));
    }

    #[test]
    fn shard_arguments() {
        assert_eq!(Shard::from_parts(None, None).unwrap(), Shard::ALL);
        assert_eq!(
            Shard::from_parts(Some(1), Some(2)).unwrap(),
            Shard { index: 1, count: 2 }
        );
        assert!(Shard::from_parts(Some(2), Some(2)).is_err());
        assert!(Shard::from_parts(Some(0), Some(0)).is_err());
        assert!(Shard::from_parts(Some(0), None).is_err());
        assert_eq!(Shard::new(1, 2).unwrap().suffix(), "_shard_1");
        assert_eq!(Shard::ALL.suffix(), "");
        let s = Shard::new(1, 4).unwrap();
        assert_eq!((0..12).filter(|r| s.includes(*r)).collect::<Vec<_>>(), [1, 5, 9]);
    }

    #[test]
    fn jsonl_output_is_typed() {
        let p = run(Shard::ALL, Format::Jsonl);
        let first: Value = serde_json::from_str(p.cleaned.lines().next().unwrap()).unwrap();
        assert_eq!(first, json!({"id": 0, "amount": 0.5, "note": "n, 0"}));
    }

    #[test]
    fn header_problems_are_fatal() {
        let s = Schema::parse(SCHEMA).unwrap();
        assert!(process("", &s, Shard::ALL, Format::Csv, "t").is_err());
        let err = process("id,note\n1,x\n", &s, Shard::ALL, Format::Csv, "t").unwrap_err();
        assert!(format!("{err:#}").contains("amount"), "{err:#}");
    }
}

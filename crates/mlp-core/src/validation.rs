//! MLflow's input rules and limits (`mlflow/utils/validation.py`), applied before anything is
//! stored so that every back-end refuses the same input with the same message.

use crate::model::{Metric, Param, Tag};
use crate::{Error, Result};

pub const MAX_METRICS_PER_BATCH: usize = 1000;
pub const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
pub const MAX_ENTITY_KEY_LENGTH: usize = 250;
pub const MAX_PARAM_VAL_LENGTH: usize = 6000;
pub const MAX_TAG_VAL_LENGTH: usize = 8000;
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
pub const MAX_EXPERIMENT_TAG_VAL_LENGTH: usize = 20_000;
pub const MAX_DATASETS_PER_REQUEST: usize = 1000;
pub const SEARCH_MAX_RESULTS_DEFAULT: i64 = 1000;
pub const SEARCH_MAX_RESULTS_THRESHOLD: i64 = 50_000;
pub const GET_METRIC_HISTORY_MAX_RESULTS: i64 = 25_000;

// Names. MLflow 3.17.2's SQL schema (`mlflow/store/model_registry/dbmodels/models.py`,
// `mlflow/store/tracking/dbmodels/models.py`) declares `registered_models.name VARCHAR(256)` and
// `runs.name VARCHAR(250)`: PostgreSQL and MySQL refuse longer values (as a server error), SQLite
// stores anything. We refuse them on every back-end with a 400 instead. Experiment names keep
// MLflow's own validation limit above (`MAX_EXPERIMENT_NAME_LENGTH`).
pub const MAX_REGISTERED_MODEL_NAME_LENGTH: usize = 256;
pub const MAX_RUN_NAME_LENGTH: usize = 250;

// Search limits. MLflow has none, but each clause costs the database a sub-query per candidate
// row and SQLite fails outright on very large statements (expression depth 1000, LIKE patterns
// over 50 000 bytes, 32 766 variables), so the parser refuses what no real search needs before
// any SQL is built. Every value is far above what the MLflow client, the UI or a hand-written
// filter uses.

/// Comparisons joined by AND in one filter. Keeps the statement small and its cost (one
/// correlated sub-query per clause) bounded; SQLite's expression-depth limit (1000) is far away.
pub const MAX_FILTER_CLAUSES: usize = 100;
/// `order_by` terms of one search; each is a sub-query evaluated per candidate row.
pub const MAX_ORDER_BY_TERMS: usize = 20;
/// Characters of one quoted string or key in a filter or order-by: the longest value a run tag
/// can hold (`MAX_TAG_VAL_LENGTH`), so a pattern or literal never needs to be longer than any
/// stored value it is compared with. Far below SQLite's LIKE pattern limit (50 000 bytes).
pub const MAX_FILTER_VALUE_LENGTH: usize = MAX_TAG_VAL_LENGTH;
/// Values of one `IN (...)` / `NOT IN (...)` list (a page of run ids, a set of model names).
pub const MAX_IN_LIST_VALUES: usize = 1000;
/// Bytes of a whole filter string (or of one order-by term). Bounds parsing and the SQL text;
/// 1000 run ids in an IN list take about 35 KiB.
pub const MAX_FILTER_STRING_LENGTH: usize = 64 * 1024;

/// Metric, param and tag names: alphanumerics, `_ - . space : /`, and not a path escape.
pub fn validate_key(kind: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid(format!(
            "Invalid {kind} name: ''. Names must not be empty."
        )));
    }
    if key.chars().count() > MAX_ENTITY_KEY_LENGTH {
        return Err(Error::invalid(format!(
            "{kind} name '{}...' had length {}, which exceeded length limit of {MAX_ENTITY_KEY_LENGTH}",
            key.chars().take(20).collect::<String>(),
            key.chars().count()
        )));
    }
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | ':' | '/');
    if !key.chars().all(allowed) {
        return Err(Error::invalid(format!(
            "Invalid {kind} name: '{key}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        )));
    }
    if key.starts_with('/') || key.split('/').any(|seg| seg == "..") {
        return Err(Error::invalid(format!(
            "Invalid {kind} name: '{key}'. Names cannot be absolute paths or contain '..'."
        )));
    }
    Ok(())
}

/// Truncates to `max` characters, as MLflow does with `MLFLOW_TRUNCATE_LONG_VALUES` on.
pub fn truncate(value: &mut String, max: usize) {
    if let Some((idx, _)) = value.char_indices().nth(max) {
        value.truncate(idx);
    }
}

pub fn validate_batch_sizes(metrics: usize, params: usize, tags: usize) -> Result<()> {
    if metrics > MAX_METRICS_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {MAX_METRICS_PER_BATCH} metrics. Got {metrics} metrics. Please split up metrics across multiple requests and try again."
        )));
    }
    if params > MAX_PARAMS_TAGS_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} params. Got {params} params. Please split up params across multiple requests and try again."
        )));
    }
    if tags > MAX_PARAMS_TAGS_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} tags. Got {tags} tags. Please split up tags across multiple requests and try again."
        )));
    }
    let total = metrics + params + tags;
    if total > MAX_ENTITIES_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} total metrics, params and tags. Got {total}."
        )));
    }
    Ok(())
}

/// Validates and normalises one log-batch: keys, lengths, and MLflow's clamping of infinities.
pub fn normalise_batch(metrics: &mut [Metric], params: &mut [Param], tags: &mut [Tag]) -> Result<()> {
    validate_batch_sizes(metrics.len(), params.len(), tags.len())?;
    for m in metrics.iter_mut() {
        validate_key("metric", &m.key)?;
        // The SQL store clamps infinities to the largest finite doubles; we do the same so every
        // back-end stores and echoes the same value.
        if m.value == f64::INFINITY {
            m.value = f64::MAX;
        } else if m.value == f64::NEG_INFINITY {
            m.value = f64::MIN;
        }
    }
    for p in params.iter_mut() {
        validate_key("param", &p.key)?;
        truncate(&mut p.value, MAX_PARAM_VAL_LENGTH);
    }
    for t in tags.iter_mut() {
        validate_key("tag", &t.key)?;
        truncate(&mut t.value, MAX_TAG_VAL_LENGTH);
    }
    let mut seen = std::collections::HashMap::new();
    for p in params.iter() {
        if let Some(prev) = seen.insert(p.key.as_str(), p.value.as_str())
            && prev != p.value
        {
            return Err(Error::invalid(format!(
                "Duplicate parameter keys with different values in the batch: '{}'",
                p.key
            )));
        }
    }
    Ok(())
}

pub fn validate_experiment_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(
            "Invalid experiment name: ''. Experiment name must not be empty.",
        ));
    }
    validate_no_nul("experiment name", name)?;
    if name.chars().count() > MAX_EXPERIMENT_NAME_LENGTH {
        return Err(Error::invalid(format!(
            "Experiment name exceeds the maximum length of {MAX_EXPERIMENT_NAME_LENGTH} characters"
        )));
    }
    Ok(())
}

/// Refuses NUL anywhere in a name: SQLite would store it, PostgreSQL text cannot hold it, so the
/// same request would succeed on one back-end and fail on the other.
fn validate_no_nul(kind: &str, name: &str) -> Result<()> {
    if name.contains('\0') {
        return Err(Error::invalid(format!(
            "Invalid {kind} '{}': names cannot contain the NUL character (\\0).",
            name.replace('\0', "\\0").chars().take(250).collect::<String>()
        )));
    }
    Ok(())
}

fn validate_name_length(kind: &str, name: &str, max: usize) -> Result<()> {
    let n = name.chars().count();
    if n > max {
        return Err(Error::invalid(format!(
            "{kind} '{}...' had length {n}, which exceeded length limit of {max}",
            name.chars().take(20).collect::<String>()
        )));
    }
    Ok(())
}

/// A registered model's name (create and rename), checked by the stores so that every caller
/// gets the same answer.
pub fn validate_model_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::missing("name"));
    }
    validate_no_nul("registered model name", name)?;
    validate_name_length("Registered model name", name, MAX_REGISTERED_MODEL_NAME_LENGTH)
}

/// A run's name, whether given as `run_name` or as the `mlflow.runName` tag.
pub fn validate_run_name(name: &str) -> Result<()> {
    validate_no_nul("run name", name)?;
    validate_name_length("Run name", name, MAX_RUN_NAME_LENGTH)
}

/// A logged model's name (MLflow generates one when it is missing).
pub fn validate_logged_model_name(name: &str) -> Result<()> {
    validate_no_nul("logged model name", name)
}

/// The number of `order_by` terms of a search. Terms are parsed one by one, so the stores count
/// them when the whole query arrives, before building any SQL.
pub fn validate_order_by_terms(n: usize) -> Result<()> {
    if n > MAX_ORDER_BY_TERMS {
        return Err(Error::invalid(format!(
            "Invalid order_by: a search can be ordered by at most {MAX_ORDER_BY_TERMS} terms; got {n}."
        )));
    }
    Ok(())
}

pub fn validate_max_results(max: Option<i64>, default: i64, threshold: i64) -> Result<i64> {
    let n = max.unwrap_or(default);
    if n <= 0 {
        return Err(Error::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be a positive integer"
        )));
    }
    if n > threshold {
        return Err(Error::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be at most {threshold}"
        )));
    }
    Ok(n)
}

/// Run ids are 32 lowercase hex characters; refusing anything else early keeps odd input (and
/// path characters) away from storage and artifact paths.
pub fn validate_run_id(run_id: &str) -> Result<()> {
    let ok = !run_id.is_empty()
        && run_id.len() <= 64
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("Invalid run ID: '{run_id}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(validate_key("metric", "loss/train:step 1-a.b_c").is_ok());
        assert!(validate_key("metric", "").is_err());
        assert!(validate_key("metric", "bad$key").is_err());
        assert!(validate_key("metric", "../etc").is_err());
        assert!(validate_key("metric", "/abs").is_err());
        assert!(validate_key("metric", &"k".repeat(251)).is_err());
        assert!(validate_key("metric", &"k".repeat(250)).is_ok());
    }

    #[test]
    fn truncation_is_by_characters() {
        let mut s = "é".repeat(7000);
        truncate(&mut s, MAX_PARAM_VAL_LENGTH);
        assert_eq!(s.chars().count(), 6000);
    }

    #[test]
    fn batch_limits() {
        assert!(validate_batch_sizes(1000, 0, 0).is_ok());
        assert!(validate_batch_sizes(1001, 0, 0).is_err());
        assert!(validate_batch_sizes(0, 101, 0).is_err());
        assert!(validate_batch_sizes(0, 0, 101).is_err());
        assert!(validate_batch_sizes(900, 100, 100).is_err());
    }

    #[test]
    fn infinities_are_clamped() {
        let mut m = vec![Metric {
            key: "a".into(),
            value: f64::INFINITY,
            ..Default::default()
        }];
        normalise_batch(&mut m, &mut [], &mut []).unwrap();
        assert_eq!(m[0].value, f64::MAX);
    }

    #[test]
    fn max_results_bounds() {
        assert_eq!(validate_max_results(None, 1000, 50_000).unwrap(), 1000);
        assert!(validate_max_results(Some(0), 1000, 50_000).is_err());
        assert!(validate_max_results(Some(50_001), 1000, 50_000).is_err());
    }

    #[test]
    fn names_refuse_nul_and_lengths_beyond_mlflows_columns() {
        for (name, ok) in [
            ("a\0b", false),
            ("\0", false),
            ("model", true),
            ("模型 v2/с пробелом", true),
        ] {
            assert_eq!(validate_model_name(name).is_ok(), ok, "{name:?}");
            assert_eq!(validate_run_name(name).is_ok(), ok, "{name:?}");
            assert_eq!(validate_experiment_name(name).is_ok(), ok, "{name:?}");
            assert_eq!(validate_logged_model_name(name).is_ok(), ok, "{name:?}");
        }
        let e = validate_experiment_name("exp\0").unwrap_err();
        assert!(e.message.contains("NUL"), "{e}");
        for kind in ["metric", "param", "tag"] {
            assert!(validate_key(kind, "k\0").is_err());
        }
        // Limits in characters, not bytes.
        assert!(validate_model_name(&"é".repeat(MAX_REGISTERED_MODEL_NAME_LENGTH)).is_ok());
        let e = validate_model_name(&"é".repeat(MAX_REGISTERED_MODEL_NAME_LENGTH + 1)).unwrap_err();
        assert!(e.message.contains("exceeded length limit of 256"), "{e}");
        assert!(validate_model_name("").is_err());
        assert!(validate_run_name(&"r".repeat(MAX_RUN_NAME_LENGTH)).is_ok());
        let e = validate_run_name(&"r".repeat(MAX_RUN_NAME_LENGTH + 1)).unwrap_err();
        assert!(e.message.contains("exceeded length limit of 250"), "{e}");
        assert!(validate_experiment_name(&"e".repeat(MAX_EXPERIMENT_NAME_LENGTH)).is_ok());
        assert!(validate_experiment_name(&"e".repeat(MAX_EXPERIMENT_NAME_LENGTH + 1)).is_err());
    }

    #[test]
    fn order_by_term_count() {
        assert!(validate_order_by_terms(0).is_ok());
        assert!(validate_order_by_terms(MAX_ORDER_BY_TERMS).is_ok());
        let e = validate_order_by_terms(MAX_ORDER_BY_TERMS + 1).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidParameterValue);
        assert!(e.message.contains("at most 20 terms; got 21"), "{e}");
    }
}

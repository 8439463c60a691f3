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
    if name.chars().count() > MAX_EXPERIMENT_NAME_LENGTH {
        return Err(Error::invalid(format!(
            "Experiment name exceeds the maximum length of {MAX_EXPERIMENT_NAME_LENGTH} characters"
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
}

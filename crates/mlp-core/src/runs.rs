//! Rules of runs that every store applies the same way: how a run gets its name and which
//! params may be logged again.

use std::collections::HashMap;

use crate::model::{Param, Tag};
use crate::{Error, Result, names, validation};

/// The tag that mirrors a run's name (MLflow's clients read the name from it).
pub const RUN_NAME_TAG: &str = "mlflow.runName";

/// The name of a new run and the tags to store with it: `run_name` and the `mlflow.runName` tag
/// must agree when both are given; with neither, a generated name from `seed`. The returned tags
/// carry the name tag exactly once.
pub fn resolve_run_name(run_name: Option<&str>, tags: &[Tag], seed: u64) -> Result<(String, Vec<Tag>)> {
    let tag_name = tags.iter().find(|t| t.key == RUN_NAME_TAG).map(|t| t.value.clone());
    let name = match (run_name.filter(|n| !n.is_empty()), tag_name) {
        (Some(n), Some(t)) if n != t => {
            return Err(Error::invalid(format!(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='{n}', mlflow.runName='{t}')."
            )));
        }
        (Some(n), _) => n.to_string(),
        (None, Some(t)) => t,
        (None, None) => names::run_name(seed),
    };
    validation::validate_run_name(&name)?;
    let mut tags: Vec<Tag> = tags.iter().filter(|t| t.key != RUN_NAME_TAG).cloned().collect();
    tags.push(Tag::new(RUN_NAME_TAG, name.clone()));
    Ok((name, tags))
}

/// Params are immutable: logging a key again is allowed only with the value it already has.
/// `existing` maps the run's already logged keys (at least those of `params`) to their values.
pub fn check_params_unchanged(run_id: &str, params: &[Param], existing: &HashMap<String, String>) -> Result<()> {
    for p in params {
        if let Some(old) = existing.get(&p.key)
            && *old != p.value
        {
            return Err(Error::invalid(format!(
                "Changing param values is not allowed. Param with key='{}' was already logged with value='{old}' for run ID='{run_id}'. Attempted logging new value='{}'.",
                p.key, p.value
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn name_from_argument_tag_or_seed() {
        let (n, tags) = resolve_run_name(Some("a"), &[], 1).unwrap();
        assert_eq!(n, "a");
        assert_eq!(tags, vec![Tag::new(RUN_NAME_TAG, "a")]);

        let given = [Tag::new("x", "1"), Tag::new(RUN_NAME_TAG, "b")];
        let (n, tags) = resolve_run_name(None, &given, 1).unwrap();
        assert_eq!(n, "b");
        assert_eq!(tags, vec![Tag::new("x", "1"), Tag::new(RUN_NAME_TAG, "b")]);

        // An empty argument counts as absent; the same name twice is not a conflict.
        assert_eq!(resolve_run_name(Some(""), &given, 1).unwrap().0, "b");
        assert_eq!(resolve_run_name(Some("b"), &given, 1).unwrap().0, "b");

        let (n, _) = resolve_run_name(None, &[], 42).unwrap();
        assert_eq!(n, names::run_name(42));
    }

    #[test]
    fn conflicting_names_are_refused() {
        let err = resolve_run_name(Some("a"), &[Tag::new(RUN_NAME_TAG, "b")], 1).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidParameterValue);
        assert!(
            err.message.contains("run_name='a', mlflow.runName='b'"),
            "{}",
            err.message
        );
    }

    #[test]
    fn params_may_be_repeated_but_not_changed() {
        let existing = HashMap::from([("lr".to_string(), "0.1".to_string())]);
        check_params_unchanged("r", &[Param::new("lr", "0.1"), Param::new("new", "x")], &existing).unwrap();
        let err = check_params_unchanged("r", &[Param::new("lr", "0.2")], &existing).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidParameterValue);
        assert!(err.message.contains("value='0.1' for run ID='r'"), "{}", err.message);
        assert!(err.message.contains("new value='0.2'"), "{}", err.message);
    }
}

//! `mlp_experiment`: an MLflow experiment. Deleting it soft-deletes, as MLflow does; the name stays
//! taken until the server's garbage collection, so `restore_on_create` can bring it back.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use tf_provider::schema::{AttributeConstraint::*, AttributeType, Schema};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::client::{ApiError, Client};
use crate::common::*;
use crate::managed::ApiObject;

pub const MAX_NAME: usize = 500;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExperimentState {
    pub id: Str,
    pub name: Str,
    pub artifact_location: Str,
    pub tags: Tags,
    pub restore_on_create: Bool,
    pub lifecycle_stage: Str,
    pub creation_time: Num,
    pub last_update_time: Num,
}

/// `mlp_experiment` (see [`crate::managed`]).
pub struct Experiment;

pub fn experiment_schema() -> Schema {
    schema(
        "An MLflow experiment on the mlp server. Destroying it soft-deletes it (lifecycle stage `deleted`), as MLflow does.",
        vec![
            ("id", attr(AttributeType::String, Computed, "The experiment ID.")),
            (
                "name",
                attr(
                    AttributeType::String,
                    Required,
                    "Experiment name, unique on the server (at most 500 characters). Changing it renames the experiment in place.",
                ),
            ),
            (
                "artifact_location",
                attr(
                    AttributeType::String,
                    OptionalComputed,
                    "Where the experiment's artifacts are stored; must be one of the server's own locations (`mlflow-artifacts:/…`, a path under the artifact root, or `s3://` in the configured bucket). Defaults to the server's choice. Changing it replaces the experiment.",
                ),
            ),
            (
                "tags",
                attr(
                    string_map(),
                    Optional,
                    "Experiment tags. Tags under `mlflow.` that are not listed here (for example the UI's notes) are ignored.",
                ),
            ),
            (
                "restore_on_create",
                attr(
                    AttributeType::Bool,
                    Optional,
                    "When an experiment of this name exists in the `deleted` stage, restore it (and apply the configured tags) instead of failing. Defaults to `false`.",
                ),
            ),
            (
                "lifecycle_stage",
                attr(
                    AttributeType::String,
                    Computed,
                    "`active` (a deleted experiment is gone as far as Terraform is concerned).",
                ),
            ),
            (
                "creation_time",
                attr(
                    AttributeType::Number,
                    Computed,
                    "Creation time, milliseconds since the Unix epoch.",
                ),
            ),
            (
                "last_update_time",
                attr(
                    AttributeType::Number,
                    Computed,
                    "Last update time, milliseconds since the Unix epoch.",
                ),
            ),
        ],
    )
}

/// The server's experiment as state; fields that are not on the server (restore_on_create) and
/// the prior tags (for `mlflow.` filtering) come from `prior`.
pub fn state_from_api(exp: &Json, prior: &ExperimentState) -> ExperimentState {
    ExperimentState {
        id: str_of(exp, "experiment_id"),
        name: str_of(exp, "name"),
        artifact_location: str_of(exp, "artifact_location"),
        tags: tags_from_api(exp, &prior.tags),
        restore_on_create: prior.restore_on_create,
        lifecycle_stage: str_of(exp, "lifecycle_stage"),
        creation_time: num_of(exp, "creation_time"),
        last_update_time: num_of(exp, "last_update_time"),
    }
}

pub fn validate_config(diags: &mut Diagnostics, c: &ExperimentState) {
    check_name(diags, "name", "Experiment name", &c.name, MAX_NAME);
    if let Some(loc) = known(&c.artifact_location) {
        if loc.is_empty() {
            err(
                diags,
                "Invalid artifact_location",
                "artifact_location must not be empty; leave it out to let the server choose.",
                path("artifact_location"),
            );
        } else if loc.contains("..") || loc.contains('?') || loc.contains('#') {
            err(
                diags,
                "Invalid artifact_location",
                format!("{loc:?}: the server refuses locations with `..`, a query or a fragment."),
                path("artifact_location"),
            );
        }
    }
    for k in tag_map(&c.tags).keys() {
        if k.is_empty() || k.len() > 250 {
            err(
                diags,
                "Invalid tags",
                format!("Tag key {k:?} must be 1 to 250 characters."),
                path("tags"),
            );
        }
    }
}

pub async fn get_by_id(c: &Client, id: &str) -> Result<Json, ApiError> {
    let r = c
        .get("/api/2.0/mlflow/experiments/get", &[("experiment_id", id)])
        .await?;
    Ok(r.get("experiment").cloned().unwrap_or(Json::Null))
}

pub async fn get_by_name(c: &Client, name: &str) -> Result<Json, ApiError> {
    let r = c
        .get("/api/2.0/mlflow/experiments/get-by-name", &[("experiment_name", name)])
        .await?;
    Ok(r.get("experiment").cloned().unwrap_or(Json::Null))
}

async fn apply_tags(c: &Client, id: &str, old: &Tags, new: &Tags) -> Result<(), ApiError> {
    let (set, delete) = tag_changes(old, new);
    for (key, value) in set {
        c.post(
            "/api/2.0/mlflow/experiments/set-experiment-tag",
            json!({"experiment_id": id, "key": key, "value": value}),
        )
        .await?;
    }
    for key in delete {
        c.post(
            "/api/2.0/mlflow/experiments/delete-experiment-tag",
            json!({"experiment_id": id, "key": key}),
        )
        .await?;
    }
    Ok(())
}

/// Creates the experiment, or restores a deleted one of that name when `restore_on_create` is set.
async fn create_or_restore(c: &Client, diags: &mut Diagnostics, planned: &ExperimentState) -> Option<String> {
    let name = known(&planned.name)?.to_string();
    if flag(&planned.restore_on_create) {
        match get_by_name(c, &name).await {
            Ok(exp) if exp.get("lifecycle_stage").and_then(Json::as_str) == Some("deleted") => {
                let id = str_of(&exp, "experiment_id");
                let id = known(&id)?.to_string();
                if let Some(loc) = known(&planned.artifact_location)
                    && exp.get("artifact_location").and_then(Json::as_str) != Some(loc)
                {
                    err(
                        diags,
                        "Cannot restore the experiment",
                        format!(
                            "The deleted experiment {name:?} (ID {id}) stores its artifacts at {:?}, not at the configured {loc:?}; an artifact location cannot be changed.",
                            exp.get("artifact_location").and_then(Json::as_str).unwrap_or("")
                        ),
                        path("artifact_location"),
                    );
                    return None;
                }
                if let Err(e) = c
                    .post("/api/2.0/mlflow/experiments/restore", json!({"experiment_id": id}))
                    .await
                {
                    api_diag(
                        diags,
                        format!("to restore the deleted experiment {name:?} (ID {id})"),
                        &e,
                    );
                    return None;
                }
                let current = tags_from_api(&exp, &Value::Value(Default::default()));
                if let Err(e) = apply_tags(c, &id, &current, &planned.tags).await {
                    api_diag(diags, format!("to set the tags of experiment {id}"), &e);
                }
                return Some(id);
            }
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                api_diag(diags, format!("to look up experiment {name:?}"), &e);
                return None;
            }
        }
    }
    let mut body = json!({"name": name, "tags": tags_to_api(&planned.tags)});
    if let Some(loc) = known(&planned.artifact_location) {
        body["artifact_location"] = json!(loc);
    }
    match c.post("/api/2.0/mlflow/experiments/create", body).await {
        Ok(r) => known(&str_of(&r, "experiment_id")).map(str::to_string),
        Err(e) if e.code() == Some("RESOURCE_ALREADY_EXISTS") => {
            let hint = match get_by_name(c, &name).await {
                Ok(exp) if exp.get("lifecycle_stage").and_then(Json::as_str) == Some("deleted") => format!(
                    "A deleted experiment (ID {}) still holds this name. Set `restore_on_create = true` to restore it, or delete it permanently on the server.",
                    exp.get("experiment_id").and_then(Json::as_str).unwrap_or("?")
                ),
                Ok(exp) => format!(
                    "To manage it with Terraform, import it: terraform import <address> {}",
                    exp.get("experiment_id").and_then(Json::as_str).unwrap_or("?")
                ),
                Err(_) => String::new(),
            };
            err(
                diags,
                "Experiment already exists",
                format!("{e}\n\n{hint}"),
                path("name"),
            );
            None
        }
        Err(e) => {
            api_diag(diags, format!("to create experiment {name:?}"), &e);
            None
        }
    }
}

fn is_deleted(exp: &Json) -> bool {
    exp.get("lifecycle_stage").and_then(Json::as_str) == Some("deleted")
}

#[async_trait]
impl ApiObject for Experiment {
    type State = ExperimentState;
    const KIND: &'static str = "experiment";
    const IMPORT_HINT: &'static str = "Import takes the experiment ID, or `name:<experiment name>`.";

    fn schema() -> Schema {
        experiment_schema()
    }

    fn validate(diags: &mut Diagnostics, config: &ExperimentState) {
        validate_config(diags, config);
    }

    fn id(state: &ExperimentState) -> Option<String> {
        known(&state.id).map(str::to_string)
    }

    async fn fetch(c: &Client, id: &str, prior: &ExperimentState) -> Result<Option<ExperimentState>, ApiError> {
        let exp = get_by_id(c, id).await?;
        // Soft-deleted is gone for Terraform: the next plan creates (or, with
        // restore_on_create, restores) it.
        Ok((!is_deleted(&exp)).then(|| state_from_api(&exp, prior)))
    }

    fn plan_create(proposed: ExperimentState) -> ExperimentState {
        let mut s = proposed;
        s.id = Value::Unknown;
        if matches!(s.artifact_location, Value::Null) {
            s.artifact_location = Value::Unknown;
        }
        s.lifecycle_stage = Value::Unknown;
        s.creation_time = Value::Unknown;
        s.last_update_time = Value::Unknown;
        s
    }

    fn plan_update(
        prior: &ExperimentState,
        proposed: ExperimentState,
        config: &ExperimentState,
    ) -> (ExperimentState, Vec<AttributePath>) {
        plan_update(prior, proposed, config)
    }

    async fn create(c: &Client, diags: &mut Diagnostics, planned: &ExperimentState) -> Option<String> {
        create_or_restore(c, diags, planned).await
    }

    async fn update(
        c: &Client,
        diags: &mut Diagnostics,
        prior: &ExperimentState,
        planned: &ExperimentState,
    ) -> Option<()> {
        let id = known(&prior.id)?;
        if let (Some(old), Some(new)) = (known(&prior.name), known(&planned.name))
            && old != new
            && let Err(e) = c
                .post(
                    "/api/2.0/mlflow/experiments/update",
                    json!({"experiment_id": id, "new_name": new}),
                )
                .await
        {
            api_diag(diags, format!("to rename experiment {id} to {new:?}"), &e);
            return None;
        }
        // A failed tag change still reads the experiment back, so the state shows the rename.
        if let Err(e) = apply_tags(c, id, &prior.tags, &planned.tags).await {
            api_diag(diags, format!("to update the tags of experiment {id}"), &e);
        }
        Some(())
    }

    async fn delete(c: &Client, id: &str, _prior: &ExperimentState) -> Result<(), ApiError> {
        c.post("/api/2.0/mlflow/experiments/delete", json!({"experiment_id": id}))
            .await
            .map(drop)
    }

    async fn import(c: &Client, diags: &mut Diagnostics, id: &str) -> Option<ExperimentState> {
        // An ID, or `name:<experiment name>` for when only the name is at hand.
        let found = match id.strip_prefix("name:") {
            Some(name) => get_by_name(c, name).await,
            None => get_by_id(c, id).await,
        };
        match found {
            Ok(exp) if is_deleted(&exp) => {
                root_err(
                    diags,
                    "Cannot import a deleted experiment",
                    format!(
                        "Experiment {id:?} is in the `deleted` stage; restore it first, or declare it with `restore_on_create = true`."
                    ),
                );
                None
            }
            Ok(exp) => Some(state_from_api(&exp, &ExperimentState::default())),
            Err(e) if e.is_not_found() => {
                root_err(
                    diags,
                    "Cannot import experiment",
                    format!("No experiment {id:?} on {}. {}", c.host(), Self::IMPORT_HINT),
                );
                None
            }
            Err(e) => {
                api_diag(diags, format!("to import experiment {id:?}"), &e);
                None
            }
        }
    }
}

/// A rename and tag changes update in place; a new artifact location replaces the experiment.
pub fn plan_update(
    prior: &ExperimentState,
    proposed: ExperimentState,
    config: &ExperimentState,
) -> (ExperimentState, Vec<AttributePath>) {
    let mut s = proposed;
    let mut replace = Vec::new();
    match &config.artifact_location {
        Value::Null => s.artifact_location = prior.artifact_location.clone(),
        loc if *loc != prior.artifact_location => replace.push(path("artifact_location")),
        _ => {}
    }
    if s.name != prior.name || tags_differ(&s.tags, &prior.tags) || is_unknown(&s.name) {
        s.last_update_time = Value::Unknown;
    }
    if !replace.is_empty() {
        s.id = Value::Unknown;
        s.creation_time = Value::Unknown;
        s.last_update_time = Value::Unknown;
        s.lifecycle_stage = Value::Unknown;
    }
    (s, replace)
}

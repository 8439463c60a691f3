//! `mlp_registered_model` and `mlp_model_alias`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use tf_provider::schema::{AttributeConstraint::*, AttributeType, Schema};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::client::{ApiError, Client};
use crate::common::*;
use crate::managed::ApiObject;

pub const MAX_NAME: usize = 256;

// ---------------------------------------------------------------------------------------------
// mlp_registered_model

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModelState {
    pub id: Str,
    pub name: Str,
    pub description: Str,
    pub tags: Tags,
    pub creation_timestamp: Num,
    pub last_updated_timestamp: Num,
}

/// `mlp_registered_model` (see [`crate::managed`]).
pub struct RegisteredModel;

pub fn registered_model_schema() -> Schema {
    schema(
        "A registered model in the mlp server's model registry. Destroying it deletes the model and its versions.",
        vec![
            ("id", attr(AttributeType::String, Computed, "The model's name.")),
            (
                "name",
                attr(
                    AttributeType::String,
                    Required,
                    "Registered model name, unique on the server (at most 256 characters). Changing it renames the model in place; its versions, aliases and grants follow.",
                ),
            ),
            (
                "description",
                attr(
                    AttributeType::String,
                    Optional,
                    "Free-text description (Markdown in the UI).",
                ),
            ),
            (
                "tags",
                attr(
                    string_map(),
                    Optional,
                    "Registered model tags. Tags under `mlflow.` that are not listed here are ignored.",
                ),
            ),
            (
                "creation_timestamp",
                attr(
                    AttributeType::Number,
                    Computed,
                    "Creation time, milliseconds since the Unix epoch.",
                ),
            ),
            (
                "last_updated_timestamp",
                attr(
                    AttributeType::Number,
                    Computed,
                    "Last update time, milliseconds since the Unix epoch.",
                ),
            ),
        ],
    )
}

pub fn model_from_api(m: &Json, prior: &RegisteredModelState) -> RegisteredModelState {
    // An empty description is no description: the API leaves the field out or sends "".
    let description = match str_of(m, "description") {
        Value::Value(d) if d.is_empty() => Value::Null,
        d => d,
    };
    RegisteredModelState {
        id: str_of(m, "name"),
        name: str_of(m, "name"),
        description,
        tags: tags_from_api(m, &prior.tags),
        creation_timestamp: num_of(m, "creation_timestamp"),
        last_updated_timestamp: num_of(m, "last_updated_timestamp"),
    }
}

pub fn validate_model_config(diags: &mut Diagnostics, c: &RegisteredModelState) {
    check_name(diags, "name", "Registered model name", &c.name, MAX_NAME);
    if known(&c.description) == Some("") {
        err(
            diags,
            "Invalid description",
            "An empty description reads back as none; leave `description` out instead.",
            path("description"),
        );
    }
}

pub async fn get_model(c: &Client, name: &str) -> Result<Json, ApiError> {
    let r = c
        .get("/api/2.0/mlflow/registered-models/get", &[("name", name)])
        .await?;
    Ok(r.get("registered_model").cloned().unwrap_or(Json::Null))
}

async fn apply_model_tags(c: &Client, name: &str, old: &Tags, new: &Tags) -> Result<(), ApiError> {
    let (set, delete) = tag_changes(old, new);
    for (key, value) in set {
        c.post(
            "/api/2.0/mlflow/registered-models/set-tag",
            json!({"name": name, "key": key, "value": value}),
        )
        .await?;
    }
    for key in delete {
        c.delete(
            "/api/2.0/mlflow/registered-models/delete-tag",
            json!({"name": name, "key": key}),
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl ApiObject for RegisteredModel {
    type State = RegisteredModelState;
    const KIND: &'static str = "registered model";
    const IMPORT_HINT: &'static str = "Import takes the registered model's name.";

    fn schema() -> Schema {
        registered_model_schema()
    }

    fn validate(diags: &mut Diagnostics, config: &RegisteredModelState) {
        validate_model_config(diags, config);
    }

    fn id(state: &RegisteredModelState) -> Option<String> {
        known(&state.id).map(str::to_string)
    }

    async fn fetch(
        c: &Client,
        name: &str,
        prior: &RegisteredModelState,
    ) -> Result<Option<RegisteredModelState>, ApiError> {
        Ok(Some(model_from_api(&get_model(c, name).await?, prior)))
    }

    fn plan_create(proposed: RegisteredModelState) -> RegisteredModelState {
        let mut s = proposed;
        s.id = s.name.clone();
        s.creation_timestamp = Value::Unknown;
        s.last_updated_timestamp = Value::Unknown;
        s
    }

    fn plan_update(
        prior: &RegisteredModelState,
        proposed: RegisteredModelState,
        _config: &RegisteredModelState,
    ) -> (RegisteredModelState, Vec<AttributePath>) {
        plan_model_update(prior, proposed)
    }

    async fn create(c: &Client, diags: &mut Diagnostics, planned: &RegisteredModelState) -> Option<String> {
        let name = known(&planned.name)?.to_string();
        let mut body = json!({"name": name, "tags": tags_to_api(&planned.tags)});
        if let Some(d) = known(&planned.description) {
            body["description"] = json!(d);
        }
        match c.post("/api/2.0/mlflow/registered-models/create", body).await {
            Ok(_) => Some(name),
            Err(e) if e.code() == Some("RESOURCE_ALREADY_EXISTS") => {
                err(
                    diags,
                    "Registered model already exists",
                    format!("{e}\n\nTo manage it with Terraform, import it: terraform import <address> {name}"),
                    path("name"),
                );
                None
            }
            Err(e) => {
                api_diag(diags, format!("to create registered model {name:?}"), &e);
                None
            }
        }
    }

    async fn update(
        c: &Client,
        diags: &mut Diagnostics,
        prior: &RegisteredModelState,
        planned: &RegisteredModelState,
    ) -> Option<()> {
        let old = known(&prior.id)?.to_string();
        let mut name = old.clone();
        if let Some(new) = known(&planned.name)
            && new != old
        {
            if let Err(e) = c
                .post(
                    "/api/2.0/mlflow/registered-models/rename",
                    json!({"name": old, "new_name": new}),
                )
                .await
            {
                api_diag(diags, format!("to rename registered model {old:?} to {new:?}"), &e);
                return None;
            }
            name = new.to_string();
        }
        // Failures below still read the model back, so the state shows the rename.
        if planned.description != prior.description {
            let d = known(&planned.description).unwrap_or("");
            if let Err(e) = c
                .patch(
                    "/api/2.0/mlflow/registered-models/update",
                    json!({"name": name, "description": d}),
                )
                .await
            {
                api_diag(diags, format!("to update the description of {name:?}"), &e);
            }
        }
        if let Err(e) = apply_model_tags(c, &name, &prior.tags, &planned.tags).await {
            api_diag(diags, format!("to update the tags of {name:?}"), &e);
        }
        Some(())
    }

    async fn delete(c: &Client, name: &str, _prior: &RegisteredModelState) -> Result<(), ApiError> {
        c.delete("/api/2.0/mlflow/registered-models/delete", json!({"name": name}))
            .await
            .map(drop)
    }
}

/// Everything updates in place; a rename changes the ID (the name) and the update time.
pub fn plan_model_update(
    prior: &RegisteredModelState,
    proposed: RegisteredModelState,
) -> (RegisteredModelState, Vec<AttributePath>) {
    let mut s = proposed;
    s.id = s.name.clone();
    if s.name != prior.name || s.description != prior.description || tags_differ(&s.tags, &prior.tags) {
        s.last_updated_timestamp = Value::Unknown;
    }
    (s, Vec::new())
}

// ---------------------------------------------------------------------------------------------
// mlp_model_alias

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AliasState {
    pub id: Str,
    pub model: Str,
    pub alias: Str,
    pub version: Str,
}

/// `mlp_model_alias` (see [`crate::managed`]).
pub struct ModelAlias;

pub fn alias_schema() -> Schema {
    schema(
        "An alias (e.g. `champion`) pointing at one version of a registered model, as in `models:/<model>@<alias>`.",
        vec![
            ("id", attr(AttributeType::String, Computed, "`<model>@<alias>`.")),
            (
                "model",
                attr(
                    AttributeType::String,
                    Required,
                    "Registered model name. Changing it replaces the alias.",
                ),
            ),
            (
                "alias",
                attr(
                    AttributeType::String,
                    Required,
                    "Alias name: letters, digits, `_` and `-`, not `latest` nor of the form `v<number>`. Changing it replaces the alias.",
                ),
            ),
            (
                "version",
                attr(
                    AttributeType::String,
                    Required,
                    "The model version the alias points at (e.g. `\"3\"`); it must exist. Changing it moves the alias in place.",
                ),
            ),
        ],
    )
}

/// MLflow's alias rules (`_validate_model_alias_name`), so that the plan refuses what the server would.
pub fn alias_problem(alias: &str) -> Option<String> {
    if alias.is_empty() {
        return Some("The alias must not be empty.".into());
    }
    if alias.len() > 255 {
        return Some(format!(
            "The alias is {} characters long; at most 255 are allowed.",
            alias.len()
        ));
    }
    if !alias.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
        return Some(format!(
            "Alias {alias:?} may contain only letters, digits, `_` and `-`."
        ));
    }
    if alias.eq_ignore_ascii_case("latest") {
        return Some("`latest` is reserved: `models:/<model>/latest` already means the newest version.".into());
    }
    let lower = alias.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix('v')
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_digit())
    {
        return Some(format!(
            "Alias {alias:?} looks like a version reference (`v<number>`), which is reserved."
        ));
    }
    None
}

pub fn version_problem(v: &str) -> Option<String> {
    match v.parse::<u64>() {
        Ok(n) if n >= 1 && v == n.to_string() => None,
        _ => Some(format!(
            "Model versions are positive integers such as \"1\"; got {v:?}."
        )),
    }
}

pub fn split_alias_id(id: &str) -> Option<(&str, &str)> {
    let (model, alias) = id.rsplit_once('@')?;
    (!model.is_empty() && !alias.is_empty()).then_some((model, alias))
}

pub async fn get_version(c: &Client, model: &str, version: &str) -> Result<Json, ApiError> {
    let r = c
        .get(
            "/api/2.0/mlflow/model-versions/get",
            &[("name", model), ("version", version)],
        )
        .await?;
    Ok(r.get("model_version").cloned().unwrap_or(Json::Null))
}

pub async fn get_alias(c: &Client, model: &str, alias: &str) -> Result<Json, ApiError> {
    let found = c
        .get(
            "/api/2.0/mlflow/registered-models/alias",
            &[("name", model), ("alias", alias)],
        )
        .await;
    match found {
        Ok(r) => Ok(r.get("model_version").cloned().unwrap_or(Json::Null)),
        // MLflow answers a missing alias with 400 INVALID_PARAMETER_VALUE "... not found.".
        Err(ApiError::Api {
            status: 400,
            code,
            message,
        }) if message.ends_with("not found.") => Err(ApiError::Api {
            status: 404,
            code: "RESOURCE_DOES_NOT_EXIST".into(),
            message: format!("{message} ({code})"),
        }),
        Err(e) => Err(e),
    }
}

/// Plan-time check that the version exists, so a typo fails the plan, not the apply.
async fn check_version(c: &Client, diags: &mut Diagnostics, s: &AliasState) {
    let (Some(model), Some(version)) = (known(&s.model), known(&s.version)) else {
        return;
    };
    match get_version(c, model, version).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {
            let detail = match get_model(c, model).await {
                Err(e) if e.is_not_found() => format!("Registered model {model:?} does not exist on {}.", c.host()),
                _ => format!("Registered model {model:?} has no version {version} on {}.", c.host()),
            };
            err(diags, "Unknown model version", detail, path("version"));
        }
        Err(e) => api_diag(diags, format!("to look up version {version} of {model:?}"), &e),
    }
}

#[async_trait]
impl ApiObject for ModelAlias {
    type State = AliasState;
    const KIND: &'static str = "model alias";
    const IMPORT_HINT: &'static str = "Import takes `<model>@<alias>`.";

    fn schema() -> Schema {
        alias_schema()
    }

    fn validate(diags: &mut Diagnostics, config: &AliasState) {
        check_name(diags, "model", "Registered model name", &config.model, MAX_NAME);
        if let Some(p) = known(&config.alias).and_then(alias_problem) {
            err(diags, "Invalid alias", p, path("alias"));
        }
        if let Some(p) = known(&config.version).and_then(version_problem) {
            err(diags, "Invalid version", p, path("version"));
        }
    }

    fn id(state: &AliasState) -> Option<String> {
        known(&state.id).map(str::to_string)
    }

    async fn fetch(c: &Client, id: &str, _prior: &AliasState) -> Result<Option<AliasState>, ApiError> {
        let Some((model, alias)) = split_alias_id(id) else {
            return Ok(None);
        };
        let mv = get_alias(c, model, alias).await?;
        Ok(Some(AliasState {
            id: Value::Value(id.to_string()),
            model: Value::Value(model.to_string()),
            alias: Value::Value(alias.to_string()),
            version: str_of(&mv, "version"),
        }))
    }

    async fn check_plan(c: &Client, diags: &mut Diagnostics, prior: Option<&AliasState>, proposed: &AliasState) {
        if prior.is_none_or(|p| p.version != proposed.version) {
            check_version(c, diags, proposed).await;
        }
    }

    fn plan_create(proposed: AliasState) -> AliasState {
        plan_alias_update(&proposed, proposed.clone()).0
    }

    fn plan_update(prior: &AliasState, proposed: AliasState, _config: &AliasState) -> (AliasState, Vec<AttributePath>) {
        plan_alias_update(prior, proposed)
    }

    async fn create(c: &Client, diags: &mut Diagnostics, planned: &AliasState) -> Option<String> {
        set_alias(diags, c, planned).await?;
        Some(format!("{}@{}", known(&planned.model)?, known(&planned.alias)?))
    }

    async fn update(c: &Client, diags: &mut Diagnostics, _prior: &AliasState, planned: &AliasState) -> Option<()> {
        set_alias(diags, c, planned).await
    }

    async fn delete(c: &Client, _id: &str, prior: &AliasState) -> Result<(), ApiError> {
        let (Some(model), Some(alias)) = (known(&prior.model), known(&prior.alias)) else {
            return Ok(());
        };
        c.delete(
            "/api/2.0/mlflow/registered-models/alias",
            json!({"name": model, "alias": alias}),
        )
        .await
        .map(drop)
    }

    fn import_id_problem(id: &str) -> Option<String> {
        split_alias_id(id)
            .is_none()
            .then(|| format!("Expected `<model>@<alias>`, got {id:?}."))
    }
}

async fn set_alias(diags: &mut Diagnostics, c: &Client, s: &AliasState) -> Option<()> {
    let (model, alias, version) = (known(&s.model)?, known(&s.alias)?, known(&s.version)?);
    match c
        .post(
            "/api/2.0/mlflow/registered-models/alias",
            json!({"name": model, "alias": alias, "version": version}),
        )
        .await
    {
        Ok(_) => Some(()),
        Err(e) if e.is_not_found() => {
            err(
                diags,
                "Unknown model version",
                format!("Cannot point {model}@{alias} at version {version}: {e}"),
                path("version"),
            );
            None
        }
        Err(e) => {
            api_diag(
                diags,
                format!("to set alias {alias:?} of {model:?} to version {version}"),
                &e,
            );
            None
        }
    }
}

/// A new model or alias name is another alias (replace); a new version moves it in place.
pub fn plan_alias_update(prior: &AliasState, proposed: AliasState) -> (AliasState, Vec<AttributePath>) {
    let mut replace = Vec::new();
    if proposed.model != prior.model {
        replace.push(path("model"));
    }
    if proposed.alias != prior.alias {
        replace.push(path("alias"));
    }
    let mut s = proposed;
    s.id = match (known(&s.model), known(&s.alias)) {
        (Some(m), Some(a)) => Value::Value(format!("{m}@{a}")),
        _ => Value::Unknown,
    };
    (s, replace)
}

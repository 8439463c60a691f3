//! Data sources: `mlp_experiment`, `mlp_model_version` and `mlp_server`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tf_provider::schema::{AttributeConstraint::*, AttributeType, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{DataSource, Diagnostics};

use crate::common::*;
use crate::experiment::get_by_name;
use crate::model::{alias_problem, get_alias, get_version, version_problem};

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExperimentData {
    pub name: Str,
    pub id: Str,
    pub artifact_location: Str,
    pub lifecycle_stage: Str,
    pub tags: Tags,
    pub creation_time: Num,
    pub last_update_time: Num,
}

pub struct ExperimentDataSource(pub Shared);

pub fn experiment_data_schema() -> Schema {
    schema(
        "Looks up an existing experiment by name.",
        vec![
            ("name", attr(AttributeType::String, Required, "Experiment name.")),
            ("id", attr(AttributeType::String, Computed, "The experiment ID.")),
            (
                "artifact_location",
                attr(AttributeType::String, Computed, "Where its artifacts are stored."),
            ),
            (
                "lifecycle_stage",
                attr(AttributeType::String, Computed, "`active` or `deleted`."),
            ),
            (
                "tags",
                attr(string_map(), Computed, "All its tags, `mlflow.` ones included."),
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

pub fn all_tags(j: &Json) -> Tags {
    Value::Value(
        j.get("tags")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let k = t.get("key")?.as_str()?;
                Some((
                    k.to_string(),
                    Value::Value(t.get("value").and_then(Json::as_str).unwrap_or("").to_string()),
                ))
            })
            .collect(),
    )
}

#[async_trait]
impl DataSource for ExperimentDataSource {
    type State<'a> = ExperimentData;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(experiment_data_schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        check_name(
            diags,
            "name",
            "Experiment name",
            &config.name,
            crate::experiment::MAX_NAME,
        );
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::State<'a>> {
        let c = client(&self.0, diags)?;
        let name = known(&config.name)?.to_string();
        match get_by_name(&c, &name).await {
            Ok(e) => Some(ExperimentData {
                name: Value::Value(name),
                id: str_of(&e, "experiment_id"),
                artifact_location: str_of(&e, "artifact_location"),
                lifecycle_stage: str_of(&e, "lifecycle_stage"),
                tags: all_tags(&e),
                creation_time: num_of(&e, "creation_time"),
                last_update_time: num_of(&e, "last_update_time"),
            }),
            Err(e) if e.is_not_found() => {
                err(
                    diags,
                    "Experiment not found",
                    format!("No experiment named {name:?} on {}.", c.host()),
                    path("name"),
                );
                None
            }
            Err(e) => {
                api_diag(diags, format!("to look up experiment {name:?}"), &e);
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionData {
    pub model: Str,
    pub alias: Str,
    pub version: Str,
    pub source: Str,
    pub run_id: Str,
    pub status: Str,
    pub current_stage: Str,
    pub description: Str,
    pub aliases: StrList,
    pub tags: Tags,
    pub creation_timestamp: Num,
    pub last_updated_timestamp: Num,
}

pub struct ModelVersionDataSource(pub Shared);

pub fn model_version_data_schema() -> Schema {
    schema(
        "Looks up one version of a registered model, by alias (e.g. the `champion`) or by number, so that a deployment can pin it.",
        vec![
            ("model", attr(AttributeType::String, Required, "Registered model name.")),
            (
                "alias",
                attr(
                    AttributeType::String,
                    Optional,
                    "Alias to resolve. Exactly one of `alias` and `version` is required.",
                ),
            ),
            (
                "version",
                attr(
                    AttributeType::String,
                    OptionalComputed,
                    "Version number; computed when looked up by alias.",
                ),
            ),
            (
                "source",
                attr(
                    AttributeType::String,
                    Computed,
                    "The version's source URI (`runs:/…`, `models:/…` or an artifact location).",
                ),
            ),
            (
                "run_id",
                attr(
                    AttributeType::String,
                    Computed,
                    "ID of the run that produced it, if any.",
                ),
            ),
            (
                "status",
                attr(
                    AttributeType::String,
                    Computed,
                    "`READY`, `PENDING_REGISTRATION` or `FAILED_REGISTRATION`.",
                ),
            ),
            (
                "current_stage",
                attr(
                    AttributeType::String,
                    Computed,
                    "Legacy stage (`None`, `Staging`, `Production`, `Archived`).",
                ),
            ),
            (
                "description",
                attr(AttributeType::String, Computed, "The version's description."),
            ),
            (
                "aliases",
                attr(
                    AttributeType::List(Box::new(AttributeType::String)),
                    Computed,
                    "Every alias pointing at this version.",
                ),
            ),
            ("tags", attr(string_map(), Computed, "The version's tags.")),
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

pub fn validate_model_version_lookup(diags: &mut Diagnostics, c: &ModelVersionData) {
    check_name(
        diags,
        "model",
        "Registered model name",
        &c.model,
        crate::model::MAX_NAME,
    );
    let by_alias = !matches!(c.alias, Value::Null);
    let by_version = !matches!(c.version, Value::Null);
    if by_alias == by_version {
        root_err(
            diags,
            "Invalid model version lookup",
            "Set exactly one of `alias` and `version`.",
        );
    }
    if let Some(p) = known(&c.alias).and_then(alias_problem) {
        err(diags, "Invalid alias", p, path("alias"));
    }
    if let Some(p) = known(&c.version).and_then(version_problem) {
        err(diags, "Invalid version", p, path("version"));
    }
}

pub fn model_version_from_api(mv: &Json, lookup: &ModelVersionData) -> ModelVersionData {
    ModelVersionData {
        model: lookup.model.clone(),
        alias: lookup.alias.clone(),
        version: str_of(mv, "version"),
        source: str_of(mv, "source"),
        run_id: match str_of(mv, "run_id") {
            Value::Value(r) if r.is_empty() => Value::Null,
            r => r,
        },
        status: str_of(mv, "status"),
        current_stage: str_of(mv, "current_stage"),
        description: str_of(mv, "description"),
        aliases: Value::Value(
            mv.get("aliases")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(|s| Value::Value(s.to_string())))
                .collect(),
        ),
        tags: all_tags(mv),
        creation_timestamp: num_of(mv, "creation_timestamp"),
        last_updated_timestamp: num_of(mv, "last_updated_timestamp"),
    }
}

#[async_trait]
impl DataSource for ModelVersionDataSource {
    type State<'a> = ModelVersionData;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(model_version_data_schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        validate_model_version_lookup(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::State<'a>> {
        let c = client(&self.0, diags)?;
        let model = known(&config.model)?.to_string();
        let (found, what) = match (known(&config.alias), known(&config.version)) {
            (Some(a), _) => (get_alias(&c, &model, a).await, format!("alias {a:?}")),
            (None, Some(v)) => (get_version(&c, &model, v).await, format!("version {v}")),
            _ => return None,
        };
        match found {
            Ok(mv) => Some(model_version_from_api(&mv, &config)),
            Err(e) if e.is_not_found() => {
                root_err(
                    diags,
                    "Model version not found",
                    format!("Registered model {model:?} has no {what} on {}: {e}", c.host()),
                );
                None
            }
            Err(e) => {
                api_diag(diags, format!("to look up {what} of {model:?}"), &e);
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerData {
    pub host: Str,
    pub version: Str,
    pub health: Str,
    pub ready: Bool,
}

pub struct ServerDataSource(pub Shared);

pub fn server_data_schema() -> Schema {
    schema(
        "The mlp server the provider talks to: its MLflow-compatible version and its health.",
        vec![
            (
                "host",
                attr(AttributeType::String, Computed, "The server's base URL as configured."),
            ),
            (
                "version",
                attr(
                    AttributeType::String,
                    Computed,
                    "The MLflow version the server is compatible with (`/version`).",
                ),
            ),
            (
                "health",
                attr(AttributeType::String, Computed, "`/health`'s answer (`OK`)."),
            ),
            (
                "ready",
                attr(
                    AttributeType::Bool,
                    Computed,
                    "Whether `/ready` answers 200 (metadata and artifact stores reachable).",
                ),
            ),
        ],
    )
}

#[async_trait]
impl DataSource for ServerDataSource {
    type State<'a> = ServerData;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(server_data_schema())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        _config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::State<'a>> {
        let c = client(&self.0, diags)?;
        let version = match c.get_text("/version").await {
            Ok(v) => v.trim().to_string(),
            Err(e) => {
                api_diag(diags, "to read the server's version", &e);
                return None;
            }
        };
        let health = match c.get_text("/health").await {
            Ok(h) => h.trim().to_string(),
            Err(e) => e.to_string(),
        };
        let ready = c.get_text("/ready").await.is_ok();
        Some(ServerData {
            host: Value::Value(c.host().to_string()),
            version: Value::Value(version),
            health: Value::Value(health),
            ready: Value::Value(ready),
        })
    }
}

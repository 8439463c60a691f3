//! The model registry: registered models and their versions, as MLflow's wire shapes them, and
//! the store trait every back-end implements beside [`crate::store::TrackingStore`].

use async_trait::async_trait;
use serde::Serialize;

use crate::Result;
use crate::model::Tag;
use crate::search::{Clause, OrderBy};
use crate::store::{Page, PageRequest};

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// MLflow's deprecated but still used stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    None,
    Staging,
    Production,
    Archived,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::None, Stage::Staging, Stage::Production, Stage::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "None",
            Stage::Staging => "Staging",
            Stage::Production => "Production",
            Stage::Archived => "Archived",
        }
    }

    /// Case-insensitive, as MLflow accepts `production` and `Production` alike.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl Serialize for Stage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alias {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub current_stage: Stage,
    pub description: String,
    pub source: String,
    pub run_id: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
    pub run_link: String,
    #[serde(skip_serializing_if = "is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// Where the files are: the logged model's artifact location for `models:/m-…` sources,
    /// the source itself otherwise. Not part of the wire format.
    #[serde(skip)]
    pub storage_location: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisteredModel {
    pub name: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "is_empty")]
    pub latest_versions: Vec<ModelVersion>,
    #[serde(skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "is_empty")]
    pub aliases: Vec<Alias>,
}

#[derive(Debug, Clone, Default)]
pub struct CreateModelVersion {
    pub name: String,
    pub source: String,
    pub run_id: Option<String>,
    pub tags: Vec<Tag>,
    pub run_link: Option<String>,
    pub description: Option<String>,
    pub model_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RegistrySearch {
    pub filter: Vec<Clause>,
    pub order_by: Vec<OrderBy>,
    pub page: PageRequest,
}

#[async_trait]
pub trait RegistryStore: Send + Sync + 'static {
    async fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel>;
    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel>;
    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel>;
    async fn update_registered_model(&self, name: &str, description: Option<&str>) -> Result<RegisteredModel>;
    async fn delete_registered_model(&self, name: &str) -> Result<()>;
    async fn search_registered_models(&self, q: &RegistrySearch) -> Result<Page<RegisteredModel>>;
    /// Latest version per stage, for the given stages (all stages when empty).
    async fn get_latest_versions(&self, name: &str, stages: &[Stage]) -> Result<Vec<ModelVersion>>;
    async fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<()>;
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()>;
    async fn set_alias(&self, name: &str, alias: &str, version: &str) -> Result<()>;
    async fn delete_alias(&self, name: &str, alias: &str) -> Result<()>;
    async fn get_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion>;

    /// Creates the next version, READY. A `models:/m-<id>` source resolves to that logged
    /// model's artifact location and source run, and the logged model is tagged with the
    /// registration (`mlflow.modelVersions`).
    async fn create_model_version(&self, req: &CreateModelVersion) -> Result<ModelVersion>;
    async fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion>;
    async fn update_model_version(&self, name: &str, version: &str, description: Option<&str>) -> Result<ModelVersion>;
    async fn delete_model_version(&self, name: &str, version: &str) -> Result<()>;
    async fn transition_stage(
        &self,
        name: &str,
        version: &str,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion>;
    async fn search_model_versions(&self, q: &RegistrySearch) -> Result<Page<ModelVersion>>;
    async fn set_model_version_tag(&self, name: &str, version: &str, tag: &Tag) -> Result<()>;
    async fn delete_model_version_tag(&self, name: &str, version: &str, key: &str) -> Result<()>;
}

/// Alias rules: word characters and dashes, at most 255 characters, and not a name that
/// model URIs reserve (`latest`, `v<digits>`).
pub fn validate_alias(alias: &str) -> Result<()> {
    let reserved = alias.eq_ignore_ascii_case("latest")
        || (alias.len() > 1
            && (alias.starts_with('v') || alias.starts_with('V'))
            && alias[1..].chars().all(|c| c.is_ascii_digit()));
    if alias.is_empty()
        || alias.chars().count() > 255
        || !alias.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(crate::Error::invalid(format!(
            "Invalid alias name: '{alias}'. Aliases must be 1-255 characters of letters, digits, '_' and '-'."
        )));
    }
    if reserved {
        return Err(crate::Error::invalid(format!(
            "'{alias}' alias name (case insensitive) is reserved: aliases cannot be 'latest' or 'v<number>'."
        )));
    }
    Ok(())
}

pub fn parse_version(version: &str) -> Result<i64> {
    version
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| crate::Error::invalid(format!("Model version must be a positive integer, got '{version}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_case_insensitively() {
        assert_eq!(Stage::parse("production"), Some(Stage::Production));
        assert_eq!(Stage::parse("None"), Some(Stage::None));
        assert_eq!(Stage::parse("Prod"), None);
    }

    #[test]
    fn aliases() {
        assert!(validate_alias("champion").is_ok());
        assert!(validate_alias("blue-green_2").is_ok());
        assert!(validate_alias("latest").is_err());
        assert!(validate_alias("v3").is_err());
        assert!(validate_alias("v").is_ok());
        assert!(validate_alias("has space").is_err());
        assert!(validate_alias("").is_err());
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("3").unwrap(), 3);
        assert!(parse_version("0").is_err());
        assert!(parse_version("x").is_err());
    }
}

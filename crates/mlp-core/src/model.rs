//! Entities, shaped as MLflow's protobuf JSON so that they serialise straight onto the wire:
//! snake_case names, absent optional fields left out, empty repeated fields left out.

use serde::{Deserialize, Serialize};

use crate::wire::ser_f64;

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

pub type Param = Tag;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleStage {
    Active,
    Deleted,
}

impl LifecycleStage {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Active => "active",
            LifecycleStage::Deleted => "deleted",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

impl ViewType {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "ACTIVE_ONLY" | "1" => Some(Self::ActiveOnly),
            "DELETED_ONLY" | "2" => Some(Self::DeletedOnly),
            "ALL" | "3" => Some(Self::All),
            _ => None,
        }
    }
    pub fn admits(self, stage: LifecycleStage) -> bool {
        match self {
            ViewType::ActiveOnly => stage == LifecycleStage::Active,
            ViewType::DeletedOnly => stage == LifecycleStage::Deleted,
            ViewType::All => true,
        }
    }
    /// The lifecycle stages this view selects, for SQL `IN` lists.
    pub fn stages(self) -> &'static [&'static str] {
        match self {
            ViewType::ActiveOnly => &["active"],
            ViewType::DeletedOnly => &["deleted"],
            ViewType::All => &["active", "deleted"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: LifecycleStage,
    pub last_update_time: i64,
    pub creation_time: i64,
    #[serde(skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "RUNNING" | "1" => Some(Self::Running),
            "SCHEDULED" | "2" => Some(Self::Scheduled),
            "FINISHED" | "3" => Some(Self::Finished),
            "FAILED" | "4" => Some(Self::Failed),
            "KILLED" | "5" => Some(Self::Killed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub run_uuid: String,
    pub experiment_id: String,
    pub run_name: String,
    pub user_id: String,
    pub status: RunStatus,
    pub start_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: LifecycleStage,
    pub run_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Metric {
    pub key: String,
    #[serde(serialize_with = "ser_f64")]
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// A point of a metric history as get-history answers it: a [`Metric`] without its run id and
/// dataset, borrowed, so that a back-end can write rows straight into a response body. Same
/// fields, order and encoding as `Metric` (a test holds them equal).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct HistoryPoint<'a> {
    pub key: &'a str,
    #[serde(serialize_with = "ser_f64")]
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RunData {
    #[serde(skip_serializing_if = "is_empty")]
    pub metrics: Vec<Metric>,
    #[serde(skip_serializing_if = "is_empty")]
    pub params: Vec<Param>,
    #[serde(skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetInput {
    #[serde(skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
    pub dataset: Dataset,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInput {
    pub model_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOutput {
    pub model_id: String,
    pub step: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RunInputs {
    #[serde(skip_serializing_if = "is_empty")]
    pub dataset_inputs: Vec<DatasetInput>,
    #[serde(skip_serializing_if = "is_empty")]
    pub model_inputs: Vec<ModelInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RunOutputs {
    #[serde(skip_serializing_if = "is_empty")]
    pub model_outputs: Vec<ModelOutput>,
}

impl RunOutputs {
    pub fn is_empty(&self) -> bool {
        self.model_outputs.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub info: RunInfo,
    pub data: RunData,
    pub inputs: RunInputs,
    #[serde(skip_serializing_if = "RunOutputs::is_empty")]
    pub outputs: RunOutputs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoggedModelStatus {
    #[serde(rename = "LOGGED_MODEL_PENDING")]
    Pending,
    #[serde(rename = "LOGGED_MODEL_READY")]
    Ready,
    #[serde(rename = "LOGGED_MODEL_UPLOAD_FAILED")]
    UploadFailed,
}

impl LoggedModelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "LOGGED_MODEL_PENDING",
            Self::Ready => "LOGGED_MODEL_READY",
            Self::UploadFailed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "LOGGED_MODEL_PENDING" | "1" => Some(Self::Pending),
            "LOGGED_MODEL_READY" | "2" => Some(Self::Ready),
            "LOGGED_MODEL_UPLOAD_FAILED" | "3" => Some(Self::UploadFailed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelRegistration {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedModelInfo {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub creation_timestamp_ms: i64,
    pub last_updated_timestamp_ms: i64,
    pub artifact_uri: String,
    pub status: LoggedModelStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    pub model_type: String,
    pub source_run_id: String,
    #[serde(skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "is_empty")]
    pub registrations: Vec<ModelRegistration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct LoggedModelData {
    #[serde(skip_serializing_if = "is_empty")]
    pub params: Vec<Param>,
    #[serde(skip_serializing_if = "is_empty")]
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedModel {
    pub info: LoggedModelInfo,
    pub data: LoggedModelData,
}

#[cfg(test)]
mod history_point_tests {
    use super::*;

    /// The rendered history path must answer byte for byte what the generic path answers.
    #[test]
    fn history_point_encodes_like_a_metric_without_run_and_dataset() {
        let values = [
            0.1,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5e-324,
            1e300,
            90.28571428571429,
        ];
        for (i, value) in values.into_iter().enumerate() {
            for model_id in [None, Some("m-1")] {
                let metric = Metric {
                    key: "loss \"q\" é".into(),
                    value,
                    timestamp: 1_700_000_000_000 + i as i64,
                    step: -(i as i64),
                    model_id: model_id.map(str::to_string),
                    ..Default::default()
                };
                let point = HistoryPoint {
                    key: &metric.key,
                    value,
                    timestamp: metric.timestamp,
                    step: metric.step,
                    model_id,
                };
                assert_eq!(
                    serde_json::to_string(&point).unwrap(),
                    serde_json::to_string(&metric).unwrap()
                );
            }
        }
    }
}

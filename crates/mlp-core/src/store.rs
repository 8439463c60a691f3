//! The storage contract. Every back-end (SQLite, PostgreSQL) implements [`TrackingStore`]; the
//! HTTP layer only ever sees `Arc<dyn TrackingStore>`, so a back-end slots in without touching a
//! handler. Inputs arrive validated and normalised (see [`crate::validation`]); paging is by
//! offset, and the HTTP layer turns offsets into opaque tokens.

use async_trait::async_trait;

use crate::Result;
use crate::model::*;
use crate::search::{Clause, OrderBy};

/// One page of results and whether another follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

/// A page whose items are already JSON: `json` is an array (`[...]`) of `len` items.
#[derive(Debug, Clone, Default)]
pub struct RenderedPage {
    pub json: Vec<u8>,
    pub len: usize,
    pub has_more: bool,
}

#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone)]
pub struct SearchExperiments {
    pub filter: Vec<Clause>,
    pub order_by: Vec<OrderBy>,
    pub view: ViewType,
    pub page: PageRequest,
}

#[derive(Debug, Clone, Default)]
pub struct CreateRun {
    pub experiment_id: String,
    pub user_id: String,
    pub run_name: Option<String>,
    pub start_time: i64,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateRun {
    pub run_id: String,
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub run_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LogBatch {
    pub run_id: String,
    pub metrics: Vec<Metric>,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
pub struct SearchRuns {
    pub experiment_ids: Vec<String>,
    pub filter: Vec<Clause>,
    pub order_by: Vec<OrderBy>,
    pub view: ViewType,
    pub page: PageRequest,
}

#[derive(Debug, Clone)]
pub struct MetricWithRunId {
    pub run_id: String,
    pub metric: Metric,
}

#[derive(Debug, Clone, Default)]
pub struct CreateLoggedModel {
    pub experiment_id: String,
    pub name: Option<String>,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
pub struct LoggedModelOrder {
    pub field_name: String,
    pub ascending: bool,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DatasetFilter {
    pub dataset_name: String,
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SearchLoggedModels {
    pub experiment_ids: Vec<String>,
    pub filter: Vec<Clause>,
    pub datasets: Vec<DatasetFilter>,
    pub order_by: Vec<LoggedModelOrder>,
    pub page: PageRequest,
}

#[async_trait]
pub trait TrackingStore: Send + Sync + 'static {
    /// A cheap round trip to the database, for readiness.
    async fn ping(&self) -> Result<()>;

    // Experiments.
    async fn create_experiment(&self, name: &str, artifact_location: Option<&str>, tags: &[Tag]) -> Result<String>;
    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment>;
    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment>;
    async fn search_experiments(&self, q: &SearchExperiments) -> Result<Page<Experiment>>;
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()>;
    async fn delete_experiment(&self, experiment_id: &str) -> Result<()>;
    async fn restore_experiment(&self, experiment_id: &str) -> Result<()>;
    async fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()>;
    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()>;

    // Runs.
    async fn create_run(&self, req: &CreateRun) -> Result<Run>;
    async fn get_run(&self, run_id: &str) -> Result<Run>;
    async fn update_run(&self, req: &UpdateRun) -> Result<RunInfo>;
    async fn delete_run(&self, run_id: &str) -> Result<()>;
    async fn restore_run(&self, run_id: &str) -> Result<()>;
    /// Metrics, params and tags of one run in one transaction. Replaying the same batch is
    /// harmless; changing a logged param's value fails with INVALID_PARAMETER_VALUE and writes
    /// nothing.
    async fn log_batch(&self, req: &LogBatch) -> Result<()>;
    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()>;
    async fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput], models: &[ModelInput]) -> Result<()>;
    async fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()>;
    async fn search_runs(&self, q: &SearchRuns) -> Result<Page<Run>>;

    // Metric history.
    async fn get_metric_history(&self, run_id: &str, key: &str, page: &PageRequest) -> Result<Page<Metric>>;
    /// The same page already written as MLflow's JSON array of points
    /// ([`crate::model::HistoryPoint`]), straight from the query rows, for back-ends whose driver
    /// makes that much cheaper than building [`Metric`]s; `None` means "use
    /// [`Self::get_metric_history`]". A missing run is an empty page here (what the API answers).
    async fn get_metric_history_json(
        &self,
        _run_id: &str,
        _key: &str,
        _page: &PageRequest,
    ) -> Result<Option<RenderedPage>> {
        Ok(None)
    }
    async fn get_metric_history_bulk_interval(
        &self,
        run_ids: &[String],
        key: &str,
        start_step: Option<i64>,
        end_step: Option<i64>,
        max_results: u64,
    ) -> Result<Vec<MetricWithRunId>>;

    // Logged models (MLflow 3).
    async fn create_logged_model(&self, req: &CreateLoggedModel) -> Result<LoggedModel>;
    async fn get_logged_model(&self, model_id: &str, allow_deleted: bool) -> Result<LoggedModel>;
    async fn finalize_logged_model(&self, model_id: &str, status: LoggedModelStatus) -> Result<LoggedModel>;
    async fn delete_logged_model(&self, model_id: &str) -> Result<()>;
    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()>;
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()>;
    async fn log_logged_model_params(&self, model_id: &str, params: &[Param]) -> Result<()>;
    async fn search_logged_models(&self, q: &SearchLoggedModels) -> Result<Page<LoggedModel>>;
}

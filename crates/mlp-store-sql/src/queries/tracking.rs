// Written once, compiled into each back-end by `mlp_store_sql::stamp_queries!` against the
// back-end's `crate::backend` (its sqlx database, row type, store and error mapping).
//
// The trait is implemented in one block, as Rust requires; the method bodies live with their
// tables in `experiments`, `runs` and `logged_models`.

use async_trait::async_trait;
use mlp_core::Result;
use mlp_core::model::*;
use mlp_core::store::*;

use crate::backend::{Store, db_err};

#[async_trait]
impl TrackingStore for Store {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(self.reader()).await.map_err(db_err)?;
        Ok(())
    }

    async fn create_experiment(&self, name: &str, artifact_location: Option<&str>, tags: &[Tag]) -> Result<String> {
        mlp_store_sql::timed(
            "create_experiment",
            self.create_experiment_impl(name, artifact_location, tags),
        )
        .await
    }
    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        mlp_store_sql::timed("get_experiment", self.get_experiment_impl(experiment_id)).await
    }
    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        mlp_store_sql::timed("get_experiment_by_name", self.get_experiment_by_name_impl(name)).await
    }
    async fn search_experiments(&self, q: &SearchExperiments) -> Result<Page<Experiment>> {
        mlp_store_sql::timed("search_experiments", self.search_experiments_impl(q)).await
    }
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        mlp_store_sql::timed(
            "rename_experiment",
            self.rename_experiment_impl(experiment_id, new_name),
        )
        .await
    }
    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        mlp_store_sql::timed(
            "delete_experiment",
            self.set_experiment_stage(experiment_id, LifecycleStage::Deleted),
        )
        .await
    }
    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        mlp_store_sql::timed(
            "restore_experiment",
            self.set_experiment_stage(experiment_id, LifecycleStage::Active),
        )
        .await
    }
    async fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()> {
        mlp_store_sql::timed("set_experiment_tag", self.set_experiment_tag_impl(experiment_id, tag)).await
    }
    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        mlp_store_sql::timed(
            "delete_experiment_tag",
            self.delete_experiment_tag_impl(experiment_id, key),
        )
        .await
    }

    async fn create_run(&self, req: &CreateRun) -> Result<Run> {
        mlp_store_sql::timed("create_run", self.create_run_impl(req)).await
    }
    async fn get_run(&self, run_id: &str) -> Result<Run> {
        mlp_store_sql::timed("get_run", self.get_run_impl(run_id)).await
    }
    async fn update_run(&self, req: &UpdateRun) -> Result<RunInfo> {
        mlp_store_sql::timed("update_run", self.update_run_impl(req)).await
    }
    async fn delete_run(&self, run_id: &str) -> Result<()> {
        mlp_store_sql::timed("delete_run", self.set_run_stage(run_id, LifecycleStage::Deleted)).await
    }
    async fn restore_run(&self, run_id: &str) -> Result<()> {
        mlp_store_sql::timed("restore_run", self.set_run_stage(run_id, LifecycleStage::Active)).await
    }
    async fn log_batch(&self, req: &LogBatch) -> Result<()> {
        mlp_store_sql::timed("log_batch", self.log_batch_impl(req)).await
    }
    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        mlp_store_sql::timed("delete_tag", self.delete_tag_impl(run_id, key)).await
    }
    async fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput], models: &[ModelInput]) -> Result<()> {
        mlp_store_sql::timed("log_inputs", self.log_inputs_impl(run_id, datasets, models)).await
    }
    async fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        mlp_store_sql::timed("log_outputs", self.log_outputs_impl(run_id, models)).await
    }
    async fn search_runs(&self, q: &SearchRuns) -> Result<Page<Run>> {
        mlp_store_sql::timed("search_runs", self.search_runs_impl(q)).await
    }
    async fn get_metric_history(&self, run_id: &str, key: &str, page: &PageRequest) -> Result<Page<Metric>> {
        mlp_store_sql::timed("get_metric_history", self.get_metric_history_impl(run_id, key, page)).await
    }
    async fn get_metric_history_json(
        &self,
        run_id: &str,
        key: &str,
        page: &PageRequest,
    ) -> Result<Option<RenderedPage>> {
        crate::backend::metric_history_json(self, run_id, key, page).await
    }
    async fn get_metric_history_bulk_interval(
        &self,
        run_ids: &[String],
        key: &str,
        start_step: Option<i64>,
        end_step: Option<i64>,
        max_results: u64,
    ) -> Result<Vec<MetricWithRunId>> {
        self.get_metric_history_bulk_interval_impl(run_ids, key, start_step, end_step, max_results)
            .await
    }

    async fn create_logged_model(&self, req: &CreateLoggedModel) -> Result<LoggedModel> {
        mlp_store_sql::timed("create_logged_model", self.create_logged_model_impl(req)).await
    }
    async fn get_logged_model(&self, model_id: &str, allow_deleted: bool) -> Result<LoggedModel> {
        mlp_store_sql::timed("get_logged_model", self.get_logged_model_impl(model_id, allow_deleted)).await
    }
    async fn finalize_logged_model(&self, model_id: &str, status: LoggedModelStatus) -> Result<LoggedModel> {
        mlp_store_sql::timed(
            "finalize_logged_model",
            self.finalize_logged_model_impl(model_id, status),
        )
        .await
    }
    async fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        mlp_store_sql::timed("delete_logged_model", self.delete_logged_model_impl(model_id)).await
    }
    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        mlp_store_sql::timed("set_logged_model_tags", self.set_logged_model_tags_impl(model_id, tags)).await
    }
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        mlp_store_sql::timed(
            "delete_logged_model_tag",
            self.delete_logged_model_tag_impl(model_id, key),
        )
        .await
    }
    async fn log_logged_model_params(&self, model_id: &str, params: &[Param]) -> Result<()> {
        mlp_store_sql::timed(
            "log_logged_model_params",
            self.log_logged_model_params_impl(model_id, params),
        )
        .await
    }
    async fn search_logged_models(&self, q: &SearchLoggedModels) -> Result<Page<LoggedModel>> {
        mlp_store_sql::timed("search_logged_models", self.search_logged_models_impl(q)).await
    }
}

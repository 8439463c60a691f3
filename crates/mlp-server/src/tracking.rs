//! MLflow tracking endpoints: experiments, runs, metrics. Each handler parses its request,
//! validates it the way MLflow does, and calls the store.

use axum::Json;
use axum::extract::State;
use mlp_core::model::*;
use mlp_core::search::{self, SearchKind};
use mlp_core::store::*;
use mlp_core::validation::{self as v};
use mlp_core::wire::*;
use mlp_core::{Error, paging};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiResult;
use crate::input::{Input, required, required_str};

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct TagIn {
    #[serde(deserialize_with = "de_opt_string")]
    key: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    value: Option<String>,
}

impl TagIn {
    pub(crate) fn into_tag(self) -> Result<Tag, Error> {
        Ok(Tag {
            key: required_str(self.key, "key")?,
            value: self.value.unwrap_or_default(),
        })
    }
}

pub(crate) fn tags_in(tags: Vec<TagIn>) -> Result<Vec<Tag>, Error> {
    tags.into_iter().map(TagIn::into_tag).collect()
}

pub(crate) fn ok() -> Json<Value> {
    Json(json!({}))
}

pub(crate) fn view_type(s: Option<String>) -> Result<ViewType, Error> {
    match s {
        None => Ok(ViewType::ActiveOnly),
        Some(s) => ViewType::parse(&s).ok_or_else(|| Error::invalid(format!("Invalid view type '{s}'"))),
    }
}

/// A page of results written straight from the items into the body: a `serde_json::Value` tree
/// in between costs a map and a string per field of every item (most of a 100,000-point history).
fn page_json<T: serde::Serialize>(field: &str, page: Page<T>, next: String) -> axum::response::Response {
    // Items serialise infallibly (no maps with non-string keys).
    page_body(field, page.items.len(), page.has_more, next, |body| {
        serde_json::to_writer(body, &page.items).expect("items serialise")
    })
}

/// The same body for items a store has already written as a JSON array.
fn rendered_page_json(field: &str, page: RenderedPage, next: String) -> axum::response::Response {
    page_body(field, page.len, page.has_more, next, |body| {
        body.extend_from_slice(&page.json)
    })
}

/// `{"<field>": [items], "next_page_token": ...}`, each part only when present, as MLflow answers.
fn page_body(
    field: &str,
    len: usize,
    has_more: bool,
    next: String,
    write_items: impl FnOnce(&mut Vec<u8>),
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut body = Vec::with_capacity(64 + len * 96);
    body.push(b'{');
    if len > 0 {
        serde_json::to_writer(&mut body, field).expect("a string serialises");
        body.push(b':');
        write_items(&mut body);
    }
    if has_more {
        if body.len() > 1 {
            body.push(b',');
        }
        body.extend_from_slice(b"\"next_page_token\":");
        serde_json::to_writer(&mut body, &next).expect("a string serialises");
    }
    body.push(b'}');
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

// ---------------------------------------------------------------- experiments

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateExperimentReq {
    #[serde(deserialize_with = "de_opt_string")]
    name: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    artifact_location: Option<String>,
    #[serde(deserialize_with = "de_vec_or_one")]
    tags: Vec<TagIn>,
}

pub async fn create_experiment(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: CreateExperimentReq = input.parse()?;
    let name = required_str(r.name, "name")?;
    v::validate_experiment_name(&name)?;
    let tags = tags_in(r.tags)?;
    for t in &tags {
        v::validate_key("tag", &t.key)?;
    }
    if let Some(location) = r.artifact_location.as_deref().filter(|l| !l.is_empty()) {
        st.storage.check_artifact_location(location)?;
    }
    let id = st
        .store
        .create_experiment(&name, r.artifact_location.as_deref(), &tags)
        .await?;
    Ok(Json(json!({ "experiment_id": id })))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExperimentIdReq {
    #[serde(deserialize_with = "de_opt_string")]
    experiment_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    experiment_name: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    new_name: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    key: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    value: Option<String>,
}

pub async fn get_experiment(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: ExperimentIdReq = input.parse()?;
    let id = required_str(r.experiment_id, "experiment_id")?;
    let e = st.store.get_experiment(&id).await?;
    Ok(Json(json!({ "experiment": e })))
}

pub async fn get_experiment_by_name(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: ExperimentIdReq = input.parse()?;
    let name = required_str(r.experiment_name, "experiment_name")?;
    let e = st.store.get_experiment_by_name(&name).await?;
    Ok(Json(json!({ "experiment": e })))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SearchExperimentsReq {
    #[serde(deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de_opt_string")]
    page_token: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    filter: Option<String>,
    #[serde(deserialize_with = "de_vec_or_one")]
    order_by: Vec<String>,
    #[serde(deserialize_with = "de_opt_string")]
    view_type: Option<String>,
}

pub async fn search_experiments(State(st): State<AppState>, input: Input) -> ApiResult<axum::response::Response> {
    let r: SearchExperimentsReq = input.parse()?;
    let limit = v::validate_max_results(
        r.max_results,
        v::SEARCH_MAX_RESULTS_DEFAULT,
        v::SEARCH_MAX_RESULTS_THRESHOLD,
    )? as u64;
    let filter_str = r.filter.unwrap_or_default();
    let filter = search::parse_filter(SearchKind::Experiments, &filter_str)?;
    let order_by = r
        .order_by
        .iter()
        .map(|o| search::parse_order_by(SearchKind::Experiments, o))
        .collect::<Result<Vec<_>, _>>()?;
    let view = view_type(r.view_type)?;
    let fp = paging::fingerprint(&[&filter_str, &r.order_by.join("\u{1}"), &format!("{view:?}")]);
    let offset = paging::decode(r.page_token.as_deref(), fp)?;
    let page = st
        .store
        .search_experiments(&SearchExperiments {
            filter,
            order_by,
            view,
            page: PageRequest { offset, limit },
        })
        .await?;
    let next = paging::encode(offset + limit, fp);
    Ok(page_json("experiments", page, next))
}

pub async fn update_experiment(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: ExperimentIdReq = input.parse()?;
    let id = required_str(r.experiment_id, "experiment_id")?;
    let new_name = required_str(r.new_name, "new_name")?;
    v::validate_experiment_name(&new_name)?;
    st.store.rename_experiment(&id, &new_name).await?;
    Ok(ok())
}

pub async fn delete_experiment(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: ExperimentIdReq = input.parse()?;
    st.store
        .delete_experiment(&required_str(r.experiment_id, "experiment_id")?)
        .await?;
    Ok(ok())
}

pub async fn restore_experiment(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: ExperimentIdReq = input.parse()?;
    st.store
        .restore_experiment(&required_str(r.experiment_id, "experiment_id")?)
        .await?;
    Ok(ok())
}

pub async fn set_experiment_tag(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: ExperimentIdReq = input.parse()?;
    let id = required_str(r.experiment_id, "experiment_id")?;
    let key = required_str(r.key, "key")?;
    let value = required(r.value, "value")?;
    v::validate_key("tag", &key)?;
    if value.chars().count() > v::MAX_EXPERIMENT_TAG_VAL_LENGTH {
        return Err(Error::invalid(format!(
            "Experiment tag value exceeds the maximum length of {} characters",
            v::MAX_EXPERIMENT_TAG_VAL_LENGTH
        ))
        .into());
    }
    st.store.set_experiment_tag(&id, &Tag { key, value }).await?;
    Ok(ok())
}

pub async fn delete_experiment_tag(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: ExperimentIdReq = input.parse()?;
    let id = required_str(r.experiment_id, "experiment_id")?;
    let key = required_str(r.key, "key")?;
    st.store.delete_experiment_tag(&id, &key).await?;
    Ok(ok())
}

// ---------------------------------------------------------------- runs

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateRunReq {
    #[serde(deserialize_with = "de_opt_string")]
    experiment_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    user_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    run_name: Option<String>,
    #[serde(deserialize_with = "de_opt_i64")]
    start_time: Option<i64>,
    #[serde(deserialize_with = "de_vec_or_one")]
    tags: Vec<TagIn>,
}

pub async fn create_run(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: CreateRunReq = input.parse()?;
    let mut tags = tags_in(r.tags)?;
    let mut none = [];
    v::normalise_batch(&mut [], &mut none, &mut tags)?;
    let run = st
        .store
        .create_run(&CreateRun {
            experiment_id: r
                .experiment_id
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "0".to_string()),
            user_id: r.user_id.unwrap_or_default(),
            run_name: r.run_name,
            start_time: r.start_time.unwrap_or(0),
            tags,
        })
        .await?;
    ::metrics::counter!("mlp_runs_created_total").increment(1);
    Ok(Json(json!({ "run": run })))
}

/// The run id as clients send it: `run_id`, or the legacy `run_uuid`, or both.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RunIdReq {
    #[serde(deserialize_with = "de_opt_string")]
    run_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    run_uuid: Option<String>,
}

impl RunIdReq {
    fn get(self) -> Result<String, Error> {
        let id = required_str(self.run_id.filter(|s| !s.is_empty()).or(self.run_uuid), "run_id")?;
        v::validate_run_id(&id)?;
        Ok(id)
    }
}

pub async fn get_run(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: RunIdReq = input.parse()?;
    let run = st.store.get_run(&r.get()?).await?;
    Ok(Json(json!({ "run": run })))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UpdateRunReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(deserialize_with = "de_opt_string")]
    status: Option<String>,
    #[serde(deserialize_with = "de_opt_i64")]
    end_time: Option<i64>,
    #[serde(deserialize_with = "de_opt_string")]
    run_name: Option<String>,
}

pub async fn update_run(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: UpdateRunReq = input.parse()?;
    let status = match r.status {
        None => None,
        Some(s) => Some(RunStatus::parse(&s).ok_or_else(|| Error::invalid(format!("Invalid run status '{s}'")))?),
    };
    let info = st
        .store
        .update_run(&UpdateRun {
            run_id: r.id.get()?,
            status,
            end_time: r.end_time,
            run_name: r.run_name,
        })
        .await?;
    Ok(Json(json!({ "run_info": info })))
}

pub async fn delete_run(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: RunIdReq = input.parse()?;
    st.store.delete_run(&r.get()?).await?;
    Ok(ok())
}

pub async fn restore_run(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: RunIdReq = input.parse()?;
    st.store.restore_run(&r.get()?).await?;
    Ok(ok())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct MetricIn {
    #[serde(deserialize_with = "de_opt_string")]
    key: Option<String>,
    #[serde(deserialize_with = "de_opt_f64")]
    value: Option<f64>,
    #[serde(deserialize_with = "de_opt_i64")]
    timestamp: Option<i64>,
    #[serde(deserialize_with = "de_opt_i64")]
    step: Option<i64>,
    #[serde(deserialize_with = "de_opt_string")]
    model_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    dataset_name: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    dataset_digest: Option<String>,
}

impl MetricIn {
    fn into_metric(self) -> Result<Metric, Error> {
        Ok(Metric {
            key: required_str(self.key, "key")?,
            value: required(self.value, "value")?,
            timestamp: required(self.timestamp, "timestamp")?,
            step: self.step.unwrap_or(0),
            model_id: self.model_id.filter(|s| !s.is_empty()),
            dataset_name: self.dataset_name.filter(|s| !s.is_empty()),
            dataset_digest: self.dataset_digest.filter(|s| !s.is_empty()),
            run_id: None,
        })
    }
}

async fn log(
    st: &AppState,
    run_id: String,
    mut metrics: Vec<Metric>,
    mut params: Vec<Param>,
    mut tags: Vec<Tag>,
) -> ApiResult<Json<Value>> {
    v::normalise_batch(&mut metrics, &mut params, &mut tags)?;
    let points = metrics.len() as u64;
    st.store
        .log_batch(&LogBatch {
            run_id,
            metrics,
            params,
            tags,
        })
        .await?;
    ::metrics::counter!("mlp_metrics_logged_total").increment(points);
    Ok(ok())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogMetricReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(flatten)]
    metric: MetricIn,
}

pub async fn log_metric(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: LogMetricReq = input.parse()?;
    let metric = r.metric.into_metric()?;
    log(&st, r.id.get()?, vec![metric], vec![], vec![]).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KeyValueReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(deserialize_with = "de_opt_string")]
    key: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    value: Option<String>,
}

pub async fn log_param(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: KeyValueReq = input.parse()?;
    let p = Tag {
        key: required_str(r.key, "key")?,
        // MLflow accepts a param without a value as the empty string.
        value: r.value.unwrap_or_default(),
    };
    log(&st, r.id.get()?, vec![], vec![p], vec![]).await
}

pub async fn set_tag(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: KeyValueReq = input.parse()?;
    let t = Tag {
        key: required_str(r.key, "key")?,
        value: required(r.value, "value")?,
    };
    log(&st, r.id.get()?, vec![], vec![], vec![t]).await
}

pub async fn delete_tag(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: KeyValueReq = input.parse()?;
    let key = required_str(r.key, "key")?;
    st.store.delete_tag(&r.id.get()?, &key).await?;
    Ok(ok())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogBatchReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(deserialize_with = "de_vec_or_one")]
    metrics: Vec<MetricIn>,
    #[serde(deserialize_with = "de_vec_or_one")]
    params: Vec<TagIn>,
    #[serde(deserialize_with = "de_vec_or_one")]
    tags: Vec<TagIn>,
}

pub async fn log_batch(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: LogBatchReq = input.parse()?;
    v::validate_batch_sizes(r.metrics.len(), r.params.len(), r.tags.len())?;
    let metrics = r
        .metrics
        .into_iter()
        .map(MetricIn::into_metric)
        .collect::<Result<Vec<_>, _>>()?;
    let params = r
        .params
        .into_iter()
        .map(|p| {
            Ok(Tag {
                key: required_str(p.key, "key")?,
                value: required(p.value, "value")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let tags = tags_in(r.tags)?;
    log(&st, r.id.get()?, metrics, params, tags).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DatasetInputIn {
    #[serde(deserialize_with = "de_vec_or_one")]
    tags: Vec<TagIn>,
    dataset: Option<DatasetIn>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DatasetIn {
    #[serde(deserialize_with = "de_opt_string")]
    name: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    digest: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    source_type: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    source: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    schema: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    profile: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ModelIdIn {
    #[serde(deserialize_with = "de_opt_string")]
    model_id: Option<String>,
    #[serde(deserialize_with = "de_opt_i64")]
    step: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogInputsReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(deserialize_with = "de_vec_or_one")]
    datasets: Vec<DatasetInputIn>,
    #[serde(deserialize_with = "de_vec_or_one")]
    models: Vec<ModelIdIn>,
}

fn check_len(what: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.chars().count() > max {
        return Err(Error::invalid(format!("{what} exceeds the maximum length of {max}")));
    }
    Ok(())
}

pub async fn log_inputs(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: LogInputsReq = input.parse()?;
    if r.datasets.len() > v::MAX_DATASETS_PER_REQUEST {
        return Err(Error::invalid(format!(
            "A logging request can contain at most {} datasets",
            v::MAX_DATASETS_PER_REQUEST
        ))
        .into());
    }
    let mut datasets = Vec::with_capacity(r.datasets.len());
    for d in r.datasets {
        let ds = required(d.dataset, "dataset")?;
        let dataset = Dataset {
            name: required_str(ds.name, "name")?,
            digest: required_str(ds.digest, "digest")?,
            source_type: required_str(ds.source_type, "source_type")?,
            source: required_str(ds.source, "source")?,
            schema: ds.schema,
            profile: ds.profile,
        };
        check_len("Dataset name", &dataset.name, 500)?;
        check_len("Dataset digest", &dataset.digest, 36)?;
        check_len("Dataset source", &dataset.source, 65_535)?;
        check_len("Dataset schema", dataset.schema.as_deref().unwrap_or(""), 1_048_575)?;
        check_len("Dataset profile", dataset.profile.as_deref().unwrap_or(""), 16_777_215)?;
        let tags = tags_in(d.tags)?;
        for t in &tags {
            check_len("Input tag key", &t.key, 255)?;
            check_len("Input tag value", &t.value, 500)?;
        }
        datasets.push(DatasetInput { tags, dataset });
    }
    let models = r
        .models
        .into_iter()
        .map(|m| {
            Ok(ModelInput {
                model_id: required_str(m.model_id, "model_id")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    st.store.log_inputs(&r.id.get()?, &datasets, &models).await?;
    Ok(ok())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogOutputsReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(deserialize_with = "de_vec_or_one")]
    models: Vec<ModelIdIn>,
}

pub async fn log_outputs(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: LogOutputsReq = input.parse()?;
    let models = r
        .models
        .into_iter()
        .map(|m| {
            Ok(ModelOutput {
                model_id: required_str(m.model_id, "model_id")?,
                step: required(m.step, "step")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    st.store.log_outputs(&r.id.get()?, &models).await?;
    Ok(ok())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SearchRunsReq {
    #[serde(deserialize_with = "de_vec_or_one")]
    experiment_ids: Vec<String>,
    #[serde(deserialize_with = "de_opt_string")]
    filter: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    run_view_type: Option<String>,
    #[serde(deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de_vec_or_one")]
    order_by: Vec<String>,
    #[serde(deserialize_with = "de_opt_string")]
    page_token: Option<String>,
}

pub async fn search_runs(State(st): State<AppState>, input: Input) -> ApiResult<axum::response::Response> {
    let r: SearchRunsReq = input.parse()?;
    let limit = v::validate_max_results(
        r.max_results,
        v::SEARCH_MAX_RESULTS_DEFAULT,
        v::SEARCH_MAX_RESULTS_THRESHOLD,
    )? as u64;
    let filter_str = r.filter.unwrap_or_default();
    let filter = search::parse_filter(SearchKind::Runs, &filter_str)?;
    let order_by = r
        .order_by
        .iter()
        .map(|o| search::parse_order_by(SearchKind::Runs, o))
        .collect::<Result<Vec<_>, _>>()?;
    let view = view_type(r.run_view_type)?;
    let fp = paging::fingerprint(&[
        &r.experiment_ids.join("\u{1}"),
        &filter_str,
        &r.order_by.join("\u{1}"),
        &format!("{view:?}"),
    ]);
    let offset = paging::decode(r.page_token.as_deref(), fp)?;
    let page = st
        .store
        .search_runs(&SearchRuns {
            experiment_ids: r.experiment_ids,
            filter,
            order_by,
            view,
            page: PageRequest { offset, limit },
        })
        .await?;
    Ok(page_json("runs", page, paging::encode(offset + limit, fp)))
}

// ---------------------------------------------------------------- metrics

#[derive(Deserialize, Default)]
#[serde(default)]
struct MetricHistoryReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(deserialize_with = "de_opt_string")]
    metric_key: Option<String>,
    #[serde(deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de_opt_string")]
    page_token: Option<String>,
}

pub async fn get_metric_history(State(st): State<AppState>, input: Input) -> ApiResult<axum::response::Response> {
    let r: MetricHistoryReq = input.parse()?;
    let key = required_str(r.metric_key, "metric_key")?;
    let run_id = r.id.get()?;
    let limit = v::validate_max_results(
        r.max_results,
        v::GET_METRIC_HISTORY_MAX_RESULTS,
        v::GET_METRIC_HISTORY_MAX_RESULTS,
    )? as u64;
    let fp = paging::fingerprint(&[&run_id, &key]);
    let offset = paging::decode(r.page_token.as_deref(), fp)?;
    let next = paging::encode(offset + limit, fp);
    let request = PageRequest { offset, limit };
    if let Some(rendered) = st.store.get_metric_history_json(&run_id, &key, &request).await? {
        return Ok(rendered_page_json("metrics", rendered, next));
    }
    // MLflow answers a missing run with an empty history rather than an error.
    let mut page = match st.store.get_metric_history(&run_id, &key, &request).await {
        Err(e) if e.code == mlp_core::ErrorCode::ResourceDoesNotExist => Page {
            items: Vec::new(),
            has_more: false,
        },
        other => other?,
    };
    // MLflow's points carry neither the run id (implied by the request) nor the dataset.
    for m in &mut page.items {
        m.run_id = None;
        m.dataset_name = None;
        m.dataset_digest = None;
    }
    Ok(page_json("metrics", page, next))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BulkIntervalReq {
    #[serde(deserialize_with = "de_vec_or_one")]
    run_ids: Vec<String>,
    #[serde(deserialize_with = "de_opt_string")]
    metric_key: Option<String>,
    #[serde(deserialize_with = "de_opt_i64")]
    start_step: Option<i64>,
    #[serde(deserialize_with = "de_opt_i64")]
    end_step: Option<i64>,
    #[serde(deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
}

const BULK_MAX_RUNS: usize = 100;
const BULK_MAX_RESULTS: i64 = 2500;

pub async fn get_metric_history_bulk_interval(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: BulkIntervalReq = input.parse()?;
    let key = required_str(r.metric_key, "metric_key")?;
    if r.run_ids.is_empty() {
        return Err(Error::invalid("GetMetricHistoryBulkInterval request must specify at least one run_id.").into());
    }
    if r.run_ids.len() > BULK_MAX_RUNS {
        return Err(Error::invalid(format!(
            "GetMetricHistoryBulkInterval request cannot specify more than {BULK_MAX_RUNS} run_ids. Received {} run_ids.",
            r.run_ids.len()
        ))
        .into());
    }
    for id in &r.run_ids {
        v::validate_run_id(id)?;
    }
    if let (Some(s), Some(e)) = (r.start_step, r.end_step)
        && s > e
    {
        return Err(Error::invalid(format!(
            "end_step ({e}) must be greater than or equal to start_step ({s})"
        ))
        .into());
    }
    let max = v::validate_max_results(r.max_results, 320, BULK_MAX_RESULTS)? as u64;
    let points = st
        .store
        .get_metric_history_bulk_interval(&r.run_ids, &key, r.start_step, r.end_step, max)
        .await?;
    let metrics: Vec<Value> = points
        .into_iter()
        .map(|p| {
            let mut m = p.metric;
            m.run_id = Some(p.run_id);
            serde_json::to_value(m).unwrap_or(Value::Null)
        })
        .collect();
    if metrics.is_empty() {
        return Ok(ok());
    }
    Ok(Json(json!({ "metrics": metrics })))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogModelReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(deserialize_with = "de_opt_string")]
    model_json: Option<String>,
}

/// MLflow 2's `runs/log-model`: the model's MLmodel JSON is appended to the run's
/// `mlflow.log-model.history` tag, which is where MLflow 2 clients and UIs read it from.
pub async fn log_model_legacy(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: LogModelReq = input.parse()?;
    let model_json = required_str(r.model_json, "model_json")?;
    let model: Value =
        serde_json::from_str(&model_json).map_err(|e| Error::invalid(format!("model_json is not valid JSON: {e}")))?;
    let run_id = r.id.get()?;
    let run = st.store.get_run(&run_id).await?;
    let mut history: Vec<Value> = run
        .data
        .tags
        .iter()
        .find(|t| t.key == "mlflow.log-model.history")
        .and_then(|t| serde_json::from_str(&t.value).ok())
        .unwrap_or_default();
    history.push(model);
    let tag = Tag::new("mlflow.log-model.history", Value::Array(history).to_string());
    log(&st, run_id, vec![], vec![], vec![tag]).await
}

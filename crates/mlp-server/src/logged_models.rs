//! MLflow 3 logged models: what every `<flavor>.log_model` creates and finalises.

use axum::Json;
use axum::extract::State;
use mlp_core::model::LoggedModelStatus;
use mlp_core::search::{self, SearchKind};
use mlp_core::store::*;
use mlp_core::validation as v;
use mlp_core::wire::*;
use mlp_core::{Error, paging};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiResult;
use crate::input::{ApiPath as Path, Input, required_str};
use crate::tracking::{TagIn, ok, tags_in};

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateReq {
    #[serde(deserialize_with = "de_opt_string")]
    experiment_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    name: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    model_type: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    source_run_id: Option<String>,
    #[serde(deserialize_with = "de_vec_or_one")]
    params: Vec<TagIn>,
    #[serde(deserialize_with = "de_vec_or_one")]
    tags: Vec<TagIn>,
}

const MAX_PARAMS_PER_CALL: usize = 100;

fn params_in(params: Vec<TagIn>) -> Result<Vec<mlp_core::model::Param>, Error> {
    if params.len() > MAX_PARAMS_PER_CALL {
        return Err(Error::invalid(format!(
            "A request can contain at most {MAX_PARAMS_PER_CALL} params"
        )));
    }
    let mut params = tags_in(params)?;
    for p in &mut params {
        v::validate_key("param", &p.key)?;
        v::truncate(&mut p.value, v::MAX_PARAM_VAL_LENGTH);
    }
    Ok(params)
}

pub async fn create(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: CreateReq = input.parse()?;
    let experiment_id = required_str(r.experiment_id, "experiment_id")?;
    let params = params_in(r.params)?;
    let tags = tags_in(r.tags)?;
    let model = st
        .store
        .create_logged_model(&CreateLoggedModel {
            experiment_id,
            name: r.name,
            model_type: r.model_type,
            source_run_id: r.source_run_id.filter(|s| !s.is_empty()),
            params,
            tags,
        })
        .await?;
    Ok(Json(json!({ "model": model })))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GetReq {
    #[serde(deserialize_with = "de_opt_bool")]
    allow_deleted: Option<bool>,
    #[serde(deserialize_with = "de_opt_string")]
    status: Option<String>,
    #[serde(deserialize_with = "de_vec_or_one")]
    tags: Vec<TagIn>,
    #[serde(deserialize_with = "de_vec_or_one")]
    params: Vec<TagIn>,
}

pub async fn get(State(st): State<AppState>, Path(id): Path<String>, input: Input) -> ApiResult<Json<Value>> {
    let r: GetReq = input.parse()?;
    let model = st.store.get_logged_model(&id, r.allow_deleted.unwrap_or(false)).await?;
    Ok(Json(json!({ "model": model })))
}

pub async fn finalize(State(st): State<AppState>, Path(id): Path<String>, input: Input) -> ApiResult<Json<Value>> {
    let r: GetReq = input.parse()?;
    let s = required_str(r.status, "status")?;
    let status = LoggedModelStatus::parse(&s)
        .filter(|s| *s != LoggedModelStatus::Pending)
        .ok_or_else(|| {
            Error::invalid(format!(
                "Invalid model status '{s}': expected LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED"
            ))
        })?;
    let model = st.store.finalize_logged_model(&id, status).await?;
    Ok(Json(json!({ "model": model })))
}

pub async fn delete(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    st.store.delete_logged_model(&id).await?;
    Ok(ok())
}

pub async fn set_tags(State(st): State<AppState>, Path(id): Path<String>, input: Input) -> ApiResult<Json<Value>> {
    let r: GetReq = input.parse()?;
    let tags = tags_in(r.tags)?;
    for t in &tags {
        v::validate_key("tag", &t.key)?;
    }
    st.store.set_logged_model_tags(&id, &tags).await?;
    Ok(ok())
}

pub async fn delete_tag(State(st): State<AppState>, Path((id, key)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    st.store.delete_logged_model_tag(&id, &key).await?;
    Ok(ok())
}

pub async fn log_params(State(st): State<AppState>, Path(id): Path<String>, input: Input) -> ApiResult<Json<Value>> {
    let r: GetReq = input.parse()?;
    let params = params_in(r.params)?;
    st.store.log_logged_model_params(&id, &params).await?;
    Ok(ok())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DatasetFilterIn {
    #[serde(deserialize_with = "de_opt_string")]
    dataset_name: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    dataset_digest: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OrderIn {
    #[serde(deserialize_with = "de_opt_string")]
    field_name: Option<String>,
    #[serde(deserialize_with = "de_opt_bool")]
    ascending: Option<bool>,
    #[serde(deserialize_with = "de_opt_string")]
    dataset_name: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    dataset_digest: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SearchReq {
    #[serde(deserialize_with = "de_vec_or_one")]
    experiment_ids: Vec<String>,
    #[serde(deserialize_with = "de_opt_string")]
    filter: Option<String>,
    #[serde(deserialize_with = "de_vec_or_one")]
    datasets: Vec<DatasetFilterIn>,
    #[serde(deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de_vec_or_one")]
    order_by: Vec<OrderIn>,
    #[serde(deserialize_with = "de_opt_string")]
    page_token: Option<String>,
}

const SEARCH_DEFAULT: i64 = 100;
const SEARCH_THRESHOLD: i64 = 1000;

pub async fn search(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: SearchReq = input.parse()?;
    if r.experiment_ids.is_empty() {
        return Err(Error::invalid("At least one experiment ID must be specified to search logged models.").into());
    }
    let limit = v::validate_max_results(r.max_results, SEARCH_DEFAULT, SEARCH_THRESHOLD)? as u64;
    let filter = search::parse_filter(SearchKind::LoggedModels, r.filter.as_deref().unwrap_or(""))?;
    let datasets = r
        .datasets
        .into_iter()
        .map(|d| {
            Ok(DatasetFilter {
                dataset_name: required_str(d.dataset_name, "dataset_name")?,
                dataset_digest: d.dataset_digest,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let order_by = r
        .order_by
        .into_iter()
        .map(|o| {
            let field_name = required_str(o.field_name, "field_name")?;
            Ok(LoggedModelOrder {
                field_name,
                ascending: o.ascending.unwrap_or(true),
                dataset_name: o.dataset_name,
                dataset_digest: o.dataset_digest,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    // The token is bound to everything but itself and the page size.
    let fp_input = json!({
        "experiment_ids": &r.experiment_ids,
        "filter": &r.filter,
        "datasets": datasets.iter().map(|d| (&d.dataset_name, &d.dataset_digest)).collect::<Vec<_>>(),
        "order_by": order_by
            .iter()
            .map(|o| (&o.field_name, o.ascending, &o.dataset_name, &o.dataset_digest))
            .collect::<Vec<_>>(),
    });
    let fp = paging::fingerprint(&[&fp_input.to_string()]);
    let offset = paging::decode(r.page_token.as_deref(), fp)?;
    let page = st
        .store
        .search_logged_models(&SearchLoggedModels {
            experiment_ids: r.experiment_ids,
            filter,
            datasets,
            order_by,
            page: PageRequest { offset, limit },
        })
        .await?;
    let mut out = serde_json::Map::new();
    if !page.items.is_empty() {
        out.insert(
            "models".into(),
            serde_json::to_value(&page.items).unwrap_or(Value::Null),
        );
    }
    if page.has_more {
        out.insert(
            "next_page_token".into(),
            Value::String(paging::encode(offset + limit, fp)),
        );
    }
    Ok(Json(Value::Object(out)))
}

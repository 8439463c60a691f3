//! MLflow model registry endpoints: registered models, versions, aliases, stages and tags.

use axum::Json;
use axum::extract::State;
use mlp_core::model::Tag;
use mlp_core::registry::*;
use mlp_core::search::{self, SearchKind};
use mlp_core::store::PageRequest;
use mlp_core::validation as v;
use mlp_core::wire::*;
use mlp_core::{Error, paging};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiResult;
use crate::input::{Input, required_str};
use crate::tracking::{TagIn, ok, tags_in};

const MAX_REGISTRY_TAG_VALUE: usize = 100_000;

/// Every registry request's fields; each handler takes what it needs.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Req {
    #[serde(deserialize_with = "de_opt_string")]
    name: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    new_name: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    description: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    version: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    alias: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    key: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    value: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    stage: Option<String>,
    #[serde(deserialize_with = "de_opt_bool")]
    archive_existing_versions: Option<bool>,
    #[serde(deserialize_with = "de_vec_or_one")]
    stages: Vec<String>,
    #[serde(deserialize_with = "de_vec_or_one")]
    tags: Vec<TagIn>,
    #[serde(deserialize_with = "de_opt_string")]
    source: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    run_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    run_link: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    model_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    filter: Option<String>,
    #[serde(deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de_vec_or_one")]
    order_by: Vec<String>,
    #[serde(deserialize_with = "de_opt_string")]
    page_token: Option<String>,
}

fn name(r: &mut Req) -> Result<String, Error> {
    required_str(r.name.take(), "name")
}

fn version(r: &mut Req) -> Result<String, Error> {
    let v = required_str(r.version.take(), "version")?;
    parse_version(&v)?;
    Ok(v)
}

fn registry_tags(tags: Vec<TagIn>) -> Result<Vec<Tag>, Error> {
    let tags = tags_in(tags)?;
    for t in &tags {
        check_tag(t)?;
    }
    Ok(tags)
}

fn check_tag(t: &Tag) -> Result<(), Error> {
    v::validate_key("tag", &t.key)?;
    if t.value.chars().count() > MAX_REGISTRY_TAG_VALUE {
        return Err(Error::invalid(format!(
            "Tag value exceeds the maximum length of {MAX_REGISTRY_TAG_VALUE} characters"
        )));
    }
    Ok(())
}

fn key_value(r: &mut Req) -> Result<Tag, Error> {
    let t = Tag {
        key: required_str(r.key.take(), "key")?,
        value: r.value.take().ok_or_else(|| Error::missing("value"))?,
    };
    check_tag(&t)?;
    Ok(t)
}

pub async fn create_model(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let tags = registry_tags(r.tags)?;
    let m = st
        .registry
        .create_registered_model(&n, &tags, r.description.as_deref())
        .await?;
    ::metrics::counter!("mlp_registered_models_created_total").increment(1);
    Ok(Json(json!({ "registered_model": m })))
}

pub async fn get_model(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let m = st.registry.get_registered_model(&name(&mut r)?).await?;
    Ok(Json(json!({ "registered_model": m })))
}

pub async fn rename_model(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let new_name = required_str(r.new_name, "new_name")?;
    let m = st.registry.rename_registered_model(&n, &new_name).await?;
    Ok(Json(json!({ "registered_model": m })))
}

pub async fn update_model(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let m = st
        .registry
        .update_registered_model(&n, r.description.as_deref())
        .await?;
    Ok(Json(json!({ "registered_model": m })))
}

pub async fn delete_model(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    st.registry.delete_registered_model(&name(&mut r)?).await?;
    Ok(ok())
}

fn search_request(r: &Req, kind: SearchKind, default: i64, threshold: i64) -> Result<(RegistrySearch, u64), Error> {
    let limit = v::validate_max_results(r.max_results, default, threshold)? as u64;
    let filter_str = r.filter.clone().unwrap_or_default();
    let filter = search::parse_filter(kind, &filter_str)?;
    let order_by = r
        .order_by
        .iter()
        .map(|o| search::parse_order_by(kind, o))
        .collect::<Result<Vec<_>, _>>()?;
    let fp = paging::fingerprint(&[&format!("{kind:?}"), &filter_str, &r.order_by.join("\u{1}")]);
    let offset = paging::decode(r.page_token.as_deref(), fp)?;
    Ok((
        RegistrySearch {
            filter,
            order_by,
            page: PageRequest { offset, limit },
        },
        fp,
    ))
}

fn page_out<T: serde::Serialize>(field: &str, items: Vec<T>, has_more: bool, next_offset: u64, fp: u64) -> Json<Value> {
    let mut out = serde_json::Map::new();
    if !items.is_empty() {
        out.insert(field.into(), serde_json::to_value(items).unwrap_or(Value::Null));
    }
    if has_more {
        out.insert("next_page_token".into(), Value::String(paging::encode(next_offset, fp)));
    }
    Json(Value::Object(out))
}

pub async fn search_models(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: Req = input.parse()?;
    let (q, fp) = search_request(&r, SearchKind::RegisteredModels, 100, 1000)?;
    let page = st.registry.search_registered_models(&q).await?;
    Ok(page_out(
        "registered_models",
        page.items,
        page.has_more,
        q.page.offset + q.page.limit,
        fp,
    ))
}

pub async fn get_latest_versions(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let stages = r
        .stages
        .iter()
        .map(|s| {
            Stage::parse(s).ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid Model Version stage: {s}. Value must be one of None, Staging, Production, Archived."
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let versions = st.registry.get_latest_versions(&n, &stages).await?;
    if versions.is_empty() {
        return Ok(ok());
    }
    Ok(Json(json!({ "model_versions": versions })))
}

pub async fn set_model_tag(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let t = key_value(&mut r)?;
    st.registry.set_registered_model_tag(&n, &t).await?;
    Ok(ok())
}

pub async fn delete_model_tag(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let key = required_str(r.key, "key")?;
    st.registry.delete_registered_model_tag(&n, &key).await?;
    Ok(ok())
}

pub async fn set_alias(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let alias = required_str(r.alias.take(), "alias")?;
    validate_alias(&alias)?;
    let ver = version(&mut r)?;
    st.registry.set_alias(&n, &alias, &ver).await?;
    Ok(ok())
}

pub async fn delete_alias(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let alias = required_str(r.alias, "alias")?;
    st.registry.delete_alias(&n, &alias).await?;
    Ok(ok())
}

pub async fn get_by_alias(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let alias = required_str(r.alias, "alias")?;
    let mv = st.registry.get_version_by_alias(&n, &alias).await?;
    Ok(Json(json!({ "model_version": mv })))
}

pub async fn create_version(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let source = required_str(r.source.take(), "source")?;
    let mut run_root = None;
    if let Some(run_id) = r.run_id.as_deref().filter(|s| !s.is_empty()) {
        v::validate_run_id(run_id)?;
        run_root = st.store.get_run(run_id).await.ok().map(|run| run.info.artifact_uri);
    }
    let mut model_root = None;
    if let Some(model_id) = r.model_id.as_deref().filter(|s| !s.is_empty()) {
        model_root = st
            .store
            .get_logged_model(model_id, false)
            .await
            .ok()
            .map(|m| m.info.artifact_uri);
    }
    st.storage
        .check_model_source(&source, run_root.as_deref(), model_root.as_deref())?;
    let tags = registry_tags(std::mem::take(&mut r.tags))?;
    let mv = st
        .registry
        .create_model_version(&CreateModelVersion {
            name: n,
            source,
            run_id: r.run_id,
            tags,
            run_link: r.run_link,
            description: r.description,
            model_id: r.model_id,
        })
        .await?;
    ::metrics::counter!("mlp_model_versions_created_total").increment(1);
    Ok(Json(json!({ "model_version": mv })))
}

pub async fn get_version(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let ver = version(&mut r)?;
    let mv = st.registry.get_model_version(&n, &ver).await?;
    Ok(Json(json!({ "model_version": mv })))
}

pub async fn update_version(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let ver = version(&mut r)?;
    let mv = st
        .registry
        .update_model_version(&n, &ver, r.description.as_deref())
        .await?;
    Ok(Json(json!({ "model_version": mv })))
}

pub async fn delete_version(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let ver = version(&mut r)?;
    st.registry.delete_model_version(&n, &ver).await?;
    Ok(ok())
}

pub async fn transition_stage(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let ver = version(&mut r)?;
    let s = required_str(r.stage, "stage")?;
    let stage = Stage::parse(&s).ok_or_else(|| {
        Error::invalid(format!(
            "Invalid Model Version stage: {s}. Value must be one of None, Staging, Production, Archived."
        ))
    })?;
    let mv = st
        .registry
        .transition_stage(&n, &ver, stage, r.archive_existing_versions.unwrap_or(false))
        .await?;
    Ok(Json(json!({ "model_version": mv })))
}

pub async fn search_versions(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: Req = input.parse()?;
    let (q, fp) = search_request(&r, SearchKind::ModelVersions, 10_000, 200_000)?;
    let page = st.registry.search_model_versions(&q).await?;
    Ok(page_out(
        "model_versions",
        page.items,
        page.has_more,
        q.page.offset + q.page.limit,
        fp,
    ))
}

pub async fn download_uri(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let ver = version(&mut r)?;
    let mv = st.registry.get_model_version(&n, &ver).await?;
    Ok(Json(json!({ "artifact_uri": mv.storage_location })))
}

pub async fn set_version_tag(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let ver = version(&mut r)?;
    let t = key_value(&mut r)?;
    st.registry.set_model_version_tag(&n, &ver, &t).await?;
    Ok(ok())
}

pub async fn delete_version_tag(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let mut r: Req = input.parse()?;
    let n = name(&mut r)?;
    let ver = version(&mut r)?;
    let key = required_str(r.key, "key")?;
    st.registry.delete_model_version_tag(&n, &ver, &key).await?;
    Ok(ok())
}

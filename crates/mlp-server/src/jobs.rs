//! The jobs API (`/api/v1/jobs`), our own namespace beside the MLflow API.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use mlp_core::jobs::{JobKind, JobQuery, JobSpec, JobState};
use mlp_core::store::PageRequest;
use mlp_core::wire::*;
use mlp_core::{Error, ErrorCode, paging};
use mlp_jobs::JobService;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::input::Input;

fn service(st: &AppState) -> Result<&JobService, ApiError> {
    st.jobs.as_ref().ok_or_else(|| {
        ApiError(Error::new(
            ErrorCode::NotImplemented,
            "Jobs are not enabled on this server (jobs.enabled = false)",
        ))
    })
}

/// The authenticated caller, when auth is on.
type Caller = Option<axum::Extension<crate::auth::Principal>>;

pub async fn submit(State(st): State<AppState>, caller: Caller, input: Input) -> ApiResult<Json<Value>> {
    let spec: JobSpec = input.parse_as("Invalid job spec")?;
    let owner = caller.map(|axum::Extension(p)| p.username);
    let job = service(&st)?.submit_as(spec, owner).await?;
    Ok(Json(json!({ "job": job })))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListReq {
    #[serde(deserialize_with = "de_opt_string")]
    state: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    kind: Option<String>,
    #[serde(deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de_opt_string")]
    page_token: Option<String>,
}

pub async fn list(State(st): State<AppState>, caller: Caller, input: Input) -> ApiResult<Json<Value>> {
    let r: ListReq = input.parse()?;
    // Each user sees the jobs they submitted; admins (and a server without auth) see all.
    let owner = caller.and_then(|axum::Extension(p)| (!p.is_admin).then_some(p.username));
    let svc = service(&st)?;
    let state = match r.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            Error::invalid(format!(
                "Invalid state '{s}': expected QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED"
            ))
        })?),
    };
    let kind = match r.kind.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(k) => Some(
            JobKind::parse(k)
                .ok_or_else(|| Error::invalid(format!("Invalid kind '{k}': expected training or data-processing")))?,
        ),
    };
    let limit = mlp_core::validation::validate_max_results(r.max_results, 100, 1000)? as u64;
    let fp = paging::fingerprint(&[r.state.as_deref().unwrap_or(""), r.kind.as_deref().unwrap_or("")]);
    let offset = paging::decode(r.page_token.as_deref(), fp)?;
    let page = svc
        .jobs
        .list_jobs(&JobQuery {
            state,
            kind,
            owner,
            page: PageRequest { offset, limit },
        })
        .await?;
    let mut out = json!({ "jobs": page.items });
    if page.has_more {
        out["next_page_token"] = json!(paging::encode(offset + limit, fp));
    }
    Ok(Json(out))
}

pub async fn get(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let job = service(&st)?.jobs.get_job(&id).await?;
    Ok(Json(json!({ "job": job })))
}

pub async fn cancel(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let job = service(&st)?.cancel(&id).await?;
    Ok(Json(json!({ "job": job })))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogsReq {
    #[serde(deserialize_with = "de_opt_string")]
    stream: Option<String>,
    #[serde(deserialize_with = "de_opt_i64")]
    attempt: Option<i64>,
    #[serde(deserialize_with = "de_opt_i64")]
    shard: Option<i64>,
    /// A rank of a distributed job (rank 0 without it).
    #[serde(deserialize_with = "de_opt_i64")]
    rank: Option<i64>,
    #[serde(deserialize_with = "de_opt_i64")]
    offset: Option<i64>,
}

/// An attempt's log from byte `offset` on, with `x-next-offset` for the next poll (a live tail).
pub async fn logs(State(st): State<AppState>, Path(id): Path<String>, input: Input) -> ApiResult<Response> {
    let r: LogsReq = input.parse()?;
    let svc = service(&st)?;
    let job = svc.jobs.get_job(&id).await?;
    let offset = u64::try_from(r.offset.unwrap_or(0)).map_err(|_| Error::invalid("offset must not be negative"))?;
    let attempt = r.attempt.map(|a| a.max(1) as u32);
    let shard = r.shard.map(|s| s.max(0) as u32);
    let rank = match r.rank {
        None => None,
        Some(x) => Some(u32::try_from(x).map_err(|_| Error::invalid(format!("Invalid rank {x}")))?),
    };
    let path = svc
        .log_path(&job, attempt, shard, rank, r.stream.as_deref().unwrap_or("stdout"))
        .await?;
    let (size, body) = match st.artifacts.get(&path).await {
        Ok(d) => {
            let size = d.size;
            let mut skip = offset;
            // Skip what the caller has already seen without holding the file in memory.
            let stream = d.body.filter_map(move |chunk| {
                let out = match chunk {
                    Ok(mut bytes) => {
                        if skip >= bytes.len() as u64 {
                            skip -= bytes.len() as u64;
                            None
                        } else {
                            let rest = bytes.split_off(skip as usize);
                            skip = 0;
                            Some(Ok::<_, std::io::Error>(rest))
                        }
                    }
                    Err(e) => Some(Err(e)),
                };
                std::future::ready(out)
            });
            (size, Body::from_stream(stream))
        }
        // No log yet (queued, or the first copy has not happened).
        Err(e) if e.code == ErrorCode::ResourceDoesNotExist => (0, Body::empty()),
        Err(e) => return Err(e.into()),
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    // What a job printed is user content, like an artifact.
    crate::artifacts::harden_user_content(h);
    h.insert("x-next-offset", HeaderValue::from(size.max(offset)));
    h.insert("x-job-state", HeaderValue::from_static(job.state.as_str()));
    Ok(resp)
}

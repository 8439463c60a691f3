//! The sweeps API (`/api/v1/sweeps`): create a hyperparameter sweep, list, read one with its
//! trials and their objective values, cancel. The controller in `mlp_jobs::sweeps` does the rest.

use axum::Json;
use axum::extract::{Path, State};
use mlp_core::store::PageRequest;
use mlp_core::sweeps::{SweepQuery, SweepSpec, SweepState};
use mlp_core::wire::*;
use mlp_core::{Error, ErrorCode, paging};
use mlp_jobs::sweeps::SweepService;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::input::Input;

fn service(st: &AppState) -> Result<&SweepService, ApiError> {
    st.sweeps.as_ref().ok_or_else(|| {
        ApiError(Error::new(
            ErrorCode::NotImplemented,
            "Sweeps are not enabled on this server (jobs.enabled = false)",
        ))
    })
}

/// The authenticated caller, when auth is on.
type Caller = Option<axum::Extension<crate::auth::Principal>>;

pub async fn create(State(st): State<AppState>, caller: Caller, input: Input) -> ApiResult<Json<Value>> {
    let spec: SweepSpec = input.parse_as("Invalid sweep spec")?;
    let owner = caller.map(|axum::Extension(p)| p.username);
    let sweep = service(&st)?.create(spec, owner).await?;
    Ok(Json(json!({ "sweep": sweep })))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListReq {
    #[serde(deserialize_with = "de_opt_string")]
    state: Option<String>,
    #[serde(deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de_opt_string")]
    page_token: Option<String>,
}

pub async fn list(State(st): State<AppState>, caller: Caller, input: Input) -> ApiResult<Json<Value>> {
    let r: ListReq = input.parse()?;
    // Each user sees the sweeps they created; admins (and a server without auth) see all.
    let owner = caller.and_then(|axum::Extension(p)| (!p.is_admin).then_some(p.username));
    let svc = service(&st)?;
    let state = match r.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(SweepState::parse(s).ok_or_else(|| {
            Error::invalid(format!(
                "Invalid state '{s}': expected RUNNING, SUCCEEDED, FAILED or CANCELLED"
            ))
        })?),
    };
    let limit = mlp_core::validation::validate_max_results(r.max_results, 100, 1000)? as u64;
    let fp = paging::fingerprint(&[r.state.as_deref().unwrap_or("")]);
    let offset = paging::decode(r.page_token.as_deref(), fp)?;
    let page = svc
        .store
        .list_sweeps(&SweepQuery {
            state,
            owner,
            page: PageRequest { offset, limit },
        })
        .await?;
    let mut out = json!({ "sweeps": page.items });
    if page.has_more {
        out["next_page_token"] = json!(paging::encode(offset + limit, fp));
    }
    Ok(Json(out))
}

pub async fn get(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let svc = service(&st)?;
    let sweep = svc.store.get_sweep(&id).await?;
    let trials = svc.store.list_trials(&id).await?;
    Ok(Json(json!({ "sweep": sweep, "trials": trials })))
}

pub async fn cancel(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let sweep = service(&st)?.cancel(&id).await?;
    Ok(Json(json!({ "sweep": sweep })))
}

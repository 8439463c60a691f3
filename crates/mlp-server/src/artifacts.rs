//! The proxied artifact service (`/api/2.0/mlflow-artifacts`): runs get `mlflow-artifacts:/`
//! URIs, and the client uploads and downloads through these routes. Bodies are streamed.

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use mlp_core::wire::de_opt_string;
use mlp_core::{Error, ErrorCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::input::{ApiPath as Path, Input, required_str};

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListReq {
    #[serde(deserialize_with = "de_opt_string")]
    path: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    run_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string")]
    run_uuid: Option<String>,
}

fn files_json(files: Vec<mlp_artifacts::FileInfo>) -> Value {
    let files: Vec<Value> = files
        .into_iter()
        .map(|f| {
            let mut v = json!({ "path": f.path, "is_dir": f.is_dir });
            if let Some(size) = f.file_size {
                v["file_size"] = json!(size);
            }
            v
        })
        .collect();
    json!({ "files": files })
}

pub async fn list(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: ListReq = input.parse()?;
    let files = st.artifacts.list(r.path.as_deref().unwrap_or("")).await?;
    if files.is_empty() {
        return Ok(Json(json!({})));
    }
    Ok(Json(files_json(files)))
}

pub async fn upload(State(st): State<AppState>, Path(path): Path<String>, req: Request) -> ApiResult<Json<Value>> {
    let stream = req.into_body().into_data_stream().map_err(std::io::Error::other);
    let n = st.artifacts.put(&path, Box::pin(stream)).await?;
    tracing::debug!(path, bytes = n, "artifact uploaded");
    metrics::counter!("mlp_artifact_bytes_total", "direction" => "in").increment(n);
    Ok(Json(json!({})))
}

pub async fn download(State(st): State<AppState>, Path(path): Path<String>) -> ApiResult<Response> {
    let d = st.artifacts.get(&path).await?;
    // Counted when the download starts: the body is streamed after this returns.
    metrics::counter!("mlp_artifact_bytes_total", "direction" => "out").increment(d.size);
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    let mut resp = Body::from_stream(d.body).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(d.size));
    Ok(resp)
}

pub async fn delete(State(st): State<AppState>, Path(path): Path<String>) -> ApiResult<Json<Value>> {
    st.artifacts.delete(&path).await?;
    Ok(Json(json!({})))
}

/// `GET /api/2.0/mlflow/artifacts/list`: the tracking service's listing by run, used by UIs.
pub async fn list_for_run(State(st): State<AppState>, input: Input) -> ApiResult<Json<Value>> {
    let r: ListReq = input.parse()?;
    let run_id = required_str(r.run_id.filter(|s| !s.is_empty()).or(r.run_uuid), "run_id")?;
    let run = st.store.get_run(&run_id).await?;
    list_under(&st, run.info.artifact_uri, r.path.unwrap_or_default()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ModelDirReq {
    #[serde(deserialize_with = "de_opt_string")]
    artifact_directory_path: Option<String>,
}

/// `GET /api/2.0/mlflow/logged-models/{id}/artifacts/directories`: a logged model's files.
pub async fn list_for_logged_model(
    State(st): State<AppState>,
    Path(model_id): Path<String>,
    input: Input,
) -> ApiResult<Json<Value>> {
    let r: ModelDirReq = input.parse()?;
    let model = st.store.get_logged_model(&model_id, false).await?;
    list_under(
        &st,
        model.info.artifact_uri,
        r.artifact_directory_path.unwrap_or_default(),
    )
    .await
}

/// Lists `sub` below an `mlflow-artifacts:` root, with paths relative to the root.
async fn list_under(st: &AppState, root: String, sub: String) -> ApiResult<Json<Value>> {
    let base = root
        .strip_prefix("mlflow-artifacts:")
        .map(|p| p.trim_start_matches('/').to_string())
        .ok_or_else(|| Error::invalid(format!("These artifacts are not served by this server: {root}")))?;
    let sub = sub.trim_matches('/');
    let dir = if sub.is_empty() { base } else { format!("{base}/{sub}") };
    let files = st.artifacts.list(&dir).await?;
    let mut out = files_json(
        files
            .into_iter()
            .map(|mut f| {
                if !sub.is_empty() {
                    f.path = format!("{sub}/{}", f.path);
                }
                f
            })
            .collect(),
    );
    out["root_uri"] = json!(root);
    Ok(Json(out))
}

/// Multipart uploads and presigned URLs: `server-info` advertises them as disabled, and the
/// client falls back to proxied transfers on 501.
pub async fn not_implemented() -> ApiError {
    ApiError(Error::new(
        ErrorCode::NotImplemented,
        "Multipart uploads and presigned URLs are not enabled on this server; use proxied artifact transfers",
    ))
}

//! The proxied artifact service (`/api/2.0/mlflow-artifacts`): runs get `mlflow-artifacts:/`
//! URIs, and the client uploads and downloads through these routes. Bodies are streamed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
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

/// The 413 of an upload over `max_artifact_bytes`. INVALID_PARAMETER_VALUE rather than
/// RESOURCE_EXHAUSTED, which MLflow pairs with 429: the client retries 429 (and 5xx) but not
/// 413, and sending the same file again cannot succeed.
fn too_large(limit: u64) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        Json(json!({
            "error_code": ErrorCode::InvalidParameterValue.as_str(),
            "message": format!("The artifact is larger than this server accepts ({limit} bytes; artifacts.max_upload_bytes)"),
        })),
    )
        .into_response()
}

pub async fn upload(
    State(st): State<AppState>,
    Path(path): Path<String>,
    req: Request,
) -> Result<Json<Value>, Response> {
    let limit = st.max_artifact_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    // Counted as it streams, since a chunked body declares no length. The store sees an error
    // in its body and drops what it wrote (local: the temporary file; S3: the multipart
    // upload), so an oversized upload leaves nothing behind and an earlier version stays.
    let exceeded = Arc::new(AtomicBool::new(false));
    let flag = exceeded.clone();
    let mut seen = 0u64;
    let stream = req
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other)
        .and_then(move |chunk| {
            seen += chunk.len() as u64;
            let r = if seen > limit {
                flag.store(true, Ordering::Relaxed);
                Err(std::io::Error::other("the upload exceeds the maximum artifact size"))
            } else {
                Ok(chunk)
            };
            std::future::ready(r)
        });
    match st.artifacts.put(&path, Box::pin(stream)).await {
        Ok(n) => {
            tracing::debug!(path, bytes = n, "artifact uploaded");
            metrics::counter!("mlp_artifact_bytes_total", "direction" => "in").increment(n);
            Ok(Json(json!({})))
        }
        Err(_) if exceeded.load(Ordering::Relaxed) => Err(too_large(limit)),
        Err(e) => Err(ApiError(e).into_response()),
    }
}

/// Types a browser only displays: an image, plain text, JSON. Anything else (HTML, XHTML, SVG,
/// XML and XSLT, JavaScript, PDF, and whatever has no known type) may run script or render
/// active content from this origin, so it is sent as a download.
fn inline_safe(mime: &mime_guess::Mime) -> bool {
    matches!(
        mime.essence_str(),
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "image/bmp"
            | "image/avif"
            | "text/plain"
            | "text/csv"
            | "text/tab-separated-values"
            | "application/json"
    )
}

/// `attachment` with the file's name: a quoted ASCII `filename` for every browser and, when the
/// name needs it, RFC 6266's `filename*` with the UTF-8 name percent-encoded.
fn attachment(path: &str) -> HeaderValue {
    let name = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or("artifact");
    // Quotes, backslashes and controls cannot sit in a quoted-string safely, non-ASCII is not
    // allowed there, and some browsers percent-decode `filename`.
    let ascii: String = name
        .chars()
        .map(|c| match c {
            '"' | '\\' | '%' => '_',
            ' '..='~' => c,
            _ => '_',
        })
        .collect();
    let mut v = format!("attachment; filename=\"{ascii}\"");
    if ascii != name {
        v.push_str("; filename*=UTF-8''");
        for b in name.bytes() {
            // RFC 5987 attr-char.
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                v.push(b as char);
            } else {
                v.push_str(&format!("%{b:02X}"));
            }
        }
    }
    HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("attachment"))
}

/// Headers of any response whose body is user content: never sniffed into another type, and,
/// should a browser render it anyway, in a sandbox (a unique origin, no script).
pub(crate) fn harden_user_content(h: &mut HeaderMap) {
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
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
    harden_user_content(h);
    // The UI previews with fetch() and <img>, which a download disposition does not affect.
    if !inline_safe(&mime) {
        h.insert(header::CONTENT_DISPOSITION, attachment(&path));
    }
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

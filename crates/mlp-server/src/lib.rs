//! The HTTP server: MLflow's REST API under `/api/2.0/mlflow` (and `/ajax-api/2.0/mlflow`), the
//! proxied artifact service, health and readiness. Handlers only parse, validate and call the
//! store traits; which back-end sits behind them is decided once at start-up.

mod artifacts;
pub mod auth;
mod error;
pub mod http;
mod input;
mod jobs;
mod logged_models;
pub mod metrics;
pub mod oidc;
mod registry;
pub mod security;
pub mod session;
mod sweeps;
mod tracking;
pub mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, State};
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mlp_artifacts::ArtifactStore;
use mlp_core::registry::RegistryStore;
use mlp_core::storage_uri::StoragePolicy;
use mlp_core::store::TrackingStore;
use mlp_core::{Error, ErrorCode};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// The MLflow version whose API and client this server is compatible with; `/version` reports
/// it because the client gates features on it.
pub const MLFLOW_COMPAT_VERSION: &str = "3.17.2";

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn TrackingStore>,
    pub registry: Arc<dyn RegistryStore>,
    pub artifacts: Arc<dyn ArtifactStore>,
    /// `None` when jobs are disabled: the jobs API then answers NOT_IMPLEMENTED.
    pub jobs: Option<mlp_jobs::JobService>,
    /// `None` when jobs are disabled (sweeps are made of jobs).
    pub sweeps: Option<mlp_jobs::sweeps::SweepService>,
    /// Host, origin and content-type rules for what browsers send.
    pub http: Arc<security::HttpPolicy>,
    /// Where experiments and model versions may point (this server's own storage only).
    pub storage: Arc<StoragePolicy>,
    /// Handler deadline of the JSON API (artifact transfers stream and are exempt).
    pub request_timeout: Duration,
    /// The largest artifact upload accepted, in bytes; larger ones are answered 413 and leave
    /// nothing behind (`artifacts.max_upload_bytes`).
    pub max_artifact_bytes: u64,
    /// Users, grants and tokens; `None` (the default) serves every route to anyone, as before
    /// authentication existed.
    pub auth: Option<Arc<auth::Auth>>,
    /// The UI's login sessions (cookie lifetime and `Secure`).
    pub session: session::Settings,
}

impl AppState {
    /// A state with the loopback defaults: what tests and a local server use.
    pub fn new(
        store: Arc<dyn TrackingStore>,
        registry: Arc<dyn RegistryStore>,
        artifacts: Arc<dyn ArtifactStore>,
        jobs: Option<mlp_jobs::JobService>,
    ) -> Self {
        // Only the proxied store (`mlflow-artifacts:`); a server configures its root and buckets.
        let storage = StoragePolicy {
            local_root: None,
            s3_buckets: Vec::new(),
            hosts: security::default_hosts(None),
        };
        AppState {
            store,
            registry,
            artifacts,
            jobs,
            sweeps: None,
            http: Arc::new(security::HttpPolicy::loopback()),
            storage: Arc::new(storage),
            request_timeout: Duration::from_secs(60),
            max_artifact_bytes: 5 << 30,
            auth: None,
            session: session::Settings::default(),
        }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The JSON API's body limit. A log-batch at every documented limit (100 params of 6,000
/// characters, 100 tags of 8,000, 800 metrics, 250-character keys) is ~1.7 MB of ASCII; 4 MB
/// leaves room for escaped non-ASCII text. Bodies are decoded straight into typed messages, so
/// a request costs a small multiple of this, never the ~30x a `serde_json::Value` did.
pub const JSON_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// log-inputs and logged-model outputs carry dataset schemas (up to 1 MB each) and profiles (up
/// to 16 MB) as MLflow defines them.
pub const DATASET_BODY_LIMIT: usize = 24 * 1024 * 1024;

fn mlflow_routes() -> Router<AppState> {
    use tracking::*;
    Router::new()
        .route("/experiments/create", post(create_experiment))
        .route("/experiments/get", get(get_experiment))
        .route("/experiments/get-by-name", get(get_experiment_by_name))
        .route("/experiments/search", post(search_experiments).get(search_experiments))
        .route("/experiments/list", get(search_experiments))
        .route("/experiments/update", post(update_experiment))
        .route("/experiments/delete", post(delete_experiment))
        .route("/experiments/restore", post(restore_experiment))
        .route("/experiments/set-experiment-tag", post(set_experiment_tag))
        .route("/experiments/delete-experiment-tag", post(delete_experiment_tag))
        .route("/runs/create", post(create_run))
        .route("/runs/get", get(get_run))
        .route("/runs/update", post(update_run))
        .route("/runs/delete", post(delete_run))
        .route("/runs/restore", post(restore_run))
        .route("/runs/log-metric", post(log_metric))
        .route("/runs/log-parameter", post(log_param))
        .route("/runs/set-tag", post(set_tag))
        .route("/runs/delete-tag", post(delete_tag))
        .route("/runs/log-batch", post(log_batch))
        .route(
            "/runs/log-inputs",
            post(log_inputs).layer(DefaultBodyLimit::max(DATASET_BODY_LIMIT)),
        )
        .route(
            "/runs/outputs",
            post(log_outputs).layer(DefaultBodyLimit::max(DATASET_BODY_LIMIT)),
        )
        .route("/runs/search", post(search_runs).get(search_runs))
        .route("/runs/log-model", post(log_model_legacy))
        .route("/metrics/get-history", get(get_metric_history))
        .route(
            "/metrics/get-history-bulk-interval",
            get(get_metric_history_bulk_interval),
        )
        .route("/artifacts/list", get(artifacts::list_for_run))
        .route("/artifacts/presigned-upload-url", post(artifacts::not_implemented))
        .route("/artifacts/presigned-download-url", post(artifacts::not_implemented))
        .route(
            "/logged-models/{model_id}/artifacts/directories",
            get(artifacts::list_for_logged_model),
        )
        .route("/logged-models", post(logged_models::create))
        .route("/logged-models/search", post(logged_models::search))
        .route(
            "/logged-models/{model_id}",
            get(logged_models::get)
                .patch(logged_models::finalize)
                .delete(logged_models::delete),
        )
        .route(
            "/logged-models/{model_id}/tags",
            axum::routing::patch(logged_models::set_tags),
        )
        .route(
            "/logged-models/{model_id}/tags/{tag_key}",
            axum::routing::delete(logged_models::delete_tag),
        )
        .route("/logged-models/{model_id}/params", post(logged_models::log_params))
        .merge(registry_routes())
}

fn registry_routes() -> Router<AppState> {
    use axum::routing::{delete, patch};
    use registry::*;
    Router::new()
        .route("/registered-models/create", post(create_model))
        .route("/registered-models/get", get(get_model))
        .route("/registered-models/rename", post(rename_model))
        .route("/registered-models/update", patch(update_model))
        .route("/registered-models/delete", delete(delete_model))
        .route("/registered-models/search", get(search_models).post(search_models))
        .route("/registered-models/list", get(search_models))
        .route(
            "/registered-models/get-latest-versions",
            post(get_latest_versions).get(get_latest_versions),
        )
        .route("/registered-models/set-tag", post(set_model_tag))
        .route("/registered-models/delete-tag", delete(delete_model_tag))
        .route(
            "/registered-models/alias",
            post(set_alias).delete(delete_alias).get(get_by_alias),
        )
        .route("/model-versions/create", post(create_version))
        .route("/model-versions/get", get(get_version))
        .route("/model-versions/update", patch(update_version))
        .route("/model-versions/delete", delete(delete_version))
        .route("/model-versions/transition-stage", post(transition_stage))
        .route("/model-versions/search", get(search_versions).post(search_versions))
        .route("/model-versions/get-download-uri", get(download_uri))
        .route("/model-versions/set-tag", post(set_version_tag))
        .route("/model-versions/delete-tag", delete(delete_version_tag))
}

fn artifact_routes() -> Router<AppState> {
    Router::new()
        .route("/artifacts", get(artifacts::list))
        .route(
            "/artifacts/{*path}",
            get(artifacts::download)
                .put(artifacts::upload)
                .delete(artifacts::delete),
        )
        .route("/mpu/create/{*path}", post(artifacts::not_implemented))
        .route("/mpu/complete/{*path}", post(artifacts::not_implemented))
        .route("/mpu/abort/{*path}", post(artifacts::not_implemented))
        .route("/presigned/{*path}", get(artifacts::not_implemented))
        .layer(DefaultBodyLimit::disable())
}

async fn server_info() -> impl IntoResponse {
    axum::Json(json!({
        "store_type": "SqlStore",
        "workspaces_enabled": false,
        "trace_archival_enabled": false,
        "multipart_uploads_enabled": false,
        "multipart_downloads_enabled": false,
        "presigned_upload_run_id_supported": false,
        "presigned_upload_model_id_supported": false,
        "features_enabled": {},
    }))
}

async fn health() -> &'static str {
    "OK"
}

async fn version() -> &'static str {
    MLFLOW_COMPAT_VERSION
}

/// Ready when the metadata store answers and the artifact store can be listed.
async fn ready(State(st): State<AppState>) -> impl IntoResponse {
    let store = tokio::time::timeout(Duration::from_secs(5), st.store.ping()).await;
    let artifacts = tokio::time::timeout(Duration::from_secs(5), st.artifacts.list("")).await;
    let store_ok = matches!(store, Ok(Ok(())));
    let artifacts_ok = matches!(artifacts, Ok(Ok(_)));
    let status = if store_ok && artifacts_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(json!({ "store": store_ok, "artifacts": artifacts_ok })),
    )
}

async fn not_found(req: Request<Body>) -> ApiError {
    ApiError(Error::new(
        ErrorCode::EndpointNotFound,
        format!("No endpoint {} {}", req.method(), req.uri().path()),
    ))
}

/// The whole application, without a listener (tests drive it in-process).
pub fn app(state: AppState) -> Router {
    let mlflow = mlflow_routes();
    let timeout = state.request_timeout;
    // The JSON API: bounded bodies and a handler deadline. Artifact transfers stream (their size
    // is bounded by the artifact limit, their pace by the connection's timeouts).
    let api = Router::new()
        .nest("/api/2.0/mlflow", mlflow.clone())
        .nest("/ajax-api/2.0/mlflow", mlflow)
        .route("/api/3.0/mlflow/server-info", get(server_info))
        .route("/ajax-api/3.0/mlflow/server-info", get(server_info))
        .route("/api/v1/jobs", post(jobs::submit).get(jobs::list))
        .route("/api/v1/jobs/{job_id}", get(jobs::get))
        .route("/api/v1/jobs/{job_id}/cancel", post(jobs::cancel))
        .route("/api/v1/jobs/{job_id}/logs", get(jobs::logs))
        .route("/api/v1/sweeps", post(sweeps::create).get(sweeps::list))
        .route("/api/v1/sweeps/{sweep_id}", get(sweeps::get))
        .route("/api/v1/sweeps/{sweep_id}/cancel", post(sweeps::cancel))
        .merge(session::routes());
    let api = if state.auth.is_some() {
        api.merge(auth::routes())
    } else {
        api
    };
    let api = api
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(timeout, deadline));
    let http = state.http.clone();
    Router::new()
        .merge(api)
        .nest("/api/2.0/mlflow-artifacts", artifact_routes())
        .nest("/ajax-api/2.0/mlflow-artifacts", artifact_routes())
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/ready", get(ready))
        .merge(ui::routes().layer(axum::middleware::from_fn(security::ui_headers)))
        // After routing, so the route template is known; inside the metrics so that 401 and 403
        // are counted by route.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::enforce))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(http, security::guard))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError(Error::internal("handler panicked")).into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<Body>| {
                    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
                    let request_id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let client = req.extensions().get::<crate::http::ClientAddr>().map(|c| c.0);
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        client = client.map(tracing::field::display),
                        path = %req.uri().path(),
                        route = route.as_deref().unwrap_or(""),
                        request_id,
                        // Filled in by the auth middleware once the caller is known.
                        user = tracing::field::Empty,
                    )
                })
                .on_response(
                    |res: &axum::response::Response, latency: Duration, _span: &tracing::Span| {
                        tracing::info!(
                            status = res.status().as_u16(),
                            latency_ms = latency.as_secs_f64() * 1000.0,
                            "response"
                        );
                    },
                ),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// A handler that outlives the deadline (a client trickling its body, say) is answered 408;
/// the work it started is dropped with its future.
async fn deadline(
    State(timeout): State<Duration>,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            axum::Json(json!({
                "error_code": "BAD_REQUEST",
                "message": format!("The request did not complete within {} s", timeout.as_secs()),
            })),
        )
            .into_response(),
    }
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: http::ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = http::bound(&listener), "listening");
    http::serve(listener, app(state), limits, shutdown).await
}

//! Endpoint completeness (lakekeeper's idea): every classic MLflow 3.17.2 tracking, logged-model,
//! registry and artifact route is mounted, under both `/api` and `/ajax-api`. A route that is
//! missing answers 404 ENDPOINT_NOT_FOUND (or 405), which this test refuses; what a route answers
//! to an empty request is the other tests' business.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use mlp_server::{AppState, app};
use tower::ServiceExt;

/// (method, path below /api/2.0) for the ~66 classic endpoints of `mlflow-api-all-endpoints.txt`.
const ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/mlflow/experiments/get-by-name"),
    ("POST", "/mlflow/experiments/create"),
    ("POST", "/mlflow/experiments/search"),
    ("GET", "/mlflow/experiments/search"),
    ("GET", "/mlflow/experiments/get"),
    ("POST", "/mlflow/experiments/delete"),
    ("POST", "/mlflow/experiments/restore"),
    ("POST", "/mlflow/experiments/update"),
    ("POST", "/mlflow/experiments/set-experiment-tag"),
    ("POST", "/mlflow/experiments/delete-experiment-tag"),
    ("POST", "/mlflow/runs/create"),
    ("POST", "/mlflow/runs/update"),
    ("POST", "/mlflow/runs/delete"),
    ("POST", "/mlflow/runs/restore"),
    ("POST", "/mlflow/runs/log-metric"),
    ("POST", "/mlflow/runs/log-parameter"),
    ("POST", "/mlflow/runs/set-tag"),
    ("POST", "/mlflow/runs/delete-tag"),
    ("GET", "/mlflow/runs/get"),
    ("POST", "/mlflow/runs/search"),
    ("POST", "/mlflow/runs/log-batch"),
    ("POST", "/mlflow/runs/log-model"),
    ("POST", "/mlflow/runs/log-inputs"),
    ("POST", "/mlflow/runs/outputs"),
    ("GET", "/mlflow/artifacts/list"),
    ("POST", "/mlflow/artifacts/presigned-upload-url"),
    ("POST", "/mlflow/artifacts/presigned-download-url"),
    ("GET", "/mlflow/metrics/get-history"),
    ("GET", "/mlflow/metrics/get-history-bulk-interval"),
    ("POST", "/mlflow/logged-models"),
    ("PATCH", "/mlflow/logged-models/m-0"),
    ("GET", "/mlflow/logged-models/m-0"),
    ("DELETE", "/mlflow/logged-models/m-0"),
    ("POST", "/mlflow/logged-models/search"),
    ("PATCH", "/mlflow/logged-models/m-0/tags"),
    ("DELETE", "/mlflow/logged-models/m-0/tags/k"),
    ("GET", "/mlflow/logged-models/m-0/artifacts/directories"),
    ("POST", "/mlflow/logged-models/m-0/params"),
    ("POST", "/mlflow/registered-models/create"),
    ("POST", "/mlflow/registered-models/rename"),
    ("PATCH", "/mlflow/registered-models/update"),
    ("DELETE", "/mlflow/registered-models/delete"),
    ("GET", "/mlflow/registered-models/get"),
    ("GET", "/mlflow/registered-models/search"),
    ("POST", "/mlflow/registered-models/get-latest-versions"),
    ("GET", "/mlflow/registered-models/get-latest-versions"),
    ("POST", "/mlflow/model-versions/create"),
    ("PATCH", "/mlflow/model-versions/update"),
    ("POST", "/mlflow/model-versions/transition-stage"),
    ("DELETE", "/mlflow/model-versions/delete"),
    ("GET", "/mlflow/model-versions/get"),
    ("GET", "/mlflow/model-versions/search"),
    ("GET", "/mlflow/model-versions/get-download-uri"),
    ("POST", "/mlflow/registered-models/set-tag"),
    ("POST", "/mlflow/model-versions/set-tag"),
    ("DELETE", "/mlflow/registered-models/delete-tag"),
    ("DELETE", "/mlflow/model-versions/delete-tag"),
    ("POST", "/mlflow/registered-models/alias"),
    ("DELETE", "/mlflow/registered-models/alias"),
    ("GET", "/mlflow/registered-models/alias"),
    ("GET", "/mlflow-artifacts/artifacts/0/x"),
    ("PUT", "/mlflow-artifacts/artifacts/0/x"),
    ("GET", "/mlflow-artifacts/artifacts"),
    ("DELETE", "/mlflow-artifacts/artifacts/0/x"),
    ("POST", "/mlflow-artifacts/mpu/create/0/x"),
    ("POST", "/mlflow-artifacts/mpu/complete/0/x"),
    ("POST", "/mlflow-artifacts/mpu/abort/0/x"),
    ("GET", "/mlflow-artifacts/presigned/0/x"),
];

#[tokio::test]
async fn every_classic_endpoint_is_mounted() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let store = Arc::new(
        mlp_store_sqlite::SqliteStore::open(&url, "mlflow-artifacts:")
            .await
            .unwrap(),
    );
    let artifacts = Arc::new(mlp_artifacts::LocalArtifactStore::new(dir.path().join("a")).unwrap());
    let app = app(AppState {
        store: store.clone(),
        registry: store,
        artifacts,
        jobs: None,
        max_artifact_bytes: 5 << 30,
    });
    let mut missing = Vec::new();
    for prefix in ["/api/2.0", "/ajax-api/2.0"] {
        for (method, path) in ENDPOINTS {
            let req = Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(format!("{prefix}{path}"))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let resp = app.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
            let text = String::from_utf8_lossy(&body);
            if status == StatusCode::METHOD_NOT_ALLOWED || text.contains("ENDPOINT_NOT_FOUND") {
                missing.push(format!("{method} {prefix}{path} -> {status}"));
            }
            assert!(
                status.as_u16() < 500 || status == StatusCode::NOT_IMPLEMENTED,
                "{method} {path}: {status} {text}"
            );
        }
    }
    assert!(missing.is_empty(), "endpoints not mounted:\n{}", missing.join("\n"));
    assert_eq!(ENDPOINTS.len(), 68);
}

#[tokio::test]
async fn unknown_routes_are_endpoint_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let store = Arc::new(
        mlp_store_sqlite::SqliteStore::open(&url, "mlflow-artifacts:")
            .await
            .unwrap(),
    );
    let artifacts = Arc::new(mlp_artifacts::LocalArtifactStore::new(dir.path().join("a")).unwrap());
    let app = app(AppState {
        store: store.clone(),
        registry: store,
        artifacts,
        jobs: None,
        max_artifact_bytes: 5 << 30,
    });
    let resp = app
        .oneshot(
            Request::builder()
                .uri("/api/2.0/mlflow/nope")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("ENDPOINT_NOT_FOUND"));
}

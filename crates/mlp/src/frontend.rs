//! `mlp ui`: the frontend Deployment of the Kubernetes layout. It serves the same embedded UI
//! as `mlp server` and forwards every API call to the backend Service, so the browser talks to
//! one origin and the network policies see frontend → backend on 8000 only.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::TryStreamExt;

#[derive(Clone)]
struct Backend {
    http: reqwest::Client,
    base: String,
}

/// Hop-by-hop headers are not forwarded (RFC 9110 §7.6.1).
fn forwardable(name: &header::HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection" | "keep-alive" | "proxy-connection" | "te" | "trailer" | "transfer-encoding" | "upgrade" | "host"
            // Checked by this process's guard; the backend must see a same-origin call.
            | "origin" | "referer" | "sec-fetch-site" | "sec-fetch-mode" | "sec-fetch-dest"
    )
}

async fn forward(State(b): State<Backend>, req: Request) -> Response {
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if !(path.starts_with("/api/") || path.starts_with("/ajax-api/")) {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let url = format!("{}{path}", b.base);
    let method = req.method().clone();
    let mut headers = HeaderMap::new();
    for (k, v) in req.headers() {
        if forwardable(k) {
            headers.insert(k.clone(), v.clone());
        }
    }
    let body = reqwest::Body::wrap_stream(req.into_body().into_data_stream());
    match b.http.request(method, &url).headers(headers).body(body).send().await {
        Ok(resp) => {
            let mut out = Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                if forwardable(k) {
                    out = out.header(k, v);
                }
            }
            let stream = resp.bytes_stream().map_err(std::io::Error::other);
            out.body(Body::from_stream(stream))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(e) => {
            tracing::warn!(error = %e, url, "backend unreachable");
            (
                StatusCode::BAD_GATEWAY,
                axum::Json(serde_json::json!({
                    "error_code": "TEMPORARILY_UNAVAILABLE",
                    "message": "The backend is unreachable from the frontend",
                })),
            )
                .into_response()
        }
    }
}

pub async fn serve(
    addr: String,
    backend_url: String,
    policy: mlp_server::security::HttpPolicy,
    limits: mlp_server::http::ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let backend = Backend {
        http: reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?,
        base: backend_url.trim_end_matches('/').to_string(),
    };
    // The browser-facing rules are enforced here, at the edge the browser talks to; the backend
    // then sees a same-origin call from this process.
    let app = Router::new()
        .merge(mlp_server::ui::routes().layer(axum::middleware::from_fn(mlp_server::security::ui_headers)))
        .route("/health", get(|| async { "OK" }))
        .fallback(forward)
        .with_state(backend)
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(policy),
            mlp_server::security::guard,
        ));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!(addr, backend = backend_url, "frontend listening");
    mlp_server::http::serve(listener, app, limits, shutdown).await?;
    Ok(())
}

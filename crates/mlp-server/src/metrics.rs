//! Request metrics, labelled by route template (never the raw path, so cardinality stays
//! bounded): rate, errors and latency per route and status, and requests in flight.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// 401 and 403 answers by route template (`crate::auth::zero_denied_counters` registers them).
pub const DENIED: &str = "mlp_auth_denied_total";

pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let in_flight = metrics::gauge!("mlp_http_requests_in_flight");
    in_flight.increment(1.0);
    let start = Instant::now();
    let resp = next.run(req).await;
    in_flight.decrement(1.0);
    let status = resp.status().as_u16().to_string();
    if matches!(resp.status().as_u16(), 401 | 403) {
        // Refusals by route: a spike on one route is an attack or a broken client's credentials.
        metrics::counter!(DENIED, "route" => route.clone(), "status" => status.clone()).increment(1);
    }
    metrics::counter!("mlp_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("mlp_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}

//! Prometheus metrics on their own port (never through the ingress): the recorder every crate
//! reports to through the `metrics` facade, and gauges read from the stores at scrape time.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use mlp_core::jobs::{JobKind, JobState, JobStore};
use mlp_core::store::TrackingStore;
use mlp_jobs::Queue;

/// Buckets for request latencies (seconds) and for job timings (seconds).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const JOB_BUCKETS: &[f64] = &[
    0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0, 86400.0,
];

pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".into()), LATENCY_BUCKETS)?
        .set_buckets_for_metric(Matcher::Prefix("mlp_job_".into()), JOB_BUCKETS)?
        .install_recorder()?;
    metrics::gauge!("mlp_build_info", "version" => env!("CARGO_PKG_VERSION"), "mlflow_compat" => mlp_server::MLFLOW_COMPAT_VERSION)
        .set(1.0);
    zero_counters();
    Ok(handle)
}

/// Counters the dashboards and alerts read, registered at 0 at start-up: a counter that appears
/// only on its first increment shows "No data" until then, and `rate()`/`increase()` lose that
/// first increment (there is no earlier sample to compare with).
pub const ZEROED_COUNTERS: &[(&str, &[(&str, &str)])] = &[
    ("mlp_runs_created_total", &[]),
    ("mlp_metrics_logged_total", &[]),
    ("mlp_registered_models_created_total", &[]),
    ("mlp_model_versions_created_total", &[]),
    ("mlp_artifact_bytes_total", &[("direction", "in")]),
    ("mlp_artifact_bytes_total", &[("direction", "out")]),
];

fn zero_counters() {
    for (name, labels) in ZEROED_COUNTERS {
        let labels: Vec<metrics::Label> = labels.iter().map(|(k, v)| metrics::Label::new(*k, *v)).collect();
        metrics::counter!(*name, labels).increment(0);
    }
    for kind in [JobKind::Training, JobKind::DataProcessing] {
        for name in ["mlp_jobs_submitted_total", "mlp_job_attempts_total"] {
            metrics::counter!(name, "kind" => kind.as_str()).increment(0);
        }
    }
}

/// What the scrape reads besides the recorded metrics.
#[derive(Clone)]
pub struct Sources {
    pub handle: PrometheusHandle,
    pub tracking: Arc<dyn TrackingStore>,
    pub jobs: Arc<dyn JobStore>,
    pub queue: Arc<dyn Queue>,
    pub artifacts: Arc<dyn mlp_artifacts::ArtifactStore>,
    /// Open and idle connections of the metadata store's pool.
    pub pool_stats: Arc<dyn Fn() -> (u32, usize) + Send + Sync>,
    /// `server` or `worker`, as the `component` label of `mlp_up`.
    pub component: &'static str,
}

async fn scrape(State(src): State<Sources>) -> String {
    let up = matches!(
        tokio::time::timeout(Duration::from_secs(2), src.tracking.ping()).await,
        Ok(Ok(()))
    );
    metrics::gauge!("mlp_store_up").set(if up { 1.0 } else { 0.0 });
    if let Ok(Ok(counts)) = tokio::time::timeout(Duration::from_secs(2), src.jobs.count_jobs()).await {
        // Every combination, so a state that empties drops to 0 rather than going stale.
        for kind in [JobKind::Training, JobKind::DataProcessing] {
            for state in JobState::ALL {
                let n = counts
                    .iter()
                    .find(|(k, s, _)| *k == kind && *s == state)
                    .map(|c| c.2)
                    .unwrap_or(0);
                metrics::gauge!("mlp_jobs", "kind" => kind.as_str(), "state" => state.as_str()).set(n as f64);
            }
        }
    }
    let queue = tokio::time::timeout(Duration::from_secs(2), src.queue.depth()).await;
    if let Ok(Ok(depth)) = queue {
        metrics::gauge!("mlp_job_queue_depth").set(depth as f64);
    }
    // The job queue (Redis where configured) and the artifact store: the dependencies besides the
    // metadata store that /ready and the jobs need.
    metrics::gauge!("mlp_queue_up").set(if matches!(queue, Ok(Ok(_))) { 1.0 } else { 0.0 });
    let artifacts = tokio::time::timeout(Duration::from_secs(2), src.artifacts.list("")).await;
    metrics::gauge!("mlp_artifact_store_up").set(if matches!(artifacts, Ok(Ok(_))) { 1.0 } else { 0.0 });
    let (open, idle) = (src.pool_stats)();
    let idle = (idle as f64).min(open as f64);
    metrics::gauge!("mlp_store_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("mlp_store_pool_connections", "state" => "in_use").set(open as f64 - idle);
    metrics::gauge!("mlp_up", "component" => src.component).set(1.0);
    src.handle.render()
}

/// Serves `/metrics` on `addr` in the background. A port that cannot be bound is logged, not
/// fatal: the API keeps serving.
pub async fn serve(addr: String, sources: Sources) {
    let app = Router::new().route("/metrics", get(scrape)).with_state(sources);
    match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => {
            tracing::info!(addr, "metrics listening");
            tokio::spawn(async move {
                let limits = mlp_server::http::ConnLimits {
                    max_connections: 64,
                    ..Default::default()
                };
                if let Err(e) = mlp_server::http::serve(listener, app, limits, std::future::pending()).await {
                    tracing::error!(error = %e, "metrics server stopped");
                }
            });
        }
        Err(e) => tracing::error!(addr, error = %e, "cannot listen for metrics; /metrics is not served"),
    }
}

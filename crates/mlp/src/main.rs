//! `mlp`: the ML platform in one binary. `mlp server` runs the tracking server and registry.

mod config;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{Config, redact_url};
use mlp_artifacts::LocalArtifactStore;
use mlp_server::AppState;
use mlp_store_sqlite::SqliteStore;

#[derive(Parser)]
#[command(
    name = "mlp",
    version,
    about = "The ML platform: tracking server, model registry, jobs and infrastructure tooling"
)]
struct Cli {
    /// A TOML configuration file (also MLP_CONFIG).
    #[arg(long, global = true, env = "MLP_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the MLflow-compatible tracking server and model registry.
    Server {
        /// Address to listen on (default 0.0.0.0, or MLP__SERVER__HOST).
        #[arg(long)]
        host: Option<String>,
        /// Port to listen on (default 8000, or MLP__SERVER__PORT).
        #[arg(long)]
        port: Option<u16>,
        /// Folder for embedded storage (default ./mlp-data, or MLP__DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Apply database migrations and exit (a deploy step).
    Migrate {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cfg.log.format == "text" {
        builder.init();
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init();
    }
}

async fn open_store(cfg: &Config) -> anyhow::Result<SqliteStore> {
    let url = cfg.database_url();
    if !url.starts_with("sqlite:") && url.contains("://") {
        anyhow::bail!(
            "unsupported database URL '{}': expected sqlite://PATH",
            redact_url(&url)
        );
    }
    SqliteStore::open(&url, "mlflow-artifacts:")
        .await
        .with_context(|| format!("cannot open the metadata store at {}", redact_url(&url)))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut cfg = Config::load(cli.config.as_ref())?;
    match cli.command {
        Command::Server { host, port, data_dir } => {
            if let Some(h) = host {
                cfg.server.host = h;
            }
            if let Some(p) = port {
                cfg.server.port = p;
            }
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            init_logging(&cfg);
            tracing::info!(config = ?cfg, "starting mlp server");
            let store = open_store(&cfg).await?;
            let artifacts = LocalArtifactStore::new(cfg.artifact_root())?;
            let store = Arc::new(store);
            let state = AppState {
                store: store.clone(),
                registry: store,
                artifacts: Arc::new(artifacts),
            };
            let addr = format!("{}:{}", cfg.server.host, cfg.server.port);
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            mlp_server::serve(listener, state, shutdown_signal()).await?;
        }
        Command::Migrate { data_dir } => {
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            init_logging(&cfg);
            open_store(&cfg).await?;
            tracing::info!("migrations applied");
        }
    }
    Ok(())
}

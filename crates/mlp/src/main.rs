//! `mlp`: the ML platform in one binary. `mlp server` runs the tracking server and registry.

mod config;
mod frontend;
mod jobs;
mod logging;
mod stores;
mod sweeps;
mod telemetry;
mod users;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::Config;
use mlp_server::AppState;

/// One example per command, shown by `mlp` alone and `mlp --help`.
const EXAMPLES: &str = "\
Examples:
  mlp server                                  start on http://127.0.0.1:8000, data in ./mlp-data
  mlp ui --backend-url http://mlp:8000        serve the web UI alone, forwarding API calls
  mlp worker                                  run queued jobs, without the API
  mlp job submit --wait -- python train.py    run a job here, following its state and output
  mlp sweep submit --file examples/sweep_sklearn.yaml --wait   a hyperparameter sweep
  mlp infra check                             check the Terraform and Kubernetes files
  mlp migrate                                 apply database migrations and exit
  mlp completions bash > ~/.local/share/bash-completion/completions/mlp
";

#[derive(Parser)]
#[command(
    name = "mlp",
    version,
    about = "The ML platform: tracking server, model registry, jobs and infrastructure tooling",
    arg_required_else_help = true,
    after_help = EXAMPLES
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
        /// Address to listen on (default 127.0.0.1, or MLP__SERVER__HOST).
        #[arg(long)]
        host: Option<String>,
        /// Port to listen on (default 8000, or MLP__SERVER__PORT).
        #[arg(long)]
        port: Option<u16>,
        /// Folder for embedded storage (default ./mlp-data, or MLP__DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Listen on a non-loopback address although the API has no authentication: anyone who
        /// reaches it can read and change every experiment and model, and run commands through
        /// the jobs API. Only behind your own access control (a network policy, an
        /// authenticating proxy). Also MLP__SERVER__UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK=true.
        #[arg(long)]
        unsafe_allow_unauthenticated_network: bool,
    },
    /// Serve the web UI alone, forwarding API calls to a backend (the Kubernetes frontend).
    Ui {
        /// Address to listen on (default 127.0.0.1, or MLP__SERVER__HOST).
        #[arg(long)]
        host: Option<String>,
        /// Port to listen on (default 8080, or MLP__UI__PORT).
        #[arg(long)]
        port: Option<u16>,
        /// As for `mlp server`: the UI forwards every API call to the backend.
        #[arg(long)]
        unsafe_allow_unauthenticated_network: bool,
        /// The backend's URL (default http://127.0.0.1:8000, or MLP__UI__BACKEND_URL).
        #[arg(long)]
        backend_url: Option<String>,
    },
    /// Run a job worker (without the API server): takes jobs from the queue and runs them.
    Worker {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Submit, list, follow and cancel jobs on a running server.
    Job(jobs::JobArgs),
    /// Create, list, follow and cancel hyperparameter sweeps on a running server.
    Sweep(sweeps::SweepArgs),
    /// Manage users on a server with authentication on (admins; set-password also for oneself).
    User(users::UserArgs),
    /// Create, list and revoke your personal access tokens.
    Token(users::TokenArgs),
    /// Check, report and deploy the infrastructure (Terraform + Kubernetes).
    Infra(mlp_infra::cli::InfraArgs),
    /// Apply database migrations and exit (a deploy step): the database of MLP__DATABASE__URL or
    /// DATABASE_URL (SQLite or PostgreSQL), or the SQLite file in the data directory.
    Migrate {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell) to stdout.
    Completions { shell: clap_complete::Shell },
}

/// The artifact store of `artifacts.root`: a local directory or `s3://bucket/prefix`. Opening
/// does not contact a remote store, so the server starts (and serves metadata) while it is down.
fn open_artifacts(cfg: &Config) -> anyhow::Result<Arc<dyn mlp_artifacts::ArtifactStore>> {
    let root = cfg.artifact_root_uri();
    let store = mlp_artifacts::open(&root, &cfg.artifacts.s3)
        .map_err(|e| anyhow::anyhow!("cannot open the artifact store {root}: {}", e.message))?;
    tracing::info!(artifacts = %store.describe(), "artifact store");
    Ok(store)
}

/// `/metrics` on `metrics.port` (0 disables it).
async fn start_metrics(
    cfg: &Config,
    stores: &stores::Stores,
    jobs: &mlp_jobs::JobService,
    artifacts: &Arc<dyn mlp_artifacts::ArtifactStore>,
    component: &'static str,
) -> anyhow::Result<()> {
    if cfg.metrics.port == 0 {
        return Ok(());
    }
    let handle = telemetry::install()?;
    let host = cfg.metrics.host.clone().unwrap_or_else(|| cfg.server.host.clone());
    let sources = telemetry::Sources {
        handle,
        tracking: stores.tracking.clone(),
        jobs: stores.jobs.clone(),
        queue: jobs.queue.clone(),
        artifacts: artifacts.clone(),
        pool_stats: stores.pool_stats.clone(),
        component,
    };
    telemetry::serve(format!("{host}:{}", cfg.metrics.port), sources).await;
    Ok(())
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

/// Whether `host` can only be reached from this machine.
pub(crate) fn is_loopback(host: &str) -> bool {
    let h = host.trim_matches(['[', ']']);
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses to expose the unauthenticated API beyond this machine unless explicitly told to.
/// Users and permissions: the admin is created at first start, and the server refuses to start
/// with auth on and no way to log in.
async fn open_auth(cfg: &Config, stores: &stores::Stores) -> anyhow::Result<Arc<mlp_server::auth::Auth>> {
    let default = mlp_core::auth::Permission::parse(&cfg.auth.default_permission.to_ascii_uppercase())
        .map_err(|e| anyhow::anyhow!("MLP__AUTH__DEFAULT_PERMISSION: {}", e.message))?;
    let mut auth = mlp_server::auth::Auth::new(stores.auth.clone(), default);
    mlp_server::auth::zero_denied_counters();
    if let Some(settings) = cfg.auth.oidc.settings()? {
        tracing::info!(issuer = %settings.issuer, audience = %settings.audience, "OIDC single sign-on on");
        auth.oidc = Some(
            mlp_server::oidc::Oidc::start(settings)
                .await
                .map_err(|e| anyhow::anyhow!(e))?,
        );
    }
    let password = cfg.auth.admin_password()?;
    auth.bootstrap_admin(&cfg.auth.admin_username, password.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Ok(Arc::new(auth))
}

fn check_exposure(cfg: &Config) -> anyhow::Result<()> {
    // With auth on every API call names its caller, which is what the refusal below protects.
    if is_loopback(&cfg.server.host) || cfg.auth.enabled {
        return Ok(());
    }
    if cfg.server.unsafe_allow_unauthenticated_network {
        tracing::warn!(
            host = cfg.server.host,
            "listening on a network address WITHOUT AUTHENTICATION: anyone who reaches it can read and change all data and run commands through the jobs API"
        );
        return Ok(());
    }
    anyhow::bail!(
        "refusing to listen on {}: authentication is off (MLP__AUTH__ENABLED), so anyone who can reach this address could read and change every experiment and model and run commands as this user through the jobs API. \
         Turn authentication on, listen on 127.0.0.1 (the default), or, only behind your own access control (a network policy, an authenticating proxy), pass --unsafe-allow-unauthenticated-network (MLP__SERVER__UNSAFE_ALLOW_UNAUTHENTICATED_NETWORK=true)",
        cfg.server.host
    )
}

/// The Host and CORS rules of the configuration.
fn http_policy(cfg: &Config) -> mlp_server::security::HttpPolicy {
    let allowed_hosts = if cfg.server.allowed_hosts.is_empty() {
        mlp_server::security::default_hosts(Some(&cfg.server.host))
    } else {
        cfg.server.allowed_hosts.clone()
    };
    mlp_server::security::HttpPolicy {
        allowed_hosts,
        cors_allowed_origins: cfg.server.cors_allowed_origins.clone(),
    }
}

/// The locations this server owns: its artifact root (a directory or a bucket).
fn storage_policy(cfg: &Config, http: &mlp_server::security::HttpPolicy) -> mlp_core::storage_uri::StoragePolicy {
    let root = cfg.artifact_root_uri();
    let mut policy = mlp_core::storage_uri::StoragePolicy {
        hosts: http.allowed_hosts.clone(),
        ..Default::default()
    };
    if let Some(rest) = root.strip_prefix("s3://") {
        policy.s3_buckets.push(rest.split('/').next().unwrap_or("").to_string());
    } else {
        let path = root.strip_prefix("file://").unwrap_or(&root);
        let abs = std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path));
        policy.local_root = Some(abs.display().to_string());
    }
    policy
}

fn conn_limits(cfg: &Config) -> anyhow::Result<mlp_server::http::ConnLimits> {
    Ok(mlp_server::http::ConnLimits {
        max_connections: cfg.server.max_connections.max(1),
        header_read_timeout: std::time::Duration::from_secs(cfg.server.header_read_timeout_secs.max(1)),
        trusted_proxies: mlp_server::http::parse_trusted_proxies(&cfg.server.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("server.trusted_proxies (MLP__SERVER__TRUSTED_PROXIES): {e}"))?,
        ..Default::default()
    })
}

/// Errors are printed as one readable message (with their causes), never as a backtrace.
/// A reader that stops early (`mlp infra rules | head -1`) closes the pipe; Rust ignores SIGPIPE,
/// so the next `println!` fails with EPIPE and panics. End quietly instead, with the status a
/// tool killed by SIGPIPE reports (128 + 13), as `cat` or `grep` would.
fn quiet_on_broken_pipe() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("");
        // println! ("failed printing to stdout: Broken pipe (os error 32)") and writers that
        // expect() their writes (clap_complete: `… kind: BrokenPipe, message: "Broken pipe" }`)
        // both carry the io::Error's text.
        if msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default_hook(info)
    }));
}

fn main() -> std::process::ExitCode {
    quiet_on_broken_pipe();
    // The one TLS provider in the build (reqwest, object_store, sqlx): install it before any client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Completions { shell } = cli.command {
        use clap::CommandFactory;
        clap_complete::generate(shell, &mut Cli::command(), "mlp", &mut std::io::stdout());
        return Ok(());
    }
    let mut cfg = Config::load(cli.config.as_ref())?;
    match cli.command {
        Command::Infra(args) => std::process::exit(mlp_infra::cli::run(args)),
        Command::Server {
            host,
            port,
            data_dir,
            unsafe_allow_unauthenticated_network,
        } => {
            if let Some(h) = host {
                cfg.server.host = h;
            }
            if let Some(p) = port {
                cfg.server.port = p;
            }
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            cfg.server.unsafe_allow_unauthenticated_network |= unsafe_allow_unauthenticated_network;
            let log_format = logging::init(&cfg)?;
            check_exposure(&cfg)?;
            mlp_server::http::raise_fd_limit();
            logging::log_config(&cfg, log_format, "server");
            let stores = stores::open_stores(&cfg).await?;
            let artifacts: Arc<dyn mlp_artifacts::ArtifactStore> = open_artifacts(&cfg)?;
            let artifacts_described = artifacts.describe();
            let job_service = jobs::job_service(&cfg, &stores, artifacts.clone(), true).await?;
            start_metrics(&cfg, &stores, &job_service, &artifacts, "server").await?;
            let mut state = AppState::new(
                stores.tracking.clone(),
                stores.registry.clone(),
                artifacts,
                Some(job_service.clone()),
            );
            let sweep_service = jobs::sweep_service(&job_service, &stores);
            state.sweeps = Some(sweep_service.clone());
            state.http = Arc::new(http_policy(&cfg));
            state.storage = Arc::new(storage_policy(&cfg, &state.http));
            state.request_timeout = std::time::Duration::from_secs(cfg.server.request_timeout_secs.max(1));
            state.max_artifact_bytes = cfg.artifacts.max_upload_bytes;
            if !cfg.auth.enabled && cfg.auth.oidc.settings()?.is_some() {
                // Single sign-on configured on a server that checks no credentials at all: the
                // operator meant auth on, and would otherwise run an open server believing it
                // is behind the identity provider.
                anyhow::bail!(
                    "auth.oidc is configured but authentication is off: set auth.enabled (MLP__AUTH__ENABLED=true), or remove the auth.oidc settings"
                );
            }
            if cfg.auth.enabled {
                state.auth = Some(open_auth(&cfg, &stores).await?);
                state.session = mlp_server::session::Settings {
                    ttl: std::time::Duration::from_secs(cfg.auth.session_hours.max(1) * 3600),
                    secure_cookie: cfg.auth.session_cookie_secure,
                };
            }
            let limits = conn_limits(&cfg)?;
            let addr = format!("{}:{}", cfg.server.host, cfg.server.port);
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let bound_port = listener.local_addr().map(|a| a.port()).unwrap_or(cfg.server.port);
            logging::Banner::new(&cfg, bound_port, artifacts_described).show(log_format);
            let stop = tokio_util::sync::CancellationToken::new();
            // The embedded default runs a worker in the server, so jobs run with nothing else started.
            let worker = if cfg.worker.embedded {
                Some(jobs::spawn_worker(
                    jobs::worker(&cfg, job_service, &stores)?,
                    stop.clone(),
                ))
            } else {
                None
            };
            // Drives sweeps whatever runs the jobs: it only reads and writes the stores; a lease
            // keeps this and other replicas or workers from driving one sweep at once.
            let controller = jobs::spawn_sweep_controller(&cfg, sweep_service, stop.clone());
            let stopping = stop.clone();
            mlp_server::serve(listener, state, limits, async move {
                shutdown_signal().await;
                stopping.cancel();
            })
            .await?;
            stop.cancel();
            if let Some(w) = worker {
                let _ = w.await;
            }
            let _ = controller.await;
        }
        Command::Worker { data_dir } => {
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            let log_format = logging::init(&cfg)?;
            logging::log_config(&cfg, log_format, "worker");
            let stores = stores::open_stores(&cfg).await?;
            let artifacts: Arc<dyn mlp_artifacts::ArtifactStore> = open_artifacts(&cfg)?;
            let service = jobs::job_service(&cfg, &stores, artifacts.clone(), false).await?;
            start_metrics(&cfg, &stores, &service, &artifacts, "worker").await?;
            let stop = tokio_util::sync::CancellationToken::new();
            let sweeps = jobs::sweep_service(&service, &stores);
            let handle = jobs::spawn_worker(jobs::worker(&cfg, service, &stores)?, stop.clone());
            let controller = jobs::spawn_sweep_controller(&cfg, sweeps, stop.clone());
            shutdown_signal().await;
            stop.cancel();
            let _ = handle.await;
            let _ = controller.await;
        }
        Command::Job(args) => jobs::run(args).await?,
        Command::Sweep(args) => sweeps::run(args).await?,
        Command::User(args) => users::run_user(args).await?,
        Command::Token(args) => users::run_token(args).await?,
        Command::Ui {
            host,
            port,
            backend_url,
            unsafe_allow_unauthenticated_network,
        } => {
            if let Some(h) = host {
                cfg.server.host = h;
            }
            cfg.server.unsafe_allow_unauthenticated_network |= unsafe_allow_unauthenticated_network;
            logging::init(&cfg)?;
            check_exposure(&cfg)?;
            let port = port.unwrap_or(cfg.ui.port);
            let backend = backend_url.unwrap_or_else(|| cfg.ui.backend_url.clone());
            frontend::serve(
                format!("{}:{port}", cfg.server.host),
                backend,
                http_policy(&cfg),
                conn_limits(&cfg)?,
                shutdown_signal(),
            )
            .await?;
        }
        Command::Completions { .. } => unreachable!("handled before the configuration is read"),
        Command::Migrate { data_dir } => {
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            logging::init(&cfg)?;
            stores::open_stores(&cfg).await?;
            tracing::info!("migrations applied");
        }
    }
    Ok(())
}

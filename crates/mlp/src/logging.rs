//! Logs and the start-up banner. A person at a terminal gets text and a banner saying where to
//! open the UI; a log collector (stderr piped) gets one JSON object per line. The configuration
//! is logged as fields with secrets redacted, never as a `Debug` dump.

use std::io::IsTerminal;

use crate::config::{Config, redact_url};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// `log.format`: `auto` (text on a terminal, JSON otherwise), `text` or `json`.
pub fn resolve_format(setting: &str, stderr_is_terminal: bool) -> anyhow::Result<LogFormat> {
    match setting.trim().to_ascii_lowercase().as_str() {
        "" | "auto" => Ok(if stderr_is_terminal {
            LogFormat::Text
        } else {
            LogFormat::Json
        }),
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => anyhow::bail!("MLP__LOG__FORMAT: '{other}' is not one of auto, text, json"),
    }
}

pub fn init(cfg: &Config) -> anyhow::Result<LogFormat> {
    use tracing_subscriber::EnvFilter;
    let terminal = std::io::stderr().is_terminal();
    let format = resolve_format(&cfg.log.format, terminal)?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // Colours only for a person; `text` forced into a file stays plain.
        LogFormat::Text => builder.with_ansi(terminal).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    Ok(format)
}

fn list_or(v: &[String], empty: &str) -> String {
    if v.is_empty() { empty.to_string() } else { v.join(",") }
}

fn set_or_unset<T>(v: &Option<T>) -> &'static str {
    if v.is_some() { "set" } else { "unset" }
}

/// The effective configuration, one field per setting. Secrets appear only as `set`/`unset`, URLs
/// are redacted. At debug level on a terminal (the banner says what matters there).
pub fn log_config(cfg: &Config, format: LogFormat, component: &'static str) {
    let redis = cfg
        .redis
        .url
        .as_deref()
        .filter(|u| !u.is_empty())
        .map(redact_url)
        .unwrap_or_else(|| "off".into());
    let metrics = if cfg.metrics.port == 0 {
        "off".to_string()
    } else {
        format!("{}:{}", metrics_host(cfg), cfg.metrics.port)
    };
    let admin_password = if cfg.auth.admin_password.is_some() || cfg.auth.admin_password_file.is_some() {
        "set"
    } else {
        "unset"
    };
    macro_rules! config_event {
        ($level:expr) => {
            tracing::event!(
                $level,
                component,
                data_dir = %cfg.data_dir.display(),
                server.host = %cfg.server.host,
                server.port = cfg.server.port,
                server.allowed_hosts = %list_or(&cfg.server.allowed_hosts, "default"),
                server.cors_allowed_origins = %list_or(&cfg.server.cors_allowed_origins, "none"),
                server.max_connections = cfg.server.max_connections,
                server.request_timeout_secs = cfg.server.request_timeout_secs,
                database.url = %redact_url(&cfg.database_url()),
                database.password_file = set_or_unset(&cfg.database.password_file),
                database.max_connections = cfg.database.max_connections,
                artifacts.root = %redact_url(&cfg.artifact_root_uri()),
                artifacts.max_upload_bytes = cfg.artifacts.max_upload_bytes,
                redis.url = %redis,
                worker.embedded = cfg.worker.embedded,
                worker.executor = %cfg.worker.executor,
                worker.max_concurrent = cfg.worker.max_concurrent,
                metrics = %metrics,
                auth.enabled = cfg.auth.enabled,
                auth.admin_username = %cfg.auth.admin_username,
                auth.admin_password = admin_password,
                auth.default_permission = %cfg.auth.default_permission,
                log.level = %cfg.log.level,
                "configuration"
            )
        };
    }
    match format {
        LogFormat::Text => config_event!(tracing::Level::DEBUG),
        LogFormat::Json => config_event!(tracing::Level::INFO),
    }
}

fn metrics_host(cfg: &Config) -> String {
    cfg.metrics.host.clone().unwrap_or_else(|| cfg.server.host.clone())
}

/// The address a person can type into a browser: a wildcard bind is reached through loopback
/// here, and an IPv6 address needs brackets.
pub fn browsable(host: &str, port: u16) -> String {
    let h = host.trim_matches(['[', ']']);
    let h = match h.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        Ok(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
        _ => h.to_string(),
    };
    format!("http://{h}:{port}")
}

/// What `mlp server` tells the person who started it.
pub struct Banner {
    pub url: String,
    pub listen: String,
    pub metrics: String,
    pub database: String,
    pub artifacts: String,
    pub jobs: String,
    pub auth: String,
}

impl Banner {
    pub fn new(cfg: &Config, bound_port: u16, artifacts: String) -> Banner {
        let url = browsable(&cfg.server.host, bound_port);
        let metrics = if cfg.metrics.port == 0 {
            "off".to_string()
        } else {
            format!("{}/metrics", browsable(&metrics_host(cfg), cfg.metrics.port))
        };
        let dispatch = match cfg.redis.url.as_deref().filter(|u| !u.is_empty()) {
            Some(u) => format!("through Redis {}", redact_url(u)),
            None => "in-process".to_string(),
        };
        let jobs = if cfg.worker.embedded {
            format!(
                "run here ({} executor, up to {} at a time, dispatch {dispatch})",
                cfg.worker.executor, cfg.worker.max_concurrent
            )
        } else {
            format!("queued for `mlp worker` processes (dispatch {dispatch})")
        };
        let auth = if cfg.auth.enabled {
            format!("on (admin user '{}')", cfg.auth.admin_username)
        } else if crate::is_loopback(&cfg.server.host) {
            "off (loopback only)".to_string()
        } else {
            "OFF on a network address: anyone who reaches it can change everything".to_string()
        };
        Banner {
            listen: format!("{}:{bound_port}", cfg.server.host),
            url,
            metrics,
            database: redact_url(&cfg.database_url()),
            artifacts: redact_url(&artifacts),
            jobs,
            auth,
        }
    }

    /// Text: a few aligned lines a person reads once. JSON: one event with the same fields.
    pub fn show(&self, format: LogFormat) {
        match format {
            LogFormat::Text => eprintln!("{}", self.text()),
            LogFormat::Json => tracing::info!(
                url = %self.url,
                api = %format!("{}/api/2.0/mlflow", self.url),
                listen = %self.listen,
                metrics = %self.metrics,
                database = %self.database,
                artifacts = %self.artifacts,
                jobs = %self.jobs,
                auth = %self.auth,
                "mlp server ready"
            ),
        }
    }

    pub fn text(&self) -> String {
        format!(
            "\n  mlp {version} is ready: open {url}\n\n  \
             API        {url}/api/2.0/mlflow  (MLFLOW_TRACKING_URI={url})\n  \
             listening  {listen}\n  \
             metrics    {metrics}\n  \
             database   {database}\n  \
             artifacts  {artifacts}\n  \
             jobs       {jobs}\n  \
             auth       {auth}\n",
            version = env!("CARGO_PKG_VERSION"),
            url = self.url,
            listen = self.listen,
            metrics = self.metrics,
            database = self.database,
            artifacts = self.artifacts,
            jobs = self.jobs,
            auth = self.auth,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_terminal_unless_forced() {
        assert_eq!(resolve_format("auto", true).unwrap(), LogFormat::Text);
        assert_eq!(resolve_format("auto", false).unwrap(), LogFormat::Json);
        assert_eq!(resolve_format("JSON", true).unwrap(), LogFormat::Json);
        assert_eq!(resolve_format("text", false).unwrap(), LogFormat::Text);
        assert!(resolve_format("yaml", true).is_err());
    }

    #[test]
    fn urls_a_browser_can_open() {
        assert_eq!(browsable("0.0.0.0", 8000), "http://127.0.0.1:8000");
        assert_eq!(browsable("::", 8000), "http://127.0.0.1:8000");
        assert_eq!(browsable("::1", 9), "http://[::1]:9");
        assert_eq!(browsable("mlp.internal", 80), "http://mlp.internal:80");
    }

    #[test]
    fn banner_redacts_and_has_no_options() {
        let mut cfg = Config::default();
        cfg.database.url = Some("postgresql://mlp:hunter2@db/mlp".into());
        cfg.redis.url = Some("redis://:redispw@redis:6379".into());
        let text = Banner::new(&cfg, 8000, "s3://bucket/prefix".into()).text();
        assert!(text.contains("open http://127.0.0.1:8000"), "{text}");
        assert!(text.contains("http://127.0.0.1:9090/metrics"), "{text}");
        assert!(!text.contains("hunter2") && !text.contains("redispw"), "{text}");
        assert!(!text.contains("Some(") && !text.contains("None"), "{text}");
    }
}

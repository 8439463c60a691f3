//! Configuration: defaults, then an optional TOML file (`--config` or `MLP_CONFIG`), then
//! `MLP__SECTION__KEY` environment variables, then command-line flags.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where embedded storage lives when no database or artifact root is configured.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub artifacts: ArtifactsConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite://path` or `postgresql://...`; defaults to SQLite in `data_dir`.
    pub url: Option<String>,
}

/// The URL is redacted: it may carry a password.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .finish()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ArtifactsConfig {
    /// A local directory; defaults to `data_dir/artifacts`.
    pub root: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `json` (default) or `text`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `mlp_server=debug,info`; `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("mlp-data"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            artifacts: ArtifactsConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "0.0.0.0".into(),
            port: 8000,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "json".into(),
            level: "info".into(),
        }
    }
}

impl Config {
    pub fn load(file: Option<&PathBuf>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                anyhow::bail!("config file {} does not exist", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(Env::prefixed("MLP__").split("__"));
        // The conventional variable that platforms (and our Kubernetes manifests) hand over.
        if let Ok(url) = std::env::var("DATABASE_URL")
            && std::env::var("MLP__DATABASE__URL").is_err()
        {
            fig = fig.merge(Serialized::default("database.url", url));
        }
        fig.extract().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
    }

    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) if !u.is_empty() => u.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("mlp.db").display()),
        }
    }

    pub fn artifact_root(&self) -> PathBuf {
        match &self.artifacts.root {
            Some(r) if !r.is_empty() => PathBuf::from(r.strip_prefix("file://").unwrap_or(r)),
            _ => self.data_dir.join("artifacts"),
        }
    }
}

/// Replaces the password of a URL with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                url.to_string()
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("postgresql://u:secret@db:5432/mlp"),
            "postgresql://u:***@db:5432/mlp"
        );
        assert_eq!(redact_url("postgresql://u@db/mlp"), "postgresql://u@db/mlp");
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
        let c = DatabaseConfig {
            url: Some("postgresql://u:hunter2@h/db".into()),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API, not ours
    fn defaults_and_env() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MLP__SERVER__PORT", "9001");
            jail.set_env("MLP__DATA_DIR", "/tmp/x");
            let c = Config::load(None).unwrap();
            assert_eq!(c.server.port, 9001);
            assert_eq!(c.server.host, "0.0.0.0");
            assert_eq!(c.database_url(), "sqlite:///tmp/x/mlp.db");
            Ok(())
        });
    }
}

//! A small client for the server's MLflow REST and auth APIs.

use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use serde_json::Value;

#[derive(Clone, Debug)]
pub enum Credentials {
    None,
    Token(String),
    Basic(String, String),
}

#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    credentials: Credentials,
    http: reqwest::Client,
}

/// What went wrong talking to the server, kept apart so that resources can tell "not found"
/// (the object is gone: drift) from every other failure.
#[derive(Debug)]
pub enum ApiError {
    /// The server answered with an MLflow error.
    Api { status: u16, code: String, message: String },
    /// No answer: connection refused, DNS, timeout, TLS.
    Transport(String),
}

impl ApiError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Api { status: 404, .. })
            || matches!(self, ApiError::Api { code, .. } if code == "RESOURCE_DOES_NOT_EXIST")
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Api { code, .. } => Some(code),
            ApiError::Transport(_) => None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Api { status, code, message } => write!(f, "HTTP {status} {code}: {message}"),
            ApiError::Transport(m) => f.write_str(m),
        }
    }
}

impl Client {
    pub fn new(host: &str, credentials: Credentials, timeout: Duration) -> anyhow::Result<Client> {
        let base = host.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            anyhow::bail!("host must be an http:// or https:// URL, got {host:?}");
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("terraform-provider-mlp/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client {
            base,
            credentials,
            http,
        })
    }

    pub fn host(&self) -> &str {
        &self.base
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method.clone(), &url);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req = match &self.credentials {
            Credentials::None => req,
            Credentials::Token(t) => req.bearer_auth(t),
            Credentials::Basic(u, p) => {
                let raw = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                req.header("Authorization", format!("Basic {raw}"))
            }
        };
        let resp = req.send().await.map_err(|e| transport_error(&self.base, e))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| transport_error(&self.base, e))?;
        if (200..300).contains(&status) {
            if text.trim().is_empty() {
                return Ok(Value::Object(Default::default()));
            }
            return serde_json::from_str(&text).or(Ok(Value::String(text)));
        }
        Err(api_error(status, &text, &method, path))
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, ApiError> {
        self.send(Method::GET, path, query, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, ApiError> {
        self.send(Method::POST, path, &[], Some(&body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Result<Value, ApiError> {
        self.send(Method::PATCH, path, &[], Some(&body)).await
    }
    pub async fn delete(&self, path: &str, body: Value) -> Result<Value, ApiError> {
        self.send(Method::DELETE, path, &[], Some(&body)).await
    }
    /// A plain-text endpoint outside the JSON API (`/health`, `/version`).
    pub async fn get_text(&self, path: &str) -> Result<String, ApiError> {
        match self.get(path, &[]).await? {
            Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    }
}

fn transport_error(base: &str, e: reqwest::Error) -> ApiError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    // reqwest's Display hides the cause (connection refused, DNS); walk the chain for it.
    let mut cause = String::new();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = src {
        cause = s.to_string();
        src = s.source();
    }
    let detail = if cause.is_empty() { e.to_string() } else { cause };
    ApiError::Transport(format!("{what} to the mlp server at {base}: {detail}"))
}

fn api_error(status: u16, text: &str, method: &Method, path: &str) -> ApiError {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let code = parsed
        .as_ref()
        .and_then(|v| v.get("error_code"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| match status {
            401 => "UNAUTHENTICATED".into(),
            403 => "PERMISSION_DENIED".into(),
            404 => "RESOURCE_DOES_NOT_EXIST".into(),
            _ => "ERROR".into(),
        });
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let t = text.trim();
            if t.is_empty() {
                format!("{method} {path}")
            } else {
                t.chars().take(500).collect()
            }
        });
    ApiError::Api { status, code, message }
}

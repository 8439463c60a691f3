//! The few MLflow REST calls the job makes, over plain HTTP: get or create the run, log a batch
//! of params and metrics, log a dataset input, and upload artifacts through the tracking
//! server's proxied artifact service (`/api/2.0/mlflow-artifacts/artifacts/...`).

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub struct Mlflow {
    http: reqwest::Client,
    base: String,
    auth: Option<String>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The artifact path under the proxied artifact service that a run's `artifact_uri` names
/// (`mlflow-artifacts:/<exp>/<run>/artifacts` or `mlflow-artifacts://host/<…>`).
pub fn proxied_root(artifact_uri: &str) -> anyhow::Result<String> {
    let Some(rest) = artifact_uri.strip_prefix("mlflow-artifacts:") else {
        bail!(
            "the run's artifact_uri '{artifact_uri}' is not served by the tracking server's artifact proxy \
             (mlflow-artifacts:/…); start the server with proxied artifacts"
        );
    };
    let path = match rest.strip_prefix("//") {
        // Skip the authority.
        Some(r) => r.split_once('/').map(|(_, p)| p).unwrap_or(""),
        None => rest,
    };
    Ok(path.trim_matches('/').to_string())
}

impl Mlflow {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let auth = match (
            std::env::var("MLFLOW_TRACKING_TOKEN").ok().filter(|t| !t.is_empty()),
            std::env::var("MLFLOW_TRACKING_USERNAME").ok(),
            std::env::var("MLFLOW_TRACKING_PASSWORD").ok(),
        ) {
            (Some(t), _, _) => Some(format!("Bearer {t}")),
            (None, Some(u), Some(p)) => Some(format!("Basic {}", base64(&format!("{u}:{p}")))),
            _ => None,
        };
        // reqwest is built without a crypto provider of its own (see the workspace manifest).
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Mlflow {
            http: reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?,
            base: base.trim_end_matches('/').to_string(),
            auth,
        })
    }

    /// Sends with up to 4 tries on connection errors, 429 and 5xx.
    async fn send(&self, make: impl Fn() -> reqwest::RequestBuilder, what: &str) -> anyhow::Result<reqwest::Response> {
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=4 {
            let mut req = make();
            if let Some(a) = &self.auth {
                req = req.header("authorization", a);
            }
            let retry = match req.send().await {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let msg = match (body["error_code"].as_str(), body["message"].as_str()) {
                        (Some(c), Some(m)) => format!("{c}: {m}"),
                        _ => text.chars().take(300).collect(),
                    };
                    if !(status.as_u16() == 429 || status.is_server_error()) || attempt == 4 {
                        bail!("{what}: HTTP {status}: {msg}");
                    }
                    format!("HTTP {status}: {msg}")
                }
                Err(e) if attempt < 4 && (e.is_connect() || e.is_timeout()) => e.to_string(),
                Err(e) => return Err(e).with_context(|| format!("{what}: cannot reach {}", self.base)),
            };
            eprintln!("{what}: {retry}; retrying in {delay:?}");
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        unreachable!("the last attempt returns")
    }

    async fn post(&self, endpoint: &str, body: Value) -> anyhow::Result<Value> {
        let url = format!("{}/api/2.0/mlflow/{endpoint}", self.base);
        let resp = self.send(|| self.http.post(&url).json(&body), endpoint).await?;
        Ok(resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        let url = format!("{}/api/2.0/mlflow/{endpoint}?{}", self.base, query_string(query));
        let resp = self.send(|| self.http.get(&url), endpoint).await?;
        Ok(resp.json().await?)
    }

    pub async fn get_run(&self, run_id: &str) -> anyhow::Result<Value> {
        Ok(self.get("runs/get", &[("run_id", run_id)]).await?["run"].clone())
    }

    /// The id of the experiment called `name`, created when missing.
    pub async fn experiment_id(&self, name: &str) -> anyhow::Result<String> {
        let url = format!(
            "{}/api/2.0/mlflow/experiments/get-by-name?{}",
            self.base,
            query_string(&[("experiment_name", name)])
        );
        let mut req = self.http.get(&url);
        if let Some(a) = &self.auth {
            req = req.header("authorization", a);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        if resp.status().is_success() {
            let v: Value = resp.json().await?;
            return Ok(v["experiment"]["experiment_id"].as_str().unwrap_or("0").to_string());
        }
        match self.post("experiments/create", json!({"name": name})).await {
            Ok(v) => Ok(v["experiment_id"].as_str().unwrap_or("0").to_string()),
            // Created concurrently (another shard); otherwise the create's error is the one to show.
            Err(create_err) => match self.get("experiments/get-by-name", &[("experiment_name", name)]).await {
                Ok(v) => Ok(v["experiment"]["experiment_id"].as_str().unwrap_or("0").to_string()),
                Err(_) => Err(create_err),
            },
        }
    }

    pub async fn create_run(
        &self,
        experiment_id: &str,
        run_name: &str,
        tags: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        let tags: Vec<Value> = tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
        let v = self
            .post(
                "runs/create",
                json!({"experiment_id": experiment_id, "run_name": run_name, "start_time": now_ms(), "tags": tags}),
            )
            .await?;
        Ok(v["run"].clone())
    }

    pub async fn end_run(&self, run_id: &str, status: &str) -> anyhow::Result<()> {
        self.post(
            "runs/update",
            json!({"run_id": run_id, "status": status, "end_time": now_ms()}),
        )
        .await?;
        Ok(())
    }

    pub async fn log_batch(
        &self,
        run_id: &str,
        params: &[(String, String)],
        metrics: &[(String, f64)],
    ) -> anyhow::Result<()> {
        let ts = now_ms();
        let params: Vec<Value> = params.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
        let metrics: Vec<Value> = metrics
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v, "timestamp": ts, "step": 0}))
            .collect();
        self.post(
            "runs/log-batch",
            json!({"run_id": run_id, "params": params, "metrics": metrics}),
        )
        .await?;
        Ok(())
    }

    pub async fn log_dataset(&self, run_id: &str, dataset: Value, tags: &[(&str, &str)]) -> anyhow::Result<()> {
        let tags: Vec<Value> = tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
        self.post(
            "runs/log-inputs",
            json!({"run_id": run_id, "datasets": [{"dataset": dataset, "tags": tags}]}),
        )
        .await?;
        Ok(())
    }

    /// PUT one artifact at `<root>/<path>` through the proxied artifact service.
    pub async fn put_artifact(&self, root: &str, path: &str, body: Vec<u8>, content_type: &str) -> anyhow::Result<()> {
        let url = format!("{}/api/2.0/mlflow-artifacts/artifacts/{root}/{path}", self.base);
        let body = bytes::Bytes::from(body);
        self.send(
            || {
                self.http
                    .put(&url)
                    .header("content-type", content_type)
                    .body(body.clone())
            },
            &format!("upload {path}"),
        )
        .await?;
        Ok(())
    }
}

/// `k=v&…`, percent-encoded (everything but unreserved characters).
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_roots() {
        assert_eq!(
            proxied_root("mlflow-artifacts:/1/abc/artifacts").unwrap(),
            "1/abc/artifacts"
        );
        assert_eq!(
            proxied_root("mlflow-artifacts://host:5000/1/abc/artifacts").unwrap(),
            "1/abc/artifacts"
        );
        assert!(proxied_root("s3://bucket/1/abc/artifacts").is_err());
    }

    #[test]
    fn query_strings_are_encoded() {
        assert_eq!(
            query_string(&[("run_id", "abc"), ("n", "a b/é&")]),
            "run_id=abc&n=a%20b%2F%C3%A9%26"
        );
    }

    #[test]
    fn basic_auth_encoding() {
        assert_eq!(base64("user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64("a"), "YQ==");
        assert_eq!(base64("ab"), "YWI=");
    }
}

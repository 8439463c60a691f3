//! Which storage locations a caller may point the platform at. An experiment's artifact location
//! tells every client where to upload that experiment's artifacts, and a model version's source
//! tells every client where to download (and unpickle) the model from, so a location on another
//! server is exfiltration or remote code execution for whoever uses it next. Only locations this
//! server controls are accepted.

use crate::{Error, Result};

/// What this server owns: the artifact root it serves, the buckets it is configured for, and the
/// names it is reached by (for `mlflow-artifacts://host/…`).
#[derive(Debug, Clone, Default)]
pub struct StoragePolicy {
    /// The local artifact root as an absolute path, when the artifact store is a directory.
    pub local_root: Option<String>,
    /// Buckets of `s3://` locations this server may use (the artifact root's bucket and any
    /// configured extra ones).
    pub s3_buckets: Vec<String>,
    /// Host patterns this server answers to (`localhost`, `*.example.com`, `*`).
    pub hosts: Vec<String>,
}

const ALLOWED_LOCATIONS: &str = "Allowed: mlflow-artifacts:/… (this server's artifact store), a path or file:// URI inside the server's artifact root, or s3:// in a configured bucket";

impl StoragePolicy {
    /// An experiment's `artifact_location`.
    pub fn check_artifact_location(&self, uri: &str) -> Result<()> {
        let refuse = |why: &str| {
            Err(Error::invalid(format!(
                "Invalid artifact location '{}': {why}. {ALLOWED_LOCATIONS}.",
                shorten(uri)
            )))
        };
        if uri.chars().any(|c| c.is_control()) {
            return refuse("it contains control characters");
        }
        if uri.contains('?') || uri.contains('#') {
            return refuse("a location cannot carry a query or a fragment");
        }
        if has_dot_segment(uri) {
            return refuse("'.' and '..' path segments are not allowed");
        }
        let Some((scheme, rest)) = split_scheme(uri) else {
            return self.check_local_path(uri, uri).or_else(|e| refuse(&e));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "mlflow-artifacts" => match authority(rest) {
                None => Ok(()),
                Some((host, _)) if host_matches(&self.hosts, host) => Ok(()),
                Some((host, _)) => refuse(&format!("'{host}' is not this server")),
            },
            "file" => {
                let path = match authority(rest) {
                    None => rest,
                    Some(("" | "localhost", path)) => path,
                    Some((host, _)) => return refuse(&format!("file URIs on another host ('{host}')")),
                };
                self.check_local_path(uri, path).or_else(|e| refuse(&e))
            }
            "s3" | "s3a" => match authority(rest) {
                Some((bucket, _)) if self.s3_buckets.iter().any(|b| b == bucket) => Ok(()),
                Some((bucket, _)) => refuse(&format!("bucket '{bucket}' is not configured for this server")),
                None => refuse("an s3 URI needs a bucket"),
            },
            "http" | "https" => refuse("HTTP locations are never allowed"),
            other => refuse(&format!("the scheme '{other}' is not supported")),
        }
    }

    fn check_local_path(&self, _uri: &str, path: &str) -> std::result::Result<(), String> {
        let Some(root) = &self.local_root else {
            return Err("this server's artifact store is not a local directory".into());
        };
        if !path.starts_with('/') {
            return Err("a local path must be absolute".into());
        }
        if is_under(path, root) {
            Ok(())
        } else {
            Err(format!("it is outside the artifact root {root}"))
        }
    }

    /// A model version's `source`: a `runs:/` or `models:/` URI, or a location under the
    /// artifact root of the version's own run or logged model.
    pub fn check_model_source(
        &self,
        source: &str,
        run_artifact_uri: Option<&str>,
        model_artifact_uri: Option<&str>,
    ) -> Result<()> {
        let refuse = |why: &str| {
            Err(Error::invalid(format!(
                "Invalid model version source '{}': {why}. Allowed: runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>@<alias>, models:/m-<model_id>, or a location under the artifact root of the version's run or logged model.",
                shorten(source)
            )))
        };
        if source.chars().any(|c| c.is_control()) {
            return refuse("it contains control characters");
        }
        if source.contains('?') || source.contains('#') {
            return refuse("a source cannot carry a query or a fragment");
        }
        if has_dot_segment(source) {
            return refuse("'.' and '..' path segments are not allowed");
        }
        if let Some((scheme, rest)) = split_scheme(source) {
            match scheme.to_ascii_lowercase().as_str() {
                "runs" | "models" => {
                    // `models://profile@registry/…` and `runs://…` would make the client resolve
                    // the model against another tracking or registry server.
                    return match authority(rest) {
                        None if rest.starts_with('/') && rest.len() > 1 => Ok(()),
                        None => refuse("the URI has no path"),
                        Some(_) => refuse("runs:/ and models:/ URIs cannot name another server"),
                    };
                }
                _ => {}
            }
        }
        for root in [run_artifact_uri, model_artifact_uri].into_iter().flatten() {
            if !root.is_empty() && is_under(source, root) {
                return Ok(());
            }
        }
        match (run_artifact_uri, model_artifact_uri) {
            (None, None) => refuse("a source that is not a runs:/ or models:/ URI needs its run_id or model_id"),
            _ => refuse("it is not under the artifact root of its run or logged model"),
        }
    }
}

/// `scheme:rest` when `uri` starts with an RFC 3986 scheme. A Windows drive (`C:`) is not one.
fn split_scheme(uri: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    if scheme.len() < 2 || !first.is_ascii_alphabetic() {
        return None;
    }
    chars
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        .then_some((scheme, rest))
}

/// `(authority, path)` of a `//authority/path` tail, or `None` when there is no authority.
fn authority(rest: &str) -> Option<(&str, &str)> {
    let tail = rest.strip_prefix("//")?;
    Some(match tail.find('/') {
        Some(i) => tail.split_at(i),
        None => (tail, ""),
    })
}

fn has_dot_segment(uri: &str) -> bool {
    let path = uri.split_once("://").map_or(uri, |(_, r)| r);
    path.split(['/', '\\']).any(|s| s == "." || s == "..")
}

/// Whether `path` is `root` or below it, by whole segments (`/data/a` is not under `/data/ab`).
fn is_under(path: &str, root: &str) -> bool {
    let root = root.trim_end_matches('/');
    if root.is_empty() {
        return false;
    }
    path == root || path.strip_prefix(root).is_some_and(|t| t.starts_with('/'))
}

fn shorten(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

/// Whether `host` (without its port) matches one of `patterns`: an exact name or address
/// (case-insensitive), `*.domain` for any subdomain, or `*` for anything.
pub fn host_matches(patterns: &[String], host: &str) -> bool {
    let host = strip_port(host).to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    patterns.iter().any(|p| {
        let p = p.trim().to_ascii_lowercase();
        let p = strip_port(&p);
        if p == "*" {
            true
        } else if let Some(domain) = p.strip_prefix("*.") {
            host.len() > domain.len() + 1 && host.ends_with(domain) && host[..host.len() - domain.len()].ends_with('.')
        } else {
            p.trim_start_matches('[').trim_end_matches(']') == host
        }
    })
}

/// `host` of `host:port`, `[v6]:port` or `[v6]`, without brackets for IPv6.
pub fn strip_port(hostport: &str) -> &str {
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    match hostport.rsplit_once(':') {
        // A bare IPv6 address has several colons and no port.
        Some((h, p)) if !h.contains(':') && p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => hostport,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> StoragePolicy {
        StoragePolicy {
            local_root: Some("/srv/mlp/artifacts".into()),
            s3_buckets: vec!["mlp-artifacts".into()],
            hosts: vec!["localhost".into(), "127.0.0.1".into(), "mlflow.example.com".into()],
        }
    }

    #[test]
    fn artifact_locations_allowed() {
        let p = policy();
        for ok in [
            "mlflow-artifacts:/7",
            "mlflow-artifacts:/team/exp",
            "mlflow-artifacts://localhost:8000/7",
            "mlflow-artifacts://mlflow.example.com/7",
            "/srv/mlp/artifacts/7",
            "/srv/mlp/artifacts",
            "file:///srv/mlp/artifacts/x",
            "file://localhost/srv/mlp/artifacts/x",
            "s3://mlp-artifacts/prod/7",
        ] {
            p.check_artifact_location(ok)
                .unwrap_or_else(|e| panic!("{ok}: {}", e.message));
        }
    }

    #[test]
    fn artifact_locations_refused() {
        let p = policy();
        for bad in [
            "mlflow-artifacts://evil.example:5000/x",
            "http://169.254.169.254/latest/meta-data",
            "https://evil.example/x",
            "file:///etc",
            "/etc",
            "/srv/mlp/artifacts-other/x",
            "/srv/mlp/artifacts/../../etc",
            "file://evil/srv/mlp/artifacts",
            "mlflow-artifacts:/7?x=1",
            "mlflow-artifacts:/7#frag",
            "s3://other-bucket/x",
            "gs://bucket/x",
            "ftp://x/y",
            "relative/path",
            "mlflow-artifacts:/a\u{0}b",
        ] {
            let e = p.check_artifact_location(bad).expect_err(bad);
            assert_eq!(e.code, crate::ErrorCode::InvalidParameterValue);
            assert!(e.message.contains("Allowed:"), "{}", e.message);
        }
    }

    #[test]
    fn no_local_root_refuses_paths() {
        let p = StoragePolicy {
            local_root: None,
            ..policy()
        };
        assert!(p.check_artifact_location("/srv/mlp/artifacts/7").is_err());
    }

    #[test]
    fn model_sources() {
        let p = policy();
        let run = Some("mlflow-artifacts:/1/abc/artifacts");
        let model = Some("mlflow-artifacts:/1/models/m-1/artifacts");
        for ok in [
            "runs:/abc/model",
            "models:/m-123",
            "models:/fraud/1",
            "models:/fraud@champion",
            "mlflow-artifacts:/1/abc/artifacts/model",
            "mlflow-artifacts:/1/models/m-1/artifacts",
        ] {
            p.check_model_source(ok, run, model)
                .unwrap_or_else(|e| panic!("{ok}: {}", e.message));
        }
        for bad in [
            "mlflow-artifacts://evil:5000/1/abc/artifacts/model",
            "mlflow-artifacts:/2/other/artifacts/model",
            "mlflow-artifacts:/1/abc/artifacts-x/model",
            "mlflow-artifacts:/1/abc/artifacts/../../2",
            "http://evil/model.pkl",
            "file:///etc",
            "/etc/passwd",
            "runs://evil/abc/model",
            "models://profile@databricks/m/1",
            "models:/",
            "runs:/abc/model?x",
        ] {
            assert!(p.check_model_source(bad, run, model).is_err(), "{bad}");
        }
        assert!(
            p.check_model_source("mlflow-artifacts:/1/abc/artifacts/model", None, None)
                .is_err()
        );
    }

    #[test]
    fn hosts() {
        let pats = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let p = pats(&["localhost", "127.0.0.1", "[::1]", "*.example.com"]);
        for ok in [
            "localhost",
            "LOCALHOST:8000",
            "127.0.0.1:8000",
            "[::1]:8000",
            "a.example.com",
            "a.b.example.com:443",
        ] {
            assert!(host_matches(&p, ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "example.com",
            "badexample.com",
            "127.0.0.2",
            "localhost.evil.example",
            "",
        ] {
            assert!(!host_matches(&p, bad), "{bad}");
        }
        assert!(host_matches(&pats(&["*"]), "anything:1"));
    }
}

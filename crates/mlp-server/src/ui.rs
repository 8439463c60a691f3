//! The web UI, embedded at compile time (see `build.rs`): `/` serves `index.html` and
//! `/static/<build>/<path>` the ES modules, styles and images under `ui/`. The UI routes on the
//! URL's fragment (`/#/experiments/1?filter=…`), so no server path other than these two is
//! claimed and unknown `/api/…` paths keep their JSON 404.
//!
//! Caching: `index.html` is revalidated on every load (`no-cache` plus an ETag); assets live
//! under a prefix derived from the hash of the whole UI, so they are immutable for a year.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mlp_core::{Error, ErrorCode};

use crate::error::ApiError;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/ui_files.rs"));
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The UI's routes. Generic over the state so that a UI-only process (the Kubernetes frontend
/// Deployment's `mlp ui`) can serve the same files; the API server merges them as
/// `Router<AppState>`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/static/{build}/{*path}", get(asset))
}

fn file(path: &str) -> Option<(&'static [u8], &'static str)> {
    embedded::FILES
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, bytes, hash)| (*bytes, *hash))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn respond(
    headers: &HeaderMap,
    body: impl Into<axum::body::Body>,
    etag: &str,
    ctype: &'static str,
    cache: &'static str,
) -> Response {
    let etag = format!("\"{etag}\"");
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = body.into().into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
        r
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

async fn index(headers: HeaderMap) -> Response {
    let Some((bytes, hash)) = file("index.html") else {
        return ApiError(Error::internal("the UI was not embedded")).into_response();
    };
    // Asset URLs in index.html carry the build hash, so the page is rewritten once.
    let html = String::from_utf8_lossy(bytes).replace("%BUILD%", embedded::BUILD);
    let etag = format!("{hash}-{}", embedded::BUILD);
    respond(&headers, html, &etag, "text/html; charset=utf-8", REVALIDATE)
}

async fn asset(Path((build, path)): Path<(String, String)>, headers: HeaderMap) -> Response {
    match file(&path) {
        Some((bytes, hash)) if path != "index.html" => {
            // An old build's URL still gets today's file, but must not be cached for long.
            let cache = if build == embedded::BUILD {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            respond(&headers, bytes, hash, content_type(&path), cache)
        }
        _ => ApiError(Error::new(
            ErrorCode::ResourceDoesNotExist,
            format!("No UI asset {path}"),
        ))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_modules_are_embedded() {
        assert!(file("index.html").is_some());
        assert!(file("js/main.js").is_some());
        assert_eq!(content_type("js/main.js"), "text/javascript; charset=utf-8");
        assert_eq!(embedded::BUILD.len(), 12);
    }

    async fn get(uri: &str, etag: Option<&str>) -> Response {
        use tower::ServiceExt;
        let mut req = axum::http::Request::builder().uri(uri);
        if let Some(e) = etag {
            req = req.header(header::IF_NONE_MATCH, e);
        }
        routes::<()>()
            .oneshot(req.body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn serves_index_and_hashed_assets_with_cache_headers() {
        let r = get("/", None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CACHE_CONTROL], REVALIDATE);
        let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        let html = String::from_utf8_lossy(&body);
        let asset = format!("/static/{}/js/main.js", embedded::BUILD);
        assert!(html.contains(&asset), "index.html links the hashed assets");
        assert!(!html.contains("%BUILD%"));
        assert_eq!(get("/", Some(&etag)).await.status(), StatusCode::NOT_MODIFIED);

        let r = get(&asset, None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(r.headers()[header::CACHE_CONTROL], IMMUTABLE);
        let r = get("/static/0000/app.css", None).await;
        assert_eq!(
            r.headers()[header::CACHE_CONTROL],
            REVALIDATE,
            "an old build's URL is not cached"
        );
        assert_eq!(get("/static/x/nope.js", None).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(get("/static/x/index.html", None).await.status(), StatusCode::NOT_FOUND);
    }
}

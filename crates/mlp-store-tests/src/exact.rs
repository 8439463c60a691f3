//! Values come back bit for bit as they were logged, through the whole HTTP API and each
//! back-end: random doubles (subnormals, signed zeros, the extremes, 17 significant digits) and
//! strings at every documented size limit. A JSON parser that is not correctly rounded, or an
//! index that cannot hold a long value, fails here.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use mlp_core::validation::{
    MAX_ENTITY_KEY_LENGTH, MAX_EXPERIMENT_NAME_LENGTH, MAX_EXPERIMENT_TAG_VAL_LENGTH, MAX_PARAM_VAL_LENGTH,
    MAX_TAG_VAL_LENGTH,
};
use serde_json::{Value, json};
use tower::ServiceExt;

use mlp_core::registry::RegistryStore;
use mlp_core::store::TrackingStore;

/// What the HTTP app needs of a store.
pub trait HttpStore: TrackingStore + RegistryStore + Clone + 'static {}
impl<S: TrackingStore + RegistryStore + Clone + 'static> HttpStore for S {}

/// A small deterministic generator (xorshift64*), so a failure names a reproducible seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Finite doubles from every region: random bit patterns, subnormals, signed zeros, the
    /// extremes, and the quotients that a non-correctly-rounded parser gets wrong.
    fn double(&mut self, i: usize) -> f64 {
        match i % 6 {
            0 => loop {
                let v = f64::from_bits(self.next());
                if v.is_finite() {
                    return v;
                }
            },
            1 => f64::from_bits(self.next() & 0x000F_FFFF_FFFF_FFFF) * if self.next() & 1 == 0 { 1.0 } else { -1.0 },
            2 => [
                0.0,
                -0.0,
                f64::MAX,
                f64::MIN,
                f64::MIN_POSITIVE,
                -f64::MIN_POSITIVE,
                5e-324,
                -5e-324,
            ][(self.next() % 8) as usize],
            3 => (self.next() % 100_000) as f64 / 7.0,
            4 => (self.next() as f64) / (self.next() as f64 + 1.0),
            _ => ((self.next() % 2_000_001) as f64 - 1e6) * 1e-17,
        }
    }

    /// A string of `len` characters drawn from ASCII, escapes JSON must encode, and 2-, 3- and
    /// 4-byte UTF-8 characters. Never NUL (PostgreSQL text cannot hold it).
    fn text(&mut self, len: usize) -> String {
        const CHARS: &[char] = &[
            'a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u{1}', 'é', 'ß', '€', '中', '😀', '𝄞', '\u{7f}',
            '\u{ffff}',
        ];
        (0..len)
            .map(|_| CHARS[(self.next() % CHARS.len() as u64) as usize])
            .collect()
    }

    /// A key of `len` characters from the set MLflow allows in keys.
    fn key(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"abcXYZ019_-. :";
        let mut k: String = (0..len)
            .map(|_| CHARS[(self.next() % CHARS.len() as u64) as usize] as char)
            .collect();
        k.replace_range(0..1, "k");
        k.pop();
        k.push('z');
        k
    }
}

struct Http(axum::Router);

impl Http {
    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> (u16, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body.map(|b| Body::from(b.to_string())).unwrap_or_default())
            .unwrap();
        let resp = self.0.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, v) = self
            .call(Method::POST, &format!("/api/2.0/mlflow{path}"), Some(body))
            .await;
        assert_eq!(status, 200, "POST {path}: {v}");
        v
    }

    async fn get(&self, path_and_query: &str) -> Value {
        let (status, v) = self
            .call(Method::GET, &format!("/api/2.0/mlflow{path_and_query}"), None)
            .await;
        assert_eq!(status, 200, "GET {path_and_query}: {v}");
        v
    }
}

fn app<S: HttpStore>(store: &S, dir: &std::path::Path) -> Http {
    let store = Arc::new(store.clone());
    let artifacts = Arc::new(mlp_artifacts::LocalArtifactStore::new(dir.join("artifacts")).unwrap());
    Http(mlp_server::app(mlp_server::AppState::new(
        store.clone(),
        store,
        artifacts,
        None,
    )))
}

fn bits(v: &Value) -> u64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")).to_bits()
}

pub async fn doubles_round_trip_bit_for_bit<S: HttpStore>(store: &S) {
    let dir = tempfile::tempdir().unwrap();
    let http = app(store, dir.path());
    let exp = http.ok("/experiments/create", json!({ "name": "exact-doubles" })).await["experiment_id"].clone();
    let run = http
        .ok("/runs/create", json!({ "experiment_id": exp, "start_time": 1 }))
        .await["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let seed = 0x9E37_79B9_7F4A_7C15;
    let mut rng = Rng(seed);
    let values: Vec<f64> = (0..2400).map(|i| rng.double(i)).collect();
    // Two batches of 1,000 through log-batch, the rest one by one through log-metric.
    for (b, chunk) in values[..2000].chunks(1000).enumerate() {
        let metrics: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| json!({ "key": "x", "value": v, "timestamp": 1, "step": b * 1000 + i }))
            .collect();
        http.ok("/runs/log-batch", json!({ "run_id": run, "metrics": metrics }))
            .await;
    }
    for (i, v) in values[2000..].iter().enumerate() {
        http.ok(
            "/runs/log-metric",
            json!({ "run_id": run, "key": "x", "value": v, "timestamp": 1, "step": 2000 + i }),
        )
        .await;
    }
    let mut got = Vec::new();
    let mut token = String::new();
    loop {
        let page = http
            .get(&format!(
                "/metrics/get-history?run_id={run}&metric_key=x&max_results=1000{token}"
            ))
            .await;
        got.extend(
            page["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| (m["step"].as_i64().unwrap(), bits(&m["value"]))),
        );
        match page["next_page_token"].as_str() {
            Some(t) => token = format!("&page_token={t}"),
            None => break,
        }
    }
    got.sort();
    assert_eq!(got.len(), values.len(), "seed {seed:#x}");
    for (step, b) in got {
        let want = values[step as usize];
        assert_eq!(
            b,
            want.to_bits(),
            "seed {seed:#x}, step {step}: logged {want:e} ({:#x}), read back {:e} ({b:#x})",
            want.to_bits(),
            f64::from_bits(b)
        );
    }
    // The latest value (by step) as get-run reports it.
    let latest = http.get(&format!("/runs/get?run_id={run}")).await;
    let m = &latest["run"]["data"]["metrics"][0];
    assert_eq!(bits(&m["value"]), values.last().unwrap().to_bits());
}

pub async fn strings_at_every_limit_are_stored_exactly<S: HttpStore>(store: &S) {
    let dir = tempfile::tempdir().unwrap();
    let http = app(store, dir.path());
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let exp_name = rng
        .text(MAX_EXPERIMENT_NAME_LENGTH)
        .replace(['\n', '\t', '\u{1}', '\u{7f}'], "x");
    let exp_tag = rng.text(MAX_EXPERIMENT_TAG_VAL_LENGTH);
    let exp = http
        .ok(
            "/experiments/create",
            json!({ "name": exp_name, "tags": [{ "key": rng.key(MAX_ENTITY_KEY_LENGTH), "value": exp_tag }] }),
        )
        .await["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let got = http.get(&format!("/experiments/get?experiment_id={exp}")).await;
    assert_eq!(got["experiment"]["name"], json!(exp_name));
    assert_eq!(got["experiment"]["tags"][0]["value"], json!(exp_tag));

    let run = http
        .ok("/runs/create", json!({ "experiment_id": exp, "start_time": 1 }))
        .await["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let params: Vec<(String, String)> = (0..100)
        .map(|i| {
            (
                format!("{i:03}{}", rng.key(MAX_ENTITY_KEY_LENGTH - 3)),
                rng.text(MAX_PARAM_VAL_LENGTH),
            )
        })
        .collect();
    let tags: Vec<(String, String)> = (0..100)
        .map(|i| {
            (
                format!("{i:03}{}", rng.key(MAX_ENTITY_KEY_LENGTH - 3)),
                rng.text(MAX_TAG_VAL_LENGTH),
            )
        })
        .collect();
    let as_json = |kv: &[(String, String)]| {
        kv.iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect::<Vec<_>>()
    };
    http.ok(
        "/runs/log-batch",
        json!({ "run_id": run, "params": as_json(&params), "tags": as_json(&tags) }),
    )
    .await;
    // Replaying the same batch is harmless (the client retries POSTs).
    http.ok("/runs/log-batch", json!({ "run_id": run, "params": as_json(&params) }))
        .await;
    let data = http.get(&format!("/runs/get?run_id={run}")).await["run"]["data"].clone();
    let read = |field: &str| -> std::collections::HashMap<String, String> {
        data[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["key"].as_str().unwrap().to_string(),
                    p["value"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (got_params, got_tags) = (read("params"), read("tags"));
    for (k, v) in &params {
        assert_eq!(got_params.get(k), Some(v), "param {}…", &k[..10]);
    }
    for (k, v) in &tags {
        assert_eq!(got_tags.get(k), Some(v), "tag {}…", &k[..10]);
    }
    // A param at the limit is searchable by value on every back-end.
    let v: String = (0..MAX_PARAM_VAL_LENGTH)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    http.ok(
        "/runs/log-parameter",
        json!({ "run_id": run, "key": "long", "value": v }),
    )
    .await;
    let filter = format!("params.long = '{v}'");
    let found = http
        .ok("/runs/search", json!({ "experiment_ids": [exp], "filter": filter }))
        .await;
    assert_eq!(found["runs"].as_array().map(Vec::len), Some(1), "{filter:.60}");

    let model_desc = rng.text(20_000);
    http.ok(
        "/registered-models/create",
        json!({ "name": "exact-model", "description": model_desc }),
    )
    .await;
    let got = http.get("/registered-models/get?name=exact-model").await;
    assert_eq!(got["registered_model"]["description"], json!(model_desc));
}

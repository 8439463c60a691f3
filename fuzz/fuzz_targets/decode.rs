//! Request decoding: arbitrary bytes as the JSON body of the tracking requests the server reads,
//! through the protobuf-JSON helpers of `mlp_core::wire` (int64 as number or string, NaN and
//! infinities as strings, one value for a repeated field), then the checks that run before
//! anything reaches a store (log-batch normalisation, page tokens, job specs).
//!
//! The request structs of mlp-server are private to it, so they are mirrored below field for
//! field, with the same helpers and the same `flatten`s (flatten changes how serde buffers a
//! value, which is exactly where number handling can differ). Keep them in step with
//! crates/mlp-server/src/tracking.rs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mlp_core::jobs::JobSpec;
use mlp_core::model::{Metric, Tag};
use mlp_core::search::{self, SearchKind};
use mlp_core::validation::{self, MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH};
use mlp_core::wire::{de_opt_f64, de_opt_i64, de_opt_string, de_vec_or_one, ser_f64};
use mlp_core::{ErrorCode, paging};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};

// The decoder the server uses for every POST, PATCH and PUT body.
use mlp_core::wire::decode_json_body;

// ------------------------------------------------------------------------------------------
// Mirrors of the request messages. `Serialize` renders the canonical form used by the
// round-trip property; it is not what the server sends.

fn ser_opt_f64<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => ser_f64(v, s),
        None => s.serialize_none(),
    }
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct TagIn {
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct MetricIn {
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(
        deserialize_with = "de_opt_f64",
        serialize_with = "ser_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    value: Option<f64>,
    #[serde(deserialize_with = "de_opt_i64", skip_serializing_if = "Option::is_none")]
    timestamp: Option<i64>,
    #[serde(deserialize_with = "de_opt_i64", skip_serializing_if = "Option::is_none")]
    step: Option<i64>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    model_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    dataset_name: Option<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    dataset_digest: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct RunIdReq {
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    run_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    run_uuid: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct LogMetricReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(flatten)]
    metric: MetricIn,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct LogBatchReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(deserialize_with = "de_vec_or_one")]
    metrics: Vec<MetricIn>,
    #[serde(deserialize_with = "de_vec_or_one")]
    params: Vec<TagIn>,
    #[serde(deserialize_with = "de_vec_or_one")]
    tags: Vec<TagIn>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct CreateExperimentReq {
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    artifact_location: Option<String>,
    #[serde(deserialize_with = "de_vec_or_one")]
    tags: Vec<TagIn>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct CreateRunReq {
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    experiment_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    run_name: Option<String>,
    #[serde(deserialize_with = "de_opt_i64", skip_serializing_if = "Option::is_none")]
    start_time: Option<i64>,
    #[serde(deserialize_with = "de_vec_or_one")]
    tags: Vec<TagIn>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct UpdateRunReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(deserialize_with = "de_opt_i64", skip_serializing_if = "Option::is_none")]
    end_time: Option<i64>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    run_name: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct SearchRunsReq {
    #[serde(deserialize_with = "de_vec_or_one")]
    experiment_ids: Vec<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    filter: Option<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    run_view_type: Option<String>,
    #[serde(deserialize_with = "de_opt_i64", skip_serializing_if = "Option::is_none")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de_vec_or_one")]
    order_by: Vec<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    page_token: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct SearchExperimentsReq {
    #[serde(deserialize_with = "de_opt_i64", skip_serializing_if = "Option::is_none")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    page_token: Option<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    filter: Option<String>,
    #[serde(deserialize_with = "de_vec_or_one")]
    order_by: Vec<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    view_type: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct MetricHistoryReq {
    #[serde(flatten)]
    id: RunIdReq,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    metric_key: Option<String>,
    #[serde(deserialize_with = "de_opt_i64", skip_serializing_if = "Option::is_none")]
    max_results: Option<i64>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    page_token: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct BulkIntervalReq {
    #[serde(deserialize_with = "de_vec_or_one")]
    run_ids: Vec<String>,
    #[serde(deserialize_with = "de_opt_string", skip_serializing_if = "Option::is_none")]
    metric_key: Option<String>,
    #[serde(deserialize_with = "de_opt_i64", skip_serializing_if = "Option::is_none")]
    start_step: Option<i64>,
    #[serde(deserialize_with = "de_opt_i64", skip_serializing_if = "Option::is_none")]
    end_step: Option<i64>,
    #[serde(deserialize_with = "de_opt_i64", skip_serializing_if = "Option::is_none")]
    max_results: Option<i64>,
}

// ------------------------------------------------------------------------------------------

/// How `serde_json` alone classifies the body; the decoder's answer must agree with it.
#[derive(Clone, Copy, PartialEq, Debug)]
enum BodyShape {
    Object,
    OtherJson,
    Unreadable,
}

/// Unreadable means not JSON: bad UTF-8 or bad syntax. A number out of a double's range is still
/// JSON (a `Value` would refuse it, the typed decoder only where a field reads it).
fn shape(body: &[u8]) -> BodyShape {
    if std::str::from_utf8(body).is_err() || serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        return BodyShape::Unreadable;
    }
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => BodyShape::Object,
        _ => BodyShape::OtherJson,
    }
}

fn canonical<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("a decoded request serialises")
}

/// Decodes `body` as `T` and checks the properties every request shares; returns the request
/// when it decoded.
fn decode<T: DeserializeOwned + Serialize + Default>(body: &[u8], shape: BodyShape) -> Option<T> {
    let name = std::any::type_name::<T>();
    match (decode_json_body::<T>(body), shape) {
        (Err(e), BodyShape::OtherJson | BodyShape::Object) => {
            assert_eq!(e.code, ErrorCode::InvalidParameterValue, "{name}: {e}");
            None
        }
        (Err(e), BodyShape::Unreadable) => panic!("{name}: an unreadable body must read as {{}}, got {e}"),
        (Ok(_), BodyShape::OtherJson) => panic!("{name}: a JSON body that is not an object was accepted"),
        (Ok(req), shape) => {
            let canon = canonical(&req);
            if shape == BodyShape::Unreadable {
                assert_eq!(canon, canonical(&T::default()), "{name}: unreadable body is not {{}}");
            }
            // Decoding what we decoded, written canonically, must be a fixed point: no field
            // changes value (doubles compared by their JSON, so bit-exact incl. -0.0 and NaN).
            let again: T = decode_json_body(&canon).unwrap_or_else(|e| {
                panic!(
                    "{name}: canonical form {} refused: {e}",
                    String::from_utf8_lossy(&canon)
                )
            });
            assert_eq!(
                String::from_utf8_lossy(&canonical(&again)),
                String::from_utf8_lossy(&canon),
                "{name}: canonical form is not stable"
            );
            Some(req)
        }
    }
}

fn same_double(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn metric_value(body: &str) -> Option<f64> {
    let req: LogMetricReq = decode_json_body(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"));
    req.metric.value
}

fn step(body: &str) -> Result<Option<i64>, mlp_core::Error> {
    decode_json_body::<LogMetricReq>(body.as_bytes()).map(|r| r.metric.step)
}

/// A double survives the wire both ways it may be spelled: as protobuf JSON writes it (a number,
/// or "NaN"/"Infinity") and as a string of its decimal form.
fn check_double(v: f64) {
    let written = serde_json::to_string(&MetricIn {
        value: Some(v),
        ..Default::default()
    })
    .unwrap();
    let back = metric_value(&written).unwrap_or_else(|| panic!("{written}: value lost"));
    assert!(
        same_double(v, back),
        "{v:?} ({:#x}) came back as {back:?} via {written}",
        v.to_bits()
    );

    let quoted = format!(r#"{{"value": "{v}"}}"#);
    let back = metric_value(&quoted).unwrap_or_else(|| panic!("{quoted}: value lost"));
    assert!(same_double(v, back), "{v:?} came back as {back:?} via {quoted}");
}

/// An int64 reads the same as a number, as a string, and as a string with spaces; a number past
/// int64 is refused rather than wrapped.
fn check_int64(n: i64, big: u64) {
    for body in [
        format!(r#"{{"step": {n}}}"#),
        format!(r#"{{"step": "{n}"}}"#),
        format!(r#"{{"step": " {n} "}}"#),
    ] {
        assert_eq!(step(&body).map_err(|e| e.message), Ok(Some(n)), "{body}");
    }
    if big > i64::MAX as u64 {
        let body = format!(r#"{{"step": {big}}}"#);
        assert!(step(&body).is_err(), "{body} was accepted");
    }
}

/// The server's checks after decoding a log-batch; whatever they accept must be what the store
/// may write.
fn check_log_batch(req: LogBatchReq) {
    if validation::validate_batch_sizes(req.metrics.len(), req.params.len(), req.tags.len()).is_err() {
        return;
    }
    let metrics: Option<Vec<Metric>> = req
        .metrics
        .into_iter()
        .map(|m| {
            Some(Metric {
                key: m.key.filter(|k| !k.is_empty())?,
                value: m.value?,
                timestamp: m.timestamp?,
                step: m.step.unwrap_or(0),
                model_id: m.model_id,
                dataset_name: m.dataset_name,
                dataset_digest: m.dataset_digest,
                run_id: None,
            })
        })
        .collect();
    let to_tags = |v: Vec<TagIn>| -> Option<Vec<Tag>> {
        v.into_iter()
            .map(|t| {
                Some(Tag {
                    key: t.key.filter(|k| !k.is_empty())?,
                    value: t.value?,
                })
            })
            .collect()
    };
    let (Some(mut metrics), Some(mut params), Some(mut tags)) = (metrics, to_tags(req.params), to_tags(req.tags))
    else {
        return;
    };
    if validation::normalise_batch(&mut metrics, &mut params, &mut tags).is_err() {
        return;
    }
    for m in &metrics {
        assert!(!m.value.is_infinite(), "infinity reached the store: {m:?}");
        validation::validate_key("metric", &m.key).expect("normalised metric key is valid");
    }
    for p in &params {
        assert!(p.value.chars().count() <= MAX_PARAM_VAL_LENGTH);
    }
    for t in &tags {
        assert!(t.value.chars().count() <= MAX_TAG_VAL_LENGTH);
    }
    // Normalising is idempotent: replaying a batch (which clients do) changes nothing.
    let (m2, p2, t2) = (metrics.clone(), params.clone(), tags.clone());
    let (mut m3, mut p3, mut t3) = (metrics, params, tags);
    validation::normalise_batch(&mut m3, &mut p3, &mut t3).expect("a normalised batch is still valid");
    assert!(
        m2.iter()
            .zip(&m3)
            .all(|(a, b)| same_double(a.value, b.value) && a.key == b.key)
    );
    assert_eq!((p2, t2), (p3, t3));
}

fn check_page_token(token: &str, query: &[&str]) {
    let fp = paging::fingerprint(query);
    match paging::decode(Some(token), fp) {
        Ok(offset) => {
            assert!(offset <= i64::MAX as u64, "token {token:?} gave offset {offset}");
            assert_eq!(paging::decode(Some(&paging::encode(offset, fp)), fp), Ok(offset));
        }
        Err(e) => assert_eq!(e.code, ErrorCode::InvalidParameterValue, "token {token:?}: {e}"),
    }
}

fn check_job_spec(body: &[u8], shape: BodyShape) {
    // mlp-server decodes a job spec without the wire helpers (plain serde on the body's object).
    let Ok(spec) = decode_json_body::<JobSpec>(body) else {
        return;
    };
    assert_ne!(shape, BodyShape::OtherJson);
    let value = serde_json::to_value(&spec).expect("a job spec serialises");
    let back: JobSpec = serde_json::from_value(value).expect("a serialised job spec decodes");
    assert_eq!(back, spec, "job spec does not round-trip");
    if let Ok(valid) = spec.validate() {
        assert_eq!(
            valid.clone().validate().as_ref(),
            Ok(&valid),
            "validating a job spec twice changes it"
        );
    }
}

fn word(data: &[u8], at: usize) -> [u8; 8] {
    let mut w = [0u8; 8];
    for (i, b) in w.iter_mut().enumerate() {
        *b = data.get(at + i).copied().unwrap_or(0);
    }
    w
}

fuzz_target!(|data: &[u8]| {
    let shape = shape(data);

    decode::<CreateExperimentReq>(data, shape);
    if let Some(t) = decode::<SearchExperimentsReq>(data, shape).and_then(|r| r.page_token) {
        check_page_token(&t, &["experiments"]);
    }
    decode::<CreateRunReq>(data, shape);
    decode::<UpdateRunReq>(data, shape);
    decode::<LogMetricReq>(data, shape);
    decode::<BulkIntervalReq>(data, shape);
    if let Some(r) = decode::<MetricHistoryReq>(data, shape)
        && let Some(t) = r.page_token
    {
        check_page_token(
            &t,
            &[
                r.id.run_id.as_deref().unwrap_or(""),
                r.metric_key.as_deref().unwrap_or(""),
            ],
        );
    }
    if let Some(r) = decode::<SearchRunsReq>(data, shape) {
        // The grammar has its own target; this only makes sure decoded requests reach it.
        if let Some(f) = &r.filter {
            let _ = search::parse_filter(SearchKind::Runs, f);
        }
        for o in &r.order_by {
            let _ = search::parse_order_by(SearchKind::Runs, o);
        }
        if let Some(t) = &r.page_token {
            check_page_token(t, &["runs"]);
        }
    }
    if let Some(batch) = decode::<LogBatchReq>(data, shape) {
        check_log_batch(batch);
    }
    check_job_spec(data, shape);

    // The same bytes read as numbers, for the wire helpers' round trips.
    check_double(f64::from_le_bytes(word(data, 0)));
    check_int64(i64::from_le_bytes(word(data, 8)), u64::from_le_bytes(word(data, 16)));
    let fp = paging::fingerprint(&["runs", "1"]);
    let offset = u64::from_le_bytes(word(data, 0)) >> 1;
    assert_eq!(paging::decode(Some(&paging::encode(offset, fp)), fp), Ok(offset));
});

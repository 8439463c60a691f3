//! Request input as MLflow's server reads it: GET fields from the query string (repeated keys
//! become lists), other methods from a JSON body, both merged into one JSON object and then
//! deserialised into a typed request. A malformed body reads as an empty one, so the client gets
//! the same "missing required parameter" error MLflow gives.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::Method;
use axum::http::request::Parts;
use mlp_core::Error;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A request's fields: from the query string on GET, from the JSON body on POST, PATCH and PUT
/// (a query string there is ignored: an HTML form on any web site can put fields in a URL, and
/// none of it must reach a state-changing call), and from both on DELETE (MLflow's client sends
/// a JSON body, other clients the query string).
pub enum Input {
    Fields(Value),
    Body(Bytes),
}

/// Path parameters whose rejection (say, a path that is not UTF-8) is an MLflow error, 400 with
/// `{"error_code", "message"}`, rather than axum's plain-text answer. Handlers import it as
/// `Path`.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(ApiError(Error::invalid(e.body_text()))),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Input {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let method = req.method().clone();
        let query = if method == Method::GET || method == Method::DELETE {
            req.uri().query().map(query_fields)
        } else {
            None
        };
        let body = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        if method == Method::GET {
            return Ok(Input::Fields(Value::Object(query.unwrap_or_default())));
        }
        if method != Method::DELETE {
            return Ok(Input::Body(body));
        }
        let mut map = query.unwrap_or_default();
        if let Some(fields) = mlp_core::wire::decode_json_body::<Option<Map<String, Value>>>(&body)? {
            map.extend(fields);
        }
        Ok(Input::Fields(Value::Object(map)))
    }
}

/// Query-string fields; repeated keys become lists.
fn query_fields(query: &str) -> Map<String, Value> {
    let mut map = Map::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = Value::String(v.into_owned());
        match map.get_mut(k.as_ref()) {
            Some(Value::Array(items)) => items.push(v),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, v]);
            }
            None => {
                map.insert(k.into_owned(), v);
            }
        }
    }
    map
}

/// A body over the route's limit is the caller's mistake: 413 with MLflow's error shape, never a
/// bare text answer or a 5xx the client would retry.
fn body_rejection(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError(Error::new(
            mlp_core::ErrorCode::PayloadTooLarge,
            "The request body is larger than this endpoint accepts".to_string(),
        ))
    } else {
        ApiError(Error::invalid(format!("Cannot read the request body: {e}")))
    }
}

impl Input {
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, Error> {
        self.parse_as("Invalid request")
    }

    /// Like [`Input::parse`], with `what` leading the message of a field that does not decode.
    pub fn parse_as<T: DeserializeOwned>(self, what: &str) -> Result<T, Error> {
        match self {
            Input::Fields(v) => serde_json::from_value(v).map_err(|e| Error::invalid(format!("{what}: {e}"))),
            Input::Body(b) => {
                mlp_core::wire::decode_json_body(&b).map_err(|e| match e.message.strip_prefix("Invalid request") {
                    Some(rest) => Error::invalid(format!("{what}{rest}")),
                    None => e,
                })
            }
        }
    }
}

/// A required field: MLflow's message when it is absent or empty.
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, Error> {
    value.ok_or_else(|| Error::missing(field))
}

pub fn required_str(value: Option<String>, field: &str) -> Result<String, Error> {
    value.filter(|s| !s.is_empty()).ok_or_else(|| Error::missing(field))
}

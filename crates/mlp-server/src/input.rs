//! Request input as MLflow's server reads it: GET fields from the query string (repeated keys
//! become lists), other methods from a JSON body, both merged into one JSON object and then
//! deserialised into a typed request. A malformed body reads as an empty one, so the client gets
//! the same "missing required parameter" error MLflow gives.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use mlp_core::Error;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

pub struct Input(pub Value);

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
        let mut map = Map::new();
        if let Some(query) = req.uri().query() {
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
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError(Error::invalid(format!("Cannot read the request body: {e}"))))?;
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(fields)) => map.extend(fields),
            // Valid JSON that is not an object cannot be a request message.
            Ok(other) => {
                return Err(ApiError(Error::invalid(format!(
                    "Invalid request body: expected a JSON object, got {}",
                    match other {
                        Value::Array(_) => "an array",
                        Value::Null => "null",
                        Value::String(_) => "a string",
                        Value::Number(_) => "a number",
                        _ => "a boolean",
                    }
                ))));
            }
            // Empty or malformed bodies read as empty, as in MLflow.
            Err(_) => {}
        }
        Ok(Input(Value::Object(map)))
    }
}

impl Input {
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, Error> {
        serde_json::from_value(self.0).map_err(|e| Error::invalid(format!("Invalid request: {e}")))
    }
}

/// A required field: MLflow's message when it is absent or empty.
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, Error> {
    value.ok_or_else(|| Error::missing(field))
}

pub fn required_str(value: Option<String>, field: &str) -> Result<String, Error> {
    value.filter(|s| !s.is_empty()).ok_or_else(|| Error::missing(field))
}

//! The one mapping from domain errors to the wire: `{"error_code", "message"}` with MLflow's
//! status for the code. Server faults are logged with an error id and answered with that id
//! only, so no SQL or path ever reaches a client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mlp_core::{Error, ErrorCode};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code;
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if code.is_server_fault() {
            let error_id = uuid::Uuid::now_v7().simple().to_string();
            tracing::error!(error_id, error_code = code.as_str(), cause = %self.0.message, "internal error");
            format!("An internal error occurred. Quote error id {error_id} when reporting it.")
        } else {
            if code == ErrorCode::TemporarilyUnavailable {
                tracing::warn!(cause = %self.0.message, "store unavailable");
            }
            self.0.message
        };
        (status, Json(json!({ "error_code": code.as_str(), "message": message }))).into_response()
    }
}

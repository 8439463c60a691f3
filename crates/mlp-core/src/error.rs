use std::fmt;

/// MLflow's error codes, as the client reads them from `error_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidParameterValue,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    EndpointNotFound,
    BadRequest,
    InvalidState,
    InternalError,
    NotImplemented,
    TemporarilyUnavailable,
    /// 403: refused by a security rule (a foreign Host or Origin) or, later, a permission.
    PermissionDenied,
    /// 413: a body over the endpoint's limit. MLflow has no code of its own for it.
    PayloadTooLarge,
    /// 415: a state-changing call whose body is not declared as JSON.
    UnsupportedMediaType,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            ErrorCode::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            ErrorCode::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::InvalidState => "INVALID_STATE",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::NotImplemented => "NOT_IMPLEMENTED",
            ErrorCode::TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::PayloadTooLarge | ErrorCode::UnsupportedMediaType => "BAD_REQUEST",
        }
    }

    /// The HTTP status MLflow pairs with the code (`mlflow/exceptions.py`).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidParameterValue | ErrorCode::ResourceAlreadyExists | ErrorCode::BadRequest => 400,
            ErrorCode::ResourceDoesNotExist | ErrorCode::EndpointNotFound => 404,
            ErrorCode::InvalidState | ErrorCode::InternalError => 500,
            ErrorCode::NotImplemented => 501,
            ErrorCode::TemporarilyUnavailable => 503,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
        }
    }

    /// Server faults: their message is logged, never sent to the client.
    pub fn is_server_fault(self) -> bool {
        matches!(self, ErrorCode::InternalError | ErrorCode::InvalidState)
    }
}

/// The one error of the domain. Back-ends convert their own failures into it; the HTTP layer maps
/// it to the wire exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceDoesNotExist, message)
    }
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceAlreadyExists, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::TemporarilyUnavailable, message)
    }
    pub fn missing(field: &str) -> Self {
        Self::invalid(format!(
            "Missing value for required parameter '{field}'. See the API docs for more information about request parameters."
        ))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Error {}

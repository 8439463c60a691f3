//! The domain of the platform: entities as the MLflow wire format shapes them, one error type
//! carrying MLflow's error codes, input validation and limits, the search-filter grammar, and the
//! store traits that every storage back-end implements. Nothing here performs I/O.

pub mod auth;
pub mod clock;
pub mod error;
pub mod jobs;
pub mod metrics;
pub mod model;
pub mod names;
pub mod paging;
pub mod redact;
pub mod registry;
pub mod runs;
pub mod search;
pub mod storage_uri;
pub mod store;
pub mod sweeps;
pub mod validation;
pub mod wire;

pub use error::{Error, ErrorCode, Result};

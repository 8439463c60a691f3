//! The data-processing example of the platform's jobs: read a CSV dataset, validate it against
//! a schema, profile its columns, and log the cleaned data, the profile and a dataset input to
//! an MLflow run. Sharded runs (MLP_SHARD_INDEX / MLP_SHARD_COUNT) each take every N-th row.

pub mod csv;
pub mod process;
pub mod schema;
pub mod stats;
pub mod tracking;

// Never compiled here (see `stamp_queries!`): declared only so that `cargo fmt` formats the
// query modules with the rest of the workspace.
mod experiments;
mod jobs;
mod logged_models;
mod migrations;
mod registry;
mod runs;
mod sweeps;
mod tracking;

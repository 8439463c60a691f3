-- Tracking: experiments, runs, params, tags, metrics (full history and latest per key),
-- datasets and run inputs/outputs, logged models.
--
-- PostgreSQL edition of the SQLite schema, column for column. Differences: BIGINT/BIGSERIAL for
-- integers, DOUBLE PRECISION for metric values (NaN is still stored as 0 + is_nan, as on SQLite),
-- and every text column uses the "C" collation so that comparisons and ORDER BY are byte-wise,
-- as SQLite's BINARY collation is, whatever the database's default locale.

CREATE TABLE experiments (
    experiment_id     BIGSERIAL PRIMARY KEY,
    name              TEXT COLLATE "C"    NOT NULL UNIQUE,
    artifact_location TEXT COLLATE "C"    NOT NULL,
    lifecycle_stage   TEXT COLLATE "C"    NOT NULL DEFAULT 'active',
    creation_time     BIGINT NOT NULL,
    last_update_time  BIGINT NOT NULL
);

CREATE TABLE experiment_tags (
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    key           TEXT COLLATE "C"    NOT NULL,
    value         TEXT COLLATE "C"    NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE runs (
    run_uuid        TEXT COLLATE "C"    PRIMARY KEY,
    experiment_id   BIGINT NOT NULL REFERENCES experiments (experiment_id),
    name            TEXT COLLATE "C"    NOT NULL,
    user_id         TEXT COLLATE "C"    NOT NULL,
    status          TEXT COLLATE "C"    NOT NULL,
    start_time      BIGINT NOT NULL,
    end_time        BIGINT,
    artifact_uri    TEXT COLLATE "C"    NOT NULL,
    lifecycle_stage TEXT COLLATE "C"    NOT NULL DEFAULT 'active',
    deleted_time    BIGINT
);
-- The default search order (start_time DESC, run_uuid) within experiments.
CREATE INDEX runs_experiment_start ON runs (experiment_id, start_time DESC, run_uuid);

CREATE TABLE params (
    run_uuid TEXT COLLATE "C" NOT NULL REFERENCES runs (run_uuid),
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_uuid, key)
);
CREATE INDEX params_key_value ON params (key, value);

CREATE TABLE tags (
    run_uuid TEXT COLLATE "C" NOT NULL REFERENCES runs (run_uuid),
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_uuid, key)
);
CREATE INDEX tags_key_value ON tags (key, value);

-- Every logged point. The primary key makes a replayed point a no-op, as MLflow dedupes on
-- (run, key, timestamp, step, value).
CREATE TABLE metrics (
    run_uuid       TEXT COLLATE "C"    NOT NULL REFERENCES runs (run_uuid),
    key            TEXT COLLATE "C"    NOT NULL,
    value          DOUBLE PRECISION    NOT NULL,
    is_nan         BIGINT NOT NULL DEFAULT 0,
    timestamp      BIGINT NOT NULL,
    step           BIGINT NOT NULL,
    model_id       TEXT COLLATE "C",
    dataset_name   TEXT COLLATE "C",
    dataset_digest TEXT COLLATE "C",
    PRIMARY KEY (run_uuid, key, step, timestamp, value, is_nan)
);

-- The latest value per (run, key): highest step, then timestamp, then value. Search and get-run
-- read only this table, never the history.
CREATE TABLE latest_metrics (
    run_uuid  TEXT COLLATE "C"    NOT NULL REFERENCES runs (run_uuid),
    key       TEXT COLLATE "C"    NOT NULL,
    value     DOUBLE PRECISION    NOT NULL,
    is_nan    BIGINT NOT NULL DEFAULT 0,
    timestamp BIGINT NOT NULL,
    step      BIGINT NOT NULL,
    PRIMARY KEY (run_uuid, key)
);
CREATE INDEX latest_metrics_key_value ON latest_metrics (key, value);

CREATE TABLE datasets (
    dataset_uuid  TEXT COLLATE "C"    PRIMARY KEY,
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    name          TEXT COLLATE "C"    NOT NULL,
    digest        TEXT COLLATE "C"    NOT NULL,
    source_type   TEXT COLLATE "C"    NOT NULL,
    source        TEXT COLLATE "C"    NOT NULL,
    schema        TEXT COLLATE "C",
    profile       TEXT COLLATE "C",
    UNIQUE (experiment_id, name, digest)
);

CREATE TABLE run_dataset_inputs (
    run_uuid     TEXT COLLATE "C"    NOT NULL REFERENCES runs (run_uuid),
    dataset_uuid TEXT COLLATE "C"    NOT NULL REFERENCES datasets (dataset_uuid),
    position     BIGINT NOT NULL,
    PRIMARY KEY (run_uuid, dataset_uuid)
);

CREATE TABLE run_dataset_input_tags (
    run_uuid     TEXT COLLATE "C" NOT NULL,
    dataset_uuid TEXT COLLATE "C" NOT NULL,
    key          TEXT COLLATE "C" NOT NULL,
    value        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_uuid, dataset_uuid, key)
);

CREATE TABLE run_model_inputs (
    run_uuid TEXT COLLATE "C" NOT NULL REFERENCES runs (run_uuid),
    model_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_uuid, model_id)
);

CREATE TABLE run_model_outputs (
    run_uuid TEXT COLLATE "C"    NOT NULL REFERENCES runs (run_uuid),
    model_id TEXT COLLATE "C"    NOT NULL,
    step     BIGINT NOT NULL,
    PRIMARY KEY (run_uuid, model_id, step)
);

CREATE TABLE logged_models (
    model_id                  TEXT COLLATE "C"    PRIMARY KEY,
    experiment_id             BIGINT NOT NULL REFERENCES experiments (experiment_id),
    name                      TEXT COLLATE "C"    NOT NULL,
    artifact_uri              TEXT COLLATE "C"    NOT NULL,
    creation_timestamp_ms     BIGINT NOT NULL,
    last_updated_timestamp_ms BIGINT NOT NULL,
    status                    TEXT COLLATE "C"    NOT NULL,
    status_message            TEXT COLLATE "C",
    model_type                TEXT COLLATE "C"    NOT NULL DEFAULT '',
    source_run_id             TEXT COLLATE "C"    NOT NULL DEFAULT '',
    lifecycle_stage           TEXT COLLATE "C"    NOT NULL DEFAULT 'active'
);
CREATE INDEX logged_models_experiment ON logged_models (experiment_id, creation_timestamp_ms DESC);

CREATE TABLE logged_model_tags (
    model_id TEXT COLLATE "C" NOT NULL REFERENCES logged_models (model_id),
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE logged_model_params (
    model_id TEXT COLLATE "C" NOT NULL REFERENCES logged_models (model_id),
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE logged_model_metrics (
    model_id       TEXT COLLATE "C"    NOT NULL,
    key            TEXT COLLATE "C"    NOT NULL,
    value          DOUBLE PRECISION    NOT NULL,
    is_nan         BIGINT NOT NULL DEFAULT 0,
    timestamp      BIGINT NOT NULL,
    step           BIGINT NOT NULL,
    run_uuid       TEXT COLLATE "C"    NOT NULL,
    dataset_name   TEXT COLLATE "C"    NOT NULL DEFAULT '',
    dataset_digest TEXT COLLATE "C"    NOT NULL DEFAULT '',
    PRIMARY KEY (model_id, key, step, timestamp, value, is_nan, dataset_name, dataset_digest)
);

-- Metric values come back bit for bit. In a column of REAL affinity SQLite writes an integral
-- double as an integer on disk and reads it back as a double, which turns -0.0 into 0.0. A
-- column without affinity (declared BLOB) stores the IEEE double as given; comparisons between
-- numbers stay numeric, so filters and ordering are unchanged. The tables are rebuilt because
-- SQLite cannot change a column's type in place.

CREATE TABLE metrics_v2 (
    run_uuid       TEXT    NOT NULL REFERENCES runs (run_uuid),
    key            TEXT    NOT NULL,
    value          BLOB    NOT NULL,
    is_nan         INTEGER NOT NULL DEFAULT 0,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL,
    model_id       TEXT,
    dataset_name   TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (run_uuid, key, step, timestamp, value, is_nan)
) WITHOUT ROWID;
INSERT INTO metrics_v2 (run_uuid, key, value, is_nan, timestamp, step, model_id, dataset_name, dataset_digest)
    SELECT run_uuid, key, value, is_nan, timestamp, step, model_id, dataset_name, dataset_digest FROM metrics;
DROP TABLE metrics;
ALTER TABLE metrics_v2 RENAME TO metrics;

CREATE TABLE latest_metrics_v2 (
    run_uuid  TEXT    NOT NULL REFERENCES runs (run_uuid),
    key       TEXT    NOT NULL,
    value     BLOB    NOT NULL,
    is_nan    INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    PRIMARY KEY (run_uuid, key)
);
INSERT INTO latest_metrics_v2 (run_uuid, key, value, is_nan, timestamp, step)
    SELECT run_uuid, key, value, is_nan, timestamp, step FROM latest_metrics;
DROP TABLE latest_metrics;
ALTER TABLE latest_metrics_v2 RENAME TO latest_metrics;
CREATE INDEX latest_metrics_key_value ON latest_metrics (key, value);

CREATE TABLE logged_model_metrics_v2 (
    model_id       TEXT    NOT NULL,
    key            TEXT    NOT NULL,
    value          BLOB    NOT NULL,
    is_nan         INTEGER NOT NULL DEFAULT 0,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL,
    run_uuid       TEXT    NOT NULL,
    dataset_name   TEXT    NOT NULL DEFAULT '',
    dataset_digest TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (model_id, key, step, timestamp, value, is_nan, dataset_name, dataset_digest)
);
INSERT INTO logged_model_metrics_v2 SELECT model_id, key, value, is_nan, timestamp, step, run_uuid, dataset_name, dataset_digest FROM logged_model_metrics;
DROP TABLE logged_model_metrics;
ALTER TABLE logged_model_metrics_v2 RENAME TO logged_model_metrics;

-- Model registry. Renames and deletes cascade from the registered model to its versions, tags
-- and aliases; deleting a version takes its aliases with it.

CREATE TABLE registered_models (
    name                   TEXT    PRIMARY KEY,
    creation_timestamp     INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    description            TEXT,
    user_id                TEXT,
    -- Version numbers are never reused, even after a delete.
    last_version           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE registered_model_tags (
    name  TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE model_versions (
    name                   TEXT    NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    version                INTEGER NOT NULL,
    creation_timestamp     INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    description            TEXT    NOT NULL DEFAULT '',
    user_id                TEXT,
    current_stage          TEXT    NOT NULL DEFAULT 'None',
    source                 TEXT    NOT NULL,
    run_id                 TEXT    NOT NULL DEFAULT '',
    run_link               TEXT    NOT NULL DEFAULT '',
    status                 TEXT    NOT NULL DEFAULT 'READY',
    storage_location       TEXT    NOT NULL,
    model_id               TEXT,
    PRIMARY KEY (name, version)
);
CREATE INDEX model_versions_run ON model_versions (run_id);

CREATE TABLE model_version_tags (
    name    TEXT    NOT NULL,
    version INTEGER NOT NULL,
    key     TEXT    NOT NULL,
    value   TEXT    NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE registered_model_aliases (
    name    TEXT    NOT NULL,
    alias   TEXT    NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE ON DELETE CASCADE
);

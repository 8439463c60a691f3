-- Model registry. Renames and deletes cascade from the registered model to its versions, tags
-- and aliases; deleting a version takes its aliases with it.

CREATE TABLE registered_models (
    name                   TEXT COLLATE "C"    PRIMARY KEY,
    creation_timestamp     BIGINT NOT NULL,
    last_updated_timestamp BIGINT NOT NULL,
    description            TEXT COLLATE "C",
    user_id                TEXT COLLATE "C",
    -- Version numbers are never reused, even after a delete.
    last_version           BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE registered_model_tags (
    name  TEXT COLLATE "C" NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    key   TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE model_versions (
    name                   TEXT COLLATE "C"    NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    version                BIGINT NOT NULL,
    creation_timestamp     BIGINT NOT NULL,
    last_updated_timestamp BIGINT NOT NULL,
    description            TEXT COLLATE "C"    NOT NULL DEFAULT '',
    user_id                TEXT COLLATE "C",
    current_stage          TEXT COLLATE "C"    NOT NULL DEFAULT 'None',
    source                 TEXT COLLATE "C"    NOT NULL,
    run_id                 TEXT COLLATE "C"    NOT NULL DEFAULT '',
    run_link               TEXT COLLATE "C"    NOT NULL DEFAULT '',
    status                 TEXT COLLATE "C"    NOT NULL DEFAULT 'READY',
    storage_location       TEXT COLLATE "C"    NOT NULL,
    model_id               TEXT COLLATE "C",
    PRIMARY KEY (name, version)
);
CREATE INDEX model_versions_run ON model_versions (run_id);

CREATE TABLE model_version_tags (
    name    TEXT COLLATE "C"    NOT NULL,
    version BIGINT NOT NULL,
    key     TEXT COLLATE "C"    NOT NULL,
    value   TEXT COLLATE "C"    NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE registered_model_aliases (
    name    TEXT COLLATE "C"    NOT NULL,
    alias   TEXT COLLATE "C"    NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE ON DELETE CASCADE
);

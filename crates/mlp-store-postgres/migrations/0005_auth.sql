-- Authentication and permissions (issue 14): users with argon2id hashes, per-user grants on
-- experiments and registered models, personal access tokens stored as SHA-256 of their secret.

CREATE TABLE auth_users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE auth_grants (
    user_id       BIGINT  NOT NULL REFERENCES auth_users(id) ON DELETE CASCADE,
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    permission    TEXT    NOT NULL,
    PRIMARY KEY (user_id, resource_type, resource_id)
);
-- Renames and deletes of a resource touch every user's grant on it.
CREATE INDEX auth_grants_resource ON auth_grants (resource_type, resource_id);

CREATE TABLE auth_tokens (
    id          TEXT    PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES auth_users(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);

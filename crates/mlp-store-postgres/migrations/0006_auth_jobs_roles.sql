-- Issue 14, second part: who submitted each job, run-scoped job tokens, and MLflow's roles.

-- The username that submitted the job (NULL: submitted with auth off); non-admins see only theirs.
ALTER TABLE jobs ADD COLUMN owner TEXT;
CREATE INDEX jobs_owner_created ON jobs (owner, created_at DESC);

-- A job attempt's own credential: SHA-256 of its secret, valid for its run until it expires or
-- the attempt ends (the worker deletes it).
CREATE TABLE auth_job_tokens (
    secret_hash   TEXT    PRIMARY KEY,
    job_id        TEXT    NOT NULL,
    run_id        TEXT    NOT NULL,
    experiment_id TEXT    NOT NULL,
    -- The submitter, whose registry permissions the job uses for models from its run.
    owner         TEXT,
    expires_at    BIGINT  NOT NULL
);
CREATE INDEX auth_job_tokens_job ON auth_job_tokens (job_id);

-- Roles as MLflow 3.17.2 has them: named per workspace, holding permissions on resource
-- patterns, assigned to users.
CREATE TABLE auth_roles (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT    NOT NULL,
    workspace   TEXT    NOT NULL,
    description TEXT,
    UNIQUE (workspace, name)
);

CREATE TABLE auth_role_permissions (
    id               BIGSERIAL PRIMARY KEY,
    role_id          BIGINT  NOT NULL REFERENCES auth_roles(id) ON DELETE CASCADE,
    resource_type    TEXT    NOT NULL,
    resource_pattern TEXT    NOT NULL,
    permission       TEXT    NOT NULL,
    UNIQUE (role_id, resource_type, resource_pattern)
);

CREATE TABLE auth_user_roles (
    id      BIGSERIAL PRIMARY KEY,
    user_id BIGINT  NOT NULL REFERENCES auth_users(id) ON DELETE CASCADE,
    role_id BIGINT  NOT NULL REFERENCES auth_roles(id) ON DELETE CASCADE,
    UNIQUE (user_id, role_id)
);
CREATE INDEX auth_user_roles_role ON auth_user_roles (role_id);

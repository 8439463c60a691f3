-- Hyperparameter sweeps (issue 19): a sweep, driven by one controller at a time (a lease, as
-- for jobs), and its trials, each a job whose run is a child of the sweep's parent run.

CREATE TABLE sweeps (
    sweep_id         TEXT COLLATE "C"    PRIMARY KEY,
    name             TEXT COLLATE "C"    NOT NULL,
    spec             TEXT COLLATE "C"    NOT NULL,
    state            TEXT COLLATE "C"    NOT NULL,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    experiment_id    TEXT COLLATE "C",
    parent_run_id    TEXT COLLATE "C",
    owner            TEXT COLLATE "C",
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    reason           TEXT COLLATE "C",
    best_trial       BIGINT,
    best_value       DOUBLE PRECISION,
    worker_id        TEXT COLLATE "C",
    lease_expires_at BIGINT
);
CREATE INDEX sweeps_state_created ON sweeps (state, created_at);
CREATE INDEX sweeps_owner_created ON sweeps (owner, created_at DESC);

CREATE TABLE sweep_trials (
    sweep_id      TEXT COLLATE "C"    NOT NULL REFERENCES sweeps(sweep_id) ON DELETE CASCADE,
    trial_index   BIGINT NOT NULL,
    job_id        TEXT COLLATE "C"    NOT NULL REFERENCES jobs(job_id),
    params        TEXT COLLATE "C"    NOT NULL,
    objective     DOUBLE PRECISION,
    rungs_passed  BIGINT NOT NULL DEFAULT 0,
    early_stopped BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    -- The index is what makes launching a trial idempotent between controllers.
    PRIMARY KEY (sweep_id, trial_index)
);
CREATE UNIQUE INDEX sweep_trials_job ON sweep_trials (job_id);

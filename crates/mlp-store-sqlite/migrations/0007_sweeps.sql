-- Hyperparameter sweeps (issue 19): a sweep, driven by one controller at a time (a lease, as
-- for jobs), and its trials, each a job whose run is a child of the sweep's parent run.

CREATE TABLE sweeps (
    sweep_id         TEXT    PRIMARY KEY,
    name             TEXT    NOT NULL,
    spec             TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    experiment_id    TEXT,
    parent_run_id    TEXT,
    owner            TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    reason           TEXT,
    best_trial       INTEGER,
    best_value       REAL,
    worker_id        TEXT,
    lease_expires_at INTEGER
);
CREATE INDEX sweeps_state_created ON sweeps (state, created_at);
CREATE INDEX sweeps_owner_created ON sweeps (owner, created_at DESC);

CREATE TABLE sweep_trials (
    sweep_id      TEXT    NOT NULL REFERENCES sweeps(sweep_id) ON DELETE CASCADE,
    trial_index   INTEGER NOT NULL,
    job_id        TEXT    NOT NULL REFERENCES jobs(job_id),
    params        TEXT    NOT NULL,
    objective     REAL,
    rungs_passed  INTEGER NOT NULL DEFAULT 0,
    early_stopped INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    -- The index is what makes launching a trial idempotent between controllers.
    PRIMARY KEY (sweep_id, trial_index)
);
CREATE UNIQUE INDEX sweep_trials_job ON sweep_trials (job_id);

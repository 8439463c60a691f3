-- Jobs: the durable record of every submitted workload. The queue (in-process or Redis
-- Streams) only wakes workers; which worker runs a job is decided here, by a conditional update
-- on the state and the lease.

CREATE TABLE jobs (
    job_id           TEXT    PRIMARY KEY,
    name             TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    spec             TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    exit_code        INTEGER,
    reason           TEXT,
    run_id           TEXT,
    experiment_id    TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    worker_id        TEXT,
    lease_expires_at INTEGER,
    -- A retried job waits until then before it may run again.
    not_before       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_state_created ON jobs (state, created_at);
CREATE INDEX jobs_created ON jobs (created_at DESC);

-- Jobs: the durable record of every submitted workload. The queue (in-process or Redis
-- Streams) only wakes workers; which worker runs a job is decided here, by a conditional update
-- on the state and the lease.

CREATE TABLE jobs (
    job_id           TEXT COLLATE "C"    PRIMARY KEY,
    name             TEXT COLLATE "C"    NOT NULL,
    kind             TEXT COLLATE "C"    NOT NULL,
    spec             TEXT COLLATE "C"    NOT NULL,
    state            TEXT COLLATE "C"    NOT NULL,
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    exit_code        BIGINT,
    reason           TEXT COLLATE "C",
    run_id           TEXT COLLATE "C",
    experiment_id    TEXT COLLATE "C",
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    worker_id        TEXT COLLATE "C",
    lease_expires_at BIGINT,
    -- A retried job waits until then before it may run again.
    not_before       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_state_created ON jobs (state, created_at);
CREATE INDEX jobs_created ON jobs (created_at DESC);

//! Sweeps: creating and cancelling them (what the API calls), and the controller that drives
//! them. The controller keeps no state of its own: every tick it reads the sweep, its trials and
//! their metric histories from the stores, decides (the pure code of `mlp_core::sweeps`), and
//! writes what it decided. A controller holds a sweep with a lease, as a worker holds a job, so
//! two replicas never drive one sweep, and a restarted one resumes where the store says.

use std::sync::Arc;
use std::time::Duration;

use mlp_core::jobs::{Job, JobState};
use mlp_core::model::{Param, RunStatus, Tag};
use mlp_core::store::{CreateRun, LogBatch, PageRequest, UpdateRun};
use mlp_core::sweeps::*;
use mlp_core::{ErrorCode, Result};
use tokio_util::sync::CancellationToken;

use crate::{JobService, now_ms};

pub const TAG_SWEEP_ID: &str = "mlp.sweep_id";
pub const TAG_EARLY_STOPPED: &str = "mlp.sweep.early_stopped";
pub const TAG_BEST_RUN: &str = "mlp.sweep.best_run_id";
pub const TAG_BEST_VALUE: &str = "mlp.sweep.best_value";
pub const TAG_BEST_TRIAL: &str = "mlp.sweep.best_trial";
/// The best trial's parameters as a JSON object (each is also `mlp.sweep.best_param.<name>`).
pub const TAG_BEST_PARAMS: &str = "mlp.sweep.best_params";

/// Points of a trial's objective history read per tick; a trial logging more than this per
/// metric is judged on the first ones (the rungs are early steps).
const HISTORY_LIMIT: u64 = 10_000;

#[derive(Clone)]
pub struct SweepService {
    pub jobs: JobService,
    pub store: Arc<dyn SweepStore>,
}

impl SweepService {
    pub async fn create(&self, spec: SweepSpec, owner: Option<String>) -> Result<Sweep> {
        let spec = spec.validate()?;
        let experiment_id = self.jobs.experiment_id(spec.experiment_name.as_deref()).await?;
        let sweep_id = format!("s-{}", uuid::Uuid::now_v7().simple());
        let run = CreateRun {
            experiment_id,
            user_id: owner.clone().unwrap_or_else(|| "mlp-sweeps".into()),
            run_name: Some(spec.name.clone()),
            start_time: now_ms(),
            tags: vec![
                Tag::new(TAG_SWEEP_ID, sweep_id.clone()),
                Tag::new("mlflow.source.type", "SWEEP"),
                Tag::new("mlp.sweep.objective", spec.objective.metric.clone()),
            ],
        };
        let sweep = Sweep {
            sweep_id,
            spec,
            state: SweepState::Running,
            created_at: now_ms(),
            finished_at: None,
            experiment_id: None,
            parent_run_id: None,
            owner,
            cancel_requested: false,
            reason: None,
            best_trial: None,
            best_value: None,
            worker_id: None,
            lease_expires_at: None,
        };
        let sweep = self.store.insert_sweep_with_run(&sweep, &run).await?;
        tracing::info!(
            sweep_id = sweep.sweep_id,
            trials = sweep.spec.total_trials(),
            "sweep created"
        );
        Ok(sweep)
    }

    /// Asks for cancellation and cancels the running trials at once; the controller makes sure
    /// of it (a trial launched meanwhile) and ends the sweep.
    pub async fn cancel(&self, sweep_id: &str) -> Result<Sweep> {
        let sweep = self.store.request_sweep_cancel(sweep_id).await?;
        if sweep.cancel_requested {
            for t in self.store.list_trials(sweep_id).await? {
                if !t.state.is_terminal() {
                    self.jobs.cancel(&t.job_id).await?;
                }
            }
        }
        Ok(sweep)
    }
}

/// Drives the RUNNING sweeps it can hold, one tick at a time.
pub struct SweepController {
    pub service: SweepService,
    pub worker_id: String,
    pub lease: Duration,
    pub tick: Duration,
}

/// What one tick observed of a trial.
struct Seen {
    trial: Trial,
    rungs: Vec<f64>,
    objective: Option<f64>,
    /// Rungs passed this tick (to be written).
    changed: bool,
}

impl SweepController {
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        tracing::info!(worker_id = self.worker_id, "sweep controller started");
        while !shutdown.is_cancelled() {
            self.tick_once().await;
            tokio::select! {
                _ = tokio::time::sleep(self.tick) => {}
                _ = shutdown.cancelled() => break,
            }
        }
    }

    /// One pass over every sweep this controller may drive.
    pub async fn tick_once(&self) {
        let lease = self.lease.as_millis() as i64;
        let sweeps = match self.service.store.drivable_sweeps(&self.worker_id, now_ms(), 32).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list sweeps");
                return;
            }
        };
        for s in sweeps {
            match self
                .service
                .store
                .claim_sweep(&s.sweep_id, &self.worker_id, now_ms(), lease)
                .await
            {
                Ok(true) => {
                    if let Err(e) = self.step(&s.sweep_id).await {
                        tracing::warn!(sweep_id = s.sweep_id, error = %e, "sweep step failed; retrying next tick");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(sweep_id = s.sweep_id, error = %e, "cannot claim sweep"),
            }
        }
    }

    async fn history(&self, run_id: &str, key: &str) -> Result<Vec<(i64, f64)>> {
        let page = PageRequest {
            offset: 0,
            limit: HISTORY_LIMIT,
        };
        let h = self
            .service
            .jobs
            .tracking
            .get_metric_history(run_id, key, &page)
            .await?;
        Ok(h.items.into_iter().map(|m| (m.step, m.value)).collect())
    }

    /// Observes the trials, stops the hopeless ones, launches new ones within the budget, and
    /// ends the sweep when nothing is left to run.
    pub async fn step(&self, sweep_id: &str) -> Result<()> {
        let store = &self.service.store;
        let sweep = store.get_sweep(sweep_id).await?;
        if sweep.state.is_terminal() {
            return Ok(());
        }
        let spec = &sweep.spec;
        let metric = &spec.objective.metric;
        let asha = spec.asha();
        let mut seen = Vec::new();
        for t in store.list_trials(sweep_id).await? {
            let history = match &t.run_id {
                Some(run) => self.history(run, metric).await?,
                None => Vec::new(),
            };
            let objective = history.iter().max_by_key(|p| p.0).map(|p| p.1);
            let rungs = asha.map(|a| a.rung_values(&history)).unwrap_or_default();
            seen.push(Seen {
                trial: t,
                rungs,
                objective,
                changed: false,
            });
        }

        if let Some(asha) = asha
            && !sweep.cancel_requested
        {
            for i in 0..seen.len() {
                let t = &seen[i].trial;
                if t.state.is_terminal() || t.early_stopped {
                    continue;
                }
                let mut passed = t.rungs_passed;
                let mut stop = false;
                for k in passed as usize..seen[i].rungs.len() {
                    let at_rung: Vec<f64> = seen.iter().filter_map(|o| o.rungs.get(k).copied()).collect();
                    if asha.keep(spec.objective.direction, seen[i].rungs[k], &at_rung) {
                        passed = k as u32 + 1;
                    } else {
                        stop = true;
                        break;
                    }
                }
                if stop {
                    self.stop_early(&sweep, &seen[i].trial, passed).await?;
                    seen[i].trial.early_stopped = true;
                }
                seen[i].changed = passed != seen[i].trial.rungs_passed && !stop;
                seen[i].trial.rungs_passed = passed;
            }
        }
        for s in &seen {
            if s.objective != s.trial.objective || s.changed {
                store
                    .update_trial(
                        sweep_id,
                        s.trial.index,
                        s.objective,
                        s.trial.rungs_passed,
                        s.trial.early_stopped,
                    )
                    .await?;
            }
        }

        let active = seen.iter().filter(|s| !s.trial.state.is_terminal()).count();
        let overdue = spec
            .budget
            .max_duration_seconds
            .is_some_and(|d| now_ms() - sweep.created_at > d as i64 * 1000);
        if sweep.cancel_requested || overdue {
            for s in seen.iter().filter(|s| !s.trial.state.is_terminal()) {
                self.service.jobs.cancel(&s.trial.job_id).await?;
            }
            if active == 0 {
                let (state, reason) = if sweep.cancel_requested {
                    (SweepState::Cancelled, "cancelled")
                } else {
                    (SweepState::Succeeded, "budget.max_duration_seconds reached")
                };
                self.finish(&sweep, &seen, state, reason).await?;
            }
            return Ok(());
        }

        let total = spec.total_trials() as usize;
        let mut launched = seen.len();
        let mut running = active;
        while running < spec.budget.parallelism as usize && launched < total {
            self.launch(&sweep, launched as u32).await?;
            launched += 1;
            running += 1;
        }
        if launched >= total && running == 0 {
            self.finish(&sweep, &seen, SweepState::Succeeded, "every trial ended")
                .await?;
        }
        Ok(())
    }

    async fn stop_early(&self, sweep: &Sweep, t: &Trial, passed: u32) -> Result<()> {
        tracing::info!(
            sweep_id = sweep.sweep_id,
            trial = t.index,
            rung = passed,
            "stopping a trial early"
        );
        if let Some(run_id) = &t.run_id {
            self.service
                .jobs
                .tracking
                .log_batch(&LogBatch {
                    run_id: run_id.clone(),
                    metrics: vec![],
                    params: vec![],
                    tags: vec![Tag::new(TAG_EARLY_STOPPED, "true")],
                })
                .await?;
        }
        // Recorded before the cancel: a crash in between leaves a trial marked and still running,
        // which the next tick cancels (it is no longer judged, but counted as active).
        self.service
            .store
            .update_trial(&sweep.sweep_id, t.index, t.objective, passed, true)
            .await?;
        self.service.jobs.cancel(&t.job_id).await?;
        Ok(())
    }

    async fn launch(&self, sweep: &Sweep, index: u32) -> Result<()> {
        let spec = &sweep.spec;
        let Some(params) = spec.trial_params(index) else {
            return Ok(());
        };
        let job_spec = spec.trial_job(&sweep.sweep_id, index, &params).validate()?;
        let job_id = format!("j-{}", uuid::Uuid::now_v7().simple());
        let experiment_id = sweep.experiment_id.clone().unwrap_or_else(|| "0".into());
        let mut tags = crate::job_run_tags(&job_id, &job_spec);
        tags.push(Tag::new(
            "mlflow.parentRunId",
            sweep.parent_run_id.clone().unwrap_or_default(),
        ));
        tags.push(Tag::new(TAG_SWEEP_ID, sweep.sweep_id.clone()));
        tags.push(Tag::new("mlp.sweep.trial", index.to_string()));
        let run = CreateRun {
            experiment_id: experiment_id.clone(),
            user_id: "mlp-jobs".into(),
            run_name: Some(job_spec.name.clone()),
            start_time: now_ms(),
            tags,
        };
        let run_params: Vec<Param> = params.iter().map(|(k, v)| Param::new(k, param_text(v))).collect();
        let job = Job {
            job_id: job_id.clone(),
            spec: job_spec,
            state: JobState::Queued,
            created_at: now_ms(),
            started_at: None,
            finished_at: None,
            attempts: 0,
            exit_code: None,
            reason: None,
            run_id: None,
            experiment_id: Some(experiment_id),
            cancel_requested: false,
            worker_id: None,
            lease_expires_at: None,
            owner: sweep.owner.clone(),
        };
        match self
            .service
            .store
            .insert_trial(&sweep.sweep_id, index, &params, &job, &run, &run_params)
            .await
        {
            Ok(_) => {}
            // Launched by another controller that held the sweep a moment ago.
            Err(e) if e.code == ErrorCode::ResourceAlreadyExists => return Ok(()),
            Err(e) => return Err(e),
        }
        tracing::info!(sweep_id = sweep.sweep_id, trial = index, job_id, "trial launched");
        if let Err(e) = self.service.jobs.queue.publish(&job_id).await {
            tracing::warn!(job_id, error = %e, "queue publish failed; workers will find the trial by polling");
        }
        Ok(())
    }

    /// Tags the best trial on the parent run, ends the parent run and then the sweep; each write
    /// is idempotent, so a crash in between is repaired by the next tick.
    async fn finish(&self, sweep: &Sweep, seen: &[Seen], state: SweepState, reason: &str) -> Result<()> {
        let dir = sweep.spec.objective.direction;
        let pick = |full_only: bool| {
            seen.iter()
                .filter(|s| {
                    s.objective.is_some_and(|v| !v.is_nan())
                        && (!full_only || (s.trial.state == JobState::Succeeded && !s.trial.early_stopped))
                })
                .fold(None::<&Seen>, |best, s| match best {
                    Some(b) if !dir.better(s.objective.unwrap(), b.objective.unwrap()) => Some(b),
                    _ => Some(s),
                })
        };
        let best = pick(true).or_else(|| pick(false));
        let state = match (state, best) {
            (SweepState::Succeeded, None) => SweepState::Failed,
            (s, _) => s,
        };
        let reason = if state == SweepState::Failed && best.is_none() {
            "no trial logged the objective metric".to_string()
        } else {
            reason.to_string()
        };
        let tracking = &self.service.jobs.tracking;
        if let Some(parent) = &sweep.parent_run_id {
            if let Some(b) = best {
                let mut tags = vec![
                    Tag::new(TAG_BEST_RUN, b.trial.run_id.clone().unwrap_or_default()),
                    Tag::new(TAG_BEST_VALUE, b.objective.unwrap_or(f64::NAN).to_string()),
                    Tag::new(TAG_BEST_TRIAL, b.trial.index.to_string()),
                    Tag::new(
                        TAG_BEST_PARAMS,
                        serde_json::to_string(&b.trial.params).unwrap_or_default(),
                    ),
                ];
                tags.extend(
                    b.trial
                        .params
                        .iter()
                        .map(|(k, v)| Tag::new(format!("mlp.sweep.best_param.{k}"), param_text(v))),
                );
                tracking
                    .log_batch(&LogBatch {
                        run_id: parent.clone(),
                        metrics: vec![],
                        params: vec![],
                        tags,
                    })
                    .await?;
            }
            let status = match state {
                SweepState::Succeeded => RunStatus::Finished,
                SweepState::Cancelled => RunStatus::Killed,
                _ => RunStatus::Failed,
            };
            tracking
                .update_run(&UpdateRun {
                    run_id: parent.clone(),
                    status: Some(status),
                    end_time: Some(now_ms()),
                    run_name: None,
                })
                .await?;
        }
        let end = SweepEnd {
            state,
            reason: Some(reason),
            best_trial: best.map(|b| b.trial.index),
            best_value: best.and_then(|b| b.objective),
        };
        if self
            .service
            .store
            .finish_sweep(&sweep.sweep_id, &self.worker_id, &end, now_ms())
            .await?
        {
            tracing::info!(
                sweep_id = sweep.sweep_id,
                state = state.as_str(),
                best_trial = ?end.best_trial,
                best_value = ?end.best_value,
                "sweep finished"
            );
            metrics::counter!("mlp_sweeps_finished_total", "state" => state.as_str()).increment(1);
        }
        Ok(())
    }
}

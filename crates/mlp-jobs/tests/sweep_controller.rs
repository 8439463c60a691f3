//! The sweep controller step by step on a real SQLite store, with the trials' jobs played by
//! hand (claimed, metrics logged, finished), so that every decision is deterministic: the
//! parallelism, ASHA's stops, the best trial on the parent run, cancel, and two controllers.

use std::sync::Arc;
use std::time::Duration;

use mlp_artifacts::{ArtifactStore, LocalArtifactStore};
use mlp_core::jobs::*;
use mlp_core::model::{Metric, RunStatus};
use mlp_core::store::{LogBatch, TrackingStore};
use mlp_core::sweeps::*;
use mlp_jobs::sweeps::{SweepController, SweepService};
use mlp_jobs::*;
use mlp_store_sqlite::SqliteStore;
use serde_json::json;

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    svc: SweepService,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&format!("sqlite://{}/db", dir.path().display()), "mlflow-artifacts:")
            .await
            .unwrap(),
    );
    let artifacts: Arc<dyn ArtifactStore> = Arc::new(LocalArtifactStore::new(dir.path().join("artifacts")).unwrap());
    let jobs = JobService {
        tracking: store.clone(),
        jobs: store.clone(),
        queue: Arc::new(InProcessQueue::default()),
        artifacts,
    };
    Env {
        svc: SweepService {
            jobs,
            store: store.clone(),
        },
        store,
        _dir: dir,
    }
}

fn controller(env: &Env, id: &str) -> SweepController {
    SweepController {
        service: env.svc.clone(),
        worker_id: id.into(),
        lease: Duration::from_secs(30),
        tick: Duration::from_millis(10),
    }
}

fn spec(xs: &[f64], parallelism: u32, asha: bool) -> SweepSpec {
    let strategy = if asha {
        json!({"type": "asha", "sampler": "grid", "min_resource": 1, "max_resource": 9, "reduction_factor": 3})
    } else {
        json!({"type": "grid"})
    };
    serde_json::from_value(json!({
        "name": "sw",
        "experiment_name": "sweeps",
        "trial": {"command": ["python", "t.py", "--x={x}"]},
        "search_space": {"x": {"type": "choice", "values": xs}},
        "strategy": strategy,
        "objective": {"metric": "loss", "direction": "minimize"},
        "budget": {"parallelism": parallelism},
    }))
    .unwrap()
}

/// Plays a trial's job: claimed by a worker, logs loss = x * (1 + 1/(step+1)) at the steps.
async fn play(env: &Env, t: &Trial, steps: std::ops::Range<i64>) {
    let _ = env.store.claim_job(&t.job_id, "w", now_ms(), 60_000).await.unwrap();
    let x = t.params["x"].as_f64().unwrap();
    let metrics = steps
        .map(|s| Metric {
            key: "loss".into(),
            value: x * (1.0 + 1.0 / (s as f64 + 1.0)),
            timestamp: 1,
            step: s,
            ..Default::default()
        })
        .collect();
    env.store
        .log_batch(&LogBatch {
            run_id: t.run_id.clone().unwrap(),
            metrics,
            params: vec![],
            tags: vec![],
        })
        .await
        .unwrap();
}

async fn end(env: &Env, t: &Trial, state: JobState) {
    let outcome = Outcome {
        state,
        exit_code: Some(0),
        reason: None,
    };
    env.store
        .finish_attempt(&t.job_id, "w", &outcome, now_ms())
        .await
        .unwrap();
}

/// One tick of `c` on the sweep, as `tick_once` does it, but failing the test on an error.
async fn step(env: &Env, c: &SweepController, id: &str) {
    assert!(env.store.claim_sweep(id, &c.worker_id, now_ms(), 30_000).await.unwrap());
    c.step(id).await.unwrap();
}

async fn trials(env: &Env, id: &str) -> Vec<Trial> {
    env.store.list_trials(id).await.unwrap()
}

#[tokio::test]
async fn grid_sweep_respects_parallelism_and_tags_the_best_on_the_parent() {
    let env = env().await;
    let sweep = env.svc.create(spec(&[3.0, 1.0, 2.0], 2, false), None).await.unwrap();
    let id = sweep.sweep_id.clone();
    let c = controller(&env, "c1");
    step(&env, &c, &id).await;
    let ts = trials(&env, &id).await;
    assert_eq!(ts.len(), 2, "two at once");
    // Params logged before the job runs, the run a child of the parent, the command substituted.
    let run = env.store.get_run(ts[0].run_id.as_ref().unwrap()).await.unwrap();
    assert!(run.data.params.iter().any(|p| p.key == "x" && p.value == "3.0"));
    assert!(
        run.data
            .tags
            .iter()
            .any(|t| t.key == "mlflow.parentRunId" && Some(&t.value) == sweep.parent_run_id.as_ref())
    );
    let job = env.store.get_job(&ts[0].job_id).await.unwrap();
    assert_eq!(job.spec.command, vec!["python", "t.py", "--x=3.0"]);
    assert_eq!(job.spec.env["MLP_PARAM_X"], "3.0");
    assert_eq!(run.info.experiment_id, sweep.experiment_id.clone().unwrap());

    // Nothing more while both run.
    step(&env, &c, &id).await;
    assert_eq!(trials(&env, &id).await.len(), 2);
    play(&env, &ts[0], 0..5).await;
    end(&env, &ts[0], JobState::Succeeded).await;
    step(&env, &c, &id).await;
    let ts = trials(&env, &id).await;
    assert_eq!(ts.len(), 3, "a slot freed, the third starts");
    assert_eq!(ts[0].objective, Some(3.0 * 1.2), "the last value of the objective");
    play(&env, &ts[1], 0..5).await;
    end(&env, &ts[1], JobState::Succeeded).await;
    // A failed trial does not fail the sweep.
    play(&env, &ts[2], 0..2).await;
    end(&env, &ts[2], JobState::Failed).await;
    step(&env, &c, &id).await;

    let done = env.store.get_sweep(&id).await.unwrap();
    assert_eq!(done.state, SweepState::Succeeded);
    assert_eq!((done.best_trial, done.best_value), (Some(1), Some(1.2)));
    let parent = env.store.get_run(done.parent_run_id.as_ref().unwrap()).await.unwrap();
    let tag = |k: &str| parent.data.tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
    assert_eq!(tag("mlp.sweep.best_run_id"), ts[1].run_id);
    assert_eq!(tag("mlp.sweep.best_value").as_deref(), Some("1.2"));
    assert_eq!(tag("mlp.sweep.best_params").as_deref(), Some(r#"{"x":1.0}"#));
    assert_eq!(tag("mlp.sweep.best_param.x").as_deref(), Some("1.0"));
    assert_eq!(parent.info.status, RunStatus::Finished);
    // Over: nobody may drive it, and a step changes nothing.
    assert!(!env.store.claim_sweep(&id, "c2", now_ms(), 30_000).await.unwrap());
    c.step(&id).await.unwrap();
    assert_eq!(trials(&env, &id).await.len(), 3);
}

#[tokio::test]
async fn asha_stops_a_trial_outside_the_top_third_at_a_rung() {
    let env = env().await;
    let sweep = env
        .svc
        .create(spec(&[1.0, 2.0, 5.0, 0.5], 3, true), None)
        .await
        .unwrap();
    let id = sweep.sweep_id.clone();
    let c = controller(&env, "c1");
    step(&env, &c, &id).await;
    let ts = trials(&env, &id).await;
    assert_eq!(ts.len(), 3);
    // x=1 reaches rung 1 (step 1) alone: kept.
    play(&env, &ts[0], 0..2).await;
    step(&env, &c, &id).await;
    assert_eq!(trials(&env, &id).await[0].rungs_passed, 1);
    // x=5 reaches it next: 2 at the rung, the top one goes on, x=5 is stopped.
    play(&env, &ts[2], 0..2).await;
    // x=2 logged only step 0: not at the rung yet, not judged.
    play(&env, &ts[1], 0..1).await;
    step(&env, &c, &id).await;
    let now = trials(&env, &id).await;
    assert!(now[2].early_stopped, "{now:?}");
    assert!(!now[0].early_stopped && !now[1].early_stopped);
    assert!(env.store.get_job(&ts[2].job_id).await.unwrap().cancel_requested);
    let run = env.store.get_run(ts[2].run_id.as_ref().unwrap()).await.unwrap();
    assert!(
        run.data
            .tags
            .iter()
            .any(|t| t.key == "mlp.sweep.early_stopped" && t.value == "true")
    );
    // Still counted as running until its job has stopped: no fourth trial yet.
    assert_eq!(now.len(), 3);
    end(&env, &ts[2], JobState::Cancelled).await;
    step(&env, &c, &id).await;
    let now = trials(&env, &id).await;
    assert_eq!(now.len(), 4);
    // x=2 at rung 1 with x=1 and x=5 there: 3 at the rung, the top max(1, 3/3) = 1 goes on.
    play(&env, &ts[1], 1..3).await;
    step(&env, &c, &id).await;
    assert!(trials(&env, &id).await[1].early_stopped);
    // x=0.5 beats everyone at every rung and runs to the end.
    play(&env, &now[3], 0..9).await;
    step(&env, &c, &id).await;
    assert_eq!(trials(&env, &id).await[3].rungs_passed, 2, "rungs 1 and 3 passed");
    assert!(!trials(&env, &id).await[3].early_stopped);
    end(&env, &now[3], JobState::Succeeded).await;
    play(&env, &ts[0], 2..9).await;
    end(&env, &ts[0], JobState::Succeeded).await;
    end(&env, &ts[1], JobState::Cancelled).await;
    step(&env, &c, &id).await;
    let done = env.store.get_sweep(&id).await.unwrap();
    assert_eq!((done.state, done.best_trial), (SweepState::Succeeded, Some(3)));
}

#[tokio::test]
async fn cancel_stops_every_trial_and_launches_no_more() {
    let env = env().await;
    let sweep = env
        .svc
        .create(spec(&[1.0, 2.0, 3.0, 4.0], 2, false), None)
        .await
        .unwrap();
    let id = sweep.sweep_id.clone();
    let c = controller(&env, "c1");
    step(&env, &c, &id).await;
    let ts = trials(&env, &id).await;
    play(&env, &ts[0], 0..1).await; // running
    let s = env.svc.cancel(&id).await.unwrap();
    assert!(s.cancel_requested);
    // The queued one is cancelled at once, the running one asked to stop.
    assert_eq!(
        env.store.get_job(&ts[1].job_id).await.unwrap().state,
        JobState::Cancelled
    );
    assert!(env.store.get_job(&ts[0].job_id).await.unwrap().cancel_requested);
    step(&env, &c, &id).await;
    assert_eq!(
        env.store.get_sweep(&id).await.unwrap().state,
        SweepState::Running,
        "a trial still runs"
    );
    end(&env, &ts[0], JobState::Cancelled).await;
    step(&env, &c, &id).await;
    let done = env.store.get_sweep(&id).await.unwrap();
    assert_eq!(done.state, SweepState::Cancelled);
    assert_eq!(trials(&env, &id).await.len(), 2);
    let parent = env.store.get_run(done.parent_run_id.as_ref().unwrap()).await.unwrap();
    assert_eq!(parent.info.status, RunStatus::Killed);
}

#[tokio::test]
async fn two_controllers_never_drive_one_sweep_and_the_second_takes_over_after_the_lease() {
    let env = env().await;
    let sweep = env.svc.create(spec(&[1.0, 2.0, 3.0], 1, false), None).await.unwrap();
    let id = sweep.sweep_id.clone();
    let mut a = controller(&env, "a");
    a.lease = Duration::from_millis(300);
    let b = controller(&env, "b");
    a.tick_once().await;
    b.tick_once().await;
    assert_eq!(trials(&env, &id).await.len(), 1);
    // b cannot take it while a's lease holds; a's repeated ticks launch nothing new either.
    let ts = trials(&env, &id).await;
    play(&env, &ts[0], 0..1).await;
    end(&env, &ts[0], JobState::Succeeded).await;
    b.tick_once().await;
    assert_eq!(trials(&env, &id).await.len(), 1, "b does not drive a sweep a holds");
    // a dies (stops ticking): after its lease, b goes on from the store.
    tokio::time::sleep(Duration::from_millis(350)).await;
    b.tick_once().await;
    assert_eq!(trials(&env, &id).await.len(), 2);
    assert_eq!(env.store.get_sweep(&id).await.unwrap().worker_id.as_deref(), Some("b"));
}

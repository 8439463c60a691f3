//! Sweep store conformance: a sweep and its parent run are created together, one controller at a
//! time holds a sweep, a trial (run, params, job, row) is written at once and only once.

use std::collections::BTreeMap;

use mlp_core::ErrorCode;
use mlp_core::jobs::*;
use mlp_core::model::{Param, RunStatus, Tag};
use mlp_core::store::{CreateRun, PageRequest, TrackingStore};
use mlp_core::sweeps::*;
use serde_json::json;

fn spec() -> SweepSpec {
    serde_json::from_value::<SweepSpec>(json!({
        "name": "sw",
        "trial": {"command": ["true"]},
        "search_space": {"lr": {"type": "choice", "values": [0.1, 0.2]}},
        "strategy": {"type": "grid"},
        "objective": {"metric": "loss", "direction": "minimize"},
        "budget": {"parallelism": 2},
    }))
    .unwrap()
    .validate()
    .unwrap()
}

fn sweep(id: &str, created_at: i64, owner: Option<&str>) -> Sweep {
    Sweep {
        sweep_id: id.into(),
        spec: spec(),
        state: SweepState::Running,
        created_at,
        finished_at: None,
        experiment_id: None,
        parent_run_id: None,
        owner: owner.map(str::to_string),
        cancel_requested: false,
        reason: None,
        best_trial: None,
        best_value: None,
        worker_id: None,
        lease_expires_at: None,
    }
}

fn run(name: &str) -> CreateRun {
    CreateRun {
        experiment_id: "0".into(),
        user_id: "mlp-sweeps".into(),
        run_name: Some(name.into()),
        start_time: 1_000,
        tags: vec![],
    }
}

fn trial_job(id: &str) -> Job {
    Job {
        job_id: id.into(),
        spec: spec().trial_job("s1", 0, &BTreeMap::new()),
        state: JobState::Queued,
        created_at: 2_000,
        started_at: None,
        finished_at: None,
        attempts: 0,
        exit_code: None,
        reason: None,
        run_id: None,
        experiment_id: None,
        cancel_requested: false,
        worker_id: None,
        lease_expires_at: None,
        owner: None,
    }
}

pub async fn a_sweep_is_created_with_its_parent_run_and_listed<S: SweepStore + TrackingStore>(s: &S) {
    let created = s
        .insert_sweep_with_run(&sweep("s1", 1_000, Some("ann")), &run("sw"))
        .await
        .unwrap();
    let parent = created
        .parent_run_id
        .clone()
        .expect("the sweep points at its parent run");
    assert_eq!(created.experiment_id.as_deref(), Some("0"));
    assert_eq!(created.spec, spec());
    assert_eq!(s.get_run(&parent).await.unwrap().info.status, RunStatus::Running);
    assert_eq!(s.get_sweep("s1").await.unwrap(), created);
    s.insert_sweep_with_run(&sweep("s2", 2_000, Some("bob")), &run("sw2"))
        .await
        .unwrap();
    let missing = CreateRun {
        experiment_id: "999".into(),
        ..run("x")
    };
    let err = s
        .insert_sweep_with_run(&sweep("s3", 3_000, None), &missing)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
    assert_eq!(
        s.get_sweep("s3").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );

    let all = s.list_sweeps(&first(10)).await.unwrap();
    assert_eq!(
        all.items.iter().map(|x| x.sweep_id.as_str()).collect::<Vec<_>>(),
        ["s2", "s1"]
    );
    let anns = s
        .list_sweeps(&SweepQuery {
            owner: Some("ann".into()),
            ..first(10)
        })
        .await
        .unwrap();
    assert_eq!(anns.items.len(), 1);
    let first = s.list_sweeps(&first(1)).await.unwrap();
    assert!(first.has_more);
    assert_eq!(first.items[0].sweep_id, "s2");
}

pub async fn one_controller_holds_a_sweep_until_its_lease_runs_out<S: SweepStore + TrackingStore>(s: &S) {
    s.insert_sweep_with_run(&sweep("s1", 1_000, None), &run("sw"))
        .await
        .unwrap();
    assert_eq!(s.drivable_sweeps("a", 2_000, 10).await.unwrap().len(), 1);
    assert!(s.claim_sweep("s1", "a", 2_000, 1_000).await.unwrap());
    assert!(!s.claim_sweep("s1", "b", 2_500, 1_000).await.unwrap(), "held by a");
    assert!(s.drivable_sweeps("b", 2_500, 10).await.unwrap().is_empty());
    assert_eq!(
        s.drivable_sweeps("a", 2_500, 10).await.unwrap().len(),
        1,
        "a renews its own"
    );
    assert!(s.claim_sweep("s1", "a", 2_600, 1_000).await.unwrap());
    // a stops renewing: b takes over, and a can no longer end the sweep.
    assert!(s.claim_sweep("s1", "b", 3_601, 1_000).await.unwrap());
    let end = SweepEnd {
        state: SweepState::Succeeded,
        reason: None,
        best_trial: Some(1),
        best_value: Some(0.25),
    };
    assert!(!s.finish_sweep("s1", "a", &end, 3_700).await.unwrap());
    assert!(s.finish_sweep("s1", "b", &end, 3_700).await.unwrap());
    let done = s.get_sweep("s1").await.unwrap();
    assert_eq!(
        (
            done.state,
            done.best_trial,
            done.best_value,
            done.finished_at,
            done.worker_id
        ),
        (SweepState::Succeeded, Some(1), Some(0.25), Some(3_700), None)
    );
    // Over: nobody drives it again, and a cancel changes nothing.
    assert!(s.drivable_sweeps("c", 99_000, 10).await.unwrap().is_empty());
    assert!(!s.claim_sweep("s1", "c", 99_000, 1_000).await.unwrap());
    assert!(!s.request_sweep_cancel("s1").await.unwrap().cancel_requested);

    s.insert_sweep_with_run(&sweep("s2", 1_000, None), &run("sw2"))
        .await
        .unwrap();
    assert!(s.request_sweep_cancel("s2").await.unwrap().cancel_requested);
    assert_eq!(
        s.request_sweep_cancel("nope").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
}

pub async fn a_trial_is_written_at_once_and_only_once<S: SweepStore + TrackingStore + JobStore>(s: &S) {
    s.insert_sweep_with_run(&sweep("s1", 1_000, None), &run("sw"))
        .await
        .unwrap();
    let params: BTreeMap<String, serde_json::Value> = [("lr".to_string(), json!(0.1))].into();
    let mut trial_run = run("sw-t0");
    trial_run.tags.push(Tag::new("mlflow.parentRunId", "p"));
    let logged = vec![Param::new("lr", "0.1")];
    let t = s
        .insert_trial("s1", 0, &params, &trial_job("j0"), &trial_run, &logged)
        .await
        .unwrap();
    assert_eq!((t.index, t.job_id.as_str(), t.state), (0, "j0", JobState::Queued));
    assert_eq!(t.params, params);
    assert_eq!((t.objective, t.rungs_passed, t.early_stopped), (None, 0, false));
    let run_id = t.run_id.clone().expect("the trial's job has its run");
    assert_eq!(s.get_job("j0").await.unwrap().run_id.as_deref(), Some(run_id.as_str()));
    let r = s.get_run(&run_id).await.unwrap();
    assert_eq!(r.info.status, RunStatus::Scheduled);
    assert!(
        r.data.params.contains(&Param::new("lr", "0.1")),
        "params are logged before it runs"
    );
    assert!(r.data.tags.contains(&Tag::new("mlflow.parentRunId", "p")));

    // A second controller launching the same trial is refused and leaves nothing behind.
    let err = s
        .insert_trial("s1", 0, &params, &trial_job("j0b"), &run("dup"), &logged)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ResourceAlreadyExists);
    assert_eq!(
        s.get_job("j0b").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );

    s.insert_trial("s1", 1, &params, &trial_job("j1"), &run("sw-t1"), &logged)
        .await
        .unwrap();
    s.update_trial("s1", 1, Some(0.5), 2, true).await.unwrap();
    s.update_trial("s1", 0, Some(f64::NAN), 0, false).await.unwrap();
    // The trial's state is its job's.
    s.request_cancel("j1", 3_000).await.unwrap();
    let trials = s.list_trials("s1").await.unwrap();
    assert_eq!(trials.len(), 2);
    assert_eq!(trials[0].objective, None, "a NaN is no value");
    assert_eq!(
        (
            trials[1].objective,
            trials[1].rungs_passed,
            trials[1].early_stopped,
            trials[1].state
        ),
        (Some(0.5), 2, true, JobState::Cancelled)
    );
    assert_eq!(trials[1].finished_at, Some(3_000));
    assert_eq!(
        s.update_trial("s1", 7, None, 0, false).await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    assert!(s.list_trials("nope").await.unwrap().is_empty());
}

fn first(limit: u64) -> SweepQuery {
    SweepQuery {
        state: None,
        owner: None,
        page: PageRequest { offset: 0, limit },
    }
}

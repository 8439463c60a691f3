//! Many writers at once: what group commit (`mlp_store_sql::group_commit`) puts into shared
//! transactions. Every request gets its own answer, a refused one fails alone without taking the
//! requests committed beside it, and every acknowledged row is there exactly once.

use mlp_core::ErrorCode;
use mlp_core::model::*;
use mlp_core::store::*;
use tokio::task::JoinSet;

const RUNS: usize = 4;
const REQUESTS: usize = 96;
const POINTS: usize = 50;

/// Request `i` tries to change the param (refused) when `i % 8 == 7`: all on the last run.
fn refused(i: usize) -> bool {
    i % 8 == 7
}

fn batch(run_id: &str, i: usize) -> LogBatch {
    let lr = if refused(i) { "0.2" } else { "0.1" };
    LogBatch {
        run_id: run_id.to_string(),
        metrics: (0..POINTS)
            .map(|k| {
                let step = (i * POINTS + k) as i64;
                Metric {
                    key: "loss".into(),
                    value: step as f64 / 7.0,
                    timestamp: 1_000 + step,
                    step,
                    ..Default::default()
                }
            })
            .collect(),
        params: vec![Tag::new("lr", lr)],
        tags: vec![Tag::new(format!("t{i}"), "x")],
    }
}

/// Runs the workload and returns the answers by request index, for the back-end tests that also
/// look at how the writes were grouped.
pub async fn concurrent_workload<S: TrackingStore + Clone + 'static>(
    s: &S,
) -> (Vec<String>, Vec<Result<(), ErrorCode>>) {
    let mut runs = Vec::new();
    for r in 0..RUNS {
        let run = s
            .create_run(&CreateRun {
                experiment_id: "0".into(),
                user_id: "alice".into(),
                run_name: Some(format!("writer-{r}")),
                start_time: 1_000,
                tags: vec![],
            })
            .await
            .unwrap()
            .info
            .run_id;
        // Set before the concurrent phase, so whichever request commits first, 0.1 is the
        // value and only the changes to 0.2 are refused.
        s.log_batch(&LogBatch {
            run_id: run.clone(),
            params: vec![Tag::new("lr", "0.1")],
            ..Default::default()
        })
        .await
        .unwrap();
        runs.push(run);
    }
    let mut set = JoinSet::new();
    for i in 0..REQUESTS {
        let (s, run) = (s.clone(), runs[i % RUNS].clone());
        set.spawn(async move { (i, s.log_batch(&batch(&run, i)).await.map_err(|e| e.code)) });
    }
    let mut answers = vec![Ok(()); REQUESTS];
    while let Some(done) = set.join_next().await {
        let (i, answer) = done.unwrap();
        answers[i] = answer;
    }
    (runs, answers)
}

pub async fn concurrent_writes_commit_together_and_fail_alone<S: TrackingStore + Clone + 'static>(s: &S) {
    let (runs, answers) = concurrent_workload(s).await;
    for (i, answer) in answers.iter().enumerate() {
        let expected = if refused(i) {
            Err(ErrorCode::InvalidParameterValue)
        } else {
            Ok(())
        };
        assert_eq!(*answer, expected, "request {i}");
    }
    for (r, run_id) in runs.iter().enumerate() {
        let accepted: Vec<usize> = (0..REQUESTS).filter(|i| i % RUNS == r && !refused(*i)).collect();
        let history = s
            .get_metric_history(
                run_id,
                "loss",
                &PageRequest {
                    offset: 0,
                    limit: 100_000,
                },
            )
            .await
            .unwrap();
        let got: Vec<(i64, u64)> = history.items.iter().map(|m| (m.step, m.value.to_bits())).collect();
        let want: Vec<(i64, u64)> = accepted
            .iter()
            .flat_map(|i| (0..POINTS).map(move |k| (i * POINTS + k) as i64))
            .map(|step| (step, (step as f64 / 7.0).to_bits()))
            .collect();
        assert_eq!(got, want, "run {r}: every accepted point once, no refused one");
        let run = s.get_run(run_id).await.unwrap();
        assert_eq!(run.data.params, vec![Tag::new("lr", "0.1")], "run {r}");
        for i in (0..REQUESTS).filter(|i| i % RUNS == r) {
            let has = run.data.tags.iter().any(|t| t.key == format!("t{i}"));
            assert_eq!(has, !refused(i), "run {r}: tag of request {i}");
        }
        let latest = run.data.metrics.iter().find(|m| m.key == "loss").unwrap();
        assert_eq!(
            latest.step,
            want.last().unwrap().0,
            "run {r}: latest is the highest step"
        );
    }
}

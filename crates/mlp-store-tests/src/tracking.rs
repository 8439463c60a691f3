//! Tracking conformance: experiments, runs, metrics, params, tags, search, logged models.
//!
//! Every test gets a fresh, empty store (only experiment "0" exists). Filters and order-by
//! strings go through `mlp_core::search`, so the suite exercises the real grammar end to end.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Debug;

use mlp_core::model::*;
use mlp_core::search::{self, SearchKind};
use mlp_core::store::*;
use mlp_core::{ErrorCode, Result};

// ---------------------------------------------------------------------------------------------
// Helpers.

fn code<T: Debug>(r: Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::new(k, v)
}

fn m(key: &str, value: f64, timestamp: i64, step: i64) -> Metric {
    Metric {
        key: key.to_string(),
        value,
        timestamp,
        step,
        ..Default::default()
    }
}

fn page(offset: u64, limit: u64) -> PageRequest {
    PageRequest { offset, limit }
}

async fn new_exp<S: TrackingStore>(s: &S, name: &str) -> String {
    s.create_experiment(name, None, &[]).await.unwrap()
}

async fn new_run<S: TrackingStore>(s: &S, exp: &str, name: &str, start_time: i64) -> String {
    s.create_run(&CreateRun {
        experiment_id: exp.to_string(),
        user_id: "alice".to_string(),
        run_name: Some(name.to_string()),
        start_time,
        tags: vec![],
    })
    .await
    .unwrap()
    .info
    .run_id
}

async fn log<S: TrackingStore>(
    s: &S,
    run_id: &str,
    metrics: Vec<Metric>,
    params: Vec<Param>,
    tags: Vec<Tag>,
) -> Result<()> {
    s.log_batch(&LogBatch {
        run_id: run_id.to_string(),
        metrics,
        params,
        tags,
    })
    .await
}

fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

fn latest<'a>(run: &'a Run, key: &str) -> &'a Metric {
    run.data
        .metrics
        .iter()
        .find(|m| m.key == key)
        .unwrap_or_else(|| panic!("no metric {key}"))
}

async fn search_runs_page<S: TrackingStore>(
    s: &S,
    exps: &[&str],
    filter: &str,
    order_by: &[&str],
    view: ViewType,
    page: PageRequest,
) -> Result<Page<Run>> {
    let filter = search::parse_filter(SearchKind::Runs, filter)?;
    let order_by = order_by
        .iter()
        .map(|o| search::parse_order_by(SearchKind::Runs, o))
        .collect::<Result<Vec<_>>>()?;
    s.search_runs(&SearchRuns {
        experiment_ids: exps.iter().map(|e| e.to_string()).collect(),
        filter,
        order_by,
        view,
        page,
    })
    .await
}

/// Run names matching `filter`, in the store's order.
async fn run_names<S: TrackingStore>(
    s: &S,
    exps: &[&str],
    filter: &str,
    order_by: &[&str],
    view: ViewType,
) -> Vec<String> {
    search_runs_page(s, exps, filter, order_by, view, page(0, 1000))
        .await
        .unwrap_or_else(|e| panic!("search '{filter}' {order_by:?}: {e}"))
        .items
        .into_iter()
        .map(|r| r.info.run_name)
        .collect()
}

/// Run names matching `filter`, sorted (for set comparisons).
async fn matching<S: TrackingStore>(s: &S, exp: &str, filter: &str) -> Vec<String> {
    let mut names = run_names(s, &[exp], filter, &[], ViewType::ActiveOnly).await;
    names.sort();
    names
}

async fn search_exps<S: TrackingStore>(
    s: &S,
    filter: &str,
    order_by: &[&str],
    view: ViewType,
    page: PageRequest,
) -> Page<Experiment> {
    s.search_experiments(&SearchExperiments {
        filter: search::parse_filter(SearchKind::Experiments, filter).unwrap(),
        order_by: order_by
            .iter()
            .map(|o| search::parse_order_by(SearchKind::Experiments, o).unwrap())
            .collect(),
        view,
        page,
    })
    .await
    .unwrap()
}

fn exp_names(p: &Page<Experiment>) -> Vec<&str> {
    p.items.iter().map(|e| e.name.as_str()).collect()
}

fn dataset(name: &str, digest: &str, source: &str) -> Dataset {
    Dataset {
        name: name.to_string(),
        digest: digest.to_string(),
        source_type: "local".to_string(),
        source: source.to_string(),
        schema: None,
        profile: None,
    }
}

fn input(d: Dataset, context: Option<&str>) -> DatasetInput {
    DatasetInput {
        tags: context.map(|c| vec![tag("mlflow.data.context", c)]).unwrap_or_default(),
        dataset: d,
    }
}

async fn new_model<S: TrackingStore>(s: &S, exp: &str, name: &str) -> LoggedModel {
    s.create_logged_model(&CreateLoggedModel {
        experiment_id: exp.to_string(),
        name: Some(name.to_string()),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn search_models<S: TrackingStore>(
    s: &S,
    exps: &[&str],
    filter: &str,
    order_by: Vec<LoggedModelOrder>,
    page: PageRequest,
) -> Result<Page<LoggedModel>> {
    s.search_logged_models(&SearchLoggedModels {
        experiment_ids: exps.iter().map(|e| e.to_string()).collect(),
        filter: search::parse_filter(SearchKind::LoggedModels, filter)?,
        datasets: vec![],
        order_by,
        page,
    })
    .await
}

fn order(field: &str, ascending: bool) -> LoggedModelOrder {
    LoggedModelOrder {
        field_name: field.to_string(),
        ascending,
        dataset_name: None,
        dataset_digest: None,
    }
}

fn model_names(p: &Page<LoggedModel>) -> Vec<&str> {
    p.items.iter().map(|m| m.info.name.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Experiments.

pub async fn default_experiment_exists<S: TrackingStore>(s: &S) {
    let e = s.get_experiment("0").await.unwrap();
    assert_eq!(e.name, "Default");
    assert_eq!(e.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(e.artifact_location, "mlflow-artifacts:/0");
    assert_eq!(s.get_experiment_by_name("Default").await.unwrap().experiment_id, "0");
}

pub async fn experiment_ids_increase_and_locations_follow<S: TrackingStore>(s: &S) {
    let mut prev = 0i64;
    for name in ["a", "b", "c"] {
        let id = new_exp(s, name).await;
        let n: i64 = id.parse().expect("experiment ids are integer strings");
        assert!(n > prev, "ids must increase: {n} after {prev}");
        prev = n;
        let e = s.get_experiment(&id).await.unwrap();
        assert_eq!(e.experiment_id, id);
        assert_eq!(e.name, name);
        assert_eq!(e.artifact_location, format!("mlflow-artifacts:/{id}"));
        assert_eq!(e.lifecycle_stage, LifecycleStage::Active);
        assert!(e.creation_time > 0);
        assert!(e.last_update_time >= e.creation_time);
        assert!(e.tags.is_empty());
    }
}

pub async fn create_experiment_with_tags_and_location<S: TrackingStore>(s: &S) {
    let id = s
        .create_experiment(
            "tagged",
            Some("s3://bucket/somewhere"),
            &[tag("team", "ml"), tag("owner", "bob")],
        )
        .await
        .unwrap();
    let e = s.get_experiment_by_name("tagged").await.unwrap();
    assert_eq!(e.experiment_id, id);
    assert_eq!(e.artifact_location, "s3://bucket/somewhere");
    let mut tags = e.tags.clone();
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(tags, vec![tag("owner", "bob"), tag("team", "ml")]);
}

pub async fn duplicate_experiment_name_already_exists<S: TrackingStore>(s: &S) {
    new_exp(s, "dup").await;
    assert_eq!(
        code(s.create_experiment("dup", None, &[]).await),
        ErrorCode::ResourceAlreadyExists
    );
    assert_eq!(
        code(s.create_experiment("Default", None, &[]).await),
        ErrorCode::ResourceAlreadyExists
    );
    // Names are case-sensitive.
    new_exp(s, "DUP").await;
}

pub async fn missing_experiment_does_not_exist<S: TrackingStore>(s: &S) {
    assert_eq!(code(s.get_experiment("424242").await), ErrorCode::ResourceDoesNotExist);
    assert_eq!(
        code(s.get_experiment_by_name("nope").await),
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(
        code(s.delete_experiment("424242").await),
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(
        code(s.rename_experiment("424242", "x").await),
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(
        code(s.set_experiment_tag("424242", &tag("k", "v")).await),
        ErrorCode::ResourceDoesNotExist
    );
}

pub async fn rename_experiment<S: TrackingStore>(s: &S) {
    let a = new_exp(s, "old").await;
    new_exp(s, "taken").await;
    s.rename_experiment(&a, "new").await.unwrap();
    assert_eq!(s.get_experiment(&a).await.unwrap().name, "new");
    assert_eq!(s.get_experiment_by_name("new").await.unwrap().experiment_id, a);
    assert_eq!(
        code(s.get_experiment_by_name("old").await),
        ErrorCode::ResourceDoesNotExist
    );
    // Renaming onto an existing name fails and changes nothing.
    assert_eq!(
        code(s.rename_experiment(&a, "taken").await),
        ErrorCode::ResourceAlreadyExists
    );
    assert_eq!(s.get_experiment(&a).await.unwrap().name, "new");
    // The old name is free again.
    new_exp(s, "old").await;
}

pub async fn delete_and_restore_experiment_carries_runs<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    let r1 = new_run(s, &exp, "r1", 1000).await;
    let r2 = new_run(s, &exp, "r2", 2000).await;
    s.delete_experiment(&exp).await.unwrap();
    let e = s.get_experiment(&exp).await.unwrap();
    assert_eq!(e.lifecycle_stage, LifecycleStage::Deleted);
    for r in [&r1, &r2] {
        assert_eq!(
            s.get_run(r).await.unwrap().info.lifecycle_stage,
            LifecycleStage::Deleted
        );
    }
    // A deleted experiment takes no new runs and no renames.
    assert_eq!(
        code(
            s.create_run(&CreateRun {
                experiment_id: exp.clone(),
                ..Default::default()
            })
            .await
        ),
        ErrorCode::InvalidParameterValue
    );
    assert_eq!(
        code(s.rename_experiment(&exp, "x").await),
        ErrorCode::InvalidParameterValue
    );
    assert!(run_names(s, &[&exp], "", &[], ViewType::ActiveOnly).await.is_empty());
    s.restore_experiment(&exp).await.unwrap();
    assert_eq!(
        s.get_experiment(&exp).await.unwrap().lifecycle_stage,
        LifecycleStage::Active
    );
    for r in [&r1, &r2] {
        assert_eq!(s.get_run(r).await.unwrap().info.lifecycle_stage, LifecycleStage::Active);
    }
    // Restoring an active experiment is refused; the default experiment cannot be deleted.
    assert_eq!(code(s.restore_experiment(&exp).await), ErrorCode::InvalidParameterValue);
    assert_eq!(code(s.delete_experiment("0").await), ErrorCode::InvalidParameterValue);
}

pub async fn experiment_tags_set_overwrite_delete<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    s.set_experiment_tag(&exp, &tag("k", "v1")).await.unwrap();
    s.set_experiment_tag(&exp, &tag("other", "x")).await.unwrap();
    s.set_experiment_tag(&exp, &tag("k", "v2")).await.unwrap();
    let e = s.get_experiment(&exp).await.unwrap();
    assert_eq!(e.tags.len(), 2);
    assert_eq!(tag_value(&e.tags, "k"), Some("v2"));
    s.delete_experiment_tag(&exp, "k").await.unwrap();
    let e = s.get_experiment(&exp).await.unwrap();
    assert_eq!(e.tags, vec![tag("other", "x")]);
    assert_eq!(
        code(s.delete_experiment_tag(&exp, "k").await),
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(
        code(s.delete_experiment_tag("424242", "other").await),
        ErrorCode::ResourceDoesNotExist
    );
}

pub async fn search_experiments_filters<S: TrackingStore>(s: &S) {
    let a = s
        .create_experiment("exp-alpha", None, &[tag("team", "vision")])
        .await
        .unwrap();
    let b = s
        .create_experiment("exp-Beta", None, &[tag("team", "nlp")])
        .await
        .unwrap();
    let c = new_exp(s, "other").await;
    let all = ViewType::ActiveOnly;
    let names = |p: Page<Experiment>| {
        let mut v: Vec<String> = p.items.into_iter().map(|e| e.name).collect();
        v.sort();
        v
    };
    let p = search_exps(s, "name LIKE 'exp-%'", &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["exp-Beta", "exp-alpha"]);
    // LIKE is case-sensitive, ILIKE is not.
    let p = search_exps(s, "name LIKE 'exp-b%'", &[], all, page(0, 100)).await;
    assert!(p.items.is_empty());
    let p = search_exps(s, "name ILIKE 'EXP-B%'", &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["exp-Beta"]);
    let p = search_exps(s, "attributes.name = 'other'", &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["other"]);
    let p = search_exps(s, "name != 'other'", &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["Default", "exp-Beta", "exp-alpha"]);
    let p = search_exps(s, "tags.team = 'nlp'", &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["exp-Beta"]);
    let p = search_exps(s, "tags.team != 'nlp'", &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["exp-alpha"]);
    let p = search_exps(s, "tags.team IS NULL", &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["Default", "other"]);
    let p = search_exps(s, "tags.team IS NOT NULL", &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["exp-Beta", "exp-alpha"]);
    let p = search_exps(s, "tags.`team` LIKE '%i%'", &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["exp-alpha"]);
    let f = format!("experiment_id IN ('{a}', '{c}')");
    let p = search_exps(s, &f, &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["exp-alpha", "other"]);
    let f = format!("experiment_id NOT IN ('{a}', '{c}')");
    let p = search_exps(s, &f, &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["Default", "exp-Beta"]);
    let f = format!("experiment_id = '{b}'");
    let p = search_exps(s, &f, &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["exp-Beta"]);
    let p = search_exps(s, "creation_time > 0 AND name LIKE '%Beta'", &[], all, page(0, 100)).await;
    assert_eq!(names(p), ["exp-Beta"]);
    let p = search_exps(s, "creation_time < 0", &[], all, page(0, 100)).await;
    assert!(p.items.is_empty());
}

pub async fn search_experiments_order_view_and_paging<S: TrackingStore>(s: &S) {
    for name in ["c", "a", "e", "b", "d"] {
        new_exp(s, name).await;
    }
    let gone = s.get_experiment_by_name("e").await.unwrap().experiment_id;
    s.delete_experiment(&gone).await.unwrap();

    let p = search_exps(s, "", &["name ASC"], ViewType::ActiveOnly, page(0, 100)).await;
    assert_eq!(exp_names(&p), ["Default", "a", "b", "c", "d"]);
    assert!(!p.has_more);
    let p = search_exps(s, "", &["name DESC"], ViewType::All, page(0, 100)).await;
    assert_eq!(exp_names(&p), ["e", "d", "c", "b", "a", "Default"]);
    let p = search_exps(s, "", &[], ViewType::DeletedOnly, page(0, 100)).await;
    assert_eq!(exp_names(&p), ["e"]);
    assert_eq!(p.items[0].lifecycle_stage, LifecycleStage::Deleted);
    // Ordering by id follows creation order.
    let p = search_exps(s, "", &["experiment_id DESC"], ViewType::ActiveOnly, page(0, 100)).await;
    assert_eq!(exp_names(&p), ["d", "b", "a", "c", "Default"]);

    // Pages of two: no duplicates, no gaps, has_more exactly until the end.
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let p = search_exps(s, "", &["name ASC"], ViewType::All, page(offset, 2)).await;
        assert!(p.items.len() <= 2);
        seen.extend(p.items.iter().map(|e| e.name.clone()));
        offset += 2;
        if !p.has_more {
            break;
        }
        assert_eq!(p.items.len(), 2);
    }
    assert_eq!(seen, ["Default", "a", "b", "c", "d", "e"]);
    let p = search_exps(s, "", &["name ASC"], ViewType::All, page(6, 2)).await;
    assert!(p.items.is_empty() && !p.has_more);
    // Default order: newest first.
    let p = search_exps(s, "", &[], ViewType::ActiveOnly, page(0, 1)).await;
    assert!(p.has_more);
    assert_eq!(p.items.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Runs.

pub async fn create_run_with_name<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    let run = s
        .create_run(&CreateRun {
            experiment_id: exp.clone(),
            user_id: "alice".into(),
            run_name: Some("my-run".into()),
            start_time: 1_700_000_000_000,
            tags: vec![tag("k", "v")],
        })
        .await
        .unwrap();
    let info = &run.info;
    assert_eq!(info.run_id.len(), 32);
    assert!(
        info.run_id
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(info.run_uuid, info.run_id);
    assert_eq!(info.experiment_id, exp);
    assert_eq!(info.run_name, "my-run");
    assert_eq!(info.user_id, "alice");
    assert_eq!(info.status, RunStatus::Running);
    assert_eq!(info.start_time, 1_700_000_000_000);
    assert_eq!(info.end_time, None);
    assert_eq!(info.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(
        info.artifact_uri,
        format!("mlflow-artifacts:/{exp}/{}/artifacts", info.run_id)
    );
    assert_eq!(tag_value(&run.data.tags, "mlflow.runName"), Some("my-run"));
    assert_eq!(tag_value(&run.data.tags, "k"), Some("v"));
    assert!(run.data.metrics.is_empty() && run.data.params.is_empty());
    assert_eq!(s.get_run(&info.run_id).await.unwrap(), run);
}

pub async fn create_run_without_name<S: TrackingStore>(s: &S) {
    let run = s
        .create_run(&CreateRun {
            experiment_id: "0".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!run.info.run_name.is_empty());
    assert_eq!(
        tag_value(&run.data.tags, "mlflow.runName"),
        Some(run.info.run_name.as_str())
    );
    // A start time of 0 means "now".
    assert!(run.info.start_time > 0);
    // The name can come from the mlflow.runName tag alone.
    let run = s
        .create_run(&CreateRun {
            experiment_id: "0".into(),
            tags: vec![tag("mlflow.runName", "from-tag")],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(run.info.run_name, "from-tag");
    // A name and a different tag conflict.
    assert_eq!(
        code(
            s.create_run(&CreateRun {
                experiment_id: "0".into(),
                run_name: Some("a".into()),
                tags: vec![tag("mlflow.runName", "b")],
                ..Default::default()
            })
            .await
        ),
        ErrorCode::InvalidParameterValue
    );
    // Unknown experiment.
    assert_eq!(
        code(
            s.create_run(&CreateRun {
                experiment_id: "424242".into(),
                ..Default::default()
            })
            .await
        ),
        ErrorCode::ResourceDoesNotExist
    );
}

pub async fn missing_run_does_not_exist<S: TrackingStore>(s: &S) {
    let id = "0123456789abcdef0123456789abcdef";
    assert_eq!(code(s.get_run(id).await), ErrorCode::ResourceDoesNotExist);
    assert_eq!(code(s.delete_run(id).await), ErrorCode::ResourceDoesNotExist);
    assert_eq!(code(s.restore_run(id).await), ErrorCode::ResourceDoesNotExist);
    assert_eq!(
        code(
            s.update_run(&UpdateRun {
                run_id: id.into(),
                status: Some(RunStatus::Finished),
                ..Default::default()
            })
            .await
        ),
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(
        code(log(s, id, vec![m("a", 1.0, 1, 0)], vec![], vec![]).await),
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(
        code(s.get_metric_history(id, "a", &page(0, 10)).await),
        ErrorCode::ResourceDoesNotExist
    );
}

pub async fn update_run_status_end_time_name<S: TrackingStore>(s: &S) {
    let run = new_run(s, "0", "before", 1000).await;
    let info = s
        .update_run(&UpdateRun {
            run_id: run.clone(),
            status: Some(RunStatus::Finished),
            end_time: Some(5000),
            run_name: None,
        })
        .await
        .unwrap();
    assert_eq!(info.status, RunStatus::Finished);
    assert_eq!(info.end_time, Some(5000));
    assert_eq!(info.run_name, "before");
    let info = s
        .update_run(&UpdateRun {
            run_id: run.clone(),
            status: None,
            end_time: None,
            run_name: Some("after".into()),
        })
        .await
        .unwrap();
    // Absent fields are left alone.
    assert_eq!(info.status, RunStatus::Finished);
    assert_eq!(info.end_time, Some(5000));
    assert_eq!(info.run_name, "after");
    let got = s.get_run(&run).await.unwrap();
    assert_eq!(got.info, info);
    assert_eq!(tag_value(&got.data.tags, "mlflow.runName"), Some("after"));
    let info = s
        .update_run(&UpdateRun {
            run_id: run.clone(),
            status: Some(RunStatus::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(info.status, RunStatus::Failed);
}

pub async fn delete_and_restore_run<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    let run = new_run(s, &exp, "r", 1000).await;
    s.delete_run(&run).await.unwrap();
    assert_eq!(
        s.get_run(&run).await.unwrap().info.lifecycle_stage,
        LifecycleStage::Deleted
    );
    assert!(run_names(s, &[&exp], "", &[], ViewType::ActiveOnly).await.is_empty());
    s.restore_run(&run).await.unwrap();
    assert_eq!(
        s.get_run(&run).await.unwrap().info.lifecycle_stage,
        LifecycleStage::Active
    );
    assert_eq!(run_names(s, &[&exp], "", &[], ViewType::ActiveOnly).await, ["r"]);
}

pub async fn deleted_run_refuses_writes<S: TrackingStore>(s: &S) {
    let run = new_run(s, "0", "r", 1000).await;
    log(s, &run, vec![], vec![], vec![tag("t", "1")]).await.unwrap();
    s.delete_run(&run).await.unwrap();
    let refused = |r: Result<()>| assert_eq!(code(r), ErrorCode::InvalidParameterValue);
    refused(log(s, &run, vec![m("a", 1.0, 1, 0)], vec![], vec![]).await);
    refused(log(s, &run, vec![], vec![tag("p", "1")], vec![]).await);
    refused(log(s, &run, vec![], vec![], vec![tag("t", "2")]).await);
    refused(s.delete_tag(&run, "t").await);
    refused(s.log_inputs(&run, &[input(dataset("d", "x", "s"), None)], &[]).await);
    refused(
        s.log_outputs(
            &run,
            &[ModelOutput {
                model_id: "m-1".into(),
                step: 0,
            }],
        )
        .await,
    );
    assert_eq!(
        code(
            s.update_run(&UpdateRun {
                run_id: run.clone(),
                status: Some(RunStatus::Finished),
                ..Default::default()
            })
            .await
        ),
        ErrorCode::InvalidParameterValue
    );
    let got = s.get_run(&run).await.unwrap();
    assert!(got.data.metrics.is_empty() && got.data.params.is_empty());
    assert_eq!(tag_value(&got.data.tags, "t"), Some("1"));
}

pub async fn log_batch_replay_is_harmless<S: TrackingStore>(s: &S) {
    let run = new_run(s, "0", "r", 1000).await;
    let metrics = vec![m("loss", 0.5, 100, 1), m("loss", 0.25, 200, 2)];
    let params = vec![tag("lr", "0.1"), tag("depth", "3")];
    let tags = vec![tag("t", "v")];
    for _ in 0..3 {
        log(s, &run, metrics.clone(), params.clone(), tags.clone())
            .await
            .unwrap();
    }
    let got = s.get_run(&run).await.unwrap();
    assert_eq!(got.data.metrics.len(), 1);
    assert_eq!(latest(&got, "loss").value, 0.25);
    let mut p = got.data.params.clone();
    p.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(p, vec![tag("depth", "3"), tag("lr", "0.1")]);
    assert_eq!(tag_value(&got.data.tags, "t"), Some("v"));
    let h = s.get_metric_history(&run, "loss", &page(0, 100)).await.unwrap();
    assert_eq!(h.items.len(), 2, "replayed points must not duplicate");
    // An empty batch is fine too.
    log(s, &run, vec![], vec![], vec![]).await.unwrap();
}

pub async fn changing_a_param_is_refused_atomically<S: TrackingStore>(s: &S) {
    let run = new_run(s, "0", "r", 1000).await;
    log(s, &run, vec![], vec![tag("lr", "0.1")], vec![]).await.unwrap();
    let err = log(
        s,
        &run,
        vec![m("acc", 0.9, 10, 0)],
        vec![tag("new", "1"), tag("lr", "0.2")],
        vec![tag("t", "x")],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    assert!(err.message.contains("lr"), "{}", err.message);
    let got = s.get_run(&run).await.unwrap();
    assert_eq!(got.data.params, vec![tag("lr", "0.1")]);
    assert!(got.data.metrics.is_empty(), "no metric of the failed batch");
    assert_eq!(tag_value(&got.data.tags, "t"), None);
    assert!(
        s.get_metric_history(&run, "acc", &page(0, 10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // Logging the same value again is allowed.
    log(s, &run, vec![], vec![tag("lr", "0.1")], vec![]).await.unwrap();
}

pub async fn run_tags_overwrite_and_delete<S: TrackingStore>(s: &S) {
    let run = new_run(s, "0", "r", 1000).await;
    log(s, &run, vec![], vec![], vec![tag("t", "1"), tag("u", "x")])
        .await
        .unwrap();
    log(s, &run, vec![], vec![], vec![tag("t", "2")]).await.unwrap();
    let got = s.get_run(&run).await.unwrap();
    assert_eq!(tag_value(&got.data.tags, "t"), Some("2"));
    assert_eq!(got.data.tags.iter().filter(|t| t.key == "t").count(), 1);
    // Setting mlflow.runName renames the run.
    log(s, &run, vec![], vec![], vec![tag("mlflow.runName", "renamed")])
        .await
        .unwrap();
    assert_eq!(s.get_run(&run).await.unwrap().info.run_name, "renamed");
    s.delete_tag(&run, "t").await.unwrap();
    let got = s.get_run(&run).await.unwrap();
    assert_eq!(tag_value(&got.data.tags, "t"), None);
    assert_eq!(tag_value(&got.data.tags, "u"), Some("x"));
    assert_eq!(code(s.delete_tag(&run, "t").await), ErrorCode::ResourceDoesNotExist);
    assert_eq!(code(s.delete_tag(&run, "never").await), ErrorCode::ResourceDoesNotExist);
}

pub async fn latest_metric_ignores_arrival_order<S: TrackingStore>(s: &S) {
    // The same points in three arrival orders, in one batch and one per batch.
    let points = [
        m("x", 1.0, 100, 2),
        m("x", 9.0, 500, 1),
        m("x", 3.0, 100, 2),
        m("x", 7.0, 50, 2),
        m("x", 8.0, 999, 0),
    ];
    let orders: [&[usize]; 3] = [&[0, 1, 2, 3, 4], &[4, 3, 2, 1, 0], &[2, 4, 0, 3, 1]];
    for (i, ord) in orders.iter().enumerate() {
        let one_batch = new_run(s, "0", &format!("batch-{i}"), 1000).await;
        let batch: Vec<Metric> = ord.iter().map(|j| points[*j].clone()).collect();
        log(s, &one_batch, batch, vec![], vec![]).await.unwrap();
        let singly = new_run(s, "0", &format!("single-{i}"), 1000).await;
        for j in *ord {
            log(s, &singly, vec![points[*j].clone()], vec![], vec![]).await.unwrap();
        }
        for run in [&one_batch, &singly] {
            let got = s.get_run(run).await.unwrap();
            let l = latest(&got, "x");
            assert_eq!((l.step, l.timestamp, l.value), (2, 100, 3.0), "order {ord:?}");
        }
    }
    // A later timestamp at the same step wins; an older step never does.
    let run = new_run(s, "0", "r", 1000).await;
    log(s, &run, vec![m("x", 5.0, 100, 3)], vec![], vec![]).await.unwrap();
    log(s, &run, vec![m("x", -1.0, 200, 3)], vec![], vec![]).await.unwrap();
    log(s, &run, vec![m("x", 100.0, 10_000, 2)], vec![], vec![])
        .await
        .unwrap();
    let got = s.get_run(&run).await.unwrap();
    let l = latest(&got, "x");
    assert_eq!((l.step, l.timestamp, l.value), (3, 200, -1.0));
    // NaN ranks below every number at the same step and timestamp, even the most negative one,
    // in one batch or across batches, in either order.
    let nan_first = new_run(s, "0", "nan-first", 1000).await;
    let nan_last = new_run(s, "0", "nan-last", 1000).await;
    let together = new_run(s, "0", "together", 1000).await;
    for (run, pts) in [
        (&nan_first, vec![m("n", f64::NAN, 7, 1), m("n", f64::MIN, 7, 1)]),
        (&nan_last, vec![m("n", f64::MIN, 7, 1), m("n", f64::NAN, 7, 1)]),
    ] {
        for p in pts {
            log(s, run, vec![p], vec![], vec![]).await.unwrap();
        }
    }
    log(
        s,
        &together,
        vec![m("n", f64::NAN, 7, 1), m("n", f64::MIN, 7, 1)],
        vec![],
        vec![],
    )
    .await
    .unwrap();
    for run in [&nan_first, &nan_last, &together] {
        let got = s.get_run(run).await.unwrap();
        assert_eq!(latest(&got, "n").value, f64::MIN, "{}", got.info.run_name);
    }
    // Each key has its own latest value.
    log(s, &run, vec![m("y", 1.0, 1, 0)], vec![], vec![]).await.unwrap();
    let got = s.get_run(&run).await.unwrap();
    assert_eq!(got.data.metrics.len(), 2);
    assert_eq!(latest(&got, "y").value, 1.0);
}

pub async fn nan_metric_round_trips<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    let run = new_run(s, &exp, "nan", 1000).await;
    log(
        s,
        &run,
        vec![m("a", f64::NAN, 10, 0), m("big", f64::MAX, 10, 0)],
        vec![],
        vec![],
    )
    .await
    .unwrap();
    let got = s.get_run(&run).await.unwrap();
    assert!(latest(&got, "a").value.is_nan());
    assert_eq!(latest(&got, "big").value, f64::MAX);
    let h = s.get_metric_history(&run, "a", &page(0, 10)).await.unwrap();
    assert_eq!(h.items.len(), 1);
    assert!(h.items[0].value.is_nan());
    // Replaying NaN does not duplicate it.
    log(s, &run, vec![m("a", f64::NAN, 10, 0)], vec![], vec![])
        .await
        .unwrap();
    let h = s.get_metric_history(&run, "a", &page(0, 10)).await.unwrap();
    assert_eq!(h.items.len(), 1);
    // A NaN value and a 0.0 value at the same point are different points.
    log(s, &run, vec![m("a", 0.0, 10, 0)], vec![], vec![]).await.unwrap();
    let h = s.get_metric_history(&run, "a", &page(0, 10)).await.unwrap();
    assert_eq!(h.items.len(), 2);
    // NaN is neither equal to, smaller nor larger than anything.
    let other = new_run(s, &exp, "zero", 1000).await;
    log(s, &other, vec![m("z", 0.0, 10, 0)], vec![], vec![]).await.unwrap();
    let nan_only = new_run(s, &exp, "nan-only", 1000).await;
    log(s, &nan_only, vec![m("z", f64::NAN, 10, 0)], vec![], vec![])
        .await
        .unwrap();
    assert_eq!(matching(s, &exp, "metrics.z = 0").await, ["zero"]);
    assert_eq!(matching(s, &exp, "metrics.z <= 0").await, ["zero"]);
    assert_eq!(matching(s, &exp, "metrics.z >= 0").await, ["zero"]);
    assert!(matching(s, &exp, "metrics.z < 0").await.is_empty());
    assert_eq!(matching(s, &exp, "metrics.z != 0").await, ["nan-only"]);
}

pub async fn metric_history_order_and_paging<S: TrackingStore>(s: &S) {
    let run = new_run(s, "0", "r", 1000).await;
    let mut points = Vec::new();
    for step in [5i64, 0, 3, 9, 1, 7, 2, 8, 4, 6] {
        points.push(m("loss", step as f64 / 10.0, 1000 + step, step));
    }
    // Two points at step 4: ordered by timestamp.
    points.push(m("loss", 42.0, 1, 4));
    for chunk in points.chunks(3) {
        log(s, &run, chunk.to_vec(), vec![], vec![]).await.unwrap();
    }
    log(s, &run, vec![m("other", 1.0, 1, 0)], vec![], vec![]).await.unwrap();
    let all = s.get_metric_history(&run, "loss", &page(0, 1000)).await.unwrap();
    assert!(!all.has_more);
    assert_eq!(all.items.len(), 11);
    assert!(all.items.iter().all(|p| p.key == "loss"));
    let keys: Vec<(i64, i64)> = all.items.iter().map(|p| (p.step, p.timestamp)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "history is ordered by step, then timestamp");
    assert_eq!(all.items[4].value, 42.0);
    // Pages of 4: the same sequence, no duplicates or gaps.
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let p = s.get_metric_history(&run, "loss", &page(offset, 4)).await.unwrap();
        paged.extend(p.items.iter().map(|p| (p.step, p.timestamp)));
        offset += 4;
        if !p.has_more {
            break;
        }
    }
    assert_eq!(paged, keys);
    // Exactly full last page: no has_more.
    let p = s.get_metric_history(&run, "loss", &page(7, 4)).await.unwrap();
    assert_eq!(p.items.len(), 4);
    assert!(!p.has_more);
    // A key never logged has an empty history.
    let p = s.get_metric_history(&run, "nope", &page(0, 10)).await.unwrap();
    assert!(p.items.is_empty() && !p.has_more);
}

pub async fn bulk_interval_sampling<S: TrackingStore>(s: &S) {
    let a = new_run(s, "0", "a", 1000).await;
    let b = new_run(s, "0", "b", 1000).await;
    let pa: Vec<Metric> = (0..100).map(|i| m("x", i as f64, 1000 + i, i)).collect();
    let pb: Vec<Metric> = (0..50).map(|i| m("x", -(i as f64), 1000 + i, i)).collect();
    log(s, &a, pa, vec![], vec![]).await.unwrap();
    log(s, &b, pb, vec![], vec![]).await.unwrap();
    log(s, &a, vec![m("y", 1.0, 1, 0)], vec![], vec![]).await.unwrap();
    let ids = vec![a.clone(), b.clone()];

    // Few enough steps: everything in range, per run in step order.
    let got = s
        .get_metric_history_bulk_interval(&ids, "x", Some(10), Some(20), 100)
        .await
        .unwrap();
    assert_eq!(got.len(), 22);
    for run in [&a, &b] {
        let steps: Vec<i64> = got.iter().filter(|p| &p.run_id == run).map(|p| p.metric.step).collect();
        assert_eq!(steps, (10..=20).collect::<Vec<_>>());
    }
    assert!(got.iter().all(|p| p.metric.key == "x"));
    let first_b = got.iter().position(|p| p.run_id == b).unwrap();
    let first_a = got.iter().position(|p| p.run_id == a).unwrap();
    let (first, second) = if first_a < first_b { (&a, &b) } else { (&b, &a) };
    assert!(
        got.iter()
            .skip_while(|p| &p.run_id == first)
            .all(|p| &p.run_id == second),
        "points are grouped by run"
    );

    // Sampled: about max_results distinct steps, first and last kept, and (as in MLflow) every
    // run's own first and last step, so the shorter run's chart still reaches its end.
    let got = s
        .get_metric_history_bulk_interval(&ids, "x", None, None, 10)
        .await
        .unwrap();
    let steps: BTreeSet<i64> = got.iter().map(|p| p.metric.step).collect();
    assert!(steps.len() <= 10 + 2 * ids.len(), "{steps:?}");
    assert!(steps.len() >= 3);
    assert!(steps.contains(&0) && steps.contains(&99), "{steps:?}");
    assert!(
        got.iter().any(|p| p.run_id == b && p.metric.step == 49),
        "run b's last step is kept: {steps:?}"
    );
    let a_steps: BTreeSet<i64> = got.iter().filter(|p| p.run_id == a).map(|p| p.metric.step).collect();
    assert_eq!(a_steps, steps, "run a has every sampled step");
    for p in &got {
        let expected = if p.run_id == a {
            p.metric.step as f64
        } else {
            -(p.metric.step as f64)
        };
        assert_eq!(p.metric.value, expected);
    }
    // Within bounds: a run's ends count only when they fall inside them.
    let got = s
        .get_metric_history_bulk_interval(&ids, "x", Some(5), Some(60), 5)
        .await
        .unwrap();
    let steps: BTreeSet<i64> = got.iter().map(|p| p.metric.step).collect();
    assert!(steps.iter().all(|s| (5..=60).contains(s)), "{steps:?}");
    assert!(
        steps.contains(&5) && steps.contains(&60) && steps.contains(&49),
        "{steps:?}"
    );
    assert!(steps.len() <= 5 + 2 * ids.len(), "{steps:?}");
    // Unknown key or run: nothing.
    assert!(
        s.get_metric_history_bulk_interval(&ids, "nope", None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let ghost = vec!["0123456789abcdef0123456789abcdef".to_string()];
    assert!(
        s.get_metric_history_bulk_interval(&ghost, "x", None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// Inputs and outputs.

pub async fn datasets_dedup_per_experiment<S: TrackingStore>(s: &S) {
    let e1 = new_exp(s, "e1").await;
    let e2 = new_exp(s, "e2").await;
    let r1 = new_run(s, &e1, "r1", 1000).await;
    let r2 = new_run(s, &e1, "r2", 1000).await;
    let r3 = new_run(s, &e2, "r3", 1000).await;
    s.log_inputs(
        &r1,
        &[
            input(dataset("train", "d1", "first"), Some("training")),
            input(dataset("eval", "d2", "e"), Some("eval")),
        ],
        &[],
    )
    .await
    .unwrap();
    // Logging the same dataset again to the same run adds nothing.
    s.log_inputs(&r1, &[input(dataset("train", "d1", "first"), Some("training"))], &[])
        .await
        .unwrap();
    let got = s.get_run(&r1).await.unwrap();
    let names: Vec<&str> = got
        .inputs
        .dataset_inputs
        .iter()
        .map(|d| d.dataset.name.as_str())
        .collect();
    assert_eq!(names, ["train", "eval"], "inputs keep their logging order");
    let train = &got.inputs.dataset_inputs[0];
    assert_eq!(train.tags, vec![tag("mlflow.data.context", "training")]);
    assert_eq!(train.dataset, dataset("train", "d1", "first"));

    // Same (name, digest) in the same experiment: the stored dataset is reused.
    s.log_inputs(&r2, &[input(dataset("train", "d1", "second"), None)], &[])
        .await
        .unwrap();
    let got = s.get_run(&r2).await.unwrap();
    assert_eq!(got.inputs.dataset_inputs.len(), 1);
    assert_eq!(got.inputs.dataset_inputs[0].dataset.source, "first");
    assert!(got.inputs.dataset_inputs[0].tags.is_empty());
    // Another experiment has its own datasets.
    s.log_inputs(&r3, &[input(dataset("train", "d1", "third"), None)], &[])
        .await
        .unwrap();
    let got = s.get_run(&r3).await.unwrap();
    assert_eq!(got.inputs.dataset_inputs[0].dataset.source, "third");
    // Schema and profile round-trip.
    let mut d = dataset("full", "d9", "src");
    d.schema = Some("{\"a\":1}".into());
    d.profile = Some("{\"rows\":3}".into());
    s.log_inputs(&r3, &[input(d.clone(), None)], &[]).await.unwrap();
    let got = s.get_run(&r3).await.unwrap();
    assert_eq!(got.inputs.dataset_inputs[1].dataset, d);
}

pub async fn model_inputs_and_outputs<S: TrackingStore>(s: &S) {
    let run = new_run(s, "0", "r", 1000).await;
    let mi = |id: &str| ModelInput {
        model_id: id.to_string(),
    };
    let mo = |id: &str, step| ModelOutput {
        model_id: id.to_string(),
        step,
    };
    s.log_inputs(&run, &[], &[mi("m-b"), mi("m-a")]).await.unwrap();
    s.log_inputs(&run, &[], &[mi("m-a")]).await.unwrap();
    s.log_outputs(&run, &[mo("m-c", 5), mo("m-d", 1)]).await.unwrap();
    s.log_outputs(&run, &[mo("m-c", 5)]).await.unwrap();
    let got = s.get_run(&run).await.unwrap();
    let mut inputs: Vec<&str> = got.inputs.model_inputs.iter().map(|m| m.model_id.as_str()).collect();
    inputs.sort();
    assert_eq!(inputs, ["m-a", "m-b"]);
    let mut outputs = got.outputs.model_outputs.clone();
    outputs.sort_by(|a, b| a.model_id.cmp(&b.model_id));
    assert_eq!(outputs, vec![mo("m-c", 5), mo("m-d", 1)]);
    assert!(got.inputs.dataset_inputs.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Search runs.

/// Four runs with metrics, params, tags and attributes to filter on.
async fn search_fixture<S: TrackingStore>(s: &S) -> (String, Vec<String>) {
    let exp = new_exp(s, "search").await;
    let mut ids = Vec::new();
    let spec: [(&str, f64, &str, &str, i64); 4] = [
        ("alpha", 0.1, "0.01", "Abc", 1000),
        ("beta", 0.5, "0.1", "abc", 2000),
        ("gamma", 0.9, "0.1", "xyz", 3000),
        ("Delta", 0.5, "1", "ABX", 4000),
    ];
    for (name, acc, lr, t, start) in spec {
        let id = new_run(s, &exp, name, start).await;
        log(
            s,
            &id,
            vec![m("acc", acc, 10, 1), m("acc", 0.0, 5, 0)],
            vec![tag("lr", lr)],
            vec![tag("t", t)],
        )
        .await
        .unwrap();
        ids.push(id);
    }
    // A run without metrics, params or extra tags.
    ids.push(new_run(s, &exp, "empty", 500).await);
    (exp, ids)
}

pub async fn search_runs_metric_comparators<S: TrackingStore>(s: &S) {
    let (exp, _) = search_fixture(s).await;
    let q = |f: &'static str| matching(s, &exp, f);
    assert_eq!(q("metrics.acc = 0.5").await, ["Delta", "beta"]);
    assert_eq!(q("metrics.acc != 0.5").await, ["alpha", "gamma"]);
    assert_eq!(q("metrics.acc < 0.5").await, ["alpha"]);
    assert_eq!(q("metrics.acc <= 0.5").await, ["Delta", "alpha", "beta"]);
    assert_eq!(q("metrics.acc > 0.5").await, ["gamma"]);
    assert_eq!(q("metrics.acc >= 0.5").await, ["Delta", "beta", "gamma"]);
    // Only the latest value counts (every run also logged 0.0 at step 0).
    assert!(q("metrics.acc = 0").await.is_empty());
    assert_eq!(
        q("metric.acc >= 1e-1 AND metrics.acc < .9").await,
        ["Delta", "alpha", "beta"]
    );
    assert!(q("metrics.missing > -1").await.is_empty());
    assert_eq!(q("metrics.`acc` > 0.8").await, ["gamma"]);
}

pub async fn search_runs_param_and_tag_comparators<S: TrackingStore>(s: &S) {
    let (exp, _) = search_fixture(s).await;
    let q = |f: &'static str| matching(s, &exp, f);
    assert_eq!(q("params.lr = '0.1'").await, ["beta", "gamma"]);
    // != only matches runs that have the key.
    assert_eq!(q("params.lr != '0.1'").await, ["Delta", "alpha"]);
    assert_eq!(q("params.lr LIKE '0.%'").await, ["alpha", "beta", "gamma"]);
    assert_eq!(q("param.lr LIKE '0._'").await, ["beta", "gamma"]);
    assert_eq!(q("params.lr IS NULL").await, ["empty"]);
    assert_eq!(q("params.lr IS NOT NULL").await.len(), 4);
    assert_eq!(q("params.nope IS NULL").await.len(), 5);
    assert_eq!(q("tags.t = 'abc'").await, ["beta"]);
    assert_eq!(q("tags.t != 'abc'").await, ["Delta", "alpha", "gamma"]);
    assert_eq!(q("tags.t IS NULL").await, ["empty"]);
    assert_eq!(q("tags.t IS NOT NULL AND params.lr = '1'").await, ["Delta"]);
    assert_eq!(q("tags.`mlflow.runName` = 'gamma'").await, ["gamma"]);
    assert_eq!(q("tags.mlflow.runName = 'gamma'").await, ["gamma"]);
    assert_eq!(q("tags.\"t\" = \"xyz\"").await, ["gamma"]);
}

pub async fn search_runs_like_is_case_sensitive_ilike_is_not<S: TrackingStore>(s: &S) {
    let (exp, _) = search_fixture(s).await;
    let q = |f: &'static str| matching(s, &exp, f);
    assert_eq!(q("tags.t LIKE 'ab%'").await, ["beta"]);
    assert_eq!(q("tags.t LIKE 'A%'").await, ["Delta", "alpha"]);
    assert_eq!(q("tags.t ILIKE 'ab%'").await, ["Delta", "alpha", "beta"]);
    assert_eq!(q("tags.t ILIKE 'AB_'").await, ["Delta", "alpha", "beta"]);
    assert_eq!(q("tags.t LIKE '%b%'").await, ["alpha", "beta"]);
    assert_eq!(q("attributes.run_name LIKE 'd%'").await, Vec::<String>::new());
    assert_eq!(q("attributes.run_name ILIKE 'd%'").await, ["Delta"]);
    assert_eq!(q("run_name LIKE '%a'").await, ["Delta", "alpha", "beta", "gamma"]);
    assert_eq!(q("params.lr ILIKE '1'").await, ["Delta"]);
    // Equality is exact.
    assert!(q("tags.t = 'ABC'").await.is_empty());
}

pub async fn search_runs_attributes<S: TrackingStore>(s: &S) {
    let (exp, ids) = search_fixture(s).await;
    s.update_run(&UpdateRun {
        run_id: ids[0].clone(),
        status: Some(RunStatus::Finished),
        end_time: Some(9000),
        run_name: None,
    })
    .await
    .unwrap();
    s.update_run(&UpdateRun {
        run_id: ids[1].clone(),
        status: Some(RunStatus::Failed),
        end_time: Some(8000),
        run_name: None,
    })
    .await
    .unwrap();
    let exp = exp.as_str();
    let q = |f: String| async move { matching(s, exp, &f).await };
    assert_eq!(q("attributes.status = 'FINISHED'".into()).await, ["alpha"]);
    assert_eq!(q("status != 'RUNNING'".into()).await, ["alpha", "beta"]);
    assert_eq!(q("attributes.user_id = 'alice'".into()).await.len(), 5);
    assert!(q("user_id = 'bob'".into()).await.is_empty());
    assert_eq!(q("attributes.start_time >= 3000".into()).await, ["Delta", "gamma"]);
    assert_eq!(q("start_time < 1000".into()).await, ["empty"]);
    assert_eq!(q("attributes.created = 2000".into()).await, ["beta"]);
    assert_eq!(q("attributes.end_time > 8500".into()).await, ["alpha"]);
    assert_eq!(q("end_time <= 9000".into()).await, ["alpha", "beta"]);
    assert_eq!(q("run_name = 'gamma'".into()).await, ["gamma"]);
    assert_eq!(q("attributes.`Run name` = 'gamma'".into()).await, ["gamma"]);
    assert_eq!(
        q(format!("attributes.run_id IN ('{}', '{}')", ids[0], ids[2])).await,
        ["alpha", "gamma"]
    );
    assert_eq!(
        q(format!("run_id NOT IN ('{}', '{}')", ids[0], ids[2])).await,
        ["Delta", "beta", "empty"]
    );
    assert_eq!(q(format!("run_id = '{}'", ids[3])).await, ["Delta"]);
    assert_eq!(
        q(format!("attributes.artifact_uri LIKE '%{}%'", ids[1])).await,
        ["beta"]
    );
    assert!(
        q("run_id IN ('0123456789abcdef0123456789abcdef')".into())
            .await
            .is_empty()
    );
}

pub async fn search_runs_datasets<S: TrackingStore>(s: &S) {
    let (exp, ids) = search_fixture(s).await;
    s.log_inputs(
        &ids[0],
        &[
            input(dataset("train", "aaa", "s"), Some("training")),
            input(dataset("test", "bbb", "s"), Some("eval")),
        ],
        &[],
    )
    .await
    .unwrap();
    s.log_inputs(&ids[1], &[input(dataset("train", "ccc", "s"), None)], &[])
        .await
        .unwrap();
    let q = |f: &'static str| matching(s, &exp, f);
    assert_eq!(q("datasets.name = 'train'").await, ["alpha", "beta"]);
    assert_eq!(q("datasets.digest = 'ccc'").await, ["beta"]);
    assert_eq!(q("datasets.digest IN ('aaa', 'zzz')").await, ["alpha"]);
    assert_eq!(q("datasets.context = 'training'").await, ["alpha"]);
    assert_eq!(q("dataset.context = 'eval'").await, ["alpha"]);
    assert_eq!(q("datasets.name LIKE 'te%'").await, ["alpha"]);
    assert_eq!(q("datasets.name ILIKE 'TRAIN'").await, ["alpha", "beta"]);
    assert_eq!(q("datasets.name = 'train' AND datasets.digest = 'ccc'").await, ["beta"]);
    assert!(q("datasets.name = 'none'").await.is_empty());
}

pub async fn search_runs_order_by_metric_nan_and_missing_last<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    let spec: [(&str, Option<f64>, i64); 5] = [
        ("one", Some(1.0), 1000),
        ("three", Some(3.0), 2000),
        ("nan", Some(f64::NAN), 3000),
        ("none", None, 4000),
        ("minus", Some(-2.0), 5000),
    ];
    for (name, v, start) in spec {
        let id = new_run(s, &exp, name, start).await;
        if let Some(v) = v {
            log(s, &id, vec![m("x", v, 1, 0)], vec![], vec![]).await.unwrap();
        }
    }
    let view = ViewType::ActiveOnly;
    assert_eq!(
        run_names(s, &[&exp], "", &["metrics.x ASC"], view).await,
        ["minus", "one", "three", "nan", "none"]
    );
    assert_eq!(
        run_names(s, &[&exp], "", &["metrics.x DESC"], view).await,
        ["three", "one", "minus", "nan", "none"]
    );
    assert_eq!(
        run_names(s, &[&exp], "", &["metrics.x"], view).await,
        ["minus", "one", "three", "nan", "none"]
    );
}

pub async fn search_runs_order_by_params_tags_attributes<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    let spec: [(&str, Option<&str>, i64); 4] = [
        ("b", Some("2"), 1000),
        ("a", Some("3"), 3000),
        ("c", None, 2000),
        ("d", Some("1"), 4000),
    ];
    for (name, v, start) in spec {
        let id = new_run(s, &exp, name, start).await;
        if let Some(v) = v {
            log(s, &id, vec![], vec![tag("p", v)], vec![tag("t", v)]).await.unwrap();
        }
    }
    let view = ViewType::ActiveOnly;
    let e = exp.as_str();
    let q = |o: &'static str| async move { run_names(s, &[e], "", &[o], view).await };
    assert_eq!(q("params.p ASC").await, ["d", "b", "a", "c"]);
    assert_eq!(q("params.p DESC").await, ["a", "b", "d", "c"]);
    assert_eq!(q("tags.t ASC").await, ["d", "b", "a", "c"]);
    assert_eq!(q("tags.t desc").await, ["a", "b", "d", "c"]);
    assert_eq!(q("attributes.run_name").await, ["a", "b", "c", "d"]);
    assert_eq!(q("run_name DESC").await, ["d", "c", "b", "a"]);
    assert_eq!(q("attributes.start_time ASC").await, ["b", "c", "a", "d"]);
    assert_eq!(q("start_time DESC").await, ["d", "a", "c", "b"]);
    // Several keys: the second breaks ties of the first.
    let id = new_run(s, &exp, "e", 500).await;
    log(s, &id, vec![], vec![tag("p", "2")], vec![]).await.unwrap();
    assert_eq!(
        run_names(s, &[&exp], "", &["params.p ASC", "run_name DESC"], view).await,
        ["d", "e", "b", "a", "c"]
    );
    assert_eq!(
        run_names(s, &[&exp], "", &["params.p ASC", "run_name ASC"], view).await,
        ["d", "b", "e", "a", "c"]
    );
}

pub async fn search_runs_default_order<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    let late = new_run(s, &exp, "late", 3000).await;
    let mut tied = Vec::new();
    for i in 0..4 {
        tied.push(new_run(s, &exp, &format!("tied{i}"), 2000).await);
    }
    let early = new_run(s, &exp, "early", 1000).await;
    tied.sort();
    let mut expected = vec![late];
    expected.extend(tied.iter().cloned());
    expected.push(early);
    let got: Vec<String> = search_runs_page(s, &[&exp], "", &[], ViewType::ActiveOnly, page(0, 100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.info.run_id)
        .collect();
    assert_eq!(got, expected, "start_time DESC, then run_id ASC");
    // Ties of an explicit order fall back to the same order.
    let got: Vec<String> = search_runs_page(
        s,
        &[&exp],
        "",
        &["metrics.none ASC"],
        ViewType::ActiveOnly,
        page(0, 100),
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .map(|r| r.info.run_id)
    .collect();
    assert_eq!(got, expected);
}

pub async fn search_runs_paging_has_no_duplicates_or_gaps<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    let mut all = HashSet::new();
    for i in 0..23i64 {
        // Many ties on start time and on the metric.
        let id = new_run(s, &exp, &format!("r{i:02}"), 1000 + i % 4).await;
        log(s, &id, vec![m("x", (i % 3) as f64, 1, 0)], vec![], vec![])
            .await
            .unwrap();
        all.insert(id);
    }
    for order in [vec![], vec!["metrics.x DESC"], vec!["params.none ASC"]] {
        let full: Vec<String> = search_runs_page(s, &[&exp], "", &order, ViewType::ActiveOnly, page(0, 100))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.info.run_id)
            .collect();
        assert_eq!(full.len(), 23);
        let mut paged = Vec::new();
        let mut offset = 0;
        let mut pages = 0;
        loop {
            let p = search_runs_page(s, &[&exp], "", &order, ViewType::ActiveOnly, page(offset, 5))
                .await
                .unwrap();
            pages += 1;
            paged.extend(p.items.iter().map(|r| r.info.run_id.clone()));
            offset += 5;
            if !p.has_more {
                assert_eq!(p.items.len(), 3);
                break;
            }
            assert_eq!(p.items.len(), 5);
        }
        assert_eq!(pages, 5);
        assert_eq!(paged, full, "order {order:?}");
        assert_eq!(paged.iter().cloned().collect::<HashSet<_>>(), all);
    }
    // A page past the end is empty.
    let p = search_runs_page(s, &[&exp], "", &[], ViewType::ActiveOnly, page(100, 5))
        .await
        .unwrap();
    assert!(p.items.is_empty() && !p.has_more);
}

pub async fn search_runs_view_types_and_experiments<S: TrackingStore>(s: &S) {
    let e1 = new_exp(s, "e1").await;
    let e2 = new_exp(s, "e2").await;
    new_run(s, &e1, "a", 1000).await;
    let b = new_run(s, &e1, "b", 2000).await;
    new_run(s, &e2, "c", 3000).await;
    s.delete_run(&b).await.unwrap();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(run_names(s, &[&e1], "", &[], ViewType::ActiveOnly).await), ["a"]);
    assert_eq!(
        sorted(run_names(s, &[&e1], "", &[], ViewType::DeletedOnly).await),
        ["b"]
    );
    assert_eq!(sorted(run_names(s, &[&e1], "", &[], ViewType::All).await), ["a", "b"]);
    assert_eq!(
        sorted(run_names(s, &[&e1, &e2], "", &[], ViewType::All).await),
        ["a", "b", "c"]
    );
    assert!(run_names(s, &[], "", &[], ViewType::All).await.is_empty());
    assert!(run_names(s, &["424242"], "", &[], ViewType::All).await.is_empty());
    // Full runs come back, data included.
    let runs = search_runs_page(s, &[&e2], "", &[], ViewType::ActiveOnly, page(0, 10))
        .await
        .unwrap();
    assert_eq!(runs.items.len(), 1);
    assert_eq!(tag_value(&runs.items[0].data.tags, "mlflow.runName"), Some("c"));
}

// ---------------------------------------------------------------------------------------------
// Logged models.

pub async fn logged_model_create_is_pending<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    let run = new_run(s, &exp, "r", 1000).await;
    let model = s
        .create_logged_model(&CreateLoggedModel {
            experiment_id: exp.clone(),
            name: Some("model".into()),
            model_type: Some("sklearn".into()),
            source_run_id: Some(run.clone()),
            params: vec![tag("alpha", "0.5")],
            tags: vec![tag("k", "v")],
        })
        .await
        .unwrap();
    let info = &model.info;
    assert!(info.model_id.starts_with("m-"), "{}", info.model_id);
    assert_eq!(info.model_id.len(), 34);
    assert_eq!(info.experiment_id, exp);
    assert_eq!(info.name, "model");
    assert_eq!(info.status, LoggedModelStatus::Pending);
    assert_eq!(info.model_type, "sklearn");
    assert_eq!(info.source_run_id, run);
    assert_eq!(
        info.artifact_uri,
        format!("mlflow-artifacts:/{exp}/models/{}/artifacts", info.model_id)
    );
    assert!(info.creation_timestamp_ms > 0);
    assert_eq!(info.tags, vec![tag("k", "v")]);
    assert_eq!(model.data.params, vec![tag("alpha", "0.5")]);
    assert!(model.data.metrics.is_empty());
    assert_eq!(s.get_logged_model(&info.model_id, false).await.unwrap(), model);
    // No name: one is generated.
    let unnamed = s
        .create_logged_model(&CreateLoggedModel {
            experiment_id: exp.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!unnamed.info.name.is_empty());
    assert_ne!(unnamed.info.model_id, info.model_id);
    // Unknown experiment.
    assert_eq!(
        code(
            s.create_logged_model(&CreateLoggedModel {
                experiment_id: "424242".into(),
                ..Default::default()
            })
            .await
        ),
        ErrorCode::ResourceDoesNotExist
    );
}

pub async fn logged_model_finalize<S: TrackingStore>(s: &S) {
    let a = new_model(s, "0", "a").await;
    let done = s
        .finalize_logged_model(&a.info.model_id, LoggedModelStatus::Ready)
        .await
        .unwrap();
    assert_eq!(done.info.status, LoggedModelStatus::Ready);
    assert!(done.info.last_updated_timestamp_ms >= a.info.last_updated_timestamp_ms);
    assert_eq!(
        s.get_logged_model(&a.info.model_id, false).await.unwrap().info.status,
        LoggedModelStatus::Ready
    );
    let b = new_model(s, "0", "b").await;
    let failed = s
        .finalize_logged_model(&b.info.model_id, LoggedModelStatus::UploadFailed)
        .await
        .unwrap();
    assert_eq!(failed.info.status, LoggedModelStatus::UploadFailed);
    assert_eq!(
        code(
            s.finalize_logged_model("m-0123456789abcdef0123456789abcdef", LoggedModelStatus::Ready)
                .await
        ),
        ErrorCode::ResourceDoesNotExist
    );
}

pub async fn logged_model_delete_hides_it<S: TrackingStore>(s: &S) {
    let a = new_model(s, "0", "a").await;
    new_model(s, "0", "b").await;
    let id = a.info.model_id.clone();
    s.delete_logged_model(&id).await.unwrap();
    assert_eq!(
        code(s.get_logged_model(&id, false).await),
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(s.get_logged_model(&id, true).await.unwrap().info.name, "a");
    let p = search_models(s, &["0"], "", vec![], page(0, 100)).await.unwrap();
    assert_eq!(model_names(&p), ["b"]);
    // Deleted models take no more changes.
    assert_eq!(code(s.delete_logged_model(&id).await), ErrorCode::ResourceDoesNotExist);
    assert_eq!(
        code(s.set_logged_model_tags(&id, &[tag("k", "v")]).await),
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(
        code(s.get_logged_model("m-nope", true).await),
        ErrorCode::ResourceDoesNotExist
    );
}

pub async fn logged_model_tags_and_params<S: TrackingStore>(s: &S) {
    let a = new_model(s, "0", "a").await;
    let id = a.info.model_id.as_str();
    s.set_logged_model_tags(id, &[tag("k", "1"), tag("j", "x")])
        .await
        .unwrap();
    s.set_logged_model_tags(id, &[tag("k", "2")]).await.unwrap();
    let got = s.get_logged_model(id, false).await.unwrap();
    let mut tags = got.info.tags.clone();
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(tags, vec![tag("j", "x"), tag("k", "2")]);
    s.delete_logged_model_tag(id, "k").await.unwrap();
    assert_eq!(
        s.get_logged_model(id, false).await.unwrap().info.tags,
        vec![tag("j", "x")]
    );
    assert_eq!(
        code(s.delete_logged_model_tag(id, "k").await),
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(
        code(s.delete_logged_model_tag("m-nope", "j").await),
        ErrorCode::ResourceDoesNotExist
    );
    s.log_logged_model_params(id, &[tag("p1", "a"), tag("p2", "b")])
        .await
        .unwrap();
    s.log_logged_model_params(id, &[tag("p3", "c")]).await.unwrap();
    let mut params = s.get_logged_model(id, false).await.unwrap().data.params;
    params.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(params, vec![tag("p1", "a"), tag("p2", "b"), tag("p3", "c")]);
    assert_eq!(
        code(s.log_logged_model_params("m-nope", &[tag("p", "v")]).await),
        ErrorCode::ResourceDoesNotExist
    );
}

pub async fn logged_model_metrics_come_from_runs<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    let run = new_run(s, &exp, "r", 1000).await;
    let model = new_model(s, &exp, "mdl").await;
    let id = model.info.model_id.clone();
    let mut with_model = m("acc", 0.75, 100, 3);
    with_model.model_id = Some(id.clone());
    with_model.dataset_name = Some("eval".into());
    with_model.dataset_digest = Some("abc".into());
    log(
        s,
        &run,
        vec![with_model.clone(), m("plain", 1.0, 100, 3)],
        vec![],
        vec![],
    )
    .await
    .unwrap();
    // Replays do not duplicate.
    log(s, &run, vec![with_model], vec![], vec![]).await.unwrap();
    let got = s.get_logged_model(&id, false).await.unwrap();
    assert_eq!(got.data.metrics.len(), 1);
    let mm = &got.data.metrics[0];
    assert_eq!(mm.key, "acc");
    assert_eq!(mm.value, 0.75);
    assert_eq!((mm.step, mm.timestamp), (3, 100));
    assert_eq!(mm.run_id.as_deref(), Some(run.as_str()));
    assert_eq!(mm.model_id.as_deref(), Some(id.as_str()));
    assert_eq!(mm.dataset_name.as_deref(), Some("eval"));
    assert_eq!(mm.dataset_digest.as_deref(), Some("abc"));
    // The run sees it as an ordinary metric too, with model and dataset in its history.
    let r = s.get_run(&run).await.unwrap();
    assert_eq!(latest(&r, "acc").value, 0.75);
    let h = s.get_metric_history(&run, "acc", &page(0, 10)).await.unwrap();
    assert_eq!(h.items[0].model_id.as_deref(), Some(id.as_str()));
    assert_eq!(h.items[0].dataset_name.as_deref(), Some("eval"));
    assert_eq!(h.items[0].dataset_digest.as_deref(), Some("abc"));
}

pub async fn search_logged_models_filter_order_paging<S: TrackingStore>(s: &S) {
    let e1 = new_exp(s, "e1").await;
    let e2 = new_exp(s, "e2").await;
    let run = new_run(s, &e1, "r", 1000).await;
    let mut ids = Vec::new();
    for (i, name) in ["m3", "m1", "m4", "m2", "m0"].iter().enumerate() {
        let model = s
            .create_logged_model(&CreateLoggedModel {
                experiment_id: e1.clone(),
                name: Some(name.to_string()),
                model_type: Some(if i % 2 == 0 { "even" } else { "odd" }.into()),
                params: vec![tag("i", &i.to_string())],
                tags: vec![tag("parity", if i % 2 == 0 { "even" } else { "odd" })],
                ..Default::default()
            })
            .await
            .unwrap();
        let mut acc = m("acc", i as f64 / 10.0, 1, 0);
        acc.model_id = Some(model.info.model_id.clone());
        log(s, &run, vec![acc], vec![], vec![]).await.unwrap();
        ids.push(model.info.model_id);
    }
    new_model(s, &e2, "m1").await;
    s.finalize_logged_model(&ids[0], LoggedModelStatus::Ready)
        .await
        .unwrap();

    let names = |p: Page<LoggedModel>| {
        let mut v: Vec<String> = p.items.into_iter().map(|m| m.info.name).collect();
        v.sort();
        v
    };
    let e = e1.as_str();
    let q = |f: &'static str| async move { search_models(s, &[e], f, vec![], page(0, 100)).await };
    assert_eq!(names(q("name = 'm1'").await.unwrap()), ["m1"]);
    assert_eq!(
        names(
            search_models(s, &[&e1, &e2], "name = 'm1'", vec![], page(0, 100))
                .await
                .unwrap()
        ),
        ["m1", "m1"]
    );
    assert_eq!(names(q("name LIKE 'm_'").await.unwrap()).len(), 5);
    assert_eq!(names(q("name != 'm1'").await.unwrap()).len(), 4);
    assert_eq!(names(q("tags.parity = 'odd'").await.unwrap()), ["m1", "m2"]);
    assert_eq!(names(q("params.i = '2'").await.unwrap()), ["m4"]);
    assert_eq!(names(q("model_type = 'even'").await.unwrap()), ["m0", "m3", "m4"]);
    assert_eq!(names(q("status = 'LOGGED_MODEL_READY'").await.unwrap()), ["m3"]);
    assert_eq!(names(q("metrics.acc >= 0.3").await.unwrap()), ["m0", "m2"]);
    assert_eq!(
        names(q("metrics.acc < 0.3 AND tags.parity = 'even'").await.unwrap()),
        ["m3", "m4"]
    );

    let ordered = |o: Vec<LoggedModelOrder>, p: PageRequest| async move { search_models(s, &[e], "", o, p).await };
    let p = ordered(vec![order("name", true)], page(0, 100)).await.unwrap();
    assert_eq!(model_names(&p), ["m0", "m1", "m2", "m3", "m4"]);
    let p = ordered(vec![order("name", false)], page(0, 100)).await.unwrap();
    assert_eq!(model_names(&p), ["m4", "m3", "m2", "m1", "m0"]);
    let p = ordered(vec![order("metrics.acc", false)], page(0, 100)).await.unwrap();
    assert_eq!(model_names(&p), ["m0", "m2", "m4", "m1", "m3"]);

    // Paging by twos.
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let p = ordered(vec![order("name", true)], page(offset, 2)).await.unwrap();
        seen.extend(p.items.iter().map(|m| m.info.name.clone()));
        offset += 2;
        if !p.has_more {
            break;
        }
    }
    assert_eq!(seen, ["m0", "m1", "m2", "m3", "m4"]);
    // Searched models carry their data.
    let p = q("name = 'm4'").await.unwrap();
    assert_eq!(p.items[0].data.params, vec![tag("i", "2")]);
    assert_eq!(p.items[0].data.metrics.len(), 1);
}

/// Lists longer than a statement's variable limit (SQLite: 32 766): a user's `run_id IN (...)`,
/// many experiment ids, and a page of more runs than one bound variable per id allows.
pub async fn search_runs_long_lists<S: TrackingStore>(s: &S) {
    let exp = new_exp(s, "e").await;
    let mut real = Vec::new();
    for i in 0..3 {
        real.push(new_run(s, &exp, &format!("real{i}"), 1000 + i).await);
    }
    // The longest list the grammar admits, long enough to travel as one JSON argument.
    let max = mlp_core::validation::MAX_IN_LIST_VALUES;
    let mut ids: Vec<String> = (0..max - 2).map(|i| format!("{i:032x}")).collect();
    ids.insert(max / 2, real[0].clone());
    ids.push(real[2].clone());
    let list = ids.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", ");
    assert_eq!(
        matching(s, &exp, &format!("attributes.run_id IN ({list})")).await,
        ["real0", "real2"]
    );
    assert_eq!(matching(s, &exp, &format!("run_id NOT IN ({list})")).await, ["real1"]);
    let mut exps: Vec<String> = (100_000..140_000).map(|i| i.to_string()).collect();
    exps.push(exp.clone());
    let exps: Vec<&str> = exps.iter().map(String::as_str).collect();
    let mut got = run_names(s, &exps, "", &[], ViewType::ActiveOnly).await;
    got.sort();
    assert_eq!(got, ["real0", "real1", "real2"]);
    // A page of 600 runs comes back whole, each with its own data.
    for i in 0..597 {
        new_run(s, &exp, &format!("bulk{i:03}"), 10).await;
    }
    let p = search_runs_page(s, &[&exp], "", &[], ViewType::ActiveOnly, page(0, 1000))
        .await
        .unwrap();
    assert_eq!(p.items.len(), 600);
    assert!(!p.has_more);
    for r in &p.items {
        assert_eq!(
            tag_value(&r.data.tags, "mlflow.runName"),
            Some(r.info.run_name.as_str())
        );
    }
}

/// A back-end's pre-rendered history page (when it has one) is byte for byte the generic page
/// as the API encodes it: same points, order, paging and encoding of NaN, ±inf, -0.0.
pub async fn rendered_history_matches_generic<S: TrackingStore>(s: &S) {
    let run = new_run(s, "0", "r", 1000).await;
    let special = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 5e-324, 1.0 / 3.0];
    let mut points: Vec<Metric> = (0..40).map(|i| m("loss", i as f64 / 7.0, 100 + i, i % 13)).collect();
    points.extend(special.iter().enumerate().map(|(i, v)| m("loss", *v, 7, 50 + i as i64)));
    points[3].model_id = Some("m-1".into());
    log(s, &run, points, vec![], vec![]).await.unwrap();
    for (offset, limit) in [(0, 1000), (0, 10), (10, 10), (40, 10), (46, 10), (100, 5)] {
        let req = page(offset, limit);
        let Some(rendered) = s.get_metric_history_json(&run, "loss", &req).await.unwrap() else {
            return; // this back-end has no rendered path
        };
        let generic = s.get_metric_history(&run, "loss", &req).await.unwrap();
        let points: Vec<HistoryPoint> = generic
            .items
            .iter()
            .map(|m| HistoryPoint {
                key: &m.key,
                value: m.value,
                timestamp: m.timestamp,
                step: m.step,
                model_id: m.model_id.as_deref(),
            })
            .collect();
        assert_eq!(
            String::from_utf8(rendered.json).unwrap(),
            serde_json::to_string(&points).unwrap(),
            "offset {offset}, limit {limit}"
        );
        assert_eq!(rendered.len, generic.items.len());
        assert_eq!(rendered.has_more, generic.has_more, "offset {offset}, limit {limit}");
    }
    let missing = s
        .get_metric_history_json("0123456789abcdef0123456789abcdef", "loss", &page(0, 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((missing.len, missing.json.as_slice()), (0, &b"[]"[..]));
}

//! Bounded work per request: the largest searches the grammar admits work (and agree) on every
//! back-end, anything beyond the limits is refused before SQL runs, and names the databases
//! would store differently (NUL) or that MLflow's columns could not hold are refused alike.

use std::time::Instant;

use mlp_core::model::*;
use mlp_core::registry::{RegistrySearch, RegistryStore};
use mlp_core::search::{self, SearchKind};
use mlp_core::store::*;
use mlp_core::validation::{
    MAX_FILTER_CLAUSES, MAX_FILTER_STRING_LENGTH, MAX_ORDER_BY_TERMS, MAX_REGISTERED_MODEL_NAME_LENGTH,
    MAX_RUN_NAME_LENGTH,
};
use mlp_core::{Error, ErrorCode, Result};

fn invalid<T: std::fmt::Debug>(r: Result<T>) -> Error {
    let e = r.expect_err("expected an error");
    assert_eq!(e.code, ErrorCode::InvalidParameterValue, "{e}");
    e
}

async fn run_with<S: TrackingStore>(s: &S, exp: &str, name: &str, metrics: Vec<Metric>, params: Vec<Param>) -> String {
    let id = s
        .create_run(&CreateRun {
            experiment_id: exp.to_string(),
            user_id: "u".into(),
            run_name: Some(name.to_string()),
            start_time: 1000,
            tags: vec![],
        })
        .await
        .unwrap()
        .info
        .run_id;
    s.log_batch(&LogBatch {
        run_id: id.clone(),
        metrics,
        params,
        tags: vec![],
    })
    .await
    .unwrap();
    id
}

async fn tag<S: TrackingStore>(s: &S, run_id: &str, key: &str, value: &str) {
    s.log_batch(&LogBatch {
        run_id: run_id.to_string(),
        metrics: vec![],
        params: vec![],
        tags: vec![Tag::new(key, value)],
    })
    .await
    .unwrap();
}

fn metric(key: String, value: f64) -> Metric {
    Metric {
        key,
        value,
        timestamp: 1,
        step: 0,
        ..Default::default()
    }
}

async fn search<S: TrackingStore>(s: &S, exp: &str, filter: &str, order_by: &[String]) -> Result<Vec<String>> {
    let filter = search::parse_filter(SearchKind::Runs, filter)?;
    let order_by = order_by
        .iter()
        .map(|o| search::parse_order_by(SearchKind::Runs, o))
        .collect::<Result<Vec<_>>>()?;
    let page = s
        .search_runs(&SearchRuns {
            experiment_ids: vec![exp.to_string()],
            filter,
            order_by,
            view: ViewType::ActiveOnly,
            page: PageRequest { offset: 0, limit: 1000 },
        })
        .await?;
    Ok(page.items.into_iter().map(|r| r.info.run_name).collect())
}

/// `MAX_FILTER_CLAUSES` clauses over metrics, params, tags and attributes, each of which some
/// run fails, so a clause the SQL dropped or inverted changes the answer.
pub async fn search_runs_with_the_most_clauses<S: TrackingStore>(s: &S) {
    let exp = s.create_experiment("many-clauses", None, &[]).await.unwrap();
    let keys = 30;
    for r in 0..6 {
        let metrics = (0..keys)
            .map(|k| metric(format!("m{k}"), if r == 1 && k == 29 { f64::NAN } else { k as f64 }))
            .collect();
        let params = (0..keys)
            .filter(|&k| !(r == 2 && k == 7))
            .map(|k| Param {
                key: format!("p{k}"),
                value: if r == 3 && k == 11 {
                    "other".into()
                } else {
                    format!("v{k}")
                },
            })
            .collect();
        let id = run_with(s, &exp, &format!("r{r}"), metrics, params).await;
        if r != 4 {
            tag(s, &id, "t", "x").await;
        }
    }
    let mut clauses = Vec::new();
    for k in 0..keys {
        clauses.push(format!("metrics.m{k} = {k}"));
        clauses.push(format!("params.p{k} = 'v{k}'"));
        clauses.push(format!("params.p{k} LIKE 'v%'"));
    }
    clauses.push("tags.t = 'x'".into());
    clauses.push("attributes.run_name != 'r5'".into());
    while clauses.len() < MAX_FILTER_CLAUSES {
        clauses.push("metrics.m0 >= 0".into());
    }
    let filter = clauses.join(" AND ");
    // r1: m29 is NaN; r2: no p7; r3: p11 differs; r4: no tag t; r5: excluded by name.
    assert_eq!(search(s, &exp, &filter, &[]).await.unwrap(), ["r0"]);
    let without_name = filter.replace("attributes.run_name != 'r5'", "metrics.m1 != 0");
    let mut got = search(s, &exp, &without_name, &[]).await.unwrap();
    got.sort();
    assert_eq!(got, ["r0", "r5"]);
    // One clause more is refused whatever it says.
    let e = invalid(search(s, &exp, &format!("{filter} AND metrics.m0 >= 0"), &[]).await);
    assert!(
        e.message.contains(&format!("at most {MAX_FILTER_CLAUSES} clauses")),
        "{e}"
    );
}

/// The longest LIKE pattern admitted, full of wildcards, matches exactly what it should on
/// every back-end (no "pattern too complex", no escape-character differences).
pub async fn search_runs_with_the_longest_like_pattern<S: TrackingStore>(s: &S) {
    let exp = s.create_experiment("long-like", None, &[]).await.unwrap();
    let max = mlp_core::validation::MAX_FILTER_VALUE_LENGTH;
    let long: String = "ab".repeat(max / 2);
    let runs = [("hit", long.clone()), ("miss", format!("{}c", &long[..long.len() - 1]))];
    for (name, value) in &runs {
        let id = run_with(s, &exp, name, vec![], vec![]).await;
        tag(s, &id, "long", value).await;
    }
    let pattern: String = "a%".repeat(max / 2 - 1) + "_b";
    assert_eq!(pattern.chars().count(), max);
    assert_eq!(
        search(s, &exp, &format!("tags.long LIKE '{pattern}'"), &[])
            .await
            .unwrap(),
        ["hit"]
    );
    let upper = pattern.replace('a', "A");
    assert_eq!(
        search(s, &exp, &format!("tags.long ILIKE '{upper}'"), &[])
            .await
            .unwrap(),
        ["hit"]
    );
    let wild = "%".repeat(max);
    let mut got = search(s, &exp, &format!("tags.long LIKE '{wild}'"), &[]).await.unwrap();
    got.sort();
    assert_eq!(got, ["hit", "miss"]);
    let e = invalid(search(s, &exp, &format!("tags.long LIKE '{wild}%'"), &[]).await);
    assert!(e.message.contains(&format!("at most {max} characters")), "{e}");
}

/// Order-by terms are counted where the parsed query reaches the store, since each term is
/// parsed on its own.
pub async fn order_by_terms_are_bounded<S: TrackingStore + RegistryStore>(s: &S) {
    let exp = s.create_experiment("orders", None, &[]).await.unwrap();
    for (i, v) in [3.0, 1.0, 2.0].into_iter().enumerate() {
        run_with(s, &exp, &format!("r{i}"), vec![metric("m".into(), v)], vec![]).await;
    }
    let mut orders: Vec<String> = (0..MAX_ORDER_BY_TERMS - 1).map(|i| format!("params.p{i}")).collect();
    orders.push("metrics.m DESC".into());
    assert_eq!(search(s, &exp, "", &orders).await.unwrap(), ["r0", "r2", "r1"]);
    orders.push("attributes.run_name".into());
    let e = invalid(search(s, &exp, "", &orders).await);
    assert!(e.message.contains(&format!("at most {MAX_ORDER_BY_TERMS}")), "{e}");

    let order_by = (0..=MAX_ORDER_BY_TERMS)
        .map(|_| search::parse_order_by(SearchKind::Experiments, "name").unwrap())
        .collect();
    let q = SearchExperiments {
        filter: vec![],
        order_by,
        view: ViewType::ActiveOnly,
        page: PageRequest { offset: 0, limit: 10 },
    };
    invalid(s.search_experiments(&q).await);
    let order_by: Vec<_> = (0..=MAX_ORDER_BY_TERMS)
        .map(|_| search::parse_order_by(SearchKind::RegisteredModels, "name").unwrap())
        .collect();
    let rq = RegistrySearch {
        filter: vec![],
        order_by: order_by.clone(),
        page: PageRequest { offset: 0, limit: 10 },
    };
    invalid(s.search_registered_models(&rq).await);
    let rq = RegistrySearch {
        order_by: (0..=MAX_ORDER_BY_TERMS)
            .map(|_| search::parse_order_by(SearchKind::ModelVersions, "name").unwrap())
            .collect(),
        ..rq
    };
    invalid(s.search_model_versions(&rq).await);
    let lq = SearchLoggedModels {
        experiment_ids: vec![exp.clone()],
        filter: vec![],
        datasets: vec![],
        order_by: (0..=MAX_ORDER_BY_TERMS)
            .map(|_| LoggedModelOrder {
                field_name: "name".into(),
                ascending: true,
                dataset_name: None,
                dataset_digest: None,
            })
            .collect(),
        page: PageRequest { offset: 0, limit: 10 },
    };
    invalid(s.search_logged_models(&lq).await);
    // A filter string at the length limit parses; the store never sees a longer one.
    let base = format!("tags.x = '{}'", "y".repeat(100));
    let at_limit = base.clone() + &" ".repeat(MAX_FILTER_STRING_LENGTH - base.len());
    assert_eq!(at_limit.len(), MAX_FILTER_STRING_LENGTH);
    assert!(search(s, &exp, &at_limit, &[]).await.unwrap().is_empty());
    invalid(search(s, &exp, &format!("{at_limit} "), &[]).await);
}

/// NUL is refused in every name on every back-end (SQLite would store it, PostgreSQL cannot),
/// and names longer than MLflow's columns are refused rather than stored.
pub async fn names_with_nul_or_too_long_are_refused<S: TrackingStore + RegistryStore>(s: &S) {
    invalid(s.create_experiment("a\0b", None, &[]).await);
    let exp = s.create_experiment("names", None, &[]).await.unwrap();
    invalid(s.rename_experiment(&exp, "x\0").await);
    let run = |name: String| CreateRun {
        experiment_id: exp.clone(),
        user_id: "u".into(),
        run_name: Some(name),
        start_time: 1,
        tags: vec![],
    };
    invalid(s.create_run(&run("r\0".into())).await);
    invalid(s.create_run(&run("r".repeat(MAX_RUN_NAME_LENGTH + 1))).await);
    let id = s
        .create_run(&run("r".repeat(MAX_RUN_NAME_LENGTH)))
        .await
        .unwrap()
        .info
        .run_id;
    let mut tagged = run(String::new());
    tagged.run_name = None;
    tagged.tags = vec![Tag::new("mlflow.runName", "t\0")];
    invalid(s.create_run(&tagged).await);
    invalid(
        s.update_run(&UpdateRun {
            run_id: id.clone(),
            status: None,
            end_time: None,
            run_name: Some("n\0".into()),
        })
        .await,
    );
    assert_eq!(s.get_run(&id).await.unwrap().info.run_name.len(), MAX_RUN_NAME_LENGTH);

    invalid(s.create_registered_model("m\0", &[], None).await);
    invalid(
        s.create_registered_model(&"m".repeat(MAX_REGISTERED_MODEL_NAME_LENGTH + 1), &[], None)
            .await,
    );
    let longest = "m".repeat(MAX_REGISTERED_MODEL_NAME_LENGTH);
    s.create_registered_model(&longest, &[], None).await.unwrap();
    invalid(s.rename_registered_model(&longest, "n\0").await);
    invalid(
        s.rename_registered_model(&longest, &"n".repeat(MAX_REGISTERED_MODEL_NAME_LENGTH + 1))
            .await,
    );
    assert_eq!(s.get_registered_model(&longest).await.unwrap().name, longest);
    invalid(
        s.create_logged_model(&CreateLoggedModel {
            experiment_id: exp.clone(),
            name: Some("lm\0".into()),
            model_type: None,
            source_run_id: None,
            params: vec![],
            tags: vec![],
        })
        .await,
    );
}

/// Not a test: prints how long AND-ed metric/param filters take as the number of clauses grows
/// (`cargo nextest run -p mlp-store-sqlite -p mlp-store-postgres --run-ignored only
/// --no-capture search_cost_by_clause_count`). Search cost must grow about linearly.
pub async fn search_cost_by_clause_count<S: TrackingStore>(s: &S) {
    let exp = s.create_experiment("bench", None, &[]).await.unwrap();
    let (runs, keys) = (300, 50);
    let t = Instant::now();
    for r in 0..runs {
        let metrics = (0..keys).map(|k| metric(format!("m{k}"), (r + k) as f64)).collect();
        let params = (0..keys)
            .map(|k| Param {
                key: format!("p{k}"),
                value: format!("v{}", (r + k) % 7),
            })
            .collect();
        run_with(s, &exp, &format!("r{r}"), metrics, params).await;
    }
    eprintln!(
        "bench: {runs} runs x {keys} metrics + {keys} params loaded in {:?}",
        t.elapsed()
    );
    for n in [10, 25, 50, 100, 200] {
        let clauses: Vec<String> = (0..n)
            .map(|i| {
                let k = i / 2 % keys;
                if i % 2 == 0 {
                    format!("metrics.m{k} >= {k}")
                } else {
                    format!("params.p{k} != 'none'")
                }
            })
            .collect();
        // Past the parser's limit the clauses are parsed in chunks, to show the trend.
        let filter = clauses
            .chunks(MAX_FILTER_CLAUSES)
            .flat_map(|c| search::parse_filter(SearchKind::Runs, &c.join(" AND ")).unwrap())
            .collect::<Vec<_>>();
        let q = SearchRuns {
            experiment_ids: vec![exp.clone()],
            filter,
            order_by: vec![search::parse_order_by(SearchKind::Runs, "metrics.m0 DESC").unwrap()],
            view: ViewType::ActiveOnly,
            page: PageRequest { offset: 0, limit: 10 },
        };
        let mut best = std::time::Duration::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            let page = s.search_runs(&q).await.unwrap();
            best = best.min(t.elapsed());
            assert_eq!(page.items[0].info.run_name, format!("r{}", runs - 1));
        }
        eprintln!("bench: {n:>3} clauses: first 10 of {runs} matching runs in {best:?} (best of 3)");
    }
}

//! Registry conformance: registered models, versions, aliases, stages, tags, search.

use mlp_core::ErrorCode;
use mlp_core::model::Tag;
use mlp_core::registry::*;
use mlp_core::search::{self, SearchKind};
use mlp_core::store::{CreateLoggedModel, PageRequest, TrackingStore};

fn version(name: &str, source: &str) -> CreateModelVersion {
    CreateModelVersion {
        name: name.into(),
        source: source.into(),
        ..Default::default()
    }
}

fn q(kind: SearchKind, filter: &str, order: &[&str], limit: u64) -> RegistrySearch {
    RegistrySearch {
        filter: search::parse_filter(kind, filter).unwrap(),
        order_by: order.iter().map(|o| search::parse_order_by(kind, o).unwrap()).collect(),
        page: PageRequest { offset: 0, limit },
    }
}

pub async fn versions_count_up_and_are_never_reused<S: RegistryStore>(s: &S) {
    s.create_registered_model("m", &[], Some("first")).await.unwrap();
    let dup = s.create_registered_model("m", &[], None).await.unwrap_err();
    assert_eq!(dup.code, ErrorCode::ResourceAlreadyExists);
    for expected in ["1", "2", "3"] {
        let v = s.create_model_version(&version("m", "runs:/abc/model")).await.unwrap();
        assert_eq!(v.version, expected);
        assert_eq!(v.status, "READY");
        assert_eq!(v.current_stage, Stage::None);
    }
    s.delete_model_version("m", "3").await.unwrap();
    assert_eq!(
        s.get_model_version("m", "3").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(
        s.create_model_version(&version("m", "runs:/abc/model"))
            .await
            .unwrap()
            .version,
        "4"
    );
    let missing = s.create_model_version(&version("nope", "runs:/x/y")).await.unwrap_err();
    assert_eq!(missing.code, ErrorCode::ResourceDoesNotExist);
}

pub async fn runs_sources_are_kept_and_logged_model_sources_resolve<S: RegistryStore + TrackingStore>(s: &S) {
    let run = s
        .create_run(&mlp_core::store::CreateRun {
            experiment_id: "0".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let model = s
        .create_logged_model(&CreateLoggedModel {
            experiment_id: "0".into(),
            name: Some("model".into()),
            source_run_id: Some(run.info.run_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    s.create_registered_model("resolve", &[], None).await.unwrap();
    let from_run = s
        .create_model_version(&version("resolve", "runs:/r/model"))
        .await
        .unwrap();
    assert_eq!(from_run.storage_location, "runs:/r/model");
    let uri = format!("models:/{}", model.info.model_id);
    let from_model = s
        .create_model_version(&CreateModelVersion {
            model_id: Some(model.info.model_id.clone()),
            ..version("resolve", &uri)
        })
        .await
        .unwrap();
    assert_eq!(from_model.source, uri);
    assert_eq!(from_model.storage_location, model.info.artifact_uri);
    assert_eq!(from_model.run_id, run.info.run_id);
    let tagged = s.get_logged_model(&model.info.model_id, false).await.unwrap();
    let registrations = tagged
        .info
        .tags
        .iter()
        .find(|t| t.key == "mlflow.modelVersions")
        .expect("tagged");
    assert!(registrations.value.contains("\"resolve\""), "{}", registrations.value);
}

pub async fn stages_latest_versions_and_archiving<S: RegistryStore>(s: &S) {
    s.create_registered_model("st", &[], None).await.unwrap();
    for _ in 0..3 {
        s.create_model_version(&version("st", "runs:/a/m")).await.unwrap();
    }
    s.transition_stage("st", "1", Stage::Production, false).await.unwrap();
    s.transition_stage("st", "2", Stage::Staging, false).await.unwrap();
    let latest: Vec<(Stage, String)> = s
        .get_registered_model("st")
        .await
        .unwrap()
        .latest_versions
        .into_iter()
        .map(|v| (v.current_stage, v.version))
        .collect();
    for want in [(Stage::Production, "1"), (Stage::Staging, "2"), (Stage::None, "3")] {
        assert!(latest.contains(&(want.0, want.1.to_string())), "{latest:?}");
    }
    assert_eq!(latest.len(), 3);
    let prod = s.get_latest_versions("st", &[Stage::Production]).await.unwrap();
    assert_eq!(prod.iter().map(|v| v.version.as_str()).collect::<Vec<_>>(), vec!["1"]);
    s.transition_stage("st", "3", Stage::Production, true).await.unwrap();
    assert_eq!(
        s.get_model_version("st", "1").await.unwrap().current_stage,
        Stage::Archived
    );
    assert_eq!(
        s.get_model_version("st", "2").await.unwrap().current_stage,
        Stage::Staging,
        "other stages untouched"
    );
    s.transition_stage("st", "1", Stage::Staging, false).await.unwrap();
    let staging = s.get_latest_versions("st", &[Stage::Staging]).await.unwrap();
    assert_eq!(
        staging.iter().map(|v| v.version.as_str()).collect::<Vec<_>>(),
        vec!["2"],
        "highest version wins"
    );
}

pub async fn aliases_move_and_go_with_their_version<S: RegistryStore>(s: &S) {
    s.create_registered_model("al", &[], None).await.unwrap();
    s.create_model_version(&version("al", "runs:/a/m")).await.unwrap();
    s.create_model_version(&version("al", "runs:/a/m")).await.unwrap();
    s.set_alias("al", "champion", "1").await.unwrap();
    assert_eq!(s.get_version_by_alias("al", "champion").await.unwrap().version, "1");
    s.set_alias("al", "champion", "2").await.unwrap();
    let v = s.get_version_by_alias("al", "champion").await.unwrap();
    assert_eq!(v.version, "2");
    assert_eq!(v.aliases, vec!["champion".to_string()]);
    assert_eq!(
        s.set_alias("al", "x", "9").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(
        s.get_version_by_alias("al", "nope").await.unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    assert_eq!(
        s.get_version_by_alias("missing", "champion").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    s.delete_model_version("al", "2").await.unwrap();
    assert!(
        s.get_registered_model("al").await.unwrap().aliases.is_empty(),
        "the alias went with its version"
    );
    s.set_alias("al", "old", "1").await.unwrap();
    s.delete_alias("al", "old").await.unwrap();
    assert_eq!(
        s.delete_alias("al", "old").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
}

pub async fn rename_update_tags_and_delete_cascade<S: RegistryStore>(s: &S) {
    s.create_registered_model("old", &[Tag::new("team", "red")], None)
        .await
        .unwrap();
    s.create_model_version(&CreateModelVersion {
        tags: vec![Tag::new("v", "1")],
        ..version("old", "runs:/a/m")
    })
    .await
    .unwrap();
    s.set_alias("old", "prod", "1").await.unwrap();
    s.set_registered_model_tag("old", &Tag::new("team", "blue"))
        .await
        .unwrap();
    s.set_model_version_tag("old", "1", &Tag::new("ok", "yes"))
        .await
        .unwrap();
    s.delete_model_version_tag("old", "1", "v").await.unwrap();
    assert_eq!(
        s.delete_model_version_tag("old", "1", "v").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    let renamed = s.rename_registered_model("old", "new").await.unwrap();
    assert_eq!(renamed.name, "new");
    assert_eq!(renamed.tags, vec![Tag::new("team", "blue")]);
    assert_eq!(
        renamed.aliases,
        vec![Alias {
            alias: "prod".into(),
            version: "1".into()
        }]
    );
    let v = s.get_model_version("new", "1").await.unwrap();
    assert_eq!(v.tags, vec![Tag::new("ok", "yes")]);
    assert_eq!(
        s.get_registered_model("old").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(
        s.update_registered_model("new", Some("desc"))
            .await
            .unwrap()
            .description
            .as_deref(),
        Some("desc")
    );
    assert_eq!(
        s.update_model_version("new", "1", Some("d1"))
            .await
            .unwrap()
            .description,
        "d1"
    );
    s.create_registered_model("other", &[], None).await.unwrap();
    assert_eq!(
        s.rename_registered_model("other", "new").await.unwrap_err().code,
        ErrorCode::ResourceAlreadyExists
    );
    s.delete_registered_model("new").await.unwrap();
    assert_eq!(
        s.get_model_version("new", "1").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    assert!(
        s.search_model_versions(&q(SearchKind::ModelVersions, "name = 'new'", &[], 10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        s.delete_registered_model("new").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
}

pub async fn search_models_and_versions<S: RegistryStore>(s: &S) {
    for (name, team) in [("s-c", "red"), ("s-a", "blue"), ("s-b", "red"), ("p", "red")] {
        s.create_registered_model(name, &[Tag::new("team", team)], None)
            .await
            .unwrap();
        s.create_model_version(&CreateModelVersion {
            run_id: Some("r1".into()),
            ..version(name, "runs:/r1/m")
        })
        .await
        .unwrap();
    }
    s.set_registered_model_tag("p", &Tag::new("mlflow.prompt.is_prompt", "true"))
        .await
        .unwrap();
    let names = |p: mlp_core::store::Page<RegisteredModel>| p.items.into_iter().map(|m| m.name).collect::<Vec<_>>();
    let kind = SearchKind::RegisteredModels;
    assert_eq!(
        names(
            s.search_registered_models(&q(kind, "name LIKE 's-%'", &[], 10))
                .await
                .unwrap()
        ),
        ["s-a", "s-b", "s-c"]
    );
    assert_eq!(
        names(
            s.search_registered_models(&q(kind, "name LIKE 's-%'", &["name DESC"], 10))
                .await
                .unwrap()
        ),
        ["s-c", "s-b", "s-a"]
    );
    assert_eq!(
        names(
            s.search_registered_models(&q(kind, "tags.team = 'red'", &[], 10))
                .await
                .unwrap()
        ),
        ["p", "s-b", "s-c"]
    );
    // The client's prompt clause keeps untagged models; other `!=` need the tag.
    let not_prompt = "tags.`mlflow.prompt.is_prompt` != 'true'";
    assert_eq!(
        names(s.search_registered_models(&q(kind, not_prompt, &[], 10)).await.unwrap()),
        ["s-a", "s-b", "s-c"]
    );
    assert_eq!(
        names(
            s.search_registered_models(&q(kind, "tags.team != 'red'", &[], 10))
                .await
                .unwrap()
        ),
        ["s-a"]
    );
    let page = s
        .search_registered_models(&q(kind, "name LIKE 's-%'", &[], 2))
        .await
        .unwrap();
    assert!(page.has_more);
    assert_eq!(page.items.len(), 2);
    let vk = SearchKind::ModelVersions;
    let found = s
        .search_model_versions(&q(vk, "name IN ('s-a', 's-b') AND version_number = 1", &[], 10))
        .await
        .unwrap();
    let mut got: Vec<String> = found.items.into_iter().map(|v| v.name).collect();
    got.sort();
    assert_eq!(got, ["s-a", "s-b"]);
    assert_eq!(
        s.search_model_versions(&q(vk, "run_id = 'r1'", &[], 10))
            .await
            .unwrap()
            .items
            .len(),
        4
    );
    assert_eq!(
        s.search_model_versions(&q(vk, "source_path LIKE 'runs:/r1/%'", &[], 10))
            .await
            .unwrap()
            .items
            .len(),
        4
    );
}

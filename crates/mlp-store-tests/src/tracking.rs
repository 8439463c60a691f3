//! Tracking conformance: experiments, runs, metrics, params, tags, search, logged models.

use mlp_core::store::TrackingStore;

pub async fn default_experiment_exists<S: TrackingStore>(s: &S) {
    let e = s.get_experiment("0").await.unwrap();
    assert_eq!(e.name, "Default");
    assert_eq!(
        s.get_experiment_by_name("Default")
            .await
            .unwrap()
            .experiment_id,
        "0"
    );
}

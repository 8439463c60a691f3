#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // tonic (the plugin's mTLS listener) and reqwest both use rustls, and the dependency graph
    // enables two crypto back-ends, so rustls cannot pick one itself and would panic.
    let _ = rustls::crypto::ring::default_provider().install_default();
    tf_provider::serve("mlp", terraform_provider_mlp::provider::MlpProvider::default()).await
}

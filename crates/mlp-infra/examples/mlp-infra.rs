//! `mlp infra` without the rest of the `mlp` binary (quick iterations, benchmarks):
//! `cargo run -p mlp-infra --example mlp-infra -- check`.
use clap::Parser;

#[derive(Parser)]
#[command(name = "mlp-infra")]
struct Cli {
    #[command(flatten)]
    infra: mlp_infra::cli::InfraArgs,
}

fn main() {
    std::process::exit(mlp_infra::cli::run(Cli::parse().infra));
}

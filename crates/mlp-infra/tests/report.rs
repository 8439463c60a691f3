//! The committed environment table (docs/environments.md) is what `mlp infra report` derives
//! from the code; regenerate it with `mlp infra report -o docs/environments.md`.

use std::path::Path;

use mlp_infra::layout::Layout;

#[test]
fn docs_environments_md_matches_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let layout = Layout::at(&root).unwrap();
    let generated = mlp_infra::cli::report_markdown(&layout).unwrap();
    let committed = std::fs::read_to_string(root.join("docs/environments.md")).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/environments.md drifted from infrastructure/: run `mlp infra report -o docs/environments.md`\n--- generated ---\n{generated}"
    );
}

#[test]
fn report_derives_the_seed_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let md = mlp_infra::cli::report_markdown(&Layout::at(&root).unwrap()).unwrap();
    for row in [
        "| **Cluster type** | Kind | EKS | EKS | EKS |",
        "| **High availability** | no | no | no | yes |",
    ] {
        assert!(md.contains(row), "missing {row}\n{md}");
    }
    assert!(md.contains("## Parity differences") && md.contains("## Findings summary"));
}

# Partial configuration: `mlp infra deploy <env>` initialises it with
# environments/<env>/platform.backend.hcl (same state bucket and lock file scheme as the
# environment's cloud root, its own key). Local writes a backend_override.tf for local state.
terraform {
  backend "s3" {}
}

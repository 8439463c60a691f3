# Shared by every environment: pass first, then the environment's own
# terraform.tfvars (see infrastructure/scripts/deploy-environment.sh).
# Never put a secret here: every credential is generated.
project_name = "ml-platform"
common_tags = {
  "Project"    = "ml-platform"
  "ManagedBy"  = "terraform"
  "Repository" = "github.com/org/ml-platform"
}

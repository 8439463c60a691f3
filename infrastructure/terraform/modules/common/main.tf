locals {
  is_local    = var.environment == "local"
  name_prefix = "${var.project_name}-${var.environment}"

  # Mandatory tags win over caller-supplied ones so that Environment,
  # Project and ManagedBy can never be overridden by a tfvars file.
  tags = merge(var.common_tags, {
    Project     = var.project_name
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  context = {
    project     = var.project_name
    environment = var.environment
    name_prefix = local.name_prefix
    namespace   = var.namespace
    is_local    = local.is_local
    tags        = local.tags
  }
}

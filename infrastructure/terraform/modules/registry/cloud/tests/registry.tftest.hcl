# Offline, against the real hashicorp/aws schema (mock_provider): for every
# cloud environment the repositories are exactly the images the Kubernetes
# overlays pull, under <project>/<environment>/ (issue 17, defect 1).
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { id = "eu-central-1", name = "eu-central-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

variables {
  context = {
    project     = "ml-platform"
    environment = "prod"
    name_prefix = "ml-platform-prod"
    namespace   = "ml-platform"
    is_local    = false
    tags        = { Project = "ml-platform" }
  }
}

run "config_dev" {
  command = apply
  module {
    source = "../../env-config"
  }
  variables {
    environment         = "dev"
    project_name        = "ml-platform"
    cluster_name        = "ml-platform-dev"
    ingress_host        = "ml-platform.dev.example.com"
    deletion_protection = false
  }
}

run "dev_repositories_are_the_overlay_images" {
  command = apply
  variables {
    context         = merge(var.context, { environment = "dev", name_prefix = "ml-platform-dev" })
    registry_config = run.config_dev.registry_config
  }
  assert {
    condition = toset([for r in aws_ecr_repository.this : r.name]) == toset([
      "ml-platform/dev/mlp", "ml-platform/dev/ml-training", "ml-platform/dev/ml-batch-inference", "ml-platform/dev/pg-backup",
    ])
    error_message = "ECR repositories must be the images infrastructure/kubernetes/overlays/dev pulls"
  }
  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.image_tag_mutability == "IMMUTABLE" && r.image_scanning_configuration[0].scan_on_push])
    error_message = "tags must be immutable and scanned"
  }
}

run "config_staging" {
  command = apply
  module {
    source = "../../env-config"
  }
  variables {
    environment         = "staging"
    project_name        = "ml-platform"
    cluster_name        = "ml-platform-staging"
    ingress_host        = "ml-platform.staging.example.com"
    deletion_protection = false
  }
}

run "staging_repositories_are_the_overlay_images" {
  command = apply
  variables {
    context         = merge(var.context, { environment = "staging", name_prefix = "ml-platform-staging" })
    registry_config = run.config_staging.registry_config
  }
  assert {
    condition = toset([for r in aws_ecr_repository.this : r.name]) == toset([
      "ml-platform/staging/mlp", "ml-platform/staging/ml-training", "ml-platform/staging/ml-batch-inference", "ml-platform/staging/pg-backup",
    ])
    error_message = "ECR repositories must be the images infrastructure/kubernetes/overlays/staging pulls"
  }
  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.image_tag_mutability == "IMMUTABLE" && r.image_scanning_configuration[0].scan_on_push])
    error_message = "tags must be immutable and scanned"
  }
}

run "config_prod" {
  command = apply
  module {
    source = "../../env-config"
  }
  variables {
    environment         = "prod"
    project_name        = "ml-platform"
    cluster_name        = "ml-platform-prod"
    ingress_host        = "ml-platform.prod.example.com"
    deletion_protection = true
  }
}

run "prod_repositories_are_the_overlay_images" {
  command = apply
  variables {
    context         = merge(var.context, { environment = "prod", name_prefix = "ml-platform-prod" })
    registry_config = run.config_prod.registry_config
  }
  assert {
    condition = toset([for r in aws_ecr_repository.this : r.name]) == toset([
      "ml-platform/prod/mlp", "ml-platform/prod/ml-training", "ml-platform/prod/ml-batch-inference", "ml-platform/prod/pg-backup",
    ])
    error_message = "ECR repositories must be the images infrastructure/kubernetes/overlays/prod pulls"
  }
  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.image_tag_mutability == "IMMUTABLE" && r.image_scanning_configuration[0].scan_on_push])
    error_message = "tags must be immutable and scanned"
  }
}

# Asserts the seed's environment table. Runs offline: `terraform test`.

run "local_uses_kind_and_in_cluster_services" {
  command = plan
  variables {
    environment = "local"
  }

  assert {
    condition     = output.variants.cluster == "kind" && output.variants.database == "local" && output.variants.cache == "local" && output.variants.storage == "local" && output.variants.registry == "local" && output.variants.ingress == "local"
    error_message = "local must use Kind and every in-cluster variant"
  }
  assert {
    condition     = output.services == { database = "postgresql-in-cluster", cache = "redis-in-cluster", storage = "minio", registry = "local-registry", ingress = "nginx" }
    error_message = "local services must be PostgreSQL/Redis/MinIO/local registry/NGINX"
  }
  assert {
    condition     = length(output.cluster_config.karpenter_node_pools) == 0 && output.node_group_count == 3
    error_message = "local simulates node groups with Kind workers and has no Karpenter"
  }
  assert {
    condition     = alltrue([for g in values(output.cluster_config.node_groups) : contains(keys(g.labels), "ml-platform/workload-type")])
    error_message = "every simulated node group carries the workload-type label"
  }
  assert {
    condition     = output.high_availability == false && output.deletion_protection == false
    error_message = "local has no HA and no deletion protection"
  }
}

run "dev_one_node_group_type" {
  command = plan
  variables {
    environment  = "dev"
    ingress_host = "ml-platform.example.com"
  }

  assert {
    condition     = output.node_group_count == 1
    error_message = "dev must have exactly 1 node-group type"
  }
  assert {
    condition     = output.services.database == "rds" && output.services.cache == "elasticache" && output.services.storage == "s3" && output.services.registry == "ecr" && output.services.ingress == "alb"
    error_message = "dev must use RDS/ElastiCache/S3/ECR/ALB"
  }
  assert {
    condition     = output.variants.cluster == "eks" && output.variants.database == "cloud"
    error_message = "dev runs on EKS with cloud variants"
  }
  assert {
    condition     = output.backup_retention_days >= 1 && output.cluster_config.scale_schedule.enabled
    error_message = "dev keeps backups and scales down outside working hours"
  }
  assert {
    condition     = alltrue([for p in values(output.cluster_config.karpenter_node_pools) : contains(p.capacity_types, "spot")])
    error_message = "dev batch pools must use spot capacity"
  }
}

run "staging_two_node_group_types" {
  command = plan
  variables {
    environment  = "staging"
    ingress_host = "ml-platform.example.com"
  }

  assert {
    condition     = output.node_group_count == 2 && toset(keys(output.cluster_config.node_groups)) == toset(["system", "general"])
    error_message = "staging must have 2 node-group types (system, general)"
  }
  assert {
    condition     = output.cluster_config.scale_schedule.enabled
    error_message = "staging scales down outside working hours"
  }
  assert {
    condition     = output.deletion_protection
    error_message = "staging keeps deletion protection"
  }
}

run "prod_four_node_group_types_and_ha" {
  command = plan
  variables {
    environment  = "prod"
    ingress_host = "ml-platform.example.com"
  }

  assert {
    condition     = output.node_group_count == 4 && toset(keys(output.cluster_config.node_groups)) == toset(["system", "general", "compute", "data"])
    error_message = "prod must have 4 node-group types"
  }
  assert {
    condition     = output.high_availability && output.database_config.high_availability && output.cache_config.high_availability
    error_message = "prod must be highly available"
  }
  assert {
    condition     = output.backup_retention_days == 30 && output.database_config.backup_retention_days == 30
    error_message = "prod must retain backups for 30 days"
  }
  assert {
    condition     = output.deletion_protection && output.database_config.deletion_protection && output.cache_config.deletion_protection
    error_message = "prod must have deletion protection"
  }
  assert {
    condition     = output.cache_config.replicas >= 1 && output.network_config.az_count >= 3 && output.network_config.single_nat_gateway == false
    error_message = "prod needs cache replicas and 3 AZs with one NAT gateway each"
  }
  assert {
    condition     = output.cluster_config.scale_schedule.enabled == false
    error_message = "prod is never scaled down on a schedule"
  }
  assert {
    condition     = output.cluster_config.node_groups.data.capacity_type == "SPOT" && output.cluster_config.node_groups.system.capacity_type == "ON_DEMAND"
    error_message = "prod data processing runs on spot, the system group on demand"
  }
  assert {
    condition     = output.cluster_config.node_groups.compute.min_size == 0 && output.cluster_config.karpenter_node_pools.training.gpu_limit > 0
    error_message = "GPU training capacity scales from zero"
  }
}

run "prod_rejects_disabled_deletion_protection" {
  command = plan
  variables {
    environment         = "prod"
    ingress_host        = "ml-platform.example.com"
    deletion_protection = false
  }
  expect_failures = [var.deletion_protection]
}

run "prod_rejects_short_retention" {
  command = plan
  variables {
    environment           = "prod"
    ingress_host          = "ml-platform.example.com"
    backup_retention_days = 7
  }
  expect_failures = [var.backup_retention_days]
}

run "prod_rejects_no_ha" {
  command = plan
  variables {
    environment       = "prod"
    ingress_host      = "ml-platform.example.com"
    high_availability = false
  }
  expect_failures = [var.high_availability]
}

run "insecure_mode_only_locally" {
  command = plan
  variables {
    environment      = "staging"
    ingress_host     = "ml-platform.example.com"
    development_mode = { enabled = true, minimal_resources = true, allow_insecure = true }
  }
  expect_failures = [var.development_mode]
}

run "overrides_apply" {
  command = plan
  variables {
    environment           = "staging"
    ingress_host          = "ml-platform.example.com"
    backup_retention_days = 21
    high_availability     = true
  }
  assert {
    condition     = output.database_config.backup_retention_days == 21 && output.cache_config.high_availability
    error_message = "tfvars overrides must flow into the service configs"
  }
}

run "cloud_needs_ingress_host" {
  command = plan
  variables {
    environment = "dev"
  }
  expect_failures = [var.ingress_host]
}

run "local_ingress_defaults_to_localhost" {
  command = plan
  variables {
    environment = "local"
  }
  assert {
    condition     = output.ingress_config.host == "localhost" && output.ingress_config.internet_facing == false
    error_message = "local ingress is served on localhost"
  }
}

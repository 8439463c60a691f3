output "environment" {
  description = "The environment these settings are for."
  value       = var.environment
}

output "variants" {
  description = "Which module variant each service uses: kind/eks for the cluster, local/cloud for the rest."
  value = {
    cluster    = local.s.cluster_variant
    database   = local.s.service_variant
    cache      = local.s.service_variant
    storage    = local.s.service_variant
    registry   = local.s.service_variant
    ingress    = local.s.service_variant
    monitoring = "prometheus-grafana"
  }
}

output "services" {
  description = "The concrete product behind each service (the seed's environment table)."
  value       = local.services[local.s.cluster_variant]
}

output "high_availability" {
  description = "Multi-AZ database and cache with automatic failover."
  value       = local.high_availability
}

output "backup_retention_days" {
  description = "Automated backup / snapshot retention in days."
  value       = local.backup_retention_days
}

output "deletion_protection" {
  description = "Deletion protection (and final snapshots) on stateful resources."
  value       = local.deletion_protection
}

output "database_config" {
  description = "database_config object for modules/database/{local,cloud}."
  value = {
    engine                = "postgres"
    version               = "16"
    instance_class        = local.s.db_instance_class
    storage_size          = local.minimal ? 2 : local.s.db_storage_size
    database              = "mlp"
    credentials           = { username = "mlp" }
    high_availability     = local.high_availability
    backup_retention_days = local.backup_retention_days
    deletion_protection   = local.deletion_protection
  }
}

output "cache_config" {
  description = "cache_config object for modules/cache/{local,cloud}."
  value = {
    engine                  = "redis"
    version                 = "7.1"
    node_type               = local.s.cache_node_type
    replicas                = local.s.cache_replicas
    database                = 0
    high_availability       = local.high_availability
    snapshot_retention_days = local.backup_retention_days
    deletion_protection     = local.deletion_protection
  }
}

output "storage_config" {
  description = "storage_config object for modules/storage/{local,cloud}."
  value = {
    buckets                            = ["artifacts", "datasets", "models", "backups"]
    versioning                         = true
    size                               = local.minimal ? 5 : 20
    transition_to_ia_days              = 30
    transition_to_glacier_days         = 90
    noncurrent_version_expiration_days = local.s.noncurrent_days
    force_destroy                      = false
  }
}

output "registry_config" {
  description = "registry_config object for modules/registry/{local,cloud}."
  value = {
    # The images the Kubernetes overlays pull, by the name after the registry
    # host: <project>/<environment>/<name>. `mlp infra check` (XL-001) fails
    # when an overlay pulls an image that is not in this list.
    repositories         = ["mlp", "ml-training", "ml-batch-inference", "pg-backup"]
    keep_last_images     = local.s.keep_last_images
    untagged_expiry_days = 7
  }
}

output "ingress_config" {
  description = "ingress_config object for modules/ingress/{local,cloud}."
  value = {
    host            = coalesce(var.ingress_host, "localhost")
    internet_facing = var.environment != "local"
    replicas        = local.high_availability ? 2 : 1
  }
}

output "cluster_config" {
  description = "cluster_config object for modules/cluster/{kind,eks}."
  value = {
    name                 = coalesce(var.cluster_name, "${var.project_name}-${var.environment}")
    kubernetes_version   = "1.32"
    node_groups          = local.node_groups[var.environment]
    karpenter_node_pools = local.karpenter_node_pools[var.environment]
    scale_schedule = {
      enabled         = local.s.scale_schedule
      time_zone       = "Europe/Berlin"
      scale_down_cron = "0 19 * * 1-5"
      scale_up_cron   = "0 7 * * 1-5"
    }
  }
}

output "network_config" {
  description = "VPC layout for cloud environments (unused by local)."
  value = {
    vpc_cidr           = local.s.vpc_cidr
    az_count           = local.s.az_count
    single_nat_gateway = local.s.single_nat_gateway
  }
}

output "monitoring_config" {
  description = "monitoring_config object for modules/monitoring/{prometheus,grafana}."
  value = {
    enabled           = var.enable_monitoring
    retention         = local.s.metrics_retention
    replicas          = local.s.monitoring_replicas
    storage_size      = local.minimal ? 5 : 50
    dashboards_label  = "grafana_dashboard"
    alerting_disabled = var.environment == "local"
  }
}

output "node_group_count" {
  description = "Number of managed node-group types (seed table: simulated, 1, 2, 4)."
  value       = length(local.node_groups[var.environment])
}

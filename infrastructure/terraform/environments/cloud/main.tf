# Cloud environment: VPC, EKS with managed node groups and Karpenter, RDS,
# ElastiCache, S3, ECR, ALB ingress, External Secrets with AWS Secrets
# Manager, Prometheus and Grafana. Same module interfaces as local.

module "common" {
  source = "../../modules/common"

  project_name = var.project_name
  environment  = var.environment
  common_tags  = var.common_tags
}

module "config" {
  source = "../../modules/env-config"

  environment           = var.environment
  project_name          = var.project_name
  cluster_name          = var.cluster_name
  enable_monitoring     = var.enable_monitoring
  high_availability     = var.high_availability
  backup_retention_days = var.backup_retention_days
  deletion_protection   = var.deletion_protection
  ingress_host          = var.ingress_host
}

module "network" {
  source = "../../modules/network"

  context        = module.common.context
  network_config = module.config.network_config
  cluster_name   = module.config.cluster_config.name
}

module "cluster" {
  source = "../../modules/cluster/eks"

  context        = module.common.context
  cluster_config = module.config.cluster_config
  network = {
    vpc_id     = module.network.vpc_id
    subnet_ids = module.network.private_subnet_ids
  }
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  admin_role_arns              = var.admin_role_arns
}

module "karpenter" {
  source = "../../modules/cluster/karpenter"

  context          = module.common.context
  cluster_name     = module.cluster.cluster.name
  cluster_endpoint = module.cluster.cluster.endpoint
  karpenter        = module.cluster.karpenter
  node_pools       = module.config.cluster_config.karpenter_node_pools
}

module "registry" {
  source = "../../modules/registry/cloud"

  context         = module.common.context
  registry_config = module.config.registry_config
}

module "secrets" {
  source = "../../modules/secrets"

  context    = module.common.context
  backend    = "aws"
  aws_region = var.aws_region
  # The association is created right after the cluster (not after RDS as the
  # read policy is), and the controller pods only after it.
  operator_identity = module.secrets_iam.association_id
}

locals {
  # Data stores sit in isolated subnets and accept only the cluster's nodes.
  clients = [module.cluster.cluster.node_security_group_id]
  database_network = {
    vpc_id                    = module.network.vpc_id
    subnet_ids                = module.network.database_subnet_ids
    client_security_group_ids = local.clients
  }
  cache_network = {
    vpc_id                    = module.network.vpc_id
    subnet_ids                = module.network.cache_subnet_ids
    client_security_group_ids = local.clients
  }
}

# The application role's password: ephemeral, so it lives only in Secrets
# Manager (written write-only by the module), never in the state.
ephemeral "aws_secretsmanager_random_password" "db_app" {
  password_length     = 40
  exclude_punctuation = true
}

module "database" {
  source = "../../modules/database/cloud"

  app_password    = ephemeral.aws_secretsmanager_random_password.db_app.random_password
  context         = module.common.context
  database_config = module.config.database_config
  network         = local.database_network
  secret_store    = module.secrets.store
}

# The first admin's password (MLP__AUTH__ADMIN_PASSWORD_FILE, ExternalSecret
# mlp-admin): generated the same way, ephemeral, written write-only.
ephemeral "aws_secretsmanager_random_password" "mlp_admin" {
  password_length     = 32
  exclude_punctuation = true
}

module "mlp_admin" {
  source = "../../modules/admin-secret"

  context  = module.common.context
  password = ephemeral.aws_secretsmanager_random_password.mlp_admin.random_password
}

module "cache" {
  source = "../../modules/cache/cloud"

  context      = module.common.context
  cache_config = module.config.cache_config
  network      = local.cache_network
  secret_store = module.secrets.store
}

module "storage" {
  source = "../../modules/storage/cloud"

  context        = module.common.context
  storage_config = module.config.storage_config
  network        = null # S3 is reached through the VPC gateway endpoint; no placement needed
  secret_store   = module.secrets.store
}

module "secrets_iam" {
  source = "../../modules/secrets/iam"

  context       = module.common.context
  cluster_name  = module.cluster.cluster.name
  operator      = module.secrets.operator
  secret_access = [module.database.secret_access, module.cache.secret_access, module.storage.secret_access, module.mlp_admin.secret_access]
}

module "workload_identity" {
  source = "../../modules/workload-identity"

  context      = module.common.context
  cluster_name = module.cluster.cluster.name
  bucket_arns  = module.storage.bucket_arns
  kms_key_arn  = module.storage.kms_key_arn
}

module "ingress" {
  source = "../../modules/ingress/cloud"

  context        = module.common.context
  ingress_config = module.config.ingress_config
  cluster = {
    name     = module.cluster.cluster.name
    endpoint = module.cluster.cluster.endpoint
    vpc_id   = module.cluster.cluster.vpc_id
  }
}

module "addons" {
  source = "../../modules/cluster/addons"

  context      = module.common.context
  cluster_name = module.cluster.cluster.name
  gpu_enabled = anytrue(concat(
    [for g in values(module.config.cluster_config.node_groups) : contains(keys(g.labels), "nvidia.com/gpu.present")],
    [for p in values(module.config.cluster_config.karpenter_node_pools) : p.gpu_limit > 0],
  ))
  backups = {
    bucket      = module.storage.connection.buckets["backups"]
    bucket_arn  = [for a in module.storage.bucket_arns : a if endswith(a, module.storage.connection.buckets["backups"])][0]
    kms_key_arn = module.storage.kms_key_arn
    region      = var.aws_region
  }
  argocd = {
    repo_url        = var.gitops_repo_url
    target_revision = var.gitops_revision
    infra_outputs   = local.kubernetes_infra_outputs
  }
}

module "prometheus" {
  source = "../../modules/monitoring/prometheus"
  count  = module.config.monitoring_config.enabled ? 1 : 0

  context           = module.common.context
  monitoring_config = module.config.monitoring_config
  storage_class     = module.addons.storage_class
}

module "grafana" {
  source = "../../modules/monitoring/grafana"
  count  = module.config.monitoring_config.enabled ? 1 : 0

  context           = module.common.context
  monitoring_config = module.config.monitoring_config
  namespace         = module.prometheus[0].namespace
  prometheus_url    = module.prometheus[0].url
}

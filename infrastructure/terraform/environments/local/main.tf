# Local environment (`mlp infra deploy local`): Kind with simulated node
# groups, a local registry, the ClusterSecretStore and NGINX ingress. The data
# stores are not created here: PostgreSQL, Redis and MinIO come from the
# overlay (kubernetes/components/local-datastores), the one set the
# application uses, with `mlp infra up local` as with this root. The local
# variants of modules/{database,cache,storage} keep the cloud interface (parity
# tests) but no root calls them.

module "common" {
  source = "../../modules/common"

  project_name = var.project_name
  environment  = var.environment
  common_tags  = var.common_tags
}

module "config" {
  source = "../../modules/env-config"

  environment       = var.environment
  project_name      = var.project_name
  cluster_name      = var.cluster_name
  enable_monitoring = var.enable_monitoring
  development_mode  = var.development_mode
}

module "cluster" {
  source = "../../modules/cluster/kind"

  context        = module.common.context
  cluster_config = module.config.cluster_config
}

module "registry" {
  source = "../../modules/registry/local"

  context         = module.common.context
  registry_config = module.config.registry_config

  depends_on = [module.cluster]
}

module "secrets" {
  source = "../../modules/secrets"

  context = module.common.context
  backend = "kubernetes"
}

module "ingress" {
  source = "../../modules/ingress/local"

  context        = module.common.context
  ingress_config = module.config.ingress_config
  cluster = {
    name     = module.cluster.cluster.name
    endpoint = module.cluster.cluster.endpoint
    vpc_id   = module.cluster.cluster.vpc_id
  }
}

module "prometheus" {
  source = "../../modules/monitoring/prometheus"
  count  = module.config.monitoring_config.enabled ? 1 : 0

  context           = module.common.context
  monitoring_config = module.config.monitoring_config
}

module "grafana" {
  source = "../../modules/monitoring/grafana"
  count  = module.config.monitoring_config.enabled ? 1 : 0

  context           = module.common.context
  monitoring_config = module.config.monitoring_config
  namespace         = module.prometheus[0].namespace
  prometheus_url    = module.prometheus[0].url
}

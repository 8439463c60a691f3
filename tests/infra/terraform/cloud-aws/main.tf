# Test root (issue 17): the AWS side of infrastructure/terraform/environments/cloud,
# planned and applied offline with mock_provider "aws" (tests/cloud.tftest.hcl).
# Only modules that need no provider but hashicorp/aws are here (the only one
# in the offline mirror); cache/cloud (random), secrets, ingress/cloud,
# karpenter, addons and monitoring (kubernetes/helm/kubectl) are not.
# variables.tf is a symlink to the root's, and the values come from the
# environments' own tfvars (run.sh passes -var-file), so nothing is copied.
# Every module block below must match the root's argument for argument:
# test_tf_cloud_aws_root.py fails when they drift; the only stand-ins are
# local.secret_store/secret_operator (what modules/secrets outputs with
# backend = "aws"), secret_access without the cache, and the two generated
# passwords as ephemeral variables.

terraform {
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = module.common.tags
  }
}

locals {
  # modules/secrets with backend = "aws": the store's name and the operator's
  # identity are plain values; the Kubernetes objects behind them are out of scope.
  secret_store    = { name = "platform-secrets", kubernetes_namespace = "platform-secrets" }
  secret_operator = { namespace = "external-secrets", service_account = "external-secrets" }
}

module "common" {
  source = "../../../../infrastructure/terraform/modules/common"

  project_name = var.project_name
  environment  = var.environment
  common_tags  = var.common_tags
}

module "config" {
  source = "../../../../infrastructure/terraform/modules/env-config"

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
  source = "../../../../infrastructure/terraform/modules/network"

  context        = module.common.context
  network_config = module.config.network_config
  cluster_name   = module.config.cluster_config.name
}

module "cluster" {
  source = "../../../../infrastructure/terraform/modules/cluster/eks"

  context        = module.common.context
  cluster_config = module.config.cluster_config
  network = {
    vpc_id     = module.network.vpc_id
    subnet_ids = module.network.private_subnet_ids
  }
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  admin_role_arns              = var.admin_role_arns
}

module "registry" {
  source = "../../../../infrastructure/terraform/modules/registry/cloud"

  context         = module.common.context
  registry_config = module.config.registry_config
}

locals {
  clients = [module.cluster.cluster.node_security_group_id]
  database_network = {
    vpc_id                    = module.network.vpc_id
    subnet_ids                = module.network.database_subnet_ids
    client_security_group_ids = local.clients
  }
}

# The root generates both passwords with ephemeral
# aws_secretsmanager_random_password, which mock providers cannot mock yet;
# here they are ephemeral variables (still never in the state).
variable "db_app_password" {
  type      = string
  ephemeral = true
  sensitive = true
}

variable "mlp_admin_password" {
  type      = string
  ephemeral = true
  sensitive = true
}

module "database" {
  source = "../../../../infrastructure/terraform/modules/database/cloud"

  app_password    = var.db_app_password
  context         = module.common.context
  database_config = module.config.database_config
  network         = local.database_network
  secret_store    = local.secret_store
}

module "mlp_admin" {
  source = "../../../../infrastructure/terraform/modules/admin-secret"

  context  = module.common.context
  password = var.mlp_admin_password
}

module "storage" {
  source = "../../../../infrastructure/terraform/modules/storage/cloud"

  context        = module.common.context
  storage_config = module.config.storage_config
  network        = null
  secret_store   = local.secret_store
}

module "secrets_iam" {
  source = "../../../../infrastructure/terraform/modules/secrets/iam"

  context       = module.common.context
  cluster_name  = module.cluster.cluster.name
  operator      = local.secret_operator
  secret_access = [module.database.secret_access, module.storage.secret_access, module.mlp_admin.secret_access]
}

module "workload_identity" {
  source = "../../../../infrastructure/terraform/modules/workload-identity"

  context      = module.common.context
  cluster_name = module.cluster.cluster.name
  bucket_arns  = module.storage.bucket_arns
  kms_key_arn  = module.storage.kms_key_arn
}

# ElastiCache for Redis (replication group): TLS in transit, KMS at rest,
# a generated AUTH token kept in Secrets Manager, multi-AZ with automatic
# failover when high_availability is set, daily snapshots.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name      = "${var.context.name_prefix}-redis"
  cfg       = var.cache_config
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  major     = split(".", local.cfg.version)[0]
}

resource "terraform_data" "requires_network" {
  lifecycle {
    precondition {
      condition     = var.network != null
      error_message = "The cloud cache needs var.network (VPC, subnets, client security groups)."
    }
  }
}

resource "aws_kms_key" "this" {
  description         = "${local.name}: data at rest and AUTH token secret"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdmin"
      Effect    = "Allow"
      Principal = { AWS = "arn:${local.partition}:iam::${local.account}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
  tags = var.context.tags
}

resource "random_password" "auth_token" {
  length           = 48
  special          = true
  override_special = "!&#$^<>-"
}

resource "aws_secretsmanager_secret" "auth_token" {
  name                    = "${var.context.name_prefix}/cache/auth-token"
  description             = "AUTH token of ${local.name}"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = local.cfg.deletion_protection ? 30 : 7
  tags                    = var.context.tags
}

resource "aws_secretsmanager_secret_version" "auth_token" {
  secret_id = aws_secretsmanager_secret.auth_token.id
  secret_string = jsonencode({
    password = random_password.auth_token.result
  })
}

resource "aws_elasticache_subnet_group" "this" {
  name       = local.name
  subnet_ids = var.network.subnet_ids
  tags       = var.context.tags
}

resource "aws_security_group" "this" {
  name        = local.name
  description = "Redis ${local.name}: reachable only from the platform's client security groups"
  vpc_id      = var.network.vpc_id
  tags        = var.context.tags
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  # Keyed by position, not by ID: on a first deploy the node security group
  # is created in the same plan, its ID is unknown and for_each over IDs would
  # fail the plan (tests/infra/terraform/cloud-aws found it).
  for_each = { for i, id in var.network.client_security_group_ids : tostring(i) => id }

  security_group_id            = aws_security_group.this.id
  description                  = "Redis TLS from ${each.value}"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

resource "aws_elasticache_parameter_group" "this" {
  name   = local.name
  family = "redis${local.major}"
  tags   = var.context.tags
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = local.name
  description          = "ML platform cache (${var.context.environment})"
  engine               = local.cfg.engine
  engine_version       = local.cfg.version
  node_type            = local.cfg.node_type
  port                 = 6379
  parameter_group_name = aws_elasticache_parameter_group.this.name

  num_cache_clusters         = 1 + local.cfg.replicas
  automatic_failover_enabled = local.cfg.high_availability
  multi_az_enabled           = local.cfg.high_availability

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.this.arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  auth_token                 = random_password.auth_token.result
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit  = min(local.cfg.snapshot_retention_days, 35)
  snapshot_window           = "01:00-02:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  final_snapshot_identifier = local.cfg.deletion_protection ? "${local.name}-final" : null

  auto_minor_version_upgrade = true
  apply_immediately          = !local.cfg.deletion_protection

  tags = var.context.tags

  depends_on = [terraform_data.requires_network]
}

# Mocked plan and apply of one cloud environment's AWS side against the real
# hashicorp/aws schema. The environment's values are not here: run.sh runs
# this once per environment with
#   -var-file=environments/_shared/common.tfvars -var-file=environments/<env>/terraform.tfvars
# and the expectations below are keyed by var.environment.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012", arn = "arn:aws:iam::123456789012:user/ci" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_region" {
    defaults = { id = "eu-central-1", name = "eu-central-1" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-central-1a", "eu-central-1b", "eu-central-1c"], zone_ids = ["euc1-az2", "euc1-az3", "euc1-az1"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-central-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mock" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-central-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-central-1:123456789012:mock", url = "https://sqs.eu-central-1.amazonaws.com/123456789012/mock" }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }
  mock_resource "aws_eks_node_group" {
    defaults = { resources = [{ autoscaling_groups = [{ name = "eks-mock-asg" }], remote_access_security_group_id = "" }] }
  }
  mock_resource "aws_eks_cluster" {
    defaults = {
      endpoint              = "https://0123456789ABCDEF.gr7.eu-central-1.eks.amazonaws.com"
      certificate_authority = [{ data = "bW9jaw==" }]
    }
  }
  mock_resource "aws_db_instance" {
    defaults = {
      address            = "db.example.internal"
      port               = 5432
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!db-1", kms_key_id = "k", secret_status = "active" }]
    }
  }
}

variables {
  # Per deploy, never in the tfvars (see the root's variables.tf).
  endpoint_public_access_cidrs = ["203.0.113.7/32"]
  # checkov:skip=CKV_SECRET_6:fixed values for the mocked provider, not credentials
  db_app_password    = "test-only-not-a-secret-1"
  mlp_admin_password = "test-only-not-a-secret-2"
}

run "public_endpoint_cidrs_are_required" {
  command = plan
  variables {
    endpoint_public_access_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.endpoint_public_access_cidrs]
}

run "plan" {
  command = plan
}

run "apply" {
  command = apply

  assert {
    condition     = length(output.availability_zones) == output.config.network_config.az_count
    error_message = "the network spans the environment's zones"
  }
  assert {
    condition     = output.admin_secret_name == "${var.project_name}/${var.environment}/mlp-admin"
    error_message = "the admin secret must be <project>/<environment>/mlp-admin (ExternalSecret mlp-admin)"
  }
  assert {
    condition     = output.registry.host == "123456789012.dkr.ecr.${var.aws_region}.amazonaws.com" && toset(keys(output.registry.repositories)) == toset(["mlp", "ml-training", "ml-batch-inference", "pg-backup"])
    error_message = "ECR: one repository per image the overlays pull, in the environment's region"
  }
  assert {
    condition     = strcontains(output.database.url, "postgresql://mlp@") && !strcontains(output.database.url, ":@")
    error_message = "the application's URL names the role and carries no password"
  }
}

# The EKS module again with exactly the inputs the composed root gave it.
run "cluster" {
  command = plan
  module {
    source = "../../../../infrastructure/terraform/modules/cluster/eks"
  }
  variables {
    context        = run.apply.context
    cluster_config = run.apply.config.cluster_config
    network        = run.apply.cluster_network
  }
  assert {
    condition = toset(keys(aws_eks_node_group.this)) == toset({
      dev     = ["general"]
      staging = ["system", "general"]
      prod    = ["system", "general", "compute", "data"]
    }[var.environment])
    error_message = "node groups of ${var.environment} changed"
  }
  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].public_access_cidrs == toset(["203.0.113.7/32"]) && aws_eks_cluster.this.name == var.cluster_name
    error_message = "the public endpoint must be open to the deploy CIDRs only"
  }
}

run "database" {
  command = plan
  module {
    source = "../../../../infrastructure/terraform/modules/database/cloud"
  }
  variables {
    context         = run.apply.context
    database_config = run.apply.config.database_config
    network         = run.apply.database_network
    secret_store    = run.apply.secret_store
    app_password    = "test-only-not-a-secret" # checkov:skip=CKV_SECRET_6:a fixed value for the mocked provider, not a credential
  }
  assert {
    condition     = aws_db_instance.this.multi_az == (var.environment == "prod")
    error_message = "RDS is multi-AZ in prod only"
  }
  assert {
    condition     = aws_db_instance.this.deletion_protection == var.deletion_protection && aws_db_instance.this.backup_retention_period == var.backup_retention_days
    error_message = "the environment's tfvars must reach RDS"
  }
}

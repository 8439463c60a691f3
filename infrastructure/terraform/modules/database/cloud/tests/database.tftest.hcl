# Offline, against the real hashicorp/aws schema (mock_provider): the
# application gets its own role and secret, never the RDS master login
# (issue 17, defect 7), in every cloud environment.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_resource "aws_db_instance" {
    defaults = {
      address            = "db.example.internal"
      port               = 5432
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!db-1", kms_key_id = "k", secret_status = "active" }]
    }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:ml-platform-prod-postgres/app-user" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-central-1:123456789012:key/1" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/monitoring" }
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
  network = {
    vpc_id                    = "vpc-1"
    subnet_ids                = ["subnet-1", "subnet-2"]
    client_security_group_ids = ["sg-1"]
  }
  secret_store = { name = "platform-secrets", kubernetes_namespace = "platform-secrets" }
  app_password = "test-only-not-a-secret" # checkov:skip=CKV_SECRET_6:a fixed value for the mocked provider, not a credential
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

run "dev_application_role_is_not_the_master" {
  command = apply
  variables {
    database_config = run.config_dev.database_config
  }
  assert {
    condition     = aws_db_instance.this.username == "mlp_admin" && output.connection.username == "mlp"
    error_message = "the RDS master must be mlp_admin and the application must log in as mlp"
  }
  assert {
    condition     = output.connection.secret_ref.key == aws_secretsmanager_secret.app.arn && output.connection.admin_secret_ref.key != output.connection.secret_ref.key
    error_message = "the application's secret must be its own, not the master's"
  }
  assert {
    condition     = strcontains(output.connection.url, "postgresql://mlp@") && aws_secretsmanager_secret_version.app.secret_string_wo_version == 1
    error_message = "the URL names the application role; its password is written write-only"
  }
  assert {
    condition     = contains(output.secret_access.secret_arns, aws_secretsmanager_secret.app.arn)
    error_message = "External Secrets must be allowed to read the application's secret"
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

run "staging_application_role_is_not_the_master" {
  command = apply
  variables {
    database_config = run.config_staging.database_config
  }
  assert {
    condition     = aws_db_instance.this.username == "mlp_admin" && output.connection.username == "mlp"
    error_message = "the RDS master must be mlp_admin and the application must log in as mlp"
  }
  assert {
    condition     = output.connection.secret_ref.key == aws_secretsmanager_secret.app.arn && output.connection.admin_secret_ref.key != output.connection.secret_ref.key
    error_message = "the application's secret must be its own, not the master's"
  }
  assert {
    condition     = strcontains(output.connection.url, "postgresql://mlp@") && aws_secretsmanager_secret_version.app.secret_string_wo_version == 1
    error_message = "the URL names the application role; its password is written write-only"
  }
  assert {
    condition     = contains(output.secret_access.secret_arns, aws_secretsmanager_secret.app.arn)
    error_message = "External Secrets must be allowed to read the application's secret"
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

run "prod_application_role_is_not_the_master" {
  command = apply
  variables {
    database_config = run.config_prod.database_config
  }
  assert {
    condition     = aws_db_instance.this.username == "mlp_admin" && output.connection.username == "mlp"
    error_message = "the RDS master must be mlp_admin and the application must log in as mlp"
  }
  assert {
    condition     = output.connection.secret_ref.key == aws_secretsmanager_secret.app.arn && output.connection.admin_secret_ref.key != output.connection.secret_ref.key
    error_message = "the application's secret must be its own, not the master's"
  }
  assert {
    condition     = strcontains(output.connection.url, "postgresql://mlp@") && aws_secretsmanager_secret_version.app.secret_string_wo_version == 1
    error_message = "the URL names the application role; its password is written write-only"
  }
  assert {
    condition     = contains(output.secret_access.secret_arns, aws_secretsmanager_secret.app.arn)
    error_message = "External Secrets must be allowed to read the application's secret"
  }
}

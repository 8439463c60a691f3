# Offline, against the real hashicorp/aws schema (mock_provider): the secret
# has the name the cloud overlays' ExternalSecret mlp-admin reads, and the
# password is write-only (not in the state).
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:ml-platform/dev/mlp-admin" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-central-1:123456789012:key/1" }
  }
}

variables {
  password = "test-only-not-a-secret" # checkov:skip=CKV_SECRET_6:a fixed value for the mocked provider, not a credential
}

run "dev" {
  command = apply
  variables {
    context = {
      project     = "ml-platform"
      environment = "dev"
      name_prefix = "ml-platform-dev"
      namespace   = "ml-platform"
      is_local    = false
      tags        = { Project = "ml-platform" }
    }
  }
  assert {
    condition     = output.secret_name == "ml-platform/dev/mlp-admin"
    error_message = "the ExternalSecret mlp-admin reads ml-platform/<env>/mlp-admin"
  }
  assert {
    condition     = aws_secretsmanager_secret_version.this.secret_string == null || aws_secretsmanager_secret_version.this.secret_string == ""
    error_message = "the password must be written write-only"
  }
  assert {
    condition     = output.secret_access.kms_key_arns == [aws_kms_key.this.arn] && length(output.secret_access.secret_arns) == 1
    error_message = "External Secrets needs the secret and its key"
  }
}

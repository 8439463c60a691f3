# The password of mlp's first admin (MLP__AUTH__ADMIN_PASSWORD_FILE) in Secrets
# Manager as <project>/<environment>/mlp-admin with the property "password":
# the name the cloud overlays' ExternalSecret mlp-admin reads (mlp infra check
# XL-006 holds the two equal). The root generates the password as an ephemeral
# value and this module writes it write-only, as it does for the database's
# application role: it is never in the Terraform state.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name    = "${var.context.project}/${var.context.environment}/mlp-admin"
  account = data.aws_caller_identity.current.account_id
}

resource "aws_kms_key" "this" {
  description         = "${var.context.name_prefix}: mlp admin password"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdmin"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${local.account}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
  tags = var.context.tags
}

resource "aws_secretsmanager_secret" "this" {
  name                    = local.name
  description             = "Password of mlp's first admin, read at the server's first start (ExternalSecret mlp-admin)."
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7
  tags                    = var.context.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  secret_id        = aws_secretsmanager_secret.this.id
  secret_string_wo = jsonencode({ password = var.password })
  # Bump to write a new password. The server reads it only when it creates the
  # admin (first start); later changes go through `mlp user set-password`.
  secret_string_wo_version = var.password_version
}

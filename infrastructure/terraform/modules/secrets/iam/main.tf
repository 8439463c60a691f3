# IAM for the External Secrets Operator: EKS Pod Identity role that can
# read exactly the secrets the service modules created, and decrypt them.

data "aws_caller_identity" "current" {}

locals {
  secret_arns  = distinct(flatten([for a in var.secret_access : a.secret_arns]))
  kms_key_arns = distinct(flatten([for a in var.secret_access : a.kms_key_arns]))
}

resource "aws_iam_role" "this" {
  name = "${var.context.name_prefix}-external-secrets"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "pods.eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
  tags = var.context.tags
}

resource "aws_iam_role_policy" "this" {
  name = "read-platform-secrets"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadPlatformSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds"]
        Resource = local.secret_arns
      },
      {
        Sid      = "DecryptPlatformSecrets"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = local.kms_key_arns
      }
    ]
  })
}

resource "aws_eks_pod_identity_association" "this" {
  cluster_name    = var.cluster_name
  namespace       = var.operator.namespace
  service_account = var.operator.service_account
  role_arn        = aws_iam_role.this.arn
  tags            = var.context.tags
}

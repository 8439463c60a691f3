# EKS Pod Identity for the platform's own pods: read/write on the data
# buckets and use of their KMS key, nothing else. In the cloud the storage
# connection carries no static keys; the AWS SDK picks these credentials up.

data "aws_caller_identity" "current" {}

resource "aws_iam_role" "this" {
  name = "${var.context.name_prefix}-workloads"
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
  name = "platform-object-storage"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListBuckets"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource = var.bucket_arns
      },
      {
        Sid      = "ReadWriteObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
        Resource = [for b in var.bucket_arns : "${b}/*"]
      },
      {
        Sid      = "UseBucketKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arn
      }
    ]
  })
}

resource "aws_eks_pod_identity_association" "this" {
  for_each = toset(var.service_accounts)

  cluster_name    = var.cluster_name
  namespace       = var.context.namespace
  service_account = each.value
  role_arn        = aws_iam_role.this.arn
  tags            = var.context.tags
}

# ECR repositories: immutable tags, scan on push, KMS encryption, and a
# lifecycle policy that expires untagged images and keeps the last N.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  host    = "${local.account}.dkr.ecr.${data.aws_region.current.id}.amazonaws.com"
}

resource "aws_kms_key" "this" {
  description         = "${var.context.name_prefix} container images"
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

resource "aws_ecr_repository" "this" {
  for_each = toset(var.registry_config.repositories)

  name                 = "${var.context.project}/${var.context.environment}/${each.value}"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.this.arn
  }

  tags = var.context.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.registry_config.untagged_expiry_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the last ${var.registry_config.keep_last_images} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.registry_config.keep_last_images
        }
        action = { type = "expire" }
      }
    ]
  })
}

# S3 buckets for artifacts, datasets and models: KMS encryption, all public
# access blocked, TLS-only bucket policy, versioning, lifecycle transitions,
# access logging to a dedicated log bucket.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.id
  # Bucket names are global: include the account id.
  bucket_names = { for b in var.storage_config.buckets : b => "${var.context.name_prefix}-${b}-${local.account}" }
  log_bucket   = "${var.context.name_prefix}-s3-access-logs-${local.account}"
  all_buckets  = merge(local.bucket_names, { _logs = local.log_bucket })
}

resource "aws_kms_key" "this" {
  description         = "${var.context.name_prefix} object storage"
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

resource "aws_s3_bucket" "this" {
  for_each = local.all_buckets

  bucket        = each.value
  force_destroy = var.storage_config.force_destroy
  tags          = merge(var.context.tags, { Purpose = each.key })
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      # The access-log bucket must use SSE-S3: S3 server access logging cannot write with SSE-KMS.
      sse_algorithm     = each.key == "_logs" ? "AES256" : "aws:kms"
      kms_master_key_id = each.key == "_logs" ? null : aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  versioning_configuration {
    status = var.storage_config.versioning ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    id     = "tiering"
    status = "Enabled"
    filter {}

    transition {
      days          = var.storage_config.transition_to_ia_days
      storage_class = "STANDARD_IA"
    }
    transition {
      days          = var.storage_config.transition_to_glacier_days
      storage_class = "GLACIER_IR"
    }
    noncurrent_version_expiration {
      noncurrent_days = var.storage_config.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  for_each = local.bucket_names

  bucket        = aws_s3_bucket.this[each.key].id
  target_bucket = aws_s3_bucket.this["_logs"].id
  target_prefix = "${each.key}/"
}

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [each.value.arn, "${each.value.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyOutdatedTLS"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [each.value.arn, "${each.value.arn}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      }
      ], each.key == "_logs" ? [{
        Sid       = "AllowS3ServerAccessLogs"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${each.value.arn}/*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
    }] : [])
  })

  depends_on = [aws_s3_bucket_public_access_block.this]
}

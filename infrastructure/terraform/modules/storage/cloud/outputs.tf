output "connection" {
  description = "How to reach object storage. Same shape in the local and cloud variant. In the cloud there are no static keys: pods get credentials through EKS Pod Identity, so secret_ref is null and the SDK's default credential chain applies."
  value = {
    host       = "s3.${local.region}.amazonaws.com"
    port       = 443
    region     = local.region
    endpoint   = "https://s3.${local.region}.amazonaws.com"
    url        = "https://s3.${local.region}.amazonaws.com"
    tls        = true
    buckets    = local.bucket_names
    secret_ref = null
  }
}

output "secret_access" {
  description = "Secrets and KMS keys the External Secrets Operator must be allowed to read (none: S3 uses Pod Identity)."
  value = {
    secret_arns  = []
    kms_key_arns = []
  }
}

output "bucket_arns" {
  description = "ARNs of the data buckets, for scoping workload IAM policies (local variant: empty)."
  value       = [for k, b in aws_s3_bucket.this : b.arn if k != "_logs"]
}

output "kms_key_arn" {
  description = "KMS key encrypting the data buckets (local variant: null)."
  value       = aws_kms_key.this.arn
}

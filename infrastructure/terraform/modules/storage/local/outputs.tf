output "connection" {
  description = "How to reach object storage. Same shape in the local and cloud variant. Locally the S3 keys are generated and fetched through secret_ref (properties access_key_id / secret_access_key)."
  value = {
    host       = local.host
    port       = 9000
    region     = "us-east-1"
    endpoint   = "http://${local.host}:9000"
    url        = "http://${local.host}:9000"
    tls        = false
    buckets    = local.bucket_names
    secret_ref = { store = var.secret_store.name, key = kubernetes_secret_v1.store.metadata[0].name, property = "secret_access_key" }
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
  value       = []
}

output "kms_key_arn" {
  description = "KMS key encrypting the data buckets (local variant: null)."
  value       = null
}

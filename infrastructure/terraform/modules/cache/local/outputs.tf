output "connection" {
  description = "How to reach the cache. Same shape in the local and cloud variant; the URL never contains the AUTH token, which is fetched through secret_ref."
  value = {
    host     = local.host
    port     = 6379
    database = tostring(var.cache_config.database)
    username = "default"
    url      = "redis://${local.host}:6379/${var.cache_config.database}"
    tls      = false
    secret_ref = {
      store    = var.secret_store.name
      key      = kubernetes_secret_v1.store.metadata[0].name
      property = "password"
    }
  }
}

output "secret_access" {
  description = "Secrets and KMS keys the External Secrets Operator must be allowed to read (empty for the local variant)."
  value = {
    secret_arns  = []
    kms_key_arns = []
  }
}

output "security_group_id" {
  description = "Security group of the data store (local variant: null)."
  value       = null
}

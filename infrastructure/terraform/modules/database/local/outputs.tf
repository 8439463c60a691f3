output "connection" {
  description = "How to reach the database. Same shape in the local and cloud variant; the URL never contains the password, which is fetched through secret_ref."
  value = {
    host     = local.host
    port     = 5432
    database = var.database_config.database
    username = var.database_config.credentials.username
    url      = "postgresql://${var.database_config.credentials.username}@${local.host}:5432/${var.database_config.database}?sslmode=disable"
    tls      = false
    secret_ref = {
      store    = var.secret_store.name
      key      = kubernetes_secret_v1.store.metadata[0].name
      property = "password"
    }
    # Locally the in-cluster server has one login, which is not a superuser.
    admin_secret_ref = {
      store    = var.secret_store.name
      key      = kubernetes_secret_v1.store.metadata[0].name
      property = "password"
      username = var.database_config.credentials.username
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
